/* test_acpi.c - unit tests for acpi_build and acpi_check: CPU counts, ports, hardware-reduced,
 * refusals, corrupted tables. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "tap.h"

#define BASE ACPI_WINDOW_GPA
#define WIN ACPI_WINDOW_SIZE

static uint8_t win[WIN];
static uint8_t copy[WIN];
static char why[256];

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

/* Host pointer of a guest address inside `b` (the window). */
static uint8_t *at(uint8_t *b, uint64_t gpa)
{
	return b + (gpa - BASE);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* Recompute a table's checksum after a deliberate edit (so only the edit is wrong). */
static void fix(uint8_t *t)
{
	t[9] = 0;
	t[9] = (uint8_t)(0x100 - sum(t, rd32(t + 4)));
}

static int build(const struct acpi_config *cfg, struct acpi_info *info)
{
	uint64_t rsdp = 0;
	int r;

	memset(win, 0, sizeof(win));
	r = acpi_build(win, sizeof(win), BASE, cfg, &rsdp, why, sizeof(why));
	if (r <= 0) {
		tap_diag("acpi_build: %d %s", r, why);
		return r;
	}
	if (rsdp != BASE)
		tap_diag("rsdp at %#llx", (unsigned long long)rsdp);
	if (acpi_check(win, sizeof(win), BASE, info, why, sizeof(why)) != 0) {
		tap_diag("acpi_check: %s", why);
		return -1000;
	}
	return r;
}

/* Every table (checked independently of acpi_check) sums to 0. */
static int checksums_ok(const struct acpi_info *in)
{
	const uint64_t t[] = {in->rsdt_gpa, in->xsdt_gpa, in->fadt_gpa, in->dsdt_gpa, in->madt_gpa};
	const uint8_t *r = at(win, in->rsdp_gpa);

	if (sum(r, 20) || sum(r, 36) || rd32(r + 20) != 36)
		return 0;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!t[i] || sum(at(win, t[i]), rd32(at(win, t[i]) + 4)))
			return 0;
	return 1;
}

static void test_cpus(unsigned n)
{
	struct acpi_config cfg;
	struct acpi_info in;
	const uint8_t *m, *e;
	unsigned lapics = 0, ids_ok = 1, iso0 = 0, iso9 = 0, nmi = 0;
	int r;

	acpi_config_default(&cfg, n);
	r = build(&cfg, &in);
	if (!TAP_OK(r > 0, "%u CPUs: built and checked", n))
		return;
	TAP_EQ_U64((size_t)r, acpi_size(&cfg, BASE), "%u CPUs: size = acpi_size()", n);
	TAP_OK(checksums_ok(&in), "%u CPUs: every checksum sums to 0", n);
	TAP_EQ_U64(in.rsdp_gpa, BASE, "%u CPUs: RSDP at the window's start", n);
	TAP_EQ_INT(in.rsdp_rev, 2, "%u CPUs: RSDP revision 2", n);
	TAP_OK(in.rsdt_gpa && in.xsdt_gpa, "%u CPUs: RSDT and XSDT", n);
	TAP_EQ_INT(in.fadt_rev, 6, "%u CPUs: FADT revision 6", n);
	TAP_EQ_U64(in.facs_gpa % 64, 0, "%u CPUs: FACS 64-byte aligned", n);
	TAP_EQ_INT(in.n_lapic, n, "%u CPUs: %u local APICs", n, n);
	TAP_EQ_INT(in.n_lapic_enabled, n, "%u CPUs: all enabled", n);
	TAP_OK(in.has_ioapic && in.ioapic_id == n && in.ioapic_addr == 0xfec00000u &&
		   in.ioapic_gsi_base == 0,
	       "%u CPUs: I/O APIC id %u at 0xfec00000, GSI base 0", n, n);
	TAP_EQ_INT(in.n_iso, 2, "%u CPUs: two interrupt source overrides", n);
	TAP_EQ_INT(in.n_lapic_nmi, 1, "%u CPUs: one local APIC NMI", n);
	TAP_EQ_U64(in.lapic_addr, 0xfee00000u, "%u CPUs: LAPIC address", n);
	TAP_EQ_U64(in.madt_flags & 1, 1, "%u CPUs: PCAT_COMPAT", n);
	TAP_EQ_INT(in.s5, ACPI_S5_SLP_TYP, "%u CPUs: \\_S5_ = %u", n, ACPI_S5_SLP_TYP);

	/* Walk the MADT here too, not only through acpi_check. */
	m = at(win, in.madt_gpa);
	for (e = m + 44; e < m + rd32(m + 4); e += e[1]) {
		if (e[1] < 2)
			break;
		if (e[0] == 0) {
			ids_ok &= e[2] == lapics && e[3] == lapics && (rd32(e + 4) & 1);
			lapics++;
		} else if (e[0] == 2 && e[3] == 0) {
			iso0 = rd32(e + 4) == 2 && rd16(e + 8) == 0;
		} else if (e[0] == 2 && e[3] == 9) {
			iso9 = rd32(e + 4) == 9 && rd16(e + 8) == 0xd; /* level, active-high */
		} else if (e[0] == 4) {
			nmi = e[2] == 0xff && e[5] == 1;
		}
	}
	TAP_OK(lapics == n && ids_ok, "%u CPUs: LAPIC entry i has UID i, APIC ID i, enabled", n);
	TAP_OK(iso0 && iso9, "%u CPUs: IRQ0 -> GSI 2; IRQ9 level/active-high", n);
	TAP_OK(nmi, "%u CPUs: NMI on LINT1 of every CPU", n);
	TAP_OK(in.madt_gpa + rd32(m + 4) - BASE == (uint64_t)r, "%u CPUs: MADT is the last table",
	       n);
}

