/* The trial store: one SQLite file per trial in WAL mode with synchronous=FULL (a
 * committed change survives a crash of the process and of the machine), the schema and
 * its migrations, transactions, the clock, users and roles, settings and the lock. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/file.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include <leopards/text.h>

#include <leopards/queries.h>

#include "trial/trial_internal.h"

/* ---- schema ----
 * Every index costs a page written at each randomisation, so only those that guard
 * integrity are kept: a patient is randomised once (randomisations.patient), a slot is
 * taken once (randomisations(site_id, seq)), a pack is in one slot (slots.pack), and
 * the recorded pack is the slot's (checked at unblinding and by verification). The
 * audit trail has no index: verification and the log read it in one pass.
 * Each migration takes the file from version i to i+1 and is frozen once released:
 * it only adds tables, columns or indexes, so an upgrade never loses data. Rows
 * leave NULL columns out of their audited form, so adding a column does not change
 * the audited content of existing rows. */

static const char *const migration_1 =
    "CREATE TABLE meta(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, value TEXT NOT NULL) "
    "STRICT;"
    "CREATE TABLE sites(id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, name TEXT NOT NULL) "
    "STRICT;"
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK(role IN ('investigator','manager','statistician')),"
    " site_id INTEGER REFERENCES sites(id), created_at TEXT NOT NULL) STRICT;"
    "CREATE TABLE screening(id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
    " patient TEXT UNIQUE, screened_at TEXT NOT NULL, screened_by TEXT NOT NULL,"
    " eligible INTEGER NOT NULL CHECK(eligible IN (0,1)), failed TEXT NOT NULL,"
    " inputs TEXT NOT NULL, reason_not_enrolled TEXT) STRICT;"
    "CREATE TABLE slots(id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL REFERENCES sites(id),"
    " seq INTEGER NOT NULL, pack INTEGER NOT NULL UNIQUE, nonce BLOB NOT NULL,"
    " sealed BLOB NOT NULL, UNIQUE(site_id, seq)) STRICT;"
    "CREATE TABLE randomisations(id INTEGER PRIMARY KEY, patient TEXT NOT NULL UNIQUE,"
    " site_id INTEGER NOT NULL REFERENCES sites(id), seq INTEGER NOT NULL,"
    " pack INTEGER NOT NULL, randomized_at TEXT NOT NULL, randomized_by TEXT NOT NULL,"
    " screening_id INTEGER NOT NULL REFERENCES screening(id), UNIQUE(site_id, seq),"
    " FOREIGN KEY(site_id, seq) REFERENCES slots(site_id, seq)) STRICT;"
    "CREATE TABLE unblindings(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), unblinded_at TEXT NOT NULL,"
    " unblinded_by TEXT NOT NULL, reason TEXT NOT NULL) STRICT;"
    "CREATE TABLE audit(id INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL,"
    " action TEXT NOT NULL, tbl TEXT NOT NULL, row_id INTEGER NOT NULL, patient TEXT,"
    " old TEXT, new TEXT, reason TEXT, prev_hash BLOB NOT NULL, hash BLOB NOT NULL) STRICT;";

/* Version 2: the clinical data (baseline, daily ICU records, infusion, outcomes,
 * adverse events). Units are those of the data dictionary (see record.c). */
static const char *const migration_2 =
    "CREATE TABLE patients(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL UNIQUE REFERENCES randomisations(patient),"
    " age INTEGER, sex TEXT, weight_kg REAL, height_cm REAL, race TEXT, recent_surgery INTEGER,"
    " ischemic_heart_disease INTEGER, congestive_heart_failure INTEGER, cardiac_failure INTEGER,"
    " severe_copd INTEGER, chronic_renal_failure INTEGER, cirrhosis INTEGER,"
    " immunocompromised INTEGER, diabetes INTEGER, beta_blockers INTEGER,"
    " shock_to_randomization_h REAL, norepinephrine REAL, epinephrine REAL, vasopressin REAL,"
    " dobutamine REAL, dopamine REAL, apache2 INTEGER, sofa INTEGER, infection_source TEXT,"
    " positive_culture INTEGER, mech_vent INTEGER, rrt INTEGER, ards INTEGER, rhythm TEXT,"
    " map REAL, heart_rate REAL, cvp REAL, cardiac_index REAL, stroke_volume REAL, sao2 REAL,"
    " scvo2 REAL, lactate REAL, pao2 REAL, fio2 REAL, resp_support INTEGER, creatinine REAL,"
    " bilirubin REAL, hemoglobin REAL, platelets REAL, gcs INTEGER, urine_ml REAL) STRICT;"
    "CREATE TABLE daily(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), day INTEGER NOT NULL,"
    " in_icu INTEGER, pao2 REAL, fio2 REAL, resp_support INTEGER, platelets REAL,"
    " bilirubin REAL, map REAL, dopamine REAL, dobutamine REAL, epinephrine REAL,"
    " norepinephrine REAL, vasopressin REAL, gcs INTEGER, creatinine REAL, urine_ml REAL,"
    " mech_vent INTEGER, rrt INTEGER, UNIQUE(patient, day)) STRICT;"
    "CREATE TABLE infusions(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), hour REAL NOT NULL,"
    " event TEXT NOT NULL, dose REAL NOT NULL, reason TEXT, UNIQUE(patient, hour)) STRICT;"
    "CREATE TABLE outcomes(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL UNIQUE REFERENCES randomisations(patient), received_drug INTEGER,"
    " icu_discharge TEXT, hospital_discharge TEXT, died INTEGER, death_date TEXT,"
    " weaned_date TEXT, consent_withdrawn INTEGER, consent_withdrawn_date TEXT) STRICT;"
    "CREATE TABLE adverse_events(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), onset TEXT NOT NULL,"
    " category TEXT NOT NULL, term TEXT NOT NULL, serious INTEGER NOT NULL,"
    " relatedness TEXT, outcome TEXT, description TEXT) STRICT;";

