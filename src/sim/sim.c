/* The simulated trial, run through the real store: sites and users, the sealed list,
 * the screening log of Figure 1, randomisation of each patient by the site's
 * investigator at a simulated time, then baseline, infusion, daily, outcome and
 * adverse-event records, and the database lock. */
#include <leopards/queries.h>
#include <leopards/rng.h>
#include <leopards/sim.h>
#include <leopards/trial.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim/model.h"

void lp_sim_options_default(lp_sim_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = 14; /* its trial is close to the published one (any seed gives a valid trial) */
  o->effect = LP_EFFECT_PAPER;
  o->difference = 0.5;
  o->patients = 516;
  o->sites = 34;
  o->screened = 2382;
}

/* ---- simulated time ---- */

typedef struct {
  time_t now;
} sim_clock;

static void clock_fn(void *ctx, char *buf, size_t n) {
  const sim_clock *c = ctx;
  struct tm tm;
  gmtime_r(&c->now, &tm);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.000Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

static void stamp(time_t base, double days, char *buf, size_t n, bool with_time) {
  time_t t = base + (time_t)llround(days * 86400.0);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (with_time)
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
  else
    snprintf(buf, n, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* ---- the screening log (Figure 1) ---- */

/* Exclusion criteria of the paper's Figure 1 with their counts among 2382 screened,
 * and the JSON change that makes a screened patient fail each one. */
typedef struct {
  const char *name;
  int count;
  bool shock; /* part of "not in septic shock" */
} exclusion;

static const exclusion exclusions[] = {
    {"age", 12, false},
    {"infection", 41, true},
    {"sirs", 43, true},
    {"vasopressor_hours", 127, true},
    {"hours_since_criteria", 714, false},
    {"esrf_dialysis", 82, false},
    {"torsades_history", 2, false},
    {"child_pugh_c", 83, false},
    {"ventricular_obstruction", 61, false},
    {"treatment_limitation", 352, false},
    {"weight_kg", 47, false},
    {"pregnant", 4, false},
    {"levosimendan_30d", 6, false},
    {"levosimendan_hypersensitivity", 2, false},
    {"other_trial", 56, false},
};
#define NEXCL (sizeof exclusions / sizeof exclusions[0])
/* Eligible but not enrolled (Figure 1). */
static const struct {
  const char *reason;
  int count;
} not_enrolled[] = {{"physician's decision", 43}, {"no consent", 90}, {"staff availability", 85}, {"other", 102}};

static json_t *eligible_inputs(lp_rng *r) {
  return json_pack(
      "{s:i, s:b, s:f, s:f, s:f, s:f, s:b, s:f, s:f, s:f, s:b, s:b, s:b, s:b, s:b, s:f, s:b, s:b, s:b, s:b}", "age",
      30 + (int)lp_rng_below(r, 60), "infection", 1, "temperature", 38.4 + lp_rng_uniform(r), "heart_rate",
      95.0 + 30 * lp_rng_uniform(r), "resp_rate", 22.0 + 10 * lp_rng_uniform(r), "paco2_kpa", 4.6 + lp_rng_uniform(r),
      "mech_vent", 1, "wbc", 14.0 + 8 * lp_rng_uniform(r), "vasopressor_hours", 4.5 + 10 * lp_rng_uniform(r),
      "hours_since_criteria", 1 + 20 * lp_rng_uniform(r), "esrf_dialysis", 0, "torsades_history", 0, "child_pugh_c", 0,
      "ventricular_obstruction", 0, "treatment_limitation", 0, "weight_kg", 60.0 + 50 * lp_rng_uniform(r), "pregnant",
      0, "levosimendan_30d", 0, "levosimendan_hypersensitivity", 0, "other_trial", 0);
}

/* Change inputs so that criterion `name` fails. */
static void fail_criterion(json_t *in, const char *name) {
  if (!strcmp(name, "age")) json_object_set_new(in, "age", json_integer(17));
  else if (!strcmp(name, "infection"))
    json_object_set_new(in, "infection", json_false());
  else if (!strcmp(name, "sirs")) {
    /* Only the heart-rate criterion met. */
    json_object_set_new(in, "temperature", json_real(37.2));
    json_object_set_new(in, "resp_rate", json_real(16));
    json_object_set_new(in, "paco2_kpa", json_real(5.1));
    json_object_set_new(in, "mech_vent", json_false());
    json_object_set_new(in, "wbc", json_real(8.5));
  } else if (!strcmp(name, "vasopressor_hours"))
    json_object_set_new(in, "vasopressor_hours", json_real(2.5));
  else if (!strcmp(name, "hours_since_criteria"))
    json_object_set_new(in, "hours_since_criteria", json_real(31));
  else if (!strcmp(name, "esrf_dialysis"))
    json_object_set_new(in, "esrf_dialysis", json_true());
  else if (!strcmp(name, "torsades_history"))
    json_object_set_new(in, "torsades_history", json_true());
  else if (!strcmp(name, "child_pugh_c"))
    json_object_set_new(in, "child_pugh_c", json_true());
  else if (!strcmp(name, "ventricular_obstruction"))
    json_object_set_new(in, "ventricular_obstruction", json_true());
  else if (!strcmp(name, "treatment_limitation"))
    json_object_set_new(in, "treatment_limitation", json_true());
  else if (!strcmp(name, "weight_kg"))
    json_object_set_new(in, "weight_kg", json_real(142));
  else if (!strcmp(name, "pregnant"))
    json_object_set_new(in, "pregnant", json_true());
  else if (!strcmp(name, "levosimendan_30d"))
    json_object_set_new(in, "levosimendan_30d", json_true());
  else if (!strcmp(name, "levosimendan_hypersensitivity"))
    json_object_set_new(in, "levosimendan_hypersensitivity", json_true());
  else if (!strcmp(name, "other_trial"))
    json_object_set_new(in, "other_trial", json_true());
}

/* ---- records of one patient ---- */

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void put_inputs(json_t *o, const sim_inputs *in, bool with_gcs) {
  bool m[SC_N];
  memcpy(m, in->missing, sizeof m);
  if (!m[SC_RESP]) {
    json_object_set_new(o, "pao2", json_real(in->pao2));
    json_object_set_new(o, "fio2", json_real(in->fio2));
  }
  json_object_set_new(o, "resp_support", json_integer(in->resp_support));
  if (!m[SC_COAG]) json_object_set_new(o, "platelets", json_real(in->platelets));
  if (!m[SC_LIVER]) json_object_set_new(o, "bilirubin", json_real(in->bilirubin));
  if (!m[SC_CV]) {
    json_object_set_new(o, "map", json_real(in->map));
    json_object_set_new(o, "dopamine", json_real(in->dopamine));
    json_object_set_new(o, "dobutamine", json_real(in->dobutamine));
    json_object_set_new(o, "epinephrine", json_real(in->epinephrine));
    json_object_set_new(o, "norepinephrine", json_real(in->norepinephrine));
    json_object_set_new(o, "vasopressin", json_real(in->vasopressin));
  }
  if (!m[SC_RENAL]) {
    json_object_set_new(o, "creatinine", json_real(in->creatinine));
    json_object_set_new(o, "urine_ml", json_real(in->urine));
  }
  if (with_gcs) json_object_set_new(o, "gcs", json_integer(in->gcs));
}

static const char *const race_names[] = {"asian", "black", "white", "other"};
static const char *const source_names[] = {"lung",       "abdomen",     "urinary", "bacteremia",
                                           "neurologic", "soft_tissue", "other"};
static const char *const rhythm_names[] = {"sinus", "af", "paced", "other"};
static const char *const event_names[] = {"start", "increase", "decrease", "stop", "end"};
static const char *const reason_names[] = {"protocol", "hypotension", "tachycardia"};
static const char *const ae_category[] = {"supraventricular_tachyarrhythmia", "ventricular_tachyarrhythmia",
                                          "bradycardia", "myocardial_ischemia", "other"};
static const char *const ae_term[] = {"Supraventricular tachyarrhythmia", "Ventricular tachycardia or fibrillation",
                                      "Bradycardia", "Myocardial infarction or acute coronary syndrome",
                                      "Other serious adverse event"};
/* The site's assessment of each category (docs/simulation.md, "Adverse events"):
 * tachyarrhythmias and myocardial ischaemia are listed among levosimendan's effects and
 * possibly related; a bradycardia is not listed (unexpected) and unlikely to be related
 * to an inodilator; the other serious events are the complications of septic shock the
 * protocol expects in these patients, unlikely to be related. So no simulated event is a
 * suspected unexpected serious adverse reaction, and none leaves expectedness open. */
static const char *const ae_relatedness[AE_N] = {[AE_SVT] = "possible",
                                                 [AE_VT] = "possible",
                                                 [AE_BRADY] = "unlikely",
                                                 [AE_MI] = "possible",
                                                 [AE_OTHER] = "unlikely"};
static const int ae_expected[AE_N] = {[AE_SVT] = 1, [AE_VT] = 1, [AE_BRADY] = 0, [AE_MI] = 1, [AE_OTHER] = 1};

static int six_system_sofa(const sim_patient *p) {
  int s = 0;
  for (int c = 0; c < SC_N; c++) s += p->base_score[c];
  int g = p->base.gcs;
  return s + (g >= 15 ? 0 : g >= 13 ? 1 : g >= 10 ? 2 : g >= 6 ? 3 : 4);
}

/* `avail`: days of follow-up reached (INFINITY for the whole course); only what has
 * happened by then is recorded: complete ICU days, infusion events, adverse events,
 * and the outcome once every date it holds has passed. */
static void add_patient(json_t *base, json_t *daily, json_t *inf, json_t *outc, json_t *ae, const char *id,
                        const sim_patient *p, time_t rand_time, double avail, lp_sim_summary *sum) {
  json_t *b =
      json_pack("{s:s, s:i, s:s, s:f, s:f, s:s}", "patient", id, "age", p->age, "sex", p->male ? "male" : "female",
                "weight_kg", p->weight, "height_cm", p->height, "race", race_names[p->race]);
  static const char *const comorb[10] = {"recent_surgery",
                                         "ischemic_heart_disease",
                                         "congestive_heart_failure",
                                         "cardiac_failure",
                                         "severe_copd",
                                         "chronic_renal_failure",
                                         "cirrhosis",
                                         "immunocompromised",
                                         "diabetes",
                                         "beta_blockers"};
  for (int i = 0; i < 10; i++) json_object_set_new(b, comorb[i], json_integer(p->comorb[i]));
  json_object_set_new(b, "shock_to_randomization_h", json_real(p->shock_hours));
  json_object_set_new(b, "apache2", json_integer(p->apache2));
  json_object_set_new(b, "sofa", json_integer(six_system_sofa(p)));
  json_object_set_new(b, "infection_source", json_string(source_names[p->infection_source]));
  json_object_set_new(b, "positive_culture", json_integer(p->culture));
  json_object_set_new(b, "mech_vent", json_integer(p->vent0));
  json_object_set_new(b, "rrt", json_integer(p->rrt0));
  json_object_set_new(b, "ards", json_integer(p->ards));
  json_object_set_new(b, "rhythm", json_string(rhythm_names[p->rhythm]));
  json_object_set_new(b, "heart_rate", json_real(p->heart_rate));
  json_object_set_new(b, "cvp", json_real(p->cvp));
  if (isfinite(p->cardiac_index)) json_object_set_new(b, "cardiac_index", json_real(p->cardiac_index));
  if (isfinite(p->stroke_volume)) json_object_set_new(b, "stroke_volume", json_real(p->stroke_volume));
  json_object_set_new(b, "sao2", json_real(p->sao2));
  if (isfinite(p->scvo2)) json_object_set_new(b, "scvo2", json_real(p->scvo2));
  json_object_set_new(b, "lactate", json_real(p->lactate));
  json_object_set_new(b, "hemoglobin", json_real(p->hemoglobin));
  put_inputs(b, &p->base, !p->base_gcs_missing);
  json_array_append_new(base, b);
  char t1[32], t2[32], t3[32], t4[32], t5[32];
  if (p->withdrew) {
    if (avail < 0.1) return;
    stamp(rand_time, 0.1, t1, sizeof t1, false);
    json_array_append_new(
        outc, json_pack("{s:s, s:i, s:s, s:i, s:s}", "patient", id, "received_drug", 0, "not_received_reason",
                        "consent_withdrawn", "consent_withdrawn", 1, "consent_withdrawn_date", t1));
    return;
  }
  for (int d = 0; d < p->ndays && d + 1 <= avail; d++) {
    const sim_day *day = &p->day[d];
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:i}", "patient", id, "day", d + 1, "in_icu", 1, "mech_vent", day->vent,
                          "rrt", day->rrt);
    put_inputs(o, &day->in, false);
    json_array_append_new(daily, o);
    sum->daily_records++;
  }
  if (p->received)
    for (int i = 0; i < p->ninf && p->inf[i].hour / 24.0 <= avail; i++) {
      json_array_append_new(inf, json_pack("{s:s, s:f, s:s, s:f, s:s}", "patient", id, "hour", p->inf[i].hour, "event",
                                           event_names[p->inf[i].event], "dose", p->inf[i].dose, "reason",
                                           reason_names[p->inf[i].reason]));
      sum->infusion_records++;
    }
  bool died = isfinite(p->death_day);
  for (int i = 0; i < p->nae; i++) {
    if (p->ae[i].day > avail) continue;
    stamp(rand_time, p->ae[i].day, t5, sizeof t5, false);
    int k = p->ae[i].kind;
    json_array_append_new(ae, json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:s}", "patient", id, "onset", t5,
                                        "category", ae_category[k], "term", ae_term[k], "serious", 1, "relatedness",
                                        ae_relatedness[k], "expected", ae_expected[k], "outcome", "resolved"));
    sum->adverse_events++;
  }
  if (avail < 28 || avail < p->hosp_los || avail < p->icu_los || (died && avail < p->death_day) ||
      (isfinite(p->wean_day) && avail < p->wean_day))
    return;
  stamp(rand_time, p->icu_los, t1, sizeof t1, true);
  stamp(rand_time, p->hosp_los, t2, sizeof t2, true);
  json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:i}", "patient", id, "received_drug", p->received, "icu_discharge", t1,
                        "hospital_discharge", t2, "died", died);
  if (died) {
    stamp(rand_time, p->death_day, t3, sizeof t3, true);
    json_object_set_new(o, "death_date", json_string(t3));
  }
  if (!p->received && p->not_received_reason)
    json_object_set_new(o, "not_received_reason", json_string(p->not_received_reason));
  if (isfinite(p->wean_day)) {
    stamp(rand_time, p->wean_day, t4, sizeof t4, true);
    json_object_set_new(o, "weaned_date", json_string(t4));
  }
  json_array_append_new(outc, o);
  (void)num_or_null;
}

