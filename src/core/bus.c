/* bus.c - registration and lookup for the port-I/O and MMIO buses. */
#include "core/bus.h"

#include <errno.h>
#include <string.h>

void bus_init(struct bus *b)
{
	memset(b, 0, sizeof(*b));
}

static int bus_register_pio(struct bus *b, uint64_t base, uint64_t len, const struct bus_dev *d)
{
	if (base + len > 0x10000)
		return -EINVAL;
	for (uint64_t p = base; p < base + len; p++)
		if (b->port_map[p])
			return -EEXIST;
	if (b->npio == BUS_MAX_PIO)
		return -ENOSPC;
	b->pio[b->npio++] = *d;
	for (uint64_t p = base; p < base + len; p++)
		b->port_map[p] = (uint8_t)b->npio;
	return 0;
}

static int bus_register_mmio(struct bus *b, const struct bus_dev *d)
{
	unsigned i = 0;

	/* Insertion point: first device at or above the new base. */
	while (i < b->nmmio && b->mmio[i].base < d->base)
		i++;
	if (i > 0 && b->mmio[i - 1].base + b->mmio[i - 1].len > d->base)
		return -EEXIST;
	if (i < b->nmmio && d->base + d->len > b->mmio[i].base)
		return -EEXIST;
	if (b->nmmio == BUS_MAX_MMIO)
		return -ENOSPC;
	memmove(&b->mmio[i + 1], &b->mmio[i], (b->nmmio - i) * sizeof(b->mmio[0]));
	b->mmio[i] = *d;
	b->nmmio++;
	return 0;
}

int bus_register(struct bus *b, enum bus_space space, uint64_t base, uint64_t len, bus_handler fn,
		 void *opaque, const char *name)
{
	struct bus_dev d = {base, len, fn, opaque, name, 0};
	uint64_t end;

	if (len == 0 || !fn || __builtin_add_overflow(base, len, &end))
		return -EINVAL;
	if (space == BUS_PIO)
		return bus_register_pio(b, base, len, &d);
	return bus_register_mmio(b, &d);
}

const struct bus_dev *bus_find_mmio(const struct bus *b, uint64_t addr, uint64_t len)
{
	unsigned lo = 0, hi = b->nmmio;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_dev *d = &b->mmio[mid];
		if (addr < d->base)
			hi = mid;
		else if (addr - d->base >= d->len)
			lo = mid + 1;
		else
			return len <= d->len - (addr - d->base) ? d : NULL;
	}
	return NULL;
}
