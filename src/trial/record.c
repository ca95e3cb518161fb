/* Data entry: baseline, daily ICU records, infusion events, outcomes and adverse
 * events from JSON or CSV. Each row is checked field by field (type, unit, plausible
 * range, FiO2 as a fraction, SI units converted) and as a whole (dates in order,
 * infusion protocol doses), all rows in one transaction or none, every write audited. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <leopards/table.h>

#include <leopards/clinical.h>

#include "trial/trial_internal.h"

typedef enum { T_INT, T_REAL, T_BOOL, T_TEXT, T_DATE, T_CHOICE } ftype;
enum { F_REQ = 1, F_KEY = 2, F_FIO2 = 4 };

typedef struct {
  const char *name;
  ftype type;
  double min, max;
  const char *unit;
  const char *choices; /* "a|b|c" */
  const char *desc;
  unsigned flags;
  const char *alt; /* another name, in other units */
  double alt_div;  /* value in alt units / alt_div = value in canonical units */
} field;

#define PAT {"patient", T_TEXT, 0, 0, "", NULL, "patient code (as randomised)", F_REQ | F_KEY, NULL, 0}
#define B(n, d) {n, T_BOOL, 0, 1, "0/1", NULL, d, 0, NULL, 0}
#define R(n, lo, hi, u, d) {n, T_REAL, lo, hi, u, NULL, d, 0, NULL, 0}
#define I(n, lo, hi, u, d) {n, T_INT, lo, hi, u, NULL, d, 0, NULL, 0}

/* Plausibility ranges reject typing errors and wrong units, not unusual patients. */
#define COMMON_PHYSIOLOGY                                                                        \
  R("pao2", 20, 700, "mmHg", "PaO2, worst (lowest PaO2/FiO2) of the day"),                       \
      {"fio2", T_REAL, 0.21, 1.0, "fraction", NULL,                                              \
       "FiO2 as a fraction 0.21-1.0 (a percentage is refused)", F_FIO2, NULL, 0},               \
      B("resp_support", "respiratory support (invasive or non-invasive ventilation)"),           \
      R("platelets", 1, 2000, "10^3/uL", "platelets, lowest"),                                  \
      {"bilirubin", T_REAL, 0.05, 60, "mg/dL", NULL, "bilirubin, highest", 0, "bilirubin_umol_l", \
       17.1},                                                                                    \
      R("map", 10, 200, "mmHg", "mean arterial pressure, lowest"),                               \
      R("dopamine", 0, 50, "ug/kg/min", "dopamine, highest rate given >= 1 h"),                  \
      R("dobutamine", 0, 50, "ug/kg/min", "dobutamine, highest rate given >= 1 h"),              \
      R("epinephrine", 0, 5, "ug/kg/min", "epinephrine, highest rate given >= 1 h"),             \
      R("norepinephrine", 0, 10, "ug/kg/min", "norepinephrine, highest rate given >= 1 h"),      \
      R("vasopressin", 0, 1, "units/min", "vasopressin (recorded; not part of SOFA)"),           \
      I("gcs", 3, 15, "points", "Glasgow Coma Scale, lowest"),                                   \
      {"creatinine", T_REAL, 0.1, 25, "mg/dL", NULL, "creatinine, highest", 0,                   \
       "creatinine_umol_l", 88.4},                                                               \
      R("urine_ml", 0, 20000, "mL/24 h", "urine output over the day")

static const field baseline_fields[] = {
    PAT,
    I("age", 18, 120, "years", "age at randomisation"),
    {"sex", T_CHOICE, 0, 0, "", "male|female", "sex", 0, NULL, 0},
    R("weight_kg", 30, 135, "kg", "weight"),
    R("height_cm", 100, 230, "cm", "height"),
    {"race", T_CHOICE, 0, 0, "", "asian|black|white|other", "race (from medical records)", 0, NULL, 0},
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
    {"infection_source", T_CHOICE, 0, 0, "", "lung|abdomen|urinary|bacteremia|neurologic|soft_tissue|other",
     "source or site of the initial infection", 0, NULL, 0},
    B("positive_culture", "positive microbiological culture"),
    B("mech_vent", "mechanical ventilation"),
    B("rrt", "renal-replacement therapy"),
    B("ards", "moderate or severe ARDS"),
    {"rhythm", T_CHOICE, 0, 0, "", "sinus|af|paced|other", "heart rhythm", 0, NULL, 0},
    R("heart_rate", 20, 250, "/min", "heart rate"),
    R("cvp", -10, 40, "mmHg", "central venous pressure"),
    R("cardiac_index", 0.3, 10, "L/min/m2", "cardiac index (if measured)"),
    R("stroke_volume", 5, 250, "mL", "stroke volume (if measured)"),
    R("sao2", 30, 100, "%", "arterial oxygen saturation"),
    R("scvo2", 10, 100, "%", "central venous oxygen saturation"),
    R("lactate", 0, 30, "mmol/L", "lactate"),
    R("hemoglobin", 20, 250, "g/L", "haemoglobin"),
    COMMON_PHYSIOLOGY,
};

