/* The trial store end to end at the library level: creation, roles, the key file's
 * permissions, list generation and extension, screening, randomisation (once per
 * patient, refusals with reasons), unblinding, lock, allocations, the audit chain,
 * and a schema upgrade that keeps every row and the chain intact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <leopards/account.h>
#include <leopards/trial.h>

#include "testutil.h"
#include "trialutil.h"
#include "trial/trial_internal.h"

static void screen_ok(lp_trial *t, const char *site, const char *patient, const char *user) {
  lp_screen_result r;
  TU_CHECK(lp_trial_screen(t, site, patient, TU_ELIGIBLE, user, &r, &e_));
  assert_true(r.eligible);
  TU_CHECK(tu_consent(t, patient, user, &e_));
}

static void verify_clean(lp_trial *t) {
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  if (rep.nproblems) fail_msg("audit: %s", rep.problems[0].message);
  assert_true(rep.entries > 0);
}

static void test_create_and_roles(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600];
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 3, 10, &k);
  lp_error err;
  /* a file that exists is never overwritten */
  snprintf(db, sizeof db, "%s/trial.db", dir);
  lp_site_def s1 = {"X", "X"};
  lp_trial *t2;
  assert_int_equal(lp_trial_create(db, "leopards", &s1, 1, "m", &t2, &err), LP_ESTATE);
  /* roles */
  assert_int_equal(lp_user_add(t, "invS01", "x", LP_ROLE_MANAGER, NULL, &err), LP_EDENIED);
  assert_int_equal(lp_user_add(t, "nobody", "x", LP_ROLE_MANAGER, NULL, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "not registered"));
  assert_int_equal(lp_user_add(t, "mgr", "x", LP_ROLE_INVESTIGATOR, NULL, &err), LP_EINVAL);
  assert_int_equal(lp_user_add(t, "mgr", "invS01", LP_ROLE_MANAGER, NULL, &err), LP_ESTATE);
  assert_string_equal(lp_trial_arm_label(t, 0), "levosimendan");
  assert_int_equal(lp_trial_schema_version(t), LP_TRIAL_SCHEMA_VERSION);
  verify_clean(t);
  lp_key_free(k);
  lp_trial_close(t);
  /* reopen */
  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_false(lp_trial_is_locked(t));
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

static void test_key_file(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), kp[600], other[600];
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 1, 4, &k);
  lp_key_free(k);
  snprintf(kp, sizeof kp, "%s/trial.key", dir);
  struct stat sb;
  assert_int_equal(stat(kp, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  lp_error err;
  /* never overwritten */
  assert_int_equal(lp_key_create(t, kp, &k, &err), LP_ESTATE);
  /* wider permissions are refused */
  assert_int_equal(chmod(kp, 0640), 0);
  assert_int_equal(lp_key_load(t, kp, &k, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "chmod 600"));
  assert_int_equal(chmod(kp, 0600), 0);
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  lp_key_free(k);
  /* a key owned by another user is refused (when this test may give files away) */
  if (geteuid() == 0) {
    assert_int_equal(chown(kp, 65534, 65534), 0);
    assert_int_equal(lp_key_load(t, kp, &k, &err), LP_EDENIED);
    assert_non_null(strstr(err.message, "owned by another user"));
    assert_int_equal(chown(kp, 0, 0), 0);
  }
  /* so is a key in a folder that others can write, or one owned by another user */
  assert_int_equal(chmod(dir, 0777), 0);
  assert_int_equal(lp_key_load(t, kp, &k, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "folder that others can write"));
  char planted[700];
  snprintf(planted, sizeof planted, "%s/planted.key", dir);
  assert_int_equal(lp_key_create(t, planted, &k, &err), LP_EDENIED); /* nor made there */
  assert_int_equal(access(planted, F_OK), -1);
  assert_int_equal(chmod(dir, 01777), 0); /* sticky or not */
  assert_int_equal(lp_key_load(t, kp, &k, &err), LP_EDENIED);
  assert_int_equal(chmod(dir, 0700), 0);
  if (geteuid() == 0) {
    assert_int_equal(chown(dir, 65534, 65534), 0);
    assert_int_equal(lp_key_load(t, kp, &k, &err), LP_EDENIED);
    assert_non_null(strstr(err.message, "folder owned by another user"));
    assert_int_equal(chown(dir, 0, 0), 0);
  }
  TU_CHECK(lp_key_load(t, kp, &k, &e_));
  lp_key_free(k);
  /* a long comment is read through (the key's lines come after it); a file too large
   * to be a key says so */
  {
    char longk[700], *text;
    size_t n;
    snprintf(longk, sizeof longk, "%s/long.key", dir);
    FILE *in = fopen(kp, "r");
    text = calloc(1, 4096);
    n = fread(text, 1, 4095, in);
    fclose(in);
    char *nl = strchr(text, '\n'); /* after the header line */
    FILE *o = fopen(longk, "w");
    fwrite(text, 1, (size_t)(nl + 1 - text), o);
    fputs("# ", o);
    for (int i = 0; i < 3000; i++) fputc('a' + i % 26, o);
    fputc('\n', o);
    fwrite(nl + 1, 1, n - (size_t)(nl + 1 - text), o);
    fclose(o);
    assert_int_equal(chmod(longk, 0600), 0);
    TU_CHECK(lp_key_load(t, longk, &k, &e_));
    lp_key_free(k);
    o = fopen(longk, "a");
    for (int i = 0; i < 70000; i++) fputc(i % 64 ? 'x' : '\n', o);
    fclose(o);
    assert_int_equal(lp_key_load(t, longk, &k, &err), LP_EPARSE);
    assert_non_null(strstr(err.message, "too large for a key file"));
    free(text);
  }
  /* a key of another trial, or another key for this trial, is refused */
  snprintf(other, sizeof other, "%s/other.key", dir);
  TU_CHECK(lp_key_create(t, other, &k, &e_)); /* same trial id, other secret */
  lp_key_free(k);
  assert_int_equal(lp_key_load(t, other, &k, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "does not open"));
  /* the secret never appears in the database file */
  FILE *f = fopen(kp, "r");
  char line[256], hex[80] = "";
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "secret ", 7)) snprintf(hex, sizeof hex, "%.64s", line + 7);
  fclose(f);
  assert_int_equal(strlen(hex), 64);
  uint8_t secret[32];
  assert_true(lp__unhex(hex, secret, 32));
  lp_trial_close(t);
  char db[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  f = fopen(db, "rb");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  for (long i = 0; i + 32 <= n; i++) {
    assert_false(memcmp(buf + i, secret, 8) == 0);
    assert_false(memcmp(buf + i, hex, 16) == 0);
  }
  free(buf);
  tu_rmrf(dir);
  free(dir);
}

