/* The JSON API of leopards serve under /api/v1: the same operations and rules as the
 * pages (lp_access_check on every request), the command line's error shape
 * {"error": {"status", "message", "field"}}, and the status codes of docs/api.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "server.h"

void srv_json(resp *r, int code, json_t *j) {
  r->code = code;
  r->ctype = "application/json";
  char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(j);
  lp_strbuf_puts(&r->body, s ? s : "{}");
  lp_strbuf_puts(&r->body, "\n");
  free(s);
}

void srv_json_fail(resp *r, int code, lp_status st, const char *msg, const char *field) {
  json_t *e = json_pack("{s:s, s:s}", "status", lp_status_name(st), "message", msg);
  if (field && *field) json_object_set_new(e, "field", json_string(field));
  srv_json(r, code, json_pack("{s:o}", "error", e));
}

static void fail_err(resp *r, const lp_error *e) {
  srv_json_fail(r, srv_http_status_of(e), e->status, e->message, e->field);
}

static json_t *body_json(req *q, resp *r) {
  json_error_t je;
  json_t *j = q->body ? json_loadb(q->body, q->nbody, JSON_REJECT_DUPLICATES, &je) : NULL;
  if (!json_is_object(j)) {
    json_decref(j);
    srv_json_fail(r, 400, LP_EPARSE, "the body must be a JSON object", NULL);
    return NULL;
  }
  return j;
}

static const char *jstr(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool check(req *q, resp *r, lp_action what, const char *site, const char *patient) {
  lp_error e;
  if (!lp_access_check(q->who.role, q->who.site, what, site, &e)) return true;
  lp_access_refused(q->t, q->who.user, what, site, patient, NULL);
  srv_json_fail(r, 403, LP_EDENIED, e.message, NULL);
  return false;
}

static bool patient_of(req *q, resp *r, const char *code, lp_patient_view *pv) {
  if (!srv_code_ok(code)) {
    srv_json_fail(r, 400, LP_EINVAL, "a patient code has 1 to 32 letters, digits, '-', '_' or '.'", "patient");
    return false;
  }
  lp_error e;
  if (lp_patient_get(q->t, code, pv, &e)) {
    fail_err(r, &e);
    return false;
  }
  return true;
}

static json_t *identity(const lp_identity *w) {
  return json_pack("{s:s, s:s, s:s?, s:b, s:s, s:s}", "user", w->user, "role", lp_role_name(w->role), "site",
                   w->site[0] ? w->site : NULL, "must_change_password", w->must_change, "expires_at", w->expires_at,
                   "csrf_token", w->csrf);
}

static void login(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *user = jstr(j, "user"), *pw = jstr(j, "password");
  if (!user || !pw) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "give \"user\" and \"password\"", !user ? "user" : "password");
  }
  char tok[LP_TOKEN_HEX + 1];
  lp_identity who;
  bool locked = false;
  lp_error e;
  lp_status s = lp_session_login(q->t, &q->policy, user, pw, tok, &who, &locked, &e);
  json_decref(j);
  if (s) return srv_json_fail(r, locked ? 429 : 401, s, e.message, NULL);
  srv_session_cookie(q, r, tok, false);
  json_t *o = identity(&who);
  json_object_set_new(o, "token", json_string(tok));
  sodium_memzero(tok, sizeof tok);
  srv_json(r, 200, o);
}

/* The library calls of the write requests, run by srv_write (group commit). */
typedef struct {
  const char *site, *patient, *js, *user;
  lp_screen_result *res;
} screen_call;

static lp_status do_screen(lp_trial *t, void *arg, lp_error *err) {
  screen_call *c = arg;
  return lp_trial_screen(t, c->site, c->patient, c->js, c->user, c->res, err);
}

typedef struct {
  const char *site, *patient, *user;
  lp_allocation *a;
} randomise_call;

