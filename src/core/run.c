/* run.c - running a VM: vCPU threads, the main thread's wait, and how every run stops. */
#include "core/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/dedicated.h"
#include "host/seccomp.h"
#include "core/vcpu.h"

/* ---- stopping ---- */

static void vm_kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return -EINTR */
}

int vm_kick_signal(const struct kestrel_vm *vm)
{
	return vm->cfg.kick_signal ? vm->cfg.kick_signal : SIGRTMIN + 1;
}

int vm_stop(struct kestrel_vm *vm, const struct kestrel_exit *why)
{
	uint64_t one = 1;

	pthread_mutex_lock(&vm->exit_lock);
	if (vm->exit.kind == KESTREL_EXIT_NONE) {
		vm->exit = *why;
		vm->tl.stop = vm_now_ns();
	}
	pthread_mutex_unlock(&vm->exit_lock);
	atomic_store(&vm->stopping, true);
	console_stop(vm); /* a vCPU waiting for console room must not hold up the stop */
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		/* immediate_exit covers a vCPU that is not inside KVM_RUN yet;
		 * the signal knocks out one that is. The thread sets `live`
		 * before its first KVM_RUN and we set immediate_exit before
		 * reading `live` (both seq_cst): either we see it live and
		 * signal it, or its KVM_RUN sees immediate_exit. */
		if (v->run)
			__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		/* Not the calling thread itself (a vCPU stopping the VM from its
		 * own exit, vCPU 0 on the caller's thread): it is not in KVM_RUN,
		 * and its next one sees immediate_exit. */
		if (atomic_load(&v->live) && !pthread_equal(v->self, pthread_self()))
			pthread_kill(v->self, vm_kick_signal(vm));
	}
	if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
		/* eventfd counter full: the main thread is being woken anyway */
	}
	return BUS_STOP;
}

int vm_stop_fmt(struct kestrel_vm *vm, struct vcpu *v, enum kestrel_exit_kind kind, int status,
		const char *fmt, ...)
{
	struct kestrel_exit e = {.kind = kind, .status = status, .cpu = -1};
	va_list ap;

	if (v) {
		e.cpu = (int)v->index;
		e.rip = regs_get_rip(&v->regs);
	}
	va_start(ap, fmt);
	vsnprintf(e.reason, sizeof(e.reason), fmt, ap);
	va_end(ap);
	return vm_stop(vm, &e);
}

void kestrel_vm_stop(struct kestrel_vm *vm, int signo)
{
	uint64_t one = 1;

	/* Signal handler context: only atomics and write(2). */
	atomic_store(&vm->stop_signo, signo ? signo : SIGTERM);
	/* vCPU 0 on the caller's thread (vm_run_inline): nobody polls stop_fd,
	 * so its next KVM_RUN must return at once (this may be that thread's
	 * handler, run between its look at stop_signo and KVM_RUN). */
	if (vm->inline_vcpu && vm->vcpus[0].run)
		__atomic_store_n(&vm->vcpus[0].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
		/* counter full: already being woken */
	}
}

/* ---- running ---- */

static int vm_start_threads(struct kestrel_vm *vm, struct kestrel_error *err)
{
	struct sigaction sa = {.sa_handler = vm_kick_handler}; /* no SA_RESTART */
	sigset_t all, old;

	sigemptyset(&sa.sa_mask);
	if (sigaction(vm_kick_signal(vm), &sa, NULL) < 0)
		return vm_err(err, -errno, "sigaction: %s", strerror(errno));
	/* vCPU threads start with every signal blocked (SIGINT/SIGTERM go to the
	 * caller's thread); each unblocks only the kick signal. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			vm_stop_fmt(vm, NULL, KESTREL_EXIT_HOST_ERROR, 0, "pthread_create: %s",
				    strerror(r));
			return vm_err(err, -r, "cannot start vCPU thread %u: %s", i, strerror(r));
		}
		v->joinable = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Join one vCPU thread. The stop protocol (vm_stop) cannot lose a wake-up,
 * but a vCPU blocked in an in-kernel HLT is only as good as the host's
 * signal check there, so a thread that is slow to leave is kicked again
 * (cheap, and only on the way out). */
static void vm_join_vcpu(struct kestrel_vm *vm, struct vcpu *v)
{
	struct timespec ts;

	if (!v->joinable)
		return;
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(v->thread, NULL, &ts) != ETIMEDOUT)
			break;
		if (atomic_load(&v->live))
			pthread_kill(v->self, vm_kick_signal(vm));
	}
	v->joinable = false;
	atomic_store(&v->live, false);
}

/*
 * vCPU 0 on the caller's thread: a 1-vCPU run under confine_caller (the
 * kestrel command) when that thread would have nothing else to wait for: no
 * timeout, no console input still open, no pinning, no in-kernel PIC/IOAPIC
 * (whose lines the writer's console tick cannot drive). One thread less to
 * start, hand the guest to and join: ~0.3 ms of a ~4 ms cold start here
 * (docs/coldstart.md). The stop protocol holds: a guest or device stop is
 * vm_stop on this thread; a signal's kestrel_vm_stop sets immediate_exit, so
 * the KVM_RUN after it returns at once and vcpu_run sees stop_signo; the
 * console writer ticks the coalesced ring meanwhile.
 */
