/* The pages of data queries, source data verification, casebook signatures and the
 * lock: the site's open queries on its home page, a query's page (the site answers; a
 * monitor or the trial manager closes or re-opens), a patient's forms with the
 * monitor's verify buttons and the signature's state, the principal investigator's sign
 * page and the lock page. No script; every value escaped; every form carries the
 * session's anti-forgery token (checked for every POST before the route is reached). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include <leopards/forms.h>
#include <leopards/queries.h>

#include "server.h"

#define ESC(s) srv_html_escape(&r->body, (s))
#define PUT(s) lp_strbuf_puts(&r->body, (s))
#define PF(...) lp_strbuf_printf(&r->body, __VA_ARGS__)

static void where(resp *r, const char *form, int day, long record) {
  ESC(form);
  if (day) PF(" day %d", day);
  else if (record)
    PF(" record %ld", record);
}

/* The form a query is on, as a link to its page. */
static void form_link(resp *r, const char *patient, const char *form, int day, long record) {
  PUT("<a href=\"/patients/");
  ESC(patient);
  PUT("/forms/");
  ESC(form);
  if (day) PF("/%d", day);
  else if (record)
    PF("/%ld", record);
  PUT("\">");
  where(r, form, day, record);
  PUT("</a>");
}

static void error_box(resp *r, const char *msg) {
  if (!msg) return;
  PUT("<p class=\"error\" role=\"alert\">");
  ESC(msg);
  PUT("</p>");
}

static void queries_table(req *q, resp *r, const lp_query *qs, size_t n) {
  (void)q;
  PUT("<div class=\"scroll\"><table><thead><tr><th>Query</th><th>Patient</th><th>Form</th><th>Field</th>"
      "<th>State</th><th>Question</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    PF("<tr><td><a href=\"/queries/%ld\">%ld</a></td><td>", qs[i].id, qs[i].id);
    ESC(qs[i].patient);
    PUT("</td><td>");
    where(r, qs[i].form, qs[i].day, qs[i].record);
    PUT("</td><td>");
    ESC(qs[i].field);
    PF("</td><td>%s</td><td>", lp_query_state_name(qs[i].state));
    ESC(qs[i].text);
    PUT("</td></tr>");
  }
  PUT("</tbody></table></div>");
}

/* The site's (or, for others, every) query not closed, on the home page. */
void srv_queries_box(req *q, resp *r) {
  if (q->who.role == LP_ROLE_STATISTICIAN) return;
  lp_query_filter f = {.site = q->who.site[0] ? q->who.site : NULL,
                       .state = q->who.role == LP_ROLE_INVESTIGATOR ? LP_QUERY_OPEN : LP_QUERY_ANSWERED};
  lp_query *qs;
  size_t n;
  if (lp_query_list(q->t, &f, &qs, &n, NULL)) return;
  PF("<section class=\"card\" id=\"queries\"><h2>%s</h2>",
     q->who.role == LP_ROLE_INVESTIGATOR ? "Open data queries of your site" : "Answered queries to review");
  if (!n) PUT("<p>None.</p>");
  else
    queries_table(q, r, qs, n);
  PUT("<p><a href=\"/queries\">Every query</a></p></section>");
  free(qs);
}

/* A patient's queries (every state), on the patient's page. */
void srv_patient_queries(req *q, resp *r, const char *patient) {
  lp_query_filter f = {.patient = patient, .state = -1};
  lp_query *qs;
  size_t n;
  if (lp_query_list(q->t, &f, &qs, &n, NULL)) return;
  size_t open = 0;
  for (size_t i = 0; i < n; i++) open += qs[i].state != LP_QUERY_CLOSED;
  PUT("<h2 id=\"patient-queries\">Data queries</h2>");
  if (!n) PUT("<p>None.</p>");
  else {
    PF("<p>%zu not closed, of %zu.</p>", open, n);
    queries_table(q, r, qs, n);
  }
  free(qs);
}

