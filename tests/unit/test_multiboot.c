/* test_multiboot.c - unit tests for the multiboot v1 loader: ELF32 and a.out-kludge images, the
 * info block, every refusal. */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "load/multiboot.h"
#include "tap.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define RAM_SIZE (16 * MIB)
#define HIGH_SIZE 0x10000ull
#define PAGE 0x1000ull
#define SENTINEL 0xa5
#define MAX_IMG 0x10000u
#define HDR_OFF 0x200u /* where make_elf32 puts the multiboot header */

static uint8_t img[MAX_IMG];
static struct guest_mem mem;  /* region 0 only */
static struct guest_mem mem2; /* region 0 and a small region at 4 GiB */
static uint8_t *ram, *high;
static uint8_t mod_a[5000], mod_b[1];

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t rd32(gpa_t gpa)
{
	uint32_t v;

	memcpy(&v, ram + gpa, 4);
	return v;
}

/* A multiboot header at img + off; addr != NULL adds the five address fields (and flag 16). */
static void put_header(uint8_t *buf, size_t off, uint32_t flags, const uint32_t *addr)
{
	if (addr)
		flags |= MULTIBOOT_AOUT_KLUDGE;
	put32(buf + off, MULTIBOOT_HEADER_MAGIC);
	put32(buf + off + 4, flags);
	put32(buf + off + 8, (uint32_t) - (MULTIBOOT_HEADER_MAGIC + flags));
	for (unsigned i = 0; addr && i < 5; i++)
		put32(buf + off + 12 + 4 * i, addr[i]);
}

static uint8_t file_byte(uint64_t j)
{
	return (uint8_t)(j * 13 + 7);
}

/*
 * make_aout - a flat image whose header (at file offset `hoff`) says: load
 * the whole file at `load`, bss of `bss` bytes after it, entry at load + 0x300.
 */
static size_t make_aout(size_t len, size_t hoff, uint32_t load, uint32_t bss)
{
	uint32_t addr[5] = {load + (uint32_t)hoff, load, load + (uint32_t)len,
			    bss ? load + (uint32_t)len + bss : 0, load + 0x300};

	for (size_t j = 0; j < len; j++)
		img[j] = file_byte(j);
	put_header(img, hoff, MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO, addr);
	return len;
}

struct seg {
	uint32_t vaddr, paddr, filesz, memsz;
};

/* make_elf32 - an ELF32 i386 executable with `n` PT_LOADs; segment i's file data at 0x1000 * (i +
 * 1). */
static size_t make_elf32(const struct seg *s, unsigned n, uint32_t entry)
{
	size_t len = PAGE * (n + 1);
	Elf32_Ehdr e = {
	    .e_type = ET_EXEC,
	    .e_machine = EM_386,
	    .e_version = EV_CURRENT,
	    .e_entry = entry,
	    .e_phoff = sizeof(Elf32_Ehdr),
	    .e_ehsize = sizeof(Elf32_Ehdr),
	    .e_phentsize = sizeof(Elf32_Phdr),
	    .e_phnum = (uint16_t)n,
	};

	memset(img, 0, len);
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS32;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &e, sizeof(e));
	for (unsigned i = 0; i < n; i++) {
		Elf32_Phdr p = {
		    .p_type = PT_LOAD,
		    .p_offset = (uint32_t)(PAGE * (i + 1)),
		    .p_vaddr = s[i].vaddr,
		    .p_paddr = s[i].paddr,
		    .p_filesz = s[i].filesz,
		    .p_memsz = s[i].memsz,
		    .p_flags = PF_R | PF_X,
		    .p_align = PAGE,
		};

		memcpy(img + sizeof(e) + i * sizeof(p), &p, sizeof(p));
		for (uint32_t j = 0; j < s[i].filesz && j < PAGE; j++)
			img[p.p_offset + j] = file_byte(j + i);
	}
	put_header(img, HDR_OFF, MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO, NULL);
	return len;
}

static Elf32_Phdr *ph(unsigned i)
{
	return (Elf32_Phdr *)(img + sizeof(Elf32_Ehdr)) + i;
}

static const struct seg two_segs[] = {
    {0x100000, 0x100000, 0x800, 0x800},	 /* text */
    {0x103000, 0x103000, 0x100, 0x5000}, /* data + bss */
};

static void ram_reset(void)
{
	memset(ram, SENTINEL, RAM_SIZE);
	memset(high, SENTINEL, HIGH_SIZE);
}

static int ram_untouched(void)
{
	for (uint64_t i = 0; i < RAM_SIZE; i++)
		if (ram[i] != SENTINEL)
			return 0;
	for (uint64_t i = 0; i < HIGH_SIZE; i++)
		if (high[i] != SENTINEL)
			return 0;
	return 1;
}

