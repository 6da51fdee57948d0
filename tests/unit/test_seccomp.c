/* test_seccomp.c - the vCPU seccomp filter: its BPF run through an interpreter (both layouts, which
 * must agree on every call), then installed in forked children that make forbidden calls. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/seccomp.h"
#include "tap.h"

/*
 * The allow-list as seccomp.h documents it, written out again here so that
 * a change to the filter has to be a change to this list too.
 */
static const unsigned plain_allowed[] = {
    SYS_futex,	      SYS_getpid,	   SYS_gettid,	      SYS_rt_sigprocmask,
    SYS_rt_sigreturn, SYS_restart_syscall, SYS_clock_gettime, SYS_munmap,
    SYS_brk,	      SYS_sigaltstack,	   SYS_exit,	      SYS_exit_group,
    SYS_sched_yield,
};
/* One request a line, as the policy is read (clang-format would pack them). */
/* clang-format off */
static const unsigned ioctls_allowed[] = {
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
};
/* clang-format on */
#define N(a) (sizeof(a) / sizeof((a)[0]))

#define VCPU_FD 7
#define VM_FD 8
#define PID 4321
#define KICK 35

static const struct seccomp_vcpu_ctx ctx = {
    .vcpu_fd = VCPU_FD,
    .vm_fd = VM_FD,
    .vm_ioctls = {KVM_IRQ_LINE, KVM_REGISTER_COALESCED_MMIO, KVM_IOEVENTFD},
    .write_fds = {1, -1, 9, 2},
    .pid = PID,
    .kick_signal = KICK,
};

/* ---- a classic-BPF interpreter for the instructions a seccomp filter may use ---- */

static uint32_t load_word(const struct seccomp_data *d, uint32_t off, int *bad)
{
	uint32_t v;

	if (off + 4 > sizeof(*d) || (off & 3)) {
		*bad = 1;
		return 0;
	}
	memcpy(&v, (const uint8_t *)d + off, 4);
	return v;
}

/* Returns the action, or 0xdeadbeef for a malformed program (bad opcode, jump out, no RET). */
static uint32_t bpf_run(const struct sock_filter *p, int n, const struct seccomp_data *d)
{
	uint32_t a = 0;
	int bad = 0;

	for (int pc = 0; pc < n && !bad; pc++) {
		const struct sock_filter *i = &p[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			a = load_word(d, i->k, &bad);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			return 0xdeadbeef;
		}
	}
	return 0xdeadbeef;
}

static struct sock_filter prog[SECCOMP_MAIN_MAX_INSNS > SECCOMP_VCPU_MAX_INSNS
				   ? SECCOMP_MAIN_MAX_INSNS
				   : SECCOMP_VCPU_MAX_INSNS];
static int nprog;

static uint32_t verdict(int nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct seccomp_data d = {.nr = nr, .arch = AUDIT_ARCH_X86_64, .args = {a0, a1, a2}};

	return bpf_run(prog, nprog, &d);
}

static uint32_t verdict4(int nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3)
{
	struct seccomp_data d = {.nr = nr, .arch = AUDIT_ARCH_X86_64, .args = {a0, a1, a2, a3}};

	return bpf_run(prog, nprog, &d);
}

static const char *act(uint32_t v)
{
	return v == SECCOMP_RET_ALLOW	       ? "ALLOW"
	       : v == SECCOMP_RET_KILL_PROCESS ? "KILL_PROCESS"
					       : "other";
}

static int in(const unsigned *set, size_t n, unsigned v)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

