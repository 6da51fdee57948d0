/* main.c - mb-test: a multiboot v1 test kernel checking what its loader and the PC platform gave
 * it. */
#include "mb.h"

/*
 * The way small kernels written for QEMU's -kernel boot: multiboot v1, a
 * 16550 at 0x3f8, fw_cfg, ACPI for the PM timer, a PCI scan, pc-testdev,
 * INIT/SIPI for the other CPUs, isa-debug-exit at 0xf4 for the verdict.
 * Every check prints one PASS/FAIL/SKIP line; the last line is
 * "MB-TEST PASS" or "MB-TEST FAIL n" and the kernel writes 0 (pass) or 1
 * (fail) to port 0xf4: status 1 or 3 under QEMU's (v << 1) | 1.
 *
 * Command-line words: `testdev` (probe pc-testdev), `nosmp` (leave the APs
 * alone), `cpus=N` (CPUs expected, BSP included; else the module's CPUS=N,
 * else fw_cfg's count), `pci=N` (devices expected on bus 0), `mods=N`
 * (modules expected). The first module, if any, must be an env file:
 * KEY=VALUE lines, `#` comments; a last line MBTEST_END=1 proves the loader
 * gave its exact length.
 */

#define CMDLINE_MAX 1024
#define LOADER_NAME_MAX 64
#define MMAP_MAX_ENTRIES 64
#define MODS_MAX 16
#define ENV_SHOW_MAX 8
#define DEBUG_EXIT_PORT 0xf4
#define LOW_RAM_END 0xA0000u /* real-mode memory ends at 640 KiB */
/* Multiboot structures must lie below the PC's 3 GiB hole start here. */
#define PHYS_LIMIT 0xC0000000u

extern char _image_start[], _image_end[];
extern char tramp_start[], tramp_end[];

static unsigned fails;

/* The memory map's available ranges, [start, end). */
static struct {
	uint64_t start, end;
} avail[MMAP_MAX_ENTRIES];
static unsigned navail;

/* Ranges the loader's data occupies, for the placement checks and the trampoline. */
static struct {
	uint64_t start, end;
	const char *what;
	bool module;
} used[8 + 2 * MODS_MAX];
static unsigned nused;

static char cmdline[CMDLINE_MAX];

static void vline(const char *tag, const char *name, const char *fmt, va_list ap)
{
	printf("%s %s: ", tag, name);
	vprintf(fmt, ap);
	printf("\n");
}

void report(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(ok ? "PASS" : "FAIL", name, fmt, ap);
	va_end(ap);
	if (!ok)
		fails++;
}

void skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("SKIP", name, fmt, ap);
	va_end(ap);
}

GUEST_NORETURN static void finish(void)
{
	if (fails)
		printf("MB-TEST FAIL %u\n", fails);
	else
		printf("MB-TEST PASS\n");
	outb(DEBUG_EXIT_PORT, fails ? 1 : 0);
	printf(
	    "mb-test: still running after the write to port 0xf4 (no isa-debug-exit?); halting\n");
	halt_forever();
}

/* [addr, addr + len) lies below PHYS_LIMIT (and does not wrap). */
static bool phys_ok(uint64_t addr, uint64_t len)
{
	return len <= PHYS_LIMIT && addr <= PHYS_LIMIT - len;
}

static const void *phys(uint64_t addr)
{
	return (const void *)(uintptr_t)addr;
}

/* [start, end) is covered by available memory-map ranges (adjacent ones may chain). */
static bool in_ram(uint64_t start, uint64_t end)
{
	for (unsigned step = 0; start < end && step <= navail; step++) {
		unsigned i;

		for (i = 0; i < navail; i++) {
			if (avail[i].start <= start && start < avail[i].end)
				break;
		}
		if (i == navail)
			return false;
		start = avail[i].end;
	}
	return start >= end;
}

static void add_used(uint64_t start, uint64_t end, const char *what, bool module)
{
	if (nused < ARRAY_SIZE(used) && start < end) {
		used[nused].start = start;
		used[nused].end = end;
		used[nused].what = what;
		used[nused].module = module;
		nused++;
	}
}

/* Index of the first used range overlapping [start, end) other than `self`, or -1. */
static int overlap(uint64_t start, uint64_t end, int self)
{
	for (unsigned i = 0; i < nused; i++) {
		if ((int)i != self && start < used[i].end && used[i].start < end)
			return (int)i;
	}
	return -1;
}

/* Copy a NUL-terminated string at `addr` (at most max - 1 bytes); false if unterminated or out of
 * range. */
static bool copy_str(uint32_t addr, char *dst, size_t max, size_t *len)
{
	size_t n = 0;

	if (addr == 0 || !phys_ok(addr, 1))
		return false;
	const char *s = phys(addr);
	while (n < max && phys_ok(addr, n + 1) && s[n])
		n++;
	if (n >= max || !phys_ok(addr, n + 1))
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	*len = n;
	return true;
}

