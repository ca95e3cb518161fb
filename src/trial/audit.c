/* The audit trail: every create, change and delete of a trial row is appended with
 * user, time, reason and the row's old and new canonical content; each entry's
 * BLAKE2b hash covers the previous entry's hash, and from the audit key's
 * installation on each entry also carries a MAC under that key. Verification names
 * the first edited, removed or reordered entry, every trial row changed outside
 * leopards, every departure from the expected schema and every checkpoint the trail
 * no longer extends. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include <leopards/strbuf.h>

#include "trial/trial_internal.h"

const char *const lp__audited_tables[] = {
    "meta",     "sites",       "users",     "screening", "slots",          "randomisations", "unblindings",
    "patients", "daily",       "infusions", "outcomes",  "adverse_events", "accounts",       "sessions",
    "refusals", "disclosures", "consents",  "queries",   "verifications",  "site_pis",       "signatures"};
const size_t lp__naudited_tables = sizeof lp__audited_tables / sizeof lp__audited_tables[0];

/* The one place for a table that the row-by-row check leaves out (credentials, whose
 * secrets never enter the trail, go here: one line each). The schema check still
 * covers them, and a test checks that every table is in one of the two lists. */
const char *const lp__unaudited_tables[] = {"audit", "credentials", "session_secrets", "form_drafts"};
const size_t lp__nunaudited_tables = sizeof lp__unaudited_tables / sizeof lp__unaudited_tables[0];

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
      case '"':
        lp_strbuf_puts(b, "\\\"");
        break;
      case '\\':
        lp_strbuf_puts(b, "\\\\");
        break;
      case '\n':
        lp_strbuf_puts(b, "\\n");
        break;
      case '\r':
        lp_strbuf_puts(b, "\\r");
        break;
      case '\t':
        lp_strbuf_puts(b, "\\t");
        break;
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
        else
          lp_strbuf_puts(b, num);
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
  if (!lp__is_audited(table)) return lp_error_set(err, LP_EINVAL, "internal: table '%s' is not audited", table);
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

static void h_bytes(crypto_generichash_state *h, const void *p, size_t n) { crypto_generichash_update(h, p, n); }
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

