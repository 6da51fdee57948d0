/* cpuid.h - shaping the CPUID table each vCPU sees (pure code, no KVM calls). */
#ifndef KESTREL_ARCH_X86_CPUID_H
#define KESTREL_ARCH_X86_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The clock of KVM's in-kernel LAPIC timer: one count per APIC bus cycle,
 * APIC_BUS_CYCLE_NS_DEFAULT = 1 ns, i.e. 1 GHz (KVM_CAP_X86_APIC_BUS_CYCLES_NS
 * could change it; kestrel leaves the default). The lapic-calib guest measures it.
 */
#define X86_KVM_APIC_BUS_KHZ 1000000u

/* Most entries x86_cpuid_build() adds to KVM's table (0x15, 0x16, 0x40000010,
 * 0x80000007 and two topology sub-leaves each of 0xB and 0x1F), with room to spare. */
#define X86_CPUID_EXTRA_ENTRIES 16u

/*
 * The KVM paravirtual features (leaf 0x40000001 EAX, asm/kvm_para.h bit
 * numbers) kestrel passes on when KVM supports them: the ones KVM implements
 * entirely in the kernel, with no help from the VMM. kvmclock (both MSR
 * sets) and its stable bit; steal time; PV EOI (an EOI without an exit);
 * PV unhalt (KVM_HC_KICK_CPU, for PV spinlocks); PV TLB flush (skips
 * preempted vCPUs, needs steal time); PV send-IPI (one hypercall for many
 * targets); PV sched-yield (yield to a preempted IPI target); poll control
 * (the guest turns host halt polling off when it polls itself); and
 * NOP_IO_DELAY, which only tells the guest to skip port-0x80 delays (each
 * of those would be a userspace exit here).
 * Left out: async page faults (ASYNC_PF, _VMEXIT, _INT: they pay only when
 * guest RAM is swapped out, and add a guest-visible protocol no kestrel
 * guest exercises), and anything that needs the VMM (MSI_EXT_DEST_ID needs
 * MSI routing, HC_MAP_GPA_RANGE a KVM_EXIT_HYPERCALL handler,
 * MIGRATION_CONTROL a migration), which kestrel does not provide.
 */
#define X86_KVM_PV_FEATURES                                                                        \
	((1u << 0) /* CLOCKSOURCE */ | (1u << 1) /* NOP_IO_DELAY */ |                              \
	 (1u << 3) /* CLOCKSOURCE2 */ | (1u << 5) /* STEAL_TIME */ | (1u << 6) /* PV_EOI */ |      \
	 (1u << 7) /* PV_UNHALT */ | (1u << 9) /* PV_TLB_FLUSH */ | (1u << 11) /* PV_SEND_IPI */ | \
	 (1u << 12) /* POLL_CONTROL */ | (1u << 13) /* PV_SCHED_YIELD */ |                         \
	 (1u << 24) /* CLOCKSOURCE_STABLE_BIT */)

/* The PV features a guest uses through a KVM hypercall (vmcall/vmmcall):
 * kicking a halted vCPU (PV spinlocks), IPIs, yielding to a preempted vCPU. */
#define X86_KVM_PV_HYPERCALL_FEATURES                                                              \
	((1u << 7) /* PV_UNHALT */ | (1u << 11) /* PV_SEND_IPI */ | (1u << 13) /* PV_SCHED_YIELD   \
										*/)

/* Leaf 1 ECX bits that describe the local APIC rather than the CPU. */
#define X86_LEAF1_ECX_X2APIC (1u << 21)
#define X86_LEAF1_ECX_TSC_DEADLINE (1u << 24)

/* What kestrel decides about the CPUID table, on top of what KVM supports. */
struct x86_cpuid_opts {
	unsigned ncpus;	       /* vCPUs: one core each, one package */
	uint32_t tsc_khz;      /* guest TSC rate (KVM_GET_TSC_KHZ); 0: unknown */
	uint32_t apic_bus_khz; /* LAPIC timer clock (X86_KVM_APIC_BUS_KHZ) */
	bool no_tsc_leaves;    /* --no-cpuid-tsc: timing leaves exactly as KVM gives them */
	bool x2apic;	       /* the in-kernel LAPIC emulates x2APIC (KVM_CREATE_IRQCHIP) */
	bool tsc_deadline;     /* ... and its TSC-deadline timer (KVM_CAP_TSC_DEADLINE_TIMER) */
	bool no_pv;	       /* --no-pv: no KVM paravirtual feature at all */
};

/* x86_cpuid_drop_pv - clear `bits` of KVM's PV leaf 0x40000001 EAX in t (a
 * table x86_cpuid_build made); returns the bits that were set, 0 when t has
 * no KVM PV leaf. */
