/* Randomisation (one atomic claim of the site's next slot per eligible patient, the
 * pack number returned, never the arm), emergency unblinding of one patient with the
 * key, and the allocations for analysis after database lock. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trial/trial_internal.h"

/* When the context holds the key, a site's list is extended (in the same
 * transaction) once fewer than this fraction of its reserve is left. */
#define EXTEND_BELOW_FRACTION 4

static const char *text_or(sqlite3_stmt *st, int c, const char *dflt) {
  const unsigned char *p = sqlite3_column_text(st, c);
  return p ? (const char *)p : dflt;
}

static lp_status find_allocation(lp_trial *t, const char *patient, lp_allocation *out, bool *found, lp_error *err) {
  sqlite3_stmt *st;
  lp_status s = lp__select_patient(t,
                                   "SELECT s.code, r.seq, r.pack, r.randomized_at, r.randomized_by, r.site_id,"
                                   " (SELECT count(*) FROM slots WHERE site_id=r.site_id)"
                                   " - (SELECT count(*) FROM randomisations WHERE site_id=r.site_id)"
                                   " FROM randomisations r JOIN sites s ON s.id=r.site_id WHERE r.patient=?",
                                   patient, &st, found, "looking up a randomisation", err);
  if (s) return s;
  if (*found) {
    snprintf(out->patient, sizeof out->patient, "%s", patient);
    snprintf(out->site, sizeof out->site, "%s", text_or(st, 0, "?"));
    out->sequence = (long)sqlite3_column_int64(st, 1);
    out->pack = (long)sqlite3_column_int64(st, 2);
    snprintf(out->randomized_at, sizeof out->randomized_at, "%s", text_or(st, 3, ""));
    snprintf(out->user, sizeof out->user, "%s", text_or(st, 4, ""));
    out->slots_left = (long)sqlite3_column_int64(st, 6);
  }
  lp__finalize(t, st);
  return LP_OK;
}

static lp_status check_screening(lp_trial *t, const char *patient, long site_id, const char *site, long *screening_id,
                                 lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t,
                                   "SELECT id, site_id, eligible, failed, reason_not_enrolled FROM screening"
                                   " WHERE patient=?",
                                   patient, &st, &row, "reading the screening log", err);
  if (s) return s;
  if (!row) {
    s = lp_error_set(err, LP_ESTATE, "patient %s has no screening record: screen the patient at site %s first", patient,
                     site);
  } else {
    *screening_id = (long)sqlite3_column_int64(st, 0);
    long ssite = (long)sqlite3_column_int64(st, 1);
    if (ssite != site_id) {
      char code[64] = "?";
      lp__site_code(t, ssite, code, sizeof code, NULL);
      s = lp_error_set(err, LP_ESTATE, "patient %s was screened at site %s, not at site %s", patient, code, site);
    } else if (!sqlite3_column_int(st, 2)) {
      s = lp_error_set(err, LP_ESTATE, "patient %s is not eligible: criteria not met: %s", patient,
                       text_or(st, 3, "?"));
    } else if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
      s = lp_error_set(err, LP_ESTATE, "patient %s was screened as not enrolled: %s", patient, text_or(st, 4, "?"));
    }
  }
  lp__finalize(t, st);
  return s;
}

/* While the trial requires it (every new trial does), an initial consent must be on
 * record before the patient is randomised (21 CFR Part 11 11.10(f): the steps in order). */
static lp_status check_consent(lp_trial *t, const char *patient, lp_error *err) {
  lp_consent_policy pol;
  lp_status s = lp_consent_policy_get(t, &pol, err);
  if (s || !pol.required) return s;
  sqlite3_stmt *st;
  bool row;
  if ((s = lp__select_patient(t, "SELECT 1 FROM consents WHERE patient=? AND kind='initial' AND decision='given'",
                              patient, &st, &row, "reading the consent", err)))
    return s;
  lp__finalize(t, st);
  if (!row)
    return lp_error_set(err, LP_ESTATE,
                        "patient %s has no consent record: record the written informed consent of the patient or of "
                        "a personal or professional legal representative before randomisation",
                        patient);
  return LP_OK;
}