static void entry_hash(long id, const uint8_t prev[32], const char *at, const char *user, const char *action,
                       const char *tbl, long row, const char *patient, const char *old, const char *new_,
                       const char *reason, uint8_t out[32]) {
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

lp_status lp__audit_append(lp_trial *t, const char *table, long rowid, const char *action, const char *old,
                           const char *new_, const char *patient, const char *user, const char *reason, lp_error *err) {
  sqlite3_stmt *st;
  uint8_t prev[32] = {0}, hash[32], mac[32];
  long id = 1;
  bool has_mac = t->schema_version >= 3, prev_keyed = false;
  if (lp__prepare(t,
                  has_mac ? "SELECT id, hash, mac IS NOT NULL FROM audit ORDER BY id DESC LIMIT 1"
                          : "SELECT id, hash, 0 FROM audit ORDER BY id DESC LIMIT 1",
                  &st, err))
    return LP_EDB;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    id = (long)sqlite3_column_int64(st, 0) + 1;
    if (sqlite3_column_bytes(st, 1) == 32) memcpy(prev, sqlite3_column_blob(st, 1), 32);
    prev_keyed = sqlite3_column_int(st, 2) != 0;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the audit trail");
  /* Once an entry carries a MAC, every later one must: no write without the key. */
  if (prev_keyed && !t->audit_key)
    return lp_error_set(err, LP_EDENIED,
                        "%s: the audit trail of this trial is keyed, so a change needs the trial's audit key "
                        "(by default the file %s.audit-key beside the database)",
                        t->path, t->path);
  if (t->audit_key && !lp__audit_key_for_trial(t->audit_key, t->trial_id))
    return lp_error_set(err, LP_EDENIED, "%s: the audit key given to this handle is another trial's", t->path);
  char at[40];
  lp__now(t, at, sizeof at);
  entry_hash(id, prev, at, user, action, table, rowid, patient, old, new_, reason, hash);
  bool keyed = has_mac && t->audit_key;
  if (keyed) lp__audit_mac(t->audit_key, id, hash, mac);
  if (lp__prepare(t,
                  has_mac ? "INSERT INTO audit(id, at, user, action, tbl, row_id, patient, old, new, reason,"
                            " prev_hash, hash, mac) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"
                          : "INSERT INTO audit(id, at, user, action, tbl, row_id, patient, old, new, reason,"
                            " prev_hash, hash) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                  &st, err))
    return LP_EDB;
  if (keyed) sqlite3_bind_blob(st, 13, mac, 32, SQLITE_TRANSIENT);
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

lp_status lp__audit_row(lp_trial *t, const char *table, long rowid, const char *old, const char *patient,
                        const char *user, const char *reason, lp_error *err) {
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

static void add_problem(lp_audit_report *r, long entry, const char *table, long row, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_problem(lp_audit_report *r, long entry, const char *table, long row, const char *fmt, ...) {
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

void lp__audit_problem(lp_audit_report *r, long entry, const char *table, long row, const char *fmt, ...) {
  char msg[sizeof r->problems[0].message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  add_problem(r, entry, table, row, "%s", msg);
}

static const char *col_text(sqlite3_stmt *st, int c) {
  return sqlite3_column_type(st, c) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, c);
}

/* A line of a checkpoint file (or the anchor): entry `entry` must have hash `hash`. */
typedef struct {
  long entry, line;
  uint8_t hash[32];
  char at[40];
  bool seen;
} mark;

static int mark_cmp(const void *a, const void *b) {
  const mark *x = a, *y = b;
  return x->entry < y->entry ? -1 : x->entry > y->entry;
}

/* Parse "ENTRY HASH TIME" lines (blank lines and # comments skipped). */
static lp_status read_checkpoints(const char *path, mark **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  FILE *f = fopen(path, "r");
  if (!f) return lp_error_set(err, LP_EIO, "%s: cannot read the checkpoint file: %s", path, strerror(errno));
  char buf[512];
  long line = 0;
  size_t cap = 0;
  lp_status s = LP_OK;
  while (!s && fgets(buf, sizeof buf, f)) {
    line++;
    char *p = buf;
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '#' || *p == '\n' || !*p) continue;
    long entry;
    char hex[80], at[64];
    if (sscanf(p, "%ld %79s %63s", &entry, hex, at) != 3 || entry < 1 || strlen(hex) != 64) {
      s = lp_error_at(err, LP_EPARSE, path, line, NULL, "expected a checkpoint line: ENTRY HASH TIME");
      break;
    }
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      mark *m = realloc(*out, cap * sizeof *m);
      if (!m) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory");
        break;
      }
      *out = m;
    }
    mark *m = &(*out)[(*n)++];
    memset(m, 0, sizeof *m);
    m->entry = entry;
    m->line = line;
    snprintf(m->at, sizeof m->at, "%s", at);
    if (!lp__unhex(hex, m->hash, 32))
      s = lp_error_at(err, LP_EPARSE, path, line, NULL, "the hash is not 64 hex digits");
  }
  fclose(f);
  if (s) {
    free(*out);
    *out = NULL;
    *n = 0;
    return s;
  }
  if (*n == 0) return lp_error_set(err, LP_EPARSE, "%s: the checkpoint file has no checkpoint line", path);
  qsort(*out, *n, sizeof **out, mark_cmp);
  return LP_OK;
}

typedef struct {
  const lp_audit_check *c;
  mark *marks;
  size_t nmarks, next_mark;
  bool anchor_seen;
} chain_ctx;

/* The anchor and the checkpoints that name entry `id` (whose stored hash is `head`). */
static void check_marks(chain_ctx *x, long id, const uint8_t head[32], lp_audit_report *r) {
  char hex[65], want[65];
  lp__hex(head, 32, hex);
  if (x->c->anchor_entry == id) {
    x->anchor_seen = true;
    if (!x->c->anchor_hex || strcmp(hex, x->c->anchor_hex))
      add_problem(r, id, NULL, 0, "audit entry %ld has hash %s, not the anchor %s", id, hex,
                  x->c->anchor_hex ? x->c->anchor_hex : "");
  }
  while (x->next_mark < x->nmarks && x->marks[x->next_mark].entry <= id) {
    mark *m = &x->marks[x->next_mark++];
    if (m->entry != id) continue; /* a gap: reported as missing entries */
    m->seen = true;
    r->checkpoints++;
    lp__hex(m->hash, 32, want);
    if (strcmp(hex, want))
      add_problem(r, id, NULL, 0,
                  "audit entry %ld has hash %s, not %s as checkpoint line %ld (taken %s) recorded: the "
                  "trail was rewritten from there on, or replaced by another copy",
                  id, hex, want, m->line, m->at);
  }
}

/* Problems of one entry's MAC: absent in a keyed trail, or not valid under the key. */
static void check_mac(const lp_audit_check *c, sqlite3_stmt *st, long id, const uint8_t h[32], lp_audit_report *r) {
  const char *tbl = col_text(st, 4), *action = col_text(st, 3);
  int macn = sqlite3_column_bytes(st, 12);
  bool has = sqlite3_column_type(st, 12) != SQLITE_NULL;
  if (has && !r->keyed_from) r->keyed_from = id;
  if (!has && r->keyed_from) {
    add_problem(r, id, tbl, 0,
                "audit entry %ld carries no MAC although the trail is keyed from entry %ld: it was added "
                "or rewritten without the audit key",
                id, r->keyed_from);
    return;
  }
  if (!has || !c->key) return;
  uint8_t want[32];
  lp__audit_mac(c->key, id, h, want);
  r->macs_checked++;
  if (macn != 32 || sodium_memcmp(want, sqlite3_column_blob(st, 12), 32))
    add_problem(r, id, tbl, (long)sqlite3_column_int64(st, 5),
                "audit entry %ld (%s of %s row %lld) has no valid MAC under the audit key: it was added, "
                "edited, moved or re-hashed by someone without the key",
                id, action ? action : "?", tbl ? tbl : "?", (long long)sqlite3_column_int64(st, 5));
}

static lp_status verify_chain(lp_trial *t, bool has_mac, chain_ctx *x, lp_audit_report *r, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  has_mac ? "SELECT id, at, user, action, tbl, row_id, patient, old, new, reason, prev_hash,"
                            " hash, mac FROM audit ORDER BY id"
                          : "SELECT id, at, user, action, tbl, row_id, patient, old, new, reason, prev_hash,"
                            " hash, NULL FROM audit ORDER BY id",
                  &st, err))
    return LP_EDB;
  uint8_t prev[32] = {0}, h[32];
  long expect = 1;
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
               (long)sqlite3_column_int64(st, 5), col_text(st, 6), col_text(st, 7), col_text(st, 8), col_text(st, 9),
               h);
    const void *sh = sqlite3_column_blob(st, 11);
    int shn = sqlite3_column_bytes(st, 11);
    if (shn != 32 || memcmp(sh, h, 32))
      add_problem(r, id, tbl, (long)sqlite3_column_int64(st, 5),
                  "audit entry %ld (%s of %s row %lld at %s by %s) was altered: its content no "
                  "longer matches its hash",
                  id, action ? action : "?", tbl ? tbl : "?", (long long)sqlite3_column_int64(st, 5),
                  col_text(st, 1) ? col_text(st, 1) : "?", col_text(st, 2) ? col_text(st, 2) : "?");
    check_mac(x->c, st, id, h, r);
    if (!action || (strcmp(action, "insert") && strcmp(action, "update") && strcmp(action, "delete")))
      add_problem(r, id, tbl, 0, "audit entry %ld has an unknown action '%s'", id, action ? action : "");
    if (!tbl || !lp__is_audited(tbl))
      add_problem(r, id, tbl, 0, "audit entry %ld names an unknown table '%s'", id, tbl ? tbl : "");
    if (shn == 32) memcpy(prev, sh, 32);
    else
      memcpy(prev, h, 32);
    check_marks(x, id, prev, r);
    expect = id + 1;
    r->entries++;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the audit trail");
  if (x->c->anchor_entry > 0 && !x->anchor_seen)
    add_problem(r, x->c->anchor_entry, NULL, 0,
                "the anchor entry %ld is not in the trail (it has %ld entries): entries were removed",
                x->c->anchor_entry, r->entries);
  for (size_t i = 0; i < x->nmarks; i++)
    if (!x->marks[i].seen && x->marks[i].entry > expect - 1) {
      add_problem(r, x->marks[i].entry, NULL, 0,
                  "the trail ends at entry %ld, but checkpoint line %ld (taken %s) recorded entry %ld: "
                  "entries were removed from its end (truncated, or rolled back to an older copy)",
                  expect - 1, x->marks[i].line, x->marks[i].at, x->marks[i].entry);
      break; /* the first such line says it */
    }
  lp__hex(prev, 32, r->head);
  if (r->entries == 0) add_problem(r, 0, NULL, 0, "the audit trail is empty");
  if (x->c->key && !r->keyed_from && r->entries)
    add_problem(r, 0, NULL, 0,
                "no entry of the audit trail carries a MAC under the audit key: the trail was written "
                "without it, or its MACs were removed and the chain rebuilt");
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
        snprintf(buf, n, "field %s is %.80s but the audit trail says %.80s", key, x ? x : "?", y ? y : "(absent)");
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
                  "%s row %ld exists but audit entry %ld deleted it: it was put back outside leopards", table, rid,
                  c.entry);
    } else if (!c.new_ || strcmp(b.p ? b.p : "", c.new_)) {
      char diff[300];
      first_difference(b.p ? b.p : "{}", c.new_ ? c.new_ : "{}", diff, sizeof diff);
      add_problem(r, c.entry, table, rid, "%s row %ld was changed outside leopards: %s (entry %ld)", table, rid, diff,
                  c.entry);
    }
    rr = sqlite3_step(rows);
    ra = latest_next(&c);
  }
  free(b.p);
  free(c.new_);
  lp__finalize(t, rows);
  lp__finalize(t, c.st);
  if (!s && (rr != SQLITE_DONE || ra != SQLITE_DONE)) s = lp__db_fail(t, err, "checking rows against the audit trail");
  return s;
}

