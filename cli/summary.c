/* summary.c - percentiles and summaries of bench samples. */
#include "summary.h"

#include <stdlib.h>
#include <string.h>

double summary_percentile(const double *sorted, size_t n, double q)
{
	double h, frac;
	size_t lo;

	if (q <= 0)
		return sorted[0];
	if (q >= 1)
		return sorted[n - 1];
	h = q * (double)(n - 1);
	lo = (size_t)h;
	frac = h - (double)lo;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static int summary_double_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void summary_of(double *v, size_t n, struct summary *out)
{
	double sum = 0;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (!n)
		return;
	qsort(v, n, sizeof(v[0]), summary_double_cmp);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	out->min = v[0];
	out->max = v[n - 1];
	out->p50 = summary_percentile(v, n, 0.50);
	out->p95 = summary_percentile(v, n, 0.95);
	out->p99 = summary_percentile(v, n, 0.99);
	out->mean = sum / (double)n;
}
