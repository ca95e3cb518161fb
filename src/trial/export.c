/* Export of a whole trial as CSV (one file per table, a data dictionary, a manifest;
 * the arms only with the key and only after lock) and import of such an export into a
 * fresh database, verified by the audit trail. The same database always exports to
 * the same bytes, so export -> import -> export is byte-identical. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include <leopards/outdir.h>

#include "trial/trial_internal.h"

const char *lp__record_describe(const char *table, const char *col, char *buf, size_t n);

/* Tables in the order an import loads them (parents before children). */
static const char *const export_tables[] = {
    "meta",          "sites",    "users",      "screening",   "slots",    "randomisations",
    "unblindings",   "patients", "daily",      "infusions",   "outcomes", "adverse_events",
    "accounts",      "sessions", "refusals",   "disclosures", "consents", "queries",
    "verifications", "site_pis", "signatures", "audit"};
#define N_EXPORT (sizeof export_tables / sizeof export_tables[0])

/* Descriptions of the non-clinical columns (clinical ones come from record.c). */
static const char *const dictionary[][3] = {
    {"meta", "key", "setting name (trial_id, protocol, arm labels, list settings sealed, lock)"},
    {"meta", "value", "setting value; list_config is sealed with the key"},
    {"sites", "code", "site code used on the command line"},
    {"sites", "name", "site name"},
    {"sites", "closed_at", "when the site was closed to recruitment, UTC; empty while open"},
    {"sites", "closed_by", "trial manager who closed the site"},
    {"sites", "closed_reason", "why the site was closed"},
    {"sessions", "label", "what a personal API token is for (kind api); the token itself is never stored"},
    {"users", "name", "user name"},
    {"users", "role", "investigator, manager or statistician"},
    {"users", "site_id", "site of an investigator (sites.id)"},
    {"users", "created_at", "registration time, UTC"},
    {"users", "full_name", "full (printed) name, as electronic signatures show it"},
    {"screening", "site_id", "screening site (sites.id)"},
    {"screening", "patient", "patient code; empty for a screened patient not enrolled"},
    {"screening", "screened_at", "time of screening, UTC"},
    {"screening", "screened_by", "user who screened"},
    {"screening", "eligible", "1 when every criterion was assessed and met"},
    {"screening", "failed", "criteria not met, comma separated (name:missing when not assessed)"},
    {"screening", "inputs", "eligibility inputs, JSON"},
    {"screening", "reason_not_enrolled", "why an eligible patient was not enrolled"},
    {"slots", "site_id", "site of the list slot (sites.id)"},
    {"slots", "seq", "position in the site's list, from 1"},
    {"slots", "pack", "pack number of the slot"},
    {"slots", "nonce", "random nonce of the sealed arm (hex)"},
    {"slots", "sealed", "arm sealed with XChaCha20-Poly1305 under the trial key (hex)"},
    {"randomisations", "patient", "patient code"},
    {"randomisations", "site_id", "site (sites.id)"},
    {"randomisations", "seq", "slot taken (slots.seq at that site)"},
    {"randomisations", "pack", "pack number given to the site"},
    {"randomisations", "randomized_at", "time of randomisation, UTC"},
    {"randomisations", "randomized_by", "user who randomised"},
    {"randomisations", "screening_id", "screening record (screening.id)"},
    {"unblindings", "patient", "patient unblinded"},
    {"consents", "patient", "patient code (screening.patient)"},
    {"consents", "site_id", "site (sites.id)"},
    {"consents", "recorded_at", "time the consent was recorded, UTC"},
    {"consents", "recorded_by", "user who recorded it"},
    {"unblindings", "unblinded_at", "time, UTC"},
    {"unblindings", "unblinded_by", "user"},
    {"unblindings", "reason", "reason given"},
    {"disclosures", "at", "time the allocations were given out, UTC"},
    {"disclosures", "user", "user who was given them"},
    {"disclosures", "what", "what revealed them: an export with the arms, or a closed report"},
    {"disclosures", "destination", "where they were written (folder)"},
    {"disclosures", "patients", "number of patients whose arm was revealed"},
    {"queries", "form", "record kind of the queried record (baseline, daily, infusion, outcome, ae)"},
    {"queries", "day", "the daily record's day, 0 for other forms"},
    {"queries", "record", "row id of the infusion event or adverse event queried, 0 for other forms"},
    {"queries", "field", "field queried"},
    {"queries", "state", "open, answered or closed"},
    {"queries", "origin", "check (opened by a soft edit check) or manual"},
    {"queries", "text", "the question"},
    {"queries", "answer", "the site's answer"},
    {"queries", "old_value", "value before a correction given as the answer"},
    {"queries", "new_value", "value of that correction"},
    {"queries", "reopened", "times re-opened"},
    {"verifications", "form", "record kind of the verified form"},
    {"verifications", "day", "the daily form's day, 0 for other forms"},
    {"verifications", "record", "adverse event verified (row id), 0 for other forms"},
    {"verifications", "verified_by", "monitor who verified against the source"},
    {"verifications", "cleared_at", "time a later change cleared the verification, UTC"},
    {"verifications", "cleared_reason", "reason given for that change"},
    {"site_pis", "site_id", "site (sites.id)"},
    {"site_pis", "user_id", "its principal investigator (users.id)"},
    {"signatures", "scope", "casebook (one patient) or lock"},
    {"signatures", "printed_name", "signer's printed name (the full name; the account name when none was recorded)"},
    {"signatures", "meaning", "meaning of the signature"},
    {"signatures", "content_hash", "SHA-256 (hex) of the signed content (the casebook's records, or the audit head)"},
    {"signatures", "invalidated_at", "time a later change invalidated the signature, UTC"},
    {"audit", "at", "time of the change, UTC"},
    {"audit", "user", "user who made the change"},
    {"audit", "action", "insert, update or delete"},
    {"audit", "tbl", "table changed"},
    {"audit", "row_id", "id of the row changed"},
    {"audit", "patient", "patient the row belongs to, if any"},
    {"audit", "old", "row before the change, canonical JSON (NULL columns left out)"},
    {"audit", "new", "row after the change, canonical JSON"},
    {"audit", "reason", "reason given"},
    {"audit", "prev_hash", "hash of the previous entry (hex)"},
    {"audit", "hash", "BLAKE2b-256 of this entry and prev_hash (hex)"},
    {"audit", "mac", "keyed BLAKE2b-256 of the hash under the audit key (hex); empty before the key was installed"},
};

