/* spin - every vCPU spins forever without a single exit: only --timeout or a signal ends it. */
#include "guest.h"

/*
 * With a number N on the command line, vCPU 0 first writes N bytes of filler
 * lines to the UART (enough for the coalesced zone to arm: then the last of
 * them sit in KVM's ring when the exits stop), then its line, then spins.
 */
int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	static const char fill[] = "spin: filler line, 32 bytes....\n";
	uint64_t n = cmdline_uint_or(bi, 0);

	if (cpu == 0) {
		for (; n >= sizeof(fill) - 1; n -= sizeof(fill) - 1)
			serial_write(fill, sizeof(fill) - 1);
		serial_write(fill, (size_t)n);
		printf("spin: %u cpu(s) spinning\n", bi->ncpus);
	}
	/* No port, no MMIO, no hlt: KVM never returns to kestrel on its own. */
	for (;;)
		barrier();
}