static struct boot_input input(size_t len)
{
	return (struct boot_input){
	    .image = img, .len = len, .image_name = "kernel.elf", .cmdline = "", .ncpus = 1};
}

/* Expect `err`, a reason containing `needle`, nothing written to RAM, no claims. */
static void refuse_in(const struct boot_input *in, const struct guest_mem *m, int err,
		      const char *needle, const char *name)
{
	struct boot_plan plan;
	char why[512];
	int rc;

	memset(why, 'Z', sizeof(why));
	ram_reset();
	rc = multiboot_load(in, m, &plan, why, sizeof(why));
	TAP_EQ_INT(rc, err, "%s: refused with the right errno", name);
	if (!TAP_OK(memchr(why, '\0', sizeof(why)) != NULL, "%s: reason is NUL-terminated", name))
		return;
	tap_diag("  reason: %s", why);
	TAP_STR_CONTAINS(why, needle, "%s: reason says why", name);
	TAP_OK(ram_untouched(), "%s: nothing written to guest RAM", name);
	TAP_EQ_U64(plan.nclaims, 0, "%s: no claims left in the plan", name);
}

static void refuse(size_t len, int err, const char *needle, const char *name)
{
	struct boot_input in = input(len);

	refuse_in(&in, &mem, err, needle, name);
}

/* Load `in`, expecting success. */
static int load_ok(const struct boot_input *in, const struct guest_mem *m, struct boot_plan *plan,
		   const char *name)
{
	char why[512] = "junk";
	int rc;

	ram_reset();
	rc = multiboot_load(in, m, plan, why, sizeof(why));
	if (!TAP_EQ_INT(rc, 0, "%s: loads", name)) {
		tap_diag("  reason: %s", why);
		return 0;
	}
	TAP_EQ_STR(why, "", "%s: no reason on success", name);
	return 1;
}

static const struct boot_claim *find_claim(const struct boot_plan *p, const char *what,
					   unsigned nth)
{
	for (unsigned i = 0; i < p->nclaims; i++)
		if (strcmp(p->claims[i].what, what) == 0 && nth-- == 0)
			return &p->claims[i];
	return NULL;
}

/* The claims are pairwise disjoint, none touches [0x9fc00, 1 MiB), all lie in RAM. */
static void check_claims(const struct boot_plan *p, const struct guest_mem *m, const char *name)
{
	int ok = 1;

	for (unsigned i = 0; i < p->nclaims; i++) {
		const struct boot_claim *a = &p->claims[i];

		if (a->start < MULTIBOOT_HIGH_GPA && a->start + a->size > MULTIBOOT_EBDA_GPA)
			ok = 0;
		if (!guest_mem_ptr(m, a->start, a->size))
			ok = 0;
		for (unsigned j = 0; j < i; j++) {
			const struct boot_claim *c = &p->claims[j];
			if (a->size && c->size && a->start < c->start + c->size &&
			    c->start < a->start + a->size)
				ok = 0;
		}
	}
	TAP_OK(ok, "%s: claims are disjoint, in RAM, clear of the BIOS window", name);
}

static void test_recognise(void)
{
	size_t len = make_elf32(two_segs, 2, 0x100000);

	TAP_OK(multiboot_recognise(img, len), "recognise: ELF32 with a header at 0x200");
	TAP_OK(!multiboot_recognise(NULL, 100), "recognise: NULL image");
	TAP_OK(!multiboot_recognise(img, HDR_OFF + 8), "recognise: header cut by the file end");
	img[HDR_OFF + 8] ^= 1;
	TAP_OK(!multiboot_recognise(img, len), "recognise: bad checksum");
	memset(img, 0, sizeof(img));
	put_header(img, MULTIBOOT_SEARCH - 12, 0, NULL);
	TAP_OK(multiboot_recognise(img, sizeof(img)), "recognise: header ending at byte 8192");
	memset(img, 0, sizeof(img));
	put_header(img, MULTIBOOT_SEARCH - 8, 0, NULL);
	TAP_OK(!multiboot_recognise(img, sizeof(img)), "recognise: header crossing byte 8192");
	memset(img, 0, sizeof(img));
	put_header(img, MULTIBOOT_SEARCH, 0, NULL);
	TAP_OK(!multiboot_recognise(img, sizeof(img)), "recognise: header at 8 KiB is not found");
	memset(img, 0, sizeof(img));
	put_header(img, 0x102, 0, NULL);
	TAP_OK(!multiboot_recognise(img, sizeof(img)), "recognise: unaligned header");
}

