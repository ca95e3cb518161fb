/* The JSON API of the case report forms: the same library calls and checks as the
 * form pages and `leopards record` (one set of messages).
 *   GET  /api/v1/patients/P/forms                   the patient's forms and their states
 *   GET  /api/v1/patients/P/records/KIND[/KEY]      a saved record (infusion, ae: the list)
 *   POST /api/v1/patients/P/records/KIND[/KEY]      {"record": {...}, "reason": "..."}
 *   GET  /api/v1/patients/P/drafts/KIND[/KEY]       the draft
 *   POST /api/v1/patients/P/drafts/KIND[/KEY]       {"values": {...}} keeps it
 *   GET  /api/v1/scores/sofa?pao2=..&fio2=..        SOFA by organ system (the forms' live score; creatinine
 *                                                   and bilirubin also as creatinine_umol_l, bilirubin_umol_l) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <leopards/clinical.h>
#include <leopards/entry.h>
#include <leopards/forms.h>

#include "server.h"

lp_status srv_sofa_from(json_t *vals, lp_sofa *out, lp_error *err);
void srv_forms_soft_findings(req *q, const lp_findings *fs);

static json_t *error_obj(lp_status st, const char *msg, const char *field) {
  json_t *e = json_pack("{s:s, s:s}", "status", lp_status_name(st), "message", msg);
  if (field && *field) json_object_set_new(e, "field", json_string(field));
  return json_pack("{s:o}", "error", e);
}

static void fail(resp *r, int code, lp_status st, const char *msg, const char *field) {
  srv_json(r, code, error_obj(st, msg, field));
}

static json_t *findings_json(const lp_findings *fs) {
  json_t *a = json_array();
  for (size_t i = 0; i < fs->n; i++) {
    const lp_finding *f = &fs->items[i];
    json_array_append_new(
        a, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "level", lp_finding_level_name(f->level), "form", f->form,
                     "patient", f->patient, "day", f->day, "field", f->field, "text", f->text));
  }
  return a;
}

typedef struct {
  char patient[64];
  char what[16]; /* records, drafts, forms */
  lp_record_kind kind;
  long key;
  lp_patient_view pv;
} target;

/* "/patients/P/records/KIND[/KEY]": false (and the answer given) when it is not valid. */
static bool parse(req *q, resp *r, const char *rest, target *t) {
  memset(t, 0, sizeof *t);
  const char *p = rest + strlen("/patients/"), *s1 = strchr(p, '/');
  if (!s1 || (size_t)(s1 - p) >= sizeof t->patient) return fail(r, 404, LP_ENOTFOUND, "no such route", NULL), false;
  snprintf(t->patient, sizeof t->patient, "%.*s", (int)(s1 - p), p);
  const char *w = s1 + 1, *s2 = strchr(w, '/');
  size_t wl = s2 ? (size_t)(s2 - w) : strlen(w);
  if (wl >= sizeof t->what) return fail(r, 404, LP_ENOTFOUND, "no such route", NULL), false;
  snprintf(t->what, sizeof t->what, "%.*s", (int)wl, w);
  if (strcmp(t->what, "forms") || s2) {
    if (!s2) return fail(r, 404, LP_ENOTFOUND, "no such route", NULL), false;
    char kind[32];
    const char *k = s2 + 1, *s3 = strchr(k, '/');
    size_t kl = s3 ? (size_t)(s3 - k) : strlen(k);
    snprintf(kind, sizeof kind, "%.*s", (int)(kl < 31 ? kl : 31), k);
    lp_error e;
    if (lp_record_kind_parse(kind, &t->kind, &e)) return fail(r, 404, LP_ENOTFOUND, e.message, "form"), false;
    if (s3) {
      char *end;
      t->key = strtol(s3 + 1, &end, 10);
      if (*end || end == s3 + 1 || t->key < 1) return fail(r, 404, LP_ENOTFOUND, "no such record", NULL), false;
    }
  }
  if (!srv_code_ok(t->patient))
    return fail(r, 400, LP_EINVAL, "a patient code has 1 to 32 letters, digits, '-', '_' or '.'", "patient"), false;
  lp_error e;
  lp_status s = lp_patient_get(q->t, t->patient, &t->pv, &e);
  if (s) return fail(r, srv_http_status(s), s, e.message, "patient"), false;
  return true;
}

static bool allowed(req *q, resp *r, lp_action what, const target *t) {
  lp_error e;
  if (!lp_access_check(q->who.role, q->who.site, what, t->pv.site, &e)) return true;
  lp_access_refused(q->t, q->who.user, what, t->pv.site, t->patient, NULL);
  fail(r, 403, LP_EDENIED, e.message, NULL);
  return false;
}

