/* File helpers of the report module: whole-file writes and replacing an output
 * folder in one step. */
#ifndef LEOPARDS_FSUTIL_H
#define LEOPARDS_FSUTIL_H

#include <stddef.h>

#include <leopards/core.h>

/* Write `len` bytes to path (through a temporary name and rename). */
lp_status lp__write_file(const char *path, const char *data, size_t len, lp_error *err);
/* Make an empty staging folder beside `dir` ("DIR.partial-PID"); its path in `out`. */
lp_status lp__make_staging_dir(const char *dir, char *out, size_t n, lp_error *err);
/* Put the staging folder in the place of `dir` (an existing `dir` is removed). */
lp_status lp__replace_dir(const char *staging, const char *dir, lp_error *err);
/* Remove a folder and everything in it (links are removed, not followed). */
void lp__remove_tree(const char *dir);

#endif
