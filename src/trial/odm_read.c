/* Import of a CDISC ODM 1.3.2 Snapshot written by lp_trial_export_odm into a new
 * trial file: the sites (Locations), the users (without credentials: there are none in
 * the file), and for every subject its screening record, its randomisation time and
 * every form, each row written and audited. A Snapshot is blinded, so the new trial
 * holds no allocations: each randomisation gets a list slot marked as holding none (no
 * arm sealed in it, a negative pack number), which the key can never open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <leopards/account.h>
#include <leopards/forms.h>
#include <leopards/queries.h>
#include <leopards/table.h>

#include "trial/odm_internal.h"
#include "trial/trial_internal.h"

typedef struct {
  lp_trial *t;
  const char *file;
  char manager[128];
  char reason[300];
  long slots; /* placeholder slots made so far (their pack numbers are -1, -2, ...) */
} importer;

static bool is_el(xmlNode *n, const char *name) {
  return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static xmlNode *child(xmlNode *n, const char *name) {
  for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
    if (is_el(c, name)) return c;
  return NULL;
}

/* An attribute's value (owned by a static-free buffer of the caller). */
static bool prop(xmlNode *n, const char *name, char *buf, size_t len) {
  xmlChar *v = xmlGetProp(n, BAD_CAST name);
  if (!v) return false;
  snprintf(buf, len, "%s", (const char *)v);
  xmlFree(v);
  return true;
}

static void content(xmlNode *n, char *buf, size_t len) {
  xmlChar *v = n ? xmlNodeGetContent(n) : NULL;
  snprintf(buf, len, "%s", v ? (const char *)v : "");
  xmlFree(v);
}

/* The form of an ItemGroupOID ("IG.daily" -> daily). */
static const lp_form *form_of_group(const char *oid) {
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    char g[64];
    lp__odm_group_oid(f, g, sizeof g);
    if (!strcmp(g, oid)) return f;
  }
  return NULL;
}

/* The values of an ItemGroupData as JSON typed by the field definitions. */
static lp_status group_values(const importer *im, const lp_form *f, xmlNode *g, json_t *out, lp_error *err) {
  for (xmlNode *c = g->children; c; c = c->next) {
    if (!is_el(c, "ItemData")) continue;
    char oid[160], value[8192];
    if (!prop(c, "ItemOID", oid, sizeof oid))
      return lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(c), NULL, "an ItemData without ItemOID");
    const lp_field *fd = NULL;
    for (size_t j = 0; j < f->nfields && !fd; j++) {
      char o[160];
      lp__odm_item_oid(f, &f->fields[j], o, sizeof o);
      if (!strcmp(o, oid)) fd = &f->fields[j];
    }
    if (!fd)
      return lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(c), oid, "not an item of the %s form", f->name);
    if (!prop(c, "Value", value, sizeof value)) continue; /* IsNull */
    double x;
    switch (fd->type) {
      case LP_FIELD_INTEGER:
      case LP_FIELD_BOOL:
      case LP_FIELD_REAL:
        if (!lp_parse_number(value, &x))
          return lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(c), fd->name, "'%s' is not a number", value);
        json_object_set_new(out, fd->name, fd->type == LP_FIELD_REAL ? json_real(x) : json_integer((json_int_t)x));
        break;
      default:
        json_object_set_new(out, fd->name, json_string(value));
    }
  }
  return LP_OK;
}

