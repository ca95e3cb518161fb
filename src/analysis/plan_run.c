/* Running an analysis plan: each plan row becomes one lp_result (and, for time to
 * event and subgroups, curves and forest data), computed with the stats module on
 * the per-patient analysis data set. */
#include <leopards/plan.h>
#include <leopards/stats.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/plan_internal.h"
#include "analysis/plan_run.h"

void lp_results_clear(lp_results *r) {
  if (!r) return;
  free(r->rows);
  for (size_t i = 0; i < r->ncurves; i++) {
    free(r->curves[i].time);
    free(r->curves[i].surv);
    free(r->curves[i].censor);
  }
  free(r->curves);
  free(r->subgroups);
  memset(r, 0, sizeof *r);
}

/* An error at a plan row: "plan.csv:LINE: column 'COL': text". */
lp_status lp__plan_error(const lp__run *x, const lp_plan_row *r, const char *col, lp_status s, const char *fmt, ...) {
  char text[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (x->builtin) {
    /* The user has no file of the built-in plan: name the plan and the row. */
    lp_status st = lp_error_at(x->err, s, NULL, 0, NULL, "the built-in LeoPARDS plan, row %s%s%s%s: %s", r->id,
                               col ? ", column '" : "", col ? col : "", col ? "'" : "", text);
    if (x->err && col) snprintf(x->err->field, sizeof x->err->field, "%s", col);
    return st;
  }
  return lp_error_at(x->err, s, x->plan_source, r->line, col, "%s", text);
}

lp_status lp__plan_sparse(lp__run *x, const lp_plan_row *r, const char *fmt, ...) {
  char text[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  x->sparse = true;
  return lp__plan_error(x, r, NULL, LP_EDATA, "%s", text);
}

/* The reason a row could not be estimated, from the error: its text without the
 * plan location. */
static void sparse_reason(const lp_error *err, char *buf, size_t n) {
  const char *m = err->message, *q;
  if ((q = strstr(m, "LeoPARDS plan, row ")) && (q = strstr(q, ": "))) m = q + 2;
  else if (err->file[0] && !strncmp(m, err->file, strlen(err->file)) && (q = strstr(m, ": ")))
    m = q + 2;
  snprintf(buf, n, "%s", m);
}

/* Statuses that say the data cannot support a method (as opposed to a bad plan or
 * a bad value): the stats layer's own, or those a row marked as sparse. */
static bool is_sparse(const lp__run *x, lp_status st) {
  if (st != LP_EDATA && st != LP_ENUMERIC && st != LP_ECONVERGE && st != LP_ERANGE) return false;
  return x->sparse || !x->err->file[0];
}

static void mark_not_estimable(lp_result *res, const char *reason) {
  snprintf(res->not_estimable, sizeof res->not_estimable, "%s", reason);
  res->estimate = res->ci[0] = res->ci[1] = res->p = NAN;
  res->effect_text[0] = res->p_text[0] = '\0';
}

/* Values of a data-set column at every row (NAN where missing). */
lp_status lp__plan_column(const lp__run *x, const lp_plan_row *r, const char *plan_col, const char *name, double *out) {
  size_t c;
  if (lp_table_column(x->t, name, &c, NULL))
    return lp__plan_error(x, r, plan_col, LP_ENOTFOUND, "the data set %s has no column '%s'", lp_table_source(x->t),
                          name);
  lp_error inner;
  if (lp_table_numeric(x->t, c, NULL, x->n, out, &inner))
    return lp__plan_error(x, r, plan_col, inner.status, "%s", inner.message);
  return LP_OK;
}

/* Rows in the analysis: a known arm, and the population column equal to 1. */
lp_status lp__plan_select(const lp__run *x, const lp_plan_row *r, bool *keep) {
  for (size_t i = 0; i < x->n; i++) keep[i] = x->arm[i] >= 0;
  if (!*r->population) return LP_OK;
  lp_status st = lp__plan_column(x, r, "population", r->population, x->scratch);
  if (st) return st;
  for (size_t i = 0; i < x->n; i++) {
    double v = x->scratch[i];
    if (!isnan(v) && v != 0 && v != 1)
      return lp__plan_error(x, r, "population", LP_EDATA, "population column '%s' must hold 0 or 1 (line %ld has %g)",
                            r->population, lp_table_line(x->t, i), v);
    keep[i] = keep[i] && v == 1;
  }
  return LP_OK;
}

static lp_result *new_row(lp__run *x, const lp_plan_row *r) {
  lp_results *o = x->out;
  if (o->n == o->cap) {
    size_t cap = o->cap ? 2 * o->cap : 64;
    lp_result *p = realloc(o->rows, cap * sizeof *p);
    if (!p) return NULL;
    o->rows = p;
    o->cap = cap;
  }
  lp_result *res = &o->rows[o->n++];
  memset(res, 0, sizeof *res);
  snprintf(res->id, sizeof res->id, "%s", r->id);
  snprintf(res->outcome, sizeof res->outcome, "%s", r->outcome);
  res->role = r->role;
  snprintf(res->table, sizeof res->table, "%s", r->table);
  snprintf(res->section, sizeof res->section, "%s", r->section);
  snprintf(res->label, sizeof res->label, "%s", r->label);
  snprintf(res->subsection, sizeof res->subsection, "%s", r->subsection);
  snprintf(res->note, sizeof res->note, "%s", r->note);
  res->kind = r->kind;
  res->estimate = res->ci[0] = res->ci[1] = res->p = NAN;
  res->published = r->published;
  for (int a = 0; a < 2; a++)
    for (int k = 0; k < 3; k++) res->arm_stat[a][k] = NAN;
  return res;
}

/* Split the selected rows' values by arm, dropping missing ones. */
static void split_arms(const lp__run *x, const bool *keep, const double *v, double *a, size_t *na, double *b,
                       size_t *nb) {
  *na = *nb = 0;
  for (size_t i = 0; i < x->n; i++) {
    if (!keep[i] || isnan(v[i])) continue;
    if (x->arm[i] == 0) a[(*na)++] = v[i];
    else
      b[(*nb)++] = v[i];
  }
}

/* v with `digits` decimals; a value that rounds to zero is written without a sign
 * ("0.00", never "-0.00"). */
static void fixed(char *buf, size_t n, int digits, double v) {
  snprintf(buf, n, "%.*f", digits, v);
  if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)) memmove(buf, buf + 1, strlen(buf));
}

