/* The main job: leopards simulate, analyze, demo and design. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <leopards/clinical.h>
#include <leopards/outdir.h>
#include <leopards/derive.h>
#include <leopards/report.h>
#include <leopards/sim.h>
#include <leopards/stats.h>
#include <leopards/trial.h>

#include "cli.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Progress on standard error, one line rewritten in place on a terminal. */
typedef struct {
  bool tty, quiet;
  double start;
  char last[64];
  const char *phase; /* what the finished line says instead of "done" (or NULL) */
} progress_ctx;

static void show_progress(void *ctx, const char *stage, double f) {
  progress_ctx *p = ctx;
  if (p->quiet) return;
  if (p->tty) {
    fprintf(stderr, "\r  %-40s %3.0f%%  %5.1f s", f >= 1 && p->phase ? p->phase : stage, 100 * f, now_s() - p->start);
    if (f >= 1) fputc('\n', stderr);
  } else if (strcmp(stage, p->last)) {
    fprintf(stderr, "  %s\n", stage);
  }
  snprintf(p->last, sizeof p->last, "%s", stage);
  fflush(stderr);
}

/* --effect and --difference (a difference alone means the design effect). */
static int effect_options(const cli_args *a, lp_sim_effect *effect, double *difference) {
  lp_error err;
  if (cli_has(a, "effect") && lp_sim_effect_parse(cli_str(a, "effect"), effect, &err))
    return cli_usage_error(a, "--effect: %s", err.message);
  if (!cli_has(a, "difference")) return CLI_OK;
  if (!cli_has(a, "effect")) *effect = LP_EFFECT_DESIGN;
  if (*effect != LP_EFFECT_DESIGN) return cli_usage_error(a, "--difference goes with --effect design");
  int rc = cli_double(a, "difference", difference);
  if (rc) return rc;
  if (!(*difference >= -2 && *difference <= 2))
    return cli_usage_error(a, "--difference: %g is outside -2 to 2", *difference);
  return CLI_OK;
}

/* "paper", "none", or "design +0.5" (the difference asked for). */
static const char *effect_label(char *buf, size_t n, lp_sim_effect e, double difference) {
  if (e == LP_EFFECT_DESIGN) snprintf(buf, n, "design %+g", difference);
  else
    snprintf(buf, n, "%s", lp_sim_effect_name(e));
  return buf;
}

#define EFFECT_OPTS                                                                                        \
  {"effect", "paper|none|design",                                                                          \
   "treatment effects: the paper's, none, or a difference in SOFA only (default paper)"},                  \
  {                                                                                                        \
    "difference", "D", "with design: levosimendan minus placebo in mean daily SOFA (default 0.5; -2 to 2)" \
  }

static const cli_opt simulate_opts[] = {
    {"db", "FILE", "trial database to create (refused if it exists)"},
    {"key", "FILE", "key file to create (mode 0600; refused if it exists)"},
    {"seed", "S", "random seed (default 14)"},
    EFFECT_OPTS,
    {"patients", "N", "patients randomised (default 516)"},
    {"sites", "N", "ICUs (default 34)"},
    {"screened", "N", "patients screened (default 2382)"},
    {"stop-after", "N", "a trial in progress: stop after N randomisations, unlocked, calendar ending today"},
    {"quiet", NULL, "no progress display"},
    {"json", NULL, "print the summary as JSON"},
    {0}};

static int run_simulate(const cli_args *a) {
  const char *db, *key;
  int rc;
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "key", &key))) return rc;
  lp_sim_options o;
  lp_sim_options_default(&o);
  unsigned long long seed = o.seed;
  long patients = o.patients, sites = o.sites, screened = o.screened;
  if ((rc = cli_u64(a, "seed", &seed)) || (rc = cli_long(a, "patients", 10, 100000, &patients)) ||
      (rc = cli_long(a, "sites", 1, 999, &sites)) || (rc = cli_long(a, "screened", 10, 10000000, &screened)))
    return rc;
  if ((rc = effect_options(a, &o.effect, &o.difference))) return rc;
  long stop_after = 0;
  if ((rc = cli_long(a, "stop-after", 1, 100000, &stop_after))) return rc;
  if (stop_after > patients) return cli_usage_error(a, "--stop-after must be at most --patients");
  o.stop_after = (int)stop_after;
  lp_error err;
  if (screened < patients) return cli_usage_error(a, "--screened must be at least --patients");
  o.seed = seed;
  o.patients = (int)patients;
  o.sites = (int)sites;
  o.screened = (int)screened;
  progress_ctx pc = {isatty(2), cli_has(a, "quiet"), now_s(), "", "simulating the trial"};
  o.progress = show_progress;
  o.progress_ctx = &pc;
  lp_sim_summary s;
  if (lp_sim_run(db, key, &o, &s, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(
        json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:[I,I], s:I, s:I, s:I, s:I, s:I}", "db", db, "key", key, "seed",
                  (json_int_t)seed, "effect", lp_sim_effect_name(o.effect), "screened", (json_int_t)s.screened,
                  "eligible", (json_int_t)s.eligible, "randomised", (json_int_t)s.randomised, "arms",
                  (json_int_t)s.arm_n[0], (json_int_t)s.arm_n[1], "withdrawn", (json_int_t)s.withdrawn, "not_treated",
                  (json_int_t)s.not_treated, "daily_records", (json_int_t)s.daily_records, "infusion_records",
                  (json_int_t)s.infusion_records, "adverse_events", (json_int_t)s.adverse_events));
  char eb[32];
  printf(
      "simulated trial %s (seed %llu, effect %s), %s; key in %s\n"
      "  %ld screened, %ld eligible, %ld randomised (%ld and %ld), %ld withdrew consent, %ld not treated\n"
      "  %ld daily records, %ld infusion records, %ld adverse events\n",
      db, seed, effect_label(eb, sizeof eb, o.effect, o.difference),
      stop_after ? "in progress (unlocked, its calendar ending today)" : "locked", key, s.screened, s.eligible,
      s.randomised, s.arm_n[0], s.arm_n[1], s.withdrawn, s.not_treated, s.daily_records, s.infusion_records,
      s.adverse_events);
  return CLI_OK;
}

