/* The outcome derivation's parameters and table of definitions: the horizon and the
 * confidence level are options (not constants), the CSV header is the table's names in
 * order, bad options are refused; a trial path too long to keep whole is refused
 * rather than cut to another file's name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <gsl/gsl_cdf.h>
#include <math.h>

#include <leopards/derive.h>
#include <leopards/plan.h>
#include <leopards/plan.h>
#include <leopards/sim.h>
#include <leopards/table.h>
#include <leopards/trial.h>

#include "trialutil.h"

static char export_dir[700], *tmp;

static int setup(void **state) {
  (void)state;
  tmp = tu_tmpdir();
  char db[600], kp[600];
  snprintf(db, sizeof db, "%s/t.db", tmp);
  snprintf(kp, sizeof kp, "%s/t.key", tmp);
  snprintf(export_dir, sizeof export_dir, "%s/export", tmp);
  lp_sim_options o;
  lp_sim_options_default(&o);
  o.patients = 60;
  o.sites = 4;
  o.screened = 150;
  lp_sim_summary sum;
  TU_CHECK(lp_sim_run(db, kp, &o, &sum, &e_));
  lp_trial *t;
  lp_trial_key *k;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  TU_CHECK(lp_trial_export(t, export_dir, k, &e_));
  lp_key_free(k);
  lp_trial_close(t);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(tmp);
  free(tmp);
  return 0;
}

static double column_max(const lp_derived *d, const char *name) {
  lp_table *t;
  TU_CHECK(lp_table_parse_csv(d->csv, d->csv_len, "analysis.csv", &t, &e_));
  size_t c;
  TU_CHECK(lp_table_column(t, name, &c, &e_));
  double m = -INFINITY, v;
  for (size_t r = 0; r < lp_table_nrows(t); r++)
    if (lp_parse_number(lp_table_cell(t, r, c), &v) && v > m) m = v;
  lp_table_free(t);
  return m;
}

static void horizon_is_a_parameter(void **state) {
  (void)state;
  lp_derive_options o;
  lp_derive_options_default(&o);
  assert_int_equal(o.horizon, 28);
  lp_derived d28, d7;
  TU_CHECK(lp_derive(export_dir, &o, &d28, &e_));
  o.horizon = 7;
  TU_CHECK(lp_derive(export_dir, &o, &d7, &e_));
  assert_true(column_max(&d28, "time28") > 7);
  assert_true(column_max(&d7, "time28") <= 7);
  assert_true(column_max(&d7, "catecholamine_free_days") <= 7);
  assert_true(column_max(&d7, "icu_days") <= 7);
  assert_true(column_max(&d28, "icu_days") > 7);
  assert_int_equal(d7.course.days, 7);
  assert_int_equal(d28.course.days, 28);
  lp_derived_clear(&d28);
  lp_derived_clear(&d7);
}

static void level_is_a_parameter(void **state) {
  (void)state;
  lp_derive_options o;
  lp_derive_options_default(&o);
  lp_derived a, b;
  TU_CHECK(lp_derive(export_dir, &o, &a, &e_));
  o.level = 0.80;
  TU_CHECK(lp_derive(export_dir, &o, &b, &e_));
  double ratio = gsl_cdf_ugaussian_Pinv(0.90) / gsl_cdf_ugaussian_Pinv(0.975);
  int checked = 0;
  for (int d = 0; d < 14; d++)
    if (a.course.n[0][d] > 1 && isfinite(a.course.hi[0][d])) {
      double wa = a.course.hi[0][d] - a.course.mean[0][d], wb = b.course.hi[0][d] - b.course.mean[0][d];
      assert_true(wa > 0);
      assert_true(fabs(wb / wa - ratio) < 1e-9);
      checked++;
    }
  assert_true(checked >= 5);
  lp_derived_clear(&a);
  lp_derived_clear(&b);
}

static void header_and_dictionary_from_the_table(void **state) {
  (void)state;
  lp_derive_options o;
  lp_derive_options_default(&o);
  o.imputations = 2;
  lp_derived d;
  TU_CHECK(lp_derive(export_dir, &o, &d, &e_));
  lp_table *t;
  TU_CHECK(lp_table_parse_csv(d.csv, d.csv_len, "analysis.csv", &t, &e_));
  size_t c = 0;
  for (size_t i = 0; i < lp_derive_ncolumns(); i++) {
    const lp_derived_column *col = lp_derive_column(i);
    assert_true(*col->definition);
    if (col->per_imputation) {
      for (size_t k = 1; k <= 2; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s%zu", col->name, k);
        assert_string_equal(lp_table_colname(t, c++), name);
      }
    } else
      assert_string_equal(lp_table_colname(t, c++), col->name);
  }
  assert_int_equal(c, lp_table_ncols(t));
  assert_null(lp_derive_column(lp_derive_ncolumns()));
  lp_table *dict;
  TU_CHECK(lp_table_parse_csv(d.dictionary_csv, d.dictionary_len, "analysis_dictionary.csv", &dict, &e_));
  assert_int_equal(lp_table_nrows(dict), lp_table_ncols(t));
  for (size_t r = 0; r < lp_table_nrows(dict); r++)
    assert_string_equal(lp_table_cell(dict, r, 0), lp_table_colname(t, r));
  lp_table_free(dict);
  lp_table_free(t);
  lp_derived_clear(&d);
}

static void bad_options_refused(void **state) {
  (void)state;
  lp_derive_options o;
  lp_derive_options_default(&o);
  lp_derived d;
  lp_error e;
  o.horizon = 0;
  assert_int_equal(lp_derive(export_dir, &o, &d, &e), LP_ERANGE);
  o.horizon = LP_DERIVE_MAX_DAYS + 1;
  assert_int_equal(lp_derive(export_dir, &o, &d, &e), LP_ERANGE);
  o.horizon = 28;
  o.level = 1;
  assert_int_equal(lp_derive(export_dir, &o, &d, &e), LP_ERANGE);
  assert_non_null(strstr(e.message, "confidence level"));
}

static void long_trial_path_refused(void **state) {
  (void)state;
  char path[1400];
  int n = snprintf(path, sizeof path, "%s/", tmp);
  while (n < 1100) path[n++] = 'x';
  snprintf(path + n, sizeof path - (size_t)n, ".db");
  lp_trial *t;
  lp_error e;
  lp_site_def site = {"S01", "S01"};
  assert_int_equal(lp_trial_create(path, "leopards", &site, 1, "mgr", &t, &e), LP_ERANGE);
  assert_non_null(strstr(e.message, "too long"));
  assert_int_equal(lp_trial_open(path, &t, &e), LP_ERANGE);
}

static void errors_carry_the_column(void **state) {
  (void)state;
  static const char plan[] = "id,table,label,kind,outcome\nx,table3,X,means,sofa_mean\n";
  lp_plan *p;
  lp_error e;
  assert_int_equal(lp_plan_parse(plan, sizeof plan - 1, "p.csv", &p, &e), LP_EPARSE);
  assert_int_equal(e.line, 2);
  assert_int_equal(e.column, 4);
  assert_string_equal(e.field, "kind");
  /* a malformed date in the export: the file, line and column of the cell */
  char path[800], text[4096];
  snprintf(path, sizeof path, "%s/outcomes.csv", export_dir);
  FILE *f = fopen(path, "r+");
  assert_non_null(f);
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  char *first = strchr(text, '\n') + 1, *date = strstr(first, "-");
  assert_non_null(date); /* the first date of the first row */
  date[0] = '/';
  fseek(f, date - text, SEEK_SET);
  fputc('/', f);
  fclose(f);
  lp_derive_options o;
  lp_derive_options_default(&o);
  lp_derived d;
  assert_int_equal(lp_derive(export_dir, &o, &d, &e), LP_EPARSE);
  assert_int_equal(e.line, 2);
  assert_true(e.column > 1);
  assert_non_null(strstr(e.message, "outcomes.csv:2:"));
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  b[n] = 0;
  fclose(f);
  return b;
}