static void effect_text(lp_result *res, int digits, double scale) {
  char e[32], lo[32], hi[32];
  fixed(e, sizeof e, digits, res->estimate * scale);
  fixed(lo, sizeof lo, digits, res->ci[0] * scale);
  fixed(hi, sizeof hi, digits, res->ci[1] * scale);
  snprintf(res->effect_text, sizeof res->effect_text, "%s (%s to %s)", e, lo, hi);
}

/* Consecutive mean (or median) rows on the same patients share their bootstrap
 * resamples, as boot() does with a statistic returning a vector: the indices, the
 * costly part, are drawn once for the group. */
static lp_status boot_flush(lp__run *x) {
  boot_group *g = &x->group;
  if (g->k == 0) return LP_OK;
  lp_boot_options bo;
  lp_boot_options_default(&bo);
  bo.replicates = x->o->bootstrap;
  bo.seed = x->o->seed;
  bo.threads = x->o->threads;
  bo.level = x->o->level;
  bo.summary = g->median ? LP_SUMMARY_MEDIAN : LP_SUMMARY_MEAN;
  lp_boot_result br[LP__BOOT_GROUP];
  lp_status st = lp_boot_diff_many((const double *const *)g->a, (const double *const *)g->b, g->k, g->na, g->nb, &bo,
                                   NULL, br, x->err);
  if (is_sparse(x, st)) {
    char why[160];
    sparse_reason(x->err, why, sizeof why);
    for (size_t c = 0; c < g->k; c++) mark_not_estimable(&x->out->rows[g->row[c]], why);
    x->sparse = false;
    for (size_t c = 0; c < g->k; c++) free(g->a[c]), free(g->b[c]);
    g->k = 0;
    return LP_OK;
  }
  for (size_t c = 0; c < g->k; c++) {
    if (!st) {
      lp_result *res = &x->out->rows[g->row[c]];
      res->estimate = br[c].estimate;
      res->ci[0] = br[c].ci[0];
      res->ci[1] = br[c].ci[1];
      effect_text(res, g->median ? 1 : 2, 1);
    }
    free(g->a[c]);
    free(g->b[c]);
  }
  g->k = 0;
  return st;
}

/* Queue the current arm values (x->a, x->b) of result row `row` for the bootstrap;
 * the rows of the current selection with a value are its patients (x->used). */