/* ---- analyze ---- */

static const cli_opt analyze_opts[] = {
    {"db", "FILE", "locked trial database"},
    {"key", "FILE", "the trial's key file (to read the arms)"},
    {"out", "DIR",
     "report folder: created, or replaced as a whole when the analysis succeeds if it holds an earlier report and "
     "nothing else"},
    {"plan", "FILE.csv", "analysis plan (default: the built-in LeoPARDS plan, plans/leopards.csv)"},
    {"seed", "S", "seed for bootstrap, permutations and imputations (default 20160927)"},
    {"boot", "R", "bootstrap resamples (default 100000)"},
    {"permutations", "B", "permutations for the subgroup tests (default 10000)"},
    {"imputations", "M", "imputations for the sensitivity analysis (default 20)"},
    {"missing", "locf|zero|complete", "rule for missing daily SOFA components (default locf)"},
    {"kidney-reference", "estimated|recorded",
     "creatinine KDIGO stages are measured against (default estimated; docs/outcomes.md)"},
    {"threads", "N", "threads (results do not depend on it)"},
    {"quiet", NULL, "no progress display"},
    {"json", NULL, "print a summary as JSON"},
    {0}};

static int analysis_options(const cli_args *a, lp_analysis_options *o) {
  lp_analysis_options_default(o);
  unsigned long long seed = o->seed;
  long boot = (long)o->bootstrap, perms = (long)o->permutations, imps = (long)o->imputations, threads = 0;
  int rc;
  if ((rc = cli_u64(a, "seed", &seed)) || (rc = cli_long(a, "boot", 100, 100000000, &boot)) ||
      (rc = cli_long(a, "permutations", 100, 100000000, &perms)) || (rc = cli_long(a, "imputations", 2, 1000, &imps)) ||
      (rc = cli_long(a, "threads", 1, 1024, &threads)))
    return rc;
  lp_error err;
  lp_missing_rule rule = LP_MISSING_LOCF;
  if (cli_has(a, "missing") && lp_missing_rule_parse(cli_str(a, "missing"), &rule, &err))
    return cli_usage_error(a, "--missing: %s", err.message);
  lp_kidney_reference kref = LP_KIDNEY_REF_ESTIMATED;
  if (cli_has(a, "kidney-reference") && lp_kidney_reference_parse(cli_str(a, "kidney-reference"), &kref, &err))
    return cli_usage_error(a, "--kidney-reference: %s", err.message);
  o->seed = seed;
  o->bootstrap = (size_t)boot;
  o->permutations = (size_t)perms;
  o->imputations = (size_t)imps;
  o->threads = (int)threads;
  o->missing_rule = (int)rule;
  o->kidney_reference = (int)kref;
  o->plan = cli_str(a, "plan");
  return CLI_OK;
}

static int print_analysis(const cli_args *a, const char *out, const lp_analysis_summary *s) {
  char b[4][32];
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:I, s:I, s:s, s:{s:o, s:[o,o], s:o}, s:{s:f, s:f, s:f}}", "report", out,
                                    "patients", (json_int_t)s->patients, "withdrawn", (json_int_t)s->withdrawn,
                                    "primary_label", s->has_primary ? s->primary_label : "", "primary", "estimate",
                                    cli_num(s->primary_estimate), "ci", cli_num(s->primary_ci[0]),
                                    cli_num(s->primary_ci[1]), "p", cli_num(s->primary_p), "seconds", "derive",
                                    s->seconds_derive, "plan", s->seconds_plan, "report", s->seconds_report));
  /* Each line fits an 80-column terminal; a line that goes on is indented. */
  printf(
      "report written to %s/report.html\n"
      "  also report.md, report.json, tables as CSV, figures as SVG, PDF and PNG,\n"
      "  analysis.csv (the analysis data set) and data/ (the export)\n",
      out);
  if (s->has_primary)
    printf("primary outcome, %s:\n  difference %s, 95%% CI %s to %s, P = %s\n", s->primary_label,
           cli_fmt(b[0], 32, s->primary_estimate, 3), cli_fmt(b[1], 32, s->primary_ci[0], 3),
           cli_fmt(b[2], 32, s->primary_ci[1], 3), cli_fmt_p(b[3], 32, s->primary_p));
  else
    printf(
        "no primary outcome: the plan marks no row with role 'primary'\n  (or its estimate could not be computed)\n");
  printf("%ld patients analysed\n  derivation %.2f s, analysis plan %.2f s, report %.2f s\n", s->patients,
         s->seconds_derive, s->seconds_plan, s->seconds_report);
  return CLI_OK;
}

