/* Web accounts: one-time and own passwords (argon2id through libsodium), sessions whose
 * tokens are stored only as hashes, lockout after repeated failures and deactivation.
 * `accounts` and `sessions` rows are audited (they hold nothing secret); the password
 * hashes (`credentials`) and the token hashes (`session_secrets`) are not, so that no
 * secret ever reaches the audit trail, its view or an export. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include <leopards/account.h>

#include <leopards/table.h>
#include <leopards/text.h>

#include "trial/trial_internal.h"

void lp_account_policy_default(lp_account_policy *p) {
  p->max_failures = 5;
  p->lockout_minutes = 15;
  p->idle_minutes = 30;
  p->absolute_hours = 12;
}

/* ---- password rules ---- */

/* Common passwords of 12 characters or more (shorter ones fail the length rule);
 * compared without regard to case. From lists of passwords most often found in
 * published breaches, with the keyboard walks and repetitions people choose. */
static const char *const common_passwords[] = {"123456789012",
                                               "1234567890123",
                                               "12345678901234",
                                               "123456123456",
                                               "111111111111",
                                               "000000000000",
                                               "123123123123",
                                               "121212121212",
                                               "987654321098",
                                               "098765432109",
                                               "password1234",
                                               "password12345",
                                               "password123!",
                                               "passwordpassword",
                                               "password1234!",
                                               "p@ssw0rd1234",
                                               "p@ssword1234",
                                               "passw0rd1234",
                                               "mypassword123",
                                               "mypassword1234",
                                               "qwertyuiop12",
                                               "qwertyuiopas",
                                               "qwerty123456",
                                               "qwertyqwerty",
                                               "1qaz2wsx3edc",
                                               "1q2w3e4r5t6y",
                                               "q1w2e3r4t5y6",
                                               "asdfghjkl123",
                                               "zxcvbnm12345",
                                               "qazwsxedcrfv",
                                               "iloveyou1234",
                                               "iloveyouiloveyou",
                                               "letmein12345",
                                               "letmeinplease",
                                               "welcome12345",
                                               "welcome123456",
                                               "welcometothejungle",
                                               "administrator",
                                               "administrator1",
                                               "admin1234567",
                                               "changeme1234",
                                               "changemeplease",
                                               "trustno1trustno1",
                                               "football1234",
                                               "baseball1234",
                                               "monkey123456",
                                               "dragon123456",
                                               "sunshine1234",
                                               "princess1234",
                                               "superman1234",
                                               "starwars1234",
                                               "whatever1234",
                                               "michael12345",
                                               "charlie12345",
                                               "shadow123456",
                                               "abcdefghijkl",
                                               "abcdefgh1234",
                                               "abc123abc123",
                                               "abcd1234abcd",
                                               "aaaaaaaaaaaa",
                                               "correcthorsebatterystaple",
                                               "thequickbrownfox",
                                               "opensesame123",
                                               "secret123456",
                                               "hospital1234",
                                               "hospital2016",
                                               "intensivecare",
                                               "levosimendan",
                                               "leopards1234",
                                               "leopardstrial",
                                               "septicshock1",
                                               "password2016",
                                               "password2024",
                                               "password2025",
                                               "password2026",
                                               "summer2024!!",
                                               "winter2024!!",
                                               "spring2025!!",
                                               "autumn2025!!"};

static bool contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (!strncasecmp(hay, needle, n)) return true;
  return false;
}

lp_status lp_password_acceptable(const char *user, const char *password, lp_error *err) {
  lp_status s = LP_OK;
  size_t n = password ? strlen(password) : 0;
  if (n < LP_PASSWORD_MIN) s = lp_error_set(err, LP_EINVAL, "a password needs at least %d characters", LP_PASSWORD_MIN);
  else if (n > LP_PASSWORD_MAX)
    s = lp_error_set(err, LP_EINVAL, "a password has at most %d characters", LP_PASSWORD_MAX);
  else if (user && *user && contains_nocase(password, user))
    s = lp_error_set(err, LP_EINVAL, "a password may not contain the user name");
  if (!s) {
    for (size_t i = 0; i < sizeof common_passwords / sizeof common_passwords[0]; i++)
      if (!strcasecmp(password, common_passwords[i])) {
        s = lp_error_set(err, LP_EINVAL, "this password is on the list of common passwords; choose another");
        break;
      }
  }
  if (!s) {
    unsigned char seen[256] = {0};
    int distinct = 0;
    for (size_t i = 0; i < n; i++)
      if (!seen[(unsigned char)password[i]]++) distinct++;
    if (distinct < 5) s = lp_error_set(err, LP_EINVAL, "a password needs more than four different characters");
  }
  if (s && err) snprintf(err->field, sizeof err->field, "password");
  return s;
}

/* ---- times ---- */

static double now_secs(lp_trial *t, char *iso, size_t n) {
  lp__now(t, iso, n);
  return lp_parse_iso_days(iso) * 86400.0;
}

static void iso_at(double secs, char *buf, size_t n) {
  time_t tt = (time_t)floor(secs);
  struct tm tm;
  gmtime_r(&tt, &tm);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, (int)((secs - floor(secs)) * 1000) % 1000);
}

/* ---- reading an account ---- */

typedef struct {
  long user_id, account_id; /* account_id 0: no password ever set */
  lp_role role;
  char name[64], site[64];
  bool must_change, active;
  long failed;
  char locked_until[40], created_at[40];
  char hash[crypto_pwhash_STRBYTES];
  char full_name[128];
} account_row;

