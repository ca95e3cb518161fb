/* Shared parts of the trial module (not public): the context, the key, the SQLite
 * helpers, the audited-write helpers and canonical value formatting. Names lp__. */
#ifndef LEOPARDS_TRIAL_INTERNAL_H
#define LEOPARDS_TRIAL_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include <leopards/account.h>
#include <leopards/trial.h>

#define LP__ID_BYTES 16
/* The longest patient code (screening refuses longer ones; see lp_finding.patient). */
#define LP__PATIENT_MAX 63

/* Name the input field an error is about (a front end turns it into its own hint:
 * the command line's option, the web form's field); returns `s`. */
#include <stdio.h>
static inline lp_status lp__with_field(lp_error *err, const char *field, lp_status s) {
  if (err) snprintf(err->field, sizeof err->field, "%s", field);
  return s;
}
#define LP__SECRET_BYTES 32

/* Prepared statements kept for reuse: parsing SQL costs as much as the work of a
 * randomisation, and it would be done while holding the write lock. */
#define LP__STMT_CACHE 64
typedef struct {
  char *sql;
  sqlite3_stmt *st;
  bool busy;
} lp__cached_stmt;

struct lp_trial {
  sqlite3 *db;
  lp__cached_stmt cache[LP__STMT_CACHE];
  int lock_fd; /* PATH-writer, the writers' queue (-1 until first used) */
  bool lock_held;
  bool readonly;    /* opened for reading: no write is attempted, no file is created */
  int read_lock_fd; /* a reader's shared lock on PATH-writer while it reads the file itself (-1: none) */
  char path[1024];
  lp_clock_fn clock;
  void *clock_ctx;
  const lp_trial_key *key;       /* borrowed; enables self-extension of lists */
  const lp_audit_key *audit_key; /* MACs new audit entries (borrowed or own_audit_key) */
  lp_audit_key *own_audit_key;   /* loaded by the handle itself; freed at close */
  uint8_t trial_id[LP__ID_BYTES];
  char arm_label[2][64];
  int schema_version;
  lp_findings *findings; /* data entry in progress: where its findings go (NULL: nowhere) */
  bool check_only;       /* data entry in progress: check, write nothing */
  bool text_input;       /* data entry in progress: every value is text (a web form) */
  /* group commit (lp_trial_batch_begin): one write transaction open across calls, each
   * call's own transaction a savepoint inside it */
  bool batch;
  int batch_depth; /* savepoints open */
};

/* Held in libsodium's guarded, locked memory; wiped on free. */
struct lp_trial_key {
  uint8_t secret[LP__SECRET_BYTES];
  uint8_t trial_id[LP__ID_BYTES];
  uint8_t seal[32];  /* AEAD key for arms and sealed settings */
  uint8_t pack[32];  /* pack-number permutation key */
  uint8_t check[32]; /* proves that a key belongs to a trial */
};

/* ---- store.c ---- */
lp_status lp__db_fail(lp_trial *t, lp_error *err, const char *what);
/* A ready statement for `sql` (from the cache when one is free); give it back with
 * lp__finalize, which resets a cached one and finalizes any other. */
lp_status lp__prepare(lp_trial *t, const char *sql, sqlite3_stmt **st, lp_error *err);
void lp__finalize(lp_trial *t, sqlite3_stmt *st);
/* A new trial file at `path` (refused if it exists, with `why_new` said), open, in WAL
 * mode; nothing is left behind on failure. */
lp_status lp__create_db(const char *path, const char *why_new, lp_trial **out, lp_error *err);
/* Give up a trial file being created: roll back, close, free and remove its files. */
void lp__abandon_new(lp_trial *t);
/* Prepare `sql` (whose one parameter is the patient code), bind the patient and step
 * once: *row tells whether a row came back (read it, then lp__finalize). A failed
 * step is finalized here and reported as failing at `what`. */
lp_status lp__select_patient(lp_trial *t, const char *sql, const char *patient, sqlite3_stmt **st, bool *row,
                             const char *what, lp_error *err);
