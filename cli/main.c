/* main.c - the kestrel command: parse options, build the VM, run it, turn the outcome into one exit
 * status. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kestrel/kestrel.h"
#include "kestrel/util.h"
#include "bench.h"
#include "guard.h"
#include "options.h"
#include "tty.h"

static struct kestrel_vm *running_vm;
static bool report_written; /* the --stats-json report is complete */

static void on_stop_signal(int sig)
{
	if (running_vm)
		kestrel_vm_stop(running_vm, sig);
}

/* Which documented status a library failure maps to: by its class. */
static int status_for_error(const struct kestrel_error *err)
{
	switch (err->cls) {
	case KESTREL_ERR_CONFIG:
		return KESTREL_STATUS_USAGE;
	case KESTREL_ERR_IMAGE:
		return KESTREL_STATUS_IMAGE;
	case KESTREL_ERR_HOST:
	default:
		return KESTREL_STATUS_HOST;
	}
}

/* With --stats: the dedicated-CPU settings in force, pinning as the kernel reports it. */
static void print_dedicated(const struct cli_options *o, const struct kestrel_vm *vm)
{
	const struct kestrel_config *c = &o->cfg;
	struct kestrel_vcpu_stats s;

	if (!c->pin && !c->no_halt_exits && !c->no_pause_exits && !c->set_halt_poll)
		return;
	fprintf(stderr, "kestrel: dedicated-CPU mode:");
	for (unsigned i = 0; c->pin && i < c->ncpus; i++) {
		if (kestrel_vm_vcpu_stats(vm, i, &s) < 0)
			break;
		if (s.pinned)
			fprintf(stderr, "%s vCPU %u pinned to host CPU %d", i ? "," : "", i,
				s.host_cpu);
		else
			fprintf(stderr, "%s vCPU %u not pinned", i ? "," : "", i);
	}
	if (c->pin)
		fputc(';', stderr);
	fprintf(stderr, " HLT exits %s; PAUSE exits %s",
		c->no_halt_exits ? "off (in the guest)" : "on",
		c->no_pause_exits ? "off (in the guest)" : "on");
	if (c->set_halt_poll)
		fprintf(stderr, "; halt polling up to %u ns", c->halt_poll_ns);
	fputc('\n', stderr);
}

/* With --stats: what kestrel's exit fast paths took off the exit path. */
static void print_fastpath(const struct kestrel_vm *vm)
{
	struct kestrel_fastpath_stats f;

	kestrel_vm_fastpath_stats(vm, &f);
	fprintf(stderr,
		"kestrel: fast paths: UART THR %s: %llu writes queued by KVM, drained %llu times; "
		"%llu console write(2) calls; doorbell 0x%x %s: %llu rings, %llu of them exits\n",
		f.console_coalesced ? "coalesced PIO" : "off (one exit per byte)",
		(unsigned long long)f.console_ring_entries, (unsigned long long)f.console_drains,
		(unsigned long long)f.console_writes, KESTREL_PORT_DOORBELL,
		f.doorbell_ioeventfd ? "ioeventfd" : "off (one exit per ring)",
		(unsigned long long)f.doorbell_rings, (unsigned long long)f.doorbell_exits);
}

/* Every line of text to stderr with "kestrel: " in front (crash reports are several lines). */
static void print_prefixed(const char *text)
{
	while (*text) {
		size_t l = strcspn(text, "\n");
		fprintf(stderr, "kestrel: %.*s\n", (int)l, text);
		text += l + (text[l] == '\n');
	}
}

/* What --json-status writes: how the run ended, or why it never ran. */
struct run_outcome {
	const char *kind;	 /* kestrel_exit_kind_name(), or "error" */
	const char *error_class; /* "config", "image", "host" (kind "error") */
	int status;		 /* kestrel's exit status */
	int guest_status;	 /* the guest's own status (kinds guest, debug_exit), else -1 */
	int cpu;
	char reason[512]; /* a copy: the error and exit it came from are run_vm()'s locals */
};

