/* head.S - mb-test's multiboot header, 32-bit entry, identity map, long-mode switch and the AP trampoline. */
#include "mb.h"

/*
 * The loader enters mb_entry in 32-bit protected mode with paging off, flat
 * segments, EAX = MB_BOOT_MAGIC and EBX = the information block (Multiboot
 * 0.6.96 section 3.2). Nothing else is promised: not the GDT (its address
 * may be anywhere, even in memory we overwrite), not a stack, not zeroed
 * .bss. So we load our own GDT first, zero .bss, build page tables that
 * identity-map 4 GiB with 2 MiB pages, and switch to long mode.
 */

	.section .multiboot, "a"
	.balign 4
	.globl mb_header
mb_header:
	.long	MB_HEADER_MAGIC
	.long	MB_HEADER_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

/* Enable PAE, load CR3, set EFER.LME, turn on paging, far-jump to 64-bit `target`. */
.macro ENTER_LONG target
	movl	%cr4, %eax
	orl	$0x20, %eax			/* CR4.PAE */
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$0xC0000080, %ecx		/* IA32_EFER */
	rdmsr
	orl	$0x100, %eax			/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax		/* PG | PE */
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $\target
.endm

	.section .text32, "ax", @progbits
	.code32
	.globl mb_entry
mb_entry:
	cli
	cld
	movl	%eax, mb_magic
	movl	%ebx, mb_info
	lgdt	gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs

	/* Zero .bss (page tables and stacks included; nothing is on a stack yet). */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	shrl	$2, %ecx
	xorl	%eax, %eax
	rep stosl
	movl	$bsp_stack + BSP_STACK_SIZE, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. */
	movl	$pdpt + 0x3, pml4		/* present, writable */
	movl	$pd + 0x3, %eax
	xorl	%ecx, %ecx
2:	movl	%eax, pdpt(, %ecx, 8)
	addl	$0x1000, %eax
	incl	%ecx
	cmpl	$4, %ecx
	jb	2b

	/*
	 * 2048 2 MiB pages: PD entry i maps i << 21. The top GiB (PCI hole,
	 * IOAPIC, the local APIC at 0xfee00000, firmware) is PCD|PWT:
	 * uncacheable whatever the MTRRs say.
	 */
	xorl	%ecx, %ecx
3:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax			/* present, writable, PS */
	cmpl	$1536, %ecx
	jb	4f
	orl	$0x18, %eax			/* PWT | PCD */
4:	movl	%eax, pd(, %ecx, 8)
	incl	%ecx
	cmpl	$2048, %ecx
	jb	3b

	ENTER_LONG bsp64

/*
 * An AP arrives here from the trampoline in 32-bit protected mode (CS =
 * SEL_CODE32, our GDT, paging off). It takes the next AP slot with lock
 * xadd: the slot picks its stack, and an AP past MAX_APS parks uncounted.
 */
	.globl ap_entry32
ap_entry32:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$1, %ebx
	lock xaddl %ebx, ap_next_slot
	cmpl	$MAX_APS, %ebx
	jae	ap_park32
	movl	%ebx, %esp
	incl	%esp
	shll	$12, %esp			/* AP_STACK_SIZE == 4096 */
	addl	$ap_stacks, %esp
	ENTER_LONG ap64
ap_park32:
	cli
	hlt
	jmp	ap_park32

	.text
	.code64
bsp64:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	$bsp_stack + BSP_STACK_SIZE, %esp
	movl	mb_magic, %edi
	movl	mb_info, %esi
	call	mb_main
5:	cli
	hlt
	jmp	5b

ap64:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%ebx, %edi
	call	ap_main
6:	cli
	hlt
	jmp	6b

/*
 * The AP trampoline, copied by the BSP to a free page below 1 MiB and
 * started by SIPI: real mode, CS = page >> 4, IP = 0. Every real-mode
 * reference is relative to CS, so the copy runs wherever it lands. Data,
 * not code, in this image: objdump would decode it as 64-bit code.
 */
	.section .rodata.tramp, "a"
	.code16
	.globl tramp_start, tramp_end
tramp_start:
	cli
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	tramp_gdt_ptr - tramp_start
	movl	%cr0, %eax
	orl	$1, %eax			/* PE */
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_entry32
	.balign 8
tramp_gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt
tramp_end:
	.code64

	/* Accessed bits preset, so loading a selector never writes the GDT. */
	.data
	.balign 8
gdt:
	.quad	0
	.quad	0x00af9b000000ffff		/* SEL_CODE64: long mode, DPL 0 */
	.quad	0x00cf93000000ffff		/* SEL_DATA: flat 4 GiB, writable */
	.quad	0x00cf9b000000ffff		/* SEL_CODE32: flat 4 GiB, 32-bit */
gdt_end:
gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt

	.balign 4
mb_magic:
	.long	0
mb_info:
	.long	0
	.globl ap_next_slot
ap_next_slot:
	.long	0

	.section .bss.pagetables, "aw", @nobits
	.balign 4096
pml4:
	.skip	4096
pdpt:
	.skip	4096
pd:
	.skip	4 * 4096
	.globl ap_stacks
ap_stacks:
	.skip	MAX_APS * AP_STACK_SIZE
bsp_stack:
	.skip	BSP_STACK_SIZE

	.section .note.GNU-stack, "", @progbits
