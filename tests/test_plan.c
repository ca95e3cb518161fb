/* Analysis plans: parsing (every error names the plan line and column), the
 * built-in LeoPARDS plan, and each analysis kind on a synthetic trial against R. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/plan.h>
#include <leopards/strbuf.h>

#include "testutil.h"

static const lp_result *row(const lp_results *r, const char *id) {
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->rows[i].id, id)) return &r->rows[i];
  fail_msg("no result row %s", id);
  return &r->rows[0]; /* not reached */
}

static void test_run_vs_r(void **state) {
  char path[1024];
  lp_plan *plan;
  lp_error err;
  if (lp_plan_load(test_path(path, sizeof path, "data/plan_test.csv"), &plan, &err)) fail_msg("%s", err.message);
  assert_int_equal(lp_plan_size(plan), 9);
  lp_table *t = data_load("trialdata");
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 20000;
  o.permutations = 2000;
  lp_results res;
  if (lp_plan_run(plan, t, &o, &res, &err)) fail_msg("%s", err.message);
  lp_ref *ref = ref_load("plan");
  assert_int_equal(res.n, 9);
  const lp_result *r = row(&res, "sofa");
  check_close(r->arm_stat[0][0], ref_get(ref, "mean.means.1"), 1e-12, "mean levo");
  check_close(r->arm_stat[1][1], ref_get(ref, "mean.sds.2"), 1e-12, "sd placebo");
  check_close(r->estimate, ref_get(ref, "mean.means.1") - ref_get(ref, "mean.means.2"), 1e-12, "mean difference");
  check_close(r->p, ref_get(ref, "mean.p"), 1e-9, "Mann-Whitney P");
  assert_true(r->ci[0] < r->estimate && r->estimate < r->ci[1]);
  char want[32];
  snprintf(want, sizeof want, "%.2f±%.2f", ref_get(ref, "mean.means.1"), ref_get(ref, "mean.sds.1"));
  assert_string_equal(r->arm_text[0], want);
  r = row(&res, "los_surv");
  for (int k = 0; k < 3; k++) {
    check_close(r->arm_stat[0][k], ref_getf(ref, "median.surv.q.%d", k + 1), 1e-12, "median/IQR levo");
    check_close(r->arm_stat[1][k], ref_getf(ref, "median.surv.q.%d", k + 4), 1e-12, "median/IQR placebo");
  }
  check_close(r->p, ref_get(ref, "median.surv.p"), 1e-9, "survivors P");
  r = row(&res, "death");
  check_close(r->arm_stat[0][0], ref_get(ref, "binary.counts.1"), 0, "deaths levo");
  check_close(r->arm_stat[1][1], ref_get(ref, "binary.counts.4"), 0, "N placebo");
  check_close(r->ci[0], ref_get(ref, "binary.wald.1"), 1e-9, "Wald lower");
  check_close(r->ci[1], ref_get(ref, "binary.wald.2"), 1e-9, "Wald upper");
  check_close(r->p, ref_get(ref, "binary.p"), 1e-9, "chi-square P");
  r = row(&res, "svt");
  check_close(r->arm_stat[0][1], ref_get(ref, "count.counts.3"), 0, "count denominators: all patients");
  check_close(r->ci[0], ref_get(ref, "count.ci.1"), 1e-9, "prop.test lower");
  check_close(r->ci[1], ref_get(ref, "count.ci.2"), 1e-9, "prop.test upper");
  assert_string_equal(r->p_text, ">0.99");
  r = row(&res, "adjusted");
  check_close(r->estimate, ref_get(ref, "adjusted.coef.1"), 1e-9, "adjusted coefficient");
  check_close(r->p, ref_get(ref, "adjusted.coef.2"), 1e-7, "adjusted P");
  assert_true(r->ci[0] < r->estimate && r->estimate < r->ci[1]);
  r = row(&res, "mi");
  check_close(r->estimate, ref_get(ref, "imputed.pooled.1"), 1e-9, "pooled estimate");
  double se = sqrt(ref_get(ref, "imputed.pooled.2"));
  assert_true(r->ci[1] - r->ci[0] > 2 * 1.96 * se && r->ci[1] - r->ci[0] < 2 * 1.98 * se);
  r = row(&res, "lactate");
  assert_int_equal(res.nsubgroups, 1);
  assert_int_equal(res.subgroups[0].nlevels, 2);
  assert_string_equal(res.subgroups[0].levels[0], "<=2");
  check_close(res.subgroups[0].estimate[0], ref_get(ref, "subgroup.<=2.1"), 1e-9, "subgroup effect");
  check_close(res.subgroups[0].estimate[1], ref_get(ref, "subgroup.>2.1"), 1e-9, "subgroup effect");
  assert_true(r->p > 0 && r->p <= 1);
  r = row(&res, "cox");
  check_close(r->estimate, ref_get(ref, "cox.hr.1"), 1e-9, "hazard ratio");
  check_close(r->ci[0], ref_get(ref, "cox.hr.2"), 1e-9, "HR lower (robust)");
  check_close(r->ci[1], ref_get(ref, "cox.hr.3"), 1e-9, "HR upper (robust)");
  check_close(r->p, ref_get(ref, "cox.p"), 1e-9, "Cox P (robust)");
  assert_int_equal(res.ncurves, 2);
  assert_int_equal(res.curves[0].at_risk[0], r->arm_n[0]);
  r = row(&res, "age");
  assert_non_null(strstr(r->arm_text[0], "–"));
  assert_true(isnan(r->p));
  ref_free(ref);
  lp_results_clear(&res);
  lp_plan_free(plan);
  lp_table_free(t);
}

