/* Simulated trials: a trial file marked as simulated (the mark is audited and shown
 * in every report), where the simulator, playing nature, may read a patient's arm
 * with the key to generate that patient's course. A real trial refuses this. */
#include <string.h>

#include <sqlite3.h>

#include "trial/trial_internal.h"

lp_status lp_trial_mark_simulated(lp_trial *t, const char *user, lp_error *err) {
  lp_status s;
  if ((s = lp__begin(t, err))) return s;
  sqlite3_stmt *st;
  if ((s = lp__prepare(t, "SELECT count(*) FROM randomisations", &st, err))) {
    lp__rollback(t);
    return s;
  }
  long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : -1;
  lp__finalize(t, st);
  if (n != 0) {
    lp__rollback(t);
    return lp_error_set(err, LP_ESTATE, "%s: only a trial with no randomisations can be marked simulated", t->path);
  }
  if ((s = lp__meta_set(t, "simulated", "yes", user, "synthetic trial made by leopards simulate", err)) ||
      (s = lp__commit(t, err))) {
    lp__rollback(t);
    return s;
  }
  return LP_OK;
}

bool lp_trial_is_simulated(lp_trial *t) {
  char buf[16];
  bool found = false;
  if (lp__meta_get(t, "simulated", buf, sizeof buf, &found, NULL)) return false;
  return found && !strcmp(buf, "yes");
}

lp_status lp_trial_simulated_arm(lp_trial *t, const lp_trial_key *k, const char *patient, int *arm, lp_error *err) {
  if (!lp_trial_is_simulated(t))
    return lp_error_set(err, LP_EDENIED,
                        "%s: arms are read this way only in a simulated trial; "
                        "use emergency unblinding (leopards unblind) or lock the database",
                        t->path);
  lp_status s = lp__key_matches(t, k, err);
  if (s) return s;
  long site_id;
  return lp__patient_arm(t, k, patient, arm, &site_id, err);
}
