/* first-output.c - run one command with stdout on a pipe; print when its first byte, each marker
 * and its exit came. */

/*
 * usage: first-output [-o FILE] [-e FILE] [-t SECS] [-s MARKER] [-m MARKER]... CMD [ARGS...]
 *
 * Starts CMD with posix_spawnp: stdin /dev/null, stdout a pipe this program
 * reads (and copies to -o FILE, default nowhere), stderr to -e FILE (default
 * /dev/null). It takes CLOCK_MONOTONIC just before posix_spawnp (t0) and
 * prints one line when CMD has exited:
 *
 *     t0_ns=T first_ns=F eof_ns=E exit_ns=X status=S bytes=B m1=N1 m2=N2 ...
 *
 * F is the time from t0 to the return of the read() that brought the first
 * byte of stdout, E to the read() that saw end of file, X to waitpid's
 * return (all ns; "-" when it never happened), S the exit status (128 + signal
 * when a signal ended it), B the bytes read, and mI the time to the read()
 * that completed the I-th -m MARKER (a plain byte string; found across read
 * boundaries; at most 16 markers of up to 255 bytes each). T is absolute, so a
 * CMD that prints its own CLOCK_MONOTONIC stamps (kestrel's --stats-json
 * timeline) can be set against these.
 *
 * -t SECS (decimals allowed): when CMD is still running SECS after t0 it gets
 * SIGTERM, and SIGKILL 2 s later; the status then says so (143, 137), and a
 * "timeout=1" field is added. -s MARKER does the same at the read() that
 * completes MARKER (field "stopped=1"): a boot cut at a given kernel message,
 * e.g. to count one VMM's exits over the window another survives.
 *
 * Exit status: 0 when CMD ran (whatever its status), 1 when it could not be
 * started or a system call failed, 2 bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define USAGE                                                                                      \
	"usage: first-output [-o FILE] [-e FILE] [-t SECS] [-s MARKER] [-m MARKER]... CMD "        \
	"[ARGS...]\n"
#define MAX_MARKERS 16
#define MAX_MARKER_LEN 255
#define KILL_GRACE_NS 2000000000ull

extern char **environ;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void print_ns(const char *name, uint64_t t, uint64_t t0)
{
	if (t == 0)
		printf(" %s=-", name);
	else
		printf(" %s=%llu", name, (unsigned long long)(t - t0));
}

int main(int argc, char **argv)
{
	const char *out = NULL, *err = "/dev/null", *stop = NULL;
	const char *marker[MAX_MARKERS];
	size_t marker_len[MAX_MARKERS];
	uint64_t marker_t[MAX_MARKERS] = {0};
	/* The last MAX_MARKER_LEN - 1 bytes of earlier reads, then the new read. */
	char buf[MAX_MARKER_LEN - 1 + 65536];
	size_t keep = 0, bytes = 0;
	uint64_t t0, t_first = 0, t_eof = 0, t_exit = 0, timeout_ns = 0, t_term = 0;
	posix_spawn_file_actions_t fa;
	int nmarkers = 0, c, r, status = 0, out_fd = -1, pfd[2], timed_out = 0, stopped = 0;
	pid_t pid;

	opterr = 0;
	/* '+': stop at the first non-option, so CMD's own options stay its own. */
	while ((c = getopt(argc, argv, "+o:e:t:s:m:")) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'e':
			err = optarg;
			break;
		case 't': {
			char *end;
			double s = strtod(optarg, &end);

			if (end == optarg || *end != '\0' || !(s > 0 && s < 1e6)) {
				fprintf(stderr, "first-output: -t takes seconds above 0\n");
				return 2;
			}
			timeout_ns = (uint64_t)(s * 1e9);
			break;
		}
		case 's':
			if (optarg[0] == '\0' || strlen(optarg) > MAX_MARKER_LEN) {
				fprintf(stderr, "first-output: -s takes 1-%d bytes\n",
					MAX_MARKER_LEN);
				return 2;
			}
			stop = optarg;
			break;
		case 'm':
			if (nmarkers == MAX_MARKERS || optarg[0] == '\0' ||
			    strlen(optarg) > MAX_MARKER_LEN) {
				fprintf(stderr, "first-output: at most %d markers of 1-%d bytes\n",
					MAX_MARKERS, MAX_MARKER_LEN);
				return 2;
			}
			marker[nmarkers] = optarg;
			marker_len[nmarkers++] = strlen(optarg);
			break;
		default:
			fprintf(stderr, "first-output: unknown option\n%s", USAGE);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "first-output: no command given\n%s", USAGE);
		return 2;
	}
	if (out && (out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		fprintf(stderr, "first-output: %s: %s\n", out, strerror(errno));
		return 1;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		fprintf(stderr, "first-output: pipe: %s\n", strerror(errno));
		return 1;
	}
	if ((r = posix_spawn_file_actions_init(&fa)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (r = posix_spawn_file_actions_adddup2(&fa, pfd[1], 1)) != 0 ||
	    (r = posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
						  0644)) != 0) {
		fprintf(stderr, "first-output: posix_spawn_file_actions: %s\n", strerror(r));
		return 1;
	}

	t0 = now_ns();
	r = posix_spawnp(&pid, argv[optind], &fa, NULL, argv + optind, environ);
	if (r != 0) {
		fprintf(stderr, "first-output: cannot start %s: %s\n", argv[optind], strerror(r));
		return 1;
	}
	close(pfd[1]);

	/* Read until end of file; the timeout is checked between reads. */
	while (!t_eof) {
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int wait_ms = -1;
		ssize_t n;

		if (timeout_ns) {
			uint64_t now = now_ns();
			uint64_t limit = t_term ? t_term + KILL_GRACE_NS : t0 + timeout_ns;

			if (now >= limit) {
				if (!t_term) {
					kill(pid, SIGTERM);
					t_term = now;
					timed_out = 1;
				} else {
					kill(pid, SIGKILL);
					timeout_ns = 0; /* nothing more to do but wait */
				}
				continue;
			}
			wait_ms = (int)((limit - now) / 1000000u) + 1;
		}
		r = poll(&p, 1, wait_ms);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "first-output: poll: %s\n", strerror(errno));
			return 1;
		}
		if (r <= 0)
			continue;
		n = read(pfd[0], buf + keep, sizeof(buf) - keep);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "first-output: read: %s\n", strerror(errno));
			return 1;
		}
		if (n == 0) {
			t_eof = now_ns();
			break;
		}
		uint64_t t = now_ns();

		if (!t_first)
			t_first = t;
		bytes += (size_t)n;
		if (out_fd >= 0 && write(out_fd, buf + keep, (size_t)n) != n) {
			fprintf(stderr, "first-output: %s: short write\n", out);
			return 1;
		}
		size_t have = keep + (size_t)n;

		for (int i = 0; i < nmarkers; i++)
			if (!marker_t[i] && memmem(buf, have, marker[i], marker_len[i]))
				marker_t[i] = t;
		if (stop && !stopped && memmem(buf, have, stop, strlen(stop))) {
			/* Stop now: the timeout path below sends SIGTERM, then SIGKILL. */
			stopped = 1;
			if (!t_term) {
				kill(pid, SIGTERM);
				t_term = t;
				timeout_ns = t - t0 + 1;
			}
		}
		/* Keep the tail a marker split across two reads needs. */
		keep = have < MAX_MARKER_LEN - 1 ? have : MAX_MARKER_LEN - 1;
		memmove(buf, buf + have - keep, keep);
	}
	close(pfd[0]);
	/* Stdout closed, but the command may still run (a child kept the pipe, or it closed fd 1).
	 */
	for (;;) {
		pid_t w = waitpid(pid, &status, timeout_ns ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			fprintf(stderr, "first-output: waitpid: %s\n", strerror(errno));
			return 1;
		}
		if (w == 0) {
			uint64_t now = now_ns();

			if (!t_term && now >= t0 + timeout_ns) {
				kill(pid, SIGTERM);
				t_term = now;
				timed_out = 1;
			} else if (t_term && now >= t_term + KILL_GRACE_NS) {
				kill(pid, SIGKILL);
				timeout_ns = 0;
			}
			usleep(1000);
		}
	}
	t_exit = now_ns();
	posix_spawn_file_actions_destroy(&fa);

	printf("t0_ns=%llu", (unsigned long long)t0);
	print_ns("first_ns", t_first, t0);
	print_ns("eof_ns", t_eof, t0);
	print_ns("exit_ns", t_exit, t0);
	printf(" status=%d bytes=%zu",
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), bytes);
	for (int i = 0; i < nmarkers; i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%d", i + 1);
		print_ns(name, marker_t[i], t0);
	}
	if (timed_out)
		printf(" timeout=1");
	if (stopped)
		printf(" stopped=1");
	printf("\n");
	return 0;
}