static void test_fadt(void)
{
	struct acpi_config cfg;
	struct acpi_info in;
	const uint8_t *f;

	acpi_config_default(&cfg, 2);
	if (!TAP_OK(build(&cfg, &in) > 0, "default config builds"))
		return;
	TAP_OK(!in.hw_reduced && in.tmr_val_ext, "not hardware-reduced, 32-bit PM timer");
	TAP_OK(in.pm1a_evt_port == 0x600 && in.pm1a_cnt_port == 0x604 && in.pm_tmr_port == 0x608,
	       "default ports 0x600/0x604/0x608");
	TAP_EQ_INT(in.sci_irq, 9, "SCI_INT 9");
	TAP_OK(in.reset_port == 0x64 && in.reset_value == 0xfe, "RESET_REG 0xfe to port 0x64");
	TAP_OK((in.iapc_boot_arch & 0x6) == 0x6 && !(in.iapc_boot_arch & 0x8),
	       "IAPC_BOOT_ARCH: 8042, VGA not present, MSI allowed");
	TAP_OK(!in.has_com1, "no COM1 device by default");

	/* The raw fields, as a guest's parser reads them. */
	f = at(win, in.fadt_gpa);
	TAP_EQ_U64(rd32(f + 4), 276, "FADT length 276");
	TAP_OK(rd32(f + 36) == in.facs_gpa && rd64(f + 132) == in.facs_gpa,
	       "FIRMWARE_CTRL = X_FIRMWARE_CTRL = FACS");
	TAP_OK(rd32(f + 40) == in.dsdt_gpa && rd64(f + 140) == in.dsdt_gpa, "DSDT = X_DSDT");
	TAP_OK(f[88] == 4 && f[89] == 2 && f[91] == 4,
	       "PM1_EVT_LEN 4, PM1_CNT_LEN 2, PM_TMR_LEN 4");
	TAP_OK(f[208] == 1 && f[209] == 32 && rd64(f + 212) == 0x608,
	       "X_PM_TMR_BLK: system I/O, 32 bits, port 0x608");
	TAP_OK(f[148] == 1 && f[149] == 32 && rd64(f + 152) == 0x600 && f[172] == 1 &&
		   f[173] == 16 && rd64(f + 176) == 0x604,
	       "X_PM1a_EVT_BLK / X_PM1a_CNT_BLK match the legacy blocks");
	TAP_OK(rd32(f + 112) & (1u << 8), "flags: TMR_VAL_EXT");
	TAP_OK(!(rd32(f + 112) & (1u << 20)), "flags: not HW_REDUCED_ACPI");
	TAP_EQ_U64(rd64(f + 248), 0, "no SLEEP_CONTROL_REG in a full FADT");
	TAP_EQ_U64(rd32(f + 48), 0, "SMI_CMD 0: always in ACPI mode");

	/* Other ports, no PM timer, no reset register, no I/O APIC. */
	cfg.pm1a_evt_port = 0xb000;
	cfg.pm1a_cnt_port = 0xb004;
	cfg.pm_tmr_port = 0xb008;
	cfg.i8042 = false;
	cfg.msi_unsupported = true;
	TAP_OK(build(&cfg, &in) > 0 && in.pm1a_evt_port == 0xb000 && in.pm1a_cnt_port == 0xb004 &&
		   in.pm_tmr_port == 0xb008,
	       "ports are config fields (0xb000/0xb004/0xb008)");
	TAP_OK((in.iapc_boot_arch & 0xe) == 0xc, "IAPC_BOOT_ARCH: no 8042, MSI not supported");
	cfg.pm_tmr_port = 0;
	cfg.reset_port = 0;
	cfg.ioapic = false;
	TAP_OK(build(&cfg, &in) > 0 && in.pm_tmr_port == 0 && !in.tmr_val_ext && !in.reset_port,
	       "no PM timer, no reset register");
	TAP_OK(!in.has_ioapic && in.n_iso == 0 && in.n_lapic == 2, "no I/O APIC, no overrides");
}

