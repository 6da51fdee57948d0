/* console.h - the guest console's fast path: UART THR writes through KVM's coalesced-PIO ring,
 * drained in batches. */
#ifndef KESTREL_CONSOLE_H
#define KESTREL_CONSOLE_H

/*
 * Without this, every byte a guest writes to the UART's THR (port 0x3f8) is
 * one userspace exit and one write(2). With KVM_CAP_COALESCED_PIO, kestrel
 * registers that one port as a coalesced zone: KVM appends each `out` to a
 * ring in the vCPU mmap (page KVM_COALESCED_MMIO_PAGE_OFFSET, shared by the
 * whole VM) and resumes the guest at once. kestrel drains the ring
 *
 *   - at every exit, before the exit itself is handled (console_drain_if_any,
 *     in the run loop): whatever the guest wrote before an LCR/DLAB change, a
 *     read, a PUTS hypercall or a crash is applied first, in order;
 *   - from the main thread every CONSOLE_TICK_MS while the VM runs, so output
 *     followed by a long stretch without exits (a halted or spinning guest)
 *     still shows up;
 *   - once more after the vCPU threads are joined.
 *
 * Each ring entry goes to the handler of the device that registered the
 * address (DEV_COALESCED, device.h), as an exit would, with no vCPU. What
 * those handlers write to the console during a drain (the UART's THR) is
 * gathered and written with one write(2); a partial line (no '\n') is
 * kept until the next drain, tick, PUTS or the end of the run, as stdio
 * line-buffers a terminal. A full ring (KVM_COALESCED_MMIO_MAX - 1 entries, 169)
 * makes KVM fall back to a normal exit, which drains first.
 *
 * Locking: the ring and the line buffer have one mutex, taken only when
 * there is something to drain or flush; an exit that finds the ring empty
 * pays two loads and a compare.
 *
 * Output (every console byte, from the ring, the UART or PUTS) to a pipe, a
 * terminal or a socket is written to console_fd by one writer thread per run,
 * never by a vCPU or the caller's thread, so a consumer that stops reading
 * cannot hold up a stop. A console that cannot stall -- a regular file or
 * /dev/null (console_start looks with fstat) -- is written in place instead,
 * by the thread whose output it is, under the queue's lock (one write(2) per
 * piece, in order): no writer thread to start, hand bytes to and join, which
 * was most of what an exit-at-once run cost beyond KVM's own work
 * (docs/coldstart.md). With vCPU 0 on the caller's thread and no writer to
 * tick the ring, the zone's arming (console_zone_armed) starts a timer that
 * kicks that thread out of KVM_RUN every CONSOLE_TICK_MS; its run loop then
 * ticks (each such return is an `intr` exit in the profile). The policy for
 * the writer thread, like a UART with flow control while the VM runs and like
 * a chardev that drops for a gone reader once it stops:
 *
 *   - while the VM runs, up to CONSOLE_OUT_CAP bytes wait for the consumer;
 *     beyond that the vCPU that writes waits for room (the guest is slowed
 *     down, nothing is lost). The main thread never waits: its tick drains
 *     the ring only when the buffer has room (CONSOLE_OUT_SLACK is kept for it);
 *   - a stop (exit, timeout, signal, crash) wakes every waiting vCPU; output
 *     that does not fit from then on is dropped;
 *   - after the vCPUs are joined the writer gets whatever time the consumer
 *     needs as long as it keeps taking bytes; once it has taken none for
 *     CONSOLE_STALL_MS, the rest is dropped, and one log line says how much;
 *   - a consumer that is gone (EPIPE) or a write error (EFBIG under ulimit -f,
 *     EBADF, EIO) drops all further output; errors other than EPIPE are logged.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <linux/kvm.h>

struct kestrel_vm;
struct vcpu;

#define CONSOLE_BUF 4096u
#define CONSOLE_TICK_MS 20
#define CONSOLE_OUT_CAP (1u << 20)    /* what vCPU threads may queue before they wait */
#define CONSOLE_OUT_SLACK (16u << 10) /* the main thread's drains' extra room: they never wait */
#define CONSOLE_STALL_MS                                                                           \
	500 /* after the run: a consumer taking nothing this long loses the rest                   \
	     */

/* The queue between the guest's console and the writer thread (a byte ring). */
struct console_out {
	pthread_mutex_t lock;
	pthread_cond_t data, room,
	    done;	  /* writer waits on data; producers on room; finish on done */
	uint8_t *buf;	  /* CONSOLE_OUT_CAP + CONSOLE_OUT_SLACK bytes, from console_start() */
	size_t head, len; /* queued bytes: [head, head + len) mod the size */
	bool running;	  /* the writer thread exists and has not ended */
	bool stopping;	  /* a stop was asked for: producers no longer wait */
	bool closing;	  /* no more producers: the writer ends once the queue is empty */
	bool abandon;	  /* the consumer stalled after the run: end now, drop the rest */
	bool direct;	  /* console_fd is a regular file or /dev/null: written in place */
	bool ticking;	  /* `tick` exists: vCPU 0 on the caller's thread is kicked to tick */
	timer_t tick;
	int error;		 /* errno of the write that failed (then all output is dropped) */
	uint64_t taken, dropped; /* bytes the consumer took; bytes dropped (stall, error, stop) */
	pthread_t thread;
};

