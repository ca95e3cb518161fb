/* Data queries, source data verification, principal investigators and electronic
 * signatures (leopards/queries.h): every step in one transaction with its audit entry.
 * A change to saved data reaches here through lp__form_changed, which clears the
 * form's verification and invalidates the casebook's signature, saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <leopards/forms.h>
#include <leopards/queries.h>

#include "trial/trial_internal.h"

static const char *col(sqlite3_stmt *st, int i) {
  const char *s = (const char *)sqlite3_column_text(st, i);
  return s ? s : "";
}

static lp_status step_done(lp_trial *t, sqlite3_stmt *st, const char *what, lp_error *err) {
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, what);
}

/* An UPDATE or INSERT of one audited row: `bind` has bound the statement; the old
 * content is read first for an update (id > 0). */
static lp_status audited_write(lp_trial *t, const char *table, long *id, sqlite3_stmt *st, const char *patient,
                               const char *user, const char *reason, const char *what, lp_error *err) {
  char *old = NULL;
  lp_status s;
  if (*id && (s = lp__row_json(t, table, *id, &old, err))) {
    lp__finalize(t, st);
    return s;
  }
  if ((s = step_done(t, st, what, err))) {
    free(old);
    return s;
  }
  if (!*id) *id = (long)sqlite3_last_insert_rowid(t->db);
  s = lp__audit_row(t, table, *id, old, patient, user, reason, err);
  free(old);
  return s;
}

/* The patient's site (id and code); LP_ENOTFOUND when not randomised. */
static lp_status patient_site(lp_trial *t, const char *patient, long *site_id, char code[64], lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t,
                                   "SELECT r.site_id, s.code FROM randomisations r JOIN sites s ON s.id=r.site_id"
                                   " WHERE r.patient=?",
                                   patient ? patient : "", &st, &row, "looking up a patient", err);
  if (s) return s;
  if (row) {
    *site_id = (long)sqlite3_column_int64(st, 0);
    snprintf(code, 64, "%s", col(st, 1));
  }
  lp__finalize(t, st);
  if (!row) return lp_error_set(err, LP_ENOTFOUND, "%s: patient %s has not been randomised", t->path, patient);
  return LP_OK;
}

/* The row of a form instance: the daily record of `day`, the infusion event or adverse
 * event `record` (for the infusion log as a whole, record 0: its first event), or the
 * patient's one baseline or outcome record. LP_ENOTFOUND naming what is missing. */
static lp_status form_row(lp_trial *t, lp_record_kind kind, const char *patient, int day, long record, long *rowid,
                          lp_error *err) {
  const char *table = lp_form_get((lp_form_id)kind)->table;
  char sql[160];
  if (kind == LP_RECORD_DAILY) snprintf(sql, sizeof sql, "SELECT id FROM daily WHERE patient=?1 AND day=?2");
  else if ((kind == LP_RECORD_AE || kind == LP_RECORD_INFUSION) && record)
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=?1 AND id=?3", table);
  else
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=?1 ORDER BY id LIMIT 1", table);
  if (kind == LP_RECORD_DAILY && day < 1)
    return lp_error_at(err, LP_EINVAL, NULL, 0, "day", "the daily form needs its day (1 to 28)");
  if (kind == LP_RECORD_AE && !record)
    return lp_error_at(err, LP_EINVAL, NULL, 0, "record", "an adverse event is named by its record id");
  sqlite3_stmt *st;
  if (lp__prepare(t, sql, &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 2, day);
  sqlite3_bind_int64(st, 3, record);
  int rc = sqlite3_step(st);
  *rowid = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
  lp__finalize(t, st);
  if (rc == SQLITE_ROW) return LP_OK;
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "looking up a record");
  if (kind == LP_RECORD_DAILY)
    return lp_error_set(err, LP_ENOTFOUND, "%s: patient %s has no daily record for day %d", t->path, patient, day);
  if (record)
    return lp_error_set(err, LP_ENOTFOUND, "%s: patient %s has no %s record %ld", t->path, patient,
                        lp_record_kind_name(kind), record);
  return lp_error_set(err, LP_ENOTFOUND, "%s: patient %s has no %s record", t->path, patient,
                      lp_record_kind_name(kind));
}

/* Where a form instance is: "daily day 3", "ae record 7", "baseline". */
/* An ISO time "2026-12-04T04:08:56.620Z" in a message as "2026-12-04 04:08 UTC". */
static void minute_words(const char *iso, char *out, size_t n) {
  if (strlen(iso) >= 16 && iso[10] == 'T') snprintf(out, n, "%.10s %.5s UTC", iso, iso + 11);
  else
    snprintf(out, n, "%s", iso);
}

static void instance_words(const char *form, int day, long record, char *buf, size_t n) {
  if (day) snprintf(buf, n, "%s day %d", form, day);
  else if (record)
    snprintf(buf, n, "%s record %ld", form, record);
  else
    snprintf(buf, n, "%s", form);
}

/* ---- queries ---- */

static const char *const state_names[] = {"open", "answered", "closed"};
const char *lp_query_state_name(lp_query_state s) { return (unsigned)s < 3 ? state_names[s] : "?"; }

lp_status lp_query_state_parse(const char *name, lp_query_state *out, lp_error *err) {
  for (int i = 0; i < 3; i++)
    if (name && !strcmp(name, state_names[i])) {
      *out = (lp_query_state)i;
      return LP_OK;
    }
  return lp_error_set(err, LP_EINVAL, "unknown query state '%s' (open, answered, closed)", name ? name : "");
}

static lp_status insert_query(lp_trial *t, const char *patient, const char *form, int day, long record,
                              const char *field, const char *origin, const char *text, const char *user,
                              const char *reason, long *id, lp_error *err) {
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "INSERT INTO queries(patient, form, day, record, field, state, origin, text, opened_at, opened_by,"
                  " reopened) VALUES(?,?,?,?,?,'open',?,?,?,?,0)",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, form, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 3, day);
  sqlite3_bind_int64(st, 4, record);
  sqlite3_bind_text(st, 5, field, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, origin, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 8, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 9, user, -1, SQLITE_TRANSIENT);
  *id = 0;
  return audited_write(t, "queries", id, st, patient, user, reason, "opening a query", err);
}

