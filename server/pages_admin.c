/* Pages of leopards serve for personal API tokens (every user, their own), the sites
 * during the trial (trial manager: add, close to recruitment) and the randomisation
 * list (statistician: status, and extension when the server holds the key). The same
 * rules as every page: lp_access_check first, forms with the anti-forgery token,
 * every value escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server.h"

#define ESC(s) srv_html_escape(&r->body, (s))
#define PUT(s) lp_strbuf_puts(&r->body, (s))
#define PF(...) lp_strbuf_printf(&r->body, __VA_ARGS__)

static void notice(resp *r, const char *cls, const char *msg) {
  if (!msg) return;
  PF("<p class=\"%s\" role=\"%s\">", cls, strcmp(cls, "error") ? "status" : "alert");
  ESC(msg);
  PUT("</p>");
}

/* An ISO time as "2026-12-01 21:06" (as the other pages show times). */
static void put_time(resp *r, const char *iso) {
  if (iso && strlen(iso) >= 16 && iso[10] == 'T') PF("%.10s %.5s", iso, iso + 11);
  else
    ESC(iso);
}

/* ---- API tokens ---- */

static void tokens_page(req *q, resp *r, const char *msg, const char *shown) {
  lp_api_token_info *x = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_api_token_list(q->t, q->who.user, &x, &n, &e)) return srvp_message(q, r, 500, "API tokens", e.message);
  srvp_begin(q, r, "API tokens");
  notice(r, shown ? "notice" : "error", msg);
  if (shown) {
    PUT("<div class=\"card\"><p>Your new token, shown this once (it is stored only as a hash): copy it now and "
        "send it as <code>Authorization: Bearer TOKEN</code>.</p><p><code class=\"token\">");
    ESC(shown);
    PUT("</code></p></div>");
  }
  PUT("<p>A personal API token lets a program act as you through the JSON API (<code>/api/v1</code>), with your "
      "role and site. It is not a login session: it lasts until it expires or you revoke it.</p>");
  if (n) {
    PUT("<div class=\"scroll\"><table><thead><tr><th>No.</th><th>Label</th><th>Created</th><th>Expires</th>"
        "<th>Last used</th><th>State</th><th>Revoke</th></tr></thead><tbody>");
    for (size_t i = 0; i < n; i++) {
      PF("<tr><td>%ld</td><td>", x[i].id);
      ESC(x[i].label);
      PUT("</td><td>");
      put_time(r, x[i].created_at);
      PUT("</td><td>");
      put_time(r, x[i].expires_at);
      PUT("</td><td>");
      put_time(r, x[i].last_used);
      PF("</td><td>%s</td><td>", x[i].revoked ? "revoked" : x[i].expired ? "expired" : "active");
      if (!x[i].revoked) {
        PUT("<form method=\"post\" action=\"/tokens/revoke\">");
        srvp_csrf_field(q, r);
        PF("<input type=\"hidden\" name=\"id\" value=\"%ld\"><button class=\"danger\" type=\"submit\" "
           "aria-label=\"Revoke token %ld\">Revoke</button></form>",
           x[i].id, x[i].id);
      }
      PUT("</td></tr>");
    }
    PUT("</tbody></table></div>");
  }
  free(x);
  if (!q->who.api_token) {
    PUT("<h2>Create a token</h2><form class=\"card\" method=\"post\" action=\"/tokens\">");
    srvp_csrf_field(q, r);
    PUT("<label for=\"label\">What it is for</label><input id=\"label\" name=\"label\" required maxlength=\"80\">"
        "<label for=\"days\">Lasts (days)</label><span class=\"help\" id=\"days-help\">1 to 3660.</span>"
        "<input id=\"days\" name=\"days\" type=\"number\" min=\"1\" max=\"3660\" value=\"90\" required "
        "aria-describedby=\"days-help\"><button type=\"submit\">Create token</button></form>");
  }
  srvp_end(r);
}

static void do_token_add(req *q, resp *r) {
  char label[128], days[16];
  srv_form(q, "label", label, sizeof label);
  srv_form(q, "days", days, sizeof days);
  char tok[LP_API_TOKEN_LEN + 1];
  lp_error e;
  long d = strtol(days, NULL, 10);
  lp_status s = lp_api_token_create(q->t, q->who.user, label, (int)(d > 0 && d < 100000 ? d : 0), tok, NULL, &e);
  if (s) {
    r->code = srv_http_status(s);
    return tokens_page(q, r, e.message, NULL);
  }
  r->code = 201;
  tokens_page(q, r, "token created", tok);
  sodium_memzero(tok, sizeof tok);
}

