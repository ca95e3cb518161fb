/* UTF-8 validation, the identifier rule and Latin-1 conversion (leopards/text.h). */
#include <leopards/text.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t lp_utf8_seq(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  if (n == 0) return 0;
  unsigned char c = u[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0; /* overlong */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90; /* overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else
    return 0;
  if (n < len || u[1] < lo || u[1] > hi) return 0;
  for (size_t k = 2; k < len; k++)
    if (u[k] < 0x80 || u[k] > 0xBF) return 0;
  return len;
}

bool lp_utf8_valid(const char *s, size_t n, size_t *bad) {
  for (size_t i = 0; i < n;) {
    size_t k = s[i] ? lp_utf8_seq(s + i, n - i) : 0;
    if (!k) {
      if (bad) *bad = i;
      return false;
    }
    i += k;
  }
  return true;
}

static uint32_t decode(const unsigned char *u, size_t k) {
  if (k == 1) return u[0];
  uint32_t cp = u[0] & (0xFF >> (k + 1));
  for (size_t j = 1; j < k; j++) cp = (cp << 6) | (u[j] & 0x3F);
  return cp;
}

/* Characters that do not print or that change how text around them is shown. */
static bool non_printing(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF || cp == 0xAD;
}

lp_status lp_text_check_identifier(const char *s, const char *what, size_t maxlen, lp_error *err) {
  if (!s || !*s) return lp_error_set(err, LP_EINVAL, "%s is empty", what);
  size_t n = strlen(s);
  if (maxlen && n > maxlen) return lp_error_set(err, LP_EINVAL, "%s is longer than %zu bytes", what, maxlen);
  size_t chars = 0;
  for (size_t i = 0; i < n;) {
    size_t k = lp_utf8_seq(s + i, n - i);
    chars++;
    if (!k)
      return lp_error_set(err, LP_EINVAL, "%s is not valid UTF-8 (byte 0x%02X at character %zu)", what,
                          (unsigned char)s[i], chars);
    uint32_t cp = decode((const unsigned char *)s + i, k);
    if (non_printing(cp))
      return lp_error_set(err, LP_EINVAL,
                          "%s has a %s character (U+%04X) at character %zu: only printable "
                          "characters are allowed",
                          what, cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ? "control" : "non-printing", (unsigned)cp,
                          chars);
    i += k;
  }
  return LP_OK;
}

lp_status lp_latin1_to_utf8(const char *s, size_t n, char **out, size_t *outlen, lp_error *err) {
  *out = NULL;
  if (n > (SIZE_MAX - 1) / 2) return lp_error_set(err, LP_ENOMEM, "out of memory");
  char *d = malloc(2 * n + 1);
  if (!d) return lp_error_set(err, LP_ENOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80) d[k++] = (char)c;
    else {
      d[k++] = (char)(0xC0 | (c >> 6));
      d[k++] = (char)(0x80 | (c & 0x3F));
    }
  }
  d[k] = '\0';
  *out = d;
  *outlen = k;
  return LP_OK;
}
