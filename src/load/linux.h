/* linux.h - the Linux x86 boot protocol: bzImage, ELF vmlinux and PVH images into guest RAM and a
 * boot plan (pure). */
#ifndef KESTREL_LOAD_LINUX_H
#define KESTREL_LOAD_LINUX_H

/*
 * Three ways into a Linux kernel, all producing a struct boot_plan
 * (load/plan.h) and writing guest RAM only through guest_mem_ptr():
 *
 *   bzImage, host-decompressed (default): the payload (unpack.h) is an ELF
 *     vmlinux; its PT_LOADs go to their p_paddr and the BSP enters its
 *     startup_64 (BOOT_LINUX64) with a zero page built around the bzImage's
 *     own setup header. No guest decompressor runs, which matters on hosts
 *     whose KVM emulates CPL0 code (~250x slower than native).
 *   bzImage, own decompressor (boot_input.no_host_decompress, or a payload
 *     format kestrel cannot unpack: bzip2, lzo): the protected-mode kernel
 *     goes to pref_address and the BSP enters it at load address + 0x200,
 *     the 64-bit entry of Documentation/arch/x86/boot.rst.
 *   ELF vmlinux: loaded by p_paddr; entered through its PVH note
 *     (XEN_ELFNOTE_PHYS32_ENTRY, BOOT_PVH, struct hvm_start_info) when it has
 *     one, else through startup_64 with a zero page whose setup header
 *     kestrel makes up (protocol 2.15, cmdline_size 2047).
 *
 * Guest-physical layout (fixed; every range written is claimed in the plan):
 *   [0x1000, 0x7000)     "boot page tables/GDT": claimed, not written, for
 *                        BOOT_LINUX64 only (arch code puts the GDT with
 *                        __BOOT_CS 0x10 / __BOOT_DS 0x18 and the identity
 *                        map's PML4/PDPT here; further page directories
 *                        may use [0x9000, 0x20000) and [0x30000, 0x9fc00),
 *                        which no loader here writes)
 *   [0x7000, 0x8000)     zero page (struct boot_params), BOOT_LINUX64
 *   [0x8000, 0x9000)     PVH: struct hvm_start_info at 0x8000, the module
 *                        list at 0x8040, the memory map at 0x8080, BOOT_PVH
 *   [0x20000, +len+1)    kernel command line, NUL-terminated (at most
 *                        LINUX_CMDLINE_MAX bytes with the NUL, and at most the
 *                        kernel's cmdline_size without it)
 *   [0x9fc00, 0x100000)  not written; reserved in e820 (EBDA, VGA, BIOS and
 *                        the ACPI tables at 0xE0000)
 *   the kernel           bzImage: [load, load + init_size) with load =
 *                        pref_address (rounded up to kernel_alignment when
 *                        relocatable); vmlinux: [lowest p_paddr, highest end)
 *   the initrd           page-aligned, as high as possible below
 *                        min(initrd_addr_max + 1, end of RAM region 0) and
 *                        above the kernel
 *
 * e820 (zero page) and the PVH memory map (version 1 entries, e820 types):
 *   [0, 0x9fc00) RAM, [0x9fc00, 0x100000) reserved, [1 MiB, end of region 0)
 *   RAM, and [4 GiB, end of region 1) RAM when there is a second region.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guestmem.h"
#include "load/plan.h"

#define LINUX_BOOT_TABLES_GPA 0x1000ull
#define LINUX_BOOT_TABLES_END 0x7000ull
#define LINUX_ZERO_PAGE_GPA 0x7000ull
#define LINUX_PVH_INFO_GPA 0x8000ull
#define LINUX_PVH_MODLIST_GPA 0x8040ull
#define LINUX_PVH_MEMMAP_GPA 0x8080ull
#define LINUX_CMDLINE_GPA 0x20000ull
#define LINUX_CMDLINE_MAX 0x10000u /* bytes at LINUX_CMDLINE_GPA, NUL included */
#define LINUX_EBDA_GPA 0x9fc00ull
#define LINUX_HIGH_GPA 0x100000ull	/* 1 MiB: the kernel and initrd load above */
#define LINUX_UNPACK_MAX (512ull << 20) /* largest decompressed payload accepted */

/* Setup header fields (offsets in the bzImage and the zero page, boot.rst). */
#define LINUX_HDR_START 0x1f1u	     /* struct setup_header begins (setup_sects) */
#define LINUX_HDR_END_MAX 0x290u     /* boot_params has room for the header up to here */
#define LINUX_BOOT_FLAG 0xaa55u	     /* at 0x1fe */
#define LINUX_HDRS_MAGIC 0x53726448u /* "HdrS" at 0x202 */
#define LINUX_LOADED_HIGH 0x01u	     /* loadflags bit 0 */
#define LINUX_XLF_KERNEL_64 0x01u    /* xloadflags bit 0: has the 64-bit entry at +0x200 */
#define LINUX_MIN_VERSION 0x020cu    /* 2.12: xloadflags, so XLF_KERNEL_64 can be checked */
#define LINUX_ELF_CMDLINE_SIZE 2047u /* x86 COMMAND_LINE_SIZE 2048, minus the NUL */

