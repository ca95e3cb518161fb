/* The analysis of a locked trial, end to end: export with the key, derive the
 * analysis data set, run the plan, write the report, all into a staging folder
 * that replaces the output folder only when everything succeeded. */
#include <leopards/derive.h>
#include <leopards/report.h>
#include <leopards/trial.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/fsutil.h"

void lp_analysis_options_default(lp_analysis_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = 20160927;
  o->bootstrap = 100000;
  o->permutations = 10000;
  o->imputations = 20;
  o->missing_rule = LP_MISSING_LOCF;
  o->kidney_reference = LP_KIDNEY_REF_ESTIMATED;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void progress(const lp_analysis_options *o, const char *stage, double f) {
  if (o->progress) o->progress(o->progress_ctx, stage, f);
}

static void capitalise(char *dst, size_t n, const char *s) {
  snprintf(dst, n, "%s", s);
  if (dst[0] >= 'a' && dst[0] <= 'z') dst[0] = (char)(dst[0] - 'a' + 'A');
}

lp_status lp_analyze(const char *db, const char *keypath, const char *outdir, const lp_analysis_options *o,
                     lp_analysis_summary *sum, lp_error *err) {
  memset(sum, 0, sizeof *sum);
  lp_plan *plan = NULL;
  lp_trial *t = NULL;
  lp_trial_key *k = NULL;
  lp_derived dv = {0};
  lp_results res = {0};
  lp_table *data = NULL;
  char work[4096] = "", exp[4200];
  lp_status st;
  /* Everything that can be refused is checked before anything is written. */
  progress(o, "checking the plan, the trial and the key", 0);
  if (o->plan) st = lp_plan_load(o->plan, &plan, err);
  else st = lp_plan_leopards(&plan, err);
  if (st) goto done;
  if ((st = lp_trial_open(db, &t, err))) goto done;
  if (!lp_trial_is_locked(t)) {
    st = lp_error_set(err, LP_ESTATE, "%s is not locked: the analysis runs on a locked database "
                      "(leopards lock --db %s --user STATISTICIAN)", db, db);
    goto done;
  }
  if (!keypath) {
    st = lp_error_set(err, LP_EINVAL, "the analysis needs the trial's key file (--key) to read the arms");
    goto done;
  }
  if ((st = lp_key_load(t, keypath, &k, err))) goto done;
  if ((st = lp__make_staging_dir(outdir, work, sizeof work, err))) {
    work[0] = '\0';
    goto done;
  }
  progress(o, "exporting the locked trial", 0.05);
  double t0 = now_s();
  snprintf(exp, sizeof exp, "%s/data", work);
  if ((st = lp_trial_export(t, exp, k, err))) goto done;
  progress(o, "deriving the outcomes", 0.1);
  lp_derive_options dopt;
  lp_derive_options_default(&dopt);
  dopt.rule = (lp_missing_rule)o->missing_rule;
  dopt.kidney_reference = (lp_kidney_reference)o->kidney_reference;
  dopt.imputations = o->imputations;
  dopt.seed = o->seed;
  if ((st = lp_derive(exp, &dopt, &dv, err))) goto done;
  if ((st = lp_table_parse_csv(dv.csv, dv.csv_len, "analysis.csv", &data, err))) goto done;
  sum->patients = dv.patients;
  sum->withdrawn = dv.withdrawn;
  double t1 = now_s();
  sum->seconds_derive = t1 - t0;
  progress(o, "running the analysis plan", 0.2);
  lp_plan_options po;
  lp_plan_options_default(&po);
  po.seed = o->seed;
  po.bootstrap = o->bootstrap;
  po.permutations = o->permutations;
  po.threads = o->threads;
  po.arms[0] = dv.arms[0];
  po.arms[1] = dv.arms[1];
  if ((st = lp_plan_run(plan, data, &po, &res, err))) goto done;
  double t2 = now_s();
  sum->seconds_plan = t2 - t1;
  for (size_t i = 0; i < res.n; i++)
    if (!strcmp(res.rows[i].id, "t3_sofa")) {
      sum->primary_estimate = res.rows[i].estimate;
      sum->primary_ci[0] = res.rows[i].ci[0];
      sum->primary_ci[1] = res.rows[i].ci[1];
      sum->primary_p = res.rows[i].p;
    }
  progress(o, "writing the report", 0.8);
  /* Figure inputs from the derived flow and daily course. */
  const lp_flow *f = &dv.flow;
  lp_consort_item reasons[24], notrec[2][6], excl[2][4];
  for (size_t i = 0; i < f->nreasons; i++) reasons[i] = (lp_consort_item){f->reasons[i].text, f->reasons[i].count};
  lp_consort_figure consort = {f->assessed, f->excluded, f->nreasons, reasons, f->randomised, {{0}, {0}}};
  for (int a = 0; a < 2; a++) {
    for (size_t i = 0; i < f->arm[a].nnot; i++)
      notrec[a][i] = (lp_consort_item){f->arm[a].not_received[i].text, f->arm[a].not_received[i].count};
    for (size_t i = 0; i < f->arm[a].nexcluded; i++)
      excl[a][i] = (lp_consort_item){f->arm[a].excluded[i].text, f->arm[a].excluded[i].count};
    consort.arm[a] = (lp_consort_arm){f->arm[a].name,     f->arm[a].assigned, f->arm[a].received,
                                      f->arm[a].nnot,     notrec[a],          f->arm[a].analysed,
                                      f->arm[a].nexcluded, excl[a],           f->arm[a].withdrawn,
                                      f->arm[a].lost,     f->arm[a].as_treated};
  }
  enum { DAYS = 14 };
  double x[DAYS], y[2][DAYS], lo[2][DAYS], hi[2][DAYS];
  char label[2][64];
  for (int a = 0; a < 2; a++) capitalise(label[a], sizeof label[a], dv.arms[a]);
  for (int d = 0; d < DAYS; d++) {
    x[d] = d + 1;
    for (int a = 0; a < 2; a++) {
      y[a][d] = dv.course.mean[a][d];
      lo[a][d] = dv.course.lo[a][d];
      hi[a][d] = dv.course.hi[a][d];
    }
  }
  lp_fig_series ser[2] = {{label[0], DAYS, x, y[0], lo[0], hi[0], 0, NULL}, {label[1], DAYS, x, y[1], lo[1], hi[1], 0, NULL}};
  lp_line_figure daily = {"Daily SOFA Score (Five Systems) in the ICU", "Day after randomization",
                          "Mean SOFA score (95% CI)", 0.5, DAYS + 0.5, 1, 0, NAN, 2, ser};
  char title[256], subtitle[512];
  if (o->title) snprintf(title, sizeof title, "%s", o->title);
  else snprintf(title, sizeof title, "%s: analysis of %s", lp_trial_is_simulated(t) ? "Simulated trial" : "Trial", db);
  snprintf(subtitle, sizeof subtitle,
           "%ld patients analysed (%ld excluded after withdrawal of consent); primary outcome with missing daily "
           "components filled by the '%s' rule (%zu of %zu component-days); %zu imputations for the sensitivity "
           "analysis; kidney outcomes staged against the %s reference creatinine.%s",
           dv.patients, dv.withdrawn, lp_missing_rule_name((lp_missing_rule)o->missing_rule), dv.filled,
           dv.component_days, o->imputations, lp_kidney_reference_name((lp_kidney_reference)o->kidney_reference),
           lp_trial_is_simulated(t) ? " SIMULATED DATA: not a real trial." : "");
  lp_report_input in = {title,   subtitle,   &res,        &consort,   &daily, {label[0], label[1]},
                        dv.csv,  dv.csv_len, dv.tte_csv, dv.tte_len};
  if ((st = lp_report_write_into(&in, work, err))) goto done;
  sum->seconds_report = now_s() - t2;
  progress(o, "finishing", 0.98);
  st = lp__replace_dir(work, outdir, err);
  if (!st) work[0] = '\0';
  progress(o, "done", 1);
done:
  if (work[0]) lp__remove_tree(work);
  lp_table_free(data);
  lp_results_clear(&res);
  lp_derived_clear(&dv);
  lp_key_free(k);
  lp_trial_close(t);
  lp_plan_free(plan);
  return st;
}
