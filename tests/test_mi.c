/* Rubin's rules against mice::pool (nhanes example) and pool.scalar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/stats.h>

#include "testutil.h"

static void test_pool_vs_mice(void **state) {
  lp_ref *ref = ref_load("mi");
  const char *terms[] = {"(Intercept)", "bmi", "age"};
  double dfcom = ref_get(ref, "nhanes.dfcom");
  for (int k = 0; k < 3; k++) {
    double q[5], u[5];
    for (int i = 0; i < 5; i++) {
      q[i] = ref_getf(ref, "nhanes.%s.q.%d", terms[k], i + 1);
      u[i] = ref_getf(ref, "nhanes.%s.u.%d", terms[k], i + 1);
    }
    lp_mi_pooled p;
    lp_error err;
    assert_int_equal(lp_mi_pool(q, u, 5, dfcom, 0.95, &p, &err), LP_OK);
    const double got[] = {p.qbar, p.b, p.t, p.df, p.r, p.fmi, p.se, p.p, p.ci[0], p.ci[1]};
    const char *what[] = {"estimate", "b", "t", "df", "riv", "fmi", "se", "p", "lower", "upper"};
    for (int j = 0; j < 10; j++)
      check_close(got[j], ref_getf(ref, "nhanes.%s.pooled.%d", terms[k], j + 1), 1e-9, what[j]);
  }
  double q[10] = {0.61, 0.55, 0.70, 0.58, 0.66, 0.63, 0.52, 0.69, 0.60, 0.64};
  double u[10] = {0.121, 0.118, 0.125, 0.119, 0.122, 0.120, 0.117, 0.124, 0.121, 0.123};
  lp_mi_pooled p;
  assert_int_equal(lp_mi_pool(q, u, 10, INFINITY, 0.95, &p, NULL), LP_OK);
  const double got[] = {p.qbar, p.ubar, p.b, p.t, p.df, p.r, p.fmi};
  for (int j = 0; j < 7; j++) check_close(got[j], ref_getf(ref, "scalar.pooled.%d", j + 1), 1e-9, "pool.scalar");
  ref_free(ref);
}

static void test_pool_errors(void **state) {
  double q[2] = {1, 2}, u[2] = {0.1, NAN};
  lp_mi_pooled p;
  lp_error err;
  assert_int_equal(lp_mi_pool(q, u, 1, 10, 0.95, &p, &err), LP_EINVAL);
  assert_int_equal(lp_mi_pool(q, u, 2, 10, 0.95, &p, &err), LP_EDATA);
  u[1] = 0.1;
  assert_int_equal(lp_mi_pool(q, u, 2, 0, 0.95, &p, &err), LP_EINVAL);
  assert_int_equal(lp_mi_pool(q, u, 2, 10, 0, &p, &err), LP_EINVAL);
  double z[2] = {0, 0};
  assert_int_equal(lp_mi_pool(z, z, 2, 10, 0.95, &p, &err), LP_EDATA);
}

/* Pool lm(chl ~ bmi + age) over the m completed copies of nhanes. */
static void pool_nhanes(const double *imp, size_t n, size_t m, lp_mi_pooled pooled[3]) {
  double *q = malloc(3 * m * sizeof *q), *u = malloc(3 * m * sizeof *u), *x = malloc(2 * n * sizeof *x);
  assert_non_null(q), assert_non_null(u), assert_non_null(x);
  for (size_t k = 0; k < m; k++) {
    const double *d = imp + k * n * 4; /* columns age, bmi, hyp, chl */
    for (size_t i = 0; i < n; i++) x[2 * i] = d[n + i], x[2 * i + 1] = d[i];
    lp_lm_fit fit;
    lp_error err;
    assert_int_equal(lp_lm_fit_compute(x, n, 2, d + 3 * n, true, 1e-7, &fit, &err), LP_OK);
    for (int t = 0; t < 3; t++) q[t * m + k] = fit.coef[t], u[t * m + k] = fit.se[t] * fit.se[t];
    lp_lm_fit_clear(&fit);
  }
  for (int t = 0; t < 3; t++)
    assert_int_equal(lp_mi_pool(q + t * m, u + t * m, m, (double)n - 3, 0.95, &pooled[t], NULL), LP_OK);
  free(q), free(u), free(x);
}

/* mice(nhanes, method = "norm" / "pmm", maxit = 10) against our chained equations,
 * both with many imputations: the pooled estimates agree within Monte Carlo error
 * (4 standard errors of the difference of two means of m draws), the within- and
 * between-imputation variances and the Barnard-Rubin df within their sampling
 * error, and the imputed values' mean and SD per column likewise. */
