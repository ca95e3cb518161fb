/* The audit trail: every create, change and delete of a trial row is appended with
 * user, time, reason and the row's old and new canonical content; each entry's
 * BLAKE2b hash covers the previous entry's hash, so verification names the first
 * edited, removed or reordered entry and every trial row changed outside leopards. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <leopards/strbuf.h>

#include "trial/trial_internal.h"

const char *const lp__audited_tables[] = {
    "meta",     "sites", "users",     "screening", "slots",          "randomisations",
    "unblindings", "patients", "daily", "infusions", "outcomes", "adverse_events",
    "accounts", "sessions", "refusals"};
const size_t lp__naudited_tables = sizeof lp__audited_tables / sizeof lp__audited_tables[0];

bool lp__is_audited(const char *table) {
  for (size_t i = 0; i < lp__naudited_tables; i++)
    if (!strcmp(table, lp__audited_tables[i])) return true;
  return false;
}

static void sb_json_string(lp_strbuf *b, const char *s, size_t n) {
  lp_strbuf_put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    switch (c) {
    case '"': lp_strbuf_puts(b, "\\\""); break;
    case '\\': lp_strbuf_puts(b, "\\\\"); break;
    case '\n': lp_strbuf_puts(b, "\\n"); break;
    case '\r': lp_strbuf_puts(b, "\\r"); break;
    case '\t': lp_strbuf_puts(b, "\\t"); break;
    default:
      if (c < 0x20) {
        snprintf(esc, sizeof esc, "\\u%04x", c);
        lp_strbuf_puts(b, esc);
      } else {
        lp_strbuf_put(b, (const char *)&s[i], 1);
      }
    }
  }
  lp_strbuf_put(b, "\"", 1);
}

/* Shortest of %.15g, %.16g, %.17g that reads back to the same double, always with a
 * decimal point or exponent so that a real never looks like an integer. */
void lp__fmt_real(double x, char *buf, size_t n) {
  if (!isfinite(x)) {
    snprintf(buf, n, "%s", isnan(x) ? "NaN" : (x > 0 ? "Infinity" : "-Infinity"));
    return;
  }
  for (int d = 15; d <= 17; d++) {
    snprintf(buf, n, "%.*g", d, x);
    if (strtod(buf, NULL) == x) break;
  }
  if (!strpbrk(buf, ".eE")) {
    size_t k = strlen(buf);
    if (k + 2 < n) memcpy(buf + k, ".0", 3);
  }
}

/* Canonical JSON of the current row of a `SELECT *` statement. */
static void row_json_from_stmt(sqlite3_stmt *st, lp_strbuf *b) {
  int nc = sqlite3_column_count(st);
  bool first = true;
  lp_strbuf_put(b, "{", 1);
  for (int c = 0; c < nc; c++) {
    int type = sqlite3_column_type(st, c);
    if (type == SQLITE_NULL) continue;
    if (!first) lp_strbuf_put(b, ",", 1);
    first = false;
    const char *name = sqlite3_column_name(st, c);
    sb_json_string(b, name, strlen(name));
    lp_strbuf_put(b, ":", 1);
    char num[64];
    switch (type) {
    case SQLITE_INTEGER:
      snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, c));
      lp_strbuf_puts(b, num);
      break;
    case SQLITE_FLOAT:
      lp__fmt_real(sqlite3_column_double(st, c), num, sizeof num);
      if (!isfinite(sqlite3_column_double(st, c))) sb_json_string(b, num, strlen(num));
      else lp_strbuf_puts(b, num);
      break;
    case SQLITE_TEXT:
      sb_json_string(b, (const char *)sqlite3_column_text(st, c), (size_t)sqlite3_column_bytes(st, c));
      break;
    default: {
      const uint8_t *p = sqlite3_column_blob(st, c);
      size_t len = (size_t)sqlite3_column_bytes(st, c);
      lp_strbuf_puts(b, "{\"blob\":\"");
      char h[3];
      for (size_t i = 0; i < len; i++) {
        snprintf(h, sizeof h, "%02x", p[i]);
        lp_strbuf_put(b, h, 2);
      }
      lp_strbuf_puts(b, "\"}");
    }
    }
  }
  lp_strbuf_put(b, "}", 1);
}

