/* leopards statistics: descriptive summaries, two-group comparisons (bootstrap
 * percentile intervals, Mann-Whitney), proportions (Wald, continuity-corrected,
 * Newcombe; chi-square; Fisher), linear regression, the subgroup-by-arm
 * permutation test, and power/sample size. Pure computation: no files, no globals.
 * Each function documents the R call it reproduces. Survival methods are in
 * survival.h.
 * Ownership: inputs are read; results go to caller storage or are owned by the result
 * object (freed with its _clear). Threads: every function is re-entrant. */
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
  double mean, sd;                 /* sd with n - 1 (NAN when n < 2) */
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
  double W; /* sum of ranks of x minus nx (nx + 1) / 2, as R reports it */
  double z; /* normal statistic with continuity correction */
  double p; /* two-sided; NAN when every value is tied (the test is undefined) */
} lp_mannwhitney;

/* wilcox.test(x, y, exact = FALSE, correct = `correct`): mid-ranks, tie-corrected
 * variance. `work` holds 2 (nx + ny) doubles. Fails with LP_EDATA when either
 * group is empty. When every value is tied the variance is zero: W is given, z and
 * p are NAN, as R gives P = NaN. */
lp_status lp_mannwhitney_test(const double *x, size_t nx, const double *y, size_t ny, bool correct, double *work,
                              lp_mannwhitney *out, lp_error *err);

typedef enum { LP_SUMMARY_MEAN = 0, LP_SUMMARY_MEDIAN = 1 } lp_summary;

