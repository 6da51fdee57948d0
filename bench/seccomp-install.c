/* seccomp-install.c - what one seccomp(SECCOMP_SET_MODE_FILTER) of kestrel's filters costs, per
 * layout (src/host/seccomp.h: enum seccomp_layout). */

/*
 * usage: seccomp-install [-n ROUNDS]      (default 200)
 *
 * Build (from the top of the tree, after `make`):
 *
 *     mkdir -p build/bench && cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Isrc \
 *         -o build/bench/seccomp-install bench/seccomp-install.c build/libkestrel-internal.a
 *
 * Each round forks one child per filter, in an order that rotates from round
 * to round (interleaved A B C ... B C ... A); each child, under no filter yet
 * as a vCPU thread is when it confines itself, sets
 * PR_SET_NO_NEW_PRIVS, then reads CLOCK_MONOTONIC (vDSO: no syscall) around the
 * one seccomp() call that installs the filter, puts the time in a shared page
 * and exits. Printed per filter: its length, the instructions the kernel's
 * action cache emulates for it (below), and the median, min and max time in us;
 * then the median of the per-round differences between the layouts.
 *
 * The filters: kestrel's vCPU filter as a vCPU thread with an in-kernel
 * irqchip and fast paths to arm builds it (src/core/vcpu.c), and the main
 * thread's (src/core/run.c), each in both layouts; and the vCPU filter with
 * one more instruction in front, a load of an argument ("nocache"), which ends
 * the action cache's emulation at the first instruction for every number while
 * converting and JIT-compiling the same program: time(filter) -
 * time(nocache twin) is what the cache's walk costs for that layout, and
 * time(nocache twin) the rest (copy, checks, conversion to eBPF, JIT).
 *
 * The kernel's part (kernel/seccomp.c, Linux >= 5.11): when a filter is
 * attached (under the sighand lock, interrupts off), seccomp_cache_prepare()
 * runs the classic program once per syscall number of each ABI (x86-64 and the
 * i386 compat table) as far as it can without the arguments, to find the
 * numbers the filter always allows. The "walk" column counts the instructions
 * that emulation executes, for numbers 0..469 of both ABIs (Linux 6.18's
 * tables, approximately): exact and machine-independent, where the times are
 * not.
 *
 * Exit status: 0, 1 when a filter could not be built or installed, 2 usage.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host/seccomp.h"

#define USAGE "usage: seccomp-install [-n ROUNDS]\n"
#define NR_TABLE 470u /* syscall numbers per ABI the cache walks (Linux 6.18, approximately) */
#define PROG_MAX 256u

struct filter {
	const char *name;
	struct sock_filter prog[PROG_MAX];
	int len;
	double *us; /* per round */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * The kernel's seccomp_is_const_allow(), counted: runs p for (nr, arch) as far
 * as it goes without a seccomp_data field other than nr and arch; returns the
 * instructions executed. The seccomp filters kestrel builds use no other
 * instruction than these.
 */
static unsigned cache_walk_one(const struct sock_filter *p, int n, uint32_t nr, uint32_t arch)
{
	uint32_t a = 0;
	unsigned steps = 0;

	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &p[pc];
		int taken;

		steps++;
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k == offsetof(struct seccomp_data, nr))
				a = nr;
			else if (i->k == offsetof(struct seccomp_data, arch))
				a = arch;
			else
				return steps; /* an argument: not constant */
			continue;
		case BPF_RET | BPF_K:
			return steps;
		case BPF_JMP | BPF_JA:
			pc += (int)i->k;
			continue;
		case BPF_JMP | BPF_JEQ | BPF_K:
			taken = a == i->k;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			taken = a >= i->k;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			taken = a > i->k;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			taken = (a & i->k) != 0;
			break;
		default:
			return steps;
		}
		pc += taken ? i->jt : i->jf;
	}
	return steps;
}

static unsigned cache_walk(const struct filter *f)
{
	unsigned steps = 0;

	for (uint32_t nr = 0; nr < NR_TABLE; nr++)
		steps += cache_walk_one(f->prog, f->len, nr, AUDIT_ARCH_X86_64) +
			 cache_walk_one(f->prog, f->len, nr, AUDIT_ARCH_I386);
	return steps;
}

