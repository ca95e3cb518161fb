/* The field definitions of every case report form (see leopards/forms.h): one table
 * per form, each field once with its name, label, type, unit, alternative unit,
 * physical limits, plausible range, choices and help. Physical limits reject typing
 * errors and wrong units, not unusual patients; the plausible range only warns. */
#include <leopards/forms.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N NAN
#define PAT                                                                               \
  {                                                                                       \
    "patient", "patient code (as randomised)", LP_FIELD_TEXT, "", 0, 0, N, N, NULL, NULL, \
        LP_FIELD_REQUIRED | LP_FIELD_KEY, NULL, NULL, 0, NULL                             \
  }
#define B(n, d) \
  { n, d, LP_FIELD_BOOL, "", 0, 1, N, N, NULL, NULL, 0, NULL, NULL, 0, NULL }
#define R(n, lo, hi, u, d) \
  { n, d, LP_FIELD_REAL, u, lo, hi, N, N, NULL, NULL, 0, NULL, NULL, 0, NULL }
#define RS(n, lo, hi, slo, shi, u, d) \
  { n, d, LP_FIELD_REAL, u, lo, hi, slo, shi, NULL, NULL, 0, NULL, NULL, 0, NULL }
#define I(n, lo, hi, u, d) \
  { n, d, LP_FIELD_INTEGER, u, lo, hi, N, N, NULL, NULL, 0, NULL, NULL, 0, NULL }
#define C(n, ch, d, fl) \
  { n, d, LP_FIELD_CHOICE, "", 0, 0, N, N, ch, NULL, fl, NULL, NULL, 0, NULL }
#define D(n, d, fl)                                                                                                 \
  {                                                                                                                 \
    n, d, LP_FIELD_DATE, "", 0, 0, N, N, NULL, "YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC); not in the future", fl, NULL, \
        NULL, 0, NULL                                                                                               \
  }
#define T(n, d, fl) \
  { n, d, LP_FIELD_TEXT, "", 0, 0, N, N, NULL, NULL, fl, NULL, NULL, 0, NULL }

/* The SOFA inputs, the same on the baseline and the daily form. */
#define COMMON_PHYSIOLOGY                                                                          \
  R("pao2", 20, 700, "mmHg", "PaO2, worst (lowest PaO2/FiO2) of the day"),                         \
      {"fio2",                                                                                     \
       "FiO2",                                                                                     \
       LP_FIELD_REAL,                                                                              \
       "fraction",                                                                                 \
       0.21,                                                                                       \
       1.0,                                                                                        \
       N,                                                                                          \
       N,                                                                                          \
       NULL,                                                                                       \
       "as a fraction 0.21-1.0 (a percentage is refused)",                                         \
       LP_FIELD_FRACTION,                                                                          \
       NULL,                                                                                       \
       NULL,                                                                                       \
       0,                                                                                          \
       NULL},                                                                                      \
      B("resp_support", "respiratory support (invasive or non-invasive ventilation)"),             \
      RS("platelets", 1, 2000, 5, 1000, "10^3/uL", "platelets, lowest"),                           \
      {"bilirubin", "bilirubin, highest", LP_FIELD_REAL, "mg/dL", 0.05, 60, N, 30, NULL, NULL,     \
       0,           "bilirubin_umol_l",   "umol/L",      17.1,    NULL},                           \
      RS("map", 10, 200, 40, 150, "mmHg", "mean arterial pressure, lowest"),                       \
      R("dopamine", 0, 50, "ug/kg/min", "dopamine, highest rate given >= 1 h"),                    \
      R("dobutamine", 0, 50, "ug/kg/min", "dobutamine, highest rate given >= 1 h"),                \
      RS("epinephrine", 0, 5, N, 2, "ug/kg/min", "epinephrine, highest rate given >= 1 h"),        \
      RS("norepinephrine", 0, 10, N, 3, "ug/kg/min", "norepinephrine, highest rate given >= 1 h"), \
      R("vasopressin", 0, 1, "units/min", "vasopressin (recorded; not part of SOFA)"),             \
      I("gcs", 3, 15, "points", "Glasgow Coma Scale, lowest"),                                     \
      {"creatinine",                                                                               \
       "creatinine, highest",                                                                      \
       LP_FIELD_REAL,                                                                              \
       "mg/dL",                                                                                    \
       0.1,                                                                                        \
       25,                                                                                         \
       N,                                                                                          \
       10,                                                                                         \
       NULL,                                                                                       \
       NULL,                                                                                       \
       0,                                                                                          \
       "creatinine_umol_l",                                                                        \
       "umol/L",                                                                                   \
       88.4,                                                                                       \
       NULL},                                                                                      \
      R("urine_ml", 0, 20000, "mL/24 h", "urine output over the day")