static lp_status boot_add(lp__run *x, bool median, size_t row, size_t na, size_t nb) {
  boot_group *g = &x->group;
  bool same = g->k > 0 && g->k < LP__BOOT_GROUP && g->median == median && g->na == na && g->nb == nb &&
              !memcmp(g->used, x->used, x->n * sizeof *x->used);
  lp_status st;
  if (!same && (st = boot_flush(x))) return st;
  if (g->k == 0) {
    g->median = median;
    g->na = na;
    g->nb = nb;
    memcpy(g->used, x->used, x->n * sizeof *x->used);
  }
  g->a[g->k] = malloc((na ? na : 1) * sizeof(double));
  g->b[g->k] = malloc((nb ? nb : 1) * sizeof(double));
  if (!g->a[g->k] || !g->b[g->k]) {
    free(g->a[g->k]);
    free(g->b[g->k]);
    return lp_error_set(x->err, LP_ENOMEM, "out of memory");
  }
  memcpy(g->a[g->k], x->a, na * sizeof(double));
  memcpy(g->b[g->k], x->b, nb * sizeof(double));
  g->row[g->k++] = row;
  return LP_OK;
}

static lp_status run_continuous(lp__run *x, const lp_plan_row *r, lp_result *res) {
  bool median = r->kind == LP_AN_MEDIAN;
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep)) || (st = lp__plan_column(x, r, "outcome", r->outcome, x->v))) return st;
  size_t na, nb;
  split_arms(x, x->keep, x->v, x->a, &na, x->b, &nb);
  for (size_t i = 0; i < x->n; i++) x->used[i] = x->keep[i] && !isnan(x->v[i]);
  if (na < 2 || nb < 2)
    return lp__plan_sparse(x, r, "fewer than two patients with a value in an arm (%s: %zu and %zu)", r->outcome, na,
                           nb);
  bool constant = true;
  for (size_t i = 1; i < na && constant; i++) constant = x->a[i] == x->a[0];
  for (size_t i = 0; i < nb && constant; i++) constant = x->b[i] == x->a[0];
  if (constant) return lp__plan_sparse(x, r, "every patient has the same value of '%s' (%g)", r->outcome, x->a[0]);
  int digits = r->digits >= 0 ? r->digits : median ? 1 : 2;
  lp_describe d[2];
  lp_describe_compute(x->a, na, x->work, &d[0]);
  lp_describe_compute(x->b, nb, x->work, &d[1]);
  for (int k = 0; k < 2; k++) {
    res->arm_n[k] = (long)d[k].n;
    if (median) {
      res->arm_stat[k][0] = d[k].median, res->arm_stat[k][1] = d[k].q1, res->arm_stat[k][2] = d[k].q3;
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%.*f (%.*f to %.*f)", digits, d[k].median, digits, d[k].q1,
               digits, d[k].q3);
    } else {
      res->arm_stat[k][0] = d[k].mean, res->arm_stat[k][1] = d[k].sd;
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%.*f±%.*f", digits, d[k].mean, digits, d[k].sd);
    }
  }
  res->n_used = (long)(na + nb);
  if (r->ci == LP__CI_BOOTSTRAP && (st = boot_add(x, median, (size_t)(res - x->out->rows), na, nb))) return st;
  if (r->test == LP__TEST_MW || r->test == LP__TEST_DEFAULT) {
    lp_mannwhitney mw;
    if ((st = lp_mannwhitney_test(x->a, na, x->b, nb, true, x->work, &mw, x->err))) return st;
    res->p = mw.p;
  }
  snprintf(res->method, sizeof res->method,
           "difference in %s, bootstrap percentile 95%% CI (%zu resamples "
           "within arms); Mann-Whitney P",
           median ? "medians" : "means", x->o->bootstrap);
  return LP_OK;
}

