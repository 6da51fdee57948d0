/* seccomp.c - build and install the classic-BPF seccomp filter for vCPU threads (raw BPF, no
 * libseccomp). */
#include "host/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* seccomp_data offsets; arguments are 64-bit, little-endian: low word first. */
#define SC_NR offsetof(struct seccomp_data, nr)
#define SC_ARCH offsetof(struct seccomp_data, arch)
#define SC_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define SC_ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)

#define SC_X32_BIT 0x40000000u /* __X32_SYSCALL_BIT */
#define SC_KILL SECCOMP_RET_KILL_PROCESS
#define SC_ALLOW SECCOMP_RET_ALLOW

/* Calls allowed whatever their arguments. */
static const unsigned seccomp_plain[] = {
    __NR_futex,
    __NR_getpid,
    __NR_gettid,
    __NR_rt_sigprocmask,
    __NR_rt_sigreturn,
    __NR_restart_syscall,
    __NR_clock_gettime,
    __NR_munmap,
    __NR_brk,
    __NR_sigaltstack,
    __NR_exit,
    __NR_exit_group,
    /* Spin-lock back-off: glibc does not need it, but sanitizer runtimes do
     * (an ASan build was killed on it when a vCPU exited while another ran). */
    __NR_sched_yield,
};

/* vCPU ioctls the run loop, the register cache and crash reports use; one a
 * line, as the policy is read (clang-format would pack them). */
/* clang-format off */
static const uint32_t seccomp_ioctls[] = {
    KVM_RUN,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_GET_FPU,
    KVM_SET_FPU,
    KVM_GET_VCPU_EVENTS,
    KVM_SET_VCPU_EVENTS,
    KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS,
    KVM_GET_MSRS,
    KVM_SET_MSRS,
    KVM_TRANSLATE,
    KVM_GET_XCRS,
};
/* clang-format on */

static int seccomp_install(struct sock_filter *prog, int n);

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A tiny emitter: instructions go to prog[n++]; overflowing cap is noted, not written (so
 * cap 0 only counts). */
struct bpf_out {
	struct sock_filter *prog;
	unsigned n, cap;
	int err; /* -E2BIG: a jump past classic BPF's 8 bits; -EINVAL: a number listed twice */
	enum seccomp_layout layout;
};

static unsigned emit(struct bpf_out *o, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (o->n < o->cap)
		o->prog[o->n] = (struct sock_filter){code, jt, jf, k};
	return o->n++;
}

static void ld(struct bpf_out *o, uint32_t off)
{
	emit(o, BPF_LD | BPF_W | BPF_ABS, 0, 0, off);
}

static void ret(struct bpf_out *o, uint32_t action)
{
	emit(o, BPF_RET | BPF_K, 0, 0, action);
}

/* "if A == k return ALLOW" */
static void allow_if(struct bpf_out *o, uint32_t k)
{
	emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, k);
	ret(o, SC_ALLOW);
}

/* "if A != k return KILL" */
static void kill_unless(struct bpf_out *o, uint32_t k)
{
	emit(o, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, k);
	ret(o, SC_KILL);
}

/*
 * "return ALLOW if A is one of k[0..n), else KILL". SECCOMP_LAYOUT_LINEAR tests
 * them one by one, each test with its own return (the layout before issue 16);
 * SECCOMP_LAYOUT_TREE's tests share one return: a third to a half of the
 * instructions once the kernel converts them to eBPF (a return is two there,
 * and so is a test of a constant with the top bit set, as most ioctl numbers
 * have).
 */
static void allow_one_of(struct bpf_out *o, const uint32_t *k, unsigned n)
{
	if (o->layout == SECCOMP_LAYOUT_LINEAR) {
		for (unsigned i = 0; i < n; i++)
			allow_if(o, k[i]);
		ret(o, SC_KILL);
		return;
	}
	if (n > 255) {
		o->err = -E2BIG;
		return;
	}
	for (unsigned i = 0; i < n; i++) /* jump over the other tests and the KILL */
		emit(o, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(n - i), 0, k[i]);
	ret(o, SC_KILL);
	if (n > 0)
		ret(o, SC_ALLOW);
}

/*
 * "return ALLOW if A is one of k[0..n), else go on after these tests" (A kept).
 * SECCOMP_LAYOUT_LINEAR: allow_if each; SECCOMP_LAYOUT_TREE: the tests share
 * one return, the last test's "no" jumps over it.
 */
