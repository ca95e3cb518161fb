/* Reading the trial from one snapshot, and the two audited ways of being given the
 * arms besides unblinding: an export with the arms (after lock) and the export behind
 * a closed report for the data monitoring committee (while the trial runs). Each
 * writes one row of `disclosures`, audited, saying who was given how many patients'
 * arms and where they were written; nothing else in the trial changes. */
#include <stdio.h>
#include <string.h>

#include <leopards/outdir.h>

#include "trial/trial_internal.h"

lp_status lp_trial_snapshot_begin(lp_trial *t, lp_error *err) {
  if (!sqlite3_get_autocommit(t->db))
    return lp_error_set(err, LP_ESTATE, "%s: a transaction is already open on this handle", t->path);
  if (sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return lp__db_fail(t, err, "starting a read transaction");
  /* SQLite takes the snapshot at the first read: take it now. */
  lp_status s = lp__exec(t, "SELECT count(*) FROM meta", err);
  if (s) lp__rollback(t);
  return s;
}

void lp_trial_snapshot_end(lp_trial *t) {
  if (t) lp__rollback(t);
}

lp_status lp__disclosure(lp_trial *t, const char *user, const char *what, const char *where, long patients,
                         lp_error *err) {
  lp_status s;
  char now[40];
  if ((s = lp__begin(t, err))) return s;
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  int rc = SQLITE_OK;
  if ((s = lp__prepare(t, "INSERT INTO disclosures(at, user, what, destination, patients) VALUES(?,?,?,?,?)", &st,
                       err)))
    goto fail;
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, user, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, what, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, where, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, patients);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "recording a disclosure of the allocations");
    goto fail;
  }
  if ((s = lp__audit_row(t, "disclosures", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, user, what, err)))
    goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

static lp_status randomised_count(lp_trial *t, long *n, lp_error *err) {
  long unused;
  return lp__two_counts(t, "SELECT count(*), ?1 FROM randomisations", 0, n, &unused, "counting the randomised patients",
                        err);
}

lp_status lp_trial_export_arms(lp_trial *t, const char *dir, const lp_trial_key *k, const char *user, lp_error *err) {
  lp_status s;
  if (!k) return lp_error_set(err, LP_EINVAL, "an export with the arms needs the trial's key");
  if (t->readonly)
    return lp_error_set(err, LP_EDENIED, "%s: opened for reading only, so the export with the arms cannot be audited",
                        t->path);
  if ((s = lp__user_check(t, user, 1u << LP_ROLE_STATISTICIAN, 0, "export the allocations", err))) return s;
  if (!lp_trial_is_locked(t))
    return lp_error_set(err, LP_ESTATE, "%s: the allocations are released only after database lock", t->path);
  if ((s = lp__key_matches(t, k, err)) || (s = lp_outdir_check(dir, err))) return s;
  long n;
  if ((s = randomised_count(t, &n, err))) return s;
  /* Recorded first: the arms are never written without their entry. */
  if ((s = lp__disclosure(t, user, "export with the allocations", dir, n, err))) return s;
  return lp__trial_export(t, dir, k, false, err);
}

lp_status lp_trial_export_closed(lp_trial *t, const char *dir, const lp_trial_key *k, const char *user,
                                 const char *where, lp_error *err) {
  lp_status s;
  if (!k) return lp_error_set(err, LP_EINVAL, "the closed report needs the trial's key to read the arms");
  if (t->readonly)
    return lp_error_set(err, LP_EDENIED, "%s: opened for reading only, so the closed report cannot be audited",
                        t->path);
  if ((s = lp__user_check(t, user, 1u << LP_ROLE_STATISTICIAN, 0, "see the closed report (the arms)", err)) ||
      (s = lp__key_matches(t, k, err)))
    return s;
  long n;
  if ((s = randomised_count(t, &n, err))) return s;
  if ((s = lp__disclosure(t, user, "closed report for the data monitoring committee", where ? where : dir, n, err)))
    return s;
  return lp__trial_export(t, dir, k, true, err);
}