static lp_status run_binary(lp__run *x, const lp_plan_row *r, lp_result *res) {
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep)) || (st = lp__plan_column(x, r, "outcome", r->outcome, x->v))) return st;
  bool count = r->kind == LP_AN_COUNT;
  long e[2] = {0, 0}, n[2] = {0, 0};
  for (size_t i = 0; i < x->n; i++) {
    if (!x->keep[i]) continue;
    double v = x->v[i];
    if (!isnan(v) && v != 0 && v != 1)
      return lp__plan_error(x, r, "outcome", LP_EDATA, "'%s' must be 0 or 1 (%s line %ld has %g)", r->outcome,
                            lp_table_source(x->t), lp_table_line(x->t, i), v);
    /* Safety counts are of all patients in the arm (no event recorded = none). */
    if (isnan(v) && !count) continue;
    n[x->arm[i]]++;
    e[x->arm[i]] += v == 1;
  }
  int digits = r->digits >= 0 ? r->digits : 1;
  for (int k = 0; k < 2; k++) {
    res->arm_n[k] = n[k];
    res->arm_stat[k][0] = (double)e[k];
    res->arm_stat[k][1] = (double)n[k];
    res->arm_stat[k][2] = n[k] ? 100.0 * (double)e[k] / (double)n[k] : NAN;
    if (count && e[k] == 0) snprintf(res->arm_text[k], sizeof res->arm_text[k], "0");
    else if (count)
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%ld (%.*f)", e[k], digits, res->arm_stat[k][2]);
    else
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%ld/%ld (%.*f)", e[k], n[k], digits, res->arm_stat[k][2]);
  }
  res->n_used = n[0] + n[1];
  if (!n[0] || !n[1]) return lp__plan_sparse(x, r, "an arm has no patients with a value of '%s'", r->outcome);
  /* A comparison needs events, and patients without them (baseline counts need neither). */
  if (res->kind != LP_AN_BASELINE && e[0] + e[1] == 0) return lp__plan_sparse(x, r, "no events in either group");
  if (res->kind != LP_AN_BASELINE && e[0] == n[0] && e[1] == n[1])
    return lp__plan_sparse(x, r, "every patient had the event");
  lp_prop_ci m = r->ci == LP__CI_WALD_CC ? LP_CI_WALD_CC : r->ci == LP__CI_NEWCOMBE ? LP_CI_NEWCOMBE : LP_CI_WALD;
  lp_prop2 pr;
  bool yates = r->test != LP__TEST_CHISQ;
  if ((st = lp_prop2_compute(e[0], n[0], e[1], n[1], m, x->o->level, yates, &pr, x->err))) return st;
  res->estimate = pr.estimate;
  res->ci[0] = pr.ci[0];
  res->ci[1] = pr.ci[1];
  effect_text(res, 1, 100);
  res->p = r->test == LP__TEST_FISHER ? pr.fisher_p : r->test == LP__TEST_NONE ? NAN : pr.chisq_p;
  snprintf(res->method, sizeof res->method, "difference in percentage points, %s 95%% CI; %s P",
           m == LP_CI_WALD      ? "Wald"
           : m == LP_CI_WALD_CC ? "continuity-corrected Wald (prop.test)"
                                : "Newcombe hybrid score",
           r->test == LP__TEST_FISHER ? "Fisher exact"
           : yates                    ? "chi-square (Yates)"
                                      : "chi-square");
  return LP_OK;
}

static lp_status run_baseline(lp__run *x, const lp_plan_row *r, lp_result *res) {
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep)) || (st = lp__plan_column(x, r, "outcome", r->outcome, x->v))) return st;
  if (r->summary == LP__SUM_PERCENT || r->summary == LP__SUM_COUNT) {
    /* Reuse the binary path for the counts, without a comparison. */
    lp_plan_row copy = *r;
    copy.kind = r->summary == LP__SUM_COUNT ? LP_AN_COUNT : LP_AN_BINARY;
    copy.test = LP__TEST_NONE;
    st = run_binary(x, &copy, res);
    res->kind = LP_AN_BASELINE;
    res->estimate = res->ci[0] = res->ci[1] = res->p = NAN;
    res->effect_text[0] = '\0';
    snprintf(res->method, sizeof res->method, "%s", r->summary == LP__SUM_COUNT ? "no. (%)" : "no./total no. (%)");
    return st;
  }
  size_t na, nb;
  split_arms(x, x->keep, x->v, x->a, &na, x->b, &nb);
  int digits = r->digits >= 0 ? r->digits : 1;
  lp_describe d[2];
  lp_describe_compute(x->a, na, x->work, &d[0]);
  lp_describe_compute(x->b, nb, x->work, &d[1]);
  for (int k = 0; k < 2; k++) {
    res->arm_n[k] = (long)d[k].n;
    if (d[k].n == 0 && r->summary != LP__SUM_N) {
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "—");
      continue;
    }
    if (r->summary == LP__SUM_N) {
      res->arm_stat[k][0] = (double)d[k].n;
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%zu", d[k].n);
    } else if (r->summary == LP__SUM_MEDIAN) {
      res->arm_stat[k][0] = d[k].median, res->arm_stat[k][1] = d[k].q1, res->arm_stat[k][2] = d[k].q3;
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%.*f (%.*f–%.*f)", digits, d[k].median, digits, d[k].q1,
               digits, d[k].q3);
    } else {
      res->arm_stat[k][0] = d[k].mean, res->arm_stat[k][1] = d[k].sd;
      snprintf(res->arm_text[k], sizeof res->arm_text[k], "%.*f±%.*f", digits, d[k].mean, digits, d[k].sd);
    }
  }
  res->n_used = (long)(na + nb);
  snprintf(res->method, sizeof res->method, "%s",
           r->summary == LP__SUM_N        ? "no. of patients with a value"
           : r->summary == LP__SUM_MEDIAN ? "median (IQR)"
                                          : "mean ± SD");
  return LP_OK;
}