static void test_program(void)
{
	struct seccomp_data d;
	unsigned wrong = 0;

	TAP_EQ_INT(seccomp_vcpu_filter(&ctx, prog, 10), -E2BIG,
		   "a 10-instruction buffer is refused with -E2BIG");
	nprog = seccomp_vcpu_filter(&ctx, prog, SECCOMP_VCPU_MAX_INSNS);
	TAP_OK(nprog > 0 && nprog <= (int)SECCOMP_VCPU_MAX_INSNS,
	       "the program fits (%d instructions)", nprog);

	/* Every syscall number the plain way: allowed exactly when listed. */
	for (int nr = 0; nr < 512; nr++) {
		uint32_t v;
		if (nr == SYS_ioctl || nr == SYS_write || nr == SYS_writev || nr == SYS_tgkill ||
		    nr == SYS_mmap || nr == SYS_mprotect || nr == SYS_madvise)
			continue; /* argument-checked below */
		v = verdict(nr, 0, 0, 0);
		if (v != (in(plain_allowed, N(plain_allowed), (unsigned)nr)
			      ? SECCOMP_RET_ALLOW
			      : SECCOMP_RET_KILL_PROCESS)) {
			if (!wrong++)
				tap_diag("syscall %d: %s", nr, act(v));
		}
	}
	TAP_EQ_INT(wrong, 0,
		   "syscalls 0..511: the listed ones allowed, every other one KILL_PROCESS");
	TAP_EQ_STR(act(verdict(SYS_socket, AF_INET, SOCK_STREAM, 0)), "KILL_PROCESS",
		   "socket is refused");
	TAP_EQ_STR(act(verdict(SYS_execve, 0, 0, 0)), "KILL_PROCESS", "execve is refused");
	TAP_EQ_STR(act(verdict(SYS_openat, AT_FDCWD, 0, 0)), "KILL_PROCESS", "openat is refused");
	TAP_EQ_STR(act(verdict(SYS_kill, PID, SIGKILL, 0)), "KILL_PROCESS", "kill(2) is refused");

	/* Other ABIs: the same numbers would mean other calls. */
	d = (struct seccomp_data){.nr = SYS_getpid, .arch = AUDIT_ARCH_I386};
	TAP_EQ_STR(act(bpf_run(prog, nprog, &d)), "KILL_PROCESS",
		   "i386 ABI refused, even for an allowed number");
	d = (struct seccomp_data){.nr = SYS_getpid | 0x40000000, .arch = AUDIT_ARCH_X86_64};
	TAP_EQ_STR(act(bpf_run(prog, nprog, &d)), "KILL_PROCESS", "x32 numbers refused");

	wrong = 0;
	for (size_t i = 0; i < N(ioctls_allowed); i++)
		wrong += verdict(SYS_ioctl, VCPU_FD, ioctls_allowed[i], 0) != SECCOMP_RET_ALLOW;
	TAP_EQ_INT(wrong, 0, "the %zu run-loop ioctls are allowed on the vCPU fd",
		   N(ioctls_allowed));
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD + 1, KVM_RUN, 0)), "KILL_PROCESS",
		   "KVM_RUN on another fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_IRQ_LINE, 0)), "ALLOW",
		   "KVM_IRQ_LINE on the VM fd (devices' interrupt lines)");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_CREATE_VCPU, 0)), "KILL_PROCESS",
		   "any other ioctl on the VM fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_REGISTER_COALESCED_MMIO, 0)), "ALLOW",
		   "KVM_REGISTER_COALESCED_MMIO on the VM fd (an exit arms a fast path)");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_IOEVENTFD, 0)), "ALLOW",
		   "KVM_IOEVENTFD on the VM fd (a device's first exit arms it)");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_UNREGISTER_COALESCED_MMIO, 0)), "KILL_PROCESS",
		   "KVM_UNREGISTER_COALESCED_MMIO on the VM fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_SET_USER_MEMORY_REGION, 0)), "KILL_PROCESS",
		   "KVM_SET_USER_MEMORY_REGION on the VM fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_IOEVENTFD, 0)), "KILL_PROCESS",
		   "KVM_IOEVENTFD on another fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_IRQ_LINE, 0)), "KILL_PROCESS",
		   "KVM_IRQ_LINE on another fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_CREATE_VCPU, 0)), "KILL_PROCESS",
		   "KVM_CREATE_VCPU is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_SET_GUEST_DEBUG, 0)), "KILL_PROCESS",
		   "KVM_SET_GUEST_DEBUG is refused (kestrel never asks for guest debugging)");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_SET_USER_MEMORY_REGION, 0)), "KILL_PROCESS",
		   "KVM_SET_USER_MEMORY_REGION is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_SET_CPUID2, 0)), "KILL_PROCESS",
		   "KVM_SET_CPUID2 is refused");

	TAP_EQ_STR(act(verdict(SYS_write, 1, 0, 0)), "ALLOW", "write to the console fd");
	TAP_EQ_STR(act(verdict(SYS_write, 9, 0, 0)), "ALLOW", "write to the stop fd");
	TAP_EQ_STR(act(verdict(SYS_writev, 2, 0, 0)), "ALLOW", "writev to stderr");
	TAP_EQ_STR(act(verdict(SYS_write, 3, 0, 0)), "KILL_PROCESS",
		   "write to another fd is refused");
	TAP_EQ_STR(act(verdict(SYS_write, 0xffffffffu, 0, 0)), "KILL_PROCESS",
		   "an unused slot (-1) allows nothing");

	TAP_EQ_STR(act(verdict(SYS_tgkill, PID, 99, KICK)), "ALLOW",
		   "tgkill of the kick signal within the process");
	TAP_EQ_STR(act(verdict(SYS_tgkill, PID, 99, SIGKILL)), "KILL_PROCESS",
		   "tgkill of another signal is refused");
	TAP_EQ_STR(act(verdict(SYS_tgkill, 1, 1, KICK)), "KILL_PROCESS",
		   "tgkill of another process is refused");

	TAP_EQ_STR(
	    act(verdict4(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS)),
	    "ALLOW", "mmap read/write, private anonymous");
	TAP_EQ_STR(act(verdict4(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED)),
		   "KILL_PROCESS",
		   "mmap MAP_SHARED of an fd (a vCPU's kvm_run, the image) is refused");
	TAP_EQ_STR(
	    act(verdict4(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS)),
	    "KILL_PROCESS", "mmap MAP_SHARED|MAP_ANONYMOUS is refused");
	TAP_EQ_STR(act(verdict4(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE)), "KILL_PROCESS",
		   "mmap of a file, even private, is refused");
	TAP_EQ_STR(act(verdict4(SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS)),
		   "KILL_PROCESS", "mmap MAP_SHARED_VALIDATE is refused");
	TAP_EQ_STR(act(verdict(SYS_madvise, 0, 4096, MADV_DONTNEED)), "ALLOW",
		   "madvise MADV_DONTNEED (free)");
	TAP_EQ_STR(act(verdict(SYS_madvise, 0, 4096, MADV_HWPOISON)), "KILL_PROCESS",
		   "madvise MADV_HWPOISON is refused");
	TAP_EQ_STR(act(verdict(SYS_madvise, 0, 4096, MADV_REMOVE)), "KILL_PROCESS",
		   "madvise MADV_REMOVE is refused");
	TAP_EQ_STR(act(verdict(SYS_madvise, 0, 4096, MADV_DONTFORK)), "KILL_PROCESS",
		   "madvise MADV_DONTFORK is refused");
	TAP_EQ_STR(act(verdict(SYS_madvise, 0, 4096, (1ull << 32) | MADV_DONTNEED)), "KILL_PROCESS",
		   "madvise with high advice bits is refused");
	TAP_EQ_STR(
	    act(verdict4(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS)),
	    "KILL_PROCESS", "mmap PROT_EXEC is refused");
	TAP_EQ_STR(act(verdict(SYS_mprotect, 0, 4096, PROT_EXEC)), "KILL_PROCESS",
		   "mprotect PROT_EXEC is refused");
	TAP_EQ_STR(
	    act(verdict4(SYS_mmap, 0, 4096, 1ull << 32 | PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS)),
	    "KILL_PROCESS", "mmap with high prot bits is refused");
}

