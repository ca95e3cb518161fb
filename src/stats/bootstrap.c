/* Stratified bootstrap of a difference of means or medians between two groups, and
 * the percentile interval of boot.ci(type = "perc"). Replicate r draws from its
 * own stream (seed, r), so any number of threads gives the same replicates. */
#include <leopards/rng.h>
#include <leopards/stats.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "stats/stats_internal.h"

void lp_boot_options_default(lp_boot_options *o) {
  o->replicates = 100000;
  o->seed = 20160927; /* a fixed default makes runs repeatable; users pass --seed */
  o->threads = 0;
  o->level = 0.95;
  o->summary = LP_SUMMARY_MEAN;
}

lp_status lp_boot_percentile(double *t, size_t R, double level, double ci[2], size_t *finite,
                             lp_error *err) {
  if (!(level > 0 && level < 1)) return lp_error_set(err, LP_EINVAL, "level must be in (0, 1)");
  size_t m = 0;
  for (size_t i = 0; i < R; i++)
    if (isfinite(t[i])) t[m++] = t[i];
  if (finite) *finite = m;
  if (m < 2) return lp_error_set(err, LP_EDATA, "fewer than two finite bootstrap replicates");
  double alpha[2] = {(1 - level) / 2, (1 + level) / 2};
  double dm = (double)m;
  for (int s = 0; s < 2; s++) {
    double rk = (dm + 1) * alpha[s];
    double kf = trunc(rk);
    size_t k = (size_t)kf;
    /* Order statistic j (1-based) is t[j - 1] after selection. */
    if (k == 0) {
      lp__select(t, m, 0);
      ci[s] = t[0];
    } else if (k >= m) {
      lp__select(t, m, m - 1);
      ci[s] = t[m - 1];
    } else if (kf == rk) {
      lp__select(t, m, k - 1);
      ci[s] = t[k - 1];
    } else {
      lp__select(t, m, k - 1);
      double tk = t[k - 1];
      double tk1 = t[k];
      for (size_t i = k + 1; i < m; i++)
        if (t[i] < tk1) tk1 = t[i];
      /* Interpolation on the normal-quantile scale, as boot's norm.inter(). */
      double z = gsl_cdf_ugaussian_Pinv(alpha[s]);
      double zk = gsl_cdf_ugaussian_Pinv(kf / (dm + 1));
      double zk1 = gsl_cdf_ugaussian_Pinv((kf + 1) / (dm + 1));
      ci[s] = tk + (z - zk) / (zk1 - zk) * (tk1 - tk);
    }
  }
  return LP_OK;
}

/* Sum of a resample of x (size n) drawn from rng. */
static inline double resample_sum(lp_rng *rng, const double *x, uint32_t n) {
  double s = 0;
  for (uint32_t i = 0; i < n; i++) s += x[lp_rng_below(rng, n)];
  return s;
}

/* Median of a resample of sorted x: count how often each position is drawn, then
 * walk the counts to the middle order statistic(s). Linear in n, no sorting. */
static double resample_median(lp_rng *rng, const double *sorted, uint32_t n, uint32_t *counts) {
  memset(counts, 0, n * sizeof *counts);
  for (uint32_t i = 0; i < n; i++) counts[lp_rng_below(rng, n)]++;
  /* Type 7 median: order statistics lo = floor((n-1)/2) and lo+1 (0-based). */
  uint32_t lo = (n - 1) / 2;
  bool even = (n % 2) == 0;
  uint32_t seen = 0, j = 0;
  while (seen + counts[j] <= lo) seen += counts[j++];
  double a = sorted[j];
  if (!even) return a;
  if (seen + counts[j] > lo + 1) return a;
  j++;
  while (counts[j] == 0) j++;
  return 0.5 * (a + sorted[j]);
}

lp_status lp_boot_diff(const double *x, size_t nx, const double *y, size_t ny,
                       const lp_boot_options *o, double *replicates_out, lp_boot_result *out,
                       lp_error *err) {
  if (nx == 0 || ny == 0) return lp_error_set(err, LP_EDATA, "each group needs at least one value");
  if (nx > UINT32_MAX / 2 || ny > UINT32_MAX / 2)
    return lp_error_set(err, LP_EINVAL, "group too large for the bootstrap");
  if (o->replicates < 2) return lp_error_set(err, LP_EINVAL, "at least 2 bootstrap replicates");
  size_t R = o->replicates;
  double *t = replicates_out;
  double *own = NULL, *sx = NULL, *sy = NULL;
  uint32_t *counts = NULL;
  int threads = o->threads > 0 ? o->threads : omp_get_max_threads();
  lp_status st = LP_OK;
  if (!t) {
    if (lp_calloc(R, sizeof *t, &own)) return lp_error_set(err, LP_ENOMEM, "out of memory");
    t = own;
  }
  if (lp_calloc(nx, sizeof *sx, &sx) || lp_calloc(ny, sizeof *sy, &sy)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  memcpy(sx, x, nx * sizeof *x);
  memcpy(sy, y, ny * sizeof *y);
  if (o->summary == LP_SUMMARY_MEDIAN) {
    lp_sort_doubles(sx, nx);
    lp_sort_doubles(sy, ny);
    if (lp_calloc((size_t)threads * (nx + ny), sizeof *counts, &counts)) {
      st = lp_error_set(err, LP_ENOMEM, "out of memory");
      goto done;
    }
    out->estimate = lp_quantile_sorted(sx, nx, 0.5) - lp_quantile_sorted(sy, ny, 0.5);
  } else {
    out->estimate = lp__mean(x, nx) - lp__mean(y, ny);
  }
  const uint32_t n1 = (uint32_t)nx, n2 = (uint32_t)ny;
  const uint64_t seed = o->seed;
  const bool median = o->summary == LP_SUMMARY_MEDIAN;
#pragma omp parallel num_threads(threads)
  {
    uint32_t *cnt = counts ? counts + (size_t)omp_get_thread_num() * (nx + ny) : NULL;
#pragma omp for schedule(static)
    for (size_t r = 0; r < R; r++) {
      lp_rng rng;
      lp_rng_seed(&rng, seed, (uint64_t)r);
      if (median) {
        double a = resample_median(&rng, sx, n1, cnt);
        double b = resample_median(&rng, sy, n2, cnt + nx);
        t[r] = a - b;
      } else {
        double a = resample_sum(&rng, sx, n1) / n1;
        double b = resample_sum(&rng, sy, n2) / n2;
        t[r] = a - b;
      }
    }
  }
  if (replicates_out) {
    /* Keep the caller's copy in replicate order; select on a scratch copy. */
    if (lp_calloc(R, sizeof *own, &own)) {
      st = lp_error_set(err, LP_ENOMEM, "out of memory");
      goto done;
    }
    memcpy(own, t, R * sizeof *t);
  }
  st = lp_boot_percentile(own, R, o->level, out->ci, &out->finite, err);
done:
  free(own);
  free(sx);
  free(sy);
  free(counts);
  return st;
}
