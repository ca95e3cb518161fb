/* CDISC ODM 1.3.2 export of a trial: a Snapshot (the metadata generated from the field
 * definitions of leopards/forms.h, the administrative data, and the clinical data of
 * every randomised patient as it is now) or a Transactional file (every change of the
 * audit trail as ItemGroupData with its AuditRecord). Always blinded: no arm, list
 * position or pack number. Written with libxml2's xmlwriter to a temporary file that
 * replaces nothing: it is linked to its name only if that name is free. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>
#include <sodium.h>

#include <leopards/forms.h>
#include <leopards/queries.h>

#include "trial/trial_internal.h"
#include "trial/odm_internal.h"

#define ODM_NS "http://www.cdisc.org/ns/odm/v1.3"

/* ---- names shared with the reader ---- */

void lp__odm_form_oid(const lp_form *f, char *buf, size_t n) { snprintf(buf, n, "F.%s", f->name); }
void lp__odm_event_oid(const lp_form *f, char *buf, size_t n) { snprintf(buf, n, "SE.%s", f->name); }
void lp__odm_group_oid(const lp_form *f, char *buf, size_t n) { snprintf(buf, n, "IG.%s", f->name); }
void lp__odm_item_oid(const lp_form *f, const lp_field *x, char *buf, size_t n) {
  snprintf(buf, n, "IT.%s.%s", f->name, x->name);
}

/* ---- the forms of ODM only ----
 * Data queries, source data verifications and casebook signatures are not case report
 * forms (leopards/forms.h) but records about them; ODM 1.3.2 has no element that holds
 * them whole (an Annotation has no user or time; a Signature no printed name, meaning
 * or hash), so each is a repeating form of its own in a common study event, one
 * FormData per row (its FormRepeatKey the row id), with the columns of its table as
 * items (docs/odm.md). */

#define OT(n, d, fl) \
  { n, d, LP_FIELD_TEXT, "", 0, 0, NAN, NAN, NULL, NULL, fl, NULL, NULL, 0, NULL }
#define OD(n, d, fl) \
  { n, d, LP_FIELD_DATE, "", 0, 0, NAN, NAN, NULL, "UTC", fl, NULL, NULL, 0, NULL }
#define OC(n, ch, d, fl) \
  { n, d, LP_FIELD_CHOICE, "", 0, 0, NAN, NAN, ch, NULL, fl, NULL, NULL, 0, NULL }
#define OI(n, lo, hi, d, fl) \
  { n, d, LP_FIELD_INTEGER, "", lo, hi, NAN, NAN, NULL, NULL, fl, NULL, NULL, 0, NULL }
#define ORQ LP_FIELD_REQUIRED
#define OFORMS "baseline|daily|infusion|outcome|ae"
#define ORECORD                                                                                              \
  OT("record",                                                                                               \
     "the record of a repeating form: the adverse event's FormRepeatKey (its event number) or the infusion " \
     "event's ItemGroupRepeatKey (its hour); absent for the other forms",                                    \
     0)

static const lp_field query_fields[] = {
    OC("form", OFORMS, "record kind of the queried record", ORQ),
    OI("day", 1, 28, "the daily record's day; absent for the other forms", 0),
    ORECORD,
    OT("field", "field queried", ORQ),
    OC("state", "open|answered|closed", "state of the query", ORQ),
    OC("origin", "check|manual", "check (opened by a soft edit check) or manual (by a monitor or manager)", ORQ),
    OT("text", "the question", ORQ),
    OD("opened_at", "time the query was opened (UTC)", ORQ),
    OT("opened_by", "user who opened it", ORQ),
    OT("answer", "the site's last answer", 0),
    OD("answered_at", "time of that answer (UTC)", 0),
    OT("answered_by", "user who answered", 0),
    OT("old_value", "value before a correction given as the answer", 0),
    OT("new_value", "value of that correction", 0),
    OD("closed_at", "time the query was closed (UTC)", 0),
    OT("closed_by", "user who closed it", 0),
    OI("reopened", 0, 1e9, "times re-opened", ORQ),
    OT("reopen_text", "why it was last re-opened", 0),
};

static const lp_field sdv_fields[] = {
    OC("form", OFORMS, "record kind of the verified form", ORQ),
    OI("day", 1, 28, "the daily form's day; absent for the other forms", 0),
    ORECORD,
    OD("verified_at", "time of the source data verification (UTC)", ORQ),
    OT("verified_by", "monitor who verified against the source", ORQ),
    OD("cleared_at", "time a later change cleared the verification (UTC)", 0),
    OT("cleared_by", "user whose change cleared it", 0),
    OT("cleared_reason", "reason given for that change", 0),
};