/* ---- the real thing: install in a forked child, then make one call ---- */

enum probe {
	P_NOTHING,
	P_SOCKET,
	P_EXECVE,
	P_OPENAT,
	P_WRITE_OTHER,
	P_IOCTL_OTHER,
	P_IOCTL_CREATE,
	P_MMAP_EXEC,
	P_KILL
};

static void on_kick(int sig)
{
	(void)sig;
}

/*
 * In a child: confine this thread with vcpu fd = a /dev/null fd, write fds =
 * a pipe; make the allowed calls kestrel's vCPU threads make; then, unless
 * P_NOTHING, the one forbidden call. Exit 0 if still alive. Raw syscall()
 * keeps sanitizer interceptors from adding calls of their own.
 */
static void child(enum probe p, int pipe_w)
{
	struct rlimit no_core = {0, 0};
	int devnull = open("/dev/null", O_RDWR), other = open("/dev/null", O_RDWR);
	struct sigaction sa = {.sa_handler = on_kick};
	struct seccomp_vcpu_ctx c = {
	    .vcpu_fd = devnull,
	    .write_fds = {pipe_w, -1, -1, 2},
	    .pid = getpid(),
	    .kick_signal = SIGRTMIN + 1,
	};

	setrlimit(RLIMIT_CORE, &no_core); /* SIGSYS would dump core */
	sigaction(SIGRTMIN + 1, &sa, NULL);
	if (seccomp_install_vcpu(&c) != 0)
		_exit(3);
	/* What a vCPU thread does: KVM_RUN (here ENOTTY), write, signal itself, futex-free getpid.
	 */
	if (syscall(SYS_ioctl, devnull, KVM_RUN, 0) != -1 || errno != ENOTTY)
		_exit(4);
	if (syscall(SYS_write, pipe_w, "k", 1) != 1)
		_exit(5);
	if (syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGRTMIN + 1) != 0)
		_exit(6);
	switch (p) {
	case P_NOTHING:
		break;
	case P_SOCKET:
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		break;
	case P_EXECVE: {
		char *const argv[] = {(char *)"/bin/true", NULL};
		syscall(SYS_execve, "/bin/true", argv, NULL);
		break;
	}
	case P_OPENAT:
		syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
		break;
	case P_WRITE_OTHER:
		syscall(SYS_write, other, "x", 1);
		break;
	case P_IOCTL_OTHER:
		syscall(SYS_ioctl, other, KVM_RUN, 0);
		break;
	case P_IOCTL_CREATE:
		syscall(SYS_ioctl, devnull, KVM_CREATE_VCPU, 0);
		break;
	case P_MMAP_EXEC:
		syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0);
		break;
	case P_KILL:
		syscall(SYS_kill, getpid(), SIGRTMIN + 1);
		break;
	}
	_exit(0);
}

