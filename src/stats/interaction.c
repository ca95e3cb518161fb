/* Heterogeneity of a treatment effect across subgroups: subgroup-specific effects
 * and a permutation test of Cochran's Q that shuffles both the arm and the
 * subgroup labels (the LeoPARDS subgroup analysis). */
#include <leopards/rng.h>
#include <leopards/stats.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void lp_interaction_result_clear(lp_interaction_result *r) {
  if (!r) return;
  free(r->sub);
  memset(r, 0, sizeof *r);
}

/* Cell sums for subgroup s, arm a at cells[(s * 2 + a) * 3 + {0,1,2}] = n, sum, sum of squares. */
static void cell_sums(const double *y, const int *arm, const int *sub, size_t n, size_t nsub, double *cells) {
  memset(cells, 0, nsub * 6 * sizeof *cells);
  for (size_t i = 0; i < n; i++) {
    double *c = cells + ((size_t)sub[i] * 2 + (size_t)arm[i]) * 3;
    c[0] += 1;
    c[1] += y[i];
    c[2] += y[i] * y[i];
  }
}

/* Q from cell sums (y already centred, so the sums of squares keep their digits).
 * Returns NAN when a cell has fewer than 2 patients or a subgroup has no variance.
 * Fills per-subgroup effect and variance if `d`/`v` are given. */
static double q_statistic(const double *cells, size_t nsub, double *d, double *v) {
  /* Q = sum w d^2 - (sum w d)^2 / sum w, with w = 1 / v. */
  double sw = 0, swd = 0, swdd = 0;
  for (size_t s = 0; s < nsub; s++) {
    double m[2], var[2];
    for (int a = 0; a < 2; a++) {
      const double *c = cells + (s * 2 + (size_t)a) * 3;
      if (c[0] < 2) return NAN;
      m[a] = c[1] / c[0];
      var[a] = fmax(0.0, (c[2] - c[0] * m[a] * m[a]) / (c[0] - 1)) / c[0];
    }
    double ds = m[0] - m[1], vs = var[0] + var[1];
    if (!(vs > 0)) return NAN;
    if (d) d[s] = ds;
    if (v) v[s] = vs;
    sw += 1 / vs;
    swd += ds / vs;
    swdd += ds * ds / vs;
  }
  return fmax(0.0, swdd - swd * swd / sw);
}

lp_status lp_interaction_test(const double *y, const int *arm, const int *sub, size_t n, size_t nsub,
                              size_t permutations, uint64_t seed, int threads, double level, lp_interaction_result *out,
                              lp_error *err) {
  memset(out, 0, sizeof *out);
  if (nsub < 2) return lp_error_set(err, LP_EDATA, "the subgroup variable needs at least two levels");
  if (n < 8 || n > UINT32_MAX) return lp_error_set(err, LP_EDATA, "too few rows for a subgroup test");
  if (permutations < 1) return lp_error_set(err, LP_EINVAL, "at least one permutation");
  if (!(level > 0 && level < 1)) return lp_error_set(err, LP_EINVAL, "level must be in (0, 1)");
  for (size_t i = 0; i < n; i++) {
    if (arm[i] != 0 && arm[i] != 1) return lp_error_set(err, LP_EINVAL, "arm codes must be 0 or 1");
    if (sub[i] < 0 || (size_t)sub[i] >= nsub) return lp_error_set(err, LP_EINVAL, "subgroup code out of range");
    if (!isfinite(y[i])) return lp_error_set(err, LP_EDATA, "non-finite outcome in row %zu", i + 1);
  }
  threads = lp_thread_budget(threads);
  double *yc = NULL, *cells = NULL, *d = NULL, *v = NULL;
  int *bufs = NULL;
  long double mean = 0;
  double q_obs = NAN, z = 0, bar = 0;
  size_t extreme = 0, defined = 0;
  lp_status st = LP_OK;
  if (lp_calloc(n, sizeof *yc, &yc) || lp_calloc((size_t)threads * nsub * 6, sizeof *cells, &cells) ||
      lp_calloc(nsub, sizeof *d, &d) || lp_calloc(nsub, sizeof *v, &v) ||
      lp_calloc((size_t)threads * 2 * n, sizeof *bufs, &bufs) || lp_calloc(nsub, sizeof *out->sub, &out->sub)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) mean += y[i];
  mean /= (long double)n;
  for (size_t i = 0; i < n; i++) yc[i] = y[i] - (double)mean;

  cell_sums(yc, arm, sub, n, nsub, cells);
  q_obs = q_statistic(cells, nsub, d, v);
  if (isnan(q_obs)) {
    st = lp_error_set(err, LP_EDATA, "every subgroup needs at least two patients with some spread in each arm");
    goto done;
  }
  z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
  out->nsub = nsub;
  for (size_t s = 0; s < nsub; s++) {
    lp_subgroup_effect *e = &out->sub[s];
    e->n[0] = (size_t)cells[(s * 2) * 3];
    e->n[1] = (size_t)cells[(s * 2 + 1) * 3];
    e->estimate = d[s];
    e->se = sqrt(v[s]);
    e->ci[0] = d[s] - z * e->se;
    e->ci[1] = d[s] + z * e->se;
  }
  out->statistic = q_obs;
  /* A relative margin so that permutations reproducing Q up to rounding count as ties. */
  bar = q_obs * (1 - 1e-12);
#pragma omp parallel num_threads(threads) reduction(+ : extreme, defined)
  {
    int tid = omp_get_thread_num();
    int *a = bufs + (size_t)tid * 2 * n, *s = a + n;
    double *c = cells + (size_t)tid * nsub * 6;
#pragma omp for schedule(static)
    for (size_t b = 0; b < permutations; b++) {
      lp_rng rng;
      lp_rng_seed(&rng, seed, (uint64_t)b);
      memcpy(a, arm, n * sizeof *a);
      memcpy(s, sub, n * sizeof *s);
      lp_rng_shuffle_int(&rng, a, (uint32_t)n);
      lp_rng_shuffle_int(&rng, s, (uint32_t)n);
      cell_sums(yc, a, s, n, nsub, c);
      double q = q_statistic(c, nsub, NULL, NULL);
      if (isnan(q)) continue;
      defined++;
      if (q >= bar) extreme++;
    }
  }
  out->permutations = defined;
  out->requested = permutations;
  out->p = (1.0 + (double)extreme) / (1.0 + (double)defined);
done:
  free(yc);
  free(cells);
  free(d);
  free(v);
  free(bufs);
  if (st) lp_interaction_result_clear(out);
  return st;
}
