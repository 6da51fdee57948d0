/* fuzz_cli.c - libFuzzer target: cli_parse on an argv made of the input's NUL-separated strings. */
#include <errno.h>

#include "fuzz.h"
#include "options.h"

#define MAX_ARGS 64
#define WHY_LEN 256 /* what cli/main.c passes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0, r, dashes = -1, guest_at = -1;
	struct cli_options *o = malloc(sizeof(*o));
	char *why = malloc(WHY_LEN);
	size_t i = 0;

	/* argv[0], then one exact-size heap string per NUL-separated piece,
	 * so ASan sees any read past an argument's terminator. */
	argv[argc++] = strdup("kestrel");
	while (i < size && argc <= MAX_ARGS) {
		const uint8_t *end = memchr(data + i, '\0', size - i);
		size_t l = end ? (size_t)(end - (data + i)) : size - i;
		char *a = malloc(l + 1);

		memcpy(a, data + i, l);
		a[l] = '\0';
		argv[argc++] = a;
		i += l + 1;
	}
	argv[argc] = NULL;

	r = cli_parse(argc, argv, o, why, WHY_LEN);
	FUZZ_ASSERT(r == 0 || r == -EINVAL, "returned %d", r);
	FUZZ_ASSERT(memchr(why, '\0', WHY_LEN) != NULL, "reason not NUL-terminated");
	if (r < 0) {
		FUZZ_ASSERT(why[0] != '\0', "usage error without a reason");
	} else if (o->command == CLI_RUN) {
		for (int k = 1; k < argc; k++) {
			/* -k/--kernel=/-kFILE point into their word, a plain guest is one */
			if (o->guest >= argv[k] && o->guest <= argv[k] + strlen(argv[k]) &&
			    guest_at < 0)
				guest_at = k;
			if (!strcmp(argv[k], "--") && dashes < 0 && guest_at >= 0)
				dashes = k;
		}
		FUZZ_ASSERT(guest_at > 0, "no guest, or a guest that is not one of argv");
		FUZZ_ASSERT(o->cfg.mem_size > 0 && o->cfg.ncpus >= 1, "mem %llu, cpus %u",
			    (unsigned long long)o->cfg.mem_size, o->cfg.ncpus);
		FUZZ_ASSERT(o->cfg.cmdline == o->cmdline, "cfg.cmdline not the joined arguments");
		FUZZ_ASSERT(memchr(o->cmdline, '\0', sizeof(o->cmdline)) != NULL,
			    "cmdline unterminated");
		FUZZ_ASSERT(o->cfg.console_fd == 1 && o->cfg.log_fd == 2, "fds changed");
		FUZZ_ASSERT(o->cfg.verbosity >= -1 && o->cfg.verbosity <= 1, "verbosity %d",
			    o->cfg.verbosity);
		FUZZ_ASSERT(o->cfg.size == sizeof(o->cfg), "config size not set");
		FUZZ_ASSERT(!o->guest_first || o->guest == argv[1], "guest_first but not argv[1]");
		/* The command line is --cmdline/-p/--append's string, a space if
		 * both are there, then the words after the first "--" that follows
		 * the guest, joined by single spaces. */
		{
			size_t off = 0, al = o->append ? strlen(o->append) : 0, jl = 0;
			if (dashes > 0)
				for (int k = dashes + 1; k < argc; k++)
					jl += strlen(argv[k]) + (k > dashes + 1);
			if (o->append) {
				FUZZ_ASSERT(!memcmp(o->cmdline, o->append, al), "--cmdline string");
				off = al;
				if (jl)
					FUZZ_ASSERT(o->cmdline[off++] == ' ',
						    "separator after --cmdline");
			}
			for (int k = dashes + 1; dashes > 0 && k < argc; k++) {
				size_t l = strlen(argv[k]);
				if (k > dashes + 1)
					FUZZ_ASSERT(o->cmdline[off++] == ' ', "separator");
				FUZZ_ASSERT(!memcmp(o->cmdline + off, argv[k], l), "argument %d",
					    k);
				off += l;
			}
			FUZZ_ASSERT(o->cmdline[off] == '\0', "cmdline has extra bytes");
		}
	}
	if (r == 0 && o->command == CLI_HELP && o->help_topic) {
		bool known = false;
		for (int k = 0; cli_commands[k]; k++)
			known |= !strcmp(o->help_topic, cli_commands[k]);
		FUZZ_ASSERT(known, "help topic '%s' is no command", o->help_topic);
	}
	if (r == 0 && o->command == CLI_BENCH)
		FUZZ_ASSERT(!strcmp(argv[1], "bench"), "CLI_BENCH without 'bench' first");
	for (int k = 0; k < argc; k++)
		free(argv[k]);
	free(why);
	free(o);
	return 0;
}
