/* boot.c - build the GDT, TSS, identity page tables, long-mode sregs, start regs and boot info for
 * guests. */
#include "arch/x86/boot.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define X86_GIB (1ull << 30)
#define X86_PAGE 4096u

/* CR0 / CR4 / EFER bits (Intel SDM vol. 3A, 2.5 and 2.2.1). */
#define X86_CR0_PE (1ull << 0)		/* protected mode */
#define X86_CR0_MP (1ull << 1)		/* WAIT/FWAIT honour TS */
#define X86_CR0_ET (1ull << 4)		/* hardwired 1 since the 486 */
#define X86_CR0_NE (1ull << 5)		/* native x87 error reporting (#MF) */
#define X86_CR0_WP (1ull << 16)		/* supervisor writes honour read-only pages */
#define X86_CR0_PG (1ull << 31)		/* paging */
#define X86_CR4_PAE (1ull << 5)		/* required for long mode */
#define X86_CR4_OSFXSR (1ull << 9)	/* FXSAVE/FXRSTOR and SSE enabled */
#define X86_CR4_OSXMMEXCPT (1ull << 10) /* SIMD FP exceptions raise #XM */
#define X86_EFER_LME (1ull << 8)	/* long mode enable */
#define X86_EFER_LMA (1ull << 10)	/* long mode active */

/* Paging-structure entry bits (SDM vol. 3A, 4.5). */
#define X86_PTE_P (1ull << 0)
#define X86_PTE_RW (1ull << 1)
#define X86_PTE_PS (1ull << 7) /* in a PDE: maps a 2 MiB page */

/* GDT layout: null, code (0x08), data (0x10), 16-byte TSS descriptor (0x18). */
#define X86_GDT_ENTRIES 5u
#define X86_GDT_LIMIT (X86_GDT_ENTRIES * 8u - 1u)
#define X86_TSS_SIZE 104u /* 64-bit TSS (SDM vol. 3A, 8.7) */
#define X86_TSS_LIMIT (X86_TSS_SIZE - 1u)
#define X86_TSS_IOMAP_OFF 102u /* offset of the I/O map base field */

/* Descriptor access bytes and flag nibbles (SDM vol. 3A, 3.4.5 and 8.2.3). */
#define X86_ACC_CODE 0x9b    /* P, DPL0, S, type 0xb: execute/read, accessed */
#define X86_ACC_DATA 0x93    /* P, DPL0, S, type 0x3: read/write, accessed */
#define X86_ACC_TSS 0x89     /* P, DPL0, system, type 0x9: available 64-bit TSS */
#define X86_FLAGS_CODE 0xa   /* G, L (64-bit code; D must be 0 when L = 1) */
#define X86_FLAGS_DATA 0xc   /* G, D/B */
#define X86_TYPE_TSS_BUSY 11 /* what TR must hold on VM entry (SDM vol. 3C, 27.3.1.2) */

static void x86_put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* An 8-byte code/data or low half of a system descriptor. */
static uint64_t x86_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

uint64_t x86_map_end(uint64_t ram_end)
{
	uint64_t end = ram_end > KESTREL_HIGH_START ? ram_end : KESTREL_HIGH_START;

	/* Saturate rather than wrap: x86_build_tables then reports -E2BIG. */
	if (end > UINT64_MAX - (X86_GIB - 1))
		return UINT64_MAX;
	return (end + X86_GIB - 1) & ~(X86_GIB - 1);
}

