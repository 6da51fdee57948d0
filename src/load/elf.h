/* elf.h - ELF64 executable loader: pure code, every offset and size checked. */
#ifndef KESTREL_LOAD_ELF_H
#define KESTREL_LOAD_ELF_H

#include <stddef.h>
#include <stdint.h>

#include "core/guestmem.h"

/* A guest-physical range the image must not overlap (kestrel's own data). */
struct load_reserved {
	gpa_t start;
	uint64_t size;
	const char *what; /* for messages: "kestrel's page tables", "vCPU stacks" */
};

/*
 * elf_load - copy the PT_LOAD segments of the ELF64 x86-64 executable
 * `image` (`len` bytes, untrusted) into guest RAM `mem`, zero-filling each
 * segment's p_memsz tail, and return its entry point in *entry.
 *
 * Refused, with -ENOEXEC and a one-line reason in `why` (which always ends
 * NUL-terminated): empty or truncated files, bad magic, not ELFCLASS64 /
 * little-endian / EM_X86_64 / ET_EXEC, bad program-header size or table out
 * of the file, segments whose file range leaves the file or whose p_filesz
 * exceeds p_memsz, segments outside guest RAM (guest_mem_ptr) or overlapping
 * any `reserved` range, arithmetic that wraps, no PT_LOAD at all, and an
 * entry point outside every loaded executable segment.
 * Nothing is written to guest RAM unless every check passed.
 */
int elf_load(const uint8_t *image, size_t len, const struct guest_mem *mem,
	     const struct load_reserved *reserved, unsigned nreserved, gpa_t *entry, char *why,
	     size_t whylen);

#endif
