/* Edit checks of data entry (lp_record_json_checked, lp_record_check): every hard
 * check refuses the record naming its field, several bad fields are all named at
 * once, soft checks accept the record with a finding ready to become a query, and
 * the field definitions (leopards/forms.h) give one name per concept. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <leopards/forms.h>
#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

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

static long count(lp_trial *t, const char *sql) {
  sqlite3_stmt *st;
  TU_CHECK(lp__prepare(t, sql, &st, &e_));
  long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
  lp__finalize(t, st);
  return n;
}

static void rec_ok(lp_trial *t, lp_record_kind k, const char *json) {
  size_t rows;
  TU_CHECK(lp_record_json(t, k, json, NULL, "invS01", NULL, &rows, &e_));
}

/* The record is refused with `field` named (as the error's field and as a hard
 * finding) and `text` in the message; nothing is written. */
static void refused(lp_trial *t, lp_record_kind k, const char *json, const char *field, const char *text) {
  lp_findings fs = {0};
  lp_error err;
  size_t rows = 9;
  long before = count(t, "SELECT count(*) FROM audit");
  lp_status s = lp_record_json_checked(t, k, json, NULL, "invS01", NULL, &rows, &fs, &err);
  if (s != LP_EDATA) fail_msg("%s: status %s (%s)", json, lp_status_name(s), err.message);
  assert_int_equal(rows, 0);
  if (strcmp(err.field, field)) fail_msg("%s: field '%s', wanted '%s' (%s)", json, err.field, field, err.message);
  if (!strstr(err.message, text)) fail_msg("%s: message '%s' lacks '%s'", json, err.message, text);
  bool found = false;
  for (size_t i = 0; i < fs.n; i++)
    found |= fs.items[i].level == LP_FINDING_HARD && !strcmp(fs.items[i].field, field) &&
             !strcmp(fs.items[i].form, lp_record_kind_name(k)) && fs.items[i].patient[0] == 'P';
  if (!found) fail_msg("%s: no hard finding on %s", json, field);
  assert_int_equal(count(t, "SELECT count(*) FROM audit"), before);
  lp_findings_clear(&fs);
}

static void test_hard_checks(void **state) {
  fixture *f = *state;
  lp_trial *t = f->t;
  /* a daily record for a day not yet over (day d: the d-th 24 hours after randomisation) */
  refused(t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":19,\"map\":70}", "day",
          "day 19 is not over yet: day d is the d-th 24 hours after randomisation");
  rec_ok(t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":18,\"map\":70}");
  /* dates in the future, before randomisation */
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"icu_discharge\":\"2026-03-28\"}", "icu_discharge",
          "2026-03-28 is in the future");
  refused(t, LP_RECORD_AE,
          "{\"patient\":\"P1\",\"onset\":\"2026-04-01\",\"category\":\"other\",\"term\":\"x\",\"serious\":0}", "onset",
          "in the future");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"weaned_date\":\"2026-03-01\"}", "weaned_date",
          "before the randomisation date");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"hospital_discharge\":\"2026-03-02T09:00\"}",
          "hospital_discharge", "before the randomisation date");
  /* wrong order: death before a daily record, discharge after death, ICU after hospital */
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"died\":1,\"death_date\":\"2026-03-10\"}", "death_date",
          "death on 2026-03-10 is before day 18, which has a daily record");
  refused(
      t, LP_RECORD_OUTCOME,
      "{\"patient\":\"P1\",\"died\":1,\"death_date\":\"2026-03-19T12:00\",\"hospital_discharge\":\"2026-03-19T15:00\"}",
      "hospital_discharge", "hospital discharge 2026-03-19T15:00 is after death on 2026-03-19T12:00");
  refused(t, LP_RECORD_OUTCOME,
          "{\"patient\":\"P1\",\"icu_discharge\":\"2026-03-15\",\"hospital_discharge\":\"2026-03-12\"}",
          "hospital_discharge", "is before ICU discharge");
  rec_ok(t, LP_RECORD_OUTCOME, "{\"patient\":\"P2\",\"died\":1,\"death_date\":\"2026-03-05T08:00\"}");
  refused(t, LP_RECORD_DAILY, "{\"patient\":\"P2\",\"day\":5,\"map\":70}", "day",
          "the patient died on 2026-03-05T08:00, before day 5 began");
  /* physical limits and wrong types: the text "64" is not a number in JSON */
  refused(t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":2,\"map\":300}", "map", "outside the plausible range");
  refused(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":\"64\"}", "age", "not the text \"64\"");
  refused(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"sex\":1}", "sex", "expected text");
  refused(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"diabetes\":\"1\"}", "diabetes", "expected 0 or 1");
}

