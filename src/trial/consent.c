/* Informed consent (leopards/trial.h, "informed consent"): the consent record before
 * randomisation, the retrospective consent owed after a representative's, the rule a
 * refusal applies, the settings, and the marking of patients randomised before consent
 * was tracked. The fields are the consent form's (forms.c); every write is audited. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <leopards/forms.h>
#include <leopards/table.h>

#include "trial/trial_internal.h"

#define UNTRACKED_NOTE "recorded before consent was tracked"

/* ---- settings ---- */

lp_status lp__consent_settings_default(lp_trial *t, const char *user, const char *reason, lp_error *err) {
  lp_status s = lp__meta_set(t, "consent_required", "1", user, reason, err);
  if (!s) s = lp__meta_set(t, "retrospective_refusal", "withdraw", user, reason, err);
  return s;
}

lp_status lp_consent_policy_get(lp_trial *t, lp_consent_policy *out, lp_error *err) {
  char v[32];
  bool found;
  out->required = false;
  out->refusal_withdraws = true;
  lp_status s = lp__meta_get(t, "consent_required", v, sizeof v, &found, err);
  if (s) return s;
  out->required = found && !strcmp(v, "1");
  if ((s = lp__meta_get(t, "retrospective_refusal", v, sizeof v, &found, err))) return s;
  out->refusal_withdraws = !found || strcmp(v, "keep") != 0;
  return LP_OK;
}

lp_status lp_consent_policy_set(lp_trial *t, const lp_consent_policy *p, const char *user, const char *reason,
                                lp_error *err) {
  lp_status s;
  if (!reason || !*reason) return lp_error_set(err, LP_EINVAL, "a change of the consent settings needs a reason");
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err)) ||
      (s = lp__user_may(t, user, LP_DO_MANAGE_SITES, 0, "change the consent settings", err)))
    goto fail;
  lp_consent_policy now;
  if ((s = lp_consent_policy_get(t, &now, err))) goto fail;
  if (now.required != p->required &&
      (s = lp__meta_set(t, "consent_required", p->required ? "1" : "0", user, reason, err)))
    goto fail;
  if (now.refusal_withdraws != p->refusal_withdraws &&
      (s = lp__meta_set(t, "retrospective_refusal", p->refusal_withdraws ? "withdraw" : "keep", user, reason, err)))
    goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

/* ---- what is known of a patient ---- */

typedef struct {
  long site_id;
  bool screened, randomised;
  char site[64], randomized_at[40];
  bool initial; /* an initial consent is recorded */
  char initial_by[32], initial_at[40];
  bool retrospective; /* a retrospective consent is recorded */
} consent_state;

static const char *col(sqlite3_stmt *st, int c) {
  const unsigned char *p = sqlite3_column_text(st, c);
  return p ? (const char *)p : "";
}

static lp_status state_of(lp_trial *t, const char *patient, consent_state *cs, lp_error *err) {
  memset(cs, 0, sizeof *cs);
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t,
                                   "SELECT sc.site_id, si.code, r.randomized_at,"
                                   " (SELECT consent_by FROM consents WHERE patient=sc.patient AND kind='initial'),"
                                   " (SELECT consented_at FROM consents WHERE patient=sc.patient AND kind='initial'),"
                                   " (SELECT count(*) FROM consents WHERE patient=sc.patient AND kind='initial'),"
                                   " (SELECT count(*) FROM consents WHERE patient=sc.patient AND kind='retrospective')"
                                   " FROM screening sc JOIN sites si ON si.id=sc.site_id"
                                   " LEFT JOIN randomisations r ON r.patient=sc.patient WHERE sc.patient=?",
                                   patient, &st, &row, "reading the patient's consent", err);
  if (s) return s;
  if (row) {
    cs->screened = true;
    cs->site_id = (long)sqlite3_column_int64(st, 0);
    snprintf(cs->site, sizeof cs->site, "%s", col(st, 1));
    cs->randomised = sqlite3_column_type(st, 2) != SQLITE_NULL;
    snprintf(cs->randomized_at, sizeof cs->randomized_at, "%s", col(st, 2));
    snprintf(cs->initial_by, sizeof cs->initial_by, "%s", col(st, 3));
    snprintf(cs->initial_at, sizeof cs->initial_at, "%s", col(st, 4));
    cs->initial = sqlite3_column_int(st, 5) > 0;
    cs->retrospective = sqlite3_column_int(st, 6) > 0;
  }
  lp__finalize(t, st);
  return LP_OK;
}