static const field daily_fields[] = {
    PAT,
    {"day", T_INT, 1, 28, "day", NULL, "ICU day after randomisation, 1-28 (day 1 = the first 24 hours after randomisation)", F_REQ | F_KEY, NULL, 0},
    B("in_icu", "in the ICU on this day"),
    COMMON_PHYSIOLOGY,
    B("mech_vent", "mechanical ventilation"),
    B("rrt", "renal-replacement therapy"),
};

static const field infusion_fields[] = {
    PAT,
    {"hour", T_REAL, 0, 24, "hours", NULL, "time since the start of the infusion", F_REQ | F_KEY, NULL, 0},
    {"event", T_CHOICE, 0, 0, "", "start|increase|decrease|stop|end", "infusion event", F_REQ, NULL, 0},
    {"dose", T_REAL, 0, 0.2, "ug/kg/min", NULL, "dose from this time on (0, 0.05, 0.1 or 0.2)", F_REQ, NULL, 0},
    {"reason", T_CHOICE, 0, 0, "", "protocol|hypotension|tachycardia|other",
     "reason for the change", 0, NULL, 0},
};

static const field outcome_fields[] = {
    PAT,
    B("received_drug", "received any study drug"),
    {"icu_discharge", T_DATE, 0, 0, "date", NULL, "ICU discharge date", 0, NULL, 0},
    {"hospital_discharge", T_DATE, 0, 0, "date", NULL, "hospital discharge date", 0, NULL, 0},
    B("died", "died (within follow-up)"),
    {"death_date", T_DATE, 0, 0, "date", NULL, "date of death", 0, NULL, 0},
    {"weaned_date", T_DATE, 0, 0, "date", NULL, "date successfully weaned from mechanical ventilation", 0, NULL, 0},
    B("consent_withdrawn", "consent withdrawn (data kept, excluded from analyses)"),
    {"consent_withdrawn_date", T_DATE, 0, 0, "date", NULL, "date consent was withdrawn", 0, NULL, 0},
};

static const field ae_fields[] = {
    PAT,
    {"id", T_INT, 1, 1e12, "", NULL, "event number, to change an existing event (absent: a new event)", 0, NULL, 0},
    {"onset", T_DATE, 0, 0, "date", NULL, "onset date", F_REQ, NULL, 0},
    {"category", T_CHOICE, 0, 0, "",
     "supraventricular_tachyarrhythmia|ventricular_tachyarrhythmia|bradycardia|hypotension|"
     "myocardial_ischemia|other",
     "category", F_REQ, NULL, 0},
    {"term", T_TEXT, 0, 0, "", NULL, "event term", F_REQ, NULL, 0},
    B("serious", "serious adverse event"),
    {"relatedness", T_CHOICE, 0, 0, "", "none|unlikely|possible|probable|definite",
     "relationship to the study drug", 0, NULL, 0},
    {"outcome", T_CHOICE, 0, 0, "", "resolved|resolving|ongoing|fatal|unknown", "outcome", 0, NULL, 0},
    {"description", T_TEXT, 0, 0, "", NULL, "free-text description", 0, NULL, 0},
};

typedef struct {
  const char *kind, *table;
  const field *f;
  size_t n;
} kind_spec;

#define KIND(k, tbl, arr) {k, tbl, arr, sizeof arr / sizeof arr[0]}
static const kind_spec kinds[LP_RECORD_COUNT] = {
    KIND("baseline", "patients", baseline_fields), KIND("daily", "daily", daily_fields),
    KIND("infusion", "infusions", infusion_fields), KIND("outcome", "outcomes", outcome_fields),
    KIND("ae", "adverse_events", ae_fields),
};

const char *lp_record_kind_name(lp_record_kind k) {
  return (unsigned)k < LP_RECORD_COUNT ? kinds[k].kind : "?";
}