/* The consent of simulated patient i (its own random stream, so that the trial's
 * draws and analysis are unchanged): before randomisation (pt NULL) the initial
 * consent, recorded half an hour before it: the patient's own for about one in eight,
 * else a personal (most) or professional legal representative's; after the course is
 * known (pt given) the retrospective consent a representative's consent leaves owed,
 * queued in `retro` for recording with the other data: given once capacity is
 * regained (day 1 to 10), or the patient died first, or (one in twenty) never
 * regained capacity by hospital discharge; none is refused, so the analysis is that
 * of the trial without consent records. Only what has happened by `avail` days. */
static lp_status sim_consent(lp_trial *t, sim_clock *clk, uint64_t seed, int i, const char *id, const char *user,
                             time_t rand_time, const sim_patient *pt, double avail, json_t *retro, lp_error *err) {
  lp_rng cr;
  lp_rng_seed(&cr, seed, 500000 + (uint64_t)i);
  double who = lp_rng_uniform(&cr), regain = 1 + 9 * lp_rng_uniform(&cr), never = lp_rng_uniform(&cr);
  const char *by = who < 0.12 ? "patient" : who < 0.82 ? "personal_representative" : "professional_representative";
  char at[32];
  if (!pt) {
    time_t keep = clk->now;
    clk->now = rand_time - 1800;
    stamp(rand_time, -1800.0 / 86400.0, at, sizeof at, true);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "patient", id, "consent_by", by, "consented_at", at, "taken_by",
                          user, "form_version", "3.0");
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    lp_consent_result r;
    lp_status st =
        text ? lp_consent_record(t, text, "simulator", user, &r, err) : lp_error_set(err, LP_ENOMEM, "out of memory");
    free(text);
    clk->now = keep;
    return st;
  }
  if (!strcmp(by, "patient") || pt->withdrew) return LP_OK;
  const char *decision = "given";
  double day = regain;
  if (isfinite(pt->death_day) && pt->death_day < regain) {
    decision = "died";
    day = pt->death_day;
  } else if (never < 0.05) {
    decision = "never_regained_capacity";
    day = pt->hosp_los;
  }
  if (day > avail) return LP_OK; /* not yet: still owed */
  stamp(rand_time, day, at, sizeof at, true);
  json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "patient", id, "kind", "retrospective", "decision", decision,
                        "consented_at", at);
  if (!strcmp(decision, "given")) {
    json_object_set_new(o, "taken_by", json_string(user));
    json_object_set_new(o, "form_version", json_string("3.0"));
  }
  json_array_append_new(retro, json_pack("{s:s, s:o}", "user", user, "consent", o));
  return LP_OK;
}

