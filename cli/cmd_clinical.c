/* leopards score sofa|apache2|kdigo, eligibility, infusion rate|next: the clinical
 * rules on one record (--json-in) or a CSV of records (--data, one result per row,
 * a bad row reported by line while the others are still scored). */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/clinical.h>
#include <leopards/table.h>

#include "cli.h"

/* ---- input fields: JSON keys and CSV headers mapped onto the input structs ---- */

typedef enum { F_NUM, F_FLAG, F_ENUM } ftype;

typedef struct {
  const char *name;
  ftype type;
  size_t off;          /* offset of the double (F_NUM) or int (F_FLAG, F_ENUM) */
  double divisor;      /* SI input: value / divisor gives the canonical unit (0: none) */
  const char *choices; /* F_ENUM: "a|b|c", stored as the index */
} field;

#define NUM(st, f) \
  { #f, F_NUM, offsetof(st, f), 0, NULL }
#define FLAG(st, f) \
  { #f, F_FLAG, offsetof(st, f), 0, NULL }

static const field sofa_fields[] = {NUM(lp_sofa_input, pao2),
                                    NUM(lp_sofa_input, fio2),
                                    {"ventilated", F_FLAG, offsetof(lp_sofa_input, ventilated), 0, NULL},
                                    NUM(lp_sofa_input, platelets),
                                    NUM(lp_sofa_input, bilirubin),
                                    {"bilirubin_umol", F_NUM, offsetof(lp_sofa_input, bilirubin), 17.1, NULL},
                                    NUM(lp_sofa_input, map),
                                    NUM(lp_sofa_input, dopamine),
                                    NUM(lp_sofa_input, dobutamine),
                                    NUM(lp_sofa_input, epinephrine),
                                    NUM(lp_sofa_input, norepinephrine),
                                    NUM(lp_sofa_input, vasopressin),
                                    NUM(lp_sofa_input, gcs),
                                    NUM(lp_sofa_input, creatinine),
                                    {"creatinine_umol", F_NUM, offsetof(lp_sofa_input, creatinine), 88.4, NULL},
                                    NUM(lp_sofa_input, urine_ml),
                                    {0}};

static const field apache_fields[] = {NUM(lp_apache2_input, temperature),
                                      NUM(lp_apache2_input, map),
                                      NUM(lp_apache2_input, heart_rate),
                                      NUM(lp_apache2_input, resp_rate),
                                      NUM(lp_apache2_input, fio2),
                                      NUM(lp_apache2_input, pao2),
                                      NUM(lp_apache2_input, paco2),
                                      NUM(lp_apache2_input, aado2),
                                      NUM(lp_apache2_input, ph),
                                      NUM(lp_apache2_input, hco3),
                                      NUM(lp_apache2_input, sodium),
                                      NUM(lp_apache2_input, potassium),
                                      NUM(lp_apache2_input, creatinine),
                                      {"creatinine_umol", F_NUM, offsetof(lp_apache2_input, creatinine), 88.4, NULL},
                                      FLAG(lp_apache2_input, acute_renal_failure),
                                      NUM(lp_apache2_input, hematocrit),
                                      NUM(lp_apache2_input, wbc),
                                      NUM(lp_apache2_input, gcs),
                                      NUM(lp_apache2_input, age),
                                      FLAG(lp_apache2_input, chronic_health),
                                      {"admission", F_ENUM, offsetof(lp_apache2_input, admission), 0,
                                       "nonoperative|emergency_postoperative|elective_postoperative"},
                                      {0}};

static const field elig_fields[] = {NUM(lp_eligibility_input, age),
                                    FLAG(lp_eligibility_input, infection),
                                    NUM(lp_eligibility_input, temperature),
                                    NUM(lp_eligibility_input, heart_rate),
                                    NUM(lp_eligibility_input, resp_rate),
                                    NUM(lp_eligibility_input, paco2_kpa),
                                    FLAG(lp_eligibility_input, ventilated),
                                    NUM(lp_eligibility_input, wbc),
                                    NUM(lp_eligibility_input, vasopressor_hours),
                                    NUM(lp_eligibility_input, hours_since_criteria),
                                    NUM(lp_eligibility_input, weight),
                                    FLAG(lp_eligibility_input, esrf_dialysis),
                                    FLAG(lp_eligibility_input, torsades_history),
                                    FLAG(lp_eligibility_input, child_pugh_c),
                                    FLAG(lp_eligibility_input, ventricular_obstruction),
                                    FLAG(lp_eligibility_input, treatment_limitation),
                                    FLAG(lp_eligibility_input, pregnant),
                                    FLAG(lp_eligibility_input, levosimendan_30d),
                                    FLAG(lp_eligibility_input, levosimendan_hypersensitivity),
                                    FLAG(lp_eligibility_input, other_trial),
                                    {0}};

static const char *field_list(const field *f, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = '\0';
  for (; f->name && k + 4 < n; f++) k += (size_t)snprintf(buf + k, n - k, "%s%s", k ? ", " : "", f->name);
  return buf;
}

/* Fill `dst` (already initialised to "all missing") from a JSON object. */
static lp_status fill(json_t *obj, const field *spec, void *dst, lp_error *err) {
  if (!json_is_object(obj)) return lp_error_set(err, LP_EPARSE, "the input must be a JSON object of fields");
  const char *key;
  json_t *v;
  size_t seen_slot[64], nseen = 0;
  json_object_foreach(obj, key, v) {
    const field *f = spec;
    while (f->name && strcmp(f->name, key)) f++;
    if (!f->name) {
      char list[1024];
      return lp_error_at(err, LP_EINVAL, NULL, 0, key, "unknown field (fields: %s)",
                         field_list(spec, list, sizeof list));
    }
    if (json_is_null(v)) continue;
    for (size_t i = 0; i < nseen; i++)
      if (seen_slot[i] == f->off)
        return lp_error_at(err, LP_EINVAL, NULL, 0, key, "the same value is given twice (in two units?)");
    if (nseen < 64) seen_slot[nseen++] = f->off;
    char *base = dst;
    if (f->type == F_NUM) {
      double x;
      if (json_is_number(v)) x = json_number_value(v);
      else if (!json_is_string(v) || !lp_parse_number(json_string_value(v), &x))
        return lp_error_at(err, LP_EINVAL, NULL, 0, key, "must be a number");
      *(double *)(base + f->off) = f->divisor > 0 ? lp_si_to_conventional(x, f->divisor) : x;
    } else if (f->type == F_FLAG) {
      int b = -1;
      if (json_is_boolean(v)) b = json_is_true(v);
      else if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        b = (int)json_integer_value(v);
      else if (json_is_real(v) && (json_real_value(v) == 0 || json_real_value(v) == 1))
        b = (int)json_real_value(v);
      else if (json_is_string(v)) {
        const char *t = json_string_value(v);
        b = !strcmp(t, "true") || !strcmp(t, "1") ? 1 : !strcmp(t, "false") || !strcmp(t, "0") ? 0 : -1;
      }
      if (b < 0) return lp_error_at(err, LP_EINVAL, NULL, 0, key, "must be true/false or 1/0");
      *(int *)(base + f->off) = b;
    } else {
      const char *t = json_is_string(v) ? json_string_value(v) : NULL;
      int idx = -1, i = 0;
      for (const char *c = f->choices; t && *c; i++) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (strlen(t) == len && !strncmp(t, c, len)) idx = i;
        c += len + (bar ? 1 : 0);
      }
      if (idx < 0) return lp_error_at(err, LP_EINVAL, NULL, 0, key, "must be one of: %s", f->choices);
      *(int *)(base + f->off) = idx;
    }
  }
  return LP_OK;
}

/* A CSV row as a JSON object: numbers, true/false, or text; empty cells left out.
 * NULL when a cell cannot be held (never dropped silently). */
static json_t *row_object(const lp_table *t, size_t row) {
  json_t *o = json_object();
  for (size_t c = 0; c < lp_table_ncols(t); c++) {
    const char *s = lp_table_cell(t, row, c);
    if (!s) continue;
    double x;
    json_t *v = lp_parse_number(s, &x) ? json_real(x)
                : !strcmp(s, "true")   ? json_true()
                : !strcmp(s, "false")  ? json_false()
                                       : json_string(s);
    if (!v || json_object_set_new(o, lp_table_colname(t, c), v)) {
      json_decref(o);
      return NULL;
    }
  }
  return o;
}

/* ---- one command for each rule: score a record into a JSON result ---- */

typedef json_t *(*scorer)(json_t *obj, const cli_args *a, lp_error *err);

static json_t *comp(int v) { return v < 0 ? json_null() : json_integer(v); }

static json_t *score_sofa(json_t *obj, const cli_args *a, lp_error *err) {
  lp_sofa_input in;
  lp_sofa_input_init(&in);
  long systems = 5;
  if (cli_long(a, "systems", 5, 6, &systems)) systems = 5;
  if (fill(obj, sofa_fields, &in, err)) return NULL;
  lp_sofa s;
  if (lp_sofa_score(&in, (int)systems, &s, err)) return NULL;
  json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "respiratory", comp(s.component[LP_SOFA_RESP]), "coagulation",
                        comp(s.component[LP_SOFA_COAG]), "hepatic", comp(s.component[LP_SOFA_LIVER]), "cardiovascular",
                        comp(s.component[LP_SOFA_CV]), "cns", comp(s.component[LP_SOFA_CNS]), "renal",
                        comp(s.component[LP_SOFA_RENAL]));
  json_object_set_new(o, "total", s.total < 0 ? json_null() : json_integer(s.total));
  json_object_set_new(o, "systems", json_integer(s.systems));
  json_t *miss = json_array();
  for (int k = 0; k < LP_SOFA_NCOMP; k++)
    if (s.missing & (1u << k)) json_array_append_new(miss, json_string(lp_sofa_component_name((lp_sofa_component)k)));
  json_object_set_new(o, "missing", miss);
  return o;
}