lp_status lp_record_kind_parse(const char *name, lp_record_kind *out, lp_error *err) {
  for (int i = 0; i < LP_RECORD_COUNT; i++)
    if (name && !strcmp(name, kinds[i].kind)) {
      *out = (lp_record_kind)i;
      return LP_OK;
    }
  return lp_error_set(err, LP_EINVAL, "unknown record kind '%s' (baseline, daily, infusion, outcome, ae)",
                      name ? name : "");
}

static const char *type_name(ftype t) {
  switch (t) {
  case T_INT: return "integer";
  case T_REAL: return "number";
  case T_BOOL: return "0/1";
  case T_DATE: return "date YYYY-MM-DD or YYYY-MM-DDTHH:MM";
  case T_CHOICE: return "one of";
  default: return "text";
  }
}

static void describe_field(const field *f, char *buf, size_t n) {
  char extra[160] = "";
  if (f->type == T_INT || f->type == T_REAL)
    snprintf(extra, sizeof extra, "%s%s%g to %g", f->unit, *f->unit ? ", " : "", f->min, f->max);
  else if (f->type == T_CHOICE)
    snprintf(extra, sizeof extra, "%s", f->choices);
  else
    snprintf(extra, sizeof extra, "%s", type_name(f->type));
  snprintf(buf, n, "%s (%s)%s%s%s", f->desc, extra, f->alt ? "; or " : "", f->alt ? f->alt : "",
           f->alt ? " in SI units" : "");
}

void lp_record_fields_help(lp_record_kind kind, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = '\0';
  if ((unsigned)kind >= LP_RECORD_COUNT) return;
  for (size_t i = 0; i < kinds[kind].n && k < n; i++) {
    char d[300];
    describe_field(&kinds[kind].f[i], d, sizeof d);
    k += (size_t)snprintf(buf + k, n - k, "  %-26s %s%s\n", kinds[kind].f[i].name, d,
                          kinds[kind].f[i].flags & F_REQ ? " [required]" : "");
  }
}

/* For the data dictionary: the description of a clinical column, or NULL. */
const char *lp__record_describe(const char *table, const char *col, char *buf, size_t n);
const char *lp__record_describe(const char *table, const char *col, char *buf, size_t n) {
  for (int k = 0; k < LP_RECORD_COUNT; k++) {
    if (strcmp(kinds[k].table, table)) continue;
    for (size_t i = 0; i < kinds[k].n; i++)
      if (!strcmp(kinds[k].f[i].name, col)) {
        describe_field(&kinds[k].f[i], buf, n);
        return buf;
      }
  }
  return NULL;
}

/* ---- value checks ---- */

typedef struct {
  char file[1100]; /* input name: a CSV path, "--json-in" or "--json-in[3]" */
  long line;       /* CSV line, 0 for JSON */
  char where[8];   /* unused prefix, kept empty */
} loc;