/* A soft finding of a saved record opens a query on its field, unless one not closed
 * already asks about the field, or an edit check's query on the same value (the same
 * text, which names the value) was closed: a later change to another field of the
 * record does not ask again about a value the site has explained. */
lp_status lp__query_from_check(lp_trial *t, const lp_finding *f, long record, const char *user, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT id FROM queries WHERE patient=? AND form=? AND day=? AND record=? AND field=?"
                  " AND (state!='closed' OR (origin='check' AND text=?6))",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, f->patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, f->form, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 3, f->day);
  sqlite3_bind_int64(st, 4, record);
  sqlite3_bind_text(st, 5, f->field, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, f->text, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc == SQLITE_ROW) return LP_OK; /* asked already */
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "looking up queries");
  long id;
  return insert_query(t, f->patient, f->form, f->day, record, f->field, "check", f->text, user,
                      "query raised by an edit check", &id, err);
}

lp_status lp_query_open(lp_trial *t, const char *patient, lp_record_kind form, int day, long record, const char *field,
                        const char *text, const char *user, long *id, lp_error *err) {
  if ((unsigned)form >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  const lp_form *fm = lp_form_get((lp_form_id)form);
  if (!field || !lp_form_field(fm, field) || !strcmp(field, "patient"))
    return lp_error_at(err, LP_EINVAL, NULL, 0, "field", "'%s' is not a field of the %s form", field ? field : "",
                       fm->name);
  if (!text || !*text) return lp_error_at(err, LP_EINVAL, NULL, 0, "text", "a query needs its text");
  if (strlen(text) > 500) return lp_error_at(err, LP_EINVAL, NULL, 0, "text", "a query's text has at most 500 bytes");
  if (form != LP_RECORD_DAILY) day = 0;
  if (form != LP_RECORD_AE && form != LP_RECORD_INFUSION) record = 0;
  if (form == LP_RECORD_INFUSION && !record)
    return lp_error_at(err, LP_EINVAL, NULL, 0, "record", "an infusion event is named by its record id");
  long site_id, rowid;
  char site[64];
  lp_status s = lp__begin(t, err);
  if (s) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = patient_site(t, patient, &site_id, site, err)) ||
      (s = lp__user_may(t, user, LP_DO_QUERY_RAISE, site_id, "raise data queries", err)) ||
      (s = form_row(t, form, patient, day, record, &rowid, err)) ||
      (s = insert_query(t, patient, fm->name, day, record, field, "manual", text, user, "query raised", id, err))) {
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}

#define QUERY_COLUMNS                                                                                         \
  "SELECT q.id, q.patient, s.code, q.form, q.day, q.record, q.field, q.state, q.origin, q.text, q.opened_at," \
  " q.opened_by, q.answer, q.answered_at, q.answered_by, q.old_value, q.new_value, q.closed_at, q.closed_by," \
  " q.reopened, q.reopen_text, r.site_id FROM queries q JOIN randomisations r ON r.patient=q.patient"         \
  " JOIN sites s ON s.id=r.site_id "

static void query_from_row(sqlite3_stmt *st, lp_query *q, long *site_id) {
  memset(q, 0, sizeof *q);
  q->id = (long)sqlite3_column_int64(st, 0);
  snprintf(q->patient, sizeof q->patient, "%s", col(st, 1));
  snprintf(q->site, sizeof q->site, "%s", col(st, 2));
  snprintf(q->form, sizeof q->form, "%s", col(st, 3));
  q->day = sqlite3_column_int(st, 4);
  q->record = (long)sqlite3_column_int64(st, 5);
  snprintf(q->field, sizeof q->field, "%s", col(st, 6));
  lp_query_state_parse(col(st, 7), &q->state, NULL);
  snprintf(q->origin, sizeof q->origin, "%s", col(st, 8));
  snprintf(q->text, sizeof q->text, "%s", col(st, 9));
  snprintf(q->opened_at, sizeof q->opened_at, "%s", col(st, 10));
  snprintf(q->opened_by, sizeof q->opened_by, "%s", col(st, 11));
  snprintf(q->answer, sizeof q->answer, "%s", col(st, 12));
  snprintf(q->answered_at, sizeof q->answered_at, "%s", col(st, 13));
  snprintf(q->answered_by, sizeof q->answered_by, "%s", col(st, 14));
  snprintf(q->old_value, sizeof q->old_value, "%s", col(st, 15));
  snprintf(q->new_value, sizeof q->new_value, "%s", col(st, 16));
  snprintf(q->closed_at, sizeof q->closed_at, "%s", col(st, 17));
  snprintf(q->closed_by, sizeof q->closed_by, "%s", col(st, 18));
  q->reopened = (long)sqlite3_column_int64(st, 19);
  snprintf(q->reopen_text, sizeof q->reopen_text, "%s", col(st, 20));
  if (site_id) *site_id = (long)sqlite3_column_int64(st, 21);
}

static lp_status query_read(lp_trial *t, long id, lp_query *q, long *site_id, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, QUERY_COLUMNS "WHERE q.id=?", &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) query_from_row(st, q, site_id);
  lp__finalize(t, st);
  if (rc == SQLITE_DONE) return lp_error_set(err, LP_ENOTFOUND, "%s: no query %ld", t->path, id);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, "reading a query");
  return LP_OK;
}

lp_status lp_query_get(lp_trial *t, long id, lp_query *out, lp_error *err) { return query_read(t, id, out, NULL, err); }