/* The info block at plan->arg: fields, strings, modules, memory map. */
static void check_info(const struct boot_plan *p, const struct guest_mem *m,
		       const struct boot_input *in, const char *cmdline, const char *name)
{
	struct multiboot_info mi;
	gpa_t info = p->arg;
	uint64_t r0_end = m->r[0].size;

	TAP_OK(info >= MULTIBOOT_HIGH_GPA && info % PAGE == 0,
	       "%s: info block page-aligned above 1 MiB", name);
	memcpy(&mi, ram + info, sizeof(mi));
	TAP_EQ_U64(mi.flags,
		   MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
		       MULTIBOOT_INFO_MMAP | MULTIBOOT_INFO_BOOT_LOADER_NAME,
		   "%s: info flags", name);
	TAP_EQ_U64(mi.mem_lower, 639, "%s: mem_lower", name);
	TAP_EQ_U64(mi.mem_upper, (r0_end - MIB) >> 10, "%s: mem_upper = KiB from 1 MiB to the hole",
		   name);
	TAP_EQ_U64(mi.vbe_mode, 0, "%s: no VBE fields", name);
	TAP_EQ_U64(mi.framebuffer_addr, 0, "%s: no framebuffer", name);
	TAP_EQ_STR((const char *)ram + mi.cmdline, cmdline, "%s: command line", name);
	TAP_EQ_STR((const char *)ram + mi.boot_loader_name, "kestrel", "%s: boot loader name",
		   name);
	TAP_EQ_U64(mi.mods_count, in->nmodules, "%s: mods_count", name);

	for (unsigned i = 0; i < in->nmodules && i < mi.mods_count; i++) {
		struct multiboot_mod_entry me;
		const struct boot_module *bm = &in->modules[i];
		int clear = 1;

		memcpy(&me, ram + mi.mods_addr + 16 * i, sizeof(me));
		TAP_EQ_U64(me.mod_start % PAGE, 0, "%s: module %u page-aligned", name, i + 1);
		TAP_EQ_U64(me.mod_end - me.mod_start, bm->len, "%s: module %u length", name, i + 1);
		TAP_OK(me.mod_end <= r0_end, "%s: module %u inside region 0", name, i + 1);
		TAP_OK(memcmp(ram + me.mod_start, bm->data, bm->len) == 0, "%s: module %u bytes",
		       name, i + 1);
		TAP_EQ_STR((const char *)ram + me.string, bm->string ? bm->string : "",
			   "%s: module %u string", name, i + 1);
		/* never over the image, the info area or another module */
		for (unsigned c = 0; c < p->nclaims; c++) {
			const struct boot_claim *cl = &p->claims[c];
			if (strncmp(cl->what, "module ", 7) == 0 &&
			    (unsigned)atoi(cl->what + 7) == i + 1)
				continue;
			if (bm->len && me.mod_start < cl->start + cl->size &&
			    cl->start < me.mod_end)
				clear = 0;
		}
		TAP_OK(clear, "%s: module %u overlaps no other claim", name, i + 1);
		TAP_OK(me.mod_start >= info + PAGE, "%s: module %u after the info block", name,
		       i + 1);
	}

	{
		unsigned n = mi.mmap_length / 24;
		struct multiboot_mmap_entry e[4];
		int want = m->nregions == 2 ? 4 : 3;

		TAP_EQ_U64(mi.mmap_length, 24u * want, "%s: mmap_length", name);
		if (n > 4)
			n = 4;
		memcpy(e, ram + mi.mmap_addr, n * sizeof(e[0]));
		TAP_OK(n >= 3 && e[0].size == 20 && e[0].base_addr == 0 && e[0].length == 0x9fc00 &&
			   e[0].type == 1,
		       "%s: mmap [0, 0x9fc00) RAM", name);
		TAP_OK(n >= 3 && e[1].size == 20 && e[1].base_addr == 0x9fc00 &&
			   e[1].length == MIB - 0x9fc00 && e[1].type == 2,
		       "%s: mmap [0x9fc00, 1 MiB) reserved", name);
		TAP_OK(n >= 3 && e[2].size == 20 && e[2].base_addr == MIB &&
			   e[2].length == r0_end - MIB && e[2].type == 1,
		       "%s: mmap [1 MiB, end of region 0) RAM", name);
		if (want == 4)
			TAP_OK(n == 4 && e[3].size == 20 && e[3].base_addr == 4 * GIB &&
				   e[3].length == m->r[1].size && e[3].type == 1,
			       "%s: mmap high region from 4 GiB", name);
	}
}

static void check_plan(const struct boot_plan *p, gpa_t entry, const char *name)
{
	TAP_OK(p->proto == BOOT_MULTIBOOT1 && p->magic == MULTIBOOT_BOOT_MAGIC,
	       "%s: proto multiboot, magic 0x2BADB002", name);
	TAP_EQ_U64(p->entry, entry, "%s: entry", name);
	TAP_OK(p->aps_wait_sipi && !p->low_tables && p->acpi && p->pit,
	       "%s: APs wait for SIPI, no low tables, ACPI and PIT", name);
	TAP_OK(find_claim(p, "multiboot information", 0) &&
		   find_claim(p, "multiboot information", 0)->start == p->arg,
	       "%s: info area claimed at arg", name);
}