static int run_analyze(const cli_args *a) {
  const char *db, *key, *out;
  int rc;
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "key", &key)) || (rc = cli_require(a, "out", &out)))
    return rc;
  lp_analysis_options o;
  if ((rc = analysis_options(a, &o))) return rc;
  progress_ctx pc = {isatty(2), cli_has(a, "quiet") || cli_has(a, "json"), now_s(), "", "analysing the trial"};
  o.progress = show_progress;
  o.progress_ctx = &pc;
  lp_analysis_summary s;
  lp_error err;
  if (lp_analyze(db, key, out, &o, &s, &err)) {
    int failed = cli_fail(a, &err);
    /* The library says what is wrong; the command line says what to type. */
    if (err.status == LP_ESTATE && !cli_has(a, "json"))
      fprintf(stderr, "  (lock it first: leopards lock --db %s --user STATISTICIAN)\n", db);
    return failed;
  }
  return print_analysis(a, out, &s);
}

/* ---- report --blinded / --dmc ---- */

static const cli_opt report_opts[] = {
    {"blinded", NULL,
     "the blinded report: recruitment by site and month, completeness, baseline and outcomes pooled "
     "(any role but investigator)"},
    {"dmc", NULL, "the closed report for the data monitoring committee, by arm (statistician, with --key; audited)"},
    {"db", "FILE", "trial database (in progress or locked)"},
    {"key", "FILE", "with --dmc: the trial's key file (to read the arms)"},
    {"user", "NAME", "who asks for the report (a registered user)"},
    {"out", "DIR", "report folder: created, or replaced when it holds an earlier leopards output and nothing else"},
    {"coded", NULL, "with --dmc: the arms as A and B instead of their names"},
    {"audit-key", "FILE", "with --dmc: the trial's audit key (default DB.audit-key when present)"},
    {"as-of", "YYYY-MM-DD", "with --blinded: completeness due by the end of this day (default today)"},
    {"plan", "FILE.csv", "analysis plan (default: the built-in LeoPARDS plan)"},
    {"seed", "S", "seed for bootstrap and imputations (default 20160927)"},
    {"boot", "R", "with --dmc: bootstrap resamples for the intervals (default 10000)"},
    {"imputations", "M", "imputations of the derivation (default 20)"},
    {"threads", "N", "threads (results do not depend on it)"},
    {"json", NULL, "print a summary as JSON"},
    {0}};

static int run_report(const cli_args *a) {
  bool blinded = cli_has(a, "blinded"), dmc = cli_has(a, "dmc");
  if (blinded == dmc) return cli_usage_error(a, "give one of --blinded and --dmc");
  const char *db, *out, *user;
  int rc;
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "user", &user)) || (rc = cli_require(a, "out", &out)))
    return rc;
  if (blinded && (cli_has(a, "key") || cli_has(a, "coded") || cli_has(a, "boot") || cli_has(a, "audit-key")))
    return cli_usage_error(a, "--key, --coded, --boot and --audit-key go with --dmc: the blinded report reads no arm");
  if (dmc && cli_has(a, "as-of")) return cli_usage_error(a, "--as-of goes with --blinded");
  if (dmc && !cli_has(a, "key"))
    return cli_usage_error(a, "the closed report needs the trial's key: --key FILE (nothing was written)");
  lp_interim_options o;
  lp_interim_options_default(&o);
  unsigned long long seed = o.seed;
  long boot = (long)o.bootstrap, imps = (long)o.imputations, threads = 0;
  if ((rc = cli_u64(a, "seed", &seed)) || (rc = cli_long(a, "boot", 100, 100000000, &boot)) ||
      (rc = cli_long(a, "imputations", 2, 1000, &imps)) || (rc = cli_long(a, "threads", 1, 1024, &threads)))
    return rc;
  o.seed = seed;
  o.bootstrap = (size_t)boot;
  o.imputations = (size_t)imps;
  o.threads = (int)threads;
  o.user = user;
  o.plan = cli_str(a, "plan");
  o.coded = cli_has(a, "coded");
  o.as_of = cli_str(a, "as-of");
  o.audit_key = cli_str(a, "audit-key");
  lp_interim_summary s;
  lp_error err;
  lp_status st =
      blinded ? lp_report_blinded(db, out, &o, &s, &err) : lp_report_dmc(db, cli_str(a, "key"), out, &o, &s, &err);
  if (st) {
    int failed = cli_fail(a, &err);
    if (!cli_has(a, "json")) fprintf(stderr, "  (nothing was written to %s)\n", out);
    return failed;
  }
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:[I,I], s:o, s:[o,o], s:s}", "report", out, "kind",
                                    blinded ? "blinded" : "closed", "randomised", (json_int_t)s.randomised, "analysed",
                                    (json_int_t)s.analysed, "arm_n", (json_int_t)s.arm_n[0], (json_int_t)s.arm_n[1],
                                    "primary_estimate", cli_num(s.primary_estimate), "primary_ci",
                                    cli_num(s.primary_ci[0]), cli_num(s.primary_ci[1]), "generated", s.generated_at));
  printf(
      "%s report written to %s/report.html\n  also report.md, report.json, the tables as CSV, figures as SVG, PDF "
      "and PNG\n  %ld patients randomised, %ld analysed\n",
      blinded ? "blinded" : "closed (CONFIDENTIAL)", out, s.randomised, s.analysed);
  if (dmc) printf("  the disclosure of the arms is in the audit trail (leopards audit log --db %s)\n", db);
  return CLI_OK;
}