lp_status lp_query_list(lp_trial *t, const lp_query_filter *f, lp_query **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  QUERY_COLUMNS "WHERE (?1 IS NULL OR s.code=?1) AND (?2 IS NULL OR q.patient=?2)"
                                " AND (?3 IS NULL OR q.state=?3) ORDER BY q.id",
                  &st, err))
    return LP_EDB;
  if (f && f->site) sqlite3_bind_text(st, 1, f->site, -1, SQLITE_TRANSIENT);
  if (f && f->patient) sqlite3_bind_text(st, 2, f->patient, -1, SQLITE_TRANSIENT);
  if (f && f->state >= 0) sqlite3_bind_text(st, 3, lp_query_state_name((lp_query_state)f->state), -1, SQLITE_STATIC);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      lp_query *p = realloc(*out, cap * sizeof *p);
      if (!p) {
        lp__finalize(t, st);
        free(*out);
        *out = NULL;
        *n = 0;
        return lp_error_set(err, LP_ENOMEM, "out of memory");
      }
      *out = p;
    }
    query_from_row(st, &(*out)[(*n)++], NULL);
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(*out);
    *out = NULL;
    *n = 0;
    return lp__db_fail(t, err, "listing queries");
  }
  return LP_OK;
}

lp_status lp_query_unresolved(lp_trial *t, long *open, long *answered, lp_error *err) {
  return lp__two_counts(t,
                        "SELECT coalesce(sum(state='open'),0), coalesce(sum(state='answered'),0) FROM queries"
                        " WHERE ?1=?1",
                        0, open, answered, "counting queries", err);
}

/* The input that corrects the queried field: the record's keys from its row, the value
 * as text (checked as a CSV cell would be; empty clears it). */
static lp_status correction_row(lp_trial *t, const lp_query *q, const char *value, json_t **row, char *old_value,
                                size_t n, lp_error *err) {
  lp_record_kind kind;
  lp_status s;
  long rowid;
  if ((s = lp_record_kind_parse(q->form, &kind, err)) ||
      (s = form_row(t, kind, q->patient, q->day, q->record, &rowid, err)))
    return s;
  const lp_form *fm = lp_form_get((lp_form_id)kind);
  char *text = NULL;
  if ((s = lp__row_json(t, fm->table, rowid, &text, err))) return s;
  json_t *cur = text ? json_loads(text, 0, NULL) : NULL;
  free(text);
  if (!cur) return lp_error_set(err, LP_EINTEGRITY, "%s: cannot read %s record %ld", t->path, fm->table, rowid);
  json_t *v = json_object_get(cur, q->field);
  if (!v) snprintf(old_value, n, "%s", "");
  else if (json_is_string(v))
    snprintf(old_value, n, "%s", json_string_value(v));
  else if (json_is_real(v))
    snprintf(old_value, n, "%.15g", json_real_value(v));
  else {
    char *d = json_dumps(v, JSON_ENCODE_ANY);
    snprintf(old_value, n, "%s", d ? d : "");
    free(d);
  }
  json_t *in = json_pack("{s:s}", "patient", q->patient);
  for (size_t i = 0; i < fm->nfields; i++)
    if ((fm->fields[i].flags & LP_FIELD_KEY) && strcmp(fm->fields[i].name, "patient") &&
        json_object_get(cur, fm->fields[i].name)) {
      json_t *kv = json_object_get(cur, fm->fields[i].name);
      /* keys as text too: the whole input is read as CSV cells are */
      char *d = json_is_string(kv) ? NULL : json_dumps(kv, JSON_ENCODE_ANY);
      json_object_set_new(in, fm->fields[i].name, json_string(d ? d : json_string_value(kv)));
      free(d);
    }
  if (kind == LP_RECORD_AE) {
    char idt[32];
    snprintf(idt, sizeof idt, "%ld", rowid);
    json_object_set_new(in, "id", json_integer(rowid));
    (void)idt;
  }
  json_object_set_new(in, q->field, *value ? json_string(value) : json_null());
  json_decref(cur);
  *row = in;
  return LP_OK;
}

static lp_status query_update_answer(lp_trial *t, const lp_query *q, const char *text, const char *old_value,
                                     const char *value, const char *user, lp_error *err) {
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "UPDATE queries SET state='answered', answer=?1, answered_at=?2, answered_by=?3, old_value=?4,"
                  " new_value=?5 WHERE id=?6",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
  if (value) {
    sqlite3_bind_text(st, 4, old_value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, value, -1, SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(st, 6, q->id);
  long id = q->id;
  return audited_write(t, "queries", &id, st, q->patient, user,
                       value ? "query answered by correcting the value" : "query answered by an explanation",
                       "answering a query", err);
}

lp_status lp_query_answer(lp_trial *t, long id, const char *text, const char *value, const char *reason,
                          const char *user, lp_findings *out, lp_error *err) {
  if (!text || !*text) return lp_error_at(err, LP_EINVAL, NULL, 0, "text", "an answer needs its text");
  if (strlen(text) > 500) return lp_error_at(err, LP_EINVAL, NULL, 0, "text", "an answer has at most 500 bytes");
  if (value && (!reason || !*reason))
    return lp_error_at(err, LP_EINVAL, NULL, 0, "reason", "a corrected value needs a reason for the change");
  if (value && strlen(value) > 120) return lp_error_at(err, LP_EINVAL, NULL, 0, "value", "value too long");
  lp_query q;
  long site_id;
  char old_value[128] = "";
  json_t *row = NULL;
  lp_status s = lp__begin(t, err);
  if (s) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = query_read(t, id, &q, &site_id, err)) ||
      (s = lp__user_may(t, user, LP_DO_QUERY_ANSWER, site_id, "answer data queries", err)))
    goto fail;
  if (q.state != LP_QUERY_OPEN) {
    s = lp_error_set(
        err, LP_ESTATE, "query %ld is %s%s", id, lp_query_state_name(q.state),
        q.state == LP_QUERY_ANSWERED ? " already: a monitor closes or re-opens it" : ": a monitor may re-open it");
    goto fail;
  }
  if (value && (s = correction_row(t, &q, value, &row, old_value, sizeof old_value, err))) goto fail;
  if ((s = query_update_answer(t, &q, text, old_value, value, user, err))) {
    json_decref(row);
    goto fail;
  }
  if (row) {
    char source[48];
    snprintf(source, sizeof source, "query %ld", id);
    lp_findings *keep = t->findings;
    t->findings = out;
    lp_record_kind kind;
    lp_record_kind_parse(q.form, &kind, NULL);
    s = lp__record_row(t, kind, row, source, user, reason, err);
    t->findings = keep;
    json_decref(row);
    if (s) goto fail;
  }
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

static lp_status query_move(lp_trial *t, long id, const char *text, const char *user, bool reopen, lp_error *err) {
  if (text && strlen(text) > 500) return lp_error_at(err, LP_EINVAL, NULL, 0, "text", "text has at most 500 bytes");
  lp_query q;
  long site_id;
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  lp_status s = lp__begin(t, err);
  if (s) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = query_read(t, id, &q, &site_id, err)) ||
      (s = lp__user_may(t, user, LP_DO_QUERY_CLOSE, site_id, reopen ? "re-open data queries" : "close data queries",
                        err)))
    goto fail;
  if (reopen ? q.state == LP_QUERY_OPEN : q.state == LP_QUERY_CLOSED) {
    s = lp_error_set(err, LP_ESTATE, "query %ld is %s already", id, lp_query_state_name(q.state));
    goto fail;
  }
  if (lp__prepare(t,
                  reopen ? "UPDATE queries SET state='open', reopened=reopened+1, reopen_text=?1, closed_at=NULL,"
                           " closed_by=NULL WHERE id=?4"
                         : "UPDATE queries SET state='closed', closed_at=?2, closed_by=?3 WHERE id=?4",
                  &st, err)) {
    s = LP_EDB;
    goto fail;
  }
  if (reopen && text && *text) sqlite3_bind_text(st, 1, text, -1, SQLITE_TRANSIENT);
  else {
    sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
  }
  sqlite3_bind_int64(st, 4, id);
  char reason[600];
  snprintf(reason, sizeof reason, "query %s%s%s", reopen ? "re-opened" : "closed", text && *text ? ": " : "",
           text ? text : "");
  if ((s = audited_write(t, "queries", &id, st, q.patient, user, reason, "changing a query", err))) goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

