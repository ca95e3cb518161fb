/* Stratified bootstrap of a difference of means or medians between two groups, and
 * the percentile interval of boot.ci(type = "perc"). Replicate r draws from its
 * own stream (seed, r), so any number of threads gives the same replicates. */
#define _GNU_SOURCE /* qsort_r */
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

lp_status lp_boot_percentile(double *t, size_t R, double level, double ci[2], size_t *finite, lp_error *err) {
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

/* Median (type 7) of a resample given how often each sorted position was drawn:
 * walk the counts to the middle order statistic(s). Linear in n, no sorting. */
static double counted_median(const double *sorted, uint32_t n, const uint32_t *counts) {
  uint32_t lo = (n - 1) / 2;
  bool even = (n % 2) == 0;
  uint32_t seen = 0, j = 0;
  while (seen + counts[j] <= lo) seen += counts[j++];
  double a = sorted[j];
  if (!even || seen + counts[j] > lo + 1) return a;
  j++;
  while (counts[j] == 0) j++;
  return 0.5 * (a + sorted[j]);
}

/* Per column: the values sorted, and each original position's rank among them. */
typedef struct {
  double *sorted;
  uint32_t *rank;
} ranked;

static int cmp_pos(const void *a, const void *b, void *ctx) {
  const double *v = ctx;
  double x = v[*(const uint32_t *)a], y = v[*(const uint32_t *)b];
  return (x > y) - (x < y);
}

static lp_status rank_column(const double *v, size_t n, ranked *r) {
  r->sorted = malloc((n ? n : 1) * sizeof *r->sorted);
  r->rank = malloc((n ? n : 1) * sizeof *r->rank);
  uint32_t *pos = malloc((n ? n : 1) * sizeof *pos);
  if (!r->sorted || !r->rank || !pos) {
    free(r->sorted), free(r->rank), free(pos);
    r->sorted = NULL, r->rank = NULL;
    return LP_ENOMEM;
  }
  for (size_t i = 0; i < n; i++) pos[i] = (uint32_t)i;
  qsort_r(pos, n, sizeof *pos, cmp_pos, (void *)v);
  for (size_t i = 0; i < n; i++) {
    r->sorted[i] = v[pos[i]];
    r->rank[pos[i]] = (uint32_t)i;
  }
  free(pos);
  return LP_OK;
}

lp_status lp_boot_diff(const double *x, size_t nx, const double *y, size_t ny, const lp_boot_options *o,
                       double *replicates_out, lp_boot_result *out, lp_error *err) {
  return lp_boot_diff_many(&x, &y, 1, nx, ny, o, replicates_out, out, err);
}

lp_status lp_boot_diff_many(const double *const *x, const double *const *y, size_t k, size_t nx, size_t ny,
                            const lp_boot_options *o, double *replicates_out, lp_boot_result *out, lp_error *err) {
  if (k == 0) return lp_error_set(err, LP_EINVAL, "no outcome to bootstrap");
  if (nx == 0 || ny == 0) return lp_error_set(err, LP_EDATA, "each group needs at least one value");
  if (nx > UINT32_MAX / 2 || ny > UINT32_MAX / 2)
    return lp_error_set(err, LP_EINVAL, "group too large for the bootstrap");
  if (o->replicates < 2) return lp_error_set(err, LP_EINVAL, "at least 2 bootstrap replicates");
  size_t R = o->replicates, n = nx + ny;
  int threads = lp_thread_budget(o->threads);
  const bool median = o->summary == LP_SUMMARY_MEDIAN;
  lp_status st = LP_OK;
  double *t = NULL, *vals = NULL;
  uint32_t *work = NULL;
  ranked *rk = NULL;
  const uint32_t n1 = (uint32_t)nx, n2 = (uint32_t)ny;
  const uint64_t seed = o->seed;
  /* All columns side by side: vals[c * n + i], x's rows first. */
  if (lp_calloc(k * R, sizeof *t, &t) || lp_calloc(k * n, sizeof *vals, &vals) ||
      lp_calloc((size_t)threads * (n + (median ? n : 0)), sizeof *work, &work) || lp_calloc(k, sizeof *rk, &rk)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t c = 0; c < k; c++) {
    memcpy(vals + c * n, x[c], nx * sizeof(double));
    memcpy(vals + c * n + nx, y[c], ny * sizeof(double));
  }
  if (median) {
    /* Each group sorted on its own: ranks are positions within the group. */
    for (size_t c = 0; c < k; c++) {
      rk[c].sorted = malloc(n * sizeof(double));
      rk[c].rank = malloc(n * sizeof(uint32_t));
      ranked gx = {0}, gy = {0};
      if (!rk[c].sorted || !rk[c].rank || rank_column(vals + c * n, nx, &gx) ||
          rank_column(vals + c * n + nx, ny, &gy)) {
        free(gx.sorted), free(gx.rank), free(gy.sorted), free(gy.rank);
        st = lp_error_set(err, LP_ENOMEM, "out of memory");
        goto done;
      }
      memcpy(rk[c].sorted, gx.sorted, nx * sizeof(double));
      memcpy(rk[c].sorted + nx, gy.sorted, ny * sizeof(double));
      memcpy(rk[c].rank, gx.rank, nx * sizeof(uint32_t));
      memcpy(rk[c].rank + nx, gy.rank, ny * sizeof(uint32_t));
      free(gx.sorted), free(gx.rank), free(gy.sorted), free(gy.rank);
      out[c].estimate = lp_quantile_sorted(rk[c].sorted, nx, 0.5) - lp_quantile_sorted(rk[c].sorted + nx, ny, 0.5);
    }
  } else {
    for (size_t c = 0; c < k; c++) out[c].estimate = lp__mean(x[c], nx) - lp__mean(y[c], ny);
  }
#pragma omp parallel num_threads(threads)
  {
    uint32_t *idx = work + (size_t)omp_get_thread_num() * (n + (median ? n : 0));
    uint32_t *counts = idx + n;
#pragma omp for schedule(static)
    for (size_t r = 0; r < R; r++) {
      /* Replicate r: indices from the stream (seed, r), x's group then y's. */
      lp_rng base;
      lp_rng_seed(&base, seed, (uint64_t)r);
      lp_rng32 rng = {&base, 0, 0};
      if (k == 1 && !median) {
        /* One outcome: sum as the indices are drawn (no index buffer). */
        const double *v = vals;
        double a = 0, b = 0;
        for (uint32_t i = 0; i < n1; i++) a += v[lp_rng32_below(&rng, n1)];
        for (uint32_t i = 0; i < n2; i++) b += v[n1 + lp_rng32_below(&rng, n2)];
        t[r] = a / n1 - b / n2;
        continue;
      }
      for (uint32_t i = 0; i < n1; i++) idx[i] = lp_rng32_below(&rng, n1);
      for (uint32_t i = 0; i < n2; i++) idx[n1 + i] = n1 + lp_rng32_below(&rng, n2);
      for (size_t c = 0; c < k; c++) {
        const double *v = vals + c * n;
        if (median) {
          memset(counts, 0, n * sizeof *counts);
          for (uint32_t i = 0; i < n1; i++) counts[rk[c].rank[idx[i]]]++;
          for (uint32_t i = n1; i < n1 + n2; i++) counts[n1 + rk[c].rank[idx[i]]]++;
          t[c * R + r] = counted_median(rk[c].sorted, n1, counts) - counted_median(rk[c].sorted + n1, n2, counts + n1);
        } else {
          double a = 0, b = 0;
          for (uint32_t i = 0; i < n1; i++) a += v[idx[i]];
          for (uint32_t i = n1; i < n1 + n2; i++) b += v[idx[i]];
          t[c * R + r] = a / n1 - b / n2;
        }
      }
    }
  }
  if (replicates_out) memcpy(replicates_out, t, k * R * sizeof *t);
  for (size_t c = 0; c < k && !st; c++) st = lp_boot_percentile(t + c * R, R, o->level, out[c].ci, &out[c].finite, err);
done:
  for (size_t c = 0; rk && c < k; c++) {
    free(rk[c].sorted);
    free(rk[c].rank);
  }
  free(rk);
  free(t);
  free(vals);
  free(work);
  return st;
}
