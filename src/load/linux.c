/* linux.c - boot Linux: bzImage setup header, ELF vmlinux by p_paddr, PVH note, zero page / start
 * info, e820, initrd. */
#include "load/linux.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/unpack.h"

#define PAGE 0x1000ull
#define ZERO_PAGE_SIZE 0x1000ull
#define PVH_INFO_SIZE 0x1000ull		 /* the page at LINUX_PVH_INFO_GPA */
#define KERNEL_MAP 0xffffffff80000000ull /* __START_KERNEL_map: where vmlinux links */
#define VMLINUX_MAX_LOADS 16u		 /* Debian's vmlinux has 4 */
#define VMLINUX_INITRD_MAX 0x7fffffffu	 /* the default initrd_addr_max of x86 Linux */

/* Setup header offsets (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define HDR_SETUP_SECTS 0x1f1u
#define HDR_SYSSIZE 0x1f4u
#define HDR_VID_MODE 0x1fau
#define HDR_BOOT_FLAG 0x1feu
#define HDR_JUMP_LEN 0x201u /* the header ends at 0x202 + this byte */
#define HDR_MAGIC 0x202u
#define HDR_VERSION 0x206u
#define HDR_TYPE_OF_LOADER 0x210u
#define HDR_LOADFLAGS 0x211u
#define HDR_RAMDISK_IMAGE 0x218u
#define HDR_RAMDISK_SIZE 0x21cu
#define HDR_CMD_LINE_PTR 0x228u
#define HDR_INITRD_ADDR_MAX 0x22cu
#define HDR_KERNEL_ALIGNMENT 0x230u
#define HDR_RELOCATABLE 0x234u
#define HDR_XLOADFLAGS 0x236u
#define HDR_CMDLINE_SIZE 0x238u
#define HDR_PAYLOAD_OFFSET 0x248u
#define HDR_PAYLOAD_LENGTH 0x24cu
#define HDR_PREF_ADDRESS 0x258u
#define HDR_INIT_SIZE 0x260u
#define HDR_END_2_12 0x264u /* through init_size: what protocol 2.12 defines and we read */

/* struct boot_params fields outside the setup header (arch/x86/include/uapi/asm/bootparam.h). */
#define ZP_ACPI_RSDP_ADDR 0x070u
#define ZP_EXT_RAMDISK_IMAGE 0x0c0u
#define ZP_EXT_RAMDISK_SIZE 0x0c4u
#define ZP_EXT_CMD_LINE_PTR 0x0c8u
#define ZP_E820_ENTRIES 0x1e8u
#define ZP_E820_TABLE 0x2d0u
#define ZP_E820_ENTRY_SIZE 20u

/* Xen's PVH ABI (xen/include/public/arch-x86/hvm/start_info.h, elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18u
#define HVM_START_MAGIC 0x336ec578u
#define HVM_START_SIZE 56u
#define HVM_MODLIST_ENTRY_SIZE 32u
#define HVM_MEMMAP_ENTRY_SIZE 24u

__attribute__((format(printf, 4, 5))) static int lx_fail(int err, char *why, size_t whylen,
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

/* ---- bzImage setup header ---- */

bool linux_is_bzimage(const uint8_t *image, size_t len)
{
	return image && len >= HDR_MAGIC + 4 &&
	       get_le(image + HDR_BOOT_FLAG, 2) == LINUX_BOOT_FLAG &&
	       get_le(image + HDR_MAGIC, 4) == LINUX_HDRS_MAGIC;
}

