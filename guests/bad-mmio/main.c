/* bad-mmio - read and write guest-physical addresses no RAM or device backs: reads must give 0. */
#include "guest.h"

/* In the 3-4 GiB MMIO hole, where no device is, and past the end of RAM
 * (kestrel identity-maps all of [0, 4 GiB), so both are reachable). */
#define HOLE_ADDR 0xd0000000ul

static uint32_t probe(uint64_t addr)
{
	volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)addr;
	uint32_t v = *p;

	*p = 0x5a5a5a5a;
	return v;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t past_ram = bi->regions[0].base + bi->regions[0].size + 0x100000;
	uint32_t a, b = 0;

	if (cpu != 0)
		return 0;
	printf("bad-mmio: probing 0x%lx\n", HOLE_ADDR);
	a = probe(HOLE_ADDR);
	if (past_ram < HOLE_ADDR) {
		printf("bad-mmio: probing 0x%lx, past the end of RAM\n", past_ram);
		b = probe(past_ram);
	}
	if (a || b) {
		printf("bad-mmio: read 0x%x and 0x%x, expected 0\n", a, b);
		return 1;
	}
	printf("KESTREL-BAD-MMIO-OK reads=0\n");
	return 0;
}
