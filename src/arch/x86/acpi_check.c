/* acpi_check.c - check an ACPI table set the way a guest reads it: find the RSDP, follow every
 * pointer, trust no byte. */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "arch/x86/acpi_tables.h"

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
				 "ACPI: %s at %#" PRIx64
				 " has signature %02x%02x%02x%02x, not \"%s\"",
				 what, gpa, p[0], p[1], p[2], p[3], sig);
	n = acpi_get32(p + 4);
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
	uint64_t a32 = acpi_get32(f + lo);
	uint64_t a64 = flen >= x + 8 ? acpi_get64(f + x) : 0;

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
	uint64_t a32 = acpi_get32(f + lo);
	uint64_t a64 = 0;

	if (flen >= x + GAS_LEN && acpi_get64(f + x + 4)) {
		if (f[x] != GAS_SYSTEM_IO)
			return acpi_fail(w->why, w->whylen, -EINVAL,
					 "ACPI: FADT X_%s is in address space %u, not system I/O",
					 what, f[x]);
		a64 = acpi_get64(f + x + 4);
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
	a = acpi_get64(f + x + 4);
	if (!a)
		return 0;
	if (f[x] != GAS_SYSTEM_IO || a > 0xffff)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FADT %s (space %u, address %#" PRIx64
				 ") is not an I/O port",
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
	static const unsigned width[] = {
	    [AML_BYTE] = 1, [AML_WORD] = 2, [AML_DWORD] = 4, [AML_QWORD] = 8};
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
			return acpi_fail(
			    w->why, w->whylen, -EINVAL,
			    "ACPI: DSDT \\_S5_ package does not start with an integer");
		if (v > 7)
			return acpi_fail(
			    w->why, w->whylen, -EINVAL,
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
	flags = acpi_get32(f + FADT_FLAGS);
	in->hw_reduced = flags & FADT_F_HW_REDUCED;
	in->tmr_val_ext = flags & FADT_F_TMR_VAL_EXT;
	in->iapc_boot_arch = acpi_get16(f + FADT_IAPC_BOOT_ARCH);
	in->sci_irq = acpi_get16(f + FADT_SCI_INT);

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
	if (memcmp(w->buf + off, "FACS", 4) != 0 || acpi_get32(w->buf + off + 4) < ACPI_FACS_LEN)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: FACS at %#" PRIx64 " has a bad signature or length", facs);
	if (!win_has(w, facs, acpi_get32(w->buf + off + 4), &off))
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
			return acpi_fail(
			    w->why, w->whylen, -EINVAL,
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
	static const uint8_t want[] = {[MADT_LAPIC] = MADT_LAPIC_LEN,
				       [MADT_IOAPIC] = MADT_IOAPIC_LEN,
				       [MADT_ISO] = MADT_ISO_LEN,
				       [MADT_LAPIC_NMI] = MADT_LAPIC_NMI_LEN};
	uint8_t seen[256 / 8] = {0};
	const uint8_t *m;
	size_t off, i;
	uint32_t mlen;
	int r;

	if ((r = acpi_table(w, "MADT", gpa, "APIC", ACPI_MADT_HDR_LEN, &off, &mlen)))
		return r;
	m = w->buf + off;
	in->madt_gpa = gpa;
	in->lapic_addr = acpi_get32(m + 36);
	in->madt_flags = acpi_get32(m + 40);
	for (i = ACPI_MADT_HDR_LEN; i < mlen;) {
		const uint8_t *e = m + i;
		uint8_t type, elen;

		if (mlen - i < 2 || e[1] < 2 || e[1] > mlen - i)
			return acpi_fail(
			    w->why, w->whylen, -EINVAL,
			    "ACPI: MADT entry at offset %zu runs past the table (%u bytes)", i,
			    mlen);
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
			if (acpi_get32(e + 4) & MADT_LAPIC_ENABLED)
				in->n_lapic_enabled++;
			break;
		case MADT_IOAPIC:
			if (in->has_ioapic)
				return acpi_fail(w->why, w->whylen, -EINVAL,
						 "ACPI: MADT lists more than one I/O APIC (kestrel "
						 "checks one)");
			in->has_ioapic = true;
			in->ioapic_id = e[2];
			in->ioapic_addr = acpi_get32(e + 4);
			in->ioapic_gsi_base = acpi_get32(e + 8);
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
				 "ACPI: %s length %u is not a header plus %u-byte entries", sig,
				 len, esz);
	n = (len - ACPI_HDR_LEN) / esz;
	if (n > ACPI_MAX_ENTRIES)
		return acpi_fail(w->why, w->whylen, -EINVAL,
				 "ACPI: %s lists %u tables, more than %u", sig, n,
				 ACPI_MAX_ENTRIES);
	tab[0] = tab[1] = 0;
	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *e = w->buf + off + ACPI_HDR_LEN + (size_t)i * esz;
		uint64_t t = esz == 4 ? acpi_get32(e) : acpi_get64(e);
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
			/* Revision 2 is 36 bytes: its Length field lies past the first 20. */
			n = w->len - i >= ACPI_RSDP_LEN ? acpi_get32(p + 20) : 0;
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
			 "ACPI: no \"RSD PTR \" signature on a 16-byte boundary in %#" PRIx64
			 "+%#zx",
			 w->base, w->len);
}

int acpi_check(const uint8_t *buf, size_t len, uint64_t base_gpa, struct acpi_info *info, char *why,
	       size_t whylen)
{
	struct acpi_win w = {buf, len, base_gpa, why, whylen};
	struct acpi_info in = {.s5 = -1};
	uint64_t rt[2] = {0, 0}, xt[2] = {0, 0}, *t;
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
	in.rsdt_gpa = acpi_get32(buf + at + 16);
	if (in.rsdp_rev >= 2)
		in.xsdt_gpa = acpi_get64(buf + at + 24);
	if (!in.rsdt_gpa && !in.xsdt_gpa)
		return acpi_fail(why, whylen, -EINVAL,
				 "ACPI: RSDP names neither an RSDT nor an XSDT");
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
