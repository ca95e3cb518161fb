/* APACHE II (Knaus et al. 1985): twelve physiological variables, age and chronic
 * health, with the points per variable. Bands are half-open at their lower limits. */
#include <leopards/clinical.h>

#include <math.h>
#include <string.h>

static const char *const var_names[LP_APS_N] = {"temperature", "map",        "heart_rate", "resp_rate",
                                                "oxygenation", "ph",         "sodium",     "potassium",
                                                "creatinine",  "hematocrit", "wbc",        "gcs"};

const char *lp_apache2_variable_name(int v) { return v >= 0 && v < LP_APS_N ? var_names[v] : "unknown"; }

void lp_apache2_input_init(lp_apache2_input *in) {
  in->temperature = in->map = in->heart_rate = in->resp_rate = in->fio2 = in->pao2 = in->paco2 = in->aado2 = NAN;
  in->ph = in->hco3 = in->sodium = in->potassium = in->creatinine = in->hematocrit = in->wbc = in->gcs = in->age = NAN;
  in->acute_renal_failure = -1;
  in->chronic_health = -1;
  in->admission = LP_ADMIT_NONOPERATIVE;
}

/* Points from a table of (lower limit, points), highest limit first; below the last
 * limit, `below`. A value scores the first band whose lower limit it reaches. */
typedef struct {
  double lower;
  int points;
} band;

static int banded(double v, const band *b, size_t n, int below) {
  for (size_t i = 0; i < n; i++)
    if (v >= b[i].lower) return b[i].points;
  return below;
}
#define BANDED(v, table, below) banded((v), (table), sizeof(table) / sizeof(table)[0], (below))

static lp_status range(double v, double lo, double hi, const char *field, lp_error *err) {
  if (isnan(v) || (v >= lo && v <= hi)) return LP_OK;
  return lp_error_at(err, LP_ERANGE, NULL, 0, field, "%g is outside the physiological range %g to %g", v, lo, hi);
}

lp_status lp_apache2_score(const lp_apache2_input *in, lp_apache2 *out, lp_error *err) {
  lp_status st;
  if (!isnan(in->fio2) && in->fio2 >= 21 && in->fio2 <= 100) /* 21-100: a percentage */
    return lp_error_at(err, LP_ERANGE, NULL, 0, "fio2",
                       "%g looks like a percentage: give FiO2 as a fraction (e.g. %.2f)", in->fio2, in->fio2 / 100);
  if ((st = range(in->temperature, 20, 45, "temperature", err)) || (st = range(in->map, 10, 300, "map", err)) ||
      (st = range(in->heart_rate, 0, 300, "heart_rate", err)) ||
      (st = range(in->resp_rate, 0, 100, "resp_rate", err)) || (st = range(in->fio2, 0.21, 1, "fio2", err)) ||
      (st = range(in->pao2, 20, 800, "pao2", err)) || (st = range(in->paco2, 5, 200, "paco2", err)) ||
      (st = range(in->aado2, -100, 800, "aado2", err)) || (st = range(in->ph, 6.5, 8.0, "ph", err)) ||
      (st = range(in->hco3, 1, 80, "hco3", err)) || (st = range(in->sodium, 90, 220, "sodium", err)) ||
      (st = range(in->potassium, 1, 12, "potassium", err)) || (st = range(in->creatinine, 0, 30, "creatinine", err)) ||
      (st = range(in->hematocrit, 5, 80, "hematocrit", err)) || (st = range(in->wbc, 0, 500, "wbc", err)) ||
      (st = range(in->gcs, 3, 15, "gcs", err)) || (st = range(in->age, 0, 130, "age", err)))
    return st;
  if (!isnan(in->gcs) && in->gcs != floor(in->gcs))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "gcs", "%g is not a whole number", in->gcs);
  if ((unsigned)in->admission > LP_ADMIT_ELECTIVE_POSTOP)
    return lp_error_at(err, LP_EINVAL, NULL, 0, "admission", "unknown admission type");
  memset(out, 0, sizeof *out);
  int *p = out->points;
  static const band temp[] = {{41, 4}, {39, 3}, {38.5, 1}, {36, 0}, {34, 1}, {32, 2}, {30, 3}};
  static const band map[] = {{160, 4}, {130, 3}, {110, 2}, {70, 0}, {50, 2}};
  static const band hr[] = {{180, 4}, {140, 3}, {110, 2}, {70, 0}, {55, 2}, {40, 3}};
  static const band rr[] = {{50, 4}, {35, 3}, {25, 1}, {12, 0}, {10, 1}, {6, 2}};
  static const band aado2[] = {{500, 4}, {350, 3}, {200, 2}};
  static const band ph[] = {{7.7, 4}, {7.6, 3}, {7.5, 1}, {7.33, 0}, {7.25, 2}, {7.15, 3}};
  static const band hco3[] = {{52, 4}, {41, 3}, {32, 1}, {22, 0}, {18, 2}, {15, 3}};
  static const band na[] = {{180, 4}, {160, 3}, {155, 2}, {150, 1}, {130, 0}, {120, 2}, {111, 3}};
  static const band k[] = {{7, 4}, {6, 3}, {5.5, 1}, {3.5, 0}, {3, 1}, {2.5, 2}};
  static const band cr[] = {{3.5, 4}, {2, 3}, {1.5, 2}, {0.6, 0}};
  static const band hct[] = {{60, 4}, {50, 2}, {46, 1}, {30, 0}, {20, 2}};
  static const band wbc[] = {{40, 4}, {20, 2}, {15, 1}, {3, 0}, {1, 2}};
