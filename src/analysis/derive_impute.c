/* Multiple imputation of the daily SOFA components for the sensitivity analyses: the
 * patients' daily courses laid out as one row per patient-day, imputed by chained
 * equations with predictive mean matching (lp_mice_impute, as mice's "pmm"), and each
 * patient's mean daily total recomputed in every imputation. docs/outcomes.md gives
 * the imputation model and why. */
#include <leopards/derive.h>
#include <leopards/fields.h>
#include <leopards/stats.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/derive_internal.h"

static const char *const names[LP_SOFA_MI_NCOLS] = {
    "resp",   "coag",           "liver",      "cv",         "renal",       "arm",      "sofa_baseline", "day",
    "died28", "left_icu_alive", "other_resp", "other_coag", "other_liver", "other_cv", "other_renal"};
enum { C_ARM = LP_SOFA_MI_NCOMP, C_BASE, C_DAY, C_DIED, C_LEFT, C_OTHER };

void lp_sofa_mi_options_default(lp_sofa_mi_options *o) {
  o->kind = LP_SOFA_MI_ICU;
  o->horizon = 28;
  o->m = 20;
  o->maxit = 5;
  o->donors = 5;
  o->seed = 20160927;
  o->threads = 0;
}

const char *lp_sofa_mi_column(size_t j) { return j < LP_SOFA_MI_NCOLS ? names[j] : NULL; }

void lp_sofa_mi_predictors(unsigned char pred[LP_SOFA_MI_NCOLS * LP_SOFA_MI_NCOLS]) {
  memset(pred, 0, LP_SOFA_MI_NCOLS * LP_SOFA_MI_NCOLS);
#define P(j, k) pred[(j)*LP_SOFA_MI_NCOLS + (k)] = 1
  for (int j = 0; j < LP_SOFA_MI_NCOMP; j++) {
    /* A component on a day: the day's other components, the patient, the day, and the
     * patient's level of this component on the other days. */
    for (int k = 0; k < LP_SOFA_MI_NCOMP; k++)
      if (k != j) P(j, k);
    P(j, C_ARM), P(j, C_BASE), P(j, C_DAY), P(j, C_DIED), P(j, C_LEFT), P(j, C_OTHER + j);
    /* The patient's level of a component with no other observed day: from what is
     * known of the patient. */
    P(C_OTHER + j, C_ARM), P(C_OTHER + j, C_BASE), P(C_OTHER + j, C_DIED), P(C_OTHER + j, C_LEFT);
  }
  /* A baseline SOFA not recorded: from the arm, the course and the levels. */
  P(C_BASE, C_ARM), P(C_BASE, C_DIED), P(C_BASE, C_LEFT);
  for (int k = 0; k < LP_SOFA_MI_NCOMP; k++) P(C_BASE, C_OTHER + k);
#undef P
}

/* The days of patient c that the model holds: the ICU days, and for the post hoc
 * analysis every day up to the horizon. */
static int model_days(const lp_sofa_course *c, const lp_sofa_mi_options *o) {
  if (c->icu_days <= 0) return 0;
  return o->kind == LP_SOFA_MI_HORIZON ? o->horizon : c->icu_days;
}

static lp_status check(const lp_sofa_course *c, size_t n, const lp_sofa_mi_options *o, lp_error *err) {
  if (o->horizon < 1 || o->horizon > LP_DERIVE_MAX_DAYS)
    return lp_error_set(err, LP_ERANGE, "the horizon must be 1 to %d days, not %d", LP_DERIVE_MAX_DAYS, o->horizon);
  for (size_t i = 0; i < n; i++) {
    if (c[i].icu_days > o->horizon)
      return lp_error_set(err, LP_EINVAL, "patient %zu: %d ICU days, more than the horizon (%d)", i + 1, c[i].icu_days,
                          o->horizon);
    if (c[i].arm != 0 && c[i].arm != 1)
      return lp_error_set(err, LP_EINVAL, "patient %zu: arm %d is neither 0 nor 1", i + 1, c[i].arm);
  }
  return LP_OK;
}