static lp_role role_of(const char *s) {
  static const char *const names[] = {"investigator", "manager", "statistician", "monitor"};
  for (int i = 0; i < 4; i++)
    if (s && !strcmp(s, names[i])) return (lp_role)i;
  return LP_ROLE_MONITOR; /* fail safe: read-only */
}

static const char *col(sqlite3_stmt *st, int i) {
  const unsigned char *p = sqlite3_column_text(st, i);
  return p ? (const char *)p : "";
}

#define ACCOUNT_SELECT                                                                                \
  "SELECT u.id, u.name, u.role, coalesce(si.code,''), coalesce(a.id,0), coalesce(a.must_change,1),"   \
  " coalesce(a.failed_logins,0), a.locked_until, a.deactivated_at, c.hash, u.created_at, u.full_name" \
  " FROM users u"                                                                                     \
  " LEFT JOIN sites si ON si.id=u.site_id LEFT JOIN accounts a ON a.user_id=u.id"                     \
  " LEFT JOIN credentials c ON c.user_id=u.id"

static void account_from(sqlite3_stmt *st, account_row *r) {
  memset(r, 0, sizeof *r);
  r->user_id = (long)sqlite3_column_int64(st, 0);
  snprintf(r->name, sizeof r->name, "%s", col(st, 1));
  r->role = role_of(col(st, 2));
  snprintf(r->site, sizeof r->site, "%s", col(st, 3));
  r->account_id = (long)sqlite3_column_int64(st, 4);
  r->must_change = sqlite3_column_int(st, 5) != 0;
  r->failed = (long)sqlite3_column_int64(st, 6);
  snprintf(r->locked_until, sizeof r->locked_until, "%s", col(st, 7));
  r->active = sqlite3_column_type(st, 8) == SQLITE_NULL;
  snprintf(r->hash, sizeof r->hash, "%s", col(st, 9));
  snprintf(r->created_at, sizeof r->created_at, "%s", col(st, 10));
  snprintf(r->full_name, sizeof r->full_name, "%s", col(st, 11));
}

/* LP_ENOTFOUND (message without the name's existence leaking is the caller's job). */
static lp_status account_get(lp_trial *t, const char *name, account_row *r, lp_error *err) {
  sqlite3_stmt *st;
  if (!name || !*name) return lp_error_set(err, LP_ENOTFOUND, "no user given");
  if (lp__prepare(t, ACCOUNT_SELECT " WHERE u.name=?", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) account_from(st, r);
  lp__finalize(t, st);
  if (rc == SQLITE_DONE) return lp_error_set(err, LP_ENOTFOUND, "no user '%s'", name);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, "reading an account");
  return LP_OK;
}

static bool locked_now(const account_row *r, double now) {
  return r->locked_until[0] && lp_parse_iso_days(r->locked_until) * 86400.0 > now;
}

static void info_from(const account_row *r, double now, lp_user_info *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", r->name);
  out->role = r->role;
  snprintf(out->site, sizeof out->site, "%s", r->site);
  out->has_password = r->hash[0] != '\0';
  out->must_change = r->must_change;
  out->active = r->active;
  out->locked = locked_now(r, now);
  if (out->locked) snprintf(out->locked_until, sizeof out->locked_until, "%s", r->locked_until);
  snprintf(out->created_at, sizeof out->created_at, "%s", r->created_at);
  snprintf(out->full_name, sizeof out->full_name, "%s", r->full_name);
}

lp_status lp_user_get(lp_trial *t, const char *name, lp_user_info *out, lp_error *err) {
  account_row r;
  lp_status s = account_get(t, name, &r, err);
  if (s) return s;
  char iso[40];
  info_from(&r, now_secs(t, iso, sizeof iso), out);
  return LP_OK;
}

lp_status lp_user_list(lp_trial *t, lp_user_info **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  if (lp__prepare(t, ACCOUNT_SELECT " ORDER BY u.id", &st, err)) return LP_EDB;
  char iso[40];
  double now = now_secs(t, iso, sizeof iso);
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      lp_user_info *p = realloc(*out, cap * sizeof *p);
      if (!p) {
        lp__finalize(t, st);
        free(*out);
        *out = NULL;
        return lp_error_set(err, LP_ENOMEM, "out of memory");
      }
      *out = p;
    }
    account_row r;
    account_from(st, &r);
    info_from(&r, now, &(*out)[(*n)++]);
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(*out);
    *out = NULL;
    *n = 0;
    return lp__db_fail(t, err, "listing users");
  }
  return LP_OK;
}

/* ---- audited account changes (inside a transaction) ---- */

/* Run `sql` (an UPDATE of accounts whose last parameter ?9 is the row id; ?1..?3 bound
 * from a, b, c when given) and audit the change with `reason`. */
static lp_status account_update(lp_trial *t, long id, const char *sql, const char *a, const char *b, const char *c,
                                const char *user, const char *reason, lp_error *err) {
  char *old = NULL;
  lp_status s = lp__row_json(t, "accounts", id, &old, err);
  if (s) return s;
  sqlite3_stmt *st;
  if (lp__prepare(t, sql, &st, err)) {
    free(old);
    return LP_EDB;
  }
  if (a) sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
  if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
  if (c) sqlite3_bind_text(st, 3, c, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 9, id);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(old);
    return lp__db_fail(t, err, "changing an account");
  }
  s = lp__audit_row(t, "accounts", id, old, NULL, user, reason, err);
  free(old);
  return s;
}

