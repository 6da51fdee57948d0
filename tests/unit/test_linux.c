/* test_linux.c - unit tests for the Linux loader: synthetic bzImages and vmlinux ELFs, every
 * payload format, malformed inputs. */
#include <elf.h>
#include <errno.h>
#include <lz4.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "load/linux.h"
#include "load/unpack.h"
#include "tap.h"

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)
#define RAM_SIZE (32 * MIB)
#define SENTINEL 0xa5
#define IMG_MAX (4 * MIB)
#define SETUP_SECTS 4u
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512u)
#define KERNEL_BASE (16 * MIB) /* pref_address and the vmlinux's p_paddr */
#define VM_TEXT 0x3000u	       /* vmlinux: text file bytes */
#define VM_DATA 0x800u	       /* vmlinux: data file bytes, then bss */
#define VM_BSS 0x2000u
#define PVH_OFF 0x40u /* PVH entry = KERNEL_BASE + PVH_OFF */
#define RSDP 0xe0000ull

static struct guest_mem mem;
static uint8_t *ram, *pristine;
static uint8_t img[IMG_MAX];
static uint8_t vm[64 * KIB];
static uint8_t payload[IMG_MAX];
static uint8_t initrd[64 * KIB];

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t kbyte(uint64_t j)
{
	return (uint8_t)(j * 13 + 5);
}

/*
 * make_bzimage - a bzImage of protocol 2.15: SETUP_SECTS setup sectors, then
 * a protected-mode kernel of `ksize` bytes (a byte pattern) with `pl` bytes
 * of payload at offset 0x200 of it. Returns the file size.
 */
static size_t make_bzimage(uint8_t *buf, const uint8_t *pl, size_t plen, uint64_t pref,
			   size_t ksize)
{
	size_t len;

	if (ksize < 0x200 + plen + 0x10)
		ksize = 0x200 + plen + 0x10;
	len = SETUP_SIZE + ksize;
	memset(buf, 0, SETUP_SIZE);
	for (size_t j = 0; j < ksize; j++)
		buf[SETUP_SIZE + j] = kbyte(j);
	memcpy(buf + SETUP_SIZE + 0x200, pl, plen);
	buf[0x1f1] = SETUP_SECTS;
	put_le(buf + 0x1f4, (ksize + 15) / 16, 4); /* syssize */
	put_le(buf + 0x1fa, 0xffff, 2);
	put_le(buf + 0x1fe, 0xaa55, 2);
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a; /* header through 0x26b */
	memcpy(buf + 0x202, "HdrS", 4);
	put_le(buf + 0x206, 0x020f, 2);
	buf[0x211] = 0x01; /* LOADED_HIGH */
	put_le(buf + 0x214, 0x100000, 4);
	put_le(buf + 0x22c, 0x7fffffff, 4); /* initrd_addr_max */
	put_le(buf + 0x230, 0x200000, 4);   /* kernel_alignment */
	buf[0x234] = 1;			    /* relocatable */
	put_le(buf + 0x236, 0x3, 2);	    /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	put_le(buf + 0x238, 255, 4);	    /* cmdline_size */
	put_le(buf + 0x248, 0x200, 4);
	put_le(buf + 0x24c, plen, 4);
	put_le(buf + 0x258, pref, 8);
	put_le(buf + 0x260, 0x100000, 4); /* init_size 1 MiB */
	return len;
}

/*
 * make_vmlinux - an ELF64 vmlinux linked like Linux: text (R+X) at
 * p_paddr base, p_vaddr 0xffffffff80000000 + base; data + bss after it;
 * e_entry physical (ENTRY(phys_startup_64)); a PT_NOTE with a Xen note
 * and, when `pvh`, XEN_ELFNOTE_PHYS32_ENTRY = base + PVH_OFF (8-byte
 * descriptor, as Linux 6.1 writes it).
 */
static size_t make_vmlinux(uint8_t *buf, uint64_t base, int pvh)
{
	const uint64_t vbase = 0xffffffff80000000ull + base;
	const size_t text_off = 0x1000, data_off = text_off + VM_TEXT, note_off = 0x200;
	size_t len = data_off + VM_DATA;
	Elf64_Ehdr e = {.e_type = ET_EXEC,
			.e_machine = EM_X86_64,
			.e_version = EV_CURRENT,
			.e_entry = base,
			.e_phoff = sizeof(Elf64_Ehdr),
			.e_ehsize = sizeof(Elf64_Ehdr),
			.e_phentsize = sizeof(Elf64_Phdr),
			.e_phnum = 3};
	Elf64_Phdr ph[3] = {
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R | PF_X,
	     .p_offset = text_off,
	     .p_vaddr = vbase,
	     .p_paddr = base,
	     .p_filesz = VM_TEXT,
	     .p_memsz = VM_TEXT,
	     .p_align = 0x1000},
	    {.p_type = PT_LOAD,
	     .p_flags = PF_R | PF_W,
	     .p_offset = data_off,
	     .p_vaddr = vbase + VM_TEXT,
	     .p_paddr = base + VM_TEXT,
	     .p_filesz = VM_DATA,
	     .p_memsz = VM_DATA + VM_BSS,
	     .p_align = 0x1000},
	    {.p_type = PT_NOTE, .p_flags = PF_R, .p_offset = note_off, .p_filesz = 0, .p_align = 4},
	};
	uint8_t *n = buf + note_off;

	memset(buf, 0, len);
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	/* Note 1: Xen GUEST_OS "linux" (6 bytes, padded to 8). */
	put_le(n, 4, 4), put_le(n + 4, 6, 4), put_le(n + 8, 6, 4);
	memcpy(n + 12, "Xen", 4), memcpy(n + 16, "linux", 6);
	n += 24;
	if (pvh) {
		put_le(n, 4, 4), put_le(n + 4, 8, 4), put_le(n + 8, 18, 4);
		memcpy(n + 12, "Xen", 4);
		put_le(n + 16, base + PVH_OFF, 8);
		n += 24;
	}
	ph[2].p_filesz = (uint64_t)(n - (buf + note_off));
	memcpy(buf, &e, sizeof(e));
	memcpy(buf + sizeof(e), ph, sizeof(ph));
	for (size_t j = 0; j < VM_TEXT + VM_DATA; j++)
		buf[text_off + j] = kbyte(j + 7);
	return len;
}