/* The queued retrospective consents, each by its site's investigator. */
static lp_status record_retrospective(lp_trial *t, json_t *retro, lp_error *err) {
  size_t i;
  json_t *x;
  json_array_foreach(retro, i, x) {
    char *text = json_dumps(json_object_get(x, "consent"), JSON_COMPACT);
    lp_consent_result r;
    lp_status st = text
                       ? lp_consent_record(t, text, "simulator", json_string_value(json_object_get(x, "user")), &r, err)
                       : lp_error_set(err, LP_ENOMEM, "out of memory");
    free(text);
    if (st) return st;
  }
  return LP_OK;
}

/* Before the lock, as real sites would: each site answers the queries its data raised
 * (the value checked against the source and standing) and the trial manager closes
 * them. Nothing is written when there are none. */
static lp_status resolve_queries(lp_trial *t, lp_error *err) {
  lp_query *q = NULL;
  size_t n = 0;
  lp_query_filter f = {.state = -1};
  lp_status st = lp_query_list(t, &f, &q, &n, err);
  for (size_t i = 0; !st && i < n; i++) {
    if (q[i].state == LP_QUERY_CLOSED) continue;
    char user[80];
    snprintf(user, sizeof user, "inv-%s", q[i].site);
    if (q[i].state == LP_QUERY_OPEN)
      st = lp_query_answer(t, q[i].id, "checked against the source: the value is right", NULL, NULL, user, NULL, err);
    if (!st) st = lp_query_close(t, q[i].id, "answer accepted", "manager", err);
  }
  free(q);
  if (st) lp_error_prefix(err, "simulator, answering the data queries");
  return st;
}

