/* ipi-pingpong - vCPUs 0 and 1 bounce fixed-vector IPIs N times; round-trip latency percentiles
 * from the TSC. */
#include "apic.h"
#include "guest.h"
#include "lat.h"
#include "trap.h"

/*
 * vCPU 0 sends PING (vector 0x50, fixed, physical destination APIC ID 1);
 * vCPU 1's handler answers with PONG (0x51) to APIC ID 0; vCPU 0's handler
 * stamps the TSC. One round trip = two IPIs, two interrupt deliveries, two
 * EOIs. With x2APIC each IPI is one WRMSR of the ICR (MSR 0x830) and each
 * EOI one WRMSR of MSR 0x80B, or none with PV EOI (used when CPUID offers
 * it: KVM flags in memory the EOIs it will do itself; --no-pv turns it off):
 * writes KVM answers in the kernel, so the
 * number of exits that reach kestrel does not depend on N (the guest's
 * output goes through a fixed number of PUTS hypercalls).
 *
 * Command line: N (first number, default 200, 1..MAX_ROUNDS); `xapic` uses
 * the xAPIC MMIO page even when CPUID offers x2APIC (every ICR and EOI
 * access is then an MMIO access KVM's in-kernel LAPIC handles); `spin`
 * waits by spinning on PAUSE instead of `sti; hlt`.
 * Prints the round-trip percentiles p50/p90/p99/max in TSC cycles and ns
 * (boot info tsc_khz), then
 *   KESTREL-IPI-PINGPONG-OK rounds=N p50_ns=A p90_ns=B p99_ns=C max_ns=D
 * Exit status: 0 pass; 1 a check failed (fewer than 2 vCPUs, an IPI lost,
 * counted twice or from the wrong APIC); 2 a round took over a second;
 * 3 an unexpected trap.
 */

#define PING_VECTOR 0x50u
#define PONG_VECTOR 0x51u
#define WATCHDOG_VECTOR 0x40u
#define WATCHDOG_NS 100000000u /* LAPIC timer period: 100 ms at KVM's 1 GHz APIC bus */
#define DEFAULT_ROUNDS 200u
#define MAX_ROUNDS 100000u
#define GUARD_SECONDS 1u
#define STATUS_CHECK 1
#define STATUS_GUARD 2

static volatile uint32_t stage;	       /* 1: IDT built (vCPU 0); 2: vCPU 1 ready; 3: done */
static volatile uint32_t pings, pongs; /* handled by vCPU 1 / vCPU 0 */
static volatile uint32_t last_ping;    /* vCPU 1 leaves after handling this many */
static volatile uint32_t wrong_cpu;
static volatile uint64_t pong_tsc;
static bool spin_wait;
static uint64_t rtt[MAX_ROUNDS];

static void ping_isr(struct trap_frame *f)
{
	(void)f;
	if (apic_id() != 1)
		wrong_cpu++;
	pings++;
	apic_send_ipi(0, PONG_VECTOR);
	apic_eoi_on(1);
}

/* vCPU 0's periodic watchdog: only there to end a `hlt` so a lost IPI trips
 * the guard instead of halting forever. 10 per second: noise for p99 at most. */
static void watchdog_isr(struct trap_frame *f)
{
	(void)f;
	apic_eoi_on(0);
}

static void pong_isr(struct trap_frame *f)
{
	pong_tsc = rdtsc();
	(void)f;
	pongs++;
	apic_eoi_on(0);
}

/* Wait until *p reaches `want` or `deadline` (TSC) passes; true if it did. */
static bool wait_for(volatile uint32_t *p, uint32_t want, uint64_t deadline)
{
	for (;;) {
		irq_disable();
		if (*p >= want)
			break;
		if (rdtsc() > deadline) {
			irq_enable();
			return false;
		}
		if (spin_wait) {
			irq_enable();
			pause();
		} else {
			irq_wait(); /* sti; hlt: no wake-up lost between the check and the halt */
		}
	}
	irq_enable();
	return true;
}

