/* Outcome derivation: read the export of a locked trial (CSV per table, with the
 * allocations), compute each patient's analysis values as docs/outcomes.md defines
 * them (the columns are the table of definitions in derive_columns.c), and write the
 * analysis data set as CSV text with its dictionary; also the CONSORT flow and the
 * daily SOFA course. Patients who withdrew consent are excluded from everything. */
#include <leopards/clinical.h>
#include <leopards/derive.h>
#include <leopards/fields.h>
#include <leopards/plan.h>
#include <leopards/stats.h>
#include <leopards/strbuf.h>
#include <leopards/table.h>

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analysis/derive_internal.h"

typedef lp__tab tab;
typedef lp__patient patient;

void lp_derive_options_default(lp_derive_options *o) {
  o->horizon = 28;
  o->level = 0.95;
  o->rule = LP_MISSING_LOCF;
  o->imputations = 20;
  o->seed = 20160927;
  o->threads = 0;
  o->plan = NULL;
  o->kidney_reference = LP_KIDNEY_REF_ESTIMATED;
}

void lp_derived_clear(lp_derived *d) {
  if (!d) return;
  free(d->csv);
  free(d->tte_csv);
  free(d->dictionary_csv);
  memset(d, 0, sizeof *d);
}

/* ---- reading the export ---- */

/* The column name of export field ID. */
#define F(id) lp_field_column(LP_F_##id)

/* The export table that holds field `id`. */
static lp_status load(const char *dir, lp_field_id id, tab *t, lp_error *err) {
  const char *name = lp_field_get(id)->table;
  int n = snprintf(t->path, sizeof t->path, "%s/%s.csv", dir, name);
  if (n < 0 || (size_t)n >= sizeof t->path)
    return lp_error_set(err, LP_ERANGE, "the export folder's name is too long (%zu bytes at most)",
                        sizeof t->path - 16);
  lp_status st = lp_table_read_csv(t->path, &t->t, err);
  if (st == LP_EIO) lp_error_prefix(err, "the export lacks %s.csv (export the locked trial with its key)", name);
  return st;
}

static lp_status col(const tab *t, const char *name, size_t *c, lp_error *err) {
  return lp_table_column(t->t, name, c, err);
}

static double num(const tab *t, size_t row, size_t c) {
  const char *s = lp_table_cell(t->t, row, c);
  double v;
  return s && lp_parse_number(s, &v) ? v : NAN;
}

static const char *str(const tab *t, size_t row, size_t c) {
  const char *s = lp_table_cell(t->t, row, c);
  return s ? s : "";
}

/* "YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z]" -> days since 1970-01-01 (UTC); NAN if absent,
 * an error if malformed. */
static lp_status parse_time(const tab *t, size_t row, size_t c, double *days, lp_error *err) {
  const char *s = lp_table_cell(t->t, row, c);
  *days = lp_parse_iso_days(s);
  if (s && isnan(*days))
    return lp_error_set_column(err, (lp_error_at(err, LP_EPARSE, t->path, lp_table_line(t->t, row),
                                                 lp_table_colname(t->t, c), "'%s' is not a date or date-time", s),
                                     (long)c + 1));
  return LP_OK;
}

static int cmp_code(const void *a, const void *b) {
  return strcmp(((const patient *)a)->code, ((const patient *)b)->code);
}

static patient *find(patient *p, size_t n, const char *code) {
  patient key = {.code = code};
  return bsearch(&key, p, n, sizeof *p, cmp_code);
}

static lp_status not_randomised(const tab *t, size_t row, size_t c, lp_error *err) {
  lp_error_at(err, LP_EDATA, t->path, lp_table_line(t->t, row), lp_table_colname(t->t, c), "'%s' is not randomised",
              str(t, row, c));
  return lp_error_set_column(err, (long)c + 1);
}

/* The export's tables. */
typedef struct {
  tab alloc, rnd, base, daily, outc, ae, scr;
  tab cons, meta; /* absent (t NULL) in an export from before consent was tracked */
} export_tabs;

static void tabs_free(export_tabs *e) {
  lp_table_free(e->alloc.t);
  lp_table_free(e->rnd.t);
  lp_table_free(e->base.t);
  lp_table_free(e->daily.t);
  lp_table_free(e->outc.t);
  lp_table_free(e->ae.t);
  lp_table_free(e->scr.t);
  lp_table_free(e->cons.t);
  lp_table_free(e->meta.t);
}