/* ---- demo ---- */

static const cli_opt demo_opts[] = {{"out", "DIR",
                                     "folder for the demo trial and its report (default leopards-demo): created, or "
                                     "replaced when it holds an earlier demo and nothing else"},
                                    {"seed", "S", "simulation seed (default 14)"},
                                    EFFECT_OPTS,
                                    {"boot", "R", "bootstrap resamples (default 100000)"},
                                    {"permutations", "B", "permutations for the subgroup tests (default 10000)"},
                                    {"imputations", "M", "imputations for the sensitivity analysis (default 20)"},
                                    {"threads", "N", "threads (results do not depend on it)"},
                                    {"quiet", NULL, "no progress display"},
                                    {"json", NULL, "print a summary as JSON"},
                                    {0}};

static int run_demo(const cli_args *a) {
  const char *dir = cli_str(a, "out") ? cli_str(a, "out") : "leopards-demo";
  lp_sim_options so;
  lp_sim_options_default(&so);
  unsigned long long seed = so.seed;
  int rc;
  lp_error err;
  if ((rc = cli_u64(a, "seed", &seed)) || (rc = effect_options(a, &so.effect, &so.difference))) return rc;
  so.seed = seed;
  lp_analysis_options ao;
  if ((rc = analysis_options(a, &ao))) return rc;
  /* The folder is the demo's own: new, empty, or written by leopards and holding
   * nothing else. Everything is made in a new folder beside it, swapped in at the end. */
  lp_outdir *od;
  if (lp_outdir_begin(dir, "demo", &od, &err)) {
    char legacy[4200];
    snprintf(legacy, sizeof legacy, "%s/.leopards-demo", dir);
    if (err.status == LP_EDENIED && access(legacy, F_OK) == 0)
      lp_error_prefix(&err,
                      "%s was made by an earlier version of leopards demo, whose folders list no files: "
                      "remove it yourself once nothing in it is yours, or choose another --out",
                      dir);
    return cli_fail(a, &err);
  }
  static const char *const sides[] = {"trial.db-wal", "trial.db-shm", "trial.db-writer"};
  for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++)
    if (lp_outdir_allow(od, sides[i], &err)) {
      lp_outdir_abort(od);
      return cli_fail(a, &err);
    }
  char db[4200], key[4200], report[4200];
  snprintf(db, sizeof db, "%s/trial.db", lp_outdir_path(od));
  snprintf(key, sizeof key, "%s/trial.key", lp_outdir_path(od));
  snprintf(report, sizeof report, "%s/report", lp_outdir_path(od));
  progress_ctx pc = {isatty(2), cli_has(a, "quiet") || cli_has(a, "json"), now_s(), "", "simulating the trial"};
  char eb[32];
  if (!pc.quiet)
    fprintf(stderr, "leopards demo: a LeoPARDS trial simulated (seed %llu, effect %s) and analysed\n", seed,
            effect_label(eb, sizeof eb, so.effect, so.difference));
  so.progress = show_progress;
  so.progress_ctx = &pc;
  lp_sim_summary ss;
  double t0 = now_s();
  if (lp_sim_run(db, key, &so, &ss, &err)) {
    lp_outdir_abort(od);
    return cli_fail(a, &err);
  }
  double t1 = now_s();
  ao.progress = show_progress;
  ao.progress_ctx = &pc;
  pc.phase = "analysing it";
  char title[128];
  snprintf(title, sizeof title, "LeoPARDS demo: a simulated trial (seed %llu, effect %s)", seed,
           effect_label(eb, sizeof eb, so.effect, so.difference));
  ao.title = title;
  lp_analysis_summary as;
  if (lp_analyze(db, key, report, &ao, &as, &err)) {
    lp_outdir_abort(od);
    return cli_fail(a, &err);
  }
  if (lp_outdir_commit(od, &err)) return cli_fail(a, &err);
  if (!cli_has(a, "json"))
    printf(
        "simulated %ld screened, %ld randomised at %d ICUs in %.2f s\n"
        "  into %s (trial.db, trial.key, trial.db.audit-key)\n",
        ss.screened, ss.randomised, so.sites, t1 - t0, dir);
  snprintf(report, sizeof report, "%s/report", dir);
  return print_analysis(a, report, &as);
}

/* ---- design ---- */

static const cli_opt design_opts[] = {
    {"trials", "N", "simulated trials for the primary analysis (default 1000)"},
    EFFECT_OPTS,
    {"patients", "N[,N...]", "patients randomised per trial (default 516); several sizes give a power curve"},
    {"boot", "R", "bootstrap resamples per trial (default 2000)"},
    {"alpha", "A", "two-sided significance level (default 0.05)"},
    {"seed", "S", "seed (default 20161013)"},
    {"threads", "N", "threads (results do not depend on it)"},
    {"full", "N",
     "also run N whole trials through the store and the full plan, and compare the average of "
     "every estimate with the published one"},
    {"markdown", NULL, "with --full: print only the whole-trial table, in Markdown (as docs/simulation.md shows it)"},
    {"json", NULL, "print JSON"},
    {0}};

