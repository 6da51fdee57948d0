/* acpi.h - pure builder and checker for kestrel's minimal ACPI tables (RSDP, RSDT/XSDT, FADT, FACS,
 * MADT, DSDT). */
#ifndef KESTREL_ARCH_X86_ACPI_H
#define KESTREL_ARCH_X86_ACPI_H

/*
 * What a guest without firmware needs to find its CPUs, its interrupt
 * controllers, a PM timer and a way to power off (ACPI 6.x; section numbers
 * below are the ACPI 6.4 specification's). No KVM call, no allocation: the
 * caller hands in the host mapping of a guest-physical window, normally
 * ACPI_WINDOW_GPA / ACPI_WINDOW_SIZE, where a guest scanning 0xE0000-0xFFFFF
 * on 16-byte boundaries finds the RSDP (5.2.5.1).
 *
 * Layout written at the start of the window (offsets from base_gpa; each
 * table starts on a 16-byte boundary, the FACS on a 64-byte one):
 *   0x000  RSDP  36 bytes, revision 2, both checksums
 *   0x040  FACS  64 bytes
 *   0x080  RSDT  44 bytes: FADT, MADT
 *   0x0b0  XSDT  52 bytes: FADT, MADT
 *   0x0f0  FADT  276 bytes, revision 6
 *   0x210  DSDT  \_S5_ (and \_SB.COM1 with cfg->com1)
 *   after  MADT  44 + 8 per CPU (+ 12 I/O APIC + 2 x 10 overrides) + 6 NMI
 * For 255 CPUs with an I/O APIC and COM1 this ends below 0xb00; the rest of
 * the window is left as it was.
 *
 * The platform the FADT describes (the VM must provide the devices):
 *   - PM1a event block at pm1a_evt_port (4 bytes: PM1_STS, PM1_EN),
 *     PM1a control block at pm1a_cnt_port (2 bytes; reads must have SCI_EN,
 *     bit 0, set, since there is no SMI_CMD to switch to ACPI mode; a write
 *     with SLP_EN (bit 13) and SLP_TYP (bits 10-12) = ACPI_S5_SLP_TYP is
 *     poweroff), PM timer at pm_tmr_port (4 bytes, 3.579545 MHz, 32 bits:
 *     TMR_VAL_EXT), SCI on ISA IRQ sci_irq, level-triggered active-high;
 *   - hardware-reduced (cfg->hw_reduced): none of the above; instead an
 *     8-bit SLEEP_CONTROL_REG at sleep_ctl_port (a write with SLP_EN, bit 5,
 *     and SLP_TYP (bits 2-4) = ACPI_S5_SLP_TYP is poweroff) and an 8-bit
 *     SLEEP_STATUS_REG at sleep_sts_port (WAK_STS is bit 7);
 *   - RESET_REG (with reset_port != 0): writing reset_value to reset_port
 *     resets the machine (default: the i8042's 0xfe to port 0x64).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where the tables go: the BIOS read-only area a guest scans for the RSDP. */
#define ACPI_WINDOW_GPA 0xe0000ull
#define ACPI_WINDOW_SIZE 0x20000ull

/* The SLP_TYP value of \_S5_ (soft off): what the guest writes to PM1a_CNT
 * (bits 10-12) or to SLEEP_CONTROL_REG (bits 2-4), with SLP_EN, to power off. */
#define ACPI_S5_SLP_TYP 5u

/* Bits of the PM1 control register (4.8.3.2.1) and of the hardware-reduced
 * sleep control register (4.8.3.7), for the device model. */
#define ACPI_PM1_CNT_SCI_EN (1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_EN (1u << 13)
#define ACPI_SLEEP_CTL_SLP_TYP_SHIFT 2
#define ACPI_SLEEP_CTL_SLP_EN (1u << 5)
#define ACPI_SLEEP_STS_WAK_STS (1u << 7)

/* Default ports (the block sizes are fixed by the FADT). */
#define ACPI_PM1A_EVT_PORT 0x600u  /* 4 bytes */
#define ACPI_PM1A_CNT_PORT 0x604u  /* 2 bytes */
#define ACPI_PM_TMR_PORT 0x608u	   /* 4 bytes */
#define ACPI_SLEEP_CTL_PORT 0x60cu /* 1 byte, hardware-reduced only */
#define ACPI_SLEEP_STS_PORT 0x60du /* 1 byte, hardware-reduced only */
#define ACPI_PM1_EVT_LEN 4u
#define ACPI_PM1_CNT_LEN 2u
#define ACPI_PM_TMR_LEN 4u
#define ACPI_PM_TMR_HZ 3579545u

/* What the MADT describes. */
#define ACPI_LAPIC_ADDR 0xfee00000u
#define ACPI_IOAPIC_ADDR 0xfec00000u
#define ACPI_MAX_CPUS 255u /* Processor Local APIC entries carry 8-bit APIC IDs */
#define ACPI_SCI_IRQ 9u