static lp_status tabs_load(const char *dir, export_tabs *e, lp_error *err) {
  lp_status st;
  if ((st = load(dir, LP_F_ALLOC_PATIENT, &e->alloc, err)) || (st = load(dir, LP_F_RAND_PATIENT, &e->rnd, err)) ||
      (st = load(dir, LP_F_BASE_PATIENT, &e->base, err)) || (st = load(dir, LP_F_DAY_PATIENT, &e->daily, err)) ||
      (st = load(dir, LP_F_OUT_PATIENT, &e->outc, err)) || (st = load(dir, LP_F_AE_PATIENT, &e->ae, err)) ||
      (st = load(dir, LP_F_SCR_PATIENT, &e->scr, err)))
    return st;
  /* the consent records and the settings, when the export has them */
  char path[sizeof e->cons.path];
  snprintf(path, sizeof path, "%s/%s.csv", dir, lp_field_get(LP_F_CONS_PATIENT)->table);
  if (access(path, F_OK) == 0 && (st = load(dir, LP_F_CONS_PATIENT, &e->cons, err))) return st;
  snprintf(path, sizeof path, "%s/%s.csv", dir, lp_field_get(LP_F_META_KEY)->table);
  if (access(path, F_OK) == 0 && (st = load(dir, LP_F_META_KEY, &e->meta, err))) return st;
  return LP_OK;
}

/* The patients of the allocation list, sorted by code, with their randomisation times
 * and baseline rows. */
static lp_status read_patients(export_tabs *e, const lp_derive_options *o, patient **out, size_t *np, lp_derived *dv,
                               lp_error *err) {
  size_t n = lp_table_nrows(e->alloc.t);
  if (n == 0) return lp_error_at(err, LP_EDATA, e->alloc.path, 0, NULL, "no randomised patient");
  patient *P = calloc(n, sizeof *P);
  if (!P) return lp_error_set(err, LP_ENOMEM, "out of memory");
  *out = P;
  *np = n;
  size_t c_pat, c_site, c_lab, c_arm, c;
  lp_status st;
  if ((st = col(&e->alloc, F(ALLOC_PATIENT), &c_pat, err)) || (st = col(&e->alloc, F(ALLOC_SITE), &c_site, err)) ||
      (st = col(&e->alloc, F(ALLOC_ARM), &c_arm, err)) || (st = col(&e->alloc, F(ALLOC_ARM_LABEL), &c_lab, err)))
    return st;
  char first[64], second[64];
  lp_field_level(LP_F_ALLOC_ARM, 0, first, sizeof first);
  lp_field_level(LP_F_ALLOC_ARM, 1, second, sizeof second);
  for (size_t i = 0; i < n; i++) {
    P[i].code = str(&e->alloc, i, c_pat);
    P[i].site = str(&e->alloc, i, c_site);
    /* The store's arm A (the protocol's first arm, levosimendan) is arm 0. */
    const char *code = str(&e->alloc, i, c_arm), *lab = str(&e->alloc, i, c_lab);
    int a = !strcmp(code, first) ? 0 : !strcmp(code, second) ? 1 : -1;
    if (a < 0)
      return lp_error_at(err, LP_EDATA, e->alloc.path, lp_table_line(e->alloc.t, i), F(ALLOC_ARM),
                         "'%s' is neither %s nor %s", code, first, second);
    if (!dv->arms[a][0]) snprintf(dv->arms[a], sizeof dv->arms[a], "%s", lab);
    P[i].arm = a;
    P[i].base_row = -1;
    P[i].icu_end = P[i].hosp_end = P[i].death = P[i].weaned = P[i].rand_day = NAN;
    for (int d = 0; d < o->horizon; d++) P[i].creat[d] = NAN;
  }
  qsort(P, n, sizeof *P, cmp_code);
  if ((st = col(&e->rnd, F(RAND_PATIENT), &c_pat, err)) || (st = col(&e->rnd, F(RAND_AT), &c, err))) return st;
  for (size_t i = 0; i < lp_table_nrows(e->rnd.t); i++) {
    patient *p = find(P, n, str(&e->rnd, i, c_pat));
    if (p && (st = parse_time(&e->rnd, i, c, &p->rand_day, err))) return st;
  }
  if ((st = col(&e->base, F(BASE_PATIENT), &c_pat, err))) return st;
  for (size_t i = 0; i < lp_table_nrows(e->base.t); i++) {
    patient *p = find(P, n, str(&e->base, i, c_pat));
    if (p) p->base_row = (long)i;
  }
  return LP_OK;
}