static void do_token_revoke(req *q, resp *r) {
  char id[24];
  srv_form(q, "id", id, sizeof id);
  lp_error e;
  if (lp_api_token_revoke(q->t, q->who.user, strtol(id, NULL, 10), &e)) {
    r->code = srv_http_status(e.status);
    return tokens_page(q, r, e.message, NULL);
  }
  srvp_redirect(r, "/tokens");
}

/* ---- sites (trial manager) ---- */

static void sites_page(req *q, resp *r, int code, const char *msg) {
  if (!srvp_allowed(q, r, LP_DO_MANAGE_SITES, NULL, NULL)) return;
  lp_site_info *x = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_site_list(q->t, &x, &n, &e)) return srvp_message(q, r, 500, "Sites", e.message);
  r->code = code;
  srvp_begin(q, r, "Sites");
  notice(r, code < 400 ? "notice" : "error", msg);
  PUT("<div class=\"scroll\"><table><thead><tr><th>Site</th><th>Name</th><th>Randomised</th><th>List slots</th>"
      "<th>Recruitment</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    PUT("<tr><td><a href=\"/status?site=");
    ESC(x[i].code);
    PUT("\">");
    ESC(x[i].code);
    PUT("</a></td><td>");
    ESC(x[i].name);
    PF("</td><td>%ld</td><td>%ld%s</td><td>", x[i].randomised, x[i].slots,
       x[i].slots ? "" : " (none yet: the statistician extends the list)");
    if (x[i].closed) {
      PUT("closed ");
      put_time(r, x[i].closed_at);
      PUT(": ");
      ESC(x[i].closed_reason);
    } else {
      PUT("open <details><summary>Close to recruitment</summary><form method=\"post\" action=\"/sites/close\">");
      srvp_csrf_field(q, r);
      PUT("<input type=\"hidden\" name=\"site\" value=\"");
      ESC(x[i].code);
      PUT("\"><label for=\"why-");
      ESC(x[i].code);
      PUT("\">Reason to close</label><input id=\"why-");
      ESC(x[i].code);
      PUT("\" name=\"reason\" required minlength=\"3\" maxlength=\"200\"><button class=\"danger\" "
          "type=\"submit\">Close to recruitment</button></form></details>");
    }
    PUT("</td></tr>");
  }
  PUT("</tbody></table></div>");
  free(x);
  PUT("<h2>Add a site</h2><form class=\"card\" method=\"post\" action=\"/sites\">");
  srvp_csrf_field(q, r);
  PUT("<label for=\"code\">Site code</label><span class=\"help\" id=\"code-help\">1 to 32 letters, digits, "
      "- _ or .</span><input id=\"code\" name=\"code\" required maxlength=\"32\" aria-describedby=\"code-help\">"
      "<label for=\"name\">Name</label><input id=\"name\" name=\"name\" maxlength=\"200\">"
      "<button type=\"submit\">Add site</button></form><p>A new site gets its randomisation list when the "
      "statistician extends the list (or at its first randomisation, when this server holds the key).</p>");
  srvp_end(r);
}

static void do_site_add(req *q, resp *r) {
  if (!srvp_allowed(q, r, LP_DO_MANAGE_SITES, NULL, NULL)) return;
  char code[64], name[256];
  srv_form(q, "code", code, sizeof code);
  srv_form(q, "name", name, sizeof name);
  if (!srv_code_ok(code)) return sites_page(q, r, 400, "a site code has 1 to 32 letters, digits, - _ or .");
  lp_error e;
  if (lp_site_add(q->t, q->who.user, code, name[0] ? name : NULL, &e))
    return sites_page(q, r, srv_http_status(e.status), e.message);
  srvp_redirect(r, "/sites");
}

static void do_site_close(req *q, resp *r) {
  if (!srvp_allowed(q, r, LP_DO_MANAGE_SITES, NULL, NULL)) return;
  char site[64], reason[256];
  srv_form(q, "site", site, sizeof site);
  srv_form(q, "reason", reason, sizeof reason);
  lp_error e;
  if (!srv_code_ok(site)) return sites_page(q, r, 400, "no such site");
  if (lp_site_close(q->t, q->who.user, site, reason, &e)) return sites_page(q, r, srv_http_status(e.status), e.message);
  srvp_redirect(r, "/sites");
}

/* ---- the randomisation list (statistician) ---- */

