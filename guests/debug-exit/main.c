/* debug-exit - end the VM through isa-debug-exit: kestrel's status must be ((v << 1) | 1) & 0xff. */
#include "guest.h"

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t v;

	if (cpu != 0)
		return 0;

	v = cmdline_uint_or(bi, 0x10);
	printf("debug-exit: writing 0x%lx to port 0x%x, expecting status %lu\n", v,
	       KESTREL_PORT_DEBUG_EXIT, (((v & 0xffffffffu) << 1) | 1) & 0xff);
	outl(KESTREL_PORT_DEBUG_EXIT, (uint32_t)v);

	printf("debug-exit: still running after the isa-debug-exit write\n");
	exit(99);
}