static bool parse_uint(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 9)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = (int64_t)v;
	return true;
}

/* Words of the command line: `testdev`, `nosmp`, `cpus=N`, `pci=N`, `mods=N`. */
static void parse_cmdline(const char *s, struct mb_config *cfg)
{
	static const struct {
		const char *prefix;
		size_t plen;
		size_t off;
	} nums[] = {
	    {"cpus=", 5, offsetof(struct mb_config, cpus)},
	    {"pci=", 4, offsetof(struct mb_config, pci)},
	    {"mods=", 5, offsetof(struct mb_config, mods)},
	};

	while (*s) {
		size_t n = 0;

		while (*s == ' ')
			s++;
		while (s[n] && s[n] != ' ')
			n++;
		if (n == 7 && !memcmp(s, "testdev", 7))
			cfg->testdev = true;
		else if (n == 5 && !memcmp(s, "nosmp", 5))
			cfg->nosmp = true;
		for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
			if (n > nums[i].plen && !memcmp(s, nums[i].prefix, nums[i].plen)) {
				int64_t *dst = (int64_t *)((char *)cfg + nums[i].off);

				if (!parse_uint(s + nums[i].plen, n - nums[i].plen, dst))
					report(false, "cmdline", "bad number in '%.*s'", (int)n, s);
			}
		}
		s += n;
	}
}

static void mmap_checks(const struct mb_info *mbi)
{
	uint32_t off = 0, entries = 0, bad = 0;
	uint64_t total = 0;

	if (!(mbi->flags & MBI_MMAP)) {
		report(false, "mmap",
		       "flags bit 6 clear: no memory map (header flag 1 asked for memory info)");
		return;
	}
	if (mbi->mmap_length == 0 || mbi->mmap_length > 65536 ||
	    !phys_ok(mbi->mmap_addr, mbi->mmap_length)) {
		report(false, "mmap", "mmap_addr 0x%x length %u out of range", mbi->mmap_addr,
		       mbi->mmap_length);
		return;
	}
	add_used(mbi->mmap_addr, (uint64_t)mbi->mmap_addr + mbi->mmap_length, "memory map", false);
	while (off < mbi->mmap_length) {
		const struct mb_mmap_entry *e = phys((uint64_t)mbi->mmap_addr + off);

		if (mbi->mmap_length - off < sizeof(*e) || e->size < 20 ||
		    e->size > mbi->mmap_length - off - 4) {
			report(false, "mmap",
			       "entry at offset %u: size %u does not fit in %u bytes", off,
			       mbi->mmap_length - off >= 4 ? e->size : 0, mbi->mmap_length);
			return;
		}
		printf("mb-test: mmap 0x%09lx-0x%09lx type %u\n", (unsigned long)e->addr,
		       (unsigned long)(e->addr + e->len), e->type);
		if (e->len == 0 || e->addr + e->len < e->addr)
			bad++;
		else if (e->type == 1 && navail < MMAP_MAX_ENTRIES) {
			avail[navail].start = e->addr;
			avail[navail].end = e->addr + e->len;
			navail++;
			total += e->len;
		}
		entries++;
		off += e->size + 4;
	}
	report(bad == 0 && navail > 0, "mmap",
	       "%u entries, %u available (%lu KiB), %u empty or wrapping", entries, navail,
	       (unsigned long)(total >> 10), bad);
	report(in_ram((uintptr_t)_image_start, (uintptr_t)_image_end), "mmap-kernel",
	       "the image 0x%lx-0x%lx lies in available RAM",
	       (unsigned long)(uintptr_t)_image_start, (unsigned long)(uintptr_t)_image_end);
	if (mbi->flags & MBI_MEM)
		report(total >= (uint64_t)mbi->mem_upper << 10, "mmap-total",
		       "%lu KiB available, mem_upper %u KiB", (unsigned long)(total >> 10),
		       mbi->mem_upper);
}

static void mem_checks(const struct mb_info *mbi)
{
	if (!(mbi->flags & MBI_MEM)) {
		report(false, "meminfo",
		       "flags bit 0 clear: no mem_lower/mem_upper (header flag 1 asked)");
		return;
	}
	report(mbi->mem_lower >= 64 && mbi->mem_lower <= 640, "mem_lower",
	       "%u KiB (expected 64..640)", mbi->mem_lower);
	report(mbi->mem_upper >= 1024, "mem_upper", "%u KiB above 1 MiB (expected >= 1 MiB)",
	       mbi->mem_upper);
}

