/* test_profile.c - exit profiler tests: accounting, histograms, ports, merge, tables, JSON,
 * percentiles. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/profile.h"
#include "summary.h"
#include "tap.h"
#include "util/json.h"

/* At 1 GHz a TSC tick is a nanosecond, so synthetic timestamps read as ns. */
static struct profile_clock clk_1ghz;

static struct profile_cpu *new_profile(void)
{
	struct profile_cpu *p = malloc(sizeof(*p));

	if (!p)
		abort();
	profile_cpu_init(p, &clk_1ghz, true);
	return p;
}

/* One synthetic exit: KVM_RUN from `run` to `exit`, handler done at `done`
 * (0: never), next KVM_RUN at `next`. */
static void fake_exit(struct profile_cpu *p, uint32_t reason, uint32_t key, uint64_t run,
		      uint64_t exit, uint64_t done, uint64_t next)
{
	p->t_run = run;
	p->t_exit = exit;
	p->t_done = done;
	p->reason = reason;
	p->key = key;
	profile_account(p, next);
}

static uint32_t pio_key(uint16_t port, int dir)
{
	return PROFILE_PIO_KEY(port, dir);
}

static void test_buckets(void)
{
	TAP_EQ_INT(profile_hist_bucket(0), 0, "0 ns goes to bucket 0");
	TAP_EQ_INT(profile_hist_bucket(1), 0, "1 ns goes to bucket 0");
	TAP_EQ_INT(profile_hist_bucket(2), 1, "2 ns goes to bucket 1");
	TAP_EQ_INT(profile_hist_bucket(3), 1, "3 ns goes to bucket 1");
	TAP_EQ_INT(profile_hist_bucket(1023), 9, "1023 ns goes to bucket 9");
	TAP_EQ_INT(profile_hist_bucket(1024), 10, "1024 ns goes to bucket 10");
	TAP_EQ_INT(profile_hist_bucket(UINT64_MAX), PROFILE_HIST_BUCKETS - 1,
		   "huge times are capped at the last bucket");
	TAP_EQ_U64(profile_hist_lo_ns(0), 0, "bucket 0 starts at 0");
	TAP_EQ_U64(profile_hist_lo_ns(13), 8192, "bucket 13 starts at 8192 ns");
	for (unsigned i = 1; i < PROFILE_HIST_BUCKETS; i++)
		if (profile_hist_bucket(profile_hist_lo_ns(i)) != i ||
		    profile_hist_bucket(profile_hist_lo_ns(i) - 1) != i - 1) {
			TAP_OK(0, "bucket %u bounds round-trip", i);
			return;
		}
	TAP_OK(1, "every bucket's lower bound maps back to it, one less to the bucket below");
}

static void test_timing(void)
{
	struct profile_timing t = {0};
	uint64_t v[] = {700, 7000, 7100, 7200, 65000};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		profile_timing_add(&t, v[i]);
	TAP_EQ_U64(t.n, 5, "timing counts 5 samples");
	TAP_EQ_U64(t.total, 700 + 7000 + 7100 + 7200 + 65000, "timing sums them");
	TAP_EQ_U64(t.min, 700, "min");
	TAP_EQ_U64(t.max, 65000, "max");
	TAP_EQ_U64(t.hist[9], 1, "700 ns in [512, 1024)");
	TAP_EQ_U64(t.hist[12], 3, "7000..7200 ns in [4096, 8192)");
	TAP_EQ_U64(t.hist[15], 1, "65000 ns in [32768, 65536)");
}

static void test_clock(void)
{
	struct profile_clock c;

	profile_clock_set(&c, 2500000); /* 2.5 GHz */
	TAP_EQ_U64(profile_ticks_to_ns(c.mult, 2500), 1000, "2500 ticks at 2.5 GHz are 1000 ns");
	TAP_EQ_U64(profile_ticks_to_ns(c.mult, 0), 0, "0 ticks are 0 ns");
	/* An hour of ticks must not overflow the 64x64 multiply. */
	uint64_t hour = profile_ticks_to_ns(c.mult, 2500000000ull * 3600);
	TAP_OK(hour > 3599999990000ull && hour < 3600000010000ull, "an hour converts (%llu ns)",
	       (unsigned long long)hour);
	profile_clock_set(&c, 2596144); /* this host's rate: not a round number */
	uint64_t ms = profile_ticks_to_ns(c.mult, 2596144);
	TAP_OK(ms >= 999999 && ms <= 1000000, "2596144 ticks at 2596144 kHz are 1 ms (%llu ns)",
	       (unsigned long long)ms);

	/* Calibration against CLOCK_MONOTONIC_RAW finds a plausible rate. */
	profile_clock_init(&c, 0);
	TAP_OK(c.calibrated, "rate 0 means calibrate");
	TAP_OK(c.tsc_khz > 100000 && c.tsc_khz < 10000000,
	       "calibrated TSC rate %llu kHz is plausible", (unsigned long long)c.tsc_khz);
	TAP_OK(c.mono0_ns > 0 && c.tsc0 > 0, "the clock keeps a (TSC, CLOCK_MONOTONIC) pair");
}

