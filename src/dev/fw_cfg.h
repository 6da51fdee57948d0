/* fw_cfg.h - QEMU's firmware configuration device (legacy I/O interface): a keyed store of items
 * and files a guest reads byte by byte. */
#ifndef KESTREL_DEV_FW_CFG_H
#define KESTREL_DEV_FW_CFG_H

/*
 * The guest side (QEMU's docs/specs/fw_cfg.rst; x86 ports in abi.h):
 *   - a 16-bit write to KESTREL_PORT_FW_CFG (or, as QEMU decodes the two
 *     ports as one, to KESTREL_PORT_FW_CFG_DATA) selects an item and resets
 *     the data offset to 0;
 *   - an 8-bit read from either port returns the next byte of the item and
 *     moves the offset on; past the item's end, or for a key nothing is
 *     stored under, reads return 0;
 *   - 8-bit writes are the data writes QEMU ignores since v2.4; every other
 *     width (16-bit reads, 32-bit accesses) is invalid on QEMU: reads give 0
 *     and move nothing, writes are ignored. There is no DMA interface (the ID
 *     item says so).
 * Selector bits: bit 15 = architecture-specific item (kept: 0x8000 and 0x0000
 * are different items), bit 14 = "write" (dropped: the same item as without).
 *
 * Items every VM gets (fw_cfg_store_init): 0x0000 "QEMU", 0x0001 ID = 1
 * (traditional interface only), 0x0003 RAM size (u64 LE, all guest RAM, as
 * QEMU's FW_CFG_RAM_SIZE), 0x0005 CPU count and 0x000f max CPUs (u16 LE),
 * 0x0019 the file directory, and the file "etc/e820" (the RAM regions,
 * 20-byte {u64 base, u64 length, u32 type 1} LE entries, as QEMU's).
 * Everything a loader would put there (FW_CFG_KERNEL_ADDR 0x07, _SIZE 0x08,
 * INITRD_* 0x0a/0x0b, KERNEL_DATA 0x11, ...) reads as 0 until the VM adds it.
 *
 * Locking: every function takes f->lock, so the VM may add items while vCPUs
 * run; the guest's selector and offset are shared by all vCPUs, as on QEMU.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/device.h"

extern const struct dev_ops fw_cfg_dev;

/* Well-known keys (QEMU's include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE 0x0000u
#define FW_CFG_ID 0x0001u
#define FW_CFG_RAM_SIZE 0x0003u
#define FW_CFG_NB_CPUS 0x0005u
#define FW_CFG_KERNEL_ADDR 0x0007u
#define FW_CFG_KERNEL_SIZE 0x0008u
#define FW_CFG_INITRD_ADDR 0x000au
#define FW_CFG_INITRD_SIZE 0x000bu
#define FW_CFG_MAX_CPUS 0x000fu
#define FW_CFG_KERNEL_DATA 0x0011u
#define FW_CFG_FILE_DIR 0x0019u
#define FW_CFG_FILE_FIRST 0x0020u
#define FW_CFG_WRITE_CHANNEL 0x4000u
#define FW_CFG_ARCH_LOCAL 0x8000u
#define FW_CFG_ID_TRADITIONAL 1u

#define FW_CFG_FILE_SLOTS 32u	    /* keys FW_CFG_FILE_FIRST .. +31, as QEMU's default */
#define FW_CFG_MAX_ITEMS 96u	    /* numbered items and files together */
#define FW_CFG_NAME_MAX 56u	    /* a file name, with its NUL */
#define FW_CFG_DIR_ENTRY 64u	    /* BE32 size, BE16 select, BE16 reserved, name[56] */
#define FW_CFG_ITEM_MAX 0xffffffffu /* the directory's sizes are 32 bits */

struct fw_cfg_item {
	uint16_t key;
	uint32_t len;
	uint8_t *data;		    /* malloc'd copy, NULL when len is 0 */
	char name[FW_CFG_NAME_MAX]; /* files only, "" for numbered items */
};

struct fw_cfg {
	pthread_mutex_t lock;
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned nitems, nfiles;
	/* the guest's view */
	const struct fw_cfg_item *cur; /* selected item, NULL: none stored under the key */
	uint16_t selector;
	uint32_t offset;
};

/*
 * fw_cfg_store_init - an empty store with the items every VM gets for the
 * machine `m` (above), in `f`, which must be zeroed (a device's state is;
 * fw_cfg_store_fini leaves it so). 0, or -ENOMEM (nothing left allocated).
 */
int fw_cfg_store_init(struct fw_cfg *f, const struct dev_machine *m);

/* fw_cfg_store_fini - free every item; `f` is zeroed again. */
void fw_cfg_store_fini(struct fw_cfg *f);

/*
 * fw_cfg_add - store a copy of data[0..len) under `key` (bit 14 ignored),
 * replacing what was there. Keys in the file range (FW_CFG_FILE_FIRST..+
 * FW_CFG_FILE_SLOTS) and FW_CFG_FILE_DIR belong to fw_cfg_add_file.
 * 0, or -EINVAL (such a key, data NULL with len > 0), -EFBIG (len over
 * FW_CFG_ITEM_MAX), -ENOSPC (FW_CFG_MAX_ITEMS stored), -ENOMEM; with a
 * one-line reason in why (may be NULL). A guest reading the key at the time
 * starts again at offset 0 of the new data.
 */
int fw_cfg_add(struct fw_cfg *f, uint16_t key, const void *data, size_t len, char *why,
	       size_t whylen);

/*
 * fw_cfg_add_file - store a copy of data[0..len) as the file `name`
 * (1..55 printable ASCII characters, e.g. "opt/org.example/blob") under the
 * next free file key (written to *key, may be NULL), and list it in the
 * directory. 0, or -EINVAL (a bad name), -EEXIST (the name is taken), -ENOSPC
 * (all FW_CFG_FILE_SLOTS used, or the store is full), -EFBIG, -ENOMEM; with
 * a reason in why (may be NULL).
 */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len, uint16_t *key,
		    char *why, size_t whylen);

/* The guest's accesses, for the device and for tests. */

/* fw_cfg_select - what a 16-bit selector write does. */
void fw_cfg_select(struct fw_cfg *f, uint16_t selector);

/* fw_cfg_read_byte - what an 8-bit data read returns (0 past the end). */
uint8_t fw_cfg_read_byte(struct fw_cfg *f);

/*
 * fw_cfg_io - one port access at `off` (0 = 0x510, 1 = 0x511) of `len`
 * bytes, decoded as described above; a read fills data[0..len).
 */
void fw_cfg_io(struct fw_cfg *f, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