lp_status lp__row_json(lp_trial *t, const char *table, long rowid, char **out, lp_error *err) {
  *out = NULL;
  if (!lp__is_audited(table))
    return lp_error_set(err, LP_EINVAL, "internal: table '%s' is not audited", table);
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" WHERE id=?", table);
  sqlite3_stmt *st;
  if (lp__prepare(t, sql, &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, rowid);
  int rc = sqlite3_step(st);
  lp_strbuf b = {0};
  if (rc == SQLITE_ROW) row_json_from_stmt(st, &b);
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    free(b.p);
    return lp__db_fail(t, err, "reading a row for the audit trail");
  }
  if (b.nomem) {
    free(b.p);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  *out = b.p;
  return LP_OK;
}

/* ---- the chain ---- */

static void h_bytes(crypto_generichash_state *h, const void *p, size_t n) {
  crypto_generichash_update(h, p, n);
}
static void h_int(crypto_generichash_state *h, long long v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)((unsigned long long)v >> (8 * i));
  h_bytes(h, b, 8);
}
/* A field: presence byte, 8-byte length, bytes (so no two field lists collide). */
static void h_text(crypto_generichash_state *h, const char *s) {
  uint8_t present = s != NULL;
  h_bytes(h, &present, 1);
  if (!s) return;
  size_t n = strlen(s);
  h_int(h, (long long)n);
  h_bytes(h, s, n);
}

static void entry_hash(long id, const uint8_t prev[32], const char *at, const char *user,
                       const char *action, const char *tbl, long row, const char *patient,
                       const char *old, const char *new_, const char *reason, uint8_t out[32]) {
  static const char domain[] = "leopards audit entry v1";
  crypto_generichash_state h;
  crypto_generichash_init(&h, NULL, 0, 32);
  h_bytes(&h, domain, sizeof domain);
  h_int(&h, id);
  h_bytes(&h, prev, 32);
  h_text(&h, at);
  h_text(&h, user);
  h_text(&h, action);
  h_text(&h, tbl);
  h_int(&h, row);
  h_text(&h, patient);
  h_text(&h, old);
  h_text(&h, new_);
  h_text(&h, reason);
  crypto_generichash_final(&h, out, 32);
}