/*
 * The eBPF instructions the kernel's bpf_convert_filter() turns p into, besides
 * its fixed preamble: a load is one, a return two (set R0, exit), a conditional
 * jump one (plus one for an immediate with the top bit set, which goes through
 * a register), or two when neither of its destinations is the next
 * instruction (the condition, then an unconditional jump for "false"; also
 * when only "true" is next and the test is JSET). This is what the JIT
 * compiles, pass after pass.
 */
static unsigned ebpf_len(const struct sock_filter *p, int n)
{
	unsigned len = 0;

	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &p[pc];

		if (BPF_CLASS(i->code) == BPF_RET)
			len += 2;
		else if (BPF_CLASS(i->code) != BPF_JMP || BPF_OP(i->code) == BPF_JA)
			len += 1;
		else
			len += 1 + ((int32_t)i->k < 0) +
			       (i->jf != 0 && (i->jt != 0 || BPF_OP(i->code) == BPF_JSET));
	}
	return len;
}

/* In a child: install f, time the call, leave the time in *out (-1: failed). */
static void child(const struct filter *f, volatile double *out)
{
	struct sock_fprog fp = {.len = (unsigned short)f->len,
				.filter = (struct sock_filter *)f->prog};
	double t0, t1;
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(1);
	t0 = now_us();
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp);
	t1 = now_us();
	*out = r == 0 ? t1 - t0 : -1;
	_exit(0); /* exit_group: allowed by every filter here */
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n, double *min, double *max)
{
	double *s = malloc(sizeof(*s) * (size_t)n), m;

	if (!s)
		return 0;
	memcpy(s, v, sizeof(*s) * (size_t)n);
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	if (min)
		*min = s[0];
	if (max)
		*max = s[n - 1];
	free(s);
	return m;
}

/* The median of a[i] - b[i] over the rounds. */
static double median_diff(const double *a, const double *b, int n)
{
	double *d = malloc(sizeof(*d) * (size_t)n), m;

	if (!d)
		return 0;
	for (int i = 0; i < n; i++)
		d[i] = a[i] - b[i];
	m = median(d, n, NULL, NULL);
	free(d);
	return m;
}

enum {
	V_LINEAR,
	V_TREE,
	V_LINEAR_NOCACHE,
	V_TREE_NOCACHE,
	M_LINEAR,
	M_TREE,
	M0_LINEAR,
	M0_TREE,
	NFILTERS
};