static void run_failed(struct run_outcome *out, const struct kestrel_error *err, int status)
{
	static const char *const cls[] = {[KESTREL_ERR_HOST] = "host",
					  [KESTREL_ERR_CONFIG] = "config",
					  [KESTREL_ERR_IMAGE] = "image"};

	fprintf(stderr, "kestrel: %s\n", err->msg);
	*out = (struct run_outcome){
	    "error", (unsigned)err->cls < 3 ? cls[err->cls] : "host", status, -1, -1, ""};
	snprintf(out->reason, sizeof(out->reason), "%s", err->msg);
}

/* --json-status: one line, {"schema":1,...}, documented in docs/stats-json.md; handed to its
 * helper (guard_report_send): the caller collects the answer with guard_report_wait. */
static int write_json_status(struct guard_report *rep, const struct run_outcome *r)
{
	FILE *f = rep->f; /* "-": standard error, appended to (guard_report_open) */

	fprintf(f, "{\"schema\":%d,\"kind\":\"%s\",", KESTREL_STATS_SCHEMA, r->kind);
	if (r->error_class)
		fprintf(f, "\"error_class\":\"%s\",", r->error_class);
	fprintf(f, "\"status\":%d,\"guest_status\":", r->status);
	if (r->guest_status < 0)
		fputs("null", f);
	else
		fprintf(f, "%d", r->guest_status);
	fprintf(f, ",\"cpu\":%d,\"reason\":", r->cpu);
	kestrel_json_write_str(f, r->reason);
	fputs("}\n", f);
	return guard_report_send(rep, !ferror(f));
}

/* run_vm - create, load, run, report. A VM that ran is left in *keep for the caller to destroy
 * once the reports are on their way; one that failed earlier is destroyed here. `in` is the
 * console's input (cli/tty.h). */
static int run_vm(const struct cli_options *o, struct tty_input *in, FILE *json,
		  struct run_outcome *out, struct kestrel_vm **keep)
{
	static struct kestrel_exit ex; /* outlives the call: out->reason points into it */
	struct kestrel_error err = {0};
	struct kestrel_vm *vm;
	struct sigaction sa = {.sa_handler = on_stop_signal};
	struct kestrel_config cfg = o->cfg;
	int r, status;

	/* This thread too is under seccomp once the VM runs: it only reports and
	 * exits after that (kestrel.h). Not under ASan: LeakSanitizer's exit-time
	 * check clones and ptraces. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KESTREL_CLI_ASAN 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(KESTREL_CLI_ASAN)
	cfg.confine_caller = true;
#endif

	/* Standard input is the guest's console input (cli/tty.h). */
	cfg.console_in = in->fd >= 0;
	cfg.console_in_fd = in->fd;
	cfg.console_escape = in->terminal ? 0x01 : 0; /* Ctrl-A */