static void test_leopards_plan(void **state) {
  lp_plan *p;
  lp_error err;
  if (lp_plan_leopards(&p, &err)) fail_msg("%s", err.message);
  assert_true(lp_plan_size(p) > 60);
  lp_plan_free(p);
  lp_plan_free(NULL);
}

static void expect_plan_error(const char *body, long line, const char *field, const char *needle) {
  char text[2048];
  snprintf(text, sizeof text, "id,table,label,kind,outcome,ci,test,population,digits,subgroup,adjust\n%s", body);
  lp_plan *p = (lp_plan *)1;
  lp_error err;
  assert_int_not_equal(lp_plan_parse(text, strlen(text), "my.plan", &p, &err), LP_OK);
  assert_null(p);
  if (!strstr(err.message, needle)) fail_msg("'%s' lacks '%s'", err.message, needle);
  assert_string_equal(err.file, "my.plan");
  assert_int_equal(err.line, line);
  if (field) assert_string_equal(err.field, field);
}

static void test_plan_errors(void **state) {
  expect_plan_error("a,t3,A,mean,y,bootstrap,,,,,\na,t3,B,mean,y,bootstrap,,,,,\n", 3, "id", "id 'a' is used twice");
  expect_plan_error("a,t3,A,average,y,,,,,,\n", 2, "kind", "unknown analysis kind 'average'");
  expect_plan_error("a,t3,A,binary,y,wlad,,,,,\n", 2, "ci", "unknown interval method 'wlad'");
  expect_plan_error("a,t3,A,binary,y,bootstrap,,,,,\n", 2, "ci", "not an interval for a difference of proportions");
  expect_plan_error("a,t3,A,mean,y,wald,,,,,\n", 2, "ci", "not an interval for a difference of means");
  expect_plan_error("a,t3,A,mean,y,,t-test,,,,\n", 2, "test", "unknown test 't-test'");
  expect_plan_error("a,t3,A,mean,,,,,,,\n", 2, "outcome", "needs an outcome column");
  expect_plan_error("a,t3,A,mean,y,,,,9,,\n", 2, "digits", "digits must be a whole number");
  expect_plan_error("a,t3,A,subgroup,y,,,,,,\n", 2, "subgroup", "needs a subgroup column");
  expect_plan_error("a,t3,A,adjusted,y,,,,,,\n", 2, "adjust", "needs covariates");
  expect_plan_error("a,t3,A,cox,,,,,,,\n", 2, "time", "needs time and event");
  expect_plan_error(",t3,A,mean,y,,,,,,\n", 2, "id", "needs an id");
  expect_plan_error("", 1, NULL, "no analyses");
  lp_plan *p;
  lp_error err;
  const char *nohead = "id,table,kind,outcome\na,t,mean,y\n";
  assert_int_equal(lp_plan_parse(nohead, strlen(nohead), "x.plan", &p, &err), LP_EPARSE);
  assert_non_null(strstr(err.message, "a plan needs a column 'label'"));
  const char *extra = "id,table,label,kind,outcome,colour\na,t,A,mean,y,red\n";
  assert_int_equal(lp_plan_parse(extra, strlen(extra), "x.plan", &p, &err), LP_EPARSE);
  assert_non_null(strstr(err.message, "column 'colour': unknown plan column"));
  assert_int_equal(lp_plan_load("/nonexistent.plan", &p, &err), LP_EIO);

  /* Run-time errors: a column the data set lacks, a population that is not 0/1. */
  lp_table *t = data_load("trialdata");
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 100;
  const char *missing = "id,table,label,kind,outcome\nx,t3,X,mean,sofa_mean\ny,t3,Y,mean,nosuch\n";
  assert_int_equal(lp_plan_parse(missing, strlen(missing), "run.plan", &p, &err), LP_OK);
  lp_results res;
  assert_int_equal(lp_plan_run(p, t, &o, &res, &err), LP_ENOTFOUND);
  assert_non_null(strstr(err.message, "run.plan:3: column 'outcome': the data set"));
  assert_non_null(strstr(err.message, "has no column 'nosuch'"));
  assert_int_equal(res.n, 0); /* nothing half-filled */
  lp_plan_free(p);
  const char *pop = "id,table,label,kind,outcome,population\nx,t3,X,mean,sofa_mean,age\n";
  assert_int_equal(lp_plan_parse(pop, strlen(pop), "run.plan", &p, &err), LP_OK);
  assert_int_equal(lp_plan_run(p, t, &o, &res, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "population column 'age' must hold 0 or 1"));
  lp_plan_free(p);
  const char *bin = "id,table,label,kind,outcome,ci\nx,t3,X,binary,age,wald\n";
  assert_int_equal(lp_plan_parse(bin, strlen(bin), "run.plan", &p, &err), LP_OK);
  assert_int_equal(lp_plan_run(p, t, &o, &res, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "'age' must be 0 or 1"));
  lp_plan_free(p);
  o.arms[0] = "drug";
  const char *ok = "id,table,label,kind,outcome\nx,t3,X,mean,sofa_mean\n";
  assert_int_equal(lp_plan_parse(ok, strlen(ok), "run.plan", &p, &err), LP_OK);
  assert_int_equal(lp_plan_run(p, t, &o, &res, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "both arms 'drug' and 'placebo'"));
  lp_plan_free(p);
  lp_table_free(t);
}

