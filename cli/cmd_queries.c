/* leopards query list | open | answer | close | reopen, verify, sdv, sign: the data
 * query workflow, source data verification and casebook signatures from the command
 * line, with the same rules as the web pages (leopards/queries.h). A signature's
 * password is read from standard input, never from an argument. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <leopards/queries.h>
#include <sodium.h>

#include "cli.h"
#include "cmd_trial.h"

int cli_read_secret(const char *prompt, char *buf, size_t n) {
  bool tty = isatty(STDIN_FILENO);
  struct termios old, quiet;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    tcgetattr(STDIN_FILENO, &old);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  char *got = fgets(buf, (int)n, stdin);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    fputc('\n', stderr);
  }
  if (!got) return -1;
  buf[strcspn(buf, "\r\n")] = '\0';
  return 0;
}

/* The findings of a correction, as 'leopards record' prints them. */
static void print_findings(const lp_findings *fs) {
  for (size_t i = 0; i < fs->n; i++) {
    const lp_finding *f = &fs->items[i];
    char day[24] = "";
    if (f->day) snprintf(day, sizeof day, " day %d", f->day);
    fprintf(stderr, "leopards: %s: %s %s%s%s%s: %s\n", lp_finding_level_name(f->level), f->form, f->patient, day,
            f->field[0] ? ", " : "", f->field, f->text);
  }
}

static json_t *query_json(const lp_query *q) {
  json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)q->id,
                        "patient", q->patient, "site", q->site, "form", q->form, "day", q->day, "record",
                        (json_int_t)q->record, "field", q->field, "state", lp_query_state_name(q->state), "origin",
                        q->origin, "text", q->text, "opened_at", q->opened_at, "opened_by", q->opened_by);
  if (q->answered_at[0]) {
    json_object_set_new(o, "answer", json_string(q->answer));
    json_object_set_new(o, "answered_at", json_string(q->answered_at));
    json_object_set_new(o, "answered_by", json_string(q->answered_by));
  }
  if (q->new_value[0] || q->old_value[0]) {
    json_object_set_new(o, "old_value", json_string(q->old_value));
    json_object_set_new(o, "new_value", json_string(q->new_value));
  }
  if (q->closed_at[0]) {
    json_object_set_new(o, "closed_at", json_string(q->closed_at));
    json_object_set_new(o, "closed_by", json_string(q->closed_by));
  }
  json_object_set_new(o, "reopened", json_integer(q->reopened));
  if (q->reopen_text[0]) json_object_set_new(o, "reopen_text", json_string(q->reopen_text));
  return o;
}

static void where_words(const char *form, int day, long record, char *buf, size_t n) {
  if (day) snprintf(buf, n, "%s day %d", form, day);
  else if (record)
    snprintf(buf, n, "%s record %ld", form, record);
  else
    snprintf(buf, n, "%s", form);
}

/* ---- query list ---- */

static const cli_opt list_opts[] = {{"db", "FILE", "trial database"},
                                    {"site", "S", "only this site's queries"},
                                    {"patient", "P", "only this patient's queries"},
                                    {"state", "open|answered|closed", "only queries in this state"},
                                    {"json", NULL, "print JSON"},
                                    {0}};