static bool vm_can_run_inline(struct kestrel_vm *vm, uint64_t timeout_ms)
{
	bool full;

	if (vm->ncpus != 1 || !vm->cfg.confine_caller || vm->cfg.no_seccomp || timeout_ms ||
	    vm->cfg.pin || vm->has_irqchip)
		return false;
	/* Input at its end already (/dev/null, an empty pipe closed): a look. */
	int fd = console_in_wait_fd(vm, &full);
	if (fd >= 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 0) > 0)
			console_in_read(vm);
		fd = console_in_wait_fd(vm, &full);
	}
	return fd < 0 && !full;
}

static int vm_run_inline(struct kestrel_vm *vm, struct kestrel_error *err)
{
	struct sigaction sa = {.sa_handler = vm_kick_handler}; /* no SA_RESTART */
	int r;

	sigemptyset(&sa.sa_mask);
	if (sigaction(vm_kick_signal(vm), &sa, NULL) < 0)
		return vm_err(err, -errno, "sigaction: %s", strerror(errno));
	/* The report reads it later, when this thread can open nothing. */
	if (vm->proc_status_fd < 0)
		vm->proc_status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	r = vcpu_run_on_caller(&vm->vcpus[0]);
	console_tick_end(vm);
	if (r < 0)
		vm_err(err, r,
		       "cannot confine the calling thread with seccomp: %s (%s runs without)",
		       strerror(-r), vm_name(vm, "no_seccomp"));
	int sig = atomic_load(&vm->stop_signo);
	if (sig)
		vm_stop_fmt(vm, NULL, KESTREL_EXIT_STOPPED, sig, "stopped by signal %d (%s)", sig,
			    strsignal(sig));
	return r;
}

int kestrel_vm_run(struct kestrel_vm *vm, uint64_t timeout_ms, struct kestrel_exit *exit,
		   struct kestrel_error *err)
{
	struct pollfd pfd[2] = {{.fd = vm->stop_fd, .events = POLLIN},
				{.fd = -1, .events = POLLIN}};
	struct timespec start, now;
	int r;

	if (!vm->loaded)
		return vm_err(err, -EINVAL, "no guest image loaded");
	if (vm->ran)
		return vm_err(err, -EBUSY, "this VM has already run; create a new one");
	vm->ran = true;
	vm->tl.run_start = vm_now_ns();
	clock_gettime(CLOCK_MONOTONIC, &start);
	vm->inline_vcpu = vm_can_run_inline(vm, timeout_ms);
	r = console_start(vm);
	if (r == 0 && vm->inline_vcpu) {
		vm_info(vm,
			"run: vCPU 0 on the calling thread (one vCPU, nothing else to wait for)");
		r = vm_run_inline(vm, err);
		goto done;
	}
	if (r < 0)
		vm_err(err, r, "cannot start the console writer thread: %s", strerror(-r));
	else
		r = vm_start_threads(vm, err);
	/* The report reads it later, when this thread can open nothing. */
	if (r == 0 && vm->cfg.confine_caller && !vm->cfg.no_seccomp && vm->proc_status_fd < 0)
		vm->proc_status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (r == 0 && vm->cfg.confine_caller && !vm->cfg.no_seccomp &&
	    (r = seccomp_install_main(
		 &(struct seccomp_main_ctx){.pid = getpid(),
					    .kick_signal = vm_kick_signal(vm),
					    .vm_fd = vm->has_irqchip ? vm->vm_fd : -1,
					    .vcpu_fd = -1})) < 0) {
		vm_stop_fmt(vm, NULL, KESTREL_EXIT_HOST_ERROR, KESTREL_STATUS_HOST,
			    "confining the calling thread with seccomp failed: %s", strerror(-r));
		vm_err(err, r,
		       "cannot confine the calling thread with seccomp: %s (%s runs without)",
		       strerror(-r), vm_name(vm, "no_seccomp"));
	}
	while (r == 0 && !atomic_load(&vm->stopping)) {
		int wait = -1;
		if (timeout_ms) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			/* Signed: tv_nsec goes down when a second boundary is crossed
			 * (unsigned, that wrapped to ~2^64 and ended runs early). */
			int64_t el_ns = (int64_t)(now.tv_sec - start.tv_sec) * 1000000000 +
					(now.tv_nsec - start.tv_nsec);
			uint64_t el = el_ns > 0 ? (uint64_t)el_ns / 1000000 : 0;
			if (el >= timeout_ms) {
				vm_stop_fmt(vm, NULL, KESTREL_EXIT_TIMEOUT, KESTREL_STATUS_TIMEOUT,
					    "guest still running after the %llu ms timeout",
					    (unsigned long long)timeout_ms);
				break;
			}
			wait = (int)(timeout_ms - el > 1000000 ? 1000000 : timeout_ms - el);
		}
		/* Console bytes KVM queued (coalesced PIO) must not wait for the
		 * guest's next exit, which may never come: drain them here too. */
		/* Console input, unless there is none or it waits for the guest to
		 * make room (then look again after a tick). */
		bool in_full;
		pfd[1].fd = console_in_wait_fd(vm, &in_full);
		if ((vm->cons.ring || in_full) && (wait < 0 || wait > CONSOLE_TICK_MS))
			wait = CONSOLE_TICK_MS;
		console_tick(vm);
		if (poll(pfd, 2, wait) > 0) {
			uint64_t v;
			if (pfd[0].revents && read(vm->stop_fd, &v, sizeof(v)) < 0) {
				/* EAGAIN: already drained */
			}
			if (pfd[1].revents)
				console_in_read(vm);
		}
		int sig = atomic_load(&vm->stop_signo);
		if (sig)
			vm_stop_fmt(vm, NULL, KESTREL_EXIT_STOPPED, sig,
				    "stopped by signal %d (%s)", sig, strsignal(sig));
	}
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm_join_vcpu(vm, &vm->vcpus[i]);
done:
	console_tick(vm);
	console_finish(vm);
	console_in_finish(vm);
	vm_devices_finish(vm);
	unsigned missed = atomic_load(&vm->pio_missed);
	if (missed > VM_PIO_LOG_MAX)
		vm_log(vm,
		       "unhandled ports: the guest touched %u that no device claims, the first "
		       "%u logged above; %llu unhandled accesses in all (ports and MMIO)",
		       missed, VM_PIO_LOG_MAX, (unsigned long long)atomic_load(&vm->unhandled));
	vm->tl.run_end = vm_now_ns();
	*exit = vm->exit;
	return r;
}

