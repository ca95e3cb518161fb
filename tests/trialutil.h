/* Helpers for the trial tests (header only, included after cmocka.h): a scratch
 * directory, a small trial with users, a key and a list, eligible screening inputs. */
#ifndef LEOPARDS_TRIALUTIL_H
#define LEOPARDS_TRIALUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leopards/trial.h>

/* Eligible inputs (every criterion assessed and met). */
#define TU_ELIGIBLE                                                                                     \
  "{\"age\":64,\"infection\":1,\"temperature\":38.6,\"heart_rate\":112,\"resp_rate\":24,"               \
  "\"wbc\":15.2,\"vasopressor_hours\":6,\"hours_since_criteria\":10,\"esrf_dialysis\":0,"               \
  "\"torsades_history\":0,\"child_pugh_c\":0,\"ventricular_obstruction\":0,\"treatment_limitation\":0," \
  "\"weight\":80,\"pregnant\":0,\"levosimendan_30d\":0,\"levosimendan_hypersensitivity\":0,"            \
  "\"other_trial\":0}"

#define TU_CHECK(call)                                                                   \
  do {                                                                                   \
    lp_error e_;                                                                         \
    lp_error_clear(&e_);                                                                 \
    lp_status s_ = (call);                                                               \
    if (s_ != LP_OK) fail_msg("%s failed: %s (%s)", #call, e_.message, lp_strerror(s_)); \
  } while (0)
/* TU_CHECK needs the call to use `&e_` as its error argument. */

static inline char *tu_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/leopards-test-XXXXXX", base && *base ? base : "/tmp");
  char *d = mkdtemp(tmpl);
  if (!d) fail_msg("mkdtemp failed");
  return strdup(d);
}

static inline void tu_rmrf(const char *dir) {
  char cmd[1100];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) print_error("could not remove %s\n", dir);
}

/* A trial with `nsites` sites S01.., manager "mgr", statistician "stat", an
 * investigator "invS01".. per site, a key at DIR/trial.key and a list. */
static inline lp_trial *tu_trial(const char *dir, int nsites, long per_site, lp_trial_key **key) {
  char db[600], kp[600];
  snprintf(db, sizeof db, "%s/trial.db", dir);
  snprintf(kp, sizeof kp, "%s/trial.key", dir);
  lp_site_def sites[64];
  char codes[64][8];
  for (int i = 0; i < nsites; i++) {
    snprintf(codes[i], sizeof codes[i], "S%02d", i + 1);
    sites[i].code = codes[i];
    sites[i].name = codes[i];
  }
  lp_trial *t;
  TU_CHECK(lp_trial_create(db, "leopards", sites, (size_t)nsites, "mgr", &t, &e_));
  TU_CHECK(lp_user_add(t, "mgr", "stat", LP_ROLE_STATISTICIAN, NULL, &e_));
  for (int i = 0; i < nsites; i++) {
    char u[32];
    snprintf(u, sizeof u, "inv%s", codes[i]);
    TU_CHECK(lp_user_add(t, "mgr", u, LP_ROLE_INVESTIGATOR, codes[i], &e_));
  }
  lp_trial_key *k;
  TU_CHECK(lp_key_create(t, kp, &k, &e_));
  lp_list_options o;
  lp_list_options_default(&o);
  o.per_site = per_site;
  lp_list_summary sum;
  TU_CHECK(lp_list_generate(t, k, &o, "stat", &sum, &e_));
  if (key) *key = k;
  else
    lp_key_free(k);
  return t;
}

/* The patient's own written consent, recorded by `user` (an investigator of the
 * patient's site) before randomisation, as every new trial requires (nothing when
 * the patient has a consent record already). */
static inline lp_status tu_consent(lp_trial *t, const char *patient, const char *user, lp_error *err) {
  char js[400];
  snprintf(js, sizeof js,
           "{\"patient\":\"%s\",\"consent_by\":\"patient\",\"consented_at\":\"2000-01-01T00:00\","
           "\"taken_by\":\"Dr Test\",\"form_version\":\"1.0\"}",
           patient);
  if (lp_trial_schema_version(t) < 6) return LP_OK; /* a file from before consent was tracked */
  lp_patient_view pv;
  if (lp_patient_get(t, patient, &pv, NULL) == LP_OK && pv.consent_by[0]) return LP_OK; /* recorded already */
  lp_consent_result r;
  return lp_consent_record(t, js, "test", user, &r, err);
}

#endif