/* Fewer whole trials than this and `design --full` warns that z means nothing. */
#define DESIGN_FULL_MIN_TRIALS 30

static void full_progress(void *ctx, size_t done, size_t total) {
  if (!*(const bool *)ctx && done < total) fprintf(stderr, "\r  whole trial %zu of %zu", done + 1, total);
}

/* Run `full` whole trials into *out: one JSON object per row that could be estimated. */
static int design_full_rows(const cli_args *a, size_t full, uint64_t seed, lp_sim_effect effect, double difference,
                            json_t **out) {
  lp_design_full_options fo;
  lp_design_full_options_default(&fo);
  fo.trials = full;
  fo.seed = seed;
  fo.effect = effect;
  fo.difference = difference;
  bool quiet = cli_has(a, "json") || cli_has(a, "markdown");
  fo.progress = full_progress;
  fo.progress_ctx = &quiet;
  lp_design_full f;
  lp_error err;
  if (lp_design_full_run(&fo, &f, &err)) {
    if (!quiet) fputc('\n', stderr);
    return cli_fail(a, &err);
  }
  if (!quiet) fputc('\n', stderr);
  /* Per row: mean, its Monte Carlo error, the spread of single trials, and where the
   * published value falls. */
  json_t *rows = json_array();
  for (size_t i = 0; i < f.n; i++) {
    const lp_design_full_row *w = &f.rows[i];
    if (!w->trials) continue;
    json_array_append_new(
        rows, json_pack("{s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "id", w->id, "label", w->label,
                        "trials", (int)w->trials, "mean", cli_num(w->mean), "sd", cli_num(w->sd), "se_mean",
                        cli_num(w->se_mean), "q025", cli_num(w->q025), "q975", cli_num(w->q975), "published",
                        cli_num(w->published), "z_published", cli_num(w->z_published), "percentage_points", w->points));
  }
  lp_design_full_clear(&f);
  *out = rows;
  return CLI_OK;
}

/* A number of the whole-trial table, x100 for a difference of proportions. */
static const char *full_num(char *buf, size_t n, const json_t *row, const char *key, int digits) {
  const json_t *v = json_object_get(row, key);
  if (!json_is_number(v)) return snprintf(buf, n, "—"), buf;
  double x = json_number_value(v) * (json_is_true(json_object_get(row, "percentage_points")) ? 100 : 1);
  snprintf(buf, n, "%.*f", digits, fabs(x) < 0.5 * pow(10, -digits) ? 0.0 : x);
  return buf;
}

/* The whole-trial table in Markdown (docs/simulation.md). */
static void print_full_markdown(const json_t *rows, long full, uint64_t seed, const char *effect) {
  printf(
      "Whole trials through the store and the plan: %ld trials (effect %s, seeds %llu + 1000 + t). "
      "Differences of proportions in percentage points; ratios are hazard ratios.\n\n",
      full, effect, (unsigned long long)seed);
  printf(
      "| row | outcome | published | average (MC error) | SD of one trial | middle 95%% of trials | published "
      "inside | (published - average) / SD |\n");
  printf("|---|---|---|---|---|---|---|---|\n");
  size_t i;
  json_t *v;
  json_array_foreach(rows, i, v) {
    char pub[32], mean[32], se[32], sd[32], lo[32], hi[32], zt[32] = "—";
    double p = json_number_value(json_object_get(v, "published")),
           z = json_number_value(json_object_get(v, "z_published"));
    double qlo = json_number_value(json_object_get(v, "q025")), qhi = json_number_value(json_object_get(v, "q975"));
    bool has_pub = json_is_number(json_object_get(v, "published"));
    if (has_pub) snprintf(zt, sizeof zt, fabs(z) > 0.5 ? "**%.2f**" : "%.2f", z);
    printf("| %s | %s | %s | %s (%s) | %s | %s to %s | %s | %s |\n", json_string_value(json_object_get(v, "id")),
           json_string_value(json_object_get(v, "label")), full_num(pub, sizeof pub, v, "published", 3),
           full_num(mean, sizeof mean, v, "mean", 3), full_num(se, sizeof se, v, "se_mean", 3),
           full_num(sd, sizeof sd, v, "sd", 3), full_num(lo, sizeof lo, v, "q025", 3),
           full_num(hi, sizeof hi, v, "q975", 3),
           !has_pub               ? "—"
           : p >= qlo && p <= qhi ? "yes"
                                  : "**no**",
           zt);
  }
}