typedef struct lp_boot_options {
  size_t replicates; /* R, default 100000 */
  uint64_t seed;
  int threads;  /* 0 = all available */
  double level; /* 0.95 */
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
lp_status lp_boot_diff(const double *x, size_t nx, const double *y, size_t ny, const lp_boot_options *o,
                       double *replicates_out, lp_boot_result *out, lp_error *err);

/* The same for k outcomes measured on the same patients, with shared resamples
 * (as boot() with a statistic returning a vector): x[c] and y[c] hold outcome c
 * for the same nx and ny patients; out has k results; replicates_out, if given,
 * k x R values (outcome-major). Cheaper than k separate runs: the indices, the
 * costly part, are drawn once. */
lp_status lp_boot_diff_many(const double *const *x, const double *const *y, size_t k, size_t nx, size_t ny,
                            const lp_boot_options *o, double *replicates_out, lp_boot_result *out, lp_error *err);

/* boot.ci(type = "perc") end points from R replicate values (non-finite ones are
 * dropped, as boot does). The array is reordered (partial selection). */
lp_status lp_boot_percentile(double *t, size_t R, double level, double ci[2], size_t *finite, lp_error *err);

/* ---------------------------------------------------------------- proportions */

typedef enum { LP_CI_WALD = 0, LP_CI_WALD_CC = 1, LP_CI_NEWCOMBE = 2 } lp_prop_ci;
const char *lp_prop_ci_name(lp_prop_ci m);

typedef struct lp_prop2 {
  double p1, p2, estimate; /* p1 - p2 */
  double ci[2];
  double chisq, chisq_p; /* Pearson chi-square, with or without Yates as asked */
  double fisher_p;       /* two-sided Fisher exact (fisher.test) */
} lp_prop2;

/* Two proportions from counts e1/n1 and e2/n2, interval at `level` by `method`;
 * `yates` chooses chisq.test(correct = TRUE) (R's 2x2 default) or FALSE.
 * Fails with LP_EINVAL on counts outside 0 <= e <= n, n > 0. */
lp_status lp_prop2_compute(long e1, long n1, long e2, long n2, lp_prop_ci method, double level, bool yates,
                           lp_prop2 *out, lp_error *err);

/* Wilson score interval for one proportion (prop.test(correct = FALSE) bounds). */
void lp_wilson_interval(long e, long n, double z, double ci[2]);

/* ---------------------------------------------------------------- regression */

typedef struct lp_lm_fit {
  size_t n, p; /* rows; coefficients including the intercept */
  size_t rank;
  double *coef, *se, *t, *pval; /* p each; NAN where aliased */
  bool *aliased;                /* p: column linearly dependent on earlier ones */
  double sigma;                 /* residual standard error */
  double df_resid;              /* n - rank */
  double r_squared, adj_r_squared;
} lp_lm_fit;

/* Least squares of y on an intercept (if `intercept`) and the k columns of x
 * (n x k, row-major), by Householder QR, as lm(): a column whose norm, after
 * removing the earlier columns, is below `tol` times its own norm is aliased (R's
 * dqrdc2 rule, tol = 1e-7) and gets NAN like R's NA. t-based P values with n - rank
 * df. `out` is initialised here; release with lp_lm_fit_clear. Fails when
 * n <= rank (no residual degrees of freedom) or on non-finite input. */
lp_status lp_lm_fit_compute(const double *x, size_t n, size_t k, const double *y, bool intercept, double tol,
                            lp_lm_fit *out, lp_error *err);
void lp_lm_fit_clear(lp_lm_fit *fit);

/* Bootstrap percentile interval for one regression coefficient, resampling rows
 * (within `strata` when given: n codes, or NULL). The model is y ~ intercept +
 * x columns + one absorbed factor `group` (n codes 0..ngroups-1, or NULL): the
 * factor's effects are swept out within each replicate instead of being
 * estimated, which gives the same coefficient for `coef` (an index into x's
 * columns) as the full least-squares fit at a fraction of the cost. A replicate in
 * which the coefficient is not estimable gives a non-finite value, dropped as boot
 * does. Replicate r uses the stream (seed, r). `estimate` is the coefficient on the
 * data. */
lp_status lp_lm_boot_coef(const double *x, size_t n, size_t k, const double *y, const int *group, size_t ngroups,
                          const int *strata, size_t coef, const lp_boot_options *o, double *replicates_out,
                          lp_boot_result *out, lp_error *err);

/* The same for a model matrix (table.h) with an intercept added: the factor term
 * with the most indicator columns, other than the one holding column `target`, is
 * absorbed. */
struct lp_model_matrix;
lp_status lp_lm_boot_matrix(const struct lp_model_matrix *d, const double *y, size_t target, const int *strata,
                            const lp_boot_options *o, lp_boot_result *out, lp_error *err);

/* ---------------------------------------------------------------- subgroups */

typedef struct lp_subgroup_effect {
  size_t n[2];     /* per arm */
  double estimate; /* mean of arm 0 minus mean of arm 1 in the subgroup */
  double se;       /* sqrt(s0^2/n0 + s1^2/n1) */
  double ci[2];    /* estimate -+ z se at the level asked */
} lp_subgroup_effect;

typedef struct lp_interaction_result {
  size_t nsub;
  lp_subgroup_effect *sub; /* nsub entries, owned */
  double statistic;        /* heterogeneity Q on the data */
  double p;                /* (1 + #{Q* >= Q}) / (1 + B') */
  size_t permutations;     /* B' permutations with a defined statistic */
  size_t requested;        /* B, the permutations run */
} lp_interaction_result;

/* Below this share of the permutations run with a defined statistic, the P rests
 * on few of them and the conditioning (cells of at least 2) shapes it: say so. */
#define LP_INTERACTION_MIN_DEFINED 0.9

/* Heterogeneity of the arm effect across subgroups, by permutation: Q is the
 * inverse-variance weighted sum of squared deviations of the subgroup effects
 * from their weighted mean (Cochran's Q). Each permutation shuffles both the arm
 * labels and the subgroup labels over the patients (the paper's test), and Q is
 * recomputed; a permutation where some subgroup-by-arm cell has fewer than 2
 * patients or no variance is not counted. `arm` holds 0/1, `sub` 0..nsub-1.
 * Permutation b uses the stream (seed, b): independent of the thread count. */
lp_status lp_interaction_test(const double *y, const int *arm, const int *sub, size_t n, size_t nsub,
                              size_t permutations, uint64_t seed, int threads, double level, lp_interaction_result *out,
                              lp_error *err);
void lp_interaction_result_clear(lp_interaction_result *r);

/* ---------------------------------------------------------------- multiple imputation */

typedef struct lp_mi_pooled {
  size_t m;
  double qbar;  /* pooled estimate: mean of the m estimates */
  double ubar;  /* within-imputation variance: mean of the m variances */
  double b;     /* between-imputation variance of the estimates */
  double t;     /* total variance ubar + (1 + 1/m) b */
  double df;    /* Barnard-Rubin degrees of freedom */
  double r;     /* relative increase in variance (1 + 1/m) b / ubar */
  double fmi;   /* fraction of missing information */
  double se;    /* sqrt(t) */
  double ci[2]; /* qbar -+ t_df quantile * se */
  double p;     /* two-sided, t with df */
} lp_mi_pooled;

/* Rubin's rules as mice::pool applies them (rule "rubin1987"): m >= 2 estimates q
 * and their squared standard errors u; `dfcom` is the complete-data degrees of
 * freedom (INFINITY for large-sample estimates), with the Barnard-Rubin adjustment
 * and mice's floor of 1e-4 on lambda. */
lp_status lp_mi_pool(const double *q, const double *u, size_t m, double dfcom, double level, lp_mi_pooled *out,
                     lp_error *err);

/* Multiple imputation by chained equations, as mice(method = "norm" or "pmm"):
 * `data` is n x p, column-major (column j at data + j * n), NAN where missing.
 * Every incomplete column is imputed from the others (or, when `predictors` is
 * given, a p x p row-major 0/1 matrix, from the columns k with predictors[j * p + k])
 * after an initial random draw from its observed values, over `maxit` sweeps left to
 * right; each imputation draws the model's parameters from their posterior first
 * (sigma from a scaled chi-square, beta from its normal), as mice's norm.draw does.
 * "pmm" then takes, for each missing value, the observed value of one of the
 * `donors` rows whose least-squares prediction is nearest the drawn prediction.
 * Imputation k (0-based) uses the stream (seed, k), so results do not depend on
 * the thread count. `out` holds m * n * p values: imputation k at out + k * n * p.
 * Refused: a column with no observed value, an infinite value, an incomplete column
 * without predictors. Re-entrant; `threads` <= 0 means one. */
typedef enum lp_impute_method { LP_IMPUTE_NORM = 0, LP_IMPUTE_PMM = 1 } lp_impute_method;
typedef struct lp_mice_options {
  size_t m;     /* imputations */
  size_t maxit; /* sweeps of the chained equations (mice's default: 5) */
  lp_impute_method method;
  size_t donors; /* for pmm (mice's default: 5) */
  uint64_t seed;
  int threads;
} lp_mice_options;
lp_status lp_mice_impute(const double *data, size_t n, size_t p, const char *const *names,
                         const unsigned char *predictors, const lp_mice_options *o, double *out, lp_error *err);

/* ---------------------------------------------------------------- power */

typedef struct lp_power_result {
  double n;             /* per group: as given, or solved exactly (below n_min too, as R's is) */
  double power;         /* at n */
  double n_min;         /* the least n per group the test can use: 2 (t), 1 (proportions) */
  double n_rounded;     /* whole patients per group to recruit: ceil(n), at least n_min */
  double power_rounded; /* the power actually reached at n_rounded */
} lp_power_result;

/* power.t.test(type = "two.sample", alternative = "two.sided", strict = FALSE):
 * give n (> 1) to get the power, or power in (alpha, 1) with n = 0 to solve for n
 * (R's root, which can be below 2: delta 20, sd 1, power 0.9 gives 1.54). */
lp_status lp_power_t(double n, double delta, double sd, double alpha, double power, lp_power_result *out,
                     lp_error *err);
/* power.prop.test(two.sided, strict = FALSE), same convention. */
lp_status lp_power_prop(double n, double p1, double p2, double alpha, double power, lp_power_result *out,
                        lp_error *err);

/* Non-central t distribution function P(T <= t) with df degrees of freedom and
 * non-centrality ncp (GSL has no non-central t; algorithm AS 243, Lenth 1989, as
 * R's pnt uses). */
double lp_pnt(double t, double df, double ncp);

#ifdef __cplusplus
}
#endif
#endif
