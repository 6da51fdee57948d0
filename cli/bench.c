/* bench.c - `kestrel bench`: cold starts of this binary, p50/p95/p99 per boot phase, exits, A/B. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kestrel/kestrel.h"
#include "kestrel/util.h"
#include "options.h"
#include "summary.h"

extern char **environ;

#define BENCH_MAX_OPTS 64 /* words in one --a / --b string */
#define BENCH_DEFAULT_RUNS 50

/* Phases of one cold start, in us. The first is the whole; the rest split it. */
enum {
	PH_TOTAL,     /* spawn -> exit status collected (what a user waits for) */
	PH_EXEC,      /* spawn -> main(): fork/exec, dynamic loading */
	PH_KVM,	      /* main() -> KVM ready */
	PH_LOAD,      /* -> guest memory loaded */
	PH_ENTRY,     /* -> first guest entry (threads, start registers) */
	PH_GUEST,     /* first entry -> guest exit: the guest's own run, exits included */
	PH_STOP,      /* guest exit -> vCPU threads joined */
	PH_TEARDOWN,  /* -> exit seen by us: report, VM teardown, process exit */
	PH_FIRST_OUT, /* spawn -> first console byte (not part of the split) */
	PH_N
};

static const char *const bench_ph_key[PH_N] = {
    "total",
    "exec_to_main",
    "main_to_kvm_ready",
    "kvm_ready_to_loaded",
    "loaded_to_first_entry",
    "guest_exec",
    "guest_exit_to_run_end",
    "teardown",
    "spawn_to_first_output",
};
static const char *const bench_ph_label[PH_N] = {
    "total (spawn to exit)",   "  exec to main()",	     "  main() to KVM ready",
    "  KVM ready to loaded",   "  loaded to first entry",    "  guest exec (entry to exit)",
    "  guest exit to run end", "  teardown to process exit", "spawn to first console byte",
};

enum { CNT_USER, CNT_KVM, CNT_KERNEL, CNT_REGIOCTL, CNT_N };
static const char *const bench_cnt_key[CNT_N] = {"userspace_exits", "kvm_exits", "in_kernel_exits",
						 "register_ioctls"};
static const char *const bench_cnt_label[CNT_N] = {"userspace exits", "KVM exits (KVM's count)",
						   "in-kernel exits", "register ioctls"};

struct bench_mode {
	const char *name, *opts; /* "A" / "B" / "run"; the option string */
	char *argv[BENCH_MAX_OPTS + 16];
	char *words;		       /* opts split in place */
	double *ph[PH_N], *cnt[CNT_N]; /* per successful run */
	unsigned ok, failed;
	int fail_status;
	char fail_msg[512];
};

struct bench_opts {
	unsigned runs, warmup;
	bool json, ab;
	const char *a, *b, *guest;
	char **run_args;
	int nrun_args;
};

static double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

const char bench_usage_text[] =
    "Usage: kestrel bench [--runs N] [--warmup N] [--json] GUEST [-- RUN-ARGS...]\n"
    "       kestrel bench --a \"OPTIONS\" --b \"OPTIONS\" [--runs N] [--json]\n"
    "                     GUEST [-- RUN-ARGS...]\n"
    "\n"
    "Run `kestrel run --stats-json` of GUEST N times, each a fresh process, and\n"
    "print p50/p95/p99/min/max of every boot phase and the exit counts. With\n"
    "--a/--b, alternate two option sets (A B A B ...) and print a Before/After\n"
    "table. RUN-ARGS go to every run (guest arguments after a second '--').\n"
    "The options, RUN-ARGS and GUEST are checked before the first run; a run\n"
    "that fails with status 120-122 (command line, image, host) ends it.\n"
    "\n"
    "Options:\n"
    "      --runs N         measured runs per side (default 50)\n"
    "      --warmup N       runs before those, not counted (default 1)\n"
    "      --json           one JSON document on stdout instead of the tables\n"
    "      --a \"OPTIONS\"    the Before side's run options (\"\": the defaults)\n"
    "      --b \"OPTIONS\"    the After side's\n"
    "  -h, --help           show this help\n"
    "On a terminal, a one-line counter on stderr shows the runs going by.\n"
    "Exit status: 0 every run succeeded, 1 some failed, 120 bad command line,\n"
    "121 GUEST unusable, 122 nothing could be started.\n";