static bool by_representative(const char *by) {
  return !strcmp(by, "personal_representative") || !strcmp(by, "professional_representative");
}

/* ---- the rules of one record ---- */

typedef struct {
  const char *patient, *kind, *by, *decision, *at, *taken_by, *version, *notes;
} consent_values;

static const char *vstr(json_t *v, const char *k) { return json_string_value(json_object_get(v, k)); }

/* Every rule the values break, named by field, in one message (LP_EDATA), or the
 * state the patient is in that refuses the record (LP_ESTATE). */
static lp_status check_rules(lp_trial *t, consent_values *c, const consent_state *cs, bool correcting,
                             const char *source, lp_error *err) {
  char msg[1400] = "", now[40], first[32] = "";
  size_t n = 0, k = 0;
#define BAD(fld, ...)                                                                                  \
  do {                                                                                                 \
    if (!n++) snprintf(first, sizeof first, "%s", fld);                                                \
    k += (size_t)snprintf(msg + k, k < sizeof msg ? sizeof msg - k : 0, "%s%s: ", k ? "; " : "", fld); \
    if (k < sizeof msg) k += (size_t)snprintf(msg + k, sizeof msg - k, __VA_ARGS__);                   \
  } while (0)
  bool initial = !strcmp(c->kind, "initial");
  lp__now(t, now, sizeof now);
  if (!initial && !cs->randomised)
    return lp_error_set(err, LP_ESTATE,
                        "patient %s is not randomised: a retrospective consent follows a "
                        "randomisation on a representative's consent",
                        c->patient);
  if (!initial && !by_representative(cs->initial_by))
    return lp_error_set(err, LP_ESTATE, "patient %s was randomised on %s: no retrospective consent is owed", c->patient,
                        !strcmp(cs->initial_by, "patient") ? "their own consent"
                        : cs->initial_by[0]                ? "a consent recorded before consent was tracked"
                                                           : "no consent record");
  if (!correcting && (initial ? cs->initial : cs->retrospective))
    return lp_error_set(err, LP_ESTATE, "patient %s already has %s consent record: a correction needs a reason",
                        c->patient, initial ? "an initial" : "a retrospective");
  bool sought = !strcmp(c->decision, "given") || !strcmp(c->decision, "refused");
  if (initial && strcmp(c->decision, "given"))
    BAD("decision",
        "an initial consent is given: a patient or representative who declines is not enrolled "
        "(record the reason on the screening log)");
  if (initial && !c->by)
    BAD("consent_by",
        "say who consented: patient, personal_representative or "
        "professional_representative");
  if (!initial && sought && !c->by) c->by = "patient";
  if (!initial && sought && strcmp(c->by, "patient"))
    BAD("consent_by", "a retrospective consent is the patient's own, once capacity is regained");
  if (!initial && !sought && c->by)
    BAD("consent_by", "no one consents when the patient died or never regained capacity: leave it out");
  if (sought && (!c->taken_by || !*c->taken_by)) BAD("taken_by", "required: who took the consent");
  if (sought && (!c->version || !*c->version)) BAD("form_version", "required: the version of the consent form");
  double at = lp_parse_iso_days(c->at);
  if (at > lp_parse_iso_days(now)) BAD("consented_at", "%s is in the future (now %.16s)", c->at, now);
  else if (initial && cs->randomised && correcting && at > lp_parse_iso_days(cs->randomized_at))
    BAD("consented_at",
        "%s is after the randomisation (%s): the correction would leave randomised patient %s without a consent "
        "before randomisation",
        c->at, cs->randomized_at, c->patient);
  else if (initial && cs->randomised && at > lp_parse_iso_days(cs->randomized_at))
    BAD("consented_at", "%s is after the randomisation (%s): consent comes before it", c->at, cs->randomized_at);
  else if (!initial && at < lp_parse_iso_days(cs->randomized_at))
    BAD("consented_at", "%s is before the randomisation (%s): a retrospective consent follows it", c->at,
        cs->randomized_at);
#undef BAD
  if (!n) return LP_OK;
  if (n > 1) return lp_error_at_json(err, LP_EDATA, source, first, "%zu problems: %s", n, msg);
  return lp_error_at_json(err, LP_EDATA, source, first, "%s", msg);
}

