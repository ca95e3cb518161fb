/* Multiple imputation by chained equations, as mice does it: each incomplete column
 * is imputed in turn from the others by a Bayesian normal linear model whose
 * parameters are drawn from their posterior before every imputation ("norm"), or by
 * predictive mean matching on such a draw ("pmm"), over a few iterations. */
#include <leopards/rng.h>
#include <leopards/stats.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* GSL's random variates drawn from our own stream, so that each imputation's draws
 * depend only on (seed, imputation). */
static void rng_set(void *state, unsigned long seed) { (void)state, (void)seed; }
static unsigned long rng_get(void *state) { return (unsigned long)(lp_rng_next(state) >> 32); }
static double rng_get_double(void *state) { return lp_rng_uniform(state); }
static const gsl_rng_type lp_gsl_type = {"leopards-xoshiro256++", 0xffffffffUL, 0, sizeof(lp_rng), rng_set, rng_get,
                                         rng_get_double};

/* Cholesky factor L (lower, in place, row-major p x p) of a symmetric positive
 * definite matrix; false if it is not positive definite. */
static bool cholesky(double *a, size_t p) {
  for (size_t j = 0; j < p; j++) {
    double d = a[j * p + j];
    for (size_t k = 0; k < j; k++) d -= a[j * p + k] * a[j * p + k];
    if (!(d > 0)) return false;
    d = sqrt(d);
    a[j * p + j] = d;
    for (size_t i = j + 1; i < p; i++) {
      double s = a[i * p + j];
      for (size_t k = 0; k < j; k++) s -= a[i * p + k] * a[j * p + k];
      a[i * p + j] = s / d;
    }
    for (size_t k = j + 1; k < p; k++) a[j * p + k] = 0;
  }
  return true;
}

/* Solve L L' x = b in place (b has p entries). */
static void chol_solve(const double *l, size_t p, double *b) {
  for (size_t i = 0; i < p; i++) {
    double s = b[i];
    for (size_t k = 0; k < i; k++) s -= l[i * p + k] * b[k];
    b[i] = s / l[i * p + i];
  }
  for (size_t i = p; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < p; k++) s -= l[k * p + i] * b[k];
    b[i] = s / l[i * p + i];
  }
}

/* Solve L' x = z in place: x = L'^-1 z has covariance (L L')^-1 when z is standard
 * normal, which is the posterior shape of the coefficients. */
static void chol_solve_upper(const double *l, size_t p, double *z) {
  for (size_t i = p; i-- > 0;) {
    double s = z[i];
    for (size_t k = i + 1; k < p; k++) s -= l[k * p + i] * z[k];
    z[i] = s / l[i * p + i];
  }
}

typedef struct work {
  size_t n, p;             /* rows; coefficients (intercept + predictors) */
  double *x;               /* n x p design, row-major, first column 1 */
  double *xtx;             /* p x p */
  double *coef, *beta, *z; /* p each */
  double *yhat;            /* n: fitted values for pmm */
  size_t *obs;             /* indices of observed rows */
  size_t *near;            /* donors */
} work;

static void work_free(work *w) {
  free(w->x), free(w->xtx), free(w->coef), free(w->beta), free(w->z), free(w->yhat), free(w->obs), free(w->near);
}

static bool work_alloc(work *w, size_t n, size_t p, size_t donors) {
  memset(w, 0, sizeof *w);
  w->n = n, w->p = p;
  w->x = malloc(n * p * sizeof *w->x);
  w->xtx = malloc(p * p * sizeof *w->xtx);
  w->coef = malloc(p * sizeof *w->coef);
  w->beta = malloc(p * sizeof *w->beta);
  w->z = malloc(p * sizeof *w->z);
  w->yhat = malloc(n * sizeof *w->yhat);
  w->obs = malloc(n * sizeof *w->obs);
  w->near = malloc((donors ? donors : 1) * sizeof *w->near);
  if (w->x && w->xtx && w->coef && w->beta && w->z && w->yhat && w->obs && w->near) return true;
  work_free(w);
  return false;
}

