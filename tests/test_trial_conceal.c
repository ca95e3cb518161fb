/* Concealment: the database file without the key reveals no allocation. With 10,000
 * sealed slots, no bit of anything stored per slot (nonce, ciphertext, pack number,
 * ids, the slot's audit entry) predicts the arm better than chance, nor does a naive
 * Bayes classifier over all of them trained on half the slots and tested on the other
 * half; every ciphertext has the same length, and no setting reveals the block sizes. */
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
#include "trialutil.h"
#include "trial/trial_internal.h"

enum { SITES = 20, PER_SITE = 500, N = SITES * PER_SITE, NBITS = 24 * 8 + 17 * 8 + 20 + 16 + 16 + 64 };

/* The features an attacker holding the database has for one slot, as bits. */
static void features(sqlite3_stmt *st, const uint8_t *audit_hash, uint8_t *bits) {
  int k = 0;
  const uint8_t *nonce = sqlite3_column_blob(st, 4), *sealed = sqlite3_column_blob(st, 5);
  for (int i = 0; i < 24 * 8; i++) bits[k++] = (nonce[i / 8] >> (i % 8)) & 1;
  for (int i = 0; i < 17 * 8; i++) bits[k++] = (sealed[i / 8] >> (i % 8)) & 1;
  long pack = (long)sqlite3_column_int64(st, 3), seq = (long)sqlite3_column_int64(st, 2),
       id = (long)sqlite3_column_int64(st, 0);
  for (int i = 0; i < 20; i++) bits[k++] = (pack >> i) & 1;
  for (int i = 0; i < 16; i++) bits[k++] = (seq >> i) & 1;
  for (int i = 0; i < 16; i++) bits[k++] = (id >> i) & 1;
  for (int i = 0; i < 64; i++) bits[k++] = (audit_hash[i / 8] >> (i % 8)) & 1;
}

static void test_database_alone_reveals_nothing(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, SITES, PER_SITE, &k);
  /* the truth, known only with the key */
  uint8_t *arm = malloc(N), (*x)[NBITS] = malloc(sizeof(uint8_t[NBITS]) * N);
  for (int s = 0; s < SITES; s++)
    TU_CHECK(lp_list_stream(k->secret, s + 1, (const int[]){4, 6}, 2, PER_SITE, arm + s * PER_SITE, NULL, &e_));
  sqlite3_stmt *st;
  /* the audit hash of each slot's insertion, by slot id */
  uint8_t(*ah)[32] = calloc(N + 1, 32);
  TU_CHECK(lp__prepare(t, "SELECT row_id, hash FROM audit WHERE tbl='slots'", &st, &e_));
  while (sqlite3_step(st) == SQLITE_ROW) {
    long id = (long)sqlite3_column_int64(st, 0);
    assert_true(id >= 1 && id <= N);
    memcpy(ah[id], sqlite3_column_blob(st, 1), 32);
  }
  lp__finalize(t, st);
  TU_CHECK(lp__prepare(t, "SELECT id, site_id, seq, pack, nonce, sealed FROM slots ORDER BY site_id, seq", &st, &e_));
  int n = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    assert_int_equal(sqlite3_column_bytes(st, 4), 24);
    assert_int_equal(sqlite3_column_bytes(st, 5), 17); /* all ciphertexts one length */
    features(st, ah[sqlite3_column_int64(st, 0)], x[n]);
    n++;
  }
  lp__finalize(t, st);
  free(ah);
  assert_int_equal(n, N);
  long a_count = 0;
  for (int i = 0; i < N; i++) a_count += arm[i] == 0;
  assert_true(labs(a_count - N / 2) <= 3 * SITES); /* blocks keep the list balanced */

  /* single bits: accuracy of "arm = bit" (or its opposite), |z| over all bits */
  double zmax = 0;
  int worst = -1;
  for (int b = 0; b < NBITS; b++) {
    long agree = 0;
    for (int i = 0; i < N; i++) agree += x[i][b] == arm[i];
    double z = fabs(agree - N / 2.0) / sqrt(N / 4.0);
    if (z > zmax) zmax = z, worst = b;
  }
  print_message("largest |z| of %d single-bit predictors: %.2f (bit %d)\n", NBITS, zmax, worst);
  /* nonces are random on every run: 5 keeps the chance of a false alarm over 444
   * tests near 1 in 4000 */
  assert_true(zmax < 5.0);

  /* naive Bayes over all bits: train on even slots, test on odd ones */
  double la[NBITS][2] = {{0}}, lb[NBITS][2] = {{0}};
  long na = 0, nb = 0;
  for (int i = 0; i < N; i += 2) {
    for (int b = 0; b < NBITS; b++) (arm[i] ? lb : la)[b][x[i][b]] += 1;
    if (arm[i]) nb++;
    else
      na++;
  }
  long correct = 0, tested = 0;
  for (int i = 1; i < N; i += 2) {
    double score = log((double)na / nb);
    for (int b = 0; b < NBITS; b++)
      score += log((la[b][x[i][b]] + 1) / (na + 2.0)) - log((lb[b][x[i][b]] + 1) / (nb + 2.0));
    int guess = score < 0;
    correct += guess == arm[i];
    tested++;
  }
  double acc = (double)correct / tested, z = (acc - 0.5) / sqrt(0.25 / tested);
  print_message("naive Bayes on the other half: %.4f correct (z = %.2f)\n", acc, z);
  assert_true(fabs(z) < 4.5);

  /* nothing in the settings names the block sizes or the arms of slots */
  TU_CHECK(lp__prepare(t, "SELECT count(*) FROM meta WHERE value LIKE '%sizes%' OR value LIKE '%4,6%'", &st, &e_));
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 0);
  lp__finalize(t, st);
  free(arm);
  free(x);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_database_alone_reveals_nothing)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