static void test_randomize(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 2, 8, &k);
  lp_error err;
  lp_allocation a, b;
  /* not screened, ineligible, not enrolled, wrong site, wrong user */
  assert_int_equal(lp_trial_randomize(t, "S01", "P1", "invS01", &a, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "no screening record"));
  lp_screen_result r;
  TU_CHECK(lp_trial_screen(t, "S01", "P2", "{\"age\":16,\"infection\":1}", "invS01", &r, &e_));
  assert_false(r.eligible);
  assert_non_null(strstr(r.failed, "age"));
  assert_int_equal(lp_trial_randomize(t, "S01", "P2", "invS01", &a, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "not eligible"));
  assert_non_null(strstr(err.message, "age"));
  /* consent not obtained */
  char in[1024];
  snprintf(in, sizeof in, "%.*s,\"reason_not_enrolled\":\"no consent\"}", (int)strlen(TU_ELIGIBLE) - 1, TU_ELIGIBLE);
  TU_CHECK(lp_trial_screen(t, "S01", "P3", in, "invS01", &r, &e_));
  assert_int_equal(lp_trial_randomize(t, "S01", "P3", "invS01", &a, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "no consent"));
  screen_ok(t, "S01", "P1", "invS01");
  assert_int_equal(lp_trial_randomize(t, "S02", "P1", "invS02", &a, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "screened at site S01"));
  assert_int_equal(lp_trial_randomize(t, "S01", "P1", "invS02", &a, &err), LP_EDENIED);
  assert_int_equal(lp_trial_randomize(t, "S01", "P1", "mgr", &a, &err), LP_EDENIED);
  /* unknown field and out-of-range input are refused, nothing recorded */
  assert_int_equal(lp_trial_screen(t, "S01", "P9", "{\"agee\":50}", "invS01", &r, &err), LP_EDATA);
  assert_non_null(strstr(err.message, "agee"));
  assert_int_equal(lp_trial_screen(t, "S01", "P9", "{\"age\":500}", "invS01", &r, &err), LP_EDATA);
  /* randomise, then again: the same allocation */
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &a, &e_));
  assert_int_equal(a.sequence, 1);
  assert_false(a.existing);
  assert_true(a.pack >= 100000 && a.pack <= 999999);
  assert_int_equal(a.slots_left, 7);
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &b, &e_));
  assert_true(b.existing);
  assert_int_equal(b.pack, a.pack);
  assert_int_equal(b.sequence, 1);
  assert_string_equal(b.randomized_at, a.randomized_at);
  /* fill the site: 8 slots; the ninth is refused without the key */
  for (int i = 2; i <= 9; i++) {
    char p[16];
    snprintf(p, sizeof p, "Q%d", i);
    screen_ok(t, "S01", p, "invS01");
    lp_status s = lp_trial_randomize(t, "S01", p, "invS01", &a, &err);
    if (i <= 8) {
      assert_int_equal(s, LP_OK);
      assert_int_equal(a.sequence, i);
    } else {
      assert_int_equal(s, LP_ESTATE);
      assert_non_null(strstr(err.message, "used all 8 slots"));
    }
  }
  /* with the key in the context the list extends itself in the same transaction */
  lp_trial_use_key(t, k);
  TU_CHECK(tu_consent(t, "Q9", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "Q9", "invS01", &a, &e_));
  assert_int_equal(a.sequence, 9);
  assert_true(a.slots_left >= 8);
  lp_trial_use_key(t, NULL);
  verify_clean(t);
  /* unblinding: reason needed, recorded, listed without the arm */
  lp_unblinding u;
  assert_int_equal(lp_trial_unblind(t, k, "P1", "", "invS01", &u, &err), LP_EINVAL);
  assert_int_equal(lp_trial_unblind(t, k, "P1", "anaphylaxis", "invS02", &u, &err), LP_EDENIED);
  assert_int_equal(lp_trial_unblind(t, k, "NOPE", "anaphylaxis", "invS01", &u, &err), LP_ENOTFOUND);
  TU_CHECK(lp_trial_unblind(t, k, "P1", "anaphylaxis", "invS01", &u, &e_));
  assert_true(u.arm == 0 || u.arm == 1);
  int p1_arm = u.arm;
  lp_unblinding *list;
  size_t nl;
  TU_CHECK(lp_trial_unblindings(t, &list, &nl, &e_));
  assert_int_equal(nl, 1);
  assert_string_equal(list[0].patient, "P1");
  assert_string_equal(list[0].reason, "anaphylaxis");
  assert_int_equal(list[0].arm, -1);
  free(list);
  /* allocations only after lock; only managers and statisticians lock */
  lp_allocation_arm *al;
  size_t na;
  assert_int_equal(lp_trial_allocations(t, k, &al, &na, &err), LP_ESTATE);
  assert_int_equal(lp_trial_lock(t, "invS01", &err), LP_EDENIED);
  verify_clean(t);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
  (void)p1_arm;
}