/* Runs child(p); returns its wait status, or -1. */
static int probe(enum probe p)
{
	int fds[2], st = -1;
	pid_t pid;

	if (pipe(fds) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		child(p, fds[1]);
	close(fds[1]);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		st = -1;
	close(fds[0]);
	return st;
}

static void expect_killed(enum probe p, const char *what)
{
	int st = probe(p);

	if (!TAP_OK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		    "installed filter: %s kills with SIGSYS", what))
		tap_diag("wait status %#x (exited %d, signal %d)", st,
			 WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* A thread installs the filter and parks; the main thread must stay free. */
static int parked;
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;

static void *confine_and_park(void *arg)
{
	struct seccomp_vcpu_ctx c = {.vcpu_fd = -1,
				     .write_fds = {-1, -1, -1, 2},
				     .pid = getpid(),
				     .kick_signal = SIGRTMIN + 1};
	int r = seccomp_install_vcpu(&c);

	(void)arg;
	pthread_mutex_lock(&park_lock);
	parked = r == 0 ? 1 : -1;
	pthread_cond_signal(&park_cond);
	pthread_mutex_unlock(&park_lock);
	for (;;)
		syscall(SYS_futex, &parked, FUTEX_WAIT, parked, NULL, NULL, 0);
	return NULL;
}

static void test_installed(void)
{
	int st = probe(P_NOTHING), s;
	pid_t pid;
	int fds[2];

	if (!TAP_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "installed filter: KVM_RUN on the vCPU fd, write to the console, the kick "
		    "signal all work"))
		tap_diag("wait status %#x", st);
	expect_killed(P_SOCKET, "socket()");
	expect_killed(P_EXECVE, "execve(\"/bin/true\")");
	expect_killed(P_OPENAT, "openat()");
	expect_killed(P_WRITE_OTHER, "write() to an fd that is not the console's");
	expect_killed(P_IOCTL_OTHER, "KVM_RUN on an fd that is not the vCPU's");
	expect_killed(P_IOCTL_CREATE, "KVM_CREATE_VCPU on the vCPU fd");
	expect_killed(P_MMAP_EXEC, "mmap(PROT_EXEC)");
	expect_killed(P_KILL, "kill(2)");

	/* Per thread: in a child, one thread confined, the other still opens sockets. */
	if (pipe(fds) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, confine_and_park, NULL);
		pthread_mutex_lock(&park_lock);
		while (!parked)
			pthread_cond_wait(&park_cond, &park_lock);
		pthread_mutex_unlock(&park_lock);
		if (parked < 0)
			_exit(3);
		s = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		_exit(s >= 0 ? 0 : 4);
	}
	st = -1;
	if (pid > 0)
		waitpid(pid, &st, 0);
	close(fds[0]);
	close(fds[1]);
	TAP_OK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "a filter installed by one thread leaves the others (the caller of kestrel_vm_run) "
	       "free");
}

/* The calling thread's filter (confine_caller): what it keeps and what it loses. */
static void test_main_program(void)
{
	static const struct seccomp_main_ctx mc = {.pid = PID, .kick_signal = KICK, .vm_fd = VM_FD};
	static const struct seccomp_main_ctx split = {.pid = PID, .kick_signal = KICK, .vm_fd = -1};
	static const unsigned kept[] = {SYS_read,  SYS_write,	   SYS_poll,
					SYS_futex, SYS_close,	   SYS_rt_sigaction,
					SYS_wait4, SYS_exit_group, SYS_pread64};
	static const unsigned lost[] = {
	    SYS_open,	   SYS_openat,	SYS_execve, SYS_execveat, SYS_clone,
	    SYS_clone3,	   SYS_fork,	SYS_socket, SYS_connect,  SYS_rename,
	    SYS_renameat2, SYS_unlink,	SYS_kill,   SYS_ptrace,	  SYS_process_vm_writev,
	    SYS_prctl,	   SYS_seccomp, SYS_mount};
	unsigned wrong = 0;

	TAP_EQ_INT(seccomp_main_filter(&mc, prog, 10), -E2BIG, "main filter: small buffer refused");
	nprog = seccomp_main_filter(&mc, prog, SECCOMP_VCPU_MAX_INSNS);
	TAP_OK(nprog > 0, "main filter: fits (%d instructions)", nprog);
	for (size_t i = 0; i < N(kept); i++)
		wrong += verdict(kept[i], 3, 0, 0) != SECCOMP_RET_ALLOW;
	TAP_EQ_INT(wrong, 0, "main filter: waiting, writing, reading, closing, exiting stay");
	wrong = 0;
	for (size_t i = 0; i < N(lost); i++)
		if (verdict(lost[i], 3, 0, 0) != SECCOMP_RET_KILL_PROCESS && !wrong++)
			tap_diag("syscall %u allowed", lost[i]);
	TAP_EQ_INT(wrong, 0,
		   "main filter: open, exec, clone/fork, socket, rename, unlink, kill, "
		   "ptrace, prctl, seccomp, mount are refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, 5, KVM_GET_STATS_FD, 0)), "ALLOW",
		   "main filter: KVM_GET_STATS_FD (reports)");
	TAP_EQ_STR(act(verdict(SYS_ioctl, 5, KVM_RUN, 0)), "KILL_PROCESS",
		   "main filter: KVM_RUN is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, 5, KVM_SET_USER_MEMORY_REGION, 0)), "KILL_PROCESS",
		   "main filter: KVM_SET_USER_MEMORY_REGION is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_IRQ_LINE, 0)), "ALLOW",
		   "main filter: KVM_IRQ_LINE on the VM fd (the UART's interrupt)");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_IRQ_LINE, 0)), "KILL_PROCESS",
		   "main filter: KVM_IRQ_LINE on another fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_CREATE_VCPU, 0)), "KILL_PROCESS",
		   "main filter: another ioctl on the VM fd is refused");
	nprog = seccomp_main_filter(&split, prog, SECCOMP_VCPU_MAX_INSNS);
	TAP_OK(nprog > 0, "main filter without an irqchip fits");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_IRQ_LINE, 0)), "KILL_PROCESS",
		   "main filter without an irqchip: KVM_IRQ_LINE is refused on every fd");
	nprog = seccomp_main_filter(&mc, prog, SECCOMP_VCPU_MAX_INSNS);
	TAP_EQ_STR(act(verdict(SYS_tgkill, PID, 99, KICK)), "ALLOW", "main filter: the kick");
	TAP_EQ_STR(act(verdict(SYS_tgkill, PID, 99, SIGKILL)), "KILL_PROCESS",
		   "main filter: tgkill SIGKILL is refused");
	TAP_EQ_STR(
	    act(verdict4(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS)),
	    "KILL_PROCESS", "main filter: executable mmap is refused");
	TAP_EQ_STR(act(verdict4(SYS_mmap, 0, 4096, PROT_READ, MAP_SHARED)), "KILL_PROCESS",
		   "main filter: mmap of a file is refused");
	TAP_EQ_STR(act(verdict(SYS_timer_create, 1, 0, 0)), "KILL_PROCESS",
		   "main filter, vCPUs on their own threads: timer_create is refused (no "
		   "console tick on this thread)");
	TAP_EQ_STR(act(verdict(SYS_timer_settime, 0, 0, 0)), "KILL_PROCESS",
		   "main filter, vCPUs on their own threads: timer_settime is refused");
}

