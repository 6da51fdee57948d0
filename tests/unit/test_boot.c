/* test_boot.c - unit tests for the x86 boot builders: page tables, GDT/TSS, sregs, regs, boot info.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "tap.h"

#define GIB (1ull << 30)
#define MIB (1ull << 20)
#define ADDR_MASK 0x000ffffffffff000ull /* physical-address bits of a table entry */

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/*
 * Translate va like the MMU would with CR3 = KESTREL_PML4_ADDR: 4-level
 * paging, stopping at a 2 MiB PDE. Returns 0 and the physical address, or
 * -1 if some level is not present (or malformed, which also fails the walk).
 */
static int walk(const uint8_t *low, uint64_t va, uint64_t *pa)
{
	uint64_t e, table = KESTREL_PML4_ADDR;

	if (va >> 48)
		return -1;
	e = get64(low + table + ((va >> 39) & 511) * 8);
	if (!(e & 1))
		return -1;
	if ((e & 0x80) || (e & ADDR_MASK) + 4096 > KESTREL_LOW_RESERVED)
		return -2;
	table = e & ADDR_MASK;
	e = get64(low + table + ((va >> 30) & 511) * 8);
	if (!(e & 1))
		return -1;
	if ((e & 0x80) || (e & ADDR_MASK) + 4096 > KESTREL_LOW_RESERVED)
		return -2; /* a 1 GiB page would be legal but isn't what kestrel builds */
	table = e & ADDR_MASK;
	e = get64(low + table + ((va >> 21) & 511) * 8);
	if (!(e & 1))
		return -1;
	if (!(e & 0x80) || (e & 0x2) == 0 || (e & 0x4))
		return -2; /* want a 2 MiB, writable, supervisor-only page */
	*pa = (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
	return 0;
}

static void check_map(const uint8_t *low, uint64_t map_end, const char *what)
{
	static const uint64_t offs[] = {0, 1, 0x1000, 0x1fffff, 0x200000, 0x3fffffff};
	unsigned bad = 0, checked = 0;
	uint64_t pa = 0;

	/* A few addresses in every GiB, plus each 2 MiB page start. */
	for (uint64_t g = 0; g < map_end; g += GIB) {
		for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			uint64_t va = g + offs[i];

			checked++;
			if (walk(low, va, &pa) != 0 || pa != va) {
				if (bad++ == 0)
					tap_diag("va %#" PRIx64 " -> rc %d pa %#" PRIx64, va,
						 walk(low, va, &pa), pa);
			}
		}
		for (uint64_t p = g; p < g + GIB; p += 2 * MIB) {
			checked++;
			if (walk(low, p + 0x1234, &pa) != 0 || pa != p + 0x1234)
				bad++;
		}
	}
	TAP_EQ_U64(bad, 0, "%s: all %u sampled addresses below %#" PRIx64 " map to themselves",
		   what, checked, map_end);
	TAP_EQ_INT(walk(low, map_end, &pa), -1,
		   "%s: %#" PRIx64 " (first byte past the map) is not present", what, map_end);
	TAP_EQ_INT(walk(low, map_end + GIB - 1, &pa), -1,
		   "%s: the GiB after the map is not present", what);
	TAP_EQ_INT(walk(low, 512 * GIB, &pa), -1, "%s: 512 GiB (PML4[1]) is not present", what);
	TAP_EQ_INT(walk(low, 0xffff800000000000ull, &pa), -1, "%s: the upper half is not present",
		   what);
}

struct desc {
	uint32_t base, limit;
	uint8_t access, flags;
};

static struct desc decode(const uint8_t *p)
{
	uint64_t d = get64(p);

	return (struct desc){
	    .limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000)),
	    .base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000)),
	    .access = (uint8_t)(d >> 40),
	    .flags = (uint8_t)((d >> 52) & 0xf),
	};
}

