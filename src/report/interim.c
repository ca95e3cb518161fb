/* Reports while the trial runs: the blinded report (recruitment by site and month,
 * completeness, baseline and outcomes pooled over both arms; no arm is read) and the
 * closed report for the data monitoring committee (by arm: safety first, then the
 * primary outcome so far). Both read the trial from one snapshot, derive the data set
 * from that export as the analysis does, run the plan, and write an output folder. */
#include <leopards/account.h>
#include <leopards/derive.h>
#include <leopards/outdir.h>
#include <leopards/report.h>
#include <leopards/trial.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report/fsutil.h"
#include "report/interim_doc.h"

/* The one group of the blinded report: every patient, whatever the arm. */
#define POOLED "all patients"

void lp_interim_options_default(lp_interim_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = 20160927;
  o->bootstrap = 10000;
  o->permutations = 100;
  o->imputations = 20;
  o->level = 0.95;
  o->horizon = 28;
  o->missing_rule = LP_MISSING_LOCF;
  o->kidney_reference = LP_KIDNEY_REF_ESTIMATED;
}

void lp__interim_generated(const lp_interim_options *o, char *buf, size_t n) {
  if (o->generated_at) {
    snprintf(buf, n, "%s", o->generated_at);
    return;
  }
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* ---- the temporary export ---- */

lp_status lp__interim_temp_dir(char *buf, size_t n, lp_error *err) {
  const char *base = getenv("TMPDIR");
  snprintf(buf, n, "%s/leopards-interim-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(buf)) {
    buf[0] = '\0';
    return lp_error_set(err, LP_EIO, "cannot make a temporary folder for the export");
  }
  return LP_OK;
}

/* The export is an output folder (its marker lists its files); the pooled allocations
 * the blinded report adds are removed first. */
void lp__interim_remove_temp(const char *dir) {
  if (!dir[0]) return;
  char path[4200];
  snprintf(path, sizeof path, "%s/allocations.csv", dir);
  unlink(path);
  if (lp_outdir_remove(dir, NULL)) rmdir(dir);
}

/* Every randomised patient in one group (arm A, label POOLED), so that the
 * derivation, which reads allocations.csv, runs on a blinded export. */
static lp_status pooled_allocations(const char *dir, lp_error *err) {
  char path[4200];
  lp_table *rnd = NULL, *sites = NULL;
  lp_strbuf b = {0};
  lp_status st;
  snprintf(path, sizeof path, "%s/randomisations.csv", dir);
  if ((st = lp_table_read_csv(path, &rnd, err))) return st;
  snprintf(path, sizeof path, "%s/sites.csv", dir);
  if ((st = lp_table_read_csv(path, &sites, err))) goto done;
  size_t cp, cs, cq, ck, sid, scode;
  if ((st = lp_table_column(rnd, "patient", &cp, err)) || (st = lp_table_column(rnd, "site_id", &cs, err)) ||
      (st = lp_table_column(rnd, "seq", &cq, err)) || (st = lp_table_column(rnd, "pack", &ck, err)) ||
      (st = lp_table_column(sites, "id", &sid, err)) || (st = lp_table_column(sites, "code", &scode, err)))
    goto done;
  lp_strbuf_puts(&b, "patient,site,sequence,pack,arm,arm_label\n");
  for (size_t i = 0; i < lp_table_nrows(rnd); i++) {
    const char *site = "", *s = lp_table_cell(rnd, i, cs);
    for (size_t j = 0; s && j < lp_table_nrows(sites); j++)
      if (lp_table_cell(sites, j, sid) && !strcmp(lp_table_cell(sites, j, sid), s))
        site = lp_table_cell(sites, j, scode);
    const char *q = lp_table_cell(rnd, i, cq), *k = lp_table_cell(rnd, i, ck);
    lp_strbuf_printf(&b, "\"%s\",\"%s\",%s,%s,\"A\",\"%s\"\n", lp_table_cell(rnd, i, cp), site ? site : "", q ? q : "",
                     k ? k : "", POOLED);
  }
  snprintf(path, sizeof path, "%s/allocations.csv", dir);
  st = b.nomem ? lp_error_set(err, LP_ENOMEM, "out of memory") : lp__write_file(path, b.p, b.len, err);
done:
  free(b.p);
  lp_table_free(rnd);
  lp_table_free(sites);
  return st;
}

/* The pooled data set: every row once as POOLED and once more as a second group,
 * since the plan describes each of two groups (the blinded report shows the first
 * only, which holds every patient; the second and any comparison are discarded). */
static lp_status doubled(const char *csv, size_t len, lp_table **out, lp_error *err) {
  lp_table *t = NULL;
  lp_strbuf b = {0};
  size_t arm;
  lp_status st = lp_table_parse_csv(csv, len, "analysis.csv", &t, err);
  if (st || (st = lp_table_column(t, "arm", &arm, err))) goto done;
  for (size_t c = 0; c < lp_table_ncols(t); c++) lp_strbuf_printf(&b, "%s%s", c ? "," : "", lp_table_colname(t, c));
  lp_strbuf_puts(&b, "\n");
  for (int copy = 0; copy < 2; copy++)
    for (size_t r = 0; r < lp_table_nrows(t); r++) {
      for (size_t c = 0; c < lp_table_ncols(t); c++) {
        const char *v = c == arm ? (copy ? "copy" : POOLED) : lp_table_cell(t, r, c);
        if (c) lp_strbuf_puts(&b, ",");
        if (!v) continue;
        lp_strbuf_puts(&b, "\"");
        for (const char *p = v; *p; p++) {
          if (*p == '"') lp_strbuf_puts(&b, "\"");
          lp_strbuf_put(&b, p, 1);
        }
        lp_strbuf_puts(&b, "\"");
      }
      lp_strbuf_puts(&b, "\n");
    }
  lp_table_free(t);
  t = NULL;
  st =
      b.nomem ? lp_error_set(err, LP_ENOMEM, "out of memory") : lp_table_parse_csv(b.p, b.len, "analysis.csv", &t, err);
done:
  free(b.p);
  if (st) lp_table_free(t), t = NULL;
  *out = t;
  return st;
}

/* Derive the data set from the export and run the plan on it. */
lp_status lp__interim_analyse(const char *exp, const lp_interim_options *o, bool pooled, lp_derived *dv,
                              lp_results *res, lp_error *err) {
  lp_plan *plan = NULL;
  lp_table *data = NULL;
  lp_status st = o->plan ? lp_plan_load(o->plan, &plan, err) : lp_plan_leopards(&plan, err);
  if (st) return st;
  lp_derive_options dopt;
  lp_derive_options_default(&dopt);
  dopt.rule = (lp_missing_rule)o->missing_rule;
  dopt.kidney_reference = (lp_kidney_reference)o->kidney_reference;
  dopt.imputations = o->imputations;
  dopt.seed = o->seed;
  dopt.level = o->level;
  dopt.horizon = o->horizon;
  dopt.plan = plan; /* the subgroups' level labels */
  if ((st = lp_derive(exp, &dopt, dv, err))) goto done;
  st = pooled ? doubled(dv->csv, dv->csv_len, &data, err)
              : lp_table_parse_csv(dv->csv, dv->csv_len, "analysis.csv", &data, err);
  if (st) goto done;
  lp_plan_options po;
  lp_plan_options_default(&po);
  po.seed = o->seed;
  po.bootstrap = o->bootstrap;
  po.permutations = o->permutations;
  po.threads = o->threads;
  po.level = o->level;
  po.arms[0] = pooled ? POOLED : dv->arms[0];
  po.arms[1] = pooled ? "copy" : dv->arms[1];
  if (pooled) po.bootstrap = 100, po.permutations = 100; /* nothing but the description is shown */
  st = lp_plan_run(plan, data, &po, res, err);
done:
  lp_table_free(data);
  lp_plan_free(plan);
  return st;
}

/* ---- the blinded report ---- */

typedef struct {
  lp_progress all;
  lp_progress *site; /* one per site, for the months */
  size_t nsites;
  bool have_data;
  lp_derived dv;
  lp_results res;
} blinded;

static void blinded_clear(blinded *b) {
  lp_progress_clear(&b->all);
  for (size_t i = 0; i < b->nsites; i++) lp_progress_clear(&b->site[i]);
  free(b->site);
  lp_results_clear(&b->res);
  lp_derived_clear(&b->dv);
}

/* Who may see the blinded report: anyone registered and active but an investigator. */
static lp_status blinded_user(lp_trial *t, const char *user, lp_error *err) {
  if (!user || !*user) return lp_error_set(err, LP_EINVAL, "no user given for the blinded report");
  lp_user_info u;
  lp_status st = lp_user_get(t, user, &u, err);
  if (st == LP_ENOTFOUND) return lp_error_set(err, LP_EDENIED, "user '%s' is not registered in this trial", user);
  if (st) return st;
  if (!u.active) return lp_error_set(err, LP_EDENIED, "user '%s' has been deactivated", user);
  if (u.role == LP_ROLE_INVESTIGATOR)
    return lp_error_set(err, LP_EDENIED,
                        "user '%s' is an investigator: the blinded report pools every site's patients and is for the "
                        "trial's managers, statisticians and monitors, not for a site",
                        user);
  return LP_OK;
}

/* One snapshot: the blinded export and the progress counts of every site. */
static lp_status blinded_read(lp_trial *t, const char *exp, const lp_interim_options *o, blinded *b, lp_error *err) {
  lp_status st = lp_trial_snapshot_begin(t, err);
  if (st) return st;
  if ((st = lp_trial_export(t, exp, NULL, err)) || (st = lp_trial_progress(t, NULL, o->as_of, &b->all, err))) goto done;
  b->site = calloc(b->all.nsites ? b->all.nsites : 1, sizeof *b->site);
  if (!b->site) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; !st && i < b->all.nsites; i++) {
    st = lp_trial_progress(t, b->all.sites[i].code, o->as_of, &b->site[i], err);
    if (!st) b->nsites++;
  }
done:
  lp_trial_snapshot_end(t);
  return st;
}