static lp_status slot_pack(lp_trial *t, long site_id, long seq, long *pack, bool *found, lp_error *err) {
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT pack FROM slots WHERE site_id=? AND seq=?", &st, err)) return LP_EDB;
  sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_int64(st, 2, seq);
  int rc = sqlite3_step(st);
  *found = rc == SQLITE_ROW;
  if (*found) *pack = (long)sqlite3_column_int64(st, 0);
  lp__finalize(t, st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lp__db_fail(t, err, "reading the list");
  return LP_OK;
}

/* A site's materialised slots and the next sequence number to allocate there. */
static lp_status site_counts(lp_trial *t, long site_id, long *slots, long *next, lp_error *err) {
  return lp__two_counts(t,
                        "SELECT (SELECT count(*) FROM slots WHERE site_id=?1),"
                        " (SELECT coalesce(max(seq), 0) + 1 FROM randomisations WHERE site_id=?1)",
                        site_id, slots, next, "reading the list", err);
}

lp_status lp_trial_randomize(lp_trial *t, const char *site, const char *patient, const char *user, lp_allocation *out,
                             lp_error *err) {
  memset(out, 0, sizeof *out);
  lp_status s;
  if (!patient || !*patient) return lp_error_set(err, LP_EINVAL, "no patient given");
  if ((s = lp__begin(t, err))) return s;
  long site_id = 0, screening_id = 0, slots = 0, seq = 0, pack = 0, per_site = 0;
  bool found, cfg = false;
  int rc = SQLITE_OK;
  if ((s = lp__site_id(t, site, &site_id, err))) goto fail;
  if ((s = find_allocation(t, patient, out, &found, err))) goto fail;
  if (found) { /* randomised once: the first allocation is the answer, for a user of
                * the site where it was made */
    long first_site = 0;
    if ((s = lp__site_id(t, out->site, &first_site, err)) ||
        (s = lp__user_may(t, user, LP_DO_RANDOMISE, first_site, "see this allocation", err))) {
      memset(out, 0, sizeof *out);
      goto fail;
    }
    out->existing = true;
    lp__rollback(t);
    return LP_OK;
  }
  if ((s = lp__check_unlocked(t, err))) goto fail;
  if ((s = lp__user_may(t, user, LP_DO_RANDOMISE, site_id, "randomise patients", err)) ||
      (s = lp__site_open(t, site_id, err)))
    goto fail;
  if ((s = check_screening(t, patient, site_id, site, &screening_id, err))) goto fail;
  if ((s = check_consent(t, patient, err))) goto fail;
  if ((s = site_counts(t, site_id, &slots, &seq, err))) goto fail;
  if ((s = slot_pack(t, site_id, seq, &pack, &found, err))) goto fail;
  int sizes[LP_LIST_MAX_SIZES];
  size_t nsizes;
  if (t->key) {
    if ((s = lp__key_matches(t, t->key, err)) || (s = lp__list_config(t, t->key, sizes, &nsizes, &per_site, &cfg, err)))
      goto fail;
    /* The service holds the key: keep the site's reserve topped up, in the same
     * transaction as the claim, so the site never runs out. */
    if (cfg && (!found || slots - seq < per_site / EXTEND_BELOW_FRACTION)) {
      long added = 0;
      if ((s = lp__list_extend_site(t, t->key, site_id, per_site + 1, user, &added, NULL, err))) goto fail;
      if (!found && (s = slot_pack(t, site_id, seq, &pack, &found, err))) goto fail;
      slots += added;
    }
  }
  if (!found) {
    if (slots == 0)
      s = lp_error_set(err, LP_ESTATE,
                       "site %s has no randomisation list yet: the statistician must generate "
                       "or extend the list for it",
                       site);
    else
      s = lp_error_set(err, LP_ESTATE,
                       "site %s has used all %ld slots of its list: the statistician must extend "
                       "it with the list key",
                       site, slots);
    goto fail;
  }
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if ((s = lp__prepare(t,
                       "INSERT INTO randomisations(patient, site_id, seq, pack, randomized_at,"
                       " randomized_by, screening_id) VALUES(?,?,?,?,?,?,?)",
                       &st, err)))
    goto fail;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, site_id);
  sqlite3_bind_int64(st, 3, seq);
  sqlite3_bind_int64(st, 4, pack);
  sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, user, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, screening_id);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "recording the randomisation");
    goto fail;
  }
  if ((s = lp__audit_row(t, "randomisations", (long)sqlite3_last_insert_rowid(t->db), NULL, patient, user,
                         "randomisation", err)))
    goto fail;
  if ((s = lp__commit(t, err))) return s;
  snprintf(out->patient, sizeof out->patient, "%s", patient);
  snprintf(out->site, sizeof out->site, "%s", site);
  out->sequence = seq;
  out->pack = pack;
  snprintf(out->randomized_at, sizeof out->randomized_at, "%s", now);
  snprintf(out->user, sizeof out->user, "%s", user);
  out->slots_left = slots - seq;
  return LP_OK;