lp_status lp_query_close(lp_trial *t, long id, const char *text, const char *user, lp_error *err) {
  return query_move(t, id, text, user, false, err);
}

lp_status lp_query_reopen(lp_trial *t, long id, const char *text, const char *user, lp_error *err) {
  return query_move(t, id, text, user, true, err);
}

/* ---- source data verification ---- */

lp_status lp_form_verify(lp_trial *t, const char *patient, lp_record_kind form, int day, long record, const char *user,
                         lp_error *err) {
  if ((unsigned)form >= LP_RECORD_COUNT) return lp_error_set(err, LP_EINVAL, "unknown record kind");
  if (form != LP_RECORD_DAILY) day = 0;
  if (form != LP_RECORD_AE) record = 0;
  const char *name = lp_record_kind_name(form);
  long site_id, rowid;
  char site[64], now[40], where[64];
  instance_words(name, day, record, where, sizeof where);
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  long id = 0;
  lp_status s = lp__begin(t, err);
  if (s) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = patient_site(t, patient, &site_id, site, err)) ||
      (s = lp__user_may(t, user, LP_DO_VERIFY, site_id, "verify source data", err)) ||
      (s = form_row(t, form, patient, day, record, &rowid, err)))
    goto fail;
  if (lp__prepare(t,
                  "SELECT verified_by, verified_at FROM verifications WHERE patient=? AND form=? AND day=? AND"
                  " record=? AND cleared_at IS NULL",
                  &st, err)) {
    s = LP_EDB;
    goto fail;
  }
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, day);
  sqlite3_bind_int64(st, 4, record);
  if (sqlite3_step(st) == SQLITE_ROW) {
    s = lp_error_set(err, LP_ESTATE, "patient %s's %s form was verified by %s at %s already", patient, where,
                     col(st, 0), col(st, 1));
    lp__finalize(t, st);
    goto fail;
  }
  lp__finalize(t, st);
  if (lp__prepare(t,
                  "INSERT INTO verifications(patient, form, day, record, verified_at, verified_by)"
                  " VALUES(?,?,?,?,?,?)",
                  &st, err)) {
    s = LP_EDB;
    goto fail;
  }
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, day);
  sqlite3_bind_int64(st, 4, record);
  sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, user, -1, SQLITE_TRANSIENT);
  if ((s = audited_write(t, "verifications", &id, st, patient, user, "source data verified", "recording a verification",
                         err)))
    goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

/* Clear the form instance's verification; note1 says so. */
static lp_status clear_verification(lp_trial *t, const char *form, const char *patient, int day, long record,
                                    const char *user, const char *reason, const char *now, char *note, size_t n,
                                    lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT id, verified_by, verified_at FROM verifications WHERE patient=? AND form=? AND day=? AND"
                  " record=? AND cleared_at IS NULL",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, form, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 3, day);
  sqlite3_bind_int64(st, 4, record);
  long id = 0;
  char by[64] = "", at[40] = "", where[64];
  if (sqlite3_step(st) == SQLITE_ROW) {
    id = (long)sqlite3_column_int64(st, 0);
    snprintf(by, sizeof by, "%s", col(st, 1));
    snprintf(at, sizeof at, "%s", col(st, 2));
  }
  lp__finalize(t, st);
  if (!id) return LP_OK;
  if (lp__prepare(t, "UPDATE verifications SET cleared_at=?, cleared_by=?, cleared_reason=? WHERE id=?", &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, reason ? reason : "data entry", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, id);
  char why[400];
  snprintf(why, sizeof why, "source data verification cleared by a change: %s", reason ? reason : "data entry");
  lp_status s = audited_write(t, "verifications", &id, st, patient, user, why, "clearing a verification", err);
  if (s) return s;
  instance_words(form, day, record, where, sizeof where);
  char when[40];
  minute_words(at, when, sizeof when);
  snprintf(note, n, "patient %s's %s form was verified by %s at %s: this change clears the verification", patient,
           where, by, when);
  return LP_OK;
}

