/* The patient model of the simulator (docs/simulation.md): a latent severity drives
 * the per-patient mean of each SOFA component, death and length of stay; daily scores
 * follow a declining course around that mean; the inputs a case report form records
 * are drawn inside each score's band, so that scoring them gives the scores back. */
#include "sim/model.h"

#include <leopards/clinical.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <string.h>

/* Targets from the paper (placebo arm): per-patient mean of each component over the
 * ICU stay, its SD, and the difference levosimendan - placebo (Table 3). */
/* Latent targets: the paper's values, with respiratory raised and renal lowered to
 * offset what the course adds or removes (respiratory scores above 2 only while
 * ventilated; renal 4 on days of renal-replacement therapy). */
static const double target_mean[SC_N] = {1.70, 0.75, 0.45, 2.02, 1.20};
static const double target_sd[SC_N] = {1.30, 1.02, 0.77, 1.20, 1.30};
/* The published differences, as the latent means give them, two raised so that the
 * daily scores differ by the paper's values: cardiovascular 0.25 -> 0.275 (the step
 * course cannot move a mean below 0.4 or above 3.8) and renal 0.18 -> 0.22 (the days of
 * renal-replacement therapy, which follow the kidneys without the drug, score 4 in
 * both arms). */
static const double paper_effect[SC_N] = {0.14, 0.00, 0.06, 0.275, 0.22};
/* Loading of each component on the shared severity (gives the SD of the total). */
static const double loading[SC_N] = {0.72, 0.62, 0.55, 0.7, 0.72};
/* Component-day values missing (the paper: 2.3% cardiovascular to 12.8% liver). */
static const double missing_rate[SC_N] = {0.06, 0.05, 0.128, 0.023, 0.04};
/* Baseline scores: mean over the stay x factor + shift, by system (see lp__sim_patient).
 * The renal row puts the randomisation creatinine where Table 2 has it (median 1.5-1.6,
 * quartiles 1.0-1.1 and 2.4 mg/dL; renal failure, KDIGO stage 3 against the
 * estimated reference, in 29%). */
static const double base_factor[SC_N] = {0.70, 0.80, 0.90, 1.0, 0.95};
static const double base_shift[SC_N] = {1.15, 0.0, 0.0, 0.0, 0.2};
/* Renal-replacement therapy: at baseline, the share of patients with a renal score of
 * 3 or more who are on it (Table 2: 17%); during the stay, patients whose mean renal
 * score exceeds RRT_PRONE_MEAN are prone (with probability RRT_PRONE_P) and on it the
 * days their score reaches 3 (Table 3: new RRT in 24%). */
#define BASE_RRT 0.72
#define RRT_PRONE_MEAN 1.5
#define RRT_PRONE_P 0.8
/* Creatinine within its SOFA band, u^skew of the band's width (skew > 1 favours the
 * lower end): band 0 (below 1.2) and the others. */
#define CR_SKEW0 0.8
#define CR_SKEW 1.6
/* The renal course: declining by shape x min(m, 4 - m) over the stay, as the other
 * systems do with 0.8. Survivors' kidneys recover slowly (flat), and the kidneys of
 * patients who die in the ICU fail on (rising): this gives sustained renal failure at
 * ICU discharge in 44% (Table 3: 42-46%). */
#define RENAL_SHAPE_ALIVE 0.0
#define RENAL_SHAPE_DEATH (-1.0)
#define GCS_VENT_MED 7
/* Weaning: the hazard ratio of the Weibull time to weaning with the paper's effect.
 * Below the paper's 0.77, since the patients discharged alive before their time (weaned
 * just before leaving, in both arms alike) and the adjustment for age and APACHE II
 * take the estimate towards 1 (docs/simulation.md). */
#define WEAN_HR 0.53
/* Median day of death by day 28 with the paper's effect (levosimendan, placebo): the ICU
 * stay of non-survivors 3.2 and 5.7 days (Table 3). */