static lp_status hash_password(const char *pw, char out[crypto_pwhash_STRBYTES], lp_error *err) {
  if (crypto_pwhash_str(out, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) !=
      0)
    return lp_error_set(err, LP_ENOMEM, "not enough memory to hash a password");
  return LP_OK;
}

/* Store a new hash and the account state that goes with it (inside a transaction). */
static lp_status store_password(lp_trial *t, const account_row *r, const char *hash, bool one_time, const char *by,
                                const char *reason, lp_error *err) {
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "INSERT INTO credentials(user_id, hash) VALUES(?1, ?2)"
                  " ON CONFLICT(user_id) DO UPDATE SET hash=excluded.hash",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_int64(st, 1, r->user_id);
  sqlite3_bind_text(st, 2, hash, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "storing a password");
  if (!r->account_id) {
    if (lp__prepare(t,
                    "INSERT INTO accounts(user_id, must_change, failed_logins, password_set_at,"
                    " password_set_by) VALUES(?,?,0,?,?)",
                    &st, err))
      return LP_EDB;
    sqlite3_bind_int64(st, 1, r->user_id);
    sqlite3_bind_int(st, 2, one_time);
    sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, by, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st);
    lp__finalize(t, st);
    if (rc != SQLITE_DONE) return lp__db_fail(t, err, "creating an account");
    return lp__audit_row(t, "accounts", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, by, reason, err);
  }
  return account_update(t, r->account_id,
                        one_time ? "UPDATE accounts SET must_change=1, failed_logins=0, locked_until=NULL,"
                                   " password_set_at=?1, password_set_by=?2 WHERE id=?9"
                                 : "UPDATE accounts SET must_change=0, failed_logins=0, locked_until=NULL,"
                                   " password_set_at=?1, password_set_by=?2 WHERE id=?9",
                        now, by, NULL, by, reason, err);
}

lp_status lp_user_set_password(lp_trial *t, const char *by, const char *name, const char *password, lp_error *err) {
  account_row r;
  lp_status s;
  if ((s = account_get(t, name, &r, err))) return s;
  if (!r.active) return lp_error_set(err, LP_ESTATE, "user '%s' has been deactivated", name);
  if ((s = lp_password_acceptable(name, password, err))) return s;
  char hash[crypto_pwhash_STRBYTES];
  if ((s = hash_password(password, hash, err))) return s; /* slow: outside the write lock */
  if ((s = lp__begin(t, err))) goto out;
  if ((s = lp__user_may(t, by, LP_DO_MANAGE_USERS, 0, "set passwords", err)) || (s = account_get(t, name, &r, err)) ||
      (s = store_password(t, &r, hash, true, by, "one-time password set", err))) {
    lp__rollback(t);
    goto out;
  }
  s = lp__commit(t, err);
out:
  sodium_memzero(hash, sizeof hash);
  return s;
}

/* ---- sessions ---- */

static void token_hash(const uint8_t raw[32], uint8_t out[32]) {
  crypto_generichash(out, 32, raw, 32, (const uint8_t *)"leopards session", 16);
}

static void csrf_of(const uint8_t raw[32], char hex[LP_TOKEN_HEX + 1]) {
  uint8_t h[32];
  crypto_generichash(h, 32, (const uint8_t *)"leopards csrf", 13, raw, 32);
  lp__hex(h, 32, hex);
}

static lp_status end_sessions(lp_trial *t, long user_id, const char *how, const char *by, lp_error *err);

