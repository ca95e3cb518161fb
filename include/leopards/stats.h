/* leopards statistics: descriptive summaries, two-group comparisons (bootstrap
 * percentile intervals, Mann-Whitney), proportions (Wald, continuity-corrected,
 * Newcombe; chi-square; Fisher), linear regression, the subgroup-by-arm
 * permutation test, and power/sample size. Pure computation: no files, no globals.
 * Each function documents the R call it reproduces. Survival methods are in
 * survival.h. */
#ifndef LEOPARDS_STATS_H
#define LEOPARDS_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- descriptive */

typedef struct lp_describe {
  size_t n;
  double mean, sd; /* sd with n - 1 (NAN when n < 2) */
  double median, q1, q3, min, max; /* quantile(type = 7) */
} lp_describe;

/* Summary of x[0..n). `work` holds n doubles (x itself is not modified).
 * n = 0 gives NAN everywhere. */
void lp_describe_compute(const double *x, size_t n, double *work, lp_describe *out);

/* R's quantile(type = 7) of an ascending array: h = (n - 1) p, interpolate between
 * floor(h) and floor(h) + 1. p in [0, 1]; NAN when n = 0. */
double lp_quantile_sorted(const double *sorted, size_t n, double p);

/* Sort doubles ascending (in place). */
void lp_sort_doubles(double *x, size_t n);

/* ---------------------------------------------------------------- two groups */

typedef struct lp_mannwhitney {
  double W;    /* sum of ranks of x minus nx (nx + 1) / 2, as R reports it */
  double z;    /* normal statistic with continuity correction */
  double p;    /* two-sided */
} lp_mannwhitney;

/* wilcox.test(x, y, exact = FALSE, correct = `correct`): mid-ranks, tie-corrected
 * variance. `work` holds 2 (nx + ny) doubles. Fails with LP_EDATA when either
 * group is empty or all values are tied (zero variance). */
lp_status lp_mannwhitney_test(const double *x, size_t nx, const double *y, size_t ny, bool correct,
                              double *work, lp_mannwhitney *out, lp_error *err);

typedef enum { LP_SUMMARY_MEAN = 0, LP_SUMMARY_MEDIAN = 1 } lp_summary;

typedef struct lp_boot_options {
  size_t replicates; /* R, default 100000 */
  uint64_t seed;
  int threads;       /* 0 = all available */
  double level;      /* 0.95 */
  lp_summary summary;
} lp_boot_options;

void lp_boot_options_default(lp_boot_options *o);

typedef struct lp_boot_result {
  double estimate; /* summary(x) - summary(y) on the data */
  double ci[2];    /* percentile interval, boot.ci(type = "perc") */
  size_t finite;   /* number of finite replicates used */
} lp_boot_result;

/* Stratified bootstrap of summary(x) - summary(y): each replicate resamples x
 * within x and y within y (boot(..., strata = group)). Replicate r draws from the
 * stream (seed, r), so the result is the same for any number of threads.
 * `replicates_out`, if not NULL, receives the R replicate values in order. */
lp_status lp_boot_diff(const double *x, size_t nx, const double *y, size_t ny,
                       const lp_boot_options *o, double *replicates_out, lp_boot_result *out,
                       lp_error *err);

/* boot.ci(type = "perc") end points from R replicate values (non-finite ones are
 * dropped, as boot does). The array is reordered (partial selection). */
lp_status lp_boot_percentile(double *t, size_t R, double level, double ci[2], size_t *finite,
                             lp_error *err);

/* ---------------------------------------------------------------- proportions */

typedef enum { LP_CI_WALD = 0, LP_CI_WALD_CC = 1, LP_CI_NEWCOMBE = 2 } lp_prop_ci;
const char *lp_prop_ci_name(lp_prop_ci m);

typedef struct lp_prop2 {
  double p1, p2, estimate; /* p1 - p2 */
  double ci[2];
  double chisq, chisq_p;       /* Pearson chi-square, with or without Yates as asked */
  double fisher_p;             /* two-sided Fisher exact (fisher.test) */
  double odds_ratio;           /* conditional MLE, as fisher.test reports it */
} lp_prop2;

/* Two proportions from counts e1/n1 and e2/n2, interval at `level` by `method`;
 * `yates` chooses chisq.test(correct = TRUE) (R's 2x2 default) or FALSE.
 * Fails with LP_EINVAL on counts outside 0 <= e <= n, n > 0. */
lp_status lp_prop2_compute(long e1, long n1, long e2, long n2, lp_prop_ci method, double level,
                           bool yates, lp_prop2 *out, lp_error *err);

/* Wilson score interval for one proportion (prop.test(correct = FALSE) bounds). */
void lp_wilson_interval(long e, long n, double z, double ci[2]);

/* ---------------------------------------------------------------- power */

typedef struct lp_power_result {
  double n;      /* per group */
  double power;
} lp_power_result;

/* power.t.test(type = "two.sample", alternative = "two.sided", strict = FALSE):
 * give n (> 1) to get the power, or power in (alpha, 1) with n = 0 to solve for n. */
lp_status lp_power_t(double n, double delta, double sd, double alpha, double power,
                     lp_power_result *out, lp_error *err);
/* power.prop.test(two.sided, strict = FALSE), same convention. */
lp_status lp_power_prop(double n, double p1, double p2, double alpha, double power,
                        lp_power_result *out, lp_error *err);

/* Non-central t distribution function P(T <= t) with df degrees of freedom and
 * non-centrality ncp (GSL has no non-central t; algorithm AS 243, Lenth 1989, as
 * R's pnt uses). */
double lp_pnt(double t, double df, double ncp);

#ifdef __cplusplus
}
#endif
#endif
