/* platform.c - mb-test's PC platform probes: fw_cfg, ACPI and its PM timer, PCI bus 0, pc-testdev,
 * a clock. */
#include "mb.h"

#define FWCFG_SELECTOR 0x510 /* 16-bit write: the item key */
#define FWCFG_DATA 0x511     /* byte reads, auto-incrementing */
#define FWCFG_SIGNATURE 0x0000
#define FWCFG_ID 0x0001
#define FWCFG_RAM_SIZE 0x0003
#define FWCFG_NB_CPUS 0x0005
#define FWCFG_ID_TRADITIONAL 0x1 /* the I/O-port interface this test uses */

#define ACPI_WINDOW_START 0xE0000u /* the BIOS read-only area the RSDP lives in */
#define ACPI_WINDOW_END 0x100000u
#define ACPI_TABLE_MAX (1u << 20) /* longer tables are taken as garbage */
#define ACPI_HDR_LEN 36
#define FADT_PM_TMR_BLK 76
#define FADT_PM_TMR_LEN 91
#define FADT_FLAGS 112
#define FADT_FLAG_TMR_VAL_EXT (1u << 8) /* 32-bit PM timer, else 24-bit */
#define FADT_X_PM_TMR_BLK 208		/* generic address structure */
#define PM_TIMER_HZ 3579545u
#define PM_ADVANCE_READS 100000u	    /* reads allowed for the timer to move at all */
#define PM_WINDOW_TICKS (PM_TIMER_HZ / 100) /* 10 ms rate window */
#define PM_WINDOW_READS 5000000u
#define PM_RATE_TOL_PCT 10

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_ENABLE 0x80000000u

#define TESTDEV_SCRATCH 0xe0

#define ASSUMED_TSC_KHZ 3000000u

static uint32_t tsc_khz; /* from CPUID, 0 = unknown */
static bool tsc_khz_read;
static uint16_t pm_port; /* 0 = no PM timer found (yet) */
static uint32_t pm_mask;
static uint32_t pm_last;
static uint64_t pm_ticks;

/* ---- clock ------------------------------------------------------------------ */

uint32_t tsc_khz_cpuid(void)
{
	uint32_t max, a, b, c, d;

	if (tsc_khz_read)
		return tsc_khz;
	tsc_khz_read = true;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c)
			tsc_khz = (uint32_t)((uint64_t)c * b / a / 1000);
	}
	if (!tsc_khz && max >= 1) {
		cpuid(1, 0, &a, &b, &c, &d);
		if (c & (1u << 31)) { /* a hypervisor: its leaves exist */
			cpuid(0x40000000u, 0, &max, &b, &c, &d);
			if (max >= 0x40000010u && max < 0x40000100u) {
				cpuid(0x40000010u, 0, &a, &b, &c, &d);
				tsc_khz = a;
			}
		}
	}
	return tsc_khz;
}

static uint32_t pm_read(void)
{
	return inl(pm_port) & pm_mask;
}

uint64_t clock_us(void)
{
	if (tsc_khz_cpuid())
		return rdtsc() * 1000 / tsc_khz;
	if (pm_port) {
		uint32_t now = pm_read();

		pm_ticks += (now - pm_last) & pm_mask;
		pm_last = now;
		return pm_ticks * 1000000 / PM_TIMER_HZ;
	}
	return rdtsc() / (ASSUMED_TSC_KHZ / 1000);
}

const char *clock_name(void)
{
	if (tsc_khz_cpuid())
		return "TSC (CPUID rate)";
	return pm_port ? "ACPI PM timer" : "TSC (assumed 3 GHz)";
}

void delay_us(uint64_t us)
{
	uint64_t start = clock_us();

	while (clock_us() - start < us)
		pause();
}

/* ---- fw_cfg ----------------------------------------------------------------- */

static void fwcfg_read(uint16_t key, void *buf, size_t len)
{
	uint8_t *p = buf;

	outw(FWCFG_SELECTOR, key);
	for (size_t i = 0; i < len; i++)
		p[i] = inb(FWCFG_DATA);
}

static uint64_t le(const uint8_t *p, size_t len)
{
	uint64_t v = 0;

	while (len--)
		v = (v << 8) | p[len];
	return v;
}

void fwcfg_checks(struct fwcfg_facts *f)
{
	uint8_t sig[4], id[4], cpus[2], ram[8];

	fwcfg_read(FWCFG_SIGNATURE, sig, sizeof(sig));
	f->present = !memcmp(sig, "QEMU", 4);
	report(f->present, "fwcfg-signature",
	       "key 0x0000 reads %02x %02x %02x %02x, expected \"QEMU\"", sig[0], sig[1], sig[2],
	       sig[3]);
	if (!f->present)
		return;
	fwcfg_read(FWCFG_ID, id, sizeof(id));
	report(le(id, 4) & FWCFG_ID_TRADITIONAL, "fwcfg-id",
	       "key 0x0001: 0x%x (bit 0: I/O interface)", (unsigned)le(id, 4));
	fwcfg_read(FWCFG_NB_CPUS, cpus, sizeof(cpus));
	f->cpus = (uint16_t)le(cpus, 2);
	report(f->cpus >= 1 && f->cpus <= 1 + MAX_APS, "fwcfg-cpus", "key 0x0005: %u CPUs (1..%u)",
	       f->cpus, 1 + MAX_APS);
	fwcfg_read(FWCFG_RAM_SIZE, ram, sizeof(ram));
	f->ram = le(ram, 8);
	report(f->ram >= (2u << 20) && !(f->ram & 0xfff), "fwcfg-ram",
	       "key 0x0003: %lu KiB (at least 2 MiB, whole pages)", (unsigned long)(f->ram >> 10));
}

