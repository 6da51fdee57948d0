/* cpuid.c - per-vCPU CPUID table shaping (pure code). */
#include "arch/x86/cpuid.h"

#include <stdbool.h>
#include <stddef.h>

struct kvm_cpuid_entry2 *x86_cpuid_entry(struct kvm_cpuid2 *t, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

void x86_cpuid_for_vcpu(struct kvm_cpuid2 *t, unsigned index, unsigned ncpus)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->entries[i];
		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)(index & 0xff) << 24) |
				 ((uint32_t)(ncpus > 255 ? 255 : ncpus) << 16);
			if (ncpus > 1)
				e->edx |= 1u << 28; /* HTT: EBX[23:16] is meaningful */
			break;
		case 0xb:
		case 0x1f:
			e->edx = index; /* x2APIC ID, same for every sub-leaf */
			break;
		}
	}
}
