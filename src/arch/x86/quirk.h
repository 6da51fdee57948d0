/* quirk.h - host quirks: what kestrel does for KVMs that cannot run everything a guest executes. */
#ifndef KESTREL_ARCH_X86_QUIRK_H
#define KESTREL_ARCH_X86_QUIRK_H

/*
 * On some nested hosts KVM emulates guest CPL0 code and its emulator lacks
 * instructions a stock kernel uses (clac, popcnt, cmpxchg16b, ...): KVM then
 * stops the vCPU with an emulation failure that carries the instruction
 * bytes. With the quirk on (the default; kestrel_config.no_host_quirks turns
 * it off) kestrel carries such an instruction out itself (insn.c, through a
 * software page walk, walk.c) and resumes the guest. Detected, not assumed:
 * nothing here runs unless KVM reports such a failure, which hardware KVM
 * does not for these instructions. Each one is counted per instruction
 * (kestrel run --stats) and the first of each kind is logged.
 *
 * Limits: accessed/dirty bits of the guest's page tables are not set by the
 * fallback's own accesses; a write whose target is one of the paging
 * structures its own walk read is refused (KVM's write tracking would miss
 * it), as is anything outside guest RAM; `int n` is delivered like an
 * external interrupt (no gate DPL check).
 */

#include "arch/x86/insn.h"

#define X86_QUIRK_SLOTS INSN_ID_COUNT

struct vcpu;

/* x86_quirk_emulation_failure - the exit is an emulation failure with the
 * instruction bytes: carry it out. Returns 0 when the guest may go on
 * (done, or an exception injected), -1 when kestrel cannot help (the caller
 * reports as before), or a negative errno for a host failure. */
int x86_quirk_emulation_failure(struct vcpu *v);

/* x86_quirk_probe - does this KVM emulate guest CPL0 code without all of
 * it (the quirk above)? Runs a throwaway one-page VM; false on any error. */
#include <stdbool.h>
bool x86_quirk_probe(int kvm_fd);

/*
 * What Linux needs on its command line on such a host, added by kestrel
 * (and said so) while the quirk is on:
 *   noxsave             xsave/xrstor: not emulated, and not worth a fallback
 *   clearcpuid=137      SSSE3 (the guest sees the host's native CPUID, so
 *                       masking it in KVM_SET_CPUID2 does not hide it)
 *   no_timer_check, tsc=reliable  calibration loops are slow under emulation
 *   mitigations=off nopti  fewer emulated CR3 writes and barriers
 *   cryptomgr.notests init_on_alloc=0  boot-time work, ~250x slower here
 * None changes what the guest computes; time stays correct (no clock tricks).
 */
#define X86_QUIRK_LINUX_CMDLINE                                                              \
	"noxsave clearcpuid=137 no_timer_check tsc=reliable mitigations=off nopti "          \
	"cryptomgr.notests init_on_alloc=0"

#endif
