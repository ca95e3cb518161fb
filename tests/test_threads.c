/* The thread contract under load: 8 threads, each with its own handles, randomise
 * into one trial (two sites shared between them) while each also analyses a second,
 * locked trial with a thread budget of 1. Every analysis gives the same numbers, no
 * slot is shared or skipped. Run under ThreadSanitizer by scripts/test (build-tsan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <pthread.h>

#include <leopards/report.h>
#include <leopards/sim.h>

#include "trialutil.h"

enum { THREADS = 8, PER_THREAD = 6, SITES = 2 };

static char *tmp, db_a[600], db_b[600], key_b[600];

typedef struct {
  int w;
  lp_status st;
  char message[1100];
  long seq[PER_THREAD];
  int site[PER_THREAD];
  double primary, p;
  size_t rows;
} job;

static void *work(void *arg) {
  job *j = arg;
  lp_error err;
  lp_trial *a = NULL, *b = NULL;
  lp_trial_key *k = NULL;
  lp_analysis_results r;
  memset(&r, 0, sizeof r);
  if ((j->st = lp_trial_open(db_a, &a, &err))) goto done;
  for (int i = 0; i < PER_THREAD; i++) {
    char patient[32], site[8], user[16];
    int s = (j->w + i) % SITES + 1;
    snprintf(patient, sizeof patient, "T%dP%d", j->w, i);
    snprintf(site, sizeof site, "S%02d", s);
    snprintf(user, sizeof user, "inv%s", site);
    lp_screen_result sr;
    lp_allocation al;
    if ((j->st = lp_trial_screen(a, site, patient, TU_ELIGIBLE, user, &sr, &err)) ||
        (j->st = tu_consent(a, patient, user, &err)) || (j->st = lp_trial_randomize(a, site, patient, user, &al, &err)))
      goto done;
    j->seq[i] = al.sequence;
    j->site[i] = s;
    /* an analysis between randomisations */
    if (i == PER_THREAD / 2) {
      if ((j->st = lp_trial_open(db_b, &b, &err)) || (j->st = lp_key_load(b, key_b, &k, &err))) goto done;
      lp_analysis_options o;
      lp_analysis_options_default(&o);
      o.bootstrap = 300;
      o.permutations = 50;
      o.imputations = 2;
      o.threads = 1;
      if ((j->st = lp_analysis_run(b, k, NULL, &o, &r, &err))) goto done;
      j->primary = r.summary.primary_estimate;
      j->p = r.summary.primary_p;
      j->rows = r.results.n;
    }
  }
done:
  if (j->st) snprintf(j->message, sizeof j->message, "%s", err.message);
  lp_analysis_results_clear(&r);
  lp_key_free(k);
  if (b) lp_trial_close(b);
  if (a) lp_trial_close(a);
  return NULL;
}

static void eight_threads(void **state) {
  (void)state;
  tmp = tu_tmpdir();
  char dir_a[700];
  snprintf(dir_a, sizeof dir_a, "%s/a", tmp);
  mkdir(dir_a, 0700);
  snprintf(db_a, sizeof db_a, "%s/trial.db", dir_a);
  lp_trial_key *ka;
  lp_trial *ta = tu_trial(dir_a, SITES, THREADS * PER_THREAD, &ka);
  lp_key_free(ka);
  lp_trial_close(ta);
  snprintf(db_b, sizeof db_b, "%s/b.db", tmp);
  snprintf(key_b, sizeof key_b, "%s/b.key", tmp);
  lp_sim_options so;
  lp_sim_options_default(&so);
  so.patients = 160;
  so.sites = 8;
  so.screened = 400;
  lp_sim_summary ss;
  TU_CHECK(lp_sim_run(db_b, key_b, &so, &ss, &e_));
  lp_set_thread_budget(1);
  pthread_t th[THREADS];
  job jobs[THREADS];
  memset(jobs, 0, sizeof jobs);
  for (int w = 0; w < THREADS; w++) {
    jobs[w].w = w;
    assert_int_equal(pthread_create(&th[w], NULL, work, &jobs[w]), 0);
  }
  for (int w = 0; w < THREADS; w++) pthread_join(th[w], NULL);
  lp_set_thread_budget(0);
  int seen[SITES + 1][THREADS * PER_THREAD + 1];
  memset(seen, 0, sizeof seen);
  for (int w = 0; w < THREADS; w++) {
    if (jobs[w].st) fail_msg("thread %d: %s", w, jobs[w].message);
    assert_true(isfinite(jobs[w].primary));
    assert_true(jobs[w].primary == jobs[0].primary);
    assert_true(jobs[w].p == jobs[0].p);
    assert_int_equal(jobs[w].rows, jobs[0].rows);
    for (int i = 0; i < PER_THREAD; i++) {
      long s = jobs[w].seq[i];
      assert_true(s >= 1 && s <= THREADS * PER_THREAD / SITES);
      assert_int_equal(seen[jobs[w].site[i]][s]++, 0); /* no slot shared */
    }
  }
  for (int s = 1; s <= SITES; s++)
    for (int q = 1; q <= THREADS * PER_THREAD / SITES; q++) assert_int_equal(seen[s][q], 1); /* none skipped */
  tu_rmrf(tmp);
  free(tmp);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(eight_threads)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