static json_t *score_apache(json_t *obj, const cli_args *a, lp_error *err) {
  (void)a;
  lp_apache2_input in;
  lp_apache2_input_init(&in);
  if (fill(obj, apache_fields, &in, err)) return NULL;
  lp_apache2 s;
  if (lp_apache2_score(&in, &s, err)) return NULL;
  json_t *pts = json_object(), *miss = json_array();
  for (int v = 0; v < LP_APS_N; v++) {
    const char *name = v == LP_APS_PH && s.acid_base_by_hco3 ? "hco3" : lp_apache2_variable_name(v);
    json_object_set_new(pts, name, json_integer(s.points[v]));
    if (s.missing & (1u << v)) json_array_append_new(miss, json_string(lp_apache2_variable_name(v)));
  }
  return json_pack("{s:o, s:i, s:i, s:i, s:i, s:s, s:o}", "points", pts, "aps", s.aps, "age_points", s.age_points,
                   "chronic_points", s.chronic_points, "total", s.total, "oxygenation_by",
                   s.oxygenation_by_aado2 ? "aado2" : "pao2", "missing", miss);
}

static json_t *check_eligibility(json_t *obj, const cli_args *a, lp_error *err) {
  (void)a;
  lp_eligibility_input in;
  lp_eligibility_input_init(&in);
  if (fill(obj, elig_fields, &in, err)) return NULL;
  lp_eligibility e;
  if (lp_eligibility_check(&in, &e, err)) return NULL;
  json_t *failed = json_array();
  for (size_t i = 0; i < e.nfailed; i++) json_array_append_new(failed, json_string(e.failed[i]));
  return json_pack("{s:b, s:i, s:o}", "eligible", e.eligible, "sirs_count", e.sirs_count, "failed", failed);
}

