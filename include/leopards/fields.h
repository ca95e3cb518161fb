/* leopards export fields: the tables and columns of a locked trial's export that the
 * analysis reads, named once. This list is the contract between data capture (trial/,
 * which writes the export) and analysis (analysis/, which derives the outcomes from it):
 * each entry gives the table, the column, its type, unit and, for a choice, its levels.
 * It is meant to grow into the field definitions that drive the data-entry forms.
 * Ownership: the entries are static, read-only data; everything here is re-entrant. */
#ifndef LEOPARDS_FIELDS_H
#define LEOPARDS_FIELDS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LP_FIELD_TEXT, LP_FIELD_NUMBER, LP_FIELD_FLAG, LP_FIELD_DATE, LP_FIELD_CHOICE } lp_field_type;

/* X(ID, table, column, type, unit, levels): levels are '|'-separated, for choices. */
#define LP_EXPORT_FIELDS(X)                                                                         \
  X(ALLOC_PATIENT, "allocations", "patient", TEXT, "", "")                                          \
  X(ALLOC_SITE, "allocations", "site", TEXT, "", "")                                                \
  X(ALLOC_ARM, "allocations", "arm", CHOICE, "", "A|B")                                             \
  X(ALLOC_ARM_LABEL, "allocations", "arm_label", TEXT, "", "")                                      \
  X(RAND_PATIENT, "randomisations", "patient", TEXT, "", "")                                        \
  X(RAND_AT, "randomisations", "randomized_at", DATE, "", "")                                       \
  X(BASE_PATIENT, "patients", "patient", TEXT, "", "")                                              \
  X(BASE_AGE, "patients", "age", NUMBER, "years", "")                                               \
  X(BASE_SEX, "patients", "sex", CHOICE, "", "male|female")                                         \
  X(BASE_WEIGHT, "patients", "weight_kg", NUMBER, "kg", "")                                         \
  X(BASE_HEIGHT, "patients", "height_cm", NUMBER, "cm", "")                                         \
  X(BASE_RACE, "patients", "race", CHOICE, "", "asian|black|white|other")                           \
  X(BASE_RECENT_SURGERY, "patients", "recent_surgery", FLAG, "", "")                                \
  X(BASE_IHD, "patients", "ischemic_heart_disease", FLAG, "", "")                                   \
  X(BASE_CHF, "patients", "congestive_heart_failure", FLAG, "", "")                                 \
  X(BASE_CARDIAC_FAILURE, "patients", "cardiac_failure", FLAG, "", "")                              \
  X(BASE_COPD, "patients", "severe_copd", FLAG, "", "")                                             \
  X(BASE_CHRONIC_RENAL, "patients", "chronic_renal_failure", FLAG, "", "")                          \
  X(BASE_CIRRHOSIS, "patients", "cirrhosis", FLAG, "", "")                                          \
  X(BASE_IMMUNOCOMPROMISED, "patients", "immunocompromised", FLAG, "", "")                          \
  X(BASE_DIABETES, "patients", "diabetes", FLAG, "", "")                                            \
  X(BASE_BETA_BLOCKERS, "patients", "beta_blockers", FLAG, "", "")                                  \
  X(BASE_SHOCK_HOURS, "patients", "shock_to_randomization_h", NUMBER, "h", "")                      \
  X(BASE_NOREPINEPHRINE, "patients", "norepinephrine", NUMBER, "ug/kg/min", "")                     \
  X(BASE_EPINEPHRINE, "patients", "epinephrine", NUMBER, "ug/kg/min", "")                           \
  X(BASE_VASOPRESSIN, "patients", "vasopressin", NUMBER, "U/min", "")                               \
  X(BASE_DOBUTAMINE, "patients", "dobutamine", NUMBER, "ug/kg/min", "")                             \
  X(BASE_APACHE2, "patients", "apache2", NUMBER, "points", "")                                      \
  X(BASE_SOFA, "patients", "sofa", NUMBER, "points", "")                                            \
  X(BASE_INFECTION_SOURCE, "patients", "infection_source", CHOICE, "",                              \
    "lung|abdomen|urinary|bacteremia|neurologic|soft_tissue|other")                                 \
  X(BASE_POSITIVE_CULTURE, "patients", "positive_culture", FLAG, "", "")                            \
  X(BASE_MECH_VENT, "patients", "mech_vent", FLAG, "", "")                                          \
  X(BASE_RRT, "patients", "rrt", FLAG, "", "")                                                      \
  X(BASE_ARDS, "patients", "ards", FLAG, "", "")                                                    \
  X(BASE_RHYTHM, "patients", "rhythm", CHOICE, "", "sinus|af|paced|other")                          \
  X(BASE_MAP, "patients", "map", NUMBER, "mmHg", "")                                                \
  X(BASE_HEART_RATE, "patients", "heart_rate", NUMBER, "/min", "")                                  \
  X(BASE_CVP, "patients", "cvp", NUMBER, "mmHg", "")                                                \
  X(BASE_CARDIAC_INDEX, "patients", "cardiac_index", NUMBER, "l/min/m2", "")                        \
  X(BASE_STROKE_VOLUME, "patients", "stroke_volume", NUMBER, "ml", "")                              \
  X(BASE_SAO2, "patients", "sao2", NUMBER, "%", "")                                                 \
  X(BASE_SCVO2, "patients", "scvo2", NUMBER, "%", "")                                               \
  X(BASE_LACTATE, "patients", "lactate", NUMBER, "mmol/l", "")                                      \
  X(BASE_PAO2, "patients", "pao2", NUMBER, "mmHg", "")                                              \
  X(BASE_FIO2, "patients", "fio2", NUMBER, "fraction", "")                                          \
  X(BASE_RESP_SUPPORT, "patients", "resp_support", FLAG, "", "")                                    \
  X(BASE_CREATININE, "patients", "creatinine", NUMBER, "mg/dl", "")                                 \
  X(BASE_BILIRUBIN, "patients", "bilirubin", NUMBER, "mg/dl", "")                                   \
  X(BASE_HEMOGLOBIN, "patients", "hemoglobin", NUMBER, "g/dl", "")                                  \
  X(BASE_PLATELETS, "patients", "platelets", NUMBER, "10^3/ul", "")                                 \
  X(BASE_GCS, "patients", "gcs", NUMBER, "points", "")                                              \
  X(DAY_PATIENT, "daily", "patient", TEXT, "", "")                                                  \
  X(DAY_DAY, "daily", "day", NUMBER, "day", "")                                                     \
  X(DAY_IN_ICU, "daily", "in_icu", FLAG, "", "")                                                    \
  X(DAY_PAO2, "daily", "pao2", NUMBER, "mmHg", "")                                                  \
  X(DAY_FIO2, "daily", "fio2", NUMBER, "fraction", "")                                              \
  X(DAY_RESP_SUPPORT, "daily", "resp_support", FLAG, "", "")                                        \
  X(DAY_PLATELETS, "daily", "platelets", NUMBER, "10^3/ul", "")                                     \
  X(DAY_BILIRUBIN, "daily", "bilirubin", NUMBER, "mg/dl", "")                                       \
  X(DAY_MAP, "daily", "map", NUMBER, "mmHg", "")                                                    \
  X(DAY_DOPAMINE, "daily", "dopamine", NUMBER, "ug/kg/min", "")                                     \
  X(DAY_DOBUTAMINE, "daily", "dobutamine", NUMBER, "ug/kg/min", "")                                 \
  X(DAY_EPINEPHRINE, "daily", "epinephrine", NUMBER, "ug/kg/min", "")                               \
  X(DAY_NOREPINEPHRINE, "daily", "norepinephrine", NUMBER, "ug/kg/min", "")                         \
  X(DAY_VASOPRESSIN, "daily", "vasopressin", NUMBER, "U/min", "")                                   \
  X(DAY_CREATININE, "daily", "creatinine", NUMBER, "mg/dl", "")                                     \
  X(DAY_URINE, "daily", "urine_ml", NUMBER, "ml", "")                                               \
  X(DAY_MECH_VENT, "daily", "mech_vent", FLAG, "", "")                                              \
  X(DAY_RRT, "daily", "rrt", FLAG, "", "")                                                          \
  X(OUT_PATIENT, "outcomes", "patient", TEXT, "", "")                                               \
  X(OUT_RECEIVED, "outcomes", "received_drug", FLAG, "", "")                                        \
  X(OUT_ICU_DISCHARGE, "outcomes", "icu_discharge", DATE, "", "")                                   \
  X(OUT_HOSPITAL_DISCHARGE, "outcomes", "hospital_discharge", DATE, "", "")                         \
  X(OUT_DIED, "outcomes", "died", FLAG, "", "")                                                     \
  X(OUT_DEATH_DATE, "outcomes", "death_date", DATE, "", "")                                         \
  X(OUT_WEANED_DATE, "outcomes", "weaned_date", DATE, "", "")                                       \
  X(OUT_WITHDRAWN, "outcomes", "consent_withdrawn", FLAG, "", "")                                   \
  X(OUT_NOT_RECEIVED_REASON, "outcomes", "not_received_reason", CHOICE, "",                         \
    "died|clinical_improvement|clinical_other|trial_halted|consent_withdrawn|other")                \
  X(OUT_NOT_RECEIVED_OTHER, "outcomes", "not_received_other", TEXT, "", "")                         \
  X(OUT_OPEN_LABEL, "outcomes", "open_label_drug", FLAG, "", "")                                    \
  X(AE_PATIENT, "adverse_events", "patient", TEXT, "", "")                                          \
  X(AE_CATEGORY, "adverse_events", "category", CHOICE, "",                                          \
    "supraventricular_tachyarrhythmia|ventricular_tachyarrhythmia|bradycardia|myocardial_ischemia") \
  X(AE_SERIOUS, "adverse_events", "serious", FLAG, "", "")                                          \
  X(SCR_PATIENT, "screening", "patient", TEXT, "", "")                                              \
  X(SCR_ELIGIBLE, "screening", "eligible", FLAG, "", "")                                            \
  X(SCR_FAILED, "screening", "failed", TEXT, "", "")                                                \
  X(SCR_REASON, "screening", "reason_not_enrolled", TEXT, "", "")                                   \
  X(CONS_PATIENT, "consents", "patient", TEXT, "", "")                                              \
  X(CONS_KIND, "consents", "kind", CHOICE, "", "initial|retrospective")                             \
  X(CONS_DECISION, "consents", "decision", TEXT, "", "")                                            \
  X(META_KEY, "meta", "key", TEXT, "", "")                                                          \
  X(META_VALUE, "meta", "value", TEXT, "", "")

typedef enum {
#define LP_X_FIELD_ID(id, table, column, type, unit, levels) LP_F_##id,
  LP_EXPORT_FIELDS(LP_X_FIELD_ID)
#undef LP_X_FIELD_ID
      LP_F_COUNT
} lp_field_id;

typedef struct lp_field {
  const char *table;  /* the export file without ".csv" */
  const char *column; /* its header name */
  lp_field_type type;
  const char *unit;   /* "" when none */
  const char *levels; /* '|'-separated choices; "" when not a choice */
} lp_field;

/* The entry for `id` (never NULL for an id below LP_F_COUNT). */
const lp_field *lp_field_get(lp_field_id id);
/* The column name of `id`: shorthand for lp_field_get(id)->column. */
const char *lp_field_column(lp_field_id id);
/* Level k (0-based) of a choice field into buf (n bytes); 0 when there is no level k,
 * else its length. */
size_t lp_field_level(lp_field_id id, size_t k, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
