/* vcpu.c (x86) - start state through the register cache, the exits that end a VM, crash reports. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/arch.h"
#include "arch/x86/boot.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/entry.h"
#include "arch/x86/quirk.h"
#include "obs/profile.h"
#include "core/vcpu.h"

struct kvm_cpuid2 *vcpu_cpuid_table(const struct kestrel_vm *vm, unsigned index)
{
	const struct kvm_cpuid2 *base = vm->cpuid;
	size_t size = sizeof(*base) + base->nent * sizeof(base->entries[0]);
	struct kvm_cpuid2 *t = malloc(size);

	if (t) {
		memcpy(t, base, size);
		x86_cpuid_for_vcpu(t, index);
	}
	return t;
}

int arch_vcpu_init(struct vcpu *v)
{
	struct kestrel_vm *vm = v->vm;

	if (!(v->cpuid = vcpu_cpuid_table(vm, v->index)))
		return -ENOMEM;
	if (ioctl(v->fd, KVM_SET_CPUID2, v->cpuid) < 0)
		return -errno;
	/* The guest gets only the PV features it was told about: an MSR or
	 * hypercall of any other is refused (#GP, -KVM_ENOSYS), so --no-pv
	 * really is "no PV" and not just "not advertised". */
	if (vm->cap_enforce_pv) {
		struct kvm_enable_cap ec = {.cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = {1}};
		if (ioctl(v->fd, KVM_ENABLE_CAP, &ec) < 0)
			return -errno;
	}
	return 0;
}

int arch_vcpu_reset(struct vcpu *v)
{
	struct kestrel_vm *vm = v->vm;
	struct kvm_sregs s = *regs_group_SREGS(&v->regs); /* keeps KVM's APIC base */
	struct kvm_regs r;

	if (!x86_plan_vcpu(&vm->plan, &vm->mem, v->index, &s, &r))
		return 0; /* an AP that waits for INIT/SIPI: KVM's reset state */
	/* With the in-kernel LAPIC every vCPU but the BSP waits for INIT/SIPI;
	 * kestrel's own ABI starts them all at the entry point instead. */
	if (v->index > 0) {
		struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
			return -errno;
	}
	regs_put_SREGS(&v->regs, &s);
	regs_put_REGS(&v->regs, &r);
	return v->regs.error;
}

static const char *arch_internal_name(uint32_t sub)
{
	switch (sub) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed (an instruction KVM cannot emulate, or code "
		       "outside RAM)";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected hardware exit reason";
	default:
		return "unknown suberror";
	}
}

static int arch_stop(struct vcpu *v, enum kestrel_exit_kind kind, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int arch_stop(struct vcpu *v, enum kestrel_exit_kind kind, int status, const char *fmt, ...)
{
	struct kestrel_exit e = {.kind = kind, .status = status, .cpu = (int)v->index};
	va_list ap;

	e.rip = regs_get_rip(&v->regs);
	va_start(ap, fmt);
	vsnprintf(e.reason, sizeof(e.reason), fmt, ap);
	va_end(ap);
	arch_vcpu_dump(v, e.report, sizeof(e.report));
	return vm_stop(v->vm, &e);
}

int arch_vcpu_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		return arch_stop(v, KESTREL_EXIT_TRIPLE_FAULT, KESTREL_STATUS_TRIPLE_FAULT,
				 "cpu %u: triple fault (KVM_EXIT_SHUTDOWN)", v->index);
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			return vm_stop_fmt(v->vm, v, KESTREL_EXIT_POWEROFF, 0, "guest powered off");
		case KVM_SYSTEM_EVENT_RESET:
			return vm_stop_fmt(v->vm, v, KESTREL_EXIT_RESET, KESTREL_STATUS_RESET,
					   "guest reset the machine (system event)");
		default:
			return arch_stop(v, KESTREL_EXIT_GUEST_ERROR, KESTREL_STATUS_GUEST_ERROR,
					 "cpu %u: system event %u (crash)", v->index,
					 run->system_event.type);
		}
	case KVM_EXIT_INTERNAL_ERROR: {
		char data[128] = "";
		int q = x86_quirk_emulation_failure(v);
		if (q != -1)
			return q; /* carried out (0) or a host failure */
		int n = 0;
		for (uint32_t i = 0; i < run->internal.ndata && i < 4 && n < (int)sizeof(data); i++)
			n += snprintf(data + n, sizeof(data) - (size_t)n, " 0x%llx",
				      (unsigned long long)run->internal.data[i]);
		return arch_stop(v, KESTREL_EXIT_GUEST_ERROR, KESTREL_STATUS_GUEST_ERROR,
				 "cpu %u: KVM internal error, suberror %u: %s%s%s", v->index,
				 run->internal.suberror, arch_internal_name(run->internal.suberror),
				 n ? "; data" : "", data);
	}
	case KVM_EXIT_DEBUG: /* kestrel never asks for guest debugging */
		return arch_stop(v, KESTREL_EXIT_GUEST_ERROR, KESTREL_STATUS_GUEST_ERROR,
				 "cpu %u: debug exit (KVM_EXIT_DEBUG) at 0x%llx, dr6 0x%llx",
				 v->index, (unsigned long long)run->debug.arch.pc,
				 (unsigned long long)run->debug.arch.dr6);
	case KVM_EXIT_FAIL_ENTRY:
		return arch_stop(
		    v, KESTREL_EXIT_GUEST_ERROR, KESTREL_STATUS_GUEST_ERROR,
		    "cpu %u: VM entry failed, hardware reason 0x%llx (invalid guest state)",
		    v->index, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	default:
		return arch_stop(v, KESTREL_EXIT_GUEST_ERROR, KESTREL_STATUS_GUEST_ERROR,
				 "cpu %u: unhandled exit reason %u (KVM_EXIT_%s)", v->index,
				 run->exit_reason, profile_reason_name(run->exit_reason));
	}
}

