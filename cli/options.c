/* options.c - command-line parsing for kestrel (no getopt: no global state, easy to test and fuzz). */
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kestrel/util.h"

const char cli_usage[] =
	"Usage: kestrel run [OPTIONS] GUEST [-- GUEST-ARGS...]\n"
	"       kestrel run [OPTIONS] -k KERNEL [-i INITRD] [-p \"CMDLINE\"]\n"
	"       kestrel run --cpuid [OPTIONS] [GUEST]\n"
	"       kestrel bench [--runs N] [--warmup N] [--json] GUEST [-- RUN-ARGS...]\n"
	"       kestrel bench --a \"OPTIONS\" --b \"OPTIONS\" [--runs N] [--json] GUEST [-- RUN-ARGS...]\n"
	"       kestrel --help | --version\n"
	"\n"
	"Boot GUEST in a KVM micro-VM: a Linux bzImage or vmlinux, a multiboot kernel,\n"
	"or a kestrel bare-metal ELF64 guest (recognised by its contents). Its console\n"
	"(the UART at 0x3f8) is kestrel's standard output; --cmdline and GUEST-ARGS\n"
	"reach it as one command line.\n"
	"\n"
	"bench runs `kestrel run --stats-json` of GUEST N times (default 50), each a\n"
	"fresh process, and prints p50/p95/p99/min/max of every boot phase and the\n"
	"exit counts; with --a/--b it alternates two option sets and prints a\n"
	"Before/After table. RUN-ARGS go to every run (guest arguments after a\n"
	"second '--').\n"
	"\n"
	"Options:\n"
	"  -m, --mem SIZE       guest RAM, with K/M/G suffix (default 64M, minimum 2M)\n"
	"  -c, --cpus N         number of vCPUs (default 1)\n"
	"  -k, --kernel IMAGE   the guest image (instead of the GUEST argument)\n"
	"  -i, --initrd FILE    Linux initramfs, or a multiboot kernel's first module\n"
	"      --module FILE[,STRING]  a further multiboot module (repeatable)\n"
	"  -p, --cmdline STR    kernel command line (also --append); GUEST-ARGS follow it\n"
	"      --strict         an access to an unhandled port or MMIO address ends the VM\n"
	"                       (default: reads return 0, writes are ignored, logged once)\n"
	"  -t, --timeout SECS   stop a guest that runs longer than SECS (decimals allowed)\n"
	"      --no-sync-regs   move registers by ioctl instead of the shared kvm_run page\n"
	"      --no-seccomp     don't confine the vCPU threads with seccomp (debugging:\n"
	"                       by default a forbidden system call kills kestrel, 159)\n"
	"      --stats          after the run, print the exit profile (per exit reason,\n"
	"                       port, device and hypercall), register-cache and KVM\n"
	"                       counters and the boot timeline to standard error\n"
	"      --stats-json FILE  write the same report as JSON to FILE\n"
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
	"\n"
	"Exit status:\n"
	"  0-119  the guest's own status (exit hypercall; isa-debug-exit gives (v<<1)|1)\n"
	"  120    bad command line            124  --timeout expired\n"
	"  121    guest image unusable        125  guest error: KVM internal error,\n"
	"  122    KVM or host failure              failed entry or unknown exit\n"
	"  123    guest triple fault          126  --strict: unhandled port/MMIO access\n"
	"  127    guest reset (i8042/system)  130/143  stopped by SIGINT/SIGTERM\n";