#define DEATH_DAY_LEVO 3.2
#define DEATH_DAY_PLACEBO 5.7
/* Serious adverse events: the chance of an "other" event in a patient with a cardiac one. */
#define AE_OTHER_GIVEN_CARDIAC 0.22
#define DESIGN_GAIN 1.06
static const double death28[2][3] = {{0.345, 0.309, 0.309}, {0.309, 0.309, 0.309}}; /* [arm][effect] */

/* Mean and variance of min(max(X, 0), 4) for X ~ N(mu, sigma^2). */
static void censored_moments(double mu, double sigma, double *mean, double *var) {
  const double lo = 0, hi = 4;
  double a = (lo - mu) / sigma, b = (hi - mu) / sigma;
  double Pa = gsl_cdf_ugaussian_P(a), Pb = gsl_cdf_ugaussian_P(b);
  double pa = exp(-a * a / 2) / sqrt(2 * M_PI), pb = exp(-b * b / 2) / sqrt(2 * M_PI);
  double mid = Pb - Pa;
  /* E[X; a<Z<b] and E[X^2; a<Z<b] */
  double m1 = mu * mid + sigma * (pa - pb);
  double m2 = (mu * mu + sigma * sigma) * mid + 2 * mu * sigma * (pa - pb) + sigma * sigma * (a * pa - b * pb);
  double e = m1 + hi * (1 - Pb) + lo * Pa;
  double e2 = m2 + hi * hi * (1 - Pb) + lo * lo * Pa;
  *mean = e;
  *var = fmax(e2 - e * e, 0);
}

/* Find mu, sigma with the censored mean and SD equal to the targets (damped Newton
 * on two equations; converges in a few dozen steps for the targets used). */
static lp_status solve_latent(double mean, double sd, double *mu, double *sigma, lp_error *err) {
  double m = mean, s = sd * 1.3;
  for (int it = 0; it < 200; it++) {
    double e, v;
    censored_moments(m, s, &e, &v);
    double f1 = e - mean, f2 = sqrt(v) - sd;
    if (fabs(f1) < 1e-10 && fabs(f2) < 1e-10) {
      *mu = m;
      *sigma = s;
      return LP_OK;
    }
    const double h = 1e-6;
    double e1, v1, e2, v2;
    censored_moments(m + h, s, &e1, &v1);
    censored_moments(m, s + h, &e2, &v2);
    double j11 = (e1 - e) / h, j12 = (e2 - e) / h, j21 = (sqrt(v1) - sqrt(v)) / h, j22 = (sqrt(v2) - sqrt(v)) / h;
    double det = j11 * j22 - j12 * j21;
    if (fabs(det) < 1e-14) break;
    double dm = (f1 * j22 - f2 * j12) / det, ds = (j11 * f2 - j21 * f1) / det;
    m -= 0.7 * dm;
    s = fmax(0.05, s - 0.7 * ds);
  }
  return lp_error_set(err, LP_ECONVERGE, "simulation model: cannot match mean %g and SD %g", mean, sd);
}

/* E over u ~ N(0,1) of logistic(alpha + beta u), by the trapezoid rule on [-8, 8]. */
static double mean_logistic(double alpha, double beta) {
  double s = 0, h = 0.01;
  for (double u = -8; u <= 8; u += h) s += exp(-u * u / 2) / (1 + exp(-(alpha + beta * u)));
  return s * h / sqrt(2 * M_PI);
}

#define DEATH_BETA 0.9
/* Recurrence of infusion side effects at each later hourly observation. */
#define INF_RECUR 0.12