static void progress(const lp_sim_options *o, const char *stage, double f) {
  if (o->progress) o->progress(o->progress_ctx, stage, f);
}

/* Record one kind from a JSON array (one transaction). */
static lp_status record(lp_trial *t, lp_record_kind kind, json_t *arr, lp_error *err) {
  if (json_array_size(arr) == 0) return LP_OK;
  char *text = json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(10));
  if (!text) return lp_error_set(err, LP_ENOMEM, "out of memory");
  size_t rows;
  lp_status st = lp_record_json(t, kind, text, "simulator", "manager", NULL, &rows, err);
  free(text);
  if (st) lp_error_prefix(err, "simulator, %s records", lp_record_kind_name(kind));
  return st;
}

/* Screen a batch of one site's log entries (the caller keeps its references). */
static lp_status screen_batch(lp_trial *t, json_t **entries, size_t n, const char *user, lp_sim_summary *out,
                              lp_error *err) {
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) json_array_append(arr, entries[i]);
  char *text = json_dumps(arr, JSON_COMPACT);
  json_decref(arr);
  if (!text) return lp_error_set(err, LP_ENOMEM, "out of memory");
  size_t count = 0, eligible = 0;
  lp_status st = lp_trial_screen_many(t, text, "simulator", user, &count, &eligible, err);
  free(text);
  out->screened += (long)count;
  out->eligible += (long)eligible;
  return st;
}

