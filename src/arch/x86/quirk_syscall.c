/* quirk_syscall.c - the host quirk for user-mode `syscall`: the entry finished at CPL0 where the
 * guest's page-fault handler is about to take its fault. */

#include "arch/x86/quirk.h"
#include "core/vcpu.h"

/*
 * On a quirky host (quirk.h) a `syscall` executed at CPL3 loads RIP from
 * LSTAR, RCX and R11 as it should, but leaves CS/SS (and so the CPL) as they
 * were: the first fetch of kernel text is then a user-mode #PF and the
 * kernel kills the process ("segfault at ... entry_SYSCALL_64").
 * x86_quirk_syscall_pf (below) finishes the entry instead, as the CPU should
 * have (SDM vol. 2B, SYSCALL): CS = STAR[47:32] (64-bit code, DPL 0),
 * SS = STAR[47:32] + 8, RFLAGS &= ~FMASK, RSP back to the user's, RCX and R11
 * as the instruction left them. (An instruction breakpoint on LSTAR, tried
 * first, never fired on this host: the fault comes first. It was removed.)
 */

#define RFLAGS_TF (1ull << 8)
#define RFLAGS_RF (1ull << 16)
#define RFLAGS_VM (1ull << 17)
#define RFLAGS_FIXED (1ull << 1)

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

/*
 * The detector. The broken syscall's #PF (error code 0x15: P|U|RSVD, raised
 * inside KVM) comes before any code breakpoint could. But every #PF a Linux guest takes
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