static lp_status invalidate_signature(lp_trial *t, const char *patient, const char *user, const char *reason,
                                      const char *now, char *note, size_t n, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT id, signer, signed_at FROM signatures WHERE scope='casebook' AND patient=? AND"
                  " invalidated_at IS NULL",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  long ids[8];
  size_t k = 0;
  char by[64] = "", at[40] = "";
  while (k < 8 && sqlite3_step(st) == SQLITE_ROW) {
    ids[k++] = (long)sqlite3_column_int64(st, 0);
    snprintf(by, sizeof by, "%s", col(st, 1));
    snprintf(at, sizeof at, "%s", col(st, 2));
  }
  lp__finalize(t, st);
  for (size_t i = 0; i < k; i++) {
    if (lp__prepare(t, "UPDATE signatures SET invalidated_at=?, invalidated_by=?, invalidated_reason=? WHERE id=?", &st,
                    err))
      return LP_EDB;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, reason ? reason : "data entry", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, ids[i]);
    lp_status s = audited_write(t, "signatures", &ids[i], st, patient, user, "signature invalidated by a change",
                                "invalidating a signature", err);
    if (s) return s;
  }
  if (k) {
    char when[40];
    minute_words(at, when, sizeof when);
    snprintf(note, n, "patient %s's casebook was signed by %s at %s: this change invalidates the signature", patient,
             by, when);
  }
  return LP_OK;
}

lp_status lp__form_changed(lp_trial *t, lp_record_kind kind, const char *patient, int day, long record,
                           const char *user, const char *reason, char *note1, size_t n1, char *note2, size_t n2,
                           lp_error *err) {
  note1[0] = note2[0] = '\0';
  if (kind != LP_RECORD_DAILY) day = 0;
  if (kind != LP_RECORD_AE) record = 0;
  char now[40];
  lp__now(t, now, sizeof now);
  lp_status s =
      clear_verification(t, lp_record_kind_name(kind), patient, day, record, user, reason, now, note1, n1, err);
  if (s) return s;
  return invalidate_signature(t, patient, user, reason, now, note2, n2, err);
}

lp_status lp__queries_record_deleted(lp_trial *t, lp_record_kind kind, const char *patient, int day, long record,
                                     const char *user, const char *reason, lp_error *err) {
  if (kind != LP_RECORD_DAILY) day = 0;
  if (kind != LP_RECORD_AE && kind != LP_RECORD_INFUSION) record = 0;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT id FROM queries WHERE patient=? AND form=? AND day=? AND record=? AND state!='closed'"
                  " ORDER BY id",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, lp_record_kind_name(kind), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 3, day);
  sqlite3_bind_int64(st, 4, record);
  long ids[256];
  size_t n = 0;
  while (n < 256 && sqlite3_step(st) == SQLITE_ROW) ids[n++] = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  char now[40], why[700];
  lp__now(t, now, sizeof now);
  snprintf(why, sizeof why, "query closed: the record was deleted (%s)", reason ? reason : "");
  for (size_t i = 0; i < n; i++) {
    if (lp__prepare(t, "UPDATE queries SET state='closed', closed_at=?, closed_by=? WHERE id=?", &st, err))
      return LP_EDB;
    sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, ids[i]);
    lp_status s = audited_write(t, "queries", &ids[i], st, patient, user, why, "closing a query", err);
    if (s) return s;
  }
  return LP_OK;
}

/* ---- principal investigators ---- */

lp_status lp_site_pi_set(lp_trial *t, const char *by, const char *name, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s = lp__begin(t, err);
  if (s) return s;
  long uid = 0, site_id = 0, row = 0;
  char role[32] = "", now[40];
  lp__now(t, now, sizeof now);
  if ((s = lp__check_unlocked(t, err)) ||
      (s = lp__user_may(t, by, LP_DO_MANAGE_USERS, 0, "mark principal investigators", err)))
    goto fail;
  if (lp__prepare(t, "SELECT id, role, coalesce(site_id,0) FROM users WHERE name=?", &st, err)) {
    s = LP_EDB;
    goto fail;
  }
  sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) == SQLITE_ROW) {
    uid = (long)sqlite3_column_int64(st, 0);
    snprintf(role, sizeof role, "%s", col(st, 1));
    site_id = (long)sqlite3_column_int64(st, 2);
  }
  lp__finalize(t, st);
  if (!uid) {
    s = lp_error_set(err, LP_ENOTFOUND, "%s: user '%s' is not registered in this trial", t->path, name);
    goto fail;
  }
  if (strcmp(role, "investigator") || !site_id) {
    s = lp_error_set(err, LP_EINVAL,
                     "user '%s' is a %s: only an investigator of a site can be its principal "
                     "investigator",
                     name, role);
    goto fail;
  }
  if ((s = lp__two_counts(t, "SELECT coalesce((SELECT id FROM site_pis WHERE site_id=?1),0), 0", site_id, &row,
                          &(long){0}, "looking up the principal investigator", err)))
    goto fail;
  if (lp__prepare(t,
                  row ? "UPDATE site_pis SET user_id=?1, marked_at=?2, marked_by=?3 WHERE id=?5"
                      : "INSERT INTO site_pis(user_id, marked_at, marked_by, site_id) VALUES(?1,?2,?3,?4)",
                  &st, err)) {
    s = LP_EDB;
    goto fail;
  }
  sqlite3_bind_int64(st, 1, uid);
  sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, site_id);
  sqlite3_bind_int64(st, 5, row);
  if ((s = audited_write(t, "site_pis", &row, st, NULL, by, "principal investigator of the site",
                         "marking the principal investigator", err)))
    goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

bool lp_user_is_pi(lp_trial *t, const char *name) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT 1 FROM site_pis p JOIN users u ON u.id=p.user_id WHERE u.name=?", &st, NULL)) return false;
  sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_TRANSIENT);
  bool yes = sqlite3_step(st) == SQLITE_ROW;
  lp__finalize(t, st);
  return yes;
}

/* ---- signatures ---- */

/* SHA-256 of every clinical record of the patient (table, canonical row), in table
 * and id order: what a casebook signature is bound to. */