static void allow_any_of(struct bpf_out *o, const uint32_t *k, unsigned n)
{
	if (o->layout == SECCOMP_LAYOUT_LINEAR || n == 0) {
		for (unsigned i = 0; i < n; i++)
			allow_if(o, k[i]);
		return;
	}
	if (n > 255) {
		o->err = -E2BIG;
		return;
	}
	for (unsigned i = 0; i + 1 < n; i++) /* jump over the other tests to the ALLOW */
		emit(o, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(n - 1 - i), 0, k[i]);
	emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, k[n - 1]);
	ret(o, SC_ALLOW);
}

/* A conditional jump emitted at o->n to the instructions at t (taken) and f (not taken):
 * classic BPF jumps only forward, at most 255 instructions. */
static void jump(struct bpf_out *o, uint16_t op, uint32_t k, unsigned t, unsigned f)
{
	unsigned next = o->n + 1;

	if (t < next || f < next || t - next > 255 || f - next > 255) {
		o->err = -E2BIG;
		t = f = next;
	}
	emit(o, BPF_JMP | op | BPF_K, (uint8_t)(t - next), (uint8_t)(f - next), k);
}

/*
 * A filter is a policy and a layout. The policy is a table of rules: a syscall
 * number, and either nothing (allowed whatever its arguments) or a body that
 * checks the arguments and always returns; a number without a rule is killed.
 * A body starts with A = nr and may clobber it. The layout is how the program
 * reaches a number's rule (seccomp_layout in seccomp.h).
 */
typedef void (*rule_body)(struct bpf_out *o, const void *ctx);

struct rule {
	uint32_t nr;
	rule_body body; /* NULL: allowed whatever its arguments */
};

/* ---- the bodies ---- */

/*
 * mmap, mprotect and madvise, for both filters: nothing executable (prot is a
 * full 64-bit argument), mmap only private and anonymous (no file, no shared
 * mapping: neither /dev/kvm's fds nor the image can be mapped again), madvise
 * only the advice allocators give (no MADV_HWPOISON, MADV_REMOVE, MADV_DONTFORK...).
 */
static void mmap_body(struct bpf_out *o, const void *ctx)
{
	ld(o, SC_ARG_HI(2));
	kill_unless(o, 0);
	ld(o, SC_ARG_LO(2));
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, PROT_EXEC);
	ret(o, SC_KILL);
	ld(o, SC_ARG_LO(3));
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, MAP_SHARED); /* MAP_SHARED_VALIDATE too */
	ret(o, SC_KILL);
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 1, 0, MAP_ANONYMOUS);
	ret(o, SC_KILL);
	ret(o, SC_ALLOW);
}

static void mprotect_body(struct bpf_out *o, const void *ctx)
{
	ld(o, SC_ARG_HI(2));
	kill_unless(o, 0);
	ld(o, SC_ARG_LO(2));
	emit(o, BPF_JMP | BPF_JSET | BPF_K, 0, 1, PROT_EXEC);
	ret(o, SC_KILL);
	ret(o, SC_ALLOW);
}

static void madvise_body(struct bpf_out *o, const void *ctx)
{
	static const uint32_t advice[] = {MADV_DONTNEED,   MADV_FREE,	  MADV_HUGEPAGE,
					  MADV_NOHUGEPAGE, MADV_DONTDUMP, MADV_DODUMP};

	ld(o, SC_ARG_HI(2));
	kill_unless(o, 0);
	ld(o, SC_ARG_LO(2));
	allow_one_of(o, advice, ARRAY_LEN(advice));
}

/* ioctl(own vCPU fd, one of the listed requests), or ioctl(the VM fd, one of
 * c->vm_ioctls): devices' interrupt lines, fast paths armed on first use. The
 * kernel takes both as 32-bit values, so the low words are what it acts on. */
static void vcpu_ioctl_body(struct bpf_out *o, const void *ctx)
{
	const struct seccomp_vcpu_ctx *c = ctx;

	ld(o, SC_ARG_LO(0));
	if (c->vm_fd > 0) {
		uint32_t vm[ARRAY_LEN(c->vm_ioctls)];
		unsigned nvm = 0, skip;

		for (unsigned i = 0; i < ARRAY_LEN(c->vm_ioctls); i++)
			if (c->vm_ioctls[i])
				vm[nvm++] = c->vm_ioctls[i];
		/* if fd != vm_fd skip the VM block (patched below) */
		skip = emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)c->vm_fd);
		ld(o, SC_ARG_LO(1));
		allow_one_of(o, vm, nvm);
		if (skip < o->cap)
			o->prog[skip].jf = (uint8_t)(o->n - skip - 1);
	}
	kill_unless(o, (uint32_t)c->vcpu_fd);
	ld(o, SC_ARG_LO(1));
	allow_one_of(o, seccomp_ioctls, ARRAY_LEN(seccomp_ioctls));
}

