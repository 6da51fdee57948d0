/* fuzz_bzimage.c - libFuzzer target: linux_load_ex on arbitrary bytes (bzImage, compressed
 * payloads, vmlinux, PVH) into 24 MiB of guest RAM. */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "load/linux.h"

/*
 * Guest RAM is one 24 MiB region from 0 (a kernel at 16 MiB with up to
 * 8 MiB of init_size fits), mmap'ed MAP_NORESERVE with a PROT_NONE page
 * after it. Between inputs every page is dropped with MADV_DONTNEED, so
 * mincore() tells whether an input wrote anything: a refused one must not
 * (linux.h: "Guest RAM is written only after every check passed").
 *
 * The options come from the input's length, so the image bytes stay whole:
 * bit 0 an initrd of 64 KiB, bit 1 no_host_decompress, bits 2-3 the entry
 * (auto, 64-bit, PVH, auto). Decompression is bounded at 8 MiB.
 */
#define RAM_SIZE (24ull << 20)
#define PAGE 0x1000ull
#define NPAGES (RAM_SIZE / PAGE)

static struct guest_mem mem;
static uint8_t *ram;
static unsigned char resident[NPAGES];
static uint8_t initrd[64 << 10];

static void setup(void)
{
	uint8_t *base = mmap(NULL, RAM_SIZE + PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	FUZZ_ASSERT(base != MAP_FAILED, "mmap");
	FUZZ_ASSERT(mprotect(base + RAM_SIZE, PAGE, PROT_NONE) == 0, "mprotect");
	ram = base;
	guest_mem_layout(&mem, RAM_SIZE);
	mem.r[0].host = ram;
	memset(initrd, 0x17, sizeof(initrd));
}

static unsigned touched_pages(void)
{
	unsigned n = 0;

	FUZZ_ASSERT(mincore(ram, RAM_SIZE, resident) == 0, "mincore");
	for (size_t i = 0; i < NPAGES; i++)
		n += resident[i] & 1;
	return n;
}

static void check_plan(const struct boot_plan *p)
{
	FUZZ_ASSERT(p->proto == BOOT_LINUX64 || p->proto == BOOT_PVH, "proto %d", p->proto);
	FUZZ_ASSERT(p->entry >= LINUX_HIGH_GPA && guest_mem_ptr(&mem, p->entry, 1),
		    "entry %#llx outside RAM above 1 MiB", (unsigned long long)p->entry);
	FUZZ_ASSERT(p->arg == (p->proto == BOOT_PVH ? LINUX_PVH_INFO_GPA : LINUX_ZERO_PAGE_GPA),
		    "arg %#llx", (unsigned long long)p->arg);
	FUZZ_ASSERT(p->aps_wait_sipi && p->low_tables == (p->proto == BOOT_LINUX64),
		    "platform flags");
	for (unsigned i = 0; i < p->nclaims; i++) {
		const struct boot_claim *c = &p->claims[i];

		FUZZ_ASSERT(c->size && guest_mem_ptr(&mem, c->start, c->size),
			    "claim %s outside RAM", c->what);
		for (unsigned j = 0; j < i; j++)
			FUZZ_ASSERT(c->start >= p->claims[j].start + p->claims[j].size ||
					p->claims[j].start >= c->start + c->size,
				    "claims %s and %s overlap", c->what, p->claims[j].what);
	}
	if (p->proto == BOOT_LINUX64) {
		const uint8_t *zp = ram + LINUX_ZERO_PAGE_GPA;

		FUZZ_ASSERT(zp[0x1fe] == 0x55 && zp[0x1ff] == 0xaa &&
				memcmp(zp + 0x202, "HdrS", 4) == 0,
			    "zero page without the setup-header magics");
		FUZZ_ASSERT(zp[0x210] == 0xff && zp[0x1e8] == 3, "type_of_loader / e820_entries");
	} else {
		const uint8_t *si = ram + LINUX_PVH_INFO_GPA;

		FUZZ_ASSERT(si[0] == 0x78 && si[1] == 0xc5 && si[2] == 0x6e && si[3] == 0x33,
			    "start info magic");
	}
	FUZZ_ASSERT(strcmp((const char *)ram + LINUX_CMDLINE_GPA, "console=ttyS0") == 0,
		    "command line");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum linux_entry entries[4] = {LINUX_ENTRY_AUTO, LINUX_ENTRY_64,
						    LINUX_ENTRY_PVH, LINUX_ENTRY_AUTO};
	size_t whylen = 1 + size % 200;
	char *why = malloc(whylen);
	struct boot_input in = {.image = data,
				.len = size,
				.cmdline = "console=ttyS0",
				.no_host_decompress = (size & 2) != 0};
	const struct linux_options opt = {
	    .rsdp = 0xe0000, .entry = entries[(size >> 2) & 3], .unpack_max = 8ull << 20};
	struct boot_plan plan;
	int r;

	if (!ram)
		setup();
	if (size & 1) {
		in.nmodules = 1;
		in.modules[0] = (struct boot_module){initrd, sizeof(initrd), "initrd"};
	}
	r = linux_load_ex(&in, &mem, &opt, &plan, why, whylen);
	FUZZ_ASSERT(r == 0 || r == -ENOEXEC || r == -ENOSPC || r == -E2BIG || r == -EINVAL,
		    "returned %d", r);
	FUZZ_ASSERT(memchr(why, '\0', whylen) != NULL, "reason not NUL-terminated");
	if (r == 0) {
		FUZZ_ASSERT(why[0] == '\0', "success with a reason: %s", why);
		check_plan(&plan);
		FUZZ_ASSERT(madvise(ram, RAM_SIZE, MADV_DONTNEED) == 0, "madvise");
	} else {
		FUZZ_ASSERT(whylen == 1 || why[0] != '\0', "refused without a reason");
		FUZZ_ASSERT(plan.nclaims == 0 && plan.entry == 0, "plan left filled on failure");
		FUZZ_ASSERT(touched_pages() == 0, "refused image wrote guest RAM: %s", why);
	}
	free(why);
	return 0;
}
