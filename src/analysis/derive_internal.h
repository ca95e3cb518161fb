/* Shared parts of the outcome derivation (not public): one patient as read from the
 * export, and the row of derived values that the column definitions read. Names lp__. */
#ifndef LEOPARDS_DERIVE_INTERNAL_H
#define LEOPARDS_DERIVE_INTERNAL_H

#include <stdbool.h>

#include <leopards/clinical.h>
#include <leopards/derive.h>
#include <leopards/strbuf.h>
#include <leopards/table.h>

typedef struct {
  lp_table *t;
  char path[4096];
} lp__tab;

/* One patient as the export records it; times in days since randomisation, NAN if none. */
typedef struct {
  const char *code;
  int arm; /* 0 / 1 in the store's order */
  const char *site;
  double rand_day;
  long base_row; /* row in patients.csv, -1 if none */
  bool withdrawn, received;
  int not_received_reason; /* level of outcomes.not_received_reason (0-based), -1 when not recorded */
  bool open_label;         /* also received the active drug open-label */
  bool retro_refused;      /* the retrospective consent was refused (consents.csv) */
  double icu_end, hosp_end, death, weaned;
  bool died;
  int ndays;
  lp_sofa day[LP_DERIVE_MAX_DAYS];
  bool have_day[LP_DERIVE_MAX_DAYS];
  bool vent[LP_DERIVE_MAX_DAYS], rrt[LP_DERIVE_MAX_DAYS], catechol[LP_DERIVE_MAX_DAYS],
      catechol_known[LP_DERIVE_MAX_DAYS];
  double creat[LP_DERIVE_MAX_DAYS];
  int ae[6]; /* any serious, then slot 1-4 for the levels of the adverse-event category, 5 other */
} lp__patient;

/* The protocol's subgroups: the baseline field each derived column cuts and where.
 * Level k holds the values below cut k (strictly when `below`, else up to and
 * including it), the last level the rest. The labels come from the plan. */
#define LP__NSUBGROUPS 4
#define LP__SUBGROUP_LEVELS 3
typedef struct {
  const char *column; /* the derived column (sg_...) */
  int field;          /* the baseline field */
  double quantile;    /* > 0: a single cut at this quantile among the analysed patients */
  size_t ncuts;       /* 1 or 2 */
  double cut[2];      /* fixed cut-points, ascending (when quantile is 0) */
  bool below[2];
} lp__subgroup_def;
extern const lp__subgroup_def lp__subgroups[LP__NSUBGROUPS];

/* What every row shares: the options, the baseline table, the arms, the cut-points. */
typedef struct {
  const lp_derive_options *o;
  const lp__tab *base;
  const char (*arms)[64];
  double sg_cut[LP__NSUBGROUPS][2];                       /* subgroup cut-points */
  char sg_label[LP__NSUBGROUPS][LP__SUBGROUP_LEVELS][64]; /* and their level labels */
  /* The sensitivity analyses' imputed mean daily SOFA of patient i in imputation k at
   * [i * imputations + k]: the ICU days (prespecified), every day to the horizon (post hoc). */
  const double *mi_icu, *mi_horizon;
} lp__derive_ctx;

/* The derived values of one patient, computed once, read by the column definitions. */
typedef struct {
  const lp__derive_ctx *x;
  const lp__patient *p;
  size_t index; /* in the sorted patient list (the imputation streams) */
  const char *sex, *race;
  lp_sofa_input bi; /* baseline SOFA inputs */
  lp_sofa bs;       /* baseline six-system SOFA */
  int stage;        /* baseline KDIGO stage, -1 unknown */
  double cr0, cref;
  int nd; /* ICU days */
  lp_sofa days[LP_DERIVE_MAX_DAYS];
  bool have_mean;
  lp_sofa_mean sm;
  bool d28;
  double t28;
  int cat_days, vent_days, rrt_days;
  bool ventilated, wean;
  double tw;
  lp_kidney_outcome ko;
} lp__row;

/* Baseline value of field `id` (NAN when missing), as a 0/1 flag (-1 missing), as text ("" missing). */
double lp__bval(const lp__tab *base, const lp__patient *p, int id);
int lp__bflag(const lp__tab *base, const lp__patient *p, int id);
const char *lp__bstr(const lp__tab *base, const lp__patient *p, int id);

/* Impute the daily SOFA components of the analysed patients for both sensitivity
 * analyses; *icu and *horizon (malloc'ed, n * imputations) as lp__derive_ctx holds them. */
lp_status lp__derive_impute(const lp__derive_ctx *x, const lp__patient *P, size_t n, double **icu, double **horizon,
                            lp_error *err);

/* Compute the row of patient p (index i). */
void lp__row_compute(const lp__derive_ctx *x, const lp__patient *p, size_t i, lp__row *r);
/* The CSV header line of the analysis data set (with its newline), and one patient's line. */
void lp__write_header(lp_strbuf *b, size_t imputations);
void lp__write_row(lp_strbuf *b, const lp__row *r);

#endif
