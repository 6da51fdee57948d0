/* rawkvm-min.c - the raw-KVM cold-start floor (one VM, slot, vCPU, `out`), plus kestrel's objects.
 */

/*
 * One VM, one memory slot at guest-physical 0, one vCPU. The guest is two
 * instructions at 0x1000, `out %al, $0x10; hlt`; the program stops at the
 * first exit, which must be that `out` (KVM_EXIT_IO, port 0x10), and exits 0
 * without printing anything (-H, below, runs a guest that prints instead).
 * By default the vCPU runs the guest in 64-bit long mode with a 2 MiB
 * identity page like kestrel's guests (page tables built here, segment state
 * set with KVM_SET_SREGS; no GDT needed, KVM takes the hidden segment state
 * as given); -r runs the same bytes in 16-bit real mode.
 *
 * Switches that add what kestrel asks KVM for (bench/coldstart.sh uses -t -i
 * -p -C -E -c, the set kestrel creates for every guest as of issue 16), in
 * kestrel's order: memory slot, TSS, irqchip, PIT, vCPU, CPUID, coalesced
 * PIO, ioeventfd:
 *   -t      KVM_SET_TSS_ADDR + KVM_SET_IDENTITY_MAP_ADDR (VMX needs them for
 *           real mode without unrestricted guest; a no-op on AMD)
 *   -i      KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and LAPIC
 *   -S      KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP, 24 pins): in-kernel LAPIC
 *           only (exclusive with -i)
 *   -p      KVM_CREATE_PIT2 (KVM wants -i first)
 *   -c      KVM_GET_SUPPORTED_CPUID (one call with room for 256 entries,
 *           grown on E2BIG) + KVM_SET_CPUID2 on the vCPU
 *   -C      one coalesced PIO zone: 1 byte at 0x3f8 (kestrel's UART THR)
 *   -E      one PIO ioeventfd: port 0x59 any length (kestrel's doorbell)
 *   -D      after the exit, before the close()s: deassign the ioeventfd
 *           (KVM_IOEVENTFD_FLAG_DEASSIGN) and unregister the coalesced zone
 *           (KVM_UNREGISTER_COALESCED_MMIO), as kestrel does at teardown
 * Other options:
 *   -H N    instead of the one `out`, hello's port work (guests/hello: N bytes
 *           on the UART, one PUTS, the exit; N from 1 to 65536, see below)
 *   -r      16-bit real mode instead of long mode
 *   -M MiB  guest RAM (default 2; mapped MAP_NORESERVE, only touched pages
 *           are allocated)
 *   -T      tear down explicitly and print one line on stdout:
 *           exit_ns=N (CLOCK_MONOTONIC when KVM_RUN returned with the exit;
 *           the spawner subtracts it from its own end time to get "guest
 *           exit to process exit") vcpu_us= vm_us= rest_us= (time spent in
 *           munmap+close of the vCPU, close of the VM fd, where
 *           kvm_destroy_vm runs, and the rest) undo_us= (-D's ioctls)
 *           out_us= (-H: the write(2) of the guest's bytes, made before;
 *           0 without -H)
 * Without -T, main returns and the kernel closes everything in exit(): the
 * same teardown work, in the process's exit.
 *
 * -H N: the floor for kestrel's `hello` guest, which (guests/lib/serial.c,
 * printf.c) prints 75 bytes on the UART, each one LSR read (0x3fd, until THRE)
 * then one THR write (0x3f8), makes one PUTS hypercall and exits: 152 port
 * exits. Here the guest (long mode only; code in rkm_hello below, the N bytes
 * a NUL-terminated text at 0x10000 that this program writes, RDI = its
 * address, RSP = 0x10000) takes the same path per byte as hello's compiled
 * printf (format loop, indirect call through a sink, put_serial, serial_putc
 * with the same LSR poll and its 100000-poll give-up), 24 instructions a
 * byte; then a PUTS-like `out %al, $0x11` (RDI = address, RSI = length, at
 * most 4096; RAX <- bytes taken or -EINVAL, the guest checks it as hello
 * does); then `out %al, $0x10` with AL = 0, or 1 if the PUTS result was
 * wrong: 2N+2 port exits, 152 for N = 75. What hello has and this guest has
 * not: printf's four conversions and hello's boot-info and command-line code.
 * On a host whose KVM emulates guest CPL0 code, perf's kvm:kvm_emulate_insn
 * counted 1877 instructions for -H 75 (900 in serial_putc, 150 in put_serial,
 * 771 in format, as hello) against hello's 2434 (format 1031, emit_num 219).
 * This program does what a VMM must for that guest and no more: LSR reads
 * answered 0x60 (THRE and TEMT), THR and PUTS bytes kept in a buffer and
 * written to stdout in one write(2) once the guest ends (before -T's line),
 * registers for the PUTS exit through the kvm_run page (KVM_CAP_SYNC_REGS, as
 * kestrel does). Any other exit, or an exit status other than 0, is status 3.
 * -H excludes -r and -C (the coalesced zone would take the THR bytes).
 *
 * Exit status: 0 the guest made its `out` (-H: its final `out` with AL 0); 1
 * a KVM call failed (one line on stderr names it); 2 bad usage; 3 the first
 * exit was something else (-H: an exit the guest should not make, or AL not 0).
 *
 * Build: cc -O2 -o rawkvm-min bench/rawkvm-min.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_CODE 0x1000u
#define GUEST_PML4 0x2000u
#define GUEST_PDPT 0x3000u
#define GUEST_PD 0x4000u
#define GUEST_PORT 0x10u
#define TSS_ADDR 0xfffbd000u /* three pages below the identity-map page */
#define IDMAP_ADDR 0xfffbc000u
#define UART_THR 0x3f8u
#define UART_LSR 0x3fdu
#define LSR_THRE_TEMT 0x60u /* transmitter empty: what an idle 16550 reads */
#define DOORBELL 0x59u
#define HELLO_PUTS_PORT 0x11u
#define HELLO_PUTS_MAX 4096u /* as KESTREL_PUTS_MAX */
#define HELLO_TEXT 0x10000u  /* -H's N bytes and their NUL; also the stack top */
#define HELLO_MAX 65536u
#define HELLO_EINVAL ((uint64_t)-22)

