/* acpi.c - build kestrel's minimal ACPI tables into a buffer (RSDP, RSDT/XSDT, FADT, FACS, MADT,
 * DSDT with hand-assembled AML). */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "arch/x86/acpi_tables.h"

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

	acpi_put64(le, v);
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
		    RES_IO,
		    0x01,
		    COM1_PORT & 0xff,
		    COM1_PORT >> 8,
		    COM1_PORT & 0xff,
		    COM1_PORT >> 8,
		    0x01,
		    0x08,
		    RES_IRQ_NOFLAGS,
		    (1u << COM1_IRQ) & 0xff,
		    (1u << COM1_IRQ) >> 8,
		    RES_END,
		    0x00, /* checksum 0: "treated as valid" */
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
	acpi_put32(p + 4, len);
	p[8] = rev;
	memcpy(p + 10, ACPI_OEM_ID, 6);
	memcpy(p + 16, ACPI_OEM_TABLE_ID, 8);
	acpi_put32(p + 24, 1); /* OEM revision */
	memcpy(p + 28, ACPI_CREATOR_ID, 4);
	acpi_put32(p + 32, 1); /* creator revision */
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
	p[2] = 0;		     /* bit offset */
	p[3] = access;
	acpi_put64(p + 4, port);
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
		return acpi_fail(
		    why, whylen, -EINVAL,
		    "ACPI: SCI on IRQ %u; use an ISA IRQ 1-15 other than 2 (9 is usual)",
		    cfg->sci_irq);
	if (cfg->hw_reduced) {
		if (!cfg->sleep_ctl_port || !cfg->sleep_sts_port)
			return acpi_fail(
			    why, whylen, -EINVAL,
			    "ACPI: hardware-reduced FADT needs sleep control and status "
			    "ports (got %#x, %#x); without them the guest cannot power off",
			    cfg->sleep_ctl_port, cfg->sleep_sts_port);
		blk[n++] = (struct acpi_blk){cfg->sleep_ctl_port, 1, "sleep control"};
		blk[n++] = (struct acpi_blk){cfg->sleep_sts_port, 1, "sleep status"};
	} else {
		if (!cfg->pm1a_evt_port || !cfg->pm1a_cnt_port)
			return acpi_fail(
			    why, whylen, -EINVAL,
			    "ACPI: PM1a event and control ports are required (got %#x, "
			    "%#x); set both, or use hardware-reduced ACPI",
			    cfg->pm1a_evt_port, cfg->pm1a_cnt_port);
		blk[n++] = (struct acpi_blk){cfg->pm1a_evt_port, ACPI_PM1_EVT_LEN, "PM1a event"};
		blk[n++] = (struct acpi_blk){cfg->pm1a_cnt_port, ACPI_PM1_CNT_LEN, "PM1a control"};
		if (cfg->pm_tmr_port)
			blk[n++] = (struct acpi_blk){cfg->pm_tmr_port, ACPI_PM_TMR_LEN, "PM timer"};
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
	struct aml a = {.len = 0};

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
	acpi_put32(p + FADT_FIRMWARE_CTRL, (uint32_t)facs);
	acpi_put32(p + FADT_DSDT, (uint32_t)dsdt);
	acpi_put64(p + FADT_X_FIRMWARE_CTRL, facs);
	acpi_put64(p + FADT_X_DSDT, dsdt);
	acpi_put16(p + FADT_SCI_INT, cfg->sci_irq);
	/* SMI_CMD = 0: the platform is always in ACPI mode (nothing to enable). */
	acpi_put16(p + FADT_P_LVL2_LAT, 101);  /* > 100: no C2 */
	acpi_put16(p + FADT_P_LVL3_LAT, 1001); /* > 1000: no C3 */
	if (cfg->hw_reduced) {
		/* 4.1: the fixed hardware blocks are absent; sleep via these two. */
		flags |= FADT_F_HW_REDUCED;
		acpi_gas_io(p + FADT_SLEEP_CONTROL_REG, cfg->sleep_ctl_port, 1, GAS_ACCESS_BYTE);
		acpi_gas_io(p + FADT_SLEEP_STATUS_REG, cfg->sleep_sts_port, 1, GAS_ACCESS_BYTE);
	} else {
		acpi_put32(p + FADT_PM1A_EVT_BLK, cfg->pm1a_evt_port);
		acpi_put32(p + FADT_PM1A_CNT_BLK, cfg->pm1a_cnt_port);
		p[FADT_PM1_EVT_LEN] = ACPI_PM1_EVT_LEN;
		p[FADT_PM1_CNT_LEN] = ACPI_PM1_CNT_LEN;
		acpi_gas_io(p + FADT_X_PM1A_EVT_BLK, cfg->pm1a_evt_port, ACPI_PM1_EVT_LEN,
			    GAS_ACCESS_WORD);
		acpi_gas_io(p + FADT_X_PM1A_CNT_BLK, cfg->pm1a_cnt_port, ACPI_PM1_CNT_LEN,
			    GAS_ACCESS_WORD);
		if (cfg->pm_tmr_port) {
			flags |= FADT_F_TMR_VAL_EXT;
			acpi_put32(p + FADT_PM_TMR_BLK, cfg->pm_tmr_port);
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
	acpi_put16(p + FADT_IAPC_BOOT_ARCH, boot_arch);
	acpi_put32(p + FADT_FLAGS, flags);
	p[FADT_MINOR_VERSION] = 0; /* FADT 6.0 */
	acpi_checksum(p, ACPI_FADT_LEN, 9);
}

static void acpi_iso(uint8_t *e, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = 0; /* bus: ISA */
	e[3] = irq;
	acpi_put32(e + 4, gsi);
	acpi_put16(e + 8, flags);
}

static void acpi_write_madt(uint8_t *p, size_t len, const struct acpi_config *cfg)
{
	uint8_t *e = p + ACPI_MADT_HDR_LEN;

	acpi_header(p, "APIC", (uint32_t)len, 4);
	acpi_put32(p + 36, ACPI_LAPIC_ADDR);
	acpi_put32(p + 40, MADT_PCAT_COMPAT); /* dual 8259s present (KVM's PIC) */
	for (unsigned i = 0; i < cfg->ncpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC ID: KVM's vCPU i */
		acpi_put32(e + 4, MADT_LAPIC_ENABLED);
	}
	if (cfg->ioapic) {
		e[0] = MADT_IOAPIC;
		e[1] = MADT_IOAPIC_LEN;
		e[2] = (uint8_t)cfg->ncpus; /* the first ID no CPU has */
		e[3] = 0;
		acpi_put32(e + 4, ACPI_IOAPIC_ADDR);
		acpi_put32(e + 8, 0); /* GSI base */
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
	acpi_put16(e + 3, MPS_ACTIVE_HIGH | MPS_EDGE);
	e[5] = 1; /* LINT1 */
	acpi_checksum(p, len, 9);
}

int acpi_build(uint8_t *buf, size_t len, uint64_t base_gpa, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa, char *why, size_t whylen)
{
	struct acpi_layout l;
	struct aml a = {.len = 0};
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
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: DSDT body exceeds %u bytes (a kestrel bug)", AML_MAX);
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
	acpi_put32(p + 16, (uint32_t)(base_gpa + l.rsdt));
	acpi_put32(p + 20, ACPI_RSDP_LEN);
	acpi_put64(p + 24, base_gpa + l.xsdt);
	acpi_checksum(p, ACPI_RSDP_V1_LEN, 8);
	acpi_checksum(p, ACPI_RSDP_LEN, 32);

	p = buf + l.facs; /* 5.2.10 */
	memcpy(p, "FACS", 4);
	acpi_put32(p + 4, ACPI_FACS_LEN);
	p[32] = 2; /* version */

	p = buf + l.rsdt;
	acpi_header(p, "RSDT", ACPI_HDR_LEN + 2 * 4, 1);
	acpi_put32(p + ACPI_HDR_LEN, (uint32_t)(base_gpa + l.fadt));
	acpi_put32(p + ACPI_HDR_LEN + 4, (uint32_t)(base_gpa + l.madt));
	acpi_checksum(p, ACPI_HDR_LEN + 2 * 4, 9);

	p = buf + l.xsdt;
	acpi_header(p, "XSDT", ACPI_HDR_LEN + 2 * 8, 1);
	acpi_put64(p + ACPI_HDR_LEN, base_gpa + l.fadt);
	acpi_put64(p + ACPI_HDR_LEN + 8, base_gpa + l.madt);
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
