/* The export's fields (include/leopards/fields.h) against a real export: every table
 * and column that the analysis reads is in the files that data capture writes, with the
 * type the list gives; choice levels are read back one by one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>

#include <leopards/fields.h>
#include <leopards/sim.h>
#include <leopards/table.h>

#include "trialutil.h"

static void every_field_is_in_the_export(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], kp[600], out[600];
  snprintf(db, sizeof db, "%s/t.db", dir);
  snprintf(kp, sizeof kp, "%s/t.key", dir);
  snprintf(out, sizeof out, "%s/export", dir);
  lp_sim_options o;
  lp_sim_options_default(&o);
  o.patients = 24;
  o.sites = 3;
  o.screened = 60;
  lp_sim_summary sum;
  TU_CHECK(lp_sim_run(db, kp, &o, &sum, &e_));
  lp_trial *t;
  lp_trial_key *k;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  TU_CHECK(lp_trial_export(t, out, k, &e_));
  for (int id = 0; id < LP_F_COUNT; id++) {
    const lp_field *f = lp_field_get((lp_field_id)id);
    char path[900];
    snprintf(path, sizeof path, "%s/%s.csv", out, f->table);
    lp_table *tab;
    TU_CHECK(lp_table_read_csv(path, &tab, &e_));
    size_t c;
    lp_error e;
    if (lp_table_column(tab, f->column, &c, &e)) fail_msg("%s.csv has no column %s", f->table, f->column);
    if (f->type == LP_FIELD_NUMBER || f->type == LP_FIELD_FLAG)
      for (size_t r = 0; r < lp_table_nrows(tab); r++) {
        const char *s = lp_table_cell(tab, r, c);
        double v;
        if (s && *s && !lp_parse_number(s, &v))
          fail_msg("%s.%s row %zu: '%s' is not a number", f->table, f->column, r, s);
      }
    if (f->type == LP_FIELD_DATE)
      for (size_t r = 0; r < lp_table_nrows(tab); r++) {
        const char *s = lp_table_cell(tab, r, c);
        if (s && *s && isnan(lp_parse_iso_days(s))) fail_msg("%s.%s: '%s' is not a date", f->table, f->column, s);
      }
    lp_table_free(tab);
  }
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

static void levels_one_by_one(void **state) {
  (void)state;
  char buf[64];
  assert_int_equal(lp_field_level(LP_F_BASE_RHYTHM, 0, buf, sizeof buf), 5);
  assert_string_equal(buf, "sinus");
  assert_int_equal(lp_field_level(LP_F_BASE_RHYTHM, 3, buf, sizeof buf), 5);
  assert_string_equal(buf, "other");
  assert_int_equal(lp_field_level(LP_F_BASE_RHYTHM, 4, buf, sizeof buf), 0);
  assert_int_equal(lp_field_level(LP_F_BASE_AGE, 0, buf, sizeof buf), 0);
  /* a level that does not fit the buffer is refused, not cut */
  assert_int_equal(lp_field_level(LP_F_AE_CATEGORY, 0, buf, 8), 0);
  assert_string_equal(lp_field_column(LP_F_OUT_WITHDRAWN), "consent_withdrawn");
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(every_field_is_in_the_export),
                                     cmocka_unit_test(levels_one_by_one)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