/* write/writev(one of the known fds, ...) */
static void vcpu_write_body(struct bpf_out *o, const void *ctx)
{
	const struct seccomp_vcpu_ctx *c = ctx;
	uint32_t fds[ARRAY_LEN(c->write_fds)];
	unsigned n = 0;

	for (unsigned i = 0; i < ARRAY_LEN(c->write_fds); i++)
		if (c->write_fds[i] >= 0)
			fds[n++] = (uint32_t)c->write_fds[i];
	ld(o, SC_ARG_LO(0));
	allow_one_of(o, fds, n);
}

/* tgkill(this process, any thread, the kick signal): vm_stop's pthread_kill. */
static void vcpu_tgkill_body(struct bpf_out *o, const void *ctx)
{
	const struct seccomp_vcpu_ctx *c = ctx;

	ld(o, SC_ARG_LO(0));
	kill_unless(o, (uint32_t)c->pid);
	ld(o, SC_ARG_LO(2));
	kill_unless(o, (uint32_t)c->kick_signal);
	ret(o, SC_ALLOW);
}

/* The main thread's ioctl: only what the reports ask of KVM after a run, and the
 * UART's interrupt line on the VM fd (console input arrives on this thread; its
 * console tick drains THR writes, which may raise THRE). With vCPU 0 on this
 * thread (c->vcpu_fd), also what a vCPU thread may ask on that fd, and with
 * c->fast_arm KVM_REGISTER_COALESCED_MMIO (the UART's zone armed on use). */
static void main_ioctl_body(struct bpf_out *o, const void *ctx)
{
	static const uint32_t reports[] = {
	    KVM_CHECK_EXTENSION, KVM_GET_STATS_FD,
	    /* Teardown (kestrel_vm_destroy): the doorbell's ioeventfd and the
	     * console's coalesced zone are unregistered before the fds close. */
	    KVM_IOEVENTFD, KVM_UNREGISTER_COALESCED_MMIO};
	static const uint32_t coalesced[] = {KVM_REGISTER_COALESCED_MMIO};
	const struct seccomp_main_ctx *c = ctx;

	if (c->vcpu_fd > 0) {
		/* on its fd, the vCPU filter's list; anything else goes on to the
		 * rules below (the reports' KVM_GET_STATS_FD on it) */
		unsigned skip;

		ld(o, SC_ARG_LO(0));
		skip = emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, (uint32_t)c->vcpu_fd);
		ld(o, SC_ARG_LO(1));
		allow_any_of(o, seccomp_ioctls, ARRAY_LEN(seccomp_ioctls));
		if (o->n - skip - 1 > 255)
			o->err = -E2BIG;
		else if (skip < o->cap)
			o->prog[skip].jf = (uint8_t)(o->n - skip - 1);
	}
	ld(o, SC_ARG_LO(1));
	if (c->fast_arm)
		allow_any_of(o, coalesced, ARRAY_LEN(coalesced));
	if (c->vm_fd > 0) {
		/* if request != KVM_IRQ_LINE skip the 4 instructions below */
		emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)KVM_IRQ_LINE);
		ld(o, SC_ARG_LO(0));
		kill_unless(o, (uint32_t)c->vm_fd);
		ret(o, SC_ALLOW);
	}
	allow_one_of(o, reports, ARRAY_LEN(reports));
}

/* tgkill(this process, any thread, the kick signal or SIGABRT (abort)). */
static void main_tgkill_body(struct bpf_out *o, const void *ctx)
{
	const struct seccomp_main_ctx *c = ctx;
	const uint32_t sigs[] = {(uint32_t)c->kick_signal, SIGABRT};

	ld(o, SC_ARG_LO(0));
	kill_unless(o, (uint32_t)c->pid);
	ld(o, SC_ARG_LO(2));
	allow_one_of(o, sigs, ARRAY_LEN(sigs));
}

