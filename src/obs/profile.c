/* profile.c - the exit profiler's cold half: clock, merging, perf-kvm-stat-like tables, JSON,
 * stats. */
#include "obs/profile.h"

#include "core/hypercall.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

/* ---- set-up ---- */

static uint64_t profile_mono_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void profile_clock_set(struct profile_clock *c, uint64_t tsc_khz)
{
	if (tsc_khz == 0)
		tsc_khz = 1000000; /* never divide by zero; callers pass a real rate */
	c->tsc_khz = tsc_khz;
	/* ns = ticks * 10^6 / khz = ticks * mult >> 32, mult rounded up so that a
	 * whole number of ns comes out whole (the excess is below 1 ns per 2^32 ticks). */
	c->mult = (uint64_t)((((unsigned __int128)1000000 << 32) + tsc_khz - 1) / tsc_khz);
	c->calibrated = false;
}

void profile_clock_init(struct profile_clock *c, uint64_t tsc_khz)
{
	uint64_t t0, t1;

	memset(c, 0, sizeof(*c));
	if (tsc_khz == 0) {
		/* KVM could not tell the TSC rate: measure it. ~2 ms once per VM,
		 * only on such hosts. */
		uint64_t m0 = profile_mono_ns(CLOCK_MONOTONIC_RAW), m1;
		uint64_t s0 = profile_ticks(), s1;
		do {
			m1 = profile_mono_ns(CLOCK_MONOTONIC_RAW);
		} while (m1 - m0 < 2000000);
		s1 = profile_ticks();
		tsc_khz = (s1 - s0) * 1000000 / (m1 - m0); /* ticks per ms */
		profile_clock_set(c, tsc_khz);
		c->calibrated = true;
	} else {
		profile_clock_set(c, tsc_khz);
	}
	/* The TSC halfway through a CLOCK_MONOTONIC read stands for that read. */
	t0 = profile_ticks();
	c->mono0_ns = profile_mono_ns(CLOCK_MONOTONIC);
	t1 = profile_ticks();
	c->tsc0 = t0 + (t1 - t0) / 2;
}

void profile_cpu_init_zeroed(struct profile_cpu *p, const struct profile_clock *c, bool enabled)
{
	p->enabled = enabled;
	p->mult = c->mult;
	p->reason = PROFILE_NONE;
}

void profile_cpu_init(struct profile_cpu *p, const struct profile_clock *c, bool enabled)
{
	memset(p, 0, sizeof(*p));
	profile_cpu_init_zeroed(p, c, enabled);
}

void profile_finish(struct profile_cpu *p)
{
	if (p->enabled && p->reason != PROFILE_NONE)
		profile_account(p, p->t_done ? p->t_done : profile_ticks());
}

/* ---- merging and totals ---- */

static void profile_timing_merge(struct profile_timing *d, const struct profile_timing *s)
{
	if (!s->n)
		return;
	if (!d->n || s->min < d->min)
		d->min = s->min;
	if (s->max > d->max)
		d->max = s->max;
	d->n += s->n;
	d->total += s->total;
	for (unsigned i = 0; i < PROFILE_HIST_BUCKETS; i++)
		d->hist[i] += s->hist[i];
}

static void profile_detail_merge(struct profile_detail *d, const struct profile_detail *s)
{
	if (!s->n)
		return;
	if (!d->n || s->min < d->min)
		d->min = s->min;
	if (s->max > d->max)
		d->max = s->max;
	d->n += s->n;
	d->total += s->total;
}

void profile_merge(struct profile_cpu *dst, const struct profile_cpu *src)
{
	for (unsigned r = 0; r < PROFILE_REASONS; r++) {
		profile_timing_merge(&dst->host[r], &src->host[r]);
		profile_timing_merge(&dst->run[r], &src->run[r]);
	}
	dst->handle_ns += src->handle_ns;
	for (unsigned i = 0; i < PROFILE_PIO_SLOTS; i++)
		if (src->pio[i].key != PROFILE_PIO_EMPTY)
			profile_detail_merge(profile_pio_row(dst, src->pio[i].key), &src->pio[i].d);
	profile_detail_merge(&dst->pio_other, &src->pio_other);
	for (unsigned i = 0; i <= PROFILE_MMIO_DEVS; i++)
		profile_detail_merge(&dst->mmio[i], &src->mmio[i]);
	for (unsigned i = 0; i < PROFILE_HC_SLOTS; i++)
		profile_detail_merge(&dst->hc[i], &src->hc[i]);
	if (src->first_entry && (!dst->first_entry || src->first_entry < dst->first_entry))
		dst->first_entry = src->first_entry;
}

