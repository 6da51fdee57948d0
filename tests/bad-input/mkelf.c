/* mkelf.c - write one crafted ELF image for the bad-input catalogue: a valid tiny guest with
 * exactly one defect. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Usage: mkelf VARIANT OUT
 *
 * "valid" is a guest that runs: one R+X PT_LOAD at 1 MiB whose code makes
 * the exit hypercall with status 42. Every other variant is that image
 * with one thing broken (see the table), so a refusal can only be about
 * that one thing. Built and run by tests/bad-input/run.sh at test time,
 * so no binary is kept in the repository.
 */

#define MIB 0x100000ull
#define CODE_OFF 0x1000u /* file offset of segment 0's bytes */

/* mov $42, %edi; out %al, $0x30 (KESTREL_HC_PORT_BASE + KESTREL_HC_EXIT); hlt; jmp .-1 */
static const uint8_t code[] = {0xbf, 0x2a, 0x00, 0x00, 0x00, 0xe6, 0x30, 0xf4, 0xeb, 0xfd};

static uint8_t img[CODE_OFF + 0x1000];
static size_t img_len = sizeof(img);
static uint64_t file_len; /* > img_len: the file is extended (sparse) to this size */

static Elf64_Ehdr *eh(void)
{
	return (Elf64_Ehdr *)img;
}

static Elf64_Phdr *ph(unsigned i)
{
	return (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)) + i;
}

static void load(unsigned i, uint64_t paddr, uint64_t off, uint64_t filesz, uint64_t memsz,
		 uint32_t flags)
{
	*ph(i) = (Elf64_Phdr){.p_type = PT_LOAD,
			      .p_flags = flags,
			      .p_offset = off,
			      .p_vaddr = paddr,
			      .p_paddr = paddr,
			      .p_filesz = filesz,
			      .p_memsz = memsz,
			      .p_align = 0x1000};
	if (i + 1 > eh()->e_phnum)
		eh()->e_phnum = (uint16_t)(i + 1);
}

static void make_valid(void)
{
	Elf64_Ehdr e = {
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = MIB,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	};

	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &e, sizeof(e));
	memcpy(img + CODE_OFF, code, sizeof(code));
	load(0, MIB, CODE_OFF, sizeof(code), 0x1000, PF_R | PF_X);
}

