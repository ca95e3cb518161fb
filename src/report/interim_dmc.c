/* The closed report for the data monitoring committee: the trial's export with the
 * arms (audited as a disclosure, from one snapshot, also before lock), the data set
 * derived and the plan run as for the final analysis, and by arm, safety first
 * (serious adverse events by category, deaths), then the primary outcome so far with
 * its interval. Arms are named, or coded A and B (the store's arm codes). */
#include <leopards/derive.h>
#include <leopards/outdir.h>
#include <leopards/report.h>
#include <leopards/trial.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/interim_doc.h"

#define BANNER "CONFIDENTIAL: closed report"

/* Deaths: the derived data set's death columns (docs/outcomes.md), whichever plan rows
 * analyse them. */
static const char *const death_columns[] = {"death28", "death_icu", "death_hospital"};

typedef struct {
  lp_derived dv;
  lp_results res;
  char arm[2][64]; /* as shown */
  bool coded;
} closed;

static bool is_death(const lp_result *x) {
  if (x->kind != LP_AN_BINARY && x->kind != LP_AN_COUNT) return false;
  for (size_t i = 0; i < sizeof death_columns / sizeof death_columns[0]; i++)
    if (!strcmp(x->outcome, death_columns[i])) return true;
  return false;
}

static void estimate_cells(lp__grid *g, const lp_result *x, char *why, size_t nwhy) {
  if (x->not_estimable[0]) {
    lp__grid_add(g, "—");
    lp__grid_add(g, "—");
    if (why && !why[0]) snprintf(why, nwhy, "A dash: not estimable (%s: %s).", x->label, x->not_estimable);
    return;
  }
  lp__grid_add(g, "%s", x->effect_text[0] ? x->effect_text : "—");
  lp__grid_add(g, "%s", x->p_text[0] ? x->p_text : "—");
}

static void arm_heads(lp__grid *g, const closed *c, const char *first, const char *effect) {
  lp__grid_add(g, "%s", first);
  for (int a = 0; a < 2; a++)
    lp__grid_add(g, "%s%s (N\u00a0=\u00a0%ld)", c->coded ? "Arm " : "", c->arm[a], c->res.arm_n[a]);
  lp__grid_add(g, "%s", effect);
  lp__grid_add(g, "P value");
}

static lp_status patients_by_arm(lp__doc *d, const closed *c, lp_error *err) {
  const lp_flow *f = &c->dv.flow;
  lp__doc_heading(d, "patients", "Patients by arm");
  lp__grid g;
  lp__grid_init(&g, 6);
  const char *head[6] = {"Arm",     "Randomised", "Received the drug", "Withdrew consent", "Vital status not known",
                         "Analysed"};
  for (int k = 0; k < 6; k++) lp__grid_add(&g, "%s", head[k]);
  for (int a = 0; a < 2; a++) {
    lp__grid_add(&g, "%s%s", c->coded ? "Arm " : "", c->arm[a]);
    lp__grid_add(&g, "%ld", f->arm[a].assigned);
    lp__grid_add(&g, "%ld", f->arm[a].received);
    lp__grid_add(&g, "%ld", f->arm[a].withdrawn);
    lp__grid_add(&g, "%ld", f->arm[a].lost);
    lp__grid_add(&g, "%ld", f->arm[a].analysed);
  }
  lp_status st = lp__doc_table(d, "patients", &g, NULL, err);
  lp__grid_clear(&g);
  return st;
}

