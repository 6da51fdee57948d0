/* mkbzimage.c - wrap a flat 64-bit payload ELF (and an optional real-mode part) in a Linux bzImage
 * setup header. */

/*
 * Usage: mkbzimage [--setup SETUP.elf] PAYLOAD.elf OUT.bzImage
 *
 * The output is what boot.rst calls a bzImage: (1 + setup_sects) sectors of
 * real-mode part (the boot sector, whose last bytes start the setup header,
 * then the setup sectors) followed by the protected-mode kernel. The payload
 * ELF's PT_LOAD segments, laid out from its lowest address, become the
 * protected-mode kernel (file bytes only; the rest of its memory size,
 * .bss, counts in init_size). SETUP.elf's one PT_LOAD must sit at
 * BZT_SETUP16_OFFSET; the `jmp` at 0x200 goes there. Without --setup the
 * jump lands on a `hlt` loop (a 64-bit-entry-only image).
 *
 * The header values are the ones bzimage.h names. Exit status 0, or 1 with
 * one line on stderr saying what was wrong.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzimage.h"

#define SECTOR 512u
#define SETUP_BYTES ((1u + BZT_SETUP_SECTS) * SECTOR)
#define PAYLOAD_MAX (64u << 20)

__attribute__((noreturn, format(printf, 1, 2))) static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("mkbzimage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		die("%s: %s", path, strerror(errno));
	for (;;) {
		if (n == cap) {
			if (cap >= PAYLOAD_MAX)
				die("%s: larger than %u MiB", path, PAYLOAD_MAX >> 20);
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory");
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f))
		die("%s: read error", path);
	fclose(f);
	*len = n;
	return buf;
}

/* An ELF's loadable image: [lo, lo + flat_len) file bytes, [lo, lo + mem_len) in memory. */
struct image {
	uint64_t lo, entry, flat_len, mem_len;
	uint8_t *flat;
};

static void load_elf(const char *path, struct image *im)
{
	size_t len;
	uint8_t *f = read_file(path, &len);
	Elf64_Ehdr eh;
	uint64_t lo = UINT64_MAX, flat_hi = 0, mem_hi = 0;

	if (len < sizeof(eh))
		die("%s: too short for an ELF header (%zu bytes)", path, len);
	memcpy(&eh, f, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
		die("%s: not an x86-64 ELF64 executable", path);
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phoff > len ||
	    (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
		die("%s: program headers out of the file", path);
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < eh.e_phnum; i++) {
			Elf64_Phdr ph;
			uint64_t fend, mend;

			memcpy(&ph, f + eh.e_phoff + i * sizeof(ph), sizeof(ph));
			if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
				continue;
			if (ph.p_filesz > ph.p_memsz ||
			    __builtin_add_overflow(ph.p_offset, ph.p_filesz, &fend) || fend > len ||
			    __builtin_add_overflow(ph.p_vaddr, ph.p_memsz, &mend))
				die("%s: PT_LOAD %u is out of the file or wraps", path, i);
			if (pass == 0) {
				if (ph.p_vaddr < lo)
					lo = ph.p_vaddr;
				if (ph.p_vaddr + ph.p_filesz > flat_hi)
					flat_hi = ph.p_vaddr + ph.p_filesz;
				if (mend > mem_hi)
					mem_hi = mend;
			} else {
				/* Overlapping segments would make the flat image depend on their
				 * order. */
				for (unsigned j = 0; j < i; j++) {
					Elf64_Phdr q;
					memcpy(&q, f + eh.e_phoff + j * sizeof(q), sizeof(q));
					if (q.p_type == PT_LOAD && q.p_memsz &&
					    ph.p_vaddr < q.p_vaddr + q.p_memsz && q.p_vaddr < mend)
						die("%s: PT_LOAD %u overlaps PT_LOAD %u", path, i,
						    j);
				}
				memcpy(im->flat + (ph.p_vaddr - lo), f + ph.p_offset, ph.p_filesz);
			}
		}
		if (pass == 0) {
			if (lo == UINT64_MAX)
				die("%s: no PT_LOAD segment", path);
			if (mem_hi - lo > PAYLOAD_MAX)
				die("%s: spans 0x%llx bytes, more than %u MiB", path,
				    (unsigned long long)(mem_hi - lo), PAYLOAD_MAX >> 20);
			im->lo = lo;
			im->flat_len = flat_hi > lo ? flat_hi - lo : 0;
			im->mem_len = mem_hi - lo;
			im->entry = eh.e_entry;
			im->flat = calloc(1, im->flat_len ? im->flat_len : 1);
			if (!im->flat)
				die("out of memory");
		}
	}
	free(f);
}