uint32_t x86_cpuid_drop_pv(struct kvm_cpuid2 *t, uint32_t bits);

/* x86_cpuid_entry - the entry for (function, index) in t, or NULL. */
struct kvm_cpuid_entry2 *x86_cpuid_entry(struct kvm_cpuid2 *t, uint32_t function, uint32_t index);

/*
 * x86_cpuid_build - the table every vCPU starts from: KVM's `supported` table
 * (KVM_GET_SUPPORTED_CPUID) copied into `out` (room for `max_entries`), then
 *
 *  - timing, unless o->no_tsc_leaves, when o->tsc_khz is known:
 *    leaf 0x15 EAX/EBX = a TSC/crystal ratio, ECX = crystal Hz = the APIC bus
 *      (Linux takes the crystal as its LAPIC timer clock; the ratio keeps
 *      Linux's 32-bit crystal_khz * EBX from overflowing, see x86_tsc_ratio);
 *    leaf 0x16 EAX = EBX = TSC MHz (base = max), ECX = APIC bus MHz;
 *    leaf 0x40000010 EAX = TSC kHz, EBX = APIC bus kHz, when KVM's hypervisor
 *      leaf 0x40000000 is there (its EAX is raised to cover 0x40000010);
 *    leaf 0x80000007 EDX bit 8, invariant TSC;
 *    the basic and extended maximum leaves raised to reach these.
 *    With tsc_khz == 0, leaves 0x15 and 0x16 are zeroed (KVM may pass the
 *    host's through, and a host crystal is not KVM's LAPIC clock) and
 *    nothing is added.
 *  - the local APIC, always: leaf 1 ECX x2APIC only when KVM lists it and
 *    o->x2apic (the irqchip is in the kernel), TSC-deadline exactly when
 *    o->tsc_deadline (KVM's table need not list it: QEMU too adds it from
 *    the capability); a guest must not find an APIC mode nobody emulates.
 *  - paravirtual features, when leaf 0x40000000 carries KVM's signature:
 *    0x40000001 EAX = KVM's supported bits & X86_KVM_PV_FEATURES, EBX/ECX
 *    zero, EDX (hints) as KVM gives it; with o->no_pv all four are zero.
 *    0x40000000 EAX is raised to 0x40000001 if it is lower (but not from
 *    the old-style 0, which already means 0x40000001).
 *  - topology, always: o->ncpus cores of one thread in one package, in leaf
 *    1 (addressable IDs, HTT), 0xB and 0x1F (SMT and core levels), 4 and
 *    0x8000001D (cores and cache sharing), and on AMD 0x80000008 ECX and
 *    0x80000001 ECX CmpLegacy. Per-vCPU IDs are x86_cpuid_for_vcpu's.
 *
 * Returns 0, -EINVAL (no leaf 0, or ncpus == 0) or -E2BIG (out is too small;
 * supported->nent + X86_CPUID_EXTRA_ENTRIES always suffices).
 */
int x86_cpuid_build(struct kvm_cpuid2 *out, uint32_t max_entries,
		    const struct kvm_cpuid2 *supported, const struct x86_cpuid_opts *o);

/*
 * x86_cpuid_for_vcpu - adapt a table from x86_cpuid_build (in place) for
 * vCPU `index`, whose APIC ID is its index: initial APIC ID in leaf 1
 * EBX[31:24], x2APIC ID in every sub-leaf of 0xB/0x1F EDX, and the extended
 * APIC ID and core ID in leaf 0x8000001E (AMD).
 */
void x86_cpuid_for_vcpu(struct kvm_cpuid2 *t, unsigned index);

/*
 * x86_tsc_ratio - numerator/denominator for leaf 0x15 such that
 * crystal_khz * num / den is as close to tsc_khz as it can be with
 * crystal_khz * num < 2^32 (Linux's native_calibrate_tsc multiplies in 32
 * bits). Exact when the reduced fraction fits; else the best rational
 * approximation under that limit: with a 1 GHz crystal (limit 4294) the
 * error is below 1 ppm for most rates, at worst ~120 ppm (rates just
 * under a small-denominator fraction, e.g. 3999531 kHz -> 4291/1073).
 * Returns 0, or -EINVAL if a rate is 0.
 */
int x86_tsc_ratio(uint32_t tsc_khz, uint32_t crystal_khz, uint32_t *num, uint32_t *den);

/* x86_cpuid_topo_shift - bits of APIC ID a package of ncpus cores needs. */
unsigned x86_cpuid_topo_shift(unsigned ncpus);

#endif