/* Split "a+b+c" into at most `max` names held in `buf`. */
static size_t split_plus(const char *s, char *buf, size_t bufsize, const char **names, size_t max) {
  snprintf(buf, bufsize, "%s", s);
  size_t k = 0;
  for (char *p = buf; *p && k < max;) {
    names[k++] = p;
    char *q = strchr(p, '+');
    if (!q) break;
    *q = '\0';
    p = q + 1;
  }
  return k;
}

static lp_status run_adjusted(lp__run *x, const lp_plan_row *r, lp_result *res) {
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep)) || (st = lp__plan_column(x, r, "outcome", r->outcome, x->v))) return st;
  char cbuf[512], fbuf[512];
  const char *cov[32], *fac[32];
  size_t ncov = split_plus(r->adjust, cbuf, sizeof cbuf, cov + 1, 31) + 1;
  size_t nfac = *r->factors ? split_plus(r->factors, fbuf, sizeof fbuf, fac, 32) : 0;
  cov[0] = x->o->arm_column;
  fac[nfac++] = x->o->arm_column;
  for (size_t j = 1; j < ncov; j++) {
    size_t c;
    if (lp_table_column(x->t, cov[j], &c, NULL))
      return lp__plan_error(x, r, "adjust", LP_ENOTFOUND, "the data set has no column '%s'", cov[j]);
  }
  /* Rows: selected, outcome and every covariate present. */
  size_t m = 0;
  for (size_t i = 0; i < x->n; i++) {
    if (!x->keep[i] || isnan(x->v[i])) continue;
    bool ok = true;
    for (size_t j = 1; j < ncov && ok; j++) {
      size_t c;
      lp_table_column(x->t, cov[j], &c, NULL);
      ok = lp_table_cell(x->t, i, c) != NULL;
    }
    if (ok) {
      x->rows[m] = i;
      x->a[m] = x->v[i];
      m++;
    }
  }
  lp_model_matrix d;
  lp_error inner;
  if ((st = lp_model_matrix_init(&d, x->t, cov, ncov, fac, nfac, x->rows, m, &inner)))
    return lp__plan_error(x, r, "adjust", st, "%s", inner.message);
  /* The arm column's indicator: "arm" + the second level in sorted order. */
  size_t target = d.p;
  for (size_t j = 0; j < d.p; j++)
    if (d.term[j] == 0) target = j;
  double sign = 1;
  if (target < d.p && !strcmp(d.names[target] + strlen(x->o->arm_column), x->o->arms[1])) sign = -1;
  lp_lm_fit fit;
  if (target == d.p || (st = lp_lm_fit_compute(d.x, m, d.p, x->a, true, 1e-7, &fit, x->err))) {
    lp_model_matrix_clear(&d);
    return st ? st : lp__plan_sparse(x, r, "only one arm among the patients with every covariate");
  }
  int *strata = malloc((m ? m : 1) * sizeof *strata);
  if (!strata) {
    lp_lm_fit_clear(&fit);
    lp_model_matrix_clear(&d);
    return lp_error_set(x->err, LP_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < m; i++) strata[i] = x->arm[x->rows[i]];
  lp_boot_options bo;
  lp_boot_options_default(&bo);
  bo.replicates = x->o->bootstrap;
  bo.seed = x->o->seed;
  bo.threads = x->o->threads;
  bo.level = x->o->level;
  lp_boot_result br;
  st = lp_lm_boot_matrix(&d, x->a, target, strata, &bo, &br, x->err);
  if (!st) {
    res->estimate = sign * fit.coef[target + 1];
    res->p = fit.pval[target + 1];
    res->ci[0] = sign > 0 ? br.ci[0] : -br.ci[1];
    res->ci[1] = sign > 0 ? br.ci[1] : -br.ci[0];
    res->n_used = (long)m;
    effect_text(res, 2, 1);
    snprintf(res->method, sizeof res->method,
             "linear regression adjusted for %s; bootstrap percentile 95%% CI (%zu resamples within arms); t-test P",
             r->adjust, x->o->bootstrap);
  }
  free(strata);
  lp_lm_fit_clear(&fit);
  lp_model_matrix_clear(&d);
  return st;
}

