/* The sensitivity analyses of the mean daily SOFA by multiple imputation against R's
 * mice on the same synthetic trial (tests/r/sofa_mi.R): the imputation model's rows
 * exactly, then the pooled difference in means, its variance, degrees of freedom and
 * interval within Monte Carlo error, pooled by the plan's `imputed` kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/derive.h>
#include <leopards/plan.h>
#include <leopards/stats.h>
#include <leopards/strbuf.h>

#include "testutil.h"

static const char *const comps[5] = {"resp", "coag", "liver", "cv", "renal"};

/* tests/data/sofa_days.csv (one row per patient and ICU day) as courses. */
static lp_sofa_course *load_courses(size_t *n) {
  lp_table *t = data_load("sofa_days");
  size_t rows = lp_table_nrows(t), cp;
  assert_int_equal(lp_table_column(t, "patient", &cp, NULL), LP_OK);
  double *arm = data_column(t, "arm"), *base = data_column(t, "sofa_baseline"), *nd = data_column(t, "icu_days"),
         *died = data_column(t, "died28"), *left = data_column(t, "left_icu_alive"), *day = data_column(t, "day");
  double *v[5];
  for (int k = 0; k < 5; k++) v[k] = data_column(t, comps[k]);
  lp_sofa_course *c = calloc(rows, sizeof *c);
  assert_non_null(c);
  size_t m = 0;
  for (size_t i = 0; i < rows; i++) {
    if (i == 0 || strcmp(lp_table_cell(t, i, cp), lp_table_cell(t, i - 1, cp))) {
      lp_sofa_course *p = &c[m++];
      p->arm = (int)arm[i];
      p->baseline = base[i];
      p->icu_days = (int)nd[i];
      p->died = (int)died[i];
      p->left_alive = (int)left[i];
    }
    int d = (int)day[i] - 1;
    for (int k = 0; k < 5; k++) c[m - 1].comp[d][k] = isnan(v[k][i]) ? -1 : (signed char)v[k][i];
  }
  free(arm), free(base), free(nd), free(died), free(left), free(day);
  for (int k = 0; k < 5; k++) free(v[k]);
  lp_table_free(t);
  *n = m;
  return c;
}

/* The model's rows and columns are R's, exactly. */
static void check_frame(const lp_ref *ref, const lp_sofa_course *c, size_t n, lp_sofa_mi_kind kind, const char *name) {
  lp_sofa_mi_options o;
  lp_sofa_mi_options_default(&o);
  o.kind = kind;
  double *x;
  size_t *pat, rows;
  lp_error err;
  if (lp_sofa_mi_frame(c, n, &o, &x, &pat, &rows, &err)) fail_msg("%s", err.message);
  assert_int_equal(rows, (size_t)ref_getf(ref, "%s.rows", name));
  for (size_t j = 0; j < LP_SOFA_MI_NCOLS; j++) {
    double s = 0, na = 0;
    for (size_t r = 0; r < rows; r++)
      if (isnan(x[j * rows + r])) na++;
      else
        s += x[j * rows + r];
    check_close(s, ref_getf(ref, "%s.frame.%s.1", name, lp_sofa_mi_column(j)), 1e-12, lp_sofa_mi_column(j));
    check_close(na, ref_getf(ref, "%s.frame.%s.2", name, lp_sofa_mi_column(j)), 0, lp_sofa_mi_column(j));
  }
  free(x), free(pat);
}

/* Impute, then pool the per-imputation differences in means through a one-row plan
 * (the `imputed` kind, as the report does) and directly (for the variances and df). */
