/* RFC 4180 CSV reader into an lp_table: every cell kept as text, every row with the
 * line it started on, so that later typed access can name file, line and column. */
#include <leopards/table.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/text.h>

#include "core/table_internal.h"

void lp_table_free(lp_table *t) {
  if (!t) return;
  free(t->text);
  free(t->cells);
  free(t->lines);
  free(t->source);
  free(t);
}

/* Growable byte buffer for cell texts (each cell NUL-terminated). */
typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static lp_status buf_put(buf_t *b, char c) {
  if (b->len == b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    if (lp_realloc_array(&b->p, cap, 1)) return LP_ENOMEM;
    b->cap = cap;
  }
  b->p[b->len++] = c;
  return LP_OK;
}

typedef struct {
  size_t *v;
  size_t len, cap;
} offs_t;

static lp_status offs_put(offs_t *o, size_t x) {
  if (o->len == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 256;
    if (lp_realloc_array(&o->v, cap, sizeof *o->v)) return LP_ENOMEM;
    o->cap = cap;
  }
  o->v[o->len++] = x;
  return LP_OK;
}

/* A NUL byte or bytes that are not UTF-8 at text[i]: an error naming line and column
 * (characters from the start of the line, counted from 1). */
static lp_status bad_byte(const char *text, size_t i, size_t line_start, const char *source, long line, size_t field,
                          lp_error *err) {
  long col = 1;
  for (size_t k = line_start; k < i; k++) col += ((unsigned char)text[k] & 0xC0) != 0x80;
  lp_status st;
  if (text[i] == '\0')
    st = lp_error_at(err, LP_EPARSE, source, line, NULL,
                     "column %ld (field %zu): a NUL byte inside a field "
                     "(is this a text file?)",
                     col, field);
  else
    st = lp_error_at(err, LP_EPARSE, source, line, NULL,
                     "column %ld (field %zu): byte 0x%02X is not valid UTF-8 "
                     "(save the file as UTF-8, or read it as Latin-1)",
                     col, field, (unsigned char)text[i]);
  if (err) err->column = col;
  return st;
}

/* Bytes at text[i] that may be copied into a field: 1 for ASCII, the sequence's length
 * for UTF-8, 0 for a NUL byte or bytes that are not UTF-8. */
static size_t good_bytes(const char *text, size_t len, size_t i) {
  unsigned char c = (unsigned char)text[i];
  if (c == 0) return 0;
  return c < 0x80 ? 1 : lp_utf8_seq(text + i, len - i);
}

/* The reader's place in the text: the byte it is at, the line that byte is on and where
 * that line starts, and the cell texts read so far. */
typedef struct {
  const char *text;
  size_t len;
  const char *source;
  lp_error *err;
  size_t i, line_start;
  long line;
  buf_t buf;
} csv_reader;

/* Copies the character at the reader's byte into the field, or fails on a NUL byte or
 * bytes that are not UTF-8. */
static lp_status copy_char(csv_reader *r, size_t field) {
  size_t k = good_bytes(r->text, r->len, r->i);
  if (!k) return bad_byte(r->text, r->i, r->line_start, r->source, r->line, field, r->err);
  for (size_t j = 0; j < k; j++) {
    lp_status st = buf_put(&r->buf, r->text[r->i + j]);
    if (st) return st;
  }
  r->i += k;
  return LP_OK;
}

/* A quoted field from its opening quote: doubled quotes read as one, line ends kept; after
 * the closing quote only a comma, a line end or the end of input may follow. */
static lp_status read_quoted_field(csv_reader *r, size_t field) {
  const char *text = r->text;
  size_t len = r->len;
  long quote_line = r->line;
  lp_status st;
  r->i++;
  for (;;) {
    if (r->i >= len)
      return lp_error_at(r->err, LP_EPARSE, r->source, quote_line, NULL, "quoted field is never closed (missing '\"')");
    char c = text[r->i];
    if (c == '"') {
      if (r->i + 1 < len && text[r->i + 1] == '"') {
        if ((st = buf_put(&r->buf, '"'))) return st;
        r->i += 2;
        continue;
      }
      r->i++;
      break;
    }
    if ((st = copy_char(r, field))) return st;
    if (c == '\n') {
      r->line++;
      r->line_start = r->i;
    }
  }
  size_t i = r->i;
  if (i < len && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < len && text[i + 1] == '\n') &&
      text[i] != '\r')
    return lp_error_at(r->err, LP_EPARSE, r->source, r->line, NULL, "field %zu: unexpected text after a closing quote",
                       field);
  return LP_OK;
}

/* An unquoted field: text up to a comma, a line end or the end of input, with no quote. */
static lp_status read_unquoted_field(csv_reader *r, size_t field) {
  const char *text = r->text;
  while (r->i < r->len && text[r->i] != ',' && text[r->i] != '\n' && text[r->i] != '\r') {
    if (text[r->i] == '"')
      return lp_error_at(r->err, LP_EPARSE, r->source, r->line, NULL,
                         "field %zu: a quote inside an unquoted field (quote the whole field "
                         "and double the quote)",
                         field);
    lp_status st = copy_char(r, field);
    if (st) return st;
  }
  return LP_OK;
}

