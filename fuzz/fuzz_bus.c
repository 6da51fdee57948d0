/* fuzz_bus.c - libFuzzer target: bus_register / bus_find_pio / bus_find_mmio against a plain model
 * of claimed ranges. */
#include <errno.h>

#include "core/bus.h"
#include "fuzz.h"

typedef unsigned __int128 u128;

/*
 * The model: every accepted registration as (space, base, len, id); a
 * lookup scans them all. The bus is checked against it after every
 * operation the input asks for. Device identity travels in `opaque`.
 */
struct model_dev {
	uint64_t base, len;
	uintptr_t id;
};

static struct model {
	struct model_dev pio[BUS_MAX_PIO + 1], mmio[BUS_MAX_MMIO + 1];
	unsigned npio, nmmio;
} model;

static struct bus bus;

static int handler(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	return 0;
}

static const struct model_dev *model_find(const struct model_dev *d, unsigned n, uint64_t addr)
{
	for (unsigned i = 0; i < n; i++)
		if (addr >= d[i].base && addr - d[i].base < d[i].len)
			return &d[i];
	return NULL;
}

static int model_overlaps(const struct model_dev *d, unsigned n, uint64_t base, uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if ((u128)base < (u128)d[i].base + d[i].len && (u128)d[i].base < (u128)base + len)
			return 1;
	return 0;
}

static void op_register(enum bus_space sp, uint64_t base, uint64_t len, int null_fn, uintptr_t id)
{
	struct model_dev *d = sp == BUS_PIO ? model.pio : model.mmio;
	unsigned *n = sp == BUS_PIO ? &model.npio : &model.nmmio;
	unsigned max = sp == BUS_PIO ? BUS_MAX_PIO : BUS_MAX_MMIO;
	int r = bus_register(&bus, sp, base, len, null_fn ? NULL : handler, (void *)id, "fuzz");
	int bad = len == 0 || null_fn || (u128)base + len > UINT64_MAX ||
		  (sp == BUS_PIO && (u128)base + len > 0x10000);
	int overlap = model_overlaps(d, *n, base, len), full = *n == max;

	if (bad)
		FUZZ_ASSERT(r == -EINVAL, "register(%d, %#llx, %#llx) = %d, want -EINVAL", sp,
			    (unsigned long long)base, (unsigned long long)len, r);
	else if (overlap || full)
		/* The header does not rank the two refusals; either is right. */
		FUZZ_ASSERT((overlap && r == -EEXIST) || (full && r == -ENOSPC),
			    "register(%d, %#llx, %#llx) = %d, overlap %d full %d", sp,
			    (unsigned long long)base, (unsigned long long)len, r, overlap, full);
	else
		FUZZ_ASSERT(r == 0, "register(%d, %#llx, %#llx) = %d", sp, (unsigned long long)base,
			    (unsigned long long)len, r);
	if (r == 0)
		d[(*n)++] = (struct model_dev){base, len, id};
}

static void check_dev(const struct bus_dev *got, const struct model_dev *want, const char *what,
		      uint64_t addr)
{
	if (!want) {
		FUZZ_ASSERT(got == NULL, "%s %#llx: found a device where none is", what,
			    (unsigned long long)addr);
		return;
	}
	FUZZ_ASSERT(got != NULL, "%s %#llx: device %lu not found", what, (unsigned long long)addr,
		    (unsigned long)want->id);
	FUZZ_ASSERT((uintptr_t)got->opaque == want->id && got->base == want->base &&
			got->len == want->len && got->fn == handler,
		    "%s %#llx: wrong device", what, (unsigned long long)addr);
}

static void op_find_mmio(uint64_t addr, uint64_t len)
{
	const struct model_dev *d = model_find(model.mmio, model.nmmio, addr);

	/* Found only when the whole access [addr, addr + len) fits the device. */
	if (d && (u128)addr + len > (u128)d->base + d->len)
		d = NULL;
	check_dev(bus_find_mmio(&bus, addr, len), d, "mmio", addr);
}

/* Input: a list of operations, each one opcode byte and its operands. Small
 * modes keep numbers in ranges where registrations meet each other. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uintptr_t id = 1;

	bus_init(&bus);
	memset(&model, 0, sizeof(model));
	while (in.left) {
		uint8_t op = fuzz_u8(&in);
		uint64_t a, l;

		switch (op & 7) {
		case 0: /* register ports: 24-bit base so the 16-bit edge is reachable */
			a = fuzz_take(&in, op & 0x10 ? 3 : 2);
			l = fuzz_take(&in, op & 0x20 ? 3 : 1);
			op_register(BUS_PIO, a, l, (op & 0xc0) == 0xc0, id++);
			break;
		case 1: /* register MMIO, small */
			a = fuzz_take(&in, 2) << (op >> 4 & 7) * 4;
			l = fuzz_take(&in, 2);
			op_register(BUS_MMIO, a, l, (op & 0x88) == 0x88, id++);
			break;
		case 2: /* register MMIO, any 64-bit range */
			a = fuzz_u64(&in);
			l = fuzz_u64(&in);
			op_register(BUS_MMIO, a, l, 0, id++);
			break;
		case 3: /* look up a port */
			a = fuzz_take(&in, 2);
			check_dev(bus_find_pio(&bus, (uint16_t)a),
				  model_find(model.pio, model.npio, a), "port", a);
			break;
		case 4: /* look up MMIO, small */
			a = fuzz_take(&in, 2) << (op >> 4 & 7) * 4;
			op_find_mmio(a, op >> 7 ? fuzz_u8(&in) : 1u << (fuzz_u8(&in) & 3));
			break;
		case 5: /* look up MMIO, anywhere */
			a = fuzz_u64(&in);
			l = fuzz_u64(&in);
			op_find_mmio(a, l);
			break;
		case 6: /* look up the edges of every port range */
			for (unsigned i = 0; i < model.npio; i++) {
				const struct model_dev *d = &model.pio[i];
				uint64_t edge[4] = {d->base - 1, d->base, d->base + d->len - 1,
						    d->base + d->len};
				for (unsigned k = 0; k < 4; k++)
					if (edge[k] < 0x10000)
						check_dev(
						    bus_find_pio(&bus, (uint16_t)edge[k]),
						    model_find(model.pio, model.npio, edge[k]),
						    "port", edge[k]);
			}
			break;
		default: /* look up the edges of every MMIO device */
			for (unsigned i = 0; i < model.nmmio; i++) {
				const struct model_dev *d = &model.mmio[i];
				op_find_mmio(d->base, d->len);
				op_find_mmio(d->base + d->len - 1, 1);
				op_find_mmio(d->base + d->len, 1);
				if (d->base)
					op_find_mmio(d->base - 1, 2);
			}
			break;
		}
	}
	return 0;
}
