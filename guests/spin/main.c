/* spin - every vCPU spins forever without a single exit: only --timeout or a signal ends it. */
#include "guest.h"

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	(void)bi;
	if (cpu == 0)
		printf("spin: %u cpu(s) spinning\n", bi->ncpus);
	/* No port, no MMIO, no hlt: KVM never returns to kestrel on its own. */
	for (;;)
		barrier();
}