/* The calls whose arguments are checked (after seccomp_plain / seccomp_main_plain). */
static const struct rule seccomp_checked[] = {
    {__NR_ioctl, vcpu_ioctl_body},   {__NR_write, vcpu_write_body}, {__NR_writev, vcpu_write_body},
    {__NR_tgkill, vcpu_tgkill_body}, {__NR_mmap, mmap_body},	    {__NR_mprotect, mprotect_body},
    {__NR_madvise, madvise_body},
};

static const struct rule seccomp_main_checked[] = {
    {__NR_ioctl, main_ioctl_body},  {__NR_tgkill, main_tgkill_body}, {__NR_mmap, mmap_body},
    {__NR_mprotect, mprotect_body}, {__NR_madvise, madvise_body},
};

/* ---- the layouts ---- */

/* Every filter starts here: only the x86-64 ABI (the same number means
 * another call under i386, and x32 numbers are refused), then A = nr. */
static void abi_prologue(struct bpf_out *o)
{
	ld(o, SC_ARCH);
	kill_unless(o, AUDIT_ARCH_X86_64);
	ld(o, SC_NR);
	emit(o, BPF_JMP | BPF_JGE | BPF_K, 0, 1, SC_X32_BIT);
	ret(o, SC_KILL);
}

/*
 * SECCOMP_LAYOUT_LINEAR: one "if nr == k" per rule, in table order, each body
 * inline behind it; consecutive rules with the same body share it (the first
 * number's test skips the body, the others' jump into it).
 */
static void layout_linear(struct bpf_out *o, const struct rule *r, unsigned n, const void *ctx)
{
	for (unsigned i = 0; i < n;) {
		unsigned k = 1, at, len;

		if (!r[i].body) {
			allow_if(o, r[i].nr);
			i++;
			continue;
		}
		while (i + k < n && r[i + k].body == r[i].body)
			k++;
		for (unsigned j = k - 1; j > 0; j--)
			emit(o, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)j, 0, r[i + j].nr);
		at = emit(o, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, r[i].nr);
		r[i].body(o, ctx);
		len = o->n - at - 1;
		if (len > 255)
			o->err = -E2BIG;
		else if (at < o->cap)
			o->prog[at].jf = (uint8_t)len;
		i += k;
	}
	ret(o, SC_KILL);
}

/* A range of syscall numbers, from lo up to the next range's lo, and where it goes. */
struct range {
	uint32_t lo;
	unsigned to; /* TO_KILL, TO_ALLOW, or TO_BODY + the body's index */
};

enum { TO_KILL, TO_ALLOW, TO_BODY };

/* Appends the range starting at lo: an empty last range gives way to it, and a last
 * range with the same destination simply goes on. */
static void add_range(struct range *v, unsigned *m, uint32_t lo, unsigned to)
{
	if (*m > 0 && v[*m - 1].lo == lo)
		(*m)--;
	if (*m > 0 && v[*m - 1].to == to)
		return;
	v[(*m)++] = (struct range){lo, to};
}

/*
 * The kernel walks the program for every number of the syscall table (470 on
 * x86-64 in Linux 6.18) when it installs it (seccomp.h): the search halves
 * these numbers, not the ranges, so the range past the last rule, about half
 * of them, is one jump away (the whole walk is 14-19% shorter for kestrel's
 * filters than with a search that halves the ranges). w[i]: how many of them range i has.
 */
#define SC_NR_WALKED 512u

/* Where to split v[lo..hi) (at least two ranges): v[lo..mid) and v[mid..hi) hold as
 * equal a share of the walked numbers as can be. */
static unsigned split(const uint32_t *w, unsigned lo, unsigned hi)
{
	uint32_t total = 0, below = 0, best = UINT32_MAX;
	unsigned mid = lo + 1;

	for (unsigned i = lo; i < hi; i++)
		total += w[i];
	for (unsigned i = lo + 1; i < hi; i++) {
		uint32_t d;

		below += w[i - 1];
		d = 2 * below > total ? 2 * below - total : total - 2 * below;
		if (d < best) {
			best = d;
			mid = i;
		}
	}
	return mid;
}

/*
 * The search over the ranges v[lo..hi) (at least two), from o->n, in preorder:
 * "if nr >= v[mid].lo" splits them; a part that is one range jumps straight to
 * its destination (at[to]), a larger part to its own search, which follows:
 * the lower part's right after this jump, the upper part's after that (a
 * search over k ranges is k - 1 jumps).
 */
