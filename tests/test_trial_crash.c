/* Crash safety: processes randomising (two at a time, lists extending themselves) are
 * killed with SIGKILL at random points, 300 times. Afterwards every randomisation a
 * process reported as committed is there unchanged, none is half-recorded (each has
 * its audit entry and vice versa), the site sequences have no gaps, the lists still
 * reproduce from the secret, and the audit chain verifies. SIGKILL tests the process
 * dying mid-transaction; the page cache survives it, so it does not stand for a power
 * cut (synchronous=FULL is what covers that). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <leopards/rng.h>
#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

enum { SITES = 4, PATIENTS = 16000, KILLS = 300, PER_ROUND = 2 };

/* Randomise patients from a random starting point. Once the trial is open write one
 * byte 'R' to fd; after each commit write one line "patient seq pack" (write(2):
 * nothing buffered to lose). */
static int child(const char *dir, uint64_t seed, int fd) {
  char db[600], kp[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  snprintf(kp, sizeof kp, "%s/trial.key", dir);
  lp_trial *t;
  lp_trial_key *k;
  lp_error err;
  if (lp_trial_open(db, &t, &err) || lp_key_load(t, kp, &k, &err)) return 3;
  lp_trial_use_key(t, k);
  if (write(fd, "R", 1) != 1) return 5; /* open: the parent may now time its kill */
  lp_rng r;
  lp_rng_seed(&r, seed, 1);
  int start = (int)lp_rng_below(&r, PATIENTS);
  for (int j = 0; j < PATIENTS; j++) {
    int i = (start + j) % PATIENTS;
    char p[16], s[8], u[16], line[64];
    snprintf(p, sizeof p, "P%04d", i);
    snprintf(s, sizeof s, "S%02d", i % SITES + 1);
    snprintf(u, sizeof u, "inv%s", s);
    lp_allocation a;
    if (lp_trial_randomize(t, s, p, u, &a, &err)) return 4;
    int n = snprintf(line, sizeof line, "%s %ld %ld\n", a.patient, a.sequence, a.pack);
    if (write(fd, line, (size_t)n) != n) return 5;
  }
  return 0;
}

typedef struct {
  long seq, pack;
} claim;

static void test_kill_while_randomising(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, SITES, 20, &k);
  for (int s = 0; s < SITES; s++) {
    size_t cap = PATIENTS / SITES * (strlen(TU_ELIGIBLE) + 64) + 16, len = 0;
    char *json = malloc(cap), user[16];
    snprintf(user, sizeof user, "invS%02d", s + 1);
    len += (size_t)snprintf(json + len, cap - len, "[");
    for (int i = s; i < PATIENTS; i += SITES)
      len += (size_t)snprintf(json + len, cap - len, "%s{\"site\":\"S%02d\",\"patient\":\"P%04d\",%s",
                              i == s ? "" : ",", s + 1, i, TU_ELIGIBLE + 1);
    snprintf(json + len, cap - len, "]");
    size_t count, eligible;
    TU_CHECK(lp_trial_screen_many(t, json, "test", user, &count, &eligible, &e_));
    for (int i = s; i < PATIENTS; i += SITES) { /* consent first, as the sites record it */
      char p[16];
      snprintf(p, sizeof p, "P%04d", i);
      TU_CHECK(tu_consent(t, p, user, &e_));
    }
    free(json);
  }
  lp_trial_close(t);

  claim *reported = calloc(PATIENTS, sizeof *reported);
  lp_rng r;
  lp_rng_seed(&r, 20160927, 0);
  long nreported = 0, finished = 0;
  for (int kill_no = 0; kill_no < KILLS; kill_no += PER_ROUND) {
    int fds[PER_ROUND][2];
    pid_t pid[PER_ROUND];
    for (int c = 0; c < PER_ROUND; c++) {
      assert_int_equal(pipe(fds[c]), 0);
      pid[c] = fork();
      assert_true(pid[c] >= 0);
      if (pid[c] == 0) {
        close(fds[c][0]);
        _exit(child(dir, lp_rng_next(&r) + (uint64_t)c, fds[c][1]));
      }
      close(fds[c][1]);
    }
    /* kill each at a random moment within 0-25 ms: in one round of four counted from
     * the fork (some die before the database is even open), in the others counted from
     * the moment the child says the trial is open, so that most kills land in the middle
     * of a transaction (a commit waits for fsync) however slow the machine or build is */
    int from_open = kill_no % (4 * PER_ROUND) != 0;
    for (int c = 0; c < PER_ROUND; c++) {
      if (from_open) {
        char ready;
        if (read(fds[c][0], &ready, 1) != 1 || ready != 'R') fail_msg("child %d never opened the trial", c);
      }
      struct timespec ts = {0, (long)lp_rng_below(&r, 25000) * 1000};
      nanosleep(&ts, NULL);
      kill(pid[c], SIGKILL);
    }
    for (int c = 0; c < PER_ROUND; c++) {
      int st;
      assert_int_equal(waitpid(pid[c], &st, 0), pid[c]);
      if (WIFEXITED(st)) {
        if (WEXITSTATUS(st) != 0) fail_msg("child exited with %d before being killed", WEXITSTATUS(st));
        finished++;
      }
      if (!from_open) { /* the 'R' is still in the pipe unless the child died before it */
        char ready;
        if (read(fds[c][0], &ready, 1) == 1 && ready != 'R') fail_msg("child %d wrote before opening", c);
      }
      FILE *f = fdopen(fds[c][0], "r");
      char p[16];
      long seq, pack;
      while (fscanf(f, "%15s %ld %ld", p, &seq, &pack) == 3) {
        claim *x = &reported[atoi(p + 1)];
        if (x->pack) {
          assert_int_equal(x->pack, pack); /* a second report must be the same allocation */
          assert_int_equal(x->seq, seq);
        } else {
          nreported++;
        }
        x->seq = seq;
        x->pack = pack;
      }
      fclose(f);
    }
  }
  print_message("%d kills, %ld children finished before their kill, %ld allocations reported\n", KILLS, finished,
                nreported);
  assert_true(nreported > 0);

  char db[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  TU_CHECK(lp_trial_open(db, &t, &e_));
  sqlite3_stmt *st;
  TU_CHECK(lp__prepare(t, "SELECT patient, seq, pack FROM randomisations", &st, &e_));
  long in_db = 0;
  char *present = calloc(PATIENTS, 1);
  while (sqlite3_step(st) == SQLITE_ROW) {
    int i = atoi((const char *)sqlite3_column_text(st, 0) + 1);
    present[i] = 1;
    in_db++;
    if (reported[i].pack) {
      assert_int_equal(sqlite3_column_int64(st, 1), reported[i].seq);
      assert_int_equal(sqlite3_column_int64(st, 2), reported[i].pack);
    }
  }
  lp__finalize(t, st);
  for (int i = 0; i < PATIENTS; i++)
    if (reported[i].pack && !present[i]) fail_msg("P%04d was reported committed but is missing", i);
  print_message("%ld randomisations in the database (%ld reported before the kill)\n", in_db, nreported);
  TU_CHECK(lp__prepare(t,
                       "SELECT count(*) FROM (SELECT site_id FROM randomisations GROUP BY site_id"
                       " HAVING max(seq) != count(*) OR min(seq) != 1)",
                       &st, &e_));
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  lp__finalize(t, st);
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  if (rep.nproblems) fail_msg("audit: %s", rep.problems[0].message);
  lp_list_report lr;
  TU_CHECK(lp_list_report_make(t, k, &lr, &e_));
  assert_true(lr.reproduces);
  assert_int_equal(lr.used, in_db);
  lp_list_report_clear(&lr);
  /* the database still works: one more patient */
  lp_allocation a;
  int next = 0;
  while (next < PATIENTS && present[next]) next++;
  if (next < PATIENTS) {
    char p[16], s[8], u[16];
    snprintf(p, sizeof p, "P%04d", next);
    snprintf(s, sizeof s, "S%02d", next % SITES + 1);
    snprintf(u, sizeof u, "inv%s", s);
    lp_trial_use_key(t, k);
    TU_CHECK(tu_consent(t, p, u, &e_));
    TU_CHECK(lp_trial_randomize(t, s, p, u, &a, &e_));
    assert_false(a.existing);
  }
  free(present);
  free(reported);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_while_randomising)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