static int run_list(const cli_args *a) {
  lp_query_filter f = {.site = cli_str(a, "site"), .patient = cli_str(a, "patient"), .state = -1};
  lp_error err;
  if (cli_str(a, "state")) {
    lp_query_state st;
    if (lp_query_state_parse(cli_str(a, "state"), &st, &err)) return cli_usage_error(a, "%s", err.message);
    f.state = (int)st;
  }
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open_readonly(a, &t))) return rc;
  lp_query *q;
  size_t n;
  lp_status s = lp_query_list(t, &f, &q, &n, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, query_json(&q[i]));
    free(q);
    return cli_print_json(arr);
  }
  if (!n) printf("no queries\n");
  for (size_t i = 0; i < n; i++) {
    char where[64];
    where_words(q[i].form, q[i].day, q[i].record, where, sizeof where);
    printf("query %ld [%s] %s (site %s), %s, %s: %s\n", q[i].id, lp_query_state_name(q[i].state), q[i].patient,
           q[i].site, where, q[i].field, q[i].text);
    printf("    opened %s by %s%s\n", q[i].opened_at, q[i].opened_by,
           strcmp(q[i].origin, "check") ? "" : " (raised by an edit check)");
    if (q[i].answered_at[0]) {
      printf("    answered %s by %s: %s", q[i].answered_at, q[i].answered_by, q[i].answer);
      if (q[i].new_value[0] || q[i].old_value[0])
        printf(" (value changed from '%s' to '%s')", q[i].old_value, q[i].new_value);
      printf("\n");
    }
    if (q[i].reopened)
      printf("    re-opened %ld time%s%s%s\n", q[i].reopened, q[i].reopened == 1 ? "" : "s",
             q[i].reopen_text[0] ? ": " : "", q[i].reopen_text);
    if (q[i].closed_at[0]) printf("    closed %s by %s\n", q[i].closed_at, q[i].closed_by);
  }
  free(q);
  return CLI_OK;
}

/* ---- query open ---- */

static const cli_opt open_opts[] = {{"db", "FILE", "trial database"},
                                    CLI_AUDIT_KEY_OPT,
                                    {"patient", "P", "patient code"},
                                    {"form", "KIND", "baseline, daily, infusion, outcome or ae"},
                                    {"day", "D", "the daily form's day"},
                                    {"record", "ID", "the infusion event or adverse event (its record id)"},
                                    {"field", "NAME", "the field queried"},
                                    {"text", "TEXT", "the question to the site"},
                                    {"user", "NAME", "monitor or trial manager"},
                                    {"json", NULL, "print JSON"},
                                    {0}};

static int run_open(const cli_args *a) {
  const char *patient, *form, *field, *text, *user;
  long day = 0, record = 0;
  int rc;
  if ((rc = cli_require(a, "patient", &patient)) || (rc = cli_require(a, "form", &form)) ||
      (rc = cli_require(a, "field", &field)) || (rc = cli_require(a, "text", &text)) ||
      (rc = cli_require(a, "user", &user)) || (rc = cli_long(a, "day", 1, 28, &day)) ||
      (rc = cli_long(a, "record", 1, 1000000000000L, &record)))
    return rc;
  lp_record_kind kind;
  lp_error err;
  if (lp_record_kind_parse(form, &kind, &err)) return cli_usage_error(a, "%s", err.message);
  if (kind == LP_RECORD_DAILY && !day) return cli_usage_error(a, "a query on the daily form needs --day");
  if ((kind == LP_RECORD_AE || kind == LP_RECORD_INFUSION) && !record)
    return cli_usage_error(a, "a query on the %s form needs --record (the record id)", form);
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  long id = 0;
  lp_status s = lp_query_open(t, patient, kind, (int)day, record, field, text, user, &id, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "open"));
  printf("query %ld opened on %s %s, %s\n", id, patient, form, field);
  return CLI_OK;
}

/* ---- query answer ---- */

static const cli_opt answer_opts[] = {{"db", "FILE", "trial database"},
                                      CLI_AUDIT_KEY_OPT,
                                      {"id", "N", "query id (see 'leopards query list')"},
                                      {"text", "TEXT", "the answer: what was checked, or why the value stands"},
                                      {"value", "V", "the corrected value (an empty one clears the field)"},
                                      {"reason", "R", "reason for the change (required with --value)"},
                                      {"user", "NAME", "investigator of the patient's site"},
                                      {"json", NULL, "print JSON"},
                                      {0}};