int main(int argc, char **argv)
{
	static struct filter f[NFILTERS] = {
	    [V_LINEAR] = {.name = "vcpu linear"},
	    [V_TREE] = {.name = "vcpu tree"},
	    [V_LINEAR_NOCACHE] = {.name = "vcpu linear nocache"},
	    [V_TREE_NOCACHE] = {.name = "vcpu tree nocache"},
	    [M_LINEAR] = {.name = "main linear"},
	    [M_TREE] = {.name = "main tree"},
	    [M0_LINEAR] = {.name = "main+vcpu0 linear"},
	    [M0_TREE] = {.name = "main+vcpu0 tree"},
	};
	/* fds as a vCPU thread of a one-vCPU `kestrel run` has them; any values do. */
	struct seccomp_vcpu_ctx vc = {
	    .vcpu_fd = 12,
	    .vm_fd = 11,
	    .vm_ioctls = {KVM_IRQ_LINE, KVM_REGISTER_COALESCED_MMIO, KVM_IOEVENTFD},
	    .write_fds = {1, -1, 10, 2},
	    .pid = getpid(),
	    .kick_signal = SIGRTMIN + 1,
	};
	struct seccomp_main_ctx mc = {.pid = getpid(), .kick_signal = SIGRTMIN + 1, .vm_fd = 11};
	/* the caller's thread running vCPU 0 (no full irqchip, a fast path to arm) */
	struct seccomp_main_ctx m0 = {.pid = getpid(),
				      .kick_signal = SIGRTMIN + 1,
				      .vm_fd = -1,
				      .vcpu_fd = 12,
				      .fast_arm = true};
	struct utsname u;
	double load[3] = {0};
	volatile double *slot;
	int rounds = 200, opt;
	FILE *la;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n' || (rounds = atoi(optarg)) < 1) {
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}

	f[V_LINEAR].len =
	    seccomp_vcpu_filter_layout(&vc, SECCOMP_LAYOUT_LINEAR, f[V_LINEAR].prog, PROG_MAX);
	f[V_TREE].len =
	    seccomp_vcpu_filter_layout(&vc, SECCOMP_LAYOUT_TREE, f[V_TREE].prog, PROG_MAX);
	f[M_LINEAR].len =
	    seccomp_main_filter_layout(&mc, SECCOMP_LAYOUT_LINEAR, f[M_LINEAR].prog, PROG_MAX);
	f[M_TREE].len =
	    seccomp_main_filter_layout(&mc, SECCOMP_LAYOUT_TREE, f[M_TREE].prog, PROG_MAX);
	f[M0_LINEAR].len =
	    seccomp_main_filter_layout(&m0, SECCOMP_LAYOUT_LINEAR, f[M0_LINEAR].prog, PROG_MAX);
	f[M0_TREE].len =
	    seccomp_main_filter_layout(&m0, SECCOMP_LAYOUT_TREE, f[M0_TREE].prog, PROG_MAX);
	for (int i = V_LINEAR; i <= V_TREE; i++) {
		struct filter *twin = &f[i + V_LINEAR_NOCACHE];

		if (f[i].len < 0 || f[i].len + 1 > (int)PROG_MAX)
			break;
		twin->prog[0] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
							     offsetof(struct seccomp_data, args));
		memcpy(&twin->prog[1], f[i].prog, sizeof(f[i].prog[0]) * (size_t)f[i].len);
		twin->len = f[i].len + 1;
	}
	for (int i = 0; i < NFILTERS; i++) {
		if (f[i].len <= 0) {
			fprintf(stderr, "seccomp-install: %s: could not build the filter (%d)\n",
				f[i].name, f[i].len);
			return 1;
		}
		if (!(f[i].us = calloc((size_t)rounds, sizeof(double)))) {
			perror("seccomp-install: calloc");
			return 1;
		}
	}
	slot = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (slot == MAP_FAILED) {
		perror("seccomp-install: mmap");
		return 1;
	}

	for (int r = 0; r < rounds; r++) {
		for (int j = 0; j < NFILTERS; j++) {
			int i = (r + j) % NFILTERS, st;
			pid_t pid;

			*slot = -1;
			pid = fork();
			if (pid < 0) {
				perror("seccomp-install: fork");
				return 1;
			}
			if (pid == 0)
				child(&f[i], slot);
			if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
			    *slot < 0) {
				fprintf(stderr,
					"seccomp-install: %s: install failed (status %#x)\n",
					f[i].name, st);
				return 1;
			}
			f[i].us[r] = *slot;
		}
	}

	uname(&u);
	if ((la = fopen("/proc/loadavg", "r"))) {
		if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
			load[0] = load[1] = load[2] = 0;
		fclose(la);
	}
	printf("seccomp-install: %d rounds, one fork per filter each, interleaved; "
	       "seccomp(SECCOMP_SET_MODE_FILTER) timed in the child\n",
	       rounds);
	printf("host: %s %s, %ld CPUs, load average after %.2f %.2f %.2f\n\n", u.sysname, u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
	printf("%-22s %6s %6s %10s %10s %10s %10s\n", "filter", "insns", "eBPF", "cache walk",
	       "median us", "min us", "max us");
	for (int i = 0; i < NFILTERS; i++) {
		double lo, hi, m = median(f[i].us, rounds, &lo, &hi);

		printf("%-22s %6d %6u %10u %10.1f %10.1f %10.1f\n", f[i].name, f[i].len,
		       ebpf_len(f[i].prog, f[i].len), cache_walk(&f[i]), m, lo, hi);
	}
	printf("\nmedian of per-round differences (us):\n");
	printf("  vcpu linear - vcpu tree                     %8.1f\n",
	       median_diff(f[V_LINEAR].us, f[V_TREE].us, rounds));
	printf("  main linear - main tree                     %8.1f\n",
	       median_diff(f[M_LINEAR].us, f[M_TREE].us, rounds));
	printf("  main+vcpu0 linear - main+vcpu0 tree         %8.1f\n",
	       median_diff(f[M0_LINEAR].us, f[M0_TREE].us, rounds));
	printf("  cache walk, vcpu linear (- its nocache twin) %7.1f\n",
	       median_diff(f[V_LINEAR].us, f[V_LINEAR_NOCACHE].us, rounds));
	printf("  cache walk, vcpu tree (- its nocache twin)   %7.1f\n",
	       median_diff(f[V_TREE].us, f[V_TREE_NOCACHE].us, rounds));
	printf("  the rest, vcpu linear nocache - tree nocache %7.1f\n",
	       median_diff(f[V_LINEAR_NOCACHE].us, f[V_TREE_NOCACHE].us, rounds));
	return 0;
}