static int cli_err(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cli_err(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "1", "0.5", "2.25": seconds with up to 3 decimals, to milliseconds. */
static int cli_parse_seconds(const char *s, uint64_t *ms)
{
	char whole[32];
	const char *dot = strchr(s, '.');
	size_t wl = dot ? (size_t)(dot - s) : strlen(s);
	uint64_t sec = 0, frac = 0;

	if (wl == 0 && !dot)
		return -EINVAL;
	if (wl >= sizeof(whole))
		return -ERANGE;
	memcpy(whole, s, wl);
	whole[wl] = '\0';
	if (wl && kestrel_parse_uint(whole, 0, 1000000000, &sec) < 0)
		return -EINVAL;
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
	*ms = sec * 1000 + frac;
	return *ms ? 0 : -EINVAL;
}

/* Matches "--name VALUE", "--name=VALUE" and "-x VALUE"; advances *i. */
static int cli_value(int argc, char *const argv[], int *i, const char *lng, const char *shrt,
		     const char **val, bool *missing)
{
	const char *a = argv[*i];
	size_t ll = strlen(lng);

	*missing = false;
	if (!strncmp(a, lng, ll) && a[ll] == '=') {
		*val = a + ll + 1;
		return 1;
	}
	if (strcmp(a, lng) != 0 && !(shrt && strcmp(a, shrt) == 0))
		return 0;
	/* "--" ends kestrel's options, so it is never an option's value. */
	if (*i + 1 >= argc || !strcmp(argv[*i + 1], "--")) {
		*missing = true;
		return 1;
	}
	*val = argv[++*i];
	return 1;
}

int cli_parse(int argc, char *const argv[], struct cli_options *o, char *why, size_t whylen)
{
	int i = 1;
	bool after_dashes = false, cpuid = false;
	size_t cl = 0, nargs = 0;

	memset(o, 0, sizeof(*o));
	kestrel_config_init(&o->cfg);
	o->command = CLI_RUN;
	why[0] = '\0';
	if (argc < 2)
		return cli_err(why, whylen, "no guest given");
	if (!strcmp(argv[1], "run"))
		i = 2;
	for (; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		bool missing;
		int r;

		if (after_dashes) {
			size_t l = strlen(a);
			if (cl + (nargs ? 1 : 0) + l >= sizeof(o->cmdline))
				return cli_err(why, whylen, "guest arguments are longer than %u bytes",
					       KESTREL_CMDLINE_MAX - 1);
			if (nargs++) /* a separator before every argument but the first */
				o->cmdline[cl++] = ' ';
			memcpy(o->cmdline + cl, a, l + 1);
			cl += l;
			continue;
		}
		if (!strcmp(a, "--")) {
			if (!o->guest)
				return cli_err(why, whylen, "'--' before the guest image");
			after_dashes = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->command = CLI_HELP;
			return 0;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			o->command = CLI_VERSION;
			return 0;
		}
		if (!strcmp(a, "--strict")) {
			o->cfg.strict = true;
			continue;
		}
		if (!strcmp(a, "--stats")) {
			o->stats = true;
			continue;
		}
		if (!strcmp(a, "--no-sync-regs")) {
			o->cfg.no_sync_regs = true;
			continue;
		}
		if (!strcmp(a, "--no-seccomp")) {
			o->cfg.no_seccomp = true;
			continue;
		}
		if (!strcmp(a, "--no-cpuid-tsc")) {
			o->cfg.no_cpuid_tsc = true;
			continue;
		}
		if (!strcmp(a, "--no-pv")) {
			o->cfg.no_pv = true;
			continue;
		}
		if (!strcmp(a, "--pit")) {
			o->cfg.pit = true;
			continue;
		}
		if (!strcmp(a, "--no-fast-io")) {
			o->cfg.no_fast_io = true;
			continue;
		}
		if (!strcmp(a, "--pin")) {
			o->cfg.pin = true;
			continue;
		}
		if (!strcmp(a, "--no-halt-exits")) {
			o->cfg.no_halt_exits = true;
			continue;
		}
		if (!strcmp(a, "--no-pause-exits")) {
			o->cfg.no_pause_exits = true;
			continue;
		}
		if (cli_value(argc, argv, &i, "--halt-poll", NULL, &val, &missing)) {
			uint64_t ns;
			if (missing)
				return cli_err(why, whylen, "--halt-poll needs nanoseconds, e.g. --halt-poll 0");
			if (kestrel_parse_uint(val, 0, UINT32_MAX, &ns) < 0)
				return cli_err(why, whylen,
					       "--halt-poll %s: give nanoseconds, 0 to %u (KVM takes 32 bits)",
					       val, UINT32_MAX);
			o->cfg.set_halt_poll = true;
			o->cfg.halt_poll_ns = (uint32_t)ns;
			continue;
		}
		if (!strcmp(a, "--cpuid")) {
			cpuid = true;
			continue;
		}
		if (!strcmp(a, "--no-profile")) {
			o->cfg.no_profile = true;
			continue;
		}
		if (cli_value(argc, argv, &i, "--stats-json", NULL, &val, &missing)) {
			if (missing || !*val)
				return cli_err(why, whylen, "--stats-json needs a file name");
			o->stats_json = val;
			continue;
		}
		if (cli_value(argc, argv, &i, "--mem", "-m", &val, &missing)) {
			if (missing)
				return cli_err(why, whylen, "%s needs a size, e.g. --mem 64M", a);
			r = kestrel_parse_size(val, &o->cfg.mem_size);
			if (r == -ERANGE)
				return cli_err(why, whylen, "--mem %s: too large", val);
			if (r < 0)
				return cli_err(why, whylen,
					       "--mem %s: not a size (use a number with K, M or G, e.g. 64M)",
					       val);
			if (o->cfg.mem_size == 0)
				return cli_err(why, whylen, "--mem %s: the guest needs some memory", val);
			continue;
		}
		if (cli_value(argc, argv, &i, "--cpus", "-c", &val, &missing)) {
			uint64_t n;
			if (missing)
				return cli_err(why, whylen, "%s needs a number of vCPUs", a);
			r = kestrel_parse_uint(val, 1, UINT32_MAX, &n);
			if (r < 0)
				return cli_err(why, whylen, "--cpus %s: give a whole number of vCPUs, 1 or more",
					       val);
			o->cfg.ncpus = (unsigned)n;
			continue;
		}
		if (cli_value(argc, argv, &i, "--initrd", "-i", &val, &missing)) {
			if (missing || !*val)
				return cli_err(why, whylen, "%s needs a file (an initramfs, or a multiboot module)", a);
			o->cfg.initrd = val;
			continue;
		}
		if (cli_value(argc, argv, &i, "--kernel", "-k", &val, &missing)) {
			if (missing || !*val)
				return cli_err(why, whylen, "%s needs a kernel image", a);
			if (o->guest)
				return cli_err(why, whylen, "two guest images: '%s' and '%s'", o->guest, val);
			o->guest = val;
			continue;
		}
		if (cli_value(argc, argv, &i, "--cmdline", "-p", &val, &missing) ||
		    cli_value(argc, argv, &i, "--append", NULL, &val, &missing)) {
			if (missing)
				return cli_err(why, whylen, "%s needs a string, e.g. --cmdline \"console=ttyS0\"", a);
			o->append = val;
			continue;
		}
		if (cli_value(argc, argv, &i, "--module", NULL, &val, &missing)) {
			struct kestrel_module *m;
			const char *comma;
			if (missing || !*val)
				return cli_err(why, whylen, "--module needs FILE or FILE,STRING");
			if (o->cfg.nmodules == CLI_MAX_MODULES)
				return cli_err(why, whylen, "more than %u --module options", CLI_MAX_MODULES);
			m = &o->modules[o->cfg.nmodules];
			comma = strchr(val, ',');
			if (comma) {
				size_t l = (size_t)(comma - val);
				if (l == 0 || l >= sizeof(o->module_path[0]))
					return cli_err(why, whylen, "--module %s: bad file name", val);
				memcpy(o->module_path[o->cfg.nmodules], val, l);
				o->module_path[o->cfg.nmodules][l] = '\0';
				*m = (struct kestrel_module){ o->module_path[o->cfg.nmodules], comma + 1 };
			} else {
				*m = (struct kestrel_module){ val, NULL };
			}
			o->cfg.nmodules++;
			o->cfg.modules = o->modules;
			continue;
		}
		if (cli_value(argc, argv, &i, "--timeout", "-t", &val, &missing)) {
			if (missing)
				return cli_err(why, whylen, "%s needs a number of seconds", a);
			if (cli_parse_seconds(val, &o->timeout_ms) < 0)
				return cli_err(why, whylen,
					       "--timeout %s: give seconds greater than 0, e.g. 10 or 0.5",
					       val);
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
			return cli_err(why, whylen, "unknown option '%s'", a);
		if (o->guest)
			return cli_err(why, whylen,
				       "unexpected argument '%s' (guest arguments go after '--')", a);
		o->guest = a;
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