static void list_page(req *q, resp *r, int code, const char *msg) {
  if (!srvp_allowed(q, r, LP_DO_LIST, NULL, NULL)) return;
  lp_site_info *x = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_site_list(q->t, &x, &n, &e)) return srvp_message(q, r, 500, "Randomisation list", e.message);
  r->code = code;
  srvp_begin(q, r, "Randomisation list");
  notice(r, code < 400 ? "notice" : "error", msg);
  long slots = 0, used = 0;
  for (size_t i = 0; i < n; i++) slots += x[i].slots, used += x[i].randomised;
  PF("<p>%zu sites; %ld sealed slots, %ld used, %ld left. The arms stay sealed: this page shows none.</p>", n, slots,
     used, slots - used);
  if (q->key) {
    lp_list_report rep;
    if (!lp_list_report_make(q->t, q->key, &rep, &e)) {
      PF("<p class=\"%s\">%s</p>", rep.reproduces ? "notice" : "error",
         rep.reproduces ? "Every slot re-derived from the key's secret matches the sealed list."
                        : "Some slots do not match what the key's secret gives: see leopards list report.");
      lp_list_report_clear(&rep);
    }
  }
  PUT("<div class=\"scroll\"><table><thead><tr><th>Site</th><th>Slots</th><th>Used</th><th>Left</th>"
      "<th>Recruitment</th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    long left = x[i].slots - x[i].randomised;
    PUT("<tr><td>");
    ESC(x[i].code);
    PF("</td><td>%ld</td><td>%ld</td><td>%s%ld%s</td><td>%s</td></tr>", x[i].slots, x[i].randomised,
       left < 10 && !x[i].closed ? "<strong>" : "", left, left < 10 && !x[i].closed ? " (extend)</strong>" : "",
       x[i].closed ? "closed" : "open");
  }
  PUT("</tbody></table></div>");
  free(x);
  PUT("<h2>Extend the list</h2>");
  if (q->key) {
    PUT("<form class=\"card\" method=\"post\" action=\"/list/extend\">");
    srvp_csrf_field(q, r);
    PUT("<label for=\"per_site\">Unused slots to keep per site</label><span class=\"help\" id=\"per-help\">Each "
        "site's list is extended from the same secret to at least this many unused slots; a new site gets its "
        "first slots. Empty: the reserve chosen at generation.</span><input id=\"per_site\" name=\"per_site\" "
        "type=\"number\" min=\"1\" max=\"100000\" aria-describedby=\"per-help\"><button type=\"submit\">Extend the "
        "list</button></form>");
  } else {
    PUT("<p>This server does not hold the list key, so the list is extended on the command line by the key's "
        "holder: <code>leopards list generate --db FILE --key KEY --user YOU</code>.</p>");
  }
  srvp_end(r);
}

static void do_list_extend(req *q, resp *r) {
  if (!srvp_allowed(q, r, LP_DO_LIST, NULL, NULL)) return;
  if (!q->key) return list_page(q, r, 409, "this server does not hold the list key");
  char per[24];
  srv_form(q, "per_site", per, sizeof per);
  lp_list_options o;
  lp_list_options_default(&o);
  if (per[0]) o.per_site = strtol(per, NULL, 10);
  lp_list_summary sum;
  lp_error e;
  if (lp_list_generate(q->t, q->key, &o, q->who.user, &sum, &e))
    return list_page(q, r, srv_http_status(e.status), e.message);
  char msg[200];
  snprintf(msg, sizeof msg, "the list was extended: %ld slots added, %ld in all (%ld existing slots checked)",
           sum.slots_added, sum.slots_total, sum.slots_checked);
  list_page(q, r, 200, msg);
}

bool srv_admin_page(req *q, resp *r, bool post) {
  const char *p = q->path;
  if (!strcmp(p, "/tokens")) {
    if (post && q->who.api_token) srvp_message(q, r, 403, "API tokens", "an API token cannot create API tokens");
    else if (post)
      do_token_add(q, r);
    else
      tokens_page(q, r, NULL, NULL);
  } else if (!strcmp(p, "/tokens/revoke") && post) {
    do_token_revoke(q, r);
  } else if (!strcmp(p, "/sites")) {
    if (post) do_site_add(q, r);
    else
      sites_page(q, r, 200, NULL);
  } else if (!strcmp(p, "/sites/close") && post) {
    do_site_close(q, r);
  } else if (!strcmp(p, "/list") && !post) {
    list_page(q, r, 200, NULL);
  } else if (!strcmp(p, "/list/extend") && post) {
    do_list_extend(q, r);
  } else {
    return false;
  }
  return true;
}
