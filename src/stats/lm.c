/* Linear regression as R's lm(): Householder QR with the dqrdc2 aliasing rule,
 * coefficient table with t-based P values; and a fast bootstrap of one coefficient
 * by weighted normal equations with one factor swept out (absorbed). */
#include <leopards/rng.h>
#include <leopards/stats.h>
#include <leopards/table.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void lp_lm_fit_clear(lp_lm_fit *f) {
  if (!f) return;
  free(f->coef);
  free(f->se);
  free(f->t);
  free(f->pval);
  free(f->aliased);
  memset(f, 0, sizeof *f);
}

lp_status lp_lm_fit_compute(const double *x, size_t n, size_t k, const double *y, bool intercept, double tol,
                            lp_lm_fit *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  size_t p = k + (intercept ? 1 : 0);
  if (p == 0) return lp_error_set(err, LP_EINVAL, "the model has no terms");
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(y[i])) return lp_error_set(err, LP_EDATA, "non-finite outcome in row %zu", i + 1);
    for (size_t j = 0; j < k; j++)
      if (!isfinite(x[i * k + j])) return lp_error_set(err, LP_EDATA, "non-finite covariate in row %zu", i + 1);
  }
  /* Column-major copy of [1 x] and of y; reflections are applied to both. */
  double *a = NULL, *qty = NULL, *norm0 = NULL, *rinv = NULL;
  size_t *col = NULL;
  size_t r = 0; /* pivots made so far */
  double rss = 0, s2 = 0, my = 0, tss = 0, dfint = 0;
  lp_status st = LP_OK;
  if (lp_calloc(n * p, sizeof *a, &a) || lp_calloc(n, sizeof *qty, &qty) || lp_calloc(p, sizeof *norm0, &norm0) ||
      lp_calloc(p, sizeof *col, &col) || lp_calloc(p * p, sizeof *rinv, &rinv) ||
      lp_calloc(p, sizeof *out->coef, &out->coef) || lp_calloc(p, sizeof *out->se, &out->se) ||
      lp_calloc(p, sizeof *out->t, &out->t) || lp_calloc(p, sizeof *out->pval, &out->pval) ||
      lp_calloc(p, sizeof *out->aliased, &out->aliased)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if (intercept) a[i] = 1.0;
    for (size_t j = 0; j < k; j++) a[(j + (intercept ? 1 : 0)) * n + i] = x[i * k + j];
    qty[i] = y[i];
  }
  for (size_t j = 0; j < p; j++) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[j * n + i] * a[j * n + i];
    norm0[j] = sqrt(s);
  }
  /* Householder QR over the columns in order; an aliased column is skipped and
   * the next pivot row is reused (the columns kept form the R factor). */
  for (size_t j = 0; j < p; j++) {
    double *v = a + j * n;
    double s = 0;
    for (size_t i = r; i < n; i++) s += v[i] * v[i];
    double nrm = sqrt(s);
    if (r >= n || nrm <= tol * norm0[j] || norm0[j] == 0) {
      out->aliased[j] = true;
      continue;
    }
    double alpha = v[r] > 0 ? -nrm : nrm;
    double v0 = v[r] - alpha;
    /* Reflector u = (v0, v[r+1..]) ; H = I - 2 u u' / u'u. */
    double uu = v0 * v0 + (s - v[r] * v[r]);
    for (size_t jj = j + 1; jj < p; jj++) {
      double *w = a + jj * n;
      double d = v0 * w[r];
      for (size_t i = r + 1; i < n; i++) d += v[i] * w[i];
      double f = 2 * d / uu;
      w[r] -= f * v0;
      for (size_t i = r + 1; i < n; i++) w[i] -= f * v[i];
    }
    {
      double d = v0 * qty[r];
      for (size_t i = r + 1; i < n; i++) d += v[i] * qty[i];
      double f = 2 * d / uu;
      qty[r] -= f * v0;
      for (size_t i = r + 1; i < n; i++) qty[i] -= f * v[i];
    }
    v[r] = alpha; /* the diagonal of R; entries below are no longer needed */
    col[r] = j;
    r++;
  }
  out->n = n;
  out->p = p;
  out->rank = r;
  if (n <= r) {
    st = lp_error_set(err, LP_EDATA,
                      "%zu rows for %zu estimable coefficients: no residual degrees "
                      "of freedom",
                      n, r);
    goto done;
  }
  /* R (r x r, upper): R[i][m] = a[col[m] * n + i]. Back-substitute for the
   * coefficients and invert R for the covariance. */
  for (size_t m = r; m-- > 0;) {
    double s = qty[m];
    for (size_t q = m + 1; q < r; q++) s -= a[col[q] * n + m] * out->coef[col[q]];
    out->coef[col[m]] = s / a[col[m] * n + m];
  }
  for (size_t m = r; m-- > 0;) {
    rinv[m * p + m] = 1 / a[col[m] * n + m];
    for (size_t q = m + 1; q < r; q++) {
      double s = 0;
      for (size_t t = m + 1; t <= q; t++) s += a[col[t] * n + m] * rinv[t * p + q];
      rinv[m * p + q] = -s / a[col[m] * n + m];
    }
  }
  for (size_t i = r; i < n; i++) rss += qty[i] * qty[i];
  out->df_resid = (double)(n - r);
  s2 = rss / out->df_resid;
  out->sigma = sqrt(s2);
  for (size_t m = 0; m < r; m++) {
    double v = 0;
    for (size_t q = m; q < r; q++) v += rinv[m * p + q] * rinv[m * p + q];
    size_t j = col[m];
    out->se[j] = sqrt(s2 * v);
    out->t[j] = out->coef[j] / out->se[j];
    out->pval[j] = 2 * gsl_cdf_tdist_Q(fabs(out->t[j]), out->df_resid);
  }
  for (size_t j = 0; j < p; j++)
    if (out->aliased[j]) out->coef[j] = out->se[j] = out->t[j] = out->pval[j] = NAN;
  /* R squared against the mean (with intercept) or zero (without), as summary.lm. */
  if (intercept) {
    for (size_t i = 0; i < n; i++) my += y[i];
    my /= (double)n;
  }
  for (size_t i = 0; i < n; i++) tss += (y[i] - my) * (y[i] - my);
  dfint = intercept ? 1.0 : 0.0;
  out->r_squared = tss > 0 ? 1 - rss / tss : NAN;
  out->adj_r_squared = tss > 0 ? 1 - (1 - out->r_squared) * ((double)n - dfint) / out->df_resid : NAN;