/* Insert one row of a clinical form verbatim (as the export showed it) and audit it. */
static lp_status insert_row(importer *im, const lp_form *f, const char *patient, json_t *vals, lp_error *err) {
  char sql[4096];
  size_t k = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s(patient", f->table);
  const char *key;
  json_t *v;
  int n = 0;
  json_object_foreach(vals, key, v) {
    k += (size_t)snprintf(sql + k, sizeof sql - k, ", %s", key);
    n++;
  }
  k += (size_t)snprintf(sql + k, sizeof sql - k, ") VALUES(?");
  for (int i = 0; i < n; i++) k += (size_t)snprintf(sql + k, sizeof sql - k, ", ?");
  snprintf(sql + k, sizeof sql - k, ")");
  sqlite3_stmt *st;
  lp_status s = lp__prepare(im->t, sql, &st, err);
  if (s) return s;
  int b = 1;
  sqlite3_bind_text(st, b++, patient, -1, SQLITE_TRANSIENT);
  json_object_foreach(vals, key, v) {
    if (json_is_integer(v)) sqlite3_bind_int64(st, b++, json_integer_value(v));
    else if (json_is_real(v))
      sqlite3_bind_double(st, b++, json_real_value(v));
    else
      sqlite3_bind_text(st, b++, json_string_value(v), -1, SQLITE_TRANSIENT);
  }
  int rc = sqlite3_step(st);
  lp__finalize(im->t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(im->t, err, "importing a record");
  long id = (long)sqlite3_last_insert_rowid(im->t->db);
  return lp__audit_row(im->t, f->table, id, NULL, patient, im->manager, im->reason, err);
}

/* The randomisation of an imported patient: a slot holding no arm, then the record. */
static lp_status randomise(importer *im, const char *patient, long site_id, const char *at, lp_error *err) {
  sqlite3_stmt *st;
  long seq = 0, screening_id = 0;
  lp_status s = lp__prepare(im->t, "SELECT coalesce(max(seq), 0) + 1 FROM slots WHERE site_id=?", &st, err);
  if (s) return s;
  sqlite3_bind_int64(st, 1, site_id);
  if (sqlite3_step(st) == SQLITE_ROW) seq = (long)sqlite3_column_int64(st, 0);
  lp__finalize(im->t, st);
  long pack = -(++im->slots);
  if ((s = lp__prepare(im->t, "INSERT INTO slots(site_id, seq, pack, nonce, sealed) VALUES(?, ?, ?, X'', X'')", &st,
                       err)))
    return s;
  sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_int64(st, 2, seq);
  sqlite3_bind_int64(st, 3, pack);
  int rc = sqlite3_step(st);
  lp__finalize(im->t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(im->t, err, "importing a randomisation");
  long slot = (long)sqlite3_last_insert_rowid(im->t->db);
  if ((s = lp__audit_row(im->t, "slots", slot, NULL, NULL, im->manager, "imported from ODM: a slot holding no arm",
                         err)))
    return s;
  if ((s = lp__prepare(im->t, "SELECT id FROM screening WHERE patient=?", &st, err))) return s;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) screening_id = (long)sqlite3_column_int64(st, 0);
  lp__finalize(im->t, st);
  if (!screening_id) return lp_error_set(err, LP_EPARSE, "%s: subject %s has no screening form", im->file, patient);
  if ((s = lp__prepare(im->t,
                       "INSERT INTO randomisations(patient, site_id, seq, pack, randomized_at, randomized_by,"
                       " screening_id) VALUES(?, ?, ?, ?, ?, ?, ?)",
                       &st, err)))
    return s;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, site_id);
  sqlite3_bind_int64(st, 3, seq);
  sqlite3_bind_int64(st, 4, pack);
  sqlite3_bind_text(st, 5, at, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, im->manager, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, screening_id);
  rc = sqlite3_step(st);
  lp__finalize(im->t, st);
  if (rc != SQLITE_DONE) return lp__db_fail(im->t, err, "importing a randomisation");
  return lp__audit_row(im->t, "randomisations", (long)sqlite3_last_insert_rowid(im->t->db), NULL, patient, im->manager,
                       im->reason, err);
}

/* A consent: its site, and who recorded it when (the group's AuditRecord; without
 * one, the import). */
static void consent_provenance(importer *im, xmlNode *g, long site_id, json_t *vals) {
  char user[200] = "", at[64] = "";
  xmlNode *ar = child(g, "AuditRecord");
  if (ar && prop(child(ar, "UserRef"), "UserOID", user, sizeof user) && !strncmp(user, "USR.", 4))
    memmove(user, user + 4, strlen(user + 4) + 1);
  else
    user[0] = '\0';
  content(child(ar, "DateTimeStamp"), at, sizeof at);
  if (!at[0]) lp__now(im->t, at, sizeof at);
  json_object_set_new(vals, "site_id", json_integer(site_id));
  json_object_set_new(vals, "recorded_by", json_string(user[0] ? user : im->manager));
  json_object_set_new(vals, "recorded_at", json_string(at));
}

/* A query, verification or signature: its row id (the FormRepeatKey), the record it is
 * about as the trial names it (an adverse event's row id, an infusion event's row id
 * from its hour), day and record 0 where the form has none. */
static lp_status odm_record(importer *im, const lp_form *f, const char *patient, xmlNode *fo, json_t *vals,
                            lp_error *err) {
  char key[64] = "";
  long line = (long)xmlGetLineNo(fo);
  char *end = NULL;
  long long id = prop(fo, "FormRepeatKey", key, sizeof key) ? strtoll(key, &end, 10) : 0;
  if (id <= 0 || !end || *end)
    return lp_error_at(err, LP_EPARSE, im->file, line, NULL, "a %s needs its row id as FormRepeatKey, not '%s'",
                       f->label, key);
  json_object_set_new(vals, "id", json_integer(id));
  if (f->id == LP__ODM_SIGNATURE) {
    json_object_set_new(vals, "scope", json_string("casebook"));
    return LP_OK;
  }
  if (!json_object_get(vals, "day")) json_object_set_new(vals, "day", json_integer(0));
  const char *form = json_string_value(json_object_get(vals, "form"));
  const char *rec = json_string_value(json_object_get(vals, "record"));
  const char *field = json_string_value(json_object_get(vals, "field"));
  const lp_form *on = lp_form_find(form);
  if (!on || (int)on->id >= LP_RECORD_COUNT)
    return lp_error_at(err, LP_EPARSE, im->file, line, "form", "'%s' is not a form of a casebook", form ? form : "");
  if (f->id == LP__ODM_QUERY && (!field || !lp_form_field(on, field) || !strcmp(field, "patient")))
    return lp_error_at(err, LP_EPARSE, im->file, line, "field", "'%s' is not a field of the %s form",
                       field ? field : "", on->name);
  double x = 0;
  if (rec && !lp_parse_number(rec, &x))
    return lp_error_at(err, LP_EPARSE, im->file, line, "record", "'%s' names no record", rec);
  long long record = (long long)x;
  if (rec && on->id == LP_FORM_AE && (record < 1 || (double)record != x))
    return lp_error_at(err, LP_EPARSE, im->file, line, "record", "'%s' is not an adverse event's number", rec);
  if (rec && on->id == LP_FORM_INFUSION) { /* by its hour (an adverse event keeps its id) */
    sqlite3_stmt *st;
    lp_status s = lp__prepare(im->t, "SELECT id FROM infusions WHERE patient=? AND hour=?", &st, err);
    if (s) return s;
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, x);
    record = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    lp__finalize(im->t, st);
    if (!record)
      return lp_error_at(err, LP_EPARSE, im->file, line, "record", "subject %s has no infusion event at hour %s",
                         patient, rec);
  }
  json_object_set_new(vals, "record", json_integer(record));
  return LP_OK;
}

