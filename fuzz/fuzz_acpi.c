/* fuzz_acpi.c - libFuzzer target: acpi_check on arbitrary bytes, acpi_build on arbitrary configs
 * (then acpi_check must agree). */
#include <errno.h>

#include "arch/x86/acpi.h"
#include "fuzz.h"

/*
 * The first byte picks a mode:
 *   0: the rest of the input is a window of guest memory at a base near
 *      0xE0000 (sometimes not 16-byte aligned) handed to acpi_check, in an
 *      exact-size heap block so ASan sees any read past it;
 *   1: the rest is a config, a window length and a base for acpi_build; a
 *      build that succeeds must pass acpi_check, which must report exactly
 *      the config; a refusal writes nothing and says why;
 *   2: a config built into a 0x1000-byte window, then (offset, value) edits
 *      from the rest of the input, then every checksum recomputed, so
 *      acpi_check's structural checks (lengths, pointers, MADT entries,
 *      AML) see the edits rather than a bad checksum. No crash, a reason.
 */

#define SENTINEL 0xa7
#define MAX_LEN 0x3000u
#define EDIT_WIN 0x1000u

static int sum_fix(uint8_t *buf, size_t len, size_t off, size_t n, size_t at)
{
	uint8_t s = 0;

	if (off > len || n > len - off || at >= n)
		return 0;
	buf[off + at] = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + buf[off + i]);
	buf[off + at] = (uint8_t)(0x100 - s);
	return 1;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void take_config(struct fuzz_in *in, struct acpi_config *cfg)
{
	uint8_t flags = fuzz_u8(in);
	unsigned ncpus = (unsigned)fuzz_take(in, 2) % 300;

	acpi_config_default(cfg, ncpus);
	cfg->ioapic = flags & 1;
	cfg->hw_reduced = flags & 2;
	cfg->i8042 = flags & 4;
	cfg->msi_unsupported = flags & 8;
	cfg->com1 = flags & 16;
	if (flags & 32)
		cfg->sci_irq = fuzz_u8(in);
	if (flags & 64) {
		cfg->pm1a_evt_port = (uint16_t)fuzz_take(in, 2);
		cfg->pm1a_cnt_port = (uint16_t)fuzz_take(in, 2);
		cfg->pm_tmr_port = (uint16_t)fuzz_take(in, 2);
		cfg->sleep_ctl_port = (uint16_t)fuzz_take(in, 2);
		cfg->sleep_sts_port = (uint16_t)fuzz_take(in, 2);
	}
	if (flags & 128) {
		cfg->reset_port = (uint16_t)fuzz_take(in, 2);
		cfg->reset_value = fuzz_u8(in);
	}
}

static void check_reason(int r, const char *why, size_t whylen)
{
	FUZZ_ASSERT(memchr(why, '\0', whylen) != NULL, "reason not NUL-terminated");
	if (r == 0)
		FUZZ_ASSERT(why[0] == '\0', "success with a reason: %s", why);
	else
		FUZZ_ASSERT(whylen == 1 || why[0] != '\0', "refused (%d) without a reason", r);
}