static long site_month(const blinded *b, size_t s, const char *month) {
  for (size_t m = 0; m < b->site[s].nmonths; m++)
    if (!strcmp(b->site[s].months[m].month, month)) return b->site[s].months[m].randomised;
  return 0;
}

static lp_status recruitment(lp__doc *d, const blinded *b, lp_error *err) {
  const lp_progress *p = &b->all;
  lp__doc_heading(d, "recruitment", "Recruitment by site and month");
  lp__grid g;
  lp__grid_init(&g, 7);
  const char *head[7] = {"Site", "Screened", "Eligible", "Randomised", "Withdrew consent", "First", "Last"};
  for (int c = 0; c < 7; c++) lp__grid_add(&g, "%s", head[c]);
  for (size_t i = 0; i <= p->nsites; i++) {
    const lp_progress_site *s = i < p->nsites ? &p->sites[i] : &p->total;
    lp__grid_add(&g, "%s", i < p->nsites ? s->code : "All sites");
    lp__grid_add(&g, "%ld", s->screened);
    lp__grid_add(&g, "%ld", s->eligible);
    lp__grid_add(&g, "%ld", s->randomised);
    lp__grid_add(&g, "%ld", s->withdrawn);
    lp__grid_add(&g, "%s", s->first[0] ? s->first : "—");
    lp__grid_add(&g, "%s", s->last[0] ? s->last : "—");
  }
  lp_status st = lp__doc_table(d, "recruitment_sites", &g, NULL, err);
  lp__grid_clear(&g);
  if (st) return st;
  /* Months down, sites across: a trial has more months than fit across a page. */
  lp__doc_para(d, "Patients randomised by calendar month and site:");
  lp__grid_init(&g, b->nsites + 3);
  lp__grid_add(&g, "Month");
  for (size_t s = 0; s < b->nsites; s++) lp__grid_add(&g, "%s", p->sites[s].code);
  lp__grid_add(&g, "All sites");
  lp__grid_add(&g, "Cumulative");
  long cum = 0;
  for (size_t m = 0; m < p->nmonths; m++) {
    lp__grid_add(&g, "%s", p->months[m].month);
    for (size_t s = 0; s < b->nsites; s++) lp__grid_add(&g, "%ld", site_month(b, s, p->months[m].month));
    cum += p->months[m].randomised;
    lp__grid_add(&g, "%ld", p->months[m].randomised);
    lp__grid_add(&g, "%ld", cum);
  }
  st = lp__doc_table(d, "recruitment_months", &g, "Patients randomised in each calendar month (UTC), by site.", err);
  lp__grid_clear(&g);
  if (st || p->nmonths == 0) return st;
  enum { MAXM = 240 };
  size_t nm = p->nmonths < MAXM ? p->nmonths : MAXM;
  double x[MAXM], y[MAXM];
  cum = 0;
  for (size_t m = 0; m < nm; m++) {
    cum += p->months[m].randomised;
    x[m] = (double)m + 1;
    y[m] = (double)cum;
  }
  lp_fig_series ser = {"All sites", nm, x, y, NULL, NULL, 0, NULL};
  char xlabel[128];
  snprintf(xlabel, sizeof xlabel, "Month of recruitment (1 = %s)", p->months[0].month);
  lp_line_figure fig = {"Cumulative Recruitment, All Sites",
                        xlabel,
                        "Patients randomised",
                        0.5,
                        nm + 0.5,
                        nm > 24 ? 6 : 1,
                        0,
                        NAN,
                        1,
                        &ser};
  return lp__doc_figure(d, "figure_recruitment", (lp__figure_fn)lp_figure_lines, &fig,
                        "Patients randomised by the end of each month, all sites together.", err);
}