/* Baseline summary "n": the patients of each arm with a value (as the paper's "No. of
 * patients" receiving a drug), counted here from the table itself. */
static void test_summary_n(void **state) {
  (void)state;
  const char *text =
      "id,table,label,kind,outcome,summary,digits\n"
      "svt_n,table1,Patients with a value,baseline,ae_svt,n,0\n";
  lp_plan *plan;
  lp_error err;
  if (lp_plan_parse(text, strlen(text), "n.plan", &plan, &err)) fail_msg("%s", err.message);
  lp_table *t = data_load("trialdata");
  size_t ca, cv;
  assert_int_equal(lp_table_column(t, "arm", &ca, &err), LP_OK);
  assert_int_equal(lp_table_column(t, "ae_svt", &cv, &err), LP_OK);
  long want[2] = {0, 0};
  for (size_t i = 0; i < lp_table_nrows(t); i++) {
    const char *v = lp_table_cell(t, i, cv);
    if (v && *v) want[strcmp(lp_table_cell(t, i, ca), "levosimendan") == 0 ? 0 : 1]++;
  }
  assert_true(want[0] > 0 && want[1] > 0 && want[0] + want[1] < (long)lp_table_nrows(t));
  lp_plan_options o;
  lp_plan_options_default(&o);
  lp_results res;
  if (lp_plan_run(plan, t, &o, &res, &err)) fail_msg("%s", err.message);
  const lp_result *r = row(&res, "svt_n");
  for (int k = 0; k < 2; k++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", want[k]);
    assert_string_equal(r->arm_text[k], buf);
    assert_int_equal(r->arm_n[k], want[k]);
  }
  lp_results_clear(&res);
  lp_plan_free(plan);
  lp_table_free(t);
}

/* A difference that rounds to zero is written "0.00", never "-0.00"; the plan's
 * subsection and note reach the result. */
static void test_unsigned_zero(void **state) {
  (void)state;
  const char *text =
      "id,table,section,label,kind,outcome,ci,test,digits,subsection,note\n"
      "x,table3,Secondary outcomes,Tiny,mean,y,bootstrap,mann-whitney,2,Group,Among everyone.\n";
  lp_strbuf csv = {0};
  lp_strbuf_puts(&csv, "patient,site,arm,y\n");
  for (int i = 0; i < 40; i++)
    lp_strbuf_printf(&csv, "P%02d,s1,%s,%.4f\n", i, i % 2 ? "placebo" : "levosimendan", (i / 2) + (i % 2 ? 0.001 : 0));
  lp_plan *plan;
  lp_table *t;
  lp_error err;
  if (lp_plan_parse(text, strlen(text), "z.plan", &plan, &err)) fail_msg("%s", err.message);
  if (lp_table_parse_csv(csv.p, csv.len, "z.csv", &t, &err)) fail_msg("%s", err.message);
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 200;
  o.arms[0] = "levosimendan";
  o.arms[1] = "placebo";
  lp_results res;
  if (lp_plan_run(plan, t, &o, &res, &err)) fail_msg("%s", err.message);
  const lp_result *r = row(&res, "x");
  assert_true(r->estimate < 0 && r->estimate > -0.005);
  if (strncmp(r->effect_text, "0.00 (", 6)) fail_msg("effect text '%s'", r->effect_text);
  assert_string_equal(r->subsection, "Group");
  assert_string_equal(r->note, "Among everyone.");
  lp_results_clear(&res);
  lp_plan_free(plan);
  lp_table_free(t);
  lp_strbuf_clear(&csv);
}

