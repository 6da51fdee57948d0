/* profile.h - the exit profiler: per-vCPU exit counts, host times, log2 histograms; no per-exit
 * syscall. */
#ifndef KESTREL_PROFILE_H
#define KESTREL_PROFILE_H

/*
 * Every vCPU owns one struct profile_cpu, allocated with the vCPU and filled
 * by three inline hooks in its run loop:
 *
 *	profile_before_run()   right before KVM_RUN (after the register write-back)
 *	profile_after_run()    right after KVM_RUN returns
 *	profile_handled()      when the exit's handler is done
 *
 * Each takes one TSC timestamp. An exit is accounted when the next KVM_RUN
 * starts (or by profile_finish() when the loop ends), so its "host" time is
 * exactly what the issue asks for: from KVM_RUN returning to the next KVM_RUN,
 * register write-back included. The KVM_RUN round trip (guest time plus
 * KVM's own work, world switches included) is kept apart, by the exit reason
 * it ended with. Times are stored in nanoseconds, converted from TSC ticks
 * with one 64x64->128 multiply (struct profile_clock).
 *
 * Everything is preallocated: port I/O is counted in an open-addressed table
 * of PROFILE_PIO_SLOTS (port, direction) keys with an "other" bucket once it
 * is PROFILE_PIO_MAX_FILL full, MMIO by bus device index, hypercalls by number.
 *
 * A zeroed struct profile_cpu is an empty profile: no exits, no ports (a
 * key's direction is stored plus one, so that key 0 is a free slot). The
 * vCPUs' profiles live in memory fresh from mmap, already zero, and
 * profile_cpu_init_zeroed() sets only the few fields that are not 0, so a
 * cold start touches only the pages of the rows its exits fill (clearing
 * ~41 KB per vCPU and storing 64 empty keys cost ~10 page faults).
 *
 * The reporting half (merge, tables, JSON, statistics) is pure code in
 * profile.c and never touches KVM.
 */

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kestrel/abi.h"

#define PROFILE_HIST_BUCKETS 40 /* bucket i: [2^i, 2^(i+1)) ns; bucket 0 also holds 0 */
#define PROFILE_REASONS 48	/* KVM_EXIT_* below this get their own row ... */
#define PROFILE_REASON_OTHER (PROFILE_REASONS - 1) /* ... the rest share this one */
#define PROFILE_NONE 0xffffffffu		   /* no exit waiting to be accounted */
#define PROFILE_PIO_BITS 6
#define PROFILE_PIO_SLOTS (1u << PROFILE_PIO_BITS)
#define PROFILE_PIO_MAX_FILL 48 /* keeps probe chains short */
#define PROFILE_PIO_EMPTY 0u	/* a free slot: no (port, direction) key is 0 */
#define PROFILE_MMIO_DEVS 64	/* >= BUS_MAX_MMIO: one row per registered device ... */
#define PROFILE_MMIO_UNCLAIMED PROFILE_MMIO_DEVS /* ... and one for addresses nobody claimed */
#define PROFILE_HC_SLOTS KESTREL_HC_COUNT

/* TSC ticks to nanoseconds: ns = ticks * mult >> 32. */
struct profile_clock {
	uint64_t mult;
	uint64_t tsc_khz; /* what mult was derived from */
	bool calibrated;  /* true: measured against CLOCK_MONOTONIC_RAW (KVM gave no TSC rate) */
	/* One simultaneous (TSC, CLOCK_MONOTONIC) pair, for the timeline. */
	uint64_t tsc0, mono0_ns;
};

/* One timing series in ns: count, sum, extremes and a log2 histogram. */
struct profile_timing {
	uint64_t n, total, min, max;
	uint64_t hist[PROFILE_HIST_BUCKETS];
};

/* A second-level row (port, device, hypercall): count and host time in ns. */
struct profile_detail {
	uint64_t n, total, min, max;
};

/* A port table key: port | (direction + 1) << 16, direction KVM_EXIT_IO_IN
 * or _OUT (kvm_run's 8-bit io.direction), never 0 = PROFILE_PIO_EMPTY. */
#define PROFILE_PIO_KEY(port, dir) ((uint32_t)(uint16_t)(port) | ((uint32_t)(dir) + 1) << 16)
#define PROFILE_PIO_KEY_PORT(key) ((uint16_t)(key))
#define PROFILE_PIO_KEY_DIR(key) (((uint32_t)(key) >> 16) - 1)

struct profile_port {
	uint32_t key; /* PROFILE_PIO_KEY(port, direction); PROFILE_PIO_EMPTY if free */
	struct profile_detail d;
};

