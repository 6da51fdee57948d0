/* fuzz_multiboot.c - libFuzzer target: multiboot_load on arbitrary images, modules and command
 * lines, into fenced guest RAM. */
#include <errno.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "load/multiboot.h"

/*
 * Input: 4 bytes of options, then the image.
 *   byte 0  bits 0-1: modules (0-3); bit 2: no image name; bit 3: module 2 has no string
 *   byte 1  module size selector
 *   byte 2-3 guest-argument length (little-endian, mod 4200: around the 4096 limit)
 * Guest RAM is kestrel's layout, only small: region 0 is [0, 1.5 MiB) and
 * region 1 is [4 GiB, +64 KiB). [0xa0000, 1 MiB) (the BIOS window, where the
 * ACPI tables live) and a page after each region are PROT_NONE, so a stray
 * write faults; [0x9fc00, 0xa0000) and region 1 must stay zero.
 */
#define LOW_SIZE 0x180000ull
#define HIGH_SIZE 0x10000ull
#define PAGE 0x1000ull
#define FENCE_LO 0xa0000ull
#define FENCE_HI 0x100000ull
#define MAX_ARGS 4200u

static struct guest_mem mem;
static uint8_t *base, *high;
static uint8_t modbuf[3][0x30000];
static char args[MAX_ARGS + 1];

static void setup(void)
{
	size_t total = LOW_SIZE + PAGE + HIGH_SIZE + PAGE;

	base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	FUZZ_ASSERT(base != MAP_FAILED, "mmap");
	high = base + LOW_SIZE + PAGE;
	FUZZ_ASSERT(mprotect(base, FENCE_LO, PROT_READ | PROT_WRITE) == 0, "mprotect");
	FUZZ_ASSERT(mprotect(base + FENCE_HI, LOW_SIZE - FENCE_HI, PROT_READ | PROT_WRITE) == 0,
		    "mprotect");
	FUZZ_ASSERT(mprotect(high, HIGH_SIZE, PROT_READ | PROT_WRITE) == 0, "mprotect");
	mem.nregions = 2;
	mem.total = LOW_SIZE + HIGH_SIZE;
	mem.r[0] = (struct guest_mem_region){.gpa = 0, .size = LOW_SIZE, .host = base};
	mem.r[1] =
	    (struct guest_mem_region){.gpa = KESTREL_HIGH_START, .size = HIGH_SIZE, .host = high};
	for (unsigned m = 0; m < 3; m++)
		for (size_t i = 0; i < sizeof(modbuf[m]); i++)
			modbuf[m][i] = (uint8_t)(i * 7 + m + 1);
	memset(args, 'a', MAX_ARGS);
}

static int all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

static void ram_clear(void)
{
	memset(base, 0, FENCE_LO);
	memset(base + FENCE_HI, 0, LOW_SIZE - FENCE_HI);
	memset(high, 0, HIGH_SIZE);
}

static int ram_zero(void)
{
	return all_zero(base, FENCE_LO) && all_zero(base + FENCE_HI, LOW_SIZE - FENCE_HI) &&
	       all_zero(high, HIGH_SIZE);
}

static uint32_t rd32(gpa_t gpa)
{
	uint32_t v;

	FUZZ_ASSERT(guest_mem_ptr(&mem, gpa, 4) != NULL, "pointer %#llx outside RAM",
		    (unsigned long long)gpa);
	memcpy(&v, base + gpa, 4);
	return v;
}

/* A NUL-terminated string at gpa, inside region 0 and the info area, equal to `want`. */
static void check_string(gpa_t gpa, const struct boot_claim *info, const char *want,
			 const char *what)
{
	size_t n = strlen(want);

	FUZZ_ASSERT(gpa >= info->start && gpa + n + 1 <= info->start + info->size,
		    "%s outside the info area", what);
	FUZZ_ASSERT(memcmp(base + gpa, want, n + 1) == 0, "%s differs", what);
}

static const struct boot_claim *claim(const struct boot_plan *p, const char *what)
{
	for (unsigned i = 0; i < p->nclaims; i++)
		if (strcmp(p->claims[i].what, what) == 0)
			return &p->claims[i];
	return NULL;
}