static int run_answer(const cli_args *a) {
  const char *text, *user, *value = cli_str(a, "value"), *reason = cli_str(a, "reason");
  long id = 0;
  int rc;
  if ((rc = cli_long(a, "id", 1, 1000000000000L, &id)) || (rc = cli_require(a, "text", &text)) ||
      (rc = cli_require(a, "user", &user)))
    return rc;
  if (!id) return cli_usage_error(a, "option --id is required");
  if (value && !reason) return cli_usage_error(a, "a corrected value (--value) needs --reason");
  if (!value && reason) return cli_usage_error(a, "--reason goes with a corrected value (--value)");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_findings fs = {0};
  lp_error err;
  lp_status s = lp_query_answer(t, id, text, value, reason, user, &fs, &err);
  lp_trial_close(t);
  print_findings(&fs);
  lp_findings_clear(&fs);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(
        json_pack("{s:I, s:s, s:b}", "id", (json_int_t)id, "state", "answered", "corrected", value != NULL));
  printf("query %ld answered%s\n", id, value ? " with a corrected value" : "");
  return CLI_OK;
}

/* ---- query close / reopen ---- */

static const cli_opt move_opts[] = {{"db", "FILE", "trial database"},
                                    CLI_AUDIT_KEY_OPT,
                                    {"id", "N", "query id"},
                                    {"text", "TEXT", "a note (to re-open: why the answer does not do)"},
                                    {"user", "NAME", "monitor or trial manager"},
                                    {"json", NULL, "print JSON"},
                                    {0}};

static int run_move(const cli_args *a) {
  bool reopen = !strcmp(a->cmd->path, "query reopen");
  const char *user;
  long id = 0;
  int rc;
  if ((rc = cli_long(a, "id", 1, 1000000000000L, &id)) || (rc = cli_require(a, "user", &user))) return rc;
  if (!id) return cli_usage_error(a, "option --id is required");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_status s = reopen ? lp_query_reopen(t, id, cli_str(a, "text"), user, &err)
                       : lp_query_close(t, id, cli_str(a, "text"), user, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", reopen ? "open" : "closed"));
  printf("query %ld %s\n", id, reopen ? "re-opened" : "closed");
  return CLI_OK;
}

/* ---- verify ---- */

static const cli_opt verify_opts[] = {{"db", "FILE", "trial database"},
                                      CLI_AUDIT_KEY_OPT,
                                      {"patient", "P", "patient code"},
                                      {"form", "KIND", "baseline, daily, infusion, outcome or ae"},
                                      {"day", "D", "the daily form's day"},
                                      {"record", "ID", "the adverse event (its record id)"},
                                      {"user", "NAME", "monitor"},
                                      {"json", NULL, "print JSON"},
                                      {0}};

static int run_verify(const cli_args *a) {
  const char *patient, *form, *user;
  long day = 0, record = 0;
  int rc;
  if ((rc = cli_require(a, "patient", &patient)) || (rc = cli_require(a, "form", &form)) ||
      (rc = cli_require(a, "user", &user)) || (rc = cli_long(a, "day", 1, 28, &day)) ||
      (rc = cli_long(a, "record", 1, 1000000000000L, &record)))
    return rc;
  lp_record_kind kind;
  lp_error err;
  if (lp_record_kind_parse(form, &kind, &err)) return cli_usage_error(a, "%s", err.message);
  if (kind == LP_RECORD_DAILY && !day) return cli_usage_error(a, "verifying a daily form needs --day");
  if (kind == LP_RECORD_AE && !record) return cli_usage_error(a, "verifying an adverse event needs --record");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_status s = lp_form_verify(t, patient, kind, (int)day, record, user, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  char where[64];
  where_words(form, (int)day, record, where, sizeof where);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:i, s:I, s:b, s:s}", "patient", patient, "form", form, "day", (int)day,
                                    "record", (json_int_t)record, "verified", 1, "by", user));
  printf("source data verified: %s %s, by %s\n", patient, where, user);
  return CLI_OK;
}

/* ---- sdv ---- */

static const cli_opt sdv_opts[] = {{"db", "FILE", "trial database"},
                                   {"site", "S", "only this site"},
                                   {"patient", "P", "only this patient (lists every form)"},
                                   {"json", NULL, "print JSON"},
                                   {0}};

