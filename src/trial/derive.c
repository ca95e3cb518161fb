/* Outcome derivation: read the export of a locked trial (CSV per table, with the
 * allocations), compute each patient's analysis values as docs/outcomes.md defines
 * them, and write the analysis data set as CSV text; also the CONSORT flow and the
 * daily SOFA course. Patients who withdrew consent are excluded from everything. */
#include <leopards/derive.h>
#include <leopards/rng.h>
#include <leopards/stats.h>
#include <leopards/strbuf.h>
#include <leopards/table.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trial/trial_internal.h"

void lp_derive_options_default(lp_derive_options *o) {
  o->rule = LP_MISSING_LOCF;
  o->imputations = 20;
  o->seed = 20160927;
  o->kidney_reference = LP_KIDNEY_REF_ESTIMATED;
}

void lp_derived_clear(lp_derived *d) {
  if (!d) return;
  free(d->csv);
  free(d->tte_csv);
  memset(d, 0, sizeof *d);
}

/* ---- reading the export ---- */

typedef struct {
  lp_table *t;
  char path[4096];
} tab;

static lp_status load(const char *dir, const char *name, tab *t, lp_error *err) {
  snprintf(t->path, sizeof t->path, "%s/%s.csv", dir, name);
  lp_status st = lp_table_read_csv(t->path, &t->t, err);
  if (st == LP_EIO)
    lp_error_prefix(err, "the export lacks %s.csv (write it with 'leopards export --key' after lock)", name);
  return st;
}

static lp_status col(const tab *t, const char *name, size_t *c, lp_error *err) {
  return lp_table_column(t->t, name, c, err);
}

static double num(const tab *t, size_t row, size_t c) {
  const char *s = lp_table_cell(t->t, row, c);
  double v;
  return s && lp_parse_number(s, &v) ? v : NAN;
}

static const char *str(const tab *t, size_t row, size_t c) {
  const char *s = lp_table_cell(t->t, row, c);
  return s ? s : "";
}

/* "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z]" -> days since 1970-01-01 (UTC); NAN if absent,
 * an error if malformed. */
static lp_status parse_time(const tab *t, size_t row, size_t c, double *days, lp_error *err) {
  const char *s = lp_table_cell(t->t, row, c);
  *days = lp__iso_days(s);
  if (s && isnan(*days))
    return lp_error_at(err, LP_EPARSE, t->path, lp_table_line(t->t, row), lp_table_colname(t->t, c),
                       "'%s' is not a date or date-time", s);
  return LP_OK;
}

/* ---- per patient ---- */

typedef struct {
  const char *code;
  int arm;           /* 0 / 1 in the store's order */
  const char *site;
  double rand_day;
  long base_row;     /* row in patients.csv, -1 if none */
  bool withdrawn, received;
  double icu_end, hosp_end, death, weaned; /* days since randomisation; NAN if none */
  bool died;
  int ndays;
  lp_sofa day[28];
  bool have_day[28];
  bool vent[28], rrt[28], catechol[28], catechol_known[28];
  double creat[28];
  int ae[6]; /* any serious, svt, vt, brady, mi, other */
} patient;

static int cmp_code(const void *a, const void *b) {
  return strcmp(((const patient *)a)->code, ((const patient *)b)->code);
}

static patient *find(patient *p, size_t n, const char *code) {
  patient key = {.code = code};
  return bsearch(&key, p, n, sizeof *p, cmp_code);
}

/* ---- CSV output ---- */

static void putnum(lp_strbuf *b, double v) {
  if (isfinite(v)) lp_strbuf_printf(b, ",%.10g", v);
  else lp_strbuf_printf(b, ",");
}

static void putflag(lp_strbuf *b, int v) {
  if (v < 0) lp_strbuf_printf(b, ",");
  else lp_strbuf_printf(b, ",%d", v);
}

/* Baseline values by column name (NAN when missing). */
static double bval(const tab *base, const patient *p, const char *name) {
  size_t c;
  if (p->base_row < 0 || lp_table_column(base->t, name, &c, NULL)) return NAN;
  return num(base, (size_t)p->base_row, c);
}

static int bflag(const tab *base, const patient *p, const char *name) {
  double v = bval(base, p, name);
  return isnan(v) ? -1 : v != 0;
}

/* A text (choice) value of the baseline record, "" when missing. */
static const char *bstr(const tab *base, const patient *p, const char *name) {
  size_t c;
  if (p->base_row < 0 || lp_table_column(base->t, name, &c, NULL)) return "";
  return str(base, (size_t)p->base_row, c);
}

