/* leopards stats km and stats cox: survival analysis on any CSV. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/survival.h>
#include <leopards/table.h>

#include "cli.h"

/* Rows with time, event and the other named columns present; time >= 0 and the
 * event 0/1, else an error naming file, line and column. */
typedef struct {
  lp_table *t;
  size_t *rows, n, dropped;
  double *time;
  int *event;
} surv_data;

static void surv_clear(surv_data *d) {
  lp_table_free(d->t);
  free(d->rows);
  free(d->time);
  free(d->event);
  memset(d, 0, sizeof *d);
}

static lp_status surv_load(const char *path, const char *tcol, const char *ecol, const char *const *extra,
                           size_t nextra, surv_data *d, lp_error *err) {
  memset(d, 0, sizeof *d);
  lp_status st = lp_table_read_csv(path, &d->t, err);
  if (st) return st;
  const char *cols[70];
  size_t nc = 0;
  cols[nc++] = tcol;
  cols[nc++] = ecol;
  for (size_t i = 0; i < nextra && nc < 70; i++) cols[nc++] = extra[i];
  size_t ct, ce;
  if ((st = lp_table_column(d->t, tcol, &ct, err)) || (st = lp_table_column(d->t, ecol, &ce, err)) ||
      (st = lp_table_complete_rows(d->t, cols, nc, &d->rows, &d->n, &d->dropped, err)))
    goto fail;
  if (d->n == 0) {
    st = lp_error_at(err, LP_EDATA, path, 0, NULL, "no row has all of the columns used");
    goto fail;
  }
  d->time = malloc(d->n * sizeof *d->time);
  d->event = malloc(d->n * sizeof *d->event);
  if (!d->time || !d->event) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  if ((st = lp_table_numeric(d->t, ct, d->rows, d->n, d->time, err))) goto fail;
  for (size_t i = 0; i < d->n; i++)
    if (d->time[i] < 0) {
      st = lp_error_at(err, LP_EDATA, path, lp_table_line(d->t, d->rows[i]), tcol, "time %g is negative", d->time[i]);
      goto fail;
    }
  if ((st = lp_table_binary(d->t, ce, d->rows, d->n, d->event, err))) {
    lp_error_prefix(err, "the event column holds 0 (censored) or 1 (event)");
    goto fail;
  }
  return LP_OK;
fail:
  surv_clear(d);
  return st;
}

/* ---- stats km ---- */

static const cli_opt km_opts[] = {{"data", "FILE.csv", "input table"},
                                  {"time", "COLUMN", "follow-up time (>= 0)"},
                                  {"event", "COLUMN", "1 = event, 0 = censored"},
                                  {"group", "COLUMN", "curves by group, with the log-rank test"},
                                  {"at", "T1,T2,...", "survival at these times"},
                                  {"level", "L", "confidence level (default 0.95)"},
                                  {"json", NULL, "print JSON"},
                                  {0}};

static json_t *step_json(const lp_km_step *s, bool full) {
  if (full)
    return json_pack("{s:o, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "time", cli_num(s->time), "n_risk",
                     (json_int_t)s->n_risk, "n_event", (json_int_t)s->n_event, "n_censor", (json_int_t)s->n_censor,
                     "surv", cli_num(s->surv), "std_err", cli_num(s->std_err), "lower", cli_num(s->lower), "upper",
                     cli_num(s->upper));
  return json_pack("{s:o, s:I, s:o, s:o, s:o}", "time", cli_num(s->time), "n_risk", (json_int_t)s->n_risk, "surv",
                   cli_num(s->surv), "lower", cli_num(s->lower), "upper", cli_num(s->upper));
}

