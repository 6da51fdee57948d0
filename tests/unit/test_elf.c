/* test_elf.c - unit tests for elf_load: a valid image, every refusal in the contract, and a
 * corruption fuzz loop. */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "load/elf.h"
#include "tap.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

/* The test image: ehdr, phdrs, then one 4 KiB file page per segment. */
#define RAM_SIZE (8 * MIB)
#define SEG_BASE 0x200000ull /* segment i at SEG_BASE + i * SEG_STRIDE */
#define SEG_STRIDE 0x10000ull
#define SEG_FILESZ 0x100ull
#define SEG_MEMSZ 0x2000ull /* so each segment has a bss tail */
#define FILE_PAGE 0x1000ull
#define ENTRY_OFF 0x10ull
#define MAX_IMG (80 * FILE_PAGE)
#define SENTINEL 0xa5
#define STACKS_SIZE (4ull * KESTREL_STACK_SIZE)

static uint8_t img[MAX_IMG];
static struct guest_mem mem;
static uint8_t *ram;
static const struct load_reserved resv[] = {
    {0, KESTREL_LOW_RESERVED, "kestrel's boot data"},
    {RAM_SIZE - STACKS_SIZE, STACKS_SIZE, "vCPU stacks"},
};
static unsigned nresv = 2;

static Elf64_Ehdr *eh(void)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *ph(unsigned i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

/* The byte segment `seg` holds at file offset `j` of its data. */
static uint8_t seg_byte(unsigned seg, uint64_t j)
{
	return (uint8_t)(seg * 37 + j * 7 + 1);
}

/*
 * make_elf - a valid minimal ELF64 x86-64 ET_EXEC with `nload` PT_LOADs in
 * `buf`: segment 0 is R+X and holds the entry point, the rest are R+W; each
 * has SEG_FILESZ bytes from the file and a zeroed tail up to SEG_MEMSZ.
 * Returns the file size.
 */
static size_t make_elf(uint8_t *buf, unsigned nload, uint64_t base)
{
	size_t len = FILE_PAGE * (nload + 1);
	Elf64_Ehdr e = {
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = base + ENTRY_OFF,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = (uint16_t)nload,
	};

	memset(buf, 0, len);
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	e.e_ident[EI_OSABI] = ELFOSABI_SYSV;
	memcpy(buf, &e, sizeof(e));
	for (unsigned i = 0; i < nload; i++) {
		Elf64_Phdr p = {
		    .p_type = PT_LOAD,
		    .p_flags = i == 0 ? PF_R | PF_X : PF_R | PF_W,
		    .p_offset = FILE_PAGE * (i + 1),
		    .p_vaddr = base + i * SEG_STRIDE,
		    .p_paddr = base + i * SEG_STRIDE,
		    .p_filesz = SEG_FILESZ,
		    .p_memsz = SEG_MEMSZ,
		    .p_align = FILE_PAGE,
		};

		memcpy(buf + sizeof(e) + i * sizeof(p), &p, sizeof(p));
		for (uint64_t j = 0; j < SEG_FILESZ; j++)
			buf[p.p_offset + j] = seg_byte(i, j);
	}
	return len;
}

static size_t fresh(unsigned nload)
{
	return make_elf(img, nload, SEG_BASE);
}

static void ram_reset(void)
{
	memset(ram, SENTINEL, RAM_SIZE);
}

/* 1 if every byte of [off, off + n) of RAM is still the sentinel. */
static int ram_untouched(uint64_t off, uint64_t n)
{
	for (uint64_t i = off; i < off + n; i++)
		if (ram[i] != SENTINEL)
			return 0;
	return 1;
}

/* Segment i (as made by make_elf at SEG_BASE) is in RAM with its bss zeroed. */
static int seg_loaded(unsigned i)
{
	const uint8_t *p = ram + SEG_BASE + i * SEG_STRIDE;

	for (uint64_t j = 0; j < SEG_FILESZ; j++)
		if (p[j] != seg_byte(i, j))
			return 0;
	for (uint64_t j = SEG_FILESZ; j < SEG_MEMSZ; j++)
		if (p[j] != 0)
			return 0;
	return p[SEG_MEMSZ] == SENTINEL && p[-1] == SENTINEL;
}

/* Expect -ENOEXEC, a reason containing `needle`, no write to RAM, *entry untouched. */
static void refuse_on(const struct guest_mem *m, int check_ram, const uint8_t *image, size_t len,
		      const char *needle, const char *name)
{
	char why[256];
	gpa_t entry = 0x1234;
	int rc;

	memset(why, 'Z', sizeof(why));
	if (check_ram)
		ram_reset();
	rc = elf_load(image, len, m, resv, nresv, &entry, why, sizeof(why));
	TAP_EQ_INT(rc, -ENOEXEC, "%s: refused with -ENOEXEC", name);
	if (!TAP_OK(memchr(why, '\0', sizeof(why)) != NULL, "%s: reason is NUL-terminated", name))
		return;
	tap_diag("  reason: %s", why);
	TAP_STR_CONTAINS(why, needle, "%s: reason says why", name);
	if (check_ram)
		TAP_OK(ram_untouched(0, RAM_SIZE), "%s: nothing written to guest RAM", name);
	TAP_EQ_U64(entry, 0x1234, "%s: *entry untouched", name);
}

static void refuse(size_t len, const char *needle, const char *name)
{
	refuse_on(&mem, 1, img, len, needle, name);
}

static void test_valid(void)
{
	char why[256] = "junk";
	gpa_t entry = 0;
	size_t len = fresh(3);
	uint8_t *odd;
	int rc;

	ram_reset();
	rc = elf_load(img, len, &mem, resv, nresv, &entry, why, sizeof(why));
	TAP_EQ_INT(rc, 0, "valid 3-segment image loads");
	TAP_EQ_STR(why, "", "no reason on success");
	TAP_EQ_U64(entry, SEG_BASE + ENTRY_OFF, "entry point returned");
	for (unsigned i = 0; i < 3; i++)
		TAP_OK(seg_loaded(i),
		       "segment %d: file bytes copied, bss zeroed, neighbours untouched", i);
	TAP_OK(ram_untouched(0, SEG_BASE) &&
		   ram_untouched(SEG_BASE + 3 * SEG_STRIDE, RAM_SIZE - SEG_BASE - 3 * SEG_STRIDE),
	       "nothing written outside the segments");

	/* The loader copies headers out rather than casting: an unaligned image works. */
	odd = malloc(len + 1);
	if (TAP_OK(odd != NULL, "allocate an unaligned copy")) {
		memcpy(odd + 1, img, len);
		ram_reset();
		entry = 0;
		rc = elf_load(odd + 1, len, &mem, resv, nresv, &entry, why, sizeof(why));
		TAP_EQ_INT(rc, 0, "unaligned image loads");
		TAP_OK(seg_loaded(0) && seg_loaded(2) && entry == SEG_BASE + ENTRY_OFF,
		       "unaligned image: same result");
		free(odd);
	}

	/* Neither `why` nor its length is required. */
	ram_reset();
	TAP_EQ_INT(elf_load(img, len, &mem, resv, nresv, &entry, NULL, 0), 0,
		   "loads with why = NULL");
	TAP_EQ_INT(elf_load(img, 3, &mem, resv, nresv, &entry, NULL, 0), -ENOEXEC,
		   "refuses with why = NULL, whylen 0 (no crash)");
	memset(why, 'Z', sizeof(why));
	TAP_EQ_INT(elf_load(img, 0, &mem, resv, nresv, &entry, why, 6), -ENOEXEC,
		   "refuses with a tiny why");
	TAP_OK(why[5] == '\0' && why[6] == 'Z', "tiny why: truncated, NUL-terminated, no overrun");

	/* Segments that touch without overlapping are fine. */
	len = fresh(2);
	ph(1)->p_vaddr = ph(1)->p_paddr = SEG_BASE + SEG_MEMSZ;
	ram_reset();
	TAP_EQ_INT(elf_load(img, len, &mem, resv, nresv, &entry, why, sizeof(why)), 0,
		   "adjacent segments [a, b) [b, c) load");

	/* Entry in the executable segment's bss tail is inside it. */
	len = fresh(2);
	eh()->e_entry = SEG_BASE + SEG_MEMSZ - 1;
	TAP_EQ_INT(elf_load(img, len, &mem, resv, nresv, &entry, why, sizeof(why)), 0,
		   "entry at the last byte of the executable segment is accepted");

	/* Non-PT_LOAD headers (a note, GNU_STACK) and an empty PT_LOAD are ignored. */
	len = fresh(4);
	ph(1)->p_type = PT_NOTE;
	ph(2)->p_type = PT_GNU_STACK;
	ph(2)->p_offset = 0;
	ph(2)->p_filesz = 0;
	ph(2)->p_memsz = 0;
	ph(3)->p_memsz = 0;
	ph(3)->p_filesz = 0;
	ph(3)->p_paddr = 0; /* would be reserved, but it occupies nothing */
	ram_reset();
	TAP_EQ_INT(elf_load(img, len, &mem, resv, nresv, &entry, why, sizeof(why)), 0,
		   "PT_NOTE, PT_GNU_STACK and a zero-size PT_LOAD are ignored");
	TAP_OK(seg_loaded(0) && ram_untouched(SEG_BASE + SEG_STRIDE, 3 * SEG_STRIDE),
	       "only the real PT_LOAD was copied");

	/* A segment with p_filesz == 0 is pure bss. */
	len = fresh(2);
	ph(1)->p_filesz = 0;
	ram_reset();
	TAP_EQ_INT(elf_load(img, len, &mem, resv, nresv, &entry, why, sizeof(why)), 0,
		   "all-bss segment loads");
	TAP_OK(ram[SEG_BASE + SEG_STRIDE] == 0 && ram[SEG_BASE + SEG_STRIDE + SEG_MEMSZ - 1] == 0 &&
		   ram[SEG_BASE + SEG_STRIDE + SEG_MEMSZ] == SENTINEL,
	       "all-bss segment zeroed exactly");

	/* 64 PT_LOADs is the most kestrel takes. */
	len = fresh(64);
	ram_reset();
	TAP_EQ_INT(elf_load(img, len, &mem, resv, nresv, &entry, why, sizeof(why)), 0,
		   "64 PT_LOADs load");
	TAP_OK(seg_loaded(63), "64 PT_LOADs: last one copied");
}

static void test_refusals(void)
{
	size_t len;

	/* File and ELF header. */
	fresh(1);
	refuse(0, "empty", "empty file");
	refuse(3, "too short", "3-byte file");
	refuse(sizeof(Elf64_Ehdr) - 1, "too short", "file shorter than the ELF header");
	len = fresh(1);
	img[EI_MAG1] = 'X';
	refuse(len, "bad magic", "bad magic");
	memcpy(img, "#!/bin/sh\necho hi\n", 18);
	refuse(18, "bad magic", "a shell script");
	len = fresh(1);
	img[EI_CLASS] = ELFCLASS32;
	refuse(len, "ELFCLASS32", "32-bit ELF");
	len = fresh(1);
	img[EI_CLASS] = ELFCLASSNONE;
	refuse(len, "class", "ELFCLASSNONE");
	len = fresh(1);
	img[EI_DATA] = ELFDATA2MSB;
	refuse(len, "big-endian", "big-endian ELF");
	len = fresh(1);
	img[EI_DATA] = 7;
	refuse(len, "data encoding", "unknown data encoding");
	len = fresh(1);
	img[EI_VERSION] = 0;
	refuse(len, "version", "EI_VERSION 0");
	len = fresh(1);
	eh()->e_machine = EM_386;
	refuse(len, "x86-64", "EM_386");
	len = fresh(1);
	eh()->e_machine = EM_AARCH64;
	refuse(len, "x86-64", "EM_AARCH64");
	len = fresh(1);
	eh()->e_type = ET_DYN;
	refuse(len, "ET_DYN", "position-independent executable");
	len = fresh(1);
	eh()->e_type = ET_REL;
	refuse(len, "ET_EXEC", "relocatable object");
	len = fresh(1);
	eh()->e_type = ET_CORE;
	refuse(len, "ET_EXEC", "core file");

	/* Program header table. */
	len = fresh(1);
	eh()->e_phentsize = sizeof(Elf64_Phdr) - 24; /* an Elf32_Phdr's size */
	refuse(len, "e_phentsize", "e_phentsize 32");
	len = fresh(1);
	eh()->e_phentsize = sizeof(Elf64_Phdr) + 8;
	refuse(len, "e_phentsize", "e_phentsize 64");
	len = fresh(1);
	eh()->e_phoff = len - 10;
	refuse(len, "runs past the end", "phdr table past EOF");
	len = fresh(1);
	refuse(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) - 1, "runs past the end",
	       "file cut inside the phdr table");
	len = fresh(1);
	eh()->e_phoff = UINT64_MAX - 8;
	refuse(len, "wraps", "e_phoff + e_phnum * e_phentsize overflows");
	len = fresh(1);
	eh()->e_phoff = 1ull << 63;
	refuse(len, "runs past the end", "e_phoff 2^63");
	len = fresh(1);
	eh()->e_phnum = 0xfffe;
	refuse(len, "runs past the end", "e_phnum 0xfffe");
	len = fresh(1);
	eh()->e_phnum = PN_XNUM;
	refuse(len, "PN_XNUM", "e_phnum PN_XNUM");

	/* Segment file ranges. */
	len = fresh(2);
	ph(1)->p_offset = len - 0x10;
	refuse(len, "segment 1: file range", "p_offset + p_filesz past EOF");
	len = fresh(2);
	ph(1)->p_filesz = len; /* and memsz to match, so only the file check fails */
	ph(1)->p_memsz = len;
	refuse(len, "runs past the end of the", "p_filesz larger than the file");
	len = fresh(2);
	ph(1)->p_offset = UINT64_MAX - 0x10;
	refuse(len, "wraps", "p_offset huge (wraps)");
	len = fresh(2);
	ph(1)->p_filesz = SEG_MEMSZ + 1;
	refuse(len, "exceeds p_memsz", "p_filesz > p_memsz");

	/* Segment placement. */
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = 0x80000;
	refuse(len, "overlaps kestrel's boot data", "p_paddr in the low reserved area");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = KESTREL_LOW_RESERVED - 0x1000;
	refuse(len, "overlaps kestrel's boot data", "segment straddling the 1 MiB line");
	nresv = 0;
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = 0x3000;
	refuse(len, "reserves", "low area refused even with no reserved list");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = RAM_SIZE - 0x1000;
	refuse(len, "not inside guest RAM", "segment crossing the end of RAM");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = RAM_SIZE;
	refuse(len, "not inside guest RAM", "segment just past the end of RAM");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = 0xfee00000;
	refuse(len, "not inside guest RAM", "segment on the LAPIC");
	len = fresh(2);
	ph(1)->p_memsz = 1ull << 40;
	refuse(len, "not inside guest RAM", "p_memsz of 1 TiB");
	nresv = 2;
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = RAM_SIZE - STACKS_SIZE - 0x1000;
	refuse(len, "overlaps vCPU stacks", "segment running into the vCPU stacks");
	len = fresh(2);
	ph(1)->p_memsz = UINT64_MAX - 0x1000;
	refuse(len, "wraps", "huge p_memsz (paddr + memsz wraps 2^64)");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = UINT64_MAX - 0xfff;
	refuse(len, "wraps", "p_paddr at the top of the address space");
	len = fresh(2);
	ph(1)->p_vaddr = 0xffffffff80000000ull;
	refuse(len, "identity", "p_vaddr != p_paddr");
	len = fresh(3);
	ph(2)->p_paddr = ph(2)->p_vaddr = SEG_BASE + 0x1000;
	refuse(len, "overlap", "segments 0 and 2 overlap");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = SEG_BASE;
	refuse(len, "overlap", "two segments at the same address");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = SEG_BASE - 0x1000; /* its tail covers segment 0's head */
	refuse(len, "overlap", "segment 1's bss over segment 0");

	/* Whole-image checks. */
	len = fresh(2);
	ph(0)->p_type = PT_NOTE;
	ph(1)->p_type = PT_DYNAMIC;
	refuse(len, "no PT_LOAD", "no PT_LOAD");
	len = fresh(1);
	eh()->e_phnum = 0;
	refuse(len, "no PT_LOAD", "e_phnum 0");
	len = fresh(3);
	ph(1)->p_type = PT_INTERP;
	refuse(len, "PT_INTERP", "dynamically linked (PT_INTERP)");
	len = fresh(65);
	refuse(len, "more than 64", "65 PT_LOADs");
	len = fresh(2);
	eh()->e_entry = SEG_BASE + SEG_STRIDE + ENTRY_OFF;
	refuse(len, "entry point 0x210010 is outside every executable segment",
	       "entry in a non-executable segment");
	len = fresh(2);
	eh()->e_entry = 0;
	refuse(len, "outside every executable segment", "entry 0");
	len = fresh(2);
	eh()->e_entry = SEG_BASE + SEG_MEMSZ;
	refuse(len, "outside every executable segment", "entry one past the executable segment");
	len = fresh(2);
	ph(0)->p_flags = PF_R;
	refuse(len, "outside every executable segment", "no executable segment at all");
}