static lp_status run_subgroup(lp__run *x, const lp_plan_row *r, lp_result *res) {
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep)) || (st = lp__plan_column(x, r, "outcome", r->outcome, x->v))) return st;
  size_t cs;
  if (lp_table_column(x->t, r->subgroup, &cs, NULL))
    return lp__plan_error(x, r, "subgroup", LP_ENOTFOUND, "the data set has no column '%s'", r->subgroup);
  size_t m = 0;
  for (size_t i = 0; i < x->n; i++)
    if (x->keep[i] && !isnan(x->v[i]) && lp_table_cell(x->t, i, cs)) x->rows[m++] = i;
  lp_factor f;
  lp_error inner;
  if ((st = lp_factor_init(&f, x->t, cs, x->rows, m, &inner)))
    return lp__plan_error(x, r, "subgroup", st, "%s", inner.message);
  if (*r->levels) {
    /* The plan's display order, "a|b|c": every name must be a level. */
    char buf[512];
    const char *names[8];
    size_t k = 0;
    snprintf(buf, sizeof buf, "%s", r->levels);
    for (char *q = buf; q && k < 8;) {
      names[k++] = q;
      q = strchr(q, '|');
      if (q) *q++ = '\0';
    }
    if ((st = lp_factor_reorder(&f, names, k, &inner))) {
      size_t have = f.nlevels;
      lp_factor_clear(&f);
      /* Fewer levels in the data than the plan names: a level without patients. */
      if (have < k) return lp__plan_sparse(x, r, "a level of '%s' has no patients (%s)", r->subgroup, inner.message);
      return lp__plan_error(x, r, "levels", st, "%s", inner.message);
    }
  }
  if (f.nlevels > 8) {
    lp_factor_clear(&f);
    return lp__plan_error(x, r, "subgroup", LP_EDATA, "'%s' has %zu levels (at most 8)", r->subgroup, f.nlevels);
  }
  int *armc = malloc((m ? m : 1) * sizeof *armc);
  if (!armc) {
    lp_factor_clear(&f);
    return lp_error_set(x->err, LP_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < m; i++) {
    armc[i] = x->arm[x->rows[i]];
    x->a[i] = x->v[x->rows[i]];
  }
  lp_interaction_result ir;
  st = lp_interaction_test(x->a, armc, f.codes, m, f.nlevels, x->o->permutations, x->o->seed, x->o->threads,
                           x->o->level, &ir, x->err);
  if (!st) {
    lp_results *o = x->out;
    lp_result_subgroup *sg = realloc(o->subgroups, (o->nsubgroups + 1) * sizeof *sg);
    if (!sg) {
      st = lp_error_set(x->err, LP_ENOMEM, "out of memory");
    } else {
      o->subgroups = sg;
      sg = &o->subgroups[o->nsubgroups++];
      memset(sg, 0, sizeof *sg);
      snprintf(sg->id, sizeof sg->id, "%s", r->id);
      snprintf(sg->outcome, sizeof sg->outcome, "%s", r->outcome);
      snprintf(sg->label, sizeof sg->label, "%s", r->label);
      snprintf(sg->section, sizeof sg->section, "%s", r->section);
      sg->nlevels = f.nlevels;
      int digits = r->digits >= 0 ? r->digits : 2;
      for (size_t l = 0; l < f.nlevels; l++) {
        snprintf(sg->levels[l], sizeof sg->levels[l], "%s", f.levels[l]);
        sg->estimate[l] = ir.sub[l].estimate;
        sg->lo[l] = ir.sub[l].ci[0];
        sg->hi[l] = ir.sub[l].ci[1];
        /* Arm means within the level. */
        for (int k = 0; k < 2; k++) {
          double s = 0;
          size_t c = 0;
          for (size_t i = 0; i < m; i++)
            if (f.codes[i] == (int)l && armc[i] == k) s += x->a[i], c++;
          snprintf(sg->arm_text[l][k], sizeof sg->arm_text[l][k], "%.*f", digits, c ? s / (double)c : NAN);
          sg->arm_n[l][k] = (long)c;
          sg->arm_mean[l][k] = c ? s / (double)c : NAN;
          sg->n[l] += (long)c;
        }
      }
      sg->binary = true;
      for (size_t i = 0; i < m && sg->binary; i++) sg->binary = x->a[i] == 0 || x->a[i] == 1;
      sg->p_interaction = ir.p;
      res->p = ir.p;
      res->n_used = (long)m;
      snprintf(res->method, sizeof res->method,
               "effects within subgroups (normal 95%% CI); heterogeneity by permutation of arm and subgroup "
               "(Cochran's Q, %zu permutations)",
               ir.permutations);
    }
    lp_interaction_result_clear(&ir);
  }
  free(armc);
  lp_factor_clear(&f);
  return st;
}

