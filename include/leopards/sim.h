/* leopards simulator: a synthetic LeoPARDS-like trial written through the real
 * store and randomisation code (screening log, sealed list, packs, baseline, the
 * infusion, daily ICU records, outcomes, adverse events, database lock), with a
 * documented patient model calibrated to the paper's Tables 1-3 (docs/simulation.md).
 * It is the built-in demo and the engine of simulation-based design.
 * Ownership: results are caller storage, or owned by the result object and freed with
 * its _clear. Threads: re-entrant; each call opens its own trial handles; `threads`
 * options are the call's thread budget (0: the process's budget, see core.h). */
#ifndef LEOPARDS_SIM_H
#define LEOPARDS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LP_EFFECT_PAPER = 0, /* the effects the paper estimated */
  LP_EFFECT_NONE = 1,  /* the null: both arms alike */
  LP_EFFECT_DESIGN = 2 /* a difference in mean daily SOFA only (the design's +0.5 unless set), spread
                          over the components in proportion to their means; no effect on death */
} lp_sim_effect;

const char *lp_sim_effect_name(lp_sim_effect e);
lp_status lp_sim_effect_parse(const char *s, lp_sim_effect *out, lp_error *err);

typedef struct lp_sim_options {
  uint64_t seed;
  lp_sim_effect effect;
  double difference; /* with LP_EFFECT_DESIGN: first arm minus second in mean daily SOFA (0.5), -2 to 2 */
  int patients;      /* randomised, default 516 */
  int sites;         /* ICUs, default 34 */
  int screened;      /* assessed for eligibility, default 2382 */
  /* A trial in progress (0: the whole trial, locked): stop right after the
   * stop_after-th randomisation, unlocked, with each patient's data up to the day they
   * have reached then, and the calendar shifted so that the stop falls at `now`
   * (seconds since 1970; 0: the time of the run). */
  int stop_after;
  long long now;
  /* Progress: called with a stage name and the fraction done (may be NULL). */
  void (*progress)(void *ctx, const char *stage, double fraction);
  void *progress_ctx;
} lp_sim_options;

void lp_sim_options_default(lp_sim_options *o);

typedef struct lp_sim_summary {
  long screened, eligible, randomised, arm_n[2];
  long withdrawn, not_treated, deaths28;
  long daily_records, infusion_records, adverse_events;
} lp_sim_summary;

/* Create the trial file `db` and its key file `key` (both refused if they exist),
 * and run the whole trial through the store; the database is locked at the end
 * (unless stop_after stops it part-way).
 * On failure both files are removed. */
lp_status lp_sim_run(const char *db, const char *key, const lp_sim_options *o, lp_sim_summary *out, lp_error *err);

/* ---- the patient model alone (no store), for design studies ---- */

/* Per-patient analysis values of one simulated patient, the same quantities the
 * outcome derivation computes from the stored records. */
typedef struct lp_sim_outcomes {
  int arm;
  double sofa_mean;
  int death28;
} lp_sim_outcomes;

/* Simulate `n` patients in memory (arms 1:1 in blocks) with the same model as
 * lp_sim_run, filling out[n]. Deterministic in (seed, trial). */
lp_status lp_sim_patients(uint64_t seed, uint64_t trial, lp_sim_effect effect, double difference, size_t n,
                          lp_sim_outcomes *out, lp_error *err);

/* ---- simulation-based design of the primary analysis ---- */

typedef struct lp_design_options {
  size_t trials; /* simulated trials (1000) */
  lp_sim_effect effect;
  double difference; /* with LP_EFFECT_DESIGN (0.5) */
  size_t patients;   /* per trial, randomised 1:1 in blocks (516) */
  size_t bootstrap;  /* resamples per trial for the percentile interval (2000) */
  uint64_t seed;
  double alpha; /* 0.05 */
  int threads;  /* 0 = all cores */
  /* The truth found by an earlier run with the same seed and effect (for a power
   * curve over several sizes): when set, the 400,000-patient population is skipped. */
  bool truth_known;
  double true_difference, sd_outcome;
} lp_design_options;

void lp_design_options_default(lp_design_options *o);

typedef struct lp_design_result {
  size_t trials;
  double true_difference; /* of mean daily SOFA under the model (a 400,000-patient run) */
  double mean_estimate, sd_estimate;
  double reject;           /* share of trials with Mann-Whitney P < alpha (power, or type I error) */
  double ci_excludes_zero; /* share whose bootstrap interval excludes 0 */
  double coverage;         /* share whose interval covers the true difference */
  double mean_ci_width;
  double sd_outcome; /* SD of mean daily SOFA (pooled over arms) */
} lp_design_result;

/* Simulate `trials` trials with the patient model and run the plan's primary
 * analysis on each (difference in mean daily SOFA, stratified bootstrap percentile
 * interval, Mann-Whitney test). Trials run in parallel; trial t uses the streams of
 * (seed, t), so the result does not depend on the number of threads. */
lp_status lp_design_primary(const lp_design_options *o, lp_design_result *out, lp_error *err);

/* ---- whole trials through the store and the full plan (design --full) ---- */

typedef struct lp_design_full_options {
  size_t trials; /* whole trials (each of the model's default size) */
  uint64_t seed; /* trial t is simulated and analysed with seed + 1000 + t */
  lp_sim_effect effect;
  double difference;                           /* with LP_EFFECT_DESIGN */
  size_t bootstrap, permutations, imputations; /* per trial (1000, 200, 5) */
  int threads;                                 /* the thread budget of each analysis (0: all cores) */
  const char *plan;                            /* NULL: the built-in plan */
  const char *work_dir;                        /* where the trials are made and removed again (NULL: TMPDIR or /tmp) */
  void (*progress)(void *ctx, size_t done, size_t total);
  void *progress_ctx;
} lp_design_full_options;

void lp_design_full_options_default(lp_design_full_options *o);

/* One plan row that compares the arms: its estimate over the trials, beside the
 * estimate the plan quotes from the publication. */
typedef struct lp_design_full_row {
  char id[64], label[256];
  size_t trials;                 /* trials in which the estimate could be computed */
  double mean, sd, se_mean;      /* of the estimate over those trials (se_mean: the Monte Carlo error of mean) */
  double q025, q975;             /* the middle 95% of single trials' estimates (quantiles, R's type 7) */
  double published, z_published; /* NAN when the plan quotes none; z = (published - mean) / sd */
  bool points;                   /* a difference of proportions (x 100: percentage points, as Table 3 gives it) */
} lp_design_full_row;

typedef struct lp_design_full {
  size_t n;
  lp_design_full_row *rows; /* in plan order */
} lp_design_full;

/* Simulate each trial through the store, analyse it in memory with the plan and keep
 * the estimate of every row that compares the arms (no report is written). Every file
 * and folder the run creates is removed again, on success and on failure. */
lp_status lp_design_full_run(const lp_design_full_options *o, lp_design_full *out, lp_error *err);
void lp_design_full_clear(lp_design_full *f);

#ifdef __cplusplus
}
#endif
#endif
