/* multiboot.h - multiboot v1 kernels: header, ELF32 / a.out-kludge loading, the information block
 * (pure). */
#ifndef KESTREL_LOAD_MULTIBOOT_H
#define KESTREL_LOAD_MULTIBOOT_H

/*
 * The Multiboot Specification 0.6.96 (GNU GRUB), as QEMU's -kernel path
 * implements it, without firmware: kestrel writes the image, the modules and
 * the information block straight into guest RAM (through guest_mem_ptr())
 * and describes the result as a boot plan (load/plan.h, BOOT_MULTIBOOT1).
 *
 * Loading (spec section 3.1):
 *   header flag bit 16 set ("a.out kludge"): the file from offset
 *     header_offset - (header_addr - load_addr) goes to load_addr, up to
 *     load_end_addr (0: the rest of the file), zeroed up to bss_end_addr
 *     (0: no bss); entry = entry_addr. Any file format, ELF64 included.
 *   bit 16 clear: the file must be an ELF32 i386 executable; every PT_LOAD
 *     goes to its p_paddr, zeroed from p_filesz to p_memsz. The entry is
 *     e_entry translated through the PT_LOAD whose [p_vaddr, +p_memsz)
 *     holds it (as GRUB 2 does: a higher-half kernel links e_entry
 *     virtual), i.e. e_entry itself when p_vaddr == p_paddr. An ELF64
 *     without bit 16 is refused, as QEMU does.
 *   The image may lie anywhere in RAM region 0 (low memory is the guest's)
 *   except [0x9fc00, 0x100000), the EBDA/VGA/BIOS window where kestrel puts
 *   the ACPI tables (0xE0000-0xFFFFF).
 *
 * Guest-physical layout: the info area and the modules go above 1 MiB and
 * after the image's highest byte (bss included), as on QEMU, which puts the
 * modules right after the kernel; nothing kestrel writes goes below 1 MiB
 * except the image itself:
 *   the image            where the header or the ELF says; claimed as
 *                        "kernel" (one claim for its part below 0x9fc00, one
 *                        for its part above 1 MiB)
 *   info area            page-aligned at max(1 MiB, end of the image),
 *                        in this order:
 *                          +0x000  struct multiboot_info
 *                          +0x080  module list (struct multiboot_mod_entry)
 *                          then    memory map (struct multiboot_mmap_entry)
 *                          then    "kestrel\0", the command line, the
 *                                  module strings (NUL-terminated)
 *                        its size rounded up to a page; claimed as
 *                        "multiboot information"
 *   module 1..n          each page-aligned, in order, after the info area,
 *                        inside RAM region 0 (below 4 GiB); claimed as
 *                        "module 1" ...
 *
 * Information block: flags MEM | CMDLINE | MODS | MMAP | BOOT_LOADER_NAME
 *   mem_lower  639 (KiB below the EBDA at 0x9fc00)
 *   mem_upper  KiB from 1 MiB to the end of RAM region 0 (the first hole)
 *   cmdline    image_name, a space, the guest arguments (QEMU: argv[0] is
 *              the file); just image_name when there are none; at most
 *              MULTIBOOT_CMDLINE_MAX bytes without the NUL
 *   mods       in->modules[0..nmodules): string = the module's string, or
 *              "" when it has none; mod_end is exclusive (start + length)
 *   mmap       size 20 entries: [0, 0x9fc00) RAM, [0x9fc00, 1 MiB)
 *              reserved, [1 MiB, end of region 0) RAM, [4 GiB, end of
 *              region 1) RAM when there is one (type 1 RAM, 2 reserved)
 *   boot_loader_name "kestrel"
 * Header flag bits 0 (page-aligned modules) and 1 (memory information) are
 * always honoured; bit 2 (video mode) is ignored with a remark in plan->note;
 * any other of bits 0-15 is a requirement kestrel cannot meet and refused.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/guestmem.h"
#include "load/plan.h"

#define MULTIBOOT_HEADER_MAGIC 0x1BADB002u /* in the image */
#define MULTIBOOT_BOOT_MAGIC 0x2BADB002u   /* in EAX at entry */
#define MULTIBOOT_SEARCH 8192u		   /* the header lies 4-byte aligned in the first 8 KiB */
#define MULTIBOOT_CMDLINE_MAX 4096u /* longest command line / module string, NUL not counted */