static void emit_search(struct bpf_out *o, const struct range *v, const uint32_t *w, unsigned lo,
			unsigned hi, const unsigned *at)
{
	unsigned mid = split(w, lo, hi), here = o->n;
	unsigned lower = here + 1, upper = here + 1 + (mid - lo - 1);

	jump(o, BPF_JGE, v[mid].lo, hi - mid == 1 ? at[v[mid].to] : upper,
	     mid - lo == 1 ? at[v[lo].to] : lower);
	if (mid - lo > 1)
		emit_search(o, v, w, lo, mid, at);
	if (hi - mid > 1)
		emit_search(o, v, w, mid, hi, at);
}

#define RULES_MAX 48u

/*
 * SECCOMP_LAYOUT_TREE: the rules sorted by number cut 0..2^32 into ranges (a
 * run of neighbours with the same destination is one range, every gap one
 * range to KILL); a binary search over them (emit_search), then one "ret
 * KILL", one "ret ALLOW" and each body once, which the search jumps to.
 */
static void layout_tree(struct bpf_out *o, const struct rule *rules, unsigned n, const void *ctx)
{
	struct rule r[RULES_MAX];
	rule_body body[RULES_MAX];
	struct range v[2 * RULES_MAX + 1];
	uint32_t w[2 * RULES_MAX + 1];
	unsigned at[TO_BODY + RULES_MAX];
	unsigned nbody = 0, m = 0, pos;

	for (unsigned i = 0; i < n; i++) { /* insertion sort: a few dozen rules */
		unsigned j = i;
		for (; j > 0 && r[j - 1].nr > rules[i].nr; j--)
			r[j] = r[j - 1];
		r[j] = rules[i];
	}
	add_range(v, &m, 0, TO_KILL);
	for (unsigned i = 0; i < n; i++) {
		unsigned to = TO_ALLOW, b = 0;

		if ((i > 0 && r[i].nr == r[i - 1].nr) || r[i].nr == UINT32_MAX) {
			o->err = -EINVAL;
			return;
		}
		if (r[i].body) {
			while (b < nbody && body[b] != r[i].body)
				b++;
			if (b == nbody)
				body[nbody++] = r[i].body;
			to = TO_BODY + b;
		}
		add_range(v, &m, r[i].nr, to);
		add_range(v, &m, r[i].nr + 1, TO_KILL);
	}

	/* Where each destination will be: after the m - 1 jumps of the search. */
	pos = o->n + m - 1;
	at[TO_KILL] = pos++;
	at[TO_ALLOW] = pos++;
	for (unsigned b = 0; b < nbody; b++) {
		struct bpf_out count = {NULL, 0, 0, 0, o->layout};

		body[b](&count, ctx);
		at[TO_BODY + b] = pos;
		pos += count.n;
	}

	for (unsigned i = 0; i < m; i++) {
		uint32_t lo = v[i].lo, hi = i + 1 < m ? v[i + 1].lo : SC_NR_WALKED;

		w[i] = (hi < SC_NR_WALKED ? hi : SC_NR_WALKED) -
		       (lo < SC_NR_WALKED ? lo : SC_NR_WALKED);
	}
	if (m > 1)
		emit_search(o, v, w, 0, m, at);
	ret(o, SC_KILL);
	ret(o, SC_ALLOW);
	for (unsigned b = 0; b < nbody; b++)
		body[b](o, ctx);
}

/* A filter: the prologue, then the rules (plain ones first, then the checked ones) in
 * the layout asked for. */
static int build(const unsigned *plain, unsigned nplain, const struct rule *checked,
		 unsigned nchecked, const void *ctx, enum seccomp_layout layout,
		 struct sock_filter *prog, unsigned cap)
{
	struct bpf_out o = {prog, 0, cap, 0, layout};
	struct rule r[RULES_MAX];
	unsigned n = 0;

	if (nplain + nchecked > RULES_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < nplain; i++)
		r[n++] = (struct rule){plain[i], NULL};
	for (unsigned i = 0; i < nchecked; i++)
		r[n++] = checked[i];

	abi_prologue(&o);
	switch (layout) {
	case SECCOMP_LAYOUT_TREE:
		layout_tree(&o, r, n, ctx);
		break;
	case SECCOMP_LAYOUT_LINEAR:
		layout_linear(&o, r, n, ctx);
		break;
	default:
		return -EINVAL;
	}
	if (o.err < 0)
		return o.err;
	if (o.n > cap)
		return -E2BIG;
	return (int)o.n;
}

