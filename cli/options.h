/* options.h - the kestrel command line, parsed into a struct (pure code, unit-tested). */
#ifndef KESTREL_CLI_OPTIONS_H
#define KESTREL_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/kestrel.h"

enum cli_command {
	CLI_RUN,
	CLI_HELP,
	CLI_VERSION,
	CLI_CPUID, /* --cpuid: print the table, run nothing */
	CLI_BENCH, /* `kestrel bench ...`: bench_main() parses argv[1..] */
};

/* The words `kestrel WORD` takes as a command (anything else is a guest path). */
extern const char *const cli_commands[];

#define CLI_MAX_MODULES 15u

struct cli_options {
	enum cli_command command;
	struct kestrel_config cfg;
	uint64_t timeout_ms;	/* 0: none */
	bool stats;		/* print the exit profile and counters to stderr after the run */
	bool no_stdin;		/* --no-stdin: the guest gets no console input (cli/tty.h) */
	const char *stats_json; /* write the same as JSON to this file (NULL: don't) */
	const char *guest;	/* image path (CLI_CPUID: optional, not run) */
	bool guest_first; /* the guest was argv[1] itself (no "run"): maybe a mistyped command */
	const char *help_topic; /* CLI_HELP: "run", "bench", ... (NULL: the overview) */
	const char
	    *json_status; /* --json-status FILE: the outcome as one JSON line (NULL: don't) */
	char cmdline[KESTREL_CMDLINE_MAX]; /* --cmdline, then the guest args, joined by spaces */
	const char *append;		   /* --cmdline/--append/-p STRING (NULL: none) */
	struct kestrel_module modules[CLI_MAX_MODULES]; /* --module FILE[,STRING] */
	char module_path[CLI_MAX_MODULES][1024];	/* FILE parts of those with a STRING */
};

/*
 * cli_parse - parse argv.
 * Long options take "--name VALUE" or "--name=VALUE" and may be shortened to
 * any unambiguous prefix ("--time 2"); a few also take one dash, as QEMU
 * spells them ("-kernel", "-initrd", "-append"). Short options take
 * "-m 256M" or "-m256M", and flags cluster ("-qv"). -m/--mem: a bare number
 * is MiB. An unknown option gets a did-you-mean when one is close. Returns 0, or -EINVAL with a
 * one-line message in `why` (a usage error: kestrel exits KESTREL_STATUS_USAGE). Form: kestrel
 * [run] [options] GUEST [-- GUEST-ARGS...] | --help | --version, or with --cpuid anywhere: command
 * CLI_CPUID, the guest optional.
 */
int cli_parse(int argc, char *const argv[], struct cli_options *o, char *why, size_t whylen);

/*
 * cli_suggest - the word of cands[0..n) closest to `word` (edit distance,
 * a swap of two neighbours counting one), or NULL when none is close enough
 * to be what was meant.
 */
const char *cli_suggest(const char *word, const char *const *cands, size_t n);

/* cli_unknown_command - "unknown command 'WORD' (did you mean 'run'?); commands are ..." into why.
 */
void cli_unknown_command(const char *word, char *why, size_t whylen);

/*
 * cli_field_name - the option that sets struct kestrel_config's `field`
 * ("mem_size" -> "--mem"; "kestrel_vm_print_stats" -> "--stats"), or NULL:
 * cli_parse puts it in cfg.field_name, so the library's messages, which
 * name fields, reach the user in the command's own terms.
 * cli_field_at - row i of that table (the field; *option its option), NULL past the end.
 * cli_is_option - whether "--name" is one of run's long options.
 */
const char *cli_field_name(const char *field);
const char *cli_field_at(size_t i, const char **option);
bool cli_is_option(const char *name);

/* cli_usage - `kestrel --help`: the commands and the common options.
 * cli_run_usage - `kestrel run --help`: every option and every exit status.
 * cli_short_usage - what a bare `kestrel` prints. */
extern const char cli_usage[], cli_run_usage[], cli_short_usage[];

#endif
