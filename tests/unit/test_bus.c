/* test_bus.c - unit tests for bus_register / bus_find_pio / bus_find_mmio: refusals, overlaps, and
 * a randomized lookup check. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "tap.h"

/* Handlers are never called here; two distinct ones so a test can tell them apart. */
static int handler_a(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	return 0;
}

static int handler_b(struct vcpu *v, void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		     bool is_write)
{
	return BUS_STOP;
}

static const char *space_name(enum bus_space s)
{
	return s == BUS_PIO ? "PIO" : "MMIO";
}

static unsigned bus_count(const struct bus *b, enum bus_space s)
{
	return s == BUS_PIO ? b->npio : b->nmmio;
}

/* A deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int reg(struct bus *b, enum bus_space s, uint64_t base, uint64_t len)
{
	return bus_register(b, s, base, len, handler_a, NULL, "dev");
}

static void test_refusals(struct bus *b)
{
	bus_init(b);
	TAP_EQ_INT(b->npio + b->nmmio, 0, "bus_init gives an empty bus");
	TAP_OK(bus_find_pio(b, 0x3f8) == NULL, "empty bus: no port device");
	TAP_OK(bus_find_mmio(b, 0xfee00000, 4) == NULL, "empty bus: no MMIO device");

	TAP_EQ_INT(reg(b, BUS_PIO, 0x100, 0), -EINVAL, "PIO len 0 refused");
	TAP_EQ_INT(reg(b, BUS_MMIO, 0x1000, 0), -EINVAL, "MMIO len 0 refused");
	TAP_EQ_INT(bus_register(b, BUS_PIO, 0x100, 1, NULL, NULL, "x"), -EINVAL,
		   "PIO without a handler refused");
	TAP_EQ_INT(bus_register(b, BUS_MMIO, 0x1000, 1, NULL, NULL, "x"), -EINVAL,
		   "MMIO without a handler refused");

	/* MMIO wrap-around. */
	TAP_EQ_INT(reg(b, BUS_MMIO, UINT64_MAX - 0xf, 0x20), -EINVAL,
		   "MMIO range wrapping past 2^64 refused");
	TAP_EQ_INT(reg(b, BUS_MMIO, UINT64_MAX, 2), -EINVAL, "MMIO [2^64-1, +2) refused");
	TAP_EQ_INT(reg(b, BUS_MMIO, 0x1000, UINT64_MAX), -EINVAL,
		   "MMIO len 2^64-1 at 0x1000 refused");
	TAP_EQ_INT(reg(b, BUS_MMIO, UINT64_MAX - 0xfff, 0x1000), -EINVAL,
		   "MMIO range ending exactly at 2^64 refused (end not representable)");

	/* Ports past 0xffff. */
	TAP_EQ_INT(reg(b, BUS_PIO, 0xffff, 2), -EINVAL, "PIO [0xffff, 0x10001) refused");
	TAP_EQ_INT(reg(b, BUS_PIO, 0x10000, 1), -EINVAL, "PIO base 0x10000 refused");
	TAP_EQ_INT(reg(b, BUS_PIO, 0xfff0, 0x100), -EINVAL,
		   "PIO range running past 0xffff refused");
	TAP_EQ_INT(reg(b, BUS_PIO, 0, 0x10001), -EINVAL, "PIO len 0x10001 refused");
	TAP_EQ_INT(reg(b, BUS_PIO, UINT64_MAX, 2), -EINVAL, "PIO range wrapping past 2^64 refused");
	TAP_EQ_INT(reg(b, BUS_PIO, 0x100000000ull, 1), -EINVAL, "PIO base 2^32 refused");
	TAP_EQ_INT(b->npio + b->nmmio, 0, "nothing registered by the refusals");
	for (unsigned p = 0; p < 0x10000; p++)
		if (b->port_map[p]) {
			TAP_OK(0, "refusals left port 0x%x claimed", p);
			break;
		}

	/* Edges that are fine. */
	TAP_EQ_INT(reg(b, BUS_PIO, 0xffff, 1), 0, "PIO port 0xffff alone accepted");
	TAP_OK(bus_find_pio(b, 0xffff) != NULL && bus_find_pio(b, 0xfffe) == NULL,
	       "port 0xffff found, 0xfffe not");
	TAP_EQ_INT(reg(b, BUS_PIO, 0, 1), 0, "PIO port 0 accepted");
	TAP_OK(bus_find_pio(b, 0) != NULL && bus_find_pio(b, 1) == NULL, "port 0 found, 1 not");
	TAP_EQ_INT(reg(b, BUS_MMIO, UINT64_MAX - 0x1000, 0x1000), 0,
		   "MMIO range ending at 2^64-1 (exclusive) accepted");
	TAP_OK(bus_find_mmio(b, UINT64_MAX - 1, 1) != NULL, "MMIO lookup just below 2^64-1");
	TAP_OK(bus_find_mmio(b, UINT64_MAX, 1) == NULL, "MMIO lookup at 2^64-1 (past the end)");
	TAP_OK(bus_find_mmio(b, UINT64_MAX - 4, 8) == NULL, "MMIO lookup straddling the end");
	TAP_EQ_INT(reg(b, BUS_MMIO, 0, 0x1000), 0, "MMIO range at address 0 accepted");
	TAP_OK(bus_find_mmio(b, 0, 8) != NULL, "MMIO lookup at address 0");

	bus_init(b);
	TAP_EQ_INT(reg(b, BUS_PIO, 0, 0x10000), 0, "PIO claiming all 65536 ports accepted");
	TAP_OK(bus_find_pio(b, 0) == &b->pio[0] && bus_find_pio(b, 0xffff) == &b->pio[0],
	       "every port maps to that one device");
	TAP_EQ_INT(reg(b, BUS_PIO, 0x3f8, 8), -EEXIST, "and nothing else fits");
}