/* Header flags (spec 3.1.2). */
#define MULTIBOOT_PAGE_ALIGN (1u << 0)	    /* modules page-aligned */
#define MULTIBOOT_MEMORY_INFO (1u << 1)	    /* mem_* and mmap_* wanted */
#define MULTIBOOT_VIDEO_MODE (1u << 2)	    /* a video mode wanted (ignored) */
#define MULTIBOOT_AOUT_KLUDGE (1u << 16)    /* the address fields are valid */
#define MULTIBOOT_REQUIRED_MASK 0x0000ffffu /* a loader must refuse unknown bits here */

/* Information block flags (spec 3.3). */
#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MODS (1u << 3)
#define MULTIBOOT_INFO_MMAP (1u << 6)
#define MULTIBOOT_INFO_BOOT_LOADER_NAME (1u << 9)

#define MULTIBOOT_MEM_LOWER_KB 639u /* [0, 0x9fc00) */
#define MULTIBOOT_EBDA_GPA 0x9fc00ull
#define MULTIBOOT_HIGH_GPA 0x100000ull
#define MULTIBOOT_MMAP_RAM 1u
#define MULTIBOOT_MMAP_RESERVED 2u
#define MULTIBOOT_MMAP_MAX 4u	  /* entries kestrel writes at most */
#define MULTIBOOT_INFO_SIZE 0x80u /* bytes reserved for struct multiboot_info */
#define MULTIBOOT_LOADER_NAME "kestrel"

/* The header in the image: magic, flags, checksum, then (bit 16) the address fields. */
struct multiboot_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* The information block the guest finds at EBX (spec 3.3), little-endian. */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB */
	uint32_t boot_device;
	uint32_t cmdline; /* gpa of a NUL-terminated string */
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr; /* bytes of mmap entries, gpa of the first */
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info, vbe_mode_info;
	uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch, framebuffer_width, framebuffer_height;
	uint8_t framebuffer_bpp, framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_info) == 116, "multiboot_info is 116 bytes");
_Static_assert(sizeof(struct multiboot_info) <= MULTIBOOT_INFO_SIZE, "room for the info block");

struct multiboot_mod_entry {
	uint32_t mod_start, mod_end; /* [mod_start, mod_end) */
	uint32_t string;	     /* gpa of a NUL-terminated string */
	uint32_t reserved;
};
_Static_assert(sizeof(struct multiboot_mod_entry) == 16, "module entry is 16 bytes");

/* A memory map entry; `size` (20) counts the bytes after itself. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t base_addr, length;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "mmap entry is 24 bytes");

/*
 * multiboot_recognise - `image` holds a multiboot v1 header: the magic at a
 * 4-byte aligned offset with the whole 12-byte header in the first
 * MULTIBOOT_SEARCH bytes and in the file, and magic + flags + checksum == 0
 * (mod 2^32). Says nothing about loadability. Pure.
 */
bool multiboot_recognise(const uint8_t *image, size_t len);

/*
 * multiboot_load - load the multiboot kernel in->image (untrusted) and
 * in->modules into `mem` as described at the top of this file, write the
 * information block, and fill *plan (zeroed first): proto BOOT_MULTIBOOT1,
 * entry, arg = info block gpa, magic MULTIBOOT_BOOT_MAGIC, aps_wait_sipi,
 * acpi and pit true, low_tables false, the claims above, and a note when a
 * request was ignored. Returns 0 (why = ""), or a negative errno with a
 * one-line reason in `why` (always NUL-terminated when whylen > 0):
 *   -ENOEXEC  no header in the first 8 KiB; a bad checksum; a header that
 *             runs past the end of the file; required flags kestrel does not
 *             support; bad address fields (load_end_addr before load_addr,
 *             bss_end_addr before the loaded data, a load offset before the
 *             file start, data past the end of the file); not ELF32 i386
 *             without bit 16 (an ELF64 with the objcopy / a.out hint);
 *             truncated or malformed program headers; overlapping segments;
 *             an image touching [0x9fc00, 1 MiB), the MMIO hole or 4 GiB;
 *             an entry outside the loaded image; nothing to load
 *   -ENOSPC   the image (below the hole), the info area or a module (named)
 *             does not fit in guest RAM region 0
 *   -E2BIG    the command line or a module string is longer than
 *             MULTIBOOT_CMDLINE_MAX bytes
 *   -EINVAL   `mem` has no region 0 from 0 past 1 MiB (and below 4 GiB); a
 *             module with length but no data; more than BOOT_MAX_MODULES
 *             modules
 * Guest RAM is written only after every check passed.
 */
int multiboot_load(const struct boot_input *in, const struct guest_mem *mem, struct boot_plan *plan,
		   char *why, size_t whylen);

#endif