static void test_lock(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 2, 6, &k);
  lp_error err;
  lp_allocation a;
  screen_ok(t, "S01", "P1", "invS01");
  screen_ok(t, "S02", "P2", "invS02");
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &a, &e_));
  long p1_pack = a.pack;
  lp_unblinding u;
  TU_CHECK(lp_trial_unblind(t, k, "P1", "emergency", "stat", &u, &e_));
  TU_CHECK(lp_trial_lock(t, "mgr", &e_));
  assert_int_equal(lp_trial_lock(t, "mgr", &err), LP_ESTATE);
  assert_int_equal(lp_trial_randomize(t, "S02", "P2", "invS02", &a, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "locked"));
  lp_screen_result r;
  assert_int_equal(lp_trial_screen(t, "S02", "P3", TU_ELIGIBLE, "invS02", &r, &err), LP_ESTATE);
  assert_int_equal(lp_user_add(t, "mgr", "late", LP_ROLE_MANAGER, NULL, &err), LP_ESTATE);
  lp_unblinding u2;
  assert_int_equal(lp_trial_unblind(t, k, "P1", "again", "stat", &u2, &err), LP_ESTATE);
  assert_int_equal(u2.arm, -1);
  lp_list_options o;
  lp_list_options_default(&o);
  lp_list_summary sum;
  assert_int_equal(lp_list_generate(t, k, &o, "stat", &sum, &err), LP_ESTATE);
  /* a second randomise request still answers with the first allocation */
  lp_allocation b;
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &b, &e_));
  assert_true(b.existing);
  lp_allocation_arm *al;
  size_t na;
  TU_CHECK(lp_trial_allocations(t, k, &al, &na, &e_));
  assert_int_equal(na, 1);
  assert_string_equal(al[0].patient, "P1");
  assert_int_equal(al[0].arm, u.arm);
  assert_int_equal(al[0].pack, p1_pack);
  free(al);
  verify_clean(t);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

