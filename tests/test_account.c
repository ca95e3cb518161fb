/* Accounts: password rules, argon2id hashes, one-time passwords, sessions (hashed
 * tokens, idle and absolute limits from stored times), lockout, deactivation, the
 * audit of each, no secret in the trail or an export, and the role x site rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <leopards/account.h>
#include <leopards/trial.h>

typedef struct {
  time_t now;
} fake_clock;

static void clock_fn(void *ctx, char *buf, size_t n) {
  fake_clock *c = ctx;
  struct tm tm;
  gmtime_r(&c->now, &tm);
  strftime(buf, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static char dbpath[256];
static fake_clock clk;

static lp_trial *fresh(void) {
  snprintf(dbpath, sizeof dbpath, "test_account_%d.db", (int)getpid());
  lp_trial_remove_files(dbpath);
  lp_site_def sites[] = {{"S01", "one"}, {"S02", "two"}};
  lp_trial *t;
  lp_error err;
  assert_int_equal(lp_trial_create(dbpath, NULL, sites, 2, "mgr", &t, &err), LP_OK);
  clk.now = 1780000000;
  lp_trial_set_clock(t, clock_fn, &clk);
  assert_int_equal(lp_user_add(t, "mgr", "inv1", LP_ROLE_INVESTIGATOR, "S01", &err), LP_OK);
  assert_int_equal(lp_user_set_password(t, "mgr", "inv1", "first-Time-pass-1", &err), LP_OK);
  return t;
}

static void done(lp_trial *t) {
  lp_trial_close(t);
  lp_trial_remove_files(dbpath);
}

static void test_password_rules(void **state) {
  lp_error err;
  assert_int_equal(lp_password_acceptable("inv1", "short", &err), LP_EINVAL);
  assert_string_equal(err.field, "password");
  assert_int_equal(lp_password_acceptable("inv1", "Password1234", &err), LP_EINVAL); /* common, any case */
  assert_non_null(strstr(err.message, "common"));
  assert_int_equal(lp_password_acceptable("nurse", "my-NURSE-pass-22", &err), LP_EINVAL);
  assert_int_equal(lp_password_acceptable("inv1", "abababababab", &err), LP_EINVAL);
  assert_int_equal(lp_password_acceptable("inv1", "tall-river-green-41", &err), LP_OK);
}

static int count_rows(const char *sql) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

typedef struct {
  char token[LP_TOKEN_HEX + 1];
  char hash_prefix[40];
  int hits, lockouts, logins, logouts;
} scan;

static int scan_fn(void *ctx, const lp_audit_entry *e) {
  scan *s = ctx;
  const char *fields[] = {e->old_value, e->new_value, e->reason};
  for (int i = 0; i < 3; i++)
    if (fields[i] && ((s->token[0] && strstr(fields[i], s->token)) || strstr(fields[i], "$argon2") ||
                      strstr(fields[i], s->hash_prefix)))
      s->hits++;
  if (e->reason && strstr(e->reason, "account locked")) s->lockouts++;
  if (e->reason && !strcmp(e->reason, "login")) s->logins++;
  if (e->reason && !strcmp(e->reason, "logout")) s->logouts++;
  return 0;
}

