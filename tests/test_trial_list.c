/* The randomisation list generator: every block balanced and of an allowed size;
 * across 10,000 simulated sites the block-size mix, the within-block patterns and the
 * arm at every position unbiased; the same secret reproduces the list, another does
 * not; the predictability figures against hand-worked values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/trial.h>

#include "testutil.h"

static void secret_from(uint8_t s[32], int seed) {
  for (int i = 0; i < 32; i++) s[i] = (uint8_t)(seed * 131 + i * 7 + 1);
}

/* Walk a site's stream block by block: each block has an allowed size and equal arms. */
static void test_blocks_balanced(void **state) {
  (void)state;
  static const int sets[][3] = {{4, 6, 0}, {2, 4, 6}, {8, 0, 0}};
  static const size_t nset[] = {2, 3, 1};
  uint8_t secret[32];
  secret_from(secret, 1);
  enum { N = 2000 };
  uint8_t arms[N], block_of[N];
  lp_error err;
  for (size_t z = 0; z < 3; z++) {
    for (long site = 0; site < 100; site++) {
      assert_int_equal(lp_list_stream(secret, site, sets[z], nset[z], N, arms, block_of, &err), LP_OK);
      size_t pos = 0;
      while (pos < N) {
        int size = block_of[pos];
        bool allowed = false;
        for (size_t i = 0; i < nset[z]; i++) allowed |= sets[z][i] == size;
        assert_true(allowed);
        if (pos + (size_t)size > N) break; /* last block cut by N */
        int a = 0;
        for (int i = 0; i < size; i++) {
          assert_int_equal(block_of[pos + i], size);
          a += arms[pos + i] == 0;
        }
        assert_int_equal(2 * a, size);
        pos += (size_t)size;
      }
    }
  }
}

static double chisq_uniform(const long *count, int k) {
  long total = 0;
  for (int i = 0; i < k; i++) total += count[i];
  double e = (double)total / k, x = 0;
  for (int i = 0; i < k; i++) x += (count[i] - e) * (count[i] - e) / e;
  return x;
}

/* 10,000 simulated sites under one secret (and 10,000 secrets for one site). */
static void test_unbiased_across_sites(void **state) {
  (void)state;
  enum { SITES = 10000, N = 60 };
  static const int sizes[] = {4, 6};
  uint8_t secret[32], arms[N], block_of[N];
  lp_error err;
  for (int pass = 0; pass < 2; pass++) {
    long size_count[2] = {0, 0}, pat4[16] = {0}, pat6[64] = {0}, posA[N] = {0};
    secret_from(secret, 7);
    for (long s = 0; s < SITES; s++) {
      if (pass == 1) {
        secret_from(secret, (int)s + 100);
        secret[31] ^= (uint8_t)(s >> 8);
      }
      assert_int_equal(lp_list_stream(secret, pass == 0 ? s : 3, sizes, 2, N, arms, block_of, &err), LP_OK);
      /* the first 10 blocks always fit in 60 slots; counting "blocks that fit" instead
       * would favour small blocks */
      size_t pos = 0;
      for (int b = 0; b < 10; b++) {
        int size = block_of[pos];
        assert_true(pos + (size_t)size <= N);
        size_count[size == 6]++;
        unsigned m = 0;
        for (int i = 0; i < size; i++) m |= (unsigned)arms[pos + i] << i;
        if (size == 4) pat4[m]++;
        else
          pat6[m]++;
        pos += (size_t)size;
      }
      for (int i = 0; i < N; i++) posA[i] += arms[i] == 0;
    }
    /* block sizes: uniform over {4, 6}; chi-square with 1 df, 0.1% critical 10.83 */
    double x = chisq_uniform(size_count, 2);
    print_message("pass %d: blocks of 4: %ld, of 6: %ld, chi-square %.2f\n", pass, size_count[0], size_count[1], x);
    assert_true(x < 10.83);
    /* within-block patterns: the 6 balanced patterns of 4 (5 df, 20.52) and the 20 of 6
     * (19 df, 43.82) equally likely; unbalanced patterns never occur */
    long c4[6], c6[20];
    int k4 = 0, k6 = 0;
    for (unsigned m = 0; m < 16; m++) {
      if (__builtin_popcount(m) == 2) c4[k4++] = pat4[m];
      else
        assert_int_equal(pat4[m], 0);
    }
    for (unsigned m = 0; m < 64; m++) {
      if (__builtin_popcount(m) == 3) c6[k6++] = pat6[m];
      else
        assert_int_equal(pat6[m], 0);
    }
    assert_int_equal(k4, 6);
    assert_int_equal(k6, 20);
    print_message("pass %d: patterns chi-square: size 4 %.2f (5 df), size 6 %.2f (19 df)\n", pass, chisq_uniform(c4, 6),
                  chisq_uniform(c6, 20));
    assert_true(chisq_uniform(c4, 6) < 20.52);
    assert_true(chisq_uniform(c6, 20) < 43.82);
    /* arm at each position: A with probability 1/2 (|z| < 4.5 at every one of 60) */
    double zmax = 0;
    for (int i = 0; i < N; i++) {
      double z = (posA[i] - SITES / 2.0) / sqrt(SITES / 4.0);
      if (fabs(z) > zmax) zmax = fabs(z);
    }
    print_message("pass %d: largest |z| of P(A) over %d positions: %.2f\n", pass, N, zmax);
    assert_true(zmax < 4.5);
  }
}

