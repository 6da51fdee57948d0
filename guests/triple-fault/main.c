/* triple-fault - fault with no usable IDT: #GP -> #DF -> triple fault (KVM_EXIT_SHUTDOWN). */
#include "guest.h"

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	static const struct idt_ptr empty_idt = {.limit = 0, .base = 0};
	uint64_t v;

	(void)bi;
	if (cpu != 0)
		return 0;

	printf("triple-fault: about to fault\n");

	/* Limit 0: no gate fits, so any exception escalates to a triple fault. */
	__asm__ volatile("lidt %0" : : "m"(empty_idt) : "memory");
	/* A load from a non-canonical address raises #GP (no `int` needed). */
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000ull) : "memory");

	printf("triple-fault: still alive after the fault (read 0x%lx)\n", v);
	return 99;
}