/* One existing device [0x100, 0x110) (x 0x1000 for MMIO); every kind of overlap. */
static void test_overlaps(struct bus *b, enum bus_space s)
{
	const uint64_t k = s == BUS_PIO ? 1 : 0x1000;
	const char *sp = space_name(s);
	static const struct {
		uint64_t base, len;
		const char *what;
	} bad[] = {
	    {0x100, 0x10, "exact"},
	    {0xf8, 0x10, "partial left"},
	    {0x108, 0x10, "partial right"},
	    {0xf0, 0x30, "containing"},
	    {0x104, 0x4, "contained"},
	    {0x100, 0x1, "same base, shorter"},
	    {0x100, 0x40, "same base, longer"},
	    {0x10f, 0x1, "last unit only"},
	    {0xff, 0x2, "one unit into the start"},
	    {0x10f, 0x10, "one unit into the end"},
	};

	bus_init(b);
	TAP_EQ_INT(bus_register(b, s, 0x100 * k, 0x10 * k, handler_a, (void *)1, "orig"), 0,
		   "%s: register [0x%" PRIx64 ", 0x%" PRIx64 ")", sp, 0x100 * k, 0x110 * k);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t base = bad[i].base * k, len = bad[i].len * k;
		TAP_EQ_INT(bus_register(b, s, base, len, handler_b, NULL, "bad"), -EEXIST,
			   "%s overlap %s [0x%" PRIx64 ", 0x%" PRIx64 ") refused", sp, bad[i].what,
			   base, base + len);
	}
	if (s == BUS_MMIO) {
		/* Byte-precise edges. */
		TAP_EQ_INT(reg(b, s, 0x100000 - 1, 2), -EEXIST,
			   "MMIO: 2 bytes across the start refused");
		TAP_EQ_INT(reg(b, s, 0x110000 - 1, 1), -EEXIST, "MMIO: the very last byte refused");
		TAP_EQ_INT(reg(b, s, 0x100000, 1), -EEXIST, "MMIO: the very first byte refused");
	}
	TAP_EQ_INT(bus_count(b, s), 1, "%s: the refusals added nothing", sp);
	if (s == BUS_PIO) {
		unsigned claimed = 0;
		for (unsigned p = 0; p < 0x10000; p++)
			claimed += b->port_map[p] != 0;
		TAP_EQ_INT(claimed, 0x10, "PIO: still exactly 16 ports claimed");
		const struct bus_dev *d = bus_find_pio(b, 0x108);
		TAP_OK(d && d->fn == handler_a, "PIO: the original device still answers");
	} else {
		const struct bus_dev *d = bus_find_mmio(b, 0x108 * k, 4);
		TAP_OK(d && d->fn == handler_a, "MMIO: the original device still answers");
	}

	/* Adjacent on both sides is fine. */
	TAP_EQ_INT(bus_register(b, s, 0xf0 * k, 0x10 * k, handler_b, (void *)2, "left"), 0,
		   "%s: adjacent range on the left accepted", sp);
	TAP_EQ_INT(bus_register(b, s, 0x110 * k, 0x10 * k, handler_b, (void *)3, "right"), 0,
		   "%s: adjacent range on the right accepted", sp);
	TAP_EQ_INT(bus_count(b, s), 3, "%s: three devices", sp);

	/* With neighbours, a new range overlapping both, and one filling a gap exactly. */
	TAP_EQ_INT(reg(b, s, 0x10f * k, 0x2 * k), -EEXIST, "%s: overlap of two devices refused",
		   sp);
	TAP_EQ_INT(reg(b, s, 0x130 * k, 0x10 * k), 0, "%s: [0x130, 0x140) accepted", sp);
	TAP_EQ_INT(reg(b, s, 0x120 * k, 0x10 * k), 0, "%s: the gap [0x120, 0x130) exactly accepted",
		   sp);
	TAP_EQ_INT(reg(b, s, 0xe0 * k, 0x70 * k), -EEXIST, "%s: range covering everything refused",
		   sp);
	TAP_EQ_INT(bus_count(b, s), 5, "%s: five devices", sp);

	if (s == BUS_PIO) {
		const struct bus_dev *l = bus_find_pio(b, 0xff), *o = bus_find_pio(b, 0x100),
				     *r = bus_find_pio(b, 0x110);
		TAP_OK(l && l->opaque == (void *)2 && o && o->opaque == (void *)1 && r &&
			   r->opaque == (void *)3,
		       "PIO: ports 0xff / 0x100 / 0x110 belong to left / orig / right");
	} else {
		const struct bus_dev *l = bus_find_mmio(b, 0x100 * k - 1, 1),
				     *o = bus_find_mmio(b, 0x100 * k, 1),
				     *r = bus_find_mmio(b, 0x110 * k, 1);
		TAP_OK(l && l->opaque == (void *)2 && o && o->opaque == (void *)1 && r &&
			   r->opaque == (void *)3,
		       "MMIO: bytes around 0x100000 / 0x110000 belong to left / orig / right");
		TAP_OK(bus_find_mmio(b, 0x110 * k - 2, 4) == NULL,
		       "MMIO: an access spanning two adjacent devices finds none");
		for (unsigned i = 1; i < b->nmmio; i++)
			if (b->mmio[i - 1].base >= b->mmio[i].base) {
				TAP_OK(0, "MMIO: devices kept sorted by base (index %u)", i);
				break;
			}
	}
}

