/* lat.h - latency samples for test guests: sort, nearest-rank percentiles, TSC cycles to ns. */
#ifndef KESTREL_GUEST_LAT_H
#define KESTREL_GUEST_LAT_H

#include <stddef.h>
#include <stdint.h>

/* The summary the latency guests print: TSC cycles, then ns. */
struct lat_summary {
	size_t n;
	uint64_t min, p50, p90, p99, max;		 /* cycles */
	uint64_t min_ns, p50_ns, p90_ns, p99_ns, max_ns; /* 0 when tsc_khz is 0 */
};

/* lat_sort - ascending, in place. Heapsort: O(n log n), no recursion, no
 * extra memory (guest code may run in KVM's emulator, ~250x slower, so an
 * insertion sort of a few thousand samples would take seconds). */
void lat_sort(uint64_t *a, size_t n);

/* lat_pct - nearest-rank percentile `pct` (1..100) of a sorted array; 0 if n is 0. */
uint64_t lat_pct(const uint64_t *sorted, size_t n, unsigned pct);

/* lat_cycles_to_ns - TSC cycles to ns at tsc_khz (0: returns 0). */
uint64_t lat_cycles_to_ns(uint64_t cycles, uint64_t tsc_khz);

/* lat_summarize - sort `a` and fill *s (ns from tsc_khz, the boot info's). */
void lat_summarize(uint64_t *a, size_t n, uint64_t tsc_khz, struct lat_summary *s);

#endif
