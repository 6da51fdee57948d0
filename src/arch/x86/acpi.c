/* acpi.c - build kestrel's minimal ACPI tables into a buffer, and check such a set the way a guest reads it. */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Common table header (5.2.6) and the tables' fixed sizes. */
#define ACPI_HDR_LEN 36u
#define ACPI_RSDP_V1_LEN 20u /* the part the first checksum covers */
#define ACPI_RSDP_LEN 36u
#define ACPI_FACS_LEN 64u
#define ACPI_FADT_LEN 276u /* revision 6 (5.2.9) */
#define ACPI_MADT_HDR_LEN 44u /* header, local APIC address, flags */
#define ACPI_MAX_ENTRIES 32u /* RSDT/XSDT entries acpi_check follows */

#define ACPI_OEM_ID "KESTRL" /* 6 bytes */
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
#define RES_IO 0x47 /* small item, type 8, 7 bytes */
#define RES_IRQ_NOFLAGS 0x22 /* small item, type 4, 2 bytes */
#define RES_END 0x79 /* small item, type 15, 1 byte */
#define COM1_PORT 0x3f8u
#define COM1_IRQ 4u
#define EISA_PNP0501 "\x41\xd0\x05\x01" /* EisaId("PNP0501") as stored */

#define AML_MAX 160u /* room for the DSDT body */

__attribute__((format(printf, 4, 5)))
static int acpi_fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t acpi_sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* ---- builder ---------------------------------------------------------- */

/* A small AML writer: bytes go to b[0..len); overflow is sticky. */
struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > sizeof(a->b) - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* An integer in its shortest encoding (ZeroOp, OneOp, ByteConst, ...). */
static void aml_int(struct aml *a, uint64_t v)
{
	uint8_t le[8];

	put64(le, v);
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE);
		aml_bytes(a, le, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD);
		aml_bytes(a, le, 2);
	} else if (v <= 0xffffffffu) {
		aml_byte(a, AML_DWORD);
		aml_bytes(a, le, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_bytes(a, le, 8);
	}
}

/* Start something with a PkgLength: returns where its contents begin. */
static size_t aml_open(struct aml *a)
{
	return a->len;
}

/*
 * Close it: insert the PkgLength (20.2.4) in front of the contents written
 * since aml_open. The length counts its own bytes: one byte holds up to 63,
 * then 1-3 follow bytes carry 8 bits each above the lead byte's low nibble.
 */
static void aml_close(struct aml *a, size_t start)
{
	size_t n = a->len - start;
	size_t k = n + 1 <= 0x3f ? 1 : n + 2 <= 0xfff ? 2 : n + 3 <= 0xfffff ? 3 : 4;
	size_t total = n + k;
	uint8_t lead;

	if (a->overflow || k > sizeof(a->b) - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->b + start + k, a->b + start, n);
	if (k == 1) {
		lead = (uint8_t)total;
	} else {
		lead = (uint8_t)((k - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < k; i++)
			a->b[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->b[start] = lead;
	a->len += k;
}

/* Name(NAME, <integer>) */
static void aml_name_int(struct aml *a, const char *seg, uint64_t v)
{
	aml_byte(a, AML_NAME);
	aml_bytes(a, seg, 4);
	aml_int(a, v);
}

/* The DSDT's body (after the header). */
static void acpi_dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
	size_t pkg, scope, dev, buf;

	/* Name(\_S5_, Package() { SLP_TYPa, SLP_TYPb, 0, 0 }) (7.4.2) */
	aml_byte(a, AML_NAME);
	aml_byte(a, AML_ROOT);
	aml_bytes(a, "_S5_", 4);
	aml_byte(a, AML_PACKAGE);
	pkg = aml_open(a);
	aml_byte(a, 4); /* NumElements */
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, ACPI_S5_SLP_TYP);
	aml_int(a, 0);
	aml_int(a, 0);
	aml_close(a, pkg);

	if (!cfg->com1)
		return;
	/* Scope(\_SB) { Device(COM1) { _HID, _UID, _CRS } } */
	aml_byte(a, AML_SCOPE);
	scope = aml_open(a);
	aml_byte(a, AML_ROOT);
	aml_bytes(a, "_SB_", 4);
	aml_byte(a, AML_EXT);
	aml_byte(a, AML_DEVICE);
	dev = aml_open(a);
	aml_bytes(a, "COM1", 4);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_HID", 4);
	aml_byte(a, AML_DWORD);
	aml_bytes(a, EISA_PNP0501, 4);
	aml_name_int(a, "_UID", 1);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, AML_BUFFER);
	buf = aml_open(a);
	{
		/* IO(Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags() {4}, EndTag */
		const uint8_t res[] = {
			RES_IO, 0x01, COM1_PORT & 0xff, COM1_PORT >> 8, COM1_PORT & 0xff,
			COM1_PORT >> 8, 0x01, 0x08,
			RES_IRQ_NOFLAGS, (1u << COM1_IRQ) & 0xff, (1u << COM1_IRQ) >> 8,
			RES_END, 0x00, /* checksum 0: "treated as valid" */
		};
		aml_int(a, sizeof(res)); /* BufferSize */
		aml_bytes(a, res, sizeof(res));
	}
	aml_close(a, buf);
	aml_close(a, dev);
	aml_close(a, scope);
}

