/* Two-group comparisons against R: descriptives, Mann-Whitney, bootstrap
 * percentile intervals (within Monte Carlo error), boot.ci on fixed replicates, and
 * the same replicates whatever the number of threads. */
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
  const char *key, *data, *outcome, *group, *lev1, *lev2;
} tg_case;

static const tg_case cases[] = {
    {"toothgrowth", "toothgrowth", "len", "supp", "OJ", "VC"},
    {"lung_age_sex", "lung", "age", "sex", "male", "female"},
    {"lung_mealcal_sex", "lung", "meal.cal", "sex", "male", "female"},
    {"sleep", "sleep", "extra", "group", "1", "2"},
};

/* Split a table's outcome by the two levels of group, dropping missing values. */
static void split(const tg_case *c, double **x, size_t *nx, double **y, size_t *ny) {
  lp_table *t = data_load(c->data);
  size_t cy, cg;
  lp_error err;
  assert_int_equal(lp_table_column(t, c->outcome, &cy, &err), LP_OK);
  assert_int_equal(lp_table_column(t, c->group, &cg, &err), LP_OK);
  size_t n = lp_table_nrows(t);
  *x = malloc(n * sizeof **x);
  *y = malloc(n * sizeof **y);
  *nx = *ny = 0;
  for (size_t i = 0; i < n; i++) {
    const char *v = lp_table_cell(t, i, cy), *g = lp_table_cell(t, i, cg);
    double d;
    if (!v || !g) continue;
    assert_true(lp_parse_number(v, &d));
    if (!strcmp(g, c->lev1)) (*x)[(*nx)++] = d;
    else if (!strcmp(g, c->lev2))
      (*y)[(*ny)++] = d;
  }
  lp_table_free(t);
}

static void test_describe_and_mannwhitney(void **state) {
  lp_ref *ref = ref_load("twogroup");
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const tg_case *c = &cases[k];
    double *x, *y;
    size_t nx, ny;
    split(c, &x, &nx, &y, &ny);
    double *work = malloc(2 * (nx + ny) * sizeof *work);
    lp_describe d;
    for (int g = 1; g <= 2; g++) {
      lp_describe_compute(g == 1 ? x : y, g == 1 ? nx : ny, work, &d);
      check_close((double)d.n, ref_getf(ref, "%s.g%d.n", c->key, g), 0, c->key);
      check_close(d.mean, ref_getf(ref, "%s.g%d.mean", c->key, g), 1e-12, "mean");
      check_close(d.sd, ref_getf(ref, "%s.g%d.sd", c->key, g), 1e-12, "sd");
      check_close(d.q1, ref_getf(ref, "%s.g%d.q.1", c->key, g), 1e-12, "q1");
      check_close(d.median, ref_getf(ref, "%s.g%d.q.2", c->key, g), 1e-12, "median");
      check_close(d.q3, ref_getf(ref, "%s.g%d.q.3", c->key, g), 1e-12, "q3");
    }
    lp_mannwhitney mw;
    lp_error err;
    assert_int_equal(lp_mannwhitney_test(x, nx, y, ny, true, work, &mw, &err), LP_OK);
    check_close(mw.W, ref_getf(ref, "%s.W", c->key), 1e-12, "W");
    check_close(mw.p, ref_getf(ref, "%s.p", c->key), 1e-9, "Mann-Whitney p");
    assert_int_equal(lp_mannwhitney_test(x, nx, y, ny, false, work, &mw, &err), LP_OK);
    check_close(mw.p, ref_getf(ref, "%s.p_nocorrect", c->key), 1e-9, "Mann-Whitney p (no correction)");
    free(work);
    free(x);
    free(y);
  }
  ref_free(ref);
}

/* Our 100,000-resample interval and R's differ only by Monte Carlo error. For a
 * percentile end point the standard error is about 0.0085 bootstrap SDs at
 * R = 100,000 (sqrt(p(1-p)/R) / density at the 2.5% point); two independent
 * runs differ by sqrt(2) times that. Allow 5 of those: 0.06 bootstrap SDs. */
static void test_bootstrap_vs_r(void **state) {
  lp_ref *ref = ref_load("twogroup");
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const tg_case *c = &cases[k];
    double *x, *y;
    size_t nx, ny;
    split(c, &x, &nx, &y, &ny);
    for (int s = 0; s < 2; s++) {
      const char *name = s ? "median" : "mean";
      lp_boot_options o;
      lp_boot_options_default(&o);
      o.summary = s ? LP_SUMMARY_MEDIAN : LP_SUMMARY_MEAN;
      o.seed = 12345 + k;
      lp_boot_result r;
      lp_error err;
      assert_int_equal(lp_boot_diff(x, nx, y, ny, &o, NULL, &r, &err), LP_OK);
      assert_int_equal(r.finite, o.replicates);
      check_close(r.estimate, ref_getf(ref, "%s.%s.estimate", c->key, name), 1e-12, "estimate");
      double se = ref_getf(ref, "%s.%s.boot_sd", c->key, name);
      /* Medians of tied data have a lumpy bootstrap distribution: allow twice as much. */
      double tol = (s ? 0.12 : 0.06) * se;
      for (int e = 0; e < 2; e++) {
        double want = ref_getf(ref, "%s.%s.ci.%d", c->key, name, e + 1);
        if (fabs(r.ci[e] - want) > tol)
          fail_msg("%s %s CI end %d: got %.6g, R %.6g (tolerance %.3g)", c->key, name, e + 1, r.ci[e], want, tol);
      }
    }
    free(x);
    free(y);
  }
  ref_free(ref);
}

