/* leopards outcome derivation: from a locked trial's export (one CSV per table, with
 * the allocations) to the per-patient analysis data set the plan runs on, the
 * CONSORT flow counts and the daily SOFA course. Each column of the data set is one
 * entry of a table of definitions (name, type, unit, one-line definition, the function
 * that computes it): the CSV header, the data dictionary written beside it and the
 * list in docs/outcomes.md all come from that table. The data set is itself written
 * out as CSV, so that anyone can recompute the results in another package.
 * Ownership: lp_derived owns its buffers (lp_derived_clear frees them); the column
 * table is static. Threads: every function here is re-entrant (no shared state). */
#ifndef LEOPARDS_DERIVE_H
#define LEOPARDS_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include <leopards/clinical.h>
#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The longest follow-up horizon the derivation supports, in days. */
#define LP_DERIVE_MAX_DAYS 90

typedef struct lp_derive_options {
  int horizon;          /* days of follow-up: daily records, deaths, free days (28; at most LP_DERIVE_MAX_DAYS) */
  double level;         /* confidence level of the daily course's intervals (0.95) */
  lp_missing_rule rule; /* missing daily SOFA components in the primary outcome (locf) */
  size_t imputations;   /* multiple imputations of missing daily components (20) */
  uint64_t seed;        /* for the imputations */
  int threads;          /* for the imputations: 0 is the process's budget; results do not depend on it */
  lp_kidney_reference kidney_reference; /* what the KDIGO stages are measured against (estimated) */
  /* The level labels of the subgroup columns (sg_...), from the plan's `levels`
   * (lp_plan_subgroup_levels); NULL, or a column the plan does not label: labels
   * written from the cut-points ("<= 2", "> 2"). Not owned. */
  const struct lp_plan *plan;
} lp_derive_options;

void lp_derive_options_default(lp_derive_options *o);

/* A leading space in `text` indents the item one level under the one before. */
typedef struct lp_flow_item {
  char text[112];
  long count;
} lp_flow_item;

/* The reasons for not receiving the drug: one item per code of the outcome form's
 * not_received_reason, and the patients whose reason was not recorded. */
#define LP_FLOW_MAX_NOT_RECEIVED 8

/* The CONSORT flow (Figure 1) from the screening log and the disposition records. */
typedef struct lp_flow {
  long assessed, excluded, randomised;
  size_t nreasons;
  lp_flow_item reasons[24];
  struct {
    char name[64];
    long assigned, received, analysed;
    size_t nnot, nexcluded;
    lp_flow_item not_received[LP_FLOW_MAX_NOT_RECEIVED], excluded[4];
    long open_label; /* received the assigned drug and the active drug open-label */
    long withdrawn;  /* consent withdrawn after randomisation */
    long lost;       /* alive, not withdrawn, no hospital discharge recorded: vital status unknown */
    long as_treated; /* received the drug and not withdrawn */
  } arm[2];
} lp_flow;

/* Mean daily five-system SOFA by arm and ICU day (1..horizon), among patients in the
 * ICU that day, with a normal interval at the options' level. */
typedef struct lp_daily_course {
  int days;
  long n[2][LP_DERIVE_MAX_DAYS];
  double mean[2][LP_DERIVE_MAX_DAYS], lo[2][LP_DERIVE_MAX_DAYS], hi[2][LP_DERIVE_MAX_DAYS];
} lp_daily_course;

typedef struct lp_derived {
  char *csv; /* the analysis data set, one row per patient in the analysis */
  size_t csv_len;
  char *tte_csv; /* time-to-event file: one row per patient and outcome (death28, weaning) */
  size_t tte_len;
  char *dictionary_csv; /* the data dictionary of csv: name,type,unit,definition, one row per column */
  size_t dictionary_len;
  char arms[2][64];      /* arm labels, in the store's order */
  long patients;         /* rows of the data set */
  long withdrawn;        /* randomised but excluded (consent withdrawn) */
  size_t filled;         /* daily component values filled by the missing-data rule */
  size_t component_days; /* daily component values expected */
  lp_flow flow;
  lp_daily_course course;
} lp_derived;

/* Derive from the folder written by `leopards export --key` (after lock). Errors
 * name the file, line and column of what is wrong (a missing table or column, a
 * daily record of an unknown patient, an unreadable date). */
lp_status lp_derive(const char *export_dir, const lp_derive_options *o, lp_derived *out, lp_error *err);
void lp_derived_clear(lp_derived *d);

/* ---- multiple imputation of the daily SOFA components (docs/outcomes.md) ---- */

