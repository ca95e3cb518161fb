/* Pooling of multiply imputed analyses by Rubin's rules with the Barnard-Rubin
 * small-sample degrees of freedom, as mice::pool does. */
#include <leopards/stats.h>

#include <gsl/gsl_cdf.h>
#include <math.h>

lp_status lp_mi_pool(const double *q, const double *u, size_t m, double dfcom, double level, lp_mi_pooled *out,
                     lp_error *err) {
  if (m < 2) return lp_error_set(err, LP_EINVAL, "pooling needs at least two imputations");
  if (!(level > 0 && level < 1)) return lp_error_set(err, LP_EINVAL, "level must be in (0, 1)");
  if (!(dfcom > 0)) return lp_error_set(err, LP_EINVAL, "complete-data degrees of freedom must be positive");
  double dm = (double)m, qbar = 0, ubar = 0;
  for (size_t i = 0; i < m; i++) {
    if (!isfinite(q[i]) || !isfinite(u[i]) || u[i] < 0)
      return lp_error_set(err, LP_EDATA, "imputation %zu: estimate or variance not finite", i + 1);
    qbar += q[i];
    ubar += u[i];
  }
  qbar /= dm;
  ubar /= dm;
  double b = 0;
  for (size_t i = 0; i < m; i++) b += (q[i] - qbar) * (q[i] - qbar);
  b /= dm - 1;
  double t = ubar + (1 + 1 / dm) * b;
  if (!(t > 0)) return lp_error_set(err, LP_EDATA, "total variance is zero");
  /* Barnard & Rubin (1999): lambda floored at 1e-4 as mice does. */
  double lambda = fmax((1 + 1 / dm) * b / t, 1e-4);
  double dfold = (dm - 1) / (lambda * lambda);
  double df = dfold;
  if (isfinite(dfcom)) {
    double dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lambda);
    df = dfold * dfobs / (dfold + dfobs);
  }
  out->m = m;
  out->qbar = qbar;
  out->ubar = ubar;
  out->b = b;
  out->t = t;
  out->df = df;
  out->r = (1 + 1 / dm) * b / ubar;
  out->fmi = (out->r + 2 / (df + 3)) / (out->r + 1);
  out->se = sqrt(t);
  double crit = gsl_cdf_tdist_Qinv((1 - level) / 2, df);
  out->ci[0] = qbar - crit * out->se;
  out->ci[1] = qbar + crit * out->se;
  out->p = 2 * gsl_cdf_tdist_Q(fabs(qbar) / out->se, df);
  return LP_OK;
}
