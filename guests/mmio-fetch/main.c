/* mmio-fetch - negative guest: jumps into the MMIO hole, where no RAM backs the code, so KVM cannot
 * run it. */
#include "guest.h"

/* In the 3-4 GiB hole (identity-mapped, no RAM, no device): fetching an
 * instruction there makes KVM give up with an emulation failure, on any host. */
#define HOLE_ADDR 0xd0000000ul

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	void (*fn)(void) = (void (*)(void))HOLE_ADDR;

	(void)bi;
	if (cpu != 0)
		return 0;
	printf("mmio-fetch: jumping to 0x%lx\n", HOLE_ADDR);
	fn();
	printf("mmio-fetch: came back, which is wrong\n");
	return 99;
}
