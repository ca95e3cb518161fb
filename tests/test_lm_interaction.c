/* Linear regression (lm) and its bootstrap, and the subgroup heterogeneity
 * permutation test, against R. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/stats.h>

#include "testutil.h"

typedef struct {
  lp_table *t;
  size_t *rows, n, dropped;
  lp_model_matrix d;
  double *y;
} model;

static void model_load(model *m, const char *data, const char *y, const char *const *cov, size_t ncov,
                       const char *const *fac, size_t nfac) {
  memset(m, 0, sizeof *m);
  m->t = data_load(data);
  const char *cols[16];
  cols[0] = y;
  for (size_t j = 0; j < ncov; j++) cols[j + 1] = cov[j];
  lp_error err;
  if (lp_table_complete_rows(m->t, cols, ncov + 1, &m->rows, &m->n, &m->dropped, &err)) fail_msg("%s", err.message);
  if (lp_model_matrix_init(&m->d, m->t, cov, ncov, fac, nfac, m->rows, m->n, &err)) fail_msg("%s", err.message);
  size_t cy;
  assert_int_equal(lp_table_column(m->t, y, &cy, &err), LP_OK);
  m->y = malloc(m->n * sizeof *m->y);
  assert_int_equal(lp_table_numeric(m->t, cy, m->rows, m->n, m->y, &err), LP_OK);
}

static void model_clear(model *m) {
  lp_table_free(m->t);
  free(m->rows);
  lp_model_matrix_clear(&m->d);
  free(m->y);
}

static void check_fit(const lp_ref *ref, const char *key, const model *m) {
  lp_lm_fit f;
  lp_error err;
  assert_int_equal(lp_lm_fit_compute(m->d.x, m->n, m->d.p, m->y, true, 1e-7, &f, &err), LP_OK);
  check_close((double)m->n, ref_getf(ref, "%s.n", key), 0, "n");
  for (size_t j = 0; j < f.p; j++) {
    const char *name = j ? m->d.names[j - 1] : "(Intercept)";
    char k[128];
    snprintf(k, sizeof k, "%s.%s.coef", key, name);
    if (ref_has(ref, k)) { /* aliased in R */
      assert_true(f.aliased[j]);
      assert_true(isnan(f.coef[j]));
      continue;
    }
    assert_false(f.aliased[j]);
    check_close(f.coef[j], ref_getf(ref, "%s.%s.1", key, name), 1e-9, name);
    check_close(f.se[j], ref_getf(ref, "%s.%s.2", key, name), 1e-9, name);
    check_close(f.t[j], ref_getf(ref, "%s.%s.3", key, name), 1e-9, name);
    check_close(f.pval[j], ref_getf(ref, "%s.%s.4", key, name), 1e-7, name);
  }
  check_close(f.sigma, ref_getf(ref, "%s.sigma", key), 1e-9, "sigma");
  check_close(f.df_resid, ref_getf(ref, "%s.df", key), 0, "df");
  check_close(f.r_squared, ref_getf(ref, "%s.r2.1", key), 1e-9, "r2");
  check_close(f.adj_r_squared, ref_getf(ref, "%s.r2.2", key), 1e-9, "adj r2");
  lp_lm_fit_clear(&f);
}

static void test_lm_vs_r(void **state) {
  lp_ref *ref = ref_load("lm");
  model m;
  const char *mt[] = {"wt", "hp", "cyl"}, *mtf[] = {"cyl"};
  model_load(&m, "mtcars", "mpg", mt, 3, mtf, 1);
  assert_string_equal(m.d.names[2], "cyl6");
  check_fit(ref, "mtcars", &m);
  model_clear(&m);
  const char *tg[] = {"supp", "dose"}, *tgf[] = {"dose"};
  model_load(&m, "toothgrowth", "len", tg, 2, tgf, 1);
  check_fit(ref, "toothgrowth", &m);
  model_clear(&m);
  const char *lu[] = {"age", "sex", "ph.ecog"};
  model_load(&m, "lung", "meal.cal", lu, 3, NULL, 0);
  assert_int_equal(m.dropped, 48); /* R: sum(!complete.cases(...)) */
  check_fit(ref, "lung", &m);
  model_clear(&m);
  const char *al[] = {"wt", "wt2", "hp"};
  model_load(&m, "mtcars_alias", "mpg", al, 3, NULL, 0);
  check_fit(ref, "alias", &m);
  model_clear(&m);
  ref_free(ref);
}

/* The bootstrap with the factor absorbed equals the full lm on the data; its
 * interval agrees with R's boot within Monte Carlo error (R: 20,000 resamples,
 * here 100,000; end-point SEs 0.019 and 0.0085 bootstrap SDs: allow 0.1). */
