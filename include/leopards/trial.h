/* leopards trial: the trial's SQLite store (one file per trial, WAL, synchronous=FULL,
 * every change in one transaction), the sealed randomisation list, randomisation,
 * emergency unblinding, data entry, database lock, export/import and the hash-chained
 * audit trail. A context `lp_trial *` carries the open database; nothing is global.
 * Ownership: lp_trial and lp_trial_key are allocated by the library and freed with
 * lp_trial_close and lp_key_free; results are caller storage unless a function says it
 * mallocs. Threads: an lp_trial is per thread (it holds a statement cache with no lock):
 * each thread opens its own handle on the same file; SQLite and the writers' lock order
 * the writes between handles and processes. Load a key per handle. */
#ifndef LEOPARDS_TRIAL_H
#define LEOPARDS_TRIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Schema version this code writes. Older files are read as they are (verification)
 * and upgraded only by lp_trial_upgrade; newer ones are refused. */
#define LP_TRIAL_SCHEMA_VERSION 11

typedef struct lp_trial lp_trial;
typedef struct lp_trial_key lp_trial_key;
typedef struct lp_audit_key lp_audit_key;

/* ---- store ---- */

typedef struct lp_site_def {
  const char *code; /* short code used on the command line ("S01") */
  const char *name; /* display name */
} lp_site_def;

/* Create a new trial file (refused if `path` exists): schema, WAL, a random trial id,
 * the protocol's arm labels, the sites, and `manager` registered as the first trial
 * manager. Everything in one transaction; on failure the file is removed. */
lp_status lp_trial_create(const char *path, const char *protocol, const lp_site_def *sites, size_t nsites,
                          const char *manager, lp_trial **out, lp_error *err);
/* Sites during the trial. A trial manager adds a site (its randomisation list comes
 * when the statistician, or a server holding the key, extends the list) or closes one
 * to recruitment with a reason: screening and randomisation of new patients there are
 * then refused (LP_ESTATE, field "site"); its patients' data go on. Both audited. */
typedef struct lp_site_info {
  char code[64], name[208];
  bool closed;
  char closed_at[40], closed_by[64], closed_reason[256];
  long slots;      /* sealed list slots */
  long randomised; /* patients randomised there */
} lp_site_info;
lp_status lp_site_add(lp_trial *t, const char *by, const char *code, const char *name, lp_error *err);
lp_status lp_site_close(lp_trial *t, const char *by, const char *code, const char *reason, lp_error *err);
/* Every site in order of creation; `*out` malloc'ed. */
lp_status lp_site_list(lp_trial *t, lp_site_info **out, size_t *n, lp_error *err);

/* Open an existing trial file for reading and writing. A file that is not a leopards
 * trial, or has an older schema (see lp_trial_upgrade), is refused before anything is
 * written to it. */
lp_status lp_trial_open(const char *path, lp_trial **out, lp_error *err);
/* Open for reading only: nothing is written, no file is created beside it (no -wal,
 * -shm or -writer), and any write through the handle is refused. When no other
 * connection has the file open, the handle holds the writers back (a shared lock on
 * PATH-writer) until it is closed: close it before writing to the same trial from the
 * same process or thread. A long-lived process (a server) opens its writing handle
 * first and keeps it open; its read-only handles then read through the WAL and hold
 * nothing. Older schemas are refused, as by lp_trial_open. */
lp_status lp_trial_open_readonly(const char *path, lp_trial **out, lp_error *err);
/* Bring an older trial file to LP_TRIAL_SCHEMA_VERSION: a copy of the file is kept as
 * PATH.schema-vN.bak first, then the migrations and an audit entry by `user` (trial
 * manager or statistician) are written in one transaction. *from is the version the
 * file had (equal to LP_TRIAL_SCHEMA_VERSION when there was nothing to do). A file
 * that is not a leopards trial is refused untouched. */
lp_status lp_trial_upgrade(const char *path, const char *user, int *from, lp_error *err);
/* Remove a trial file and the files SQLite and the store keep beside it (-wal, -shm,
 * -writer). For a trial that is being abandoned (a failed creation, a demo redone). */
void lp_trial_remove_files(const char *path);
void lp_trial_close(lp_trial *t);
/* Open a trial file for audit verification only, read-only as lp_trial_open_readonly,
 * at any schema version this code knows: its settings are not read, so damaged
 * settings are reported by lp_audit_verify instead of refusing to open. */
lp_status lp_audit_open(const char *path, lp_trial **out, lp_error *err);

/* ---- backup and restore ---- */

