/* test_churn.c - create, load, run and destroy a VM 1000 times in one process: no fd, thread,
 * mapping or RSS growth. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../unit/tap.h"
#include "kestrel/kestrel.h"

/*
 * Usage: test_churn [GUEST.elf]   (default $GUESTS/hello.elf, else build/guests/hello.elf)
 * KESTREL_CHURN=N changes the number of VMs (default 1000).
 *
 * File descriptors and threads must be back to their starting count after
 * every single VM. Memory is compared after a warm-up, when glibc's arenas
 * and the kernel's per-process KVM state have settled: RSS and the size of
 * the address space (which catches a leaked guest-RAM mapping that was never
 * touched, invisible in RSS) may not grow by more than a small fixed slack.
 * Under AddressSanitizer the memory checks are skipped (its quarantine holds
 * freed memory on purpose); LeakSanitizer checks the heap at exit instead.
 */
#define CHURN_DEFAULT 1000
#define WARMUP 50
#define RSS_SLACK_KB 2048 /* well under one leaked 64 MiB guest or one vCPU stack per run */
#define VSZ_SLACK_KB 4096

#if defined(__SANITIZE_ADDRESS__)
#define CHURN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHURN_ASAN 1
#endif
#endif
#ifndef CHURN_ASAN
#define CHURN_ASAN 0
#endif

static long count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* A "Name:   value kB" (or plain number) line of /proc/self/status. */
static long proc_status(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* One VM's whole life. Returns 0 when the guest exited 0, else -1 with why. */
static int churn_once(const char *guest, int devnull, char *why, size_t whylen)
{
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct kestrel_exit ex = {0};
	struct kestrel_vm *vm = NULL;
	int r;

	kestrel_config_init(&cfg);
	cfg.console_fd = devnull;
	cfg.log_fd = devnull;
	r = kestrel_vm_create(&cfg, &vm, &err);
	if (r == 0)
		r = kestrel_vm_load_elf_file(vm, guest, &err);
	if (r == 0)
		r = kestrel_vm_run(vm, 10000, &ex, &err);
	kestrel_vm_destroy(vm);
	if (r < 0) {
		snprintf(why, whylen, "%s", err.msg);
		return -1;
	}
	if (ex.kind != KESTREL_EXIT_GUEST || ex.status != 0) {
		snprintf(why, whylen, "exit kind %d status %d: %s", ex.kind, ex.status, ex.reason);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096], why[600] = "";
	const char *guest = argc > 1 ? argv[1] : NULL, *env;
	long n = CHURN_DEFAULT, bad_runs = 0, fd_bad = 0, thr_bad = 0;
	long fds0, rss_w = 0, vsz_w = 0, rss_max = 0, vsz_max = 0;
	double t0, t_warm = 0, t1;
	int devnull;

	if (!guest) {
		env = getenv("GUESTS");
		snprintf(path, sizeof(path), "%s/hello.elf", env ? env : "build/guests");
		guest = path;
	}
	if ((env = getenv("KESTREL_CHURN")))
		n = strtol(env, NULL, 10);
	if (n <= WARMUP)
		n = WARMUP + 1;
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("# !!!!!!!! no usable /dev/kvm: the VM churn test is SKIPPED !!!!!!!!\n");
		printf("ok 1 - create/run/destroy churn # SKIP no usable /dev/kvm\n");
		tap_count_ = 1;
		printf("1..1\n");
		if (getenv("CI") && !strcmp(getenv("CI"), "true")) {
			printf(
			    "# CI=true: a CI machine must have /dev/kvm, so this is a failure.\n");
			return 1;
		}
		return 0;
	}
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fds0 = count_fds();
	TAP_OK(devnull >= 0 && fds0 > 0, "setup: /dev/null open, %ld fds to start with", fds0);

	t0 = now_s();
	for (long i = 0; i < n; i++) {
		char w[512];
		long fds, thr;

		if (churn_once(guest, devnull, w, sizeof(w)) < 0) {
			if (!bad_runs++)
				snprintf(why, sizeof(why), "VM %ld: %s", i, w);
		}
		fds = count_fds();
		thr = proc_status("Threads");
		/* pthread_join() returns once the kernel has cleared the thread's
		 * tid, a moment before the task leaves the thread group that
		 * /proc counts: give an exiting thread up to 1 s to go, so only a
		 * thread that stays is reported as left behind. */
		for (int wait = 0; thr != 1 && wait < 1000; wait++) {
			usleep(1000);
			thr = proc_status("Threads");
		}
		if (fds != fds0 && !fd_bad++)
			tap_diag("after VM %ld: %ld fds open, %ld before the first", i, fds, fds0);
		if (thr != 1 && !thr_bad++)
			tap_diag("after VM %ld: %ld threads, expected 1", i, thr);
		if (i == WARMUP - 1) {
			rss_w = proc_status("VmRSS");
			vsz_w = proc_status("VmSize");
			t_warm = now_s();
		}
		if (i >= WARMUP) {
			long rss = proc_status("VmRSS"), vsz = proc_status("VmSize");
			if (rss > rss_max)
				rss_max = rss;
			if (vsz > vsz_max)
				vsz_max = vsz;
		}
		/* Stop early on a systematic failure rather than take minutes to say so. */
		if (bad_runs > 10 || fd_bad > 10)
			break;
	}
	t1 = now_s();

	if (!TAP_OK(bad_runs == 0,
		    "%ld VMs created, loaded with %s, run and destroyed: every guest exited 0", n,
		    guest))
		tap_diag("%ld failed; first: %s", bad_runs, why);
	TAP_OK(fd_bad == 0, "open fds back to %ld after every VM", fds0);
	TAP_OK(thr_bad == 0, "no vCPU thread left behind after any VM");
	tap_diag("VmRSS %ld kB after %d VMs, at most %ld kB after; VmSize %ld kB, at most %ld kB",
		 rss_w, WARMUP, rss_max, vsz_w, vsz_max);
	tap_diag("%ld VMs in %.1f s (%.2f ms each after warm-up)", n, t1 - t0,
		 (t1 - t_warm) * 1000.0 / (double)(n - WARMUP));
	if (CHURN_ASAN) {
		printf("ok %u - RSS does not grow # SKIP AddressSanitizer's quarantine keeps freed "
		       "memory\n",
		       ++tap_count_);
		printf("ok %u - address space does not grow # SKIP AddressSanitizer build\n",
		       ++tap_count_);
	} else {
		TAP_OK(rss_max - rss_w <= RSS_SLACK_KB,
		       "RSS grows by %ld kB over %ld VMs after warm-up (slack %d kB)",
		       rss_max - rss_w, n - WARMUP, RSS_SLACK_KB);
		TAP_OK(vsz_max - vsz_w <= VSZ_SLACK_KB,
		       "address space grows by %ld kB over %ld VMs after warm-up (slack %d kB)",
		       vsz_max - vsz_w, n - WARMUP, VSZ_SLACK_KB);
	}
	close(devnull);
	return tap_done();
}