static const char *describe(const char *table, const char *col, char *buf, size_t n) {
  if (!strcmp(col, "id")) return strcmp(table, "audit") ? "row id" : "entry number, from 1, no gaps";
  if (!strcmp(col, "patient") && strcmp(table, "screening") && strcmp(table, "randomisations") &&
      strcmp(table, "unblindings") && strcmp(table, "audit") && strcmp(table, "consents"))
    return "patient code (randomisations.patient)";
  for (size_t i = 0; i < sizeof dictionary / sizeof dictionary[0]; i++)
    if (!strcmp(dictionary[i][0], table) && !strcmp(dictionary[i][1], col)) return dictionary[i][2];
  const char *d = lp__record_describe(table, col, buf, n);
  return d ? d : "";
}

/* ---- writing ---- */

static void put_text(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') fputc('"', f);
    fputc(s[i], f);
  }
  fputc('"', f);
}

static void put_value(FILE *f, sqlite3_stmt *st, int c) {
  char num[64];
  switch (sqlite3_column_type(st, c)) {
    case SQLITE_NULL:
      break;
    case SQLITE_INTEGER:
      fprintf(f, "%lld", (long long)sqlite3_column_int64(st, c));
      break;
    case SQLITE_FLOAT:
      lp__fmt_real(sqlite3_column_double(st, c), num, sizeof num);
      fputs(num, f);
      break;
    case SQLITE_TEXT:
      put_text(f, (const char *)sqlite3_column_text(st, c), (size_t)sqlite3_column_bytes(st, c));
      break;
    default: {
      const uint8_t *p = sqlite3_column_blob(st, c);
      for (int i = 0; i < sqlite3_column_bytes(st, c); i++) fprintf(f, "%02x", p[i]);
    }
  }
}

