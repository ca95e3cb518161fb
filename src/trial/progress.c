/* Recruitment and data completeness for the trial manager: screened, eligible and
 * randomised by site and month, and which records are missing or overdue, patient
 * by patient. Blinded: nothing here reads or reveals an arm. */
#include <leopards/table.h>
#include <leopards/trial.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trial/trial_internal.h"

static const char *col_text(sqlite3_stmt *st, int c) {
  const unsigned char *p = sqlite3_column_text(st, c);
  return p ? (const char *)p : NULL;
}

static lp_status add_item(lp_progress *out, size_t *cap, const char *patient, const char *site, const char *what) {
  if (out->nitems == *cap) {
    size_t n = *cap ? 2 * *cap : 64;
    if (lp_realloc_array(&out->items, n, sizeof *out->items)) return LP_ENOMEM;
    *cap = n;
  }
  lp_progress_item *it = &out->items[out->nitems++];
  snprintf(it->patient, sizeof it->patient, "%s", patient);
  snprintf(it->site, sizeof it->site, "%s", site);
  snprintf(it->what, sizeof it->what, "%s", what);
  return LP_OK;
}

/* "3, 5-7": the days of 1..n that are not in `have`, as ranges. */
static void days_not_in(const bool *have, int n, char *buf, size_t len) {
  size_t k = 0;
  buf[0] = '\0';
  for (int d = 1; d <= n; d++) {
    if (have[d]) continue;
    int e = d;
    while (e + 1 <= n && !have[e + 1]) e++;
    if (k < len) k += (size_t)snprintf(buf + k, len - k, "%s%d", k ? ", " : "", d);
    if (e > d && k < len) k += (size_t)snprintf(buf + k, len - k, "-%d", e);
    d = e;
  }
}

/* The days 1-28 of a comma-separated list (group_concat) into set[1..28]. */
static void day_set(const char *list, bool set[29]) {
  memset(set, 0, 29 * sizeof *set);
  for (const char *p = list; p && *p;) {
    char *end;
    long d = strtol(p, &end, 10);
    if (end == p) break;
    if (d >= 1 && d <= 28) set[d] = true;
    p = *end == ',' ? end + 1 : end;
  }
}

/* Counts of a site (or of all sites when site_id is 0). */
static lp_status site_counts(lp_trial *t, long site_id, const char *as_of, lp_progress_site *s, lp_error *err) {
  long slots, rand;
  lp_status st;
  if ((st = lp__two_counts_on(t,
                              "SELECT count(*), coalesce(sum(eligible), 0) FROM screening"
                              " WHERE (?1 = 0 OR site_id = ?1) AND substr(screened_at, 1, 10) <= ?2",
                              site_id, as_of, &s->screened, &s->eligible, "counting the screening log", err)))
    return st;
  if ((st = lp__two_counts_on(t,
                              "SELECT (SELECT count(*) FROM slots WHERE ?1 = 0 OR site_id = ?1),"
                              " (SELECT count(*) FROM randomisations WHERE (?1 = 0 OR site_id = ?1)"
                              " AND substr(randomized_at, 1, 10) <= ?2)",
                              site_id, as_of, &slots, &rand, "counting the randomisations", err)))
    return st;
  s->randomised = rand;
  s->slots_left = slots - rand;
  return LP_OK;
}

/* Add one patient's counts (and randomisation date) to a site's or the total's. */
static void tally(lp_progress_site *dst, const lp_progress_site *one) {
  dst->withdrawn += one->withdrawn;
  dst->consent_by_representative += one->consent_by_representative;
  dst->retrospective_due += one->retrospective_due;
  dst->retrospective_refused += one->retrospective_refused;
  dst->baseline += one->baseline;
  dst->infusion += one->infusion;
  dst->outcome += one->outcome;
  dst->infusion_due += one->infusion_due;
  dst->outcome_due += one->outcome_due;
  dst->days_expected += one->days_expected;
  dst->days_recorded += one->days_recorded;
  dst->items += one->items;
  if (!dst->first[0] || strcmp(one->first, dst->first) < 0) snprintf(dst->first, sizeof dst->first, "%s", one->first);
  if (strcmp(one->first, dst->last) > 0) snprintf(dst->last, sizeof dst->last, "%s", one->first);
}

/* The columns of PATIENTS_SQL, one row per randomised patient. */
enum {
  P_PATIENT,
  P_SITE,
  P_RANDOMISED,
  P_BASELINE,
  P_INFUSION,
  P_OUTCOME,
  P_RECEIVED,
  P_ICU,
  P_DIED,
  P_DEATH,
  P_WITHDRAWN,
  P_DAYS,
  P_ICU_DAYS,
  P_CONSENT_BY,
  P_RETRO
};
static const char PATIENTS_SQL[] =
    "SELECT r.patient, r.site_id, r.randomized_at,"
    " EXISTS(SELECT 1 FROM patients p WHERE p.patient = r.patient),"
    " EXISTS(SELECT 1 FROM infusions i WHERE i.patient = r.patient),"
    " o.patient IS NOT NULL, o.received_drug, o.icu_discharge, o.died, o.death_date, o.consent_withdrawn,"
    " (SELECT group_concat(day) FROM daily d WHERE d.patient = r.patient),"
    " (SELECT group_concat(day) FROM daily d WHERE d.patient = r.patient AND d.in_icu IS NOT 0),"
    " (SELECT consent_by FROM consents c WHERE c.patient = r.patient AND c.kind = 'initial'),"
    " (SELECT decision FROM consents c WHERE c.patient = r.patient AND c.kind = 'retrospective'"
    " AND substr(c.consented_at, 1, 10) <= ?2)"
    " FROM randomisations r LEFT JOIN outcomes o ON o.patient = r.patient"
    " WHERE (?1 = 0 OR r.site_id = ?1) AND substr(r.randomized_at, 1, 10) <= ?2 ORDER BY r.id";

