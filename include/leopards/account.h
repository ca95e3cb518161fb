/* leopards accounts: passwords (argon2id), sessions, lockout and deactivation for the
 * web service, and the one rule of who may do what at which site, which the command
 * line and the server both ask. Every login, logout, failed login, lockout, password
 * change and deactivation is in the audit trail; no password, hash or token is. */
#ifndef LEOPARDS_ACCOUNT_H
#define LEOPARDS_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>
#include <leopards/trial.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- who may do what ---- */

typedef enum {
  LP_DO_SCREEN,       /* record a screening (investigator, own site) */
  LP_DO_RANDOMISE,    /* randomise (investigator, own site) */
  LP_DO_VIEW_PATIENT, /* read a patient's page (investigator own site; manager; monitor) */
  LP_DO_VIEW_STATUS,  /* recruitment and completeness (investigator own site; manager; monitor) */
  LP_DO_VIEW_AUDIT,   /* the audit trail (investigator own site; manager; monitor) */
  LP_DO_UNBLIND,      /* emergency unblinding (investigator own site; manager; statistician) */
  LP_DO_MANAGE_USERS, /* register, set passwords, deactivate (manager) */
  LP_DO_MANAGE_SITES, /* add or close sites (manager) */
  LP_DO_LOCK,         /* lock the database (manager, statistician) */
  LP_DO_LIST,         /* the list's status and extension (statistician) */
  LP_DO_REPORTS,      /* reports (statistician) */
  LP_DO_CONSENT,      /* record a patient's consent (investigator, own site) */
  LP_DO_RECORD,       /* record, correct or delete patient data (investigator own site; manager) */
  LP_DO_QUERY_RAISE,  /* raise a data query by hand (monitor; manager) */
  LP_DO_QUERY_ANSWER, /* answer a query: correct the value or explain it (investigator, own site) */
  LP_DO_QUERY_CLOSE,  /* close or re-open a query (monitor; manager) */
  LP_DO_VERIFY,       /* source data verification of a form (monitor) */
  LP_DO_SIGN,         /* sign a patient's casebook (investigator own site, marked as its PI) */
  LP_DO_COUNT
} lp_action;
const char *lp_action_name(lp_action a);
/* Does the role ever have this action (at some site)? */
bool lp_access_role_has(lp_role role, lp_action what);

/* The rule: may a user of `role` (belonging to `own_site`, NULL for none) do `what`
 * concerning `target_site` (NULL: all sites, or no site in particular)? LP_OK or
 * LP_EDENIED with a message saying why. A site-bound user (an investigator, or a
 * monitor registered with a site) is refused anything concerning another site or
 * all sites. Pure: reads nothing. */
lp_status lp_access_check(lp_role role, const char *own_site, lp_action what, const char *target_site, lp_error *err);

/* Record in the audit trail that `user` was refused `what` (at `site`, for `patient`,
 * either may be NULL): a request for another site's data, say. */
lp_status lp_access_refused(lp_trial *t, const char *user, lp_action what, const char *site, const char *patient,
                            lp_error *err);

/* ---- policy ---- */

typedef struct lp_account_policy {
  int max_failures;    /* failed logins in a row that lock the account (5) */
  int lockout_minutes; /* how long it stays locked (15) */
  int idle_minutes;    /* a session ends after this long unused (30) */
  int absolute_hours;  /* and in any case after this long (12) */
} lp_account_policy;
void lp_account_policy_default(lp_account_policy *p);

/* Passwords: at least 12 characters (at most 128), not the user's name (nor containing
 * it), not in the list of common passwords shipped with leopards, and more than four
 * different characters. LP_EINVAL saying which rule failed (field "password"). */
#define LP_PASSWORD_MIN 12
#define LP_PASSWORD_MAX 128
lp_status lp_password_acceptable(const char *user, const char *password, lp_error *err);

/* ---- accounts ---- */

typedef struct lp_user_info {
  char name[64];
  lp_role role;
  char site[64]; /* "" when none */
  bool has_password;
  bool must_change; /* the password is a one-time one */
  bool locked;      /* locked out now */
  bool active;      /* not deactivated */
  char locked_until[40];
  char created_at[40];
  char full_name[128]; /* the printed name signatures show; "" until recorded */
} lp_user_info;
/* One user (LP_ENOTFOUND when absent), or all of them (`*out` malloc'ed). */
lp_status lp_user_get(lp_trial *t, const char *name, lp_user_info *out, lp_error *err);
lp_status lp_user_list(lp_trial *t, lp_user_info **out, size_t *n, lp_error *err);

