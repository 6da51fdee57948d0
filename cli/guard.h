/* guard.h - what the kestrel command does against a hostile environment: closed std fds,
 * odd signals, a --stats-json target that is not a plain file. */
#ifndef KESTREL_CLI_GUARD_H
#define KESTREL_CLI_GUARD_H

#include <stdbool.h>
#include <stdio.h>

/*
 * guard_std_fds - open /dev/null on each of fds 0, 1 and 2 that is closed, so
 * nothing kestrel opens later (the --stats-json file, /dev/kvm) becomes the
 * guest's console or kestrel's stderr. Call first thing in main(). 0, or -1
 * when /dev/null cannot be opened (then nothing is safe to run).
 */
int guard_std_fds(void);

/*
 * guard_ignore_signals - SIGPIPE and SIGXFSZ are ignored: a closed pipe or
 * `ulimit -f` makes a write fail (EPIPE, EFBIG) instead of killing kestrel
 * before it reports the guest's status.
 */
void guard_ignore_signals(void);

/*
 * The signals that stop a running VM cleanly (the stop handler is installed
 * only while kestrel_vm_run runs): SIGINT, SIGTERM, SIGHUP (a closed
 * terminal), SIGQUIT, SIGUSR1, SIGALRM. Status 128 + the signal number.
 */
extern const int guard_stop_signals[6];

/*
 * A --stats-json report that appears whole or not at all: guard_report_open()
 * (before the boot) refuses a target that exists and is not a regular file
 * (a FIFO with no reader would hang), creates a temporary file in the same
 * folder and returns it; "-" is the stream `dash` (stdout for --stats-json). guard_report_commit()
 * closes it and has it renamed onto the target (ok) or removed (!ok, or a failed write) by a helper
 * process forked at open time, so that it works from a thread under seccomp (no rename there).
 * Returns 0 or -errno; *why says what was wrong. guard_report_send() + guard_report_wait() are
 * its two halves, for a caller with other work to do while the helper renames (the VM's
 * teardown): send closes the file and tells the helper, wait collects its answer; wait gets
 * send's result and returns the first error of the two.
 */
struct guard_report {
	FILE *f;
	const char *path;
	char tmp[4096 + 32];
	bool is_stdout;
	int helper;    /* pid of the process that renames at the end (guard.c) */
	int helper_fd; /* its command pipe */
	char cmd;      /* what guard_report_send told it ('c' rename, 'a' remove); 0: not yet */
};
int guard_report_open(struct guard_report *r, const char *path, FILE *dash, char *why, size_t len);
int guard_report_commit(struct guard_report *r, bool ok);
int guard_report_send(struct guard_report *r, bool ok);
int guard_report_wait(struct guard_report *r, int sent);

#endif
