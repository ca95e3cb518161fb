/* Data entry and exchange at the library level: every record kind written and
 * validated (units, ranges, FiO2 as a fraction, SI conversion, dates in order, the
 * infusion protocol), all-or-nothing batches, changes with reasons, deletion, and the
 * export -> import -> export round trip with its refusal of damaged exports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

/* Fixed clock: the randomisation date is 2026-03-02; the data are entered on
 * 2026-04-30, when the 28 days of follow-up are over. */
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
  clock_day = "2026-04-30";
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

static double column(lp_trial *t, const char *sql) {
  sqlite3_stmt *st;
  TU_CHECK(lp__prepare(t, sql, &st, &e_));
  double x = NAN;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) x = sqlite3_column_double(st, 0);
  lp__finalize(t, st);
  return x;
}

static void rec_fail(lp_trial *t, lp_record_kind k, const char *json, const char *reason, lp_status want,
                     const char *text) {
  lp_error err;
  size_t rows = 99;
  lp_status s = lp_record_json(t, k, json, NULL, "invS01", reason, &rows, &err);
  if (s != want) fail_msg("%s: status %s, message %s", json, lp_status_name(s), err.message);
  assert_int_equal(rows, 0);
  if (!strstr(err.message, text)) fail_msg("%s: message '%s' lacks '%s'", json, err.message, text);
}

static void rec_ok(lp_trial *t, lp_record_kind k, const char *json, const char *reason) {
  size_t rows;
  TU_CHECK(lp_record_json(t, k, json, NULL, "invS01", reason, &rows, &e_));
}

