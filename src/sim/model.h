/* The simulated patient: baseline, daily course, outcomes, infusion and adverse
 * events of one patient, drawn from the model documented in docs/simulation.md.
 * Shared by the files of the sim module. */
#ifndef LEOPARDS_SIM_MODEL_H
#define LEOPARDS_SIM_MODEL_H

#include <stdbool.h>

#include <leopards/rng.h>
#include <leopards/sim.h>

enum { SC_RESP, SC_COAG, SC_LIVER, SC_CV, SC_RENAL, SC_N };

typedef struct sim_inputs {
  double pao2, fio2, platelets, bilirubin, map, dopamine, dobutamine, epinephrine, norepinephrine;
  double vasopressin, creatinine, urine;
  int gcs;
  bool resp_support;
  bool missing[SC_N]; /* component inputs not recorded */
} sim_inputs;

typedef struct sim_day {
  int score[SC_N]; /* the five-system SOFA components the inputs encode */
  bool vent, rrt;
  sim_inputs in;
} sim_day;

typedef enum { AE_SVT, AE_VT, AE_BRADY, AE_MI, AE_OTHER, AE_N } sim_ae_kind;

typedef struct sim_patient {
  int arm;  /* 0 first arm (levosimendan), 1 second (placebo) */
  double u; /* latent severity */
  /* baseline */
  int age, male, race; /* race 0 asian 1 black 2 white 3 other */
  double weight, height;
  bool
      comorb[10]; /* recent surgery, IHD, CHF, cardiac failure, COPD, CRF, cirrhosis, immuno, diabetes, beta-blockers */
  double shock_hours;
  int apache2, infection_source, rhythm;
  bool culture, vent0, rrt0, ards;
  double heart_rate, cvp, cardiac_index, stroke_volume, sao2, scvo2, lactate, hemoglobin;
  sim_inputs base;       /* SOFA inputs at baseline (six systems: gcs too) */
  bool base_gcs_missing; /* the baseline GCS not recorded */
  int base_score[SC_N];
  /* course */
  bool withdrew, received;
  const char *not_received_reason; /* the outcome form's code when not received (NULL otherwise) */
  int ndays;
  sim_day day[28];
  double icu_los, hosp_los; /* days from randomisation */
  double death_day;         /* NAN if alive at the end of follow-up */
  double wean_day;          /* NAN if never weaned (or never ventilated) */
  int ninf;
  struct sim_infusion {
    double hour;
    int event; /* 0 start, 1 increase, 2 decrease, 3 stop, 4 end */
    double dose;
    int reason; /* 0 protocol, 1 hypotension, 2 tachycardia */
  } inf[8];
  int nae;
  struct {
    double day;
    sim_ae_kind kind;
  } ae[4];
} sim_patient;

/* Prepared model constants for one effect setting (solved once per run). */
typedef struct sim_model {
  lp_sim_effect effect;
  double comp_mu[2][SC_N], comp_sigma[SC_N]; /* latent normal of each per-patient mean, by arm */
  double death_alpha[2];                     /* logit intercept of death by day 28, by arm */
} sim_model;

/* `difference` is used with LP_EFFECT_DESIGN only (-2 to 2). */
lp_status lp__sim_model_init(sim_model *m, lp_sim_effect effect, double difference, lp_error *err);
void lp__sim_patient(const sim_model *m, lp_rng *rng, int arm, sim_patient *p);
/* Mean daily five-system SOFA of a simulated patient, from its scores (as the
 * derivation computes it when nothing is missing). */
double lp__sim_sofa_mean(const sim_patient *p);

#endif
