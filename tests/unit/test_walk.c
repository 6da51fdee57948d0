/* test_walk.c - the software page walk of the instruction fallback: translations, every fault kind,
 * hostile tables. */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/walk.h"
#include "tap.h"

#define MIB (1ull << 20)
#define P 1ull
#define W 2ull
#define U 4ull
#define PS 0x80ull

static struct guest_mem mem;

static void put(uint64_t gpa, uint64_t v)
{
	memcpy(guest_mem_ptr(&mem, gpa, 8), &v, 8);
}

int main(void)
{
	struct walk_mode m = {.cr0 = (1ull << 31) | (1ull << 16) | 1,
			      .cr3 = 0x10000,
			      .cr4 = 1ull << 5,
			      .efer = (1ull << 10) | (1ull << 8),
			      .cpl = 0};
	struct walk_result r;

	guest_mem_layout(&mem, 16 * MIB);
	mem.r[0].host = calloc(1, 16 * MIB);
	/* PML4[0] -> PDPT 0x11000; PDPT[0] -> PD 0x12000; PD[0] -> PT 0x13000;
	 * PT[1] maps 0x1000 -> 0x200000 (supervisor, writable); PT[2] read-only;
	 * PT[3] user; PD[1] is a 2 MiB page at 0x400000 (user, writable). */
	put(0x10000, 0x11000 | P | W | U);
	put(0x11000, 0x12000 | P | W | U);
	put(0x12000, 0x13000 | P | W | U);
	put(0x13000 + 8, 0x200000 | P | W);
	put(0x13000 + 16, 0x201000 | P);
	put(0x13000 + 24, 0x202000 | P | W | U);
	put(0x12000 + 8, 0x400000 | P | W | U | PS);

	TAP_EQ_INT(walk_data(&mem, &m, 0x1234, false, &r), 0, "4 KiB page translates");
	TAP_EQ_U64(r.gpa, 0x200234, "... to its frame plus the offset");
	TAP_EQ_U64(r.ntables, 4, "... through 4 paging structures");
	TAP_EQ_U64(r.tables[3], 0x13000, "... the last one the PT");
	TAP_EQ_INT(walk_data(&mem, &m, 0x200000 + 0x1234, true, &r), 0, "2 MiB page translates");
	TAP_EQ_U64(r.gpa, 0x401234, "... to base plus the 21-bit offset");
	TAP_EQ_INT(walk_data(&mem, &m, 0x4000, false, &r), WALK_FAULT, "not-present PTE faults");
	TAP_EQ_U64(r.pf_error, 0, "... error code: not present, read, supervisor");
	TAP_EQ_INT(walk_data(&mem, &m, 0x2000, true, &r), WALK_FAULT,
		   "write to read-only with CR0.WP faults");
	TAP_EQ_U64(r.pf_error, 3, "... error code P|W");
	m.cr0 &= ~(1ull << 16);
	TAP_EQ_INT(walk_data(&mem, &m, 0x2000, true, &r), 0,
		   "... without CR0.WP a supervisor write goes through");
	m.cr0 |= 1ull << 16;
	m.cpl = 3;
	TAP_EQ_INT(walk_data(&mem, &m, 0x1000, false, &r), WALK_FAULT,
		   "CPL3 read of a supervisor page faults");
	TAP_EQ_U64(r.pf_error, 5, "... error code P|U");
	TAP_EQ_INT(walk_data(&mem, &m, 0x3000, true, &r), 0, "CPL3 write to a user page");
	m.cpl = 0;
	m.cr4 |= 1ull << 21;
	TAP_EQ_INT(walk_data(&mem, &m, 0x3000, false, &r), WALK_FAULT,
		   "SMAP: supervisor read of a user page faults");
	m.rflags = 1ull << 18;
	TAP_EQ_INT(walk_data(&mem, &m, 0x3000, false, &r), 0, "... unless RFLAGS.AC (stac)");
	m.rflags = 0;
	m.cr4 &= ~(1ull << 21);
	/* Hostile tables: an entry pointing outside RAM, reserved bits, a PS bit in the PML4E. */
	put(0x13000 + 32, 0x7ff000000000ull | P);
	TAP_EQ_INT(walk_data(&mem, &m, 0x4000, false, &r), 0,
		   "a frame outside RAM still translates (the caller checks RAM)");
	put(0x12000 + 16, 0x7f0000000000ull | P | W);
	TAP_EQ_INT(walk_data(&mem, &m, 0x400000, false, &r), WALK_FAULT,
		   "a PD entry pointing outside RAM faults");
	TAP_OK(r.pf_error & 8, "... with RSVD");
	put(0x13000 + 40, (1ull << 55) | 0x1000 | P);
	TAP_EQ_INT(walk_data(&mem, &m, 0x5000, false, &r), WALK_FAULT, "reserved high bits fault");
	TAP_OK(r.pf_error & 8, "... with RSVD");
	put(0x10000 + 8, 0x11000 | P | PS);
	TAP_EQ_INT(walk_data(&mem, &m, 1ull << 39, false, &r), WALK_FAULT,
		   "PS in a PML4E is reserved");
	put(0x12000 + 24, 0x202000ull | P | PS); /* bit 13: reserved (bit 12 is PAT) */
	TAP_EQ_INT(walk_data(&mem, &m, 0x600000, false, &r), WALK_FAULT,
		   "a 2 MiB page with low address bits set faults");
	TAP_EQ_INT(walk_data(&mem, &m, 0x0000800000000000ull, false, &r), WALK_UNSUPPORTED,
		   "non-canonical: refused");
	m.cr4 |= 1ull << 12;
	TAP_EQ_INT(walk_data(&mem, &m, 0x1000, false, &r), WALK_UNSUPPORTED,
		   "5-level paging: refused");
	m.cr4 &= ~(1ull << 12);
	m.cr3 = 0x7ffffff000ull;
	TAP_EQ_INT(walk_data(&mem, &m, 0x1000, false, &r), WALK_FAULT,
		   "CR3 outside RAM faults, no crash");
	m.cr0 &= ~(1ull << 31);
	TAP_EQ_INT(walk_data(&mem, &m, 0x12345678, false, &r), 0, "paging off: 1:1");
	TAP_EQ_U64(r.gpa, 0x12345678, "... the address itself");
	free(mem.r[0].host);
	return tap_done();
}
