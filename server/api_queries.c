/* The JSON API of data entry, data queries, source data verification, casebook
 * signatures and the lock (docs/api.md): the same library calls as the command line,
 * so that a record gets the same checks, findings and queries through both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include <leopards/queries.h>

#include "server.h"

/* A library refusal; one for lack of rights is recorded as such. */
static void fail_err(req *q, resp *r, const lp_error *e, lp_action what, const char *patient) {
  if (e->status == LP_EDENIED && strcmp(e->field, "password"))
    lp_access_refused(q->t, q->who.user, what, NULL, patient, NULL);
  srv_json_fail(r, srv_http_status(e->status), e->status, e->message, e->field);
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

static long jlong(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static json_t *findings_json(const lp_findings *fs, bool hard) {
  json_t *a = json_array();
  for (size_t i = 0; i < fs->n; i++) {
    const lp_finding *f = &fs->items[i];
    if ((f->level == LP_FINDING_HARD) != hard) continue;
    json_array_append_new(
        a, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "level", lp_finding_level_name(f->level), "form", f->form,
                     "patient", f->patient, "day", f->day, "field", f->field, "text", f->text));
  }
  return a;
}

static json_t *query_json(const lp_query *q) {
  json_t *o =
      json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)q->id, "patient",
                q->patient, "site", q->site, "form", q->form, "day", q->day, "record", (json_int_t)q->record, "field",
                q->field, "state", lp_query_state_name(q->state), "origin", q->origin, "text", q->text, "opened_at",
                q->opened_at, "opened_by", q->opened_by, "reopened", (json_int_t)q->reopened);
  if (q->answered_at[0]) {
    json_object_set_new(o, "answer", json_string(q->answer));
    json_object_set_new(o, "answered_at", json_string(q->answered_at));
    json_object_set_new(o, "answered_by", json_string(q->answered_by));
  }
  if (q->old_value[0] || q->new_value[0]) {
    json_object_set_new(o, "old_value", json_string(q->old_value));
    json_object_set_new(o, "new_value", json_string(q->new_value));
  }
  if (q->closed_at[0]) {
    json_object_set_new(o, "closed_at", json_string(q->closed_at));
    json_object_set_new(o, "closed_by", json_string(q->closed_by));
  }
  if (q->reopen_text[0]) json_object_set_new(o, "reopen_text", json_string(q->reopen_text));
  return o;
}

/* The site a listing may cover: a site-bound user's own (another is refused). */
static bool listing_site(req *q, resp *r, const char **site) {
  const char *s = srv_query(q, "site");
  if (s && !*s) s = NULL;
  if (s && !srv_code_ok(s)) {
    srv_json_fail(r, 400, LP_EINVAL, "not a site code", "site");
    return false;
  }
  if (!s && q->who.site[0]) s = q->who.site;
  lp_error e;
  if (lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_STATUS, s, &e)) {
    lp_access_refused(q->t, q->who.user, LP_DO_VIEW_STATUS, s, NULL, NULL);
    srv_json_fail(r, 403, LP_EDENIED, e.message, NULL);
    return false;
  }
  *site = s;
  return true;
}

/* POST /records/KIND: one record or an array, with "reason" for a change (in the
 * body beside the fields, or as ?reason=). */
