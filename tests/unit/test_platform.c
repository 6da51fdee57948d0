/* test_platform.c - unit tests for the PC/QEMU platform devices' pure parts: fw_cfg, CMOS, ACPI PM,
 * pc-testdev, PCI config, Bochs shutdown. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "dev/acpi_pm.h"
#include "dev/bochs_shutdown.h"
#include "dev/cmos.h"
#include "dev/fw_cfg.h"
#include "dev/pc_testdev.h"
#include "dev/pci_conf.h"
#include "tap.h"

#define MIB 0x100000ull
#define GIB (1024 * MIB)

static const struct dev_machine m64 = {.ncpus = 3, .ram_size = 64 * MIB, .ram_below_4g = 64 * MIB};
static const struct dev_machine m5g = {
    .ncpus = 2, .ram_size = 5 * GIB, .ram_below_4g = 3 * GIB, .ram_above_4g = 2 * GIB};
static char why[256];

/* ---- fw_cfg ---- */

static void fw_sel(struct fw_cfg *f, uint16_t key)
{
	uint8_t d[2] = {(uint8_t)key, (uint8_t)(key >> 8)};
	fw_cfg_io(f, 0, d, 2, true);
}

static void fw_read(struct fw_cfg *f, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = 0x55;
		fw_cfg_io(f, i & 1, &b, 1, false); /* either port reads data, as on QEMU */
		buf[i] = b;
	}
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static struct fw_cfg fw;

static void test_fw_cfg_items(void)
{
	uint8_t b[64];

	TAP_EQ_INT(fw_cfg_store_init(&fw, &m64), 0, "fw_cfg: store for 64 MiB, 3 CPUs");
	fw_sel(&fw, FW_CFG_SIGNATURE);
	fw_read(&fw, b, 6);
	TAP_OK(!memcmp(b, "QEMU\0\0", 6), "signature reads QEMU, then 0 past the end");
	fw_sel(&fw, FW_CFG_ID);
	fw_read(&fw, b, 4);
	TAP_EQ_U64(le(b, 4), 1, "ID: traditional interface only, no DMA");
	fw_sel(&fw, FW_CFG_RAM_SIZE);
	fw_read(&fw, b, 8);
	TAP_EQ_U64(le(b, 8), 64 * MIB, "RAM size u64 LE");
	fw_sel(&fw, FW_CFG_NB_CPUS);
	fw_read(&fw, b, 2);
	TAP_EQ_U64(le(b, 2), 3, "CPU count u16 LE");
	fw_sel(&fw, FW_CFG_MAX_CPUS);
	fw_read(&fw, b, 2);
	TAP_EQ_U64(le(b, 2), 3, "max CPUs u16 LE");
	fw_sel(&fw, FW_CFG_KERNEL_DATA);
	memset(b, 0x77, 8);
	fw_read(&fw, b, 8);
	TAP_EQ_U64(le(b, 8), 0, "0x11 (kernel data) reads 0: nothing loaded");
	fw_sel(&fw, FW_CFG_KERNEL_ADDR);
	fw_read(&fw, b, 4);
	TAP_EQ_U64(le(b, 4), 0, "0x07 (kernel address) reads 0");

	/* Selector corner cases. */
	fw_sel(&fw, 0xffff);
	fw_read(&fw, b, 4);
	TAP_EQ_U64(le(b, 4), 0, "selector 0xffff: unknown, reads 0");
	TAP_OK(fw.cur == NULL, "selector 0xffff selects nothing");
	fw_sel(&fw, FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE);
	fw_read(&fw, b, 4);
	TAP_OK(!memcmp(b, "QEMU", 4), "bit 14 (write channel) is ignored: 0x4000 is the signature");
	fw_sel(&fw, FW_CFG_ARCH_LOCAL | FW_CFG_SIGNATURE);
	fw_read(&fw, b, 1);
	TAP_EQ_U64(b[0], 0, "bit 15 (arch) is a different item: 0x8000 is not stored");

	/* Offset handling: reselecting restarts, reads past the end do not advance. */
	fw_sel(&fw, FW_CFG_SIGNATURE);
	fw_read(&fw, b, 2);
	fw_sel(&fw, FW_CFG_SIGNATURE);
	fw_read(&fw, b, 1);
	TAP_EQ_U64(b[0], 'Q', "reselecting resets the offset");
	for (int i = 0; i < 10000; i++)
		fw_cfg_read_byte(&fw);
	TAP_EQ_U64(fw.offset, 4, "10000 reads: the offset stops at the item's end");

	/* Widths QEMU does not accept on the I/O ports. */
	uint8_t d[4] = {0x01, 0x00, 0x00, 0x00};
	fw_sel(&fw, FW_CFG_SIGNATURE);
	fw_cfg_io(&fw, 0, d, 1, true);
	TAP_EQ_U64(fw.selector, FW_CFG_SIGNATURE, "an 8-bit write is a data write, not a select");
	TAP_EQ_U64(fw.offset, 0, "... and does not move the offset");
	fw_cfg_io(&fw, 0, d, 4, true);
	TAP_EQ_U64(fw.selector, FW_CFG_SIGNATURE, "a 32-bit write is ignored");
	memset(d, 0x77, 4);
	fw_cfg_io(&fw, 1, d, 2, false);
	TAP_OK(d[0] == 0 && d[1] == 0 && fw.offset == 0, "a 16-bit read gives 0, moves nothing");
	fw_cfg_io(&fw, 1, d, 4, false);
	TAP_OK(le(d, 4) == 0 && fw.offset == 0, "a 32-bit read gives 0, moves nothing");
	d[0] = 0x01, d[1] = 0x00;
	fw_cfg_io(&fw, 1, d, 2, true);
	TAP_EQ_U64(fw.selector, FW_CFG_ID,
		   "a 16-bit write to 0x511 selects too (one register pair)");
}