static const lp_field baseline_fields[] = {
    PAT,
    I("age", 18, 120, "years", "age at randomisation"),
    C("sex", "male|female", "sex", 0),
    R("weight_kg", 30, 135, "kg", "weight"),
    R("height_cm", 100, 230, "cm", "height"),
    C("race", "asian|black|white|other", "race (from medical records)", 0),
    B("recent_surgery", "admitted to the ICU from the operating room"),
    B("ischemic_heart_disease", "ischaemic heart disease"),
    B("congestive_heart_failure", "congestive heart failure"),
    B("cardiac_failure", "cardiac failure"),
    B("severe_copd", "severe COPD"),
    B("chronic_renal_failure", "chronic renal failure"),
    B("cirrhosis", "cirrhosis"),
    B("immunocompromised", "immunocompromised condition"),
    B("diabetes", "diabetes"),
    B("beta_blockers", "beta-blockers normally taken"),
    R("shock_to_randomization_h", 0, 240, "hours", "time from start of vasopressors to randomisation"),
    I("apache2", 0, 71, "points", "APACHE II score, first 24 h"),
    I("sofa", 0, 24, "points", "SOFA score at baseline, six systems"),
    C("infection_source", "lung|abdomen|urinary|bacteremia|neurologic|soft_tissue|other",
      "source or site of the initial infection", 0),
    B("positive_culture", "positive microbiological culture"),
    B("mech_vent", "mechanical ventilation"),
    B("rrt", "renal-replacement therapy"),
    B("ards", "moderate or severe ARDS"),
    C("rhythm", "sinus|af|paced|other", "heart rhythm", 0),
    RS("heart_rate", 20, 250, 40, 180, "/min", "heart rate"),
    R("cvp", -10, 40, "mmHg", "central venous pressure"),
    R("cardiac_index", 0.3, 10, "L/min/m2", "cardiac index (if measured)"),
    R("stroke_volume", 5, 250, "mL", "stroke volume (if measured)"),
    RS("sao2", 30, 100, 70, N, "%", "arterial oxygen saturation"),
    R("scvo2", 10, 100, "%", "central venous oxygen saturation"),
    RS("lactate", 0, 30, N, 15, "mmol/L", "lactate"),
    RS("hemoglobin", 20, 250, 50, 200, "g/L", "haemoglobin"),
    COMMON_PHYSIOLOGY,
};

static const lp_field daily_fields[] = {
    PAT,
    {"day", "ICU day after randomisation (1-28)", LP_FIELD_INTEGER, "day", 1, 28, N, N, NULL,
     "day d is the d-th 24 hours after the time of randomisation (day 1: the first 24 hours), not a "
     "calendar day; a day can be recorded once its 24 hours are over",
     LP_FIELD_REQUIRED | LP_FIELD_KEY, NULL, NULL, 0, NULL},
    B("in_icu", "in the ICU on this day"),
    COMMON_PHYSIOLOGY,
    B("mech_vent", "mechanical ventilation"),
    B("rrt", "renal-replacement therapy"),
};

static const lp_field infusion_fields[] = {
    PAT,
    {"hour", "time since the start of the infusion", LP_FIELD_REAL, "hours", 0, 24, N, N, NULL, NULL,
     LP_FIELD_REQUIRED | LP_FIELD_KEY, NULL, NULL, 0, NULL},
    C("event", "start|increase|decrease|stop|end", "infusion event", LP_FIELD_REQUIRED),
    {"dose", "dose from this time on (0, 0.05, 0.1 or 0.2)", LP_FIELD_REAL, "ug/kg/min", 0, 0.2, N, N, NULL, NULL,
     LP_FIELD_REQUIRED, NULL, NULL, 0, NULL},
    C("reason", "protocol|hypotension|tachycardia|other", "reason for the change", 0),
};