/* Why the drug was not started (a level of the choice, -1 when not recorded) and the
 * open-label active drug, from the columns of schema version 11 (an export without
 * them: not recorded). */
static lp_status read_not_received(const tab *outc, size_t row, patient *p, lp_error *err) {
  size_t c;
  lp_error e2 = {0};
  p->not_received_reason = -1;
  if (!lp_table_column(outc->t, F(OUT_OPEN_LABEL), &c, &e2)) p->open_label = num(outc, row, c) == 1;
  if (lp_table_column(outc->t, F(OUT_NOT_RECEIVED_REASON), &c, &e2) || !lp_table_cell(outc->t, row, c)) return LP_OK;
  const char *why = str(outc, row, c);
  char level[64];
  for (size_t k = 0; lp_field_level(LP_F_OUT_NOT_RECEIVED_REASON, k, level, sizeof level); k++)
    if (!strcmp(level, why)) return (p->not_received_reason = (int)k), LP_OK;
  lp_error_at(err, LP_EDATA, outc->path, lp_table_line(outc->t, row), lp_table_colname(outc->t, c),
              "'%s' is not a reason for not receiving the drug (%s)", why,
              lp_field_get(LP_F_OUT_NOT_RECEIVED_REASON)->levels);
  return lp_error_set_column(err, (long)c + 1);
}

/* Outcomes: drug received (and why not), consent withdrawn, discharge, death and
 * weaning times. */
static lp_status read_outcomes(const tab *outc, patient *P, size_t n, lp_error *err) {
  size_t c_pat, c_rec, c_icu, c_hosp, c_died, c_dd, c_wean, c_wd;
  lp_status st;
  if ((st = col(outc, F(OUT_PATIENT), &c_pat, err)) || (st = col(outc, F(OUT_RECEIVED), &c_rec, err)) ||
      (st = col(outc, F(OUT_ICU_DISCHARGE), &c_icu, err)) ||
      (st = col(outc, F(OUT_HOSPITAL_DISCHARGE), &c_hosp, err)) || (st = col(outc, F(OUT_DIED), &c_died, err)) ||
      (st = col(outc, F(OUT_DEATH_DATE), &c_dd, err)) || (st = col(outc, F(OUT_WEANED_DATE), &c_wean, err)) ||
      (st = col(outc, F(OUT_WITHDRAWN), &c_wd, err)))
    return st;
  for (size_t i = 0; i < n; i++) P[i].received = true, P[i].not_received_reason = -1;
  for (size_t i = 0; i < lp_table_nrows(outc->t); i++) {
    patient *p = find(P, n, str(outc, i, c_pat));
    if (!p) return not_randomised(outc, i, c_pat, err);
    double t;
    p->received = num(outc, i, c_rec) != 0;
    p->withdrawn = num(outc, i, c_wd) == 1;
    p->died = num(outc, i, c_died) == 1;
    if ((st = read_not_received(outc, i, p, err))) return st;
    if ((st = parse_time(outc, i, c_icu, &t, err))) return st;
    p->icu_end = t - p->rand_day;
    if ((st = parse_time(outc, i, c_hosp, &t, err))) return st;
    p->hosp_end = t - p->rand_day;
    if ((st = parse_time(outc, i, c_dd, &t, err))) return st;
    p->death = t - p->rand_day;
    if ((st = parse_time(outc, i, c_wean, &t, err))) return st;
    p->weaned = t - p->rand_day;
  }
  return LP_OK;
}

/* The consent records (docs/trial.md "Consent"): a refused retrospective consent
 * withdraws the patient under the trial's rule (the setting retrospective_refusal,
 * "withdraw" unless it says "keep"), as the outcome record's consent_withdrawn does;
 * the patient's data are kept and excluded from the analyses. Nothing to do for an
 * export without consents.csv. */