typedef struct {
  FILE *f;
  char tmp[1200], final[1200];
} out_file;

static lp_status out_open(out_file *o, const char *dir, const char *name, mode_t mode, lp_error *err) {
  snprintf(o->final, sizeof o->final, "%s/%s", dir, name);
  snprintf(o->tmp, sizeof o->tmp, "%s/.%s.tmp", dir, name);
  unlink(o->tmp);
  int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, mode);
  o->f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!o->f) return lp_error_set(err, LP_EIO, "%s: cannot write: %s", o->tmp, strerror(errno));
  return LP_OK;
}

static lp_status out_close(out_file *o, lp_error *err) {
  int bad = ferror(o->f);
  if (fflush(o->f) || fsync(fileno(o->f))) bad = 1;
  if (fclose(o->f)) bad = 1;
  o->f = NULL;
  if (bad || rename(o->tmp, o->final)) {
    unlink(o->tmp);
    return lp_error_set(err, LP_EIO, "%s: cannot write: %s", o->final, strerror(errno));
  }
  return LP_OK;
}

static lp_status table_exists(lp_trial *t, const char *table, bool *yes, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  *yes = sqlite3_step(st) == SQLITE_ROW;
  lp__finalize(t, st);
  return LP_OK;
}

static lp_status export_table(lp_trial *t, const char *dir, const char *table, long *rows, lp_error *err) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT * FROM \"%s\" ORDER BY id", table);
  sqlite3_stmt *st;
  if (lp__prepare(t, sql, &st, err)) return LP_EDB;
  char name[64];
  snprintf(name, sizeof name, "%s.csv", table);
  out_file o;
  lp_status s = out_open(&o, dir, name, 0644, err);
  if (s) {
    lp__finalize(t, st);
    return s;
  }
  int nc = sqlite3_column_count(st);
  for (int c = 0; c < nc; c++) fprintf(o.f, "%s%s", c ? "," : "", sqlite3_column_name(st, c));
  fputc('\n', o.f);
  int rc;
  *rows = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    for (int c = 0; c < nc; c++) {
      if (c) fputc(',', o.f);
      put_value(o.f, st, c);
    }
    fputc('\n', o.f);
    (*rows)++;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    fclose(o.f);
    unlink(o.tmp);
    return lp__db_fail(t, err, "exporting");
  }
  return out_close(&o, err);
}

static lp_status export_dictionary(lp_trial *t, const char *dir, lp_error *err) {
  out_file o;
  lp_status s = out_open(&o, dir, "data_dictionary.csv", 0644, err);
  if (s) return s;
  fprintf(o.f, "table,column,type,required,description\n");
  for (size_t i = 0; !s && i < N_EXPORT; i++) {
    bool yes;
    if ((s = table_exists(t, export_tables[i], &yes, err)) || !yes) continue;
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", export_tables[i]);
    sqlite3_stmt *st;
    if ((s = lp__prepare(t, sql, &st, err))) break;
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *col = (const char *)sqlite3_column_text(st, 1);
      const char *type = (const char *)sqlite3_column_text(st, 2);
      int req = sqlite3_column_int(st, 3) || sqlite3_column_int(st, 5);
      char buf[400];
      const char *d = describe(export_tables[i], col, buf, sizeof buf);
      fprintf(o.f, "\"%s\",\"%s\",\"%s\",%d,", export_tables[i], col, type, req);
      put_text(o.f, d, strlen(d));
      fputc('\n', o.f);
    }
    lp__finalize(t, st);
  }
  if (s) {
    fclose(o.f);
    unlink(o.tmp);
    return s;
  }
  return out_close(&o, err);
}