static void test_reproducible(void **state) {
  (void)state;
  enum { N = 1000 };
  static const int sizes[] = {4, 6};
  uint8_t s1[32], s2[32], a[N], b[N], c[N];
  lp_error err;
  secret_from(s1, 3);
  memcpy(s2, s1, 32);
  assert_int_equal(lp_list_stream(s1, 5, sizes, 2, N, a, NULL, &err), LP_OK);
  assert_int_equal(lp_list_stream(s2, 5, sizes, 2, N, b, NULL, &err), LP_OK);
  assert_memory_equal(a, b, N);
  /* a prefix is the prefix of a longer list (extension continues the same stream) */
  assert_int_equal(lp_list_stream(s1, 5, sizes, 2, 37, c, NULL, &err), LP_OK);
  assert_memory_equal(a, c, 37);
  /* one bit of the secret changed: about half the arms differ */
  s2[0] ^= 1;
  assert_int_equal(lp_list_stream(s2, 5, sizes, 2, N, b, NULL, &err), LP_OK);
  int differ = 0;
  for (int i = 0; i < N; i++) differ += a[i] != b[i];
  print_message("arms differing under another secret: %d of %d\n", differ, N);
  assert_true(differ > 400 && differ < 600);
  /* another site under the same secret differs too */
  assert_int_equal(lp_list_stream(s1, 6, sizes, 2, N, b, NULL, &err), LP_OK);
  differ = 0;
  for (int i = 0; i < N; i++) differ += a[i] != b[i];
  assert_true(differ > 400 && differ < 600);
}

static void test_bad_sizes(void **state) {
  (void)state;
  uint8_t s[32] = {0}, a[10];
  lp_error err;
  static const int odd[] = {3}, dup[] = {4, 4}, big[] = {66};
  assert_int_equal(lp_list_stream(s, 1, odd, 1, 10, a, NULL, &err), LP_EINVAL);
  assert_non_null(strstr(err.message, "even"));
  assert_int_equal(lp_list_stream(s, 1, dup, 2, 10, a, NULL, &err), LP_EINVAL);
  assert_int_equal(lp_list_stream(s, 1, big, 1, 10, a, NULL, &err), LP_EINVAL);
  assert_int_equal(lp_list_stream(s, 1, odd, 0, 10, a, NULL, &err), LP_EINVAL);
}

/* Hand-worked: ABAB -> 0.5 + 1 + 0.5 + 1 = 3; AABB -> 0.5 + 0 + 1 + 1 = 2.5. Over the
 * six balanced blocks of 4 the mean is 17/6, a rate of 17/24 per allocation. */
static void test_guesses(void **state) {
  (void)state;
  uint8_t abab[] = {0, 1, 0, 1}, aabb[] = {0, 0, 1, 1}, abba[] = {0, 1, 1, 0};
  check_close(lp_list_expected_guesses(abab, 4), 3.0, 1e-15, "ABAB");
  check_close(lp_list_expected_guesses(aabb, 4), 2.5, 1e-15, "AABB");
  check_close(lp_list_expected_guesses(abba, 4), 3.0, 1e-15, "ABBA");
  check_close(lp_list_expected_guesses(abab, 0), 0.0, 1e-15, "empty");
  static const int four[] = {4}, two[] = {2}, mix[] = {4, 6};
  check_close(lp_list_design_guess_rate(four, 1), 17.0 / 24.0, 1e-14, "blocks of 4");
  check_close(lp_list_design_guess_rate(two, 1), 0.75, 1e-14, "blocks of 2");
  /* blocks of 6: over the 20 balanced sequences the guesses sum to 82 (each sequence
   * scored as above, e.g. ABABAB 4.5, AAABBB 3.5), so 82/20 per block and, with the
   * sizes equally likely, (17/6 + 82/20) / (4 + 6) per allocation for the 4,6 mix. */
  uint8_t ababab[] = {0, 1, 0, 1, 0, 1}, aaabbb[] = {0, 0, 0, 1, 1, 1};
  check_close(lp_list_expected_guesses(ababab, 6), 4.5, 1e-15, "ABABAB");
  check_close(lp_list_expected_guesses(aaabbb, 6), 3.5, 1e-15, "AAABBB");
  double r6 = lp_list_design_guess_rate((const int[]){6}, 1);
  check_close(r6 * 6 * 20, 82.0, 1e-12, "blocks of 6, sum over sequences");
  check_close(lp_list_design_guess_rate(mix, 2), (17.0 / 6 + 82.0 / 20) / 10, 1e-14, "4,6 mix");
  /* the observed figure on a long list approaches the design rate */
  enum { N = 200000 };
  uint8_t *arms = malloc(N), s[32];
  lp_error err;
  secret_from(s, 11);
  assert_int_equal(lp_list_stream(s, 1, mix, 2, N, arms, NULL, &err), LP_OK);
  double rate = lp_list_expected_guesses(arms, N) / N;
  print_message("observed %.4f, design %.4f\n", rate, lp_list_design_guess_rate(mix, 2));
  assert_true(fabs(rate - lp_list_design_guess_rate(mix, 2)) < 0.005);
  free(arms);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blocks_balanced), cmocka_unit_test(test_unbiased_across_sites),
      cmocka_unit_test(test_reproducible),    cmocka_unit_test(test_bad_sizes),
      cmocka_unit_test(test_guesses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