static void test_lm_boot_vs_r(void **state) {
  lp_ref *ref = ref_load("lm");
  lp_ref *fit = ref;
  model m;
  const char *mt[] = {"wt", "hp", "cyl"}, *mtf[] = {"cyl"};
  model_load(&m, "mtcars", "mpg", mt, 3, mtf, 1);
  /* Columns: wt, hp, cyl6, cyl8. Absorb cyl (group codes 0/1/2). */
  double *x = malloc(m.n * 2 * sizeof *x);
  int *g = malloc(m.n * sizeof *g);
  for (size_t i = 0; i < m.n; i++) {
    x[2 * i] = m.d.x[i * 4];
    x[2 * i + 1] = m.d.x[i * 4 + 1];
    g[i] = m.d.x[i * 4 + 2] == 1 ? 1 : m.d.x[i * 4 + 3] == 1 ? 2 : 0;
  }
  lp_boot_options o;
  lp_boot_options_default(&o);
  lp_boot_result br;
  lp_error err;
  assert_int_equal(lp_lm_boot_coef(x, m.n, 2, m.y, g, 3, NULL, 0, &o, NULL, &br, &err), LP_OK);
  check_close(br.estimate, ref_get(fit, "mtcars.wt.1"), 1e-9, "absorbed estimate = lm");
  double sd = ref_get(ref, "boot.mtcars_wt.sd");
  for (int e = 0; e < 2; e++) {
    double want = ref_getf(ref, "boot.mtcars_wt.ci.%d", e + 1);
    if (fabs(br.ci[e] - want) > 0.1 * sd) fail_msg("mtcars wt CI end %d: %g vs R %g", e, br.ci[e], want);
  }
  /* Same seed, 1 or 2 threads: same interval. */
  lp_boot_result b1, b2;
  o.replicates = 5000;
  o.threads = 1;
  assert_int_equal(lp_lm_boot_coef(x, m.n, 2, m.y, g, 3, NULL, 0, &o, NULL, &b1, &err), LP_OK);
  o.threads = 2;
  assert_int_equal(lp_lm_boot_coef(x, m.n, 2, m.y, g, 3, NULL, 0, &o, NULL, &b2, &err), LP_OK);
  assert_true(b1.ci[0] == b2.ci[0] && b1.ci[1] == b2.ci[1]);
  /* Errors. */
  assert_int_equal(lp_lm_boot_coef(x, m.n, 2, m.y, g, 3, NULL, 2, &o, NULL, &br, &err), LP_EINVAL);
  o.replicates = 1;
  assert_int_equal(lp_lm_boot_coef(x, m.n, 2, m.y, g, 3, NULL, 0, &o, NULL, &br, &err), LP_EINVAL);
  free(x);
  free(g);
  model_clear(&m);

  /* ToothGrowth: supp effect, dose absorbed, resampling within supp. */
  const char *tg[] = {"supp", "dose"}, *tgf[] = {"dose"};
  model_load(&m, "toothgrowth", "len", tg, 2, tgf, 1);
  x = malloc(m.n * sizeof *x);
  g = malloc(m.n * sizeof *g);
  int *strata = malloc(m.n * sizeof *strata);
  for (size_t i = 0; i < m.n; i++) {
    x[i] = m.d.x[i * 3];
    strata[i] = (int)x[i];
    g[i] = m.d.x[i * 3 + 1] == 1 ? 1 : m.d.x[i * 3 + 2] == 1 ? 2 : 0;
  }
  lp_boot_options_default(&o);
  assert_int_equal(lp_lm_boot_coef(x, m.n, 1, m.y, g, 3, strata, 0, &o, NULL, &br, &err), LP_OK);
  check_close(br.estimate, ref_get(fit, "toothgrowth.suppVC.1"), 1e-9, "supp estimate");
  sd = ref_get(ref, "boot.tg_supp.sd");
  for (int e = 0; e < 2; e++) {
    double want = ref_getf(ref, "boot.tg_supp.ci.%d", e + 1);
    if (fabs(br.ci[e] - want) > 0.1 * sd) fail_msg("toothgrowth supp CI end %d: %g vs R %g", e, br.ci[e], want);
  }
  /* A covariate constant within the absorbed groups is not estimable. */
  for (size_t i = 0; i < m.n; i++) x[i] = g[i];
  assert_int_equal(lp_lm_boot_coef(x, m.n, 1, m.y, g, 3, strata, 0, &o, NULL, &br, &err), LP_EDATA);
  free(x);
  free(g);
  free(strata);
  model_clear(&m);
  ref_free(ref);
}

static void test_lm_errors(void **state) {
  double x[4] = {1, 2, 3, 4}, y[4] = {1, 2, 3, NAN};
  lp_lm_fit f;
  lp_error err;
  assert_int_equal(lp_lm_fit_compute(x, 4, 1, y, true, 1e-7, &f, &err), LP_EDATA);
  double y2[2] = {1, 2};
  assert_int_equal(lp_lm_fit_compute(x, 2, 1, y2, true, 1e-7, &f, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "degrees of freedom"));
  assert_int_equal(lp_lm_fit_compute(x, 2, 0, y2, false, 1e-7, &f, &err), LP_EINVAL);
}