lp_status lp__audit_append(lp_trial *t, const char *table, long rowid, const char *action,
                           const char *old, const char *new_, const char *patient,
                           const char *user, const char *reason, lp_error *err) {
  sqlite3_stmt *st;
  uint8_t prev[32] = {0}, hash[32];
  long id = 1;
  if (lp__prepare(t, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", &st, err)) return LP_EDB;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    id = (long)sqlite3_column_int64(st, 0) + 1;
    if (sqlite3_column_bytes(st, 1) == 32) memcpy(prev, sqlite3_column_blob(st, 1), 32);
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the audit trail");
  char at[40];
  lp__now(t, at, sizeof at);
  entry_hash(id, prev, at, user, action, table, rowid, patient, old, new_, reason, hash);
  if (lp__prepare(t,
                  "INSERT INTO audit(id, at, user, action, tbl, row_id, patient, old, new, reason,"
                  " prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, action, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, table, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 6, rowid);
  if (patient) sqlite3_bind_text(st, 7, patient, -1, SQLITE_STATIC);
  if (old) sqlite3_bind_text(st, 8, old, -1, SQLITE_STATIC);
  if (new_) sqlite3_bind_text(st, 9, new_, -1, SQLITE_STATIC);
  if (reason) sqlite3_bind_text(st, 10, reason, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 11, prev, 32, SQLITE_STATIC);
  sqlite3_bind_blob(st, 12, hash, 32, SQLITE_STATIC);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "appending to the audit trail");
  return LP_OK;
}

/* The "patient" member of a row's canonical JSON, if any. */
static char *json_patient(const char *json) {
  if (!json) return NULL;
  json_t *j = json_loads(json, 0, NULL);
  char *p = NULL;
  const char *s = j ? json_string_value(json_object_get(j, "patient")) : NULL;
  if (s) p = strdup(s);
  json_decref(j);
  return p;
}

lp_status lp__audit_row(lp_trial *t, const char *table, long rowid, const char *old,
                        const char *patient, const char *user, const char *reason,
                        lp_error *err) {
  char *new_ = NULL;
  lp_status s = lp__row_json(t, table, rowid, &new_, err);
  if (s) return s;
  const char *action = !old ? "insert" : (new_ ? "update" : "delete");
  if (!old && !new_)
    return lp_error_set(err, LP_EINVAL, "internal: %s row %ld neither exists nor existed", table, rowid);
  if (old && new_ && !strcmp(old, new_)) { /* nothing changed: nothing to record */
    free(new_);
    return LP_OK;
  }
  char *pat = patient ? NULL : json_patient(new_ ? new_ : old);
  s = lp__audit_append(t, table, rowid, action, old, new_, patient ? patient : pat, user, reason, err);
  free(pat);
  free(new_);
  return s;
}

/* ---- verification ---- */

static void add_problem(lp_audit_report *r, long entry, const char *table, long row,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_problem(lp_audit_report *r, long entry, const char *table, long row,
                        const char *fmt, ...) {
  if (r->nproblems == sizeof r->problems / sizeof r->problems[0]) {
    r->more++;
    return;
  }
  lp_audit_problem *p = &r->problems[r->nproblems++];
  p->entry = entry;
  p->row = row;
  snprintf(p->table, sizeof p->table, "%s", table ? table : "");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->message, sizeof p->message, fmt, ap);
  va_end(ap);
}

static const char *col_text(sqlite3_stmt *st, int c) {
  return sqlite3_column_type(st, c) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, c);
}

static lp_status verify_chain(lp_trial *t, long anchor_entry, const char *anchor_hex,
                              lp_audit_report *r, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT id, at, user, action, tbl, row_id, patient, old, new, reason, prev_hash,"
                  " hash FROM audit ORDER BY id",
                  &st, err))
    return LP_EDB;
  uint8_t prev[32] = {0}, h[32];
  long expect = 1;
  bool anchor_seen = false;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    long id = (long)sqlite3_column_int64(st, 0);
    const char *action = col_text(st, 3), *tbl = col_text(st, 4);
    bool gap = false;
    if (id != expect) {
      gap = true;
      if (id > expect)
        add_problem(r, expect, NULL, 0,
                    "audit entry %ld%s%s is missing: the chain goes from entry %ld to entry %ld "
                    "(entries were deleted)",
                    expect, id - 1 > expect ? " to " : "", "", expect - 1, id);
      else
        add_problem(r, id, NULL, 0, "audit entry %ld is out of order", id);
    }
    const void *ph = sqlite3_column_blob(st, 10);
    int phn = sqlite3_column_bytes(st, 10);
    if (!gap && (phn != 32 || memcmp(ph, prev, 32)))
      add_problem(r, id, tbl, 0,
                  "audit entry %ld does not follow entry %ld: an entry was deleted, inserted "
                  "or reordered before it, or its link was edited",
                  id, id - 1);
    entry_hash(id, phn == 32 ? ph : prev, col_text(st, 1), col_text(st, 2), action, tbl,
               (long)sqlite3_column_int64(st, 5), col_text(st, 6), col_text(st, 7),
               col_text(st, 8), col_text(st, 9), h);
    const void *sh = sqlite3_column_blob(st, 11);
    int shn = sqlite3_column_bytes(st, 11);
    if (shn != 32 || memcmp(sh, h, 32))
      add_problem(r, id, tbl, (long)sqlite3_column_int64(st, 5),
                  "audit entry %ld (%s of %s row %lld at %s by %s) was altered: its content no "
                  "longer matches its hash",
                  id, action ? action : "?", tbl ? tbl : "?", (long long)sqlite3_column_int64(st, 5),
                  col_text(st, 1) ? col_text(st, 1) : "?", col_text(st, 2) ? col_text(st, 2) : "?");
    if (!action || (strcmp(action, "insert") && strcmp(action, "update") && strcmp(action, "delete")))
      add_problem(r, id, tbl, 0, "audit entry %ld has an unknown action '%s'", id, action ? action : "");
    if (!tbl || !lp__is_audited(tbl))
      add_problem(r, id, tbl, 0, "audit entry %ld names an unknown table '%s'", id, tbl ? tbl : "");
    if (shn == 32) memcpy(prev, sh, 32);
    else memcpy(prev, h, 32);
    if (anchor_entry == id) {
      anchor_seen = true;
      char hex[65];
      lp__hex(prev, 32, hex);
      if (!anchor_hex || strcmp(hex, anchor_hex))
        add_problem(r, id, NULL, 0, "audit entry %ld has hash %s, not the anchor %s", id, hex,
                    anchor_hex ? anchor_hex : "");
    }
    expect = id + 1;
    r->entries++;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the audit trail");
  if (anchor_entry > 0 && !anchor_seen)
    add_problem(r, anchor_entry, NULL, 0,
                "the anchor entry %ld is not in the trail (it has %ld entries): entries were removed",
                anchor_entry, r->entries);
  lp__hex(prev, 32, r->head);
  if (r->entries == 0) add_problem(r, 0, NULL, 0, "the audit trail is empty");
  return LP_OK;
}

