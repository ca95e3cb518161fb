/* Figures: every kind renders in every format (checked by file signature and
 * content), SVG in memory, and errors leave no file behind. Set LP_FIG_OUT=DIR to
 * keep the rendered files for a look. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leopards/figure.h>

#include "testutil.h"

static char dir[1024];

static int setup(void **state) {
  const char *keep = getenv("LP_FIG_OUT");
  if (keep) {
    snprintf(dir, sizeof dir, "%s", keep);
    mkdir(dir, 0755);
  } else {
    snprintf(dir, sizeof dir, "/tmp/lp-fig-XXXXXX");
    if (!mkdtemp(dir)) return -1;
  }
  return 0;
}

static void check_file(const char *path, const char *magic) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("%s was not written", path);
  char head[8] = {0};
  size_t got = fread(head, 1, sizeof head, f);
  fclose(f);
  assert_true(got >= strlen(magic));
  if (memcmp(head, magic, strlen(magic))) fail_msg("%s does not start with %s", path, magic);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  assert_int_equal(access(tmp, F_OK), -1); /* no temporary left */
}

typedef lp_status (*render_fn)(const void *fig, const lp_fig_target *to, lp_error *err);

static void render_all(const char *name, render_fn fn, const void *fig, const char *must_contain) {
  const char *ext[3] = {"svg", "pdf", "png"};
  const char *magic[3] = {"<?xml", "%PDF", "\x89PNG"};
  for (int k = 0; k < 3; k++) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[k]);
    lp_fig_target to = {0};
    lp_error err;
    assert_int_equal(lp_fig_format_from_path(path, &to.format, &err), LP_OK);
    to.path = path;
    if (fn(fig, &to, &err)) fail_msg("%s: %s", path, err.message);
    check_file(path, magic[k]);
  }
  char *svg = NULL;
  lp_fig_target mem = {LP_FIG_SVG, NULL, &svg};
  lp_error err;
  assert_int_equal(fn(fig, &mem, &err), LP_OK);
  assert_non_null(strstr(svg, "<svg"));
  /* Text is text: the label is the content of a <text> element, and the SVG has no
   * ids (so that figures inlined side by side in one page cannot clash) and no glyph
   * outlines. */
  char want[256];
  snprintf(want, sizeof want, ">%s</text>", must_contain);
  if (!strstr(svg, want)) fail_msg("%s: no <text> holding '%s'", name, must_contain);
  assert_null(strstr(svg, " id="));
  assert_null(strstr(svg, "<symbol"));
  assert_null(strstr(svg, "<use"));
  free(svg);
}

static lp_status km_fn(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_km(f, t, e); }
static lp_status forest_fn(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_forest(f, t, e); }
static lp_status lines_fn(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_lines(f, t, e); }
static lp_status consort_fn(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_consort(f, t, e); }

static void test_km(void **state) {
  double x1[] = {1, 2, 3, 5, 8, 12, 20, 27}, y1[] = {0.9, 0.82, 0.77, 0.72, 0.69, 0.67, 0.66, 0.655};
  double x2[] = {1, 2, 4, 6, 9, 15, 22}, y2[] = {0.93, 0.87, 0.81, 0.76, 0.73, 0.7, 0.69};
  double m1[] = {10, 18}, m2[] = {28};
  lp_fig_series s[2] = {{"Levosimendan", 8, x1, y1, NULL, NULL, 2, m1}, {"Placebo", 7, x2, y2, NULL, NULL, 1, m2}};
  double rt[] = {0, 7, 14, 21, 28};
  long ar[] = {258, 190, 175, 171, 169, 256, 200, 185, 180, 177};
  lp_km_figure f = {"Survival to day 28",
                    "Days since randomization",
                    "Probability of survival",
                    28,
                    7,
                    0,
                    2,
                    s,
                    5,
                    rt,
                    ar,
                    "Hazard ratio 1.24 (95% CI 0.91-1.67); P = 0.17"};
  render_all("km", km_fn, &f, "Levosimendan");
  render_all("km", km_fn, &f, "Probability of survival");
  render_all("km", km_fn, &f, "177");
  render_all("km", km_fn, &f, "Hazard ratio 1.24 (95% CI 0.91-1.67); P = 0.17");
  lp_error err;
  f.xmax = 0;
  lp_fig_target to = {LP_FIG_PNG, "/tmp/never.png", NULL};
  assert_int_equal(lp_figure_km(&f, &to, &err), LP_EINVAL);
  assert_int_equal(access("/tmp/never.png", F_OK), -1);
}