static void fraction(lp__grid *g, long n, long of) {
  if (of > 0) lp__grid_add(g, "%ld/%ld (%.0f%%)", n, of, 100.0 * (double)n / (double)of);
  else
    lp__grid_add(g, "—");
}

static lp_status completeness(lp__doc *d, const blinded *b, lp_error *err) {
  const lp_progress *p = &b->all;
  lp__doc_heading(d, "completeness", "Data completeness");
  lp__grid g;
  lp__grid_init(&g, 7);
  const char *head[7] = {"Site",
                         "Randomised",
                         "Baseline forms",
                         "Infusion forms",
                         "Outcome forms (28 days)",
                         "Daily ICU records",
                         "Outstanding items"};
  for (int c = 0; c < 7; c++) lp__grid_add(&g, "%s", head[c]);
  for (size_t i = 0; i <= p->nsites; i++) {
    const lp_progress_site *s = i < p->nsites ? &p->sites[i] : &p->total;
    lp__grid_add(&g, "%s", i < p->nsites ? s->code : "All sites");
    lp__grid_add(&g, "%ld", s->randomised);
    fraction(&g, s->baseline, s->randomised - s->withdrawn);
    fraction(&g, s->infusion, s->infusion_due);
    fraction(&g, s->outcome, s->outcome_due);
    fraction(&g, s->days_recorded, s->days_expected);
    lp__grid_add(&g, "%ld", s->items);
  }
  char note[512];
  snprintf(note, sizeof note,
           "Forms recorded among the patients who owe them, counted at the end of %s: a baseline form from every "
           "patient who kept consent, an infusion form unless the drug was not given, the outcome form once 28 days "
           "have passed, a daily record for every complete ICU day (to discharge or day 28).",
           p->as_of);
  lp_status st = lp__doc_table(d, "completeness", &g, note, err);
  lp__grid_clear(&g);
  return st;
}