typedef struct lp_backup_info {
  long entries;      /* audit entries in the copy */
  char head[65];     /* hash of its last entry, hex */
  bool intact;       /* its audit trail verifies */
  char problem[512]; /* the first problem when not intact */
} lp_backup_info;
/* A consistent copy of the trial at `db` as of one commit, taken while it is in use
 * (SQLite's online backup; writers carry on), written to the new file `out`
 * atomically (a temporary file linked into place; an existing `out` is never
 * overwritten), then verified: `info` says whether its audit trail is intact. Key
 * files are never part of a backup. */
lp_status lp_trial_backup(const char *db, const char *out, lp_backup_info *info, lp_error *err);

typedef struct lp_restore_options {
  bool replace;            /* allow replacing an existing trial file (a copy of it is kept first) */
  const char *checkpoints; /* audit checkpoint file the backup must extend (a backup older than
                              the newest checkpoint is refused as a rollback), or NULL */
  const char *audit_key;   /* the trial's audit key file, for the keyed check, or NULL */
} lp_restore_options;
typedef struct lp_restore_info {
  long entries; /* audit entries restored */
  char head[65];
  bool replaced;   /* an existing trial file was replaced ... */
  char kept[1100]; /* ... and kept here first (DB.replaced-TIME.bak) */
} lp_restore_info;
/* Put the backup at `backup` back as the trial `db`, only if its audit trail
 * verifies. A new `db` is written atomically; an existing one is replaced only with
 * `replace` (through SQLite, so that connections still open see one consistent
 * change), after keeping a copy of it. The restored trial is verified again. */
lp_status lp_trial_restore(const char *backup, const char *db, const lp_restore_options *o, lp_restore_info *info,
                           lp_error *err);

/* Replace the clock (tests): `fn` writes an ISO-8601 UTC time into buf. */
typedef void (*lp_clock_fn)(void *ctx, char *buf, size_t n);
void lp_trial_set_clock(lp_trial *t, lp_clock_fn fn, void *ctx);
/* Give the context a key (borrowed, may be NULL): randomisation then extends a
 * site's list by itself when it runs low (the randomisation-service deployment). */
void lp_trial_use_key(lp_trial *t, const lp_trial_key *k);

int lp_trial_schema_version(lp_trial *t);
bool lp_trial_is_locked(lp_trial *t);
/* Arm labels of the protocol (index 0 = arm A, 1 = arm B). */
const char *lp_trial_arm_label(lp_trial *t, int arm);

/* ---- users and roles ---- */

/* A monitor reads only (all sites, or one when registered with a site). */
typedef enum { LP_ROLE_INVESTIGATOR, LP_ROLE_MANAGER, LP_ROLE_STATISTICIAN, LP_ROLE_MONITOR } lp_role;
const char *lp_role_name(lp_role r);
/* Register a user. `by` must be a trial manager. An investigator belongs to one site
 * (a monitor may). Accounts, passwords and sessions: leopards/account.h. */
lp_status lp_user_add(lp_trial *t, const char *by, const char *name, lp_role role, const char *site, lp_error *err);

/* ---- key file ---- */

/* Create a new key file (mode 0600, refused if it exists) holding a fresh 256-bit
 * secret from libsodium's generator, bound to this trial. */
lp_status lp_key_create(lp_trial *t, const char *path, lp_trial_key **out, lp_error *err);
/* Load a key file: refused when its permissions are wider than 0600, when it is
 * malformed, or (when t is given) when it does not belong to the trial. */
lp_status lp_key_load(lp_trial *t, const char *path, lp_trial_key **out, lp_error *err);
void lp_key_free(lp_trial_key *k);

/* ---- sealed list ---- */

#define LP_LIST_MAX_SIZES 8
typedef struct lp_list_options {
  int block_sizes[LP_LIST_MAX_SIZES]; /* even sizes, each block half A half B */
  size_t nsizes;
  long per_site;    /* slots kept available (unused) per site, default 40 */
  const char *site; /* only this site (NULL: all) */
} lp_list_options;
void lp_list_options_default(lp_list_options *o);

typedef struct lp_list_summary {
  long sites;
  long slots_added;
  long slots_total;
  long slots_checked; /* existing slots re-derived from the secret and found equal */
} lp_list_summary;

/* Generate (first run) or extend (later runs) every site's sealed list so that each
 * has at least `per_site` unused slots, continuing the site's block stream from the
 * same secret. Existing slots are first checked against the secret. One transaction. */
lp_status lp_list_generate(lp_trial *t, const lp_trial_key *k, const lp_list_options *o, const char *user,
                           lp_list_summary *out, lp_error *err);
/* The same with the key file at `key_path`: read when it exists, else created (mode
 * 0600; *created set). The file is read or created only inside the write
 * transaction, and a file created by a generation that fails is removed before the
 * transaction ends, so it can never be one another run has sealed slots with. */