/* Version 3: the keyed audit chain. An entry from the audit key's installation on
 * carries a MAC (keyed BLAKE2b of its hash, see audit_key.c); older entries have none. */
static const char *const migration_3 = "ALTER TABLE audit ADD COLUMN mac BLOB;";

/* Version 4: web accounts (see account.c). The users table is rebuilt, rows and ids
 * unchanged, so that its role check admits the monitor. `accounts` and `sessions` are
 * audited and hold nothing secret, as are `refusals` (requests refused for another
 * site's data); the password hashes (`credentials`) and the hashes
 * of session tokens (`session_secrets`) are kept apart, outside the audited tables, so
 * that no secret ever enters the trail or an export. */
static const char *const migration_4 =
    "CREATE TABLE users_v3(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK(role IN ('investigator','manager','statistician','monitor')),"
    " site_id INTEGER REFERENCES sites(id), created_at TEXT NOT NULL) STRICT;"
    "INSERT INTO users_v3(id, name, role, site_id, created_at)"
    " SELECT id, name, role, site_id, created_at FROM users;"
    "DROP TABLE users;"
    "ALTER TABLE users_v3 RENAME TO users;"
    "CREATE TABLE accounts(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),"
    " must_change INTEGER NOT NULL CHECK(must_change IN (0,1)), failed_logins INTEGER NOT NULL,"
    " locked_until TEXT, password_set_at TEXT NOT NULL, password_set_by TEXT NOT NULL,"
    " deactivated_at TEXT, deactivated_by TEXT) STRICT;"
    "CREATE TABLE sessions(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),"
    " kind TEXT NOT NULL CHECK(kind IN ('session','api')), opened_at TEXT NOT NULL,"
    " expires_at TEXT NOT NULL, ended_at TEXT, ended_how TEXT) STRICT;"
    "CREATE TABLE credentials(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL UNIQUE REFERENCES users(id),"
    " hash TEXT NOT NULL) STRICT;"
    "CREATE TABLE session_secrets(id INTEGER PRIMARY KEY,"
    " session_id INTEGER NOT NULL UNIQUE REFERENCES sessions(id), token_hash BLOB NOT NULL UNIQUE,"
    " last_seen TEXT NOT NULL) STRICT;"
    "CREATE TABLE refusals(id INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL,"
    " action TEXT NOT NULL, site TEXT, patient TEXT) STRICT;";

/* Version 5: disclosures of the allocations (an export with the arms, a closed report
 * for the data monitoring committee): who was given the arms, of how many patients,
 * and where they were written. Audited like every trial row. */
static const char *const migration_5 =
    "CREATE TABLE disclosures(id INTEGER PRIMARY KEY, at TEXT NOT NULL, user TEXT NOT NULL,"
    " what TEXT NOT NULL, destination TEXT NOT NULL, patients INTEGER NOT NULL) STRICT;";
/* Version 6: informed consent (see consent.c). One row per consent: the initial one
 * that randomisation needs (kind 'initial', from the patient or a legal
 * representative; 'before_tracking' for patients randomised before consent was
 * recorded here) and the retrospective one owed after a representative's consent.
 * The settings consent_required and retrospective_refusal are rows of meta. */
static const char *const migration_6 =
    "CREATE TABLE consents(id INTEGER PRIMARY KEY, patient TEXT NOT NULL,"
    " site_id INTEGER NOT NULL REFERENCES sites(id),"
    " kind TEXT NOT NULL CHECK(kind IN ('initial','retrospective')),"
    " consent_by TEXT CHECK(consent_by IN ('patient','personal_representative','professional_representative',"
    "'before_tracking')),"
    " decision TEXT NOT NULL CHECK(decision IN ('given','refused','died','never_regained_capacity')),"
    " consented_at TEXT NOT NULL, taken_by TEXT, form_version TEXT, notes TEXT,"
    " recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, UNIQUE(patient, kind)) STRICT;";

/* Version 7: a site can be closed to recruitment during the trial (when, by whom and
 * why, audited with the site's row; sites added during the trial are ordinary rows),
 * and personal API tokens for automation: a `sessions` row of kind 'api' with its
 * label (audited, nothing secret), its token's hash in `session_secrets` as a
 * session's, so that no token ever enters the trail or an export. */
static const char *const migration_7 =
    "ALTER TABLE sites ADD COLUMN closed_at TEXT;"
    "ALTER TABLE sites ADD COLUMN closed_by TEXT;"
    "ALTER TABLE sites ADD COLUMN closed_reason TEXT;"
    "ALTER TABLE sessions ADD COLUMN label TEXT;";

/* Version 8: data queries, source data verification, principal investigators and
 * electronic signatures (see queries.c). Every table is audited: each step of a query,
 * each verification and its clearing, each signature and its invalidation is in the
 * trail with its user, time and reason. A query is on one field of one record (day for
 * the daily form, the row id for the repeating infusion and adverse-event forms); a
 * verification on one form instance; a signature binds the hash of what was signed. */