static void check_pooled(const lp_ref *ref, const lp_sofa_course *c, size_t n, lp_sofa_mi_kind kind, const char *name) {
  size_t M = (size_t)ref_get(ref, "m");
  lp_sofa_mi_options o;
  lp_sofa_mi_options_default(&o);
  o.kind = kind;
  o.m = M;
  o.seed = 20161006 + (uint64_t)kind;
  o.threads = 2;
  double *means = malloc(n * M * sizeof *means);
  lp_error err;
  if (lp_sofa_impute(c, n, &o, means, &err)) fail_msg("%s", err.message);
  /* The data set the plan reads: arm and sofa_mi_1 ... sofa_mi_M. */
  lp_strbuf b = {0};
  lp_strbuf_puts(&b, "arm");
  for (size_t k = 1; k <= M; k++) lp_strbuf_printf(&b, ",sofa_mi_%zu", k);
  lp_strbuf_puts(&b, "\n");
  double *q = malloc(M * sizeof *q), *u = malloc(M * sizeof *u);
  for (size_t i = 0; i < n; i++) {
    lp_strbuf_puts(&b, c[i].arm == 0 ? "levosimendan" : "placebo");
    for (size_t k = 0; k < M; k++) {
      double v = means[i * M + k];
      assert_true(v >= 0 && v <= 20);
      lp_strbuf_printf(&b, ",%.17g", v);
    }
    lp_strbuf_puts(&b, "\n");
  }
  for (size_t k = 0; k < M; k++) {
    double s[2] = {0, 0}, ss[2] = {0, 0}, cnt[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
      double v = means[i * M + k];
      s[c[i].arm] += v, ss[c[i].arm] += v * v, cnt[c[i].arm]++;
    }
    double var[2];
    for (int a = 0; a < 2; a++) var[a] = (ss[a] - s[a] * s[a] / cnt[a]) / (cnt[a] - 1);
    q[k] = s[0] / cnt[0] - s[1] / cnt[1];
    u[k] = var[0] / cnt[0] + var[1] / cnt[1];
  }
  lp_mi_pooled pool;
  if (lp_mi_pool(q, u, M, (double)n - 2, 0.95, &pool, &err)) fail_msg("%s", err.message);
  double rq = ref_getf(ref, "%s.pooled.1", name), rubar = ref_getf(ref, "%s.pooled.2", name),
         rb = ref_getf(ref, "%s.pooled.3", name), rt = ref_getf(ref, "%s.pooled.4", name),
         rdf = ref_getf(ref, "%s.pooled.5", name);
  print_message(
      "%s: estimate %.4f / mice %.4f, ubar %.4f / %.4f, b %.5f / %.5f, df %.1f / %.1f, CI %.3f to %.3f / "
      "%.3f to %.3f\n",
      name, pool.qbar, rq, pool.ubar, rubar, pool.b, rb, pool.df, rdf, pool.ci[0], pool.ci[1],
      ref_getf(ref, "%s.ci.1", name), ref_getf(ref, "%s.ci.2", name));
  /* The pooled estimates of two independent runs differ by their Monte Carlo error. */
  double mcse = sqrt(pool.b / (double)M + rb / (double)M);
  if (!(fabs(pool.qbar - rq) <= 4 * mcse))
    fail_msg("%s: pooled estimate %g, mice %g (Monte Carlo SE of the difference %g)", name, pool.qbar, rq, mcse);
  if (!(fabs(pool.ubar / rubar - 1) <= 0.05)) fail_msg("%s: within variance %g, mice %g", name, pool.ubar, rubar);
  /* log b has sampling SD about sqrt(2 / (M - 1)) in each run */
  if (!(fabs(log(pool.b / rb)) <= 4 * sqrt(4.0 / (double)(M - 1))))
    fail_msg("%s: between variance %g, mice %g", name, pool.b, rb);
  if (!(fabs(pool.t / rt - 1) <= 0.1)) fail_msg("%s: total variance %g, mice %g", name, pool.t, rt);
  if (!(fabs(pool.df / rdf - 1) <= 0.3)) fail_msg("%s: degrees of freedom %g, mice %g", name, pool.df, rdf);
  for (int e = 0; e < 2; e++) {
    double rci = ref_getf(ref, "%s.ci.%d", name, e + 1), half = fabs(rci - rq);
    if (!(fabs(pool.ci[e] - rci) <= 4 * mcse + 0.1 * half))
      fail_msg("%s: interval bound %d %g, mice %g", name, e + 1, pool.ci[e], rci);
  }
  /* The plan's imputed kind gives the same pooled result. */
  static const char plan_text[] = "id,table,label,kind,outcome,test\nmi,table3,MI,imputed,sofa_mi,none\n";
  lp_plan *plan;
  lp_table *t;
  if (lp_plan_parse(plan_text, sizeof plan_text - 1, "test plan", &plan, &err)) fail_msg("%s", err.message);
  if (lp_table_parse_csv(b.p, b.len, "imputed.csv", &t, &err)) fail_msg("%s", err.message);
  lp_plan_options po;
  lp_plan_options_default(&po);
  lp_results res;
  if (lp_plan_run(plan, t, &po, &res, &err)) fail_msg("%s", err.message);
  check_close(res.rows[0].estimate, pool.qbar, 1e-12, "plan: pooled estimate");
  check_close(res.rows[0].ci[0], pool.ci[0], 1e-12, "plan: lower bound");
  check_close(res.rows[0].ci[1], pool.ci[1], 1e-12, "plan: upper bound");
  assert_true(isnan(res.rows[0].p));
  assert_non_null(strstr(res.rows[0].method, "Barnard-Rubin"));
  lp_results_clear(&res);
  lp_table_free(t);
  lp_plan_free(plan);
  free(b.p), free(q), free(u), free(means);
}

