/* Status names and messages (from the one X-macro list) and the error context helpers. */
#include <leopards/core.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's once-only set-up runs when it is loaded, before main and so before
 * any thread can make a GSL call (this file is linked by every user of the library). */
__attribute__((constructor)) static void init_at_load(void) { lp_init(); }

static const char *const status_msgs[] = {
#define LP_X_MSG(code, name, msg) msg,
    LP_STATUS_LIST(LP_X_MSG)
#undef LP_X_MSG
};
static const char *const status_names[] = {
#define LP_X_NAME(code, name, msg) name,
    LP_STATUS_LIST(LP_X_NAME)
#undef LP_X_NAME
};

const char *lp_strerror(lp_status s) {
  if ((unsigned)s >= LP_STATUS_COUNT) return "unknown status";
  return status_msgs[s];
}

const char *lp_status_name(lp_status s) {
  if ((unsigned)s >= LP_STATUS_COUNT) return "unknown";
  return status_names[s];
}

void lp_error_clear(lp_error *err) {
  if (!err) return;
  memset(err, 0, sizeof *err);
}

lp_status lp_error_set(lp_error *err, lp_status s, const char *fmt, ...) {
  if (!err) return s;
  lp_error_clear(err);
  err->status = s;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return s;
}

lp_status lp_name_lookup(const char *s, const char *const *names, size_t n, const char *what, int *index,
                         lp_error *err) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(s, names[i])) {
      *index = (int)i;
      return LP_OK;
    }
  char list[256] = "";
  size_t len = 0;
  for (size_t i = 0; i < n && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
  return lp_error_set(err, LP_EINVAL, "unknown %s '%s' (%s)", what, s, list);
}

/* "FILE:LINE: NOUN 'FIELD': text", NOUN "column" (a table) or "field" (JSON). */
static lp_status error_vat(lp_error *err, lp_status s, const char *file, long line, const char *noun, const char *field,
                           const char *fmt, va_list ap) {
  if (!err) return s;
  lp_error_clear(err);
  err->status = s;
  if (file) snprintf(err->file, sizeof err->file, "%s", file);
  err->line = line;
  if (field) snprintf(err->field, sizeof err->field, "%s", field);
  char text[768];
  vsnprintf(text, sizeof text, fmt, ap);
  size_t k = 0;
  char *m = err->message;
  size_t cap = sizeof err->message;
  if (file && *file) k += (size_t)snprintf(m + k, cap - k, "%s:", file);
  if (line > 0 && k < cap) k += (size_t)snprintf(m + k, cap - k, "%ld:", line);
  if (k > 0 && k < cap) k += (size_t)snprintf(m + k, cap - k, " ");
  if (field && *field && k < cap) k += (size_t)snprintf(m + k, cap - k, "%s '%s': ", noun, field);
  if (k < cap) snprintf(m + k, cap - k, "%s", text);
  return s;
}

lp_status lp_error_at(lp_error *err, lp_status s, const char *file, long line, const char *field, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  /* Without a file or line the field is one of an input record (JSON, options). */
  bool table = (file && *file) || line > 0;
  lp_status r = error_vat(err, s, file, line, table ? "column" : "field", field, fmt, ap);
  va_end(ap);
  return r;
}

lp_status lp_error_at_json(lp_error *err, lp_status s, const char *source, const char *field, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lp_status r = error_vat(err, s, source, 0, "field", field, fmt, ap);
  va_end(ap);
  return r;
}

lp_status lp_error_set_column(lp_error *err, long column) {
  if (!err) return LP_OK;
  err->column = column;
  return err->status;
}

void lp_error_prefix(lp_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[256], old[sizeof err->message];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->message, sizeof old);
  snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
}

lp_status lp_calloc(size_t n, size_t size, void *out_ptr) {
  void **out = out_ptr;
  *out = NULL;
  if (size && n > SIZE_MAX / size) return LP_ENOMEM;
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) return LP_ENOMEM;
  *out = p;
  return LP_OK;
}

lp_status lp_realloc_array(void *inout_ptr, size_t n, size_t size) {
  void **io = inout_ptr;
  if (size && n > SIZE_MAX / size) return LP_ENOMEM;
  void *p = realloc(*io, (n ? n : 1) * (size ? size : 1));
  if (!p) return LP_ENOMEM;
  *io = p;
  return LP_OK;
}