static lp_status insert_consent(lp_trial *t, const consent_values *c, long site_id, const char *user, long *id,
                                lp_error *err) {
  sqlite3_stmt *st;
  char now[40];
  lp__now(t, now, sizeof now);
  if (lp__prepare(t,
                  "INSERT INTO consents(patient, site_id, kind, consent_by, decision, consented_at, taken_by,"
                  " form_version, notes, recorded_at, recorded_by) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                  &st, err))
    return LP_EDB;
  const char *text[] = {c->patient,  NULL,       c->kind,  c->by, c->decision, c->at,
                        c->taken_by, c->version, c->notes, now,   user};
  for (int i = 0; i < 11; i++) {
    if (i == 1) sqlite3_bind_int64(st, 2, site_id);
    else if (text[i] && *text[i])
      sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(st, i + 1);
  }
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "recording a consent");
  *id = (long)sqlite3_last_insert_rowid(t->db);
  return LP_OK;
}

/* The consent-withdrawn rule for a refused retrospective consent: the outcome record
 * says consent withdrawn on the day of the refusal (data kept, excluded from the
 * analyses), created when the patient has none yet. */
static lp_status withdraw(lp_trial *t, const char *patient, const char *at, const char *user, lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t, "SELECT id, coalesce(consent_withdrawn, 0) FROM outcomes WHERE patient=?",
                                   patient, &st, &row, "reading the outcome", err);
  if (s) return s;
  long id = row ? (long)sqlite3_column_int64(st, 0) : 0;
  bool already = row && sqlite3_column_int(st, 1) == 1;
  lp__finalize(t, st);
  if (already) return LP_OK;
  char *old = NULL, date[11];
  snprintf(date, sizeof date, "%.10s", at);
  if (id && (s = lp__row_json(t, "outcomes", id, &old, err))) return s;
  if (lp__prepare(t,
                  id ? "UPDATE outcomes SET consent_withdrawn=1, consent_withdrawn_date=?2 WHERE id=?1"
                     : "INSERT INTO outcomes(patient, consent_withdrawn, consent_withdrawn_date) VALUES(?3, 1, ?2)",
                  &st, err)) {
    free(old);
    return LP_EDB;
  }
  if (id) sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, date, -1, SQLITE_STATIC);
  if (!id) sqlite3_bind_text(st, 3, patient, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(old);
    return lp__db_fail(t, err, "recording the withdrawal of consent");
  }
  if (!id) id = (long)sqlite3_last_insert_rowid(t->db);
  s = lp__audit_row(t, "outcomes", id, old, patient, user,
                    "retrospective consent refused: consent withdrawn (data kept, excluded from the analyses)", err);
  free(old);
  return s;
}

static lp_status parse_values(const char *json, const char *source, json_t **vals, consent_values *c, lp_error *err) {
  json_error_t je;
  json_t *j = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
  if (!j) return lp_error_at_json(err, LP_EPARSE, source, NULL, "not valid JSON: %s", je.text);
  lp_status s = lp__form_values(lp_form_get(LP_FORM_CONSENT), j, source, vals, err);
  json_decref(j);
  if (s) return s;
  json_t *v = *vals;
  *c = (consent_values){vstr(v, "patient"),      vstr(v, "kind"),     vstr(v, "consent_by"),   vstr(v, "decision"),
                        vstr(v, "consented_at"), vstr(v, "taken_by"), vstr(v, "form_version"), vstr(v, "notes")};
  if (!c->kind) c->kind = "initial";
  if (!c->decision) c->decision = "given";
  return LP_OK;
}

