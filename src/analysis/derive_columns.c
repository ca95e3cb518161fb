/* The columns of the analysis data set as a table of definitions: each column is one
 * entry (name, type, unit, one-line definition, the function that computes it from a
 * patient's row). The CSV header, each patient's line and the data dictionary are all
 * written from this table, so they cannot fall out of step. docs/outcomes.md gives the
 * longer account of each definition. */
#include <leopards/derive.h>
#include <leopards/fields.h>
#include <leopards/rng.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/derive_internal.h"

/* ---- baseline values ---- */

double lp__bval(const lp__tab *base, const lp__patient *p, int id) {
  size_t c;
  if (p->base_row < 0 || lp_table_column(base->t, lp_field_column((lp_field_id)id), &c, NULL)) return NAN;
  const char *s = lp_table_cell(base->t, (size_t)p->base_row, c);
  double v;
  return s && lp_parse_number(s, &v) ? v : NAN;
}

int lp__bflag(const lp__tab *base, const lp__patient *p, int id) {
  double v = lp__bval(base, p, id);
  return isnan(v) ? -1 : v != 0;
}

const char *lp__bstr(const lp__tab *base, const lp__patient *p, int id) {
  size_t c;
  if (p->base_row < 0 || lp_table_column(base->t, lp_field_column((lp_field_id)id), &c, NULL)) return "";
  const char *s = lp_table_cell(base->t, (size_t)p->base_row, c);
  return s ? s : "";
}

/* Level k of choice field `id` ("" when there is none). */
static const char *level(int id, size_t k, char buf[64]) {
  if (!lp_field_level((lp_field_id)id, k, buf, 64)) buf[0] = 0;
  return buf;
}

/* ---- one patient's derived values ---- */

static void baseline_part(lp__row *r) {
  const lp__tab *base = r->x->base;
  const lp__patient *p = r->p;
  char buf[64];
  r->sex = lp__bstr(base, p, LP_F_BASE_SEX);
  r->race = lp__bstr(base, p, LP_F_BASE_RACE);
  /* Baseline organ failures: SOFA component >= 3 (six systems); renal: KDIGO 3. */
  lp_sofa_input_init(&r->bi);
  r->bi.pao2 = lp__bval(base, p, LP_F_BASE_PAO2);
  r->bi.fio2 = lp__bval(base, p, LP_F_BASE_FIO2);
  r->bi.ventilated = lp__bflag(base, p, LP_F_BASE_RESP_SUPPORT);
  r->bi.platelets = lp__bval(base, p, LP_F_BASE_PLATELETS);
  r->bi.bilirubin = lp__bval(base, p, LP_F_BASE_BILIRUBIN);
  r->bi.gcs = lp__bval(base, p, LP_F_BASE_GCS);
  if (lp_sofa_score(&r->bi, 6, &r->bs, NULL)) memset(&r->bs, 0xff, sizeof r->bs);
  /* The kidney reference: no creatinine from before the illness is recorded, so by
   * default the lower of the randomisation value and KDIGO's estimate (an eGFR of
   * 75 for the patient's age, sex and race); see docs/outcomes.md. */
  r->stage = -1;
  r->cr0 = r->cref = lp__bval(base, p, LP_F_BASE_CREATININE);
  if (r->x->o->kidney_reference == LP_KIDNEY_REF_ESTIMATED && *r->sex && *r->race) {
    double est;
    if (!lp_kdigo_estimated_baseline(lp__bval(base, p, LP_F_BASE_AGE), !strcmp(r->sex, level(LP_F_BASE_SEX, 1, buf)),
                                     !strcmp(r->race, level(LP_F_BASE_RACE, 1, buf)), &est, NULL))
      r->cref = isfinite(r->cr0) ? fmin(r->cr0, est) : est;
  }
  bool rrt = lp__bflag(base, p, LP_F_BASE_RRT) == 1;
  if (isfinite(r->cr0)) lp_kdigo_stage(r->cr0, r->cref, NAN, rrt, &r->stage, NULL);
  else if (rrt)
    r->stage = 3;
}