static void test_baseline(void **state) {
  fixture *f = *state;
  lp_trial *t = f->t;
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"fio2\":60,\"pao2\":80}", NULL, LP_EDATA,
           "60 looks like a percentage: give FiO2 as a fraction (0.6)");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"fio2\":0.1}", NULL, LP_EDATA, "outside the plausible range");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"gcs\":2}", NULL, LP_EDATA, "field 'gcs'");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"gcs\":9.5}", NULL, LP_EDATA, "not a whole number");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"apache2\":72}", NULL, LP_EDATA, "0 to 71");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"sex\":\"m\"}", NULL, LP_EDATA, "male|female");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"weight_kg\":140}", NULL, LP_EDATA, "weight_kg");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"creatinine\":1,\"creatinine_umol_l\":88.4}", NULL, LP_EDATA,
           "not both");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"pao2\":80}", NULL, LP_EDATA, "without FiO2");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P9\",\"age\":50}", NULL, LP_EDATA, "not been randomised");
  rec_fail(t, LP_RECORD_BASELINE, "{\"age\":50}", NULL, LP_EDATA, "patient code is required");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":50", NULL, LP_EPARSE, "the JSON input:1:");
  /* a patient code is never truncated: a longer one than screening admits is refused by name */
  rec_fail(t, LP_RECORD_BASELINE,
           "{\"patient\":\"P123456789012345678901234567890123456789012345678901234567890123\",\"age\":50}", NULL,
           LP_EDATA, "a patient code has at most 63 characters (this one has 64)");
  rec_fail(t, LP_RECORD_BASELINE, "[1]", NULL, LP_EDATA, "expected an object");
  /* a batch with one bad row writes nothing */
  rec_fail(t, LP_RECORD_BASELINE, "[{\"patient\":\"P1\",\"age\":50},{\"patient\":\"P2\",\"age\":5}]", NULL, LP_EDATA,
           "the JSON input[2]: field 'age'");
  assert_true(isnan(column(t, "SELECT count(*) FROM patients WHERE 0")) || 1);
  assert_int_equal((int)column(t, "SELECT count(*) FROM patients"), 0);
  /* SI units converted with the paper's factors; booleans from true/false */
  rec_ok(t, LP_RECORD_BASELINE,
         "{\"patient\":\"P1\",\"age\":64,\"creatinine_umol_l\":176.8,\"bilirubin_umol_l\":34.2,\"diabetes\":true,"
         "\"fio2\":0.5,\"pao2\":100,\"sofa\":10,\"apache2\":25}",
         NULL);
  check_close(column(t, "SELECT creatinine FROM patients WHERE patient='P1'"), 2.0, 1e-14, "creatinine mg/dL");
  check_close(column(t, "SELECT bilirubin FROM patients WHERE patient='P1'"), 2.0, 1e-14, "bilirubin mg/dL");
  check_close(column(t, "SELECT diabetes FROM patients WHERE patient='P1'"), 1, 0, "diabetes");
  /* the audit trail keeps what was entered in the other unit beside the value kept */
  assert_int_equal((int)column(t,
                               "SELECT count(*) FROM audit WHERE tbl='patients' AND reason='data entry (entered in "
                               "another unit: bilirubin_umol_l 34.2 umol/L = bilirubin 2 mg/dL; "
                               "creatinine_umol_l 176.8 umol/L = creatinine 2 mg/dL)'"),
                   1);
  /* the limits apply after the conversion: 8 umol/L is 0.09 mg/dL, below 0.1 */
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"creatinine_umol_l\":8}", "x", LP_EDATA,
           "field 'creatinine_umol_l': 8 umol/L (0.0904977 mg/dL) is outside the plausible range 0.1 to 25 mg/dL");
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"bilirubin_umol_l\":1100}", "x", LP_EDATA,
           "1100 umol/L (64.3275 mg/dL) is outside the plausible range 0.05 to 60 mg/dL");
  {
    lp_findings fs = {0};
    size_t rows;
    lp_error err;
    assert_int_equal(lp_record_check(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"creatinine_umol_l\":1000}", NULL,
                                     "invS01", &fs, &err),
                     LP_OK);
    assert_int_equal((int)fs.soft, 1);
    assert_string_equal(fs.items[0].field, "creatinine");
    assert_string_equal(fs.items[0].text,
                        "1000 umol/L (11.3122 mg/dL) is unusually high (above 10 mg/dL): please check");
    lp_findings_clear(&fs);
    (void)rows;
  }
  /* a change needs a reason; it changes only the fields given; null clears */
  rec_fail(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":65}", NULL, LP_EDATA, "needs a reason");
  rec_ok(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":65,\"sofa\":null}", "source document check");
  check_close(column(t, "SELECT age FROM patients WHERE patient='P1'"), 65, 0, "age changed");
  check_close(column(t, "SELECT apache2 FROM patients WHERE patient='P1'"), 25, 0, "apache2 kept");
  assert_true(isnan(column(t, "SELECT sofa FROM patients WHERE patient='P1'")));
  /* other site's investigator may not record */
  lp_error err;
  size_t rows;
  assert_int_equal(
      lp_record_json(t, LP_RECORD_BASELINE, "{\"patient\":\"P2\",\"age\":50}", NULL, "invS02", NULL, &rows, &err),
      LP_EDENIED);
  assert_int_equal(
      lp_record_json(t, LP_RECORD_BASELINE, "{\"patient\":\"P2\",\"age\":50}", NULL, "mgr", NULL, &rows, &err), LP_OK);
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  assert_int_equal(rep.nproblems, 0);
}