static const char *const migration_8 =
    "CREATE TABLE queries(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), form TEXT NOT NULL, day INTEGER NOT NULL,"
    " record INTEGER NOT NULL, field TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK(state IN ('open','answered','closed')),"
    " origin TEXT NOT NULL CHECK(origin IN ('check','manual')), text TEXT NOT NULL,"
    " opened_at TEXT NOT NULL, opened_by TEXT NOT NULL, answer TEXT, answered_at TEXT, answered_by TEXT,"
    " old_value TEXT, new_value TEXT, closed_at TEXT, closed_by TEXT, reopened INTEGER NOT NULL,"
    " reopen_text TEXT) STRICT;"
    "CREATE TABLE verifications(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), form TEXT NOT NULL, day INTEGER NOT NULL,"
    " record INTEGER NOT NULL, verified_at TEXT NOT NULL, verified_by TEXT NOT NULL, cleared_at TEXT,"
    " cleared_by TEXT, cleared_reason TEXT) STRICT;"
    "CREATE TABLE site_pis(id INTEGER PRIMARY KEY, site_id INTEGER NOT NULL UNIQUE REFERENCES sites(id),"
    " user_id INTEGER NOT NULL UNIQUE REFERENCES users(id), marked_at TEXT NOT NULL, marked_by TEXT NOT NULL)"
    " STRICT;"
    "CREATE TABLE signatures(id INTEGER PRIMARY KEY, scope TEXT NOT NULL CHECK(scope IN ('casebook','lock')),"
    " patient TEXT REFERENCES randomisations(patient), signer TEXT NOT NULL, printed_name TEXT NOT NULL,"
    " role TEXT NOT NULL, meaning TEXT NOT NULL, signed_at TEXT NOT NULL, content_hash TEXT NOT NULL,"
    " invalidated_at TEXT, invalidated_by TEXT, invalidated_reason TEXT) STRICT;";

/* Version 9: data entry on the web. `form_drafts` keeps a form saved before it is
 * submitted, one per patient, form and day (0 for a form that does not repeat): not
 * clinical data, never analysed or exported, and not audited (only the submitted
 * record is); a submission deletes its draft. An adverse event gains its expectedness
 * (`expected`: 1 when listed in the reference safety information), for the flag of a
 * serious unexpected related event. */
static const char *const migration_9 =
    "CREATE TABLE form_drafts(id INTEGER PRIMARY KEY,"
    " patient TEXT NOT NULL REFERENCES randomisations(patient), form TEXT NOT NULL,"
    " day INTEGER NOT NULL, saved_at TEXT NOT NULL, saved_by TEXT NOT NULL, data TEXT NOT NULL,"
    " UNIQUE(patient, form, day)) STRICT;"
    "ALTER TABLE adverse_events ADD COLUMN expected INTEGER;";

/* Version 10: a user's full (printed) name, shown in electronic signatures and their
 * manifestation (21 CFR 11.50) beside the account name; NULL until a trial manager
 * records it (a signature then shows the account name and says so). Audited with the
 * user's row. */
static const char *const migration_10 = "ALTER TABLE users ADD COLUMN full_name TEXT;";

/* Version 11: why the study drug was not started (`outcomes.not_received_reason`, a
 * code, and `not_received_other`, the text of an other reason), and a placebo patient
 * who also received the active drug open-label (`open_label_drug`), for Figure 1.
 * Rows of earlier versions keep NULL: the reason was not recorded. */
static const char *const migration_11 =
    "ALTER TABLE outcomes ADD COLUMN not_received_reason TEXT;"
    "ALTER TABLE outcomes ADD COLUMN not_received_other TEXT;"
    "ALTER TABLE outcomes ADD COLUMN open_label_drug INTEGER;";

static const char *const migrations[] = {migration_1, migration_2, migration_3, migration_4,  migration_5, migration_6,
                                         migration_7, migration_8, migration_9, migration_10, migration_11};
_Static_assert(sizeof migrations / sizeof migrations[0] == LP_TRIAL_SCHEMA_VERSION, "one migration per schema version");

/* ---- small helpers ---- */

void lp__hex(const uint8_t *b, size_t n, char *out) { sodium_bin2hex(out, 2 * n + 1, b, n); }

bool lp__unhex(const char *s, uint8_t *out, size_t n) {
  size_t got = 0;
  if (!s || strlen(s) != 2 * n) return false;
  if (sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) != 0) return false;
  return got == n;
}

lp_status lp__db_fail(lp_trial *t, lp_error *err, const char *what) {
  return lp_error_set(err, LP_EDB, "%s: %s: %s", t->path, what, sqlite3_errmsg(t->db));
}

lp_status lp__prepare(lp_trial *t, const char *sql, sqlite3_stmt **st, lp_error *err) {
  int freeslot = -1;
  for (int i = 0; i < LP__STMT_CACHE; i++) {
    lp__cached_stmt *c = &t->cache[i];
    if (!c->sql) {
      if (freeslot < 0) freeslot = i;
      continue;
    }
    if (!c->busy && !strcmp(c->sql, sql)) {
      c->busy = true;
      *st = c->st;
      return LP_OK;
    }
  }
  if (sqlite3_prepare_v2(t->db, sql, -1, st, NULL) != SQLITE_OK) {
    *st = NULL;
    return lp__db_fail(t, err, "preparing a statement");
  }
  if (freeslot >= 0 && (t->cache[freeslot].sql = strdup(sql))) {
    t->cache[freeslot].st = *st;
    t->cache[freeslot].busy = true;
  }
  return LP_OK;
}