lp_status lp_list_generate_keyfile(lp_trial *t, const char *key_path, const lp_list_options *o, const char *user,
                                   lp_list_summary *out, bool *created, lp_error *err);

/* The pure generator: the first n arms (0 = A, 1 = B) of the stream of permuted
 * blocks that a 32-byte secret defines for site number `site_index`. When
 * `block_of` is given it receives, per slot, the size of the block holding it. */
lp_status lp_list_stream(const uint8_t secret[32], long site_index, const int *sizes, size_t nsizes, size_t n,
                         uint8_t *arms, uint8_t *block_of, lp_error *err);

/* Predictability of a sequence for an observer using the convergence strategy
 * (guess the arm that is behind in the site; a coin toss on ties): expected number
 * of correct guesses over the n allocations. */
double lp_list_expected_guesses(const uint8_t *arms, size_t n);
/* The same in expectation for the design (block sizes drawn uniformly): expected
 * fraction of correct guesses per allocation over a long run. */
double lp_list_design_guess_rate(const int *sizes, size_t nsizes);

typedef struct lp_list_site_report {
  char site[64];
  long slots, used;
  long used_arm[2];                       /* arms among used slots */
  long max_imbalance;                     /* max |A-B| over the used prefix */
  double expected_correct;                /* convergence strategy over the used prefix */
  long blocks_started[LP_LIST_MAX_SIZES]; /* by size, blocks touching the used prefix */
} lp_list_site_report;

typedef struct lp_list_report {
  size_t nsites;
  lp_list_site_report *sites; /* owned */
  int block_sizes[LP_LIST_MAX_SIZES];
  size_t nsizes;
  long used, used_arm[2];
  double expected_correct; /* sum over sites */
  double design_rate;      /* expected fraction for the design */
  bool reproduces;         /* every slot re-derived from the secret matches */
} lp_list_report;
lp_status lp_list_report_make(lp_trial *t, const lp_trial_key *k, lp_list_report *out, lp_error *err);
void lp_list_report_clear(lp_list_report *r);

/* ---- screening ---- */

typedef struct lp_screen_result {
  long id;
  bool eligible;
  char failed[512];              /* comma-separated criteria not met (empty when eligible) */
  char notes[256];               /* about the input: old field names used ("'weight' is now called 'weight_kg'") */
  char reason_not_enrolled[256]; /* as given (empty when none) */
} lp_screen_result;
/* Record one screened patient at a site: the eligibility inputs (a JSON object whose
 * fields are listed by `leopards screen --help`), evaluated by the clinical rules.
 * `patient` may be NULL for a patient not enrolled. */
lp_status lp_trial_screen(lp_trial *t, const char *site, const char *patient, const char *inputs_json, const char *user,
                          lp_screen_result *out, lp_error *err);
/* Many screening records in one transaction: each element of a JSON array is an
 * object with "site", optional "patient", and the inputs. */
lp_status lp_trial_screen_many(lp_trial *t, const char *json_array, const char *source, const char *user, size_t *count,
                               size_t *eligible, lp_error *err);
/* Field list of the eligibility inputs for help texts. */
void lp_screen_fields_help(char *buf, size_t n);
/* The same as data, for forms: field i (false past the last). `kind` is "number",
 * "yes/no", "text" or "date"; min and max bound a number; help gives unit and rule. */
typedef struct lp_screen_field_info {
  const char *name, *kind, *help;
  double min, max;
} lp_screen_field_info;
size_t lp_screen_field_count(void);
bool lp_screen_field(size_t i, lp_screen_field_info *out);
/* A failed criterion as the screening result names it ("age", "sirs:missing") in words. */
const char *lp_criterion_words(const char *id, char *buf, size_t n);

/* One row of a site's screening log (newest first). */
typedef struct lp_screening_row {
  long id;
  char patient[64], screened_at[40], screened_by[64];
  bool eligible, randomised;
  char failed[512];
} lp_screening_row;
/* The screening log of `site` (NULL: all), at most `limit` rows; `*out` malloc'ed. */
lp_status lp_screening_log(lp_trial *t, const char *site, size_t limit, lp_screening_row **out, size_t *n,
                           lp_error *err);

