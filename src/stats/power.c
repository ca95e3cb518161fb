/* Sample size and power for two means (power.t.test, two-sample, two-sided) and
 * two proportions (power.prop.test), with the non-central t distribution that GSL
 * lacks (AS 243). Sample sizes are solved to 1e-10, tighter than R's default
 * uniroot tolerance (about 1.2e-4), so R's default output can differ in the fifth
 * significant digit; R with tol = 1e-10 agrees. */
#include <leopards/stats.h>

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <math.h>

/* P(T <= t) for the non-central t (Lenth 1989, AS 243, the method behind R's pnt):
 * a twin series in incomplete beta functions, summed until the bound on the
 * remainder is below `tolerance` or `max_terms` terms have been added. */
double lp_pnt(double t, double df, double ncp) {
  const double tolerance = 1e-12;
  const int max_terms = 1000;
  if (!(df > 0) || isnan(t) || isnan(ncp)) return NAN;
  if (ncp == 0) return gsl_cdf_tdist_P(t, df);
  if (isinf(t)) return t < 0 ? 0.0 : 1.0;
  bool negate = t < 0;
  double tt = negate ? -t : t, del = negate ? -ncp : ncp;
  if (negate && ncp > 40) return 0.0;
  if (df > 4e5 || del * del > 2 * M_LN2 * -(DBL_MIN_EXP)) {
    /* Normal approximation for huge df or non-centrality (Abramowitz & Stegun 26.7.10). */
    double s = 1 / (4 * df);
    double z = (tt * (1 - s) - del) / sqrt(1 + tt * tt * 2 * s);
    double lower = gsl_cdf_ugaussian_P(z);
    return negate ? 1 - lower : lower;
  }
  long double total = 0;
  double x = tt * tt / (tt * tt + df);
  if (x > 0) {
    double lambda = del * del;
    long double p = 0.5 * exp(-0.5 * lambda);
    if (p == 0) return negate ? 1.0 : 0.0; /* underflow: |ncp| far too large */
    long double q = sqrt(2 / M_PI) * p * del;
    long double s = 0.5 - p;
    if (s < 1e-7) s = -0.5 * expm1(-0.5 * lambda);
    double a = 0.5, b = 0.5 * df;
    double rxb = pow(df / (tt * tt + df), b);
    double log_beta = 0.5 * log(M_PI) + lgamma(b) - lgamma(0.5 + b);
    long double x_odd = gsl_cdf_beta_P(x, a, b);
    long double g_odd = 2 * rxb * exp(a * log(x) - log_beta);
    double bx = b * x;
    long double x_even = bx < DBL_EPSILON ? bx : 1 - rxb;
    long double g_even = bx * rxb;
    total = p * x_odd + q * x_even;
    for (int it = 1; it <= max_terms; it++) {
      a += 1;
      x_odd -= g_odd;
      x_even -= g_even;
      g_odd *= x * (a + b - 1) / a;
      g_even *= x * (a + b - 0.5) / (a + 0.5);
      p *= lambda / (2 * it);
      q *= lambda / (2 * it + 1);
      total += p * x_odd + q * x_even;
      s -= p;
      if (s < -1e-10) break; /* rounding has exhausted the series */
      if (s <= 0 && it > 1) break;
      double bound = (double)(2 * s * (x_odd - g_odd));
      if (fabs(bound) < tolerance) break;
    }
  }
  total += gsl_cdf_ugaussian_P(-del);
  double lower = fmin((double)total, 1.0);
  return negate ? 1 - lower : lower;
}

static double power_t_at(double n, double delta, double sd, double alpha) {
  double nu = 2 * (n - 1);
  double qu = gsl_cdf_tdist_Qinv(alpha / 2, nu);
  return 1 - lp_pnt(qu, nu, sqrt(n / 2) * fabs(delta) / sd);
}