/* vCPU 0 on the caller's thread (run.c, vm_run_inline): the main filter widened by that
 * vCPU's ioctls on its fd, the reports' ioctls still allowed, nothing else added. */
static void test_main_with_vcpu(void)
{
	static const struct seccomp_main_ctx mv = {
	    .pid = PID, .kick_signal = KICK, .vm_fd = -1, .vcpu_fd = VCPU_FD};
	static const struct seccomp_main_ctx arm = {
	    .pid = PID, .kick_signal = KICK, .vm_fd = -1, .vcpu_fd = VCPU_FD, .fast_arm = true};

	nprog = seccomp_main_filter(&mv, prog, SECCOMP_MAIN_MAX_INSNS);
	TAP_OK(nprog > 0, "main filter with vCPU 0: fits in SECCOMP_MAIN_MAX_INSNS (%d)", nprog);
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_RUN, 0)), "ALLOW",
		   "main filter with vCPU 0: KVM_RUN on its fd");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_SET_SREGS, 0)), "ALLOW",
		   "main filter with vCPU 0: KVM_SET_SREGS on its fd");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_GET_STATS_FD, 0)), "ALLOW",
		   "main filter with vCPU 0: the reports' KVM_GET_STATS_FD on its fd");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD + 1, KVM_RUN, 0)), "KILL_PROCESS",
		   "main filter with vCPU 0: KVM_RUN on another fd is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VCPU_FD, KVM_SET_CPUID2, 0)), "KILL_PROCESS",
		   "main filter with vCPU 0: an unlisted vCPU ioctl is refused");
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_SET_USER_MEMORY_REGION, 0)), "KILL_PROCESS",
		   "main filter with vCPU 0: KVM_SET_USER_MEMORY_REGION is refused");
	TAP_EQ_STR(
	    act(verdict(SYS_ioctl, VM_FD, KVM_REGISTER_COALESCED_MMIO, 0)), "KILL_PROCESS",
	    "main filter with vCPU 0, no fast path to arm: KVM_REGISTER_COALESCED_MMIO refused");
	TAP_EQ_STR(act(verdict(SYS_openat, 3, 0, 0)), "KILL_PROCESS",
		   "main filter with vCPU 0: openat still refused");
	TAP_OK(verdict(SYS_timer_create, 1, 0, 0) == SECCOMP_RET_ALLOW &&
		   verdict(SYS_timer_settime, 0, 0, 0) == SECCOMP_RET_ALLOW &&
		   verdict(SYS_timer_delete, 0, 0, 0) == SECCOMP_RET_ALLOW,
	       "main filter with vCPU 0: the console tick's timer_create, _settime, _delete");
	nprog = seccomp_main_filter(&arm, prog, SECCOMP_MAIN_MAX_INSNS);
	TAP_EQ_STR(act(verdict(SYS_ioctl, VM_FD, KVM_REGISTER_COALESCED_MMIO, 0)), "ALLOW",
		   "main filter with vCPU 0 and a fast path to arm: KVM_REGISTER_COALESCED_MMIO");
}

/* The VM fd's requests follow vm_ioctls: without fast paths to arm (--no-fast-io) or an
 * irqchip, a filter allows none of them, and only the listed ones otherwise. */
static void test_vm_ioctls(void)
{
	struct sock_filter p[SECCOMP_VCPU_MAX_INSNS];
	struct seccomp_vcpu_ctx c = ctx;
	struct seccomp_data irq = {
	    .nr = SYS_ioctl, .arch = AUDIT_ARCH_X86_64, .args = {VM_FD, KVM_IRQ_LINE}};
	struct seccomp_data efd = irq, run = irq;
	int n;

	efd.args[1] = KVM_IOEVENTFD;
	run.args[0] = VCPU_FD;
	run.args[1] = KVM_RUN;
	memset(c.vm_ioctls, 0, sizeof(c.vm_ioctls));
	c.vm_ioctls[0] = KVM_IRQ_LINE;
	n = seccomp_vcpu_filter(&c, p, SECCOMP_VCPU_MAX_INSNS);
	TAP_OK(n > 0 && act(bpf_run(p, n, &irq))[0] == 'A' &&
		   strcmp(act(bpf_run(p, n, &efd)), "KILL_PROCESS") == 0 &&
		   act(bpf_run(p, n, &run))[0] == 'A',
	       "vm_ioctls = {KVM_IRQ_LINE}: KVM_IOEVENTFD on the VM fd is refused, KVM_RUN still "
	       "allowed");
	c.vm_fd = -1;
	n = seccomp_vcpu_filter(&c, p, SECCOMP_VCPU_MAX_INSNS);
	TAP_OK(n > 0 && strcmp(act(bpf_run(p, n, &irq)), "KILL_PROCESS") == 0 &&
		   act(bpf_run(p, n, &run))[0] == 'A',
	       "no VM fd: KVM_IRQ_LINE refused, KVM_RUN allowed");
}