/* Posterior draw of (beta, sigma) for y on the design rows that are observed, as
 * mice's norm.draw: the least-squares fit, sigma* = sqrt(RSS / chi-square(df)) with
 * df = max(nobs - p, 1), beta* = coef + sigma* L'^-1 z. When X'X is singular the
 * ridge mice falls back to (1e-5 of its diagonal) is added. */
static lp_status posterior_draw(work *w, const double *y, const bool *miss, lp_rng *rng, gsl_rng *g, double *sigma,
                                const char *name, lp_error *err) {
  size_t n = w->n, p = w->p, nobs = 0;
  memset(w->xtx, 0, p * p * sizeof *w->xtx);
  memset(w->coef, 0, p * sizeof *w->coef);
  for (size_t i = 0; i < n; i++) {
    if (miss[i]) continue;
    w->obs[nobs++] = i;
    const double *xi = w->x + i * p;
    for (size_t a = 0; a < p; a++) {
      w->coef[a] += xi[a] * y[i];
      for (size_t b = 0; b <= a; b++) w->xtx[a * p + b] += xi[a] * xi[b];
    }
  }
  if (nobs < 2) return lp_error_set(err, LP_EDATA, "column '%s': fewer than two observed values to impute from", name);
  for (size_t a = 0; a < p; a++)
    for (size_t b = 0; b < a; b++) w->xtx[b * p + a] = w->xtx[a * p + b];
  double *l = w->xtx;
  double *keep = malloc(p * p * sizeof *keep);
  if (!keep) return lp_error_set(err, LP_ENOMEM, "out of memory");
  memcpy(keep, l, p * p * sizeof *keep);
  if (!cholesky(l, p)) {
    memcpy(l, keep, p * p * sizeof *keep);
    for (size_t a = 0; a < p; a++) l[a * p + a] += l[a * p + a] * 1e-5;
    if (!cholesky(l, p)) {
      free(keep);
      return lp_error_set(err, LP_EDATA, "column '%s': its predictors are degenerate even with a ridge", name);
    }
  }
  free(keep);
  chol_solve(l, p, w->coef);
  double rss = 0;
  for (size_t k = 0; k < nobs; k++) {
    const double *xi = w->x + w->obs[k] * p;
    double f = 0;
    for (size_t a = 0; a < p; a++) f += xi[a] * w->coef[a];
    rss += (y[w->obs[k]] - f) * (y[w->obs[k]] - f);
  }
  double df = nobs > p ? (double)(nobs - p) : 1.0;
  double s = sqrt(rss / gsl_ran_chisq(g, df));
  for (size_t a = 0; a < p; a++) w->z[a] = lp_rng_normal(rng);
  chol_solve_upper(l, p, w->z);
  for (size_t a = 0; a < p; a++) w->beta[a] = w->coef[a] + s * w->z[a];
  *sigma = s;
  return LP_OK;
}

static double dot(const double *a, const double *b, size_t p) {
  double s = 0;
  for (size_t k = 0; k < p; k++) s += a[k] * b[k];
  return s;
}

/* Predictive mean matching (mice's type-1 matching): observed rows are predicted
 * with the least-squares coefficients, missing rows with the drawn ones, and each
 * missing row takes the observed value of one of its `donors` nearest predictions,
 * chosen at random, ties broken at random (a random second key). With more than a
 * few missing rows the observed predictions are sorted once per sweep and each
 * missing row finds its donors by a binary search, so a sweep costs
 * O((nobs + nmis) log nobs), not nobs * nmis. */
typedef struct donor {
  double yhat;
  uint64_t key; /* random: breaks ties in yhat at random */
  size_t row;
} donor;

static int cmp_donor(const void *a, const void *b) {
  const donor *x = a, *y = b;
  if (x->yhat != y->yhat) return x->yhat < y->yhat ? -1 : 1;
  return x->key < y->key ? -1 : x->key > y->key;
}

/* The k nearest donors of `target` among d[0..nobs) by a linear scan, ties by key
 * (for a few missing rows, cheaper than sorting). */
