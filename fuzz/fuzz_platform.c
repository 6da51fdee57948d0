/* fuzz_platform.c - libFuzzer target: random guest port accesses (device, offset, width, value,
 * direction) into the platform devices' pure parts, with their invariants checked after each. */
#include <errno.h>

#include "arch/x86/acpi.h"
#include "dev/acpi_pm.h"
#include "dev/bochs_shutdown.h"
#include "dev/cmos.h"
#include "dev/fw_cfg.h"
#include "dev/pc_testdev.h"
#include "dev/pci_conf.h"
#include "fuzz.h"

/*
 * Input: a machine (CPU count, RAM below and above 4 GiB), then operations
 * of [device, flags, offset (u16, or u64 when flags bit 7 is set), 8 value
 * bytes]. flags bits 0-1: width 1/2/4/8; bit 2: write. The offset is used
 * as given (also out of the device's range: the pure parts must cope).
 * fw_cfg also takes store operations (add an item, add a file).
 */

static struct fw_cfg fw;
static uint8_t win[KESTREL_TESTDEV_MMIO_SIZE];

static void check_fw_cfg(const struct fw_cfg *f)
{
	FUZZ_ASSERT(f->nitems <= FW_CFG_MAX_ITEMS, "%u items", f->nitems);
	FUZZ_ASSERT(f->nfiles <= FW_CFG_FILE_SLOTS, "%u files", f->nfiles);
	FUZZ_ASSERT(!f->cur || f->offset <= f->cur->len, "offset %u past len %u", f->offset,
		    f->cur ? f->cur->len : 0);
	FUZZ_ASSERT(!f->cur || f->cur->key == (f->selector & ~FW_CFG_WRITE_CHANNEL),
		    "selector 0x%x, item 0x%x", f->selector, f->cur->key);
	/* The directory lists exactly the files, with their sizes and keys. */
	const struct fw_cfg_item *dir = NULL;
	for (unsigned i = 0; i < f->nitems; i++)
		if (f->items[i].key == FW_CFG_FILE_DIR)
			dir = &f->items[i];
	FUZZ_ASSERT(dir && dir->len == 4 + f->nfiles * FW_CFG_DIR_ENTRY, "directory size");
	const uint8_t *d = dir->data;
	FUZZ_ASSERT(((uint32_t)d[0] << 24 | d[1] << 16 | d[2] << 8 | d[3]) == f->nfiles, "count");
	for (unsigned j = 0; j < f->nfiles; j++) {
		const uint8_t *e = d + 4 + j * FW_CFG_DIR_ENTRY;
		uint16_t key = (uint16_t)(e[4] << 8 | e[5]);
		uint32_t size = (uint32_t)e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3];
		const struct fw_cfg_item *it = NULL;
		for (unsigned i = 0; i < f->nitems; i++)
			if (f->items[i].key == key)
				it = &f->items[i];
		FUZZ_ASSERT(it && it->len == size && key == FW_CFG_FILE_FIRST + j,
			    "entry %u: key 0x%x size %u", j, key, size);
		FUZZ_ASSERT(e[8 + FW_CFG_NAME_MAX - 1] == 0 &&
				!strcmp((const char *)e + 8, it->name),
			    "entry %u name", j);
	}
}

