/* timer-latency - every vCPU arms its TSC-deadline timer N times and records the wake-up latency
 * (cyclictest-style). */
#include "apic.h"
#include "guest.h"
#include "lat.h"
#include "trap.h"

/*
 * Each vCPU, at once (cyclictest -S: one measuring thread per CPU):
 *   N times: deadline = now + interval; WRMSR(0x6E0, deadline); sti; hlt
 *   until the timer interrupt, whose handler stamps the TSC first thing;
 *   latency = stamp - deadline (the deadline is in TSC cycles, so this is
 *   exact, with no clock conversion).
 * The LAPIC timer is in TSC-deadline mode (LVT timer bits 18:17 = 10b), so
 * arming it is one WRMSR KVM handles in the kernel (its timer fast path),
 * and the EOI is one more (x2APIC MSR 0x80B), or none with PV EOI (used when
 * CPUID offers it): no exit reaches kestrel.
 * Checks: CPUID offers TSC-deadline; every interrupt came on the CPU that
 * armed it, after its deadline, and only once; MSR 0x6E0 reads 0 once the
 * timer fired (SDM 10.5.4.1).
 *
 * Command line: N (first number, default 200, 1..MAX_LOOPS), the interval in
 * microseconds (second number, default 100, 1..1000000); `xapic` uses the
 * xAPIC MMIO page for the LVT and EOI (the deadline is an MSR either way).
 * Prints per-vCPU and overall latency percentiles p50/p90/p99/max in TSC
 * cycles and ns (boot info tsc_khz), then
 *   KESTREL-TIMER-LATENCY-OK cpus=C loops=N interval_us=I p50_ns=A p90_ns=B p99_ns=C max_ns=D
 * Exit status: 0 pass; 1 a check failed; 2 a wake-up took over a second
 * past its deadline; 3 an unexpected trap.
 */

#define TIMER_VECTOR 0x41u
#define DEFAULT_LOOPS 200u
#define MAX_LOOPS 4000u
#define MAX_CPUS 8u
#define DEFAULT_INTERVAL_US 100u
#define GUARD_SECONDS 1u
#define STATUS_CHECK 1
#define STATUS_GUARD 2

struct percpu {
	volatile uint64_t fired_tsc; /* stamped by the handler */
	volatile uint32_t fired;     /* interrupts taken */
	uint32_t early, stray, msr_left, status;
	uint64_t lat[MAX_LOOPS];
	struct lat_summary s;
} __attribute__((aligned(64)));

static struct percpu pc[MAX_CPUS];
static uint64_t all[MAX_CPUS * MAX_LOOPS];
static volatile uint32_t idt_ready, cpus_done;

static void timer_isr(struct trap_frame *f)
{
	uint64_t now = rdtsc();
	uint32_t id = apic_id();

	(void)f;
	if (id < MAX_CPUS) {
		pc[id].fired_tsc = now;
		pc[id].fired++;
	}
	apic_eoi_on(id);
}

