/* setup16.S - the real-mode part of bzimage-test: QEMU's (and any BIOS loader's) way in, to the 64-bit entry. */
#include "bzimage.h"

/*
 * kestrel never runs this: it enters the 64-bit entry directly. A BIOS
 * loader (QEMU -kernel) loads the boot sector and setup sectors at a
 * real-mode segment S and jumps to S+0x20:0 (the `jmp` at 0x200, which
 * mkbzimage points here) with DS = ES = SS = S. We then do what Linux's
 * setup does, in the least code: a fresh zero page with the header copied
 * and the BIOS e820 map, an identity map of the first GiB, long mode, the
 * GDT the 64-bit protocol asks for, and the RSDP from the BIOS area; then
 * jump to code32_start + BZT_ENTRY64_SETUP with RSI = the zero page.
 *
 * It uses `int $0x15` (BIOS e820), which check-insns.sh forbids in guests
 * kestrel runs; this object is linked into the setup sectors only and is
 * not vetted (see bzimage.mk).
 *
 * Linked at BZT_SETUP16_OFFSET: labels are offsets from S.
 */
#define ZP BZT_SETUP16_ZERO_PAGE
#define SMAP 0x534d4150

	.section .text16, "ax", @progbits
	.code16
	.globl setup16
setup16:
	cli
	cld
	/* Normalise CS to S so labels are offsets from it (we came in at S+0x20:xx). */
	pushw	%ds
	pushw	$1f
	lretw
1:	movw	%ds, %ax
	movw	%ax, %es
	movw	%ax, %ss
	movw	$BZT_SETUP16_STACK, %sp

	/* A fresh zero page at S:ZP, then the setup header copied into it. */
	movw	$ZP, %di
	xorw	%ax, %ax
	movw	$(BP_SIZE / 2), %cx
	rep stosw
	movw	$HDR_START, %si
	movw	$(ZP + HDR_START), %di
	movw	$(HDR_END - HDR_START), %cx
	rep movsb

	/* BIOS e820 (int 0x15, AX=0xe820), at most BP_E820_MAX entries. */
	xorl	%ebx, %ebx
	xorw	%bp, %bp
	movw	$(ZP + BP_E820_TABLE), %di
2:	movl	$0xe820, %eax
	movl	$BP_E820_ENTRY_SIZE, %ecx
	movl	$SMAP, %edx
	int	$0x15
	jc	3f
	cmpl	$SMAP, %eax
	jne	3f
	incw	%bp
	addw	$BP_E820_ENTRY_SIZE, %di
	cmpw	$BP_E820_MAX, %bp
	jae	3f
	testl	%ebx, %ebx
	jnz	2b
3:	movw	%bp, %ax
	movb	%al, (ZP + BP_E820_ENTRIES)

	/* EBP = S * 16, the linear address of offset 0. */
	xorl	%ebp, %ebp
	movw	%ds, %bp
	shll	$4, %ebp

	/* Identity map of the first GiB: PML4 -> PDPT -> PD of 2 MiB pages (S*16 is 16-byte
	 * aligned only, so the tables go at the first page boundary after S:PAGE_TABLES). */
	movl	%ebp, %eax
	addl	$(BZT_SETUP16_PAGE_TABLES + 0xfff), %eax
	andl	$~0xfff, %eax
	movl	%eax, %esi			/* ESI = PML4, linear */
	subl	%ebp, %eax
	movw	%ax, %di			/* DI = PML4, as an offset from S */
	movw	$(3 * 4096 / 2), %cx
	pushw	%di
	xorw	%ax, %ax
	rep stosw
	popw	%di
	leal	0x1003(%esi), %eax		/* PML4[0] = PDPT | P | RW */
	movl	%eax, (%di)
	leal	0x2003(%esi), %eax		/* PDPT[0] = PD | P | RW */
	movl	%eax, 0x1000(%di)
	movl	$0x83, %eax			/* PD[i] = i * 2 MiB | P | RW | PS */
	xorw	%cx, %cx
4:	movl	%eax, 0x2000(%di)
	addl	$0x200000, %eax
	addw	$8, %di
	incw	%cx
	cmpw	$512, %cx
	jb	4b

	/* The GDT descriptor holds a linear base: patch it in. */
	leal	gdt(%ebp), %eax
	movl	%eax, gdt_desc + 2
	lgdtl	gdt_desc

	/* Real mode straight to long mode: PAE, CR3, EFER.LME, then PE and PG together. */
	movl	%cr4, %eax
	orl	$0x20, %eax
	movl	%eax, %cr4
	movl	%esi, %cr3
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x100, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax
	movl	%eax, %cr0
	/* A far return loads CS = 0x10 (L=1): 64-bit mode at long64's linear address. */
	leal	long64(%ebp), %eax
	pushl	$0x10
	pushl	%eax
	lretl

	.code64
long64:
	movl	$0x18, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%ebp, %ebp			/* zero-extend: bits 63..32 are undefined after the switch */
	leaq	ZP(%rbp), %rsi

	/* The RSDP: a 16-byte aligned "RSD PTR " in the BIOS area 0xe0000-0xfffff. */
	movabsq	$0x2052545020445352, %rdx	/* "RSD PTR " */
	movl	$0xe0000, %eax
5:	cmpq	%rdx, (%rax)
	je	6f
	addl	$16, %eax
	cmpl	$0x100000, %eax
	jb	5b
	xorl	%eax, %eax
6:	movq	%rax, BP_ACPI_RSDP_ADDR(%rsi)

	/* The protected-mode kernel is at code32_start (QEMU: 1 MiB). */
	movl	HDR_CODE32_START(%rsi), %eax
	addq	$BZT_ENTRY64_SETUP, %rax
	jmp	*%rax

	.balign 8
gdt:
	.quad	0
	.quad	0
	.quad	0x00af9a000000ffff		/* 0x10: __BOOT_CS, 64-bit code, flat */
	.quad	0x00cf92000000ffff		/* 0x18: __BOOT_DS, flat data */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	0

	.section .note.GNU-stack, "", @progbits