static void queries_page(req *q, resp *r) {
  lp_query_filter f = {.site = q->who.site[0] ? q->who.site : NULL, .state = -1};
  lp_query *qs;
  size_t n;
  lp_error e;
  if (lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_STATUS, f.site, &e)) {
    lp_access_refused(q->t, q->who.user, LP_DO_VIEW_STATUS, f.site, NULL, NULL);
    return srv_page_message(q, r, 403, "Not allowed", e.message);
  }
  if (lp_query_list(q->t, &f, &qs, &n, &e)) return srv_page_message(q, r, 500, "Data queries", e.message);
  srv_page_begin(q, r, "Data queries");
  if (!n) PUT("<p>No queries.</p>");
  else
    queries_table(q, r, qs, n);
  free(qs);
  srv_page_end(r);
}

static bool query_of(req *q, resp *r, const char *s, lp_query *qq, long *id) {
  char *end;
  *id = strtol(s, &end, 10);
  lp_error e;
  if (*id <= 0 || (*end && *end != '/') || lp_query_get(q->t, *id, qq, &e)) {
    srv_page_message(q, r, 404, "Data query", "there is no such query");
    return false;
  }
  if (lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_PATIENT, qq->site, &e)) {
    lp_access_refused(q->t, q->who.user, LP_DO_VIEW_PATIENT, qq->site, qq->patient, NULL);
    srv_page_message(q, r, 403, "Not allowed", e.message);
    return false;
  }
  return true;
}

static void query_page(req *q, resp *r, const lp_query *qq, const char *msg) {
  srv_page_begin(q, r, "Data query");
  error_box(r, msg);
  PF("<div class=\"card\"><p>Query %ld, <strong>%s</strong>, on patient <a href=\"/sdv?patient=", qq->id,
     lp_query_state_name(qq->state));
  ESC(qq->patient);
  PUT("\">");
  ESC(qq->patient);
  PUT("</a> (site ");
  ESC(qq->site);
  PUT("), ");
  form_link(r, qq->patient, qq->form, qq->day, qq->record);
  PUT(", field <code>");
  ESC(qq->field);
  PUT("</code></p><p id=\"question\">");
  ESC(qq->text);
  PUT("</p><p class=\"help\">Opened ");
  srv_page_time(r, qq->opened_at);
  PUT(" UTC by ");
  ESC(qq->opened_by);
  PF("%s</p>", strcmp(qq->origin, "check") ? "" : " (an edit check)");
  if (qq->answered_at[0]) {
    PUT("<p id=\"answer\">Answer by ");
    ESC(qq->answered_by);
    PUT(", ");
    srv_page_time(r, qq->answered_at);
    PUT(" UTC: ");
    ESC(qq->answer);
    if (qq->old_value[0] || qq->new_value[0]) {
      PUT(" (value changed from ");
      ESC(qq->old_value);
      PUT(" to ");
      ESC(qq->new_value);
      PUT(")");
    }
    PUT("</p>");
  }
  if (qq->reopened) {
    PF("<p>Re-opened %ld time%s%s", qq->reopened, qq->reopened == 1 ? "" : "s", qq->reopen_text[0] ? ": " : "");
    ESC(qq->reopen_text);
    PUT("</p>");
  }
  if (qq->closed_at[0]) {
    PUT("<p>Closed by ");
    ESC(qq->closed_by);
    PUT(", ");
    srv_page_time(r, qq->closed_at);
    PUT(" UTC</p>");
  }
  PUT("</div>");
  bool site = !lp_access_check(q->who.role, q->who.site, LP_DO_QUERY_ANSWER, qq->site, NULL);
  bool mon = !lp_access_check(q->who.role, q->who.site, LP_DO_QUERY_CLOSE, qq->site, NULL);
  if (site && qq->state == LP_QUERY_OPEN) {
    PF("<form class=\"card\" method=\"post\" action=\"/queries/%ld/answer\"><h2>Answer</h2>", qq->id);
    srv_page_csrf_field(q, r);
    PUT("<label for=\"text\">Your answer</label><span class=\"help\" id=\"text-help\">What you checked against "
        "the source, or why the value stands.</span><textarea id=\"text\" name=\"text\" required maxlength=\"500\" "
        "aria-describedby=\"text-help\"></textarea><label for=\"value\">Corrected value (leave empty to keep the "
        "value)</label><input id=\"value\" name=\"value\" maxlength=\"100\"><label for=\"reason\">Reason for the "
        "change (with a corrected value)</label><input id=\"reason\" name=\"reason\" maxlength=\"500\">"
        "<button type=\"submit\">Answer</button></form>");
  }
  if (mon && qq->state != LP_QUERY_CLOSED) {
    PF("<form class=\"card\" method=\"post\" action=\"/queries/%ld/close\"><h2>Close</h2>", qq->id);
    srv_page_csrf_field(q, r);
    PUT("<label for=\"close-text\">Note (optional)</label><input id=\"close-text\" name=\"text\" maxlength=\"500\">"
        "<button type=\"submit\">Close the query</button></form>");
  }
  if (mon && qq->state != LP_QUERY_OPEN) {
    PF("<form class=\"card\" method=\"post\" action=\"/queries/%ld/reopen\"><h2>Re-open</h2>", qq->id);
    srv_page_csrf_field(q, r);
    PUT("<label for=\"reopen-text\">Why the answer does not do</label><input id=\"reopen-text\" name=\"text\" "
        "maxlength=\"500\"><button type=\"submit\">Re-open the query</button></form>");
  }
  srv_page_end(r);
}

