/* Test helpers: R reference values (tests/ref/NAME.csv, two columns name,value,
 * written by the scripts in tests/r), shipped data sets (tests/data/NAME.csv) and
 * tolerance checks. Included after cmocka.h. */
#ifndef LEOPARDS_TESTUTIL_H
#define LEOPARDS_TESTUTIL_H

#include <math.h>
#include <stddef.h>

#include <leopards/table.h>

typedef struct lp_ref lp_ref;

/* Load tests/ref/NAME.csv; fails the test if it cannot. */
lp_ref *ref_load(const char *name);
void ref_free(lp_ref *r);
/* The value called `key`; fails the test if there is none. NAN for "NA". */
double ref_get(const lp_ref *r, const char *key);
/* Same with a printf-style key. */
double ref_getf(const lp_ref *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Is there a value called `key`? */
int ref_has(const lp_ref *r, const char *key);

/* Load tests/data/NAME.csv; fails the test if it cannot. */
lp_table *data_load(const char *name);
/* Numeric column of a table at all rows (malloc'ed); fails the test on error. */
double *data_column(const lp_table *t, const char *col);

/* |actual - expected| <= rel * |expected| (or <= rel when expected is 0). Prints
 * both values and `what` on failure. A NaN on either side fails (two NaNs are not
 * "close": that would hide both sides failing); check a missing value with check_na. */
void check_close_(double actual, double expected, double rel, const char *what, const char *file, int line);
#define check_close(a, e, rel, what) check_close_((a), (e), (rel), (what), __FILE__, __LINE__)
/* `actual` is NaN (a value that must be missing). */
void check_na_(double actual, const char *what, const char *file, int line);
#define check_na(a, what) check_na_((a), (what), __FILE__, __LINE__)
/* Against an R reference value: NA in the reference (a literal "NA", the oracle's own
 * missing value) must be missing here (check_na), any other value close (check_close). */
#define check_ref(a, e, rel, what)                                  \
  do {                                                              \
    double e_ref_ = (e);                                            \
    if (isnan(e_ref_)) check_na_((a), (what), __FILE__, __LINE__);  \
    else                                                            \
      check_close_((a), e_ref_, (rel), (what), __FILE__, __LINE__); \
  } while (0)

/* Path of a file under tests/ (static buffer per call site is not needed: caller buffer). */
const char *test_path(char *buf, size_t n, const char *rel);

#endif
