/* Core: status texts, error formatting, the CSV reader (every error path, quoting,
 * line numbers), typed columns, factors, design matrices, list splitting, RNG. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/rng.h>
#include <leopards/strbuf.h>
#include <leopards/table.h>

#include "testutil.h"

static lp_table *parse_ok(const char *text) {
  lp_table *t;
  lp_error err;
  if (lp_table_parse_csv(text, strlen(text), "mem.csv", &t, &err)) fail_msg("unexpected: %s", err.message);
  return t;
}

static void expect_parse_error(const char *text, size_t len, const char *needle, long line) {
  lp_table *t = (lp_table *)1;
  lp_error err;
  assert_int_equal(lp_table_parse_csv(text, len, "bad.csv", &t, &err), LP_EPARSE);
  assert_null(t);
  if (!strstr(err.message, needle)) fail_msg("message '%s' lacks '%s'", err.message, needle);
  assert_string_equal(err.file, "bad.csv");
  assert_int_equal(err.line, line);
}

static void test_status(void **state) {
  for (int s = 0; s < LP_STATUS_COUNT; s++) {
    assert_non_null(lp_strerror((lp_status)s));
    assert_true(strlen(lp_status_name((lp_status)s)) > 0);
  }
  assert_string_equal(lp_strerror(LP_OK), "success");
  assert_string_equal(lp_strerror((lp_status)999), "unknown status");
  assert_string_equal(lp_status_name((lp_status)-1), "unknown");
  lp_error err;
  assert_int_equal(lp_error_at(&err, LP_EPARSE, "f.csv", 12, "age", "'x' is not a number"), LP_EPARSE);
  assert_string_equal(err.message, "f.csv:12: column 'age': 'x' is not a number");
  lp_error_prefix(&err, "loading");
  assert_string_equal(err.message, "loading: f.csv:12: column 'age': 'x' is not a number");
  assert_int_equal(lp_error_set(NULL, LP_EIO, "ignored"), LP_EIO);
  lp_error_clear(NULL);
  void *p;
  assert_int_equal(lp_calloc(SIZE_MAX / 2, 4, &p), LP_ENOMEM);
  assert_null(p);
  static const char *const names[] = {"paper", "none", "design"};
  int i = -1;
  assert_int_equal(lp_name_lookup("design", names, 3, "effect", &i, &err), LP_OK);
  assert_int_equal(i, 2);
  assert_int_equal(lp_name_lookup("Paper", names, 3, "effect", &i, &err), LP_EINVAL);
  assert_string_equal(err.message, "unknown effect 'Paper' (paper, none or design)");
  assert_int_equal(lp_name_lookup("x", names, 2, "rule", &i, &err), LP_EINVAL);
  assert_string_equal(err.message, "unknown rule 'x' (paper or none)");
  assert_int_equal(lp_name_lookup("x", names, 1, "rule", &i, NULL), LP_EINVAL);
}

static void test_csv_good(void **state) {
  const char *text =
      "\xEF\xBB\xBF"
      "id,name,score\r\n"
      "1,\"Smith, J\",3.5\r\n"
      "\n"
      "2,\"say \"\"hi\"\"\",NA\n"
      "3,\"two\nlines\",\n"
      "4, plain ,  7 \n";
  lp_table *t = parse_ok(text);
  assert_int_equal(lp_table_nrows(t), 4);
  assert_int_equal(lp_table_ncols(t), 3);
  assert_string_equal(lp_table_colname(t, 0), "id");
  assert_string_equal(lp_table_cell(t, 0, 1), "Smith, J");
  assert_string_equal(lp_table_cell(t, 1, 1), "say \"hi\"");
  assert_null(lp_table_cell(t, 1, 2));
  assert_string_equal(lp_table_cell(t, 2, 1), "two\nlines");
  assert_null(lp_table_cell(t, 2, 2));
  assert_null(lp_table_cell(t, 9, 0));
  /* Lines: data rows start on lines 2, 4, 5 and 7 (the quoted newline counts). */
  assert_int_equal(lp_table_line(t, 0), 2);
  assert_int_equal(lp_table_line(t, 1), 4);
  assert_int_equal(lp_table_line(t, 2), 5);
  assert_int_equal(lp_table_line(t, 3), 7);
  assert_int_equal(lp_table_line(t, 99), 0);
  assert_true(lp_table_is_numeric(t, 2));
  assert_false(lp_table_is_numeric(t, 1));
  double v[4];
  lp_error err;
  assert_int_equal(lp_table_numeric(t, 2, NULL, 4, v, &err), LP_OK);
  assert_true(v[0] == 3.5 && isnan(v[1]) && isnan(v[2]) && v[3] == 7);
  /* A text cell in a numeric request names file, line and column. */
  assert_int_equal(lp_table_numeric(t, 1, NULL, 4, v, &err), LP_EPARSE);
  assert_string_equal(err.message, "mem.csv:2: column 'name': 'Smith, J' is not a number");
  int b[4];
  assert_int_equal(lp_table_binary(t, 0, NULL, 4, b, &err), LP_EPARSE);
  assert_int_equal(err.line, 4); /* id 2 is not 0/1 */
  size_t c;
  assert_int_equal(lp_table_column(t, "nope", &c, &err), LP_ENOTFOUND);
  assert_non_null(strstr(err.message, "no column 'nope' (columns: id, name, score)"));
  size_t *rows, n, dropped;
  const char *cols[] = {"score"};
  assert_int_equal(lp_table_complete_rows(t, cols, 1, &rows, &n, &dropped, &err), LP_OK);
  assert_int_equal(n, 2);
  assert_int_equal(dropped, 2);
  assert_int_equal(rows[1], 3);
  free(rows);
  const char *bad[] = {"score", "zzz"};
  assert_int_equal(lp_table_complete_rows(t, bad, 2, &rows, &n, &dropped, &err), LP_ENOTFOUND);
  lp_table_free(t);
  lp_table_free(NULL);
  /* Header only: zero rows is fine. */
  t = parse_ok("a,b\n");
  assert_int_equal(lp_table_nrows(t), 0);
  lp_table_free(t);
  /* No final newline. */
  t = parse_ok("a\n1");
  assert_int_equal(lp_table_nrows(t), 1);
  lp_table_free(t);
}