/* ---- the two layouts (seccomp.h: enum seccomp_layout): one policy ---- */

/* What the kernel's bpf_check_classic() and seccomp_check_filter() refuse: an opcode
 * outside seccomp's set, a load outside seccomp_data or unaligned, a jump past the end,
 * a last instruction that is not a return. Returns the first bad pc, or -1. */
static int malformed(const struct sock_filter *p, int n)
{
	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &p[pc];

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k >= sizeof(struct seccomp_data) || (i->k & 3))
				return pc;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			if (pc + 1 + i->jt >= n || pc + 1 + i->jf >= n)
				return pc;
			break;
		case BPF_RET | BPF_K:
			break;
		default:
			return pc;
		}
	}
	return n > 0 && p[n - 1].code == (BPF_RET | BPF_K) ? -1 : n - 1;
}

/*
 * The kernel's action-cache walk (seccomp_is_const_allow): run p for (nr, arch) until
 * it returns or loads anything but nr and arch. Returns the instructions executed;
 * *always = 1 when it returned ALLOW (the kernel then skips the filter for that
 * number).
 */
static unsigned cache_walk(const struct sock_filter *p, int n, uint32_t nr, uint32_t arch,
			   int *always)
{
	struct seccomp_data d = {.nr = (int)nr, .arch = arch};
	unsigned steps = 0;
	uint32_t a = 0;

	*always = 0;
	for (int pc = 0; pc < n; pc++, steps++) {
		const struct sock_filter *i = &p[pc];

		if (i->code == (BPF_LD | BPF_W | BPF_ABS)) {
			if (i->k != offsetof(struct seccomp_data, nr) &&
			    i->k != offsetof(struct seccomp_data, arch))
				return steps + 1;
			a = load_word(&d, i->k, &(int){0});
		} else if (i->code == (BPF_RET | BPF_K)) {
			*always = i->k == SECCOMP_RET_ALLOW;
			return steps + 1;
		} else if (i->code == (BPF_JMP | BPF_JEQ | BPF_K)) {
			pc += a == i->k ? i->jt : i->jf;
		} else if (i->code == (BPF_JMP | BPF_JGE | BPF_K)) {
			pc += a >= i->k ? i->jt : i->jf;
		} else if (i->code == (BPF_JMP | BPF_JSET | BPF_K)) {
			pc += (a & i->k) ? i->jt : i->jf;
		} else {
			return steps + 1;
		}
	}
	return steps;
}

/* Argument values around every check both filters make. */
static const uint64_t a0s[] = {
    0, 1, 2, 3, 4, VCPU_FD, VM_FD, 9, PID, 1ull << 32 | VCPU_FD, 1ull << 32 | VM_FD, 0xffffffffu};
static const uint64_t a1s[] = {0,
			       99,
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
			       KVM_IRQ_LINE,
			       KVM_REGISTER_COALESCED_MMIO,
			       KVM_UNREGISTER_COALESCED_MMIO,
			       KVM_IOEVENTFD,
			       KVM_CHECK_EXTENSION,
			       KVM_GET_STATS_FD,
			       KVM_CREATE_VCPU,
			       KVM_SET_USER_MEMORY_REGION,
			       KVM_SET_CPUID2,
			       1ull << 32 | KVM_RUN};
static const uint64_t a2s[] = {0,
			       KICK,
			       SIGABRT,
			       SIGKILL,
			       PROT_READ,
			       PROT_READ | PROT_WRITE,
			       PROT_EXEC,
			       PROT_READ | PROT_EXEC,
			       1ull << 32 | PROT_READ,
			       MADV_DONTNEED,
			       MADV_FREE,
			       MADV_HUGEPAGE,
			       MADV_NOHUGEPAGE,
			       MADV_DONTDUMP,
			       MADV_DODUMP,
			       MADV_HWPOISON,
			       MADV_REMOVE,
			       MADV_DONTFORK,
			       1ull << 32 | MADV_DONTNEED};
static const uint64_t a3s[] = {0,
			       MAP_PRIVATE,
			       MAP_PRIVATE | MAP_ANONYMOUS,
			       MAP_SHARED,
			       MAP_SHARED | MAP_ANONYMOUS,
			       MAP_SHARED_VALIDATE | MAP_ANONYMOUS,
			       1ull << 32 | MAP_PRIVATE | MAP_ANONYMOUS};

