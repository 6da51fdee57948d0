/* bus.h - one address bus for port I/O and MMIO: validated registration, O(1) ports, bisected MMIO.
 */
#ifndef KESTREL_BUS_H
#define KESTREL_BUS_H

#include <stdbool.h>
#include <stdint.h>

#include "dev/device.h" /* bus_handler, BUS_STOP, enum bus_space */

struct bus_dev {
	uint64_t base, len;
	bus_handler fn;
	void *opaque;
	const char *name;
	/* The core's (devhost.c), not the bus's: 1 while the device that owns
	 * this range has exit fast paths not yet set up with KVM. Read with
	 * __atomic_load_n on the exit path, cleared by vm_fast_arm. */
	uint8_t arm;
};

#define BUS_MAX_PIO 64
#define BUS_MAX_MMIO 64

struct bus {
	uint8_t port_map[65536]; /* port -> index + 1 into pio[]; 0 = unclaimed */
	struct bus_dev pio[BUS_MAX_PIO];
	unsigned npio;
	struct bus_dev mmio[BUS_MAX_MMIO]; /* sorted by base, never overlapping */
	unsigned nmmio;
};

/*
 * bus_init - an empty bus. A zeroed struct bus is one already (no claimed
 * port, no device): memory known to be zero, such as the VM's from mmap,
 * needs no bus_init, which would only fault in the 64 KiB port map's pages.
 */
void bus_init(struct bus *b);

/*
 * bus_register - claim [base, base + len) in `space` for one handler.
 * Returns 0, -EINVAL for len 0, a range that wraps or leaves the 16-bit port
 * space, -EEXIST when it overlaps an existing claim, -ENOSPC when full.
 * Registration happens before vCPUs run; lookups take no lock.
 */
int bus_register(struct bus *b, enum bus_space space, uint64_t base, uint64_t len, bus_handler fn,
		 void *opaque, const char *name);

/* bus_find_pio - the device claiming `port`, or NULL. O(1). */
static inline const struct bus_dev *bus_find_pio(const struct bus *b, uint16_t port)
{
	unsigned i = b->port_map[port];
	return i ? &b->pio[i - 1] : (const struct bus_dev *)0;
}

/* bus_find_mmio - the device whose range holds [addr, addr + len), or NULL. O(log n). */
const struct bus_dev *bus_find_mmio(const struct bus *b, uint64_t addr, uint64_t len);

#endif
