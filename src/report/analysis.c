/* The analysis of a locked trial, end to end. lp_analysis_run exports the trial with
 * its key, derives the analysis data set and runs the plan, all in memory (the export
 * aside); lp_analysis_write renders the results into a folder; lp_analyze does both
 * into a staging folder that replaces the output folder only when everything succeeded. */
#include <leopards/derive.h>
#include <leopards/outdir.h>
#include <leopards/report.h>
#include <leopards/trial.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report/fsutil.h"

void lp_analysis_options_default(lp_analysis_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = 20160927;
  o->bootstrap = 100000;
  o->permutations = 10000;
  o->imputations = 20;
  o->level = 0.95;
  o->horizon = 28;
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

void lp_analysis_results_clear(lp_analysis_results *r) {
  if (!r) return;
  lp_results_clear(&r->results);
  lp_derived_clear(&r->derived);
  memset(r, 0, sizeof *r);
}

/* A temporary export folder: its files are the export's own (one level, no subfolders);
 * it is removed file by file, then itself. */
static void remove_export(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[4400];
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
      }
    closedir(d);
  }
  rmdir(dir);
}

static void primary_summary(const lp_results *res, lp_analysis_summary *sum) {
  /* The primary result is the plan row marked primary; without one there is none. */
  const lp_result *primary = lp_results_find_role(res, LP_PLAN_ROLE_PRIMARY);
  sum->primary_estimate = sum->primary_ci[0] = sum->primary_ci[1] = sum->primary_p = NAN;
  if (primary && isfinite(primary->estimate)) {
    sum->has_primary = true;
    snprintf(sum->primary_id, sizeof sum->primary_id, "%s", primary->id);
    snprintf(sum->primary_label, sizeof sum->primary_label, "%s", primary->label);
    sum->primary_estimate = primary->estimate;
    sum->primary_ci[0] = primary->ci[0];
    sum->primary_ci[1] = primary->ci[1];
    sum->primary_p = primary->p;
  }
}

static void titles(lp_trial *t, const char *db_name, const lp_analysis_options *o, lp_analysis_results *out) {
  const lp_derived *dv = &out->derived;
  if (o->title) snprintf(out->title, sizeof out->title, "%s", o->title);
  else
    snprintf(out->title, sizeof out->title, "%s: analysis of %s",
             lp_trial_is_simulated(t) ? "Simulated trial" : "Trial", db_name ? db_name : "the trial");
  snprintf(out->subtitle, sizeof out->subtitle,
           "%ld patients analysed (%ld excluded after withdrawal of consent); primary outcome with missing daily "
           "components filled by the '%s' rule (%zu of %zu component-days); %zu imputations for the sensitivity "
           "analysis; kidney outcomes staged against the %s reference creatinine.%s",
           dv->patients, dv->withdrawn, lp_missing_rule_name((lp_missing_rule)o->missing_rule), dv->filled,
           dv->component_days, o->imputations, lp_kidney_reference_name((lp_kidney_reference)o->kidney_reference),
           lp_trial_is_simulated(t) ? " SIMULATED DATA: not a real trial." : "");
  for (int a = 0; a < 2; a++) capitalise(out->arm_labels[a], sizeof out->arm_labels[a], dv->arms[a]);
}