lp_status lp__sim_model_init(sim_model *m, lp_sim_effect effect, double difference, lp_error *err) {
  memset(m, 0, sizeof *m);
  m->effect = effect;
  if (effect == LP_EFFECT_DESIGN && !(difference >= -2 && difference <= 2))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "difference",
                       "%g is outside -2 to 2 (a difference in mean daily SOFA the model can reach)", difference);
  for (int c = 0; c < SC_N; c++) {
    double mu = 0, sigma = 1;
    lp_status st = solve_latent(target_mean[c], target_sd[c], &mu, &sigma, err);
    if (st) return st;
    m->comp_sigma[c] = sigma;
    m->comp_mu[1][c] = mu;
    double delta = effect == LP_EFFECT_PAPER ? paper_effect[c] : 0;
    /* The design difference, spread over the components in proportion to their means;
     * DESIGN_GAIN makes up for what the daily course takes off (respiratory scores
     * capped at 2 off the ventilator, the cardiovascular step), so that the trials'
     * true difference in mean daily SOFA is the one asked for. */
    if (effect == LP_EFFECT_DESIGN) delta = DESIGN_GAIN * difference * target_mean[c] / 6.12;
    /* The first arm's latent mean gives the target mean plus the effect. */
    double lo = mu - 2, hi = mu + 2;
    for (int it = 0; it < 100; it++) {
      double mid = (lo + hi) / 2, e, v;
      censored_moments(mid, sigma, &e, &v);
      if (e < target_mean[c] + delta) lo = mid;
      else
        hi = mid;
    }
    m->comp_mu[0][c] = (lo + hi) / 2;
  }
  for (int a = 0; a < 2; a++) {
    double target = death28[a][effect];
    double lo = -10, hi = 10;
    for (int it = 0; it < 100; it++) {
      double mid = (lo + hi) / 2;
      if (mean_logistic(mid, DEATH_BETA) < target) lo = mid;
      else
        hi = mid;
    }
    m->death_alpha[a] = (lo + hi) / 2;
  }
  return LP_OK;
}

static double unif(lp_rng *r, double a, double b) { return a + (b - a) * lp_rng_uniform(r); }
static bool bern(lp_rng *r, double p) { return lp_rng_uniform(r) < p; }
static double lognormal(lp_rng *r, double median, double sdlog) { return median * exp(sdlog * lp_rng_normal(r)); }
static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }
/* A value with the given median and quartiles (a skewed normal by halves). */
static double quartiles(lp_rng *r, double q1, double med, double q3) {
  double z = lp_rng_normal(r);
  return z < 0 ? med + z * (med - q1) / 0.6745 : med + z * (q3 - med) / 0.6745;
}

static void add_inf(sim_patient *p, double hour, int event, double dose, int reason) {
  if (p->ninf < 8) p->inf[p->ninf++] = (struct sim_infusion){hour, event, dose, reason};
}