static lp_status read_consents(const export_tabs *e, patient *P, size_t n, lp_error *err) {
  if (!e->cons.t) return LP_OK;
  bool withdraws = true;
  size_t c_key, c_val, c_pat, c_kind, c_dec;
  lp_status st;
  if (e->meta.t) {
    if ((st = col(&e->meta, F(META_KEY), &c_key, err)) || (st = col(&e->meta, F(META_VALUE), &c_val, err))) return st;
    for (size_t i = 0; i < lp_table_nrows(e->meta.t); i++)
      if (!strcmp(str(&e->meta, i, c_key), "retrospective_refusal"))
        withdraws = strcmp(str(&e->meta, i, c_val), "keep") != 0;
  }
  if ((st = col(&e->cons, F(CONS_PATIENT), &c_pat, err)) || (st = col(&e->cons, F(CONS_KIND), &c_kind, err)) ||
      (st = col(&e->cons, F(CONS_DECISION), &c_dec, err)))
    return st;
  for (size_t i = 0; i < lp_table_nrows(e->cons.t); i++) {
    patient *p = find(P, n, str(&e->cons, i, c_pat)); /* NULL: consented, not randomised */
    if (!p || strcmp(str(&e->cons, i, c_kind), "retrospective") || strcmp(str(&e->cons, i, c_dec), "refused")) continue;
    p->retro_refused = true;
    if (withdraws) p->withdrawn = true;
  }
  return LP_OK;
}

/* Daily records up to the horizon: SOFA inputs scored with the clinical rules (five systems). */
static lp_status read_daily(const tab *daily, patient *P, size_t n, int horizon, lp_error *err) {
  enum { PAT, DAY, IN_ICU, PAO2, FIO2, RESP, PLT, BILI, MAP, DOPA, DOBU, EPI, NOREPI, VASO, CREAT, URINE, VENT, RRT };
  size_t cd[RRT + 1];
  lp_status st;
  _Static_assert(LP_F_DAY_RRT - LP_F_DAY_PATIENT == RRT, "the daily fields are consecutive, in this order");
  for (int k = 0; k <= RRT; k++)
    if ((st = col(daily, lp_field_column((lp_field_id)(LP_F_DAY_PATIENT + k)), &cd[k], err))) return st;
  for (size_t i = 0; i < lp_table_nrows(daily->t); i++) {
    patient *p = find(P, n, str(daily, i, cd[PAT]));
    if (!p) return not_randomised(daily, i, cd[PAT], err);
    double day = num(daily, i, cd[DAY]);
    if (!(day >= 1 && day <= horizon) || num(daily, i, cd[IN_ICU]) == 0) continue;
    int d = (int)day - 1;
    lp_sofa_input in;
    lp_sofa_input_init(&in);
    in.pao2 = num(daily, i, cd[PAO2]);
    in.fio2 = num(daily, i, cd[FIO2]);
    double rs = num(daily, i, cd[RESP]);
    in.ventilated = isnan(rs) ? -1 : rs != 0;
    in.platelets = num(daily, i, cd[PLT]);
    in.bilirubin = num(daily, i, cd[BILI]);
    in.map = num(daily, i, cd[MAP]);
    in.dopamine = num(daily, i, cd[DOPA]);
    in.dobutamine = num(daily, i, cd[DOBU]);
    in.epinephrine = num(daily, i, cd[EPI]);
    in.norepinephrine = num(daily, i, cd[NOREPI]);
    in.vasopressin = num(daily, i, cd[VASO]);
    in.creatinine = num(daily, i, cd[CREAT]);
    in.urine_ml = num(daily, i, cd[URINE]);
    lp_error inner;
    if ((st = lp_sofa_score(&in, 5, &p->day[d], &inner)))
      return lp_error_at(err, st, daily->path, lp_table_line(daily->t, i), inner.field, "%s", inner.message);
    p->have_day[d] = true;
    if (d + 1 > p->ndays) p->ndays = d + 1;
    p->vent[d] = num(daily, i, cd[VENT]) == 1;
    p->rrt[d] = num(daily, i, cd[RRT]) == 1;
    double cat[4] = {in.dopamine, in.dobutamine, in.epinephrine, in.norepinephrine};
    bool known = false, any = false;
    for (int k = 0; k < 4; k++)
      if (!isnan(cat[k])) known = true, any = any || cat[k] > 0;
    p->catechol_known[d] = known;
    p->catechol[d] = any;
    p->creat[d] = in.creatinine;
  }
  return LP_OK;
}