static void records(req *q, resp *r, const char *kind_s) {
  lp_record_kind kind;
  lp_error e;
  if (lp_record_kind_parse(kind_s, &kind, &e)) return srv_json_fail(r, 404, LP_ENOTFOUND, e.message, NULL);
  json_t *j = body_json(q, r);
  if (!j) return;
  char reason[600] = "";
  if (jstr(j, "reason")) snprintf(reason, sizeof reason, "%s", jstr(j, "reason"));
  json_object_del(j, "reason");
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  size_t rows = 0;
  lp_findings fs = {0};
  lp_status s = lp_record_json_checked(q->t, kind, text ? text : "", "body", q->who.user, reason[0] ? reason : NULL,
                                       &rows, &fs, &e);
  free(text);
  if (s == LP_EDATA) {
    json_t *err = json_pack("{s:s, s:s}", "status", lp_status_name(s), "message", e.message);
    if (e.field[0]) json_object_set_new(err, "field", json_string(e.field));
    json_object_set_new(err, "findings", findings_json(&fs, true));
    lp_findings_clear(&fs);
    return srv_json(r, 422, json_pack("{s:o}", "error", err));
  }
  if (s) {
    lp_findings_clear(&fs);
    return fail_err(q, r, &e, LP_DO_VIEW_PATIENT, NULL);
  }
  json_t *out = json_pack("{s:s, s:I, s:o}", "kind", lp_record_kind_name(kind), "rows", (json_int_t)rows, "findings",
                          findings_json(&fs, false));
  lp_findings_clear(&fs);
  srv_json(r, 201, out);
}

static void query_list(req *q, resp *r) {
  const char *site, *patient = srv_query(q, "patient"), *state = srv_query(q, "state");
  if (!listing_site(q, r, &site)) return;
  lp_query_filter f = {.site = site, .patient = patient && *patient ? patient : NULL, .state = -1};
  lp_error e;
  if (state && *state) {
    lp_query_state st;
    if (lp_query_state_parse(state, &st, &e)) return srv_json_fail(r, 400, LP_EINVAL, e.message, "state");
    f.state = (int)st;
  }
  lp_query *qs;
  size_t n;
  if (lp_query_list(q->t, &f, &qs, &n, &e)) return fail_err(q, r, &e, LP_DO_VIEW_STATUS, NULL);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, query_json(&qs[i]));
  free(qs);
  srv_json(r, 200, json_pack("{s:o}", "queries", a));
}

static bool form_of(resp *r, json_t *j, lp_record_kind *kind) {
  lp_error e;
  if (lp_record_kind_parse(jstr(j, "form"), kind, &e)) {
    srv_json_fail(r, 400, LP_EINVAL, e.message, "form");
    return false;
  }
  return true;
}

static void query_open(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  lp_record_kind kind;
  const char *patient = jstr(j, "patient");
  if (!patient || !srv_code_ok(patient)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "give the \"patient\" code", "patient");
  }
  if (!form_of(r, j, &kind)) return json_decref(j);
  long id = 0;
  lp_error e;
  lp_status s = lp_query_open(q->t, patient, kind, (int)jlong(j, "day"), jlong(j, "record"), jstr(j, "field"),
                              jstr(j, "text"), q->who.user, &id, &e);
  if (s) {
    fail_err(q, r, &e, LP_DO_QUERY_RAISE, patient);
    return json_decref(j);
  }
  json_decref(j);
  lp_query qq;
  if (lp_query_get(q->t, id, &qq, &e)) return fail_err(q, r, &e, LP_DO_QUERY_RAISE, NULL);
  srv_json(r, 201, query_json(&qq));
}

/* POST /queries/ID/answer|close|reopen */
static void query_step(req *q, resp *r, const char *rest) {
  char *end;
  long id = strtol(rest, &end, 10);
  if (id <= 0 || *end != '/') return srv_json_fail(r, 404, LP_ENOTFOUND, "no such route", NULL);
  const char *verb = end + 1;
  json_t *j = body_json(q, r);
  if (!j) return;
  lp_error e;
  lp_status s;
  lp_findings fs = {0};
  lp_action what = LP_DO_QUERY_CLOSE;
  if (!strcmp(verb, "answer")) {
    what = LP_DO_QUERY_ANSWER;
    s = lp_query_answer(q->t, id, jstr(j, "text"), jstr(j, "value"), jstr(j, "reason"), q->who.user, &fs, &e);
  } else if (!strcmp(verb, "close"))
    s = lp_query_close(q->t, id, jstr(j, "text"), q->who.user, &e);
  else if (!strcmp(verb, "reopen"))
    s = lp_query_reopen(q->t, id, jstr(j, "text"), q->who.user, &e);
  else {
    json_decref(j);
    return srv_json_fail(r, 404, LP_ENOTFOUND, "no such route", NULL);
  }
  json_decref(j);
  if (s == LP_EDATA) {
    json_t *err = json_pack("{s:s, s:s, s:o}", "status", lp_status_name(s), "message", e.message, "findings",
                            findings_json(&fs, true));
    lp_findings_clear(&fs);
    return srv_json(r, 422, json_pack("{s:o}", "error", err));
  }
  if (s) {
    lp_findings_clear(&fs);
    return fail_err(q, r, &e, what, NULL);
  }
  lp_query qq;
  if (lp_query_get(q->t, id, &qq, &e)) {
    lp_findings_clear(&fs);
    return fail_err(q, r, &e, what, NULL);
  }
  json_t *o = query_json(&qq);
  json_object_set_new(o, "findings", findings_json(&fs, false));
  lp_findings_clear(&fs);
  srv_json(r, 200, o);
}

