/* guestmem.h - guest RAM regions and the one checked helper every guest address goes through. */
#ifndef KESTREL_GUESTMEM_H
#define KESTREL_GUESTMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/abi.h"

/* A guest-physical address. Never dereferenced: turn it into a host pointer
 * with guest_mem_ptr(), which checks it. */
typedef uint64_t gpa_t;

struct guest_mem_region {
	gpa_t gpa;     /* first guest-physical address */
	uint64_t size; /* bytes */
	uint8_t *host; /* host mapping of gpa */
};

struct guest_mem {
	unsigned nregions;
	uint64_t total; /* sum of region sizes */
	struct guest_mem_region r[KESTREL_MAX_REGIONS];
};

/*
 * guest_mem_ptr - host pointer for the guest range [gpa, gpa + len).
 * Returns NULL unless the whole range lies inside one RAM region; ranges that
 * wrap around 2^64 are refused. len == 0 is allowed anywhere inside (or at the
 * end of) a region. This is the only way kestrel turns a guest-controlled
 * address into a pointer.
 */
static inline void *guest_mem_ptr(const struct guest_mem *m, gpa_t gpa, uint64_t len)
{
	uint64_t end;

	if (__builtin_add_overflow(gpa, len, &end))
		return NULL;
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct guest_mem_region *r = &m->r[i];
		if (gpa >= r->gpa && end <= r->gpa + r->size)
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

/*
 * guest_mem_room - how many bytes of RAM follow gpa in its region (gpa
 * itself included), at most `want`; 0 when gpa is not RAM. What a caller
 * that may read less than it would like (a crash dump's code window) asks
 * before guest_mem_ptr().
 */
static inline uint64_t guest_mem_room(const struct guest_mem *m, gpa_t gpa, uint64_t want)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		const struct guest_mem_region *r = &m->r[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			uint64_t left = r->size - (gpa - r->gpa);
			return left < want ? left : want;
		}
	}
	return 0;
}

/*
 * guest_mem_layout - split `size` bytes of RAM into kestrel's regions: below
 * KESTREL_HOLE_START, and the rest from KESTREL_HIGH_START. Fills gpa/size
 * (host pointers left NULL) and returns the number of regions.
 */
static inline unsigned guest_mem_layout(struct guest_mem *m, uint64_t size)
{
	uint64_t low = size < KESTREL_HOLE_START ? size : KESTREL_HOLE_START;

	*m = (struct guest_mem){0};
	m->r[0] = (struct guest_mem_region){.gpa = 0, .size = low};
	m->nregions = 1;
	if (size > low) {
		m->r[1] = (struct guest_mem_region){.gpa = KESTREL_HIGH_START, .size = size - low};
		m->nregions = 2;
	}
	m->total = size;
	return m->nregions;
}

/* End of the highest RAM region (exclusive). */
static inline gpa_t guest_mem_end(const struct guest_mem *m)
{
	if (m->nregions == 0)
		return 0;
	const struct guest_mem_region *r = &m->r[m->nregions - 1];
	return r->gpa + r->size;
}

#endif