/* The given key must be the one recorded in the trial's setting audit_key. */
static lp_status check_key_belongs(lp_trial *t, const lp_audit_key *k, lp_audit_report *r, lp_error *err) {
  char rec[80] = "", id[80] = "", mine[65];
  bool f1, f2;
  lp_status s;
  if ((s = lp__meta_get(t, "audit_key", rec, sizeof rec, &f1, err)) ||
      (s = lp__meta_get(t, "trial_id", id, sizeof id, &f2, err)))
    return s;
  uint8_t tid[LP__ID_BYTES];
  lp__audit_key_check_hex(k, mine);
  if (f2 && lp__unhex(id, tid, LP__ID_BYTES) && !lp__audit_key_for_trial(k, tid))
    add_problem(r, 0, "meta", 0, "the audit key given belongs to another trial");
  else if (!f1)
    add_problem(r, 0, "meta", 0,
                "the trial records no audit key (setting audit_key is missing): it was "
                "never keyed, or the setting was removed");
  else if (strcmp(rec, mine))
    add_problem(r, 0, "meta", 0, "the audit key given is not the one recorded in the trial (setting audit_key)");
  return LP_OK;
}

static bool table_present(lp_trial *t, const char *name) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?", &st, NULL)) return false;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  bool yes = sqlite3_step(st) == SQLITE_ROW;
  lp__finalize(t, st);
  return yes;
}

