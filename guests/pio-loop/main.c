/* pio-loop - benchmark: N `outb` to KESTREL_PORT_NULL, one userspace exit each. */
#include "guest.h"

#define DEFAULT_WRITES 1000

/* One `out` per iteration, counter in RCX, port in DX, nothing else in the loop. */
static void pio_writes(uint64_t n)
{
	if (n == 0)
		return;
	__asm__ volatile("1:\n\t"
			 "outb %%al, %%dx\n\t"
			 "dec %%rcx\n\t"
			 "jnz 1b"
			 : "+c"(n)
			 : "a"(0), "d"((uint16_t)KESTREL_PORT_NULL)
			 : "memory");
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t n, t0, t1;

	if (cpu != 0)
		return 0;

	n = cmdline_uint_or(bi, DEFAULT_WRITES);
	t0 = rdtsc();
	pio_writes(n);
	t1 = rdtsc();

	printf("pio-loop: %lu writes done\n", n);
	if (n)
		printf("pio-loop: %lu TSC cycles per write\n", (t1 - t0) / n);
	printf("KESTREL-PIO-LOOP-OK\n");
	return 0;
}
