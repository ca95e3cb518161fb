/* The screening log: every screened patient at a site with the eligibility inputs,
 * the criteria met or failed (as the clinical rules evaluate them) and the reason a
 * patient was not enrolled. Randomisation accepts only an eligible screening record. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <leopards/table.h>

#include <leopards/clinical.h>
#include <leopards/forms.h>

#include <leopards/text.h>

#include "trial/trial_internal.h"

/* From record.c: row r of a CSV table as a JSON object of its cells. */
lp_status lp__table_row_json(const lp_table *tab, size_t r, bool nulls, json_t **out, lp_error *err);

/* The eligibility inputs a screening record holds are the screening form of the field
 * definitions (forms.c). */
static const lp_form *screen_form(void) { return lp_form_get(LP_FORM_SCREENING); }

/* Read a value as a number from JSON (number, true/false, or text from CSV). */
static bool value_number(json_t *v, double *x) {
  if (json_is_number(v)) {
    *x = json_number_value(v);
    return true;
  }
  if (json_is_boolean(v)) {
    *x = json_is_true(v);
    return true;
  }
  if (json_is_string(v)) return lp_parse_number(json_string_value(v), x);
  return false;
}

/* An error at an input: a CSV column (line > 0) or a JSON field (line 0). */
#define IN_FAIL(err, s, file, line, key, ...)                               \
  ((line) > 0 ? lp_error_at((err), (s), (file), (line), (key), __VA_ARGS__) \
              : lp_error_at_json((err), (s), (file), (key), __VA_ARGS__))

/* Validate and normalise the inputs into `clean` (numbers as numbers, only known
 * fields). `where` names the input for messages. */
static lp_status clean_inputs(json_t *in, json_t *clean, const char *file, long line, const char *where, char *notes,
                              size_t nnotes, lp_error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(in, key, v) {
    if (!strcmp(key, "site") || !strcmp(key, "patient")) continue;
    bool alt, old;
    const lp_field *f = lp_form_resolve(screen_form(), key, &alt, &old);
    if (!f) return IN_FAIL(err, LP_EDATA, file, line, key, "%sunknown eligibility field", where);
    if (old && json_object_get(in, f->name))
      return lp_error_at(err, LP_EDATA, file, line, key, "%sgive %s or its old name %s, not both", where, f->name, key);
    if (old && notes) {
      size_t k = strlen(notes);
      snprintf(notes + k, nnotes - k, "%s'%s' is now called '%s'", k ? "; " : "", key, f->name);
    }
    if (json_is_null(v)) continue;
    if (f->type == LP_FIELD_DATE) {
      const char *d = json_string_value(v);
      if (!d || strlen(d) != 10 || !lp__valid_date(d))
        return IN_FAIL(err, LP_EDATA, file, line, key, "%sexpected a date YYYY-MM-DD", where);
      if (json_object_set_new(clean, f->name, /* the one name */ json_string(d)))
        return lp_error_at(err, LP_ENOMEM, file, line, key, "out of memory");
      continue;
    }
    if (f->type == LP_FIELD_TEXT) {
      if (!json_is_string(v)) return IN_FAIL(err, LP_EDATA, file, line, key, "%sexpected text", where);
      if (json_string_length(v) > 0 && json_object_set_new(clean, f->name, /* the one name */
                                                           json_stringn(json_string_value(v), json_string_length(v))))
        return IN_FAIL(err, LP_EDATA, file, line, key, "%snot valid text (UTF-8 without NUL bytes)", where);
      continue;
    }
    double x;
    if (!value_number(v, &x) || !isfinite(x))
      return IN_FAIL(err, LP_EDATA, file, line, key, "%sexpected %s", where,
                     f->type == LP_FIELD_BOOL ? "0 or 1" : "a number");
    if (f->type == LP_FIELD_BOOL && x != 0 && x != 1)
      return IN_FAIL(err, LP_EDATA, file, line, key, "%s%g is not 0 or 1", where, x);
    if (f->type == LP_FIELD_INTEGER && x != floor(x))
      return IN_FAIL(err, LP_EDATA, file, line, key, "%s%g is not a whole number", where, x);
    if (x < f->min || x > f->max)
      return IN_FAIL(err, LP_EDATA, file, line, key, "%s%g is outside the plausible range %g to %g", where, x, f->min,
                     f->max);
    if (json_object_set_new(clean, f->name, /* the one name */
                            f->type == LP_FIELD_REAL ? json_real(x) : json_integer((json_int_t)x)))
      return lp_error_at(err, LP_ENOMEM, file, line, key, "out of memory");
  }
  return LP_OK;
}