/* A kvm_segment must say exactly what the GDT descriptor it names says. */
static void check_seg_matches(const struct kvm_segment *s, const uint8_t *gdt, const char *name)
{
	struct desc d = decode(gdt + s->selector);
	uint8_t g = (d.flags >> 3) & 1;
	uint32_t limit = g ? (d.limit << 12) | 0xfff : d.limit;
	unsigned mismatch = 0;

	mismatch += s->base != d.base;
	mismatch += s->limit != limit;
	mismatch += s->type != (d.access & 0xf);
	mismatch += s->s != ((d.access >> 4) & 1);
	mismatch += s->dpl != ((d.access >> 5) & 3);
	mismatch += s->present != (d.access >> 7);
	mismatch += s->avl != (d.flags & 1);
	mismatch += s->l != ((d.flags >> 1) & 1);
	mismatch += s->db != ((d.flags >> 2) & 1);
	mismatch += s->g != g;
	TAP_EQ_U64(mismatch, 0, "%s (selector %#x) matches its GDT descriptor field by field", name,
		   s->selector);
}

static void test_tables(void)
{
	uint8_t *low = malloc(KESTREL_LOW_RESERVED);
	uint8_t *copy = malloc(KESTREL_LOW_RESERVED);
	struct desc d;
	const uint8_t *gdt, *tss;
	unsigned nonzero = 0;

	if (!TAP_OK(low && copy, "allocate the low 1 MiB"))
		return;

	/* x86_map_end. */
	TAP_EQ_U64(x86_map_end(0), 4 * GIB, "map_end(0) = 4 GiB");
	TAP_EQ_U64(x86_map_end(64 * MIB), 4 * GIB,
		   "map_end(64 MiB) = 4 GiB (covers the LAPIC/IOAPIC)");
	TAP_EQ_U64(x86_map_end(3 * GIB), 4 * GIB, "map_end(3 GiB) = 4 GiB");
	TAP_EQ_U64(x86_map_end(4 * GIB), 4 * GIB, "map_end(4 GiB) = 4 GiB");
	TAP_EQ_U64(x86_map_end(4 * GIB + 1), 5 * GIB, "map_end(4 GiB + 1) rounds up to 5 GiB");
	TAP_EQ_U64(x86_map_end(9 * GIB - 4096), 9 * GIB, "map_end(9 GiB - 4 KiB) = 9 GiB");
	TAP_EQ_U64(x86_map_end(9 * GIB), 9 * GIB, "map_end(9 GiB) = 9 GiB");
	TAP_OK(x86_map_end(UINT64_MAX) >= UINT64_MAX - GIB,
	       "map_end(2^64 - 1) saturates instead of wrapping");

	/* 4 GiB map, on a page full of junk so stale entries would show. */
	memset(low, 0xff, KESTREL_LOW_RESERVED);
	TAP_EQ_INT(x86_build_tables(low, 4 * GIB, X86_GDT_KESTREL), 0, "build_tables(4 GiB)");
	check_map(low, 4 * GIB, "4 GiB");
	for (unsigned i = 4; i < 512; i++)
		nonzero += get64(low + KESTREL_PDPT_ADDR + i * 8) != 0;
	for (unsigned i = 1; i < 512; i++)
		nonzero += get64(low + KESTREL_PML4_ADDR + i * 8) != 0;
	TAP_EQ_U64(nonzero, 0, "4 GiB: unused PML4/PDPT entries are zeroed");
	/* Only the PDs in use are written (issue 16: no zeroing of 119 spare
	 * pages of already-zero RAM); no PDPT entry points at the rest. */
	TAP_EQ_U64(low[KESTREL_PD_ADDR + 4 * 4096], 0xff, "4 GiB: spare PD pages are not touched");
	TAP_EQ_U64(low[KESTREL_BOOT_INFO_ADDR], 0xff,
		   "build_tables leaves the boot info page alone");
	TAP_EQ_U64(low[0], 0xff, "build_tables leaves page 0 alone");
	TAP_EQ_U64(low[KESTREL_LOW_RESERVED - 1], 0xff,
		   "build_tables leaves memory above the PDs alone");

	/* Odd sizes round up to a GiB. */
	memset(low, 0xff, KESTREL_LOW_RESERVED);
	TAP_EQ_INT(x86_build_tables(low, 5 * GIB + 1, X86_GDT_KESTREL), 0,
		   "build_tables(5 GiB + 1)");
	check_map(low, 6 * GIB, "5 GiB + 1 (rounded to 6 GiB)");

	/* The largest map: KESTREL_PD_MAX_PAGES GiB. */
	TAP_EQ_INT(x86_build_tables(low, (uint64_t)KESTREL_PD_MAX_PAGES * GIB, X86_GDT_KESTREL), 0,
		   "build_tables(%u GiB)", KESTREL_PD_MAX_PAGES);
	check_map(low, (uint64_t)KESTREL_PD_MAX_PAGES * GIB, "maximum map");

	/* Too much: refused, and nothing written. */
	memcpy(copy, low, KESTREL_LOW_RESERVED);
	TAP_EQ_INT(x86_build_tables(low, (uint64_t)KESTREL_PD_MAX_PAGES * GIB + 1, X86_GDT_KESTREL),
		   -E2BIG, "build_tables(%u GiB + 1) is -E2BIG", KESTREL_PD_MAX_PAGES);
	TAP_EQ_INT(x86_build_tables(low, 512 * GIB, X86_GDT_KESTREL), -E2BIG,
		   "build_tables(512 GiB) is -E2BIG");
	TAP_EQ_INT(x86_build_tables(low, UINT64_MAX, X86_GDT_KESTREL), -E2BIG,
		   "build_tables(2^64 - 1) is -E2BIG (no wrap)");
	TAP_EQ_INT(x86_build_tables(low, x86_map_end(UINT64_MAX), X86_GDT_KESTREL), -E2BIG,
		   "build_tables(map_end(2^64 - 1)) is -E2BIG");
	TAP_OK(memcmp(copy, low, KESTREL_LOW_RESERVED) == 0, "-E2BIG leaves memory untouched");

	/* GDT and TSS, from the 4 GiB build. */
	memset(low, 0xff, KESTREL_LOW_RESERVED);
	x86_build_tables(low, 4 * GIB, X86_GDT_KESTREL);
	gdt = low + KESTREL_GDT_ADDR;
	tss = low + KESTREL_TSS_ADDR;
	TAP_EQ_U64(get64(gdt), 0, "GDT[0] is the null descriptor");
	TAP_EQ_U64(get64(gdt + KESTREL_SEL_CODE), 0x00af9b000000ffffull,
		   "GDT code descriptor bytes");
	d = decode(gdt + KESTREL_SEL_CODE);
	TAP_EQ_U64(d.access, 0x9b, "code: access 0x9b (P, DPL0, S, execute/read, accessed)");
	TAP_EQ_U64(d.flags, 0xa, "code: flags G=1 L=1 D=0");
	TAP_EQ_U64(d.base, 0, "code: base 0");
	TAP_EQ_U64(d.limit, 0xfffff, "code: limit 0xfffff pages");
	TAP_EQ_U64(get64(gdt + KESTREL_SEL_DATA), 0x00cf93000000ffffull,
		   "GDT data descriptor bytes");
	d = decode(gdt + KESTREL_SEL_DATA);
	TAP_EQ_U64(d.access, 0x93, "data: access 0x93 (P, DPL0, S, read/write, accessed)");
	TAP_EQ_U64(d.flags, 0xc, "data: flags G=1 D/B=1 L=0");
	d = decode(gdt + KESTREL_SEL_TSS);
	TAP_EQ_U64(d.access, 0x89, "TSS: access 0x89 (P, DPL0, system, available 64-bit TSS)");
	TAP_EQ_U64(d.base, KESTREL_TSS_ADDR, "TSS: base[31:0]");
	TAP_EQ_U64(d.limit, 0x67, "TSS: limit 0x67");
	TAP_EQ_U64(d.flags, 0, "TSS: byte granularity");
	TAP_EQ_U64(get64(gdt + KESTREL_SEL_TSS + 8), 0,
		   "TSS: upper half (base[63:32], reserved) is 0");
	TAP_EQ_U64(get64(gdt + 0x28), 0, "nothing past the TSS descriptor");
	nonzero = 0;
	for (unsigned i = 0; i < 102; i++)
		nonzero += tss[i] != 0;
	TAP_EQ_U64(nonzero, 0, "TSS body is zero");
	TAP_EQ_U64(tss[102] | tss[103] << 8, 104, "TSS I/O map base = 104 (no I/O bitmap)");
	TAP_OK(KESTREL_TSS_ADDR >= KESTREL_GDT_ADDR + 0x28, "TSS does not overlap the GDT");

	free(low);
	free(copy);
}

