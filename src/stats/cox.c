/* Cox proportional hazards as coxph(): Efron or Breslow ties, strata, Newton-Raphson
 * from zero with step halving (the coxfit6 iteration), and the robust sandwich
 * variance from dfbeta residuals summed within clusters. */
#define _GNU_SOURCE /* qsort_r: sorting with a context, no globals */
#include <leopards/stats.h>
#include <leopards/survival.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lp_cox_options_default(lp_cox_options *o) {
  o->ties = LP_TIES_EFRON;
  o->max_iter = 20;
  o->eps = 1e-9;
  o->toler_chol = 1.8e-12;
  o->level = 0.95;
  o->names = NULL;
  o->toler_inf = sqrt(o->eps);
}

void lp_cox_fit_clear(lp_cox_fit *f) {
  if (!f) return;
  free(f->coef);
  free(f->se);
  free(f->robust_se);
  free(f->hr);
  free(f->lower);
  free(f->upper);
  free(f->z);
  free(f->pval);
  free(f->var);
  free(f->robust_var);
  free(f->infinite);
  memset(f, 0, sizeof *f);
}

typedef struct {
  size_t n, p;
  const double *time;
  const int *event, *strata;
  double *x;     /* centred, n x p, in sorted order */
  size_t *order; /* sorted position -> original row */
  lp_ties ties;
  /* workspace */
  double *eta, *r, *s1, *s1d, *s2, *s2d, *a, *xbar;
} cox_ctx;

static int cmp_rows(const void *pa, const void *pb, void *ctx) {
  size_t i = *(const size_t *)pa, j = *(const size_t *)pb;
  const cox_ctx *c = ctx;
  int si = c->strata ? c->strata[i] : 0, sj = c->strata ? c->strata[j] : 0;
  if (si != sj) return (si > sj) - (si < sj);
  /* within a stratum: time descending, and at equal times deaths first */
  if (c->time[i] != c->time[j]) return (c->time[i] < c->time[j]) - (c->time[i] > c->time[j]);
  return (c->event[j] > c->event[i]) - (c->event[j] < c->event[i]);
}

#define STRATUM(c, k) ((c)->strata ? (c)->strata[(c)->order[k]] : 0)
#define TIME(c, k) ((c)->time[(c)->order[k]])
#define EVENT(c, k) ((c)->event[(c)->order[k]])

/* Log partial likelihood, score u (p) and information imat (p x p) at beta. The
 * data are visited in order of stratum and descending time; each distinct time's
 * subjects join the risk set before its deaths are scored. */
static double cox_eval(cox_ctx *c, const double *beta, double *u, double *imat) {
  size_t n = c->n, p = c->p;
  double loglik = 0;
  if (u) memset(u, 0, p * sizeof *u);
  if (imat) memset(imat, 0, p * p * sizeof *imat);
  for (size_t k = 0; k < n; k++) {
    double e = 0;
    for (size_t j = 0; j < p; j++) e += c->x[k * p + j] * beta[j];
    c->eta[k] = e;
    c->r[k] = exp(e);
  }
  size_t k = 0;
  while (k < n) {
    int s = STRATUM(c, k);
    double S0 = 0;
    memset(c->s1, 0, p * sizeof(double));
    memset(c->s2, 0, p * p * sizeof(double));
    while (k < n && STRATUM(c, k) == s) {
      double t = TIME(c, k);
      size_t end = k;
      while (end < n && STRATUM(c, end) == s && TIME(c, end) == t) end++;
      double S0d = 0;
      size_t d = 0;
      memset(c->s1d, 0, p * sizeof(double));
      memset(c->s2d, 0, p * p * sizeof(double));
      for (size_t i = k; i < end; i++) {
        const double *xi = c->x + i * p;
        double ri = c->r[i];
        S0 += ri;
        for (size_t a = 0; a < p; a++) {
          c->s1[a] += ri * xi[a];
          for (size_t b = 0; b <= a; b++) c->s2[a * p + b] += ri * xi[a] * xi[b];
        }
        if (EVENT(c, i)) {
          d++;
          S0d += ri;
          loglik += c->eta[i];
          for (size_t a = 0; a < p; a++) {
            if (u) u[a] += xi[a];
            c->s1d[a] += ri * xi[a];
            for (size_t b = 0; b <= a; b++) c->s2d[a * p + b] += ri * xi[a] * xi[b];
          }
        }
      }
      for (size_t m = 0; m < d; m++) {
        double f = c->ties == LP_TIES_EFRON ? (double)m / (double)d : 0;
        double den = S0 - f * S0d;
        loglik -= log(den);
        for (size_t a = 0; a < p; a++) {
          c->a[a] = (c->s1[a] - f * c->s1d[a]) / den;
          if (u) u[a] -= c->a[a];
        }
        if (imat)
          for (size_t a = 0; a < p; a++)
            for (size_t b = 0; b <= a; b++)
              imat[a * p + b] += (c->s2[a * p + b] - f * c->s2d[a * p + b]) / den - c->a[a] * c->a[b];
      }
      k = end;
    }
  }
  if (imat)
    for (size_t a = 0; a < p; a++)
      for (size_t b = 0; b < a; b++) imat[b * p + a] = imat[a * p + b];
  return loglik;
}