/* The measuring loop of one vCPU; returns 0 or a status. */
static uint32_t measure(unsigned cpu, uint64_t loops, uint64_t interval, uint64_t guard)
{
	struct percpu *p = &pc[cpu];
	uint64_t deadline;

	apic_timer_deadline_mode(TIMER_VECTOR);
	for (uint32_t i = 0; i < loops; i++) {
		uint32_t want = p->fired + 1;
		deadline = rdtsc() + interval;
		irq_disable();
		tsc_deadline_arm(deadline);
		while (p->fired < want) {
			if (rdtsc() > deadline + guard) {
				irq_enable();
				hc_printf("timer-latency: cpu %u loop %u: no interrupt %u s past "
					  "the deadline\n",
					  cpu, i, GUARD_SECONDS);
				return STATUS_GUARD;
			}
			irq_wait();
			irq_disable();
		}
		irq_enable();
		if (p->fired != want)
			p->stray++;
		if (p->fired_tsc < deadline) {
			p->early++;
			p->lat[i] = 0;
		} else {
			p->lat[i] = p->fired_tsc - deadline;
		}
		if (rdmsr(MSR_TSC_DEADLINE) != 0)
			p->msr_left++;
	}
	tsc_deadline_arm(0);
	return 0;
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	uint64_t loops = cmdline_uint_or(bi, DEFAULT_LOOPS), us = DEFAULT_INTERVAL_US, khz, guard;
	unsigned ncpus = bi->ncpus < MAX_CPUS ? bi->ncpus : MAX_CPUS;
	struct lat_summary s;
	size_t n = 0;
	int status = 0;

	cmdline_uint(bi, 1, &us);
	khz = bi->tsc_khz ? bi->tsc_khz : 3000000;
	guard = khz * 1000 * GUARD_SECONDS;
	if (cpu >= MAX_CPUS)
		return 0;
	if (cpu == 0) {
		if (loops < 1 || loops > MAX_LOOPS || us < 1 || us > 1000000) {
			hc_printf("timer-latency: %lu loops of %lu us: want 1..%u loops of "
				  "1..1000000 us\n",
				  loops, us, MAX_LOOPS);
			return STATUS_CHECK;
		}
		if (!cpu_has_tsc_deadline()) {
			hc_printf("timer-latency: CPUID leaf 1 offers no TSC-deadline timer\n");
			return STATUS_CHECK;
		}
		trap_init("timer-latency");
		trap_set(TIMER_VECTOR, timer_isr);
		apic_x2apic = cpu_has_x2apic() && !cmdline_has_word(bi, "xapic");
		hc_printf("timer-latency: %u vCPU(s) x %lu loops, deadline now + %lu us, "
			  "TSC-deadline timer "
			  "(MSR 0x6E0), %s, waiting with sti; hlt, PV EOI %s\n",
			  ncpus, loops, us, apic_x2apic ? "x2APIC" : "xAPIC",
			  cpu_has_pv_eoi() ? "on" : "off (not in CPUID)");
		atomic_store_u32(&idt_ready, 1);
	} else {
		while (!atomic_load_u32(&idt_ready))
			pause();
		if (loops < 1 || loops > MAX_LOOPS || us < 1 || us > 1000000)
			return 0; /* vCPU 0 reports it */
		trap_init(NULL);
	}
	apic_init(apic_x2apic);
	apic_pv_eoi_enable(cpu); /* when CPUID offers it; the handler's apic_eoi_on() uses it */
	if (apic_id() != cpu) {
		hc_printf("timer-latency: vCPU %u has APIC ID %u\n", cpu, apic_id());
		pc[cpu].status = STATUS_CHECK;
	} else {
		pc[cpu].status = measure(cpu, loops, us * khz / 1000, guard);
	}
	lat_summarize(pc[cpu].lat, pc[cpu].status ? 0 : loops, bi->tsc_khz, &pc[cpu].s);
	atomic_inc_u32(&cpus_done);
	if (cpu != 0)
		return 0;

	while (atomic_load_u32(&cpus_done) < ncpus)
		pause();
	for (unsigned c = 0; c < ncpus; c++) {
		struct percpu *p = &pc[c];
		if (p->status) {
			status = status ? status : (int)p->status;
			continue;
		}
		hc_printf("timer-latency: cpu %u: latency ns p50 %lu p90 %lu p99 %lu max %lu "
			  "(cycles p50 %lu "
			  "max %lu); %u early, %u stray, %u deadline MSR not cleared; %lu EOIs by "
			  "PV EOI\n",
			  c, p->s.p50_ns, p->s.p90_ns, p->s.p99_ns, p->s.max_ns, p->s.p50, p->s.max,
			  p->early, p->stray, p->msr_left, apic_pv_eoi[c].skipped);
		if (p->early || p->stray || p->msr_left)
			status = STATUS_CHECK;
		for (uint32_t i = 0; i < loops; i++)
			all[n++] = p->lat[i];
	}
	if (status)
		return status;
	lat_summarize(all, n, bi->tsc_khz, &s);
	hc_printf("timer-latency: all %lu wake-ups, TSC cycles: min %lu p50 %lu p90 %lu p99 %lu "
		  "max %lu\n",
		  (uint64_t)n, s.min, s.p50, s.p90, s.p99, s.max);
	hc_printf(
	    "KESTREL-TIMER-LATENCY-OK cpus=%u loops=%lu interval_us=%lu p50_ns=%lu p90_ns=%lu "
	    "p99_ns=%lu max_ns=%lu\n",
	    ncpus, loops, us, s.p50_ns, s.p90_ns, s.p99_ns, s.max_ns);
	return 0;
}
