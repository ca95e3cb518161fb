/* The main job: leopards simulate, analyze, demo and design. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <leopards/clinical.h>
#include <leopards/report.h>
#include <leopards/sim.h>
#include <leopards/stats.h>
#include <sys/stat.h>

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
} progress_ctx;

static void show_progress(void *ctx, const char *stage, double f) {
  progress_ctx *p = ctx;
  if (p->quiet) return;
  if (p->tty) {
    fprintf(stderr, "\r  %-40s %3.0f%%  %5.1f s", stage, 100 * f, now_s() - p->start);
    if (f >= 1) fputc('\n', stderr);
  } else if (strcmp(stage, p->last)) {
    fprintf(stderr, "  %s\n", stage);
  }
  snprintf(p->last, sizeof p->last, "%s", stage);
  fflush(stderr);
}

static const cli_opt simulate_opts[] = {
    {"db", "FILE", "trial database to create (refused if it exists)"},
    {"key", "FILE", "key file to create (mode 0600; refused if it exists)"},
    {"seed", "S", "random seed (default 4)"},
    {"effect", "paper|none|design", "treatment effects: the paper's, none, or +0.5 SOFA (default paper)"},
    {"patients", "N", "patients randomised (default 516)"},
    {"sites", "N", "ICUs (default 34)"},
    {"screened", "N", "patients screened (default 2382)"},
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
  lp_error err;
  if (cli_has(a, "effect") && lp_sim_effect_parse(cli_str(a, "effect"), &o.effect, &err))
    return cli_usage_error(a, "--effect: %s", err.message);
  if (screened < patients) return cli_usage_error(a, "--screened must be at least --patients");
  o.seed = seed;
  o.patients = (int)patients;
  o.sites = (int)sites;
  o.screened = (int)screened;
  progress_ctx pc = {isatty(2), cli_has(a, "quiet"), now_s(), ""};
  o.progress = show_progress;
  o.progress_ctx = &pc;
  lp_sim_summary s;
  if (lp_sim_run(db, key, &o, &s, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:I, s:[I,I], s:I, s:I, s:I, s:I, s:I}", "db", db,
                                    "key", key, "seed", (json_int_t)seed, "effect", lp_sim_effect_name(o.effect),
                                    "screened", (json_int_t)s.screened, "eligible", (json_int_t)s.eligible,
                                    "randomised", (json_int_t)s.randomised, "arms", (json_int_t)s.arm_n[0],
                                    (json_int_t)s.arm_n[1], "withdrawn", (json_int_t)s.withdrawn, "not_treated",
                                    (json_int_t)s.not_treated, "daily_records", (json_int_t)s.daily_records,
                                    "infusion_records", (json_int_t)s.infusion_records, "adverse_events",
                                    (json_int_t)s.adverse_events));
  printf("simulated trial %s (seed %llu, effect %s), locked; key in %s\n"
         "  %ld screened, %ld eligible, %ld randomised (%ld and %ld), %ld withdrew consent, %ld not treated\n"
         "  %ld daily records, %ld infusion records, %ld adverse events\n",
         db, seed, lp_sim_effect_name(o.effect), key, s.screened, s.eligible, s.randomised, s.arm_n[0], s.arm_n[1],
         s.withdrawn, s.not_treated, s.daily_records, s.infusion_records, s.adverse_events);
  return CLI_OK;
}

/* ---- analyze ---- */

static const cli_opt analyze_opts[] = {
    {"db", "FILE", "locked trial database"},
    {"key", "FILE", "the trial's key file (to read the arms)"},
    {"out", "DIR", "report folder (replaced as a whole when the analysis succeeds)"},
    {"plan", "FILE.csv", "analysis plan (default: the built-in LeoPARDS plan, plans/leopards.csv)"},
    {"seed", "S", "seed for bootstrap, permutations and imputations (default 20160927)"},
    {"boot", "R", "bootstrap resamples (default 100000)"},
    {"permutations", "B", "permutations for the subgroup tests (default 10000)"},
    {"imputations", "M", "imputations for the sensitivity analysis (default 20)"},
    {"missing", "locf|zero|complete", "rule for missing daily SOFA components (default locf)"},
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
      (rc = cli_long(a, "permutations", 100, 100000000, &perms)) ||
      (rc = cli_long(a, "imputations", 2, 1000, &imps)) || (rc = cli_long(a, "threads", 1, 1024, &threads)))
    return rc;
  lp_error err;
  lp_missing_rule rule = LP_MISSING_LOCF;
  if (cli_has(a, "missing") && lp_missing_rule_parse(cli_str(a, "missing"), &rule, &err))
    return cli_usage_error(a, "--missing: %s", err.message);
  o->seed = seed;
  o->bootstrap = (size_t)boot;
  o->permutations = (size_t)perms;
  o->imputations = (size_t)imps;
  o->threads = (int)threads;
  o->missing_rule = (int)rule;
  o->plan = cli_str(a, "plan");
  return CLI_OK;
}