static void do_query_step(req *q, resp *r, const char *rest) {
  lp_query qq;
  long id;
  if (!query_of(q, r, rest, &qq, &id)) return;
  const char *verb = strchr(rest, '/') ? strchr(rest, '/') + 1 : "";
  char text[520], value[120], reason[520];
  srv_form(q, "text", text, sizeof text);
  bool has_value = srv_form(q, "value", value, sizeof value) && value[0];
  srv_form(q, "reason", reason, sizeof reason);
  lp_error e;
  lp_status s;
  lp_action what = LP_DO_QUERY_CLOSE;
  if (!strcmp(verb, "answer")) {
    what = LP_DO_QUERY_ANSWER;
    s = lp_query_answer(q->t, id, text, has_value ? value : NULL, reason[0] ? reason : NULL, q->who.user, NULL, &e);
  } else if (!strcmp(verb, "close"))
    s = lp_query_close(q->t, id, text[0] ? text : NULL, q->who.user, &e);
  else if (!strcmp(verb, "reopen"))
    s = lp_query_reopen(q->t, id, text, q->who.user, &e);
  else
    return srv_page_message(q, r, 404, "Not found", "there is no such page");
  if (s) {
    if (s == LP_EDENIED) lp_access_refused(q->t, q->who.user, what, qq.site, qq.patient, NULL);
    r->code = srv_http_status(s == LP_EDATA ? LP_EINVAL : s);
    return query_page(q, r, &qq, e.message);
  }
  char to[64];
  snprintf(to, sizeof to, "/queries/%ld", id);
  srv_page_redirect(r, to);
}

/* ---- a query raised by hand (a monitor or the trial manager) ---- */

static bool patient_ok(req *q, resp *r, const char *code, lp_patient_view *pv, lp_action what);

/* The link to the page raising a query on one form (a record: day or row id). */
void srv_query_raise_link(req *q, resp *r, const char *patient, const char *site, const char *form, int day,
                          long record, bool in_table) {
  if (lp_access_check(q->who.role, q->who.site, LP_DO_QUERY_RAISE, site, NULL)) return;
  PUT(in_table ? "<a href=\"/queries/new?patient=" : "<p><a class=\"button\" href=\"/queries/new?patient=");
  ESC(patient);
  PUT("&amp;form=");
  ESC(form);
  PF("&amp;day=%d&amp;record=%ld\">%s</a>%s", day, record, in_table ? "Raise a query" : "Raise a query on this form",
     in_table ? "" : "</p>");
}

