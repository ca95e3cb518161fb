/* Read-only views for the sites' pages: a site's screening log, one patient's page
 * (screening, randomisation, data recorded so far; never the arm), and the screening
 * criteria in words. Nothing here writes. */
#include <leopards/clinical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trial/trial_internal.h"

static const struct {
  const char *id, *words;
} criteria[] = {
    {"age", "younger than 18 years"},
    {"infection", "no suspected or proven infection"},
    {"sirs", "fewer than 2 SIRS criteria"},
    {"vasopressor_hours", "vasopressors for less than 4 hours despite fluids"},
    {"hours_since_criteria", "more than 24 hours since the criteria were met"},
    {"esrf_dialysis", "end-stage renal failure on dialysis"},
    {"torsades_history", "history of torsades de pointes"},
    {"child_pugh_c", "severe hepatic impairment (Child-Pugh C)"},
    {"ventricular_obstruction", "mechanical obstruction of ventricular filling or outflow"},
    {"treatment_limitation", "a decision to limit treatment"},
    {"weight_kg", "weight over 135 kg"},
    {"pregnant", "pregnant"},
    {"levosimendan_30d", "levosimendan within the last 30 days"},
    {"levosimendan_hypersensitivity", "known hypersensitivity to levosimendan"},
    {"other_trial", "in another interventional trial"},
    {"invalid", "the inputs could not be evaluated"},
};

const char *lp_criterion_words(const char *given, char *buf, size_t n) {
  /* ids stored by earlier versions (esrf, hepatic, ...) read as today's */
  char cur[128];
  lp_eligibility_codes_current(given, cur, sizeof cur);
  const char *id = cur;
  size_t len = strcspn(id, ":");
  bool missing = id[len] == ':';
  for (size_t i = 0; i < sizeof criteria / sizeof criteria[0]; i++)
    if (strlen(criteria[i].id) == len && !strncmp(criteria[i].id, id, len)) {
      if (missing) snprintf(buf, n, "not assessed (%s): an input is missing", criteria[i].id);
      else
        snprintf(buf, n, "%s", criteria[i].words);
      return buf;
    }
  snprintf(buf, n, "%s", id);
  return buf;
}

static void text(sqlite3_stmt *st, int i, char *buf, size_t n) {
  const unsigned char *p = sqlite3_column_text(st, i);
  snprintf(buf, n, "%s", p ? (const char *)p : "");
}

lp_status lp_screening_log(lp_trial *t, const char *site, size_t limit, lp_screening_row **out, size_t *n,
                           lp_error *err) {
  *out = NULL;
  *n = 0;
  long site_id = 0;
  lp_status s;
  if (site && (s = lp__site_id(t, site, &site_id, err))) return s;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT s.id, coalesce(s.patient,''), s.screened_at, s.screened_by, s.eligible, s.failed,"
                  " r.id IS NOT NULL FROM screening s LEFT JOIN randomisations r ON r.screening_id=s.id"
                  " WHERE ?1=0 OR s.site_id=?1 ORDER BY s.screened_at DESC, s.id DESC LIMIT ?2",
                  &st, err))
    return LP_EDB;
  sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
  lp_screening_row *rows = calloc(limit ? limit : 1, sizeof *rows);
  if (!rows) {
    lp__finalize(t, st);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  int rc;
  size_t k = 0;
  while (k < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    lp_screening_row *r = &rows[k++];
    r->id = (long)sqlite3_column_int64(st, 0);
    text(st, 1, r->patient, sizeof r->patient);
    text(st, 2, r->screened_at, sizeof r->screened_at);
    text(st, 3, r->screened_by, sizeof r->screened_by);
    r->eligible = sqlite3_column_int(st, 4) != 0;
    text(st, 5, r->failed, sizeof r->failed);
    r->randomised = sqlite3_column_int(st, 6) != 0;
  }
  lp__finalize(t, st);
  *out = rows;
  *n = k;
  return LP_OK;
}

