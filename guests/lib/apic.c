/* apic.c - the local APIC for test guests: set-up, register access in either mode, IPIs, the
 * TSC-deadline timer. */
#include "apic.h"

#include "guest.h"
#include "trap.h"

bool apic_x2apic;
struct apic_pv_eoi apic_pv_eoi[APIC_PV_EOI_MAX_CPUS];

static uint32_t leaf1_ecx(void)
{
	uint32_t a, b, c, d;

	cpuid(0, 0, &a, &b, &c, &d);
	if (a < 1)
		return 0;
	cpuid(1, 0, &a, &b, &c, &d);
	return c;
}

bool cpu_has_x2apic(void)
{
	return leaf1_ecx() & (1u << 21);
}

bool cpu_has_tsc_deadline(void)
{
	return leaf1_ecx() & (1u << 24);
}

bool cpu_has_pv_eoi(void)
{
	uint32_t max, b, c, d, eax;

	if (!(leaf1_ecx() & (1u << 31)))
		return false; /* no hypervisor leaves */
	cpuid(0x40000000u, 0, &max, &b, &c, &d);
	if (b != 0x4b4d564bu || c != 0x564b4d56u || d != 0x4du) /* "KVMKVMKVM" */
		return false;
	if (max && max < 0x40000001u)
		return false;
	cpuid(0x40000001u, 0, &eax, &b, &c, &d);
	return eax & (1u << 6);
}

bool apic_pv_eoi_enable(unsigned cpu)
{
	if (cpu >= APIC_PV_EOI_MAX_CPUS || !cpu_has_pv_eoi())
		return false;
	apic_pv_eoi[cpu].word = 0;
	/* The word's guest-physical address (identity-mapped), 4-byte aligned, bit 0 = enable. */
	wrmsr(MSR_KVM_PV_EOI_EN, (uint64_t)(uintptr_t)&apic_pv_eoi[cpu].word | 1);
	apic_pv_eoi[cpu].enabled = 1;
	return true;
}

uint32_t apic_read(uint32_t reg)
{
	if (apic_x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
	return *(volatile uint32_t *)(XAPIC_MMIO + reg);
}

void apic_write(uint32_t reg, uint32_t v)
{
	if (apic_x2apic)
		wrmsr(MSR_X2APIC_BASE + (reg >> 4), v);
	else
		*(volatile uint32_t *)(XAPIC_MMIO + reg) = v;
}

uint32_t apic_id(void)
{
	return apic_x2apic ? apic_read(APIC_ID) : apic_read(APIC_ID) >> 24;
}

void apic_init(bool x2apic)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;

	/* Every CPU stores the same value. */
	apic_x2apic = x2apic;
	/* xAPIC -> x2APIC needs EN set first, then EN|EXTD (SDM 10.12.5). */
	wrmsr(MSR_APIC_BASE, base);
	if (x2apic)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	apic_write(APIC_SVR, APIC_SVR_ENABLE | TRAP_SPURIOUS_VECTOR);
	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT1, APIC_LVT_MASKED);
	apic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_TDCR, APIC_TDCR_DIV1);
	apic_write(APIC_TMICT, 0);
}

void apic_send_ipi(uint32_t dest, uint8_t vector)
{
	if (apic_x2apic) {
		/* Fixed delivery, physical, edge, assert: only the vector is set. */
		wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | vector);
		return;
	}
	while (apic_read(APIC_ICR_LO) & APIC_ICR_PENDING)
		pause();
	apic_write(APIC_ICR_HI, dest << 24);
	apic_write(APIC_ICR_LO, vector);
}

void apic_timer_deadline_mode(uint8_t vector)
{
	wrmsr(MSR_TSC_DEADLINE, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_TSC_DEADLINE | vector);
	/* SDM 10.5.4.1: after switching to TSC-deadline mode, a fence before
	 * the first deadline write keeps the two in order. */
	__asm__ volatile("mfence" : : : "memory");
}