static lp_status import_group(importer *im, const char *patient, long site_id, xmlNode *fo, xmlNode *g, lp_error *err) {
  char oid[128];
  if (!prop(g, "ItemGroupOID", oid, sizeof oid)) oid[0] = '\0';
  const lp_form *f = form_of_group(oid);
  if (!f) return lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(g), NULL, "unknown ItemGroupOID '%s'", oid);
  json_t *vals = json_object();
  lp_status s = group_values(im, f, g, vals, err);
  if (!s && f->id == LP_FORM_SCREENING) {
    char *text = json_dumps(vals, JSON_COMPACT | JSON_REAL_PRECISION(17));
    lp_screen_result r;
    s = text ? lp__screen_one(im->t, site_id, patient, text, im->file, im->manager, &r, err)
             : lp_error_set(err, LP_ENOMEM, "out of memory");
    free(text);
  } else if (!s && f->id == LP_FORM_RANDOMISATION) {
    const char *at = json_string_value(json_object_get(vals, "randomized_at"));
    s = at ? randomise(im, patient, site_id, at, err)
           : lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(g), "randomized_at", "missing");
  } else if (!s) {
    if (f->id == LP_FORM_CONSENT) consent_provenance(im, g, site_id, vals);
    if (f->id >= LP__ODM_QUERY) s = odm_record(im, f, patient, fo, vals, err);
    if (!s) s = insert_row(im, f, patient, vals, err);
  }
  json_decref(vals);
  return s;
}

