/* Opening a trial file: for reading (nothing written, no file created beside it), for
 * writing (current schema only), and the explicit schema upgrade, which keeps a copy
 * of the file and records itself in the audit trail. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "trial/trial_internal.h"

static bool side_exists(const char *path, const char *suffix) {
  char p[1100];
  struct stat sb;
  snprintf(p, sizeof p, "%s%s", path, suffix);
  return lstat(p, &sb) == 0;
}

/* "file:" URI of `path` with `query`: every byte outside the unreserved set and '/'
 * is percent-encoded, so '?', '#' and '%' in a file name stay part of the name. */
static lp_status file_uri(const char *path, const char *query, char *out, size_t n, lp_error *err) {
  static const char hexd[] = "0123456789ABCDEF";
  size_t k = (size_t)snprintf(out, n, "file:");
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    bool plain =
        (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("/-._~", *p);
    if (k + 4 >= n) return lp_error_set(err, LP_EINVAL, "%s: the path is too long", path);
    if (plain) out[k++] = (char)*p;
    else {
      out[k++] = '%';
      out[k++] = hexd[*p >> 4];
      out[k++] = hexd[*p & 15];
    }
  }
  if (k + strlen(query) + 2 >= n) return lp_error_set(err, LP_EINVAL, "%s: the path is too long", path);
  snprintf(out + k, n - k, "?%s", query);
  return LP_OK;
}

/* The first 100 bytes must be an SQLite header; *wal tells whether the file is in WAL
 * mode (read and write versions 2). Read through SQLite's own file layer, not open()
 * and close(): closing any descriptor of a file drops every POSIX lock the process
 * holds on it, so a handle opened beside another (a server's workers) would release
 * the first one's shared lock, and another process's connection, closing as if last,
 * would remove the -wal that this process still writes to. SQLite's layer keeps such a
 * descriptor open until the process's last lock on the file is released. */
static lp_status sqlite_header(const char *path, bool *wal, lp_error *err) {
  unsigned char h[100];
  sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
  sqlite3_file *f = vfs ? calloc(1, (size_t)vfs->szOsFile) : NULL;
  if (!f) return lp_error_set(err, LP_ENOMEM, "out of memory");
  int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB, out = 0;
  char name[1100] = {0}; /* a database name ends in two NUL bytes, as SQLite's own do */
  if (strlen(path) + 2 > sizeof name) {
    free(f);
    return lp_error_set(err, LP_EINVAL, "%s: the path is too long", path);
  }
  memcpy(name, path, strlen(path));
  int rc = vfs->xOpen(vfs, name, f, flags, &out);
  if (rc != SQLITE_OK) {
    free(f);
    return lp_error_set(err, LP_EIO, "%s: cannot open: %s", path, sqlite3_errstr(rc));
  }
  rc = f->pMethods->xRead(f, h, sizeof h, 0);
  f->pMethods->xClose(f);
  free(f);
  if (rc != SQLITE_OK || memcmp(h, "SQLite format 3", 16))
    return lp_error_set(err, LP_EDATA, "%s is not a leopards trial database (not an SQLite file)", path);
  *wal = h[18] == 2 || h[19] == 2;
  return LP_OK;
}

static lp_trial *trial_alloc(const char *path, bool readonly) {
  lp_trial *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->lock_fd = -1;
  t->read_lock_fd = -1;
  t->readonly = readonly;
  snprintf(t->path, sizeof t->path, "%s", path);
  return t;
}

static void trial_drop(lp_trial *t) {
  if (t->db) lp__rollback(t);
  lp__close_db(t);
  free(t);
}

/* The schema version, refused when it is not a leopards trial's (no version, or
 * fewer than two of the trial's tables by name: a trial file that lost a table or
 * two is a damaged trial, which verification names), is newer than this code, or
 * older than `min_version`. */
static lp_status check_version(lp_trial *t, int min_version, int *v, lp_error *err) {
  lp_status s = lp__user_version(t, v, err);
  if (s) return s;
  sqlite3_stmt *st;
  long tables = 0;
  if (lp__prepare(t, "SELECT name FROM sqlite_master WHERE type='table'", &st, err)) return LP_EDB;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    if (name && (lp__is_audited(name) || !strcmp(name, "audit"))) tables++;
  }
  lp__finalize(t, st);
  if (*v == 0 || tables < 2) return lp_error_set(err, LP_EDATA, "%s is not a leopards trial database", t->path);
  if (*v > LP_TRIAL_SCHEMA_VERSION)
    return lp_error_set(err, LP_EUNSUPPORTED,
                        "%s has schema version %d; this leopards knows up to %d: use a newer leopards", t->path, *v,
                        LP_TRIAL_SCHEMA_VERSION);
  if (*v < min_version)
    return lp_error_set(err, LP_ESTATE,
                        "%s has schema version %d, older than this leopards' %d: the trial must be upgraded "
                        "first (the upgrade keeps a copy of the file and is audited)",
                        t->path, *v, LP_TRIAL_SCHEMA_VERSION);
  return LP_OK;
}

