/* The HTML pages of leopards serve: server-rendered, no script, one stylesheet, every
 * value escaped, every form labelled, every state-changing form carrying the session's
 * anti-forgery token. Each page asks lp_access_check before it reads or writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <leopards/forms.h>
#include <leopards/queries.h>
#include <microhttpd.h>

#include "server.h"

#define ESC(s) srv_html_escape(&r->body, (s))
#define PUT(s) lp_strbuf_puts(&r->body, (s))
#define PF(...) lp_strbuf_printf(&r->body, __VA_ARGS__)

static const char stylesheet[] =
    "*{box-sizing:border-box}body{margin:0;font:17px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "color:#1b1b1b;background:#f4f5f7}header{background:#123d5c;color:#fff;padding:.6rem 1rem;display:flex;"
    "flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between}header a{color:#fff}"
    ".brand{font-weight:700;font-size:1.15rem;text-decoration:none}nav{display:flex;flex-wrap:wrap;gap:.4rem 1rem;"
    "align-items:center}nav form{display:inline;margin:0}main{max-width:60rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}"
    ".card{background:#fff;border:1px solid #d5d9de;border-radius:6px;padding:1rem;margin:0 0 1rem}"
    "label{display:block;font-weight:600;margin:.6rem 0 .15rem}.help{display:block;color:#4a5560;font-size:.9rem;"
    "margin:.1rem 0 .3rem}input,select,textarea{font:inherit;padding:.45rem;border:1px solid #8a949e;"
    "border-radius:4px;width:100%;max-width:26rem;background:#fff}textarea{max-width:40rem;min-height:5rem}"
    "button,.button{font:inherit;font-weight:600;background:#1d6fa5;color:#fff;border:0;border-radius:4px;"
    "padding:.55rem 1.1rem;margin:.8rem .4rem 0 0;cursor:pointer;text-decoration:none;display:inline-block}"
    "header button{background:#fff;color:#123d5c;margin:0;padding:.3rem .7rem}.danger{background:#a32020}"
    ".fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:0 1.2rem}"
    "table{border-collapse:collapse;width:100%;background:#fff;font-size:.95rem}th,td{border:1px solid #d5d9de;"
    "padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#e8ecf0}.num{text-align:right}"
    ".scroll{overflow-x:auto}.ok{color:#185c1f;font-weight:700}.bad{color:#a32020;font-weight:700}"
    ".notice{border-left:5px solid #1d6fa5;background:#eaf3fa;padding:.7rem 1rem;margin:0 0 1rem}"
    ".error{border-left:5px solid #a32020;background:#fbeaea;padding:.7rem 1rem;margin:0 0 1rem}"
    ".pack{font-size:4rem;font-weight:800;letter-spacing:.1em;margin:.5rem 0;font-variant-numeric:tabular-nums}"
    ".arm{font-size:2.2rem;font-weight:800;margin:.5rem 0}ul.failed li{margin:.2rem 0}"
    "pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem;margin:0}"
    "mark{background:#ffe27a;color:inherit;font-weight:700}table.audit td:nth-child(n+7){min-width:11rem}"
    ".visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}"
    "@media print{header,nav,form,.noprint{display:none}body{background:#fff}.card{border:0}}"
    "@media (max-width:30rem){body{font-size:16px}.pack{font-size:3rem}}";

static const char *role_title(lp_role r) {
  static const char *const t[] = {"Investigator", "Trial manager", "Statistician", "Monitor"};
  return (unsigned)r < 4 ? t[r] : "?";
}

static void begin(req *q, resp *r, const char *title) {
  PUT("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
  ESC(title);
  PUT(" - LeoPARDS</title><link rel=\"stylesheet\" href=\"/style.css\"></head><body><header>"
      "<a class=\"brand\" href=\"/home\">LeoPARDS trial</a>");
  if (q->authed) {
    PUT("<nav aria-label=\"main\">");
    if (!q->who.must_change) {
      PUT("<a href=\"/home\">Home</a>");
      if (q->who.role == LP_ROLE_INVESTIGATOR) PUT("<a href=\"/screen\">Screen</a>");
      if (!lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_STATUS, q->who.site[0] ? q->who.site : NULL, NULL))
        PUT("<a href=\"/status\">Dashboard</a>");
      if (!lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_AUDIT, q->who.site[0] ? q->who.site : NULL, NULL))
        PUT("<a href=\"/audit\">Audit trail</a>");
      if (q->who.role == LP_ROLE_MANAGER) PUT("<a href=\"/users\">Users</a><a href=\"/sites\">Sites</a>");
      if (q->who.role == LP_ROLE_STATISTICIAN) PUT("<a href=\"/list\">Randomisation list</a>");
      PUT("<a href=\"/tokens\">API tokens</a>");
      if (q->who.role != LP_ROLE_STATISTICIAN) PUT("<a href=\"/queries\">Queries</a>");
      if (lp_access_role_has(q->who.role, LP_DO_LOCK)) PUT("<a href=\"/lock\">Lock</a>");
      PUT("<a href=\"/password\">Password</a>");
    }
    PUT("<span>");
    ESC(q->who.user);
    PF(" (%s", role_title(q->who.role));
    if (q->who.site[0]) {
      PUT(", site ");
      ESC(q->who.site);
    }
    PUT(")</span><form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"");
    ESC(q->who.csrf);
    PUT("\"><button type=\"submit\">Log out</button></form></nav>");
  }
  PUT("</header><main>\n<h1>");
  ESC(title);
  PUT("</h1>\n");
}

/* An ISO time "2026-12-01T21:06:25.649Z" as "2026-12-01 21:06" (a date stays a date). */
static void put_time(resp *r, const char *iso) {
  if (iso && strlen(iso) >= 16 && iso[10] == 'T') PF("%.10s %.5s", iso, iso + 11);
  else
    ESC(iso);
}

static void end(resp *r) { PUT("</main></body></html>\n"); }

static void csrf_field(req *q, resp *r) {
  PUT("<input type=\"hidden\" name=\"csrf\" value=\"");
  ESC(q->who.csrf);
  PUT("\">");
}

static void redirect(resp *r, const char *to) {
  r->code = 303;
  snprintf(r->location, sizeof r->location, "%s", to);
}

static void message_page(req *q, resp *r, int code, const char *title, const char *msg) {
  r->code = code;
  begin(q, r, title);
  PUT("<p class=\"error\" role=\"alert\">");
  ESC(msg);
  PUT("</p><p><a href=\"/home\">Back to the home page</a></p>");
  end(r);
}

/* Refused: 403, and the refusal is in the audit trail. */
static void refuse(req *q, resp *r, lp_action what, const char *site, const char *patient, const lp_error *e) {
  lp_access_refused(q->t, q->who.user, what, site, patient, NULL);
  message_page(q, r, 403, "Not allowed", e->message);
}

static bool allowed(req *q, resp *r, lp_action what, const char *site, const char *patient) {
  lp_error e;
  if (!lp_access_check(q->who.role, q->who.site, what, site, &e)) return true;
  refuse(q, r, what, site, patient, &e);
  return false;
}

static bool csrf_ok(req *q) {
  char tok[LP_TOKEN_HEX + 8];
  if (!srv_form(q, "csrf", tok, sizeof tok) || strlen(tok) != LP_TOKEN_HEX) return false;
  return sodium_memcmp(tok, q->who.csrf, LP_TOKEN_HEX) == 0;
}

/* ---- login, password, logout ---- */

/* The login form's anti-forgery token: the browser's `lp_login` cookie (set here when
 * it has none) and, in the form, a keyed hash of it that only this server can make. */
static void login_csrf_field(req *q, resp *r) {
  const char *c = MHD_lookup_connection_value(q->c, MHD_COOKIE_KIND, "lp_login");
  char fresh[LP_TOKEN_HEX + 1], field[LP_TOKEN_HEX + 1];
  if (!c || strlen(c) != LP_TOKEN_HEX || strspn(c, "0123456789abcdef") != LP_TOKEN_HEX) {
    uint8_t raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(fresh, sizeof fresh, raw, sizeof raw);
    snprintf(r->cookie, sizeof r->cookie, "lp_login=%s; Path=/login; HttpOnly; SameSite=Strict%s", fresh,
             q->tls ? "; Secure" : "");
    c = fresh;
  }
  srv_login_csrf(q, c, field);
  PUT("<input type=\"hidden\" name=\"csrf\" value=\"");
  ESC(field);
  PUT("\">");
}

