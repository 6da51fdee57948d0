/* elf.c - load an untrusted ELF64 x86-64 executable into guest RAM: validate everything, then copy.
 */
#include "load/elf.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * Real executables have two to five PT_LOADs. The cap bounds the pairwise
 * overlap check and lets pass 1 keep its validated copy of every segment on
 * the stack, so pass 2 never re-reads the (possibly mmap'ed, possibly
 * changing) image headers it has already checked.
 */
#define ELF_MAX_LOADS 64u

/* A PT_LOAD that passed every check: what pass 2 copies. */
struct elf_seg {
	unsigned idx;	      /* program header index, for messages */
	uint64_t off, filesz; /* file range [off, off + filesz) */
	gpa_t gpa;	      /* guest range [gpa, end) */
	uint64_t memsz, end;
	uint8_t *host; /* guest_mem_ptr(gpa, memsz), NULL when memsz == 0 */
	bool exec;
};

__attribute__((format(printf, 3, 4))) static int elf_fail(char *why, size_t whylen, const char *fmt,
							  ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -ENOEXEC;
}

/* "[0, 0xc0000000) and [0x100000000, 0x140000000)" - guest RAM, for messages. */
static void elf_ram_desc(const struct guest_mem *mem, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < mem->nregions && i < KESTREL_MAX_REGIONS && n < len; i++) {
		int w = snprintf(buf + n, len - n, "%s[%#" PRIx64 ", %#" PRIx64 ")",
				 i ? " and " : "", mem->r[i].gpa, mem->r[i].gpa + mem->r[i].size);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* Half-open ranges [a, a_end) and [b, b_end) share a byte. */
static bool elf_ranges_overlap(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

/* Pass 1 for the file header: identification, type, machine, program header table. */
static int elf_check_ehdr(const uint8_t *image, size_t len, Elf64_Ehdr *eh, char *why,
			  size_t whylen)
{
	uint64_t table, table_end;

	if (!image || len == 0)
		return elf_fail(why, whylen, "empty file");
	if (len >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) != 0)
		return elf_fail(why, whylen, "not an ELF file (bad magic)");
	if (len < sizeof(*eh))
		return elf_fail(why, whylen,
				"truncated: %zu bytes is too short for an ELF64 header (%zu)", len,
				sizeof(*eh));
	/* The image may be unaligned: copy the header out rather than cast. */
	memcpy(eh, image, sizeof(*eh));

	if (eh->e_ident[EI_CLASS] == ELFCLASS32)
		return elf_fail(why, whylen,
				"32-bit ELF (ELFCLASS32); kestrel loads 64-bit x86-64 executables");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return elf_fail(why, whylen,
				"bad ELF class %u; kestrel loads 64-bit x86-64 executables",
				eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] == ELFDATA2MSB)
		return elf_fail(why, whylen,
				"big-endian ELF (ELFDATA2MSB); x86-64 is little-endian");
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return elf_fail(why, whylen, "bad ELF data encoding %u", eh->e_ident[EI_DATA]);
	if (eh->e_ident[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT)
		return elf_fail(why, whylen, "bad ELF version %u/%u (expected %u)",
				eh->e_ident[EI_VERSION], eh->e_version, EV_CURRENT);
	if (eh->e_machine != EM_X86_64)
		return elf_fail(why, whylen, "ELF machine %u is not x86-64 (EM_X86_64 = %u)",
				eh->e_machine, EM_X86_64);
	if (eh->e_type == ET_DYN)
		return elf_fail(
		    why, whylen,
		    "position-independent ELF (ET_DYN); kestrel loads ET_EXEC "
		    "executables linked at fixed addresses (link with -static -no-pie)");
	if (eh->e_type != ET_EXEC)
		return elf_fail(why, whylen, "ELF type %u is not an executable (ET_EXEC)",
				eh->e_type);

	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return elf_fail(why, whylen, "e_phentsize is %u, expected %zu (sizeof(Elf64_Phdr))",
				eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return elf_fail(why, whylen, "no program headers, so no PT_LOAD segment to load");
	/* gABI: PN_XNUM means the real count is in section header 0; no linker
	 * produces that for an image kestrel could hold, so don't follow it. */
	if (eh->e_phnum == PN_XNUM)
		return elf_fail(why, whylen,
				"e_phnum is PN_XNUM (extended numbering), not supported");
	if (__builtin_mul_overflow((uint64_t)eh->e_phnum, (uint64_t)eh->e_phentsize, &table) ||
	    __builtin_add_overflow(eh->e_phoff, table, &table_end))
		return elf_fail(why, whylen,
				"program header table %#" PRIx64 "+%u*%u wraps around 2^64",
				eh->e_phoff, eh->e_phnum, eh->e_phentsize);
	if (table_end > len)
		return elf_fail(why, whylen,
				"program header table %#" PRIx64 "+%#" PRIx64
				" runs past the end of the %#zx-byte file",
				eh->e_phoff, table, len);
	return 0;
}

/* Pass 1 for one PT_LOAD: file range, guest range, reserved areas. */
static int elf_check_load(const Elf64_Phdr *ph, unsigned i, size_t len, const struct guest_mem *mem,
			  const struct load_reserved *reserved, unsigned nreserved,
			  struct elf_seg *seg, char *why, size_t whylen)
{
	uint64_t file_end;
	char ram[96];

	if (ph->p_filesz > ph->p_memsz)
		return elf_fail(why, whylen,
				"segment %u: p_filesz %#" PRIx64 " exceeds p_memsz %#" PRIx64, i,
				ph->p_filesz, ph->p_memsz);
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &file_end))
		return elf_fail(why, whylen,
				"segment %u: file range %#" PRIx64 "+%#" PRIx64
				" wraps around 2^64",
				i, ph->p_offset, ph->p_filesz);
	if (file_end > len)
		return elf_fail(why, whylen,
				"segment %u: file range %#" PRIx64 "+%#" PRIx64
				" runs past the end of the %#zx-byte file",
				i, ph->p_offset, ph->p_filesz, len);

	*seg = (struct elf_seg){
	    .idx = i,
	    .off = ph->p_offset,
	    .filesz = ph->p_filesz,
	    .gpa = ph->p_paddr,
	    .memsz = ph->p_memsz,
	    .exec = (ph->p_flags & PF_X) != 0,
	};
	if (ph->p_memsz == 0)
		return 0; /* occupies nothing; placement checks don't apply */

	if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &seg->end))
		return elf_fail(why, whylen,
				"segment %u: memory range %#" PRIx64 "+%#" PRIx64
				" wraps around 2^64",
				i, ph->p_paddr, ph->p_memsz);
	/* Guests run on kestrel's identity map (abi.h): code linked at virtual
	 * address V executes from physical V, so a segment loaded anywhere else
	 * would not be where its code thinks it is. */
	if (ph->p_vaddr != ph->p_paddr)
		return elf_fail(why, whylen,
				"segment %u: p_vaddr %#" PRIx64 " differs from p_paddr %#" PRIx64
				"; kestrel identity-maps guest memory",
				i, ph->p_vaddr, ph->p_paddr);
	for (unsigned r = 0; r < nreserved; r++) {
		uint64_t rend;

		if (__builtin_add_overflow(reserved[r].start, reserved[r].size, &rend))
			rend = UINT64_MAX;
		if (reserved[r].size &&
		    elf_ranges_overlap(seg->gpa, seg->end, reserved[r].start, rend))
			return elf_fail(why, whylen,
					"segment %u [%#" PRIx64 ", %#" PRIx64 ") overlaps %s", i,
					seg->gpa, seg->end,
					reserved[r].what ? reserved[r].what : "a reserved range");
	}
	/* abi.h reserves the first MiB whatever the caller passed. */
	if (seg->gpa < KESTREL_LOW_RESERVED)
		return elf_fail(why, whylen,
				"segment %u [%#" PRIx64 ", %#" PRIx64 ") starts below %#x, "
				"which kestrel reserves for its boot data",
				i, seg->gpa, seg->end, KESTREL_LOW_RESERVED);
	seg->host = guest_mem_ptr(mem, seg->gpa, seg->memsz);
	if (!seg->host) {
		elf_ram_desc(mem, ram, sizeof(ram));
		return elf_fail(why, whylen,
				"segment %u [%#" PRIx64 ", %#" PRIx64
				") is not inside guest RAM (%s)",
				i, seg->gpa, seg->end, ram);
	}
	return 0;
}

