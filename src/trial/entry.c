/* Data entry on the web (see leopards/entry.h): saved records read back for editing,
 * drafts of forms not yet submitted (table form_drafts, schema version 5: not audited,
 * not exported), the list of a patient's forms with their states. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <leopards/entry.h>
#include <leopards/forms.h>
#include <leopards/queries.h>
#include <leopards/strbuf.h>
#include <leopards/table.h>

#include "trial/trial_internal.h"

static const lp_form *form_of(lp_record_kind kind) {
  return (unsigned)kind < LP_RECORD_COUNT ? lp_form_get((lp_form_id)kind) : NULL;
}

/* The id of the record of `kind` of the patient (0: none). */
static lp_status record_id(lp_trial *t, lp_record_kind kind, const char *patient, long key, long *id, lp_error *err) {
  const lp_form *f = form_of(kind);
  *id = 0;
  if (!f) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  char sql[160];
  if (kind == LP_RECORD_DAILY) snprintf(sql, sizeof sql, "SELECT id FROM daily WHERE patient=? AND day=?");
  else if (kind == LP_RECORD_AE)
    snprintf(sql, sizeof sql, "SELECT id FROM adverse_events WHERE patient=? AND id=?");
  else if (kind == LP_RECORD_INFUSION)
    snprintf(sql, sizeof sql, "SELECT id FROM infusions WHERE patient=? AND id=?");
  else
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=? AND ?>=0", f->table);
  sqlite3_stmt *st;
  lp_status s = lp__prepare(t, sql, &st, err);
  if (s) return s;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, key);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "finding a record");
  return LP_OK;
}

lp_status lp_record_get(lp_trial *t, lp_record_kind kind, const char *patient, long key, char **json, lp_error *err) {
  *json = NULL;
  long id;
  lp_status s = record_id(t, kind, patient ? patient : "", key, &id, err);
  if (s || !id) return s;
  return lp__row_json(t, form_of(kind)->table, id, json, err);
}

lp_status lp_record_list(lp_trial *t, lp_record_kind kind, const char *patient, char **json, lp_error *err) {
  *json = NULL;
  const lp_form *f = form_of(kind);
  if (!f) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  char sql[160];
  const char *order = kind == LP_RECORD_DAILY ? "day" : kind == LP_RECORD_INFUSION ? "hour" : "id";
  snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=? ORDER BY %s", f->table, order);
  sqlite3_stmt *st;
  lp_status s = lp__prepare(t, sql, &st, err);
  if (s) return s;
  sqlite3_bind_text(st, 1, patient ? patient : "", -1, SQLITE_STATIC);
  long ids[400];
  size_t n = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < 400) ids[n++] = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "listing records");
  lp_strbuf b = {0};
  lp_strbuf_puts(&b, "[");
  for (size_t i = 0; i < n && !s; i++) {
    char *row = NULL;
    if ((s = lp__row_json(t, f->table, ids[i], &row, err))) break;
    if (i) lp_strbuf_puts(&b, ",");
    lp_strbuf_puts(&b, row ? row : "null");
    free(row);
  }
  lp_strbuf_puts(&b, "]");
  if (s || !b.p) {
    free(b.p);
    return s ? s : lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  *json = b.p;
  return LP_OK;
}

/* ---- drafts ---- */

void lp_draft_clear(lp_draft *d) {
  if (!d) return;
  free(d->data);
  memset(d, 0, sizeof *d);
}

static lp_status draft_patient(lp_trial *t, const char *patient, lp_record_kind kind, long *site_id, lp_error *err) {
  if (!form_of(kind)) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t, "SELECT site_id FROM randomisations WHERE patient=?", patient ? patient : "", &st,
                                   &row, "looking up a patient", err);
  if (s) return s;
  if (row) *site_id = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  if (!row) return lp_error_set(err, LP_ENOTFOUND, "patient %s has not been randomised", patient ? patient : "");
  return LP_OK;
}

