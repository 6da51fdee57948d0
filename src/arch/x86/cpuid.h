/* cpuid.h - shaping the CPUID table each vCPU sees (pure code, no KVM calls). */
#ifndef KESTREL_ARCH_X86_CPUID_H
#define KESTREL_ARCH_X86_CPUID_H

#include <linux/kvm.h>
#include <stdint.h>

/* x86_cpuid_entry - the entry for (function, index) in t, or NULL. */
struct kvm_cpuid_entry2 *x86_cpuid_entry(struct kvm_cpuid2 *t, uint32_t function, uint32_t index);

/*
 * x86_cpuid_for_vcpu - adapt KVM's supported table `t` (in place) for vCPU
 * `index` of `ncpus`: initial APIC ID in leaf 1 EBX[31:24] and x2APIC ID in
 * leaves 0xB/0x1F EDX, logical processor count in leaf 1 EBX[23:16] with the
 * HTT flag when ncpus > 1.
 */
void x86_cpuid_for_vcpu(struct kvm_cpuid2 *t, unsigned index, unsigned ncpus);

#endif