static void test_sregs(void)
{
	struct kvm_sregs s;
	uint8_t *low = calloc(1, KESTREL_LOW_RESERVED);
	const uint8_t *gdt = low + KESTREL_GDT_ADDR;
	struct desc d;

	if (!TAP_OK(low != NULL, "allocate the low 1 MiB"))
		return;
	x86_build_tables(low, 4 * GIB, X86_GDT_KESTREL);

	/* Start from junk, with apic_base and the interrupt bitmap as KVM might leave them. */
	memset(&s, 0xa5, sizeof(s));
	s.apic_base = 0xfee00900;
	memset(s.interrupt_bitmap, 0x3c, sizeof(s.interrupt_bitmap));
	x86_long_mode_sregs(&s, X86_GDT_KESTREL);

	TAP_EQ_U64(s.cs.selector, KESTREL_SEL_CODE, "cs selector 0x08");
	TAP_EQ_U64(s.cs.type, 11, "cs type 11 (execute/read, accessed)");
	TAP_OK(s.cs.present && s.cs.s && s.cs.l && s.cs.g && !s.cs.db && !s.cs.dpl &&
		   !s.cs.unusable,
	       "cs: present, S, L, G, D=0, DPL 0, usable");
	TAP_EQ_U64(s.cs.base, 0, "cs base 0");
	TAP_EQ_U64(s.cs.limit, 0xffffffff, "cs limit 0xffffffff");
	check_seg_matches(&s.cs, gdt, "cs");

	const struct kvm_segment *data[] = {&s.ds, &s.es, &s.ss, &s.fs, &s.gs};
	const char *names[] = {"ds", "es", "ss", "fs", "gs"};
	for (unsigned i = 0; i < 5; i++) {
		const struct kvm_segment *g = data[i];

		TAP_OK(g->selector == KESTREL_SEL_DATA && g->type == 3 && g->present && g->s &&
			   g->db && g->g && !g->l && !g->dpl && !g->unusable && g->base == 0 &&
			   g->limit == 0xffffffff,
		       "%s: selector 0x10, type 3, present, S, D/B, G, base 0, limit 0xffffffff",
		       names[i]);
		check_seg_matches(g, gdt, names[i]);
	}

	TAP_EQ_U64(s.tr.selector, KESTREL_SEL_TSS, "tr selector 0x18");
	TAP_EQ_U64(s.tr.type, 11, "tr type 11 (busy 64-bit TSS, as VM entry requires)");
	TAP_OK(s.tr.present && !s.tr.s && !s.tr.g && !s.tr.l && !s.tr.db && !s.tr.dpl &&
		   !s.tr.unusable,
	       "tr: present, system, byte granular");
	TAP_EQ_U64(s.tr.base, KESTREL_TSS_ADDR, "tr base = TSS");
	TAP_EQ_U64(s.tr.limit, 0x67, "tr limit 0x67");
	d = decode(gdt + KESTREL_SEL_TSS);
	TAP_OK(s.tr.base == d.base && s.tr.limit == d.limit && (d.access & 0xf) == 9 &&
		   (s.tr.type & ~2) == 9,
	       "tr matches the GDT's TSS descriptor (which is marked available)");

	TAP_EQ_U64(s.gdt.base, KESTREL_GDT_ADDR, "gdt base");
	TAP_EQ_U64(s.gdt.limit, 0x27, "gdt limit covers 5 slots (null, code, data, 16-byte TSS)");
	TAP_EQ_U64(s.idt.base, 0, "idt base 0");
	TAP_EQ_U64(s.idt.limit, 0, "idt limit 0");
	TAP_EQ_U64(s.cr0, 0x80010033, "cr0 = PE|MP|ET|NE|WP|PG");
	TAP_EQ_U64(s.cr3, KESTREL_PML4_ADDR, "cr3 = PML4");
	TAP_EQ_U64(s.cr4, 0x620, "cr4 = PAE|OSFXSR|OSXMMEXCPT");
	TAP_EQ_U64(s.efer, 0x500, "efer = LME|LMA");
	TAP_EQ_U64(s.apic_base, 0xfee00900, "apic_base left as KVM set it");
	TAP_EQ_U64(s.interrupt_bitmap[0], 0x3c3c3c3c3c3c3c3cull,
		   "interrupt_bitmap left as KVM set it");
	free(low);
}