static const lp_field signature_fields[] = {
    OT("signer", "user who signed (the site's principal investigator)", ORQ),
    OT("printed_name", "signer's printed name", ORQ),
    OT("role", "signer's role when signing", ORQ),
    OT("meaning", "meaning of the signature", ORQ),
    OD("signed_at", "time of the signature (UTC)", ORQ),
    OT("content_hash", "SHA-256 (hex) of the signed records of the casebook", ORQ),
    OD("invalidated_at", "time a later change invalidated the signature (UTC)", 0),
    OT("invalidated_by", "user whose change invalidated it", 0),
    OT("invalidated_reason", "reason given for that change", 0),
};

#define OFORM(id, name, label, table, arr) \
  { id, name, label, table, true, arr, sizeof arr / sizeof arr[0] }
static const lp_form odm_forms[] = {
    OFORM(LP__ODM_QUERY, "query", "Data query", "queries", query_fields),
    OFORM(LP__ODM_SDV, "sdv", "Source data verification", "verifications", sdv_fields),
    OFORM(LP__ODM_SIGNATURE, "signature", "Casebook signature", "signatures", signature_fields),
};

/* The forms in the order of a patient's casebook. */
static const lp_form_id crf_order[] = {LP_FORM_SCREENING, LP_FORM_CONSENT, LP_FORM_RANDOMISATION, LP_FORM_BASELINE,
                                       LP_FORM_INFUSION,  LP_FORM_DAILY,   LP_FORM_OUTCOME,       LP_FORM_AE};
#define N_CRF (sizeof crf_order / sizeof crf_order[0])
_Static_assert(N_CRF + sizeof odm_forms / sizeof odm_forms[0] == LP__ODM_NFORMS, "the forms of a casebook");

const lp_form *lp__odm_form(size_t i) {
  return i < N_CRF ? lp_form_get(crf_order[i]) : i < LP__ODM_NFORMS ? &odm_forms[i - N_CRF] : NULL;
}

const lp_form *lp__odm_form_of_table(const char *table) {
  for (size_t i = 0; table && i < LP__ODM_NFORMS; i++)
    if (!strcmp(lp__odm_form(i)->table, table)) return lp__odm_form(i);
  return NULL;
}

/* A form of ODM only (not a case report form). */
static bool odm_only(const lp_form *f) { return f->id >= LP__ODM_QUERY; }

/* Items of a form as ODM shows them: every field but the patient (the SubjectKey). */
static bool is_item(const lp_field *x) { return strcmp(x->name, "patient") != 0; }

static const char *data_type(const lp_field *x) {
  switch (x->type) {
    case LP_FIELD_INTEGER:
      return "integer";
    case LP_FIELD_REAL:
      return "float";
    case LP_FIELD_BOOL:
      return "boolean";
    case LP_FIELD_DATE:
      return "partialDatetime";
    default:
      return "text";
  }
}

static void unit_oid(const char *unit, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "MU.");
  for (const char *p = unit; *p && k + 1 < n; p++) buf[k++] = (char)(isalnum((unsigned char)*p) ? *p : '_');
  buf[k] = '\0';
}

/* ---- writer helpers: the first failure is kept, later calls do nothing ---- */

typedef struct {
  xmlTextWriterPtr w;
  bool failed;
} xw;

static void start(xw *x, const char *el) {
  if (!x->failed && xmlTextWriterStartElement(x->w, BAD_CAST el) < 0) x->failed = true;
}
static void end(xw *x) {
  if (!x->failed && xmlTextWriterEndElement(x->w) < 0) x->failed = true;
}
static void attr(xw *x, const char *name, const char *value) {
  if (!x->failed && xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value) < 0) x->failed = true;
}
static void text_el(xw *x, const char *el, const char *text) {
  if (!x->failed && xmlTextWriterWriteElement(x->w, BAD_CAST el, BAD_CAST text) < 0) x->failed = true;
}
static void translated(xw *x, const char *el, const char *text) {
  start(x, el);
  start(x, "TranslatedText");
  attr(x, "xml:lang", "en");
  if (!x->failed && xmlTextWriterWriteString(x->w, BAD_CAST text) < 0) x->failed = true;
  end(x);
  end(x);
}

/* ---- metadata ---- */

static void write_units(xw *x) {
  start(x, "BasicDefinitions");
  const char *seen[64];
  size_t nseen = 0;
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    for (size_t j = 0; j < f->nfields; j++) {
      const char *u = f->fields[j].unit;
      if (!is_item(&f->fields[j]) || !*u || f->fields[j].type == LP_FIELD_BOOL) continue;
      bool dup = false;
      for (size_t k = 0; k < nseen; k++) dup |= !strcmp(seen[k], u);
      if (dup || nseen == 64) continue;
      seen[nseen++] = u;
      char oid[64];
      unit_oid(u, oid, sizeof oid);
      start(x, "MeasurementUnit");
      attr(x, "OID", oid);
      attr(x, "Name", u);
      translated(x, "Symbol", u);
      end(x);
    }
  }
  end(x);
}

