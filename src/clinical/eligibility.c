/* The trial's inclusion and exclusion criteria (clinical.md, "Eligibility"), every
 * criterion not met listed by a stable id, as the screening log and Figure 1 count
 * them. A criterion on one field is named by that field; SIRS, on several, is
 * "sirs". Ids of earlier versions (esrf, hepatic, ...) are mapped to these. */
#include <leopards/clinical.h>

#include <math.h>
#include <stdio.h>
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
  return lp_error_at_json(err, LP_ERANGE, NULL, field, "%g is outside the plausible range %g to %g", v, lo, hi);
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
      (st = range(in->weight, 0.5, 500, "weight_kg", err)))
    return st;
  memset(out, 0, sizeof *out);
  /* Inclusion. */
  if (isnan(in->age)) fail(out, "age:missing");
  else if (in->age < 18)
    fail(out, "age");
  if (in->infection < 0) fail(out, "infection:missing");
  else if (in->infection != 1)
    fail(out, "infection");
  int met = 0, unknown = 0;
  if (isnan(in->temperature)) unknown++;
  else
    met += in->temperature > 38 || in->temperature < 36;
  if (isnan(in->heart_rate)) unknown++;
  else
    met += in->heart_rate > 90;
  /* Respiratory: rate > 20, or PaCO2 < 4.3 kPa, or mechanical ventilation. */
  bool resp_met = (!isnan(in->resp_rate) && in->resp_rate > 20) || (!isnan(in->paco2_kpa) && in->paco2_kpa < 4.3) ||
                  in->ventilated == 1;
  bool resp_known = resp_met || (!isnan(in->resp_rate) && !isnan(in->paco2_kpa) && in->ventilated >= 0);
  if (resp_met) met++;
  else if (!resp_known)
    unknown++;
  if (isnan(in->wbc)) unknown++;
  else
    met += in->wbc > 12 || in->wbc < 4;
  out->sirs_count = met;
  if (met < 2) fail(out, met + unknown >= 2 ? "sirs:missing" : "sirs");
  if (isnan(in->vasopressor_hours)) fail(out, "vasopressor_hours:missing");
  else if (in->vasopressor_hours < 4)
    fail(out, "vasopressor_hours");
  /* Exclusion. */
  if (isnan(in->hours_since_criteria)) fail(out, "hours_since_criteria:missing");
  else if (in->hours_since_criteria > 24)
    fail(out, "hours_since_criteria");
  const struct {
    int v;
    const char *id, *missing;
  } flags[] = {{in->esrf_dialysis, "esrf_dialysis", "esrf_dialysis:missing"},
               {in->torsades_history, "torsades_history", "torsades_history:missing"},
               {in->child_pugh_c, "child_pugh_c", "child_pugh_c:missing"},
               {in->ventricular_obstruction, "ventricular_obstruction", "ventricular_obstruction:missing"},
               {in->treatment_limitation, "treatment_limitation", "treatment_limitation:missing"}};
  for (size_t i = 0; i < 5; i++) {
    if (flags[i].v < 0) fail(out, flags[i].missing);
    else if (flags[i].v == 1)
      fail(out, flags[i].id);
  }
  if (isnan(in->weight)) fail(out, "weight_kg:missing");
  else if (in->weight > 135)
    fail(out, "weight_kg");
  const struct {
    int v;
    const char *id, *missing;
  } more[] = {
      {in->pregnant, "pregnant", "pregnant:missing"},
      {in->levosimendan_30d, "levosimendan_30d", "levosimendan_30d:missing"},
      {in->levosimendan_hypersensitivity, "levosimendan_hypersensitivity", "levosimendan_hypersensitivity:missing"},
      {in->other_trial, "other_trial", "other_trial:missing"}};
  for (size_t i = 0; i < 4; i++) {
    if (more[i].v < 0) fail(out, more[i].missing);
    else if (more[i].v == 1)
      fail(out, more[i].id);
  }
  out->eligible = out->nfailed == 0;
  return LP_OK;
}

/* Ids before criteria were named by their fields. */
static const struct {
  const char *old, *now;
} renamed[] = {{"vasopressor", "vasopressor_hours"},
               {"window_24h", "hours_since_criteria"},
               {"esrf", "esrf_dialysis"},
               {"torsades", "torsades_history"},
               {"hepatic", "child_pugh_c"},
               {"obstruction", "ventricular_obstruction"},
               {"pregnancy", "pregnant"},
               {"hypersensitivity", "levosimendan_hypersensitivity"},
               {"weight", "weight_kg"}};

void lp_eligibility_codes_current(const char *codes, char *out, size_t n) {
  size_t k = 0;
  if (n == 0) return;
  out[0] = '\0';
  const char *p = codes ? codes : "";
  while (*p) {
    size_t len = strcspn(p, ",");
    size_t base = len;
    for (size_t i = 0; i < len; i++)
      if (p[i] == ':') {
        base = i;
        break;
      }
    const char *name = p;
    size_t name_len = base;
    for (size_t r = 0; r < sizeof renamed / sizeof renamed[0]; r++)
      if (strlen(renamed[r].old) == base && !strncmp(p, renamed[r].old, base)) {
        name = renamed[r].now;
        name_len = strlen(name);
      }
    int w = snprintf(out + k, n - k, "%s%.*s%.*s", k ? "," : "", (int)name_len, name, (int)(len - base), p + base);
    if (w < 0 || (size_t)w >= n - k) return; /* cut at the buffer's end */
    k += (size_t)w;
    p += len;
    if (*p == ',') p++;
  }
}