static void test_daily_infusion_outcome_ae(void **state) {
  fixture *f = *state;
  lp_trial *t = f->t;
  rec_fail(t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"map\":60}", NULL, LP_EDATA, "field 'day': required");
  rec_fail(t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":0}", NULL, LP_EDATA, "1 to 28");
  rec_ok(t, LP_RECORD_DAILY,
         "[{\"patient\":\"P1\",\"day\":1,\"norepinephrine\":0.3,\"fio2\":0.21,\"pao2\":80},"
         "{\"patient\":\"P1\",\"day\":2,\"fio2\":1}]",
         NULL);
  rec_ok(t, LP_RECORD_DAILY, "{\"patient\":\"P1\",\"day\":2,\"gcs\":14}", "late entry");
  check_close(column(t, "SELECT count(*) FROM daily"), 2, 0, "two days");
  /* the infusion protocol */
  rec_fail(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":0,\"event\":\"start\",\"dose\":0.2}", NULL, LP_EDATA,
           "no bolus");
  rec_fail(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":3,\"event\":\"increase\",\"dose\":0.2}", NULL, LP_EDATA,
           "no 'start'");
  rec_ok(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":0,\"event\":\"start\",\"dose\":0.1}", NULL);
  rec_fail(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":3,\"event\":\"increase\",\"dose\":0.15}", NULL,
           LP_EDATA, "not a protocol dose");
  rec_fail(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":3,\"event\":\"decrease\",\"dose\":0.2}", NULL, LP_EDATA,
           "a decrease is to");
  rec_fail(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":20,\"event\":\"end\",\"dose\":0}", NULL, LP_EDATA,
           "ends at hour 24");
  rec_fail(t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":25,\"event\":\"end\",\"dose\":0}", NULL, LP_EDATA,
           "0 to 24");
  rec_ok(t, LP_RECORD_INFUSION,
         "[{\"patient\":\"P1\",\"hour\":3,\"event\":\"increase\",\"dose\":0.2},"
         "{\"patient\":\"P1\",\"hour\":10,\"event\":\"decrease\",\"dose\":0.1,\"reason\":\"tachycardia\"},"
         "{\"patient\":\"P1\",\"hour\":24,\"event\":\"end\",\"dose\":0}]",
         NULL);
  /* outcomes: dates in order, death with its date */
  rec_fail(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"icu_discharge\":\"2026-03-01\"}", NULL, LP_EDATA,
           "before the randomisation date 2026-03-02");
  rec_fail(t, LP_RECORD_OUTCOME,
           "{\"patient\":\"P1\",\"icu_discharge\":\"2026-03-10\",\"hospital_discharge\":\"2026-03-09\"}", NULL,
           LP_EDATA, "hospital discharge 2026-03-09 is before ICU discharge");
  rec_fail(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"death_date\":\"2026-03-09\"}", NULL, LP_EDATA, "died is not 1");
  rec_fail(t, LP_RECORD_OUTCOME,
           "{\"patient\":\"P1\",\"died\":1,\"death_date\":\"2026-03-09\",\"icu_discharge\":\"2026-03-12\"}", NULL,
           LP_EDATA, "after death");
  rec_fail(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"weaned_date\":\"2026-02-29\"}", NULL, LP_EDATA, "not a date");
  rec_fail(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"consent_withdrawn\":1}", NULL, LP_EDATA, "no date");
  rec_ok(t, LP_RECORD_OUTCOME,
         "{\"patient\":\"P1\",\"died\":1,\"death_date\":\"2026-03-09\",\"icu_discharge\":\"2026-03-09\","
         "\"received_drug\":1}",
         NULL);
  /* a later change that would break a rule is checked against the stored fields */
  rec_fail(t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"died\":0}", "correction", LP_EDATA, "died is not 1");
  /* adverse events: append, change by id, delete */
  rec_ok(t, LP_RECORD_AE,
         "{\"patient\":\"P1\",\"onset\":\"2026-03-03\",\"category\":\"supraventricular_tachyarrhythmia\","
         "\"term\":\"atrial fibrillation\",\"serious\":0}",
         NULL);
  rec_ok(t, LP_RECORD_AE,
         "{\"patient\":\"P1\",\"onset\":\"2026-03-04\",\"category\":\"other\",\"term\":\"rash\",\"serious\":0}", NULL);
  long id = (long)column(t, "SELECT id FROM adverse_events WHERE term='rash'");
  char json[256];
  snprintf(json, sizeof json, "{\"patient\":\"P1\",\"id\":%ld,\"serious\":1}", id);
  rec_ok(t, LP_RECORD_AE, json, "upgraded to serious");
  check_close(column(t, "SELECT serious FROM adverse_events WHERE term='rash'"), 1, 0, "ae changed");
  snprintf(json, sizeof json, "{\"patient\":\"P2\",\"id\":%ld,\"serious\":1}", id);
  rec_fail(t, LP_RECORD_AE, json, "x", LP_EDATA, "has no adverse event");
  rec_fail(t, LP_RECORD_AE, "{\"patient\":\"P1\",\"onset\":\"2026-03-04\",\"category\":\"other\"}", NULL, LP_EDATA,
           "field 'term': required");
  lp_error err;
  assert_int_equal(lp_record_delete(t, LP_RECORD_AE, id, "invS01", NULL, &err), LP_EINVAL);
  assert_int_equal(lp_record_delete(t, LP_RECORD_AE, 999, "invS01", "typo", &err), LP_ENOTFOUND);
  assert_int_equal(lp_record_delete(t, LP_RECORD_AE, id, "invS02", "typo", &err), LP_EDENIED);
  TU_CHECK(lp_record_delete(t, LP_RECORD_AE, id, "invS01", "duplicate entry", &e_));
  check_close(column(t, "SELECT count(*) FROM adverse_events"), 1, 0, "one ae left");
  check_close(
      column(t, "SELECT count(*) FROM audit WHERE tbl='adverse_events' AND action='delete' AND old LIKE '%rash%'"), 1,
      0, "deleted content kept in the audit trail");
  lp_record_kind k;
  assert_int_equal(lp_record_kind_parse("weekly", &k, &err), LP_EINVAL);
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  if (rep.nproblems) fail_msg("%s", rep.problems[0].message);
}