static bool get(json_t *c, const char *k, double *x) {
  json_t *v = json_object_get(c, k);
  if (!json_is_number(v)) return false;
  *x = json_number_value(v);
  return true;
}

static void add_failed(char *buf, size_t n, const char *what) {
  size_t k = strlen(buf);
  snprintf(buf + k, n - k, "%s%s", k ? "," : "", what);
}

/* Eligibility by the clinical rules (lp_eligibility_check): every criterion not met,
 * as stable ids joined by commas ("NAME:missing" when its input is absent). */
static void evaluate(json_t *c, char *failed, size_t n) {
  lp_eligibility_input in;
  lp_eligibility_input_init(&in);
  double x;
  struct {
    const char *key;
    double *num;
    int *flag;
  } map[] = {{"age", &in.age, NULL},
             {"infection", NULL, &in.infection},
             {"temperature", &in.temperature, NULL},
             {"heart_rate", &in.heart_rate, NULL},
             {"resp_rate", &in.resp_rate, NULL},
             {"paco2_kpa", &in.paco2_kpa, NULL},
             {"mech_vent", NULL, &in.ventilated},
             {"wbc", &in.wbc, NULL},
             {"vasopressor_hours", &in.vasopressor_hours, NULL},
             {"hours_since_criteria", &in.hours_since_criteria, NULL},
             {"weight_kg", &in.weight, NULL},
             {"esrf_dialysis", NULL, &in.esrf_dialysis},
             {"torsades_history", NULL, &in.torsades_history},
             {"child_pugh_c", NULL, &in.child_pugh_c},
             {"ventricular_obstruction", NULL, &in.ventricular_obstruction},
             {"treatment_limitation", NULL, &in.treatment_limitation},
             {"pregnant", NULL, &in.pregnant},
             {"levosimendan_30d", NULL, &in.levosimendan_30d},
             {"levosimendan_hypersensitivity", NULL, &in.levosimendan_hypersensitivity},
             {"other_trial", NULL, &in.other_trial}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
    if (!get(c, map[i].key, &x)) continue;
    if (map[i].num) *map[i].num = x;
    else
      *map[i].flag = x != 0;
  }
  failed[0] = '\0';
  lp_eligibility e;
  if (lp_eligibility_check(&in, &e, NULL)) {
    /* Ranges were checked when the inputs were cleaned; a failure here is a bug. */
    snprintf(failed, n, "invalid");
    return;
  }
  for (size_t i = 0; i < e.nfailed; i++) add_failed(failed, n, e.failed[i]);
}

static bool valid_patient_code(const char *p) {
  size_t n = strlen(p);
  if (n == 0 || n > 63) return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)p[i]) && !strchr("-_.", p[i])) return false;
  return true;
}