struct console {
	pthread_mutex_t lock;		      /* ring consumption and buf */
	struct kvm_coalesced_mmio_ring *ring; /* NULL: no coalescing (THR writes exit) */
	uint32_t ring_max; /* entries in the ring: KVM_COALESCED_MMIO_MAX for the page size */
	atomic_size_t len; /* bytes in buf, read without the lock to skip it */
	uint8_t buf[CONSOLE_BUF];
	/* Counters (under lock): ring entries drained, drains that found some,
	 * write(2) calls made for console output of any kind. */
	uint64_t entries, drains;
	atomic_uint_fast64_t writes;
	struct console_out out; /* what the writer thread writes (console.c) */
};

/* console_init - an idle console (no ring): every write goes straight out. */
void console_init(struct console *c);

/* console_destroy - the mutexes and the output queue (the writer must have ended). */
void console_destroy(struct console *c);

/*
 * console_start - the writer thread of one run, with every signal blocked but
 * the kick signal (and confined like a vCPU thread unless cfg.no_seccomp);
 * none for a console written in place (a regular file, /dev/null, no
 * console_cb). 0 or a negative errno.
 */
int console_start(struct kestrel_vm *vm);

/*
 * console_zone_armed - the coalesced zone was just registered (devhost.c, on
 * the arming vCPU's thread). With vCPU 0 on the caller's thread and no writer
 * thread, start the tick timer aimed at this thread (a failure only leaves the
 * ring to be drained at the guest's next exit, and is logged).
 */
void console_zone_armed(struct kestrel_vm *vm);

/* console_tick_end - the tick timer gone (the inline run's end, its thread). */
void console_tick_end(struct kestrel_vm *vm);

/* console_stop - a stop was asked for: wake every vCPU waiting for room; from
 * now on output that does not fit is dropped. Any thread, not signal-safe. */
void console_stop(struct kestrel_vm *vm);

/*
 * console_finish - after the vCPU threads are joined: let the writer write what
 * is queued while the consumer keeps taking it (CONSOLE_STALL_MS without
 * progress drops the rest, logged), then join it. Main thread only.
 */
void console_finish(struct kestrel_vm *vm);

/*
 * console_setup_ring - find the coalesced ring in vCPU 0's mmap, when a device
 * asked for a coalesced zone (vm->ncoalesced; devhost.c takes one only when
 * the vCPU mmap has the ring page; KVM fills the ring once the zone is armed
 * on the device's first exit). Call after the vCPUs exist.
 */
void console_setup_ring(struct kestrel_vm *vm);

/* console_pending - whether there is anything to drain or flush (lock-free). */
static inline bool console_pending(const struct console *c)
{
	const struct kvm_coalesced_mmio_ring *r = c->ring;

	if (atomic_load_explicit(&c->len, memory_order_relaxed))
		return true;
	return r && __atomic_load_n(&r->first, __ATOMIC_RELAXED) !=
			__atomic_load_n(&r->last, __ATOMIC_ACQUIRE);
}

/*
 * console_drain - apply every ring entry in order (v: the draining vCPU, NULL
 * from the main thread; ring entries do not say which vCPU wrote them) and
 * write the transmitted bytes; `flush_partial` also writes a partial line.
 */
void console_drain(struct kestrel_vm *vm, struct vcpu *v, bool flush_partial);

/* console_drain_if_any - the run loop's hook, before each exit is handled:
 * only the ring (a partial line may wait), and only when it is not empty. */
static inline void console_drain_if_any(struct kestrel_vm *vm, struct vcpu *v, struct console *c)
{
	const struct kvm_coalesced_mmio_ring *r = c->ring;

	if (r && __atomic_load_n(&r->first, __ATOMIC_RELAXED) !=
		     __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))
		console_drain(vm, v, false);
}

/*
 * console_write - guest console bytes that did not come through the ring (the
 * PUTS hypercall, a THR write that exited): whatever the line buffer holds
 * goes first, then these, all of them (short writes retried).
 */
void console_write(struct kestrel_vm *vm, const void *buf, size_t len);

/* console_tick - the main thread, every CONSOLE_TICK_MS of a run: drain the
 * ring and flush a partial line, if there is anything. */
void console_tick(struct kestrel_vm *vm);

#endif