int seccomp_vcpu_filter_layout(const struct seccomp_vcpu_ctx *c, enum seccomp_layout layout,
			       struct sock_filter *prog, unsigned cap)
{
	return build(seccomp_plain, ARRAY_LEN(seccomp_plain), seccomp_checked,
		     ARRAY_LEN(seccomp_checked), c, layout, prog, cap);
}

int seccomp_vcpu_filter(const struct seccomp_vcpu_ctx *c, struct sock_filter *prog, unsigned cap)
{
	return seccomp_vcpu_filter_layout(c, SECCOMP_LAYOUT_TREE, prog, cap);
}

/* The caller's thread after the VM's threads are started (seccomp_main_filter). */
static const unsigned seccomp_main_plain[] = {
    __NR_read,
    __NR_write,
    __NR_writev,
    __NR_pread64,
    __NR_close,
    __NR_poll,
    __NR_ppoll,
    __NR_lseek,
    __NR_fstat,
    __NR_newfstatat,
    __NR_futex,
    __NR_clock_gettime,
    __NR_clock_nanosleep,
    __NR_nanosleep,
    __NR_getpid,
    __NR_gettid,
    __NR_rt_sigaction,
    __NR_rt_sigprocmask,
    __NR_rt_sigreturn,
    __NR_restart_syscall,
    __NR_sigaltstack,
    __NR_munmap,
    __NR_brk,
    __NR_mremap,
    __NR_wait4,
    __NR_sched_yield,
    __NR_exit,
    __NR_exit_group,
    __NR_mincore, /* the report's count of guest RAM touched */
};

/* Only with vCPU 0 on this thread (vcpu_fd), where the console written in
 * place may need its tick timer (console_zone_armed): the only POSIX timer
 * kestrel makes, and it can only signal this process's threads. */
static const unsigned seccomp_main_vcpu_plain[] = {
    __NR_timer_create,
    __NR_timer_settime,
    __NR_timer_delete,
};

int seccomp_main_filter_layout(const struct seccomp_main_ctx *c, enum seccomp_layout layout,
			       struct sock_filter *prog, unsigned cap)
{
	unsigned plain[ARRAY_LEN(seccomp_main_plain) + ARRAY_LEN(seccomp_main_vcpu_plain)];
	unsigned n = ARRAY_LEN(seccomp_main_plain);

	memcpy(plain, seccomp_main_plain, sizeof(seccomp_main_plain));
	if (c->vcpu_fd > 0) {
		memcpy(plain + n, seccomp_main_vcpu_plain, sizeof(seccomp_main_vcpu_plain));
		n += ARRAY_LEN(seccomp_main_vcpu_plain);
	}
	return build(plain, n, seccomp_main_checked, ARRAY_LEN(seccomp_main_checked), c, layout,
		     prog, cap);
}

int seccomp_main_filter(const struct seccomp_main_ctx *c, struct sock_filter *prog, unsigned cap)
{
	return seccomp_main_filter_layout(c, SECCOMP_LAYOUT_TREE, prog, cap);
}

/* Both filters: NO_NEW_PRIVS, then the program (KILL_PROCESS must exist). */
static int seccomp_install(struct sock_filter *prog, int n)
{
	struct sock_fprog fprog;
	uint32_t action = SC_KILL;

	if (n < 0)
		return n;
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0)
		return errno == EOPNOTSUPP || errno == EINVAL ? -ENOTSUP : -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	fprog = (struct sock_fprog){.len = (unsigned short)n, .filter = prog};
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return -errno;
	return 0;
}

int seccomp_install_main(const struct seccomp_main_ctx *c)
{
	struct sock_filter prog[SECCOMP_MAIN_MAX_INSNS];

	return seccomp_install(prog, seccomp_main_filter(c, prog, SECCOMP_MAIN_MAX_INSNS));
}

int seccomp_install_vcpu(const struct seccomp_vcpu_ctx *c)
{
	struct sock_filter prog[SECCOMP_VCPU_MAX_INSNS];

	/* Without KILL_PROCESS (Linux < 4.14) the kernel would kill only the
	 * offending thread, and the VM would wait for it forever; NO_NEW_PRIVS
	 * lets an unprivileged thread install a filter (seccomp_install). */
	return seccomp_install(prog, seccomp_vcpu_filter(c, prog, SECCOMP_VCPU_MAX_INSNS));
}
