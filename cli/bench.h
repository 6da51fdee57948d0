/* bench.h - `kestrel bench`: repeated cold starts of the kestrel binary, phases and counts. */
#ifndef KESTREL_CLI_BENCH_H
#define KESTREL_CLI_BENCH_H

/*
 * bench_main - argv[0] is "bench". Forms:
 *   kestrel bench [--runs N] [--warmup N] [--json] GUEST [-- RUN-ARGS...]
 *   kestrel bench --a "OPTIONS" --b "OPTIONS" [...] GUEST [-- RUN-ARGS...]
 * Each run is a fresh `kestrel run --stats-json TMP [OPTIONS] GUEST RUN-ARGS...`
 * of this very binary (/proc/self/exe). The options, the run options and the
 * image are checked before the first run, and a first run that fails the
 * way every run would (status 120-122) ends the benchmark. Returns the process exit status: 0
 * when every run succeeded, 1 if some failed, KESTREL_STATUS_USAGE for a bad
 * command line, KESTREL_STATUS_HOST when nothing could be started.
 */
int bench_main(int argc, char **argv);

/* bench_usage_text - `kestrel bench --help`. */
extern const char bench_usage_text[];

#endif