static void test_interaction_vs_r(void **state) {
  lp_ref *ref = ref_load("interaction");
  /* ToothGrowth: len by supp within dose. */
  lp_table *t = data_load("toothgrowth");
  double *y = data_column(t, "len"), *dose = data_column(t, "dose");
  size_t n = lp_table_nrows(t), cs;
  lp_error err;
  assert_int_equal(lp_table_column(t, "supp", &cs, &err), LP_OK);
  int *arm = malloc(n * sizeof *arm), *sub = malloc(n * sizeof *sub);
  for (size_t i = 0; i < n; i++) {
    arm[i] = strcmp(lp_table_cell(t, i, cs), "OJ") != 0;
    sub[i] = dose[i] == 0.5 ? 0 : dose[i] == 1 ? 1 : 2;
  }
  lp_interaction_result r;
  assert_int_equal(lp_interaction_test(y, arm, sub, n, 3, 20000, 99, 0, 0.95, &r, &err), LP_OK);
  check_close(r.statistic, ref_get(ref, "toothgrowth_dose.q"), 1e-9, "Q");
  for (size_t s = 0; s < 3; s++) {
    check_close(r.sub[s].estimate, ref_getf(ref, "toothgrowth_dose.sub%zu.1", s + 1), 1e-9, "subgroup effect");
    check_close(r.sub[s].se, ref_getf(ref, "toothgrowth_dose.sub%zu.2", s + 1), 1e-9, "subgroup se");
  }
  double want = ref_get(ref, "toothgrowth_dose.p");
  double se = sqrt(want * (1 - want) / 20000) * sqrt(2.0);
  if (fabs(r.p - want) > 5 * se) fail_msg("permutation p %g vs R %g", r.p, want);
  assert_int_equal(r.permutations, 20000);
  /* Thread count does not change the answer. */
  lp_interaction_result r1, r2;
  assert_int_equal(lp_interaction_test(y, arm, sub, n, 3, 3001, 5, 1, 0.95, &r1, &err), LP_OK);
  assert_int_equal(lp_interaction_test(y, arm, sub, n, 3, 3001, 5, 2, 0.95, &r2, &err), LP_OK);
  assert_true(r1.p == r2.p);
  lp_interaction_result_clear(&r1);
  lp_interaction_result_clear(&r2);
  lp_interaction_result_clear(&r);
  /* Errors: one subgroup; bad codes; a cell with one patient. */
  assert_int_equal(lp_interaction_test(y, arm, sub, n, 1, 100, 1, 0, 0.95, &r, &err), LP_EDATA);
  sub[0] = 7;
  assert_int_equal(lp_interaction_test(y, arm, sub, n, 3, 100, 1, 0, 0.95, &r, &err), LP_EINVAL);
  for (size_t i = 0; i < n; i++) sub[i] = i == 0 ? 1 : 0;
  arm[0] = 0;
  assert_int_equal(lp_interaction_test(y, arm, sub, n, 2, 100, 1, 0, 0.95, &r, &err), LP_EDATA);
  free(arm);
  free(sub);
  free(y);
  free(dose);
  lp_table_free(t);

  /* lung: age by sex within ECOG >= 1, with missing ECOG dropped. */
  t = data_load("lung");
  y = data_column(t, "age");
  double *ecog = data_column(t, "ph.ecog");
  size_t csex;
  assert_int_equal(lp_table_column(t, "sex", &csex, &err), LP_OK);
  n = lp_table_nrows(t);
  arm = malloc(n * sizeof *arm);
  sub = malloc(n * sizeof *sub);
  double *yy = malloc(n * sizeof *yy);
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    if (isnan(ecog[i])) continue;
    yy[m] = y[i];
    arm[m] = strcmp(lp_table_cell(t, i, csex), "female") != 0;
    sub[m] = ecog[i] >= 1;
    m++;
  }
  assert_int_equal(lp_interaction_test(yy, arm, sub, m, 2, 20000, 3, 0, 0.95, &r, &err), LP_OK);
  check_close(r.statistic, ref_get(ref, "lung_age_sex_ecog.q"), 1e-9, "Q lung");
  want = ref_get(ref, "lung_age_sex_ecog.p");
  se = sqrt(want * (1 - want) / 20000) * sqrt(2.0);
  if (fabs(r.p - want) > 5 * se) fail_msg("lung permutation p %g vs R %g", r.p, want);
  lp_interaction_result_clear(&r);
  free(arm);
  free(sub);
  free(yy);
  free(y);
  free(ecog);
  lp_table_free(t);
  ref_free(ref);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lm_vs_r),
      cmocka_unit_test(test_lm_boot_vs_r),
      cmocka_unit_test(test_lm_errors),
      cmocka_unit_test(test_interaction_vs_r),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