/* Compress `in` as the kernel build does (stream + 4-byte little-endian size). */
static size_t compress_as(enum unpack_format f, const uint8_t *in, size_t len, uint8_t *out,
			  size_t cap)
{
	size_t n = 0;

	switch (f) {
	case UNPACK_GZIP: {
		z_stream zs = {0};

		if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return 0;
		zs.next_in = (Bytef *)(uintptr_t)in;
		zs.avail_in = (uInt)len;
		zs.next_out = out;
		zs.avail_out = (uInt)cap;
		if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
			n = 0;
		else
			n = zs.total_out;
		deflateEnd(&zs);
		break;
	}
	case UNPACK_XZ:
		if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, in, len, out, &n, cap) !=
		    LZMA_OK)
			return 0;
		break;
	case UNPACK_LZMA: {
		lzma_options_lzma o;
		lzma_stream s = LZMA_STREAM_INIT;

		lzma_lzma_preset(&o, 6);
		if (lzma_alone_encoder(&s, &o) != LZMA_OK)
			return 0;
		s.next_in = in, s.avail_in = len, s.next_out = out, s.avail_out = cap;
		n = lzma_code(&s, LZMA_FINISH) == LZMA_STREAM_END ? cap - s.avail_out : 0;
		lzma_end(&s);
		break;
	}
	case UNPACK_LZ4: {
		/* Legacy frame: magic, then (le32 size, block) per 8 MiB of input. */
		put_le(out, 0x184c2102, 4);
		n = 4;
		for (size_t off = 0; off < len; off += 8 * MIB) {
			size_t chunk = len - off < 8 * MIB ? len - off : 8 * MIB;
			int c = LZ4_compress_default((const char *)in + off, (char *)out + n + 4,
						     (int)chunk, (int)(cap - n - 4));
			if (c <= 0)
				return 0;
			put_le(out + n, (uint64_t)c, 4);
			n += 4 + (size_t)c;
		}
		break;
	}
	case UNPACK_ZSTD:
		n = ZSTD_compress(out, cap, in, len, 19);
		if (ZSTD_isError(n))
			return 0;
		break;
	default:
		return 0;
	}
	if (n == 0 || n + 4 > cap)
		return 0;
	put_le(out + n, len, 4); /* size_append */
	return n + 4;
}

static void ram_reset(void)
{
	memset(ram, SENTINEL, RAM_SIZE);
}

static int ram_untouched(void)
{
	return memcmp(ram, pristine, RAM_SIZE) == 0;
}

static struct boot_input input(size_t len, const char *cmdline, size_t initrd_len)
{
	struct boot_input in = {.image = img, .len = len, .cmdline = cmdline};

	if (initrd_len) {
		in.nmodules = 1;
		in.modules[0] = (struct boot_module){initrd, initrd_len, "initrd"};
	}
	return in;
}

/* Expect `err`, a reason containing `needle`, no RAM written and a zeroed plan. */
static void refuse_opt(const struct boot_input *in, const struct linux_options *opt, int err,
		       const char *needle, const char *name)
{
	struct boot_plan plan;
	char why[256];
	int rc;

	memset(why, 'Z', sizeof(why));
	memset(&plan, 0x5a, sizeof(plan));
	ram_reset();
	rc = linux_load_ex(in, &mem, opt, &plan, why, sizeof(why));
	TAP_EQ_INT(rc, err, "%s: refused with %d", name, err);
	if (!TAP_OK(memchr(why, '\0', sizeof(why)) != NULL, "%s: reason is NUL-terminated", name))
		return;
	tap_diag("  reason: %s", why);
	TAP_STR_CONTAINS(why, needle, "%s: reason says why", name);
	TAP_OK(ram_untouched(), "%s: nothing written to guest RAM", name);
	TAP_OK(plan.nclaims == 0 && plan.entry == 0, "%s: plan left empty", name);
}

static void refuse(const struct boot_input *in, int err, const char *needle, const char *name)
{
	refuse_opt(in, NULL, err, needle, name);
}

static const uint8_t *zp(void)
{
	return ram + LINUX_ZERO_PAGE_GPA;
}

static const struct boot_claim *claim(const struct boot_plan *p, const char *what)
{
	for (unsigned i = 0; i < p->nclaims; i++)
		if (strcmp(p->claims[i].what, what) == 0)
			return &p->claims[i];
	return NULL;
}

/* The e820 entries in the zero page (or PVH map) equal `want`. */
static int e820_is(const uint8_t *t, unsigned stride, unsigned n, const struct linux_e820 *want)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = t + i * stride;

		if (get_le(e, 8) != want[i].addr || get_le(e + 8, 8) != want[i].size ||
		    get_le(e + 16, 4) != want[i].type)
			return 0;
	}
	return 1;
}

