/* test_confine.c - while a VM runs, its vCPU threads (and only they) are under seccomp;
 * --no-seccomp leaves them free. */
#include <dirent.h>
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
 * Usage: test_confine [DIR]  (guests folder: default $GUESTS, else build/guests)
 * Runs the `spin` guest (no exits at all) on 2 vCPUs from a helper thread
 * and reads /proc/self/task/<tid>/status while it spins: the threads the
 * library started (the vCPUs and the console writer) must show "Seccomp: 2" (filter mode) and
 * NoNewPrivs 1, the rest of the process "Seccomp: 0". test_seccomp (unit) shows that the same
 * filter kills a forbidden call; this shows the running VMM has it.
 */
#define NCPUS 2

struct runner {
	struct kestrel_vm *vm;
	struct kestrel_exit ex;
	int r;
};

static void *run_vm(void *arg)
{
	struct runner *rn = arg;
	struct kestrel_error err = {0};

	rn->r = kestrel_vm_run(rn->vm, 20000, &rn->ex, &err);
	return NULL;
}

/* A "Key:\tvalue" line of a task's status file, as a number (-1 if absent). */
static long task_field(const char *tid, const char *key)
{
	char path[300], line[256];
	size_t kl = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtol(line + kl + 1, NULL, 10);
	fclose(f);
	return v;
}

static int task_is_ours(const char *tid, const char *comm)
{
	char path[300], name[64] = "";
	FILE *f;

	/* KVM may add kernel worker tasks to the process (kvm-nx-lpage-recovery);
	 * they run no user code, so only tasks with our own name count. */
	snprintf(path, sizeof(path), "/proc/self/task/%s/comm", tid);
	if (!(f = fopen(path, "r")))
		return 0;
	if (!fgets(name, sizeof(name), f))
		name[0] = '\0';
	fclose(f);
	name[strcspn(name, "\n")] = '\0';
	return !strcmp(name, comm);
}

/* Counts our tasks by seccomp mode; *self_mode is the main thread's. */
static void census(const char *comm, int *filtered, int *free_, int *nnp, long *self_mode)
{
	char self[32];
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;

	snprintf(self, sizeof(self), "%d", getpid());
	*filtered = *free_ = *nnp = 0;
	*self_mode = -1;
	while (d && (e = readdir(d))) {
		long mode;
		if (e->d_name[0] == '.' || !task_is_ours(e->d_name, comm))
			continue;
		mode = task_field(e->d_name, "Seccomp");
		if (!strcmp(e->d_name, self))
			*self_mode = mode;
		if (mode == 2) {
			++*filtered;
			*nnp += task_field(e->d_name, "NoNewPrivs") == 1;
		} else {
			++*free_;
		}
	}
	if (d)
		closedir(d);
}

/* The console: a pipe (a consumer that can stall: the run gets a writer
 * thread) or /dev/null (written in place, no writer thread: console.h). */
static void one_run(const char *guest, const char *comm, bool no_seccomp, bool to_pipe)
{
	struct kestrel_config cfg;
	struct kestrel_error err = {0};
	struct runner rn = {0};
	pthread_t t;
	int filtered = 0, free_ = 0, nnp = 0, p[2] = {-1, -1}, con;
	int writer = to_pipe ? 1 : 0;
	long self_mode = -1;
	const char *how = no_seccomp ? "no_seccomp" : to_pipe ? "default" : "default, /dev/null";

	if (to_pipe && pipe2(p, O_CLOEXEC) < 0)
		p[0] = p[1] = -1;
	con = to_pipe ? p[1] : open("/dev/null", O_WRONLY | O_CLOEXEC);
	kestrel_config_init(&cfg);
	cfg.ncpus = NCPUS;
	cfg.console_fd = con;
	cfg.no_seccomp = no_seccomp;
	if (!TAP_OK(kestrel_vm_create(&cfg, &rn.vm, &err) == 0 &&
			kestrel_vm_load_elf_file(rn.vm, guest, &err) == 0,
		    "%s: VM with %s on %d vCPUs", how, guest, NCPUS)) {
		tap_diag("%s", err.msg);
		kestrel_vm_destroy(rn.vm);
		close(con);
		if (p[0] >= 0)
			close(p[0]);
		return;
	}
	pthread_create(&t, NULL, run_vm, &rn);
	/* The vCPU threads confine themselves right before their first KVM_RUN;
	 * give them up to 5 s to get there. */
	for (int i = 0; i < 500; i++) {
		census(comm, &filtered, &free_, &nnp, &self_mode);
		if (no_seccomp ? free_ >= 2 + NCPUS : filtered >= NCPUS + writer)
			break;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
	kestrel_vm_stop(rn.vm, SIGTERM);
	pthread_join(t, NULL);
	if (no_seccomp) {
		TAP_EQ_INT(filtered, 0, "no_seccomp: no thread is under a filter");
		TAP_OK(free_ >= 2 + NCPUS,
		       "no_seccomp: the %d vCPU threads were seen running (%d threads)", NCPUS,
		       free_);
	} else {
		TAP_EQ_INT(filtered, NCPUS + writer,
			   "%s: exactly the %d vCPU threads%s run under seccomp (mode 2)", how,
			   NCPUS, to_pipe ? " and the console writer" : " (no console writer)");
		TAP_EQ_INT(nnp, NCPUS + writer, "%s: and have no_new_privs set", how);
		TAP_EQ_INT(self_mode, 0, "%s: the main thread is not confined", how);
		TAP_EQ_INT(free_, 2, "%s: nor is the thread that called kestrel_vm_run", how);
	}
	TAP_OK(rn.r == 0 && rn.ex.kind == KESTREL_EXIT_STOPPED && rn.ex.status == SIGTERM,
	       "%s: kestrel_vm_stop ends the spinning VM cleanly (kind %d, status %d)", how,
	       rn.ex.kind, rn.ex.status);
	kestrel_vm_destroy(rn.vm);
	close(con);
	if (p[0] >= 0)
		close(p[0]);
}

int main(int argc, char **argv)
{
	char guest[4096], comm[64] = "";
	const char *dir = argc > 1 ? argv[1] : getenv("GUESTS");
	FILE *f;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("# !!!!!!!! no usable /dev/kvm: the seccomp confinement test is SKIPPED "
		       "!!!!!!!!\n");
		printf("ok 1 - vCPU threads under seccomp # SKIP no usable /dev/kvm\n1..1\n");
		return getenv("CI") && !strcmp(getenv("CI"), "true") ? 1 : 0;
	}
	snprintf(guest, sizeof(guest), "%s/spin.elf", dir ? dir : "build/guests");
	if ((f = fopen("/proc/self/comm", "r"))) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	one_run(guest, comm, false, true);
	one_run(guest, comm, false, false);
	one_run(guest, comm, true, true);
	return tap_done();
}
