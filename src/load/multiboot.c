/* multiboot.c - multiboot v1: find and check the header, load by address fields or ELF32 p_paddr,
 * build the info block. */
#include "load/multiboot.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "load/linux.h" /* linux_build_e820: the same memory map */

#define PAGE 0x1000ull
#define FOUR_GIB 0x100000000ull
#define MB_MAX_SEGS 16u
#define MB_HDR_MIN 12u	/* magic, flags, checksum */
#define MB_HDR_ADDR 32u /* ... and the five address fields */
#define MB_SUPPORTED (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE)

__attribute__((format(printf, 4, 5))) static int mb_fail(int err, char *why, size_t whylen,
							 const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t page_up(uint64_t v) /* v < 2^63 everywhere it is used */
{
	return (v + PAGE - 1) & ~(PAGE - 1);
}

/* One guest range the image occupies: file bytes [off, off + filesz), then zeros to `end`. */
struct mb_seg {
	uint64_t off, filesz;
	gpa_t gpa, end;
};

/* One boot in progress: pass 1 fills it, pass 2 (mb_write) writes guest RAM. */
struct mb_boot {
	const struct boot_input *in;
	const struct guest_mem *mem;
	char *why;
	size_t whylen;

	struct multiboot_header h;
	size_t hdr_off;
	unsigned nsegs;
	struct mb_seg segs[MB_MAX_SEGS];
	gpa_t lo, hi; /* the image's footprint */
	gpa_t entry;

	const char *name, *args;
	size_t name_len, args_len, cmdline_len;
	size_t mod_str_len[BOOT_MAX_MODULES];
	gpa_t mod_gpa[BOOT_MAX_MODULES];
	struct linux_e820 e820[LINUX_E820_MAX];
	unsigned ne820;
	gpa_t info_gpa;
	uint64_t info_size;			  /* page-rounded */
	uint64_t mods_off, mmap_off, strings_off; /* inside the info area */
};

/* ---- the header ---- */

bool multiboot_recognise(const uint8_t *image, size_t len)
{
	if (!image)
		return false;
	for (size_t off = 0; off + MB_HDR_MIN <= len && off + MB_HDR_MIN <= MULTIBOOT_SEARCH;
	     off += 4)
		if (get32(image + off) == MULTIBOOT_HEADER_MAGIC &&
		    (uint32_t)(get32(image + off) + get32(image + off + 4) +
			       get32(image + off + 8)) == 0)
			return true;
	return false;
}

/* The first valid header; else the reason about the first magic seen. */
static int mb_find_header(struct mb_boot *b)
{
	const uint8_t *img = b->in->image;
	size_t len = b->in->len;
	size_t first = SIZE_MAX;

	for (size_t off = 0; off + 4 <= len && off + MB_HDR_MIN <= MULTIBOOT_SEARCH; off += 4) {
		if (get32(img + off) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if (first == SIZE_MAX)
			first = off;
		if (off + MB_HDR_MIN > len)
			break;
		if ((uint32_t)(get32(img + off) + get32(img + off + 4) + get32(img + off + 8)) != 0)
			continue;
		b->hdr_off = off;
		b->h.magic = MULTIBOOT_HEADER_MAGIC;
		b->h.flags = get32(img + off + 4);
		b->h.checksum = get32(img + off + 8);
		if (!(b->h.flags & MULTIBOOT_AOUT_KLUDGE))
			return 0;
		if (off + MB_HDR_ADDR > len)
			return mb_fail(
			    -ENOEXEC, b->why, b->whylen,
			    "multiboot header at %#zx sets flag 16 (address fields) but its "
			    "32 bytes run past the end of the %#zx-byte file (truncated?)",
			    off, len);
		b->h.header_addr = get32(img + off + 12);
		b->h.load_addr = get32(img + off + 16);
		b->h.load_end_addr = get32(img + off + 20);
		b->h.bss_end_addr = get32(img + off + 24);
		b->h.entry_addr = get32(img + off + 28);
		return 0;
	}
	if (first != SIZE_MAX && first + MB_HDR_MIN > len)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "multiboot header at %#zx runs past the end of the %#zx-byte file "
			       "(truncated?)",
			       first, len);
	if (first != SIZE_MAX)
		return mb_fail(
		    -ENOEXEC, b->why, b->whylen,
		    "multiboot header at %#zx has a bad checksum: magic %#x + flags %#x + "
		    "checksum %#x is not 0 mod 2^32",
		    first, MULTIBOOT_HEADER_MAGIC, get32(img + first + 4), get32(img + first + 8));
	return mb_fail(-ENOEXEC, b->why, b->whylen,
		       "no multiboot header (magic 0x1BADB002, 4-byte aligned) in the first %u "
		       "bytes of the %#zx-byte file",
		       MULTIBOOT_SEARCH, len);
}

static int mb_check_flags(struct mb_boot *b, struct boot_plan *plan)
{
	uint32_t unknown = b->h.flags & MULTIBOOT_REQUIRED_MASK & ~MB_SUPPORTED;

	if (unknown)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "multiboot header flags %#x require %#x, which kestrel does not "
			       "support (it honours bits 0-2 and 16)",
			       b->h.flags, unknown);
	if (b->h.flags & MULTIBOOT_VIDEO_MODE)
		snprintf(plan->note, sizeof(plan->note),
			 "multiboot video mode request (header flag 2) ignored: kestrel has no "
			 "framebuffer, the info block has no VBE or framebuffer fields");
	return 0;
}