static void new_query_page(req *q, resp *r, const char *patient, const lp_form *fm, int day, long record,
                           const char *field, const char *text, const char *msg) {
  srv_page_begin(q, r, "Raise a data query");
  error_box(r, msg);
  PUT("<form class=\"card\" method=\"post\" action=\"/queries/new\">");
  srv_page_csrf_field(q, r);
  PUT("<input type=\"hidden\" name=\"patient\" value=\"");
  ESC(patient);
  PUT("\"><input type=\"hidden\" name=\"form\" value=\"");
  ESC(fm->name);
  PF("\"><input type=\"hidden\" name=\"day\" value=\"%d\"><input type=\"hidden\" name=\"record\" "
     "value=\"%ld\"><p>Patient <strong>",
     day, record);
  ESC(patient);
  PUT("</strong>, ");
  form_link(r, patient, fm->name, day, record);
  PUT("</p><label for=\"field\">Field</label><select id=\"field\" name=\"field\" required>");
  for (size_t i = 0; i < fm->nfields; i++) {
    const lp_field *f = &fm->fields[i];
    if (!strcmp(f->name, "patient") || !strcmp(f->name, "day") || !strcmp(f->name, "id")) continue;
    PUT("<option value=\"");
    ESC(f->name);
    PUT(field && !strcmp(field, f->name) ? "\" selected>" : "\">");
    ESC(f->label);
    if (f->unit[0]) {
      PUT(" (");
      ESC(f->unit);
      PUT(")");
    }
    PUT("</option>");
  }
  PUT("</select><label for=\"text\">Question for the site</label><span class=\"help\" id=\"text-help\">What "
      "does not agree with the source, or what to check. The site sees it on its home page and answers by "
      "correcting the value or explaining it.</span><textarea id=\"text\" name=\"text\" required maxlength=\"500\" "
      "aria-describedby=\"text-help\">");
  ESC(text ? text : "");
  PUT("</textarea><button type=\"submit\">Raise the query</button></form>");
  srv_page_end(r);
}

static void do_new_query(req *q, resp *r, bool post) {
  char patient[64] = "", form[16] = "", day[16] = "", record[24] = "", field[64] = "", text[520] = "";
  const char *names[] = {"patient", "form", "day", "record"};
  char *bufs[] = {patient, form, day, record};
  size_t sizes[] = {sizeof patient, sizeof form, sizeof day, sizeof record};
  for (int i = 0; i < 4; i++) {
    if (post) srv_form(q, names[i], bufs[i], sizes[i]);
    else if (srv_query(q, names[i]))
      snprintf(bufs[i], sizes[i], "%s", srv_query(q, names[i]));
  }
  lp_patient_view pv;
  lp_record_kind kind;
  lp_error e;
  if (!patient_ok(q, r, patient, &pv, LP_DO_QUERY_RAISE)) return;
  if (lp_record_kind_parse(form, &kind, &e)) return srv_page_message(q, r, 404, "Data query", "there is no such form");
  const lp_form *fm = lp_form_get((lp_form_id)kind);
  if (!post) return new_query_page(q, r, patient, fm, atoi(day), atol(record), NULL, NULL, NULL);
  srv_form(q, "field", field, sizeof field);
  srv_form(q, "text", text, sizeof text);
  long id = 0;
  lp_status s = lp_query_open(q->t, patient, kind, atoi(day), atol(record), field, text, q->who.user, &id, &e);
  if (s) {
    if (s == LP_EDENIED) lp_access_refused(q->t, q->who.user, LP_DO_QUERY_RAISE, pv.site, patient, NULL);
    r->code = srv_http_status(s == LP_EDATA ? LP_EINVAL : s);
    return new_query_page(q, r, patient, fm, atoi(day), atol(record), field, text, e.message);
  }
  char to[64];
  snprintf(to, sizeof to, "/queries/%ld", id);
  srv_page_redirect(r, to);
}

/* ---- a patient's forms: verification and signature ---- */