/* The plan's rows of `table`, pooled: the first group's description only. */
static lp_status pooled_rows(lp__doc *d, const lp_results *r, const char *table, const char *id, const char *what,
                             const char *note, lp_error *err) {
  lp__grid g;
  lp__grid_init(&g, 2);
  lp__grid_add(&g, "%s", what);
  lp__grid_add(&g, "All patients (N = %ld)", r->arm_n[0]);
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, table) || x->kind == LP_AN_COX || x->kind == LP_AN_SUBGROUP || x->kind == LP_AN_ADJUSTED)
      continue;
    const char *head = x->subsection[0] ? x->subsection : x->section;
    bool sub = head[0] && strcmp(head, "Primary outcome") && strcmp(head, "Secondary outcomes") &&
               strcmp(head, "Safety outcomes");
    lp__grid_add(&g, "%s%s%s", sub ? head : "", sub ? ": " : "", x->label);
    lp__grid_add(&g, "%s", x->arm_text[0][0] ? x->arm_text[0] : "—");
  }
  lp_status st = lp__doc_table(d, id, &g, note, err);
  lp__grid_clear(&g);
  return st;
}

static lp_status pooled_sofa(lp__doc *d, const lp_derived *dv, lp_error *err) {
  enum { DAYS = 14 };
  int days = dv->course.days < DAYS ? dv->course.days : DAYS;
  if (days <= 0) return LP_OK;
  double x[DAYS], y[DAYS], lo[DAYS], hi[DAYS];
  for (int k = 0; k < days; k++) {
    x[k] = k + 1;
    y[k] = dv->course.mean[0][k];
    lo[k] = dv->course.lo[0][k];
    hi[k] = dv->course.hi[0][k];
  }
  lp_fig_series ser = {"All patients", (size_t)days, x, y, lo, hi, 0, NULL};
  lp_line_figure fig = {"Daily SOFA Score (Five Systems) in the ICU, All Patients",
                        "Day after randomization",
                        "Mean SOFA score (95% CI)",
                        0.5,
                        days + 0.5,
                        1,
                        0,
                        NAN,
                        1,
                        &ser};
  return lp__doc_figure(d, "figure_sofa", (lp__figure_fn)lp_figure_lines, &fig,
                        "Daily total SOFA score (five systems), all patients together: mean and 95% CI among the "
                        "patients in the ICU that day.",
                        err);
}