/* Reading never changes the file nor creates one beside it. SQLite's read-only mode
 * still creates PATH-wal and PATH-shm for a WAL file whose last connection has closed
 * (and leaves them behind), so such a file is read as it is ("immutable"): with no
 * -wal, every committed change is in the file. A writer that starts meanwhile writes
 * to its WAL, and copies the WAL into the file only at a checkpoint, which writers
 * make holding PATH-writer (at a commit, and at close: see lp__close_db); the reader
 * holds that lock shared until it closes, so the file stays as it was read. (A file
 * that has never been written by leopards has no PATH-writer to hold; it has no
 * writer either.) When a -wal exists, some connection is live or crashed: the read
 * goes through it, as any SQLite reader's does, and creates nothing; the shared lock
 * is held until the first read, so a writer closing meanwhile cannot remove -wal and
 * -shm between the look and the open (SQLite would make them anew). */
lp_status lp__open_readonly(const char *path, int min_version, bool load, lp_trial **out, lp_error *err) {
  *out = NULL;
  if (sodium_init() < 0) return lp_error_set(err, LP_EUNSUPPORTED, "libsodium failed to start");
  struct stat sb;
  if (stat(path, &sb) != 0) return lp_error_set(err, LP_ENOTFOUND, "%s: no such trial database", path);
  if (!S_ISREG(sb.st_mode)) return lp_error_set(err, LP_EDATA, "%s is not a file", path);
  bool wal = false;
  lp_status s = sqlite_header(path, &wal, err);
  if (s) return s;
  lp_trial *t = trial_alloc(path, true);
  if (!t) return lp_error_set(err, LP_ENOMEM, "out of memory");
  const char *query = "mode=ro";
  if (wal) { /* hold the writers' lock shared while deciding, opening and first reading */
    char p[1100];
    snprintf(p, sizeof p, "%s-writer", path);
    t->read_lock_fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (t->read_lock_fd >= 0)
      while (flock(t->read_lock_fd, LOCK_SH) != 0 && errno == EINTR) {
      }
    /* A connection being opened elsewhere has its -wal a moment before its -shm. */
    int tries = 0;
    while (side_exists(path, "-wal") && !side_exists(path, "-shm") && tries++ < 2000) {
      struct timespec ts = {0, 500000};
      nanosleep(&ts, NULL);
    }
    if (!side_exists(path, "-wal")) query = "immutable=1";
    else if (!side_exists(path, "-shm")) {
      trial_drop(t);
      return lp_error_set(err, LP_ESTATE,
                          "%s-wal exists without %s-shm (left by a crash): open the trial once for writing "
                          "to recover it",
                          path, path);
    }
  }
  char uri[3400];
  if ((s = file_uri(path, query, uri, sizeof uri, err)) ||
      (s = lp__open_db(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, &t->db, err))) {
    trial_drop(t);
    return s;
  }
  int v;
  if ((s = check_version(t, min_version, &v, err))) goto fail;
  t->schema_version = v;
  if (strcmp(query, "immutable=1") && t->read_lock_fd >= 0) {
    /* reading through the WAL: this connection now keeps -wal and -shm from being
     * removed, and SQLite's own locks take over */
    close(t->read_lock_fd);
    t->read_lock_fd = -1;
  }
  if (load && (s = lp__load_context(t, err))) goto fail;
  *out = t;
  return LP_OK;
fail:
  trial_drop(t);
  return s;
}

/* Open for writing; the file is first looked at read-only, so that a file that is not
 * a current leopards trial is refused before SQLite is allowed to write anything. */
static lp_status open_rw(const char *path, int min_version, bool load, lp_trial **out, lp_error *err) {
  *out = NULL;
  lp_trial *probe;
  lp_status s = lp__open_readonly(path, min_version, false, &probe, err);
  if (s) return s;
  lp_trial_close(probe);
  lp_trial *t = trial_alloc(path, false);
  if (!t) return lp_error_set(err, LP_ENOMEM, "out of memory");
  if ((s = lp__open_db(path, SQLITE_OPEN_READWRITE, &t->db, err))) {
    free(t);
    return s;
  }
  int v;
  if ((s = check_version(t, min_version, &v, err))) goto fail; /* the file may have changed meanwhile */
  t->schema_version = v;
  if (load && (s = lp__load_context(t, err))) goto fail;
  *out = t;
  return LP_OK;
fail:
  trial_drop(t);
  return s;
}