static lp_status import_subject(importer *im, xmlNode *subj, lp_error *err) {
  char patient[64], loc[128];
  if (!prop(subj, "SubjectKey", patient, sizeof patient))
    return lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(subj), NULL, "SubjectData without SubjectKey");
  xmlNode *sr = child(subj, "SiteRef");
  if (!sr || !prop(sr, "LocationOID", loc, sizeof loc) || strncmp(loc, "LOC.", 4))
    return lp_error_at(err, LP_EPARSE, im->file, (long)xmlGetLineNo(subj), NULL, "subject %s has no SiteRef", patient);
  long site_id;
  lp_status s = lp__site_id(im->t, loc + 4, &site_id, err);
  if (s) return s;
  for (xmlNode *e = subj->children; e && !s; e = e->next) {
    if (!is_el(e, "StudyEventData")) continue;
    for (xmlNode *fo = e->children; fo && !s; fo = fo->next) {
      if (!is_el(fo, "FormData")) continue;
      for (xmlNode *g = fo->children; g && !s; g = g->next)
        if (is_el(g, "ItemGroupData")) s = import_group(im, patient, site_id, fo, g, err);
    }
  }
  return s;
}

/* A casebook signature binds a hash of the patient's records as the source trial held
 * them, their row ids included, which a Snapshot carries for adverse events only: one
 * the imported records no longer hash to (their rows were numbered otherwise) is
 * marked invalidated by the import, saying why, rather than shown as a change of the
 * data. */
static lp_status check_signatures(importer *im, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s =
      lp__prepare(im->t, "SELECT DISTINCT patient FROM signatures WHERE scope='casebook' ORDER BY patient", &st, err);
  if (s) return s;
  size_t n = 0, cap = 0;
  char(*pat)[64] = NULL;
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (n == cap) {
      char(*np)[64] = realloc(pat, (cap = cap ? 2 * cap : 16) * sizeof *pat);
      if (!np) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory");
        break;
      }
      pat = np;
    }
    snprintf(pat[n++], 64, "%s", (const char *)sqlite3_column_text(st, 0));
  }
  lp__finalize(im->t, st);
  char now[40];
  lp__now(im->t, now, sizeof now);
  for (size_t i = 0; !s && i < n; i++) {
    lp_signature g;
    if ((s = lp_signature_get(im->t, pat[i], &g, err)) || g.valid || g.invalidated_at[0]) continue;
    char *old = NULL;
    if ((s = lp__row_json(im->t, "signatures", g.id, &old, err))) break;
    if (!(s = lp__prepare(im->t,
                          "UPDATE signatures SET invalidated_at=?, invalidated_by=?, invalidated_reason=? WHERE id=?",
                          &st, err))) {
      sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 2, im->manager, -1, SQLITE_STATIC);
      sqlite3_bind_text(st, 3,
                        "imported from an ODM Snapshot: the signed records were numbered otherwise in the source "
                        "trial, so this trial cannot show they are the ones signed",
                        -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 4, g.id);
      int rc = sqlite3_step(st);
      lp__finalize(im->t, st);
      s = rc == SQLITE_DONE ? lp__audit_row(im->t, "signatures", g.id, old, pat[i], im->manager,
                                            "casebook signature not carried over by the import", err)
                            : lp__db_fail(im->t, err, "marking an imported signature");
    }
    free(old);
  }
  free(pat);
  return s;
}

