/* test_guestmem.c - unit tests for guest_mem_layout, guest_mem_end and guest_mem_ptr. */
#include <stdint.h>
#include <sys/mman.h>

#include "core/guestmem.h"
#include "tap.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

/*
 * Back each region with an inaccessible reservation: guest_mem_ptr only does
 * pointer arithmetic, and PROT_NONE costs no memory even for gigabytes, while
 * still giving every region a real, non-overlapping host address range.
 */
static int gm_back(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nregions; i++) {
		void *p = mmap(NULL, m->r[i].size, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (p == MAP_FAILED)
			return -1;
		m->r[i].host = p;
	}
	return 0;
}

static void gm_unback(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nregions; i++)
		munmap(m->r[i].host, m->r[i].size);
}

/* guest_mem_room: what a reader that may take less (the crash dump's code window) gets. */
static void test_room(void)
{
	struct guest_mem m;

	guest_mem_layout(&m, 5 * GIB); /* [0, 3 GiB) and [4 GiB, 6 GiB) */
	TAP_EQ_U64(guest_mem_room(&m, 0x1000, 16), 16, "inside RAM: all 16");
	TAP_EQ_U64(guest_mem_room(&m, 3 * GIB - 3, 16), 3, "3 bytes before region 0 ends: 3");
	TAP_EQ_U64(guest_mem_room(&m, 3 * GIB - 1, 16), 1, "the last byte: 1");
	TAP_EQ_U64(guest_mem_room(&m, 3 * GIB, 16), 0, "the hole: 0");
	TAP_EQ_U64(guest_mem_room(&m, 4 * GIB, 16), 16, "region 1's first byte: 16");
	TAP_EQ_U64(guest_mem_room(&m, 6 * GIB - 5, 16), 5, "5 bytes before region 1 ends: 5");
	TAP_EQ_U64(guest_mem_room(&m, 6 * GIB, 16), 0, "past the end: 0");
	TAP_EQ_U64(guest_mem_room(&m, UINT64_MAX, 16), 0, "2^64 - 1: 0");
	TAP_EQ_U64(guest_mem_room(&m, 3 * GIB - 3, 0), 0, "want 0: 0");
}