static lp_status casebook_hash(lp_trial *t, const char *patient, char hex[65], lp_error *err) {
  static const char *const tables[] = {"patients", "daily", "infusions", "outcomes", "adverse_events"};
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  crypto_hash_sha256_update(&h, (const uint8_t *)patient, strlen(patient) + 1);
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=? ORDER BY id", tables[i]);
    sqlite3_stmt *st;
    if (lp__prepare(t, sql, &st, err)) return LP_EDB;
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
    long ids[4096];
    size_t n = 0;
    while (n < 4096 && sqlite3_step(st) == SQLITE_ROW) ids[n++] = (long)sqlite3_column_int64(st, 0);
    lp__finalize(t, st);
    for (size_t k = 0; k < n; k++) {
      char *row = NULL;
      lp_status s = lp__row_json(t, tables[i], ids[k], &row, err);
      if (s) return s;
      crypto_hash_sha256_update(&h, (const uint8_t *)tables[i], strlen(tables[i]) + 1);
      if (row) crypto_hash_sha256_update(&h, (const uint8_t *)row, strlen(row) + 1);
      free(row);
    }
  }
  uint8_t d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&h, d);
  lp__hex(d, sizeof d, hex);
  return LP_OK;
}

/* The signature's manifestation in words (21 CFR 11.50): printed name, role, time and
 * meaning; a signature without a full name says that the account name stands for it. */
static void manifestation(lp_signature *g) {
  snprintf(g->state, sizeof g->state, "signed by %s (%s%s) at %s: \"%s\"", g->printed_name, g->role,
           g->account_name ? "; account name shown: no full name recorded" : "", g->signed_at, g->meaning);
}

/* The printed name of `user`: the full name, or the account name (*account true). */
static lp_status printed_name(lp_trial *t, const char *user, char out[128], bool *account, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT full_name FROM users WHERE name=?", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
  out[0] = '\0';
  if (sqlite3_step(st) == SQLITE_ROW) snprintf(out, 128, "%s", col(st, 0));
  lp__finalize(t, st);
  *account = !out[0];
  if (*account) snprintf(out, 128, "%s", user);
  return LP_OK;
}

static lp_status insert_signature(lp_trial *t, const char *scope, const char *patient, const char *user,
                                  const char *role, const char *meaning, const char *hash, lp_signature *out,
                                  lp_error *err) {
  char now[40], name[128];
  bool account;
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if (printed_name(t, user, name, &account, err)) return LP_EDB;
  if (lp__prepare(t,
                  "INSERT INTO signatures(scope, patient, signer, printed_name, role, meaning, signed_at, content_hash)"
                  " VALUES(?,?,?,?,?,?,?,?)",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
  if (patient) sqlite3_bind_text(st, 2, patient, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 5, role, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 6, meaning, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 8, hash, -1, SQLITE_TRANSIENT);
  long id = 0;
  char reason[200];
  snprintf(reason, sizeof reason, "electronic signature: %s", meaning);
  lp_status s = audited_write(t, "signatures", &id, st, patient, user, reason, "recording a signature", err);
  if (s || !out) return s;
  memset(out, 0, sizeof *out);
  out->id = id;
  snprintf(out->scope, sizeof out->scope, "%s", scope);
  snprintf(out->patient, sizeof out->patient, "%s", patient ? patient : "");
  snprintf(out->signer, sizeof out->signer, "%s", user);
  snprintf(out->printed_name, sizeof out->printed_name, "%s", name);
  out->account_name = account;
  snprintf(out->role, sizeof out->role, "%s", role);
  snprintf(out->meaning, sizeof out->meaning, "%s", meaning);
  snprintf(out->signed_at, sizeof out->signed_at, "%s", now);
  snprintf(out->content_hash, sizeof out->content_hash, "%s", hash);
  out->valid = true;
  manifestation(out);
  return LP_OK;
}

static lp_status confirm(lp_trial *t, const lp_account_policy *policy, const char *user, const char *password,
                         lp_error *err) {
  lp_account_policy def;
  if (!policy) {
    lp_account_policy_default(&def);
    policy = &def;
  }
  lp_status s = lp_password_confirm(t, policy, user, password, err);
  if (s && err) snprintf(err->field, sizeof err->field, "password");
  return s;
}

lp_status lp_casebook_sign(lp_trial *t, const lp_account_policy *policy, const char *patient, const char *user,
                           const char *password, lp_signature *out, lp_error *err) {
  long site_id;
  char site[64], role[96], hash[65];
  lp_status s;
  if ((s = patient_site(t, patient, &site_id, site, err)) ||
      (s = lp__user_may(t, user, LP_DO_SIGN, site_id, "sign casebooks", err)))
    return s;
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT 1 FROM site_pis p JOIN users u ON u.id=p.user_id WHERE u.name=? AND p.site_id=?", &st,
                  err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, site_id);
  bool pi = sqlite3_step(st) == SQLITE_ROW;
  lp__finalize(t, st);
  if (!pi)
    return lp_error_set(err, LP_EDENIED,
                        "user '%s' is not the principal investigator of site %s and may not sign "
                        "casebooks",
                        user, site);
  if ((s = confirm(t, policy, user, password, err))) return s;
  snprintf(role, sizeof role, "principal investigator, site %s", site);
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = casebook_hash(t, patient, hash, err)) ||
      (s = insert_signature(t, "casebook", patient, user, role, LP_CASEBOOK_MEANING, hash, out, err))) {
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}

