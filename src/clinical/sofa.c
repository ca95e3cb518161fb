/* SOFA (Vincent et al. 1996), five- and six-system, from one day's worst values,
 * and the mean daily score of a patient with a named missing-data rule. */
#include <leopards/clinical.h>

#include <math.h>
#include <string.h>

static const char *const comp_names[LP_SOFA_NCOMP] = {"respiratory",    "coagulation", "hepatic",
                                                      "cardiovascular", "cns",         "renal"};

const char *lp_sofa_component_name(lp_sofa_component c) {
  return (unsigned)c < LP_SOFA_NCOMP ? comp_names[c] : "unknown";
}

void lp_sofa_input_init(lp_sofa_input *in) {
  in->pao2 = in->fio2 = in->platelets = in->bilirubin = in->map = NAN;
  in->dopamine = in->dobutamine = in->epinephrine = in->norepinephrine = in->vasopressin = NAN;
  in->gcs = in->creatinine = in->urine_ml = NAN;
  in->ventilated = -1;
}

double lp_si_to_conventional(double value, double factor) {
  if (!isfinite(value)) return value;
  return round(value / factor * 1e9) / 1e9;
}

static lp_status range(double v, double lo, double hi, const char *field, const char *unit, lp_error *err) {
  if (isnan(v) || (v >= lo && v <= hi)) return LP_OK;
  return lp_error_at(err, LP_ERANGE, NULL, 0, field, "%g is outside the physiological range %g to %g %s", v, lo, hi,
                     unit);
}

static double given(double rate) { return isnan(rate) ? 0 : rate; }

lp_status lp_sofa_score(const lp_sofa_input *in, int systems, lp_sofa *out, lp_error *err) {
  if (systems != 5 && systems != 6) return lp_error_set(err, LP_EINVAL, "SOFA has 5 or 6 systems, not %d", systems);
  if (!isnan(in->fio2) && in->fio2 >= 21 && in->fio2 <= 100) /* 21-100: a percentage */
    return lp_error_at(err, LP_ERANGE, NULL, 0, "fio2",
                       "%g looks like a percentage: give FiO2 as a fraction (0.21 to 1.0, e.g. %.2f)", in->fio2,
                       in->fio2 / 100);
  lp_status st;
  if ((st = range(in->fio2, 0.21, 1.0, "fio2", "(fraction)", err)) ||
      (st = range(in->pao2, 20, 800, "pao2", "mmHg", err)) ||
      (st = range(in->platelets, 0, 2000, "platelets", "x10^3/uL", err)) ||
      (st = range(in->bilirubin, 0, 80, "bilirubin", "mg/dL", err)) ||
      (st = range(in->map, 10, 250, "map", "mmHg", err)) ||
      (st = range(in->dopamine, 0, 100, "dopamine", "ug/kg/min", err)) ||
      (st = range(in->dobutamine, 0, 100, "dobutamine", "ug/kg/min", err)) ||
      (st = range(in->epinephrine, 0, 10, "epinephrine", "ug/kg/min", err)) ||
      (st = range(in->norepinephrine, 0, 10, "norepinephrine", "ug/kg/min", err)) ||
      (st = range(in->vasopressin, 0, 2, "vasopressin", "units/min", err)) ||
      (st = range(in->gcs, 3, 15, "gcs", "points", err)) ||
      (st = range(in->creatinine, 0, 30, "creatinine", "mg/dL", err)) ||
      (st = range(in->urine_ml, 0, 30000, "urine_ml", "mL/day", err)))
    return st;
  if (!isnan(in->gcs) && in->gcs != floor(in->gcs))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "gcs", "%g is not a whole number", in->gcs);
  if (in->ventilated < -1 || in->ventilated > 1)
    return lp_error_at(err, LP_ERANGE, NULL, 0, "ventilated", "must be 0, 1 or unknown");
  memset(out, 0, sizeof *out);
  out->systems = systems;
  int *c = out->component;
  /* Respiratory: PaO2/FiO2; 3 and 4 need respiratory support (else at most 2). */
  if (isnan(in->pao2) || isnan(in->fio2)) {
    c[LP_SOFA_RESP] = -1;
  } else {
    double pf = in->pao2 / in->fio2;
    bool support = in->ventilated == 1;
    c[LP_SOFA_RESP] = pf < 100 && support ? 4 : pf < 200 && support ? 3 : pf < 300 ? 2 : pf < 400 ? 1 : 0;
  }
  /* Coagulation: platelets. */
  double pl = in->platelets;
  c[LP_SOFA_COAG] = isnan(pl) ? -1 : pl < 20 ? 4 : pl < 50 ? 3 : pl < 100 ? 2 : pl < 150 ? 1 : 0;
  /* Hepatic: bilirubin, half-open bands (the paper's 11.9/12.0 gap closed). */
  double b = in->bilirubin;
  c[LP_SOFA_LIVER] = isnan(b) ? -1 : b >= 12 ? 4 : b >= 6 ? 3 : b >= 2 ? 2 : b >= 1.2 ? 1 : 0;
  /* Cardiovascular: the highest criterion met; vasopressin is not scored. */
  double dop = given(in->dopamine), dob = given(in->dobutamine), epi = given(in->epinephrine),
         ne = given(in->norepinephrine);
  if (dop > 15 || epi > 0.1 || ne > 0.1) c[LP_SOFA_CV] = 4;
  else if (dop > 5 || epi > 0 || ne > 0)
    c[LP_SOFA_CV] = 3;
  else if (dop > 0 || dob > 0)
    c[LP_SOFA_CV] = 2;
  else if (isnan(in->map))
    c[LP_SOFA_CV] = -1;
  else
    c[LP_SOFA_CV] = in->map < 70 ? 1 : 0;
  /* CNS: Glasgow Coma Scale (six-system score only). */
  double g = in->gcs;
  c[LP_SOFA_CNS] = isnan(g) ? -1 : g < 6 ? 4 : g < 10 ? 3 : g < 13 ? 2 : g < 15 ? 1 : 0;
  /* Renal: the worse of creatinine and urine output. */
  double cr = in->creatinine, u = in->urine_ml;
  int rc = isnan(cr) ? -1 : cr >= 5 ? 4 : cr >= 3.5 ? 3 : cr >= 2 ? 2 : cr >= 1.2 ? 1 : 0;
  int ru = isnan(u) ? -1 : u < 200 ? 4 : u < 500 ? 3 : 0;
  c[LP_SOFA_RENAL] = rc > ru ? rc : ru;
  out->total = 0;
  for (int k = 0; k < LP_SOFA_NCOMP; k++) {
    if (k == LP_SOFA_CNS && systems == 5) continue;
    if (c[k] < 0) out->missing |= 1u << k;
    else
      out->total += c[k];
  }
  if (out->missing) out->total = -1;
  return LP_OK;
}

