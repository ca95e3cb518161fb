/* The patient model without the store: whole simulated trials in memory, for
 * design studies (power, type I error, coverage) and for checking calibration. */
#include <leopards/rng.h>
#include <leopards/sim.h>

#include <string.h>

#include "sim/model.h"

static const char *const effect_names[] = {"paper", "none", "design"};

const char *lp_sim_effect_name(lp_sim_effect e) { return (unsigned)e < 3 ? effect_names[e] : "unknown"; }

lp_status lp_sim_effect_parse(const char *s, lp_sim_effect *out, lp_error *err) {
  int i;
  lp_status st = lp_name_lookup(s, effect_names, 3, "effect", &i, err);
  if (!st) *out = (lp_sim_effect)i;
  return st;
}

lp_status lp_sim_patients(uint64_t seed, uint64_t trial, lp_sim_effect effect, double difference, size_t n,
                          lp_sim_outcomes *out, lp_error *err) {
  sim_model m;
  lp_status st = lp__sim_model_init(&m, effect, difference, err);
  if (st) return st;
  if (n >= (1u << 21)) return lp_error_set(err, LP_EINVAL, "at most 2,097,151 simulated patients in one call");
  lp_rng r;
  /* Stream 2^40 + trial for the blocks: apart from the streams lp_sim_run uses. */
  lp_rng_seed(&r, seed, (1ULL << 40) + trial);
  int block[6];
  size_t left = 0;
  sim_patient p;
  for (size_t i = 0; i < n; i++) {
    if (left == 0) { /* permuted blocks of 4 and 6 */
      left = lp_rng_below(&r, 2) ? 6 : 4;
      for (size_t k = 0; k < left; k++) block[k] = (int)(k % 2);
      lp_rng_shuffle_int(&r, block, (uint32_t)left);
    }
    int arm = block[--left];
    /* Each patient from its own stream (as in lp_sim_run), so that a change to what one
     * patient draws leaves the others as they were. */
    lp_rng pr;
    lp_rng_seed(&pr, seed, (2ULL << 60) | (trial << 21) | (uint64_t)i);
    lp__sim_patient(&m, &pr, arm, &p);
    out[i].arm = arm;
    out[i].sofa_mean = lp__sim_sofa_mean(&p);
    out[i].death28 = p.death_day <= 28;
  }
  return LP_OK;
}
