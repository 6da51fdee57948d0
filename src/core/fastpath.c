/* fastpath.c - kestrel's exit fast paths per VM: set-up, the main thread's console tick, the end of a run, counters. */
#include "core/fastpath.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/console.h"
#include "core/vm.h"

int fastpath_setup(struct kestrel_vm *vm, struct kestrel_error *err)
{
	int r;

	if (vm->cfg.no_fast_io)
		return 0;
	r = console_setup_coalescing(vm, KESTREL_PORT_COM1);
	if (r < 0) {
		err->err = r;
		snprintf(err->msg, sizeof(err->msg), "KVM_REGISTER_COALESCED_MMIO (UART THR, port 0x%x): %s",
			 KESTREL_PORT_COM1, strerror(-r));
		return r;
	}
	r = doorbell_setup_ioeventfd(vm, &vm->doorbell);
	if (r < 0 && r != -ENOTSUP) {
		err->err = r;
		snprintf(err->msg, sizeof(err->msg), "KVM_IOEVENTFD (doorbell, port 0x%x): %s",
			 KESTREL_PORT_DOORBELL, strerror(-r));
		return r;
	}
	return 0;
}

/*
 * A drain from the calling (main) thread. vCPU threads run with every signal
 * blocked, so a console that went away (a closed pipe) only gives them EPIPE;
 * the caller's thread may not block SIGPIPE, and a library must not end its
 * process for a guest's output. So SIGPIPE is blocked around the write and a
 * SIGPIPE the write raised is taken back before the old mask returns.
 */
static void fastpath_drain_here(struct kestrel_vm *vm)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe, old, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	console_drain(vm, NULL, true);
	if (!sigismember(&old, SIGPIPE)) {
		if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe, NULL, &zero);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
}

void fastpath_tick(struct kestrel_vm *vm)
{
	if (console_pending(&vm->cons))
		fastpath_drain_here(vm);
}

void fastpath_finish(struct kestrel_vm *vm)
{
	if (console_pending(&vm->cons))
		fastpath_drain_here(vm);
	doorbell_collect(&vm->doorbell);
}

int kestrel_vm_fastpath_stats(const struct kestrel_vm *vm, struct kestrel_fastpath_stats *out)
{
	struct console *c = (struct console *)&vm->cons;

	pthread_mutex_lock(&c->lock);
	*out = (struct kestrel_fastpath_stats){
		.console_coalesced = c->ring != NULL,
		.console_ring_entries = c->entries,
		.console_drains = c->drains,
		.console_writes = atomic_load(&c->writes),
		.doorbell_ioeventfd = vm->doorbell.fd >= 0,
		.doorbell_rings = vm->doorbell.kvm_rings + atomic_load(&vm->doorbell.exit_rings),
		.doorbell_exits = atomic_load(&vm->doorbell.exit_rings),
	};
	pthread_mutex_unlock(&c->lock);
	return 0;
}