/* Cholesky of a symmetric positive definite p x p matrix in place (lower), with a
 * relative pivot tolerance; returns false when singular, with the column whose
 * pivot failed in *bad (when bad is not NULL). */
static bool cholesky_at(double *m, size_t p, double toler, size_t *bad) {
  double maxdiag = 0;
  for (size_t i = 0; i < p; i++) maxdiag = fmax(maxdiag, fabs(m[i * p + i]));
  for (size_t j = 0; j < p; j++) {
    double d = m[j * p + j];
    for (size_t k = 0; k < j; k++) d -= m[j * p + k] * m[j * p + k];
    if (!(d > toler * maxdiag)) {
      if (bad) *bad = j;
      return false;
    }
    double l = sqrt(d);
    m[j * p + j] = l;
    for (size_t i = j + 1; i < p; i++) {
      double s = m[i * p + j];
      for (size_t k = 0; k < j; k++) s -= m[i * p + k] * m[j * p + k];
      m[i * p + j] = s / l;
    }
  }
  return true;
}

static bool cholesky(double *m, size_t p, double toler) { return cholesky_at(m, p, toler, NULL); }

static void chol_solve(const double *L, size_t p, double *b) {
  for (size_t i = 0; i < p; i++) {
    double s = b[i];
    for (size_t k = 0; k < i; k++) s -= L[i * p + k] * b[k];
    b[i] = s / L[i * p + i];
  }
  for (size_t i = p; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < p; k++) s -= L[k * p + i] * b[k];
    b[i] = s / L[i * p + i];
  }
}

static void chol_inverse(const double *L, size_t p, double *inv, double *col) {
  for (size_t j = 0; j < p; j++) {
    memset(col, 0, p * sizeof *col);
    col[j] = 1;
    chol_solve(L, p, col);
    for (size_t i = 0; i < p; i++) inv[i * p + j] = col[i];
  }
}

/* Score residuals (p per subject, in sorted order) at the fitted beta, Efron-aware:
 * a death at a tied time takes part in the k-th Efron term with weight 1 - k/d and
 * owns 1/d of each term's counting increment. Two passes per stratum: descending to
 * get each event time's terms, ascending to accumulate each subject's share. */