static void spill(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static long flow_count(const lp_flow_item *items, size_t n, const char *text) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(items[i].text, text)) return items[i].count;
  return 0;
}

static long withdrawn_of(const lp_derived *d) { return d->flow.arm[0].withdrawn + d->flow.arm[1].withdrawn; }

static long excluded_of(const lp_derived *d, const char *text) {
  return flow_count(d->flow.arm[0].excluded, d->flow.arm[0].nexcluded, text) +
         flow_count(d->flow.arm[1].excluded, d->flow.arm[1].nexcluded, text);
}

/* The CONSORT counts read the consent records: a refused retrospective consent is a
 * withdrawal under the trial's rule (the withdrawn box says which), the patient is not
 * analysed; under the rule "keep" the patient stays in; an export without consents.csv
 * (from before consent was tracked) gives the counts of the outcome records alone. */
static void consort_from_the_consents(void **state) {
  (void)state;
  char db[600], kp[600], dir[700], cons[800], meta[800];
  snprintf(db, sizeof db, "%s/t.db", tmp);
  snprintf(kp, sizeof kp, "%s/t.key", tmp);
  snprintf(dir, sizeof dir, "%s/export-consents", tmp);
  lp_trial *t;
  lp_trial_key *k;
  TU_CHECK(lp_trial_open(db, &t, &e_));
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  TU_CHECK(lp_trial_export(t, dir, k, &e_));
  lp_key_free(k);
  lp_trial_close(t);
  snprintf(cons, sizeof cons, "%s/consents.csv", dir);
  snprintf(meta, sizeof meta, "%s/meta.csv", dir);
  lp_derive_options o;
  lp_derive_options_default(&o);
  lp_derived base, d;
  TU_CHECK(lp_derive(dir, &o, &base, &e_));
  /* the simulator's records: no refusal, and its one withdrawal is the outcome form's */
  assert_int_equal(withdrawn_of(&base), 1);
  assert_int_equal(excluded_of(&base, "Excluded owing to withdrawal of consent"), 1);
  assert_int_equal(excluded_of(&base, "Excluded owing to refusal of retrospective consent"), 0);

  /* one patient's retrospective consent refused (the outcome record says nothing) */
  char *text = slurp(cons), *line = strstr(text, "\"retrospective\"");
  assert_non_null(line);
  char *given = strstr(line, "\"given\"");
  assert_non_null(given);
  assert_true(given < strchr(line, '\n'));
  char *changed = malloc(strlen(text) + 8);
  assert_non_null(changed);
  snprintf(changed, strlen(text) + 8, "%.*s\"refused\"%s", (int)(given - text), text, given + 7);
  spill(cons, changed);
  TU_CHECK(lp_derive(dir, &o, &d, &e_));
  assert_int_equal(withdrawn_of(&d), 2);
  assert_int_equal(d.withdrawn, base.withdrawn + 1);
  assert_int_equal(d.patients, base.patients - 1);
  assert_int_equal(excluded_of(&d, "Excluded owing to withdrawal of consent"), 1);
  assert_int_equal(excluded_of(&d, "Excluded owing to refusal of retrospective consent"), 1);
  assert_int_equal(d.flow.arm[0].analysed + d.flow.arm[1].analysed,
                   base.flow.arm[0].analysed + base.flow.arm[1].analysed - 1);
  lp_derived_clear(&d);

  /* the trial's rule keeps a refusing patient in */
  char *m = slurp(meta), *w = strstr(m, "\"retrospective_refusal\",\"withdraw\"");
  assert_non_null(w);
  char *kept = malloc(strlen(m) + 8);
  assert_non_null(kept);
  snprintf(kept, strlen(m) + 8, "%.*s\"retrospective_refusal\",\"keep\"%s", (int)(w - m), m,
           w + strlen("\"retrospective_refusal\",\"withdraw\""));
  spill(meta, kept);
  TU_CHECK(lp_derive(dir, &o, &d, &e_));
  assert_int_equal(withdrawn_of(&d), 1);
  assert_int_equal(d.patients, base.patients);
  assert_int_equal(excluded_of(&d, "Excluded owing to refusal of retrospective consent"), 0);
  lp_derived_clear(&d);

  /* an export from before consent was tracked: the outcome records alone */
  spill(meta, m);
  assert_int_equal(remove(cons), 0);
  TU_CHECK(lp_derive(dir, &o, &d, &e_));
  assert_int_equal(withdrawn_of(&d), 1);
  assert_int_equal(d.patients, base.patients);
  assert_int_equal(strcmp(d.csv, base.csv), 0);
  lp_derived_clear(&d);
  free(text), free(changed), free(m), free(kept);
  lp_derived_clear(&base);
}

