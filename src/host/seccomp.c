/* seccomp.c - build and install the classic-BPF seccomp filter for vCPU threads (raw BPF, no
 * libseccomp). */
#include "host/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* seccomp_data offsets; arguments are 64-bit, little-endian: low word first. */
#define SC_NR offsetof(struct seccomp_data, nr)
#define SC_ARCH offsetof(struct seccomp_data, arch)
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define SC_ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)

#define SC_X32_BIT 0x40000000u /* __X32_SYSCALL_BIT */
#define SC_KILL SECCOMP_RET_KILL_PROCESS
#define SC_ALLOW SECCOMP_RET_ALLOW

/* Calls allowed whatever their arguments. */
static const unsigned seccomp_plain[] = {
    __NR_futex,
    __NR_getpid,
    __NR_gettid,
    __NR_rt_sigprocmask,
    __NR_rt_sigreturn,
    __NR_restart_syscall,
    __NR_clock_gettime,
    __NR_munmap,
    __NR_brk,
    __NR_sigaltstack,
    __NR_exit,
    __NR_exit_group,
    /* Spin-lock back-off: glibc does not need it, but sanitizer runtimes do
     * (an ASan build was killed on it when a vCPU exited while another ran). */
    __NR_sched_yield,
};

/* vCPU ioctls the run loop, the register cache and crash reports use. */
static const unsigned seccomp_ioctls[] = {
    KVM_RUN,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_GET_FPU,
    KVM_SET_FPU,
    KVM_GET_VCPU_EVENTS,
    KVM_SET_VCPU_EVENTS,
    KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS,
    KVM_GET_MSRS,
    KVM_SET_MSRS,
    KVM_TRANSLATE,
    KVM_GET_XCRS,
    KVM_SET_GUEST_DEBUG,
};

static int seccomp_install(struct sock_filter *prog, int n);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A tiny emitter: instructions go to prog[n++]; overflowing cap is noted, not written. */
struct bpf_out {
	struct sock_filter *prog;
	unsigned n, cap;
};

static unsigned emit(struct bpf_out *o, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (o->n < o->cap)
		o->prog[o->n] = (struct sock_filter){code, jt, jf, k};
	return o->n++;
}

static void ld(struct bpf_out *o, uint32_t off)
{
	emit(o, BPF_LD | BPF_W | BPF_ABS, 0, 0, off);
}

static void ret(struct bpf_out *o, uint32_t action)
{
	emit(o, BPF_RET | BPF_K, 0, 0, action);
}

/* "if A == k return ALLOW" */
static void allow_if(struct bpf_out *o, uint32_t k)
{
	emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, k);
	ret(o, SC_ALLOW);
}

/* "if A != k return KILL" */
static void kill_unless(struct bpf_out *o, uint32_t k)
{
	emit(o, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, k);
	ret(o, SC_KILL);
}

/*
 * A block that handles one or two syscall numbers and always returns:
 * block_begin() emits "if nr is not one of them, jump past the block",
 * block_end() patches that jump once the block's length is known. A is
 * still the syscall number on the path that skips.
 */
static unsigned block_begin(struct bpf_out *o, uint32_t nr1, uint32_t nr2)
{
	if (nr2 != nr1)
		emit(o, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, nr2);
	return emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, nr1);
}

static int block_end(struct bpf_out *o, unsigned at)
{
	unsigned len = o->n - at - 1;

	if (len > 255)
		return -E2BIG; /* classic BPF jumps are 8 bits */
	if (at < o->cap)
		o->prog[at].jf = (uint8_t)len;
	return 0;
}

/*
 * mmap, mprotect and madvise, for both filters: nothing executable (prot is a
 * full 64-bit argument), mmap only private and anonymous (no file, no shared
 * mapping: neither /dev/kvm's fds nor the image can be mapped again), madvise
 * only the advice allocators give (no MADV_HWPOISON, MADV_REMOVE, MADV_DONTFORK...).
 */
static int emit_memory_rules(struct bpf_out *o)
{
	static const uint32_t advice[] = {MADV_DONTNEED,   MADV_FREE,	  MADV_HUGEPAGE,
					  MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP};
	unsigned at;
	int r = 0;

	at = block_begin(o, __NR_mmap, __NR_mmap);
	ld(o, SC_ARG_HI(2));
	kill_unless(o, 0);
	ld(o, SC_ARG_LO(2));
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, PROT_EXEC);
	ret(o, SC_KILL);
	ld(o, SC_ARG_LO(3));
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, MAP_SHARED); /* MAP_SHARED_VALIDATE too */
	ret(o, SC_KILL);
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 1, 0, MAP_ANONYMOUS);
	ret(o, SC_KILL);
	ret(o, SC_ALLOW);
	r |= block_end(o, at);

	at = block_begin(o, __NR_mprotect, __NR_mprotect);
	ld(o, SC_ARG_HI(2));
	kill_unless(o, 0);
	ld(o, SC_ARG_LO(2));
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, PROT_EXEC);
	ret(o, SC_KILL);
	ret(o, SC_ALLOW);
	r |= block_end(o, at);

	at = block_begin(o, __NR_madvise, __NR_madvise);
	ld(o, SC_ARG_HI(2));
	kill_unless(o, 0);
	ld(o, SC_ARG_LO(2));
	for (unsigned i = 0; i < ARRAY_LEN(advice); i++)
		allow_if(o, advice[i]);
	ret(o, SC_KILL);
	r |= block_end(o, at);
	return r;
}