static void test_hw_reduced(void)
{
	struct acpi_config cfg;
	struct acpi_info in;
	const uint8_t *f;

	acpi_config_default(&cfg, 4);
	cfg.hw_reduced = true;
	if (!TAP_OK(build(&cfg, &in) > 0, "hardware-reduced builds"))
		return;
	TAP_OK(in.hw_reduced, "HW_REDUCED_ACPI flag");
	TAP_OK(in.sleep_ctl_port == 0x60c && in.sleep_sts_port == 0x60d,
	       "SLEEP_CONTROL_REG 0x60c, SLEEP_STATUS_REG 0x60d");
	TAP_OK(in.pm1a_evt_port == 0 && in.pm1a_cnt_port == 0 && in.pm_tmr_port == 0,
	       "no PM1 blocks, no PM timer");
	TAP_EQ_INT(in.s5, ACPI_S5_SLP_TYP, "\\_S5_ still present");
	f = at(win, in.fadt_gpa);
	TAP_OK(f[244] == 1 && f[245] == 8 && f[247] == 1 && rd64(f + 248) == 0x60c,
	       "SLEEP_CONTROL_REG GAS: I/O, 8 bits, byte access");
	TAP_OK(rd32(f + 56) == 0 && rd32(f + 76) == 0 && f[91] == 0, "legacy blocks zero");
	TAP_OK(checksums_ok(&in), "hardware-reduced: checksums");

	cfg.sleep_ctl_port = 0x900;
	cfg.sleep_sts_port = 0x901;
	TAP_OK(build(&cfg, &in) > 0 && in.sleep_ctl_port == 0x900 && in.sleep_sts_port == 0x901,
	       "sleep ports are config fields");
}