/* What is known of one patient (never the arm). LP_ENOTFOUND when the code is unknown. */
typedef struct lp_patient_view {
  char patient[64], site[64];
  char screened_at[40], screened_by[64];
  bool eligible;
  char failed[512];
  bool randomised;
  long sequence, pack;
  char randomized_at[40], randomized_by[64];
  bool baseline;
  long infusion_events, days;
  bool outcome, died, consent_withdrawn;
  char icu_discharge[40], death_date[40];
  long unblindings;
  /* consent (leopards/forms.h, form "consent") */
  char consent_by[32]; /* initial consent: patient, personal_representative, professional_representative,
                          before_tracking (recorded before consent was tracked); "" when none */
  char consented_at[40];
  char retrospective[32]; /* the retrospective consent: given, refused, died, never_regained_capacity; "" none */
  bool retrospective_due; /* randomised on a representative's consent, retrospective consent not yet recorded */
} lp_patient_view;
lp_status lp_patient_get(lp_trial *t, const char *patient, lp_patient_view *out, lp_error *err);
/* The same from a CSV file with a header row (columns site, patient, inputs). */
lp_status lp_trial_screen_csv(lp_trial *t, const char *path, const char *default_site, const char *user, size_t *count,
                              size_t *eligible, lp_error *err);

/* ---- informed consent ----
 * Written informed consent from the patient or, when the patient lacks capacity, a
 * personal or professional legal representative, recorded before randomisation (which
 * is refused without it while the setting consent_required is on, as it is in every
 * new trial); after a representative's consent, the patient's retrospective consent
 * is owed (given or refused, or not obtainable: the patient died or never regained
 * capacity). A refusal applies the trial's rule: by default the consent-withdrawn rule
 * (data kept, excluded from the analyses; the outcome record shows the withdrawal),
 * or the patient stays in. Every record and its consequence are audited. */

typedef struct lp_consent_policy {
  bool required;          /* randomisation needs an initial consent (default on) */
  bool refusal_withdraws; /* a refused retrospective consent withdraws the patient (default on) */
} lp_consent_policy;
lp_status lp_consent_policy_get(lp_trial *t, lp_consent_policy *out, lp_error *err);
/* Change the settings (trial manager; audited with `reason`). */
lp_status lp_consent_policy_set(lp_trial *t, const lp_consent_policy *p, const char *user, const char *reason,
                                lp_error *err);

typedef struct lp_consent_result {
  long id;
  char patient[64], site[64];
  char kind[16];       /* initial, retrospective */
  char consent_by[32]; /* "" for a retrospective consent that could not be sought */
  char decision[32];
  bool retrospective_due; /* an initial consent from a representative: the patient's is owed later */
  char applied[200];      /* what a refusal did under the trial's rule ("" otherwise) */
} lp_consent_result;
/* Record one consent from a JSON object with the fields of the consent form
 * (leopards/forms.h; `leopards record consent --help`). The patient must have been
 * screened at the user's site; an initial consent comes before randomisation, a
 * retrospective one after it and only after a representative's consent. */
lp_status lp_consent_record(lp_trial *t, const char *json, const char *source, const char *user, lp_consent_result *out,
                            lp_error *err);
/* Correct a recorded consent, with a reason for the change: `json` names the record
 * (patient, and kind: initial by default, or retrospective) and the fields that change
 * (a field set to null is cleared; the others keep their saved values). An
 * investigator of the patient's site or a trial manager; the same checks as a new
 * record, and a randomised patient keeps a consent before the randomisation (a later
 * time is refused, saying so). A retrospective consent corrected to refused applies
 * the trial's rule as a new refusal does; a refusal taken back leaves the outcome
 * record's withdrawal, said in `applied`. Audited with the old and new values.
 * LP_ENOTFOUND when there is no such record, LP_ESTATE when nothing changes. */
lp_status lp_consent_correct(lp_trial *t, const char *json, const char *source, const char *user, const char *reason,
                             lp_consent_result *out, lp_error *err);
/* The saved consent of `kind` ("initial" or "retrospective"; NULL: initial) as a JSON
 * object of the consent form's fields (patient and kind included); *json NULL when
 * there is none. *json malloc'ed. */
lp_status lp_consent_get(lp_trial *t, const char *patient, const char *kind, char **json, lp_error *err);

/* ---- randomisation ---- */

typedef struct lp_allocation {
  char patient[64];
  char site[64];
  long sequence; /* position in the site's list, 1-based */
  long pack;     /* pack number printed to the site */
  char randomized_at[40];
  char user[64];
  bool existing;   /* the patient was already randomised: this is that allocation */
  long slots_left; /* unused slots left in the site's list after this allocation */
} lp_allocation;
/* Randomise a patient whose screening record at `site` says eligible: in one
 * IMMEDIATE transaction take the site's next slot, record time and user, and return
 * the pack (never the arm). A patient already randomised gets the first allocation
 * back (existing = true). */
lp_status lp_trial_randomize(lp_trial *t, const char *site, const char *patient, const char *user, lp_allocation *out,
                             lp_error *err);

/* ---- emergency unblinding ---- */

