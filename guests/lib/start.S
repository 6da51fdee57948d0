/* start.S - guest entry point. kestrel starts every vCPU here in 64-bit mode with
 * RSP = top of its own 16-byte aligned stack, RDI = cpu index, RSI = boot info. */

	.section .text.entry, "ax", @progbits
	.globl _start
	.type _start, @function
_start:
	xorl	%ebp, %ebp		/* end of the frame chain for debuggers */
	/* RDI and RSI are passed through untouched as guest_start's arguments.
	 * RSP is 16-byte aligned here, so the call leaves it as the ABI wants. */
	call	guest_start
	/* guest_start does not return; if it ever does, stop this CPU. */
1:	cli
	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
