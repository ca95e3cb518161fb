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

/* A copy of the export whose outcomes.csv has, for patient i (0-based row), the
 * received_drug, not_received_reason and open_label_drug of `edit` (NULL: as
 * exported), or, with `old`, none of the columns of schema version 11. */
typedef struct {
  const char *received, *reason, *open_label;
} outcome_edit;

static void put_cell(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) fprintf(f, *s == '"' ? "\"\"" : "%c", *s);
  fputc('"', f);
}

static void edited_export(const char *dir, const outcome_edit *edit, size_t nedit, bool old) {
  char cmd[2000], path[900];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", dir, export_dir, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(path, sizeof path, "%s/outcomes.csv", dir);
  lp_table *t;
  TU_CHECK(lp_table_read_csv(path, &t, &e_));
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  size_t nc = lp_table_ncols(t);
  for (size_t r = 0; r <= lp_table_nrows(t); r++) {
    bool first = true;
    for (size_t c = 0; c < nc; c++) {
      const char *name = lp_table_colname(t, c);
      bool v11 = !strcmp(name, "not_received_reason") || !strcmp(name, "not_received_other") ||
                 !strcmp(name, "open_label_drug");
      if (old && v11) continue;
      if (!first) fputc(',', f);
      first = false;
      if (r == 0) {
        fputs(name, f);
        continue;
      }
      const char *v = lp_table_cell(t, r - 1, c);
      const outcome_edit *e = r - 1 < nedit ? &edit[r - 1] : NULL;
      if (e && e->received && !strcmp(name, "received_drug")) v = e->received;
      if (e && e->reason && !strcmp(name, "not_received_reason")) v = *e->reason ? e->reason : NULL;
      if (e && e->open_label && !strcmp(name, "open_label_drug")) v = e->open_label;
      if (v) put_cell(f, v);
    }
    fputc('\n', f);
  }
  fclose(f);
  lp_table_free(t);
}

/* The count of the arm's "did not receive" item `text` (0 when none). */
static long not_received(const lp_flow *f, int arm, const char *text) {
  for (size_t i = 0; i < f->arm[arm].nnot; i++)
    if (!strcmp(f->arm[arm].not_received[i].text, text)) return f->arm[arm].not_received[i].count;
  return 0;
}

/* Figure 1's "did not receive" box counts the reasons the outcome form records, per
 * arm; a patient with no reason recorded (an upgraded file) is counted as such, not
 * given one from the other fields; a crossover to the open-label active drug is
 * counted apart and left out of the as-treated count. */