static void range_check(xw *x, const char *cmp, const char *soft, double v) {
  char num[40];
  lp__fmt_real(v, num, sizeof num);
  start(x, "RangeCheck");
  attr(x, "Comparator", cmp);
  attr(x, "SoftHard", soft);
  text_el(x, "CheckValue", num);
  end(x);
}

static void write_item_def(xw *x, const lp_form *f, const lp_field *fd) {
  char oid[128], num[32];
  lp__odm_item_oid(f, fd, oid, sizeof oid);
  start(x, "ItemDef");
  attr(x, "OID", oid);
  attr(x, "Name", fd->name);
  attr(x, "DataType", data_type(fd));
  if (fd->type == LP_FIELD_TEXT || fd->type == LP_FIELD_CHOICE) {
    size_t len = 2000;
    if (fd->type == LP_FIELD_CHOICE) { /* the longest choice */
      len = 1;
      for (const char *p = fd->choices; *p;) {
        size_t k = strcspn(p, "|");
        if (k > len) len = k;
        p += k + (p[k] ? 1 : 0);
      }
    }
    snprintf(num, sizeof num, "%zu", len);
    attr(x, "Length", num);
  }
  translated(x, "Description", fd->help ? fd->help : fd->label);
  translated(x, "Question", fd->label);
  if (*fd->unit && fd->type != LP_FIELD_BOOL && fd->type != LP_FIELD_CHOICE && fd->type != LP_FIELD_TEXT &&
      fd->type != LP_FIELD_DATE) {
    char u[64];
    unit_oid(fd->unit, u, sizeof u);
    start(x, "MeasurementUnitRef");
    attr(x, "MeasurementUnitOID", u);
    end(x);
  }
  if (fd->type == LP_FIELD_INTEGER || fd->type == LP_FIELD_REAL) {
    range_check(x, "GE", "Hard", fd->min);
    range_check(x, "LE", "Hard", fd->max);
    if (!isnan(fd->soft_min)) range_check(x, "GE", "Soft", fd->soft_min);
    if (!isnan(fd->soft_max)) range_check(x, "LE", "Soft", fd->soft_max);
  }
  if (fd->type == LP_FIELD_CHOICE) {
    char cl[128];
    snprintf(cl, sizeof cl, "CL.%s.%s", f->name, fd->name);
    start(x, "CodeListRef");
    attr(x, "CodeListOID", cl);
    end(x);
  }
  if (fd->alt) { /* the alternative unit the form accepts, and its factor */
    char ctx[160];
    snprintf(ctx, sizeof ctx, "%s in %s = %s x %g", fd->alt, fd->alt_unit, fd->name, fd->alt_div);
    start(x, "Alias");
    attr(x, "Context", "leopards:alternative-unit");
    attr(x, "Name", ctx);
    end(x);
  }
  end(x);
}

static void write_code_list(xw *x, const lp_form *f, const lp_field *fd) {
  char cl[128];
  snprintf(cl, sizeof cl, "CL.%s.%s", f->name, fd->name);
  start(x, "CodeList");
  attr(x, "OID", cl);
  attr(x, "Name", fd->name);
  attr(x, "DataType", "text");
  for (const char *p = fd->choices; *p;) {
    size_t k = strcspn(p, "|");
    char v[128];
    snprintf(v, sizeof v, "%.*s", (int)k, p);
    start(x, "CodeListItem");
    attr(x, "CodedValue", v);
    translated(x, "Decode", v);
    end(x);
    p += k + (p[k] ? 1 : 0);
  }
  if (f->id == LP_FORM_CONSENT && !strcmp(fd->name, "consent_by")) { /* a trial upgraded, or imported, */
    start(x, "CodeListItem");                                        /* from before consent was tracked */
    attr(x, "CodedValue", "before_tracking");
    translated(x, "Decode", "recorded before consent was tracked");
    end(x);
  }
  end(x);
}

