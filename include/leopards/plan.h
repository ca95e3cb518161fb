/* leopards analysis plans: a plan is data, a CSV file with one analysis per row
 * (outcome, population, summary, interval method, test, adjustment), run against
 * the per-patient analysis data set to give one results structure that every
 * renderer (HTML, Markdown, CSV, JSON) reads. The LeoPARDS plan ships as
 * plans/leopards.csv and is built in.
 * Ownership: lp_plan is read-only once parsed (lp_plan_free); lp_results owns its rows,
 * curves and subgroups (lp_results_clear). Threads: parsing and running are re-entrant;
 * one lp_plan may be run from several threads at once; `threads` in the options is the
 * call's thread budget (0: the process's budget, see core.h). */
#ifndef LEOPARDS_PLAN_H
#define LEOPARDS_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <leopards/core.h>
#include <leopards/table.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a plan row computes. */
typedef enum {
  LP_AN_MEAN = 0, /* mean +- SD; difference in means, bootstrap CI; Mann-Whitney P */
  LP_AN_MEDIAN,   /* median (IQR); difference in medians, bootstrap CI; Mann-Whitney P */
  LP_AN_BINARY,   /* n/N (%); difference in percentage points, named CI; chi-square P */
  LP_AN_COUNT,    /* n (%) of all patients; as binary (safety rows) */
  LP_AN_ADJUSTED, /* regression coefficient of arm adjusted for covariates; bootstrap CI */
  LP_AN_COX,      /* Cox hazard ratio adjusted, clustered; Kaplan-Meier curves */
  LP_AN_SUBGROUP, /* effect within subgroups; permutation test of heterogeneity */
  LP_AN_IMPUTED,  /* pooled over multiple imputations (columns OUTCOME_1..OUTCOME_M) */
  LP_AN_BASELINE, /* description only (Tables 1 and 2): mean/median/n (%) per arm */
  LP_AN_KINDS
} lp_analysis_kind;

const char *lp_analysis_kind_name(lp_analysis_kind k);

/* What the report and the summary use a plan row for (the plan's optional `role`
 * column); each role other than none is given to at most one row. The report and the
 * summary find rows by role, never by id, so a plan may name its rows as it likes. */
typedef enum {
  LP_PLAN_ROLE_NONE = 0,
  LP_PLAN_ROLE_PRIMARY,         /* "primary": the summary line and the forest plot's first row */
  LP_PLAN_ROLE_SURVIVAL_FIGURE, /* "survival-figure": a cox row drawn as Figure 2 */
  LP_PLAN_ROLE_WEANING_FIGURE,  /* "weaning-figure": a cox row drawn as the second Kaplan-Meier figure */
  LP_PLAN_ROLES
} lp_plan_role;

/* "primary", "survival-figure", ...; "" for none. */
const char *lp_plan_role_name(lp_plan_role r);

typedef struct lp_plan lp_plan;

/* Parse a plan (CSV). Every problem is reported with the plan's file and line and
 * the column at fault: an unknown kind, interval or test, a missing outcome, a
 * duplicate id. Column names of the data set are checked later, by lp_plan_run. */
lp_status lp_plan_load(const char *path, lp_plan **out, lp_error *err);
lp_status lp_plan_parse(const char *text, size_t len, const char *source, lp_plan **out, lp_error *err);
/* The LeoPARDS plan, as shipped in plans/leopards.csv. */
lp_status lp_plan_leopards(lp_plan **out, lp_error *err);
void lp_plan_free(lp_plan *p);
size_t lp_plan_size(const lp_plan *p);
/* The level labels the plan gives the subgroup column `column` ("a|b|c", in the
 * order of the subgroup's levels): the `levels` of the first subgroup row on it;
 * NULL when no row gives any. */
const char *lp_plan_subgroup_levels(const lp_plan *p, const char *column);

typedef struct lp_plan_options {
  uint64_t seed;
  size_t bootstrap;           /* resamples, default 100000 */
  size_t permutations;        /* default 10000 */
  int threads;                /* 0 = all cores */
  double level;               /* 0.95 */
  const char *arms[2];        /* level names: first minus second ("levosimendan", "placebo") */
  const char *arm_column;     /* default "arm" */
  const char *cluster_column; /* default "site" */
} lp_plan_options;

void lp_plan_options_default(lp_plan_options *o);

/* One row of results, in the paper's style and as numbers. */
typedef struct lp_result {
  char id[64];
  char table[32]; /* "table1", "table3", "figure2", ... */
  char section[128];
  char label[256];
  lp_analysis_kind kind;
  char arm_text[2][64];  /* "6.68±3.96", "89/258 (34.5)", "22 (0 to 26)" */
  double arm_stat[2][3]; /* mean, sd, - | median, q1, q3 | events, n, percent */
  long arm_n[2];
  double estimate, ci[2], p; /* NAN where not applicable */
  double published;          /* the estimate the plan quotes from a publication (NAN: none) */
  char effect_text[96];      /* "0.61 (-0.07 to 1.29)" */
  char p_text[16];           /* "0.053", "<0.001", ">0.99", "" */
  char method[160];          /* what was computed, for the footnotes */
  long n_used;
  char subsection[128];    /* a heading within the section ("Death — no./total no. (%)") */
  char note[256];          /* the plan's footnote for the row (population, definition) */
  char not_estimable[160]; /* why the row could not be estimated ("" when it was) */
  lp_plan_role role;       /* from the plan's role column */
  char outcome[64];        /* the analysis data set's column the row analyses ("" for cox rows) */
} lp_result;

/* A step curve (Kaplan-Meier) kept for the figures. */
typedef struct lp_result_curve {
  char id[64];
  char arm[64];
  size_t n;
  double *time, *surv;
  size_t ncensor;
  double *censor;
  long at_risk[5]; /* at days 0, 7, 14, 21, 28 */
} lp_result_curve;

/* A subgroup analysis kept for the forest plot. */
typedef struct lp_result_subgroup {
  char id[64];
  char outcome[64];  /* the analysis data set's column */
  char section[128]; /* the outcome, from the plan's section */
  char label[128];
  size_t nlevels;
  char levels[8][64];
  double estimate[8], lo[8], hi[8];
  char arm_text[8][2][32];
  double p_interaction;
  long n[8];             /* patients in each level (both arms) */
  long arm_n[8][2];      /* ... by arm */
  double arm_mean[8][2]; /* the outcome's mean by level and arm (a proportion when binary) */
  bool binary;           /* the outcome is 0/1: effects are differences in proportions */
} lp_result_subgroup;

typedef struct lp_results {
  char arms[2][64];
  long arm_n[2];
  size_t n, cap;
  lp_result *rows;
  size_t ncurves;
  lp_result_curve *curves;
  size_t nsubgroups;
  lp_result_subgroup *subgroups;
  uint64_t seed;
  size_t bootstrap, permutations;
} lp_results;

/* Run every row of the plan on the analysis data set (one row per patient). A
 * column the plan names that the data set lacks, or values of the wrong type, is
 * an error naming the plan line and the column; nothing is returned half-filled. */
lp_status lp_plan_run(const lp_plan *plan, const lp_table *patients, const lp_plan_options *o, lp_results *out,
                      lp_error *err);
void lp_results_clear(lp_results *r);
/* The result row with role `role`, or NULL when the plan gives that role to no row. */
const lp_result *lp_results_find_role(const lp_results *r, lp_plan_role role);

/* Journal number style: P with two decimals above 0.01 (three where two would
 * read 0.05), three down to 0.001, then "<0.001"; ">0.99" at the top. */
void lp_format_p(double p, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
