/* Survival methods against R's survival package: Kaplan-Meier tables, medians and
 * summaries at times (survfit), log-rank (survdiff), Cox models (coxph) with Efron
 * and Breslow ties, factors, strata and robust clustered variance; error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/survival.h>
#include <leopards/table.h>

#include "testutil.h"

#define TOL 1e-9

typedef struct {
  lp_table *t;
  size_t *rows, n, dropped;
  double *time;
  int *event;
} sdata;

static void sload(sdata *d, const char *name, const char *tcol, const char *ecol, const char *const *extra, size_t ne) {
  memset(d, 0, sizeof *d);
  d->t = data_load(name);
  const char *cols[16] = {tcol, ecol};
  for (size_t i = 0; i < ne; i++) cols[2 + i] = extra[i];
  lp_error err;
  if (lp_table_complete_rows(d->t, cols, 2 + ne, &d->rows, &d->n, &d->dropped, &err)) fail_msg("%s", err.message);
  size_t ct, ce;
  assert_int_equal(lp_table_column(d->t, tcol, &ct, &err), LP_OK);
  assert_int_equal(lp_table_column(d->t, ecol, &ce, &err), LP_OK);
  d->time = malloc(d->n * sizeof *d->time);
  d->event = malloc(d->n * sizeof *d->event);
  assert_int_equal(lp_table_numeric(d->t, ct, d->rows, d->n, d->time, &err), LP_OK);
  assert_int_equal(lp_table_binary(d->t, ce, d->rows, d->n, d->event, &err), LP_OK);
}

static void sfree(sdata *d) {
  lp_table_free(d->t);
  free(d->rows);
  free(d->time);
  free(d->event);
}

static int *codes_of(const sdata *d, const char *col, size_t *nlevels) {
  size_t c;
  lp_error err;
  assert_int_equal(lp_table_column(d->t, col, &c, &err), LP_OK);
  lp_factor f;
  if (lp_factor_init(&f, d->t, c, d->rows, d->n, &err)) fail_msg("%s", err.message);
  int *codes = malloc(d->n * sizeof *codes);
  memcpy(codes, f.codes, d->n * sizeof *codes);
  *nlevels = f.nlevels;
  lp_factor_clear(&f);
  return codes;
}

static void check_km(const lp_ref *ref, const char *key, int g, const lp_km *km, const double *times, size_t nt) {
  check_ref((double)km->n, ref_getf(ref, "%s.g%d.n", key, g), 0, "n");
  for (size_t i = 0; i < km->nsteps; i++) {
    const lp_km_step *s = &km->steps[i];
    char what[96];
    snprintf(what, sizeof what, "%s group %d step %zu", key, g, i + 1);
    check_ref(s->time, ref_getf(ref, "%s.g%d.time.%zu", key, g, i + 1), 0, what);
    check_ref((double)s->n_risk, ref_getf(ref, "%s.g%d.n_risk.%zu", key, g, i + 1), 0, what);
    check_ref((double)s->n_event, ref_getf(ref, "%s.g%d.n_event.%zu", key, g, i + 1), 0, what);
    check_ref(s->surv, ref_getf(ref, "%s.g%d.surv.%zu", key, g, i + 1), TOL, what);
    check_ref(s->std_err, ref_getf(ref, "%s.g%d.std_err.%zu", key, g, i + 1), TOL, what);
    check_ref(s->lower, ref_getf(ref, "%s.g%d.lower.%zu", key, g, i + 1), TOL, what);
    check_ref(s->upper, ref_getf(ref, "%s.g%d.upper.%zu", key, g, i + 1), TOL, what);
  }
  char k2[128];
  snprintf(k2, sizeof k2, "%s.g%d.time.%zu", key, g, km->nsteps + 1);
  assert_false(ref_has(ref, k2)); /* as many steps as R */
  check_ref(km->median, ref_getf(ref, "%s.g%d.median.1", key, g), TOL, "median");
  check_ref(km->median_lower, ref_getf(ref, "%s.g%d.median.2", key, g), TOL, "median lower");
  check_ref(km->median_upper, ref_getf(ref, "%s.g%d.median.3", key, g), TOL, "median upper");
  size_t j = 0;
  for (size_t i = 0; i < nt; i++) {
    lp_km_step s;
    if (!lp_km_at(km, times[i], &s)) continue;
    j++;
    check_ref(s.time, ref_getf(ref, "%s.g%d.at_time.%zu", key, g, j), 0, "at time");
    check_ref((double)s.n_risk, ref_getf(ref, "%s.g%d.at_n_risk.%zu", key, g, j), 0, "at n risk");
    check_ref(s.surv, ref_getf(ref, "%s.g%d.at_surv.%zu", key, g, j), TOL, "at surv");
    check_ref(s.lower, ref_getf(ref, "%s.g%d.at_lower.%zu", key, g, j), TOL, "at lower");
    check_ref(s.upper, ref_getf(ref, "%s.g%d.at_upper.%zu", key, g, j), TOL, "at upper");
  }
}