/* Enter, site by site, the not-enrolled screening entries dated before `until`, on
 * the day before it (the sites' periodic entry of their screening logs). */
static lp_status screen_log(lp_trial *t, sim_clock *clk, time_t until, json_t **entry, const time_t *screened_on,
                            const int *site_of, int n_rand, int n_screen, char (*codes)[16], int ns,
                            lp_sim_summary *out, lp_error *err) {
  clk->now = until - 86400;
  json_t **batch = malloc((size_t)n_screen * sizeof *batch);
  if (!batch) return lp_error_set(err, LP_ENOMEM, "out of memory");
  lp_status st = LP_OK;
  for (int s = 0; s < ns && !st; s++) {
    size_t n = 0;
    for (int i = n_rand; i < n_screen; i++)
      if (entry[i] && site_of[i] == s && screened_on[i] < until - 86400) batch[n++] = entry[i];
    if (!n) continue;
    char user[32];
    snprintf(user, sizeof user, "inv-%s", codes[s]);
    st = screen_batch(t, batch, n, user, out, err);
    for (int i = n_rand; i < n_screen; i++)
      if (entry[i] && site_of[i] == s && screened_on[i] < until - 86400) {
        json_decref(entry[i]);
        entry[i] = NULL;
      }
  }
  free(batch);
  return st;
}

/* ---- the run ---- */

/* Everything one run makes and holds, freed by run_free. */
typedef struct {
  const lp_sim_options *o;
  lp_sim_summary *out;
  sim_model model;
  lp_rng r; /* the trial's own stream: sites, screening entries, enrolment times, disposition */
  int ns, n_rand, n_screen, n_run;
  lp_site_def *sites;
  char (*codes)[16], (*names)[48];
  double *weight, wsum;
  lp_trial *t;
  lp_trial_key *k;
  json_t *base, *daily, *inf, *outc, *ae; /* the records, entered at the end */
  json_t *retro;                          /* retrospective consents, entered with them */
  sim_patient *pt;
  int *site_of;    /* [n_screen]: the randomised first */
  char (*pid)[16]; /* [n_rand] */
  time_t *when;    /* [n_rand]: randomisation times */
  json_t **entry;  /* [n_screen]: screening entries not yet entered */
  time_t *screened_on;
  sim_clock clk;
  time_t t0, stop_at; /* the trial's first day; the stop of a trial in progress (0: none) */
} sim_run;

static lp_status check_options(const char *db, const char *keypath, const char *audit_key, const lp_sim_options *o,
                               lp_error *err) {
  if (o->patients < 10 || o->patients > 100000 || o->sites < 1 || o->sites > 999 || o->screened < o->patients)
    return lp_error_set(err, LP_EINVAL, "simulation: bad sizes (patients %d, sites %d, screened %d)", o->patients,
                        o->sites, o->screened);
  if (o->stop_after < 0 || o->stop_after > o->patients)
    return lp_error_set(err, LP_EINVAL, "simulation: the stop after %d randomisations is outside 1 to %d",
                        o->stop_after, o->patients);
  if (access(db, F_OK) == 0) return lp_error_set(err, LP_EINVAL, "%s exists: the simulator makes a new trial file", db);
  if (access(keypath, F_OK) == 0)
    return lp_error_set(err, LP_EINVAL, "%s exists: the simulator makes a new key file", keypath);
  if (access(audit_key, F_OK) == 0)
    return lp_error_set(err, LP_EINVAL, "%s exists: the simulator makes a new audit key file", audit_key);
  return LP_OK;
}

static lp_status run_alloc(sim_run *s, lp_error *err) {
  const lp_sim_options *o = s->o;
  s->ns = o->sites;
  s->n_rand = o->patients;
  s->n_screen = o->screened;
  s->sites = calloc((size_t)s->ns, sizeof *s->sites);
  s->codes = calloc((size_t)s->ns, sizeof *s->codes);
  s->names = calloc((size_t)s->ns, sizeof *s->names);
  s->weight = calloc((size_t)s->ns, sizeof *s->weight);
  s->base = json_array();
  s->daily = json_array();
  s->inf = json_array();
  s->outc = json_array();
  s->ae = json_array();
  s->retro = json_array();
  s->pt = malloc(sizeof *s->pt);
  s->site_of = calloc((size_t)s->n_screen, sizeof *s->site_of);
  s->pid = calloc((size_t)s->n_rand, sizeof *s->pid);
  s->when = calloc((size_t)s->n_rand, sizeof *s->when);
  s->entry = calloc((size_t)s->n_screen, sizeof *s->entry);
  s->screened_on = calloc((size_t)s->n_screen, sizeof *s->screened_on);
  if (!s->sites || !s->codes || !s->names || !s->weight || !s->retro || !s->pt || !s->site_of || !s->pid || !s->when ||
      !s->entry || !s->screened_on)
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  return LP_OK;
}