static void fuzz_fw_cfg(struct fuzz_in *in, uint64_t off, uint8_t *v, uint32_t len, uint8_t flags)
{
	unsigned what = (unsigned)fuzz_take(in, 1);
	char why[160], name[64];

	if (what < 200) { /* a port access */
		uint32_t before = fw.offset;
		const struct fw_cfg_item *cur = fw.cur;
		bool wr = flags & 4;
		fw_cfg_io(&fw, off, v, len, wr);
		if (!wr) {
			uint8_t want = cur && before < cur->len ? cur->data[before] : 0;
			if (len == 1)
				FUZZ_ASSERT(v[0] == want, "read 0x%x, want 0x%x", v[0], want);
			else
				for (uint32_t i = 0; i < len; i++)
					FUZZ_ASSERT(v[i] == 0, "a %u-byte read gave data", len);
			FUZZ_ASSERT(fw.offset == before + (len == 1 && cur && before < cur->len),
				    "offset moved wrongly");
		} else if (len == 2) {
			FUZZ_ASSERT(fw.offset == 0 && fw.selector == (uint16_t)(v[0] | v[1] << 8),
				    "select");
		}
	} else if (what < 228) { /* add a numbered item */
		uint16_t key = (uint16_t)fuzz_take(in, 2);
		size_t n = (size_t)fuzz_take(in, 1);
		int r = fw_cfg_add(&fw, key, v, n > 8 ? 8 : n, why, sizeof(why));
		FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOSPC, "add: %d", r);
		FUZZ_ASSERT(r == 0 || why[0], "a refusal without a reason");
	} else { /* add a file */
		size_t n = (size_t)fuzz_take(in, 1) % sizeof(name);
		for (size_t i = 0; i < n; i++)
			name[i] = (char)fuzz_take(in, 1);
		name[n] = 0;
		uint16_t key = 0;
		int r = fw_cfg_add_file(&fw, name, v, len, &key, why, sizeof(why));
		FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -EEXIST || r == -ENOSPC, "file: %d", r);
		FUZZ_ASSERT(r != 0 || (key >= FW_CFG_FILE_FIRST &&
				       key < FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS),
			    "file key 0x%x", key);
	}
	check_fw_cfg(&fw);
}

