/* The edge cases of the statistics against R (tests/r/edges.R): a sample size
 * below 2 and the power reached at the whole n; a constant or aliased Cox
 * covariate named; R's "coefficient may be infinite" rule; the share of
 * permutations with a defined statistic on small cells; a Mann-Whitney test on
 * all-tied values; NaN and Inf text refused by cell; quartiles and SD near the
 * largest double. */
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
#include <leopards/survival.h>
#include <leopards/table.h>

#include "testutil.h"

static void test_power_below_two(void **state) {
  lp_ref *ref = ref_load("edges");
  lp_power_result r;
  lp_error err;
  assert_int_equal(lp_power_t(0, 20, 1, 0.05, 0.9, &r, &err), LP_OK);
  check_close(r.n, ref_get(ref, "power.t.n_20_1_0.9"), 1e-8, "t n below 2");
  assert_true(r.n < r.n_min);
  check_close(r.n_rounded, 2, 0, "rounded n");
  check_close(r.power_rounded, ref_get(ref, "power.t.power_2_20_1"), 1e-9, "power at 2");
  /* --n 2 gives the same power as the rounded solution reports. */
  lp_power_result at2;
  assert_int_equal(lp_power_t(2, 20, 1, 0.05, 0, &at2, &err), LP_OK);
  check_close(at2.power, r.power_rounded, 1e-15, "power at n = 2");
  assert_int_equal(lp_power_prop(0, 0.1, 0.9, 0.05, 0.8, &r, &err), LP_OK);
  check_close(r.n, ref_get(ref, "power.prop.n_0.1_0.9_0.8"), 1e-8, "prop n");
  check_close(r.n_rounded, 5, 0, "prop rounded");
  check_close(r.power_rounded, ref_get(ref, "power.prop.power_5_0.1_0.9"), 1e-9, "prop power at 5");
  /* An ordinary case: power at the rounded n is above the target. */
  assert_int_equal(lp_power_t(0, 0.5, 1.5, 0.05, 0.9, &r, &err), LP_OK);
  assert_true(r.n_rounded == 191 && r.power_rounded > 0.9 && r.power_rounded < 0.91);
  ref_free(ref);
}

typedef struct {
  lp_table *t;
  size_t *rows, n, dropped;
  double *time;
  int *event;
  lp_model_matrix des;
} cox_data;

static void cox_load(cox_data *d, const char *ecol, const char *const *cov, size_t ncov, const char *const *fac,
                     size_t nfac) {
  memset(d, 0, sizeof *d);
  d->t = data_load("pbc");
  const char *cols[8] = {"time", ecol};
  for (size_t i = 0; i < ncov; i++) cols[2 + i] = cov[i];
  lp_error err;
  if (lp_table_complete_rows(d->t, cols, 2 + ncov, &d->rows, &d->n, &d->dropped, &err)) fail_msg("%s", err.message);
  size_t ct, ce;
  assert_int_equal(lp_table_column(d->t, "time", &ct, &err), LP_OK);
  assert_int_equal(lp_table_column(d->t, ecol, &ce, &err), LP_OK);
  d->time = malloc(d->n * sizeof *d->time);
  d->event = malloc(d->n * sizeof *d->event);
  assert_int_equal(lp_table_numeric(d->t, ct, d->rows, d->n, d->time, &err), LP_OK);
  assert_int_equal(lp_table_binary(d->t, ce, d->rows, d->n, d->event, &err), LP_OK);
  if (lp_model_matrix_init(&d->des, d->t, cov, ncov, fac, nfac, d->rows, d->n, &err)) fail_msg("%s", err.message);
}

static void cox_free(cox_data *d) {
  lp_model_matrix_clear(&d->des);
  lp_table_free(d->t);
  free(d->rows);
  free(d->time);
  free(d->event);
}

/* Fit and compare the "may be infinite" flags (and, where R's fit is finite, the
 * coefficients) with R's. */
static void cox_infinite_case(const lp_ref *ref, const char *key, const char *ecol, const char *const *cov, size_t ncov,
                              bool finite) {
  const char *fac[] = {"stage"};
  cox_data d;
  cox_load(&d, ecol, cov, ncov, fac, 1);
  lp_cox_options o;
  lp_cox_options_default(&o);
  o.names = (const char *const *)d.des.names;
  lp_cox_fit f;
  lp_error err;
  if (lp_cox_fit_compute(d.time, d.event, d.des.x, d.n, d.des.p, NULL, NULL, &o, &f, &err))
    fail_msg("%s: %s", key, err.message);
  size_t flagged = 0;
  for (size_t j = 0; j < f.p; j++) {
    char what[128];
    snprintf(what, sizeof what, "%s %s may be infinite", key, d.des.names[j]);
    check_close(f.infinite[j] ? 1 : 0, ref_getf(ref, "%s.infinite.%zu", key, j + 1), 0, what);
    flagged += f.infinite[j];
    /* A finite fit agrees with R to rounding; a runaway one only where the
     * log-likelihood has flattened out (R stops at another point on the plateau). */
    check_close(f.coef[j], ref_getf(ref, "%s.coef.%zu", key, j + 1), finite ? 1e-9 : 0.05, what);
  }
  check_close((double)f.ninfinite, (double)flagged, 0, "ninfinite");
  check_close(f.loglik[1], ref_getf(ref, "%s.loglik.2", key), finite ? 1e-12 : 1e-6, "loglik");
  lp_cox_fit_clear(&f);
  cox_free(&d);
}