static void acpi_header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put32(p + 4, len);
	p[8] = rev;
	memcpy(p + 10, ACPI_OEM_ID, 6);
	memcpy(p + 16, ACPI_OEM_TABLE_ID, 8);
	put32(p + 24, 1); /* OEM revision */
	memcpy(p + 28, ACPI_CREATOR_ID, 4);
	put32(p + 32, 1); /* creator revision */
}

/* Set the checksum byte at p[at] so that p[0..len) sums to 0. */
static void acpi_checksum(uint8_t *p, size_t len, size_t at)
{
	p[at] = 0;
	p[at] = (uint8_t)(0x100 - acpi_sum(p, len));
}

static void acpi_gas_io(uint8_t *p, uint16_t port, unsigned bytes, uint8_t access)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = (uint8_t)(bytes * 8); /* register bit width */
	p[2] = 0; /* bit offset */
	p[3] = access;
	put64(p + 4, port);
}

/* Where each table goes, from the start of the window. */
struct acpi_layout {
	size_t rsdp, facs, rsdt, xsdt, fadt, dsdt, madt, end;
	size_t dsdt_len, madt_len;
};

static size_t align_gpa(uint64_t base, size_t off, unsigned a)
{
	uint64_t gpa = base + off;

	return off + (size_t)((a - gpa % a) % a);
}

static void acpi_plan(const struct acpi_config *cfg, uint64_t base, size_t dsdt_len,
		      struct acpi_layout *l)
{
	l->rsdp = 0;
	l->facs = align_gpa(base, l->rsdp + ACPI_RSDP_LEN, 64);
	l->rsdt = align_gpa(base, l->facs + ACPI_FACS_LEN, 16);
	l->xsdt = align_gpa(base, l->rsdt + ACPI_HDR_LEN + 2 * 4, 16);
	l->fadt = align_gpa(base, l->xsdt + ACPI_HDR_LEN + 2 * 8, 16);
	l->dsdt = align_gpa(base, l->fadt + ACPI_FADT_LEN, 16);
	l->dsdt_len = dsdt_len;
	l->madt = align_gpa(base, l->dsdt + dsdt_len, 16);
	l->madt_len = ACPI_MADT_HDR_LEN + (size_t)cfg->ncpus * MADT_LAPIC_LEN + MADT_LAPIC_NMI_LEN;
	if (cfg->ioapic)
		l->madt_len += MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN;
	l->end = l->madt + l->madt_len;
}

/* Does [a, a + alen) overlap [b, b + blen)? (Both inside the 16-bit port space.) */
static bool ports_overlap(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
	return a < b + blen && b < a + alen;
}

/* A block of I/O ports the FADT names. */
struct acpi_blk {
	unsigned port, len;
	const char *name;
};

static int acpi_check_config(const struct acpi_config *cfg, char *why, size_t whylen)
{
	struct acpi_blk blk[3];
	unsigned n = 0;

	if (cfg->ncpus == 0 || cfg->ncpus > ACPI_MAX_CPUS)
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: %u CPUs; the MADT describes 1 to %u (8-bit APIC IDs)",
				 cfg->ncpus, ACPI_MAX_CPUS);
	if (cfg->sci_irq == 0 || cfg->sci_irq == 2 || cfg->sci_irq > 15)
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: SCI on IRQ %u; use an ISA IRQ 1-15 other than 2 (9 is usual)",
				 cfg->sci_irq);
	if (cfg->hw_reduced) {
		if (!cfg->sleep_ctl_port || !cfg->sleep_sts_port)
			return acpi_fail(why, whylen, -EINVAL,
					 "ACPI: hardware-reduced FADT needs sleep control and status "
					 "ports (got %#x, %#x); without them the guest cannot power off",
					 cfg->sleep_ctl_port, cfg->sleep_sts_port);
		blk[n++] = (struct acpi_blk){ cfg->sleep_ctl_port, 1, "sleep control" };
		blk[n++] = (struct acpi_blk){ cfg->sleep_sts_port, 1, "sleep status" };
	} else {
		if (!cfg->pm1a_evt_port || !cfg->pm1a_cnt_port)
			return acpi_fail(why, whylen, -EINVAL,
					 "ACPI: PM1a event and control ports are required (got %#x, "
					 "%#x); set both, or use hardware-reduced ACPI",
					 cfg->pm1a_evt_port, cfg->pm1a_cnt_port);
		blk[n++] = (struct acpi_blk){ cfg->pm1a_evt_port, ACPI_PM1_EVT_LEN, "PM1a event" };
		blk[n++] = (struct acpi_blk){ cfg->pm1a_cnt_port, ACPI_PM1_CNT_LEN, "PM1a control" };
		if (cfg->pm_tmr_port)
			blk[n++] = (struct acpi_blk){ cfg->pm_tmr_port, ACPI_PM_TMR_LEN, "PM timer" };
	}
	for (unsigned i = 0; i < n; i++) {
		if (blk[i].port + blk[i].len > 0x10000u)
			return acpi_fail(why, whylen, -EINVAL,
					 "ACPI: %s block at port %#x+%u runs past port 0xffff",
					 blk[i].name, blk[i].port, blk[i].len);
		for (unsigned j = 0; j < i; j++)
			if (ports_overlap(blk[i].port, blk[i].len, blk[j].port, blk[j].len))
				return acpi_fail(why, whylen, -EINVAL,
						 "ACPI: %s block %#x+%u overlaps %s block %#x+%u; "
						 "give each its own ports",
						 blk[i].name, blk[i].port, blk[i].len, blk[j].name,
						 blk[j].port, blk[j].len);
	}
	return 0;
}