lp_status lp__screen_one(lp_trial *t, long site_id, const char *patient, const char *inputs_json, const char *source,
                         const char *user, lp_screen_result *out, lp_error *err) {
  (void)source;
  memset(out, 0, sizeof *out);
  lp_status bad = patient ? lp_text_check_identifier(patient, "the patient code", 63, err) : LP_OK;
  if (bad) return bad;
  if (patient && !valid_patient_code(patient))
    return lp_error_set(err, LP_EINVAL, "patient code '%s': use 1 to 63 letters, digits, '-', '_' or '.'", patient);
  json_error_t je;
  json_t *in = json_loads(inputs_json, JSON_REJECT_DUPLICATES, &je);
  if (!in || !json_is_object(in)) {
    json_decref(in);
    if (!in) {
      lp_status st = lp_error_at(err, LP_EPARSE, source, je.line > 0 ? je.line : 0, NULL,
                                 "column %d: the eligibility inputs are not valid JSON: %s", je.column, je.text);
      if (err) err->column = je.column;
      return st;
    }
    return lp_error_at(err, LP_EPARSE, source, 0, NULL, "the eligibility inputs must be a JSON object");
  }
  json_t *clean = json_object();
  lp_status s = clean_inputs(in, clean, source, 0, "", out->notes, sizeof out->notes, err);
  json_decref(in);
  if (s) {
    json_decref(clean);
    return s;
  }
  char failed[512];
  evaluate(clean, failed, sizeof failed);
  const char *reason = json_string_value(json_object_get(clean, "reason_not_enrolled"));
  char *reason_copy = reason ? strdup(reason) : NULL;
  json_object_del(clean, "reason_not_enrolled");
  /* The screening time: now, or the date given for a log entered later (not ahead of
   * today). */
  char now[40];
  lp__now(t, now, sizeof now);
  const char *on = json_string_value(json_object_get(clean, "screened_on"));
  if (on) {
    if (strncmp(on, now, 10) > 0) {
      s = lp_error_at_json(err, LP_EDATA, source, "screened_on", "%s is after today (%.10s)", on, now);
      json_decref(clean);
      free(reason_copy);
      return s;
    }
    snprintf(now, sizeof now, "%s", on);
    json_object_del(clean, "screened_on");
  }
  char *inputs = json_dumps(clean, JSON_SORT_KEYS | JSON_COMPACT | JSON_REAL_PRECISION(15));
  json_decref(clean);
  sqlite3_stmt *st = NULL;
  /* A patient not yet randomised may be screened again (e.g. once the vasopressor
   * criterion is met): the record is updated, the earlier one kept in the audit trail. */
  long existing = 0, existing_site = 0;
  bool randomised = false;
  if (!inputs) s = lp_error_set(err, LP_ENOMEM, "out of memory");
  if (!s && patient) {
    s = lp__prepare(t,
                    "SELECT s.id, s.site_id, EXISTS(SELECT 1 FROM randomisations r WHERE r.patient=s.patient)"
                    " FROM screening s WHERE s.patient=?",
                    &st, err);
    if (!s) {
      sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW) {
        existing = (long)sqlite3_column_int64(st, 0);
        existing_site = (long)sqlite3_column_int64(st, 1);
        randomised = sqlite3_column_int(st, 2);
      }
      lp__finalize(t, st);
      st = NULL;
    }
    if (!s && randomised)
      s = lp_error_set(err, LP_ESTATE, "patient %s is already randomised; the screening record is final", patient);
    else if (!s && existing && existing_site != site_id)
      s = lp_error_set(err, LP_ESTATE, "patient %s was screened at another site", patient);
  }
  char *old = NULL;
  if (!s && existing) s = lp__row_json(t, "screening", existing, &old, err);
  if (!s)
    s = lp__prepare(t,
                    existing ? "UPDATE screening SET site_id=?1, patient=?2, screened_at=?3, screened_by=?4,"
                               " eligible=?5, failed=?6, inputs=?7, reason_not_enrolled=?8 WHERE id=?9"
                             : "INSERT INTO screening(site_id, patient, screened_at, screened_by, eligible,"
                               " failed, inputs, reason_not_enrolled) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
                    &st, err);
  if (!s) {
    sqlite3_bind_int64(st, 1, site_id);
    if (patient) sqlite3_bind_text(st, 2, patient, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, user, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, failed[0] == '\0');
    sqlite3_bind_text(st, 6, failed, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, inputs, -1, SQLITE_STATIC);
    if (reason_copy) sqlite3_bind_text(st, 8, reason_copy, -1, SQLITE_STATIC);
    if (existing) sqlite3_bind_int64(st, 9, existing);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) s = lp__db_fail(t, err, "recording a screening");
  }
  lp__finalize(t, st);
  if (!s) {
    out->id = existing ? existing : (long)sqlite3_last_insert_rowid(t->db);
    out->eligible = failed[0] == '\0';
    snprintf(out->failed, sizeof out->failed, "%s", failed);
    snprintf(out->reason_not_enrolled, sizeof out->reason_not_enrolled, "%s", reason_copy ? reason_copy : "");
    s = lp__audit_row(t, "screening", out->id, old, patient, user, existing ? "re-screened" : "screening", err);
  }
  free(old);
  free(inputs);
  free(reason_copy);
  return s;
}

lp_status lp_trial_screen(lp_trial *t, const char *site, const char *patient, const char *inputs_json, const char *user,
                          lp_screen_result *out, lp_error *err) {
  lp_status s;
  long site_id;
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = lp__site_id(t, site, &site_id, err)) ||
      (s = lp__user_may(t, user, LP_DO_SCREEN, site_id, "screen patients", err)) ||
      (s = lp__site_open(t, site_id, err)) ||
      (s = lp__screen_one(t, site_id, patient, inputs_json, "the eligibility inputs", user, out, err))) {
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}