/* A guest with the 3-4 GiB hole: region 0 inaccessible (any write crashes), region 1 writable. */
static void test_high(void)
{
	struct guest_mem big;
	char why[256];
	gpa_t entry = 0;
	size_t len;
	uint8_t *h1;

	guest_mem_layout(&big, KESTREL_HOLE_START + GIB);
	big.r[0].host = mmap(NULL, big.r[0].size, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	big.r[1].host = mmap(NULL, big.r[1].size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!TAP_OK(big.r[0].host != MAP_FAILED && big.r[1].host != MAP_FAILED,
		    "map a 4 GiB guest (3 GiB + hole + 1 GiB)"))
		return;
	h1 = big.r[1].host;

	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = KESTREL_HOLE_START + 0x10000;
	refuse_on(&big, 0, img, len, "not inside guest RAM", "segment in the 3-4 GiB hole");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = KESTREL_HOLE_START - 0x1000;
	refuse_on(&big, 0, img, len, "not inside guest RAM",
		  "segment running from RAM into the hole");
	len = fresh(2);
	ph(1)->p_paddr = ph(1)->p_vaddr = KESTREL_HIGH_START - 0x1000;
	refuse_on(&big, 0, img, len, "[0, 0xc0000000) and [0x100000000, 0x140000000)",
		  "segment running from the hole into high RAM");

	/* An image linked above 4 GiB loads into region 1. */
	len = make_elf(img, 2, KESTREL_HIGH_START + 0x100000);
	TAP_EQ_INT(elf_load(img, len, &big, resv, 1, &entry, why, sizeof(why)), 0,
		   "image linked at 4 GiB + 1 MiB loads");
	TAP_EQ_U64(entry, KESTREL_HIGH_START + 0x100000 + ENTRY_OFF, "high image: entry");
	TAP_OK(h1[0x100000] == seg_byte(0, 0) && h1[0x100000 + SEG_STRIDE + 1] == seg_byte(1, 1) &&
		   h1[0x100000 + SEG_FILESZ] == 0,
	       "high image: bytes landed in region 1");
	munmap(big.r[0].host, big.r[0].size);
	munmap(big.r[1].host, big.r[1].size);
}

/* xorshift64*: a fixed, libc-independent random sequence. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * Corrupt copies of a valid image, mostly in the headers, sometimes with
 * "interesting" values and truncation. Each copy goes into an exactly-sized
 * heap buffer so ASan (make SAN=1) catches any read past the image. The guest
 * is a small one of its own so that RAM can be compared after every refusal.
 */
static void test_fuzz(void)
{
	enum { ITERS = 4000 };
	const uint64_t fram_size = 2 * MIB, fbase = KESTREL_LOW_RESERVED;
	const struct load_reserved fresv[] = {
	    {0, KESTREL_LOW_RESERVED, "kestrel's boot data"},
	    {fram_size - STACKS_SIZE, STACKS_SIZE, "vCPU stacks"},
	};
	const size_t hdr = sizeof(Elf64_Ehdr) + 3 * sizeof(Elf64_Phdr);
	static const uint64_t interesting[] = {
	    0,
	    1,
	    0x38,
	    0x40,
	    0xfff,
	    0x1000,
	    0x7fffffff,
	    0x80000000,
	    0xffffffff,
	    0x100000000ull,
	    KESTREL_LOW_RESERVED,
	    KESTREL_LOW_RESERVED + 0x10,
	    2 * MIB,
	    2 * MIB - 1,
	    KESTREL_HOLE_START,
	    UINT64_MAX,
	    UINT64_MAX - 0xfff,
	    1ull << 63,
	    0x4000,
	    0x4001,
	};
	const size_t ninteresting = sizeof(interesting) / sizeof(interesting[0]);
	unsigned bad_rc = 0, bad_why = 0, bad_ram = 0, bad_entry = 0, loaded = 0;
	size_t base_len = make_elf(img, 3, fbase);
	uint8_t *work = malloc(base_len);
	uint8_t *fram = malloc(fram_size), *pristine = malloc(fram_size);
	struct guest_mem fmem;
	char why[160];

	if (!TAP_OK(work && fram && pristine, "fuzz: allocate"))
		goto out;
	guest_mem_layout(&fmem, fram_size);
	fmem.r[0].host = fram;
	memset(pristine, SENTINEL, fram_size);
	memset(fram, SENTINEL, fram_size);
	TAP_EQ_INT(elf_load(img, base_len, &fmem, fresv, 2, &(gpa_t){0}, why, sizeof(why)), 0,
		   "fuzz: the uncorrupted image loads");
	memset(fram, SENTINEL, fram_size);

	for (unsigned it = 0; it < ITERS; it++) {
		size_t len = base_len;
		unsigned nmut = 1 + (unsigned)(rng() % 6);
		uint8_t *copy;
		gpa_t entry = 0;
		int rc;

		memcpy(work, img, base_len);
		for (unsigned k = 0; k < nmut; k++) {
			uint64_t r = rng();

			switch (r % 8) {
			case 0:
			case 1:
			case 2: /* flip a bit in the headers */
				work[(r >> 8) % hdr] ^= (uint8_t)(1u << ((r >> 40) % 8));
				break;
			case 3: /* random header byte */
				work[(r >> 8) % hdr] = (uint8_t)(r >> 48);
				break;
			case 4: /* interesting 64-bit field in the ehdr or a phdr */
				put_le(work + ((r >> 8) % (hdr / 8)) * 8,
				       interesting[(r >> 32) % ninteresting], 8);
				break;
			case 5: /* interesting 16-bit field in the ehdr (e_phnum, e_phentsize...) */
				put_le(work + ((r >> 8) % (sizeof(Elf64_Ehdr) / 2)) * 2,
				       interesting[(r >> 32) % ninteresting], 2);
				break;
			case 6: /* any byte in the file */
				work[(r >> 8) % base_len] = (uint8_t)(r >> 48);
				break;
			default: /* truncate */
				len = (size_t)((r >> 8) % (len + 1));
				break;
			}
		}

		copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, work, len);
		memset(why, 'Z', sizeof(why));
		rc = elf_load(copy, len, &fmem, fresv, 2, &entry, why, sizeof(why));
		free(copy);

		if (rc == -ENOEXEC) {
			if (!memchr(why, '\0', sizeof(why)) || why[0] == '\0') {
				if (bad_why++ == 0)
					tap_diag("iteration %u: no reason given", it);
			}
			if (memcmp(fram, pristine, fram_size) != 0) {
				if (bad_ram++ == 0)
					tap_diag(
					    "iteration %u: RAM written by a refused image (%s)", it,
					    why);
				memset(fram, SENTINEL, fram_size);
			}
		} else if (rc == 0) {
			loaded++;
			if (!guest_mem_ptr(&fmem, entry, 1) || entry < KESTREL_LOW_RESERVED) {
				if (bad_entry++ == 0)
					tap_diag("iteration %u: accepted entry %#" PRIx64, it,
						 entry);
			}
			memset(fram, SENTINEL, fram_size);
		} else if (bad_rc++ == 0) {
			tap_diag("iteration %u: rc %d", it, rc);
		}
	}
	tap_diag("fuzz: %u corrupted images, %u accepted, %u refused", ITERS, loaded,
		 ITERS - loaded);
	TAP_EQ_U64(bad_rc, 0, "fuzz: rc is always 0 or -ENOEXEC");
	TAP_EQ_U64(bad_why, 0, "fuzz: every refusal has a NUL-terminated reason");
	TAP_EQ_U64(bad_ram, 0, "fuzz: refused images never write guest RAM");
	TAP_EQ_U64(bad_entry, 0, "fuzz: accepted images have their entry in RAM above 1 MiB");
	TAP_OK(loaded > 0 && loaded < ITERS, "fuzz: exercised both acceptance and refusal");
out:
	free(work);
	free(fram);
	free(pristine);
}

int main(void)
{
	guest_mem_layout(&mem, RAM_SIZE);
	ram = malloc(RAM_SIZE);
	if (!ram) {
		TAP_OK(0, "allocate guest RAM");
		return tap_done();
	}
	mem.r[0].host = ram;

	test_valid();
	test_refusals();
	test_high();
	test_fuzz();
	free(ram);
	return tap_done();
}