static void not_received_reasons_follow_the_records(void **state) {
  (void)state;
  lp_derive_options o;
  lp_derive_options_default(&o);
  o.imputations = 2;
  lp_derived base;
  TU_CHECK(lp_derive(export_dir, &o, &base, &e_));
  /* the arm of each of the first rows of outcomes.csv, by the allocations */
  char path[900];
  snprintf(path, sizeof path, "%s/outcomes.csv", export_dir);
  lp_table *outc, *al;
  TU_CHECK(lp_table_read_csv(path, &outc, &e_));
  snprintf(path, sizeof path, "%s/allocations.csv", export_dir);
  TU_CHECK(lp_table_read_csv(path, &al, &e_));
  enum { NE = 8 };
  int arm[NE];
  size_t cp, crec, cwd, ap, alab;
  TU_CHECK(lp_table_column(outc, "patient", &cp, &e_));
  TU_CHECK(lp_table_column(outc, "received_drug", &crec, &e_));
  TU_CHECK(lp_table_column(outc, "consent_withdrawn", &cwd, &e_));
  TU_CHECK(lp_table_column(al, "patient", &ap, &e_));
  TU_CHECK(lp_table_column(al, "arm_label", &alab, &e_));
  for (size_t r = 0; r < NE; r++) {
    const char *rec = lp_table_cell(outc, r, crec);
    assert_true(rec && !strcmp(rec, "1") && !lp_table_cell(outc, r, cwd)); /* received, not withdrawn */
    arm[r] = -1;
    for (size_t k = 0; k < lp_table_nrows(al); k++)
      if (!strcmp(lp_table_cell(al, k, ap), lp_table_cell(outc, r, cp)))
        arm[r] = !strcmp(lp_table_cell(al, k, alab), base.flow.arm[0].name) ? 0 : 1;
    assert_true(arm[r] >= 0);
  }
  lp_table_free(outc);
  lp_table_free(al);
  static const outcome_edit edit[NE] = {{"0", "died", NULL},
                                        {"0", "clinical_improvement", NULL},
                                        {"0", "trial_halted", NULL},
                                        {"0", "trial_halted", NULL},
                                        {"0", "clinical_other", NULL},
                                        {"0", "other", NULL},
                                        {"0", "", NULL},
                                        {NULL, NULL, "1"}};
  static const char *const text[NE] = {"Died",
                                       "Had a clinical decision to withhold drug owing to improvement in condition",
                                       "Were enrolled during period in which trial was temporarily halted",
                                       "Were enrolled during period in which trial was temporarily halted",
                                       "Had a clinical decision to withhold drug for another reason",
                                       "Had other reasons",
                                       "Had no reason recorded",
                                       NULL};
  char dir[900];
  snprintf(dir, sizeof dir, "%s/export-reasons", tmp);
  edited_export(dir, edit, NE, false);
  lp_derived d;
  TU_CHECK(lp_derive(dir, &o, &d, &e_));
  for (int a = 0; a < 2; a++) {
    long lost = 0, crossed = 0;
    for (int r = 0; r < NE; r++)
      if (arm[r] == a) lost += text[r] != NULL, crossed += text[r] == NULL;
    assert_int_equal(d.flow.arm[a].received, base.flow.arm[a].received - lost);
    assert_int_equal(d.flow.arm[a].open_label, crossed);
    assert_int_equal(d.flow.arm[a].as_treated, base.flow.arm[a].as_treated - lost - crossed);
    long total = 0;
    for (size_t i = 0; i < d.flow.arm[a].nnot; i++) total += d.flow.arm[a].not_received[i].count;
    assert_int_equal(total, d.flow.arm[a].assigned - d.flow.arm[a].received);
    for (int r = 0; r < NE; r++) {
      if (!text[r]) continue;
      long want = not_received(&base.flow, a, text[r]);
      for (int q = 0; q < NE; q++) want += arm[q] == a && text[q] && !strcmp(text[q], text[r]);
      /* one patient enrolled while halted reads "Was enrolled ..." */
      const char *shown = want == 1 && strstr(text[r], "halted")
                              ? "Was enrolled during period in which trial was temporarily halted"
                              : text[r];
      if (not_received(&d.flow, a, shown) != want)
        fail_msg("arm %d, '%s': %ld, wanted %ld", a, shown, not_received(&d.flow, a, shown), want);
    }
  }
  lp_derived_clear(&d);
  /* an export without the reason's columns: nothing inferred, the withdrawal kept */
  edited_export(dir, edit, NE, true);
  TU_CHECK(lp_derive(dir, &o, &d, &e_));
  for (int a = 0; a < 2; a++) {
    long lost = 0;
    for (int r = 0; r < NE; r++) lost += arm[r] == a && text[r] != NULL;
    long unknown =
        base.flow.arm[a].assigned - base.flow.arm[a].received + lost - not_received(&base.flow, a, "Withdrew consent");
    assert_int_equal(not_received(&d.flow, a, "Had no reason recorded"), unknown);
    assert_int_equal(not_received(&d.flow, a, "Withdrew consent"), not_received(&base.flow, a, "Withdrew consent"));
    assert_int_equal(not_received(&d.flow, a, "Died"), 0);
    assert_int_equal(d.flow.arm[a].open_label, 0);
  }
  lp_derived_clear(&d);
  /* a code the outcome form does not have: refused, with its file, line and column */
  static const outcome_edit bad[1] = {{"0", "improved", NULL}};
  edited_export(dir, bad, 1, false);
  lp_error err;
  assert_int_equal(lp_derive(dir, &o, &d, &err), LP_EDATA);
  assert_int_equal(err.line, 2);
  assert_string_equal(err.field, "not_received_reason");
  assert_non_null(strstr(err.message, "'improved' is not a reason for not receiving the drug"));
  lp_derived_clear(&base);
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
                                     cmocka_unit_test(not_received_reasons_follow_the_records),
                                     cmocka_unit_test(consort_from_the_consents),
                                     cmocka_unit_test(errors_carry_the_column)}; /* last: it spoils the export */
  return cmocka_run_group_tests(tests, setup, teardown);
}
