/* head.S - the start of the bzimage-test protected-mode kernel: a dead 32-bit entry, kernel_info, the 64-bit entries. */
#include "bzimage.h"

/*
 * The payload is position independent (-fpie, every reference RIP-relative):
 * a loader may put a relocatable kernel at any suitably aligned address, and
 * QEMU's 16-bit path loads it at 1 MiB. The build links it twice at
 * different bases and checks the two flat images are identical.
 */
	.section .head.text, "ax", @progbits
	.code32
	.globl startup_32
startup_32:
	/* The 32-bit entry is not offered: a loader must use the 64-bit one. */
1:	cli
	hlt
	jmp	1b

	.org BZT_KERNEL_INFO
	.globl kernel_info
kernel_info:
	.ascii	"LToP"		/* header */
	.long	16		/* size: the fixed part */
	.long	16		/* size_total: no variable-length data */
	.long	0		/* setup_type_max: no setup_data type understood */

	.code64
	.org BZT_ENTRY64
	.globl startup_64
startup_64:
	/* Linux 64-bit boot protocol: RSI = zero page, interrupts off, no stack given. */
	xorl	%edx, %edx		/* from_setup = 0 */
	jmp	common

	.org BZT_ENTRY64_SETUP
	.globl startup_64_setup
startup_64_setup:
	movl	$1, %edx		/* from_setup = 1: our own real-mode part brought us here */
common:
	/* The stack lives in .data, not .bss: .bss is only zeroed once bz_main has
	 * checked that nothing the loader placed lies inside it. */
	leaq	stack_top(%rip), %rsp
	movq	%rsi, %rdi		/* zero page */
	leaq	startup_32(%rip), %rsi	/* where we run: the protected-mode kernel's start */
	xorl	%ebp, %ebp
	call	bz_main
2:	cli
	hlt
	jmp	2b

	.section .data.stack, "aw", @progbits
	.balign 16
stack:
	.fill	16384, 1, 0
stack_top:

	.section .note.GNU-stack, "", @progbits
