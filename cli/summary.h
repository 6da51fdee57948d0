/* summary.h - order statistics of a run of samples, for `kestrel bench` (pure code). */
#ifndef KESTREL_CLI_SUMMARY_H
#define KESTREL_CLI_SUMMARY_H

#include <stddef.h>

struct summary {
	size_t n;
	double min, p50, p95, p99, max, mean;
};

/* summary_percentile - the q-quantile (0..1) of n sorted values, linearly
 * interpolated between the two nearest ranks (numpy's default). n > 0. */
double summary_percentile(const double *sorted, size_t n, double q);

/* summary_of - sort v[0..n) in place and summarise it (all zero for n == 0). */
void summary_of(double *v, size_t n, struct summary *out);

#endif