/* First key whose value differs between two canonical JSON objects. */
static void first_difference(const char *now, const char *then, char *buf, size_t n) {
  json_t *a = json_loads(now, 0, NULL), *b = json_loads(then, 0, NULL);
  buf[0] = '\0';
  if (a && b) {
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v) {
      json_t *w = json_object_get(b, key);
      if (!w || !json_equal(v, w)) {
        char *x = json_dumps(v, JSON_ENCODE_ANY), *y = w ? json_dumps(w, JSON_ENCODE_ANY) : NULL;
        snprintf(buf, n, "field %s is %.80s but the audit trail says %.80s", key, x ? x : "?",
                 y ? y : "(absent)");
        free(x);
        free(y);
        break;
      }
    }
    if (!buf[0]) json_object_foreach(b, key, v) {
        if (!json_object_get(a, key)) {
          char *y = json_dumps(v, JSON_ENCODE_ANY);
          snprintf(buf, n, "field %s is empty but the audit trail says %.80s", key, y ? y : "?");
          free(y);
          break;
        }
      }
  }
  if (!buf[0]) snprintf(buf, n, "its content differs from the audit trail");
  json_decref(a);
  json_decref(b);
}

/* Walks audit entries of one table in (row_id, id) order and yields, per row, its
 * latest entry (the last of each row_id run). */
typedef struct {
  sqlite3_stmt *st;
  int rc;          /* SQLITE_ROW while st holds a lookahead entry */
  long row, entry; /* the latest entry of the current row */
  char action[16];
  char *new_;
} latest_cursor;

static int latest_next(latest_cursor *c) {
  free(c->new_);
  c->new_ = NULL;
  if (c->rc != SQLITE_ROW) return c->rc;
  c->row = (long)sqlite3_column_int64(c->st, 0);
  do {
    c->entry = (long)sqlite3_column_int64(c->st, 1);
    const char *a = col_text(c->st, 2), *n = col_text(c->st, 3);
    snprintf(c->action, sizeof c->action, "%s", a ? a : "");
    free(c->new_);
    c->new_ = n ? strdup(n) : NULL;
    c->rc = sqlite3_step(c->st);
  } while (c->rc == SQLITE_ROW && (long)sqlite3_column_int64(c->st, 0) == c->row);
  return SQLITE_ROW;
}