static void test_elf32(void)
{
	struct boot_plan plan;
	struct boot_input in;
	size_t len = make_elf32(two_segs, 2, 0x100010);
	int ok = 1;

	in = input(len);
	in.cmdline = "arg1 arg2";
	in.nmodules = 2;
	in.modules[0] = (struct boot_module){mod_a, sizeof(mod_a), "initrd.img root=x"};
	in.modules[1] = (struct boot_module){mod_b, sizeof(mod_b), NULL};
	if (!load_ok(&in, &mem, &plan, "elf32"))
		return;
	check_plan(&plan, 0x100010, "elf32");
	for (uint32_t j = 0; j < 0x800; j++)
		ok &= ram[0x100000 + j] == file_byte(j);
	TAP_OK(ok, "elf32: text copied to p_paddr");
	ok = ram[0x103000] == file_byte(1) && ram[0x1030ff] == file_byte(0xff + 1);
	for (uint32_t j = 0x100; j < 0x5000; j++)
		ok &= ram[0x103000 + j] == 0;
	TAP_OK(ok, "elf32: data copied, bss zeroed");
	TAP_OK(ram[0xfffff] == SENTINEL && ram[0x100800] == SENTINEL && ram[0x102fff] == SENTINEL,
	       "elf32: nothing written around the segments");
	TAP_EQ_U64(plan.arg, 0x108000, "elf32: info block page-aligned after the image");
	TAP_OK(find_claim(&plan, "kernel", 0) &&
		   find_claim(&plan, "kernel", 0)->start == 0x100000 &&
		   find_claim(&plan, "kernel", 0)->size == 0x8000,
	       "elf32: kernel claimed [1 MiB, 0x108000)");
	TAP_OK(find_claim(&plan, "module 1", 0) && find_claim(&plan, "module 2", 0),
	       "elf32: modules claimed");
	TAP_STR_CONTAINS(plan.note, "", "elf32: note is a string");
	TAP_EQ_STR(plan.note, "", "elf32: no note");
	check_claims(&plan, &mem, "elf32");
	check_info(&plan, &mem, &in, "kernel.elf arg1 arg2", "elf32");

	/* Higher half: e_entry and p_vaddr virtual, entered physically. */
	{
		struct seg hh[] = {{0xc0100000u, 0x100000, 0x800, 0x1000}};

		len = make_elf32(hh, 1, 0xc0100020u);
		in = input(len);
		if (load_ok(&in, &mem, &plan, "higher-half"))
			TAP_EQ_U64(plan.entry, 0x100020,
				   "higher-half: e_entry translated to physical");
	}

	/* No arguments: just the file name; no name: just the arguments. */
	len = make_elf32(two_segs, 2, 0x100000);
	in = input(len);
	if (load_ok(&in, &mem, &plan, "no args"))
		check_info(&plan, &mem, &in, "kernel.elf", "no args");
	in.image_name = NULL;
	in.cmdline = "only args";
	if (load_ok(&in, &mem, &plan, "no name"))
		TAP_EQ_STR((const char *)ram + rd32(plan.arg + 16), "only args",
			   "no name: cmdline");

	/* The longest command line passes. */
	{
		static char args[MULTIBOOT_CMDLINE_MAX + 8];

		memset(args, 'a', sizeof(args));
		args[MULTIBOOT_CMDLINE_MAX - 2] = '\0'; /* "k" + " " + 4094 = 4096 */
		in = input(len);
		in.image_name = "k";
		in.cmdline = args;
		if (load_ok(&in, &mem, &plan, "4096-byte cmdline"))
			TAP_EQ_U64(strlen((const char *)ram + rd32(plan.arg + 16)), 4096,
				   "4096-byte cmdline: passed whole");
		args[MULTIBOOT_CMDLINE_MAX - 2] = 'a';
		args[MULTIBOOT_CMDLINE_MAX - 1] = '\0';
		refuse_in(&in, &mem, -E2BIG, "4097 bytes (file name 1, a space, arguments 4095)",
			  "oversized cmdline");
		args[MULTIBOOT_CMDLINE_MAX - 1] = 'a'; /* 4100 bytes: the scan stops at 4097 */
		args[sizeof(args) - 1] = '\0';
		refuse_in(&in, &mem, -E2BIG, "at least", "very long cmdline");
	}

	/* Two regions: the memory map gets the high one. */
	len = make_elf32(two_segs, 2, 0x100000);
	in = input(len);
	in.nmodules = 1;
	in.modules[0] = (struct boot_module){mod_a, sizeof(mod_a), "m"};
	if (load_ok(&in, &mem2, &plan, "two regions")) {
		check_info(&plan, &mem2, &in, "kernel.elf", "two regions");
		TAP_OK(high[0] == SENTINEL, "two regions: nothing written at 4 GiB");
	}

	/* Video mode: ignored with a note. */
	len = make_elf32(two_segs, 2, 0x100000);
	put_header(img, HDR_OFF, MULTIBOOT_VIDEO_MODE | MULTIBOOT_MEMORY_INFO, NULL);
	in = input(len);
	if (load_ok(&in, &mem, &plan, "video mode"))
		TAP_STR_CONTAINS(plan.note, "video mode", "video mode: noted in the plan");

	/* Optional flags (bits 17-31) are ignored. */
	put_header(img, HDR_OFF, 0x80000000u, NULL);
	if (load_ok(&in, &mem, &plan, "optional flag 31"))
		TAP_EQ_STR(plan.note, "", "optional flag 31: no note");

	/* A bad magic-lookalike before the real header is skipped. */
	len = make_elf32(two_segs, 2, 0x100000);
	put32(img + 0x100, MULTIBOOT_HEADER_MAGIC);
	in = input(len);
	load_ok(&in, &mem, &plan, "stray magic before the header");

	/* Zero-size segments are skipped; segments that touch are fine. */
	{
		struct seg s[] = {{0x100000, 0x100000, 0x800, 0x1000},
				  {0x200000, 0x200000, 0, 0},
				  {0x101000, 0x101000, 0x10, 0x10}};
		len = make_elf32(s, 3, 0x100000);
		in = input(len);
		load_ok(&in, &mem, &plan, "touching and empty segments");
	}
}