static bool audit_has_mac(lp_trial *t) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT 1 FROM pragma_table_info('audit') WHERE name='mac'", &st, NULL)) return false;
  bool yes = sqlite3_step(st) == SQLITE_ROW;
  lp__finalize(t, st);
  return yes;
}

lp_status lp__audit_verify_tx(lp_trial *t, const lp_audit_check *c, lp_audit_report *out, lp_error *err) {
  static const lp_audit_check no_check = {0};
  if (!c) c = &no_check;
  memset(out, 0, sizeof *out);
  chain_ctx x = {.c = c};
  lp_status s;
  if (c->checkpoints && (s = read_checkpoints(c->checkpoints, &x.marks, &x.nmarks, err))) return s;
  int version = 0;
  if ((s = lp__user_version(t, &version, err))) goto done;
  /* The schema first: a planted trigger or view changes what everything else reads. */
  if ((s = lp__schema_check(t, version, out, err))) goto done;
  if (!table_present(t, "audit")) goto done; /* reported by the schema check */
  if (c->key && table_present(t, "meta") && (s = check_key_belongs(t, c->key, out, err))) goto done;
  if ((s = verify_chain(t, audit_has_mac(t), &x, out, err))) goto done;
  out->key_checked = c->key != NULL;
  for (size_t i = 0; !s && i < lp__naudited_tables; i++) {
    if (table_present(t, lp__audited_tables[i])) {
      s = verify_table(t, lp__audited_tables[i], out, err);
      continue;
    }
    /* A table the file lacks, though the trail records rows of it (the schema
     * version lowered to hide a dropped table, say). */
    long first = 0, none = 0;
    if ((s = lp__two_counts_on(t, "SELECT coalesce(min(id),0), 0 FROM audit WHERE ?1 > 0 AND tbl=?2", 1,
                               lp__audited_tables[i], &first, &none, "reading the audit trail", err)))
      break;
    if (first)
      add_problem(out, first, lp__audited_tables[i], 0,
                  "table %s is missing, but audit entry %ld and later ones record its rows", lp__audited_tables[i],
                  first);
  }
done:
  free(x.marks);
  return s;
}