static void test_dsdt(void)
{
	static const uint8_t s5[] = {0x08, '\\', '_',  'S',  '5',  '_',	 0x12, 0x08,
				     0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
	struct acpi_config cfg;
	struct acpi_info in;
	const uint8_t *d;

	acpi_config_default(&cfg, 1);
	if (!TAP_OK(build(&cfg, &in) > 0, "DSDT: builds"))
		return;
	d = at(win, in.dsdt_gpa);
	TAP_EQ_U64(rd32(d + 4), 36 + sizeof(s5), "DSDT without COM1 is the header and \\_S5_");
	TAP_OK(memcmp(d + 36, s5, sizeof(s5)) == 0, "\\_S5_ AML bytes: Name, Package(4){5,5,0,0}");
	TAP_EQ_INT(d[8], 2, "DSDT revision 2 (64-bit integers)");

	cfg.com1 = true;
	if (!TAP_OK(build(&cfg, &in) > 0, "DSDT with COM1 builds"))
		return;
	d = at(win, in.dsdt_gpa);
	TAP_OK(in.has_com1, "COM1 (PNP0501) found");
	{
		/* Scope(\_SB) { Device(COM1) { _HID, _UID, _CRS } }, lengths by hand. */
		static const uint8_t com1[] = {
		    0x10, 0x33, '\\', '_',  'S',  'B',	'_',  0x5b, 0x82, 0x2b, 'C',  'O',  'M',
		    '1',  0x08, '_',  'H',  'I',  'D',	0x0c, 0x41, 0xd0, 0x05, 0x01, 0x08, '_',
		    'U',  'I',	'D',  0x01, 0x08, '_',	'C',  'R',  'S',  0x11, 0x10, 0x0a, 0x0d,
		    0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00,
		};
		TAP_EQ_U64(rd32(d + 4), 36 + sizeof(s5) + sizeof(com1), "DSDT length with COM1");
		TAP_OK(memcmp(d + 36 + sizeof(s5), com1, sizeof(com1)) == 0,
		       "COM1 AML: IO 0x3f8 len 8, IRQ 4, PkgLengths");
	}
	TAP_OK(checksums_ok(&in), "COM1: checksums");
}

static void test_refusals(void)
{
	struct acpi_config cfg, good;
	size_t need;
	uint64_t rsdp = 0xdead;
	int r;

	acpi_config_default(&good, 255);
	need = acpi_size(&good, BASE);
	TAP_OK(need > 0x800 && need < 0x1000, "255 CPUs need %#zx bytes (< 4 KiB)", need);

	/* Too small: refused, nothing written. */
	memset(win, 0xaa, sizeof(win));
	r = acpi_build(win, need - 1, BASE, &good, &rsdp, why, sizeof(why));
	TAP_EQ_INT(r, -ENOSPC, "window one byte too small: -ENOSPC");
	TAP_STR_CONTAINS(why, "need", "reason says what is needed");
	TAP_OK(win[0] == 0xaa && win[need - 2] == 0xaa, "nothing written on refusal");
	TAP_EQ_U64(rsdp, 0xdead, "rsdp untouched on refusal");
	r = acpi_build(win, need, BASE, &good, &rsdp, why, sizeof(why));
	TAP_OK(r == (int)need && acpi_check(win, need, BASE, NULL, why, sizeof(why)) == 0,
	       "exactly acpi_size() bytes is enough");
	TAP_EQ_U64(win[need], 0xaa, "nothing written past the tables");
	TAP_EQ_INT(acpi_build(win, 0, BASE, &good, NULL, why, sizeof(why)), -ENOSPC,
		   "empty window refused");

	cfg = good;
	cfg.ncpus = 0;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "0 CPUs refused");
	TAP_STR_CONTAINS(why, "CPUs", "reason names the CPU count");
	TAP_EQ_U64(acpi_size(&cfg, BASE), 0, "acpi_size of a refused config is 0");
	cfg.ncpus = 256;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "256 CPUs refused (8-bit APIC IDs)");

	TAP_EQ_INT(acpi_build(win, WIN, BASE + 8, &good, NULL, why, sizeof(why)), -EINVAL,
		   "window not 16-byte aligned refused");
	TAP_STR_CONTAINS(why, "16-byte", "reason: alignment");
	TAP_EQ_INT(acpi_build(win, WIN, 0xfffff000ull, &good, NULL, why, sizeof(why)), -EINVAL,
		   "window crossing 4 GiB refused");
	TAP_STR_CONTAINS(why, "4 GiB", "reason: 32-bit addresses");
	TAP_EQ_INT(acpi_build(win, WIN, UINT64_MAX - 15, &good, NULL, why, sizeof(why)), -EINVAL,
		   "window wrapping 2^64 refused");
	TAP_OK(acpi_build(win, 0x1000, 0xfffff000ull, &good, NULL, why, sizeof(why)) > 0,
	       "window ending exactly at 4 GiB accepted");

	const uint8_t bad_sci[] = {0, 2, 16, 255};
	for (unsigned i = 0; i < sizeof(bad_sci); i++) {
		cfg = good;
		cfg.sci_irq = bad_sci[i];
		TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
			   "SCI IRQ %u refused", bad_sci[i]);
	}
	cfg = good;
	cfg.pm1a_cnt_port = 0;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "no PM1a control port (full ACPI) refused");
	cfg = good;
	cfg.pm_tmr_port = 0x602;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "PM timer overlapping the PM1a event block refused");
	TAP_STR_CONTAINS(why, "overlaps", "reason: overlap");
	cfg = good;
	cfg.pm1a_evt_port = 0xfffe;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "block past port 0xffff refused");
	cfg = good;
	cfg.hw_reduced = true;
	cfg.sleep_sts_port = 0;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "hardware-reduced without a sleep status port refused");
	TAP_STR_CONTAINS(why, "power off", "reason: the consequence");
	cfg.sleep_sts_port = cfg.sleep_ctl_port;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)), -EINVAL,
		   "sleep control and status on one port refused");
	cfg = good;
	cfg.hw_reduced = true;
	cfg.pm1a_evt_port = cfg.pm1a_cnt_port = cfg.pm_tmr_port = 0;
	TAP_OK(acpi_build(win, WIN, BASE, &cfg, NULL, why, sizeof(why)) > 0,
	       "hardware-reduced ignores the (zero) PM1 ports");

	/* why is optional, and never overrun. */
	cfg = good;
	cfg.ncpus = 0;
	TAP_EQ_INT(acpi_build(win, WIN, BASE, &cfg, NULL, NULL, 0), -EINVAL, "why = NULL works");
	memset(why, 'Z', sizeof(why));
	acpi_build(win, WIN, BASE, &cfg, NULL, why, 5);
	TAP_OK(why[4] == '\0' && why[5] == 'Z', "tiny why: truncated, NUL-terminated");
}