struct acpi_config {
	unsigned ncpus;		 /* 1..ACPI_MAX_CPUS; CPU i has ACPI UID i and APIC ID i */
	bool ioapic;		 /* an I/O APIC (ID ncpus, ACPI_IOAPIC_ADDR, GSI base 0) and
				  * the ISA overrides IRQ0 -> GSI 2, SCI level/active-high */
	bool hw_reduced;	 /* hardware-reduced ACPI (no PM1 blocks, no PM timer) */
	bool i8042;		 /* IAPC_BOOT_ARCH: an 8042 keyboard controller is present */
	bool msi_unsupported;	 /* IAPC_BOOT_ARCH: "MSI Not Supported" */
	bool com1;		 /* DSDT: \_SB.COM1, PNP0501, I/O 0x3f8-0x3ff, IRQ 4 */
	uint8_t sci_irq;	 /* ISA IRQ of the SCI: 1..15 but not 2 (the cascade) */
	uint16_t pm1a_evt_port;	 /* not hw_reduced: nonzero */
	uint16_t pm1a_cnt_port;	 /* not hw_reduced: nonzero */
	uint16_t pm_tmr_port;	 /* not hw_reduced: 0 = no PM timer */
	uint16_t sleep_ctl_port; /* hw_reduced: nonzero */
	uint16_t sleep_sts_port; /* hw_reduced: nonzero */
	uint16_t reset_port;	 /* RESET_REG in I/O space; 0 = none */
	uint8_t reset_value;
};

/* What acpi_check found. GPAs are 0 for a table that is absent. */
struct acpi_info {
	uint64_t rsdp_gpa, rsdt_gpa, xsdt_gpa, fadt_gpa, facs_gpa, dsdt_gpa, madt_gpa;
	uint8_t rsdp_rev, fadt_rev;
	bool hw_reduced;  /* FADT flag HW_REDUCED_ACPI */
	bool tmr_val_ext; /* FADT flag TMR_VAL_EXT (32-bit PM timer) */
	uint16_t iapc_boot_arch;
	uint16_t sci_irq;
	uint16_t pm1a_evt_port, pm1a_cnt_port, pm_tmr_port; /* 0 when absent */
	uint16_t sleep_ctl_port, sleep_sts_port;	    /* hardware-reduced; 0 when absent */
	uint16_t reset_port; /* 0 when the FADT has no reset register */
	uint8_t reset_value;
	uint32_t lapic_addr;
	uint32_t madt_flags;
	unsigned n_lapic;	  /* Processor Local APIC entries */
	unsigned n_lapic_enabled; /* ... with the Enabled flag */
	bool has_ioapic;
	uint8_t ioapic_id;
	uint32_t ioapic_addr, ioapic_gsi_base;
	unsigned n_iso;	      /* Interrupt Source Overrides */
	unsigned n_lapic_nmi; /* Local APIC NMI entries */
	unsigned n_other;     /* MADT entries of other types (skipped) */
	int s5;		      /* SLP_TYPa of \_S5_, or -1 when the DSDT has none */
	bool has_com1;	      /* the DSDT names a PNP0501 device */
};

/*
 * acpi_config_default - kestrel's platform for `ncpus` CPUs: I/O APIC, not
 * hardware-reduced (the multiboot test kernels want a PM timer), an i8042,
 * no COM1 device, SCI on IRQ 9, the ACPI_*_PORT ports, RESET_REG = 0xfe to
 * port 0x64 (the i8042's reset pulse).
 */
void acpi_config_default(struct acpi_config *cfg, unsigned ncpus);

/*
 * acpi_size - bytes acpi_build needs at the start of a window at base_gpa
 * (which must be 16-byte aligned), or 0 for a config acpi_build refuses.
 */
size_t acpi_size(const struct acpi_config *cfg, uint64_t base_gpa);

/*
 * acpi_build - write the tables described above into buf, the host mapping
 * of guest-physical [base_gpa, base_gpa + len). base_gpa must be 16-byte
 * aligned and the window must end at or below 4 GiB (the RSDT and the FADT
 * hold 32-bit addresses). Sets *rsdp_gpa (may be NULL) and returns the number
 * of bytes written from the start of buf (the rest is untouched). Refusals
 * write nothing and return -EINVAL (bad config or window) or -ENOSPC (the
 * window is too small), with a one-line reason in why (may be NULL);
 * on success why is "".
 */
int acpi_build(uint8_t *buf, size_t len, uint64_t base_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa, char *why, size_t whylen);

/*
 * acpi_check - what a guest would do: scan buf (guest-physical
 * [base_gpa, base_gpa + len)) on 16-byte guest-physical boundaries for an
 * RSDP with a valid checksum (and extended checksum, revision >= 2), then
 * follow the RSDT and XSDT to the FADT and the MADT, and the FADT to the DSDT
 * and the FACS, checking every signature, length, checksum and pointer (each
 * must lie inside buf). Every byte of buf is untrusted. Requires a FADT with
 * a DSDT and a FACS, a MADT, the PM1a blocks (or, hardware-reduced, both sleep
 * registers); when the RSDT and XSDT both exist they must list the same
 * tables. Fills *info (may be NULL) and returns 0; -ENOENT when no valid
 * RSDP is found; -EINVAL for anything malformed; with a one-line reason.
 */
int acpi_check(const uint8_t *buf, size_t len, uint64_t base_gpa, struct acpi_info *info, char *why,
	       size_t whylen);

#endif
