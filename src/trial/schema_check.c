/* The schema check of audit verification: the file's sqlite_schema (tables, their
 * columns and constraints, indexes, views, triggers) is compared with the schema that
 * the code's own migrations create for the file's schema version, built afresh in
 * memory. The migrations are the one place where the expected schema is written, so a
 * table added by a new migration is covered without further work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trial/trial_internal.h"

typedef struct {
  char *type, *name, *tbl, *sql;
} object;

typedef struct {
  char *name, *type, *dflt;
  int notnull, pk, hidden;
} column;

static char *dup_col(sqlite3_stmt *st, int c) {
  const char *s = (const char *)sqlite3_column_text(st, c);
  return s ? strdup(s) : NULL;
}

static bool same(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }

static void free_objects(object *o, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(o[i].type);
    free(o[i].name);
    free(o[i].tbl);
    free(o[i].sql);
  }
  free(o);
}

static void free_columns(column *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(c[i].name);
    free(c[i].type);
    free(c[i].dflt);
  }
  free(c);
}

static lp_status load_objects(sqlite3 *db, const char *what, object **out, size_t *n, lp_error *err) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  if (sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name", -1, &st, NULL))
    return lp_error_set(err, LP_EDB, "reading the schema of %s: %s", what, sqlite3_errmsg(db));
  size_t cap = 0;
  int rc;
  lp_status s = LP_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 32;
      object *o = realloc(*out, cap * sizeof *o);
      if (!o) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory");
        break;
      }
      *out = o;
    }
    object *o = &(*out)[(*n)++];
    o->type = dup_col(st, 0);
    o->name = dup_col(st, 1);
    o->tbl = dup_col(st, 2);
    o->sql = dup_col(st, 3);
  }
  if (!s && rc != SQLITE_DONE) s = lp_error_set(err, LP_EDB, "reading the schema of %s: %s", what, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return s;
}

static lp_status load_columns(sqlite3 *db, const char *table, column **out, size_t *n, lp_error *err) {
  sqlite3_stmt *st;
  *out = NULL;
  *n = 0;
  if (sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)", -1,
                         &st, NULL))
    return lp_error_set(err, LP_EDB, "reading the columns of %s: %s", table, sqlite3_errmsg(db));
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  size_t cap = 0;
  int rc;
  lp_status s = LP_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 32;
      column *c = realloc(*out, cap * sizeof *c);
      if (!c) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory");
        break;
      }
      *out = c;
    }
    column *c = &(*out)[(*n)++];
    c->name = dup_col(st, 0);
    c->type = dup_col(st, 1);
    c->notnull = sqlite3_column_int(st, 2);
    c->dflt = dup_col(st, 3);
    c->pk = sqlite3_column_int(st, 4);
    c->hidden = sqlite3_column_int(st, 5);
  }
  if (!s && rc != SQLITE_DONE)
    s = lp_error_set(err, LP_EDB, "reading the columns of %s: %s", table, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return s;
}

static const column *find_column(const column *c, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (c[i].name && !strcmp(c[i].name, name)) return &c[i];
  return NULL;
}

/* Each reference (foreign key) of the expected table that the file's lacks, named by
 * its columns and the table it points to. */
static void missing_references(sqlite3 *file, sqlite3 *ref, const char *table, lp_audit_report *r) {
  static const char q[] =
      "SELECT \"table\" || ':' || group_concat(\"from\" || '>' || coalesce(\"to\", ''), ',') "
      "FROM (SELECT * FROM pragma_foreign_key_list(?1) ORDER BY id, seq) GROUP BY id";
  sqlite3_stmt *a, *b;
  if (sqlite3_prepare_v2(ref, q, -1, &a, NULL) != SQLITE_OK) return;
  if (sqlite3_prepare_v2(file, q, -1, &b, NULL) != SQLITE_OK) {
    sqlite3_finalize(a);
    return;
  }
  sqlite3_bind_text(a, 1, table, -1, SQLITE_STATIC);
  sqlite3_bind_text(b, 1, table, -1, SQLITE_STATIC);
  while (sqlite3_step(a) == SQLITE_ROW) {
    const char *want = (const char *)sqlite3_column_text(a, 0);
    bool found = false;
    sqlite3_reset(b);
    while (!found && sqlite3_step(b) == SQLITE_ROW) {
      const char *have = (const char *)sqlite3_column_text(b, 0);
      found = want && have && !strcmp(want, have);
    }
    if (!found && want)
      lp__audit_problem(r, 0, table, 0, "table %s has lost its reference %s (columns>referenced columns)", table, want);
  }
  sqlite3_finalize(a);
  sqlite3_finalize(b);
}

/* A table of both schemas whose definitions differ: name the columns, else say that
 * its constraints differ. */
static lp_status compare_table(sqlite3 *file, sqlite3 *ref, const char *table, lp_audit_report *r, lp_error *err) {
  column *fc = NULL, *rc = NULL;
  size_t nf = 0, nr = 0;
  lp_status s = load_columns(file, table, &fc, &nf, err);
  if (!s) s = load_columns(ref, table, &rc, &nr, err);
  size_t before = r->nproblems + r->more; /* a constraint named already says it */
  for (size_t i = 0; !s && i < nf; i++) {
    const column *x = find_column(rc, nr, fc[i].name);
    if (!x)
      lp__audit_problem(r, 0, table, 0, "table %s has an extra column '%s' that leopards did not create", table,
                        fc[i].name ? fc[i].name : "");
    else if (!same(x->type, fc[i].type) || x->notnull != fc[i].notnull || !same(x->dflt, fc[i].dflt) ||
             x->pk != fc[i].pk || x->hidden != fc[i].hidden)
      lp__audit_problem(r, 0, table, 0, "column %s of table %s was redefined (type, NOT NULL, default or key)",
                        fc[i].name, table);
  }
  for (size_t i = 0; !s && i < nr; i++)
    if (!find_column(fc, nf, rc[i].name))
      lp__audit_problem(r, 0, table, 0, "table %s has lost its column '%s'", table, rc[i].name);
  if (!s) missing_references(file, ref, table, r);
  bool said = r->nproblems + r->more != before;
  for (size_t i = 0; !said && i < r->nproblems; i++) said = !strcmp(r->problems[i].table, table);
  if (!s && !said)
    lp__audit_problem(r, 0, table, 0,
                      "table %s was redefined: its columns are as expected but its definition (constraints: "
                      "UNIQUE, CHECK, REFERENCES, STRICT) differs from the one leopards creates",
                      table);
  free_columns(fc, nf);
  free_columns(rc, nr);
  return s;
}