static void test_cox_infinite(void **state) {
  lp_ref *ref = ref_load("edges");
  const char *st[] = {"stage"}, *ast[] = {"age", "stage"};
  cox_infinite_case(ref, "cox_pbc_tx_stage", "tx", st, 1, false);
  cox_infinite_case(ref, "cox_pbc_tx_age_stage", "tx", ast, 2, false);
  cox_infinite_case(ref, "cox_pbc_dead_age_stage", "dead", ast, 2, true);
  ref_free(ref);
}

/* R gives NA for the aliased term; leopards refuses, naming it (and what it is a
 * combination of). */
static void test_cox_aliased_named(void **state) {
  lp_ref *ref = ref_load("edges");
  const char *alias[] = {"age", "bili", "age2"}, *cst[] = {"age", "one"};
  struct {
    const char *key;
    const char *const *cov;
    size_t ncov;
    const char *want[2];
  } cases[] = {{"cox_pbc_alias", alias, 3, {"covariate 'age2' is a linear combination of covariate 'age' (", NULL}},
               {"cox_pbc_const", cst, 2, {"covariate 'one' is constant", NULL}}};
  for (size_t c = 0; c < 2; c++) {
    cox_data d;
    cox_load(&d, "dead", cases[c].cov, cases[c].ncov, NULL, 0);
    /* The term R reports NA for is the one named. */
    size_t na = 0;
    for (size_t j = 0; j < cases[c].ncov; j++)
      if (ref_getf(ref, "%s.na.%zu", cases[c].key, j + 1) == 1) na = j;
    lp_cox_options o;
    lp_cox_options_default(&o);
    o.names = (const char *const *)d.des.names;
    lp_cox_fit f;
    lp_error err;
    assert_int_equal(lp_cox_fit_compute(d.time, d.event, d.des.x, d.n, d.des.p, NULL, NULL, &o, &f, &err), LP_ENUMERIC);
    if (!strstr(err.message, cases[c].want[0]))
      fail_msg("%s: '%s' lacks '%s'", cases[c].key, err.message, cases[c].want[0]);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "covariate '%s'", cases[c].cov[na]);
    assert_non_null(strstr(err.message, quoted));
    /* Without names, numbers. */
    o.names = NULL;
    assert_int_equal(lp_cox_fit_compute(d.time, d.event, d.des.x, d.n, d.des.p, NULL, NULL, &o, &f, &err), LP_ENUMERIC);
    snprintf(quoted, sizeof quoted, "covariate %zu ", na + 1);
    assert_non_null(strstr(err.message, quoted));
    cox_free(&d);
  }
  ref_free(ref);
}

/* npk, yield by N within blocks: 2 plots per cell, so most permutations leave a
 * cell with fewer than 2; the share that give a statistic agrees with R's Monte
 * Carlo estimate (20,000 permutations) within 4 standard errors of both. */
static void test_interaction_defined_share(void **state) {
  lp_ref *ref = ref_load("edges");
  lp_table *t = data_load("npk");
  double *y = data_column(t, "yield");
  size_t cn, cb;
  lp_error err;
  assert_int_equal(lp_table_column(t, "N", &cn, &err), LP_OK);
  assert_int_equal(lp_table_column(t, "block", &cb, &err), LP_OK);
  lp_factor arm, blk;
  assert_int_equal(lp_factor_init(&arm, t, cn, NULL, lp_table_nrows(t), &err), LP_OK);
  assert_int_equal(lp_factor_init(&blk, t, cb, NULL, lp_table_nrows(t), &err), LP_OK);
  lp_interaction_result r;
  const size_t B = 20000;
  assert_int_equal(
      lp_interaction_test(y, arm.codes, blk.codes, lp_table_nrows(t), blk.nlevels, B, 7, 2, 0.95, &r, &err), LP_OK);
  check_close(r.statistic, ref_get(ref, "npk.q"), 1e-12, "npk Q");
  assert_int_equal(r.requested, B);
  double share = (double)r.permutations / (double)B, want = ref_get(ref, "npk.defined_fraction");
  double se = sqrt(2 * want * (1 - want) / (double)B);
  if (fabs(share - want) > 4 * se) fail_msg("defined share %g, R %g (se %g)", share, want, se);
  assert_true(share < LP_INTERACTION_MIN_DEFINED);
  lp_interaction_result_clear(&r);
  lp_factor_clear(&arm);
  lp_factor_clear(&blk);
  free(y);
  lp_table_free(t);
  ref_free(ref);
}

