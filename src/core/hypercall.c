/* hypercall.c - kestrel's register-based hypercalls: `out` to KESTREL_HC_PORT_BASE + nr, args in
 * RDI/RSI/RDX/RCX, result in RAX. */
#include "core/hypercall.h"

#include "core/vm.h"

/* With the shared register page the argument reads and the RAX write cost no
 * ioctl: the page already holds the registers, and the write rides on the
 * next KVM_RUN (kvm_dirty_regs). RIP is left alone: KVM completes the `out`. */

/* The whole of RDI counts: exit(256) is not exit(0), and 120.. would pose as
 * one of kestrel's own statuses (kestrel_exit_status maps them to 125). */
static int hc_exit(struct vcpu *v)
{
	uint64_t code = regs_get_rdi(&v->regs);

	if (code <= KESTREL_STATUS_GUEST_MAX)
		return vm_stop_fmt(v->vm, v, KESTREL_EXIT_GUEST, (int)code,
				   "guest exited with status %d", (int)code);
	return vm_stop_fmt(v->vm, v, KESTREL_EXIT_GUEST, KESTREL_STATUS_GUEST_ERROR,
			   "guest exited with status %llu, outside the guest's 0-%d (kestrel's "
			   "own statuses start at 120)",
			   (unsigned long long)code, KESTREL_STATUS_GUEST_MAX);
}

static int64_t hc_puts(struct vcpu *v)
{
	uint64_t gpa = regs_get_rdi(&v->regs), len = regs_get_rsi(&v->regs);
	const void *p;

	if (len > KESTREL_PUTS_MAX)
		return -KESTREL_EINVAL;
	p = guest_mem_ptr(&v->vm->mem, gpa, len);
	if (!p)
		return -KESTREL_EFAULT;
	console_write(v->vm, p, len);
	return (int64_t)len;
}

/* A snapshot is taken mid-`out`, so the guest names where to resume: the
 * saved RIP is RDI, not whatever KVM's RIP is (before the `out` on the fast
 * path, after it when KVM emulated the instruction). */
static int64_t hc_snapshot(struct vcpu *v)
{
	uint64_t resume = regs_get_rdi(&v->regs);

	if (regs_save(&v->regs, &v->snap) < 0)
		return -KESTREL_EINVAL;
	v->snap.regs.rip = resume;
	v->snap.regs.rax = 1;
	v->has_snap = true;
	return 0;
}

static int64_t hc_add(struct vcpu *v)
{
	struct regs *r = &v->regs;

	return (int64_t)(regs_get_rdi(r) + regs_get_rsi(r) + regs_get_rdx(r) + regs_get_rcx(r));
}

static int64_t hc_nop(struct vcpu *v)
{
	return 0;
}

/* HC_EXIT and HC_RESTORE do not answer in RAX: they return HC_NO_RESULT. */
#define HC_NO_RESULT INT64_MIN

static int64_t hc_restore(struct vcpu *v)
{
	if (!v->has_snap)
		return -KESTREL_EINVAL;
	/* Everything, RIP and RAX included, leaves in the next flush. */
	regs_restore(&v->regs, &v->snap);
	return HC_NO_RESULT;
}

/* The table: one row per call in abi.h's enum kestrel_hypercall. */
static const struct hypercall {
	const char *name;
	int64_t (*fn)(struct vcpu *v);
} hypercalls[KESTREL_HC_COUNT] = {
    [KESTREL_HC_EXIT] = {"exit", NULL}, /* ends the VM: handled below */
    [KESTREL_HC_PUTS] = {"puts", hc_puts},
    [KESTREL_HC_ADD] = {"add", hc_add},
    [KESTREL_HC_NOP] = {"nop", hc_nop},
    [KESTREL_HC_SNAPSHOT] = {"snapshot", hc_snapshot},
    [KESTREL_HC_RESTORE] = {"restore", hc_restore},
};

const char *hypercall_name(unsigned nr)
{
	return nr < KESTREL_HC_COUNT && hypercalls[nr].name ? hypercalls[nr].name : "unknown";
}

int hypercall_dispatch(struct vcpu *v, unsigned nr)
{
	int64_t ret;

	if (nr == KESTREL_HC_EXIT)
		return hc_exit(v);
	ret = nr < KESTREL_HC_COUNT && hypercalls[nr].fn ? hypercalls[nr].fn(v) : -KESTREL_ENOSYS;
	/* An `in` from a hypercall port would have KVM overwrite AL/AX/EAX after
	 * our write; only `out` is the ABI, so the value goes in RAX alone. */
	if (ret != HC_NO_RESULT)
		regs_set_rax(&v->regs, (uint64_t)ret);
	return 0;
}

/* The bus's view of the same: the port offset is the call number, and the
 * size and value of an `out` do not matter (a `rep outs` comes this way). An
 * `in` is outside the ABI: no call is made, and it reads 0 (the bus zeroed
 * the data), leaving the rest of RAX as it was. */
static int hypercall_io(struct vcpu *v, void *opaque, uint64_t nr, uint8_t *data, uint32_t len,
			bool is_write)
{
	if (!is_write)
		return 0;
	return hypercall_dispatch(v, (unsigned)nr);
}

int hypercall_register(struct kestrel_vm *vm)
{
	return bus_register(&vm->bus, BUS_PIO, KESTREL_HC_PORT_BASE, KESTREL_HC_COUNT, hypercall_io,
			    NULL, "hypercall");
}