static json_t *sdv_json(const lp_sdv_report *r) {
  json_t *sites = json_array(), *patients = json_array(), *forms = json_array();
  for (size_t i = 0; i < r->nsites; i++)
    json_array_append_new(
        sites, json_pack("{s:s, s:I, s:I, s:I, s:I}", "site", r->sites[i].site, "patients",
                         (json_int_t)r->sites[i].patients, "forms", (json_int_t)r->sites[i].forms, "verified",
                         (json_int_t)r->sites[i].verified, "signed", (json_int_t)r->sites[i].signed_valid));
  for (size_t i = 0; i < r->npatients; i++) {
    const lp_sdv_patient *p = &r->patients[i];
    json_array_append_new(
        patients, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:b}", "patient", p->patient, "site", p->site, "forms",
                            (json_int_t)p->forms, "verified", (json_int_t)p->verified, "queries_open",
                            (json_int_t)p->queries_open, "queries_answered", (json_int_t)p->queries_answered,
                            "signature", p->signature, "signed", p->signed_valid));
  }
  for (size_t i = 0; i < r->nforms; i++) {
    const lp_sdv_form *f = &r->forms[i];
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:b}", "patient", f->patient, "site", f->site, "form", f->form,
                          "day", f->day, "record", (json_int_t)f->record, "verified", f->verified);
    if (f->verified) {
      json_object_set_new(o, "verified_at", json_string(f->verified_at));
      json_object_set_new(o, "verified_by", json_string(f->verified_by));
    }
    if (f->cleared_at[0]) {
      json_object_set_new(o, "cleared_at", json_string(f->cleared_at));
      json_object_set_new(o, "cleared_by", json_string(f->cleared_by));
      json_object_set_new(o, "cleared_reason", json_string(f->cleared_reason));
    }
    json_array_append_new(forms, o);
  }
  return json_pack("{s:{s:I, s:I, s:I, s:I}, s:o, s:o, s:o}", "total", "patients", (json_int_t)r->total.patients,
                   "forms", (json_int_t)r->total.forms, "verified", (json_int_t)r->total.verified, "signed",
                   (json_int_t)r->total.signed_valid, "sites", sites, "patients", patients, "forms", forms);
}

static double pct(long a, long b) { return b ? 100.0 * (double)a / (double)b : 0; }

static int run_sdv(const cli_args *a) {
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open_readonly(a, &t))) return rc;
  lp_sdv_report r;
  lp_error err;
  lp_status s = lp_sdv_report_make(t, cli_str(a, "site"), cli_str(a, "patient"), &r, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) {
    json_t *j = sdv_json(&r);
    lp_sdv_report_clear(&r);
    return cli_print_json(j);
  }
  printf("source data verification: %ld of %ld forms verified (%.0f%%), %ld of %ld casebooks signed\n",
         r.total.verified, r.total.forms, pct(r.total.verified, r.total.forms), r.total.signed_valid, r.total.patients);
  printf("\n  %-8s %8s %8s %9s %6s %7s\n", "site", "patients", "forms", "verified", "%", "signed");
  for (size_t i = 0; i < r.nsites; i++)
    printf("  %-8s %8ld %8ld %9ld %5.0f%% %7ld\n", r.sites[i].site, r.sites[i].patients, r.sites[i].forms,
           r.sites[i].verified, pct(r.sites[i].verified, r.sites[i].forms), r.sites[i].signed_valid);
  printf("\n  %-10s %-6s %9s %14s  %s\n", "patient", "site", "verified", "queries o/a", "casebook");
  for (size_t i = 0; i < r.npatients; i++) {
    const lp_sdv_patient *p = &r.patients[i];
    char v[32], q[32];
    snprintf(v, sizeof v, "%ld/%ld", p->verified, p->forms);
    snprintf(q, sizeof q, "%ld/%ld", p->queries_open, p->queries_answered);
    printf("  %-10s %-6s %9s %14s  %s\n", p->patient, p->site, v, q, p->signature[0] ? p->signature : "not signed");
  }
  if (cli_str(a, "patient")) {
    printf("\n  forms:\n");
    for (size_t i = 0; i < r.nforms; i++) {
      const lp_sdv_form *f = &r.forms[i];
      char where[64];
      where_words(f->form, f->day, f->record, where, sizeof where);
      if (f->verified) printf("  %-18s verified by %s at %s\n", where, f->verified_by, f->verified_at);
      else if (f->cleared_at[0])
        printf("  %-18s not verified: the verification was cleared by a change on %s (by %s: %s)\n", where,
               f->cleared_at, f->cleared_by, f->cleared_reason);
      else
        printf("  %-18s not verified\n", where);
    }
  }
  lp_sdv_report_clear(&r);
  return CLI_OK;
}