/* Power and coverage at several trial sizes (design --patients N1,N2,...). */
static int design_curve(const cli_args *a, lp_design_options *o, const double *sizes, size_t nsizes) {
  double t0 = now_s();
  lp_design_result *r = calloc(nsizes, sizeof *r);
  if (!r) return cli_usage_error(a, "out of memory");
  lp_error err;
  for (size_t i = 0; i < nsizes; i++) {
    if (!cli_has(a, "json")) fprintf(stderr, "\r  %zu patients (%zu of %zu)", (size_t)sizes[i], i + 1, nsizes);
    o->patients = (size_t)sizes[i];
    if (lp_design_primary(o, &r[i], &err)) {
      free(r);
      return cli_fail(a, &err);
    }
    o->truth_known = true; /* the same population for every size */
    o->true_difference = r[i].true_difference;
    o->sd_outcome = r[i].sd_outcome;
  }
  if (!cli_has(a, "json")) fputc('\n', stderr);
  double secs = now_s() - t0;
  /* The two-sample t power for the same truth and SD, as a designer's formula would
   * give it (half the patients per arm). */
  double *tpow = calloc(nsizes, sizeof *tpow);
  if (!tpow) {
    free(r);
    return cli_usage_error(a, "out of memory");
  }
  for (size_t i = 0; i < nsizes; i++) {
    lp_power_result pw;
    tpow[i] = fabs(r[0].true_difference) > 1e-6 &&
                      !lp_power_t(sizes[i] / 2, r[0].true_difference, r[0].sd_outcome, o->alpha, 0, &pw, NULL)
                  ? pw.power
                  : NAN;
  }
  if (cli_has(a, "json")) {
    json_t *curve = json_array();
    for (size_t i = 0; i < nsizes; i++)
      json_array_append_new(
          curve, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "patients", (json_int_t)sizes[i], "reject",
                           cli_num(r[i].reject), "t_test_power", cli_num(tpow[i]), "ci_excludes_zero",
                           cli_num(r[i].ci_excludes_zero), "coverage", cli_num(r[i].coverage), "mean_ci_width",
                           cli_num(r[i].mean_ci_width), "mean_estimate", cli_num(r[i].mean_estimate), "sd_estimate",
                           cli_num(r[i].sd_estimate)));
    json_t *root =
        json_pack("{s:s, s:I, s:I, s:f, s:o, s:o, s:o}", "effect", lp_sim_effect_name(o->effect), "trials",
                  (json_int_t)o->trials, "bootstrap", (json_int_t)o->bootstrap, "alpha", o->alpha, "true_difference",
                  cli_num(r[0].true_difference), "sd_outcome", cli_num(r[0].sd_outcome), "curve", curve);
    free(r);
    free(tpow);
    json_object_set_new(root, "difference", o->effect == LP_EFFECT_DESIGN ? json_real(o->difference) : json_null());
    return cli_print_json(root);
  }
  bool null = fabs(r[0].true_difference) < 1e-6;
  char eb[32];
  printf(
      "simulation-based design of the primary analysis (effect %s): %zu trials at each size, %zu bootstrap "
      "resamples each (%.1f s)\n\n",
      effect_label(eb, sizeof eb, o->effect, o->difference), o->trials, o->bootstrap, secs);
  printf("  true difference in mean daily SOFA %.3f (SD of the outcome %.2f); alpha %g\n\n", r[0].true_difference,
         r[0].sd_outcome, o->alpha);
  printf("  %8s  %-20s %-9s %-16s %-12s %s\n", "patients", null ? "type I error (SE)" : "power (MC SE)", "t test",
         "interval covers", "mean width", "mean estimate (SD)");
  for (size_t i = 0; i < nsizes; i++) {
    char tp[16];
    printf("  %8zu  %.3f (%.3f)        %-9s %.3f            %.3f        %.3f (%.3f)\n", (size_t)sizes[i], r[i].reject,
           sqrt(r[i].reject * (1 - r[i].reject) / (double)r[i].trials), cli_fmt(tp, sizeof tp, tpow[i], 3),
           r[i].coverage, r[i].mean_ci_width, r[i].mean_estimate, r[i].sd_estimate);
  }
  if (!null) printf("\n  t test: the two-sample t power for this true difference and SD, half the patients per arm.\n");
  free(r);
  free(tpow);
  return CLI_OK;
}

