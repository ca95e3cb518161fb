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
#include <time.h>

#include <jansson.h>

#include <leopards/table.h>

#include <leopards/clinical.h>
#include <leopards/entry.h>
#include <leopards/forms.h>

#include "trial/trial_internal.h"

typedef lp_field field;
#define T_INT LP_FIELD_INTEGER
#define T_REAL LP_FIELD_REAL
#define T_BOOL LP_FIELD_BOOL
#define T_TEXT LP_FIELD_TEXT
#define T_DATE LP_FIELD_DATE
#define T_CHOICE LP_FIELD_CHOICE
#define F_REQ LP_FIELD_REQUIRED
#define F_KEY LP_FIELD_KEY
#define F_FIO2 LP_FIELD_FRACTION

/* The forms of the record kinds (the field definitions are in forms.c). */
_Static_assert((int)LP_FORM_BASELINE == (int)LP_RECORD_BASELINE && (int)LP_FORM_AE == (int)LP_RECORD_AE,
               "record kinds and forms in the same order");
typedef struct {
  const char *kind, *table;
  const field *f;
  size_t n;
} kind_spec;

static kind_spec spec_of(lp_record_kind k) {
  const lp_form *f = lp_form_get((lp_form_id)k);
  return (kind_spec){f->name, f->table, f->fields, f->nfields};
}

const char *lp_record_kind_name(lp_record_kind k) {
  return (unsigned)k < LP_RECORD_COUNT ? lp_form_get((lp_form_id)k)->name : "?";
}

lp_status lp_record_kind_parse(const char *name, lp_record_kind *out, lp_error *err) {
  const lp_form *f = lp_form_find(name);
  if (f && f->id < LP_FORM_SCREENING) {
    *out = (lp_record_kind)f->id;
    return LP_OK;
  }
  return lp_error_set(err, LP_EINVAL, "unknown record kind '%s' (baseline, daily, infusion, outcome, ae)",
                      name ? name : "");
}

void lp_record_fields_help(lp_record_kind kind, char *buf, size_t n) {
  if (n) buf[0] = '\0';
  if ((unsigned)kind >= LP_RECORD_COUNT) return;
  lp_form_help(lp_form_get((lp_form_id)kind), buf, n);
}

/* For the data dictionary: the description of a clinical column, or NULL. */
const char *lp__record_describe(const char *table, const char *col, char *buf, size_t n);
const char *lp__record_describe(const char *table, const char *col, char *buf, size_t n) {
  const lp_form *f = lp_form_of_table(table);
  const lp_field *x = lp_form_field(f, col);
  if (!x || (f && (f->id == LP_FORM_SCREENING || f->id == LP_FORM_RANDOMISATION))) return NULL;
  lp_field_describe(x, buf, n);
  return buf;
}

/* ---- findings ---- */

void lp_findings_clear(lp_findings *f) {
  if (!f) return;
  free(f->items);
  memset(f, 0, sizeof *f);
}

const char *lp_finding_level_name(lp_finding_level l) {
  return l == LP_FINDING_HARD ? "error" : l == LP_FINDING_SOFT ? "warning" : "note";
}

typedef struct {
  char file[1100]; /* input name as the caller gives it: a CSV path, "the JSON input[3]" */
  long line;       /* CSV line, 0 for JSON */
  bool text;       /* every value comes as text (CSV): numbers may be written as text */
  const char *form;
  char patient[LP__PATIENT_MAX + 1];
  int day;
  long record;
  lp_findings *out; /* every finding, when the caller asked for them */
  size_t nhard;
  char first_field[64];
  char summary[1000]; /* the hard findings, for the error */
} loc;

/* The field already has a hard finding (a rule on a refused value says nothing new). */
static bool refused_already(const loc *l, const char *fname) {
  const lp_findings *o = l->out;
  if (!fname || !l->nhard) return false;
  if (!strcmp(l->first_field, fname)) return true;
  for (size_t i = 0; o && i < o->n; i++)
    if (o->items[i].level == LP_FINDING_HARD && !strcmp(o->items[i].field, fname) &&
        !strcmp(o->items[i].source, l->file) && o->items[i].line == l->line)
      return true;
  char pat[80];
  snprintf(pat, sizeof pat, "; %s: ", fname);
  return strstr(l->summary, pat) != NULL;
}

static void add_finding(loc *l, lp_finding_level level, const char *fname, const char *text) {
  if (level == LP_FINDING_HARD && refused_already(l, fname)) return;
  if (level == LP_FINDING_HARD) {
    size_t k = strlen(l->summary);
    if (!l->nhard++) {
      snprintf(l->first_field, sizeof l->first_field, "%s", fname ? fname : "");
      snprintf(l->summary, sizeof l->summary, "%s", text);
    } else {
      if (l->nhard == 2) { /* the first one gains its field name too */
        char one[1000];
        snprintf(one, sizeof one, "%s%s%s", l->first_field, l->first_field[0] ? ": " : "", l->summary);
        snprintf(l->summary, sizeof l->summary, "%s", one);
        k = strlen(l->summary);
      }
      snprintf(l->summary + k, sizeof l->summary - k, "; %s%s%s", fname ? fname : "", fname ? ": " : "", text);
    }
  }
  lp_findings *o = l->out;
  if (!o) return;
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 8;
    lp_finding *p = realloc(o->items, cap * sizeof *p);
    if (!p) return; /* the error text still carries the hard ones */
    o->items = p;
    o->cap = cap;
  }
  lp_finding *f = &o->items[o->n++];
  memset(f, 0, sizeof *f);
  f->level = level;
  snprintf(f->form, sizeof f->form, "%s", l->form ? l->form : "");
  snprintf(f->patient, sizeof f->patient, "%s", l->patient);
  f->day = l->day;
  f->record = l->record;
  snprintf(f->field, sizeof f->field, "%s", fname ? fname : "");
  snprintf(f->text, sizeof f->text, "%s", text);
  snprintf(f->source, sizeof f->source, "%s", l->file);
  f->line = l->line;
  if (level == LP_FINDING_HARD) o->hard++;
  else if (level == LP_FINDING_SOFT)
    o->soft++;
  else
    o->notes++;
}