/* One failure (wrong password): count it, lock at the limit, audit both. */
static lp_status record_failure(lp_trial *t, const lp_account_policy *p, const char *name, const char *what,
                                bool *locked, lp_error *err) {
  lp_status s;
  account_row r;
  char now[40];
  bool already = false;
  if ((s = lp__begin(t, err))) return s;
  double secs = now_secs(t, now, sizeof now);
  if ((s = account_get(t, name, &r, err))) goto fail;
  if (!r.account_id) return lp__commit(t, err);
  already = locked_now(&r, secs);
  char reason[128];
  snprintf(reason, sizeof reason, "%s%s", what, already ? " while locked out" : "");
  if ((s = account_update(t, r.account_id, "UPDATE accounts SET failed_logins=failed_logins+1 WHERE id=?9", NULL, NULL,
                          NULL, name, reason, err)))
    goto fail;
  if (!already && r.failed + 1 >= p->max_failures) {
    char until[40];
    iso_at(secs + 60.0 * p->lockout_minutes, until, sizeof until);
    snprintf(reason, sizeof reason, "account locked after %ld failed logins", r.failed + 1);
    if ((s = account_update(t, r.account_id, "UPDATE accounts SET locked_until=?1 WHERE id=?9", until, NULL, NULL, name,
                            reason, err)))
      goto fail;
    already = true;
  }
  if (locked) *locked = already;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

#define REFUSED "the user name or the password is not right"

/* Check name and password; on failure the failure is recorded. */
static lp_status check_password(lp_trial *t, const lp_account_policy *p, const char *name, const char *password,
                                const char *what, account_row *r, bool *locked, lp_error *err) {
  lp_status s = account_get(t, name, r, NULL);
  if (s == LP_ENOTFOUND || (!s && !r->hash[0])) {
    /* the same work as a real check, so that timing does not say which names exist */
    char dummy[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(dummy, "x", 1, crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE))
      dummy[0] = '\0';
    return lp_error_set(err, LP_EDENIED, REFUSED);
  }
  if (s) return account_get(t, name, r, err);
  char iso[40];
  double now = now_secs(t, iso, sizeof iso);
  if (!r->active) return lp_error_set(err, LP_EDENIED, REFUSED);
  if (locked_now(r, now)) {
    if ((s = record_failure(t, p, name, what, locked, err))) return s;
    if (locked) *locked = true;
    return lp_error_set(err, LP_EDENIED, "the account is locked after repeated failed logins until %s",
                        r->locked_until);
  }
  if (!password || crypto_pwhash_str_verify(r->hash, password, strlen(password)) != 0) {
    bool now_locked = false;
    if ((s = record_failure(t, p, name, what, &now_locked, err))) return s;
    if (locked) *locked = now_locked;
    if (now_locked)
      return lp_error_set(err, LP_EDENIED, "the account is now locked for %d minutes after %d failed logins",
                          p->lockout_minutes, p->max_failures);
    return lp_error_set(err, LP_EDENIED, REFUSED);
  }
  return LP_OK;
}

/* A session or API token row (audited with `reason`) and its token's hash, kept apart
 * in session_secrets so that no hash enters the trail or an export. Inside the caller's
 * transaction; `what` names the step in a database error. */
static lp_status insert_session(lp_trial *t, long user_id, const char *kind, const char *now, const char *expires,
                                const char *label, const unsigned char th[32], const char *user, const char *reason,
                                const char *what, long *sid, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s;
  if ((s = lp__prepare(t, "INSERT INTO sessions(user_id, kind, opened_at, expires_at, label) VALUES(?,?,?,?,?)", &st,
                       err)))
    return s;
  sqlite3_bind_int64(st, 1, user_id);
  sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, expires, -1, SQLITE_STATIC);
  if (label) sqlite3_bind_text(st, 5, label, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, 5);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, what);
  *sid = (long)sqlite3_last_insert_rowid(t->db);
  if ((s = lp__audit_row(t, "sessions", *sid, NULL, NULL, user, reason, err))) return s;
  if ((s = lp__prepare(t, "INSERT INTO session_secrets(session_id, token_hash, last_seen) VALUES(?,?,?)", &st, err)))
    return s;
  sqlite3_bind_int64(st, 1, *sid);
  sqlite3_bind_blob(st, 2, th, 32, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, what);
}

lp_status lp_session_login(lp_trial *t, const lp_account_policy *p, const char *user, const char *password,
                           char token[LP_TOKEN_HEX + 1], lp_identity *who, bool *locked, lp_error *err) {
  account_row r;
  lp_status s;
  if (locked) *locked = false;
  token[0] = '\0';
  if ((s = check_password(t, p, user, password, "failed login", &r, locked, err))) return s;
  uint8_t raw[32], th[32];
  randombytes_buf(raw, sizeof raw);
  token_hash(raw, th);
  char now[40], expires[40];
  double secs = now_secs(t, now, sizeof now);
  iso_at(secs + 3600.0 * p->absolute_hours, expires, sizeof expires);
  if ((s = lp__begin(t, err))) goto out;
  if (r.failed &&
      (s = account_update(t, r.account_id, "UPDATE accounts SET failed_logins=0, locked_until=NULL WHERE id=?9", NULL,
                          NULL, NULL, user, "login: failure count reset", err)))
    goto fail;
  long sid;
  if ((s = insert_session(t, r.user_id, "session", now, expires, NULL, th, user, "login", "opening a session", &sid,
                          err)))
    goto fail;
  if ((s = lp__commit(t, err))) goto out;
  lp__hex(raw, 32, token);
  if (who) {
    memset(who, 0, sizeof *who);
    snprintf(who->user, sizeof who->user, "%s", r.name);
    who->role = r.role;
    snprintf(who->site, sizeof who->site, "%s", r.site);
    who->must_change = r.must_change;
    who->session = sid;
    snprintf(who->expires_at, sizeof who->expires_at, "%s", expires);
    csrf_of(raw, who->csrf);
  }
  goto out;
fail:
  lp__rollback(t);
out:
  sodium_memzero(raw, sizeof raw);
  return s;
}

static lp_status parse_token(const char *token, uint8_t raw[32], lp_error *err) {
  if (!token || strlen(token) != LP_TOKEN_HEX || !lp__unhex(token, raw, 32))
    return lp_error_set(err, LP_EDENIED, "not logged in");
  return LP_OK;
}