static void test_all_fields_named(void **state) {
  fixture *f = *state;
  lp_findings fs = {0};
  lp_error err;
  size_t rows;
  const char *json = "{\"patient\":\"P1\",\"age\":\"64\",\"map\":300,\"gcs\":2,\"height_cm\":170}";
  assert_int_equal(lp_record_json_checked(f->t, LP_RECORD_BASELINE, json, NULL, "invS01", NULL, &rows, &fs, &err),
                   LP_EDATA);
  assert_int_equal(fs.hard, 3);
  const char *want[] = {"age", "map", "gcs"};
  for (size_t i = 0; i < 3; i++) {
    bool found = false;
    for (size_t j = 0; j < fs.n; j++)
      found |= fs.items[j].level == LP_FINDING_HARD && !strcmp(fs.items[j].field, want[i]);
    if (!found) fail_msg("no finding on %s", want[i]);
    char pat[32];
    snprintf(pat, sizeof pat, "%s: ", want[i]);
    if (!strstr(err.message, pat)) fail_msg("message '%s' lacks '%s'", err.message, pat);
  }
  assert_non_null(strstr(err.message, "3 problems"));
  assert_string_equal(err.field, "age");
  assert_int_equal(count(f->t, "SELECT count(*) FROM patients"), 0);
  lp_findings_clear(&fs);
  /* the same through the error alone (no findings asked for) */
  assert_int_equal(lp_record_json(f->t, LP_RECORD_BASELINE, json, NULL, "invS01", NULL, &rows, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "3 problems: age: "));
  assert_non_null(strstr(err.message, "; map: "));
  assert_non_null(strstr(err.message, "; gcs: "));
  /* a CSV file gives numbers as text: accepted there */
  char path[700];
  snprintf(path, sizeof path, "%s/b.csv", f->dir);
  FILE *fp = fopen(path, "w");
  fputs("patient,age,map,gcs\nP1,64,300,2\nP2,70,65,15\n", fp);
  fclose(fp);
  assert_int_equal(lp_record_csv_checked(f->t, LP_RECORD_BASELINE, path, "invS01", NULL, &rows, &fs, &err), LP_EDATA);
  assert_int_equal(fs.hard, 2); /* map and gcs of line 2; age "64" is fine */
  assert_int_equal(fs.items[0].line, 2);
  assert_int_equal(err.line, 2);
  lp_findings_clear(&fs);
}

