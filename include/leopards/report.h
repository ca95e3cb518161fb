/* leopards reports: one results structure rendered as a self-contained HTML page
 * (figures inline as SVG), Markdown, CSV tables, figures as SVG, PDF and PNG, and
 * report.json holding every number shown, keyed by table and row. */
#ifndef LEOPARDS_REPORT_H
#define LEOPARDS_REPORT_H

#include <leopards/core.h>
#include <leopards/figure.h>
#include <leopards/plan.h>

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_report_input {
  const char *title;                  /* e.g. "LeoPARDS: simulated trial (seed 1)" */
  const char *subtitle;               /* a line under the title; may be NULL */
  const lp_results *results;
  const lp_consort_figure *consort;   /* Figure 1; may be NULL */
  const lp_line_figure *daily_sofa;   /* daily course of mean SOFA by arm; may be NULL */
  const char *arm_labels[2];          /* "Levosimendan", "Placebo" */
  const char *analysis_csv;           /* written as analysis.csv when given (the data set) */
  size_t analysis_csv_len;
  const char *tte_csv;                /* written as time_to_event.csv when given */
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
  const char *plan;          /* plan CSV, or NULL for the built-in LeoPARDS plan */
  uint64_t seed;
  size_t bootstrap, permutations, imputations;
  int threads;
  int missing_rule;          /* lp_missing_rule */
  int kidney_reference;      /* lp_kidney_reference: what KDIGO stages are measured against */
  const char *title;         /* NULL: from the trial */
  void (*progress)(void *ctx, const char *stage, double fraction);
  void *progress_ctx;
} lp_analysis_options;

void lp_analysis_options_default(lp_analysis_options *o);

typedef struct lp_analysis_summary {
  long patients, withdrawn;
  double seconds_derive, seconds_plan, seconds_report;
  double primary_estimate, primary_ci[2], primary_p;
} lp_analysis_summary;

/* Export the locked trial `db` with its key into OUT/data, derive the analysis data
 * set (OUT/analysis.csv), run the plan and write the report into OUT. Refused with
 * nothing written when the plan is bad, the trial is not locked, or the key is
 * missing or not this trial's. OUT is built beside itself and moved into place. */
lp_status lp_analyze(const char *db, const char *key, const char *out, const lp_analysis_options *o,
                     lp_analysis_summary *sum, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