static bool is_bcd(uint8_t b)
{
	return (b & 0x0f) <= 9 && (b >> 4) <= 9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct dev_machine m = {.ncpus = 1 + (unsigned)fuzz_take(&in, 1)};
	struct cmos cmos;
	struct acpi_pm pm = {0};
	struct pci_conf pci = {0};
	uint32_t scratch = 0;
	uint8_t model[4] = {0}, matched = 0, last[8] = {0};
	unsigned fed = 0; /* bytes fed to the shutdown port since its last success */
	time_t now = (time_t)(int64_t)fuzz_take(&in, 8);

	m.ram_below_4g = fuzz_take(&in, 4) << 12;
	m.ram_above_4g = fuzz_take(&in, 5) << 12;
	m.ram_size = m.ram_below_4g + m.ram_above_4g;
	FUZZ_ASSERT(fw_cfg_store_init(&fw, &m) == 0, "store init");
	cmos_init(&cmos, &m);
	memset(win, 0, sizeof(win));

	for (unsigned op = 0; op < 4096 && in.left; op++) {
		unsigned dev = (unsigned)fuzz_take(&in, 1) % 7;
		uint8_t flags = (uint8_t)fuzz_take(&in, 1);
		uint64_t off = fuzz_take(&in, flags & 0x80 ? 8 : 2);
		uint32_t len = 1u << (flags & 3);
		bool wr = flags & 4;
		uint8_t v[8];
		uint64_t raw = fuzz_take(&in, 8);
		for (int i = 0; i < 8; i++)
			v[i] = (uint8_t)(raw >> (8 * i));

		switch (dev) {
		case 0:
			fuzz_fw_cfg(&in, off, v, len, flags);
			break;
		case 1: { /* pc-testdev scratch, against a byte model */
			pc_testdev_scratch(&scratch, off, v, len, wr);
			for (uint32_t i = 0; i < len; i++) {
				uint64_t b = off + i;
				bool in_reg = b >= off && b < 4;
				if (wr && in_reg)
					model[b] = v[i];
				else if (!wr)
					FUZZ_ASSERT(v[i] == (in_reg ? model[b] : 0),
						    "scratch byte %u", i);
			}
			FUZZ_ASSERT(scratch ==
					((uint32_t)model[0] | (uint32_t)model[1] << 8 |
					 (uint32_t)model[2] << 16 | (uint32_t)model[3] << 24),
				    "scratch 0x%x", scratch);
			break;
		}
		case 2: { /* pc-testdev MMIO window and flush decoding */
			bool inside = pc_testdev_mmio(win, off, v, len, wr);
			FUZZ_ASSERT(inside == (off < sizeof(win) && len <= sizeof(win) - off),
				    "inside flag");
			if (!wr && !inside)
				for (uint32_t i = 0; i < len; i++)
					if (off + i < off || off + i >= sizeof(win))
						FUZZ_ASSERT(v[i] == 0, "read past the window");
			uint64_t page = pc_testdev_flush_page(v, len);
			FUZZ_ASSERT(len == 4 ? (page & 0xfff) == 0 && page <= 0xfffff000
					     : page == UINT64_MAX,
				    "flush page 0x%llx", (unsigned long long)page);
			break;
		}
		case 3: { /* PCI configuration */
			uint32_t before = pci.addr;
			bool reset = pci_conf_io(&pci, off, v, len, wr);
			FUZZ_ASSERT(!reset || (wr && off == 1 && len == 1 && (v[0] & 4)), "reset");
			FUZZ_ASSERT(pci.addr == before || (wr && off == 0 && len == 4), "address");
			if (!wr && off >= 4)
				for (uint32_t i = 0; i < len; i++)
					FUZZ_ASSERT(v[i] == 0xff, "no device must read all ones");
			break;
		}
		case 4: /* RTC/CMOS */
			cmos_io(&cmos, off, v, len, wr, now);
			FUZZ_ASSERT(cmos.index < CMOS_SIZE, "index %u", cmos.index);
			FUZZ_ASSERT(!(cmos_read(&cmos, 0x0a, now) & 0x80), "UIP set");
			FUZZ_ASSERT(cmos_read(&cmos, 0x0d, now) == 0x80, "status D");
			if (!(cmos_read(&cmos, 0x0b, now) & 0x04)) {
				static const uint8_t t[] = {0, 2, 4, 6, 7, 8, 9, 0x32};
				for (unsigned i = 0; i < sizeof(t); i++)
					FUZZ_ASSERT(is_bcd(cmos_read(&cmos, t[i], now) & 0x7f),
						    "register 0x%x not BCD", t[i]);
			}
			now += (time_t)(v[0] & 0x3f); /* time moves on */
			break;
		case 5: { /* ACPI PM */
			enum acpi_pm_reg reg = (enum acpi_pm_reg)(v[7] % 5);
			uint16_t cnt_before = pm.cnt;
			int s = acpi_pm_io(&pm, reg, off, v, len, wr, raw);
			FUZZ_ASSERT(s >= -1 && s <= 7, "sleep type %d", s);
			FUZZ_ASSERT(s == -1 ||
					(wr && (reg == ACPI_PM_CNT || reg == ACPI_PM_SLEEP_CTL)),
				    "a sleep request from a read or another block");
			FUZZ_ASSERT(!(pm.cnt & ACPI_PM1_CNT_SLP_EN), "SLP_EN kept");
			FUZZ_ASSERT(reg == ACPI_PM_CNT || pm.cnt == cnt_before, "PM1_CNT changed");
			if (!wr && reg == ACPI_PM_CNT && off == 0)
				FUZZ_ASSERT(v[0] & ACPI_PM1_CNT_SCI_EN, "SCI_EN reads 0");
			break;
		}
		case 6: /* Bochs shutdown, against the last 8 bytes */
			for (uint32_t i = 0; i < len; i++) {
				bool done = bochs_shutdown_feed(&matched, v[i]);
				memmove(last, last + 1, 7);
				last[7] = v[i];
				fed++;
				FUZZ_ASSERT(done == (fed >= 8 && !memcmp(last, "Shutdown", 8)),
					    "shutdown after %u bytes", fed);
				if (done)
					fed = 0;
			}
			break;
		}
	}
	fw_cfg_store_fini(&fw);
	return 0;
}