static void write_metadata(xw *x, const char *mdv) {
  char oid[128];
  start(x, "MetaDataVersion");
  attr(x, "OID", mdv);
  attr(x, "Name", "leopards case report forms");
  start(x, "Protocol");
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    lp__odm_event_oid(f, oid, sizeof oid);
    start(x, "StudyEventRef");
    attr(x, "StudyEventOID", oid);
    attr(x, "Mandatory", f->id == LP_FORM_AE || odm_only(f) ? "No" : "Yes");
    end(x);
  }
  end(x);
  /* one event per form; the daily record's event repeats (its key is the day) */
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    lp__odm_event_oid(f, oid, sizeof oid);
    start(x, "StudyEventDef");
    attr(x, "OID", oid);
    attr(x, "Name", f->label);
    attr(x, "Repeating", f->id == LP_FORM_DAILY ? "Yes" : "No");
    attr(x, "Type", f->id == LP_FORM_AE || odm_only(f) ? "Common" : "Scheduled");
    lp__odm_form_oid(f, oid, sizeof oid);
    start(x, "FormRef");
    attr(x, "FormOID", oid);
    attr(x, "Mandatory", "Yes");
    end(x);
    end(x);
  }
  /* adverse events: a form per event (its key is the event number), as queries,
   * verifications and signatures (their row ids); consent: a form per kind (initial,
   * retrospective); the infusion log: a row per event (its key is the hour) */
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    lp__odm_form_oid(f, oid, sizeof oid);
    start(x, "FormDef");
    attr(x, "OID", oid);
    attr(x, "Name", f->label);
    attr(x, "Repeating", f->repeating && f->id != LP_FORM_DAILY && f->id != LP_FORM_INFUSION ? "Yes" : "No");
    lp__odm_group_oid(f, oid, sizeof oid);
    start(x, "ItemGroupRef");
    attr(x, "ItemGroupOID", oid);
    attr(x, "Mandatory", "Yes");
    end(x);
    end(x);
  }
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    lp__odm_group_oid(f, oid, sizeof oid);
    start(x, "ItemGroupDef");
    attr(x, "OID", oid);
    attr(x, "Name", f->label);
    attr(x, "Repeating", f->id == LP_FORM_INFUSION ? "Yes" : "No");
    for (size_t j = 0; j < f->nfields; j++) {
      if (!is_item(&f->fields[j])) continue;
      lp__odm_item_oid(f, &f->fields[j], oid, sizeof oid);
      start(x, "ItemRef");
      attr(x, "ItemOID", oid);
      attr(x, "Mandatory", f->fields[j].flags & LP_FIELD_REQUIRED ? "Yes" : "No");
      end(x);
    }
    end(x);
  }
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    for (size_t j = 0; j < f->nfields; j++)
      if (is_item(&f->fields[j])) write_item_def(x, f, &f->fields[j]);
  }
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    for (size_t j = 0; j < f->nfields; j++)
      if (f->fields[j].type == LP_FIELD_CHOICE) write_code_list(x, f, &f->fields[j]);
  }
  end(x);
}

/* ---- administrative data ---- */

typedef struct {
  lp_trial *t;
  xw *x;
  const char *study, *mdv;
  char effective[11]; /* the date the metadata apply from: the first randomisation */
} ctx;

static lp_status write_admin(ctx *c, lp_error *err) {
  xw *x = c->x;
  sqlite3_stmt *st;
  lp_status s;
  start(x, "AdminData");
  attr(x, "StudyOID", c->study);
  /* users of the trial (never a credential), then any other name the audit trail holds */
  if ((s = lp__prepare(c->t,
                       "SELECT name, role, code, full_name, pi FROM (SELECT u.id AS k, u.name, u.role, s.code,"
                       " u.full_name, EXISTS(SELECT 1 FROM site_pis p WHERE p.user_id=u.id AND p.site_id=u.site_id)"
                       " AS pi FROM users u LEFT JOIN sites s ON s.id=u.site_id UNION ALL SELECT 1e18, a.user, NULL,"
                       " NULL, NULL, 0 FROM audit a "
                       "WHERE a.user NOT IN (SELECT name FROM users) GROUP BY a.user) ORDER BY k, name",
                       &st, err)))
    return s;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *role = (const char *)sqlite3_column_text(st, 1);
    const char *site = (const char *)sqlite3_column_text(st, 2);
    const char *full = (const char *)sqlite3_column_text(st, 3);
    bool pi = sqlite3_column_int(st, 4) != 0; /* the site's principal investigator */
    char oid[200], disp[200];
    snprintf(oid, sizeof oid, "USR.%s", name);
    snprintf(disp, sizeof disp, "%s (%s)", name, role ? role : "named in the audit trail only");
    start(x, "User");
    attr(x, "OID", oid);
    attr(x, "UserType", !role ? "Other" : !strcmp(role, "investigator") ? "Investigator" : "Sponsor");
    text_el(x, "LoginName", name);
    text_el(x, "DisplayName", disp);
    if (full && *full) text_el(x, "FullName", full);
    if (role) text_el(x, "Organization", pi ? "principal investigator" : role);
    if (site) {
      snprintf(oid, sizeof oid, "LOC.%s", site);
      start(x, "LocationRef");
      attr(x, "LocationOID", oid);
      end(x);
    }
    end(x);
  }
  lp__finalize(c->t, st);
  if ((s = lp__prepare(c->t, "SELECT code, name FROM sites ORDER BY id", &st, err))) return s;
  while (sqlite3_step(st) == SQLITE_ROW) {
    char oid[200];
    snprintf(oid, sizeof oid, "LOC.%s", (const char *)sqlite3_column_text(st, 0));
    start(x, "Location");
    attr(x, "OID", oid);
    attr(x, "Name", (const char *)sqlite3_column_text(st, 1));
    attr(x, "LocationType", "Site");
    start(x, "MetaDataVersionRef");
    attr(x, "StudyOID", c->study);
    attr(x, "MetaDataVersionOID", c->mdv);
    attr(x, "EffectiveDate", c->effective);
    end(x);
    end(x);
  }
  lp__finalize(c->t, st);
  /* the meaning of a casebook signature (the lock's is the source database's own: it
   * binds the head of its audit trail, and neither file carries it) */
  start(x, "SignatureDef");
  attr(x, "OID", LP__ODM_CASEBOOK_SIGNATURE);
  attr(x, "Methodology", "Electronic");
  text_el(x, "Meaning", LP_CASEBOOK_MEANING);
  text_el(x, "LegalReason",
          "electronic signature of the site's principal investigator, who gives the password again "
          "(21 CFR Part 11, 11.50, 11.70, 11.200), bound to a hash of the casebook's records");
  end(x);
  end(x);
  return LP_OK;
}