static void test_fw_cfg_files(void)
{
	uint8_t b[4 + 33 * 64];
	uint16_t key = 0;
	char name[80];

	fw_sel(&fw, FW_CFG_FILE_DIR);
	fw_read(&fw, b, 4 + 64);
	TAP_EQ_U64(be32(b), 1, "directory: one file at start (count BE32)");
	TAP_EQ_U64(be32(b + 4), 20, "etc/e820 of 64 MiB: one 20-byte entry (size BE32)");
	TAP_EQ_U64((unsigned)b[8] << 8 | b[9], FW_CFG_FILE_FIRST, "its select BE16 is 0x20");
	TAP_EQ_U64((unsigned)b[10] << 8 | b[11], 0, "reserved is 0");
	TAP_EQ_STR((const char *)b + 12, "etc/e820", "its name");

	TAP_EQ_INT(fw_cfg_add_file(&fw, "opt/org.kestrel/blob", "hello", 5, &key, why, sizeof(why)),
		   0, "add a file");
	TAP_EQ_U64(key, FW_CFG_FILE_FIRST + 1, "it gets the next file key, 0x21");
	fw_sel(&fw, FW_CFG_FILE_DIR);
	fw_read(&fw, b, 4 + 2 * 64 + 4);
	TAP_EQ_U64(be32(b), 2, "directory: two files");
	TAP_EQ_U64(be32(b + 4 + 64), 5, "second entry: size 5");
	TAP_EQ_U64((unsigned)b[4 + 64 + 4] << 8 | b[4 + 64 + 5], 0x21, "second entry: select 0x21");
	TAP_EQ_STR((const char *)b + 4 + 64 + 8, "opt/org.kestrel/blob", "second entry: name");
	TAP_EQ_U64(le(b + 4 + 128, 4), 0, "reads past the directory give 0");
	fw_sel(&fw, key);
	fw_read(&fw, b, 6);
	TAP_OK(!memcmp(b, "hello\0", 6), "the file reads back, then 0");

	TAP_EQ_INT(fw_cfg_add_file(&fw, "opt/org.kestrel/blob", "x", 1, NULL, why, sizeof(why)),
		   -EEXIST, "same name again refused");
	TAP_STR_CONTAINS(why, "already has a file", "... with a reason");
	TAP_EQ_INT(fw_cfg_add_file(&fw, "", "x", 1, NULL, why, sizeof(why)), -EINVAL,
		   "empty name refused");
	TAP_EQ_INT(fw_cfg_add_file(&fw, NULL, "x", 1, NULL, why, sizeof(why)), -EINVAL,
		   "NULL name refused");
	memset(name, 'a', 56);
	name[56] = 0;
	TAP_EQ_INT(fw_cfg_add_file(&fw, name, "x", 1, NULL, why, sizeof(why)), -EINVAL,
		   "56-character name refused (no room for the NUL)");
	TAP_STR_CONTAINS(why, "1 to 55", "... reason names the limit");
	name[55] = 0;
	TAP_EQ_INT(fw_cfg_add_file(&fw, name, "x", 1, NULL, why, sizeof(why)), 0,
		   "55-character name accepted");
	TAP_EQ_INT(fw_cfg_add_file(&fw, "bad name", "x", 1, NULL, why, sizeof(why)), -EINVAL,
		   "a blank in the name refused");
	TAP_EQ_INT(fw_cfg_add_file(&fw, "bad\x01", "x", 1, NULL, why, sizeof(why)), -EINVAL,
		   "a control character refused");
	TAP_EQ_INT(fw_cfg_add_file(&fw, "big", "x", (size_t)1 << 32, NULL, why, sizeof(why)),
		   -EFBIG, "a 4 GiB file refused (sizes are 32 bits)");
	TAP_EQ_INT(fw_cfg_add_file(&fw, "nodata", NULL, 3, NULL, why, sizeof(why)), -EINVAL,
		   "length without data refused");
	TAP_EQ_INT(fw_cfg_add_file(&fw, "empty", NULL, 0, &key, why, sizeof(why)), 0,
		   "an empty file is fine");
	fw_sel(&fw, key);
	TAP_EQ_U64(fw_cfg_read_byte(&fw), 0, "the empty file reads 0");

	int r = 0, n = 4; /* e820, blob, 55 a's, empty */
	for (; n < 40 && r == 0; n++) {
		char nm[16];
		snprintf(nm, sizeof(nm), "f%d", n);
		r = fw_cfg_add_file(&fw, nm, nm, strlen(nm), NULL, why, sizeof(why));
	}
	TAP_EQ_INT(r, -ENOSPC, "file slots run out");
	TAP_EQ_INT(n - 1, FW_CFG_FILE_SLOTS, "at the 33rd file");
	fw_sel(&fw, FW_CFG_FILE_DIR);
	fw_read(&fw, b, sizeof(b));
	TAP_EQ_U64(be32(b), FW_CFG_FILE_SLOTS, "directory lists 32 files");
	TAP_EQ_U64((unsigned)b[4 + 31 * 64 + 4] << 8 | b[4 + 31 * 64 + 5], 0x3f,
		   "the last has key 0x3f");
	TAP_EQ_U64(le(b + 4 + 32 * 64, 4), 0, "and nothing after it");

	/* fw_cfg_add: numbered items. */
	TAP_EQ_INT(fw_cfg_add(&fw, FW_CFG_FILE_DIR, "x", 1, why, sizeof(why)), -EINVAL,
		   "fw_cfg_add refuses the directory key");
	TAP_EQ_INT(fw_cfg_add(&fw, 0x25, "x", 1, why, sizeof(why)), -EINVAL,
		   "fw_cfg_add refuses a file key");
	TAP_EQ_INT(fw_cfg_add(&fw, 0x4025, "x", 1, why, sizeof(why)), -EINVAL,
		   "... also with the write bit");
	TAP_STR_CONTAINS(why, "fw_cfg_add_file", "... reason says what to use");
	uint8_t addr[4] = {0x00, 0x00, 0x10, 0x00};
	TAP_EQ_INT(fw_cfg_add(&fw, FW_CFG_KERNEL_ADDR, addr, 4, why, sizeof(why)), 0,
		   "add kernel address 0x100000");
	fw_sel(&fw, FW_CFG_KERNEL_ADDR);
	fw_cfg_read_byte(&fw);
	fw_cfg_read_byte(&fw);
	TAP_EQ_INT(fw_cfg_add(&fw, FW_CFG_KERNEL_ADDR, "\x00\x00\x20\x00", 4, why, sizeof(why)), 0,
		   "replace it while the guest is reading it");
	fw_read(&fw, b, 4);
	TAP_EQ_U64(le(b, 4), 0x200000, "the reader starts again at offset 0 of the new data");
	TAP_EQ_INT(fw_cfg_add(&fw, 0x8003, "abc", 3, why, sizeof(why)), 0, "an arch-local item");
	fw_sel(&fw, 0xc003);
	fw_read(&fw, b, 3);
	TAP_OK(!memcmp(b, "abc", 3), "read through 0xc003 (arch + write bit)");
	r = 0;
	for (unsigned k = 0x100; k < 0x200 && r == 0; k++)
		r = fw_cfg_add(&fw, (uint16_t)k, "z", 1, why, sizeof(why));
	TAP_EQ_INT(r, -ENOSPC, "the store fills up and says so");
	TAP_EQ_INT(fw_cfg_add(&fw, FW_CFG_KERNEL_ADDR, "1234", 4, why, sizeof(why)), 0,
		   "replacing still works when full");
	fw_cfg_store_fini(&fw);

	/* etc/e820 with RAM above 4 GiB. */
	TAP_EQ_INT(fw_cfg_store_init(&fw, &m5g), 0, "fw_cfg: store for 5 GiB");
	fw_sel(&fw, FW_CFG_FILE_FIRST);
	fw_read(&fw, b, 41);
	TAP_OK(le(b, 8) == 0 && le(b + 8, 8) == 3 * GIB && le(b + 16, 4) == 1,
	       "e820[0]: [0, 3 GiB) RAM");
	TAP_OK(le(b + 20, 8) == 4 * GIB && le(b + 28, 8) == 2 * GIB && le(b + 36, 4) == 1,
	       "e820[1]: [4 GiB, 6 GiB) RAM");
	TAP_EQ_U64(b[40], 0, "two entries, no more");
	fw_sel(&fw, FW_CFG_RAM_SIZE);
	fw_read(&fw, b, 8);
	TAP_EQ_U64(le(b, 8), 5 * GIB, "RAM size 5 GiB");
	fw_cfg_store_fini(&fw);
}