static void km_groups(const lp_ref *ref, const char *key, const char *data, const char *tcol, const char *ecol,
                      const char *gcol, const double *times, size_t nt, double level) {
  sdata d;
  sload(&d, data, tcol, ecol, gcol ? &gcol : NULL, gcol ? 1 : 0);
  size_t ng = 1;
  int *g = gcol ? codes_of(&d, gcol, &ng) : NULL;
  double *t = malloc(d.n * sizeof *t);
  int *e = malloc(d.n * sizeof *e);
  for (size_t k = 0; k < ng; k++) {
    size_t m = 0;
    for (size_t i = 0; i < d.n; i++)
      if (!g || g[i] == (int)k) t[m] = d.time[i], e[m] = d.event[i], m++;
    lp_km km;
    lp_error err;
    assert_int_equal(lp_km_fit(t, e, m, level, &km, &err), LP_OK);
    check_km(ref, key, (int)k + 1, &km, times, nt);
    lp_km_clear(&km);
  }
  free(t);
  free(e);
  free(g);
  sfree(&d);
}

static void test_km(void **state) {
  lp_ref *ref = ref_load("survival");
  const double lt[] = {100, 365, 500}, ot[] = {200, 500, 800}, one[] = {365};
  km_groups(ref, "km_lung", "lung", "time", "dead", NULL, lt, 3, 0.95);
  km_groups(ref, "km_lung_sex", "lung", "time", "dead", "sex", lt, 3, 0.95);
  km_groups(ref, "km_ovarian_rx", "ovarian", "futime", "fustat", "rx", ot, 3, 0.95);
  km_groups(ref, "km_lung_90", "lung", "time", "dead", NULL, one, 1, 0.9);
  ref_free(ref);
}

static void test_logrank(void **state) {
  lp_ref *ref = ref_load("survival");
  struct {
    const char *key, *data, *t, *e, *g;
  } cases[] = {{"lr_lung_sex", "lung", "time", "dead", "sex"},
               {"lr_lung_ecog", "lung", "time", "dead", "ph.ecog"},
               {"lr_ovarian_rx", "ovarian", "futime", "fustat", "rx"}};
  for (size_t c = 0; c < 3; c++) {
    sdata d;
    sload(&d, cases[c].data, cases[c].t, cases[c].e, &cases[c].g, 1);
    size_t ng;
    int *g = codes_of(&d, cases[c].g, &ng);
    lp_logrank lr;
    lp_error err;
    assert_int_equal(lp_logrank_test(d.time, d.event, g, d.n, ng, &lr, &err), LP_OK);
    check_ref(lr.chisq, ref_getf(ref, "%s.chisq", cases[c].key), TOL, cases[c].key);
    check_ref(lr.p, ref_getf(ref, "%s.p", cases[c].key), TOL, cases[c].key);
    for (size_t k = 0; k < ng; k++) {
      check_ref(lr.observed[k], ref_getf(ref, "%s.obs.%zu", cases[c].key, k + 1), TOL, "observed");
      check_ref(lr.expected[k], ref_getf(ref, "%s.exp.%zu", cases[c].key, k + 1), TOL, "expected");
    }
    lp_logrank_clear(&lr);
    free(g);
    sfree(&d);
  }
  ref_free(ref);
}