/* ---- the image ---- */

/* A range the image may occupy: in RAM region 0 (below 4 GiB), clear of the BIOS window. */
static int mb_check_range(struct mb_boot *b, const char *what, gpa_t start, gpa_t end)
{
	const struct guest_mem_region *r0 = &b->mem->r[0];

	if (end > FOUR_GIB)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "%s [%#" PRIx64 ", %#" PRIx64 ") ends above 4 GiB", what, start,
			       end);
	if (start < MULTIBOOT_HIGH_GPA && end > MULTIBOOT_EBDA_GPA)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "%s [%#" PRIx64 ", %#" PRIx64 ") overlaps [0x9fc00, 0x100000), the "
			       "EBDA/VGA/BIOS window where kestrel puts the ACPI tables; link it "
			       "below 0x9fc00 or at or above 1 MiB",
			       what, start, end);
	if (end > r0->gpa + r0->size || !guest_mem_ptr(b->mem, start, end - start))
		return mb_fail(end > KESTREL_HOLE_START ? -ENOEXEC : -ENOSPC, b->why, b->whylen,
			       "%s [%#" PRIx64 ", %#" PRIx64 ") is not inside guest RAM, which "
			       "ends at %#" PRIx64 "%s%s%s",
			       what, start, end, r0->gpa + r0->size,
			       end > KESTREL_HOLE_START ? ", it reaches into the MMIO hole"
							: "; give the VM more memory (",
			       end > KESTREL_HOLE_START ? "" : boot_name(b->in, "mem_size"),
			       end > KESTREL_HOLE_START ? "" : ")");
	return 0;
}

static int mb_add_seg(struct mb_boot *b, const char *what, uint64_t off, uint64_t filesz, gpa_t gpa,
		      uint64_t memsz)
{
	struct mb_seg *s = &b->segs[b->nsegs];
	uint64_t end;
	int err;

	if (__builtin_add_overflow(gpa, memsz, &end))
		return mb_fail(-ENOEXEC, b->why, b->whylen, "%s: %#" PRIx64 "+%#" PRIx64 " wraps",
			       what, gpa, memsz);
	err = mb_check_range(b, what, gpa, end);
	if (err)
		return err;
	for (unsigned j = 0; j < b->nsegs; j++)
		if (gpa < b->segs[j].end && b->segs[j].gpa < end)
			return mb_fail(-ENOEXEC, b->why, b->whylen,
				       "%s [%#" PRIx64 ", %#" PRIx64
				       ") overlaps an earlier segment "
				       "[%#" PRIx64 ", %#" PRIx64 ")",
				       what, gpa, end, b->segs[j].gpa, b->segs[j].end);
	*s = (struct mb_seg){.off = off, .filesz = filesz, .gpa = gpa, .end = end};
	if (gpa < b->lo)
		b->lo = gpa;
	if (end > b->hi)
		b->hi = end;
	b->nsegs++;
	return 0;
}