static void test_account(void)
{
	struct profile_cpu *p = new_profile();

	TAP_EQ_U64(profile_exits(p), 0, "a new profile is empty");
	/* An `out` to the null port: 1000 ns in KVM_RUN, 100 ns after it (50 in the handler). */
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_PORT_NULL, KVM_EXIT_IO_OUT), 100, 1100, 1150,
		  1200);
	TAP_EQ_U64(p->host[KVM_EXIT_IO].n, 1, "IO exit counted");
	TAP_EQ_U64(p->host[KVM_EXIT_IO].total, 100, "host time: KVM_RUN return to next KVM_RUN");
	TAP_EQ_U64(p->run[KVM_EXIT_IO].total, 1000, "KVM_RUN round trip apart");
	TAP_EQ_U64(p->handle_ns, 50, "handler share of the host time");
	TAP_EQ_U64(p->reason, PROFILE_NONE, "nothing pending after accounting");
	TAP_EQ_U64(profile_pio_row(p, pio_key(KESTREL_PORT_NULL, KVM_EXIT_IO_OUT))->n, 1,
		   "port 0x58 out has one sample");
	TAP_EQ_U64(profile_pio_row(p, pio_key(KESTREL_PORT_NULL, KVM_EXIT_IO_IN))->n, 0,
		   "port 0x58 in is a different row");
	uint64_t hcs = 0;
	for (unsigned i = 0; i < PROFILE_HC_SLOTS; i++)
		hcs += p->hc[i].n;
	TAP_EQ_U64(hcs, 0, "a null-port write is no hypercall");

	/* Hypercall ADD (an `out` to 0x32), and an `in` from the same port that is not one. */
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_HC_PORT_BASE + KESTREL_HC_ADD, KVM_EXIT_IO_OUT),
		  0, 10, 0, 30);
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_HC_PORT_BASE + KESTREL_HC_ADD, KVM_EXIT_IO_IN), 0,
		  10, 0, 30);
	TAP_EQ_U64(p->hc[KESTREL_HC_ADD].n, 1, "an out to 0x32 is hypercall 2");
	TAP_EQ_U64(p->hc[KESTREL_HC_ADD].total, 20, "with its host time");
	TAP_EQ_U64(p->handle_ns, 50, "no handler time without profile_handled");
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_HC_PORT_BASE - 1, KVM_EXIT_IO_OUT), 0, 1, 0, 2);
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_HC_PORT_BASE + PROFILE_HC_SLOTS, KVM_EXIT_IO_OUT),
		  0, 1, 0, 2);
	hcs = 0;
	for (unsigned i = 0; i < PROFILE_HC_SLOTS; i++)
		hcs += p->hc[i].n;
	TAP_EQ_U64(hcs, 1, "ports just outside the hypercall range are no hypercalls");

	/* MMIO by device index, unclaimed, and a reason beyond the table. */
	fake_exit(p, KVM_EXIT_MMIO, 3, 0, 5, 0, 10);
	fake_exit(p, KVM_EXIT_MMIO, PROFILE_MMIO_UNCLAIMED, 0, 5, 0, 10);
	fake_exit(p, KVM_EXIT_MMIO, 999, 0, 5, 0, 10);
	TAP_EQ_U64(p->mmio[3].n, 1, "MMIO to device 3");
	TAP_EQ_U64(p->mmio[PROFILE_MMIO_UNCLAIMED].n, 2,
		   "unclaimed and out-of-range keys: unclaimed row");
	fake_exit(p, 1000, 0, 0, 5, 0, 10);
	TAP_EQ_U64(p->host[PROFILE_REASON_OTHER].n, 1, "an unknown exit reason lands in 'other'");
	TAP_EQ_STR(profile_reason_name(PROFILE_REASON_OTHER), "other", "the shared row is 'other'");
	/* A TSC read that went backwards counts as 0, not as 2^64 ns. */
	fake_exit(p, KVM_EXIT_HLT, 0, 100, 90, 0, 80);
	TAP_EQ_U64(p->host[KVM_EXIT_HLT].max, 0, "backwards timestamps give 0 host time");
	TAP_EQ_U64(p->run[KVM_EXIT_HLT].max, 0, "and 0 run time");
	TAP_EQ_U64(profile_exits(p), 10, "10 exits in all");
	free(p);
}

