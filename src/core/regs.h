/* regs.h - per-vCPU register cache: lazy reads, dirty bits, one batched write-back before KVM_RUN.
 */
#ifndef KESTREL_REGS_H
#define KESTREL_REGS_H

/*
 * Every register kestrel touches goes through this cache (generated from
 * regs.def). After each KVM_RUN the groups KVM copied to the shared kvm_run
 * page are valid for free; any other group is fetched once, on first read.
 * A write only stores the value and sets the group's dirty bit; regs_flush(),
 * called as the very last thing before KVM_RUN, writes everything dirty back:
 * by setting kvm_run->kvm_dirty_regs for groups on the shared page (no
 * syscall), otherwise with one SET ioctl per dirty group.
 *
 * Backend choice (shared page or ioctls) is made once in regs_init().
 * Errors from a fetch are sticky in c->error (values read as 0); regs_flush()
 * returns them, so a hot-path accessor never needs an error check.
 */

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

enum regs_msr_idx {
#define REG_MSR(name, index) REGS_MSR_##name,
#include "core/regs.def"
	REGS_MSR_COUNT
};

/* The MSR group: laid out as struct kvm_msrs (what KVM_GET/SET_MSRS take)
 * followed by kestrel's fixed list of entries. */
struct regs_msrs {
	uint32_t nmsrs, pad;
	struct kvm_msr_entry e[REGS_MSR_COUNT];
};

enum regs_group {
#define REG_GROUP(id, type, sync_bit, g, s) REGS_G_##id,
#include "core/regs.def"
	REGS_G_COUNT
};
#define REGS_BIT(g) (1u << (g))
#define REGS_ALL ((1u << REGS_G_COUNT) - 1)

/* Where groups come from and go to: KVM ioctls on a vCPU fd, or a fake in tests.
 * get/set return 0 or a negative errno; each call counts as one register ioctl. */
struct regs_backend {
	int (*get)(void *ctx, enum regs_group g, void *buf);
	int (*set)(void *ctx, enum regs_group g, const void *buf);
	void *ctx;
};

struct regs_counters {
	uint64_t ioctls;	/* backend get/set calls */
	uint64_t reads, writes; /* accessor calls */
	uint64_t flushes;	/* flushes that had something dirty */
};

struct regs {
	uint32_t valid;	     /* groups whose cached value is current */
	uint32_t dirty;	     /* groups written since the last flush */
	uint32_t on_page;    /* groups stored on the kvm_run page */
	uint32_t page_valid; /* groups KVM copies to the page after every run */
	int error;	     /* first fetch error (sticky), 0 if none */
	struct kvm_run *run; /* NULL: ioctl backend only */
	struct regs_backend be;
	struct regs_counters n;
	/* Storage: each pointer aims at the kvm_run page or at own_* below. */
#define REG_GROUP(id, type, sync_bit, g, s) type *id;
#include "core/regs.def"
#define REG_GROUP(id, type, sync_bit, g, s) type own_##id;
#include "core/regs.def"
};

/*
 * regs_init - set up the cache for one vCPU. With `run` non-NULL and
 * `sync_caps` (KVM_CHECK_EXTENSION(KVM_CAP_SYNC_REGS)) covering a group, that
 * group lives on the shared page; `page_valid` (a subset, as KVM_SYNC_X86_*
 * bits) is what KVM is asked to copy out after every exit. run == NULL or
 * sync_caps == 0 gives the pure ioctl fallback with identical behaviour.
 */
void regs_init(struct regs *c, struct kvm_run *run, uint32_t sync_caps, uint32_t page_valid,
	       struct regs_backend be);

/* regs_fetch - make group g valid (one backend get). Used by the accessors. */
void regs_fetch(struct regs *c, enum regs_group g);

/* regs_flush - write back everything dirty; call right before KVM_RUN.
 * Returns 0 or the first error (sticky fetch error or a failed set). */
int regs_flush(struct regs *c);

/* regs_after_run - KVM_RUN returned (ok != false: successfully): only what KVM
 * copied to the page is valid now. */
void regs_after_run(struct regs *c, bool ok);

static inline void regs_need(struct regs *c, enum regs_group g)
{
	if (__builtin_expect(!(c->valid & REGS_BIT(g)), 0))
		regs_fetch(c, g);
}

static inline void regs_mark(struct regs *c, enum regs_group g)
{
	c->dirty |= REGS_BIT(g);
	c->n.writes++;
}

