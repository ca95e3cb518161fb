/* leopards clinical rules: the bedside scores and protocol rules of the trial as
 * pure functions of the values a case report form records (no I/O, no
 * allocation). Conventions where published sources disagree are stated here and in
 * docs/clinical.md. A missing number is NAN; a missing flag is -1. */
#ifndef LEOPARDS_CLINICAL_H
#define LEOPARDS_CLINICAL_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- SOFA */

typedef enum {
  LP_SOFA_RESP = 0,
  LP_SOFA_COAG,
  LP_SOFA_LIVER,
  LP_SOFA_CV,
  LP_SOFA_CNS,
  LP_SOFA_RENAL,
  LP_SOFA_NCOMP
} lp_sofa_component;

const char *lp_sofa_component_name(lp_sofa_component c); /* "respiratory", "coagulation", ... */

/* One day's worst values, in canonical units (see lp_sofa_input_init). */
typedef struct lp_sofa_input {
  double pao2;           /* mmHg */
  double fio2;           /* fraction 0.21-1.0 (a percentage is refused) */
  int ventilated;        /* respiratory support: 1, 0, or -1 unknown (treated as none) */
  double platelets;      /* 10^3/uL */
  double bilirubin;      /* mg/dL (umol/L / 17.1) */
  double map;            /* mmHg, lowest */
  double dopamine, dobutamine, epinephrine, norepinephrine; /* ug/kg/min, highest given >= 1 h */
  double vasopressin;    /* units/min: recorded, never scored */
  double gcs;            /* 3-15 */
  double creatinine;     /* mg/dL (umol/L / 88.4) */
  double urine_ml;       /* mL/day */
} lp_sofa_input;

/* All fields missing (NAN, ventilated -1). */
void lp_sofa_input_init(lp_sofa_input *in);

typedef struct lp_sofa {
  int component[LP_SOFA_NCOMP]; /* 0-4, or -1 when its inputs are missing */
  int systems;                  /* 5 (no CNS, the trial's daily score) or 6 */
  int total;                    /* sum of the scored systems, -1 if any is missing */
  unsigned missing;             /* bit c set when component c is missing */
} lp_sofa;

/* Score one day. Inputs outside physiological range are an error naming the field
 * (LP_ERANGE): FiO2 above 1 (a percentage) or below 0.21, PaO2 outside 20-800,
 * platelets < 0 or > 2000, bilirubin < 0 or > 80, MAP outside 10-250, a negative
 * drug rate, GCS outside 3-15, creatinine < 0 or > 30, urine < 0 or > 30000.
 * Conventions: strict "<" cut-offs, half-open bands; respiratory above 2 only with
 * respiratory support; catecholamines score only at a rate > 0; a missing drug
 * rate is taken as not given, but with no drug given the MAP is needed; renal is
 * the worse of creatinine and urine output. */
lp_status lp_sofa_score(const lp_sofa_input *in, int systems, lp_sofa *out, lp_error *err);

/* Mean daily SOFA of one patient over its ICU days (day 1 after randomisation to
 * ICU discharge or day 28), with an explicit rule for missing components. */
typedef enum {
  LP_MISSING_LOCF = 0,   /* last observed value carried forward within the patient; a gap at the
                            start takes the first later value; a component never observed counts 0 */
  LP_MISSING_ZERO = 1,   /* a missing component counts as 0 (normal) */
  LP_MISSING_COMPLETE = 2 /* only days with every component observed */
} lp_missing_rule;

const char *lp_missing_rule_name(lp_missing_rule r);
lp_status lp_missing_rule_parse(const char *s, lp_missing_rule *out, lp_error *err);

typedef struct lp_sofa_mean {
  double mean;                           /* mean daily total */
  double component[LP_SOFA_NCOMP];       /* mean daily score of each system (NAN if not scored) */
  size_t days;                           /* days in the mean */
  size_t filled;                         /* component-days filled by the rule */
  lp_missing_rule rule;
} lp_sofa_mean;

/* Fails with LP_EDATA when there is no day (or, for "complete", no complete day). */
lp_status lp_sofa_mean_daily(const lp_sofa *days, size_t ndays, lp_missing_rule rule, lp_sofa_mean *out,
                             lp_error *err);

/* ---------------------------------------------------------------- kidney (KDIGO) */

/* KDIGO stage 0-3 from creatinine (mg/dL) against the patient's baseline: stage 3 at
 * >= 3.0 x baseline, >= 4.0 mg/dL or renal-replacement therapy; stage 2 at 2.0-2.9
 * x; stage 1 at 1.5-1.9 x or a rise >= 0.3 mg/dL within 48 h (rise48, NAN if not
 * known). Urine-output criteria are not used (as in the trial). */
lp_status lp_kdigo_stage(double creatinine, double baseline, double rise48, bool rrt, int *stage, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