typedef struct lp_unblinding {
  long id;
  char patient[64];
  char site[64];
  char user[64];
  char at[40];
  char reason[512];
  int arm; /* -1 when listed without the key */
} lp_unblinding;
/* Emergency unblinding of one patient by `user` (an investigator of the patient's
 * site, a trial manager or the statistician), recorded with the reason before the
 * arm is handed out. This is the web server's path: it holds the key, the user never
 * does. */
lp_status lp_trial_unblind(lp_trial *t, const lp_trial_key *k, const char *patient, const char *reason,
                           const char *user, lp_unblinding *out, lp_error *err);
/* The key holder's unblinding (command line): `user` is a trial manager or the
 * statistician, who holds the key; `requested_by` is the registered user who asked
 * (an investigator only for a patient of their own site), recorded in front of the
 * reason ("requested by inv1 (investigator, site S01): ...") in the unblinding and
 * its audit entry. */
lp_status lp_trial_unblind_for(lp_trial *t, const lp_trial_key *k, const char *patient, const char *reason,
                               const char *user, const char *requested_by, lp_unblinding *out, lp_error *err);
/* All unblindings so far (never the arm). `*out` is malloc'ed. */
lp_status lp_trial_unblindings(lp_trial *t, lp_unblinding **out, size_t *n, lp_error *err);

/* ---- recruitment and data completeness (the trial manager's view; no arms) ---- */

typedef struct lp_progress_site {
  char code[64]; /* site code, or "all" for the total */
  long screened, eligible, randomised, slots_left;
  long withdrawn;                    /* consent withdrawn: no further data expected */
  long consent_by_representative;    /* randomised on a legal representative's consent */
  long retrospective_due;            /* of these, retrospective consent not yet recorded */
  long retrospective_refused;        /* retrospective consent refused */
  long baseline, infusion, outcome;  /* records present among the patients who owe them */
  long infusion_due, outcome_due;    /* patients owing one (consent kept; the drug not recorded as not
                                        received; 28 days passed); the baseline is owed by all */
  long days_expected, days_recorded; /* daily ICU records, day 1 to ICU discharge or 28 */
  long items;                        /* outstanding items */
  char first[11], last[11];          /* dates of the first and last randomisation ("" if none) */
} lp_progress_site;

typedef struct lp_progress_month {
  char month[8]; /* YYYY-MM */
  long randomised;
} lp_progress_month;

/* One thing to chase: a retrospective consent owed, a missing baseline or infusion record, an outcome due at 28
 * days, an ICU discharge not yet recorded after 28 days, missing daily records, or a
 * day recorded as in the ICU after the recorded discharge. */
typedef struct lp_progress_item {
  char patient[64], site[64];
  char what[160];
} lp_progress_item;

typedef struct lp_progress {
  char as_of[11];
  lp_progress_site total;
  lp_progress_site *sites;
  size_t nsites;
  lp_progress_month *months;
  size_t nmonths;
  lp_progress_item *items;
  size_t nitems;
} lp_progress;

/* Recruitment and completeness of every site (or of `site`), counted at the end of
 * the day `as_of` (YYYY-MM-DD; NULL: today). Daily records are owed for ICU days 1 to
 * discharge or death (at most 28) that are complete by then; an infusion record
 * unless the drug was recorded as not received; the outcome once 28 days have
 * passed. Patients who withdrew consent owe nothing. Free with lp_progress_clear. */
lp_status lp_trial_progress(lp_trial *t, const char *site, const char *as_of, lp_progress *out, lp_error *err);
void lp_progress_clear(lp_progress *p);

/* ---- database lock and allocations ---- */

lp_status lp_trial_lock(lp_trial *t, const char *user, lp_error *err);

typedef struct lp_allocation_arm {
  char patient[64];
  char site[64];
  long sequence, pack;
  int arm;
} lp_allocation_arm;
/* After lock, with the key: every randomised patient with the arm. `*out` malloc'ed. */
lp_status lp_trial_allocations(lp_trial *t, const lp_trial_key *k, lp_allocation_arm **out, size_t *n, lp_error *err);

/* ---- data entry ---- */

typedef enum {
  LP_RECORD_BASELINE,
  LP_RECORD_DAILY,
  LP_RECORD_INFUSION,
  LP_RECORD_OUTCOME,
  LP_RECORD_AE,
  LP_RECORD_COUNT
} lp_record_kind;
const char *lp_record_kind_name(lp_record_kind k);
lp_status lp_record_kind_parse(const char *name, lp_record_kind *out, lp_error *err);

/* Record data from JSON (one object or an array of objects) or a CSV file: every
 * row validated (types, ranges, units, clinical rules), all rows in one transaction
 * or none. A row for an existing record (same patient, or patient and day, ...)
 * changes it; a change needs `reason`. */
