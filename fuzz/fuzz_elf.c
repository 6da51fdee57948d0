/* fuzz_elf.c - libFuzzer target: elf_load on arbitrary bytes, into guest RAM fenced by inaccessible
 * pages. */
#include <elf.h>
#include <errno.h>
#include <sys/mman.h>

#include "fuzz.h"
#include "load/elf.h"

/*
 * Guest RAM is laid out like kestrel's, only small: region 0 is
 * [0, 1 MiB + 128 KiB) and region 1 is [4 GiB, 4 GiB + 64 KiB). Everything
 * the loader must never write is mapped PROT_NONE, so a stray write is a
 * SIGSEGV that libFuzzer reports (ASan does not watch mmap'ed memory):
 *   - kestrel's first MiB and the vCPU stack at the top of region 0 (both
 *     passed as reserved ranges, as kestrel_vm_load_elf does),
 *   - one guard page after each region.
 */
#define LOW_SIZE (KESTREL_LOW_RESERVED + 0x20000ull)
#define HIGH_SIZE 0x10000ull
#define STACKS ((uint64_t)KESTREL_STACK_SIZE)
#define PAGE 0x1000ull

static struct guest_mem mem;
static const struct load_reserved reserved[] = {
    {0, KESTREL_LOW_RESERVED, "kestrel's boot tables"},
    {LOW_SIZE - STACKS, STACKS, "the vCPU stacks"},
};

/* The writable parts of RAM, which must read as zero between inputs. */
static struct {
	uint8_t *p;
	size_t len;
} rw[2];

static void setup(void)
{
	size_t total = LOW_SIZE + PAGE + HIGH_SIZE + PAGE;
	uint8_t *base =
	    mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	FUZZ_ASSERT(base != MAP_FAILED, "mmap");
	rw[0].p = base + KESTREL_LOW_RESERVED;
	rw[0].len = LOW_SIZE - STACKS - KESTREL_LOW_RESERVED;
	rw[1].p = base + LOW_SIZE + PAGE;
	rw[1].len = HIGH_SIZE;
	for (int i = 0; i < 2; i++)
		FUZZ_ASSERT(mprotect(rw[i].p, rw[i].len, PROT_READ | PROT_WRITE) == 0, "mprotect");
	mem.nregions = 2;
	mem.total = LOW_SIZE + HIGH_SIZE;
	mem.r[0] = (struct guest_mem_region){.gpa = 0, .size = LOW_SIZE, .host = base};
	mem.r[1] = (struct guest_mem_region){
	    .gpa = KESTREL_HIGH_START, .size = HIGH_SIZE, .host = rw[1].p};
}

static int all_zero(const uint8_t *p, size_t len)
{
	return p[0] == 0 && memcmp(p, p + 1, len - 1) == 0;
}

/* After a successful load: every PT_LOAD is in RAM with its bytes, then zeros. */
static void check_loaded(const uint8_t *data, size_t size, gpa_t entry)
{
	Elf64_Ehdr eh;
	int entry_seen = 0;

	memcpy(&eh, data, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		const uint8_t *host;

		/* The loader accepted the table, so it lies inside the input. */
		memcpy(&ph, data + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		FUZZ_ASSERT(ph.p_paddr >= KESTREL_LOW_RESERVED, "segment %u loaded below 1 MiB", i);
		host = guest_mem_ptr(&mem, ph.p_paddr, ph.p_memsz);
		FUZZ_ASSERT(host != NULL, "segment %u accepted outside RAM", i);
		FUZZ_ASSERT(ph.p_filesz <= ph.p_memsz && ph.p_offset + ph.p_filesz <= size,
			    "segment %u: bad sizes accepted", i);
		FUZZ_ASSERT(memcmp(host, data + ph.p_offset, ph.p_filesz) == 0,
			    "segment %u: file bytes not copied", i);
		if (ph.p_memsz > ph.p_filesz)
			FUZZ_ASSERT(all_zero(host + ph.p_filesz, ph.p_memsz - ph.p_filesz),
				    "segment %u: tail not zeroed", i);
		if ((ph.p_flags & PF_X) && entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_memsz)
			entry_seen = 1;
	}
	FUZZ_ASSERT(entry == eh.e_entry, "entry %#llx is not e_entry", (unsigned long long)entry);
	FUZZ_ASSERT(entry_seen, "entry %#llx outside every executable segment",
		    (unsigned long long)entry);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size heap buffer whose length varies with the input, so
	 * ASan sees any message written past `whylen`. */
	size_t whylen = 1 + size % 200;
	char *why = malloc(whylen);
	gpa_t entry = 0xdead;
	int r;

	if (!mem.nregions)
		setup();
	r = elf_load(data, size, &mem, reserved, 2, &entry, why, whylen);
	FUZZ_ASSERT(r == 0 || r == -ENOEXEC, "returned %d", r);
	FUZZ_ASSERT(memchr(why, '\0', whylen) != NULL, "reason not NUL-terminated");
	if (r == 0) {
		FUZZ_ASSERT(why[0] == '\0', "success with a reason: %s", why);
		check_loaded(data, size, entry);
		for (int i = 0; i < 2; i++)
			memset(rw[i].p, 0, rw[i].len);
	} else {
		FUZZ_ASSERT(whylen == 1 || why[0] != '\0', "refused without a reason");
		FUZZ_ASSERT(entry == 0xdead, "entry written on failure");
		/* "Nothing is written to guest RAM unless every check passed." */
		for (int i = 0; i < 2; i++)
			FUZZ_ASSERT(all_zero(rw[i].p, rw[i].len), "refused image wrote RAM: %s",
				    why);
	}
	free(why);
	return 0;
}
