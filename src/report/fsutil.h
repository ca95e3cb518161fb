/* File helpers of the report module: whole-file writes (output folders are made and
 * replaced through leopards/outdir.h). */
#ifndef LEOPARDS_FSUTIL_H
#define LEOPARDS_FSUTIL_H

#include <stddef.h>

#include <leopards/core.h>

/* Write `len` bytes to path (through a temporary name and rename). */
lp_status lp__write_file(const char *path, const char *data, size_t len, lp_error *err);

#endif