static int print_analysis(const cli_args *a, const char *out, const lp_analysis_summary *s) {
  char b[4][32];
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:I, s:I, s:{s:o, s:[o,o], s:o}, s:{s:f, s:f, s:f}}", "report", out,
                                    "patients", (json_int_t)s->patients, "withdrawn", (json_int_t)s->withdrawn,
                                    "primary", "estimate", cli_num(s->primary_estimate), "ci",
                                    cli_num(s->primary_ci[0]), cli_num(s->primary_ci[1]), "p", cli_num(s->primary_p),
                                    "seconds", "derive", s->seconds_derive, "plan", s->seconds_plan, "report",
                                    s->seconds_report));
  printf("report written to %s/report.html (also report.md, report.json, tables as CSV, figures as SVG/PDF/PNG,\n"
         "analysis.csv: the analysis data set, data/: the export)\n", out);
  if (isfinite(s->primary_estimate))
    printf("primary outcome, mean daily SOFA: difference %s (95%% CI %s to %s), P = %s\n",
           cli_fmt(b[0], 32, s->primary_estimate, 3), cli_fmt(b[1], 32, s->primary_ci[0], 3),
           cli_fmt(b[2], 32, s->primary_ci[1], 3), cli_fmt_p(b[3], 32, s->primary_p));
  printf("%ld patients analysed; derivation %.2f s, analysis plan %.2f s, report %.2f s\n", s->patients,
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
  progress_ctx pc = {isatty(2), cli_has(a, "quiet") || cli_has(a, "json"), now_s(), ""};
  o.progress = show_progress;
  o.progress_ctx = &pc;
  lp_analysis_summary s;
  lp_error err;
  if (lp_analyze(db, key, out, &o, &s, &err)) return cli_fail(a, &err);
  return print_analysis(a, out, &s);
}

/* ---- demo ---- */

static const cli_opt demo_opts[] = {
    {"out", "DIR", "folder for the demo trial and its report (default leopards-demo)"},
    {"seed", "S", "simulation seed (default 4)"},
    {"effect", "paper|none|design", "treatment effects of the simulated trial (default paper)"},
    {"boot", "R", "bootstrap resamples (default 100000)"},
    {"quiet", NULL, "no progress display"},
    {"json", NULL, "print a summary as JSON"},
    {0}};

#define DEMO_MARK ".leopards-demo"

static int run_demo(const cli_args *a) {
  const char *dir = cli_str(a, "out") ? cli_str(a, "out") : "leopards-demo";
  lp_sim_options so;
  lp_sim_options_default(&so);
  unsigned long long seed = so.seed;
  int rc;
  lp_error err;
  if ((rc = cli_u64(a, "seed", &seed))) return rc;
  if (cli_has(a, "effect") && lp_sim_effect_parse(cli_str(a, "effect"), &so.effect, &err))
    return cli_usage_error(a, "--effect: %s", err.message);
  so.seed = seed;
  lp_analysis_options ao;
  if ((rc = analysis_options(a, &ao))) return rc;
  /* The folder is the demo's own: new, empty, or made by an earlier demo. */
  char db[4200], key[4200], report[4200], mark[4200];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  snprintf(key, sizeof key, "%s/trial.key", dir);
  snprintf(report, sizeof report, "%s/report", dir);
  snprintf(mark, sizeof mark, "%s/" DEMO_MARK, dir);
  struct stat sb;
  if (stat(dir, &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) return cli_usage_error(a, "%s exists and is not a folder", dir);
    if (access(mark, F_OK) != 0) {
      bool empty = true;
      FILE *p;
      char cmd[4400];
      snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
      if ((p = popen(cmd, "r"))) {
        empty = fgetc(p) == EOF;
        pclose(p);
      }
      if (!empty) return cli_usage_error(a, "%s exists and was not made by 'leopards demo': choose another --out", dir);
    }
    const char *old[] = {db, key};
    char side[4300];
    for (int i = 0; i < 2; i++) unlink(old[i]);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    snprintf(side, sizeof side, "%s.writer", db);
    unlink(side);
  } else if (mkdir(dir, 0700) != 0) {
    lp_error_set(&err, LP_EIO, "%s: cannot create the folder", dir);
    return cli_fail(a, &err);
  }
  FILE *m = fopen(mark, "w");
  if (m) {
    fputs("made by leopards demo; the next demo may replace this folder's contents\n", m);
    fclose(m);
  }
  progress_ctx pc = {isatty(2), cli_has(a, "quiet") || cli_has(a, "json"), now_s(), ""};
  if (!pc.quiet) fprintf(stderr, "leopards demo: a simulated LeoPARDS trial (seed %llu, effect %s) and its analysis\n",
                         seed, lp_sim_effect_name(so.effect));
  so.progress = show_progress;
  so.progress_ctx = &pc;
  lp_sim_summary ss;
  double t0 = now_s();
  if (lp_sim_run(db, key, &so, &ss, &err)) return cli_fail(a, &err);
  double t1 = now_s();
  ao.progress = show_progress;
  ao.progress_ctx = &pc;
  char title[128];
  snprintf(title, sizeof title, "LeoPARDS demo: a simulated trial (seed %llu, effect %s)", seed,
           lp_sim_effect_name(so.effect));
  ao.title = title;
  lp_analysis_summary as;
  if (lp_analyze(db, key, report, &ao, &as, &err)) return cli_fail(a, &err);
  if (!cli_has(a, "json"))
    printf("simulated %ld screened, %ld randomised at %d ICUs into %s in %.2f s (trial.db, trial.key)\n", ss.screened,
           ss.randomised, so.sites, dir, t1 - t0);
  return print_analysis(a, report, &as);
}

const cli_cmd cli_pipeline_cmds[] = {
    {"simulate", "simulate a LeoPARDS-like trial through the real store (a locked trial file and its key)",
     simulate_opts, "example:\n  leopards simulate --db demo.db --key demo.key --seed 1 --effect paper", run_simulate},
    {"analyze", "analyse a locked trial with its key: derive outcomes, run the plan, write the report", analyze_opts,
     "example:\n  leopards analyze --db trial.db --key trial.key --out report", run_analyze},
    {"demo", "simulate a LeoPARDS trial and analyse it into a report (the built-in demo)", demo_opts,
     "example:\n  leopards demo --out leopards-demo   (then open leopards-demo/report/report.html)", run_demo},
};
const size_t cli_pipeline_ncmds = sizeof cli_pipeline_cmds / sizeof cli_pipeline_cmds[0];
