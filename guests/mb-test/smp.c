/* smp.c - mb-test starts the other CPUs by INIT/SIPI/SIPI (xAPIC) and counts them in. */
#include "apic.h"
#include "mb.h"

/*
 * The Intel MP start-up sequence as small kernels write it: a broadcast
 * INIT (all excluding self), ~10 ms, then two STARTUP IPIs ~200 us apart
 * whose vector is the trampoline's page number. Each AP runs the trampoline
 * (real mode) into ap_entry32 (protected mode), switches to long mode on
 * the BSP's page tables (head.S), records its APIC ID, increments cpus_up
 * with lock xadd and halts. Only the header constants of apic.h are used:
 * its code expects kestrel's boot ABI.
 */

#define ICR_INIT 0x500u
#define ICR_STARTUP 0x600u
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_TRIGGER_LEVEL (1u << 15)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_BUSY_POLLS 100000u
#define INIT_DELAY_US 10000u
#define SIPI_DELAY_US 200u
#define ARRIVAL_TIMEOUT_US 5000000u
#define SETTLE_US 50000u /* after the count is reached: room for CPUs beyond it */
#define ID_SEEN 0x100u	 /* set in ap_apic_id[] once the slot reported */

extern char tramp_start[], tramp_end[];
extern volatile uint32_t ap_next_slot; /* head.S: slots taken by APs */

static volatile uint32_t cpus_up = 1; /* the BSP counts itself */
static volatile uint32_t ap_apic_id[MAX_APS];

void ap_main(uint32_t slot)
{
	uint32_t a, b, c, d, one = 1;

	cpuid(1, 0, &a, &b, &c, &d);
	ap_apic_id[slot] = (b >> 24) | ID_SEEN;
	__asm__ volatile("lock xaddl %0, %1" : "+r"(one), "+m"(cpus_up) : : "memory");
	halt_forever();
}

static volatile uint32_t *apic_reg(uint64_t base, uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(base + off);
}

/* Send an IPI with ICR low `lo` (shorthand, so ICR high is 0); false if it never left. */
static bool send_ipi(uint64_t base, uint32_t lo)
{
	*apic_reg(base, APIC_ICR_HI) = 0;
	*apic_reg(base, APIC_ICR_LO) = lo;
	for (unsigned i = 0; i < ICR_BUSY_POLLS; i++) {
		if (!(*apic_reg(base, APIC_ICR_LO) & APIC_ICR_PENDING))
			return true;
		pause();
	}
	return false;
}

void smp_checks(uint32_t tramp, int64_t expect)
{
	uint64_t msr = rdmsr(MSR_APIC_BASE), base = msr & 0xffffff000ull, t0, took;
	uint32_t bsp_id, vector = tramp >> 12, n, dup = 0;
	bool ok;

	printf("mb-test: clock for the waits: %s\n", clock_name());
	ok = (msr & APIC_BASE_EN) && !(msr & APIC_BASE_EXTD) && base < (1ull << 32);
	report(ok, "apic", "IA32_APIC_BASE 0x%lx: %s, %s, base 0x%lx", (unsigned long)msr,
	       msr & APIC_BASE_EN ? "enabled" : "disabled",
	       msr & APIC_BASE_EXTD ? "x2APIC" : "xAPIC", (unsigned long)base);
	if (!ok)
		return;
	if (expect < 1 || expect > 1 + MAX_APS) {
		report(false, "smp-count",
		       "expected CPU count %ld unknown or above %u: give cpus=N", (long)expect,
		       1 + MAX_APS);
		return;
	}
	bsp_id = *apic_reg(base, APIC_ID) >> 24;
	*apic_reg(base, APIC_SVR) = APIC_SVR_ENABLE | 0xff;
	if (expect == 1) {
		report(true, "smp-count", "1 CPU expected: no AP started (BSP APIC ID %u)", bsp_id);
		return;
	}

	memcpy((void *)(uintptr_t)tramp, tramp_start, (size_t)(tramp_end - tramp_start));
	t0 = clock_us();
	ok = send_ipi(base, ICR_ALL_BUT_SELF | ICR_TRIGGER_LEVEL | ICR_LEVEL_ASSERT | ICR_INIT);
	delay_us(INIT_DELAY_US);
	for (int i = 0; i < 2 && ok; i++) {
		ok = send_ipi(base, ICR_ALL_BUT_SELF | ICR_STARTUP | vector);
		delay_us(SIPI_DELAY_US);
	}
	report(ok, "smp-ipi", "INIT, SIPI, SIPI (vector 0x%02x: trampoline at 0x%x) %s", vector,
	       tramp, ok ? "delivered" : "stuck in the ICR (delivery status never cleared)");
	while ((int64_t)cpus_up < expect && clock_us() - t0 < ARRIVAL_TIMEOUT_US)
		pause();
	took = clock_us() - t0;
	delay_us(SETTLE_US);
	n = cpus_up;
	report(n == expect, "smp-count",
	       "%u CPUs up (BSP + %u APs, %u slots taken) after %lu us, %ld expected", n, n - 1,
	       ap_next_slot, (unsigned long)took, (long)expect);

	/* Every AP that checked in has its own APIC ID, and none is the BSP's. */
	for (uint32_t i = 0; i < MAX_APS; i++) {
		uint32_t id = ap_apic_id[i];

		if (!(id & ID_SEEN))
			continue;
		id &= 0xff;
		if (id == bsp_id)
			dup++;
		for (uint32_t j = 0; j < i; j++) {
			if (ap_apic_id[j] == ap_apic_id[i])
				dup++;
		}
		printf("mb-test: AP slot %u: APIC ID %u\n", i, id);
	}
	report(dup == 0, "smp-apic-ids", "BSP %u, %u duplicate APIC IDs among the APs", bsp_id,
	       dup);
}
