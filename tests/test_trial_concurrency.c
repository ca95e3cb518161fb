/* Concurrency: 16 processes randomise 1,000 patients into one database at once, every
 * patient requested by two different processes, while the lists extend themselves.
 * No slot is shared or skipped, no patient gets two allocations, both requests for a
 * patient get the same one, and the audit chain verifies. */
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
#include <unistd.h>

#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

enum { WORKERS = 16, PATIENTS = 1000, SITES = 10, PER_SITE = 40 };

static const char *site_of(int i, char *buf) {
  snprintf(buf, 8, "S%02d", i % SITES + 1);
  return buf;
}

/* Worker w: the patients i with i % WORKERS == w in order, then those of worker w+1
 * backwards, so every patient is asked for by two processes. One line per answer. */
static int worker(const char *dir, int w) {
  char db[600], kp[600], out[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  snprintf(kp, sizeof kp, "%s/trial.key", dir);
  snprintf(out, sizeof out, "%s/w%02d.txt", dir, w);
  lp_trial *t;
  lp_trial_key *k;
  lp_error err;
  if (lp_trial_open(db, &t, &err) || lp_key_load(t, kp, &k, &err)) {
    fprintf(stderr, "worker %d: %s\n", w, err.message);
    return 1;
  }
  lp_trial_use_key(t, k); /* the service deployment: lists extend themselves */
  FILE *f = fopen(out, "w");
  if (!f) return 1;
  int order[2 * PATIENTS / WORKERS + 4], n = 0;
  for (int i = w; i < PATIENTS; i += WORKERS) order[n++] = i;
  int w2 = (w + 1) % WORKERS, last = -1;
  for (int i = w2; i < PATIENTS; i += WORKERS) last = i;
  for (int i = last; i >= 0; i -= WORKERS) order[n++] = i;
  for (int j = 0; j < n; j++) {
    char p[16], s[8], u[16];
    snprintf(p, sizeof p, "P%04d", order[j]);
    site_of(order[j], s);
    snprintf(u, sizeof u, "inv%s", s);
    lp_allocation a;
    if (lp_trial_randomize(t, s, p, u, &a, &err)) {
      fprintf(stderr, "worker %d, %s: %s\n", w, p, err.message);
      fclose(f);
      return 1;
    }
    fprintf(f, "%s %s %ld %ld %d\n", a.patient, a.site, a.sequence, a.pack, a.existing);
  }
  fclose(f);
  lp_key_free(k);
  lp_trial_close(t);
  return 0;
}

typedef struct {
  char site[8];
  long seq, pack;
  int answers, firsts;
} answer;

static void test_sixteen_processes(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, SITES, PER_SITE, &k);
  /* screen everyone (one transaction per site) */
  for (int s = 0; s < SITES; s++) {
    char site[8], user[16];
    site_of(s, site);
    snprintf(user, sizeof user, "inv%s", site);
    size_t cap = PATIENTS / SITES * (strlen(TU_ELIGIBLE) + 64) + 16, len = 0;
    char *json = malloc(cap);
    len += (size_t)snprintf(json + len, cap - len, "[");
    for (int i = s; i < PATIENTS; i += SITES)
      len += (size_t)snprintf(json + len, cap - len, "%s{\"site\":\"%s\",\"patient\":\"P%04d\",%s", i == s ? "" : ",",
                              site, i, TU_ELIGIBLE + 1);
    snprintf(json + len, cap - len, "]");
    size_t count, eligible;
    TU_CHECK(lp_trial_screen_many(t, json, "test", user, &count, &eligible, &e_));
    for (int i = s; i < PATIENTS; i += SITES) { /* consent first, as the sites record it */
      char p[16];
      snprintf(p, sizeof p, "P%04d", i);
      TU_CHECK(tu_consent(t, p, user, &e_));
    }
    assert_int_equal(count, PATIENTS / SITES);
    assert_int_equal(eligible, PATIENTS / SITES);
    free(json);
  }
  lp_trial_close(t); /* no connection crosses fork() */

  pid_t pids[WORKERS];
  for (int w = 0; w < WORKERS; w++) {
    pids[w] = fork();
    assert_true(pids[w] >= 0);
    if (pids[w] == 0) _exit(worker(dir, w));
  }
  for (int w = 0; w < WORKERS; w++) {
    int st;
    assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("worker %d failed (status %d)", w, st);
  }

  /* every patient: two answers, identical, exactly one of them the first */
  answer *ans = calloc(PATIENTS, sizeof *ans);
  for (int w = 0; w < WORKERS; w++) {
    char path[700], p[16], s[8];
    snprintf(path, sizeof path, "%s/w%02d.txt", dir, w);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long seq, pack;
    int ex;
    while (fscanf(f, "%15s %7s %ld %ld %d", p, s, &seq, &pack, &ex) == 5) {
      answer *a = &ans[atoi(p + 1)];
      if (a->answers) {
        assert_string_equal(a->site, s);
        assert_int_equal(a->seq, seq);
        assert_int_equal(a->pack, pack);
      }
      snprintf(a->site, sizeof a->site, "%s", s);
      a->seq = seq;
      a->pack = pack;
      a->answers++;
      a->firsts += !ex;
    }
    fclose(f);
  }
  /* per site the sequences are exactly 1..n: no slot shared or skipped */
  int *seen = calloc((size_t)SITES * (PATIENTS + 1), sizeof *seen);
  for (int i = 0; i < PATIENTS; i++) {
    assert_int_equal(ans[i].answers, 2);
    assert_int_equal(ans[i].firsts, 1);
    char s[8];
    assert_string_equal(ans[i].site, site_of(i, s));
    int site = i % SITES;
    assert_true(ans[i].seq >= 1 && ans[i].seq <= PATIENTS / SITES);
    assert_int_equal(seen[site * (PATIENTS + 1) + ans[i].seq]++, 0);
    for (int j = 0; j < i; j++) assert_true(ans[j].pack != ans[i].pack);
  }
  free(seen);
  free(ans);

  char db[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  TU_CHECK(lp_trial_open(db, &t, &e_));
  sqlite3_stmt *st;
  TU_CHECK(lp__prepare(t,
                       "SELECT count(*), count(DISTINCT patient), count(DISTINCT pack),"
                       " (SELECT count(*) FROM (SELECT site_id FROM randomisations GROUP BY site_id"
                       "  HAVING max(seq) != count(*) OR min(seq) != 1)) FROM randomisations",
                       &st, &e_));
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), PATIENTS);
  assert_int_equal(sqlite3_column_int(st, 1), PATIENTS);
  assert_int_equal(sqlite3_column_int(st, 2), PATIENTS);
  assert_int_equal(sqlite3_column_int(st, 3), 0);
  lp__finalize(t, st);
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  if (rep.nproblems) fail_msg("audit: %s", rep.problems[0].message);
  print_message("audit: %ld entries, %ld rows checked\n", rep.entries, rep.rows_checked);
  /* the lists grew in whole agreement with the secret; every site balanced within a block */
  lp_list_report lr;
  TU_CHECK(lp_list_report_make(t, k, &lr, &e_));
  assert_true(lr.reproduces);
  assert_int_equal(lr.used, PATIENTS);
  for (size_t i = 0; i < lr.nsites; i++) {
    assert_true(lr.sites[i].slots >= PATIENTS / SITES);
    assert_true(lr.sites[i].max_imbalance <= 3);
  }
  lp_list_report_clear(&lr);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_sixteen_processes)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