static void test_csv_input(void **state) {
  fixture *f = *state;
  char path[700];
  snprintf(path, sizeof path, "%s/daily.csv", f->dir);
  FILE *fp = fopen(path, "w");
  fputs("patient,day,map,fio2\nP1,1,65,0.4\nP2,1,70,40\n", fp);
  fclose(fp);
  lp_error err;
  size_t rows;
  assert_int_equal(lp_record_csv(f->t, LP_RECORD_DAILY, path, "invS01", NULL, &rows, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "daily.csv:3: column 'fio2'"));
  assert_int_equal(err.line, 3);
  assert_string_equal(err.field, "fio2");
  fp = fopen(path, "w");
  fputs("patient,day,map,fio2\nP1,1,65,0.4\nP2,1,70,NA\n", fp);
  fclose(fp);
  TU_CHECK(lp_record_csv(f->t, LP_RECORD_DAILY, path, "invS01", NULL, &rows, &e_));
  assert_int_equal(rows, 2);
  assert_true(isnan(column(f->t, "SELECT fio2 FROM daily WHERE patient='P2'")));
}

static void run(const char *cmd) {
  if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

static void test_export_import(void **state) {
  fixture *f = *state;
  lp_trial *t = f->t;
  rec_ok(t, LP_RECORD_BASELINE,
         "{\"patient\":\"P1\",\"age\":64,\"weight_kg\":80.1,\"height_cm\":175.25,\"race\":\"white\",\"lactate\":2.2}",
         NULL);
  rec_ok(t, LP_RECORD_AE,
         "{\"patient\":\"P2\",\"onset\":\"2026-03-03\",\"category\":\"other\",\"term\":\"quote \\\" comma, "
         "newline\\n end\",\"serious\":0,\"description\":\"\"}",
         NULL);
  lp_unblinding u;
  TU_CHECK(lp_trial_unblind(t, f->k, "P2", "bleeding", "invS01", &u, &e_));
  char d1[700], d2[700], db2[700], cmd[2200];
  snprintf(d1, sizeof d1, "%s/ex1", f->dir);
  snprintf(d2, sizeof d2, "%s/ex2", f->dir);
  snprintf(db2, sizeof db2, "%s/copy.db", f->dir);
  lp_error err;
  assert_int_equal(lp_trial_export(t, d1, f->k, &err), LP_ESTATE); /* arms only after lock */
  TU_CHECK(lp_trial_export(t, d1, NULL, &e_));
  TU_CHECK(lp_trial_import(db2, d1, &e_));
  lp_trial *t2;
  TU_CHECK(lp_trial_open(db2, &t2, &e_));
  TU_CHECK(lp_trial_export(t2, d2, NULL, &e_));
  snprintf(cmd, sizeof cmd, "diff -r '%s' '%s'", d1, d2);
  run(cmd);
  /* the copy works: same allocations, verifies, and the key opens it */
  lp_allocation a;
  TU_CHECK(tu_consent(t2, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t2, "S01", "P1", "invS01", &a, &e_));
  assert_true(a.existing);
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t2, 0, NULL, &rep, &e_));
  assert_int_equal(rep.nproblems, 0);
  TU_CHECK(lp_trial_lock(t2, "mgr", &e_));
  lp_allocation_arm *al;
  size_t n;
  TU_CHECK(lp_trial_allocations(t2, f->k, &al, &n, &e_));
  assert_int_equal(n, 2);
  assert_int_equal(al[1].arm, u.arm);
  free(al);
  lp_trial_close(t2);
  /* an empty text is recorded as missing; quotes, commas and newlines survive exactly */
  check_close(column(t, "SELECT count(*) FROM adverse_events WHERE description IS NULL"), 1, 0, "empty text");
  lp_trial *t3;
  TU_CHECK(lp_trial_open(db2, &t3, &e_));
  check_close(column(t3, "SELECT count(*) FROM adverse_events WHERE term='quote \" comma, newline\n end'"), 1, 0,
              "special characters after import");
  lp_trial_close(t3);
  /* damaged exports are refused and leave no file */
  char db3[700];
  snprintf(db3, sizeof db3, "%s/bad.db", f->dir);
  snprintf(cmd, sizeof cmd, "sed -i 's/80.1,/80.2,/' '%s/patients.csv'", d1);
  run(cmd);
  assert_int_equal(lp_trial_import(db3, d1, &err), LP_EINTEGRITY);
  assert_non_null(strstr(err.message, "patients row 1 was changed"));
  FILE *fp = fopen(db3, "r");
  assert_null(fp);
  snprintf(cmd, sizeof cmd, "sed -i 's/80.2,/80.1,/' '%s/patients.csv' && sed -i '$d' '%s/audit.csv'", d1, d1);
  run(cmd);
  assert_int_equal(lp_trial_import(db3, d1, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "rows where the manifest says"));
  snprintf(cmd, sizeof cmd, "rm '%s/manifest.csv'", d1);
  run(cmd);
  assert_int_equal(lp_trial_import(db3, d1, &err), LP_EIO);
  assert_int_equal(lp_trial_import(db2, d2, &err), LP_ESTATE); /* never over an existing file */
}