static void run_free(sim_run *s) {
  json_decref(s->base);
  json_decref(s->daily);
  json_decref(s->inf);
  json_decref(s->outc);
  json_decref(s->ae);
  json_decref(s->retro);
  lp_key_free(s->k);
  lp_trial_close(s->t);
  free(s->sites);
  free(s->codes);
  free(s->names);
  free(s->weight);
  free(s->pt);
  free(s->site_of);
  free(s->pid);
  free(s->when);
  if (s->entry)
    for (int i = 0; i < s->n_screen; i++) json_decref(s->entry[i]);
  free(s->entry);
  free(s->screened_on);
}

/* Sites of unequal size (recruitment weights 1/rank^0.7). */
static void make_sites(sim_run *s) {
  s->wsum = 0;
  for (int i = 0; i < s->ns; i++) {
    snprintf(s->codes[i], sizeof s->codes[i], "ICU%02d", i + 1);
    snprintf(s->names[i], sizeof s->names[i], "Intensive care unit %d", i + 1);
    s->sites[i] = (lp_site_def){s->codes[i], s->names[i]};
    s->weight[i] = 1 / pow(i + 1, 0.7);
    s->wsum += s->weight[i];
  }
}

/* The ineligible entries (from n_rand on): each fails its criteria of Figure 1, the
 * shock criteria going to the first of them, the others to the rest; each patient
 * gets one, the surplus goes to random patients of the same group. */
static lp_status ineligible_entries(sim_run *s, int n_inel, double scale, lp_error *err) {
  int shock_patients = (int)lround(157 * scale);
  json_t **inel = calloc((size_t)(n_inel > 0 ? n_inel : 1), sizeof *inel);
  if (!inel) return lp_error_set(err, LP_ENOMEM, "out of memory");
  for (int i = 0; i < n_inel; i++) inel[i] = eligible_inputs(&s->r);
  int cursor[2] = {0, shock_patients};
  int limit[2] = {shock_patients, n_inel};
  for (size_t e = 0; e < NEXCL; e++) {
    int g = exclusions[e].shock ? 0 : 1, cnt = (int)lround(exclusions[e].count * scale);
    for (int c = 0; c < cnt && limit[g] > (g ? shock_patients : 0); c++) {
      int who;
      if (cursor[g] < limit[g]) who = cursor[g]++;
      else
        who = (g ? shock_patients : 0) + (int)lp_rng_below(&s->r, (uint32_t)(limit[g] - (g ? shock_patients : 0)));
      fail_criterion(inel[who], exclusions[e].name);
    }
  }
  for (int i = 0, idx = s->n_rand; i < n_inel; i++, idx++) {
    json_object_set_new(inel[i], "site", json_string(s->codes[s->site_of[idx]]));
    s->entry[idx] = inel[i];
  }
  free(inel);
  return LP_OK;
}

/* Screening: each screened patient gets a site and an entry; the first `patients` are
 * randomised, then those eligible but not enrolled, then the ineligible. */
static lp_status screening_entries(sim_run *s, lp_error *err) {
  int n_not = 0;
  for (size_t i = 0; i < 4; i++) n_not += not_enrolled[i].count;
  double scale = (double)(s->n_screen - s->n_rand) / (2382 - 516);
  for (int i = 0; i < s->n_screen; i++) {
    double x = lp_rng_uniform(&s->r) * s->wsum;
    int site = 0;
    while (site < s->ns - 1 && x > s->weight[site]) x -= s->weight[site++];
    s->site_of[i] = site;
  }
  /* Failure tokens, scaled to the number screened. */
  int n_inel = s->n_screen - s->n_rand - (int)lround(n_not * scale);
  int n_elig_not = s->n_screen - s->n_rand - n_inel;
  lp_status st = ineligible_entries(s, n_inel, scale, err);
  if (st) return st;
  int idx = s->n_rand + n_inel;
  for (size_t j = 0, c = 0; j < 4; j++) {
    int cnt = j == 3 ? n_elig_not - (int)c : (int)lround(not_enrolled[j].count * scale);
    for (int i = 0; i < cnt; i++, idx++, c++) {
      json_t *in = eligible_inputs(&s->r);
      json_object_set_new(in, "reason_not_enrolled", json_string(not_enrolled[j].reason));
      json_object_set_new(in, "site", json_string(s->codes[s->site_of[idx]]));
      s->entry[idx] = in;
    }
  }
  for (int i = 0; i < s->n_rand; i++) {
    snprintf(s->pid[i], sizeof s->pid[i], "P%04d", i + 1);
    json_t *in = eligible_inputs(&s->r);
    json_object_set_new(in, "site", json_string(s->codes[s->site_of[i]]));
    json_object_set_new(in, "patient", json_string(s->pid[i]));
    s->entry[i] = in;
  }
  return LP_OK;
}

/* Enrolment times: January 2014 to December 2015, in order. A trial in progress: the
 * calendar moves (by whole days, so that times of day stay) so that the stop, an hour
 * after the last randomisation, falls on the day of `now`, at or before it. The draws
 * are those of the whole trial. */