/* Serious adverse events: slot 1-4 for the levels of the category field, 5 for any other. */
static lp_status read_adverse_events(const tab *ae, patient *P, size_t n, lp_error *err) {
  size_t c_pat, c_cat, c_ser;
  lp_status st;
  if ((st = col(ae, F(AE_PATIENT), &c_pat, err)) || (st = col(ae, F(AE_CATEGORY), &c_cat, err)) ||
      (st = col(ae, F(AE_SERIOUS), &c_ser, err)))
    return st;
  for (size_t i = 0; i < lp_table_nrows(ae->t); i++) {
    patient *p = find(P, n, str(ae, i, c_pat));
    if (!p || num(ae, i, c_ser) != 1) continue;
    const char *cat = str(ae, i, c_cat);
    p->ae[0] = 1;
    char level[64];
    int slot = 5;
    for (int k = 0; slot == 5 && k < 4 && lp_field_level(LP_F_AE_CATEGORY, (size_t)k, level, sizeof level); k++)
      if (!strcmp(cat, level)) slot = k + 1;
    p->ae[slot] = 1;
  }
  return LP_OK;
}

/* The q-quantile of baseline field `id` among the analysed patients (NAN: none measured). */
static lp_status baseline_quantile(const tab *base, const patient *P, size_t n, int id, double q, double *out,
                                   lp_error *err) {
  double *v = malloc((n ? n : 1) * sizeof *v);
  if (!v) return lp_error_set(err, LP_ENOMEM, "out of memory");
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    double x = lp__bval(base, &P[i], id);
    if (!P[i].withdrawn && isfinite(x)) v[m++] = x;
  }
  lp_sort_doubles(v, m);
  *out = m ? lp_quantile_sorted(v, m, q) : NAN;
  free(v);
  return LP_OK;
}

/* ---- the analysis data set and the time-to-event file ---- */

static void tte_line(lp_strbuf *tb, const lp__row *r, const char *outcome, double time, int event) {
  const lp__patient *p = r->p;
  lp_strbuf_printf(tb, "%s,%s,%s,%s,%.10g,%d", p->code, p->site, r->x->arms[p->arm], outcome, fmax(time, 0), event);
  double age = lp__bval(r->x->base, p, LP_F_BASE_AGE), apache = lp__bval(r->x->base, p, LP_F_BASE_APACHE2);
  if (isfinite(age)) lp_strbuf_printf(tb, ",%.10g", age);
  else
    lp_strbuf_puts(tb, ",");
  if (isfinite(apache)) lp_strbuf_printf(tb, ",%.10g\n", apache);
  else
    lp_strbuf_puts(tb, ",\n");
}

static lp_status write_data_set(const lp__derive_ctx *x0, const patient *P, size_t n, lp_derived *out, lp_error *err) {
  lp_strbuf ob = {0}, tb = {0};
  lp__derive_ctx ctx = *x0, *x = &ctx;
  double *mi_icu, *mi_horizon;
  lp_status st = lp__derive_impute(x, P, n, &mi_icu, &mi_horizon, err);
  if (st) return st;
  ctx.mi_icu = mi_icu;
  ctx.mi_horizon = mi_horizon;
  lp__row *r = malloc(sizeof *r);
  if (!r) {
    free(mi_icu), free(mi_horizon);
    return lp_error_set(err, LP_ENOMEM, "out of memory");
  }
  lp__write_header(&ob, x->o->imputations);
  lp_strbuf_puts(&tb, "patient,site,arm,outcome,time,event,age,apache2\n");
  for (size_t i = 0; i < n; i++) {
    const patient *p = &P[i];
    if (p->withdrawn) {
      out->withdrawn++;
      continue;
    }
    out->patients++;
    lp__row_compute(x, p, i, r);
    if (r->have_mean) {
      out->filled += r->sm.filled;
      out->component_days += (size_t)r->nd * 5;
    }
    lp__write_row(&ob, r);
    tte_line(&tb, r, "death28", r->t28, r->d28);
    if (r->ventilated) tte_line(&tb, r, "weaning", r->tw, r->wean);
  }
  free(r), free(mi_icu), free(mi_horizon);
  if (ob.nomem || tb.nomem) {
    free(ob.p);
    free(tb.p);
    return lp_error_set(err, LP_ENOMEM, "out of memory writing the analysis data set");
  }
  out->csv = ob.p;
  out->csv_len = ob.len;
  out->tte_csv = tb.p;
  out->tte_len = tb.len;
  return lp_derive_dictionary(x->o->imputations, 0, &out->dictionary_csv, &out->dictionary_len, err);
}

/* ---- daily course: LOCF-filled totals among patients in the ICU that day ---- */