lp_status lp_consent_record(lp_trial *t, const char *json, const char *source, const char *user, lp_consent_result *out,
                            lp_error *err) {
  memset(out, 0, sizeof *out);
  if (!source) source = "the JSON input";
  json_t *vals = NULL;
  consent_values c = {0};
  lp_status s = parse_values(json, source, &vals, &c, err);
  if (s) return s;
  consent_state cs;
  lp_consent_policy pol;
  bool refused = false;
  if ((s = lp__begin(t, err))) goto out;
  if ((s = lp__check_unlocked(t, err)) || (s = state_of(t, c.patient, &cs, err))) goto fail;
  if (!cs.screened) {
    s = lp_error_set(err, LP_ESTATE, "patient %s has no screening record: screen the patient first", c.patient);
    goto fail;
  }
  if ((s = lp__user_may(t, user, LP_DO_CONSENT, cs.site_id, "record consent", err)) ||
      (s = check_rules(t, &c, &cs, false, source, err)) || (s = lp_consent_policy_get(t, &pol, err)) ||
      (s = insert_consent(t, &c, cs.site_id, user, &out->id, err)) ||
      (s = lp__audit_row(t, "consents", out->id, NULL, c.patient, user,
                         strcmp(c.kind, "initial") ? "retrospective consent recorded" : "consent recorded", err)))
    goto fail;
  refused = !strcmp(c.decision, "refused");
  if (refused && pol.refusal_withdraws) {
    if ((s = withdraw(t, c.patient, c.at, user, err))) goto fail;
    snprintf(out->applied, sizeof out->applied, "consent withdrawn: data kept, excluded from the analyses");
  } else if (refused) {
    snprintf(out->applied, sizeof out->applied, "the trial's rule keeps the patient in the analyses");
  }
  if ((s = lp__commit(t, err))) goto out;
  snprintf(out->patient, sizeof out->patient, "%s", c.patient);
  snprintf(out->site, sizeof out->site, "%s", cs.site);
  snprintf(out->kind, sizeof out->kind, "%s", c.kind);
  snprintf(out->consent_by, sizeof out->consent_by, "%s", c.by ? c.by : "");
  snprintf(out->decision, sizeof out->decision, "%s", c.decision);
  out->retrospective_due = !strcmp(c.kind, "initial") && by_representative(c.by);
  goto out;
fail:
  lp__rollback(t);
out:
  json_decref(vals);
  return s;
}

/* ---- corrections ---- */

/* The fields of the consent form, in the form's order, as saved. */
static const char *const saved_fields[] = {"consent_by", "decision",     "consented_at",
                                           "taken_by",   "form_version", "notes"};
#define NSAVED (sizeof saved_fields / sizeof saved_fields[0])

/* The saved consent of `kind` as an object of the form's fields (patient and kind
 * included); *id 0 and *out NULL when there is none. */
static lp_status saved_consent(lp_trial *t, const char *patient, const char *kind, long *id, json_t **out,
                               lp_error *err) {
  *id = 0;
  *out = NULL;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT id, consent_by, decision, consented_at, taken_by, form_version, notes FROM consents"
                  " WHERE patient=? AND kind=?",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *id = (long)sqlite3_column_int64(st, 0);
    json_t *o = json_pack("{s:s, s:s}", "patient", patient, "kind", kind);
    for (size_t i = 0; o && i < NSAVED; i++)
      if (sqlite3_column_type(st, (int)i + 1) != SQLITE_NULL)
        json_object_set_new(o, saved_fields[i], json_string(col(st, (int)i + 1)));
    *out = o;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading a consent");
  if (rc == SQLITE_ROW && !*out) return lp_error_set(err, LP_ENOMEM, "out of memory");
  return LP_OK;
}

lp_status lp_consent_get(lp_trial *t, const char *patient, const char *kind, char **json, lp_error *err) {
  *json = NULL;
  long id;
  json_t *o;
  lp_status s = saved_consent(t, patient ? patient : "", kind && *kind ? kind : "initial", &id, &o, err);
  if (s || !o) return s;
  *json = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return *json ? LP_OK : lp_error_set(err, LP_ENOMEM, "out of memory");
}

/* The input over the saved record: a field the input names (null: cleared) replaces
 * the saved one, the others are kept; a consent recorded before consent was tracked
 * keeps no "who consented" (the form has no such choice: the correction says who). */
static json_t *merged_input(json_t *in, json_t *saved) {
  json_t *m = json_deep_copy(saved);
  if (!m) return NULL;
  const char *by = json_string_value(json_object_get(m, "consent_by"));
  if (by && !strcmp(by, "before_tracking")) json_object_del(m, "consent_by");
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    if (json_is_null(v)) json_object_del(m, k);
    else
      json_object_set(m, k, v);
  }
  return m;
}

/* What a correction may not do besides the rules of a new record: take the patient's
 * own consent for a representative's once a retrospective consent is recorded (it
 * would be owed by no one), or change nothing. */
static lp_status correction_rules(const consent_values *c, const consent_state *cs, json_t *before, json_t *after,
                                  lp_error *err) {
  if (!strcmp(c->kind, "initial") && cs->retrospective && !by_representative(c->by ? c->by : ""))
    return lp_error_set(err, LP_ESTATE,
                        "patient %s has a retrospective consent record, which follows a representative's consent "
                        "only: the initial consent cannot become the %s",
                        c->patient, c->by && !strcmp(c->by, "patient") ? "patient's own" : "one given");
  if (json_equal(before, after))
    return lp_error_set(err, LP_ESTATE, "the correction of patient %s's %s consent changes nothing", c->patient,
                        c->kind);
  return LP_OK;
}

