/* One snapshot and the audited disclosures: a handle holding a snapshot exports and
 * counts the trial as of one commit while another handle randomises; the closed
 * report's export gives the arms before lock only to a statistician with the key,
 * after recording one disclosure; an export with the arms is refused before lock and
 * audited after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

static long count(lp_trial *t, const char *sql) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(t->db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long n = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* Data lines of a CSV file (its header left out). */
static long csv_rows(const char *dir, const char *name) {
  char path[1200], line[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long n = -1;
  while (fgets(line, sizeof line, f)) n++;
  fclose(f);
  return n;
}

static void randomise(lp_trial *t, const char *patient) {
  lp_screen_result sr;
  lp_allocation al;
  TU_CHECK(lp_trial_screen(t, "S01", patient, TU_ELIGIBLE, "invS01", &sr, &e_));
  TU_CHECK(tu_consent(t, patient, "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", patient, "invS01", &al, &e_));
}

static void snapshot_sees_one_commit(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], e1[700], e2[700];
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 2, 6, &k);
  randomise(t, "P1");
  snprintf(db, sizeof db, "%s/trial.db", dir);
  lp_trial *r;
  TU_CHECK(lp_trial_open_readonly(db, &r, &e_));
  TU_CHECK(lp_trial_snapshot_begin(r, &e_));
  lp_error err;
  assert_int_equal(lp_trial_snapshot_begin(r, &err), LP_ESTATE); /* one at a time */
  randomise(t, "P2");                                            /* committed meanwhile */
  snprintf(e1, sizeof e1, "%s/e1", dir);
  TU_CHECK(lp_trial_export(r, e1, NULL, &e_));
  lp_progress p;
  TU_CHECK(lp_trial_progress(r, NULL, NULL, &p, &e_));
  assert_int_equal(p.total.randomised, 1);
  lp_progress_clear(&p);
  assert_int_equal(csv_rows(e1, "randomisations.csv"), 1);
  lp_trial_snapshot_end(r);
  snprintf(e2, sizeof e2, "%s/e2", dir);
  TU_CHECK(lp_trial_export(r, e2, NULL, &e_));
  assert_int_equal(csv_rows(e2, "randomisations.csv"), 2);
  lp_trial_close(r);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

static void closed_export_is_a_disclosure(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), out[700];
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 2, 6, &k);
  randomise(t, "P1");
  randomise(t, "P2");
  long audit0 = count(t, "SELECT count(*) FROM audit");
  snprintf(out, sizeof out, "%s/closed", dir);
  lp_error err;
  /* Refused: not a statistician, or without the key; nothing recorded or written. */
  assert_int_equal(lp_trial_export_closed(t, out, k, "invS01", NULL, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "may not see the closed report"));
  assert_int_equal(lp_trial_export_closed(t, out, k, "mgr", NULL, &err), LP_EDENIED);
  assert_int_equal(lp_trial_export_closed(t, out, NULL, "stat", NULL, &err), LP_EINVAL);
  assert_int_equal(count(t, "SELECT count(*) FROM audit"), audit0);
  assert_int_equal(csv_rows(out, "allocations.csv"), -1);
  /* Before lock the ordinary export and the audited one refuse the arms. */
  assert_int_equal(lp_trial_export(t, out, k, &err), LP_ESTATE);
  assert_int_equal(lp_trial_export_arms(t, out, k, "stat", &err), LP_ESTATE);
  assert_int_equal(count(t, "SELECT count(*) FROM disclosures"), 0);
  /* The statistician with the key: one disclosure, then the arms, unlocked. */
  TU_CHECK(lp_trial_export_closed(t, out, k, "stat", "the DMC folder", &e_));
  assert_int_equal(csv_rows(out, "allocations.csv"), 2);
  assert_int_equal(count(t, "SELECT count(*) FROM audit"), audit0 + 1);
  assert_int_equal(count(t,
                         "SELECT count(*) FROM disclosures WHERE user='stat' AND destination='the DMC folder'"
                         " AND patients=2 AND what LIKE 'closed report%'"),
                   1);
  assert_int_equal(count(t, "SELECT count(*) FROM audit WHERE tbl='disclosures' AND user='stat'"), 1);
  assert_false(lp_trial_is_locked(t));
  /* After lock: the export with the arms is audited too, the plain one is not. */
  TU_CHECK(lp_trial_lock(t, "stat", &e_));
  long audit1 = count(t, "SELECT count(*) FROM audit");
  char plain[700], arms[700];
  snprintf(plain, sizeof plain, "%s/plain", dir);
  TU_CHECK(lp_trial_export(t, plain, NULL, &e_));
  assert_int_equal(count(t, "SELECT count(*) FROM audit"), audit1);
  snprintf(arms, sizeof arms, "%s/arms", dir);
  assert_int_equal(lp_trial_export_arms(t, arms, k, "mgr", &err), LP_EDENIED);
  assert_int_equal(count(t, "SELECT count(*) FROM audit"), audit1);
  TU_CHECK(lp_trial_export_arms(t, arms, k, "stat", &e_));
  assert_int_equal(csv_rows(arms, "allocations.csv"), 2);
  assert_int_equal(count(t, "SELECT count(*) FROM audit"), audit1 + 1);
  assert_int_equal(count(t, "SELECT count(*) FROM disclosures WHERE what='export with the allocations'"), 1);
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  assert_int_equal(rep.nproblems, 0);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(snapshot_sees_one_commit),
                                     cmocka_unit_test(closed_export_is_a_disclosure)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