/* Finalize every cached statement and close the connection. */
void lp__close_db(lp_trial *t);
lp_status lp__exec(lp_trial *t, const char *sql, lp_error *err);
/* One row of two integers from `sql`, whose ?1 is bound to `id` (counts for a site). */
lp_status lp__two_counts(lp_trial *t, const char *sql, long id, long *a, long *b, const char *what, lp_error *err);
/* The same with ?2 bound to `text` (a date, say). */
lp_status lp__two_counts_on(lp_trial *t, const char *sql, long id, const char *text, long *a, long *b, const char *what,
                            lp_error *err);
/* BEGIN IMMEDIATE (waits for the write lock), COMMIT, ROLLBACK (never fails). */
lp_status lp__begin(lp_trial *t, lp_error *err);
lp_status lp__commit(lp_trial *t, lp_error *err);
/* COMMIT that on failure leaves the transaction (and the writers' lock) to the
 * caller, who undoes what it did outside the database before lp__rollback. */
lp_status lp__commit_keep(lp_trial *t, lp_error *err);
void lp__rollback(lp_trial *t);
void lp__now(lp_trial *t, char *buf, size_t n);
lp_status lp__check_unlocked(lp_trial *t, lp_error *err);
/* LP_ESTATE (field "site", saying since when and why) when the site is closed to
 * recruitment. */
lp_status lp__site_open(lp_trial *t, long site_id, lp_error *err);
lp_status lp__site_id(lp_trial *t, const char *code, long *id, lp_error *err);
lp_status lp__site_code(lp_trial *t, long id, char *buf, size_t n, lp_error *err);
/* A real calendar date "YYYY-MM-DD", optionally with "THH:MM" or "THH:MM:SS". */
bool lp__valid_date(const char *s);
/* The user must exist and have one of the roles in `roles` (bit mask of 1<<lp_role);
 * an investigator must belong to `site_id` when it is > 0. */
lp_status lp__user_check(lp_trial *t, const char *user, unsigned roles, long site_id, const char *action,
                         lp_error *err);
/* The same decided by the one rule (lp_access_check, account.c): `user` must exist, be
 * active, and may do `what` at site `site_id` (0: no site in particular). Messages
 * name `verb`, as lp__user_check's do. */
lp_status lp__user_may(lp_trial *t, const char *user, int what, long site_id, const char *verb, lp_error *err);
lp_status lp__meta_get(lp_trial *t, const char *key, char *buf, size_t n, bool *found, lp_error *err);
lp_status lp__meta_set(lp_trial *t, const char *key, const char *value, const char *user, const char *reason,
                       lp_error *err);
lp_status lp__open_db(const char *path, int flags, sqlite3 **out, lp_error *err);
lp_status lp__load_context(lp_trial *t, lp_error *err);
lp_status lp__migrate(lp_trial *t, int target, lp_error *err);
lp_status lp__user_version(lp_trial *t, int *v, lp_error *err);

/* ---- open.c ---- */
/* Open `path` for reading only: nothing is written and no file is created (see
 * open.c for how a WAL file without its -wal is read). `min_version` is the oldest
 * schema accepted (LP_TRIAL_SCHEMA_VERSION for ordinary reads, 1 for verification). */
lp_status lp__open_readonly(const char *path, int min_version, bool load, lp_trial **out, lp_error *err);
/* lp_trial_create at a given schema version (tests of upgrades). */
lp_status lp__trial_create_at(const char *path, const char *protocol, const lp_site_def *sites, size_t nsites,
                              const char *manager, int version, lp_trial **out, lp_error *err);
void lp__hex(const uint8_t *b, size_t n, char *out);
/* Write a secret key file: never over an existing file, mode 0600, synced (key.c). */
lp_status lp__write_secret_file(const char *path, const char *text, size_t len, const char *a_what,
                                const char *file_what, lp_error *err);
/* The schema that migrations 1..version create, in a new in-memory database (the
 * reference that verification compares a file's sqlite_schema with). */