/* ---- CMOS ---- */

static uint8_t cmos_rd(struct cmos *c, uint8_t idx, time_t now)
{
	uint8_t d = idx;
	cmos_io(c, 0, &d, 1, true, now);
	cmos_io(c, 1, &d, 1, false, now);
	return d;
}

static void test_cmos(void)
{
	struct cmos c;
	const time_t t = 1796132707; /* 2026-12-01 13:45:07 UTC, a Tuesday */
	uint8_t d[2];

	cmos_init(&c, &m64);
	TAP_EQ_U64(cmos_rd(&c, 0x00, t), 0x07, "seconds 07 BCD");
	TAP_EQ_U64(cmos_rd(&c, 0x02, t), 0x45, "minutes 45 BCD");
	TAP_EQ_U64(cmos_rd(&c, 0x04, t), 0x13, "hours 13 BCD (24-hour)");
	TAP_EQ_U64(cmos_rd(&c, 0x06, t), 3, "day of week 3 (Tuesday, Sunday = 1)");
	TAP_EQ_U64(cmos_rd(&c, 0x07, t), 0x01, "day 01");
	TAP_EQ_U64(cmos_rd(&c, 0x08, t), 0x12, "month 12 BCD");
	TAP_EQ_U64(cmos_rd(&c, 0x09, t), 0x26, "year 26 BCD");
	TAP_EQ_U64(cmos_rd(&c, 0x32, t), 0x20, "century 20 BCD");
	TAP_EQ_U64(cmos_rd(&c, 0x8a, t) & 0x80, 0, "status A via index 0x8a (NMI bit): UIP clear");
	TAP_EQ_U64(cmos_rd(&c, 0x0b, t), 0x02, "status B: 24-hour, BCD");
	TAP_EQ_U64(cmos_rd(&c, 0x0c, t), 0, "status C: no interrupt flags");
	TAP_EQ_U64(cmos_rd(&c, 0x0d, t), 0x80, "status D: valid RAM and time");
	TAP_EQ_U64(cmos_rd(&c, 0x04, 1709164859) | cmos_rd(&c, 0x07, 1709164859) << 8 |
		       cmos_rd(&c, 0x08, 1709164859) << 16,
		   0x022900, "2024-02-29 00:00:59: leap day, hour 00");
	TAP_EQ_U64(cmos_rd(&c, 0x06, 1709164859), 5, "... a Thursday");
	TAP_EQ_U64(cmos_rd(&c, 0x09, 4102444799) << 8 | cmos_rd(&c, 0x08, 4102444799), 0x9912,
		   "2099-12-31: year 99, month 12");
	TAP_EQ_U64(cmos_rd(&c, 0x07, -3600) << 8 | cmos_rd(&c, 0x04, -3600), 0x3123,
		   "a time before 1970 (1969-12-31 23:00)");
	TAP_EQ_U64(cmos_rd(&c, 0x06, -3600), 4, "... a Wednesday");

	/* RAM-size bytes for 64 MiB, 3 CPUs. */
	TAP_EQ_U64(cmos_rd(&c, 0x15, t) | cmos_rd(&c, 0x16, t) << 8, 640, "base memory 640 KiB");
	TAP_EQ_U64(cmos_rd(&c, 0x17, t) | cmos_rd(&c, 0x18, t) << 8, 63 * 1024,
		   "extended memory 63 MiB in KiB");
	TAP_EQ_U64(cmos_rd(&c, 0x30, t) | cmos_rd(&c, 0x31, t) << 8, 63 * 1024,
		   "0x30/0x31 the same");
	TAP_EQ_U64(cmos_rd(&c, 0x34, t) | cmos_rd(&c, 0x35, t) << 8, 48 * 16,
		   "above 16 MiB: 48 MiB in 64 KiB units");
	TAP_EQ_U64(cmos_rd(&c, 0x5b, t) | cmos_rd(&c, 0x5c, t) << 8 | cmos_rd(&c, 0x5d, t) << 16, 0,
		   "nothing above 4 GiB");
	TAP_EQ_U64(cmos_rd(&c, 0x5f, t), 2, "CPUs - 1 = 2");
	unsigned sum = 0;
	for (uint8_t i = 0x10; i < 0x2e; i++)
		sum += cmos_rd(&c, i, t);
	TAP_EQ_U64(cmos_rd(&c, 0x2e, t) << 8 | cmos_rd(&c, 0x2f, t), sum, "checksum of 0x10-0x2d");

	cmos_init(&c, &m5g);
	TAP_EQ_U64(cmos_rd(&c, 0x17, t) | cmos_rd(&c, 0x18, t) << 8, 0xffff,
		   "5 GiB: extended memory capped at 0xffff");
	TAP_EQ_U64(cmos_rd(&c, 0x34, t) | cmos_rd(&c, 0x35, t) << 8, 0xbf00,
		   "above 16 MiB: 3 GiB - 16 MiB in 64 KiB units");
	TAP_EQ_U64(cmos_rd(&c, 0x5b, t) | cmos_rd(&c, 0x5c, t) << 8 | cmos_rd(&c, 0x5d, t) << 16,
		   2 * GIB / 65536, "above 4 GiB: 2 GiB in 64 KiB units");
	TAP_EQ_U64(cmos_rd(&c, 0x5f, t), 1, "CPUs - 1 = 1");

	/* Writes. */
	d[0] = 0x00, d[1] = 0x59; /* outw 0x70: index 0 (seconds), then 0x59 to 0x71 */
	cmos_io(&c, 0, d, 2, true, t);
	TAP_EQ_U64(cmos_rd(&c, 0x00, t), 0x07, "writes to the time are ignored (2-byte outw)");
	d[0] = 0x0b, d[1] = 0x06; /* binary, 24-hour */
	cmos_io(&c, 0, d, 2, true, t);
	TAP_EQ_U64(cmos_rd(&c, 0x0b, t), 0x06, "status B written");
	TAP_EQ_U64(cmos_rd(&c, 0x02, t), 45, "binary mode: minutes 45 = 0x2d");
	d[0] = 0x0b, d[1] = 0x00; /* BCD, 12-hour */
	cmos_io(&c, 0, d, 2, true, t);
	TAP_EQ_U64(cmos_rd(&c, 0x04, t), 0x81, "12-hour mode: 1 PM = 0x81");
	TAP_EQ_U64(cmos_rd(&c, 0x04, 1709164859), 0x12, "12-hour mode: midnight is 12 AM");
	d[0] = 0x0a, d[1] = 0xff;
	cmos_io(&c, 0, d, 2, true, t);
	TAP_EQ_U64(cmos_rd(&c, 0x0a, t), 0x7f, "status A: UIP stays clear when written");
	d[0] = 0x0d, d[1] = 0x00;
	cmos_io(&c, 0, d, 2, true, t);
	TAP_EQ_U64(cmos_rd(&c, 0x0d, t), 0x80, "status D is read-only");
	d[0] = 0x40, d[1] = 0xa5;
	cmos_io(&c, 0, d, 2, true, t);
	TAP_EQ_U64(cmos_rd(&c, 0x40, t), 0xa5, "CMOS RAM reads back");
	TAP_EQ_U64(cmos_rd(&c, 0xc0, t), 0xa5, "index bit 7 (NMI mask) is ignored");
	d[0] = 0;
	cmos_io(&c, 0, d, 1, false, t);
	TAP_EQ_U64(d[0], 0xff, "the index port reads 0xff");
	d[0] = d[1] = 0x33;
	cmos_io(&c, 1, d, 2, false, t);
	TAP_EQ_U64(d[1], 0, "a 2-byte read at 0x71: the byte past the device reads 0");
}

