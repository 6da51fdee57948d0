/* options.c - command-line parsing for kestrel (no getopt: no global state, easy to test and fuzz).
 */
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kestrel/util.h"

/* The status table, shared by both help texts (the README lists the same). */
#define CLI_STATUS_TABLE                                                                           \
	"Exit status:\n"                                                                           \
	"  0-119  the guest's own status (exit hypercall; isa-debug-exit gives (v<<1)|1)\n"        \
	"  120    bad command line            124  --timeout expired\n"                            \
	"  121    guest image unusable        125  guest error: KVM internal error,\n"             \
	"  122    KVM or host failure              failed entry, unknown exit, or a\n"             \
	"  123    guest triple fault               guest status over 119\n"                        \
	"  127    guest reset (i8042/system)  126  --strict: unhandled port/MMIO access\n"         \
	"  128+N  stopped by signal N, after a clean stop and the reports: 129 SIGHUP,\n"          \
	"         130 SIGINT, 131 SIGQUIT, 138 SIGUSR1, 142 SIGALRM, 143 SIGTERM\n"                \
	"  159    a kestrel thread made a system call its seccomp filter forbids (SIGSYS)\n"

const char cli_short_usage[] =
    "Usage: kestrel [run] [OPTIONS] GUEST [-- GUEST-ARGS...]\n"
    "       kestrel run -k KERNEL [-i INITRD] [-p \"CMDLINE\"] [-m 256] [-c 2]\n"
    "       kestrel bench|help|version ...\n"
    "Try 'kestrel help' for the commands, 'kestrel help run' for every option.\n";

const char cli_usage[] =
    "Usage: kestrel run [OPTIONS] GUEST [-- GUEST-ARGS...]\n"
    "       kestrel run [OPTIONS] -k KERNEL [-i INITRD] [-p \"CMDLINE\"]\n"
    "       kestrel bench [OPTIONS] GUEST [-- RUN-ARGS...]\n"
    "       kestrel help [COMMAND] | kestrel version\n"
    "\n"
    "Boot GUEST in a KVM micro-VM: a Linux bzImage or vmlinux, a multiboot kernel,\n"
    "or a kestrel bare-metal ELF64 guest (recognised by its contents). Its console\n"
    "is kestrel's standard output. 'run' may be left out: kestrel GUEST.\n"
    "\n"
    "Commands:\n"
    "  run      boot a guest (the default)       kestrel help run: every option\n"
    "  bench    cold-start statistics of a guest kestrel help bench\n"
    "  help     this text, or one command's      kestrel help COMMAND\n"
    "  version  the version\n"
    "\n"
    "Common options of run (as lkvm and QEMU spell them):\n"
    "  -m, --mem SIZE       guest RAM: a bare number is MiB (-m 256), else K/M/G/T\n"
    "                       (-m 1G); at most what the host has available\n"
    "  -c, --cpus N         number of vCPUs (default 1)\n"
    "  -k, --kernel IMAGE   the guest image (instead of the GUEST argument)\n"
    "  -i, --initrd FILE    Linux initramfs, or a multiboot kernel's first module\n"
    "  -p, --cmdline STR    kernel command line (also --append)\n"
    "  -t, --timeout SECS   stop a guest that runs longer than SECS\n"
    "  -q, --quiet          only errors;  -v, --verbose: also the set-up steps\n"
    "  -h, --help           help;  -V, --version: the version\n"
    "Long options may be shortened to any unambiguous prefix (--time 2).\n"
    "\n" CLI_STATUS_TABLE;