static bool patient_ok(req *q, resp *r, const char *code, lp_patient_view *pv, lp_action what) {
  lp_error e;
  if (!code || !srv_code_ok(code) || lp_patient_get(q->t, code, pv, &e) || !pv->randomised) {
    srv_page_message(q, r, 404, "Patient", "there is no such randomised patient");
    return false;
  }
  if (lp_access_check(q->who.role, q->who.site, what, pv->site, &e)) {
    lp_access_refused(q->t, q->who.user, what, pv->site, code, NULL);
    srv_page_message(q, r, 403, "Not allowed", e.message);
    return false;
  }
  return true;
}

static void verify_button(req *q, resp *r, const lp_sdv_form *f) {
  PUT("<form method=\"post\" action=\"/verify\">");
  srv_page_csrf_field(q, r);
  PUT("<input type=\"hidden\" name=\"patient\" value=\"");
  ESC(f->patient);
  PUT("\"><input type=\"hidden\" name=\"form\" value=\"");
  ESC(f->form);
  PF("\"><input type=\"hidden\" name=\"day\" value=\"%d\"><input type=\"hidden\" name=\"record\" value=\"%ld\">"
     "<button type=\"submit\">Verify</button></form>",
     f->day, f->record);
}

/* The casebook's signature: the printed name, the role, the time and the meaning; or
 * why it no longer holds. */
static void signature_html(req *q, resp *r, const char *patient, const lp_sdv_patient *p) {
  lp_signature g;
  PUT("<p id=\"signature\">Casebook: ");
  if (p && p->signed_valid && !lp_signature_get(q->t, patient, &g, NULL) && g.valid) {
    PUT("<span class=\"ok\">signed</span> by <strong>");
    ESC(g.printed_name);
    PUT("</strong> (");
    if (g.account_name) PUT("account name shown: no full name recorded; ");
    ESC(g.role);
    PUT("), ");
    srv_page_time(r, g.signed_at);
    PUT(" UTC, meaning: <q>");
    ESC(g.meaning);
    PUT("</q>");
  } else if (p && p->signature[0]) {
    PUT("<span class=\"bad\">");
    ESC(p->signature);
    PUT("</span>");
  } else
    PUT("not signed");
  PUT("</p>");
}

static void sdv_page(req *q, resp *r, const char *msg) {
  const char *code = srv_query(q, "patient");
  char patient[64] = "";
  if (!code) srv_form(q, "patient", patient, sizeof patient);
  else
    snprintf(patient, sizeof patient, "%s", code);
  lp_patient_view pv;
  if (!patient_ok(q, r, patient, &pv, LP_DO_VIEW_PATIENT)) return;
  lp_sdv_report rep;
  lp_error e;
  if (lp_sdv_report_make(q->t, NULL, patient, &rep, &e))
    return srv_page_message(q, r, 500, "Source data verification", e.message);
  srv_page_begin(q, r, "Forms and verification");
  error_box(r, msg);
  bool mon = !lp_access_check(q->who.role, q->who.site, LP_DO_VERIFY, pv.site, NULL);
  PUT("<div class=\"card\"><p>Patient <strong>");
  ESC(patient);
  PUT("</strong>, site ");
  ESC(pv.site);
  PUT("</p>");
  signature_html(q, r, patient, rep.npatients ? &rep.patients[0] : NULL);
  bool valid = rep.npatients && rep.patients[0].signed_valid; /* signed and unchanged: nothing to sign again */
  if (!valid && !lp_access_check(q->who.role, q->who.site, LP_DO_SIGN, pv.site, NULL) &&
      lp_user_is_pi(q->t, q->who.user)) {
    PUT("<p><a class=\"button\" href=\"/sign?patient=");
    ESC(patient);
    PUT("\">Sign the casebook</a></p>");
  }
  PUT("</div><div class=\"scroll\"><table><thead><tr><th>Form</th><th>Verification</th><th></th></tr></thead>"
      "<tbody>");
  for (size_t i = 0; i < rep.nforms; i++) {
    const lp_sdv_form *f = &rep.forms[i];
    PUT("<tr><td>");
    where(r, f->form, f->day, f->record);
    PUT("</td><td>");
    if (f->verified) {
      PUT("<span class=\"ok\">verified</span> by ");
      ESC(f->verified_by);
      PUT(", ");
      srv_page_time(r, f->verified_at);
    } else if (f->cleared_at[0]) {
      PUT("<span class=\"bad\">not verified</span>: cleared by a change on ");
      srv_page_time(r, f->cleared_at);
      PUT(" (");
      ESC(f->cleared_by);
      PUT(": ");
      ESC(f->cleared_reason);
      PUT(")");
    } else
      PUT("not verified");
    PUT("</td><td>");
    if (mon && !f->verified) verify_button(q, r, f);
    if (strcmp(f->form, "infusion")) srv_query_raise_link(q, r, f->patient, f->site, f->form, f->day, f->record, true);
    PUT("</td></tr>");
  }
  PUT("</tbody></table></div>");
  lp_sdv_report_clear(&rep);
  srv_page_end(r);
}

