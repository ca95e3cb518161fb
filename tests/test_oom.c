/* Out of memory on every allocation in turn: the linker wraps malloc and calloc for
 * this test (tests/CMakeLists.txt), with realloc,, so the library's allocation number k can be made
 * to fail. Each failure must give LP_ENOMEM and leave nothing allocated (the
 * sanitizer build checks for leaks), and the call succeeds once no allocation fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/stats.h>
#include <leopards/survival.h>
#include <leopards/table.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

/* The allocation that fails: the countdown-th from now (0: none). */
static long countdown;

static int fails_now(void) { return countdown > 0 && --countdown == 0; }

void *__wrap_malloc(size_t size) { return fails_now() ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size) { return fails_now() ? NULL : __real_calloc(n, size); }

void *__wrap_realloc(void *p, size_t size) { return fails_now() ? NULL : __real_realloc(p, size); }

/* One call of the library; on success it frees what it was given. */
typedef lp_status (*attempt_fn)(void *ctx, lp_error *err);

/* Fail allocation 1, 2, ... of the call until it needs no more than are given; every
 * failed one must say out of memory. The number of allocations that failed. */
static long sweep(attempt_fn f, void *ctx) {
  long failed = 0;
  for (long k = 1; k < 5000; k++) {
    lp_error err = {0};
    countdown = k;
    lp_status st = f(ctx, &err);
    bool all_given = countdown > 0; /* fewer than k allocations: none failed */
    countdown = 0;
    if (all_given) {
      if (getenv("LP_OOM_VERBOSE")) print_message("%ld allocations failed in turn\n", failed);
      assert_int_equal(st, LP_OK);
      return failed;
    }
    if (st != LP_ENOMEM) print_error("allocation %ld failed: status %d, %s\n", k, (int)st, err.message);
    assert_int_equal(st, LP_ENOMEM);
    failed++;
  }
  fail_msg("the call did not finish within 5000 allocations");
  return failed;
}

static double xs[40], ys[40];
static int arms[40], subs[40], events[40];

static void data(void) {
  for (int i = 0; i < 40; i++) {
    xs[i] = sin(i) * 3 + i % 7;
    ys[i] = 2 + xs[i] * 0.5 + cos(3 * i);
    arms[i] = i % 2;
    subs[i] = (i / 2) % 2;
    events[i] = i % 3 != 0;
  }
}

static lp_status boot_median(void *ctx, lp_error *err) {
  lp_boot_options o;
  lp_boot_options_default(&o);
  o.replicates = 200;
  o.threads = 1;
  o.summary = *(const lp_summary *)ctx;
  lp_boot_result r;
  return lp_boot_diff(xs, 30, ys, 25, &o, NULL, &r, err);
}

/* The bootstrap of a difference in medians ranks each group on its own: every one of
 * its allocations, those of the ranks included, fails in turn (they leaked). */
static void test_boot_out_of_memory(void **state) {
  (void)state;
  data();
  lp_summary s = LP_SUMMARY_MEDIAN;
  /* the four work arrays, and per column its ranks and those of the two groups */
  assert_true(sweep(boot_median, &s) >= 12);
  s = LP_SUMMARY_MEAN;
  assert_true(sweep(boot_median, &s) >= 4);
}

static lp_status csv_parse(void *ctx, lp_error *err) {
  const char *text = ctx;
  lp_table *t;
  lp_status st = lp_table_parse_csv(text, strlen(text), "oom.csv", &t, err);
  lp_table_free(st ? NULL : t);
  return st;
}

static lp_status model_matrix(void *ctx, lp_error *err) {
  const char *cols[] = {"x", "g"};
  lp_model_matrix d;
  lp_status st = lp_model_matrix_init(&d, ctx, cols, 2, NULL, 0, NULL, 4, err);
  if (!st) lp_model_matrix_clear(&d);
  return st;
}

/* A model matrix whose columns could not be allocated was cleared as if they had
 * been: the names of p columns read through a null pointer. */