void acpi_config_default(struct acpi_config *cfg, unsigned ncpus)
{
	*cfg = (struct acpi_config){
		.ncpus = ncpus,
		.ioapic = true,
		.i8042 = true,
		.sci_irq = ACPI_SCI_IRQ,
		.pm1a_evt_port = ACPI_PM1A_EVT_PORT,
		.pm1a_cnt_port = ACPI_PM1A_CNT_PORT,
		.pm_tmr_port = ACPI_PM_TMR_PORT,
		.sleep_ctl_port = ACPI_SLEEP_CTL_PORT,
		.sleep_sts_port = ACPI_SLEEP_STS_PORT,
		.reset_port = 0x64,
		.reset_value = 0xfe,
	};
}

size_t acpi_size(const struct acpi_config *cfg, uint64_t base_gpa)
{
	struct acpi_layout l;
	struct aml a = { .len = 0 };

	if (base_gpa % 16 || acpi_check_config(cfg, NULL, 0))
		return 0;
	acpi_dsdt_body(&a, cfg);
	acpi_plan(cfg, base_gpa, ACPI_HDR_LEN + a.len, &l);
	return l.end;
}

static void acpi_write_fadt(uint8_t *p, const struct acpi_config *cfg, uint64_t facs, uint64_t dsdt)
{
	uint32_t flags = FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON;
	uint16_t boot_arch = IAPC_VGA_NOT_PRESENT;

	acpi_header(p, "FACP", ACPI_FADT_LEN, 6);
	put32(p + FADT_FIRMWARE_CTRL, (uint32_t)facs);
	put32(p + FADT_DSDT, (uint32_t)dsdt);
	put64(p + FADT_X_FIRMWARE_CTRL, facs);
	put64(p + FADT_X_DSDT, dsdt);
	put16(p + FADT_SCI_INT, cfg->sci_irq);
	/* SMI_CMD = 0: the platform is always in ACPI mode (nothing to enable). */
	put16(p + FADT_P_LVL2_LAT, 101); /* > 100: no C2 */
	put16(p + FADT_P_LVL3_LAT, 1001); /* > 1000: no C3 */
	if (cfg->hw_reduced) {
		/* 4.1: the fixed hardware blocks are absent; sleep via these two. */
		flags |= FADT_F_HW_REDUCED;
		acpi_gas_io(p + FADT_SLEEP_CONTROL_REG, cfg->sleep_ctl_port, 1, GAS_ACCESS_BYTE);
		acpi_gas_io(p + FADT_SLEEP_STATUS_REG, cfg->sleep_sts_port, 1, GAS_ACCESS_BYTE);
	} else {
		put32(p + FADT_PM1A_EVT_BLK, cfg->pm1a_evt_port);
		put32(p + FADT_PM1A_CNT_BLK, cfg->pm1a_cnt_port);
		p[FADT_PM1_EVT_LEN] = ACPI_PM1_EVT_LEN;
		p[FADT_PM1_CNT_LEN] = ACPI_PM1_CNT_LEN;
		acpi_gas_io(p + FADT_X_PM1A_EVT_BLK, cfg->pm1a_evt_port, ACPI_PM1_EVT_LEN,
			    GAS_ACCESS_WORD);
		acpi_gas_io(p + FADT_X_PM1A_CNT_BLK, cfg->pm1a_cnt_port, ACPI_PM1_CNT_LEN,
			    GAS_ACCESS_WORD);
		if (cfg->pm_tmr_port) {
			flags |= FADT_F_TMR_VAL_EXT;
			put32(p + FADT_PM_TMR_BLK, cfg->pm_tmr_port);
			p[FADT_PM_TMR_LEN] = ACPI_PM_TMR_LEN;
			acpi_gas_io(p + FADT_X_PM_TMR_BLK, cfg->pm_tmr_port, ACPI_PM_TMR_LEN,
				    GAS_ACCESS_DWORD);
		}
	}
	if (cfg->reset_port) {
		flags |= FADT_F_RESET_REG_SUP;
		acpi_gas_io(p + FADT_RESET_REG, cfg->reset_port, 1, GAS_ACCESS_BYTE);
		p[FADT_RESET_VALUE] = cfg->reset_value;
	}
	if (cfg->i8042)
		boot_arch |= IAPC_8042;
	if (cfg->msi_unsupported)
		boot_arch |= IAPC_MSI_NOT_SUPPORTED;
	put16(p + FADT_IAPC_BOOT_ARCH, boot_arch);
	put32(p + FADT_FLAGS, flags);
	p[FADT_MINOR_VERSION] = 0; /* FADT 6.0 */
	acpi_checksum(p, ACPI_FADT_LEN, 9);
}

static void acpi_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = 0; /* bus: ISA */
	e[3] = irq;
	put32(e + 4, gsi);
	put16(e + 8, flags);
}