fail:
  lp__rollback(t);
  return s;
}

/* ---- unblinding ---- */

lp_status lp__patient_arm(lp_trial *t, const lp_trial_key *k, const char *patient, int *arm, long *site_id,
                          lp_error *err) {
  sqlite3_stmt *st;
  bool row;
  lp_status s = lp__select_patient(t,
                                   "SELECT r.site_id, r.seq, r.pack, s.pack, s.nonce, s.sealed FROM randomisations r"
                                   " JOIN slots s ON s.site_id=r.site_id AND s.seq=r.seq WHERE r.patient=?",
                                   patient, &st, &row, "reading the allocation", err);
  if (s) return s;
  if (!row) {
    s = lp_error_set(err, LP_ENOTFOUND, "patient %s has not been randomised", patient);
  } else {
    *site_id = (long)sqlite3_column_int64(st, 0);
    long seq = (long)sqlite3_column_int64(st, 1), pack = (long)sqlite3_column_int64(st, 2);
    if (pack != (long)sqlite3_column_int64(st, 3))
      s = lp_error_set(err, LP_EINTEGRITY, "patient %s: the recorded pack %ld is not the pack of slot %ld", patient,
                       pack, seq);
    else if (pack < 0 && sqlite3_column_bytes(st, 5) == 0) /* see lp_trial_import_odm */
      s = lp_error_set(err, LP_ESTATE,
                       "patient %s came from a blinded export: this trial holds no allocation for them (the "
                       "original trial does)",
                       patient);
    else
      s = lp__open_arm(k, *site_id, seq, pack, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4),
                       sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5), arm, err);
  }
  lp__finalize(t, st);
  return s;
}

/* Who asked, as it is recorded in front of the reason: "requested by NAME (role, site
 * S): ". An investigator may ask only for a patient of their own site. */
static lp_status requester_text(lp_trial *t, const char *requested_by, long site_id, char *buf, size_t n,
                                lp_error *err) {
  lp_status s = lp__user_may(t, requested_by, LP_DO_UNBLIND, site_id, "ask for the unblinding of this patient", err);
  if (s) return s;
  sqlite3_stmt *st;
  if (lp__prepare(t, "SELECT u.role, s.code FROM users u LEFT JOIN sites s ON s.id = u.site_id WHERE u.name=?", &st,
                  err))
    return LP_EDB;
  sqlite3_bind_text(st, 1, requested_by, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *site = (const char *)sqlite3_column_text(st, 1);
    snprintf(buf, n, "requested by %s (%s%s%s): ", requested_by, (const char *)sqlite3_column_text(st, 0),
             site ? ", site " : "", site ? site : "");
  }
  lp__finalize(t, st);
  return LP_OK;
}

static lp_status unblind(lp_trial *t, const lp_trial_key *k, const char *patient, const char *why, const char *user,
                         const char *requested_by, lp_unblinding *out, lp_error *err);

/* The role rule (lp_access_check) for an unblinding of a patient of `site_id`: an
 * investigator of that site, a trial manager or a statistician; on someone's request,
 * the key holder (a trial manager or a statistician) does it. */
static lp_status may_unblind(lp_trial *t, const char *user, long site_id, bool on_request, lp_error *err) {
  lp_status s =
      lp__user_may(t, user, LP_DO_UNBLIND, site_id,
                   on_request ? "unblind patients (the key holder does, on request)" : "unblind patients", err);
  if (s || !on_request) return s;
  lp_user_info u;
  if ((s = lp_user_get(t, user, &u, err))) return s;
  if (u.role != LP_ROLE_MANAGER && u.role != LP_ROLE_STATISTICIAN)
    return lp_error_set(err, LP_EDENIED, "user '%s' (%s) may not unblind patients (the key holder does, on request)",
                        user, lp_role_name(u.role));
  return LP_OK;
}