/* Every file of the export into `dir` (a new, empty staging folder). */
static lp_status export_into(lp_trial *t, const char *dir, const lp_trial_key *k, const lp_allocation_arm *al,
                             size_t nal, lp_error *err) {
  lp_status s;
  /* one read transaction: every file from the same snapshot (the caller's, when it
   * holds one) */
  bool own = sqlite3_get_autocommit(t->db);
  if (own && sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return lp__db_fail(t, err, "starting a read transaction");
  long counts[N_EXPORT] = {0};
  bool present[N_EXPORT] = {false};
  s = LP_OK;
  for (size_t i = 0; !s && i < N_EXPORT; i++) {
    if ((s = table_exists(t, export_tables[i], &present[i], err)) || !present[i]) continue;
    s = export_table(t, dir, export_tables[i], &counts[i], err);
  }
  if (!s) s = export_dictionary(t, dir, err);
  out_file o;
  if (!s && !(s = out_open(&o, dir, "manifest.csv", 0644, err))) {
    char id[2 * LP__ID_BYTES + 1];
    lp__hex(t->trial_id, LP__ID_BYTES, id);
    fprintf(o.f,
            "name,value\n\"format\",\"leopards-trial-export\"\n\"format_version\",1\n"
            "\"schema_version\",%d\n\"trial_id\",\"%s\"\n",
            t->schema_version, id);
    for (size_t i = 0; i < N_EXPORT; i++)
      if (present[i]) fprintf(o.f, "\"rows.%s\",%ld\n", export_tables[i], counts[i]);
    s = out_close(&o, err);
  }
  if (own) lp__rollback(t);
  if (!s && k) {
    /* the arms: only here, only with the key, only after lock */
    if (!(s = out_open(&o, dir, "allocations.csv", 0600, err))) {
      fprintf(o.f, "patient,site,sequence,pack,arm,arm_label\n");
      for (size_t i = 0; i < nal; i++) {
        put_text(o.f, al[i].patient, strlen(al[i].patient));
        fputc(',', o.f);
        put_text(o.f, al[i].site, strlen(al[i].site));
        fprintf(o.f, ",%ld,%ld,\"%c\",", al[i].sequence, al[i].pack, al[i].arm ? 'B' : 'A');
        const char *lab = lp_trial_arm_label(t, al[i].arm);
        put_text(o.f, lab, strlen(lab));
        fputc('\n', o.f);
      }
      s = out_close(&o, err);
    }
  }
  return s;
}

lp_status lp_trial_export(lp_trial *t, const char *dir, const lp_trial_key *k, lp_error *err) {
  return lp__trial_export(t, dir, k, false, err);
}

lp_status lp__trial_export(lp_trial *t, const char *dir, const lp_trial_key *k, bool before_lock, lp_error *err) {
  lp_status s;
  lp_allocation_arm *al = NULL;
  size_t nal = 0;
  /* The arms and the tables from one snapshot: the caller's read transaction, or one
   * opened here for the whole export. */
  bool own = sqlite3_get_autocommit(t->db);
  if (own && sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return lp__db_fail(t, err, "starting a read transaction");
  if (own && (s = lp__exec(t, "SELECT count(*) FROM meta", err))) {
    lp__rollback(t);
    return s;
  }
  if (k && (s = lp__allocations(t, k, before_lock, &al, &nal, err))) {
    if (own) lp__rollback(t);
    return s;
  }
  /* A new folder beside `dir`, swapped in only when complete: a failure (a full disk)
   * leaves an earlier export as it was; a folder leopards did not write is refused. */
  lp_outdir *od = NULL;
  s = lp_outdir_begin(dir, "export", &od, err);
  if (!s && !k && chmod(lp_outdir_path(od), 0755) != 0)
    s = lp_error_set(err, LP_EIO, "%s: %s", lp_outdir_path(od), strerror(errno));
  if (!s && (s = export_into(t, lp_outdir_path(od), k, al, nal, err)))
    lp_error_prefix(err, "export to %s not written (an earlier export there is unchanged)", dir);
  if (!s) {
    s = lp_outdir_commit(od, err);
    od = NULL;
  }
  lp_outdir_abort(od);
  if (own) lp__rollback(t);
  if (al) sodium_memzero(al, nal * sizeof *al);
  free(al);
  return s;
}

/* ---- reading our own CSV ----
 * A field is NULL when empty and unquoted, text when quoted ("" inside for a quote),
 * a number or hex otherwise. Lines end with LF. */

typedef struct {
  char *s;
  bool quoted;
} cell;

typedef struct {
  const char *path;
  char *buf;
  size_t len, pos;
  long line;
} reader;

static lp_status read_file(const char *path, char **out, size_t *len, lp_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return lp_error_set(err, LP_EIO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 65536, n = 0;
  char *b = malloc(cap);
  size_t got;
  while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        b = NULL;
        break;
      }
      b = nb;
      cap *= 2;
    }
  }
  int bad = ferror(f);
  fclose(f);
  if (!b) return lp_error_set(err, LP_ENOMEM, "out of memory reading %s", path);
  if (bad) {
    free(b);
    return lp_error_set(err, LP_EIO, "%s: read error", path);
  }
  b[n] = '\0';
  *out = b;
  *len = n;
  return LP_OK;
}

