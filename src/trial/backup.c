/* Backups of a trial in use: a consistent copy through SQLite's online backup API
 * (writers carry on meanwhile), written under a temporary name and linked into place
 * (never over an existing file); and the restore, which puts a copy back only after
 * its audit trail verifies. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trial/trial_internal.h"

/* Copy every page of `src` into `dst` in one step: the source is read in one read
 * transaction, so the copy is the trial as of one commit. A busy destination (a live
 * trial being replaced) is waited for, up to about a minute. */
static lp_status copy_pages(sqlite3 *dst, sqlite3 *src, const char *what, lp_error *err) {
  sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
  if (!b) return lp_error_set(err, LP_EDB, "%s: %s", what, sqlite3_errmsg(dst));
  int rc, tries = 0;
  while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
    if (++tries > 60000) break;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return lp_error_set(err, LP_EDB, "%s: %s", what, sqlite3_errstr(rc));
  return LP_OK;
}

static lp_status sync_path(const char *path, bool dir, lp_error *err) {
  int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return lp_error_set(err, LP_EIO, "%s: cannot sync: %s", path, strerror(e));
  }
  close(fd);
  return LP_OK;
}

static void folder_of(const char *path, char *out, size_t n) {
  char copy[4096];
  snprintf(copy, sizeof copy, "%s", path);
  snprintf(out, n, "%s", dirname(copy));
}

/* Write a copy of the trial read through `src` to the new file `out`: under a
 * temporary name in the same folder, synced, then linked to `out` (refused if `out`
 * exists meanwhile), so `out` appears complete or not at all. */
static lp_status copy_to_new(lp_trial *src, const char *out, lp_error *err) {
  struct stat sb;
  if (lstat(out, &sb) == 0)
    return lp_error_set(err, LP_ESTATE, "%s already exists: a copy never overwrites a file", out);
  char tmp[4200], dir[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", out);
  int fd = mkstemp(tmp);
  if (fd < 0) return lp_error_set(err, LP_EIO, "%s: cannot create a file beside it: %s", out, strerror(errno));
  close(fd);
  sqlite3 *dst = NULL;
  lp_status s = lp__open_db(tmp, SQLITE_OPEN_READWRITE, &dst, err);
  if (!s) s = copy_pages(dst, src->db, out, err);
  if (dst) sqlite3_close(dst);
  if (!s) s = sync_path(tmp, false, err);
  if (!s && link(tmp, out) != 0) {
    if (errno == EEXIST) s = lp_error_set(err, LP_ESTATE, "%s already exists: a copy never overwrites a file", out);
    else
      s = lp_error_set(err, LP_EIO, "%s: %s", out, strerror(errno));
  }
  lp_trial_remove_files(tmp);
  folder_of(out, dir, sizeof dir);
  if (!s) s = sync_path(dir, true, err);
  return s;
}

/* Verify a trial file's audit trail: with the audit key (a path, or NULL) keyed, and
 * against a checkpoint file (or NULL) so that a rollback to an older copy shows. */
static lp_status verify_with(const char *path, const char *audit_key, const char *checkpoints, lp_backup_info *info,
                             lp_error *err) {
  lp_trial *t;
  lp_status s = lp_audit_open(path, &t, err);
  if (s) return s;
  lp_audit_key *k = NULL;
  if (audit_key && (s = lp_audit_key_load(t, audit_key, &k, err))) {
    lp_trial_close(t);
    return s;
  }
  lp_audit_check c = {.key = k, .checkpoints = checkpoints};
  lp_audit_report r;
  s = lp_audit_verify_with(t, &c, &r, err);
  lp_audit_key_free(k);
  lp_trial_close(t);
  if (s) return s;
  info->entries = r.entries;
  snprintf(info->head, sizeof info->head, "%s", r.head);
  info->intact = r.nproblems == 0;
  snprintf(info->problem, sizeof info->problem, "%s", r.nproblems ? r.problems[0].message : "");
  return LP_OK;
}

static lp_status verify_file(const char *path, lp_backup_info *info, lp_error *err) {
  return verify_with(path, NULL, NULL, info, err);
}

lp_status lp_trial_backup(const char *db, const char *out, lp_backup_info *info, lp_error *err) {
  memset(info, 0, sizeof *info);
  lp_trial *src;
  lp_status s = lp__open_readonly(db, 1, false, &src, err);
  if (s) return s;
  s = copy_to_new(src, out, err);
  lp_trial_close(src);
  if (!s) s = verify_file(out, info, err);
  return s;
}

/* Replace the live trial `db` with the backup's pages, through SQLite (other
 * connections see one change, as from a commit), queued behind the writers. The
 * file replaced is kept first as DB.replaced-TIME.bak. */
static lp_status replace_live(lp_trial *src, const char *db, lp_restore_info *info, lp_error *err) {
  lp_trial *old;
  lp_status s = lp_audit_open(db, &old, err);
  if (s) return lp_error_prefix(err, "the trial to be replaced"), s;
  char stamp[40], sql[4400];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(info->kept, sizeof info->kept, "%s.replaced-%s.bak", db, stamp);
  char *q = sqlite3_mprintf("%Q", info->kept);
  snprintf(sql, sizeof sql, "VACUUM INTO %s", q ? q : "NULL");
  sqlite3_free(q);
  s = lp__exec(old, sql, err);
  lp_trial_close(old);
  if (s) return lp_error_prefix(err, "keeping a copy of the trial being replaced"), s;
  sqlite3 *dst = NULL;
  if ((s = lp__open_db(db, SQLITE_OPEN_READWRITE, &dst, err))) return s;
  char lock[4200];
  snprintf(lock, sizeof lock, "%s-writer", db);
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0 && errno == ELOOP) {
    sqlite3_close(dst);
    return lp_error_set(err, LP_EDENIED, "%s is a symbolic link; the lock file beside a trial must be a plain file",
                        lock);
  }
  if (fd >= 0)
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
  s = copy_pages(dst, src->db, db, err);
  sqlite3_close(dst);
  if (fd >= 0) close(fd);
  return s;
}

lp_status lp_trial_restore(const char *backup, const char *db, const lp_restore_options *o, lp_restore_info *info,
                           lp_error *err) {
  memset(info, 0, sizeof *info);
  lp_backup_info b;
  lp_status s = verify_with(backup, o ? o->audit_key : NULL, o ? o->checkpoints : NULL, &b, err);
  if (s) return lp_error_prefix(err, "the backup"), s;
  if (!b.intact)
    return lp_error_set(err, LP_EINTEGRITY, "%s: the backup's audit trail does not verify, so it is not restored: %s",
                        backup, b.problem);
  info->entries = b.entries;
  snprintf(info->head, sizeof info->head, "%s", b.head);
  lp_trial *src;
  if ((s = lp__open_readonly(backup, 1, false, &src, err))) return s;
  struct stat sb;
  if (lstat(db, &sb) != 0) {
    s = copy_to_new(src, db, err);
  } else if (!o || !o->replace) {
    s = lp_error_set(err, LP_ESTATE,
                     "%s exists: a restore replaces a trial only when asked to (and keeps a copy of it)", db);
  } else {
    info->replaced = true;
    s = replace_live(src, db, info, err);
  }
  lp_trial_close(src);
  if (s) return s;
  lp_backup_info after;
  if ((s = verify_file(db, &after, err))) return s;
  if (!after.intact || after.entries != b.entries)
    return lp_error_set(err, LP_EINTEGRITY, "%s: the restored trial does not verify as the backup did: %s", db,
                        after.problem);
  return LP_OK;
}
