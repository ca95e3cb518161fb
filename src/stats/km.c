/* Kaplan-Meier estimates with Greenwood standard errors, the log-type interval and
 * survival's median rule, as survfit() and its print and summary methods. */
#include <leopards/survival.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void lp_km_clear(lp_km *km) {
  if (!km) return;
  free(km->steps);
  memset(km, 0, sizeof *km);
}

typedef struct {
  double t;
  int e;
} obs;

static int cmp_obs(const void *a, const void *b) {
  double x = ((const obs *)a)->t, y = ((const obs *)b)->t;
  return (x > y) - (x < y);
}

/* survival's findq: the time at which 1 - S (y, rising from 0 at x[0]) reaches p,
 * with the midpoint rule where y equals p within tol; NAN if never. */
static double findq(const double *x0, const double *y0, size_t n0, double p, double xmax, double *wx, double *wy) {
  const double tol = sqrt(2.220446049250313e-16);
  size_t n = 0;
  double ymax = -INFINITY;
  for (size_t i = 0; i < n0; i++) {
    if (isnan(y0[i])) continue;
    bool dup = false;
    for (size_t j = 0; j < n && !dup; j++) dup = wy[j] == y0[i];
    if (dup) continue; /* keep the first time of each level */
    wx[n] = x0[i];
    wy[n] = y0[i];
    n++;
    if (y0[i] > ymax) ymax = y0[i];
  }
  if (n == 0 || ymax < p) return NAN;
  /* y is non-decreasing: the first index with y >= p - tol, and with y >= p + tol. */
  size_t i1 = n, i2 = n;
  for (size_t i = 0; i < n; i++)
    if (wy[i] + tol >= p) {
      i1 = i;
      break;
    }
  for (size_t i = 0; i < n; i++)
    if (wy[i] - tol >= p) {
      i2 = i;
      break;
    }
  if (fabs(p - wy[n - 1]) < tol && i1 < n) return (wx[i1] + xmax) / 2;
  if (i1 == n || i2 == n) return NAN;
  return (wx[i1] + wx[i2]) / 2;
}

lp_status lp_km_fit(const double *time, const int *event, size_t n, double level, lp_km *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0) return lp_error_set(err, LP_EDATA, "Kaplan-Meier needs at least one subject");
  if (!(level > 0 && level < 1)) return lp_error_set(err, LP_EINVAL, "level must be in (0, 1)");
  obs *o = malloc(n * sizeof *o);
  if (!o) return lp_error_set(err, LP_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(time[i]) || time[i] < 0) {
      free(o);
      return lp_error_set(err, LP_EDATA, "row %zu: survival time must be a number >= 0", i + 1);
    }
    if (event[i] != 0 && event[i] != 1) {
      free(o);
      return lp_error_set(err, LP_EDATA, "row %zu: event must be 0 or 1", i + 1);
    }
    o[i] = (obs){time[i], event[i]};
  }
  qsort(o, n, sizeof *o, cmp_obs);
  out->steps = malloc(n * sizeof *out->steps);
  if (!out->steps) {
    free(o);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  double z = gsl_cdf_ugaussian_Qinv((1 - level) / 2);
  double s = 1, gw = 0;
  long at_risk = (long)n;
  out->n = (long)n;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    long d = 0, c = 0;
    while (j < n && o[j].t == o[i].t) {
      if (o[j].e) d++;
      else
        c++;
      j++;
    }
    lp_km_step *st = &out->steps[out->nsteps++];
    st->time = o[i].t;
    st->n_risk = at_risk;
    st->n_event = d;
    st->n_censor = c;
    if (d > 0) {
      s *= 1 - (double)d / (double)at_risk;
      gw = d < at_risk ? gw + (double)d / ((double)at_risk * (double)(at_risk - d)) : INFINITY;
    }
    st->surv = s;
    double se_log = sqrt(gw);
    st->std_err = s * se_log;
    if (s > 0 && isfinite(se_log)) {
      st->lower = s * exp(-z * se_log);
      st->upper = fmin(1.0, s * exp(z * se_log));
    } else {
      st->lower = st->upper = NAN;
      if (s == 0) st->std_err = NAN;
    }
    out->events += d;
    at_risk -= d + c;
    i = j;
  }
  free(o);
  /* Medians of the curve and of its lower and upper limits. */
  size_t m = out->nsteps + 1;
  double *x = malloc(m * sizeof *x), *y = malloc(m * sizeof *y), *wx = malloc(m * sizeof *wx),
         *wy = malloc(m * sizeof *wy);
  if (!x || !y || !wx || !wy) {
    free(x), free(y), free(wx), free(wy);
    lp_km_clear(out);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  double xmax = out->steps[out->nsteps - 1].time;
  x[0] = 0;
  y[0] = 0;
  for (int which = 0; which < 3; which++) {
    for (size_t i = 0; i < out->nsteps; i++) {
      const lp_km_step *st = &out->steps[i];
      double v = which == 0 ? st->surv : which == 1 ? st->lower : st->upper;
      x[i + 1] = st->time;
      y[i + 1] = 1 - v;
    }
    double q = findq(x, y, m, 0.5, xmax, wx, wy);
    if (which == 0) out->median = q;
    else if (which == 1)
      out->median_lower = q;
    else
      out->median_upper = q;
  }
  free(x), free(y), free(wx), free(wy);
  return LP_OK;
}

bool lp_km_at(const lp_km *km, double t, lp_km_step *out) {
  if (km->nsteps == 0 || t > km->steps[km->nsteps - 1].time) return false;
  memset(out, 0, sizeof *out);
  out->time = t;
  out->surv = 1;
  out->std_err = 0;
  out->lower = out->upper = 1;
  out->n_risk = km->n;
  for (size_t i = 0; i < km->nsteps; i++) {
    const lp_km_step *s = &km->steps[i];
    if (s->time <= t) {
      out->surv = s->surv;
      out->std_err = s->std_err;
      out->lower = s->lower;
      out->upper = s->upper;
    }
    if (s->time < t) out->n_risk = s->n_risk - s->n_event - s->n_censor;
  }
  return true;
}
