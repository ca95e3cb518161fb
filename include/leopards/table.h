/* leopards column tables: an RFC 4180 CSV reader that remembers where every row came
 * from (so errors name file, line and column), typed access to columns, complete-case
 * row selection, factor coding and model matrices with R's treatment contrasts.
 * Ownership: lp_table is read-only once read (lp_table_free); factors and model matrices own
 * their arrays. Threads: re-entrant; one table may be read from several threads. */
#ifndef LEOPARDS_TABLE_H
#define LEOPARDS_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_table lp_table;

/* Read a CSV file: header row, comma separated, RFC 4180 quoting (quoted fields may
 * hold commas, doubled quotes and newlines), LF or CRLF line ends, an optional UTF-8
 * byte-order mark, blank lines skipped. Fails with the file and line on: an
 * unreadable file, an empty file, a duplicate or empty column name, a row with the
 * wrong number of fields, a stray or unterminated quote, a NUL byte or bytes that are
 * not UTF-8 anywhere in a header or cell (these name the column, counted in characters).
 * On failure *out is NULL. */
lp_status lp_table_read_csv(const char *path, lp_table **out, lp_error *err);
/* The same from memory; `source` names the input in messages. */
lp_status lp_table_parse_csv(const char *text, size_t len, const char *source, lp_table **out, lp_error *err);
void lp_table_free(lp_table *t);

size_t lp_table_nrows(const lp_table *t);
size_t lp_table_ncols(const lp_table *t);
const char *lp_table_source(const lp_table *t);
const char *lp_table_colname(const lp_table *t, size_t col);
/* Source line (1-based) where data row `row` (0-based) starts. */
long lp_table_line(const lp_table *t, size_t row);

/* Index of a column, or an error naming the file and listing the columns it has. */
lp_status lp_table_column(const lp_table *t, const char *name, size_t *col, lp_error *err);
/* The text of a cell, or NULL when missing (empty, or NA after trimming blanks). */
const char *lp_table_cell(const lp_table *t, size_t row, size_t col);
/* True when every non-missing cell of the column is a decimal number, or text meant
 * as a number that is not finite (NaN, Inf, -Inf, 1e999): lp_table_numeric then
 * refuses that cell by name rather than the column turning into text. */
bool lp_table_is_numeric(const lp_table *t, size_t col);

/* Parse a decimal number the way a CSV cell holds it: optional blanks around, sign,
 * digits, point, exponent; no hex, no inf/nan words. Returns false if not a number. */
bool lp_parse_number(const char *s, double *out);
/* "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z]" -> days since 1970-01-01 (UTC); NAN when `s` is
 * NULL or not a date. Re-entrant. */
double lp_parse_iso_days(const char *s);

/* Rows of the table with no missing value in any of the named columns (R's na.omit).
 * `*rows` is allocated (free() it); `*dropped` counts rows left out. */
lp_status lp_table_complete_rows(const lp_table *t, const char *const *cols, size_t ncols, size_t **rows, size_t *nrows,
                                 size_t *dropped, lp_error *err);

/* Values of a numeric column at the given rows; a cell that is not a number is an
 * error naming file, line and column. Missing cells give NAN. */
lp_status lp_table_numeric(const lp_table *t, size_t col, const size_t *rows, size_t n, double *out, lp_error *err);

/* A 0/1 column (event indicators, binary outcomes): anything else is an error. */
lp_status lp_table_binary(const lp_table *t, size_t col, const size_t *rows, size_t n, int *out, lp_error *err);

/* A factor: levels sorted as R sorts them (numerically for a numeric column, by
 * byte order of the text otherwise, which is R's order in the C locale), codes
 * 0..nlevels-1 per row. */
typedef struct lp_factor {
  size_t nlevels;
  char **levels; /* owned */
  int *codes;    /* owned, one per selected row */
  size_t n;
} lp_factor;
lp_status lp_factor_init(lp_factor *f, const lp_table *t, size_t col, const size_t *rows, size_t n, lp_error *err);
/* Put the named levels first, in the given order (e.g. --levels B,A); an unknown
 * name is an error. */
lp_status lp_factor_reorder(lp_factor *f, const char *const *first, size_t nfirst, lp_error *err);
void lp_factor_clear(lp_factor *f);

/* A model matrix without intercept: numeric columns as they are, factor columns as
 * treatment-contrast indicators against the first level, named column+level as R
 * names them when the data frame column is a factor ("celltypelarge"). */
typedef struct lp_model_matrix {
  size_t n, p;
  double *x;    /* n x p, row-major */
  char **names; /* p names */
  int *term;    /* p: index of the term (input column) each column comes from */
  bool *factor; /* p: the column is an indicator of a factor level */
} lp_model_matrix;
/* `cols` lists the covariates in order; a column is a factor if it is not numeric
 * or if its name is in `factors`. Only the given rows are used. A factor with one
 * level is an error (no contrast can be formed). */
lp_status lp_model_matrix_init(lp_model_matrix *d, const lp_table *t, const char *const *cols, size_t ncols,
                               const char *const *factors, size_t nfactors, const size_t *rows, size_t n,
                               lp_error *err);
void lp_model_matrix_clear(lp_model_matrix *d);

/* Split "a,b,c" into a NULL-terminated array of strings (one allocation; free()
 * the returned pointer). Empty items are an error. */
lp_status lp_split_list(const char *text, char ***items, size_t *count, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
