/* Data queries, source data verification and signatures at the library level: a soft
 * finding opens a query when saved (not when only checked), a daily record's query
 * carries its day, a deleted record's queries close, a correction is refused by the
 * same checks and leaves the query open, a change around leopards is caught by the
 * signature's hash, and the lock counts what is not closed; a value whose query was
 * closed is not queried again when another field changes; a patient's forms are listed
 * as queried, verified and signed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/entry.h>
#include <leopards/queries.h>
#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

static const char *clock_day = "2026-03-02";
static void fixed_clock(void *ctx, char *buf, size_t n) {
  int *tick = ctx;
  snprintf(buf, n, "%sT10:00:%02d.000Z", clock_day, (*tick)++ % 60);
}

typedef struct {
  char *dir;
  lp_trial *t;
  int tick;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_tmpdir();
  f->t = tu_trial(f->dir, 2, 6, NULL);
  clock_day = "2026-03-02";
  lp_trial_set_clock(f->t, fixed_clock, &f->tick);
  lp_screen_result r;
  lp_allocation a;
  TU_CHECK(lp_trial_screen(f->t, "S01", "P1", TU_ELIGIBLE, "invS01", &r, &e_));
  TU_CHECK(tu_consent(f->t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(f->t, "S01", "P1", "invS01", &a, &e_));
  TU_CHECK(lp_user_add(f->t, "mgr", "mon", LP_ROLE_MONITOR, NULL, &e_));
  TU_CHECK(lp_user_add(f->t, "mgr", "mon2", LP_ROLE_MONITOR, "S02", &e_));
  clock_day = "2026-04-30";
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  lp_trial_close(f->t);
  tu_rmrf(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static size_t count(lp_trial *t, int state) {
  lp_query_filter qf = {.state = state};
  lp_query *q;
  size_t n;
  TU_CHECK(lp_query_list(t, &qf, &q, &n, &e_));
  free(q);
  return n;
}

static void test_check_only_opens_nothing(void **state) {
  fixture *f = *state;
  lp_findings fs = {0};
  lp_error err;
  assert_int_equal(
      lp_record_check(f->t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"map\":30}", NULL, "invS01", &fs, &err), LP_OK);
  assert_int_equal(fs.soft, 1);
  lp_findings_clear(&fs);
  assert_int_equal(count(f->t, -1), 0);
  size_t rows;
  /* saved without asking for the findings: the query is opened all the same */
  TU_CHECK(
      lp_record_json(f->t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"map\":30}", NULL, "invS01", NULL, &rows, &e_));
  assert_int_equal(count(f->t, LP_QUERY_OPEN), 1);
}

static void test_daily_query_and_delete(void **state) {
  fixture *f = *state;
  size_t rows;
  TU_CHECK(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":3,\"map\":25}", NULL, "invS01", NULL,
                          &rows, &e_));
  lp_query_filter qf = {.patient = "P1", .state = -1};
  lp_query *q;
  size_t n;
  TU_CHECK(lp_query_list(f->t, &qf, &q, &n, &e_));
  assert_int_equal(n, 1);
  assert_string_equal(q[0].form, "daily");
  assert_int_equal(q[0].day, 3);
  assert_string_equal(q[0].field, "map");
  assert_string_equal(q[0].origin, "check");
  long id = q[0].id;
  free(q);
  /* a correction refused by the checks changes nothing, the query stays open */
  lp_error err;
  assert_int_equal(lp_query_answer(f->t, id, "typo", "400", "typing error", "invS01", NULL, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "outside the plausible range"));
  lp_query one;
  TU_CHECK(lp_query_get(f->t, id, &one, &e_));
  assert_int_equal(one.state, LP_QUERY_OPEN);
  /* a monitor of another site may not close it */
  assert_int_equal(lp_query_close(f->t, id, NULL, "mon2", &err), LP_EDENIED);
  /* the record deleted: its query closes, saying why */
  long rid = 0, none = 0;
  TU_CHECK(
      lp__two_counts(f->t, "SELECT id, 0 FROM daily WHERE patient='P1' AND day=3 AND ?1=?1", 0, &rid, &none, "x", &e_));
  TU_CHECK(lp_record_delete(f->t, LP_RECORD_DAILY, rid, "invS01", "wrong patient", &e_));
  TU_CHECK(lp_query_get(f->t, id, &one, &e_));
  assert_int_equal(one.state, LP_QUERY_CLOSED);
  assert_string_equal(one.closed_by, "invS01");
}