static lp_status finding(loc *l, lp_finding_level level, const char *fname, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static lp_status finding(loc *l, lp_finding_level level, const char *fname, const char *fmt, ...) {
  char text[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  add_finding(l, level, fname, text);
  return level == LP_FINDING_HARD ? LP_EDATA : LP_OK;
}
/* A hard finding: the record will be refused; checking goes on to name every field. */
#define FAIL(l, fieldname, ...) finding(l, LP_FINDING_HARD, fieldname, __VA_ARGS__)
#define WARN(l, fieldname, ...) finding(l, LP_FINDING_SOFT, fieldname, __VA_ARGS__)

/* The refusal of a record with hard findings, all of them in the message. */
static lp_status refuse(const loc *l, lp_error *err) {
  const char *fld = l->first_field[0] ? l->first_field : NULL;
  /* A JSON input has keys ("field"), a CSV file columns. */
  if (l->line == 0) {
    if (l->nhard > 1) return lp_error_at_json(err, LP_EDATA, l->file, fld, "%zu problems: %s", l->nhard, l->summary);
    return lp_error_at_json(err, LP_EDATA, l->file, fld, "%s", l->summary);
  }
  if (l->nhard > 1) return lp_error_at(err, LP_EDATA, l->file, l->line, fld, "%zu problems: %s", l->nhard, l->summary);
  return lp_error_at(err, LP_EDATA, l->file, l->line, fld, "%s", l->summary);
}
/* ---- value checks ---- */

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

/* A number from JSON (a number; true/false for a 0/1 field) or, from CSV where every
 * value is text, from its text. A JSON string "64" is not a number. */
static bool as_number(json_t *v, bool text, bool is_bool, double *x) {
  if (json_is_number(v)) {
    *x = json_number_value(v);
    return true;
  }
  if (json_is_boolean(v) && is_bool) {
    *x = json_is_true(v);
    return true;
  }
  if (json_is_string(v) && text) {
    const char *s = json_string_value(v);
    if (is_bool && !strcmp(s, "true")) return (*x = 1), true;
    if (is_bool && !strcmp(s, "false")) return (*x = 0), true;
    return lp_parse_number(s, x);
  }
  return false;
}

static const char *json_kind(json_t *v) {
  return json_is_string(v)    ? "text"
         : json_is_boolean(v) ? "true/false"
         : json_is_array(v)   ? "a list"
         : json_is_object(v)  ? "an object"
                              : "a number";
}

/* The plausible range of a field: a value outside it is accepted with a warning. A
 * value given in the alternative unit is named as it was entered, then converted. */
static void soft_check(const field *f, double x, bool alt, double entered, loc *l) {
  char as[96] = "";
  if (alt) snprintf(as, sizeof as, "%g %s (%g %s)", entered, f->alt_unit, x, f->unit);
  else
    snprintf(as, sizeof as, "%g %s", x, f->unit);
  if (!isnan(f->soft_min) && x < f->soft_min)
    WARN(l, f->name, "%s is unusually low (below %g%s%s): please check", as, f->soft_min, alt ? " " : "",
         alt ? f->unit : "");
  else if (!isnan(f->soft_max) && x > f->soft_max)
    WARN(l, f->name, "%s is unusually high (above %g%s%s): please check", as, f->soft_max, alt ? " " : "",
         alt ? f->unit : "");
}

/* Normalise one value into `out` (json integer/real/string); LP_EDATA with a hard
 * finding when it is refused. */
static lp_status check_value(const field *f, json_t *v, bool alt, loc *l, json_t **out) {
  const char *name = alt ? f->alt : f->name;
  double x;
  switch (f->type) {
    case T_TEXT:
    case T_DATE:
    case T_CHOICE: {
      if (!json_is_string(v)) return FAIL(l, name, "expected text, not %s", json_kind(v));
      const char *s = json_string_value(v);
      if (f->type == T_TEXT && strlen(s) > 2000) return FAIL(l, name, "text longer than 2000 characters");
      if (f->type == T_DATE && !lp__valid_date(s)) return FAIL(l, name, "'%s' is not a date YYYY-MM-DD", s);
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
      if (!*out) return FAIL(l, name, "not valid text (UTF-8 without NUL bytes)");
      return LP_OK;
    }
    default:
      break;
  }
  if (!as_number(v, l->text, f->type == T_BOOL, &x) || !isfinite(x)) {
    if (json_is_string(v) && !l->text)
      return FAIL(l, name, "expected %s, not the text \"%.40s\" (write numbers without quotes in JSON)",
                  f->type == T_BOOL ? "0 or 1" : "a number", json_string_value(v));
    return FAIL(l, name, "expected %s", f->type == T_BOOL ? "0 or 1" : "a number");
  }
  double entered = x;
  if (alt) x = lp_si_to_conventional(x, f->alt_div); /* rounded: SI cut-offs land on their bands */
  if ((f->flags & F_FIO2) && x >= 21 && x <= 100)
    return FAIL(l, name, "%g looks like a percentage: give FiO2 as a fraction (%g)", x, x / 100);
  if (f->type == T_BOOL && x != 0 && x != 1) return FAIL(l, name, "%g is not 0 or 1", x);
  if (f->type == T_INT && x != floor(x)) return FAIL(l, name, "%g is not a whole number", x);
  if (x < f->min || x > f->max) {
    if (alt)
      return FAIL(l, name, "%g %s (%g %s) is outside the plausible range %g to %g %s", entered, f->alt_unit, x, f->unit,
                  f->min, f->max, f->unit);
    /* Units in the plural ("1 to 28 days"); an ICU day says what it counts. */
    bool day = !strcmp(f->unit, "day");
    return FAIL(l, name, "%g is outside the plausible range %g to %g%s%s%s", x, f->min, f->max, *f->unit ? " " : "",
                day ? "days" : f->unit, day ? " (day 1 = the first 24 hours after randomisation)" : "");
  }
  soft_check(f, x, alt, entered, l);
  if (alt) finding(l, LP_FINDING_NOTE, f->name, "entered as %g %s: kept as %.10g %s", entered, f->alt_unit, x, f->unit);
  *out = (f->type == T_REAL) ? json_real(x) : json_integer((json_int_t)x);
  return LP_OK;
}

/* ---- one record ---- */

typedef struct {
  long site_id;
  char rand_date[11]; /* YYYY-MM-DD of randomisation */
  double rand_days;   /* the time of randomisation, days since 1970 (UTC) */
  double now_days;    /* the time now */
} patient_info;

static lp_status patient_lookup(lp_trial *t, const char *patient, patient_info *pi, loc *l, lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t, "SELECT site_id, randomized_at FROM randomisations WHERE patient=?", patient, &st,
                                   &row, "looking up a patient", err);
  if (s) return s;
  if (row) {
    pi->site_id = (long)sqlite3_column_int64(st, 0);
    const char *at = (const char *)sqlite3_column_text(st, 1);
    snprintf(pi->rand_date, sizeof pi->rand_date, "%.10s", at);
    pi->rand_days = lp_parse_iso_days(at);
  }
  lp__finalize(t, st);
  if (!row) return FAIL(l, "patient", "patient %s has not been randomised", patient);
  char now[40];
  lp__now(t, now, sizeof now);
  pi->now_days = lp_parse_iso_days(now);
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
static lp_status check_baseline_sofa(json_t *row, loc *l) {
  double total;
  if (!jnum(row, "sofa", &total)) return LP_OK;
  lp_sofa_input in;
  lp_sofa_input_init(&in);
  static const char *const names[] = {"pao2",       "fio2",       "platelets",   "bilirubin",      "map",
                                      "dopamine",   "dobutamine", "epinephrine", "norepinephrine", "gcs",
                                      "creatinine", "urine_ml"};
  double *vals[] = {&in.pao2,       &in.fio2,        &in.platelets,      &in.bilirubin, &in.map,        &in.dopamine,
                    &in.dobutamine, &in.epinephrine, &in.norepinephrine, &in.gcs,       &in.creatinine, &in.urine_ml};
  bool all = true;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) all &= jnum(row, names[i], vals[i]);
  double support;
  if (jnum(row, "resp_support", &support)) in.ventilated = support == 1;
  else
    all = false;
  lp_sofa s;
  lp_error inner = {0};
  if (lp_sofa_score(&in, 6, &s, &inner)) return FAIL(l, inner.field[0] ? inner.field : "sofa", "%s", inner.message);
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
    return FAIL(l, "sofa", "the SOFA total %g does not match the values recorded with it, which score %d (%s)", total,
                known, parts);
  if (total < known)
    return FAIL(l, "sofa",
                "the SOFA total %g is below %d, the sum of the components the recorded values already score (%s)",
                total, known, parts);
  return LP_OK;
}

/* ---- rules on the whole record ---- */

static bool timed(const char *d) { return strlen(d) > 10; }
/* Bounds of a recorded date or time, in days since 1970: a date alone covers its day. */
static double begin_of(const char *d) { return lp_parse_iso_days(d); }
static double end_of(const char *d) { return lp_parse_iso_days(d) + (timed(d) ? 0 : 1); }
/* `a` is certainly later than `b` (two dates alone: a later day). */
static bool later(const char *a, const char *b) {
  if (timed(a) && timed(b)) return lp_parse_iso_days(a) > lp_parse_iso_days(b);
  return strncmp(a, b, 10) > 0;
}
static void fmt_time(double days, char *buf, size_t n) {
  time_t s = (time_t)llround(days * 86400.0);
  struct tm tm;
  gmtime_r(&s, &tm);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* Dates and times of another form of the same patient (NULL when none). */
typedef struct {
  char icu[24], hosp[24], death[24];
  long last_day, last_icu_day; /* daily records: the last day, the last day in the ICU (0: none) */
} patient_dates;

static lp_status other_dates(lp_trial *t, const char *patient, patient_dates *d, lp_error *err) {
  memset(d, 0, sizeof *d);
  sqlite3_stmt *st;
  bool row;
  lp_status s =
      lp__select_patient(t, "SELECT icu_discharge, hospital_discharge, death_date FROM outcomes WHERE patient=?",
                         patient, &st, &row, "reading the outcome", err);
  if (s) return s;
  if (row) {
    char *dst[] = {d->icu, d->hosp, d->death};
    for (int i = 0; i < 3; i++)
      if (sqlite3_column_type(st, i) == SQLITE_TEXT)
        snprintf(dst[i], sizeof d->icu, "%s", (const char *)sqlite3_column_text(st, i));
  }
  lp__finalize(t, st);
  s = lp__select_patient(t,
                         "SELECT coalesce(max(day), 0), coalesce(max(CASE WHEN in_icu=1 THEN day END), 0) "
                         "FROM daily WHERE patient=?",
                         patient, &st, &row, "reading the daily records", err);
  if (s) return s;
  if (row) {
    d->last_day = (long)sqlite3_column_int64(st, 0);
    d->last_icu_day = (long)sqlite3_column_int64(st, 1);
  }
  lp__finalize(t, st);
  return LP_OK;
}

/* A daily record: its day over, the patient alive at its start, in the ICU only
 * before the recorded discharge (a warning: the discharge or the day may be wrong). */
static lp_status check_daily(lp_trial *t, json_t *row, const patient_info *pi, loc *l, lp_error *err) {
  double day;
  if (!jnum(row, "day", &day)) return LP_OK;
  patient_dates od;
  lp_status s = other_dates(t, jstr(row, "patient"), &od, err);
  if (s) return s;
  double start = pi->rand_days + day - 1, end = pi->rand_days + day;
  char b[32], e[32];
  fmt_time(start, b, sizeof b);
  fmt_time(end, e, sizeof e);
  if (end > pi->now_days)
    FAIL(l, "day",
         "day %g is not over yet: day d is the d-th 24 hours after randomisation, and day %g runs from "
         "%s to %s",
         day, day, b, e);
  if (od.death[0] && end_of(od.death) <= start)
    FAIL(l, "day", "the patient died on %s, before day %g began (%s)", od.death, day, b);
  double icu;
  if (jnum(row, "in_icu", &icu) && icu == 1 && od.icu[0] && end_of(od.icu) <= start)
    WARN(l, "in_icu", "in the ICU on day %g (from %s), after the recorded ICU discharge %s", day, b, od.icu);
  return LP_OK;
}

/* Why the drug was not started: a reason when received_drug is 0, none when it is 1
 * (or not given); the text of an other reason with the code `other` only; a death or a
 * withdrawal of consent given as the reason that the record's own fields contradict. */
static void check_not_received(json_t *row, loc *l) {
  double x;
  bool has_rec = jnum(row, "received_drug", &x);
  bool received = has_rec && x == 1, not_received = has_rec && x == 0;
  const char *why = jstr(row, "not_received_reason"), *other = jstr(row, "not_received_other");
  if (not_received && !why)
    FAIL(l, "not_received_reason", "received_drug is 0: say why the study drug was not started");
  else if (why && !not_received)
    FAIL(l, "not_received_reason", "a reason for not starting the study drug is given, but received_drug is %s",
         received ? "1" : "not recorded (give received_drug 0)");
  if (why && !strcmp(why, "other") && !other)
    FAIL(l, "not_received_other", "not_received_reason is other: say what the reason was");
  if (other && (!why || strcmp(why, "other")))
    FAIL(l, "not_received_other", "a text reason is given, but not_received_reason is %s, not other",
         why ? why : "not given");
  if (why && !strcmp(why, "died") && !(jnum(row, "died", &x) && x == 1))
    FAIL(l, "died", "the drug was not started because the patient died, but died is not 1");
  if (why && !strcmp(why, "consent_withdrawn") && !(jnum(row, "consent_withdrawn", &x) && x == 1))
    FAIL(l, "consent_withdrawn",
         "the drug was not started because consent was withdrawn, but consent_withdrawn is not 1");
}

/* The outcome form: dates after randomisation, not in the future, in order (ICU
 * discharge, hospital discharge, death), death after every daily record. */
static lp_status check_outcome(lp_trial *t, json_t *row, const patient_info *pi, loc *l, lp_error *err) {
  static const char *const dates[] = {"icu_discharge", "hospital_discharge", "death_date", "weaned_date",
                                      "consent_withdrawn_date"};
  const char *rd = pi->rand_date;
  for (size_t i = 0; i < 5; i++) {
    const char *d = jstr(row, dates[i]);
    if (!d) continue;
    if (strncmp(d, rd, 10) < 0 || (timed(d) && lp_parse_iso_days(d) < pi->rand_days))
      FAIL(l, dates[i], "%s is before the randomisation date %s", d, rd);
    else if (begin_of(d) > pi->now_days)
      FAIL(l, dates[i], "%s is in the future", d);
  }
  const char *icu = jstr(row, "icu_discharge"), *hosp = jstr(row, "hospital_discharge");
  const char *dd = jstr(row, "death_date");
  double x;
  if (icu && hosp && later(icu, hosp))
    FAIL(l, "hospital_discharge", "hospital discharge %s is before ICU discharge %s", hosp, icu);
  bool died = jnum(row, "died", &x) && x == 1;
  if (died && !dd) FAIL(l, "death_date", "died is 1 but no death_date is given");
  if (dd && !died) FAIL(l, "died", "a death_date is given but died is not 1");
  if (dd && icu && later(icu, dd)) FAIL(l, "icu_discharge", "ICU discharge %s is after death on %s", icu, dd);
  if (dd && hosp && later(hosp, dd))
    FAIL(l, "hospital_discharge", "hospital discharge %s is after death on %s", hosp, dd);
  bool cw = jnum(row, "consent_withdrawn", &x) && x == 1;
  if (cw && !jstr(row, "consent_withdrawn_date"))
    FAIL(l, "consent_withdrawn_date", "consent_withdrawn is 1 but no date is given");
  check_not_received(row, l);
  patient_dates od;
  lp_status s = other_dates(t, jstr(row, "patient"), &od, err);
  if (s) return s;
  if (dd && od.last_day && end_of(dd) <= pi->rand_days + od.last_day - 1)
    FAIL(l, "death_date", "death on %s is before day %ld, which has a daily record", dd, od.last_day);
  if (icu && od.last_icu_day && end_of(icu) <= pi->rand_days + od.last_icu_day - 1)
    WARN(l, "icu_discharge", "ICU discharge %s is before day %ld, which is recorded as a day in the ICU", icu,
         od.last_icu_day);
  return LP_OK;
}

static void check_infusion(lp_trial *t, json_t *row, loc *l, lp_error *err) {
  double x = 0, y = 0;
  const char *ev = jstr(row, "event");
  if (!ev || !jnum(row, "hour", &x) || !jnum(row, "dose", &y)) return;
  /* doses of the protocol: 0.1 to start, 0.2 after 2-4 h, down to 0.1, 0.05, or stop */
  if (y != 0 && y != 0.05 && y != 0.1 && y != 0.2)
    FAIL(l, "dose", "%g is not a protocol dose (0, 0.05, 0.1 or 0.2 ug/kg/min)", y);
  else if (!strcmp(ev, "start") && (x != 0 || y != 0.1))
    FAIL(l, "event", "the infusion starts at hour 0 at 0.1 ug/kg/min (no bolus)");
  else if ((!strcmp(ev, "stop") || !strcmp(ev, "end")) && y != 0)
    FAIL(l, "dose", "a %s event has dose 0", ev);
  else if (!strcmp(ev, "increase") && y != 0.2)
    FAIL(l, "dose", "an increase is to 0.2 ug/kg/min");
  else if (!strcmp(ev, "decrease") && y != 0.1 && y != 0.05)
    FAIL(l, "dose", "a decrease is to 0.1 or 0.05 ug/kg/min");
  if (!strcmp(ev, "end") && x != 24) FAIL(l, "hour", "the infusion ends at hour 24");
  if (strcmp(ev, "start")) {
    sqlite3_stmt *st;
    if (lp__prepare(t, "SELECT 1 FROM infusions WHERE patient=? AND event='start'", &st, err)) return;
    sqlite3_bind_text(st, 1, jstr(row, "patient"), -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    lp__finalize(t, st);
    if (rc != SQLITE_ROW) FAIL(l, "event", "no 'start' event recorded for this patient before this one");
  }
}

/* Rules on the whole record as it will be (so a change of one field is checked
 * against the fields it does not change), each failure a finding. LP_OK unless the
 * database fails. */
static lp_status check_row(lp_trial *t, lp_record_kind kind, json_t *row, const patient_info *pi, loc *l,
                           lp_error *err) {
  double x = 0, y = 0;
  if (kind == LP_RECORD_OUTCOME) return check_outcome(t, row, pi, l, err);
  if (kind == LP_RECORD_DAILY) return check_daily(t, row, pi, l, err);
  if (kind == LP_RECORD_AE) {
    const char *d = jstr(row, "onset");
    if (d && strcmp(d, pi->rand_date) < 0)
      FAIL(l, "onset", "onset %s is before the randomisation date %s", d, pi->rand_date);
    else if (d && begin_of(d) > pi->now_days)
      FAIL(l, "onset", "onset %s is in the future", d);
    double ser = 0, expct = 0;
    bool serious = jnum(row, "serious", &ser) && ser == 1, has_exp = jnum(row, "expected", &expct);
    if (serious && lp_ae_related(jstr(row, "relatedness"))) {
      if (!has_exp) WARN(l, "expected", "a serious event related to the study drug: say whether it is expected");
      else if (expct == 0)
        finding(l, LP_FINDING_NOTE, "expected",
                "a serious, unexpected event related to the study drug (a suspected unexpected serious adverse "
                "reaction): report it to the sponsor at once (expedited reporting)");
    }
  } else if (kind == LP_RECORD_INFUSION) {
    lp_error e2 = {0};
    check_infusion(t, row, l, &e2);
    if (e2.status) return lp_error_set(err, e2.status, "%s", e2.message);
  } else if (kind == LP_RECORD_BASELINE) {
    if (jnum(row, "pao2", &x) && !jnum(row, "fio2", &y)) FAIL(l, "fio2", "PaO2 is given without FiO2");
    (void)check_baseline_sofa(row, l);
  }
  return LP_OK;
}

/* The field an input key stands for; unknown keys are findings (a misspelt field
 * must not vanish silently), old names a note naming the new one. */
static void check_names(const lp_form *form, json_t *in, loc *l) {
  const char *key;
  json_t *v;
  json_object_foreach(in, key, v) {
    bool alt, old;
    const field *f = lp_form_resolve(form, key, &alt, &old);
    if (!f) FAIL(l, key, "unknown field for %s records", form->name);
    else if (old)
      finding(l, LP_FINDING_NOTE, f->name, "'%s' is now called '%s'", key, f->name);
  }
}

/* The normalised values of the fields present (null for a value cleared). */
static json_t *normalise(const kind_spec *ks, json_t *in, loc *l) {
  json_t *vals = json_object();
  for (size_t i = 0; i < ks->n; i++) {
    const field *f = &ks->f[i];
    json_t *x = json_object_get(in, f->name);
    bool alt = false;
    const char *given = f->name;
    if (!x && f->old_name && (x = json_object_get(in, f->old_name))) given = f->old_name;
    if (f->alt && json_object_get(in, f->alt)) {
      if (x) {
        FAIL(l, f->alt, "give %s or %s, not both", given, f->alt);
        continue;
      }
      x = json_object_get(in, f->alt);
      alt = true;
    }
    if (!x) continue;
    json_t *norm = NULL;
    if (json_is_null(x) || (json_is_string(x) && !*json_string_value(x))) norm = json_null();
    else if (check_value(f, x, alt, l, &norm))
      continue;
    if (f->flags & F_KEY && !strcmp(f->name, "day") && json_is_integer(norm)) l->day = (int)json_integer_value(norm);
    if (!norm || json_object_set_new(vals, f->name, norm)) FAIL(l, f->name, "out of memory");
  }
  return vals;
}

/* For the audit trail: the reason, and each value given in its alternative unit as it
 * was entered beside the value kept ("creatinine_umol_l 168 umol/L = creatinine
 * 1.900452489 mg/dL"); the store keeps one unit per field. Returns `reason` itself when
 * nothing was entered in another unit. */
static const char *audit_reason(const kind_spec *ks, json_t *in, json_t *vals, const char *reason, char *buf,
                                size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < ks->n; i++) {
    const field *f = &ks->f[i];
    json_t *given = f->alt ? json_object_get(in, f->alt) : NULL, *kept = json_object_get(vals, f->name);
    double x;
    if (!given || !json_is_number(kept) || !as_number(given, true, false, &x)) continue;
    int w = snprintf(buf + k, n - k, "%s%s %g %s = %s %.10g %s", k ? "; " : "entered in another unit: ", f->alt, x,
                     f->alt_unit, f->name, json_number_value(kept), f->unit);
    if (w < 0 || (size_t)w >= n - k) break;
    k += (size_t)w;
  }
  if (!k) return reason;
  char tail[400];
  snprintf(tail, sizeof tail, "%s", buf);
  snprintf(buf, n, "%s (%s)", reason, tail);
  return buf;
}

/* The record as it will be: the existing one (if any) with the new values over it. */
static json_t *merged_row(const char *old, json_t *vals) {
  json_t *row = old ? json_loads(old, 0, NULL) : NULL;
  if (!row) row = json_object();
  const char *key;
  json_t *v;
  json_object_foreach(vals, key, v) {
    if (json_is_null(v)) json_object_del(row, key);
    else
      json_object_set(row, key, v);
  }
  return row;
}

/* The id of the existing record the values name (0: a new one). */
static lp_status find_existing(lp_trial *t, lp_record_kind kind, const kind_spec *ks, json_t *vals, const char *patient,
                               loc *l, long *id, lp_error *err) {
  sqlite3_stmt *st;
  char sql[512];
  lp_status s;
  *id = 0;
  if (kind == LP_RECORD_AE) {
    json_t *idv = json_object_get(vals, "id");
    if (json_is_integer(idv)) {
      if ((s = lp__prepare(t, "SELECT id FROM adverse_events WHERE id=? AND patient=?", &st, err))) return s;
      sqlite3_bind_int64(st, 1, json_integer_value(idv));
      sqlite3_bind_text(st, 2, patient, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW) *id = (long)sqlite3_column_int64(st, 0);
      lp__finalize(t, st);
      if (!*id) FAIL(l, "id", "patient %s has no adverse event %lld", patient, (long long)json_integer_value(idv));
      l->record = *id;
    }
    json_object_del(vals, "id");
    return LP_OK;
  }
  size_t k = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=?", ks->table);
  bool keys = true;
  for (size_t i = 1; i < ks->n; i++)
    if (ks->f[i].flags & F_KEY) {
      json_t *kv = json_object_get(vals, ks->f[i].name);
      if (!kv || json_is_null(kv)) {
        if (!json_object_get(vals, ks->f[i].name) && l->nhard) keys = false; /* refused already */
        else
          FAIL(l, ks->f[i].name, "required");
        keys = false;
      }
      k += (size_t)snprintf(sql + k, sizeof sql - k, " AND %s=?", ks->f[i].name);
    }
  if (!keys) return LP_OK;
  if ((s = lp__prepare(t, sql, &st, err))) return s;
  int b = 1;
  sqlite3_bind_text(st, b++, patient, -1, SQLITE_STATIC);
  for (size_t i = 1; i < ks->n; i++)
    if (ks->f[i].flags & F_KEY) {
      json_t *kv = json_object_get(vals, ks->f[i].name);
      if (json_is_integer(kv)) sqlite3_bind_int64(st, b++, json_integer_value(kv));
      else
        sqlite3_bind_double(st, b++, json_number_value(kv));
    }
  if (sqlite3_step(st) == SQLITE_ROW) *id = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  return LP_OK;
}

/* Write the checked values: an UPDATE of record `id`, or an INSERT when id is 0. */
static lp_status write_values(lp_trial *t, const kind_spec *ks, json_t *vals, long *id, lp_error *err) {
  char sql[2048];
  const char *key;
  json_t *v;
  int nset = 0;
  if (*id) {
    size_t k = (size_t)snprintf(sql, sizeof sql, "UPDATE %s SET ", ks->table);
    json_object_foreach(vals, key, v) {
      if (!strcmp(key, "patient")) continue;
      k += (size_t)snprintf(sql + k, sizeof sql - k, "%s%s=?", nset ? ", " : "", key);
      nset++;
    }
    snprintf(sql + k, sizeof sql - k, " WHERE id=%ld", *id);
    if (!nset) return LP_OK; /* nothing to change */
  } else {
    size_t k = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(", ks->table);
    json_object_foreach(vals, key, v) k += (size_t)snprintf(sql + k, sizeof sql - k, "%s%s", nset++ ? ", " : "", key);
    k += (size_t)snprintf(sql + k, sizeof sql - k, ") VALUES(");
    for (int i = 0; i < nset; i++) k += (size_t)snprintf(sql + k, sizeof sql - k, "%s?", i ? ", " : "");
    snprintf(sql + k, sizeof sql - k, ")");
  }
  sqlite3_stmt *st;
  lp_status s = lp__prepare(t, sql, &st, err);
  if (s) return s;
  int b = 1;
  json_object_foreach(vals, key, v) {
    if (*id && !strcmp(key, "patient")) continue;
    if (json_is_null(v)) sqlite3_bind_null(st, b++);
    else if (json_is_integer(v))
      sqlite3_bind_int64(st, b++, json_integer_value(v));
    else if (json_is_real(v))
      sqlite3_bind_double(st, b++, json_real_value(v));
    else
      sqlite3_bind_text(st, b++, json_string_value(v), -1, SQLITE_TRANSIENT);
  }
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, *id ? "changing a record" : "adding a record");
  if (!*id) *id = (long)sqlite3_last_insert_rowid(t->db);
  return LP_OK;
}

/* After a record was written: a change clears the form's source data verification
 * and invalidates the casebook signature (each said in a note), and every soft finding
 * of the record opens a query (findings from `first` on are this record's). */
static lp_status after_write(lp_trial *t, lp_record_kind kind, const char *patient, long id, const char *old, loc *l,
                             size_t first, const char *user, const char *reason, lp_error *err) {
  bool row_form = kind == LP_RECORD_AE || kind == LP_RECORD_INFUSION;
  lp_status s;
  bool changed = false;
  if (old) {
    char *now = NULL;
    if ((s = lp__row_json(t, spec_of(kind).table, id, &now, err))) return s;
    changed = !now || strcmp(now, old);
    free(now);
  }
  if (changed) {
    char n1[512] = "", n2[512] = "";
    if ((s = lp__form_changed(t, kind, patient, l->day, kind == LP_RECORD_AE ? id : 0, user, reason, n1, sizeof n1, n2,
                              sizeof n2, err)))
      return s;
    if (n1[0]) finding(l, LP_FINDING_NOTE, NULL, "%s", n1);
    if (n2[0]) finding(l, LP_FINDING_NOTE, NULL, "%s", n2);
  }
  if (t->check_only || !l->out) return LP_OK;
  for (size_t i = first; i < l->out->n; i++) {
    lp_finding *f = &l->out->items[i];
    if (f->level != LP_FINDING_SOFT) continue;
    if (row_form) f->record = id;
    if ((s = lp__query_from_check(t, f, row_form ? id : 0, user, err))) return s;
  }
  return LP_OK;
}

/* Check one record completely (every finding), then write and audit it when nothing
 * hard was found. LP_EDATA (err summing the findings up) when it is refused. */
static lp_status record_one(lp_trial *t, lp_record_kind kind, json_t *in, loc *l, const char *user, const char *reason,
                            lp_error *err) {
  kind_spec ksv = spec_of(kind);
  const kind_spec *ks = &ksv;
  l->form = ks->kind;
  size_t first = l->out ? l->out->n : 0;
  if (!json_is_object(in)) {
    FAIL(l, NULL, "expected an object");
    return refuse(l, err);
  }
  const char *patient = jstr(in, "patient");
  bool too_long = patient && strlen(patient) >= sizeof l->patient;
  /* never a truncated code: a longer one is refused, and findings name no patient */
  snprintf(l->patient, sizeof l->patient, "%s", patient && !too_long ? patient : "");
  check_names(lp_form_get((lp_form_id)kind), in, l);
  if (!patient || !*patient) FAIL(l, "patient", "a patient code is required");
  else if (too_long)
    FAIL(l, "patient", "a patient code has at most %zu characters (this one has %zu)", sizeof l->patient - 1,
         strlen(patient));
  if (l->nhard) return refuse(l, err);
  patient_info pi;
  lp_status s;
  if ((s = patient_lookup(t, patient, &pi, l, err))) return l->nhard ? refuse(l, err) : s;
  if ((s = lp__user_may(t, user, LP_DO_RECORD, pi.site_id, "record data", err))) return s;
  json_t *vals = normalise(ks, in, l);
  long id = 0;
  char *old = NULL;
  json_t *row = NULL;
  if ((s = find_existing(t, kind, ks, vals, patient, l, &id, err))) goto out;
  if (id && (!reason || !*reason))
    FAIL(l, NULL, "patient %s already has this %s record: a change needs a reason", patient, ks->kind);
  if (!id)
    for (size_t i = 0; i < ks->n; i++) {
      json_t *x = json_object_get(vals, ks->f[i].name);
      if ((ks->f[i].flags & F_REQ) && !(ks->f[i].flags & F_KEY) && (!x || json_is_null(x)) &&
          !json_object_get(in, ks->f[i].name))
        FAIL(l, ks->f[i].name, "required for a new %s record", ks->kind);
    }
  if (id && (s = lp__row_json(t, ks->table, id, &old, err))) goto out;
  row = merged_row(old, vals);
  if ((s = check_row(t, kind, row, &pi, l, err))) goto out;
  if (l->nhard) {
    s = refuse(l, err);
    goto out;
  }
  if ((s = write_values(t, ks, vals, &id, err))) goto out;
  char why[1200];
  if ((s = lp__audit_row(t, ks->table, id, old, patient, user,
                         audit_reason(ks, in, vals, reason ? reason : "data entry", why, sizeof why), err)))
    goto out;
  s = after_write(t, kind, patient, id, old, l, first, user, reason, err);
out:
  free(old);
  json_decref(row);
  json_decref(vals);
  return s;
}

/* Every row checked (all findings), all written in one transaction or none. A data
 * refusal of one row does not stop the checks of the others; err tells the first. */
static lp_status record_array(lp_trial *t, lp_record_kind kind, json_t *arr, const char *source, const lp_table *tab,
                              const char *user, const char *reason, size_t *rows, lp_error *err) {
  lp_findings local = {0}; /* soft findings open queries even when the caller does not ask for them */
  lp_status s = lp__begin(t, err);
  if (s) return s;
  size_t i, refused = 0;
  json_t *o;
  lp_status first = LP_OK;
  if ((s = lp__check_unlocked(t, err))) goto fail;
  json_array_foreach(arr, i, o) {
    loc l = {.line = tab ? lp_table_line(tab, i) : 0,
             .text = tab != NULL || t->text_input,
             .out = t->findings ? t->findings : &local};
    if (local.n > 64) lp_findings_clear(&local);
    if (!tab && json_array_size(arr) > 1) snprintf(l.file, sizeof l.file, "%s[%zu]", source, i + 1);
    else
      snprintf(l.file, sizeof l.file, "%s", source);
    lp_error e1 = {0};
    if ((s = record_one(t, kind, o, &l, user, reason, &e1))) {
      if (e1.file[0] == '\0') { /* a rule without a field: still say where */
        lp_error e2 = e1;
        lp_error_at(&e1, s, l.file, l.line, NULL, "%s", e2.message);
      }
      if (!refused++) {
        first = s;
        if (err) *err = e1;
      }
      if (s != LP_EDATA) goto fail; /* not the data: stop */
      continue;
    }
    (*rows)++;
  }
  lp_findings_clear(&local);
  if (refused) {
    s = first;
    if (refused > 1) lp_error_prefix(err, "%zu of %zu rows refused, the first", refused, json_array_size(arr));
    goto fail;
  }
  if (t->check_only) {
    lp__rollback(t);
    return LP_OK;
  }
  return lp__commit(t, err);
fail:
  lp_findings_clear(&local);
  *rows = 0;
  lp__rollback(t);
  return s;
}

lp_status lp_record_json(lp_trial *t, lp_record_kind kind, const char *json, const char *source, const char *user,
                         const char *reason, size_t *rows, lp_error *err) {
  *rows = 0;
  if ((unsigned)kind >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  if (!source) source = "the JSON input";
  json_error_t je;
  json_t *j = json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (!j) {
    lp_status st = lp_error_at(err, LP_EPARSE, source, je.line, NULL, "column %d: %s", je.column, je.text);
    if (err) err->column = je.column;
    return st;
  }
  if (json_is_object(j)) {
    json_t *a = json_array();
    if (!a || json_array_append_new(a, j)) {
      json_decref(a);
      return lp_error_set(err, LP_ENOMEM, "out of memory");
    }
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

lp_status lp__table_row_json(const lp_table *tab, size_t r, bool nulls, json_t **out, lp_error *err) {
  json_t *o = json_object();
  *out = NULL;
  if (!o) return lp_error_set(err, LP_ENOMEM, "out of memory");
  for (size_t c = 0; c < lp_table_ncols(tab); c++) {
    const char *v = lp_table_cell(tab, r, c);
    if (!v && !nulls) continue;
    json_t *j = v ? json_string(v) : json_null();
    /* The CSV reader refuses what JSON cannot hold; a cell is never dropped silently. */
    if (!j || json_object_set_new(o, lp_table_colname(tab, c), j)) {
      json_decref(o);
      return lp_error_at(err, j ? LP_ENOMEM : LP_EPARSE, lp_table_source(tab), lp_table_line(tab, r),
                         lp_table_colname(tab, c), j ? "out of memory" : "not valid UTF-8 text");
    }
  }
  *out = o;
  return LP_OK;
}

lp_status lp_record_csv(lp_trial *t, lp_record_kind kind, const char *path, const char *user, const char *reason,
                        size_t *rows, lp_error *err) {
  *rows = 0;
  if ((unsigned)kind >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  lp_table *tab;
  lp_status s = lp_table_read_csv(path, &tab, err);
  if (s) return s;
  json_t *arr = json_array();
  if (!arr) s = lp_error_set(err, LP_ENOMEM, "out of memory");
  for (size_t r = 0; !s && r < lp_table_nrows(tab); r++) {
    json_t *o;
    if (!(s = lp__table_row_json(tab, r, true, &o, err)) && json_array_append_new(arr, o))
      s = lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  if (!s) s = record_array(t, kind, arr, path, tab, user, reason, rows, err);
  json_decref(arr);
  lp_table_free(tab);
  return s;
}

lp_status lp_record_json_checked(lp_trial *t, lp_record_kind kind, const char *json, const char *source,
                                 const char *user, const char *reason, size_t *rows, lp_findings *out, lp_error *err) {
  t->findings = out;
  lp_status s = lp_record_json(t, kind, json, source, user, reason, rows, err);
  t->findings = NULL;
  return s;
}

lp_status lp_record_csv_checked(lp_trial *t, lp_record_kind kind, const char *path, const char *user,
                                const char *reason, size_t *rows, lp_findings *out, lp_error *err) {
  t->findings = out;
  lp_status s = lp_record_csv(t, kind, path, user, reason, rows, err);
  t->findings = NULL;
  return s;
}

lp_status lp_record_form_checked(lp_trial *t, lp_record_kind kind, const char *json, const char *source,
                                 const char *user, const char *reason, bool check_only, size_t *rows, lp_findings *out,
                                 lp_error *err) {
  t->findings = out;
  t->text_input = true;
  t->check_only = check_only;
  lp_status s = lp_record_json(t, kind, json, source, user, reason, rows, err);
  t->findings = NULL;
  t->text_input = t->check_only = false;
  return s;
}

lp_status lp_record_check(lp_trial *t, lp_record_kind kind, const char *json, const char *source, const char *user,
                          lp_findings *out, lp_error *err) {
  size_t rows;
  t->findings = out;
  t->check_only = true;
  lp_status s = lp_record_json(t, kind, json, source, user, "checking", &rows, err);
  t->findings = NULL;
  t->check_only = false;
  return s;
}

lp_status lp_record_delete(lp_trial *t, lp_record_kind kind, long id, const char *user, const char *reason,
                           lp_error *err) {
  if ((unsigned)kind >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  if (!reason || !*reason)
    return lp__with_field(err, "reason", lp_error_set(err, LP_EINVAL, "a deletion needs a reason"));
  kind_spec ksv = spec_of(kind);
  const kind_spec *ks = &ksv;
  lp_status s = lp__begin(t, err);
  if (s) return s;
  char *old = NULL, sql[128], patient[LP__PATIENT_MAX + 1] = "";
  sqlite3_stmt *st;
  loc l = {.line = 0};
  int rc = SQLITE_OK, day = 0;
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
  snprintf(l.file, sizeof l.file, "%s", ks->table);
  if ((s = patient_lookup(t, patient, &pi, &l, err)) ||
      (s = lp__user_may(t, user, LP_DO_RECORD, pi.site_id, "delete data", err)) ||
      (s = lp__row_json(t, ks->table, id, &old, err)))
    goto done;
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id=?", ks->table);
  if ((s = lp__prepare(t, sql, &st, err))) goto done;
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "deleting a record");
    goto done;
  }
  if ((s = lp__audit_row(t, ks->table, id, old, patient, user, reason, err))) goto done;
  if (kind == LP_RECORD_DAILY) {
    json_t *o = json_loads(old, 0, NULL);
    day = (int)json_integer_value(json_object_get(o, "day"));
    json_decref(o);
  }
  char n1[512], n2[512];
  if (!(s = lp__form_changed(t, kind, patient, day, kind == LP_RECORD_AE ? id : 0, user, reason, n1, sizeof n1, n2,
                             sizeof n2, err)))
    s = lp__queries_record_deleted(t, kind, patient, day, id, user, reason, err);
done:
  free(old);
  if (s) {
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}

lp_status lp__form_values(const lp_form *form, json_t *in, const char *source, json_t **vals, lp_error *err) {
  *vals = NULL;
  loc l = {.form = form->name};
  snprintf(l.file, sizeof l.file, "%s", source && *source ? source : "the JSON input");
  if (!json_is_object(in)) {
    FAIL(&l, NULL, "expected an object");
    return refuse(&l, err);
  }
  const char *patient = jstr(in, "patient");
  snprintf(l.patient, sizeof l.patient, "%s", patient ? patient : "");
  kind_spec ks = {form->name, form->table, form->fields, form->nfields};
  check_names(form, in, &l);
  json_t *v = normalise(&ks, in, &l);
  for (size_t i = 0; i < form->nfields; i++) {
    json_t *x = json_object_get(v, form->fields[i].name);
    if ((form->fields[i].flags & F_REQ) && (!x || json_is_null(x)))
      FAIL(&l, form->fields[i].name, "required for a %s record", form->name);
  }
  if (l.nhard) {
    json_decref(v);
    return refuse(&l, err);
  }
  *vals = v;
  return LP_OK;
}

lp_status lp__record_row(lp_trial *t, lp_record_kind kind, json_t *row, const char *source, const char *user,
                         const char *reason, lp_error *err) {
  lp_findings local = {0};
  loc l = {.line = 0, .text = true, .out = t->findings ? t->findings : &local};
  snprintf(l.file, sizeof l.file, "%s", source);
  lp_status s = record_one(t, kind, row, &l, user, reason, err);
  lp_findings_clear(&local);
  return s;
}
