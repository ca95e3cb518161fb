/* Typed access to lp_table columns: numbers, 0/1 indicators, factors with R's level
 * order, complete-case rows and treatment-contrast model matrices. */
#include <leopards/table.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/table_internal.h"

size_t lp_table_nrows(const lp_table *t) { return t->nrows; }
size_t lp_table_ncols(const lp_table *t) { return t->ncols; }
const char *lp_table_source(const lp_table *t) { return t->source; }
const char *lp_table_colname(const lp_table *t, size_t col) { return col < t->ncols ? t->text + t->cells[col] : NULL; }
long lp_table_line(const lp_table *t, size_t row) { return row < t->nrows ? t->lines[row] : 0; }

lp_status lp_table_column(const lp_table *t, const char *name, size_t *col, lp_error *err) {
  for (size_t c = 0; c < t->ncols; c++) {
    if (!strcmp(lp_table_colname(t, c), name)) {
      *col = c;
      return LP_OK;
    }
  }
  char list[512];
  size_t k = 0;
  list[0] = '\0';
  for (size_t c = 0; c < t->ncols && k + 4 < sizeof list; c++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", c ? ", " : "", lp_table_colname(t, c));
  return lp_error_at(err, LP_ENOTFOUND, t->source, 0, NULL, "no column '%s' (columns: %s)", name, list);
}

static bool is_missing_text(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  if (!*s) return true;
  if (s[0] == 'N' && s[1] == 'A') {
    s += 2;
    while (*s == ' ' || *s == '\t') s++;
    return !*s;
  }
  return false;
}

const char *lp_table_cell(const lp_table *t, size_t row, size_t col) {
  if (row >= t->nrows || col >= t->ncols) return NULL;
  const char *s = t->text + t->cells[(row + 1) * t->ncols + col];
  return is_missing_text(s) ? NULL : s;
}

bool lp_parse_number(const char *s, double *out) {
  while (*s == ' ' || *s == '\t') s++;
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  bool digits = false;
  while (isdigit((unsigned char)*p)) p++, digits = true;
  if (*p == '.') {
    p++;
    while (isdigit((unsigned char)*p)) p++, digits = true;
  }
  if (!digits) return false;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p == '+' || *p == '-') p++;
    if (!isdigit((unsigned char)*p)) return false;
    while (isdigit((unsigned char)*p)) p++;
  }
  const char *end = p;
  while (*p == ' ' || *p == '\t') p++;
  if (*p) return false;
  char *e;
  double v = strtod(s, &e);
  if (e != end || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* NaN, Inf, -Inf, Infinity (any case, as R's read.csv reads them) or a number too
 * large for a double (1e999): text meant as a number that is not a finite one. */
static bool is_nonfinite_text(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  const char *p = s;
  if (*p == '+' || *p == '-') p++;
  size_t n = strlen(p);
  while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  if ((n == 3 && (!strncasecmp(p, "nan", 3) || !strncasecmp(p, "inf", 3))) ||
      (n == 8 && !strncasecmp(p, "infinity", 8)))
    return true;
  if (n == 0 || !(isdigit((unsigned char)*p) || *p == '.')) return false;
  char *e;
  double v = strtod(s, &e);
  while (*e == ' ' || *e == '\t') e++;
  return !*e && isinf(v);
}

/* Every non-missing cell a finite number. */
static bool all_finite_numbers(const lp_table *t, size_t col) {
  double v;
  for (size_t r = 0; r < t->nrows; r++) {
    const char *s = lp_table_cell(t, r, col);
    if (s && !lp_parse_number(s, &v)) return false;
  }
  return true;
}

bool lp_table_is_numeric(const lp_table *t, size_t col) {
  double v;
  for (size_t r = 0; r < t->nrows; r++) {
    const char *s = lp_table_cell(t, r, col);
    if (s && !lp_parse_number(s, &v) && !is_nonfinite_text(s)) return false;
  }
  return true;
}

lp_status lp_table_complete_rows(const lp_table *t, const char *const *cols, size_t ncols, size_t **rows, size_t *nrows,
                                 size_t *dropped, lp_error *err) {
  *rows = NULL;
  size_t idx[64];
  if (ncols > 64) return lp_error_set(err, LP_EINVAL, "too many columns in one model (max 64)");
  for (size_t j = 0; j < ncols; j++) {
    lp_status st = lp_table_column(t, cols[j], &idx[j], err);
    if (st) return st;
  }
  size_t *r;
  if (lp_calloc(t->nrows, sizeof *r, &r)) return lp_error_set(err, LP_ENOMEM, "out of memory");
  size_t n = 0;
  for (size_t i = 0; i < t->nrows; i++) {
    bool ok = true;
    for (size_t j = 0; j < ncols && ok; j++) ok = lp_table_cell(t, i, idx[j]) != NULL;
    if (ok) r[n++] = i;
  }
  *rows = r;
  *nrows = n;
  *dropped = t->nrows - n;
  return LP_OK;
}

lp_status lp_table_numeric(const lp_table *t, size_t col, const size_t *rows, size_t n, double *out, lp_error *err) {
  for (size_t k = 0; k < n; k++) {
    size_t r = rows ? rows[k] : k;
    const char *s = lp_table_cell(t, r, col);
    if (!s) {
      out[k] = NAN;
      continue;
    }
    if (!lp_parse_number(s, &out[k])) {
      if (is_nonfinite_text(s))
        return lp_error_at(err, LP_EDATA, t->source, t->lines[r], lp_table_colname(t, col),
                           "'%s' is not a finite number: NaN and infinite values are not accepted "
                           "(leave the cell empty, or write NA, for a missing value)",
                           s);
      return lp_error_at(err, LP_EPARSE, t->source, t->lines[r], lp_table_colname(t, col), "'%s' is not a number", s);
    }
  }
  return LP_OK;
}

lp_status lp_table_binary(const lp_table *t, size_t col, const size_t *rows, size_t n, int *out, lp_error *err) {
  for (size_t k = 0; k < n; k++) {
    size_t r = rows ? rows[k] : k;
    const char *s = lp_table_cell(t, r, col);
    double v;
    if (!s || !lp_parse_number(s, &v) || (v != 0.0 && v != 1.0))
      return lp_error_at(err, LP_EPARSE, t->source, t->lines[r], lp_table_colname(t, col), "'%s' is not 0 or 1",
                         s ? s : "NA");
    out[k] = (int)v;
  }
  return LP_OK;
}

/* ---- factors ---- */

typedef struct {
  const char *text;
  double num;
} level_key;

static int cmp_num_key(const void *a, const void *b) {
  double x = ((const level_key *)a)->num, y = ((const level_key *)b)->num;
  return (x > y) - (x < y);
}
static int cmp_text_key(const void *a, const void *b) {
  return strcmp(((const level_key *)a)->text, ((const level_key *)b)->text);
}

static char *trimmed_dup(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

void lp_factor_clear(lp_factor *f) {
  if (!f) return;
  for (size_t i = 0; i < f->nlevels; i++) free(f->levels[i]);
  free(f->levels);
  free(f->codes);
  memset(f, 0, sizeof *f);
}

lp_status lp_factor_init(lp_factor *f, const lp_table *t, size_t col, const size_t *rows, size_t n, lp_error *err) {
  memset(f, 0, sizeof *f);
  /* Levels sort as numbers only when every value is a finite number. */
  bool numeric = all_finite_numbers(t, col);
  level_key *keys;
  if (lp_calloc(n, sizeof *keys, &keys)) return lp_error_set(err, LP_ENOMEM, "out of memory");
  size_t nk = 0;
  for (size_t k = 0; k < n; k++) {
    size_t r = rows ? rows[k] : k;
    const char *s = lp_table_cell(t, r, col);
    if (!s) {
      free(keys);
      return lp_error_at(err, LP_EDATA, t->source, t->lines[r], lp_table_colname(t, col), "missing value in a factor");
    }
    keys[nk].text = s;
    if (numeric) lp_parse_number(s, &keys[nk].num);
    nk++;
  }
  qsort(keys, nk, sizeof *keys, numeric ? cmp_num_key : cmp_text_key);
  size_t nl = 0;
  for (size_t k = 0; k < nk; k++) {
    bool same = nl > 0 && (numeric ? keys[k].num == keys[nl - 1].num : !strcmp(keys[k].text, keys[nl - 1].text));
    if (!same) keys[nl++] = keys[k];
  }
  lp_status st = LP_OK;
  if (lp_calloc(nl, sizeof *f->levels, &f->levels) || lp_calloc(n, sizeof *f->codes, &f->codes)) {
    st = LP_ENOMEM;
    goto done;
  }
  f->n = n;
  for (size_t l = 0; l < nl; l++) {
    if (numeric) {
      char tmp[64];
      snprintf(tmp, sizeof tmp, "%.15g", keys[l].num);
      f->levels[l] = strdup(tmp);
    } else {
      f->levels[l] = trimmed_dup(keys[l].text);
    }
    if (!f->levels[l]) {
      st = LP_ENOMEM;
      goto done;
    }
    f->nlevels = l + 1;
  }
  for (size_t k = 0; k < n; k++) {
    size_t r = rows ? rows[k] : k;
    const char *s = lp_table_cell(t, r, col);
    level_key key = {s, 0};
    if (numeric) lp_parse_number(s, &key.num);
    level_key *hit = bsearch(&key, keys, nl, sizeof *keys, numeric ? cmp_num_key : cmp_text_key);
    f->codes[k] = (int)(hit - keys);
  }
done:
  free(keys);
  if (st) {
    lp_factor_clear(f);
    return lp_error_set(err, st, "out of memory");
  }
  return LP_OK;
}

lp_status lp_factor_reorder(lp_factor *f, const char *const *first, size_t nfirst, lp_error *err) {
  if (nfirst > f->nlevels) nfirst = f->nlevels + 1; /* forces an error below */
  size_t *order;
  int *inverse;
  if (lp_calloc(f->nlevels, sizeof *order, &order)) return lp_error_set(err, LP_ENOMEM, "out of memory");
  if (lp_calloc(f->nlevels, sizeof *inverse, &inverse)) {
    free(order);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  bool *used = (bool *)inverse; /* reuse as flags first, then as the inverse map */
  memset(used, 0, f->nlevels * sizeof *inverse);
  size_t k = 0;
  for (size_t i = 0; i < nfirst; i++) {
    size_t l = 0;
    while (l < f->nlevels && strcmp(f->levels[l], first[i])) l++;
    if (l == f->nlevels || i >= f->nlevels) {
      char have[512];
      size_t m = 0;
      have[0] = '\0';
      for (size_t j = 0; j < f->nlevels && m + 4 < sizeof have; j++)
        m += (size_t)snprintf(have + m, sizeof have - m, "%s%s", j ? ", " : "", f->levels[j]);
      free(order);
      free(inverse);
      return lp_error_set(err, LP_EINVAL, "level '%s' is not in the data (levels: %s)", i < nfirst ? first[i] : "",
                          have);
    }
    if (used[l]) {
      free(order);
      free(inverse);
      return lp_error_set(err, LP_EINVAL, "level '%s' is named twice", first[i]);
    }
    used[l] = true;
    order[k++] = l;
  }
  for (size_t l = 0; l < f->nlevels; l++)
    if (!used[l]) order[k++] = l;
  char **levels = malloc(f->nlevels * sizeof *levels);
  if (!levels) {
    free(order);
    free(inverse);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  for (size_t j = 0; j < f->nlevels; j++) {
    levels[j] = f->levels[order[j]];
    inverse[order[j]] = (int)j;
  }
  for (size_t i = 0; i < f->n; i++) f->codes[i] = inverse[f->codes[i]];
  free(f->levels);
  f->levels = levels;
  free(order);
  free(inverse);
  return LP_OK;
}

/* ---- model matrices ---- */

void lp_model_matrix_clear(lp_model_matrix *d) {
  if (!d) return;
  for (size_t j = 0; d->names && j < d->p; j++) free(d->names[j]);
  free(d->names);
  free(d->x);
  free(d->term);
  free(d->factor);
  memset(d, 0, sizeof *d);
}

lp_status lp_model_matrix_init(lp_model_matrix *d, const lp_table *t, const char *const *cols, size_t ncols,
                               const char *const *factors, size_t nfactors, const size_t *rows, size_t n,
                               lp_error *err) {
  memset(d, 0, sizeof *d);
  lp_status st = LP_OK;
  lp_factor *fac = NULL;
  size_t *idx = NULL, p = 0, c = 0;
  double *tmp = NULL;
  if (lp_calloc(ncols, sizeof *fac, &fac) || lp_calloc(ncols, sizeof *idx, &idx)) {
    free(fac);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  bool *is_factor = calloc(ncols ? ncols : 1, sizeof *is_factor);
  if (!is_factor) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t j = 0; j < ncols; j++) {
    if ((st = lp_table_column(t, cols[j], &idx[j], err))) goto done;
    bool forced = false;
    for (size_t k = 0; k < nfactors; k++) forced = forced || !strcmp(factors[k], cols[j]);
    is_factor[j] = forced || !lp_table_is_numeric(t, idx[j]);
    if (is_factor[j]) {
      if ((st = lp_factor_init(&fac[j], t, idx[j], rows, n, err))) goto done;
      if (fac[j].nlevels < 2) {
        st = lp_error_at(err, LP_EDATA, t->source, 0, cols[j],
                         "a factor needs at least two levels among the rows used (has %zu)", fac[j].nlevels);
        goto done;
      }
      p += fac[j].nlevels - 1;
    } else {
      p += 1;
    }
  }
  d->n = n;
  d->p = p;
  if (lp_calloc(n * (p ? p : 1), sizeof *d->x, &d->x) || lp_calloc(p, sizeof *d->names, &d->names) ||
      lp_calloc(p, sizeof *d->term, &d->term) || lp_calloc(p, sizeof *d->factor, &d->factor)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  if (lp_calloc(n, sizeof *tmp, &tmp)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t j = 0; j < ncols; j++) {
    if (is_factor[j]) {
      for (size_t l = 1; l < fac[j].nlevels; l++, c++) {
        size_t len = strlen(cols[j]) + strlen(fac[j].levels[l]) + 1;
        d->names[c] = malloc(len);
        if (!d->names[c]) {
          st = lp_error_set(err, LP_ENOMEM, "out of memory");
          break;
        }
        snprintf(d->names[c], len, "%s%s", cols[j], fac[j].levels[l]);
        d->term[c] = (int)j;
        d->factor[c] = true;
        for (size_t i = 0; i < n; i++) d->x[i * p + c] = fac[j].codes[i] == (int)l ? 1.0 : 0.0;
      }
    } else {
      if ((st = lp_table_numeric(t, idx[j], rows, n, tmp, err))) break;
      for (size_t i = 0; i < n; i++) {
        if (isnan(tmp[i])) {
          st = lp_error_at(err, LP_EDATA, t->source, t->lines[rows ? rows[i] : i], cols[j],
                           "missing value in a covariate");
          break;
        }
        d->x[i * p + c] = tmp[i];
      }
      if (st) break;
      d->names[c] = strdup(cols[j]);
      if (!d->names[c]) {
        st = lp_error_set(err, LP_ENOMEM, "out of memory");
        break;
      }
      d->term[c] = (int)j;
      c++;
    }
    if (st) break;
  }
done:
  for (size_t j = 0; j < ncols; j++) lp_factor_clear(&fac[j]);
  free(tmp);
  free(fac);
  free(idx);
  free(is_factor);
  if (st) lp_model_matrix_clear(d);
  return st;
}

lp_status lp_split_list(const char *text, char ***items, size_t *count, lp_error *err) {
  *items = NULL;
  *count = 0;
  size_t n = 1, len = strlen(text);
  for (const char *p = text; *p; p++) n += *p == ',';
  /* One block: the pointer array (n + 1), then a copy of the text. */
  char **arr = malloc((n + 1) * sizeof *arr + len + 1);
  if (!arr) return lp_error_set(err, LP_ENOMEM, "out of memory");
  char *copy = (char *)(arr + n + 1);
  memcpy(copy, text, len + 1);
  size_t k = 0;
  char *s = copy;
  for (;;) {
    char *comma = strchr(s, ',');
    if (comma) *comma = '\0';
    while (*s == ' ') s++;
    char *e = s + strlen(s);
    while (e > s && e[-1] == ' ') *--e = '\0';
    if (!*s) {
      free(arr);
      return lp_error_set(err, LP_EINVAL, "empty item in list '%s'", text);
    }
    arr[k++] = s;
    if (!comma) break;
    s = comma + 1;
  }
  arr[k] = NULL;
  *items = arr;
  *count = k;
  return LP_OK;
}