static void daily_course(const patient *P, size_t n, const lp_derive_options *o, lp_daily_course *c) {
  double z = gsl_cdf_ugaussian_Pinv(1 - (1 - o->level) / 2);
  c->days = o->horizon;
  for (int a = 0; a < 2; a++)
    for (int d = 0; d < o->horizon; d++) {
      double s = 0, ss = 0;
      long k = 0;
      for (size_t i = 0; i < n; i++) {
        const patient *p = &P[i];
        if (p->withdrawn || p->arm != a || d >= p->ndays || !p->have_day[d]) continue;
        int tot = 0;
        for (int cc = 0; cc < LP_SOFA_NCOMP; cc++) {
          if (cc == LP_SOFA_CNS) continue;
          int v = -1;
          for (int e = d; e >= 0 && v < 0; e--) v = p->have_day[e] ? p->day[e].component[cc] : -1;
          tot += v < 0 ? 0 : v;
        }
        s += tot;
        ss += (double)tot * tot;
        k++;
      }
      c->n[a][d] = k;
      double mean = k ? s / (double)k : NAN, sd = k > 1 ? sqrt(fmax(0, (ss - k * mean * mean) / (double)(k - 1))) : NAN;
      c->mean[a][d] = mean;
      c->lo[a][d] = mean - z * sd / sqrt((double)k);
      c->hi[a][d] = mean + z * sd / sqrt((double)k);
    }
}

/* ---- CONSORT flow from the screening log and the dispositions ---- */

static void flow_item(lp_flow_item *it, const char *text, long count) {
  snprintf(it->text, sizeof it->text, "%s", text);
  it->count = count;
}

static const struct {
  const char *id, *text;
} criteria[] = {{"age", "Were <18 yr of age"},
                {"infection", "Did not have an infection"},
                {"sirs", "Did not meet SIRS criteria"},
                {"vasopressor_hours", "Did not meet vasopressor criteria"},
                {"hours_since_criteria", "Were outside 24-hr window since meeting inclusion criteria"},
                {"esrf_dialysis", "Had end-stage renal failure"},
                {"torsades_history", "Had a history of torsades de pointes"},
                {"child_pugh_c", "Had severe hepatic impairment"},
                {"ventricular_obstruction", "Had obstructions affecting ventricular flow"},
                {"treatment_limitation", "Had a decision regarding treatment limitation"},
                {"weight_kg", "Weighed >135 kg"},
                {"pregnant", "Were pregnant"},
                {"levosimendan_30d", "Had received levosimendan within 30 days"},
                {"levosimendan_hypersensitivity", "Had hypersensitivity to levosimendan"},
                {"other_trial", "Were enrolled in another trial"}};
#define NCRIT (sizeof criteria / sizeof criteria[0])

static lp_status screening_flow(const tab *scr, patient *P, size_t n, lp_flow *f, lp_error *err) {
  size_t c_el, c_fail, c_reason, c_sp;
  lp_status st;
  if ((st = col(scr, F(SCR_ELIGIBLE), &c_el, err)) || (st = col(scr, F(SCR_FAILED), &c_fail, err)) ||
      (st = col(scr, F(SCR_REASON), &c_reason, err)) || (st = col(scr, F(SCR_PATIENT), &c_sp, err)))
    return st;
  long counts[NCRIT] = {0}, shock = 0, missing_info = 0, reasons_ne[4] = {0};
  static const char *const ne_text[3] = {"physician", "consent", "staff"};
  size_t ns = lp_table_nrows(scr->t);
  f->assessed = (long)ns;
  for (size_t i = 0; i < ns; i++) {
    if (lp_table_cell(scr->t, i, c_sp) && find(P, n, str(scr, i, c_sp))) continue; /* enrolled */
    f->excluded++;
    if (num(scr, i, c_el) == 1) {
      const char *why = str(scr, i, c_reason);
      int k = 3;
      for (int j = 0; j < 3; j++)
        if (strstr(why, ne_text[j])) k = j;
      reasons_ne[k]++;
      continue;
    }
    /* The failed criteria are a comma-separated list of ids: match whole items.
     * Records screened before the criteria were named by their fields carry the
     * earlier ids (esrf, hepatic, ...): read them as today's. */
    char failed[512];
    lp_eligibility_codes_current(str(scr, i, c_fail), failed, sizeof failed);
    bool is_shock = false;
    for (size_t k = 0; k < NCRIT; k++) {
      size_t len = strlen(criteria[k].id);
      for (const char *s = failed; (s = strstr(s, criteria[k].id)); s += len)
        if ((s == failed || s[-1] == ',') && (s[len] == ',' || s[len] == '\0')) {
          counts[k]++;
          if (k >= 1 && k <= 3) is_shock = true;
          break;
        }
    }
    if (strstr(failed, ":missing")) missing_info++;
    shock += is_shock;
  }
  /* Septic shock's own criteria (infection, SIRS, vasopressors) indented under it,
   * as in the paper's Figure 1 (a leading space is one indent level). */
  flow_item(&f->reasons[f->nreasons++], "Were not in septic shock", shock);
  for (size_t k = 1; k <= 3; k++) {
    char text[112];
    snprintf(text, sizeof text, " %s", criteria[k].text);
    if (counts[k]) flow_item(&f->reasons[f->nreasons++], text, counts[k]);
  }
  for (size_t k = 0; k < NCRIT; k++)
    if (counts[k] && (k < 1 || k > 3)) flow_item(&f->reasons[f->nreasons++], criteria[k].text, counts[k]);
  if (missing_info) flow_item(&f->reasons[f->nreasons++], "Had incomplete eligibility information", missing_info);
  static const char *const ne_label[4] = {"Were not enrolled, per physician's decision",
                                          "Did not give consent or have consent obtained",
                                          "Had problems with staff availability", "Had other reasons"};
  for (int k = 0; k < 4; k++)
    if (reasons_ne[k]) flow_item(&f->reasons[f->nreasons++], ne_label[k], reasons_ne[k]);
  return LP_OK;
}