static void test_aout(void)
{
	struct boot_plan plan;
	struct boot_input in;
	size_t len = make_aout(0x2000, 0x40, 0x200000, 0x3000);
	int ok = 1;

	in = input(len);
	in.nmodules = 1;
	in.modules[0] = (struct boot_module){mod_a, sizeof(mod_a), "mod"};
	if (load_ok(&in, &mem, &plan, "a.out")) {
		check_plan(&plan, 0x200300, "a.out");
		for (uint32_t j = 0; j < 0x2000; j++)
			ok &= ram[0x200000 + j] == img[j];
		for (uint32_t j = 0x2000; j < 0x5000; j++)
			ok &= ram[0x200000 + j] == 0;
		TAP_OK(ok && ram[0x1fffff] == SENTINEL, "a.out: file at load_addr, bss zeroed");
		TAP_EQ_U64(plan.arg, 0x205000, "a.out: info block after the bss");
		check_claims(&plan, &mem, "a.out");
		check_info(&plan, &mem, &in, "kernel.elf", "a.out");
	}

	/* header_addr - load_addr < header offset: the load starts inside the file. */
	len = make_aout(0x2000, 0x1000, 0x300000, 0);
	put_header(img, 0x1000, 0,
		   (uint32_t[]){0x300000 + 0x800, 0x300000, 0x300000 + 0x1000, 0, 0x300010});
	in = input(len);
	if (load_ok(&in, &mem, &plan, "a.out file offset")) {
		TAP_OK(ram[0x300000] == img[0x800] && ram[0x300fff] == img[0x17ff] &&
			   ram[0x2fffff] == SENTINEL,
		       "a.out file offset: file [0x800, 0x1800) at load_addr");
		TAP_EQ_U64(plan.arg, 0x301000,
			   "a.out file offset: info block right after load_end_addr");
	}

	/* Low memory is the guest's: an image at 0x8000, info above 1 MiB. */
	len = make_aout(0x1000, 0x0, 0x8000, 0x1000);
	in = input(len);
	in.nmodules = 1;
	in.modules[0] = (struct boot_module){mod_b, sizeof(mod_b), "low"};
	if (load_ok(&in, &mem, &plan, "a.out at 0x8000")) {
		TAP_EQ_U64(plan.arg, MIB, "a.out at 0x8000: info block at 1 MiB");
		TAP_OK(find_claim(&plan, "kernel", 0) &&
			   find_claim(&plan, "kernel", 0)->start == 0x8000 &&
			   find_claim(&plan, "kernel", 0)->size == 0x2000,
		       "a.out at 0x8000: kernel claimed");
		TAP_OK(ram[0x7fff] == SENTINEL && ram[0xa000] == SENTINEL && ram[0] == SENTINEL,
		       "a.out at 0x8000: rest of low memory untouched");
		check_claims(&plan, &mem, "a.out at 0x8000");
		check_info(&plan, &mem, &in, "kernel.elf", "a.out at 0x8000");
	}

	/* Page 0 is ordinary RAM. */
	len = make_aout(0x1000, 0x0, 0x0, 0);
	in = input(len);
	load_ok(&in, &mem, &plan, "a.out at 0");

	/* An ELF64 with the address fields is loaded by them. */
	len = make_aout(0x2000, 0x100, 0x400000, 0);
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = ELFCLASS64;
	in = input(len);
	if (load_ok(&in, &mem, &plan, "ELF64 with flag 16"))
		TAP_EQ_U64(plan.entry, 0x400300, "ELF64 with flag 16: entry_addr");
}