static bool login_csrf_ok(req *q) {
  char want[LP_TOKEN_HEX + 1], got[LP_TOKEN_HEX + 8];
  srv_login_csrf(q, MHD_lookup_connection_value(q->c, MHD_COOKIE_KIND, "lp_login"), want);
  if (!want[0] || !srv_form(q, "csrf", got, sizeof got) || strlen(got) != LP_TOKEN_HEX) return false;
  return sodium_memcmp(got, want, LP_TOKEN_HEX) == 0;
}

static void login_form(req *q, resp *r, const char *msg, const char *user) {
  begin(q, r, "Log in");
  if (msg) {
    PUT("<p class=\"error\" role=\"alert\">");
    ESC(msg);
    PUT("</p>");
  }
  PUT("<form class=\"card\" method=\"post\" action=\"/login\">");
  login_csrf_field(q, r);
  PUT("<label for=\"user\">User name</label>"
      "<input id=\"user\" name=\"user\" autocomplete=\"username\" required value=\"");
  ESC(user ? user : "");
  PUT("\"><label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\""
      " autocomplete=\"current-password\" required><button type=\"submit\">Log in</button></form>"
      "<p>Five wrong passwords in a row lock the account for 15 minutes. Forgotten your password? "
      "Ask the trial manager for a new one-time password.</p>");
  end(r);
}

static void do_login(req *q, resp *r) {
  char user[64], pw[LP_PASSWORD_MAX + 2];
  srv_form(q, "user", user, sizeof user);
  if (!login_csrf_ok(q)) { /* a login forged by another site: no password is checked */
    r->code = 403;
    login_form(q, r, "the login form's anti-forgery token is missing or wrong: log in from this page", user);
    return;
  }
  srv_form(q, "password", pw, sizeof pw);
  char tok[LP_TOKEN_HEX + 1];
  lp_identity who;
  bool locked = false;
  lp_error e;
  lp_status s = lp_session_login(q->t, &q->policy, user, pw, tok, &who, &locked, &e);
  sodium_memzero(pw, sizeof pw);
  if (s) {
    r->code = locked ? 429 : 401;
    login_form(q, r, e.message, user);
    return;
  }
  srv_session_cookie(q, r, tok, false);
  sodium_memzero(tok, sizeof tok);
  redirect(r, who.must_change ? "/password" : "/home");
}

static void password_form(req *q, resp *r, const char *msg, bool done) {
  begin(q, r, q->who.must_change ? "Choose your own password" : "Change your password");
  if (q->who.must_change)
    PUT("<p class=\"notice\">You logged in with a one-time password. Choose your own password before you "
        "continue.</p>");
  if (msg) {
    PF("<p class=\"%s\" role=\"alert\">", done ? "notice" : "error");
    ESC(msg);
    PUT("</p>");
  }
  PUT("<form class=\"card\" method=\"post\" action=\"/password\">");
  csrf_field(q, r);
  PF("<label for=\"current\">Current password</label><input id=\"current\" name=\"current\" type=\"password\""
     " autocomplete=\"current-password\" required><label for=\"new\">New password</label>"
     "<span class=\"help\" id=\"new-help\">At least %d characters; not your user name; not a common password."
     " A few unrelated words make a good one.</span><input id=\"new\" name=\"new\" type=\"password\""
     " autocomplete=\"new-password\" minlength=\"%d\" required aria-describedby=\"new-help\">"
     "<label for=\"again\">New password again</label><input id=\"again\" name=\"again\" type=\"password\""
     " autocomplete=\"new-password\" required><button type=\"submit\">Change password</button></form>",
     LP_PASSWORD_MIN, LP_PASSWORD_MIN);
  end(r);
}

static void do_password(req *q, resp *r) {
  char cur[LP_PASSWORD_MAX + 2], nw[LP_PASSWORD_MAX + 2], again[LP_PASSWORD_MAX + 2];
  srv_form(q, "current", cur, sizeof cur);
  srv_form(q, "new", nw, sizeof nw);
  srv_form(q, "again", again, sizeof again);
  lp_error e;
  lp_status s = strcmp(nw, again) ? lp_error_set(&e, LP_EINVAL, "the two new passwords differ")
                                  : lp_password_change(q->t, &q->policy, q->who.user, cur, nw, &e);
  sodium_memzero(cur, sizeof cur);
  sodium_memzero(nw, sizeof nw);
  sodium_memzero(again, sizeof again);
  if (s) {
    r->code = srv_http_status(s);
    password_form(q, r, e.message, false);
    return;
  }
  redirect(r, "/home");
}

/* ---- home ---- */

static void unblindings_list(req *q, resp *r, bool all) {
  lp_unblinding *u = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_trial_unblindings(q->t, &u, &n, &e)) {
    PUT("<p class=\"error\">");
    ESC(e.message);
    PUT("</p>");
    return;
  }
  size_t shown = 0;
  PUT("<h2>Emergency unblindings</h2>");
  for (size_t i = n; i-- > 0;) {
    if (!all && strcmp(u[i].site, q->who.site)) continue;
    if (!shown++)
      PUT("<div class=\"scroll\"><table><thead><tr><th>When (UTC)</th><th>Patient</th><th>Site</th>"
          "<th>By</th><th>Reason</th></tr></thead><tbody>");
    PUT("<tr><td>");
    put_time(r, u[i].at);
    PUT("</td><td><a href=\"/patients/");
    ESC(u[i].patient);
    PUT("\">");
    ESC(u[i].patient);
    PUT("</a></td><td>");
    ESC(u[i].site);
    PUT("</td><td>");
    ESC(u[i].user);
    PUT("</td><td>");
    ESC(u[i].reason);
    PUT("</td></tr>");
  }
  if (shown) PUT("</tbody></table></div>");
  else
    PUT("<p>None so far.</p>");
  free(u);
}

static void screening_log(req *q, resp *r, const char *site, size_t limit) {
  lp_screening_row *rows = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_screening_log(q->t, site, limit, &rows, &n, &e)) {
    PUT("<p class=\"error\">");
    ESC(e.message);
    PUT("</p>");
    return;
  }
  PUT("<h2>Screening log");
  if (site) {
    PUT(", site ");
    ESC(site);
  }
  PUT("</h2>");
  if (!n) PUT("<p>No patient screened yet.</p>");
  else
    PUT("<div class=\"scroll\"><table><thead><tr><th>Patient</th><th>Screened (UTC)</th><th>By</th>"
        "<th>Eligible</th><th>Randomised</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    PUT("<tr><td>");
    if (rows[i].patient[0]) {
      PUT("<a href=\"/patients/");
      ESC(rows[i].patient);
      PUT("\">");
      ESC(rows[i].patient);
      PUT("</a>");
    } else {
      PUT("(not enrolled)");
    }
    PUT("</td><td>");
    put_time(r, rows[i].screened_at);
    PUT("</td><td>");
    ESC(rows[i].screened_by);
    PF("</td><td>%s</td><td>%s</td></tr>", rows[i].eligible ? "yes" : "no", rows[i].randomised ? "yes" : "no");
  }
  if (n) PUT("</tbody></table></div>");
  free(rows);
}

static void home(req *q, resp *r) {
  begin(q, r, "Home");
  switch (q->who.role) {
    case LP_ROLE_INVESTIGATOR:
      PUT("<p><a class=\"button\" href=\"/screen\">Screen a patient</a><a class=\"button\" href=\"/status\">"
          "Site dashboard</a><a class=\"button\" href=\"/audit\">Audit trail</a></p>");
      screening_log(q, r, q->who.site, 10);
      unblindings_list(q, r, false);
      break;
    case LP_ROLE_MANAGER:
      PUT("<p><a class=\"button\" href=\"/status\">Recruitment and completeness</a><a class=\"button\" "
          "href=\"/audit\">Audit trail</a><a class=\"button\" href=\"/users\">Users</a><a class=\"button\" "
          "href=\"/sites\">Sites</a></p>");
      unblindings_list(q, r, true);
      break;
    case LP_ROLE_STATISTICIAN:
      PUT("<p><a class=\"button\" href=\"/list\">The randomisation list: status and extension</a><a "
          "class=\"button\" href=\"/lock\">Database lock</a></p><p>Reports are made on the command line for "
          "now.</p>");
      unblindings_list(q, r, true);
      break;
    case LP_ROLE_MONITOR:
      PUT("<p><a class=\"button\" href=\"/status\">Recruitment and completeness</a><a class=\"button\" "
          "href=\"/audit\">Audit trail</a></p>");
      break;
  }
  srv_queries_box(q, r);
  end(r);
}

