/* Test helpers: R reference tables, shipped data sets, tolerance checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

struct lp_ref {
  lp_table *t;
  size_t key_col, val_col;
};

const char *test_path(char *buf, size_t n, const char *rel) {
  snprintf(buf, n, "%s/%s", LP_TEST_DIR, rel);
  return buf;
}

lp_ref *ref_load(const char *name) {
  char path[1024], rel[256];
  snprintf(rel, sizeof rel, "ref/%s.csv", name);
  test_path(path, sizeof path, rel);
  lp_ref *r = calloc(1, sizeof *r);
  assert_non_null(r);
  lp_error err;
  if (lp_table_read_csv(path, &r->t, &err)) fail_msg("cannot load reference %s: %s", path, err.message);
  if (lp_table_column(r->t, "name", &r->key_col, &err) || lp_table_column(r->t, "value", &r->val_col, &err))
    fail_msg("reference %s: %s", path, err.message);
  return r;
}

void ref_free(lp_ref *r) {
  if (!r) return;
  lp_table_free(r->t);
  free(r);
}

static long ref_find(const lp_ref *r, const char *key) {
  for (size_t i = 0; i < lp_table_nrows(r->t); i++) {
    const char *k = lp_table_cell(r->t, i, r->key_col);
    if (k && !strcmp(k, key)) return (long)i;
  }
  return -1;
}

int ref_has(const lp_ref *r, const char *key) { return ref_find(r, key) >= 0; }

double ref_get(const lp_ref *r, const char *key) {
  long i = ref_find(r, key);
  if (i < 0) fail_msg("no reference value '%s' in %s", key, lp_table_source(r->t));
  const char *v = lp_table_cell(r->t, (size_t)i, r->val_col);
  if (!v) return NAN;
  double x;
  if (!lp_parse_number(v, &x)) {
    if (!strcmp(v, "Inf")) return INFINITY;
    if (!strcmp(v, "-Inf")) return -INFINITY;
    fail_msg("reference value '%s' = '%s' is not a number", key, v);
  }
  return x;
}

double ref_getf(const lp_ref *r, const char *fmt, ...) {
  char key[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(key, sizeof key, fmt, ap);
  va_end(ap);
  return ref_get(r, key);
}

lp_table *data_load(const char *name) {
  char path[1024], rel[256];
  snprintf(rel, sizeof rel, "data/%s.csv", name);
  test_path(path, sizeof path, rel);
  lp_table *t;
  lp_error err;
  if (lp_table_read_csv(path, &t, &err)) fail_msg("cannot load data %s: %s", path, err.message);
  return t;
}

double *data_column(const lp_table *t, const char *col) {
  size_t c;
  lp_error err;
  if (lp_table_column(t, col, &c, &err)) fail_msg("%s", err.message);
  size_t n = lp_table_nrows(t);
  double *x = malloc((n ? n : 1) * sizeof *x);
  assert_non_null(x);
  if (lp_table_numeric(t, c, NULL, n, x, &err)) fail_msg("%s", err.message);
  return x;
}

void check_close_(double actual, double expected, double rel, const char *what, const char *file, int line) {
  /* A NaN on either side is a failure: two NaNs would hide both sides failing. A value
   * that should be missing is checked with check_na. */
  if (isnan(expected) || isnan(actual)) {
    print_error("%s:%d: %s: got %.15g, expected %.15g (a NaN is never close; use check_na for a missing value)\n", file,
                line, what, actual, expected);
    _fail(file, line);
  }
  if (isinf(expected) && actual == expected) return;
  double tol = expected == 0 ? rel : rel * fabs(expected);
  if (!(fabs(actual - expected) <= tol)) {
    print_error("%s:%d: %s: got %.15g, expected %.15g (relative tolerance %g)\n", file, line, what, actual, expected,
                rel);
    _fail(file, line);
  }
}

void check_na_(double actual, const char *what, const char *file, int line) {
  if (!isnan(actual)) {
    print_error("%s:%d: %s: got %.15g, expected a missing value (NaN)\n", file, line, what, actual);
    _fail(file, line);
  }
}