static void test_list_extend_and_report(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 3, 10, &k);
  lp_error err;
  lp_list_options o;
  lp_list_options_default(&o);
  lp_list_summary sum;
  /* block sizes cannot change once a list exists */
  o.block_sizes[0] = 2;
  o.nsizes = 1;
  assert_int_equal(lp_list_generate(t, k, &o, "stat", &sum, &err), LP_ESTATE);
  /* only the statistician generates */
  lp_list_options_default(&o);
  assert_int_equal(lp_list_generate(t, k, &o, "mgr", &sum, &err), LP_EDENIED);
  /* randomise 7 at S01, then top up: S01 gets 7 more, the others none */
  for (int i = 0; i < 7; i++) {
    char p[16];
    snprintf(p, sizeof p, "P%d", i);
    screen_ok(t, "S01", p, "invS01");
    lp_allocation a;
    TU_CHECK(tu_consent(t, p, "invS01", &e_));
    TU_CHECK(lp_trial_randomize(t, "S01", p, "invS01", &a, &e_));
  }
  TU_CHECK(lp_list_generate(t, k, &o, "stat", &sum, &e_));
  assert_int_equal(sum.slots_added, 7);
  assert_int_equal(sum.slots_total, 37);
  assert_int_equal(sum.slots_checked, 30);
  lp_list_report rep;
  TU_CHECK(lp_list_report_make(t, k, &rep, &e_));
  assert_true(rep.reproduces);
  assert_int_equal(rep.nsites, 3);
  assert_int_equal(rep.used, 7);
  assert_int_equal(rep.sites[0].slots, 17);
  assert_int_equal(rep.sites[0].used_arm[0] + rep.sites[0].used_arm[1], 7);
  assert_true(rep.sites[0].max_imbalance <= 3);
  assert_true(rep.expected_correct >= 3.5 && rep.expected_correct <= 7);
  /* the sealed arms equal the stream the secret defines */
  uint8_t arms[17];
  TU_CHECK(lp_list_stream(k->secret, 1, (const int[]){4, 6}, 2, 17, arms, NULL, &e_));
  long a0 = 0;
  for (int i = 0; i < 7; i++) a0 += arms[i] == 0;
  assert_int_equal(rep.sites[0].used_arm[0], a0);
  lp_list_report_clear(&rep);
  verify_clean(t);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

/* The bytes of a file (malloc'ed, *n its size) and the names in a directory, joined. */
static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot read %s", path);
  char *buf = malloc(1 << 22);
  *n = fread(buf, 1, 1 << 22, f);
  fclose(f);
  return buf;
}

static void listing(const char *dir, char *out, size_t n) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "ls -a '%s'", dir);
  FILE *p = popen(cmd, "r");
  size_t k = fread(out, 1, n - 1, p);
  out[k] = '\0';
  pclose(p);
}

/* Opening to read leaves the file and its folder exactly as they were. */
typedef struct {
  char *bytes;
  size_t n;
  char names[2048];
} snapshot;

static void snap(const char *dir, const char *db, snapshot *s) {
  s->bytes = slurp(db, &s->n);
  listing(dir, s->names, sizeof s->names);
}

static void same_as(const char *dir, const char *db, snapshot *before) {
  snapshot now;
  snap(dir, db, &now);
  assert_string_equal(now.names, before->names);
  assert_int_equal(now.n, before->n);
  assert_memory_equal(now.bytes, before->bytes, now.n);
  free(now.bytes);
}

/* An export from schema version 4 (before consent was tracked) imports with its
 * randomised patients marked as recorded before consent was tracked (owing nothing),
 * every mark audited, and consent required from then on. */
static void test_import_before_consent(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], kp[600], ex[600], db2[600];
  snprintf(db, sizeof db, "%s/v4.db", dir);
  snprintf(kp, sizeof kp, "%s/v4.key", dir);
  snprintf(ex, sizeof ex, "%s/export", dir);
  snprintf(db2, sizeof db2, "%s/imported.db", dir);
  lp_site_def sites[] = {{"A", "Site A"}};
  lp_trial *t;
  TU_CHECK(lp__trial_create_at(db, "leopards", sites, 1, "mgr", 4, &t, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "stat", LP_ROLE_STATISTICIAN, NULL, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "ia", LP_ROLE_INVESTIGATOR, "A", &e_));
  lp_trial_key *k;
  TU_CHECK(lp_key_create(t, kp, &k, &e_));
  lp_list_options o;
  lp_list_options_default(&o);
  o.per_site = 4;
  lp_list_summary sum;
  TU_CHECK(lp_list_generate(t, k, &o, "stat", &sum, &e_));
  screen_ok(t, "A", "P1", "ia");
  screen_ok(t, "A", "P2", "ia");
  lp_allocation a;
  TU_CHECK(lp_trial_randomize(t, "A", "P1", "ia", &a, &e_)); /* version 4: no consent asked */
  TU_CHECK(lp_trial_export(t, ex, NULL, &e_));
  lp_trial_close(t);
  TU_CHECK(lp_trial_import(db2, ex, &e_));
  TU_CHECK(lp_trial_open(db2, &t, &e_));
  lp_patient_view pv;
  TU_CHECK(lp_patient_get(t, "P1", &pv, &e_));
  assert_string_equal(pv.consent_by, "before_tracking");
  assert_false(pv.retrospective_due);
  TU_CHECK(lp_patient_get(t, "P2", &pv, &e_)); /* not randomised: no mark */
  assert_string_equal(pv.consent_by, "");
  lp_consent_policy pol;
  TU_CHECK(lp_consent_policy_get(t, &pol, &e_));
  assert_true(pol.required);
  lp_error err;
  lp_trial_use_key(t, k);
  assert_int_equal(lp_trial_randomize(t, "A", "P2", "ia", &a, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "no consent record"));
  verify_clean(t);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

