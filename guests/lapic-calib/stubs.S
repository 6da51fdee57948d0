/* stubs.S - lapic-calib's interrupt entry points: exception reporters, the LAPIC timer and spurious vectors. */

/*
 * Every gate is a 64-bit interrupt gate on kestrel's code selector, taken at
 * CPL0 with no stack switch: the CPU aligns RSP down to 16 and pushes SS,
 * RSP, RFLAGS, CS, RIP (40 bytes), plus an error code for some exceptions.
 */

/* Exceptions are fatal here: push a dummy error code where the CPU does not,
 * push the vector, and let C report it and end the VM. */
	.macro EXC vec
	.align 16
lapic_calib_exc_\vec:
	.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$\vec
	jmp	lapic_calib_exc_common
	.endm

	.text
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXC \v
	.endr

lapic_calib_exc_common:
	movq	(%rsp), %rdi		/* vector */
	movq	8(%rsp), %rsi		/* error code (0 if none) */
	movq	16(%rsp), %rdx		/* RIP of the faulting instruction */
	andq	$-16, %rsp
	cld
	call	lapic_calib_exception	/* does not return */
1:	cli
	hlt
	jmp	1b

/* The LAPIC timer: save the registers the C ABI lets a callee clobber,
 * call the C handler (it counts the tick and writes EOI), return with iretq.
 * After the 40-byte frame RSP is 8 mod 16; nine pushes make it 0 mod 16,
 * so the call leaves the callee's stack aligned as the ABI wants. */
	.globl	lapic_calib_timer_entry
	.type	lapic_calib_timer_entry, @function
	.align 16
lapic_calib_timer_entry:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	cld
	call	lapic_calib_timer_isr
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	iretq
	.size	lapic_calib_timer_entry, . - lapic_calib_timer_entry

/* Spurious interrupts need no EOI (SDM 10.9): count it and return. */
	.globl	lapic_calib_spurious_entry
	.type	lapic_calib_spurious_entry, @function
	.align 16
lapic_calib_spurious_entry:
	lock incl lapic_calib_spurious(%rip)
	iretq
	.size	lapic_calib_spurious_entry, . - lapic_calib_spurious_entry

/* Addresses of the 32 exception stubs, for the C code that fills the IDT. */
	.section .rodata
	.globl	lapic_calib_exc_stubs
	.align 8
lapic_calib_exc_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad	lapic_calib_exc_\v
	.endr

	.section .note.GNU-stack, "", @progbits
