/* leopards outcome derivation: from a locked trial's export (one CSV per table, with
 * the allocations) to the per-patient analysis data set the plan runs on, the
 * CONSORT flow counts and the daily SOFA course. Every definition is written in
 * docs/outcomes.md; the data set is itself written out as CSV, so that anyone can
 * recompute the results in another package. */
#ifndef LEOPARDS_DERIVE_H
#define LEOPARDS_DERIVE_H

#include <stddef.h>
#include <stdint.h>

#include <leopards/clinical.h>
#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_derive_options {
  lp_missing_rule rule;  /* missing daily SOFA components in the primary outcome (locf) */
  size_t imputations;    /* multiple imputations of missing daily components (20) */
  uint64_t seed;         /* for the imputations */
  lp_kidney_reference kidney_reference; /* what the KDIGO stages are measured against (estimated) */
} lp_derive_options;

void lp_derive_options_default(lp_derive_options *o);

/* A leading space in `text` indents the item one level under the one before. */
typedef struct lp_flow_item {
  char text[112];
  long count;
} lp_flow_item;

/* The CONSORT flow (Figure 1) from the screening log and the disposition records. */
typedef struct lp_flow {
  long assessed, excluded, randomised;
  size_t nreasons;
  lp_flow_item reasons[24];
  struct {
    char name[64];
    long assigned, received, analysed;
    size_t nnot, nexcluded;
    lp_flow_item not_received[6], excluded[4];
    long withdrawn;   /* consent withdrawn after randomisation */
    long lost;        /* alive, not withdrawn, no hospital discharge recorded: vital status unknown */
    long as_treated;  /* received the drug and not withdrawn */
  } arm[2];
} lp_flow;

/* Mean daily five-system SOFA by arm and ICU day (1..28), among patients in the ICU
 * that day, with a normal 95% interval. */
typedef struct lp_daily_course {
  int days;
  long n[2][28];
  double mean[2][28], lo[2][28], hi[2][28];
} lp_daily_course;

typedef struct lp_derived {
  char *csv;            /* the analysis data set, one row per patient in the analysis */
  size_t csv_len;
  char *tte_csv;        /* time-to-event file: one row per patient and outcome (death28, weaning) */
  size_t tte_len;
  char arms[2][64];     /* arm labels, in the store's order */
  long patients;        /* rows of the data set */
  long withdrawn;       /* randomised but excluded (consent withdrawn) */
  size_t filled;        /* daily component values filled by the missing-data rule */
  size_t component_days;/* daily component values expected */
  lp_flow flow;
  lp_daily_course course;
} lp_derived;

/* Derive from the folder written by `leopards export --key` (after lock). Errors
 * name the file, line and column of what is wrong (a missing table or column, a
 * daily record of an unknown patient, an unreadable date). */
lp_status lp_derive(const char *export_dir, const lp_derive_options *o, lp_derived *out, lp_error *err);
void lp_derived_clear(lp_derived *d);

#ifdef __cplusplus
}
#endif
#endif
