/* Analysis plans: parsing the plan CSV (with line-precise errors) and running its
 * rows on the per-patient analysis data set into an lp_results structure. */
#include <leopards/plan.h>
#include <leopards/stats.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/plan_internal.h"

static const char *const kind_names[LP_AN_KINDS] = {"mean", "median",   "binary",  "count",   "adjusted",
                                                    "cox",  "subgroup", "imputed", "baseline"};

static const char *const role_names[LP_PLAN_ROLES + 1] = {"", "primary", "survival-figure", "weaning-figure", NULL};

const char *lp_plan_role_name(lp_plan_role r) { return (unsigned)r < LP_PLAN_ROLES ? role_names[r] : ""; }

const lp_result *lp_results_find_role(const lp_results *r, lp_plan_role role) {
  if (role == LP_PLAN_ROLE_NONE) return NULL;
  for (size_t i = 0; i < r->n; i++)
    if (r->rows[i].role == role) return &r->rows[i];
  return NULL;
}

const char *lp_analysis_kind_name(lp_analysis_kind k) { return (unsigned)k < LP_AN_KINDS ? kind_names[k] : "unknown"; }

void lp_plan_free(lp_plan *p) {
  if (!p) return;
  lp_table_free(p->t);
  free(p->rows);
  free(p);
}

size_t lp_plan_size(const lp_plan *p) { return p->n; }

const char *lp_plan_subgroup_levels(const lp_plan *p, const char *column) {
  for (size_t i = 0; p && column && i < p->n; i++) {
    const lp_plan_row *r = &p->rows[i];
    if (r->kind == LP_AN_SUBGROUP && r->subgroup && !strcmp(r->subgroup, column) && r->levels && *r->levels)
      return r->levels;
  }
  return NULL;
}

void lp_plan_options_default(lp_plan_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = 20160927;
  o->bootstrap = 100000;
  o->permutations = 10000;
  o->level = 0.95;
  o->arms[0] = "levosimendan";
  o->arms[1] = "placebo";
  o->arm_column = "arm";
  o->cluster_column = "site";
}

/* The plan's columns; `required` ones must be in the header. */
static const struct {
  const char *name;
  bool required;
} plan_cols[] = {{"id", true},      {"table", true},      {"section", false},    {"label", true},
                 {"kind", true},    {"outcome", true},    {"population", false}, {"summary", false},
                 {"ci", false},     {"test", false},      {"adjust", false},     {"factors", false},
                 {"time", false},   {"event", false},     {"subgroup", false},   {"digits", false},
                 {"levels", false}, {"published", false}, {"subsection", false}, {"note", false},
                 {"role", false}};

static const char *field(const lp_plan *p, size_t row, const char *name) {
  size_t c;
  if (lp_table_column(p->t, name, &c, NULL)) return "";
  const char *s = lp_table_cell(p->t, row, c);
  return s ? s : "";
}

static int word_index(const char *s, const char *const *words) {
  for (int i = 0; words[i]; i++)
    if (!strcmp(s, words[i])) return i;
  return -1;
}

