/* console.c - guest console output: the coalesced-PIO ring for the UART THR, drained in order,
 * written in batches. */
#include "core/console.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "core/vm.h"
#include "dev/doorbell.h"
#include "host/seccomp.h"

#define OUT_SIZE (CONSOLE_OUT_CAP + CONSOLE_OUT_SLACK)

void console_init(struct console *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->out.lock, NULL);
	pthread_cond_init(&c->out.data, NULL);
	pthread_cond_init(&c->out.room, NULL);
	pthread_cond_init(&c->out.done, NULL);
}

void console_destroy(struct console *c)
{
	free(c->out.buf);
	c->out.buf = NULL;
	pthread_cond_destroy(&c->out.done);
	pthread_cond_destroy(&c->out.room);
	pthread_cond_destroy(&c->out.data);
	pthread_mutex_destroy(&c->out.lock);
	pthread_mutex_destroy(&c->lock);
}

/* ---- the writer thread: the only one that writes console_fd ---- */

static void console_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_nsec += (long)ms * 1000000;
	ts->tv_sec += ts->tv_nsec / 1000000000;
	ts->tv_nsec %= 1000000000;
}

static void *console_writer(void *arg)
{
	struct kestrel_vm *vm = arg;
	struct console_out *o = &vm->cons.out;
	const struct kestrel_config *cfg = &vm->cfg;
	struct seccomp_vcpu_ctx sc = {
	    .vcpu_fd = -1, /* no ioctl at all */
	    .write_fds = {cfg->console_fd, cfg->log_fd, 2, -1},
	    .pid = getpid(),
	    .kick_signal = vm_kick_signal(vm),
	};
	int r = cfg->no_seccomp ? 0 : seccomp_install_vcpu(&sc);

	pthread_mutex_lock(&o->lock);
	if (r < 0)
		o->error = -r; /* unconfined output is not worth it: drop */
	for (;;) {
		while (!o->len && !o->closing && !o->abandon && !o->error) {
			if (!vm->inline_vcpu || !vm->cons.ring) {
				pthread_cond_wait(&o->data, &o->lock);
				continue;
			}
			/* vCPU 0 runs on the caller's thread, which cannot tick the
			 * coalesced ring while the guest runs: bytes KVM queued must
			 * not wait for the guest's next exit, so tick it here. */
			struct timespec ts;
			console_deadline(&ts, CONSOLE_TICK_MS);
			if (pthread_cond_timedwait(&o->data, &o->lock, &ts) == ETIMEDOUT) {
				pthread_mutex_unlock(&o->lock);
				console_tick(vm);
				pthread_mutex_lock(&o->lock);
			}
		}
		if (o->error || o->abandon || !o->len)
			break;
		size_t chunk = o->len < OUT_SIZE - o->head ? o->len : OUT_SIZE - o->head;
		const uint8_t *p = o->buf + o->head; /* producers only append behind it */
		pthread_mutex_unlock(&o->lock);
		ssize_t n = write(cfg->console_fd, p, chunk);
		int e = errno;
		pthread_mutex_lock(&o->lock);
		if (n > 0) {
			o->head = (o->head + (size_t)n) % OUT_SIZE;
			o->len -= (size_t)n;
			o->taken += (uint64_t)n;
			atomic_fetch_add_explicit(&vm->cons.writes, 1, memory_order_relaxed);
			pthread_cond_broadcast(&o->room);
			pthread_cond_broadcast(&o->done);
		} else if (n < 0 && (e == EINTR || e == EAGAIN)) {
			continue; /* a kick (abandon is looked at above), or an O_NONBLOCK fd */
		} else {
			o->error = n < 0 ? e : EIO;
		}
	}
	o->dropped += o->len;
	o->len = 0;
	o->running = false;
	pthread_cond_broadcast(&o->room);
	pthread_cond_broadcast(&o->done);
	pthread_mutex_unlock(&o->lock);
	return NULL;
}

/* Whether fd is a console that never makes its writer wait: a regular file
 * (page cache; a full disk is an error, not a stall) or /dev/null. */
static bool console_fd_direct(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return false;
	return S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3));
}

