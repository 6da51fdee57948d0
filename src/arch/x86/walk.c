/* walk.c - a software page walk over guest memory, for the instruction fallback's operands. */
#include "arch/x86/walk.h"

#include <string.h>

#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define PTE_RSVD_HIGH 0x7ff0000000000000ull /* bits 52-62 (63 is NX) */
#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)
#define CR0_PG (1ull << 31)
#define CR0_WP (1ull << 16)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_SMAP (1ull << 21)
#define EFER_LMA (1ull << 10)
#define RFLAGS_AC (1ull << 18)

static int walk_fault(struct walk_result *r, uint32_t err)
{
	r->pf_error = err;
	return WALK_FAULT;
}

int walk_data(const struct guest_mem *mem, const struct walk_mode *m, uint64_t linear, bool write,
	      struct walk_result *r)
{
	bool user = m->cpl == 3;
	uint32_t acc = (write ? PF_W : 0) | (user ? PF_U : 0);
	uint64_t table, e = 0, allow_w = 1, allow_u = 1;

	memset(r, 0, sizeof(*r));
	if (!(m->cr0 & CR0_PG)) {
		r->gpa = linear & 0xffffffffull;
		return 0;
	}
	if (!(m->efer & EFER_LMA) || !(m->cr4 & CR4_PAE) || (m->cr4 & CR4_LA57))
		return WALK_UNSUPPORTED;
	/* Non-canonical addresses are #GP on the CPU, not #PF: the caller's
	 * decoder never hands us one from a valid instruction; refuse. */
	if ((uint64_t)((int64_t)(linear << 16) >> 16) != linear)
		return WALK_UNSUPPORTED;
	table = m->cr3 & PTE_ADDR;
	for (int level = 3; level >= 0; level--) {
		unsigned idx = (unsigned)(linear >> (12 + 9 * level)) & 511;
		const uint8_t *p = guest_mem_ptr(mem, table + idx * 8, 8);

		if (!p)
			return walk_fault(r, PF_P | PF_RSVD | acc);
		r->tables[r->ntables++] = table;
		memcpy(&e, p, 8);
		if (!(e & PTE_P))
			return walk_fault(r, acc);
		if (e & PTE_RSVD_HIGH)
			return walk_fault(r, PF_P | PF_RSVD | acc);
		allow_w &= !!(e & PTE_W);
		allow_u &= !!(e & PTE_U);
		if (level == 0 || ((e & PTE_PS) && (level == 1 || level == 2))) {
			uint64_t size = 1ull << (12 + 9 * level);
			uint64_t base = (e & PTE_ADDR) & ~(size - 1);
			if (level > 0 && (e & PTE_ADDR & (size - 1) & ~0x1000ull))
				return walk_fault(r, PF_P | PF_RSVD | acc); /* reserved low bits */
			if (user && !allow_u)
				return walk_fault(r, PF_P | acc);
			if (!user && allow_u && (m->cr4 & CR4_SMAP) && !(m->rflags & RFLAGS_AC))
				return walk_fault(r, PF_P | acc);
			if (write && !allow_w && (user || (m->cr0 & CR0_WP)))
				return walk_fault(r, PF_P | acc);
			r->gpa = base | (linear & (size - 1));
			return 0;
		}
		if (e & PTE_PS) /* PS in a PML4E is reserved */
			return walk_fault(r, PF_P | PF_RSVD | acc);
		table = e & PTE_ADDR;
	}
	return walk_fault(r, acc); /* not reached */
}
