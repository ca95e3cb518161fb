/* The log-rank test for two or more groups, as survdiff(rho = 0). */
#include <leopards/survival.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void lp_logrank_clear(lp_logrank *lr) {
  if (!lr) return;
  free(lr->observed);
  free(lr->expected);
  memset(lr, 0, sizeof *lr);
}

typedef struct {
  double t;
  int e, g;
} obs;

static int cmp_obs(const void *a, const void *b) {
  double x = ((const obs *)a)->t, y = ((const obs *)b)->t;
  return (x > y) - (x < y);
}

/* The statistic from the observed and expected counts and their variance V: out's
 * chisq, df and p. Groups with expected > 0; the first of them is dropped; solve
 * V u = (O - E). */
static lp_status logrank_statistic(lp_logrank *out, const double *V, size_t ng, lp_error *err) {
  lp_status st = LP_OK;
  size_t *keep = malloc(ng * sizeof *keep), m = 0;
  if (!keep) return lp_error_set(err, LP_ENOMEM, "out of memory");
  for (size_t a = 0; a < ng; a++)
    if (out->expected[a] > 0) keep[m++] = a;
  if (m < 2) {
    free(keep);
    return lp_error_set(err, LP_EDATA, "the log-rank test needs events expected in at least two groups");
  }
  size_t k = m - 1;
  gsl_matrix *A = gsl_matrix_alloc(k, k);
  gsl_vector *b = gsl_vector_alloc(k), *x = gsl_vector_alloc(k);
  gsl_permutation *perm = gsl_permutation_alloc(k);
  if (!A || !b || !x || !perm) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto solved;
  }
  for (size_t r = 0; r < k; r++) {
    gsl_vector_set(b, r, out->observed[keep[r + 1]] - out->expected[keep[r + 1]]);
    for (size_t c = 0; c < k; c++) gsl_matrix_set(A, r, c, V[keep[r + 1] * ng + keep[c + 1]]);
  }
  int sign;
  /* GSL reports failures by status: lp_init switched its aborting handler off. */
  if (gsl_linalg_LU_decomp(A, perm, &sign) || gsl_linalg_LU_solve(A, perm, b, x)) {
    st = lp_error_set(err, LP_ENUMERIC, "the log-rank variance matrix is singular");
  } else {
    double chi = 0;
    for (size_t r = 0; r < k; r++) chi += gsl_vector_get(x, r) * gsl_vector_get(b, r);
    out->chisq = chi;
    out->df = (int)k;
    out->p = gsl_cdf_chisq_Q(chi, (double)k);
  }
solved:
  if (A) gsl_matrix_free(A);
  if (b) gsl_vector_free(b);
  if (x) gsl_vector_free(x);
  if (perm) gsl_permutation_free(perm);
  free(keep);
  return st;
}

lp_status lp_logrank_test(const double *time, const int *event, const int *group, size_t n, size_t ng, lp_logrank *out,
                          lp_error *err) {
  memset(out, 0, sizeof *out);
  if (ng < 2) return lp_error_set(err, LP_EDATA, "the log-rank test needs at least two groups");
  if (n == 0) return lp_error_set(err, LP_EDATA, "no subjects");
  obs *o = malloc(n * sizeof *o);
  long *at_risk = calloc(ng, sizeof *at_risk), *dg = calloc(ng, sizeof *dg);
  double *V = calloc(ng * ng, sizeof *V);
  out->observed = calloc(ng, sizeof(double));
  out->expected = calloc(ng, sizeof(double));
  long total = (long)n;
  lp_status st = LP_OK;
  if (!o || !at_risk || !dg || !V || !out->observed || !out->expected) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  out->groups = ng;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(time[i]) || time[i] < 0 || (event[i] != 0 && event[i] != 1) || group[i] < 0 ||
        (size_t)group[i] >= ng) {
      st = lp_error_set(err, LP_EDATA, "row %zu: bad time, event or group", i + 1);
      goto done;
    }
    o[i] = (obs){time[i], event[i], group[i]};
    at_risk[group[i]]++;
  }
  qsort(o, n, sizeof *o, cmp_obs);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    long d = 0;
    memset(dg, 0, ng * sizeof *dg);
    while (j < n && o[j].t == o[i].t) {
      if (o[j].e) d++, dg[o[j].g]++;
      j++;
    }
    if (d > 0) {
      double N = (double)total, D = (double)d;
      double f = total > 1 ? D * (N - D) / (N * N * (N - 1)) : 0;
      for (size_t a = 0; a < ng; a++) {
        out->observed[a] += (double)dg[a];
        out->expected[a] += D * (double)at_risk[a] / N;
        for (size_t b = 0; b < ng; b++)
          V[a * ng + b] += f * (double)at_risk[a] * ((a == b ? N : 0) - (double)at_risk[b]);
      }
    }
    for (size_t k = i; k < j; k++) at_risk[o[k].g]--;
    total -= (long)(j - i);
    i = j;
  }
  st = logrank_statistic(out, V, ng, err);
done:
  free(o);
  free(at_risk);
  free(dg);
  free(V);
  if (st) lp_logrank_clear(out);
  return st;
}