static void test_header(void)
{
	struct linux_header h;
	char why[200];
	size_t len = make_bzimage(img, (const uint8_t *)"junk", 4, KERNEL_BASE, 0x4000);

	TAP_OK(linux_is_bzimage(img, len), "synthetic bzImage has the magics");
	TAP_EQ_INT(linux_parse_header(img, len, &h, why, sizeof(why)), 0, "header parses");
	TAP_EQ_U64(h.version, 0x020f, "version 2.15");
	TAP_EQ_U64(h.setup_sects, SETUP_SECTS, "setup_sects");
	TAP_EQ_U64(h.setup_size, SETUP_SIZE, "setup size (setup_sects + 1) * 512");
	TAP_EQ_U64(h.kernel_size, 0x4000, "kernel part is the rest of the file");
	TAP_EQ_U64(h.pref_address, KERNEL_BASE, "pref_address");
	TAP_EQ_U64(h.init_size, MIB, "init_size");
	TAP_EQ_U64(h.cmdline_size, 255, "cmdline_size");
	TAP_EQ_U64(h.payload_offset, 0x200, "payload_offset");
	TAP_EQ_U64(h.payload_length, 4, "payload_length");
	TAP_EQ_U64(h.hdr_len, 0x26c - 0x1f1, "header length from byte 0x201");

	img[0x1f1] = 0; /* 0 means 4: same layout */
	TAP_EQ_INT(linux_parse_header(img, len, &h, why, sizeof(why)), 0, "setup_sects 0 parses");
	TAP_EQ_U64(h.setup_sects, 4, "setup_sects 0 means 4");
	img[0x1f1] = SETUP_SECTS;

	struct {
		unsigned off, n;
		uint64_t v;
		const char *needle, *name;
	} bad[] = {
	    {0x1fe, 2, 0x55aa, "boot_flag", "bad boot_flag"},
	    {0x202, 4, 0x53726449, "HdrS", "bad HdrS"},
	    {0x206, 2, 0x020b, "older than 2.12", "protocol 2.11"},
	    {0x201, 1, 0x40, "before init_size", "header too short for 2.12"},
	    {0x211, 1, 0x00, "LOADED_HIGH", "no LOADED_HIGH"},
	    {0x236, 2, 0x02, "XLF_KERNEL_64", "no XLF_KERNEL_64"},
	    {0x1f1, 1, 200, "setup_sects 200", "setup_sects past the file"},
	    {0x1f4, 4, 0x4000 / 16 + 2, "syssize", "syssize longer than the file"},
	    {0x230, 4, 0x300000, "power of two", "kernel_alignment not a power of two"},
	    {0x258, 8, 0x80000, "below 1 MiB", "pref_address below 1 MiB"},
	    {0x260, 4, 0x3000, "init_size", "init_size smaller than the kernel"},
	    {0x24c, 4, 0x3e01, "payload", "payload past the file"},
	    {0x248, 4, 0xffffffff, "payload", "payload_offset huge"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t old = get_le(img + bad[i].off, bad[i].n);
		int rc;

		put_le(img + bad[i].off, bad[i].v, bad[i].n);
		memset(why, 'Z', sizeof(why));
		rc = linux_parse_header(img, len, &h, why, sizeof(why));
		TAP_EQ_INT(rc, -ENOEXEC, "%s: refused", bad[i].name);
		if (memchr(why, '\0', sizeof(why)))
			TAP_STR_CONTAINS(why, bad[i].needle, "%s: reason says why", bad[i].name);
		else
			TAP_OK(0, "%s: reason NUL-terminated", bad[i].name);
		put_le(img + bad[i].off, old, bad[i].n);
	}
	TAP_EQ_INT(linux_parse_header(img, 0x100, &h, why, sizeof(why)), -ENOEXEC,
		   "file shorter than a setup header refused");
	TAP_EQ_INT(linux_parse_header(img, len, &h, why, sizeof(why)), 0, "restored header parses");
}

static void test_e820(void)
{
	struct guest_mem m;
	struct linux_e820 e[LINUX_E820_MAX];

	guest_mem_layout(&m, 5 * GIB);
	TAP_EQ_U64(linux_build_e820(&m, e), 4, "5 GiB: four entries");
	TAP_OK(e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == LINUX_E820_RAM,
	       "5 GiB: [0, 0x9fc00) RAM");
	TAP_OK(e[1].addr == 0x9fc00 && e[1].size == 0x100000 - 0x9fc00 &&
		   e[1].type == LINUX_E820_RESERVED,
	       "5 GiB: [0x9fc00, 1 MiB) reserved");
	TAP_OK(e[2].addr == MIB && e[2].size == 3 * GIB - MIB && e[2].type == LINUX_E820_RAM,
	       "5 GiB: [1 MiB, 3 GiB) RAM");
	TAP_OK(e[3].addr == 4 * GIB && e[3].size == 2 * GIB && e[3].type == LINUX_E820_RAM,
	       "5 GiB: [4 GiB, 6 GiB) RAM");
	guest_mem_layout(&m, MIB);
	TAP_EQ_U64(linux_build_e820(&m, e), 0, "1 MiB of RAM: no Linux memory map");
	m.nregions = 0;
	TAP_EQ_U64(linux_build_e820(&m, e), 0, "no regions: no map");
}

/* The checks shared by every successful zero-page boot. */
static void check_zero_page(const char *name, const char *cmdline, size_t initrd_len,
			    uint16_t version, uint32_t cmdline_size)
{
	static const struct linux_e820 want[] = {
	    {0, 0x9fc00, 1},
	    {0x9fc00, 0x60400, 2},
	    {MIB, RAM_SIZE - MIB, 1},
	};
	uint64_t rd = get_le(zp() + 0x218, 4) | get_le(zp() + 0xc0, 4) << 32;
	uint64_t rdsz = get_le(zp() + 0x21c, 4) | get_le(zp() + 0xc4, 4) << 32;

	TAP_EQ_U64(get_le(zp() + 0x1fe, 2), 0xaa55, "%s: zero page boot_flag", name);
	TAP_EQ_U64(get_le(zp() + 0x202, 4), 0x53726448, "%s: zero page HdrS", name);
	TAP_EQ_U64(get_le(zp() + 0x206, 2), version, "%s: zero page protocol version", name);
	TAP_EQ_U64(get_le(zp() + 0x238, 4), cmdline_size, "%s: zero page cmdline_size", name);
	TAP_EQ_U64(zp()[0x210], 0xff, "%s: type_of_loader 0xff", name);
	TAP_OK(zp()[0x211] & 1, "%s: LOADED_HIGH", name);
	TAP_EQ_U64(zp()[0x1ef], 0, "%s: sentinel 0 (the kernel trusts the fields)", name);
	TAP_EQ_U64(get_le(zp() + 0x228, 4), LINUX_CMDLINE_GPA, "%s: cmd_line_ptr", name);
	TAP_EQ_U64(get_le(zp() + 0xc8, 4), 0, "%s: ext_cmd_line_ptr", name);
	TAP_OK(strcmp((const char *)ram + LINUX_CMDLINE_GPA, cmdline) == 0,
	       "%s: command line in RAM, NUL-terminated", name);
	TAP_EQ_U64(get_le(zp() + 0x70, 8), RSDP, "%s: acpi_rsdp_addr", name);
	TAP_EQ_U64(zp()[0x1e8], 3, "%s: e820_entries", name);
	TAP_OK(e820_is(zp() + 0x2d0, 20, 3, want), "%s: e820 table at 0x2d0", name);
	TAP_OK(get_le(zp() + 0x2d0 + 3 * 20, 8) == 0, "%s: nothing after the last e820 entry",
	       name);
	if (initrd_len) {
		uint64_t expect = (RAM_SIZE - initrd_len) & ~0xfffull;

		TAP_EQ_U64(rd, expect, "%s: initrd page-aligned at the top of RAM", name);
		TAP_EQ_U64(rdsz, initrd_len, "%s: ramdisk_size", name);
		TAP_OK(rd + rdsz <= RAM_SIZE && memcmp(ram + rd, initrd, initrd_len) == 0,
		       "%s: initrd bytes in RAM", name);
	} else {
		TAP_OK(rd == 0 && rdsz == 0, "%s: no initrd", name);
	}
}

static void test_bzimage_own(void)
{
	static const uint8_t junk[] = {0x42, 0x5a, 0x68, 0x39, 1, 2, 3, 4}; /* "BZh9": bzip2 */
	size_t len = make_bzimage(img, junk, sizeof(junk), KERNEL_BASE, 0x4000);
	struct boot_input in = input(len, "console=ttyS0 quiet", 0x5432);
	struct boot_plan plan;
	char why[256];
	int ok = 1;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 3 + 1);
	for (int pass = 0; pass < 2; pass++) {
		const char *name =
		    pass ? "bzip2 payload, host decompression on" : "no_host_decompress";

		in.no_host_decompress = pass == 0;
		ram_reset();
		TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0, "%s: loads",
			   name);
		TAP_EQ_STR(why, "", "%s: no reason on success", name);
		TAP_EQ_U64(plan.proto, BOOT_LINUX64, "%s: 64-bit Linux protocol", name);
		TAP_EQ_U64(plan.entry, KERNEL_BASE + 0x200, "%s: entry = load address + 0x200",
			   name);
		TAP_EQ_U64(plan.arg, LINUX_ZERO_PAGE_GPA, "%s: RSI = zero page", name);
		TAP_OK(plan.aps_wait_sipi && plan.low_tables && plan.acpi && plan.ioapic &&
			   plan.pit,
		       "%s: platform flags", name);
		for (size_t j = 0; j < 0x4000; j++)
			ok &= ram[KERNEL_BASE + j] ==
			      (j >= 0x200 && j < 0x200 + sizeof(junk) ? junk[j - 0x200] : kbyte(j));
		TAP_OK(ok, "%s: protected-mode kernel copied to pref_address", name);
		check_zero_page(name, "console=ttyS0 quiet", 0x5432, 0x020f, 255);
		TAP_OK(memcmp(zp() + 0x1f1, img + 0x1f1, 0x210 - 0x1f1) == 0,
		       "%s: setup header copied to 0x1f1", name);
		const struct boot_claim *k = claim(&plan, "kernel"),
					*t = claim(&plan, "boot page tables/GDT");
		TAP_OK(k && k->start == KERNEL_BASE && k->size == MIB,
		       "%s: kernel claim is init_size", name);
		TAP_OK(t && t->start == 0x1000 && t->size == 0x6000, "%s: [0x1000, 0x7000) claimed",
		       name);
		TAP_OK(claim(&plan, "zero page") && claim(&plan, "command line") &&
			   claim(&plan, "initrd"),
		       "%s: zero page, command line and initrd claimed", name);
		if (pass)
			TAP_STR_CONTAINS(plan.note, "bzip2",
					 "%s: note says the kernel decompresses", name);
	}

	/* Not relocatable: exactly pref_address; relocatable + odd pref: rounded up. */
	put_le(img + 0x258, KERNEL_BASE + 0x1000, 8);
	in.no_host_decompress = true;
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0, "unaligned pref loads");
	TAP_EQ_U64(plan.entry, KERNEL_BASE + 0x200000 + 0x200,
		   "relocatable: load address rounded up to kernel_alignment");
	img[0x234] = 0;
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0,
		   "non-relocatable loads");
	TAP_EQ_U64(plan.entry, KERNEL_BASE + 0x1000 + 0x200, "non-relocatable: at pref_address");
	img[0x234] = 1;
	put_le(img + 0x258, KERNEL_BASE, 8);

	/* Malformed and unbootable. */
	in.nmodules = 0;
	put_le(img + 0x260, 0x10000000, 4);
	refuse(&in, -ENOSPC, "init_size", "init_size larger than RAM");
	put_le(img + 0x260, 0x100000, 4);
	memset(payload, 'x', 300);
	payload[300] = '\0';
	in.cmdline = (const char *)payload;
	refuse(&in, -E2BIG, "at most 255", "command line longer than cmdline_size");
	payload[255] = '\0';
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0,
		   "command line of exactly cmdline_size loads");
	in.cmdline = "";
	in = input(len, "", sizeof(initrd));
	in.no_host_decompress = true;
	in.modules[0].len = 16 * MIB;
	in.modules[0].data = ram; /* any 16 MiB of readable bytes; never copied */
	refuse(&in, -ENOSPC, "initrd of 16777216 bytes", "initrd larger than the free RAM");
	in.modules[0] = (struct boot_module){initrd, sizeof(initrd), NULL};
	put_le(img + 0x22c, KERNEL_BASE + MIB + 0x8000 - 1, 4);
	refuse(&in, -ENOSPC, "does not fit", "initrd above initrd_addr_max");
	put_le(img + 0x22c, KERNEL_BASE + MIB + sizeof(initrd) - 1, 4);
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0,
		   "initrd that just fits below initrd_addr_max loads");
	TAP_EQ_U64(get_le(zp() + 0x218, 4), KERNEL_BASE + MIB, "  ... right after the kernel");
	put_le(img + 0x22c, 0x7fffffff, 4);
	in.modules[0].len = 0;
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0, "empty initrd loads");
	TAP_OK(!claim(&plan, "initrd") && get_le(zp() + 0x218, 4) == 0, "  ... as no initrd");

	put_le(img + 0x236, 0, 2);
	refuse(&in, -ENOEXEC, "XLF_KERNEL_64", "32-bit kernel through linux_load");
	put_le(img + 0x236, 3, 2);
	refuse(&(struct boot_input){.image = img, .len = 0x300}, -ENOEXEC, "setup_sects",
	       "bzImage cut inside its setup code");
	img[0x1fe] = 0;
	refuse(&in, -ENOEXEC, "neither a bzImage", "no boot_flag: not recognised");
	img[0x1fe] = 0x55;
	TAP_EQ_INT(linux_load_ex(&in, &mem, &(struct linux_options){.entry = LINUX_ENTRY_PVH},
				 &plan, why, sizeof(why)),
		   -EINVAL, "PVH asked of a self-decompressing bzImage is refused");

	struct guest_mem small;
	guest_mem_layout(&small, MIB);
	small.r[0].host = ram;
	TAP_EQ_INT(linux_load(&in, &small, 0, &plan, why, sizeof(why)), -EINVAL,
		   "1 MiB of RAM refused");
}