static void test_sessions(void **state) {
  lp_trial *t = fresh();
  lp_account_policy p;
  lp_account_policy_default(&p);
  lp_error err;
  char tok[LP_TOKEN_HEX + 1];
  lp_identity who;
  bool locked;
  assert_int_equal(lp_session_login(t, &p, "inv1", "first-Time-pass-1", tok, &who, &locked, &err), LP_OK);
  assert_int_equal((int)strlen(tok), 64);
  assert_true(who.must_change);
  assert_string_equal(who.site, "S01");
  /* only the hash is stored, and passwords are argon2id */
  char sql[300];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM session_secrets WHERE hex(token_hash)=upper('%s')", tok);
  assert_int_equal(count_rows(sql), 0);
  assert_int_equal(count_rows("SELECT count(*) FROM credentials WHERE hash LIKE '$argon2id$%'"), 1);
  lp_identity w2;
  assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_OK);
  assert_string_equal(w2.csrf, who.csrf);
  assert_string_not_equal(w2.csrf, tok);
  /* the password change clears the one-time flag */
  assert_int_equal(lp_password_change(t, &p, "inv1", "wrong-current-pw", "a-new-Pass-word-9", &err), LP_EDENIED);
  assert_int_equal(lp_password_change(t, &p, "inv1", "first-Time-pass-1", "short", &err), LP_EINVAL);
  assert_string_equal(err.field, "new");
  assert_int_equal(lp_password_change(t, &p, "inv1", "first-Time-pass-1", "a-new-Pass-word-9", &err), LP_OK);
  assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_OK);
  assert_false(w2.must_change);
  /* idle limit: 29 minutes is fine (and refreshes), then 31 minutes unused ends it */
  clk.now += 29 * 60;
  assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_OK);
  clk.now += 31 * 60;
  assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_EDENIED);
  /* absolute limit: used every 20 minutes, still ends at 12 hours */
  assert_int_equal(lp_session_login(t, &p, "inv1", "a-new-Pass-word-9", tok, &who, &locked, &err), LP_OK);
  for (int i = 0; i < 35; i++) {
    clk.now += 20 * 60;
    assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_OK);
  }
  clk.now += 20 * 60;
  assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_EDENIED);
  /* logout ends it */
  assert_int_equal(lp_session_login(t, &p, "inv1", "a-new-Pass-word-9", tok, &who, &locked, &err), LP_OK);
  assert_int_equal(lp_session_logout(t, tok, &err), LP_OK);
  assert_int_equal(lp_session_check(t, &p, tok, &w2, &err), LP_EDENIED);
  assert_int_equal(lp_session_check(t, &p, "nothex", &w2, &err), LP_EDENIED);
  scan sc = {0};
  snprintf(sc.token, sizeof sc.token, "%s", tok);
  snprintf(sc.hash_prefix, sizeof sc.hash_prefix, "$argon2id$");
  assert_int_equal(lp_audit_log(t, NULL, scan_fn, &sc, &err), LP_OK);
  assert_int_equal(sc.hits, 0);
  assert_int_equal(sc.logins, 3);
  assert_int_equal(sc.logouts, 1);
  lp_audit_report rep;
  assert_int_equal(lp_audit_verify(t, 0, NULL, &rep, &err), LP_OK);
  assert_int_equal((int)rep.nproblems, 0);
  done(t);
}