static void test_regs(void)
{
	struct kvm_regs r;
	const uint64_t top = 64 * MIB;

	memset(&r, 0xa5, sizeof(r));
	x86_start_regs(&r, 0x100040, top, 0);
	TAP_EQ_U64(r.rip, 0x100040, "cpu 0: rip = entry");
	TAP_EQ_U64(r.rsp, top, "cpu 0: rsp = stack top");
	TAP_EQ_U64(r.rdi, 0, "cpu 0: rdi = 0");
	TAP_EQ_U64(r.rsi, KESTREL_BOOT_INFO_ADDR, "cpu 0: rsi = boot info");
	TAP_EQ_U64(r.rflags, 2, "cpu 0: rflags = 2");
	TAP_OK(!r.rax && !r.rbx && !r.rcx && !r.rdx && !r.rbp && !r.r8 && !r.r9 && !r.r10 &&
		   !r.r11 && !r.r12 && !r.r13 && !r.r14 && !r.r15,
	       "cpu 0: every other GPR is 0");

	memset(&r, 0xa5, sizeof(r));
	x86_start_regs(&r, 0x100040, top, 3);
	TAP_EQ_U64(r.rsp, top - 3 * KESTREL_STACK_SIZE, "cpu 3: rsp = top - 3 * stack size");
	TAP_EQ_U64(r.rsp & 15, 0, "cpu 3: rsp 16-byte aligned");
	TAP_EQ_U64(r.rdi, 3, "cpu 3: rdi = 3");
	TAP_EQ_U64(r.rip, 0x100040, "cpu 3: rip = entry");
	TAP_OK(!r.rax && !r.rbx && !r.rcx && !r.rdx && !r.rbp && !r.r8 && !r.r15,
	       "cpu 3: other GPRs 0");

	x86_start_regs(&r, 0x100040, top - 8, 1);
	TAP_EQ_U64(r.rsp & 15, 0, "unaligned stack top still gives a 16-byte aligned rsp");
	TAP_OK(r.rsp <= top - 8 - KESTREL_STACK_SIZE, "... that stays inside the vCPU's stack");
}