int kestrel_vm_vcpu_stats(const struct kestrel_vm *vm, unsigned cpu, struct kestrel_vcpu_stats *out)
{
	if (cpu >= vm->ncpus)
		return -EINVAL;
	const struct vcpu *v = &vm->vcpus[cpu];
	*out = v->stats;
	out->reg_ioctls = v->regs.n.ioctls;
	out->reg_reads = v->regs.n.reads;
	out->reg_writes = v->regs.n.writes;
	out->reg_flushes = v->regs.n.flushes;
	out->sync_regs = v->regs.on_page != 0;
	out->unhandled = atomic_load(&vm->unhandled);
	return 0;
}

int kestrel_vm_cpuid(const struct kestrel_vm *vm, unsigned cpu, struct kestrel_cpuid_leaf *out,
		     unsigned max)
{
	struct kvm_cpuid2 *own = NULL;
	const struct kvm_cpuid2 *t;
	uint32_t nent;

	if (cpu >= vm->ncpus || !vm->cpuid)
		return -EINVAL;
	/* Before a guest is loaded there is no vCPU yet: the table it will get. */
	t = vm->vcpus[cpu].cpuid;
	if (!t && !(t = own = vcpu_cpuid_table(vm, cpu)))
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nent && i < max; i++) {
		const struct kvm_cpuid_entry2 *e = &t->entries[i];
		out[i] = (struct kestrel_cpuid_leaf){
		    .function = e->function,
		    .index = e->index,
		    .indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
		    .eax = e->eax,
		    .ebx = e->ebx,
		    .ecx = e->ecx,
		    .edx = e->edx,
		};
	}
	nent = t->nent;
	free(own);
	return nent > INT32_MAX ? INT32_MAX : (int)nent;
}

int kestrel_exit_status(const struct kestrel_exit *e)
{
	switch (e->kind) {
	case KESTREL_EXIT_GUEST:
	case KESTREL_EXIT_DEBUG_EXIT:
		/* 0..119 only: a guest must not pose as kestrel (abi.h). */
		return e->status >= 0 && e->status <= KESTREL_STATUS_GUEST_MAX
			   ? e->status
			   : KESTREL_STATUS_GUEST_ERROR;
	case KESTREL_EXIT_POWEROFF:
		return 0;
	case KESTREL_EXIT_RESET:
		return KESTREL_STATUS_RESET;
	case KESTREL_EXIT_TRIPLE_FAULT:
		return KESTREL_STATUS_TRIPLE_FAULT;
	case KESTREL_EXIT_STRICT:
		return KESTREL_STATUS_STRICT;
	case KESTREL_EXIT_TIMEOUT:
		return KESTREL_STATUS_TIMEOUT;
	case KESTREL_EXIT_STOPPED:
		return 128 + e->status;
	case KESTREL_EXIT_HOST_ERROR:
		return KESTREL_STATUS_HOST;
	case KESTREL_EXIT_GUEST_ERROR:
	case KESTREL_EXIT_NONE:
	default:
		return KESTREL_STATUS_GUEST_ERROR;
	}
}