struct profile_cpu {
	/* Hot state, touched on every exit. */
	bool enabled;  /* false (--no-profile): the hooks only note the first entry */
	uint64_t mult; /* copy of the clock's, next to the data it converts */
	/* TSC: the last KVM_RUN entry, its return, the end of handling (0: none). */
	uint64_t t_run, t_exit, t_done;
	/* The exit waiting to be accounted (PROFILE_NONE: none) and its detail. */
	uint32_t reason, key;
	uint64_t first_entry; /* TSC of the first KVM_RUN; 0 before it */

	/* Accounted exits: the small tables first, next to the hot state, and
	 * the ~17 KB timing arrays last, so that a short run's few exits touch
	 * few pages of a profile that starts out zero (profile_cpu_init_zeroed). */
	uint64_t handle_ns; /* of all host time: handler work (return -> profile_handled) */
	unsigned pio_used;
	struct profile_detail pio_other; /* (port, direction) pairs that found the table full */
	/* Hypercalls (an `out` to their port) by number. */
	struct profile_detail hc[PROFILE_HC_SLOTS];
	struct profile_port pio[PROFILE_PIO_SLOTS];
	/* MMIO by bus device index, the last row for unclaimed addresses. */
	struct profile_detail mmio[PROFILE_MMIO_DEVS + 1];
	struct profile_timing host[PROFILE_REASONS]; /* KVM_RUN return -> next KVM_RUN entry */
	struct profile_timing run[PROFILE_REASONS];  /* the KVM_RUN round trip that ended with it */
};

/* ---- set-up (cold) ---- */

/* profile_clock_init - conversion from the TSC rate KVM reports (kHz). With 0,
 * measures the rate against CLOCK_MONOTONIC_RAW for ~2 ms instead. */
void profile_clock_init(struct profile_clock *c, uint64_t tsc_khz);

/* profile_clock_set - the conversion for a given rate, no measuring (tests). */
void profile_clock_set(struct profile_clock *c, uint64_t tsc_khz);

/* profile_cpu_init - an empty profile using clock c; enabled false keeps only the first entry. */
void profile_cpu_init(struct profile_cpu *p, const struct profile_clock *c, bool enabled);

/* profile_cpu_init_zeroed - the same on memory known to be all zero (a
 * zeroed profile is empty: this only sets what the hooks need), touching
 * only the struct's first bytes. */
void profile_cpu_init_zeroed(struct profile_cpu *p, const struct profile_clock *c, bool enabled);

/* ---- the hot path ---- */

static inline uint64_t profile_ticks(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t profile_ticks_to_ns(uint64_t mult, uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * mult) >> 32);
}

/* Bucket of a time in ns: floor(log2(ns)), 0 for 0 and 1, capped at the last. */
static inline unsigned profile_hist_bucket(uint64_t ns)
{
	unsigned b = 63u - (unsigned)__builtin_clzll(ns | 1);
	return b < PROFILE_HIST_BUCKETS ? b : PROFILE_HIST_BUCKETS - 1;
}

static inline void profile_timing_add(struct profile_timing *t, uint64_t ns)
{
	if (t->n == 0 || ns < t->min)
		t->min = ns;
	if (ns > t->max)
		t->max = ns;
	t->n++;
	t->total += ns;
	t->hist[profile_hist_bucket(ns)]++;
}

static inline void profile_detail_add(struct profile_detail *d, uint64_t ns)
{
	if (d->n == 0 || ns < d->min)
		d->min = ns;
	if (ns > d->max)
		d->max = ns;
	d->n++;
	d->total += ns;
}

/* The row of a (port, direction) key: found, inserted, or pio_other when full. */
static inline struct profile_detail *profile_pio_row(struct profile_cpu *p, uint32_t key)
{
	/* Hashed without the +1 (port | direction << 16): the reports list
	 * ports in slot order, which this keeps what it was with that key. */
	unsigned i = ((key - (1u << 16)) * 0x9e3779b1u) >> (32 - PROFILE_PIO_BITS);

	for (;;) {
		struct profile_port *s = &p->pio[i];
		if (s->key == key)
			return &s->d;
		if (s->key == PROFILE_PIO_EMPTY) {
			if (p->pio_used >= PROFILE_PIO_MAX_FILL)
				return &p->pio_other;
			s->key = key;
			p->pio_used++;
			return &s->d;
		}
		i = (i + 1) & (PROFILE_PIO_SLOTS - 1);
	}
}

static inline uint64_t profile_delta(uint64_t from, uint64_t to)
{
	return to > from ? to - from : 0; /* a TSC read on another core may be a hair behind */
}