/* Copy the good window into `copy`, corrupt it with `edit`, expect refusal with `needle`. */
static void expect_bad(const struct acpi_info *in,
		       void (*edit)(uint8_t *, const struct acpi_info *), int err,
		       const char *needle, const char *name)
{
	memcpy(copy, win, sizeof(copy));
	edit(copy, in);
	why[0] = '\0';
	TAP_EQ_INT(acpi_check(copy, sizeof(copy), BASE, NULL, why, sizeof(why)), err, "rejects %s",
		   name);
	TAP_STR_CONTAINS(why, needle, "%s: reason", name);
}

static void e_rsdp_sum(uint8_t *b, const struct acpi_info *in)
{
	at(b, in->rsdp_gpa)[8] ^= 1;
}

static void e_rsdp_xsum(uint8_t *b, const struct acpi_info *in)
{
	at(b, in->rsdp_gpa)[32] ^= 1;
}

static void e_rsdt_sum(uint8_t *b, const struct acpi_info *in)
{
	at(b, in->rsdt_gpa)[9] ^= 0x80;
}

static void e_fadt_sum(uint8_t *b, const struct acpi_info *in)
{
	at(b, in->fadt_gpa)[9]++;
}

static void e_madt_sum(uint8_t *b, const struct acpi_info *in)
{
	at(b, in->madt_gpa)[9]--;
}

static void e_dsdt_byte(uint8_t *b, const struct acpi_info *in)
{
	at(b, in->dsdt_gpa)[40] ^= 0x10;
}

static void e_madt_len(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *m = at(b, in->madt_gpa);

	wr32(m + 4, (uint32_t)(WIN - (in->madt_gpa - BASE) + 1));
}

static void e_xsdt_outside(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *x = at(b, in->xsdt_gpa);

	wr64(x + 36 + 8, 0x100000); /* the MADT "at 1 MiB", past the window */
	fix(x);
}

static void e_dsdt_outside(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *f = at(b, in->fadt_gpa);

	wr32(f + 40, 0x1000);
	wr64(f + 140, 0x1000);
	fix(f);
}

static void e_rsdp_unaligned(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *r = at(b, in->rsdp_gpa);
	uint8_t save[36];

	/* Move the (valid) RSDP 8 bytes up, into the FACS padding. */
	memcpy(save, r, 36);
	memset(r, 0, 36);
	memcpy(r + 8, save, 36);
}

static void e_xsdt_rsdt_differ(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *x = at(b, in->xsdt_gpa);

	wr32(x + 4, 36 + 8); /* the XSDT drops the MADT, the RSDT keeps it */
	fix(x);
}

static void e_facs_unaligned(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *f = at(b, in->fadt_gpa);

	wr32(f + 36, (uint32_t)in->facs_gpa + 16);
	wr64(f + 132, in->facs_gpa + 16);
	fix(f);
}

static void e_dsdt_disagree(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *f = at(b, in->fadt_gpa);

	wr64(f + 140, in->madt_gpa);
	fix(f);
}