static void test_full(struct bus *b, enum bus_space s)
{
	const unsigned max = s == BUS_PIO ? BUS_MAX_PIO : BUS_MAX_MMIO;
	const char *sp = space_name(s);
	unsigned ok = 0;

	bus_init(b);
	/* Registered from the top down, so MMIO inserts at the front every time. */
	for (unsigned i = 0; i < max; i++)
		ok += reg(b, s, 0x1000 + (uint64_t)(max - 1 - i) * 0x10, 0x8) == 0;
	TAP_EQ_INT(ok, max, "%s: %u devices fit", sp, max);
	TAP_EQ_INT(reg(b, s, 0x8000, 1), -ENOSPC, "%s: device %u refused with -ENOSPC", sp,
		   max + 1);
	TAP_EQ_INT(bus_count(b, s), max, "%s: still %u devices", sp, max);
	TAP_OK(bus_find_pio(b, 0x8000) == NULL && bus_find_mmio(b, 0x8000, 1) == NULL,
	       "%s: the refused device is not found", sp);
	/* Every one of them is found. */
	unsigned found = 0;
	for (unsigned i = 0; i < max; i++) {
		uint64_t a = 0x1000 + (uint64_t)i * 0x10 + 7;
		const struct bus_dev *d =
		    s == BUS_PIO ? bus_find_pio(b, (uint16_t)a) : bus_find_mmio(b, a, 1);
		found += d && d->base == a - 7;
	}
	TAP_EQ_INT(found, max, "%s: all %u devices found at their last unit", sp, max);
}