static void free_cells(cell *c, size_t n) {
  for (size_t i = 0; i < n; i++) free(c[i].s);
}

/* Next record into cells (at most max); *n = number of fields; false at end. */
static lp_status next_record(reader *r, cell *c, size_t max, size_t *n, bool *more, lp_error *err) {
  *n = 0;
  *more = r->pos < r->len;
  if (!*more) return LP_OK;
  long start_line = ++r->line;
  for (;;) {
    if (*n == max) {
      free_cells(c, *n);
      return lp_error_at(err, LP_EPARSE, r->path, start_line, NULL, "too many fields");
    }
    cell *x = &c[(*n)++];
    x->quoted = false;
    size_t cap = 64, k = 0;
    x->s = malloc(cap);
    if (!x->s) return lp_error_set(err, LP_ENOMEM, "out of memory");
    if (r->pos < r->len && r->buf[r->pos] == '"') {
      x->quoted = true;
      r->pos++;
      for (;;) {
        if (r->pos >= r->len) {
          free_cells(c, *n);
          return lp_error_at(err, LP_EPARSE, r->path, start_line, NULL, "unterminated quoted field");
        }
        char ch = r->buf[r->pos++];
        if (ch == '"') {
          if (r->pos < r->len && r->buf[r->pos] == '"') r->pos++;
          else
            break;
        }
        if (ch == '\n') r->line++;
        if (k + 2 > cap) {
          char *ns = realloc(x->s, cap *= 2);
          if (!ns) return lp_error_set(err, LP_ENOMEM, "out of memory");
          x->s = ns;
        }
        x->s[k++] = ch;
      }
    } else {
      while (r->pos < r->len && r->buf[r->pos] != ',' && r->buf[r->pos] != '\n') {
        char ch = r->buf[r->pos++];
        if (ch == '"' || ch == '\r') {
          free_cells(c, *n);
          return lp_error_at(err, LP_EPARSE, r->path, start_line, NULL, "unexpected %s in an unquoted field",
                             ch == '"' ? "quote" : "carriage return");
        }
        if (k + 2 > cap) {
          char *ns = realloc(x->s, cap *= 2);
          if (!ns) return lp_error_set(err, LP_ENOMEM, "out of memory");
          x->s = ns;
        }
        x->s[k++] = ch;
      }
    }
    x->s[k] = '\0';
    if (r->pos >= r->len || r->buf[r->pos] == '\n') {
      if (r->pos < r->len) r->pos++;
      return LP_OK;
    }
    if (r->buf[r->pos] != ',') {
      free_cells(c, *n);
      return lp_error_at(err, LP_EPARSE, r->path, start_line, NULL, "text after a closing quote");
    }
    r->pos++;
  }
}

#define MAX_COLS 128

