/* acpi_tables.h - ACPI table layouts and byte helpers shared by the builder (acpi.c) and the
 * checker (acpi_check.c); internal. */
#ifndef KESTREL_ARCH_X86_ACPI_TABLES_H
#define KESTREL_ARCH_X86_ACPI_TABLES_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Section and table numbers are the ACPI 6.4 specification's. */

/* Common table header (5.2.6) and the tables' fixed sizes. */
#define ACPI_HDR_LEN 36u
#define ACPI_RSDP_V1_LEN 20u /* the part the first checksum covers */
#define ACPI_RSDP_LEN 36u
#define ACPI_FACS_LEN 64u
#define ACPI_FADT_LEN 276u    /* revision 6 (5.2.9) */
#define ACPI_MADT_HDR_LEN 44u /* header, local APIC address, flags */
#define ACPI_MAX_ENTRIES 32u  /* RSDT/XSDT entries acpi_check follows */

#define ACPI_OEM_ID "KESTRL"	     /* 6 bytes */
#define ACPI_OEM_TABLE_ID "KESTREL " /* 8 bytes */
#define ACPI_CREATOR_ID "KSTR"

/* FADT field offsets (5.2.9, table 5.9). */
#define FADT_FIRMWARE_CTRL 36
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_PM1A_EVT_BLK 56
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK 76
#define FADT_PM1_EVT_LEN 88
#define FADT_PM1_CNT_LEN 89
#define FADT_PM_TMR_LEN 91
#define FADT_P_LVL2_LAT 96
#define FADT_P_LVL3_LAT 98
#define FADT_IAPC_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_MINOR_VERSION 131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT_BLK 148
#define FADT_X_PM1A_CNT_BLK 172
#define FADT_X_PM_TMR_BLK 208
#define FADT_SLEEP_CONTROL_REG 244
#define FADT_SLEEP_STATUS_REG 256

/* FADT flags (table 5.10). */
#define FADT_F_WBINVD (1u << 0)
#define FADT_F_PROC_C1 (1u << 2)
#define FADT_F_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_TMR_VAL_EXT (1u << 8)
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED (1u << 20)

/* IA-PC boot architecture flags (table 5.11). */
#define IAPC_8042 (1u << 1)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED (1u << 3)

/* Generic Address Structure (5.2.3.2). */
#define GAS_LEN 12u
#define GAS_SYSTEM_IO 1u
#define GAS_ACCESS_BYTE 1u
#define GAS_ACCESS_WORD 2u
#define GAS_ACCESS_DWORD 3u

/* MADT (5.2.12): flags, entry types and sizes. */
#define MADT_PCAT_COMPAT (1u << 0)
#define MADT_LAPIC 0u
#define MADT_IOAPIC 1u
#define MADT_ISO 2u
#define MADT_LAPIC_NMI 4u
#define MADT_LAPIC_LEN 8u
#define MADT_IOAPIC_LEN 12u
#define MADT_ISO_LEN 10u
#define MADT_LAPIC_NMI_LEN 6u
#define MADT_LAPIC_ENABLED (1u << 0)
/* MPS INTI flags: polarity bits 0-1, trigger mode bits 2-3 (table 5.26). */
#define MPS_ACTIVE_HIGH 0x1u
#define MPS_EDGE (0x1u << 2)
#define MPS_LEVEL (0x3u << 2)
#define MADT_ALL_CPUS 0xffu /* ACPI processor UID meaning "every processor" */

/* AML opcodes (20.2) and resource descriptors (6.4). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_QWORD 0x0e
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT 0x5b
#define AML_DEVICE 0x82 /* after AML_EXT */
#define AML_ROOT '\\'
#define AML_ONES 0xff
#define RES_IO 0x47	     /* small item, type 8, 7 bytes */
#define RES_IRQ_NOFLAGS 0x22 /* small item, type 4, 2 bytes */
#define RES_END 0x79	     /* small item, type 15, 1 byte */
#define COM1_PORT 0x3f8u
#define COM1_IRQ 4u
#define EISA_PNP0501 "\x41\xd0\x05\x01" /* EisaId("PNP0501") as stored */

#define AML_MAX 160u /* room for the DSDT body */

__attribute__((format(printf, 4, 5))) static inline int acpi_fail(char *why, size_t whylen, int err,
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

static inline void acpi_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void acpi_put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void acpi_put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t acpi_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t acpi_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t acpi_get64(const uint8_t *p)
{
	return (uint64_t)acpi_get32(p) | (uint64_t)acpi_get32(p + 4) << 32;
}

static inline uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

#endif