/* The real hooks, with a fake kvm_run: counts are exact, times only positive. */
static void test_hooks(void)
{
	struct profile_cpu *p = new_profile(), *off = malloc(sizeof(*off));
	struct kvm_run run;

	memset(&run, 0, sizeof(run));
	profile_cpu_init(off, &clk_1ghz, false);
	for (int i = 0; i < 1000; i++) {
		profile_before_run(p);
		profile_before_run(off);
		run.exit_reason = KVM_EXIT_IO;
		run.io.port = (uint16_t)(i % 10 == 0 ? KESTREL_PORT_COM1 : KESTREL_PORT_NULL);
		run.io.direction = KVM_EXIT_IO_OUT;
		profile_after_run(p, &run, 0);
		profile_after_run(off, &run, 0);
		profile_handled(p);
		profile_handled(off);
	}
	profile_before_run(p);
	profile_after_run(p, &run, -1); /* -EINTR */
	profile_finish(p);
	profile_finish(off);
	TAP_EQ_U64(p->host[KVM_EXIT_IO].n, 1000, "1000 IO exits through the hooks");
	TAP_EQ_U64(p->host[KVM_EXIT_INTR].n, 1, "a failed KVM_RUN counts as INTR");
	TAP_EQ_U64(profile_pio_row(p, pio_key(KESTREL_PORT_NULL, KVM_EXIT_IO_OUT))->n, 900,
		   "900 of them on the null port");
	TAP_EQ_U64(profile_pio_row(p, pio_key(KESTREL_PORT_COM1, KVM_EXIT_IO_OUT))->n, 100,
		   "100 on the UART");
	TAP_OK(p->first_entry != 0, "first entry noted");
	TAP_OK(profile_run_ns(p) > 0, "KVM_RUN time is positive");
	TAP_EQ_U64(profile_exits(off), 0, "a disabled profile counts nothing");
	TAP_OK(off->first_entry != 0, "but still notes the first entry");
	free(p);
	free(off);
}

static void test_pio_table_and_merge(void)
{
	struct profile_cpu *a = new_profile(), *b = new_profile(), *m = new_profile();
	uint64_t in_table = 0;

	/* 100 distinct (port, dir) keys, each k+1 times: 48 fit, the rest go to "other". */
	for (unsigned k = 0; k < 100; k++)
		for (unsigned j = 0; j <= k; j++)
			fake_exit(a, KVM_EXIT_IO, pio_key((uint16_t)(0x100 + k), KVM_EXIT_IO_IN), 0,
				  1, 0, 11);
	TAP_EQ_INT(a->pio_used, PROFILE_PIO_MAX_FILL, "the port table stops at its fill limit");
	for (unsigned i = 0; i < PROFILE_PIO_SLOTS; i++)
		if (a->pio[i].key != PROFILE_PIO_EMPTY)
			in_table += a->pio[i].d.n;
	TAP_EQ_U64(in_table + a->pio_other.n, 5050, "table plus 'other' hold all 5050 exits");
	TAP_EQ_U64(in_table, 48 * 49 / 2, "the first 48 keys own their rows");
	TAP_EQ_U64(a->pio_other.total, (5050 - 48 * 49 / 2) * 10, "'other' sums the rest's time");

	fake_exit(b, KVM_EXIT_IO, pio_key(0x100, KVM_EXIT_IO_IN), 0, 7, 0, 1007);
	fake_exit(b, KVM_EXIT_HLT, 0, 0, 7, 0, 9);
	profile_merge(m, a);
	profile_merge(m, b);
	TAP_EQ_U64(profile_exits(m), 5052, "merge adds the exits");
	TAP_EQ_U64(m->host[KVM_EXIT_IO].max, 1000, "merge keeps the larger max");
	TAP_EQ_U64(m->host[KVM_EXIT_IO].min, 10, "and the smaller min");
	TAP_EQ_U64(profile_pio_row(m, pio_key(0x100, KVM_EXIT_IO_IN))->n, 2,
		   "merge adds rows of the same port");
	TAP_EQ_U64(m->host[KVM_EXIT_HLT].n, 1, "merge brings reasons only one side had");
	uint64_t hist = 0;
	for (unsigned i = 0; i < PROFILE_HIST_BUCKETS; i++)
		hist += m->host[KVM_EXIT_IO].hist[i];
	TAP_EQ_U64(hist, 5051, "merged histogram holds every IO exit");
	free(a);
	free(b);
	free(m);
}

