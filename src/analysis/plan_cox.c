/* Time-to-event rows of a plan: Kaplan-Meier curves per arm (kept for the figure,
 * with numbers at risk at days 0, 7, 14, 21 and 28) and the Cox hazard ratio of the
 * first arm against the second, adjusted for the row's covariates, with robust
 * variance clustered on the plan's cluster column (ICU). */
#include <leopards/survival.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/plan_run.h"

static lp_status keep_curve(lp__run *x, const lp_plan_row *r, int arm, const lp_km *km) {
  lp_results *o = x->out;
  lp_result_curve *c = realloc(o->curves, (o->ncurves + 1) * sizeof *c);
  if (!c) return lp_error_set(x->err, LP_ENOMEM, "out of memory");
  o->curves = c;
  c = &o->curves[o->ncurves];
  memset(c, 0, sizeof *c);
  snprintf(c->id, sizeof c->id, "%s", r->id);
  snprintf(c->arm, sizeof c->arm, "%s", x->o->arms[arm]);
  size_t nev = 0, ncen = 0;
  for (size_t i = 0; i < km->nsteps; i++) nev += km->steps[i].n_event > 0, ncen += km->steps[i].n_censor > 0;
  c->time = malloc((nev ? nev : 1) * sizeof *c->time);
  c->surv = malloc((nev ? nev : 1) * sizeof *c->surv);
  c->censor = malloc((ncen ? ncen : 1) * sizeof *c->censor);
  if (!c->time || !c->surv || !c->censor) {
    free(c->time), free(c->surv), free(c->censor);
    return lp_error_set(x->err, LP_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < km->nsteps; i++) {
    const lp_km_step *s = &km->steps[i];
    if (s->n_event > 0) c->time[c->n] = s->time, c->surv[c->n++] = s->surv;
    if (s->n_censor > 0) c->censor[c->ncensor++] = s->time;
  }
  static const double days[5] = {0, 7, 14, 21, 28};
  for (int k = 0; k < 5; k++) {
    lp_km_step s;
    c->at_risk[k] = lp_km_at(km, days[k], &s) ? s.n_risk : 0;
  }
  o->ncurves++;
  return LP_OK;
}

lp_status lp__run_cox(lp__run *x, const lp_plan_row *r, lp_result *res) {
  lp_status st;
  if ((st = lp__plan_select(x, r, x->keep)) || (st = lp__plan_column(x, r, "time", r->time, x->v)) ||
      (st = lp__plan_column(x, r, "event", r->event, x->scratch)))
    return st;
  /* Adjustment covariates (numbers) and the cluster column. */
  char buf[512];
  const char *cov[16];
  size_t ncov = 0;
  if (*r->adjust) {
    snprintf(buf, sizeof buf, "%s", r->adjust);
    for (char *p = buf; *p && ncov < 16;) {
      cov[ncov++] = p;
      char *q = strchr(p, '+');
      if (!q) break;
      *q = '\0';
      p = q + 1;
    }
  }
  size_t p = 1 + ncov, n = x->n;
  double *cv = malloc((ncov ? ncov : 1) * n * sizeof *cv), *X = malloc(n * p * sizeof *X), *t = malloc(n * sizeof *t);
  int *e = malloc(n * sizeof *e), *armv = malloc(n * sizeof *armv);
  lp_factor kf = {0};
  lp_cox_fit fit = {0};
  lp_km km[2] = {{0}, {0}};
  size_t m = 0;
  if (!cv || !X || !t || !e || !armv) {
    st = lp_error_set(x->err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t j = 0; j < ncov && !st; j++) st = lp__plan_column(x, r, "adjust", cov[j], cv + j * n);
  if (st) goto done;
  size_t ck;
  if (lp_table_column(x->t, x->o->cluster_column, &ck, NULL)) {
    st = lp__plan_error(x, r, "kind", LP_ENOTFOUND, "the data set has no cluster column '%s'", x->o->cluster_column);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if (!x->keep[i] || isnan(x->v[i]) || isnan(x->scratch[i]) || !lp_table_cell(x->t, i, ck)) continue;
    bool ok = true;
    for (size_t j = 0; j < ncov; j++) ok = ok && !isnan(cv[j * n + i]);
    if (!ok) continue;
    if (x->scratch[i] != 0 && x->scratch[i] != 1) {
      st = lp__plan_error(x, r, "event", LP_EDATA, "'%s' must be 0 or 1 (%s line %ld)", r->event, lp_table_source(x->t),
                          lp_table_line(x->t, i));
      goto done;
    }
    x->rows[m] = i;
    t[m] = x->v[i];
    e[m] = (int)x->scratch[i];
    armv[m] = x->arm[i];
    X[m * p] = x->arm[i] == 0 ? 1.0 : 0.0; /* first arm vs second: HR of the first */
    for (size_t j = 0; j < ncov; j++) X[m * p + 1 + j] = cv[j * n + i];
    m++;
  }
  lp_error inner;
  if ((st = lp_factor_init(&kf, x->t, ck, x->rows, m, &inner))) {
    if (st == LP_EDATA && !m) st = lp__plan_sparse(x, r, "no patients with a time and an event");
    else
      st = lp__plan_error(x, r, "kind", st, "%s", inner.message);
    goto done;
  }
  lp_cox_options co;
  lp_cox_options_default(&co);
  co.level = x->o->level;
  if ((st = lp_cox_fit_compute(t, e, X, m, p, NULL, kf.codes, &co, &fit, &inner))) {
    /* Too few events (or none in an arm) for the model: the row is not estimable. */
    if (st == LP_EDATA || st == LP_ENUMERIC || st == LP_ECONVERGE) st = lp__plan_sparse(x, r, "%s", inner.message);
    else
      st = lp__plan_error(x, r, "kind", st, "%s", inner.message);
    goto done;
  }
  res->estimate = fit.hr[0];
  res->ci[0] = fit.lower[0];
  res->ci[1] = fit.upper[0];
  res->p = fit.pval[0];
  res->n_used = (long)m;
  snprintf(res->effect_text, sizeof res->effect_text, "%.2f (%.2f to %.2f)", res->estimate, res->ci[0], res->ci[1]);
  snprintf(res->method, sizeof res->method,
           "Cox regression (Efron ties)%s%s, robust variance clustered by %s (%zu clusters); hazard ratio %s vs %s",
           ncov ? " adjusted for " : "", ncov ? r->adjust : "", x->o->cluster_column, fit.clusters, x->o->arms[0],
           x->o->arms[1]);
  /* Kaplan-Meier per arm: events n/N in the arm columns. */
  for (int a = 0; a < 2 && !st; a++) {
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
      if (armv[i] == a) t[k] = x->v[x->rows[i]], e[k] = (int)x->scratch[x->rows[i]], k++;
    if ((st = lp_km_fit(t, e, k, x->o->level, &km[a], x->err))) break;
    res->arm_n[a] = km[a].n;
    res->arm_stat[a][0] = (double)km[a].events;
    res->arm_stat[a][1] = (double)km[a].n;
    res->arm_stat[a][2] = 100.0 * (double)km[a].events / (double)km[a].n;
    snprintf(res->arm_text[a], sizeof res->arm_text[a], "%ld/%ld", km[a].events, km[a].n);
    st = keep_curve(x, r, a, &km[a]);
  }
done:
  lp_km_clear(&km[0]);
  lp_km_clear(&km[1]);
  lp_cox_fit_clear(&fit);
  lp_factor_clear(&kf);
  free(cv), free(X), free(t), free(e), free(armv);
  return st;
}
