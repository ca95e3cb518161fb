/* Two proportions (Wald, prop.test, Newcombe, chi-square, Fisher) and power /
 * sample size against R; the non-central t distribution; error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <leopards/stats.h>

#include "testutil.h"

static const long cases[][4] = {{89, 258, 79, 256}, {83, 258, 76, 257},   {97, 258, 84, 256}, {148, 258, 139, 256},
                                {62, 257, 62, 257}, {118, 258, 108, 257}, {32, 258, 23, 257}, {15, 258, 6, 257},
                                {8, 258, 1, 257},   {0, 258, 2, 257},     {7, 258, 3, 257},   {3, 258, 1, 257},
                                {18, 258, 17, 257}, {3, 10, 7, 12},       {10, 10, 0, 5},     {1, 40, 39, 40}};

static void test_proportions_vs_r(void **state) {
  lp_ref *ref = ref_load("proportions");
  const char *names[3] = {"wald", "waldcc", "newcombe"};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const long *c = cases[k];
    for (int m = 0; m < 3; m++) {
      for (int l = 0; l < 2; l++) {
        double level = l ? 0.95 : 0.9;
        lp_prop2 r;
        lp_error err;
        assert_int_equal(lp_prop2_compute(c[0], c[1], c[2], c[3], (lp_prop_ci)m, level, true, &r, &err), LP_OK);
        char key[64];
        for (int e = 0; e < 2; e++) {
          snprintf(key, sizeof key, "case%zu.%s_%g.%d", k + 1, names[m], level, e + 1);
          check_close(r.ci[e], ref_get(ref, key), 1e-9, key);
        }
      }
    }
    lp_prop2 y, n;
    assert_int_equal(lp_prop2_compute(c[0], c[1], c[2], c[3], LP_CI_WALD, 0.95, true, &y, NULL), LP_OK);
    assert_int_equal(lp_prop2_compute(c[0], c[1], c[2], c[3], LP_CI_WALD, 0.95, false, &n, NULL), LP_OK);
    check_close(y.chisq, ref_getf(ref, "case%zu.chisq_yates.1", k + 1), 1e-9, "chi-square (Yates)");
    check_close(y.chisq_p, ref_getf(ref, "case%zu.chisq_yates.2", k + 1), 1e-9, "chi-square P (Yates)");
    check_close(n.chisq, ref_getf(ref, "case%zu.chisq.1", k + 1), 1e-9, "chi-square");
    check_close(n.chisq_p, ref_getf(ref, "case%zu.chisq.2", k + 1), 1e-9, "chi-square P");
    check_close(y.fisher_p, ref_getf(ref, "case%zu.fisher", k + 1), 1e-9, "Fisher P");
  }
  ref_free(ref);
}

static void test_proportion_errors(void **state) {
  lp_prop2 r;
  lp_error err;
  assert_int_equal(lp_prop2_compute(5, 4, 1, 10, LP_CI_WALD, 0.95, true, &r, &err), LP_EINVAL);
  assert_non_null(strstr(err.message, "5/4"));
  assert_int_equal(lp_prop2_compute(1, 0, 1, 10, LP_CI_WALD, 0.95, true, &r, &err), LP_EINVAL);
  assert_int_equal(lp_prop2_compute(-1, 5, 1, 10, LP_CI_WALD, 0.95, true, &r, &err), LP_EINVAL);
  assert_int_equal(lp_prop2_compute(1, 5, 1, 10, LP_CI_WALD, 1.0, true, &r, &err), LP_EINVAL);
  assert_int_equal(lp_prop2_compute(1, 5, 1, 10, (lp_prop_ci)9, 0.95, true, &r, &err), LP_EINVAL);
  /* No events at all: the chi-square is undefined (NA, as R's NaN), not an error. */
  assert_int_equal(lp_prop2_compute(0, 5, 0, 10, LP_CI_WALD, 0.95, true, &r, &err), LP_OK);
  assert_true(isnan(r.chisq) && isnan(r.chisq_p));
  assert_true(r.fisher_p == 1.0);
  assert_string_equal(lp_prop_ci_name(LP_CI_NEWCOMBE), "newcombe");
}