static bool score_residuals(cox_ctx *c, double *resid) {
  size_t n = c->n, p = c->p;
  size_t nterms = 0;
  for (size_t k = 0; k < n; k++) nterms += EVENT(c, k) ? 1 : 0;
  double *den = malloc((nterms ? nterms : 1) * sizeof *den), *xb = malloc((nterms ? nterms : 1) * p * sizeof *xb);
  size_t *first_term = malloc(n * sizeof *first_term);
  double *Hc = malloc((p + 1) * sizeof *Hc), *Ht = malloc((p + 1) * sizeof *Ht), *Hd = malloc((p + 1) * sizeof *Hd),
         *mx = malloc(p * sizeof *mx);
  if (!den || !xb || !first_term || !Hc || !Ht || !Hd || !mx) {
    free(den), free(xb), free(first_term), free(Hc), free(Ht), free(Hd), free(mx);
    return false;
  }
  /* Pass 1: terms of each tied-time group, stored at the group's first sorted row. */
  size_t term = 0, k = 0;
  while (k < n) {
    int s = STRATUM(c, k);
    double S0 = 0;
    memset(c->s1, 0, p * sizeof(double));
    while (k < n && STRATUM(c, k) == s) {
      double t = TIME(c, k);
      size_t end = k;
      while (end < n && STRATUM(c, end) == s && TIME(c, end) == t) end++;
      double S0d = 0;
      size_t d = 0;
      memset(c->s1d, 0, p * sizeof(double));
      for (size_t i = k; i < end; i++) {
        S0 += c->r[i];
        for (size_t a = 0; a < p; a++) c->s1[a] += c->r[i] * c->x[i * p + a];
        if (EVENT(c, i)) {
          d++;
          S0d += c->r[i];
          for (size_t a = 0; a < p; a++) c->s1d[a] += c->r[i] * c->x[i * p + a];
        }
      }
      first_term[k] = term;
      for (size_t m = 0; m < d; m++, term++) {
        double f = c->ties == LP_TIES_EFRON ? (double)m / (double)d : 0;
        den[term] = S0 - f * S0d;
        for (size_t a = 0; a < p; a++) xb[term * p + a] = (c->s1[a] - f * c->s1d[a]) / den[term];
      }
      k = end;
    }
  }
  /* Pass 2: ascending time within each stratum (sorted rows run backwards). */
  size_t hi = n;
  while (hi > 0) {
    int s = STRATUM(c, hi - 1);
    size_t lo = hi;
    while (lo > 0 && STRATUM(c, lo - 1) == s) lo--;
    memset(Hc, 0, (p + 1) * sizeof *Hc); /* Hc[0] = sum 1/den, Hc[1..p] = sum xbar/den */
    size_t g_end = hi;
    while (g_end > lo) {
      double t = TIME(c, g_end - 1);
      size_t g_start = g_end;
      while (g_start > lo && TIME(c, g_start - 1) == t) g_start--;
      size_t d = 0;
      for (size_t i = g_start; i < g_end; i++) d += EVENT(c, i) ? 1 : 0;
      memset(Ht, 0, (p + 1) * sizeof *Ht);
      memset(Hd, 0, (p + 1) * sizeof *Hd);
      memset(mx, 0, p * sizeof *mx);
      size_t t0 = first_term[g_start];
      for (size_t m = 0; m < d; m++) {
        double f = c->ties == LP_TIES_EFRON ? (double)m / (double)d : 0;
        double w = 1 / den[t0 + m];
        Ht[0] += w;
        Hd[0] += (1 - f) * w;
        for (size_t a = 0; a < p; a++) {
          Ht[1 + a] += xb[(t0 + m) * p + a] * w;
          Hd[1 + a] += (1 - f) * xb[(t0 + m) * p + a] * w;
          mx[a] += xb[(t0 + m) * p + a] / (double)d;
        }
      }
      for (size_t i = g_start; i < g_end; i++) {
        const double *xi = c->x + i * p;
        double *L = resid + i * p;
        bool dead = EVENT(c, i);
        const double *H = dead ? Hd : Ht;
        for (size_t a = 0; a < p; a++) {
          double h0 = Hc[0] + H[0], h1 = Hc[1 + a] + H[1 + a];
          L[a] = -c->r[i] * (xi[a] * h0 - h1);
          if (dead) L[a] += xi[a] - mx[a];
        }
      }
      for (size_t a = 0; a <= p; a++) Hc[a] += Ht[a];
      g_end = g_start;
    }
    hi = lo;
  }
  free(den), free(xb), free(first_term), free(Hc), free(Ht), free(Hd), free(mx);
  return true;
}