const char cli_run_usage[] =
    "Usage: kestrel run [OPTIONS] GUEST [-- GUEST-ARGS...]\n"
    "       kestrel run [OPTIONS] -k KERNEL [-i INITRD] [-p \"CMDLINE\"]\n"
    "       kestrel run --cpuid [OPTIONS] [GUEST]\n"
    "\n"
    "Boot GUEST in a KVM micro-VM: a Linux bzImage or vmlinux, a multiboot kernel,\n"
    "or a kestrel bare-metal ELF64 guest (recognised by its contents). Its console\n"
    "(the UART at 0x3f8) is kestrel's standard output; --cmdline and GUEST-ARGS\n"
    "reach it as one command line. kestrel's own messages go to standard error,\n"
    "each line starting with \"kestrel: \".\n"
    "\n"
    "Options (a long option may be shortened to any unambiguous prefix; a value may\n"
    "follow as the next word, after '=' (--mem=256M) or, for a short option,\n"
    "attached (-m256M, -c2); -kernel, -initrd and -append work with one dash):\n"
    "  -m, --mem SIZE       guest RAM: a bare number is MiB (-m 256, as lkvm, QEMU and\n"
    "                       Firecracker read it), else K/M/G/T suffixes (-m 1G,\n"
    "                       --mem 65536K), a whole number of 4 KiB pages; default\n"
    "                       64M, minimum 2M, at most what the host has available\n"
    "      --mem-overcommit allow --mem beyond the host's available memory (RAM is\n"
    "                       given as the guest touches it: a host that runs out\n"
    "                       kills a process, the OOM killer)\n"
    "      --mem-prefault   allocate all guest RAM before the guest starts: a host\n"
    "                       that cannot give it fails then, not in mid-run\n"
    "  -c, --cpus N         number of vCPUs (default 1; more than the host's CPUs\n"
    "                       works, with a warning)\n"
    "  -k, --kernel IMAGE   the guest image (instead of the GUEST argument)\n"
    "  -i, --initrd FILE    Linux initramfs, or a multiboot kernel's first module\n"
    "      --module FILE[,STRING]  a further multiboot module (repeatable)\n"
    "  -p, --cmdline STR    kernel command line (also --append); GUEST-ARGS follow it\n"
    "      --strict         an access to an unhandled port or MMIO address ends the VM\n"
    "                       (default: reads return 0, writes are ignored; the first\n"
    "                       8 ports are logged, the rest counted after the run)\n"
    "  -t, --timeout SECS   stop a guest that runs longer than SECS (decimals allowed)\n"
    "  -q, --quiet          print only errors (no warnings)\n"
    "  -v, --verbose        also print the set-up steps: KVM capabilities, objects\n"
    "                       created, memory layout, the boot protocol recognised\n"
    "      --no-stdin       the guest's UART receives nothing (by default it receives\n"
    "                       standard input; a terminal is in raw mode for the run:\n"
    "                       Ctrl-A x quits (status 130), Ctrl-A Ctrl-A sends Ctrl-A,\n"
    "                       Ctrl-A h lists these)\n"
    "      --json-status FILE  at the end, write the outcome as one JSON line to FILE\n"
    "                       ({\"schema\":1,\"kind\":...,\"status\":...,\"reason\":...};\n"
    "                       docs/stats-json.md); FILE '-' is standard error\n"
    "      --no-sync-regs   move registers by ioctl instead of the shared kvm_run page\n"
    "      --no-seccomp     don't confine the vCPU threads with seccomp (debugging:\n"
    "                       by default a forbidden system call kills kestrel, 159)\n"
    "      --stats          after the run, print the exit profile (per exit reason,\n"
    "                       port, device and hypercall), register-cache and KVM\n"
    "                       counters and the boot timeline to standard error\n"
    "      --stats-json FILE  write the same report as JSON to FILE (docs/stats-json.md)\n"
    "      --no-profile     skip the per-exit profile accounting (for overhead runs)\n"
    "      --no-cpuid-tsc   leave CPUID's timing leaves as KVM gives them (by default\n"
    "                       kestrel puts the TSC rate and the 1 GHz LAPIC timer clock in\n"
    "                       leaves 0x15, 0x16 and 0x40000010 and sets invariant TSC)\n"
    "      --pit            give the guest KVM's PIT (with the full in-kernel irqchip:\n"
    "                       PIC, IOAPIC) even when its boot protocol needs none\n"
    "      --no-pv          advertise no KVM paravirtual feature (kvmclock, PV EOI,\n"
    "                       PV send-IPI, ...: CPUID 0x40000001 all zero), for A/B runs\n"
    "      --no-fast-io     UART THR writes and doorbell rings exit to kestrel one by\n"
    "                       one (no coalesced PIO, no ioeventfd), for A/B runs\n"
    "      --no-host-decompress  boot a bzImage through its own decompressor instead\n"
    "                       of unpacking the kernel on the host\n"
    "      --no-host-quirks don't carry out instructions this host's KVM cannot emulate\n"
    "                       (nested KVMs that emulate guest kernel code), nor add\n"
    "                       what such a host needs to a Linux command line\n"
    "      --pin            dedicated CPUs: vCPU i's thread runs only on the (i mod n)-th\n"
    "                       of the n host CPUs kestrel may use (host CPU i mod nproc)\n"
    "      --no-halt-exits  a guest HLT stays in the guest (KVM_CAP_X86_DISABLE_EXITS);\n"
    "                       refused where KVM does not allow it\n"
    "      --no-pause-exits a guest PAUSE loop stays in the guest (no pause-loop exits)\n"
    "      --halt-poll NS   poll a halted vCPU up to NS ns before sleeping\n"
    "                       (KVM_CAP_HALT_POLL; 0 = never; default: the host's)\n"
    "      --cpuid          print the CPUID table vCPU 0 will see (and what other\n"
    "                       vCPUs see differently), then exit without running;\n"
    "                       needs /dev/kvm but no guest\n"
    "  -h, --help           show this help\n"
    "  -V, --version        show the version\n"
    "\n" CLI_STATUS_TABLE;

