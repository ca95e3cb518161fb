/* leopards core: status codes, error context, memory helpers, the version, the
 * once-only library set-up and the thread budget.
 * Every public function returns lp_status (LP_OK = 0) and writes results through
 * out-parameters; an lp_error, when given, receives a message that says what and where.
 *
 * The thread contract of the whole library (docs/design.md):
 * - Handles are per thread: an lp_trial (and the lp_trial_key loaded through it) is
 *   used by one thread at a time; each thread opens its own handle on the same file
 *   (SQLite and the store's writers' lock serialise the writes between them).
 * - Everything in stats/, clinical/, core/ (tables, CSV, strbuf, RNG), the derivation
 *   and the plan runner is re-entrant: no shared mutable state; objects passed in are
 *   only read, objects passed out belong to the caller.
 * - lp_init is once-only and thread-safe; the library also runs it when it is loaded.
 * - A call that can use several threads takes a `threads` option: > 0 is that many,
 *   0 is the process's thread budget (lp_set_thread_budget; by default every core).
 *   A server sets a budget of 1 or 2 so that concurrent requests do not oversubscribe. */
#ifndef LEOPARDS_CORE_H
#define LEOPARDS_CORE_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LP_VERSION "0.1.0"

/* One list generates the enum, the names and the messages. */
#define LP_STATUS_LIST(X)                                             \
  X(LP_OK, "ok", "success")                                           \
  X(LP_ENOMEM, "no-memory", "out of memory")                          \
  X(LP_EIO, "io", "input/output error")                               \
  X(LP_EPARSE, "parse", "malformed input")                            \
  X(LP_EINVAL, "invalid", "invalid argument")                         \
  X(LP_ERANGE, "range", "value out of range")                         \
  X(LP_ENOTFOUND, "not-found", "not found")                           \
  X(LP_EDATA, "data", "data unsuitable for the method")               \
  X(LP_ENUMERIC, "numeric", "numerical failure")                      \
  X(LP_ECONVERGE, "convergence", "did not converge")                  \
  X(LP_ESTATE, "state", "operation not allowed in the current state") \
  X(LP_EDENIED, "denied", "permission denied")                        \
  X(LP_EINTEGRITY, "integrity", "integrity check failed")             \
  X(LP_EDB, "database", "database error")                             \
  X(LP_EUNSUPPORTED, "unsupported", "not supported")

typedef enum {
#define LP_X_ENUM(code, name, msg) code,
  LP_STATUS_LIST(LP_X_ENUM)
#undef LP_X_ENUM
      LP_STATUS_COUNT
} lp_status;

/* The library's once-only set-up (GSL's aborting error handler switched off). Safe
 * from any thread, any number of times; the library calls it itself when loaded, so a
 * program need not, but one that loads the library in an unusual way may. */
void lp_init(void);
/* The threads a call may use when its `threads` option is 0 (0 here: every core).
 * Thread-safe; meant to be set once, by a server before it starts its workers. */
void lp_set_thread_budget(int threads);
/* `requested` when > 0, else the budget (every core when none is set). Thread-safe. */
int lp_thread_budget(int requested);

/* Static text for a status; never allocates, never NULL. */
const char *lp_strerror(lp_status s);
/* Short machine name ("parse", "range", ...) for JSON error objects. */
const char *lp_status_name(lp_status s);

/* Where an error happened and what it was. All fields are optional: line and
 * column are 0 when unknown, strings empty. `message` is the full sentence a user
 * sees, already carrying the location. */
typedef struct lp_error {
  lp_status status;
  char file[256];
  long line;
  long column;
  char field[128];
  char message[1024];
} lp_error;

/* Reset to LP_OK with empty fields. Accepts NULL. */
void lp_error_clear(lp_error *err);

/* Record an error with printf-style text; returns `s` so callers can
 * `return lp_error_set(err, LP_EINVAL, "...")`. NULL err only returns s. */
lp_status lp_error_set(lp_error *err, lp_status s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record an error at a place in an input: the message becomes
 * "FILE:LINE: column 'FIELD': text" (parts that are unknown are left out; with
 * neither file nor line, "field 'FIELD': text", a field of an input record). */
lp_status lp_error_at(lp_error *err, lp_status s, const char *file, long line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* The same for a key of a JSON input: "SOURCE: field 'KEY': text". */
lp_status lp_error_at_json(lp_error *err, lp_status s, const char *source, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Set the column (1-based position of the field in its row) of an error already
 * recorded; returns the error's status. The message is unchanged (it names the field). */
lp_status lp_error_set_column(lp_error *err, long column);

/* Find `s` among the `n` names (an option's choices): *index is its position; if it
 * is not there, LP_EINVAL with "unknown WHAT 's' (a, b or c)". */
lp_status lp_name_lookup(const char *s, const char *const *names, size_t n, const char *what, int *index,
                         lp_error *err);

/* Put `prefix: ` in front of an existing message (for context added on the way up). */
void lp_error_prefix(lp_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Allocation that reports failure through lp_status instead of returning NULL
 * silently; the size is checked for overflow (n * size). */
lp_status lp_calloc(size_t n, size_t size, void *out_ptr);
lp_status lp_realloc_array(void *inout_ptr, size_t n, size_t size);

#ifdef __cplusplus
}
#endif
#endif