/* "covariate 'age'" (with names) or "covariate 3". */
static const char *cov_name(const lp_cox_options *o, size_t j, char *buf, size_t n) {
  if (o->names && o->names[j]) snprintf(buf, n, "'%s'", o->names[j]);
  else
    snprintf(buf, n, "%zu", j + 1);
  return buf;
}

/* The information matrix is singular with covariate j's pivot failing: say which
 * covariates are aliased, as R's NA for the term does. The least-squares fit of
 * column j on the columns before it tells whether it is a linear combination of
 * them (and of which); otherwise it is constant within every risk set. */
static lp_status explain_singular(const double *x, size_t n, size_t p, size_t j, const lp_cox_options *o,
                                  const char *when, lp_error *err) {
  char b[96];
  double *y = malloc(n * sizeof *y), *xs = j ? malloc(n * j * sizeof *xs) : NULL;
  if (!y || (j && !xs)) {
    free(y), free(xs);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  long double m = 0, ss = 0;
  for (size_t i = 0; i < n; i++) {
    y[i] = x[i * p + j];
    m += y[i];
    for (size_t k = 0; k < j; k++) xs[i * j + k] = x[i * p + k];
  }
  m /= (long double)n;
  for (size_t i = 0; i < n; i++) ss += (y[i] - m) * (y[i] - m);
  if (!(ss > 0)) {
    free(y), free(xs);
    return lp_error_set(err, LP_ENUMERIC,
                        "the Cox model cannot be fitted: covariate %s is constant "
                        "(it has the same value in every row used)",
                        cov_name(o, j, b, sizeof b));
  }
  char with[512] = "";
  size_t used = 0;
  lp_lm_fit fit;
  lp_error inner;
  if (j && lp_lm_fit_compute(xs, n, j, y, true, 1e-7, &fit, &inner) == LP_OK) {
    double sd_y = sqrt((double)(ss / (long double)(n - 1)));
    if (isfinite(fit.sigma) && fit.sigma <= 1e-7 * sd_y) {
      for (size_t k = 0; k < j; k++) {
        if (fit.aliased[k + 1] || !isfinite(fit.coef[k + 1])) continue;
        long double mk = 0, sk = 0;
        for (size_t i = 0; i < n; i++) mk += xs[i * j + k];
        mk /= (long double)n;
        for (size_t i = 0; i < n; i++) sk += (xs[i * j + k] - mk) * (xs[i * j + k] - mk);
        double sd_k = sqrt((double)(sk / (long double)(n - 1)));
        if (fabs(fit.coef[k + 1]) * sd_k <= 1e-7 * sd_y) continue;
        char nb[96];
        size_t len = strlen(with);
        snprintf(with + len, sizeof with - len, "%s%s", used ? ", " : "", cov_name(o, k, nb, sizeof nb));
        used++;
      }
    }
    lp_lm_fit_clear(&fit);
  }
  free(y), free(xs);
  if (used)
    return lp_error_set(err, LP_ENUMERIC,
                        "the Cox model cannot be fitted%s: covariate %s is a linear "
                        "combination of %s %s (collinear; R reports NA for it)",
                        when, cov_name(o, j, b, sizeof b), used > 1 ? "covariates" : "covariate", with);
  return lp_error_set(err, LP_ENUMERIC,
                      "the Cox model's information matrix is singular%s at covariate %s: "
                      "it is collinear with the covariates before it, or constant within every risk set",
                      when, cov_name(o, j, b, sizeof b));
}

/* The inputs are usable: times >= 0, events 0/1, finite covariates, clusters >= 0,
 * at least one event (counted into *events). */
static lp_status check_input(const double *time, const int *event, const double *x, size_t n, size_t p,
                             const int *cluster, const lp_cox_options *o, size_t *events, lp_error *err) {
  if (p == 0) return lp_error_set(err, LP_EINVAL, "the Cox model needs at least one covariate");
  if (n < 2) return lp_error_set(err, LP_EDATA, "the Cox model needs at least two subjects");
  if (o->ties != LP_TIES_EFRON && o->ties != LP_TIES_BRESLOW)
    return lp_error_set(err, LP_EINVAL, "unknown ties method");
  *events = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(time[i]) || time[i] < 0)
      return lp_error_set(err, LP_EDATA, "row %zu: survival time must be a number >= 0", i + 1);
    if (event[i] != 0 && event[i] != 1) return lp_error_set(err, LP_EDATA, "row %zu: event must be 0 or 1", i + 1);
    for (size_t j = 0; j < p; j++)
      if (!isfinite(x[i * p + j]))
        return lp_error_set(err, LP_EDATA, "row %zu: covariate %zu is not finite", i + 1, j + 1);
    if (cluster && cluster[i] < 0) return lp_error_set(err, LP_EINVAL, "negative cluster code");
    *events += (size_t)event[i];
  }
  if (*events == 0) return lp_error_set(err, LP_EDATA, "no events: the Cox model cannot be fitted");
  return LP_OK;
}