/* Errors in the built-in plan name it and the row, not a file the user lacks. */
static void test_builtin_plan_error(void **state) {
  (void)state;
  lp_plan *plan;
  lp_error err;
  if (lp_plan_leopards(&plan, &err)) fail_msg("%s", err.message);
  lp_table *t = data_load("trialdata"); /* lacks most of the plan's columns */
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 100;
  lp_results res;
  assert_int_equal(lp_plan_run(plan, t, &o, &res, &err), LP_ENOTFOUND);
  if (strncmp(err.message, "the built-in LeoPARDS plan, row t1_", 35)) fail_msg("message '%s'", err.message);
  assert_non_null(strstr(err.message, "column 'outcome'"));
  assert_null(strstr(err.message, "leopards.csv"));
  assert_string_equal(err.field, "outcome");
  lp_plan_free(plan);
  lp_table_free(t);
}

/* Rows the data cannot support are not estimable, with the reason; the rest of the
 * plan runs: an arm with no one in the population, no events, a constant outcome. */
static void test_not_estimable(void **state) {
  (void)state;
  const char *text =
      "id,table,section,label,kind,outcome,population,ci,test,digits\n"
      "ok,table3,,Fine,mean,y,,bootstrap,mann-whitney,2\n"
      "empty,table3,,Empty arm,median,y,only_a,bootstrap,mann-whitney,1\n"
      "none,table3,,No events,binary,never,,wald,chisq-yates,1\n"
      "flat,table3,,Constant,mean,flat,,bootstrap,mann-whitney,2\n"
      "after,table3,,After,binary,ev,,wald,chisq-yates,1\n";
  lp_strbuf csv = {0};
  lp_strbuf_puts(&csv, "patient,site,arm,y,only_a,never,flat,ev\n");
  for (int i = 0; i < 30; i++)
    lp_strbuf_printf(&csv, "P%02d,s1,%s,%d,%d,0,3,%d\n", i, i % 2 ? "placebo" : "levosimendan", i % 7, i % 2 ? 0 : 1,
                     i % 3 == 0);
  lp_plan *plan;
  lp_table *t;
  lp_error err;
  if (lp_plan_parse(text, strlen(text), "s.plan", &plan, &err)) fail_msg("%s", err.message);
  if (lp_table_parse_csv(csv.p, csv.len, "s.csv", &t, &err)) fail_msg("%s", err.message);
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 200;
  o.arms[0] = "levosimendan";
  o.arms[1] = "placebo";
  lp_results res;
  if (lp_plan_run(plan, t, &o, &res, &err)) fail_msg("%s", err.message);
  assert_int_equal(res.n, 5);
  assert_string_equal(row(&res, "ok")->not_estimable, "");
  assert_true(isfinite(row(&res, "ok")->estimate));
  assert_string_equal(row(&res, "after")->not_estimable, "");
  assert_true(isfinite(row(&res, "after")->p));
  const char *ids[3] = {"empty", "none", "flat"}, *why[3] = {"fewer than two patients", "no events", "same value"};
  for (int k = 0; k < 3; k++) {
    const lp_result *r = row(&res, ids[k]);
    if (!strstr(r->not_estimable, why[k])) fail_msg("%s: reason '%s'", ids[k], r->not_estimable);
    assert_null(strstr(r->not_estimable, "s.plan"));
    assert_true(isnan(r->estimate) && isnan(r->p));
    assert_string_equal(r->effect_text, "");
  }
  lp_results_clear(&res);
  lp_plan_free(plan);
  lp_table_free(t);
  lp_strbuf_clear(&csv);
}

static void test_format_p(void **state) {
  char b[16];
  const double p[] = {0.995, 0.43, 0.053, 0.0449, 0.0451, 0.05, 0.01, 0.0099, 0.001, 0.00099, NAN};
  const char *want[] = {">0.99", "0.43", "0.053", "0.04", "0.045", "0.05", "0.01", "0.010", "0.001", "<0.001", ""};
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
    lp_format_p(p[i], b, sizeof b);
    assert_string_equal(b, want[i]);
  }
  assert_string_equal(lp_analysis_kind_name(LP_AN_COX), "cox");
  assert_string_equal(lp_analysis_kind_name((lp_analysis_kind)99), "unknown");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_vs_r),           cmocka_unit_test(test_leopards_plan),
      cmocka_unit_test(test_plan_errors),        cmocka_unit_test(test_format_p),
      cmocka_unit_test(test_summary_n),          cmocka_unit_test(test_unsigned_zero),
      cmocka_unit_test(test_builtin_plan_error), cmocka_unit_test(test_not_estimable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