/* The patient's consents (schema version 6 on). */
static lp_status consent_of(lp_trial *t, const char *patient, lp_patient_view *out, lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t,
                                   "SELECT (SELECT consent_by FROM consents WHERE patient=?1 AND kind='initial'),"
                                   " (SELECT consented_at FROM consents WHERE patient=?1 AND kind='initial'),"
                                   " (SELECT decision FROM consents WHERE patient=?1 AND kind='retrospective')",
                                   patient, &st, &row, "reading a patient's consent", err);
  if (s) return s;
  if (row) {
    text(st, 0, out->consent_by, sizeof out->consent_by);
    text(st, 1, out->consented_at, sizeof out->consented_at);
    text(st, 2, out->retrospective, sizeof out->retrospective);
  }
  lp__finalize(t, st);
  out->retrospective_due = out->randomised && strstr(out->consent_by, "_representative") && !out->retrospective[0];
  return LP_OK;
}

lp_status lp_patient_get(lp_trial *t, const char *patient, lp_patient_view *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  if (!patient || !*patient) return lp_error_set(err, LP_EINVAL, "no patient given");
  snprintf(out->patient, sizeof out->patient, "%s", patient);
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(
      t,
      "SELECT si.code, s.screened_at, s.screened_by, s.eligible, s.failed, r.seq, r.pack, r.randomized_at,"
      " r.randomized_by, r.id IS NOT NULL FROM screening s JOIN sites si ON si.id=s.site_id"
      " LEFT JOIN randomisations r ON r.patient=s.patient WHERE s.patient=?",
      patient, &st, &row, "reading a patient", err);
  if (s) return s;
  if (!row) {
    lp__finalize(t, st);
    return lp_error_set(err, LP_ENOTFOUND, "no patient '%s'", patient);
  }
  text(st, 0, out->site, sizeof out->site);
  text(st, 1, out->screened_at, sizeof out->screened_at);
  text(st, 2, out->screened_by, sizeof out->screened_by);
  out->eligible = sqlite3_column_int(st, 3) != 0;
  text(st, 4, out->failed, sizeof out->failed);
  out->randomised = sqlite3_column_int(st, 9) != 0;
  if (out->randomised) {
    out->sequence = (long)sqlite3_column_int64(st, 5);
    out->pack = (long)sqlite3_column_int64(st, 6);
    text(st, 7, out->randomized_at, sizeof out->randomized_at);
    text(st, 8, out->randomized_by, sizeof out->randomized_by);
  }
  lp__finalize(t, st);
  if ((s = consent_of(t, patient, out, err))) return s;
  if (!out->randomised) return LP_OK;
  if ((s = lp__select_patient(t,
                              "SELECT (SELECT count(*) FROM patients WHERE patient=?1),"
                              " (SELECT count(*) FROM infusions WHERE patient=?1),"
                              " (SELECT count(*) FROM daily WHERE patient=?1),"
                              " (SELECT count(*) FROM unblindings WHERE patient=?1)",
                              patient, &st, &row, "reading a patient", err)))
    return s;
  if (row) {
    out->baseline = sqlite3_column_int(st, 0) > 0;
    out->infusion_events = (long)sqlite3_column_int64(st, 1);
    out->days = (long)sqlite3_column_int64(st, 2);
    out->unblindings = (long)sqlite3_column_int64(st, 3);
  }
  lp__finalize(t, st);
  if ((s = lp__select_patient(t,
                              "SELECT coalesce(died,0), coalesce(consent_withdrawn,0), icu_discharge, death_date"
                              " FROM outcomes WHERE patient=?",
                              patient, &st, &row, "reading a patient", err)))
    return s;
  if (row) {
    out->outcome = true;
    out->died = sqlite3_column_int(st, 0) != 0;
    out->consent_withdrawn = sqlite3_column_int(st, 1) != 0;
    text(st, 2, out->icu_discharge, sizeof out->icu_discharge);
    text(st, 3, out->death_date, sizeof out->death_date);
  }
  lp__finalize(t, st);
  if (out->consent_withdrawn) out->retrospective_due = false; /* owes nothing more */
  return LP_OK;
}