/* Flag 16: the address fields say where the file goes (spec 3.1.3). */
static int mb_parse_aout(struct mb_boot *b)
{
	const struct multiboot_header *h = &b->h;
	uint64_t back, off, size, end, bss_end;
	int err;

	if (h->header_addr < h->load_addr)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "multiboot header_addr %#x is below load_addr %#x", h->header_addr,
			       h->load_addr);
	back = (uint64_t)h->header_addr - h->load_addr;
	if (back > b->hdr_off)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "multiboot header_addr - load_addr = %#" PRIx64 " puts the load "
			       "start before the file (the header is at file offset %#zx)",
			       back, b->hdr_off);
	off = b->hdr_off - back;
	if (h->load_end_addr) {
		if (h->load_end_addr < h->load_addr)
			return mb_fail(-ENOEXEC, b->why, b->whylen,
				       "multiboot load_end_addr %#x is below load_addr %#x",
				       h->load_end_addr, h->load_addr);
		size = (uint64_t)h->load_end_addr - h->load_addr;
		if (size > b->in->len - off)
			return mb_fail(-ENOEXEC, b->why, b->whylen,
				       "multiboot load_end_addr %#x asks for %#" PRIx64
				       " bytes from "
				       "file offset %#" PRIx64 ", the %#zx-byte file has %#" PRIx64
				       " (truncated?)",
				       h->load_end_addr, size, off, b->in->len, b->in->len - off);
	} else {
		size = b->in->len - off;
	}
	end = (uint64_t)h->load_addr + size; /* < 2^33 */
	bss_end = end;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < end)
			return mb_fail(-ENOEXEC, b->why, b->whylen,
				       "multiboot bss_end_addr %#x is below the end of the loaded "
				       "data %#" PRIx64,
				       h->bss_end_addr, end);
		bss_end = h->bss_end_addr;
	}
	if (bss_end == h->load_addr)
		return mb_fail(
		    -ENOEXEC, b->why, b->whylen,
		    "multiboot address fields load nothing (load_addr %#x, load_end_addr "
		    "%#x, bss_end_addr %#x)",
		    h->load_addr, h->load_end_addr, h->bss_end_addr);
	err = mb_add_seg(b, "image (address fields)", off, size, h->load_addr,
			 bss_end - h->load_addr);
	if (err)
		return err;
	if (h->entry_addr < h->load_addr || h->entry_addr >= end)
		return mb_fail(
		    -ENOEXEC, b->why, b->whylen,
		    "multiboot entry_addr %#x is outside the loaded image [%#x, %#" PRIx64 ")",
		    h->entry_addr, h->load_addr, end);
	b->entry = h->entry_addr;
	return 0;
}

/* Flag 16 clear: an ELF32 i386 executable, every PT_LOAD at its p_paddr. */
static int mb_parse_elf32(struct mb_boot *b)
{
	const uint8_t *img = b->in->image;
	size_t len = b->in->len;
	Elf32_Ehdr eh;
	uint64_t table_end;
	bool entry_found = false;

	if (len < SELFMAG || memcmp(img, ELFMAG, SELFMAG) != 0)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "multiboot header flag 16 (address fields) is clear, so the kernel "
			       "must be an ELF32 file, and this one is not ELF (bad magic)");
	if (len > EI_CLASS && img[EI_CLASS] == ELFCLASS64)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "an ELF64 multiboot kernel needs header flag 16 (the a.out kludge "
			       "address fields), as on QEMU; convert it with objcopy -O elf32-i386 "
			       "or set flag 16 and the address fields in its header");
	if (len < sizeof(eh))
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "truncated ELF32 file: %zu bytes, the ELF header alone is %zu", len,
			       sizeof(eh));
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS32 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_386)
		return mb_fail(
		    -ENOEXEC, b->why, b->whylen,
		    "ELF class %u, data %u, machine %u: a multiboot kernel without header "
		    "flag 16 must be ELF32 little-endian i386 (class 1, data 1, machine 3)",
		    eh.e_ident[EI_CLASS], eh.e_ident[EI_DATA], eh.e_machine);
	if (eh.e_type != ET_EXEC)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "ELF type %u is not an executable (ET_EXEC)", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0 || eh.e_phnum == PN_XNUM)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "bad ELF32 program header table (%u entries of %u bytes, expected "
			       "entries of %zu)",
			       eh.e_phnum, eh.e_phentsize, sizeof(Elf32_Phdr));
	table_end = (uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr); /* < 2^33 */
	if (table_end > len)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "ELF32 program header table [%#x, %#" PRIx64 ") runs past the "
			       "%#zx-byte file (truncated?)",
			       eh.e_phoff, table_end, len);
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;
		char what[32];
		int err;

		memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		snprintf(what, sizeof(what), "segment %u", i);
		if (b->nsegs == MB_MAX_SEGS)
			return mb_fail(-ENOEXEC, b->why, b->whylen, "more than %u PT_LOAD segments",
				       MB_MAX_SEGS);
		if (ph.p_filesz > ph.p_memsz || (uint64_t)ph.p_offset + ph.p_filesz > len)
			return mb_fail(-ENOEXEC, b->why, b->whylen,
				       "segment %u: file range %#x+%#x (memsz %#x) is not inside "
				       "the %#zx-byte file",
				       i, ph.p_offset, ph.p_filesz, ph.p_memsz, len);
		err = mb_add_seg(b, what, ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz);
		if (err)
			return err;
		/* GRUB 2: e_entry is found by virtual address and entered physically. */
		if (!entry_found && eh.e_entry >= ph.p_vaddr &&
		    eh.e_entry - ph.p_vaddr < ph.p_memsz) {
			b->entry = (uint64_t)ph.p_paddr + (eh.e_entry - ph.p_vaddr);
			entry_found = true;
		}
	}
	if (b->nsegs == 0)
		return mb_fail(-ENOEXEC, b->why, b->whylen, "no PT_LOAD segment: nothing to load");
	if (!entry_found)
		return mb_fail(-ENOEXEC, b->why, b->whylen,
			       "ELF32 entry point %#x is outside every PT_LOAD segment",
			       eh.e_entry);
	return 0;
}