/* A file made at schema version 1 (randomisation only): reading and verifying it
 * changes nothing; opening it for writing is refused until the explicit upgrade,
 * which keeps a backup, records itself in the audit trail and keeps every row. */
static void test_upgrade(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], kp[600], bak[700];
  snprintf(db, sizeof db, "%s/old.db", dir);
  snprintf(kp, sizeof kp, "%s/old.key", dir);
  lp_site_def sites[] = {{"A", "Site A"}, {"B", "Site B"}};
  lp_trial *t;
  TU_CHECK(lp__trial_create_at(db, "leopards", sites, 2, "mgr", 1, &t, &e_));
  assert_int_equal(lp_trial_schema_version(t), 1);
  TU_CHECK(lp_user_add(t, "mgr", "stat", LP_ROLE_STATISTICIAN, NULL, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "ia", LP_ROLE_INVESTIGATOR, "A", &e_));
  lp_trial_key *k;
  TU_CHECK(lp_key_create(t, kp, &k, &e_));
  lp_list_options o;
  lp_list_options_default(&o);
  o.per_site = 6;
  lp_list_summary sum;
  TU_CHECK(lp_list_generate(t, k, &o, "stat", &sum, &e_));
  screen_ok(t, "A", "P1", "ia");
  lp_allocation a, b;
  TU_CHECK(tu_consent(t, "P1", "ia", &e_));
  TU_CHECK(lp_trial_randomize(t, "A", "P1", "ia", &a, &e_));
  lp_audit_report rep;
  TU_CHECK(lp_audit_verify(t, 0, NULL, &rep, &e_));
  assert_int_equal(rep.nproblems, 0);
  long entries = rep.entries;
  char head[65];
  memcpy(head, rep.head, sizeof head);
  lp_trial_close(t);

  snapshot before;
  snap(dir, db, &before);
  lp_error err;
  /* verification reads the old file as it is */
  TU_CHECK(lp_audit_open(db, &t, &e_));
  assert_int_equal(lp_trial_schema_version(t), 1);
  TU_CHECK(lp_audit_verify(t, entries, head, &rep, &e_));
  if (rep.nproblems) fail_msg("%s", rep.problems[0].message);
  lp_trial_close(t);
  same_as(dir, db, &before);
  /* a read-only or writing open says that it must be upgraded, and touches nothing */
  assert_int_equal(lp_trial_open_readonly(db, &t, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "must be upgraded"));
  assert_int_equal(lp_trial_open(db, &t, &err), LP_ESTATE);
  assert_non_null(strstr(err.message, "must be upgraded"));
  same_as(dir, db, &before);
  /* only a manager or statistician upgrades */
  int from;
  assert_int_equal(lp_trial_upgrade(db, "ia", &from, &err), LP_EDENIED);
  TU_CHECK(lp_trial_upgrade(db, "mgr", &from, &e_));
  assert_int_equal(from, 1);
  snprintf(bak, sizeof bak, "%s.schema-v1.bak", db);
  struct stat sb;
  assert_int_equal(stat(bak, &sb), 0);
  TU_CHECK(lp_trial_upgrade(db, "mgr", &from, &e_)); /* nothing left to do */
  assert_int_equal(from, LP_TRIAL_SCHEMA_VERSION);

  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_int_equal(lp_trial_schema_version(t), LP_TRIAL_SCHEMA_VERSION);
  TU_CHECK(lp_audit_verify(t, entries, head, &rep, &e_));
  if (rep.nproblems) fail_msg("%s", rep.problems[0].message);
  /* the upgrade's own entry, the two consent settings, and P1's consent marked as
   * recorded before consent was tracked (owing nothing) */
  assert_int_equal(rep.entries, entries + 4);
  lp_patient_view pv;
  TU_CHECK(lp_patient_get(t, "P1", &pv, &e_));
  assert_string_equal(pv.consent_by, "before_tracking");
  assert_false(pv.retrospective_due);
  lp_progress pg;
  TU_CHECK(lp_trial_progress(t, NULL, NULL, &pg, &e_));
  assert_int_equal(pg.total.retrospective_due, 0);
  lp_progress_clear(&pg);
  lp_consent_policy pol;
  TU_CHECK(lp_consent_policy_get(t, &pol, &e_));
  assert_true(pol.required);
  TU_CHECK(lp_trial_randomize(t, "A", "P1", "ia", &b, &e_));
  assert_true(b.existing);
  assert_int_equal(b.pack, a.pack);
  size_t rows;
  TU_CHECK(lp_record_json(t, LP_RECORD_BASELINE, "{\"patient\":\"P1\",\"age\":70,\"sex\":\"male\"}", "--json-in", "ia",
                          NULL, &rows, &e_));
  verify_clean(t);
  /* the upgraded trial gains its audit key (as `leopards trial upgrade` does next):
   * from then on its entries are keyed and a write without the key is refused */
  char akp[700];
  snprintf(akp, sizeof akp, "%s.audit-key", db);
  assert_false(lp_trial_audit_keyed(t));
  TU_CHECK(lp_audit_key_install(t, akp, "mgr", &e_));
  assert_true(lp_trial_audit_keyed(t));
  lp_trial_close(t);
  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_int_not_equal(lp_user_add(t, "mgr", "ib", LP_ROLE_INVESTIGATOR, "B", &err), LP_OK);
  assert_non_null(strstr(err.message, "audit key"));
  lp_trial_close(t);
  lp_audit_key *ak;
  TU_CHECK(lp_audit_open(db, &t, &e_));
  TU_CHECK(lp_audit_key_load(t, akp, &ak, &e_));
  lp_audit_check chk = {.key = ak};
  TU_CHECK(lp_audit_verify_with(t, &chk, &rep, &e_));
  if (rep.nproblems) fail_msg("%s", rep.problems[0].message);
  lp_audit_key_free(ak);
  lp_key_free(k);
  lp_trial_close(t);
  free(before.bytes);
  tu_rmrf(dir);
  free(dir);
}