static void test_forest(void **state) {
  lp_forest_row rows[] = {
      {"All patients", false, 0.61, -0.07, 1.29, "6.68 vs 6.06", "0.61 (-0.07 to 1.29)", "515", NULL},
      {"Lactate", true, 0, 0, 0, NULL, NULL, NULL, "P = 0.52"},
      {"<= 2 mmol/liter", false, 0.41, -0.5, 1.3, "5.9 vs 5.5", NULL, "240", NULL},
      {"> 2 mmol/liter", false, 0.8, -0.2, 1.8, "7.4 vs 6.6", NULL, "275", NULL},
      {"Cardiac index", true, 0, 0, 0, NULL, NULL, NULL, "P = 0.31"},
      {"Lowest third", false, 1.5, -1.2, 4.2, "7.1 vs 5.6", NULL, "60", NULL},
      {"Middle and highest thirds", false, NAN, NAN, NAN, "n/a", NULL, "0", NULL},
  };
  lp_forest_figure f = {"Mean daily SOFA score by subgroup",
                        "Difference (levosimendan - placebo)",
                        "Mean score",
                        "Difference (95% CI)",
                        0,
                        -3,
                        3,
                        false,
                        "Levosimendan better",
                        "Placebo better",
                        7,
                        rows,
                        "No.",
                        "Heterogeneity"};
  render_all("forest", forest_fn, &f, "Lactate");
  /* The heading rows' P values are drawn (they once were skipped). */
  render_all("forest", forest_fn, &f, "P = 0.52");
  render_all("forest", forest_fn, &f, "275");
  lp_error err;
  f.log_scale = true;
  lp_fig_target to = {LP_FIG_SVG, "/tmp/never.svg", NULL};
  assert_int_equal(lp_figure_forest(&f, &to, &err), LP_EINVAL);
}

static void test_lines(void **state) {
  double x[7] = {1, 2, 3, 4, 5, 6, 7};
  double a[7] = {9.1, 8.4, 7.6, 7.0, 6.5, 6.1, 5.9}, al[7], ah[7];
  double b[7] = {8.7, 7.9, 7.1, 6.6, 6.2, 5.8, 5.6}, bl[7], bh[7];
  for (int i = 0; i < 7; i++) al[i] = a[i] - 0.4, ah[i] = a[i] + 0.4, bl[i] = b[i] - 0.4, bh[i] = b[i] + 0.4;
  b[3] = NAN; /* a gap */
  lp_fig_series s[2] = {{"Levosimendan", 7, x, a, al, ah, 0, NULL}, {"Placebo", 7, x, b, bl, bh, 0, NULL}};
  lp_line_figure f = {"Daily SOFA score", "Day", "Mean SOFA score (95% CI)", 0.5, 7.5, 1, NAN, NAN, 2, s};
  render_all("lines", lines_fn, &f, "Day");
}

