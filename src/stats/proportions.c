/* Two proportions: difference with Wald, continuity-corrected Wald (prop.test) and
 * Newcombe hybrid score intervals; Pearson chi-square with or without Yates'
 * correction (chisq.test); two-sided Fisher exact test (fisher.test). */
#include <leopards/stats.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sf_gamma.h>
#include <math.h>

const char *lp_prop_ci_name(lp_prop_ci m) {
  switch (m) {
    case LP_CI_WALD:
      return "wald";
    case LP_CI_WALD_CC:
      return "wald-cc";
    case LP_CI_NEWCOMBE:
      return "newcombe";
  }
  return "unknown";
}

void lp_wilson_interval(long e, long n, double z, double ci[2]) {
  double p = (double)e / (double)n, dn = (double)n, z2 = z * z;
  double centre = (p + z2 / (2 * dn)) / (1 + z2 / dn);
  double half = z * sqrt(p * (1 - p) / dn + z2 / (4 * dn * dn)) / (1 + z2 / dn);
  ci[0] = fmax(0.0, centre - half);
  ci[1] = fmin(1.0, centre + half);
  /* Exact ends: at p = 0 or 1 the bound is the proportion itself. */
  if (e == 0) ci[0] = 0.0;
  if (e == n) ci[1] = 1.0;
}

/* Two-sided Fisher exact P for [[a, b], [c, d]]: the sum of the conditional
 * (hypergeometric) probabilities of all tables with the same margins that are no
 * more likely than the observed one, with fisher.test's relative tolerance 1e-7
 * for ties. Probabilities are compared on the log scale relative to the largest. */
static double fisher_two_sided(long a, long b, long c, long d) {
  long m = a + c, nn = b + d, k = a + b; /* column 1 total, column 2 total, row 1 total */
  long lo = k - nn > 0 ? k - nn : 0, hi = k < m ? k : m;
  double lmax = -INFINITY;
  for (long x = lo; x <= hi; x++) {
    double l = gsl_sf_lnchoose((unsigned)m, (unsigned)x) + gsl_sf_lnchoose((unsigned)nn, (unsigned)(k - x));
    if (l > lmax) lmax = l;
  }
  double total = 0, obs = 0;
  double lobs = gsl_sf_lnchoose((unsigned)m, (unsigned)a) + gsl_sf_lnchoose((unsigned)nn, (unsigned)(k - a));
  obs = exp(lobs - lmax);
  double sum = 0;
  for (long x = lo; x <= hi; x++) {
    double l = gsl_sf_lnchoose((unsigned)m, (unsigned)x) + gsl_sf_lnchoose((unsigned)nn, (unsigned)(k - x));
    double pr = exp(l - lmax);
    total += pr;
    if (pr <= obs * (1 + 1e-7)) sum += pr;
  }
  return fmin(1.0, sum / total);
}

lp_status lp_prop2_compute(long e1, long n1, long e2, long n2, lp_prop_ci method, double level, bool yates,
                           lp_prop2 *out, lp_error *err) {
  if (n1 <= 0 || n2 <= 0 || e1 < 0 || e2 < 0 || e1 > n1 || e2 > n2)
    return lp_error_set(err, LP_EINVAL,
                        "counts must satisfy 0 <= events <= total and total > 0 (got %ld/%ld and "
                        "%ld/%ld)",
                        e1, n1, e2, n2);
  if (n1 > 100000000 || n2 > 100000000)
    return lp_error_set(err, LP_EINVAL, "totals above 100,000,000 are not supported");
  if (!(level > 0 && level < 1)) return lp_error_set(err, LP_EINVAL, "level must be in (0, 1)");
  double dn1 = (double)n1, dn2 = (double)n2;
  double p1 = (double)e1 / dn1, p2 = (double)e2 / dn2, d = p1 - p2;
  double z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
  out->p1 = p1;
  out->p2 = p2;
  out->estimate = d;
  double se = sqrt(p1 * (1 - p1) / dn1 + p2 * (1 - p2) / dn2);
  switch (method) {
    case LP_CI_WALD:
      out->ci[0] = d - z * se;
      out->ci[1] = d + z * se;
      break;
    case LP_CI_WALD_CC: {
      /* prop.test: the correction is min(0.5, |d| / (1/n1 + 1/n2)) on the count
       * scale, i.e. that times (1/n1 + 1/n2) on the proportion scale; clipped to [-1, 1]. */
      double inv = 1 / dn1 + 1 / dn2;
      double cc = fmin(0.5, fabs(d) / inv);
      double width = z * se + cc * inv;
      out->ci[0] = fmax(d - width, -1.0);
      out->ci[1] = fmin(d + width, 1.0);
      break;
    }
    case LP_CI_NEWCOMBE: {
      /* Newcombe (1998) method 10: combine the Wilson score intervals of each arm. */
      double w1[2], w2[2];
      lp_wilson_interval(e1, n1, z, w1);
      lp_wilson_interval(e2, n2, z, w2);
      out->ci[0] = d - sqrt((p1 - w1[0]) * (p1 - w1[0]) + (w2[1] - p2) * (w2[1] - p2));
      out->ci[1] = d + sqrt((w1[1] - p1) * (w1[1] - p1) + (p2 - w2[0]) * (p2 - w2[0]));
      break;
    }
    default:
      return lp_error_set(err, LP_EINVAL, "unknown interval method");
  }
  /* Pearson chi-square on [[e1, n1 - e1], [e2, n2 - e2]]. */
  double obs[4] = {(double)e1, dn1 - e1, (double)e2, dn2 - e2};
  double row[2] = {dn1, dn2}, col[2] = {(double)(e1 + e2), dn1 + dn2 - e1 - e2}, N = dn1 + dn2;
  double stat = 0, y = 0;
  if (yates) {
    y = 0.5;
    for (int i = 0; i < 4; i++) y = fmin(y, fabs(obs[i] - row[i / 2] * col[i % 2] / N));
  }
  bool defined = col[0] > 0 && col[1] > 0;
  for (int i = 0; i < 4 && defined; i++) {
    double E = row[i / 2] * col[i % 2] / N;
    double dev = fabs(obs[i] - E) - y;
    stat += dev * dev / E;
  }
  out->chisq = defined ? stat : NAN;
  out->chisq_p = defined ? gsl_cdf_chisq_Q(stat, 1.0) : NAN;
  out->fisher_p = fisher_two_sided(e1, n1 - e1, e2, n2 - e2);
  return LP_OK;
}
