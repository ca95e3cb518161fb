/* Report writer: every file is produced, report.json holds the numbers of the
 * results, the Markdown tables match a golden copy (fixed data, plan and seed),
 * and a failure leaves no output folder behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leopards/plan.h>
#include <leopards/report.h>
#include <leopards/strbuf.h>

#include "testutil.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

static void run_plan(lp_results *res) {
  char path[1024];
  lp_plan *plan;
  lp_error err;
  if (lp_plan_load(test_path(path, sizeof path, "data/plan_test.csv"), &plan, &err)) fail_msg("%s", err.message);
  lp_table *t = data_load("trialdata");
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 20000;
  o.permutations = 2000;
  o.seed = 7;
  if (lp_plan_run(plan, t, &o, res, &err)) fail_msg("%s", err.message);
  lp_plan_free(plan);
  lp_table_free(t);
}

static void test_report_files(void **state) {
  lp_results res;
  run_plan(&res);
  char dir[] = "/tmp/lp-report-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char out[1100];
  snprintf(out, sizeof out, "%s/report", dir);
  lp_consort_item reasons[] = {{"Were <18 yr of age", 3}};
  lp_consort_figure consort = {400,
                               100,
                               1,
                               reasons,
                               300,
                               {{"levosimendan", 150, 148, 0, NULL, 150, 0, NULL, 0, 0, 148, 0},
                                {"placebo", 150, 150, 0, NULL, 150, 0, NULL, 0, 0, 150, 0}}};
  lp_report_input in = {
      "Test trial", "a subtitle", &res, &consort, NULL, {"Levosimendan", "Placebo"}, NULL, 0, NULL, 0};
  lp_error err;
  if (lp_report_write(&in, out, &err)) fail_msg("%s", err.message);
  const char *files[] = {"report.html",   "report.md",   "report.json", "table1.csv",  "table3.csv",
                         "subgroups.csv", "figure1.svg", "figure1.pdf", "figure1.png", "figure_subgroups.png"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char p[1300];
    snprintf(p, sizeof p, "%s/%s", out, files[i]);
    if (access(p, R_OK)) fail_msg("%s missing", p);
  }
  /* report.json: the numbers of the results, keyed by table and row. */
  char p[1300];
  snprintf(p, sizeof p, "%s/report.json", out);
  json_error_t je;
  json_t *j = json_load_file(p, 0, &je);
  assert_non_null(j);
  const lp_result *sofa = NULL;
  for (size_t i = 0; i < res.n; i++)
    if (!strcmp(res.rows[i].id, "sofa")) sofa = &res.rows[i];
  assert_non_null(sofa);
  json_t *row = json_object_get(json_object_get(json_object_get(j, "tables"), "table3"), "sofa");
  assert_non_null(row);
  check_close(json_real_value(json_object_get(row, "estimate")), sofa->estimate, 1e-11, "json estimate");
  check_close(json_real_value(json_array_get(json_object_get(row, "ci"), 1)), sofa->ci[1], 1e-11, "json ci");
  assert_string_equal(json_string_value(json_object_get(row, "p_text")), sofa->p_text);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "consort"), "assessed")), 400);
  json_decref(j);
  /* The HTML holds the tables and the inline figure, with minus signs. */
  snprintf(p, sizeof p, "%s/report.html", out);
  char *html = slurp(p);
  assert_non_null(strstr(html, "Table 3. Clinical Outcomes"));
  assert_non_null(strstr(html, "<svg"));
  assert_non_null(strstr(html, sofa->arm_text[0]));
  free(html);
  /* Golden Markdown (regenerate: LP_GOLDEN_UPDATE=1). */
  snprintf(p, sizeof p, "%s/report.md", out);
  char *md = slurp(p);
  char gold[1024];
  test_path(gold, sizeof gold, "golden/plan_test_report.md");
  if (getenv("LP_GOLDEN_UPDATE")) {
    FILE *f = fopen(gold, "wb");
    fputs(md, f);
    fclose(f);
  }
  char *want = slurp(gold);
  assert_non_null(want);
  assert_string_equal(md, want);
  free(md);
  free(want);
  /* Writing again replaces the folder. */
  if (lp_report_write(&in, out, &err)) fail_msg("%s", err.message);
  /* A failure (the parent is not a folder) leaves nothing behind. */
  snprintf(p, sizeof p, "%s/file", dir);
  FILE *f = fopen(p, "w");
  fclose(f);
  snprintf(out, sizeof out, "%s/file/report", dir);
  assert_int_equal(lp_report_write(&in, out, &err), LP_EIO);
  lp_report_input bad = in;
  bad.arm_labels[1] = NULL;
  assert_int_equal(lp_report_write(&bad, out, &err), LP_EINVAL);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  lp_results_clear(&res);
}

