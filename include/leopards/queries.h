/* leopards queries: data queries (open -> answered -> closed, or re-opened) on one
 * field of one record, raised by a soft edit check or by hand; source data
 * verification of forms by monitors (cleared by any later change); the site's
 * principal investigator; electronic signatures of a casebook and of the lock (21 CFR
 * Part 11 11.50, 11.70, 11.200): printed name, time and meaning, bound to a hash of
 * what was signed, so that a later change invalidates the signature visibly. Every
 * step is attributed and audited. */
#ifndef LEOPARDS_QUERIES_H
#define LEOPARDS_QUERIES_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/account.h>
#include <leopards/core.h>
#include <leopards/trial.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- queries ---- */

typedef enum { LP_QUERY_OPEN, LP_QUERY_ANSWERED, LP_QUERY_CLOSED } lp_query_state;
const char *lp_query_state_name(lp_query_state s); /* "open", "answered", "closed" */
lp_status lp_query_state_parse(const char *name, lp_query_state *out, lp_error *err);

typedef struct lp_query {
  long id;
  char patient[64], site[64];
  char form[16]; /* record kind: baseline, daily, infusion, outcome, ae */
  int day;       /* the daily form's day, else 0 */
  long record;   /* the row of a repeating form (infusion event, adverse event), else 0 */
  char field[64];
  lp_query_state state;
  char origin[8]; /* "check" (a soft edit check) or "manual" */
  char text[512];
  char opened_at[40], opened_by[64];
  char answer[512], answered_at[40], answered_by[64]; /* "" until answered */
  char old_value[128], new_value[128];                /* a correction: the value before and after ("" when explained) */
  char closed_at[40], closed_by[64];
  long reopened;         /* times re-opened */
  char reopen_text[512]; /* why it was last re-opened */
} lp_query;

/* A query by hand on `field` of the patient's `form` record (day for the daily form;
 * `record`, the row id, for an infusion event or an adverse event), by a monitor or a
 * trial manager. The record must exist and the field must be one of the form's. */
lp_status lp_query_open(lp_trial *t, const char *patient, lp_record_kind form, int day, long record, const char *field,
                        const char *text, const char *user, long *id, lp_error *err);
/* The site answers (an investigator of the patient's site): with `value` (text, as a
 * CSV cell would give it) the field is corrected through the same edit checks as any
 * record, with `reason` required; without, `text` explains the value. An open or a
 * re-opened query becomes answered. Findings of the correction go to `out` (may be
 * NULL). */
lp_status lp_query_answer(lp_trial *t, long id, const char *text, const char *value, const char *reason,
                          const char *user, lp_findings *out, lp_error *err);
/* Close (open or answered) or re-open (answered or closed) a query: a monitor or a
 * trial manager; `text` (why, may be NULL) is kept with the step. */
lp_status lp_query_close(lp_trial *t, long id, const char *text, const char *user, lp_error *err);
lp_status lp_query_reopen(lp_trial *t, long id, const char *text, const char *user, lp_error *err);

typedef struct lp_query_filter {
  const char *site, *patient; /* NULL: any */
  int state;                  /* an lp_query_state, or -1 for any */
} lp_query_filter;
/* Queries by id; `*out` malloc'ed. */
lp_status lp_query_list(lp_trial *t, const lp_query_filter *f, lp_query **out, size_t *n, lp_error *err);
lp_status lp_query_get(lp_trial *t, long id, lp_query *out, lp_error *err);
/* Queries not closed (open or answered), for the lock. */
lp_status lp_query_unresolved(lp_trial *t, long *open, long *answered, lp_error *err);

/* ---- source data verification ---- */

/* A monitor verifies one form of a patient against the source (day for the daily
 * form, the row id for an adverse event; the infusion log is one form). The form must
 * hold data; verifying a verified form again is refused. */
lp_status lp_form_verify(lp_trial *t, const char *patient, lp_record_kind form, int day, long record, const char *user,
                         lp_error *err);

