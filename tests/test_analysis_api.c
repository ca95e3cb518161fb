/* The analysis API by handle: lp_analysis_run gives the results in memory and leaves no
 * file behind (its temporary export removed), lp_analysis_write writes what it is asked
 * for, lp_analyze gives the same numbers; design --full in the library analyses whole
 * trials in memory and removes every file it made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>

#include <leopards/report.h>
#include <leopards/sim.h>

#include "trialutil.h"

static char *tmp, db[600], kp[600], scratch[700];

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  closedir(d);
  return n;
}

static int setup(void **state) {
  (void)state;
  tmp = tu_tmpdir();
  snprintf(db, sizeof db, "%s/t.db", tmp);
  snprintf(kp, sizeof kp, "%s/t.key", tmp);
  snprintf(scratch, sizeof scratch, "%s/scratch", tmp);
  mkdir(scratch, 0700);
  setenv("TMPDIR", scratch, 1);
  lp_sim_options o;
  lp_sim_options_default(&o);
  o.patients = 160;
  o.sites = 8;
  o.screened = 500;
  lp_sim_summary sum;
  TU_CHECK(lp_sim_run(db, kp, &o, &sum, &e_));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(tmp);
  free(tmp);
  return 0;
}

static void small(lp_analysis_options *o) {
  lp_analysis_options_default(o);
  o->bootstrap = 500;
  o->permutations = 100;
  o->imputations = 3;
  o->threads = 1;
}

static void run_in_memory_then_write(void **state) {
  (void)state;
  lp_trial *t;
  lp_trial_key *k;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  lp_analysis_options o;
  small(&o);
  lp_analysis_results r;
  TU_CHECK(lp_analysis_run(t, k, "t.db", &o, &r, &e_));
  assert_int_equal(entries(scratch), 0); /* the temporary export is gone */
  assert_string_equal(r.export_dir, "");
  assert_true(r.results.n > 90);
  assert_true(r.summary.has_primary);
  const lp_result *p = lp_results_find_role(&r.results, LP_PLAN_ROLE_PRIMARY);
  assert_non_null(p);
  assert_true(isfinite(p->estimate));
  assert_true(r.summary.primary_estimate == p->estimate);
  assert_true(r.derived.patients > 100);
  assert_non_null(strstr(r.title, "Simulated trial"));
  /* only the data files */
  char out[800];
  snprintf(out, sizeof out, "%s/data-only", tmp);
  mkdir(out, 0700);
  TU_CHECK(lp_analysis_write(&r, out, LP_OUTPUT_DATA, &e_));
  assert_int_equal(entries(out), 3);
  char f[900];
  snprintf(f, sizeof f, "%s/analysis_dictionary.csv", out);
  assert_int_equal(access(f, R_OK), 0);
  snprintf(f, sizeof f, "%s/report.html", out);
  assert_int_not_equal(access(f, R_OK), 0);
  /* and the whole report, with the same numbers as lp_analyze's */
  snprintf(out, sizeof out, "%s/full", tmp);
  mkdir(out, 0700);
  TU_CHECK(lp_analysis_write(&r, out, LP_OUTPUT_ALL, &e_));
  snprintf(f, sizeof f, "%s/report.json", out);
  FILE *a = fopen(f, "rb");
  assert_non_null(a);
  char *ja = calloc(1, 1 << 22);
  size_t na = fread(ja, 1, (1 << 22) - 1, a);
  fclose(a);
  lp_key_free(k);
  lp_trial_close(t);
  char viaan[800];
  snprintf(viaan, sizeof viaan, "%s/analyze", tmp);
  lp_analysis_summary s;
  TU_CHECK(lp_analyze(db, kp, viaan, &o, &s, &e_));
  assert_true(s.primary_estimate == r.summary.primary_estimate);
  snprintf(f, sizeof f, "%s/report.json", viaan);
  FILE *b = fopen(f, "rb");
  assert_non_null(b);
  char *jb = calloc(1, 1 << 22);
  size_t nb = fread(jb, 1, (1 << 22) - 1, b);
  fclose(b);
  /* the titles differ (the database's name); every number is the same */
  const char *ta = strstr(ja, "\"arms\""), *tb = strstr(jb, "\"arms\"");
  assert_non_null(ta);
  assert_non_null(tb);
  assert_true(na > 1000 && nb > 1000);
  assert_string_equal(ta, tb);
  free(ja);
  free(jb);
  lp_analysis_results_clear(&r);
}

static void refusals(void **state) {
  (void)state;
  lp_trial *t;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  lp_analysis_options o;
  small(&o);
  lp_analysis_results r;
  lp_error e;
  assert_int_equal(lp_analysis_run(t, NULL, NULL, &o, &r, &e), LP_EINVAL);
  assert_null(strstr(e.message, "--"));
  o.plan = "/nonexistent/plan.csv";
  lp_trial_key *k;
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  assert_int_equal(lp_analysis_run(t, k, NULL, &o, &r, &e), LP_EIO);
  assert_int_equal(entries(scratch), 0);
  lp_key_free(k);
  lp_trial_close(t);
}

static void design_full_in_memory(void **state) {
  (void)state;
  char work[800];
  snprintf(work, sizeof work, "%s/design", tmp);
  mkdir(work, 0700);
  lp_design_full_options o;
  lp_design_full_options_default(&o);
  o.trials = 1;
  o.bootstrap = 200;
  o.permutations = 100;
  o.imputations = 2;
  o.threads = 1;
  o.work_dir = work;
  lp_design_full f;
  TU_CHECK(lp_design_full_run(&o, &f, &e_));
  assert_int_equal(entries(work), 0); /* every trial file and folder removed */
  assert_int_equal(entries(scratch), 0);
  assert_true(f.n > 20);
  size_t with_published = 0;
  for (size_t i = 0; i < f.n; i++) {
    if (f.rows[i].trials) { /* one trial: the middle 95% of trials is its estimate */
      assert_true(isfinite(f.rows[i].mean));
      assert_true(f.rows[i].q025 == f.rows[i].mean && f.rows[i].q975 == f.rows[i].mean);
    }
    with_published += isfinite(f.rows[i].published);
  }
  assert_true(with_published > 10);
  lp_design_full_clear(&f);
  o.trials = 0;
  lp_error e;
  assert_int_equal(lp_design_full_run(&o, &f, &e), LP_ERANGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(run_in_memory_then_write), cmocka_unit_test(refusals),
                                     cmocka_unit_test(design_full_in_memory)};
  return cmocka_run_group_tests(tests, setup, teardown);
}