static const char *fake_pio_name(const void *ctx, uint16_t port)
{
	return port == KESTREL_PORT_NULL	  ? "null"
	       : port == KESTREL_HC_PORT_BASE + 2 ? "hypercall"
						  : NULL;
}

static const char *fake_mmio_name(const void *ctx, unsigned i, uint64_t *base, uint64_t *len)
{
	if (i != 0)
		return NULL;
	*base = 0xd0000000;
	*len = 0x1000;
	return "fake\"dev"; /* a quote, to exercise JSON escaping */
}

/* A profile with 3 IO (2 null-port writes, 1 ADD hypercall), 1 HLT, 1 MMIO. */
static struct profile_cpu *sample_profile(void)
{
	struct profile_cpu *p = new_profile();

	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_PORT_NULL, KVM_EXIT_IO_OUT), 0, 8000, 8010, 8100);
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_PORT_NULL, KVM_EXIT_IO_OUT), 0, 8000, 8010, 8100);
	fake_exit(p, KVM_EXIT_IO, pio_key(KESTREL_HC_PORT_BASE + 2, KVM_EXIT_IO_OUT), 0, 9000, 9100,
		  9200);
	fake_exit(p, KVM_EXIT_HLT, 0, 0, 100, 0, 2100);
	fake_exit(p, KVM_EXIT_MMIO, 0, 0, 100, 0, 600);
	return p;
}

static void capture_text(const struct profile_cpu *p, char **text, size_t *len)
{
	const struct profile_names names = {fake_pio_name, fake_mmio_name, NULL};
	FILE *f = open_memstream(text, len);

	profile_print(f, p, &names, "> ");
	fclose(f);
}

/* The line of `text` that starts with `start`, copied into line (or ""). */
static const char *find_line(const char *text, const char *start, char *line, size_t len)
{
	size_t sl = strlen(start);

	line[0] = '\0';
	for (const char *s = text; s && *s;) {
		const char *e = strchr(s, '\n');
		size_t l = e ? (size_t)(e - s) : strlen(s);
		if (l >= sl && memcmp(s, start, sl) == 0) {
			snprintf(line, len, "%.*s", (int)l, s);
			return line;
		}
		s = e ? e + 1 : NULL;
	}
	return line;
}