#define SCORE(var, value, table, below)            \
  do {                                             \
    if (isnan(value)) out->missing |= 1u << (var); \
    else                                           \
      p[var] = BANDED((value), table, (below));    \
  } while (0)
  SCORE(LP_APS_TEMPERATURE, in->temperature, temp, 4);
  SCORE(LP_APS_MAP, in->map, map, 4);
  SCORE(LP_APS_HEART_RATE, in->heart_rate, hr, 4);
  SCORE(LP_APS_RESP_RATE, in->resp_rate, rr, 4);
  /* Oxygenation: A-aDO2 when FiO2 >= 0.5 (not > 0.5), PaO2 otherwise. */
  out->aado2_used = NAN;
  if (!isnan(in->fio2) && in->fio2 >= 0.5) {
    out->oxygenation_by_aado2 = true;
    double a = in->aado2;
    if (isnan(a) && !isnan(in->pao2) && !isnan(in->paco2)) a = in->fio2 * (760 - 47) - in->paco2 / 0.8 - in->pao2;
    out->aado2_used = a;
    if (isnan(a)) out->missing |= 1u << LP_APS_OXYGENATION;
    else
      p[LP_APS_OXYGENATION] = BANDED(a, aado2, 0);
  } else if (!isnan(in->pao2)) {
    double v = in->pao2;
    p[LP_APS_OXYGENATION] = v > 70 ? 0 : v >= 61 ? 1 : v >= 55 ? 3 : 4;
  } else {
    out->missing |= 1u << LP_APS_OXYGENATION;
  }
  /* Acid-base: arterial pH; serum bicarbonate only when there is no arterial gas. */
  if (!isnan(in->ph)) {
    p[LP_APS_PH] = BANDED(in->ph, ph, 4);
  } else if (!isnan(in->hco3)) {
    out->acid_base_by_hco3 = true;
    p[LP_APS_PH] = BANDED(in->hco3, hco3, 4);
  } else {
    out->missing |= 1u << LP_APS_PH;
  }
  SCORE(LP_APS_SODIUM, in->sodium, na, 4);
  SCORE(LP_APS_POTASSIUM, in->potassium, k, 4);
  SCORE(LP_APS_CREATININE, in->creatinine, cr, 2);
  if (in->acute_renal_failure == 1) p[LP_APS_CREATININE] *= 2;
  SCORE(LP_APS_HEMATOCRIT, in->hematocrit, hct, 4);
  SCORE(LP_APS_WBC, in->wbc, wbc, 4);
  if (isnan(in->gcs)) out->missing |= 1u << LP_APS_GCS;
  else
    p[LP_APS_GCS] = 15 - (int)in->gcs;
#undef SCORE
  for (int v = 0; v < LP_APS_N; v++) out->aps += p[v];
  double a = in->age;
  out->age_points = isnan(a) ? 0 : a >= 75 ? 6 : a >= 65 ? 5 : a >= 55 ? 3 : a >= 45 ? 2 : 0;
  out->chronic_points = in->chronic_health == 1 ? (in->admission == LP_ADMIT_ELECTIVE_POSTOP ? 2 : 5) : 0;
  out->total = out->aps + out->age_points + out->chronic_points;
  return LP_OK;
}