static void test_csv_errors(void **state) {
  expect_parse_error("", 0, "empty", 0);
  expect_parse_error("\n\n", 2, "empty", 0);
  expect_parse_error("a,b\n1,2\n3\n", 10, "1 fields where the header has 2", 3);
  expect_parse_error("a,b\n1,2,3\n", 10, "3 fields where the header has 2", 2);
  expect_parse_error("a,a\n1,2\n", 8, "column name 'a' appears twice", 1);
  expect_parse_error("a,,c\n1,2,3\n", 11, "column 2 has no name", 1);
  expect_parse_error("a,b\n1,x\"y\n", 10, "quote inside an unquoted field", 2);
  expect_parse_error("a,b\n1,\"open\n2,3\n", 16, "never closed", 2);
  expect_parse_error("a,b\n1,\"x\"y\n", 11, "after a closing quote", 2);
  expect_parse_error("a,b\n1,x\0y\n", 10, "NUL byte", 2);
  lp_table *t;
  lp_error err;
  assert_int_equal(lp_table_read_csv("/nonexistent/x.csv", &t, &err), LP_EIO);
  assert_non_null(strstr(err.message, "/nonexistent/x.csv: cannot open"));
  assert_int_equal(lp_table_read_csv("/", &t, &err), LP_EIO);
  char path[1024];
  assert_int_equal(lp_table_read_csv(test_path(path, sizeof path, "data/toothgrowth.csv"), &t, &err), LP_OK);
  assert_int_equal(lp_table_nrows(t), 60);
  lp_table_free(t);
}

static void test_numbers(void **state) {
  double v;
  const char *good[] = {"1", "-2.5", "+3", "1e3", "1E-2", ".5", "5.", " 7 ", "\t8"};
  const double want[] = {1, -2.5, 3, 1000, 0.01, 0.5, 5, 7, 8};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    assert_true(lp_parse_number(good[i], &v));
    assert_true(v == want[i]);
  }
  const char *bad[] = {"", "-", ".", "1e", "1e+", "abc", "1,5", "0x10", "inf", "nan", "1 2", "1e999", "--1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    if (lp_parse_number(bad[i], &v)) fail_msg("'%s' accepted as a number", bad[i]);
}

static void test_factor_and_design(void **state) {
  lp_table *t = parse_ok("g,x,d\nb,1,10\na,2,2\nc,3,10\na,4,2.5\n");
  size_t cg, cd;
  lp_error err;
  assert_int_equal(lp_table_column(t, "g", &cg, &err), LP_OK);
  assert_int_equal(lp_table_column(t, "d", &cd, &err), LP_OK);
  lp_factor f;
  assert_int_equal(lp_factor_init(&f, t, cg, NULL, 4, &err), LP_OK);
  assert_int_equal(f.nlevels, 3);
  assert_string_equal(f.levels[0], "a");
  assert_int_equal(f.codes[0], 1);
  const char *first[] = {"c", "a"};
  assert_int_equal(lp_factor_reorder(&f, first, 2, &err), LP_OK);
  assert_string_equal(f.levels[0], "c");
  assert_string_equal(f.levels[2], "b");
  assert_int_equal(f.codes[0], 2);
  assert_int_equal(f.codes[2], 0);
  const char *unknown[] = {"z"};
  assert_int_equal(lp_factor_reorder(&f, unknown, 1, &err), LP_EINVAL);
  assert_non_null(strstr(err.message, "level 'z' is not in the data (levels: c, a, b)"));
  const char *twice[] = {"a", "a"};
  assert_int_equal(lp_factor_reorder(&f, twice, 2, &err), LP_EINVAL);
  lp_factor_clear(&f);
  /* Numeric levels sort as numbers (2 < 2.5 < 10), as R's factor(). */
  assert_int_equal(lp_factor_init(&f, t, cd, NULL, 4, &err), LP_OK);
  assert_string_equal(f.levels[0], "2");
  assert_string_equal(f.levels[1], "2.5");
  assert_string_equal(f.levels[2], "10");
  lp_factor_clear(&f);
  lp_model_matrix d;
  const char *cols[] = {"x", "g", "d"}, *facs[] = {"d"};
  assert_int_equal(lp_model_matrix_init(&d, t, cols, 3, facs, 1, NULL, 4, &err), LP_OK);
  assert_int_equal(d.p, 5);
  assert_string_equal(d.names[0], "x");
  assert_string_equal(d.names[1], "gb");
  assert_string_equal(d.names[2], "gc");
  assert_string_equal(d.names[3], "d2.5");
  assert_string_equal(d.names[4], "d10");
  assert_true(d.x[0 * 5 + 1] == 1 && d.x[0 * 5 + 4] == 1 && d.x[1 * 5 + 1] == 0);
  assert_int_equal(d.term[4], 2);
  lp_model_matrix_clear(&d);
  lp_model_matrix_clear(NULL);
  size_t rows[2] = {1, 3}; /* both g = a: one level */
  assert_int_equal(lp_model_matrix_init(&d, t, cols, 2, NULL, 0, rows, 2, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "at least two levels"));
  const char *missing[] = {"nope"};
  assert_int_equal(lp_model_matrix_init(&d, t, missing, 1, NULL, 0, NULL, 4, &err), LP_ENOTFOUND);
  lp_table_free(t);
  /* A missing cell in a factor names its line. */
  t = parse_ok("g\na\n\nNA\n");
  assert_int_equal(lp_factor_init(&f, t, 0, NULL, 2, &err), LP_EDATA);
  assert_int_equal(err.line, 4);
  lp_table_free(t);
}