lp_status lp_draft_save(lp_trial *t, const char *patient, lp_record_kind kind, long key, const char *json,
                        const char *user, lp_error *err) {
  long site_id = 0;
  lp_status s = draft_patient(t, patient, kind, &site_id, err);
  if (s) return s;
  if (!json || strlen(json) > 65536) return lp_error_set(err, LP_EINVAL, "a draft is a JSON object of at most 64 KiB");
  json_t *j = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
  bool obj = json_is_object(j);
  json_decref(j);
  if (!obj) return lp_error_set(err, LP_EINVAL, "a draft is a JSON object of the form's values");
  if ((s = lp__user_check(t, user, 1u << LP_ROLE_INVESTIGATOR, site_id, "keep drafts of forms", err))) return s;
  char now[40];
  sqlite3_stmt *st;
  int rc;
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err))) goto fail;
  lp__now(t, now, sizeof now);
  if ((s = lp__prepare(t,
                       "INSERT INTO form_drafts(patient, form, day, saved_at, saved_by, data) VALUES(?,?,?,?,?,?)"
                       " ON CONFLICT(patient, form, day) DO UPDATE SET saved_at=excluded.saved_at,"
                       " saved_by=excluded.saved_by, data=excluded.data",
                       &st, err)))
    goto fail;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, lp_record_kind_name(kind), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, key);
  sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, user, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, json, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "saving a draft");
    goto fail;
  }
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

lp_status lp_draft_get(lp_trial *t, const char *patient, lp_record_kind kind, long key, lp_draft *out, bool *found,
                       lp_error *err) {
  memset(out, 0, sizeof *out);
  *found = false;
  if (!form_of(kind)) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  sqlite3_stmt *st;
  lp_status s =
      lp__prepare(t, "SELECT saved_at, saved_by, data FROM form_drafts WHERE patient=? AND form=? AND day=?", &st, err);
  if (s) return s;
  sqlite3_bind_text(st, 1, patient ? patient : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, lp_record_kind_name(kind), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, key);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(out->saved_at, sizeof out->saved_at, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(out->saved_by, sizeof out->saved_by, "%s", (const char *)sqlite3_column_text(st, 1));
    out->data = strdup((const char *)sqlite3_column_text(st, 2));
    *found = out->data != NULL;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading a draft");
  if (rc == SQLITE_ROW && !out->data) return lp_error_set(err, LP_ENOMEM, "out of memory");
  return LP_OK;
}

lp_status lp_draft_discard(lp_trial *t, const char *patient, lp_record_kind kind, long key, lp_error *err) {
  if (!form_of(kind)) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  lp_draft d;
  bool found;
  lp_status s = lp_draft_get(t, patient, kind, key, &d, &found, err);
  lp_draft_clear(&d);
  if (s || !found) return s; /* nothing to delete: no write transaction (a submission's usual case) */
  s = lp__begin(t, err);
  if (s) return s;
  sqlite3_stmt *st;
  if ((s = lp__prepare(t, "DELETE FROM form_drafts WHERE patient=? AND form=? AND day=?", &st, err))) {
    lp__rollback(t);
    return s;
  }
  sqlite3_bind_text(st, 1, patient ? patient : "", -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, lp_record_kind_name(kind), -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, key);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "deleting a draft");
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}

/* ---- a patient's forms ---- */

const char *lp_form_state_name(lp_form_state s) {
  static const char *const names[] = {"empty", "in progress", "complete", "queried", "verified", "signed"};
  return (unsigned)s <= LP_FORM_STATE_SIGNED ? names[s] : "?";
}

