/* leopards clinical rules: the bedside scores and protocol rules of the trial as
 * pure functions of the values a case report form records (no I/O, no
 * allocation). Conventions where published sources disagree are stated here and in
 * docs/clinical.md. A missing number is NAN; a missing flag is -1.
 * Ownership: no allocation; inputs read, results written to caller storage.
 * Threads: every function is re-entrant (no state). */
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
  double pao2;      /* mmHg */
  double fio2;      /* fraction 0.21-1.0 (a percentage is refused) */
  int ventilated;   /* respiratory support: 1, 0, or -1 unknown (treated as none) */
  double platelets; /* 10^3/uL */
  double bilirubin; /* mg/dL (umol/L / 17.1) */
  double map;       /* mmHg, lowest */
  double dopamine, dobutamine, epinephrine, norepinephrine; /* ug/kg/min, highest given >= 1 h */
  double vasopressin;                                       /* units/min: recorded, never scored */
  double gcs;                                               /* 3-15 */
  double creatinine;                                        /* mg/dL (umol/L / 88.4) */
  double urine_ml;                                          /* mL/day */
} lp_sofa_input;

/* All fields missing (NAN, ventilated -1). */
void lp_sofa_input_init(lp_sofa_input *in);

/* SI to conventional units (creatinine umol/L / 88.4, bilirubin umol/L / 17.1),
 * rounded to 9 decimals so that a cut-off written in SI units (309.4 umol/L) lands
 * exactly on the conventional one (3.5 mg/dL) instead of a hair below it. */
#define LP_CREATININE_UMOL 88.4
#define LP_BILIRUBIN_UMOL 17.1
double lp_si_to_conventional(double value, double factor);

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
  LP_MISSING_LOCF = 0,    /* last observed value carried forward within the patient; a gap at the
                             start takes the first later value; a component never observed counts 0 */
  LP_MISSING_ZERO = 1,    /* a missing component counts as 0 (normal) */
  LP_MISSING_COMPLETE = 2 /* only days with every component observed */
} lp_missing_rule;

const char *lp_missing_rule_name(lp_missing_rule r);
lp_status lp_missing_rule_parse(const char *s, lp_missing_rule *out, lp_error *err);

typedef struct lp_sofa_mean {
  double mean;                     /* mean daily total */
  double component[LP_SOFA_NCOMP]; /* mean daily score of each system (NAN if not scored) */
  size_t days;                     /* days in the mean */
  size_t filled;                   /* component-days filled by the rule */
  lp_missing_rule rule;
} lp_sofa_mean;

/* Fails with LP_EDATA when there is no day (or, for "complete", no complete day). */
lp_status lp_sofa_mean_daily(const lp_sofa *days, size_t ndays, lp_missing_rule rule, lp_sofa_mean *out, lp_error *err);

/* ---------------------------------------------------------------- kidney (KDIGO) */

/* KDIGO stage 0-3 from creatinine (mg/dL) against the patient's baseline: stage 3 at
 * >= 3.0 x baseline, >= 4.0 mg/dL or renal-replacement therapy; stage 2 at 2.0-2.9
 * x; stage 1 at 1.5-1.9 x or a rise >= 0.3 mg/dL within 48 h (rise48, NAN if not
 * known). Urine-output criteria are not used (as in the trial). */
lp_status lp_kdigo_stage(double creatinine, double baseline, double rise48, bool rrt, int *stage, lp_error *err);

/* KDIGO 2012's estimate of a baseline creatinine (mg/dL) when none was measured
 * before the illness: the value the MDRD study equation (186 x SCr^-1.154 x
 * age^-0.203, x 0.742 if female, x 1.210 if black) puts at an eGFR of 75 mL/min per
 * 1.73 m2 (the guideline's Table 9). Age outside 18-120 is an error naming it. */
lp_status lp_kdigo_estimated_baseline(double age, bool female, bool black, double *creatinine, lp_error *err);

/* The reference creatinine the trial's kidney outcomes are staged against.
 * ESTIMATED (default): the lower of the creatinine recorded at randomisation and
 * the KDIGO estimate, as no value from before the illness is recorded (the
 * recorded one alone when the estimate cannot be made, the estimate alone when no
 * creatinine was recorded); RECORDED: the creatinine recorded at randomisation. */
typedef enum { LP_KIDNEY_REF_ESTIMATED = 0, LP_KIDNEY_REF_RECORDED = 1 } lp_kidney_reference;