	memset(&ex, 0, sizeof(ex));
	r = kestrel_vm_create(&cfg, &vm, &err);
	if (r < 0) {
		run_failed(out, &err, status_for_error(&err));
		return out->status;
	}
	r = kestrel_vm_load_file(vm, o->guest, &err);
	if (r < 0) {
		run_failed(out, &err, status_for_error(&err));
		kestrel_vm_destroy(vm);
		return out->status;
	}
	running_vm = vm;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(guard_stop_signals) / sizeof(guard_stop_signals[0]); i++)
		sigaction(guard_stop_signals[i], &sa, NULL);
	if (in->terminal && (r = tty_raw(in)) < 0)
		fprintf(stderr,
			"kestrel: cannot put the terminal in raw mode (%s): input is line by "
			"line, with echo\n",
			strerror(-r));
	r = kestrel_vm_run(vm, o->timeout_ms, &ex, &err);
	tty_restore(in);
	for (unsigned i = 0; i < sizeof(guard_stop_signals) / sizeof(guard_stop_signals[0]); i++)
		signal(guard_stop_signals[i], SIG_DFL);
	running_vm = NULL;
	if (r < 0) {
		run_failed(out, &err, KESTREL_STATUS_HOST);
		kestrel_vm_destroy(vm);
		return KESTREL_STATUS_HOST;
	}
	if (o->stats) {
		kestrel_vm_print_stats(vm, stderr);
		print_dedicated(o, vm);
		print_fastpath(vm);
	}
	if (json && kestrel_vm_write_stats_json(vm, json) < 0)
		fprintf(stderr, "kestrel: --stats-json %s: write failed\n", o->stats_json);
	else if (json)
		report_written = true;
	status = kestrel_exit_status(&ex);
	*out = (struct run_outcome){
	    kestrel_exit_kind_name(ex.kind),
	    NULL,
	    status,
	    ex.kind == KESTREL_EXIT_GUEST || ex.kind == KESTREL_EXIT_DEBUG_EXIT ? ex.status : -1,
	    ex.cpu,
	    ""};
	snprintf(out->reason, sizeof(out->reason), "%s", ex.reason);
	if (status != 0) {
		/* The reason may end in its own parenthesis: no second one. */
		fprintf(stderr, "kestrel: %s; exit status %d\n", ex.reason, status);
		if (ex.report[0])
			print_prefixed(ex.report);
	}
	*keep = vm;
	return status;
}

/* run - run_vm() with the --stats-json file opened first, so a bad path fails before the boot. */
static int run(const struct cli_options *o)
{
	struct run_outcome out = {0};
	struct guard_report rep = {0}, st = {0};
	struct kestrel_vm *vm = NULL;
	char why[128];
	int status, r, js = 0;

	/* Whole or absent: a temporary file renamed at the end (guard.h). */
	if (o->stats_json && guard_report_open(&rep, o->stats_json, stdout, why, sizeof(why)) < 0) {
		fprintf(stderr, "kestrel: --stats-json %s: %s\n", o->stats_json, why);
		return KESTREL_STATUS_USAGE;
	}
	/* Opened before the boot too: after it, this thread can open nothing. */
	if (o->json_status &&
	    guard_report_open(&st, o->json_status, stderr, why, sizeof(why)) < 0) {
		fprintf(stderr, "kestrel: --json-status %s: %s\n", o->json_status, why);
		guard_report_commit(&rep, false);
		return KESTREL_STATUS_USAGE;
	}
	struct tty_input in;
	if ((r = tty_open(&in, o->no_stdin, why, sizeof(why))) < 0) {
		fprintf(stderr, "kestrel: %s (--no-stdin runs without input)\n", why);
		guard_report_commit(&rep, false);
		guard_report_commit(&st, false);
		return KESTREL_STATUS_HOST;
	}
	status = run_vm(o, &in, rep.f, &out, &vm);
	/* Status and reports are complete: their helpers rename them into
	 * place while the VM is torn down (docs/coldstart.md). */
	r = guard_report_send(&rep, report_written);
	if (o->json_status)
		js = write_json_status(&st, &out);
	kestrel_vm_destroy(vm);
	tty_close(&in);
	if ((r = guard_report_wait(&rep, r)) < 0) {
		fprintf(stderr, "kestrel: --stats-json %s: %s\n", o->stats_json, strerror(-r));
		if (status == 0)
			status = KESTREL_STATUS_HOST;
	}
	if (o->json_status && (r = guard_report_wait(&st, js)) < 0) {
		fprintf(stderr, "kestrel: --json-status %s: %s\n", o->json_status, strerror(-r));
		if (status == 0)
			status = KESTREL_STATUS_HOST;
	}
	return status;
}

/* `kestrel rn`: a first word that is no file and looks like no path is a mistyped command. */
static bool mistyped_command(const struct cli_options *o)
{
	struct stat st;

	return o->guest_first && !strchr(o->guest, '/') && !strchr(o->guest, '.') &&
	       stat(o->guest, &st) < 0 && errno == ENOENT;
}