/* A manager (`by`) sets a one-time password for `name`: acceptable as above; the user
 * must choose their own at first login. Clears a lockout. Audited (never the hash). */
lp_status lp_user_set_password(lp_trial *t, const char *by, const char *name, const char *password, lp_error *err);
/* A manager (`by`) records the full (printed) name of `name`, as signatures show it
 * (21 CFR 11.50): printable UTF-8 text of 2 to 127 bytes, not only blanks; "" or NULL
 * clears it. Audited with the user's old and new row. */
#define LP_FULL_NAME_MAX 127
lp_status lp_user_set_full_name(lp_trial *t, const char *by, const char *name, const char *full_name, lp_error *err);
/* A manager deactivates a user (never deleted): their sessions end, they can no longer
 * log in nor act. `reason` is required. */
lp_status lp_user_deactivate(lp_trial *t, const char *by, const char *name, const char *reason, lp_error *err);

/* ---- sessions ---- */

#define LP_TOKEN_HEX 64 /* a session token is 256 random bits, 64 hex digits */

typedef struct lp_identity {
  char user[64];
  lp_role role;
  char site[64];    /* "" when the user belongs to no site */
  bool must_change; /* only a password change is allowed until it is done */
  long session;     /* session id (as in the audit trail) */
  char expires_at[40];
  char csrf[LP_TOKEN_HEX + 1]; /* the session's anti-forgery token ("" for an API token) */
  bool api_token;              /* authenticated by a personal API token, not a login session */
} lp_identity;

/* Check a password and open a session: `token` receives the new token (keep it; only
 * its hash is stored). Refusals are LP_EDENIED with one message for an unknown user,
 * a wrong password and a deactivated account; `*locked` is set when the account is
 * locked out (then LP_EDENIED too). Each failure counts toward the lockout and is
 * audited; reaching the limit locks the account (audited). */
lp_status lp_session_login(lp_trial *t, const lp_account_policy *p, const char *user, const char *password,
                           char token[LP_TOKEN_HEX + 1], lp_identity *who, bool *locked, lp_error *err);
/* Who holds this token: LP_EDENIED when unknown, ended, idle too long or past its
 * lifetime, or when the user was deactivated. Writes only when the recorded last use is
 * more than a minute old (the idle time is measured to the minute). */
lp_status lp_session_check(lp_trial *t, const lp_account_policy *p, const char *token, lp_identity *who, lp_error *err);
/* End the session (audited). Ending an ended or unknown session is LP_EDENIED. */
lp_status lp_session_logout(lp_trial *t, const char *token, lp_error *err);
/* Is this the user's password? (asked again before an unblinding). A wrong one counts
 * toward the lockout like a failed login. LP_EDENIED when not. */
lp_status lp_password_confirm(lp_trial *t, const lp_account_policy *p, const char *user, const char *password,
                              lp_error *err);
/* The user changes their own password, giving the current one. Audited. */
lp_status lp_password_change(lp_trial *t, const lp_account_policy *p, const char *user, const char *current,
                             const char *new_password, lp_error *err);

/* ---- personal API tokens (automation) ----
 * Long-lived, shown once (at creation), stored only as a hash, revocable, audited; a
 * token is "lpt_" and 64 hex digits and is never accepted as a session token (nor a
 * session token as an API token). Used as `Authorization: Bearer`. */
#define LP_API_TOKEN_LEN 68
typedef struct lp_api_token_info {
  long id;
  char user[64];
  char label[96];
  char created_at[40], expires_at[40], last_used[40], revoked_at[40];
  bool revoked, expired;
} lp_api_token_info;
/* A token for `user` themself (an active account with their own password), labelled
 * with what it is for, lasting `days` (1 to 3660). `token` receives it: keep it. */
lp_status lp_api_token_create(lp_trial *t, const char *user, const char *label, int days,
                              char token[LP_API_TOKEN_LEN + 1], long *id, lp_error *err);
/* Who holds this token: LP_EDENIED when unknown, revoked, expired, or the account is
 * deactivated. Writes its last use at most once a minute. */
lp_status lp_api_token_check(lp_trial *t, const char *token, lp_identity *who, lp_error *err);
/* The tokens of `user` (NULL: everyone's), revoked and expired ones included; `*out`
 * malloc'ed. Never the tokens themselves. */
lp_status lp_api_token_list(lp_trial *t, const char *user, lp_api_token_info **out, size_t *n, lp_error *err);
/* Revoke token `id`: its holder, or a trial manager. Audited. */
lp_status lp_api_token_revoke(lp_trial *t, const char *by, long id, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