static lp_status do_randomise(lp_trial *t, void *arg, lp_error *err) {
  randomise_call *c = arg;
  return lp_trial_randomize(t, c->site, c->patient, c->user, c->a, err);
}

typedef struct {
  const char *js, *user, *reason;
  lp_consent_result *res;
} consent_call;

static lp_status do_consent(lp_trial *t, void *arg, lp_error *err) {
  consent_call *c = arg;
  return lp_consent_record(t, c->js, "body", c->user, c->res, err);
}

static lp_status do_consent_correct(lp_trial *t, void *arg, lp_error *err) {
  consent_call *c = arg;
  return lp_consent_correct(t, c->js, "body", c->user, c->reason, c->res, err);
}

static void screening(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *site = jstr(j, "site"), *patient = jstr(j, "patient");
  if (!site || !srv_code_ok(site)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "give the \"site\" code", "site");
  }
  if (patient && !srv_code_ok(patient)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "a patient code has 1 to 32 letters, digits, '-', '_' or '.'", "patient");
  }
  if (!check(q, r, LP_DO_SCREEN, site, patient)) {
    json_decref(j);
    return;
  }
  json_t *in = json_deep_copy(j);
  json_object_del(in, "site");
  json_object_del(in, "patient");
  char *js = json_dumps(in, JSON_COMPACT);
  json_decref(in);
  lp_screen_result res;
  lp_error e;
  screen_call sc = {site, patient, js, q->who.user, &res};
  lp_status s = srv_write(q, do_screen, &sc, &e);
  free(js);
  if (s) {
    json_decref(j);
    return fail_err(r, &e);
  }
  json_t *failed = json_array(), *words = json_array();
  const char *p = res.failed;
  while (*p) {
    size_t len = strcspn(p, ",");
    char id[96], w[200];
    snprintf(id, sizeof id, "%.*s", (int)(len < 95 ? len : 95), p);
    json_array_append_new(failed, json_string(id));
    json_array_append_new(words, json_string(lp_criterion_words(id, w, sizeof w)));
    p += len;
    if (*p == ',') p++;
  }
  srv_json(r, 201,
           json_pack("{s:I, s:s, s:s?, s:b, s:o, s:o}", "id", (json_int_t)res.id, "site", site, "patient", patient,
                     "eligible", res.eligible, "failed", failed, "failed_words", words));
  json_decref(j);
}

static void randomisation(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *site = jstr(j, "site"), *patient = jstr(j, "patient");
  lp_patient_view pv;
  if (!site || !srv_code_ok(site)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "give the \"site\" code", "site");
  }
  if (!patient_of(q, r, patient ? patient : "", &pv) || !check(q, r, LP_DO_RANDOMISE, site, patient)) {
    json_decref(j);
    return;
  }
  if (strcmp(pv.site, site)) {
    json_decref(j);
    return srv_json_fail(r, 409, LP_ESTATE, "this patient code was screened at another site", "patient");
  }
  if (!pv.eligible) {
    json_decref(j);
    return srv_json_fail(r, 422, LP_ESTATE, "the patient is not eligible", "patient");
  }
  lp_consent_policy pol;
  lp_error pe;
  if (!pv.randomised && !pv.consent_by[0] && !lp_consent_policy_get(q->t, &pol, &pe) && pol.required) {
    json_decref(j);
    return srv_json_fail(
        r, 422, LP_ESTATE,
        "the patient has no consent record: record the written informed consent of the patient or of a "
        "personal or professional legal representative (POST /api/v1/consents) before randomisation",
        "patient");
  }
  lp_allocation a;
  lp_error e;
  randomise_call rc = {site, patient, q->who.user, &a};
  lp_status s = srv_write(q, do_randomise, &rc, &e);
  json_decref(j);
  if (s) return fail_err(r, &e);
  srv_json(r, a.existing ? 200 : 201,
           json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:b}", "patient", a.patient, "site", a.site, "sequence",
                     (json_int_t)a.sequence, "pack", (json_int_t)a.pack, "randomized_at", a.randomized_at, "user",
                     a.user, "existing", a.existing));
}

