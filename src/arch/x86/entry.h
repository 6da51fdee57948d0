/* entry.h - a boot plan turned into x86 state: kestrel's tables in guest memory and each vCPU's
 * start registers (pure). */
#ifndef KESTREL_ARCH_X86_ENTRY_H
#define KESTREL_ARCH_X86_ENTRY_H

#include <linux/kvm.h>
#include <stdbool.h>

#include "load/plan.h"

/*
 * x86_plan_memory - what the plan needs of kestrel in guest memory before
 * the vCPUs start: for BOOT_KESTREL the GDT/TSS and identity map of all RAM
 * (max(4 GiB, end of RAM)); for BOOT_LINUX64 the GDT with __BOOT_CS/DS and
 * an identity map of the first X86_LINUX_MAP_END bytes (page tables in
 * [0x3000, 0x7000), below the zero page); nothing for the 32-bit protocols.
 * Returns 0 or -E2BIG / -ENOMEM.
 */
#define X86_LINUX_MAP_END (2ull << 30)
int x86_plan_memory(const struct boot_plan *p, const struct guest_mem *mem);

/*
 * x86_plan_vcpu - vCPU `index`'s start state under the plan, into *s (which
 * holds KVM's reset sregs: the APIC base is kept) and *r. Returns false
 * when the vCPU does not start at all: it waits for INIT/SIPI in the
 * in-kernel LAPIC (plan->aps_wait_sipi, index > 0), and its registers and
 * MP state must be left as KVM reset them.
 */
bool x86_plan_vcpu(const struct boot_plan *p, const struct guest_mem *mem, unsigned index,
		   struct kvm_sregs *s, struct kvm_regs *r);

#endif
