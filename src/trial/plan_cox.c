/* Time-to-event rows of a plan: Kaplan-Meier curves per arm and the adjusted,
 * ICU-clustered Cox hazard ratio. */
#include "trial/plan_run.h"

lp_status lp__run_cox(lp__run *x, const lp_plan_row *r, lp_result *res) {
  (void)res;
  return lp__plan_error(x, r, "kind", LP_EUNSUPPORTED, "cox analyses are not available in this build yet");
}