static void test_split_list(void **state) {
  char **items;
  size_t n;
  lp_error err;
  assert_int_equal(lp_split_list(" a, b ,c", &items, &n, &err), LP_OK);
  assert_int_equal(n, 3);
  assert_string_equal(items[1], "b");
  assert_null(items[3]);
  free(items);
  assert_int_equal(lp_split_list("a,,b", &items, &n, &err), LP_EINVAL);
  assert_int_equal(lp_split_list("", &items, &n, &err), LP_EINVAL);
  assert_null(items);
}

static void test_rng(void **state) {
  lp_rng a, b;
  lp_rng_seed(&a, 1, 0);
  lp_rng_seed(&b, 1, 0);
  for (int i = 0; i < 100; i++) assert_true(lp_rng_next(&a) == lp_rng_next(&b));
  lp_rng_seed(&b, 1, 1);
  assert_true(lp_rng_next(&a) != lp_rng_next(&b));
  /* lp_rng_below(7): chi-square over 70,000 draws, 6 df; 99.99th percentile 27.9. */
  long count[7] = {0};
  for (int i = 0; i < 70000; i++) count[lp_rng_below(&a, 7)]++;
  double x2 = 0;
  for (int k = 0; k < 7; k++) x2 += (count[k] - 10000.0) * (count[k] - 10000.0) / 10000.0;
  assert_true(x2 < 27.9);
  double s = 0, ss = 0;
  for (int i = 0; i < 100000; i++) {
    double u = lp_rng_uniform(&a);
    assert_true(u >= 0 && u < 1);
    double z = lp_rng_normal(&a);
    s += z;
    ss += z * z;
  }
  assert_true(fabs(s / 100000) < 0.02 && fabs(ss / 100000 - 1) < 0.03);
  int p[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, seen[10] = {0};
  lp_rng_shuffle_int(&a, p, 10);
  for (int i = 0; i < 10; i++) seen[p[i]]++;
  for (int i = 0; i < 10; i++) assert_int_equal(seen[i], 1);
}

static void test_strbuf(void **state) {
  lp_strbuf b = {0};
  lp_strbuf_puts(&b, "a");
  lp_strbuf_put(&b, "bcd", 2);
  lp_strbuf_printf(&b, "-%d-%s", 42, "x");
  assert_string_equal(b.p, "abc-42-x");
  assert_int_equal(b.len, 8);
  for (int i = 0; i < 1000; i++) lp_strbuf_printf(&b, "%04d", i);
  assert_int_equal(b.len, 8 + 4000);
  assert_false(b.nomem);
  lp_strbuf_clear(&b);
  assert_null(b.p);
  assert_int_equal(b.len, 0);
  /* markup: the four characters that matter in text and quoted attributes, and UTF-8 kept */
  lp_strbuf_puts_markup(&b, "<script>\"a&b\"</script> 5 > 3 \xc2\xb5g");
  assert_string_equal(b.p, "&lt;script&gt;&quot;a&amp;b&quot;&lt;/script&gt; 5 &gt; 3 \xc2\xb5g");
  lp_strbuf_clear(&b);
  lp_strbuf_puts_markup(&b, "");
  assert_int_equal(b.len, 0);
  lp_strbuf_clear(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_strbuf),     cmocka_unit_test(test_status),  cmocka_unit_test(test_csv_good),
      cmocka_unit_test(test_csv_errors), cmocka_unit_test(test_numbers), cmocka_unit_test(test_factor_and_design),
      cmocka_unit_test(test_split_list), cmocka_unit_test(test_rng),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