/* ---- command line, modules, info area: placement only ---- */

static const char *mb_mod_string(const struct boot_module *m)
{
	return m->string ? m->string : "";
}

static int mb_place(struct mb_boot *b)
{
	const struct boot_input *in = b->in;
	const struct guest_mem_region *r0 = &b->mem->r[0];
	gpa_t r0_end = r0->gpa + r0->size;
	uint64_t strings = sizeof(MULTIBOOT_LOADER_NAME), cursor;

	b->name = in->image_name ? in->image_name : "";
	b->args = in->cmdline ? in->cmdline : "";
	b->name_len = strnlen(b->name, MULTIBOOT_CMDLINE_MAX + 1);
	b->args_len = strnlen(b->args, MULTIBOOT_CMDLINE_MAX + 1);
	b->cmdline_len = b->name_len + (b->name_len && b->args_len ? 1 : 0) + b->args_len;
	if (b->cmdline_len > MULTIBOOT_CMDLINE_MAX)
		return mb_fail(
		    -E2BIG, b->why, b->whylen,
		    "multiboot command line is %s%zu bytes (file name %zu, a space, "
		    "arguments %zu); kestrel passes at most %u: shorten the guest arguments",
		    b->name_len > MULTIBOOT_CMDLINE_MAX || b->args_len > MULTIBOOT_CMDLINE_MAX
			? "at least "
			: "",
		    b->cmdline_len, b->name_len, b->args_len, MULTIBOOT_CMDLINE_MAX);
	strings += b->cmdline_len + 1;
	if (in->nmodules > BOOT_MAX_MODULES)
		return mb_fail(-EINVAL, b->why, b->whylen, "%u modules; kestrel takes at most %u",
			       in->nmodules, BOOT_MAX_MODULES);
	for (unsigned i = 0; i < in->nmodules; i++) {
		const struct boot_module *m = &in->modules[i];

		if (!m->data && m->len)
			return mb_fail(-EINVAL, b->why, b->whylen, "module %u has no data", i + 1);
		b->mod_str_len[i] = strnlen(mb_mod_string(m), MULTIBOOT_CMDLINE_MAX + 1);
		if (b->mod_str_len[i] > MULTIBOOT_CMDLINE_MAX)
			return mb_fail(-E2BIG, b->why, b->whylen,
				       "module %u's string is more than %u bytes: shorten it",
				       i + 1, MULTIBOOT_CMDLINE_MAX);
		strings += b->mod_str_len[i] + 1;
	}
	b->ne820 = linux_build_e820(b->mem, b->e820);

	b->mods_off = MULTIBOOT_INFO_SIZE;
	b->mmap_off = b->mods_off + (uint64_t)in->nmodules * sizeof(struct multiboot_mod_entry);
	b->strings_off = b->mmap_off + (uint64_t)b->ne820 * sizeof(struct multiboot_mmap_entry);
	b->info_size = page_up(b->strings_off + strings); /* < 80 KiB */
	b->info_gpa = page_up(b->hi) > MULTIBOOT_HIGH_GPA ? page_up(b->hi) : MULTIBOOT_HIGH_GPA;
	if (b->info_gpa + b->info_size > r0_end ||
	    !guest_mem_ptr(b->mem, b->info_gpa, b->info_size))
		return mb_fail(-ENOSPC, b->why, b->whylen,
			       "no room for the multiboot information (%#" PRIx64
			       " bytes at %#" PRIx64
			       ", after the image) in guest RAM ending at %#" PRIx64
			       "; give the VM more memory (%s)",
			       b->info_size, b->info_gpa, r0_end, boot_name(b->in, "mem_size"));
	cursor = b->info_gpa + b->info_size;
	for (unsigned i = 0; i < in->nmodules; i++) {
		const struct boot_module *m = &in->modules[i];
		gpa_t at = page_up(cursor);

		if ((uint64_t)m->len > r0_end || at > r0_end - m->len ||
		    !guest_mem_ptr(b->mem, at, m->len))
			return mb_fail(-ENOSPC, b->why, b->whylen,
				       "module %u (\"%.64s\", %zu bytes) does not fit in guest RAM "
				       "below 4 GiB: it would go at %#" PRIx64
				       " and RAM region 0 ends "
				       "at %#" PRIx64 "; give the VM more memory (%s) or a smaller "
				       "module",
				       i + 1, mb_mod_string(m), m->len, at, r0_end,
				       boot_name(b->in, "mem_size"));
		b->mod_gpa[i] = at;
		cursor = at + m->len;
	}
	return 0;
}