static double power_prop_at(double n, double p1, double p2, double alpha) {
  double qu = gsl_cdf_ugaussian_Qinv(alpha / 2);
  double num = sqrt(n) * fabs(p1 - p2) - qu * sqrt((p1 + p2) * (1 - (p1 + p2) / 2));
  return gsl_cdf_ugaussian_P(num / sqrt(p1 * (1 - p1) + p2 * (1 - p2)));
}

/* The n with power(n) = target, by bisection to 1e-10 relative (power increases
 * with n). Like R's uniroot(c(2, 1e7), extendInt = "upX"), the root is found below
 * 2 when the power at 2 already exceeds the target: down to `floor` (exclusive),
 * 1 for the t test (its degrees of freedom are 2(n - 1)), 0 for proportions. */
typedef double (*power_fn)(double n, const double *par);
static double power_t_par(double n, const double *par) { return power_t_at(n, par[0], par[1], par[2]); }
static double power_prop_par(double n, const double *par) { return power_prop_at(n, par[0], par[1], par[2]); }

static lp_status solve_n(power_fn f, const double *par, double target, double floor_n, double *n, lp_error *err) {
  double lo = 2, hi = 1e7;
  if (f(lo, par) >= target) {
    hi = lo;
    lo = floor_n;
  } else if (f(hi, par) < target)
    return lp_error_set(err, LP_ERANGE, "the power asked for needs more than 10 million per group");
  for (int i = 0; i < 200 && (hi - lo) > 1e-10 * hi; i++) {
    double mid = 0.5 * (lo + hi);
    if (f(mid, par) < target) lo = mid;
    else
      hi = mid;
  }
  *n = 0.5 * (lo + hi);
  return LP_OK;
}

static lp_status check_common(double n, double alpha, double power, lp_error *err) {
  if (!(alpha > 0 && alpha < 1)) return lp_error_set(err, LP_EINVAL, "alpha must be in (0, 1)");
  if (n > 0) {
    if (!(n > 1)) return lp_error_set(err, LP_EINVAL, "n per group must be greater than 1");
  } else if (!(power > alpha && power < 1)) {
    return lp_error_set(err, LP_EINVAL, "power must be between alpha and 1 to solve for n");
  }
  return LP_OK;
}

/* Power at the n given, or the n solved for the power asked; then the whole number
 * of patients per group to recruit (at least `min_n`) and the power it reaches. */
static lp_status finish(power_fn f, const double *par, double n, double power, double floor_n, double min_n,
                        lp_power_result *out, lp_error *err) {
  if (n > 0) {
    out->n = n;
    out->power = f(n, par);
  } else {
    out->power = power;
    lp_status st = solve_n(f, par, power, floor_n, &out->n, err);
    if (st) return st;
  }
  out->n_min = min_n;
  out->n_rounded = fmax(min_n, ceil(out->n - 1e-9));
  out->power_rounded = f(out->n_rounded, par);
  return LP_OK;
}

lp_status lp_power_t(double n, double delta, double sd, double alpha, double power, lp_power_result *out,
                     lp_error *err) {
  lp_status st = check_common(n, alpha, power, err);
  if (st) return st;
  if (!(sd > 0) || !isfinite(delta) || delta == 0)
    return lp_error_set(err, LP_EINVAL, "delta must be non-zero and sd positive");
  double par[3] = {delta, sd, alpha};
  return finish(power_t_par, par, n, power, 1, 2, out, err);
}

lp_status lp_power_prop(double n, double p1, double p2, double alpha, double power, lp_power_result *out,
                        lp_error *err) {
  lp_status st = check_common(n, alpha, power, err);
  if (st) return st;
  if (!(p1 > 0 && p1 < 1 && p2 > 0 && p2 < 1) || p1 == p2)
    return lp_error_set(err, LP_EINVAL, "p1 and p2 must be different and in (0, 1)");
  double par[3] = {p1, p2, alpha};
  return finish(power_prop_par, par, n, power, 0, 1, out, err);
}
