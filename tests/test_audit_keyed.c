/* The keyed audit trail and what verification covers: the audit key (created 0600,
 * never overwritten, never replaced, needed by every write once installed, refused
 * when it is another trial's), MACs that catch what the unkeyed chain cannot,
 * checkpoints that catch truncation and rollback, the schema check over every table,
 * and sealed slots that do not open once swapped or moved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trial/trial_internal.h"
#include "trialutil.h"

static void sql(const char *db, const char *q) {
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  char *msg = NULL;
  int rc = sqlite3_exec(h, q, NULL, NULL, &msg);
  if (rc != SQLITE_OK) fail_msg("%s: %s", q, msg ? msg : "?");
  sqlite3_close(h);
}

static void copy_file(const char *from, const char *to) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "rm -f '%s' '%s-wal' '%s-shm' && cp '%s' '%s'", to, to, to, from, to);
  assert_int_equal(system(cmd), 0);
}

/* The first problem of a verification of `db` (with key and checkpoints as given);
 * "" when intact. */
static const char *first_problem(const char *db, const lp_audit_key *k, const char *checkpoints, lp_audit_report *r) {
  lp_trial *t;
  TU_CHECK(lp_audit_open(db, &t, &e_));
  lp_audit_check c = {.key = k, .checkpoints = checkpoints};
  TU_CHECK(lp_audit_verify_with(t, &c, r, &e_));
  lp_trial_close(t);
  return r->nproblems ? r->problems[0].message : "";
}

static bool any_problem(const lp_audit_report *r, const char *needle) {
  for (size_t i = 0; i < r->nproblems; i++)
    if (strstr(r->problems[i].message, needle)) return true;
  return false;
}