/* One element of a batch: {"site":..., "patient":..., inputs...}. */
static lp_status screen_object(lp_trial *t, json_t *o, const char *default_site, const char *file, long line,
                               const char *where, const char *user, size_t *eligible, lp_error *err) {
  const char *site = json_string_value(json_object_get(o, "site"));
  const char *patient = json_string_value(json_object_get(o, "patient"));
  if (!site) site = default_site;
  if (!site) return lp_error_at(err, LP_EDATA, file, line, "site", "%sno site given", where);
  long site_id;
  lp_status s;
  if ((s = lp__site_id(t, site, &site_id, err)) ||
      (s = lp__user_may(t, user, LP_DO_SCREEN, site_id, "screen patients", err)) ||
      (s = lp__site_open(t, site_id, err))) {
    lp_error e2 = *err;
    return lp_error_at(err, s, file, line, NULL, "%s%s", where, e2.message);
  }
  json_t *clean = json_object();
  s = clean_inputs(o, clean, file, line, where, NULL, 0, err);
  json_decref(clean);
  if (s) return s;
  char *text = json_dumps(o, JSON_COMPACT);
  if (!text) return lp_error_set(err, LP_ENOMEM, "out of memory");
  lp_screen_result r;
  s = lp__screen_one(t, site_id, patient, text, file, user, &r, err);
  free(text);
  if (s) {
    lp_error e2 = *err;
    return lp_error_at(err, s, file, line, NULL, "%s%s", where, e2.message);
  }
  if (r.eligible) (*eligible)++;
  return LP_OK;
}

lp_status lp_trial_screen_many(lp_trial *t, const char *json_array, const char *source, const char *user, size_t *count,
                               size_t *eligible, lp_error *err) {
  *count = *eligible = 0;
  json_error_t je;
  json_t *a = json_loads(json_array, JSON_REJECT_DUPLICATES, &je);
  if (!a || !json_is_array(a)) {
    json_decref(a);
    if (!a) {
      lp_status st =
          lp_error_at(err, LP_EPARSE, source, je.line, NULL, "column %d: not valid JSON: %s", je.column, je.text);
      if (err) err->column = je.column;
      return st;
    }
    return lp_error_at(err, LP_EPARSE, source, 0, NULL, "expected a JSON array of objects");
  }
  lp_status s = lp__begin(t, err);
  if (!s) s = lp__check_unlocked(t, err);
  size_t i;
  json_t *o;
  json_array_foreach(a, i, o) {
    if (s) break;
    char where[1100];
    snprintf(where, sizeof where, "%s[%zu]", source ? source : "the JSON input", i + 1);
    if (!json_is_object(o)) s = lp_error_at(err, LP_EDATA, where, 0, NULL, "not an object");
    else
      s = screen_object(t, o, NULL, where, 0, "", user, eligible, err);
    if (!s) (*count)++;
  }
  json_decref(a);
  if (s) {
    lp__rollback(t);
    *count = *eligible = 0;
    return s;
  }
  return lp__commit(t, err);
}

lp_status lp_trial_screen_csv(lp_trial *t, const char *path, const char *default_site, const char *user, size_t *count,
                              size_t *eligible, lp_error *err) {
  *count = *eligible = 0;
  lp_table *tab;
  lp_status s = lp_table_read_csv(path, &tab, err);
  if (s) return s;
  if ((s = lp__begin(t, err))) {
    lp_table_free(tab);
    return s;
  }
  s = lp__check_unlocked(t, err);
  for (size_t r = 0; !s && r < lp_table_nrows(tab); r++) {
    json_t *o;
    if ((s = lp__table_row_json(tab, r, false, &o, err))) break;
    s = screen_object(t, o, default_site, path, lp_table_line(tab, r), "", user, eligible, err);
    json_decref(o);
    if (!s) (*count)++;
  }
  lp_table_free(tab);
  if (s) {
    lp__rollback(t);
    *count = *eligible = 0;
    return s;
  }
  return lp__commit(t, err);
}

void lp_screen_fields_help(char *buf, size_t n) { lp_form_help(screen_form(), buf, n); }

size_t lp_screen_field_count(void) { return screen_form()->nfields; }

bool lp_screen_field(size_t i, lp_screen_field_info *out) {
  const lp_form *f = screen_form();
  if (i >= f->nfields) return false;
  const lp_field *d = &f->fields[i];
  out->name = d->name;
  out->kind = d->type == LP_FIELD_BOOL   ? "yes/no"
              : d->type == LP_FIELD_TEXT ? "text"
              : d->type == LP_FIELD_DATE ? "date"
                                         : "number";
  out->min = d->min;
  out->max = d->max;
  out->help = d->help && *d->help ? d->help : d->label;
  return true;
}