typedef struct lp_sdv_form {
  char patient[64], site[64], form[16];
  int day;
  long record;
  bool verified;
  char verified_at[40], verified_by[64];
  char cleared_at[40], cleared_by[64], cleared_reason[256]; /* the last clearing, "" when none */
} lp_sdv_form;

typedef struct lp_sdv_patient {
  char patient[64], site[64];
  long forms, verified;
  long queries_open, queries_answered;
  char signature[320]; /* "signed by NAME at TIME", "signature invalidated by a change on TIME (by U)", "" */
  bool signed_valid;
} lp_sdv_patient;

typedef struct lp_sdv_site {
  char site[64]; /* "all" for the total */
  long patients, forms, verified, signed_valid;
} lp_sdv_site;

typedef struct lp_sdv_report {
  lp_sdv_site total;
  lp_sdv_site *sites;
  size_t nsites;
  lp_sdv_patient *patients;
  size_t npatients;
  lp_sdv_form *forms; /* every form holding data, with its verification */
  size_t nforms;
} lp_sdv_report;
/* Verification progress per site and per patient (of `site` and/or `patient`, NULL:
 * all), with the state of each patient's casebook signature. */
lp_status lp_sdv_report_make(lp_trial *t, const char *site, const char *patient, lp_sdv_report *out, lp_error *err);
void lp_sdv_report_clear(lp_sdv_report *r);

/* ---- principal investigators and signatures ---- */

/* Mark an investigator as the principal investigator of their site (a trial manager;
 * one per site: marking another replaces the earlier one, audited). */
lp_status lp_site_pi_set(lp_trial *t, const char *by, const char *name, lp_error *err);
/* Is `name` the principal investigator of a site? */
bool lp_user_is_pi(lp_trial *t, const char *name);

#define LP_CASEBOOK_MEANING "I confirm these data are complete and accurate"
#define LP_LOCK_MEANING "I approve the lock of this database: its data are final"

typedef struct lp_signature {
  long id;
  char scope[16]; /* "casebook" or "lock" */
  char patient[64];
  char signer[64], printed_name[128], role[64], meaning[128], signed_at[40];
  char content_hash[65];
  bool valid;                                  /* not invalidated, and the content still hashes to content_hash */
  bool account_name;                           /* no full name was recorded: printed_name is the account name */
  char invalidated_at[40], invalidated_by[64]; /* "" while valid */
  char state[512];                             /* in words, as listings give it */
} lp_signature;

/* The site's principal investigator signs the patient's casebook, giving the password
 * again: the signature (printed name, time, LP_CASEBOOK_MEANING) is bound to a hash of
 * every clinical record of the patient; a later change invalidates it. A wrong
 * password counts toward the lockout. `policy` may be NULL (the defaults). The printed
 * name is the signer's full name (lp_user_set_full_name); without one it is the
 * account name, and the signature says so (account_name, and its state); the lock's
 * signature likewise. */
lp_status lp_casebook_sign(lp_trial *t, const lp_account_policy *policy, const char *patient, const char *user,
                           const char *password, lp_signature *out, lp_error *err);
/* A patient's latest casebook signature (LP_ENOTFOUND when never signed), its state
 * checked against the content now; or the lock's signature (patient NULL). */
lp_status lp_signature_get(lp_trial *t, const char *patient, lp_signature *out, lp_error *err);

/* ---- lock ---- */

typedef struct lp_lock_options {
  const char *user;
  const char *override_reason; /* lock although queries are not closed, with this reason (recorded) */
  const char *password;        /* the locking user's password: the lock is signed with it */
  const lp_account_policy *policy;
} lp_lock_options;
/* Lock the database. Refused while queries are open or answered (not closed) unless
 * `override_reason` is given, which is recorded. A user with a password must sign the
 * lock by giving it (LP_LOCK_MEANING, bound to the audit trail's head); a user without
 * one (a trial run from the command line only) locks unsigned, as lp_trial_lock. */
lp_status lp_trial_lock_with(lp_trial *t, const lp_lock_options *o, lp_signature *sig, bool *signed_out, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
