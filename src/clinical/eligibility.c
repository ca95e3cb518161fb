/* The trial's inclusion and exclusion criteria (clinical.md, "Eligibility"), every
 * criterion not met listed by a stable id, as the screening log and Figure 1 count them. */
#include <leopards/clinical.h>

#include <math.h>
#include <string.h>

void lp_eligibility_input_init(lp_eligibility_input *in) {
  in->age = in->temperature = in->heart_rate = in->resp_rate = in->paco2_kpa = in->wbc = NAN;
  in->vasopressor_hours = in->hours_since_criteria = in->weight = NAN;
  in->infection = in->ventilated = -1;
  in->esrf_dialysis = in->torsades_history = in->child_pugh_c = in->ventricular_obstruction = -1;
  in->treatment_limitation = in->pregnant = in->levosimendan_30d = in->levosimendan_hypersensitivity = -1;
  in->other_trial = -1;
}

static lp_status range(double v, double lo, double hi, const char *field, lp_error *err) {
  if (isnan(v) || (v >= lo && v <= hi)) return LP_OK;
  return lp_error_at(err, LP_ERANGE, NULL, 0, field, "%g is outside the plausible range %g to %g", v, lo, hi);
}

static void fail(lp_eligibility *o, const char *id) {
  if (o->nfailed < LP_ELIG_MAX_FAILED) o->failed[o->nfailed++] = id;
}

lp_status lp_eligibility_check(const lp_eligibility_input *in, lp_eligibility *out, lp_error *err) {
  lp_status st;
  if ((st = range(in->age, 0, 120, "age", err)) || (st = range(in->temperature, 25, 45, "temperature", err)) ||
      (st = range(in->heart_rate, 0, 300, "heart_rate", err)) || (st = range(in->resp_rate, 0, 80, "resp_rate", err)) ||
      (st = range(in->paco2_kpa, 0.5, 20, "paco2_kpa", err)) || (st = range(in->wbc, 0, 500, "wbc", err)) ||
      (st = range(in->vasopressor_hours, 0, 1000, "vasopressor_hours", err)) ||
      (st = range(in->hours_since_criteria, 0, 1000, "hours_since_criteria", err)) ||
      (st = range(in->weight, 0.5, 500, "weight", err)))
    return st;
  memset(out, 0, sizeof *out);
  /* Inclusion. */
  if (isnan(in->age)) fail(out, "age:missing");
  else if (in->age < 18) fail(out, "age");
  if (in->infection < 0) fail(out, "infection:missing");
  else if (in->infection != 1) fail(out, "infection");
  int met = 0, unknown = 0;
  if (isnan(in->temperature)) unknown++;
  else met += in->temperature > 38 || in->temperature < 36;
  if (isnan(in->heart_rate)) unknown++;
  else met += in->heart_rate > 90;
  /* Respiratory: rate > 20, or PaCO2 < 4.3 kPa, or mechanical ventilation. */
  bool resp_met = (!isnan(in->resp_rate) && in->resp_rate > 20) || (!isnan(in->paco2_kpa) && in->paco2_kpa < 4.3) ||
                  in->ventilated == 1;
  bool resp_known = resp_met || (!isnan(in->resp_rate) && !isnan(in->paco2_kpa) && in->ventilated >= 0);
  if (resp_met) met++;
  else if (!resp_known) unknown++;
  if (isnan(in->wbc)) unknown++;
  else met += in->wbc > 12 || in->wbc < 4;
  out->sirs_count = met;
  if (met < 2) fail(out, met + unknown >= 2 ? "sirs:missing" : "sirs");
  if (isnan(in->vasopressor_hours)) fail(out, "vasopressor:missing");
  else if (in->vasopressor_hours < 4) fail(out, "vasopressor");
  /* Exclusion. */
  if (isnan(in->hours_since_criteria)) fail(out, "window_24h:missing");
  else if (in->hours_since_criteria > 24) fail(out, "window_24h");
  const struct {
    int v;
    const char *id, *missing;
  } flags[] = {{in->esrf_dialysis, "esrf", "esrf:missing"},
               {in->torsades_history, "torsades", "torsades:missing"},
               {in->child_pugh_c, "hepatic", "hepatic:missing"},
               {in->ventricular_obstruction, "obstruction", "obstruction:missing"},
               {in->treatment_limitation, "treatment_limitation", "treatment_limitation:missing"}};
  for (size_t i = 0; i < 5; i++) {
    if (flags[i].v < 0) fail(out, flags[i].missing);
    else if (flags[i].v == 1) fail(out, flags[i].id);
  }
  if (isnan(in->weight)) fail(out, "weight:missing");
  else if (in->weight > 135) fail(out, "weight");
  const struct {
    int v;
    const char *id, *missing;
  } more[] = {{in->pregnant, "pregnancy", "pregnancy:missing"},
              {in->levosimendan_30d, "levosimendan_30d", "levosimendan_30d:missing"},
              {in->levosimendan_hypersensitivity, "hypersensitivity", "hypersensitivity:missing"},
              {in->other_trial, "other_trial", "other_trial:missing"}};
  for (size_t i = 0; i < 4; i++) {
    if (more[i].v < 0) fail(out, more[i].missing);
    else if (more[i].v == 1) fail(out, more[i].id);
  }
  out->eligible = out->nfailed == 0;
  return LP_OK;
}