static int cli_err(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cli_err(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The longest --timeout: 10^9 s (about 31.7 years; 10^12 ms fits 64 bits with room). */
#define CLI_TIMEOUT_MAX_S 1000000000u

/* "1", "0.5", "2.25": seconds with up to 3 decimals, to milliseconds.
 * -EINVAL for what is no such number (or is 0), -ERANGE for one above CLI_TIMEOUT_MAX_S. */
static int cli_parse_seconds(const char *s, uint64_t *ms)
{
	char whole[32];
	const char *dot = strchr(s, '.');
	size_t wl = dot ? (size_t)(dot - s) : strlen(s);
	uint64_t sec = 0, frac = 0;

	if (wl == 0 && !dot)
		return -EINVAL;
	for (size_t i = 0; i < wl; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	while (wl > 1 && *s == '0') /* "007": leading zeros do not make it large */
		s++, wl--;
	if (dot) {
		const char *f = dot + 1;
		size_t fl = strlen(f);
		if (fl == 0 || fl > 3)
			return -EINVAL;
		for (size_t i = 0; i < 3; i++) {
			char c = i < fl ? f[i] : '0';
			if (c < '0' || c > '9')
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(c - '0');
		}
	}
	if (wl >= sizeof(whole))
		return -ERANGE; /* digits only, more than 31 of them */
	memcpy(whole, s, wl);
	whole[wl] = '\0';
	if (wl && kestrel_parse_uint(whole, 0, CLI_TIMEOUT_MAX_S, &sec) < 0)
		return -ERANGE;
	if (sec == CLI_TIMEOUT_MAX_S && frac)
		return -ERANGE;
	*ms = sec * 1000 + frac;
	return *ms ? 0 : -EINVAL;
}

const char *const cli_commands[] = {"run", "bench", "help", "version", NULL};

/* Every option, once: its long name, its short letter (0: none), whether it
 * takes a value, and whether QEMU users may spell it with one dash. */
enum cli_opt_id {
	OPT_HELP,
	OPT_VERSION,
	OPT_QUIET,
	OPT_VERBOSE,
	OPT_MEM,
	OPT_CPUS,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_MODULE,
	OPT_CMDLINE,
	OPT_APPEND,
	OPT_STRICT,
	OPT_TIMEOUT,
	OPT_NO_SYNC_REGS,
	OPT_NO_SECCOMP,
	OPT_STATS,
	OPT_STATS_JSON,
	OPT_JSON_STATUS,
	OPT_NO_PROFILE,
	OPT_NO_CPUID_TSC,
	OPT_NO_PV,
	OPT_PIT,
	OPT_NO_FAST_IO,
	OPT_NO_HOST_QUIRKS,
	OPT_NO_HOST_DECOMPRESS,
	OPT_PIN,
	OPT_NO_HALT_EXITS,
	OPT_NO_PAUSE_EXITS,
	OPT_HALT_POLL,
	OPT_CPUID,
	OPT_NO_STDIN,
	OPT_MEM_OVERCOMMIT,
	OPT_MEM_PREFAULT,
};

static const struct cli_opt {
	const char *name;
	char shrt;
	bool value, one_dash;
	enum cli_opt_id id;
} cli_opts[] = {
    {"help", 'h', false, false, OPT_HELP},
    {"version", 'V', false, false, OPT_VERSION},
    {"quiet", 'q', false, false, OPT_QUIET},
    {"verbose", 'v', false, false, OPT_VERBOSE},
    {"mem", 'm', true, false, OPT_MEM},
    {"cpus", 'c', true, false, OPT_CPUS},
    {"kernel", 'k', true, true, OPT_KERNEL},
    {"initrd", 'i', true, true, OPT_INITRD},
    {"module", 0, true, false, OPT_MODULE},
    {"cmdline", 'p', true, false, OPT_CMDLINE},
    {"append", 0, true, true, OPT_APPEND},
    {"strict", 0, false, false, OPT_STRICT},
    {"timeout", 't', true, false, OPT_TIMEOUT},
    {"no-sync-regs", 0, false, false, OPT_NO_SYNC_REGS},
    {"no-seccomp", 0, false, false, OPT_NO_SECCOMP},
    {"stats", 0, false, false, OPT_STATS},
    {"stats-json", 0, true, false, OPT_STATS_JSON},
    {"json-status", 0, true, false, OPT_JSON_STATUS},
    {"no-profile", 0, false, false, OPT_NO_PROFILE},
    {"no-cpuid-tsc", 0, false, false, OPT_NO_CPUID_TSC},
    {"no-pv", 0, false, false, OPT_NO_PV},
    {"pit", 0, false, false, OPT_PIT},
    {"no-fast-io", 0, false, false, OPT_NO_FAST_IO},
    {"no-host-quirks", 0, false, false, OPT_NO_HOST_QUIRKS},
    {"no-host-decompress", 0, false, false, OPT_NO_HOST_DECOMPRESS},
    {"pin", 0, false, false, OPT_PIN},
    {"no-halt-exits", 0, false, false, OPT_NO_HALT_EXITS},
    {"no-pause-exits", 0, false, false, OPT_NO_PAUSE_EXITS},
    {"halt-poll", 0, true, false, OPT_HALT_POLL},
    {"cpuid", 0, false, false, OPT_CPUID},
    {"no-stdin", 0, false, false, OPT_NO_STDIN},
    {"mem-overcommit", 0, false, false, OPT_MEM_OVERCOMMIT},
    {"mem-prefault", 0, false, false, OPT_MEM_PREFAULT},
};
#define CLI_NOPTS (sizeof(cli_opts) / sizeof(cli_opts[0]))

/* Optimal string alignment distance (Levenshtein plus swaps of neighbours),
 * of words no longer than 32 bytes (longer ones are never "close"). */
static size_t cli_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), d[34][34];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1], v = d[i - 1][j - 1] + cost;
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

const char *cli_suggest(const char *word, const char *const *cands, size_t n)
{
	size_t wl = strlen(word), best = SIZE_MAX, longest = 0;
	size_t limit = wl < 2 ? 0 : wl <= 4 ? 1 : 2; /* and never the whole word */
	const char *pick = NULL, *stem = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t d = cli_distance(word, cands[i]), cl = strlen(cands[i]);
		if (d <= limit && d < best) {
			best = d;
			pick = cands[i];
		}
		/* "--memory", "--mem8M": the word starts with a whole option's name. */
		if (cl > longest && cl < wl && !strncmp(word, cands[i], cl)) {
			longest = cl;
			stem = cands[i];
		}
	}
	return pick ? pick : stem;
}