/* The trial manager's view: what each patient owes, counted on given days. */
static void test_progress(void **state) {
  fixture *f = *state;
  /* P1: baseline, infusion, daily days 1, 2, 4, 6 and 7, ICU discharge on day 7 (the
   * 9th: 7 days after randomisation); P2: nothing yet. */
  rec_ok(f->t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":60}", NULL);
  rec_ok(f->t, LP_RECORD_INFUSION, "{\"patient\":\"P1\",\"hour\":0,\"event\":\"start\",\"dose\":0.1}", NULL);
  rec_ok(f->t, LP_RECORD_DAILY,
         "[{\"patient\":\"P1\",\"day\":1,\"map\":70},{\"patient\":\"P1\",\"day\":2,\"map\":70},"
         "{\"patient\":\"P1\",\"day\":4,\"map\":70},{\"patient\":\"P1\",\"day\":6,\"map\":70},"
         "{\"patient\":\"P1\",\"day\":7,\"map\":70}]",
         NULL);
  rec_ok(f->t, LP_RECORD_OUTCOME, "{\"patient\":\"P1\",\"icu_discharge\":\"2026-03-09T09:00\",\"died\":0}", NULL);
  lp_progress p;
  /* The day of randomisation: no ICU day is complete; P2 owes a baseline and an
   * infusion record. */
  TU_CHECK(lp_trial_progress(f->t, NULL, "2026-03-02", &p, &e_));
  assert_int_equal(p.total.randomised, 2);
  assert_int_equal(p.nsites, 2);
  assert_int_equal(p.sites[1].randomised, 0);
  assert_int_equal(p.total.days_expected, 0);
  assert_int_equal(p.nitems, 2);
  assert_string_equal(p.items[0].patient, "P2");
  assert_string_equal(p.items[0].what, "no baseline record");
  assert_string_equal(p.items[1].what, "no infusion record");
  lp_progress_clear(&p);
  /* Eight days on: P1 owes days 1-7 (discharged on day 7), P2 days 1-8. */
  TU_CHECK(lp_trial_progress(f->t, NULL, "2026-03-10", &p, &e_));
  assert_int_equal(p.total.days_expected, 7 + 8);
  assert_int_equal(p.total.days_recorded, 5);
  assert_int_equal(p.nitems, 4);
  assert_string_equal(p.items[0].patient, "P1");
  assert_string_equal(p.items[0].what, "daily records missing: days 3, 5 (of 1-7)");
  assert_string_equal(p.items[3].what, "daily records missing: days 1-8 (of 1-8)");
  lp_progress_clear(&p);
  /* A day recorded as in the ICU after the discharge is a query; a day out of the
   * ICU is not. */
  rec_ok(f->t, LP_RECORD_DAILY,
         "[{\"patient\":\"P1\",\"day\":9,\"in_icu\":1,\"map\":70},"
         "{\"patient\":\"P1\",\"day\":10,\"in_icu\":0}]",
         NULL);
  TU_CHECK(lp_trial_progress(f->t, NULL, "2026-03-10", &p, &e_));
  assert_int_equal(p.nitems, 5);
  assert_string_equal(p.items[1].what, "daily record in the ICU after ICU discharge (day 7): day 9");
  lp_progress_clear(&p);
  /* Ten days on, P2 (still in the ICU) owes days 1-10; after 28 days, its outcome
   * too, and at most 28 days. */
  TU_CHECK(lp_trial_progress(f->t, "S01", "2026-03-12", &p, &e_));
  assert_int_equal(p.nsites, 1);
  assert_string_equal(p.items[p.nitems - 1].what, "daily records missing: days 1-10 (of 1-10)");
  lp_progress_clear(&p);
  TU_CHECK(lp_trial_progress(f->t, NULL, "2026-05-01", &p, &e_));
  assert_int_equal(p.total.outcome_due, 2);
  assert_int_equal(p.total.outcome, 1);
  assert_int_equal(p.total.days_expected, 7 + 28);
  bool due = false;
  for (size_t i = 0; i < p.nitems; i++)
    due = due || !strcmp(p.items[i].what, "no outcome record (28-day follow-up due, randomised 2026-03-02)");
  assert_true(due);
  lp_progress_clear(&p);
  /* Consent withdrawn: nothing more is owed. */
  rec_ok(f->t, LP_RECORD_OUTCOME,
         "{\"patient\":\"P2\",\"consent_withdrawn\":1,\"consent_withdrawn_date\":\"2026-03-02\"}", NULL);
  TU_CHECK(lp_trial_progress(f->t, NULL, "2026-05-01", &p, &e_));
  assert_int_equal(p.total.withdrawn, 1);
  assert_int_equal(p.nitems, 2); /* P1's missing days and its day after discharge */
  assert_int_equal(p.months[0].randomised, 2);
  assert_string_equal(p.months[0].month, "2026-03");
  lp_progress_clear(&p);
  /* Refusals. */
  lp_error err;
  assert_int_equal(lp_trial_progress(f->t, NULL, "2026-02-30", &p, &err), LP_EINVAL);
  assert_non_null(strstr(err.message, "not a date"));
  assert_int_equal(lp_trial_progress(f->t, "S09", NULL, &p, &err), LP_ENOTFOUND);
  assert_null(p.items);
}