int linux_parse_header(const uint8_t *image, size_t len, struct linux_header *h, char *why,
		       size_t whylen)
{
	uint64_t hdr_end, payload_end, sys;

	memset(h, 0, sizeof(*h));
	if (why && whylen)
		why[0] = '\0';
	if (!image || len < HDR_MAGIC + 4)
		return lx_fail(-ENOEXEC, why, whylen,
			       "%zu bytes is too short for a bzImage setup header (%#x)",
			       image ? len : 0, HDR_MAGIC + 4);
	if (get_le(image + HDR_BOOT_FLAG, 2) != LINUX_BOOT_FLAG)
		return lx_fail(-ENOEXEC, why, whylen,
			       "not a bzImage: boot_flag at 0x1fe is %#" PRIx64 ", not 0xaa55",
			       get_le(image + HDR_BOOT_FLAG, 2));
	if (get_le(image + HDR_MAGIC, 4) != LINUX_HDRS_MAGIC)
		return lx_fail(
		    -ENOEXEC, why, whylen,
		    "not a bzImage: no \"HdrS\" at 0x202 (a pre-2.00 zImage or a boot sector)");
	hdr_end = HDR_MAGIC + (uint64_t)image[HDR_JUMP_LEN];
	h->version = (uint16_t)get_le(image + HDR_VERSION, 2);
	if (h->version < LINUX_MIN_VERSION)
		return lx_fail(-ENOEXEC, why, whylen,
			       "boot protocol %u.%02u is older than 2.12: no xloadflags to say the "
			       "kernel has a 64-bit entry; use a newer kernel (3.8+)",
			       h->version >> 8, h->version & 0xff);
	if (hdr_end < HDR_END_2_12)
		return lx_fail(-ENOEXEC, why, whylen,
			       "setup header ends at %#" PRIx64 " (0x202 + byte 0x201), before "
			       "init_size at 0x260 that protocol %u.%02u defines",
			       hdr_end, h->version >> 8, h->version & 0xff);
	if (hdr_end > LINUX_HDR_END_MAX)
		hdr_end = LINUX_HDR_END_MAX; /* boot_params has no room for more */
	h->hdr_len = (size_t)(hdr_end - LINUX_HDR_START);

	h->setup_sects =
	    image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : 4; /* boot.rst: 0 means 4 */
	h->setup_size = ((uint64_t)h->setup_sects + 1) * 512;
	if (h->setup_size >= len)
		return lx_fail(-ENOEXEC, why, whylen,
			       "setup_sects %u puts the protected-mode kernel at %#" PRIx64
			       ", past the end of the %#zx-byte file (truncated?)",
			       h->setup_sects, h->setup_size, len);
	h->kernel_size = len - h->setup_size;
	h->loadflags = image[HDR_LOADFLAGS];
	h->xloadflags = (uint16_t)get_le(image + HDR_XLOADFLAGS, 2);
	h->kernel_alignment = (uint32_t)get_le(image + HDR_KERNEL_ALIGNMENT, 4);
	h->relocatable = image[HDR_RELOCATABLE] != 0;
	h->pref_address = get_le(image + HDR_PREF_ADDRESS, 8);
	h->init_size = (uint32_t)get_le(image + HDR_INIT_SIZE, 4);
	h->cmdline_size = (uint32_t)get_le(image + HDR_CMDLINE_SIZE, 4);
	h->initrd_addr_max = (uint32_t)get_le(image + HDR_INITRD_ADDR_MAX, 4);
	h->payload_offset = (uint32_t)get_le(image + HDR_PAYLOAD_OFFSET, 4);
	h->payload_length = (uint32_t)get_le(image + HDR_PAYLOAD_LENGTH, 4);

	if (!(h->loadflags & LINUX_LOADED_HIGH))
		return lx_fail(-ENOEXEC, why, whylen,
			       "loadflags %#x lacks LOADED_HIGH: a zImage loaded at 0x10000, which "
			       "kestrel does not boot",
			       h->loadflags);
	if (!(h->xloadflags & LINUX_XLF_KERNEL_64))
		return lx_fail(-ENOEXEC, why, whylen,
			       "xloadflags %#x lacks XLF_KERNEL_64: a 32-bit kernel, and kestrel "
			       "boots the 64-bit entry; use an x86-64 kernel",
			       h->xloadflags);
	/* syssize is the protected-mode part in 16-byte units, rounded up. */
	sys = get_le(image + HDR_SYSSIZE, 4) * 16;
	if (sys > h->kernel_size + 15)
		return lx_fail(-ENOEXEC, why, whylen,
			       "truncated: syssize says the kernel is %#" PRIx64
			       " bytes, the file holds %#" PRIx64 " after the setup code",
			       sys, h->kernel_size);
	if (h->relocatable &&
	    (h->kernel_alignment == 0 || (h->kernel_alignment & (h->kernel_alignment - 1))))
		return lx_fail(-ENOEXEC, why, whylen, "kernel_alignment %#x is not a power of two",
			       h->kernel_alignment);
	if (h->pref_address < LINUX_HIGH_GPA)
		return lx_fail(-ENOEXEC, why, whylen, "pref_address %#" PRIx64 " is below 1 MiB",
			       h->pref_address);
	if (h->init_size < h->kernel_size)
		return lx_fail(-ENOEXEC, why, whylen,
			       "init_size %#x is smaller than the %#" PRIx64
			       "-byte kernel it must hold",
			       h->init_size, h->kernel_size);
	payload_end = (uint64_t)h->payload_offset + h->payload_length; /* 33 bits: no wrap */
	if (payload_end > h->kernel_size)
		return lx_fail(-ENOEXEC, why, whylen,
			       "payload [%#x, +%#x) runs past the %#" PRIx64
			       "-byte protected-mode kernel (truncated?)",
			       h->payload_offset, h->payload_length, h->kernel_size);
	return 0;
}

/* ---- memory map ---- */

unsigned linux_build_e820(const struct guest_mem *mem, struct linux_e820 *out)
{
	unsigned n = 0;

	if (!mem || mem->nregions == 0 || mem->nregions > KESTREL_MAX_REGIONS ||
	    mem->r[0].gpa != 0 || mem->r[0].size <= LINUX_HIGH_GPA)
		return 0;
	out[n++] = (struct linux_e820){0, LINUX_EBDA_GPA, LINUX_E820_RAM};
	out[n++] = (struct linux_e820){LINUX_EBDA_GPA, LINUX_HIGH_GPA - LINUX_EBDA_GPA,
				       LINUX_E820_RESERVED};
	out[n++] =
	    (struct linux_e820){LINUX_HIGH_GPA, mem->r[0].size - LINUX_HIGH_GPA, LINUX_E820_RAM};
	for (unsigned i = 1; i < mem->nregions; i++)
		if (mem->r[i].size)
			out[n++] =
			    (struct linux_e820){mem->r[i].gpa, mem->r[i].size, LINUX_E820_RAM};
	return n;
}

