/* hypercall.c - kestrel's register-based hypercalls: `out` to KESTREL_HC_PORT_BASE + nr, args in RDI/RSI/RDX/RCX, result in RAX. */
#include "dev/devices.h"

#include "core/vm.h"

/* With the shared register page the argument reads and the RAX write cost no
 * ioctl: the page already holds the registers, and the write rides on the
 * next KVM_RUN (kvm_dirty_regs). RIP is left alone: KVM completes the `out`. */

static int hc_exit(struct vcpu *v)
{
	uint64_t code = regs_get_rdi(&v->regs);
	return vm_stop_fmt(v->vm, v, KESTREL_EXIT_GUEST, (int)(code & 0xff),
			   "guest exited with status %d", (int)(code & 0xff));
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
	vm_console_write(v->vm, p, len);
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

int hypercall_dispatch(struct vcpu *v, unsigned nr)
{
	struct regs *r = &v->regs;
	int64_t ret;

	switch (nr) {
	case KESTREL_HC_EXIT:
		return hc_exit(v);
	case KESTREL_HC_PUTS:
		ret = hc_puts(v);
		break;
	case KESTREL_HC_ADD:
		ret = (int64_t)(regs_get_rdi(r) + regs_get_rsi(r) + regs_get_rdx(r) + regs_get_rcx(r));
		break;
	case KESTREL_HC_NOP:
		ret = 0;
		break;
	case KESTREL_HC_SNAPSHOT:
		ret = hc_snapshot(v);
		break;
	case KESTREL_HC_RESTORE:
		if (!v->has_snap) {
			ret = -KESTREL_EINVAL;
			break;
		}
		/* Everything, RIP and RAX included, leaves in the next flush. */
		regs_restore(r, &v->snap);
		return 0;
	default:
		ret = -KESTREL_ENOSYS;
		break;
	}
	/* An `in` from a hypercall port would have KVM overwrite AL/AX/EAX after
	 * our write; only `out` is the ABI, so the value goes in RAX alone. */
	regs_set_rax(r, (uint64_t)ret);
	return 0;
}

/* The bus's view of the same: the port offset is the call number, and the
 * direction, size and value of the access do not matter. */
static int hypercall_io(struct vcpu *v, void *opaque, uint64_t nr, uint8_t *data, uint32_t len,
			bool is_write)
{
	return hypercall_dispatch(v, (unsigned)nr);
}

int hypercall_init(struct kestrel_vm *vm)
{
	return bus_register(&vm->bus, BUS_PIO, KESTREL_HC_PORT_BASE, KESTREL_HC_COUNT, hypercall_io,
			    NULL, "hypercall");
}