static void cmdline_checks(const struct mb_info *mbi, struct mb_config *cfg)
{
	size_t len = 0;

	if (!(mbi->flags & MBI_CMDLINE)) {
		report(false, "cmdline", "flags bit 2 clear: no command line");
		return;
	}
	if (!copy_str(mbi->cmdline, cmdline, sizeof(cmdline), &len)) {
		report(false, "cmdline", "at 0x%x: out of range or longer than %u bytes",
		       mbi->cmdline, CMDLINE_MAX - 1);
		return;
	}
	add_used(mbi->cmdline, (uint64_t)mbi->cmdline + len + 1, "command line", false);
	report(true, "cmdline", "'%s' (%zu bytes at 0x%x)", cmdline, len, mbi->cmdline);
	parse_cmdline(cmdline, cfg);
}

/* The first module as an env file: KEY=VALUE lines ([A-Za-z0-9_] keys, printable values). */
static void env_checks(const char *p, uint32_t n, int64_t *env_cpus)
{
	unsigned vars = 0, bad = 0, first_bad = 0, line = 0;
	bool end_last = false;
	uint32_t i = 0;

	while (i < n) {
		uint32_t s = i, e, eq;
		bool ok = true;

		while (i < n && p[i] != '\n')
			i++;
		e = i;
		if (i < n)
			i++;
		line++;
		end_last = false;
		if (e == s || p[s] == '#')
			continue;
		for (eq = s; eq < e && p[eq] != '='; eq++) {
			char c = p[eq];

			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '_'))
				ok = false;
		}
		if (eq == s || eq == e)
			ok = false;
		for (uint32_t k = eq; k < e; k++) {
			if ((p[k] < 0x20 || p[k] > 0x7e) && p[k] != '\t')
				ok = false;
		}
		if (!ok) {
			if (!bad++)
				first_bad = line;
			continue;
		}
		if (vars++ < ENV_SHOW_MAX)
			printf("mb-test: env %.*s\n", (int)(e - s), p + s);
		if (eq - s == 4 && !memcmp(p + s, "CPUS", 4) &&
		    !parse_uint(p + eq + 1, e - eq - 1, env_cpus))
			ok = false;
		if (eq - s == 10 && !memcmp(p + s, "MBTEST_END", 10))
			end_last = e - eq == 2 && p[eq + 1] == '1';
		if (!ok && !bad++)
			first_bad = line;
	}
	report(bad == 0 && vars > 0, "module-env", "%u variables, %u bad lines (first: line %u)",
	       vars, bad, first_bad);
	if (end_last)
		report(p[n - 1] == '\n', "module-length", "%u bytes, ends with MBTEST_END=1", n);
	else
		report(false, "module-length",
		       "%u bytes, the last line is not MBTEST_END=1: module cut short or padded?",
		       n);
}

static void module_checks(const struct mb_info *mbi, struct mb_config *cfg, int64_t *env_cpus)
{
	const struct mb_module *mods;
	uint32_t count = (mbi->flags & MBI_MODS) ? mbi->mods_count : 0;

	if (cfg->mods >= 0)
		report(count == (uint64_t)cfg->mods, "mods-count", "%u modules, mods=%ld expected",
		       count, (long)cfg->mods);
	if (count == 0) {
		skip("module", "no module (give one with -initrd / --initrd)");
		return;
	}
	if (count > MODS_MAX || !phys_ok(mbi->mods_addr, (uint64_t)count * sizeof(*mods))) {
		report(false, "module", "%u modules at 0x%x: too many or out of range", count,
		       mbi->mods_addr);
		return;
	}
	mods = phys(mbi->mods_addr);
	add_used(mbi->mods_addr, (uint64_t)mbi->mods_addr + count * sizeof(*mods), "module list",
		 false);
	for (uint32_t i = 0; i < count; i++) {
		const struct mb_module *m = &mods[i];
		char name[LOADER_NAME_MAX];
		size_t len;
		bool ok =
		    m->mod_end > m->mod_start && phys_ok(m->mod_start, m->mod_end - m->mod_start);

		if (!copy_str(m->string, name, sizeof(name), &len))
			memcpy(name, "(none)", 7);
		else
			add_used(m->string, (uint64_t)m->string + len + 1, "module string", false);
		report(ok, "module-range", "module %u: 0x%x-0x%x '%s'", i, m->mod_start, m->mod_end,
		       name);
		if (!ok)
			continue;
		report((m->mod_start & 0xfff) == 0, "module-align",
		       "module %u starts at 0x%x (4 KiB asked)", i, m->mod_start);
		add_used(m->mod_start, m->mod_end, "module", true);
	}
	/* Every module against the kernel, the other modules and the loader's data. */
	for (unsigned i = 0; i < nused; i++) {
		int o;

		if (!used[i].module)
			continue;
		o = overlap(used[i].start, used[i].end, (int)i);

		report(o < 0, "module-overlap", "module at 0x%lx-0x%lx%s%s",
		       (unsigned long)used[i].start, (unsigned long)used[i].end,
		       o < 0 ? " overlaps nothing" : " overlaps the ", o < 0 ? "" : used[o].what);
	}
	if (mods[0].mod_end > mods[0].mod_start &&
	    phys_ok(mods[0].mod_start, mods[0].mod_end - mods[0].mod_start))
		env_checks(phys(mods[0].mod_start), mods[0].mod_end - mods[0].mod_start, env_cpus);
}