/* ---- ELF vmlinux ---- */

struct lx_seg {
	uint64_t off, filesz; /* file range */
	gpa_t gpa, end;	      /* guest range [gpa, end) */
	uint64_t vaddr;
	uint8_t *host;
	bool exec;
};

/* What lx_parse_elf found, all checked. */
struct lx_elf {
	unsigned nsegs;
	struct lx_seg segs[VMLINUX_MAX_LOADS];
	gpa_t lo, hi; /* the kernel's footprint [lo, hi) */
	uint64_t e_entry;
	bool has_entry64;
	gpa_t entry64; /* startup_64, physical */
	bool has_pvh;
	uint32_t pvh_entry;
};

/* The file header of an ELF64 x86-64 executable with its phdr table inside the file. */
static int lx_elf_header(const uint8_t *img, size_t len, Elf64_Ehdr *eh, char *why, size_t whylen)
{
	uint64_t table_end;

	if (len < sizeof(*eh) || memcmp(img, ELFMAG, SELFMAG) != 0)
		return lx_fail(-ENOEXEC, why, whylen, "not an ELF file (bad magic or truncated)");
	memcpy(eh, img, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return lx_fail(-ENOEXEC, why, whylen,
			       "ELF class %u, data %u, machine %u: not a 64-bit x86-64 kernel",
			       eh->e_ident[EI_CLASS], eh->e_ident[EI_DATA], eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return lx_fail(-ENOEXEC, why, whylen, "ELF type %u is not an executable (ET_EXEC)",
			       eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phnum == PN_XNUM)
		return lx_fail(-ENOEXEC, why, whylen,
			       "bad program header table (%u entries of %u bytes)", eh->e_phnum,
			       eh->e_phentsize);
	/* e_phnum < 2^16 entries of 56 bytes: the product cannot wrap. */
	if (__builtin_add_overflow(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr),
				   &table_end) ||
	    table_end > len)
		return lx_fail(-ENOEXEC, why, whylen,
			       "program header table at %#" PRIx64 " runs past the %#zx-byte file",
			       eh->e_phoff, len);
	return 0;
}

static void lx_phdr(const uint8_t *img, const Elf64_Ehdr *eh, unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, img + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

/*
 * Scan one PT_NOTE for XEN_ELFNOTE_PHYS32_ENTRY. Returns 1 (found, *entry
 * set), 0 (not there), or -ENOEXEC for a note that runs past its segment or
 * the PVH note with a descriptor that is not 4 or 8 bytes.
 */
static int lx_pvh_note(const uint8_t *img, size_t len, const Elf64_Phdr *ph, uint32_t *entry,
		       char *why, size_t whylen)
{
	uint64_t align = ph->p_align == 8 ? 8 : 4, off = ph->p_offset, end;

	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end) || end > len)
		return lx_fail(-ENOEXEC, why, whylen,
			       "PT_NOTE [%#" PRIx64 ", +%#" PRIx64 ") runs past the %#zx-byte file",
			       ph->p_offset, ph->p_filesz, len);
	while (end - off >= 12) {
		uint64_t namesz = get_le(img + off, 4), descsz = get_le(img + off + 4, 4);
		uint64_t type = get_le(img + off + 8, 4);
		uint64_t name_pad = (namesz + align - 1) & ~(align - 1); /* < 2^33: no wrap */
		uint64_t desc_pad = (descsz + align - 1) & ~(align - 1);
		uint64_t desc = off + 12 + name_pad;

		if (12 + name_pad + descsz > end - off)
			return lx_fail(-ENOEXEC, why, whylen,
				       "truncated ELF note at %#" PRIx64 " (name %" PRIu64
				       " and descriptor %" PRIu64 " bytes, %" PRIu64 " left)",
				       off, namesz, descsz, end - off - 12);
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(img + off + 12, "Xen", 4) == 0) {
			uint64_t v;

			if (descsz != 4 && descsz != 8)
				return lx_fail(-ENOEXEC, why, whylen,
					       "PVH note (XEN_ELFNOTE_PHYS32_ENTRY) has a %" PRIu64
					       "-byte descriptor, expected 4 or 8",
					       descsz);
			v = get_le(img + desc, (unsigned)descsz);
			if (v > UINT32_MAX)
				return lx_fail(-ENOEXEC, why, whylen,
					       "PVH entry %#" PRIx64 " is above 4 GiB", v);
			*entry = (uint32_t)v;
			return 1;
		}
		/* The last note's padding may be cut off by p_filesz. */
		if (12 + name_pad + desc_pad >= end - off)
			break;
		off += 12 + name_pad + desc_pad;
	}
	return 0;
}

/* Pass 1 over a vmlinux: every PT_LOAD by p_paddr, the PVH note, the 64-bit entry. */
static int lx_parse_elf(const uint8_t *img, size_t len, const struct guest_mem *mem,
			struct lx_elf *e, char *why, size_t whylen)
{
	Elf64_Ehdr eh;
	int err = lx_elf_header(img, len, &eh, why, whylen);

	if (err)
		return err;
	memset(e, 0, sizeof(*e));
	e->lo = UINT64_MAX;
	e->e_entry = eh.e_entry;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		struct lx_seg *s;
		uint64_t file_end;