static void test_refusals(void)
{
	struct boot_input in;
	size_t len;

	/* The header. */
	len = make_elf32(two_segs, 2, 0x100000);
	img[HDR_OFF + 8] ^= 0x10;
	refuse(len, -ENOEXEC, "bad checksum", "bad checksum");
	memset(img, 0, 16);
	put32(img + 4, MULTIBOOT_HEADER_MAGIC);
	refuse(10, -ENOEXEC, "runs past the end of the 0xa-byte file", "header past the file");
	make_aout(0x1000, 0xff0, 0x200000, 0); /* 32-byte header from 0xff0, file ends at 0x1000 */
	refuse(0x1000, -ENOEXEC, "32 bytes run past the end", "address fields past the file");
	memset(img, 0, sizeof(img));
	put_header(img, MULTIBOOT_SEARCH, 0, NULL);
	refuse(sizeof(img), -ENOEXEC, "no multiboot header", "header at 8 KiB not found");
	refuse(4, -ENOEXEC, "no multiboot header", "tiny file");
	in = input(0);
	refuse_in(&in, &mem, -ENOEXEC, "empty", "empty image");
	len = make_elf32(two_segs, 2, 0x100000);
	put_header(img, HDR_OFF, MULTIBOOT_MEMORY_INFO | (1u << 3), NULL);
	refuse(len, -ENOEXEC, "require 0x8", "unknown required flag 3");
	put_header(img, HDR_OFF, 1u << 15, NULL);
	refuse(len, -ENOEXEC, "require 0x8000", "unknown required flag 15");

	/* Address fields. */
	len = make_aout(0x2000, 0x40, 0x2000000, 0); /* 32 MiB in 16 MiB of RAM */
	refuse(len, -ENOSPC, "not inside guest RAM", "load address outside RAM");
	len = make_aout(0x2000, 0x40, 0xd0000000u, 0);
	refuse(len, -ENOEXEC, "MMIO hole", "load address in the MMIO hole");
	len = make_aout(0x2000, 0x40, 0xa0000, 0);
	refuse(len, -ENOEXEC, "[0x9fc00, 0x100000)", "load address in the BIOS window");
	len = make_aout(0x2000, 0x40, 0x9e000, 0); /* ends at 0xa0000 */
	refuse(len, -ENOEXEC, "EBDA", "image running into the BIOS window");
	len = make_aout(0x2000, 0x40, 0x200000, 0);
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0x1ff000, 0, 0x200300});
	refuse(len, -ENOEXEC, "load_end_addr 0x1ff000 is below load_addr",
	       "load_end before load_addr");
	put_header(img, 0x40, 0, (uint32_t[]){0x1fff00, 0x200000, 0, 0, 0x200300});
	refuse(len, -ENOEXEC, "header_addr 0x1fff00 is below load_addr",
	       "header_addr before load_addr");
	put_header(img, 0x40, 0, (uint32_t[]){0x200100, 0x200000, 0, 0, 0x200300});
	refuse(len, -ENOEXEC, "before the file", "load offset before the file start");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0x203000, 0, 0x200300});
	refuse(len, -ENOEXEC, "truncated", "load_end past the end of the file");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0, 0x201000, 0x200300});
	refuse(len, -ENOEXEC, "bss_end_addr 0x201000 is below", "bss_end before the data end");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0, RAM_SIZE + 1, 0x200300});
	refuse(len, -ENOSPC, "give the VM more memory", "bss past RAM");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0, 0xffffffffu, 0x200300});
	refuse(len, -ENOEXEC, "not inside guest RAM", "bss to 4 GiB");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0, 0, 0x202000});
	refuse(len, -ENOEXEC, "entry_addr 0x202000 is outside", "entry past the loaded data");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200000, 0, 0x300000, 0x1fffff});
	refuse(len, -ENOEXEC, "entry_addr 0x1fffff is outside", "entry before load_addr");
	put_header(img, 0x40, 0, (uint32_t[]){0x200040, 0x200040, 0x200040, 0, 0x200040});
	refuse(len, -ENOEXEC, "load nothing", "address fields load nothing");

	/* ELF. */
	len = make_elf32(two_segs, 2, 0x100000);
	memcpy(img,
	       "\x7f"
	       "ELG",
	       4);
	refuse(len, -ENOEXEC, "not ELF", "not ELF without flag 16");
	len = make_elf32(two_segs, 2, 0x100000);
	img[EI_CLASS] = ELFCLASS64;
	refuse(len, -ENOEXEC, "objcopy -O elf32-i386", "ELF64 without flag 16");
	len = make_elf32(two_segs, 2, 0x100000);
	((Elf32_Ehdr *)img)->e_machine = EM_X86_64;
	refuse(len, -ENOEXEC, "machine 62", "ELF32 for x86-64");
	len = make_elf32(two_segs, 2, 0x100000);
	((Elf32_Ehdr *)img)->e_type = ET_DYN;
	refuse(len, -ENOEXEC, "ET_EXEC", "ELF32 shared object");
	len = make_elf32(two_segs, 2, 0x100000);
	((Elf32_Ehdr *)img)->e_phnum = 400; /* 52 + 400 * 32 > 0x3000 */
	refuse(len, -ENOEXEC, "program header table", "truncated program headers");
	len = make_elf32(two_segs, 2, 0x100000);
	((Elf32_Ehdr *)img)->e_phoff = 0xffffffe0u;
	refuse(len, -ENOEXEC, "program header table", "program headers at 4 GiB");
	len = make_elf32(two_segs, 2, 0x100000);
	((Elf32_Ehdr *)img)->e_phentsize = 56;
	refuse(len, -ENOEXEC, "bad ELF32 program header table", "wrong phentsize");
	len = make_elf32(two_segs, 2, 0x100000);
	((Elf32_Ehdr *)img)->e_phnum = 0;
	refuse(len, -ENOEXEC, "bad ELF32 program header table", "no program headers");
	len = make_elf32(two_segs, 2, 0x100000);
	refuse(0x300, -ENOEXEC, "not inside the 0x300-byte file", "segment data past the file");
	len = make_elf32(two_segs, 2, 0x100000);
	ph(1)->p_filesz = 0x6000;
	refuse(len, -ENOEXEC, "segment 1: file range", "filesz > memsz");
	len = make_elf32(two_segs, 2, 0x100000);
	ph(1)->p_paddr = 0x100400;
	refuse(len, -ENOEXEC, "overlaps an earlier segment", "overlapping segments");
	len = make_elf32(two_segs, 2, 0x100000);
	ph(1)->p_paddr = 0xfffff000u;
	refuse(len, -ENOEXEC, "above 4 GiB", "segment past 4 GiB");
	len = make_elf32(two_segs, 2, 0x100000);
	ph(1)->p_paddr = RAM_SIZE - 0x1000;
	refuse(len, -ENOSPC, "not inside guest RAM", "segment past RAM");
	len = make_elf32(two_segs, 2, 0x100000);
	ph(0)->p_paddr = 0xf0000;
	refuse(len, -ENOEXEC, "ACPI", "segment in the BIOS window");
	len = make_elf32(two_segs, 2, 0x108000);
	refuse(len, -ENOEXEC, "outside every PT_LOAD", "ELF entry outside the image");
	len = make_elf32(two_segs, 2, 0x100000);
	ph(0)->p_type = PT_NOTE;
	ph(1)->p_type = PT_NULL;
	refuse(len, -ENOEXEC, "no PT_LOAD", "no PT_LOAD");

	/* Modules and memory. */
	len = make_elf32(two_segs, 2, 0x100000);
	in = input(len);
	in.nmodules = 2;
	in.modules[0] = (struct boot_module){mod_a, sizeof(mod_a), "small"};
	in.modules[1] = (struct boot_module){mod_a, RAM_SIZE - 0x109000, "big.img"};
	refuse_in(&in, &mem, -ENOSPC, "module 2 (\"big.img\", ", "module that does not fit");
	in.modules[1] = (struct boot_module){mod_a, RAM_SIZE - 0x10a000, "big.img"};
	{
		struct boot_plan plan;
		/* big.img just fits: first after 0x108000 (info) comes 0x109000 small, 0x10b000 big
		 */
		in.modules[1].len = RAM_SIZE - 0x10b000;
		in.modules[1].data = malloc(in.modules[1].len);
		if (in.modules[1].data) {
			memset((void *)in.modules[1].data, 0x3c, in.modules[1].len);
			if (load_ok(&in, &mem, &plan, "module filling RAM to the end"))
				TAP_EQ_U64(rd32(plan.arg + 24) ? rd32(rd32(plan.arg + 24) + 20) : 0,
					   RAM_SIZE,
					   "module filling RAM: ends at the end of region 0");
			in.modules[1].len++;
			refuse_in(&in, &mem, -ENOSPC, "big.img", "module one byte too big");
			free((void *)in.modules[1].data);
		}
	}
	in.nmodules = 1;
	in.modules[0] = (struct boot_module){NULL, 10, "x"};
	refuse_in(&in, &mem, -EINVAL, "no data", "module without data");
	in.nmodules = BOOT_MAX_MODULES + 1;
	refuse_in(&in, &mem, -EINVAL, "at most 16", "too many modules");
	{
		static char s[MULTIBOOT_CMDLINE_MAX + 2];

		memset(s, 's', sizeof(s) - 1);
		in.nmodules = 1;
		in.modules[0] = (struct boot_module){mod_b, 1, s};
		refuse_in(&in, &mem, -E2BIG, "module 1's string", "oversized module string");
	}
	/* An image at the top of RAM leaves no room for the info block. */
	{
		struct seg s[] = {{RAM_SIZE - 0x2000, RAM_SIZE - 0x2000, 0x800, 0x2000}};

		len = make_elf32(s, 1, RAM_SIZE - 0x2000);
		refuse(len, -ENOSPC, "no room for the multiboot information",
		       "image at the top of RAM");
	}
	{
		struct guest_mem small = mem;

		len = make_elf32(two_segs, 2, 0x100000);
		small.r[0].size = MIB;
		in = input(len);
		refuse_in(&in, &small, -EINVAL, "region 0", "RAM of 1 MiB");
	}
}