static void acpi_write_madt(uint8_t *p, size_t len, const struct acpi_config *cfg)
{
	uint8_t *e = p + ACPI_MADT_HDR_LEN;

	acpi_header(p, "APIC", (uint32_t)len, 4);
	put32(p + 36, ACPI_LAPIC_ADDR);
	put32(p + 40, MADT_PCAT_COMPAT); /* dual 8259s present (KVM's PIC) */
	for (unsigned i = 0; i < cfg->ncpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID: KVM's vCPU i */
		put32(e + 4, MADT_LAPIC_ENABLED);
	}
	if (cfg->ioapic) {
		e[0] = MADT_IOAPIC;
		e[1] = MADT_IOAPIC_LEN;
		e[2] = (uint8_t)cfg->ncpus; /* the first ID no CPU has */
		e[3] = 0;
		put32(e + 4, ACPI_IOAPIC_ADDR);
		put32(e + 8, 0); /* GSI base */
		e += MADT_IOAPIC_LEN;
		/* As on PCs: the PIT's IRQ 0 is wired to IOAPIC pin 2; the SCI is
		 * level-triggered, active-high (5.2.12.5). */
		acpi_iso(e, 0, 2, 0);
		e += MADT_ISO_LEN;
		acpi_iso(e, cfg->sci_irq, cfg->sci_irq, MPS_ACTIVE_HIGH | MPS_LEVEL);
		e += MADT_ISO_LEN;
	}
	/* LINT1 of every CPU is the NMI input, edge/active-high, as on PCs. */
	e[0] = MADT_LAPIC_NMI;
	e[1] = MADT_LAPIC_NMI_LEN;
	e[2] = MADT_ALL_CPUS;
	put16(e + 3, MPS_ACTIVE_HIGH | MPS_EDGE);
	e[5] = 1; /* LINT1 */
	acpi_checksum(p, len, 9);
}

int acpi_build(uint8_t *buf, size_t len, uint64_t base_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa, char *why, size_t whylen)
{
	struct acpi_layout l;
	struct aml a = { .len = 0 };
	uint64_t end;
	uint8_t *p;
	int r;

	if ((r = acpi_check_config(cfg, why, whylen)))
		return r;
	if (base_gpa % 16)
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: window at %#" PRIx64 " is not 16-byte aligned; a guest "
				 "finds the RSDP only on a 16-byte boundary",
				 base_gpa);
	if (__builtin_add_overflow(base_gpa, (uint64_t)len, &end) || end > (1ull << 32))
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: window %#" PRIx64 "+%#zx ends above 4 GiB; the RSDT and "
				 "FADT hold 32-bit addresses (use %#llx+%#llx)",
				 base_gpa, len, ACPI_WINDOW_GPA, ACPI_WINDOW_SIZE);
	acpi_dsdt_body(&a, cfg);
	if (a.overflow)
		return acpi_fail(why, whylen, -EINVAL, "ACPI: DSDT body exceeds %u bytes (a kestrel bug)",
				 AML_MAX);
	acpi_plan(cfg, base_gpa, ACPI_HDR_LEN + a.len, &l);
	if (l.end > len)
		return acpi_fail(why, whylen, -ENOSPC,
				 "ACPI: tables for %u CPUs need %#zx bytes, the window has %#zx; "
				 "give a larger window (normally %#llx bytes at %#llx)",
				 cfg->ncpus, l.end, len, ACPI_WINDOW_SIZE, ACPI_WINDOW_GPA);

	memset(buf, 0, l.end);

	p = buf + l.rsdp; /* 5.2.5.3 */
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	p[15] = 2; /* revision: ACPI 2.0+ */
	put32(p + 16, (uint32_t)(base_gpa + l.rsdt));
	put32(p + 20, ACPI_RSDP_LEN);
	put64(p + 24, base_gpa + l.xsdt);
	acpi_checksum(p, ACPI_RSDP_V1_LEN, 8);
	acpi_checksum(p, ACPI_RSDP_LEN, 32);

	p = buf + l.facs; /* 5.2.10 */
	memcpy(p, "FACS", 4);
	put32(p + 4, ACPI_FACS_LEN);
	p[32] = 2; /* version */

	p = buf + l.rsdt;
	acpi_header(p, "RSDT", ACPI_HDR_LEN + 2 * 4, 1);
	put32(p + ACPI_HDR_LEN, (uint32_t)(base_gpa + l.fadt));
	put32(p + ACPI_HDR_LEN + 4, (uint32_t)(base_gpa + l.madt));
	acpi_checksum(p, ACPI_HDR_LEN + 2 * 4, 9);

	p = buf + l.xsdt;
	acpi_header(p, "XSDT", ACPI_HDR_LEN + 2 * 8, 1);
	put64(p + ACPI_HDR_LEN, base_gpa + l.fadt);
	put64(p + ACPI_HDR_LEN + 8, base_gpa + l.madt);
	acpi_checksum(p, ACPI_HDR_LEN + 2 * 8, 9);

	acpi_write_fadt(buf + l.fadt, cfg, base_gpa + l.facs, base_gpa + l.dsdt);

	p = buf + l.dsdt;
	acpi_header(p, "DSDT", (uint32_t)l.dsdt_len, 2); /* revision 2: 64-bit integers */
	memcpy(p + ACPI_HDR_LEN, a.b, a.len);
	acpi_checksum(p, l.dsdt_len, 9);

	acpi_write_madt(buf + l.madt, l.madt_len, cfg);

	if (rsdp_gpa)
		*rsdp_gpa = base_gpa + l.rsdp;
	if (why && whylen)
		why[0] = '\0';
	return (int)l.end;
}

