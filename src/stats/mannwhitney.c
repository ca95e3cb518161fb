/* Mann-Whitney (Wilcoxon rank-sum) test with mid-ranks for ties and the normal
 * approximation with continuity correction: wilcox.test(exact = FALSE). */
#include <leopards/stats.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>

typedef struct {
  double v, g; /* value, group (1 = x, 0 = y) */
} pair_t;

static int cmp_pair(const void *a, const void *b) {
  double x = ((const pair_t *)a)->v, y = ((const pair_t *)b)->v;
  return (x > y) - (x < y);
}

lp_status lp_mannwhitney_test(const double *x, size_t nx, const double *y, size_t ny, bool correct, double *work,
                              lp_mannwhitney *out, lp_error *err) {
  if (nx == 0 || ny == 0) return lp_error_set(err, LP_EDATA, "Mann-Whitney needs at least one value in each group");
  size_t n = nx + ny;
  pair_t *p = (pair_t *)work;
  for (size_t i = 0; i < nx; i++) p[i] = (pair_t){x[i], 1.0};
  for (size_t i = 0; i < ny; i++) p[nx + i] = (pair_t){y[i], 0.0};
  qsort(p, n, sizeof *p, cmp_pair);
  double rank_sum_x = 0, ties = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && p[j + 1].v == p[i].v) j++;
    double t = (double)(j - i + 1);
    double mid = (double)(i + j + 2) / 2.0; /* ranks are 1-based */
    for (size_t k = i; k <= j; k++) rank_sum_x += p[k].g * mid;
    ties += t * t * t - t;
    i = j + 1;
  }
  double dx = (double)nx, dy = (double)ny, dn = (double)n;
  double W = rank_sum_x - dx * (dx + 1) / 2;
  double z = W - dx * dy / 2;
  double sigma = sqrt(dx * dy / 12 * ((dn + 1) - ties / (dn * (dn - 1))));
  if (!(sigma > 0)) {
    /* Every value tied: W is defined, the test is not (R gives P = NaN). */
    out->W = W;
    out->z = NAN;
    out->p = NAN;
    return LP_OK;
  }
  double corr = correct ? (z > 0 ? 0.5 : z < 0 ? -0.5 : 0.0) : 0.0;
  z = (z - corr) / sigma;
  double lower = gsl_cdf_ugaussian_P(z), upper = gsl_cdf_ugaussian_Q(z);
  out->W = W;
  out->z = z;
  out->p = fmin(1.0, 2 * fmin(lower, upper));
  return LP_OK;
}