int elf_load(const uint8_t *image, size_t len, const struct guest_mem *mem,
	     const struct load_reserved *reserved, unsigned nreserved, gpa_t *entry, char *why,
	     size_t whylen)
{
	struct elf_seg segs[ELF_MAX_LOADS];
	unsigned nsegs = 0;
	Elf64_Ehdr eh;
	bool entry_ok = false;
	int err;

	if (why && whylen)
		why[0] = '\0';

	/* Pass 1: validate everything, keeping our own copy of what was checked. */
	err = elf_check_ehdr(image, len, &eh, why, whylen);
	if (err)
		return err;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		/* In bounds: e_phoff + e_phnum * sizeof(ph) <= len was checked. */
		memcpy(&ph, image + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_INTERP)
			return elf_fail(why, whylen,
					"segment %u is PT_INTERP: a dynamically linked program "
					"needs a loader; link the guest with -static",
					i);
		if (ph.p_type != PT_LOAD)
			continue;
		if (nsegs == ELF_MAX_LOADS)
			return elf_fail(why, whylen, "more than %u PT_LOAD segments",
					ELF_MAX_LOADS);
		err = elf_check_load(&ph, i, len, mem, reserved, nreserved, &segs[nsegs], why,
				     whylen);
		if (err)
			return err;
		nsegs++;
	}
	if (nsegs == 0)
		return elf_fail(why, whylen, "no PT_LOAD segment: nothing to load");

	/* Segments may not overlap each other: the later copy would silently
	 * clobber the earlier one (or its zeroed bss). */
	for (unsigned a = 0; a < nsegs; a++) {
		if (segs[a].memsz == 0)
			continue;
		for (unsigned b = a + 1; b < nsegs; b++) {
			if (segs[b].memsz &&
			    elf_ranges_overlap(segs[a].gpa, segs[a].end, segs[b].gpa, segs[b].end))
				return elf_fail(why, whylen,
						"segments %u [%#" PRIx64 ", %#" PRIx64
						") and %u [%#" PRIx64 ", %#" PRIx64 ") overlap",
						segs[a].idx, segs[a].gpa, segs[a].end, segs[b].idx,
						segs[b].gpa, segs[b].end);
		}
	}

	/* The first instruction must be inside something we load as executable;
	 * anything else is a linking mistake the guest would meet as a fault. */
	for (unsigned s = 0; s < nsegs; s++)
		if (segs[s].exec && segs[s].memsz && eh.e_entry >= segs[s].gpa &&
		    eh.e_entry < segs[s].end)
			entry_ok = true;
	if (!entry_ok)
		return elf_fail(why, whylen,
				"entry point %#" PRIx64 " is outside every executable segment",
				eh.e_entry);

	/* Pass 2: copy, using only what pass 1 checked; nothing here can fail. */
	for (unsigned s = 0; s < nsegs; s++) {
		if (segs[s].memsz == 0)
			continue;
		memcpy(segs[s].host, image + segs[s].off, segs[s].filesz);
		memset(segs[s].host + segs[s].filesz, 0, segs[s].memsz - segs[s].filesz);
	}
	*entry = eh.e_entry;
	return 0;
}
