/* libFuzzer target for every text input leopards reads: the CSV reader, the plan parser,
 * screening JSON and record JSON (through a real trial file). The first byte of an input
 * chooses the reader ('c' CSV, 'p' plan, 's' screening, 'r' record; the second byte of a
 * record input chooses the form); the rest is the text. Inputs that are accepted are
 * checked to round-trip: the CSV cells equal those of an independent reading of the
 * bytes and survive writing and reading again, and what a trial stored (read back from
 * its audit trail) equals what was given. Any difference aborts. Build and run:
 * docs/fuzzing.md. */
#include <jansson.h>
#include <leopards/plan.h>
#include <leopards/table.h>
#include <leopards/text.h>
#include <leopards/trial.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/table_internal.h"

static lp_trial *trial;
static char dir[256];
static bool verbose; /* LP_FUZZ_VERBOSE=1: say what each input gave (to check the seeds) */

static void say(const char *what, lp_status s, const lp_error *err) {
  if (verbose) fprintf(stderr, "%s: %s\n", what, s ? err->message : "accepted");
}

#define CHECK(cond, ...)                                  \
  do {                                                    \
    if (!(cond)) {                                        \
      fprintf(stderr, "round trip failed: " __VA_ARGS__); \
      fputc('\n', stderr);                                \
      abort();                                            \
    }                                                     \
  } while (0)

/* ---- CSV ---- */

typedef struct {
  char **cell;
  size_t *len;
  size_t n, cap, rows;
} ref_table;

static void ref_put(ref_table *r, const char *s, size_t n) {
  if (r->n == r->cap) {
    r->cap = r->cap ? 2 * r->cap : 64;
    r->cell = realloc(r->cell, r->cap * sizeof *r->cell);
    r->len = realloc(r->len, r->cap * sizeof *r->len);
    if (!r->cell || !r->len) abort();
  }
  r->cell[r->n] = malloc(n + 1);
  if (!r->cell[r->n]) abort();
  memcpy(r->cell[r->n], s, n);
  r->len[r->n++] = n;
}

static void ref_free(ref_table *r) {
  for (size_t i = 0; i < r->n; i++) free(r->cell[i]);
  free(r->cell);
  free(r->len);
}

/* An independent reading of text the library accepted: RFC 4180 fields, byte for byte. */
static void ref_read(const char *t, size_t len, ref_table *r) {
  size_t i = len >= 3 && !memcmp(t, "\xEF\xBB\xBF", 3) ? 3 : 0;
  char *b = malloc(len + 1);
  if (!b) abort();
  while (i < len) {
    if (t[i] == '\n' || (t[i] == '\r' && i + 1 < len && t[i + 1] == '\n')) {
      i += t[i] == '\r' ? 2 : 1;
      continue;
    }
    for (;;) {
      size_t k = 0;
      if (i < len && t[i] == '"') {
        for (i++; i < len; i++) {
          if (t[i] == '"' && i + 1 < len && t[i + 1] == '"') b[k++] = t[i++];
          else if (t[i] == '"')
            break;
          else
            b[k++] = t[i];
        }
        i++;
      } else
        while (i < len && t[i] != ',' && t[i] != '\n' && t[i] != '\r') b[k++] = t[i++];
      ref_put(r, b, k);
      if (i < len && t[i] == ',') {
        i++;
        continue;
      }
      if (i < len && t[i] == '\r') i++;
      if (i < len && t[i] == '\n') i++;
      break;
    }
    r->rows++;
  }
  free(b);
}

static const char *raw(const lp_table *t, size_t k) { return t->text + t->cells[k]; }

/* The table written back as CSV, every field quoted. */
static char *write_csv(const lp_table *t, size_t *n) {
  size_t cap = 16;
  size_t total = (t->nrows + 1) * t->ncols;
  for (size_t k = 0; k < total; k++) cap += 2 * strlen(raw(t, k)) + 4;
  char *s = malloc(cap), *p = s;
  if (!s) abort();
  for (size_t k = 0; k < total; k++) {
    *p++ = '"';
    for (const char *c = raw(t, k); *c; c++) {
      if (*c == '"') *p++ = '"';
      *p++ = *c;
    }
    *p++ = '"';
    *p++ = (k + 1) % t->ncols ? ',' : '\n';
  }
  *n = (size_t)(p - s);
  return s;
}

