/* quirk_syscall.c - the host quirk for user-mode `syscall`: a breakpoint on LSTAR finishes the
 * entry at CPL0. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/quirk.h"
#include "core/vcpu.h"

/*
 * On a quirky host (quirk.h) a `syscall` executed at CPL3 loads RIP from
 * LSTAR, RCX and R11 as it should, but leaves CS/SS (and so the CPL) as they
 * were: the first fetch of kernel text is then a user-mode #PF and the
 * kernel kills the process ("segfault at ... entry_SYSCALL_64"). No kernel
 * symbol is needed to catch it: an instruction breakpoint (DR0 = LSTAR,
 * through KVM_SET_GUEST_DEBUG, so the guest's own debug registers are not
 * touched) is a fault of higher priority than the fetch's #PF, and KVM
 * reports it as KVM_EXIT_DEBUG. There kestrel does what the CPU should have
 * done (SDM vol. 2B, SYSCALL): CS = STAR[47:32] (64-bit code, DPL 0),
 * SS = STAR[47:32] + 8, RFLAGS &= ~FMASK, RSP unchanged, RCX and R11 as the
 * instruction left them; and resumes with RFLAGS.RF so the breakpoint lets
 * the first instruction through (if this KVM ignores RF, the breakpoint is
 * lifted for one single-stepped instruction instead).
 *
 * Costs: one KVM_GET_MSRS per vCPU every SYSQ_LOOK exits while quirks are on
 * (until LSTAR is found, then every SYSQ_RELOOK), and one debug exit per
 * system call. Limit: while armed, the guest's own hardware breakpoints
 * (DR7) are KVM's to override; a #DB of the guest's own is given back to it.
 */

#define SYSQ_LOOK 1024u	   /* exits between looks while LSTAR is 0 */
#define SYSQ_RELOOK 65536u /* exits between looks once armed (LSTAR moved?) */

#define DR7_G0 (1u << 1)
#define DR7_GE (1u << 9)
#define DR7_FIXED (1u << 10) /* reads as 1 */
#define DR6_B0 (1u << 0)
#define DR6_BS (1u << 14)
#define RFLAGS_TF (1ull << 8)
#define RFLAGS_RF (1ull << 16)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_FIXED (1ull << 1)
/* RFLAGS bits that are reserved (must be 0) in what syscall saves into R11. */
#define RFLAGS_RESERVED (~0x3f7fd7ull)

void x86_quirk_syscall_start(struct vcpu *v)
{
	memset(&v->sysq, 0, sizeof(v->sysq));
	/* The breakpoint watcher (below) stays off: on the one host known to
	 * have the quirk it never fired (see x86_quirk_syscall_pf). */
	(void)SYSQ_LOOK;
}

/* Point the breakpoint at `lstar` (0: off), or single-step with it off. */
static int sysq_debug(struct vcpu *v, uint64_t lstar, bool step)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE};

	if (step)
		dbg.control |= KVM_GUESTDBG_SINGLESTEP;
	else if (lstar) {
		dbg.control |= KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[0] = lstar;
		dbg.arch.debugreg[7] = DR7_FIXED | DR7_GE | DR7_G0; /* exec, 1 byte */
	} else
		dbg.control = 0;
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}

int x86_quirk_syscall_look(struct vcpu *v)
{
	uint64_t lstar = regs_get_msr_lstar(&v->regs);
	int r;

	if (v->regs.error)
		return v->regs.error;
	v->sysq.look = SYSQ_LOOK;
	/* Canonical, in the upper half: where a kernel puts its entry. */
	if (lstar == 0 || lstar < 0xffff800000000000ull)
		return 0;
	v->sysq.look = SYSQ_RELOOK;
	if (lstar == v->sysq.lstar || v->sysq.stepping)
		return 0;
	if ((r = sysq_debug(v, lstar, false)) < 0)
		return r;
	if (!v->sysq.lstar)
		vm_log(v->vm,
		       "cpu %u: host quirk: watching the syscall entry (LSTAR 0x%llx) for "
		       "user-mode syscalls this KVM leaves at CPL3 (%s: off)",
		       v->index, (unsigned long long)lstar, vm_name(v->vm, "no_host_quirks"));
	v->sysq.lstar = lstar;
	return 0;
}

/* The segments a syscall loads (SDM vol. 2B, SYSCALL): CS = STAR[47:32]
 * (64-bit code, DPL 0), SS = that + 8 (data, DPL 0), both flat. */
