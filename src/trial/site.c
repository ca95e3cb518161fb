/* Sites during the trial: a trial manager adds a site (it gets its randomisation list
 * when the statistician, or a server holding the key, extends the list) and closes one
 * to recruitment (screening and randomisation there are then refused; its patients'
 * data go on). Both are audited with the site's row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/text.h>

#include "trial/trial_internal.h"

static const char *col(sqlite3_stmt *st, int i) {
  const unsigned char *p = sqlite3_column_text(st, i);
  return p ? (const char *)p : "";
}

lp_status lp_site_add(lp_trial *t, const char *by, const char *code, const char *name, lp_error *err) {
  lp_status s;
  if (!code || !*code || strlen(code) > 32 || strchr(code, ',') || strchr(code, ' '))
    return lp__with_field(
        err, "code", lp_error_set(err, LP_EINVAL, "a site code needs 1 to 32 characters without spaces or commas"));
  if (!name || !*name) name = code;
  if ((s = lp_text_check_identifier(code, "the site code", 32, err))) return lp__with_field(err, "code", s);
  if ((s = lp_text_check_identifier(name, "the site name", 200, err))) return lp__with_field(err, "name", s);
  if ((s = lp__begin(t, err))) return s;
  int rc = SQLITE_OK;
  if ((s = lp__check_unlocked(t, err)) || (s = lp__user_may(t, by, LP_DO_MANAGE_SITES, 0, "add sites", err))) goto fail;
  sqlite3_stmt *st;
  if ((s = lp__prepare(t, "INSERT INTO sites(code, name) VALUES(?,?)", &st, err))) goto fail;
  sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT) {
    s = lp__with_field(err, "code", lp_error_set(err, LP_ESTATE, "there is a site '%s' already", code));
    goto fail;
  }
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "adding a site");
    goto fail;
  }
  if ((s = lp__audit_row(t, "sites", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, by,
                         "site added during the trial", err)))
    goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

lp_status lp_site_close(lp_trial *t, const char *by, const char *code, const char *reason, lp_error *err) {
  lp_status s;
  if (!reason || strlen(reason) < 3)
    return lp__with_field(err, "reason", lp_error_set(err, LP_EINVAL, "closing a site needs a reason in words"));
  if ((s = lp__begin(t, err))) return s;
  long id = 0;
  char *old = NULL;
  int rc = SQLITE_OK;
  if ((s = lp__check_unlocked(t, err)) || (s = lp__site_id(t, code, &id, err)) ||
      (s = lp__user_may(t, by, LP_DO_MANAGE_SITES, 0, "close sites", err)))
    goto fail;
  if (lp__site_open(t, id, NULL)) {
    s = lp__with_field(err, "site", lp_error_set(err, LP_ESTATE, "site %s is closed to recruitment already", code));
    goto fail;
  }
  if ((s = lp__row_json(t, "sites", id, &old, err))) goto fail;
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if ((s = lp__prepare(t, "UPDATE sites SET closed_at=?, closed_by=?, closed_reason=? WHERE id=?", &st, err)))
    goto fail;
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, by, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, reason, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, id);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "closing a site");
    goto fail;
  }
  if ((s = lp__audit_row(t, "sites", id, old, NULL, by, reason, err))) goto fail;
  free(old);
  return lp__commit(t, err);
fail:
  free(old);
  lp__rollback(t);
  return s;
}

lp_status lp__site_open(lp_trial *t, long site_id, lp_error *err) {
  sqlite3_stmt *st;
  if (t->schema_version < 7) return LP_OK;
  if (lp__prepare(t, "SELECT code, closed_at, closed_reason FROM sites WHERE id=?", &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, site_id);
  lp_status s = LP_OK;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_type(st, 1) != SQLITE_NULL)
    s = lp__with_field(err, "site",
                       lp_error_set(err, LP_ESTATE,
                                    "site %s was closed to recruitment on %.10s (%s): no new patient "
                                    "is screened or randomised there",
                                    col(st, 0), col(st, 1), col(st, 2)));
  else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    s = lp__db_fail(t, err, "reading a site");
  lp__finalize(t, st);
  return s;
}

lp_status lp_site_list(lp_trial *t, lp_site_info **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  t->schema_version >= 7
                      ? "SELECT s.code, s.name, s.closed_at, s.closed_by, s.closed_reason,"
                        " (SELECT count(*) FROM slots WHERE site_id=s.id),"
                        " (SELECT count(*) FROM randomisations WHERE site_id=s.id) FROM sites s ORDER BY s.id"
                      : "SELECT s.code, s.name, NULL, NULL, NULL, (SELECT count(*) FROM slots WHERE site_id=s.id),"
                        " (SELECT count(*) FROM randomisations WHERE site_id=s.id) FROM sites s ORDER BY s.id",
                  &st, err))
    return LP_EDB;
  size_t cap = 0;
  int rc;
  lp_status s = LP_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      lp_site_info *p = realloc(*out, cap * sizeof *p);
      if (!p) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory listing the sites");
        break;
      }
      *out = p;
    }
    lp_site_info *x = &(*out)[(*n)++];
    memset(x, 0, sizeof *x);
    snprintf(x->code, sizeof x->code, "%s", col(st, 0));
    snprintf(x->name, sizeof x->name, "%s", col(st, 1));
    x->closed = sqlite3_column_type(st, 2) != SQLITE_NULL;
    snprintf(x->closed_at, sizeof x->closed_at, "%s", col(st, 2));
    snprintf(x->closed_by, sizeof x->closed_by, "%s", col(st, 3));
    snprintf(x->closed_reason, sizeof x->closed_reason, "%s", col(st, 4));
    x->slots = (long)sqlite3_column_int64(st, 5);
    x->randomised = (long)sqlite3_column_int64(st, 6);
  }
  if (!s && rc != SQLITE_DONE) s = lp__db_fail(t, err, "listing the sites");
  lp__finalize(t, st);
  if (s) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return s;
}