static int bench_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bench_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kestrel: bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nkestrel: try 'kestrel bench --help' for more information.\n");
	return KESTREL_STATUS_USAGE;
}

/* A bench option: "--name VALUE" or "--name=VALUE"; *val NULL when missing. */
static bool bench_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t l = strlen(name);

	if (strncmp(a, name, l) != 0 || (a[l] != '\0' && a[l] != '='))
		return false;
	if (a[l] == '=')
		*val = a + l + 1;
	else
		*val = *i + 1 < argc ? argv[++*i] : NULL;
	return true;
}

/* bench_parse - 0, 1 (--help printed), or KESTREL_STATUS_USAGE. */
static int bench_parse(int argc, char **argv, struct bench_opts *o)
{
	static const char *const names[] = {"runs", "warmup", "json", "help", "a", "b"};

	memset(o, 0, sizeof(*o));
	o->runs = BENCH_DEFAULT_RUNS;
	o->warmup = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val;
		uint64_t v;
		if (!strcmp(a, "--")) {
			o->run_args = argv + i + 1;
			o->nrun_args = argc - i - 1;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(bench_usage_text, stdout);
			return 1;
		}
		if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (bench_opt(argc, argv, &i, "--runs", &val) ||
			   bench_opt(argc, argv, &i, "--warmup", &val)) {
			bool runs = a[2] == 'r';
			if (!val)
				return bench_usage("%s needs a number",
						   runs ? "--runs" : "--warmup");
			if (kestrel_parse_uint(val, runs ? 1 : 0, 100000, &v) < 0)
				return bench_usage("bad number '%s' for %s (%s to 100000)", val,
						   runs ? "--runs" : "--warmup", runs ? "1" : "0");
			*(runs ? &o->runs : &o->warmup) = (unsigned)v;
		} else if (bench_opt(argc, argv, &i, "--a", &val) ||
			   bench_opt(argc, argv, &i, "--b", &val)) {
			if (!val)
				return bench_usage(
				    "--%c needs an option string (\"\" for the defaults)", a[2]);
			*(a[2] == 'a' ? &o->a : &o->b) = val;
			o->ab = true;
		} else if (a[0] == '-' && a[1]) {
			const char *s = a[1] == '-' ? cli_suggest(a + 2, names, 6) : NULL;
			return bench_usage("unknown option '%s'%s%s%s (run options go after '--')",
					   a, s ? " (did you mean --" : "", s ? s : "",
					   s ? "?)" : "");
		} else if (o->guest) {
			return bench_usage("unexpected argument '%s' (run options go after '--')",
					   a);
		} else {
			o->guest = a;
		}
	}
	if (!o->guest)
		return bench_usage("%s", "no guest given");
	if (o->ab) {
		o->a = o->a ? o->a : "";
		o->b = o->b ? o->b : "";
	}
	return 0;
}