static void nearest_scan(const donor *d, size_t nobs, double target, size_t k, size_t *near, double *dist,
                         uint64_t *key) {
  size_t have = 0;
  for (size_t a = 0; a < nobs; a++) {
    double e = fabs(d[a].yhat - target);
    if (have == k && !(e < dist[k - 1] || (e == dist[k - 1] && d[a].key < key[k - 1]))) continue;
    size_t j = have < k ? have++ : k - 1;
    while (j > 0 && (dist[j - 1] > e || (dist[j - 1] == e && key[j - 1] > d[a].key)))
      dist[j] = dist[j - 1], key[j] = key[j - 1], near[j] = near[j - 1], j--;
    dist[j] = e, key[j] = d[a].key, near[j] = d[a].row;
  }
}

/* The same on d sorted by (yhat, key): a binary search, then a walk outwards (equal
 * distances on the two sides broken by a coin). */
static void nearest_sorted(const donor *d, size_t nobs, double target, size_t k, size_t *near, lp_rng *rng) {
  size_t lo = 0, hi = nobs; /* first donor with yhat >= target */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d[mid].yhat < target) lo = mid + 1;
    else
      hi = mid;
  }
  size_t left = lo, right = lo;
  for (size_t have = 0; have < k; have++) {
    bool take_l;
    if (right >= nobs) take_l = true;
    else if (left == 0)
      take_l = false;
    else {
      double dl = target - d[left - 1].yhat, dr = d[right].yhat - target;
      take_l = dl < dr || (dl == dr && (lp_rng_next(rng) >> 63));
    }
    near[have] = take_l ? d[--left].row : d[right++].row;
  }
}

static lp_status pmm_fill(work *w, double *y, const bool *miss, size_t donors, lp_rng *rng, lp_error *err) {
  size_t nobs = 0, nmis = 0;
  donor *d = malloc(w->n * sizeof *d);
  double *dist = malloc(donors * sizeof *dist);
  uint64_t *key = malloc(donors * sizeof *key);
  if (!d || !dist || !key) {
    free(d), free(dist), free(key);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < w->n; i++) {
    if (miss[i]) nmis++;
    else
      d[nobs++] = (donor){dot(w->x + i * w->p, w->coef, w->p), lp_rng_next(rng), i};
  }
  bool sorted = nmis > 32;
  if (sorted) qsort(d, nobs, sizeof *d, cmp_donor);
  size_t k = donors < nobs ? donors : nobs;
  for (size_t i = 0; i < w->n; i++) {
    if (!miss[i]) continue;
    double target = dot(w->x + i * w->p, w->beta, w->p);
    if (sorted) nearest_sorted(d, nobs, target, k, w->near, rng);
    else
      nearest_scan(d, nobs, target, k, w->near, dist, key);
    y[i] = y[w->near[lp_rng_below(rng, (uint32_t)k)]];
  }
  free(d), free(dist), free(key);
  return LP_OK;
}

/* One imputation: start from random draws of each column's observed values (mice's
 * initialisation), then `maxit` sweeps over the incomplete columns left to right. */