const char *lp_kidney_reference_name(lp_kidney_reference r);
lp_status lp_kidney_reference_parse(const char *s, lp_kidney_reference *out, lp_error *err);

/* The paper's kidney outcomes for one patient: sustained renal failure is KDIGO stage
 * 2 or 3 at day 28 (or at ICU discharge if earlier); the major acute kidney event over
 * 28 days is death, new renal-replacement therapy or sustained renal failure (the
 * trial excluded chronic dialysis, so any RRT is new). `stage_at_end` -1 when not
 * known; the results are 1, 0, or -1 when they cannot be told. */
typedef struct lp_kidney_outcome {
  int sustained_renal_failure;
  int major_kidney_event;
} lp_kidney_outcome;

void lp_kidney_outcome_compute(int stage_at_end, bool died28, bool new_rrt, lp_kidney_outcome *out);

/* ---------------------------------------------------------------- APACHE II */

typedef enum { LP_ADMIT_NONOPERATIVE = 0, LP_ADMIT_EMERGENCY_POSTOP, LP_ADMIT_ELECTIVE_POSTOP } lp_admission;

/* Worst values of the first 24 hours (NAN when missing; flags -1 when missing). */
typedef struct lp_apache2_input {
  double temperature; /* C */
  double map;         /* mmHg */
  double heart_rate;  /* /min */
  double resp_rate;   /* /min */
  double fio2;        /* fraction */
  double pao2, paco2; /* mmHg */
  double aado2;       /* mmHg; computed from PaO2, PaCO2 and FiO2 when missing */
  double ph;
  double hco3;              /* mmol/L, used only without an arterial pH */
  double sodium, potassium; /* mmol/L */
  double creatinine;        /* mg/dL */
  int acute_renal_failure;  /* doubles the creatinine points */
  double hematocrit;        /* % */
  double wbc;               /* 10^3/uL */
  double gcs;               /* 3-15 */
  double age;               /* years */
  int chronic_health;       /* severe organ insufficiency or immunocompromise */
  lp_admission admission;
} lp_apache2_input;

void lp_apache2_input_init(lp_apache2_input *in);

enum {
  LP_APS_TEMPERATURE,
  LP_APS_MAP,
  LP_APS_HEART_RATE,
  LP_APS_RESP_RATE,
  LP_APS_OXYGENATION,
  LP_APS_PH,
  LP_APS_SODIUM,
  LP_APS_POTASSIUM,
  LP_APS_CREATININE,
  LP_APS_HEMATOCRIT,
  LP_APS_WBC,
  LP_APS_GCS,
  LP_APS_N
};
const char *lp_apache2_variable_name(int v); /* "temperature", ..., "oxygenation", "ph" (or bicarbonate) */

typedef struct lp_apache2 {
  int points[LP_APS_N]; /* per physiological variable (0 when missing) */
  int aps, age_points, chronic_points, total;
  unsigned missing;          /* bit v set when variable v was missing (scored 0) */
  bool oxygenation_by_aado2; /* FiO2 >= 0.5: A-aDO2 used, else PaO2 */
  bool acid_base_by_hco3;    /* no arterial pH: bicarbonate used */
  double aado2_used;
} lp_apache2;

/* APACHE II (Knaus 1985). Bands are half-open: a value scores the band whose lower
 * limit it reaches (so 38.45 C is "36-38.4", 0 points). A-aDO2 is used when FiO2 >=
 * 0.5 (computed as FiO2 x 713 - PaCO2 / 0.8 - PaO2 when not given), PaO2 otherwise;
 * bicarbonate replaces pH only when pH is missing. A missing variable scores 0 and is
 * reported in `missing`. Out-of-range values are an error naming the field. */
lp_status lp_apache2_score(const lp_apache2_input *in, lp_apache2 *out, lp_error *err);

/* ---------------------------------------------------------------- eligibility */

typedef struct lp_eligibility_input {
  double age;
  int infection; /* suspected or proven */
  double temperature, heart_rate, resp_rate, paco2_kpa, wbc;
  int ventilated;
  double vasopressor_hours;    /* hours on vasopressors despite fluids */
  double hours_since_criteria; /* since the inclusion criteria were met */
  double weight;               /* kg */
  int esrf_dialysis, torsades_history, child_pugh_c, ventricular_obstruction, treatment_limitation, pregnant,
      levosimendan_30d, levosimendan_hypersensitivity, other_trial;
} lp_eligibility_input;