static lp_status safety(lp__doc *d, const closed *c, lp_error *err) {
  const lp_results *r = &c->res;
  lp__doc_heading(d, "safety", "Safety: serious adverse events by category");
  lp__grid g;
  lp__grid_init(&g, 5);
  arm_heads(&g, c, "Serious adverse event — no. of patients (%)", "Difference, percentage points (95% CI)");
  char why[400] = "";
  size_t rows = 0;
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (x->kind != LP_AN_COUNT || is_death(x)) continue;
    lp__grid_add(&g, "%s", x->label);
    for (int a = 0; a < 2; a++) lp__grid_add(&g, "%s", x->arm_text[a][0] ? x->arm_text[a] : "—");
    estimate_cells(&g, x, why, sizeof why);
    rows++;
  }
  char note[600];
  snprintf(note, sizeof note,
           "%sThe plan's safety rows (patients with at least one event of the category among all "
           "randomised patients in the analysis); intervals and tests as the plan defines them. %s",
           rows ? "" : "The plan has no safety rows. ", why);
  lp_status st = lp__doc_table(d, "safety", &g, note, err);
  lp__grid_clear(&g);
  if (st) return st;
  lp__doc_heading(d, "deaths", "Safety: deaths");
  lp__grid_init(&g, 5);
  arm_heads(&g, c, "Death — no./total no. (%)", "Difference, percentage points (95% CI)");
  why[0] = '\0';
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (!is_death(x)) continue;
    lp__grid_add(&g, "%s", x->label);
    for (int a = 0; a < 2; a++) lp__grid_add(&g, "%s", x->arm_text[a][0] ? x->arm_text[a] : "—");
    estimate_cells(&g, x, why, sizeof why);
  }
  const lp_result *hr = lp_results_find_role(r, LP_PLAN_ROLE_SURVIVAL_FIGURE);
  if (hr) {
    lp__grid_add(&g, "%s", hr->label);
    lp__grid_add(&g, "—");
    lp__grid_add(&g, "—");
    estimate_cells(&g, hr, why, sizeof why);
  }
  snprintf(note, sizeof note,
           "Deaths among the patients randomised so far; those randomised less than 28 days ago "
           "have not completed follow-up. %s",
           why);
  st = lp__doc_table(d, "deaths", &g, note, err);
  lp__grid_clear(&g);
  return st;
}

static lp_status primary(lp__doc *d, const closed *c, lp_interim_summary *sum, lp_error *err) {
  const lp_result *x = lp_results_find_role(&c->res, LP_PLAN_ROLE_PRIMARY);
  lp__doc_heading(d, "primary", "Primary outcome so far");
  if (!x) {
    lp__doc_para(d, "The plan marks no row as the primary outcome.");
    return LP_OK;
  }
  lp__grid g;
  lp__grid_init(&g, 5);
  arm_heads(&g, c, "Outcome", "Difference (95% CI)");
  char why[400] = "";
  lp__grid_add(&g, "%s", x->label);
  for (int a = 0; a < 2; a++) lp__grid_add(&g, "%s", x->arm_text[a][0] ? x->arm_text[a] : "—");
  estimate_cells(&g, x, why, sizeof why);
  char note[900];
  snprintf(note, sizeof note, "%s%sthe difference is %s minus %s. %s", x->method, x->method[0] ? "; " : "", c->arm[0],
           c->arm[1], why);
  lp_status st = lp__doc_table(d, "primary", &g, note, err);
  lp__grid_clear(&g);
  if (!st && isfinite(x->estimate)) {
    sum->has_primary = true;
    sum->primary_estimate = x->estimate;
    sum->primary_ci[0] = x->ci[0];
    sum->primary_ci[1] = x->ci[1];
  }
  return st;
}

static lp_status sofa_by_arm(lp__doc *d, const closed *c, lp_error *err) {
  enum { DAYS = 14 };
  const lp_daily_course *k = &c->dv.course;
  int days = k->days < DAYS ? k->days : DAYS;
  if (days <= 0) return LP_OK;
  double x[DAYS], y[2][DAYS], lo[2][DAYS], hi[2][DAYS];
  for (int i = 0; i < days; i++) {
    x[i] = i + 1;
    for (int a = 0; a < 2; a++) y[a][i] = k->mean[a][i], lo[a][i] = k->lo[a][i], hi[a][i] = k->hi[a][i];
  }
  char lab[2][80];
  for (int a = 0; a < 2; a++) snprintf(lab[a], sizeof lab[a], "%s%s", c->coded ? "Arm " : "", c->arm[a]);
  lp_fig_series ser[2] = {{lab[0], (size_t)days, x, y[0], lo[0], hi[0], 0, NULL},
                          {lab[1], (size_t)days, x, y[1], lo[1], hi[1], 0, NULL}};
  lp_line_figure fig = {BANNER ": Daily SOFA Score by Arm",
                        "Day after randomization",
                        "Mean SOFA score (95% CI)",
                        0.5,
                        days + 0.5,
                        1,
                        0,
                        NAN,
                        2,
                        ser};
  return lp__doc_figure(d, "figure_sofa", (lp__figure_fn)lp_figure_lines, &fig,
                        BANNER
                        ". Daily total SOFA score (five systems) by arm: mean and 95% CI among the patients in "
                        "the ICU that day.",
                        err);
}

