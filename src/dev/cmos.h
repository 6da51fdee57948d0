/* cmos.h - the MC146818 RTC and CMOS RAM at 0x70/0x71: host time in BCD, and the RAM-size bytes
 * BIOSes and QEMU's kernels read. */
#ifndef KESTREL_DEV_CMOS_H
#define KESTREL_DEV_CMOS_H

/*
 * Port 0x70: a write selects the register (bits 0-6; bit 7, the NMI mask,
 * is ignored); reads give 0xff (write-only, as on QEMU). Port 0x71: the
 * selected register. A 2-byte access at 0x70 is the two byte accesses.
 *
 * Registers (index: content):
 *   0x00 0x02 0x04 0x06 0x07 0x08 0x09, 0x32: seconds, minutes, hours,
 *        day of week (1 = Sunday), day, month, year % 100, century: the host's
 *        UTC time (CLOCK_REALTIME) at the read, in BCD and 24-hour mode unless
 *        status B says binary (bit 2) or 12-hour (bit 1 clear: 1-12, bit 7 =
 *        PM). Writes to them are ignored: the guest cannot set the clock;
 *   0x0a status A: 0x26 (32.768 kHz, 1024 Hz), UIP (bit 7) always clear;
 *        bits 0-6 writable;
 *   0x0b status B: 0x02 (24-hour, BCD, no interrupts); writable;
 *   0x0c status C: 0 (no interrupt flags: the RTC raises no IRQ 8);
 *   0x0d status D: 0x80 (VRT: the battery is good);
 *   0x15/0x16  base memory in KiB: 640;
 *   0x17/0x18 and 0x30/0x31  KiB of RAM above 1 MiB, below 4 GiB, at most 0xffff;
 *   0x34/0x35  RAM above 16 MiB, below 4 GiB, in 64 KiB units, at most 0xffff;
 *   0x5b-0x5d  RAM above 4 GiB in 64 KiB units (24 bits, saturated);
 *   0x5f       number of CPUs - 1;
 *   0x14 equipment: 0x02 (an FPU); 0x2e/0x2f the checksum of 0x10-0x2d;
 *   everything else: CMOS RAM, 0 at start, read/write.
 * Multi-byte values are little-endian (low byte at the lower index).
 */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "dev/device.h"

extern const struct dev_ops cmos_dev;

#define CMOS_SIZE 128u

struct cmos {
	uint8_t index;
	uint8_t ram[CMOS_SIZE];
};

/* cmos_init - power-on contents for the machine `m`. */
void cmos_init(struct cmos *c, const struct dev_machine *m);

/* cmos_read - register `index` (0..127) at host time `now` (UTC seconds). */
uint8_t cmos_read(const struct cmos *c, uint8_t index, time_t now);

/* cmos_write - a write of v to register `index` (0..127). */
void cmos_write(struct cmos *c, uint8_t index, uint8_t v);

/* cmos_io - one access at `off` (0 = port 0x70, 1 = 0x71) of len bytes. */
void cmos_io(struct cmos *c, uint64_t off, uint8_t *data, uint32_t len, bool is_write, time_t now);

#endif