/*
 * Compares programs a and b on: every syscall number 0..511 under x86-64 with a
 * few argument vectors, and under i386, x32 and another arch; every combination
 * of the values above for the calls whose arguments a filter checks. Returns
 * the disagreements (the first one as a diagnostic); *cases counts the calls.
 */
static unsigned disagree(const char *what, const struct sock_filter *a, int na,
			 const struct sock_filter *b, int nb, unsigned *cases)
{
	static const unsigned checked[] = {SYS_ioctl, SYS_write,    SYS_writev, SYS_tgkill,
					   SYS_mmap,  SYS_mprotect, SYS_madvise};
	static const uint32_t arches[] = {AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64};
	unsigned wrong = 0;

#define COMPARE(D)                                                                                 \
	do {                                                                                       \
		uint32_t va = bpf_run(a, na, &(D)), vb = bpf_run(b, nb, &(D));                     \
		(*cases)++;                                                                        \
		if (va != vb && !wrong++)                                                          \
			tap_diag(                                                                  \
			    "%s: nr %#x arch %#x args %#llx %#llx %#llx %#llx: %s against %s",     \
			    what, (D).nr, (D).arch, (unsigned long long)(D).args[0],               \
			    (unsigned long long)(D).args[1], (unsigned long long)(D).args[2],      \
			    (unsigned long long)(D).args[3], act(va), act(vb));                    \
	} while (0)

	*cases = 0;
	for (uint32_t nr = 0; nr < 512; nr++)
		for (size_t ar = 0; ar < N(arches); ar++)
			for (uint32_t x32 = 0; x32 <= 0x40000000u; x32 += 0x40000000u)
				for (size_t i = 0; i < N(a0s); i++) {
					struct seccomp_data d = {.nr = (int)(nr | x32),
								 .arch = arches[ar],
								 .args = {a0s[i], a1s[i % N(a1s)],
									  a2s[i % N(a2s)],
									  a3s[i % N(a3s)]}};
					COMPARE(d);
				}
	for (size_t c = 0; c < N(checked); c++)
		for (size_t i = 0; i < N(a0s); i++)
			for (size_t j = 0; j < N(a1s); j++)
				for (size_t k = 0; k < N(a2s); k++)
					for (size_t l = 0; l < N(a3s); l++) {
						struct seccomp_data d = {
						    .nr = (int)checked[c],
						    .arch = AUDIT_ARCH_X86_64,
						    .args = {a0s[i], a1s[j], a2s[k], a3s[l]}};
						COMPARE(d);
					}
	{ /* numbers far out: the last of the table, the x32 bit's neighbours, the top */
		static const uint32_t far[] = {0x3fffffffu, 0x40000000u, 0x7fffffffu,
					       0x80000000u, 0xfffffffeu, 0xffffffffu};
		for (size_t i = 0; i < N(far); i++) {
			struct seccomp_data d = {.nr = (int)far[i], .arch = AUDIT_ARCH_X86_64};
			COMPARE(d);
		}
	}
#undef COMPARE
	return wrong;
}

/* Both layouts of one filter: well formed, the same verdict on every call above, the
 * same numbers always allowed in the kernel's action cache; the tree's walk short. */
static void compare_layouts(const char *what, int nt, const struct sock_filter *tree, int nl,
			    const struct sock_filter *linear, const unsigned *plain, size_t nplain)
{
	unsigned cases = 0, wrong, cache_wrong = 0, tree_max = 0, tree_sum = 0, linear_sum = 0;
	int bad_t = malformed(tree, nt), bad_l = malformed(linear, nl);

	if (!TAP_OK(nt > 0 && nl > 0 && bad_t < 0 && bad_l < 0,
		    "%s: both layouts build and are well formed (tree %d, linear %d instructions)",
		    what, nt, nl))
		tap_diag("malformed at tree pc %d, linear pc %d", bad_t, bad_l);
	if (nt <= 0 || nl <= 0)
		return;
	wrong = disagree(what, tree, nt, linear, nl, &cases);
	TAP_EQ_INT(
	    wrong, 0,
	    "%s: tree and linear layouts agree on all %u calls (every number 0..511 in every "
	    "ABI, every combination of the checked arguments)",
	    what, cases);
	for (uint32_t nr = 0; nr < 512; nr++) {
		int at, al;
		unsigned st = cache_walk(tree, nt, nr, AUDIT_ARCH_X86_64, &at);
		unsigned sl = cache_walk(linear, nl, nr, AUDIT_ARCH_X86_64, &al);

		if ((at != al || at != in(plain, nplain, nr)) && !cache_wrong++)
			tap_diag("%s: nr %u always allowed: tree %d, linear %d, list %d", what, nr,
				 at, al, in(plain, nplain, nr));
		tree_max = st > tree_max ? st : tree_max;
		tree_sum += st;
		linear_sum += sl;
	}
	TAP_EQ_INT(cache_wrong, 0,
		   "%s: the kernel's action cache would find the same numbers always allowed "
		   "(exactly the plain list) in both layouts",
		   what);
	TAP_OK(2 * tree_sum < linear_sum && tree_max <= 16,
	       "%s: the action cache's walk of numbers 0..511 is %u instructions in the tree, "
	       "under half the linear's %u (at most %u for one number)",
	       what, tree_sum, linear_sum, tree_max);
}

