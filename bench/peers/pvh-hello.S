/* pvh-hello.S - one tiny guest for kestrel and QEMU alike: a line on the 16550 at 0x3f8, then isa-debug-exit. */

/*
 * kestrel enters at the ELF entry (_start) already in 64-bit long mode.
 * QEMU (-kernel with -M microvm or q35) enters at the PVH entry named by the
 * Xen ELF note, in 32-bit protected mode with paging off; that stub builds
 * long mode with the static page tables below and joins the same 64-bit code.
 * Both then do exactly the same I/O: one `out` per byte of the line and one
 * `out` to isa-debug-exit (port 0xf4, value 0: exit status 1 under both).
 * Only instructions KVM's emulator knows are used (see guests/check-insns.sh).
 */

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

	.section .note.Xen, "a"
	.p2align 2
	.long 4 /* name size: "Xen\0" */
	.long 4 /* descriptor size */
	.long 18 /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32

	.section .text32, "ax"
	.code32
	.globl pvh_start32
pvh_start32:
	movl $pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $0x20, %eax /* CR4.PAE */
	movl %eax, %cr4
	movl $0xc0000080, %ecx /* EFER */
	rdmsr
	orl $0x100, %eax /* EFER.LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax /* CR0.PG | CR0.PE */
	movl %eax, %cr0
	lgdt gdt_ptr
	ljmp $8, $start64

	.section .text, "ax"
	.code64
	.globl _start
_start:
start64:
	leaq msg(%rip), %rsi
	movl $msg_len, %ecx
	movw $COM1, %dx
1:	movb (%rsi), %al
	outb %al, %dx
	incq %rsi
	decl %ecx
	jnz 1b
	movw $DEBUG_EXIT, %dx
	xorl %eax, %eax
	outb %al, %dx
2:	hlt
	jmp 2b

	.section .rodata
msg:	.ascii "PEER-HELLO: hello from the same tiny guest\n"
	msg_len = . - msg

	.section .data
	.p2align 12
pml4:	.quad pdpt + 0x3 /* present, writable */
	.fill 511, 8, 0
pdpt:	.quad pd + 0x3
	.fill 511, 8, 0
pd:	/* identity map of the first GiB in 2 MiB pages */
	i = 0
	.rept 512
	.quad (i << 21) | 0x83 /* present, writable, 2 MiB */
	i = i + 1
	.endr
gdt:	.quad 0
	.quad 0x00af9a000000ffff /* 64-bit code, selector 8 */
	.quad 0x00cf92000000ffff /* data */
gdt_ptr:
	.word gdt_ptr - gdt - 1
	.long gdt