lp_status lp_session_check(lp_trial *t, const lp_account_policy *p, const char *token, lp_identity *who,
                           lp_error *err) {
  uint8_t raw[32], th[32];
  if (parse_token(token, raw, err)) return LP_EDENIED;
  token_hash(raw, th);
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT s.id, s.expires_at, s.ended_at, x.last_seen, u.name FROM session_secrets x"
                  " JOIN sessions s ON s.id=x.session_id JOIN users u ON u.id=s.user_id WHERE x.token_hash=?",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_blob(st, 1, th, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  long sid = 0;
  char expires[40] = "", last[40] = "", name[64] = "";
  bool ended = false;
  if (rc == SQLITE_ROW) {
    sid = (long)sqlite3_column_int64(st, 0);
    snprintf(expires, sizeof expires, "%s", col(st, 1));
    ended = sqlite3_column_type(st, 2) != SQLITE_NULL;
    snprintf(last, sizeof last, "%s", col(st, 3));
    snprintf(name, sizeof name, "%s", col(st, 4));
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading a session");
  if (rc == SQLITE_DONE || ended) return lp_error_set(err, LP_EDENIED, "not logged in");
  char now[40];
  double secs = now_secs(t, now, sizeof now);
  if (secs >= lp_parse_iso_days(expires) * 86400.0)
    return lp_error_set(err, LP_EDENIED, "the session has reached its %d-hour limit: log in again", p->absolute_hours);
  double idle = secs - lp_parse_iso_days(last) * 86400.0;
  if (idle > 60.0 * p->idle_minutes)
    return lp_error_set(err, LP_EDENIED, "the session ended after %d minutes without use: log in again",
                        p->idle_minutes);
  account_row r;
  lp_status s = account_get(t, name, &r, err);
  if (s) return s;
  if (!r.active) return lp_error_set(err, LP_EDENIED, "the account has been deactivated");
  if (idle > 60.0) { /* the idle clock, to the minute: at most one write a minute per session,
                      * queued with the other writers (a lone UPDATE would poll for the lock) */
    if ((s = lp__begin(t, err))) return s;
    if (lp__prepare(t, "UPDATE session_secrets SET last_seen=? WHERE session_id=?", &st, err)) {
      lp__rollback(t);
      return LP_EDB;
    }
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, sid);
    rc = sqlite3_step(st);
    lp__finalize(t, st);
    if (rc != SQLITE_DONE) {
      lp__rollback(t);
      return lp__db_fail(t, err, "noting a session's use");
    }
    if ((s = lp__commit(t, err))) return s;
  }
  if (who) {
    memset(who, 0, sizeof *who);
    snprintf(who->user, sizeof who->user, "%s", r.name);
    who->role = r.role;
    snprintf(who->site, sizeof who->site, "%s", r.site);
    who->must_change = r.must_change;
    who->session = sid;
    snprintf(who->expires_at, sizeof who->expires_at, "%s", expires);
    csrf_of(raw, who->csrf);
  }
  return LP_OK;
}

/* End one session row (inside a transaction), audited. */
static lp_status end_session_row(lp_trial *t, long sid, const char *how, const char *by, lp_error *err) {
  char *old = NULL, now[40];
  lp__now(t, now, sizeof now);
  lp_status s = lp__row_json(t, "sessions", sid, &old, err);
  if (s) return s;
  sqlite3_stmt *st;
  if (lp__prepare(t, "UPDATE sessions SET ended_at=?, ended_how=? WHERE id=? AND ended_at IS NULL", &st, err)) {
    free(old);
    return LP_EDB;
  }
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, how, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, sid);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(old);
    return lp__db_fail(t, err, "ending a session");
  }
  s = lp__audit_row(t, "sessions", sid, old, NULL, by, how, err);
  free(old);
  return s;
}

