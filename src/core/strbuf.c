/* Growable NUL-terminated text (lp_strbuf), shared by the report, the audit trail and
 * the outcome derivation. */
#include <leopards/strbuf.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(lp_strbuf *b, size_t extra) {
  if (b->nomem) return false;
  if (b->len + extra + 1 <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->nomem = true;
    return false;
  }
  b->p = p;
  b->cap = cap;
  return true;
}

void lp_strbuf_put(lp_strbuf *b, const char *s, size_t n) {
  if (!reserve(b, n)) return;
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void lp_strbuf_puts(lp_strbuf *b, const char *s) { lp_strbuf_put(b, s, strlen(s)); }

void lp_strbuf_puts_markup(lp_strbuf *b, const char *s) {
  for (const char *p = s; *p;) {
    size_t run = strcspn(p, "<>&\"'");
    lp_strbuf_put(b, p, run);
    p += run;
    if (!*p) break;
    lp_strbuf_puts(b, *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '&' ? "&amp;" : *p == '"' ? "&quot;" : "&#39;");
    p++;
  }
}

void lp_strbuf_printf(lp_strbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !reserve(b, (size_t)n)) return;
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void lp_strbuf_clear(lp_strbuf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}
