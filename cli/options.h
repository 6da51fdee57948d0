/* options.h - the kestrel command line, parsed into a struct (pure code, unit-tested). */
#ifndef KESTREL_CLI_OPTIONS_H
#define KESTREL_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kestrel/kestrel.h"

enum cli_command { CLI_RUN, CLI_HELP, CLI_VERSION, CLI_CPUID /* --cpuid: print the table, run nothing */ };

#define CLI_MAX_MODULES 15u

struct cli_options {
	enum cli_command command;
	struct kestrel_config cfg;
	uint64_t timeout_ms; /* 0: none */
	bool stats; /* print the exit profile and counters to stderr after the run */
	const char *stats_json; /* write the same as JSON to this file (NULL: don't) */
	const char *guest; /* image path (CLI_CPUID: optional, not run) */
	char cmdline[KESTREL_CMDLINE_MAX]; /* --cmdline, then the guest args, joined by spaces */
	const char *append; /* --cmdline/--append/-p STRING (NULL: none) */
	struct kestrel_module modules[CLI_MAX_MODULES]; /* --module FILE[,STRING] */
	char module_path[CLI_MAX_MODULES][1024]; /* FILE parts of those with a STRING */
};

/*
 * cli_parse - parse argv. Returns 0, or -EINVAL with a one-line message in
 * `why` (a usage error: kestrel exits KESTREL_STATUS_USAGE).
 * Form: kestrel [run] [options] GUEST [-- GUEST-ARGS...] | --help | --version,
 * or with --cpuid anywhere: command CLI_CPUID, the guest optional.
 */
int cli_parse(int argc, char *const argv[], struct cli_options *o, char *why, size_t whylen);

/* cli_usage - the --help text. */
extern const char cli_usage[];

#endif