lp_status lp_analysis_run(lp_trial *t, const lp_trial_key *k, const char *db_name, const lp_analysis_options *o,
                          lp_analysis_results *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  lp_plan *plan = NULL;
  lp_table *data = NULL;
  char tmp[4096] = "";
  const char *exp = o->export_dir;
  lp_status st;
  lp_analysis_summary *sum = &out->summary;
  const lp_derived *dv = &out->derived;
  double t0 = 0, t1 = 0;
  progress(o, "checking the plan, the trial and the key", 0);
  if (o->plan) st = lp_plan_load(o->plan, &plan, err);
  else
    st = lp_plan_leopards(&plan, err);
  if (st) goto done;
  if (!lp_trial_is_locked(t)) {
    st = lp_error_set(err, LP_ESTATE, "%s is not locked: the analysis runs on a locked database",
                      db_name ? db_name : "the trial");
    goto done;
  }
  if (!k) {
    st = lp_error_set(err, LP_EINVAL, "the analysis needs the trial's key to read the arms");
    goto done;
  }
  if (!exp) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/leopards-export-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
      tmp[0] = '\0';
      st = lp_error_set(err, LP_EIO, "cannot make a temporary folder for the export");
      goto done;
    }
    exp = tmp;
  } else
    snprintf(out->export_dir, sizeof out->export_dir, "%s", exp);
  progress(o, "exporting the locked trial", 0.05);
  t0 = now_s();
  if ((st = lp_trial_export(t, exp, k, err))) goto done;
  progress(o, "deriving the outcomes", 0.1);
  lp_derive_options dopt;
  lp_derive_options_default(&dopt);
  dopt.rule = (lp_missing_rule)o->missing_rule;
  dopt.kidney_reference = (lp_kidney_reference)o->kidney_reference;
  dopt.imputations = o->imputations;
  dopt.seed = o->seed;
  dopt.threads = o->threads;
  dopt.plan = plan; /* the subgroups' level labels */
  dopt.level = o->level;
  dopt.horizon = o->horizon;
  if ((st = lp_derive(exp, &dopt, &out->derived, err))) goto done;
  if ((st = lp_table_parse_csv(dv->csv, dv->csv_len, "analysis.csv", &data, err))) goto done;
  sum->patients = dv->patients;
  sum->withdrawn = dv->withdrawn;
  t1 = now_s();
  sum->seconds_derive = t1 - t0;
  progress(o, "running the analysis plan", 0.2);
  lp_plan_options po;
  lp_plan_options_default(&po);
  po.seed = o->seed;
  po.bootstrap = o->bootstrap;
  po.permutations = o->permutations;
  po.threads = o->threads;
  po.level = o->level;
  po.arms[0] = dv->arms[0];
  po.arms[1] = dv->arms[1];
  if ((st = lp_plan_run(plan, data, &po, &out->results, err))) goto done;
  sum->seconds_plan = now_s() - t1;
  primary_summary(&out->results, sum);
  titles(t, db_name, o, out);
done:
  if (tmp[0]) remove_export(tmp);
  lp_table_free(data);
  lp_plan_free(plan);
  if (st) lp_analysis_results_clear(out);
  return st;
}

lp_status lp_analysis_write(const lp_analysis_results *r, const char *dir, unsigned outputs, lp_error *err) {
  const lp_derived *dv = &r->derived;
  lp_status st = LP_OK;
  if (outputs & LP_OUTPUT_REPORT) {
    /* Figure inputs from the derived flow and daily course. */
    const lp_flow *f = &dv->flow;
    lp_consort_item reasons[24], notrec[2][LP_FLOW_MAX_NOT_RECEIVED], excl[2][4];
    for (size_t i = 0; i < f->nreasons; i++) reasons[i] = (lp_consort_item){f->reasons[i].text, f->reasons[i].count};
    lp_consort_figure consort = {f->assessed, f->excluded, f->nreasons, reasons, f->randomised, {{0}, {0}}};
    for (int a = 0; a < 2; a++) {
      for (size_t i = 0; i < f->arm[a].nnot; i++)
        notrec[a][i] = (lp_consort_item){f->arm[a].not_received[i].text, f->arm[a].not_received[i].count};
      for (size_t i = 0; i < f->arm[a].nexcluded; i++)
        excl[a][i] = (lp_consort_item){f->arm[a].excluded[i].text, f->arm[a].excluded[i].count};
      consort.arm[a] =
          (lp_consort_arm){f->arm[a].name,      f->arm[a].assigned, f->arm[a].received,   f->arm[a].nnot,
                           notrec[a],           f->arm[a].analysed, f->arm[a].nexcluded,  excl[a],
                           f->arm[a].withdrawn, f->arm[a].lost,     f->arm[a].as_treated, f->arm[a].open_label};
    }
    enum { DAYS = 14 };
    int days = dv->course.days < DAYS ? dv->course.days : DAYS;
    double x[DAYS], y[2][DAYS], lo[2][DAYS], hi[2][DAYS];
    for (int d = 0; d < days; d++) {
      x[d] = d + 1;
      for (int a = 0; a < 2; a++) {
        y[a][d] = dv->course.mean[a][d];
        lo[a][d] = dv->course.lo[a][d];
        hi[a][d] = dv->course.hi[a][d];
      }
    }
    lp_fig_series ser[2] = {{r->arm_labels[0], (size_t)days, x, y[0], lo[0], hi[0], 0, NULL},
                            {r->arm_labels[1], (size_t)days, x, y[1], lo[1], hi[1], 0, NULL}};
    lp_line_figure daily = {"Daily SOFA Score (Five Systems) in the ICU",
                            "Day after randomization",
                            "Mean SOFA score (95% CI)",
                            0.5,
                            days + 0.5,
                            1,
                            0,
                            NAN,
                            2,
                            ser};
    bool data = outputs & LP_OUTPUT_DATA;
    lp_report_input in = {r->title,
                          r->subtitle,
                          &r->results,
                          &consort,
                          &daily,
                          {r->arm_labels[0], r->arm_labels[1]},
                          data ? dv->csv : NULL,
                          dv->csv_len,
                          data ? dv->tte_csv : NULL,
                          dv->tte_len};
    if ((st = lp_report_write_into(&in, dir, err))) return st;
  } else if (outputs & LP_OUTPUT_DATA) {
    char path[4200];
    snprintf(path, sizeof path, "%s/analysis.csv", dir);
    if ((st = lp__write_file(path, dv->csv, dv->csv_len, err))) return st;
    snprintf(path, sizeof path, "%s/time_to_event.csv", dir);
    if ((st = lp__write_file(path, dv->tte_csv, dv->tte_len, err))) return st;
  }
  if (outputs & LP_OUTPUT_DATA) {
    char path[4200];
    snprintf(path, sizeof path, "%s/analysis_dictionary.csv", dir);
    st = lp__write_file(path, dv->dictionary_csv, dv->dictionary_len, err);
  }
  return st;
}