/* ---- checker ---------------------------------------------------------- */

struct acpi_win {
	const uint8_t *buf;
	size_t len;
	uint64_t base;
	char *why;
	size_t whylen;
};

/* [gpa, gpa + n) inside the window? Sets *off. */
static bool win_has(const struct acpi_win *w, uint64_t gpa, uint64_t n, size_t *off)
{
	uint64_t rel;

	if (gpa < w->base)
		return false;
	rel = gpa - w->base;
	if (rel > w->len || n > w->len - rel)
		return false;
	*off = (size_t)rel;
	return true;
}

/*
 * A table at gpa with signature sig (or any, sig == NULL): the header lies
 * in the window, Length >= min, the whole table lies in the window, and it
 * sums to 0. Sets *off and *tlen.
 */
static int acpi_table(const struct acpi_win *w, const char *what, uint64_t gpa, const char *sig,
		      uint32_t min, size_t *off, uint32_t *tlen)
{
	const uint8_t *p;
	size_t o;
	uint32_t n;

	if (!win_has(w, gpa, ACPI_HDR_LEN, &o))
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s at %#" PRIx64 " is outside the tables' window "
				 "%#" PRIx64 "+%#zx",
				 what, gpa, w->base, w->len);
	p = w->buf + o;
	if (sig && memcmp(p, sig, 4) != 0)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s at %#" PRIx64 " has signature %02x%02x%02x%02x, not \"%s\"",
				 what, gpa, p[0], p[1], p[2], p[3], sig);
	n = get32(p + 4);
	if (n < min)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s at %#" PRIx64 " has length %u, less than %u", what, gpa,
				 n, min);
	if (!win_has(w, gpa, n, &o))
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s at %#" PRIx64 " has length %#x, past the end of the "
				 "window %#" PRIx64 "+%#zx",
				 what, gpa, n, w->base, w->len);
	if (acpi_sum(p, n) != 0)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s at %#" PRIx64 " has a bad checksum (bytes sum to %#x)",
				 what, gpa, acpi_sum(p, n));
	*off = o;
	*tlen = n;
	return 0;
}

/* A FADT address pair (32-bit field, 64-bit X_ field) naming one thing. */
static int fadt_addr(const struct acpi_win *w, const uint8_t *f, uint32_t flen, unsigned lo,
		     unsigned x, const char *what, uint64_t *gpa)
{
	uint64_t a32 = get32(f + lo);
	uint64_t a64 = flen >= x + 8 ? get64(f + x) : 0;

	if (a32 && a64 && a32 != a64)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT %s %#" PRIx64 " and X_%s %#" PRIx64 " disagree", what,
				 a32, what, a64);
	*gpa = a64 ? a64 : a32;
	if (!*gpa)
		return acpi_fail(w->why, w->whylen, -EINVAL, "ACPI: FADT has no %s", what);
	return 0;
}

/* A FADT I/O block: the 32-bit port field and its X_ GAS must agree. */
static int fadt_block(const struct acpi_win *w, const uint8_t *f, uint32_t flen, unsigned lo,
		      unsigned x, unsigned lenoff, unsigned need, const char *what, uint16_t *port)
{
	uint64_t a32 = get32(f + lo);
	uint64_t a64 = 0;

	if (flen >= x + GAS_LEN && get64(f + x + 4)) {
		if (f[x] != GAS_SYSTEM_IO)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: FADT X_%s is in address space %u, not system I/O",
					 what, f[x]);
		a64 = get64(f + x + 4);
	}
	if (a32 && a64 && a32 != a64)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT %s %#" PRIx64 " and X_%s %#" PRIx64 " disagree", what,
				 a32, what, a64);
	if (!a64)
		a64 = a32;
	if (a64 > 0xffff)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT %s %#" PRIx64 " is not an I/O port", what, a64);
	if (a64 && f[lenoff] < need)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT %s length %u, expected at least %u", what, f[lenoff],
				 need);
	*port = (uint16_t)a64;
	return 0;
}

/* A GAS that must name an I/O port or be empty. */
static int fadt_gas_port(const struct acpi_win *w, const uint8_t *f, uint32_t flen, unsigned x,
			 const char *what, uint16_t *port)
{
	uint64_t a;

	*port = 0;
	if (flen < x + GAS_LEN)
		return 0;
	a = get64(f + x + 4);
	if (!a)
		return 0;
	if (f[x] != GAS_SYSTEM_IO || a > 0xffff)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT %s (space %u, address %#" PRIx64 ") is not an I/O port",
				 what, f[x], a);
	*port = (uint16_t)a;
	return 0;
}