static const object *find_object(const object *o, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (o[i].name && !strcmp(o[i].name, name)) return &o[i];
  return NULL;
}

static void report_extra(const object *o, lp_audit_report *r) {
  const char *type = o->type ? o->type : "?", *name = o->name ? o->name : "?", *tbl = o->tbl ? o->tbl : "?";
  if (!strcmp(type, "trigger"))
    lp__audit_problem(r, 0, tbl, 0,
                      "the database has a trigger '%s' on table %s that leopards did not create: a trigger "
                      "can change what is written without an audit entry",
                      name, tbl);
  else if (!strcmp(type, "view"))
    lp__audit_problem(r, 0, name, 0, "the database has a view '%s' that leopards did not create", name);
  else if (!strcmp(type, "index"))
    lp__audit_problem(r, 0, tbl, 0, "the database has an index '%s' on table %s that leopards did not create", name,
                      tbl);
  else
    lp__audit_problem(r, 0, name, 0, "the database has a %s '%s' that leopards did not create", type, name);
}

/* "(a, b)": the columns of an index (or of the columns list of a foreign key). */
static void list_columns(sqlite3 *db, const char *sql, const char *name, char *buf, size_t n) {
  sqlite3_stmt *st;
  size_t k = (size_t)snprintf(buf, n, "(");
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    for (int i = 0; sqlite3_step(st) == SQLITE_ROW && k < n; i++) {
      const char *c = (const char *)sqlite3_column_text(st, 0);
      k += (size_t)snprintf(buf + k, n - k, "%s%s", i ? ", " : "", c ? c : "?");
    }
    sqlite3_finalize(st);
  }
  if (k < n) snprintf(buf + k, n - k, ")");
}

static void report_missing(sqlite3 *ref, const object *o, lp_audit_report *r) {
  if (!strcmp(o->type, "table")) {
    lp__audit_problem(r, 0, o->name, 0, "table %s is missing", o->name);
  } else if (!strncmp(o->name, "sqlite_autoindex_", 17)) {
    char cols[200];
    list_columns(ref, "SELECT name FROM pragma_index_info(?1) ORDER BY seqno", o->name, cols, sizeof cols);
    lp__audit_problem(r, 0, o->tbl, 0, "the UNIQUE constraint of table %s on %s is missing (%s)", o->tbl, cols,
                      o->name);
  } else
    lp__audit_problem(r, 0, o->tbl, 0, "%s %s of table %s is missing: a constraint leopards relies on is gone", o->type,
                      o->name, o->tbl);
}

lp_status lp__schema_check(lp_trial *t, int version, lp_audit_report *r, lp_error *err) {
  if (version < 1 || version > LP_TRIAL_SCHEMA_VERSION) {
    lp__audit_problem(r, 0, NULL, 0, "the file's schema version is %d; leopards knows versions 1 to %d", version,
                      LP_TRIAL_SCHEMA_VERSION);
    return LP_OK;
  }
  sqlite3 *ref = NULL;
  object *fo = NULL, *ro = NULL;
  size_t nf = 0, nr = 0;
  lp_status s = lp__schema_reference(version, &ref, err);
  if (!s) s = load_objects(t->db, t->path, &fo, &nf, err);
  if (!s) s = load_objects(ref, "the expected schema", &ro, &nr, err);
  /* Missing tables first, then missing constraints and indexes (an index of a
   * missing table goes unsaid); then what is extra or differs. */
  for (int pass = 0; !s && pass < 2; pass++)
    for (size_t i = 0; i < nr; i++) {
      bool table = !strcmp(ro[i].type, "table");
      if (table != (pass == 0)) continue;
      r->schema_objects++;
      if (find_object(fo, nf, ro[i].name)) continue;
      if (!table && ro[i].tbl && !find_object(fo, nf, ro[i].tbl)) continue;
      report_missing(ref, &ro[i], r);
    }
  for (size_t i = 0; !s && i < nf; i++) {
    const object *x = find_object(ro, nr, fo[i].name ? fo[i].name : "");
    if (!x) {
      report_extra(&fo[i], r);
    } else if (!same(x->type, fo[i].type)) {
      lp__audit_problem(r, 0, fo[i].name, 0, "%s is a %s where leopards creates a %s", fo[i].name,
                        fo[i].type ? fo[i].type : "?", x->type);
    } else if (!same(x->tbl, fo[i].tbl) || !same(x->sql, fo[i].sql)) {
      if (!strcmp(x->type, "table")) s = compare_table(t->db, ref, x->name, r, err);
      else
        lp__audit_problem(r, 0, x->tbl, 0, "%s %s (table %s) differs from the one leopards creates", x->type, x->name,
                          x->tbl);
    }
  }
  free_objects(fo, nf);
  free_objects(ro, nr);
  sqlite3_close(ref);
  return s;
}