/* Inputs inside the band of each score (clinical.md): scoring them gives the score. */
static void encode(lp_rng *r, const int *score, bool vent, bool rrt, sim_inputs *in) {
  /* Respiratory: PaO2/FiO2 with respiratory support when the score is 3 or 4. */
  static const double pf_lo[5] = {400, 300, 200, 100, 55}, pf_hi[5] = {520, 399, 299, 199, 99};
  int s = score[SC_RESP];
  double pf = unif(r, pf_lo[s], pf_hi[s]);
  in->fio2 = vent ? round(unif(r, 0.3, 0.8) * 100) / 100 : 0.21 + 0.05 * (double)lp_rng_below(r, 4);
  in->pao2 = round(pf * in->fio2 * 10) / 10;
  if (in->pao2 < 40) in->pao2 = 40, in->fio2 = round(40 / pf * 100) / 100 + 0.01;
  /* keep the ratio inside the band after rounding */
  while (in->pao2 / in->fio2 >= pf_hi[s] + 1) in->pao2 -= 0.5;
  while (in->pao2 / in->fio2 < pf_lo[s]) in->pao2 += 0.5;
  in->resp_support = vent;
  static const double plt_lo[5] = {150, 100, 50, 20, 5}, plt_hi[5] = {420, 149, 99, 49, 19};
  in->platelets = round(unif(r, plt_lo[score[SC_COAG]], plt_hi[score[SC_COAG]]));
  static const double bil_lo[5] = {0.3, 1.2, 2.0, 6.0, 12.0}, bil_hi[5] = {1.1, 1.9, 5.9, 11.9, 20};
  in->bilirubin = round(unif(r, bil_lo[score[SC_LIVER]], bil_hi[score[SC_LIVER]]) * 10) / 10;
  in->dopamine = in->dobutamine = in->epinephrine = in->norepinephrine = in->vasopressin = 0;
  switch (score[SC_CV]) {
    case 0:
      in->map = round(unif(r, 70, 92));
      break;
    case 1:
      in->map = round(unif(r, 58, 69));
      break;
    case 2:
      in->map = round(unif(r, 62, 80));
      if (bern(r, 0.7)) in->dobutamine = round(unif(r, 2.5, 10) * 10) / 10;
      else
        in->dopamine = round(unif(r, 2, 5) * 10) / 10;
      break;
    case 3:
      in->map = round(unif(r, 62, 80));
      in->norepinephrine = round(unif(r, 0.02, 0.10) * 100) / 100;
      break;
    default:
      in->map = round(unif(r, 60, 78));
      in->norepinephrine = round(clampd(lognormal(r, 0.25, 0.6), 0.11, 2.0) * 100) / 100;
      if (bern(r, 0.08)) in->epinephrine = round(unif(r, 0.05, 0.3) * 100) / 100;
      if (bern(r, 0.14)) in->vasopressin = round(unif(r, 0.01, 0.04) * 100) / 100;
      if (bern(r, 0.08)) in->dobutamine = round(unif(r, 2.5, 10) * 10) / 10;
  }
  /* Creatinine within its SOFA band, skewed as creatinine is (Table 2: median 1.6,
   * upper quartile 2.4 mg/dL): the lower values of a band are the more common. */
  static const double cr_lo[5] = {0.6, 1.2, 2.0, 3.5, 5.0}, cr_hi[5] = {1.1, 1.9, 3.4, 4.9, 7.5};
  static const double cr_skew[5] = {CR_SKEW0, CR_SKEW, CR_SKEW, CR_SKEW, CR_SKEW};
  int k = score[SC_RENAL];
  in->creatinine = round((cr_lo[k] + (cr_hi[k] - cr_lo[k]) * pow(lp_rng_uniform(r), cr_skew[k])) * 10) / 10;
  in->urine = k >= 4 && rrt ? round(unif(r, 0, 190)) : round(unif(r, 900, 2500));
  in->gcs = 15;
  memset(in->missing, 0, sizeof in->missing);
}

/* The cardiovascular course is a step: catecholamines (score 3-4) for the first
 * days, then none (0-1); the number of such days gives the mean. */
static void cv_course(lp_rng *r, double m, int n, int *out) {
  const double high = 3.8, low = 0.4;
  double h = clampd(n * (m - low) / (high - low), 0, n);
  int k = (int)floor(h + lp_rng_uniform(r));
  for (int d = 0; d < n; d++) {
    double x = d < k ? high : low;
    int s = (int)floor(x + lp_rng_uniform(r));
    out[d] = s < 0 ? 0 : s > 4 ? 4 : s;
  }
}

/* A day-by-day course with mean m over n days, declining from the start, drawn by
 * randomised rounding so that the expected score of each day is its course value. */
static int course_score(double m, double shape, int d, int n, double uniform) {
  double half = n > 1 ? (n - 1) / 2.0 : 1, mid = (n - 1) / 2.0;
  double x = m + shape * fmin(m, 4 - m) * (mid - d) / half;
  int s = (int)floor(x + uniform);
  return s < 0 ? 0 : s > 4 ? 4 : s;
}

/* `m2`, `out2` (may be NULL): the course of another mean from the same draws. */
static void course(lp_rng *r, double m, int n, double shape, int *out, double m2, int *out2) {
  for (int d = 0; d < n; d++) {
    double v = lp_rng_uniform(r);
    out[d] = course_score(m, shape, d, n, v);
    if (out2) out2[d] = course_score(m2, shape, d, n, v);
  }
}