done:
  free(a);
  free(qty);
  free(norm0);
  free(col);
  free(rinv);
  if (st) lp_lm_fit_clear(out);
  return st;
}

/* ---- bootstrap of one coefficient ---- */

/* Weighted least squares with the factor `group` swept out: accumulate, per group,
 * the weight and weighted sums of x and y; subtract the between-group part from
 * the cross-products; solve by Cholesky, treating a pivot below `tol` times its
 * weighted sum of squares before the sweep as aliased (1e-10 on the squared scale,
 * i.e. 1e-5 on norms: looser than lm's 1e-7 because normal equations square the
 * condition number). Returns coefficient `coef`, or NAN if it is not estimable.
 * Workspace `ws`: within_doubles(k, ngroups) doubles. */
static size_t within_doubles(size_t k, size_t ngroups) { return ngroups * (k + 2) + 2 * k * k + 2 * k; }

/* Weighted sums per group (weight, x, y) and the cross-products of all rows: the
 * part of each replicate that visits every row. */
static void accumulate_k(const double *x, size_t n, size_t k, const double *y, const int *group, const uint32_t *w,
                         double *gs, double *A, double *b) {
  size_t stride = k + 2;
  for (size_t i = 0; i < n; i++) {
    double wi = w ? (double)w[i] : 1.0;
    if (wi == 0) continue;
    const double *xi = x + i * k;
    double *g = gs + (group ? (size_t)group[i] : 0) * stride;
    g[0] += wi;
    for (size_t j = 0; j < k; j++) {
      double wx = wi * xi[j];
      g[1 + j] += wx;
      for (size_t m = 0; m <= j; m++) A[j * k + m] += wx * xi[m];
      b[j] += wx * y[i];
    }
    g[1 + k] += wi * y[i];
  }
}