static void test_frame_vs_r(void **state) {
  (void)state;
  size_t n;
  lp_sofa_course *c = load_courses(&n);
  lp_ref *ref = ref_load("sofa_mi");
  check_frame(ref, c, n, LP_SOFA_MI_ICU, "icu");
  check_frame(ref, c, n, LP_SOFA_MI_HORIZON, "horizon");
  ref_free(ref);
  free(c);
}

static void test_icu_vs_mice(void **state) {
  (void)state;
  size_t n;
  lp_sofa_course *c = load_courses(&n);
  lp_ref *ref = ref_load("sofa_mi");
  check_pooled(ref, c, n, LP_SOFA_MI_ICU, "icu");
  ref_free(ref);
  free(c);
}

static void test_horizon_vs_mice(void **state) {
  (void)state;
  size_t n;
  lp_sofa_course *c = load_courses(&n);
  lp_ref *ref = ref_load("sofa_mi");
  check_pooled(ref, c, n, LP_SOFA_MI_HORIZON, "horizon");
  ref_free(ref);
  free(c);
}

/* The post hoc analysis fills every day to the horizon (and keeps the observed ones),
 * a patient with no ICU day has no value, and the thread count changes nothing. */
static void test_imputed_values(void **state) {
  (void)state;
  size_t n;
  lp_sofa_course *c = load_courses(&n);
  c[3].icu_days = 0;
  lp_sofa_mi_options o;
  lp_sofa_mi_options_default(&o);
  o.m = 3;
  o.threads = 1;
  double *a = malloc(n * 3 * sizeof *a), *b = malloc(n * 3 * sizeof *b);
  lp_error err;
  for (int kind = 0; kind < 2; kind++) {
    o.kind = (lp_sofa_mi_kind)kind;
    o.threads = 1;
    if (lp_sofa_impute(c, n, &o, a, &err)) fail_msg("%s", err.message);
    o.threads = 2;
    if (lp_sofa_impute(c, n, &o, b, &err)) fail_msg("%s", err.message);
    assert_memory_equal(a, b, n * 3 * sizeof *a);
    check_na(a[3 * 3], "no ICU day");
    /* A patient whose every ICU component was recorded: the ICU mean is his own. */
    for (size_t i = 0; i < n; i++) {
      bool complete = c[i].icu_days > 0;
      double tot = 0;
      for (int d = 0; d < c[i].icu_days; d++)
        for (int k = 0; k < 5; k++) complete = complete && c[i].comp[d][k] >= 0, tot += c[i].comp[d][k];
      if (complete && kind == LP_SOFA_MI_ICU)
        for (int k = 0; k < 3; k++) check_close(a[i * 3 + k], tot / c[i].icu_days, 1e-12, "complete patient");
    }
  }
  c[0].arm = 2;
  assert_int_equal(lp_sofa_impute(c, n, &o, a, &err), LP_EINVAL);
  assert_non_null(strstr(err.message, "patient 1"));
  free(a), free(b), free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_frame_vs_r), cmocka_unit_test(test_icu_vs_mice),
                                     cmocka_unit_test(test_horizon_vs_mice), cmocka_unit_test(test_imputed_values)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