static lp_status split_list(void *ctx, lp_error *err) {
  char **items;
  size_t n;
  lp_status st = lp_split_list(ctx, &items, &n, err);
  if (!st) free(items);
  return st;
}

static lp_status factor(void *ctx, lp_error *err) {
  lp_factor f;
  lp_status st = lp_factor_init(&f, ctx, 1, NULL, 4, err);
  if (!st) lp_factor_clear(&f);
  return st;
}

static void test_table_out_of_memory(void **state) {
  (void)state;
  assert_true(sweep(split_list, "a, b,c") >= 1);
  static const char text[] = "x,g,y\n1.5,a,2\n2,b,3\n\n3.25,a,\"4\"\n4,c,5\n";
  assert_true(sweep(csv_parse, (void *)text) >= 6);
  lp_table *t;
  lp_error err;
  assert_int_equal(lp_table_parse_csv(text, strlen(text), "oom.csv", &t, &err), LP_OK);
  assert_true(sweep(model_matrix, t) >= 16);
  assert_true(sweep(factor, t) >= 6);
  lp_table_free(t);
}

static lp_status lm_fit(void *ctx, lp_error *err) {
  (void)ctx;
  lp_lm_fit f;
  lp_status st = lp_lm_fit_compute(xs, 40, 1, ys, true, 1e-7, &f, err);
  if (!st) lp_lm_fit_clear(&f);
  return st;
}

static lp_status lm_boot(void *ctx, lp_error *err) {
  (void)ctx;
  lp_boot_options o;
  lp_boot_options_default(&o);
  o.replicates = 100;
  o.threads = 1;
  lp_boot_result r;
  return lp_lm_boot_coef(xs, 40, 1, ys, NULL, 0, arms, 0, &o, NULL, &r, err);
}

static lp_status interaction(void *ctx, lp_error *err) {
  (void)ctx;
  lp_interaction_result r;
  lp_status st = lp_interaction_test(ys, arms, subs, 40, 2, 50, 7, 1, 0.95, &r, err);
  if (!st) lp_interaction_result_clear(&r);
  return st;
}

static void test_models_out_of_memory(void **state) {
  (void)state;
  data();
  assert_true(sweep(lm_fit, NULL) >= 10);
  assert_true(sweep(lm_boot, NULL) >= 8);
  assert_true(sweep(interaction, NULL) >= 6);
}

static lp_status logrank(void *ctx, lp_error *err) {
  (void)ctx;
  lp_logrank r;
  lp_status st = lp_logrank_test(xs, events, arms, 40, 2, &r, err);
  if (!st) lp_logrank_clear(&r);
  return st;
}

static lp_status km(void *ctx, lp_error *err) {
  (void)ctx;
  lp_km r;
  lp_status st = lp_km_fit(ys, events, 40, 0.95, &r, err);
  if (!st) lp_km_clear(&r);
  return st;
}

static lp_status cox(void *ctx, lp_error *err) {
  lp_cox_options o;
  lp_cox_options_default(&o);
  double x[40];
  for (int i = 0; i < 40; i++) x[i] = arms[i];
  lp_cox_fit f;
  lp_status st = lp_cox_fit_compute(xs, events, x, 40, 1, NULL, ctx ? subs : NULL, &o, &f, err);
  if (!st) lp_cox_fit_clear(&f);
  return st;
}

static void test_survival_out_of_memory(void **state) {
  (void)state;
  data();
  for (int i = 0; i < 40; i++) xs[i] = fabs(xs[i]) + 1;
  assert_true(sweep(logrank, NULL) >= 7);
  assert_true(sweep(km, NULL) >= 6);
  assert_true(sweep(cox, NULL) >= 24);
  assert_true(sweep(cox, "clustered") >= 36);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_boot_out_of_memory),
      cmocka_unit_test(test_table_out_of_memory),
      cmocka_unit_test(test_models_out_of_memory),
      cmocka_unit_test(test_survival_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
