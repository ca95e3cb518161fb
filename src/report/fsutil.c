/* Whole-file writes through a temporary name (output folders: leopards/outdir.h). */
#include "report/fsutil.h"

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