void lp__abandon_new(lp_trial *t) {
  char path[sizeof t->path];
  snprintf(path, sizeof path, "%s", t->path);
  if (t->db) lp__rollback(t);
  lp__close_db(t);
  free(t);
  lp_trial_remove_files(path);
}

/* A trial's path is kept whole or refused: a path cut to fit would name another file
 * (the one a failed creation would then remove). */
static lp_status path_too_long(const char *path, lp_error *err) {
  return lp_error_set(err, LP_ERANGE, "the trial file's path is too long (%zu bytes; at most %zu)", strlen(path),
                      sizeof((lp_trial *)0)->path - 1);
}

lp_status lp__create_db(const char *path, const char *why_new, lp_trial **out, lp_error *err) {
  *out = NULL;
  struct stat sb;
  if (strlen(path) >= sizeof((lp_trial *)0)->path) return path_too_long(path, err);
  if (stat(path, &sb) == 0) return lp_error_set(err, LP_ESTATE, "%s already exists: %s", path, why_new);
  lp_trial *t = calloc(1, sizeof *t);
  if (!t) return lp_error_set(err, LP_ENOMEM, "out of memory");
  t->lock_fd = -1;
  t->read_lock_fd = -1;
  snprintf(t->path, sizeof t->path, "%s", path);
  lp_status s = lp__open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &t->db, err);
  if (!s) s = lp__exec(t, "PRAGMA journal_mode=WAL", err);
  if (s) {
    lp__abandon_new(t);
    return s;
  }
  *out = t;
  return LP_OK;
}

lp_status lp__select_patient(lp_trial *t, const char *sql, const char *patient, sqlite3_stmt **st, bool *row,
                             const char *what, lp_error *err) {
  if (lp__prepare(t, sql, st, err)) return LP_EDB;
  sqlite3_bind_text(*st, 1, patient, -1, SQLITE_STATIC);
  int rc = sqlite3_step(*st);
  *row = rc == SQLITE_ROW;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    lp__finalize(t, *st);
    return lp__db_fail(t, err, what);
  }
  return LP_OK;
}

void lp__finalize(lp_trial *t, sqlite3_stmt *st) {
  if (!st) return;
  for (int i = 0; i < LP__STMT_CACHE; i++)
    if (t->cache[i].st == st && t->cache[i].sql) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      t->cache[i].busy = false;
      return;
    }
  sqlite3_finalize(st);
}

void lp__close_db(lp_trial *t) {
  for (int i = 0; i < LP__STMT_CACHE; i++) {
    if (t->cache[i].sql) sqlite3_finalize(t->cache[i].st);
    free(t->cache[i].sql);
    t->cache[i].sql = NULL;
    t->cache[i].st = NULL;
  }
  /* The last connection to close copies the WAL into the file (a checkpoint). A reader
   * that found no WAL reads the file itself under a shared lock on PATH-writer (see
   * open.c), so a writing handle closes holding that lock: the file never changes
   * under such a reader. */
  int q = -1;
  if (t->db && !t->readonly && !t->lock_held) {
    char p[1100];
    snprintf(p, sizeof p, "%s-writer", t->path);
    q = t->lock_fd >= 0 ? t->lock_fd : open(p, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (q >= 0)
      while (flock(q, LOCK_EX) != 0 && errno == EINTR) {
      }
  }
  sqlite3_close(t->db);
  t->db = NULL;
  if (q >= 0 && q != t->lock_fd) close(q);
  if (t->lock_fd >= 0) close(t->lock_fd); /* releases a lock still held */
  t->lock_fd = -1;
  t->lock_held = false;
  if (t->read_lock_fd >= 0) close(t->read_lock_fd);
  t->read_lock_fd = -1;
}

lp_status lp__exec(lp_trial *t, const char *sql, lp_error *err) {
  char *msg = NULL;
  if (sqlite3_exec(t->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    lp_error_set(err, LP_EDB, "%s: %s", t->path, msg ? msg : sqlite3_errmsg(t->db));
    sqlite3_free(msg);
    return LP_EDB;
  }
  return LP_OK;
}

lp_status lp__two_counts(lp_trial *t, const char *sql, long id, long *a, long *b, const char *what, lp_error *err) {
  return lp__two_counts_on(t, sql, id, NULL, a, b, what, err);
}

lp_status lp__two_counts_on(lp_trial *t, const char *sql, long id, const char *text, long *a, long *b, const char *what,
                            lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, sql, &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, id);
  if (text) sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *a = (long)sqlite3_column_int64(st, 0);
    *b = (long)sqlite3_column_int64(st, 1);
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, what);
  return LP_OK;
}

static lp_status step_once(lp_trial *t, const char *sql, lp_error *err, const char *what) {
  sqlite3_stmt *st;
  if (lp__prepare(t, sql, &st, err)) return LP_EDB;
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, what);
  return LP_OK;
}

/* Writers queue on an advisory lock on PATH-writer (flock: the kernel wakes the next
 * waiter the moment the holder commits or dies) before asking SQLite for its write
 * lock, so they do not sleep-and-poll in the busy handler while the disk is idle.
 * SQLite's own locking stays the authority; this only orders the queue. The lock file
 * is never reached through a symbolic link (one planted there could make every writer
 * create or lock a file elsewhere): such a link is refused. */