static void check_loaded(const struct boot_input *in, const struct boot_plan *p)
{
	const struct boot_claim *info = claim(p, "multiboot information");
	bool entry_in_kernel = false;
	struct multiboot_info mi;
	char cmdline[MULTIBOOT_CMDLINE_MAX + 2];

	FUZZ_ASSERT(p->proto == BOOT_MULTIBOOT1 && p->magic == MULTIBOOT_BOOT_MAGIC &&
			p->aps_wait_sipi && !p->low_tables && p->acpi && p->pit,
		    "plan flags");
	FUZZ_ASSERT(info && info->start == p->arg && p->arg % PAGE == 0 && p->arg >= FENCE_HI,
		    "info area not claimed at arg, page-aligned above 1 MiB");
	for (unsigned i = 0; i < p->nclaims; i++) {
		const struct boot_claim *a = &p->claims[i];

		FUZZ_ASSERT(guest_mem_ptr(&mem, a->start, a->size) &&
				a->start + a->size <= LOW_SIZE,
			    "claim %s outside region 0", a->what);
		FUZZ_ASSERT(!(a->start < FENCE_HI && a->start + a->size > MULTIBOOT_EBDA_GPA),
			    "claim %s in the BIOS window", a->what);
		for (unsigned j = 0; j < i; j++) {
			const struct boot_claim *c = &p->claims[j];
			FUZZ_ASSERT(!(a->size && c->size && a->start < c->start + c->size &&
				      c->start < a->start + a->size),
				    "claims %s and %s overlap", a->what, c->what);
		}
		if (strcmp(a->what, "kernel") == 0 && p->entry >= a->start &&
		    p->entry - a->start < a->size)
			entry_in_kernel = true;
	}
	FUZZ_ASSERT(entry_in_kernel, "entry %#llx outside the kernel",
		    (unsigned long long)p->entry);

	memcpy(&mi, base + p->arg, sizeof(mi));
	FUZZ_ASSERT(mi.flags ==
			(MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
			 MULTIBOOT_INFO_MMAP | MULTIBOOT_INFO_BOOT_LOADER_NAME),
		    "info flags %#x", mi.flags);
	FUZZ_ASSERT(mi.mem_lower == 639 && mi.mem_upper == (LOW_SIZE - FENCE_HI) >> 10,
		    "mem fields");
	FUZZ_ASSERT(mi.mmap_length == 4 * sizeof(struct multiboot_mmap_entry), "mmap_length");
	FUZZ_ASSERT(mi.mmap_addr >= info->start &&
			mi.mmap_addr + mi.mmap_length <= info->start + info->size,
		    "mmap outside the info area");
	FUZZ_ASSERT(rd32(mi.mmap_addr) == 20 && rd32(mi.mmap_addr + 3 * 24 + 20) == 1,
		    "mmap entries");
	check_string(mi.boot_loader_name, info, "kestrel", "boot loader name");
	if (in->image_name && in->cmdline[0])
		snprintf(cmdline, sizeof(cmdline), "%s %s", in->image_name, in->cmdline);
	else
		snprintf(cmdline, sizeof(cmdline), "%s",
			 in->image_name ? in->image_name : in->cmdline);
	check_string(mi.cmdline, info, cmdline, "command line");
	FUZZ_ASSERT(mi.mods_count == in->nmodules, "mods_count");
	for (unsigned i = 0; i < in->nmodules; i++) {
		gpa_t e = mi.mods_addr + 16ull * i;
		uint32_t start = rd32(e), end = rd32(e + 4);
		const struct boot_module *m = &in->modules[i];

		FUZZ_ASSERT(e >= info->start && e + 16 <= info->start + info->size, "module list");
		FUZZ_ASSERT(start % PAGE == 0 && end - start == m->len && end <= LOW_SIZE,
			    "module %u at [%#x, %#x)", i + 1, start, end);
		FUZZ_ASSERT(memcmp(base + start, m->data, m->len) == 0, "module %u bytes", i + 1);
		check_string(rd32(e + 8), info, m->string ? m->string : "", "module string");
		for (unsigned c = 0; c < p->nclaims; c++) {
			const struct boot_claim *cl = &p->claims[c];
			if (cl->start == start && cl->size == m->len &&
			    strncmp(cl->what, "module", 6) == 0)
				continue;
			FUZZ_ASSERT(!(m->len && cl->size && start < cl->start + cl->size &&
				      cl->start < end),
				    "module %u overlaps %s", i + 1, cl->what);
		}
	}
	FUZZ_ASSERT(all_zero(base + MULTIBOOT_EBDA_GPA, FENCE_LO - MULTIBOOT_EBDA_GPA),
		    "EBDA written");
	FUZZ_ASSERT(all_zero(high, HIGH_SIZE), "region 1 written");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const strings[3] = {"initrd", "mod two,arg", "third"};
	size_t whylen;
	char *why;
	struct boot_input in = {.ncpus = 1};
	struct boot_plan plan;
	unsigned alen;
	int r;

	if (!mem.nregions)
		setup();
	if (size < 4)
		return 0;
	whylen = 1 + size % 300; /* exact-size heap buffer: ASan sees an overrun */
	why = malloc(whylen);
	in.image = data + 4;
	in.len = size - 4;
	in.image_name = (data[0] & 4) ? NULL : "guests/mb-test.elf";
	alen = (data[2] | (unsigned)data[3] << 8) % MAX_ARGS;
	args[alen] = '\0';
	in.cmdline = args;
	in.nmodules = data[0] & 3;
	for (unsigned i = 0; i < in.nmodules; i++)
		in.modules[i] = (struct boot_module){
		    .data = modbuf[i],
		    .len = ((size_t)data[1] * 0x731 + i * 0x1001) % sizeof(modbuf[i]),
		    .string = (i == 1 && (data[0] & 8)) ? NULL : strings[i],
		};

	r = multiboot_load(&in, &mem, &plan, why, whylen);
	FUZZ_ASSERT(r == 0 || r == -ENOEXEC || r == -ENOSPC || r == -E2BIG, "returned %d", r);
	FUZZ_ASSERT(memchr(why, '\0', whylen) != NULL, "reason not NUL-terminated");
	if (r == 0) {
		FUZZ_ASSERT(why[0] == '\0', "success with a reason: %s", why);
		FUZZ_ASSERT(alen + (in.image_name ? strlen(in.image_name) + (alen ? 1 : 0) : 0) <=
				MULTIBOOT_CMDLINE_MAX,
			    "oversized command line accepted");
		check_loaded(&in, &plan);
		ram_clear();
	} else {
		FUZZ_ASSERT(whylen == 1 || why[0] != '\0', "refused without a reason");
		FUZZ_ASSERT(plan.nclaims == 0, "claims left after a refusal");
		FUZZ_ASSERT(ram_zero(), "refused image wrote RAM: %s", why);
	}
	args[alen] = 'a';
	free(why);
	return 0;
}