#define PTE_P 0x1u
#define PTE_W 0x2u
#define PTE_PS 0x80u
#define CR0_PE 0x1u
#define CR0_ET 0x10u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define EFER_LME 0x100u
#define EFER_LMA 0x400u

struct opts {
	bool tss, irqchip, split, pit, cpuid, coalesce, ioeventfd, deassign, real_mode, timed;
	size_t mem;
	unsigned hello; /* -H: bytes to print, 0 for the one-`out` guest */
};

static int fail(const char *what)
{
	fprintf(stderr, "rawkvm-min: %s: %s\n", what, strerror(errno));
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int usage(const char *why)
{
	fprintf(stderr,
		"rawkvm-min: %s\n"
		"usage: rawkvm-min [-t] [-i | -S] [-p] [-c] [-C] [-E] [-D] [-H N] [-r] [-M MiB]\n"
		"                  [-T]\n"
		"  -t TSS+identity map  -i irqchip  -S split irqchip  -p PIT2 (needs -i)\n"
		"  -c supported CPUID -> SET_CPUID2  -C coalesced PIO zone  -E PIO ioeventfd\n"
		"  -D undo -C/-E before the close()s\n"
		"  -H N hello's port work: N bytes (1-65536) on the UART, one PUTS, exit\n"
		"  -r real mode  -M guest RAM in MiB (default 2)  -T timed teardown line\n",
		why);
	return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = 2u << 20;
	opterr = 0; /* usage() says it once */
	while ((c = getopt(argc, argv, ":tiSpcCEDH:rM:Th")) != -1) {
		switch (c) {
		case 't':
			o->tss = true;
			break;
		case 'i':
			o->irqchip = true;
			break;
		case 'S':
			o->split = true;
			break;
		case 'p':
			o->pit = true;
			break;
		case 'c':
			o->cpuid = true;
			break;
		case 'C':
			o->coalesce = true;
			break;
		case 'E':
			o->ioeventfd = true;
			break;
		case 'D':
			o->deassign = true;
			break;
		case 'r':
			o->real_mode = true;
			break;
		case 'T':
			o->timed = true;
			break;
		case 'H': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v < 1 ||
			    v > HELLO_MAX)
				return usage("-H takes a number of bytes from 1 to 65536");
			o->hello = (unsigned)v;
			break;
		}
		case 'M': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			/* At least the 2 MiB the long-mode page covers; at most 64 GiB. */
			if (errno || *end || end == optarg || v < 2 || v > 65536)
				return usage("-M takes a number of MiB from 2 to 65536");
			o->mem = (size_t)v << 20;
			break;
		}
		case ':':
			return usage(optopt == 'H' ? "-H takes a number of bytes from 1 to 65536"
						   : "-M takes a number of MiB from 2 to 65536");
		default:
			return usage("unknown option");
		}
	}
	if (optind != argc)
		return usage("no arguments besides options");
	if (o->irqchip && o->split)
		return usage("-i and -S are two kinds of irqchip: give one");
	if (o->hello && o->real_mode)
		return usage("-H runs its guest in long mode: no -r");
	if (o->hello && o->coalesce)
		return usage("-H and -C: the coalesced zone would take the THR bytes; give one");
	return 0;
}