static void test_tied_and_big(void **state) {
  lp_ref *ref = ref_load("edges");
  lp_table *t = data_load("tied");
  size_t cy, cg;
  lp_error err;
  assert_int_equal(lp_table_column(t, "y", &cy, &err), LP_OK);
  assert_int_equal(lp_table_column(t, "g", &cg, &err), LP_OK);
  double y[7], a[7], b[7], work[28];
  size_t na = 0, nb = 0;
  assert_int_equal(lp_table_numeric(t, cy, NULL, 7, y, &err), LP_OK);
  for (size_t i = 0; i < 7; i++) {
    if (!strcmp(lp_table_cell(t, i, cg), "a")) a[na++] = y[i];
    else
      b[nb++] = y[i];
  }
  lp_mannwhitney mw;
  assert_int_equal(lp_mannwhitney_test(a, na, b, nb, true, work, &mw, &err), LP_OK);
  check_close(mw.W, ref_get(ref, "tied.W"), 0, "tied W");
  assert_true(isnan(mw.p) && isnan(ref_get(ref, "tied.p")));
  lp_boot_options o;
  lp_boot_options_default(&o);
  o.replicates = 200;
  lp_boot_result br;
  assert_int_equal(lp_boot_diff(a, na, b, nb, &o, NULL, &br, &err), LP_OK);
  check_close(br.estimate, ref_get(ref, "tied.diff"), 0, "tied difference");
  lp_table_free(t);

  t = data_load("big");
  double *x = data_column(t, "x");
  lp_describe d;
  lp_describe_compute(x, lp_table_nrows(t), work, &d);
  check_close(d.mean, ref_get(ref, "big.mean"), 1e-15, "big mean");
  assert_true(isinf(d.sd) && d.sd > 0 && isinf(ref_get(ref, "big.sd")));
  check_close(d.q1, ref_get(ref, "big.q.1"), 1e-15, "big q1");
  check_close(d.median, ref_get(ref, "big.q.2"), 1e-15, "big median");
  check_close(d.q3, ref_get(ref, "big.q.3"), 1e-15, "big q3");
  /* Three values where x[hi] - x[lo] overflows: R's quartile is 0. */
  double three[3] = {1e308, -1e308, 1e308};
  lp_describe_compute(three, 3, work, &d);
  assert_true(d.q1 == 0 && isinf(d.sd));
  free(x);
  lp_table_free(t);
  ref_free(ref);
}

/* NaN and Inf written as text keep the column numeric and are refused by cell. */
static void test_nonfinite_text(void **state) {
  const char *bad[] = {"NaN", "Inf", "-Inf", "inf", "Infinity", "1e999", "-1e400"};
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    char path[] = "/tmp/leopards-edges-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "x,g\n1,a\n2,b\n%s,a\n4,b\n", bad[k]);
    fclose(f);
    lp_table *t;
    lp_error err;
    assert_int_equal(lp_table_read_csv(path, &t, &err), LP_OK);
    size_t cx;
    assert_int_equal(lp_table_column(t, "x", &cx, &err), LP_OK);
    assert_true(lp_table_is_numeric(t, cx));
    double v[4];
    assert_int_equal(lp_table_numeric(t, cx, NULL, 4, v, &err), LP_EDATA);
    char want[64];
    snprintf(want, sizeof want, "'%s' is not a finite number", bad[k]);
    if (!strstr(err.message, want) || !strstr(err.message, ":4:") || !strstr(err.message, "'x'"))
      fail_msg("%s: %s", bad[k], err.message);
    /* As a factor the text is a level like any other. */
    lp_factor fac;
    assert_int_equal(lp_factor_init(&fac, t, cx, NULL, 4, &err), LP_OK);
    assert_int_equal(fac.nlevels, 4);
    lp_factor_clear(&fac);
    lp_table_free(t);
    remove(path);
  }
  /* Words that are not numbers still make a text column. */
  char path[] = "/tmp/leopards-edges-XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  fprintf(f, "x\n1\ninfo\n");
  fclose(f);
  lp_table *t;
  lp_error err;
  assert_int_equal(lp_table_read_csv(path, &t, &err), LP_OK);
  assert_false(lp_table_is_numeric(t, 0));
  lp_table_free(t);
  remove(path);
}

/* A key of a JSON input is a field, a column of a table a column. */
static void test_error_nouns(void **state) {
  lp_error err;
  lp_error_at(&err, LP_EDATA, "f.csv", 3, "age", "bad");
  assert_string_equal(err.message, "f.csv:3: column 'age': bad");
  lp_error_at(&err, LP_EDATA, NULL, 0, "age", "bad");
  assert_string_equal(err.message, "field 'age': bad");
  lp_error_at_json(&err, LP_EDATA, "--json-in[2]", "infecton", "unknown");
  assert_string_equal(err.message, "--json-in[2]: field 'infecton': unknown");
  assert_string_equal(err.field, "infecton");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_power_below_two),   cmocka_unit_test(test_cox_infinite),
      cmocka_unit_test(test_cox_aliased_named), cmocka_unit_test(test_interaction_defined_share),
      cmocka_unit_test(test_tied_and_big),      cmocka_unit_test(test_nonfinite_text),
      cmocka_unit_test(test_error_nouns),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
