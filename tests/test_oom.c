/* Out of memory on every allocation in turn: the linker wraps malloc and calloc for
 * this test (tests/CMakeLists.txt), so the library's allocation number k can be made
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

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);

/* The allocation that fails: the countdown-th from now (0: none). */
static long countdown;

static int fails_now(void) { return countdown > 0 && --countdown == 0; }

void *__wrap_malloc(size_t size) { return fails_now() ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size) { return fails_now() ? NULL : __real_calloc(n, size); }

/* The bootstrap of a difference in medians ranks each group on its own: every one of
 * its allocations, those of the ranks included, fails in turn. */
static void test_boot_median_out_of_memory(void **state) {
  (void)state;
  double x[30], y[25];
  for (int i = 0; i < 30; i++) x[i] = sin(i) * 3 + i % 7;
  for (int i = 0; i < 25; i++) y[i] = cos(i) * 2 + i % 5;
  lp_boot_options o;
  lp_boot_options_default(&o);
  o.replicates = 200;
  o.threads = 1;
  o.summary = LP_SUMMARY_MEDIAN;
  long failed = 0;
  for (long k = 1; k < 1000; k++) {
    lp_boot_result r;
    lp_error err = {0};
    countdown = k;
    lp_status st = lp_boot_diff(x, 30, y, 25, &o, NULL, &r, &err);
    bool all_given = countdown > 0; /* fewer than k allocations: none failed */
    countdown = 0;
    if (all_given) {
      assert_int_equal(st, LP_OK);
      assert_true(r.ci[0] <= r.estimate && r.estimate <= r.ci[1]);
      break;
    }
    assert_int_equal(st, LP_ENOMEM);
    assert_non_null(strstr(err.message, "out of memory"));
    failed++;
  }
  /* the four work arrays, and per column its ranks and those of the two groups */
  assert_true(failed >= 12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_boot_median_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