static void test_lockout_and_deactivation(void **state) {
  lp_trial *t = fresh();
  lp_account_policy p;
  lp_account_policy_default(&p);
  lp_error err;
  char tok[LP_TOKEN_HEX + 1];
  lp_identity who;
  bool locked = false;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(lp_session_login(t, &p, "inv1", "not-the-password", tok, &who, &locked, &err), LP_EDENIED);
    assert_false(locked);
  }
  assert_int_equal(lp_session_login(t, &p, "inv1", "not-the-password", tok, &who, &locked, &err), LP_EDENIED);
  assert_true(locked);
  /* locked: even the right password is refused, until 15 minutes have passed */
  assert_int_equal(lp_session_login(t, &p, "inv1", "first-Time-pass-1", tok, &who, &locked, &err), LP_EDENIED);
  assert_true(locked);
  clk.now += 16 * 60;
  assert_int_equal(lp_session_login(t, &p, "inv1", "first-Time-pass-1", tok, &who, &locked, &err), LP_OK);
  /* the library's own checks follow the same rule: a manager neither screens nor
   * randomises; an investigator of S01 does not screen at S02; a monitor cannot lock */
  lp_screen_result sr;
  lp_allocation al;
  assert_int_equal(lp_trial_screen(t, "S01", "PM", "{}", "mgr", &sr, &err), LP_EDENIED);
  assert_int_equal(lp_trial_randomize(t, "S01", "PM", "mgr", &al, &err), LP_EDENIED);
  assert_int_equal(lp_trial_screen(t, "S02", "PM", "{}", "inv1", &sr, &err), LP_EDENIED);
  assert_non_null(strstr(err.message, "another site"));
  assert_int_equal(lp_user_add(t, "mgr", "mon", LP_ROLE_MONITOR, NULL, &err), LP_OK);
  assert_int_equal(lp_trial_lock(t, "mon", &err), LP_EDENIED);
  assert_int_equal(lp_user_add(t, "mon", "x1", LP_ROLE_MONITOR, NULL, &err), LP_EDENIED);
  /* an unknown user gets the same refusal as a wrong password */
  lp_error e2;
  assert_int_equal(lp_session_login(t, &p, "nobody", "first-Time-pass-1", tok, &who, &locked, &e2), LP_EDENIED);
  assert_int_equal(lp_session_login(t, &p, "inv1", "first-Time-pass-X", tok, &who, &locked, &err), LP_EDENIED);
  assert_string_equal(e2.message, err.message);
  /* deactivation ends sessions and refuses the user everywhere */
  assert_int_equal(lp_session_login(t, &p, "inv1", "first-Time-pass-1", tok, &who, &locked, &err), LP_OK);
  assert_int_equal(lp_user_deactivate(t, "mgr", "inv1", "", &err), LP_EINVAL);
  assert_int_equal(lp_user_deactivate(t, "inv1", "inv1", "left", &err), LP_EDENIED);
  assert_int_equal(lp_user_deactivate(t, "mgr", "inv1", "left the unit", &err), LP_OK);
  assert_int_equal(lp_session_check(t, &p, tok, &who, &err), LP_EDENIED);
  assert_int_equal(lp_session_login(t, &p, "inv1", "first-Time-pass-1", tok, &who, &locked, &err), LP_EDENIED);
  lp_screen_result r;
  assert_int_equal(lp_trial_screen(t, "S01", "P1", "{}", "inv1", &r, &err), LP_EDENIED);
  lp_user_info ui;
  assert_int_equal(lp_user_get(t, "inv1", &ui, &err), LP_OK);
  assert_false(ui.active);
  scan sc = {0};
  snprintf(sc.hash_prefix, sizeof sc.hash_prefix, "$argon2id$");
  assert_int_equal(lp_audit_log(t, NULL, scan_fn, &sc, &err), LP_OK);
  assert_int_equal(sc.lockouts, 1);
  assert_int_equal(sc.hits, 0);
  lp_audit_report rep;
  assert_int_equal(lp_audit_verify(t, 0, NULL, &rep, &err), LP_OK);
  assert_int_equal((int)rep.nproblems, 0);
  /* the export holds no hash and no token table */
  char dir[300], cmd[700];
  snprintf(dir, sizeof dir, "test_account_export_%d", (int)getpid());
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(lp_trial_export(t, dir, NULL, &err), LP_OK);
  snprintf(cmd, sizeof cmd,
           "test -f %s/accounts.csv && ! test -e %s/credentials.csv && ! test -e %s/session_secrets.csv"
           " && ! grep -rq argon2 %s",
           dir, dir, dir, dir);
  assert_int_equal(system(cmd), 0);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  done(t);
}

static void test_access_rule(void **state) {
  lp_error err;
  assert_int_equal(lp_access_check(LP_ROLE_INVESTIGATOR, "S01", LP_DO_SCREEN, "S01", &err), LP_OK);
  assert_int_equal(lp_access_check(LP_ROLE_INVESTIGATOR, "S01", LP_DO_SCREEN, "S02", &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_INVESTIGATOR, "S01", LP_DO_VIEW_STATUS, NULL, &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_INVESTIGATOR, "S01", LP_DO_MANAGE_USERS, NULL, &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_MANAGER, NULL, LP_DO_SCREEN, "S01", &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_MANAGER, NULL, LP_DO_RANDOMISE, "S01", &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_MANAGER, NULL, LP_DO_VIEW_PATIENT, "S02", &err), LP_OK);
  assert_int_equal(lp_access_check(LP_ROLE_MANAGER, NULL, LP_DO_UNBLIND, "S02", &err), LP_OK);
  assert_int_equal(lp_access_check(LP_ROLE_STATISTICIAN, NULL, LP_DO_LIST, NULL, &err), LP_OK);
  assert_int_equal(lp_access_check(LP_ROLE_STATISTICIAN, NULL, LP_DO_SCREEN, "S01", &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_MONITOR, NULL, LP_DO_VIEW_AUDIT, NULL, &err), LP_OK);
  assert_int_equal(lp_access_check(LP_ROLE_MONITOR, "S02", LP_DO_VIEW_PATIENT, "S01", &err), LP_EDENIED);
  assert_int_equal(lp_access_check(LP_ROLE_MONITOR, NULL, LP_DO_UNBLIND, "S01", &err), LP_EDENIED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_password_rules),
      cmocka_unit_test(test_sessions),
      cmocka_unit_test(test_lockout_and_deactivation),
      cmocka_unit_test(test_access_rule),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
