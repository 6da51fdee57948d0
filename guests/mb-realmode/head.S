/* head.S - mb-realmode: a multiboot kernel at 0x8000 that drops to real mode, prints from there and comes back. */

/*
 * It shows that low memory is the guest's: the image lives at 0x8000, the
 * stack just below it, and a round trip through real mode works. The path
 * is the classic one (SDM vol. 3 section 9.9.2): protected mode -> a 16-bit
 * protected-mode code segment (so the next instructions decode as 16-bit)
 * with 64 KiB data segments -> CR0.PE = 0 -> a far jump that loads a
 * real-mode CS -> real mode, where a byte written through segment 0x0800
 * must show up at linear 0x8000 + offset -> CR0.PE = 1 -> back to 32 bits.
 *
 * Output, on the 16550 at 0x3f8 (polled): one line from protected mode,
 * one from real mode, then "MB-REALMODE PASS" (or "MB-REALMODE FAIL
 * <why>"); then 0 (pass) or 1 (fail) to isa-debug-exit at 0xf4: status 1
 * or 3 under QEMU's (v << 1) | 1. No interrupts, no BIOS calls: the real-
 * mode IVT is not ours to trust.
 *
 * The image is flat (objcopy -O binary) and the header uses the a.out
 * kludge (flag bit 16): the loader takes the addresses from it.
 */

#define MB_HEADER_MAGIC 0x1BADB002
#define MB_BOOT_MAGIC 0x2BADB002
#define MB_HF_AOUT_KLUDGE (1 << 16)
#define MB_FLAGS MB_HF_AOUT_KLUDGE

#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define SEL_CODE16 0x18
#define SEL_DATA16 0x20

#define COM1 0x3f8
#define COM1_LSR (COM1 + 5)
#define LSR_THRE 0x20
#define THRE_POLLS 100000
#define DEBUG_EXIT 0xf4
#define STACK_TOP 0x8000	/* grows down from the image's first byte */
#define REAL_SEG 0x0800		/* segment 0x0800 starts at linear 0x8000 */

	.section .multiboot, "a"
	.balign 4
	.globl mb_header
mb_header:
	.long	MB_HEADER_MAGIC
	.long	MB_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_FLAGS)
	.long	mb_header		/* header_addr */
	.long	_load_start		/* load_addr: the file's first byte */
	.long	_load_end		/* load_end_addr */
	.long	_bss_end		/* bss_end_addr */
	.long	entry32			/* entry_addr */

	.section .text32, "ax", @progbits
	.code32
	.globl entry32
entry32:
	cli
	cld
	movl	%eax, %edi		/* the boot magic, checked once we can print */
	lgdt	gdt_ptr
	ljmp	$SEL_CODE32, $1f
1:	movl	$SEL_DATA32, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$STACK_TOP, %esp
	cmpl	$MB_BOOT_MAGIC, %edi
	jne	bad_magic
	movl	$msg_pm, %esi
	call	puts32
	ljmp	$SEL_CODE16, $pm16

back32:
	movl	$SEL_DATA32, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$STACK_TOP, %esp
	movl	$msg_back, %esi
	call	puts32
	movl	$msg_pass, %esi
	call	puts32
	xorl	%eax, %eax
	outb	%al, $DEBUG_EXIT
	jmp	still_running

bad_magic:
	movl	$msg_bad_magic, %esi
	call	puts32
	movb	$1, %al
	outb	%al, $DEBUG_EXIT
still_running:
	movl	$msg_running, %esi
	call	puts32
2:	cli
	hlt
	jmp	2b

/* puts32 - write the NUL-terminated string at ESI to COM1, polling LSR.THRE (bounded). */
puts32:
	lodsb
	testb	%al, %al
	jz	4f
	movb	%al, %ah
	movl	$THRE_POLLS, %ecx
	movw	$COM1_LSR, %dx
3:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jnz	5f
	pause
	loop	3b
5:	movb	%ah, %al
	movw	$COM1, %dx
	outb	%al, %dx
	jmp	puts32
4:	ret

	.section .text16, "ax", @progbits
	.code16