/* Baseline characteristics (Tables 1 and 2) other than the SOFA inputs. */
static void baseline(lp_rng *r, double u, sim_patient *p) {
  p->age = (int)round(clampd(quartiles(r, 58, 68, 76), 18, 98));
  p->male = bern(r, 0.561);
  double rc = lp_rng_uniform(r);
  p->race = rc < 0.041 ? 0 : rc < 0.061 ? 1 : rc < 0.993 ? 2 : 3;
  p->weight = round(clampd(quartiles(r, 66, 78, 90), 38, 135));
  double bmi = clampd(quartiles(r, 23.5, 27.5, 31), 15, 60);
  p->height = round(clampd(sqrt(p->weight / bmi) * 100, 140, 205));
  static const double comorb_p[10] = {0.367, 0.15, 0.01, 0.095, 0.053, 0.072, 0.019, 0.091, 0.214, 0.192};
  for (int i = 0; i < 10; i++) p->comorb[i] = bern(r, comorb_p[i]);
  p->shock_hours = round(clampd(quartiles(r, 10, 15.5, 20.5), 4, 48) * 10) / 10;
  p->apache2 = (int)round(clampd(25.5 + 7.0 * (0.6 * u + 0.8 * lp_rng_normal(r)), 3, 60));
  double src = lp_rng_uniform(r);
  p->infection_source = src < 0.39    ? 0
                        : src < 0.762 ? 1
                        : src < 0.818 ? 2
                        : src < 0.838 ? 3
                        : src < 0.848 ? 4
                        : src < 0.899 ? 5
                                      : 6;
  double rh = lp_rng_uniform(r);
  p->rhythm = rh < 0.817 ? 0 : rh < 0.92 ? 1 : rh < 0.93 ? 2 : 3;
  p->culture = bern(r, 0.43);
  p->vent0 = bern(r, clampd(0.81 + 0.06 * u, 0.3, 0.99));
  p->ards = p->vent0 && bern(r, 0.31);
  p->heart_rate = round(clampd(quartiles(r, 81, 95.5, 110.5), 40, 180));
  p->cvp = round(clampd(quartiles(r, 8.5, 11.5, 15.5), -2, 30));
  p->cardiac_index = bern(r, 0.305) ? round(clampd(quartiles(r, 2.2, 3.0, 3.85), 0.8, 8) * 10) / 10 : NAN;
  p->stroke_volume = isnan(p->cardiac_index) ? NAN : round(clampd(quartiles(r, 44, 61, 76.5), 15, 160) * 10) / 10;
  p->sao2 = round(clampd(quartiles(r, 95, 97, 98), 80, 100));
  p->scvo2 = bern(r, 0.85) ? round(clampd(quartiles(r, 69.5, 75.5, 81), 35, 95)) : NAN;
  p->lactate = round(clampd(exp(log(2.25) + 0.25 * u + 0.65 * lp_rng_normal(r)), 0.3, 20) * 10) / 10;
  p->hemoglobin = round(clampd(quartiles(r, 93.5, 108, 124), 50, 180));
}

/* The per-patient mean of each component over the stay (arm `row` of the model), and
 * the renal mean the same patient would have without the drug (`renal_untreated`):
 * with the paper's effect, what renal-replacement therapy follows (with a design
 * difference, the therapy follows the patient's own kidneys, so that the difference
 * reaches the daily scores whole). */
static void component_means(const sim_model *m, lp_rng *r, int row, double u, double *mean_c, double *renal_untreated) {
  for (int c = 0; c < SC_N; c++) {
    double z = loading[c] * u + sqrt(1 - loading[c] * loading[c]) * lp_rng_normal(r);
    mean_c[c] = clampd(m->comp_mu[row][c] + m->comp_sigma[c] * z, 0, 4);
    if (c == SC_RENAL)
      *renal_untreated =
          m->effect == LP_EFFECT_PAPER ? clampd(m->comp_mu[1][c] + m->comp_sigma[c] * z, 0, 4) : mean_c[c];
  }
}

/* Baseline scores from the patient's mean over the stay, scaled by system so that
 * the organ failures of Table 2 come out (respiratory 39%, coagulation 6%, hepatic
 * 3%); cardiovascular 3-4 (shock on vasopressors); and the inputs that give them. */