lp_status lp_record_json(lp_trial *t, lp_record_kind kind, const char *json, const char *source, const char *user,
                         const char *reason, size_t *rows, lp_error *err);
lp_status lp_record_csv(lp_trial *t, lp_record_kind kind, const char *path, const char *user, const char *reason,
                        size_t *rows, lp_error *err);
/* What the edit checks found in a record. A hard finding refuses the record (every
 * failing field is named, not only the first); a soft one (plausible but unusual) is
 * accepted and reported, carrying what a data query needs (form, patient, day, field,
 * text); a note says something about the input (an old field name, say). */
typedef enum { LP_FINDING_HARD, LP_FINDING_SOFT, LP_FINDING_NOTE } lp_finding_level;
typedef struct lp_finding {
  lp_finding_level level;
  char form[16];    /* record kind: baseline, daily, ... */
  char patient[64]; /* "" when the input names none */
  int day;          /* the daily record's day, 0 for other forms */
  long record;      /* the record's id when it exists (adverse events), else 0 */
  char field[64];   /* "" for a rule about the record as a whole */
  char text[512];
  char source[256]; /* where the input came from: a CSV file, "the JSON input[2]", ... */
  long line;        /* CSV line, 0 for JSON */
} lp_finding;
typedef struct lp_findings {
  lp_finding *items; /* owned */
  size_t n, cap;
  size_t hard, soft, notes;
} lp_findings;
void lp_findings_clear(lp_findings *f);
const char *lp_finding_level_name(lp_finding_level l); /* "error", "warning", "note" */

/* lp_record_json / lp_record_csv reporting every finding in `out` (may be NULL; call
 * lp_findings_clear afterwards). A refusal also sums the hard findings up in err. */
lp_status lp_record_json_checked(lp_trial *t, lp_record_kind kind, const char *json, const char *source,
                                 const char *user, const char *reason, size_t *rows, lp_findings *out, lp_error *err);
lp_status lp_record_csv_checked(lp_trial *t, lp_record_kind kind, const char *path, const char *user,
                                const char *reason, size_t *rows, lp_findings *out, lp_error *err);
/* The edit checks alone: the same checks as recording, against the trial as it is,
 * and nothing written. LP_OK when nothing hard was found. */
lp_status lp_record_check(lp_trial *t, lp_record_kind kind, const char *json, const char *source, const char *user,
                          lp_findings *out, lp_error *err);
/* Delete one record (by its id, as the audit log and the export show it) with a
 * reason; the deleted content stays in the audit trail. */
lp_status lp_record_delete(lp_trial *t, lp_record_kind kind, long id, const char *user, const char *reason,
                           lp_error *err);
/* Field list of a record kind for help texts: "name (type, unit/range): description". */
void lp_record_fields_help(lp_record_kind kind, char *buf, size_t n);

/* ---- audit ---- */

typedef struct lp_audit_problem {
  long entry; /* audit entry concerned, 0 when none */
  char table[32];
  long row; /* trial row concerned, 0 when none */
  char message[512];
} lp_audit_problem;

typedef struct lp_audit_report {
  long entries;
  long rows_checked;
  char head[65];    /* hash of the last entry, hex */
  long keyed_from;  /* first entry carrying a MAC (0: none, the trail is unkeyed) */
  bool key_checked; /* MACs were checked under an audit key */
  long macs_checked;
  long checkpoints;    /* checkpoint lines checked */
  long schema_objects; /* tables, indexes, views and triggers compared with the expected schema */
  size_t nproblems;
  lp_audit_problem problems[16]; /* the first ones, in the order found */
  size_t more;                   /* problems not listed */
} lp_audit_report;
/* Recompute the hash chain (names the first edited, deleted, inserted or reordered
 * entry) and check every live trial row against the latest audit value for it.
 * Returns LP_OK with problems listed in `out`; `out->nproblems == 0` means intact.
 * `anchor_entry`/`anchor_hex` (optional) check an externally recorded head. */
lp_status lp_audit_verify(lp_trial *t, long anchor_entry, const char *anchor_hex, lp_audit_report *out, lp_error *err);

/* What a verification checks beyond the chain, the rows and the schema. */
typedef struct lp_audit_check {
  long anchor_entry;       /* 0: none */
  const char *anchor_hex;  /* the anchor's hash, 64 hex digits */
  const lp_audit_key *key; /* NULL: the unkeyed (weaker) check only */
  const char *checkpoints; /* a checkpoint file (one line per checkpoint), or NULL */
} lp_audit_check;
/* As lp_audit_verify, and also: with a key, every entry from the first keyed one on
 * must carry a valid MAC under it and the trail must have keyed entries (so nobody
 * without the key added, removed, edited or reordered anything before the last keyed
 * entry); with checkpoints, the trail must still extend every line of the file
 * (truncation and rollback to an older copy are found). A malformed checkpoint file
 * is an error (LP_EPARSE, naming its line). */