/* ---- clinical data ---- */

/* The text of a value as ODM holds it (reals in their shortest exact form). */
static bool json_value_text(json_t *v, char *buf, size_t n) {
  if (json_is_integer(v)) snprintf(buf, n, "%lld", (long long)json_integer_value(v));
  else if (json_is_real(v))
    lp__fmt_real(json_real_value(v), buf, n);
  else if (json_is_string(v))
    snprintf(buf, n, "%s", json_string_value(v));
  else
    return false;
  return true;
}

/* ItemData of one row: every field present (Snapshot), or only those that changed
 * from `old` (Transactional; a value removed as IsNull). */
static void write_items(xw *x, const lp_form *f, json_t *row, json_t *old, bool transactional) {
  char oid[128];
  char *val = malloc(8192);
  if (!val) {
    x->failed = true;
    return;
  }
  for (size_t j = 0; j < f->nfields; j++) {
    const lp_field *fd = &f->fields[j];
    if (!is_item(fd)) continue;
    json_t *v = json_object_get(row, fd->name), *o = old ? json_object_get(old, fd->name) : NULL;
    if (transactional && old && json_equal(v, o)) continue;
    if (transactional && old && !v && o) {
      lp__odm_item_oid(f, fd, oid, sizeof oid);
      start(x, "ItemData");
      attr(x, "ItemOID", oid);
      attr(x, "TransactionType", "Remove");
      attr(x, "IsNull", "Yes");
      end(x);
      continue;
    }
    if (!v || !json_value_text(v, val, 8192)) continue;
    lp__odm_item_oid(f, fd, oid, sizeof oid);
    start(x, "ItemData");
    attr(x, "ItemOID", oid);
    if (transactional) attr(x, "TransactionType", old ? "Update" : "Insert");
    attr(x, "Value", val);
    end(x);
  }
  free(val);
}

/* The repeat keys of a row: the day of a daily record, the event number of an
 * adverse event (the row id, as of a query, a verification or a signature), the kind
 * of a consent, the hour of an infusion event. */
static void keys_of(const lp_form *f, json_t *row, long row_id, char *ev, char *form, char *group, size_t n) {
  ev[0] = form[0] = group[0] = '\0';
  if (f->id == LP_FORM_DAILY) json_value_text(json_object_get(row, "day"), ev, n);
  if (f->id == LP_FORM_AE || odm_only(f)) snprintf(form, n, "%ld", row_id);
  if (f->id == LP_FORM_CONSENT) json_value_text(json_object_get(row, "kind"), form, n);
  if (f->id == LP_FORM_INFUSION) json_value_text(json_object_get(row, "hour"), group, n);
}

/* The nest of one row: StudyEventData > FormData > ItemGroupData, then the items.
 * `audit` writes an AuditRecord in the group: the change (Transactional, with the
 * transaction types), or who recorded a consent, where and when (Snapshot). */
typedef struct {
  const char *user, *site, *at, *reason, *action;
  bool transactional;
} audit_info;

static void write_audit_record(xw *x, const audit_info *audit) {
  char ref[200];
  start(x, "AuditRecord");
  snprintf(ref, sizeof ref, "USR.%s", audit->user);
  start(x, "UserRef");
  attr(x, "UserOID", ref);
  end(x);
  snprintf(ref, sizeof ref, "LOC.%s", audit->site);
  start(x, "LocationRef");
  attr(x, "LocationOID", ref);
  end(x);
  text_el(x, "DateTimeStamp", audit->at);
  if (audit->reason && *audit->reason) text_el(x, "ReasonForChange", audit->reason);
  end(x);
}