static int cpu1_main(void)
{
	while (atomic_load_u32(&stage) < 1)
		pause();
	trap_init(NULL);
	apic_init(apic_x2apic);
	apic_pv_eoi_enable(1);
	atomic_store_u32(&stage, 2);
	/* Serve pings until vCPU 0 says done and the last one is answered (when
	 * spinning, "done" may be seen before that ping lands). */
	for (;;) {
		irq_disable();
		if (atomic_load_u32(&stage) >= 3 && pings >= last_ping)
			break;
		if (spin_wait) {
			irq_enable();
			pause();
		} else {
			irq_wait();
		}
	}
	irq_enable();
	return 0;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t n = cmdline_uint_or(bi, DEFAULT_ROUNDS), guard, t0;
	struct lat_summary s;
	bool x2apic, pv_eoi;

	spin_wait = cmdline_has_word(bi, "spin");
	if (cpu == 1)
		return cpu1_main();
	if (cpu != 0)
		return 0;
	if (bi->ncpus < 2) {
		hc_printf("ipi-pingpong: needs 2 vCPUs (--cpus 2), has %u\n", bi->ncpus);
		return STATUS_CHECK;
	}
	if (n < 1 || n > MAX_ROUNDS) {
		hc_printf("ipi-pingpong: %lu rounds is outside 1..%u\n", n, MAX_ROUNDS);
		return STATUS_CHECK;
	}
	guard = (bi->tsc_khz ? bi->tsc_khz : 3000000) * 1000 * GUARD_SECONDS;
	x2apic = cpu_has_x2apic() && !cmdline_has_word(bi, "xapic");

	trap_init("ipi-pingpong");
	trap_set(PING_VECTOR, ping_isr);
	trap_set(PONG_VECTOR, pong_isr);
	trap_set(WATCHDOG_VECTOR, watchdog_isr);
	apic_init(x2apic);
	pv_eoi = apic_pv_eoi_enable(0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_PERIODIC | WATCHDOG_VECTOR);
	apic_write(APIC_TMICT, WATCHDOG_NS);
	atomic_store_u32(&stage, 1);
	for (t0 = rdtsc(); atomic_load_u32(&stage) < 2; pause())
		if (rdtsc() - t0 > guard) {
			hc_printf("ipi-pingpong: vCPU 1 did not come up\n");
			return STATUS_GUARD;
		}
	hc_printf("ipi-pingpong: %lu round trips vCPU 0 -> 1 -> 0, %s, vectors 0x%x/0x%x, waiting "
		  "with %s, "
		  "PV EOI %s\n",
		  n, x2apic ? "x2APIC (ICR = MSR 0x830)" : "xAPIC (ICR in the MMIO page)",
		  PING_VECTOR, PONG_VECTOR, spin_wait ? "pause" : "sti; hlt",
		  pv_eoi ? "on" : "off (not in CPUID)");

	for (uint32_t i = 0; i < n; i++) {
		t0 = rdtsc();
		apic_send_ipi(1, PING_VECTOR);
		if (!wait_for(&pongs, i + 1, t0 + guard)) {
			hc_printf(
			    "ipi-pingpong: round %u: no answer within %u s (pings %u, pongs %u)\n",
			    i, GUARD_SECONDS, pings, pongs);
			return STATUS_GUARD;
		}
		rtt[i] = pong_tsc - t0;
	}
	/* Release vCPU 1: one more ping wakes it from its halt to see stage 3. */
	last_ping = (uint32_t)n + 1;
	atomic_store_u32(&stage, 3);
	apic_send_ipi(1, PING_VECTOR);
	if (!wait_for(&pongs, (uint32_t)n + 1, rdtsc() + guard)) {
		hc_printf("ipi-pingpong: the last ping was not answered\n");
		return STATUS_GUARD;
	}
	apic_write(APIC_TMICT, 0);
	if (pings != n + 1 || pongs != n + 1 || wrong_cpu || trap_spurious) {
		hc_printf(
		    "ipi-pingpong: %u pings and %u pongs for %lu rounds (+1), %u on the wrong CPU, "
		    "%u spurious\n",
		    pings, pongs, n, wrong_cpu, trap_spurious);
		return STATUS_CHECK;
	}

	hc_printf(
	    "ipi-pingpong: EOIs done by PV EOI (no EOI write): %lu on vCPU 0, %lu on vCPU 1\n",
	    apic_pv_eoi[0].skipped, apic_pv_eoi[1].skipped);
	lat_summarize(rtt, n, bi->tsc_khz, &s);
	hc_printf("ipi-pingpong: round trip, TSC cycles: min %lu p50 %lu p90 %lu p99 %lu max %lu\n",
		  s.min, s.p50, s.p90, s.p99, s.max);
	hc_printf(
	    "ipi-pingpong: round trip, ns (TSC %lu kHz): min %lu p50 %lu p90 %lu p99 %lu max %lu\n",
	    bi->tsc_khz, s.min_ns, s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns);
	hc_printf(
	    "KESTREL-IPI-PINGPONG-OK rounds=%lu p50_ns=%lu p90_ns=%lu p99_ns=%lu max_ns=%lu\n", n,
	    s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns);
	return 0;
}