/* A consent record: the consent form's fields (leopards/forms.h), checked by the
 * library as on the command line; with "reason" beside them, the correction of the
 * recorded one (investigator of the site or trial manager). */
static void consent(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *code = jstr(j, "patient");
  char reason[1024] = "";
  json_t *rv = json_object_get(j, "reason");
  bool correct = rv != NULL;
  if (rv && (!json_is_string(rv) || json_string_length(rv) >= sizeof reason)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "reason: a text of at most 1023 bytes", "reason");
  }
  if (rv) snprintf(reason, sizeof reason, "%s", json_string_value(rv));
  lp_patient_view pv;
  if (!patient_of(q, r, code ? code : "", &pv) || !check(q, r, correct ? LP_DO_RECORD : LP_DO_CONSENT, pv.site, code)) {
    json_decref(j);
    return;
  }
  json_object_del(j, "reason");
  char *js = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  lp_consent_result c;
  lp_error e;
  consent_call cc = {js, q->who.user, reason, &c};
  lp_status s = js ? srv_write(q, correct ? do_consent_correct : do_consent, &cc, &e)
                   : lp_error_set(&e, LP_ENOMEM, "out of memory");
  free(js);
  if (s) return srv_json_fail(r, s == LP_EDATA ? 422 : srv_http_status(s), s, e.message, e.field);
  srv_json(r, correct ? 200 : 201,
           json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s, s:b, s:s?, s:b}", "id", (json_int_t)c.id, "patient", c.patient,
                     "site", c.site, "kind", c.kind, "consent_by", c.consent_by[0] ? c.consent_by : NULL, "decision",
                     c.decision, "retrospective_due", c.retrospective_due, "applied", c.applied[0] ? c.applied : NULL,
                     "corrected", correct));
}

static void patient(req *q, resp *r, const char *code) {
  lp_patient_view pv;
  if (!patient_of(q, r, code, &pv) || !check(q, r, LP_DO_VIEW_PATIENT, pv.site, code)) return;
  json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "patient", pv.patient, "site", pv.site, "screened_at", pv.screened_at,
                        "eligible", pv.eligible);
  json_object_set_new(o, "randomised", json_boolean(pv.randomised));
  if (pv.randomised) {
    json_object_set_new(o, "pack", json_integer(pv.pack));
    json_object_set_new(o, "sequence", json_integer(pv.sequence));
    json_object_set_new(o, "randomized_at", json_string(pv.randomized_at));
    json_object_set_new(o, "baseline", json_boolean(pv.baseline));
    json_object_set_new(o, "infusion_events", json_integer(pv.infusion_events));
    json_object_set_new(o, "daily_records", json_integer(pv.days));
    json_object_set_new(o, "outcome_recorded", json_boolean(pv.outcome));
    json_object_set_new(o, "unblindings", json_integer(pv.unblindings));
  }
  json_object_set_new(o, "consent_by", pv.consent_by[0] ? json_string(pv.consent_by) : json_null());
  json_object_set_new(o, "consented_at", pv.consented_at[0] ? json_string(pv.consented_at) : json_null());
  json_object_set_new(o, "retrospective_consent", pv.retrospective[0] ? json_string(pv.retrospective) : json_null());
  json_object_set_new(o, "retrospective_due", json_boolean(pv.retrospective_due));
  srv_json(r, 200, o);
}