static void ctx_free(cox_ctx *c) {
  free(c->x), free(c->order), free(c->eta), free(c->r), free(c->s1), free(c->s1d), free(c->s2), free(c->s2d),
      free(c->a), free(c->xbar);
}

/* The fitting context: rows sorted (cmp_rows), covariates centred (the likelihood is
 * unchanged; exp() is kept in range). False when out of memory. */
static bool ctx_init(cox_ctx *c, const double *time, const int *event, const double *x, size_t n, size_t p,
                     const int *strata, const lp_cox_options *o) {
  memset(c, 0, sizeof *c);
  c->n = n;
  c->p = p;
  c->time = time;
  c->event = event;
  c->strata = strata;
  c->ties = o->ties;
  c->x = malloc(n * p * sizeof *c->x);
  c->order = malloc(n * sizeof *c->order);
  c->eta = malloc(n * sizeof *c->eta);
  c->r = malloc(n * sizeof *c->r);
  c->s1 = malloc(p * sizeof *c->s1);
  c->s1d = malloc(p * sizeof *c->s1d);
  c->s2 = malloc(p * p * sizeof *c->s2);
  c->s2d = malloc(p * p * sizeof *c->s2d);
  c->a = malloc(p * sizeof *c->a);
  c->xbar = malloc(p * sizeof *c->xbar);
  if (!c->x || !c->order || !c->eta || !c->r || !c->s1 || !c->s1d || !c->s2 || !c->s2d || !c->a || !c->xbar)
    return false;
  for (size_t i = 0; i < n; i++) c->order[i] = i;
  qsort_r(c->order, n, sizeof *c->order, cmp_rows, c);
  for (size_t j = 0; j < p; j++) {
    long double m = 0;
    for (size_t i = 0; i < n; i++) m += x[i * p + j];
    c->xbar[j] = (double)(m / (long double)n);
  }
  for (size_t k = 0; k < n; k++)
    for (size_t j = 0; j < p; j++) c->x[k * p + j] = x[c->order[k] * p + j] - c->xbar[j];
  return true;
}

/* The workspace of the Newton iterations (p, p, p, p x p, p doubles). */
typedef struct {
  double *beta, *newbeta, *u, *imat, *col;
} newton_work;

/* Newton-Raphson with step-halving, as R's coxph: from beta = 0 (the null
 * log-likelihood and the score test) until |1 - l_old / l_new| <= eps. On success
 * w->newbeta is the estimate, w->u the score and w->imat the information there. */
