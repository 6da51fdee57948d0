/* seccomp.c - build and install the classic-BPF seccomp filter for vCPU threads (raw BPF, no
 * libseccomp). */
#include "host/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
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
    __NR_futex,		__NR_getpid,
    __NR_gettid,	__NR_rt_sigprocmask,
    __NR_rt_sigreturn,	__NR_restart_syscall,
    __NR_clock_gettime, __NR_madvise,
    __NR_munmap,	__NR_brk,
    __NR_sigaltstack,	__NR_exit,
    __NR_exit_group,
    /* Spin-lock back-off: glibc does not need it, but sanitizer runtimes do
     * (an ASan build was killed on it when a vCPU exited while another ran). */
    __NR_sched_yield,
};

/* vCPU ioctls the run loop, the register cache and crash reports use. */
static const unsigned seccomp_ioctls[] = {
    KVM_RUN,	       KVM_GET_REGS, KVM_SET_REGS,	  KVM_GET_SREGS,       KVM_SET_SREGS,
    KVM_GET_FPU,       KVM_SET_FPU,  KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS, KVM_GET_MSRS, KVM_SET_MSRS,	  KVM_TRANSLATE,       KVM_GET_XCRS,
    KVM_SET_GUEST_DEBUG,
};

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

int seccomp_vcpu_filter(const struct seccomp_vcpu_ctx *c, struct sock_filter *prog, unsigned cap)
{
	struct bpf_out o = {prog, 0, cap};
	unsigned at;
	int r = 0;

	/* Only the x86-64 ABI: the same number means another call under i386. */
	ld(&o, SC_ARCH);
	kill_unless(&o, AUDIT_ARCH_X86_64);
	ld(&o, SC_NR);
	emit(&o, BPF_JMP | BPF_JGE | BPF_K, 0, 1, SC_X32_BIT);
	ret(&o, SC_KILL);

	for (unsigned i = 0; i < ARRAY_LEN(seccomp_plain); i++)
		allow_if(&o, seccomp_plain[i]);

	/* ioctl(own vCPU fd, one of the listed requests), or ioctl(the VM fd,
	 * KVM_IRQ_LINE) for devices that drive an interrupt line. The kernel
	 * takes both as 32-bit values, so the low words are what it acts on. */
	at = block_begin(&o, __NR_ioctl, __NR_ioctl);
	ld(&o, SC_ARG_LO(0));
	if (c->vm_fd > 0) {
		/* if fd != vm_fd skip the 4 instructions below */
		emit(&o, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)c->vm_fd);
		ld(&o, SC_ARG_LO(1));
		kill_unless(&o, (uint32_t)KVM_IRQ_LINE);
		ret(&o, SC_ALLOW);
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

	/* mmap/mprotect: never executable (prot is a full 64-bit argument). */
	at = block_begin(&o, __NR_mmap, __NR_mprotect);
	ld(&o, SC_ARG_HI(2));
	kill_unless(&o, 0);
	ld(&o, SC_ARG_LO(2));
	emit(&o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, PROT_EXEC);
	ret(&o, SC_KILL);
	ret(&o, SC_ALLOW);
	r |= block_end(&o, at);

	ret(&o, SC_KILL);
	if (r < 0 || o.n > cap)
		return -E2BIG;
	return (int)o.n;
}

int seccomp_install_vcpu(const struct seccomp_vcpu_ctx *c)
{
	struct sock_filter prog[SECCOMP_VCPU_MAX_INSNS];
	struct sock_fprog fprog;
	uint32_t action = SC_KILL;
	int n = seccomp_vcpu_filter(c, prog, SECCOMP_VCPU_MAX_INSNS);

	if (n < 0)
		return n;
	/* Without KILL_PROCESS (Linux < 4.14) the kernel would kill only the
	 * offending thread, and the VM would wait for it forever. */
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return errno == EOPNOTSUPP || errno == EINVAL ? -ENOTSUP : -errno;
	/* Lets an unprivileged thread install a filter; it can no longer gain
	 * privileges through execve (which it may not call anyway). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	fprog = (struct sock_fprog){.len = (unsigned short)n, .filter = prog};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return -errno;
	return 0;
}