/* Typed accessors: regs_get_rax(c), regs_set_rip(c, v), regs_get_cs(c), ... */
#define REG_GPR(name)                                                                              \
	static inline uint64_t regs_get_##name(struct regs *c)                                     \
	{                                                                                          \
		regs_need(c, REGS_G_REGS);                                                         \
		c->n.reads++;                                                                      \
		return c->REGS->name;                                                              \
	}                                                                                          \
	static inline void regs_set_##name(struct regs *c, uint64_t v)                             \
	{                                                                                          \
		regs_need(c, REGS_G_REGS);                                                         \
		c->REGS->name = v;                                                                 \
		regs_mark(c, REGS_G_REGS);                                                         \
	}
#define REG_CTL(name)                                                                              \
	static inline uint64_t regs_get_##name(struct regs *c)                                     \
	{                                                                                          \
		regs_need(c, REGS_G_SREGS);                                                        \
		c->n.reads++;                                                                      \
		return c->SREGS->name;                                                             \
	}                                                                                          \
	static inline void regs_set_##name(struct regs *c, uint64_t v)                             \
	{                                                                                          \
		regs_need(c, REGS_G_SREGS);                                                        \
		c->SREGS->name = v;                                                                \
		regs_mark(c, REGS_G_SREGS);                                                        \
	}
#define REG_SEG(name)                                                                              \
	static inline struct kvm_segment regs_get_##name(struct regs *c)                           \
	{                                                                                          \
		regs_need(c, REGS_G_SREGS);                                                        \
		c->n.reads++;                                                                      \
		return c->SREGS->name;                                                             \
	}                                                                                          \
	static inline void regs_set_##name(struct regs *c, struct kvm_segment v)                   \
	{                                                                                          \
		regs_need(c, REGS_G_SREGS);                                                        \
		c->SREGS->name = v;                                                                \
		regs_mark(c, REGS_G_SREGS);                                                        \
	}
#define REG_DT(name)                                                                               \
	static inline struct kvm_dtable regs_get_##name(struct regs *c)                            \
	{                                                                                          \
		regs_need(c, REGS_G_SREGS);                                                        \
		c->n.reads++;                                                                      \
		return c->SREGS->name;                                                             \
	}                                                                                          \
	static inline void regs_set_##name(struct regs *c, struct kvm_dtable v)                    \
	{                                                                                          \
		regs_need(c, REGS_G_SREGS);                                                        \
		c->SREGS->name = v;                                                                \
		regs_mark(c, REGS_G_SREGS);                                                        \
	}
#define REG_MSR(name, index)                                                                       \
	static inline uint64_t regs_get_msr_##name(struct regs *c)                                 \
	{                                                                                          \
		regs_need(c, REGS_G_MSRS);                                                         \
		c->n.reads++;                                                                      \
		return c->MSRS->e[REGS_MSR_##name].data;                                           \
	}                                                                                          \
	static inline void regs_set_msr_##name(struct regs *c, uint64_t v)                         \
	{                                                                                          \
		regs_need(c, REGS_G_MSRS);                                                         \
		c->MSRS->e[REGS_MSR_##name].data = v;                                              \
		regs_mark(c, REGS_G_MSRS);                                                         \
	}
#include "core/regs.def"

/* Whole-group access, for setup, dumps and snapshots. get returns a pointer to
 * the (now valid) cached group; set replaces it without fetching first. */
#define REG_GROUP(id, type, sync_bit, g, s)                                                        \
	static inline const type *regs_group_##id(struct regs *c)                                  \
	{                                                                                          \
		regs_need(c, REGS_G_##id);                                                         \
		c->n.reads++;                                                                      \
		return c->id;                                                                      \
	}                                                                                          \
	static inline void regs_put_##id(struct regs *c, const type *v)                            \
	{                                                                                          \
		*c->id = *v;                                                                       \
		c->valid |= REGS_BIT(REGS_G_##id);                                                 \
		regs_mark(c, REGS_G_##id);                                                         \
	}
#include "core/regs.def"

/* A saved register state (regs_save / regs_restore): the building block for
 * running a guest function again and again from the same start. */
struct regs_snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_vcpu_events events;
};

/* regs_save - copy the vCPU's REGS, SREGS, FPU and EVENTS into *s (fetching what
 * is not cached). Returns 0 or the sticky error. */
int regs_save(struct regs *c, struct regs_snapshot *s);

/* regs_restore - make *s the vCPU's state; it reaches KVM in the next flush,
 * all at once. */
void regs_restore(struct regs *c, const struct regs_snapshot *s);

/* regs_kvm_backend - the real backend: ioctls on vCPU fd (ctx is (void *)(intptr_t)fd). */
struct regs_backend regs_kvm_backend(int vcpu_fd);

#endif