		lx_phdr(img, &eh, i, &ph);
		if (ph.p_type == PT_NOTE && !e->has_pvh) {
			err = lx_pvh_note(img, len, &ph, &e->pvh_entry, why, whylen);
			if (err < 0)
				return err;
			e->has_pvh = err == 1;
			continue;
		}
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (e->nsegs == VMLINUX_MAX_LOADS)
			return lx_fail(-ENOEXEC, why, whylen, "more than %u PT_LOAD segments",
				       VMLINUX_MAX_LOADS);
		s = &e->segs[e->nsegs];
		if (ph.p_filesz > ph.p_memsz ||
		    __builtin_add_overflow(ph.p_offset, ph.p_filesz, &file_end) || file_end > len)
			return lx_fail(-ENOEXEC, why, whylen,
				       "segment %u: file range %#" PRIx64 "+%#" PRIx64
				       " (memsz %#" PRIx64 ") is not inside the %#zx-byte file",
				       i, ph.p_offset, ph.p_filesz, ph.p_memsz, len);
		if (__builtin_add_overflow(ph.p_paddr, ph.p_memsz, &s->end) ||
		    ph.p_paddr < LINUX_HIGH_GPA)
			return lx_fail(-ENOEXEC, why, whylen,
				       "segment %u: physical range %#" PRIx64 "+%#" PRIx64
				       " wraps or starts below 1 MiB",
				       i, ph.p_paddr, ph.p_memsz);
		s->host = guest_mem_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!s->host)
			return lx_fail(-ENOSPC, why, whylen,
				       "segment %u [%#" PRIx64 ", %#" PRIx64
				       ") is not inside guest RAM "
				       "(%" PRIu64 " MiB); give the VM more memory",
				       i, ph.p_paddr, s->end, mem->total >> 20);
		s->off = ph.p_offset;
		s->filesz = ph.p_filesz;
		s->gpa = ph.p_paddr;
		s->vaddr = ph.p_vaddr;
		s->exec = (ph.p_flags & PF_X) != 0;
		for (unsigned j = 0; j < e->nsegs; j++)
			if (s->gpa < e->segs[j].end && e->segs[j].gpa < s->end)
				return lx_fail(-ENOEXEC, why, whylen,
					       "segment %u [%#" PRIx64 ", %#" PRIx64
					       ") overlaps an earlier one at %#" PRIx64,
					       i, s->gpa, s->end, e->segs[j].gpa);
		if (s->gpa < e->lo)
			e->lo = s->gpa;
		if (s->end > e->hi)
			e->hi = s->end;
		e->nsegs++;
	}
	if (e->nsegs == 0)
		return lx_fail(-ENOEXEC, why, whylen, "no PT_LOAD segment: nothing to load");

	/* vmlinux.lds says ENTRY(phys_startup_64): e_entry is usually physical
	 * already; a virtual one (>= __START_KERNEL_map) is translated through
	 * the PT_LOAD that contains it. Either way it must be executable. */
	for (unsigned j = 0; j < e->nsegs && !e->has_entry64; j++) {
		const struct lx_seg *s = &e->segs[j];
		uint64_t size = s->end - s->gpa;

		if (!s->exec)
			continue;
		if (eh.e_entry >= KERNEL_MAP && eh.e_entry - s->vaddr < size &&
		    eh.e_entry >= s->vaddr) {
			e->entry64 = s->gpa + (eh.e_entry - s->vaddr);
			e->has_entry64 = true;
		} else if (eh.e_entry < KERNEL_MAP && eh.e_entry >= s->gpa && eh.e_entry < s->end) {
			e->entry64 = eh.e_entry;
			e->has_entry64 = true;
		}
	}
	if (e->has_pvh) {
		bool inside = false;

		for (unsigned j = 0; j < e->nsegs; j++)
			if (e->segs[j].exec && e->pvh_entry >= e->segs[j].gpa &&
			    e->pvh_entry < e->segs[j].end)
				inside = true;
		if (!inside)
			return lx_fail(-ENOEXEC, why, whylen,
				       "PVH entry %#" PRIx32 " is outside every executable PT_LOAD",
				       e->pvh_entry);
	}
	if (!e->has_entry64 && !e->has_pvh)
		return lx_fail(-ENOEXEC, why, whylen,
			       "entry point %#" PRIx64 " is outside every executable PT_LOAD "
			       "(by physical or virtual address) and there is no PVH note",
			       eh.e_entry);
	return 0;
}

bool linux_recognise(const uint8_t *image, size_t len)
{
	Elf64_Ehdr eh;

	if (linux_is_bzimage(image, len))
		return true;
	if (!image || lx_elf_header(image, len, &eh, NULL, 0) != 0)
		return false;
	if (eh.e_entry >= KERNEL_MAP)
		return true;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint32_t entry;

		lx_phdr(image, &eh, i, &ph);
		if (ph.p_type == PT_LOAD && ph.p_vaddr >= KERNEL_MAP && ph.p_vaddr != ph.p_paddr)
			return true;
		if (ph.p_type == PT_NOTE && lx_pvh_note(image, len, &ph, &entry, NULL, 0) == 1)
			return true;
	}
	return false;
}

/* ---- the common part: command line, initrd, zero page, start info ---- */