static void write_row(xw *x, const lp_form *f, json_t *row, json_t *old, long row_id, const audit_info *audit) {
  char oid[128], ev[64], fk[64], gk[64];
  bool tx = audit && audit->transactional;
  keys_of(f, row ? row : old, row_id, ev, fk, gk, sizeof ev);
  const char *tt = !tx ? NULL : !strcmp(audit->action, "delete") ? "Remove" : old ? "Update" : "Insert";
  lp__odm_event_oid(f, oid, sizeof oid);
  start(x, "StudyEventData");
  attr(x, "StudyEventOID", oid);
  if (ev[0]) attr(x, "StudyEventRepeatKey", ev);
  if (tx) attr(x, "TransactionType", "Upsert");
  lp__odm_form_oid(f, oid, sizeof oid);
  start(x, "FormData");
  attr(x, "FormOID", oid);
  if (fk[0]) attr(x, "FormRepeatKey", fk);
  if (tx) attr(x, "TransactionType", "Upsert");
  lp__odm_group_oid(f, oid, sizeof oid);
  start(x, "ItemGroupData");
  attr(x, "ItemGroupOID", oid);
  if (gk[0]) attr(x, "ItemGroupRepeatKey", gk);
  if (tt) attr(x, "TransactionType", tt);
  if (audit) write_audit_record(x, audit);
  if (row) write_items(x, f, row, tx ? old : NULL, tx);
  end(x);
  end(x);
  end(x);
}

/* The `record` of a query or verification as ODM names it: an adverse event by its
 * event number (kept on import, so one since deleted keeps it too), an infusion event
 * by its hour (one since deleted has none left to name it by: no record). */
static void record_key(ctx *c, json_t *row) {
  const char *form = json_string_value(json_object_get(row, "form"));
  json_t *r = json_object_get(row, "record");
  json_int_t id = json_integer_value(r);
  if (json_integer_value(json_object_get(row, "day")) == 0) json_object_del(row, "day");
  if (!form || !id) {
    json_object_del(row, "record");
    return;
  }
  char key[64];
  snprintf(key, sizeof key, "%lld", (long long)id);
  sqlite3_stmt *st;
  if (!strcmp(form, "infusion") && !lp__prepare(c->t, "SELECT hour FROM infusions WHERE id=?", &st, NULL)) {
    sqlite3_bind_int64(st, 1, id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) lp__fmt_real(sqlite3_column_double(st, 0), key, sizeof key);
    lp__finalize(c->t, st);
    if (!found) {
      json_object_del(row, "record");
      return;
    }
  }
  json_object_set_new(row, "record", json_string(key));
}

/* A row of a table as JSON (the screening inputs are the screening form's fields). */
static json_t *form_row(ctx *c, const lp_form *f, const char *table_json) {
  json_t *row = table_json ? json_loads(table_json, 0, NULL) : NULL;
  if (row && (f->id == LP__ODM_QUERY || f->id == LP__ODM_SDV)) record_key(c, row);
  if (!row || f->id != LP_FORM_SCREENING) return row;
  json_t *in = json_loads(json_string_value(json_object_get(row, "inputs")), 0, NULL);
  if (!in) in = json_object();
  /* inputs stored before a field was renamed: under its one name */
  for (size_t j = 0; j < f->nfields; j++) {
    const lp_field *fd = &f->fields[j];
    json_t *v = fd->old_name ? json_object_get(in, fd->old_name) : NULL;
    if (v && !json_object_get(in, fd->name)) json_object_set(in, fd->name, v);
    if (fd->old_name) json_object_del(in, fd->old_name);
  }
  const char *r = json_string_value(json_object_get(row, "reason_not_enrolled"));
  if (r) json_object_set_new(in, "reason_not_enrolled", json_string(r));
  json_decref(row);
  return in;
}

/* One row of a patient's form in the Snapshot; a consent with who recorded it, where
 * and when (an AuditRecord: ODM's way to attribute data). */
static lp_status write_subject_row(ctx *c, const lp_form *f, const char *site, long id, bool *group_open,
                                   lp_error *err) {
  char *text = NULL;
  lp_status s = lp__row_json(c->t, f->table, id, &text, err);
  if (s) return s;
  json_t *row = form_row(c, f, text);
  free(text);
  if (!row) return LP_OK;
  if (f->id == LP_FORM_INFUSION) { /* one form, a row per event */
    char oid[64], gk[64];
    if (!*group_open) {
      lp__odm_event_oid(f, oid, sizeof oid);
      start(c->x, "StudyEventData");
      attr(c->x, "StudyEventOID", oid);
      lp__odm_form_oid(f, oid, sizeof oid);
      start(c->x, "FormData");
      attr(c->x, "FormOID", oid);
      *group_open = true;
    }
    lp__odm_group_oid(f, oid, sizeof oid);
    json_value_text(json_object_get(row, "hour"), gk, sizeof gk);
    start(c->x, "ItemGroupData");
    attr(c->x, "ItemGroupOID", oid);
    attr(c->x, "ItemGroupRepeatKey", gk);
    write_items(c->x, f, row, NULL, false);
    end(c->x);
  } else if (f->id == LP_FORM_CONSENT) {
    audit_info ai = {json_string_value(json_object_get(row, "recorded_by")),
                     site,
                     json_string_value(json_object_get(row, "recorded_at")),
                     NULL,
                     "insert",
                     false};
    write_row(c->x, f, row, NULL, id, ai.user && ai.at ? &ai : NULL);
  } else {
    write_row(c->x, f, row, NULL, id, NULL);
  }
  json_decref(row);
  return LP_OK;
}