static int mb_claims(struct mb_boot *b, struct boot_plan *plan)
{
	static const char *const mod_names[BOOT_MAX_MODULES] = {
	    "module 1",	 "module 2",  "module 3",  "module 4",	"module 5",  "module 6",
	    "module 7",	 "module 8",  "module 9",  "module 10", "module 11", "module 12",
	    "module 13", "module 14", "module 15", "module 16",
	};
	gpa_t low_lo = UINT64_MAX, low_hi = 0, high_lo = UINT64_MAX, high_hi = 0;
	int err = 0;

	/* One claim per side of the BIOS window, so no claim covers it. */
	for (unsigned i = 0; i < b->nsegs; i++) {
		const struct mb_seg *s = &b->segs[i];

		if (s->end <= MULTIBOOT_EBDA_GPA) {
			low_lo = s->gpa < low_lo ? s->gpa : low_lo;
			low_hi = s->end > low_hi ? s->end : low_hi;
		} else {
			high_lo = s->gpa < high_lo ? s->gpa : high_lo;
			high_hi = s->end > high_hi ? s->end : high_hi;
		}
	}
	if (low_hi)
		err = boot_plan_claim(plan, low_lo, low_hi - low_lo, "kernel");
	if (!err && high_hi)
		err = boot_plan_claim(plan, high_lo, high_hi - high_lo, "kernel");
	if (!err)
		err = boot_plan_claim(plan, b->info_gpa, b->info_size, "multiboot information");
	for (unsigned i = 0; !err && i < b->in->nmodules; i++)
		err = boot_plan_claim(plan, b->mod_gpa[i], b->in->modules[i].len, mod_names[i]);
	if (err) /* placement above rules this out */
		return mb_fail(err, b->why, b->whylen,
			       "internal error: multiboot claims conflict (%d)", err);
	return 0;
}

/* ---- pass 2: write guest RAM (every range was checked by pass 1) ---- */