static lp_status newton(cox_ctx *c, const double *x, const lp_cox_options *o, newton_work *w, lp_cox_fit *out,
                        lp_error *err) {
  size_t n = c->n, p = c->p, bad = 0;
  double loglik0 = cox_eval(c, w->beta, w->u, w->imat);
  out->loglik[0] = loglik0;
  if (!cholesky_at(w->imat, p, o->toler_chol, &bad)) return explain_singular(x, n, p, bad, o, "", err);
  memcpy(w->col, w->u, p * sizeof *w->col);
  chol_solve(w->imat, p, w->col);
  double score = 0;
  for (size_t j = 0; j < p; j++) score += w->col[j] * w->u[j];
  out->score_test = score;
  for (size_t j = 0; j < p; j++) w->newbeta[j] = w->beta[j] + w->col[j];
  double loglik_prev = loglik0, newlk = loglik0;
  bool halving = false, converged = false;
  int iter;
  for (iter = 1; iter <= o->max_iter; iter++) {
    newlk = cox_eval(c, w->newbeta, w->u, w->imat);
    if (!isfinite(newlk))
      return lp_error_set(err, LP_ENUMERIC,
                          "the Cox log-likelihood is not finite (a coefficient diverges: "
                          "perfect separation?)");
    if (fabs(1 - loglik_prev / newlk) <= o->eps && !halving) {
      converged = true;
      break;
    }
    if (iter == o->max_iter) break;
    if (newlk < loglik_prev) { /* worse: halve the step back towards the last good beta */
      halving = true;
      for (size_t j = 0; j < p; j++) w->newbeta[j] = (w->newbeta[j] + w->beta[j]) / 2;
    } else {
      halving = false;
      loglik_prev = newlk;
      if (!cholesky_at(w->imat, p, o->toler_chol, &bad))
        return explain_singular(x, n, p, bad, o, " (its information matrix became singular)", err);
      memcpy(w->col, w->u, p * sizeof *w->col);
      chol_solve(w->imat, p, w->col);
      for (size_t j = 0; j < p; j++) {
        w->beta[j] = w->newbeta[j];
        w->newbeta[j] += w->col[j];
      }
    }
  }
  if (!converged)
    return lp_error_set(err, LP_ECONVERGE, "the Cox model did not converge in %d iterations", o->max_iter);
  out->iterations = iter;
  out->loglik[1] = newlk;
  out->lr_test = 2 * (newlk - loglik0);
  return LP_OK;
}

/* R's check for a coefficient running off to infinity: the Newton step that would
 * still follow, |V u| with u the score at the estimate, is above toler_inf both
 * absolutely and relative to the coefficient ("Loglik converged before variable ...;
 * coefficient may be infinite"). */
static void infinite_check(lp_cox_fit *out, const double *u, size_t p, const lp_cox_options *o) {
  for (size_t a = 0; a < p; a++) {
    double step = 0;
    for (size_t b = 0; b < p; b++) step += out->var[a * p + b] * u[b];
    step = fabs(step);
    out->infinite[a] = step > o->toler_inf && step > o->toler_inf * fabs(out->coef[a]);
    out->ninfinite += out->infinite[a];
  }
}

/* The robust variance clustered by `cluster`: dfbeta = score residual x naive
 * variance, summed within clusters, V = D'D. The risk scores c->r are those of the
 * last evaluation, at the estimate. */