static void sofa_part(lp__row *r) {
  const lp__patient *p = r->p;
  /* ICU days: the daily records from day 1 to the last in the ICU (at most the horizon);
   * a day with no record at all has every component missing. */
  r->nd = 0;
  for (int d = 0; d < p->ndays; d++) {
    if (p->have_day[d]) r->days[r->nd++] = p->day[d];
    else {
      lp_sofa miss;
      memset(&miss, 0, sizeof miss);
      for (int k = 0; k < LP_SOFA_NCOMP; k++) miss.component[k] = -1;
      miss.systems = 5;
      miss.total = -1;
      miss.missing = 0x2f;
      r->days[r->nd++] = miss;
    }
  }
  r->have_mean = r->nd > 0 && !lp_sofa_mean_daily(r->days, (size_t)r->nd, r->x->o->rule, &r->sm, NULL);
}

static void follow_up_part(lp__row *r) {
  const lp__patient *p = r->p;
  double H = r->x->o->horizon;
  r->d28 = p->died && p->death <= H;
  r->t28 = r->d28 ? p->death : H;
  /* Free days: a day with no rate recorded takes the previous day's status. */
  r->cat_days = r->vent_days = r->rrt_days = 0;
  bool last_cat = false;
  for (int d = 0; d < p->ndays; d++) {
    bool cat = p->catechol_known[d] ? p->catechol[d] : last_cat;
    r->cat_days += cat;
    last_cat = cat;
    r->vent_days += p->vent[d];
    r->rrt_days += p->rrt[d];
  }
  /* Weaning among patients ventilated at baseline: censored at death, or the horizon. */
  r->ventilated = lp__bflag(r->x->base, p, LP_F_BASE_MECH_VENT) == 1;
  r->wean = isfinite(p->weaned) && p->weaned <= H;
  r->tw = r->wean ? p->weaned : (r->d28 ? p->death : H);
  /* Sustained renal failure: KDIGO 2 or 3 on the last ICU day (creatinine carried back
   * from the last day it was measured; RRT counts as stage 3) against the reference. */
  int stage_end = -1;
  if (p->ndays > 0 && isfinite(r->cref)) {
    int last = p->ndays - 1;
    double cr = NAN;
    for (int d = last; d >= 0 && isnan(cr); d--) cr = p->creat[d];
    if (p->rrt[last]) stage_end = 3;
    else if (isfinite(cr) && cr > 0 && lp_kdigo_stage(cr, r->cref, NAN, false, &stage_end, NULL))
      stage_end = -1;
  }
  lp_kidney_outcome_compute(stage_end, r->d28, r->rrt_days > 0, &r->ko);
}

void lp__row_compute(const lp__derive_ctx *x, const lp__patient *p, size_t i, lp__row *r) {
  memset(r, 0, sizeof *r);
  r->x = x;
  r->p = p;
  r->index = i;
  baseline_part(r);
  sofa_part(r);
  follow_up_part(r);
}

/* ---- the column functions: a number (NAN when missing) or a text ---- */

typedef const lp__row R;
static double flag(int v) { return v < 0 ? NAN : v; }
static double comp_failure(R *r, int c) { return r->bs.component[c] < 0 ? NAN : r->bs.component[c] >= 3; }