static void e_madt_entry_zero(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *m = at(b, in->madt_gpa);

	m[44 + 1] = 0; /* first entry's length 0: a naive walker loops forever */
	fix(m);
}

static void e_madt_dup_id(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *m = at(b, in->madt_gpa);

	m[44 + 8 + 3] = m[44 + 3]; /* CPU 1 gets CPU 0's APIC ID */
	fix(m);
}

static void e_hw_reduced_no_sleep(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *f = at(b, in->fadt_gpa);

	wr32(f + 112, rd32(f + 112) | (1u << 20));
	fix(f);
}

static void e_no_madt(uint8_t *b, const struct acpi_info *in)
{
	/* Both root tables list only the FADT. */
	uint8_t *r = at(b, in->rsdt_gpa), *x = at(b, in->xsdt_gpa);

	wr32(r + 4, 36 + 4);
	wr32(x + 4, 36 + 8);
	fix(r);
	fix(x);
}

static void e_pm_tmr_len(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *f = at(b, in->fadt_gpa);

	f[91] = 3;
	fix(f);
}

static void e_s5_pkglen(uint8_t *b, const struct acpi_info *in)
{
	uint8_t *d = at(b, in->dsdt_gpa);

	d[36 + 7] = 0x3f; /* \_S5_'s PkgLength runs past the DSDT */
	fix(d);
}