/* One boot in progress: the checks fill it, then lx_write() writes guest RAM. */
struct lx_boot {
	const struct boot_input *in;
	const struct guest_mem *mem;
	gpa_t rsdp;
	struct boot_plan *plan;
	char *why;
	size_t whylen;

	/* the setup header for the zero page: the bzImage's, or made up */
	uint8_t hdr[LINUX_HDR_END_MAX - LINUX_HDR_START];
	size_t hdr_len;
	uint16_t version;
	uint32_t cmdline_size, initrd_addr_max;

	gpa_t kernel_lo, kernel_hi; /* claimed as "kernel" */
	const char *cmdline;
	size_t cmdline_len;
	const uint8_t *initrd;
	uint64_t initrd_size;
	gpa_t initrd_gpa;
	struct linux_e820 e820[LINUX_E820_MAX];
	unsigned ne820;
};

/* b->hdr at zero-page offset `off` (0x1f1 <= off < LINUX_HDR_END_MAX). */
static uint8_t *lx_hdr_at(struct lx_boot *b, unsigned off)
{
	return b->hdr + (off - LINUX_HDR_START);
}

/* A setup header for a vmlinux that came without one (Firecracker does the same). */
static void lx_fake_header(struct lx_boot *b)
{
	memset(b->hdr, 0, sizeof(b->hdr));
	put_le(lx_hdr_at(b, HDR_VID_MODE), 0xffff, 2); /* "normal" */
	put_le(lx_hdr_at(b, HDR_BOOT_FLAG), LINUX_BOOT_FLAG, 2);
	*lx_hdr_at(b, HDR_JUMP_LEN) = 0x268 + 4 - HDR_MAGIC; /* header through kernel_info_offset */
	put_le(lx_hdr_at(b, HDR_MAGIC), LINUX_HDRS_MAGIC, 4);
	put_le(lx_hdr_at(b, HDR_VERSION), 0x020f, 2);
	*lx_hdr_at(b, HDR_LOADFLAGS) = LINUX_LOADED_HIGH;
	put_le(lx_hdr_at(b, HDR_INITRD_ADDR_MAX), VMLINUX_INITRD_MAX, 4);
	put_le(lx_hdr_at(b, HDR_KERNEL_ALIGNMENT), 0x200000, 4);
	put_le(lx_hdr_at(b, HDR_XLOADFLAGS), LINUX_XLF_KERNEL_64, 2);
	put_le(lx_hdr_at(b, HDR_CMDLINE_SIZE), LINUX_ELF_CMDLINE_SIZE, 4);
	b->hdr_len = 0x268 + 4 - LINUX_HDR_START;
	b->version = 0x020f;
	b->cmdline_size = LINUX_ELF_CMDLINE_SIZE;
	b->initrd_addr_max = VMLINUX_INITRD_MAX;
}

static void lx_take_header(struct lx_boot *b, const uint8_t *image, const struct linux_header *h)
{
	memset(b->hdr, 0, sizeof(b->hdr));
	memcpy(b->hdr, image + LINUX_HDR_START, h->hdr_len);
	b->hdr_len = h->hdr_len;
	b->version = h->version;
	b->cmdline_size = h->cmdline_size;
	b->initrd_addr_max = h->initrd_addr_max;
}

/* Command line and initrd placement; no guest RAM written. */
static int lx_place(struct lx_boot *b)
{
	const struct guest_mem *mem = b->mem;
	uint64_t top, lo, addr;

	b->cmdline = b->in->cmdline ? b->in->cmdline : "";
	b->cmdline_len = strnlen(b->cmdline, LINUX_CMDLINE_MAX);
	if (b->cmdline_len > b->cmdline_size || b->cmdline_len + 1 > LINUX_CMDLINE_MAX)
		return lx_fail(
		    -E2BIG, b->why, b->whylen,
		    "kernel command line is %s%zu bytes; this kernel takes at most %" PRIu32,
		    b->cmdline_len >= LINUX_CMDLINE_MAX ? "at least " : "", b->cmdline_len,
		    b->cmdline_size < LINUX_CMDLINE_MAX - 1 ? b->cmdline_size
							    : LINUX_CMDLINE_MAX - 1);
	if (!guest_mem_ptr(mem, LINUX_CMDLINE_GPA, b->cmdline_len + 1) ||
	    !guest_mem_ptr(mem, LINUX_ZERO_PAGE_GPA, ZERO_PAGE_SIZE) ||
	    !guest_mem_ptr(mem, LINUX_PVH_INFO_GPA, PVH_INFO_SIZE))
		return lx_fail(-EINVAL, b->why, b->whylen,
			       "guest RAM does not cover the first MiB");

	if (b->in->nmodules == 0)
		return 0;
	b->initrd = b->in->modules[0].data;
	b->initrd_size = b->in->modules[0].len;
	if (b->initrd_size == 0)
		return 0;     /* an empty initrd is no initrd */
	top = mem->r[0].size; /* region 0 starts at 0 (checked by the caller) */
	if ((uint64_t)b->initrd_addr_max + 1 < top)
		top = (uint64_t)b->initrd_addr_max + 1;
	lo = (b->kernel_hi + PAGE - 1) & ~(PAGE - 1);
	if (top < lo || b->initrd_size > top - lo)
		return lx_fail(-ENOSPC, b->why, b->whylen,
			       "initrd of %" PRIu64 " bytes does not fit: %" PRIu64
			       " bytes free between the kernel's end %#" PRIx64 " and %#" PRIx64
			       " (min of initrd_addr_max and RAM); give more memory",
			       b->initrd_size, top > lo ? top - lo : 0, lo, top);
	addr = (top - b->initrd_size) & ~(PAGE - 1);
	if (!guest_mem_ptr(mem, addr, b->initrd_size))
		return lx_fail(-ENOSPC, b->why, b->whylen, "initrd at %#" PRIx64 " is outside RAM",
			       addr);
	b->initrd_gpa = addr;
	return 0;
}