static void test_table(void)
{
	struct profile_cpu *p = sample_profile();
	size_t len;
	char *text = NULL, line[256];
	const char *io, *hlt;

	capture_text(p, &text, &len);

	TAP_STR_CONTAINS(find_line(text, "> exit reason", line, sizeof(line)), "samples%",
			 "header has the perf kvm stat columns");
	TAP_STR_CONTAINS(line, "time%", "header has time%%");
	TAP_STR_CONTAINS(line, "KVM_RUN avg", "and the KVM_RUN round trip");
	/* IO: 3 of 5 samples; host time 100+100+200 = 400 of 400+2000+500 = 2900. */
	TAP_STR_CONTAINS(find_line(text, "> IO ", line, sizeof(line)), " 3 ", "IO row: 3 samples");
	TAP_STR_CONTAINS(line, "60.00%", "IO: 60.00%% of the samples");
	TAP_STR_CONTAINS(line, "13.79%", "IO: 13.79%% of the host time");
	TAP_STR_CONTAINS(line, "100ns", "IO: min 100 ns");
	TAP_STR_CONTAINS(line, "200ns", "IO: max 200 ns");
	TAP_STR_CONTAINS(line, "133ns", "IO: avg 133 ns");
	TAP_STR_CONTAINS(line, "8.33us", "IO: KVM_RUN avg 8.33 us");
	TAP_STR_CONTAINS(find_line(text, "> HLT ", line, sizeof(line)), "68.97%",
			 "HLT: 68.97%% of the time");
	io = strstr(text, "> IO ");
	hlt = strstr(text, "> HLT ");
	TAP_OK(io && hlt && io < hlt, "rows sorted by samples: IO (3) before HLT (1)");
	TAP_STR_CONTAINS(find_line(text, "> total ", line, sizeof(line)), " 5 ",
			 "total: 5 samples");
	TAP_STR_CONTAINS(line, "100.00%", "total: 100%%");
	TAP_STR_CONTAINS(find_line(text, "> 0x0058 out null", line, sizeof(line)), " 2 ",
			 "port row: 0x58 out, device name, 2 samples");
	TAP_STR_CONTAINS(line, "66.67%", "0x58: 2 of 3 IO exits");
	TAP_STR_CONTAINS(find_line(text, "> 0x0032 out hypercall", line, sizeof(line)), " 1 ",
			 "hypercall port row");
	TAP_STR_CONTAINS(find_line(text, "> 2 add", line, sizeof(line)), " 1 ",
			 "hypercall 2 is 'add'");
	TAP_STR_CONTAINS(find_line(text, "> fake\"dev 0xd0000000+0x1000", line, sizeof(line)),
			 " 1 ", "MMIO row names device and range");
	TAP_STR_CONTAINS(find_line(text, "> HLT            host", line, sizeof(line)), "1.0u:1",
			 "HLT histogram: 2000 ns in the [1024, 2048) bucket, labelled 1.0u");
	TAP_STR_CONTAINS(find_line(text, "> IO             host", line, sizeof(line)),
			 "64n:2 128n:1", "IO histogram: 100, 100, 200 ns");
	free(text);
	free(p);
}

static void test_json(void)
{
	const struct profile_names names = {fake_pio_name, fake_mmio_name, NULL};
	struct profile_cpu *p = sample_profile();
	char *buf = NULL, why[128], s[64];
	size_t len;
	double v;
	FILE *f = open_memstream(&buf, &len);

	profile_print_json(f, p, &names);
	fclose(f);
	if (!TAP_EQ_INT(json_validate(buf, len, why, sizeof(why)), 0, "profile JSON is valid"))
		tap_diag("%s: %s", why, buf);
	TAP_OK(json_get_number(buf, len, "exits", &v) == 0 && v == 5, "exits = 5");
	TAP_OK(json_get_string(buf, len, "reasons.0.reason", s, sizeof(s)) == 0 && !strcmp(s, "IO"),
	       "first reason is IO");
	TAP_OK(json_get_number(buf, len, "reasons.0.samples", &v) == 0 && v == 3, "IO samples = 3");
	TAP_OK(json_get_number(buf, len, "reasons.0.host.total_ns", &v) == 0 && v == 400,
	       "IO host total = 400 ns");
	TAP_OK(json_get_number(buf, len, "reasons.0.run.max_ns", &v) == 0 && v == 9000,
	       "IO run max = 9000 ns");
	TAP_OK(json_get_number(buf, len, "reasons.0.host.hist.0.ge_ns", &v) == 0 && v == 64,
	       "sparse histogram starts at the 64 ns bucket");
	TAP_OK(json_get_number(buf, len, "reasons.0.host.hist.0.n", &v) == 0 && v == 2,
	       "with 2 samples");
	TAP_OK(json_get_string(buf, len, "mmio.0.device", s, sizeof(s)) == 0 &&
		   !strcmp(s, "fake\"dev"),
	       "MMIO device name survives escaping");
	TAP_OK(json_get_number(buf, len, "hypercalls.0.nr", &v) == 0 && v == 2, "hypercall nr 2");
	TAP_OK(json_get_number(buf, len, "hypercalls.0.samples", &v) == 0 && v == 1, "called once");
	free(buf);

	/* An empty profile is valid JSON too. */
	struct profile_cpu *e = new_profile();
	f = open_memstream(&buf, &len);
	profile_print_json(f, e, NULL);
	fclose(f);
	TAP_EQ_INT(json_validate(buf, len, why, sizeof(why)), 0, "empty profile JSON is valid");
	TAP_OK(json_get_number(buf, len, "exits", &v) == 0 && v == 0, "with 0 exits");
	free(buf);
	free(e);
	free(p);
}

