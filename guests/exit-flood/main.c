/* exit-flood - every vCPU makes userspace exits back to back, forever: null-port writes and NOP
 * hypercalls. */
#include "guest.h"

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	hc_printf("exit-flood: cpu %u of %u flooding\n", cpu, bi->ncpus);
	for (;;) {
		outb(KESTREL_PORT_NULL, 0);
		(void)hypercall0(KESTREL_HC_NOP);
	}
}