/* 16-bit protected mode: CS is a 16-bit segment; load 64 KiB data segments, then leave PE. */
pm16:
	movw	$SEL_DATA16, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	lidt	rm_idt_ptr		/* the real-mode IVT at 0 (no interrupt is taken) */
	movl	%cr0, %eax
	andl	$~1, %eax		/* PE off */
	movl	%eax, %cr0
	ljmp	$0, $rm

rm:
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %ss
	movw	$STACK_TOP, %sp
	/* Real mode for sure: CR0.PE reads 0 ... */
	smsw	%ax
	testb	$1, %al
	jnz	rm_fail_pe
	/* ... and a segment is its selector times 16: 0x0800:off is linear 0x8000 + off. */
	movw	$REAL_SEG, %ax
	movw	%ax, %es
	movb	$0x5a, %es:(scratch - REAL_SEG * 16)
	cmpb	$0x5a, scratch
	jne	rm_fail_seg
	movw	$REAL_SEG - 1, %ax	/* 0x07ff:off + 16 is the same byte */
	movw	%ax, %es
	movb	$0xa5, %es:(scratch - REAL_SEG * 16 + 16)
	cmpb	$0xa5, scratch
	jne	rm_fail_seg
	movw	$msg_rm, %si
	call	puts16

	/* Back: PE on, and a far jump with a 32-bit offset into the 32-bit code segment. */
	lgdtl	gdt_ptr
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $back32

rm_fail_pe:
	movw	$msg_fail_pe, %si
	jmp	rm_fail
rm_fail_seg:
	movw	$msg_fail_seg, %si
rm_fail:
	xorw	%ax, %ax
	movw	%ax, %ds
	call	puts16
	movb	$1, %al
	outb	%al, $DEBUG_EXIT
6:	cli
	hlt
	jmp	6b

/* puts16 - the same as puts32, for DS:SI in real mode. */
puts16:
	lodsb
	testb	%al, %al
	jz	8f
	movb	%al, %ah
	movl	$THRE_POLLS, %ecx
	movw	$COM1_LSR, %dx
7:	inb	%dx, %al
	testb	$LSR_THRE, %al
	jnz	9f
	pause
	loopl	7b
9:	movb	%ah, %al
	movw	$COM1, %dx
	outb	%al, %dx
	jmp	puts16
8:	ret

	.data
	.balign 8
	/* Accessed bits preset: loading a selector never writes the GDT. */
gdt:
	.quad	0
	.quad	0x00cf9b000000ffff	/* SEL_CODE32: flat 4 GiB, 32-bit */
	.quad	0x00cf93000000ffff	/* SEL_DATA32: flat 4 GiB */
	.quad	0x00009b000000ffff	/* SEL_CODE16: base 0, 64 KiB, 16-bit */
	.quad	0x000093000000ffff	/* SEL_DATA16: base 0, 64 KiB (real-mode limits) */
gdt_end:
	.balign 4
gdt_ptr:
	.word	gdt_end - gdt - 1
	.long	gdt
	.balign 4
rm_idt_ptr:
	.word	0x3ff
	.long	0
scratch:
	.byte	0

msg_pm:
	.asciz	"mb-realmode: in 32-bit protected mode at 0x8000, dropping to real mode\n"
msg_rm:
	.asciz	"mb-realmode: hello from real mode (CR0.PE=0, segment 0x0800 is linear 0x8000)\n"
msg_back:
	.asciz	"mb-realmode: back in 32-bit protected mode\n"
msg_pass:
	.asciz	"MB-REALMODE PASS\n"
msg_bad_magic:
	.asciz	"MB-REALMODE FAIL EAX at entry is not 0x2BADB002: not started by a multiboot loader\n"
msg_fail_pe:
	.asciz	"MB-REALMODE FAIL CR0.PE still set after clearing it\n"
msg_fail_seg:
	.asciz	"MB-REALMODE FAIL real-mode segment arithmetic: 0x0800:off is not linear 0x8000+off\n"
msg_running:
	.asciz	"mb-realmode: still running after the write to port 0xf4 (no isa-debug-exit?); halting\n"

	.section .note.GNU-stack, "", @progbits