#define FAIL(l, fieldname, ...) lp__record_fail(err, l, fieldname, __VA_ARGS__)
static lp_status lp__record_fail(lp_error *err, const loc *l, const char *fname, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static lp_status lp__record_fail(lp_error *err, const loc *l, const char *fname, const char *fmt, ...) {
  char text[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  /* A JSON input has keys ("field"), a CSV file columns. */
  if (l->line == 0) return lp_error_at_json(err, LP_EDATA, l->file, fname, "%s%s", l->where, text);
  return lp_error_at(err, LP_EDATA, l->file, l->line, fname, "%s%s", l->where, text);
}

static bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* A date "YYYY-MM-DD", optionally with a time "THH:MM" or "THH:MM:SS" (discharges
 * and deaths are recorded to the minute where known, for lengths of stay in days
 * with decimals). */
bool lp__valid_date(const char *s) {
  int y, m, d;
  char tail;
  size_t len = strlen(s);
  if (len != 10 && len != 16 && len != 19) return false;
  if (s[4] != '-' || s[7] != '-') return false;
  char day[11];
  memcpy(day, s, 10);
  day[10] = '\0';
  if (sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return false;
  if (len > 10) {
    if (s[10] != 'T' || s[13] != ':' || (len == 19 && s[16] != ':')) return false;
    for (size_t i = 11; i < len; i++)
      if (i != 13 && i != 16 && !isdigit((unsigned char)s[i])) return false;
    int hh = (s[11] - '0') * 10 + (s[12] - '0'), mm = (s[14] - '0') * 10 + (s[15] - '0');
    int ss = len == 19 ? (s[17] - '0') * 10 + (s[18] - '0') : 0;
    if (hh > 23 || mm > 59 || ss > 59) return false;
  }
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return false;
  return d <= mdays[m - 1] + (m == 2 && leap(y));
}

static bool as_number(json_t *v, double *x) {
  if (json_is_number(v)) {
    *x = json_number_value(v);
    return true;
  }
  if (json_is_boolean(v)) {
    *x = json_is_true(v);
    return true;
  }
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!strcmp(s, "true")) return (*x = 1), true;
    if (!strcmp(s, "false")) return (*x = 0), true;
    return lp_parse_number(s, x);
  }
  return false;
}

/* Normalise one value into `out` (json integer/real/string). */
static lp_status check_value(const field *f, json_t *v, bool alt, const loc *l, json_t **out,
                             lp_error *err) {
  const char *name = alt ? f->alt : f->name;
  double x;
  switch (f->type) {
  case T_TEXT:
  case T_DATE:
  case T_CHOICE: {
    if (!json_is_string(v)) return FAIL(l, name, "expected text");
    const char *s = json_string_value(v);
    if (f->type == T_TEXT && strlen(s) > 2000) return FAIL(l, name, "text longer than 2000 characters");
    if (f->type == T_DATE && !lp__valid_date(s))
      return FAIL(l, name, "'%s' is not a date YYYY-MM-DD", s);
    if (f->type == T_CHOICE) {
      bool ok = false;
      size_t n = strlen(s);
      for (const char *p = f->choices; *p;) {
        const char *e = strchr(p, '|');
        size_t k = e ? (size_t)(e - p) : strlen(p);
        if (k == n && !strncmp(p, s, n)) ok = true;
        p += k + (e ? 1 : 0);
        if (!e) break;
      }
      if (!ok) return FAIL(l, name, "'%s' is not one of %s", s, f->choices);
    }
    *out = json_string(s);
    return LP_OK;
  }
  default:
    break;
  }
  if (!as_number(v, &x) || !isfinite(x))
    return FAIL(l, name, "expected %s", f->type == T_BOOL ? "0 or 1" : "a number");
  if (alt) x = lp_si_to_conventional(x, f->alt_div); /* rounded: SI cut-offs land on their bands */
  if ((f->flags & F_FIO2) && x >= 21 && x <= 100)
    return FAIL(l, name, "%g looks like a percentage: give FiO2 as a fraction (%g)", x, x / 100);
  if (f->type == T_BOOL && x != 0 && x != 1) return FAIL(l, name, "%g is not 0 or 1", x);
  if (f->type == T_INT && x != floor(x)) return FAIL(l, name, "%g is not a whole number", x);
  if (x < f->min || x > f->max) {
    if (alt)
      return FAIL(l, name, "%g (%g %s) is outside the plausible range %g to %g %s", x * f->alt_div, x,
                  f->unit, f->min, f->max, f->unit);
    /* Units in the plural ("1 to 28 days"); an ICU day says what it counts. */
    bool day = !strcmp(f->unit, "day");
    return FAIL(l, name, "%g is outside the plausible range %g to %g%s%s%s", x, f->min, f->max,
                *f->unit ? " " : "", day ? "days" : f->unit,
                day ? " (day 1 = the first 24 hours after randomisation)" : "");
  }
  *out = (f->type == T_REAL) ? json_real(x) : json_integer((json_int_t)x);
  return LP_OK;
}

/* ---- one record ---- */

typedef struct {
  long site_id;
  char rand_date[11]; /* YYYY-MM-DD of randomisation */
} patient_info;

static lp_status patient_lookup(lp_trial *t, const char *patient, patient_info *pi, const loc *l,
                                lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t, "SELECT site_id, substr(randomized_at, 1, 10) FROM randomisations WHERE patient=?",
                                   patient, &st, &row, "looking up a patient", err);
  if (s) return s;
  if (row) {
    pi->site_id = (long)sqlite3_column_int64(st, 0);
    snprintf(pi->rand_date, sizeof pi->rand_date, "%s", (const char *)sqlite3_column_text(st, 1));
  }
  lp__finalize(t, st);
  if (!row) return FAIL(l, "patient", "patient %s has not been randomised", patient);
  return LP_OK;
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static bool jnum(json_t *o, const char *k, double *x) {
  json_t *v = json_object_get(o, k);
  if (!json_is_number(v)) return false;
  *x = json_number_value(v);
  return true;
}

/* Rules on the whole row after the write (so a change of one field is checked
 * against the fields it did not change). */
/* The baseline SOFA total against the values recorded with it. Each component scored
 * from the recorded values is a lower bound of the true one (a drug not recorded counts
 * as not given, unrecorded respiratory support as none, a missing urine output leaves
 * renal to creatinine), so the total can never be below their sum; when every input is
 * recorded the total must equal it. A mismatch is refused, naming the components, so
 * a typing error in the total or in a value is caught at entry, not at analysis. */
static lp_status check_baseline_sofa(json_t *row, const loc *l, lp_error *err) {
  double total;
  if (!jnum(row, "sofa", &total)) return LP_OK;
  lp_sofa_input in;
  lp_sofa_input_init(&in);
  static const char *const names[] = {"pao2", "fio2", "platelets", "bilirubin", "map", "dopamine",
                                      "dobutamine", "epinephrine", "norepinephrine", "gcs", "creatinine",
                                      "urine_ml"};
  double *vals[] = {&in.pao2, &in.fio2, &in.platelets, &in.bilirubin, &in.map, &in.dopamine,
                    &in.dobutamine, &in.epinephrine, &in.norepinephrine, &in.gcs, &in.creatinine,
                    &in.urine_ml};
  bool all = true;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) all &= jnum(row, names[i], vals[i]);
  double support;
  if (jnum(row, "resp_support", &support)) in.ventilated = support == 1;
  else all = false;
  lp_sofa s;
  lp_error inner = {0};
  if (lp_sofa_score(&in, 6, &s, &inner))
    return FAIL(l, inner.field[0] ? inner.field : "sofa", "%s", inner.message);
  int known = 0;
  char parts[256];
  size_t k = 0;
  parts[0] = '\0';
  for (int c = 0; c < LP_SOFA_NCOMP; c++) {
    if (s.component[c] < 0) {
      all = false;
      continue;
    }
    known += s.component[c];
    k += (size_t)snprintf(parts + k, sizeof parts - k, "%s%s %d", k ? ", " : "",
                          lp_sofa_component_name((lp_sofa_component)c), s.component[c]);
  }
  if (all && total != known)
    return FAIL(l, "sofa", "the SOFA total %g does not match the values recorded with it, which score %d (%s)",
                total, known, parts);
  if (total < known)
    return FAIL(l, "sofa",
                "the SOFA total %g is below %d, the sum of the components the recorded values already score (%s)",
                total, known, parts);
  return LP_OK;
}