/* KVM's supported CPUID table, handed to the vCPU as is. */
static int set_cpuid(int kvm, int vcpu)
{
	for (uint32_t n = 256; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
		int r;

		if (!t)
			return fail("calloc");
		t->nent = n;
		r = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, t);
		if (r == 0) {
			r = ioctl(vcpu, KVM_SET_CPUID2, t);
			free(t);
			return r < 0 ? fail("KVM_SET_CPUID2") : 0;
		}
		free(t);
		if (errno != E2BIG)
			return fail("KVM_GET_SUPPORTED_CPUID");
	}
	errno = E2BIG;
	return fail("KVM_GET_SUPPORTED_CPUID");
}

/*
 * -H's guest, assembled here into the host's .rodata and copied to
 * GUEST_CODE: position-independent (RIP-relative), its data (the sink's
 * function pointer is computed, the give-up flag is the last byte) inside the
 * copy. The per-byte path, rkm_format -> rkm_put_serial -> rkm_serial_putc,
 * is instruction for instruction the one hello's printf of a literal byte
 * takes (guests/lib/printf.c's format() as GCC -O2 compiles it, put_serial,
 * serial.c's serial_putc), so each byte costs the emulator the same work.
 * In: RDI = the NUL-terminated text, RSP = a stack.
 */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"rkm_hello_begin:\n"
	/* _start and guest_start: call main, pass its result to the final out */
	"	xor %ebp, %ebp\n"
	"	push %rbx\n"
	"	call rkm_hello_main\n"
	"	mov %eax, %edi\n"
	"	movzbl %dil, %edi\n"
	"	mov %edi, %eax\n"
	"	out %al, $0x10\n"
	"1:	cli\n"
	"	hlt\n"
	"	jmp 1b\n"
	/* main: printf(text); puts(line) must return its length */
	"rkm_hello_main:\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	sub $0x18, %rsp\n"
	"	call rkm_printf\n"
	"	lea rkm_puts_line(%rip), %rdi\n"
	"	mov $(rkm_puts_end - rkm_puts_line), %esi\n"
	"	call rkm_puts\n"
	"	cmp $(rkm_puts_end - rkm_puts_line), %rax\n"
	"	mov $1, %eax\n"
	"	jne 1f\n"
	"	xor %eax, %eax\n"
	"1:	add $0x18, %rsp\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	ret\n"
	/* printf(RDI = text): a sink {put, buf, size, pos, count} on the stack */
	"rkm_printf:\n"
	"	sub $0x38, %rsp\n"
	"	mov %rdi, %rsi\n"
	"	lea 0x8(%rsp), %rdi\n"
	"	lea rkm_put_serial(%rip), %rax\n"
	"	mov %rax, (%rdi)\n"
	"	movq $0, 0x8(%rdi)\n"
	"	movq $0, 0x10(%rdi)\n"
	"	movq $0, 0x18(%rdi)\n"
	"	movq $0, 0x20(%rdi)\n"
	"	call rkm_format\n"
	"	mov 0x28(%rsp), %eax\n"
	"	add $0x38, %rsp\n"
	"	ret\n"
	/* format(RDI = sink, RSI = text): each byte through sink->put, count++ */
	"rkm_format:\n"
	"	push %r15\n"
	"	push %r14\n"
	"	push %r13\n"
	"	push %r12\n"
	"	push %rbp\n"
	"	push %rbx\n"
	"	mov %rsi, %rbx\n"
	"	sub $0x18, %rsp\n"
	"	movsbl (%rsi), %esi\n"
	"	test %sil, %sil\n"
	"	je 3f\n"
	"	mov %rdi, %r13\n"
	"	jmp 2f\n"
	"1:	mov %r13, %rdi\n"
	"	mov %rbx, %r12\n"
	"	call *(%r13)\n"
	"	addq $1, 0x20(%r13)\n"
	"	movsbl 1(%r12), %esi\n"
	"	lea 1(%r12), %rbx\n"
	"	test %sil, %sil\n"
	"	je 3f\n"
	"2:	cmp $0x25, %sil\n" /* '%': the text has none, so never taken */
	"	jne 1b\n"
	"	jmp 1b\n"
	"3:	add $0x18, %rsp\n"
	"	pop %rbx\n"
	"	pop %rbp\n"
	"	pop %r12\n"
	"	pop %r13\n"
	"	pop %r14\n"
	"	pop %r15\n"
	"	ret\n"
	"rkm_put_serial:\n"
	"	movsbl %sil, %edi\n"
	"	jmp rkm_serial_putc\n"
	/* serial_putc(DIL): poll LSR for THRE (give up for good after 99999
	 * polls more), then write THR */
	"rkm_serial_putc:\n"
	"	movzbl rkm_lsr_broken(%rip), %eax\n"
	"	test %al, %al\n"
	"	jne 1f\n"
	"	mov $0x3fd, %edx\n"
	"	in (%dx), %al\n"
	"	mov $99999, %ecx\n"
	"	test $0x20, %al\n"
	"	je 3f\n"
	"1:	mov $0x3f8, %edx\n"
	"	mov %edi, %eax\n"
	"	out %al, (%dx)\n"
	"	ret\n"
	"2:	sub $1, %ecx\n"
	"	je 4f\n"
	"3:	pause\n"
	"	in (%dx), %al\n"
	"	test $0x20, %al\n"
	"	je 2b\n"
	"	jmp 1b\n"
	"4:	movb $1, rkm_lsr_broken(%rip)\n"
	"	jmp 1b\n"
	/* puts(RDI = buffer, RSI = length): chunks of at most 4096 bytes, each
	 * one `out %al, $0x11`; RAX: bytes taken, or -errno */
	"rkm_puts:\n"
	"	mov %rdi, %r8\n"
	"	mov %rsi, %rcx\n"
	"	xor %edx, %edx\n"
	"	test %rsi, %rsi\n"
	"	je 3f\n"
	"1:	mov %rcx, %rsi\n"
	"	sub %rdx, %rsi\n"
	"	mov $4096, %eax\n"
	"	cmp %rax, %rsi\n"
	"	cmova %rax, %rsi\n"
	"	lea (%r8,%rdx), %rdi\n"
	"	out %al, $0x11\n"
	"	cmp $-4096, %rax\n"
	"	ja 4f\n" /* -errno: return it */
	"	cmp %rsi, %rax\n"
	"	jne 2f\n"
	"	add %rax, %rdx\n"
	"	cmp %rcx, %rdx\n"
	"	jb 1b\n"
	"	mov %rdx, %rax\n"
	"	ret\n"
	"2:	add %rdx, %rax\n" /* short: done + taken */
	"	ret\n"
	"3:	xor %eax, %eax\n"
	"4:	ret\n"
	"rkm_puts_line:\n"
	"	.ascii \"rawkvm-min -H: the PUTS out\\n\"\n"
	"rkm_puts_end:\n"
	"rkm_lsr_broken:\n"
	"	.byte 0\n"
	"rkm_hello_end:\n"
	".popsection\n");