static int run_design(const cli_args *a) {
  lp_design_options o;
  lp_design_options_default(&o);
  long trials = (long)o.trials, boot = (long)o.bootstrap, threads = 0, full = 0;
  unsigned long long seed = o.seed;
  int rc;
  if ((rc = cli_long(a, "trials", 1, 10000000, &trials)) || (rc = cli_long(a, "boot", 100, 10000000, &boot)) ||
      (rc = cli_long(a, "threads", 1, 1024, &threads)) || (rc = cli_long(a, "full", 1, 100000, &full)) ||
      (rc = cli_u64(a, "seed", &seed)) || (rc = cli_double(a, "alpha", &o.alpha)))
    return rc;
  if (!(o.alpha > 0 && o.alpha < 1)) return cli_usage_error(a, "--alpha must be between 0 and 1");
  if (cli_has(a, "markdown") && !full)
    return cli_usage_error(a, "--markdown prints the table of --full: give --full N");
  if (cli_has(a, "markdown") && cli_has(a, "json")) return cli_usage_error(a, "give --markdown or --json, not both");
  lp_error err;
  if ((rc = effect_options(a, &o.effect, &o.difference))) return rc;
  o.trials = (size_t)trials;
  o.bootstrap = (size_t)boot;
  o.threads = (int)threads;
  o.seed = seed;
  double *sizes = NULL;
  size_t nsizes = 0;
  if ((rc = cli_double_list(a, "patients", &sizes, &nsizes))) return rc;
  for (size_t i = 0; i < nsizes; i++)
    if (!(sizes[i] >= 20 && sizes[i] <= 1000000 && sizes[i] == floor(sizes[i]))) {
      rc = cli_usage_error(a, "--patients: %g is not a whole number of patients from 20 to 1,000,000", sizes[i]);
      free(sizes);
      return rc;
    }
  if (nsizes > 1) {
    if (full) {
      free(sizes);
      return cli_usage_error(a, "--full runs whole trials at one size: give one --patients");
    }
    rc = design_curve(a, &o, sizes, nsizes);
    free(sizes);
    return rc;
  }
  if (nsizes == 1) o.patients = (size_t)sizes[0];
  free(sizes);
  double t0 = now_s();
  lp_design_result r;
  if (lp_design_primary(&o, &r, &err)) return cli_fail(a, &err);
  double secs = now_s() - t0;
  /* The normal-theory size for the true difference and SD found (power.t.test). */
  lp_power_result pw = {0};
  bool have_pw =
      fabs(r.true_difference) > 1e-6 && !lp_power_t(0, r.true_difference, r.sd_outcome, o.alpha, 0.9, &pw, NULL);
  json_t *fullj = NULL;
  if (full && (rc = design_full_rows(a, (size_t)full, seed, o.effect, o.difference, &fullj))) return rc;
  /* The SD behind z is itself an estimate from the whole trials run: with few of
   * them it is too rough for z to mean anything (its relative SE is about
   * 1 / sqrt(2 (N - 1)): 50% at 3 trials, 13% at 30). */
  char full_few[240] = "";
  if (full && full < DESIGN_FULL_MIN_TRIALS)
    snprintf(full_few, sizeof full_few,
             "only %ld whole trial%s: the SD of the estimates, and so each z, rests on too few trials to "
             "mean anything; run %d or more (--full %d)",
             full, full > 1 ? "s" : "", DESIGN_FULL_MIN_TRIALS, DESIGN_FULL_MIN_TRIALS);
  if (cli_has(a, "markdown")) {
    print_full_markdown(fullj, full, seed, lp_sim_effect_name(o.effect));
    if (full_few[0]) {
      printf("\n");
      cli_wrap(stdout, "warning: ", "  ", full_few);
    }
    json_decref(fullj);
    return CLI_OK;
  }
  if (cli_has(a, "json")) {
    json_t *root = json_pack(
        "{s:s, s:I, s:I, s:I, s:f, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "effect",
        lp_sim_effect_name(o.effect), "trials", (json_int_t)r.trials, "patients", (json_int_t)o.patients, "bootstrap",
        (json_int_t)o.bootstrap, "alpha", o.alpha, "true_difference", cli_num(r.true_difference), "sd_outcome",
        cli_num(r.sd_outcome), "mean_estimate", cli_num(r.mean_estimate), "sd_estimate", cli_num(r.sd_estimate),
        "reject", cli_num(r.reject), "ci_excludes_zero", cli_num(r.ci_excludes_zero), "coverage", cli_num(r.coverage),
        "mean_ci_width", cli_num(r.mean_ci_width), "normal_theory_n_90", have_pw ? cli_num(pw.n) : json_null());
    if (fullj) json_object_set_new(root, "full", fullj);
    json_t *warnings = json_array();
    if (full_few[0]) json_array_append_new(warnings, json_string(full_few));
    json_object_set_new(root, "warnings", warnings);
    json_object_set_new(root, "difference", o.effect == LP_EFFECT_DESIGN ? json_real(o.difference) : json_null());
    return cli_print_json(root);
  }
  double mcse = sqrt(r.reject * (1 - r.reject) / (double)r.trials);
  char eb[32];
  printf(
      "simulation-based design of the primary analysis (effect %s): %zu trials of %zu patients, %zu bootstrap "
      "resamples each (%.1f s)\n\n",
      effect_label(eb, sizeof eb, o.effect, o.difference), r.trials, o.patients, o.bootstrap, secs);
  printf("  true difference in mean daily SOFA     %8.3f   (SD of the outcome %.2f)\n", r.true_difference,
         r.sd_outcome);
  printf("  mean estimate (SD across trials)       %8.3f   (%.3f)\n", r.mean_estimate, r.sd_estimate);
  printf("  %-38s %8.3f   (Monte Carlo SE %.3f)\n",
         fabs(r.true_difference) < 1e-6 ? "type I error: P < alpha (Mann-Whitney)" : "power: P < alpha (Mann-Whitney)",
         r.reject, mcse);
  printf("  bootstrap interval excludes 0          %8.3f\n", r.ci_excludes_zero);
  printf("  bootstrap interval covers the truth    %8.3f   (nominal 0.95)\n", r.coverage);
  printf("  mean interval width                    %8.3f\n", r.mean_ci_width);
  if (have_pw)
    printf(
        "\n  a two-sample t calculation for this difference and SD gives %.0f per group (%.0f in all) for 90%% power\n",
        ceil(pw.n), 2 * ceil(pw.n));
  if (fullj) {
    printf("\nwhole trials through the store and the plan: average estimate beside the published one\n\n");
    printf("  %-14s %-32s %9s %9s %7s %7s %17s %6s\n", "row", "", "published", "mean", "MC SE", "SD", "middle 95%",
           "z");
    size_t i;
    json_t *v;
    json_array_foreach(fullj, i, v) {
      char lab[33];
      snprintf(lab, sizeof lab, "%s", json_string_value(json_object_get(v, "label")));
      printf("  %-14s %-32s %9.3f %9.3f %7.3f %7.3f %8.3f %8.3f %6.2f\n", json_string_value(json_object_get(v, "id")),
             lab, json_number_value(json_object_get(v, "published")), json_number_value(json_object_get(v, "mean")),
             json_number_value(json_object_get(v, "se_mean")), json_number_value(json_object_get(v, "sd")),
             json_number_value(json_object_get(v, "q025")), json_number_value(json_object_get(v, "q975")),
             json_number_value(json_object_get(v, "z_published")));
    }
    printf(
        "\n  MC SE: the Monte Carlo error of the mean; SD and middle 95%%: single trials' estimates.\n"
        "  z: (published - mean) / SD of one trial's estimate; |z| < 2 means the published estimate is a\n"
        "  typical draw of the simulated trial. --markdown prints this table as docs/simulation.md has it.\n");
    if (full_few[0]) {
      printf("\n");
      cli_wrap(stdout, "warning: ", "  ", full_few);
    }
    json_decref(fullj);
  }
  return CLI_OK;
}

