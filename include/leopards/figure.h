/* leopards figures: the paper's figures drawn once with cairo and written as SVG,
 * PDF or PNG (or SVG text in memory, for inline use in HTML): Kaplan-Meier curves
 * with numbers at risk, forest plots, line charts with intervals, and the CONSORT
 * flow diagram. Inputs are plain arrays; nothing here knows the trial.
 * Ownership: inputs are borrowed for the call; an SVG text returned in memory is the
 * caller's to free. Threads: re-entrant (each call draws on its own cairo surface). */
#ifndef LEOPARDS_FIGURE_H
#define LEOPARDS_FIGURE_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LP_FIG_SVG = 0, LP_FIG_PDF = 1, LP_FIG_PNG = 2 } lp_fig_format;

/* Where a figure goes: a file (`path`), or, with path NULL and format SVG, a
 * malloc'ed NUL-terminated SVG text in *svg (free() it). */
typedef struct lp_fig_target {
  lp_fig_format format;
  const char *path;
  char **svg;
} lp_fig_target;

/* File format from a file name's extension (.svg, .pdf, .png). */
lp_status lp_fig_format_from_path(const char *path, lp_fig_format *out, lp_error *err);

/* A series of points. For a step curve, y[i] holds from x[i] to x[i + 1]. */
typedef struct lp_fig_series {
  const char *label;
  size_t n;
  const double *x, *y;
  const double *lo, *hi; /* optional interval per point (line charts) */
  size_t nmarks;         /* censoring marks on a step curve */
  const double *mark_x;
} lp_fig_series;

typedef struct lp_km_figure {
  const char *title; /* may be NULL */
  const char *xlabel, *ylabel;
  double xmax;  /* x axis 0..xmax */
  double xstep; /* tick spacing */
  double ymin;  /* y axis ymin..1 */
  size_t nseries;
  const lp_fig_series *series;
  size_t nrisk; /* numbers at risk at these times, below the axis */
  const double *risk_times;
  const long *at_risk;    /* nseries x nrisk, row-major */
  const char *annotation; /* e.g. the hazard ratio; may be NULL */
} lp_km_figure;

lp_status lp_figure_km(const lp_km_figure *f, const lp_fig_target *to, lp_error *err);

typedef struct lp_forest_row {
  const char *label;
  bool heading; /* a heading row: label only */
  double estimate, lo, hi;
  const char *left_text;  /* e.g. "6.5 vs 6.1" (may be NULL) */
  const char *right_text; /* e.g. "0.61 (-0.07 to 1.29)" (may be NULL) */
  const char *n_text;     /* a column before left_text, e.g. the patients in the row (may be NULL) */
  const char *p_text;     /* a last column, e.g. a heading's heterogeneity P (may be NULL) */
} lp_forest_row;

typedef struct lp_forest_figure {
  const char *title;
  const char *xlabel;
  const char *left_heading, *right_heading; /* column headings for the texts */
  double null_value;                        /* the vertical reference line */
  double xmin, xmax;
  bool log_scale; /* ratios */
  const char *favours_left, *favours_right;
  size_t nrows;
  const lp_forest_row *rows;
  const char *n_heading, *p_heading; /* headings of the n_text and p_text columns */
} lp_forest_figure;

lp_status lp_figure_forest(const lp_forest_figure *f, const lp_fig_target *to, lp_error *err);

typedef struct lp_line_figure {
  const char *title;
  const char *xlabel, *ylabel;
  double xmin, xmax, xstep;
  double ymin, ymax; /* NAN for automatic */
  size_t nseries;
  const lp_fig_series *series; /* points joined by lines; lo/hi drawn as bars */
} lp_line_figure;

lp_status lp_figure_lines(const lp_line_figure *f, const lp_fig_target *to, lp_error *err);

/* Leading spaces in `text` indent the item (one level each) under the one before. */
typedef struct lp_consort_item {
  const char *text;
  long count;
} lp_consort_item;

typedef struct lp_consort_arm {
  const char *name; /* "levosimendan" */
  long assigned;
  long received;
  size_t nnot; /* reasons for not receiving */
  const lp_consort_item *not_received;
  long analysed;    /* primary (ITT) analysis */
  size_t nexcluded; /* reasons for exclusion from the analysis */
  const lp_consort_item *excluded;
  long withdrawn;  /* consent withdrawn after randomisation (-1: not shown) */
  long lost;       /* lost to follow-up (-1: not shown) */
  long as_treated; /* in the as-treated analysis (-1: not shown) */
  long open_label; /* of the received, those who also had the other arm's drug open-label */
} lp_consort_arm;

typedef struct lp_consort_figure {
  long assessed;
  long excluded;
  size_t nreasons; /* exclusion reasons (a patient may have several) */
  const lp_consort_item *reasons;
  long randomised;
  lp_consort_arm arm[2];
} lp_consort_figure;

lp_status lp_figure_consort(const lp_consort_figure *f, const lp_fig_target *to, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