/* ---- site dashboard ---- */

static void status_page(req *q, resp *r) {
  const char *site = srv_query(q, "site");
  if (site && !*site) site = NULL;
  if (!site && q->who.site[0]) site = q->who.site;
  if (site && !srv_code_ok(site)) return message_page(q, r, 400, "Dashboard", "that is not a site code");
  if (!allowed(q, r, LP_DO_VIEW_STATUS, site, NULL)) return;
  lp_progress p;
  lp_error e;
  if (lp_trial_progress(q->t, site, NULL, &p, &e))
    return message_page(q, r, srv_http_status(e.status), "Dashboard", e.message);
  begin(q, r, site ? "Site dashboard" : "Recruitment and completeness");
  PF("<p>As of %s.", p.as_of);
  if (site) {
    PUT(" Site ");
    ESC(site);
    PUT(".");
  }
  PUT("</p><div class=\"scroll\"><table><thead><tr><th>Site</th><th class=\"num\">Screened</th><th class=\"num\">"
      "Eligible</th><th class=\"num\">Randomised</th><th class=\"num\">Slots left</th><th class=\"num\">Daily "
      "records</th><th class=\"num\">Retrospective consent owed</th><th class=\"num\">Outstanding</th></tr>"
      "</thead><tbody>");
  for (size_t i = 0; i <= p.nsites; i++) {
    const lp_progress_site *ps = i < p.nsites ? &p.sites[i] : &p.total;
    if (i == p.nsites && p.nsites == 1) break;
    PUT("<tr><td>");
    if (i < p.nsites && !site) {
      PUT("<a href=\"/status?site=");
      ESC(ps->code);
      PUT("\">");
      ESC(ps->code);
      PUT("</a>");
    } else {
      ESC(i < p.nsites ? ps->code : "all sites");
    }
    PF("</td><td class=\"num\">%ld</td><td class=\"num\">%ld</td><td class=\"num\">%ld</td><td class=\"num\">%ld"
       "</td><td class=\"num\">%ld of %ld</td><td class=\"num\">%ld</td><td class=\"num\">%ld</td></tr>",
       ps->screened, ps->eligible, ps->randomised, ps->slots_left, ps->days_recorded, ps->days_expected,
       ps->retrospective_due, ps->items);
  }
  PUT("</tbody></table></div><h2>Randomised by month</h2>");
  if (!p.nmonths) PUT("<p>No patient randomised yet.</p>");
  else
    PUT("<div class=\"scroll\"><table><thead><tr><th>Month</th><th class=\"num\">Randomised</th></tr></thead><tbody>");
  for (size_t i = 0; i < p.nmonths; i++)
    PF("<tr><td>%s</td><td class=\"num\">%ld</td></tr>", p.months[i].month, p.months[i].randomised);
  if (p.nmonths) PUT("</tbody></table></div>");
  PUT("<h2>Missing or due</h2>");
  if (!p.nitems) PUT("<p>Nothing outstanding.</p>");
  else
    PUT("<div class=\"scroll\"><table><thead><tr><th>Patient</th><th>Site</th><th>What</th></tr></thead><tbody>");
  for (size_t i = 0; i < p.nitems && i < 300; i++) {
    PUT("<tr><td><a href=\"/patients/");
    ESC(p.items[i].patient);
    PUT("\">");
    ESC(p.items[i].patient);
    PUT("</a></td><td>");
    ESC(p.items[i].site);
    PUT("</td><td>");
    ESC(p.items[i].what);
    PUT("</td></tr>");
  }
  if (p.nitems) PUT("</tbody></table></div>");
  if (p.nitems > 300) PF("<p>%zu more not shown.</p>", p.nitems - 300);
  lp_progress_clear(&p);
  end(r);
}

/* ---- screening ---- */

static void failed_list(resp *r, const char *failed) {
  PUT("<ul class=\"failed\">");
  const char *p = failed;
  while (*p) {
    size_t len = strcspn(p, ",");
    char id[96], words[200];
    snprintf(id, sizeof id, "%.*s", (int)(len < 95 ? len : 95), p);
    PUT("<li>");
    ESC(lp_criterion_words(id, words, sizeof words));
    PUT("</li>");
    p += len;
    if (*p == ',') p++;
  }
  PUT("</ul>");
}

/* The help after the label: "temperature, C (SIRS: > 38 or < 36)" gives
 * "Unit: C. SIRS: > 38 or < 36"; a yes/no field's "(0/1; ...)" loses the 0/1. */
static void field_help(resp *r, const lp_screen_field_info *f, size_t label_len) {
  const char *rest = f->help + label_len;
  char unit[64] = "", rule[256] = "";
  if (*rest == ',') {
    rest++;
    while (*rest == ' ') rest++;
    size_t n = strcspn(rest, "(");
    snprintf(unit, sizeof unit, "%.*s", (int)n, rest);
    for (size_t k = strlen(unit); k > 0 && unit[k - 1] == ' ';) unit[--k] = '\0';
    rest += n;
  }
  while (*rest == ' ') rest++;
  if (*rest == '(') {
    rest++;
    if (!strncmp(rest, "0/1", 3)) rest += 3;
    while (*rest == ';' || *rest == ' ') rest++;
    snprintf(rule, sizeof rule, "%.*s", (int)strcspn(rest, ")"), rest);
  }
  if (rule[0] >= 'a' && rule[0] <= 'z') rule[0] = (char)(rule[0] - 'a' + 'A');
  bool yesno = !strcmp(f->kind, "yes/no");
  if (yesno && (!strcmp(rule, "Exclusion") || !strcmp(rule, "Inclusion"))) strcat(rule, " criterion");
  if (unit[0]) {
    if (yesno && unit[0] >= 'a' && unit[0] <= 'z') unit[0] = (char)(unit[0] - 'a' + 'A');
    PUT(!strcmp(f->kind, "date") ? "Format: " : yesno ? "" : "Unit: ");
    ESC(unit);
    PUT(rule[0] ? ". " : ".");
  }
  ESC(rule);
  if (!unit[0] && !rule[0]) PUT(yesno ? "Yes or no; inclusion criterion" : "");
}

static void screen_form(req *q, resp *r) {
  PUT("<form class=\"card\" method=\"post\" action=\"/screen\">");
  csrf_field(q, r);
  PUT("<label for=\"patient\">Patient code</label><span class=\"help\" id=\"patient-help\">The code the site "
      "gives the patient (letters, digits, - _ .; at most 32). Leave empty for a patient who will not be "
      "enrolled.</span><input id=\"patient\" name=\"patient\" maxlength=\"32\" pattern=\"[A-Za-z0-9_.\\-]+\" "
      "aria-describedby=\"patient-help\"><div class=\"fields\">");
  lp_screen_field_info f;
  for (size_t i = 0; lp_screen_field(i, &f); i++) {
    char label[96];
    snprintf(label, sizeof label, "%.*s", (int)strcspn(f.help, ",("), f.help);
    for (size_t k = strlen(label); k > 0 && label[k - 1] == ' ';) label[--k] = '\0';
    if (label[0] >= 'a' && label[0] <= 'z') label[0] = (char)(label[0] - 'a' + 'A');
    PF("<div><label for=\"f-%s\">", f.name);
    ESC(label);
    PF("</label><span class=\"help\" id=\"h-%s\">", f.name);
    field_help(r, &f, strlen(label));
    PUT("</span>");
    if (!strcmp(f.kind, "yes/no"))
      PF("<select id=\"f-%s\" name=\"%s\" aria-describedby=\"h-%s\"><option value=\"\">not assessed</option>"
         "<option value=\"1\">yes</option><option value=\"0\">no</option></select>",
         f.name, f.name, f.name);
    else if (!strcmp(f.kind, "number"))
      PF("<input id=\"f-%s\" name=\"%s\" type=\"number\" step=\"any\" min=\"%g\" max=\"%g\" inputmode=\"decimal\" "
         "aria-describedby=\"h-%s\">",
         f.name, f.name, f.min, f.max, f.name);
    else if (!strcmp(f.kind, "date"))
      PF("<input id=\"f-%s\" name=\"%s\" type=\"date\" aria-describedby=\"h-%s\">", f.name, f.name, f.name);
    else
      PF("<input id=\"f-%s\" name=\"%s\" maxlength=\"200\" aria-describedby=\"h-%s\">", f.name, f.name, f.name);
    PUT("</div>");
  }
  PUT("</div><button type=\"submit\">Check eligibility and record</button></form>");
}