static void baseline_scores(lp_rng *r, const double *mean_c, sim_patient *p) {
  for (int c = 0; c < SC_N; c++) {
    int s = (int)floor(clampd(mean_c[c] * base_factor[c] + base_shift[c], 0, 4) + lp_rng_uniform(r));
    p->base_score[c] = s > 4 ? 4 : s < 0 ? 0 : s;
  }
  p->base_score[SC_CV] = bern(r, 0.93) ? 4 : 3;
  if (!p->vent0 && p->base_score[SC_RESP] > 2) p->base_score[SC_RESP] = 2;
  /* Renal-replacement therapy at baseline (17%) scores renal 4 by its urine output. */
  p->rrt0 = p->base_score[SC_RENAL] >= 3 && bern(r, BASE_RRT);
  if (p->rrt0) p->base_score[SC_RENAL] = 4;
  encode(r, p->base_score, p->vent0, p->rrt0, &p->base);
  if (p->rrt0) /* creatinine on dialysis: lower than its band, the score stays 4 by urine */
    p->base.creatinine = round(clampd(lognormal(r, 2.4, 0.45), 0.6, 9) * 10) / 10;
  /* MAP on vasopressors (Table 2: 74, 68-80), which does not change their score. */
  p->base.map = round(clampd(quartiles(r, 68, 74, 80), 50, 120));
  p->base.gcs = p->vent0 ? (int)clampd(round(quartiles(r, 3, GCS_VENT_MED, 13)), 3, 15)
                         : (int)clampd(round(quartiles(r, 10, 14, 15)), 3, 15);
}

/* Death by day 28 (model arm `row`), the day of death and the lengths of stay, to
 * the minute as the outcome form records them; the ICU days of the course. */
static void survival_and_stay(const sim_model *m, lp_rng *r, int arm, int row, double u, sim_patient *p) {
  double pd = 1 / (1 + exp(-(m->death_alpha[row] + DEATH_BETA * u)));
  bool dies28 = bern(r, pd);
  p->death_day = NAN;
  if (dies28) {
    /* Day of death: with the paper's effect, levosimendan non-survivors die sooner
     * (Table 3: ICU stay of non-survivors 3.2 vs 5.7 days). */
    double median = m->effect == LP_EFFECT_PAPER ? (arm == 0 ? DEATH_DAY_LEVO : DEATH_DAY_PLACEBO) : 4.5;
    double d = clampd(lognormal(r, median, 0.95), 0.2, 27.9);
    p->death_day = d;
    p->icu_los = bern(r, 0.95) ? d : d * unif(r, 0.3, 0.85);
    p->hosp_los = d;
  } else {
    p->icu_los = clampd(lognormal(r, 9.0 * exp(0.15 * u), 0.75), 0.6, 120);
    p->hosp_los = p->icu_los + clampd(lognormal(r, 16, 0.8), 1, 200);
    /* dies in hospital after day 28: with the paper's effect at the rates of Table 3
     * (deaths at hospital discharge minus those by day 28, among the 28-day survivors:
     * 8 of 169 with levosimendan, 5 of 177 with placebo) */
    double late = m->effect == LP_EFFECT_PAPER ? (arm == 0 ? 0.047 : 0.028) : 0.045;
    if (bern(r, late)) {
      p->death_day = fmax(28.5, p->icu_los + unif(r, 1, 30));
      p->hosp_los = p->death_day;
    }
  }
  /* Times to the minute, as the outcome form records them (so that the ICU days
   * recorded and the discharge time agree). */
  p->icu_los = round(p->icu_los * 1440) / 1440;
  p->hosp_los = round(p->hosp_los * 1440) / 1440;
  if (!isnan(p->death_day)) p->death_day = round(p->death_day * 1440) / 1440;
  p->ndays = (int)fmin(28, ceil(p->icu_los));
  if (p->ndays < 1) p->ndays = 1;
}

/* Ventilation and weaning: a Weibull time (shape 1.3) with hazard ratio WEAN_HR for the
 * paper's effect, weaned just before leaving the ICU alive when later. */