static const char *t_patient(R *r, int arg) { return r->p->code; }
static const char *t_site(R *r, int arg) { return r->p->site; }
static const char *t_arm(R *r, int arg) { return r->x->arms[r->p->arm]; }
static double n_base(R *r, int id) { return lp__bval(r->x->base, r->p, id); }
static double n_flag(R *r, int id) { return flag(lp__bflag(r->x->base, r->p, id)); }
static double n_dose(R *r, int id) { /* among those receiving the drug: 0 counts as missing */
  double v = n_base(r, id);
  return v > 0 ? v : NAN;
}
static double n_male(R *r, int id) {
  char buf[64];
  return *r->sex ? !strcmp(r->sex, level(LP_F_BASE_SEX, 0, buf)) : NAN;
}
static double n_bmi(R *r, int id) {
  double w = n_base(r, LP_F_BASE_WEIGHT), h = n_base(r, LP_F_BASE_HEIGHT);
  return w / ((h / 100) * (h / 100));
}
/* Level indicators: id = field * 16 + level. */
static double n_level(R *r, int arg) {
  char buf[64];
  const char *v = lp__bstr(r->x->base, r->p, arg / 16);
  return *v ? !strcmp(v, level(arg / 16, (size_t)(arg % 16), buf)) : NAN;
}
static double n_failure(R *r, int c) {
  if (c == LP_SOFA_RENAL) return r->stage < 0 ? NAN : r->stage >= 3;
  return comp_failure(r, c);
}
static double n_pf(R *r, int id) { return r->bi.pao2 / r->bi.fio2; }
static double n_cr0(R *r, int id) { return r->cr0; }
static double n_cref(R *r, int id) { return r->cref; }
static double n_bi_bilirubin(R *r, int id) { return r->bi.bilirubin; }
static double n_bi_platelets(R *r, int id) { return r->bi.platelets; }
static double n_bi_gcs(R *r, int id) { return r->bi.gcs; }
static double n_received(R *r, int id) { return r->p->received; }
static double n_icu_days(R *r, int id) { return r->nd; }
static double n_sofa_mean(R *r, int id) { return r->have_mean ? r->sm.mean : NAN; }
static double n_sofa_comp(R *r, int c) { return r->have_mean ? r->sm.component[c] : NAN; }
static double n_sofa_no_cv(R *r, int id) { return r->have_mean ? r->sm.mean - r->sm.component[LP_SOFA_CV] : NAN; }
/* Imputation k of the sensitivity analyses (derive_impute.c). */
static double n_sofa_mi(R *r, int k) { return r->x->mi_icu[r->index * r->x->o->imputations + (size_t)k]; }
static double n_sofa_mi_horizon(R *r, int k) { return r->x->mi_horizon[r->index * r->x->o->imputations + (size_t)k]; }
static double n_death28(R *r, int id) { return r->d28; }
static double n_alive28(R *r, int id) { return !r->d28; }
static double n_death_icu(R *r, int id) {
  const lp__patient *p = r->p;
  return p->died && isfinite(p->icu_end) && p->death <= p->icu_end + 1e-9;
}
static double n_death_hospital(R *r, int id) {
  const lp__patient *p = r->p;
  return p->died && (!isfinite(p->hosp_end) || p->death <= p->hosp_end + 1e-9);
}
static double n_time28(R *r, int id) { return fmax(r->t28, 0); }
static double n_icu_los(R *r, int id) { return r->p->icu_end; }
static double n_hospital_los(R *r, int id) { return r->p->hosp_end; }
static double n_cat_free(R *r, int id) { return r->d28 ? 0 : r->x->o->horizon - r->cat_days; }
static double n_vent_free(R *r, int id) { return r->d28 ? 0 : r->x->o->horizon - r->vent_days; }
static double n_wean_time(R *r, int id) { return r->ventilated ? fmax(r->tw, 0) : NAN; }
static double n_weaned(R *r, int id) { return r->ventilated ? r->wean : NAN; }
static double n_new_rrt(R *r, int id) { return r->rrt_days > 0; }
static double n_rrt_days(R *r, int id) { return r->rrt_days > 0 ? r->rrt_days : NAN; }
static double n_sustained(R *r, int id) { return flag(r->ko.sustained_renal_failure); }
static double n_major_kidney(R *r, int id) { return flag(r->ko.major_kidney_event); }
static double n_ae(R *r, int slot) { return r->p->ae[slot]; }
static double n_ae_arrhythmia(R *r, int id) { return r->p->ae[1] || r->p->ae[2] || r->p->ae[3]; }
/* The protocol's subgroups (level labels from the plan, derive.c). */
const lp__subgroup_def lp__subgroups[LP__NSUBGROUPS] = {
    {"sg_cardiac_index", LP_F_BASE_CARDIAC_INDEX, 1.0 / 3, 1, {0, 0}, {false, false}},
    {"sg_scvo2", LP_F_BASE_SCVO2, 0, 2, {70, 85}, {true, false}},
    {"sg_lactate", LP_F_BASE_LACTATE, 0, 1, {2, 0}, {false, false}},
    {"sg_norepinephrine", LP_F_BASE_NOREPINEPHRINE, 0.5, 1, {0, 0}, {false, false}},
};
static const char *t_subgroup(R *r, int g) {
  const lp__subgroup_def *s = &lp__subgroups[g];
  double v = n_base(r, s->field);
  if (!isfinite(v)) return "";
  size_t k = 0;
  while (k < s->ncuts && !(s->below[k] ? v < r->x->sg_cut[g][k] : v <= r->x->sg_cut[g][k])) k++;
  return r->x->sg_label[g][k];
}