/* A trial with its audit key installed, a list, two randomised patients. */
static void keyed_trial(const char *dir, char db[600], char ak[600]) {
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 2, 4, &k);
  snprintf(db, 600, "%s/trial.db", dir);
  snprintf(ak, 600, "%s/trial.db.audit-key", dir);
  TU_CHECK(lp_audit_key_install(t, ak, "mgr", &e_));
  lp_screen_result sr;
  lp_allocation al;
  TU_CHECK(lp_trial_screen(t, "S01", "P1", TU_ELIGIBLE, "invS01", &sr, &e_));
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &al, &e_));
  TU_CHECK(lp_trial_screen(t, "S01", "P2", TU_ELIGIBLE, "invS01", &sr, &e_));
  TU_CHECK(tu_consent(t, "P2", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P2", "invS01", &al, &e_));
  lp_key_free(k);
  lp_trial_close(t);
}

/* Item 10: the key file, writes that need it, MACs that catch an edit. */
static void test_audit_key(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], ak[600], path[700];
  keyed_trial(dir, db, ak);
  struct stat sb;
  assert_int_equal(stat(ak, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  lp_trial *t;
  lp_error err;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_true(lp_trial_audit_keyed(t));
  /* a write without the key is refused and changes nothing */
  assert_int_equal(lp_user_add(t, "mgr", "eve", LP_ROLE_MANAGER, NULL, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "audit key"));
  /* never replaced, never overwritten */
  snprintf(path, sizeof path, "%s/second.audit-key", dir);
  assert_int_equal(lp_audit_key_install(t, path, "mgr", &err), LP_ESTATE);
  assert_int_equal(stat(path, &sb), -1);
  /* with the key the write goes through */
  TU_CHECK(lp_trial_open_audit_key(t, ak, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "eve", LP_ROLE_MANAGER, NULL, &e_));
  lp_trial_close(t);
  /* a key readable by others is refused */
  chmod(ak, 0640);
  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_int_equal(lp_trial_open_audit_key(t, ak, &err), LP_EDENIED);
  lp_trial_close(t);
  chmod(ak, 0600);
  /* another trial's key is refused */
  char dir2[700], db2[700], ak2[700];
  snprintf(dir2, sizeof dir2, "%s/other", dir);
  mkdir(dir2, 0700);
  lp_trial *t2 = tu_trial(dir2, 1, 2, NULL);
  snprintf(ak2, sizeof ak2, "%s/trial.db.audit-key", dir2);
  snprintf(db2, sizeof db2, "%s/trial.db", dir2);
  TU_CHECK(lp_audit_key_install(t2, ak2, "mgr", &e_));
  lp_trial_close(t2);
  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_int_equal(lp_trial_open_audit_key(t, ak2, &err), LP_EDENIED);
  /* nor does a borrowed one of another trial write */
  lp_audit_key *other;
  TU_CHECK(lp_audit_key_load(NULL, ak2, &other, &e_));
  lp_trial_use_audit_key(t, other);
  assert_int_equal(lp_user_add(t, "mgr", "eve2", LP_ROLE_MANAGER, NULL, &err), LP_EDENIED);
  lp_trial_use_audit_key(t, NULL);
  lp_audit_key_free(other);
  lp_trial_close(t);

  lp_audit_key *k, *k2;
  TU_CHECK(lp_audit_key_load(NULL, ak, &k, &e_));
  TU_CHECK(lp_audit_key_load(NULL, ak2, &k2, &e_));
  lp_audit_report r;
  assert_string_equal(first_problem(db, k, NULL, &r), "");
  assert_true(r.key_checked);
  assert_true(r.keyed_from > 1);
  assert_int_equal(r.macs_checked, r.entries - r.keyed_from + 1);
  assert_string_equal(first_problem(db, NULL, NULL, &r), "");
  assert_false(r.key_checked);
  assert_int_equal(r.macs_checked, 0);
  first_problem(db, k2, NULL, &r);
  assert_true(any_problem(&r, "another trial"));

  /* an entry whose hash is made to match again (as a re-hash of the chain does):
   * the unkeyed chain cannot tell, the MAC can */
  char c[700];
  snprintf(c, sizeof c, "%s/c.db", dir);
  copy_file(db, c);
  long target = r.keyed_from + 3;
  char q[400];
  snprintf(q, sizeof q, "UPDATE audit SET mac = (SELECT mac FROM audit WHERE id=%ld) WHERE id=%ld", target + 1, target);
  sql(c, q);
  const char *p = first_problem(c, k, NULL, &r);
  char want[64];
  snprintf(want, sizeof want, "audit entry %ld ", target);
  assert_non_null(strstr(p, want));
  assert_non_null(strstr(p, "MAC"));
  /* an entry stripped of its MAC is caught even without the key */
  copy_file(db, c);
  snprintf(q, sizeof q, "UPDATE audit SET mac = NULL WHERE id=%ld", target);
  sql(c, q);
  p = first_problem(c, NULL, NULL, &r);
  assert_non_null(strstr(p, want));
  assert_non_null(strstr(p, "no MAC"));
  /* a trail with every MAC removed is caught with the key */
  copy_file(db, c);
  sql(c, "UPDATE audit SET mac = NULL");
  first_problem(c, k, NULL, &r);
  assert_true(any_problem(&r, "carries a MAC"));
  lp_audit_key_free(k);
  lp_audit_key_free(k2);
  tu_rmrf(dir);
  free(dir);
}

/* Item 11: checkpoints catch truncation and rollback to an older copy. */
static void test_checkpoints(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], ak[600], cp[700], old[700];
  keyed_trial(dir, db, ak);
  snprintf(cp, sizeof cp, "%s/checkpoints", dir);
  snprintf(old, sizeof old, "%s/old.db", dir);
  lp_trial *t;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  TU_CHECK(lp_trial_open_audit_key(t, ak, &e_));
  sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  copy_file(db, old);
  lp_audit_checkpoint c1, c2;
  TU_CHECK(lp_audit_checkpoint_take(t, &c1, &e_));
  TU_CHECK(lp_audit_checkpoint_append(&c1, cp, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "later", LP_ROLE_MANAGER, NULL, &e_));
  TU_CHECK(lp_audit_checkpoint_take(t, &c2, &e_));
  TU_CHECK(lp_audit_checkpoint_append(&c2, cp, &e_));
  assert_int_equal(c2.entry, c1.entry + 1);
  char line[160];
  lp_audit_checkpoint_format(&c2, line, sizeof line);
  assert_int_equal((int)strlen(line), (int)(strspn(line, "0123456789") + 1 + 64 + 1 + strlen(c2.at)));
  lp_trial_close(t);
  sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  lp_audit_key *k;
  TU_CHECK(lp_audit_key_load(NULL, ak, &k, &e_));
  lp_audit_report r;
  assert_string_equal(first_problem(db, k, cp, &r), "");
  assert_int_equal(r.checkpoints, 2);
  /* the older copy: every entry it has is right, but it stops short */
  const char *p = first_problem(old, k, cp, &r);
  assert_non_null(strstr(p, "rolled back"));
  assert_non_null(strstr(p, "checkpoint line 2"));
  /* the newest entry and its row removed (the unkeyed check alone passes this) */
  char c[700];
  snprintf(c, sizeof c, "%s/c.db", dir);
  copy_file(db, c);
  sql(c, "DELETE FROM users WHERE name='later'; DELETE FROM audit WHERE id=(SELECT max(id) FROM audit)");
  assert_string_equal(first_problem(c, k, NULL, &r), "");
  p = first_problem(c, k, cp, &r);
  assert_non_null(strstr(p, "truncated"));
  /* a malformed checkpoint file is an error naming its line */
  FILE *f = fopen(cp, "a");
  fputs("12 nothex\n", f);
  fclose(f);
  TU_CHECK(lp_audit_open(db, &t, &e_));
  lp_audit_check ch = {.key = k, .checkpoints = cp};
  lp_error err;
  assert_int_equal(lp_audit_verify_with(t, &ch, &r, &err), LP_EPARSE);
  assert_non_null(strstr(err.message, ":3"));
  lp_trial_close(t);
  lp_audit_key_free(k);
  tu_rmrf(dir);
  free(dir);
}

/* Item 12: every table of the schema is covered; each one dropped is named; planted
 * triggers, views, columns and indexes are named. */
static void test_whole_schema(void **state) {
  (void)state;
  sqlite3 *ref;
  TU_CHECK(lp__schema_reference(LP_TRIAL_SCHEMA_VERSION, &ref, &e_));
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(ref, "SELECT name FROM sqlite_schema WHERE type='table'", -1, &st, NULL), 0);
  char tables[32][64];
  int nt = 0;
  while (sqlite3_step(st) == SQLITE_ROW && nt < 32) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    snprintf(tables[nt++], 64, "%s", name);
    int in = lp__is_audited(name) ? 1 : 0;
    for (size_t i = 0; i < lp__nunaudited_tables; i++) in += !strcmp(name, lp__unaudited_tables[i]);
    if (in != 1) fail_msg("table %s must be in exactly one of the audited and the unaudited lists", name);
  }
  sqlite3_finalize(st);
  sqlite3_close(ref);
  assert_true(nt >= 13);

  char *dir = tu_tmpdir(), db[600], ak[600], c[700], q[300], want[128];
  keyed_trial(dir, db, ak);
  sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  snprintf(c, sizeof c, "%s/c.db", dir);
  lp_audit_report r;
  for (int i = 0; i < nt; i++) {
    copy_file(db, c);
    snprintf(q, sizeof q, "PRAGMA foreign_keys=OFF; DROP TABLE %s", tables[i]);
    sql(c, q);
    snprintf(want, sizeof want, "table %s is missing", tables[i]);
    const char *p = first_problem(c, NULL, NULL, &r);
    if (!strstr(p, want)) fail_msg("dropping %s: first problem '%s'", tables[i], p);
  }
  static const char *const plants[][2] = {
      {"CREATE TRIGGER t15 AFTER INSERT ON daily BEGIN UPDATE daily SET gcs=15 WHERE id=new.id; END", "trigger 't15'"},
      {"CREATE TRIGGER promote AFTER INSERT ON users BEGIN UPDATE users SET role='manager'; END", "trigger 'promote'"},
      {"CREATE VIEW arms AS SELECT * FROM slots", "view 'arms'"},
      {"ALTER TABLE outcomes ADD COLUMN note TEXT", "extra column 'note'"},
      {"CREATE UNIQUE INDEX u ON daily(patient)", "index 'u'"},
      {"CREATE TABLE notes(x)", "table 'notes'"},
  };
  for (size_t i = 0; i < sizeof plants / sizeof plants[0]; i++) {
    copy_file(db, c);
    sql(c, plants[i][0]);
    const char *p = first_problem(c, NULL, NULL, &r);
    if (!strstr(p, plants[i][1])) fail_msg("%s: first problem '%s'", plants[i][0], p);
  }
  tu_rmrf(dir);
  free(dir);
}