static void print_text(const char *cmd, json_t *r, long line) {
  if (line > 0) printf("line %ld: ", line);
  if (!strcmp(cmd, "score sofa")) {
    static const char *names[] = {"respiratory", "coagulation", "hepatic", "cardiovascular", "cns", "renal"};
    for (int k = 0; k < 6; k++) {
      json_t *v = json_object_get(r, names[k]);
      if (k == 4 && json_integer_value(json_object_get(r, "systems")) == 5) continue;
      printf("%s %s  ", names[k], json_is_null(v) ? "NA" : (char[8]){(char)('0' + json_integer_value(v)), 0});
    }
    json_t *t = json_object_get(r, "total");
    if (json_is_null(t)) printf("total NA (missing:");
    else
      printf("total %lld", (long long)json_integer_value(t));
    if (json_is_null(t)) {
      size_t i;
      json_t *m;
      json_array_foreach(json_object_get(r, "missing"), i, m) printf(" %s", json_string_value(m));
      printf(")");
    }
    json_t *cns = json_object_get(r, "cns");
    if (json_integer_value(json_object_get(r, "systems")) == 5 && json_is_integer(cns))
      printf("  (cns %lld from the GCS given: not in the five-system total; --systems 6 adds it)",
             (long long)json_integer_value(cns));
    printf("\n");
  } else if (!strcmp(cmd, "score apache2")) {
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(r, "points"), k, v) printf("%s %lld  ", k, (long long)json_integer_value(v));
    printf("\n  APS %lld + age %lld + chronic health %lld = APACHE II %lld\n",
           (long long)json_integer_value(json_object_get(r, "aps")),
           (long long)json_integer_value(json_object_get(r, "age_points")),
           (long long)json_integer_value(json_object_get(r, "chronic_points")),
           (long long)json_integer_value(json_object_get(r, "total")));
  } else {
    printf("%s (SIRS criteria met: %lld)", json_is_true(json_object_get(r, "eligible")) ? "eligible" : "not eligible",
           (long long)json_integer_value(json_object_get(r, "sirs_count")));
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r, "failed"), i, f)
        printf("%s%s", i ? ", " : "; failed: ", json_string_value(f));
    printf("\n");
  }
}

