/* leopards reports: one results structure rendered as a self-contained HTML page
 * (figures inline as SVG), Markdown, CSV tables, figures as SVG, PDF and PNG, and
 * report.json holding every number shown, keyed by table and row.
 * Ownership: lp_report_input and its arrays are borrowed for the call;
 * lp_analysis_results owns everything in it (lp_analysis_results_clear).
 * Threads: writing is re-entrant (distinct folders); lp_analysis_run uses the trial
 * handle it is given, which must not be used by another thread meanwhile. */
#ifndef LEOPARDS_REPORT_H
#define LEOPARDS_REPORT_H

#include <leopards/core.h>
#include <leopards/derive.h>
#include <leopards/figure.h>
#include <leopards/plan.h>

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_report_input {
  const char *title;    /* e.g. "LeoPARDS: simulated trial (seed 1)" */
  const char *subtitle; /* a line under the title; may be NULL */
  const lp_results *results;
  const lp_consort_figure *consort; /* Figure 1; may be NULL */
  const lp_line_figure *daily_sofa; /* daily course of mean SOFA by arm; may be NULL */
  const char *arm_labels[2];        /* "Levosimendan", "Placebo" */
  const char *analysis_csv;         /* written as analysis.csv when given (the data set) */
  size_t analysis_csv_len;
  const char *tte_csv; /* written as time_to_event.csv when given */
  size_t tte_csv_len;
} lp_report_input;

/* Write the report into `dir` (created if needed): report.html, report.md,
 * report.json, table1.csv, table2.csv, table3.csv, subgroups.csv and the figures
 * figure1, figure2, figure_weaning, figure_subgroups (figure_subgroups_death for a
 * binary subgrouped outcome), figure_sofa as .svg, .pdf and
 * .png. Everything is written into a fresh folder beside `dir` first and moved in
 * place at the end, so a failure leaves `dir` as it was. */
lp_status lp_report_write(const lp_report_input *in, const char *dir, lp_error *err);
/* The same into an existing folder, without the staging step (for callers that
 * stage a larger output themselves). */
lp_status lp_report_write_into(const lp_report_input *in, const char *dir, lp_error *err);

/* ---- the whole analysis of a locked trial ---- */

typedef struct lp_analysis_options {
  const char *plan;       /* plan CSV, or NULL for the built-in LeoPARDS plan */
  const char *export_dir; /* lp_analysis_run: where the export is written (kept); NULL: a temporary
                           * folder, removed before it returns */
  uint64_t seed;
  size_t bootstrap, permutations, imputations;
  int threads;
  double level;         /* confidence level of every interval (0.95) */
  int horizon;          /* days of follow-up of the derived outcomes (28) */
  int missing_rule;     /* lp_missing_rule */
  int kidney_reference; /* lp_kidney_reference: what KDIGO stages are measured against */
  const char *title;    /* NULL: from the trial */
  void (*progress)(void *ctx, const char *stage, double fraction);
  void *progress_ctx;
} lp_analysis_options;

void lp_analysis_options_default(lp_analysis_options *o);

typedef struct lp_analysis_summary {
  long patients, withdrawn;
  double seconds_derive, seconds_plan, seconds_report;
  /* The plan row whose role is primary: has_primary is false (and the numbers NAN)
   * when the plan marks no row primary or its estimate could not be computed. */
  bool has_primary;
  char primary_id[64], primary_label[256];
  double primary_estimate, primary_ci[2], primary_p;
} lp_analysis_summary;

typedef struct lp_trial lp_trial; /* include/leopards/trial.h */
typedef struct lp_trial_key lp_trial_key;

/* The whole analysis of a trial in memory: the derived data set (with the flow and the
 * daily course), the plan's results and the words of the report's title. Owned by the
 * caller: free with lp_analysis_results_clear. */
typedef struct lp_analysis_results {
  lp_derived derived;
  lp_results results;
  lp_analysis_summary summary; /* patients, timings (the report's is 0 until written), primary result */
  char title[256], subtitle[1024];
  char arm_labels[2][64]; /* capitalised arm names */
  char export_dir[4096];  /* where the export was written ("" when it was temporary) */
} lp_analysis_results;