static void verification(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  lp_record_kind kind;
  const char *patient = jstr(j, "patient");
  if (!patient || !srv_code_ok(patient)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "give the \"patient\" code", "patient");
  }
  if (!form_of(r, j, &kind)) return json_decref(j);
  lp_error e;
  int day = (int)jlong(j, "day");
  long record = jlong(j, "record");
  if (lp_form_verify(q->t, patient, kind, day, record, q->who.user, &e)) {
    fail_err(q, r, &e, LP_DO_VERIFY, patient);
    return json_decref(j);
  }
  srv_json(r, 201,
           json_pack("{s:s, s:s, s:i, s:I, s:b, s:s}", "patient", patient, "form", lp_record_kind_name(kind), "day",
                     kind == LP_RECORD_DAILY ? day : 0, "record", (json_int_t)(kind == LP_RECORD_AE ? record : 0),
                     "verified", 1, "verified_by", q->who.user));
  json_decref(j);
}

static void sdv(req *q, resp *r) {
  const char *site, *patient = srv_query(q, "patient");
  if (!listing_site(q, r, &site)) return;
  lp_sdv_report rep;
  lp_error e;
  if (lp_sdv_report_make(q->t, site, patient && *patient ? patient : NULL, &rep, &e))
    return fail_err(q, r, &e, LP_DO_VIEW_STATUS, NULL);
  json_t *sites = json_array(), *patients = json_array(), *forms = json_array();
  for (size_t i = 0; i < rep.nsites; i++)
    json_array_append_new(
        sites, json_pack("{s:s, s:I, s:I, s:I, s:I}", "site", rep.sites[i].site, "patients",
                         (json_int_t)rep.sites[i].patients, "forms", (json_int_t)rep.sites[i].forms, "verified",
                         (json_int_t)rep.sites[i].verified, "signed", (json_int_t)rep.sites[i].signed_valid));
  for (size_t i = 0; i < rep.npatients; i++) {
    const lp_sdv_patient *p = &rep.patients[i];
    json_array_append_new(
        patients, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:b}", "patient", p->patient, "site", p->site, "forms",
                            (json_int_t)p->forms, "verified", (json_int_t)p->verified, "queries_open",
                            (json_int_t)p->queries_open, "queries_answered", (json_int_t)p->queries_answered,
                            "signature", p->signature, "signed", p->signed_valid));
  }
  for (size_t i = 0; patient && *patient && i < rep.nforms; i++) {
    const lp_sdv_form *f = &rep.forms[i];
    json_t *o = json_pack("{s:s, s:i, s:I, s:b}", "form", f->form, "day", f->day, "record", (json_int_t)f->record,
                          "verified", f->verified);
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
  json_t *out = json_pack("{s:{s:I, s:I, s:I, s:I}, s:o, s:o}", "total", "patients", (json_int_t)rep.total.patients,
                          "forms", (json_int_t)rep.total.forms, "verified", (json_int_t)rep.total.verified, "signed",
                          (json_int_t)rep.total.signed_valid, "sites", sites, "patients", patients);
  if (patient && *patient) json_object_set_new(out, "forms", forms);
  else
    json_decref(forms);
  lp_sdv_report_clear(&rep);
  srv_json(r, 200, out);
}