/* Subgroups of a binary outcome: their own forest plot and table rows in Table 3's
 * units (percentage points), the n of each level, the heterogeneity P drawn. */
static void test_report_binary_subgroups(void **state) {
  char path[1024];
  test_path(path, sizeof path, "data/plan_test.csv");
  char *text = slurp(path);
  assert_non_null(text);
  lp_strbuf b = {0};
  lp_strbuf_puts(&b, text);
  lp_strbuf_puts(&b, "lactate_death,subgroups,Death at 28 days,Lactate,subgroup,death28,,,,,,,,,sg_lactate,3\n");
  free(text);
  lp_plan *plan;
  lp_error err;
  if (lp_plan_parse(b.p, b.len, "plan_test.csv", &plan, &err)) fail_msg("%s", err.message);
  lp_strbuf_clear(&b);
  lp_table *t = data_load("trialdata");
  lp_plan_options o;
  lp_plan_options_default(&o);
  o.bootstrap = 2000;
  o.permutations = 500;
  o.seed = 7;
  lp_results res;
  if (lp_plan_run(plan, t, &o, &res, &err)) fail_msg("%s", err.message);
  lp_plan_free(plan);
  lp_table_free(t);
  assert_int_equal(res.nsubgroups, 2);
  const lp_result_subgroup *sg = &res.subgroups[1];
  assert_true(sg->binary);
  assert_false(res.subgroups[0].binary);
  assert_int_equal(sg->n[0] + sg->n[1], sg->arm_n[0][0] + sg->arm_n[0][1] + sg->arm_n[1][0] + sg->arm_n[1][1]);
  assert_true(sg->n[0] > 0 && sg->n[1] > 0);
  char dir[] = "/tmp/lp-report-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char out[1100];
  snprintf(out, sizeof out, "%s/report", dir);
  lp_report_input in = {"Test trial", NULL, &res, NULL, NULL, {"Levosimendan", "Placebo"}, NULL, 0, NULL, 0};
  if (lp_report_write(&in, out, &err)) fail_msg("%s", err.message);
  char p[1300], want[256];
  snprintf(p, sizeof p, "%s/figure_subgroups_death.svg", out);
  char *svg = slurp(p);
  if (!svg) fail_msg("%s missing", p);
  char ptext[16];
  lp_format_p(sg->p_interaction, ptext, sizeof ptext);
  snprintf(want, sizeof want, ">P = %s</text>", ptext);
  if (!strstr(svg, want)) fail_msg("no heterogeneity P '%s' in the death forest plot", want);
  snprintf(want, sizeof want, ">%ld</text>", sg->n[1]);
  assert_non_null(strstr(svg, want));
  /* Percentage points, as Table 3 has them. */
  snprintf(want, sizeof want, "%.1f (%.1f to %.1f)", 100 * sg->estimate[0], 100 * sg->lo[0], 100 * sg->hi[0]);
  if (!strstr(svg, want)) fail_msg("no '%s' in the death forest plot", want);
  assert_non_null(strstr(svg, "percentage points"));
  free(svg);
  snprintf(p, sizeof p, "%s/report.html", out);
  char *html = slurp(p);
  assert_non_null(strstr(html, "<table class=\"subgroups\">"));
  /* The HTML writes minus signs as &minus;. */
  snprintf(p, sizeof p, "%.1f (%.1f to %.1f)", 100 * sg->estimate[1], 100 * sg->lo[1], 100 * sg->hi[1]);
  size_t k = 0;
  for (const char *q = p; *q && k + 8 < sizeof want; q++) {
    if (*q == '-') k += (size_t)snprintf(want + k, sizeof want - k, "&minus;");
    else
      want[k++] = *q;
  }
  want[k] = '\0';
  if (!strstr(html, want)) fail_msg("no '%s' in the HTML subgroup table", want);
  free(html);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  lp_results_clear(&res);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_report_files),
                                     cmocka_unit_test(test_report_binary_subgroups)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