static lp_status blinded_write(const char *dir, const char *db, const blinded *b, const char *gen, lp_error *err) {
  lp__doc d;
  char title[512], sub[512];
  snprintf(title, sizeof title, "Blinded report: %s", base_name(db));
  snprintf(sub, sizeof sub,
           "A trial report with the arms pooled: %ld patients randomised at %zu sites, counted at the end of %s. "
           "No figure or table in this report is by arm.",
           b->all.total.randomised, b->all.nsites, b->all.as_of);
  lp_status st = lp__doc_begin(&d, dir, title, sub, NULL, gen, err);
  if (st) return st;
  if ((st = recruitment(&d, b, err)) || (st = completeness(&d, b, err))) goto fail;
  if (!b->have_data) {
    lp__doc_para(&d, "No patient has been randomised yet: there are no baseline characteristics or outcomes.");
    return lp__doc_end(&d, err);
  }
  lp__doc_heading(&d, "baseline", "Baseline characteristics, all patients");
  if ((st = pooled_rows(&d, &b->res, "table1", "baseline", "Characteristic", NULL, err)) ||
      (st = pooled_rows(&d, &b->res, "table2", "baseline_illness", "Characteristic of the illness", NULL, err)))
    goto fail;
  lp__doc_heading(&d, "outcomes", "Outcomes so far, all patients");
  if ((st = pooled_rows(&d, &b->res, "table3", "outcomes", "Outcome",
                        "Pooled over both arms, among the patients randomised so far (follow-up still incomplete for "
                        "the most recent ones).",
                        err)) ||
      (st = pooled_sofa(&d, &b->dv, err)))
    goto fail;
  return lp__doc_end(&d, err);
fail:
  lp__doc_free(&d);
  return st;
}

lp_status lp_report_blinded(const char *db, const char *out, const lp_interim_options *o, lp_interim_summary *sum,
                            lp_error *err) {
  memset(sum, 0, sizeof *sum);
  sum->primary_estimate = sum->primary_ci[0] = sum->primary_ci[1] = NAN;
  lp__interim_generated(o, sum->generated_at, sizeof sum->generated_at);
  lp_trial *t = NULL;
  blinded b = {0};
  char exp[4096] = "";
  lp_outdir *od = NULL;
  lp_status st;
  if ((st = lp_trial_open_readonly(db, &t, err)) || (st = blinded_user(t, o->user, err)) ||
      (st = lp_outdir_check(out, err)) || (st = lp__interim_temp_dir(exp, sizeof exp, err)) ||
      (st = blinded_read(t, exp, o, &b, err)))
    goto done;
  lp_trial_close(t);
  t = NULL;
  sum->randomised = b.all.total.randomised;
  b.have_data = b.all.total.randomised > 0;
  if (b.have_data) {
    if ((st = pooled_allocations(exp, err)) || (st = lp__interim_analyse(exp, o, true, &b.dv, &b.res, err))) goto done;
    sum->analysed = b.dv.patients;
  }
  if ((st = lp_outdir_begin(out, "blinded report", &od, err))) goto done;
  if ((st = blinded_write(lp_outdir_path(od), db, &b, sum->generated_at, err))) goto done;
  st = lp_outdir_commit(od, err);
  od = NULL;
done:
  lp_outdir_abort(od);
  lp__interim_remove_temp(exp);
  blinded_clear(&b);
  lp_trial_close(t);
  return st;
}