/* Every filter starts here: only the x86-64 ABI (the same number means
 * another call under i386, and x32 numbers are refused), then A = nr. */
static void abi_prologue(struct bpf_out *o)
{
	ld(o, SC_ARCH);
	kill_unless(o, AUDIT_ARCH_X86_64);
	ld(o, SC_NR);
	emit(o, BPF_JMP | BPF_JGE | BPF_K, 0, 1, SC_X32_BIT);
	ret(o, SC_KILL);
}

int seccomp_vcpu_filter(const struct seccomp_vcpu_ctx *c, struct sock_filter *prog, unsigned cap)
{
	struct bpf_out o = {prog, 0, cap};
	unsigned at;
	int r = 0;

	abi_prologue(&o);

	for (unsigned i = 0; i < ARRAY_LEN(seccomp_plain); i++)
		allow_if(&o, seccomp_plain[i]);

	/* ioctl(own vCPU fd, one of the listed requests), or ioctl(the VM fd,
	 * one of c->vm_ioctls): devices' interrupt lines, fast paths armed on
	 * first use. The kernel takes both as 32-bit values, so the low words
	 * are what it acts on. */
	at = block_begin(&o, __NR_ioctl, __NR_ioctl);
	ld(&o, SC_ARG_LO(0));
	if (c->vm_fd > 0) {
		unsigned nvm = 0, skip;
		for (unsigned i = 0; i < ARRAY_LEN(c->vm_ioctls); i++)
			nvm += c->vm_ioctls[i] != 0;
		/* if fd != vm_fd skip the VM block: ld, 2 per request, ret */
		skip = emit(&o, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)c->vm_fd);
		ld(&o, SC_ARG_LO(1));
		for (unsigned i = 0; i < ARRAY_LEN(c->vm_ioctls); i++)
			if (c->vm_ioctls[i])
				allow_if(&o, c->vm_ioctls[i]);
		ret(&o, SC_KILL);
		if (skip < o.cap)
			o.prog[skip].jf = (uint8_t)(2 + 2 * nvm);
	}
	kill_unless(&o, (uint32_t)c->vcpu_fd);
	ld(&o, SC_ARG_LO(1));
	for (unsigned i = 0; i < ARRAY_LEN(seccomp_ioctls); i++)
		allow_if(&o, seccomp_ioctls[i]);
	ret(&o, SC_KILL);
	r |= block_end(&o, at);

	/* write/writev(one of the known fds, ...) */
	at = block_begin(&o, __NR_write, __NR_writev);
	ld(&o, SC_ARG_LO(0));
	for (unsigned i = 0; i < ARRAY_LEN(c->write_fds); i++)
		if (c->write_fds[i] >= 0)
			allow_if(&o, (uint32_t)c->write_fds[i]);
	ret(&o, SC_KILL);
	r |= block_end(&o, at);

	/* tgkill(this process, any thread, the kick signal): vm_stop's pthread_kill. */
	at = block_begin(&o, __NR_tgkill, __NR_tgkill);
	ld(&o, SC_ARG_LO(0));
	kill_unless(&o, (uint32_t)c->pid);
	ld(&o, SC_ARG_LO(2));
	kill_unless(&o, (uint32_t)c->kick_signal);
	ret(&o, SC_ALLOW);
	r |= block_end(&o, at);

	r |= emit_memory_rules(&o);
	ret(&o, SC_KILL);
	if (r < 0 || o.n > cap)
		return -E2BIG;
	return (int)o.n;
}

/* The caller's thread after the VM's threads are started (seccomp_main_filter). */
static const unsigned seccomp_main_plain[] = {
    __NR_read,
    __NR_write,
    __NR_writev,
    __NR_pread64,
    __NR_close,
    __NR_poll,
    __NR_ppoll,
    __NR_lseek,
    __NR_fstat,
    __NR_newfstatat,
    __NR_futex,
    __NR_clock_gettime,
    __NR_clock_nanosleep,
    __NR_nanosleep,
    __NR_getpid,
    __NR_gettid,
    __NR_rt_sigaction,
    __NR_rt_sigprocmask,
    __NR_rt_sigreturn,
    __NR_restart_syscall,
    __NR_sigaltstack,
    __NR_munmap,
    __NR_brk,
    __NR_mremap,
    __NR_wait4,
    __NR_sched_yield,
    __NR_exit,
    __NR_exit_group,
    __NR_mincore, /* the report's count of guest RAM touched */
};

