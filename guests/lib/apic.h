/* apic.h - MSRs and the local APIC for test guests: x2APIC or xAPIC, IPIs, the LAPIC and
 * TSC-deadline timers. */
#ifndef KESTREL_GUEST_APIC_H
#define KESTREL_GUEST_APIC_H

#include <stdbool.h>
#include <stdint.h>

/* ---- MSRs ---------------------------------------------------------------- */

#define MSR_APIC_BASE 0x1bu
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_BASE 0x800u /* x2APIC register r is MSR 0x800 + r/16 */
#define MSR_X2APIC_ICR 0x830u

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* ---- local APIC registers (xAPIC MMIO offsets; x2APIC MSR = 0x800 + off/16) ---- */

#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN (1u << 11)
#define XAPIC_MMIO 0xfee00000ul

#define APIC_ID 0x20u
#define APIC_TPR 0x80u
#define APIC_EOI 0xb0u
#define APIC_SVR 0xf0u
#define APIC_ICR_LO 0x300u
#define APIC_ICR_HI 0x310u /* xAPIC only: destination in bits 31:24 */
#define APIC_LVT_TIMER 0x320u
#define APIC_LVT_LINT0 0x350u
#define APIC_LVT_LINT1 0x360u
#define APIC_LVT_ERROR 0x370u
#define APIC_TMICT 0x380u
#define APIC_TMCCT 0x390u
#define APIC_TDCR 0x3e0u

#define APIC_SVR_ENABLE (1u << 8)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_LVT_PERIODIC (1u << 17)
#define APIC_LVT_TSC_DEADLINE (2u << 17)
#define APIC_TDCR_DIV1 0xbu
#define APIC_ICR_PENDING (1u << 12) /* xAPIC delivery status */

/* CPUID leaf 1 ECX: what the (virtual) CPU's APIC can do. */
bool cpu_has_x2apic(void);
bool cpu_has_tsc_deadline(void);

/* The mode apic_init chose: true = x2APIC (MSRs), false = xAPIC (MMIO page,
 * identity-mapped by kestrel). Every CPU uses the same mode. */
extern bool apic_x2apic;

/*
 * apic_init - enable this CPU's local APIC, in x2APIC mode when `x2apic`
 * (the caller checked cpu_has_x2apic), else xAPIC: software-enabled with
 * TRAP_SPURIOUS_VECTOR, TPR 0, LINT0/LINT1/error masked (the in-kernel PIC's
 * ExtINT on LINT0 is never programmed, so stray vectors stay out), the timer
 * masked and stopped, divide by 1. Each CPU calls it for itself.
 */
void apic_init(bool x2apic);

uint32_t apic_read(uint32_t reg);
void apic_write(uint32_t reg, uint32_t v);

/* This CPU's APIC ID (kestrel: = its vCPU index). */
uint32_t apic_id(void);

/*
 * PV EOI (KVM_FEATURE_PV_EOI, CPUID 0x40000001 EAX bit 6): each CPU hands KVM
 * a word (MSR 0x4b564d04); when KVM injects an interrupt whose EOI it can
 * take care of itself, it sets bit 0 there, and the handler clears the bit
 * instead of writing the EOI register: no WRMSR/MMIO write, no exit.
 * apic_pv_eoi_enable() (per CPU, after apic_init) turns it on when CPUID
 * offers it and returns whether it did; apic_eoi() then uses it.
 */
#define MSR_KVM_PV_EOI_EN 0x4b564d04u
#define APIC_PV_EOI_MAX_CPUS 64u

bool cpu_has_pv_eoi(void);
bool apic_pv_eoi_enable(unsigned cpu);

struct apic_pv_eoi {
	volatile uint32_t word; /* bit 0: KVM will do this interrupt's EOI */
	uint32_t enabled;
	uint64_t skipped; /* EOIs the bit spared */
} __attribute__((aligned(64)));
extern struct apic_pv_eoi apic_pv_eoi[APIC_PV_EOI_MAX_CPUS];

/* End of interrupt, from a handler running on CPU `cpu` (its APIC ID): the PV
 * bit if KVM set it, else the EOI register (x2APIC: one WRMSR KVM handles). */
static inline void apic_eoi_on(unsigned cpu)
{
	/* KVM writes the word only while this vCPU is outside the guest, so a
	 * plain test and clear is enough (Linux does the same, non-atomically). */
	if (cpu < APIC_PV_EOI_MAX_CPUS && apic_pv_eoi[cpu].enabled &&
	    (apic_pv_eoi[cpu].word & 1u)) {
		apic_pv_eoi[cpu].word &= ~1u;
		apic_pv_eoi[cpu].skipped++;
		return;
	}
	if (apic_x2apic)
		wrmsr(MSR_X2APIC_BASE + (APIC_EOI >> 4), 0);
	else
		*(volatile uint32_t *)(XAPIC_MMIO + APIC_EOI) = 0;
}

/* apic_eoi - the same without PV EOI (or when the caller does not know its CPU). */
static inline void apic_eoi(void)
{
	if (apic_x2apic)
		wrmsr(MSR_X2APIC_BASE + (APIC_EOI >> 4), 0);
	else
		*(volatile uint32_t *)(XAPIC_MMIO + APIC_EOI) = 0;
}

/*
 * apic_send_ipi - a fixed-vector IPI, physical destination `dest` (an APIC
 * ID), no shorthand, edge. x2APIC: one WRMSR to the ICR (MSR 0x830), the
 * write KVM's IPI fast path takes; xAPIC: ICR high, then low, and a wait for
 * the delivery-status bit to clear.
 */
void apic_send_ipi(uint32_t dest, uint8_t vector);

/* TSC-deadline mode for the LAPIC timer, firing `vector`; then each
 * tsc_deadline_arm() is one WRMSR of MSR 0x6E0 (0 disarms). */
void apic_timer_deadline_mode(uint8_t vector);

static inline void tsc_deadline_arm(uint64_t tsc)
{
	wrmsr(MSR_TSC_DEADLINE, tsc);
}

#endif