static lp_status impute_one(const double *data, size_t n, size_t p, const bool *miss, const size_t *npred,
                            const unsigned char *pred, const char *const *names, const lp_mice_options *o, size_t imp,
                            double *out, lp_error *err) {
  lp_rng rng;
  lp_rng_seed(&rng, o->seed, imp);
  gsl_rng g = {&lp_gsl_type, &rng};
  memcpy(out, data, n * p * sizeof *out);
  size_t *obs = malloc(n * sizeof *obs);
  if (!obs) return lp_error_set(err, LP_ENOMEM, "out of memory");
  for (size_t j = 0; j < p; j++) {
    size_t nobs = 0;
    for (size_t i = 0; i < n; i++)
      if (!miss[j * n + i]) obs[nobs++] = i;
    for (size_t i = 0; i < n; i++)
      if (miss[j * n + i]) out[j * n + i] = data[j * n + obs[lp_rng_below(&rng, (uint32_t)nobs)]];
  }
  free(obs);
  lp_status st = LP_OK;
  for (size_t it = 0; it < o->maxit && st == LP_OK; it++) {
    for (size_t j = 0; j < p && st == LP_OK; j++) {
      const bool *mj = miss + j * n;
      if (!npred[j]) continue;
      work w;
      if (!work_alloc(&w, n, npred[j] + 1, o->donors)) return lp_error_set(err, LP_ENOMEM, "out of memory");
      for (size_t i = 0; i < n; i++) {
        double *xi = w.x + i * w.p;
        size_t c = 0;
        xi[c++] = 1;
        for (size_t k = 0; k < p; k++)
          if (k != j && (pred ? pred[j * p + k] : 1)) xi[c++] = out[k * n + i];
      }
      double sigma = 0, *y = out + j * n;
      st = posterior_draw(&w, y, mj, &rng, &g, &sigma, names ? names[j] : "?", err);
      if (st == LP_OK) {
        if (o->method == LP_IMPUTE_PMM) {
          st = pmm_fill(&w, y, mj, o->donors, &rng, err);
        } else {
          for (size_t i = 0; i < n; i++)
            if (mj[i]) y[i] = dot(w.x + i * w.p, w.beta, w.p) + sigma * lp_rng_normal(&rng);
        }
      }
      work_free(&w);
    }
  }
  return st;
}

lp_status lp_mice_impute(const double *data, size_t n, size_t p, const char *const *names,
                         const unsigned char *predictors, const lp_mice_options *o, double *out, lp_error *err) {
  if (!data || !out || !o || n == 0 || p == 0) return lp_error_set(err, LP_EINVAL, "no data to impute");
  if (o->m < 1) return lp_error_set(err, LP_EINVAL, "the number of imputations must be at least 1");
  if (o->method == LP_IMPUTE_PMM && o->donors < 1)
    return lp_error_set(err, LP_EINVAL, "predictive mean matching needs at least one donor");
  bool *miss = malloc(n * p * sizeof *miss);
  size_t *npred = calloc(p, sizeof *npred);
  if (!miss || !npred) {
    free(miss), free(npred);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  lp_status st = LP_OK;
  for (size_t j = 0; j < p && st == LP_OK; j++) {
    size_t nmiss = 0;
    for (size_t i = 0; i < n; i++) {
      double v = data[j * n + i];
      miss[j * n + i] = isnan(v);
      if (isinf(v))
        st = lp_error_set(err, LP_EDATA, "column '%s', row %zu: an infinite value cannot be imputed from",
                          names ? names[j] : "?", i + 1);
      nmiss += isnan(v);
    }
    if (st == LP_OK && nmiss == n)
      st = lp_error_set(err, LP_EDATA, "column '%s' has no observed value", names ? names[j] : "?");
    if (nmiss)
      for (size_t k = 0; k < p; k++) npred[j] += k != j && (predictors ? predictors[j * p + k] : 1);
    if (st == LP_OK && nmiss && !npred[j])
      st = lp_error_set(err, LP_EINVAL, "column '%s' is incomplete but has no predictor", names ? names[j] : "?");
  }
  if (st != LP_OK) {
    free(miss), free(npred);
    return st;
  }
  int nth = o->threads > 0 ? o->threads : 1;
  lp_status *sts = calloc(o->m, sizeof *sts);
  lp_error *errs = calloc(o->m, sizeof *errs);
  if (!sts || !errs) {
    free(miss), free(npred), free(sts), free(errs);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
#pragma omp parallel for num_threads(nth) schedule(dynamic)
  for (size_t k = 0; k < o->m; k++)
    sts[k] = impute_one(data, n, p, miss, npred, predictors, names, o, k, out + k * n * p, &errs[k]);
  for (size_t k = 0; k < o->m && st == LP_OK; k++)
    if (sts[k] != LP_OK) {
      st = sts[k];
      if (err) *err = errs[k];
    }
  free(miss), free(npred), free(sts), free(errs);
  return st;
}