static lp_status closed_write(const char *dir, const char *db, closed *c, const lp_interim_options *o,
                              lp_interim_summary *sum, lp_error *err) {
  lp__doc d;
  char title[512], sub[700];
  const char *bn = strrchr(db, '/');
  snprintf(title, sizeof title, BANNER " for the data monitoring committee: %s", bn ? bn + 1 : db);
  snprintf(sub, sizeof sub,
           "By arm%s: %ld patients in the analysis (%ld and %ld), %ld withdrew consent. Safety first, then the "
           "primary outcome so far; seed %llu, %zu bootstrap resamples, %.0f%% intervals. Not for the trial's "
           "investigators or its management group.",
           c->coded ? " (coded A and B)" : "", c->dv.patients, c->res.arm_n[0], c->res.arm_n[1], c->dv.withdrawn,
           (unsigned long long)o->seed, o->bootstrap, 100 * o->level);
  lp_status st = lp__doc_begin(&d, dir, title, sub, BANNER, sum->generated_at, err);
  if (st) return st;
  if ((st = patients_by_arm(&d, c, err)) || (st = safety(&d, c, err)) || (st = primary(&d, c, sum, err)) ||
      (st = sofa_by_arm(&d, c, err))) {
    lp__doc_free(&d);
    return st;
  }
  return lp__doc_end(&d, err);
}

lp_status lp_report_dmc(const char *db, const char *key, const char *out, const lp_interim_options *o,
                        lp_interim_summary *sum, lp_error *err) {
  memset(sum, 0, sizeof *sum);
  sum->primary_estimate = sum->primary_ci[0] = sum->primary_ci[1] = NAN;
  lp__interim_generated(o, sum->generated_at, sizeof sum->generated_at);
  if (!key)
    return lp_error_set(err, LP_EINVAL, "the closed report needs the trial's key (the arms are sealed with it)");
  lp_trial *t = NULL;
  lp_trial_key *k = NULL;
  closed c = {0};
  char exp[4096] = "", akdef[4200];
  lp_outdir *od = NULL;
  const char *ak = o->audit_key;
  lp_status st;
  if ((st = lp_outdir_check(out, err)) || (st = lp_trial_open(db, &t, err))) goto done;
  if (!ak) {
    lp_audit_key_default_path(db, akdef, sizeof akdef);
    if (access(akdef, F_OK) == 0) ak = akdef;
  }
  if ((ak && (st = lp_trial_open_audit_key(t, ak, err))) || (st = lp_key_load(t, key, &k, err)) ||
      (st = lp__interim_temp_dir(exp, sizeof exp, err)) || (st = lp_trial_export_closed(t, exp, k, o->user, out, err)))
    goto done;
  lp_key_free(k);
  k = NULL;
  lp_trial_close(t);
  t = NULL;
  if ((st = lp__interim_analyse(exp, o, false, &c.dv, &c.res, err))) goto done;
  c.coded = o->coded;
  for (int a = 0; a < 2; a++) {
    if (c.coded) snprintf(c.arm[a], sizeof c.arm[a], "%c", 'A' + a);
    else
      snprintf(c.arm[a], sizeof c.arm[a], "%s", c.dv.arms[a]);
    if (!c.coded && c.arm[a][0] >= 'a' && c.arm[a][0] <= 'z') c.arm[a][0] = (char)(c.arm[a][0] - 'a' + 'A');
    sum->arm_n[a] = c.res.arm_n[a];
  }
  sum->randomised = c.dv.patients + c.dv.withdrawn;
  sum->analysed = c.dv.patients;
  if ((st = lp_outdir_begin(out, "closed report", &od, err)) ||
      (st = closed_write(lp_outdir_path(od), db, &c, o, sum, err)))
    goto done;
  st = lp_outdir_commit(od, err);
  od = NULL;
done:
  lp_outdir_abort(od);
  lp__interim_remove_temp(exp);
  lp_results_clear(&c.res);
  lp_derived_clear(&c.dv);
  lp_key_free(k);
  lp_trial_close(t);
  return st;
}
