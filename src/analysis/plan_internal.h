/* Layout of a parsed plan, shared by plan.c (parsing) and plan_run.c (running). */
#ifndef LEOPARDS_PLAN_INTERNAL_H
#define LEOPARDS_PLAN_INTERNAL_H

#include <leopards/plan.h>

/* Indexes into the word lists of plan.c. */
enum { LP__CI_WALD, LP__CI_WALD_CC, LP__CI_NEWCOMBE, LP__CI_BOOTSTRAP, LP__CI_ROBUST, LP__CI_NONE };
enum { LP__TEST_MW, LP__TEST_CHISQ_YATES, LP__TEST_CHISQ, LP__TEST_FISHER, LP__TEST_NONE, LP__TEST_DEFAULT };
enum { LP__SUM_MEAN, LP__SUM_MEDIAN, LP__SUM_PERCENT, LP__SUM_COUNT, LP__SUM_N, LP__SUM_NONE };

typedef struct lp_plan_row {
  long line;
  const char *id, *table, *section, *label, *outcome, *population;
  const char *adjust, *factors, *time, *event, *subgroup;
  const char *levels;     /* display order of subgroup levels, "a|b|c" (may be empty) */
  const char *subsection; /* a heading within the section (may be empty) */
  const char *note;       /* the row's footnote in the tables (may be empty) */
  lp_analysis_kind kind;
  lp_plan_role role;
  int ci, test, summary, digits; /* digits -1: the kind's default */
  double published;              /* the published estimate, for comparisons (NAN: none) */
} lp_plan_row;

struct lp_plan {
  lp_table *t; /* the plan text; rows point into it */
  size_t n;
  lp_plan_row *rows;
  bool builtin; /* the built-in LeoPARDS plan (errors name it and the row id, not a file) */
};

/* plans/leopards.csv, embedded at build time. */
extern const char lp__plan_leopards_csv[];

#endif