uint64_t profile_exits(const struct profile_cpu *p)
{
	uint64_t n = 0;

	for (unsigned r = 0; r < PROFILE_REASONS; r++)
		n += p->host[r].n;
	return n;
}

uint64_t profile_host_ns(const struct profile_cpu *p)
{
	uint64_t n = 0;

	for (unsigned r = 0; r < PROFILE_REASONS; r++)
		n += p->host[r].total;
	return n;
}

uint64_t profile_run_ns(const struct profile_cpu *p)
{
	uint64_t n = 0;

	for (unsigned r = 0; r < PROFILE_REASONS; r++)
		n += p->run[r].total;
	return n;
}

/* ---- names and numbers ---- */

const char *profile_reason_name(uint32_t reason)
{
	static const char *const names[] = {
	    [KVM_EXIT_UNKNOWN] = "UNKNOWN",
	    [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	    [KVM_EXIT_IO] = "IO",
	    [KVM_EXIT_HYPERCALL] = "HYPERCALL",
	    [KVM_EXIT_DEBUG] = "DEBUG",
	    [KVM_EXIT_HLT] = "HLT",
	    [KVM_EXIT_MMIO] = "MMIO",
	    [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	    [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	    [KVM_EXIT_INTR] = "INTR",
	    [KVM_EXIT_SET_TPR] = "SET_TPR",
	    [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	    [KVM_EXIT_NMI] = "NMI",
	    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	    [KVM_EXIT_WATCHDOG] = "WATCHDOG",
	    [KVM_EXIT_EPR] = "EPR",
	    [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	    [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	    [KVM_EXIT_HYPERV] = "HYPERV",
	    [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	    [KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	    [KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	    [KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
	    [KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	    [KVM_EXIT_XEN] = "XEN",
	    [KVM_EXIT_NOTIFY] = "NOTIFY",
	};
	if (reason == PROFILE_REASON_OTHER)
		return "other";
	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "unnamed";
}

static const char *profile_hc_name(unsigned nr)
{
	return hypercall_name(nr);
}

uint64_t profile_hist_lo_ns(unsigned i)
{
	return i == 0 ? 0 : 1ull << i;
}

char *profile_fmt_ns(uint64_t ns, char *buf, size_t len)
{
	double v = (double)ns;

	if (ns < 1000)
		snprintf(buf, len, "%lluns", (unsigned long long)ns);
	else if (ns < 1000000)
		snprintf(buf, len, v < 100e3 ? "%.2fus" : "%.1fus", v / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, v < 100e6 ? "%.2fms" : "%.1fms", v / 1e6);
	else
		snprintf(buf, len, "%.2fs", v / 1e9);
	return buf;
}

/* Bucket labels: the lower bound, 3 significant characters ("512n", "1.0u", "33u", "1.1m"). */
static char *profile_fmt_bucket(unsigned i, char *buf, size_t len)
{
	double v = (double)profile_hist_lo_ns(i);
	const char *unit = "n";

	if (v >= 1e9) {
		v /= 1e9;
		unit = "s";
	} else if (v >= 1e6) {
		v /= 1e6;
		unit = "m";
	} else if (v >= 1e3) {
		v /= 1e3;
		unit = "u";
	}
	snprintf(buf, len, v < 10 && v != (double)(uint64_t)v ? "%.1f%s" : "%.0f%s", v, unit);
	return buf;
}

static double profile_pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* For a NULL struct profile_names: no names. Static: a compound literal in
 * the `if` that picks it would end with that `if`. */
static const struct profile_names profile_no_names;

/* ---- text tables ---- */

struct profile_row {
	char name[48];
	uint64_t n, total, min, max;
	uint64_t run_avg; /* reasons only */
	int idx;
};

static int profile_row_cmp(const void *a, const void *b)
{
	const struct profile_row *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return x->idx - y->idx;
}

static void profile_print_rows(FILE *f, const char *prefix, const char *what,
			       struct profile_row *rows, size_t n, uint64_t all_n, uint64_t all_t,
			       bool with_run, bool with_total)
{
	char a[24], b[24], c[24], d[24];
	uint64_t tn = 0, tt = 0, tmin = 0, tmax = 0;

	qsort(rows, n, sizeof(rows[0]), profile_row_cmp);
	fprintf(f, "%s%-22s %10s %9s %8s %10s %10s %10s%s\n", prefix, what, "samples", "samples%",
		"time%", "min", "max", "avg", with_run ? "  KVM_RUN avg" : "");
	for (size_t i = 0; i < n; i++) {
		struct profile_row *r = &rows[i];
		fprintf(f, "%s%-22s %10llu %8.2f%% %7.2f%% %10s %10s %10s", prefix, r->name,
			(unsigned long long)r->n, profile_pct(r->n, all_n),
			profile_pct(r->total, all_t), profile_fmt_ns(r->min, a, sizeof(a)),
			profile_fmt_ns(r->max, b, sizeof(b)),
			profile_fmt_ns(r->n ? r->total / r->n : 0, c, sizeof(c)));
		if (with_run)
			fprintf(f, " %12s", profile_fmt_ns(r->run_avg, d, sizeof(d)));
		fputc('\n', f);
		if (tn == 0 || r->min < tmin)
			tmin = r->min;
		if (r->max > tmax)
			tmax = r->max;
		tn += r->n;
		tt += r->total;
	}
	if (with_total)
		fprintf(f, "%s%-22s %10llu %8.2f%% %7.2f%% %10s %10s %10s\n", prefix, "total",
			(unsigned long long)tn, profile_pct(tn, all_n), profile_pct(tt, all_t),
			profile_fmt_ns(tmin, a, sizeof(a)), profile_fmt_ns(tmax, b, sizeof(b)),
			profile_fmt_ns(tn ? tt / tn : 0, c, sizeof(c)));
}

static void profile_fmt_hist(FILE *f, const struct profile_timing *t)
{
	char lab[16];

	for (unsigned i = 0; i < PROFILE_HIST_BUCKETS; i++)
		if (t->hist[i])
			fprintf(f, " %s:%llu", profile_fmt_bucket(i, lab, sizeof(lab)),
				(unsigned long long)t->hist[i]);
}

static void profile_detail_row(struct profile_row *r, const struct profile_detail *d, int idx)
{
	r->n = d->n;
	r->total = d->total;
	r->min = d->min;
	r->max = d->max;
	r->run_avg = 0;
	r->idx = idx;
}

void profile_print(FILE *f, const struct profile_cpu *p, const struct profile_names *names,
		   const char *prefix)
{
	struct profile_row rows[PROFILE_PIO_SLOTS + PROFILE_MMIO_DEVS + 2];
	uint64_t all_n = profile_exits(p), all_t = profile_host_ns(p), run_t = profile_run_ns(p);
	const struct profile_timing *io = &p->host[KVM_EXIT_IO];
	char a[24], b[24], c[24], d[24];
	size_t n = 0;

	if (!names)
		names = &profile_no_names;
	/* First level: exit reasons. */
	for (unsigned r = 0; r < PROFILE_REASONS; r++) {
		if (!p->host[r].n)
			continue;
		struct profile_row *row = &rows[n++];
		snprintf(row->name, sizeof(row->name), "%s", profile_reason_name(r));
		row->n = p->host[r].n;
		row->total = p->host[r].total;
		row->min = p->host[r].min;
		row->max = p->host[r].max;
		row->run_avg = p->run[r].total / p->run[r].n;
		row->idx = (int)r;
	}
	profile_print_rows(f, prefix, "exit reason", rows, n, all_n, all_t, true, true);
	fprintf(
	    f, "%shost time %s (handlers %s, register write-back and loop %s); inside KVM_RUN %s\n",
	    prefix, profile_fmt_ns(all_t, a, sizeof(a)), profile_fmt_ns(p->handle_ns, b, sizeof(b)),
	    profile_fmt_ns(all_t - (p->handle_ns < all_t ? p->handle_ns : all_t), c, sizeof(c)),
	    profile_fmt_ns(run_t, d, sizeof(d)));

	/* Second level: ports, then MMIO devices, then hypercalls. */
	n = 0;
	for (unsigned i = 0; i < PROFILE_PIO_SLOTS; i++) {
		uint32_t key = p->pio[i].key;
		if (key == PROFILE_PIO_EMPTY || !p->pio[i].d.n)
			continue;
		uint16_t port = PROFILE_PIO_KEY_PORT(key);
		uint32_t dir = PROFILE_PIO_KEY_DIR(key);
		const char *dev = names->pio ? names->pio(names->ctx, port) : NULL;
		struct profile_row *row = &rows[n++];
		snprintf(row->name, sizeof(row->name), "0x%04x %-3s %s", port,
			 dir == KVM_EXIT_IO_OUT ? "out" : "in", dev ? dev : "(unclaimed)");
		/* Ties: by direction, then port (the key without its +1). */
		profile_detail_row(row, &p->pio[i].d, (int)(port | dir << 16));
	}
	if (p->pio_other.n) {
		struct profile_row *row = &rows[n++];
		snprintf(row->name, sizeof(row->name), "other ports");
		profile_detail_row(row, &p->pio_other, 0x7fffffff);
	}
	if (n) {
		fputc('\n', f);
		profile_print_rows(f, prefix, "IO: port dir device", rows, n, io->n, io->total,
				   false, false);
	}
	n = 0;
	for (unsigned i = 0; i <= PROFILE_MMIO_DEVS; i++) {
		if (!p->mmio[i].n)
			continue;
		uint64_t base = 0, len = 0;
		const char *dev = i < PROFILE_MMIO_DEVS && names->mmio
				      ? names->mmio(names->ctx, i, &base, &len)
				      : NULL;
		struct profile_row *row = &rows[n++];
		if (dev)
			snprintf(row->name, sizeof(row->name), "%s 0x%llx+0x%llx", dev,
				 (unsigned long long)base, (unsigned long long)len);
		else
			snprintf(row->name, sizeof(row->name), "(unclaimed)");
		profile_detail_row(row, &p->mmio[i], (int)i);
	}
	if (n) {
		fputc('\n', f);
		profile_print_rows(f, prefix, "MMIO: device range", rows, n,
				   p->host[KVM_EXIT_MMIO].n, p->host[KVM_EXIT_MMIO].total, false,
				   false);
	}
	n = 0;
	for (unsigned i = 0; i < PROFILE_HC_SLOTS; i++) {
		if (!p->hc[i].n)
			continue;
		struct profile_row *row = &rows[n++];
		snprintf(row->name, sizeof(row->name), "%u %s", i, profile_hc_name(i));
		profile_detail_row(row, &p->hc[i], (int)i);
	}
	if (n) {
		fputc('\n', f);
		profile_print_rows(f, prefix, "hypercall: nr name", rows, n, io->n, io->total,
				   false, false);
	}

	/* Histograms: one line per reason and timing. */
	fprintf(f,
		"\n%slog2 histograms (bucket lower bound:count; host = after KVM_RUN, run = inside "
		"it)\n",
		prefix);
	for (unsigned r = 0; r < PROFILE_REASONS; r++) {
		if (!p->host[r].n)
			continue;
		fprintf(f, "%s%-14s host", prefix, profile_reason_name(r));
		profile_fmt_hist(f, &p->host[r]);
		fputc('\n', f);
		fprintf(f, "%s%-14s run ", prefix, "");
		profile_fmt_hist(f, &p->run[r]);
		fputc('\n', f);
	}
}

/* ---- JSON ---- */

static void profile_json_timing(FILE *f, const struct profile_timing *t)
{
	bool first = true;

	fprintf(f, "{\"total_ns\":%llu,\"min_ns\":%llu,\"max_ns\":%llu,\"avg_ns\":%llu,\"hist\":[",
		(unsigned long long)t->total, (unsigned long long)t->min,
		(unsigned long long)t->max, (unsigned long long)(t->n ? t->total / t->n : 0));
	for (unsigned i = 0; i < PROFILE_HIST_BUCKETS; i++) {
		if (!t->hist[i])
			continue;
		fprintf(f, "%s{\"ge_ns\":%llu,\"lt_ns\":%llu,\"n\":%llu}", first ? "" : ",",
			(unsigned long long)profile_hist_lo_ns(i),
			(unsigned long long)(i + 1 < PROFILE_HIST_BUCKETS ? 2ull << i : 0),
			(unsigned long long)t->hist[i]);
		first = false;
	}
	fputs("]}", f);
}

static void profile_json_detail(FILE *f, const struct profile_detail *d)
{
	fprintf(f, "\"samples\":%llu,\"total_ns\":%llu,\"min_ns\":%llu,\"max_ns\":%llu",
		(unsigned long long)d->n, (unsigned long long)d->total, (unsigned long long)d->min,
		(unsigned long long)d->max);
}

void profile_print_json(FILE *f, const struct profile_cpu *p, const struct profile_names *names)
{
	bool first = true;

	if (!names)
		names = &profile_no_names;
	fprintf(f,
		"{\"exits\":%llu,\"host_ns\":%llu,\"run_ns\":%llu,\"handle_ns\":%llu,\"reasons\":[",
		(unsigned long long)profile_exits(p), (unsigned long long)profile_host_ns(p),
		(unsigned long long)profile_run_ns(p), (unsigned long long)p->handle_ns);
	for (unsigned r = 0; r < PROFILE_REASONS; r++) {
		if (!p->host[r].n)
			continue;
		fprintf(f, "%s{\"reason\":", first ? "" : ",");
		json_write_str(f, profile_reason_name(r));
		fprintf(f, ",\"code\":%u,\"samples\":%llu,\"host\":", r,
			(unsigned long long)p->host[r].n);
		profile_json_timing(f, &p->host[r]);
		fputs(",\"run\":", f);
		profile_json_timing(f, &p->run[r]);
		fputc('}', f);
		first = false;
	}
	fputs("],\"pio\":[", f);
	first = true;
	for (unsigned i = 0; i < PROFILE_PIO_SLOTS; i++) {
		uint32_t key = p->pio[i].key;
		if (key == PROFILE_PIO_EMPTY || !p->pio[i].d.n)
			continue;
		uint16_t port = PROFILE_PIO_KEY_PORT(key);
		const char *dev = names->pio ? names->pio(names->ctx, port) : NULL;
		fprintf(f, "%s{\"port\":%u,\"dir\":\"%s\",\"device\":", first ? "" : ",", port,
			PROFILE_PIO_KEY_DIR(key) == KVM_EXIT_IO_OUT ? "out" : "in");
		if (dev)
			json_write_str(f, dev);
		else
			fputs("null", f);
		fputc(',', f);
		profile_json_detail(f, &p->pio[i].d);
		fputc('}', f);
		first = false;
	}
	fputs("],\"pio_other\":{", f);
	profile_json_detail(f, &p->pio_other);
	fputs("},\"mmio\":[", f);
	first = true;
	for (unsigned i = 0; i <= PROFILE_MMIO_DEVS; i++) {
		if (!p->mmio[i].n)
			continue;
		uint64_t base = 0, len = 0;
		const char *dev = i < PROFILE_MMIO_DEVS && names->mmio
				      ? names->mmio(names->ctx, i, &base, &len)
				      : NULL;
		fprintf(f, "%s{\"device\":", first ? "" : ",");
		if (dev)
			json_write_str(f, dev);
		else
			fputs("null", f);
		fprintf(f, ",\"base\":%llu,\"len\":%llu,", (unsigned long long)base,
			(unsigned long long)len);
		profile_json_detail(f, &p->mmio[i]);
		fputc('}', f);
		first = false;
	}
	fputs("],\"hypercalls\":[", f);
	first = true;
	for (unsigned i = 0; i < PROFILE_HC_SLOTS; i++) {
		if (!p->hc[i].n)
			continue;
		fprintf(f, "%s{\"nr\":%u,\"name\":", first ? "" : ",", i);
		json_write_str(f, profile_hc_name(i));
		fputc(',', f);
		profile_json_detail(f, &p->hc[i]);
		fputc('}', f);
		first = false;
	}
	fputs("]}", f);
}

/* ---- statistics ---- */