/* Decode a PkgLength at p[0..n). Returns its byte count, or 0 if malformed. */
static size_t aml_pkglen(const uint8_t *p, size_t n, size_t *value)
{
	size_t k, v;

	if (n < 1)
		return 0;
	k = 1 + (p[0] >> 6);
	if (k > n)
		return 0;
	if (k == 1) {
		*value = p[0] & 0x3f;
		return 1;
	}
	if (p[0] & 0x30) /* bits 4-5 must be 0 in the multi-byte form */
		return 0;
	v = p[0] & 0xf;
	for (size_t i = 1; i < k; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*value = v;
	return k;
}

/* An integer term at p[0..n): returns its size, 0 if not an integer. */
static size_t aml_integer(const uint8_t *p, size_t n, uint64_t *v)
{
	static const unsigned width[] = { [AML_BYTE] = 1, [AML_WORD] = 2, [AML_DWORD] = 4,
					  [AML_QWORD] = 8 };
	unsigned k;

	if (n < 1)
		return 0;
	if (p[0] == AML_ZERO || p[0] == AML_ONE) {
		*v = p[0];
		return 1;
	}
	if (p[0] == AML_ONES) {
		*v = UINT64_MAX;
		return 1;
	}
	if (p[0] >= sizeof(width) / sizeof(width[0]) || !(k = width[p[0]]) || n < 1 + k)
		return 0;
	*v = 0;
	for (unsigned i = 0; i < k; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	return 1 + k;
}

/* Find Name(_S5_, Package(){ SLP_TYPa, ... }) in the DSDT body. */
static int dsdt_s5(const struct acpi_win *w, const uint8_t *aml, size_t n, int *s5)
{
	*s5 = -1;
	for (size_t i = 0; i + 6 <= n; i++) {
		size_t j, k, plen, rest;
		uint64_t v;

		if (aml[i] != AML_NAME)
			continue;
		j = i + 1;
		if (aml[j] == AML_ROOT)
			j++;
		if (j + 5 > n || memcmp(aml + j, "_S5_", 4) != 0 || aml[j + 4] != AML_PACKAGE)
			continue;
		j += 5;
		k = aml_pkglen(aml + j, n - j, &plen);
		if (!k || plen < k + 1 || plen > n - j)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: DSDT \\_S5_ package has a bad length");
		rest = plen - k; /* NumElements and the elements */
		j += k;
		if (aml[j] < 1 || !aml_integer(aml + j + 1, rest - 1, &v))
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: DSDT \\_S5_ package does not start with an integer");
		if (v > 7)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: DSDT \\_S5_ SLP_TYPa %#" PRIx64 " does not fit 3 bits", v);
		*s5 = (int)v;
		return 0;
	}
	return 0;
}

static int acpi_check_fadt(const struct acpi_win *w, uint64_t gpa, struct acpi_info *in)
{
	size_t off, doff;
	uint32_t flen, dlen, flags;
	const uint8_t *f;
	uint64_t facs, dsdt;
	int r;

	if ((r = acpi_table(w, "FADT", gpa, "FACP", FADT_RESET_REG, &off, &flen)))
		return r;
	f = w->buf + off;
	in->fadt_gpa = gpa;
	in->fadt_rev = f[8];
	flags = get32(f + FADT_FLAGS);
	in->hw_reduced = flags & FADT_F_HW_REDUCED;
	in->tmr_val_ext = flags & FADT_F_TMR_VAL_EXT;
	in->iapc_boot_arch = get16(f + FADT_IAPC_BOOT_ARCH);
	in->sci_irq = get16(f + FADT_SCI_INT);

	if ((r = fadt_addr(w, f, flen, FADT_DSDT, FADT_X_DSDT, "DSDT", &dsdt)))
		return r;
	if ((r = acpi_table(w, "DSDT", dsdt, "DSDT", ACPI_HDR_LEN, &doff, &dlen)))
		return r;
	in->dsdt_gpa = dsdt;
	if ((r = dsdt_s5(w, w->buf + doff + ACPI_HDR_LEN, dlen - ACPI_HDR_LEN, &in->s5)))
		return r;
	in->has_com1 = memmem(w->buf + doff + ACPI_HDR_LEN, dlen - ACPI_HDR_LEN,
			      "\x0c" EISA_PNP0501, 5) != NULL;

	if ((r = fadt_addr(w, f, flen, FADT_FIRMWARE_CTRL, FADT_X_FIRMWARE_CTRL, "FIRMWARE_CTRL",
			   &facs)))
		return r;
	if (facs % 64)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FACS at %#" PRIx64 " is not 64-byte aligned", facs);
	if (!win_has(w, facs, ACPI_FACS_LEN, &off))
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FACS at %#" PRIx64 " is outside the tables' window "
				 "%#" PRIx64 "+%#zx",
				 facs, w->base, w->len);
	if (memcmp(w->buf + off, "FACS", 4) != 0 || get32(w->buf + off + 4) < ACPI_FACS_LEN)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FACS at %#" PRIx64 " has a bad signature or length", facs);
	if (!win_has(w, facs, get32(w->buf + off + 4), &off))
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FACS at %#" PRIx64 " runs past the window", facs);
	in->facs_gpa = facs;

	if (flags & FADT_F_RESET_REG_SUP) {
		if ((r = fadt_gas_port(w, f, flen, FADT_RESET_REG, "RESET_REG", &in->reset_port)))
			return r;
		if (in->reset_port && flen <= FADT_RESET_VALUE)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: FADT of %u bytes has RESET_REG but no RESET_VALUE",
					 flen);
		if (in->reset_port)
			in->reset_value = f[FADT_RESET_VALUE];
	}
	if (in->hw_reduced) {
		if ((r = fadt_gas_port(w, f, flen, FADT_SLEEP_CONTROL_REG, "SLEEP_CONTROL_REG",
				       &in->sleep_ctl_port)) ||
		    (r = fadt_gas_port(w, f, flen, FADT_SLEEP_STATUS_REG, "SLEEP_STATUS_REG",
				       &in->sleep_sts_port)))
			return r;
		if (!in->sleep_ctl_port || !in->sleep_sts_port)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: hardware-reduced FADT without SLEEP_CONTROL_REG and "
					 "SLEEP_STATUS_REG: the guest cannot power off");
		return 0;
	}
	if ((r = fadt_block(w, f, flen, FADT_PM1A_EVT_BLK, FADT_X_PM1A_EVT_BLK, FADT_PM1_EVT_LEN,
			    ACPI_PM1_EVT_LEN, "PM1a_EVT_BLK", &in->pm1a_evt_port)) ||
	    (r = fadt_block(w, f, flen, FADT_PM1A_CNT_BLK, FADT_X_PM1A_CNT_BLK, FADT_PM1_CNT_LEN,
			    ACPI_PM1_CNT_LEN, "PM1a_CNT_BLK", &in->pm1a_cnt_port)) ||
	    (r = fadt_block(w, f, flen, FADT_PM_TMR_BLK, FADT_X_PM_TMR_BLK, FADT_PM_TMR_LEN,
			    ACPI_PM_TMR_LEN, "PM_TMR_BLK", &in->pm_tmr_port)))
		return r;
	if (!in->pm1a_evt_port || !in->pm1a_cnt_port)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT without PM1a_EVT_BLK or PM1a_CNT_BLK (and not "
				 "hardware-reduced)");
	return 0;
}

