/* fuzz_boot.c - libFuzzer target: RAM layout, boot info, page tables and start registers from
 * fuzzed sizes and command lines. */
#include <errno.h>

#include "arch/x86/boot.h"
#include "fuzz.h"

#define GIB (1ull << 30)
#define PAGE 4096u
#define PTE_P 1ull
#define PTE_RW 2ull
#define PTE_PS 0x80ull

/* Bytes of the low MiB the page-table builder must leave alone. */
#define PD_END (KESTREL_PD_ADDR + KESTREL_PD_MAX_PAGES * PAGE)
#define CANARY 0x5a

static uint8_t *low; /* exactly KESTREL_LOW_RESERVED bytes: ASan sees overruns */
static uint8_t canary[PAGE];

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* guest_mem_layout's promise: RAM below the hole, the rest from 4 GiB. */
static void check_layout(const struct guest_mem *m, uint64_t size)
{
	uint64_t lowsz = size < KESTREL_HOLE_START ? size : KESTREL_HOLE_START;

	FUZZ_ASSERT(m->total == size, "total %#llx", (unsigned long long)m->total);
	FUZZ_ASSERT(m->r[0].gpa == 0 && m->r[0].size == lowsz, "region 0 wrong");
	if (size > KESTREL_HOLE_START) {
		FUZZ_ASSERT(m->nregions == 2, "%u regions for %#llx", m->nregions,
			    (unsigned long long)size);
		FUZZ_ASSERT(m->r[1].gpa == KESTREL_HIGH_START && m->r[1].size == size - lowsz,
			    "region 1 wrong");
	} else {
		FUZZ_ASSERT(m->nregions == 1, "%u regions for %#llx", m->nregions,
			    (unsigned long long)size);
	}
	for (unsigned i = 0; i < m->nregions; i++)
		FUZZ_ASSERT(m->r[i].host == NULL, "host pointer set");
}

static void check_boot_info(const struct guest_mem *m, unsigned ncpus, uint64_t tsc,
			    const char *cmdline)
{
	struct kestrel_boot_info *bi = malloc(sizeof(*bi)); /* exact size for ASan */
	size_t cl = strlen(cmdline);
	int r = x86_build_boot_info(bi, m, ncpus, tsc, cmdline);

	if (cl >= KESTREL_CMDLINE_MAX) {
		FUZZ_ASSERT(r == -E2BIG, "%zu-byte cmdline: %d", cl, r);
		free(bi);
		return;
	}
	FUZZ_ASSERT(r == 0, "%zu-byte cmdline: %d", cl, r);
	FUZZ_ASSERT(bi->magic == KESTREL_BOOT_MAGIC && bi->version == KESTREL_BOOT_VERSION,
		    "header");
	FUZZ_ASSERT(bi->ncpus == ncpus && bi->tsc_khz == tsc && bi->ram_size == m->total, "fields");
	FUZZ_ASSERT(bi->nregions == m->nregions, "nregions %u", bi->nregions);
	for (unsigned i = 0; i < bi->nregions; i++)
		FUZZ_ASSERT(bi->regions[i].base == m->r[i].gpa &&
				bi->regions[i].size == m->r[i].size,
			    "region %u", i);
	FUZZ_ASSERT(bi->cmdline_len == cl && memcmp(bi->cmdline, cmdline, cl) == 0 &&
			bi->cmdline[cl] == '\0',
		    "cmdline not copied");
	free(bi);
}

/* x86_map_end: max(4 GiB, ram_end) rounded up to a GiB, saturating at 2^64 - 1. */
static void check_map_end(uint64_t ram_end)
{
	uint64_t e = x86_map_end(ram_end);
	unsigned __int128 want = ram_end > KESTREL_HIGH_START ? ram_end : KESTREL_HIGH_START;

	want = (want + GIB - 1) / GIB * GIB;
	if (want > UINT64_MAX)
		FUZZ_ASSERT(e == UINT64_MAX, "x86_map_end(%#llx) = %#llx, should saturate",
			    (unsigned long long)ram_end, (unsigned long long)e);
	else
		FUZZ_ASSERT(e == (uint64_t)want, "x86_map_end(%#llx) = %#llx",
			    (unsigned long long)ram_end, (unsigned long long)e);
}

/* The PDE for 2 MiB page j of GiB i must map exactly that page. */
static void check_pde(uint64_t i, uint64_t j)
{
	uint64_t pde = get64(low + KESTREL_PD_ADDR + i * PAGE + j * 8);

	FUZZ_ASSERT(pde == ((i * GIB + (j << 21)) | PTE_P | PTE_RW | PTE_PS),
		    "PDE %llu/%llu = %#llx", (unsigned long long)i, (unsigned long long)j,
		    (unsigned long long)pde);
}