/* After a correction of a retrospective consent: a new refusal applies the rule; a
 * refusal taken back leaves the withdrawal it applied on the outcome record, which is
 * corrected there (said in `applied`). */
static lp_status correction_consequence(lp_trial *t, const consent_values *c, const char *old_decision,
                                        const lp_consent_policy *pol, const char *user, lp_consent_result *out,
                                        lp_error *err) {
  bool was = old_decision && !strcmp(old_decision, "refused"), now = !strcmp(c->decision, "refused");
  if (now && !was && pol->refusal_withdraws) {
    lp_status s = withdraw(t, c->patient, c->at, user, err);
    if (s) return s;
    snprintf(out->applied, sizeof out->applied, "consent withdrawn: data kept, excluded from the analyses");
  } else if (now && !was) {
    snprintf(out->applied, sizeof out->applied, "the trial's rule keeps the patient in the analyses");
  } else if (was && !now) {
    sqlite3_stmt *st;
    bool row;
    lp_status s = lp__select_patient(t, "SELECT 1 FROM outcomes WHERE patient=? AND consent_withdrawn=1", c->patient,
                                     &st, &row, "reading the outcome", err);
    if (s) return s;
    lp__finalize(t, st);
    if (row)
      snprintf(out->applied, sizeof out->applied,
               "the refusal is taken back; the outcome record still says consent withdrawn: correct it there, with a "
               "reason, if the patient is to be analysed");
  }
  return LP_OK;
}

static lp_status update_consent(lp_trial *t, long id, const consent_values *c, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "UPDATE consents SET consent_by=?2, decision=?3, consented_at=?4, taken_by=?5, form_version=?6,"
                  " notes=?7 WHERE id=?1",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_int64(st, 1, id);
  const char *text[] = {c->by, c->decision, c->at, c->taken_by, c->version, c->notes};
  for (int i = 0; i < 6; i++)
    if (text[i] && *text[i]) sqlite3_bind_text(st, i + 2, text[i], -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(st, i + 2);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, "correcting a consent");
}

static void fill_result(lp_consent_result *out, const consent_values *c, const consent_state *cs) {
  snprintf(out->patient, sizeof out->patient, "%s", c->patient);
  snprintf(out->site, sizeof out->site, "%s", cs->site);
  snprintf(out->kind, sizeof out->kind, "%s", c->kind);
  snprintf(out->consent_by, sizeof out->consent_by, "%s", c->by ? c->by : "");
  snprintf(out->decision, sizeof out->decision, "%s", c->decision);
  out->retrospective_due = !strcmp(c->kind, "initial") && by_representative(c->by ? c->by : "") && !cs->retrospective;
}

/* The saved record of the input's patient and kind, and the input over it checked as
 * the form (lp__form_values), inside the caller's transaction. */
static lp_status correction_input(lp_trial *t, const char *json, const char *source, long *id, json_t **saved,
                                  json_t **vals, consent_values *c, lp_error *err) {
  json_error_t je;
  json_t *in = json_loads(json ? json : "", JSON_REJECT_DUPLICATES, &je);
  if (!in) return lp_error_at_json(err, LP_EPARSE, source, NULL, "not valid JSON: %s", je.text);
  lp_status s;
  json_t *m = NULL;
  char *mj = NULL;
  const char *patient = json_string_value(json_object_get(in, "patient"));
  const char *kind = json_string_value(json_object_get(in, "kind"));
  if (!json_is_object(in) || !patient || !*patient) {
    /* the form's own message for what is missing or malformed */
    s = lp__form_values(lp_form_get(LP_FORM_CONSENT), in, source, vals, err);
    json_decref(*vals);
    *vals = NULL;
    json_decref(in);
    return s ? s : lp_error_at_json(err, LP_EDATA, source, "patient", "a patient code is required");
  }
  if (!kind) kind = "initial";
  if (strcmp(kind, "initial") && strcmp(kind, "retrospective")) {
    s = lp_error_at_json(err, LP_EDATA, source, "kind", "kind: '%s' is not one of initial|retrospective", kind);
    goto out;
  }
  if ((s = saved_consent(t, patient, kind, id, saved, err))) goto out;
  if (!*saved) {
    s = lp_error_set(err, LP_ENOTFOUND, "patient %s has no %s consent record to correct", patient,
                     strcmp(kind, "retrospective") ? "initial" : "retrospective");
    goto out;
  }
  m = merged_input(in, *saved);
  if (!m) {
    s = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto out;
  }
  mj = json_dumps(m, JSON_COMPACT);
  json_decref(m);
  s = mj ? parse_values(mj, source, vals, c, err) : lp_error_set(err, LP_ENOMEM, "out of memory");
  free(mj);
out:
  json_decref(in);
  return s;
}

