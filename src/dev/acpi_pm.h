/* acpi_pm.h - the ACPI fixed hardware kestrel's FADT describes: PM1a event/control blocks, the PM
 * timer, the hardware-reduced sleep registers. */
#ifndef KESTREL_DEV_ACPI_PM_H
#define KESTREL_DEV_ACPI_PM_H

/*
 * At the default ports of src/arch/x86/acpi.h (ACPI 6.4 sections 4.8.3):
 *   PM1a_EVT 0x600: PM1_STS (2 bytes, write 1 to clear; nothing sets a bit:
 *     no SCI is ever raised), PM1_EN (2 bytes, read/write);
 *   PM1a_CNT 0x604 (2 bytes): SCI_EN (bit 0) always reads 1 (there is no
 *     SMI_CMD to switch modes: the platform is in ACPI mode from the start);
 *     a write with SLP_EN (bit 13) is a sleep request of type SLP_TYP (bits
 *     10-12): ACPI_S5_SLP_TYP powers off, other types are logged and ignored
 *     (the DSDT offers only \_S5_); SLP_EN reads 0, the other bits read back;
 *   PM_TMR 0x608 (4 bytes, read-only): 3.579545 MHz from CLOCK_MONOTONIC,
 *     0 when the VM was created, 32 bits (the FADT sets TMR_VAL_EXT);
 *   SLEEP_CONTROL 0x60c (1 byte, hardware-reduced ACPI): a write with SLP_EN
 *     (bit 5) is a sleep request of type bits 2-4; reads 0;
 *   SLEEP_STATUS 0x60d (1 byte): WAK_STS (bit 7) write 1 to clear; reads 0.
 * Narrower and wider accesses act on the bytes they cover (bytes outside a
 * block are dropped; reads give 0 there).
 */

#include <stdbool.h>
#include <stdint.h>

#include "dev/device.h"

extern const struct dev_ops acpi_pm_dev;

enum acpi_pm_reg { ACPI_PM_EVT, ACPI_PM_CNT, ACPI_PM_TMR, ACPI_PM_SLEEP_CTL, ACPI_PM_SLEEP_STS };

struct acpi_pm {
	uint16_t sts, en, cnt;
	uint8_t sleep_sts;
};

/* acpi_pm_timer - the PM timer's value ns nanoseconds after it started:
 * 32 bits with ext (TMR_VAL_EXT), else 24. */
uint32_t acpi_pm_timer(uint64_t ns, bool ext);

/*
 * acpi_pm_io - one access of len bytes at offset off of register block
 * `reg`; timer reads use ns (nanoseconds since the timer started). Returns
 * the SLP_TYP (0..7) of a sleep request the access made, or -1.
 */
int acpi_pm_io(struct acpi_pm *p, enum acpi_pm_reg reg, uint64_t off, uint8_t *data, uint32_t len,
	       bool is_write, uint64_t ns);

#endif
