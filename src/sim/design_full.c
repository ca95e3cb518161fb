/* Whole simulated trials through the store and the full analysis plan, in memory:
 * how far the average of each estimate lies from the published one (design --full). */
#include <leopards/report.h>
#include <leopards/sim.h>
#include <leopards/trial.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lp_design_full_options_default(lp_design_full_options *o) {
  memset(o, 0, sizeof *o);
  o->trials = 10;
  o->seed = 20161013;
  o->effect = LP_EFFECT_PAPER;
  o->difference = 0.5;
  o->bootstrap = 1000;
  o->permutations = 200;
  o->imputations = 5;
}

void lp_design_full_clear(lp_design_full *f) {
  if (!f) return;
  free(f->rows);
  memset(f, 0, sizeof *f);
}

/* Every trial's estimate of one row (NAN where it could not be computed). */
typedef struct {
  double *est; /* [trials] */
} acc;

/* Does the row compare the arms with one estimate? */
static bool compares(const lp_result *r) { return r->kind != LP_AN_BASELINE && r->kind != LP_AN_SUBGROUP; }

/* Keep trial t's estimates (of `total`); the first trial fixes the rows. */
static lp_status add_trial(const lp_results *res, size_t t, size_t total, lp_design_full *out, acc **sums,
                           lp_error *err) {
  if (!out->rows) {
    size_t n = 0;
    for (size_t i = 0; i < res->n; i++) n += compares(&res->rows[i]);
    out->rows = calloc(n ? n : 1, sizeof *out->rows);
    *sums = calloc(n ? n : 1, sizeof **sums);
    if (!out->rows || !*sums) return lp_error_set(err, LP_ENOMEM, "out of memory");
    for (size_t i = 0; i < res->n; i++) {
      const lp_result *r = &res->rows[i];
      if (!compares(r)) continue;
      acc *a = &(*sums)[out->n];
      if (!(a->est = malloc(total * sizeof *a->est))) return lp_error_set(err, LP_ENOMEM, "out of memory");
      for (size_t j = 0; j < total; j++) a->est[j] = NAN;
      lp_design_full_row *row = &out->rows[out->n++];
      snprintf(row->id, sizeof row->id, "%s", r->id);
      snprintf(row->label, sizeof row->label, "%s", r->label);
      row->published = r->published;
      row->points = r->kind == LP_AN_BINARY || r->kind == LP_AN_COUNT;
    }
  }
  size_t k = 0;
  for (size_t i = 0; i < res->n && k < out->n; i++) {
    const lp_result *r = &res->rows[i];
    if (!compares(r)) continue;
    (*sums)[k].est[t] = r->estimate;
    k++;
  }
  return LP_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Quantile p of sorted x[n] (R's type 7: linear between order statistics). */
static double quantile7(const double *x, size_t n, double p) {
  if (n == 0) return NAN;
  double h = (double)(n - 1) * p;
  size_t lo = (size_t)floor(h);
  if (lo + 1 >= n) return x[n - 1];
  return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

/* Mean, SD, Monte Carlo error and middle 95% of the finite estimates of one row. */
static void summarise(lp_design_full_row *r, double *est, size_t total) {
  size_t n = 0;
  for (size_t j = 0; j < total; j++)
    if (isfinite(est[j])) est[n++] = est[j];
  double sum = 0, ss = 0;
  for (size_t j = 0; j < n; j++) sum += est[j];
  double mean = n ? sum / (double)n : NAN;
  for (size_t j = 0; j < n; j++) ss += (est[j] - mean) * (est[j] - mean);
  qsort(est, n, sizeof *est, cmp_double);
  r->trials = n;
  r->mean = mean;
  r->sd = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
  r->se_mean = r->sd / sqrt((double)n);
  r->q025 = quantile7(est, n, 0.025);
  r->q975 = quantile7(est, n, 0.975);
  r->z_published = (r->published - r->mean) / r->sd;
}

/* One trial: simulate into DIR/t.db, analyse in memory, remove the trial's files. */
static lp_status one_trial(const lp_design_full_options *o, const char *dir, size_t t, lp_results *keep,
                           lp_error *err) {
  char db[4200], key[4200];
  snprintf(db, sizeof db, "%s/t.db", dir);
  snprintf(key, sizeof key, "%s/t.key", dir);
  uint64_t seed = o->seed + 1000 + t;
  lp_sim_options so;
  lp_sim_options_default(&so);
  so.seed = seed;
  so.effect = o->effect;
  so.difference = o->difference;
  lp_sim_summary ss;
  lp_status st = lp_sim_run(db, key, &so, &ss, err);
  if (st) return st;
  lp_trial *tr = NULL;
  lp_trial_key *k = NULL;
  lp_analysis_results res;
  memset(&res, 0, sizeof res);
  if (!(st = lp_trial_open(db, &tr, err)) && !(st = lp_key_load(tr, key, &k, err))) {
    lp_analysis_options ao;
    lp_analysis_options_default(&ao);
    ao.bootstrap = o->bootstrap;
    ao.permutations = o->permutations;
    ao.imputations = o->imputations;
    ao.seed = seed;
    ao.threads = o->threads;
    ao.plan = o->plan;
    if (!(st = lp_analysis_run(tr, k, db, &ao, &res, err))) {
      *keep = res.results; /* handed over */
      memset(&res.results, 0, sizeof res.results);
    }
  }
  lp_analysis_results_clear(&res);
  lp_key_free(k);
  if (tr) lp_trial_close(tr);
  lp_trial_remove_files(db);
  unlink(key);
  char ak[4300];
  lp_audit_key_default_path(db, ak, sizeof ak);
  unlink(ak);
  return st;
}

lp_status lp_design_full_run(const lp_design_full_options *o, lp_design_full *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  if (o->trials < 1) return lp_error_set(err, LP_ERANGE, "at least one whole trial is needed");
  const char *base = o->work_dir ? o->work_dir : getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/leopards-design-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(dir))
    return lp_error_set(err, LP_EIO, "cannot make a working folder in %s", base && *base ? base : "/tmp");
  acc *sums = NULL;
  lp_status st = LP_OK;
  for (size_t t = 0; t < o->trials && !st; t++) {
    if (o->progress) o->progress(o->progress_ctx, t, o->trials);
    lp_results res = {0};
    if (!(st = one_trial(o, dir, t, &res, err))) st = add_trial(&res, t, o->trials, out, &sums, err);
    lp_results_clear(&res);
  }
  /* The working folder held only the trial's files, each removed after its trial. */
  rmdir(dir);
  if (!st) {
    if (o->progress) o->progress(o->progress_ctx, o->trials, o->trials);
    for (size_t k = 0; k < out->n; k++) summarise(&out->rows[k], sums[k].est, o->trials);
  }
  if (sums)
    for (size_t k = 0; k < out->n; k++) free(sums[k].est);
  free(sums);
  if (st) lp_design_full_clear(out);
  return st;
}