static const lp_field outcome_fields[] = {
    PAT,
    B("received_drug", "received any study drug"),
    {"not_received_reason", "why the study drug was not started (when received_drug is 0)", LP_FIELD_CHOICE, "", 0, 0,
     N, N, "died|clinical_improvement|clinical_other|trial_halted|consent_withdrawn|other",
     "died: before the drug could be given; clinical_improvement: a clinical decision to withhold it owing to "
     "improvement; clinical_other: a clinical decision for another reason; trial_halted: enrolled while the trial "
     "was temporarily halted; consent_withdrawn; other: say why in not_received_other. Required when "
     "received_drug is 0, refused when it is 1",
     0, NULL, NULL, 0, NULL},
    T("not_received_other", "the reason the study drug was not started, when not_received_reason is other", 0),
    B("open_label_drug",
      "also received the active drug open-label, outside the trial (e.g. placebo and open-label "
      "levosimendan)"),
    D("icu_discharge", "ICU discharge date", 0),
    D("hospital_discharge", "hospital discharge date", 0),
    B("died", "died (within follow-up)"),
    D("death_date", "date of death", 0),
    D("weaned_date", "date successfully weaned from mechanical ventilation", 0),
    B("consent_withdrawn", "consent withdrawn (data kept, excluded from analyses)"),
    D("consent_withdrawn_date", "date consent was withdrawn", 0),
};

static const lp_field ae_fields[] = {
    PAT,
    I("id", 1, 1e12, "", "event number, to change an existing event (absent: a new event)"),
    D("onset", "onset date", LP_FIELD_REQUIRED),
    C("category",
      "supraventricular_tachyarrhythmia|ventricular_tachyarrhythmia|bradycardia|hypotension|"
      "myocardial_ischemia|other",
      "category", LP_FIELD_REQUIRED),
    T("term", "event term", LP_FIELD_REQUIRED),
    B("serious", "serious adverse event"),
    C("relatedness", "none|unlikely|possible|probable|definite", "relationship to the study drug", 0),
    {"expected", "expected (listed in the reference safety information)", LP_FIELD_BOOL, "", 0, 1, N, N, NULL,
     "a serious event related to the study drug (possibly, probably or definitely) and not expected is a "
     "suspected unexpected serious adverse reaction: it is reported to the sponsor at once",
     0, NULL, NULL, 0, NULL},
    C("outcome", "resolved|resolving|ongoing|fatal|unknown", "outcome", 0),
    T("description", "free-text description", 0),
};

/* The eligibility inputs of a screening record (clinical.md, "Eligibility"). Names
 * shared with the other forms are the same (weight_kg, mech_vent). */
#define SB(n, d) \
  { n, d, LP_FIELD_BOOL, "", 0, 1, N, N, NULL, NULL, 0, NULL, NULL, 0, NULL }
