/* State of one plan run, shared by plan_run.c and the analysis kinds in other
 * files of the trial module (plan_cox.c). */
#ifndef LEOPARDS_PLAN_RUN_H
#define LEOPARDS_PLAN_RUN_H

#include <stdbool.h>

#include "analysis/plan_internal.h"

#define LP__BOOT_GROUP 16

/* Result rows waiting for one shared bootstrap (see plan_run.c). */
typedef struct {
  size_t k;
  bool median;
  size_t na, nb;
  bool *used; /* data rows in the analysis */
  double *a[LP__BOOT_GROUP], *b[LP__BOOT_GROUP];
  size_t row[LP__BOOT_GROUP]; /* index of the result row */
} boot_group;

typedef struct lp__run {
  const lp_table *t;
  const lp_plan_options *o;
  lp_error *err;
  lp_results *out;
  const char *plan_source;
  size_t n;
  int *arm; /* per data row: 0 first arm, 1 second, -1 neither */
  bool *keep;
  double *v, *a, *b, *work, *scratch;
  size_t *rows;
  bool *used; /* data rows with a value in the current analysis */
  boot_group group;
  bool sparse;  /* the error just set is the data's sparseness, not the plan's fault */
  bool builtin; /* the plan is the built-in LeoPARDS plan: errors name its rows by id */
} lp__run;

lp_status lp__plan_error(const lp__run *x, const lp_plan_row *r, const char *col, lp_status s, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* A row the data cannot support (an empty arm, too few values, no events): the row
 * is reported as not estimable, with this text as the reason, and the run goes on. */
lp_status lp__plan_sparse(lp__run *x, const lp_plan_row *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
lp_status lp__plan_column(const lp__run *x, const lp_plan_row *r, const char *plan_col, const char *name, double *out);
lp_status lp__plan_select(const lp__run *x, const lp_plan_row *r, bool *keep);
lp_status lp__run_cox(lp__run *x, const lp_plan_row *r, lp_result *res);

#endif