lp_status lp_audit_verify_with(lp_trial *t, const lp_audit_check *c, lp_audit_report *out, lp_error *err);

/* The head of the chain, for recording outside the database. */
typedef struct lp_audit_checkpoint {
  long entry;
  char hash[65];
  char at[40]; /* when the checkpoint was taken, UTC */
} lp_audit_checkpoint;
/* The current head, after verifying the trail (with the handle's audit key when it
 * has one): a trail that does not verify gets no checkpoint (LP_EINTEGRITY, naming
 * its first problem). */
lp_status lp_audit_checkpoint_take(lp_trial *t, lp_audit_checkpoint *out, lp_error *err);
/* The number of the trail's last entry (0 when empty), without verifying anything:
 * cheap enough to ask every minute whether new entries were written. */
lp_status lp_audit_last_entry(lp_trial *t, long *entry, lp_error *err);
/* One line "ENTRY HASH TIME" (no newline). */
void lp_audit_checkpoint_format(const lp_audit_checkpoint *c, char *buf, size_t n);
/* Append the line to `path` (created with mode 0600 if missing) and sync it. */
lp_status lp_audit_checkpoint_append(const lp_audit_checkpoint *c, const char *path, lp_error *err);

/* ---- audit key ----
 * A second secret, apart from the list key: from its installation on, every audit
 * entry carries a MAC under it. Once a trial has one, every write needs it. */

/* Create the audit key file at `path` (mode 0600, refused if it exists) and install
 * it in the trial: the setting audit_key (its public check value) is recorded, in an
 * entry that is the first one under the key. Refused when the trial has one already.
 * `user` is a trial manager or statistician; a locked trial may gain its key too.
 * The handle keeps the key for its writes. This is also how an older trial file
 * gains its key at its upgrade (after migrating it to schema version 3). On failure
 * nothing is recorded and the key file is removed again. */
lp_status lp_audit_key_install(lp_trial *t, const char *path, const char *user, lp_error *err);
/* Load an audit key file: refused when it is not a regular file owned by the caller
 * with mode 0600, when it is malformed, or (when t is given) when it is not the key
 * installed in that trial. */
lp_status lp_audit_key_load(lp_trial *t, const char *path, lp_audit_key **out, lp_error *err);
void lp_audit_key_free(lp_audit_key *k);
/* Give the handle an audit key for its writes (borrowed: one key may serve many
 * handles, as a server's workers share it; it must outlive the handle). */
void lp_trial_use_audit_key(lp_trial *t, const lp_audit_key *k);
/* Load the key file (as lp_audit_key_load with t) and keep it in the handle. */
lp_status lp_trial_open_audit_key(lp_trial *t, const char *path, lp_error *err);
/* Whether the trial has an audit key installed (writes then need it). */
bool lp_trial_audit_keyed(lp_trial *t);
/* The default place of a trial's audit key: DB.audit-key beside the database. */
void lp_audit_key_default_path(const char *db, char *buf, size_t n);

typedef struct lp_audit_entry {
  long id;
  const char *at, *user, *action, *table, *patient, *old_value, *new_value, *reason, *hash;
  long row;
} lp_audit_entry;
typedef int (*lp_audit_fn)(void *ctx, const lp_audit_entry *e);
/* Walk the audit trail in order (only a patient's entries when `patient` is given);
 * a non-zero return from fn stops the walk. */
lp_status lp_audit_log(lp_trial *t, const char *patient, lp_audit_fn fn, void *ctx, lp_error *err);

/* ---- simulated trials ---- */

/* Mark a new trial (no randomisations yet) as simulated; audited, and reported. */
lp_status lp_trial_mark_simulated(lp_trial *t, const char *user, lp_error *err);
bool lp_trial_is_simulated(lp_trial *t);
/* In a simulated trial only: a key whose secret comes from `seed`, so that the same
 * seed gives the same sealed lists (a simulation is reproducible; its key is no
 * secret, which is why a real trial refuses this). */
lp_status lp_key_create_simulated(lp_trial *t, const char *path, uint64_t seed, lp_trial_key **out, lp_error *err);
/* In a simulated trial only, with the key: a randomised patient's arm (0 or 1), for
 * the simulator to generate that patient's course. A real trial refuses (use
 * emergency unblinding, or the allocations after lock). */
lp_status lp_trial_simulated_arm(lp_trial *t, const lp_trial_key *k, const char *patient, int *arm, lp_error *err);

/* ---- export / import ---- */