/* ---- the table ---- */

typedef struct {
  lp_derived_column c;
  double (*num)(R *r, int arg);       /* number and flag columns */
  const char *(*text)(R *r, int arg); /* text columns */
  int arg;
} column;

#define TXT(name, def, fn, arg) \
  { {name, LP_COLUMN_TEXT, "", def, 0}, NULL, fn, arg }
#define NUM(name, unit, def, fn, arg) \
  { {name, LP_COLUMN_NUMBER, unit, def, 0}, fn, NULL, arg }
#define FLG(name, def, fn, arg) \
  { {name, LP_COLUMN_FLAG, "", def, 0}, fn, NULL, arg }
#define LVL(name, def, field, k) FLG(name, def, n_level, LP_F_##field * 16 + (k))
#define BASE(name, unit, def, field) NUM(name, unit, def, n_base, LP_F_##field)
#define BFLAG(name, def, field) FLG(name, def, n_flag, LP_F_##field)

static const column columns[] = {
    TXT("patient", "patient code", t_patient, 0),
    TXT("site", "ICU (site code)", t_site, 0),
    TXT("arm", "arm allocated (intention to treat)", t_arm, 0),
    BASE("age", "years", "age at randomisation", BASE_AGE),
    NUM("male", "", "1 if male, 0 if female", n_male, 0),
    BASE("weight", "kg", "weight", BASE_WEIGHT),
    NUM("bmi", "kg/m2", "body-mass index: weight / height^2", n_bmi, 0),
    LVL("race_asian", "race recorded as Asian", BASE_RACE, 0),
    LVL("race_black", "race recorded as Black", BASE_RACE, 1),
    LVL("race_white", "race recorded as White", BASE_RACE, 2),
    LVL("race_other", "race recorded as other", BASE_RACE, 3),
    BFLAG("recent_surgery", "surgery in the past 2 weeks", BASE_RECENT_SURGERY),
    BFLAG("ihd", "ischaemic heart disease", BASE_IHD),
    BFLAG("chf", "congestive heart failure", BASE_CHF),
    BFLAG("cardiac_failure", "cardiac failure", BASE_CARDIAC_FAILURE),
    BFLAG("copd", "severe chronic obstructive pulmonary disease", BASE_COPD),
    BFLAG("chronic_renal", "chronic renal failure", BASE_CHRONIC_RENAL),
    BFLAG("cirrhosis", "cirrhosis", BASE_CIRRHOSIS),
    BFLAG("immunocompromised", "immunocompromised", BASE_IMMUNOCOMPROMISED),
    BFLAG("diabetes", "diabetes", BASE_DIABETES),
    BFLAG("beta_blockers", "taking beta-blockers", BASE_BETA_BLOCKERS),
    BASE("shock_hours", "h", "hours from the onset of shock to randomisation", BASE_SHOCK_HOURS),
    NUM("norepinephrine", "ug/kg/min", "baseline dose among patients receiving it (0: missing)", n_dose,
        LP_F_BASE_NOREPINEPHRINE),
    NUM("epinephrine", "ug/kg/min", "baseline dose among patients receiving it (0: missing)", n_dose,
        LP_F_BASE_EPINEPHRINE),
    NUM("vasopressin", "U/min", "baseline dose among patients receiving it (0: missing)", n_dose,
        LP_F_BASE_VASOPRESSIN),
    NUM("dobutamine", "ug/kg/min", "baseline dose among patients receiving it (0: missing)", n_dose,
        LP_F_BASE_DOBUTAMINE),
    BASE("apache2", "points", "APACHE II score at baseline", BASE_APACHE2),
    BASE("sofa_baseline", "points", "recorded six-system SOFA score at baseline", BASE_SOFA),
    FLG("resp_failure", "respiratory failure at baseline: SOFA component >= 3", n_failure, LP_SOFA_RESP),
    FLG("renal_failure", "renal failure at baseline: KDIGO stage 3 against creatinine_reference", n_failure,
        LP_SOFA_RENAL),
    FLG("hepatic_failure", "hepatic failure at baseline: SOFA component >= 3", n_failure, LP_SOFA_LIVER),
    FLG("coag_failure", "coagulation failure at baseline: SOFA component >= 3", n_failure, LP_SOFA_COAG),
    FLG("neuro_failure", "neurologic failure at baseline: SOFA component (GCS) >= 3", n_failure, LP_SOFA_CNS),
    BFLAG("culture_positive", "positive culture at baseline", BASE_POSITIVE_CULTURE),
    BFLAG("ventilated", "on mechanical ventilation at baseline", BASE_MECH_VENT),
    BFLAG("rrt_baseline", "on renal-replacement therapy at baseline", BASE_RRT),
    BFLAG("ards", "moderate or severe ARDS at baseline", BASE_ARDS),
    LVL("src_lung", "source of infection: lung", BASE_INFECTION_SOURCE, 0),
    LVL("src_abdomen", "source of infection: abdomen", BASE_INFECTION_SOURCE, 1),
    LVL("src_urinary", "source of infection: urinary tract", BASE_INFECTION_SOURCE, 2),
    LVL("src_bacteremia", "source of infection: primary bacteremia", BASE_INFECTION_SOURCE, 3),
    LVL("src_neurologic", "source of infection: neurologic", BASE_INFECTION_SOURCE, 4),
    LVL("src_soft_tissue", "source of infection: soft tissue", BASE_INFECTION_SOURCE, 5),
    LVL("src_other", "source of infection: other", BASE_INFECTION_SOURCE, 6),
    LVL("rhythm_sinus", "heart rhythm at baseline: sinus", BASE_RHYTHM, 0),
    LVL("rhythm_af", "heart rhythm at baseline: atrial fibrillation", BASE_RHYTHM, 1),
    LVL("rhythm_paced", "heart rhythm at baseline: paced", BASE_RHYTHM, 2),
    LVL("rhythm_other", "heart rhythm at baseline: other", BASE_RHYTHM, 3),
    BASE("map", "mmHg", "mean arterial pressure at baseline", BASE_MAP),
    BASE("heart_rate", "/min", "heart rate at baseline", BASE_HEART_RATE),
    BASE("cvp", "mmHg", "central venous pressure at baseline", BASE_CVP),
    BASE("cardiac_index", "l/min/m2", "cardiac index at baseline", BASE_CARDIAC_INDEX),
    BASE("stroke_volume", "ml", "stroke volume at baseline", BASE_STROKE_VOLUME),
    BASE("sao2", "%", "arterial oxygen saturation at baseline", BASE_SAO2),
    BASE("scvo2", "%", "central venous oxygen saturation at baseline", BASE_SCVO2),
    BASE("lactate", "mmol/l", "lactate at baseline", BASE_LACTATE),
    NUM("pf_ratio", "mmHg", "PaO2 / FiO2 at baseline", n_pf, 0),
    NUM("creatinine", "mg/dl", "creatinine at randomisation", n_cr0, 0),
    NUM("creatinine_reference", "mg/dl", "the creatinine KDIGO stages are measured against (see the kidney reference)",
        n_cref, 0),
    NUM("bilirubin", "mg/dl", "bilirubin at baseline", n_bi_bilirubin, 0),
    BASE("hemoglobin", "g/dl", "hemoglobin at baseline", BASE_HEMOGLOBIN),
    NUM("platelets", "10^3/ul", "platelets at baseline", n_bi_platelets, 0),
    NUM("gcs", "points", "Glasgow coma scale at baseline", n_bi_gcs, 0),
    FLG("received_drug", "received the study drug", n_received, 0),
    NUM("icu_days", "days", "ICU days with daily records, day 1 to the last in the ICU (at most the horizon)",
        n_icu_days, 0),
    NUM("sofa_mean", "points", "primary outcome: mean daily five-system SOFA over the ICU days (missing by the rule)",
        n_sofa_mean, 0),
    NUM("sofa_resp", "points", "mean daily respiratory SOFA score", n_sofa_comp, LP_SOFA_RESP),
    NUM("sofa_coag", "points", "mean daily coagulation SOFA score", n_sofa_comp, LP_SOFA_COAG),
    NUM("sofa_liver", "points", "mean daily hepatic SOFA score", n_sofa_comp, LP_SOFA_LIVER),
    NUM("sofa_cv", "points", "mean daily cardiovascular SOFA score", n_sofa_comp, LP_SOFA_CV),
    NUM("sofa_renal", "points", "mean daily renal SOFA score", n_sofa_comp, LP_SOFA_RENAL),
    NUM("sofa_no_cv", "points", "sofa_mean minus sofa_cv", n_sofa_no_cv, 0),
    {{"sofa_mi_", LP_COLUMN_NUMBER, "points",
      "sensitivity analysis: mean daily SOFA over the ICU days, missing components multiply imputed (imputation k)", 1},
     n_sofa_mi,
     NULL,
     0},
    {{"sofa_mi28_", LP_COLUMN_NUMBER, "points",
      "post hoc: mean daily SOFA over the horizon's days, the days after an ICU discharge or death imputed too "
      "(imputation k)",
      1},
     n_sofa_mi_horizon,
     NULL,
     0},
    FLG("death28", "died by the horizon (28 days after randomisation)", n_death28, 0),
    FLG("alive28", "1 - death28", n_alive28, 0),
    FLG("death_icu", "died, at or before ICU discharge", n_death_icu, 0),
    FLG("death_hospital", "died, at or before hospital discharge", n_death_hospital, 0),
    NUM("time28", "days", "days to death, censored at the horizon", n_time28, 0),
    FLG("dead28", "the event of time28 (death by the horizon)", n_death28, 0),
    NUM("icu_los", "days", "days from randomisation to ICU discharge", n_icu_los, 0),
    NUM("hospital_los", "days", "days from randomisation to hospital discharge", n_hospital_los, 0),
    NUM("catecholamine_free_days", "days",
        "0 after death by the horizon, else the horizon minus the ICU days on catecholamines", n_cat_free, 0),
    NUM("ventilation_free_days", "days",
        "0 after death by the horizon, else the horizon minus the days on mechanical ventilation", n_vent_free, 0),
    NUM("wean_time", "days", "ventilated at baseline: days to successful weaning, censored at death or the horizon",
        n_wean_time, 0),
    FLG("weaned", "ventilated at baseline: weaned successfully by the horizon", n_weaned, 0),
    FLG("new_rrt", "renal-replacement therapy on any day up to the horizon", n_new_rrt, 0),
    NUM("rrt_days", "days", "days of renal-replacement therapy, among patients with any", n_rrt_days, 0),
    FLG("sustained_renal_failure", "KDIGO stage 2 or 3 on the last ICU day against creatinine_reference", n_sustained,
        0),
    FLG("major_kidney_event", "death by the horizon, new RRT or sustained renal failure", n_major_kidney, 0),
    FLG("ae_any", "any serious adverse event", n_ae, 0),
    FLG("ae_arrhythmia", "serious supraventricular or ventricular tachyarrhythmia or bradycardia", n_ae_arrhythmia, 0),
    FLG("ae_svt", "serious supraventricular tachyarrhythmia", n_ae, 1),
    FLG("ae_vf_vt", "serious ventricular tachyarrhythmia", n_ae, 2),
    FLG("ae_bradycardia", "serious bradycardia", n_ae, 3),
    FLG("ae_mi_acs", "serious myocardial ischaemia", n_ae, 4),
    FLG("ae_other", "any other serious adverse event", n_ae, 5),
    TXT("sg_cardiac_index", "subgroup: cardiac index in the lowest third, or the middle or highest", t_subgroup, 0),
    TXT("sg_scvo2", "subgroup: ScvO2 low (<70%), normal (70-85%) or high (>85%)", t_subgroup, 1),
    TXT("sg_lactate", "subgroup: lactate <=2 or >2 mmol/l", t_subgroup, 2),
    TXT("sg_norepinephrine", "subgroup: norepinephrine dose at or below, or above, the median", t_subgroup, 3),
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

size_t lp_derive_ncolumns(void) { return NCOLUMNS; }

const lp_derived_column *lp_derive_column(size_t i) { return i < NCOLUMNS ? &columns[i].c : NULL; }

const char *lp_column_type_name(lp_column_type t) {
  return t == LP_COLUMN_TEXT ? "text" : t == LP_COLUMN_FLAG ? "flag" : "number";
}

/* ---- writing ---- */

void lp__write_header(lp_strbuf *b, size_t imputations) {
  for (size_t i = 0; i < NCOLUMNS; i++) {
    if (columns[i].c.per_imputation)
      for (size_t k = 1; k <= imputations; k++) lp_strbuf_printf(b, ",%s%zu", columns[i].c.name, k);
    else
      lp_strbuf_printf(b, "%s%s", i ? "," : "", columns[i].c.name);
  }
  lp_strbuf_puts(b, "\n");
}

static void put_value(lp_strbuf *b, double v) {
  if (isfinite(v)) lp_strbuf_printf(b, ",%.10g", v);
  else
    lp_strbuf_puts(b, ",");
}

void lp__write_row(lp_strbuf *b, const lp__row *r) {
  for (size_t i = 0; i < NCOLUMNS; i++) {
    const column *c = &columns[i];
    if (c->text) lp_strbuf_printf(b, "%s%s", i ? "," : "", c->text(r, c->arg));
    else if (c->c.per_imputation)
      for (size_t k = 0; k < r->x->o->imputations; k++) put_value(b, c->num(r, (int)k));
    else
      put_value(b, c->num(r, c->arg));
  }
  lp_strbuf_puts(b, "\n");
}

/* A CSV cell, quoted when it holds a comma or a quote. */
static void csv_cell(lp_strbuf *b, const char *s) {
  if (!strpbrk(s, ",\"\n")) {
    lp_strbuf_puts(b, s);
    return;
  }
  lp_strbuf_puts(b, "\"");
  for (; *s; s++) lp_strbuf_printf(b, *s == '"' ? "\"\"" : "%c", *s);
  lp_strbuf_puts(b, "\"");
}

static void dictionary_row(lp_strbuf *b, const lp_derived_column *c, const char *name, int markdown) {
  if (markdown) {
    lp_strbuf_printf(b, "| `%s` | %s | %s | %s |\n", name, lp_column_type_name(c->type), *c->unit ? c->unit : "",
                     c->definition);
    return;
  }
  csv_cell(b, name);
  lp_strbuf_printf(b, ",%s,", lp_column_type_name(c->type));
  csv_cell(b, c->unit);
  lp_strbuf_puts(b, ",");
  csv_cell(b, c->definition);
  lp_strbuf_puts(b, "\n");
}

lp_status lp_derive_dictionary(size_t imputations, int markdown, char **out, size_t *len, lp_error *err) {
  lp_strbuf b = {0};
  *out = NULL;
  *len = 0;
  if (markdown) lp_strbuf_puts(&b, "| column | type | unit | definition |\n|---|---|---|---|\n");
  else
    lp_strbuf_puts(&b, "name,type,unit,definition\n");
  char name[96];
  for (size_t i = 0; i < NCOLUMNS; i++) {
    const lp_derived_column *c = &columns[i].c;
    if (!c->per_imputation) dictionary_row(&b, c, c->name, markdown);
    else if (markdown) {
      snprintf(name, sizeof name, "%s1` ... `%sM", c->name, c->name);
      dictionary_row(&b, c, name, markdown);
    } else
      for (size_t k = 1; k <= imputations; k++) {
        snprintf(name, sizeof name, "%s%zu", c->name, k);
        dictionary_row(&b, c, name, markdown);
      }
  }
  if (b.nomem) {
    free(b.p);
    return lp_error_set(err, LP_ENOMEM, "out of memory writing the data dictionary");
  }
  *out = b.p;
  *len = b.len;
  return LP_OK;
}