static int lx_claim(struct lx_boot *b, gpa_t start, uint64_t size, const char *what)
{
	int err = boot_plan_claim(b->plan, start, size, what);

	if (err)
		return lx_fail(-ENOEXEC, b->why, b->whylen,
			       "%s [%#" PRIx64 ", %#" PRIx64 ") overlaps another part of the boot",
			       what, start, start + size);
	return 0;
}

/* Claims for everything placed; no guest RAM written. */
static int lx_claims(struct lx_boot *b, bool pvh)
{
	int err = 0;

	if (!pvh)
		err =
		    lx_claim(b, LINUX_BOOT_TABLES_GPA,
			     LINUX_BOOT_TABLES_END - LINUX_BOOT_TABLES_GPA, "boot page tables/GDT");
	if (!err)
		err = pvh ? lx_claim(b, LINUX_PVH_INFO_GPA, PVH_INFO_SIZE, "PVH start info")
			  : lx_claim(b, LINUX_ZERO_PAGE_GPA, ZERO_PAGE_SIZE, "zero page");
	if (!err)
		err = lx_claim(b, LINUX_CMDLINE_GPA, b->cmdline_len + 1, "command line");
	if (!err)
		err = lx_claim(b, b->kernel_lo, b->kernel_hi - b->kernel_lo, "kernel");
	if (!err && b->initrd_gpa)
		err = lx_claim(b, b->initrd_gpa, b->initrd_size, "initrd");
	return err;
}

/* Command line and initrd into guest RAM (lx_place checked both ranges). */
static void lx_write_common(const struct lx_boot *b)
{
	memcpy(guest_mem_ptr(b->mem, LINUX_CMDLINE_GPA, b->cmdline_len + 1), b->cmdline,
	       b->cmdline_len);
	((uint8_t *)guest_mem_ptr(b->mem, LINUX_CMDLINE_GPA + b->cmdline_len, 1))[0] = '\0';
	if (b->initrd_gpa)
		memcpy(guest_mem_ptr(b->mem, b->initrd_gpa, b->initrd_size), b->initrd,
		       b->initrd_size);
}

static void lx_write_zero_page(const struct lx_boot *b)
{
	uint8_t *zp = guest_mem_ptr(b->mem, LINUX_ZERO_PAGE_GPA, ZERO_PAGE_SIZE);

	memset(zp, 0, ZERO_PAGE_SIZE);
	memcpy(zp + LINUX_HDR_START, b->hdr, b->hdr_len);
	zp[HDR_TYPE_OF_LOADER] = 0xff; /* "undefined" loader: no registered id */
	zp[HDR_LOADFLAGS] |= LINUX_LOADED_HIGH;
	put_le(zp + HDR_CMD_LINE_PTR, LINUX_CMDLINE_GPA & 0xffffffff, 4);
	put_le(zp + ZP_EXT_CMD_LINE_PTR, LINUX_CMDLINE_GPA >> 32, 4);
	put_le(zp + HDR_RAMDISK_IMAGE, b->initrd_gpa & 0xffffffff, 4);
	put_le(zp + ZP_EXT_RAMDISK_IMAGE, b->initrd_gpa >> 32, 4);
	put_le(zp + HDR_RAMDISK_SIZE, b->initrd_gpa ? b->initrd_size & 0xffffffff : 0, 4);
	put_le(zp + ZP_EXT_RAMDISK_SIZE, b->initrd_gpa ? b->initrd_size >> 32 : 0, 4);
	if (b->version >= 0x020e) /* acpi_rsdp_addr: protocol 2.14 */
		put_le(zp + ZP_ACPI_RSDP_ADDR, b->rsdp, 8);
	zp[ZP_E820_ENTRIES] = (uint8_t)b->ne820;
	for (unsigned i = 0; i < b->ne820; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + i * ZP_E820_ENTRY_SIZE;

		put_le(e, b->e820[i].addr, 8);
		put_le(e + 8, b->e820[i].size, 8);
		put_le(e + 16, b->e820[i].type, 4);
	}
}