static void enrolment_times(sim_run *s) {
  const lp_sim_options *o = s->o;
  time_t *when = s->when;
  for (int i = 0; i < s->n_rand; i++) when[i] = 1388966400 + (time_t)(lp_rng_uniform(&s->r) * 61000000.0);
  for (int i = 1; i < s->n_rand; i++) /* insertion sort keeps patients' codes in time order */
    for (int j = i; j > 0 && when[j - 1] > when[j]; j--) {
      time_t x = when[j];
      when[j] = when[j - 1];
      when[j - 1] = x;
    }
  s->n_run = o->stop_after ? o->stop_after : s->n_rand;
  s->t0 = 1388966400;
  s->stop_at = 0;
  if (o->stop_after) {
    time_t now = o->now ? (time_t)o->now : time(NULL);
    time_t stop = when[s->n_run - 1] + 3600;
    time_t shift = (now - stop) / 86400 * 86400;
    if (stop + shift > now) shift -= 86400;
    for (int i = 0; i < s->n_rand; i++) when[i] += shift;
    s->t0 += shift;
    s->stop_at = stop + shift;
  }
}

/* The trial file, keyed like a real trial (its audit key beside the database,
 * DB.audit-key), marked simulated, its users, the key and the sealed list. */
static lp_status create_trial(sim_run *s, const char *db, const char *keypath, const char *audit_key,
                              bool *made_audit_key, lp_error *err) {
  lp_status st;
  s->clk.now = s->t0; /* 2014-01-06, or as shifted */
  if ((st = lp_trial_create(db, "leopards", s->sites, (size_t)s->ns, "manager", &s->t, err))) return st;
  lp_trial_set_clock(s->t, clock_fn, &s->clk);
  if ((st = lp_audit_key_install(s->t, audit_key, "manager", err))) return st;
  *made_audit_key = true;
  if ((st = lp_trial_mark_simulated(s->t, "manager", err)) ||
      (st = lp_user_add(s->t, "manager", "statistician", LP_ROLE_STATISTICIAN, NULL, err)))
    return st;
  for (int i = 0; i < s->ns; i++) {
    char user[32];
    snprintf(user, sizeof user, "inv-%s", s->codes[i]);
    if ((st = lp_user_add(s->t, "manager", user, LP_ROLE_INVESTIGATOR, s->codes[i], err))) return st;
  }
  if ((st = lp_key_create_simulated(s->t, keypath, s->o->seed, &s->k, err))) return st;
  lp_trial_use_key(s->t, s->k);
  lp_list_options lo;
  lp_list_options_default(&lo);
  lp_list_summary ls;
  return lp_list_generate(s->t, s->k, &lo, "statistician", &ls, err);
}

/* Screening dates of the patients not randomised: days spread over the same two years
 * (their own stream, so the trial's draws are unchanged). */
static void screening_dates(sim_run *s) {
  lp_rng rs;
  lp_rng_seed(&rs, s->o->seed, 77);
  for (int i = s->n_rand; i < s->n_screen; i++) {
    s->screened_on[i] = s->t0 + (time_t)(lp_rng_uniform(&rs) * 61000000.0);
    char day[16];
    stamp(s->screened_on[i], 0, day, sizeof day, false);
    json_object_set_new(s->entry[i], "screened_on", json_string(day));
  }
}

/* Why simulated patient i, chosen not to be treated, did not receive the drug: a
 * death in the first day is the reason; otherwise, from the patient's own stream of
 * the reason (so every other draw is unchanged), a clinical decision to withhold the
 * drug owing to improvement or enrolment while the trial was temporarily halted, as
 * the paper's two (Figure 1), equally often. */
static const char *untreated_reason(uint64_t seed, int i, const sim_patient *pt) {
  if (pt->death_day < 1) return "died";
  lp_rng rr;
  lp_rng_seed(&rr, seed, 600000 + (uint64_t)i);
  return lp_rng_uniform(&rr) < 0.5 ? "clinical_improvement" : "trial_halted";
}

/* Screen patient i an hour before randomisation, randomise them, and simulate them
 * from their own stream in the arm the list gives; the trial's own disposition (one
 * withdrawal of consent, a few not treated) comes from the trial's stream. */
static lp_status enrol_patient(sim_run *s, int i, int *withdraw_done, int *untreated, lp_error *err) {
  const lp_sim_options *o = s->o;
  char user[32];
  snprintf(user, sizeof user, "inv-%s", s->codes[s->site_of[i]]);
  s->clk.now = s->when[i] - 3600;
  lp_status st = screen_batch(s->t, &s->entry[i], 1, user, s->out, err);
  json_decref(s->entry[i]);
  s->entry[i] = NULL;
  if (st) return st;
  double avail = s->stop_at ? (double)(s->stop_at - s->when[i]) / 86400.0 : INFINITY;
  if ((st = sim_consent(s->t, &s->clk, o->seed, i, s->pid[i], user, s->when[i], NULL, avail, s->retro, err))) return st;
  s->clk.now = s->when[i];
  lp_allocation al;
  int arm;
  if ((st = lp_trial_randomize(s->t, s->codes[s->site_of[i]], s->pid[i], user, &al, err)) ||
      (st = lp_trial_simulated_arm(s->t, s->k, s->pid[i], &arm, err)))
    return st;
  lp_rng pr;
  lp_rng_seed(&pr, o->seed, 1000 + (uint64_t)i);
  sim_patient *pt = s->pt;
  lp__sim_patient(&s->model, &pr, arm, pt);
  s->out->arm_n[arm]++;
  if (arm == 0 && !*withdraw_done && i > s->n_rand / 3) {
    pt->withdrew = true;
    pt->received = false;
    *withdraw_done = 1;
    s->out->withdrawn++;
  } else if (untreated[arm] < 3 && lp_rng_below(&s->r, (uint32_t)(s->n_rand / 6)) == 0) {
    pt->received = false;
    pt->not_received_reason = untreated_reason(o->seed, i, pt);
    untreated[arm]++;
    s->out->not_treated++;
  }
  if (!pt->withdrew && pt->death_day <= 28) s->out->deaths28++;
  add_patient(s->base, s->daily, s->inf, s->outc, s->ae, s->pid[i], pt, s->when[i], avail, s->out);
  return sim_consent(s->t, &s->clk, o->seed, i, s->pid[i], user, s->when[i], pt, avail, s->retro, err);
}