static const cli_opt outcomes_opts[] = {
    {"imputations", "M", "imputation columns sofa_mi_1 ... sofa_mi_M and sofa_mi28_1 ... sofa_mi28_M (default 20)"},
    {"markdown", NULL, "a Markdown table (as in docs/outcomes.md)"},
    {"json", NULL, "a JSON array"},
    {0}};

/* The columns of analysis.csv from the derivation's table of definitions. */
static int run_outcomes(const cli_args *a) {
  long m = 20;
  int rc = cli_long(a, "imputations", 0, 1000, &m);
  if (rc) return rc;
  if (cli_has(a, "json")) {
    json_t *arr = json_array();
    for (size_t i = 0; i < lp_derive_ncolumns(); i++) {
      const lp_derived_column *c = lp_derive_column(i);
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:s, s:s, s:b}", "name", c->name, "type", lp_column_type_name(c->type), "unit",
                         c->unit, "definition", c->definition, "per_imputation", c->per_imputation));
    }
    return cli_print_json(arr);
  }
  char *text;
  size_t len;
  lp_error err;
  if (lp_derive_dictionary((size_t)m, cli_has(a, "markdown"), &text, &len, &err)) return cli_fail(a, &err);
  fwrite(text, 1, len, stdout);
  free(text);
  return CLI_OK;
}

const cli_cmd cli_pipeline_cmds[] = {
    {"outcomes", "the columns of the analysis data set (analysis.csv): name, type, unit, definition", outcomes_opts,
     "The same table is written beside analysis.csv as analysis_dictionary.csv.\n"
     "example:\n  leopards outcomes --markdown",
     run_outcomes},
    {"simulate", "simulate a LeoPARDS-like trial through the real store (a locked trial file and its key)",
     simulate_opts, "example:\n  leopards simulate --db demo.db --key demo.key --seed 1 --effect paper", run_simulate},
    {"analyze", "analyse a locked trial with its key: derive outcomes, run the plan, write the report", analyze_opts,
     "example:\n  leopards analyze --db trial.db --key trial.key --out report", run_analyze},
    {"report", "reports while the trial runs: --blinded (arms pooled) or --dmc (closed, by arm, for the DMC)",
     report_opts,
     "--blinded: any role but investigator; recruitment by site and month, data completeness, baseline\n"
     "  characteristics and outcomes pooled over both arms; no arm is read, named or compared.\n"
     "--dmc: a statistician with the trial's key; the closed report for the data monitoring committee by\n"
     "  arm (named, or A and B with --coded): patients, serious adverse events by category and deaths,\n"
     "  then the primary outcome so far with its interval; \"CONFIDENTIAL: closed report\" at the top of\n"
     "  every file. It reveals the allocations, so it writes one audit entry (who, how many, where).\n"
     "Both read one snapshot of the trial and change nothing else in it; a refusal writes nothing.\n"
     "examples:\n  leopards report --blinded --db trial.db --user manager --out blinded\n"
     "  leopards report --dmc --db trial.db --key trial.key --user statistician --out closed --coded",
     run_report},
    {"demo", "simulate a LeoPARDS trial and analyse it into a report (the built-in demo)", demo_opts,
     "example:\n  leopards demo --out leopards-demo   (then open leopards-demo/report/report.html)", run_demo},
    {"design", "simulation-based power, type I error and coverage of the primary analysis", design_opts,
     "examples:\n  leopards design --trials 1000 --effect paper\n  leopards design --trials 1000 --effect none\n"
     "  leopards design --trials 1000 --patients 516,800,1200,1600   (a power curve)\n"
     "  leopards design --trials 200 --full 50      (also averages every Table 3 estimate)\n"
     "  TMPDIR=/dev/shm leopards design --trials 10 --full 200 --markdown   (the table of docs/simulation.md)",
     run_design},
};
const size_t cli_pipeline_ncmds = sizeof cli_pipeline_cmds / sizeof cli_pipeline_cmds[0];