lp_status lp_analyze(const char *db, const char *keypath, const char *outdir, const lp_analysis_options *o,
                     lp_analysis_summary *sum, lp_error *err) {
  memset(sum, 0, sizeof *sum);
  sum->primary_estimate = sum->primary_ci[0] = sum->primary_ci[1] = sum->primary_p = NAN;
  lp_plan *plan = NULL;
  lp_trial *t = NULL;
  lp_trial_key *k = NULL;
  lp_analysis_results res = {0};
  lp_outdir *od = NULL;
  char exp[4200];
  const char *work = NULL;
  lp_analysis_options ro = *o;
  double t2 = 0;
  lp_status st;
  /* Everything that can be refused is checked before anything is written; the report
   * is made in a new folder beside its place and swapped in whole (leopards/outdir.h). */
  progress(o, "checking the plan, the trial and the key", 0);
  if (o->plan) st = lp_plan_load(o->plan, &plan, err);
  else
    st = lp_plan_leopards(&plan, err);
  if (st) goto done;
  if ((st = lp_trial_open_readonly(db, &t, err))) goto done;
  if (!lp_trial_is_locked(t)) {
    st = lp_error_set(err, LP_ESTATE, "%s is not locked: the analysis runs on a locked database", db);
    goto done;
  }
  if (!keypath) {
    st = lp_error_set(err, LP_EINVAL, "the analysis needs the trial's key file to read the arms");
    goto done;
  }
  if ((st = lp_key_load(t, keypath, &k, err))) goto done;
  if ((st = lp_outdir_begin(outdir, "analysis", &od, err))) goto done;
  work = lp_outdir_path(od);
  snprintf(exp, sizeof exp, "%s/data", work);
  ro.export_dir = exp;
  if ((st = lp_analysis_run(t, k, db, &ro, &res, err))) goto done;
  *sum = res.summary;
  progress(o, "writing the report", 0.8);
  t2 = now_s();
  if ((st = lp_analysis_write(&res, work, LP_OUTPUT_ALL, err))) goto done;
  sum->seconds_report = now_s() - t2;
  progress(o, "finishing", 0.98);
  st = lp_outdir_commit(od, err);
  od = NULL;
  progress(o, "done", 1);
done:
  lp_outdir_abort(od);
  lp_analysis_results_clear(&res);
  lp_key_free(k);
  lp_trial_close(t);
  lp_plan_free(plan);
  return st;
}