static void unblinding(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *code = jstr(j, "patient"), *reason = jstr(j, "reason"), *pw = jstr(j, "password");
  lp_patient_view pv;
  if (!patient_of(q, r, code ? code : "", &pv) || !check(q, r, LP_DO_UNBLIND, pv.site, code)) {
    json_decref(j);
    return;
  }
  lp_error e;
  if (lp_password_confirm(q->t, &q->policy, q->who.user, pw, &e)) {
    json_decref(j);
    return srv_json_fail(r, 403, LP_EDENIED, e.message, "password");
  }
  if (!reason || !*reason) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "a reason is required", "reason");
  }
  if (!q->key) {
    json_decref(j);
    return srv_json_fail(r, 409, LP_ESTATE, "this server does not hold the list key", NULL);
  }
  lp_unblinding u;
  lp_status s = lp_trial_unblind(q->t, q->key, code, reason, q->who.user, &u, &e);
  json_decref(j);
  if (s) return fail_err(r, &e);
  srv_json(r, 201,
           json_pack("{s:s, s:s, s:s, s:s, s:s}", "patient", u.patient, "site", u.site, "arm",
                     lp_trial_arm_label(q->t, u.arm), "unblinded_at", u.at, "user", u.user));
}

static void status(req *q, resp *r) {
  const char *site = srv_query(q, "site");
  if (site && !*site) site = NULL;
  if (!site && q->who.site[0]) site = q->who.site;
  if (site && !srv_code_ok(site)) return srv_json_fail(r, 400, LP_EINVAL, "not a site code", "site");
  if (!check(q, r, LP_DO_VIEW_STATUS, site, NULL)) return;
  lp_progress p;
  lp_error e;
  if (lp_trial_progress(q->t, site, NULL, &p, &e)) return fail_err(r, &e);
  json_t *sites = json_array();
  for (size_t i = 0; i < p.nsites; i++) {
    lp_progress_site *s = &p.sites[i];
    json_array_append_new(
        sites, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "site", s->code, "screened", (json_int_t)s->screened,
                         "eligible", (json_int_t)s->eligible, "randomised", (json_int_t)s->randomised, "slots_left",
                         (json_int_t)s->slots_left, "retrospective_consent_due", (json_int_t)s->retrospective_due,
                         "outstanding", (json_int_t)s->items));
  }
  json_t *items = json_array();
  for (size_t i = 0; i < p.nitems; i++)
    json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "patient", p.items[i].patient, "site", p.items[i].site,
                                           "what", p.items[i].what));
  srv_json(r, 200, json_pack("{s:s, s:o, s:o}", "as_of", p.as_of, "sites", sites, "outstanding", items));
  lp_progress_clear(&p);
}

typedef struct {
  json_t *arr;
  const char *user;
  lp_screening_row *rows;
  size_t n, max;
} audit_ctx;

static int audit_one(void *ctx, const lp_audit_entry *e) {
  audit_ctx *a = ctx;
  if (a->rows) {
    bool mine = !strcmp(e->user, a->user);
    for (size_t i = 0; !mine && e->patient && i < a->n; i++)
      if (!strcmp(a->rows[i].patient, e->patient)) mine = true;
    if (!mine) return 0;
  }
  if (json_array_size(a->arr) >= a->max) json_array_remove(a->arr, 0); /* keep the latest */
  json_array_append_new(
      a->arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s?}", "id", (json_int_t)e->id, "at", e->at,
                        "user", e->user, "action", e->action, "table", e->table, "row", (json_int_t)e->row, "patient",
                        e->patient, "reason", e->reason, "old", e->old_value, "new", e->new_value));
  return 0;
}

static void audit(req *q, resp *r) {
  const char *code = srv_query(q, "patient");
  if (code && !*code) code = NULL;
  const char *site = q->who.site[0] ? q->who.site : NULL;
  lp_patient_view pv;
  if (code) {
    if (!patient_of(q, r, code, &pv)) return;
    site = pv.site;
  }
  if (!check(q, r, LP_DO_VIEW_AUDIT, site, code)) return;
  audit_ctx a = {.arr = json_array(), .user = q->who.user, .max = 5000};
  lp_error e;
  if (!code && q->who.site[0] && lp_screening_log(q->t, q->who.site, 1000000, &a.rows, &a.n, &e)) {
    json_decref(a.arr);
    return fail_err(r, &e);
  }
  lp_status s = lp_audit_log(q->t, code, audit_one, &a, &e);
  free(a.rows);
  if (s) {
    json_decref(a.arr);
    return fail_err(r, &e);
  }
  srv_json(r, 200, json_pack("{s:o}", "entries", a.arr));
}