static lp_status end_sessions(lp_trial *t, long user_id, const char *how, const char *by, lp_error *err) {
  sqlite3_stmt *st;
  long ids[256];
  size_t n = 0;
  if (lp__prepare(t, "SELECT id FROM sessions WHERE user_id=? AND ended_at IS NULL", &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, user_id);
  while (n < 256 && sqlite3_step(st) == SQLITE_ROW) ids[n++] = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  for (size_t i = 0; i < n; i++) {
    lp_status s = end_session_row(t, ids[i], how, by, err);
    if (s) return s;
  }
  return LP_OK;
}

lp_status lp_session_logout(lp_trial *t, const char *token, lp_error *err) {
  lp_account_policy p;
  lp_account_policy_default(&p);
  p.idle_minutes = p.absolute_hours * 60; /* an idle session can still be ended */
  lp_identity who;
  lp_status s = lp_session_check(t, &p, token, &who, err);
  if (s) return s;
  if ((s = lp__begin(t, err))) return s;
  if ((s = end_session_row(t, who.session, "logout", who.user, err))) {
    lp__rollback(t);
    return s;
  }
  return lp__commit(t, err);
}

lp_status lp_password_confirm(lp_trial *t, const lp_account_policy *p, const char *user, const char *password,
                              lp_error *err) {
  account_row r;
  bool locked = false;
  return check_password(t, p, user, password, "wrong password given again", &r, &locked, err);
}

lp_status lp_password_change(lp_trial *t, const lp_account_policy *p, const char *user, const char *current,
                             const char *new_password, lp_error *err) {
  account_row r;
  lp_status s;
  bool locked = false;
  if ((s = check_password(t, p, user, current, "wrong current password at a password change", &r, &locked, err))) {
    if (err) snprintf(err->field, sizeof err->field, "current");
    return s;
  }
  if ((s = lp_password_acceptable(user, new_password, err))) {
    if (err) snprintf(err->field, sizeof err->field, "new");
    return s;
  }
  if (!strcmp(current, new_password)) {
    s = lp_error_set(err, LP_EINVAL, "the new password must differ from the current one");
    if (err) snprintf(err->field, sizeof err->field, "new");
    return s;
  }
  char hash[crypto_pwhash_STRBYTES];
  if ((s = hash_password(new_password, hash, err))) return s;
  if ((s = lp__begin(t, err))) goto out;
  if ((s = account_get(t, user, &r, err)) ||
      (s = store_password(t, &r, hash, false, user, "password changed by its user", err))) {
    lp__rollback(t);
    goto out;
  }
  s = lp__commit(t, err);
out:
  sodium_memzero(hash, sizeof hash);
  return s;
}

/* The full name as stored: blanks at either end dropped; "" to clear. */
static lp_status full_name_of(const char *in, char out[LP_FULL_NAME_MAX + 1], lp_error *err) {
  out[0] = '\0';
  if (!in) return LP_OK;
  while (*in == ' ' || *in == '\t') in++;
  size_t n = strlen(in);
  while (n && (in[n - 1] == ' ' || in[n - 1] == '\t')) n--;
  if (n > LP_FULL_NAME_MAX)
    return lp__with_field(
        err, "full_name",
        lp_error_set(err, LP_EINVAL, "a full name has at most %d bytes (this one has %zu)", LP_FULL_NAME_MAX, n));
  memcpy(out, in, n);
  out[n] = '\0';
  if (n == 0) return LP_OK; /* cleared */
  if (n == 1)
    return lp__with_field(err, "full_name", lp_error_set(err, LP_EINVAL, "a full name has at least two characters"));
  lp_status s = lp_text_check_identifier(out, "the full name", LP_FULL_NAME_MAX, err);
  if (s && err) snprintf(err->field, sizeof err->field, "full_name");
  return s;
}

lp_status lp_user_set_full_name(lp_trial *t, const char *by, const char *name, const char *full_name, lp_error *err) {
  char fn[LP_FULL_NAME_MAX + 1];
  lp_status s = full_name_of(full_name, fn, err);
  if (s) return s;
  account_row r;
  char *old = NULL;
  sqlite3_stmt *st;
  int rc;
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err)) ||
      (s = lp__user_may(t, by, LP_DO_MANAGE_USERS, 0, "record users' full names", err)) ||
      (s = account_get(t, name, &r, err)))
    goto fail;
  if (!strcmp(r.full_name, fn)) return lp__commit(t, err); /* nothing to change */
  if ((s = lp__row_json(t, "users", r.user_id, &old, err))) goto fail;
  if ((s = lp__prepare(t, "UPDATE users SET full_name=? WHERE id=?", &st, err))) {
    free(old);
    goto fail;
  }
  if (fn[0]) sqlite3_bind_text(st, 1, fn, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null(st, 1);
  sqlite3_bind_int64(st, 2, r.user_id);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  s = rc == SQLITE_DONE
          ? lp__audit_row(t, "users", r.user_id, old, NULL, by, fn[0] ? "full name recorded" : "full name cleared", err)
          : lp__db_fail(t, err, "recording a full name");
  free(old);
  if (s) goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

lp_status lp_user_deactivate(lp_trial *t, const char *by, const char *name, const char *reason, lp_error *err) {
  lp_status s;
  account_row r;
  if (!reason || !*reason) {
    s = lp_error_set(err, LP_EINVAL, "a deactivation needs a reason");
    if (err) snprintf(err->field, sizeof err->field, "reason");
    return s;
  }
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__user_may(t, by, LP_DO_MANAGE_USERS, 0, "deactivate users", err)) || (s = account_get(t, name, &r, err)))
    goto fail;
  if (!strcmp(by, name)) {
    s = lp_error_set(err, LP_ESTATE, "a trial manager may not deactivate their own account");
    goto fail;
  }
  if (!r.active) {
    s = lp_error_set(err, LP_ESTATE, "user '%s' is already deactivated", name);
    goto fail;
  }
  char now[40];
  lp__now(t, now, sizeof now);
  if (!r.account_id) { /* never had a password: an account row records the deactivation */
    sqlite3_stmt *st;
    if ((s = lp__prepare(t,
                         "INSERT INTO accounts(user_id, must_change, failed_logins, password_set_at,"
                         " password_set_by, deactivated_at, deactivated_by) VALUES(?,1,0,?,?,?,?)",
                         &st, err)))
      goto fail;
    sqlite3_bind_int64(st, 1, r.user_id);
    sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, by, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, by, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    lp__finalize(t, st);
    if (rc != SQLITE_DONE) {
      s = lp__db_fail(t, err, "deactivating a user");
      goto fail;
    }
    if ((s = lp__audit_row(t, "accounts", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, by, reason, err)))
      goto fail;
  } else if ((s = account_update(t, r.account_id,
                                 "UPDATE accounts SET deactivated_at=?1, deactivated_by=?2 WHERE id=?9", now, by, NULL,
                                 by, reason, err)) ||
             (s = end_sessions(t, r.user_id, "account deactivated", by, err))) {
    goto fail;
  }
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

lp_status lp_access_refused(lp_trial *t, const char *user, lp_action what, const char *site, const char *patient,
                            lp_error *err) {
  lp_status s;
  char now[40];
  if ((s = lp__begin(t, err))) return s;
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  int rc = SQLITE_OK;
  if ((s = lp__prepare(t, "INSERT INTO refusals(at, user, action, site, patient) VALUES(?,?,?,?,?)", &st, err)))
    goto fail;
  sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, user ? user : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, lp_action_name(what), -1, SQLITE_STATIC);
  if (site) sqlite3_bind_text(st, 4, site, -1, SQLITE_TRANSIENT);
  if (patient) sqlite3_bind_text(st, 5, patient, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "recording a refusal");
    goto fail;
  }
  if ((s = lp__audit_row(t, "refusals", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, user ? user : "", "refused",
                         err)))
    goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