/* ---- ACPI PM ---- */

static int pm_w(struct acpi_pm *p, enum acpi_pm_reg r, uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t d[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	return acpi_pm_io(p, r, off, d, len, true, 0);
}

static uint32_t pm_r(struct acpi_pm *p, enum acpi_pm_reg r, uint64_t off, uint32_t len, uint64_t ns)
{
	uint8_t d[4] = {0};
	acpi_pm_io(p, r, off, d, len, false, ns);
	return (uint32_t)le(d, len);
}

static void test_acpi_pm(void)
{
	struct acpi_pm p = {0};
	const uint32_t s5 = ACPI_S5_SLP_TYP << ACPI_PM1_CNT_SLP_TYP_SHIFT;

	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 0, s5 | ACPI_PM1_CNT_SLP_EN, 2), (int)ACPI_S5_SLP_TYP,
		   "PM1a_CNT: SLP_TYP 5 + SLP_EN is an S5 request");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_CNT, 0, 2, 0), s5 | ACPI_PM1_CNT_SCI_EN,
		   "SLP_EN reads 0, SLP_TYP reads back, SCI_EN reads 1");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 0, 3u << 10 | ACPI_PM1_CNT_SLP_EN, 2), 3,
		   "SLP_TYP 3 + SLP_EN: a type-3 request (the device ignores it)");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 0, s5, 2), -1, "SLP_TYP 5 without SLP_EN: no request");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 1, (s5 | ACPI_PM1_CNT_SLP_EN) >> 8, 1), 5,
		   "a byte write of the high half carries SLP_EN and SLP_TYP");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 0, 0, 1), -1, "a low-byte write: no request");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 0, 0xffff, 4), 7,
		   "a 4-byte write: bytes past the block dropped, all ones is type 7");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_CNT, 0, 4, 0), 0xdfff, "... reads back without SLP_EN");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_CNT, 2, 0xff, 1), -1, "a write past PM1a_CNT does nothing");

	p.sts = 0x8121;
	TAP_EQ_INT(pm_w(&p, ACPI_PM_EVT, 0, 0x0101, 2), -1, "PM1_STS write");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_EVT, 0, 2, 0), 0x8020, "write 1 to clear: bits 0 and 8 gone");
	pm_w(&p, ACPI_PM_EVT, 0, 0x01200000, 4);
	TAP_EQ_U64(pm_r(&p, ACPI_PM_EVT, 2, 2, 0), 0x0120, "PM1_EN written by a 4-byte write");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_EVT, 0, 2, 0), 0x8020, "... which left PM1_STS alone (0s)");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_EVT, 0, 4, 0), 0x01208020, "both halves in one read");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_EVT, 3, 2, 0), 0x01, "a read across the end: 0 past it");

	TAP_EQ_INT(pm_w(&p, ACPI_PM_SLEEP_CTL, 0, ACPI_SLEEP_CTL_SLP_EN | 5u << 2, 1), 5,
		   "SLEEP_CONTROL: SLP_EN + type 5");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_SLEEP_CTL, 0, 5u << 2, 1), -1, "... without SLP_EN: nothing");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_SLEEP_CTL, 0, ACPI_SLEEP_CTL_SLP_EN | 1u << 2, 1), 1,
		   "... type 1");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_SLEEP_CTL, 0, 1, 0), 0, "SLEEP_CONTROL reads 0");
	p.sleep_sts = 0x81;
	pm_w(&p, ACPI_PM_SLEEP_STS, 0, ACPI_SLEEP_STS_WAK_STS, 1);
	TAP_EQ_U64(pm_r(&p, ACPI_PM_SLEEP_STS, 0, 1, 0), 0x01,
		   "SLEEP_STATUS: WAK_STS cleared by 1");

	TAP_EQ_U64(acpi_pm_timer(1000000000ull, true), ACPI_PM_TMR_HZ, "1 s = 3579545 ticks");
	TAP_EQ_U64(acpi_pm_timer(1000, true), 3, "1 us = 3 ticks");
	TAP_EQ_U64(acpi_pm_timer(3600ull * 1000000000ull, true),
		   (uint32_t)(3600ull * ACPI_PM_TMR_HZ), "an hour: wraps at 32 bits");
	TAP_EQ_U64(acpi_pm_timer(3600ull * 1000000000ull, false),
		   (3600ull * ACPI_PM_TMR_HZ) & 0xffffff, "24-bit timer without TMR_VAL_EXT");
	TAP_EQ_U64(acpi_pm_timer(UINT64_MAX, true),
		   (uint32_t)((UINT64_MAX / 1000000000ull) * ACPI_PM_TMR_HZ +
			      (UINT64_MAX % 1000000000ull) * ACPI_PM_TMR_HZ / 1000000000ull),
		   "584 years: no overflow in the conversion");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_TMR, 0, 4, 2000000000ull), 2 * ACPI_PM_TMR_HZ,
		   "PM_TMR port reads the timer");
	TAP_EQ_U64(pm_r(&p, ACPI_PM_TMR, 2, 2, 2000000000ull), (2 * ACPI_PM_TMR_HZ) >> 16,
		   "a 2-byte read at offset 2: the high half");
	TAP_EQ_INT(pm_w(&p, ACPI_PM_TMR, 0, 0, 4), -1, "timer writes are ignored");
}