extern const uint8_t rkm_hello_begin[], rkm_hello_end[];

/* -H's text: N bytes of a repeated sentence, the last a newline, then a NUL. */
static void hello_text(uint8_t *dst, unsigned n)
{
	static const char line[] = "raw-KVM guest doing hello's port work: LSR until THRE, THR. ";

	for (unsigned i = 0; i < n; i++)
		dst[i] = (uint8_t)line[i % (sizeof(line) - 1)];
	dst[n - 1] = '\n';
	dst[n] = 0;
}

/* What -H's guest wrote: THR bytes and PUTS buffers, in order. */
struct outbuf {
	uint8_t *b;
	size_t len, cap;
};

static bool outbuf_add(struct outbuf *ob, const uint8_t *p, size_t n)
{
	if (n > ob->cap - ob->len)
		return false;
	memcpy(ob->b + ob->len, p, n);
	ob->len += n;
	return true;
}

/* PUTS-like call: RDI = guest address, RSI = length; RAX <- length or -EINVAL. */
static void hello_puts(struct kvm_run *run, const uint8_t *ram, size_t mem, struct outbuf *ob)
{
	struct kvm_regs *r = &run->s.regs.regs;
	bool ok = r->rsi <= HELLO_PUTS_MAX && r->rdi <= mem && r->rsi <= mem - r->rdi &&
		  outbuf_add(ob, ram + r->rdi, r->rsi);

	r->rax = ok ? r->rsi : HELLO_EINVAL;
	run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
}