static void fmt_minute(double days, char *buf) {
  time_t secs = (time_t)llround(days * 86400.0);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(buf, 24, "%04d-%02d-%02dT%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

bool lp_icu_day_window(const char *randomized_at, int day, char start[24], char end[24]) {
  double r = randomized_at ? lp_parse_iso_days(randomized_at) : NAN;
  if (!isfinite(r) || day < 1) return false;
  fmt_minute(r + day - 1, start);
  fmt_minute(r + day, end);
  return true;
}

typedef struct {
  lp_form_entry *v;
  size_t n, cap;
} entries;

static lp_form_entry *add(entries *e, lp_record_kind kind, long key, lp_form_state st) {
  if (e->n == e->cap) {
    size_t cap = e->cap ? 2 * e->cap : 48;
    lp_form_entry *p = realloc(e->v, cap * sizeof *p);
    if (!p) return NULL;
    e->v = p;
    e->cap = cap;
  }
  lp_form_entry *x = &e->v[e->n++];
  memset(x, 0, sizeof *x);
  x->kind = kind;
  x->key = key;
  x->state = st;
  x->due = true;
  return x;
}

/* Forms and keys of the patient's rows in `sql` (two columns: form kind, key): records
 * (mode 0), drafts (1), or forms begun (2: an infusion log with events). */
static lp_status mark(lp_trial *t, const char *sql, const char *patient, entries *e, int mode, lp_error *err) {
  bool draft = mode != 0;
  sqlite3_stmt *st;
  lp_status s = lp__prepare(t, sql, &st, err);
  if (s) return s;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    lp_record_kind k;
    if (lp_record_kind_parse((const char *)sqlite3_column_text(st, 0), &k, NULL)) continue;
    long key = (long)sqlite3_column_int64(st, 1);
    bool seen = false;
    for (size_t i = 0; i < e->n; i++)
      if (e->v[i].kind == k && e->v[i].key == key) {
        seen = true;
        if (mode == 1) e->v[i].draft = true;
        if (draft && e->v[i].state == LP_FORM_STATE_EMPTY) e->v[i].state = LP_FORM_STATE_DRAFT;
        if (!draft) e->v[i].state = LP_FORM_STATE_COMPLETE;
      }
    if (!seen && k == LP_RECORD_AE && key > 0 && !draft) {
      if (!add(e, k, key, LP_FORM_STATE_COMPLETE)) rc = SQLITE_NOMEM;
      if (rc == SQLITE_NOMEM) break;
    }
  }
  lp__finalize(t, st);
  if (rc == SQLITE_NOMEM) return lp_error_set(err, LP_ENOMEM, "out of memory");
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "listing a patient's forms");
  return LP_OK;
}

/* The review's state of the forms in `sql` (two columns: form kind, key): every entry
 * at least `from` that the rows name becomes `to`. */
static lp_status review(lp_trial *t, const char *sql, const char *patient, entries *e, lp_form_state from,
                        lp_form_state to, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s = lp__prepare(t, sql, &st, err);
  if (s) return s;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    lp_record_kind k;
    if (lp_record_kind_parse((const char *)sqlite3_column_text(st, 0), &k, NULL)) continue;
    long key = (long)sqlite3_column_int64(st, 1);
    for (size_t i = 0; i < e->n; i++)
      if (e->v[i].kind == k && e->v[i].key == key && e->v[i].state >= from) e->v[i].state = to;
  }
  lp__finalize(t, st);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, "listing a patient's forms");
}

/* Verified (a verification not cleared since), signed (the casebook's signature still
 * valid) and queried (a query not closed, whatever the other two say: the form needs
 * the site's answer), in that order. */
static lp_status review_states(lp_trial *t, const char *patient, entries *e, lp_error *err) {
  lp_status s = review(t,
                       "SELECT form, CASE form WHEN 'daily' THEN day WHEN 'ae' THEN record ELSE 0 END FROM"
                       " verifications WHERE patient=?1 AND cleared_at IS NULL",
                       patient, e, LP_FORM_STATE_COMPLETE, LP_FORM_STATE_VERIFIED, err);
  if (s) return s;
  lp_signature g;
  lp_error ge;
  if (!lp_signature_get(t, patient, &g, &ge) && g.valid)
    for (size_t i = 0; i < e->n; i++)
      if (e->v[i].state >= LP_FORM_STATE_COMPLETE) e->v[i].state = LP_FORM_STATE_SIGNED;
  return review(t,
                "SELECT form, CASE form WHEN 'daily' THEN day WHEN 'ae' THEN record ELSE 0 END FROM queries"
                " WHERE patient=?1 AND state!='closed'",
                patient, e, LP_FORM_STATE_DRAFT, LP_FORM_STATE_QUERIED, err);
}