static void put(uint8_t *p, unsigned off, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv)
{
	const char *setup_path = NULL;
	struct image pay, set = {0};
	uint8_t setup[SETUP_BYTES];
	int a = 1;

	if (argc == 5 && strcmp(argv[1], "--setup") == 0) {
		setup_path = argv[2];
		a = 3;
	} else if (argc != 3) {
		fprintf(stderr, "usage: mkbzimage [--setup SETUP.elf] PAYLOAD.elf OUT.bzImage\n");
		return 1;
	}
	load_elf(argv[a], &pay);
	if (pay.entry != pay.lo + BZT_ENTRY64)
		die("%s: entry 0x%llx is not the 64-bit entry at its start + 0x%x", argv[a],
		    (unsigned long long)pay.entry, BZT_ENTRY64);
	if (pay.flat_len <= BZT_ENTRY64_SETUP)
		die("%s: only %llu file bytes, no code at +0x%x", argv[a],
		    (unsigned long long)pay.flat_len, BZT_ENTRY64_SETUP);

	memset(setup, 0, sizeof(setup));
	if (setup_path) {
		load_elf(setup_path, &set);
		if (set.lo != BZT_SETUP16_OFFSET || set.entry != BZT_SETUP16_OFFSET)
			die("%s: must be linked and entered at 0x%x (is at 0x%llx, entry 0x%llx)",
			    setup_path, BZT_SETUP16_OFFSET, (unsigned long long)set.lo,
			    (unsigned long long)set.entry);
		if (set.mem_len > SETUP_BYTES - 64 - BZT_SETUP16_OFFSET)
			die("%s: %llu bytes do not fit in %u setup sectors", setup_path,
			    (unsigned long long)set.mem_len, BZT_SETUP_SECTS);
		memcpy(setup + BZT_SETUP16_OFFSET, set.flat, set.flat_len);
	} else {
		static const uint8_t hlt_loop[] = {0xfa, 0xf4, 0xeb,
						   0xfd}; /* cli; 1: hlt; jmp 1b */
		memcpy(setup + BZT_SETUP16_OFFSET, hlt_loop, sizeof(hlt_loop));
	}

	uint64_t init_size = (pay.mem_len + 4095) & ~4095ull;
	if (init_size > UINT32_MAX)
		die("%s: init_size 0x%llx does not fit the 32-bit field", argv[a],
		    (unsigned long long)init_size);
	put(setup, HDR_SETUP_SECTS, BZT_SETUP_SECTS, 1);
	put(setup, HDR_SYSSIZE, (pay.flat_len + 15) / 16, 4);
	put(setup, 0x1fa, 0xffff, 2); /* vid_mode: "normal" */
	put(setup, HDR_BOOT_FLAG, BOOT_FLAG_VALUE, 2);
	put(setup, HDR_JUMP, 0xeb, 1); /* jmp rel8 to the real-mode part */
	put(setup, HDR_JUMP + 1, BZT_SETUP16_OFFSET - (HDR_JUMP + 2), 1);
	put(setup, HDR_MAGIC, HDR_MAGIC_VALUE, 4);
	put(setup, HDR_VERSION, BZT_VERSION, 2);
	/* kernel_version: a string in the setup sectors, as an offset from 0x200. */
	static const char version[] = "bzimage-test (kestrel synthetic bzImage)";
	memcpy(setup + SETUP_BYTES - 64, version, sizeof(version));
	put(setup, 0x20e, SETUP_BYTES - 64 - 0x200, 2);
	put(setup, HDR_LOADFLAGS, LOADFLAGS_LOADED_HIGH, 1);
	put(setup, HDR_CODE32_START, 0x100000, 4);
	put(setup, HDR_INITRD_ADDR_MAX, BZT_INITRD_ADDR_MAX, 4);
	put(setup, HDR_KERNEL_ALIGNMENT, BZT_KERNEL_ALIGNMENT, 4);
	put(setup, HDR_RELOCATABLE, 1, 1);
	put(setup, HDR_MIN_ALIGNMENT, BZT_MIN_ALIGNMENT, 1);
	put(setup, HDR_XLOADFLAGS, BZT_XLOADFLAGS, 2);
	put(setup, HDR_CMDLINE_SIZE, BZT_CMDLINE_SIZE, 4);
	put(setup, HDR_PREF_ADDRESS, BZT_PREF_ADDRESS, 8);
	put(setup, HDR_INIT_SIZE, init_size, 4);
	put(setup, HDR_KERNEL_INFO_OFFSET, BZT_KERNEL_INFO, 4);
	if (memcmp(pay.flat + BZT_KERNEL_INFO, "LToP", 4) != 0)
		die("%s: no kernel_info (\"LToP\") at +0x%x", argv[a], BZT_KERNEL_INFO);

	FILE *o = fopen(argv[a + 1], "wb");
	if (!o)
		die("%s: %s", argv[a + 1], strerror(errno));
	if (fwrite(setup, 1, sizeof(setup), o) != sizeof(setup) ||
	    fwrite(pay.flat, 1, pay.flat_len, o) != pay.flat_len || fclose(o) != 0)
		die("%s: write failed", argv[a + 1]);
	return 0;
}
