/* test_regs.c - unit tests for the register cache (regs.h) against a fake KVM backend and a fake
 * kvm_run page. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/regs.h"
#include "tap.h"

/* ---- the fake "KVM": vCPU state, call counters, and an MSR table ---------- */

/* The MSRs the fake vCPU has, by architectural index (what regs.def must ask for). */
static const uint32_t known_msrs[] = {0x10,	  0x174,      0x175,	  0x176,
				      0x277,	  0xc0000081, 0xc0000082, 0xc0000083,
				      0xc0000084, 0xc0000102, 0xc0000103};
#define NKNOWN (sizeof(known_msrs) / sizeof(known_msrs[0]))
#define MSR_LSTAR 0xc0000082u

struct vstate {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct kvm_fpu fpu;
	struct kvm_debugregs debug;
	uint64_t msr[NKNOWN]; /* by position in known_msrs */
};

struct fake {
	struct vstate s;
	unsigned gets[REGS_G_COUNT], sets[REGS_G_COUNT];
	unsigned calls;		 /* gets + sets */
	enum regs_group log[64]; /* order of set calls */
	unsigned nlog;
	int get_err[REGS_G_COUNT], set_err[REGS_G_COUNT];
	uint32_t msr_nmsrs_seen; /* nmsrs of the last MSRS get/set */
	uint32_t msr_idx_seen[REGS_MSR_COUNT];
	unsigned msr_unknown; /* entries naming an MSR the fake does not have */
};

static size_t group_size(enum regs_group g)
{
	switch (g) {
	case REGS_G_REGS:
		return sizeof(struct kvm_regs);
	case REGS_G_SREGS:
		return sizeof(struct kvm_sregs);
	case REGS_G_EVENTS:
		return sizeof(struct kvm_vcpu_events);
	case REGS_G_FPU:
		return sizeof(struct kvm_fpu);
	case REGS_G_DEBUG:
		return sizeof(struct kvm_debugregs);
	case REGS_G_MSRS:
		return sizeof(struct regs_msrs);
	default:
		return 0;
	}
}

static void *state_slot(struct vstate *s, enum regs_group g)
{
	switch (g) {
	case REGS_G_REGS:
		return &s->regs;
	case REGS_G_SREGS:
		return &s->sregs;
	case REGS_G_EVENTS:
		return &s->events;
	case REGS_G_FPU:
		return &s->fpu;
	case REGS_G_DEBUG:
		return &s->debug;
	default:
		return NULL;
	}
}

static int msr_pos(uint32_t index)
{
	for (unsigned i = 0; i < NKNOWN; i++)
		if (known_msrs[i] == index)
			return (int)i;
	return -1;
}

static int fake_get(void *ctx, enum regs_group g, void *buf)
{
	struct fake *f = ctx;

	f->gets[g]++;
	f->calls++;
	if (f->get_err[g]) {
		memset(buf, 0xff, group_size(g)); /* a failed ioctl may leave junk behind */
		return f->get_err[g];
	}
	if (g == REGS_G_MSRS) {
		struct regs_msrs *m = buf;
		f->msr_nmsrs_seen = m->nmsrs;
		for (uint32_t i = 0; i < m->nmsrs && i < REGS_MSR_COUNT; i++) {
			int p = msr_pos(m->e[i].index);
			f->msr_idx_seen[i] = m->e[i].index;
			if (p < 0)
				f->msr_unknown++;
			else
				m->e[i].data = f->s.msr[p];
		}
		return 0;
	}
	memcpy(buf, state_slot(&f->s, g), group_size(g));
	return 0;
}

static int fake_set(void *ctx, enum regs_group g, const void *buf)
{
	struct fake *f = ctx;

	f->sets[g]++;
	f->calls++;
	if (f->nlog < sizeof(f->log) / sizeof(f->log[0]))
		f->log[f->nlog++] = g;
	if (f->set_err[g])
		return f->set_err[g];
	if (g == REGS_G_MSRS) {
		const struct regs_msrs *m = buf;
		f->msr_nmsrs_seen = m->nmsrs;
		for (uint32_t i = 0; i < m->nmsrs && i < REGS_MSR_COUNT; i++) {
			int p = msr_pos(m->e[i].index);
			f->msr_idx_seen[i] = m->e[i].index;
			if (p < 0)
				f->msr_unknown++;
			else
				f->s.msr[p] = m->e[i].data;
		}
		return 0;
	}
	memcpy(state_slot(&f->s, g), buf, group_size(g));
	return 0;
}

static void reset_counts(struct fake *f)
{
	memset(f->gets, 0, sizeof(f->gets));
	memset(f->sets, 0, sizeof(f->sets));
	f->calls = 0;
	f->nlog = 0;
}

/* Distinct, recognisable contents for every register of a fake vCPU. */
static void fill_state(struct vstate *s, uint64_t seed)
{
	uint8_t *p = (uint8_t *)s;

	for (size_t i = 0; i < sizeof(*s); i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + 1);
	for (unsigned i = 0; i < NKNOWN; i++)
		s->msr[i] = 0x1000000000000000ull * (i + 1) + seed;
	s->regs.rax = 0x1111;
	s->regs.rdi = 0xd1d1;
	s->sregs.cr0 = 0x80050033;
	s->sregs.cr4 = 0x620;
	s->sregs.efer = 0xd01;
}

/* What the "guest" does while it runs: every result depends on the values
 * kestrel wrote before the run, so a lost or late write shows up. */
static void guest_step(struct vstate *s)
{
	s->regs.rip += 2;
	s->regs.rax = s->regs.rax * 3 + s->regs.rdi;
	s->regs.rdi ^= s->regs.rsi + 1;
	s->regs.rflags ^= 0x40;
	s->sregs.cr2 = s->regs.rip ^ s->sregs.cr3;
	s->sregs.cs.selector ^= 8;
	s->events.nmi.pending ^= 1;
	s->events.sipi_vector += s->sregs.efer & 0xff;
	s->fpu.fcw ^= 0x10;
	s->fpu.last_ip += s->regs.rbx;
	s->debug.dr6 ^= 1;
	s->debug.db[1] += s->debug.dr7;
	s->msr[0] += 1000;	  /* the TSC ticks */
	s->msr[6] ^= s->regs.rax; /* lstar */
}

/*
 * sim_run - one KVM_RUN: in page mode KVM first applies the groups marked in
 * kvm_dirty_regs from the page (and clears those bits), the guest runs, then
 * KVM copies the kvm_valid_regs groups to the page.
 */