static void screen_page(req *q, resp *r) {
  if (!allowed(q, r, LP_DO_SCREEN, q->who.site[0] ? q->who.site : NULL, NULL)) return;
  begin(q, r, "Screen a patient");
  PUT("<p>Every screened patient goes into the site's screening log, eligible or not. Leave a field at "
      "&ldquo;not assessed&rdquo; only when it was not assessed: eligibility needs every input.</p>");
  screen_form(q, r);
  screening_log(q, r, q->who.site, 50);
  end(r);
}

static void do_screen(req *q, resp *r) {
  if (!allowed(q, r, LP_DO_SCREEN, q->who.site[0] ? q->who.site : NULL, NULL)) return;
  char patient[64], v[256];
  srv_form(q, "patient", patient, sizeof patient);
  if (patient[0] && !srv_code_ok(patient))
    return message_page(q, r, 400, "Screen a patient",
                        "a patient code has 1 to 32 letters, digits, '-', '_' or '.'; nothing was recorded");
  json_t *in = json_object();
  lp_screen_field_info f;
  for (size_t i = 0; lp_screen_field(i, &f); i++)
    if (srv_form(q, f.name, v, sizeof v) && v[0]) json_object_set_new(in, f.name, json_string(v));
  char *js = json_dumps(in, JSON_COMPACT);
  json_decref(in);
  lp_screen_result res;
  lp_error e;
  lp_status s = lp_trial_screen(q->t, q->who.site, patient[0] ? patient : NULL, js, q->who.user, &res, &e);
  free(js);
  if (s) return message_page(q, r, srv_http_status_of(&e), "Screen a patient", e.message);
  r->code = 201;
  begin(q, r, "Screening result");
  PUT("<div class=\"card\" role=\"status\"><p>Patient <strong>");
  ESC(patient[0] ? patient : "(no code)");
  PF("</strong>, screening %ld: ", res.id);
  if (res.eligible) {
    PUT("<span class=\"ok\">eligible</span></p>");
    if (patient[0]) {
      PUT("<p><a class=\"button\" href=\"/consent?patient=");
      ESC(patient);
      PUT("\">Record consent</a><a class=\"button\" href=\"/randomise?patient=");
      ESC(patient);
      PUT("\">Randomise this patient</a></p>");
    }
  } else {
    PUT("<span class=\"bad\">not eligible</span>. Criteria not met:</p>");
    failed_list(r, res.failed);
  }
  PUT("</div><p><a href=\"/screen\">Screen another patient</a></p>");
  screening_log(q, r, q->who.site, 10);
  end(r);
}

/* ---- consent ---- */

static bool patient_arg(req *q, resp *r, const char *from, char *buf, size_t n, lp_patient_view *pv, lp_action what);

/* The trial requires consent and the patient (not yet randomised) has none. */
static bool consent_missing(req *q, const lp_patient_view *pv) {
  lp_consent_policy pol;
  if (pv->randomised || pv->consent_by[0]) return false;
  return lp_consent_policy_get(q->t, &pol, NULL) != LP_OK || pol.required;
}

static const char *consent_by_words(const char *by) {
  return !strcmp(by, "patient")                       ? "the patient"
         : !strcmp(by, "personal_representative")     ? "a personal legal representative"
         : !strcmp(by, "professional_representative") ? "a professional legal representative"
         : !strcmp(by, "before_tracking")             ? "recorded before consent was tracked"
                                                      : by;
}

static void consent_line(resp *r, const lp_patient_view *pv) {
  if (!pv->consent_by[0]) return;
  PUT("<p>Consent: ");
  ESC(consent_by_words(pv->consent_by));
  if (strcmp(pv->consent_by, "before_tracking")) {
    PUT(", ");
    put_time(r, pv->consented_at);
  }
  PUT(".</p>");
}

static void consent_section(req *q, resp *r, const char *patient, const lp_patient_view *pv) {
  PUT("<h2>Consent</h2>");
  if (!pv->consent_by[0]) PUT("<p>No consent recorded.</p>");
  consent_line(r, pv);
  if (pv->retrospective[0]) {
    PUT("<p>Retrospective consent: ");
    ESC(pv->retrospective);
    PUT(".</p>");
  } else if (pv->retrospective_due) {
    PUT("<p class=\"bad\">Retrospective consent owed: ask the patient once capacity is regained.</p>");
  }
  bool may = !lp_access_check(q->who.role, q->who.site, LP_DO_CONSENT, pv->site, NULL);
  if (may && (!pv->consent_by[0] || pv->retrospective_due)) {
    PUT("<p><a class=\"button\" href=\"/consent?patient=");
    ESC(patient);
    PUT(pv->retrospective_due ? "&amp;kind=retrospective\">Record retrospective consent</a></p>"
                              : "\">Record consent</a></p>");
  }
  bool may_correct = !lp_access_check(q->who.role, q->who.site, LP_DO_RECORD, pv->site, NULL);
  if (may_correct && (pv->consent_by[0] || pv->retrospective[0])) {
    PUT("<p>");
    if (pv->consent_by[0]) {
      PUT("<a href=\"/consent?correct=1&amp;patient=");
      ESC(patient);
      PUT("\">Correct the consent</a> ");
    }
    if (pv->retrospective[0]) {
      PUT("<a href=\"/consent?correct=1&amp;kind=retrospective&amp;patient=");
      ESC(patient);
      PUT("\">Correct the retrospective consent</a>");
    }
    PUT("</p>");
  }
}

/* One input of the consent form, from its field definition, with the saved value of
 * a record being corrected (`saved` NULL for a new record). */
static void consent_input(resp *r, const lp_field *f, const char *kind, json_t *saved) {
  if (!strcmp(f->name, "patient") || !strcmp(f->name, "kind")) return;
  bool retro = !strcmp(kind, "retrospective");
  if (!retro && !strcmp(f->name, "decision")) return; /* an initial consent is given */
  const char *val = saved ? json_string_value(json_object_get(saved, f->name)) : NULL;
  if (!val) val = "";
  char label[200];
  snprintf(label, sizeof label, "%s", f->label);
  if (label[0] >= 'a' && label[0] <= 'z') label[0] = (char)(label[0] - 'a' + 'A');
  PF("<div><label for=\"f-%s\">", f->name);
  ESC(label);
  PF("</label><span class=\"help\" id=\"h-%s\">", f->name);
  ESC(f->help ? f->help : "");
  PUT("</span>");
  if (f->type == LP_FIELD_CHOICE) {
    PF("<select id=\"f-%s\" name=\"%s\" aria-describedby=\"h-%s\">", f->name, f->name, f->name);
    if (retro || (saved && !val[0])) PUT("<option value=\"\"></option>");
    for (const char *p = f->choices; *p;) {
      size_t n = strcspn(p, "|");
      char c[64];
      snprintf(c, sizeof c, "%.*s", (int)(n < 63 ? n : 63), p);
      if (!(retro && !strcmp(f->name, "consent_by") && strcmp(c, "patient"))) {
        PF("<option value=\"%s\"%s>", c, !strcmp(c, val) ? " selected" : "");
        ESC(!strcmp(f->name, "consent_by") ? consent_by_words(c) : c);
        PUT("</option>");
      }
      p += n + (p[n] == '|');
    }
    PUT("</select>");
  } else if (f->type == LP_FIELD_DATE) {
    PF("<input id=\"f-%s\" name=\"%s\" type=\"datetime-local\" required aria-describedby=\"h-%s\" value=\"", f->name,
       f->name, f->name);
    char at[17];
    snprintf(at, sizeof at, "%.16s", val);
    ESC(at);
    PUT("\">");
  } else {
    PF("<input id=\"f-%s\" name=\"%s\" maxlength=\"200\" aria-describedby=\"h-%s\" value=\"", f->name, f->name,
       f->name);
    ESC(val);
    PUT("\">");
  }
  PUT("</div>");
}