static json_t *signature_json(const lp_signature *g) {
  return json_pack("{s:s, s:s?, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:b, s:s}", "scope", g->scope, "patient",
                   g->patient[0] ? g->patient : NULL, "signer", g->signer, "printed_name", g->printed_name,
                   "account_name", g->account_name, "role", g->role, "meaning", g->meaning, "signed_at", g->signed_at,
                   "content_hash", g->content_hash, "valid", g->valid, "state", g->state);
}

static void signature(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  const char *patient = jstr(j, "patient");
  if (!patient || !srv_code_ok(patient)) {
    json_decref(j);
    return srv_json_fail(r, 400, LP_EINVAL, "give the \"patient\" code", "patient");
  }
  lp_signature g;
  lp_error e;
  lp_status s = lp_casebook_sign(q->t, &q->policy, patient, q->who.user, jstr(j, "password"), &g, &e);
  if (s) {
    fail_err(q, r, &e, LP_DO_SIGN, patient);
    return json_decref(j);
  }
  json_decref(j);
  srv_json(r, 201, signature_json(&g));
}

static void signature_get(req *q, resp *r, const char *patient) {
  if (!srv_code_ok(patient)) return srv_json_fail(r, 400, LP_EINVAL, "not a patient code", "patient");
  lp_patient_view pv;
  lp_error e;
  if (lp_patient_get(q->t, patient, &pv, &e))
    return srv_json_fail(r, srv_http_status(e.status), e.status, e.message, NULL);
  if (lp_access_check(q->who.role, q->who.site, LP_DO_VIEW_PATIENT, pv.site, &e)) {
    lp_access_refused(q->t, q->who.user, LP_DO_VIEW_PATIENT, pv.site, patient, NULL);
    return srv_json_fail(r, 403, LP_EDENIED, e.message, NULL);
  }
  lp_signature g;
  if (lp_signature_get(q->t, patient, &g, &e))
    return srv_json_fail(r, srv_http_status(e.status), e.status, e.message, NULL);
  srv_json(r, 200, signature_json(&g));
}

static void lock(req *q, resp *r) {
  json_t *j = body_json(q, r);
  if (!j) return;
  lp_lock_options o = {.user = q->who.user,
                       .override_reason = jstr(j, "override_reason"),
                       .password = jstr(j, "password"),
                       .policy = &q->policy};
  lp_signature g;
  bool signed_ = false;
  lp_error e;
  lp_status s = lp_trial_lock_with(q->t, &o, &g, &signed_, &e);
  json_decref(j);
  if (s) return fail_err(q, r, &e, LP_DO_LOCK, NULL);
  json_t *out = json_pack("{s:b, s:s, s:b}", "locked", 1, "by", q->who.user, "signed", signed_);
  if (signed_) json_object_set_new(out, "signature", signature_json(&g));
  srv_json(r, 200, out);
}

bool srv_api_queries(req *q, resp *r, const char *p, bool get, bool post) {
  if (!strncmp(p, "/records/", 9) && post) return records(q, r, p + 9), true;
  if (!strcmp(p, "/queries") && get) return query_list(q, r), true;
  if (!strcmp(p, "/queries") && post) return query_open(q, r), true;
  if (!strncmp(p, "/queries/", 9) && post) return query_step(q, r, p + 9), true;
  if (!strcmp(p, "/verifications") && post) return verification(q, r), true;
  if (!strcmp(p, "/sdv") && get) return sdv(q, r), true;
  if (!strcmp(p, "/signatures") && post) return signature(q, r), true;
  if (!strncmp(p, "/signatures/", 12) && get) return signature_get(q, r, p + 12), true;
  if (!strcmp(p, "/lock") && post) return lock(q, r), true;
  return false;
}