/* Account the pending exit, its host time ending at TSC `end`. */
static inline void profile_account(struct profile_cpu *p, uint64_t end)
{
	uint32_t r = p->reason < PROFILE_REASONS ? p->reason : PROFILE_REASON_OTHER;
	uint64_t host = profile_ticks_to_ns(p->mult, profile_delta(p->t_exit, end));

	profile_timing_add(&p->run[r],
			   profile_ticks_to_ns(p->mult, profile_delta(p->t_run, p->t_exit)));
	profile_timing_add(&p->host[r], host);
	if (p->t_done)
		p->handle_ns += profile_ticks_to_ns(p->mult, profile_delta(p->t_exit, p->t_done));
	if (r == KVM_EXIT_IO) {
		uint32_t port = PROFILE_PIO_KEY_PORT(p->key), hc = port - KESTREL_HC_PORT_BASE;
		profile_detail_add(profile_pio_row(p, p->key), host);
		if (hc < PROFILE_HC_SLOTS && PROFILE_PIO_KEY_DIR(p->key) == KVM_EXIT_IO_OUT)
			profile_detail_add(&p->hc[hc], host);
	} else if (r == KVM_EXIT_MMIO) {
		profile_detail_add(
		    &p->mmio[p->key <= PROFILE_MMIO_DEVS ? p->key : PROFILE_MMIO_UNCLAIMED], host);
	}
	p->reason = PROFILE_NONE;
}

/* Right before KVM_RUN: close the previous exit, start timing this run. */
static inline void profile_before_run(struct profile_cpu *p)
{
	uint64_t t;

	if (!p->enabled) { /* --no-profile: one timestamp in the whole run */
		if (__builtin_expect(!p->first_entry, 0))
			p->first_entry = profile_ticks();
		return;
	}
	t = profile_ticks();
	if (__builtin_expect(!p->first_entry, 0))
		p->first_entry = t;
	if (p->reason != PROFILE_NONE)
		profile_account(p, t);
	p->t_run = t;
}

/* Right after KVM_RUN returned r (< 0: -EINTR/-EAGAIN, counted as KVM_EXIT_INTR). */
static inline void profile_after_run(struct profile_cpu *p, const struct kvm_run *run, int r)
{
	if (!p->enabled)
		return;
	p->t_exit = profile_ticks();
	p->t_done = 0;
	p->key = PROFILE_MMIO_UNCLAIMED; /* vcpu_mmio() names the device it finds */
	if (r < 0) {
		p->reason = KVM_EXIT_INTR;
		return;
	}
	p->reason = run->exit_reason;
	if (run->exit_reason == KVM_EXIT_IO)
		p->key = PROFILE_PIO_KEY(run->io.port, run->io.direction);
}

/* An MMIO exit went to bus device `index` (or PROFILE_MMIO_UNCLAIMED). */
static inline void profile_mmio_dev(struct profile_cpu *p, unsigned index)
{
	p->key = index;
}

/* The handler is done: the rest of the host time is register write-back. */
static inline void profile_handled(struct profile_cpu *p)
{
	if (p->enabled)
		p->t_done = profile_ticks();
}

/* profile_finish - the run loop ended: account the exit still pending. */
void profile_finish(struct profile_cpu *p);

/* ---- reporting (pure, cold) ---- */

/* profile_merge - add src's counts into dst (both from profile_cpu_init). */
void profile_merge(struct profile_cpu *dst, const struct profile_cpu *src);

/* Totals over every exit reason. */
uint64_t profile_exits(const struct profile_cpu *p);
uint64_t profile_host_ns(const struct profile_cpu *p);
uint64_t profile_run_ns(const struct profile_cpu *p);

/* profile_reason_name - "IO", "MMIO", "HLT", ... for a KVM_EXIT_* value ("other": the shared row).
 */
const char *profile_reason_name(uint32_t reason);

/* profile_hist_lo_ns - lower bound of histogram bucket i in ns (0 for bucket 0). */
uint64_t profile_hist_lo_ns(unsigned i);

/* profile_fmt_ns - "850ns", "7.52us", "12.3ms", "1.20s" into buf; returns buf. */
char *profile_fmt_ns(uint64_t ns, char *buf, size_t len);

/* How a report names ports and MMIO devices; any callback may be NULL. */
struct profile_names {
	const char *(*pio)(const void *ctx, uint16_t port); /* device name or NULL */
	const char *(*mmio)(const void *ctx, unsigned index, uint64_t *base, uint64_t *len);
	const void *ctx;
};

/*
 * profile_print - the perf-kvm-stat-like tables for p to f: per exit reason
 * (samples, samples %, host time %, min, max, avg, KVM_RUN avg), sorted by
 * samples, a total line; then ports by (port, direction), MMIO by device,
 * hypercalls by number; then one log2 histogram line per reason. Every line
 * starts with `prefix`.
 */
void profile_print(FILE *f, const struct profile_cpu *p, const struct profile_names *names,
		   const char *prefix);

/* profile_print_json - the same data as one JSON object (no trailing newline):
 * reasons with both timings and sparse histograms, ports, MMIO, hypercalls. */
void profile_print_json(FILE *f, const struct profile_cpu *p, const struct profile_names *names);

/* ---- statistics over repeated measurements (kestrel bench) ---- */

#endif
