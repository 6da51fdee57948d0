/* console.c - guest console output: the coalesced-PIO ring for the UART THR, drained in order, written in batches. */
#include "core/console.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/vm.h"
#include "dev/doorbell.h"

void console_init(struct console *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void console_destroy(struct console *c)
{
	pthread_mutex_destroy(&c->lock);
}

void console_setup_ring(struct kestrel_vm *vm)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!vm->ncoalesced || !vm->vcpus || !vm->vcpus[0].run)
		return;
	/* One ring per VM, mapped into every vCPU's mmap at the same page. */
	vm->cons.ring = (struct kvm_coalesced_mmio_ring *)((char *)vm->vcpus[0].run +
							   KVM_COALESCED_MMIO_PAGE_OFFSET * page);
	/* KVM_COALESCED_MMIO_MAX, which needs the kernel's PAGE_SIZE. */
	vm->cons.ring_max = (uint32_t)(((size_t)page - sizeof(struct kvm_coalesced_mmio_ring)) /
				       sizeof(struct kvm_coalesced_mmio));
}

/* The console a drain is running on, on this thread: console_write() then
 * gathers into the line buffer (the lock is held) instead of writing. */
static __thread struct console *console_draining;

/* Straight to the embedder's console_cb (called under the console lock:
 * see console_write), else to console_fd: all of it, retrying short writes and EINTR. */
static void console_out(struct kestrel_vm *vm, const uint8_t *p, size_t len)
{
	uint64_t none = 0;

	if (!len)
		return;
	if (!atomic_load_explicit(&vm->tl.console, memory_order_relaxed))
		atomic_compare_exchange_strong(&vm->tl.console, &none, vm_now_ns());
	atomic_fetch_add_explicit(&vm->cons.writes, 1, memory_order_relaxed);
	if (vm->cfg.console_cb) {
		vm->cfg.console_cb(vm->cfg.console_opaque, p, len);
		return;
	}
	while (len) {
		ssize_t n = write(vm->cfg.console_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* console gone (closed pipe): the guest keeps running */
		p += n;
		len -= (size_t)n;
	}
}

/* Write the buffer up to its last newline (all of it with `all`); keep the rest. Lock held. */
static void console_flush_locked(struct kestrel_vm *vm, bool all)
{
	struct console *c = &vm->cons;
	size_t len = atomic_load_explicit(&c->len, memory_order_relaxed), cut = len;

	if (!len)
		return;
	if (!all) {
		const uint8_t *nl = memrchr(c->buf, '\n', len);
		if (!nl)
			return;
		cut = (size_t)(nl - c->buf) + 1;
	}
	console_out(vm, c->buf, cut);
	memmove(c->buf, c->buf + cut, len - cut);
	atomic_store_explicit(&c->len, len - cut, memory_order_relaxed);
}

/* A byte a handler transmitted during a drain: into the line buffer (lock held). */
static void console_gather(struct kestrel_vm *vm, const uint8_t *p, size_t n)
{
	struct console *c = &vm->cons;

	while (n) {
		size_t len = atomic_load_explicit(&c->len, memory_order_relaxed);
		size_t k = sizeof(c->buf) - len < n ? sizeof(c->buf) - len : n;
		if (k == 0) {
			console_flush_locked(vm, true);
			continue;
		}
		memcpy(c->buf + len, p, k);
		atomic_store_explicit(&c->len, len + k, memory_order_relaxed);
		p += k;
		n -= k;
	}
}

void console_drain(struct kestrel_vm *vm, struct vcpu *v, bool flush_partial)
{
	struct console *c = &vm->cons;
	struct kvm_coalesced_mmio_ring *r = c->ring;
	uint32_t first, last;

	pthread_mutex_lock(&c->lock);
	if (r) {
		first = r->first;
		last = __atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
		if (first != last)
			c->drains++;
		console_draining = c;
		for (; first != last; first = (first + 1) % c->ring_max) {
			struct kvm_coalesced_mmio *e = &r->coalesced_mmio[first];
			const struct bus_dev *d = NULL;

			c->entries++;
			if (e->len <= sizeof(e->data))
				d = e->pio ? (e->phys_addr < 0x10000
						      ? bus_find_pio(&vm->bus, (uint16_t)e->phys_addr)
						      : NULL)
					   : bus_find_mmio(&vm->bus, e->phys_addr, e->len);
			/* The owning device's handler, as an exit would have called it;
			 * ring entries name no vCPU. */
			if (d)
				d->fn(NULL, d->opaque, e->phys_addr - d->base, e->data, e->len, true);
			/* Free the slot for KVM only once it is applied. */
			__atomic_store_n(&r->first, (first + 1) % c->ring_max, __ATOMIC_RELEASE);
		}
		console_draining = NULL;
	}
	console_flush_locked(vm, flush_partial);
	pthread_mutex_unlock(&c->lock);
}

void console_write(struct kestrel_vm *vm, const void *buf, size_t len)
{
	struct console *c = &vm->cons;

	if (console_draining == c) {
		console_gather(vm, buf, len);
		return;
	}
	/* A callback is promised one call at a time: it always takes the lock. */
	if (!vm->cfg.console_cb && !atomic_load_explicit(&c->len, memory_order_relaxed)) {
		console_out(vm, buf, len);
		return;
	}
	/* The UART's partial line came first: keep the order. */
	pthread_mutex_lock(&c->lock);
	console_flush_locked(vm, true);
	console_out(vm, buf, len);
	pthread_mutex_unlock(&c->lock);
}

/*
 * A drain from the calling (main) thread. vCPU threads run with every signal
 * blocked, so a console that went away (a closed pipe) only gives them EPIPE;
 * the caller's thread may not block SIGPIPE, and a library must not end its
 * process for a guest's output. So SIGPIPE is blocked around the write and a
 * SIGPIPE the write raised is taken back before the old mask returns.
 */
static void console_drain_here(struct kestrel_vm *vm)
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

void console_tick(struct kestrel_vm *vm)
{
	if (console_pending(&vm->cons))
		console_drain_here(vm);
}

int kestrel_vm_fastpath_stats(const struct kestrel_vm *vm, struct kestrel_fastpath_stats *out)
{
	struct console *c = (struct console *)&vm->cons;
	const void *bell = vm_device_state(vm, &doorbell_dev);
	bool bell_fd = false;
	uint64_t rings = 0, exits = 0;

	if (bell)
		doorbell_counts(bell, &bell_fd, &rings, &exits);
	pthread_mutex_lock(&c->lock);
	*out = (struct kestrel_fastpath_stats){
		.console_coalesced = c->ring != NULL,
		.console_ring_entries = c->entries,
		.console_drains = c->drains,
		.console_writes = atomic_load(&c->writes),
		.doorbell_ioeventfd = bell_fd,
		.doorbell_rings = rings,
		.doorbell_exits = exits,
	};
	pthread_mutex_unlock(&c->lock);
	return 0;
}