static int arch_fmt_seg(char *b, size_t len, const char *name, const struct kvm_segment *s)
{
	return snprintf(b, len,
			"%-3s sel=%04x base=%016llx limit=%08x type=%x p=%u dpl=%u db=%u l=%u\n",
			name, s->selector, (unsigned long long)s->base, s->limit, s->type,
			s->present, s->dpl, s->db, s->l);
}

void arch_vcpu_dump(struct vcpu *v, char *buf, size_t len)
{
	const struct kvm_regs *r = regs_group_REGS(&v->regs);
	const struct kvm_sregs *s = regs_group_SREGS(&v->regs);
	struct kvm_translation tr = {.linear_address = r->rip};
	size_t n = 0;

#define DUMP(...)                                                                                  \
	do {                                                                                       \
		if (n < len)                                                                       \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                      \
	} while (0)
	DUMP("rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n", r->rax, r->rbx, r->rcx, r->rdx);
	DUMP("rsi=%016llx rdi=%016llx rsp=%016llx rbp=%016llx\n", r->rsi, r->rdi, r->rsp, r->rbp);
	DUMP("r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n", r->r8, r->r9, r->r10, r->r11);
	DUMP("r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n", r->r12, r->r13, r->r14, r->r15);
	DUMP("rip=%016llx rflags=%016llx\n", r->rip, r->rflags);
	DUMP("cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx\n", s->cr0, s->cr2, s->cr3,
	     s->cr4, s->efer);
	if (n < len)
		n += (size_t)arch_fmt_seg(buf + n, len - n, "cs", &s->cs);
	if (n < len)
		n += (size_t)arch_fmt_seg(buf + n, len - n, "ss", &s->ss);
	if (n < len)
		n += (size_t)arch_fmt_seg(buf + n, len - n, "tr", &s->tr);
	DUMP("gdt base=%016llx limit=%04x  idt base=%016llx limit=%04x\n", s->gdt.base,
	     s->gdt.limit, s->idt.base, s->idt.limit);
	/* The code bytes: RIP is virtual, so ask KVM to walk the guest's own page
	 * tables, then read through the checked helper. */
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) == 0 && tr.valid) {
		/* Up to 16 bytes: fewer where RAM ends (the last bytes of a region). */
		uint64_t have = guest_mem_room(&v->vm->mem, tr.physical_address, 16);
		const uint8_t *code = guest_mem_ptr(&v->vm->mem, tr.physical_address, have);
		if (code && have) {
			if (have < 16)
				DUMP("code at rip (gpa 0x%llx; RAM ends after %u byte%s):",
				     tr.physical_address, (unsigned)have, have == 1 ? "" : "s");
			else
				DUMP("code at rip (gpa 0x%llx):", tr.physical_address);
			for (uint64_t i = 0; i < have; i++)
				DUMP(" %02x", code[i]);
			DUMP("\n");
		} else {
			DUMP("code at rip: gpa 0x%llx is not RAM\n", tr.physical_address);
		}
	} else {
		DUMP("code at rip: not mapped by the guest's page tables\n");
	}
#undef DUMP
	if (n >= len && len > 0)
		buf[len - 1] = '\0';
}