/* Version 9 to 10: users gain their full (printed) name, empty after the upgrade (a
 * signature then prints the account name and says so); a trial manager records it,
 * audited with the old and new row, and signatures print it from then on. */
static void test_upgrade_full_name(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600];
  snprintf(db, sizeof db, "%s/v9.db", dir);
  lp_site_def sites[] = {{"A", "Site A"}};
  lp_trial *t;
  TU_CHECK(lp__trial_create_at(db, "leopards", sites, 1, "mgr", 9, &t, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "ia", LP_ROLE_INVESTIGATOR, "A", &e_));
  lp_trial_close(t);
  lp_error err;
  assert_int_equal(lp_trial_open(db, &t, &err), LP_ESTATE);
  int from;
  TU_CHECK(lp_trial_upgrade(db, "mgr", &from, &e_));
  assert_int_equal(from, 9);
  TU_CHECK(lp_trial_open(db, &t, &e_));
  assert_int_equal(lp_trial_schema_version(t), LP_TRIAL_SCHEMA_VERSION);
  lp_user_info u;
  TU_CHECK(lp_user_get(t, "ia", &u, &e_));
  assert_string_equal(u.full_name, "");
  /* a manager records it; no one else; the text is checked */
  assert_int_equal(lp_user_set_full_name(t, "ia", "ia", "Dr Ines Abara", &err), LP_EDENIED);
  assert_int_equal(lp_user_set_full_name(t, "mgr", "ia", "X", &err), LP_EINVAL);
  assert_string_equal(err.field, "full_name");
  assert_int_equal(lp_user_set_full_name(t, "mgr", "ia", "Dr\nAbara", &err), LP_EINVAL);
  char longname[200];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  assert_int_equal(lp_user_set_full_name(t, "mgr", "ia", longname, &err), LP_EINVAL);
  assert_int_equal(lp_user_set_full_name(t, "mgr", "nobody", "Dr No", &err), LP_ENOTFOUND);
  TU_CHECK(lp_user_set_full_name(t, "mgr", "ia", " Dr Ines Abara ", &e_));
  TU_CHECK(lp_user_get(t, "ia", &u, &e_));
  assert_string_equal(u.full_name, "Dr Ines Abara");
  verify_clean(t);
  /* cleared again with "" */
  TU_CHECK(lp_user_set_full_name(t, "mgr", "ia", "", &e_));
  TU_CHECK(lp_user_get(t, "ia", &u, &e_));
  assert_string_equal(u.full_name, "");
  verify_clean(t);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