/* What acpi_check says about a successful build must be the config. */
static void check_matches(const struct acpi_config *cfg, const struct acpi_info *in, uint64_t base,
			  uint64_t rsdp)
{
	FUZZ_ASSERT(in->rsdp_gpa == rsdp && rsdp == base, "RSDP at %#llx, built at %#llx",
		    (unsigned long long)in->rsdp_gpa, (unsigned long long)rsdp);
	FUZZ_ASSERT(in->n_lapic == cfg->ncpus && in->n_lapic_enabled == cfg->ncpus,
		    "%u LAPICs for %u CPUs", in->n_lapic, cfg->ncpus);
	FUZZ_ASSERT(in->has_ioapic == cfg->ioapic, "I/O APIC %d, config %d", in->has_ioapic,
		    cfg->ioapic);
	if (cfg->ioapic)
		FUZZ_ASSERT(in->ioapic_id == cfg->ncpus && in->ioapic_addr == ACPI_IOAPIC_ADDR &&
				in->n_iso == 2,
			    "I/O APIC id %u addr %#x, %u overrides", in->ioapic_id, in->ioapic_addr,
			    in->n_iso);
	else
		FUZZ_ASSERT(in->n_iso == 0, "overrides without an I/O APIC");
	FUZZ_ASSERT(in->n_lapic_nmi == 1 && in->n_other == 0, "MADT extras");
	FUZZ_ASSERT(in->hw_reduced == cfg->hw_reduced, "hw_reduced %d", in->hw_reduced);
	FUZZ_ASSERT(in->sci_irq == cfg->sci_irq, "SCI %u", in->sci_irq);
	FUZZ_ASSERT(in->s5 == (int)ACPI_S5_SLP_TYP, "\\_S5_ %d", in->s5);
	FUZZ_ASSERT(in->has_com1 == cfg->com1, "COM1 %d", in->has_com1);
	FUZZ_ASSERT(in->facs_gpa % 64 == 0, "FACS at %#llx", (unsigned long long)in->facs_gpa);
	FUZZ_ASSERT(in->reset_port == cfg->reset_port &&
			(!cfg->reset_port || in->reset_value == cfg->reset_value),
		    "reset %#x=%#x", in->reset_port, in->reset_value);
	if (cfg->hw_reduced) {
		FUZZ_ASSERT(in->sleep_ctl_port == cfg->sleep_ctl_port &&
				in->sleep_sts_port == cfg->sleep_sts_port && !in->pm1a_evt_port &&
				!in->pm1a_cnt_port && !in->pm_tmr_port,
			    "hardware-reduced ports");
	} else {
		FUZZ_ASSERT(in->pm1a_evt_port == cfg->pm1a_evt_port &&
				in->pm1a_cnt_port == cfg->pm1a_cnt_port &&
				in->pm_tmr_port == cfg->pm_tmr_port && !in->sleep_ctl_port &&
				in->tmr_val_ext == (cfg->pm_tmr_port != 0),
			    "PM ports %#x %#x %#x", in->pm1a_evt_port, in->pm1a_cnt_port,
			    in->pm_tmr_port);
	}
}

static void fuzz_build(struct fuzz_in *in, char *why, size_t whylen)
{
	struct acpi_config cfg;
	struct acpi_info info;
	size_t len, need;
	uint64_t base, rsdp = 0xdead;
	uint8_t *buf;
	int r;

	take_config(in, &cfg);
	len = (size_t)fuzz_take(in, 2) % MAX_LEN;
	switch (fuzz_u8(in) % 4) {
	case 0:
		base = ACPI_WINDOW_GPA;
		break;
	case 1:
		base = fuzz_take(in, 4) & ~0xfull;
		break;
	case 2:
		base = fuzz_u64(in);
		break;
	default:
		base = (1ull << 32) - len - (fuzz_take(in, 1) & 0x1f);
		break;
	}
	buf = malloc(len ? len : 1);
	memset(buf, SENTINEL, len);
	r = acpi_build(buf, len, base, &cfg, &rsdp, why, whylen);
	check_reason(r > 0 ? 0 : r, why, whylen);
	need = acpi_size(&cfg, base);
	if (r <= 0) {
		FUZZ_ASSERT(r == -EINVAL || r == -ENOSPC, "returned %d", r);
		FUZZ_ASSERT(rsdp == 0xdead, "rsdp written on refusal");
		for (size_t i = 0; i < len; i++)
			FUZZ_ASSERT(buf[i] == SENTINEL, "refusal wrote byte %zu", i);
		if (r == -ENOSPC)
			FUZZ_ASSERT(need > len, "-ENOSPC but acpi_size %zu fits %zu", need, len);
		free(buf);
		return;
	}
	FUZZ_ASSERT((size_t)r == need && need <= len, "wrote %d, acpi_size %zu, window %zu", r,
		    need, len);
	for (size_t i = (size_t)r; i < len; i++)
		FUZZ_ASSERT(buf[i] == SENTINEL, "wrote byte %zu past the %d it reported", i, r);
	r = acpi_check(buf, len, base, &info, why, whylen);
	FUZZ_ASSERT(r == 0, "built tables fail acpi_check: %s", why);
	check_matches(&cfg, &info, base, rsdp);
	free(buf);
}