/* A bzImage whose payload is the vmlinux compressed as `f`. */
static void test_bzimage_unpacked(enum unpack_format f)
{
	const char *fname = unpack_format_name(f);
	size_t vlen = make_vmlinux(vm, KERNEL_BASE, 1);
	size_t plen = compress_as(f, vm, vlen, payload, sizeof(payload));
	size_t len;
	struct boot_input in;
	struct boot_plan plan;
	char why[256];

	if (!TAP_OK(plen > 0, "%s: compress the test vmlinux", fname))
		return;
	TAP_EQ_U64(unpack_detect(payload, plen), f, "%s: detected by magic", fname);
	len = make_bzimage(img, payload, plen, KERNEL_BASE, 0);
	in = input(len, "root=/dev/vda", 0x3000);
	ram_reset();
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0, "%s: loads", fname);
	tap_diag("  note: %s %s", plan.note, why);
	TAP_EQ_U64(plan.proto, BOOT_LINUX64, "%s: 64-bit entry (bzImage header in the zero page)",
		   fname);
	TAP_EQ_U64(plan.entry, KERNEL_BASE, "%s: entry = startup_64 of the vmlinux", fname);
	TAP_OK(memcmp(ram + KERNEL_BASE, vm + 0x1000, VM_TEXT + VM_DATA) == 0,
	       "%s: text and data at p_paddr", fname);
	TAP_OK(ram[KERNEL_BASE + VM_TEXT + VM_DATA] == 0 &&
		   ram[KERNEL_BASE + VM_TEXT + VM_DATA + VM_BSS - 1] == 0 &&
		   ram[KERNEL_BASE + VM_TEXT + VM_DATA + VM_BSS] == SENTINEL,
	       "%s: bss zeroed, nothing past it", fname);
	check_zero_page(fname, "root=/dev/vda", 0x3000, 0x020f, 255);
	TAP_STR_CONTAINS(plan.note, fname, "%s: note names the format", fname);
	const struct boot_claim *k = claim(&plan, "kernel");
	TAP_OK(k && k->start == KERNEL_BASE && k->size == VM_TEXT + VM_DATA + VM_BSS,
	       "%s: kernel claim is the vmlinux footprint", fname);

	/* LINUX_ENTRY_PVH on the unpacked kernel: its note. */
	TAP_EQ_INT(linux_load_ex(&in, &mem, &(struct linux_options){.entry = LINUX_ENTRY_PVH},
				 &plan, why, sizeof(why)),
		   0, "%s: PVH entry on request", fname);
	TAP_OK(plan.proto == BOOT_PVH && plan.entry == KERNEL_BASE + PVH_OFF,
	       "%s: ... through the PVH note", fname);

	/* The bound: the fuzz-sized bound is below the vmlinux size. */
	refuse_opt(&in, &(struct linux_options){.unpack_max = 0x1000}, -E2BIG, "more than",
		   "decompression bound exceeded");

	/* A stream cut short inside the kernel part. */
	put_le(img + 0x24c, plen / 2, 4);
	refuse(&in, -ENOEXEC, fname, "truncated stream");
	put_le(img + 0x24c, plen, 4);
}

