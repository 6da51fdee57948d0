/* seccomp.h - the seccomp filter that confines each vCPU thread to what the run loop, devices and
 * shutdown need. */
#ifndef KESTREL_SECCOMP_H
#define KESTREL_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Why vCPU threads, and not the whole process: the vCPU threads are where
 * guest-controlled data is handled (every exit, every device access, every
 * hypercall). Each installs its filter itself, after its start-state
 * ioctls and before its first KVM_RUN, so no TSYNC is needed and every
 * vCPU thread is covered. The calling thread stays free to do what a
 * library user does after (or between) runs: read KVM's stats fd, write
 * reports, create the next VM; a process-wide filter installed by the
 * library would break exactly that (a second VM needs open, mmap, ...).
 *
 * What a vCPU thread may do (everything else kills the process with SIGSYS,
 * SECCOMP_RET_KILL_PROCESS: a vCPU thread making any other call means kestrel
 * is compromised or has a bug, and continuing is not safe):
 *   ioctl        only on its own vCPU fd, only KVM_RUN, KVM_{GET,SET}_{REGS,
 *                SREGS,FPU,VCPU_EVENTS,DEBUGREGS,MSRS}, KVM_TRANSLATE,
 *                KVM_GET_XCRS (the host quirks, quirk.h);
 *                on the VM fd only what vm_ioctls lists: KVM_IRQ_LINE (a
 *                full irqchip), KVM_REGISTER_COALESCED_MMIO and KVM_IOEVENTFD
 *                (while fast paths wait to be armed)
 *   write/writev only to the console, log and stop (eventfd) fds and stderr
 *   tgkill       only to this process, only the kick signal (vm_stop)
 *   mmap/mprotect only without PROT_EXEC; mmap only MAP_PRIVATE|MAP_ANONYMOUS
 *                (glibc and sanitizer runtimes; no file or shared mapping)
 *   madvise      only MADV_DONTNEED, FREE, HUGEPAGE, NOHUGEPAGE, DONTDUMP, DODUMP
 *   futex, getpid, gettid, rt_sigprocmask, rt_sigreturn, restart_syscall,
 *   clock_gettime, munmap, brk, sigaltstack, exit, exit_group
 * found by running every guest and the tests under `strace -f` (the ASan
 * build adds mmap/munmap/madvise/sigaltstack when a thread ends; clock_gettime
 * is the vDSO's fallback; brk, mmap and mprotect are malloc's). Only the
 * x86-64 syscall ABI is allowed (no i386 `int 0x80`, no x32 numbers).
 * A new device or hypercall that needs another call must add it here.
 */

/* What a vCPU thread's filter is built from. */
struct seccomp_vcpu_ctx {
	int vcpu_fd;	       /* the fd the listed ioctls may use */
	int vm_fd;	       /* the fd vm_ioctls may use (0 or -1: none) */
	unsigned vm_ioctls[3]; /* on vm_fd: KVM_IRQ_LINE, KVM_REGISTER_COALESCED_MMIO,
				* KVM_IOEVENTFD (an exit arms a device's fast
				* paths); 0 = unused */
	int write_fds[4];      /* console, log, stop eventfd, stderr; -1 = unused */
	pid_t pid;	       /* tgkill's only target process */
	int kick_signal;       /* tgkill's only signal */
};

#define SECCOMP_VCPU_MAX_INSNS 160u

/*
 * How a filter reaches the rule for a syscall number; the policy (what is
 * allowed, with which arguments, the same ABI checks) is the same in both.
 * The kernel walks the program for every syscall number of both ABIs when it
 * installs a filter, with interrupts off (seccomp's action cache: which
 * numbers are always allowed), and converts and JIT-compiles it: the walk's
 * length is paid ~940 times per install, the program's length once
 * (docs/containment.md, bench/seccomp-install.c).
 */
enum seccomp_layout {
	SECCOMP_LAYOUT_TREE,   /* a binary search over ranges of numbers, each argument
				* check once after it; a set of values shares one return:
				* what kestrel installs */
	SECCOMP_LAYOUT_LINEAR, /* one "nr == k" test per allowed number in list order, each
				* check inline, one return per value: the program before
				* issue 16, for the tests and the benchmark */
};

/*
 * seccomp_vcpu_filter - write the classic-BPF program for *c into prog
 * (room for `cap` instructions), in SECCOMP_LAYOUT_TREE. Pure: no syscall.
 * Returns the number of instructions, or -E2BIG if cap is too small.
 */
int seccomp_vcpu_filter(const struct seccomp_vcpu_ctx *c, struct sock_filter *prog, unsigned cap);

/* seccomp_vcpu_filter_layout - the same in a given layout (-EINVAL: no such layout). */
int seccomp_vcpu_filter_layout(const struct seccomp_vcpu_ctx *c, enum seccomp_layout layout,
			       struct sock_filter *prog, unsigned cap);

/*
 * seccomp_install_vcpu - confine the calling thread (and threads it creates
 * later) with that program: PR_SET_NO_NEW_PRIVS, then
 * seccomp(SECCOMP_SET_MODE_FILTER). Other threads are not affected.
 * Returns 0, or a negative errno (-ENOTSUP when the kernel lacks
 * SECCOMP_RET_KILL_PROCESS; kestrel then refuses to run unconfined).
 */
int seccomp_install_vcpu(const struct seccomp_vcpu_ctx *c);

/*
 * The calling thread's filter (kestrel_config.confine_caller): once the VM's
 * threads are started, the thread that runs kestrel_vm_run needs little:
 * wait (poll, read the stop eventfd, futex, join), write (stderr, reports),
 * signals, memory (as above: nothing executable, private anonymous mmap, the
 * allocators' madvise), close, fstat, lseek, pread (KVM's stats fds), wait4
 * (a helper the caller started earlier), mincore, ioctl KVM_CHECK_EXTENSION,
 * KVM_GET_STATS_FD, KVM_IOEVENTFD and KVM_UNREGISTER_COALESCED_MMIO (teardown) only, and
 * KVM_IRQ_LINE on the VM fd (vm_fd), tgkill in this
 * process with the kick signal or SIGABRT, exit. No open, socket, execve, fork/clone, rename,
 * unlink, kill, ptrace, or any other ioctl.
 */
struct seccomp_main_ctx {
	pid_t pid;
	int kick_signal;
	int vm_fd; /* KVM_IRQ_LINE on this fd only (0 or -1: none): the UART's interrupt when
		    * console input arrives or the console tick drains THR writes */
	/* The caller's thread is also vCPU 0's (a 1-vCPU run, run.c): the vCPU
	 * ioctls on this fd as in the vCPU filter (0 or -1: none), the console
	 * tick's timer_create/settime/delete, and, with fast_arm,
	 * KVM_REGISTER_COALESCED_MMIO (the UART's zone armed on use). */
	int vcpu_fd;
	bool fast_arm;
};

#define SECCOMP_MAIN_MAX_INSNS 192u

/* seccomp_main_filter - that program into prog (pure, SECCOMP_LAYOUT_TREE); instructions or
 * -E2BIG. seccomp_main_filter_layout - the same in a given layout. */
int seccomp_main_filter(const struct seccomp_main_ctx *c, struct sock_filter *prog, unsigned cap);
int seccomp_main_filter_layout(const struct seccomp_main_ctx *c, enum seccomp_layout layout,
			       struct sock_filter *prog, unsigned cap);

/* seccomp_install_main - confine the calling thread with it; 0 or -errno. */
int seccomp_install_main(const struct seccomp_main_ctx *c);

#endif