lp_status lp__user_may(lp_trial *t, const char *user, int what, long site_id, const char *verb, lp_error *err) {
  if (!user || !*user) return lp__with_field(err, "user", lp_error_set(err, LP_EINVAL, "no user given to %s", verb));
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  t->schema_version >= 4 ? "SELECT u.role, coalesce(si.code,''), (SELECT deactivated_at FROM"
                                           " accounts WHERE user_id=u.id) FROM users u LEFT JOIN sites si ON"
                                           " si.id=u.site_id WHERE u.name=?"
                                         : "SELECT u.role, coalesce(si.code,''), NULL FROM users u LEFT JOIN"
                                           " sites si ON si.id=u.site_id WHERE u.name=?",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  char role_text[32] = "", own[64] = "";
  bool inactive = false;
  if (rc == SQLITE_ROW) {
    snprintf(role_text, sizeof role_text, "%s", col(st, 0));
    snprintf(own, sizeof own, "%s", col(st, 1));
    inactive = sqlite3_column_type(st, 2) != SQLITE_NULL;
  }
  lp__finalize(t, st);
  if (rc == SQLITE_DONE)
    return lp_error_set(err, LP_EDENIED, "%s: user '%s' is not registered in this trial", t->path, user);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, "looking up a user");
  if (inactive) return lp_error_set(err, LP_EDENIED, "user '%s' has been deactivated and may not %s", user, verb);
  lp_role role = role_of(role_text);
  if (!lp_access_role_has(role, (lp_action)what))
    return lp_error_set(err, LP_EDENIED, "user '%s' (%s) may not %s", user, role_text, verb);
  char target[64] = "";
  if (site_id > 0 && lp__site_code(t, site_id, target, sizeof target, err)) return LP_EINTEGRITY;
  if (lp_access_check(role, own, (lp_action)what, target[0] ? target : NULL, NULL))
    return lp_error_set(err, LP_EDENIED, "user '%s' is %s of another site and may not %s%s%s", user,
                        role == LP_ROLE_INVESTIGATOR ? "an investigator" : "a monitor", verb,
                        target[0] ? " at site " : "", target);
  return LP_OK;
}

/* ---- personal API tokens ----
 * A token for automation: "lpt_" and 64 hex digits (256 random bits), so that it is
 * never taken for a session token (a cookie or bearer session token is 64 hex digits
 * alone) and a session token never for it. Stored as a `sessions` row of kind 'api'
 * with its label (audited) and the hash of the token in `session_secrets`; shown once,
 * at creation. It lasts until its expiry or its revocation, with no idle limit. */

static void api_token_hash(const uint8_t raw[32], uint8_t out[32]) {
  crypto_generichash(out, 32, raw, 32, (const uint8_t *)"leopards api token", 18);
}

lp_status lp_api_token_create(lp_trial *t, const char *user, const char *label, int days,
                              char token[LP_API_TOKEN_LEN + 1], long *id, lp_error *err) {
  account_row r;
  lp_status s;
  token[0] = '\0';
  if (!label || !*label || strlen(label) > 80)
    return lp__with_field(err, "label",
                          lp_error_set(err, LP_EINVAL,
                                       "an API token needs a label of 1 to 80 "
                                       "characters saying what it is for"));
  if (days < 1 || days > 3660)
    return lp__with_field(err, "days", lp_error_set(err, LP_EINVAL, "an API token lasts 1 to 3660 days"));
  if ((s = lp_text_check_identifier(label, "the label", 80, err))) return lp__with_field(err, "label", s);
  uint8_t raw[32], th[32];
  randombytes_buf(raw, sizeof raw);
  api_token_hash(raw, th);
  char now[40], expires[40];
  double secs = now_secs(t, now, sizeof now);
  iso_at(secs + 86400.0 * days, expires, sizeof expires);
  if ((s = lp__begin(t, err))) goto out;
  if ((s = account_get(t, user, &r, err))) goto fail;
  if (!r.active || !r.account_id || r.must_change) {
    s = lp_error_set(err, LP_EDENIED,
                     "user '%s' needs an active account with their own password to hold API "
                     "tokens",
                     user);
    goto fail;
  }
  long sid;
  if ((s = insert_session(t, r.user_id, "api", now, expires, label, th, user, "API token created",
                          "creating an API token", &sid, err)))
    goto fail;
  if ((s = lp__commit(t, err))) goto out;
  memcpy(token, "lpt_", 4);
  lp__hex(raw, 32, token + 4);
  if (id) *id = sid;
  goto out;
fail:
  lp__rollback(t);
out:
  sodium_memzero(raw, sizeof raw);
  return s;
}