static void sysq_cpl0(struct kvm_sregs *s, uint64_t star)
{
	uint16_t sel = (uint16_t)(star >> 32) & 0xfffc;

	s->cs = (struct kvm_segment){.limit = 0xffffffff,
				     .selector = sel,
				     .type = 0xb,
				     .present = 1,
				     .s = 1,
				     .l = 1,
				     .g = 1};
	s->ss = (struct kvm_segment){.limit = 0xffffffff,
				     .selector = (uint16_t)(sel + 8),
				     .type = 0x3,
				     .present = 1,
				     .db = 1,
				     .s = 1,
				     .g = 1};
}

/* Is this the broken entry: at LSTAR, still CPL3, RCX just past a `syscall`
 * (0f 05) and R11 a possible user RFLAGS matching what RFLAGS holds now? */
static bool sysq_broken(struct vcpu *v, const struct kvm_regs *r, const struct kvm_sregs *s,
			uint64_t fmask)
{
	uint8_t insn[2];

	if ((s->cs.dpl & 3) != 3 || !(s->efer & 1) /* EFER.SCE */)
		return false;
	if ((r->r11 & RFLAGS_RESERVED) || !(r->r11 & RFLAGS_FIXED) || (r->r11 & RFLAGS_VM))
		return false;
	/* Either the flags were masked already or not at all. */
	if (((r->r11 ^ r->rflags) & ~fmask & ~(RFLAGS_RF | RFLAGS_TF)) != 0)
		return false;
	return x86_quirk_read(v, r->rcx - 2, insn, 2) == 0 && insn[0] == 0x0f && insn[1] == 0x05;
}

/* Give a #DB that is not ours back to the guest, DR6 as KVM reported it. */
static void sysq_reflect(struct vcpu *v, uint64_t dr6)
{
	struct kvm_vcpu_events ev = *regs_group_EVENTS(&v->regs);
	struct kvm_debugregs d = *regs_group_DEBUG(&v->regs);

	d.dr6 = dr6;
	regs_put_DEBUG(&v->regs, &d);
	ev.exception.injected = 1;
	ev.exception.nr = 1;
	ev.exception.has_error_code = 0;
	ev.flags &= ~(uint32_t)(KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM);
	regs_put_EVENTS(&v->regs, &ev);
}

int x86_quirk_syscall_debug(struct vcpu *v)
{
	const struct kvm_debug_exit_arch *d = &v->run->debug.arch;
	struct kvm_regs r;
	struct kvm_sregs s;
	uint64_t star, fmask;
	int e;

	if (!v->sysq.lstar)
		return -1; /* we never asked for debug exits */
	r = *regs_group_REGS(&v->regs);
	if (v->sysq.stepping) {
		/* The instruction at LSTAR ran: put the breakpoint back. */
		v->sysq.stepping = false;
		if ((e = sysq_debug(v, v->sysq.lstar, false)) < 0)
			return e;
		if (!(d->dr6 & DR6_BS))
			sysq_reflect(v, d->dr6);
		return v->regs.error;
	}
	if (d->exception != 1 || !(d->dr6 & DR6_B0) || r.rip != v->sysq.lstar) {
		sysq_reflect(v, d->dr6);
		return v->regs.error;
	}
	s = *regs_group_SREGS(&v->regs);
	star = regs_get_msr_star(&v->regs);
	fmask = regs_get_msr_fmask(&v->regs);
	if (v->regs.error)
		return v->regs.error;
	if ((s.cs.dpl & 3) == 3) {
		if (!sysq_broken(v, &r, &s, fmask)) {
			vm_log(v->vm,
			       "cpu %u: host quirk: at LSTAR 0x%llx from CPL3 but not after a "
			       "syscall (rcx 0x%llx r11 0x%llx rflags 0x%llx)",
			       v->index, (unsigned long long)r.rip, (unsigned long long)r.rcx,
			       (unsigned long long)r.r11, (unsigned long long)r.rflags);
			return -1;
		}
		if (v->quirk_done[X86_QUIRK_SYSCALL]++ == 0)
			vm_log(v->vm,
			       "cpu %u: host quirk: a user-mode syscall reached LSTAR at CPL3 "
			       "(cs 0x%x ss 0x%x rflags 0x%llx r11 0x%llx); kestrel finished "
			       "the entry at CPL0 (counted in %s; %s: off)",
			       v->index, s.cs.selector, s.ss.selector, (unsigned long long)r.rflags,
			       (unsigned long long)r.r11, vm_name(v->vm, "kestrel_vm_print_stats"),
			       vm_name(v->vm, "no_host_quirks"));
		sysq_cpl0(&s, star);
		regs_put_SREGS(&v->regs, &s);
		r.rflags = ((r.rflags & ~fmask) & ~(RFLAGS_RF | RFLAGS_VM)) | RFLAGS_FIXED;
		if (v->sysq.rf_ignored) {
			regs_put_REGS(&v->regs, &r);
			v->sysq.stepping = true;
			return sysq_debug(v, 0, true);
		}
	} else if (r.rflags & RFLAGS_RF) {
		/* Resumed with RF and stopped here again: this KVM does not honour
		 * RF for the breakpoint. Lift it for one single-stepped instruction. */
		if (!v->sysq.rf_ignored)
			vm_log(v->vm,
			       "cpu %u: host quirk: RFLAGS.RF does not pass the breakpoint "
			       "on this KVM; single-stepping the first instruction instead",
			       v->index);
		v->sysq.rf_ignored = true;
		v->sysq.stepping = true;
		return sysq_debug(v, 0, true);
	}
	/* A correct entry (CPL0), or the one just finished: go on at LSTAR, past
	 * the breakpoint for one instruction. */
	r.rflags |= RFLAGS_RF;
	regs_put_REGS(&v->regs, &r);
	return v->regs.error;
}

