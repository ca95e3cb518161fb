/* Data entry on the web (leopards/entry.h): drafts kept apart from the data and
 * refused to non-investigators, a patient's forms with their states and the ICU days
 * as 24-hour windows, a web form's text values read as numbers (as from CSV), and a
 * serious unexpected related adverse event flagged for expedited reporting. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <leopards/entry.h>
#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"

/* Randomisation on 2026-03-02 at 10:00; data entered at `clock_day` 10:00. */
static const char *clock_day = "2026-03-02";
static void fixed_clock(void *ctx, char *buf, size_t n) {
  int *tick = ctx;
  snprintf(buf, n, "%sT10:00:%02d.000Z", clock_day, (*tick)++ % 60);
}

typedef struct {
  char *dir;
  lp_trial *t;
  lp_trial_key *k;
  int tick;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->dir = tu_tmpdir();
  f->t = tu_trial(f->dir, 2, 6, &f->k);
  clock_day = "2026-03-02";
  lp_trial_set_clock(f->t, fixed_clock, &f->tick);
  for (int i = 1; i <= 2; i++) {
    char p[8];
    snprintf(p, sizeof p, "P%d", i);
    lp_screen_result r;
    lp_allocation a;
    TU_CHECK(lp_trial_screen(f->t, "S01", p, TU_ELIGIBLE, "invS01", &r, &e_));
    TU_CHECK(tu_consent(f->t, p, "invS01", &e_));
    TU_CHECK(lp_trial_randomize(f->t, "S01", p, "invS01", &a, &e_));
  }
  clock_day = "2026-03-20"; /* day 18 is over, day 19 not */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  lp_key_free(f->k);
  lp_trial_close(f->t);
  tu_rmrf(f->dir);
  free(f->dir);
  free(f);
  return 0;
}

static const lp_form_entry *entry(const lp_form_entry *fe, size_t n, lp_record_kind k, long key) {
  for (size_t i = 0; i < n; i++)
    if (fe[i].kind == k && fe[i].key == key) return &fe[i];
  return NULL;
}

static void test_drafts(void **state) {
  fixture *f = *state;
  lp_error err;
  TU_CHECK(lp_draft_save(f->t, "P1", LP_RECORD_DAILY, 3, "{\"map\":\"300\"}", "invS01", &e_));
  TU_CHECK(lp_draft_save(f->t, "P1", LP_RECORD_DAILY, 3, "{\"map\":\"66\"}", "invS01", &e_));
  lp_draft d;
  bool found = false;
  TU_CHECK(lp_draft_get(f->t, "P1", LP_RECORD_DAILY, 3, &d, &found, &e_));
  assert_true(found);
  assert_string_equal(d.data, "{\"map\":\"66\"}");
  assert_string_equal(d.saved_by, "invS01");
  lp_draft_clear(&d);
  TU_CHECK(lp_draft_get(f->t, "P1", LP_RECORD_DAILY, 4, &d, &found, &e_));
  assert_false(found);
  assert_int_equal(lp_draft_save(f->t, "P1", LP_RECORD_DAILY, 3, "{}", "mgr", &err), LP_EDENIED);
  assert_int_equal(lp_draft_save(f->t, "P1", LP_RECORD_DAILY, 3, "[1]", "invS01", &err), LP_EINVAL);
  assert_int_equal(lp_draft_save(f->t, "NOPE", LP_RECORD_DAILY, 3, "{}", "invS01", &err), LP_ENOTFOUND);

  lp_form_entry *fe;
  size_t n;
  TU_CHECK(lp_patient_forms(f->t, "P1", &fe, &n, &e_));
  assert_int_equal(entry(fe, n, LP_RECORD_DAILY, 3)->state, LP_FORM_STATE_DRAFT);
  assert_int_equal(entry(fe, n, LP_RECORD_DAILY, 4)->state, LP_FORM_STATE_EMPTY);
  assert_true(entry(fe, n, LP_RECORD_DAILY, 18)->due);
  const lp_form_entry *d19 = entry(fe, n, LP_RECORD_DAILY, 19);
  assert_non_null(d19);
  assert_false(d19->due);
  assert_null(entry(fe, n, LP_RECORD_DAILY, 20));
  assert_string_equal(d19->start, "2026-03-20T10:00Z");
  free(fe);

  /* a web form's text values are read as numbers; the submission leaves the draft to the caller */
  size_t rows;
  lp_findings fs = {0};
  assert_int_equal(lp_record_json(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":3,\"map\":\"66\"}", NULL,
                                  "invS01", NULL, &rows, &err),
                   LP_EDATA);
  TU_CHECK(lp_record_form_checked(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":\"3\",\"map\":\"66\"}", "form",
                                  "invS01", NULL, false, &rows, &fs, &e_));
  assert_int_equal(rows, 1);
  lp_findings_clear(&fs);
  TU_CHECK(lp_draft_discard(f->t, "P1", LP_RECORD_DAILY, 3, &e_));
  TU_CHECK(lp_patient_forms(f->t, "P1", &fe, &n, &e_));
  assert_int_equal(entry(fe, n, LP_RECORD_DAILY, 3)->state, LP_FORM_STATE_COMPLETE);
  assert_false(entry(fe, n, LP_RECORD_DAILY, 3)->draft);
  free(fe);
  char *js = NULL;
  TU_CHECK(lp_record_get(f->t, LP_RECORD_DAILY, "P1", 3, &js, &e_));
  assert_non_null(strstr(js, "\"map\":66"));
  free(js);
  TU_CHECK(lp_record_get(f->t, LP_RECORD_DAILY, "P1", 4, &js, &e_));
  assert_null(js);
}

