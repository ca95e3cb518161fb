/* leopards text checks: UTF-8 validation for every input (CSV, JSON, plans) and the rule
 * for identifiers (site codes, user names, patient codes): printable UTF-8, no control
 * characters. The library applies them itself, so every front end refuses the same text. */
#ifndef LEOPARDS_TEXT_H
#define LEOPARDS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length (1 to 4) of the well-formed UTF-8 sequence at s (n bytes available), or 0 when
 * the bytes there are not UTF-8 (a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF, a sequence cut short). */
size_t lp_utf8_seq(const char *s, size_t n);

/* True when the n bytes are well-formed UTF-8 without a NUL byte; otherwise false and,
 * when `bad` is given, the offset of the first offending byte. */
bool lp_utf8_valid(const char *s, size_t n, size_t *bad);

/* Check an identifier (a site code, a user name, a patient code): not empty, at most
 * `maxlen` bytes, UTF-8, and no control characters (C0, DEL, C1) or other
 * non-printing characters (line and paragraph separators, bidirectional controls).
 * `what` names it in the message (the text itself is not repeated, so that a control
 * character never reaches a terminal): "site code has a control character (U+001B) at
 * character 3". */
lp_status lp_text_check_identifier(const char *s, const char *what, size_t maxlen, lp_error *err);

/* Latin-1 (ISO 8859-1) bytes to UTF-8: a new NUL-terminated string in *out (free it),
 * its length in *outlen. Every byte is a valid Latin-1 character, so this fails only
 * for want of memory. */
lp_status lp_latin1_to_utf8(const char *s, size_t n, char **out, size_t *outlen, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