static void do_verify(req *q, resp *r) {
  char patient[64], form[16], day[16], record[24];
  srv_form(q, "patient", patient, sizeof patient);
  srv_form(q, "form", form, sizeof form);
  srv_form(q, "day", day, sizeof day);
  srv_form(q, "record", record, sizeof record);
  lp_patient_view pv;
  if (!patient_ok(q, r, patient, &pv, LP_DO_VERIFY)) return;
  lp_record_kind kind;
  lp_error e;
  if (lp_record_kind_parse(form, &kind, &e) ||
      lp_form_verify(q->t, patient, kind, atoi(day), atol(record), q->who.user, &e)) {
    r->code = srv_http_status(e.status);
    return sdv_page(q, r, e.message);
  }
  char to[120];
  snprintf(to, sizeof to, "/sdv?patient=%s", patient); /* a code of [A-Za-z0-9_.-] only */
  srv_page_redirect(r, to);
}

static void sign_page(req *q, resp *r, const char *patient, const char *msg) {
  srv_page_begin(q, r, "Sign the casebook");
  error_box(r, msg);
  PUT("<form class=\"card\" method=\"post\" action=\"/sign\">");
  srv_page_csrf_field(q, r);
  PUT("<input type=\"hidden\" name=\"patient\" value=\"");
  ESC(patient);
  PUT("\"><p>Patient <strong>");
  ESC(patient);
  lp_user_info me;
  bool named = !lp_user_get(q->t, q->who.user, &me, NULL) && me.full_name[0];
  PUT("</strong></p><p class=\"notice\" id=\"meaning\">By signing, you, ");
  ESC(named ? me.full_name : q->who.user);
  PUT(", state: <strong>" LP_CASEBOOK_MEANING
      "</strong>. The signature records your printed name, the time and this "
      "meaning; any later change to the patient's data invalidates it.</p>");
  if (!named)
    PUT("<p class=\"notice\">No full name is recorded for your account: the signature will show the account name "
        "and say so. A trial manager records full names on the users page.</p>");
  PUT("<label for=\"password\">Your password, "
      "again</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" "
      "required><button type=\"submit\">Sign</button></form>");
  srv_page_end(r);
}

static void do_sign(req *q, resp *r, bool post) {
  char patient[64] = "", pw[LP_PASSWORD_MAX + 2] = "";
  if (post) srv_form(q, "patient", patient, sizeof patient);
  else if (srv_query(q, "patient"))
    snprintf(patient, sizeof patient, "%s", srv_query(q, "patient"));
  lp_patient_view pv;
  if (!patient_ok(q, r, patient, &pv, LP_DO_SIGN)) return;
  if (!post) return sign_page(q, r, patient, NULL);
  srv_form(q, "password", pw, sizeof pw);
  lp_signature g;
  lp_error e;
  lp_status s = lp_casebook_sign(q->t, &q->policy, patient, q->who.user, pw, &g, &e);
  sodium_memzero(pw, sizeof pw);
  if (s) {
    r->code = srv_http_status(s);
    return sign_page(q, r, patient, e.message);
  }
  char to[120];
  snprintf(to, sizeof to, "/sdv?patient=%s", patient);
  srv_page_redirect(r, to);
}