static void test_power_vs_r(void **state) {
  lp_ref *ref = ref_load("power");
  lp_power_result r;
  lp_error err;
  struct {
    const char *key;
    double delta, sd, alpha, power;
  } tn[] = {{"t.n_0.5_1.5_0.9", 0.5, 1.5, 0.05, 0.9},
            {"t.n_1_1_0.8", 1, 1, 0.05, 0.8},
            {"t.n_0.3_2_0.95_a01", 0.3, 2, 0.01, 0.95},
            {"t.n_3_1_0.8", 3, 1, 0.05, 0.8}};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(lp_power_t(0, tn[i].delta, tn[i].sd, tn[i].alpha, tn[i].power, &r, &err), LP_OK);
    check_close(r.n, ref_get(ref, tn[i].key), 1e-8, tn[i].key);
  }
  struct {
    const char *key;
    double n, delta, sd;
  } tp[] = {{"t.power_250_0.5_1.5", 250, 0.5, 1.5},
            {"t.power_10_1_1", 10, 1, 1},
            {"t.power_3_2_1", 3, 2, 1},
            {"t.power_1000_0.1_1", 1000, 0.1, 1}};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(lp_power_t(tp[i].n, tp[i].delta, tp[i].sd, 0.05, 0, &r, &err), LP_OK);
    check_close(r.power, ref_get(ref, tp[i].key), 1e-9, tp[i].key);
  }
  assert_int_equal(lp_power_prop(0, 0.35, 0.25, 0.05, 0.9, &r, &err), LP_OK);
  check_close(r.n, ref_get(ref, "prop.n_0.35_0.25_0.9"), 1e-8, "prop n");
  assert_int_equal(lp_power_prop(0, 0.5, 0.4, 0.01, 0.8, &r, &err), LP_OK);
  check_close(r.n, ref_get(ref, "prop.n_0.5_0.4_0.8_a01"), 1e-8, "prop n alpha 0.01");
  assert_int_equal(lp_power_prop(250, 0.35, 0.25, 0.05, 0, &r, &err), LP_OK);
  check_close(r.power, ref_get(ref, "prop.power_250_0.35_0.25"), 1e-9, "prop power");
  assert_int_equal(lp_power_prop(50, 0.1, 0.3, 0.05, 0, &r, &err), LP_OK);
  check_close(r.power, ref_get(ref, "prop.power_50_0.1_0.3"), 1e-9, "prop power 2");
  const double pnt[][3] = {{2, 10, 1}, {-1, 5, 0.5}, {1.96, 498, 3.7}, {0.5, 3, -1}, {4, 40, 3.5}};
  for (size_t i = 0; i < 5; i++) {
    char key[64];
    snprintf(key, sizeof key, "pnt_%g_%g_%g", pnt[i][0], pnt[i][1], pnt[i][2]);
    check_close(lp_pnt(pnt[i][0], pnt[i][1], pnt[i][2]), ref_get(ref, key), 1e-9, key);
  }
  ref_free(ref);
}

static void test_power_errors(void **state) {
  lp_power_result r;
  lp_error err;
  assert_int_equal(lp_power_t(0, 0.5, 0, 0.05, 0.9, &r, &err), LP_EINVAL);
  assert_int_equal(lp_power_t(0, 0, 1, 0.05, 0.9, &r, &err), LP_EINVAL);
  assert_int_equal(lp_power_t(0, 0.5, 1, 1.2, 0.9, &r, &err), LP_EINVAL);
  assert_int_equal(lp_power_t(0, 0.5, 1, 0.05, 0.01, &r, &err), LP_EINVAL);
  assert_int_equal(lp_power_t(1, 0.5, 1, 0.05, 0, &r, &err), LP_EINVAL);
  assert_int_equal(lp_power_t(0, 1e-6, 1, 0.05, 0.99, &r, &err), LP_ERANGE);
  assert_int_equal(lp_power_prop(0, 0.3, 0.3, 0.05, 0.9, &r, &err), LP_EINVAL);
  assert_int_equal(lp_power_prop(0, 0, 0.3, 0.05, 0.9, &r, &err), LP_EINVAL);
  assert_true(isnan(lp_pnt(1, -1, 1)));
  assert_true(lp_pnt(INFINITY, 5, 1) == 1.0 && lp_pnt(-INFINITY, 5, 1) == 0.0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_proportions_vs_r),
      cmocka_unit_test(test_proportion_errors),
      cmocka_unit_test(test_power_vs_r),
      cmocka_unit_test(test_power_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