/* One line per variant: name, then what it breaks (in the code below). */
static int apply(const char *v)
{
	make_valid();
	if (!strcmp(v, "valid"))
		return 0;
	if (!strcmp(v, "trunc-ehdr")) /* the file ends inside the ELF header */
		img_len = 40;
	else if (!strcmp(v, "trunc-phdrs")) /* 4 program headers promised, the file ends after 1 */
		eh()->e_phnum = 4, img_len = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	else if (!strcmp(v, "phoff-wrap")) /* e_phoff + table wraps around 2^64 */
		eh()->e_phoff = UINT64_MAX - 16;
	else if (!strcmp(v, "seg-offset-past-eof")) /* p_offset beyond the file */
		ph(0)->p_offset = 0x100000;
	else if (!strcmp(v, "seg-size-past-eof")) /* p_offset fine, p_filesz runs off the end */
		ph(0)->p_filesz = ph(0)->p_memsz = 0x10000;
	else if (!strcmp(v, "seg-offset-wrap")) /* p_offset + p_filesz wraps */
		ph(0)->p_offset = UINT64_MAX - 4;
	else if (!strcmp(v, "filesz-gt-memsz"))
		ph(0)->p_memsz = 4;
	else if (!strcmp(v, "outside-ram")) /* a second segment at 512 MiB (run with --mem 64M) */
		load(1, 512 * MIB, CODE_OFF, 16, 0x1000, PF_R | PF_W);
	else if (!strcmp(
		     v,
		     "in-mmio-hole")) /* at 3 GiB, where the MMIO hole starts (run with --mem 5G) */
		load(1, 0xc0000000ull, CODE_OFF, 16, 0x1000, PF_R | PF_W);
	else if (!strcmp(v, "over-boot-tables")) /* on kestrel's GDT / page tables */
		load(1, 0x3000, CODE_OFF, 16, 0x1000, PF_R | PF_W);
	else if (!strcmp(v, "over-stacks")) /* the last 16 KiB of 64 MiB: the vCPU stacks */
		load(1, 64 * MIB - 0x4000, CODE_OFF, 16, 0x4000, PF_R | PF_W);
	else if (!strcmp(v, "huge-memsz")) /* 128 TiB of bss */
		ph(0)->p_memsz = 1ull << 47;
	else if (!strcmp(v, "huge-memsz-high")) /* 128 TiB from 4 GiB up (run with --mem 5G) */
		load(1, 0x100000000ull, CODE_OFF, 16, 1ull << 47, PF_R | PF_W);
	else if (!strcmp(v, "memsz-wrap")) /* p_paddr + p_memsz wraps */
		ph(0)->p_memsz = UINT64_MAX - 0x1000;
	else if (!strcmp(v, "entry-outside")) /* entry far from any segment */
		eh()->e_entry = 0x500000;
	else if (!strcmp(v, "entry-not-exec")) /* entry in a segment without PF_X */
		ph(0)->p_flags = PF_R | PF_W;
	else if (!strcmp(v, "elfclass32"))
		img[EI_CLASS] = ELFCLASS32;
	else if (!strcmp(v, "big-endian"))
		img[EI_DATA] = ELFDATA2MSB;
	else if (!strcmp(v, "aarch64"))
		eh()->e_machine = EM_AARCH64;
	else if (!strcmp(v, "pie"))
		eh()->e_type = ET_DYN;
	else if (!strcmp(v, "relocatable"))
		eh()->e_type = ET_REL;
	else if (!strcmp(v, "bad-version"))
		eh()->e_version = 7;
	else if (!strcmp(v, "phentsize"))
		eh()->e_phentsize = 32;
	else if (!strcmp(v, "no-phdrs"))
		eh()->e_phnum = 0;
	else if (!strcmp(v, "pn-xnum"))
		eh()->e_phnum = PN_XNUM;
	else if (!strcmp(v, "interp")) /* a dynamically linked program */
		*ph(1) = (Elf64_Phdr){.p_type = PT_INTERP, .p_offset = CODE_OFF, .p_filesz = 8},
		eh()->e_phnum = 2;
	else if (!strcmp(v, "no-load")) /* only a PT_NOTE */
		ph(0)->p_type = PT_NOTE;
	else if (!strcmp(v, "overlap")) /* a second segment inside the first */
		load(1, MIB + 0x800, CODE_OFF, 16, 0x1000, PF_R | PF_W);
	else if (!strcmp(v, "vaddr-ne-paddr"))
		ph(0)->p_vaddr = 0xffffffff80000000ull;
	else if (!strcmp(v, "vaddr-ne-paddr-low"))
		ph(0)->p_vaddr = ph(0)->p_paddr + 0x1000;
	else if (!strcmp(v,
			 "big-data")) { /* valid, with a 256 MiB data segment at 16 MiB (sparse) */
		load(1, 16 * MIB, 2 * CODE_OFF, 256 * MIB, 256 * MIB, PF_R);
		file_len = 2 * CODE_OFF + 256 * MIB;
	} else if (!strcmp(v, "too-many-loads")) /* 65 tiny PT_LOADs, 4 KiB apart */
		for (unsigned i = 1; i < 65; i++)
			load(i, MIB + 0x1000 * i, CODE_OFF, 16, 16, PF_R);
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	FILE *f;

	if (argc != 3 || apply(argv[1]) < 0) {
		fprintf(stderr, "usage: mkelf VARIANT OUT (unknown variant '%s')\n",
			argc > 1 ? argv[1] : "");
		return 2;
	}
	f = fopen(argv[2], "wb");
	if (!f || fwrite(img, 1, img_len, f) != img_len ||
	    (file_len > img_len && ftruncate(fileno(f), (off_t)file_len) != 0) || fclose(f) != 0) {
		perror(argv[2]);
		return 2;
	}
	return 0;
}