static lp_status import_table(lp_trial *t, const char *dir, const char *table, long expect_rows, lp_error *err) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s.csv", dir, table);
  reader r = {path, NULL, 0, 0, 0};
  lp_status s = read_file(path, &r.buf, &r.len, err);
  if (s) return s;
  /* the columns the table has, with their types */
  char sql[2400];
  snprintf(sql, sizeof sql, "PRAGMA table_info(\"%s\")", table);
  sqlite3_stmt *st;
  char *names[MAX_COLS], types[MAX_COLS];
  size_t ncols = 0;
  if ((s = lp__prepare(t, sql, &st, err))) {
    free(r.buf);
    return s;
  }
  while (sqlite3_step(st) == SQLITE_ROW && ncols < MAX_COLS) {
    names[ncols] = strdup((const char *)sqlite3_column_text(st, 1));
    types[ncols++] = ((const char *)sqlite3_column_text(st, 2))[0]; /* I, R, T, B */
  }
  lp__finalize(t, st);
  cell c[MAX_COLS];
  size_t n;
  bool more;
  sqlite3_stmt *ins = NULL;
  long rows = 0;
  bool same = false;
  size_t k = 0;
  if ((s = next_record(&r, c, MAX_COLS, &n, &more, err))) goto done;
  if (!more) {
    s = lp_error_at(err, LP_EPARSE, path, 1, NULL, "empty file (a header row is needed)");
    goto done;
  }
  same = n == ncols;
  for (size_t i = 0; same && i < n; i++) same = !c[i].quoted && !strcmp(c[i].s, names[i]);
  if (!same) {
    char want[1024] = "";
    for (size_t i = 0; i < ncols; i++)
      snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? "," : "", names[i]);
    free_cells(c, n);
    s = lp_error_at(err, LP_EDATA, path, 1, NULL, "the header must be exactly: %s", want);
    goto done;
  }
  free_cells(c, n);
  k = (size_t)snprintf(sql, sizeof sql, "INSERT INTO \"%s\" VALUES(", table);
  for (size_t i = 0; i < ncols; i++) k += (size_t)snprintf(sql + k, sizeof sql - k, "%s?", i ? "," : "");
  snprintf(sql + k, sizeof sql - k, ")");
  if ((s = lp__prepare(t, sql, &ins, err))) goto done;
  for (;;) {
    if ((s = next_record(&r, c, MAX_COLS, &n, &more, err)) || !more) break;
    long line = r.line;
    if (n != ncols) {
      free_cells(c, n);
      s = lp_error_at(err, LP_EDATA, path, line, NULL, "%zu fields where the header has %zu", n, ncols);
      break;
    }
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    for (size_t i = 0; !s && i < n; i++) {
      const char *v = c[i].s;
      char *end;
      if (c[i].quoted) {
        if (types[i] != 'T')
          s = lp_error_at(err, LP_EDATA, path, line, names[i], "text where a %s is expected",
                          types[i] == 'B' ? "hex blob" : "number");
        else
          sqlite3_bind_text(ins, (int)i + 1, v, -1, SQLITE_TRANSIENT);
      } else if (!*v) {
        sqlite3_bind_null(ins, (int)i + 1);
      } else if (types[i] == 'I') {
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (*end || errno) s = lp_error_at(err, LP_EDATA, path, line, names[i], "'%s' is not an integer", v);
        else
          sqlite3_bind_int64(ins, (int)i + 1, x);
      } else if (types[i] == 'R') {
        double x = strtod(v, &end);
        if (*end) s = lp_error_at(err, LP_EDATA, path, line, names[i], "'%s' is not a number", v);
        else
          sqlite3_bind_double(ins, (int)i + 1, x);
      } else if (types[i] == 'B') {
        size_t bl = strlen(v) / 2;
        uint8_t *b = malloc(bl + 1);
        if (!b || strlen(v) % 2 || !lp__unhex(v, b, bl))
          s = lp_error_at(err, LP_EDATA, path, line, names[i], "not a hex blob");
        else
          sqlite3_bind_blob(ins, (int)i + 1, b, (int)bl, SQLITE_TRANSIENT);
        free(b);
      } else {
        s = lp_error_at(err, LP_EDATA, path, line, names[i], "text must be quoted");
      }
    }
    free_cells(c, n);
    if (s) break;
    if (sqlite3_step(ins) != SQLITE_DONE) {
      s = lp__db_fail(t, err, "importing");
      lp_error e2 = *err;
      lp_error_at(err, LP_EDATA, path, line, NULL, "%s", e2.message);
      break;
    }
    rows++;
  }
  if (!s && expect_rows >= 0 && rows != expect_rows)
    s = lp_error_at(err, LP_EDATA, path, 0, NULL, "%ld rows where the manifest says %ld", rows, expect_rows);