lp_status lp__schema_reference(int version, sqlite3 **out, lp_error *err);
/* PRAGMA user_version of the open file. */
lp_status lp__user_version(lp_trial *t, int *v, lp_error *err);
bool lp__unhex(const char *s, uint8_t *out, size_t n);

/* ---- audit.c ---- */
/* Tables whose rows the audit trail covers, in dependency order. */
extern const char *const lp__audited_tables[];
extern const size_t lp__naudited_tables;
bool lp__is_audited(const char *table);
/* Canonical JSON text of a row (columns in schema order, NULL columns left out,
 * reals in shortest round-trip form with a decimal point, blobs as {"blob":"hex"}).
 * *out is malloc'ed, NULL when the row does not exist. */
lp_status lp__row_json(lp_trial *t, const char *table, long rowid, char **out, lp_error *err);
/* Append one entry to the chain; `old`/`new_` may be NULL. */
lp_status lp__audit_append(lp_trial *t, const char *table, long rowid, const char *action, const char *old,
                           const char *new_, const char *patient, const char *user, const char *reason, lp_error *err);
/* After an INSERT/UPDATE of row `rowid`: read its new content and append the entry.
 * `old` is the content before (NULL for an insert). */
lp_status lp__audit_row(lp_trial *t, const char *table, long rowid, const char *old, const char *patient,
                        const char *user, const char *reason, lp_error *err);
/* Canonical number text shared by row JSON and CSV export. */
void lp__fmt_real(double x, char *buf, size_t n);
/* Verify inside an open transaction (used by import). */
lp_status lp__audit_verify_tx(lp_trial *t, const lp_audit_check *c, lp_audit_report *out, lp_error *err);

/* Tables whose rows the row-by-row check leaves out; their schema is still checked.
 * Every table of the schema is in exactly one of the two lists. */
extern const char *const lp__unaudited_tables[];
extern const size_t lp__nunaudited_tables;

/* ---- audit_key.c ---- */
/* MAC of entry `entry` with chain hash `hash` under the audit key. */
void lp__audit_mac(const lp_audit_key *k, long entry, const uint8_t hash[32], uint8_t out[32]);
void lp__audit_key_check_hex(const lp_audit_key *k, char hex[65]);
bool lp__audit_key_for_trial(const lp_audit_key *k, const uint8_t trial_id[LP__ID_BYTES]);

/* ---- schema_check.c ---- */
/* Compare the file's sqlite_schema with the reference for its schema version and
 * report every extra, missing or altered table, column, index, view or trigger. */