static void test_edges(void)
{
	struct boot_plan plan;
	struct boot_input in;
	char why[8];
	size_t len = make_elf32(two_segs, 2, 0x100000);
	uint8_t *odd;

	in = input(len);
	img[HDR_OFF + 8] ^= 1;
	memset(why, 'Z', sizeof(why));
	TAP_EQ_INT(multiboot_load(&in, &mem, &plan, why, 6), -ENOEXEC, "tiny why: refused");
	TAP_OK(why[5] == '\0' && why[6] == 'Z', "tiny why: truncated, NUL-terminated, no overrun");
	TAP_EQ_INT(multiboot_load(&in, &mem, &plan, NULL, 0), -ENOEXEC,
		   "why = NULL: refused, no crash");
	img[HDR_OFF + 8] ^= 1;
	TAP_EQ_INT(multiboot_load(&in, &mem, &plan, NULL, 0), 0, "why = NULL: loads");

	/* Headers are read bytewise: an unaligned copy loads the same. */
	odd = malloc(len + 1);
	if (TAP_OK(odd != NULL, "allocate an unaligned copy")) {
		memcpy(odd + 1, img, len);
		in.image = odd + 1;
		ram_reset();
		TAP_EQ_INT(multiboot_load(&in, &mem, &plan, NULL, 0), 0, "unaligned image loads");
		TAP_OK(ram[0x100000] == file_byte(0) && plan.entry == 0x100000,
		       "unaligned: same result");
		free(odd);
	}
}