/* Output written in place, whole (short writes and EINTR retried), in order. */
static void console_put(struct kestrel_vm *vm, const uint8_t *p, size_t len)
{
	struct console_out *o = &vm->cons.out;

	pthread_mutex_lock(&o->lock);
	while (len && !o->error) {
		ssize_t n = write(vm->cfg.console_fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			o->taken += (uint64_t)n;
			atomic_fetch_add_explicit(&vm->cons.writes, 1, memory_order_relaxed);
		} else if (n < 0 && errno == EINTR) {
			continue; /* the tick's kick */
		} else {
			o->error = n < 0 ? errno : EIO;
		}
	}
	o->dropped += len;
	pthread_mutex_unlock(&o->lock);
}

int console_start(struct kestrel_vm *vm)
{
	struct console_out *o = &vm->cons.out;
	sigset_t all, old;
	int r;

	if (!vm->cfg.console_cb && console_fd_direct(vm->cfg.console_fd)) {
		o->direct = true;
		return 0;
	}
	if (!o->buf && !(o->buf = malloc(OUT_SIZE)))
		return -ENOMEM;
	sigfillset(&all);
	sigdelset(&all, vm_kick_signal(vm));
	pthread_sigmask(SIG_SETMASK, &all, &old);
	o->running = true;
	r = pthread_create(&o->thread, NULL, console_writer, vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r)
		o->running = false;
	return -r;
}

void console_stop(struct kestrel_vm *vm)
{
	struct console_out *o = &vm->cons.out;

	pthread_mutex_lock(&o->lock);
	o->stopping = true;
	pthread_cond_broadcast(&o->room);
	pthread_mutex_unlock(&o->lock);
}

void console_zone_armed(struct kestrel_vm *vm)
{
	struct console_out *o = &vm->cons.out;
	struct sigevent ev = {.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = vm_kick_signal(vm)};
	struct itimerspec every = {.it_interval = {0, CONSOLE_TICK_MS * 1000000L},
				   .it_value = {0, CONSOLE_TICK_MS * 1000000L}};

	if (!vm->inline_vcpu || !o->direct || o->ticking)
		return;
	ev._sigev_un._tid = gettid(); /* sigev_notify_thread_id: not in glibc 2.36 */
	if (timer_create(CLOCK_MONOTONIC, &ev, &o->tick) < 0) {
		vm_log(vm,
		       "console: no tick timer (%s): coalesced output waits for the guest's "
		       "next exit",
		       strerror(errno));
		return;
	}
	o->ticking = true;
	if (timer_settime(o->tick, 0, &every, NULL) < 0)
		vm_log(vm,
		       "console: the tick timer did not start (%s): coalesced output waits "
		       "for the guest's next exit",
		       strerror(errno));
}

void console_tick_end(struct kestrel_vm *vm)
{
	struct console_out *o = &vm->cons.out;

	if (o->ticking)
		timer_delete(o->tick);
	o->ticking = false;
}

void console_finish(struct kestrel_vm *vm)
{
	struct console_out *o = &vm->cons.out;
	uint64_t last;
	uint64_t idle_since = vm_now_ns();
	struct timespec ts;
	bool started;

	pthread_mutex_lock(&o->lock);
	started = o->running;
	o->closing = true;
	pthread_cond_broadcast(&o->data);
	last = o->taken;
	while (o->running) {
		console_deadline(&ts, CONSOLE_TICK_MS);
		pthread_cond_timedwait(&o->done, &o->lock, &ts);
		if (o->taken != last) {
			last = o->taken;
			idle_since = vm_now_ns();
		} else if (vm_now_ns() - idle_since >= CONSOLE_STALL_MS * 1000000ull) {
			o->abandon = true; /* and knock it out of its write(2), until it leaves */
			pthread_kill(o->thread, vm_kick_signal(vm));
		}
	}
	pthread_mutex_unlock(&o->lock);
	if (started)
		pthread_join(o->thread, NULL);
	if (o->abandon && o->dropped)
		vm_log(vm,
		       "console: the reader took no output for %u ms after the VM stopped: "
		       "%llu bytes of guest output dropped",
		       CONSOLE_STALL_MS, (unsigned long long)o->dropped);
	else if (o->error && o->error != EPIPE)
		vm_log(vm, "console: writing guest output failed (%s); %llu bytes dropped",
		       strerror(o->error), (unsigned long long)o->dropped);
}

/* Bytes for the writer. A vCPU thread waits for room while the VM runs; the
 * main thread (console_nowait) and anyone after a stop drop what cannot fit. */
