/* smp-fail - vCPU 1 fails while vCPU 0 spins without exits: the failure must end the whole VM. */
#include "guest.h"

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

#define UNHANDLED_PORT 0x6666

static bool word_is(const char *s, size_t len, const char *w)
{
	size_t n = strlen(w);

	return len >= n && memcmp(s, w, n) == 0 && (len == n || s[n] == ' ');
}

/*
 * The command line names vCPU 1's failure (default "fault"):
 *   fault  triple fault (empty IDT, then #GP): kestrel's 123
 *   port   read an unhandled port: 126 under --strict (lenient: carries on spinning)
 *   exit   exit hypercall with status 7
 *   fetch  jump into the MMIO hole, where KVM cannot fetch code: 125
 *   reset  ask the i8042 for a reset: 127
 *   all    every vCPU, 0 included, triple-faults at once: 123, whichever is first
 * vCPU 0 (and any other) never exits to kestrel, so only kestrel's own stop
 * path (immediate_exit + signal) can take it out of KVM_RUN.
 */
static void triple_fault(void)
{
	static const struct idt_ptr empty_idt = {.limit = 0, .base = 0};
	uint64_t v;

	__asm__ volatile("lidt %0" : : "m"(empty_idt) : "memory");
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000ull) : "memory");
	(void)v;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	size_t len;
	const char *what = cmdline_str(bi, &len);

	if (bi->ncpus < 2) {
		printf("smp-fail: needs --cpus 2 or more\n");
		return 98;
	}
	if (word_is(what, len, "all")) {
		triple_fault();
		return 99;
	}
	if (cpu != 1) {
		if (cpu == 0)
			printf("smp-fail: cpu 0 spinning, cpu 1 will fail (%.*s)\n", (int)len,
			       what);
		for (;;)
			barrier();
	}
	/* Let vCPU 0 get going inside KVM_RUN first (about 10 ms of TSC). */
	for (uint64_t t0 = rdtsc(); rdtsc() - t0 < (bi->tsc_khz ? bi->tsc_khz : 3000000) * 10;)
		pause();
	if (word_is(what, len, "exit"))
		exit(7);
	if (word_is(what, len, "port")) {
		(void)inb(UNHANDLED_PORT);
		for (;;)
			barrier();
	}
	if (word_is(what, len, "fetch"))
		((void (*)(void))0xd0000000ul)();
	if (word_is(what, len, "reset"))
		outb(KESTREL_PORT_I8042_CMD, KESTREL_I8042_RESET);
	triple_fault();
	return 99;
}