static void weaning(lp_rng *r, bool paper, double u, sim_patient *p) {
  p->wean_day = NAN;
  if (!p->vent0) return;
  double scale = 9.0 * exp(0.35 * u) * (paper ? pow(1 / WEAN_HR, 1 / 1.3) : 1.0);
  double w = scale * pow(-log(1 - lp_rng_uniform(r)), 1 / 1.3); /* Weibull, shape 1.3 */
  double end = isnan(p->death_day) ? p->icu_los : fmin(p->icu_los, p->death_day);
  if (w >= end) {
    if (isnan(p->death_day) || p->death_day > p->icu_los)
      w = fmax(0.3, p->icu_los - unif(r, 0.1, 0.5)); /* weaned before leaving */
    else
      w = NAN; /* died ventilated */
  }
  p->wean_day = w;
}

/* Daily course. Kidney function recovers more slowly than the other systems in
 * survivors, and fails on towards death in patients who die in the ICU. */
static void daily_course(lp_rng *r, const double *mean_c, double renal_untreated, sim_patient *p) {
  bool dies_in_icu = !isnan(p->death_day) && p->death_day <= p->icu_los + 1e-9;
  int sc[SC_N][28], renal0[28]; /* renal0: the renal course without the drug */
  for (int c = 0; c < SC_N; c++) {
    if (c == SC_CV) cv_course(r, mean_c[c], p->ndays, sc[c]);
    else if (c != SC_RENAL)
      course(r, mean_c[c], p->ndays, 0.8, sc[c], 0, NULL);
    else
      course(r, mean_c[c], p->ndays, dies_in_icu ? RENAL_SHAPE_DEATH : RENAL_SHAPE_ALIVE, sc[c], renal_untreated,
             renal0);
  }
  /* Renal-replacement therapy follows the kidneys without the drug (the paper: new
   * RRT in 24.1% of both arms, with a renal score 0.18 higher): a prone patient is on
   * it the days the untreated course reaches 3. */
  bool rrt_prone = renal_untreated > RRT_PRONE_MEAN && bern(r, RRT_PRONE_P);
  for (int d = 0; d < p->ndays; d++) {
    sim_day *day = &p->day[d];
    day->vent = p->vent0 && (isnan(p->wean_day) || d < p->wean_day);
    for (int c = 0; c < SC_N; c++) day->score[c] = sc[c][d];
    if (!day->vent && day->score[SC_RESP] > 2) day->score[SC_RESP] = 2;
    day->rrt = rrt_prone && renal0[d] >= 3;
    if (day->rrt) day->score[SC_RENAL] = 4;
    encode(r, day->score, day->vent, day->rrt, &day->in);
    for (int c = 0; c < SC_N; c++) day->in.missing[c] = bern(r, missing_rate[c]);
  }
}

/* The infusion, run through the protocol's state machine (lp_infusion_next) with
 * hourly observations. A patient who does not tolerate the drug has side effects
 * (hypotension, or a heart rate above 130/min) from an onset hour on, recurring at
 * later observations; each one steps the dose down (0.2 -> 0.1 -> 0.05 -> stop).
 * Intolerance and recurrence are set so that about 13.5% (levosimendan) and 7.7%
 * (placebo) of infusions stop early, as in the paper. */
static void infusion(lp_rng *r, bool active, sim_patient *p) {
  p->received = true;
  p->ninf = 0;
  add_inf(p, 0, 0, 0.1, 0);
  bool intolerant = bern(r, active ? 0.30 : 0.15);
  double onset = intolerant ? unif(r, 0.5, 20) : INFINITY, recur = INF_RECUR;
  double t_up = round(unif(r, 2, 4) * 4) / 4;
  lp_infusion_state state = LP_INF_START;
  bool seen = false;
  for (double t = t_up; state != LP_INF_STOPPED && state != LP_INF_COMPLETED;
       t = t < 24 ? fmin(24, floor(t) + 1) : 25) {
    bool side = t >= onset && (!seen || bern(r, recur));
    if (t >= onset) seen = true;
    bool hypotension = side && bern(r, 0.6);
    lp_infusion_observation obs = {t, hypotension, NAN, side && !hypotension ? 136 : 100, 100};
    lp_infusion_step step;
    if (lp_infusion_next(state, &obs, &step, NULL)) break;
    if (step.state != state) {
      int event = step.state == LP_INF_FULL        ? 1
                  : step.state == LP_INF_STOPPED   ? 3
                  : step.state == LP_INF_COMPLETED ? 4
                                                   : 2;
      int why = step.reason == LP_INF_REASON_HYPOTENSION ? 1 : step.reason == LP_INF_REASON_TACHYCARDIA ? 2 : 0;
      add_inf(p, fmin(t, 24), event, step.dose, why);
    }
    state = step.state;
  }
}