/* Keys round-trip, none is the free slot's 0, and the hooks build the same. */
static void test_pio_keys(void)
{
	static const uint16_t ports[] = {0, 1, KESTREL_PORT_COM1, 0xfffe, 0xffff};
	static const int dirs[] = {KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT};
	struct profile_cpu *p = new_profile();
	struct kvm_run run;
	bool ok = true;

	memset(&run, 0, sizeof(run));
	run.exit_reason = KVM_EXIT_IO;
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		for (size_t j = 0; j < 2; j++) {
			uint32_t k = PROFILE_PIO_KEY(ports[i], dirs[j]);
			run.io.port = ports[i];
			run.io.direction = (uint8_t)dirs[j];
			profile_after_run(p, &run, 0);
			if (k == PROFILE_PIO_EMPTY || PROFILE_PIO_KEY_PORT(k) != ports[i] ||
			    PROFILE_PIO_KEY_DIR(k) != (uint32_t)dirs[j] || p->key != k) {
				tap_diag("port 0x%x dir %d: key 0x%x, hooks 0x%x", ports[i],
					 dirs[j], k, p->key);
				ok = false;
			}
		}
	TAP_OK(ok, "pio keys round-trip (ports 0, 0xffff, both directions), none is 0");
	TAP_OK(PROFILE_PIO_KEY(0xffff, KVM_EXIT_IO_IN) != PROFILE_PIO_KEY(0, KVM_EXIT_IO_OUT),
	       "the direction does not spill into the port");
	TAP_EQ_U64(PROFILE_PIO_KEY_DIR(PROFILE_PIO_KEY(0, 255)), 255,
		   "any 8-bit direction fits the key");

	/* Port 0 and 0xffff get rows of their own in the table. */
	p->reason = PROFILE_NONE;
	fake_exit(p, KVM_EXIT_IO, pio_key(0, KVM_EXIT_IO_IN), 0, 1, 0, 11);
	fake_exit(p, KVM_EXIT_IO, pio_key(0, KVM_EXIT_IO_OUT), 0, 1, 0, 21);
	fake_exit(p, KVM_EXIT_IO, pio_key(0xffff, KVM_EXIT_IO_IN), 0, 1, 0, 31);
	fake_exit(p, KVM_EXIT_IO, pio_key(0xffff, KVM_EXIT_IO_OUT), 0, 1, 0, 41);
	fake_exit(p, KVM_EXIT_IO, pio_key(0xffff, KVM_EXIT_IO_OUT), 0, 1, 0, 41);
	TAP_EQ_INT(p->pio_used, 4, "four (port, direction) rows");
	TAP_EQ_U64(profile_pio_row(p, pio_key(0, KVM_EXIT_IO_IN))->total, 10, "port 0 in");
	TAP_EQ_U64(profile_pio_row(p, pio_key(0, KVM_EXIT_IO_OUT))->total, 20, "port 0 out");
	TAP_EQ_U64(profile_pio_row(p, pio_key(0xffff, KVM_EXIT_IO_IN))->total, 30,
		   "port 0xffff in");
	TAP_EQ_U64(profile_pio_row(p, pio_key(0xffff, KVM_EXIT_IO_OUT))->n, 2, "port 0xffff out");

	char *text = NULL, line[256];
	size_t len;
	FILE *f = open_memstream(&text, &len);
	profile_print(f, p, NULL, "> ");
	fclose(f);
	TAP_STR_CONTAINS(find_line(text, "> 0x0000 in ", line, sizeof(line)), " 1 ",
			 "report: port 0x0000 in");
	TAP_STR_CONTAINS(find_line(text, "> 0x0000 out", line, sizeof(line)), " 1 ",
			 "report: port 0x0000 out");
	TAP_STR_CONTAINS(find_line(text, "> 0xffff in ", line, sizeof(line)), " 1 ",
			 "report: port 0xffff in");
	TAP_STR_CONTAINS(find_line(text, "> 0xffff out", line, sizeof(line)), " 2 ",
			 "report: port 0xffff out");
	free(text);
	free(p);
}