int x86_build_tables(uint8_t *low, uint64_t map_end, enum x86_gdt_layout layout)
{
	uint8_t *gdt = low + KESTREL_GDT_ADDR;
	uint8_t *tss = low + KESTREL_TSS_ADDR;
	bool is_linux = layout == X86_GDT_LINUX;
	unsigned code = is_linux ? X86_LINUX_SEL_CODE : KESTREL_SEL_CODE;
	unsigned data = is_linux ? X86_LINUX_SEL_DATA : KESTREL_SEL_DATA;
	unsigned tsel = is_linux ? X86_LINUX_SEL_TSS : KESTREL_SEL_TSS;
	uint64_t npd;

	/* One page directory (512 x 2 MiB) per GiB; check before writing anything. */
	if (map_end > UINT64_MAX - (X86_GIB - 1))
		return -E2BIG;
	npd = (map_end + X86_GIB - 1) / X86_GIB;
	if (npd > KESTREL_PD_MAX_PAGES)
		return -E2BIG;

	/* GDT page: the TSS shares it. */
	memset(gdt, 0, X86_PAGE);
	x86_put64(gdt + 0x00, 0);
	x86_put64(gdt + code, x86_desc(0, 0xfffff, X86_ACC_CODE, X86_FLAGS_CODE));
	x86_put64(gdt + data, x86_desc(0, 0xfffff, X86_ACC_DATA, X86_FLAGS_DATA));
	/* The 64-bit TSS descriptor is 16 bytes: base[63:32] in the second
	 * quadword, whose other bits must be zero (SDM vol. 3A, 8.2.3). */
	x86_put64(gdt + tsel, x86_desc(KESTREL_TSS_ADDR, X86_TSS_LIMIT, X86_ACC_TSS, 0));
	x86_put64(gdt + tsel + 8, (uint64_t)KESTREL_TSS_ADDR >> 32);

	/* TSS: all zero (no RSPn/ISTs: the guest runs at CPL0 without an IDT);
	 * an I/O map base at or past the limit means "no I/O permission bitmap". */
	memset(tss, 0, X86_TSS_SIZE);
	tss[X86_TSS_IOMAP_OFF] = (uint8_t)X86_TSS_SIZE;
	tss[X86_TSS_IOMAP_OFF + 1] = (uint8_t)(X86_TSS_SIZE >> 8);

	/* Page tables: PML4[0] -> PDPT, PDPT[i] -> PD i, 2 MiB PDEs. The PML4
	 * and PDPT are cleared whole (no stale entry may survive); the npd PDs
	 * are written whole below, and the pages past them are not kestrel's
	 * to touch (the Linux layout puts the zero page there). */
	memset(low + KESTREL_PML4_ADDR, 0, KESTREL_PD_ADDR - KESTREL_PML4_ADDR);
	x86_put64(low + KESTREL_PML4_ADDR, KESTREL_PDPT_ADDR | X86_PTE_P | X86_PTE_RW);
	for (uint64_t i = 0; i < npd; i++) {
		uint64_t pd = KESTREL_PD_ADDR + i * X86_PAGE;

		x86_put64(low + KESTREL_PDPT_ADDR + i * 8, pd | X86_PTE_P | X86_PTE_RW);
		for (uint64_t j = 0; j < 512; j++) {
			uint64_t pa = i * X86_GIB + (j << 21);

			x86_put64(low + pd + j * 8, pa | X86_PTE_P | X86_PTE_RW | X86_PTE_PS);
		}
	}
	return 0;
}

/* A flat 4 GiB segment as KVM describes it (limit in bytes, as the hidden part). */
static struct kvm_segment x86_flat_seg(uint16_t sel, uint8_t type, uint8_t db, uint8_t l)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = db,
	    .s = 1,
	    .l = l,
	    .g = 1,
	    .avl = 0,
	    .unusable = 0,
	};
}