static int acpi_check_madt(const struct acpi_win *w, uint64_t gpa, struct acpi_info *in)
{
	static const uint8_t want[] = { [MADT_LAPIC] = MADT_LAPIC_LEN,
					[MADT_IOAPIC] = MADT_IOAPIC_LEN,
					[MADT_ISO] = MADT_ISO_LEN,
					[MADT_LAPIC_NMI] = MADT_LAPIC_NMI_LEN };
	uint8_t seen[256 / 8] = { 0 };
	const uint8_t *m;
	size_t off, i;
	uint32_t mlen;
	int r;

	if ((r = acpi_table(w, "MADT", gpa, "APIC", ACPI_MADT_HDR_LEN, &off, &mlen)))
		return r;
	m = w->buf + off;
	in->madt_gpa = gpa;
	in->lapic_addr = get32(m + 36);
	in->madt_flags = get32(m + 40);
	for (i = ACPI_MADT_HDR_LEN; i < mlen;) {
		const uint8_t *e = m + i;
		uint8_t type, elen;

		if (mlen - i < 2 || e[1] < 2 || e[1] > mlen - i)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: MADT entry at offset %zu runs past the table (%u bytes)",
					 i, mlen);
		type = e[0];
		elen = e[1];
		if (type < sizeof(want) && want[type] && elen != want[type])
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: MADT entry type %u at offset %zu has length %u, "
					 "expected %u",
					 type, i, elen, want[type]);
		switch (type) {
		case MADT_LAPIC:
			if (seen[e[3] / 8] & (1u << (e[3] % 8)))
				return acpi_fail(w->why, w->whylen, -EINVAL,
						 "ACPI: MADT lists APIC ID %u twice", e[3]);
			seen[e[3] / 8] |= (uint8_t)(1u << (e[3] % 8));
			in->n_lapic++;
			if (get32(e + 4) & MADT_LAPIC_ENABLED)
				in->n_lapic_enabled++;
			break;
		case MADT_IOAPIC:
			if (in->has_ioapic)
				return acpi_fail(w->why, w->whylen, -EINVAL,
						 "ACPI: MADT lists more than one I/O APIC (kestrel "
						 "checks one)");
			in->has_ioapic = true;
			in->ioapic_id = e[2];
			in->ioapic_addr = get32(e + 4);
			in->ioapic_gsi_base = get32(e + 8);
			break;
		case MADT_ISO:
			in->n_iso++;
			break;
		case MADT_LAPIC_NMI:
			in->n_lapic_nmi++;
			break;
		default:
			in->n_other++;
			break;
		}
		i += elen;
	}
	if (in->n_lapic == 0)
		return acpi_fail(w->why, w->whylen, -EINVAL, "ACPI: MADT lists no local APIC");
	return 0;
}

static bool acpi_printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
	return true;
}