/* e820 types (also the PVH memory map's). */
#define LINUX_E820_RAM 1u
#define LINUX_E820_RESERVED 2u
#define LINUX_E820_MAX 8u /* kestrel never needs more; the zero page holds 128 */

struct linux_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* What linux_parse_header() read from a bzImage's setup header, checked. */
struct linux_header {
	uint16_t version;     /* protocol, 0x020f = 2.15 */
	unsigned setup_sects; /* 0 already turned into 4 */
	uint64_t setup_size;  /* (setup_sects + 1) * 512: the protected-mode kernel starts here */
	uint64_t kernel_size; /* file bytes after the setup code */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t kernel_alignment;
	bool relocatable;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t cmdline_size;	  /* longest command line, NUL not counted */
	uint32_t initrd_addr_max; /* highest address the initrd may occupy */
	uint32_t payload_offset;  /* from the start of the protected-mode kernel */
	uint32_t payload_length;
	size_t hdr_len; /* bytes of setup header from 0x1f1 to copy into the zero page */
};

/*
 * linux_is_bzimage - the image carries the setup-header magics (0xAA55 at
 * 0x1FE and "HdrS" at 0x202). Says nothing about bootability. Pure.
 */
bool linux_is_bzimage(const uint8_t *image, size_t len);

/*
 * linux_parse_header - check the setup header of the bzImage `image` and
 * fill *h. Refused with -ENOEXEC and a one-line reason (why always ends
 * NUL-terminated): no 0xAA55 / "HdrS", protocol older than 2.12, LOADED_HIGH
 * or XLF_KERNEL_64 clear, setup_sects past the file, a kernel shorter than
 * syssize says, relocatable with a kernel_alignment that is not a power of
 * two, pref_address below 1 MiB, init_size smaller than the kernel, a
 * payload outside the kernel. Pure.
 */
int linux_parse_header(const uint8_t *image, size_t len, struct linux_header *h, char *why,
		       size_t whylen);

/*
 * linux_build_e820 - the memory map above for `mem` (region 0 must start at
 * 0 and reach past 1 MiB). Returns the number of entries written to `out`
 * (at most LINUX_E820_MAX), or 0 when `mem` has no such shape. Pure.
 */
unsigned linux_build_e820(const struct guest_mem *mem, struct linux_e820 *out);

/*
 * linux_recognise - true for a bzImage (the magics of linux_is_bzimage) and
 * for an ELF64 x86-64 executable shaped like a Linux kernel: it has a PVH
 * note (XEN_ELFNOTE_PHYS32_ENTRY), or its entry point or a PT_LOAD's p_vaddr
 * is at or above 0xffffffff80000000 (__START_KERNEL_map) with p_vaddr !=
 * p_paddr. kestrel's bare-metal ELF64 guests are none of these: elf_load()
 * requires p_vaddr == p_paddr and their entry is a physical address. Pure;
 * false for anything malformed or too short to tell.
 */
bool linux_recognise(const uint8_t *image, size_t len);

/* Which entry of a vmlinux (or host-decompressed bzImage) to use. */
enum linux_entry {
	LINUX_ENTRY_AUTO, /* vmlinux: PVH when it has the note, else 64-bit;
			   * bzImage: the 64-bit entry */
	LINUX_ENTRY_64,	  /* the 64-bit entry with a zero page */
	LINUX_ENTRY_PVH,  /* the PVH note; refused when there is none */
};

struct linux_options {
	gpa_t rsdp; /* ACPI RSDP for the zero page (protocol 2.14+) / start info; 0 = none */
	enum linux_entry entry;
	uint64_t unpack_max; /* bound on the decompressed payload; 0 = LINUX_UNPACK_MAX */
};

/*
 * linux_load_ex - load the Linux kernel in->image (bzImage or ELF vmlinux,
 * untrusted) with in->cmdline and in->modules[0] as the initrd (when
 * in->nmodules > 0) into `mem`, writing the zero page or PVH start info,
 * and fill *plan (zeroed first). Returns 0, or a negative errno with a
 * one-line reason in `why`:
 *   -ENOEXEC  the image is malformed or cannot be booted (header, ELF, note,
 *             payload that does not decompress or is not an ELF64 vmlinux)
 *   -E2BIG    the command line is longer than the kernel takes; the
 *             decompressed payload exceeds the bound
 *   -ENOSPC   the kernel or the initrd does not fit in guest RAM
 *   -ENOMEM   the host could not allocate the decompression buffer
 *   -EINVAL   `mem` has no region 0 from 0 past 1 MiB, or LINUX_ENTRY_PVH
 *             for an image without a PVH note
 * Guest RAM is written only after every check passed.
 */
int linux_load_ex(const struct boot_input *in, const struct guest_mem *mem,
		  const struct linux_options *opt, struct boot_plan *plan, char *why,
		  size_t whylen);

/* linux_load - linux_load_ex with { .rsdp = rsdp, .entry = LINUX_ENTRY_AUTO }. */
int linux_load(const struct boot_input *in, const struct guest_mem *mem, gpa_t rsdp,
	       struct boot_plan *plan, char *why, size_t whylen);

#endif