/* --json-in or --data for a scorer. */
static int run_records(const cli_args *a, scorer fn) {
  const char *jin = cli_str(a, "json-in"), *data = cli_str(a, "data");
  if (!!jin == !!data) return cli_usage_error(a, "give --json-in '{...}' or --data FILE.csv");
  bool json = cli_has(a, "json");
  lp_error err;
  if (jin) {
    json_error_t je;
    json_t *obj = json_loads(jin, JSON_REJECT_DUPLICATES, &je);
    if (!obj) {
      lp_error_set(&err, LP_EPARSE, "--json-in: %s (at character %d)", je.text, je.position);
      return cli_fail(a, &err);
    }
    json_t *r = fn(obj, a, &err);
    json_decref(obj);
    if (!r) return cli_fail(a, &err);
    if (json) return cli_print_json(r);
    print_text(a->cmd->path, r, 0);
    json_decref(r);
    return CLI_OK;
  }
  lp_table *t;
  if (lp_table_read_csv(data, &t, &err)) return cli_fail(a, &err);
  json_t *all = json_array();
  int bad = 0;
  for (size_t i = 0; i < lp_table_nrows(t); i++) {
    long line = lp_table_line(t, i);
    json_t *obj = row_object(t, i);
    json_t *r = obj ? fn(obj, a, &err) : NULL;
    if (!obj) lp_error_set(&err, LP_EPARSE, "the row cannot be read as text");
    json_decref(obj);
    if (!r) {
      bad++;
      char msg[1200];
      snprintf(msg, sizeof msg, "%s:%ld: %s%s%s", data, line, err.field[0] ? "column '" : "", err.field,
               err.field[0] ? "': " : "");
      /* the library message already names the field: keep the text after it */
      const char *text = err.message;
      const char *colon = err.field[0] ? strstr(err.message, "': ") : NULL;
      if (colon) text = colon + 3;
      fprintf(stderr, "leopards %s: %s%s\n", a->cmd->path, msg, text);
      r = json_pack("{s:I, s:{s:s, s:s, s:s}}", "line", (json_int_t)line, "error", "status", lp_status_name(err.status),
                    "field", err.field, "message", text);
      json_array_append_new(all, r);
      if (!json)
        printf("line %ld: error: %s%s%s%s\n", line, err.field[0] ? "column '" : "", err.field,
               err.field[0] ? "': " : "", text);
      continue;
    }
    json_t *o = json_pack("{s:I}", "line", (json_int_t)line);
    json_object_update(o, r);
    json_decref(r);
    if (!json) print_text(a->cmd->path, o, line);
    json_array_append_new(all, o);
  }
  lp_table_free(t);
  if (json) cli_print_json(all);
  else
    json_decref(all);
  return bad ? CLI_EDATA : CLI_OK;
}