int main(void)
{
	struct guest_mem m;
	uint8_t *h0, *h1;

	/* Layout below the hole: one region from 0. */
	TAP_EQ_U64(guest_mem_layout(&m, 64 * MIB), 1, "64 MiB: one region");
	TAP_EQ_U64(m.r[0].gpa, 0, "64 MiB: region 0 at 0");
	TAP_EQ_U64(m.r[0].size, 64 * MIB, "64 MiB: region 0 size");
	TAP_OK(m.r[0].host == NULL, "64 MiB: host pointer left NULL");
	TAP_EQ_U64(m.total, 64 * MIB, "64 MiB: total");
	TAP_EQ_U64(guest_mem_end(&m), 64 * MIB, "64 MiB: end");

	/* Exactly up to the hole: still one region. */
	TAP_EQ_U64(guest_mem_layout(&m, KESTREL_HOLE_START), 1, "3 GiB: one region");
	TAP_EQ_U64(m.r[0].size, KESTREL_HOLE_START, "3 GiB: region 0 fills up to the hole");
	TAP_EQ_U64(guest_mem_end(&m), KESTREL_HOLE_START, "3 GiB: end");

	/* One byte more spills above 4 GiB. */
	TAP_EQ_U64(guest_mem_layout(&m, KESTREL_HOLE_START + 1), 2, "3 GiB + 1: two regions");
	TAP_EQ_U64(m.r[1].gpa, KESTREL_HIGH_START, "3 GiB + 1: region 1 at 4 GiB");
	TAP_EQ_U64(m.r[1].size, 1, "3 GiB + 1: region 1 holds the extra byte");

	/* Above the hole. */
	TAP_EQ_U64(guest_mem_layout(&m, 8 * GIB), 2, "8 GiB: two regions");
	TAP_EQ_U64(m.r[0].gpa, 0, "8 GiB: region 0 at 0");
	TAP_EQ_U64(m.r[0].size, 3 * GIB, "8 GiB: region 0 is 3 GiB");
	TAP_EQ_U64(m.r[1].gpa, 4 * GIB, "8 GiB: region 1 at 4 GiB");
	TAP_EQ_U64(m.r[1].size, 5 * GIB, "8 GiB: region 1 is 5 GiB");
	TAP_EQ_U64(m.total, 8 * GIB, "8 GiB: total");
	TAP_EQ_U64(guest_mem_end(&m), 9 * GIB, "8 GiB: end is 9 GiB");

	/* guest_mem_ptr on a 5 GiB guest: [0, 3 GiB) and [4 GiB, 6 GiB). */
	guest_mem_layout(&m, 5 * GIB);
	if (!TAP_OK(gm_back(&m) == 0, "reserve host address space for a 5 GiB guest"))
		return tap_done();
	h0 = m.r[0].host;
	h1 = m.r[1].host;
	TAP_OK(guest_mem_ptr(&m, 0, 1) == h0, "gpa 0 -> start of region 0");
	TAP_OK(guest_mem_ptr(&m, 0x123456, 0x1000) == h0 + 0x123456,
	       "in-range gpa -> matching host offset");
	TAP_OK(guest_mem_ptr(&m, 0, 3 * GIB) == h0, "the whole of region 0");
	TAP_OK(guest_mem_ptr(&m, 3 * GIB - 1, 1) == h0 + 3 * GIB - 1, "last byte of region 0");
	TAP_OK(guest_mem_ptr(&m, 3 * GIB - 1, 2) == NULL, "refuses crossing the end of region 0");
	TAP_OK(guest_mem_ptr(&m, 3 * GIB - 0x1000, 0x2000) == NULL,
	       "refuses a page range into the hole");
	TAP_OK(guest_mem_ptr(&m, 3 * GIB, 1) == NULL, "refuses the first byte of the hole");
	TAP_OK(guest_mem_ptr(&m, 0xfee00000, 4) == NULL, "refuses the LAPIC page in the hole");
	TAP_OK(guest_mem_ptr(&m, 4 * GIB - 1, 1) == NULL, "refuses the last byte of the hole");
	TAP_OK(guest_mem_ptr(&m, 4 * GIB - 1, 2) == NULL,
	       "refuses a range from the hole into region 1");
	TAP_OK(guest_mem_ptr(&m, 2 * GIB, 3 * GIB) == NULL, "refuses a range spanning the hole");
	TAP_OK(guest_mem_ptr(&m, 4 * GIB, 1) == h1, "4 GiB -> start of region 1");
	TAP_OK(guest_mem_ptr(&m, 5 * GIB, 0x10) == h1 + GIB, "inside region 1");
	TAP_OK(guest_mem_ptr(&m, 6 * GIB - 8, 8) == h1 + 2 * GIB - 8, "last 8 bytes of region 1");
	TAP_OK(guest_mem_ptr(&m, 6 * GIB - 8, 9) == NULL, "refuses crossing the end of RAM");
	TAP_OK(guest_mem_ptr(&m, 6 * GIB, 1) == NULL, "refuses past the end of RAM");
	TAP_OK(guest_mem_ptr(&m, UINT64_MAX - 1, 4) == NULL, "refuses a range that wraps 2^64");
	TAP_OK(guest_mem_ptr(&m, 0x1000, UINT64_MAX) == NULL, "refuses a huge length that wraps");
	TAP_OK(guest_mem_ptr(&m, UINT64_MAX, 0) == NULL, "refuses len 0 far outside RAM");

	/* len 0: allowed inside or at the end of a region, nowhere else. */
	TAP_OK(guest_mem_ptr(&m, 0x5000, 0) == h0 + 0x5000, "len 0 inside region 0");
	TAP_OK(guest_mem_ptr(&m, 3 * GIB, 0) == h0 + 3 * GIB, "len 0 at the end of region 0");
	TAP_OK(guest_mem_ptr(&m, 6 * GIB, 0) == h1 + 2 * GIB, "len 0 at the end of RAM");
	TAP_OK(guest_mem_ptr(&m, 3 * GIB + 1, 0) == NULL, "len 0 inside the hole is refused");
	TAP_OK(guest_mem_ptr(&m, 6 * GIB + 1, 0) == NULL, "len 0 past the end of RAM is refused");
	gm_unback(&m);

	/* A small single-region guest. */
	guest_mem_layout(&m, 2 * MIB);
	if (TAP_OK(gm_back(&m) == 0, "reserve host address space for a 2 MiB guest")) {
		TAP_OK(guest_mem_ptr(&m, 2 * MIB - 1, 1) == m.r[0].host + 2 * MIB - 1,
		       "2 MiB: last byte");
		TAP_OK(guest_mem_ptr(&m, 2 * MIB, 1) == NULL,
		       "2 MiB: first byte past the end refused");
		TAP_OK(guest_mem_ptr(&m, 4 * GIB, 1) == NULL, "2 MiB: no region 1");
		gm_unback(&m);
	}

	test_room();
	return tap_done();
}