static int run_km(const cli_args *a) {
  const char *data, *tcol, *ecol;
  int rc;
  if ((rc = cli_require(a, "data", &data)) || (rc = cli_require(a, "time", &tcol)) ||
      (rc = cli_require(a, "event", &ecol)))
    return rc;
  double level = 0.95, *at = NULL;
  size_t nat = 0;
  if ((rc = cli_double(a, "level", &level)) || (rc = cli_double_list(a, "at", &at, &nat))) return rc;
  if (!(level > 0 && level < 1)) {
    free(at);
    return cli_usage_error(a, "--level must be between 0 and 1");
  }
  const char *gcol = cli_str(a, "group");
  lp_error err;
  surv_data d;
  if (surv_load(data, tcol, ecol, gcol ? &gcol : NULL, gcol ? 1 : 0, &d, &err)) {
    free(at);
    return cli_fail(a, &err);
  }
  lp_factor f = {0};
  size_t ng = 1;
  lp_status st = LP_OK;
  if (gcol) {
    size_t cg;
    st = lp_table_column(d.t, gcol, &cg, &err);
    if (!st) st = lp_factor_init(&f, d.t, cg, d.rows, d.n, &err);
    ng = f.nlevels;
  }
  lp_km *km = calloc(ng, sizeof *km);
  double *tt = malloc(d.n * sizeof *tt);
  int *ee = malloc(d.n * sizeof *ee);
  lp_logrank lr = {0};
  if (!km || !tt || !ee) st = lp_error_set(&err, LP_ENOMEM, "out of memory");
  for (size_t g = 0; !st && g < ng; g++) {
    size_t m = 0;
    for (size_t i = 0; i < d.n; i++)
      if (!gcol || f.codes[i] == (int)g) tt[m] = d.time[i], ee[m] = d.event[i], m++;
    st = lp_km_fit(tt, ee, m, level, &km[g], &err);
  }
  if (!st && gcol && ng >= 2) st = lp_logrank_test(d.time, d.event, f.codes, d.n, ng, &lr, &err);
  int out = CLI_OK;
  if (st) {
    out = cli_fail(a, &err);
  } else if (cli_has(a, "json")) {
    json_t *groups = json_array();
    for (size_t g = 0; g < ng; g++) {
      json_t *ats = json_array(), *table = json_array();
      for (size_t k = 0; k < nat; k++) {
        lp_km_step s;
        if (lp_km_at(&km[g], at[k], &s)) json_array_append_new(ats, step_json(&s, false));
        else
          json_array_append_new(ats, json_pack("{s:o, s:I, s:n, s:n, s:n}", "time", cli_num(at[k]), "n_risk",
                                               (json_int_t)0, "surv", "lower", "upper"));
      }
      for (size_t i = 0; i < km[g].nsteps; i++) json_array_append_new(table, step_json(&km[g].steps[i], true));
      json_array_append_new(
          groups,
          json_pack("{s:s, s:I, s:I, s:o, s:[o,o], s:o, s:o}", "level", gcol ? f.levels[g] : "all", "n",
                    (json_int_t)km[g].n, "events", (json_int_t)km[g].events, "median", cli_num(km[g].median),
                    "median_ci", cli_num(km[g].median_lower), cli_num(km[g].median_upper), "at", ats, "table", table));
    }
    json_t *root =
        json_pack("{s:o, s:I, s:I}", "groups", groups, "n_used", (json_int_t)d.n, "n_dropped", (json_int_t)d.dropped);
    json_object_set_new(root, "logrank",
                        lr.groups
                            ? json_pack("{s:o, s:i, s:o}", "chisq", cli_num(lr.chisq), "df", lr.df, "p", cli_num(lr.p))
                            : json_null());
    out = cli_print_json(root);
  } else {
    char b[6][32];
    printf("Kaplan-Meier: %zu rows used, %zu dropped for missing values\n\n", d.n, d.dropped);
    printf("  %-14s %6s %7s %10s %10s %10s\n", "group", "n", "events", "median", "lower", "upper");
    for (size_t g = 0; g < ng; g++)
      printf("  %-14s %6ld %7ld %10s %10s %10s\n", gcol ? f.levels[g] : "all", km[g].n, km[g].events,
             cli_fmt(b[0], 32, km[g].median, 6), cli_fmt(b[1], 32, km[g].median_lower, 6),
             cli_fmt(b[2], 32, km[g].median_upper, 6));
    for (size_t g = 0; g < ng && nat; g++) {
      printf("\n  %s: time, n at risk, survival (%g%% CI)\n", gcol ? f.levels[g] : "all", 100 * level);
      for (size_t k = 0; k < nat; k++) {
        lp_km_step s;
        if (!lp_km_at(&km[g], at[k], &s)) {
          printf("    %10g   beyond the last follow-up time\n", at[k]);
          continue;
        }
        printf("    %10g %6ld %10s (%s to %s)\n", at[k], s.n_risk, cli_fmt(b[0], 32, s.surv, 5),
               cli_fmt(b[1], 32, s.lower, 5), cli_fmt(b[2], 32, s.upper, 5));
      }
    }
    if (lr.groups)
      printf("\nlog-rank test: chi-square %s on %d df, p = %s\n", cli_fmt(b[3], 32, lr.chisq, 6), lr.df,
             cli_fmt_p(b[4], 32, lr.p));
  }
  for (size_t g = 0; km && g < ng; g++) lp_km_clear(&km[g]);
  free(km);
  free(tt);
  free(ee);
  free(at);
  lp_logrank_clear(&lr);
  lp_factor_clear(&f);
  surv_clear(&d);
  return out;
}