static lp_status check_row(lp_trial *t, lp_record_kind kind, json_t *row, const patient_info *pi,
                           const loc *l, lp_error *err) {
  double x = 0, y = 0;
  const char *rd = pi->rand_date;
  if (kind == LP_RECORD_OUTCOME) {
    static const char *const dates[] = {"icu_discharge", "hospital_discharge", "death_date",
                                        "weaned_date", "consent_withdrawn_date"};
    for (size_t i = 0; i < 5; i++) {
      const char *d = jstr(row, dates[i]);
      if (d && strcmp(d, rd) < 0)
        return FAIL(l, dates[i], "%s is before the randomisation date %s", d, rd);
    }
    const char *icu = jstr(row, "icu_discharge"), *hosp = jstr(row, "hospital_discharge");
    if (icu && hosp && strcmp(hosp, icu) < 0)
      return FAIL(l, "hospital_discharge", "hospital discharge %s is before ICU discharge %s", hosp, icu);
    bool died = jnum(row, "died", &x) && x == 1;
    const char *dd = jstr(row, "death_date");
    if (died && !dd) return FAIL(l, "death_date", "died is 1 but no death_date is given");
    if (dd && !died) return FAIL(l, "died", "a death_date is given but died is not 1");
    if (dd && icu && strcmp(dd, icu) < 0)
      return FAIL(l, "icu_discharge", "ICU discharge %s is after death on %s", icu, dd);
    bool cw = jnum(row, "consent_withdrawn", &x) && x == 1;
    if (cw && !jstr(row, "consent_withdrawn_date"))
      return FAIL(l, "consent_withdrawn_date", "consent_withdrawn is 1 but no date is given");
  } else if (kind == LP_RECORD_AE) {
    const char *d = jstr(row, "onset");
    if (d && strcmp(d, rd) < 0) return FAIL(l, "onset", "onset %s is before the randomisation date %s", d, rd);
  } else if (kind == LP_RECORD_INFUSION) {
    const char *ev = jstr(row, "event");
    jnum(row, "hour", &x);
    jnum(row, "dose", &y);
    /* doses of the protocol: 0.1 to start, 0.2 after 2-4 h, down to 0.1, 0.05, or stop */
    if (y != 0 && y != 0.05 && y != 0.1 && y != 0.2)
      return FAIL(l, "dose", "%g is not a protocol dose (0, 0.05, 0.1 or 0.2 ug/kg/min)", y);
    if (!strcmp(ev, "start") && (x != 0 || y != 0.1))
      return FAIL(l, "event", "the infusion starts at hour 0 at 0.1 ug/kg/min (no bolus)");
    if ((!strcmp(ev, "stop") || !strcmp(ev, "end")) && y != 0)
      return FAIL(l, "dose", "a %s event has dose 0", ev);
    if (!strcmp(ev, "end") && x != 24) return FAIL(l, "hour", "the infusion ends at hour 24");
    if (!strcmp(ev, "increase") && y != 0.2) return FAIL(l, "dose", "an increase is to 0.2 ug/kg/min");
    if (!strcmp(ev, "decrease") && y != 0.1 && y != 0.05)
      return FAIL(l, "dose", "a decrease is to 0.1 or 0.05 ug/kg/min");
    if (strcmp(ev, "start")) {
      sqlite3_stmt *st;
      if (lp__prepare(t, "SELECT 1 FROM infusions WHERE patient=? AND event='start'", &st, err)) return LP_EDB;
      sqlite3_bind_text(st, 1, jstr(row, "patient"), -1, SQLITE_STATIC);
      int rc = sqlite3_step(st);
      lp__finalize(t, st);
      if (rc != SQLITE_ROW) return FAIL(l, "event", "no 'start' event recorded for this patient before this one");
    }
  } else if (kind == LP_RECORD_BASELINE) {
    if (jnum(row, "pao2", &x) && !jnum(row, "fio2", &y))
      return FAIL(l, "fio2", "PaO2 is given without FiO2");
    lp_status s = check_baseline_sofa(row, l, err);
    if (s) return s;
  }
  return LP_OK;
}