lp_status lp_trial_unblind(lp_trial *t, const lp_trial_key *k, const char *patient, const char *reason,
                           const char *user, lp_unblinding *out, lp_error *err) {
  return unblind(t, k, patient, reason, user, NULL, out, err);
}

lp_status lp_trial_unblind_for(lp_trial *t, const lp_trial_key *k, const char *patient, const char *reason,
                               const char *user, const char *requested_by, lp_unblinding *out, lp_error *err) {
  if (!requested_by || !*requested_by) {
    memset(out, 0, sizeof *out);
    out->arm = -1;
    return lp_error_set(err, LP_EINVAL, "say who asked for the unblinding (the patient's investigator, usually)");
  }
  return unblind(t, k, patient, reason, user, requested_by, out, err);
}

/* With `requested_by` the unblinding is done by the key holder (trial manager or
 * statistician) on someone's request; without it, by the user themselves (an
 * investigator of the patient's site too: the web server's path). */
static lp_status unblind(lp_trial *t, const lp_trial_key *k, const char *patient, const char *why, const char *user,
                         const char *requested_by, lp_unblinding *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  char reason[sizeof out->reason + 200];
  out->arm = -1;
  lp_status s;
  if (!patient || !*patient) return lp_error_set(err, LP_EINVAL, "no patient given");
  if (!why || strlen(why) < 3)
    return lp_error_set(err, LP_EINVAL,
                        "an emergency unblinding needs its clinical reason in words, at least 3 characters "
                        "(recorded in the audit trail)%s%s%s",
                        why && *why ? ": '" : "", why && *why ? why : "", why && *why ? "' is too short" : "");
  if (strlen(why) >= sizeof out->reason - 160)
    return lp_error_set(err, LP_EINVAL, "the reason is too long (at most %zu characters)", sizeof out->reason - 161);
  if ((s = lp__begin(t, err))) return s;
  long site_id = 0;
  int arm = -1, rc = SQLITE_OK;
  char asked[200] = "";
  if ((s = lp__check_unlocked(t, err))) goto fail;
  if ((s = lp__key_matches(t, k, err))) goto fail;
  if ((s = lp__patient_arm(t, k, patient, &arm, &site_id, err))) goto fail;
  if ((s = may_unblind(t, user, site_id, requested_by != NULL, err))) goto fail;
  if (requested_by && (s = requester_text(t, requested_by, site_id, asked, sizeof asked, err))) goto fail;
  snprintf(reason, sizeof reason, "%s%s", asked, why);
  char now[40];
  lp__now(t, now, sizeof now);
  sqlite3_stmt *st;
  if ((s = lp__prepare(t,
                       "INSERT INTO unblindings(patient, unblinded_at, unblinded_by, reason)"
                       " VALUES(?,?,?,?)",
                       &st, err)))
    goto fail;
  sqlite3_bind_text(st, 1, patient, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    s = lp__db_fail(t, err, "recording the unblinding");
    goto fail;
  }
  out->id = (long)sqlite3_last_insert_rowid(t->db);
  if ((s = lp__audit_row(t, "unblindings", out->id, NULL, patient, user, reason, err))) goto fail;
  if ((s = lp__site_code(t, site_id, out->site, sizeof out->site, err))) goto fail;
  /* The arm is handed out only once the unblinding is durably recorded. */
  if ((s = lp__commit(t, err))) return s;
  snprintf(out->patient, sizeof out->patient, "%s", patient);
  snprintf(out->user, sizeof out->user, "%s", user);
  snprintf(out->at, sizeof out->at, "%s", now);
  snprintf(out->reason, sizeof out->reason, "%s", reason);
  out->arm = arm;
  return LP_OK;
fail:
  lp__rollback(t);
  out->arm = -1;
  return s;
}