/* ---- stats cox ---- */

static const cli_opt cox_opts[] = {{"data", "FILE.csv", "input table"},
                                   {"time", "COLUMN", "follow-up time (>= 0)"},
                                   {"event", "COLUMN", "1 = event, 0 = censored"},
                                   {"covariates", "A,B,...", "covariates (a text column is a factor)"},
                                   {"factor", "C,...", "numeric covariates to treat as factors"},
                                   {"strata", "COLUMN", "separate baseline hazards by this column"},
                                   {"cluster", "COLUMN", "robust variance clustered on this column (e.g. ICU)"},
                                   {"ties", "efron|breslow", "handling of tied event times (default efron)"},
                                   {"level", "L", "confidence level (default 0.95)"},
                                   {"json", NULL, "print JSON"},
                                   {0}};

static int run_cox(const cli_args *a) {
  const char *data, *tcol, *ecol, *covs;
  int rc;
  if ((rc = cli_require(a, "data", &data)) || (rc = cli_require(a, "time", &tcol)) ||
      (rc = cli_require(a, "event", &ecol)) || (rc = cli_require(a, "covariates", &covs)))
    return rc;
  lp_cox_options o;
  lp_cox_options_default(&o);
  static const char *const ties[] = {"efron", "breslow", NULL};
  int t = 0;
  if ((rc = cli_choice(a, "ties", ties, &t)) || (rc = cli_double(a, "level", &o.level))) return rc;
  if (!(o.level > 0 && o.level < 1)) return cli_usage_error(a, "--level must be between 0 and 1");
  o.ties = (lp_ties)t;
  lp_error err;
  char **cov = NULL, **fac = NULL;
  size_t ncov = 0, nfac = 0;
  if (lp_split_list(covs, &cov, &ncov, &err)) return cli_usage_error(a, "--covariates: %s", err.message);
  if (cli_has(a, "factor") && lp_split_list(cli_str(a, "factor"), &fac, &nfac, &err)) {
    free(cov);
    return cli_usage_error(a, "--factor: %s", err.message);
  }
  for (size_t k = 0; k < nfac; k++) {
    bool found = false;
    for (size_t j = 0; j < ncov; j++) found = found || !strcmp(fac[k], cov[j]);
    if (!found) {
      int r = cli_usage_error(a, "--factor %s: not among the covariates", fac[k]);
      free(cov), free(fac);
      return r;
    }
  }
  const char *scol = cli_str(a, "strata"), *kcol = cli_str(a, "cluster");
  const char *extra[70];
  size_t ne = 0;
  for (size_t j = 0; j < ncov && ne < 66; j++) extra[ne++] = cov[j];
  if (scol) extra[ne++] = scol;
  if (kcol) extra[ne++] = kcol;
  surv_data d;
  lp_model_matrix des = {0};
  lp_factor sf = {0}, kf = {0};
  lp_cox_fit fit = {0};
  lp_status st = surv_load(data, tcol, ecol, extra, ne, &d, &err);
  if (!st)
    st = lp_model_matrix_init(&des, d.t, (const char *const *)cov, ncov, (const char *const *)fac, nfac, d.rows, d.n,
                              &err);
  size_t c;
  if (!st && scol && !(st = lp_table_column(d.t, scol, &c, &err))) st = lp_factor_init(&sf, d.t, c, d.rows, d.n, &err);
  if (!st && kcol && !(st = lp_table_column(d.t, kcol, &c, &err))) st = lp_factor_init(&kf, d.t, c, d.rows, d.n, &err);
  o.names = (const char *const *)des.names;
  if (!st)
    st = lp_cox_fit_compute(d.time, d.event, des.x, d.n, des.p, scol ? sf.codes : NULL, kcol ? kf.codes : NULL, &o,
                            &fit, &err);
  /* R's warning for coefficients that run off to infinity, in words. */
  char infwarn[1024] = "";
  if (!st && fit.ninfinite) {
    size_t len = 0, k = 0;
    len += (size_t)snprintf(infwarn, sizeof infwarn, "the coefficient%s of ", fit.ninfinite > 1 ? "s" : "");
    for (size_t j = 0; j < fit.p && len < sizeof infwarn; j++)
      if (fit.infinite[j])
        len += (size_t)snprintf(infwarn + len, sizeof infwarn - len, "%s%s", k++ ? ", " : "", des.names[j]);
    if (len < sizeof infwarn)
      snprintf(infwarn + len, sizeof infwarn - len,
               " may be infinite: the log-likelihood converged while %s still growing (a factor level "
               "with no events, or separation), so %s hazard ratio and interval mean nothing",
               fit.ninfinite > 1 ? "they were" : "it was", fit.ninfinite > 1 ? "their" : "its");
  }
  int out = CLI_OK;
  if (st) {
    out = cli_fail(a, &err);
  } else if (cli_has(a, "json")) {
    json_t *terms = json_array();
    for (size_t j = 0; j < fit.p; j++)
      json_array_append_new(
          terms, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "name", des.names[j], "coef",
                           cli_num(fit.coef[j]), "se", cli_num(fit.se[j]), "robust_se",
                           fit.robust_se ? cli_num(fit.robust_se[j]) : json_null(), "hr", cli_num(fit.hr[j]), "lower",
                           cli_num(fit.lower[j]), "upper", cli_num(fit.upper[j]), "z", cli_num(fit.z[j]), "p",
                           cli_num(fit.pval[j]), "may_be_infinite", fit.infinite[j]));
    json_t *root =
        json_pack("{s:I, s:I, s:[o,o], s:o, s:s, s:i, s:I, s:o, s:o, s:o, s:o}", "n", (json_int_t)fit.n, "events",
                  (json_int_t)fit.events, "loglik", cli_num(fit.loglik[0]), cli_num(fit.loglik[1]), "terms", terms,
                  "ties", ties[t], "iterations", fit.iterations, "n_dropped", (json_int_t)d.dropped, "clusters",
                  kcol ? json_integer((json_int_t)fit.clusters) : json_null(), "lr_test", cli_num(fit.lr_test),
                  "wald_test", cli_num(fit.wald_test), "score_test", cli_num(fit.score_test));
    json_t *warnings = json_array();
    if (infwarn[0]) json_array_append_new(warnings, json_string(infwarn));
    json_object_set_new(root, "warnings", warnings);
    out = cli_print_json(root);
  } else {
    char b[8][32];
    printf("Cox proportional hazards (%s ties): n = %zu, events = %zu, %zu dropped for missing values%s%s\n\n", ties[t],
           fit.n, fit.events, d.dropped, kcol ? "; robust variance clustered on " : "", kcol ? kcol : "");
    printf("  %-22s %10s %10s %10s %10s %8s %10s\n", "term", "coef", "exp(coef)", "se(coef)", kcol ? "robust se" : "",
           "z", "p");
    for (size_t j = 0; j < fit.p; j++)
      printf("  %-22s %10s %10s %10s %10s %8s %10s\n", des.names[j], cli_fmt(b[0], 32, fit.coef[j], 5),
             cli_fmt(b[1], 32, fit.hr[j], 5), cli_fmt(b[2], 32, fit.se[j], 5),
             kcol ? cli_fmt(b[3], 32, fit.robust_se[j], 5) : "", cli_fmt(b[4], 32, fit.z[j], 4),
             cli_fmt_p(b[5], 32, fit.pval[j]));
    printf("\n  %-22s %10s %10s %10s\n", "term", "HR", "lower", "upper");
    for (size_t j = 0; j < fit.p; j++)
      printf("  %-22s %10s %10s %10s\n", des.names[j], cli_fmt(b[0], 32, fit.hr[j], 5),
             cli_fmt(b[1], 32, fit.lower[j], 5), cli_fmt(b[2], 32, fit.upper[j], 5));
    printf("\nlog-likelihood %s (null %s); likelihood ratio test %s on %zu df\n", cli_fmt(b[6], 32, fit.loglik[1], 8),
           cli_fmt(b[7], 32, fit.loglik[0], 8), cli_fmt(b[0], 32, fit.lr_test, 6), fit.p);
    if (infwarn[0]) {
      printf("\n");
      cli_wrap(stdout, "warning: ", "  ", infwarn);
    }
  }
  lp_cox_fit_clear(&fit);
  lp_factor_clear(&sf);
  lp_factor_clear(&kf);
  lp_model_matrix_clear(&des);
  if (!st || d.t) surv_clear(&d);
  free(cov);
  free(fac);
  return out;
}

const cli_cmd cli_survival_cmds[] = {
    {"stats km", "Kaplan-Meier curves (Greenwood SE, log CI), medians, survival at times, log-rank test", km_opts,
     "example:\n  leopards stats km --data lung.csv --time time --event dead --group sex --at 180,365", run_km},
    {"stats cox", "Cox proportional hazards: Efron/Breslow ties, factors, strata, robust variance by cluster", cox_opts,
     "example:\n  leopards stats cox --data trial.csv --time time28 --event dead28 \\\n"
     "      --covariates arm,age,apache2 --cluster site",
     run_cox},
};
const size_t cli_survival_ncmds = sizeof cli_survival_cmds / sizeof cli_survival_cmds[0];