/*
 * -H's run loop: LSR reads, THR writes and the PUTS until the final `out`.
 * Returns 0 (guest status 0), 1 (KVM_RUN failed) or 3 (another exit, a full
 * buffer or a guest status other than 0); *t_exit: when the final exit came.
 */
static int hello_run(int vcpu, struct kvm_run *run, const uint8_t *ram, size_t mem,
		     struct outbuf *ob, uint64_t *t_exit)
{
	for (;;) {
		uint8_t *data;
		size_t n;
		int r;

		while ((r = ioctl(vcpu, KVM_RUN, 0)) < 0 && errno == EINTR)
			;
		if (r < 0)
			return fail("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO)
			break;
		data = (uint8_t *)run + run->io.data_offset;
		n = (size_t)run->io.size * run->io.count;
		if (run->io.port == UART_LSR && run->io.direction == KVM_EXIT_IO_IN) {
			memset(data, LSR_THRE_TEMT, n);
		} else if (run->io.port == UART_THR && run->io.direction == KVM_EXIT_IO_OUT) {
			if (!outbuf_add(ob, data, n))
				break;
		} else if (run->io.port == HELLO_PUTS_PORT &&
			   run->io.direction == KVM_EXIT_IO_OUT) {
			hello_puts(run, ram, mem, ob);
		} else if (run->io.port == GUEST_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
			*t_exit = now_ns();
			if (data[0] == 0)
				return 0;
			fprintf(stderr, "rawkvm-min: -H guest ended with status %u\n", data[0]);
			return 3;
		} else {
			break;
		}
	}
	fprintf(stderr,
		"rawkvm-min: -H guest made an exit it should not: reason %u (port 0x%x), %zu bytes "
		"kept\n",
		run->exit_reason, run->exit_reason == KVM_EXIT_IO ? run->io.port : 0, ob->len);
	return 3;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail("write stdout");
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Guest code, page tables (long mode) and the vCPU's start state. */
static int setup_guest(int vcpu, uint8_t *ram, const struct opts *o)
{
	static const uint8_t code[] = {0xe6, GUEST_PORT, 0xf4}; /* out %al, $0x10; hlt */
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = GUEST_CODE, .rflags = 0x2};

	if (o->hello) {
		/* Code below the page tables; text and stack below 2 MiB. */
		_Static_assert(GUEST_CODE + 0x1000 <= GUEST_PML4, "room for -H's code");
		_Static_assert(HELLO_TEXT + HELLO_MAX + 1 <= 2u << 20, "room for -H's text");
		if (rkm_hello_end - rkm_hello_begin > 0x1000) {
			errno = E2BIG;
			return fail("-H guest code");
		}
		memcpy(ram + GUEST_CODE, rkm_hello_begin,
		       (size_t)(rkm_hello_end - rkm_hello_begin));
		hello_text(ram + HELLO_TEXT, o->hello);
		r.rdi = HELLO_TEXT;
		r.rsp = HELLO_TEXT;
	} else {
		memcpy(ram + GUEST_CODE, code, sizeof(code));
	}
	if (ioctl(vcpu, KVM_GET_SREGS, &s) < 0)
		return fail("KVM_GET_SREGS");
	if (o->real_mode) {
		/* Reset state but CS = 0: the code is at 0:0x1000. */
		s.cs.base = 0;
		s.cs.selector = 0;
	} else {
		uint64_t *pml4 = (uint64_t *)(ram + GUEST_PML4);
		uint64_t *pdpt = (uint64_t *)(ram + GUEST_PDPT);
		uint64_t *pd = (uint64_t *)(ram + GUEST_PD);
		struct kvm_segment cs = {
		    .limit = 0xffffffffu,
		    .selector = 0x8,
		    .type = 0xb, /* code, read, accessed */
		    .present = 1,
		    .s = 1,
		    .l = 1,
		    .g = 1,
		};
		struct kvm_segment ds = {
		    .limit = 0xffffffffu,
		    .selector = 0x10,
		    .type = 0x3, /* data, write, accessed */
		    .present = 1,
		    .s = 1,
		    .db = 1,
		    .g = 1,
		};

		pml4[0] = GUEST_PDPT | PTE_P | PTE_W;
		pdpt[0] = GUEST_PD | PTE_P | PTE_W;
		pd[0] = 0 | PTE_P | PTE_W | PTE_PS; /* [0, 2 MiB) identity */
		s.cs = cs;
		s.ds = s.es = s.fs = s.gs = s.ss = ds;
		s.cr3 = GUEST_PML4;
		s.cr4 = CR4_PAE;
		s.cr0 = CR0_PE | CR0_ET | CR0_PG;
		s.efer = EFER_LME | EFER_LMA;
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &s) < 0)
		return fail("KVM_SET_SREGS");
	if (ioctl(vcpu, KVM_SET_REGS, &r) < 0)
		return fail("KVM_SET_REGS");
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct kvm_run *run;
	uint64_t t_exit = 0, t_out, t_undo, t_vcpu, t_vm, t_end;
	uint8_t *ram;
	struct kvm_coalesced_mmio_zone zone = {.addr = UART_THR, .size = 1, .pio = 1};
	struct kvm_ioeventfd io = {.addr = DOORBELL, .flags = KVM_IOEVENTFD_FLAG_PIO};
	struct outbuf ob = {0};
	int kvm, vm, vcpu, efd = -1, run_size, r;