/* A current trial that nobody has open, read through every read-only entry point:
 * no byte of the file changes and no file (-wal, -shm, -writer) appears; a write
 * through a read-only handle is refused. A file that is not a leopards trial (an
 * SQLite file of another program in WAL mode, a text file) is refused untouched, by
 * every open and by the upgrade. */
static void test_read_only(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], other[600], text[600];
  lp_trial *t = tu_trial(dir, 2, 6, NULL);
  screen_ok(t, "S01", "P1", "invS01");
  lp_allocation a;
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &a, &e_));
  lp_trial_close(t);
  snprintf(db, sizeof db, "%s/trial.db", dir);
  char side[700];
  snprintf(side, sizeof side, "%s-writer", db);
  remove(side); /* as a copy of the file would be: nothing beside it */
  snapshot before;
  snap(dir, db, &before);
  lp_error err;
  TU_CHECK(lp_audit_open(db, &t, &e_));
  verify_clean(t);
  lp_trial_close(t);
  TU_CHECK(lp_trial_open_readonly(db, &t, &e_));
  verify_clean(t);
  lp_progress p;
  TU_CHECK(lp_trial_progress(t, NULL, "2030-01-01", &p, &e_));
  assert_int_equal(p.total.randomised, 1);
  lp_progress_clear(&p);
  assert_int_equal(lp_user_add(t, "mgr", "x", LP_ROLE_MANAGER, NULL, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "reading only"));
  lp_trial_close(t);
  same_as(dir, db, &before);
  free(before.bytes);

  /* foreign files */
  snprintf(other, sizeof other, "%s/other.db", dir);
  sqlite3 *o;
  assert_int_equal(sqlite3_open(other, &o), SQLITE_OK);
  assert_int_equal(sqlite3_exec(o,
                                "PRAGMA journal_mode=WAL; PRAGMA user_version=2;"
                                "CREATE TABLE things(a); INSERT INTO things VALUES(1);",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(o);
  snprintf(text, sizeof text, "%s/notes.txt", dir);
  FILE *f = fopen(text, "w");
  fputs(
      "not a database, but long enough to have a header's worth of bytes in it: "
      "0123456789012345678901234567890123456789\n",
      f);
  fclose(f);
  const char *files[] = {other, text};
  for (int i = 0; i < 2; i++) {
    snap(dir, files[i], &before);
    int from;
    assert_int_equal(lp_audit_open(files[i], &t, &err), LP_EDATA);
    assert_non_null(strstr(err.message, "not a leopards trial"));
    assert_int_equal(lp_trial_open_readonly(files[i], &t, &err), LP_EDATA);
    assert_int_equal(lp_trial_open(files[i], &t, &err), LP_EDATA);
    assert_int_equal(lp_trial_upgrade(files[i], "mgr", &from, &err), LP_EDATA);
    assert_non_null(strstr(err.message, "not a leopards trial"));
    same_as(dir, files[i], &before);
    free(before.bytes);
  }
  tu_rmrf(dir);
  free(dir);
}

/* On the command line the key holder unblinds, naming who asked: an investigator
 * never does it there, and asks only for a patient of their own site. */
static void test_unblind_for(void **state) {
  (void)state;
  char *dir = tu_tmpdir();
  lp_trial_key *k;
  lp_trial *t = tu_trial(dir, 2, 6, &k);
  screen_ok(t, "S01", "P1", "invS01");
  lp_allocation a;
  TU_CHECK(tu_consent(t, "P1", "invS01", &e_));
  TU_CHECK(lp_trial_randomize(t, "S01", "P1", "invS01", &a, &e_));
  lp_unblinding u;
  lp_error err;
  assert_int_equal(lp_trial_unblind_for(t, k, "P1", "anaphylaxis", "invS01", "invS01", &u, &err), LP_EDENIED);
  assert_int_equal(lp_trial_unblind_for(t, k, "P1", "anaphylaxis", "stat", "invS02", &u, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "another site"));
  assert_int_equal(lp_trial_unblind_for(t, k, "P1", "anaphylaxis", "stat", NULL, &u, &err), LP_EINVAL);
  assert_int_equal(lp_trial_unblind_for(t, k, "P1", "anaphylaxis", "stat", "ghost", &u, &err), LP_EDENIED);
  TU_CHECK(lp_trial_unblind_for(t, k, "P1", "anaphylaxis", "stat", "invS01", &u, &e_));
  assert_true(u.arm == 0 || u.arm == 1);
  assert_string_equal(u.user, "stat");
  assert_string_equal(u.reason, "requested by invS01 (investigator, site S01): anaphylaxis");
  lp_unblinding *all;
  size_t n;
  TU_CHECK(lp_trial_unblindings(t, &all, &n, &e_));
  assert_int_equal(n, 1);
  assert_string_equal(all[0].reason, u.reason);
  free(all);
  verify_clean(t);
  lp_key_free(k);
  lp_trial_close(t);
  tu_rmrf(dir);
  free(dir);
}

/* A reader of a trial that nobody had open reads the file itself; a writer that
 * starts meanwhile waits until the reader closes, so the file never changes under it. */
static void test_reader_holds_writers(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600];
  lp_trial *t = tu_trial(dir, 1, 4, NULL);
  lp_trial_close(t);
  snprintf(db, sizeof db, "%s/trial.db", dir);
  lp_trial *r;
  TU_CHECK(lp_trial_open_readonly(db, &r, &e_));
  assert_true(r->read_lock_fd >= 0); /* nobody had it open: the file itself is read */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    lp_trial *w;
    lp_error err;
    /* a descriptor copied by fork() shares the reader's lock: this process is
     * another program, which does not hold it */
    close(r->read_lock_fd);
    if (lp_trial_open(db, &w, &err) || lp_user_add(w, "mgr", "late", LP_ROLE_MANAGER, NULL, &err)) _exit(1);
    lp_trial_close(w);
    _exit(0);
  }
  struct timespec ts = {0, 300000000};
  nanosleep(&ts, NULL);
  int st;
  assert_int_equal(waitpid(pid, &st, WNOHANG), 0); /* still waiting for the reader */
  lp_error err;
  assert_int_equal(lp__user_check(r, "late", 1u << LP_ROLE_MANAGER, 0, "x", &err), LP_EDENIED);
  verify_clean(r);
  lp_trial_close(r);
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  TU_CHECK(lp_trial_open_readonly(db, &r, &e_));
  TU_CHECK(lp__user_check(r, "late", 1u << LP_ROLE_MANAGER, 0, "x", &e_));
  verify_clean(r);
  lp_trial_close(r);
  tu_rmrf(dir);
  free(dir);
}