static void check_tables(uint64_t map_end, uint16_t pick)
{
	unsigned __int128 npd = ((unsigned __int128)map_end + GIB - 1) / GIB;
	int r;

	/* Canaries where the builder has no business: the boot info page and
	 * what lies above the largest page-directory area. */
	memset(low + KESTREL_BOOT_INFO_ADDR, CANARY, PAGE);
	memset(low + PD_END, CANARY, PAGE);
	r = x86_build_tables(low, map_end, X86_GDT_KESTREL);
	if (npd > KESTREL_PD_MAX_PAGES) {
		FUZZ_ASSERT(r == -E2BIG, "map_end %#llx: %d", (unsigned long long)map_end, r);
		return;
	}
	FUZZ_ASSERT(r == 0, "map_end %#llx: %d", (unsigned long long)map_end, r);
	FUZZ_ASSERT(!memcmp(low + KESTREL_BOOT_INFO_ADDR, canary, PAGE) &&
			!memcmp(low + PD_END, canary, PAGE),
		    "page tables wrote outside their area");
	FUZZ_ASSERT(get64(low + KESTREL_PML4_ADDR) == (KESTREL_PDPT_ADDR | PTE_P | PTE_RW),
		    "PML4[0]");
	for (unsigned k = 1; k < 512; k++)
		FUZZ_ASSERT(get64(low + KESTREL_PML4_ADDR + k * 8) == 0, "PML4[%u] set", k);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t e = get64(low + KESTREL_PDPT_ADDR + i * 8);
		if (i < npd)
			FUZZ_ASSERT(e == ((KESTREL_PD_ADDR + i * PAGE) | PTE_P | PTE_RW),
				    "PDPT[%llu]", (unsigned long long)i);
		else
			FUZZ_ASSERT(e == 0, "PDPT[%llu] set past map_end", (unsigned long long)i);
	}
	/* The edges of every directory and one PDE chosen by the input (all
	 * 512 of each would make this target several times slower). */
	for (uint64_t i = 0; i < npd; i++) {
		check_pde(i, 0);
		check_pde(i, 1);
		check_pde(i, 511);
	}
	if (npd)
		check_pde((pick >> 9) % (uint64_t)npd, pick & 511);
}

static void check_start_regs(uint64_t entry, uint64_t top, unsigned index)
{
	struct kvm_regs r;

	memset(&r, 0xff, sizeof(r));
	x86_start_regs(&r, entry, top, index);
	FUZZ_ASSERT(r.rip == entry && r.rdi == index && r.rsi == KESTREL_BOOT_INFO_ADDR &&
			r.rflags == 2,
		    "start registers");
	FUZZ_ASSERT(r.rsp == ((top - (uint64_t)index * KESTREL_STACK_SIZE) & ~0xfull) &&
			!(r.rsp & 15),
		    "rsp %#llx", (unsigned long long)r.rsp);
	FUZZ_ASSERT(!r.rax && !r.rbx && !r.rcx && !r.rdx && !r.rbp && !r.r8 && !r.r9 && !r.r10 &&
			!r.r11 && !r.r12 && !r.r13 && !r.r14 && !r.r15,
		    "a register is not zero");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct guest_mem m;
	uint64_t mem_size = fuzz_u64(&in), tsc = fuzz_u64(&in), raw_end = fuzz_u64(&in);
	unsigned ncpus = (unsigned)fuzz_take(&in, 4);
	uint8_t mode = fuzz_u8(&in);
	uint16_t pick = (uint16_t)fuzz_take(&in, 2);
	char *cmdline;

	if (!low) {
		low = malloc(KESTREL_LOW_RESERVED);
		memset(canary, CANARY, PAGE);
	}
	/* The rest of the input is the command line (it may hold NULs: the
	 * string ends at the first one, as a C string given by a caller would). */
	cmdline = malloc(in.left + 1);
	memcpy(cmdline, in.p, in.left);
	cmdline[in.left] = '\0';

	/* Mostly realistic sizes, sometimes any 64-bit value. Small RAM (up
	 * to 8 GiB) is the common case: a run with the largest page tables
	 * writes half a MiB, and would slow every other input down. */
	if (!(mode & 1))
		mem_size &= mode & 4 ? (1ull << 38) - 1 : (1ull << 33) - 1;
	guest_mem_layout(&m, mem_size);
	check_layout(&m, mem_size);
	check_boot_info(&m, ncpus, tsc, cmdline);
	check_map_end(guest_mem_end(&m));
	check_map_end(raw_end);
	/* What kestrel_vm_create passes, or any value at all. */
	check_tables(mode & 2 ? raw_end : x86_map_end(guest_mem_end(&m)), pick);
	check_start_regs(raw_end, m.r[0].size, ncpus);
	free(cmdline);
	return 0;
}