static const lp_field screening_fields[] = {
    I("age", 0, 120, "years", "age in years (inclusion: >= 18)"),
    SB("infection", "suspected or proven infection"),
    R("temperature", 25, 45, "C", "temperature (SIRS: > 38 or < 36)"),
    R("heart_rate", 0, 300, "/min", "heart rate (SIRS: > 90)"),
    R("resp_rate", 0, 80, "/min", "respiratory rate (SIRS: > 20)"),
    R("paco2_kpa", 0.5, 20, "kPa", "PaCO2 (SIRS: < 4.3)"),
    {"mech_vent", "mechanical ventilation (counts as the respiratory SIRS criterion)", LP_FIELD_BOOL, "", 0, 1, N, N,
     NULL, NULL, 0, NULL, NULL, 0, "ventilated"},
    R("wbc", 0, 500, "10^9/L", "white cells (SIRS: > 12 or < 4)"),
    R("vasopressor_hours", 0, 1000, "hours", "hours of vasopressors despite fluid resuscitation (inclusion: >= 4)"),
    R("hours_since_criteria", 0, 1000, "hours", "hours since the inclusion criteria were met (exclusion: > 24)"),
    SB("esrf_dialysis", "end-stage renal failure, dialysis-dependent (exclusion, 0 or 1)"),
    SB("torsades_history", "history of torsades de pointes (exclusion, 0 or 1)"),
    SB("child_pugh_c", "severe hepatic impairment, Child-Pugh C (exclusion, 0 or 1)"),
    SB("ventricular_obstruction", "mechanical obstruction of ventricular filling or outflow (exclusion, 0 or 1)"),
    SB("treatment_limitation", "decision to limit treatment (exclusion, 0 or 1)"),
    {"weight_kg", "weight (exclusion: > 135)", LP_FIELD_REAL, "kg", 0.5, 500, N, N, NULL, NULL, 0, NULL, NULL, 0,
     "weight"},
    SB("pregnant", "pregnancy (exclusion, 0 or 1)"),
    SB("levosimendan_30d", "levosimendan within 30 days (exclusion, 0 or 1)"),
    SB("levosimendan_hypersensitivity", "known hypersensitivity to levosimendan (exclusion, 0 or 1)"),
    SB("other_trial", "in another interventional trial (exclusion, 0 or 1)"),
    T("reason_not_enrolled", "why an eligible patient was not enrolled (consent, staff, ...)", 0),
    {"screened_on", "date of screening (default: now), for a log entered later", LP_FIELD_DATE, "", 0, 0, N, N, NULL,
     "YYYY-MM-DD", 0, NULL, NULL, 0, NULL},
};

/* What of a randomisation every export may show: its time (time zero of every
 * outcome), never the arm, the list position or the pack. */
static const lp_field randomisation_fields[] = {
    {"randomized_at", "time of randomisation (UTC); time zero, and day 1 its first 24 hours", LP_FIELD_DATE, "", 0, 0,
     N, N, NULL, NULL, LP_FIELD_REQUIRED, NULL, NULL, 0, NULL},
};

/* Written informed consent (the paper: from the patient or, when the patient lacks
 * capacity, a personal or professional legal representative, before enrolment) and the
 * retrospective consent a patient owes after a representative's once capacity is
 * regained (given, refused, or the patient died or never regained capacity). */
static const lp_field consent_fields[] = {
    {"patient", "patient code (as screened)", LP_FIELD_TEXT, "", 0, 0, N, N, NULL, NULL,
     LP_FIELD_REQUIRED | LP_FIELD_KEY, NULL, NULL, 0, NULL},
    C("kind", "initial|retrospective",
      "initial: the consent before randomisation; retrospective: the patient's own, after a representative's "
      "(default: initial)",
      LP_FIELD_KEY),
    C("consent_by", "patient|personal_representative|professional_representative",
      "who consented: the patient, or for a patient lacking capacity a personal or professional legal "
      "representative (a retrospective consent is the patient's)",
      0),
    C("decision", "given|refused|died|never_regained_capacity",
      "given (default); a retrospective consent may be refused, or not obtainable because the patient died or "
      "never regained capacity",
      0),
    {"consented_at",
     "date and time of the consent (or of the death, or when the patient was found never to "
     "regain capacity)",
     LP_FIELD_DATE, "", 0, 0, N, N, NULL, "YYYY-MM-DDTHH:MM (UTC); not in the future", LP_FIELD_REQUIRED, NULL, NULL, 0,
     NULL},
    T("taken_by", "who took the consent (name of the member of staff)", 0),
    T("form_version", "version of the consent form signed (e.g. 3.1)", 0),
    T("notes", "free-text notes", 0),
};

#define FORM(id, name, label, table, rep, arr) \
  { id, name, label, table, rep, arr, sizeof arr / sizeof arr[0] }
static const lp_form forms[LP_FORM_COUNT] = {
    FORM(LP_FORM_BASELINE, "baseline", "Baseline", "patients", false, baseline_fields),
    FORM(LP_FORM_DAILY, "daily", "Daily ICU record", "daily", true, daily_fields),
    FORM(LP_FORM_INFUSION, "infusion", "Study drug infusion log", "infusions", true, infusion_fields),
    FORM(LP_FORM_OUTCOME, "outcome", "Outcome", "outcomes", false, outcome_fields),
    FORM(LP_FORM_AE, "ae", "Adverse event", "adverse_events", true, ae_fields),
    FORM(LP_FORM_SCREENING, "screening", "Screening", "screening", false, screening_fields),
    FORM(LP_FORM_RANDOMISATION, "randomisation", "Randomisation", "randomisations", false, randomisation_fields),
    FORM(LP_FORM_CONSENT, "consent", "Informed consent", "consents", true, consent_fields),
};

