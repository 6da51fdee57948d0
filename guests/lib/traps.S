/* traps.S - the IDT's 256 entry stubs and their common path into trap_dispatch (trap.h). */

/*
 * A gate is taken at CPL0 with no stack switch: the CPU aligns RSP down to
 * 16 and pushes SS, RSP, RFLAGS, CS, RIP (40 bytes), then an error code for
 * the exceptions listed below. Each stub evens that out with a dummy 0 and
 * pushes its vector, so the common path always sees the same frame.
 * 40 + 8 + 8 + 9 * 8 = 128 bytes: RSP is 16-aligned again at the call, as
 * the C ABI wants.
 */

	.macro STUB vec
	.align 16
trap_stub_\vec:
	.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
	.endm

	.text
	.altmacro
	.set	v, 0
	.rept	256
	STUB	%v
	.set	v, v + 1
	.endr

trap_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	%rsp, %rdi		/* struct trap_frame * */
	cld
	call	trap_dispatch
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp		/* vector and error code */
	iretq

/* The stubs' addresses, for trap_init. */
	.macro STUB_ADDR vec
	.quad	trap_stub_\vec
	.endm

	.section .rodata
	.globl	trap_stubs
	.align 8
trap_stubs:
	.set	v, 0
	.rept	256
	STUB_ADDR %v
	.set	v, v + 1
	.endr

	.section .note.GNU-stack, "", @progbits