static void test_signature_hash_catches_a_change_around_leopards(void **state) {
  fixture *f = *state;
  size_t rows;
  TU_CHECK(
      lp_record_json(f->t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":64}", NULL, "invS01", NULL, &rows, &e_));
  lp_error err;
  assert_int_equal(lp_site_pi_set(f->t, "mgr", "mon", &err), LP_EINVAL); /* a monitor is no PI */
  TU_CHECK(lp_site_pi_set(f->t, "mgr", "invS01", &e_));
  assert_true(lp_user_is_pi(f->t, "invS01"));
  TU_CHECK(lp_user_set_password(f->t, "mgr", "invS01", "correct horse battery 42", &e_));
  lp_signature g;
  assert_int_equal(lp_casebook_sign(f->t, NULL, "P1", "invS01", "not the password", &g, &err), LP_EDENIED);
  TU_CHECK(lp_casebook_sign(f->t, NULL, "P1", "invS01", "correct horse battery 42", &g, &e_));
  TU_CHECK(lp_signature_get(f->t, "P1", &g, &e_));
  assert_true(g.valid);
  assert_string_equal(g.meaning, LP_CASEBOOK_MEANING);
  /* a change written without leopards: the hash no longer matches */
  TU_CHECK(lp__exec(f->t, "UPDATE patients SET age=65 WHERE patient='P1'", &e_));
  TU_CHECK(lp_signature_get(f->t, "P1", &g, &e_));
  assert_false(g.valid);
  assert_non_null(strstr(g.state, "the signed content has changed"));
}

static void test_lock_counts_unresolved(void **state) {
  fixture *f = *state;
  size_t rows;
  TU_CHECK(lp_record_json(f->t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"map\":30,\"heart_rate\":200}", NULL,
                          "invS01", NULL, &rows, &e_));
  long open = 0, answered = 0;
  TU_CHECK(lp_query_unresolved(f->t, &open, &answered, &e_));
  assert_int_equal(open, 2);
  lp_query_filter qf = {.state = LP_QUERY_OPEN};
  lp_query *q;
  size_t n;
  TU_CHECK(lp_query_list(f->t, &qf, &q, &n, &e_));
  TU_CHECK(lp_query_answer(f->t, q[0].id, "confirmed", NULL, NULL, "invS01", NULL, &e_));
  TU_CHECK(lp_query_unresolved(f->t, &open, &answered, &e_));
  assert_int_equal(open, 1);
  assert_int_equal(answered, 1);
  lp_error err;
  assert_int_equal(lp_trial_lock(f->t, "stat", &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "2 queries are not closed (1 open, 1 answered)"));
  TU_CHECK(lp_query_close(f->t, q[0].id, NULL, "mon", &e_));
  TU_CHECK(lp_query_close(f->t, q[1].id, NULL, "mgr", &e_));
  free(q);
  TU_CHECK(lp_trial_lock(f->t, "stat", &e_));
  lp_signature g;
  assert_int_equal(lp_signature_get(f->t, NULL, &g, &err), LP_ENOTFOUND); /* no password: unsigned */
}

static long one_open(lp_trial *t) {
  lp_query_filter qf = {.patient = "P1", .state = LP_QUERY_OPEN};
  lp_query *q;
  size_t n;
  TU_CHECK(lp_query_list(t, &qf, &q, &n, &e_));
  long id = n == 1 ? q[0].id : 0;
  free(q);
  return id;
}