static void consent_form(req *q, resp *r) {
  char patient[64] = "";
  lp_patient_view pv;
  bool correct = srv_query(q, "correct") != NULL;
  if (!patient_arg(q, r, srv_query(q, "patient") ? srv_query(q, "patient") : "", patient, sizeof patient, &pv,
                   correct ? LP_DO_RECORD : LP_DO_CONSENT))
    return;
  const char *kind =
      srv_query(q, "kind") && !strcmp(srv_query(q, "kind"), "retrospective") ? "retrospective" : "initial";
  json_t *saved = NULL;
  if (correct) {
    char *js = NULL;
    lp_error e;
    lp_status s = lp_consent_get(q->t, patient, kind, &js, &e);
    if (s) return message_page(q, r, srv_http_status(s), "Correct consent", e.message);
    if (!js)
      return message_page(q, r, 404, "Correct consent",
                          !strcmp(kind, "initial") ? "the patient has no consent record to correct"
                                                   : "the patient has no retrospective consent record to correct");
    saved = json_loads(js, 0, NULL);
    free(js);
    if (!saved) return message_page(q, r, 500, "Correct consent", "out of memory");
  }
  begin(q, r,
        correct ? (!strcmp(kind, "initial") ? "Correct consent" : "Correct retrospective consent")
                : (!strcmp(kind, "initial") ? "Record consent" : "Record retrospective consent"));
  PUT("<p>Patient <strong>");
  ESC(patient);
  PUT("</strong>, site ");
  ESC(pv.site);
  PUT(!strcmp(kind, "initial")
          ? ". Written informed consent from the patient or, when the patient lacks capacity, a personal or "
            "professional legal representative, before randomisation. Times are UTC.</p>"
          : ". The patient's own consent after a representative's, once capacity is regained; or say that the "
            "patient died or never regained capacity. Times are UTC.</p>");
  if (correct)
    PUT("<p>The saved values are shown: change what is wrong and say why. The audit trail keeps the old and the new "
        "values.</p>");
  PUT("<form class=\"card\" method=\"post\" action=\"/consent\">");
  csrf_field(q, r);
  PUT("<input type=\"hidden\" name=\"patient\" value=\"");
  ESC(patient);
  PF("\"><input type=\"hidden\" name=\"kind\" value=\"%s\"><div class=\"fields\">", kind);
  const lp_form *f = lp_form_get(LP_FORM_CONSENT);
  for (size_t i = 0; i < f->nfields; i++) consent_input(r, &f->fields[i], kind, saved);
  if (correct)
    PUT("<div><label for=\"f-reason\">Reason for the change</label><input id=\"f-reason\" name=\"reason\" "
        "required maxlength=\"500\"></div>");
  PUT(correct ? "</div><button type=\"submit\">Save the correction</button></form>"
              : "</div><button type=\"submit\">Record consent</button></form>");
  json_decref(saved);
  end(r);
}

static void do_consent(req *q, resp *r) {
  char patient[64] = "", v[512], reason[512] = "";
  srv_form(q, "patient", patient, sizeof patient);
  /* a correction: every field of the form is sent, an emptied one is cleared */
  bool correct = srv_form(q, "reason", reason, sizeof reason);
  lp_patient_view pv;
  if (!patient_arg(q, r, NULL, patient, sizeof patient, &pv, correct ? LP_DO_RECORD : LP_DO_CONSENT)) return;
  json_t *in = json_object();
  const lp_form *f = lp_form_get(LP_FORM_CONSENT);
  for (size_t i = 0; i < f->nfields; i++)
    if (srv_form(q, f->fields[i].name, v, sizeof v) && (v[0] || correct))
      json_object_set_new(in, f->fields[i].name, v[0] ? json_string(v) : json_null());
  char *js = json_dumps(in, JSON_COMPACT);
  json_decref(in);
  lp_consent_result c;
  lp_error e;
  lp_status s = !js       ? lp_error_set(&e, LP_ENOMEM, "out of memory")
                : correct ? lp_consent_correct(q->t, js, "the form", q->who.user, reason, &c, &e)
                          : lp_consent_record(q->t, js, "the form", q->who.user, &c, &e);
  free(js);
  if (s)
    return message_page(q, r, s == LP_EDATA ? 422 : srv_http_status(s), correct ? "Correct consent" : "Record consent",
                        e.message);
  if (correct) {
    begin(q, r, "Consent corrected");
    PUT("<div class=\"card\" role=\"status\"><p>Patient <strong>");
    ESC(c.patient);
    PUT("</strong>: ");
    ESC(!strcmp(c.kind, "initial") ? "consent" : "retrospective consent");
    PUT(" corrected (");
    ESC(c.decision);
    if (c.consent_by[0]) {
      PUT(" by ");
      ESC(consent_by_words(c.consent_by));
    }
    PUT("); the audit trail shows the old and new values.</p>");
    if (c.applied[0]) {
      PUT("<p class=\"notice\">");
      ESC(c.applied);
      PUT(".</p>");
    }
    PUT("</div><p><a href=\"/patients/");
    ESC(c.patient);
    PUT("\">Patient page</a></p>");
    return end(r);
  }
  r->code = 201;
  begin(q, r, "Consent recorded");
  PUT("<div class=\"card\" role=\"status\"><p>Patient <strong>");
  ESC(c.patient);
  PUT("</strong>: ");
  ESC(!strcmp(c.kind, "initial") ? "consent" : "retrospective consent");
  PUT(" ");
  ESC(c.decision);
  if (c.consent_by[0]) {
    PUT(" by ");
    ESC(consent_by_words(c.consent_by));
  }
  PUT(".</p>");
  if (c.retrospective_due)
    PUT("<p class=\"notice\">After randomisation the patient owes retrospective consent once capacity is regained; "
        "the site dashboard lists it until it is recorded.</p>");
  if (c.applied[0]) {
    PUT("<p class=\"notice\">Refused: ");
    ESC(c.applied);
    PUT(".</p>");
  }
  PUT("</div><p>");
  if (!strcmp(c.kind, "initial") && !pv.randomised) {
    PUT("<a class=\"button\" href=\"/randomise?patient=");
    ESC(c.patient);
    PUT("\">Randomise this patient</a> ");
  }
  PUT("<a href=\"/patients/");
  ESC(c.patient);
  PUT("\">Patient page</a></p>");
  end(r);
}

/* ---- randomisation ---- */

static bool patient_arg(req *q, resp *r, const char *from, char *buf, size_t n, lp_patient_view *pv, lp_action what) {
  if (from) snprintf(buf, n, "%s", from);
  if (!srv_code_ok(buf)) {
    message_page(q, r, 400, "Patient", "that is not a patient code");
    return false;
  }
  lp_error e;
  lp_status s = lp_patient_get(q->t, buf, pv, &e);
  if (s) {
    message_page(q, r, srv_http_status(s), "Patient", e.message);
    return false;
  }
  return allowed(q, r, what, pv->site, buf);
}

static void randomise_confirm(req *q, resp *r) {
  char patient[64] = "";
  lp_patient_view pv;
  if (!patient_arg(q, r, srv_query(q, "patient") ? srv_query(q, "patient") : "", patient, sizeof patient, &pv,
                   LP_DO_RANDOMISE))
    return;
  begin(q, r, "Randomise: confirm");
  PUT("<div class=\"card\"><p>Patient <strong>");
  ESC(patient);
  PUT("</strong> at site ");
  ESC(pv.site);
  PUT(", screened ");
  put_time(r, pv.screened_at);
  PUT(" by ");
  ESC(pv.screened_by);
  PUT(".</p>");
  if (pv.randomised) {
    PF("<p>Already randomised: pack <strong>%06ld</strong>.</p></div>", pv.pack);
  } else if (!pv.eligible) {
    PUT("<p class=\"bad\">Not eligible:</p>");
    failed_list(r, pv.failed);
    PUT("</div>");
  } else if (consent_missing(q, &pv)) {
    PUT("<p class=\"ok\">Eligible: every criterion met.</p><p class=\"bad\" role=\"alert\">No consent is "
        "recorded: record the written informed consent of the patient or of a personal or professional legal "
        "representative before randomisation.</p><p><a class=\"button\" href=\"/consent?patient=");
    ESC(patient);
    PUT("\">Record consent</a></p></div>");
  } else {
    PUT("<p class=\"ok\">Eligible: every criterion met.</p>");
    consent_line(r, &pv);
    PUT("<p>Randomising is final: the patient takes the site's next pack.</p><form method=\"post\" "
        "action=\"/randomise\">");
    csrf_field(q, r);
    PUT("<input type=\"hidden\" name=\"patient\" value=\"");
    ESC(patient);
    PUT("\"><button type=\"submit\">Confirm and randomise</button> <a href=\"/screen\">Cancel</a></form></div>");
  }
  end(r);
}

