/* The study-drug infusion protocol as a state machine (start 0.1, 0.2 after 2-4 h,
 * step down on hypotension or severe tachycardia, end at 24 h), and the pump rate. */
#include <leopards/clinical.h>

#include <math.h>

static const char *const state_names[] = {"start", "full", "reduced", "low", "stopped", "completed"};
static const double doses[] = {0.1, 0.2, 0.1, 0.05, 0, 0};

const char *lp_infusion_state_name(lp_infusion_state s) {
  return (unsigned)s <= LP_INF_COMPLETED ? state_names[s] : "unknown";
}
double lp_infusion_dose(lp_infusion_state s) { return (unsigned)s <= LP_INF_COMPLETED ? doses[s] : NAN; }

/* The protocol's lower MAP target (65-70 mmHg): below 65 is hypotension. */

lp_status lp_infusion_next(lp_infusion_state state, const lp_infusion_observation *obs, lp_infusion_step *out,
                           lp_error *err) {
  if ((unsigned)state > LP_INF_COMPLETED) return lp_error_set(err, LP_EINVAL, "unknown infusion state");
  if (!(obs->hours >= 0 && obs->hours <= 72)) return lp_error_at(err, LP_ERANGE, NULL, 0, "hours", "must be 0 to 72");
  if (!isnan(obs->heart_rate) && !(obs->heart_rate >= 0 && obs->heart_rate <= 300))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "heart_rate", "%g is outside 0 to 300", obs->heart_rate);
  if (!isnan(obs->baseline_heart_rate) && !(obs->baseline_heart_rate >= 0 && obs->baseline_heart_rate <= 300))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "baseline_heart_rate", "%g is outside 0 to 300",
                       obs->baseline_heart_rate);
  if (!isnan(obs->map) && !(obs->map >= 10 && obs->map <= 300))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "map", "%g is outside 10 to 300", obs->map);
  if (obs->hypotension < 0 && isnan(obs->map))
    return lp_error_at(err, LP_EINVAL, NULL, 0, "map", "give the MAP or say whether there is hypotension");
  out->hypotension = obs->hypotension == 1 || (obs->hypotension < 0 && obs->map < LP_HYPOTENSION_MAP);
  /* Severe tachycardia: > 130/min, or a rise > 20% when already > 110/min. */
  double hr = obs->heart_rate, base = obs->baseline_heart_rate;
  out->severe_tachycardia = !isnan(hr) && (hr > 130 || (!isnan(base) && base > 110 && hr > 1.2 * base));
  bool side = out->hypotension || out->severe_tachycardia;
  lp_infusion_state next = state;
  lp_infusion_reason why = LP_INF_REASON_CONTINUE;
  if (state == LP_INF_STOPPED || state == LP_INF_COMPLETED) {
    why = state == LP_INF_STOPPED ? LP_INF_REASON_STOPPED : LP_INF_REASON_COMPLETED;
  } else if (obs->hours >= 24) {
    next = LP_INF_COMPLETED;
    why = LP_INF_REASON_COMPLETED;
  } else if (side) {
    next = state == LP_INF_FULL ? LP_INF_REDUCED : state == LP_INF_LOW ? LP_INF_STOPPED : LP_INF_LOW;
    why = out->hypotension ? LP_INF_REASON_HYPOTENSION : LP_INF_REASON_TACHYCARDIA;
  } else if (state == LP_INF_START && obs->hours >= 2) {
    next = LP_INF_FULL;
    why = LP_INF_REASON_STEP_UP;
  }
  static const char *const texts[] = {"continue at the current rate",
                                      "no rate-limiting side effects after 2 hours: increase to 0.2 ug/kg/min",
                                      "hypotension: reduce the rate",
                                      "severe tachycardia: reduce the rate",
                                      "24 hours completed: end of the infusion",
                                      "the infusion was stopped for side effects"};
  out->text = texts[why];
  if (next == LP_INF_STOPPED && state != LP_INF_STOPPED)
    out->text = why == LP_INF_REASON_HYPOTENSION ? "hypotension at 0.05 ug/kg/min: stop the infusion"
                                                 : "severe tachycardia at 0.05 ug/kg/min: stop the infusion";
  out->state = next;
  out->dose = doses[next];
  out->reason = why;
  return LP_OK;
}

lp_status lp_infusion_rate(double dose, double weight, double concentration, double *ml_per_hour, lp_error *err) {
  if (!(dose >= 0 && dose <= 0.2))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "dose", "%g is outside 0 to 0.2 ug/kg/min", dose);
  if (!(weight > 0 && weight <= 135))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "weight", "%g kg is outside the trial's range (above 0, at most 135)",
                       weight);
  if (!(concentration > 0 && concentration <= 1000))
    return lp_error_at(err, LP_ERANGE, NULL, 0, "concentration", "%g ug/mL is not a plausible dilution", concentration);
  *ml_per_hour = dose * weight * 60 / concentration;
  return LP_OK;
}