static void test_closed_value_not_queried_again(void **state) {
  fixture *f = *state;
  size_t rows;
  TU_CHECK(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":2,\"map\":25,\"gcs\":14}", NULL, "invS01",
                          NULL, &rows, &e_));
  long id = one_open(f->t);
  assert_true(id > 0);
  TU_CHECK(lp_query_answer(f->t, id, "the chart says 25", NULL, NULL, "invS01", NULL, &e_));
  TU_CHECK(lp_query_close(f->t, id, NULL, "mon", &e_));
  /* another field changes, the form sending every value again: the explained MAP of 25
   * is not asked about again */
  TU_CHECK(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":2,\"map\":25,\"gcs\":13}", NULL, "invS01",
                          "GCS re-assessed", &rows, &e_));
  assert_int_equal(count(f->t, -1), 1);
  /* a different unusual value is */
  TU_CHECK(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":2,\"map\":22}", NULL, "invS01",
                          "MAP from the arterial line", &rows, &e_));
  assert_int_equal(count(f->t, LP_QUERY_OPEN), 1);
  assert_int_equal(count(f->t, -1), 2);
}

static lp_form_state day_state(lp_trial *t, long day) {
  lp_form_entry *fe;
  size_t n;
  TU_CHECK(lp_patient_forms(t, "P1", &fe, &n, &e_));
  lp_form_state st = LP_FORM_STATE_EMPTY;
  for (size_t i = 0; i < n; i++)
    if (fe[i].kind == LP_RECORD_DAILY && fe[i].key == day) st = fe[i].state;
  free(fe);
  return st;
}

static void test_form_states_of_the_review(void **state) {
  fixture *f = *state;
  size_t rows;
  TU_CHECK(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":4,\"map\":25}", NULL, "invS01", NULL,
                          &rows, &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_QUERIED);
  long id = one_open(f->t);
  TU_CHECK(lp_query_answer(f->t, id, "the chart says 25", NULL, NULL, "invS01", NULL, &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_QUERIED); /* answered is not closed */
  TU_CHECK(lp_query_close(f->t, id, NULL, "mon", &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_COMPLETE);
  TU_CHECK(lp_form_verify(f->t, "P1", LP_RECORD_DAILY, 4, 0, "mon", &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_VERIFIED);
  TU_CHECK(lp_site_pi_set(f->t, "mgr", "invS01", &e_));
  TU_CHECK(lp_user_set_password(f->t, "mgr", "invS01", "correct horse battery 42", &e_));
  lp_signature g;
  TU_CHECK(lp_casebook_sign(f->t, NULL, "P1", "invS01", "correct horse battery 42", &g, &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_SIGNED);
  assert_int_equal(day_state(f->t, 5), LP_FORM_STATE_EMPTY); /* a form without data stays empty */
  /* a query by hand: queried, whatever the signature says */
  TU_CHECK(lp_query_open(f->t, "P1", LP_RECORD_DAILY, 4, 0, "map", "against the chart?", "mon", &id, &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_QUERIED);
  TU_CHECK(lp_query_close(f->t, id, NULL, "mon", &e_));
  /* a change clears the verification and invalidates the signature: complete again */
  TU_CHECK(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":4,\"gcs\":12}", NULL, "invS01",
                          "GCS added", &rows, &e_));
  assert_int_equal(day_state(f->t, 4), LP_FORM_STATE_COMPLETE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_check_only_opens_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_daily_query_and_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_signature_hash_catches_a_change_around_leopards, setup, teardown),
      cmocka_unit_test_setup_teardown(test_lock_counts_unresolved, setup, teardown),
      cmocka_unit_test_setup_teardown(test_closed_value_not_queried_again, setup, teardown),
      cmocka_unit_test_setup_teardown(test_form_states_of_the_review, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