/* The patients in order of randomisation, with each site's screening log entered
 * every 30 days; then the rest of the log (to the end, or to the stop). */
static lp_status enrol_all(sim_run *s, lp_error *err) {
  const lp_sim_options *o = s->o;
  lp_status st = LP_OK;
  time_t log_until = s->t0 + 30 * 86400;
  int withdraw_done = 0, untreated[2] = {0, 0};
  for (int i = 0; i < s->n_run && !st; i++) {
    if (i % 20 == 0) progress(o, "randomising and following patients", 0.1 + 0.6 * i / s->n_run);
    for (; log_until <= s->when[i] && !st; log_until += 30 * 86400)
      st = screen_log(s->t, &s->clk, log_until, s->entry, s->screened_on, s->site_of, s->n_rand, s->n_screen, s->codes,
                      s->ns, s->out, err);
    if (!st) st = enrol_patient(s, i, &withdraw_done, untreated, err);
  }
  if (st) return st;
  if (s->stop_at) /* the log as entered by the stop */
    return screen_log(s->t, &s->clk, s->stop_at + 86400, s->entry, s->screened_on, s->site_of, s->n_rand, s->n_screen,
                      s->codes, s->ns, s->out, err);
  for (; !st && log_until <= s->t0 + 61000000 + 30 * 86400; log_until += 30 * 86400)
    st = screen_log(s->t, &s->clk, log_until, s->entry, s->screened_on, s->site_of, s->n_rand, s->n_screen, s->codes,
                    s->ns, s->out, err);
  return st;
}

/* The records, after every follow-up date (the longest hospital stays), or the day a
 * trial in progress stops; then the lock of a whole trial. */
static lp_status record_and_lock(sim_run *s, lp_error *err) {
  const lp_sim_options *o = s->o;
  lp_status st;
  s->clk.now = s->stop_at ? s->stop_at : s->when[s->n_rand - 1] + 400 * 86400;
  progress(o, "recording", 0.75);
  if ((st = record(s->t, LP_RECORD_BASELINE, s->base, err)) || (st = record(s->t, LP_RECORD_DAILY, s->daily, err)) ||
      (st = record(s->t, LP_RECORD_INFUSION, s->inf, err)) || (st = record(s->t, LP_RECORD_OUTCOME, s->outc, err)) ||
      (st = record(s->t, LP_RECORD_AE, s->ae, err)) || (st = record_retrospective(s->t, s->retro, err)))
    return st;
  if (!s->stop_at) {
    progress(o, "locking", 0.95);
    s->clk.now += 86400;
    if ((st = resolve_queries(s->t, err)) || (st = lp_trial_lock(s->t, "statistician", err))) return st;
  }
  progress(o, "done", 1);
  return LP_OK;
}

lp_status lp_sim_run(const char *db, const char *keypath, const lp_sim_options *o, lp_sim_summary *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  char audit_key[4200];
  lp_audit_key_default_path(db, audit_key, sizeof audit_key);
  lp_status st = check_options(db, keypath, audit_key, o, err);
  if (st) return st;
  sim_run s;
  memset(&s, 0, sizeof s);
  s.o = o;
  s.out = out;
  if ((st = lp__sim_model_init(&s.model, o->effect, o->difference, err))) return st;
  lp_rng_seed(&s.r, o->seed, 0);
  bool made_audit_key = false;
  if ((st = run_alloc(&s, err))) goto done;
  make_sites(&s);
  progress(o, "screening", 0.05);
  if ((st = screening_entries(&s, err))) goto done;
  enrolment_times(&s);
  /* The trial is created once the calendar is known (the draws above use no store). */
  progress(o, "creating the trial", 0);
  if ((st = create_trial(&s, db, keypath, audit_key, &made_audit_key, err))) goto done;
  screening_dates(&s);
  if ((st = enrol_all(&s, err))) goto done;
  out->randomised = s.n_run;
  st = record_and_lock(&s, err);
done:
  run_free(&s);
  if (st) {
    /* Nothing half-made: remove what this run created. */
    lp_trial_remove_files(db);
    unlink(keypath);
    if (made_audit_key) unlink(audit_key);
  }
  return st;
}