/* A path cut to fit the handle would name another file: refused whole. */
static bool path_fits(const char *path, lp_trial **out, lp_error *err) {
  *out = NULL;
  if (strlen(path) < sizeof((lp_trial *)0)->path) return true;
  lp_error_set(err, LP_ERANGE, "the trial file's path is too long (%zu bytes; at most %zu)", strlen(path),
               sizeof((lp_trial *)0)->path - 1);
  return false;
}

lp_status lp_trial_open(const char *path, lp_trial **out, lp_error *err) {
  if (!path_fits(path, out, err)) return LP_ERANGE;
  return open_rw(path, LP_TRIAL_SCHEMA_VERSION, true, out, err);
}

lp_status lp_trial_open_readonly(const char *path, lp_trial **out, lp_error *err) {
  if (!path_fits(path, out, err)) return LP_ERANGE;
  return lp__open_readonly(path, LP_TRIAL_SCHEMA_VERSION, true, out, err);
}

lp_status lp_audit_open(const char *path, lp_trial **out, lp_error *err) {
  if (!path_fits(path, out, err)) return LP_ERANGE;
  return lp__open_readonly(path, 1, false, out, err);
}

/* ---- upgrade ---- */

/* Keep a copy of the file before an upgrade (VACUUM INTO writes a consistent copy). */
static lp_status backup_before_upgrade(lp_trial *t, int from, lp_error *err) {
  char bak[1100], sql[1300];
  snprintf(bak, sizeof bak, "%s.schema-v%d.bak", t->path, from);
  struct stat sb;
  if (stat(bak, &sb) == 0) return LP_OK; /* an earlier attempt kept it already */
  char *q = sqlite3_mprintf("%Q", bak);
  if (!q) return lp_error_set(err, LP_ENOMEM, "out of memory");
  snprintf(sql, sizeof sql, "VACUUM INTO %s", q);
  sqlite3_free(q);
  lp_status s = lp__exec(t, sql, err);
  if (s && stat(bak, &sb) == 0) return LP_OK; /* another process made it meanwhile */
  if (s) lp_error_prefix(err, "keeping a copy before the schema upgrade");
  return s;
}

/* Everything an upgrade does to the trial, inside its one transaction: the
 * migrations, then the audited record of the upgrade (a setting, so the row and its
 * entry agree). Whatever else an existing trial gains at its upgrade belongs here,
 * after the migrations and before the commit. */
static lp_status upgrade_tx(lp_trial *t, int from, const char *user, lp_error *err) {
  lp_status s = lp__migrate(t, LP_TRIAL_SCHEMA_VERSION, err);
  if (s) return s;
  /* Consent is tracked from version 6: the patients randomised before owe nothing. */
  if (from < 6 &&
      (s = lp__consent_mark_untracked(t, user, "schema upgraded: recorded before consent was tracked", err)))
    return s;
  char now[40], what[128];
  lp__now(t, now, sizeof now);
  snprintf(what, sizeof what, "version %d to %d at %s", from, LP_TRIAL_SCHEMA_VERSION, now);
  return lp__meta_set(t, "schema_upgrade", what, user, "schema upgraded", err);
}

lp_status lp_trial_upgrade(const char *path, const char *user, int *from, lp_error *err) {
  lp_trial *t;
  *from = 0;
  lp_status s = open_rw(path, 1, false, &t, err);
  if (s) return s;
  *from = t->schema_version;
  if (t->schema_version == LP_TRIAL_SCHEMA_VERSION) {
    lp_trial_close(t);
    return LP_OK;
  }
  if ((s = lp__user_check(t, user, (1u << LP_ROLE_MANAGER) | (1u << LP_ROLE_STATISTICIAN), 0, "upgrade the trial",
                          err)) ||
      (s = backup_before_upgrade(t, t->schema_version, err)) || (s = lp__begin(t, err)))
    goto done;
  int v;
  if ((s = lp__user_version(t, &v, err))) goto done;
  *from = v;
  if (v < LP_TRIAL_SCHEMA_VERSION) { /* else another process upgraded it meanwhile */
    if ((s = upgrade_tx(t, v, user, err))) goto done;
  }
  s = lp__commit(t, err);
done:
  lp__rollback(t);
  lp_trial_close(t);
  return s;
}
