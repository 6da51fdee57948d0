/* test_stall.c - a console nobody reads cannot hold up a stop: kestrel_vm_run's timeout and
 * kestrel_vm_stop still end the run, and kestrel_vm_run returns. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "kestrel/kestrel.h"

/*
 * Usage: test_stall [DIR]  (guests folder: default $GUESTS, else build/guests)
 * The console is a pipe whose read end stays open and is never read (the
 * library user who reads it only after the run); console-flood fills it in a
 * few milliseconds. Before the console writer thread, the vCPU sat in write(2)
 * and kestrel_vm_run(vm, 3000, ...) never returned.
 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct runner {
	struct kestrel_vm *vm;
	uint64_t timeout_ms;
	struct kestrel_exit ex;
	int r;
	volatile int done;
};

static void *run_vm(void *arg)
{
	struct runner *rn = arg;
	struct kestrel_error err = {0};

	rn->r = kestrel_vm_run(rn->vm, rn->timeout_ms, &rn->ex, &err);
	rn->done = 1;
	return NULL;
}

/* One run on a stalled pipe; `stop_after` > 0: kestrel_vm_stop after that many s.
 * Waits at most 20 s for kestrel_vm_run to return (a hang is a failure, not a hung test:
 * the thread is left behind and the process exits). */
static void one_run(const char *guest, uint64_t timeout_ms, double stop_after, const char *what)
{
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct runner rn = {.timeout_ms = timeout_ms};
	pthread_t t;
	int p[2];
	double t0, el;
	bool stopped = false;

	if (!TAP_OK(pipe(p) == 0, "%s: pipe", what))
		return;
	kestrel_config_init(&cfg);
	cfg.console_fd = p[1];
	if (!TAP_OK(kestrel_vm_create(&cfg, &rn.vm, &err) == 0 &&
			kestrel_vm_load_elf_file(rn.vm, guest, &err) == 0,
		    "%s: VM with %s", what, guest)) {
		tap_diag("%s", err.msg);
		return;
	}
	t0 = now_s();
	pthread_create(&t, NULL, run_vm, &rn);
	while (!rn.done && now_s() - t0 < 20) {
		if (stop_after > 0 && !stopped && now_s() - t0 >= stop_after) {
			kestrel_vm_stop(rn.vm, SIGTERM);
			stopped = true;
		}
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	el = now_s() - t0;
	if (!TAP_OK(rn.done, "%s: kestrel_vm_run returned (%.1f s; hung in write(2) before)", what,
		    el)) {
		printf("1..%u\n", tap_count_);
		_exit(1);
	}
	pthread_join(t, NULL);
	if (timeout_ms)
		TAP_OK(rn.r == 0 && rn.ex.kind == KESTREL_EXIT_TIMEOUT,
		       "%s: the run ended by its timeout (kind %d)", what, rn.ex.kind);
	else
		TAP_OK(rn.r == 0 && rn.ex.kind == KESTREL_EXIT_STOPPED && rn.ex.status == SIGTERM,
		       "%s: the run ended by kestrel_vm_stop (kind %d)", what, rn.ex.kind);
	/* The pipe still holds what the writer got in before it stalled, from the start. */
	{
		char buf[32] = "";
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		TAP_OK(read(p[0], buf, 13) == 13 && !memcmp(buf, "console-flood", 13),
		       "%s: the pipe holds the guest's first bytes", what);
	}
	kestrel_vm_destroy(rn.vm);
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	char guest[4096];
	const char *dir = argc > 1 ? argv[1] : getenv("GUESTS");

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("# !!!!!!!! no usable /dev/kvm: the stalled-console test is SKIPPED "
		       "!!!!!!!!\n");
		printf("ok 1 - stalled console # SKIP no usable /dev/kvm\n1..1\n");
		return getenv("CI") && !strcmp(getenv("CI"), "true") ? 1 : 0;
	}
	snprintf(guest, sizeof(guest), "%s/console-flood.elf", dir ? dir : "build/guests");
	one_run(guest, 3000, 0, "timeout 3000 ms, pipe never read");
	one_run(guest, 0, 1.0, "kestrel_vm_stop after 1 s, pipe never read");
	return tap_done();
}