/* What the patient of row `q` owes at `as_of_end`: counted into `one`, and each
 * missing record listed in out->items. */
static lp_status patient_dues(sqlite3_stmt *q, double as_of_end, const char *site, lp_progress *out, size_t *cap,
                              lp_progress_site *one) {
  const char *patient = col_text(q, P_PATIENT), *rand_at = col_text(q, P_RANDOMISED);
  snprintf(one->first, sizeof one->first, "%.10s", rand_at ? rand_at : "");
  const char *by = col_text(q, P_CONSENT_BY), *retro = col_text(q, P_RETRO);
  bool rep = by && strstr(by, "_representative");
  one->consent_by_representative = rep;
  one->retrospective_refused = retro && !strcmp(retro, "refused");
  if (sqlite3_column_int(q, P_WITHDRAWN) == 1) { /* consent withdrawn: nothing more is owed */
    one->withdrawn = 1;
    return LP_OK;
  }
  bool outcome = sqlite3_column_int(q, P_OUTCOME), died = sqlite3_column_int(q, P_DIED) == 1;
  bool not_received = sqlite3_column_type(q, P_RECEIVED) != SQLITE_NULL && sqlite3_column_int(q, P_RECEIVED) == 0;
  double r0 = lp_parse_iso_days(rand_at), elapsed = as_of_end - r0;
  double icu = lp_parse_iso_days(col_text(q, P_ICU));
  if (isnan(icu) && died) icu = lp_parse_iso_days(col_text(q, P_DEATH));
  icu -= r0;
  one->baseline = sqlite3_column_int(q, P_BASELINE);
  one->infusion_due = !not_received;
  one->infusion = one->infusion_due && sqlite3_column_int(q, P_INFUSION);
  one->outcome_due = elapsed >= 28;
  one->outcome = one->outcome_due && outcome;
  /* Daily ICU records: day 1 to ICU discharge (or death), at most 28, and only the
   * days completed by the as-of date. */
  double done = fmax(0, floor(elapsed));
  int expected = (int)fmin(28, isnan(icu) ? done : fmin(fmax(1, ceil(icu)), done));
  bool have[29], in_icu[29];
  day_set(col_text(q, P_DAYS), have);
  day_set(col_text(q, P_ICU_DAYS), in_icu);
  /* Days recorded as in the ICU after the recorded discharge: a query for the site. */
  int stay = isnan(icu) ? 28 : (int)fmin(28, fmax(1, ceil(icu))), late = 0;
  bool not_late[29];
  for (int d = 0; d <= 28; d++) {
    not_late[d] = d <= stay || !in_icu[d];
    late += !not_late[d];
  }
  one->days_expected = expected;
  for (int d = 1; d <= expected; d++) one->days_recorded += have[d];
  char what[160] = "";
  if (rep && !retro) { /* the patient's own consent, once capacity is regained */
    one->retrospective_due = 1;
    snprintf(what, sizeof what, "retrospective consent owed (randomised %.10s on a %s legal representative's consent)",
             rand_at, !strcmp(by, "personal_representative") ? "personal" : "professional");
    if (add_item(out, cap, patient, site, what)) return LP_ENOMEM;
    one->items++;
  }
  for (int k = 0; k < 6; k++) {
    if (k == 0 && !one->baseline) snprintf(what, sizeof what, "no baseline record");
    else if (k == 1 && one->infusion_due && !one->infusion)
      snprintf(what, sizeof what, "no infusion record");
    else if (k == 2 && one->outcome_due && !outcome)
      snprintf(what, sizeof what, "no outcome record (28-day follow-up due, randomised %.10s)", rand_at);
    else if (k == 3 && one->outcome_due && outcome && isnan(icu))
      snprintf(what, sizeof what, "ICU discharge not yet recorded (randomised %.0f days ago)", floor(elapsed));
    else if (k == 4 && one->days_recorded < expected) {
      char list[120];
      days_not_in(have, expected, list, sizeof list);
      snprintf(what, sizeof what, "daily records missing: day%s %s (of 1-%d)",
               expected - one->days_recorded > 1 ? "s" : "", list, expected);
    } else if (k == 5 && late) {
      char list[120];
      days_not_in(not_late, 28, list, sizeof list);
      snprintf(what, sizeof what, "daily record%s in the ICU after ICU discharge (day %d): day%s %s",
               late > 1 ? "s" : "", stay, late > 1 ? "s" : "", list);
    } else
      continue;
    if (add_item(out, cap, patient, site, what)) return LP_ENOMEM;
    one->items++;
  }
  return LP_OK;
}