/* One 0/1 indicator per level of a choice (all missing when it is not recorded). */
static void put_levels(lp_strbuf *b, const char *value, const char *const *levels, size_t n) {
  for (size_t k = 0; k < n; k++) putflag(b, *value ? !strcmp(value, levels[k]) : -1);
}

/* A dose among those receiving the drug (0 counts as not receiving: missing). */
static double dose(const tab *base, const patient *p, const char *name) {
  double v = bval(base, p, name);
  return v > 0 ? v : NAN;
}

static void flow_item(lp_flow_item *it, const char *text, long count) {
  snprintf(it->text, sizeof it->text, "%s", text);
  it->count = count;
}

lp_status lp_derive(const char *dir, const lp_derive_options *o, lp_derived *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  tab alloc = {0}, rnd = {0}, base = {0}, daily = {0}, outc = {0}, ae = {0}, scr = {0};
  patient *P = NULL;
  lp_strbuf ob = {0}, tb = {0};
  lp_status st;
  if ((st = load(dir, "allocations", &alloc, err)) || (st = load(dir, "randomisations", &rnd, err)) ||
      (st = load(dir, "patients", &base, err)) || (st = load(dir, "daily", &daily, err)) ||
      (st = load(dir, "outcomes", &outc, err)) || (st = load(dir, "adverse_events", &ae, err)) ||
      (st = load(dir, "screening", &scr, err)))
    goto done;
  size_t n = lp_table_nrows(alloc.t);
  if (n == 0) {
    st = lp_error_at(err, LP_EDATA, alloc.path, 0, NULL, "no randomised patient");
    goto done;
  }
  P = calloc(n, sizeof *P);
  if (!P) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  size_t c_pat, c_site, c_lab, c_arm, c;
  if ((st = col(&alloc, "patient", &c_pat, err)) || (st = col(&alloc, "site", &c_site, err)) ||
      (st = col(&alloc, "arm", &c_arm, err)) || (st = col(&alloc, "arm_label", &c_lab, err)))
    goto done;
  for (size_t i = 0; i < n; i++) {
    P[i].code = str(&alloc, i, c_pat);
    P[i].site = str(&alloc, i, c_site);
    /* The store's arm A (the protocol's first arm, levosimendan) is arm 0. */
    const char *code = str(&alloc, i, c_arm), *lab = str(&alloc, i, c_lab);
    int a = !strcmp(code, "A") ? 0 : !strcmp(code, "B") ? 1 : -1;
    if (a < 0) {
      st = lp_error_at(err, LP_EDATA, alloc.path, lp_table_line(alloc.t, i), "arm", "'%s' is neither A nor B", code);
      goto done;
    }
    if (!out->arms[a][0]) snprintf(out->arms[a], sizeof out->arms[a], "%s", lab);
    P[i].arm = a;
    P[i].base_row = -1;
    P[i].icu_end = P[i].hosp_end = P[i].death = P[i].weaned = P[i].rand_day = NAN;
    for (int d = 0; d < 28; d++) P[i].creat[d] = NAN;
  }
  qsort(P, n, sizeof *P, cmp_code);
  /* Randomisation times. */
  if ((st = col(&rnd, "patient", &c_pat, err)) || (st = col(&rnd, "randomized_at", &c, err))) goto done;
  for (size_t i = 0; i < lp_table_nrows(rnd.t); i++) {
    patient *p = find(P, n, str(&rnd, i, c_pat));
    if (p && (st = parse_time(&rnd, i, c, &p->rand_day, err))) goto done;
  }
  /* Baseline rows. */
  if ((st = col(&base, "patient", &c_pat, err))) goto done;
  for (size_t i = 0; i < lp_table_nrows(base.t); i++) {
    patient *p = find(P, n, str(&base, i, c_pat));
    if (p) p->base_row = (long)i;
  }
  /* Outcomes. */
  size_t c_rec, c_icu, c_hosp, c_died, c_dd, c_wean, c_wd;
  if ((st = col(&outc, "patient", &c_pat, err)) || (st = col(&outc, "received_drug", &c_rec, err)) ||
      (st = col(&outc, "icu_discharge", &c_icu, err)) || (st = col(&outc, "hospital_discharge", &c_hosp, err)) ||
      (st = col(&outc, "died", &c_died, err)) || (st = col(&outc, "death_date", &c_dd, err)) ||
      (st = col(&outc, "weaned_date", &c_wean, err)) || (st = col(&outc, "consent_withdrawn", &c_wd, err)))
    goto done;
  for (size_t i = 0; i < n; i++) P[i].received = true;
  for (size_t i = 0; i < lp_table_nrows(outc.t); i++) {
    patient *p = find(P, n, str(&outc, i, c_pat));
    if (!p) {
      st = lp_error_at(err, LP_EDATA, outc.path, lp_table_line(outc.t, i), "patient", "'%s' is not randomised",
                       str(&outc, i, c_pat));
      goto done;
    }
    double t;
    p->received = num(&outc, i, c_rec) != 0;
    p->withdrawn = num(&outc, i, c_wd) == 1;
    p->died = num(&outc, i, c_died) == 1;
    if ((st = parse_time(&outc, i, c_icu, &t, err))) goto done;
    p->icu_end = t - p->rand_day;
    if ((st = parse_time(&outc, i, c_hosp, &t, err))) goto done;
    p->hosp_end = t - p->rand_day;
    if ((st = parse_time(&outc, i, c_dd, &t, err))) goto done;
    p->death = t - p->rand_day;
    if ((st = parse_time(&outc, i, c_wean, &t, err))) goto done;
    p->weaned = t - p->rand_day;
  }
  /* Daily records: SOFA inputs scored with the clinical rules (five systems). */
  size_t cd[20];
  static const char *const dnames[] = {"patient", "day", "in_icu", "pao2", "fio2", "resp_support", "platelets",
                                       "bilirubin", "map", "dopamine", "dobutamine", "epinephrine", "norepinephrine",
                                       "vasopressin", "creatinine", "urine_ml", "mech_vent", "rrt"};
  for (size_t k = 0; k < sizeof dnames / sizeof *dnames; k++)
    if ((st = col(&daily, dnames[k], &cd[k], err))) goto done;
  for (size_t i = 0; i < lp_table_nrows(daily.t); i++) {
    patient *p = find(P, n, str(&daily, i, cd[0]));
    long line = lp_table_line(daily.t, i);
    if (!p) {
      st = lp_error_at(err, LP_EDATA, daily.path, line, "patient", "'%s' is not randomised", str(&daily, i, cd[0]));
      goto done;
    }
    double day = num(&daily, i, cd[1]);
    if (!(day >= 1 && day <= 28) || num(&daily, i, cd[2]) == 0) continue;
    int d = (int)day - 1;
    lp_sofa_input in;
    lp_sofa_input_init(&in);
    in.pao2 = num(&daily, i, cd[3]);
    in.fio2 = num(&daily, i, cd[4]);
    double rs = num(&daily, i, cd[5]);
    in.ventilated = isnan(rs) ? -1 : rs != 0;
    in.platelets = num(&daily, i, cd[6]);
    in.bilirubin = num(&daily, i, cd[7]);
    in.map = num(&daily, i, cd[8]);
    in.dopamine = num(&daily, i, cd[9]);
    in.dobutamine = num(&daily, i, cd[10]);
    in.epinephrine = num(&daily, i, cd[11]);
    in.norepinephrine = num(&daily, i, cd[12]);
    in.vasopressin = num(&daily, i, cd[13]);
    in.creatinine = num(&daily, i, cd[14]);
    in.urine_ml = num(&daily, i, cd[15]);
    lp_error inner;
    if ((st = lp_sofa_score(&in, 5, &p->day[d], &inner))) {
      st = lp_error_at(err, st, daily.path, line, inner.field, "%s", inner.message);
      goto done;
    }
    p->have_day[d] = true;
    if (d + 1 > p->ndays) p->ndays = d + 1;
    p->vent[d] = num(&daily, i, cd[16]) == 1;
    p->rrt[d] = num(&daily, i, cd[17]) == 1;
    double cat[4] = {in.dopamine, in.dobutamine, in.epinephrine, in.norepinephrine};
    bool known = false, any = false;
    for (int k = 0; k < 4; k++)
      if (!isnan(cat[k])) known = true, any = any || cat[k] > 0;
    p->catechol_known[d] = known;
    p->catechol[d] = any;
    p->creat[d] = in.creatinine;
  }
  /* Serious adverse events by category. */
  size_t c_cat, c_ser;
  if ((st = col(&ae, "patient", &c_pat, err)) || (st = col(&ae, "category", &c_cat, err)) ||
      (st = col(&ae, "serious", &c_ser, err)))
    goto done;
  for (size_t i = 0; i < lp_table_nrows(ae.t); i++) {
    patient *p = find(P, n, str(&ae, i, c_pat));
    if (!p || num(&ae, i, c_ser) != 1) continue;
    const char *cat = str(&ae, i, c_cat);
    p->ae[0] = 1;
    if (!strcmp(cat, "supraventricular_tachyarrhythmia")) p->ae[1] = 1;
    else if (!strcmp(cat, "ventricular_tachyarrhythmia")) p->ae[2] = 1;
    else if (!strcmp(cat, "bradycardia")) p->ae[3] = 1;
    else if (!strcmp(cat, "myocardial_ischemia")) p->ae[4] = 1;
    else p->ae[5] = 1;
  }

  /* Subgroup cut-points: cardiac index tertile, median norepinephrine dose. */
  double *tmp = malloc(n * sizeof *tmp);
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!P[i].withdrawn && isfinite(bval(&base, &P[i], "cardiac_index"))) tmp[m++] = bval(&base, &P[i], "cardiac_index");
  lp_sort_doubles(tmp, m);
  double ci_third = m ? lp_quantile_sorted(tmp, m, 1.0 / 3) : NAN;
  m = 0;
  for (size_t i = 0; i < n; i++)
    if (!P[i].withdrawn && isfinite(bval(&base, &P[i], "norepinephrine"))) tmp[m++] = bval(&base, &P[i], "norepinephrine");
  lp_sort_doubles(tmp, m);
  double ne_median = m ? lp_quantile_sorted(tmp, m, 0.5) : NAN;
  free(tmp);

  /* ---- the analysis data set ---- */
  size_t M = o->imputations;
  lp_strbuf_printf(&ob, "patient,site,arm,age,male,weight,bmi,race_asian,race_black,race_white,race_other,recent_surgery,ihd,chf,"
           "cardiac_failure,copd,chronic_renal,cirrhosis,immunocompromised,diabetes,beta_blockers,shock_hours,"
           "norepinephrine,epinephrine,vasopressin,dobutamine,apache2,sofa_baseline,resp_failure,renal_failure,"
           "hepatic_failure,coag_failure,neuro_failure,culture_positive,ventilated,rrt_baseline,ards,src_lung,"
           "src_abdomen,src_urinary,src_bacteremia,src_neurologic,src_soft_tissue,src_other,rhythm_sinus,rhythm_af,"
           "rhythm_paced,rhythm_other,map,heart_rate,cvp,cardiac_index,stroke_volume,sao2,scvo2,lactate,pf_ratio,"
           "creatinine,creatinine_reference,bilirubin,hemoglobin,platelets,gcs,received_drug,icu_days,"
           "sofa_mean,sofa_resp,sofa_coag,sofa_liver,sofa_cv,sofa_renal,sofa_no_cv");
  for (size_t k = 1; k <= M; k++) lp_strbuf_printf(&ob, ",sofa_mi_%zu", k);
  lp_strbuf_printf(&ob, ",death28,alive28,death_icu,death_hospital,time28,dead28,icu_los,hospital_los,catecholamine_free_days,"
           "ventilation_free_days,wean_time,weaned,new_rrt,rrt_days,sustained_renal_failure,major_kidney_event,ae_any,"
           "ae_arrhythmia,ae_svt,ae_vf_vt,ae_bradycardia,ae_mi_acs,ae_other,sg_cardiac_index,sg_scvo2,sg_lactate,"
           "sg_norepinephrine\n");
  lp_strbuf_printf(&tb, "patient,site,arm,outcome,time,event,age,apache2\n");
  static const char *const races[] = {"asian", "black", "white", "other"};
  for (size_t i = 0; i < n; i++) {
    patient *p = &P[i];
    if (p->withdrawn) {
      out->withdrawn++;
      continue;
    }
    out->patients++;
    lp_strbuf_printf(&ob, "%s,%s,%s", p->code, p->site, out->arms[p->arm]);
    putnum(&ob, bval(&base, p, "age"));
    const char *sex = bstr(&base, p, "sex");
    putflag(&ob, *sex ? !strcmp(sex, "male") : -1);
    double w = bval(&base, p, "weight_kg"), h = bval(&base, p, "height_cm");
    putnum(&ob, w);
    putnum(&ob, w / ((h / 100) * (h / 100)));
    const char *race = bstr(&base, p, "race");
    put_levels(&ob, race, races, 4);
    static const char *const flags[] = {"recent_surgery", "ischemic_heart_disease", "congestive_heart_failure",
                                        "cardiac_failure", "severe_copd", "chronic_renal_failure", "cirrhosis",
                                        "immunocompromised", "diabetes", "beta_blockers"};
    for (int k = 0; k < 10; k++) putflag(&ob, bflag(&base, p, flags[k]));
    putnum(&ob, bval(&base, p, "shock_to_randomization_h"));
    putnum(&ob, dose(&base, p, "norepinephrine"));
    putnum(&ob, dose(&base, p, "epinephrine"));
    putnum(&ob, dose(&base, p, "vasopressin"));
    putnum(&ob, dose(&base, p, "dobutamine"));
    putnum(&ob, bval(&base, p, "apache2"));
    putnum(&ob, bval(&base, p, "sofa"));
    /* Baseline organ failures: SOFA component >= 3 (six systems); renal: KDIGO 3. */
    lp_sofa_input bi;
    lp_sofa_input_init(&bi);
    bi.pao2 = bval(&base, p, "pao2");
    bi.fio2 = bval(&base, p, "fio2");
    bi.ventilated = bflag(&base, p, "resp_support");
    bi.platelets = bval(&base, p, "platelets");
    bi.bilirubin = bval(&base, p, "bilirubin");
    bi.gcs = bval(&base, p, "gcs");
    lp_sofa bs;
    if (lp_sofa_score(&bi, 6, &bs, NULL)) memset(&bs, 0xff, sizeof bs);
    /* The kidney reference: no creatinine from before the illness is recorded, so by
     * default the lower of the randomisation value and KDIGO's estimate (an eGFR of
     * 75 for the patient's age, sex and race); see docs/outcomes.md. */
    int stage = -1;
    double cr0 = bval(&base, p, "creatinine"), cref = cr0;
    if (o->kidney_reference == LP_KIDNEY_REF_ESTIMATED && *sex && *race) {
      double est;
      if (!lp_kdigo_estimated_baseline(bval(&base, p, "age"), !strcmp(sex, "female"), !strcmp(race, "black"), &est,
                                       NULL))
        cref = isfinite(cr0) ? fmin(cr0, est) : est;
    }
    if (isfinite(cr0)) lp_kdigo_stage(cr0, cref, NAN, bflag(&base, p, "rrt") == 1, &stage, NULL);
    else if (bflag(&base, p, "rrt") == 1) stage = 3;
    putflag(&ob, bs.component[LP_SOFA_RESP] < 0 ? -1 : bs.component[LP_SOFA_RESP] >= 3);
    putflag(&ob, stage < 0 ? -1 : stage >= 3);
    putflag(&ob, bs.component[LP_SOFA_LIVER] < 0 ? -1 : bs.component[LP_SOFA_LIVER] >= 3);
    putflag(&ob, bs.component[LP_SOFA_COAG] < 0 ? -1 : bs.component[LP_SOFA_COAG] >= 3);
    putflag(&ob, bs.component[LP_SOFA_CNS] < 0 ? -1 : bs.component[LP_SOFA_CNS] >= 3);
    putflag(&ob, bflag(&base, p, "positive_culture"));
    putflag(&ob, bflag(&base, p, "mech_vent"));
    putflag(&ob, bflag(&base, p, "rrt"));
    putflag(&ob, bflag(&base, p, "ards"));
    static const char *const sources[] = {"lung", "abdomen", "urinary", "bacteremia", "neurologic", "soft_tissue", "other"};
    static const char *const rhythms[] = {"sinus", "af", "paced", "other"};
    put_levels(&ob, bstr(&base, p, "infection_source"), sources, 7);
    put_levels(&ob, bstr(&base, p, "rhythm"), rhythms, 4);
    static const char *const physiology[] = {"map", "heart_rate", "cvp", "cardiac_index", "stroke_volume", "sao2",
                                             "scvo2", "lactate"};
    for (int k = 0; k < 8; k++) putnum(&ob, bval(&base, p, physiology[k]));
    putnum(&ob, bi.pao2 / bi.fio2);
    putnum(&ob, cr0);
    putnum(&ob, cref);
    putnum(&ob, bi.bilirubin);
    putnum(&ob, bval(&base, p, "hemoglobin"));
    putnum(&ob, bi.platelets);
    putnum(&ob, bi.gcs);
    putflag(&ob, p->received);
    /* ICU days: the daily records from day 1 to the last in the ICU (at most 28). */
    int nd = 0;
    lp_sofa days[28];
    for (int d = 0; d < p->ndays; d++) {
      if (p->have_day[d]) days[nd++] = p->day[d];
      else { /* a day with no record at all: every component missing */
        lp_sofa miss;
        memset(&miss, 0, sizeof miss);
        for (int k = 0; k < LP_SOFA_NCOMP; k++) miss.component[k] = -1;
        miss.systems = 5;
        miss.total = -1;
        miss.missing = 0x2f;
        days[nd++] = miss;
      }
    }
    putnum(&ob, nd);
    lp_sofa_mean sm;
    if (nd > 0 && !lp_sofa_mean_daily(days, (size_t)nd, o->rule, &sm, NULL)) {
      out->filled += sm.filled;
      out->component_days += (size_t)nd * 5;
      putnum(&ob, sm.mean);
      putnum(&ob, sm.component[LP_SOFA_RESP]);
      putnum(&ob, sm.component[LP_SOFA_COAG]);
      putnum(&ob, sm.component[LP_SOFA_LIVER]);
      putnum(&ob, sm.component[LP_SOFA_CV]);
      putnum(&ob, sm.component[LP_SOFA_RENAL]);
      putnum(&ob, sm.mean - sm.component[LP_SOFA_CV]);
    } else {
      for (int k = 0; k < 7; k++) lp_strbuf_printf(&ob, ",");
    }
    /* Multiple imputation: each missing component-day drawn from the patient's own
     * observed values of that component (from the whole trial when it has none). */
    static const int comps[5] = {LP_SOFA_RESP, LP_SOFA_COAG, LP_SOFA_LIVER, LP_SOFA_CV, LP_SOFA_RENAL};
    for (size_t k = 0; k < M; k++) {
      if (nd == 0) {
        lp_strbuf_printf(&ob, ",");
        continue;
      }
      lp_rng r;
      lp_rng_seed(&r, o->seed, ((uint64_t)i << 16) + k);
      double total = 0;
      for (int cc = 0; cc < 5; cc++) {
        int comp = comps[cc], obs[28], no = 0;
        for (int d = 0; d < nd; d++)
          if (days[d].component[comp] >= 0) obs[no++] = days[d].component[comp];
        for (int d = 0; d < nd; d++) {
          int v = days[d].component[comp];
          if (v < 0) v = no ? obs[lp_rng_below(&r, (uint32_t)no)] : (int)lp_rng_below(&r, 2);
          total += v;
        }
      }
      putnum(&ob, total / nd);
    }
    /* Deaths and times. */
    bool d28 = p->died && p->death <= 28;
    putflag(&ob, d28);
    putflag(&ob, !d28);
    putflag(&ob, p->died && isfinite(p->icu_end) && p->death <= p->icu_end + 1e-9);
    putflag(&ob, p->died && (!isfinite(p->hosp_end) || p->death <= p->hosp_end + 1e-9));
    double t28 = d28 ? p->death : 28;
    if (!d28 && !p->died && isfinite(p->hosp_end) && p->hosp_end < 28) t28 = 28; /* discharged alive: known alive */
    putnum(&ob, fmax(t28, 0));
    putflag(&ob, d28);
    lp_strbuf_printf(&tb, "%s,%s,%s,death28,%.10g,%d", p->code, p->site, out->arms[p->arm], fmax(t28, 0), d28);
    putnum(&tb, bval(&base, p, "age"));
    putnum(&tb, bval(&base, p, "apache2"));
    lp_strbuf_printf(&tb, "\n");
    putnum(&ob, p->icu_end);
    putnum(&ob, p->hosp_end);
    /* Free days to day 28: 0 for a death by day 28; else 28 minus the ICU days on
     * catecholamines (a day with no rate recorded takes the previous day's status)
     * or on mechanical ventilation. */
    int cat_days = 0, vent_days = 0;
    bool last_cat = false;
    for (int d = 0; d < p->ndays; d++) {
      bool cat = p->catechol_known[d] ? p->catechol[d] : last_cat;
      cat_days += cat;
      last_cat = cat;
      vent_days += p->vent[d];
    }
    putnum(&ob, d28 ? 0 : 28 - cat_days);
    putnum(&ob, d28 ? 0 : 28 - vent_days);
    /* Weaning among patients ventilated at baseline: time to successful weaning by
     * day 28; censored at death, or day 28. */
    if (bflag(&base, p, "mech_vent") == 1) {
      bool wean = isfinite(p->weaned) && p->weaned <= 28;
      double tw = wean ? p->weaned : (d28 ? p->death : 28);
      putnum(&ob, fmax(tw, 0));
      putflag(&ob, wean);
      lp_strbuf_printf(&tb, "%s,%s,%s,weaning,%.10g,%d", p->code, p->site, out->arms[p->arm], fmax(tw, 0), wean);
      putnum(&tb, bval(&base, p, "age"));
      putnum(&tb, bval(&base, p, "apache2"));
      lp_strbuf_printf(&tb, "\n");
    } else {
      lp_strbuf_printf(&ob, ",,");
    }
    /* Kidney: any RRT on days 1-28 (chronic dialysis was an exclusion, so new); its
     * duration in days; sustained renal failure = KDIGO 2 or 3 on the last ICU day
     * (creatinine carried forward; RRT counts as stage 3) against the reference
     * creatinine; the major kidney event = death by 28, new RRT or sustained failure. */
    int rrt_days = 0;
    for (int d = 0; d < p->ndays; d++) rrt_days += p->rrt[d];
    putflag(&ob, rrt_days > 0);
    if (rrt_days > 0) putnum(&ob, rrt_days);
    else lp_strbuf_printf(&ob, ",");
    int stage_end = -1;
    if (p->ndays > 0 && isfinite(cref)) {
      int last = p->ndays - 1;
      double cr = NAN;
      for (int d = last; d >= 0 && isnan(cr); d--) cr = p->creat[d];
      if (p->rrt[last]) stage_end = 3;
      else if (isfinite(cr) && cr > 0 && lp_kdigo_stage(cr, cref, NAN, false, &stage_end, NULL)) stage_end = -1;
    }
    lp_kidney_outcome ko;
    lp_kidney_outcome_compute(stage_end, d28, rrt_days > 0, &ko);
    putflag(&ob, ko.sustained_renal_failure);
    putflag(&ob, ko.major_kidney_event);
    putflag(&ob, p->ae[0]);
    putflag(&ob, p->ae[1] || p->ae[2] || p->ae[3]);
    putflag(&ob, p->ae[1]);
    putflag(&ob, p->ae[2]);
    putflag(&ob, p->ae[3]);
    putflag(&ob, p->ae[4]);
    putflag(&ob, p->ae[5]);
    /* Subgroups. */
    double ci = bval(&base, p, "cardiac_index"), sv = bval(&base, p, "scvo2"), la = bval(&base, p, "lactate"),
           ne = bval(&base, p, "norepinephrine");
    lp_strbuf_printf(&ob, ",%s", isfinite(ci) ? (ci <= ci_third ? "lowest third" : "middle or highest third") : "");
    lp_strbuf_printf(&ob, ",%s", isfinite(sv) ? (sv < 70 ? "low (<70%)" : sv <= 85 ? "normal (70-85%)" : "high (>85%)") : "");
    lp_strbuf_printf(&ob, ",%s", isfinite(la) ? (la <= 2 ? "<=2 mmol/liter" : ">2 mmol/liter") : "");
    lp_strbuf_printf(&ob, ",%s\n", isfinite(ne) ? (ne <= ne_median ? "at or below median" : "above median") : "");
  }
  if (ob.nomem || tb.nomem) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory writing the analysis data set");
    goto done;
  }
  /* ---- daily course: LOCF-filled totals among patients in the ICU that day ---- */
  out->course.days = 28;
  for (int a = 0; a < 2; a++)
    for (int d = 0; d < 28; d++) {
      double s = 0, ss = 0;
      long k = 0;
      for (size_t i = 0; i < n; i++) {
        const patient *p = &P[i];
        if (p->withdrawn || p->arm != a || d >= p->ndays || !p->have_day[d]) continue;
        int tot = 0;
        for (int cc = 0; cc < LP_SOFA_NCOMP; cc++) {
          if (cc == LP_SOFA_CNS) continue;
          int v = -1;
          for (int e = d; e >= 0 && v < 0; e--) v = p->have_day[e] ? p->day[e].component[cc] : -1;
          tot += v < 0 ? 0 : v;
        }
        s += tot;
        ss += (double)tot * tot;
        k++;
      }
      out->course.n[a][d] = k;
      double mean = k ? s / (double)k : NAN, sd = k > 1 ? sqrt(fmax(0, (ss - k * mean * mean) / (double)(k - 1))) : NAN;
      out->course.mean[a][d] = mean;
      out->course.lo[a][d] = mean - 1.96 * sd / sqrt((double)k);
      out->course.hi[a][d] = mean + 1.96 * sd / sqrt((double)k);
    }
  /* ---- CONSORT flow from the screening log and the dispositions ---- */
  {
    lp_flow *f = &out->flow;
    size_t c_el, c_fail, c_reason, c_sp;
    if ((st = col(&scr, "eligible", &c_el, err)) || (st = col(&scr, "failed", &c_fail, err)) ||
        (st = col(&scr, "reason_not_enrolled", &c_reason, err)) || (st = col(&scr, "patient", &c_sp, err)))
      goto done;
    static const struct {
      const char *id, *text;
    } crit[] = {{"age", "Were <18 yr of age"},
                {"infection", "Did not have an infection"},
                {"sirs", "Did not meet SIRS criteria"},
                {"vasopressor", "Did not meet vasopressor criteria"},
                {"window_24h", "Were outside 24-hr window since meeting inclusion criteria"},
                {"esrf", "Had end-stage renal failure"},
                {"torsades", "Had a history of torsades de pointes"},
                {"hepatic", "Had severe hepatic impairment"},
                {"obstruction", "Had obstructions affecting ventricular flow"},
                {"treatment_limitation", "Had a decision regarding treatment limitation"},
                {"weight", "Weighed >135 kg"},
                {"pregnancy", "Were pregnant"},
                {"levosimendan_30d", "Had received levosimendan within 30 days"},
                {"hypersensitivity", "Had hypersensitivity to levosimendan"},
                {"other_trial", "Were enrolled in another trial"}};
    long counts[15] = {0}, shock = 0, missing_info = 0;
    long reasons_ne[5] = {0};
    static const char *const ne_text[4] = {"physician", "consent", "staff", "other"};
    size_t ns = lp_table_nrows(scr.t);
    f->assessed = (long)ns;
    for (size_t i = 0; i < ns; i++) {
      bool enrolled = lp_table_cell(scr.t, i, c_sp) && find(P, n, str(&scr, i, c_sp));
      if (enrolled) continue;
      f->excluded++;
      if (num(&scr, i, c_el) == 1) {
        const char *why = str(&scr, i, c_reason);
        int k = 3;
        for (int j = 0; j < 3; j++)
          if (strstr(why, ne_text[j])) k = j;
        reasons_ne[k]++;
        continue;
      }
      char failed[512];
      snprintf(failed, sizeof failed, ",%s,", str(&scr, i, c_fail));
      bool is_shock = false;
      for (size_t k = 0; k < 15; k++) {
        char needle[64];
        snprintf(needle, sizeof needle, ",%s,", crit[k].id);
        if (strstr(failed, needle)) {
          counts[k]++;
          if (k >= 1 && k <= 3) is_shock = true;
        }
      }
      if (strstr(failed, ":missing")) missing_info++;
      shock += is_shock;
    }
    /* Septic shock's own criteria (infection, SIRS, vasopressors) indented under it,
     * as in the paper's Figure 1 (a leading space is one indent level). */
    flow_item(&f->reasons[f->nreasons++], "Were not in septic shock", shock);
    for (size_t k = 1; k <= 3; k++) {
      char text[112];
      snprintf(text, sizeof text, " %s", crit[k].text);
      if (counts[k]) flow_item(&f->reasons[f->nreasons++], text, counts[k]);
    }
    for (size_t k = 0; k < 15; k++)
      if (counts[k] && (k < 1 || k > 3)) flow_item(&f->reasons[f->nreasons++], crit[k].text, counts[k]);
    if (missing_info) flow_item(&f->reasons[f->nreasons++], "Had incomplete eligibility information", missing_info);
    static const char *const ne_label[4] = {"Were not enrolled, per physician's decision",
                                            "Did not give consent or have consent obtained",
                                            "Had problems with staff availability", "Had other reasons"};
    for (int k = 0; k < 4; k++)
      if (reasons_ne[k]) flow_item(&f->reasons[f->nreasons++], ne_label[k], reasons_ne[k]);
    f->randomised = (long)n;
    for (int a = 0; a < 2; a++) {
      snprintf(f->arm[a].name, sizeof f->arm[a].name, "%s", out->arms[a]);
      long died = 0, withdrew = 0, other = 0;
      for (size_t i = 0; i < n; i++) {
        const patient *p = &P[i];
        if (p->arm != a) continue;
        f->arm[a].assigned++;
        if (p->received) f->arm[a].received++;
        else if (p->withdrawn) withdrew++;
        else if (p->died && p->death < 1) died++;
        else other++;
        if (!p->withdrawn) f->arm[a].analysed++;
        if (p->withdrawn) f->arm[a].withdrawn++;
        /* Alive, not withdrawn, and no hospital discharge recorded: vital status unknown. */
        else if (!p->died && !isfinite(p->hosp_end)) f->arm[a].lost++;
        if (p->received && !p->withdrawn) f->arm[a].as_treated++;
      }
      if (withdrew) flow_item(&f->arm[a].not_received[f->arm[a].nnot++], "Withdrew consent", withdrew);
      if (died) flow_item(&f->arm[a].not_received[f->arm[a].nnot++], "Died before the infusion", died);
      if (other)
        flow_item(&f->arm[a].not_received[f->arm[a].nnot++], "Other reasons (not recorded on the outcome form)", other);
      if (withdrew)
        flow_item(&f->arm[a].excluded[f->arm[a].nexcluded++], "Excluded owing to withdrawal of consent", withdrew);
    }
  }
  out->csv = ob.p;
  out->csv_len = ob.len;
  ob.p = NULL;
  out->tte_csv = tb.p;
  out->tte_len = tb.len;
  tb.p = NULL;
done:
  free(ob.p);
  free(tb.p);
  free(P);
  lp_table_free(alloc.t);
  lp_table_free(rnd.t);
  lp_table_free(base.t);
  lp_table_free(daily.t);
  lp_table_free(outc.t);
  lp_table_free(ae.t);
  lp_table_free(scr.t);
  if (st) lp_derived_clear(out);
  return st;
}