static int print_help(const char *topic)
{
	if (!topic || !strcmp(topic, "help"))
		fputs(cli_usage, stdout);
	else if (!strcmp(topic, "run"))
		fputs(cli_run_usage, stdout);
	else if (!strcmp(topic, "bench"))
		fputs(bench_usage_text, stdout);
	else
		fputs("Usage: kestrel version\n"
		      "Print kestrel's version (and libkestrel's, if it differs) and exit.\n",
		      stdout);
	return 0;
}

/* Leaf 0x40000001 EAX by name (asm/kvm_para.h bit numbers). */
static void cpuid_pv_note(uint32_t eax, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} pv[] = {
	    {0, "kvmclock"},	  {1, "nop-io-delay"},	{3, "kvmclock2"},
	    {4, "async-pf"},	  {5, "steal-time"},	{6, "pv-eoi"},
	    {7, "pv-unhalt"},	  {9, "pv-tlb-flush"},	{10, "async-pf-vmexit"},
	    {11, "pv-send-ipi"},  {12, "poll-control"}, {13, "pv-sched-yield"},
	    {14, "async-pf-int"}, {24, "stable-bit"},
	};
	size_t n = (size_t)snprintf(buf, len, "  # PV:");

	for (size_t i = 0; i < sizeof(pv) / sizeof(pv[0]) && n < len; i++)
		if (eax & (1u << pv[i].bit))
			n += (size_t)snprintf(buf + n, len - n, " %s", pv[i].name);
	if (!eax && n < len)
		snprintf(buf + n, len - n, " none");
}

/* A few words on the leaves that carry timing, the APIC and PV, for people reading --cpuid. */
static void cpuid_note(const struct kestrel_cpuid_leaf *l, char *buf, size_t len)
{
	buf[0] = '\0';
	switch (l->function) {
	case 0x15:
		if (l->eax && l->ebx && l->ecx)
			snprintf(buf, len, "  # TSC/crystal %u/%u, crystal %u Hz: TSC %llu kHz",
				 l->ebx, l->eax, l->ecx,
				 (unsigned long long)((uint64_t)l->ecx * l->ebx / l->eax / 1000));
		else
			snprintf(buf, len, "  # no TSC/crystal ratio");
		break;
	case 0x16:
		snprintf(buf, len, "  # base %u MHz, max %u MHz, bus %u MHz", l->eax & 0xffff,
			 l->ebx & 0xffff, l->ecx & 0xffff);
		break;
	case 0x40000010:
		snprintf(buf, len, "  # TSC %u kHz, APIC bus %u kHz", l->eax, l->ebx);
		break;
	case 0x80000007:
		snprintf(buf, len, "  # invariant TSC: %s", l->edx & (1u << 8) ? "yes" : "no");
		break;
	case 1:
		snprintf(buf, len, "  # x2APIC: %s, TSC-deadline: %s",
			 l->ecx & (1u << 21) ? "yes" : "no", l->ecx & (1u << 24) ? "yes" : "no");
		break;
	case 0x40000001:
		cpuid_pv_note(l->eax, buf, len);
		break;
	}
}

static void cpuid_line(const struct kestrel_cpuid_leaf *l)
{
	char idx[8], note[192];

	if (l->indexed)
		snprintf(idx, sizeof(idx), "0x%02x", l->index);
	else
		snprintf(idx, sizeof(idx), "-");
	cpuid_note(l, note, sizeof(note));
	printf("0x%08x %-5s 0x%08x 0x%08x 0x%08x 0x%08x%s\n", l->function, idx, l->eax, l->ebx,
	       l->ecx, l->edx, note);
}

static bool cpuid_leaf_eq(const struct kestrel_cpuid_leaf *a, const struct kestrel_cpuid_leaf *b)
{
	return a->function == b->function && a->index == b->index && a->indexed == b->indexed &&
	       a->eax == b->eax && a->ebx == b->ebx && a->ecx == b->ecx && a->edx == b->edx;
}