/* The library applies the role rule itself (lp_access_check), whatever the front end:
 * patient data are recorded by an investigator of the patient's site or a manager;
 * unblinding by that site's investigator, a manager or a statistician; on request only
 * by a key holder (manager or statistician), and the requester must be entitled too. */
static void test_library_role_rule(void **state) {
  fixture *f = *state;
  lp_error err;
  size_t rows;
  TU_CHECK(lp_user_add(f->t, "mgr", "monS01", LP_ROLE_MONITOR, "S01", &e_));
  TU_CHECK(lp_user_add(f->t, "mgr", "mon", LP_ROLE_MONITOR, NULL, &e_));
  const char *rec = "{\"patient\":\"P1\",\"age\":50}";
  assert_int_equal(lp_record_json(f->t, LP_RECORD_BASELINE, rec, NULL, "invS02", NULL, &rows, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "another site"));
  assert_int_equal(lp_record_json(f->t, LP_RECORD_BASELINE, rec, NULL, "monS01", NULL, &rows, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "may not record data"));
  assert_int_equal(lp_record_json(f->t, LP_RECORD_BASELINE, rec, NULL, "stat", NULL, &rows, &err), LP_EDENIED);
  assert_int_equal(lp_record_json(f->t, LP_RECORD_BASELINE, rec, NULL, "mgr", NULL, &rows, &err), LP_OK);
  assert_true(lp_access_role_has(LP_ROLE_MANAGER, LP_DO_RECORD));
  assert_false(lp_access_role_has(LP_ROLE_MONITOR, LP_DO_RECORD));
  lp_unblinding u;
  assert_int_equal(lp_trial_unblind(f->t, f->k, "P1", "cardiac arrest", "invS02", &u, &err), LP_EDENIED);
  assert_int_equal(lp_trial_unblind(f->t, f->k, "P1", "cardiac arrest", "mon", &u, &err), LP_EDENIED);
  assert_int_equal(u.arm, -1);
  /* an investigator is no key holder, even of the patient's own site */
  assert_int_equal(lp_trial_unblind_for(f->t, f->k, "P1", "cardiac arrest", "invS01", "mgr", &u, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "the key holder does"));
  /* a requester of another site is refused */
  assert_int_equal(lp_trial_unblind_for(f->t, f->k, "P1", "cardiac arrest", "stat", "invS02", &u, &err), LP_EDENIED);
  assert_int_equal(lp_trial_unblind_for(f->t, f->k, "P1", "cardiac arrest", "stat", "invS01", &u, &err), LP_OK);
  assert_true(u.arm == 0 || u.arm == 1);
  assert_int_equal(lp_trial_unblind(f->t, f->k, "P2", "cardiac arrest", "invS01", &u, &err), LP_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_baseline, setup, teardown),
      cmocka_unit_test_setup_teardown(test_daily_infusion_outcome_ae, setup, teardown),
      cmocka_unit_test_setup_teardown(test_csv_input, setup, teardown),
      cmocka_unit_test_setup_teardown(test_export_import, setup, teardown),
      cmocka_unit_test_setup_teardown(test_progress, setup, teardown),
      cmocka_unit_test_setup_teardown(test_library_role_rule, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