static __thread bool console_nowait;

static void console_queue(struct kestrel_vm *vm, const uint8_t *p, size_t len)
{
	struct console_out *o = &vm->cons.out;

	if (o->direct) {
		console_put(vm, p, len);
		return;
	}
	pthread_mutex_lock(&o->lock);
	while (len) {
		size_t limit = console_nowait ? OUT_SIZE : CONSOLE_OUT_CAP;
		size_t room = o->len < limit ? limit - o->len : 0;
		if (o->error || !o->buf || (!o->running && !room)) {
			o->dropped += len; /* no writer (after the run), or the console is gone */
			break;
		}
		if (!room) {
			/* vCPU 0 on the caller's thread: a signal's stop is only
			 * stop_signo (kestrel_vm_stop cannot wake us), so look at
			 * it every tick while waiting. */
			if (console_nowait || o->stopping ||
			    (vm->inline_vcpu && atomic_load(&vm->stop_signo))) {
				o->dropped += len;
				break;
			}
			if (vm->inline_vcpu) {
				struct timespec ts;
				console_deadline(&ts, CONSOLE_TICK_MS);
				pthread_cond_timedwait(&o->room, &o->lock, &ts);
			} else {
				pthread_cond_wait(&o->room, &o->lock);
			}
			continue;
		}
		size_t k = len < room ? len : room, tail = (o->head + o->len) % OUT_SIZE;
		size_t first = k < OUT_SIZE - tail ? k : OUT_SIZE - tail;
		memcpy(o->buf + tail, p, first);
		memcpy(o->buf, p + first, k - first);
		o->len += k;
		p += k;
		len -= k;
		pthread_cond_signal(&o->data);
	}
	pthread_mutex_unlock(&o->lock);
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

/* To the embedder's console_cb (called under the console lock: see
 * console_write), else to the writer thread, in order. */
static void console_out(struct kestrel_vm *vm, const uint8_t *p, size_t len)
{
	uint64_t none = 0;

	if (!len)
		return;
	if (!atomic_load_explicit(&vm->tl.console, memory_order_relaxed))
		atomic_compare_exchange_strong(&vm->tl.console, &none, vm_now_ns());
	if (vm->cfg.console_cb) {
		atomic_fetch_add_explicit(&vm->cons.writes, 1, memory_order_relaxed);
		vm->cfg.console_cb(vm->cfg.console_opaque, p, len);
		return;
	}
	console_queue(vm, p, len);
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

static void console_drain_locked(struct kestrel_vm *vm, bool flush_partial)
{
	struct console *c = &vm->cons;
	struct kvm_coalesced_mmio_ring *r = c->ring;
	uint32_t first, last;

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
				d->fn(NULL, d->opaque, e->phys_addr - d->base, e->data, e->len,
				      true);
			/* Free the slot for KVM only once it is applied. */
			__atomic_store_n(&r->first, (first + 1) % c->ring_max, __ATOMIC_RELEASE);
		}
		console_draining = NULL;
	}
	console_flush_locked(vm, flush_partial);
}

void console_drain(struct kestrel_vm *vm, struct vcpu *v, bool flush_partial)
{
	pthread_mutex_lock(&vm->cons.lock);
	console_drain_locked(vm, flush_partial);
	pthread_mutex_unlock(&vm->cons.lock);
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
 * The main thread's drain: it must never wait (not for the ring's lock, which
 * a vCPU waiting for room may hold; not for room, which a stalled consumer may
 * never give), so it drains only when both are free. The vCPU that fills the
 * ring drains it itself.
 */
void console_tick(struct kestrel_vm *vm)
{
	struct console *c = &vm->cons;
	size_t queued;

	if (!console_pending(c))
		return;
	pthread_mutex_lock(&c->out.lock);
	queued = c->out.len;
	pthread_mutex_unlock(&c->out.lock);
	/* A drain adds at most the line buffer and one byte per ring entry... */
	if (queued > CONSOLE_OUT_CAP + CONSOLE_OUT_SLACK - CONSOLE_BUF - 8 * (c->ring_max + 1))
		return;
	if (pthread_mutex_trylock(&c->lock) != 0)
		return;
	console_nowait = true;
	console_drain_locked(vm, true);
	console_nowait = false;
	pthread_mutex_unlock(&c->lock);
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
