/* Group commit (lp_trial_batch_*): several calls' writes in one durable commit, each
 * call in a savepoint of its own, so that a refused call undoes only itself; nothing
 * of a batch is visible to another handle before its commit, nothing is left after a
 * rollback, and the audit trail verifies afterwards. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <sys/select.h>
#include <sys/wait.h>

#include "trialutil.h"

static void screen_consent(lp_trial *t, const char *site, const char *patient) {
  char user[32];
  lp_screen_result r;
  snprintf(user, sizeof user, "inv%s", site);
  TU_CHECK(lp_trial_screen(t, site, patient, TU_ELIGIBLE, user, &r, &e_));
  TU_CHECK(tu_consent(t, patient, user, &e_));
}

static bool randomised(lp_trial *t, const char *patient) {
  lp_patient_view pv;
  lp_error e;
  if (lp_patient_get(t, patient, &pv, &e)) return false;
  return pv.randomised;
}

static void verify_intact(lp_trial *t) {
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  assert_int_equal(rep.nproblems, 0);
}

static void test_batch_keeps_each_call(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  lp_trial *t = tu_trial(dir, 2, 10, NULL), *other;
  TU_CHECK(lp_trial_open(db, &other, &e_));
  screen_consent(t, "S01", "A1");
  screen_consent(t, "S01", "A2");
  screen_consent(t, "S02", "B1");
  lp_error e;
  lp_allocation a1, a2, again, b1, nobody;
  TU_CHECK(lp_trial_batch_begin(t, &e_));
  assert_int_equal(lp_trial_batch_begin(t, &e), LP_ESTATE); /* one batch at a time */
  TU_CHECK(lp_trial_randomize(t, "S01", "A1", "invS01", &a1, &e_));
  assert_true(lp_trial_batch_intact(t));
  /* refused calls undo themselves alone: not screened; another site's investigator */
  assert_int_equal(lp_trial_randomize(t, "S01", "X9", "invS01", &nobody, &e), LP_ESTATE);
  assert_int_equal(lp_trial_randomize(t, "S02", "B1", "invS01", &nobody, &e), LP_EDENIED);
  assert_true(lp_trial_batch_intact(t));
  /* a repeat within the batch sees the batch's own allocation */
  TU_CHECK(lp_trial_randomize(t, "S01", "A1", "invS01", &again, &e_));
  assert_true(again.existing);
  assert_int_equal(again.pack, a1.pack);
  TU_CHECK(lp_trial_randomize(t, "S01", "A2", "invS01", &a2, &e_));
  assert_int_equal(a2.sequence, a1.sequence + 1); /* no slot skipped by the refusals */
  TU_CHECK(lp_trial_randomize(t, "S02", "B1", "invS02", &b1, &e_));
  /* a screening within the batch too */
  lp_screen_result sr;
  TU_CHECK(lp_trial_screen(t, "S02", "B2", TU_ELIGIBLE, "invS02", &sr, &e_));
  /* before the commit another handle sees none of it */
  assert_false(randomised(other, "A1"));
  assert_false(randomised(other, "B1"));
  TU_CHECK(lp_trial_batch_commit(t, &e_));
  assert_int_equal(lp_trial_batch_commit(t, &e), LP_ESTATE); /* no batch open any more */
  assert_true(randomised(other, "A1"));
  assert_true(randomised(other, "A2"));
  assert_true(randomised(other, "B1"));
  assert_false(randomised(other, "X9"));
  lp_patient_view pv;
  TU_CHECK(lp_patient_get(other, "B2", &pv, &e_));
  verify_intact(other);
  /* and the handle writes on its own again, outside any batch */
  screen_consent(t, "S02", "B3");
  lp_allocation b3;
  TU_CHECK(lp_trial_randomize(t, "S02", "B3", "invS02", &b3, &e_));
  assert_int_equal(b3.sequence, b1.sequence + 1);
  assert_true(randomised(other, "B3"));
  verify_intact(other);
  lp_trial_close(other);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

static void test_batch_rollback_keeps_nothing(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  lp_trial *t = tu_trial(dir, 1, 10, NULL), *other;
  TU_CHECK(lp_trial_open(db, &other, &e_));
  screen_consent(t, "S01", "A1");
  screen_consent(t, "S01", "A2");
  lp_allocation a;
  TU_CHECK(lp_trial_batch_begin(t, &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "A1", "invS01", &a, &e_));
  /* a read snapshot cannot be opened inside the batch's transaction */
  lp_error e;
  assert_int_not_equal(lp_trial_snapshot_begin(t, &e), LP_OK);
  lp_trial_batch_rollback(t);
  assert_false(randomised(t, "A1"));
  assert_false(randomised(other, "A1"));
  /* the slot is still free: the next randomisation takes it */
  lp_allocation b;
  TU_CHECK(lp_trial_randomize(t, "S01", "A2", "invS01", &b, &e_));
  assert_int_equal(b.sequence, a.sequence);
  verify_intact(other);
  lp_trial_close(other);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

/* Other handles (processes, threads) wait for the batch's commit to write. */
static void test_batch_holds_other_writers(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  lp_trial *t = tu_trial(dir, 1, 10, NULL);
  screen_consent(t, "S01", "A1");
  screen_consent(t, "S01", "A2");
  int go[2], now[2], done[2];
  assert_int_equal(pipe(go), 0);
  assert_int_equal(pipe(now), 0);
  assert_int_equal(pipe(done), 0);
  pid_t pid = fork();
  if (pid == 0) {
    lp_trial *c;
    lp_error e;
    lp_allocation b;
    char x = 0;
    alarm(60);
    if (lp_trial_open(db, &c, &e)) _exit(1);
    if (write(go[1], &x, 1) != 1 || read(now[0], &x, 1) != 1) _exit(1);
    /* the parent's batch holds A1's slot: this one is the next */
    int rc = lp_trial_randomize(c, "S01", "A2", "invS01", &b, &e) ? 2 : b.sequence == 2 ? 0 : 3;
    if (write(done[1], &x, 1) != 1) _exit(1);
    lp_trial_close(c);
    _exit(rc);
  }
  char x = 0;
  assert_int_equal(read(go[0], &x, 1), 1);
  TU_CHECK(lp_trial_batch_begin(t, &e_));
  lp_allocation a;
  TU_CHECK(lp_trial_randomize(t, "S01", "A1", "invS01", &a, &e_));
  assert_int_equal(a.sequence, 1);
  assert_int_equal(write(now[1], &x, 1), 1);
  usleep(300 * 1000); /* the child is waiting for the writers' lock */
  struct timeval tv = {0, 0};
  fd_set fds;
  FD_ZERO(&fds);
  FD_SET(done[0], &fds);
  assert_int_equal(select(done[0] + 1, &fds, NULL, NULL, &tv), 0); /* not done while the batch is open */
  TU_CHECK(lp_trial_batch_commit(t, &e_));
  int st;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  verify_intact(t);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batch_keeps_each_call),
      cmocka_unit_test(test_batch_rollback_keeps_nothing),
      cmocka_unit_test(test_batch_holds_other_writers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