void cli_unknown_command(const char *word, char *why, size_t whylen)
{
	const char *s = cli_suggest(word, cli_commands, 4);

	snprintf(why, whylen,
		 "unknown command '%s'%s%s%s; the commands are run, bench, help, version "
		 "(or give a guest image)",
		 word, s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
}

/* struct kestrel_config's fields (and the one library call) the library's
 * messages name, and the options that set them here. */
static const struct {
	const char *field, *option;
} cli_fields[] = {
    {"mem_size", "--mem"},
    {"mem_overcommit", "--mem-overcommit"},
    {"mem_prefault", "--mem-prefault"},
    {"ncpus", "--cpus"},
    {"strict", "--strict"},
    {"no_sync_regs", "--no-sync-regs"},
    {"no_seccomp", "--no-seccomp"},
    {"no_profile", "--no-profile"},
    {"no_cpuid_tsc", "--no-cpuid-tsc"},
    {"no_pv", "--no-pv"},
    {"pit", "--pit"},
    {"pin", "--pin"},
    {"no_halt_exits", "--no-halt-exits"},
    {"no_pause_exits", "--no-pause-exits"},
    {"halt_poll_ns", "--halt-poll"},
    {"no_fast_io", "--no-fast-io"},
    {"no_host_quirks", "--no-host-quirks"},
    {"no_host_decompress", "--no-host-decompress"},
    {"cmdline", "--cmdline"},
    {"initrd", "--initrd"},
    {"modules", "--module"},
    {"kestrel_vm_print_stats", "--stats"},
    {"kestrel_vm_write_stats_json", "--stats-json"},
};

const char *cli_field_name(const char *field)
{
	for (size_t i = 0; i < sizeof(cli_fields) / sizeof(cli_fields[0]); i++)
		if (!strcmp(field, cli_fields[i].field))
			return cli_fields[i].option;
	return NULL;
}

const char *cli_field_at(size_t i, const char **option)
{
	if (i >= sizeof(cli_fields) / sizeof(cli_fields[0]))
		return NULL;
	*option = cli_fields[i].option;
	return cli_fields[i].field;
}

bool cli_is_option(const char *name)
{
	if (strncmp(name, "--", 2) != 0)
		return false;
	for (size_t k = 0; k < CLI_NOPTS; k++)
		if (!strcmp(name + 2, cli_opts[k].name))
			return true;
	return false;
}

/* Find a long option by its name or an unambiguous prefix of it. Returns
 * it, or NULL with why saying what was wrong (unknown, ambiguous). */
static const struct cli_opt *cli_find_long(const char *typed, const char *name, size_t nl,
					   char *why, size_t whylen)
{
	const struct cli_opt *hit = NULL;
	const char *names[CLI_NOPTS], *s;
	char word[64];
	unsigned nhits = 0;
	size_t off;

	for (size_t k = 0; k < CLI_NOPTS; k++) {
		names[k] = cli_opts[k].name;
		if (!strncmp(cli_opts[k].name, name, nl)) {
			if (cli_opts[k].name[nl] == '\0')
				return &cli_opts[k]; /* exact: "--stats" is not ambiguous */
			hit = &cli_opts[k];
			nhits++;
		}
	}
	if (nhits == 1 && nl > 0)
		return hit;
	if (nhits > 1 && nl > 0) {
		off = (size_t)snprintf(why, whylen, "option '%s' is ambiguous:", typed);
		for (size_t k = 0, m = 0; k < CLI_NOPTS && off < whylen; k++)
			if (!strncmp(cli_opts[k].name, name, nl))
				off += (size_t)snprintf(why + off, whylen - off, "%s --%s",
							m++ ? "," : "", cli_opts[k].name);
		return NULL;
	}
	snprintf(word, sizeof(word), "%.*s", (int)(nl < sizeof(word) ? nl : sizeof(word) - 1),
		 name);
	s = nl < sizeof(word) ? cli_suggest(word, names, CLI_NOPTS) : NULL;
	snprintf(why, whylen, "unknown option '%s'%s%s%s", typed, s ? " (did you mean --" : "",
		 s ? s : "", s ? "?)" : "");
	return NULL;
}

/* -m/--mem: a size with a suffix, or a bare number of MiB (as lkvm, QEMU and Firecracker read it).
 */
static int cli_parse_mem(const char *val, uint64_t *bytes)
{
	bool bare = *val != '\0';
	uint64_t v;
	int r;

	for (const char *p = val; *p; p++)
		if (*p < '0' || *p > '9')
			bare = false;
	r = kestrel_parse_size(val, &v);
	if (r < 0)
		return r;
	if (bare) {
		if (v > UINT64_MAX >> 20)
			return -ERANGE;
		v <<= 20;
	}
	*bytes = v;
	return 0;
}

/* Append one guest argument to o->cmdline (separated by a space). */
static int cli_add_guest_arg(struct cli_options *o, size_t *cl, size_t *nargs, const char *a,
			     char *why, size_t whylen)
{
	size_t l = strlen(a);

	if (*cl + (*nargs ? 1 : 0) + l >= sizeof(o->cmdline))
		return cli_err(why, whylen, "guest arguments are longer than %u bytes",
			       KESTREL_CMDLINE_MAX - 1);
	if ((*nargs)++) /* a separator before every argument but the first */
		o->cmdline[(*cl)++] = ' ';
	memcpy(o->cmdline + *cl, a, l + 1);
	*cl += l;
	return 0;
}

/* Apply one option with its value (NULL for a flag). `shown` is how messages name it. */
static int cli_apply(struct cli_options *o, const struct cli_opt *op, const char *shown,
		     const char *val, bool *cpuid, char *why, size_t whylen)
{
	uint64_t n;
	int r;

	switch (op->id) {
	case OPT_HELP:
	case OPT_VERSION:
		return 0; /* cli_parse returns at once */
	case OPT_QUIET:
		o->cfg.verbosity = -1;
		return 0;
	case OPT_VERBOSE:
		o->cfg.verbosity = 1;
		return 0;
	case OPT_STRICT:
		o->cfg.strict = true;
		return 0;
	case OPT_STATS:
		o->stats = true;
		return 0;
	case OPT_NO_SYNC_REGS:
		o->cfg.no_sync_regs = true;
		return 0;
	case OPT_NO_SECCOMP:
		o->cfg.no_seccomp = true;
		return 0;
	case OPT_NO_CPUID_TSC:
		o->cfg.no_cpuid_tsc = true;
		return 0;
	case OPT_NO_PV:
		o->cfg.no_pv = true;
		return 0;
	case OPT_PIT:
		o->cfg.pit = true;
		return 0;
	case OPT_NO_STDIN:
		o->no_stdin = true;
		return 0;
	case OPT_NO_FAST_IO:
		o->cfg.no_fast_io = true;
		return 0;
	case OPT_NO_HOST_DECOMPRESS:
		o->cfg.no_host_decompress = true;
		return 0;
	case OPT_NO_HOST_QUIRKS:
		o->cfg.no_host_quirks = true;
		return 0;
	case OPT_PIN:
		o->cfg.pin = true;
		return 0;
	case OPT_NO_HALT_EXITS:
		o->cfg.no_halt_exits = true;
		return 0;
	case OPT_NO_PAUSE_EXITS:
		o->cfg.no_pause_exits = true;
		return 0;
	case OPT_CPUID:
		*cpuid = true;
		return 0;
	case OPT_NO_PROFILE:
		o->cfg.no_profile = true;
		return 0;
	case OPT_MEM_OVERCOMMIT:
		o->cfg.mem_overcommit = true;
		return 0;
	case OPT_MEM_PREFAULT:
		o->cfg.mem_prefault = true;
		return 0;
	case OPT_HALT_POLL:
		if (!val)
			return cli_err(why, whylen,
				       "--halt-poll needs nanoseconds, e.g. --halt-poll 0");
		if (kestrel_parse_uint(val, 0, UINT32_MAX, &n) < 0)
			return cli_err(
			    why, whylen,
			    "--halt-poll %s: give nanoseconds, 0 to %u (KVM takes 32 bits)", val,
			    UINT32_MAX);
		o->cfg.set_halt_poll = true;
		o->cfg.halt_poll_ns = (uint32_t)n;
		return 0;
	case OPT_STATS_JSON:
	case OPT_JSON_STATUS:
		if (!val || !*val)
			return cli_err(why, whylen, "--%s needs a file name", op->name);
		*(op->id == OPT_STATS_JSON ? &o->stats_json : &o->json_status) = val;
		return 0;
	case OPT_MEM:
		if (!val)
			return cli_err(why, whylen, "%s needs a size, e.g. --mem 64M", shown);
		r = cli_parse_mem(val, &o->cfg.mem_size);
		if (r == -ERANGE)
			return cli_err(why, whylen, "--mem %s: too large", val);
		if (r < 0)
			return cli_err(
			    why, whylen,
			    "--mem %s: not a size (a number of MiB, or one with K, M or G, "
			    "e.g. 64M)",
			    val);
		if (o->cfg.mem_size == 0)
			return cli_err(why, whylen, "--mem %s: the guest needs some memory", val);
		return 0;
	case OPT_CPUS:
		if (!val)
			return cli_err(why, whylen, "%s needs a number of vCPUs", shown);
		if (kestrel_parse_uint(val, 1, UINT32_MAX, &n) < 0)
			return cli_err(why, whylen,
				       "--cpus %s: give a whole number of vCPUs, 1 or more", val);
		o->cfg.ncpus = (unsigned)n;
		return 0;
	case OPT_INITRD:
		if (!val || !*val)
			return cli_err(why, whylen,
				       "%s needs a file (an initramfs, or a multiboot module)",
				       shown);
		o->cfg.initrd = val;
		return 0;
	case OPT_KERNEL:
		if (!val || !*val)
			return cli_err(why, whylen, "%s needs a kernel image", shown);
		if (o->guest)
			return cli_err(why, whylen, "two guest images: '%s' and '%s'", o->guest,
				       val);
		o->guest = val;
		return 0;
	case OPT_CMDLINE:
	case OPT_APPEND:
		if (!val)
			return cli_err(why, whylen,
				       "%s needs a string, e.g. --cmdline \"console=ttyS0\"",
				       shown);
		o->append = val;
		return 0;
	case OPT_MODULE: {
		struct kestrel_module *m;
		const char *comma;
		if (!val || !*val)
			return cli_err(why, whylen, "--module needs FILE or FILE,STRING");
		if (o->cfg.nmodules == CLI_MAX_MODULES)
			return cli_err(why, whylen, "more than %u --module options",
				       CLI_MAX_MODULES);
		m = &o->modules[o->cfg.nmodules];
		comma = strchr(val, ',');
		if (comma) {
			size_t l = (size_t)(comma - val);
			if (l == 0 || l >= sizeof(o->module_path[0]))
				return cli_err(why, whylen, "--module %s: bad file name", val);
			memcpy(o->module_path[o->cfg.nmodules], val, l);
			o->module_path[o->cfg.nmodules][l] = '\0';
			*m = (struct kestrel_module){o->module_path[o->cfg.nmodules], comma + 1};
		} else {
			*m = (struct kestrel_module){val, NULL};
		}
		o->cfg.nmodules++;
		o->cfg.modules = o->modules;
		return 0;
	}
	case OPT_TIMEOUT:
		if (!val)
			return cli_err(why, whylen, "%s needs a number of seconds", shown);
		r = cli_parse_seconds(val, &o->timeout_ms);
		if (r == -ERANGE)
			return cli_err(why, whylen,
				       "--timeout %s: too large; the most is %u seconds (about 31 "
				       "years)",
				       val, CLI_TIMEOUT_MAX_S);
		if (r < 0)
			return cli_err(why, whylen,
				       "--timeout %s: give seconds greater than 0, e.g. 10 or 0.5",
				       val);
		return 0;
	}
	return cli_err(why, whylen, "internal: option %s not handled", shown);
}

/* The value of an option that takes one: attached (`attached`, may be "")
 * or the next word, which "--" never is (it ends kestrel's options). NULL: missing. */
static const char *cli_take_value(int argc, char *const argv[], int *i, const char *attached)
{
	if (attached)
		return attached;
	if (*i + 1 >= argc || !strcmp(argv[*i + 1], "--"))
		return NULL;
	return argv[++*i];
}

static const struct cli_opt *cli_find_short(char c)
{
	for (size_t k = 0; k < CLI_NOPTS; k++)
		if (cli_opts[k].shrt == c)
			return &cli_opts[k];
	return NULL;
}

/* One word that starts with '-': a long option, a QEMU one-dash long option,
 * or a cluster of short ones. Returns 0, 1 (help/version: stop here) or -EINVAL. */
static int cli_option(int argc, char *const argv[], int *i, struct cli_options *o, bool *cpuid,
		      char *why, size_t whylen)
{
	const char *a = argv[*i], *val, *eq;
	const struct cli_opt *op = NULL;
	char shown[48];

	if (a[1] != '-') {
		for (size_t k = 0; k < CLI_NOPTS; k++)
			if (cli_opts[k].one_dash && !strcmp(a + 1, cli_opts[k].name))
				op = &cli_opts[k];
		if (op) { /* -kernel FILE, -initrd FILE, -append STR */
			snprintf(shown, sizeof(shown), "%s", a);
			return cli_apply(o, op, shown, cli_take_value(argc, argv, i, NULL), cpuid,
					 why, whylen);
		}
		for (const char *p = a + 1; *p; p++) {
			int r;
			snprintf(shown, sizeof(shown), "-%c", *p);
			if (!(op = cli_find_short(*p)))
				return cli_err(why, whylen, "unknown option '%s'",
					       p == a + 1 ? a : shown);
			if (op->id == OPT_HELP || op->id == OPT_VERSION) {
				o->command = op->id == OPT_HELP ? CLI_HELP : CLI_VERSION;
				return 1;
			}
			if (op->value) /* -m256M, -c2, or -m 256M: the rest of the word is the value
					*/
				return cli_apply(o, op, shown,
						 cli_take_value(argc, argv, i, p[1] ? p + 1 : NULL),
						 cpuid, why, whylen);
			if ((r = cli_apply(o, op, shown, NULL, cpuid, why, whylen)) < 0)
				return r;
		}
		return 0;
	}
	eq = strchr(a + 2, '=');
	op = cli_find_long(a, a + 2, eq ? (size_t)(eq - (a + 2)) : strlen(a + 2), why, whylen);
	if (!op)
		return -EINVAL;
	if (op->id == OPT_HELP || op->id == OPT_VERSION) {
		o->command = op->id == OPT_HELP ? CLI_HELP : CLI_VERSION;
		return 1;
	}
	snprintf(shown, sizeof(shown), "--%s", op->name);
	if (!op->value) {
		if (eq)
			return cli_err(why, whylen, "unknown option '%s': --%s takes no value", a,
				       op->name);
		return cli_apply(o, op, shown, NULL, cpuid, why, whylen);
	}
	val = cli_take_value(argc, argv, i, eq ? eq + 1 : NULL);
	return cli_apply(o, op, shown, val, cpuid, why, whylen);
}

int cli_parse(int argc, char *const argv[], struct cli_options *o, char *why, size_t whylen)
{
	int i = 1, r;
	bool after_dashes = false, cpuid = false, said_run = false;
	size_t cl = 0, nargs = 0;

	memset(o, 0, sizeof(*o));
	kestrel_config_init(&o->cfg);
	o->cfg.field_name = cli_field_name; /* the library's messages name our options */
	o->command = CLI_RUN;
	why[0] = '\0';
	if (argc < 2)
		return cli_err(why, whylen, "no guest given");
	if (!strcmp(argv[1], "run")) {
		said_run = true;
		i = 2;
	} else if (!strcmp(argv[1], "bench")) {
		o->command = CLI_BENCH; /* bench.c parses the rest */
		return 0;
	} else if (!strcmp(argv[1], "version")) {
		o->command = CLI_VERSION;
		return 0;
	} else if (!strcmp(argv[1], "help")) {
		o->command = CLI_HELP;
		if (argc > 3)
			return cli_err(why, whylen,
				       "help takes one command, e.g. kestrel help run");
		if (argc == 3) {
			for (int k = 0; cli_commands[k]; k++)
				if (!strcmp(argv[2], cli_commands[k]))
					o->help_topic = cli_commands[k];
			if (!o->help_topic) {
				cli_unknown_command(argv[2], why, whylen);
				return -EINVAL;
			}
		}
		return 0;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (after_dashes) {
			if ((r = cli_add_guest_arg(o, &cl, &nargs, a, why, whylen)) < 0)
				return r;
			continue;
		}
		if (!strcmp(a, "--")) {
			if (!o->guest)
				return cli_err(why, whylen, "'--' before the guest image");
			after_dashes = true;
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			r = cli_option(argc, argv, &i, o, &cpuid, why, whylen);
			if (r < 0)
				return r;
			if (r > 0) {
				o->help_topic = said_run && o->command == CLI_HELP ? "run" : NULL;
				return 0;
			}
			continue;
		}
		if (o->guest)
			return cli_err(why, whylen,
				       "unexpected argument '%s' (guest arguments go after '--')",
				       a);
		o->guest = a;
		o->guest_first = i == 1;
	}
	if (o->append) {
		size_t al = strlen(o->append);
		if (al + (cl ? 1 : 0) + cl >= sizeof(o->cmdline))
			return cli_err(why, whylen, "the command line is longer than %u bytes",
				       KESTREL_CMDLINE_MAX - 1);
		memmove(o->cmdline + al + (cl ? 1 : 0), o->cmdline, cl + 1);
		memcpy(o->cmdline, o->append, al);
		if (cl)
			o->cmdline[al] = ' ';
	}
	o->cfg.cmdline = o->cmdline;
	if (cpuid) {
		o->command = CLI_CPUID; /* the VM is built, never run: a guest is optional */
		return 0;
	}
	if (!o->guest)
		return cli_err(why, whylen, "no guest given");
	return 0;
}
