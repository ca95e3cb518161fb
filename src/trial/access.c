/* Who may do what at which site: one table of roles by actions, asked by the command
 * line and by every request of the web service, so that both give the same answer. */
#include <string.h>

#include <leopards/account.h>

static const char *const action_names[LP_DO_COUNT] = {"screen patients",     "randomise patients",
                                                      "see patients",        "see the trial's status",
                                                      "see the audit trail", "unblind a patient",
                                                      "manage users",        "manage sites",
                                                      "lock the database",   "see or extend the randomisation list",
                                                      "run reports",         "record consent",
                                                      "record patient data", "raise data queries",
                                                      "answer data queries", "close or re-open data queries",
                                                      "verify source data",  "sign casebooks"};

const char *lp_action_name(lp_action a) { return (unsigned)a < LP_DO_COUNT ? action_names[a] : "?"; }

static const char *article(lp_role r) { return r == LP_ROLE_INVESTIGATOR ? "an" : "a"; }

#define B(a) (1u << (a))
/* Actions of each role (index: lp_role). Site-bound users act at their own site only. */
static const unsigned role_actions[4] = {
    /* investigator */ B(LP_DO_SCREEN) | B(LP_DO_RANDOMISE) | B(LP_DO_VIEW_PATIENT) | B(LP_DO_VIEW_STATUS) |
        B(LP_DO_VIEW_AUDIT) | B(LP_DO_UNBLIND) | B(LP_DO_CONSENT) | B(LP_DO_RECORD) | B(LP_DO_QUERY_ANSWER) |
        B(LP_DO_SIGN),
    /* manager */ B(LP_DO_VIEW_PATIENT) | B(LP_DO_VIEW_STATUS) | B(LP_DO_VIEW_AUDIT) | B(LP_DO_UNBLIND) |
        B(LP_DO_MANAGE_USERS) | B(LP_DO_MANAGE_SITES) | B(LP_DO_LOCK) | B(LP_DO_RECORD) | B(LP_DO_QUERY_RAISE) |
        B(LP_DO_QUERY_CLOSE),
    /* statistician */ B(LP_DO_LIST) | B(LP_DO_UNBLIND) | B(LP_DO_LOCK) | B(LP_DO_REPORTS),
    /* monitor */ B(LP_DO_VIEW_PATIENT) | B(LP_DO_VIEW_STATUS) | B(LP_DO_VIEW_AUDIT) | B(LP_DO_QUERY_RAISE) |
        B(LP_DO_QUERY_CLOSE) | B(LP_DO_VERIFY)};
#undef B

bool lp_access_role_has(lp_role role, lp_action what) {
  return (unsigned)role <= LP_ROLE_MONITOR && (unsigned)what < LP_DO_COUNT && (role_actions[role] & (1u << what));
}

lp_status lp_access_check(lp_role role, const char *own_site, lp_action what, const char *target_site, lp_error *err) {
  if ((unsigned)role > LP_ROLE_MONITOR || (unsigned)what >= LP_DO_COUNT)
    return lp_error_set(err, LP_EDENIED, "unknown role or action");
  if (!(role_actions[role] & (1u << what)))
    return lp_error_set(err, LP_EDENIED, "%s %s may not %s", article(role), lp_role_name(role), lp_action_name(what));
  bool site_bound = role == LP_ROLE_INVESTIGATOR || (role == LP_ROLE_MONITOR && own_site && *own_site);
  if (!site_bound) return LP_OK;
  if (!own_site || !*own_site)
    return lp_error_set(err, LP_EDENIED, "this %s belongs to no site and may not %s", lp_role_name(role),
                        lp_action_name(what));
  if (!target_site || !*target_site)
    return lp_error_set(err, LP_EDENIED, "%s %s of site %s may not %s at every site", article(role), lp_role_name(role),
                        own_site, lp_action_name(what));
  if (strcmp(target_site, own_site))
    return lp_error_set(err, LP_EDENIED, "%s %s of site %s may not %s at site %s", article(role), lp_role_name(role),
                        own_site, lp_action_name(what), target_site);
  return LP_OK;
}
