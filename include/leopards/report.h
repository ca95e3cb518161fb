/* leopards reports: one results structure rendered as a self-contained HTML page
 * (figures inline as SVG), Markdown, CSV tables, figures as SVG, PDF and PNG, and
 * report.json holding every number shown, keyed by table and row. */
#ifndef LEOPARDS_REPORT_H
#define LEOPARDS_REPORT_H

#include <leopards/core.h>
#include <leopards/figure.h>
#include <leopards/plan.h>

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
} lp_report_input;

/* Write the report into `dir` (created if needed): report.html, report.md,
 * report.json, table1.csv, table2.csv, table3.csv, subgroups.csv and the figures
 * figure1, figure2, figure_weaning, figure_subgroups, figure_sofa as .svg, .pdf and
 * .png. Everything is written into a fresh folder beside `dir` first and moved in
 * place at the end, so a failure leaves `dir` as it was. */
lp_status lp_report_write(const lp_report_input *in, const char *dir, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