/* An error at a plan row and column. */
static lp_status bad(const lp_plan *p, size_t row, const char *col, lp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static lp_status bad(const lp_plan *p, size_t row, const char *col, lp_error *err, const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  lp_error_at(err, LP_EPARSE, lp_table_source(p->t), lp_table_line(p->t, row), col, "%s", text);
  size_t c;
  if (!lp_table_column(p->t, col, &c, NULL)) lp_error_set_column(err, (long)c + 1);
  return LP_EPARSE;
}

static const char *const kinds[] = {"mean", "median",   "binary",  "count",    "adjusted",
                                    "cox",  "subgroup", "imputed", "baseline", NULL};
static const char *const cis[] = {"wald", "wald-cc", "newcombe", "bootstrap", "robust", "", NULL};
static const char *const tests[] = {"mann-whitney", "chisq-yates", "chisq", "fisher", "none", "", NULL};
static const char *const summaries[] = {"mean", "median", "percent", "count", "n", "", NULL};

/* Row i of the plan: its fields, words and what its kind needs. */
static lp_status parse_row(lp_plan *p, size_t i, lp_error *err) {
  lp_status st;
  lp_plan_row *r = &p->rows[i];
  r->line = lp_table_line(p->t, i);
  r->id = field(p, i, "id");
  r->table = field(p, i, "table");
  r->section = field(p, i, "section");
  r->label = field(p, i, "label");
  r->outcome = field(p, i, "outcome");
  r->population = field(p, i, "population");
  r->adjust = field(p, i, "adjust");
  r->factors = field(p, i, "factors");
  r->time = field(p, i, "time");
  r->event = field(p, i, "event");
  r->subgroup = field(p, i, "subgroup");
  r->levels = field(p, i, "levels");
  r->subsection = field(p, i, "subsection");
  r->note = field(p, i, "note");
  r->published = NAN;
  const char *pubtext = field(p, i, "published");
  if (*pubtext && !lp_parse_number(pubtext, &r->published)) {
    st = bad(p, i, "published", err, "'%s' is not a number", pubtext);
    return st;
  }
  if (!*r->id) {
    st = bad(p, i, "id", err, "every analysis needs an id");
    return st;
  }
  for (size_t j = 0; j < i; j++)
    if (!strcmp(p->rows[j].id, r->id)) {
      st = bad(p, i, "id", err, "id '%s' is used twice", r->id);
      return st;
    }
  int k = word_index(field(p, i, "kind"), kinds);
  if (k < 0) {
    st = bad(
        p, i, "kind", err,
        "unknown analysis kind '%s' (known: mean, median, binary, count, adjusted, cox, subgroup, imputed, baseline)",
        field(p, i, "kind"));
    return st;
  }
  r->kind = (lp_analysis_kind)k;
  int role = word_index(field(p, i, "role"), role_names);
  if (role < 0) {
    st = bad(p, i, "role", err, "unknown role '%s' (known: primary, survival-figure, weaning-figure)",
             field(p, i, "role"));
    return st;
  }
  r->role = (lp_plan_role)role;
  for (size_t j = 0; j < i && role; j++)
    if (p->rows[j].role == r->role) {
      st = bad(p, i, "role", err, "role '%s' is already given to row '%s' (line %ld)", role_names[role], p->rows[j].id,
               p->rows[j].line);
      return st;
    }
  if ((r->role == LP_PLAN_ROLE_SURVIVAL_FIGURE || r->role == LP_PLAN_ROLE_WEANING_FIGURE) && r->kind != LP_AN_COX) {
    st = bad(p, i, "role", err, "a '%s' row must be a cox analysis", role_names[role]);
    return st;
  }
  if (r->role == LP_PLAN_ROLE_PRIMARY &&
      (r->kind == LP_AN_BASELINE || r->kind == LP_AN_SUBGROUP || r->kind == LP_AN_COX)) {
    st = bad(p, i, "role", err, "the primary row must compare the arms with one estimate (not a %s row)", kinds[k]);
    return st;
  }
  int ci = word_index(field(p, i, "ci"), cis);
  if (ci < 0) {
    st = bad(p, i, "ci", err, "unknown interval method '%s' (known: wald, wald-cc, newcombe, bootstrap, robust)",
             field(p, i, "ci"));
    return st;
  }
  r->ci = ci;
  int te = word_index(field(p, i, "test"), tests);
  if (te < 0) {
    st = bad(p, i, "test", err, "unknown test '%s' (known: mann-whitney, chisq-yates, chisq, fisher, none)",
             field(p, i, "test"));
    return st;
  }
  r->test = te;
  int su = word_index(field(p, i, "summary"), summaries);
  if (su < 0) {
    st =
        bad(p, i, "summary", err, "unknown summary '%s' (known: mean, median, percent, count)", field(p, i, "summary"));
    return st;
  }
  r->summary = su;
  const char *d = field(p, i, "digits");
  r->digits = -1;
  if (*d) {
    double v;
    if (!lp_parse_number(d, &v) || v < 0 || v > 6 || v != floor(v)) {
      st = bad(p, i, "digits", err, "digits must be a whole number from 0 to 6, not '%s'", d);
      return st;
    }
    r->digits = (int)v;
  }
  /* What each kind needs. */
  bool need_outcome = r->kind != LP_AN_COX;
  if (need_outcome && !*r->outcome) {
    st = bad(p, i, "outcome", err, "a '%s' analysis needs an outcome column", kinds[k]);
    return st;
  }
  if (r->kind == LP_AN_COX && (!*r->time || !*r->event)) {
    st = bad(p, i, !*r->time ? "time" : "event", err, "a cox analysis needs time and event columns");
    return st;
  }
  if (r->kind == LP_AN_SUBGROUP && !*r->subgroup) {
    st = bad(p, i, "subgroup", err, "a subgroup analysis needs a subgroup column");
    return st;
  }
  if (r->kind == LP_AN_ADJUSTED && !*r->adjust) {
    st = bad(p, i, "adjust", err, "an adjusted analysis needs covariates in 'adjust'");
    return st;
  }
  if (r->kind == LP_AN_BINARY || r->kind == LP_AN_COUNT) {
    if (r->ci == LP__CI_BOOTSTRAP || r->ci == LP__CI_ROBUST) {
      st = bad(p, i, "ci", err,
               "'%s' is not an interval for a difference of proportions (known: wald, wald-cc, newcombe)",
               field(p, i, "ci"));
      return st;
    }
  } else if ((r->kind == LP_AN_MEAN || r->kind == LP_AN_MEDIAN) && r->ci != LP__CI_BOOTSTRAP && r->ci != LP__CI_NONE) {
    st = bad(p, i, "ci", err, "'%s' is not an interval for a difference of means or medians (known: bootstrap)",
             field(p, i, "ci"));
    return st;
  }
  if (r->kind == LP_AN_BASELINE && r->summary == LP__SUM_NONE) {
    st = bad(p, i, "summary", err, "a baseline row needs a summary (mean, median, percent, count or n)");
    return st;
  }
  return LP_OK;
}

lp_status lp_plan_parse(const char *text, size_t len, const char *source, lp_plan **out, lp_error *err) {
  *out = NULL;
  lp_plan *p = calloc(1, sizeof *p);
  if (!p) return lp_error_set(err, LP_ENOMEM, "out of memory");
  lp_status st = lp_table_parse_csv(text, len, source, &p->t, err);
  if (st) {
    free(p);
    return st;
  }
  for (size_t k = 0; k < sizeof plan_cols / sizeof plan_cols[0]; k++) {
    size_t c;
    if (plan_cols[k].required && lp_table_column(p->t, plan_cols[k].name, &c, NULL)) {
      st = lp_error_at(err, LP_EPARSE, source, 1, NULL, "a plan needs a column '%s'", plan_cols[k].name);
      goto fail;
    }
  }
  for (size_t c = 0; c < lp_table_ncols(p->t); c++) {
    bool known = false;
    for (size_t k = 0; k < sizeof plan_cols / sizeof plan_cols[0]; k++)
      known = known || !strcmp(lp_table_colname(p->t, c), plan_cols[k].name);
    if (!known) {
      st = lp_error_at(err, LP_EPARSE, source, 1, lp_table_colname(p->t, c), "unknown plan column");
      goto fail;
    }
  }
  p->n = lp_table_nrows(p->t);
  if (p->n == 0) {
    st = lp_error_at(err, LP_EPARSE, source, 1, NULL, "the plan has no analyses");
    goto fail;
  }
  p->rows = calloc(p->n, sizeof *p->rows);
  if (!p->rows) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < p->n; i++)
    if ((st = parse_row(p, i, err))) goto fail;
  *out = p;
  return LP_OK;
fail:
  lp_plan_free(p);
  return st;
}