lp_status lp_patient_forms(lp_trial *t, const char *patient, lp_form_entry **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t, "SELECT randomized_at FROM randomisations WHERE patient=?",
                                   patient ? patient : "", &st, &row, "looking up a patient", err);
  if (s) return s;
  char rand_at[40] = "";
  if (row) snprintf(rand_at, sizeof rand_at, "%s", (const char *)sqlite3_column_text(st, 0));
  lp__finalize(t, st);
  if (!row) return lp_error_set(err, LP_ENOTFOUND, "patient %s has not been randomised", patient ? patient : "");
  char now[40];
  lp__now(t, now, sizeof now);
  double elapsed = lp_parse_iso_days(now) - lp_parse_iso_days(rand_at);
  /* no daily form for a day that began after the recorded death (lp_record refuses it) */
  double lived = elapsed;
  if ((s = lp__select_patient(t, "SELECT death_date FROM outcomes WHERE patient=? AND death_date IS NOT NULL", patient,
                              &st, &row, "reading the outcome", err)))
    return s;
  if (row) {
    const char *death = (const char *)sqlite3_column_text(st, 0);
    double until = lp_parse_iso_days(death) + (strlen(death) > 10 ? 0 : 1) - lp_parse_iso_days(rand_at);
    if (isfinite(until) && until < lived) lived = until;
  }
  lp__finalize(t, st);
  entries e = {0};
  bool ok = add(&e, LP_RECORD_BASELINE, 0, LP_FORM_STATE_EMPTY) && add(&e, LP_RECORD_INFUSION, 0, LP_FORM_STATE_EMPTY);
  for (int d = 1; ok && d <= 28 && d - 1 < lived; d++) {
    lp_form_entry *x = add(&e, LP_RECORD_DAILY, d, LP_FORM_STATE_EMPTY);
    if (!(ok = x != NULL)) break;
    lp_icu_day_window(rand_at, d, x->start, x->end);
    x->due = d <= elapsed;
  }
  ok = ok && add(&e, LP_RECORD_OUTCOME, 0, LP_FORM_STATE_EMPTY);
  if (!ok) {
    free(e.v);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  if ((s = mark(t,
                "SELECT 'baseline', 0 FROM patients WHERE patient=?1 UNION ALL SELECT 'outcome', 0 FROM outcomes"
                " WHERE patient=?1 UNION ALL SELECT 'daily', day FROM daily WHERE patient=?1 UNION ALL"
                " SELECT 'infusion', 0 FROM infusions WHERE patient=?1 AND event IN ('stop','end') UNION ALL"
                " SELECT 'ae', id FROM adverse_events WHERE patient=?1 ORDER BY 1, 2",
                patient, &e, 0, err)) ||
      (s = mark(t, "SELECT form, day FROM form_drafts WHERE patient=?1", patient, &e, 1, err)) ||
      (s = mark(t, "SELECT 'infusion', 0 FROM infusions WHERE patient=?1", patient, &e, 2, err)) ||
      !add(&e, LP_RECORD_AE, 0, LP_FORM_STATE_EMPTY) ||
      (s = mark(t, "SELECT form, day FROM form_drafts WHERE patient=?1 AND form='ae' AND day=0", patient, &e, 1,
                err)) ||
      (s = review_states(t, patient, &e, err))) {
    free(e.v);
    return s ? s : lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  *out = e.v;
  *n = e.n;
  return LP_OK;
}

/* ---- adverse events ---- */

bool lp_ae_related(const char *r) {
  return r && (!strcmp(r, "possible") || !strcmp(r, "probable") || !strcmp(r, "definite"));
}

bool lp_ae_expedited(bool serious, const char *relatedness, bool expected) {
  return serious && !expected && lp_ae_related(relatedness);
}