static int run_sofa(const cli_args *a) {
  long systems = 5;
  int rc = cli_long(a, "systems", 5, 6, &systems);
  return rc ? rc : run_records(a, score_sofa);
}
static int run_apache(const cli_args *a) { return run_records(a, score_apache); }
static int run_elig(const cli_args *a) { return run_records(a, check_eligibility); }

static int run_kdigo(const cli_args *a) {
  double cr = NAN, base = NAN, rise = NAN;
  int rc;
  if ((rc = cli_double(a, "creatinine", &cr)) || (rc = cli_double(a, "baseline", &base)) ||
      (rc = cli_double(a, "rise48", &rise)))
    return rc;
  bool rrt = cli_has(a, "rrt");
  static const char *const sexes[] = {"male", "female", NULL};
  int sex = -1;
  double age = NAN;
  if ((rc = cli_choice(a, "sex", sexes, &sex)) || (rc = cli_double(a, "age", &age))) return rc;
  bool estimate = cli_has(a, "age") || cli_has(a, "sex") || cli_has(a, "black");
  if (estimate && cli_has(a, "baseline"))
    return cli_usage_error(a, "give either --baseline or --age and --sex (an estimated baseline), not both");
  if (estimate && (isnan(age) || sex < 0))
    return cli_usage_error(a, "an estimated baseline needs both --age and --sex");
  if (!rrt && (!cli_has(a, "creatinine") || !(cli_has(a, "baseline") || estimate)))
    return cli_usage_error(a, "give --creatinine and --baseline (mg/dL) or --age and --sex, or --rrt");
  if (cli_has(a, "umol")) {
    cr = lp_si_to_conventional(cr, LP_CREATININE_UMOL);
    base = lp_si_to_conventional(base, LP_CREATININE_UMOL);
    rise = lp_si_to_conventional(rise, LP_CREATININE_UMOL);
  }
  int stage;
  lp_error err;
  if (estimate && lp_kdigo_estimated_baseline(age, sex == 1, cli_has(a, "black"), &base, &err))
    return cli_fail(a, &err);
  if (rrt && (isnan(cr) || isnan(base))) cr = base = 1; /* RRT alone decides stage 3 */
  if (lp_kdigo_stage(cr, base, rise, rrt, &stage, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:i, s:o, s:o, s:b, s:b, s:b}", "stage", stage, "ratio",
                                    rrt ? json_null() : cli_num(cr / base), "baseline",
                                    rrt ? json_null() : cli_num(base), "baseline_estimated", estimate && !rrt, "rrt",
                                    rrt, "renal_failure", stage == 3));
  printf("KDIGO stage %d", stage);
  if (rrt) printf(" (renal-replacement therapy)\n");
  else if (estimate)
    printf(" (creatinine %.2f x the estimated baseline of %.2f mg/dL)\n", cr / base, base);
  else if (stage == 0 && isnan(rise) && cr - base >= 0.3 - 1e-9)
    printf(
        " (creatinine %.2f x baseline; its rise of %.2f mg/dL is stage 1 if it came within 48 hours:"
        " give --rise48)\n",
        cr / base, cr - base);
  else
    printf(" (creatinine %.2f x baseline)\n", cr / base);
  return CLI_OK;
}

