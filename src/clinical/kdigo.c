/* KDIGO 2012 acute kidney injury stage from serum creatinine against baseline and
 * renal-replacement therapy (urine-output criteria not used, as in the trial), and
 * the paper's kidney outcomes built on it. */
#include <leopards/clinical.h>

#include <math.h>

lp_status lp_kdigo_stage(double creatinine, double baseline, double rise48, bool rrt, int *stage, lp_error *err) {
  if (rrt) {
    *stage = 3;
    return LP_OK;
  }
  if (!(creatinine > 0 && creatinine <= 30))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "creatinine", "%g is outside 0 to 30 mg/dL", creatinine);
  if (!(baseline > 0 && baseline <= 30))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "baseline", "%g is outside 0 to 30 mg/dL", baseline);
  if (!isnan(rise48) && !(rise48 >= -30 && rise48 <= 30))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "rise48", "%g is not a plausible 48-hour change", rise48);
  /* The ratio is compared with a relative tolerance of 1e-9, so that 3.3 against 1.1
   * (2.9999999999999996 in binary) is the 3.0 x it is on paper. */
  double ratio = creatinine / baseline * (1 + 1e-9);
  if (ratio >= 3.0 || creatinine >= 4.0) *stage = 3;
  else if (ratio >= 2.0)
    *stage = 2;
  else if (ratio >= 1.5 || (!isnan(rise48) && rise48 >= 0.3 - 1e-12))
    *stage = 1;
  else
    *stage = 0;
  return LP_OK;
}

lp_status lp_kdigo_estimated_baseline(double age, bool female, bool black, double *creatinine, lp_error *err) {
  if (!(age >= 18 && age <= 120))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "age", "%g is outside 18 to 120 years", age);
  /* 75 = 186 x SCr^-1.154 x age^-0.203 x sex x race, solved for SCr. */
  double k = 186.0 * pow(age, -0.203) * (female ? 0.742 : 1.0) * (black ? 1.210 : 1.0);
  *creatinine = pow(k / 75.0, 1.0 / 1.154);
  return LP_OK;
}

static const char *const reference_names[] = {"estimated", "recorded"};

const char *lp_kidney_reference_name(lp_kidney_reference r) { return (unsigned)r < 2 ? reference_names[r] : "unknown"; }

lp_status lp_kidney_reference_parse(const char *s, lp_kidney_reference *out, lp_error *err) {
  int i;
  lp_status st = lp_name_lookup(s, reference_names, 2, "kidney reference", &i, err);
  if (!st) *out = (lp_kidney_reference)i;
  return st;
}

void lp_kidney_outcome_compute(int stage_at_end, bool died28, bool new_rrt, lp_kidney_outcome *out) {
  out->sustained_renal_failure = stage_at_end < 0 ? -1 : stage_at_end >= 2;
  if (died28 || new_rrt || out->sustained_renal_failure == 1) out->major_kidney_event = 1;
  else
    out->major_kidney_event = out->sustained_renal_failure < 0 ? -1 : 0;
}