/* Write every table as DIR/<table>.csv (ordered by id; NULL as an empty field, an
 * empty text as ""), DIR/data_dictionary.csv and DIR/manifest.csv. With a key (only
 * after lock) also DIR/allocations.csv with the arms. Deterministic: the same
 * database always gives the same bytes. The files are written into a new folder beside
 * DIR that takes DIR's place only when complete (leopards/outdir.h): on failure an
 * earlier export in DIR is unchanged, and an existing DIR that leopards did not write
 * (one holding any file of someone else's) is refused untouched (LP_EDENIED). */
lp_status lp_trial_export(lp_trial *t, const char *dir, const lp_trial_key *k, lp_error *err);
/* lp_trial_export with the arms, audited (the way a front end gives the allocations
 * out): `user` must be a statistician, the trial locked, `k` its key and `dir` a
 * folder that may be written (leopards/outdir.h); then one row of `disclosures`
 * records who exported how many patients' arms and to where, in the audit trail,
 * before the files are written. Needs a handle opened for writing. */
lp_status lp_trial_export_arms(lp_trial *t, const char *dir, const lp_trial_key *k, const char *user, lp_error *err);
/* The export behind a closed report for the data monitoring committee: with the arms,
 * also while the trial runs (unlocked). `user` must be a statistician and `k` the
 * trial's key; the disclosure (`where`: the report's folder, or NULL for `dir`) is
 * recorded and audited first, then every file, the arms included, is written from one
 * read transaction. Refused with nothing recorded or written otherwise. */
lp_status lp_trial_export_closed(lp_trial *t, const char *dir, const lp_trial_key *k, const char *user,
                                 const char *where, lp_error *err);

/* ---- one consistent snapshot ----
 * Between begin and end every read through the handle (export, progress, allocations)
 * sees the trial as of one commit, whatever other processes write meanwhile. No write
 * through the handle is possible in between. */
lp_status lp_trial_snapshot_begin(lp_trial *t, lp_error *err);
void lp_trial_snapshot_end(lp_trial *t);

/* ---- group commit ----
 * Between lp_trial_batch_begin and lp_trial_batch_commit the handle holds one write
 * transaction (and the writers' lock), and every write call made through it (a
 * randomisation, a screening, a record...) runs in a savepoint of that transaction:
 * a call that succeeds keeps its changes and their audit entries for the batch, a
 * call that fails undoes its own alone. Nothing is durable, and nothing should be
 * reported to anyone as done, before lp_trial_batch_commit returns LP_OK: one commit
 * (one sync of the log) makes every kept call durable at once. After each call,
 * lp_trial_batch_intact says whether the transaction is still whole; when an error
 * made SQLite undo it (an I/O error, a full disk), the calls kept so far are lost and
 * lp_trial_batch_commit reports it. A batch is for writes: a read snapshot
 * (lp_trial_snapshot_begin) is refused inside it, and an export made in it would read
 * the batch's uncommitted changes. */
lp_status lp_trial_batch_begin(lp_trial *t, lp_error *err);
bool lp_trial_batch_intact(lp_trial *t);
lp_status lp_trial_batch_commit(lp_trial *t, lp_error *err);
/* Give up the batch: nothing of it is kept. */
void lp_trial_batch_rollback(lp_trial *t);

/* CDISC ODM 1.3.2 in one new file at `path` (an existing file is refused; written to a
 * temporary file first and given its name only when complete): the metadata from the
 * field definitions (leopards/forms.h), AdminData (users without any credential, and
 * sites), and either a Snapshot of every randomised patient's forms, consents, data
 * queries, source data verifications and casebook signatures or, with `transactional`,
 * every change of these in the audit trail as an AuditRecord with its user, site, time
 * and reason. Blinded: no arm, list position or pack. */
lp_status lp_trial_export_odm(lp_trial *t, const char *path, bool transactional, lp_error *err);
/* A new trial file at `path` (refused if it exists) from an ODM Snapshot written by
 * lp_trial_export_odm: its sites, its users (without credentials: set them anew), and
 * every randomised patient with the screening record, the consents, the time of
 * randomisation, every form, the queries (in their state), verifications and casebook
 * signatures (one its records no longer hash to is marked invalidated, saying why), each
 * row audited as imported. The Snapshot is blinded, so the new trial
 * holds no allocations: each patient's randomisation has a list slot with no arm in
 * it. On any failure the new file is removed. */
lp_status lp_trial_import_odm(const char *path, const char *odm_path, lp_error *err);
/* Build a new trial file from an export (refused if `path` exists): rows copied
 * verbatim in one transaction, then the audit trail verified; on any failure the
 * new file is removed. */
lp_status lp_trial_import(const char *path, const char *dir, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