lp_status lp_audit_verify_with(lp_trial *t, const lp_audit_check *c, lp_audit_report *out, lp_error *err) {
  /* One read transaction: a consistent snapshot even while others write. */
  if (sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return lp__db_fail(t, err, "starting a read transaction");
  lp_status s = lp__audit_verify_tx(t, c, out, err);
  lp__rollback(t);
  return s;
}

lp_status lp_audit_verify(lp_trial *t, long anchor_entry, const char *anchor_hex, lp_audit_report *out, lp_error *err) {
  lp_audit_check c = {.anchor_entry = anchor_entry, .anchor_hex = anchor_hex};
  return lp_audit_verify_with(t, &c, out, err);
}

/* ---- checkpoints ---- */

lp_status lp_audit_checkpoint_take(lp_trial *t, lp_audit_checkpoint *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  lp_audit_report *r = malloc(sizeof *r);
  if (!r) return lp_error_set(err, LP_ENOMEM, "out of memory");
  lp_audit_check c = {.key = t->audit_key};
  lp_status s = lp_audit_verify_with(t, &c, r, err);
  if (!s && r->nproblems)
    s = lp_error_set(err, LP_EINTEGRITY, "%s: the audit trail does not verify, so no checkpoint is taken: %s", t->path,
                     r->problems[0].message);
  if (!s) {
    out->entry = r->entries;
    snprintf(out->hash, sizeof out->hash, "%s", r->head);
    lp__now(t, out->at, sizeof out->at);
  }
  free(r);
  return s;
}

lp_status lp_audit_last_entry(lp_trial *t, long *entry, lp_error *err) {
  sqlite3_stmt *st;
  *entry = 0;
  if (lp__prepare(t, "SELECT coalesce(max(id), 0) FROM audit", &st, err)) return LP_EDB;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *entry = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, "reading the audit trail's last entry");
  return LP_OK;
}

void lp_audit_checkpoint_format(const lp_audit_checkpoint *c, char *buf, size_t n) {
  snprintf(buf, n, "%ld %s %s", c->entry, c->hash, c->at);
}

lp_status lp_audit_checkpoint_append(const lp_audit_checkpoint *c, const char *path, lp_error *err) {
  char line[160];
  lp_audit_checkpoint_format(c, line, sizeof line);
  size_t len = strlen(line);
  line[len++] = '\n';
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return lp_error_set(err, LP_EIO, "%s: cannot open the checkpoint file: %s", path, strerror(errno));
  ssize_t w = write(fd, line, len);
  if (w != (ssize_t)len || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    return lp_error_set(err, LP_EIO, "%s: cannot append the checkpoint: %s", path, strerror(e));
  }
  if (close(fd) != 0) return lp_error_set(err, LP_EIO, "%s: cannot append the checkpoint: %s", path, strerror(errno));
  return LP_OK;
}

lp_status lp_audit_log(lp_trial *t, const char *patient, lp_audit_fn fn, void *ctx, lp_error *err) {
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