/* ---- personal API tokens: the user's own ---- */

static json_t *token_json(const lp_api_token_info *x) {
  return json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s}", "id", (json_int_t)x->id, "label", x->label, "created_at",
                   x->created_at, "expires_at", x->expires_at, "last_used", x->last_used[0] ? x->last_used : NULL,
                   "state",
                   x->revoked   ? "revoked"
                   : x->expired ? "expired"
                                : "active");
}

static void tokens(req *q, resp *r, bool post) {
  lp_error e;
  if (!post) {
    lp_api_token_info *x;
    size_t n;
    if (lp_api_token_list(q->t, q->who.user, &x, &n, &e)) return fail_err(r, &e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, token_json(&x[i]));
    free(x);
    return srv_json(r, 200, json_pack("{s:o}", "tokens", arr));
  }
  if (q->who.api_token) return srv_json_fail(r, 403, LP_EDENIED, "an API token cannot create API tokens", NULL);
  json_t *j = body_json(q, r);
  if (!j) return;
  json_t *d = json_object_get(j, "days");
  int days = d ? (json_is_integer(d) && json_integer_value(d) > 0 && json_integer_value(d) < 100000
                      ? (int)json_integer_value(d)
                      : 0)
               : 365;
  char tok[LP_API_TOKEN_LEN + 1];
  long id = 0;
  lp_status s = lp_api_token_create(q->t, q->who.user, jstr(j, "label"), days, tok, &id, &e);
  json_decref(j);
  if (s) return fail_err(r, &e);
  srv_json(r, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id, "token", tok));
  sodium_memzero(tok, sizeof tok);
}

static void token_revoke(req *q, resp *r, const char *rest) {
  char *end = NULL;
  long id = strtol(rest, &end, 10);
  if (id <= 0 || !end || strcmp(end, "/revoke")) return srv_json_fail(r, 404, LP_ENOTFOUND, "no such route", NULL);
  lp_error e;
  if (lp_api_token_revoke(q->t, q->who.user, id, &e)) return fail_err(r, &e);
  srv_json(r, 200, json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
}

/* ---- sites (trial manager) ---- */

static void sites(req *q, resp *r, bool post) {
  if (!check(q, r, LP_DO_MANAGE_SITES, NULL, NULL)) return;
  lp_error e;
  if (!post) {
    lp_site_info *x;
    size_t n;
    if (lp_site_list(q->t, &x, &n, &e)) return fail_err(r, &e);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:I, s:I}", "code", x[i].code, "name", x[i].name, "open",
                         !x[i].closed, "closed_at", x[i].closed ? x[i].closed_at : NULL, "closed_reason",
                         x[i].closed ? x[i].closed_reason : NULL, "slots", (json_int_t)x[i].slots, "randomised",
                         (json_int_t)x[i].randomised));
    free(x);
    return srv_json(r, 200, json_pack("{s:o}", "sites", arr));
  }
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *code = jstr(j, "code");
  if (!srv_code_ok(code)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "a site code has 1 to 32 letters, digits, '-', '_' or '.'", "code");
  }
  lp_status s = lp_site_add(q->t, q->who.user, code, jstr(j, "name"), &e);
  if (!s) srv_json(r, 201, json_pack("{s:s, s:b}", "code", code, "open", 1));
  json_decref(j);
  if (s) fail_err(r, &e);
}