static lp_status record_one(lp_trial *t, lp_record_kind kind, json_t *in, const loc *l,
                            const char *user, const char *reason, lp_error *err) {
  const kind_spec *ks = &kinds[kind];
  if (!json_is_object(in)) return FAIL(l, NULL, "expected an object");
  /* unknown names are refused: a misspelt field must not vanish silently */
  const char *key;
  json_t *v;
  json_object_foreach(in, key, v) {
    bool known = false;
    for (size_t i = 0; i < ks->n; i++)
      known |= !strcmp(key, ks->f[i].name) || (ks->f[i].alt && !strcmp(key, ks->f[i].alt));
    if (!known) return FAIL(l, key, "unknown field for %s records (see 'leopards record %s --help')", ks->kind, ks->kind);
  }
  const char *patient = jstr(in, "patient");
  if (!patient || !*patient) return FAIL(l, "patient", "a patient code is required");
  patient_info pi;
  lp_status s;
  if ((s = patient_lookup(t, patient, &pi, l, err))) return s;
  if ((s = lp__user_check(t, user, (1u << LP_ROLE_INVESTIGATOR) | (1u << LP_ROLE_MANAGER),
                          pi.site_id, "record data", err)))
    return s;
  /* normalised values of the fields present */
  json_t *vals = json_object();
  for (size_t i = 0; i < ks->n; i++) {
    const field *f = &ks->f[i];
    json_t *x = json_object_get(in, f->name);
    bool alt = false;
    if (f->alt && json_object_get(in, f->alt)) {
      if (x) {
        json_decref(vals);
        return FAIL(l, f->alt, "give %s or %s, not both", f->name, f->alt);
      }
      x = json_object_get(in, f->alt);
      alt = true;
    }
    if (!x) continue;
    json_t *norm = NULL;
    if (json_is_null(x) || (json_is_string(x) && !*json_string_value(x))) norm = json_null();
    else if ((s = check_value(f, x, alt, l, &norm, err))) {
      json_decref(vals);
      return s;
    }
    json_object_set_new(vals, f->name, norm);
  }
  /* find an existing record by its key */
  long id = 0;
  char *old = NULL; /* before any goto out */
  char sql[2048];
  sqlite3_stmt *st;
  if (kind == LP_RECORD_AE) {
    json_t *idv = json_object_get(vals, "id");
    if (json_is_integer(idv)) {
      if ((s = lp__prepare(t, "SELECT id FROM adverse_events WHERE id=? AND patient=?", &st, err))) goto out;
      sqlite3_bind_int64(st, 1, json_integer_value(idv));
      sqlite3_bind_text(st, 2, patient, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW) id = (long)sqlite3_column_int64(st, 0);
      lp__finalize(t, st);
      if (!id) {
        s = FAIL(l, "id", "patient %s has no adverse event %lld", patient, (long long)json_integer_value(idv));
        goto out;
      }
    }
    json_object_del(vals, "id");
  } else {
    size_t k = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=?", ks->table);
    for (size_t i = 1; i < ks->n; i++)
      if (ks->f[i].flags & F_KEY) {
        if (!json_object_get(vals, ks->f[i].name) || json_is_null(json_object_get(vals, ks->f[i].name))) {
          s = FAIL(l, ks->f[i].name, "required");
          goto out;
        }
        k += (size_t)snprintf(sql + k, sizeof sql - k, " AND %s=?", ks->f[i].name);
      }
    if ((s = lp__prepare(t, sql, &st, err))) goto out;
    int b = 1;
    sqlite3_bind_text(st, b++, patient, -1, SQLITE_STATIC);
    for (size_t i = 1; i < ks->n; i++)
      if (ks->f[i].flags & F_KEY) {
        json_t *kv = json_object_get(vals, ks->f[i].name);
        if (json_is_integer(kv)) sqlite3_bind_int64(st, b++, json_integer_value(kv));
        else sqlite3_bind_double(st, b++, json_number_value(kv));
      }
    if (sqlite3_step(st) == SQLITE_ROW) id = (long)sqlite3_column_int64(st, 0);
    lp__finalize(t, st);
  }
  if (id) {
    if (!reason || !*reason) {
      s = FAIL(l, NULL, "patient %s already has this %s record: a change needs a reason (--reason)",
               patient, ks->kind);
      goto out;
    }
    if ((s = lp__row_json(t, ks->table, id, &old, err))) goto out;
    size_t k = (size_t)snprintf(sql, sizeof sql, "UPDATE %s SET ", ks->table);
    int nset = 0;
    json_object_foreach(vals, key, v) {
      if (!strcmp(key, "patient")) continue;
      k += (size_t)snprintf(sql + k, sizeof sql - k, "%s%s=?", nset ? ", " : "", key);
      nset++;
    }
    snprintf(sql + k, sizeof sql - k, " WHERE id=%ld", id);
    if (!nset) goto audit; /* nothing to change */
  } else {
    for (size_t i = 0; i < ks->n; i++) {
      json_t *x = json_object_get(vals, ks->f[i].name);
      if ((ks->f[i].flags & F_REQ) && (!x || json_is_null(x))) {
        s = FAIL(l, ks->f[i].name, "required for a new %s record", ks->kind);
        goto out;
      }
    }
    size_t k = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(", ks->table);
    int nset = 0;
    json_object_foreach(vals, key, v) k += (size_t)snprintf(sql + k, sizeof sql - k, "%s%s", nset++ ? ", " : "", key);
    k += (size_t)snprintf(sql + k, sizeof sql - k, ") VALUES(");
    for (int i = 0; i < nset; i++) k += (size_t)snprintf(sql + k, sizeof sql - k, "%s?", i ? ", " : "");
    snprintf(sql + k, sizeof sql - k, ")");
  }
  if ((s = lp__prepare(t, sql, &st, err))) goto out;
  {
    int b = 1;
    json_object_foreach(vals, key, v) {
      if (id && !strcmp(key, "patient")) continue;
      if (json_is_null(v)) sqlite3_bind_null(st, b++);
      else if (json_is_integer(v)) sqlite3_bind_int64(st, b++, json_integer_value(v));
      else if (json_is_real(v)) sqlite3_bind_double(st, b++, json_real_value(v));
      else sqlite3_bind_text(st, b++, json_string_value(v), -1, SQLITE_TRANSIENT);
    }
  }
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, id ? "changing a record" : "adding a record");
    goto out;
  }
  if (!id) id = (long)sqlite3_last_insert_rowid(t->db);
  {
    char *now = NULL;
    if ((s = lp__row_json(t, ks->table, id, &now, err))) goto out;
    json_t *row = now ? json_loads(now, 0, NULL) : NULL;
    free(now);
    s = row ? check_row(t, kind, row, &pi, l, err) : lp_error_set(err, LP_EDB, "record vanished");
    json_decref(row);
    if (s) goto out;
  }
