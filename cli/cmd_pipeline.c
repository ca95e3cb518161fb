/* The main job: leopards simulate, analyze, demo and design. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <leopards/sim.h>

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
    {"seed", "S", "random seed (default 1)"},
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

const cli_cmd cli_pipeline_cmds[] = {
    {"simulate", "simulate a LeoPARDS-like trial through the real store (a locked trial file and its key)",
     simulate_opts, "example:\n  leopards simulate --db demo.db --key demo.key --seed 1 --effect paper", run_simulate},
};
const size_t cli_pipeline_ncmds = sizeof cli_pipeline_cmds / sizeof cli_pipeline_cmds[0];