/* ---- the lock ---- */

static void lock_page(req *q, resp *r, const char *msg) {
  srv_page_begin(q, r, "Database lock");
  error_box(r, msg);
  long open = 0, answered = 0;
  lp_query_unresolved(q->t, &open, &answered, NULL);
  if (lp_trial_is_locked(q->t)) {
    lp_signature g;
    PUT("<p class=\"notice\" role=\"status\">The database is locked.");
    if (!lp_signature_get(q->t, NULL, &g, NULL)) {
      PUT(" The lock is ");
      ESC(g.state);
      PUT(".");
    }
    PUT("</p>");
    return srv_page_end(r);
  }
  PF("<p>%ld data quer%s open and %ld answered (not closed).</p>", open, open == 1 ? "y" : "ies", answered);
  PUT("<form class=\"card\" method=\"post\" action=\"/lock\">");
  srv_page_csrf_field(q, r);
  PUT("<p class=\"notice\">By locking, you state: <strong>" LP_LOCK_MEANING
      "</strong>. No data can change "
      "afterwards.</p>");
  if (open + answered)
    PUT("<label for=\"override\">Reason to lock although queries are not closed</label><span class=\"help\" "
        "id=\"override-help\">Recorded in the audit trail.</span><input id=\"override\" name=\"override_reason\" "
        "maxlength=\"500\" aria-describedby=\"override-help\">");
  PUT("<label for=\"password\">Your password, again</label><input id=\"password\" name=\"password\" "
      "type=\"password\" autocomplete=\"current-password\" required><button class=\"danger\" type=\"submit\">Lock "
      "the database</button></form>");
  srv_page_end(r);
}

static void do_lock(req *q, resp *r) {
  char reason[520] = "", pw[LP_PASSWORD_MAX + 2] = "";
  srv_form(q, "override_reason", reason, sizeof reason);
  srv_form(q, "password", pw, sizeof pw);
  lp_lock_options o = {
      .user = q->who.user, .override_reason = reason[0] ? reason : NULL, .password = pw, .policy = &q->policy};
  lp_error e;
  lp_status s = lp_trial_lock_with(q->t, &o, NULL, NULL, &e);
  sodium_memzero(pw, sizeof pw);
  if (s) {
    r->code = srv_http_status(s);
    return lock_page(q, r, e.message);
  }
  srv_page_redirect(r, "/lock");
}

bool srv_pages_queries(req *q, resp *r, const char *p, bool get, bool post) {
  if (!strcmp(p, "/queries") && get) return queries_page(q, r), true;
  if (!strcmp(p, "/queries/new")) return do_new_query(q, r, post), true;
  if (!strncmp(p, "/queries/", 9)) {
    lp_query qq;
    long id;
    if (post) return do_query_step(q, r, p + 9), true;
    if (query_of(q, r, p + 9, &qq, &id)) query_page(q, r, &qq, NULL);
    return true;
  }
  if (!strcmp(p, "/sdv") && get) return sdv_page(q, r, NULL), true;
  if (!strcmp(p, "/verify") && post) return do_verify(q, r), true;
  if (!strcmp(p, "/sign")) return do_sign(q, r, post), true;
  if (!strcmp(p, "/lock")) {
    lp_error e;
    if (lp_access_check(q->who.role, q->who.site, LP_DO_LOCK, NULL, &e)) {
      lp_access_refused(q->t, q->who.user, LP_DO_LOCK, NULL, NULL, NULL);
      srv_page_message(q, r, 403, "Not allowed", e.message);
      return true;
    }
    return post ? do_lock(q, r) : lock_page(q, r, NULL), true;
  }
  return false;
}
