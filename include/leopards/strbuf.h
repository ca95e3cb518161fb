/* leopards growable text: append bytes, strings or printf output; an allocation
 * failure is remembered (nomem) and later appends do nothing, so a caller checks once
 * at the end. The text is always NUL-terminated.
 * Ownership: the buffer's text is the caller's to free. Threads: one buffer per thread. */
#ifndef LEOPARDS_STRBUF_H
#define LEOPARDS_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_strbuf {
  char *p;
  size_t len, cap;
  bool nomem;
} lp_strbuf;

void lp_strbuf_put(lp_strbuf *b, const char *s, size_t n);
void lp_strbuf_puts(lp_strbuf *b, const char *s);
void lp_strbuf_printf(lp_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as HTML or XML text, fit for an element or an attribute in either quotes:
 * <, >, &, " and ' become entities. */
void lp_strbuf_puts_markup(lp_strbuf *b, const char *s);
/* Free the text and reset to empty. */
void lp_strbuf_clear(lp_strbuf *b);

#ifdef __cplusplus
}
#endif
#endif