static void check_mice_method(lp_impute_method method, const char *name) {
  lp_ref *ref = ref_load("impute");
  lp_table *t = data_load("nhanes");
  size_t n = lp_table_nrows(t), p = 4, m = (size_t)ref_get(ref, "m");
  const char *cols[] = {"age", "bmi", "hyp", "chl"};
  double *data = malloc(n * p * sizeof *data), *out = malloc(m * n * p * sizeof *out);
  assert_non_null(data), assert_non_null(out);
  for (size_t j = 0; j < p; j++) {
    double *c = data_column(t, cols[j]);
    memcpy(data + j * n, c, n * sizeof *c);
    free(c);
  }
  lp_mice_options o = {.m = m, .maxit = 10, .method = method, .donors = 5, .seed = 20161016, .threads = 2};
  lp_error err;
  assert_int_equal(lp_mice_impute(data, n, p, cols, NULL, &o, out, &err), LP_OK);
  for (size_t k = 0; k < m; k++) /* observed values kept, missing ones filled */
    for (size_t i = 0; i < n * p; i++) {
      assert_false(isnan(out[k * n * p + i]));
      if (!isnan(data[i])) assert_true(out[k * n * p + i] == data[i]);
    }
  lp_mi_pooled got[3];
  pool_nhanes(out, n, m, got);
  const char *terms[] = {"(Intercept)", "bmi", "age"};
  for (int k = 0; k < 3; k++) {
    double est = ref_getf(ref, "%s.%s.1", name, terms[k]), ubar = ref_getf(ref, "%s.%s.2", name, terms[k]);
    double b = ref_getf(ref, "%s.%s.3", name, terms[k]), df = ref_getf(ref, "%s.%s.5", name, terms[k]);
    double mcse = sqrt(b / (double)m + got[k].b / (double)m);
    if (getenv("LP_TEST_VERBOSE"))
      print_message("%s %s: est %g/%g ubar %g/%g b %g/%g df %g/%g\n", name, terms[k], got[k].qbar, est, got[k].ubar,
                    ubar, got[k].b, b, got[k].df, df);
    if (!(fabs(got[k].qbar - est) <= 4 * mcse))
      fail_msg("%s %s: pooled estimate %g, mice %g (Monte Carlo SE of the difference %g)", name, terms[k], got[k].qbar,
               est, mcse);
    /* b has m - 1 degrees of freedom: log(b1 / b2) has SD about 2 / sqrt(m - 1) */
    double lim = 4 * 2 / sqrt((double)m - 1);
    if (!(fabs(log(got[k].b / b)) <= lim))
      fail_msg("%s %s: between-imputation variance %g, mice %g", name, terms[k], got[k].b, b);
    if (!(fabs(log(got[k].ubar / ubar)) <= 0.15))
      fail_msg("%s %s: within-imputation variance %g, mice %g", name, terms[k], got[k].ubar, ubar);
    if (!(fabs(log(got[k].df / df)) <= 0.3))
      fail_msg("%s %s: degrees of freedom %g, mice %g", name, terms[k], got[k].df, df);
  }
  for (size_t j = 1; j < p; j++) {
    double s = 0, ss = 0, c = 0;
    for (size_t k = 0; k < m; k++)
      for (size_t i = 0; i < n; i++)
        if (isnan(data[j * n + i])) {
          double v = out[k * n * p + j * n + i];
          s += v, ss += v * v, c++;
        }
    double mean = s / c, sd = sqrt((ss - s * s / c) / (c - 1));
    double rmean = ref_getf(ref, "%s.%s.imputed.1", name, cols[j]),
           rsd = ref_getf(ref, "%s.%s.imputed.2", name, cols[j]);
    /* each imputation's mean of its missing values is one draw: SE about sd / sqrt(m) */
    if (!(fabs(mean - rmean) <= 4 * sqrt(2.0) * rsd / sqrt((double)m)))
      fail_msg("%s: imputed %s mean %g, mice %g", name, cols[j], mean, rmean);
    if (!(fabs(log(sd / rsd)) <= 0.15)) fail_msg("%s: imputed %s SD %g, mice %g", name, cols[j], sd, rsd);
  }
  free(data), free(out);
  lp_table_free(t);
  ref_free(ref);
}

static void test_mice_norm(void **state) { check_mice_method(LP_IMPUTE_NORM, "norm"); }
static void test_mice_pmm(void **state) { check_mice_method(LP_IMPUTE_PMM, "pmm"); }

/* The same seed gives the same imputations whatever the thread count. */
static void test_mice_threads(void **state) {
  double data[8] = {1, 2, 3, 4, 2.1, NAN, 5.9, 8.2};
  double a[3 * 8], b[3 * 8];
  lp_mice_options o = {.m = 3, .maxit = 5, .method = LP_IMPUTE_NORM, .donors = 5, .seed = 7, .threads = 1};
  assert_int_equal(lp_mice_impute(data, 4, 2, NULL, NULL, &o, a, NULL), LP_OK);
  o.threads = 2;
  assert_int_equal(lp_mice_impute(data, 4, 2, NULL, NULL, &o, b, NULL), LP_OK);
  assert_memory_equal(a, b, sizeof a);
  assert_true(a[5] != a[8 + 5]); /* the imputations differ from one another */
}

static void test_mice_errors(void **state) {
  const char *names[] = {"x", "y"};
  double all_missing[4] = {1, 2, NAN, NAN}, out[4];
  lp_mice_options o = {.m = 1, .maxit = 5, .method = LP_IMPUTE_NORM, .donors = 5, .seed = 1, .threads = 1};
  lp_error err;
  assert_int_equal(lp_mice_impute(all_missing, 2, 2, names, NULL, &o, out, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "'y'"));
  double inf[4] = {1, INFINITY, 3, NAN};
  assert_int_equal(lp_mice_impute(inf, 2, 2, names, NULL, &o, out, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "row 2"));
  unsigned char none[4] = {0, 0, 0, 0};
  double one[4] = {1, 2, 3, NAN};
  assert_int_equal(lp_mice_impute(one, 2, 2, names, none, &o, out, &err), LP_EINVAL);
  o.m = 0;
  assert_int_equal(lp_mice_impute(one, 2, 2, names, NULL, &o, out, &err), LP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_pool_vs_mice), cmocka_unit_test(test_pool_errors),
                                     cmocka_unit_test(test_mice_norm),    cmocka_unit_test(test_mice_pmm),
                                     cmocka_unit_test(test_mice_threads), cmocka_unit_test(test_mice_errors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