static void fuzz_edit(struct fuzz_in *in, char *why, size_t whylen)
{
	static uint8_t buf[EDIT_WIN];
	struct acpi_config cfg;
	struct acpi_info info;
	uint64_t t[5];
	int r;

	take_config(in, &cfg);
	if (acpi_build(buf, sizeof(buf), ACPI_WINDOW_GPA, &cfg, NULL, why, whylen) <= 0)
		return;
	r = acpi_check(buf, sizeof(buf), ACPI_WINDOW_GPA, &info, why, whylen);
	FUZZ_ASSERT(r == 0, "built tables fail acpi_check: %s", why);
	t[0] = info.rsdt_gpa;
	t[1] = info.xsdt_gpa;
	t[2] = info.fadt_gpa;
	t[3] = info.dsdt_gpa;
	t[4] = info.madt_gpa;
	while (in->left >= 3) {
		unsigned off = (unsigned)fuzz_take(in, 2) % EDIT_WIN;
		buf[off] = fuzz_u8(in);
	}
	/* Re-sign what was there, with whatever lengths the edits left. */
	sum_fix(buf, sizeof(buf), 0, 20, 8);
	sum_fix(buf, sizeof(buf), 0, rd32(buf + 20), 32);
	for (unsigned i = 0; i < 5; i++) {
		size_t off = (size_t)(t[i] - ACPI_WINDOW_GPA);
		sum_fix(buf, sizeof(buf), off, rd32(buf + off + 4), 9);
	}
	r = acpi_check(buf, sizeof(buf), ACPI_WINDOW_GPA, &info, why, whylen);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOENT, "returned %d", r);
	check_reason(r, why, whylen);
	memset(buf, 0, sizeof(buf));
}

static void fuzz_check(const uint8_t *data, size_t size, uint8_t mode, char *why, size_t whylen)
{
	uint64_t base = ACPI_WINDOW_GPA + ((mode >> 2) & 7) * 8;
	uint8_t *buf = malloc(size ? size : 1);
	struct acpi_info info;
	int r;

	memcpy(buf, data, size);
	r = acpi_check(buf, size, base, &info, why, whylen);
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOENT, "returned %d", r);
	check_reason(r, why, whylen);
	if (r == 0) {
		FUZZ_ASSERT(info.rsdp_gpa % 16 == 0 && info.rsdp_gpa >= base &&
				info.rsdp_gpa - base + 20 <= size,
			    "RSDP at %#llx", (unsigned long long)info.rsdp_gpa);
		FUZZ_ASSERT(info.fadt_gpa && info.madt_gpa && info.dsdt_gpa && info.facs_gpa &&
				info.n_lapic >= 1,
			    "accepted without FADT/MADT/DSDT/FACS/LAPIC");
		FUZZ_ASSERT(info.facs_gpa % 64 == 0, "FACS misaligned");
		FUZZ_ASSERT(info.madt_gpa >= base && info.madt_gpa - base < size &&
				info.dsdt_gpa >= base && info.dsdt_gpa - base < size,
			    "table outside the window accepted");
		FUZZ_ASSERT(info.s5 >= -1 && info.s5 <= 7, "s5 %d", info.s5);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whylen = 1 + size % 200;
	char *why = malloc(whylen);
	struct fuzz_in in = {data + (size ? 1 : 0), size ? size - 1 : 0};
	uint8_t mode = size ? data[0] : 0;

	switch (mode % 3) {
	case 0:
		fuzz_check(in.p, in.left, mode, why, whylen);
		break;
	case 1:
		fuzz_build(&in, why, whylen);
		break;
	default:
		fuzz_edit(&in, why, whylen);
		break;
	}
	free(why);
	return 0;
}