static const char *const rule_names[] = {"locf", "zero", "complete"};

const char *lp_missing_rule_name(lp_missing_rule r) { return (unsigned)r < 3 ? rule_names[r] : "unknown"; }

lp_status lp_missing_rule_parse(const char *s, lp_missing_rule *out, lp_error *err) {
  int i;
  lp_status st = lp_name_lookup(s, rule_names, 3, "missing-data rule", &i, err);
  if (!st) *out = (lp_missing_rule)i;
  return st;
}

lp_status lp_sofa_mean_daily(const lp_sofa *days, size_t n, lp_missing_rule rule, lp_sofa_mean *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  out->rule = rule;
  if (n == 0) return lp_error_set(err, LP_EDATA, "no ICU day to average");
  if ((unsigned)rule > 2) return lp_error_set(err, LP_EINVAL, "unknown missing-data rule");
  int systems = days[0].systems;
  double sum[LP_SOFA_NCOMP] = {0};
  size_t used = 0;
  for (int k = 0; k < LP_SOFA_NCOMP; k++) {
    out->component[k] = NAN;
    if (k == LP_SOFA_CNS && systems == 5) continue;
    if (rule == LP_MISSING_COMPLETE) continue;
    /* First observed value, for a gap at the start (LOCF). */
    int first = -1;
    for (size_t d = 0; d < n && first < 0; d++) first = days[d].component[k];
    int last = first < 0 ? 0 : first;
    double s = 0;
    for (size_t d = 0; d < n; d++) {
      int v = days[d].component[k];
      if (v < 0) {
        v = rule == LP_MISSING_LOCF ? last : 0;
        out->filled++;
      }
      last = v;
      s += v;
    }
    sum[k] = s;
    out->component[k] = s / (double)n;
  }
  if (rule == LP_MISSING_COMPLETE) {
    for (size_t d = 0; d < n; d++) {
      if (days[d].missing) continue;
      used++;
      for (int k = 0; k < LP_SOFA_NCOMP; k++)
        if (!(k == LP_SOFA_CNS && systems == 5)) sum[k] += days[d].component[k];
    }
    if (used == 0) return lp_error_set(err, LP_EDATA, "no day has every component observed");
    for (int k = 0; k < LP_SOFA_NCOMP; k++)
      if (!(k == LP_SOFA_CNS && systems == 5)) out->component[k] = sum[k] / (double)used;
    out->days = used;
  } else {
    out->days = n;
  }
  double total = 0;
  for (int k = 0; k < LP_SOFA_NCOMP; k++)
    if (!(k == LP_SOFA_CNS && systems == 5)) total += out->component[k];
  out->mean = total;
  return LP_OK;
}
