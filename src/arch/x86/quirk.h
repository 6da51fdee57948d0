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

/* Slots of vcpu->quirk_done: one per instruction of insn.h, then the
 * user-mode syscall fix (quirk_syscall.c). */
#define X86_QUIRK_SYSCALL INSN_ID_COUNT
#define X86_QUIRK_SLOTS (INSN_ID_COUNT + 1)

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* x86_quirk_name - what slot `i` of quirk_done counts ("clac", "syscall", ...). */
const char *x86_quirk_name(unsigned i);

/* x86_quirk_read - read `len` bytes (at most 16) at linear address `la` as
 * the vCPU would at its current CPL, through the guest's own page tables
 * (walk.c). 0, or -1 when that access would fault or leaves RAM. */
int x86_quirk_read(struct vcpu *v, uint64_t la, void *buf, unsigned len);

/* x86_quirk_emulation_failure - the exit is an emulation failure with the
 * instruction bytes: carry it out. Returns 0 when the guest may go on
 * (done, or an exception injected), -1 when kestrel cannot help (the caller
 * reports as before), or a negative errno for a host failure. */
int x86_quirk_emulation_failure(struct vcpu *v);

/* x86_quirk_probe - does this KVM emulate guest CPL0 code without all of
 * it (the quirk above)? Runs a throwaway one-page VM; false on any error. */
bool x86_quirk_probe(int kvm_fd);

/* x86_quirk_cpuid - on such a host a KVM hypercall (vmcall or vmmcall at
 * CPL0) never completes: the vCPU sits on the instruction, KVM's hypercall
 * counter stays 0 (docs/host-quirks.md). A 2-vCPU Linux then livelocks in a
 * PV spinlock kick. Clear the PV features a guest uses one for
 * (X86_KVM_PV_HYPERCALL_FEATURES) from the table; true when any were set.
 * Linux takes its native paths instead: spinning qspinlocks, APIC IPIs. */
struct kvm_cpuid2;
bool x86_quirk_cpuid(struct kvm_cpuid2 *t);

/*
 * What Linux needs on its command line on such a host, added by kestrel
 * (and said so) while the quirk is on:
 *   noxsave             xsave/xrstor: not emulated, and not worth a fallback
 *   clearcpuid=137      SSSE3 (the guest sees the host's native CPUID, so
 *                       masking it in KVM_SET_CPUID2 does not hide it)
 *   no_timer_check, tsc=reliable  calibration loops are slow under emulation
 *   mitigations=off nopti  fewer emulated CR3 writes and barriers
 *   cryptomgr.notests init_on_alloc=0  boot-time work, ~250x slower here
 *   initcall_blacklist=tracer_init_tracefs,ftrace_check_for_weak_functions
 *                       no tracefs: its eval-map rewrite of every trace
 *                       event's format string takes minutes of emulated CPL0
 *                       time here, and init waits on it; nor the check that
 *                       marks ftrace records of overridden weak functions
 *                       untraceable (a kallsyms look-up per record: minutes,
 *                       soft lockups, waited for before init; it only
 *                       matters to someone enabling function tracing, which
 *                       needs the tracefs this boot does not have)
 * None changes what the guest computes; time stays correct (no clock tricks).
 */
/*
 * User-mode `syscall` on such a host jumps to LSTAR but stays at CPL3 (RCX
 * and R11 set as they should be); the kernel's entry code then faults on its
 * own text and the process dies. quirk_syscall.c finishes the syscall where
 * the guest's #PF handler is entered (its `clac` reaches kestrel as an
 * emulation failure): CS/SS from STAR at CPL0, RFLAGS masked by FMASK.
 * Only on a host the probe found quirky.
 */

/* x86_quirk_syscall_pf - an emulation failure on `clac` at CPL0: if it is the
 * guest's #PF handler taking the broken syscall's fault, finish the syscall
 * entry instead (1), else 0 (carry out the clac), or a negative errno. */
int x86_quirk_syscall_pf(struct vcpu *v);

#define X86_QUIRK_LINUX_CMDLINE                                                                    \
	"noxsave clearcpuid=137 no_timer_check tsc=reliable mitigations=off nopti "                \
	"cryptomgr.notests init_on_alloc=0 "                                                       \
	"initcall_blacklist=tracer_init_tracefs,ftrace_check_for_weak_functions"

#endif