/* The same with K fixed at compile time, so that the compiler unrolls it and keeps
 * the cross-products in registers. */
#define LP__ACCUMULATE(K)                                                                                     \
  static void accumulate_##K(const double *x, size_t n, const double *y, const int *group, const uint32_t *w, \
                             double *gs, double *Aout, double *bout) {                                        \
    double A[K * K] = {0}, b[K] = {0};                                                                        \
    for (size_t i = 0; i < n; i++) {                                                                          \
      double wi = w ? (double)w[i] : 1.0; /* no test for 0: a branch costs more than the sums */              \
      const double *xi = x + i * K;                                                                           \
      double *g = gs + (group ? (size_t)group[i] : 0) * (K + 2);                                              \
      double wy = wi * y[i];                                                                                  \
      g[0] += wi;                                                                                             \
      g[1 + K] += wy;                                                                                         \
      _Pragma("GCC unroll 4") for (int j = 0; j < K; j++) {                                                   \
        double wx = wi * xi[j];                                                                               \
        g[1 + j] += wx;                                                                                       \
        b[j] += xi[j] * wy;                                                                                   \
        _Pragma("GCC unroll 4") for (int m = 0; m <= j; m++) A[j * K + m] += wx * xi[m];                      \
      }                                                                                                       \
    }                                                                                                         \
    for (int j = 0; j < K * K; j++) Aout[j] += A[j];                                                          \
    for (int j = 0; j < K; j++) bout[j] += b[j];                                                              \
  }
LP__ACCUMULATE(1)
LP__ACCUMULATE(2)
LP__ACCUMULATE(3)
LP__ACCUMULATE(4)

static double within_coef(const double *x, size_t n, size_t k, const double *y, const int *group, size_t ngroups,
                          const uint32_t *w, size_t coef, double *ws) {
  const double tol = 1e-10;
  size_t stride = k + 2;
  double *gs = ws, *A = gs + ngroups * stride, *L = A + k * k, *b = L + k * k, *raw = b + k;
  memset(gs, 0, ngroups * stride * sizeof *gs);
  memset(A, 0, k * k * sizeof *A);
  memset(b, 0, k * sizeof *b);
  switch (k) { /* the hot loop, unrolled for the usual small models */
    case 1:
      accumulate_1(x, n, y, group, w, gs, A, b);
      break;
    case 2:
      accumulate_2(x, n, y, group, w, gs, A, b);
      break;
    case 3:
      accumulate_3(x, n, y, group, w, gs, A, b);
      break;
    case 4:
      accumulate_4(x, n, y, group, w, gs, A, b);
      break;
    default:
      accumulate_k(x, n, k, y, group, w, gs, A, b);
  }
  for (size_t j = 0; j < k; j++) raw[j] = A[j * k + j];
  for (size_t gi = 0; gi < ngroups; gi++) {
    const double *g = gs + gi * stride;
    if (g[0] == 0) continue;
    for (size_t j = 0; j < k; j++) {
      double sj = g[1 + j] / g[0];
      for (size_t m = 0; m <= j; m++) A[j * k + m] -= sj * g[1 + m];
      b[j] -= sj * g[1 + k];
    }
  }
  /* Cholesky A = L L' on the lower triangle, skipping aliased pivots. */
  bool aliased_coef = false;
  for (size_t j = 0; j < k; j++) {
    double d = A[j * k + j];
    for (size_t m = 0; m < j; m++) d -= L[j * k + m] * L[j * k + m];
    if (!(d > tol * raw[j])) {
      for (size_t i = j; i < k; i++) L[i * k + j] = 0;
      if (j == coef) aliased_coef = true;
      continue;
    }
    double ljj = sqrt(d);
    L[j * k + j] = ljj;
    for (size_t i = j + 1; i < k; i++) {
      double s = A[i * k + j];
      for (size_t m = 0; m < j; m++) s -= L[i * k + m] * L[j * k + m];
      L[i * k + j] = s / ljj;
    }
  }
  if (aliased_coef) return NAN;
  /* Solve L z = b, then L' beta = z, with zeros for aliased columns. */
  for (size_t j = 0; j < k; j++) {
    if (L[j * k + j] == 0) {
      b[j] = 0;
      continue;
    }
    double s = b[j];
    for (size_t m = 0; m < j; m++) s -= L[j * k + m] * b[m];
    b[j] = s / L[j * k + j];
  }
  for (size_t j = k; j-- > 0;) {
    if (L[j * k + j] == 0) {
      b[j] = 0;
      continue;
    }
    double s = b[j];
    for (size_t m = j + 1; m < k; m++) s -= L[m * k + j] * b[m];
    b[j] = s / L[j * k + j];
  }
  return b[coef];
}