static lp_status writer_lock(lp_trial *t, lp_error *err) {
  if (t->lock_fd < 0) {
    char p[1100];
    snprintf(p, sizeof p, "%s-writer", t->path);
    t->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (t->lock_fd < 0 && errno == ELOOP)
      return lp_error_set(err, LP_EDENIED, "%s is a symbolic link; the lock file beside a trial must be a plain file",
                          p);
    if (t->lock_fd < 0) return LP_OK; /* no queue: SQLite's busy handler still serialises */
    struct stat sb;
    if (fstat(t->lock_fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      close(t->lock_fd);
      t->lock_fd = -1;
      return lp_error_set(err, LP_EDENIED, "%s is not a plain file", p);
    }
  }
  while (flock(t->lock_fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  t->lock_held = true;
  return LP_OK;
}

static void writer_unlock(lp_trial *t) {
  if (t->lock_held) flock(t->lock_fd, LOCK_UN);
  t->lock_held = false;
}

/* In a batch (group commit) a call's transaction is a savepoint of the batch's one
 * transaction: its release keeps the call's changes for the batch's commit, its
 * rollback undoes that call alone. */
static lp_status savepoint_begin(lp_trial *t, lp_error *err) {
  if (sqlite3_get_autocommit(t->db))
    return lp_error_set(err, LP_EDB, "%s: the batch's transaction has ended (an earlier error undid it)", t->path);
  lp_status s = step_once(t, "SAVEPOINT lp_call", err, "starting a write in the batch");
  if (!s) t->batch_depth++;
  return s;
}

static void savepoint_rollback(lp_trial *t) {
  if (t->batch_depth <= 0) return; /* no call's savepoint open: the batch stays as it is */
  t->batch_depth--;
  if (sqlite3_get_autocommit(t->db)) return; /* SQLite ended the whole transaction itself */
  sqlite3_exec(t->db, "ROLLBACK TO lp_call; RELEASE lp_call", NULL, NULL, NULL);
}

static lp_status savepoint_release(lp_trial *t, bool keep, lp_error *err) {
  lp_status s = t->batch_depth > 0 ? step_once(t, "RELEASE lp_call", err, "ending a write in the batch")
                                   : lp_error_set(err, LP_EDB, "%s: no write of the batch to end", t->path);
  if (!s) t->batch_depth--;
  else if (!keep)
    savepoint_rollback(t);
  return s;
}

lp_status lp__begin(lp_trial *t, lp_error *err) {
  if (t->readonly) return lp_error_set(err, LP_EDENIED, "%s was opened for reading only", t->path);
  if (t->batch) return savepoint_begin(t, err);
  lp_status s = writer_lock(t, err);
  if (s) return s;
  s = step_once(t, "BEGIN IMMEDIATE", err, "starting a write transaction");
  if (s) writer_unlock(t);
  return s;
}

lp_status lp__commit(lp_trial *t, lp_error *err) {
  if (t->batch) return savepoint_release(t, false, err);
  lp_status s = step_once(t, "COMMIT", err, "committing");
  if (s) lp__rollback(t);
  writer_unlock(t);
  return s;
}

lp_status lp__commit_keep(lp_trial *t, lp_error *err) {
  if (t->batch) return savepoint_release(t, true, err);
  lp_status s = step_once(t, "COMMIT", err, "committing");
  if (!s) writer_unlock(t);
  return s;
}

void lp__rollback(lp_trial *t) {
  if (t->batch) return savepoint_rollback(t);
  if (!sqlite3_get_autocommit(t->db)) sqlite3_exec(t->db, "ROLLBACK", NULL, NULL, NULL);
  writer_unlock(t);
}

lp_status lp_trial_batch_begin(lp_trial *t, lp_error *err) {
  if (t->batch) return lp_error_set(err, LP_ESTATE, "%s: a batch is already open on this handle", t->path);
  if (!sqlite3_get_autocommit(t->db))
    return lp_error_set(err, LP_ESTATE, "%s: a transaction is already open on this handle", t->path);
  lp_status s = lp__begin(t, err);
  if (s) return s;
  t->batch = true;
  t->batch_depth = 0;
  return LP_OK;
}

bool lp_trial_batch_intact(lp_trial *t) { return t->batch && t->batch_depth == 0 && !sqlite3_get_autocommit(t->db); }

lp_status lp_trial_batch_commit(lp_trial *t, lp_error *err) {
  if (!t->batch) return lp_error_set(err, LP_ESTATE, "%s: no batch is open on this handle", t->path);
  bool intact = lp_trial_batch_intact(t);
  t->batch = false;
  t->batch_depth = 0;
  if (!intact) {
    lp__rollback(t);
    return lp_error_set(err, LP_EDB, "%s: the batch's transaction was undone by an error: nothing of it is kept",
                        t->path);
  }
  return lp__commit(t, err);
}

void lp_trial_batch_rollback(lp_trial *t) {
  if (!t->batch) return;
  t->batch = false;
  t->batch_depth = 0;
  lp__rollback(t);
}

static void system_clock(void *ctx, char *buf, size_t n) {
  (void)ctx;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

void lp_trial_remove_files(const char *path) {
  static const char *const sides[] = {"", "-wal", "-shm", "-writer"};
  for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
    char f[4200];
    snprintf(f, sizeof f, "%s%s", path, sides[i]);
    remove(f);
  }
}

void lp__now(lp_trial *t, char *buf, size_t n) {
  if (t->clock) t->clock(t->clock_ctx, buf, n);
  else
    system_clock(NULL, buf, n);
}

void lp_trial_set_clock(lp_trial *t, lp_clock_fn fn, void *ctx) {
  t->clock = fn;
  t->clock_ctx = ctx;
}

void lp_trial_use_key(lp_trial *t, const lp_trial_key *k) { t->key = k; }
int lp_trial_schema_version(lp_trial *t) { return t->schema_version; }
const char *lp_trial_arm_label(lp_trial *t, int arm) { return (arm == 0 || arm == 1) ? t->arm_label[arm] : "?"; }

/* Busy handler: writers queue on BEGIN IMMEDIATE. Short sleeps growing to 2 ms keep
 * the lock busy under contention (SQLite's default handler sleeps up to 100 ms);
 * give up after about 60 s. */
static int busy_wait(void *ctx, int count) {
  (void)ctx;
  long us = count < 6 ? 50L << count : 2000;
  if (count > 40000) return 0;
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
  return 1;
}

lp_status lp__open_db(const char *path, int flags, sqlite3 **out, lp_error *err) {
  sqlite3 *db = NULL;
  *out = NULL;
  if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
    lp_error_set(err, LP_EDB, "%s: cannot open: %s", path, db ? sqlite3_errmsg(db) : "no memory");
    sqlite3_close(db);
    return LP_EDB;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_handler(db, busy_wait, NULL);
  /* Durability: synchronous=FULL syncs the WAL at every commit, so a commit that
   * returned survives a power loss, not only a process crash. */
  char *msg = NULL;
  if (sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;", NULL, NULL, &msg) != SQLITE_OK) {
    lp_error_set(err, LP_EDB, "%s: %s", path, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    sqlite3_close(db);
    return LP_EDB;
  }
  *out = db;
  return LP_OK;
}

lp_status lp__user_version(lp_trial *t, int *v, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "PRAGMA user_version", &st, err)) return LP_EDB;
  int rc = sqlite3_step(st);
  *v = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  lp__finalize(t, st);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, "reading the schema version");
  return LP_OK;
}

lp_status lp__schema_reference(int version, sqlite3 **out, lp_error *err) {
  *out = NULL;
  if (version < 1 || version > LP_TRIAL_SCHEMA_VERSION)
    return lp_error_set(err, LP_EUNSUPPORTED, "no schema version %d (this leopards knows 1 to %d)", version,
                        LP_TRIAL_SCHEMA_VERSION);
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return lp_error_set(err, LP_ENOMEM, "cannot open an in-memory database");
  }
  for (int v = 0; v < version; v++) {
    char *msg = NULL;
    if (sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK) {
      lp_error_set(err, LP_EDB, "building the reference schema (version %d): %s", v + 1, msg ? msg : "?");
      sqlite3_free(msg);
      sqlite3_close(db);
      return LP_EDB;
    }
  }
  *out = db;
  return LP_OK;
}