/* One record: fields until a line end or the end of input, each cell's offset added to
 * cells; the reader is left at the start of the next line. */
static lp_status read_record(csv_reader *r, offs_t *cells, size_t *nfields) {
  const char *text = r->text;
  size_t len = r->len;
  lp_status st;
  *nfields = 0;
  for (;;) {
    if ((st = offs_put(cells, r->buf.len))) return st;
    (*nfields)++;
    st = r->i < len && text[r->i] == '"' ? read_quoted_field(r, *nfields) : read_unquoted_field(r, *nfields);
    if (st) return st;
    if ((st = buf_put(&r->buf, '\0'))) return st;
    if (r->i < len && text[r->i] == ',') {
      r->i++;
      continue;
    }
    /* End of record. */
    if (r->i < len && text[r->i] == '\r') r->i++;
    if (r->i < len && text[r->i] == '\n') r->i++;
    r->line++;
    r->line_start = r->i;
    return LP_OK;
  }
}

/* The records read must make a table: a header row, every row as long as the header, and
 * every column named once. */
static lp_status check_shape(const buf_t *buf, const offs_t *cells, const offs_t *lines, const offs_t *rowlen,
                             const char *source, lp_error *err) {
  if (lines->len == 0)
    return lp_error_at(err, LP_EPARSE, source, 0, NULL, "the file is empty (a header row is needed)");
  size_t ncols = rowlen->v[0];
  for (size_t r = 1; r < lines->len; r++) {
    if (rowlen->v[r] != ncols)
      return lp_error_at(err, LP_EPARSE, source, (long)lines->v[r], NULL, "%zu fields where the header has %zu",
                         rowlen->v[r], ncols);
  }
  for (size_t c = 0; c < ncols; c++) {
    const char *name = buf->p + cells->v[c];
    if (!*name) return lp_error_at(err, LP_EPARSE, source, 1, NULL, "column %zu has no name", c + 1);
    for (size_t d = 0; d < c; d++) {
      if (!strcmp(name, buf->p + cells->v[d]))
        return lp_error_at(err, LP_EPARSE, source, 1, NULL, "column name '%s' appears twice", name);
    }
  }
  return LP_OK;
}

lp_status lp_table_parse_csv(const char *text, size_t len, const char *source, lp_table **out, lp_error *err) {
  *out = NULL;
  if (!source) source = "<input>";
  csv_reader r = {.text = text, .len = len, .source = source, .err = err, .line = 1};
  offs_t cells = {0}, lines = {0}, rowlen = {0};
  lp_status st = LP_OK;
  if (len >= 3 && (unsigned char)text[0] == 0xEF && (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
    r.i = 3;

  /* Parse records. Each record: fields until a line end or the end of input. */
  while (r.i < len) {
    long rec_line = r.line;
    /* Skip a blank line (only a line end). */
    if (text[r.i] == '\n' || (text[r.i] == '\r' && r.i + 1 < len && text[r.i + 1] == '\n')) {
      r.i += text[r.i] == '\r' ? 2 : 1;
      r.line++;
      r.line_start = r.i;
      continue;
    }
    size_t nfields;
    if ((st = read_record(&r, &cells, &nfields))) goto fail;
    if ((st = offs_put(&lines, (size_t)rec_line))) goto fail;
    if ((st = offs_put(&rowlen, nfields))) goto fail;
  }
  if ((st = check_shape(&r.buf, &cells, &lines, &rowlen, source, err))) goto fail;

  lp_table *t;
  if ((st = lp_calloc(1, sizeof *t, &t))) goto fail;
  t->text = r.buf.p;
  t->cells = cells.v;
  t->ncols = rowlen.v[0];
  t->nrows = lines.len - 1;
  t->lines = malloc((t->nrows ? t->nrows : 1) * sizeof *t->lines);
  t->source = strdup(source);
  if (!t->lines || !t->source) {
    t->text = NULL;
    t->cells = NULL;
    lp_table_free(t);
    st = LP_ENOMEM;
    goto fail;
  }
  for (size_t k = 0; k < t->nrows; k++) t->lines[k] = (long)lines.v[k + 1];
  free(lines.v);
  free(rowlen.v);
  *out = t;
  return LP_OK;

fail:
  if (st == LP_ENOMEM) lp_error_at(err, LP_ENOMEM, source, 0, NULL, "out of memory reading CSV");
  free(r.buf.p);
  free(cells.v);
  free(lines.v);
  free(rowlen.v);
  return st;
}

lp_status lp_table_read_csv(const char *path, lp_table **out, lp_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return lp_error_at(err, LP_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
  char *data = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 65536;
      if (lp_realloc_array(&data, cap, 1)) {
        fclose(f);
        free(data);
        return lp_error_at(err, LP_ENOMEM, path, 0, NULL, "out of memory");
      }
    }
    size_t got = fread(data + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(data);
    return lp_error_at(err, LP_EIO, path, 0, NULL, "read error (is it a directory?)");
  }
  lp_status st = lp_table_parse_csv(data, len, path, out, err);
  free(data);
  return st;
}