/* ---- ACPI ------------------------------------------------------------------- */

static uint8_t sum8(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)le(p, 4);
}

/* A table at `addr` with signature `sig`, a sane length and a zero checksum; NULL otherwise. */
static const uint8_t *acpi_table(uint64_t addr, const char *sig, uint32_t *len)
{
	const uint8_t *t;

	if (addr == 0 || addr >= 0xFEC00000u - ACPI_HDR_LEN)
		return NULL;
	t = (const uint8_t *)(uintptr_t)addr;
	if (memcmp(t, sig, 4))
		return NULL;
	*len = rd32(t + 4);
	if (*len < ACPI_HDR_LEN || *len > ACPI_TABLE_MAX || addr + *len > 0xFEC00000u)
		return NULL;
	if (sum8(t, *len)) {
		printf("mb-test: %.4s at 0x%lx: bad checksum\n", sig, (unsigned long)addr);
		return NULL;
	}
	return t;
}

static const uint8_t *find_rsdp(void)
{
	unsigned bad = 0;

	for (uint32_t a = ACPI_WINDOW_START; a + 20 <= ACPI_WINDOW_END; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;

		if (memcmp(p, "RSD PTR ", 8))
			continue;
		if (sum8(p, 20)) {
			printf("mb-test: \"RSD PTR \" at 0x%x: bad checksum, scanning on\n", a);
			bad++;
			continue;
		}
		/* Revision 2+: the extended checksum covers Length bytes, inside the window. */
		if (p[15] >= 2) {
			uint32_t len = a + 36 <= ACPI_WINDOW_END ? rd32(p + 20) : 0;

			if (len < 36 || len > ACPI_WINDOW_END - a || sum8(p, len)) {
				printf("mb-test: RSDP at 0x%x: revision %u, bad length %u or "
				       "extended checksum\n",
				       a, p[15], len);
				bad++;
				continue;
			}
		}
		return p;
	}
	return NULL;
}