static lp_status write_subject_forms(ctx *c, const char *patient, const char *site, lp_error *err) {
  char sql[256];
  for (size_t i = 0; i < LP__ODM_NFORMS; i++) {
    const lp_form *f = lp__odm_form(i);
    const char *order = f->id == LP_FORM_DAILY ? "day" : f->id == LP_FORM_INFUSION ? "hour" : "id";
    snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE patient=?%s ORDER BY %s, id", f->table,
             f->id == LP__ODM_SIGNATURE ? " AND scope='casebook'" : "", order);
    sqlite3_stmt *st;
    lp_status s = lp__prepare(c->t, sql, &st, err);
    if (s) return s;
    sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
    bool group_open = false;
    while (!s && sqlite3_step(st) == SQLITE_ROW)
      s = write_subject_row(c, f, site, (long)sqlite3_column_int64(st, 0), &group_open, err);
    lp__finalize(c->t, st);
    if (s) return s;
    if (group_open) {
      end(c->x);
      end(c->x);
    }
  }
  return LP_OK;
}

static void clinical_start(ctx *c) {
  start(c->x, "ClinicalData");
  attr(c->x, "StudyOID", c->study);
  attr(c->x, "MetaDataVersionOID", c->mdv);
}

/* The casebook's signature as ODM has it (the subject's Signature, its meaning in the
 * SignatureDef): the patient's last signature, unless a change has invalidated it. */
static lp_status write_subject_signature(ctx *c, const char *patient, const char *loc, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s = lp__prepare(c->t,
                            "SELECT signer, signed_at, invalidated_at IS NULL FROM signatures"
                            " WHERE scope='casebook' AND patient=? ORDER BY id DESC LIMIT 1",
                            &st, err);
  if (s) return s;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 2)) {
    char ref[200];
    start(c->x, "Signature");
    snprintf(ref, sizeof ref, "USR.%s", (const char *)sqlite3_column_text(st, 0));
    start(c->x, "UserRef");
    attr(c->x, "UserOID", ref);
    end(c->x);
    start(c->x, "LocationRef");
    attr(c->x, "LocationOID", loc);
    end(c->x);
    start(c->x, "SignatureRef");
    attr(c->x, "SignatureOID", LP__ODM_CASEBOOK_SIGNATURE);
    end(c->x);
    text_el(c->x, "DateTimeStamp", (const char *)sqlite3_column_text(st, 1));
    end(c->x);
  }
  lp__finalize(c->t, st);
  return LP_OK;
}

static lp_status write_snapshot_data(ctx *c, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s = lp__prepare(c->t,
                            "SELECT r.patient, s.code FROM randomisations r JOIN sites s ON s.id=r.site_id "
                            "ORDER BY r.id",
                            &st, err);
  if (s) return s;
  clinical_start(c);
  while (!s && sqlite3_step(st) == SQLITE_ROW) {
    const char *patient = (const char *)sqlite3_column_text(st, 0);
    const char *site = (const char *)sqlite3_column_text(st, 1);
    char loc[128];
    snprintf(loc, sizeof loc, "LOC.%s", site);
    start(c->x, "SubjectData");
    attr(c->x, "SubjectKey", patient);
    s = write_subject_signature(c, patient, loc, err);
    start(c->x, "SiteRef");
    attr(c->x, "LocationOID", loc);
    end(c->x);
    if (!s) s = write_subject_forms(c, patient, site, err);
    end(c->x);
  }
  lp__finalize(c->t, st);
  end(c->x);
  return s;
}

/* Every change of a patient's forms, consents, queries, verifications and casebook
 * signatures in the order of the audit trail. */
static lp_status write_transactions(ctx *c, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s =
      lp__prepare(c->t,
                  "SELECT a.tbl, a.row_id, a.action, a.patient, a.old, a.new, a.user, a.at, a.reason, "
                  " (SELECT s.code FROM screening sc JOIN sites s ON s.id=sc.site_id WHERE sc.patient=a.patient) "
                  "FROM audit a WHERE a.patient IS NOT NULL AND a.tbl IN "
                  "('screening','randomisations','patients','daily','infusions','outcomes','adverse_events','consents',"
                  "'queries','verifications','signatures') ORDER BY a.id",
                  &st, err);
  if (s) return s;
  clinical_start(c);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const lp_form *f = lp__odm_form_of_table((const char *)sqlite3_column_text(st, 0));
    const char *site = (const char *)sqlite3_column_text(st, 9);
    if (!f || !site) continue;
    json_t *old = form_row(c, f, (const char *)sqlite3_column_text(st, 4));
    json_t *row = form_row(c, f, (const char *)sqlite3_column_text(st, 5));
    audit_info ai = {(const char *)sqlite3_column_text(st, 6), site,
                     (const char *)sqlite3_column_text(st, 7), (const char *)sqlite3_column_text(st, 8),
                     (const char *)sqlite3_column_text(st, 2), true};
    char loc[128];
    snprintf(loc, sizeof loc, "LOC.%s", site);
    start(c->x, "SubjectData");
    attr(c->x, "SubjectKey", (const char *)sqlite3_column_text(st, 3));
    attr(c->x, "TransactionType", "Upsert");
    start(c->x, "SiteRef");
    attr(c->x, "LocationOID", loc);
    end(c->x);
    write_row(c->x, f, row, old, (long)sqlite3_column_int64(st, 1), &ai);
    end(c->x);
    json_decref(old);
    json_decref(row);
  }
  lp__finalize(c->t, st);
  end(c->x);
  return LP_OK;
}