lp_status lp_trial_unblindings(lp_trial *t, lp_unblinding **out, size_t *n, lp_error *err) {
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  if (lp__prepare(t,
                  "SELECT u.id, u.patient, s.code, u.unblinded_by, u.unblinded_at, u.reason"
                  " FROM unblindings u JOIN randomisations r ON r.patient=u.patient"
                  " JOIN sites s ON s.id=r.site_id ORDER BY u.id",
                  &st, err))
    return LP_EDB;
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 16;
      if (lp_realloc_array(out, cap, sizeof **out)) {
        lp__finalize(t, st);
        free(*out);
        *out = NULL;
        *n = 0;
        return lp_error_set(err, LP_ENOMEM, "out of memory");
      }
    }
    lp_unblinding *u = &(*out)[(*n)++];
    memset(u, 0, sizeof *u);
    u->id = (long)sqlite3_column_int64(st, 0);
    snprintf(u->patient, sizeof u->patient, "%s", text_or(st, 1, ""));
    snprintf(u->site, sizeof u->site, "%s", text_or(st, 2, ""));
    snprintf(u->user, sizeof u->user, "%s", text_or(st, 3, ""));
    snprintf(u->at, sizeof u->at, "%s", text_or(st, 4, ""));
    snprintf(u->reason, sizeof u->reason, "%s", text_or(st, 5, ""));
    u->arm = -1;
  }
  lp__finalize(t, st);
  if (rc != SQLITE_DONE) {
    free(*out);
    *out = NULL;
    *n = 0;
    return lp__db_fail(t, err, "reading unblindings");
  }
  return LP_OK;
}

lp_status lp_trial_allocations(lp_trial *t, const lp_trial_key *k, lp_allocation_arm **out, size_t *n, lp_error *err) {
  return lp__allocations(t, k, false, out, n, err);
}

lp_status lp__allocations(lp_trial *t, const lp_trial_key *k, bool before_lock, lp_allocation_arm **out, size_t *n,
                          lp_error *err) {
  *out = NULL;
  *n = 0;
  lp_status s;
  /* Inside the caller's read transaction (a snapshot) the reads are the snapshot's. */
  bool own = sqlite3_get_autocommit(t->db);
  if (own && sqlite3_exec(t->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
    return lp__db_fail(t, err, "starting a read transaction");
  if (!before_lock && !lp_trial_is_locked(t)) {
    if (own) lp__rollback(t);
    return lp_error_set(err, LP_ESTATE, "%s: the allocations are released only after database lock (leopards lock)",
                        t->path);
  }
  if ((s = lp__key_matches(t, k, err))) {
    if (own) lp__rollback(t);
    return s;
  }
  sqlite3_stmt *st;
  if ((s = lp__prepare(t,
                       "SELECT r.patient, c.code, r.site_id, r.seq, r.pack, s.pack, s.nonce, s.sealed"
                       " FROM randomisations r JOIN slots s ON s.site_id=r.site_id AND s.seq=r.seq"
                       " JOIN sites c ON c.id=r.site_id ORDER BY r.id",
                       &st, err))) {
    if (own) lp__rollback(t);
    return s;
  }
  size_t cap = 0;
  int rc = SQLITE_DONE;
  while (!s && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 256;
      if (lp_realloc_array(out, cap, sizeof **out)) {
        s = lp_error_set(err, LP_ENOMEM, "out of memory");
        break;
      }
    }
    lp_allocation_arm *a = &(*out)[*n];
    memset(a, 0, sizeof *a);
    snprintf(a->patient, sizeof a->patient, "%s", text_or(st, 0, ""));
    snprintf(a->site, sizeof a->site, "%s", text_or(st, 1, ""));
    long site_id = (long)sqlite3_column_int64(st, 2);
    a->sequence = (long)sqlite3_column_int64(st, 3);
    a->pack = (long)sqlite3_column_int64(st, 4);
    if (a->pack != (long)sqlite3_column_int64(st, 5)) {
      s = lp_error_set(err, LP_EINTEGRITY, "patient %s: pack %ld is not the pack of its slot", a->patient, a->pack);
      break;
    }
    s = lp__open_arm(k, site_id, a->sequence, a->pack, sqlite3_column_blob(st, 6), (size_t)sqlite3_column_bytes(st, 6),
                     sqlite3_column_blob(st, 7), (size_t)sqlite3_column_bytes(st, 7), &a->arm, err);
    if (!s) (*n)++;
  }
  if (!s && rc != SQLITE_DONE) s = lp__db_fail(t, err, "reading allocations");
  lp__finalize(t, st);
  if (own) lp__rollback(t);
  if (s) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return s;
}
