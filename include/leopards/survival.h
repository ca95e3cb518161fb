/* leopards survival analysis: Kaplan-Meier (survfit), the log-rank test (survdiff)
 * and Cox proportional hazards with Efron or Breslow ties, strata and robust
 * variance clustered on a grouping (coxph(..., cluster =)). Pure computation.
 * Ownership: results own their arrays (freed with their _clear).
 * Threads: every function is re-entrant. */
#ifndef LEOPARDS_SURVIVAL_H
#define LEOPARDS_SURVIVAL_H

#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- Kaplan-Meier */

typedef struct lp_km_step {
  double time;
  long n_risk, n_event, n_censor;
  double surv;
  double std_err;      /* of S(t), as summary.survfit reports it: S * Greenwood SE of log S */
  double lower, upper; /* "log" interval S exp(-+ z se_log), upper capped at 1; NAN where S = 0 */
} lp_km_step;

typedef struct lp_km {
  long n, events;
  size_t nsteps;
  lp_km_step *steps;                         /* one per distinct time (events or censorings), ascending */
  double median, median_lower, median_upper; /* NAN when not reached */
} lp_km;

/* survfit(Surv(time, event) ~ 1, conf.type = "log", conf.int = level): times >= 0,
 * events 0/1. Median and its interval by survival's quantile rule (the midpoint of
 * a flat stretch exactly at 0.5, within sqrt(machine epsilon)). Fails on n = 0, a
 * negative or non-finite time, or an event other than 0/1. */
lp_status lp_km_fit(const double *time, const int *event, size_t n, double level, lp_km *out, lp_error *err);
void lp_km_clear(lp_km *km);
/* The curve at time t, as summary(fit, times = t): survival and interval of the
 * last step at or before t (1 before the first), n at risk at t (subjects with
 * time >= t), events and censorings up to t since the previous requested time are
 * not reported. Returns false if t is beyond the last time. */
bool lp_km_at(const lp_km *km, double t, lp_km_step *out);

/* ---------------------------------------------------------------- log-rank */

typedef struct lp_logrank {
  size_t groups;
  double *observed, *expected; /* per group, owned */
  double chisq;
  int df;
  double p;
} lp_logrank;

/* survdiff(Surv(time, event) ~ group), rho = 0: groups coded 0..ngroups-1. Groups
 * with no expected events are left out of the statistic, as R does. */
lp_status lp_logrank_test(const double *time, const int *event, const int *group, size_t n, size_t ngroups,
                          lp_logrank *out, lp_error *err);
void lp_logrank_clear(lp_logrank *lr);

/* ---------------------------------------------------------------- Cox model */

typedef enum { LP_TIES_EFRON = 0, LP_TIES_BRESLOW = 1 } lp_ties;

typedef struct lp_cox_options {
  lp_ties ties;
  int max_iter;             /* 20, as coxph.control */
  double eps;               /* 1e-9: converged when |1 - loglik_old / loglik_new| <= eps */
  double toler_chol;        /* 1.8e-12: pivots below this (relative) make the information singular */
  double level;             /* 0.95 */
  double toler_inf;         /* sqrt(eps), as coxph.control: the "coefficient may be infinite" rule */
  const char *const *names; /* p covariate names for messages, or NULL (then numbers) */
} lp_cox_options;

void lp_cox_options_default(lp_cox_options *o);

typedef struct lp_cox_fit {
  size_t n, p, events, clusters; /* clusters 0 without clustering */
  int iterations;
  double loglik[2];                                              /* at beta = 0 and at the estimate */
  double *coef, *se, *robust_se, *hr, *lower, *upper, *z, *pval; /* p each; robust_se NULL without clusters */
  double *var, *robust_var;                                      /* p x p */
  double score_test, wald_test, lr_test;
  bool *infinite;   /* p: the coefficient may be infinite (R's warning rule) */
  size_t ninfinite; /* how many are */
} lp_cox_fit;

/* coxph(Surv(time, event) ~ x + strata(strata), ties =, cluster = cluster): x is
 * n x p row-major; strata and cluster are codes or NULL. Newton-Raphson from 0 with
 * step halving, covariates centred. With clusters the variance is the robust
 * sandwich D'D of the dfbeta residuals summed within clusters, and z, P and the
 * interval use it (as R prints them). Fails with LP_ENUMERIC when the information
 * matrix is singular (a constant covariate, collinear covariates, or a covariate
 * constant within every risk set), naming the covariates (o->names), and
 * LP_ECONVERGE when the iterations run out. A coefficient that R would warn "may be
 * infinite" about (the log-likelihood converged while it was still running away,
 * e.g. a factor level with no events) is flagged in `infinite`. */
lp_status lp_cox_fit_compute(const double *time, const int *event, const double *x, size_t n, size_t p,
                             const int *strata, const int *cluster, const lp_cox_options *o, lp_cox_fit *out,
                             lp_error *err);
void lp_cox_fit_clear(lp_cox_fit *f);

#ifdef __cplusplus
}
#endif
#endif
