/* Whole-file writes through a temporary name, and atomic replacement of a folder. */
#include "report/fsutil.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

lp_status lp__write_file(const char *path, const char *data, size_t len, lp_error *err) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) return lp_error_set(err, LP_EIO, "%s: cannot write: %s", path, strerror(errno));
  bool ok = fwrite(data, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    return lp_error_set(err, LP_EIO, "%s: cannot write: %s", path, strerror(e));
  }
  return LP_OK;
}

void lp__remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char p[4400];
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      struct stat sb;
      /* Folders are followed only when they are real folders, never links. */
      if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) lp__remove_tree(p);
      else unlink(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

lp_status lp__make_staging_dir(const char *dir, char *out, size_t n, lp_error *err) {
  size_t len = strlen(dir);
  while (len > 1 && dir[len - 1] == '/') len--;
  snprintf(out, n, "%.*s.partial-%ld", (int)len, dir, (long)getpid());
  lp__remove_tree(out);
  if (mkdir(out, 0755) != 0)
    return lp_error_set(err, LP_EIO, "%.*s: cannot create the output folder: %s", (int)len, dir, strerror(errno));
  return LP_OK;
}

lp_status lp__replace_dir(const char *staging, const char *dir, lp_error *err) {
  struct stat sb;
  char old[4200];
  old[0] = '\0';
  if (stat(dir, &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) return lp_error_set(err, LP_EIO, "%s exists and is not a folder", dir);
    snprintf(old, sizeof old, "%s.old-%ld", dir, (long)getpid());
    lp__remove_tree(old);
    if (rename(dir, old) != 0) return lp_error_set(err, LP_EIO, "%s: cannot replace: %s", dir, strerror(errno));
  }
  if (rename(staging, dir) != 0) {
    int e = errno;
    if (old[0]) rename(old, dir);
    return lp_error_set(err, LP_EIO, "%s: cannot create: %s", dir, strerror(e));
  }
  if (old[0]) lp__remove_tree(old);
  return LP_OK;
}