static void lx_write_pvh_info(const struct lx_boot *b)
{
	uint8_t *si = guest_mem_ptr(b->mem, LINUX_PVH_INFO_GPA, PVH_INFO_SIZE);
	uint8_t *mod = si + (LINUX_PVH_MODLIST_GPA - LINUX_PVH_INFO_GPA);
	uint8_t *map = si + (LINUX_PVH_MEMMAP_GPA - LINUX_PVH_INFO_GPA);

	memset(si, 0, PVH_INFO_SIZE);
	put_le(si + 0, HVM_START_MAGIC, 4);
	put_le(si + 4, 1, 4); /* version 1: has the memory map */
	put_le(si + 24, LINUX_CMDLINE_GPA, 8);
	put_le(si + 32, b->rsdp, 8);
	put_le(si + 40, LINUX_PVH_MEMMAP_GPA, 8);
	put_le(si + 48, b->ne820, 4);
	if (b->initrd_gpa) {
		put_le(si + 12, 1, 4); /* nr_modules: the kernel takes module 0 as its initrd */
		put_le(si + 16, LINUX_PVH_MODLIST_GPA, 8);
		put_le(mod, b->initrd_gpa, 8);
		put_le(mod + 8, b->initrd_size, 8);
	}
	for (unsigned i = 0; i < b->ne820; i++) {
		uint8_t *e = map + i * HVM_MEMMAP_ENTRY_SIZE;

		put_le(e, b->e820[i].addr, 8);
		put_le(e + 8, b->e820[i].size, 8);
		put_le(e + 16, b->e820[i].type, 4);
	}
}

/*
 * The platform a Linux guest needs, either entry:
 *   aps_wait_sipi: Linux brings the APs up itself with INIT/SIPI from the
 *     MADT's LAPIC list; they must not run from kestrel's entry.
 *   acpi: without firmware, ACPI (RSDP found at 0xE0000 or given in the
 *     zero page / start info) is how Linux finds the CPUs and the IOAPIC.
 *   ioapic: the MADT's IOAPIC routes ISA interrupts (the UART's IRQ 4).
 *   pit: Linux's check_timer() tests IRQ 0 through the IOAPIC and panics
 *     ("IO-APIC + timer doesn't work") without a PIT unless no_timer_check;
 *     it also calibrates the TSC against it when CPUID has no TSC rate.
 * low_tables: only the 64-bit entry needs kestrel's GDT and identity map;
 *   PVH starts with paging off and loads its own GDT first thing.
 */
static void lx_plan(struct boot_plan *p, enum boot_protocol proto, gpa_t entry, uint64_t arg)
{
	p->proto = proto;
	p->entry = entry;
	p->arg = arg;
	p->magic = 0;
	p->aps_wait_sipi = true;
	p->low_tables = proto == BOOT_LINUX64;
	p->acpi = true;
	p->ioapic = true;
	p->pit = true;
}

/* The bzImage's own decompressor through the 64-bit entry at load + 0x200. */
static int lx_boot_bzimage(struct lx_boot *b, const struct linux_header *h)
{
	const uint8_t *image = b->in->image;
	uint64_t load = h->pref_address;
	uint8_t *dst;
	int err;

	if (h->relocatable) {
		uint64_t mask = (uint64_t)h->kernel_alignment - 1;

		if (__builtin_add_overflow(load, mask, &load))
			return lx_fail(-ENOEXEC, b->why, b->whylen,
				       "pref_address %#" PRIx64 " wraps", h->pref_address);
		load &= ~mask;
	}
	if (__builtin_add_overflow(load, (uint64_t)h->init_size, &b->kernel_hi) ||
	    !(dst = guest_mem_ptr(b->mem, load, h->init_size)))
		return lx_fail(-ENOSPC, b->why, b->whylen,
			       "the kernel needs [%#" PRIx64
			       ", +%#x) (pref_address + init_size) but "
			       "guest RAM is %" PRIu64 " MiB; give the VM more memory",
			       load, h->init_size, b->mem->total >> 20);
	b->kernel_lo = load;
	lx_take_header(b, image, h);
	err = lx_place(b);
	if (!err)
		err = lx_claims(b, false);
	if (err)
		return err;

	memcpy(dst, image + h->setup_size, h->kernel_size);
	lx_write_common(b);
	lx_write_zero_page(b);
	lx_plan(b->plan, BOOT_LINUX64, load + 0x200, LINUX_ZERO_PAGE_GPA);
	return 0;
}

/* A vmlinux (given, or unpacked from a bzImage whose header `h` then fills the zero page). */
static int lx_boot_vmlinux(struct lx_boot *b, const uint8_t *img, size_t len,
			   const struct linux_header *h, enum linux_entry want)
{
	struct lx_elf *e = malloc(sizeof(*e));
	bool pvh;
	int err;

	if (!e)
		return lx_fail(-ENOMEM, b->why, b->whylen, "out of memory");
	err = lx_parse_elf(img, len, b->mem, e, b->why, b->whylen);
	if (err)
		goto out;
	if (want == LINUX_ENTRY_PVH && !e->has_pvh) {
		err = lx_fail(-EINVAL, b->why, b->whylen,
			      "the kernel has no PVH note (XEN_ELFNOTE_PHYS32_ENTRY); boot it "
			      "through the 64-bit entry");
		goto out;
	}
	/* AUTO: PVH for a plain vmlinux that has it; a bzImage's own header is the
	 * better description of the kernel, so an unpacked one gets the zero page. */
	pvh = want == LINUX_ENTRY_PVH || (want == LINUX_ENTRY_AUTO && !h && e->has_pvh);
	if (!pvh && !e->has_entry64) {
		err = lx_fail(-ENOEXEC, b->why, b->whylen,
			      "entry point %#" PRIx64 " is outside every executable PT_LOAD, so "
			      "there is no 64-bit entry",
			      e->e_entry);
		goto out;
	}
	if (h)
		lx_take_header(b, b->in->image, h);
	else
		lx_fake_header(b);
	b->kernel_lo = e->lo;
	b->kernel_hi = e->hi;
	err = lx_place(b);
	if (!err)
		err = lx_claims(b, pvh);
	if (err)
		goto out;

	for (unsigned i = 0; i < e->nsegs; i++) {
		const struct lx_seg *s = &e->segs[i];

		memcpy(s->host, img + s->off, s->filesz);
		memset(s->host + s->filesz, 0, s->end - s->gpa - s->filesz);
	}
	lx_write_common(b);
	if (pvh) {
		lx_write_pvh_info(b);
		lx_plan(b->plan, BOOT_PVH, e->pvh_entry, LINUX_PVH_INFO_GPA);
	} else {
		lx_write_zero_page(b);
		lx_plan(b->plan, BOOT_LINUX64, e->entry64, LINUX_ZERO_PAGE_GPA);
	}
out:
	free(e);
	return err;
}

