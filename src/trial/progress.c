/* Recruitment and data completeness for the trial manager: screened, eligible and
 * randomised by site and month, and which records are missing or overdue, patient
 * by patient. Blinded: nothing here reads or reveals an arm. */
#include <leopards/trial.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trial/trial_internal.h"

/* Days since the epoch of an ISO date or date-time (YYYY-MM-DD[THH:MM[:SS]]); NAN if
 * it is not one. */
static double iso_days(const char *s) {
  if (!s) return NAN;
  int y, mo, d, h = 0, mi = 0;
  double sec = 0;
  int k = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%lf", &y, &mo, &d, &h, &mi, &sec);
  if (k < 3 || mo < 1 || mo > 12 || d < 1 || d > 31) return NAN;
  struct tm tm = {0};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return ((double)timegm(&tm) + sec) / 86400.0;
}

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

/* "days 3, 5-7" for the days of 1..n that are not in `have`. */
static void missing_days(const bool *have, int n, char *buf, size_t len) {
  size_t k = 0;
  buf[0] = '\0';
  for (int d = 1; d <= n; d++) {
    if (have[d]) continue;
    int e = d;
    while (e + 1 <= n && !have[e + 1]) e++;
    if (k < len)
      k += (size_t)snprintf(buf + k, len - k, "%s%d", k ? ", " : "", d);
    if (e > d && k < len) k += (size_t)snprintf(buf + k, len - k, "-%d", e);
    d = e;
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

lp_status lp_trial_progress(lp_trial *t, const char *site, const char *as_of, lp_progress *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  char now[40];
  lp__now(t, now, sizeof now);
  snprintf(out->as_of, sizeof out->as_of, "%.10s", as_of ? as_of : now);
  double as_of_end = iso_days(out->as_of) + 1; /* the end of that day */
  if (isnan(as_of_end) || strlen(out->as_of) != 10 || !lp__valid_date(out->as_of))
    return lp_error_set(err, LP_EINVAL, "the as-of date '%s' is not a date (YYYY-MM-DD)", as_of ? as_of : now);
  long only = 0;
  lp_status st;
  if (site && (st = lp__site_id(t, site, &only, err))) return st;
  sqlite3_stmt *q = NULL;
  size_t cap = 0;
  long *ids = NULL;
  /* Sites. */
  if ((st = lp__prepare(t, "SELECT id, code FROM sites WHERE ?1 = 0 OR id = ?1 ORDER BY id", &q, err))) goto fail;
  sqlite3_bind_int64(q, 1, only);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (lp_realloc_array(&out->sites, out->nsites + 1, sizeof *out->sites) ||
        lp_realloc_array(&ids, out->nsites + 1, sizeof *ids)) {
      st = lp_error_set(err, LP_ENOMEM, "out of memory");
      goto fail;
    }
    lp_progress_site *s = &out->sites[out->nsites];
    memset(s, 0, sizeof *s);
    ids[out->nsites++] = (long)sqlite3_column_int64(q, 0);
    snprintf(s->code, sizeof s->code, "%s", col_text(q, 1));
  }
  lp__finalize(t, q);
  q = NULL;
  if (rc != SQLITE_DONE) {
    st = lp__db_fail(t, err, "reading the sites");
    goto fail;
  }
  for (size_t i = 0; i < out->nsites; i++)
    if ((st = site_counts(t, ids[i], out->as_of, &out->sites[i], err))) goto fail;
  if ((st = site_counts(t, only, out->as_of, &out->total, err))) goto fail;
  snprintf(out->total.code, sizeof out->total.code, "%s", site ? site : "all");
  /* Randomisations by month. */
  if ((st = lp__prepare(t,
                        "SELECT substr(randomized_at, 1, 7), count(*) FROM randomisations"
                        " WHERE (?1 = 0 OR site_id = ?1) AND substr(randomized_at, 1, 10) <= ?2"
                        " GROUP BY 1 ORDER BY 1",
                        &q, err)))
    goto fail;
  sqlite3_bind_int64(q, 1, only);
  sqlite3_bind_text(q, 2, out->as_of, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (lp_realloc_array(&out->months, out->nmonths + 1, sizeof *out->months)) {
      st = lp_error_set(err, LP_ENOMEM, "out of memory");
      goto fail;
    }
    lp_progress_month *m = &out->months[out->nmonths++];
    snprintf(m->month, sizeof m->month, "%s", col_text(q, 0));
    m->randomised = (long)sqlite3_column_int64(q, 1);
  }
  lp__finalize(t, q);
  q = NULL;
  if (rc != SQLITE_DONE) {
    st = lp__db_fail(t, err, "counting randomisations by month");
    goto fail;
  }
  /* Patient by patient. */
  if ((st = lp__prepare(t,
                        "SELECT r.patient, r.site_id, r.randomized_at,"
                        " EXISTS(SELECT 1 FROM patients p WHERE p.patient = r.patient),"
                        " EXISTS(SELECT 1 FROM infusions i WHERE i.patient = r.patient),"
                        " o.patient IS NOT NULL, o.received_drug, o.icu_discharge, o.died, o.death_date,"
                        " o.consent_withdrawn,"
                        " (SELECT group_concat(day) FROM daily d WHERE d.patient = r.patient)"
                        " FROM randomisations r LEFT JOIN outcomes o ON o.patient = r.patient"
                        " WHERE (?1 = 0 OR r.site_id = ?1) AND substr(r.randomized_at, 1, 10) <= ?2 ORDER BY r.id",
                        &q, err)))
    goto fail;
  sqlite3_bind_int64(q, 1, only);
  sqlite3_bind_text(q, 2, out->as_of, -1, SQLITE_STATIC);
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *patient = col_text(q, 0), *rand_at = col_text(q, 2);
    long sid = (long)sqlite3_column_int64(q, 1);
    lp_progress_site *s = NULL;
    for (size_t i = 0; i < out->nsites; i++)
      if (ids[i] == sid) s = &out->sites[i];
    if (!s) continue;
    lp_progress_site *all = &out->total;
    char date[11];
    snprintf(date, sizeof date, "%.10s", rand_at ? rand_at : "");
    for (lp_progress_site *x = s; x; x = x == s ? all : NULL) {
      if (!x->first[0] || strcmp(date, x->first) < 0) snprintf(x->first, sizeof x->first, "%s", date);
      if (strcmp(date, x->last) > 0) snprintf(x->last, sizeof x->last, "%s", date);
    }
    if (sqlite3_column_int(q, 10) == 1) { /* consent withdrawn: no data expected */
      s->withdrawn++, all->withdrawn++;
      continue;
    }
    bool baseline = sqlite3_column_int(q, 3), infusion = sqlite3_column_int(q, 4), outcome = sqlite3_column_int(q, 5);
    bool not_received = sqlite3_column_type(q, 6) != SQLITE_NULL && sqlite3_column_int(q, 6) == 0;
    bool died = sqlite3_column_int(q, 8) == 1;
    double r0 = iso_days(rand_at), elapsed = as_of_end - r0;
    double icu = iso_days(col_text(q, 7));
    if (isnan(icu) && died) icu = iso_days(col_text(q, 9));
    icu -= r0;
    bool infusion_due = !not_received, outcome_due = elapsed >= 28;
    s->baseline += baseline, all->baseline += baseline;
    s->infusion += infusion && infusion_due, all->infusion += infusion && infusion_due;
    s->outcome += outcome && outcome_due, all->outcome += outcome && outcome_due;
    s->infusion_due += infusion_due, all->infusion_due += infusion_due;
    s->outcome_due += outcome_due, all->outcome_due += outcome_due;
    char what[160];
#define ITEM(...)                                                                  \
  do {                                                                             \
    snprintf(what, sizeof what, __VA_ARGS__);                                      \
    if (add_item(out, &cap, patient, s->code, what)) {                             \
      st = lp_error_set(err, LP_ENOMEM, "out of memory");                          \
      goto fail;                                                                   \
    }                                                                              \
    s->items++, all->items++;                                                      \
  } while (0)
    if (!baseline) ITEM("no baseline record");
    if (!infusion && !not_received) ITEM("no infusion record");
    if (elapsed >= 28 && !outcome) ITEM("no outcome record (28-day follow-up due, randomised %.10s)", rand_at);
    else if (elapsed >= 28 && isnan(icu))
      ITEM("ICU discharge not yet recorded (randomised %.0f days ago)", floor(elapsed));
    /* Daily ICU records: day 1 to ICU discharge (or death), at most 28; a patient
     * still in the ICU owes the days completed so far. */
    int expected = !isnan(icu) ? (int)fmin(28, fmax(1, ceil(icu))) : (int)fmin(28, fmax(0, floor(elapsed)));
    bool have[29] = {false};
    const char *days = col_text(q, 11);
    for (const char *p = days; p && *p;) {
      char *end;
      long d = strtol(p, &end, 10);
      if (end == p) break;
      if (d >= 1 && d <= 28) have[d] = true;
      p = *end == ',' ? end + 1 : end;
    }
    int recorded = 0;
    for (int d = 1; d <= expected; d++) recorded += have[d];
    s->days_expected += expected, all->days_expected += expected;
    s->days_recorded += recorded, all->days_recorded += recorded;
    if (recorded < expected) {
      char list[120];
      missing_days(have, expected, list, sizeof list);
      ITEM("daily records missing: day%s %s (of 1-%d)", expected - recorded > 1 ? "s" : "", list, expected);
    }
#undef ITEM
  }
  lp__finalize(t, q);
  q = NULL;
  if (rc != SQLITE_DONE) {
    st = lp__db_fail(t, err, "reading the patients");
    goto fail;
  }
  free(ids);
  return LP_OK;
fail:
  if (q) lp__finalize(t, q);
  free(ids);
  lp_progress_clear(out);
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