lp_status lp_sofa_mi_frame(const lp_sofa_course *c, size_t n, const lp_sofa_mi_options *o, double **data,
                           size_t **patient, size_t *rows, lp_error *err) {
  *data = NULL;
  *patient = NULL;
  *rows = 0;
  lp_status st = check(c, n, o, err);
  if (st) return st;
  size_t nr = 0;
  for (size_t i = 0; i < n; i++) nr += (size_t)model_days(&c[i], o);
  if (nr == 0) return lp_error_set(err, LP_EDATA, "no patient has an ICU day to impute from");
  double *x = malloc(nr * LP_SOFA_MI_NCOLS * sizeof *x);
  size_t *pat = malloc(nr * sizeof *pat);
  if (!x || !pat) {
    free(x), free(pat);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  size_t r = 0;
  for (size_t i = 0; i < n; i++) {
    const lp_sofa_course *p = &c[i];
    int nd = model_days(p, o);
    /* Sum and count of the patient's observed values of each component over the ICU days. */
    double sum[LP_SOFA_MI_NCOMP] = {0};
    int cnt[LP_SOFA_MI_NCOMP] = {0};
    for (int d = 0; d < p->icu_days; d++)
      for (int k = 0; k < LP_SOFA_MI_NCOMP; k++)
        if (p->comp[d][k] >= 0) sum[k] += p->comp[d][k], cnt[k]++;
    for (int d = 0; d < nd; d++, r++) {
      pat[r] = i;
      bool in_icu = d < p->icu_days;
      for (int k = 0; k < LP_SOFA_MI_NCOMP; k++) {
        int v = in_icu ? p->comp[d][k] : -1;
        x[k * nr + r] = v >= 0 ? v : NAN;
        /* Leave this day out, so that observed and missing rows see the same thing:
         * the patient's level on the other days. */
        double s = sum[k] - (v >= 0 ? v : 0);
        int m = cnt[k] - (v >= 0);
        x[(C_OTHER + k) * nr + r] = m > 0 ? s / m : NAN;
      }
      x[C_ARM * nr + r] = p->arm;
      x[C_BASE * nr + r] = isfinite(p->baseline) ? p->baseline : NAN;
      x[C_DAY * nr + r] = d + 1;
      x[C_DIED * nr + r] = p->died != 0;
      x[C_LEFT * nr + r] = p->left_alive != 0;
    }
  }
  *data = x;
  *patient = pat;
  *rows = nr;
  return LP_OK;
}

lp_status lp_sofa_impute(const lp_sofa_course *c, size_t n, const lp_sofa_mi_options *o, double *means, lp_error *err) {
  if (o->m < 1) return lp_error_set(err, LP_EINVAL, "the number of imputations must be at least 1");
  double *x = NULL, *out = NULL;
  size_t *pat = NULL, nr = 0;
  lp_status st = lp_sofa_mi_frame(c, n, o, &x, &pat, &nr, err);
  if (st) return st;
  const size_t p = LP_SOFA_MI_NCOLS;
  out = malloc(o->m * nr * p * sizeof *out);
  if (!out) {
    free(x), free(pat);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  lp_mice_options mo = {.m = o->m,
                        .maxit = o->maxit,
                        .method = LP_IMPUTE_PMM,
                        .donors = o->donors,
                        .seed = o->seed,
                        .threads = lp_thread_budget(o->threads)};
  unsigned char pred[LP_SOFA_MI_NCOLS * LP_SOFA_MI_NCOLS];
  lp_sofa_mi_predictors(pred);
  st = lp_mice_impute(x, nr, p, names, pred, &mo, out, err);
  if (st == LP_OK) {
    for (size_t i = 0; i < n * o->m; i++) means[i] = 0;
    for (size_t k = 0; k < o->m; k++) {
      const double *v = out + k * nr * p;
      for (size_t r = 0; r < nr; r++)
        for (int j = 0; j < LP_SOFA_MI_NCOMP; j++) means[pat[r] * o->m + k] += v[(size_t)j * nr + r];
    }
    for (size_t i = 0; i < n; i++) {
      int nd = model_days(&c[i], o);
      for (size_t k = 0; k < o->m; k++) means[i * o->m + k] = nd ? means[i * o->m + k] / nd : NAN;
    }
  }
  free(x), free(pat), free(out);
  return st;
}

/* ---- from the derivation's patients ---- */

static lp_status impute_or_empty(const lp_sofa_course *c, size_t n, const lp_sofa_mi_options *mo, double *means,
                                 lp_error *err) {
  lp_error local = {0};
  lp_status st = lp_sofa_impute(c, n, mo, means, &local);
  if (st == LP_EDATA) {
    for (size_t i = 0; i < n * mo->m; i++) means[i] = NAN;
    return LP_OK;
  }
  if (st && err) *err = local;
  return st;
}

lp_status lp__derive_impute(const lp__derive_ctx *x, const lp__patient *P, size_t n, double **icu, double **horizon,
                            lp_error *err) {
  static const int comps[LP_SOFA_MI_NCOMP] = {LP_SOFA_RESP, LP_SOFA_COAG, LP_SOFA_LIVER, LP_SOFA_CV, LP_SOFA_RENAL};
  const lp_derive_options *o = x->o;
  size_t m = o->imputations;
  *icu = *horizon = NULL;
  lp_sofa_course *c = calloc(n ? n : 1, sizeof *c);
  lp__row *r = malloc(sizeof *r);
  double *a = malloc((n ? n : 1) * (m ? m : 1) * sizeof *a), *b = malloc((n ? n : 1) * (m ? m : 1) * sizeof *b);
  lp_status st = LP_OK;
  if (!c || !r || !a || !b) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const lp__patient *p = &P[i];
    if (p->withdrawn) continue; /* in no analysis */
    lp__row_compute(x, p, i, r);
    c[i].arm = p->arm;
    c[i].baseline = lp__bval(x->base, p, LP_F_BASE_SOFA);
    c[i].icu_days = r->nd;
    c[i].died = r->d28;
    bool died_in_icu = p->died && (!isfinite(p->icu_end) || p->death <= p->icu_end + 1e-9);
    c[i].left_alive = isfinite(p->icu_end) && p->icu_end < o->horizon && !died_in_icu;
    for (int d = 0; d < r->nd; d++)
      for (int k = 0; k < LP_SOFA_MI_NCOMP; k++) c[i].comp[d][k] = (signed char)r->days[d].component[comps[k]];
  }
  if (m == 0) goto done;
  lp_sofa_mi_options mo;
  lp_sofa_mi_options_default(&mo);
  mo.horizon = o->horizon;
  mo.m = m;
  mo.seed = o->seed;
  mo.threads = o->threads;
  mo.kind = LP_SOFA_MI_ICU;
  /* An imputation model that cannot be fitted (a small trial in progress: too few
   * patients, a component never observed) leaves its columns empty, so that its rows
   * show as not estimable and the rest of the analysis goes on; other errors stop. */
  if ((st = impute_or_empty(c, n, &mo, a, err))) {
    lp_error_prefix(err, "the sensitivity analysis's imputation");
    goto done;
  }
  /* The post hoc analysis draws from its own streams. */
  mo.kind = LP_SOFA_MI_HORIZON;
  mo.seed = o->seed + 1;
  if ((st = impute_or_empty(c, n, &mo, b, err))) lp_error_prefix(err, "the post hoc analysis's imputation");
done:
  free(c), free(r);
  if (st) {
    free(a), free(b);
    return st;
  }
  *icu = a;
  *horizon = b;
  return LP_OK;
}