lp_status lp_signature_get(lp_trial *t, const char *patient, lp_signature *out, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  patient ? "SELECT id, scope, coalesce(patient,''), signer, printed_name, role, meaning, signed_at,"
                            " content_hash, invalidated_at, invalidated_by FROM signatures WHERE scope='casebook' AND"
                            " patient=?1 ORDER BY id DESC LIMIT 1"
                          : "SELECT id, scope, coalesce(patient,''), signer, printed_name, role, meaning, signed_at,"
                            " content_hash, invalidated_at, invalidated_by FROM signatures WHERE scope='lock'"
                            " ORDER BY id DESC LIMIT 1",
                  &st, err))
    return LP_EDB;
  if (patient) sqlite3_bind_text(st, 1, patient, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    lp__finalize(t, st);
    if (rc != SQLITE_DONE) return lp__db_fail(t, err, "reading signatures");
    return lp_error_set(err, LP_ENOTFOUND,
                        patient ? "patient %s's casebook has not been signed" : "%sthe lock has not been signed",
                        patient ? patient : "");
  }
  memset(out, 0, sizeof *out);
  out->id = (long)sqlite3_column_int64(st, 0);
  snprintf(out->scope, sizeof out->scope, "%s", col(st, 1));
  snprintf(out->patient, sizeof out->patient, "%s", col(st, 2));
  snprintf(out->signer, sizeof out->signer, "%s", col(st, 3));
  snprintf(out->printed_name, sizeof out->printed_name, "%s", col(st, 4));
  snprintf(out->role, sizeof out->role, "%s", col(st, 5));
  snprintf(out->meaning, sizeof out->meaning, "%s", col(st, 6));
  snprintf(out->signed_at, sizeof out->signed_at, "%s", col(st, 7));
  snprintf(out->content_hash, sizeof out->content_hash, "%s", col(st, 8));
  snprintf(out->invalidated_at, sizeof out->invalidated_at, "%s", col(st, 9));
  snprintf(out->invalidated_by, sizeof out->invalidated_by, "%s", col(st, 10));
  lp__finalize(t, st);
  out->valid = !out->invalidated_at[0];
  bool changed = false;
  if (out->valid && patient) {
    char hash[65];
    lp_status s = casebook_hash(t, patient, hash, err);
    if (s) return s;
    changed = strcmp(hash, out->content_hash) != 0;
    out->valid = !changed;
  }
  /* a signature made without a full name carries the account name as its printed name */
  out->account_name = !strcmp(out->printed_name, out->signer);
  if (out->valid) manifestation(out);
  else if (changed)
    snprintf(out->state, sizeof out->state, "signature invalidated: the signed content has changed since %s",
             out->signed_at);
  else
    snprintf(out->state, sizeof out->state, "signature invalidated by a change on %s (by %s)", out->invalidated_at,
             out->invalidated_by);
  return LP_OK;
}

/* ---- lock ---- */

static lp_status audit_head(lp_trial *t, char hex[65], lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT hash FROM audit ORDER BY id DESC LIMIT 1", &st, err)) return LP_EDB;
  hex[0] = '\0';
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) lp__hex(sqlite3_column_blob(st, 0), 32, hex);
  lp__finalize(t, st);
  return LP_OK;
}

lp_status lp_trial_lock_with(lp_trial *t, const lp_lock_options *o, lp_signature *sig, bool *signed_out,
                             lp_error *err) {
  const char *user = o ? o->user : NULL;
  lp_status s;
  if (signed_out) *signed_out = false;
  if ((s = lp__user_may(t, user, LP_DO_LOCK, 0, "lock the database", err))) return s;
  lp_user_info ui;
  bool sign = !lp_user_get(t, user, &ui, NULL) && ui.has_password;
  if (sign && (!o->password || !*o->password))
    return lp_error_at(err, LP_EDENIED, NULL, 0, "password",
                       "the lock is signed electronically: the password of %s is required", user);
  if (sign && (s = confirm(t, o->policy, user, o->password, err))) return s;
  long open = 0, answered = 0;
  char now[40], head[65], why[700];
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err)) || (s = lp_query_unresolved(t, &open, &answered, err))) goto fail;
  if (open + answered > 0) {
    const char *ov = o->override_reason;
    if (!ov || !*ov) {
      s = lp_error_set(err, LP_ESTATE,
                       "%ld quer%s not closed (%ld open, %ld answered): close %s first, or lock with an "
                       "override reason",
                       open + answered, open + answered == 1 ? "y is" : "ies are", open, answered,
                       open + answered == 1 ? "it" : "them");
      goto fail;
    }
    snprintf(why, sizeof why, "database locked with %ld queries not closed (%ld open, %ld answered): %s",
             open + answered, open, answered, ov);
    if ((s = lp__meta_set(t, "lock_override", ov, user, why, err))) goto fail;
  }
  lp__now(t, now, sizeof now);
  if ((s = lp__meta_set(t, "locked_by", user, user, "database lock", err)) ||
      (s = lp__meta_set(t, "locked_at", now, user, "database lock", err)))
    goto fail;
  if (sign) {
    char role[64];
    snprintf(role, sizeof role, "%s", lp_role_name(ui.role));
    if ((s = audit_head(t, head, err)) ||
        (s = insert_signature(t, "lock", NULL, user, role, LP_LOCK_MEANING, head, sig, err)))
      goto fail;
    if (signed_out) *signed_out = true;
  }
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

/* ---- verification progress ---- */

void lp_sdv_report_clear(lp_sdv_report *r) {
  if (!r) return;
  free(r->sites);
  free(r->patients);
  free(r->forms);
  memset(r, 0, sizeof *r);
}

static bool grow(void **p, size_t n, size_t *cap, size_t size) {
  if (n < *cap) return true;
  size_t c = *cap ? 2 * *cap : 32;
  void *q = realloc(*p, c * size);
  if (!q) return false;
  *p = q;
  *cap = c;
  return true;
}

static const char *const sdv_forms_sql =
    "WITH f(patient, form, day, record, ord) AS ("
    " SELECT patient, 'baseline', 0, 0, 0 FROM patients"
    " UNION ALL SELECT DISTINCT patient, 'infusion', 0, 0, 1 FROM infusions"
    " UNION ALL SELECT patient, 'daily', day, 0, 2 FROM daily"
    " UNION ALL SELECT patient, 'outcome', 0, 0, 3 FROM outcomes"
    " UNION ALL SELECT patient, 'ae', 0, id, 4 FROM adverse_events)"
    " SELECT f.patient, s.code, f.form, f.day, f.record, v.verified_at, v.verified_by,"
    " c.cleared_at, c.cleared_by, c.cleared_reason"
    " FROM f JOIN randomisations r ON r.patient=f.patient JOIN sites s ON s.id=r.site_id"
    " LEFT JOIN verifications v ON v.patient=f.patient AND v.form=f.form AND v.day=f.day AND v.record=f.record"
    " AND v.cleared_at IS NULL"
    " LEFT JOIN verifications c ON c.id=(SELECT max(id) FROM verifications x WHERE x.patient=f.patient AND"
    " x.form=f.form AND x.day=f.day AND x.record=f.record AND x.cleared_at IS NOT NULL)"
    " WHERE (?1 IS NULL OR s.code=?1) AND (?2 IS NULL OR f.patient=?2)"
    " ORDER BY s.code, f.patient, f.ord, f.day, f.record";

