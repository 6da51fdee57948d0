/* pc_testdev.h - QEMU's pc-testdev: a scratch register, a page-flush port, IRQ-line ports and 64
 * KiB of RAM-like MMIO. */
#ifndef KESTREL_DEV_PC_TESTDEV_H
#define KESTREL_DEV_PC_TESTDEV_H

/*
 * As QEMU's hw/misc/pc-testdev.c, which kvm-unit-tests and the kernels
 * written for QEMU drive (ports in abi.h):
 *   0xe0-0xe3  a 32-bit scratch register: an access of n bytes at offset o
 *              writes or reads bytes o .. o+n-1 of it (little-endian); the
 *              bytes that fall past offset 3 are dropped (reads give 0 there);
 *   0xe4-0xe7  page flush: a 4-byte write of a guest-physical address. QEMU
 *              mprotects the page away and back (making KVM refault it);
 *              kestrel checks that the page is guest RAM and does nothing
 *              else: KVM keeps its mapping of RAM coherent. Other widths are
 *              ignored, as QEMU's "valid 4..4"; reads give 0;
 *   0xe8-0xeb  the same scratch register, which QEMU reaches one byte at a
 *              time (impl.max_access_size = 1) to test split accesses: the
 *              result is the same;
 *   0x2000-0x2017  a 1-byte write of v to 0x2000 + n raises (v != 0) or lowers
 *              ISA/IOAPIC line n (KVM_IRQ_LINE); other widths are ignored
 *              (QEMU: valid 1..1); reads give 0;
 *   0xff000000 + 64 KiB  reads back what was written, any width.
 */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dev/device.h"

extern const struct dev_ops pc_testdev_dev;

struct pc_testdev {
	struct dev_host *h;
	pthread_mutex_t lock;
	uint32_t scratch;
	uint64_t flushes, bad_flushes, irq_errors; /* under lock */
	uint8_t mmio[KESTREL_TESTDEV_MMIO_SIZE];
};

/* pc_testdev_scratch - an access of len bytes at offset off (0..3) of the
 * scratch register (no lock). */
void pc_testdev_scratch(uint32_t *reg, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* pc_testdev_flush_page - the page a flush write names: the 4-KiB-aligned
 * address, or UINT64_MAX for a write that is not 4 bytes wide. */
uint64_t pc_testdev_flush_page(const uint8_t *data, uint32_t len);

/*
 * pc_testdev_mmio - an access to the 64 KiB window at offset off: a write
 * copies data in, a read copies out; any part outside the window is dropped
 * (reads give 0 there). Returns false when the access left the window.
 */
bool pc_testdev_mmio(uint8_t *win, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