static void test_soft_checks(void **state) {
  fixture *f = *state;
  lp_findings fs = {0};
  lp_error err;
  size_t rows;
  TU_CHECK(lp_record_json_checked(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":3,\"map\":25,\"creatinine\":11}",
                                  NULL, "invS01", NULL, &rows, &fs, &e_));
  assert_int_equal(rows, 1);
  assert_int_equal(fs.hard, 0);
  assert_int_equal(fs.soft, 2);
  assert_string_equal(fs.items[0].form, "daily");
  assert_string_equal(fs.items[0].patient, "P1");
  assert_int_equal(fs.items[0].day, 3);
  assert_string_equal(fs.items[0].field, "map");
  assert_non_null(strstr(fs.items[0].text, "unusually low"));
  assert_string_equal(fs.items[1].field, "creatinine");
  lp_findings_clear(&fs);
  /* a day in the ICU after the recorded discharge */
  rec_ok(f->t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"icu_discharge\":\"2026-03-05T12:00\"}");
  TU_CHECK(lp_record_json_checked(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":6,\"in_icu\":1}", NULL, "invS01",
                                  NULL, &rows, &fs, &e_));
  assert_int_equal(fs.soft, 1);
  assert_string_equal(fs.items[0].field, "in_icu");
  assert_int_equal(fs.items[0].day, 6);
  assert_non_null(strstr(fs.items[0].text, "after the recorded ICU discharge"));
  lp_findings_clear(&fs);
  /* lp_record_check: the same findings, nothing written */
  long audit = count(f->t, "SELECT count(*) FROM audit");
  TU_CHECK(
      lp_record_check(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":7,\"map\":25}", NULL, "invS01", &fs, &e_));
  assert_int_equal(fs.soft, 1);
  assert_int_equal(count(f->t, "SELECT count(*) FROM daily WHERE day=7"), 0);
  assert_int_equal(count(f->t, "SELECT count(*) FROM audit"), audit);
  lp_findings_clear(&fs);
  assert_int_equal(lp_record_check(f->t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":7,\"map\":5,\"gcs\":1}", NULL,
                                   "invS01", &fs, &err),
                   LP_EDATA);
  assert_int_equal(fs.hard, 2);
  lp_findings_clear(&fs);
}

/* One name per concept: screening's weight and ventilation are the baseline's. */
static void test_one_name(void **state) {
  fixture *f = *state;
  const lp_form *scr = lp_form_get(LP_FORM_SCREENING), *base = lp_form_get(LP_FORM_BASELINE);
  assert_non_null(lp_form_field(scr, "weight_kg"));
  assert_non_null(lp_form_field(scr, "mech_vent"));
  assert_null(lp_form_field(scr, "weight"));
  assert_string_equal(lp_form_field(base, "weight_kg")->unit, lp_form_field(scr, "weight_kg")->unit);
  /* every name used by two forms has the same type and unit in both */
  for (int a = 0; a < LP_FORM_COUNT; a++)
    for (int b = a + 1; b < LP_FORM_COUNT; b++) {
      const lp_form *fa = lp_form_get((lp_form_id)a), *fb = lp_form_get((lp_form_id)b);
      for (size_t i = 0; i < fa->nfields; i++) {
        const lp_field *x = &fa->fields[i], *y = lp_form_field(fb, x->name);
        if (!y || !strcmp(x->name, "id")) continue;
        if (x->type != y->type || strcmp(x->unit, y->unit))
          fail_msg("%s: %s in %s, %s in %s", x->name, x->unit, fa->name, y->unit, fb->name);
      }
    }
  /* old names are accepted with a note naming the new one, stored under the new one */
  lp_screen_result r;
  TU_CHECK(lp_trial_screen(f->t, "S01", "P7", "{\"age\":64,\"weight\":80,\"ventilated\":1}", "invS01", &r, &e_));
  assert_non_null(strstr(r.notes, "'weight' is now called 'weight_kg'"));
  assert_non_null(strstr(r.notes, "'ventilated' is now called 'mech_vent'"));
  assert_int_equal(count(f->t,
                         "SELECT count(*) FROM screening WHERE patient='P7' AND json_extract(inputs, "
                         "'$.weight_kg')=80 AND json_extract(inputs, '$.mech_vent')=1 AND "
                         "json_extract(inputs, '$.weight') IS NULL"),
                   1);
  lp_error err;
  assert_int_equal(lp_trial_screen(f->t, "S01", "P8", "{\"weight\":80,\"weight_kg\":80}", "invS01", &r, &err),
                   LP_EDATA);
  assert_non_null(strstr(err.message, "not both"));
}