static const char *const sdv_patients_sql =
    "SELECT r.patient, s.code, (SELECT count(*) FROM queries q WHERE q.patient=r.patient AND q.state='open'),"
    " (SELECT count(*) FROM queries q WHERE q.patient=r.patient AND q.state='answered'),"
    " EXISTS(SELECT 1 FROM signatures g WHERE g.scope='casebook' AND g.patient=r.patient)"
    " FROM randomisations r JOIN sites s ON s.id=r.site_id"
    " WHERE (?1 IS NULL OR s.code=?1) AND (?2 IS NULL OR r.patient=?2) ORDER BY s.code, r.patient";

static lp_status sdv_read_forms(lp_trial *t, const char *site, const char *patient, lp_sdv_report *r, lp_error *err) {
  sqlite3_stmt *st;
  size_t cap = 0;
  if (lp__prepare(t, sdv_forms_sql, &st, err)) return LP_EDB;
  if (site) sqlite3_bind_text(st, 1, site, -1, SQLITE_TRANSIENT);
  if (patient) sqlite3_bind_text(st, 2, patient, -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!grow((void **)&r->forms, r->nforms, &cap, sizeof *r->forms)) {
      lp__finalize(t, st);
      return lp_error_set(err, LP_ENOMEM, "out of memory");
    }
    lp_sdv_form *f = &r->forms[r->nforms++];
    memset(f, 0, sizeof *f);
    snprintf(f->patient, sizeof f->patient, "%s", col(st, 0));
    snprintf(f->site, sizeof f->site, "%s", col(st, 1));
    snprintf(f->form, sizeof f->form, "%s", col(st, 2));
    f->day = sqlite3_column_int(st, 3);
    f->record = (long)sqlite3_column_int64(st, 4);
    f->verified = sqlite3_column_type(st, 5) != SQLITE_NULL;
    snprintf(f->verified_at, sizeof f->verified_at, "%s", col(st, 5));
    snprintf(f->verified_by, sizeof f->verified_by, "%s", col(st, 6));
    snprintf(f->cleared_at, sizeof f->cleared_at, "%s", col(st, 7));
    snprintf(f->cleared_by, sizeof f->cleared_by, "%s", col(st, 8));
    snprintf(f->cleared_reason, sizeof f->cleared_reason, "%s", col(st, 9));
  }
  lp__finalize(t, st);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, "reading source data verifications");
}

static lp_status sdv_read_patients(lp_trial *t, const char *site, const char *patient, lp_sdv_report *r,
                                   lp_error *err) {
  sqlite3_stmt *st;
  size_t cap = 0, fi = 0;
  lp_status s = LP_OK;
  if (lp__prepare(t, sdv_patients_sql, &st, err)) return LP_EDB;
  if (site) sqlite3_bind_text(st, 1, site, -1, SQLITE_TRANSIENT);
  if (patient) sqlite3_bind_text(st, 2, patient, -1, SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (!grow((void **)&r->patients, r->npatients, &cap, sizeof *r->patients)) {
      s = lp_error_set(err, LP_ENOMEM, "out of memory");
      break;
    }
    lp_sdv_patient *p = &r->patients[r->npatients++];
    memset(p, 0, sizeof *p);
    snprintf(p->patient, sizeof p->patient, "%s", col(st, 0));
    snprintf(p->site, sizeof p->site, "%s", col(st, 1));
    p->queries_open = (long)sqlite3_column_int64(st, 2);
    p->queries_answered = (long)sqlite3_column_int64(st, 3);
    if (sqlite3_column_int(st, 4)) p->signed_valid = true; /* its state is read below */
    /* the forms come in the same order (site, patient) */
    while (fi < r->nforms && !strcmp(r->forms[fi].patient, p->patient)) {
      p->forms++;
      p->verified += r->forms[fi].verified;
      fi++;
    }
  }
  lp__finalize(t, st);
  if (!s && rc != SQLITE_DONE) s = lp__db_fail(t, err, "reading patients");
  return s;
}

lp_status lp_sdv_report_make(lp_trial *t, const char *site, const char *patient, lp_sdv_report *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  lp_status s;
  if ((s = sdv_read_forms(t, site, patient, out, err)) || (s = sdv_read_patients(t, site, patient, out, err))) {
    lp_sdv_report_clear(out);
    return s;
  }
  snprintf(out->total.site, sizeof out->total.site, "all");
  size_t cap = 0;
  for (size_t i = 0; i < out->npatients; i++) {
    lp_sdv_patient *p = &out->patients[i];
    if (p->signed_valid) {
      lp_signature g;
      if ((s = lp_signature_get(t, p->patient, &g, err))) {
        lp_sdv_report_clear(out);
        return s;
      }
      p->signed_valid = g.valid;
      snprintf(p->signature, sizeof p->signature, "%s", g.state);
    }
    if (!out->nsites || strcmp(out->sites[out->nsites - 1].site, p->site)) {
      if (!grow((void **)&out->sites, out->nsites, &cap, sizeof *out->sites)) {
        lp_sdv_report_clear(out);
        return lp_error_set(err, LP_ENOMEM, "out of memory");
      }
      memset(&out->sites[out->nsites], 0, sizeof *out->sites);
      snprintf(out->sites[out->nsites++].site, sizeof out->sites->site, "%s", p->site);
    }
    lp_sdv_site *ss[2] = {&out->sites[out->nsites - 1], &out->total};
    for (int k = 0; k < 2; k++) {
      ss[k]->patients++;
      ss[k]->forms += p->forms;
      ss[k]->verified += p->verified;
      ss[k]->signed_valid += p->signed_valid;
    }
  }
  return LP_OK;
}
