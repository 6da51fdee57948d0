/* pvh-exit.S - cold-start guest for QEMU microvm (PVH) and kestrel: one `out` to isa-debug-exit.
 *
 * QEMU microvm boots an ELF through PVH: it looks for a "Xen" ELF note of
 * type XEN_ELFNOTE_PHYS32_ENTRY (18) in a PT_NOTE segment and enters the
 * 32-bit physical address it holds in flat 32-bit protected mode, paging off
 * (Linux's Documentation/arch/x86/boot.rst and Xen's
 * include/public/arch-x86/hvm/start_info.h describe the entry state). kestrel
 * ignores the note and enters e_entry in 64-bit long mode.
 *
 * Both point at the same four bytes, which decode identically in 32-bit and
 * 64-bit mode:
 *     b0 10    mov $0x10, %al
 *     e6 f4    out %al, $0xf4      isa-debug-exit: status (0x10 << 1) | 1 = 33
 * followed by a hlt loop that neither VMM should ever reach. Under QEMU the
 * port must exist: -device isa-debug-exit,iobase=0xf4,iosize=4. kestrel has
 * the device built in. Either way the process ends with status 33; QEMU
 * exits with 1 on its own errors, so a 33 proves the guest ran.
 *
 * Build (bench/coldstart.sh does it):
 *     gcc -nostdlib -static -no-pie -Wl,-Ttext-segment=0x100000 \
 *         -Wl,--build-id=none -o pvh-exit.elf bench/pvh-exit.S
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.Xen, "a", @note
	.balign 4
	.long	2f - 1f			/* namesz */
	.long	4f - 3f			/* descsz */
	.long	XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz	"Xen"
2:	.balign 4
3:	.long	_start			/* 32-bit physical entry */
4:	.balign 4

	.text
	.code32				/* the bytes below mean the same in .code64 */
	.globl	_start
	.type	_start, @function
_start:
	movb	$0x10, %al
	outb	%al, $0xf4
1:	hlt
	jmp	1b
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