static void cox_case(const lp_ref *ref, const char *key, const char *data, const char *tcol, const char *ecol,
                     const char *const *cov, size_t ncov, const char *const *fac, size_t nfac, const char *strata,
                     const char *cluster, lp_ties ties, const char *const *rnames) {
  const char *extra[8];
  size_t ne = 0;
  for (size_t i = 0; i < ncov; i++) extra[ne++] = cov[i];
  if (strata) extra[ne++] = strata;
  if (cluster) extra[ne++] = cluster;
  sdata d;
  sload(&d, data, tcol, ecol, extra, ne);
  lp_model_matrix des;
  lp_error err;
  if (lp_model_matrix_init(&des, d.t, cov, ncov, fac, nfac, d.rows, d.n, &err)) fail_msg("%s", err.message);
  size_t nl;
  int *s = strata ? codes_of(&d, strata, &nl) : NULL, *k = cluster ? codes_of(&d, cluster, &nl) : NULL;
  lp_cox_options o;
  lp_cox_options_default(&o);
  o.ties = ties;
  lp_cox_fit f;
  if (lp_cox_fit_compute(d.time, d.event, des.x, d.n, des.p, s, k, &o, &f, &err)) fail_msg("%s: %s", key, err.message);
  check_ref(f.loglik[0], ref_getf(ref, "%s.loglik.1", key), TOL, "null loglik");
  check_ref(f.loglik[1], ref_getf(ref, "%s.loglik.2", key), TOL, "loglik");
  check_ref((double)f.n, ref_getf(ref, "%s.n.1", key), 0, "n");
  check_ref((double)f.events, ref_getf(ref, "%s.n.2", key), 0, "events");
  for (size_t j = 0; j < f.p; j++) {
    const char *rn = rnames ? rnames[j] : des.names[j];
    char what[128];
    snprintf(what, sizeof what, "%s %s", key, rn);
    /* Same iteration and stopping rule as coxfit6, so estimates agree to rounding. */
    check_ref(f.coef[j], ref_getf(ref, "%s.%s.coef", key, rn), 1e-9, what);
    check_ref(f.se[j], ref_getf(ref, "%s.%s.se", key, rn), 1e-9, what);
    if (cluster) check_ref(f.robust_se[j], ref_getf(ref, "%s.%s.robust_se", key, rn), 1e-9, what);
    check_ref(f.z[j], ref_getf(ref, "%s.%s.z", key, rn), 1e-9, what);
    check_ref(f.pval[j], ref_getf(ref, "%s.%s.p", key, rn), 1e-9, what);
    check_ref(f.lower[j], ref_getf(ref, "%s.%s.ci.1", key, rn), 1e-9, what);
    check_ref(f.upper[j], ref_getf(ref, "%s.%s.ci.2", key, rn), 1e-9, what);
  }
  lp_cox_fit_clear(&f);
  lp_model_matrix_clear(&des);
  free(s);
  free(k);
  sfree(&d);
}

static void test_cox(void **state) {
  lp_ref *ref = ref_load("survival");
  const char *as[] = {"age", "sex"}, *ase[] = {"age", "sex", "ph.ecog"}, *ecogf[] = {"ph.ecog"};
  const char *ecog_names[] = {"age", "sexmale", "ecog1", "ecog2", "ecog3"};
  cox_case(ref, "cox_lung", "lung", "time", "dead", as, 2, NULL, 0, NULL, NULL, LP_TIES_EFRON, NULL);
  cox_case(ref, "cox_lung_breslow", "lung", "time", "dead", as, 2, NULL, 0, NULL, NULL, LP_TIES_BRESLOW, NULL);
  cox_case(ref, "cox_lung_ecog", "lung", "time", "dead", ase, 3, ecogf, 1, NULL, NULL, LP_TIES_EFRON, ecog_names);
  const char *ak[] = {"age", "ph.karno"};
  cox_case(ref, "cox_lung_strata", "lung", "time", "dead", ak, 2, NULL, 0, "sex", NULL, LP_TIES_EFRON, NULL);
  cox_case(ref, "cox_lung_cluster", "lung", "time", "dead", ase, 3, ecogf, 1, NULL, "inst", LP_TIES_EFRON, ecog_names);
  const char *rx[] = {"rx"};
  cox_case(ref, "cox_rats_cluster", "rats", "time", "status", rx, 1, NULL, 0, NULL, "litter", LP_TIES_EFRON, NULL);
  cox_case(ref, "cox_rats_breslow_cluster", "rats", "time", "status", rx, 1, NULL, 0, NULL, "litter", LP_TIES_BRESLOW,
           NULL);
  const char *ar[] = {"age", "rx"};
  cox_case(ref, "cox_ovarian", "ovarian", "futime", "fustat", ar, 2, NULL, 0, NULL, NULL, LP_TIES_EFRON, NULL);
  ref_free(ref);
}