static void test_boot_info(void)
{
	struct kestrel_boot_info *bi = malloc(sizeof(*bi));
	struct guest_mem m;
	char *longline = malloc(KESTREL_CMDLINE_MAX + 1);

	if (!TAP_OK(bi && longline, "allocate"))
		return;

	guest_mem_layout(&m, 5 * GIB);
	memset(bi, 0xa5, sizeof(*bi));
	TAP_EQ_INT(x86_build_boot_info(bi, &m, 4, 2500000, "hello world"), 0,
		   "boot info with cmdline");
	TAP_EQ_U64(bi->magic, KESTREL_BOOT_MAGIC, "magic");
	TAP_EQ_U64(bi->version, KESTREL_BOOT_VERSION, "version");
	TAP_EQ_U64(bi->ncpus, 4, "ncpus");
	TAP_EQ_U64(bi->ram_size, 5 * GIB, "ram_size");
	TAP_EQ_U64(bi->tsc_khz, 2500000, "tsc_khz");
	TAP_EQ_U64(bi->nregions, 2, "nregions");
	TAP_EQ_U64(bi->regions[0].base, 0, "region 0 base");
	TAP_EQ_U64(bi->regions[0].size, 3 * GIB, "region 0 size");
	TAP_EQ_U64(bi->regions[1].base, 4 * GIB, "region 1 base");
	TAP_EQ_U64(bi->regions[1].size, 2 * GIB, "region 1 size");
	TAP_EQ_U64(bi->cmdline_len, 11, "cmdline_len");
	TAP_EQ_STR(bi->cmdline, "hello world", "cmdline copied");
	TAP_EQ_U64(bi->cmdline[KESTREL_CMDLINE_MAX - 1], 0,
		   "rest of cmdline zeroed (no stale bytes)");

	guest_mem_layout(&m, 64 * MIB);
	memset(bi, 0xa5, sizeof(*bi));
	TAP_EQ_INT(x86_build_boot_info(bi, &m, 1, 0, NULL), 0, "boot info without cmdline");
	TAP_EQ_U64(bi->nregions, 1, "64 MiB: one region");
	TAP_EQ_U64(bi->regions[0].size, 64 * MIB, "64 MiB: region 0 size");
	TAP_EQ_U64(bi->regions[1].size, 0, "64 MiB: unused region slot zeroed");
	TAP_EQ_U64(bi->cmdline_len, 0, "NULL cmdline: length 0");
	TAP_EQ_U64(bi->cmdline[0], 0, "NULL cmdline: empty string");
	TAP_EQ_U64(bi->tsc_khz, 0, "unknown TSC frequency is 0");

	TAP_EQ_INT(x86_build_boot_info(bi, &m, 1, 0, ""), 0, "empty cmdline");
	TAP_EQ_U64(bi->cmdline_len, 0, "empty cmdline: length 0");

	memset(longline, 'x', KESTREL_CMDLINE_MAX - 1);
	longline[KESTREL_CMDLINE_MAX - 1] = '\0';
	TAP_EQ_INT(x86_build_boot_info(bi, &m, 1, 0, longline), 0, "cmdline of %u bytes + NUL fits",
		   KESTREL_CMDLINE_MAX - 1);
	TAP_EQ_U64(bi->cmdline_len, KESTREL_CMDLINE_MAX - 1, "longest cmdline: length");
	TAP_EQ_U64(bi->cmdline[KESTREL_CMDLINE_MAX - 1], 0, "longest cmdline: NUL-terminated");

	memset(longline, 'x', KESTREL_CMDLINE_MAX);
	longline[KESTREL_CMDLINE_MAX] = '\0';
	memset(bi, 0x5a, sizeof(*bi));
	TAP_EQ_INT(x86_build_boot_info(bi, &m, 1, 0, longline), -E2BIG,
		   "cmdline of %u bytes is -E2BIG", KESTREL_CMDLINE_MAX);
	TAP_EQ_U64(bi->magic, 0x5a5a5a5a5a5a5a5aull, "-E2BIG leaves the boot info untouched");
	TAP_OK(sizeof(*bi) <= KESTREL_PML4_ADDR - KESTREL_BOOT_INFO_ADDR,
	       "boot info fits its page");
	free(bi);
	free(longline);
}

int main(void)
{
	test_tables();
	test_sregs();
	test_regs();
	test_boot_info();
	return tap_done();
}