static void fuzz_csv(const char *text, size_t len) {
  lp_table *t;
  lp_error err;
  lp_status st = lp_table_parse_csv(text, len, "fuzz.csv", &t, &err);
  say("csv", st, &err);
  if (st) return;
  size_t total = (t->nrows + 1) * t->ncols;
  ref_table r = {0};
  ref_read(text, len, &r);
  CHECK(r.n == total && r.rows == t->nrows + 1, "%zu cells in %zu rows, an independent reading finds %zu in %zu", total,
        t->nrows + 1, r.n, r.rows);
  for (size_t k = 0; k < total; k++) {
    size_t n = strlen(raw(t, k));
    CHECK(n == r.len[k] && !memcmp(raw(t, k), r.cell[k], n), "cell %zu stored as %zu bytes, given %zu", k, n, r.len[k]);
    CHECK(lp_utf8_valid(raw(t, k), n, NULL), "cell %zu accepted but not UTF-8", k);
  }
  ref_free(&r);
  size_t n;
  char *again = write_csv(t, &n);
  lp_table *t2;
  lp_status s = lp_table_parse_csv(again, n, "again.csv", &t2, &err);
  CHECK(!s, "written back, the table is refused: %s", err.message);
  CHECK(t2->nrows == t->nrows && t2->ncols == t->ncols, "shape changed when written back");
  for (size_t k = 0; k < total; k++) CHECK(!strcmp(raw(t, k), raw(t2, k)), "cell %zu changed when written back", k);
  lp_table_free(t2);
  free(again);
  lp_table_free(t);
}

/* ---- plan ---- */

static void fuzz_plan(const char *text, size_t len) {
  lp_plan *p, *q;
  lp_error err;
  lp_status st = lp_plan_parse(text, len, "fuzz-plan.csv", &p, &err);
  say("plan", st, &err);
  if (st) return;
  /* The same text always gives the same plan. */
  CHECK(!lp_plan_parse(text, len, "fuzz-plan.csv", &q, &err), "a plan accepted once is refused the second time");
  CHECK(lp_plan_size(p) == lp_plan_size(q), "the same plan text gives %zu and %zu rows", lp_plan_size(p),
        lp_plan_size(q));
  lp_plan_free(p);
  lp_plan_free(q);
}

/* ---- trial inputs ---- */

typedef struct {
  long id;
  char table[32];
  char *new_value;
} last_entry;

static int keep_last(void *ctx, const lp_audit_entry *e) {
  last_entry *l = ctx;
  l->id = e->id;
  snprintf(l->table, sizeof l->table, "%s", e->table ? e->table : "");
  free(l->new_value);
  l->new_value = e->new_value ? strdup(e->new_value) : NULL;
  return 0;
}

static void last_audit(last_entry *l) {
  lp_error err;
  l->id = 0;
  l->new_value = NULL;
  if (lp_audit_log(trial, NULL, keep_last, l, &err)) abort();
}

/* Is the stored value `s` the given value `g`? (numbers given as text are numbers) */
static bool same_value(json_t *g, json_t *s) {
  if (json_is_null(g) || (json_is_string(g) && json_string_length(g) == 0)) return !s || json_is_null(s);
  double gv;
  if (json_is_boolean(g)) gv = json_is_true(g);
  else if (json_is_number(g))
    gv = json_number_value(g);
  else if (json_is_string(g) && json_is_number(s)) {
    char *end;
    gv = strtod(json_string_value(g), &end);
  } else if (json_is_string(g))
    return json_is_string(s) && json_string_length(g) == json_string_length(s) &&
           !memcmp(json_string_value(g), json_string_value(s), json_string_length(g));
  else
    return false;
  if (!json_is_number(s)) return false;
  double sv = json_number_value(s);
  return fabs(gv - sv) <= 1e-9 * fmax(1, fabs(gv));
}

/* Every given field that the stored row has a column for holds what was given. */
static void compare_fields(json_t *given, json_t *stored, const char *what) {
  const char *k;
  json_t *g;
  json_object_foreach(given, k, g) {
    if (!strcmp(k, "site")) continue;
    json_t *s = json_object_get(stored, k);
    if (!s && !json_is_null(g) && !(json_is_string(g) && json_string_length(g) == 0)) continue; /* unit alternative */
    CHECK(same_value(g, s), "%s field '%s' stored differently from what was given", what, k);
  }
}

static void fuzz_screen(const char *text) {
  last_entry before, after;
  last_audit(&before);
  lp_screen_result res;
  lp_error err;
  lp_status s = lp_trial_screen(trial, "S1", NULL, text, "inv", &res, &err);
  say("screening", s, &err);
  last_audit(&after);
  if (s) {
    CHECK(after.id == before.id, "a refused screening changed the audit trail");
  } else {
    CHECK(after.id > before.id && !strcmp(after.table, "screening"), "an accepted screening is not in the audit trail");
    json_t *row = json_loads(after.new_value, 0, NULL), *given = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    CHECK(row && given, "stored screening row unreadable");
    json_t *in = json_loads(json_string_value(json_object_get(row, "inputs")), 0, NULL);
    CHECK(in, "stored inputs unreadable");
    compare_fields(given, in, "screening");
    json_decref(in);
    json_decref(row);
    json_decref(given);
  }
  free(before.new_value);
  free(after.new_value);
}