static bool has(const lp_findings *fs, lp_finding_level l, const char *field, const char *text) {
  for (size_t i = 0; i < fs->n; i++)
    if (fs->items[i].level == l && !strcmp(fs->items[i].field, field) && strstr(fs->items[i].text, text)) return true;
  return false;
}

static void test_expedited(void **state) {
  fixture *f = *state;
  assert_true(lp_ae_expedited(true, "probable", false));
  assert_false(lp_ae_expedited(true, "probable", true));
  assert_false(lp_ae_expedited(false, "definite", false));
  assert_false(lp_ae_expedited(true, "unlikely", false));
  size_t rows;
  lp_findings fs = {0};
  TU_CHECK(lp_record_json_checked(f->t, LP_RECORD_AE,
                                  "{\"patient\":\"P1\",\"onset\":\"2026-03-05\",\"category\":\"bradycardia\","
                                  "\"term\":\"bradycardia\",\"serious\":1,\"relatedness\":\"possible\",\"expected\":0}",
                                  NULL, "invS01", NULL, &rows, &fs, &e_));
  assert_true(has(&fs, LP_FINDING_NOTE, "expected", "expedited reporting"));
  lp_findings_clear(&fs);
  TU_CHECK(lp_record_json_checked(f->t, LP_RECORD_AE,
                                  "{\"patient\":\"P1\",\"onset\":\"2026-03-05\",\"category\":\"bradycardia\","
                                  "\"term\":\"bradycardia\",\"serious\":1,\"relatedness\":\"possible\"}",
                                  NULL, "invS01", NULL, &rows, &fs, &e_));
  assert_true(has(&fs, LP_FINDING_SOFT, "expected", "say whether it is expected"));
  lp_findings_clear(&fs);
  TU_CHECK(lp_record_json_checked(f->t, LP_RECORD_AE,
                                  "{\"patient\":\"P1\",\"onset\":\"2026-03-05\",\"category\":\"bradycardia\","
                                  "\"term\":\"bradycardia\",\"serious\":1,\"relatedness\":\"none\",\"expected\":0}",
                                  NULL, "invS01", NULL, &rows, &fs, &e_));
  assert_int_equal(fs.n, 0);
  lp_findings_clear(&fs);
  char *list = NULL;
  TU_CHECK(lp_record_list(f->t, LP_RECORD_AE, "P1", &list, &e_));
  assert_non_null(strstr(list, "\"expected\":0"));
  free(list);
}

/* A patient who died: no daily form is listed for a day that began after the death
 * (the record would be refused), the day of the death still is. */
static void test_no_days_after_death(void **state) {
  fixture *f = *state;
  size_t rows;
  lp_findings fs = {0};
  TU_CHECK(lp_record_form_checked(f->t, LP_RECORD_OUTCOME,
                                  "{\"patient\":\"P2\",\"died\":1,\"death_date\":\"2026-03-06T18:00\","
                                  "\"icu_discharge\":\"2026-03-06T18:00\",\"hospital_discharge\":\"2026-03-06T18:00\","
                                  "\"received_drug\":1}",
                                  "form", "invS01", NULL, false, &rows, &fs, &e_));
  lp_findings_clear(&fs);
  lp_form_entry *fe;
  size_t n;
  TU_CHECK(lp_patient_forms(f->t, "P2", &fe, &n, &e_));
  const lp_form_entry *d5 = entry(fe, n, LP_RECORD_DAILY, 5); /* 03-06 10:00 to 03-07 10:00: the death's day */
  assert_non_null(d5);
  assert_true(d5->due);
  assert_null(entry(fe, n, LP_RECORD_DAILY, 6));
  assert_null(entry(fe, n, LP_RECORD_DAILY, 18));
  free(fe);
  TU_CHECK(lp_patient_forms(f->t, "P1", &fe, &n, &e_)); /* alive: every day so far */
  assert_non_null(entry(fe, n, LP_RECORD_DAILY, 18));
  free(fe);
}

static void test_day_window(void **state) {
  (void)state;
  char b[24], e[24];
  assert_true(lp_icu_day_window("2026-03-02T10:00:00.000Z", 1, b, e));
  assert_string_equal(b, "2026-03-02T10:00Z");
  assert_string_equal(e, "2026-03-03T10:00Z");
  assert_true(lp_icu_day_window("2026-03-02T23:30:00.000Z", 28, b, e));
  assert_string_equal(b, "2026-03-29T23:30Z");
  assert_false(lp_icu_day_window("2026-03-02T10:00:00.000Z", 0, b, e));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_drafts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_expedited, setup, teardown),
      cmocka_unit_test_setup_teardown(test_no_days_after_death, setup, teardown),
      cmocka_unit_test(test_day_window),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