static void test_consort(void **state) {
  lp_consort_item reasons[] = {{"Were not in septic shock", 157},
                               {" Did not have an infection", 41},
                               {"Were <18 yr of age", 12},
                               {"Were outside 24-hr window since meeting inclusion criteria", 714},
                               {"Had a decision regarding treatment limitation", 352}};
  lp_consort_item not1[] = {{"Withdrew consent", 1}, {"Died", 2}, {"Clinical decision", 1}};
  lp_consort_item not2[] = {{"Died", 2}, {"Halted", 1}};
  lp_consort_item ex1[] = {{"Was excluded owing to withdrawal of consent", 1}};
  lp_consort_figure f = {2382,
                         1866,
                         5,
                         reasons,
                         516,
                         {{"levosimendan", 259, 255, 3, not1, 258, 1, ex1, 1, 0, 255, 0},
                          {"placebo", 257, 254, 2, not2, 257, 0, NULL, 0, 1, 253, 1}}};
  render_all("consort", consort_fn, &f, "516 Underwent randomization");
  /* The reasons for not receiving the drug, under their count; a crossover to the
   * other arm's drug open-label apart from those who received the assigned drug only. */
  render_all("consort", consort_fn, &f, "4 Did not receive levosimendan");
  render_all("consort", consort_fn, &f, "3 Did not receive placebo");
  render_all("consort", consort_fn, &f, "1 Halted");
  render_all("consort", consort_fn, &f, "255 Received levosimendan");
  render_all("consort", consort_fn, &f, "253 Received placebo only");
  render_all("consort", consort_fn, &f, "1 Received placebo and open-label levosimendan");
  /* The paper's boxes: sub-reasons indented under their reason, follow-up, analysis. */
  render_all("consort", consort_fn, &f, "41 Did not have an infection");
  render_all("consort", consort_fn, &f, "1 Were lost to follow-up");
  render_all("consort", consort_fn, &f, "253 Were included in the as-treated analysis");
  char *svg = NULL;
  lp_fig_target mem = {LP_FIG_SVG, NULL, &svg};
  lp_error e;
  assert_int_equal(lp_figure_consort(&f, &mem, &e), LP_OK);
  double x_reason = -1, x_sub = -1;
  const char *q = strstr(svg, ">157 Were not in septic shock<");
  assert_non_null(q);
  while (q > svg && strncmp(q, "<text x=\"", 9)) q--;
  x_reason = atof(q + 9);
  q = strstr(svg, ">41 Did not have an infection<");
  assert_non_null(q);
  while (q > svg && strncmp(q, "<text x=\"", 9)) q--;
  x_sub = atof(q + 9);
  if (!(x_sub > x_reason + 4)) fail_msg("sub-reason at x %g is not indented under its reason at x %g", x_sub, x_reason);
  free(svg);
  /* An unwritable place: an error, and nothing left behind. */
  lp_fig_target to = {LP_FIG_PDF, "/nonexistent/dir/consort.pdf", NULL};
  lp_error err;
  assert_int_equal(lp_figure_consort(&f, &to, &err), LP_EIO);
  assert_non_null(strstr(err.message, "/nonexistent/dir/consort.pdf"));
}

static void test_format_from_path(void **state) {
  lp_fig_format f;
  lp_error err;
  assert_int_equal(lp_fig_format_from_path("a.png", &f, &err), LP_OK);
  assert_int_equal(f, LP_FIG_PNG);
  assert_int_equal(lp_fig_format_from_path("a.jpg", &f, &err), LP_EINVAL);
  assert_int_equal(lp_fig_format_from_path("noext", &f, &err), LP_EINVAL);
  lp_fig_target bad = {LP_FIG_PNG, NULL, NULL};
  double x[1] = {1}, y[1] = {0.5};
  lp_fig_series s = {"a", 1, x, y, NULL, NULL, 0, NULL};
  lp_km_figure k = {NULL, "x", "y", 10, 2, 0, 1, &s, 0, NULL, NULL, NULL};
  assert_int_equal(lp_figure_km(&k, &bad, &err), LP_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_km),      cmocka_unit_test(test_forest),           cmocka_unit_test(test_lines),
      cmocka_unit_test(test_consort), cmocka_unit_test(test_format_from_path),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