int seccomp_main_filter(const struct seccomp_main_ctx *c, struct sock_filter *prog, unsigned cap)
{
	struct bpf_out o = {prog, 0, cap};
	unsigned at;
	int r = 0;

	abi_prologue(&o);
	for (unsigned i = 0; i < ARRAY_LEN(seccomp_main_plain); i++)
		allow_if(&o, seccomp_main_plain[i]);

	/* ioctl: only what the reports ask of KVM after a run, and the UART's
	 * interrupt line on the VM fd (console input arrives on this thread; its
	 * console tick drains THR writes, which may raise THRE). */
	at = block_begin(&o, __NR_ioctl, __NR_ioctl);
	if (c->vcpu_fd > 0) {
		/* vCPU 0 runs on this thread: on its fd, what a vCPU thread may
		 * ask; anything else goes on to the rules below (the reports'
		 * KVM_GET_STATS_FD on it). */
		ld(&o, SC_ARG_LO(0));
		unsigned skip = emit(&o, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)c->vcpu_fd);
		ld(&o, SC_ARG_LO(1));
		for (unsigned i = 0; i < ARRAY_LEN(seccomp_ioctls); i++)
			allow_if(&o, seccomp_ioctls[i]);
		if (skip < o.cap)
			o.prog[skip].jf = (uint8_t)(1 + 2 * ARRAY_LEN(seccomp_ioctls));
	}
	ld(&o, SC_ARG_LO(1));
	if (c->fast_arm)
		allow_if(&o, KVM_REGISTER_COALESCED_MMIO);
	if (c->vm_fd > 0) {
		/* if request != KVM_IRQ_LINE skip the 4 instructions below */
		emit(&o, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)KVM_IRQ_LINE);
		ld(&o, SC_ARG_LO(0));
		kill_unless(&o, (uint32_t)c->vm_fd);
		ret(&o, SC_ALLOW);
	}
	allow_if(&o, KVM_CHECK_EXTENSION);
	allow_if(&o, KVM_GET_STATS_FD);
	/* Teardown (kestrel_vm_destroy): the doorbell's ioeventfd and the
	 * console's coalesced zone are unregistered before the fds close. */
	allow_if(&o, KVM_IOEVENTFD);
	allow_if(&o, KVM_UNREGISTER_COALESCED_MMIO);
	ret(&o, SC_KILL);
	r |= block_end(&o, at);

	/* tgkill(this process, any thread, the kick signal or SIGABRT (abort)). */
	at = block_begin(&o, __NR_tgkill, __NR_tgkill);
	ld(&o, SC_ARG_LO(0));
	kill_unless(&o, (uint32_t)c->pid);
	ld(&o, SC_ARG_LO(2));
	allow_if(&o, (uint32_t)c->kick_signal);
	allow_if(&o, SIGABRT);
	ret(&o, SC_KILL);
	r |= block_end(&o, at);

	r |= emit_memory_rules(&o);
	ret(&o, SC_KILL);
	if (r < 0 || o.n > cap)
		return -E2BIG;
	return (int)o.n;
}

/* Both filters: NO_NEW_PRIVS, then the program (KILL_PROCESS must exist). */
static int seccomp_install(struct sock_filter *prog, int n)
{
	struct sock_fprog fprog;
	uint32_t action = SC_KILL;

	if (n < 0)
		return n;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return errno == EOPNOTSUPP || errno == EINVAL ? -ENOTSUP : -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	fprog = (struct sock_fprog){.len = (unsigned short)n, .filter = prog};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return -errno;
	return 0;
}

int seccomp_install_main(const struct seccomp_main_ctx *c)
{
	struct sock_filter prog[SECCOMP_MAIN_MAX_INSNS];

	return seccomp_install(prog, seccomp_main_filter(c, prog, SECCOMP_MAIN_MAX_INSNS));
}

int seccomp_install_vcpu(const struct seccomp_vcpu_ctx *c)
{
	struct sock_filter prog[SECCOMP_VCPU_MAX_INSNS];

	/* Without KILL_PROCESS (Linux < 4.14) the kernel would kill only the
	 * offending thread, and the VM would wait for it forever; NO_NEW_PRIVS
	 * lets an unprivileged thread install a filter (seccomp_install). */
	return seccomp_install(prog, seccomp_vcpu_filter(c, prog, SECCOMP_VCPU_MAX_INSNS));
}
