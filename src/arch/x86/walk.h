/* walk.h - the guest's own 4-level page walk for a data access, done by kestrel (pure code). */
#ifndef KESTREL_ARCH_X86_WALK_H
#define KESTREL_ARCH_X86_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/guestmem.h"

/* The paging state a walk needs (from SREGS and RFLAGS). */
struct walk_mode {
	uint64_t cr0, cr3, cr4, efer, rflags;
	unsigned cpl;
};

struct walk_result {
	gpa_t gpa;	 /* the translation, when ok */
	gpa_t tables[4]; /* guest-physical pages of the paging structures read */
	unsigned ntables;
	/* On a fault: #PF error code (P, W/R, U/S, RSVD) and the linear address. */
	uint32_t pf_error;
};

/* Results besides 0 (translated). */
#define WALK_FAULT 1 /* #PF: pf_error filled */
#define WALK_UNSUPPORTED                                                                           \
	(-95) /* -EOPNOTSUPP: 5-level paging, 32-bit paging, or paging off with                    \
	       * long mode: the caller reports instead of guessing */

/*
 * walk_data - translate `linear` for a data access (write or read) at
 * m->cpl as the CPU would with 4-level paging (CR0.PG, CR4.PAE, EFER.LMA),
 * or 1:1 with paging off. Checks present, writable (CR0.WP at CPL0),
 * user/supervisor and SMAP (CR4.SMAP: a supervisor access to a user page
 * faults unless RFLAGS.AC), and reserved physical-address bits above 52.
 * Paging-structure entries are read through guest_mem_ptr; an entry outside
 * RAM is a fault with RSVD. Accessed/dirty bits are not set (documented in
 * quirk.c). Returns 0, WALK_FAULT or WALK_UNSUPPORTED.
 */
int walk_data(const struct guest_mem *mem, const struct walk_mode *m, uint64_t linear, bool write,
	      struct walk_result *r);

#endif
