/* Layout of lp_table, shared by the files of the core module only. */
#ifndef LEOPARDS_TABLE_INTERNAL_H
#define LEOPARDS_TABLE_INTERNAL_H

#include <stddef.h>

struct lp_table {
  char *text;    /* all cell texts, NUL-terminated, header first */
  size_t *cells; /* offset into text of each cell, row-major, header row first */
  size_t nrows;  /* data rows (header not counted) */
  size_t ncols;
  long *lines;  /* source line of each data row */
  char *source; /* file name for messages */
};

#endif