static void mb_write(const struct mb_boot *b)
{
	const struct boot_input *in = b->in;
	struct multiboot_info mi = {0};
	uint8_t *info = guest_mem_ptr(b->mem, b->info_gpa, b->info_size);
	uint64_t s = b->strings_off;

	for (unsigned i = 0; i < b->nsegs; i++) {
		const struct mb_seg *g = &b->segs[i];
		uint8_t *dst = guest_mem_ptr(b->mem, g->gpa, g->end - g->gpa);

		memcpy(dst, in->image + g->off, g->filesz);
		memset(dst + g->filesz, 0, g->end - g->gpa - g->filesz);
	}

	memset(info, 0, b->info_size);
	mi.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
		   MULTIBOOT_INFO_MMAP | MULTIBOOT_INFO_BOOT_LOADER_NAME;
	mi.mem_lower = MULTIBOOT_MEM_LOWER_KB;
	mi.mem_upper = (uint32_t)((b->mem->r[0].size - MULTIBOOT_HIGH_GPA) >> 10);

	mi.boot_loader_name = (uint32_t)(b->info_gpa + s);
	memcpy(info + s, MULTIBOOT_LOADER_NAME, sizeof(MULTIBOOT_LOADER_NAME));
	s += sizeof(MULTIBOOT_LOADER_NAME);

	mi.cmdline = (uint32_t)(b->info_gpa + s);
	memcpy(info + s, b->name, b->name_len);
	s += b->name_len;
	if (b->name_len && b->args_len)
		info[s++] = ' ';
	memcpy(info + s, b->args, b->args_len);
	s += b->args_len + 1; /* the NUL is already there */

	mi.mods_count = in->nmodules;
	mi.mods_addr = (uint32_t)(b->info_gpa + b->mods_off);
	for (unsigned i = 0; i < in->nmodules; i++) {
		struct multiboot_mod_entry me = {
		    .mod_start = (uint32_t)b->mod_gpa[i],
		    .mod_end = (uint32_t)(b->mod_gpa[i] + in->modules[i].len),
		    .string = (uint32_t)(b->info_gpa + s),
		};

		memcpy(info + s, mb_mod_string(&in->modules[i]), b->mod_str_len[i]);
		s += b->mod_str_len[i] + 1;
		memcpy(info + b->mods_off + i * sizeof(me), &me, sizeof(me));
		if (in->modules[i].len)
			memcpy(guest_mem_ptr(b->mem, b->mod_gpa[i], in->modules[i].len),
			       in->modules[i].data, in->modules[i].len);
	}

	mi.mmap_length = (uint32_t)(b->ne820 * sizeof(struct multiboot_mmap_entry));
	mi.mmap_addr = (uint32_t)(b->info_gpa + b->mmap_off);
	for (unsigned i = 0; i < b->ne820; i++) {
		struct multiboot_mmap_entry e = {
		    .size = sizeof(e) - sizeof(e.size),
		    .base_addr = b->e820[i].addr,
		    .length = b->e820[i].size,
		    .type = b->e820[i].type == LINUX_E820_RAM ? MULTIBOOT_MMAP_RAM
							      : MULTIBOOT_MMAP_RESERVED,
		};

		memcpy(info + b->mmap_off + i * sizeof(e), &e, sizeof(e));
	}
	memcpy(info, &mi, sizeof(mi));
}

int multiboot_load(const struct boot_input *in, const struct guest_mem *mem, struct boot_plan *plan,
		   char *why, size_t whylen)
{
	struct mb_boot b = {.in = in, .mem = mem, .why = why, .whylen = whylen, .lo = UINT64_MAX};
	int err;

	if (why && whylen)
		why[0] = '\0';
	*plan = (struct boot_plan){.proto = BOOT_MULTIBOOT1,
				   .magic = MULTIBOOT_BOOT_MAGIC,
				   .aps_wait_sipi = true,
				   .low_tables = false,
				   .acpi = true,
				   .pit = true};
	if (!mem || mem->nregions == 0 || mem->nregions > KESTREL_MAX_REGIONS ||
	    mem->r[0].gpa != 0 || mem->r[0].size <= MULTIBOOT_HIGH_GPA ||
	    mem->r[0].gpa + mem->r[0].size > FOUR_GIB)
		return mb_fail(-EINVAL, why, whylen,
			       "guest RAM region 0 must start at 0 and end between 1 MiB and 4 GiB "
			       "for a multiboot kernel");
	if (!in->image || in->len == 0)
		return mb_fail(-ENOEXEC, why, whylen, "empty multiboot image");
	err = mb_find_header(&b);
	if (!err)
		err = mb_check_flags(&b, plan);
	if (!err)
		err = (b.h.flags & MULTIBOOT_AOUT_KLUDGE) ? mb_parse_aout(&b) : mb_parse_elf32(&b);
	if (!err)
		err = mb_place(&b);
	if (!err)
		err = mb_claims(&b, plan);
	if (err) {
		plan->nclaims = 0;
		plan->note[0] = '\0';
		return err;
	}
	mb_write(&b);
	plan->entry = b.entry;
	plan->arg = b.info_gpa;
	return 0;
}