lp_status lp_plan_load(const char *path, lp_plan **out, lp_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return lp_error_at(err, LP_EIO, path, 0, NULL, "cannot open the plan");
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 16384;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return lp_error_set(err, LP_ENOMEM, "out of memory");
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    if (!got) break;
    len += got;
  }
  bool ioerr = ferror(f);
  fclose(f);
  if (ioerr) {
    free(buf);
    return lp_error_at(err, LP_EIO, path, 0, NULL, "cannot read the plan");
  }
  lp_status st = lp_plan_parse(buf, len, path, out, err);
  free(buf);
  return st;
}

lp_status lp_plan_leopards(lp_plan **out, lp_error *err) {
  lp_status st =
      lp_plan_parse(lp__plan_leopards_csv, strlen(lp__plan_leopards_csv), "the built-in LeoPARDS plan", out, err);
  if (!st) (*out)->builtin = true;
  return st;
}

void lp_format_p(double p, char *buf, size_t n) {
  if (!isfinite(p)) snprintf(buf, n, "%s", "");
  else if (p > 0.99)
    snprintf(buf, n, ">0.99");
  else if (p >= 0.01) {
    double r2 = round(p * 100) / 100;
    if (r2 == 0.05 && p != 0.05) snprintf(buf, n, "%.3f", p);
    else
      snprintf(buf, n, "%.2f", p);
  } else if (p >= 0.001)
    snprintf(buf, n, "%.3f", p);
  else
    snprintf(buf, n, "<0.001");
}