int linux_load_ex(const struct boot_input *in, const struct guest_mem *mem,
		  const struct linux_options *opt, struct boot_plan *plan, char *why, size_t whylen)
{
	static const struct linux_options defaults;
	struct lx_boot *b;
	struct linux_header h;
	int err;

	if (why && whylen)
		why[0] = '\0';
	memset(plan, 0, sizeof(*plan));
	if (!opt)
		opt = &defaults;
	if (!in || !in->image || in->len == 0)
		return lx_fail(-ENOEXEC, why, whylen, "empty kernel image");
	if (!mem || mem->nregions == 0 || mem->r[0].gpa != 0 || mem->r[0].size <= LINUX_HIGH_GPA)
		return lx_fail(-EINVAL, why, whylen,
			       "guest RAM must start at 0 and reach past 1 MiB to boot Linux");
	b = calloc(1, sizeof(*b));
	if (!b)
		return lx_fail(-ENOMEM, why, whylen, "out of memory");
	*b = (struct lx_boot){
	    .in = in, .mem = mem, .rsdp = opt->rsdp, .plan = plan, .why = why, .whylen = whylen};
	b->ne820 = linux_build_e820(mem, b->e820);

	if (linux_is_bzimage(in->image, in->len)) {
		err = linux_parse_header(in->image, in->len, &h, why, whylen);
		if (err)
			goto out;
		if (!in->no_host_decompress) {
			enum unpack_format fmt;
			uint8_t *vm;
			size_t vmlen;

			err = unpack_bzimage(in->image, in->len,
					     opt->unpack_max ? opt->unpack_max : LINUX_UNPACK_MAX,
					     &fmt, &vm, &vmlen, why, whylen);
			if (err == 0) {
				err = lx_boot_vmlinux(b, vm, vmlen, &h, opt->entry);
				free(vm);
				if (err == 0)
					snprintf(plan->note, sizeof(plan->note),
						 "bzImage payload (%s, %zu bytes) decompressed by "
						 "kestrel",
						 unpack_format_name(fmt), vmlen);
				else if (err == -ENOEXEC && why && whylen) {
					char inner[200];

					snprintf(inner, sizeof(inner), "%s", why);
					snprintf(why, whylen, "decompressed %s payload: %s",
						 unpack_format_name(fmt), inner);
				}
				goto out;
			}
			if (err != -ENOEXEC || unpack_supported(fmt))
				goto out;
			/* bzip2, lzo, or no recognised magic: the kernel's own decompressor. */
			if (why && whylen)
				why[0] = '\0';
			snprintf(plan->note, sizeof(plan->note),
				 "bzImage payload format %s is not decompressed by kestrel: the "
				 "kernel decompresses itself",
				 unpack_format_name(fmt));
		}
		if (opt->entry == LINUX_ENTRY_PVH) {
			err = lx_fail(
			    -EINVAL, why, whylen,
			    "a bzImage booted through its own decompressor has no PVH entry");
			goto out;
		}
		err = lx_boot_bzimage(b, &h);
	} else if (in->len >= SELFMAG && memcmp(in->image, ELFMAG, SELFMAG) == 0) {
		err = lx_boot_vmlinux(b, in->image, in->len, NULL, opt->entry);
	} else {
		err = lx_fail(
		    -ENOEXEC, why, whylen,
		    "neither a bzImage (no 0xaa55/\"HdrS\" setup header) nor an ELF vmlinux");
	}
out:
	if (err) {
		memset(plan, 0, sizeof(*plan));
		if (why && whylen && why[0] == '\0')
			lx_fail(err, why, whylen, "cannot boot this kernel (error %d)", err);
	}
	free(b);
	return err;
}

int linux_load(const struct boot_input *in, const struct guest_mem *mem, gpa_t rsdp,
	       struct boot_plan *plan, char *why, size_t whylen)
{
	const struct linux_options opt = {.rsdp = rsdp, .entry = LINUX_ENTRY_AUTO};

	return linux_load_ex(in, mem, &opt, plan, why, whylen);
}