/* Port lookups: every one of the 65536 ports against a reference map. */
static void test_pio_lookup(struct bus *b)
{
	static const struct {
		uint16_t base, len;
		const char *name;
	} devs[] = {
	    {0x3f8, 8, "com1"},	    {0xf4, 1, "debug-exit"}, {0x60, 1, "i8042-data"},
	    {0x64, 1, "i8042-cmd"}, {0xe0, 16, "hypercall"}, {0x510, 1, "null"},
	    {0xcf8, 8, "pci"},	    {0x0, 0x20, "dma"},	     {0xfff0, 0x10, "top"},
	};
	static int16_t want[0x10000]; /* device index, -1 for none */
	unsigned bad = 0, bad_off = 0;

	bus_init(b);
	memset(want, 0xff, sizeof(want));
	for (unsigned i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		TAP_EQ_INT(bus_register(b, BUS_PIO, devs[i].base, devs[i].len, handler_a,
					(void *)(uintptr_t)(i + 100), devs[i].name),
			   0, "PIO: register %s at 0x%x", devs[i].name, devs[i].base);
		for (unsigned p = devs[i].base; p < (unsigned)devs[i].base + devs[i].len; p++)
			want[p] = (int16_t)i;
	}
	for (unsigned p = 0; p < 0x10000; p++) {
		const struct bus_dev *d = bus_find_pio(b, (uint16_t)p);
		if (want[p] < 0) {
			bad += d != NULL;
			continue;
		}
		unsigned i = (unsigned)want[p];
		if (!d || d->opaque != (void *)(uintptr_t)(i + 100) ||
		    strcmp(d->name, devs[i].name) || d->fn != handler_a) {
			bad++;
			continue;
		}
		/* The offset a dispatcher hands the handler. */
		bad_off += p - d->base != p - devs[i].base || p - d->base >= d->len;
	}
	TAP_EQ_INT(bad, 0, "PIO: all 65536 ports map to the right device (or none)");
	TAP_EQ_INT(bad_off, 0, "PIO: port - base gives the right offset inside each device");
	const struct bus_dev *com1 = bus_find_pio(b, 0x3fc);
	TAP_OK(com1 && com1->base == 0x3f8 && 0x3fc - com1->base == 4 && com1->len == 8,
	       "PIO: port 0x3fc is com1 offset 4");
}

struct ref_range {
	uint64_t base, len;
	void *opaque;
};

static const struct ref_range *ref_find(const struct ref_range *r, unsigned n, uint64_t addr,
					uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (addr >= r[i].base && addr - r[i].base < r[i].len)
			return len <= r[i].len - (addr - r[i].base) ? &r[i] : NULL;
	return NULL;
}

static bool ref_overlaps(const struct ref_range *r, unsigned n, uint64_t base, uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (base < r[i].base + r[i].len && r[i].base < base + len)
			return true;
	return false;
}

/*
 * MMIO bisection vs brute force: 40 random non-overlapping ranges in a
 * 16 MiB window (plus a few near the top of the address space), then 100k
 * lookups biased towards device edges.
 */