static void test_corrupt(void)
{
	struct acpi_config cfg;
	struct acpi_info in;
	unsigned missed = 0, tried = 0;

	acpi_config_default(&cfg, 3);
	cfg.com1 = true;
	if (!TAP_OK(build(&cfg, &in) > 0, "corruption: the good tables pass"))
		return;

	expect_bad(&in, e_rsdp_sum, -ENOENT, "checksum", "flipped RSDP checksum");
	expect_bad(&in, e_rsdp_xsum, -ENOENT, "extended checksum",
		   "flipped RSDP extended checksum");
	expect_bad(&in, e_rsdt_sum, -EINVAL, "RSDT", "flipped RSDT checksum");
	expect_bad(&in, e_fadt_sum, -EINVAL, "checksum", "flipped FADT checksum");
	expect_bad(&in, e_madt_sum, -EINVAL, "APIC (RSDT entry 1) at 0x", "flipped MADT checksum");
	expect_bad(&in, e_dsdt_byte, -EINVAL, "DSDT", "changed DSDT byte");
	expect_bad(&in, e_madt_len, -EINVAL, "past the end", "MADT length past the buffer");
	expect_bad(&in, e_xsdt_outside, -EINVAL, "outside", "XSDT pointer outside the window");
	expect_bad(&in, e_dsdt_outside, -EINVAL, "outside", "DSDT pointer outside the window");
	expect_bad(&in, e_rsdp_unaligned, -ENOENT, "16-byte", "RSDP not 16-byte aligned");
	expect_bad(&in, e_xsdt_rsdt_differ, -EINVAL, "different", "RSDT and XSDT disagree");
	expect_bad(&in, e_facs_unaligned, -EINVAL, "64-byte", "FACS not 64-byte aligned");
	expect_bad(&in, e_dsdt_disagree, -EINVAL, "disagree", "DSDT and X_DSDT differ");
	expect_bad(&in, e_madt_entry_zero, -EINVAL, "MADT entry", "MADT entry of length 0");
	expect_bad(&in, e_madt_dup_id, -EINVAL, "twice", "two CPUs with one APIC ID");
	expect_bad(&in, e_hw_reduced_no_sleep, -EINVAL, "SLEEP_CONTROL_REG",
		   "HW_REDUCED flag without sleep registers");
	expect_bad(&in, e_no_madt, -EINVAL, "no MADT", "no MADT listed");
	expect_bad(&in, e_pm_tmr_len, -EINVAL, "PM_TMR_BLK", "PM_TMR_LEN 3");
	expect_bad(&in, e_s5_pkglen, -EINVAL, "_S5_", "\\_S5_ package length past the DSDT");

	/* The same window seen at another base: the RSDP is then misaligned. */
	TAP_EQ_INT(acpi_check(win, WIN - 8, BASE + 8, NULL, why, sizeof(why)), -ENOENT,
		   "RSDP at a guest address that is not 16-byte aligned is not found");
	TAP_EQ_INT(acpi_check(win, (size_t)(in.madt_gpa - BASE) + 44, BASE, NULL, why, sizeof(why)),
		   -EINVAL, "window cut inside the MADT");
	TAP_STR_CONTAINS(why, "past the end", "cut window: reason");
	memset(copy, 0, sizeof(copy));
	TAP_EQ_INT(acpi_check(copy, sizeof(copy), BASE, NULL, why, sizeof(why)), -ENOENT,
		   "all-zero window: no RSDP");
	TAP_EQ_INT(acpi_check(win, 0, BASE, NULL, why, sizeof(why)), -ENOENT, "empty window");
	TAP_EQ_INT(acpi_check(win, 19, BASE, NULL, why, sizeof(why)), -ENOENT,
		   "19 bytes: too short for an RSDP");
	TAP_EQ_INT(acpi_check(win, WIN, UINT64_MAX - 100, NULL, why, sizeof(why)), -EINVAL,
		   "window wrapping 2^64");
	memcpy(copy, win, 20); /* a valid revision-2 RSDP's first 20 bytes, at the window's end */
	TAP_EQ_INT(acpi_check(copy, 20, BASE, NULL, why, sizeof(why)), -ENOENT,
		   "revision-2 RSDP cut after 20 bytes: not read past the window");
	TAP_STR_CONTAINS(why, "bad length", "cut RSDP: reason");

	/* An ACPI 1.0 RSDP (revision 0: 20 bytes, RSDT only) is still followed. */
	memcpy(copy, win, sizeof(copy));
	copy[15] = 0;
	copy[8] = 0;
	copy[8] = (uint8_t)(0x100 - sum(copy, 20));
	{
		struct acpi_info v1;
		TAP_EQ_INT(acpi_check(copy, sizeof(copy), BASE, &v1, why, sizeof(why)), 0,
			   "revision-0 RSDP accepted");
		TAP_OK(v1.rsdp_rev == 0 && v1.xsdt_gpa == 0 && v1.rsdt_gpa == in.rsdt_gpa &&
			   v1.madt_gpa == in.madt_gpa && v1.n_lapic == 3,
		       "revision 0: tables found through the RSDT alone");
	}

	/* Every byte of every checksummed table matters: any single change is caught. */
	const uint64_t tab[] = {in.rsdt_gpa, in.xsdt_gpa, in.fadt_gpa, in.dsdt_gpa, in.madt_gpa};
	memcpy(copy, win, sizeof(copy));
	for (unsigned t = 0; t <= sizeof(tab) / sizeof(tab[0]); t++) {
		size_t off = t ? (size_t)(tab[t - 1] - BASE) : 0;
		size_t n = t ? rd32(win + off + 4) : 36;

		for (size_t i = off; i < off + n; i++) {
			copy[i] ^= 0x5a;
			tried++;
			if (acpi_check(copy, sizeof(copy), BASE, NULL, why, sizeof(why)) == 0)
				missed++;
			copy[i] ^= 0x5a;
		}
	}
	TAP_EQ_INT(missed, 0,
		   "each of %u single-byte changes to RSDP/RSDT/XSDT/FADT/DSDT/MADT "
		   "is rejected",
		   tried);
	TAP_EQ_INT(acpi_check(copy, sizeof(copy), BASE, NULL, why, sizeof(why)), 0,
		   "restored copy passes again");

	/* Random garbage and random edits never crash the checker (ASan build). */
	srand(12345);
	for (unsigned k = 0; k < 2000; k++) {
		memcpy(copy, win, 0x1000);
		for (unsigned j = 0; j < 1 + k % 8; j++)
			copy[rand() % 0x1000] = (uint8_t)rand();
		(void)acpi_check(copy, 0x1000, BASE, &in, why, sizeof(why));
	}
	TAP_OK(1, "2000 randomly edited windows checked without a crash");
}

int main(void)
{
	const unsigned cpus[] = {1, 3, 64, 255};

	for (unsigned i = 0; i < sizeof(cpus) / sizeof(cpus[0]); i++)
		test_cpus(cpus[i]);
	test_fadt();
	test_hw_reduced();
	test_dsdt();
	test_refusals();
	test_corrupt();
	return tap_done();
}
