/* Screening failure codes: each criterion on one field is named by that field (an
 * input field of `leopards screen`), and screening records stored with the codes of
 * earlier versions (esrf, hepatic, window_24h, ...) give the same CONSORT counts as
 * today's: a simulated trial is exported, its screening log rewritten with the old
 * codes, and both exports derived. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/clinical.h>
#include <leopards/derive.h>
#include <leopards/sim.h>
#include <leopards/trial.h>

#include "trialutil.h"

/* Every failure code but sirs is the name of an input field. */
static void test_codes_are_fields(void **state) {
  char fields[4096];
  lp_screen_fields_help(fields, sizeof fields);
  lp_eligibility_input in;
  lp_eligibility_input_init(&in);
  lp_eligibility e;
  lp_error err;
  assert_int_equal(lp_eligibility_check(&in, &e, &err), LP_OK);
  assert_int_equal(e.nfailed, 15);
  for (size_t i = 0; i < e.nfailed; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s", e.failed[i]);
    char *colon = strchr(name, ':');
    assert_non_null(colon);
    *colon = '\0';
    if (!strcmp(name, "sirs")) continue;
    char needle[80];
    snprintf(needle, sizeof needle, "\n  %s ", name);
    char with_start[4200];
    snprintf(with_start, sizeof with_start, "\n%s", fields);
    if (!strstr(with_start, needle)) fail_msg("code '%s' is not an input field", name);
  }
}

/* Replace each current code by its earlier name in one CSV file, in place. */
static void rewrite_old(const char *path) {
  static const char *const pairs[][2] = {{"hours_since_criteria", "window_24h"},
                                         {"vasopressor_hours", "vasopressor"},
                                         {"esrf_dialysis", "esrf"},
                                         {"torsades_history", "torsades"},
                                         {"child_pugh_c", "hepatic"},
                                         {"ventricular_obstruction", "obstruction"},
                                         {"levosimendan_hypersensitivity", "hypersensitivity"}};
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  /* Only in the failed column: header "...,failed,inputs,..." — the inputs JSON
   * keeps the field names, so rewrite text outside braces only. */
  char *out = malloc((size_t)n * 2 + 1);
  size_t k = 0;
  int depth = 0;
  size_t replaced = 0;
  for (long i = 0; i < n;) {
    if (buf[i] == '{') depth++;
    if (buf[i] == '}') depth--;
    bool hit = false;
    if (depth == 0 && i > 0 && strchr(",\"", buf[i - 1]))
      for (size_t p = 0; p < sizeof pairs / sizeof pairs[0] && !hit; p++) {
        size_t l = strlen(pairs[p][0]);
        if (!strncmp(buf + i, pairs[p][0], l) && strchr(",\":\n", buf[i + (long)l])) {
          memcpy(out + k, pairs[p][1], strlen(pairs[p][1]));
          k += strlen(pairs[p][1]);
          i += (long)l;
          hit = true;
          replaced++;
        }
      }
    if (!hit) out[k++] = buf[i++];
  }
  assert_true(replaced > 50);
  f = fopen(path, "wb");
  fwrite(out, 1, k, f);
  fclose(f);
  free(buf);
  free(out);
}

static void test_consort_with_old_codes(void **state) {
  char *dir = tu_tmpdir();
  char db[600], key[600], now[600], old[600], scr[700], cmd[1500];
  snprintf(db, sizeof db, "%s/t.db", dir);
  snprintf(key, sizeof key, "%s/t.key", dir);
  snprintf(now, sizeof now, "%s/now", dir);
  snprintf(old, sizeof old, "%s/old", dir);
  lp_sim_options o;
  lp_sim_options_default(&o);
  o.patients = 60, o.sites = 4, o.screened = 400;
  lp_sim_summary sum;
  TU_CHECK(lp_sim_run(db, key, &o, &sum, &e_));
  lp_trial *t;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  lp_trial_key *k;
  TU_CHECK(lp_key_load(t, key, &k, &e_));
  TU_CHECK(lp_trial_export(t, now, k, &e_));
  lp_key_free(k);
  lp_trial_close(t);
  snprintf(cmd, sizeof cmd, "cp -r '%s' '%s'", now, old);
  assert_int_equal(system(cmd), 0);
  snprintf(scr, sizeof scr, "%s/screening.csv", old);
  rewrite_old(scr);
  lp_derive_options d;
  lp_derive_options_default(&d);
  lp_derived a, b;
  TU_CHECK(lp_derive(now, &d, &a, &e_));
  TU_CHECK(lp_derive(old, &d, &b, &e_));
  assert_int_equal(a.flow.nreasons, b.flow.nreasons);
  long excluded_by_field = 0;
  for (size_t i = 0; i < a.flow.nreasons; i++) {
    assert_string_equal(a.flow.reasons[i].text, b.flow.reasons[i].text);
    assert_int_equal(a.flow.reasons[i].count, b.flow.reasons[i].count);
    if (strstr(a.flow.reasons[i].text, "24-hr window") || strstr(a.flow.reasons[i].text, "treatment limitation"))
      excluded_by_field += a.flow.reasons[i].count;
  }
  assert_true(excluded_by_field > 0); /* the renamed criteria are counted, not lost */
  assert_int_equal(a.flow.excluded, b.flow.excluded);
  lp_derived_clear(&a);
  lp_derived_clear(&b);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_codes_are_fields),
                                     cmocka_unit_test(test_consort_with_old_codes)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