/* Random corruption of a valid image with modules: never a crash, only documented errnos. */
static void test_corruption(void)
{
	struct boot_plan plan;
	struct boot_input in;
	char why[256];
	unsigned bad = 0, loaded = 0;
	size_t len;

	srand(12);
	for (unsigned round = 0; round < 3000; round++) {
		int rc;

		if (round & 1)
			len = make_elf32(two_segs, 2, 0x100000);
		else
			len = make_aout(0x2000, 0x40, 0x200000, 0x1000);
		for (unsigned k = 0, n = 1 + rand() % 4; k < n; k++) {
			unsigned at = (unsigned)rand() % (round & 1 ? 0x240 : 0x60);
			img[at] = (uint8_t)rand();
		}
		in = input(len);
		in.nmodules = 1;
		in.modules[0] = (struct boot_module){mod_a, sizeof(mod_a), "m"};
		rc = multiboot_load(&in, &mem, &plan, why, sizeof(why));
		if (rc == 0) {
			loaded++;
			if (plan.arg < MIB || plan.arg % PAGE || plan.nclaims < 3)
				bad++;
		} else if ((rc != -ENOEXEC && rc != -ENOSPC) || why[0] == '\0') {
			bad++;
		}
	}
	TAP_EQ_U64(bad, 0, "corruption: only -ENOEXEC/-ENOSPC with a reason, or a sane plan");
	TAP_OK(loaded > 0 && loaded < 3000, "corruption: some images still load, some do not (%u)",
	       loaded);
}

int main(void)
{
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	high = mmap(NULL, HIGH_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!TAP_OK(ram != MAP_FAILED && high != MAP_FAILED, "map guest RAM"))
		return tap_done();
	mem.nregions = 1;
	mem.total = RAM_SIZE;
	mem.r[0] = (struct guest_mem_region){.gpa = 0, .size = RAM_SIZE, .host = ram};
	mem2 = mem;
	mem2.nregions = 2;
	mem2.total = RAM_SIZE + HIGH_SIZE;
	mem2.r[1] = (struct guest_mem_region){.gpa = 4 * GIB, .size = HIGH_SIZE, .host = high};
	for (size_t i = 0; i < sizeof(mod_a); i++)
		mod_a[i] = (uint8_t)(i * 3 + 1);
	mod_b[0] = 0x5a;

	test_recognise();
	test_elf32();
	test_aout();
	test_refusals();
	test_edges();
	test_corruption();
	return tap_done();
}