static char *report(const struct profile_cpu *p, bool json)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);

	if (json)
		profile_print_json(f, p, NULL);
	else
		profile_print(f, p, NULL, "");
	fclose(f);
	return buf;
}

/* A zeroed profile is an empty one; profile_cpu_init_zeroed makes it the
 * same bytes as profile_cpu_init on any memory. */
static void test_zeroed(void)
{
	struct profile_cpu *z = calloc(1, sizeof(*z)), *e = malloc(sizeof(*e));
	struct profile_cpu *s = sample_profile(), *copy = malloc(sizeof(*copy));
	char *a, *b;

	if (!z || !e || !copy)
		abort();
	memset(e, 0xa5, sizeof(*e)); /* whatever malloc left */
	profile_cpu_init(e, &clk_1ghz, true);
	TAP_EQ_U64(profile_exits(z), 0, "a zeroed profile has no exits");
	a = report(z, false);
	b = report(e, false);
	TAP_EQ_STR(a, b, "a zeroed profile's table is an empty profile's");
	free(a);
	free(b);
	a = report(z, true);
	b = report(e, true);
	TAP_EQ_STR(a, b, "and so is its JSON");
	free(a);
	free(b);
	memcpy(copy, s, sizeof(*s));
	profile_merge(s, z);
	TAP_OK(memcmp(copy, s, sizeof(*s)) == 0, "merging a zeroed profile adds nothing");
	profile_cpu_init_zeroed(z, &clk_1ghz, true);
	TAP_OK(memcmp(z, e, sizeof(*z)) == 0,
	       "profile_cpu_init_zeroed on zero memory = profile_cpu_init on any memory");
	profile_cpu_init(e, &clk_1ghz, false);
	memset(z, 0, sizeof(*z));
	profile_cpu_init_zeroed(z, &clk_1ghz, false);
	TAP_OK(memcmp(z, e, sizeof(*z)) == 0, "the same when disabled");
	free(z);
	free(e);
	free(s);
	free(copy);
}

static void test_percentiles(void)
{
	double a[100], one[1] = {42}, odd[] = {5, 1, 4, 2, 3};
	struct summary s;

	for (int i = 0; i < 100; i++)
		a[i] = i + 1; /* 1..100 */
	TAP_OK(summary_percentile(a, 100, 0.5) == 50.5, "p50 of 1..100 is 50.5");
	TAP_OK(summary_percentile(a, 100, 0.95) > 95.04 && summary_percentile(a, 100, 0.95) < 95.06,
	       "p95 of 1..100 is 95.05 (linear)");
	TAP_OK(summary_percentile(a, 100, 0) == 1 && summary_percentile(a, 100, 1) == 100,
	       "p0 and p100 are min and max");
	TAP_OK(summary_percentile(one, 1, 0.99) == 42, "one sample is every percentile");
	summary_of(odd, 5, &s);
	TAP_OK(s.n == 5 && s.min == 1 && s.max == 5 && s.p50 == 3 && s.mean == 3,
	       "summary of 5 unsorted values");
	TAP_OK(odd[0] == 1 && odd[4] == 5, "summarize sorts in place");
	TAP_OK(s.p99 > 4.95 && s.p99 < 5, "p99 of 1..5 interpolates to 4.96");
	summary_of(NULL, 0, &s);
	TAP_OK(s.n == 0 && s.p50 == 0, "no samples: an all-zero summary");
}

static void test_fmt(void)
{
	char b[32];

	TAP_EQ_STR(profile_fmt_ns(850, b, sizeof(b)), "850ns", "850 ns");
	TAP_EQ_STR(profile_fmt_ns(7520, b, sizeof(b)), "7.52us", "7.52 us");
	TAP_EQ_STR(profile_fmt_ns(123456, b, sizeof(b)), "123.5us", "123.5 us");
	TAP_EQ_STR(profile_fmt_ns(12345678, b, sizeof(b)), "12.35ms", "12.35 ms");
	TAP_EQ_STR(profile_fmt_ns(1200000000, b, sizeof(b)), "1.20s", "1.20 s");
}

int main(void)
{
	profile_clock_set(&clk_1ghz, 1000000);
	test_buckets();
	test_timing();
	test_clock();
	test_account();
	test_hooks();
	test_pio_table_and_merge();
	test_pio_keys();
	test_table();
	test_json();
	test_zeroed();
	test_percentiles();
	test_fmt();
	return tap_done();
}