/*
 * The detector that works on this host. The breakpoint above never fires
 * here: the broken syscall's #PF (error code 0x15: P|U|RSVD, raised inside
 * KVM) comes before any code breakpoint. But every #PF a Linux guest takes
 * enters its handler with `clac` (SMAP), and KVM's emulator lacks clac, so
 * each one reaches kestrel as an emulation failure at the handler's first
 * instructions anyway. There, with no kernel symbols: the handler is IDT
 * vector 14's; RSP points at the frame the CPU pushed (error code, RIP, CS,
 * RFLAGS, RSP, SS). A frame whose RIP is LSTAR and whose CS is CPL3 is the
 * broken syscall: drop the frame and finish the entry at CPL0 (RSP back to
 * the user's, RFLAGS = the frame's masked by FMASK, RCX/R11 as syscall set
 * them). Anything else is a real page fault: the clac is carried out as usual.
 */
int x86_quirk_syscall_pf(struct vcpu *v)
{
	struct kvm_regs r = *regs_group_REGS(&v->regs);
	struct kvm_sregs s = *regs_group_SREGS(&v->regs);
	uint8_t gate[16];
	uint64_t frame[6], handler, lstar, star, fmask;

	if (!v->vm->host_quirk || v->vm->cfg.no_host_quirks || (s.cs.dpl & 3) != 0 ||
	    s.idt.limit < 14 * 16 + 15)
		return 0;
	if (x86_quirk_read(v, s.idt.base + 14 * 16, gate, 16) != 0)
		return 0;
	handler = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 | (uint64_t)gate[6] << 16 |
		  (uint64_t)gate[7] << 24 | (uint64_t)gate[8] << 32 | (uint64_t)gate[9] << 40 |
		  (uint64_t)gate[10] << 48 | (uint64_t)gate[11] << 56;
	if (r.rip < handler || r.rip >= handler + 8) /* clac, maybe after endbr64 */
		return 0;
	for (unsigned i = 0; i < 6; i += 2)
		if (x86_quirk_read(v, r.rsp + 8 * i, &frame[i], 16) != 0)
			return 0;
	lstar = regs_get_msr_lstar(&v->regs);
	star = regs_get_msr_star(&v->regs);
	fmask = regs_get_msr_fmask(&v->regs);
	if (v->regs.error || !lstar || frame[1] != lstar || (frame[2] & 3) != 3 ||
	    !(frame[0] & 4) /* a user-mode access */)
		return 0;
	sysq_cpl0(&s, star);
	regs_put_SREGS(&v->regs, &s);
	r.rip = lstar;
	r.rsp = frame[4];
	r.rflags = ((frame[3] & ~fmask) & ~(RFLAGS_RF | RFLAGS_VM | RFLAGS_TF)) | RFLAGS_FIXED;
	regs_put_REGS(&v->regs, &r);
	if (v->quirk_done[X86_QUIRK_SYSCALL]++ == 0)
		vm_log(v->vm,
		       "cpu %u: host quirk: a user-mode syscall reached LSTAR 0x%llx at CPL3 and "
		       "faulted; kestrel finished the entry at CPL0 (counted in %s; %s: off)",
		       v->index, (unsigned long long)lstar,
		       vm_name(v->vm, "kestrel_vm_print_stats"), vm_name(v->vm, "no_host_quirks"));
	return v->regs.error ? v->regs.error : 1;
}