static void sim_run(struct fake *f, struct regs *c, struct kvm_run *run, bool guest)
{
	if (run) {
		if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS)
			f->s.regs = run->s.regs.regs;
		if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS)
			f->s.sregs = run->s.regs.sregs;
		if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS)
			f->s.events = run->s.regs.events;
		run->kvm_dirty_regs = 0;
	}
	if (guest)
		guest_step(&f->s);
	if (run) {
		if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
			run->s.regs.regs = f->s.regs;
		if (run->kvm_valid_regs & KVM_SYNC_X86_SREGS)
			run->s.regs.sregs = f->s.sregs;
		if (run->kvm_valid_regs & KVM_SYNC_X86_EVENTS)
			run->s.regs.events = f->s.events;
	}
	regs_after_run(c, true);
}

/* flush, then run: the order vcpu_run uses. */
static int flush_run(struct fake *f, struct regs *c, struct kvm_run *run, bool guest)
{
	int r = regs_flush(c);
	sim_run(f, c, run, guest);
	return r;
}

static struct regs_backend fake_backend(struct fake *f)
{
	return (struct regs_backend){fake_get, fake_set, f};
}

#define SYNC_ALL (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

/* A cache with junk everywhere first, so nothing relies on zeroed memory. */
static struct regs *new_cache(struct fake *f, struct kvm_run *run, uint32_t caps, uint32_t valid)
{
	struct regs *c = malloc(sizeof(*c));

	if (!c)
		abort();
	memset(c, 0xa5, sizeof(*c));
	if (run) {
		run->kvm_valid_regs = 0xdead;
		run->kvm_dirty_regs = 0xbeef;
	}
	regs_init(c, run, caps, valid, fake_backend(f));
	return c;
}

static struct kvm_run *new_run(void)
{
	struct kvm_run *run = calloc(1, sizeof(*run));

	if (!run)
		abort();
	memset(&run->s.regs, 0x5a, sizeof(run->s.regs)); /* stale page contents */
	return run;
}