static void fuzz_record(lp_record_kind kind, const char *text) {
  last_entry before, after;
  last_audit(&before);
  size_t rows;
  lp_error err;
  lp_status s = lp_record_json(trial, kind, text, "fuzz.json", "inv", "fuzz", &rows, &err);
  say(lp_record_kind_name(kind), s, &err);
  last_audit(&after);
  if (s) CHECK(after.id == before.id, "a refused record changed the audit trail");
  json_t *given = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
  if (!s && after.id > before.id && json_is_object(given)) {
    json_t *row = json_loads(after.new_value, 0, NULL);
    CHECK(row, "stored record unreadable");
    compare_fields(given, row, lp_record_kind_name(kind));
    json_decref(row);
  }
  json_decref(given);
  free(before.new_value);
  free(after.new_value);
}

/* A fixed clock, so that the dates of the seeds stay valid. */
static void fixed_clock(void *ctx, char *buf, size_t n) {
  (void)ctx;
  snprintf(buf, n, "2015-01-01T10:00:00Z");
}

static void cleanup(void) {
  lp_trial_close(trial);
  char p[400];
  snprintf(p, sizeof p, "%s/t.db", dir);
  lp_trial_remove_files(p);
  snprintf(p, sizeof p, "%s/t.key", dir);
  unlink(p);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  verbose = getenv("LP_FUZZ_VERBOSE") != NULL;
  snprintf(dir, sizeof dir, "%s/leopards-fuzz-XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if (!mkdtemp(dir)) abort();
  char db[400], key[400];
  snprintf(db, sizeof db, "%s/t.db", dir);
  snprintf(key, sizeof key, "%s/t.key", dir);
  lp_site_def sites[] = {{"S1", "Site one"}};
  lp_error err;
  lp_trial_key *k;
  lp_list_options lo;
  lp_list_options_default(&lo);
  lo.per_site = 4;
  lp_list_summary ls;
  lp_screen_result sr;
  lp_allocation al;
  lp_consent_result cr; /* the written consent that randomisation needs */
  const char *consent =
      "{\"patient\":\"P1\",\"consent_by\":\"patient\",\"consented_at\":\"2000-01-01T00:00\","
      "\"taken_by\":\"Dr Fuzz\",\"form_version\":\"1.0\"}";
  const char *elig =
      "{\"age\":64,\"infection\":1,\"temperature\":38.6,\"heart_rate\":112,\"resp_rate\":24,\"wbc\":15.2,"
      "\"vasopressor_hours\":6,\"hours_since_criteria\":10,\"esrf_dialysis\":0,\"torsades_history\":0,"
      "\"child_pugh_c\":0,\"ventricular_obstruction\":0,\"treatment_limitation\":0,\"weight\":80,"
      "\"pregnant\":0,\"levosimendan_30d\":0,\"levosimendan_hypersensitivity\":0,\"other_trial\":0}";
  lp_status st = lp_trial_create(db, NULL, sites, 1, "mgr", &trial, &err);
  if (!st) lp_trial_set_clock(trial, fixed_clock, NULL);
  if (st || lp_user_add(trial, "mgr", "stat", LP_ROLE_STATISTICIAN, NULL, &err) ||
      lp_user_add(trial, "mgr", "inv", LP_ROLE_INVESTIGATOR, "S1", &err) || lp_key_create(trial, key, &k, &err) ||
      lp_list_generate(trial, k, &lo, "stat", &ls, &err) ||
      lp_trial_screen(trial, "S1", "P1", elig, "inv", &sr, &err) ||
      lp_consent_record(trial, consent, "fuzz", "inv", &cr, &err) ||
      lp_trial_randomize(trial, "S1", "P1", "inv", &al, &err)) {
    fprintf(stderr, "fuzz set-up: %s\n", err.message);
    abort();
  }
  lp_key_free(k);
  atexit(cleanup);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  switch (data[0]) {
    case 'c':
      fuzz_csv(text, len);
      break;
    case 'p':
      fuzz_plan(text, len);
      break;
    case 's':
    case 'r': {
      size_t skip = data[0] == 'r' ? 1 : 0; /* a record input's second byte is the form */
      if (len < skip) return 0;
      char *s = malloc(len - skip + 1);
      if (!s) abort();
      memcpy(s, text + skip, len - skip);
      s[len - skip] = '\0'; /* the JSON APIs take C strings: text from a NUL on is not given */
      if (data[0] == 's') fuzz_screen(s);
      else
        fuzz_record((lp_record_kind)((unsigned char)text[0] % LP_RECORD_COUNT), s);
      free(s);
      break;
    }
    default:
      break;
  }
  return 0;
}