static lp_status run_imputed(lp__run *x, const lp_plan_row *r, lp_result *res) {
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep))) return st;
  size_t M = 0;
  char name[160];
  for (;; M++) {
    size_t c;
    snprintf(name, sizeof name, "%s_%zu", r->outcome, M + 1);
    if (lp_table_column(x->t, name, &c, NULL)) break;
  }
  if (M < 2)
    return lp__plan_error(x, r, "outcome", LP_ENOTFOUND,
                          "an imputed analysis needs columns %s_1, %s_2, ... (found %zu)", r->outcome, r->outcome, M);
  double *q = malloc(M * sizeof *q), *u = malloc(M * sizeof *u);
  double sum[2][2] = {{0, 0}, {0, 0}};
  size_t nn[2] = {0, 0};
  if (!q || !u) {
    free(q);
    free(u);
    return lp_error_set(x->err, LP_ENOMEM, "out of memory");
  }
  for (size_t k = 0; k < M && !st; k++) {
    snprintf(name, sizeof name, "%s_%zu", r->outcome, k + 1);
    if ((st = lp__plan_column(x, r, "outcome", name, x->v))) break;
    size_t na, nb;
    split_arms(x, x->keep, x->v, x->a, &na, x->b, &nb);
    lp_describe d[2];
    lp_describe_compute(x->a, na, x->work, &d[0]);
    lp_describe_compute(x->b, nb, x->work, &d[1]);
    if (na < 2 || nb < 2) {
      st = lp__plan_sparse(x, r, "fewer than two patients with a value in an arm (%s)", name);
      break;
    }
    q[k] = d[0].mean - d[1].mean;
    u[k] = d[0].sd * d[0].sd / (double)na + d[1].sd * d[1].sd / (double)nb;
    for (int a = 0; a < 2; a++) sum[a][0] += d[a].mean, sum[a][1] += d[a].sd;
    nn[0] = na, nn[1] = nb;
  }
  lp_mi_pooled pool;
  if (!st) st = lp_mi_pool(q, u, M, (double)(nn[0] + nn[1] - 2), x->o->level, &pool, x->err);
  if (!st) {
    int digits = r->digits >= 0 ? r->digits : 2;
    for (int a = 0; a < 2; a++) {
      res->arm_n[a] = (long)nn[a];
      res->arm_stat[a][0] = sum[a][0] / (double)M;
      res->arm_stat[a][1] = sum[a][1] / (double)M;
      snprintf(res->arm_text[a], sizeof res->arm_text[a], "%.*f±%.*f", digits, res->arm_stat[a][0], digits,
               res->arm_stat[a][1]);
    }
    res->estimate = pool.qbar;
    res->ci[0] = pool.ci[0];
    res->ci[1] = pool.ci[1];
    res->p = r->test == LP__TEST_NONE ? NAN : pool.p;
    res->n_used = (long)(nn[0] + nn[1]);
    effect_text(res, 2, 1);
    snprintf(res->method, sizeof res->method,
             "difference in means pooled over %zu imputations by Rubin's rules "
             "(Barnard-Rubin df %.1f)",
             M, pool.df);
  }
  free(q);
  free(u);
  return st;
}