/* The five systems of the daily SOFA, in the order of the imputation model's columns. */
#define LP_SOFA_MI_NCOMP 5

/* One patient's daily course as the imputation models see it. */
typedef struct lp_sofa_course {
  int arm;         /* 0 or 1 */
  double baseline; /* baseline SOFA total; NAN when not recorded (then imputed too) */
  int icu_days;    /* ICU days 1..icu_days (at most the horizon); 0: none (not analysed) */
  int died;        /* 1: died by the horizon */
  int left_alive;  /* 1: discharged alive from the ICU before the horizon */
  /* resp, coag, liver, cv, renal on ICU day d + 1; -1 where not recorded */
  signed char comp[LP_DERIVE_MAX_DAYS][LP_SOFA_MI_NCOMP];
} lp_sofa_course;

typedef enum {
  LP_SOFA_MI_ICU = 0, /* prespecified: the missing components of the ICU days; mean over the ICU days */
  LP_SOFA_MI_HORIZON  /* post hoc: also every day after an ICU discharge or death up to the horizon;
                         mean over the horizon's days */
} lp_sofa_mi_kind;

typedef struct lp_sofa_mi_options {
  lp_sofa_mi_kind kind;
  int horizon;   /* days (28) */
  size_t m;      /* imputations (20) */
  size_t maxit;  /* sweeps of the chained equations (5, as mice) */
  size_t donors; /* predictive mean matching donors (5, as mice) */
  uint64_t seed; /* imputation k uses the stream (seed, k) */
  int threads;   /* 0: the process's budget; results do not depend on it */
} lp_sofa_mi_options;

void lp_sofa_mi_options_default(lp_sofa_mi_options *o);

/* The names of the imputation model's columns, in order (NULL past the end): the five
 * components, arm, sofa_baseline, day, died28, left_icu_alive, then other_resp ...
 * other_renal (the mean of the patient's observed values of that component on the
 * other ICU days). */
const char *lp_sofa_mi_column(size_t j);
#define LP_SOFA_MI_NCOLS 15

/* The imputation model's predictor matrix (row j: the columns that impute column j):
 * a component from the same day's other components, arm, sofa_baseline, day, died28,
 * left_icu_alive and its own other_ column; an other_ column (undefined when the
 * patient has no other observed day of it) from arm, sofa_baseline, died28 and
 * left_icu_alive; sofa_baseline from arm, died28, left_icu_alive and the other_ columns. */
void lp_sofa_mi_predictors(unsigned char pred[LP_SOFA_MI_NCOLS * LP_SOFA_MI_NCOLS]);

/* Build the imputation model's data (rows: one per patient-day to impute from or to
 * impute; columns as lp_sofa_mi_column, column-major, NAN where missing). *data and
 * *patient (the course index of each row) are malloc'ed; free() them. */
lp_status lp_sofa_mi_frame(const lp_sofa_course *c, size_t n, const lp_sofa_mi_options *o, double **data,
                           size_t **patient, size_t *rows, lp_error *err);

/* Multiply impute (mice's "pmm" with the predictor matrix above, maxit sweeps) and
 * write each patient's mean daily five-system SOFA in each imputation: means[i * m + k]
 * (NAN for a patient with no ICU day). Re-entrant. */
lp_status lp_sofa_impute(const lp_sofa_course *c, size_t n, const lp_sofa_mi_options *o, double *means, lp_error *err);

/* ---- the table of definitions ---- */

typedef enum { LP_COLUMN_TEXT, LP_COLUMN_NUMBER, LP_COLUMN_FLAG } lp_column_type;

typedef struct lp_derived_column {
  const char *name; /* the CSV header name; with `per_imputation`, the prefix of NAME1..NAMEM */
  lp_column_type type;
  const char *unit;       /* "" when none */
  const char *definition; /* one line */
  int per_imputation;     /* one column per imputation (sofa_mi_1 ... sofa_mi_M) */
} lp_derived_column;

/* The columns of the analysis data set, in order: how many, and column i (NULL past
 * the end). The entries are static, read-only data. */
size_t lp_derive_ncolumns(void);
const lp_derived_column *lp_derive_column(size_t i);
/* "text", "number", "flag". */
const char *lp_column_type_name(lp_column_type t);
/* The data dictionary for `imputations` imputations as CSV (name,type,unit,definition),
 * or as a Markdown table (one row for the imputation columns); malloc'ed into *out. */
lp_status lp_derive_dictionary(size_t imputations, int markdown, char **out, size_t *len, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