const lp_form *lp_form_get(lp_form_id id) { return (unsigned)id < LP_FORM_COUNT ? &forms[id] : NULL; }

const lp_form *lp_form_find(const char *name) {
  for (int i = 0; name && i < LP_FORM_COUNT; i++)
    if (!strcmp(forms[i].name, name)) return &forms[i];
  return NULL;
}

const lp_form *lp_form_of_table(const char *table) {
  for (int i = 0; table && i < LP_FORM_COUNT; i++)
    if (!strcmp(forms[i].table, table)) return &forms[i];
  return NULL;
}

const lp_field *lp_form_field(const lp_form *f, const char *name) {
  for (size_t i = 0; f && name && i < f->nfields; i++)
    if (!strcmp(f->fields[i].name, name)) return &f->fields[i];
  return NULL;
}

const lp_field *lp_form_resolve(const lp_form *f, const char *input, bool *alt, bool *old) {
  *alt = *old = false;
  for (size_t i = 0; f && input && i < f->nfields; i++) {
    const lp_field *x = &f->fields[i];
    if (!strcmp(x->name, input)) return x;
    if (x->alt && !strcmp(x->alt, input)) return (*alt = true), x;
    if (x->old_name && !strcmp(x->old_name, input)) return (*old = true), x;
  }
  return NULL;
}

const char *lp_field_type_name(lp_field_type t) {
  switch (t) {
    case LP_FIELD_INTEGER:
      return "integer";
    case LP_FIELD_REAL:
      return "number";
    case LP_FIELD_BOOL:
      return "0/1";
    case LP_FIELD_DATE:
      return "date";
    case LP_FIELD_CHOICE:
      return "choice";
    default:
      return "text";
  }
}

void lp_field_describe(const lp_field *f, char *buf, size_t n) {
  char extra[300] = "";
  if (f->type == LP_FIELD_INTEGER || f->type == LP_FIELD_REAL)
    snprintf(extra, sizeof extra, "%s, %s%s%g to %g", lp_field_type_name(f->type), f->unit, *f->unit ? ", " : "",
             f->min, f->max);
  else if (f->type == LP_FIELD_CHOICE)
    snprintf(extra, sizeof extra, "one of %s", f->choices);
  else if (f->type == LP_FIELD_DATE)
    snprintf(extra, sizeof extra, "date, YYYY-MM-DD or YYYY-MM-DDTHH:MM");
  else
    snprintf(extra, sizeof extra, "%s", lp_field_type_name(f->type));
  char alt[200] = "";
  if (f->alt)
    snprintf(alt, sizeof alt, "; or %s in %s (1 %s = %g %s; kept in %s)", f->alt, f->alt_unit, f->unit, f->alt_div,
             f->alt_unit, f->unit);
  snprintf(buf, n, "%s (%s)%s", f->label, extra, alt);
}

void lp_form_help(const lp_form *f, char *buf, size_t n) {
  size_t k = 0;
  if (n) buf[0] = '\0';
  for (size_t i = 0; f && i < f->nfields && k < n; i++) {
    const lp_field *x = &f->fields[i];
    char d[400];
    lp_field_describe(x, d, sizeof d);
    k += (size_t)snprintf(buf + k, n - k, "  %-26s %s%s\n", x->name, d,
                          x->flags & LP_FIELD_REQUIRED ? " [required]" : "");
    if (k < n && x->help && x->type != LP_FIELD_DATE)
      k += (size_t)snprintf(buf + k, n - k, "  %-26s   %s\n", "", x->help);
    if (k < n && x->old_name)
      k += (size_t)snprintf(buf + k, n - k, "  %-26s   (formerly '%s', still accepted)\n", "", x->old_name);
  }
}
