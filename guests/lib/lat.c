/* lat.c - latency samples for test guests: heapsort, nearest-rank percentiles, cycles to ns. */
#include "lat.h"

static void lat_sift(uint64_t *a, size_t root, size_t n)
{
	uint64_t v = a[root];

	for (size_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[child] <= v)
			break;
		a[root] = a[child];
	}
	a[root] = v;
}

void lat_sort(uint64_t *a, size_t n)
{
	if (n < 2)
		return;
	for (size_t i = n / 2; i-- > 0;)
		lat_sift(a, i, n);
	for (size_t end = n - 1; end > 0; end--) {
		uint64_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		lat_sift(a, 0, end);
	}
}

uint64_t lat_pct(const uint64_t *sorted, size_t n, unsigned pct)
{
	size_t rank;

	if (!n)
		return 0;
	if (pct > 100)
		pct = 100;
	rank = (n * pct + 99) / 100; /* ceil(n * pct / 100), 1-based */
	return sorted[rank ? rank - 1 : 0];
}

uint64_t lat_cycles_to_ns(uint64_t cycles, uint64_t tsc_khz)
{
	if (!tsc_khz)
		return 0;
	/* cycles * 10^6 / kHz; above ~2 hours of cycles, trade precision for no overflow. */
	if (cycles > UINT64_MAX / 1000000u)
		return cycles / tsc_khz * 1000000u;
	return cycles * 1000000u / tsc_khz;
}

void lat_summarize(uint64_t *a, size_t n, uint64_t tsc_khz, struct lat_summary *s)
{
	lat_sort(a, n);
	s->n = n;
	s->min = n ? a[0] : 0;
	s->p50 = lat_pct(a, n, 50);
	s->p90 = lat_pct(a, n, 90);
	s->p99 = lat_pct(a, n, 99);
	s->max = n ? a[n - 1] : 0;
	s->min_ns = lat_cycles_to_ns(s->min, tsc_khz);
	s->p50_ns = lat_cycles_to_ns(s->p50, tsc_khz);
	s->p90_ns = lat_cycles_to_ns(s->p90, tsc_khz);
	s->p99_ns = lat_cycles_to_ns(s->p99, tsc_khz);
	s->max_ns = lat_cycles_to_ns(s->max, tsc_khz);
}