static void site_close(req *q, resp *r, const char *rest) {
  char code[64];
  const char *slash = strchr(rest, '/');
  if (!slash || strcmp(slash, "/close") || (size_t)(slash - rest) >= sizeof code)
    return srv_json_fail(r, 404, LP_ENOTFOUND, "no such route", NULL);
  snprintf(code, sizeof code, "%.*s", (int)(slash - rest), rest);
  if (!srv_code_ok(code)) return srv_json_fail(r, 404, LP_ENOTFOUND, "no such site", "site");
  if (!check(q, r, LP_DO_MANAGE_SITES, NULL, NULL)) return;
  json_t *j = body_json(q, r);
  if (!j) return;
  lp_error e;
  lp_status s = lp_site_close(q->t, q->who.user, code, jstr(j, "reason"), &e);
  json_decref(j);
  if (s) return srv_json_fail(r, srv_http_status(s), s, e.message, e.field);
  srv_json(r, 200, json_pack("{s:s, s:b}", "code", code, "open", 0));
}

void srv_api(req *q, resp *r) {
  const char *p = q->path + 7; /* after "/api/v1" */
  bool post = !strcmp(q->method, "POST"), get = !strcmp(q->method, "GET");
  if (!strcmp(p, "/login") && post) return login(q, r);
  if (!q->authed) return srv_json_fail(r, 401, LP_EDENIED, "not logged in (or the session ended)", NULL);
  if (post && !q->bearer) {
    const char *h = srv_header(q, "X-CSRF-Token");
    if (!h || strlen(h) != LP_TOKEN_HEX || sodium_memcmp(h, q->who.csrf, LP_TOKEN_HEX))
      return srv_json_fail(r, 403, LP_EDENIED, "a cookie-authenticated request needs the session's X-CSRF-Token", NULL);
  }
  if (!strcmp(p, "/logout") && post) {
    lp_error e;
    if (lp_session_logout(q->t, q->token, &e)) return fail_err(r, &e);
    if (!q->bearer) srv_session_cookie(q, r, "", true);
    return srv_json(r, 200, json_pack("{s:b}", "ended", 1));
  }
  if (!strcmp(p, "/session") && get) return srv_json(r, 200, identity(&q->who));
  if (q->who.api_token && (!strcmp(p, "/password") || !strcmp(p, "/logout")))
    return srv_json_fail(r, 403, LP_EDENIED, "an API token cannot change a password nor log out (revoke it instead)",
                         NULL);
  if (!strcmp(p, "/password") && post) {
    json_t *j = body_json(q, r);
    if (!j) return;
    lp_error e;
    lp_status s = lp_password_change(q->t, &q->policy, q->who.user, jstr(j, "current"), jstr(j, "new"), &e);
    json_decref(j);
    if (s) return srv_json_fail(r, s == LP_EDENIED ? 403 : srv_http_status(s), s, e.message, e.field);
    return srv_json(r, 200, json_pack("{s:b}", "changed", 1));
  }
  if (q->who.must_change)
    return srv_json_fail(r, 403, LP_EDENIED, "this session was opened with a one-time password: change it first", NULL);
  if (srv_api_records(q, r, p)) return;
  if (!strcmp(p, "/screenings") && post) return screening(q, r);
  if (!strcmp(p, "/randomisations") && post) return randomisation(q, r);
  if (!strcmp(p, "/consents") && post) return consent(q, r);
  if (!strncmp(p, "/patients/", 10) && get) return patient(q, r, p + 10);
  if (!strcmp(p, "/unblindings") && post) return unblinding(q, r);
  if (!strcmp(p, "/status") && get) return status(q, r);
  if (!strcmp(p, "/audit") && get) return audit(q, r);
  if (!strcmp(p, "/tokens") && (get || post)) return tokens(q, r, post);
  if (!strncmp(p, "/tokens/", 8) && post) return token_revoke(q, r, p + 8);
  if (!strcmp(p, "/sites") && (get || post)) return sites(q, r, post);
  if (!strncmp(p, "/sites/", 7) && post) return site_close(q, r, p + 7);
  if (srv_api_queries(q, r, p, get, post)) return;
  srv_json_fail(r, 404, LP_ENOTFOUND, "no such route", NULL);
}