lp_status lp__schema_check(lp_trial *t, int version, lp_audit_report *r, lp_error *err);
void lp__audit_problem(lp_audit_report *r, long entry, const char *table, long row, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- key.c ---- */
lp_status lp__key_check_value(const lp_trial_key *k, char hex[65]);
/* Seal/open one arm of slot (site, seq, pack): AEAD with the slot as associated
 * data, so a ciphertext moved to another slot fails to open. */
lp_status lp__seal_arm(const lp_trial_key *k, long site_id, long seq, long pack, int arm, uint8_t nonce[24],
                       uint8_t sealed[17]);
lp_status lp__open_arm(const lp_trial_key *k, long site_id, long seq, long pack, const uint8_t *nonce, size_t nlen,
                       const uint8_t *sealed, size_t slen, int *arm, lp_error *err);
/* The sealed arm of a randomised patient, opened with the key (the recorded pack
 * checked against its slot's); LP_ENOTFOUND when the patient is not randomised. */
lp_status lp__patient_arm(lp_trial *t, const lp_trial_key *k, const char *patient, int *arm, long *site_id,
                          lp_error *err);
/* Sealed settings text (fixed length, hex). */
lp_status lp__seal_text(const lp_trial_key *k, const char *what, const char *text, char *hex, size_t n, lp_error *err);
lp_status lp__open_text(const lp_trial_key *k, const char *what, const char *hex, char *text, size_t n, lp_error *err);
/* Pack number of the g-th slot of the trial (g >= 0): a keyed permutation of
 * 100000..999999, so numbers are unique and say nothing of arm or block. */
long lp__pack_number(const lp_trial_key *k, long g);
lp_status lp__key_matches(lp_trial *t, const lp_trial_key *k, lp_error *err);

/* ---- randomize.c ---- */
/* lp_trial_allocations, also before lock when `before_lock` (the closed report), and
 * inside the caller's read transaction when one is open. */
lp_status lp__allocations(lp_trial *t, const lp_trial_key *k, bool before_lock, lp_allocation_arm **out, size_t *n,
                          lp_error *err);

/* ---- export.c ---- */
/* lp_trial_export; with `before_lock` the arms are written before lock too (the closed
 * report's export, after its disclosure was recorded). One read transaction for every
 * file, the arms included (the caller's, when it holds one). */
lp_status lp__trial_export(lp_trial *t, const char *dir, const lp_trial_key *k, bool before_lock, lp_error *err);
/* Record in the disclosures table and the audit trail that `user` was given the arms
 * of `patients` patients by `what`, written to `where` (one write transaction). */
lp_status lp__disclosure(lp_trial *t, const char *user, const char *what, const char *where, long patients,
                         lp_error *err);

/* ---- list.c ---- */
/* Materialise slots for a site until it has `free_target` unused ones (inside a
 * transaction). */
lp_status lp__list_extend_site(lp_trial *t, const lp_trial_key *k, long site_id, long free_target, const char *user,
                               long *added, long *checked, lp_error *err);
lp_status lp__list_config(lp_trial *t, const lp_trial_key *k, int *sizes, size_t *nsizes, long *per_site, bool *found,
                          lp_error *err);

/* ---- record.c ---- */
struct json_t;
struct lp_form;
/* The values of a JSON object for `form`, checked field by field against its
 * definitions (names, types, choices, dates, required fields): *vals (owned by the
 * caller) holds the normalised values; LP_EDATA naming every refused field. */
lp_status lp__form_values(const struct lp_form *form, struct json_t *in, const char *source, struct json_t **vals,
                          lp_error *err);

/* ---- consent.c ---- */
/* The consent settings of a new trial: consent required before randomisation, and a
 * refused retrospective consent treated as a withdrawal of consent. */
lp_status lp__consent_settings_default(lp_trial *t, const char *user, const char *reason, lp_error *err);
/* For a trial from before consent was tracked (an upgrade, an import): every
 * randomised patient without a consent record gains one marked as recorded before
 * consent was tracked (owing nothing), and the settings are added when missing. */
lp_status lp__consent_mark_untracked(lp_trial *t, const char *user, const char *reason, lp_error *err);

/* One record (a JSON object whose values may be text, as CSV cells) through every edit
 * check, written and audited inside the caller's transaction; findings go to
 * t->findings when set. */
lp_status lp__record_row(lp_trial *t, lp_record_kind kind, struct json_t *row, const char *source, const char *user,
                         const char *reason, lp_error *err);

/* ---- queries.c ---- */
/* A saved change of the patient's form instance (day for daily, the row for an adverse
 * event, 0 otherwise): clears its source data verification and invalidates the
 * patient's casebook signature, each audited with `reason`; note1 and note2 say so
 * ("" when there was nothing to clear). Inside the caller's transaction. */
lp_status lp__form_changed(lp_trial *t, lp_record_kind kind, const char *patient, int day, long record,
                           const char *user, const char *reason, char *note1, size_t n1, char *note2, size_t n2,
                           lp_error *err);
/* A deleted record's queries not closed yet are closed, saying why. */
lp_status lp__queries_record_deleted(lp_trial *t, lp_record_kind kind, const char *patient, int day, long record,
                                     const char *user, const char *reason, lp_error *err);
/* A query opened by a soft edit check on a saved record (none when one on the same
 * field is not closed yet). Inside the caller's transaction. */
lp_status lp__query_from_check(lp_trial *t, const lp_finding *f, long record, const char *user, lp_error *err);

/* ---- screen.c ---- */
lp_status lp__screen_one(lp_trial *t, long site_id, const char *patient, const char *inputs_json, const char *source,
                         const char *user, lp_screen_result *out, lp_error *err);

#endif