	if ((r = parse(argc, argv, &o)) != 0)
		return r;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");

	ram = mmap(NULL, o.mem, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap guest RAM");
	struct kvm_userspace_memory_region slot = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = o.mem,
	    .userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");

	if (o.tss) {
		uint64_t idmap = IDMAP_ADDR;
		if (ioctl(vm, KVM_SET_TSS_ADDR, TSS_ADDR) < 0)
			return fail("KVM_SET_TSS_ADDR");
		if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			return fail("KVM_SET_IDENTITY_MAP_ADDR");
	}
	if (o.irqchip && ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	if (o.split) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			return fail("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");
	}
	if (o.pit) {
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
		if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
			return fail("KVM_CREATE_PIT2 (it needs -i)");
	}

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(*run))
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (o.cpuid && set_cpuid(kvm, vcpu) != 0)
		return 1;
	if (o.coalesce && ioctl(vm, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return fail("KVM_REGISTER_COALESCED_MMIO (PIO)");
	if (o.ioeventfd) {
		efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (efd < 0)
			return fail("eventfd");
		io.fd = efd;
		if (ioctl(vm, KVM_IOEVENTFD, &io) < 0)
			return fail("KVM_IOEVENTFD");
	}

	if (o.hello) {
		int sync = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);

		if (sync < 0 || !(sync & KVM_SYNC_X86_REGS)) {
			errno = sync < 0 ? errno : ENOTSUP;
			return fail("KVM_CAP_SYNC_REGS (-H's PUTS reads RDI, RSI from kvm_run)");
		}
		run->kvm_valid_regs = KVM_SYNC_X86_REGS;
		ob.cap = o.hello + HELLO_PUTS_MAX;
		ob.b = malloc(ob.cap);
		if (!ob.b)
			return fail("malloc");
	}

	if (setup_guest(vcpu, ram, &o) != 0)
		return 1;
	if (o.hello) {
		if ((r = hello_run(vcpu, run, ram, o.mem, &ob, &t_exit)) != 0)
			return r;
		if (write_all(STDOUT_FILENO, ob.b, ob.len) != 0)
			return 1;
		free(ob.b);
		goto done;
	}
	while ((r = ioctl(vcpu, KVM_RUN, 0)) < 0 && errno == EINTR)
		;
	t_exit = now_ns();
	if (r < 0)
		return fail("KVM_RUN");
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != GUEST_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT) {
		fprintf(stderr,
			"rawkvm-min: first exit was reason %u (port 0x%x), not the guest's out to "
			"0x%x\n",
			run->exit_reason, run->exit_reason == KVM_EXIT_IO ? run->io.port : 0,
			GUEST_PORT);
		return 3;
	}
done:
	t_out = o.hello ? now_ns() : t_exit;
	if (!o.timed)
		return 0; /* exit() closes the fds: kvm_destroy_vm runs there */

	if (o.deassign && o.ioeventfd) {
		io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
		if (ioctl(vm, KVM_IOEVENTFD, &io) < 0)
			return fail("KVM_IOEVENTFD (deassign)");
	}
	if (o.deassign && o.coalesce && ioctl(vm, KVM_UNREGISTER_COALESCED_MMIO, &zone) < 0)
		return fail("KVM_UNREGISTER_COALESCED_MMIO");
	t_undo = now_ns();
	munmap(run, (size_t)run_size);
	close(vcpu);
	t_vcpu = now_ns();
	close(vm); /* the last reference: the VM is destroyed here */
	t_vm = now_ns();
	if (efd >= 0)
		close(efd);
	munmap(ram, o.mem);
	close(kvm);
	t_end = now_ns();
	printf("exit_ns=%llu vcpu_us=%.1f vm_us=%.1f rest_us=%.1f undo_us=%.1f out_us=%.1f\n",
	       (unsigned long long)t_exit, (double)(t_vcpu - t_undo) / 1e3,
	       (double)(t_vm - t_vcpu) / 1e3, (double)(t_end - t_vm) / 1e3,
	       (double)(t_undo - t_out) / 1e3, (double)(t_out - t_exit) / 1e3);
	return 0;
}