void acpi_checks(void)
{
	const uint8_t *rsdp = find_rsdp(), *root = NULL, *fadt = NULL;
	uint32_t rlen = 0, flen = 0, esize = 4, entries;
	uint64_t xsdt = 0;
	uint32_t port, width, t0, t1, reads;

	report(rsdp != NULL, "acpi-rsdp", "\"RSD PTR \" with a good checksum in 0x%x-0x%x%s",
	       ACPI_WINDOW_START, ACPI_WINDOW_END - 1, rsdp ? "" : ": none");
	if (!rsdp)
		return;
	printf("mb-test: RSDP at 0x%lx, revision %u, OEM '%.6s'\n", (unsigned long)(uintptr_t)rsdp,
	       rsdp[15], rsdp + 9);
	if (rsdp[15] >= 2)
		xsdt = le(rsdp + 24, 8);
	if (xsdt && (root = acpi_table(xsdt, "XSDT", &rlen)))
		esize = 8;
	else
		root = acpi_table(rd32(rsdp + 16), "RSDT", &rlen);
	report(root != NULL, "acpi-root", "%s at 0x%lx", esize == 8 ? "XSDT" : "RSDT",
	       (unsigned long)(esize == 8 ? xsdt : rd32(rsdp + 16)));
	if (!root)
		return;
	entries = (rlen - ACPI_HDR_LEN) / esize;
	for (uint32_t i = 0; i < entries && !fadt; i++)
		fadt = acpi_table(le(root + ACPI_HDR_LEN + i * esize, esize), "FACP", &flen);
	report(fadt != NULL, "acpi-fadt", "FACP among %u %s entries", entries,
	       esize == 8 ? "XSDT" : "RSDT");
	if (!fadt)
		return;

	port = flen >= FADT_PM_TMR_BLK + 4 ? rd32(fadt + FADT_PM_TMR_BLK) : 0;
	width =
	    flen >= FADT_FLAGS + 4 && (rd32(fadt + FADT_FLAGS) & FADT_FLAG_TMR_VAL_EXT) ? 32 : 24;
	/* ACPI 2.0+: X_PM_TMR_BLK (system I/O space) when the 32-bit field is empty. */
	if (!port && flen >= FADT_X_PM_TMR_BLK + 12 && fadt[FADT_X_PM_TMR_BLK] == 1)
		port = (uint32_t)le(fadt + FADT_X_PM_TMR_BLK + 4, 8);
	report(port != 0 && port <= 0xfffc, "pm-timer-port",
	       "PM_TMR_BLK 0x%x, %u-bit, PM_TMR_LEN %u", port, width,
	       flen > FADT_PM_TMR_LEN ? fadt[FADT_PM_TMR_LEN] : 0);
	if (port == 0 || port > 0xfffc)
		return;

	/* It moves at all, and never beyond its width. */
	t0 = inl((uint16_t)port);
	for (reads = 0, t1 = t0; reads < PM_ADVANCE_READS && t1 == t0; reads++)
		t1 = inl((uint16_t)port);
	report(t1 != t0, "pm-timer-runs", "0x%x -> 0x%x after %u reads", t0, t1, reads);
	report(width == 32 || ((t0 | t1) >> 24) == 0, "pm-timer-width",
	       "values 0x%x, 0x%x fit in %u bits", t0, t1, width);
	if (t1 == t0)
		return;
	pm_port = (uint16_t)port;
	pm_mask = width == 32 ? 0xffffffffu : 0xffffffu;
	pm_last = pm_read();

	/* Its rate against the TSC, both read at the window's ends. */
	if (!tsc_khz_cpuid()) {
		skip("pm-timer-rate",
		     "no TSC rate in CPUID (leaf 0x15 / 0x40000010) to compare with");
		return;
	}
	uint32_t start = pm_read(), now = start, elapsed = 0;
	uint64_t tsc0 = rdtsc(), tsc1;

	for (reads = 0; elapsed < PM_WINDOW_TICKS && reads < PM_WINDOW_READS; reads++) {
		now = pm_read();
		elapsed = (now - start) & pm_mask;
	}
	tsc1 = rdtsc();
	pm_ticks += (now - pm_last) & pm_mask;
	pm_last = now;
	if (elapsed < PM_WINDOW_TICKS) {
		report(false, "pm-timer-rate", "only %u ticks in %u reads", elapsed, reads);
		return;
	}
	/* Expected TSC cycles for `elapsed` ticks at 3.579545 MHz. */
	uint64_t expect = (uint64_t)elapsed * tsc_khz * 1000 / PM_TIMER_HZ;
	uint64_t got = tsc1 - tsc0;
	uint64_t diff = got > expect ? got - expect : expect - got;

	report(
	    diff * 100 <= expect * PM_RATE_TOL_PCT, "pm-timer-rate",
	    "%u ticks took %lu TSC cycles, %lu expected at 3.579545 MHz (TSC %u kHz, within %u%%)",
	    elapsed, (unsigned long)got, (unsigned long)expect, tsc_khz, PM_RATE_TOL_PCT);
}

/* ---- PCI -------------------------------------------------------------------- */

static uint32_t pci_read(unsigned dev, unsigned fn, unsigned reg)
{
	outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | dev << 11 | fn << 8 | (reg & 0xfc));
	return inl(PCI_CONFIG_DATA);
}

void pci_checks(int64_t expect)
{
	unsigned found = 0, bad = 0;

	for (unsigned dev = 0; dev < 32; dev++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			uint32_t id = pci_read(dev, fn, 0);
			uint16_t vendor = (uint16_t)id;

			if (vendor == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			found++;
			if (vendor == 0x0000)
				bad++;
			printf("mb-test: pci 00:%02x.%u %04x:%04x\n", dev, fn, vendor, id >> 16);
			/* Header type bit 7: more functions. */
			if (fn == 0 && !(pci_read(dev, 0, 0x0c) & 0x800000))
				break;
		}
	}
	report(bad == 0, "pci-scan", "%u functions on bus 0, %u with vendor 0x0000", found, bad);
	if (expect >= 0)
		report(found == (uint64_t)expect, "pci-count", "%u functions, pci=%ld expected",
		       found, (long)expect);
}

/* ---- pc-testdev ------------------------------------------------------------- */

void testdev_checks(void)
{
	uint8_t b;
	uint16_t w;
	uint32_t l, merged;

	outb(TESTDEV_SCRATCH, 0x5a);
	b = inb(TESTDEV_SCRATCH);
	report(b == 0x5a, "testdev-byte", "wrote 0x5a to 0xe0, read 0x%02x", b);
	outw(TESTDEV_SCRATCH, 0xbeef);
	w = inw(TESTDEV_SCRATCH);
	report(w == 0xbeef, "testdev-word", "wrote 0xbeef to 0xe0, read 0x%04x", w);
	outl(TESTDEV_SCRATCH, 0x12345678);
	l = inl(TESTDEV_SCRATCH);
	report(l == 0x12345678, "testdev-long", "wrote 0x12345678 to 0xe0, read 0x%08x", l);
	/* A byte write at 0xe2 replaces only that lane. */
	outb(TESTDEV_SCRATCH + 2, 0xab);
	merged = inl(TESTDEV_SCRATCH);
	report(merged == 0x12ab5678, "testdev-lane",
	       "0xab to 0xe2, then 0xe0 reads 0x%08x (0x12ab5678)", merged);
}