lp_status lp_api_token_check(lp_trial *t, const char *token, lp_identity *who, lp_error *err) {
  uint8_t raw[32], th[32];
  if (!token || strlen(token) != LP_API_TOKEN_LEN || strncmp(token, "lpt_", 4) || !lp__unhex(token + 4, raw, 32))
    return lp_error_set(err, LP_EDENIED, "not a valid API token");
  api_token_hash(raw, th);
  sodium_memzero(raw, sizeof raw);
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT s.id, s.expires_at, s.ended_at, x.last_seen, u.name FROM session_secrets x"
                  " JOIN sessions s ON s.id=x.session_id JOIN users u ON u.id=s.user_id"
                  " WHERE x.token_hash=? AND s.kind='api'",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_blob(st, 1, th, 32, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  long sid = 0;
  char expires[40] = "", last[40] = "", name[64] = "";
  bool ended = false;
  if (rc == SQLITE_ROW) {
    sid = (long)sqlite3_column_int64(st, 0);
    snprintf(expires, sizeof expires, "%s", col(st, 1));
    ended = sqlite3_column_type(st, 2) != SQLITE_NULL;
    snprintf(last, sizeof last, "%s", col(st, 3));
    snprintf(name, sizeof name, "%s", col(st, 4));
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading an API token");
  if (rc == SQLITE_DONE) return lp_error_set(err, LP_EDENIED, "not a valid API token");
  if (ended) return lp_error_set(err, LP_EDENIED, "this API token has been revoked");
  char now[40];
  double secs = now_secs(t, now, sizeof now);
  if (secs >= lp_parse_iso_days(expires) * 86400.0)
    return lp_error_set(err, LP_EDENIED, "this API token expired on %.10s", expires);
  account_row r;
  lp_status s = account_get(t, name, &r, err);
  if (s) return s;
  if (!r.active) return lp_error_set(err, LP_EDENIED, "the account has been deactivated");
  if (secs - lp_parse_iso_days(last) * 86400.0 > 60.0) { /* last use, to the minute */
    if ((s = lp__begin(t, err))) return s;
    if (lp__prepare(t, "UPDATE session_secrets SET last_seen=? WHERE session_id=?", &st, err)) {
      lp__rollback(t);
      return LP_EDB;
    }
    sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, sid);
    rc = sqlite3_step(st);
    lp__finalize(t, st);
    if (rc != SQLITE_DONE) {
      lp__rollback(t);
      return lp__db_fail(t, err, "noting an API token's use");
    }
    if ((s = lp__commit(t, err))) return s;
  }
  if (who) {
    memset(who, 0, sizeof *who);
    snprintf(who->user, sizeof who->user, "%s", r.name);
    who->role = r.role;
    snprintf(who->site, sizeof who->site, "%s", r.site);
    who->must_change = r.must_change;
    who->session = sid;
    who->api_token = true;
    snprintf(who->expires_at, sizeof who->expires_at, "%s", expires);
  }
  return LP_OK;
}

lp_status lp_api_token_list(lp_trial *t, const char *user, lp_api_token_info **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT s.id, coalesce(s.label,''), s.opened_at, s.expires_at, s.ended_at, x.last_seen, u.name"
                  " FROM sessions s JOIN users u ON u.id=s.user_id LEFT JOIN session_secrets x ON"
                  " x.session_id=s.id WHERE s.kind='api' AND (?1 IS NULL OR u.name=?1) ORDER BY s.id",
                  &st, err))
    return LP_EDB;
  if (user) sqlite3_bind_text(st, 1, user, -1, SQLITE_TRANSIENT);
  size_t cap = 0;
  int rc;
  lp_status s = LP_OK;
  char now[40];
  double secs = now_secs(t, now, sizeof now);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 8;
      lp_api_token_info *p = realloc(*out, cap * sizeof *p);
      if (!p) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory listing API tokens");
        break;
      }
      *out = p;
    }
    lp_api_token_info *x = &(*out)[(*n)++];
    memset(x, 0, sizeof *x);
    x->id = (long)sqlite3_column_int64(st, 0);
    snprintf(x->label, sizeof x->label, "%s", col(st, 1));
    snprintf(x->created_at, sizeof x->created_at, "%s", col(st, 2));
    snprintf(x->expires_at, sizeof x->expires_at, "%s", col(st, 3));
    x->revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
    snprintf(x->revoked_at, sizeof x->revoked_at, "%s", col(st, 4));
    snprintf(x->last_used, sizeof x->last_used, "%s", col(st, 5));
    snprintf(x->user, sizeof x->user, "%s", col(st, 6));
    x->expired = secs >= lp_parse_iso_days(x->expires_at) * 86400.0;
  }
  if (!s && rc != SQLITE_DONE) s = lp__db_fail(t, err, "listing API tokens");
  lp__finalize(t, st);
  if (s) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return s;
}

lp_status lp_api_token_revoke(lp_trial *t, const char *by, long id, lp_error *err) {
  lp_status s;
  if ((s = lp__begin(t, err))) return s;
  sqlite3_stmt *st;
  int rc = SQLITE_OK;
  char owner[64] = "";
  bool ended = false;
  if ((s = lp__prepare(t,
                       "SELECT u.name, s.ended_at FROM sessions s JOIN users u ON u.id=s.user_id"
                       " WHERE s.id=? AND s.kind='api'",
                       &st, err)))
    goto fail;
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(owner, sizeof owner, "%s", col(st, 0));
    ended = sqlite3_column_type(st, 1) != SQLITE_NULL;
  }
  lp__finalize(t, st);
  if (rc == SQLITE_DONE) {
    s = lp_error_set(err, LP_ENOTFOUND, "no API token %ld", id);
    goto fail;
  }
  if (rc != SQLITE_ROW) {
    s = lp__db_fail(t, err, "reading an API token");
    goto fail;
  }
  /* the holder revokes their own; a trial manager anyone's */
  if (strcmp(owner, by ? by : "") &&
      (s = lp__user_may(t, by, LP_DO_MANAGE_USERS, 0, "revoke another user's API token", err)))
    goto fail;
  if (ended) {
    s = lp_error_set(err, LP_ESTATE, "API token %ld is revoked already", id);
    goto fail;
  }
  if ((s = end_session_row(t, id, "API token revoked", by, err))) goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}
