/* debug-exit - end the VM through isa-debug-exit (status (v << 1) | 1 up to 119, else 125),
 * or with `hc N` through the exit hypercall with RDI = N (N up to 119, else 125). */
#include "guest.h"

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t v;

	if (cpu != 0)
		return 0;

	v = cmdline_uint_or(bi, 0x10);
	if (cmdline_has_word(bi, "hc")) {
		/* The whole 64-bit value, not exit(int): 256 must not read as 0. */
		printf("debug-exit: exit hypercall with RDI = %lu\n", v);
		hypercall1(KESTREL_HC_EXIT, v);
		printf("debug-exit: still running after the exit hypercall\n");
		exit(99);
	}
	printf("debug-exit: writing 0x%lx to port 0x%x, (v << 1) | 1 = %lu\n", v,
	       KESTREL_PORT_DEBUG_EXIT, ((v & 0xffffffffu) << 1) | 1);
	outl(KESTREL_PORT_DEBUG_EXIT, (uint32_t)v);

	printf("debug-exit: still running after the isa-debug-exit write\n");
	exit(99);
}