/* argv of one run: EXE run --stats-json PATH OPTS... GUEST RUN-ARGS... */
static int bench_mode_init(struct bench_mode *m, const char *name, const char *opts,
			   const struct bench_opts *o, char *exe, char *json_path, unsigned runs)
{
	int n = 0;

	memset(m, 0, sizeof(*m));
	m->name = name;
	m->opts = opts;
	m->words = strdup(opts);
	if (!m->words)
		return -ENOMEM;
	m->argv[n++] = exe;
	m->argv[n++] = "run";
	m->argv[n++] = "--stats-json";
	m->argv[n++] = json_path;
	for (char *save = NULL, *w = strtok_r(m->words, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		if (n >= BENCH_MAX_OPTS)
			return -E2BIG;
		m->argv[n++] = w;
	}
	m->argv[n++] = (char *)o->guest;
	if (o->nrun_args > BENCH_MAX_OPTS)
		return -E2BIG;
	for (int i = 0; i < o->nrun_args; i++)
		m->argv[n++] = o->run_args[i];
	m->argv[n] = NULL;
	for (int i = 0; i < PH_N; i++)
		if (!(m->ph[i] = calloc(runs, sizeof(double))))
			return -ENOMEM;
	for (int i = 0; i < CNT_N; i++)
		if (!(m->cnt[i] = calloc(runs, sizeof(double))))
			return -ENOMEM;
	return 0;
}

static void bench_mode_free(struct bench_mode *m)
{
	free(m->words);
	for (int i = 0; i < PH_N; i++)
		free(m->ph[i]);
	for (int i = 0; i < CNT_N; i++)
		free(m->cnt[i]);
}

static char *bench_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* A number from the run's JSON; NAN when missing or null. */
static double bench_num(const char *j, size_t len, const char *path)
{
	double v;

	return kestrel_json_get_number(j, len, path, &v) == 0 ? v : NAN;
}

/* One cold start. Returns 0 and fills ph/cnt, or -1 with m->fail_* set. */
static int bench_one(struct bench_mode *m, const char *json_path, const char *err_path,
		     double ph[PH_N], double cnt[CNT_N])
{
	posix_spawn_file_actions_t fa;
	double t_spawn, t_end;
	int status, r;
	pid_t pid;
	char *j;
	size_t len = 0;

	unlink(json_path);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t_spawn = bench_now_ns();
	r = posix_spawn(&pid, m->argv[0], &fa, NULL, m->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		snprintf(m->fail_msg, sizeof(m->fail_msg), "cannot start %s: %s", m->argv[0],
			 strerror(r));
		m->fail_status = -1;
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			break;
	t_end = bench_now_ns();
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	/* 0-119 is the guest's own status: a run. 120 and up is kestrel failing. */
	if (code >= 120) {
		size_t el = 0;
		char *e = bench_slurp(err_path, &el);
		m->fail_status = code;
		snprintf(m->fail_msg, sizeof(m->fail_msg), "exit status %d: %.*s", code,
			 e ? (int)(el > 400 ? 400 : el) : 0, e ? e : "");
		free(e);
		return -1;
	}
	j = bench_slurp(json_path, &len);
	if (!j || kestrel_json_validate(j, len, NULL, 0) < 0) {
		m->fail_status = code;
		snprintf(m->fail_msg, sizeof(m->fail_msg),
			 "no valid --stats-json output (exit status %d)", code);
		free(j);
		return -1;
	}
	double t0 = bench_num(j, len, "timeline_us.t0_monotonic_ns");
	double kvm = bench_num(j, len, "timeline_us.kvm_ready"),
	       ld = bench_num(j, len, "timeline_us.guest_loaded");
	double fe = bench_num(j, len, "timeline_us.first_entry"),
	       ge = bench_num(j, len, "timeline_us.guest_exit");
	double re = bench_num(j, len, "timeline_us.run_end"),
	       fc = bench_num(j, len, "timeline_us.first_console_byte");
	double main_us = (t0 - t_spawn) / 1e3; /* spawn -> main(), us */

	ph[PH_TOTAL] = (t_end - t_spawn) / 1e3;
	ph[PH_EXEC] = main_us;
	ph[PH_KVM] = kvm;
	ph[PH_LOAD] = ld - kvm;
	ph[PH_ENTRY] = fe - ld;
	ph[PH_GUEST] = ge - fe;
	ph[PH_STOP] = re - ge;
	ph[PH_TEARDOWN] = (t_end - t0) / 1e3 - re;
	ph[PH_FIRST_OUT] = main_us + fc;
	/* The run loop's own counter: there with --no-profile too. */
	cnt[CNT_USER] = bench_num(j, len, "registers.exits");
	cnt[CNT_KVM] = bench_num(j, len, "kvm_stats.kvm_exits");
	cnt[CNT_KERNEL] = bench_num(j, len, "kvm_stats.in_kernel_exits");
	cnt[CNT_REGIOCTL] = bench_num(j, len, "registers.ioctls");
	free(j);
	return 0;
}

/* Summaries of one mode, NaN samples (a milestone that never came) left out. */
static void bench_summary(const double *v, unsigned n, struct summary *s)
{
	double *c = malloc((n ? n : 1) * sizeof(double));
	size_t k = 0;

	for (unsigned i = 0; c && i < n; i++)
		if (!isnan(v[i]))
			c[k++] = v[i];
	summary_of(c, c ? k : 0, s);
	free(c);
}

static void bench_host(char *buf, size_t len, bool *nested)
{
	struct utsname u;
	char line[8192], model[128] = "unknown CPU";
	FILE *f = fopen("/proc/cpuinfo", "r");

	*nested = false;
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');
		if (!strncmp(line, "model name", 10) && c && !strcmp(model, "unknown CPU")) {
			snprintf(model, sizeof(model), "%s", c + 2);
			model[strcspn(model, "\n")] = '\0';
		}
		if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
			*nested = true;
	}
	if (f)
		fclose(f);
	uname(&u);
	snprintf(buf, len, "%s %s, %ld CPUs: %s", u.sysname, u.release,
		 sysconf(_SC_NPROCESSORS_ONLN), model);
}

static void bench_print_mode(const struct bench_mode *m)
{
	struct summary s;

	printf("%-30s %10s %10s %10s %10s %10s\n", "phase (us)", "p50", "p95", "p99", "min", "max");
	for (int p = 0; p < PH_N; p++) {
		bench_summary(m->ph[p], m->ok, &s);
		if (!s.n) {
			printf("%-30s %10s\n", bench_ph_label[p], "-");
			continue;
		}
		printf("%-30s %10.1f %10.1f %10.1f %10.1f %10.1f\n", bench_ph_label[p], s.p50,
		       s.p95, s.p99, s.min, s.max);
	}
	printf("%-30s %10s %10s %10s\n", "counts per run", "p50", "min", "max");
	for (int c = 0; c < CNT_N; c++) {
		bench_summary(m->cnt[c], m->ok, &s);
		if (!s.n)
			printf("%-30s %10s\n", bench_cnt_label[c], "n/a");
		else
			printf("%-30s %10.0f %10.0f %10.0f\n", bench_cnt_label[c], s.p50, s.min,
			       s.max);
	}
}

static void bench_json_summary(const double *v, unsigned n)
{
	struct summary s;

	bench_summary(v, n, &s);
	if (!s.n) {
		fputs("null", stdout);
		return;
	}
	printf("{\"n\":%zu,\"p50\":%.1f,\"p95\":%.1f,\"p99\":%.1f,\"min\":%.1f,\"max\":%.1f,"
	       "\"mean\":%.1f}",
	       s.n, s.p50, s.p95, s.p99, s.min, s.max, s.mean);
}

static void bench_json_num(double v)
{
	if (isnan(v))
		fputs("null", stdout);
	else
		printf("%.1f", v);
}

static void bench_json_mode(const struct bench_mode *m)
{
	printf("{\"name\":\"%s\",\"options\":", m->name);
	kestrel_json_write_str(stdout, m->opts);
	printf(",\"ok\":%u,\"failed\":%u,\"phases_us\":{", m->ok, m->failed);
	for (int p = 0; p < PH_N; p++) {
		printf("%s\"%s\":", p ? "," : "", bench_ph_key[p]);
		bench_json_summary(m->ph[p], m->ok);
	}
	fputs("},\"counts\":{", stdout);
	for (int c = 0; c < CNT_N; c++) {
		printf("%s\"%s\":", c ? "," : "", bench_cnt_key[c]);
		bench_json_summary(m->cnt[c], m->ok);
	}
	fputs("},\"samples\":{\"total_us\":[", stdout);
	for (unsigned i = 0; i < m->ok; i++)
		printf("%s%.1f", i ? "," : "", m->ph[PH_TOTAL][i]);
	fputs("]}}", stdout);
}

/* The Before/After rows: p50 of a phase or a count. */
static const struct {
	const char *key, *label;
	bool count;
	int idx;
} bench_ab_rows[] = {
    {"total_p50_us", "total p50 (us)", false, PH_TOTAL},
    {"main_to_kvm_ready_p50_us", "main() to KVM ready p50 (us)", false, PH_KVM},
    {"guest_exec_p50_us", "guest exec p50 (us)", false, PH_GUEST},
    {"userspace_exits", "userspace exits", true, CNT_USER},
    {"in_kernel_exits", "in-kernel exits", true, CNT_KERNEL},
    {"register_ioctls", "register ioctls", true, CNT_REGIOCTL},
};

static double bench_ab_value(const struct bench_mode *m, unsigned row)
{
	struct summary s;

	if (bench_ab_rows[row].count)
		bench_summary(m->cnt[bench_ab_rows[row].idx], m->ok, &s);
	else
		bench_summary(m->ph[bench_ab_rows[row].idx], m->ok, &s);
	return s.n ? s.p50 : NAN;
}

static void bench_fmt_change(double a, double b, char *buf, size_t len)
{
	if (isnan(a) || isnan(b))
		snprintf(buf, len, "n/a");
	else if (a == b)
		snprintf(buf, len, "same");
	else if (a == 0)
		snprintf(buf, len, "+%.0f", b);
	else if (b / a >= 10)
		snprintf(buf, len, "%.1fx", b / a);
	else
		snprintf(buf, len, "%+.1f%%", (b / a - 1) * 100);
}

/* A run that fails like this would fail every time: stop at once. */
static bool bench_fatal(const struct bench_mode *m)
{
	return m->fail_status < 0 ||
	       (m->fail_status >= KESTREL_STATUS_USAGE && m->fail_status <= KESTREL_STATUS_HOST);
}

/* The warm-up and measured runs, with a counter on a terminal. Returns 0, or
 * the status to end with when a run failed the way every run would. */
static int bench_runs(const struct bench_opts *o, struct bench_mode *modes, unsigned nmodes,
		      const char *json_path, const char *err_path)
{
	unsigned total = (o->warmup + o->runs) * nmodes, done = 0;
	bool tty = isatty(2);

	/* Warm-up runs (page cache, first-touch of the binary) are not counted;
	 * then the modes alternate, A B A B, so drift hits both alike. */
	for (unsigned i = 0; i < o->warmup + o->runs; i++)
		for (unsigned k = 0; k < nmodes; k++) {
			struct bench_mode *m = &modes[k];
			double ph[PH_N], cnt[CNT_N];
			if (tty)
				fprintf(stderr, "\rkestrel: bench: run %u of %u%s", ++done, total,
					i < o->warmup ? " (warm-up)" : "          ");
			if (bench_one(m, json_path, err_path, ph, cnt) < 0) {
				if (bench_fatal(m)) {
					if (tty)
						fputs("\r\033[K", stderr);
					fprintf(stderr,
						"kestrel: bench: %s: a run failed the way every "
						"run would, stopping: %s\n",
						m->name, m->fail_msg);
					return m->fail_status < 0 ? KESTREL_STATUS_HOST
								  : m->fail_status;
				}
				if (i >= o->warmup)
					m->failed++;
				continue;
			}
			if (i < o->warmup)
				continue;
			for (int p = 0; p < PH_N; p++)
				m->ph[p][m->ok] = ph[p];
			for (int c = 0; c < CNT_N; c++)
				m->cnt[c][m->ok] = cnt[c];
			m->ok++;
		}
	if (tty)
		fputs("\r\033[K", stderr);
	return 0;
}

/*
 * Before the first run: GUEST exists, is a regular file, and starts the way
 * an image kestrel boots does (ELF, a Linux setup header, a multiboot
 * header). The loader itself, in the first run, has the last word.
 */
static int bench_check_image(const char *path)
{
	unsigned char head[8192];
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "kestrel: bench: %s: %s\n", path, strerror(errno));
		return KESTREL_STATUS_IMAGE;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "kestrel: bench: %s: not a regular file (give a guest image)\n",
			path);
		return KESTREL_STATUS_IMAGE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "kestrel: bench: %s: %s\n", path, strerror(errno));
		return KESTREL_STATUS_IMAGE;
	}
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n >= 4 && !memcmp(head, "\177ELF", 4))
		return 0;
	if (n >= 0x206 && !memcmp(head + 0x202, "HdrS", 4))
		return 0;
	for (ssize_t off = 0; off + 12 <= n; off += 4) /* multiboot v1: magic, 4-aligned */
		if (head[off] == 0x02 && head[off + 1] == 0xb0 && head[off + 2] == 0xad &&
		    head[off + 3] == 0x1b)
			return 0;
	fprintf(stderr,
		"kestrel: bench: %s: not a guest image kestrel boots (no ELF, Linux or "
		"multiboot header in its first %zd bytes)\n",
		path, n < 0 ? 0 : n);
	return KESTREL_STATUS_IMAGE;
}