/* The "did not receive" items of Figure 1, in the order of the outcome form's codes
 * (the paper's wording), then the patients whose reason was not recorded: a withdrawal
 * of consent is on the form even then, and a refused retrospective consent in the
 * consent records; any other reason is not inferred. */
static const char *const not_received_text[] = {
    "Withdrew consent",
    "Refused retrospective consent",
    "Died",
    "Had a clinical decision to withhold drug owing to improvement in condition",
    "Had a clinical decision to withhold drug for another reason",
    "Were enrolled during period in which trial was temporarily halted",
    "Had other reasons",
    "Had no reason recorded"};
enum { NR_WITHDREW, NR_REFUSED, NR_DIED, NR_IMPROVEMENT, NR_CLINICAL, NR_HALTED, NR_OTHER, NR_UNKNOWN, NR_N };
_Static_assert(NR_N == sizeof not_received_text / sizeof not_received_text[0], "one text per reason");
_Static_assert(NR_N <= LP_FLOW_MAX_NOT_RECEIVED, "room for every reason");

static int not_received_item(const patient *p) {
  /* the codes: died|clinical_improvement|clinical_other|trial_halted|consent_withdrawn|other */
  static const int item[] = {NR_DIED, NR_IMPROVEMENT, NR_CLINICAL, NR_HALTED, NR_WITHDREW, NR_OTHER};
  if (p->not_received_reason >= 0 && p->not_received_reason < (int)(sizeof item / sizeof item[0]))
    return item[p->not_received_reason];
  if (p->withdrawn) return p->retro_refused ? NR_REFUSED : NR_WITHDREW;
  return NR_UNKNOWN;
}

static void arm_flow(const patient *P, size_t n, const lp_derived *dv, lp_flow *f) {
  f->randomised = (long)n;
  for (int a = 0; a < 2; a++) {
    snprintf(f->arm[a].name, sizeof f->arm[a].name, "%s", dv->arms[a]);
    long why[NR_N] = {0}, withdrew = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
      const patient *p = &P[i];
      if (p->arm != a) continue;
      f->arm[a].assigned++;
      if (p->withdrawn && p->retro_refused) refused++;
      if (p->received) f->arm[a].received++;
      else
        why[not_received_item(p)]++;
      if (p->received && p->open_label) f->arm[a].open_label++;
      if (!p->withdrawn) f->arm[a].analysed++;
      if (p->withdrawn) f->arm[a].withdrawn++, withdrew++;
      /* Alive, not withdrawn, and no hospital discharge recorded: vital status unknown. */
      else if (!p->died && !isfinite(p->hosp_end))
        f->arm[a].lost++;
      /* as treated: the assigned drug only */
      if (p->received && !p->open_label && !p->withdrawn) f->arm[a].as_treated++;
    }
    for (int k = 0; k < NR_N; k++)
      if (why[k])
        flow_item(&f->arm[a].not_received[f->arm[a].nnot++],
                  k == NR_HALTED && why[k] == 1 ? "Was enrolled during period in which trial was temporarily halted"
                                                : not_received_text[k],
                  why[k]);
    /* the withdrawn box: consent withdrawn, and retrospective consent refused under the
     * trial's rule (read from the consent records) */
    if (withdrew - refused)
      flow_item(&f->arm[a].excluded[f->arm[a].nexcluded++], "Excluded owing to withdrawal of consent",
                withdrew - refused);
    if (refused)
      flow_item(&f->arm[a].excluded[f->arm[a].nexcluded++], "Excluded owing to refusal of retrospective consent",
                refused);
  }
}