/* Serious adverse events (Table 3): the cardiac ones (arrhythmias, myocardial
 * infarction) independently at the paper's rates; an "other" event is more likely
 * (AE_OTHER_GIVEN_CARDIAC) in a patient with a cardiac one, its overall rate kept at the
 * paper's, so that the patients with any event come out as the paper's (12.4% and 8.9%,
 * fewer than independent events would give: 13.4% and 9.3%). */
static void adverse_events(lp_rng *r, bool active, sim_patient *p) {
  static const double ae_p[2][AE_N] = {{0.031, 0.027, 0.000, 0.012, 0.070}, {0.004, 0.012, 0.008, 0.004, 0.066}};
  const double *q = ae_p[active ? 0 : 1];
  double none = 1;
  for (int k = 0; k < AE_OTHER; k++) none *= 1 - q[k];
  double cardiac = 1 - none; /* share with any cardiac event */
  for (int k = 0; k < AE_N && p->nae < 4; k++) {
    double pk = q[k];
    if (k == AE_OTHER) /* P(other | cardiac or not), the marginal q[AE_OTHER] */
      pk = p->nae ? AE_OTHER_GIVEN_CARDIAC : fmax(0, (q[k] - AE_OTHER_GIVEN_CARDIAC * cardiac) / none);
    if (bern(r, pk)) {
      p->ae[p->nae].kind = (sim_ae_kind)k;
      p->ae[p->nae].day = floor(unif(r, 0, fmin(p->icu_los, 5)));
      p->nae++;
    }
  }
}

/* Baseline values not recorded, at Table 2's rates (the organ-failure denominators:
 * GCS 15%, bilirubin 2%, platelets 0.6%, PaO2 and FiO2 0.2%). */
static void baseline_missing(lp_rng *r, sim_patient *p) {
  p->base.missing[SC_RESP] = bern(r, 0.002);
  p->base.missing[SC_COAG] = bern(r, 0.006);
  p->base.missing[SC_LIVER] = bern(r, 0.02);
  p->base_gcs_missing = bern(r, 0.15);
}

/* One patient, step by step from the patient's own stream. The order of the steps is
 * the order of the draws: a new step goes last (or draws from its own stream), so
 * that the patients of a seed stay as they were. */
void lp__sim_patient(const sim_model *m, lp_rng *r, int arm, sim_patient *p) {
  memset(p, 0, sizeof *p);
  p->arm = arm;
  bool active = arm == 0 && m->effect != LP_EFFECT_NONE; /* the first arm's component means and side effects */
  bool paper = arm == 0 && m->effect == LP_EFFECT_PAPER; /* the paper's effects on death and weaning */
  double u = lp_rng_normal(r);
  p->u = u;
  baseline(r, u, p);
  double mean_c[SC_N], renal_untreated;
  component_means(m, r, active ? 0 : 1, u, mean_c, &renal_untreated);
  baseline_scores(r, mean_c, p);
  survival_and_stay(m, r, arm, paper ? 0 : 1, u, p);
  weaning(r, paper, u, p);
  daily_course(r, mean_c, renal_untreated, p);
  infusion(r, active, p);
  adverse_events(r, active, p);
  baseline_missing(r, p); /* last, so that the rest of the patient is as it was */
}

double lp__sim_sofa_mean(const sim_patient *p) {
  double s = 0;
  for (int d = 0; d < p->ndays; d++)
    for (int c = 0; c < SC_N; c++) s += p->day[d].score[c];
  return s / p->ndays;
}