/* Apply migrations up to `target` (inside the caller's transaction). */
lp_status lp__migrate(lp_trial *t, int target, lp_error *err) {
  int v;
  if (lp__user_version(t, &v, err)) return LP_EDB;
  for (; v < target; v++) {
    if (lp__exec(t, migrations[v], err)) {
      lp_error_prefix(err, "upgrading the schema to version %d", v + 1);
      return LP_EDB;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
    if (lp__exec(t, sql, err)) return LP_EDB;
  }
  t->schema_version = target;
  return LP_OK;
}

lp_status lp__meta_get(lp_trial *t, const char *key, char *buf, size_t n, bool *found, lp_error *err) {
  sqlite3_stmt *st;
  if (found) *found = false;
  if (n) buf[0] = '\0';
  if (lp__prepare(t, "SELECT value FROM meta WHERE key=?", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
    if (found) *found = true;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading settings");
  if (rc == SQLITE_DONE && !found) return lp_error_set(err, LP_EINTEGRITY, "%s: setting '%s' is missing", t->path, key);
  return LP_OK;
}

lp_status lp__meta_set(lp_trial *t, const char *key, const char *value, const char *user, const char *reason,
                       lp_error *err) {
  sqlite3_stmt *st;
  lp_status s;
  if (lp__prepare(t, "SELECT id FROM meta WHERE key=?", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  long id = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
  lp__finalize(t, st);
  char *old = NULL;
  if (id) {
    if ((s = lp__row_json(t, "meta", id, &old, err))) return s;
    if (lp__prepare(t, "UPDATE meta SET value=? WHERE id=?", &st, err)) {
      free(old);
      return LP_EDB;
    }
    sqlite3_bind_int64(st, 2, id);
  } else if (lp__prepare(t, "INSERT INTO meta(key, value) VALUES(?2, ?1)", &st, err)) {
    return LP_EDB;
  } else {
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  }
  sqlite3_bind_text(st, 1, value, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(old);
    return lp__db_fail(t, err, "writing a setting");
  }
  if (!id) id = (long)sqlite3_last_insert_rowid(t->db);
  s = lp__audit_row(t, "meta", id, old, NULL, user, reason, err);
  free(old);
  return s;
}

/* Read the trial id and arm labels into the context. */
lp_status lp__load_context(lp_trial *t, lp_error *err) {
  char buf[128];
  if (lp__meta_get(t, "trial_id", buf, sizeof buf, NULL, err)) return err ? err->status : LP_EDB;
  if (!lp__unhex(buf, t->trial_id, LP__ID_BYTES))
    return lp_error_set(err, LP_EINTEGRITY, "%s: the trial id is malformed", t->path);
  if (lp__meta_get(t, "arm_a", t->arm_label[0], sizeof t->arm_label[0], NULL, err) ||
      lp__meta_get(t, "arm_b", t->arm_label[1], sizeof t->arm_label[1], NULL, err))
    return err ? err->status : LP_EDB;
  return LP_OK;
}

bool lp_trial_is_locked(lp_trial *t) {
  char buf[64];
  bool found = false;
  if (lp__meta_get(t, "locked_at", buf, sizeof buf, &found, NULL)) return true; /* fail safe */
  return found;
}

lp_status lp__check_unlocked(lp_trial *t, lp_error *err) {
  char buf[64];
  bool found;
  lp_status s = lp__meta_get(t, "locked_at", buf, sizeof buf, &found, err);
  if (s) return s;
  if (found) return lp_error_set(err, LP_ESTATE, "%s: the database was locked at %s; no data can change", t->path, buf);
  return LP_OK;
}

lp_status lp__site_id(lp_trial *t, const char *code, long *id, lp_error *err) {
  sqlite3_stmt *st;
  if (!code || !*code) return lp_error_set(err, LP_EINVAL, "no site given");
  if (lp__prepare(t, "SELECT id FROM sites WHERE code=?", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) *id = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  if (rc == SQLITE_DONE) return lp_error_set(err, LP_ENOTFOUND, "%s: no site '%s'", t->path, code);
  if (rc != SQLITE_ROW) return lp__db_fail(t, err, "looking up a site");
  return LP_OK;
}

lp_status lp__site_code(lp_trial *t, long id, char *buf, size_t n, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT code FROM sites WHERE id=?", &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
  lp__finalize(t, st);
  if (rc != SQLITE_ROW) return lp_error_set(err, LP_EINTEGRITY, "%s: no site number %ld", t->path, id);
  return LP_OK;
}

static const char *const role_names[] = {"investigator", "manager", "statistician", "monitor"};
const char *lp_role_name(lp_role r) { return (unsigned)r < 4 ? role_names[r] : "?"; }

lp_status lp__user_check(lp_trial *t, const char *user, unsigned roles, long site_id, const char *action,
                         lp_error *err) {
  sqlite3_stmt *st;
  if (!user || !*user) return lp__with_field(err, "user", lp_error_set(err, LP_EINVAL, "no user given to %s", action));
  /* accounts (and deactivation) exist from schema version 4 */
  if (lp__prepare(t,
                  t->schema_version >= 4 ? "SELECT role, site_id, (SELECT deactivated_at FROM accounts"
                                           " WHERE user_id=users.id) FROM users WHERE name=?"
                                         : "SELECT role, site_id, NULL FROM users WHERE name=?",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    lp__finalize(t, st);
    if (rc != SQLITE_DONE) return lp__db_fail(t, err, "looking up a user");
    return lp_error_set(err, LP_EDENIED, "%s: user '%s' is not registered in this trial", t->path, user);
  }
  char role[32];
  snprintf(role, sizeof role, "%s", (const char *)sqlite3_column_text(st, 0));
  long usite = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : (long)sqlite3_column_int64(st, 1);
  bool inactive = sqlite3_column_type(st, 2) != SQLITE_NULL;
  lp__finalize(t, st);
  if (inactive) return lp_error_set(err, LP_EDENIED, "user '%s' has been deactivated and may not %s", user, action);
  int r = -1;
  for (int i = 0; i < 4; i++)
    if (!strcmp(role, role_names[i])) r = i;
  if (r < 0 || !(roles & (1u << r)))
    return lp_error_set(err, LP_EDENIED, "user '%s' (%s) may not %s", user, role, action);
  if (r == LP_ROLE_INVESTIGATOR && site_id > 0 && usite != site_id) {
    char code[64] = "?";
    lp__site_code(t, site_id, code, sizeof code, NULL);
    return lp_error_set(err, LP_EDENIED, "user '%s' is an investigator of another site and may not %s at site %s", user,
                        action, code);
  }
  return LP_OK;
}

static lp_status add_user_tx(lp_trial *t, const char *name, lp_role role, long site_id, const char *by, lp_error *err) {
  sqlite3_stmt *st;
  char now[40];
  lp__now(t, now, sizeof now);
  if (!name || !*name || strlen(name) > 63)
    return lp_error_set(err, LP_EINVAL, "a user name must have 1 to 63 characters");
  lp_status bad = lp_text_check_identifier(name, "the user name", 63, err);
  if (bad) return bad;
  if (lp__prepare(t, "INSERT INTO users(name, role, site_id, created_at) VALUES(?,?,?,?)", &st, err)) return LP_EDB;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, lp_role_name(role), -1, SQLITE_STATIC);
  if (site_id > 0) sqlite3_bind_int64(st, 3, site_id);
  else
    sqlite3_bind_null(st, 3);
  sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return lp_error_set(err, LP_ESTATE, "%s: user '%s' already exists", t->path, name);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "adding a user");
  return lp__audit_row(t, "users", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, by, "user registered", err);
}

lp_status lp_user_add(lp_trial *t, const char *by, const char *name, lp_role role, const char *site, lp_error *err) {
  lp_status s;
  long site_id = 0;
  if ((unsigned)role > LP_ROLE_MONITOR) return lp_error_set(err, LP_EINVAL, "unknown role");
  if ((s = lp__begin(t, err))) return s;
  if ((s = lp__check_unlocked(t, err))) goto fail;
  if ((s = lp__user_may(t, by, LP_DO_MANAGE_USERS, 0, "register users", err))) goto fail;
  if (role == LP_ROLE_INVESTIGATOR) {
    if (!site) {
      s = lp__with_field(err, "site", lp_error_set(err, LP_EINVAL, "an investigator belongs to a site: name it"));
      goto fail;
    }
    if ((s = lp__site_id(t, site, &site_id, err))) goto fail;
  } else if (site && role != LP_ROLE_MONITOR) {
    s = lp_error_set(err, LP_EINVAL, "only investigators and monitors belong to a site");
    goto fail;
  } else if (site && (s = lp__site_id(t, site, &site_id, err))) /* a monitor of one site */
    goto fail;
  if ((s = add_user_tx(t, name, role, site_id, by, err))) goto fail;
  return lp__commit(t, err);
fail:
  lp__rollback(t);
  return s;
}

/* ---- create / open / close ---- */

static lp_status protocol_arms(const char *protocol, const char **a, const char **b, lp_error *err) {
  if (!protocol || !strcmp(protocol, "leopards")) {
    *a = "levosimendan";
    *b = "placebo";
    return LP_OK;
  }
  if (!strcmp(protocol, "generic")) {
    *a = "A";
    *b = "B";
    return LP_OK;
  }
  return lp_error_set(err, LP_EINVAL, "unknown protocol '%s' (known: leopards, generic)", protocol);
}

lp_status lp_trial_create(const char *path, const char *protocol, const lp_site_def *sites, size_t nsites,
                          const char *manager, lp_trial **out, lp_error *err) {
  return lp__trial_create_at(path, protocol, sites, nsites, manager, LP_TRIAL_SCHEMA_VERSION, out, err);
}

lp_status lp__trial_create_at(const char *path, const char *protocol, const lp_site_def *sites, size_t nsites,
                              const char *manager, int version, lp_trial **out, lp_error *err) {
  *out = NULL;
  const char *arm_a = NULL, *arm_b = NULL;
  lp_status s;
  if ((s = protocol_arms(protocol, &arm_a, &arm_b, err))) return s;
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  if (nsites == 0) return lp_error_set(err, LP_EINVAL, "a trial needs at least one site");
  lp_trial *t;
  const char *by = manager && *manager ? manager : "init";
  if ((s = lp__create_db(path, "a new trial needs a new file", &t, err))) return s;
  if ((s = lp__begin(t, err))) goto fail;
  if ((s = lp__migrate(t, version, err))) goto fail;
  randombytes_buf(t->trial_id, sizeof t->trial_id);
  char idhex[2 * LP__ID_BYTES + 1], now[40];
  lp__hex(t->trial_id, sizeof t->trial_id, idhex);
  lp__now(t, now, sizeof now);
  if ((s = lp__meta_set(t, "trial_id", idhex, by, "trial created", err)) ||
      (s = lp__meta_set(t, "protocol", protocol ? protocol : "leopards", by, "trial created", err)) ||
      (s = lp__meta_set(t, "created_at", now, by, "trial created", err)) ||
      (s = lp__meta_set(t, "arm_a", arm_a, by, "trial created", err)) ||
      (s = lp__meta_set(t, "arm_b", arm_b, by, "trial created", err)))
    goto fail;
  if (version >= 5 && (s = lp__consent_settings_default(t, by, "trial created", err))) goto fail;
  sqlite3_stmt *st;
  if ((s = lp__prepare(t, "INSERT INTO sites(code, name) VALUES(?,?)", &st, err))) goto fail;
  for (size_t i = 0; i < nsites; i++) {
    const char *code = sites[i].code, *name = sites[i].name ? sites[i].name : sites[i].code;
    if (!code || !*code || strlen(code) > 32 || strchr(code, ',') || strchr(code, ' ')) {
      lp__finalize(t, st);
      s = lp_error_set(err, LP_EDATA, "site %zu: a site code needs 1 to 32 characters without spaces or commas", i + 1);
      goto fail;
    }
    if ((s = lp_text_check_identifier(code, "the site code", 32, err)) ||
        (s = lp_text_check_identifier(name, "the site name", 200, err))) {
      lp__finalize(t, st);
      lp_error_prefix(err, "site %zu", i + 1);
      s = err ? (err->status = LP_EDATA) : LP_EDATA;
      goto fail;
    }
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
      lp__finalize(t, st);
      if (rc == SQLITE_CONSTRAINT_UNIQUE) s = lp_error_set(err, LP_EDATA, "site code '%s' is given twice", code);
      else
        s = lp__db_fail(t, err, "adding a site");
      goto fail;
    }
    if ((s = lp__audit_row(t, "sites", (long)sqlite3_last_insert_rowid(t->db), NULL, NULL, by, "trial created", err))) {
      lp__finalize(t, st);
      goto fail;
    }
  }
  lp__finalize(t, st);
  if ((s = add_user_tx(t, by, LP_ROLE_MANAGER, 0, by, err))) goto fail;
  if ((s = lp__commit(t, err))) goto fail;
  if ((s = lp__load_context(t, err))) goto fail;
  *out = t;
  return LP_OK;
fail:
  lp__abandon_new(t);
  return s;
}

void lp_trial_close(lp_trial *t) {
  if (!t) return;
  lp__close_db(t);
  lp_audit_key_free(t->own_audit_key);
  free(t);
}

/* ---- lock ---- */

/* The lock without a signature's password (see lp_trial_lock_with, queries.c). */
lp_status lp_trial_lock(lp_trial *t, const char *user, lp_error *err) {
  lp_lock_options o = {.user = user};
  return lp_trial_lock_with(t, &o, NULL, NULL, err);
}