static void test_errors(void **state) {
  double t[4] = {1, 2, 3, 4}, x[8] = {1, 2, 3, 4, 2, 4, 6, 8};
  int e[4] = {1, 0, 1, 1}, none[4] = {0, 0, 0, 0}, bad[4] = {1, 2, 0, 1}, g[4] = {0, 0, 1, 1};
  lp_km km;
  lp_error err;
  assert_int_equal(lp_km_fit(t, e, 0, 0.95, &km, &err), LP_EDATA);
  assert_int_equal(lp_km_fit(t, bad, 4, 0.95, &km, &err), LP_EDATA);
  double neg[4] = {1, -2, 3, 4};
  assert_int_equal(lp_km_fit(neg, e, 4, 0.95, &km, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "row 2"));
  assert_int_equal(lp_km_fit(t, e, 4, 1.5, &km, &err), LP_EINVAL);
  /* All censored: S stays 1, no median. */
  assert_int_equal(lp_km_fit(t, none, 4, 0.95, &km, &err), LP_OK);
  assert_true(isnan(km.median) && km.steps[3].surv == 1);
  lp_km_step s;
  assert_false(lp_km_at(&km, 99, &s));
  lp_km_clear(&km);
  lp_km_clear(NULL);
  lp_logrank lr;
  assert_int_equal(lp_logrank_test(t, e, g, 4, 1, &lr, &err), LP_EDATA);
  int gbad[4] = {0, 5, 1, 1};
  assert_int_equal(lp_logrank_test(t, e, gbad, 4, 2, &lr, &err), LP_EDATA);
  assert_int_equal(lp_logrank_test(t, none, g, 4, 2, &lr, &err), LP_EDATA);
  lp_cox_options o;
  lp_cox_options_default(&o);
  lp_cox_fit f;
  assert_int_equal(lp_cox_fit_compute(t, none, x, 4, 1, NULL, NULL, &o, &f, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "no events"));
  assert_int_equal(lp_cox_fit_compute(t, e, x, 4, 0, NULL, NULL, &o, &f, &err), LP_EINVAL);
  assert_int_equal(lp_cox_fit_compute(t, bad, x, 4, 1, NULL, NULL, &o, &f, &err), LP_EDATA);
  /* Two identical columns: singular information. */
  double xx[8] = {1, 1, 2, 2, 3, 3, 4, 4};
  assert_int_equal(lp_cox_fit_compute(t, e, xx, 4, 2, NULL, NULL, &o, &f, &err), LP_ENUMERIC);
  assert_non_null(strstr(err.message, "covariate 2 is a linear combination of covariate 1 ("));
  /* Perfect separation: the coefficient runs away. */
  double sep[6] = {1, 2, 3, 4, 5, 6}, xs[6] = {6, 5, 4, 3, 2, 1};
  int es[6] = {1, 1, 1, 1, 1, 1};
  lp_status st = lp_cox_fit_compute(sep, es, xs, 6, 1, NULL, NULL, &o, &f, &err);
  assert_true(st == LP_ECONVERGE || st == LP_ENUMERIC || (st == LP_OK && fabs(f.coef[0]) > 5));
  if (st == LP_OK) lp_cox_fit_clear(&f);
  o.ties = (lp_ties)7;
  assert_int_equal(lp_cox_fit_compute(t, e, x, 4, 1, NULL, NULL, &o, &f, &err), LP_EINVAL);
  lp_cox_fit_clear(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_km), cmocka_unit_test(test_logrank),
                                     cmocka_unit_test(test_cox), cmocka_unit_test(test_errors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