static int run_rate(const cli_args *a) {
  double dose = NAN, weight = NAN, conc = 25;
  int rc;
  if ((rc = cli_double(a, "dose", &dose)) || (rc = cli_double(a, "weight", &weight)) ||
      (rc = cli_double(a, "concentration", &conc)))
    return rc;
  if (!cli_has(a, "dose") || !cli_has(a, "weight")) return cli_usage_error(a, "give --dose and --weight");
  double r;
  lp_error err;
  if (lp_infusion_rate(dose, weight, conc, &r, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(
        json_pack("{s:f, s:f, s:f, s:f}", "dose", dose, "weight", weight, "concentration", conc, "ml_per_hour", r));
  printf("%.2f mL/h (%.3g ug/kg/min for %g kg at %g ug/mL)\n", r, dose, weight, conc);
  return CLI_OK;
}

static int run_next(const cli_args *a) {
  lp_infusion_observation o = {NAN, -1, NAN, NAN, NAN};
  double dose = NAN;
  int rc;
  if ((rc = cli_double(a, "dose", &dose)) || (rc = cli_double(a, "hours", &o.hours)) ||
      (rc = cli_double(a, "heart-rate", &o.heart_rate)) ||
      (rc = cli_double(a, "baseline-heart-rate", &o.baseline_heart_rate)) || (rc = cli_double(a, "map", &o.map)))
    return rc;
  static const char *const states[] = {"start", "full", "reduced", "low", "stopped", "completed", NULL};
  int s = -1;
  if ((rc = cli_choice(a, "state", states, &s))) return rc;
  if (s < 0) {
    if (!cli_has(a, "dose")) return cli_usage_error(a, "give --dose (or --state)");
    s = dose == 0.2 ? LP_INF_FULL : dose == 0.1 ? LP_INF_START : dose == 0.05 ? LP_INF_LOW : -1;
    if (s < 0) return cli_usage_error(a, "--dose must be 0.2, 0.1 or 0.05 (or give --state)");
  }
  if (!cli_has(a, "hours")) return cli_usage_error(a, "give --hours (time since the infusion started)");
  /* Hypotension decides alone (the dose comes down whatever the heart rate); without
   * it the heart rate is needed: an unknown one is never taken as normal. */
  bool hypotensive = cli_has(a, "hypotension") || (cli_has(a, "map") && o.map < LP_HYPOTENSION_MAP);
  if (!hypotensive && !cli_has(a, "heart-rate"))
    return cli_usage_error(a,
                           "give --heart-rate (needed unless there is hypotension: --hypotension or --map below 65)");
  if (cli_has(a, "hypotension")) o.hypotension = 1;
  else if (!cli_has(a, "map"))
    o.hypotension = 0;
  lp_infusion_step st;
  lp_error err;
  if (lp_infusion_next((lp_infusion_state)s, &o, &st, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:f, s:s, s:b, s:b}", "from", states[s], "state",
                                    lp_infusion_state_name(st.state), "dose", st.dose, "reason", st.text, "hypotension",
                                    st.hypotension, "severe_tachycardia", st.severe_tachycardia));
  printf("%s: %.2f ug/kg/min (%s)\n", lp_infusion_state_name(st.state), st.dose, st.text);
  return CLI_OK;
}

static const cli_opt sofa_opts[] = {{"systems", "5|6", "five systems (the trial's daily score, default) or six"},
                                    {"json-in", "JSON", "one day's values as a JSON object"},
                                    {"data", "FILE.csv", "one patient-day per row"},
                                    {"json", NULL, "print JSON"},
                                    {0}};
static const cli_opt rec_opts[] = {{"json-in", "JSON", "one record as a JSON object"},
                                   {"data", "FILE.csv", "one record per row"},
                                   {"json", NULL, "print JSON"},
                                   {0}};
static const cli_opt kdigo_opts[] = {
    {"creatinine", "X", "creatinine, mg/dL"},
    {"baseline", "X", "baseline creatinine, mg/dL"},
    {"age", "YEARS", "with --sex: no measured baseline, use KDIGO's estimate (eGFR 75)"},
    {"sex", "male|female", "sex, for the estimated baseline"},
    {"black", NULL, "black race, for the estimated baseline"},
    {"rise48", "X", "rise within 48 hours, mg/dL (stage 1 at >= 0.3)"},
    {"umol", NULL, "the creatinine values are in umol/L"},
    {"rrt", NULL, "on renal-replacement therapy (stage 3)"},
    {"json", NULL, "print JSON"},
    {0}};
static const cli_opt rate_opts[] = {{"dose", "D", "ug/kg/min (0.05, 0.1 or 0.2)"},
                                    {"weight", "KG", "body weight, kg"},
                                    {"concentration", "UG_ML", "ug/mL (default 25: 12.5 mg in 500 mL)"},
                                    {"json", NULL, "print JSON"},
                                    {0}};
static const cli_opt next_opts[] = {
    {"dose", "D", "current dose, ug/kg/min (0.2, 0.1 or 0.05)"},
    {"state", "S", "current state instead: start, full, reduced, low, stopped, completed"},
    {"hours", "H", "hours since the start of the infusion"},
    {"heart-rate", "N", "heart rate now, /min"},
    {"baseline-heart-rate", "N", "heart rate before the infusion, /min"},
    {"hypotension", NULL, "hypotension now"},
    {"map", "MMHG", "or the MAP (hypotension below 65 mmHg)"},
    {"json", NULL, "print JSON"},
    {0}};

static const char sofa_usage[] =
    "fields (JSON keys or CSV columns): pao2, fio2 (fraction), ventilated, platelets, bilirubin or bilirubin_umol,\n"
    "map, dopamine, dobutamine, epinephrine, norepinephrine (ug/kg/min), vasopressin (not scored), gcs,\n"
    "creatinine or creatinine_umol, urine_ml\n\nexample:\n  leopards score sofa --json-in "
    "'{\"pao2\":80,\"fio2\":0.5,\"ventilated\":true,\"platelets\":90,\"bilirubin\":1.5,\"map\":65,"
    "\"norepinephrine\":0.15,\"creatinine\":2.4}'";
static const char apache_usage[] =
    "fields: temperature, map, heart_rate, resp_rate, fio2, pao2, paco2, aado2, ph, hco3, sodium, potassium,\n"
    "creatinine or creatinine_umol, acute_renal_failure, hematocrit, wbc, gcs, age, chronic_health,\n"
    "admission (nonoperative, emergency_postoperative, elective_postoperative)";
static const char elig_usage[] =
    "fields: age, infection, temperature, heart_rate, resp_rate, paco2_kpa, ventilated, wbc, vasopressor_hours,\n"
    "hours_since_criteria, weight, esrf_dialysis, torsades_history, child_pugh_c, ventricular_obstruction,\n"
    "treatment_limitation, pregnant, levosimendan_30d, levosimendan_hypersensitivity, other_trial";

const cli_cmd cli_clinical_cmds[] = {
    {"score sofa", "SOFA score of one day (five or six systems), from a JSON object or a CSV of patient-days",
     sofa_opts, sofa_usage, run_sofa},
    {"score apache2", "APACHE II with the points of each variable", rec_opts, apache_usage, run_apache},
    {"score kdigo", "KDIGO acute kidney injury stage from creatinine and baseline", kdigo_opts,
     "examples:\n  leopards score kdigo --creatinine 3.1 --baseline 1.0\n"
     "  leopards score kdigo --creatinine 2.2 --age 60 --sex female   (no measured baseline: KDIGO's estimate)",
     run_kdigo},
    {"eligibility", "check the trial's inclusion and exclusion criteria; lists every criterion failed", rec_opts,
     elig_usage, run_elig},
    {"infusion rate", "pump rate (mL/h) from dose, weight and concentration", rate_opts,
     "example:\n  leopards infusion rate --dose 0.1 --weight 80", run_rate},
    {"infusion next", "the infusion protocol's next step from the current dose and an observation", next_opts,
     "example:\n  leopards infusion next --dose 0.2 --hours 3.5 --heart-rate 135 --baseline-heart-rate 100", run_next},
};
const size_t cli_clinical_ncmds = sizeof cli_clinical_cmds / sizeof cli_clinical_cmds[0];