static void do_randomise(req *q, resp *r) {
  char patient[64] = "";
  srv_form(q, "patient", patient, sizeof patient);
  lp_patient_view pv;
  if (!patient_arg(q, r, NULL, patient, sizeof patient, &pv, LP_DO_RANDOMISE)) return;
  if (!pv.eligible) return message_page(q, r, 422, "Randomise", "this patient is not eligible; nothing was done");
  if (consent_missing(q, &pv))
    return message_page(q, r, 422, "Randomise",
                        "this patient has no consent record: record the consent before randomisation; nothing was "
                        "done");
  lp_allocation a;
  lp_error e;
  lp_status s = lp_trial_randomize(q->t, pv.site, patient, q->who.user, &a, &e);
  if (s) return message_page(q, r, srv_http_status_of(&e), "Randomise", e.message);
  r->code = a.existing ? 200 : 201;
  begin(q, r, "Randomised");
  PUT("<div class=\"card\">");
  if (a.existing) PUT("<p class=\"notice\">This patient was already randomised; this is that allocation.</p>");
  PUT("<p>Patient <strong>");
  ESC(a.patient);
  PUT("</strong>, site ");
  ESC(a.site);
  PUT("</p><p>Give the patient the pack numbered</p>");
  PF("<p class=\"pack\" id=\"pack\">%06ld</p>", a.pack);
  PUT("<p>Randomised ");
  put_time(r, a.randomized_at);
  PUT(" UTC by ");
  ESC(a.user);
  PF(" (the site's allocation %ld). Print this page for the patient's notes.</p></div>", a.sequence);
  PUT("<p class=\"noprint\"><a href=\"/patients/");
  ESC(a.patient);
  PUT("\">Patient page</a> &middot; <a href=\"/screen\">Screen another patient</a></p>");
  end(r);
}

/* ---- patient page ---- */

static void patient_page(req *q, resp *r, const char *code) {
  char patient[64] = "";
  lp_patient_view pv;
  if (!patient_arg(q, r, code, patient, sizeof patient, &pv, LP_DO_VIEW_PATIENT)) return;
  begin(q, r, "Patient");
  PUT("<div class=\"card\"><p><strong>");
  ESC(patient);
  PUT("</strong>, site ");
  ESC(pv.site);
  PUT("</p><h2>Screening</h2><p>");
  put_time(r, pv.screened_at);
  PUT(" by ");
  ESC(pv.screened_by);
  PF(": %s</p>", pv.eligible ? "<span class=\"ok\">eligible</span>" : "<span class=\"bad\">not eligible</span>");
  if (!pv.eligible) failed_list(r, pv.failed);
  consent_section(q, r, patient, &pv);
  PUT("<h2>Randomisation</h2>");
  if (pv.randomised) {
    PF("<p>Pack <strong>%06ld</strong>, the site's allocation %ld, ", pv.pack, pv.sequence);
    put_time(r, pv.randomized_at);
    PUT(" UTC by ");
    ESC(pv.randomized_by);
    PUT(".</p>");
    PF("<h2>Data so far</h2><ul><li>Baseline: %s</li><li>Infusion events recorded: %ld</li><li>Daily ICU "
       "records: %ld</li><li>Outcome: %s</li><li>Emergency unblindings: %ld</li></ul>",
       pv.baseline ? "recorded" : "missing", pv.infusion_events, pv.days,
       !pv.outcome            ? "not yet recorded"
       : pv.consent_withdrawn ? "consent withdrawn"
       : pv.died              ? "died"
                              : "recorded",
       pv.unblindings);
    srv_forms_list(q, r, patient);
    srv_patient_queries(q, r, patient);
  } else {
    PUT("<p>Not randomised.</p>");
    if (pv.eligible && !lp_access_check(q->who.role, q->who.site, LP_DO_RANDOMISE, pv.site, NULL)) {
      PUT("<p><a class=\"button\" href=\"/randomise?patient=");
      ESC(patient);
      PUT("\">Randomise</a></p>");
    }
  }
  PUT("</div><p>");
  if (pv.randomised && !lp_access_check(q->who.role, q->who.site, LP_DO_UNBLIND, pv.site, NULL)) {
    PUT("<a class=\"button danger\" href=\"/unblind?patient=");
    ESC(patient);
    PUT("\">Emergency unblinding</a> ");
  }
  if (pv.randomised) {
    PUT("<a class=\"button\" href=\"/sdv?patient=");
    ESC(patient);
    PUT("\">Forms, verification and signature</a> ");
  }
  if (!lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_AUDIT, pv.site, NULL)) {
    PUT("<a class=\"button\" href=\"/audit?patient=");
    ESC(patient);
    PUT("\">Audit trail of this patient</a>");
  }
  PUT("</p>");
  end(r);
}

/* ---- emergency unblinding ---- */

static void unblind_form(req *q, resp *r, const char *patient, const char *msg) {
  begin(q, r, "Emergency unblinding");
  if (msg) {
    PUT("<p class=\"error\" role=\"alert\">");
    ESC(msg);
    PUT("</p>");
  }
  PUT("<p class=\"notice\">Unblind only when the patient's care needs the allocation. The trial manager is "
      "told, and the unblinding is in the audit trail. The arm is shown to you once.</p>"
      "<form class=\"card\" method=\"post\" action=\"/unblind\">");
  csrf_field(q, r);
  PUT("<input type=\"hidden\" name=\"patient\" value=\"");
  ESC(patient);
  PUT("\"><p>Patient <strong>");
  ESC(patient);
  PUT("</strong></p><label for=\"reason\">Reason</label><span class=\"help\" id=\"reason-help\">The clinical "
      "reason the allocation is needed.</span><textarea id=\"reason\" name=\"reason\" required maxlength=\"500\" "
      "aria-describedby=\"reason-help\"></textarea><label for=\"password\">Your password, again</label>"
      "<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>"
      "<button class=\"danger\" type=\"submit\">Unblind</button></form>");
  end(r);
}

static void unblind_page(req *q, resp *r) {
  char patient[64] = "";
  lp_patient_view pv;
  if (!patient_arg(q, r, srv_query(q, "patient") ? srv_query(q, "patient") : "", patient, sizeof patient, &pv,
                   LP_DO_UNBLIND))
    return;
  unblind_form(q, r, patient, NULL);
}

static void do_unblind(req *q, resp *r) {
  char patient[64] = "", reason[512], pw[LP_PASSWORD_MAX + 2];
  srv_form(q, "patient", patient, sizeof patient);
  lp_patient_view pv;
  if (!patient_arg(q, r, NULL, patient, sizeof patient, &pv, LP_DO_UNBLIND)) return;
  srv_form(q, "reason", reason, sizeof reason);
  srv_form(q, "password", pw, sizeof pw);
  lp_error e;
  lp_status s = lp_password_confirm(q->t, &q->policy, q->who.user, pw, &e);
  sodium_memzero(pw, sizeof pw);
  if (s) {
    r->code = 403;
    return unblind_form(q, r, patient, e.message);
  }
  if (!reason[0]) {
    r->code = 400;
    return unblind_form(q, r, patient, "a reason is required");
  }
  if (!q->key)
    return message_page(q, r, 409, "Emergency unblinding",
                        "this server does not hold the list key; call the trial's emergency line");
  lp_unblinding u;
  if ((s = lp_trial_unblind(q->t, q->key, patient, reason, q->who.user, &u, &e)))
    return message_page(q, r, srv_http_status(s), "Emergency unblinding", e.message);
  r->code = 201;
  begin(q, r, "Unblinded");
  PUT("<div class=\"card\" role=\"status\"><p>Patient <strong>");
  ESC(u.patient);
  PUT("</strong> received</p>");
  PUT("<p class=\"arm\" id=\"arm\">");
  ESC(lp_trial_arm_label(q->t, u.arm));
  PUT("</p><p>This is shown once. It is recorded that you unblinded this patient at ");
  put_time(r, u.at);
  PUT(" UTC; the trial manager sees it on their home page.</p></div>");
  end(r);
}

/* ---- audit trail ---- */

typedef struct {
  req *q;
  resp *r;
  char **site_patients;
  size_t nsite;
  bool counting;
  size_t total, skip, seen, shown, max;
} audit_ctx;