static void test_unpack_bad(void)
{
	static uint8_t zeros[4 * MIB];
	char why[200];
	uint8_t *out = (uint8_t *)1;
	size_t outlen = 7, n;
	enum unpack_format fs[] = {UNPACK_GZIP, UNPACK_XZ, UNPACK_LZMA, UNPACK_LZ4, UNPACK_ZSTD};

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		const char *name = unpack_format_name(fs[i]);

		n = compress_as(fs[i], zeros, sizeof(zeros), payload, sizeof(payload));
		if (!TAP_OK(n > 0 && n < 300 * KIB, "%s: 4 MiB of zeros compress small", name))
			continue;
		TAP_EQ_INT(unpack(fs[i], payload, n, 8 * MIB, &out, &outlen, why, sizeof(why)), 0,
			   "%s: decompresses within the bound", name);
		TAP_OK(outlen == sizeof(zeros) && out && memcmp(out, zeros, outlen) == 0,
		       "%s: output is the input", name);
		free(out);
		TAP_EQ_INT(unpack(fs[i], payload, n, 1 * MIB, &out, &outlen, why, sizeof(why)),
			   -E2BIG, "%s: a bomb past the bound is refused", name);
		TAP_OK(out == NULL && outlen == 0, "%s: no output on refusal", name);
		TAP_STR_CONTAINS(why, "1048576", "%s: reason names the bound", name);
		/* Corrupt the middle of the stream. */
		for (size_t j = n / 3; j < n / 3 + 16 && j < n - 4; j++)
			payload[j] ^= 0x5a;
		int rc = unpack(fs[i], payload, n, 8 * MIB, &out, &outlen, why, sizeof(why));
		/* lz4 has no checksum in the legacy frame: a flip may still decode, to garbage. */
		if (fs[i] == UNPACK_LZ4 && rc == 0) {
			TAP_OK(memcmp(out, zeros,
				      outlen < sizeof(zeros) ? outlen : sizeof(zeros)) != 0 ||
				   outlen != sizeof(zeros),
			       "%s: corrupt stream decodes to something else", name);
			free(out);
		} else {
			TAP_OK(rc == -ENOEXEC || rc == -E2BIG,
			       "%s: corrupt stream refused (%d: %s)", name, rc, why);
		}
		TAP_EQ_INT(unpack(fs[i], payload, 3, 8 * MIB, &out, &outlen, why, sizeof(why)),
			   -ENOEXEC, "%s: 3-byte stream refused", name);
	}
	TAP_EQ_INT(
	    unpack(UNPACK_BZIP2, (const uint8_t *)"BZh9", 4, MIB, &out, &outlen, why, sizeof(why)),
	    -ENOEXEC, "bzip2 is not decompressed");
	TAP_EQ_INT(unpack(UNPACK_GZIP, (const uint8_t *)"\x28\xb5\x2f\xfd", 4, MIB, &out, &outlen,
			  why, sizeof(why)),
		   -ENOEXEC, "format and magic must agree");
	TAP_EQ_U64(unpack_detect((const uint8_t *)"\x5d\x00\x00\x80", 4), UNPACK_LZMA,
		   "lzma magic");
	TAP_EQ_U64(unpack_detect((const uint8_t *)"\x89LZO", 4), UNPACK_LZO, "lzo magic");
	TAP_EQ_U64(unpack_detect((const uint8_t *)"\x1f", 1), UNPACK_UNKNOWN, "1 byte: unknown");

	/* A good gzip stream of something that is not a kernel. */
	memset(vm, 'G', 0x2000);
	n = compress_as(UNPACK_GZIP, vm, 0x2000, payload, sizeof(payload));
	struct boot_input in = input(make_bzimage(img, payload, n, KERNEL_BASE, 0), "", 0);
	refuse(&in, -ENOEXEC, "not an ELF", "gzip payload that decompresses to garbage");
	n = compress_as(UNPACK_XZ, vm, 0x2000, payload, sizeof(payload));
	in = input(make_bzimage(img, payload, n, KERNEL_BASE, 0), "", 0);
	refuse(&in, -ENOEXEC, "decompressed xz payload", "xz payload that decompresses to garbage");
	/* A vmlinux inside whose segments leave RAM: decompressed fine, then refused. */
	n = compress_as(UNPACK_XZ, vm, make_vmlinux(vm, 64 * MIB, 0), payload, sizeof(payload));
	in = input(make_bzimage(img, payload, n, KERNEL_BASE, 0), "", 0);
	refuse(&in, -ENOSPC, "not inside guest RAM", "unpacked vmlinux outside RAM");
}