done:
  lp__finalize(t, ins);
  for (size_t i = 0; i < ncols; i++) free(names[i]);
  free(r.buf);
  return s;
}

/* The manifest's values: schema_version and rows.<table>. */
static lp_status read_manifest(const char *dir, int *version, long *counts, lp_error *err) {
  char path[1200];
  snprintf(path, sizeof path, "%s/manifest.csv", dir);
  reader r = {path, NULL, 0, 0, 0};
  lp_status s = read_file(path, &r.buf, &r.len, err);
  if (s) return s;
  cell c[4];
  size_t n;
  bool more, format = false;
  *version = 0;
  for (size_t i = 0; i < N_EXPORT; i++) counts[i] = -1;
  while (!(s = next_record(&r, c, 4, &n, &more, err)) && more) {
    if (n == 2) {
      if (!strcmp(c[0].s, "format") && !strcmp(c[1].s, "leopards-trial-export")) format = true;
      if (!strcmp(c[0].s, "schema_version")) *version = atoi(c[1].s);
      for (size_t i = 0; i < N_EXPORT; i++)
        if (!strncmp(c[0].s, "rows.", 5) && !strcmp(c[0].s + 5, export_tables[i])) counts[i] = atol(c[1].s);
    }
    free_cells(c, n);
  }
  free(r.buf);
  if (s) return s;
  if (!format) return lp_error_at(err, LP_EDATA, path, 0, NULL, "not a leopards trial export");
  if (*version < 1 || *version > LP_TRIAL_SCHEMA_VERSION)
    return lp_error_at(err, LP_EUNSUPPORTED, path, 0, NULL, "schema version %d; this leopards reads 1 to %d", *version,
                       LP_TRIAL_SCHEMA_VERSION);
  return LP_OK;
}

lp_status lp_trial_import(const char *path, const char *dir, lp_error *err) {
  struct stat sb;
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  if (stat(path, &sb) == 0)
    return lp_error_set(err, LP_ESTATE, "%s already exists: import builds a fresh database", path);
  int version;
  long counts[N_EXPORT];
  lp_status s = read_manifest(dir, &version, counts, err);
  if (s) return s;
  lp_trial *t;
  if ((s = lp__create_db(path, "import builds a fresh database", &t, err))) return s;
  if ((s = lp__begin(t, err))) goto fail;
  if ((s = lp__exec(t, "PRAGMA defer_foreign_keys=ON", err))) goto fail;
  if ((s = lp__migrate(t, version, err))) goto fail;
  for (size_t i = 0; i < N_EXPORT; i++) {
    bool yes;
    if ((s = table_exists(t, export_tables[i], &yes, err))) goto fail;
    if (!yes) continue;
    if ((s = import_table(t, dir, export_tables[i], counts[i], err))) goto fail;
  }
  if ((s = lp__migrate(t, LP_TRIAL_SCHEMA_VERSION, err))) goto fail;
  if ((s = lp__load_context(t, err))) goto fail;
  lp_audit_report rep;
  if ((s = lp__audit_verify_tx(t, NULL, &rep, err))) goto fail;
  if (rep.nproblems) {
    s = lp_error_set(err, LP_EINTEGRITY, "%s: the imported audit trail does not verify: %s", dir,
                     rep.problems[0].message);
    goto fail;
  }
  /* An export from before consent was tracked: its patients owe nothing. (A keyed
   * trail takes no entry without its key, which an import does not have: such a trial
   * keeps the old rules, no consent required, until its settings are changed.) */
  if (version < 6 && !lp_trial_audit_keyed(t) &&
      (s = lp__consent_mark_untracked(t, "import", "imported: recorded before consent was tracked", err)))
    goto fail;
  if ((s = lp__commit(t, err))) goto fail;
  lp_trial_close(t);
  return LP_OK;
fail:
  lp__abandon_new(t);
  return s;
}