/* Why the drug was not started: required when it was not, refused when it was (or
 * when received_drug is not recorded), `other` with its text only, and a death or a
 * withdrawal given as the reason only with the record saying so; a correction that
 * leaves the reason out of step with received_drug is refused as well. */
static void test_not_received_reason(void **state) {
  fixture *f = *state;
  lp_trial *t = f->t;
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"received_drug\":0}", "not_received_reason",
          "received_drug is 0: say why the study drug was not started");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"received_drug\":1,\"not_received_reason\":\"trial_halted\"}",
          "not_received_reason", "but received_drug is 1");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"not_received_reason\":\"trial_halted\"}", "not_received_reason",
          "received_drug is not recorded");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"received_drug\":0,\"not_received_reason\":\"improved\"}",
          "not_received_reason", "one of");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"received_drug\":0,\"not_received_reason\":\"other\"}",
          "not_received_other", "not_received_reason is other: say what the reason was");
  refused(t, LP_RECORD_OUTCOME,
          "{\"patient\":\"P1\",\"received_drug\":0,\"not_received_reason\":\"trial_halted\",\"not_received_other\":"
          "\"pharmacy closed\"}",
          "not_received_other", "not_received_reason is trial_halted, not other");
  refused(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"received_drug\":0,\"not_received_reason\":\"died\"}", "died",
          "because the patient died, but died is not 1");
  refused(t, LP_RECORD_OUTCOME,
          "{\"patient\":\"P1\",\"received_drug\":0,\"not_received_reason\":\"consent_withdrawn\"}", "consent_withdrawn",
          "because consent was withdrawn, but consent_withdrawn is not 1");
  assert_int_equal(count(t, "SELECT count(*) FROM outcomes"), 0);
  rec_ok(t, LP_RECORD_OUTCOME,
         "{\"patient\":\"P1\",\"received_drug\":0,\"not_received_reason\":\"other\",\"not_received_other\":"
         "\"no line\"}");
  rec_ok(t, LP_RECORD_OUTCOME,
         "{\"patient\":\"P2\",\"received_drug\":0,\"not_received_reason\":\"died\",\"died\":1,\"death_date\":"
         "\"2026-03-02T11:00\"}");
  assert_int_equal(count(t,
                         "SELECT count(*) FROM outcomes WHERE (patient='P1' AND not_received_reason='other' AND "
                         "not_received_other='no line') OR (patient='P2' AND not_received_reason='died')"),
                   2);
  /* a correction to received 1 must clear the reason; clearing it alone is refused */
  static const char *const bad[][2] = {{"{\"patient\":\"P1\",\"received_drug\":1}", "but received_drug is 1"},
                                       {"{\"patient\":\"P2\",\"not_received_reason\":null}", "say why"}};
  for (int i = 0; i < 2; i++) {
    lp_error err;
    size_t n = 9;
    assert_int_equal(lp_record_json(t, LP_RECORD_OUTCOME, bad[i][0], NULL, "invS01", "correction", &n, &err), LP_EDATA);
    if (!strstr(err.message, bad[i][1])) fail_msg("%s: '%s' lacks '%s'", bad[i][0], err.message, bad[i][1]);
    assert_string_equal(err.field, "not_received_reason");
  }
  size_t rows;
  TU_CHECK(lp_record_json(t, LP_RECORD_OUTCOME,
                          "{\"patient\":\"P1\",\"received_drug\":1,\"not_received_reason\":null,"
                          "\"not_received_other\":null,\"open_label_drug\":1}",
                          NULL, "invS01", "entered in error", &rows, &e_));
  assert_int_equal(count(t,
                         "SELECT count(*) FROM outcomes WHERE patient='P1' AND received_drug=1 AND "
                         "not_received_reason IS NULL AND not_received_other IS NULL AND open_label_drug=1"),
                   1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_hard_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_fields_named, setup, teardown),
      cmocka_unit_test_setup_teardown(test_soft_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_name, setup, teardown),
      cmocka_unit_test_setup_teardown(test_not_received_reason, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
