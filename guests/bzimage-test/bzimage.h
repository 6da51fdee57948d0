/* bzimage.h - the Linux boot-protocol layout shared by the bzimage-test payload and
 * tests/linux/mkbzimage.c. */
#ifndef KESTREL_BZIMAGE_TEST_H
#define KESTREL_BZIMAGE_TEST_H

/*
 * Offsets into the zero page (struct boot_params) and the setup header,
 * from Linux's Documentation/arch/x86/boot.rst and zero-page.rst. The
 * setup header sits at 0x1f1 both in the image file and in the zero page.
 */
#define BP_ACPI_RSDP_ADDR 0x070	   /* u64, boot_params (not the header) */
#define BP_EXT_RAMDISK_IMAGE 0x0c0 /* u32: bits 63..32 of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8 /* u8 */
#define BP_SENTINEL 0x1ef     /* u8: non-zero when a loader copied a whole boot sector */
#define BP_E820_TABLE 0x2d0   /* struct boot_e820_entry[128]: u64 addr, u64 size, u32 type */
#define BP_E820_MAX 128u
#define BP_E820_ENTRY_SIZE 20u
#define BP_SIZE 4096u

#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1	     /* u8 */
#define HDR_SYSSIZE 0x1f4	     /* u32, 16-byte units */
#define HDR_BOOT_FLAG 0x1fe	     /* u16 0xAA55 */
#define HDR_JUMP 0x200		     /* u8 0xEB, u8 offset */
#define HDR_MAGIC 0x202		     /* "HdrS" */
#define HDR_VERSION 0x206	     /* u16 */
#define HDR_TYPE_OF_LOADER 0x210     /* u8 */
#define HDR_LOADFLAGS 0x211	     /* u8 */
#define HDR_CODE32_START 0x214	     /* u32 */
#define HDR_RAMDISK_IMAGE 0x218	     /* u32 */
#define HDR_RAMDISK_SIZE 0x21c	     /* u32 */
#define HDR_HEAP_END_PTR 0x224	     /* u16 */
#define HDR_CMD_LINE_PTR 0x228	     /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c    /* u32 */
#define HDR_KERNEL_ALIGNMENT 0x230   /* u32 */
#define HDR_RELOCATABLE 0x234	     /* u8 */
#define HDR_MIN_ALIGNMENT 0x235	     /* u8, log2 */
#define HDR_XLOADFLAGS 0x236	     /* u16 */
#define HDR_CMDLINE_SIZE 0x238	     /* u32, without the NUL */
#define HDR_HARDWARE_SUBARCH 0x23c   /* u32 */
#define HDR_PAYLOAD_OFFSET 0x248     /* u32 */
#define HDR_PAYLOAD_LENGTH 0x24c     /* u32 */
#define HDR_SETUP_DATA 0x250	     /* u64 */
#define HDR_PREF_ADDRESS 0x258	     /* u64 */
#define HDR_INIT_SIZE 0x260	     /* u32 */
#define HDR_HANDOVER_OFFSET 0x264    /* u32 */
#define HDR_KERNEL_INFO_OFFSET 0x268 /* u32, from the protected-mode kernel's start */
#define HDR_END 0x26c		     /* first byte after the 2.15 header */

#define HDR_MAGIC_VALUE 0x53726448u /* "HdrS" read as a little-endian u32 */
#define BOOT_FLAG_VALUE 0xaa55u
#define LOADFLAGS_LOADED_HIGH 0x01u
#define XLF_KERNEL_64 0x01u
#define XLF_CAN_BE_LOADED_ABOVE_4G 0x02u

/* What this image advertises (checked again by the payload in its zero page). */
#define BZT_VERSION 0x020fu
#define BZT_SETUP_SECTS 4u /* 4 setup sectors after the boot sector: 2.5 KiB of real-mode part */
#define BZT_KERNEL_ALIGNMENT 0x200000u
#define BZT_MIN_ALIGNMENT 21u /* log2(2 MiB) */
#define BZT_PREF_ADDRESS 0x1000000u
#define BZT_CMDLINE_SIZE 2047u
#define BZT_INITRD_ADDR_MAX 0x7fffffffu
#define BZT_XLOADFLAGS (XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G)

/* Inside the protected-mode kernel (the payload's link base is offset 0). */
#define BZT_KERNEL_INFO 0x100	/* kernel_info: "LToP", size, size_total, setup_type_max */
#define BZT_ENTRY64 0x200	/* the 64-bit entry the protocol defines */
#define BZT_ENTRY64_SETUP 0x240 /* the same, entered by this image's own real-mode part */

/* Where the real-mode part (setup16.S) starts inside the setup area, and its zero page. */
#define BZT_SETUP16_OFFSET 0x280
#define BZT_SETUP16_ZERO_PAGE 0x8000   /* offset from the real-mode segment */
#define BZT_SETUP16_PAGE_TABLES 0x9000 /* PML4, PDPT, PD: 3 pages */
#define BZT_SETUP16_STACK 0xe000

#endif
