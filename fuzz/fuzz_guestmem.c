/* fuzz_guestmem.c - libFuzzer target: guest_mem_ptr, the hypercall argument check, with fuzzed
 * layouts, addresses and lengths. */
#include <sys/mman.h>

#include "fuzz.h"
#include "core/guestmem.h"

typedef unsigned __int128 u128;

/*
 * Every guest pointer a hypercall gets (puts(addr, len), and whatever comes
 * next) goes through guest_mem_ptr(). The property: a non-NULL result is
 * exactly host + (gpa - region gpa) for a region holding all of
 * [gpa, gpa + len), so [p, p + len) lies inside that region's mapping;
 * NULL means no region holds it (or gpa + len wraps).
 *
 * The host side is one PROT_NONE reservation big enough for two regions of
 * up to REGION_MAX bytes: the pointers the function computes are real, in
 * bounds of that object, and never touched.
 */
#define REGION_MAX (1ull << 38) /* 256 GiB; kestrel's page tables stop at 123 GiB */
#define MAXPHYADDR 52		/* x86: no guest-physical address reaches 2^52 */

static uint8_t *arena;

static void check(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_mem_ptr(m, gpa, len);
	const struct guest_mem_region *hit = NULL;

	for (unsigned i = 0; i < m->nregions && !hit; i++) {
		const struct guest_mem_region *r = &m->r[i];
		if (gpa >= r->gpa && (u128)gpa + len <= (u128)r->gpa + r->size)
			hit = r;
	}
	if (!hit) {
		FUZZ_ASSERT(p == NULL, "gpa %#llx len %#llx is outside RAM but got a pointer",
			    (unsigned long long)gpa, (unsigned long long)len);
		return;
	}
	FUZZ_ASSERT(p != NULL, "gpa %#llx len %#llx is RAM but was refused",
		    (unsigned long long)gpa, (unsigned long long)len);
	FUZZ_ASSERT(p >= hit->host && (uint64_t)(p - hit->host) == gpa - hit->gpa,
		    "gpa %#llx: pointer at the wrong place", (unsigned long long)gpa);
	FUZZ_ASSERT((uint64_t)(p - hit->host) + len <= hit->size,
		    "gpa %#llx len %#llx: range leaves the mapping", (unsigned long long)gpa,
		    (unsigned long long)len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct guest_mem m;
	uint8_t mode = fuzz_u8(&in);

	if (!arena) {
		arena = mmap(NULL, 2 * REGION_MAX, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		FUZZ_ASSERT(arena != MAP_FAILED, "cannot reserve the arena");
	}
	if (mode & 1) {
		/* kestrel's own layout for a RAM size: one region, or two. */
		uint64_t v = fuzz_u64(&in);
		guest_mem_layout(&m, mode & 2 ? v % KESTREL_HOLE_START
					      : KESTREL_HOLE_START + v % REGION_MAX);
	} else {
		/* Any sorted, disjoint regions below 2^52, as a future layout might have. */
		uint64_t at = 0;
		m = (struct guest_mem){.nregions = 1 + (mode >> 1 & 1)};
		for (unsigned i = 0; i < m.nregions; i++) {
			m.r[i].gpa = at + fuzz_u64(&in) % (1ull << (MAXPHYADDR - 2));
			m.r[i].size = fuzz_u64(&in) % REGION_MAX;
			at = m.r[i].gpa + m.r[i].size;
			m.total += m.r[i].size;
		}
	}
	m.r[0].host = arena;
	m.r[1].host = arena + REGION_MAX;

	while (in.left) {
		uint8_t how = fuzz_u8(&in);
		const struct guest_mem_region *r = &m.r[how & 1 && m.nregions > 1];
		uint64_t a = fuzz_u64(&in), l = fuzz_u64(&in);

		/* Raw 64-bit values, or values near a region's edges where the
		 * off-by-ones live (including lengths that wrap 2^64). */
		switch (how >> 1 & 3) {
		case 0:
			break;
		case 1:
			a = r->gpa + r->size - (a & 0xfff);
			l &= 0x1fff;
			break;
		case 2:
			a = r->gpa + (a & 0xfff);
			l = r->size - (l & 0xfff);
			break;
		default:
			a = r->gpa + (a & 0xffff);
			l = -(l & 0xffff);
			break;
		}
		check(&m, a, l);
	}
	return 0;
}