static void forms(req *q, resp *r, const target *t) {
  lp_form_entry *fe;
  size_t n;
  lp_error e;
  if (lp_patient_forms(q->t, t->patient, &fe, &n, &e))
    return fail(r, srv_http_status(e.status), e.status, e.message, NULL);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:b, s:b}", "form", lp_record_kind_name(fe[i].kind), "key", (json_int_t)fe[i].key,
                  "state", lp_form_state_name(fe[i].state), "due", fe[i].due, "draft", fe[i].draft);
    if (fe[i].kind == LP_RECORD_DAILY) {
      json_object_set_new(o, "day_starts", json_string(fe[i].start));
      json_object_set_new(o, "day_ends", json_string(fe[i].end));
    }
    json_array_append_new(a, o);
  }
  free(fe);
  srv_json(r, 200, json_pack("{s:s, s:o}", "patient", t->patient, "forms", a));
}

static void get_record(req *q, resp *r, const target *t) {
  char *js = NULL;
  lp_error e;
  bool list = !t->key && (t->kind == LP_RECORD_INFUSION || t->kind == LP_RECORD_AE);
  lp_status s = list ? lp_record_list(q->t, t->kind, t->patient, &js, &e)
                     : lp_record_get(q->t, t->kind, t->patient, t->key, &js, &e);
  if (s) return fail(r, srv_http_status(s), s, e.message, NULL);
  if (!js) return fail(r, 404, LP_ENOTFOUND, "no such record yet", NULL);
  json_t *j = json_loads(js, 0, NULL);
  free(js);
  srv_json(r, 200, json_pack("{s:o}", list ? "records" : "record", j ? j : json_null()));
}

/* The record of the body, with the patient and the day (or event id) of the address. */
static json_t *record_in(resp *r, json_t *body, const target *t) {
  json_t *rec = json_object_get(body, "record");
  if (!json_is_object(rec)) return fail(r, 400, LP_EPARSE, "give the record as {\"record\": {...}}", "record"), NULL;
  rec = json_deep_copy(rec);
  json_t *p = json_object_get(rec, "patient");
  if (p && !(json_is_string(p) && !strcmp(json_string_value(p), t->patient))) {
    json_decref(rec);
    return fail(r, 400, LP_EINVAL, "the record's patient is not the patient of the address", "patient"), NULL;
  }
  json_object_set_new(rec, "patient", json_string(t->patient));
  const char *keyname = t->kind == LP_RECORD_DAILY ? "day" : t->kind == LP_RECORD_AE ? "id" : NULL;
  if (keyname && t->key) {
    json_t *k = json_object_get(rec, keyname);
    if (k && !(json_is_integer(k) && json_integer_value(k) == t->key)) {
      json_decref(rec);
      return fail(r, 400, LP_EINVAL, "the record's key is not the one of the address", keyname), NULL;
    }
    json_object_set_new(rec, keyname, json_integer(t->key));
  }
  return rec;
}

/* A record and the removal of its draft, in one write of the group commit. */
typedef struct {
  const target *t;
  const char *js, *user, *reason;
  size_t *rows;
  lp_findings *fs;
} record_call;

static lp_status do_record(lp_trial *tr, void *arg, lp_error *err) {
  record_call *c = arg;
  lp_status s = lp_record_json_checked(tr, c->t->kind, c->js, "--json-in", c->user, c->reason, c->rows, c->fs, err);
  if (!s) lp_draft_discard(tr, c->t->patient, c->t->kind, c->t->key, NULL);
  return s;
}

static void post_record(req *q, resp *r, const target *t) {
  json_error_t je;
  json_t *body = q->body ? json_loadb(q->body, q->nbody, JSON_REJECT_DUPLICATES, &je) : NULL;
  if (!json_is_object(body)) {
    json_decref(body);
    return fail(r, 400, LP_EPARSE, "the body must be a JSON object", NULL);
  }
  json_t *rec = record_in(r, body, t);
  if (!rec) return json_decref(body);
  const char *reason = json_string_value(json_object_get(body, "reason"));
  char *js = json_dumps(rec, JSON_COMPACT);
  json_decref(rec);
  size_t rows = 0;
  lp_findings fs = {0};
  lp_error e = {0};
  char *before = NULL;
  lp_record_get(q->t, t->kind, t->patient, t->key, &before, NULL);
  bool existed = before != NULL && (t->kind != LP_RECORD_INFUSION && (t->kind != LP_RECORD_AE || t->key));
  free(before);
  record_call rc = {t, js, q->who.user, reason, &rows, &fs};
  lp_status s = srv_write(q, do_record, &rc, &e);
  free(js);
  json_decref(body);
  if (s) {
    json_t *o = error_obj(s, e.message, e.field);
    json_object_set_new(o, "findings", findings_json(&fs));
    lp_findings_clear(&fs);
    return srv_json(r, s == LP_EDATA ? 422 : srv_http_status(s), o);
  }
  srv_forms_soft_findings(q, &fs);
  json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:o}", "patient", t->patient, "form", lp_record_kind_name(t->kind), "key",
                        (json_int_t)t->key, "rows", (json_int_t)rows, "findings", findings_json(&fs));
  lp_findings_clear(&fs);
  srv_json(r, existed ? 200 : 201, o);
}