/* Sites and the users, from AdminData: the first trial manager creates the trial. */
static lp_status create_trial(importer *im, const char *path, const char *protocol, xmlNode *admin, lp_error *err) {
  size_t nsites = 0;
  for (xmlNode *c = admin->children; c; c = c->next) nsites += is_el(c, "Location");
  lp_site_def *sites = calloc(nsites ? nsites : 1, sizeof *sites);
  char(*codes)[2][128] = calloc(nsites ? nsites : 1, sizeof *codes);
  if (!sites || !codes) {
    free(sites);
    free(codes);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  size_t i = 0;
  for (xmlNode *c = admin->children; c; c = c->next) {
    if (!is_el(c, "Location")) continue;
    char oid[140] = "";
    prop(c, "OID", oid, sizeof oid);
    snprintf(codes[i][0], sizeof codes[i][0], "%s", strncmp(oid, "LOC.", 4) ? oid : oid + 4);
    if (!prop(c, "Name", codes[i][1], sizeof codes[i][1])) snprintf(codes[i][1], sizeof codes[i][1], "%s", codes[i][0]);
    sites[i] = (lp_site_def){codes[i][0], codes[i][1]};
    i++;
  }
  /* the first manager */
  for (xmlNode *c = admin->children; c && !im->manager[0]; c = c->next) {
    char role[64];
    if (is_el(c, "User") && (content(child(c, "Organization"), role, sizeof role), !strcmp(role, "manager")))
      content(child(c, "LoginName"), im->manager, sizeof im->manager);
  }
  lp_status s = im->manager[0] ? lp_trial_create(path, protocol, sites, nsites, im->manager, &im->t, err)
                               : lp_error_set(err, LP_EPARSE, "%s: AdminData names no trial manager", im->file);
  free(sites);
  free(codes);
  if (s) return s;
  for (xmlNode *c = admin->children; c && !s; c = c->next) {
    if (!is_el(c, "User")) continue;
    char name[128], role[64], site[140] = "", full[LP_FULL_NAME_MAX + 2] = "";
    content(child(c, "LoginName"), name, sizeof name);
    content(child(c, "Organization"), role, sizeof role);
    content(child(c, "FullName"), full, sizeof full);
    xmlNode *lr = child(c, "LocationRef");
    if (lr) prop(lr, "LocationOID", site, sizeof site);
    if (!role[0]) continue;                            /* names of the audit trail only */
    bool pi = !strcmp(role, "principal investigator"); /* an investigator marked as the site's PI */
    lp_role r = !strcmp(role, "investigator") || pi ? LP_ROLE_INVESTIGATOR
                : !strcmp(role, "statistician")     ? LP_ROLE_STATISTICIAN
                : !strcmp(role, "monitor")          ? LP_ROLE_MONITOR
                                                    : LP_ROLE_MANAGER;
    if (strcmp(name, im->manager)) /* the creator is registered already */
      s = lp_user_add(im->t, im->manager, name, r, site[0] ? site + 4 : NULL, err);
    if (!s && full[0]) s = lp_user_set_full_name(im->t, im->manager, name, full, err);
    if (!s && pi) s = lp_site_pi_set(im->t, im->manager, name, err);
  }
  return s;
}

lp_status lp_trial_import_odm(const char *path, const char *odm_path, lp_error *err) {
  xmlDoc *doc =
      xmlReadFile(odm_path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (!doc) {
    const xmlError *xe = xmlGetLastError();
    return lp_error_at(err, LP_EPARSE, odm_path, xe ? xe->line : 0, NULL, "not well-formed XML: %s",
                       xe && xe->message ? xe->message : "unreadable");
  }
  importer im = {.file = odm_path};
  snprintf(im.reason, sizeof im.reason, "imported from the ODM Snapshot %s", odm_path);
  xmlNode *root = xmlDocGetRootElement(doc);
  char type[32] = "", protocol[64] = "leopards";
  lp_status s = LP_OK;
  if (!is_el(root, "ODM") || !root->ns || strcmp((const char *)root->ns->href, "http://www.cdisc.org/ns/odm/v1.3"))
    s = lp_error_set(err, LP_EPARSE, "%s: not a CDISC ODM 1.3 file", odm_path);
  else if (!prop(root, "FileType", type, sizeof type) || strcmp(type, "Snapshot"))
    s = lp_error_set(err, LP_EPARSE, "%s: a %s file; only a Snapshot can be imported", odm_path,
                     type[0] ? type : "untyped");
  xmlNode *study = child(root, "Study"), *admin = child(root, "AdminData"), *clin = child(root, "ClinicalData");
  if (!s && (!study || !admin || !clin))
    s = lp_error_set(err, LP_EPARSE, "%s: Study, AdminData and ClinicalData are needed", odm_path);
  if (!s) content(child(child(study, "GlobalVariables"), "ProtocolName"), protocol, sizeof protocol);
  if (!s) s = create_trial(&im, path, protocol, admin, err);
  if (!s) s = lp__begin(im.t, err);
  if (!s) {
    s = lp__meta_set(im.t, "imported_from", odm_path, im.manager, "imported from an ODM Snapshot: no allocations", err);
    for (xmlNode *c = clin->children; c && !s; c = c->next)
      if (is_el(c, "SubjectData")) s = import_subject(&im, c, err);
    if (!s) s = check_signatures(&im, err);
    /* A Snapshot from before consent was in the file: its patients owe nothing. */
    if (!s)
      s = lp__consent_mark_untracked(im.t, im.manager,
                                     "imported from an ODM Snapshot: "
                                     "recorded before consent was tracked",
                                     err);
    if (!s) s = lp__commit(im.t, err);
    else
      lp__rollback(im.t);
  }
  xmlFreeDoc(doc);
  if (im.t) {
    lp_trial_close(im.t);
    if (s) lp_trial_remove_files(path);
  }
  return s;
}
