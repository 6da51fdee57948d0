/* smp-hello - every vCPU checks in; CPU 0 waits (bounded) for all of them. */
#include "guest.h"

#define MAX_TRACKED_CPUS 1024u /* CPUs beyond this are counted, not named */
#define WAIT_SECONDS 5u
#define FALLBACK_TSC_KHZ 3000000u /* if kestrel does not know the TSC rate */

/* Explicitly in .data (not .bss) so the data segment's file contents are exercised. */
static volatile uint32_t checked_in __attribute__((section(".data"))) = 0;
static volatile uint64_t seen[MAX_TRACKED_CPUS / 64];

static void report_missing(unsigned ncpus)
{
	unsigned shown = 0;

	printf("smp-hello: timed out: %u of %u cpus checked in; missing:",
	       atomic_load_u32(&checked_in), ncpus);
	for (unsigned i = 0; i < ncpus && i < MAX_TRACKED_CPUS; i++) {
		if (atomic_load_u64(&seen[i / 64]) & (1ull << (i % 64)))
			continue;
		if (shown++ == 32) {
			printf(" ...");
			break;
		}
		printf(" %u", i);
	}
	printf("\n");
}

int main(unsigned cpu, const struct kestrel_boot_info *bi)
{
	unsigned ncpus = bi->ncpus;
	uint64_t khz, limit, start;

	hc_printf("cpu %u of %u reporting\n", cpu, ncpus);
	if (cpu < MAX_TRACKED_CPUS)
		atomic_or_u64(&seen[cpu / 64], 1ull << (cpu % 64));
	atomic_inc_u32(&checked_in);

	if (cpu != 0)
		return 0; /* the library halts this CPU */

	khz = bi->tsc_khz ? bi->tsc_khz : FALLBACK_TSC_KHZ;
	limit = khz * 1000 * WAIT_SECONDS;
	start = rdtsc();
	while (atomic_load_u32(&checked_in) < ncpus) {
		if (rdtsc() - start > limit) {
			report_missing(ncpus);
			return 1;
		}
		pause();
	}

	hc_printf("KESTREL-SMP-OK %u cpus\n", ncpus);
	return 0;
}