static lp_status verify_table(lp_trial *t, const char *table, lp_audit_report *r, lp_error *err) {
  char sql[160];
  sqlite3_stmt *rows;
  latest_cursor c = {0};
  snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY id", table);
  if (lp__prepare(t, sql, &rows, err)) return LP_EDB;
  if (lp__prepare(t, "SELECT row_id, id, action, new FROM audit WHERE tbl=?1 ORDER BY row_id, id", &c.st, err)) {
    lp__finalize(t, rows);
    return LP_EDB;
  }
  sqlite3_bind_text(c.st, 1, table, -1, SQLITE_STATIC);
  c.rc = sqlite3_step(c.st);
  int rr = sqlite3_step(rows), ra = latest_next(&c);
  lp_strbuf b = {0};
  lp_status s = LP_OK;
  while (rr == SQLITE_ROW || ra == SQLITE_ROW) {
    long rid = rr == SQLITE_ROW ? (long)sqlite3_column_int64(rows, 0) : 0;
    if (rr == SQLITE_ROW && (ra != SQLITE_ROW || rid < c.row)) {
      add_problem(r, 0, table, rid, "%s row %ld has no audit entry: it was inserted outside leopards", table, rid);
      rr = sqlite3_step(rows);
      continue;
    }
    bool deleted = !strcmp(c.action, "delete");
    if (rr != SQLITE_ROW || c.row < rid) {
      if (!deleted)
        add_problem(r, c.entry, table, c.row,
                    "%s row %ld is missing: audit entry %ld says it exists, so it was deleted "
                    "outside leopards",
                    table, c.row, c.entry);
      ra = latest_next(&c);
      continue;
    }
    /* the same row id in both */
    r->rows_checked++;
    b.len = 0;
    row_json_from_stmt(rows, &b);
    if (b.nomem) {
      s = lp_error_set(err, LP_ENOMEM, "out of memory");
      break;
    }
    if (deleted) {
      add_problem(r, c.entry, table, rid,
                  "%s row %ld exists but audit entry %ld deleted it: it was put back outside leopards",
                  table, rid, c.entry);
    } else if (!c.new_ || strcmp(b.p ? b.p : "", c.new_)) {
      char diff[300];
      first_difference(b.p ? b.p : "{}", c.new_ ? c.new_ : "{}", diff, sizeof diff);
      add_problem(r, c.entry, table, rid, "%s row %ld was changed outside leopards: %s (entry %ld)", table,
                  rid, diff, c.entry);
    }
    rr = sqlite3_step(rows);
    ra = latest_next(&c);
  }
  free(b.p);
  free(c.new_);
  lp__finalize(t, rows);
  lp__finalize(t, c.st);
  if (!s && (rr != SQLITE_DONE || ra != SQLITE_DONE))
    s = lp__db_fail(t, err, "checking rows against the audit trail");
  return s;
}

lp_status lp__audit_verify_tx(lp_trial *t, long anchor_entry, const char *anchor_hex,
                              lp_audit_report *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  lp_status s = verify_chain(t, anchor_entry, anchor_hex, out, err);
  for (size_t i = 0; !s && i < lp__naudited_tables; i++) {
    /* tables of a newer schema than the file has are skipped */
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name='%s'",
             lp__audited_tables[i]);
    sqlite3_stmt *st;
    if ((s = lp__prepare(t, sql, &st, err))) break;
    int present = sqlite3_step(st) == SQLITE_ROW;
    lp__finalize(t, st);
    if (present) s = verify_table(t, lp__audited_tables[i], out, err);
    else if (i < 7) add_problem(out, 0, lp__audited_tables[i], 0, "table %s is missing", lp__audited_tables[i]);
  }
  return s;
}

lp_status lp_audit_verify(lp_trial *t, long anchor_entry, const char *anchor_hex,
                          lp_audit_report *out, lp_error *err) {
  /* One read transaction: a consistent snapshot even while others write. */
  if (sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return lp__db_fail(t, err, "starting a read transaction");
  lp_status s = lp__audit_verify_tx(t, anchor_entry, anchor_hex, out, err);
  lp__rollback(t);
  return s;
}

lp_status lp_audit_log(lp_trial *t, const char *patient, lp_audit_fn fn, void *ctx,
                       lp_error *err) {
  sqlite3_stmt *st;
  const char *sql = patient ? "SELECT id, at, user, action, tbl, row_id, patient, old, new, reason,"
                              " hash FROM audit WHERE patient=? ORDER BY id"
                            : "SELECT id, at, user, action, tbl, row_id, patient, old, new, reason,"
                              " hash FROM audit ORDER BY id";
  if (lp__prepare(t, sql, &st, err)) return LP_EDB;
  if (patient) sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char hex[65] = "";
    if (sqlite3_column_bytes(st, 10) == 32) lp__hex(sqlite3_column_blob(st, 10), 32, hex);
    lp_audit_entry e = {.id = (long)sqlite3_column_int64(st, 0),
                        .at = col_text(st, 1),
                        .user = col_text(st, 2),
                        .action = col_text(st, 3),
                        .table = col_text(st, 4),
                        .row = (long)sqlite3_column_int64(st, 5),
                        .patient = col_text(st, 6),
                        .old_value = col_text(st, 7),
                        .new_value = col_text(st, 8),
                        .reason = col_text(st, 9),
                        .hash = hex};
    if (fn(ctx, &e)) break;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the audit trail");
  return LP_OK;
}
