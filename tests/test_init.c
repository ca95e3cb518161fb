/* The once-only set-up: before the program has called anything else, a GSL error
 * comes back as a status instead of aborting the process (the handler is installed
 * when the library is loaded); lp_init is idempotent; the thread budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_log.h>
#include <pthread.h>

#include <leopards/core.h>

static void gsl_error_before_any_call_returns(void **state) {
  (void)state;
  /* The first thing this program does: a GSL call that fails. Without the handler
   * switched off, GSL prints and aborts here. */
  gsl_sf_result r;
  assert_int_equal(gsl_sf_log_e(-1.0, &r), GSL_EDOM);
}

static void *init_many(void *arg) {
  (void)arg;
  for (int i = 0; i < 1000; i++) lp_init();
  return NULL;
}

static void init_from_many_threads(void **state) {
  (void)state;
  pthread_t th[8];
  for (int i = 0; i < 8; i++) assert_int_equal(pthread_create(&th[i], NULL, init_many, NULL), 0);
  for (int i = 0; i < 8; i++) pthread_join(th[i], NULL);
  gsl_sf_result r;
  assert_int_equal(gsl_sf_log_e(0.0, &r), GSL_EDOM);
}

static void thread_budget(void **state) {
  (void)state;
  int all = lp_thread_budget(0);
  assert_true(all >= 1);
  assert_int_equal(lp_thread_budget(3), 3);
  lp_set_thread_budget(2);
  assert_int_equal(lp_thread_budget(0), 2);
  assert_int_equal(lp_thread_budget(5), 5);
  lp_set_thread_budget(0);
  assert_int_equal(lp_thread_budget(0), all);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(gsl_error_before_any_call_returns),
                                     cmocka_unit_test(init_from_many_threads), cmocka_unit_test(thread_budget)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