/* boot.ci(type = "perc") on fixed replicates: exact order statistics (R = 999 at
 * 95%: rk = 25 is an integer) and normal-scale interpolation otherwise. */
static void test_percentile_interval(void **state) {
  lp_ref *ref = ref_load("twogroup");
  const int sizes[] = {999, 1000, 4999};
  const double levels[] = {0.9, 0.95, 0.99};
  for (int i = 0; i < 3; i++) {
    char name[64];
    snprintf(name, sizeof name, "boot_t_%d", sizes[i]);
    lp_table *t = data_load(name);
    double *v = data_column(t, "t");
    size_t R = lp_table_nrows(t);
    assert_int_equal(R, (size_t)sizes[i]);
    double *copy = malloc(R * sizeof *copy);
    for (int l = 0; l < 3; l++) {
      memcpy(copy, v, R * sizeof *v);
      double ci[2];
      size_t finite;
      lp_error err;
      assert_int_equal(lp_boot_percentile(copy, R, levels[l], ci, &finite, &err), LP_OK);
      char key[64];
      for (int e = 0; e < 2; e++) {
        snprintf(key, sizeof key, "perc_%d_%g.%d", sizes[i], levels[l], e + 1);
        check_close(ci[e], ref_get(ref, key), 1e-12, key);
      }
    }
    /* Non-finite replicates are dropped, as boot.ci does. */
    memcpy(copy, v, R * sizeof *v);
    copy[3] = NAN;
    copy[7] = INFINITY;
    double ci[2];
    size_t finite;
    assert_int_equal(lp_boot_percentile(copy, R, 0.95, ci, &finite, NULL), LP_OK);
    assert_int_equal(finite, R - 2);
    free(copy);
    free(v);
    lp_table_free(t);
  }
  ref_free(ref);
}

static void test_threads_do_not_change_result(void **state) {
  double x[50], y[40];
  for (int i = 0; i < 50; i++) x[i] = sin(i) * 3 + i % 7;
  for (int i = 0; i < 40; i++) y[i] = cos(i) * 2 + i % 5;
  for (int s = 0; s < 2; s++) {
    lp_boot_options o;
    lp_boot_options_default(&o);
    o.replicates = 20001;
    o.summary = s ? LP_SUMMARY_MEDIAN : LP_SUMMARY_MEAN;
    double *r1 = malloc(o.replicates * sizeof *r1), *r2 = malloc(o.replicates * sizeof *r2);
    lp_boot_result b1, b2;
    o.threads = 1;
    assert_int_equal(lp_boot_diff(x, 50, y, 40, &o, r1, &b1, NULL), LP_OK);
    o.threads = 2;
    assert_int_equal(lp_boot_diff(x, 50, y, 40, &o, r2, &b2, NULL), LP_OK);
    assert_memory_equal(r1, r2, o.replicates * sizeof *r1);
    assert_true(b1.ci[0] == b2.ci[0] && b1.ci[1] == b2.ci[1]);
    /* A different seed gives different replicates. */
    o.seed++;
    assert_int_equal(lp_boot_diff(x, 50, y, 40, &o, r2, &b2, NULL), LP_OK);
    assert_true(memcmp(r1, r2, o.replicates * sizeof *r1) != 0);
    free(r1);
    free(r2);
  }
}

static void test_errors(void **state) {
  double x[3] = {1, 2, 3}, work[12];
  lp_mannwhitney mw;
  lp_error err;
  assert_int_equal(lp_mannwhitney_test(x, 3, x, 0, true, work, &mw, &err), LP_EDATA);
  double same[3] = {2, 2, 2};
  /* Every value tied: W as R reports it (nx ny / 2), the test undefined (R: NaN). */
  assert_int_equal(lp_mannwhitney_test(same, 3, same, 3, true, work, &mw, &err), LP_OK);
  assert_true(mw.W == 4.5 && isnan(mw.p) && isnan(mw.z));
  lp_boot_options o;
  lp_boot_options_default(&o);
  lp_boot_result r;
  assert_int_equal(lp_boot_diff(x, 0, x, 3, &o, NULL, &r, &err), LP_EDATA);
  o.replicates = 1;
  assert_int_equal(lp_boot_diff(x, 3, x, 3, &o, NULL, &r, &err), LP_EINVAL);
  double t[2] = {NAN, 1};
  double ci[2];
  assert_int_equal(lp_boot_percentile(t, 2, 0.95, ci, NULL, &err), LP_EDATA);
  assert_int_equal(lp_boot_percentile(t, 2, 1.5, ci, NULL, &err), LP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_describe_and_mannwhitney),
      cmocka_unit_test(test_bootstrap_vs_r),
      cmocka_unit_test(test_percentile_interval),
      cmocka_unit_test(test_threads_do_not_change_result),
      cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