void x86_long_mode_sregs(struct kvm_sregs *s, enum x86_gdt_layout layout)
{
	bool is_linux = layout == X86_GDT_LINUX;
	struct kvm_segment data = x86_flat_seg(is_linux ? X86_LINUX_SEL_DATA : KESTREL_SEL_DATA,
					       X86_ACC_DATA & 0xf, 1, 0);

	s->cs = x86_flat_seg(is_linux ? X86_LINUX_SEL_CODE : KESTREL_SEL_CODE, X86_ACC_CODE & 0xf,
			     0, 1);
	s->ds = data;
	s->es = data;
	s->ss = data;
	s->fs = data;
	s->gs = data;
	/* The GDT holds an available TSS (so a guest may LTR it itself), but
	 * VM entry requires TR to be a busy TSS. LDT stays as KVM reset it:
	 * a valid, empty one, which long mode never consults. */
	s->tr = (struct kvm_segment){
	    .base = KESTREL_TSS_ADDR,
	    .limit = X86_TSS_LIMIT,
	    .selector = is_linux ? X86_LINUX_SEL_TSS : KESTREL_SEL_TSS,
	    .type = X86_TYPE_TSS_BUSY,
	    .present = 1,
	    .dpl = 0,
	    .db = 0,
	    .s = 0,
	    .l = 0,
	    .g = 0,
	    .avl = 0,
	    .unusable = 0,
	};
	s->gdt = (struct kvm_dtable){.base = KESTREL_GDT_ADDR,
				     .limit = is_linux ? X86_GDT_LIMIT + 8 : X86_GDT_LIMIT};
	s->idt = (struct kvm_dtable){.base = 0, .limit = 0};

	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr3 = KESTREL_PML4_ADDR;
	s->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	s->efer = X86_EFER_LME | X86_EFER_LMA;
}

void x86_protected_mode_sregs(struct kvm_sregs *s)
{
	struct kvm_segment data = x86_flat_seg(KESTREL_SEL_DATA, X86_ACC_DATA & 0xf, 1, 0);

	s->cs = x86_flat_seg(KESTREL_SEL_CODE, X86_ACC_CODE & 0xf, 1, 0);
	s->ds = data;
	s->es = data;
	s->ss = data;
	s->fs = data;
	s->gs = data;
	/* VM entry wants a usable busy TSS in TR even though the guest never
	 * uses it before loading its own; base 0 is harmless (never read). */
	s->tr = (struct kvm_segment){.base = 0,
				     .limit = X86_TSS_LIMIT,
				     .selector = 0,
				     .type = X86_TYPE_TSS_BUSY,
				     .present = 1};
	s->gdt = (struct kvm_dtable){.base = 0, .limit = 0};
	s->idt = (struct kvm_dtable){.base = 0, .limit = 0};
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
}

void x86_start_regs(struct kvm_regs *r, uint64_t entry, uint64_t stack_top, unsigned index)
{
	memset(r, 0, sizeof(*r));
	r->rip = entry;
	/* vCPU i's stack is [top - (i+1)*SIZE, top - i*SIZE) (abi.h). */
	r->rsp = (stack_top - (uint64_t)index * KESTREL_STACK_SIZE) & ~0xfull;
	r->rdi = index;
	r->rsi = KESTREL_BOOT_INFO_ADDR;
	r->rflags = 0x2; /* bit 1 is reserved and reads as 1; IF clear */
}

int x86_build_boot_info(struct kestrel_boot_info *bi, const struct guest_mem *mem, unsigned ncpus,
			uint64_t tsc_khz, const char *cmdline)
{
	size_t len = 0;

	if (cmdline) {
		len = strnlen(cmdline, KESTREL_CMDLINE_MAX);
		if (len >= KESTREL_CMDLINE_MAX) /* no room for the NUL */
			return -E2BIG;
	}
	memset(bi, 0, sizeof(*bi));
	bi->magic = KESTREL_BOOT_MAGIC;
	bi->version = KESTREL_BOOT_VERSION;
	bi->ncpus = ncpus;
	bi->ram_size = mem->total;
	bi->tsc_khz = tsc_khz;
	for (unsigned i = 0; i < mem->nregions && i < KESTREL_MAX_REGIONS; i++) {
		bi->regions[i].base = mem->r[i].gpa;
		bi->regions[i].size = mem->r[i].size;
		bi->nregions++;
	}
	bi->cmdline_len = (uint32_t)len;
	if (len)
		memcpy(bi->cmdline, cmdline, len);
	bi->cmdline[len] = '\0';
	return 0;
}