lp_status lp_plan_run(const lp_plan *plan, const lp_table *t, const lp_plan_options *o, lp_results *out,
                      lp_error *err) {
  memset(out, 0, sizeof *out);
  lp__run x = {0};
  x.t = t;
  x.o = o;
  x.err = err;
  x.out = out;
  x.n = lp_table_nrows(t);
  x.plan_source = lp_table_source(plan->t);
  x.builtin = plan->builtin;
  lp_status st = LP_OK;
  size_t n = x.n ? x.n : 1;
  if (lp_calloc(n, sizeof *x.arm, &x.arm) || lp_calloc(n, sizeof *x.keep, &x.keep) || lp_calloc(n, sizeof *x.v, &x.v) ||
      lp_calloc(n, sizeof *x.a, &x.a) || lp_calloc(n, sizeof *x.b, &x.b) || lp_calloc(4 * n, sizeof *x.work, &x.work) ||
      lp_calloc(n, sizeof *x.scratch, &x.scratch) || lp_calloc(n, sizeof *x.rows, &x.rows) ||
      lp_calloc(n, sizeof *x.used, &x.used) || lp_calloc(n, sizeof *x.group.used, &x.group.used)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  size_t ca;
  if ((st = lp_table_column(t, o->arm_column, &ca, err))) goto done;
  for (size_t i = 0; i < x.n; i++) {
    const char *s = lp_table_cell(t, i, ca);
    x.arm[i] = !s ? -1 : !strcmp(s, o->arms[0]) ? 0 : !strcmp(s, o->arms[1]) ? 1 : -1;
    if (x.arm[i] >= 0) out->arm_n[x.arm[i]]++;
  }
  if (!out->arm_n[0] || !out->arm_n[1]) {
    st = lp_error_at(err, LP_EDATA, lp_table_source(t), 0, o->arm_column, "needs patients in both arms '%s' and '%s'",
                     o->arms[0], o->arms[1]);
    goto done;
  }
  snprintf(out->arms[0], sizeof out->arms[0], "%s", o->arms[0]);
  snprintf(out->arms[1], sizeof out->arms[1], "%s", o->arms[1]);
  out->seed = o->seed;
  out->bootstrap = o->bootstrap;
  out->permutations = o->permutations;
  for (size_t k = 0; k < plan->n && !st; k++) {
    const lp_plan_row *r = &plan->rows[k];
    /* Rows that are not bootstrapped means or medians close a pending group first. */
    if ((r->kind != LP_AN_MEAN && r->kind != LP_AN_MEDIAN) && (st = boot_flush(&x))) break;
    lp_result *res = new_row(&x, r);
    if (!res) {
      st = lp_error_set(err, LP_ENOMEM, "out of memory");
      break;
    }
    switch (r->kind) {
      case LP_AN_MEAN:
      case LP_AN_MEDIAN:
        st = run_continuous(&x, r, res);
        break;
      case LP_AN_BINARY:
      case LP_AN_COUNT:
        st = run_binary(&x, r, res);
        break;
      case LP_AN_BASELINE:
        st = run_baseline(&x, r, res);
        break;
      case LP_AN_ADJUSTED:
        st = run_adjusted(&x, r, res);
        break;
      case LP_AN_SUBGROUP:
        st = run_subgroup(&x, r, res);
        break;
      case LP_AN_IMPUTED:
        st = run_imputed(&x, r, res);
        break;
      case LP_AN_COX:
        st = lp__run_cox(&x, r, res);
        break;
      default:
        st = lp__plan_error(&x, r, "kind", LP_EINVAL, "unknown analysis kind");
        break;
    }
    if (is_sparse(&x, st)) {
      /* Not estimable on these data: "—" with the reason, and the rest of the plan runs. */
      char why[160];
      sparse_reason(err, why, sizeof why);
      mark_not_estimable(res, why);
      x.sparse = false;
      st = LP_OK;
      continue;
    }
    if (!st) lp_format_p(res->p, res->p_text, sizeof res->p_text);
  }
  if (!st) st = boot_flush(&x);
done:
  for (size_t c = 0; c < x.group.k; c++) free(x.group.a[c]), free(x.group.b[c]);
  free(x.used);
  free(x.group.used);
  free(x.arm);
  free(x.keep);
  free(x.v);
  free(x.a);
  free(x.b);
  free(x.work);
  free(x.scratch);
  free(x.rows);
  if (st) lp_results_clear(out);
  return st;
}