/* Two handles in one process (a server's workers) and another program (exec'd, not
 * forked: a forked child would share this process's idea of its locks) that opens and
 * closes the trial meanwhile: the second handle's opening must not drop the first one's
 * locks, or the other program, closing as if it were the last, checkpoints and removes
 * the -wal that this process still writes to, and later writes reach no other program. */
static void test_second_handle_keeps_locks(void **state) {
  (void)state;
  char *dir = tu_tmpdir(), db[600], wal[620], cmd[1400];
  lp_trial *t = tu_trial(dir, 1, 4, NULL);
  lp_trial_close(t);
  snprintf(db, sizeof db, "%s/trial.db", dir);
  snprintf(wal, sizeof wal, "%s-wal", db);
  lp_trial *a, *b;
  TU_CHECK(lp_trial_open(db, &a, &e_));
  TU_CHECK(lp_user_add(a, "mgr", "first", LP_ROLE_MANAGER, NULL, &e_));
  TU_CHECK(lp_trial_open(db, &b, &e_));
  snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'SELECT count(*) FROM users' >/dev/null", db);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(access(wal, F_OK), 0); /* still there: this process has the trial open */
  TU_CHECK(lp_user_add(a, "mgr", "second", LP_ROLE_MANAGER, NULL, &e_));
  snprintf(cmd, sizeof cmd, "test \"$(sqlite3 '%s' \"SELECT count(*) FROM users WHERE name='second'\")\" = 1", db);
  assert_int_equal(system(cmd), 0); /* the write after it is seen by another program */
  lp_trial_close(b);
  lp_trial_close(a);
  tu_rmrf(dir);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_and_roles),
      cmocka_unit_test(test_key_file),
      cmocka_unit_test(test_randomize),
      cmocka_unit_test(test_lock),
      cmocka_unit_test(test_list_extend_and_report),
      cmocka_unit_test(test_upgrade),
      cmocka_unit_test(test_upgrade_full_name),
      cmocka_unit_test(test_import_before_consent),
      cmocka_unit_test(test_read_only),
      cmocka_unit_test(test_unblind_for),
      cmocka_unit_test(test_reader_holds_writers),
      cmocka_unit_test(test_second_handle_keeps_locks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
