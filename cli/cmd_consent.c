/* leopards consent commands: record consent (the consent before randomisation and the
 * retrospective consent owed after a representative's) and the trial's consent
 * settings. The fields are the consent form's (leopards/forms.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <leopards/forms.h>
#include <leopards/trial.h>

#include "cli.h"
#include "cmd_trial.h"

/* Options named after the form's fields (consent_by as --consent-by). */
static const cli_opt consent_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"patient", "CODE", "patient code (as screened)"},
    {"kind", "initial|retrospective", "the consent before randomisation (default) or the retrospective one"},
    {"consent-by", "WHO", "patient, personal_representative or professional_representative"},
    {"decision", "D", "given (default), or for a retrospective consent refused, died, never_regained_capacity"},
    {"consented-at", "TIME", "date and time of the consent, YYYY-MM-DDTHH:MM (UTC)"},
    {"taken-by", "NAME", "who took the consent"},
    {"form-version", "V", "version of the consent form"},
    {"notes", "TEXT", "free-text notes"},
    {"json-in", "JSON", "the consent as a JSON object of the fields below (instead of the options)"},
    {"reason", "TEXT",
     "correct the patient's recorded consent of this kind (the fields given replace the saved ones), for this "
     "reason"},
    {"user", "NAME", "investigator of the patient's site (a correction: or a trial manager)"},
    {"json", NULL, "print JSON"},
    {0}};

static const char *const field_opts[][2] = {{"patient", "patient"},           {"kind", "kind"},
                                            {"consent_by", "consent-by"},     {"decision", "decision"},
                                            {"consented_at", "consented-at"}, {"taken_by", "taken-by"},
                                            {"form_version", "form-version"}, {"notes", "notes"}};

static int run_consent(const cli_args *a) {
  const char *user, *jin = cli_str(a, "json-in");
  int rc;
  if ((rc = cli_require(a, "user", &user))) return rc;
  json_t *o = json_object();
  for (size_t i = 0; i < sizeof field_opts / sizeof field_opts[0]; i++) {
    const char *v = cli_str(a, field_opts[i][1]);
    if (v && jin) {
      json_decref(o);
      return cli_usage_error(a, "give the consent either as --json-in or as options, not both (--%s)",
                             field_opts[i][1]);
    }
    if (v) json_object_set_new(o, field_opts[i][0], json_string(v));
  }
  char *text = jin ? NULL : json_dumps(o, JSON_COMPACT);
  json_decref(o);
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) {
    free(text);
    return rc;
  }
  lp_error err;
  lp_consent_result r;
  const char *reason = cli_str(a, "reason"), *src = jin ? "--json-in" : "options";
  lp_status s = reason ? lp_consent_correct(t, jin ? jin : text, src, user, reason, &r, &err)
                       : lp_consent_record(t, jin ? jin : text, src, user, &r, &err);
  lp_trial_close(t);
  free(text);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s, s:b, s:s?}", "id", (json_int_t)r.id, "patient",
                                    r.patient, "site", r.site, "kind", r.kind, "consent_by",
                                    r.consent_by[0] ? r.consent_by : NULL, "decision", r.decision, "retrospective_due",
                                    r.retrospective_due, "applied", r.applied[0] ? r.applied : NULL));
  printf("patient %s (site %s): %s consent %s: %s%s%s\n", r.patient, r.site, r.kind, reason ? "corrected" : "recorded",
         r.decision, r.consent_by[0] ? " by " : "", r.consent_by);
  if (r.retrospective_due && !reason)
    printf("the patient owes retrospective consent once capacity is regained (see leopards status)\n");
  if (r.applied[0]) printf("%s: %s\n", reason ? "note" : "refusal", r.applied);
  return CLI_OK;
}

static const cli_opt settings_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"required", "yes|no", "consent required before randomisation (default in a new trial: yes)"},
    {"refusal", "withdraw|keep",
     "a refused retrospective consent: withdraw (default; data kept, excluded from the "
     "analyses) or keep the patient in"},
    {"reason", "TEXT", "why the settings change (required for a change)"},
    {"user", "NAME", "trial manager (for a change)"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_settings(const cli_args *a) {
  static const char *const yn[] = {"no", "yes", NULL}, *const rules[] = {"keep", "withdraw", NULL};
  int req = -1, rule = -1, rc;
  if (cli_has(a, "required") && (rc = cli_choice(a, "required", yn, &req))) return rc;
  if (cli_has(a, "refusal") && (rc = cli_choice(a, "refusal", rules, &rule))) return rc;
  bool change = req >= 0 || rule >= 0;
  const char *user = NULL, *reason = NULL;
  if (change && ((rc = cli_require(a, "user", &user)) || (rc = cli_require(a, "reason", &reason)))) return rc;
  lp_trial *t;
  if ((rc = change ? cli_trial_open(a, &t) : cli_trial_open_readonly(a, &t))) return rc;
  lp_error err;
  lp_consent_policy p;
  lp_status s = lp_consent_policy_get(t, &p, &err);
  if (!s && change) {
    if (req >= 0) p.required = req == 1;
    if (rule >= 0) p.refusal_withdraws = rule == 1;
    s = lp_consent_policy_set(t, &p, user, reason, &err);
  }
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(
        json_pack("{s:b, s:s}", "required", p.required, "refusal", p.refusal_withdraws ? "withdraw" : "keep"));
  printf("consent required before randomisation: %s\n", p.required ? "yes" : "no");
  printf("a refused retrospective consent: %s\n",
         p.refusal_withdraws ? "withdraw (data kept, excluded from the analyses)" : "keep the patient in the analyses");
  return CLI_OK;
}

static char consent_usage[6144];

const cli_cmd cli_consent_cmds[] = {
    {"record consent", "record a patient's informed consent (before randomisation) or retrospective consent",
     consent_opts, consent_usage, run_consent},
    {"consent settings", "show or change whether consent is required and what a refused retrospective consent does",
     settings_opts, NULL, run_settings},
};
const size_t cli_consent_ncmds = sizeof cli_consent_cmds / sizeof cli_consent_cmds[0];

__attribute__((constructor)) static void fill_consent_usage(void) {
  char f[4000];
  lp_form_help(lp_form_get(LP_FORM_CONSENT), f, sizeof f);
  snprintf(consent_usage, sizeof consent_usage,
           "fields (JSON keys; as options with '-' for '_'):\n%s\n"
           "Randomisation is refused without an initial consent while the trial requires it\n"
           "(every new trial does: see 'leopards consent settings'). After a personal or\n"
           "professional legal representative's consent the patient owes retrospective consent\n"
           "(kind retrospective: given, refused, died or never_regained_capacity), listed by\n"
           "'leopards status' until it is recorded.\n\n"
           "A recorded consent is corrected with --reason (an investigator of the site or a\n"
           "trial manager): the fields given replace the saved ones, audited with the old and\n"
           "new values; a randomised patient's consent stays before the randomisation.\n\n"
           "examples:\n"
           "  leopards record consent --db trial.db --patient P001 --consent-by personal_representative \\\n"
           "      --consented-at 2026-03-01T09:30 --taken-by 'Dr Jones' --form-version 3.1 --user bob\n"
           "  leopards record consent --db trial.db --patient P001 --kind retrospective --decision given \\\n"
           "      --consented-at 2026-03-05T14:00 --taken-by 'Dr Jones' --form-version 3.1 --user bob\n"
           "  leopards record consent --db trial.db --patient P001 --form-version 3.2 \\\n"
           "      --reason 'form version misread' --user bob",
           f);
}
