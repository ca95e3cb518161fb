/* Rubin's rules against mice::pool (nhanes example) and pool.scalar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

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

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_pool_vs_mice), cmocka_unit_test(test_pool_errors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