lp_status lp_lm_boot_coef(const double *x, size_t n, size_t k, const double *y, const int *group, size_t ngroups,
                          const int *strata, size_t coef, const lp_boot_options *o, double *replicates_out,
                          lp_boot_result *out, lp_error *err) {
  if (coef >= k) return lp_error_set(err, LP_EINVAL, "coefficient index outside the model");
  if (n < 2 || n > UINT32_MAX) return lp_error_set(err, LP_EINVAL, "bad number of rows");
  if (o->replicates < 2) return lp_error_set(err, LP_EINVAL, "at least 2 bootstrap replicates");
  if (!group) ngroups = 1;
  int threads = lp_thread_budget(o->threads);
  size_t R = o->replicates;
  const uint64_t seed = o->seed;
  lp_status st = LP_OK;
  double *xc = NULL, *yc = NULL, *t = NULL, *scratch = NULL;
  uint32_t *members = NULL, *start = NULL, *counts = NULL, *weights = NULL;
  size_t nstrata = 1;
  if (strata)
    for (size_t i = 0; i < n; i++) {
      if (strata[i] < 0) return lp_error_set(err, LP_EINVAL, "negative stratum code");
      if ((size_t)strata[i] + 1 > nstrata) nstrata = (size_t)strata[i] + 1;
    }
  size_t ws_doubles = within_doubles(k, ngroups);
  if (lp_calloc(n * k, sizeof *xc, &xc) || lp_calloc(n, sizeof *yc, &yc) || lp_calloc(R, sizeof *t, &t) ||
      lp_calloc((size_t)threads * ws_doubles, sizeof *scratch, &scratch) || lp_calloc(n, sizeof *members, &members) ||
      lp_calloc(nstrata + 1, sizeof *start, &start) || lp_calloc(nstrata, sizeof *counts, &counts) ||
      lp_calloc((size_t)threads * n, sizeof *weights, &weights)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  /* Centre x and y on their means: the within-group fit is unchanged and the
   * cross-products lose less to cancellation. */
  for (size_t j = 0; j < k; j++) {
    long double m = 0;
    for (size_t i = 0; i < n; i++) m += x[i * k + j];
    m /= (long double)n;
    for (size_t i = 0; i < n; i++) xc[i * k + j] = x[i * k + j] - (double)m;
  }
  {
    long double m = 0;
    for (size_t i = 0; i < n; i++) m += y[i];
    m /= (long double)n;
    for (size_t i = 0; i < n; i++) yc[i] = y[i] - (double)m;
  }
  for (size_t i = 0; i < n * k; i++)
    if (!isfinite(xc[i])) {
      st = lp_error_set(err, LP_EDATA, "non-finite covariate");
      goto done;
    }
  /* Rows of each stratum, contiguous in `members`. */
  for (size_t i = 0; i < n; i++) counts[strata ? strata[i] : 0]++;
  for (size_t s = 0; s < nstrata; s++) start[s + 1] = start[s] + counts[s];
  memset(counts, 0, nstrata * sizeof *counts);
  for (size_t i = 0; i < n; i++) {
    size_t s = strata ? (size_t)strata[i] : 0;
    members[start[s] + counts[s]++] = (uint32_t)i;
  }
  {
    double *ws = scratch;
    out->estimate = within_coef(xc, n, k, yc, group, ngroups, NULL, coef, ws);
    if (!isfinite(out->estimate)) {
      st = lp_error_set(err, LP_EDATA, "the coefficient is not estimable (aliased) on the data");
      goto done;
    }
  }
#pragma omp parallel num_threads(threads)
  {
    int tid = omp_get_thread_num();
    double *ws = scratch + (size_t)tid * ws_doubles;
    uint32_t *w = weights + (size_t)tid * n;
#pragma omp for schedule(static)
    for (size_t r = 0; r < R; r++) {
      lp_rng base;
      lp_rng_seed(&base, seed, (uint64_t)r);
      lp_rng32 rng = {&base, 0, 0};
      memset(w, 0, n * sizeof *w);
      for (size_t s = 0; s < nstrata; s++) {
        uint32_t len = start[s + 1] - start[s];
        for (uint32_t d = 0; d < len; d++) w[members[start[s] + lp_rng32_below(&rng, len)]]++;
      }
      t[r] = within_coef(xc, n, k, yc, group, ngroups, w, coef, ws);
    }
  }
  if (replicates_out) memcpy(replicates_out, t, R * sizeof *t);
  st = lp_boot_percentile(t, R, o->level, out->ci, &out->finite, err);
done:
  free(xc);
  free(yc);
  free(t);
  free(scratch);
  free(members);
  free(start);
  free(counts);
  free(weights);
  return st;
}

lp_status lp_lm_boot_matrix(const lp_model_matrix *d, const double *y, size_t target, const int *strata,
                            const lp_boot_options *o, lp_boot_result *out, lp_error *err) {
  if (target >= d->p) return lp_error_set(err, LP_EINVAL, "coefficient index outside the model");
  /* The factor term with the most columns, not holding the target, is absorbed. */
  int absorb = -1;
  size_t best = 0;
  for (size_t j = 0; j < d->p;) {
    size_t e = j;
    while (e < d->p && d->term[e] == d->term[j]) e++;
    bool has_target = target >= j && target < e;
    if (d->factor[j] && !has_target && e - j > best) {
      best = e - j;
      absorb = d->term[j];
    }
    j = e;
  }
  size_t k = 0, tk = 0, ngroups = 1;
  double *x = malloc(d->n * (d->p ? d->p : 1) * sizeof *x);
  int *group = absorb >= 0 ? calloc(d->n ? d->n : 1, sizeof *group) : NULL;
  if (!x || (absorb >= 0 && !group)) {
    free(x);
    free(group);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  for (size_t j = 0; j < d->p; j++) {
    if (d->term[j] == absorb) continue;
    if (j == target) tk = k;
    k++;
  }
  for (size_t i = 0; i < d->n; i++) {
    size_t c = 0, level = 0;
    for (size_t j = 0; j < d->p; j++) {
      if (d->term[j] == absorb) {
        level++;
        if (d->x[i * d->p + j] == 1.0) group[i] = (int)level;
        continue;
      }
      x[i * k + c++] = d->x[i * d->p + j];
    }
    ngroups = level + 1;
  }
  lp_status st = lp_lm_boot_coef(x, d->n, k, y, group, ngroups, strata, tk, o, NULL, out, err);
  free(x);
  free(group);
  return st;
}