/* Walk the RSDT (esz 4) or XSDT (esz 8); put the FADT and MADT addresses in tab[0..1]. */
static int acpi_check_sdt(const struct acpi_win *w, const char *sig, uint64_t gpa, unsigned esz,
			  uint64_t tab[2])
{
	size_t off, toff;
	uint32_t len, tlen, n;
	int r;

	if ((r = acpi_table(w, sig, gpa, sig, ACPI_HDR_LEN, &off, &len)))
		return r;
	if ((len - ACPI_HDR_LEN) % esz)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s length %u is not a header plus %u-byte entries", sig, len,
				 esz);
	n = (len - ACPI_HDR_LEN) / esz;
	if (n > ACPI_MAX_ENTRIES)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s lists %u tables, more than %u", sig, n, ACPI_MAX_ENTRIES);
	tab[0] = tab[1] = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = w->buf + off + ACPI_HDR_LEN + (size_t)i * esz;
		uint64_t t = esz == 4 ? get32(e) : get64(e);
		const uint8_t *h;
		unsigned slot;
		char what[32];

		if (win_has(w, t, 4, &toff) && acpi_printable(w->buf + toff, 4))
			snprintf(what, sizeof(what), "%.4s (%s entry %u)",
				 (const char *)(w->buf + toff), sig, i);
		else
			snprintf(what, sizeof(what), "%s entry %u", sig, i);
		if ((r = acpi_table(w, what, t, NULL, ACPI_HDR_LEN, &toff, &tlen)))
			return r;
		h = w->buf + toff;
		if (memcmp(h, "FACP", 4) == 0)
			slot = 0;
		else if (memcmp(h, "APIC", 4) == 0)
			slot = 1;
		else
			continue;
		if (tab[slot])
			return acpi_fail(w->why, w->whylen, -EINVAL, "ACPI: %s lists two %s tables",
					 sig, slot ? "MADT" : "FADT");
		tab[slot] = t;
	}
	return 0;
}

/* The first RSDP on a 16-byte guest-physical boundary whose checksums hold. */
static int acpi_find_rsdp(const struct acpi_win *w, size_t *at)
{
	size_t i = (size_t)((16 - w->base % 16) % 16);
	const char *bad = NULL;
	uint64_t bad_gpa = 0;

	for (; i < w->len && w->len - i >= ACPI_RSDP_V1_LEN; i += 16) {
		const uint8_t *p = w->buf + i;
		uint32_t n;

		if (memcmp(p, "RSD PTR ", 8) != 0)
			continue;
		if (acpi_sum(p, ACPI_RSDP_V1_LEN) != 0) {
			if (!bad) {
				bad = "bad checksum";
				bad_gpa = w->base + i;
			}
			continue;
		}
		if (p[15] >= 2) {
			n = get32(p + 20);
			if (n < ACPI_RSDP_LEN || n > w->len - i) {
				if (!bad) {
					bad = "bad length";
					bad_gpa = w->base + i;
				}
				continue;
			}
			if (acpi_sum(p, n) != 0) {
				if (!bad) {
					bad = "bad extended checksum";
					bad_gpa = w->base + i;
				}
				continue;
			}
		}
		*at = i;
		return 0;
	}
	if (bad)
		return acpi_fail(w->why, w->whylen, -ENOENT,
				 "ACPI: no valid RSDP on a 16-byte boundary in %#" PRIx64 "+%#zx "
				 "(the one at %#" PRIx64 " has a %s)",
				 w->base, w->len, bad_gpa, bad);
	return acpi_fail(w->why, w->whylen, -ENOENT,
			 "ACPI: no \"RSD PTR \" signature on a 16-byte boundary in %#" PRIx64 "+%#zx",
			 w->base, w->len);
}

int acpi_check(const uint8_t *buf, size_t len, uint64_t base_gpa, struct acpi_info *info,
	       char *why, size_t whylen)
{
	struct acpi_win w = { buf, len, base_gpa, why, whylen };
	struct acpi_info in = { .s5 = -1 };
	uint64_t rt[2] = { 0, 0 }, xt[2] = { 0, 0 }, *t;
	uint64_t end;
	size_t at = 0;
	int r;

	if (__builtin_add_overflow(base_gpa, (uint64_t)len, &end))
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: window %#" PRIx64 "+%#zx wraps around 2^64", base_gpa, len);
	if ((r = acpi_find_rsdp(&w, &at)))
		return r;
	in.rsdp_gpa = base_gpa + at;
	in.rsdp_rev = buf[at + 15];
	in.rsdt_gpa = get32(buf + at + 16);
	if (in.rsdp_rev >= 2)
		in.xsdt_gpa = get64(buf + at + 24);
	if (!in.rsdt_gpa && !in.xsdt_gpa)
		return acpi_fail(why, whylen, -EINVAL, "ACPI: RSDP names neither an RSDT nor an XSDT");
	if (in.rsdt_gpa && (r = acpi_check_sdt(&w, "RSDT", in.rsdt_gpa, 4, rt)))
		return r;
	if (in.xsdt_gpa && (r = acpi_check_sdt(&w, "XSDT", in.xsdt_gpa, 8, xt)))
		return r;
	if (in.rsdt_gpa && in.xsdt_gpa && (rt[0] != xt[0] || rt[1] != xt[1]))
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: RSDT and XSDT list different FADT/MADT tables");
	t = in.xsdt_gpa ? xt : rt;
	if (!t[0])
		return acpi_fail(why, whylen, -EINVAL, "ACPI: no FADT (FACP) in the %s",
				 in.xsdt_gpa ? "XSDT" : "RSDT");
	if (!t[1])
		return acpi_fail(why, whylen, -EINVAL, "ACPI: no MADT (APIC) in the %s",
				 in.xsdt_gpa ? "XSDT" : "RSDT");
	if ((r = acpi_check_fadt(&w, t[0], &in)) || (r = acpi_check_madt(&w, t[1], &in)))
		return r;
	if (info)
		*info = in;
	if (why && whylen)
		why[0] = '\0';
	return 0;
}