/* ---- sign ---- */

static const cli_opt sign_opts[] = {{"db", "FILE", "trial database"},
                                    CLI_AUDIT_KEY_OPT,
                                    {"patient", "P", "the patient whose casebook is signed"},
                                    {"user", "NAME", "the site's principal investigator (password on standard input)"},
                                    {"json", NULL, "print JSON"},
                                    {0}};

static int run_sign(const cli_args *a) {
  const char *patient, *user;
  int rc;
  if ((rc = cli_require(a, "patient", &patient)) || (rc = cli_require(a, "user", &user))) return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  char pw[LP_PASSWORD_MAX + 2];
  char prompt[400];
  snprintf(prompt, sizeof prompt, "signing patient %s's casebook: \"%s\"\npassword of %s: ", patient,
           LP_CASEBOOK_MEANING, user);
  if (cli_read_secret(prompt, pw, sizeof pw)) {
    lp_trial_close(t);
    return cli_usage_error(a, "no password on standard input (a signature needs the signer's password)");
  }
  lp_signature sig;
  lp_error err;
  lp_status s = lp_casebook_sign(t, NULL, patient, user, pw, &sig, &err);
  sodium_memzero(pw, sizeof pw);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "patient", patient, "printed_name",
                                    sig.printed_name, "role", sig.role, "meaning", sig.meaning, "signed_at",
                                    sig.signed_at, "content_hash", sig.content_hash));
  printf("patient %s's casebook %s\n", patient, sig.state);
  return CLI_OK;
}

const cli_cmd cli_queries_cmds[] = {
    {"query list", "data queries with their state and history (open, answered, closed)", list_opts, NULL, run_list},
    {"query open", "raise a query on one field of one record (monitor or trial manager)", open_opts,
     "example:\n  leopards query open --db trial.db --patient P001 --form daily --day 3 --field map \\\n"
     "      --text 'MAP 25 mmHg: please check against the chart' --user mon1",
     run_open},
    {"query answer", "answer a query: correct the value (with a reason) or explain it (the site)", answer_opts,
     "A corrected value goes through the same edit checks as 'leopards record' and clears\n"
     "the form's source data verification and the casebook's signature.",
     run_answer},
    {"query close", "close an open or answered query (monitor or trial manager)", move_opts, NULL, run_move},
    {"query reopen", "re-open an answered or closed query (monitor or trial manager)", move_opts, NULL, run_move},
    {"verify", "source data verification of one form of a patient (monitor)", verify_opts,
     "Any later change to a verified form clears its verification, and says so.", run_verify},
    {"sdv", "source data verification progress per site and patient, and casebook signatures", sdv_opts, NULL, run_sdv},
    {"sign", "sign a patient's casebook as the site's principal investigator (password on standard input)", sign_opts,
     "The signature records the printed name, the time and the meaning \"" LP_CASEBOOK_MEANING "\",\n"
     "bound to a hash of the patient's records: any later change invalidates it.\n"
     "example:\n  printf '%s\\n' \"$PW\" | leopards sign --db trial.db --patient P001 --user pi1",
     run_sign},
};
const size_t cli_queries_ncmds = sizeof cli_queries_cmds / sizeof cli_queries_cmds[0];