static bool of_site(audit_ctx *a, const char *patient) {
  for (size_t i = 0; i < a->nsite; i++)
    if (!strcmp(a->site_patients[i], patient)) return true;
  return false;
}

/* A row's audited content, one "column: value" a line (as text when it is not JSON);
 * beside the other side of a change (`other`, may be NULL), the lines that differ are
 * marked, so that old and new values are read side by side. */
static void put_row_value(resp *r, const char *v, const char *other) {
  if (!v) return;
  json_t *j = json_loads(v, 0, NULL), *o = other ? json_loads(other, 0, NULL) : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    json_decref(o);
    PUT("<pre>");
    ESC(v);
    PUT("</pre>");
    return;
  }
  PUT("<pre>");
  const char *k;
  json_t *x;
  json_object_foreach(j, k, x) {
    bool changed = json_is_object(o) && !json_equal(x, json_object_get(o, k));
    if (changed) PUT("<mark>");
    ESC(k);
    PUT(": ");
    if (json_is_string(x)) ESC(json_string_value(x));
    else if (json_is_real(x)) /* as entered: 0.2, not the double's 0.20000000000000001 */
      PF("%.15g", json_real_value(x));
    else {
      char *t = json_dumps(x, JSON_ENCODE_ANY | JSON_COMPACT);
      ESC(t);
      free(t);
    }
    PUT(changed ? "</mark>\n" : "\n");
  }
  PUT("</pre>");
  json_decref(j);
  json_decref(o);
}

static int audit_row(void *ctx, const lp_audit_entry *e) {
  audit_ctx *a = ctx;
  resp *r = a->r;
  if (a->site_patients && !(e->patient && of_site(a, e->patient)) && strcmp(e->user, a->q->who.user)) return 0;
  if (a->counting) { /* first pass: how many the user may see */
    a->total++;
    return 0;
  }
  if (a->seen++ < a->skip) return 0; /* only the latest `max` */
  a->shown++;
  PF("<tr><td class=\"num\">%ld</td><td>", e->id);
  put_time(r, e->at);
  PUT("</td><td>");
  ESC(e->user);
  PUT("</td><td>");
  ESC(e->action);
  PUT(" ");
  ESC(e->table);
  PF(" %ld</td><td>", e->row);
  ESC(e->patient ? e->patient : "");
  PUT("</td><td>");
  ESC(e->reason ? e->reason : "");
  PUT("</td><td>");
  put_row_value(r, e->old_value, e->new_value);
  PUT("</td><td>");
  put_row_value(r, e->new_value, e->old_value);
  PUT("</td></tr>");
  return 0;
}

static void audit_page(req *q, resp *r) {
  const char *patient = srv_query(q, "patient");
  if (patient && !*patient) patient = NULL;
  const char *site = q->who.site[0] ? q->who.site : NULL;
  lp_patient_view pv;
  lp_error e;
  if (patient) {
    if (!srv_code_ok(patient)) return message_page(q, r, 400, "Audit trail", "that is not a patient code");
    lp_status s = lp_patient_get(q->t, patient, &pv, &e);
    if (s) return message_page(q, r, srv_http_status(s), "Audit trail", e.message);
    site = pv.site;
  }
  if (!allowed(q, r, LP_DO_VIEW_AUDIT, site, patient)) return;
  audit_ctx a = {.q = q, .r = r, .max = 500};
  lp_screening_row *rows = NULL;
  bool bound = q->who.site[0] != '\0';
  if (bound && !patient) { /* a site-bound user sees their site's patients and their own actions */
    size_t n = 0;
    if (lp_screening_log(q->t, q->who.site, 1000000, &rows, &n, &e))
      return message_page(q, r, 500, "Audit trail", e.message);
    a.site_patients = calloc(n + 1, sizeof *a.site_patients);
    for (size_t i = 0; i < n; i++)
      if (rows[i].patient[0]) a.site_patients[a.nsite++] = rows[i].patient;
  }
  begin(q, r, patient ? "Audit trail of a patient" : "Audit trail");
  if (patient) {
    PUT("<p>Patient ");
    ESC(patient);
    PUT(".</p>");
  } else if (bound) {
    PUT("<p>Entries concerning site ");
    ESC(q->who.site);
    PUT("'s patients, and your own actions.</p>");
  }
  PUT("<div class=\"scroll\"><table class=\"audit\"><thead><tr><th>#</th><th>When "
      "(UTC)</th><th>User</th><th>Change</th>"
      "<th>Patient</th><th>Reason</th><th>Old value</th><th>New value</th></tr></thead><tbody>");
  a.counting = true;
  lp_audit_log(q->t, patient, audit_row, &a, &e);
  a.counting = false;
  a.skip = a.total > a.max ? a.total - a.max : 0;
  lp_audit_log(q->t, patient, audit_row, &a, &e);
  PUT("</tbody></table></div>");
  if (a.skip) PF("<p>The latest %zu of %zu entries are shown.</p>", a.shown, a.total);
  free(a.site_patients);
  free(rows);
  end(r);
}

/* ---- users and sites (manager) ---- */

/* The full name of a user in the users table, with the form that records or changes it. */
static void full_name_cell(req *q, resp *r, const lp_user_info *u) {
  PUT("<form method=\"post\" action=\"/users/name\">");
  csrf_field(q, r);
  PUT("<input type=\"hidden\" name=\"name\" value=\"");
  ESC(u->name);
  PUT("\"><label class=\"visually-hidden\" for=\"fn-");
  ESC(u->name);
  PUT("\">Full name of ");
  ESC(u->name);
  PUT("</label><input id=\"fn-");
  ESC(u->name);
  PUT("\" name=\"full_name\" maxlength=\"127\" value=\"");
  ESC(u->full_name);
  PUT("\"><button type=\"submit\">Save</button></form>");
  if (!u->full_name[0]) PUT("<span class=\"help\">none: signatures show the account name</span>");
}

static void users_page(req *q, resp *r, const char *msg) {
  if (!allowed(q, r, LP_DO_MANAGE_USERS, NULL, NULL)) return;
  lp_user_info *u = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_user_list(q->t, &u, &n, &e)) return message_page(q, r, 500, "Users", e.message);
  begin(q, r, "Users and sites");
  if (msg) {
    PUT("<p class=\"notice\" role=\"status\">");
    ESC(msg);
    PUT("</p>");
  }
  PUT("<div class=\"scroll\"><table><thead><tr><th>User</th><th>Full name (printed in signatures)</th><th>Role</th>"
      "<th>Site</th><th>State</th><th>Deactivate</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    const char *state = !u[i].active         ? "deactivated"
                        : u[i].locked        ? "locked out"
                        : !u[i].has_password ? "no password"
                        : u[i].must_change   ? "one-time password"
                                             : "active";
    PUT("<tr><td>");
    ESC(u[i].name);
    PUT("</td><td>");
    full_name_cell(q, r, &u[i]);
    PF("</td><td>%s%s</td><td>", lp_role_name(u[i].role),
       u[i].role == LP_ROLE_INVESTIGATOR && lp_user_is_pi(q->t, u[i].name) ? ", principal investigator" : "");
    ESC(u[i].site);
    PF("</td><td>%s</td><td>", state);
    if (u[i].active && strcmp(u[i].name, q->who.user)) {
      PUT("<form method=\"post\" action=\"/users/deactivate\">");
      csrf_field(q, r);
      PUT("<input type=\"hidden\" name=\"name\" value=\"");
      ESC(u[i].name);
      PUT("\"><label for=\"why-");
      ESC(u[i].name);
      PUT("\">Reason</label><input id=\"why-");
      ESC(u[i].name);
      PUT("\" name=\"reason\" required maxlength=\"200\"><button class=\"danger\" type=\"submit\">Deactivate</button>"
          "</form>");
    }
    PUT("</td></tr>");
  }
  PUT("</tbody></table></div>");
  free(u);
  PUT("<h2>Register a user</h2><form class=\"card\" method=\"post\" action=\"/users\">");
  csrf_field(q, r);
  PUT("<label for=\"name\">User name</label><input id=\"name\" name=\"name\" required maxlength=\"63\">"
      "<label for=\"full_name\">Full name</label><span class=\"help\" id=\"full-name-help\">As printed in "
      "electronic signatures (needed for a principal investigator's, who signs casebooks).</span>"
      "<input id=\"full_name\" name=\"full_name\" maxlength=\"127\" aria-describedby=\"full-name-help\">"
      "<label for=\"role\">Role</label><select id=\"role\" name=\"role\"><option value=\"investigator\">"
      "investigator</option><option value=\"manager\">trial manager</option><option value=\"statistician\">"
      "statistician</option><option value=\"monitor\">monitor</option></select><label for=\"site\">Site</label>"
      "<span class=\"help\" id=\"site-help\">Required for an investigator; a monitor may have one.</span>"
      "<input id=\"site\" name=\"site\" maxlength=\"32\" aria-describedby=\"site-help\">"
      "<label for=\"pi\"><input id=\"pi\" name=\"pi\" type=\"checkbox\" value=\"1\"> the site's principal "
      "investigator (signs its casebooks)</label>"
      "<button type=\"submit\">Register</button></form><p>Then set their one-time password on the server: "
      "<code>leopards user passwd --db FILE --name NAME --user YOU</code> (read from standard input).</p>");
  lp_progress p;
  if (!lp_trial_progress(q->t, NULL, NULL, &p, &e)) {
    PUT("<h2>Sites</h2><p>");
    for (size_t i = 0; i < p.nsites; i++) {
      if (i) PUT(", ");
      PUT("<a href=\"/status?site=");
      ESC(p.sites[i].code);
      PUT("\">");
      ESC(p.sites[i].code);
      PUT("</a>");
    }
    PUT("</p>");
    lp_progress_clear(&p);
  }
  end(r);
}