/* ---- pc-testdev ---- */

static void test_pc_testdev(void)
{
	uint32_t reg = 0;
	uint8_t d[8] = {0x78, 0x56, 0x34, 0x12};
	static uint8_t win[KESTREL_TESTDEV_MMIO_SIZE];

	pc_testdev_scratch(&reg, 0, d, 4, true);
	TAP_EQ_U64(reg, 0x12345678, "scratch: 4-byte write");
	d[0] = 0xab;
	pc_testdev_scratch(&reg, 2, d, 1, true);
	TAP_EQ_U64(reg, 0x12ab5678, "1-byte write at offset 2 replaces that lane");
	d[0] = 0xef, d[1] = 0xbe;
	pc_testdev_scratch(&reg, 1, d, 2, true);
	TAP_EQ_U64(reg, 0x12beef78, "2-byte write at offset 1");
	memset(d, 0x55, sizeof(d));
	pc_testdev_scratch(&reg, 3, d, 2, false);
	TAP_OK(d[0] == 0x12 && d[1] == 0, "2-byte read at offset 3: the top byte, then 0");
	d[0] = 1, d[1] = 2, d[2] = 3, d[3] = 4;
	pc_testdev_scratch(&reg, 2, d, 4, true);
	TAP_EQ_U64(reg, 0x0201ef78, "4-byte write at offset 2: bytes past 3 dropped");
	pc_testdev_scratch(&reg, 0, d, 2, false);
	TAP_EQ_U64(le(d, 2), 0xef78, "2-byte read at 0");
	pc_testdev_scratch(&reg, 0xffffffffffffffffull, d, 4, true);
	TAP_EQ_U64(reg, 0x0201ef78, "a huge offset writes nothing (no wrap)");

	d[0] = 0x34, d[1] = 0x12, d[2] = 0x40, d[3] = 0x00;
	TAP_EQ_U64(pc_testdev_flush_page(d, 4), 0x401000, "flush: the page of 0x401234");
	TAP_EQ_U64(pc_testdev_flush_page(d, 2), UINT64_MAX, "a 2-byte flush write is invalid");
	TAP_EQ_U64(pc_testdev_flush_page(d, 1), UINT64_MAX, "a 1-byte flush write is invalid");
	d[0] = d[1] = d[2] = d[3] = 0xff;
	TAP_EQ_U64(pc_testdev_flush_page(d, 4), 0xfffff000, "flush of 0xffffffff: page 0xfffff000");

	uint8_t q[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	TAP_OK(pc_testdev_mmio(win, 0x100, q, 8, true), "MMIO: 8-byte write inside");
	memset(q, 0, sizeof(q));
	TAP_OK(pc_testdev_mmio(win, 0x102, q, 2, false) && q[0] == 3 && q[1] == 4,
	       "reads back at any offset and width");
	memset(q, 0x66, sizeof(q));
	TAP_OK(!pc_testdev_mmio(win, 0xfffc, q, 8, true), "a write across the end is reported");
	TAP_OK(win[0xffff] == 0x66 && win[0xfffc] == 0x66, "... the part inside is written");
	memset(q, 0x11, sizeof(q));
	pc_testdev_mmio(win, 0xfffc, q, 8, false);
	TAP_OK(q[3] == 0x66 && q[4] == 0 && q[7] == 0, "a read across the end gives 0 past it");
	TAP_OK(!pc_testdev_mmio(win, UINT64_MAX - 2, q, 8, false) && q[0] == 0 && q[7] == 0,
	       "an offset near 2^64 reads 0 and does not wrap into the window");
}

/* ---- PCI ---- */

static void test_pci(void)
{
	struct pci_conf p = {0};
	uint8_t d[4] = {0x00, 0x00, 0x00, 0x80};

	TAP_OK(!pci_conf_io(&p, 0, d, 4, true), "CONFIG_ADDRESS 0x80000000");
	memset(d, 0, 4);
	pci_conf_io(&p, 0, d, 4, false);
	TAP_EQ_U64(le(d, 4), 0x80000000, "reads back (Linux's type-1 probe)");
	d[0] = 0x01;
	pci_conf_io(&p, 3, d, 1, true);
	pci_conf_io(&p, 0, d, 4, false);
	TAP_EQ_U64(le(d, 4), 0x80000000, "a byte write to 0xcfb does not change it");
	pci_conf_io(&p, 3, d, 1, false);
	TAP_EQ_U64(d[0], 0x80, "a byte read of 0xcfb: its top byte");
	d[0] = 0x34, d[1] = 0x12;
	pci_conf_io(&p, 0, d, 2, true);
	pci_conf_io(&p, 0, d, 4, false);
	TAP_EQ_U64(le(d, 4), 0x80000000, "a 2-byte write to 0xcf8 is ignored");
	for (unsigned len = 1; len <= 4; len *= 2) {
		memset(d, 0, 4);
		pci_conf_io(&p, 4, d, len, false);
		TAP_EQ_U64(le(d, len), (1ull << (8 * len)) - 1,
			   "CONFIG_DATA %u-byte read: all ones", len);
	}
	memset(d, 0, 4);
	pci_conf_io(&p, 6, d, 2, false);
	TAP_EQ_U64(le(d, 2), 0xffff, "a 2-byte read of 0xcfe: all ones");
	d[0] = 0;
	TAP_OK(!pci_conf_io(&p, 4, d, 4, true), "CONFIG_DATA writes are ignored");
	d[0] = 0x02;
	TAP_OK(!pci_conf_io(&p, 1, d, 1, true), "0xcf9 = 0x02 (SYS_RST alone): no reset");
	d[0] = 0;
	pci_conf_io(&p, 1, d, 1, false);
	TAP_EQ_U64(d[0], 0x02, "0xcf9 reads back");
	d[0] = 0x06;
	TAP_OK(pci_conf_io(&p, 1, d, 1, true), "0xcf9 = 0x06 (RST_CPU): reset");
	d[0] = 0x04, d[1] = 0;
	TAP_OK(!pci_conf_io(&p, 1, d, 2, true),
	       "a 2-byte write at 0xcf9 is not the reset register");
}

/* ---- Bochs shutdown ---- */

static bool feed(uint8_t *m, const char *s)
{
	bool done = false;
	for (; *s; s++)
		done = bochs_shutdown_feed(m, (uint8_t)*s);
	return done;
}

static void test_bochs_shutdown(void)
{
	uint8_t m = 0;

	TAP_OK(feed(&m, "Shutdown"), "\"Shutdown\" powers off");
	TAP_OK(!feed(&m, "Shutdow"), "\"Shutdow\" does not");
	TAP_OK(feed(&m, "n"), "... until the last byte comes");
	TAP_OK(feed(&m, "ShutShutdown"), "a restart in the middle still matches");
	TAP_OK(feed(&m, "SShutdown"), "a doubled S still matches");
	TAP_OK(!feed(&m, "shutdown"), "lower case does not");
	m = 0;
	TAP_OK(!feed(&m, "Shut\x00down"), "a NUL in between breaks it");
	m = 200;
	TAP_OK(!bochs_shutdown_feed(&m, 'S') && m == 1, "a corrupt counter restarts");
}

int main(void)
{
	test_fw_cfg_items();
	test_fw_cfg_files();
	test_cmos();
	test_acpi_pm();
	test_pc_testdev();
	test_pci();
	test_bochs_shutdown();
	return tap_done();
}