static lp_status robust_variance(cox_ctx *c, const int *cluster, lp_cox_fit *out, lp_error *err) {
  size_t n = c->n, p = c->p;
  int maxc = 0;
  for (size_t i = 0; i < n; i++) maxc = cluster[i] > maxc ? cluster[i] : maxc;
  size_t G = (size_t)maxc + 1;
  double *D = calloc(G * p, sizeof *D), *resid = malloc(n * p * sizeof *resid);
  unsigned char *seen = calloc(G, 1);
  if (!D || !seen || !resid || lp_calloc(p * p, sizeof *out->robust_var, &out->robust_var) ||
      lp_calloc(p, sizeof *out->robust_se, &out->robust_se) || !score_residuals(c, resid)) {
    free(D), free(seen), free(resid);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  for (size_t k = 0; k < n; k++) {
    int g = cluster[c->order[k]];
    seen[g] = 1;
    for (size_t a = 0; a < p; a++) {
      double v = 0;
      for (size_t b = 0; b < p; b++) v += resid[k * p + b] * out->var[b * p + a];
      D[(size_t)g * p + a] += v;
    }
  }
  for (size_t g = 0; g < G; g++) {
    out->clusters += seen[g];
    for (size_t a = 0; a < p; a++)
      for (size_t b = 0; b < p; b++) out->robust_var[a * p + b] += D[g * p + a] * D[g * p + b];
  }
  free(D), free(seen), free(resid);
  for (size_t a = 0; a < p; a++) out->robust_se[a] = sqrt(out->robust_var[a * p + a]);
  return LP_OK;
}

/* Hazard ratios, z, P and intervals with the variance V in use, and the Wald test of
 * all coefficients (work: p x p and p doubles). */
static void summaries(lp_cox_fit *out, const double *V, size_t p, const lp_cox_options *o, double *mat, double *vec) {
  double zq = gsl_cdf_ugaussian_Qinv((1 - o->level) / 2);
  out->wald_test = 0;
  for (size_t a = 0; a < p; a++) {
    out->se[a] = sqrt(out->var[a * p + a]);
    double se = sqrt(V[a * p + a]);
    out->hr[a] = exp(out->coef[a]);
    out->z[a] = out->coef[a] / se;
    out->pval[a] = 2 * gsl_cdf_ugaussian_Q(fabs(out->z[a]));
    out->lower[a] = exp(out->coef[a] - zq * se);
    out->upper[a] = exp(out->coef[a] + zq * se);
  }
  memcpy(mat, V, p * p * sizeof *mat);
  if (cholesky(mat, p, o->toler_chol)) {
    memcpy(vec, out->coef, p * sizeof *vec);
    chol_solve(mat, p, vec);
    for (size_t a = 0; a < p; a++) out->wald_test += vec[a] * out->coef[a];
  } else {
    out->wald_test = NAN;
  }
}

lp_status lp_cox_fit_compute(const double *time, const int *event, const double *x, size_t n, size_t p,
                             const int *strata, const int *cluster, const lp_cox_options *o, lp_cox_fit *out,
                             lp_error *err) {
  memset(out, 0, sizeof *out);
  size_t events = 0, bad = 0;
  lp_status st = check_input(time, event, x, n, p, cluster, o, &events, err);
  if (st) return st;
  cox_ctx c;
  newton_work w = {calloc(p, sizeof *w.beta), calloc(p, sizeof *w.newbeta), calloc(p, sizeof *w.u),
                   calloc(p * p, sizeof *w.imat), calloc(p, sizeof *w.col)};
  if (!ctx_init(&c, time, event, x, n, p, strata, o) || !w.beta || !w.newbeta || !w.u || !w.imat || !w.col) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  if ((st = newton(&c, x, o, &w, out, err))) goto done;
  /* Naive variance: the inverse information at the estimate. */
  if (lp_calloc(p * p, sizeof *out->var, &out->var) || lp_calloc(p, sizeof *out->coef, &out->coef) ||
      lp_calloc(p, sizeof *out->se, &out->se) || lp_calloc(p, sizeof *out->hr, &out->hr) ||
      lp_calloc(p, sizeof *out->lower, &out->lower) || lp_calloc(p, sizeof *out->upper, &out->upper) ||
      lp_calloc(p, sizeof *out->z, &out->z) || lp_calloc(p, sizeof *out->pval, &out->pval) ||
      lp_calloc(p, sizeof *out->infinite, &out->infinite)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  if (!cholesky_at(w.imat, p, o->toler_chol, &bad)) {
    st = explain_singular(x, n, p, bad, o, " (its information matrix is singular at the estimate)", err);
    goto done;
  }
  chol_inverse(w.imat, p, out->var, w.col);
  memcpy(out->coef, w.newbeta, p * sizeof *w.newbeta);
  infinite_check(out, w.u, p, o);
  if (cluster && (st = robust_variance(&c, cluster, out, err))) goto done;
  summaries(out, cluster ? out->robust_var : out->var, p, o, w.imat, w.col);
  out->n = n;
  out->p = p;
  out->events = events;
done:
  free(w.beta), free(w.newbeta), free(w.u), free(w.imat), free(w.col);
  ctx_free(&c);
  if (st) lp_cox_fit_clear(out);
  return st;
}