static void test_mmio_random(struct bus *b)
{
	enum { NDEV = 40, NLOOKUP = 100000 };
	static const uint64_t sizes[] = {1, 2, 4, 8};
	struct ref_range ref[NDEV + 8];
	unsigned n = 0, attempts = 0, wrong_reg = 0, mismatches = 0, hits = 0, straddles = 0;

	tap_diag("MMIO random test seed %#" PRIx64, rng_state);
	bus_init(b);
	while (n < NDEV && attempts < 100000) {
		uint64_t base, len;
		attempts++;
		if (n < 4) {
			len = 1 + rnd_below(0x10000);
			base = UINT64_MAX - 0x100000 + rnd_below(0x100000 - len);
		} else {
			len = rnd() & 1 ? 1 + rnd_below(16) : 1 + rnd_below(0x40000);
			base = rnd_below(0x1000000);
		}
		bool overlap = ref_overlaps(ref, n, base, len);
		void *opaque = (void *)(uintptr_t)(n + 1);
		int r = bus_register(b, BUS_MMIO, base, len, handler_a, opaque, "rnd");
		if (r != (overlap ? -EEXIST : 0)) {
			if (wrong_reg++ < 5)
				tap_diag("register [%#" PRIx64 ", +%#" PRIx64 "): got %d, want %d",
					 base, len, r, overlap ? -EEXIST : 0);
			continue;
		}
		if (!overlap)
			ref[n++] = (struct ref_range){base, len, opaque};
	}
	TAP_EQ_INT(n, NDEV, "MMIO: %d random ranges registered", NDEV);
	TAP_EQ_INT(wrong_reg, 0,
		   "MMIO: %u random registrations (incl. overlaps) agree with brute force",
		   attempts);
	TAP_EQ_INT(b->nmmio, n, "MMIO: device count");
	bool sorted = true;
	for (unsigned i = 1; i < b->nmmio; i++)
		sorted &= b->mmio[i - 1].base + b->mmio[i - 1].len <= b->mmio[i].base;
	TAP_OK(sorted, "MMIO: table sorted and non-overlapping");

	/* Ranges built to overlap some device: all refused, nothing changes. */
	unsigned accepted = 0;
	for (unsigned k = 0; k < 10000; k++) {
		const struct ref_range *d = &ref[rnd_below(n)];
		uint64_t len = 1 + rnd_below(rnd() & 1 ? 8 : 0x10000);
		/* Some byte of [base, base + len) is inside d. */
		uint64_t base = d->base - (len - 1) + rnd_below(d->len + len - 1);
		if (base > UINT64_MAX - len)
			continue;
		accepted += bus_register(b, BUS_MMIO, base, len, handler_b, NULL, "ovl") != -EEXIST;
	}
	TAP_EQ_INT(accepted, 0, "MMIO: 10000 random ranges overlapping a device all refused");
	TAP_EQ_INT(b->nmmio, n, "MMIO: device count unchanged");

	for (unsigned k = 0; k < NLOOKUP; k++) {
		uint64_t addr, len;
		const struct ref_range *d = &ref[rnd_below(n)];
		switch (rnd_below(4)) {
		case 0: /* anywhere in the window */
			addr = rnd_below(0x1100000);
			break;
		case 1: /* around the start */
			addr = d->base - 16 + rnd_below(32);
			break;
		case 2: /* around the end */
			addr = d->base + d->len - 16 + rnd_below(32);
			break;
		default: /* inside */
			addr = d->base + rnd_below(d->len);
			break;
		}
		len = rnd() & 3 ? sizes[rnd_below(4)] : 1 + rnd_below(64);
		if (rnd_below(1000) == 0)
			len = UINT64_MAX - rnd_below(4); /* absurd lengths */
		const struct ref_range *want = ref_find(ref, n, addr, len);
		const struct bus_dev *got = bus_find_mmio(b, addr, len);
		hits += want != NULL;
		/* Starts inside a device but runs past its end. */
		for (unsigned i = 0; i < n; i++)
			if (addr >= ref[i].base && addr - ref[i].base < ref[i].len && !want)
				straddles++;
		if (want ? !got || got->opaque != want->opaque || got->base != want->base
			 : got != NULL) {
			if (mismatches++ < 5)
				tap_diag("lookup [%#" PRIx64 ", +%#" PRIx64 "): got %p, want %p",
					 addr, len, got ? got->opaque : NULL,
					 want ? want->opaque : NULL);
		}
	}
	TAP_EQ_INT(mismatches, 0, "MMIO: %d random lookups agree with brute force", NLOOKUP);
	TAP_OK(hits > NLOOKUP / 4, "MMIO: lookups hit a device often enough (%u)", hits);
	TAP_OK(straddles > 1000, "MMIO: many accesses straddled a device end (%u), all NULL",
	       straddles);
}

/* The contract vm_devices_init relies on: a zeroed bus is an empty one,
 * and registers and looks up like a bus_init one. */
static void test_zeroed(void)
{
	struct bus *z = calloc(1, sizeof(*z));
	bool none = true;

	if (!TAP_OK(z != NULL, "allocate a zeroed bus"))
		return;
	for (unsigned p = 0; p < 0x10000; p++)
		none &= bus_find_pio(z, (uint16_t)p) == NULL;
	TAP_OK(none && z->npio + z->nmmio == 0, "a zeroed bus claims no port");
	TAP_OK(bus_find_mmio(z, 0, 1) == NULL && bus_find_mmio(z, 0xfee00000, 4) == NULL,
	       "and no MMIO address");
	TAP_EQ_INT(reg(z, BUS_PIO, 0x3f8, 8), 0, "a zeroed bus takes a port range");
	TAP_EQ_INT(reg(z, BUS_PIO, 0x3fc, 1), -EEXIST, "and refuses an overlap with it");
	TAP_EQ_INT(reg(z, BUS_MMIO, 0xd0000000, 0x1000), 0, "and an MMIO range");
	TAP_OK(bus_find_pio(z, 0x3ff) == &z->pio[0] && bus_find_pio(z, 0x400) == NULL,
	       "lookups see the port range, not past it");
	TAP_OK(bus_find_mmio(z, 0xd0000ffc, 4) == &z->mmio[0], "and the MMIO range");
	free(z);
}

int main(void)
{
	struct bus *b = malloc(sizeof(*b));

	if (!TAP_OK(b != NULL, "allocate a bus"))
		return tap_done();
	test_refusals(b);
	test_overlaps(b, BUS_PIO);
	test_overlaps(b, BUS_MMIO);
	test_full(b, BUS_PIO);
	test_full(b, BUS_MMIO);
	test_pio_lookup(b);
	test_mmio_random(b);
	test_zeroed();
	free(b);
	return tap_done();
}