void lp_eligibility_input_init(lp_eligibility_input *in);

#define LP_ELIG_MAX_FAILED 15
typedef struct lp_eligibility {
  bool eligible;
  int sirs_count; /* SIRS criteria met among those known (0-4) */
  size_t nfailed;
  const char *failed[LP_ELIG_MAX_FAILED]; /* stable ids, in a fixed order; "NAME:missing" when not known */
} lp_eligibility;

/* The trial's criteria (clinical.md): inclusion age >= 18, infection, >= 2 SIRS
 * criteria, vasopressors >= 4 h; exclusion > 24 h since the criteria, dialysis-
 * dependent end-stage renal failure, torsades, Child-Pugh C, ventricular obstruction,
 * treatment limitation, weight > 135 kg, pregnancy, levosimendan within 30 days or
 * hypersensitivity, another trial. Every criterion not met is listed by the name
 * of its input field (age, infection, vasopressor_hours, hours_since_criteria,
 * esrf_dialysis, torsades_history, child_pugh_c, ventricular_obstruction,
 * treatment_limitation, weight, pregnant, levosimendan_30d,
 * levosimendan_hypersensitivity, other_trial), and SIRS, over temperature,
 * heart_rate, resp_rate, paco2_kpa, ventilated and wbc, as "sirs"; a criterion
 * whose inputs are missing fails as "ID:missing", since eligibility needs every
 * input. */
lp_status lp_eligibility_check(const lp_eligibility_input *in, lp_eligibility *out, lp_error *err);

/* A comma-separated list of criterion ids as stored by an earlier version (esrf,
 * hepatic, obstruction, torsades, pregnancy, hypersensitivity, vasopressor,
 * window_24h, with or without ":missing") rewritten with today's ids into out (n
 * bytes, cut if short); ids already current are copied. */
void lp_eligibility_codes_current(const char *codes, char *out, size_t n);

/* ---------------------------------------------------------------- infusion protocol */

typedef enum {
  LP_INF_START = 0, /* 0.1 ug/kg/min, before the step-up */
  LP_INF_FULL,      /* 0.2 */
  LP_INF_REDUCED,   /* 0.1 after a reduction */
  LP_INF_LOW,       /* 0.05 */
  LP_INF_STOPPED,   /* 0: discontinued for side effects */
  LP_INF_COMPLETED  /* 0: 24 hours done */
} lp_infusion_state;

const char *lp_infusion_state_name(lp_infusion_state s);
double lp_infusion_dose(lp_infusion_state s); /* ug/kg/min */

/* MAP below which the protocol counts hypotension, mmHg (its lower target). */
#define LP_HYPOTENSION_MAP 65.0

typedef struct lp_infusion_observation {
  double hours;    /* since the start of the infusion */
  int hypotension; /* 1, 0, or -1: judged from map */
  double map;      /* mmHg (hypotension when < 65, the protocol's lower target) */
  double heart_rate, baseline_heart_rate;
} lp_infusion_observation;

typedef enum {
  LP_INF_REASON_CONTINUE = 0,
  LP_INF_REASON_STEP_UP,
  LP_INF_REASON_HYPOTENSION,
  LP_INF_REASON_TACHYCARDIA,
  LP_INF_REASON_COMPLETED,
  LP_INF_REASON_STOPPED
} lp_infusion_reason;

typedef struct lp_infusion_step {
  lp_infusion_state state;
  double dose;
  lp_infusion_reason reason;
  const char *text; /* the reason in words */
  bool severe_tachycardia, hypotension;
} lp_infusion_step;

/* The next state from the current one and an observation: 24 h ends the infusion;
 * hypotension or severe tachycardia (HR > 130/min, or a rise > 20% over a baseline
 * already > 110/min) steps down (0.2 -> 0.1 -> 0.05 -> stop; 0.1 before the step-up
 * -> 0.05); without them the dose steps up from 0.1 to 0.2 from 2 hours on. */
lp_status lp_infusion_next(lp_infusion_state state, const lp_infusion_observation *obs, lp_infusion_step *out,
                           lp_error *err);

/* Pump rate mL/h = dose (ug/kg/min) x weight (kg) x 60 / concentration (ug/mL). The
 * usual dilution is 12.5 mg in 500 mL (25 ug/mL); placebo runs at the same rates. */
lp_status lp_infusion_rate(double dose, double weight, double concentration, double *ml_per_hour, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