static void drafts(req *q, resp *r, const target *t, bool post) {
  lp_error e;
  if (post) {
    json_t *body = q->body ? json_loadb(q->body, q->nbody, JSON_REJECT_DUPLICATES, NULL) : NULL;
    json_t *v = json_object_get(body, "values");
    if (!json_is_object(v)) {
      json_decref(body);
      return fail(r, 400, LP_EPARSE, "give the draft as {\"values\": {...}}", "values");
    }
    char *js = json_dumps(v, JSON_COMPACT);
    json_decref(body);
    lp_status s = lp_draft_save(q->t, t->patient, t->kind, t->key, js ? js : "", q->who.user, &e);
    free(js);
    if (s) return fail(r, srv_http_status(s), s, e.message, NULL);
  }
  lp_draft d;
  bool found;
  if (lp_draft_get(q->t, t->patient, t->kind, t->key, &d, &found, &e))
    return fail(r, srv_http_status(e.status), e.status, e.message, NULL);
  if (!found) return fail(r, 404, LP_ENOTFOUND, "no draft of this form", NULL);
  json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "patient", t->patient, "form", lp_record_kind_name(t->kind),
                        "key", (json_int_t)t->key, "saved_at", d.saved_at, "saved_by", d.saved_by, "values",
                        json_loads(d.data, 0, NULL));
  lp_draft_clear(&d);
  srv_json(r, post ? 201 : 200, o);
}

static void sofa_scores(req *q, resp *r) {
  static const char *const names[] = {"pao2", "fio2",       "resp_support", "platelets",   "bilirubin",
                                      "map",  "dopamine",   "dobutamine",   "epinephrine", "norepinephrine",
                                      "gcs",  "creatinine", "urine_ml"};
  json_t *vals = json_object();
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = srv_query(q, names[i]);
    if (v && strlen(v) < 64) json_object_set_new(vals, names[i], json_string(v));
    /* or in the definitions' alternative unit (creatinine_umol_l), converted as recording does */
    const lp_field *f = lp_form_field(lp_form_get(LP_FORM_DAILY), names[i]);
    if (f && f->alt && (v = srv_query(q, f->alt)) && strlen(v) < 64) json_object_set_new(vals, f->alt, json_string(v));
  }
  lp_sofa s;
  lp_error e = {0};
  lp_status st = srv_sofa_from(vals, &s, &e);
  json_decref(vals);
  json_t *c = json_object();
  int t5 = 0, t6 = 0;
  bool all5 = true, all6 = true;
  for (int k = 0; k < LP_SOFA_NCOMP; k++) {
    bool known = (!st || st == LP_ERANGE) && s.component[k] >= 0;
    json_object_set_new(c, lp_sofa_component_name((lp_sofa_component)k),
                        known ? json_integer(s.component[k]) : json_null());
    if (known) t6 += s.component[k], t5 += k == LP_SOFA_CNS ? 0 : s.component[k];
    else
      all6 = false, all5 = all5 && k == LP_SOFA_CNS;
  }
  json_t *o = json_pack("{s:o, s:o, s:o}", "components", c, "total5", all5 ? json_integer(t5) : json_null(), "total6",
                        all6 ? json_integer(t6) : json_null());
  if (st) json_object_set_new(o, "error", json_pack("{s:s, s:s}", "message", e.message, "field", e.field));
  srv_json(r, 200, o);
}

bool srv_api_records(req *q, resp *r, const char *rest) {
  bool post = !strcmp(q->method, "POST"), get = !strcmp(q->method, "GET");
  if (!strcmp(rest, "/scores/sofa") && get) return sofa_scores(q, r), true;
  if (strncmp(rest, "/patients/", 10)) return false;
  const char *s1 = strchr(rest + 10, '/');
  if (!s1 || (strncmp(s1, "/records", 8) && strncmp(s1, "/drafts", 7) && strcmp(s1, "/forms"))) return false;
  target t;
  if (!parse(q, r, rest, &t)) return true;
  if (!get && !post) return fail(r, 405, LP_EINVAL, "method not allowed", NULL), true;
  if (!allowed(q, r, post ? LP_DO_RECORD : LP_DO_VIEW_PATIENT, &t)) return true;
  if (!t.pv.randomised) return fail(r, 409, LP_ESTATE, "this patient has not been randomised", "patient"), true;
  if (!strcmp(t.what, "forms") && get) return forms(q, r, &t), true;
  if (!strcmp(t.what, "records")) return post ? post_record(q, r, &t) : get_record(q, r, &t), true;
  if (!strcmp(t.what, "drafts")) return drafts(q, r, &t, post), true;
  fail(r, 404, LP_ENOTFOUND, "no such route", NULL);
  return true;
}