/* ---- subgroups: cut-points from the protocol's definitions, labels from the plan ---- */

/* A label written from the cut-points, for a subgroup the plan does not label. */
static void cut_label(const lp__subgroup_def *s, const double *cut, size_t k, char out[64]) {
  if (k == 0) snprintf(out, 64, "%s %.4g", s->below[0] ? "<" : "<=", cut[0]);
  else if (k == s->ncuts)
    snprintf(out, 64, "%s %.4g", s->below[k - 1] ? ">=" : ">", cut[k - 1]);
  else
    snprintf(out, 64, "%.4g to %.4g", cut[k - 1], cut[k]);
}

static lp_status subgroup_levels(lp__derive_ctx *x, const patient *P, size_t n, lp_error *err) {
  for (size_t g = 0; g < LP__NSUBGROUPS; g++) {
    const lp__subgroup_def *s = &lp__subgroups[g];
    lp_status st;
    x->sg_cut[g][0] = s->cut[0], x->sg_cut[g][1] = s->cut[1];
    if (s->quantile > 0 && (st = baseline_quantile(x->base, P, n, s->field, s->quantile, &x->sg_cut[g][0], err)))
      return st;
    const char *levels = x->o->plan ? lp_plan_subgroup_levels(x->o->plan, s->column) : NULL;
    size_t k = 0; /* levels the plan names */
    for (const char *a = levels; a; k++) {
      const char *bar = strchr(a, '|');
      size_t len = bar ? (size_t)(bar - a) : strlen(a);
      if (k <= s->ncuts) {
        if (len == 0 || len >= sizeof x->sg_label[g][k])
          return lp_error_set(err, LP_EINVAL, "the plan's level %zu of subgroup column '%s' is %s", k + 1, s->column,
                              len ? "longer than 63 bytes" : "empty");
        memcpy(x->sg_label[g][k], a, len);
        x->sg_label[g][k][len] = 0;
      }
      a = bar ? bar + 1 : NULL;
    }
    if (levels && k != s->ncuts + 1)
      return lp_error_set(err, LP_EINVAL, "the plan names %zu levels for subgroup column '%s'; its definition has %zu",
                          k, s->column, s->ncuts + 1);
    if (!levels)
      for (size_t j = 0; j <= s->ncuts; j++) cut_label(s, x->sg_cut[g], j, x->sg_label[g][j]);
  }
  return LP_OK;
}

/* ---- the whole derivation ---- */

lp_status lp_derive(const char *dir, const lp_derive_options *o, lp_derived *out, lp_error *err) {
  memset(out, 0, sizeof *out);
  if (o->horizon < 1 || o->horizon > LP_DERIVE_MAX_DAYS)
    return lp_error_set(err, LP_ERANGE, "the horizon must be 1 to %d days, not %d", LP_DERIVE_MAX_DAYS, o->horizon);
  if (!(o->level > 0 && o->level < 1))
    return lp_error_set(err, LP_ERANGE, "the confidence level must be between 0 and 1, not %g", o->level);
  export_tabs e = {0};
  patient *P = NULL;
  size_t n = 0;
  lp_status st;
  lp__derive_ctx x = {o, &e.base, (const char(*)[64])out->arms, {{0}}, {{{0}}}, NULL, NULL};
  if ((st = tabs_load(dir, &e, err)) || (st = read_patients(&e, o, &P, &n, out, err)) ||
      (st = read_outcomes(&e.outc, P, n, err)) || (st = read_consents(&e, P, n, err)) ||
      (st = read_daily(&e.daily, P, n, o->horizon, err)) || (st = read_adverse_events(&e.ae, P, n, err)))
    goto done;
  if ((st = subgroup_levels(&x, P, n, err)) || (st = write_data_set(&x, P, n, out, err))) goto done;
  daily_course(P, n, o, &out->course);
  if ((st = screening_flow(&e.scr, P, n, &out->flow, err))) goto done;
  arm_flow(P, n, out, &out->flow);
done:
  free(P);
  tabs_free(&e);
  if (st) lp_derived_clear(out);
  return st;
}