/* ---- the file ---- */

static lp_status write_document(lp_trial *t, xmlTextWriterPtr w, bool transactional, lp_error *err) {
  xw x = {w, false};
  char protocol[64] = "leopards", study[96], now[40], fileoid[80];
  bool found;
  lp_status s = lp__meta_get(t, "protocol", protocol, sizeof protocol, &found, err);
  if (s) return s;
  snprintf(study, sizeof study, "ST.%s", protocol);
  lp__now(t, now, sizeof now);
  uint8_t rnd[12];
  char hex[25];
  randombytes_buf(rnd, sizeof rnd);
  lp__hex(rnd, sizeof rnd, hex);
  snprintf(fileoid, sizeof fileoid, "leopards.%s", hex);
  ctx c = {t, &x, study, "MDV.1", ""};
  sqlite3_stmt *st;
  if ((s = lp__prepare(t, "SELECT coalesce(min(substr(randomized_at, 1, 10)), '') FROM randomisations", &st, err)))
    return s;
  if (sqlite3_step(st) == SQLITE_ROW) snprintf(c.effective, sizeof c.effective, "%s", sqlite3_column_text(st, 0));
  lp__finalize(t, st);
  if (!c.effective[0]) snprintf(c.effective, sizeof c.effective, "%.10s", now);

  if (xmlTextWriterSetIndent(w, 1) < 0 || xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0) x.failed = true;
  start(&x, "ODM");
  attr(&x, "xmlns", ODM_NS);
  attr(&x, "ODMVersion", "1.3.2");
  attr(&x, "FileType", transactional ? "Transactional" : "Snapshot");
  attr(&x, "FileOID", fileoid);
  attr(&x, "CreationDateTime", now);
  attr(&x, "Originator", "leopards");
  attr(&x, "SourceSystem", "leopards");
  start(&x, "Study");
  attr(&x, "OID", study);
  start(&x, "GlobalVariables");
  text_el(&x, "StudyName", protocol);
  text_el(&x, "StudyDescription", "randomised trial (blinded export: no allocations)");
  text_el(&x, "ProtocolName", protocol);
  end(&x);
  write_units(&x);
  write_metadata(&x, c.mdv);
  end(&x);
  if ((s = write_admin(&c, err))) return s;
  if ((s = transactional ? write_transactions(&c, err) : write_snapshot_data(&c, err))) return s;
  end(&x);
  if (!x.failed && xmlTextWriterEndDocument(w) < 0) x.failed = true;
  if (x.failed) return lp_error_set(err, LP_EIO, "writing the ODM file failed");
  return LP_OK;
}

lp_status lp_trial_export_odm(lp_trial *t, const char *path, bool transactional, lp_error *err) {
  struct stat sb;
  if (lstat(path, &sb) == 0) return lp_error_set(err, LP_ESTATE, "%s exists: an export never replaces a file", path);
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return lp_error_set(err, LP_EIO, "%s: cannot create a file beside it: %s", path, strerror(errno));
  close(fd);
  xmlTextWriterPtr w = xmlNewTextWriterFilename(tmp, 0);
  if (!w) {
    unlink(tmp);
    return lp_error_set(err, LP_EIO, "%s: cannot write", tmp);
  }
  /* one snapshot of the database for the whole file */
  lp_status s = lp__exec(t, "BEGIN", err);
  if (!s) {
    s = write_document(t, w, transactional, err);
    lp__exec(t, "COMMIT", NULL);
  }
  xmlFreeTextWriter(w); /* flushes and closes */
  if (!s) {
    fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) s = lp_error_set(err, LP_EIO, "%s: cannot sync: %s", tmp, strerror(errno));
    if (fd >= 0) close(fd);
  }
  /* link(2) refuses an existing name: a file that appeared meanwhile is kept */
  if (!s && link(tmp, path) != 0)
    s = errno == EEXIST ? lp_error_set(err, LP_ESTATE, "%s exists: an export never replaces a file", path)
                        : lp_error_set(err, LP_EIO, "%s: %s", path, strerror(errno));
  unlink(tmp);
  return s;
}