static void do_user_add(req *q, resp *r) {
  if (!allowed(q, r, LP_DO_MANAGE_USERS, NULL, NULL)) return;
  char name[64], role[32], site[64];
  srv_form(q, "name", name, sizeof name);
  srv_form(q, "role", role, sizeof role);
  srv_form(q, "site", site, sizeof site);
  int ri = !strcmp(role, "investigator")   ? 0
           : !strcmp(role, "manager")      ? 1
           : !strcmp(role, "statistician") ? 2
           : !strcmp(role, "monitor")      ? 3
                                           : -1;
  if (ri < 0 || !srv_code_ok(name) || (site[0] && !srv_code_ok(site)))
    return message_page(q, r, 400, "Users", "a user name and site code have 1 to 32 letters, digits, - _ .");
  lp_error e;
  char pi[8] = "";
  srv_form(q, "pi", pi, sizeof pi);
  char full[LP_FULL_NAME_MAX + 2] = "";
  srv_form(q, "full_name", full, sizeof full);
  lp_status s = lp_user_add(q->t, q->who.user, name, (lp_role)ri, site[0] ? site : NULL, &e);
  if (!s && full[0]) s = lp_user_set_full_name(q->t, q->who.user, name, full, &e);
  if (!s && pi[0]) s = lp_site_pi_set(q->t, q->who.user, name, &e);
  if (s) return message_page(q, r, srv_http_status(s), "Users", e.message);
  redirect(r, "/users");
}

static void do_user_name(req *q, resp *r) {
  if (!allowed(q, r, LP_DO_MANAGE_USERS, NULL, NULL)) return;
  char name[64] = "", full[LP_FULL_NAME_MAX + 2] = "";
  srv_form(q, "name", name, sizeof name);
  srv_form(q, "full_name", full, sizeof full);
  lp_error e;
  lp_status s = lp_user_set_full_name(q->t, q->who.user, name, full, &e);
  if (s) return message_page(q, r, srv_http_status(s), "Users", e.message);
  redirect(r, "/users");
}

static void do_user_deactivate(req *q, resp *r) {
  if (!allowed(q, r, LP_DO_MANAGE_USERS, NULL, NULL)) return;
  char name[64], reason[256];
  srv_form(q, "name", name, sizeof name);
  srv_form(q, "reason", reason, sizeof reason);
  lp_error e;
  lp_status s = lp_user_deactivate(q->t, q->who.user, name, reason, &e);
  if (s) return message_page(q, r, srv_http_status(s), "Users", e.message);
  redirect(r, "/users");
}

/* ---- shared with pages_admin.c ---- */

void srvp_begin(req *q, resp *r, const char *title) { begin(q, r, title); }
void srvp_end(resp *r) { end(r); }
void srvp_csrf_field(req *q, resp *r) { csrf_field(q, r); }
void srvp_redirect(resp *r, const char *to) { redirect(r, to); }
void srvp_message(req *q, resp *r, int code, const char *title, const char *msg) {
  message_page(q, r, code, title, msg);
}
bool srvp_allowed(req *q, resp *r, lp_action what, const char *site, const char *patient) {
  return allowed(q, r, what, site, patient);
}

/* ---- shared with the form pages (pages_forms.c); srv_page_begin and the others are
 * at the end of this file ---- */

bool srv_page_allowed(req *q, resp *r, lp_action what, const char *site, const char *patient) {
  return allowed(q, r, what, site, patient);
}
void srv_page_csrf(req *q, resp *r) { csrf_field(q, r); }

/* ---- routing ---- */

void srv_page(req *q, resp *r) {
  const char *p = q->path;
  bool post = !strcmp(q->method, "POST"), get = !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD");
  if (!post && !get) return message_page(q, r, 405, "Not allowed", "method not allowed");
  if (!strcmp(p, "/style.css")) {
    r->ctype = "text/css; charset=utf-8";
    r->cacheable = true;
    PUT(stylesheet);
    srv_forms_css(r);
    return;
  }
  if (!strcmp(p, "/forms.js")) return srv_forms_js(r);
  if (!strcmp(p, "/login")) {
    if (post) return do_login(q, r);
    if (q->authed) return redirect(r, "/home");
    return login_form(q, r, NULL, NULL);
  }
  if (!q->authed) {
    if (post) return message_page(q, r, 401, "Log in", "not logged in (or the session ended): log in again");
    return redirect(r, "/login");
  }
  if (post && !csrf_ok(q))
    return message_page(q, r, 403, "Not allowed", "the form's anti-forgery token is missing or wrong; reload the page");
  if (!strcmp(p, "/logout") && post) {
    lp_session_logout(q->t, q->token, NULL);
    srv_session_cookie(q, r, "", true);
    return redirect(r, "/login");
  }
  if (!strcmp(p, "/password")) return post ? do_password(q, r) : password_form(q, r, NULL, false);
  if (q->who.must_change) {
    if (post) return message_page(q, r, 403, "Choose your password", "choose your own password first");
    return redirect(r, "/password");
  }
  if (!strcmp(p, "/") || !strcmp(p, "/home")) return home(q, r);
  if (!strcmp(p, "/status") && get) return status_page(q, r);
  if (!strcmp(p, "/screen")) return post ? do_screen(q, r) : screen_page(q, r);
  if (!strcmp(p, "/randomise")) return post ? do_randomise(q, r) : randomise_confirm(q, r);
  if (!strcmp(p, "/consent")) return post ? do_consent(q, r) : consent_form(q, r);
  if (!strncmp(p, "/patients/", 10) && strstr(p + 10, "/forms/")) return srv_form_page(q, r, p + 10, post);
  if (!strncmp(p, "/patients/", 10) && get) return patient_page(q, r, p + 10);
  if (!strcmp(p, "/unblind")) return post ? do_unblind(q, r) : unblind_page(q, r);
  if (!strcmp(p, "/audit") && get) return audit_page(q, r);
  if (!strcmp(p, "/users")) return post ? do_user_add(q, r) : users_page(q, r, NULL);
  if (!strcmp(p, "/users/deactivate") && post) return do_user_deactivate(q, r);
  if (!strcmp(p, "/users/name") && post) return do_user_name(q, r);
  if (srv_admin_page(q, r, post)) return;
  if (srv_pages_queries(q, r, p, get, post)) return;
  message_page(q, r, 404, "Not found", "there is no such page");
}

/* For the pages of pages_queries.c: the same frame, times and messages. */
void srv_page_begin(req *q, resp *r, const char *title) { begin(q, r, title); }
void srv_page_end(resp *r) { end(r); }
void srv_page_csrf_field(req *q, resp *r) { csrf_field(q, r); }
void srv_page_time(resp *r, const char *iso) { put_time(r, iso); }
void srv_page_message(req *q, resp *r, int code, const char *title, const char *msg) {
  message_page(q, r, code, title, msg);
}
void srv_page_redirect(resp *r, const char *to) { redirect(r, to); }
