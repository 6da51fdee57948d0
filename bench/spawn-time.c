/* spawn-time.c - run one command, print its spawn-to-exit wall time in ns (CLOCK_MONOTONIC). */

/*
 * usage: spawn-time [-o FILE] CMD [ARGS...]
 *
 * Starts CMD with posix_spawnp (stdin /dev/null; stdout and stderr to FILE,
 * default /dev/null, so console output costs what a write to a file costs),
 * waits for it, and prints one line on stdout:
 *
 *     NS STATUS END_NS
 *
 * NS is the time from just before posix_spawnp to just after waitpid
 * returned, STATUS the command's exit status (128 + signal when a signal
 * killed it), END_NS the CLOCK_MONOTONIC time waitpid returned, in ns: a
 * command that prints its own CLOCK_MONOTONIC stamp (rawkvm-min -T's
 * exit_ns, kestrel's --stats-json timeline) can be subtracted from it, since
 * both read the same clock. Nothing else runs between the two readings: the
 * timer's own start-up and output are outside them.
 *
 * Exit status: 0 when CMD ran (whatever its status), 1 when it could not be
 * started, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: spawn-time [-o FILE] CMD [ARGS...]\n"

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *out = "/dev/null";
	posix_spawn_file_actions_t fa;
	uint64_t t0, t1;
	pid_t pid;
	int c, r, status = 0;

	opterr = 0;
	/* '+': stop at the first non-option, so CMD's own options stay its own. */
	while ((c = getopt(argc, argv, "+o:")) != -1) {
		if (c != 'o') {
			fprintf(stderr, "spawn-time: unknown option\n%s", USAGE);
			return 2;
		}
		out = optarg;
	}
	if (optind >= argc) {
		fprintf(stderr, "spawn-time: no command given\n%s", USAGE);
		return 2;
	}
	if ((r = posix_spawn_file_actions_init(&fa)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC,
						  0644)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, 1, 2)) != 0) {
		fprintf(stderr, "spawn-time: posix_spawn_file_actions: %s\n", strerror(r));
		return 1;
	}

	t0 = now_ns();
	r = posix_spawnp(&pid, argv[optind], &fa, NULL, argv + optind, environ);
	if (r != 0) {
		fprintf(stderr, "spawn-time: cannot start %s: %s\n", argv[optind], strerror(r));
		return 1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "spawn-time: waitpid: %s\n", strerror(errno));
			return 1;
		}
	}
	t1 = now_ns();
	posix_spawn_file_actions_destroy(&fa);

	printf("%llu %d %llu\n", (unsigned long long)(t1 - t0),
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	       (unsigned long long)t1);
	return 0;
}