static void test_vmlinux(void)
{
	static const struct linux_e820 want[] = {
	    {0, 0x9fc00, 1},
	    {0x9fc00, 0x60400, 2},
	    {MIB, RAM_SIZE - MIB, 1},
	};
	size_t len = make_vmlinux(img, KERNEL_BASE, 1);
	struct boot_input in = input(len, "console=ttyS0", 0x2345);
	struct boot_plan plan;
	char why[256];
	const uint8_t *si = ram + LINUX_PVH_INFO_GPA;

	TAP_OK(linux_recognise(img, len), "PVH vmlinux recognised");
	ram_reset();
	TAP_EQ_INT(linux_load(&in, &mem, RSDP, &plan, why, sizeof(why)), 0, "PVH vmlinux loads");
	TAP_EQ_U64(plan.proto, BOOT_PVH, "PVH preferred for a vmlinux with the note");
	TAP_EQ_U64(plan.entry, KERNEL_BASE + PVH_OFF, "entry = XEN_ELFNOTE_PHYS32_ENTRY");
	TAP_EQ_U64(plan.arg, LINUX_PVH_INFO_GPA, "EBX = start info");
	TAP_OK(!plan.low_tables && plan.aps_wait_sipi, "PVH: no kestrel tables, APs wait");
	TAP_OK(!claim(&plan, "boot page tables/GDT") && !claim(&plan, "zero page") &&
		   claim(&plan, "PVH start info"),
	       "PVH claims the start info, not the zero page");
	TAP_EQ_U64(get_le(si, 4), 0x336ec578, "start info magic");
	TAP_EQ_U64(get_le(si + 4, 4), 1, "start info version 1");
	TAP_EQ_U64(get_le(si + 12, 4), 1, "nr_modules 1");
	TAP_EQ_U64(get_le(si + 16, 8), LINUX_PVH_MODLIST_GPA, "modlist_paddr");
	TAP_EQ_U64(get_le(si + 24, 8), LINUX_CMDLINE_GPA, "cmdline_paddr");
	TAP_EQ_U64(get_le(si + 32, 8), RSDP, "rsdp_paddr");
	TAP_EQ_U64(get_le(si + 40, 8), LINUX_PVH_MEMMAP_GPA, "memmap_paddr");
	TAP_EQ_U64(get_le(si + 48, 4), 3, "memmap_entries");
	TAP_OK(e820_is(ram + LINUX_PVH_MEMMAP_GPA, 24, 3, want), "memmap entries (e820 types)");
	uint64_t rd = get_le(ram + LINUX_PVH_MODLIST_GPA, 8);
	TAP_OK(rd == ((RAM_SIZE - 0x2345) & ~0xfffull) &&
		   get_le(ram + LINUX_PVH_MODLIST_GPA + 8, 8) == 0x2345 &&
		   memcmp(ram + rd, initrd, 0x2345) == 0,
	       "module 0 is the initrd, at the top of RAM");
	TAP_OK(strcmp((const char *)ram + LINUX_CMDLINE_GPA, "console=ttyS0") == 0, "command line");
	TAP_OK(memcmp(ram + KERNEL_BASE, img + 0x1000, VM_TEXT + VM_DATA) == 0,
	       "segments at p_paddr");
	TAP_OK(ram[LINUX_ZERO_PAGE_GPA] == SENTINEL, "no zero page written for PVH");

	/* The 64-bit entry on request, with a made-up setup header. */
	ram_reset();
	TAP_EQ_INT(linux_load_ex(&in, &mem,
				 &(struct linux_options){.rsdp = RSDP, .entry = LINUX_ENTRY_64},
				 &plan, why, sizeof(why)),
		   0, "vmlinux through the 64-bit entry loads");
	TAP_OK(plan.proto == BOOT_LINUX64 && plan.entry == KERNEL_BASE && plan.low_tables,
	       "64-bit entry at the physical e_entry");
	check_zero_page("vmlinux 64-bit", "console=ttyS0", 0x2345, 0x020f, 2047);

	/* A virtual e_entry is translated through its PT_LOAD. */
	put_le(img + 24, 0xffffffff80000000ull + KERNEL_BASE + 0x10, 8);
	TAP_EQ_INT(linux_load_ex(&in, &mem, &(struct linux_options){.entry = LINUX_ENTRY_64}, &plan,
				 why, sizeof(why)),
		   0, "virtual e_entry loads");
	TAP_EQ_U64(plan.entry, KERNEL_BASE + 0x10, "virtual e_entry translated to physical");
	put_le(img + 24, KERNEL_BASE + VM_TEXT + 4, 8); /* into the data segment */
	refuse_opt(&in, &(struct linux_options){.entry = LINUX_ENTRY_64}, -ENOEXEC,
		   "no 64-bit entry", "e_entry in a non-executable segment, 64-bit asked");
	TAP_EQ_INT(linux_load(&in, &mem, 0, &plan, why, sizeof(why)), 0,
		   "... but PVH still boots it");
	put_le(img + 24, KERNEL_BASE, 8);

	/* No note: the 64-bit entry; PVH refused. */
	len = make_vmlinux(img, KERNEL_BASE, 0);
	in = input(len, "", 0);
	TAP_OK(linux_recognise(img, len),
	       "vmlinux without PVH note recognised (p_vaddr != p_paddr)");
	TAP_EQ_INT(linux_load(&in, &mem, 0, &plan, why, sizeof(why)), 0, "no-note vmlinux loads");
	TAP_EQ_U64(plan.proto, BOOT_LINUX64, "no note: 64-bit entry");
	refuse_opt(&in, &(struct linux_options){.entry = LINUX_ENTRY_PVH}, -EINVAL, "no PVH note",
		   "PVH asked of a kernel without the note");
	in = input(make_vmlinux(img, 40 * MIB, 0), "", 0);
	refuse(&in, -ENOSPC, "not inside guest RAM", "vmlinux beyond RAM");

	/* Malformed notes. */
	const size_t note = 0x200 + 24, phnote = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	len = make_vmlinux(img, KERNEL_BASE, 1);
	in = input(len, "", 0);
	put_le(img + note + 4, 2, 4);
	refuse(&in, -ENOEXEC, "2-byte descriptor", "PVH note with a 2-byte descriptor");
	TAP_OK(!linux_recognise(img, 0x40), "truncated ELF not recognised");
	put_le(img + note + 4, 0x1000, 4);
	refuse(&in, -ENOEXEC, "truncated ELF note", "note descriptor past the PT_NOTE");
	put_le(img + note + 4, 8, 4);
	put_le(img + note, 0xfffffff0, 4);
	refuse(&in, -ENOEXEC, "truncated ELF note", "note name size huge");
	put_le(img + note, 4, 4);
	put_le(img + phnote + 32, 40, 8); /* p_filesz cuts the PVH note's header */
	refuse(&in, -ENOEXEC, "truncated ELF note", "PT_NOTE ends inside a note header");
	put_le(img + phnote + 32, 1ull << 40, 8);
	refuse(&in, -ENOEXEC, "runs past", "PT_NOTE past the file");
	put_le(img + phnote + 32, 48, 8);
	put_le(img + note + 16, 0x100000000ull, 8);
	refuse(&in, -ENOEXEC, "above 4 GiB", "PVH entry above 4 GiB");
	put_le(img + note + 16, KERNEL_BASE + VM_TEXT + 8, 8);
	refuse(&in, -ENOEXEC, "outside every executable", "PVH entry in the data segment");
	put_le(img + note + 16, KERNEL_BASE + PVH_OFF, 8);

	/* Malformed segments. */
	const size_t ph0 = sizeof(Elf64_Ehdr);
	put_le(img + ph0 + 32, 0x100000, 8); /* p_filesz past the file */
	refuse(&in, -ENOEXEC, "not inside the", "segment past the file");
	put_le(img + ph0 + 32, VM_TEXT, 8);
	put_le(img + ph0 + 24, 0x80000, 8); /* p_paddr below 1 MiB */
	refuse(&in, -ENOEXEC, "below 1 MiB", "segment below 1 MiB");
	put_le(img + ph0 + 24, KERNEL_BASE + 0x800, 8); /* overlaps data */
	put_le(img + ph0 + 40, VM_TEXT + 0x800, 8);
	refuse(&in, -ENOEXEC, "overlaps", "overlapping segments");
	put_le(img + ph0 + 24, KERNEL_BASE, 8);
	put_le(img + ph0 + 40, VM_TEXT, 8);
	put_le(img + 32, len, 8); /* e_phoff past the file */
	refuse(&in, -ENOEXEC, "program header table", "phdr table past the file");
	put_le(img + 32, sizeof(Elf64_Ehdr), 8);
	img[EI_CLASS] = ELFCLASS32;
	refuse(&in, -ENOEXEC, "not a 64-bit", "ELFCLASS32");
	img[EI_CLASS] = ELFCLASS64;
	TAP_EQ_INT(linux_load(&in, &mem, 0, &plan, why, sizeof(why)), 0, "restored vmlinux loads");
}