static void test_layouts(void)
{
	/* The last three (the timer calls) only with vCPU 0 on the thread. */
	static const unsigned main_plain[] = {SYS_read,
					      SYS_write,
					      SYS_writev,
					      SYS_pread64,
					      SYS_close,
					      SYS_poll,
					      SYS_ppoll,
					      SYS_lseek,
					      SYS_fstat,
					      SYS_newfstatat,
					      SYS_futex,
					      SYS_clock_gettime,
					      SYS_clock_nanosleep,
					      SYS_nanosleep,
					      SYS_getpid,
					      SYS_gettid,
					      SYS_rt_sigaction,
					      SYS_rt_sigprocmask,
					      SYS_rt_sigreturn,
					      SYS_restart_syscall,
					      SYS_sigaltstack,
					      SYS_munmap,
					      SYS_brk,
					      SYS_mremap,
					      SYS_wait4,
					      SYS_sched_yield,
					      SYS_exit,
					      SYS_exit_group,
					      SYS_mincore,
					      SYS_timer_create,
					      SYS_timer_settime,
					      SYS_timer_delete};
	struct seccomp_vcpu_ctx vc[5] = {ctx, ctx, ctx, ctx, ctx};
	const struct seccomp_main_ctx mc[5] = {
	    {.pid = PID, .kick_signal = KICK, .vm_fd = VM_FD},
	    {.pid = PID, .kick_signal = KICK, .vm_fd = -1},
	    /* vCPU 0 on the caller's thread (test_main_with_vcpu) */
	    {.pid = PID, .kick_signal = KICK, .vm_fd = -1, .vcpu_fd = VCPU_FD},
	    {.pid = PID, .kick_signal = KICK, .vm_fd = -1, .vcpu_fd = VCPU_FD, .fast_arm = true},
	    {.pid = PID,
	     .kick_signal = KICK,
	     .vm_fd = VM_FD,
	     .vcpu_fd = VCPU_FD,
	     .fast_arm = true}};
	struct sock_filter t[SECCOMP_MAIN_MAX_INSNS], l[SECCOMP_MAIN_MAX_INSNS];
	char what[64];

	vc[1].vm_fd = -1; /* no irqchip, no fast paths to arm */
	memset(vc[2].vm_ioctls, 0, sizeof(vc[2].vm_ioctls));
	vc[2].vm_ioctls[0] = KVM_IRQ_LINE;
	memset(vc[3].vm_ioctls, 0, sizeof(vc[3].vm_ioctls));
	vc[3].vm_ioctls[2] = KVM_IOEVENTFD;
	vc[4] = (struct seccomp_vcpu_ctx){/* the console writer's */
					  .vcpu_fd = -1,
					  .write_fds = {1, 3, 2, -1},
					  .pid = PID,
					  .kick_signal = KICK};

	TAP_EQ_INT(
	    seccomp_vcpu_filter_layout(&ctx, (enum seccomp_layout)7, t, SECCOMP_MAIN_MAX_INSNS),
	    -EINVAL, "an unknown layout is refused with -EINVAL");
	TAP_EQ_INT(seccomp_vcpu_filter_layout(&ctx, SECCOMP_LAYOUT_TREE, t, 40), -E2BIG,
		   "tree layout: a 40-instruction buffer is refused with -E2BIG");
	for (size_t i = 0; i < N(vc); i++) {
		snprintf(what, sizeof(what), "vCPU filter, context %zu", i);
		compare_layouts(what,
				seccomp_vcpu_filter_layout(&vc[i], SECCOMP_LAYOUT_TREE, t,
							   SECCOMP_MAIN_MAX_INSNS),
				t,
				seccomp_vcpu_filter_layout(&vc[i], SECCOMP_LAYOUT_LINEAR, l,
							   SECCOMP_MAIN_MAX_INSNS),
				l, plain_allowed, N(plain_allowed));
	}
	for (size_t i = 0; i < N(mc); i++) {
		snprintf(what, sizeof(what), "main filter, context %zu", i);
		compare_layouts(what,
				seccomp_main_filter_layout(&mc[i], SECCOMP_LAYOUT_TREE, t,
							   SECCOMP_MAIN_MAX_INSNS),
				t,
				seccomp_main_filter_layout(&mc[i], SECCOMP_LAYOUT_LINEAR, l,
							   SECCOMP_MAIN_MAX_INSNS),
				l, main_plain, N(main_plain) - (mc[i].vcpu_fd > 0 ? 0 : 3));
	}
	nprog = seccomp_vcpu_filter(&ctx, prog, SECCOMP_VCPU_MAX_INSNS);
	TAP_OK(nprog > 0 &&
		   nprog == seccomp_vcpu_filter_layout(&ctx, SECCOMP_LAYOUT_TREE, t,
						       SECCOMP_MAIN_MAX_INSNS) &&
		   memcmp(prog, t, sizeof(t[0]) * (size_t)nprog) == 0,
	       "seccomp_vcpu_filter (what kestrel installs) is the tree layout");
}

int main(void)
{
	test_program();
	test_vm_ioctls();
	test_layouts();
	test_main_program();
	test_main_with_vcpu();
	test_installed();
	return tap_done();
}