/* The distinct values of a text column, joined by '|' in sorted order. */
static void column_levels(const lp_derived *d, const char *name, char *out, size_t n) {
  lp_table *t;
  TU_CHECK(lp_table_parse_csv(d->csv, d->csv_len, "analysis.csv", &t, &e_));
  size_t c;
  TU_CHECK(lp_table_column(t, name, &c, &e_));
  char seen[8][64];
  size_t ns = 0;
  for (size_t r = 0; r < lp_table_nrows(t); r++) {
    const char *v = lp_table_cell(t, r, c);
    if (!v || !*v) continue;
    size_t j = 0;
    while (j < ns && strcmp(seen[j], v)) j++;
    if (j == ns && ns < 8) snprintf(seen[ns++], 64, "%s", v);
  }
  qsort(seen, ns, sizeof seen[0], (int (*)(const void *, const void *))strcmp);
  out[0] = 0;
  for (size_t j = 0; j < ns; j++) snprintf(out + strlen(out), n - strlen(out), "%s%s", j ? "|" : "", seen[j]);
  lp_table_free(t);
}

/* Subgroup level labels come from the plan's `levels`, the cut-points from the
 * protocol's definition; without a plan the labels are written from the cut-points;
 * a plan naming the wrong number of levels is refused. */
static void subgroup_labels_from_the_plan(void **state) {
  (void)state;
  lp_derive_options o;
  lp_derive_options_default(&o);
  o.imputations = 2;
  lp_derived d;
  char got[256];
  TU_CHECK(lp_derive(export_dir, &o, &d, &e_));
  column_levels(&d, "sg_lactate", got, sizeof got);
  assert_string_equal(got, "<= 2|> 2");
  column_levels(&d, "sg_scvo2", got, sizeof got);
  assert_true(strstr(got, "< 70") || strstr(got, "70 to 85") || strstr(got, "> 85"));
  lp_derived_clear(&d);
  static const char plan_text[] =
      "id,table,label,kind,outcome,subgroup,levels\n"
      "a,subgroups,Lactate,subgroup,sofa_mean,sg_lactate,normal|raised\n";
  lp_plan *plan;
  TU_CHECK(lp_plan_parse(plan_text, sizeof plan_text - 1, "test plan", &plan, &e_));
  o.plan = plan;
  TU_CHECK(lp_derive(export_dir, &o, &d, &e_));
  column_levels(&d, "sg_lactate", got, sizeof got);
  assert_string_equal(got, "normal|raised");
  column_levels(&d, "sg_cardiac_index", got, sizeof got); /* not in this plan: from its cut-point */
  assert_non_null(strstr(got, "<= "));
  lp_derived_clear(&d);
  lp_plan_free(plan);
  static const char bad_text[] =
      "id,table,label,kind,outcome,subgroup,levels\n"
      "a,subgroups,Lactate,subgroup,sofa_mean,sg_lactate,low|mid|high\n";
  TU_CHECK(lp_plan_parse(bad_text, sizeof bad_text - 1, "test plan", &plan, &e_));
  o.plan = plan;
  lp_error e;
  assert_int_equal(lp_derive(export_dir, &o, &d, &e), LP_EINVAL);
  assert_non_null(strstr(e.message, "sg_lactate"));
  lp_plan_free(plan);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(horizon_is_a_parameter),
                                     cmocka_unit_test(level_is_a_parameter),
                                     cmocka_unit_test(header_and_dictionary_from_the_table),
                                     cmocka_unit_test(bad_options_refused),
                                     cmocka_unit_test(long_trial_path_refused),
                                     cmocka_unit_test(subgroup_labels_from_the_plan),
                                     cmocka_unit_test(consort_from_the_consents),
                                     cmocka_unit_test(errors_carry_the_column)}; /* last: it spoils the export */
  return cmocka_run_group_tests(tests, setup, teardown);
}