/* kestrel run --cpuid: build the VM (no guest), print vCPU 0's table in
 * full and, for the others, only the leaves that differ (APIC IDs). */
static int print_cpuid(const struct cli_options *o)
{
	struct kestrel_cpuid_leaf first[512], other[512];
	struct kestrel_error err = {0};
	struct kestrel_vm *vm;
	int n, m, r;

	r = kestrel_vm_create(&o->cfg, &vm, &err);
	if (r < 0) {
		fprintf(stderr, "kestrel: %s\n", err.msg);
		return status_for_error(&err);
	}
	n = kestrel_vm_cpuid(vm, 0, first, 512);
	if (n < 0 || n > 512) {
		fprintf(stderr, "kestrel: cannot read the CPUID table (%d leaves)\n", n);
		kestrel_vm_destroy(vm);
		return KESTREL_STATUS_HOST;
	}
	printf("# CPUID table of vCPU 0 of %u (%s%s)\n", o->cfg.ncpus,
	       o->cfg.no_cpuid_tsc ? "--no-cpuid-tsc: timing leaves as KVM gives them"
				   : "TSC rate advertised",
	       o->cfg.no_pv ? "; --no-pv: no PV features" : "");
	printf("# %-8s %-5s %-10s %-10s %-10s %s\n", "function", "index", "eax", "ebx", "ecx",
	       "edx");
	for (int i = 0; i < n; i++)
		cpuid_line(&first[i]);
	for (unsigned c = 1; c < o->cfg.ncpus; c++) {
		m = kestrel_vm_cpuid(vm, c, other, 512);
		printf("# vCPU %u differs in:\n", c);
		for (int i = 0; i < m && i < 512; i++)
			if (i >= n || !cpuid_leaf_eq(&other[i], &first[i]))
				cpuid_line(&other[i]);
	}
	kestrel_vm_destroy(vm);
	return 0;
}

int main(int argc, char **argv)
{
	struct cli_options o;
	struct timespec t0;
	char why[256];

	/* The boot timeline counts from here: what came before main() (exec,
	 * dynamic loading) only `kestrel bench` sees, from outside. */
	/* Closed fds 0-2 get /dev/null before anything else is opened (guard.h). */
	if (guard_std_fds() < 0)
		return KESTREL_STATUS_HOST;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* A closed stdout or stderr (`kestrel run ... | head`), or `ulimit -f`,
	 * must not kill kestrel before it reports the guest's status. */
	guard_ignore_signals();
	if (argc < 2) {
		fprintf(stderr, "kestrel: no guest given\n%s", cli_short_usage);
		return KESTREL_STATUS_USAGE;
	}
	if (cli_parse(argc, argv, &o, why, sizeof(why)) < 0) {
		fprintf(stderr,
			"kestrel: %s\nkestrel: try 'kestrel --help' for more information.\n", why);
		return KESTREL_STATUS_USAGE;
	}
	if (o.command == CLI_RUN && mistyped_command(&o)) {
		cli_unknown_command(o.guest, why, sizeof(why));
		fprintf(stderr,
			"kestrel: %s\nkestrel: try 'kestrel --help' for more information.\n", why);
		return KESTREL_STATUS_USAGE;
	}
	o.cfg.t0_ns = (uint64_t)t0.tv_sec * 1000000000u + (uint64_t)t0.tv_nsec;
	switch (o.command) {
	case CLI_BENCH:
		return bench_main(argc - 1, argv + 1);
	case CLI_HELP:
		return print_help(o.help_topic);
	case CLI_VERSION:
		if (strcmp(kestrel_version(), KESTREL_VERSION) != 0)
			printf("kestrel %s (libkestrel %s)\n", KESTREL_VERSION, kestrel_version());
		else
			printf("kestrel %s\n", KESTREL_VERSION);
		return 0;
	case CLI_CPUID:
		return print_cpuid(&o);
	case CLI_RUN:
	default:
		return run(&o);
	}
}
