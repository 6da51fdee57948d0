/* regs.c - register cache logic (see regs.h) and its KVM ioctl backend. */
#include "core/regs.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

struct regs_group_info {
	uint32_t sync_bit; /* KVM_SYNC_X86_*, 0 if ioctl only */
	unsigned long get_ioctl, set_ioctl;
	size_t size;
};

static const struct regs_group_info regs_groups[REGS_G_COUNT] = {
#define REG_GROUP(id, type, sync_bit, g, s) [REGS_G_##id] = {sync_bit, g, s, sizeof(type)},
#include "core/regs.def"
};

_Static_assert(REGS_BIT(REGS_G_REGS) == KVM_SYNC_X86_REGS &&
		   REGS_BIT(REGS_G_SREGS) == KVM_SYNC_X86_SREGS &&
		   REGS_BIT(REGS_G_EVENTS) == KVM_SYNC_X86_EVENTS,
	       "page-backed groups must match the KVM_SYNC_X86_* bits (regs_flush)");

static const uint32_t regs_msr_index[REGS_MSR_COUNT] = {
#define REG_MSR(name, index) [REGS_MSR_##name] = index,
#include "core/regs.def"
};

/* The MSR group carries its own header and index list. */
static void regs_msrs_prepare(struct regs_msrs *m)
{
	m->nmsrs = REGS_MSR_COUNT;
	m->pad = 0;
	for (unsigned i = 0; i < REGS_MSR_COUNT; i++) {
		m->e[i].index = regs_msr_index[i];
		m->e[i].reserved = 0;
	}
}

/* Group storage on the shared page, by group (NULL when it has none). */
static void *regs_page_slot(struct kvm_run *run, enum regs_group g)
{
	switch (g) {
	case REGS_G_REGS:
		return &run->s.regs.regs;
	case REGS_G_SREGS:
		return &run->s.regs.sregs;
	case REGS_G_EVENTS:
		return &run->s.regs.events;
	default:
		return NULL;
	}
}

void regs_init(struct regs *c, struct kvm_run *run, uint32_t sync_caps, uint32_t page_valid,
	       struct regs_backend be)
{
	memset(c, 0, offsetof(struct regs, REGS));
	c->run = run;
	c->be = be;
#define REG_GROUP(id, type, sync_bit, g, s) c->id = &c->own_##id;
#include "core/regs.def"
	regs_msrs_prepare(&c->own_MSRS);
	if (!run)
		return;
	for (unsigned g = 0; g < REGS_G_COUNT; g++) {
		uint32_t bit = regs_groups[g].sync_bit;
		if (!bit || !(sync_caps & bit))
			continue;
		c->on_page |= REGS_BIT(g);
		if (page_valid & bit)
			c->page_valid |= REGS_BIT(g);
	}
#define REG_GROUP(id, type, sync_bit, g, s)                                                        \
	if (c->on_page & REGS_BIT(REGS_G_##id))                                                    \
		c->id = regs_page_slot(run, REGS_G_##id);
#include "core/regs.def"
	run->kvm_valid_regs = 0;
	for (unsigned g = 0; g < REGS_G_COUNT; g++)
		if (c->page_valid & REGS_BIT(g))
			run->kvm_valid_regs |= regs_groups[g].sync_bit;
	run->kvm_dirty_regs = 0;
}

static void *regs_storage(struct regs *c, enum regs_group g)
{
	switch (g) {
#define REG_GROUP(id, type, sync_bit, gi, si)                                                      \
	case REGS_G_##id:                                                                          \
		return c->id;
#include "core/regs.def"
	default:
		return NULL;
	}
}

void regs_fetch(struct regs *c, enum regs_group g)
{
	void *buf = regs_storage(c, g);
	int r;

	c->n.ioctls++;
	r = c->be.get(c->be.ctx, g, buf);
	if (r < 0) {
		memset(buf, 0, regs_groups[g].size);
		if (g == REGS_G_MSRS)
			regs_msrs_prepare(buf);
		if (!c->error)
			c->error = r;
	}
	/* Valid even on error: one failed fetch is reported once, not retried per read. */
	c->valid |= REGS_BIT(g);
}

int regs_flush(struct regs *c)
{
	uint32_t dirty = c->dirty;

	if (!dirty)
		return c->error;
	c->n.flushes++;
	c->dirty = 0;
	/* Groups on the shared page: KVM applies them at the start of the next
	 * KVM_RUN (regs, then sregs, then events). No syscall here, and no loop:
	 * the page groups come first in regs.def with the KVM_SYNC_X86_* bit
	 * order (checked below), so the masks line up. */
	if (dirty & c->on_page) {
		c->run->kvm_dirty_regs |= dirty & c->on_page;
		dirty &= ~c->on_page;
		if (!dirty)
			return c->error;
	}
	/* The rest by ioctl, control state first: SREGS (CR0/EFER/segments)
	 * before REGS, as a real CPU would load them. */
	static const enum regs_group order[] = {REGS_G_SREGS, REGS_G_REGS,  REGS_G_EVENTS,
						REGS_G_FPU,   REGS_G_DEBUG, REGS_G_MSRS};
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum regs_group g = order[i];
		if (!(dirty & REGS_BIT(g)))
			continue;
		c->n.ioctls++;
		int r = c->be.set(c->be.ctx, g, regs_storage(c, g));
		if (r < 0 && !c->error)
			c->error = r;
	}
	return c->error;
}

void regs_after_run(struct regs *c, bool ok)
{
	/* The guest ran: only what KVM copied out is current. After a failed
	 * KVM_RUN the page may not have been refreshed, so trust nothing. */
	c->valid = ok ? c->page_valid : 0;
	c->dirty = 0;
}

int regs_save(struct regs *c, struct regs_snapshot *s)
{
	s->regs = *regs_group_REGS(c);
	s->sregs = *regs_group_SREGS(c);
	s->fpu = *regs_group_FPU(c);
	s->events = *regs_group_EVENTS(c);
	return c->error;
}

void regs_restore(struct regs *c, const struct regs_snapshot *s)
{
	regs_put_REGS(c, &s->regs);
	regs_put_SREGS(c, &s->sregs);
	regs_put_FPU(c, &s->fpu);
	struct kvm_vcpu_events ev = s->events;
	/* KVM_SET_VCPU_EVENTS only applies the optional parts flagged valid. */
	ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	regs_put_EVENTS(c, &ev);
}

static int regs_kvm_get(void *ctx, enum regs_group g, void *buf)
{
	int fd = (int)(intptr_t)ctx;
	return ioctl(fd, regs_groups[g].get_ioctl, buf) < 0 ? -errno : 0;
}

static int regs_kvm_set(void *ctx, enum regs_group g, const void *buf)
{
	int fd = (int)(intptr_t)ctx;
	int r = ioctl(fd, regs_groups[g].set_ioctl, buf);

	if (r < 0)
		return -errno;
	/* KVM_SET_MSRS returns how many it set; a short count is a failure. */
	if (g == REGS_G_MSRS && r != REGS_MSR_COUNT)
		return -EINVAL;
	return 0;
}

struct regs_backend regs_kvm_backend(int vcpu_fd)
{
	return (struct regs_backend){regs_kvm_get, regs_kvm_set, (void *)(intptr_t)vcpu_fd};
}