/* Every range the loader's data occupies lies in available RAM. */
static void placement_checks(void)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < nused; i++) {
		if (!in_ram(used[i].start, used[i].end)) {
			printf("mb-test: %s at 0x%lx-0x%lx is not in available RAM\n", used[i].what,
			       (unsigned long)used[i].start, (unsigned long)used[i].end);
			bad++;
		}
	}
	report(bad == 0, "placement", "%u of %u loader ranges outside available RAM", bad, nused);
}

/* A free page below 640 KiB for the AP trampoline: TRAMP_DEFAULT if it is free. */
static uint32_t pick_trampoline(void)
{
	for (uint32_t i = 0; i < LOW_RAM_END / 4096; i++) {
		uint32_t page = (TRAMP_DEFAULT + i * 4096) % LOW_RAM_END;

		if (page == 0)
			continue; /* the real-mode IVT and BDA live there under a BIOS */
		if (in_ram(page, page + 4096) && overlap(page, page + 4096, -1) < 0)
			return page;
	}
	return 0;
}

void mb_main(uint32_t magic, uint32_t mbi_addr);

void mb_main(uint32_t magic, uint32_t mbi_addr)
{
	struct mb_config cfg = {.cpus = -1, .pci = -1, .mods = -1};
	struct fwcfg_facts fw = {0};
	const struct mb_info *mbi;
	int64_t env_cpus = -1, expect;
	char name[LOADER_NAME_MAX];
	size_t len;

	printf("mb-test: multiboot test kernel in long mode, image 0x%lx-0x%lx\n",
	       (unsigned long)(uintptr_t)_image_start, (unsigned long)(uintptr_t)_image_end);
	report(magic == MB_BOOT_MAGIC, "magic", "EAX at entry 0x%x, expected 0x%x", magic,
	       MB_BOOT_MAGIC);
	if (magic != MB_BOOT_MAGIC)
		finish(); /* EBX means nothing then */
	report(mbi_addr != 0 && phys_ok(mbi_addr, sizeof(*mbi)), "mbi", "info block at 0x%x",
	       mbi_addr);
	if (mbi_addr == 0 || !phys_ok(mbi_addr, sizeof(*mbi)))
		finish();
	mbi = phys(mbi_addr);
	add_used((uintptr_t)_image_start, (uintptr_t)_image_end, "kernel image", false);
	add_used(mbi_addr, (uint64_t)mbi_addr + sizeof(*mbi), "info block", false);
	printf("mb-test: info flags 0x%x\n", mbi->flags);
	if ((mbi->flags & MBI_LOADER_NAME) &&
	    copy_str(mbi->boot_loader_name, name, sizeof(name), &len)) {
		printf("mb-test: boot loader '%s'\n", name);
		add_used(mbi->boot_loader_name, (uint64_t)mbi->boot_loader_name + len + 1,
			 "boot loader name", false);
	}

	mmap_checks(mbi);
	mem_checks(mbi);
	cmdline_checks(mbi, &cfg);
	module_checks(mbi, &cfg, &env_cpus);
	placement_checks();

	fwcfg_checks(&fw);
	if (fw.present && (mbi->flags & MBI_MEM)) {
		/* mem_upper runs from 1 MiB to the first hole: at most the RAM, and
		 * when all RAM is below the 3 GiB hole, within 16 MiB of it. */
		uint64_t upper_end = (1ull << 20) + ((uint64_t)mbi->mem_upper << 10);

		report(upper_end <= fw.ram &&
			   (fw.ram > (3ull << 30) || upper_end + (16u << 20) >= fw.ram),
		       "mem-vs-fwcfg", "mem_upper ends at %lu KiB, fw_cfg RAM %lu KiB",
		       (unsigned long)(upper_end >> 10), (unsigned long)(fw.ram >> 10));
	}

	acpi_checks();
	pci_checks(cfg.pci);
	if (cfg.testdev)
		testdev_checks();
	else
		skip("testdev", "no `testdev` on the command line");

	expect = cfg.cpus >= 0 ? cfg.cpus : env_cpus >= 0 ? env_cpus : fw.present ? fw.cpus : -1;
	if (cfg.nosmp) {
		skip("smp", "`nosmp` on the command line");
	} else {
		uint32_t tramp = pick_trampoline();

		report(tramp != 0, "smp-trampoline",
		       "page 0x%x below 640 KiB for the AP trampoline", tramp);
		if (tramp)
			smp_checks(tramp, expect);
	}
	finish();
}