/* The sites (one, or all), with their screening and randomisation counts. */
static lp_status read_sites(lp_trial *t, long only, lp_progress *out, long **ids, lp_error *err) {
  sqlite3_stmt *q;
  if (lp__prepare(t, "SELECT id, code FROM sites WHERE ?1 = 0 OR id = ?1 ORDER BY id", &q, err)) return LP_EDB;
  sqlite3_bind_int64(q, 1, only);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (lp_realloc_array(&out->sites, out->nsites + 1, sizeof *out->sites) ||
        lp_realloc_array(ids, out->nsites + 1, sizeof **ids)) {
      lp__finalize(t, q);
      return lp_error_set(err, LP_ENOMEM, "out of memory");
    }
    lp_progress_site *s = &out->sites[out->nsites];
    memset(s, 0, sizeof *s);
    (*ids)[out->nsites++] = (long)sqlite3_column_int64(q, 0);
    snprintf(s->code, sizeof s->code, "%s", col_text(q, 1));
  }
  lp__finalize(t, q);
  if (rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the sites");
  lp_status st;
  for (size_t i = 0; i < out->nsites; i++)
    if ((st = site_counts(t, (*ids)[i], out->as_of, &out->sites[i], err))) return st;
  return site_counts(t, only, out->as_of, &out->total, err);
}

static lp_status read_months(lp_trial *t, long only, lp_progress *out, lp_error *err) {
  sqlite3_stmt *q;
  if (lp__prepare(t,
                  "SELECT substr(randomized_at, 1, 7), count(*) FROM randomisations"
                  " WHERE (?1 = 0 OR site_id = ?1) AND substr(randomized_at, 1, 10) <= ?2 GROUP BY 1 ORDER BY 1",
                  &q, err))
    return LP_EDB;
  sqlite3_bind_int64(q, 1, only);
  sqlite3_bind_text(q, 2, out->as_of, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (lp_realloc_array(&out->months, out->nmonths + 1, sizeof *out->months)) {
      lp__finalize(t, q);
      return lp_error_set(err, LP_ENOMEM, "out of memory");
    }
    lp_progress_month *m = &out->months[out->nmonths++];
    snprintf(m->month, sizeof m->month, "%s", col_text(q, 0));
    m->randomised = (long)sqlite3_column_int64(q, 1);
  }
  lp__finalize(t, q);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, "counting randomisations by month");
}

static lp_status read_patients(lp_trial *t, long only, const long *ids, lp_progress *out, lp_error *err) {
  sqlite3_stmt *q;
  if (lp__prepare(t, PATIENTS_SQL, &q, err)) return LP_EDB;
  sqlite3_bind_int64(q, 1, only);
  sqlite3_bind_text(q, 2, out->as_of, -1, SQLITE_STATIC);
  double as_of_end = lp_parse_iso_days(out->as_of) + 1; /* the end of that day */
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    long sid = (long)sqlite3_column_int64(q, P_SITE);
    size_t i = 0;
    while (i < out->nsites && ids[i] != sid) i++;
    if (i == out->nsites) continue;
    lp_progress_site one;
    memset(&one, 0, sizeof one);
    if (patient_dues(q, as_of_end, out->sites[i].code, out, &cap, &one)) {
      lp__finalize(t, q);
      return lp_error_set(err, LP_ENOMEM, "out of memory");
    }
    tally(&out->sites[i], &one);
    tally(&out->total, &one);
  }
  lp__finalize(t, q);
  return rc == SQLITE_DONE ? LP_OK : lp__db_fail(t, err, "reading the patients");
}

lp_status lp_trial_progress(lp_trial *t, const char *site, const char *as_of, lp_progress *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  char now[40];
  lp__now(t, now, sizeof now);
  snprintf(out->as_of, sizeof out->as_of, "%.10s", as_of ? as_of : now);
  if (strlen(out->as_of) != 10 || !lp__valid_date(out->as_of))
    return lp_error_set(err, LP_EINVAL, "the as-of date '%s' is not a date (YYYY-MM-DD)", as_of ? as_of : now);
  long only = 0, *ids = NULL;
  lp_status st;
  if (site && (st = lp__site_id(t, site, &only, err))) return st;
  if (!(st = read_sites(t, only, out, &ids, err)) && !(st = read_months(t, only, out, err)))
    st = read_patients(t, only, ids, out, err);
  snprintf(out->total.code, sizeof out->total.code, "%s", site ? site : "all");
  free(ids);
  if (st) lp_progress_clear(out);
  return st;
}

void lp_progress_clear(lp_progress *p) {
  if (!p) return;
  free(p->sites);
  free(p->months);
  free(p->items);
  p->sites = NULL;
  p->months = NULL;
  p->items = NULL;
  p->nsites = p->nmonths = p->nitems = 0;
}