static bool state_eq(const struct vstate *a, const struct vstate *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void diag_state_diff(const struct vstate *got, const struct vstate *want)
{
	static const char *const names[] = {"regs", "sregs", "events", "fpu", "debug", "msrs"};
	const size_t offs[] = {offsetof(struct vstate, regs),
			       offsetof(struct vstate, sregs),
			       offsetof(struct vstate, events),
			       offsetof(struct vstate, fpu),
			       offsetof(struct vstate, debug),
			       offsetof(struct vstate, msr),
			       sizeof(struct vstate)};

	for (unsigned i = 0; i < 6; i++)
		if (memcmp((const char *)got + offs[i], (const char *)want + offs[i],
			   offs[i + 1] - offs[i]))
			tap_diag("  group %s differs", names[i]);
}

/* ---- (a) ioctl mode ------------------------------------------------------- */

static void test_ioctl_mode(void)
{
	struct fake f = {0};
	struct regs *c;

	fill_state(&f.s, 1);
	c = new_cache(&f, NULL, SYNC_ALL, KVM_SYNC_X86_REGS);
	TAP_OK(c->valid == 0 && c->dirty == 0 && c->on_page == 0 && c->page_valid == 0 &&
		   c->error == 0 && c->run == NULL,
	       "ioctl: regs_init with run == NULL: nothing valid, dirty or on the page");
	TAP_OK(c->n.ioctls == 0 && c->n.reads == 0 && c->n.writes == 0 && c->n.flushes == 0,
	       "ioctl: counters start at 0");
	TAP_OK(c->REGS == &c->own_REGS && c->SREGS == &c->own_SREGS && c->EVENTS == &c->own_EVENTS,
	       "ioctl: groups live in the cache's own storage");
	TAP_EQ_INT(c->MSRS->nmsrs, REGS_MSR_COUNT, "ioctl: MSR group header prepared by regs_init");

	TAP_EQ_U64(regs_get_rax(c), 0x1111, "ioctl: first rax read returns KVM's value");
	TAP_EQ_INT(f.gets[REGS_G_REGS], 1, "ioctl: first read fetched REGS once");
	TAP_EQ_INT(f.calls, 1, "ioctl: ... and nothing else");
	TAP_EQ_U64(regs_get_rax(c), 0x1111, "ioctl: second rax read");
	TAP_EQ_U64(regs_get_rdi(c), 0xd1d1, "ioctl: rdi read");
	TAP_EQ_INT(f.calls, 1, "ioctl: later REGS reads cost no backend call");

	TAP_EQ_INT(regs_flush(c), 0, "ioctl: clean flush returns 0");
	TAP_EQ_INT(f.calls, 1, "ioctl: clean flush makes no backend call");
	TAP_EQ_U64(c->n.flushes, 0, "ioctl: clean flush not counted");

	regs_set_rax(c, 42);
	TAP_OK(c->dirty == REGS_BIT(REGS_G_REGS), "ioctl: writing rax marks REGS (only) dirty");
	TAP_EQ_INT(f.calls, 1, "ioctl: the write itself makes no backend call");
	TAP_EQ_U64(f.s.regs.rax, 0x1111, "ioctl: KVM does not see the write before the flush");
	regs_set_rbx(c, 43);
	TAP_EQ_INT(regs_flush(c), 0, "ioctl: flush returns 0");
	TAP_EQ_INT(f.sets[REGS_G_REGS], 1, "ioctl: two REGS writes, one SET");
	TAP_EQ_INT(f.calls, 2, "ioctl: and no other call");
	TAP_OK(f.s.regs.rax == 42 && f.s.regs.rbx == 43 && f.s.regs.rdi == 0xd1d1,
	       "ioctl: KVM has the new rax/rbx and the old rdi");
	TAP_EQ_U64(c->dirty, 0, "ioctl: flush clears dirty");
	regs_flush(c);
	TAP_EQ_INT(f.calls, 2, "ioctl: second flush writes nothing");

	/* A run invalidates everything. */
	sim_run(&f, c, NULL, true);
	TAP_EQ_U64(c->valid, 0, "ioctl: regs_after_run leaves nothing valid");
	TAP_EQ_U64(regs_get_rax(c), 42 * 3 + 0xd1d1,
		   "ioctl: read after the run sees the guest's rax");
	TAP_EQ_INT(f.gets[REGS_G_REGS], 2, "ioctl: ... fetched again");

	/* Writing a SREGS field: read-modify-write. */
	reset_counts(&f);
	uint64_t cr4 = f.s.sregs.cr4, efer = f.s.sregs.efer;
	struct kvm_segment cs = f.s.sregs.cs;
	regs_set_cr0(c, 0x80000011);
	TAP_EQ_INT(f.gets[REGS_G_SREGS], 1, "ioctl: writing cr0 fetches SREGS first");
	TAP_EQ_INT(f.sets[REGS_G_SREGS], 0, "ioctl: ... and does not write yet");
	regs_set_rip(c, 0x200000);
	TAP_EQ_INT(regs_flush(c), 0, "ioctl: flush of REGS + SREGS");
	TAP_OK(f.nlog == 2 && f.log[0] == REGS_G_SREGS && f.log[1] == REGS_G_REGS,
	       "ioctl: flush writes SREGS before REGS");
	TAP_OK(f.s.sregs.cr0 == 0x80000011 && f.s.sregs.cr4 == cr4 && f.s.sregs.efer == efer &&
		   memcmp(&f.s.sregs.cs, &cs, sizeof(cs)) == 0,
	       "ioctl: new cr0 in KVM, cr4/efer/cs survive");
	TAP_EQ_U64(f.s.regs.rip, 0x200000, "ioctl: new rip in KVM");

	/* Every group dirty at once: each written exactly once, SREGS before REGS. */
	reset_counts(&f);
	regs_set_rax(c, 1);
	regs_set_efer(c, 0x500);
	struct kvm_vcpu_events ev = *regs_group_EVENTS(c);
	regs_put_EVENTS(c, &ev);
	struct kvm_fpu fpu = *regs_group_FPU(c);
	fpu.fcw = 0x37f;
	regs_put_FPU(c, &fpu);
	struct kvm_debugregs dbg = *regs_group_DEBUG(c);
	dbg.dr7 = 0x400;
	regs_put_DEBUG(c, &dbg);
	regs_set_msr_star(c, 0x0023001000000000ull);
	reset_counts(&f);
	TAP_EQ_INT(regs_flush(c), 0, "ioctl: flush of all six groups");
	bool once = true;
	for (unsigned g = 0; g < REGS_G_COUNT; g++)
		once &= f.sets[g] == 1;
	TAP_OK(once && f.nlog == REGS_G_COUNT, "ioctl: each dirty group written exactly once");
	int pos_s = -1, pos_r = -1;
	for (unsigned i = 0; i < f.nlog; i++) {
		if (f.log[i] == REGS_G_SREGS)
			pos_s = (int)i;
		if (f.log[i] == REGS_G_REGS)
			pos_r = (int)i;
	}
	TAP_OK(pos_s >= 0 && pos_r >= 0 && pos_s < pos_r, "ioctl: SREGS (%d) before REGS (%d)",
	       pos_s, pos_r);
	TAP_OK(f.s.fpu.fcw == 0x37f && f.s.debug.dr7 == 0x400 && f.s.sregs.efer == 0x500 &&
		   f.s.msr[msr_pos(0xc0000081)] == 0x0023001000000000ull,
	       "ioctl: FPU, DEBUG, SREGS and MSR values reached KVM");

	/* A failed run trusts nothing either. */
	regs_get_rax(c);
	regs_after_run(c, false);
	TAP_EQ_U64(c->valid, 0, "ioctl: regs_after_run(false) leaves nothing valid");

	/* run != NULL but no sync caps: the pure ioctl fallback. */
	struct kvm_run *run = new_run();
	struct fake f2 = {0};
	fill_state(&f2.s, 2);
	free(c);
	c = new_cache(&f2, run, 0, KVM_SYNC_X86_REGS);
	TAP_OK(c->on_page == 0 && c->page_valid == 0 && c->REGS == &c->own_REGS,
	       "ioctl: sync_caps 0 keeps every group off the page");
	TAP_OK(run->kvm_valid_regs == 0 && run->kvm_dirty_regs == 0,
	       "ioctl: sync_caps 0 asks KVM to copy nothing (valid %#llx, dirty %#llx)",
	       (unsigned long long)run->kvm_valid_regs, (unsigned long long)run->kvm_dirty_regs);
	regs_set_rax(c, 7);
	regs_flush(c);
	TAP_OK(f2.sets[REGS_G_REGS] == 1 && run->kvm_dirty_regs == 0 && f2.s.regs.rax == 7,
	       "ioctl: sync_caps 0 writes by SET, not via kvm_dirty_regs");
	free(c);
	free(run);
}

/* ---- (b) shared page mode ----------------------------------------------------- */

static void test_page_mode(void)
{
	struct fake f = {0};
	struct kvm_run *run = new_run();
	struct regs *c;

	fill_state(&f.s, 3);
	c = new_cache(&f, run, SYNC_ALL, KVM_SYNC_X86_REGS);
	TAP_EQ_U64(run->kvm_valid_regs, KVM_SYNC_X86_REGS,
		   "page: regs_init sets kvm_valid_regs = REGS");
	TAP_EQ_U64(run->kvm_dirty_regs, 0, "page: regs_init clears kvm_dirty_regs");
	TAP_EQ_U64(c->on_page,
		   REGS_BIT(REGS_G_REGS) | REGS_BIT(REGS_G_SREGS) | REGS_BIT(REGS_G_EVENTS),
		   "page: REGS, SREGS, EVENTS on the page");
	TAP_EQ_U64(c->page_valid, REGS_BIT(REGS_G_REGS), "page: only REGS valid after every run");
	TAP_OK(c->REGS == &run->s.regs.regs && c->SREGS == &run->s.regs.sregs &&
		   c->EVENTS == &run->s.regs.events,
	       "page: page groups point into kvm_run");
	TAP_OK(c->FPU == &c->own_FPU && c->DEBUG == &c->own_DEBUG && c->MSRS == &c->own_MSRS,
	       "page: FPU, DEBUG, MSRS in own storage");
	TAP_EQ_U64(c->valid, 0, "page: nothing valid before the first run");

	/* KVM fills the page on exit. */
	f.s.regs.rdi = 1;
	f.s.regs.rsi = 2;
	f.s.regs.rdx = 3;
	f.s.regs.rcx = 4;
	sim_run(&f, c, run, false);
	reset_counts(&f);
	uint64_t sum =
	    regs_get_rdi(c) + 10 * regs_get_rsi(c) + 100 * regs_get_rdx(c) + 1000 * regs_get_rcx(c);
	TAP_EQ_U64(sum, 4321, "page: rdi/rsi/rdx/rcx read from the page");
	TAP_EQ_INT(f.calls, 0, "page: ... with zero backend calls");
	TAP_EQ_U64(c->n.ioctls, 0, "page: ... and zero counted ioctls");

	regs_set_rax(c, 0x55);
	TAP_EQ_INT(regs_flush(c), 0, "page: flush after writing rax");
	TAP_EQ_INT(f.calls, 0, "page: writing rax + flush: zero backend calls");
	TAP_OK(run->kvm_dirty_regs & KVM_SYNC_X86_REGS,
	       "page: flush set KVM_SYNC_X86_REGS in kvm_dirty_regs");
	TAP_EQ_U64(run->kvm_dirty_regs, KVM_SYNC_X86_REGS, "page: ... and nothing else");
	TAP_EQ_U64(run->s.regs.regs.rax, 0x55, "page: the new rax is on the page");
	TAP_EQ_U64(c->n.flushes, 1, "page: the flush counted");

	/* SREGS is on the page but not refreshed by KVM: fetched by ioctl into the page. */
	uint64_t cr0 = regs_get_cr0(c);
	TAP_EQ_U64(cr0, f.s.sregs.cr0, "page: cr0 value");
	TAP_EQ_INT(f.gets[REGS_G_SREGS], 1, "page: reading cr0 costs one SREGS get");
	TAP_EQ_INT(f.calls, 1, "page: ... and nothing else");
	TAP_EQ_U64(run->s.regs.sregs.cr0, f.s.sregs.cr0, "page: SREGS fetched into the page");
	regs_set_cr0(c, cr0 | 0x4);
	regs_flush(c);
	TAP_OK(run->kvm_dirty_regs & KVM_SYNC_X86_SREGS,
	       "page: writing cr0 sets KVM_SYNC_X86_SREGS dirty");
	TAP_EQ_INT(f.sets[REGS_G_SREGS] + f.sets[REGS_G_REGS], 0, "page: ... with zero sets");
	TAP_EQ_INT(f.calls, 1, "page: still just the one get");

	/* FPU, DEBUG, MSRS always go by backend. */
	struct kvm_fpu fpu = *regs_group_FPU(c);
	fpu.fcw = 0x27f;
	regs_put_FPU(c, &fpu);
	struct kvm_debugregs dbg = *regs_group_DEBUG(c);
	dbg.dr7 = 0x401;
	regs_put_DEBUG(c, &dbg);
	uint64_t lstar = regs_get_msr_lstar(c);
	regs_set_msr_lstar(c, lstar + 1);
	TAP_OK(f.gets[REGS_G_FPU] == 1 && f.gets[REGS_G_DEBUG] == 1 && f.gets[REGS_G_MSRS] == 1,
	       "page: FPU, DEBUG, MSRS fetched by backend get");
	regs_flush(c);
	TAP_OK(f.sets[REGS_G_FPU] == 1 && f.sets[REGS_G_DEBUG] == 1 && f.sets[REGS_G_MSRS] == 1,
	       "page: FPU, DEBUG, MSRS written by backend set");
	TAP_OK(f.s.fpu.fcw == 0x27f && f.s.debug.dr7 == 0x401 &&
		   f.s.msr[msr_pos(MSR_LSTAR)] == lstar + 1,
	       "page: their values reached KVM at the flush");

	/* The run applies the page groups. */
	TAP_OK(f.s.regs.rax != 0x55 && f.s.sregs.cr0 == cr0,
	       "page: KVM state unchanged before the run");
	sim_run(&f, c, run, false);
	TAP_OK(f.s.regs.rax == 0x55 && f.s.sregs.cr0 == (cr0 | 0x4),
	       "page: KVM applied rax and cr0 from the page at KVM_RUN");
	TAP_EQ_U64(c->valid, REGS_BIT(REGS_G_REGS), "page: after a run only REGS is valid");
	reset_counts(&f);
	regs_get_cr4(c);
	TAP_EQ_INT(f.gets[REGS_G_SREGS], 1, "page: SREGS fetched again after the run");

	/* A failed run: nothing valid, even the page group. */
	regs_after_run(c, false);
	reset_counts(&f);
	TAP_EQ_U64(regs_get_rax(c), 0x55, "page: rax after a failed run");
	TAP_EQ_INT(f.gets[REGS_G_REGS], 1, "page: after a failed run REGS is fetched by ioctl");
	free(c);

	/* Everything on the page and valid: SREGS and EVENTS cost nothing either. */
	c = new_cache(&f, run, SYNC_ALL, SYNC_ALL);
	TAP_EQ_U64(run->kvm_valid_regs, SYNC_ALL, "page: page_valid = all three is passed to KVM");
	sim_run(&f, c, run, false);
	reset_counts(&f);
	regs_get_cr3(c);
	regs_get_cs(c);
	regs_group_EVENTS(c);
	regs_set_efer(c, 0xd00);
	regs_flush(c);
	TAP_EQ_INT(f.calls, 0, "page: all-valid page: SREGS/EVENTS read + write cost no call");
	TAP_EQ_U64(run->kvm_dirty_regs, KVM_SYNC_X86_SREGS,
		   "page: ... SREGS marked dirty on the page");
	free(c);

	/* Only REGS supported by this KVM: SREGS by ioctl. */
	c = new_cache(&f, run, KVM_SYNC_X86_REGS, SYNC_ALL);
	TAP_EQ_U64(c->on_page, REGS_BIT(REGS_G_REGS), "page: caps = REGS: only REGS on the page");
	TAP_EQ_U64(run->kvm_valid_regs, KVM_SYNC_X86_REGS,
		   "page: caps = REGS: kvm_valid_regs = REGS");
	sim_run(&f, c, run, false);
	reset_counts(&f);
	regs_set_cr3(c, 0x3000);
	regs_set_rax(c, 9);
	regs_flush(c);
	TAP_OK(f.gets[REGS_G_SREGS] == 1 && f.sets[REGS_G_SREGS] == 1 && f.sets[REGS_G_REGS] == 0 &&
		   run->kvm_dirty_regs == KVM_SYNC_X86_REGS,
	       "page: caps = REGS: SREGS by get+set, REGS by the page");
	free(c);
	free(run);
}

/* ---- (c) both modes against a reference model ----------------------------------- */

struct gpr_acc {
	const char *name;
	uint64_t (*get)(struct regs *);
	void (*set)(struct regs *, uint64_t);
	size_t off;
};
static const struct gpr_acc gprs[] = {
#define REG_GPR(n) {#n, regs_get_##n, regs_set_##n, offsetof(struct kvm_regs, n)},
#include "core/regs.def"
};
static const struct gpr_acc ctls[] = {
#define REG_CTL(n) {#n, regs_get_##n, regs_set_##n, offsetof(struct kvm_sregs, n)},
#include "core/regs.def"
};
struct seg_acc {
	const char *name;
	struct kvm_segment (*get)(struct regs *);
	void (*set)(struct regs *, struct kvm_segment);
	size_t off;
};
static const struct seg_acc segs[] = {
#define REG_SEG(n) {#n, regs_get_##n, regs_set_##n, offsetof(struct kvm_sregs, n)},
#include "core/regs.def"
};
struct dt_acc {
	const char *name;
	struct kvm_dtable (*get)(struct regs *);
	void (*set)(struct regs *, struct kvm_dtable);
	size_t off;
};
static const struct dt_acc dts[] = {
#define REG_DT(n) {#n, regs_get_##n, regs_set_##n, offsetof(struct kvm_sregs, n)},
#include "core/regs.def"
};
struct msr_acc {
	const char *name;
	uint64_t (*get)(struct regs *);
	void (*set)(struct regs *, uint64_t);
	uint32_t index;
};
static const struct msr_acc msrs[] = {
#define REG_MSR(n, i) {#n, regs_get_msr_##n, regs_set_msr_##n, i},
#include "core/regs.def"
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t *u64_at(void *base, size_t off)
{
	return (uint64_t *)((char *)base + off);
}

struct mode_result {
	struct vstate final;
	unsigned read_mismatch, state_mismatch, runs;
	unsigned gets[REGS_G_COUNT], sets[REGS_G_COUNT];
	struct regs_counters n;
};

/*
 * Drive one cache through `steps` random guest-visible operations (seeded the
 * same way for every mode), mirroring each on a plain model. After every run
 * the fake KVM state must equal the model.
 */
static void run_script(struct kvm_run *run, uint32_t caps, uint32_t valid, uint64_t seed,
		       unsigned steps, struct mode_result *res)
{
	struct fake f = {0};
	struct vstate model;
	struct regs *c;

	memset(res, 0, sizeof(*res));
	rng = seed;
	fill_state(&f.s, 7);
	model = f.s;
	c = new_cache(&f, run, caps, valid);
	sim_run(&f, c, run, false); /* the first exit */

	for (unsigned k = 0; k < steps; k++) {
		uint64_t v = rnd();
		unsigned op = (unsigned)(rnd() % 16);
		switch (op) {
		case 0:
		case 1: {
			const struct gpr_acc *a = &gprs[v % N(gprs)];
			res->read_mismatch += a->get(c) != *u64_at(&model.regs, a->off);
			break;
		}
		case 2:
		case 3: {
			const struct gpr_acc *a = &gprs[(v >> 32) % N(gprs)];
			a->set(c, v);
			*u64_at(&model.regs, a->off) = v;
			break;
		}
		case 4: {
			const struct gpr_acc *a = &ctls[v % N(ctls)];
			res->read_mismatch += a->get(c) != *u64_at(&model.sregs, a->off);
			break;
		}
		case 5: {
			const struct gpr_acc *a = &ctls[(v >> 32) % N(ctls)];
			a->set(c, v);
			*u64_at(&model.sregs, a->off) = v;
			break;
		}
		case 6: {
			const struct seg_acc *a = &segs[v % N(segs)];
			struct kvm_segment s = a->get(c);
			res->read_mismatch +=
			    memcmp(&s, (char *)&model.sregs + a->off, sizeof(s)) != 0;
			break;
		}
		case 7: {
			const struct seg_acc *a = &segs[(v >> 32) % N(segs)];
			struct kvm_segment s;
			memcpy(&s, (char *)&model.sregs + a->off, sizeof(s));
			s.selector = (uint16_t)v;
			s.base = v >> 8;
			s.dpl = (uint8_t)(v >> 20) & 3;
			a->set(c, s);
			memcpy((char *)&model.sregs + a->off, &s, sizeof(s));
			break;
		}
		case 8: {
			const struct dt_acc *a = &dts[v % N(dts)];
			struct kvm_dtable d = a->get(c);
			if (v & 1) {
				res->read_mismatch +=
				    memcmp(&d, (char *)&model.sregs + a->off, sizeof(d)) != 0;
			} else {
				d.base = v;
				d.limit = (uint16_t)(v >> 40);
				a->set(c, d);
				memcpy((char *)&model.sregs + a->off, &d, sizeof(d));
			}
			break;
		}
		case 9: {
			const struct msr_acc *a = &msrs[v % N(msrs)];
			int p = msr_pos(a->index);
			if (p < 0) {
				res->read_mismatch++;
				break;
			}
			if (v & 0x100) {
				res->read_mismatch += a->get(c) != model.msr[p];
			} else {
				a->set(c, v >> 9);
				model.msr[p] = v >> 9;
			}
			break;
		}
		case 10: { /* whole-group reads */
			switch (v % 5) {
			case 0:
				res->read_mismatch += memcmp(regs_group_REGS(c), &model.regs,
							     sizeof(model.regs)) != 0;
				break;
			case 1:
				res->read_mismatch += memcmp(regs_group_SREGS(c), &model.sregs,
							     sizeof(model.sregs)) != 0;
				break;
			case 2:
				res->read_mismatch += memcmp(regs_group_EVENTS(c), &model.events,
							     sizeof(model.events)) != 0;
				break;
			case 3:
				res->read_mismatch +=
				    memcmp(regs_group_FPU(c), &model.fpu, sizeof(model.fpu)) != 0;
				break;
			default:
				res->read_mismatch += memcmp(regs_group_DEBUG(c), &model.debug,
							     sizeof(model.debug)) != 0;
				break;
			}
			break;
		}
		case 11: { /* whole-group puts (no fetch) */
			switch (v % 3) {
			case 0:
				model.events.nmi.masked = (uint8_t)(v >> 8);
				model.events.sipi_vector = (uint32_t)(v >> 16);
				regs_put_EVENTS(c, &model.events);
				break;
			case 1:
				model.fpu.fcw = (uint16_t)(v >> 8);
				model.fpu.fpr[(v >> 24) & 7][0] = (uint8_t)(v >> 32);
				regs_put_FPU(c, &model.fpu);
				break;
			default:
				model.debug.db[(v >> 8) & 3] = v >> 12;
				regs_put_DEBUG(c, &model.debug);
				break;
			}
			break;
		}
		case 12:
			regs_flush(c); /* an extra flush is harmless */
			break;
		default: /* 13-15: the guest runs */
			regs_flush(c);
			sim_run(&f, c, run, true);
			guest_step(&model);
			res->runs++;
			if (!state_eq(&f.s, &model)) {
				if (res->state_mismatch++ < 3) {
					tap_diag(
					    "  step %u (caps %#x valid %#x): KVM state != model", k,
					    caps, valid);
					diag_state_diff(&f.s, &model);
				}
			}
			break;
		}
	}
	flush_run(&f, c, run, false);
	if (!state_eq(&f.s, &model))
		res->state_mismatch++;
	res->final = f.s;
	memcpy(res->gets, f.gets, sizeof(f.gets));
	memcpy(res->sets, f.sets, sizeof(f.sets));
	res->n = c->n;
	TAP_EQ_INT(c->error, 0, "script (caps %#x valid %#x): no backend error", caps, valid);
	TAP_EQ_INT(f.msr_unknown, 0, "script (caps %#x valid %#x): no unknown MSR index", caps,
		   valid);
	free(c);
}

static void test_equivalence(void)
{
	struct kvm_run *run = new_run();
	static const struct {
		bool page;
		uint32_t caps, valid;
		const char *what;
	} modes[] = {
	    {false, 0, 0, "ioctl (run == NULL)"},
	    {true, 0, KVM_SYNC_X86_REGS, "ioctl (sync_caps 0)"},
	    {true, SYNC_ALL, KVM_SYNC_X86_REGS, "page, REGS valid"},
	    {true, SYNC_ALL, SYNC_ALL, "page, all valid"},
	    {true, SYNC_ALL, 0, "page, nothing valid"},
	    {true, KVM_SYNC_X86_REGS | KVM_SYNC_X86_EVENTS, KVM_SYNC_X86_EVENTS,
	     "page, REGS+EVENTS caps"},
	};
	static struct mode_result res[N(modes)];

	for (unsigned seed = 1; seed <= 3; seed++) {
		for (unsigned m = 0; m < N(modes); m++) {
			run_script(modes[m].page ? run : NULL, modes[m].caps, modes[m].valid,
				   0x9e3779b97f4a7c15ull * seed, 20000, &res[m]);
			TAP_EQ_INT(res[m].read_mismatch, 0, "model, seed %u, %s: every read right",
				   seed, modes[m].what);
			TAP_EQ_INT(
			    res[m].state_mismatch, 0,
			    "model, seed %u, %s: KVM state equals the model after all %u runs",
			    seed, modes[m].what, res[m].runs);
		}
		bool same = true;
		for (unsigned m = 1; m < N(modes); m++)
			same &=
			    state_eq(&res[m].final, &res[0].final) && res[m].runs == res[0].runs;
		TAP_OK(same, "model, seed %u: every mode ends with the same KVM state", seed);
		/* Page mode with REGS valid: REGS never travels by ioctl after the first exit. */
		TAP_OK(res[2].gets[REGS_G_REGS] == 0 && res[2].sets[REGS_G_REGS] == 0,
		       "model, seed %u: page mode moved REGS with no get/set (%u/%u)", seed,
		       res[2].gets[REGS_G_REGS], res[2].sets[REGS_G_REGS]);
		TAP_OK(res[3].gets[REGS_G_SREGS] + res[3].sets[REGS_G_SREGS] +
			       res[3].gets[REGS_G_EVENTS] + res[3].sets[REGS_G_EVENTS] ==
			   0,
		       "model, seed %u: all-valid page mode moved SREGS/EVENTS with no get/set",
		       seed);
		TAP_OK(res[0].n.ioctls > res[2].n.ioctls && res[2].n.ioctls > res[3].n.ioctls,
		       "model, seed %u: ioctls ioctl %" PRIu64 " > page %" PRIu64
		       " > all-valid %" PRIu64,
		       seed, res[0].n.ioctls, res[2].n.ioctls, res[3].n.ioctls);
		bool same_acc = true;
		for (unsigned m = 1; m < N(modes); m++)
			same_acc &=
			    res[m].n.reads == res[0].n.reads && res[m].n.writes == res[0].n.writes;
		TAP_OK(same_acc, "model, seed %u: reads/writes counters identical across modes",
		       seed);
	}
	free(run);
}

/* ---- (d) exact counters ---------------------------------------------------------- */

static void test_counters(void)
{
	struct fake f = {0};
	struct kvm_run *run = new_run();
	struct regs *c;

	fill_state(&f.s, 4);
	c = new_cache(&f, NULL, 0, 0);
	regs_get_rax(c);	 /* get REGS: ioctl 1, read 1 */
	regs_get_rbx(c);	 /* read 2 */
	regs_set_rcx(c, 1);	 /* write 1 */
	regs_set_cr3(c, 0x1000); /* get SREGS: ioctl 2, write 2 */
	regs_get_cs(c);		 /* read 3 */
	regs_flush(c);		 /* set SREGS + set REGS: ioctls 4, flush 1 */
	regs_flush(c);		 /* clean: nothing */
	struct kvm_fpu fpu = {0};
	regs_put_FPU(c, &fpu); /* write 3, no ioctl */
	regs_group_FPU(c);     /* read 4, no ioctl (valid after put) */
	regs_flush(c);	       /* set FPU: ioctls 5, flush 2 */
	regs_after_run(c, true);
	regs_get_msr_tsc(c); /* get MSRS: ioctls 6, read 5 */
	TAP_EQ_U64(c->n.ioctls, 6, "counters, ioctl mode: ioctls");
	TAP_EQ_U64(c->n.reads, 5, "counters, ioctl mode: reads");
	TAP_EQ_U64(c->n.writes, 3, "counters, ioctl mode: writes");
	TAP_EQ_U64(c->n.flushes, 2, "counters, ioctl mode: flushes");
	TAP_EQ_U64(c->n.ioctls, f.calls, "counters, ioctl mode: ioctls == backend calls");
	struct regs_snapshot snap;
	regs_save(c, &snap);	/* 4 reads; REGS/SREGS/FPU/EVENTS fetched: ioctls 10 */
	regs_restore(c, &snap); /* 4 writes */
	regs_flush(c);		/* 4 sets: ioctls 14, flush 3 */
	TAP_EQ_U64(c->n.ioctls, 14, "counters, ioctl mode: ioctls after save/restore");
	TAP_EQ_U64(c->n.reads, 9, "counters, ioctl mode: regs_save counts 4 reads");
	TAP_EQ_U64(c->n.writes, 7, "counters, ioctl mode: regs_restore counts 4 writes");
	TAP_EQ_U64(c->n.flushes, 3, "counters, ioctl mode: flushes after save/restore");
	free(c);

	reset_counts(&f);
	c = new_cache(&f, run, SYNC_ALL, KVM_SYNC_X86_REGS);
	sim_run(&f, c, run, false);
	regs_get_rdi(c);	  /* read 1, free */
	regs_get_rsi(c);	  /* read 2, free */
	regs_set_rax(c, 5);	  /* write 1 */
	regs_flush(c);		  /* page only: flush 1, no ioctl */
	regs_get_cr0(c);	  /* get SREGS: ioctl 1, read 3 */
	regs_set_cr0(c, 0x11);	  /* write 2 */
	regs_set_msr_pat(c, 0x7); /* get MSRS: ioctl 2, write 3 */
	regs_flush(c);		  /* page SREGS + set MSRS: ioctl 3, flush 2 */
	sim_run(&f, c, run, true);
	regs_flush(c); /* clean */
	TAP_EQ_U64(c->n.ioctls, 3, "counters, page mode: ioctls");
	TAP_EQ_U64(c->n.reads, 3, "counters, page mode: reads");
	TAP_EQ_U64(c->n.writes, 3, "counters, page mode: writes");
	TAP_EQ_U64(c->n.flushes, 2, "counters, page mode: flushes (page-only flush counts)");
	TAP_EQ_U64(c->n.ioctls, f.calls, "counters, page mode: ioctls == backend calls");
	free(c);
	free(run);
}

/* ---- (e) sticky errors -------------------------------------------------------------- */

static void test_errors(void)
{
	struct fake f = {0};
	struct kvm_run *run = new_run();
	struct regs *c;

	fill_state(&f.s, 5);
	c = new_cache(&f, NULL, 0, 0);
	f.get_err[REGS_G_SREGS] = -EIO;
	TAP_EQ_U64(regs_get_cr0(c), 0, "errors: a failed SREGS fetch reads as 0");
	TAP_EQ_INT(c->error, -EIO, "errors: c->error holds the failure");
	struct kvm_segment cs = regs_get_cs(c);
	TAP_OK(cs.base == 0 && cs.limit == 0 && cs.selector == 0 && cs.present == 0,
	       "errors: the whole failed group reads as 0 (not the backend's junk)");
	TAP_EQ_INT(f.gets[REGS_G_SREGS], 1, "errors: the failed fetch is not retried per read");
	TAP_EQ_U64(regs_get_rax(c), f.s.regs.rax, "errors: other groups still work");
	TAP_EQ_INT(regs_flush(c), -EIO, "errors: regs_flush with nothing dirty returns the error");
	f.get_err[REGS_G_REGS] = -EPERM;
	regs_after_run(c, true);
	regs_get_rax(c);
	TAP_EQ_INT(c->error, -EIO, "errors: a second failure keeps the first error (sticky)");
	regs_set_rbx(c, 1);
	TAP_EQ_INT(regs_flush(c), -EIO, "errors: regs_flush with something dirty returns it too");
	TAP_EQ_INT(regs_flush(c), -EIO, "errors: ... and keeps returning it");
	struct regs_snapshot snap;
	TAP_EQ_INT(regs_save(c, &snap), -EIO, "errors: regs_save returns the sticky error");
	free(c);

	/* A failed MSR fetch keeps the MSR list usable. */
	memset(f.get_err, 0, sizeof(f.get_err));
	f.get_err[REGS_G_MSRS] = -EINVAL;
	c = new_cache(&f, NULL, 0, 0);
	TAP_EQ_U64(regs_get_msr_lstar(c), 0, "errors: failed MSR fetch reads as 0");
	bool list_ok = c->MSRS->nmsrs == REGS_MSR_COUNT;
	for (unsigned i = 0; i < REGS_MSR_COUNT; i++)
		list_ok &= c->MSRS->e[i].index == msrs[i].index && c->MSRS->e[i].reserved == 0 &&
			   c->MSRS->e[i].data == 0;
	TAP_OK(list_ok, "errors: after a failed MSR fetch the header and index list are rebuilt");
	f.get_err[REGS_G_MSRS] = 0;
	regs_set_msr_lstar(c, 0xabc);
	regs_flush(c);
	TAP_OK(f.msr_nmsrs_seen == REGS_MSR_COUNT && f.msr_unknown == 0 &&
		   f.s.msr[msr_pos(MSR_LSTAR)] == 0xabc,
	       "errors: a later MSR set still sends a valid list");
	free(c);

	/* A failed set. */
	f.set_err[REGS_G_REGS] = -ENXIO;
	c = new_cache(&f, NULL, 0, 0);
	regs_set_rax(c, 1);
	regs_set_cr8(c, 0);
	TAP_EQ_INT(regs_flush(c), -ENXIO, "errors: a failed set is returned by regs_flush");
	TAP_EQ_INT(f.sets[REGS_G_SREGS], 1, "errors: ... the other dirty group was still written");
	TAP_EQ_INT(c->error, -ENXIO, "errors: ... and is sticky");
	free(c);
	f.set_err[REGS_G_REGS] = 0;

	/* Page mode: a failed fetch into the page zeroes the page slot. */
	f.get_err[REGS_G_SREGS] = -EIO;
	c = new_cache(&f, run, SYNC_ALL, KVM_SYNC_X86_REGS);
	TAP_EQ_U64(regs_get_cr4(c), 0, "errors, page: a failed SREGS fetch reads as 0");
	TAP_OK(run->s.regs.sregs.cr4 == 0 && run->s.regs.sregs.efer == 0,
	       "errors, page: the page's SREGS slot was zeroed");
	TAP_EQ_INT(regs_flush(c), -EIO, "errors, page: regs_flush returns it");
	free(c);
	free(run);
}

/* ---- (f) snapshots ------------------------------------------------------------------- */

static void test_snapshot(void)
{
	const uint32_t ev_flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;

	for (int page = 0; page < 2; page++) {
		const char *mode = page ? "page" : "ioctl";
		struct fake f = {0};
		struct kvm_run *run = page ? new_run() : NULL;
		struct regs *c;
		struct regs_snapshot snap;

		fill_state(&f.s, 6);
		f.s.events.flags = 0;
		c = new_cache(&f, run, SYNC_ALL, KVM_SYNC_X86_REGS);
		sim_run(&f, c, run, false);
		struct vstate at_save = f.s;
		TAP_EQ_INT(regs_save(c, &snap), 0, "snapshot, %s: regs_save returns 0", mode);
		TAP_OK(memcmp(&snap.regs, &f.s.regs, sizeof(snap.regs)) == 0 &&
			   memcmp(&snap.sregs, &f.s.sregs, sizeof(snap.sregs)) == 0 &&
			   memcmp(&snap.fpu, &f.s.fpu, sizeof(snap.fpu)) == 0 &&
			   memcmp(&snap.events, &f.s.events, sizeof(snap.events)) == 0,
		       "snapshot, %s: the snapshot holds KVM's state", mode);

		/* The guest runs on and kestrel changes things. */
		regs_set_rax(c, 0x77);
		regs_set_cr0(c, 0x11);
		struct kvm_fpu fpu = snap.fpu;
		fpu.fcw = 0x1;
		regs_put_FPU(c, &fpu);
		for (int i = 0; i < 3; i++)
			flush_run(&f, c, run, true);
		TAP_OK(!state_eq(&f.s, &at_save), "snapshot, %s: the state moved on", mode);

		reset_counts(&f);
		regs_restore(c, &snap);
		TAP_EQ_INT(f.calls, 0, "snapshot, %s: regs_restore makes no backend call", mode);
		TAP_EQ_U64(c->dirty,
			   REGS_BIT(REGS_G_REGS) | REGS_BIT(REGS_G_SREGS) | REGS_BIT(REGS_G_FPU) |
			       REGS_BIT(REGS_G_EVENTS),
			   "snapshot, %s: REGS, SREGS, FPU, EVENTS dirty", mode);
		TAP_EQ_INT(regs_flush(c), 0, "snapshot, %s: one flush", mode);
		if (!page) {
			TAP_OK(f.nlog == 4 && f.sets[REGS_G_REGS] == 1 &&
				   f.sets[REGS_G_SREGS] == 1 && f.sets[REGS_G_FPU] == 1 &&
				   f.sets[REGS_G_EVENTS] == 1,
			       "snapshot, ioctl: the flush wrote REGS+SREGS+FPU+EVENTS once each");
		} else {
			TAP_OK(f.nlog == 1 && f.sets[REGS_G_FPU] == 1 &&
				   run->kvm_dirty_regs == SYNC_ALL,
			       "snapshot, page: FPU by set, REGS+SREGS+EVENTS via kvm_dirty_regs");
		}
		TAP_EQ_INT(f.gets[REGS_G_REGS] + f.gets[REGS_G_SREGS] + f.gets[REGS_G_FPU] +
			       f.gets[REGS_G_EVENTS],
			   0, "snapshot, %s: nothing fetched for the restore", mode);
		sim_run(&f, c, run, false); /* page mode: KVM applies the page */
		struct vstate want = at_save;
		want.events.flags |=
		    ev_flags;		/* regs_restore asks KVM to apply NMI and shadow state */
		want.debug = f.s.debug; /* not part of a snapshot */
		memcpy(want.msr, f.s.msr, sizeof(want.msr));
		TAP_OK(state_eq(&f.s, &want), "snapshot, %s: KVM state equals the snapshot again",
		       mode);
		if (!state_eq(&f.s, &want))
			diag_state_diff(&f.s, &want);
		TAP_EQ_U64(snap.events.flags, 0,
			   "snapshot, %s: regs_restore left the snapshot alone", mode);
		free(c);
		free(run);
	}
}

/* ---- (g) the MSR group --------------------------------------------------------------- */

static void test_msrs(void)
{
	struct fake f = {0};
	struct regs *c;

	fill_state(&f.s, 8);
	c = new_cache(&f, NULL, 0, 0);
	TAP_EQ_INT(REGS_MSR_COUNT, NKNOWN, "msrs: regs.def lists %u MSRs", (unsigned)NKNOWN);
	uint64_t lstar = regs_get_msr_lstar(c);
	TAP_EQ_INT(f.gets[REGS_G_MSRS], 1, "msrs: regs_get_msr_lstar fetches the MSR group once");
	TAP_EQ_INT(f.msr_nmsrs_seen, REGS_MSR_COUNT, "msrs: the get saw nmsrs == REGS_MSR_COUNT");
	bool has_lstar = false;
	for (unsigned i = 0; i < REGS_MSR_COUNT; i++)
		has_lstar |= f.msr_idx_seen[i] == MSR_LSTAR;
	TAP_OK(has_lstar, "msrs: index 0xc0000082 (LSTAR) in the list");
	TAP_EQ_INT(f.msr_unknown, 0, "msrs: every index in the list is a real MSR");
	TAP_EQ_U64(lstar, f.s.msr[msr_pos(MSR_LSTAR)], "msrs: LSTAR value from KVM");
	TAP_EQ_U64(regs_get_msr_tsc(c), f.s.msr[msr_pos(0x10)], "msrs: TSC value from KVM");
	TAP_EQ_U64(regs_get_msr_tsc_aux(c), f.s.msr[msr_pos(0xc0000103)], "msrs: TSC_AUX value");
	TAP_EQ_INT(f.calls, 1, "msrs: later MSR reads cost nothing");
	bool names_ok = true;
	for (unsigned i = 0; i < N(msrs); i++)
		names_ok &= msr_pos(msrs[i].index) >= 0 && c->MSRS->e[i].index == msrs[i].index;
	TAP_OK(names_ok, "msrs: entry order matches regs.def");

	struct vstate before = f.s;
	regs_set_msr_kernel_gs_base(c, 0xffff800000001000ull);
	regs_flush(c);
	TAP_EQ_INT(f.sets[REGS_G_MSRS], 1, "msrs: one set");
	TAP_EQ_INT(f.msr_nmsrs_seen, REGS_MSR_COUNT, "msrs: the set saw nmsrs == REGS_MSR_COUNT");
	before.msr[msr_pos(0xc0000102)] = 0xffff800000001000ull;
	TAP_OK(state_eq(&f.s, &before), "msrs: only KERNEL_GS_BASE changed in KVM");
	free(c);
}

int main(void)
{
	test_ioctl_mode();
	test_page_mode();
	test_equivalence();
	test_counters();
	test_errors();
	test_snapshot();
	test_msrs();
	return tap_done();
}