/* The options one side runs with, through the run parser before any run. */
static int bench_check_mode(const struct bench_mode *m)
{
	struct cli_options *co = malloc(sizeof(*co));
	char why[256];
	int argc = 0, r;

	if (!co)
		return KESTREL_STATUS_HOST;
	while (m->argv[argc])
		argc++;
	r = cli_parse(argc, m->argv, co, why, sizeof(why));
	free(co);
	if (r < 0) {
		fprintf(stderr, "kestrel: bench: %s: kestrel run %s: %s\n", m->name,
			*m->opts ? m->opts : "(with the defaults)", why);
		return KESTREL_STATUS_USAGE;
	}
	return 0;
}

int bench_main(int argc, char **argv)
{
	struct bench_opts o;
	struct bench_mode modes[2];
	char exe[4096], json_path[] = "/tmp/kestrel-bench-XXXXXX", err_path[64], host[512];
	unsigned nmodes;
	bool nested;
	int r, fd;
	ssize_t el;

	if ((r = bench_parse(argc, argv, &o)) != 0)
		return r == 1 ? 0 : r;
	if ((r = bench_check_image(o.guest)) != 0)
		return r;
	/* This very binary, as a user would run it. */
	el = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (el <= 0) {
		fprintf(stderr, "kestrel: bench: /proc/self/exe: %s\n", strerror(errno));
		return KESTREL_STATUS_HOST;
	}
	exe[el] = '\0';
	fd = mkstemp(json_path);
	if (fd < 0) {
		fprintf(stderr, "kestrel: bench: cannot make a temporary file: %s\n",
			strerror(errno));
		return KESTREL_STATUS_HOST;
	}
	close(fd);
	snprintf(err_path, sizeof(err_path), "%s.err", json_path);
	nmodes = o.ab ? 2 : 1;
	memset(modes, 0, sizeof(modes));
	r = bench_mode_init(&modes[0], o.ab ? "A" : "run", o.ab ? o.a : "", &o, exe, json_path,
			    o.runs);
	if (r == 0 && o.ab)
		r = bench_mode_init(&modes[1], "B", o.b, &o, exe, json_path, o.runs);
	if (r < 0) {
		fprintf(stderr, "kestrel: bench: %s\n",
			r == -E2BIG ? "too many options in --a/--b or after '--'" : strerror(-r));
		unlink(json_path);
		for (unsigned k = 0; k < nmodes; k++)
			bench_mode_free(&modes[k]);
		return r == -E2BIG ? KESTREL_STATUS_USAGE : KESTREL_STATUS_HOST;
	}
	for (unsigned k = 0; k < nmodes && r == 0; k++)
		r = bench_check_mode(&modes[k]);
	if (r == 0)
		r = bench_runs(&o, modes, nmodes, json_path, err_path);
	if (r != 0) {
		unlink(json_path);
		unlink(err_path);
		for (unsigned k = 0; k < nmodes; k++)
			bench_mode_free(&modes[k]);
		return r;
	}

	unlink(json_path);
	unlink(err_path);

	bench_host(host, sizeof(host), &nested);
	if (o.json) {
		printf("{\"kestrel\":\"%s\",\"guest\":", KESTREL_VERSION);
		kestrel_json_write_str(stdout, o.guest);
		printf(",\"runs\":%u,\"warmup\":%u,\"host\":", o.runs, o.warmup);
		kestrel_json_write_str(stdout, host);
		printf(",\"kvm_nested\":%s,\"modes\":[", nested ? "true" : "false");
		for (unsigned k = 0; k < nmodes; k++) {
			fputs(k ? "," : "", stdout);
			bench_json_mode(&modes[k]);
		}
		fputc(']', stdout);
		if (o.ab) {
			fputs(",\"ab\":{", stdout);
			for (unsigned i = 0; i < sizeof(bench_ab_rows) / sizeof(bench_ab_rows[0]);
			     i++) {
				double a = bench_ab_value(&modes[0], i),
				       b = bench_ab_value(&modes[1], i);
				printf("%s\"%s\":{\"before\":", i ? "," : "", bench_ab_rows[i].key);
				bench_json_num(a);
				fputs(",\"after\":", stdout);
				bench_json_num(b);
				fputs(",\"change_pct\":", stdout);
				if (isnan(a) || isnan(b) || a == 0)
					fputs("null", stdout);
				else
					printf("%.2f", (b / a - 1) * 100);
				fputc('}', stdout);
			}
			fputc('}', stdout);
		}
		fputs("}\n", stdout);
	} else {
		printf("kestrel bench: %u cold starts%s of %s (each a fresh `kestrel run "
		       "--stats-json`),"
		       " %u warm-up run%s not counted\n",
		       o.runs, o.ab ? " per side, interleaved A B A B," : "", o.guest, o.warmup,
		       o.warmup == 1 ? "" : "s");
		printf("host: %s; KVM nested: %s\n", host, nested ? "yes" : "no");
		if (!o.ab) {
			printf("\n");
			bench_print_mode(&modes[0]);
		} else {
			printf("A (before): kestrel run %s\nB (after):  kestrel run %s\n\n",
			       *o.a ? o.a : "(default options)", *o.b ? o.b : "(default options)");
			printf("%-30s %14s %14s %10s\n", "Metric", "Before", "After", "Change");
			for (unsigned i = 0; i < sizeof(bench_ab_rows) / sizeof(bench_ab_rows[0]);
			     i++) {
				double a = bench_ab_value(&modes[0], i),
				       b = bench_ab_value(&modes[1], i);
				char ch[32];
				bench_fmt_change(a, b, ch, sizeof(ch));
				printf("%-30s %14.1f %14.1f %10s\n", bench_ab_rows[i].label, a, b,
				       ch);
			}
		}
	}
	r = 0;
	for (unsigned k = 0; k < nmodes; k++) {
		if (modes[k].failed) {
			fprintf(stderr, "kestrel: bench: %s: %u of %u runs failed; last: %s\n",
				modes[k].name, modes[k].failed, o.runs, modes[k].fail_msg);
			r = 1;
		}
		if (!modes[k].ok)
			r = modes[k].fail_status < 0 ? KESTREL_STATUS_HOST : 1;
		bench_mode_free(&modes[k]);
	}
	return r;
}