static void test_recognise(void)
{
	size_t len = make_vmlinux(img, 2 * MIB, 0);
	const size_t ph0 = sizeof(Elf64_Ehdr);

	TAP_OK(linux_recognise(img, len), "vmlinux (high p_vaddr) recognised");
	/* Make it look like a kestrel guest: p_vaddr == p_paddr, no notes. */
	put_le(img + ph0 + 16, 2 * MIB, 8);
	put_le(img + ph0 + 56 + 16, 2 * MIB + VM_TEXT, 8);
	TAP_OK(!linux_recognise(img, len),
	       "identity-linked ELF64 (a kestrel guest) not recognised");
	put_le(img + 24, 0xffffffff81000000ull, 8);
	TAP_OK(linux_recognise(img, len), "... unless its e_entry is in the kernel map");
	TAP_OK(!linux_recognise((const uint8_t *)"\x7f"
						 "ELF",
				4),
	       "4-byte ELF not recognised");
	TAP_OK(!linux_recognise((const uint8_t *)"MZ", 2), "junk not recognised");
	TAP_OK(!linux_recognise(NULL, 0), "NULL not recognised");
	len = make_bzimage(img, (const uint8_t *)"x", 1, KERNEL_BASE, 0);
	TAP_OK(linux_recognise(img, len), "bzImage recognised");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Corrupted copies of a gzip bzImage and a PVH vmlinux: the contract holds every time. */
static void test_corrupt(void)
{
	enum { ITERS = 1500 };
	unsigned bad = 0, loaded = 0;
	size_t vlen = make_vmlinux(vm, KERNEL_BASE, 1);
	size_t plen = compress_as(UNPACK_GZIP, vm, vlen, payload, sizeof(payload));
	size_t blen = make_bzimage(img, payload, plen, KERNEL_BASE, 0);
	static uint8_t base[2][IMG_MAX];
	size_t lens[2] = {blen, vlen};
	const struct linux_options opt = {.unpack_max = 4 * MIB};

	memcpy(base[0], img, blen);
	memcpy(base[1], vm, vlen);
	ram_reset();
	for (unsigned it = 0; it < ITERS; it++) {
		unsigned which = it & 1;
		size_t len = lens[which], hdr = which ? 0x300 : 0x280;
		uint8_t *copy;
		struct boot_plan plan;
		char why[128];
		int rc;

		memcpy(img, base[which], len);
		for (unsigned k = 0, n = 1 + (unsigned)(rng() % 4); k < n; k++) {
			uint64_t r = rng();

			if (r % 5 == 0)
				len = (size_t)((r >> 8) % (len + 1));
			else if (r % 5 == 1)
				img[(r >> 8) % len] = (uint8_t)(r >> 40);
			else
				img[(which ? 0 : 0x1f0) + (r >> 8) % (hdr - (which ? 0 : 0x1f0))] ^=
				    (uint8_t)(1u << ((r >> 32) % 8));
		}
		copy = malloc(len ? len : 1);
		if (!copy)
			break;
		memcpy(copy, img, len);
		struct boot_input in = {.image = copy, .len = len, .cmdline = "x"};
		rc = linux_load_ex(&in, &mem, &opt, &plan, why, sizeof(why));
		free(copy);
		if (rc == 0) {
			loaded++;
			if (!guest_mem_ptr(&mem, plan.entry, 1) || plan.entry < MIB)
				bad++;
			ram_reset();
		} else if (!(rc == -ENOEXEC || rc == -ENOSPC || rc == -E2BIG || rc == -EINVAL) ||
			   why[0] == '\0' || !ram_untouched() || plan.nclaims) {
			if (bad++ == 0)
				tap_diag("iteration %u: rc %d why '%s'", it, rc, why);
			ram_reset();
		}
	}
	tap_diag("corrupt: %u inputs, %u loaded", ITERS, loaded);
	TAP_EQ_U64(bad, 0,
		   "corrupt inputs: documented errno, a reason, RAM untouched, entry in RAM");
	TAP_OK(loaded > 0 && loaded < ITERS, "corrupt inputs: both outcomes exercised");
}

int main(void)
{
	guest_mem_layout(&mem, RAM_SIZE);
	ram = malloc(RAM_SIZE);
	pristine = malloc(RAM_SIZE);
	if (!ram || !pristine) {
		TAP_OK(0, "allocate guest RAM");
		return tap_done();
	}
	memset(pristine, SENTINEL, RAM_SIZE);
	mem.r[0].host = ram;

	test_header();
	test_e820();
	test_bzimage_own();
	test_bzimage_unpacked(UNPACK_GZIP);
	test_bzimage_unpacked(UNPACK_XZ);
	test_bzimage_unpacked(UNPACK_LZMA);
	test_bzimage_unpacked(UNPACK_LZ4);
	test_bzimage_unpacked(UNPACK_ZSTD);
	test_unpack_bad();
	test_vmlinux();
	test_recognise();
	test_corrupt();
	free(ram);
	free(pristine);
	return tap_done();
}
