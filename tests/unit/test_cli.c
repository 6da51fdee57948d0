/* test_cli.c - unit tests for cli_parse: defaults, every option form, refusals and their messages,
 * guest arguments. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tap.h"

#define MIB (1ull << 20)

static struct cli_options o;
static char why[256];

/* parse(arg, ..., NULL): cli_parse on {"kestrel", arg, ...}. */
static int parse(const char *first, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;

	argv[argc++] = (char *)"kestrel";
	va_start(ap, first);
	for (const char *a = first; a && argc < 63; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	memset(why, 0x5a, sizeof(why) - 1);
	why[sizeof(why) - 1] = '\0';
	return cli_parse(argc, argv, &o, why, sizeof(why));
}

/* A refusal: -EINVAL and a message naming what was wrong. */
#define BAD(what, needle, ...)                                                                     \
	do {                                                                                       \
		int rc_ = parse(__VA_ARGS__, NULL);                                                \
		TAP_EQ_INT(rc_, -EINVAL, "%s refused", what);                                      \
		TAP_STR_CONTAINS(why, needle, "%s: message names it", what);                       \
	} while (0)

static void test_defaults(void)
{
	TAP_EQ_INT(parse("g.elf", NULL), 0, "bare guest accepted");
	TAP_EQ_INT(o.command, CLI_RUN, "command is run");
	TAP_EQ_STR(o.guest, "g.elf", "guest path");
	TAP_EQ_U64(o.cfg.mem_size, 64 * MIB, "default memory 64 MiB");
	TAP_EQ_INT(o.cfg.ncpus, 1, "default 1 vCPU");
	TAP_EQ_U64(o.timeout_ms, 0, "no timeout by default");
	TAP_OK(!o.cfg.strict && !o.cfg.no_sync_regs && !o.stats, "flags off by default");
	TAP_OK(!o.cfg.pit, "no forced PIT by default");
	TAP_OK(!o.cfg.mem_overcommit && !o.cfg.mem_prefault,
	       "no overcommit, no prefault by default");
	TAP_EQ_STR(o.cmdline, "", "empty guest command line");
	TAP_OK(o.cfg.cmdline == o.cmdline, "cfg.cmdline points at the joined arguments");
	TAP_EQ_STR(why, "", "why is empty on success");

	TAP_EQ_INT(parse("run", "g.elf", NULL), 0, "'run g.elf' accepted");
	TAP_OK(o.command == CLI_RUN && o.guest && !strcmp(o.guest, "g.elf") &&
		   o.cfg.mem_size == 64 * MIB && o.cfg.ncpus == 1,
	       "'run' is optional: same result");
	TAP_EQ_INT(parse("run", "run", NULL), 0, "'run run' runs a guest called run");
	TAP_EQ_STR(o.guest, "run", "... the second 'run' is the guest");

	TAP_EQ_INT(cli_parse(1, (char *const[]){(char *)"kestrel", NULL}, &o, why, sizeof(why)),
		   -EINVAL, "argc 1 refused");
	TAP_STR_CONTAINS(why, "no guest given", "argc 1: 'no guest given'");
	BAD("'run' alone", "no guest given", "run");
	BAD("options but no guest", "no guest given", "run", "--mem", "8M");
	BAD("two guests", "unexpected argument 'b.elf'", "a.elf", "b.elf");
}

static void mem_ok(const char *opt, const char *val, uint64_t want)
{
	int rc = val ? parse("run", opt, val, "g.elf", NULL) : parse("run", opt, "g.elf", NULL);

	if (TAP_EQ_INT(rc, 0, "%s%s%s accepted", opt, val ? " " : "", val ? val : ""))
		TAP_EQ_U64(o.cfg.mem_size, want, "%s%s%s gives %" PRIu64 " bytes", opt,
			   val ? " " : "", val ? val : "", want);
}

static void test_mem(void)
{
	mem_ok("--mem", "128M", 128 * MIB);
	mem_ok("--mem", "128m", 128 * MIB);
	mem_ok("-m", "1G", 1024 * MIB);
	mem_ok("-m", "2g", 2048 * MIB);
	mem_ok("--mem", "65536K", 64 * MIB);
	mem_ok("--mem", "512k", 512 * 1024);
	/* A bare number is MiB, as lkvm, QEMU and Firecracker read -m; bytes need a B. */
	mem_ok("--mem", "3", 3 * MIB);
	mem_ok("-m", "256", 256 * MIB);
	mem_ok("--mem", "3145728B", 3 * MIB);
	mem_ok("-m256M", NULL, 256 * MIB);
	mem_ok("-m256", NULL, 256 * MIB);
	mem_ok("--mem=256M", NULL, 256 * MIB);
	mem_ok("--mem=5G", NULL, 5120 * MIB);
	mem_ok("--mem=1024K", NULL, MIB);
	/* Range checks against the host happen later, not in the parser. */
	mem_ok("--mem", "1T", 1024 * 1024 * MIB);

	BAD("--mem 12Q", "--mem 12Q", "run", "--mem", "12Q", "g.elf");
	BAD("--mem 12Q (not a size)", "not a size", "run", "--mem", "12Q", "g.elf");
	BAD("-m 12Q", "12Q", "run", "-m", "12Q", "g.elf");
	BAD("--mem=12Q", "--mem 12Q", "run", "--mem=12Q", "g.elf");
	BAD("--mem 0", "--mem 0", "run", "--mem", "0", "g.elf");
	BAD("--mem 0 (needs memory)", "needs some memory", "run", "--mem", "0", "g.elf");
	BAD("--mem 0M", "--mem 0M", "run", "--mem", "0M", "g.elf");
	BAD("--mem=", "--mem", "run", "--mem=", "g.elf");
	BAD("--mem -1", "--mem -1", "run", "--mem", "-1", "g.elf");
	BAD("--mem 1.5G", "--mem 1.5G", "run", "--mem", "1.5G", "g.elf");
	BAD("--mem 64 M", "--mem 64 M", "run", "--mem", "64 M", "g.elf");
	BAD("--mem 16E (too large)", "--mem 16E: too large", "run", "--mem", "16E", "g.elf");
	BAD("--mem 99999999999999999999", "too large", "run", "--mem", "99999999999999999999",
	    "g.elf");
	BAD("--mem without a value", "--mem needs a size", "run", "g.elf", "--mem");
	BAD("-m without a value", "-m needs a size", "run", "g.elf", "-m");
	/* A value is always the next word, even if it looks like an option. */
	BAD("--mem --cpus", "--mem --cpus", "run", "--mem", "--cpus", "2", "g.elf");
	BAD("--memory (not --mem)", "unknown option '--memory'", "run", "--memory", "8M", "g.elf");
	BAD("--mem8M (no separator)", "unknown option '--mem8M'", "run", "--mem8M", "g.elf");
	BAD("--mem8M suggests --mem", "did you mean --mem?", "run", "--mem8M", "g.elf");
	BAD("-m 17592186044416 (MiB overflow 64 bits)", "too large", "run", "-m", "17592186044416",
	    "g.elf");
	mem_ok("-m", "17592186044415", 17592186044415ull * MIB);
	BAD("-m with an attached bad value", "--mem 12Q", "run", "-m12Q", "g.elf");

	/* The host-memory policy's two switches (docs/robustness.md). */
	TAP_EQ_INT(parse("run", "--mem", "20G", "--mem-overcommit", "g.elf", NULL), 0,
		   "--mem-overcommit");
	TAP_OK(o.cfg.mem_overcommit && !o.cfg.mem_prefault, "--mem-overcommit sets mem_overcommit");
	TAP_EQ_INT(parse("run", "--mem-prefault", "-m", "1G", "g.elf", NULL), 0, "--mem-prefault");
	TAP_OK(o.cfg.mem_prefault && !o.cfg.mem_overcommit, "--mem-prefault sets mem_prefault");
	TAP_EQ_INT(parse("run", "--mem-p", "g.elf", NULL), 0, "--mem-p is an unambiguous prefix");
	TAP_OK(o.cfg.mem_prefault, "... of --mem-prefault");
	BAD("--mem- (ambiguous)", "is ambiguous: --mem-overcommit, --mem-prefault", "run", "--mem-",
	    "g.elf");
	BAD("--mem-prefault=yes", "--mem-prefault takes no value", "run", "--mem-prefault=yes",
	    "g.elf");
	BAD("--me (--mem, --mem-overcommit, --mem-prefault)",
	    "option '--me' is ambiguous: --mem, --mem-overcommit, --mem-prefault", "run", "--me",
	    "8", "g.elf");
	TAP_EQ_INT(parse("run", "--mem", "8", "g.elf", NULL), 0, "--mem itself stays exact");
}

static void test_cpus(void)
{
	TAP_EQ_INT(parse("run", "--cpus", "4", "g.elf", NULL), 0, "--cpus 4");
	TAP_EQ_INT(o.cfg.ncpus, 4, "--cpus 4 gives 4");
	TAP_EQ_INT(parse("run", "-c", "2", "g.elf", NULL), 0, "-c 2");
	TAP_EQ_INT(o.cfg.ncpus, 2, "-c 2 gives 2");
	TAP_EQ_INT(parse("run", "--cpus=3", "g.elf", NULL), 0, "--cpus=3");
	TAP_EQ_INT(o.cfg.ncpus, 3, "--cpus=3 gives 3");
	TAP_EQ_INT(parse("run", "--cpus", "4294967295", "g.elf", NULL), 0, "--cpus 2^32-1 parses");
	TAP_EQ_U64(o.cfg.ncpus, 4294967295u, "--cpus 2^32-1 value (KVM limits come later)");

	BAD("--cpus 0", "--cpus 0", "run", "--cpus", "0", "g.elf");
	BAD("--cpus x", "--cpus x", "run", "--cpus", "x", "g.elf");
	BAD("--cpus -1", "--cpus -1", "run", "--cpus", "-1", "g.elf");
	BAD("--cpus 2x", "--cpus 2x", "run", "--cpus", "2x", "g.elf");
	BAD("--cpus 4294967296", "--cpus 4294967296", "run", "--cpus", "4294967296", "g.elf");
	BAD("--cpus=", "--cpus", "run", "--cpus=", "g.elf");
	BAD("-c 0", "0", "run", "-c", "0", "g.elf");
	BAD("--cpus without a value", "--cpus needs a number", "run", "g.elf", "--cpus");
	BAD("-c without a value", "-c needs a number", "run", "g.elf", "-c");
	TAP_EQ_INT(parse("run", "-c2", "g.elf", NULL), 0, "-c2 (attached)");
	TAP_EQ_INT(o.cfg.ncpus, 2, "-c2 gives 2");
	BAD("-c2x", "--cpus 2x", "run", "-c2x", "g.elf");
}

/* The lkvm / QEMU habits of issue 14, and the parser's forms. */
static void test_habits(void)
{
	TAP_EQ_INT(parse("run", "-k", "vmlinuz", "-i", "initrd", "-p", "console=ttyS0", "-m", "256",
			 "-c", "2", NULL),
		   0, "lkvm's kestrel run -k K -i I -p P -m 256 -c 2");
	TAP_OK(o.guest && !strcmp(o.guest, "vmlinuz") && o.cfg.initrd &&
		   !strcmp(o.cfg.initrd, "initrd") && !strcmp(o.cmdline, "console=ttyS0") &&
		   o.cfg.mem_size == 256 * MIB && o.cfg.ncpus == 2,
	       "... kernel, initrd, cmdline, 256 MiB, 2 vCPUs");
	TAP_EQ_INT(parse("-kernel", "bz", "-initrd", "rd", "-append", "quiet", "-m", "128", NULL),
		   0, "QEMU's one-dash -kernel -initrd -append");
	TAP_OK(o.guest && !strcmp(o.guest, "bz") && !strcmp(o.cfg.initrd, "rd") &&
		   !strcmp(o.cmdline, "quiet") && o.cfg.mem_size == 128 * MIB,
	       "... all three taken");
	TAP_EQ_INT(parse("--kernel=bz", "--append=a b", "--initrd=rd", NULL), 0,
		   "--opt=value forms");
	TAP_OK(o.guest && !strcmp(o.guest, "bz") && !strcmp(o.cmdline, "a b") &&
		   !strcmp(o.cfg.initrd, "rd"),
	       "... values after '='");
	TAP_EQ_INT(parse("-kbz", "-ird", NULL), 0, "attached short values -kbz -ird");
	TAP_OK(o.guest && !strcmp(o.guest, "bz") && !strcmp(o.cfg.initrd, "rd"), "... taken");

	/* Unambiguous prefixes. */
	TAP_EQ_INT(parse("--time", "2", "--str", "--ha", "3", "--mem-o", "--init=x", "g.elf", NULL),
		   0, "prefixes --time --str --ha --mem-o --init");
	TAP_OK(o.timeout_ms == 2000 && o.cfg.strict && o.cfg.set_halt_poll &&
		   o.cfg.halt_poll_ns == 3 && o.cfg.mem_overcommit && o.cfg.initrd &&
		   !strcmp(o.cfg.initrd, "x"),
	       "... each the option it starts");
	TAP_EQ_INT(parse("--stats", "g.elf", NULL), 0,
		   "--stats is exact, not a prefix of --stats-json");
	TAP_OK(o.stats && !o.stats_json, "... the flag");
	TAP_EQ_INT(parse("--stats-j", "f.json", "g.elf", NULL), 0, "--stats-j");
	TAP_OK(o.stats_json && !strcmp(o.stats_json, "f.json"), "... is --stats-json");
	BAD("--stat (ambiguous)", "option '--stat' is ambiguous: --stats, --stats-json", "--stat",
	    "g.elf");
	BAD("--no (ambiguous)", "--no-pv", "--no", "g.elf");
	BAD("--st=1 (ambiguous, with a value)", "ambiguous", "--st=1", "g.elf");
	BAD("--cpu (ambiguous: --cpus, --cpuid)", "--cpus, --cpuid", "--cpu", "2", "g.elf");

	/* Did you mean. */
	BAD("--hepl", "unknown option '--hepl' (did you mean --help?)", "--hepl");
	BAD("--mme", "unknown option '--mme' (did you mean --mem?)", "run", "--mme", "8M", "g.elf");
	BAD("--kernal", "did you mean --kernel?", "--kernal", "bz");
	BAD("--tiemout", "did you mean --timeout?", "--tiemout", "1", "g.elf");
	BAD("--zzzzzz (nothing close)", "unknown option '--zzzzzz'", "--zzzzzz", "g.elf");
	TAP_OK(!strstr(why, "did you mean"), "--zzzzzz: no suggestion");
	BAD("--strict=1", "--strict takes no value", "--strict=1", "g.elf");
	BAD("--stats=yes", "--stats takes no value", "--stats=yes", "g.elf");

	/* Flags cluster; a value ends the cluster. */
	TAP_EQ_INT(parse("-qc2", "g.elf", NULL), 0, "-qc2");
	TAP_OK(o.cfg.verbosity == -1 && o.cfg.ncpus == 2, "... quiet and 2 vCPUs");
	TAP_EQ_INT(parse("-v", "g.elf", NULL), 0, "-v");
	TAP_EQ_INT(o.cfg.verbosity, 1, "-v is verbosity 1");
	TAP_EQ_INT(parse("--quiet", "g.elf", NULL), 0, "--quiet");
	TAP_EQ_INT(o.cfg.verbosity, -1, "--quiet is verbosity -1");
	TAP_EQ_INT(parse("g.elf", NULL), 0, "no -q/-v");
	TAP_EQ_INT(o.cfg.verbosity, 0, "... verbosity 0 (warnings)");
	BAD("-qx", "unknown option '-x'", "-qx", "g.elf");

	/* --json-status. */
	TAP_EQ_INT(parse("--json-status", "s.json", "g.elf", NULL), 0, "--json-status FILE");
	TAP_OK(o.json_status && !strcmp(o.json_status, "s.json"), "... the file");
	BAD("--json-status without a file", "--json-status needs a file name", "g.elf",
	    "--json-status");
}

/* Subcommands: help [CMD], version, bench, and a word that is no command. */
static void test_commands(void)
{
	TAP_EQ_INT(parse("help", NULL), 0, "help");
	TAP_OK(o.command == CLI_HELP && !o.help_topic, "... the overview");
	TAP_EQ_INT(parse("help", "run", NULL), 0, "help run");
	TAP_OK(o.command == CLI_HELP && o.help_topic && !strcmp(o.help_topic, "run"),
	       "... run's help");
	TAP_EQ_INT(parse("help", "bench", NULL), 0, "help bench");
	TAP_OK(o.help_topic && !strcmp(o.help_topic, "bench"), "... bench's help");
	BAD("help rn", "unknown command 'rn' (did you mean 'run'?)", "help", "rn");
	BAD("help a b", "help takes one command", "help", "a", "b");
	TAP_EQ_INT(parse("run", "--help", NULL), 0, "run --help");
	TAP_OK(o.command == CLI_HELP && o.help_topic && !strcmp(o.help_topic, "run"),
	       "... run's help, not the overview");
	TAP_EQ_INT(parse("run", "-h", NULL), 0, "run -h");
	TAP_OK(o.help_topic && !strcmp(o.help_topic, "run"), "... run's help");
	TAP_EQ_INT(parse("--help", NULL), 0, "--help");
	TAP_OK(!o.help_topic, "... the overview");
	TAP_EQ_INT(parse("version", NULL), 0, "version");
	TAP_EQ_INT(o.command, CLI_VERSION, "... CLI_VERSION");
	TAP_EQ_INT(parse("bench", "--runs", "3", "g.elf", NULL), 0, "bench ...");
	TAP_EQ_INT(o.command, CLI_BENCH, "... CLI_BENCH (bench.c parses the rest)");
	TAP_EQ_INT(parse("rn", NULL), 0, "a first word that may be a guest");
	TAP_OK(o.command == CLI_RUN && o.guest_first,
	       "... is marked guest_first (main checks the file)");
	TAP_EQ_INT(parse("run", "rn", NULL), 0, "run rn");
	TAP_OK(!o.guest_first, "... is a guest for sure");
	TAP_EQ_INT(parse("-m", "8M", "rn", NULL), 0, "-m 8M rn");
	TAP_OK(!o.guest_first, "... not the first word");
	cli_unknown_command("bnech", why, sizeof(why));
	TAP_STR_CONTAINS(
	    why, "unknown command 'bnech' (did you mean 'bench'?); the commands are run, bench",
	    "unknown command: suggestion and the list");
	cli_unknown_command("frobnicate", why, sizeof(why));
	TAP_OK(!strstr(why, "did you mean") && strstr(why, "the commands are"),
	       "no suggestion when nothing is close");
	static const char *const c[] = {"alpha", "beta"};
	TAP_OK(cli_suggest("aplha", c, 2) && !strcmp(cli_suggest("aplha", c, 2), "alpha"),
	       "cli_suggest: a swap counts one");
	TAP_OK(!cli_suggest("x", c, 2), "cli_suggest: one letter suggests nothing");
	TAP_OK(!cli_suggest("gamma", c, 2), "cli_suggest: far words suggest nothing");
	TAP_STR_CONTAINS(cli_run_usage, "159", "run --help lists status 159");
	TAP_STR_CONTAINS(cli_usage, "159", "--help lists status 159");
	TAP_STR_CONTAINS(cli_run_usage, "a bare number is MiB", "run --help says a bare -m is MiB");
	TAP_STR_CONTAINS(cli_run_usage, "--json-status", "run --help lists --json-status");
	TAP_STR_CONTAINS(cli_short_usage, "kestrel help", "the short usage points at help");
}

static void timeout_ok(const char *val, uint64_t want_ms)
{
	if (TAP_EQ_INT(parse("run", "--timeout", val, "g.elf", NULL), 0, "--timeout %s accepted",
		       val))
		TAP_EQ_U64(o.timeout_ms, want_ms, "--timeout %s is %" PRIu64 " ms", val, want_ms);
}

static void test_timeout(void)
{
	timeout_ok("0.5", 500);
	timeout_ok("2", 2000);
	timeout_ok("1.25", 1250);
	timeout_ok("0.001", 1);
	timeout_ok("10.100", 10100);
	timeout_ok(".5", 500);
	timeout_ok("007", 7000);
	timeout_ok("1000000000", 1000000000000ull);
	TAP_EQ_INT(parse("run", "-t", "3", "g.elf", NULL), 0, "-t 3");
	TAP_EQ_U64(o.timeout_ms, 3000, "-t 3 is 3000 ms");
	TAP_EQ_INT(parse("run", "--timeout=0.3", "g.elf", NULL), 0, "--timeout=0.3");
	TAP_EQ_U64(o.timeout_ms, 300, "--timeout=0.3 is 300 ms");

	BAD("--timeout 0", "--timeout 0", "run", "--timeout", "0", "g.elf");
	BAD("--timeout 0.000", "--timeout 0.000", "run", "--timeout", "0.000", "g.elf");
	BAD("--timeout 1.2345", "--timeout 1.2345", "run", "--timeout", "1.2345", "g.elf");
	BAD("--timeout 0.0001", "--timeout 0.0001", "run", "--timeout", "0.0001", "g.elf");
	BAD("--timeout -1", "--timeout -1", "run", "--timeout", "-1", "g.elf");
	BAD("--timeout 1.", "--timeout 1.", "run", "--timeout", "1.", "g.elf");
	BAD("--timeout .", "--timeout .", "run", "--timeout", ".", "g.elf");
	BAD("--timeout ''", "--timeout", "run", "--timeout", "", "g.elf");
	BAD("--timeout abc", "--timeout abc", "run", "--timeout", "abc", "g.elf");
	BAD("--timeout 1e3", "--timeout 1e3", "run", "--timeout", "1e3", "g.elf");
	BAD("--timeout 1.5s", "--timeout 1.5s", "run", "--timeout", "1.5s", "g.elf");
	BAD("--timeout 1.-5", "--timeout 1.-5", "run", "--timeout", "1.-5", "g.elf");
	BAD("--timeout +1", "--timeout +1", "run", "--timeout", "+1", "g.elf");
	BAD("--timeout 1000000001",
	    "--timeout 1000000001: too large; the most is 1000000000 "
	    "seconds",
	    "run", "--timeout", "1000000001", "g.elf");
	BAD("--timeout 18446744073709551 (issue 13)", "too large; the most is 1000000000 seconds",
	    "run", "--timeout", "18446744073709551", "g.elf");
	BAD("--timeout 2^64 (wraps 64 bits)", "too large", "run", "--timeout",
	    "18446744073709551616", "g.elf");
	BAD("--timeout 1000000000.5", "too large", "run", "--timeout", "1000000000.5", "g.elf");
	BAD("--timeout with a 40-digit whole part", "too large", "run", "--timeout",
	    "1234567890123456789012345678901234567890", "g.elf");
	timeout_ok("0000000000000000000000000000000000000002.5", 2500);
	BAD("--timeout 99999999999999999999999.x: not a number, not 'too large'",
	    "give seconds greater than 0", "run", "--timeout", "99999999999999999999999.x",
	    "g.elf");
	BAD("--timeout 1e30: not a number", "give seconds greater than 0", "run", "--timeout",
	    "1e30", "g.elf");
	BAD("--timeout without a value", "--timeout needs a number of seconds", "run", "g.elf",
	    "--timeout");
	BAD("-t without a value", "-t needs", "run", "g.elf", "-t");
}

static void test_flags_and_unknown(void)
{
	TAP_EQ_INT(parse("run", "--strict", "--stats", "--no-sync-regs", "g.elf", NULL), 0,
		   "--strict --stats --no-sync-regs");
	TAP_OK(o.cfg.strict && o.stats && o.cfg.no_sync_regs, "all three flags set");
	TAP_EQ_INT(parse("run", "--pit", "g.elf", NULL), 0, "--pit");
	TAP_OK(o.cfg.pit && !o.cfg.strict, "--pit sets cfg.pit only");
	TAP_EQ_INT(parse("run", "--no-host-decompress", "--no-host-quirks", "g.elf", NULL), 0,
		   "--no-host-decompress --no-host-quirks");
	TAP_OK(o.cfg.no_host_decompress && o.cfg.no_host_quirks, "both set");
	TAP_EQ_INT(parse("run", "g.elf", NULL), 0, "no host flags");
	TAP_OK(!o.cfg.no_host_decompress && !o.cfg.no_host_quirks,
	       "host decompression and quirks on by default");
	BAD("--pit takes no value", "unknown option '--pit=1'", "run", "--pit=1", "g.elf");
	TAP_OK(!o.no_stdin, "standard input is the console's input by default");
	TAP_EQ_INT(parse("run", "--no-stdin", "g.elf", NULL), 0, "--no-stdin");
	TAP_OK(o.no_stdin && !o.cfg.console_in,
	       "--no-stdin sets no_stdin (cfg.console_in is main's)");
	TAP_EQ_INT(parse("run", "--no-std", "g.elf", NULL), 0,
		   "--no-std: a prefix of --no-stdin only");
	TAP_OK(o.no_stdin, "... and it is --no-stdin");
	TAP_STR_CONTAINS(cli_run_usage, "--no-stdin", "kestrel run --help lists --no-stdin");
	TAP_STR_CONTAINS(cli_run_usage, "Ctrl-A x quits", "and the escape");

	BAD("unknown option --bogus", "unknown option '--bogus'", "run", "--bogus", "g.elf");
	BAD("unknown short option -x", "unknown option '-x'", "run", "-x", "g.elf");
	BAD("unknown option after the guest", "unknown option '--nope'", "run", "g.elf", "--nope");
	BAD("--strict=1", "unknown option '--strict=1'", "run", "--strict=1", "g.elf");
	BAD("'run' not first", "unexpected argument 'run'", "g.elf", "run");
	TAP_EQ_INT(parse("run", "-", NULL), 0, "'-' alone is a guest path, not an option");
	TAP_EQ_STR(o.guest, "-", "... guest '-'");
}

static void test_guest_args(void)
{
	char big[KESTREL_CMDLINE_MAX + 8];

	TAP_EQ_INT(parse("run", "g.elf", "--", "alpha", "beta=2", NULL), 0, "guest args after --");
	TAP_EQ_STR(o.cmdline, "alpha beta=2", "guest args joined with one space");
	TAP_OK(o.cfg.cmdline == o.cmdline, "cfg.cmdline set");
	TAP_EQ_INT(parse("run", "g.elf", "--", NULL), 0, "'--' with nothing after it");
	TAP_EQ_STR(o.cmdline, "", "... empty command line");
	TAP_EQ_INT(parse("run", "g.elf", "--", "a b", "c", NULL), 0, "an argument with a space");
	TAP_EQ_STR(o.cmdline, "a b c", "... kept as is");
	TAP_EQ_INT(parse("run", "g.elf", "--", "a", "", "b", NULL), 0, "an empty middle argument");
	TAP_EQ_STR(o.cmdline, "a  b", "... gives two spaces");
	TAP_EQ_INT(parse("run", "g.elf", "--", "", "x", NULL), 0, "an empty first argument");
	TAP_EQ_STR(o.cmdline, " x", "empty first guest argument still gets its separator");
	TAP_EQ_INT(parse("run", "g.elf", "--", "", NULL), 0, "a single empty argument");
	TAP_EQ_STR(o.cmdline, "", "... gives an empty command line");
	TAP_EQ_INT(parse("run", "g.elf", "--", "--mem", "5M", "--help", "--", "-x", NULL), 0,
		   "options after -- belong to the guest");
	TAP_EQ_STR(o.cmdline, "--mem 5M --help -- -x", "... passed through verbatim");
	TAP_OK(o.command == CLI_RUN && o.cfg.mem_size == 64 * MIB, "... and are not parsed");

	BAD("'--' before the guest", "'--' before the guest image", "run", "--", "g.elf");
	BAD("'--' right after options", "'--' before the guest", "run", "--mem", "8M", "--", "x");

	/* Length: KESTREL_CMDLINE_MAX - 1 bytes fit, one more does not. */
	memset(big, 'a', sizeof(big));
	big[KESTREL_CMDLINE_MAX - 1] = '\0';
	TAP_EQ_INT(parse("run", "g.elf", "--", big, NULL), 0, "one argument of %u bytes fits",
		   KESTREL_CMDLINE_MAX - 1);
	TAP_EQ_U64(strlen(o.cmdline), KESTREL_CMDLINE_MAX - 1, "... all of it in cmdline");
	big[KESTREL_CMDLINE_MAX - 1] = 'a';
	big[KESTREL_CMDLINE_MAX] = '\0';
	BAD("one argument of KESTREL_CMDLINE_MAX bytes", "longer than 1023 bytes", "run", "g.elf",
	    "--", big);
	/* 511 + ' ' + 511 = 1023 fits; 512 + ' ' + 511 does not. */
	char half1[600], half2[600];
	memset(half1, 'x', sizeof(half1));
	memset(half2, 'y', sizeof(half2));
	half1[511] = half2[511] = '\0';
	TAP_EQ_INT(parse("run", "g.elf", "--", half1, half2, NULL), 0,
		   "511 + space + 511 bytes fit");
	TAP_EQ_U64(strlen(o.cmdline), 1023, "... cmdline is 1023 bytes");
	TAP_OK(o.cmdline[511] == ' ' && o.cmdline[510] == 'x' && o.cmdline[512] == 'y',
	       "... joined at byte 511");
	half1[511] = 'x';
	half1[512] = '\0';
	BAD("512 + space + 511 bytes", "guest arguments are longer than", "run", "g.elf", "--",
	    half1, half2);
	/* Many short arguments: the separators count too. */
	char *argv[700];
	int argc = 0;
	argv[argc++] = (char *)"kestrel";
	argv[argc++] = (char *)"g.elf";
	argv[argc++] = (char *)"--";
	for (int i = 0; i < 512; i++)
		argv[argc++] = (char *)"z"; /* 512 + 511 spaces = 1023 */
	argv[argc] = NULL;
	TAP_EQ_INT(cli_parse(argc, argv, &o, why, sizeof(why)), 0,
		   "512 one-byte arguments fit (1023 bytes)");
	TAP_EQ_U64(strlen(o.cmdline), 1023, "... 1023 bytes with the spaces");
	argv[argc++] = (char *)"z";
	argv[argc] = NULL;
	TAP_EQ_INT(cli_parse(argc, argv, &o, why, sizeof(why)), -EINVAL,
		   "513 one-byte arguments refused");
	TAP_STR_CONTAINS(why, "longer than 1023", "... message gives the limit");
}

static void test_order(void)
{
	TAP_EQ_INT(parse("run", "g.elf", "--mem", "128M", "--cpus", "2", "--timeout", "1.5",
			 "--strict", NULL),
		   0, "options after the guest");
	TAP_OK(o.cfg.mem_size == 128 * MIB && o.cfg.ncpus == 2 && o.timeout_ms == 1500 &&
		   o.cfg.strict && o.guest && !strcmp(o.guest, "g.elf"),
	       "... are all parsed");
	TAP_EQ_INT(parse("--cpus", "2", "g.elf", "-m", "32M", "--", "x", NULL), 0,
		   "options on both sides, no 'run'");
	TAP_OK(o.cfg.ncpus == 2 && o.cfg.mem_size == 32 * MIB && !strcmp(o.cmdline, "x"),
	       "... all parsed, guest args intact");
	TAP_EQ_INT(parse("run", "--mem", "8M", "--mem", "16M", "g.elf", NULL), 0,
		   "a repeated option");
	TAP_EQ_U64(o.cfg.mem_size, 16 * MIB, "... the last one wins");

	/* Nothing leaks from one parse into the next. */
	parse("run", "--strict", "--stats", "--cpus", "3", "--timeout", "2", "g.elf", "--", "q",
	      NULL);
	TAP_EQ_INT(parse("h.elf", NULL), 0, "a plain parse after a busy one");
	TAP_OK(!o.cfg.strict && !o.stats && o.cfg.ncpus == 1 && o.timeout_ms == 0 &&
		   o.cmdline[0] == '\0' && !strcmp(o.guest, "h.elf"),
	       "... starts from the defaults again");
}

static void test_help_version(void)
{
	static const char *const help[] = {"--help", "-h"}, *const ver[] = {"--version", "-V"};

	for (int i = 0; i < 2; i++) {
		TAP_EQ_INT(parse(help[i], NULL), 0, "%s", help[i]);
		TAP_EQ_INT(o.command, CLI_HELP, "%s gives CLI_HELP", help[i]);
		TAP_EQ_INT(parse(ver[i], NULL), 0, "%s", ver[i]);
		TAP_EQ_INT(o.command, CLI_VERSION, "%s gives CLI_VERSION", ver[i]);
	}
	TAP_EQ_INT(parse("run", "--help", NULL), 0, "run --help");
	TAP_EQ_INT(o.command, CLI_HELP, "run --help gives CLI_HELP");
	TAP_EQ_INT(parse("run", "g.elf", "--version", NULL), 0, "--version after the guest");
	TAP_EQ_INT(o.command, CLI_VERSION, "... gives CLI_VERSION");
	TAP_EQ_INT(parse("run", "g.elf", "--", "--help", NULL), 0,
		   "--help after -- is a guest arg");
	TAP_EQ_INT(o.command, CLI_RUN, "... command stays run");
	TAP_STR_CONTAINS(cli_usage, "Usage: kestrel run", "usage text starts with the synopsis");
	TAP_STR_CONTAINS(cli_usage, "--timeout", "usage text lists --timeout");
	TAP_STR_CONTAINS(cli_usage, "Exit status", "usage text lists exit statuses");
}

/* A tiny `why` buffer: truncated, NUL-terminated, nothing written past it. */
/* The library's messages name kestrel_config fields; cfg.field_name maps them to options. */
static void test_field_names(void)
{
	const char *field, *option;
	size_t i, bad = 0;

	TAP_EQ_INT(parse("g.elf", NULL), 0, "a plain run");
	TAP_OK(o.cfg.field_name == cli_field_name, "cli_parse sets cfg.field_name");
	TAP_EQ_STR(cli_field_name("mem_size"), "--mem", "mem_size is --mem");
	TAP_EQ_STR(cli_field_name("ncpus"), "--cpus", "ncpus is --cpus");
	TAP_EQ_STR(cli_field_name("strict"), "--strict", "strict is --strict");
	TAP_EQ_STR(cli_field_name("halt_poll_ns"), "--halt-poll", "halt_poll_ns is --halt-poll");
	TAP_EQ_STR(cli_field_name("modules"), "--module", "modules is --module");
	TAP_EQ_STR(cli_field_name("kestrel_vm_print_stats"), "--stats",
		   "kestrel_vm_print_stats is --stats");
	TAP_OK(cli_field_name("console_fd") == NULL, "a field with no option: NULL");
	TAP_OK(cli_field_name("mem") == NULL && cli_field_name("") == NULL,
	       "only whole field names");
	for (i = 0; (field = cli_field_at(i, &option)) != NULL; i++)
		if (!cli_is_option(option)) {
			bad++;
			tap_diag("%s maps to %s, which is no option", field, option);
		}
	TAP_OK(i >= 20, "the table has every field the library names (%zu rows)", i);
	TAP_EQ_U64(bad, 0, "every row names a real option of run");
	TAP_OK(!cli_is_option("--bogus") && !cli_is_option("mem") && cli_is_option("--mem"),
	       "cli_is_option: whole long names only");
}

static void test_small_why(void)
{
	char buf[16];
	char *argv[] = {(char *)"kestrel", (char *)"run", (char *)"--bogus-option-name", NULL};

	memset(buf, 'Q', sizeof(buf));
	TAP_EQ_INT(cli_parse(3, argv, &o, buf, 8), -EINVAL, "small why: still -EINVAL");
	TAP_OK(strlen(buf) == 7 && buf[8] == 'Q',
	       "small why: truncated to 7 chars, nothing past the end");
	TAP_EQ_STR(buf, "unknown", "small why: the start of the message");
}

int main(void)
{
	test_defaults();
	test_mem();
	test_cpus();
	test_habits();
	test_commands();
	test_timeout();
	test_flags_and_unknown();
	test_guest_args();
	test_order();
	test_help_version();
	test_field_names();
	test_small_why();
	return tap_done();
}