/* Analyse the open, locked trial `t` with its key `k`: export (into o->export_dir, or a
 * temporary folder), derive, run the plan. Nothing is written besides the export.
 * `db_name` names the trial in the default title (may be NULL). Refused when the plan
 * is bad or the trial is not locked. On failure *out is cleared.
 * Threads: `t` is used by this thread only for the call (one handle per thread);
 * o->threads is the number of threads the call may use (0: all cores). */
lp_status lp_analysis_run(lp_trial *t, const lp_trial_key *k, const char *db_name, const lp_analysis_options *o,
                          lp_analysis_results *out, lp_error *err);
void lp_analysis_results_clear(lp_analysis_results *r);

/* What lp_analysis_write writes. */
enum {
  LP_OUTPUT_REPORT = 1u << 0, /* report.html, report.md, report.json, the tables as CSV, the figures */
  LP_OUTPUT_DATA = 1u << 1,   /* analysis.csv, analysis_dictionary.csv, time_to_event.csv */
  LP_OUTPUT_ALL = LP_OUTPUT_REPORT | LP_OUTPUT_DATA
};

/* Write the results into the existing folder `dir` (no staging: the caller stages). */
lp_status lp_analysis_write(const lp_analysis_results *r, const char *dir, unsigned outputs, lp_error *err);

/* Export the locked trial `db` with its key into OUT/data, derive the analysis data
 * set (OUT/analysis.csv), run the plan and write the report into OUT. Refused with
 * nothing written when the plan is bad, the trial is not locked, or the key is
 * missing or not this trial's. OUT is built beside itself and moved into place. */
lp_status lp_analyze(const char *db, const char *key, const char *out, const lp_analysis_options *o,
                     lp_analysis_summary *sum, lp_error *err);

/* ---- reports while the trial runs ---- */

typedef struct lp_interim_options {
  const char *user;      /* who asks: blinded, any role but investigator; closed, a statistician */
  const char *plan;      /* plan CSV, or NULL for the built-in LeoPARDS plan */
  const char *audit_key; /* closed report: the trial's audit key file (NULL: DB.audit-key when present) */
  uint64_t seed;         /* bootstrap and imputations (20160927) */
  size_t bootstrap;      /* resamples for the closed report's intervals (10000) */
  size_t permutations;   /* permutations of the plan's subgroup rows (not shown; 100) */
  size_t imputations;    /* imputations of the derivation (20) */
  int threads;
  double level; /* 0.95 */
  int horizon;  /* 28 */
  int missing_rule, kidney_reference;
  bool coded;               /* closed report: the arms as A and B instead of their names */
  const char *as_of;        /* blinded: completeness due by the end of this day (NULL: today) */
  const char *generated_at; /* the generation time shown (NULL: now, UTC) */
} lp_interim_options;
void lp_interim_options_default(lp_interim_options *o);

typedef struct lp_interim_summary {
  long randomised, analysed;
  long arm_n[2]; /* closed report only (0 in the blinded one) */
  bool has_primary;
  double primary_estimate, primary_ci[2];
  char generated_at[40];
} lp_interim_summary;

/* The blinded report of a trial in progress (or locked) into the folder `out`:
 * recruitment by site and month, data completeness, baseline characteristics and
 * outcomes pooled over both arms (HTML, Markdown, report.json, a CSV per table, the
 * pooled figures as SVG, PDF and PNG). No arm is read, named or compared. Everything
 * is read from one snapshot of the trial and nothing in it changes. Refused (nothing
 * written) to investigators and to unknown or deactivated users. `out` is an output
 * folder (leopards/outdir.h). */
lp_status lp_report_blinded(const char *db, const char *out, const lp_interim_options *o, lp_interim_summary *sum,
                            lp_error *err);
/* The closed report for the data monitoring committee, by arm (named, or A and B
 * when o->coded): safety first (serious adverse events by category, deaths), then the
 * primary outcome so far with its interval, "CONFIDENTIAL: closed report" at the top of
 * every file and in the title. Only a statistician with the trial's key; refused with
 * nothing recorded or written otherwise. Writes one audited disclosure (it reveals the
 * allocations); the rest is read from one snapshot. The same snapshot, options and
 * seed give the same files but for the generation time (and the PDF's creation date). */
lp_status lp_report_dmc(const char *db, const char *key, const char *out, const lp_interim_options *o,
                        lp_interim_summary *sum, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