/* Item 13: a sealed slot swapped with another, or moved to another site, does not
 * open, and the slot is named. */
static void test_slots_swapped(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], ak[600], c[700], kp[700];
  keyed_trial(dir, db, ak);
  sql(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  snprintf(c, sizeof c, "%s/c.db", dir);
  snprintf(kp, sizeof kp, "%s/trial.key", dir);
  static const char *const edits[] = {
      "UPDATE slots SET nonce=(SELECT nonce FROM slots WHERE id=2), sealed=(SELECT sealed FROM slots WHERE id=2) "
      "WHERE id=1; UPDATE slots SET nonce=(SELECT nonce FROM slots WHERE id=3), sealed=(SELECT sealed FROM slots "
      "WHERE id=3) WHERE id=2",
      "UPDATE slots SET (nonce, sealed)=(SELECT nonce, sealed FROM slots WHERE site_id=1 AND seq=1) "
      "WHERE site_id=2 AND seq=1",
  };
  static const char *const named[] = {"slot 1 of site number 1 ", "slot 1 of site number 2 "};
  for (size_t i = 0; i < 2; i++) {
    copy_file(db, c);
    sql(c, edits[i]);
    lp_trial *t;
    lp_trial_key *k;
    lp_error err;
    TU_CHECK(lp_trial_open(c, &t, &e_));
    TU_CHECK(lp_key_load(t, kp, &k, &e_));
    lp_list_report rep;
    assert_int_equal(lp_list_report_make(t, k, &rep, &err), LP_EINTEGRITY);
    if (!strstr(err.message, named[i]) || !strstr(err.message, "does not open"))
      fail_msg("edit %zu: '%s' does not name %s", i, err.message, named[i]);
    lp_key_free(k);
    lp_trial_close(t);
  }
  /* A swap of two randomised patients' slots with the whole chain re-hashed (which
   * the unkeyed check cannot see) is in tests/cli/audit_tamper.sh, forged by
   * tests/cli/audit_forge.py as an adversary would. */
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_audit_key),
      cmocka_unit_test(test_checkpoints),
      cmocka_unit_test(test_whole_schema),
      cmocka_unit_test(test_slots_swapped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
