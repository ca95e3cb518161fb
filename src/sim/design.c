/* Simulation-based design: many trials from the patient model, each analysed as the
 * plan's primary analysis, summarised as power (or type I error), the behaviour of
 * the estimate and the coverage of the bootstrap interval. */
#include <leopards/sim.h>
#include <leopards/stats.h>

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

void lp_design_options_default(lp_design_options *o) {
  o->trials = 1000;
  o->effect = LP_EFFECT_PAPER;
  o->difference = 0.5;
  o->patients = 516;
  o->bootstrap = 2000;
  o->seed = 20161013;
  o->alpha = 0.05;
  o->threads = 0;
  o->truth_known = false;
  o->true_difference = o->sd_outcome = 0;
}

/* The true difference and the outcome's SD: one very large simulated population
 * (or the values a previous run found, for the same seed and effect). */
static lp_status design_truth(const lp_design_options *o, lp_design_result *out, lp_error *err) {
  if (o->truth_known) {
    out->true_difference = o->true_difference;
    out->sd_outcome = o->sd_outcome;
    return LP_OK;
  }
  const size_t big = 400000;
  lp_sim_outcomes *pop = malloc(big * sizeof *pop);
  if (!pop) return lp_error_set(err, LP_ENOMEM, "out of memory");
  lp_status st = lp_sim_patients(o->seed, UINT32_MAX, o->effect, o->difference, big, pop, err);
  if (st) {
    free(pop);
    return st;
  }
  double s[2] = {0, 0}, ss[2] = {0, 0};
  size_t c[2] = {0, 0};
  for (size_t i = 0; i < big; i++) {
    s[pop[i].arm] += pop[i].sofa_mean;
    ss[pop[i].arm] += pop[i].sofa_mean * pop[i].sofa_mean;
    c[pop[i].arm]++;
  }
  free(pop);
  /* Under the null the arms are the same model: the truth is exactly 0. */
  out->true_difference = o->effect == LP_EFFECT_NONE ? 0.0 : s[0] / (double)c[0] - s[1] / (double)c[1];
  double v0 = (ss[0] - s[0] * s[0] / (double)c[0]) / (double)(c[0] - 1);
  double v1 = (ss[1] - s[1] * s[1] / (double)c[1]) / (double)(c[1] - 1);
  out->sd_outcome = sqrt((v0 + v1) / 2);
  return LP_OK;
}

lp_status lp_design_primary(const lp_design_options *o, lp_design_result *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  if (o->trials < 1 || o->patients < 20 || o->patients > 1000000 || o->bootstrap < 100 ||
      !(o->alpha > 0 && o->alpha < 1))
    return lp_error_set(err, LP_EINVAL,
                        "design: bad options (trials >= 1, patients 20 to 1,000,000, bootstrap >= 100, "
                        "alpha in (0, 1))");
  lp_status st = design_truth(o, out, err);
  if (st) return st;
  size_t T = o->trials, n = o->patients;
  double *est = calloc(T, sizeof *est), *lo = calloc(T, sizeof *lo), *hi = calloc(T, sizeof *hi),
         *pv = calloc(T, sizeof *pv);
  int threads = lp_thread_budget(o->threads);
  double *work = calloc((size_t)threads * 4 * n, sizeof *work);
  lp_sim_outcomes *tr = calloc((size_t)threads * n, sizeof *tr);
  int failed = 0;
  double se = 0, sse = 0;
  if (!est || !lo || !hi || !pv || !work || !tr) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
#pragma omp parallel for num_threads(threads) schedule(dynamic) reduction(| : failed)
  for (size_t t = 0; t < T; t++) {
    int tid = omp_get_thread_num();
    lp_sim_outcomes *p = tr + (size_t)tid * n;
    double *a = work + (size_t)tid * 4 * n, *b = a + n, *w = b + n;
    if (lp_sim_patients(o->seed, t, o->effect, o->difference, n, p, NULL)) {
      failed = 1;
      continue;
    }
    size_t na = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
      if (p[i].arm == 0) a[na++] = p[i].sofa_mean;
      else
        b[nb++] = p[i].sofa_mean;
    }
    lp_boot_options bo;
    lp_boot_options_default(&bo);
    bo.replicates = o->bootstrap;
    bo.seed = o->seed ^ (0x9e3779b97f4a7c15ULL * (t + 1));
    bo.threads = 1;
    lp_boot_result br;
    lp_mannwhitney mw;
    if (lp_boot_diff(a, na, b, nb, &bo, NULL, &br, NULL) || lp_mannwhitney_test(a, na, b, nb, true, w, &mw, NULL)) {
      failed = 1;
      continue;
    }
    est[t] = br.estimate;
    lo[t] = br.ci[0];
    hi[t] = br.ci[1];
    pv[t] = mw.p;
  }
  if (failed) {
    st = lp_error_set(err, LP_ENUMERIC, "design: a simulated trial could not be analysed");
    goto done;
  }
  for (size_t t = 0; t < T; t++) {
    se += est[t];
    sse += est[t] * est[t];
    out->reject += pv[t] < o->alpha;
    out->ci_excludes_zero += lo[t] > 0 || hi[t] < 0;
    out->coverage += lo[t] <= out->true_difference && out->true_difference <= hi[t];
    out->mean_ci_width += hi[t] - lo[t];
  }
  out->trials = T;
  out->mean_estimate = se / (double)T;
  out->sd_estimate = T > 1 ? sqrt(fmax(0, (sse - se * se / (double)T) / (double)(T - 1))) : NAN;
  out->reject /= (double)T;
  out->ci_excludes_zero /= (double)T;
  out->coverage /= (double)T;
  out->mean_ci_width /= (double)T;
done:
  free(est), free(lo), free(hi), free(pv), free(work), free(tr);
  return st;
}