lp_status lp_consent_correct(lp_trial *t, const char *json, const char *source, const char *user, const char *reason,
                             lp_consent_result *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  if (!source) source = "the JSON input";
  if (!reason || !*reason)
    return lp__with_field(err, "reason", lp_error_set(err, LP_EINVAL, "a correction of a consent needs a reason"));
  json_t *vals = NULL, *saved = NULL, *after = NULL;
  consent_values c = {0};
  consent_state cs;
  lp_consent_policy pol;
  char *old = NULL;
  long id = 0;
  lp_status s = lp__begin(t, err);
  if (s) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = correction_input(t, json, source, &id, &saved, &vals, &c, err)) ||
      (s = state_of(t, c.patient, &cs, err)))
    goto fail;
  if ((s = lp__user_may(t, user, LP_DO_RECORD, cs.site_id, "correct a consent", err)) ||
      (s = check_rules(t, &c, &cs, true, source, err)))
    goto fail;
  if (!(after = json_deep_copy(vals))) {
    s = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  json_object_set_new(after, "kind", json_string(c.kind));
  json_object_set_new(after, "decision", json_string(c.decision));
  if (c.by) json_object_set_new(after, "consent_by", json_string(c.by));
  if ((s = correction_rules(&c, &cs, saved, after, err)) || (s = lp_consent_policy_get(t, &pol, err)) ||
      (s = lp__row_json(t, "consents", id, &old, err)) || (s = update_consent(t, id, &c, err)) ||
      (s = lp__audit_row(t, "consents", id, old, c.patient, user, reason, err)) ||
      (!strcmp(c.kind, "retrospective") &&
       (s = correction_consequence(t, &c, json_string_value(json_object_get(saved, "decision")), &pol, user, out,
                                   err))))
    goto fail;
  if ((s = lp__commit(t, err))) goto out;
  out->id = id;
  fill_result(out, &c, &cs);
  goto out;
fail:
  lp__rollback(t);
out:
  free(old);
  json_decref(after);
  json_decref(saved);
  json_decref(vals);
  return s;
}

/* ---- trials from before consent was tracked ---- */

lp_status lp__consent_mark_untracked(lp_trial *t, const char *user, const char *reason, lp_error *err) {
  char v[16];
  bool found;
  lp_status s = lp__meta_get(t, "consent_required", v, sizeof v, &found, err);
  if (!s && !found) s = lp__consent_settings_default(t, user, reason, err);
  if (s) return s;
  sqlite3_stmt *st;
  char now[40];
  lp__now(t, now, sizeof now);
  if (lp__prepare(t,
                  "INSERT INTO consents(patient, site_id, kind, consent_by, decision, consented_at, notes,"
                  " recorded_at, recorded_by) SELECT patient, site_id, 'initial', 'before_tracking', 'given',"
                  " randomized_at, '" UNTRACKED_NOTE "', ?1, ?2 FROM randomisations r WHERE NOT EXISTS"
                  " (SELECT 1 FROM consents c WHERE c.patient=r.patient AND c.kind='initial') ORDER BY r.id"
                  " RETURNING id, patient",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
  /* RETURNING gives every row before any is audited (the audit writes between steps
   * would see a half-done statement): collect the ids first. */
  long *ids = NULL;
  char(*pat)[64] = NULL;
  size_t n = 0, cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      long *ni = realloc(ids, cap * sizeof *ids);
      char(*np)[64] = ni ? realloc(pat, cap * sizeof *pat) : NULL;
      if (ni) ids = ni;
      if (np) pat = np;
      if (!ni || !np) {
        rc = SQLITE_NOMEM;
        break;
      }
    }
    ids[n] = (long)sqlite3_column_int64(st, 0);
    snprintf(pat[n++], 64, "%s", col(st, 1));
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE)
    s = rc == SQLITE_NOMEM ? lp_error_set(err, LP_ENOMEM, "out of memory")
                           : lp__db_fail(t, err, "marking consents recorded before tracking");
  for (size_t i = 0; !s && i < n; i++) s = lp__audit_row(t, "consents", ids[i], NULL, pat[i], user, reason, err);
  free(ids);
  free(pat);
  return s;
}
