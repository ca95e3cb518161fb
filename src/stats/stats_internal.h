/* Helpers shared by the files of the stats module (not public). */
#ifndef LEOPARDS_STATS_INTERNAL_H
#define LEOPARDS_STATS_INTERNAL_H

#include <stddef.h>

/* Mean with long double accumulation and R's second-pass correction. */
double lp__mean(const double *x, size_t n);
/* Partial selection: a[k] becomes the k-th smallest (0-based). n >= 1, k < n. */
void lp__select(double *a, size_t n, size_t k);

#endif