audit:
  s = lp__audit_row(t, ks->table, id, old, patient, user, reason ? reason : "data entry", err);
out:
  free(old);
  json_decref(vals);
  return s;
}

static lp_status record_array(lp_trial *t, lp_record_kind kind, json_t *arr, const char *source,
                              const lp_table *tab, const char *user, const char *reason,
                              size_t *rows, lp_error *err) {
  lp_status s = lp__begin(t, err);
  if (s) return s;
  if ((s = lp__check_unlocked(t, err))) goto fail;
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o) {
    loc l = {"", tab ? lp_table_line(tab, i) : 0, ""};
    if (!tab && json_array_size(arr) > 1) snprintf(l.file, sizeof l.file, "%s[%zu]", source, i + 1);
    else snprintf(l.file, sizeof l.file, "%s", source);
    if ((s = record_one(t, kind, o, &l, user, reason, err))) {
      if (err && err->file[0] == '\0') { /* a rule without a field: still say where */
        lp_error e2 = *err;
        lp_error_at(err, s, l.file, l.line, NULL, "%s", e2.message);
      }
      goto fail;
    }
    (*rows)++;
  }
  return lp__commit(t, err);
fail:
  *rows = 0;
  lp__rollback(t);
  return s;
}

lp_status lp_record_json(lp_trial *t, lp_record_kind kind, const char *json, const char *source,
                         const char *user, const char *reason, size_t *rows, lp_error *err) {
  *rows = 0;
  if ((unsigned)kind >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  if (!source) source = "--json-in";
  json_error_t je;
  json_t *j = json_loads(json, 0, &je);
  if (!j)
    return lp_error_at(err, LP_EPARSE, source, je.line, NULL, "column %d: %s", je.column, je.text);
  if (json_is_object(j)) {
    json_t *a = json_array();
    json_array_append_new(a, j);
    j = a;
  }
  if (!json_is_array(j)) {
    json_decref(j);
    return lp_error_at(err, LP_EPARSE, source, 0, NULL, "expected a JSON object or an array of objects");
  }
  lp_status s = record_array(t, kind, j, source, NULL, user, reason, rows, err);
  json_decref(j);
  return s;
}

lp_status lp_record_csv(lp_trial *t, lp_record_kind kind, const char *path, const char *user,
                        const char *reason, size_t *rows, lp_error *err) {
  *rows = 0;
  if ((unsigned)kind >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  lp_table *tab;
  lp_status s = lp_table_read_csv(path, &tab, err);
  if (s) return s;
  json_t *arr = json_array();
  for (size_t r = 0; r < lp_table_nrows(tab); r++) {
    json_t *o = json_object();
    for (size_t c = 0; c < lp_table_ncols(tab); c++) {
      const char *v = lp_table_cell(tab, r, c);
      json_object_set_new(o, lp_table_colname(tab, c), v ? json_string(v) : json_null());
    }
    json_array_append_new(arr, o);
  }
  s = record_array(t, kind, arr, path, tab, user, reason, rows, err);
  json_decref(arr);
  lp_table_free(tab);
  return s;
}

lp_status lp_record_delete(lp_trial *t, lp_record_kind kind, long id, const char *user,
                           const char *reason, lp_error *err) {
  if ((unsigned)kind >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  if (!reason || !*reason) return lp_error_set(err, LP_EINVAL, "a deletion needs a reason (--reason)");
  const kind_spec *ks = &kinds[kind];
  lp_status s = lp__begin(t, err);
  if (s) return s;
  char *old = NULL, sql[128], patient[64] = "";
  sqlite3_stmt *st;
  if ((s = lp__check_unlocked(t, err))) goto done;
  snprintf(sql, sizeof sql, "SELECT patient FROM %s WHERE id=?", ks->table);
  if ((s = lp__prepare(t, sql, &st, err))) goto done;
  sqlite3_bind_int64(st, 1, id);
  if (sqlite3_step(st) == SQLITE_ROW) snprintf(patient, sizeof patient, "%s", (const char *)sqlite3_column_text(st, 0));
  lp__finalize(t, st);
  if (!patient[0]) {
    s = lp_error_set(err, LP_ENOTFOUND, "%s: no %s record %ld", t->path, ks->kind, id);
    goto done;
  }
  patient_info pi;
  loc l = {"", 0, ""};
  snprintf(l.file, sizeof l.file, "%s", ks->table);
  if ((s = patient_lookup(t, patient, &pi, &l, err)) ||
      (s = lp__user_check(t, user, (1u << LP_ROLE_INVESTIGATOR) | (1u << LP_ROLE_MANAGER), pi.site_id,
                          "delete data", err)) ||
      (s = lp__row_json(t, ks->table, id, &old, err)))
    goto done;
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id=?", ks->table);
  if ((s = lp__prepare(t, sql, &st, err))) goto done;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "deleting a record");
    goto done;
  }
  s = lp__audit_row(t, ks->table, id, old, patient, user, reason, err);
done:
  free(old);
  if (s) {
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}
