/* Descriptive summaries: mean and SD (two-pass, long double accumulation as R's
 * mean() does), R's type-7 quantiles, and the sorting/selection helpers the other
 * statistics modules share. */
#include <leopards/stats.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats_internal.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

void lp_sort_doubles(double *x, size_t n) { qsort(x, n, sizeof *x, cmp_double); }

double lp__mean(const double *x, size_t n) {
  if (n == 0) return NAN;
  long double s = 0;
  for (size_t i = 0; i < n; i++) s += x[i];
  long double m = s / (long double)n;
  /* Second pass removes the rounding error of the first, as R's mean() does. */
  long double c = 0;
  for (size_t i = 0; i < n; i++) c += x[i] - m;
  return (double)(m + c / (long double)n);
}

double lp_quantile_sorted(const double *s, size_t n, double p) {
  if (n == 0) return NAN;
  double h = (double)(n - 1) * p;
  size_t lo = (size_t)floor(h);
  if (lo >= n - 1) return s[n - 1];
  double frac = h - (double)lo;
  /* R computes (1 - h) x[lo] + h x[hi] only where h > 0 and x[hi] differs from x[lo]
   * (which cannot overflow near the largest double, as x[hi] - x[lo] can). */
  return frac > 0 && s[lo + 1] != s[lo] ? (1 - frac) * s[lo] + frac * s[lo + 1] : s[lo];
}

void lp_describe_compute(const double *x, size_t n, double *work, lp_describe *out) {
  out->n = n;
  out->mean = lp__mean(x, n);
  if (n >= 2) {
    long double ss = 0;
    for (size_t i = 0; i < n; i++) {
      long double d = x[i] - (long double)out->mean;
      ss += d * d;
    }
    out->sd = sqrt((double)(ss / (long double)(n - 1)));
  } else {
    out->sd = NAN;
  }
  if (n == 0) {
    out->median = out->q1 = out->q3 = out->min = out->max = NAN;
    return;
  }
  memcpy(work, x, n * sizeof *x);
  lp_sort_doubles(work, n);
  out->min = work[0];
  out->max = work[n - 1];
  out->median = lp_quantile_sorted(work, n, 0.5);
  out->q1 = lp_quantile_sorted(work, n, 0.25);
  out->q3 = lp_quantile_sorted(work, n, 0.75);
}

/* Hoare-style quickselect: afterwards a[k] holds the k-th smallest (0-based), all
 * a[i < k] <= a[k] <= a[j > k]. Median-of-three pivots; expected linear time. */
void lp__select(double *a, size_t n, size_t k) {
  size_t lo = 0, hi = n - 1;
  while (hi > lo) {
    size_t mid = lo + (hi - lo) / 2;
    /* order a[lo], a[mid], a[hi] */
    if (a[mid] < a[lo]) {
      double t = a[mid];
      a[mid] = a[lo];
      a[lo] = t;
    }
    if (a[hi] < a[lo]) {
      double t = a[hi];
      a[hi] = a[lo];
      a[lo] = t;
    }
    if (a[hi] < a[mid]) {
      double t = a[hi];
      a[hi] = a[mid];
      a[mid] = t;
    }
    double pivot = a[mid];
    size_t i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        double t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        if (j == 0) break;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i)
      lo = i;
    else
      return;
  }
}
