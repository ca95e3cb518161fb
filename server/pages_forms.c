/* The case report forms of leopards serve: /patients/P/forms/KIND[/KEY] for the
 * baseline, the infusion log, each ICU day, the outcome and adverse events. Every form
 * is generated from the field definitions (leopards/forms.h): label, unit, help, range
 * as input attributes; it works without script, and /forms.js (a file, as the
 * Content-Security-Policy forbids inline script) scores the SOFA live. A submission
 * runs the library's edit checks (the same as leopards record): every hard error is
 * shown beside its field at once, soft findings as warnings. A change of saved data
 * needs a reason; a draft is kept per patient, form and day until the form is
 * submitted. Only an investigator of the patient's site enters data; the others who
 * may see the patient see the forms read-only. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <leopards/clinical.h>
#include <leopards/entry.h>
#include <leopards/forms.h>
#include <leopards/table.h>

#include "server.h"

#define ESC(s) srv_html_escape(&r->body, (s))
#define PUT(s) lp_strbuf_puts(&r->body, (s))
#define PF(...) lp_strbuf_printf(&r->body, __VA_ARGS__)

/* ---- the stylesheet's part for the forms, and the script ---- */

void srv_forms_css(resp *r) {
  PUT("fieldset{border:1px solid #d5d9de;border-radius:6px;margin:0 0 1rem;padding:.4rem 1rem 1rem;background:#fff}"
      "legend{font-weight:700;padding:0 .3rem}.score{font-weight:700;color:#123d5c}"
      ".field-error{display:block;color:#a32020;font-weight:600;margin:.15rem 0}"
      ".field-warning{display:block;color:#7a4d00;font-weight:600;margin:.15rem 0}"
      ".field-note{display:block;color:#185c1f;margin:.15rem 0}"
      ".has-error input,.has-error select,.has-error textarea{border:2px solid #a32020;background:#fff7f7}"
      ".has-warning input,.has-warning select{border:2px solid #b86e00}"
      "input:invalid{border:2px solid #b86e00}.unit{font-weight:400;color:#4a5560}"
      ".with-unit{display:flex;gap:.4rem}.with-unit input{flex:1 1 auto;min-width:0}.with-unit select{flex:0 0 auto;"
      "width:auto}"
      ".warning{border-left:5px solid #b86e00;background:#fdf3e3;padding:.7rem 1rem;margin:0 0 1rem}"
      ".secondary{background:#e8ecf0;color:#123d5c;border:1px solid #8a949e}"
      ".state-complete{color:#185c1f;font-weight:700}.state-draft{color:#7a4d00;font-weight:700}"
      ".state-empty{color:#4a5560}.state-queried{color:#a32020;font-weight:700}"
      ".state-verified,.state-signed{color:#123d5c;font-weight:700}.susar{font-weight:700}.sofa td.num,.sofa "
      "th.num{width:6rem}"
      "dl.day{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}dt{font-weight:600}"
      "dd{margin:0}");
}

/* Live SOFA: the scores come from the server (the library's one scoring), asked as
 * the values change (an answer to an earlier question, arriving late, is ignored);
 * without script the page shows the scores of the last save. */
static const char forms_js[] =
    "'use strict';\n"
    "(function () {\n"
    "  var form = document.querySelector('form[data-sofa]');\n"
    "  if (!form || !window.fetch) return;\n"
    "  var names = form.getAttribute('data-sofa').split(' ');\n"
    "  var timer = null, asked = 0;\n"
    "  function show(j) {\n"
    "    var cells = document.querySelectorAll('[data-sofa-system]');\n"
    "    for (var i = 0; i < cells.length; i++) {\n"
    "      var k = cells[i].getAttribute('data-sofa-system');\n"
    "      var v = j.components ? j.components[k] : null;\n"
    "      cells[i].textContent = (v === null || v === undefined) ? 'not scored' : String(v);\n"
    "    }\n"
    "    var t5 = document.getElementById('sofa-total5'), t6 = document.getElementById('sofa-total6');\n"
    "    if (t5) t5.textContent = j.total5 === null ? 'incomplete' : String(j.total5);\n"
    "    if (t6) t6.textContent = j.total6 === null ? 'incomplete' : String(j.total6);\n"
    "    var msg = document.getElementById('sofa-message');\n"
    "    if (msg) msg.textContent = j.error ? j.error.message : 'Scored as you type.';\n"
    "  }\n"
    "  function update() {\n"
    "    var q = [];\n"
    "    for (var i = 0; i < names.length; i++) {\n"
    "      var el = form.elements[names[i]], u = form.elements[names[i] + '_unit'];\n"
    "      var key = u && u.value === u.getAttribute('data-alt-unit') ? u.getAttribute('data-alt') : names[i];\n"
    "      if (el && el.value !== '') q.push(encodeURIComponent(key) + '=' + encodeURIComponent(el.value));\n"
    "    }\n"
    "    var mine = ++asked;\n"
    "    fetch('/api/v1/scores/sofa?' + q.join('&'), {credentials: 'same-origin'})\n"
    "      .then(function (r) { return r.json(); })\n"
    "      .then(function (j) { if (mine === asked) show(j); }).catch(function () {});\n"
    "  }\n"
    "  form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(update, 150); });\n"
    "  form.addEventListener('change', update);\n"
    "})();\n";

void srv_forms_js(resp *r) {
  r->ctype = "text/javascript; charset=utf-8";
  r->cacheable = true;
  PUT(forms_js);
}

/* ---- the SOFA inputs, shared by the baseline and daily forms ---- */

static const char *const sofa_inputs[] = {"pao2", "fio2",       "resp_support", "platelets",   "bilirubin",
                                          "map",  "dopamine",   "dobutamine",   "epinephrine", "norepinephrine",
                                          "gcs",  "creatinine", "urine_ml"};
#define NSOFA (sizeof sofa_inputs / sizeof sofa_inputs[0])

static bool num_of(json_t *vals, const char *k, double *x) {
  json_t *v = json_object_get(vals, k);
  if (json_is_number(v)) return (*x = json_number_value(v)), true;
  const char *s = json_string_value(v);
  return s && *s && lp_parse_number(s, x);
}

/* The value of field `k` in the unit the definitions keep (creatinine in mg/dL): given
 * under its alternative name (the API's "creatinine_umol_l"), or with the form's unit
 * choice beside it ("creatinine_unit": "umol/L"), it is converted as recording does. */
static bool canonical_num(json_t *vals, const char *k, double *x) {
  const lp_field *f = lp_form_field(lp_form_get(LP_FORM_DAILY), k);
  if (!f) f = lp_form_field(lp_form_get(LP_FORM_BASELINE), k);
  if (!f || !f->alt) return num_of(vals, k, x);
  if (num_of(vals, f->alt, x)) return (*x = lp_si_to_conventional(*x, f->alt_div)), true;
  char un[80];
  snprintf(un, sizeof un, "%s_unit", k);
  const char *u = json_string_value(json_object_get(vals, un));
  if (!num_of(vals, k, x)) return false;
  if (u && !strcmp(u, f->alt_unit)) *x = lp_si_to_conventional(*x, f->alt_div);
  return true;
}

/* Score the SOFA from text values (as a form gives them), each in the unit chosen. */
lp_status srv_sofa_from(json_t *vals, lp_sofa *out, lp_error *err);
lp_status srv_sofa_from(json_t *vals, lp_sofa *out, lp_error *err) {
  lp_sofa_input in;
  lp_sofa_input_init(&in);
  double *dst[] = {&in.pao2, &in.fio2,       NULL,           &in.platelets,   &in.bilirubin,
                   &in.map,  &in.dopamine,   &in.dobutamine, &in.epinephrine, &in.norepinephrine,
                   &in.gcs,  &in.creatinine, &in.urine_ml};
  for (size_t i = 0; i < NSOFA; i++) {
    double x;
    if (!canonical_num(vals, sofa_inputs[i], &x)) continue;
    if (dst[i]) *dst[i] = x;
    else
      in.ventilated = x == 1;
  }
  /* A value the score refuses leaves its system unscored, not the others: it is set
   * aside and the rest scored; the first refusal is returned in err. */
  lp_error first = {0};
  for (size_t tries = 0; tries <= NSOFA; tries++) {
    lp_error e = {0};
    if (!lp_sofa_score(&in, 6, out, &e)) break;
    if (!first.status) first = e;
    bool cleared = false;
    for (size_t i = 0; i < NSOFA; i++)
      if (dst[i] && !strcmp(e.field, sofa_inputs[i]) && !isnan(*dst[i])) *dst[i] = NAN, cleared = true;
    if (!cleared) {
      if (err) *err = e;
      return e.status;
    }
  }
  if (first.status && err) *err = first;
  return first.status ? LP_ERANGE : LP_OK;
}

/* ---- groups of fields ---- */

typedef struct {
  const char *title;
  int sofa; /* the SOFA system of the group, -1 for none */
  const char *fields[12];
} group;

#define SOFA_GROUPS                                                                                              \
  {"Respiratory", LP_SOFA_RESP, {"pao2", "fio2", "resp_support"}}, {"Coagulation", LP_SOFA_COAG, {"platelets"}}, \
      {"Liver", LP_SOFA_LIVER, {"bilirubin"}},                                                                   \
      {"Cardiovascular",                                                                                         \
       LP_SOFA_CV,                                                                                               \
       {"map", "dopamine", "dobutamine", "epinephrine", "norepinephrine", "vasopressin"}},                       \
      {"Central nervous system", LP_SOFA_CNS, {"gcs"}}, {                                                        \
    "Renal", LP_SOFA_RENAL, { "creatinine", "urine_ml" }                                                         \
  }

static const group daily_groups[] = {{"The day", -1, {"in_icu", "mech_vent", "rrt"}}, SOFA_GROUPS, {NULL, -1, {NULL}}};
static const group baseline_groups[] = {
    {"The patient", -1, {"age", "sex", "weight_kg", "height_cm", "race"}},
    {"History",
     -1,
     {"recent_surgery", "ischemic_heart_disease", "congestive_heart_failure", "cardiac_failure", "severe_copd",
      "chronic_renal_failure", "cirrhosis", "immunocompromised", "diabetes", "beta_blockers"}},
    {"Sepsis and shock",
     -1,
     {"shock_to_randomization_h", "infection_source", "positive_culture", "mech_vent", "rrt", "ards"}},
    {"Haemodynamics and blood",
     -1,
     {"rhythm", "heart_rate", "cvp", "cardiac_index", "stroke_volume", "sao2", "scvo2", "lactate", "hemoglobin"}},
    SOFA_GROUPS,
    {"Severity scores", -1, {"apache2", "sofa"}},
    {NULL, -1, {NULL}}};

/* The APACHE II worksheet of the baseline form: the worst values of the first 24
 * hours that the baseline record does not keep (the others are its own fields). Only
 * the score is stored. */
#define N NAN
#define W(n, lo, hi, u, d) \
  { n, d, LP_FIELD_REAL, u, lo, hi, N, N, NULL, NULL, 0, NULL, NULL, 0, NULL }
static const lp_field apache_fields[] = {
    W("ap_temperature", 25, 45, "C", "temperature, most abnormal (core)"),
    W("ap_resp_rate", 0, 80, "/min", "respiratory rate, most abnormal"),
    W("ap_paco2", 5, 200, "mmHg", "PaCO2 (with the PaO2 above, for the A-aDO2 when FiO2 >= 0.5)"),
    W("ap_ph", 6.5, 8, "", "arterial pH, most abnormal"),
    W("ap_hco3", 2, 80, "mmol/L", "serum bicarbonate (only when no arterial pH)"),
    W("ap_sodium", 90, 200, "mmol/L", "sodium, most abnormal"),
    W("ap_potassium", 1, 10, "mmol/L", "potassium, most abnormal"),
    W("ap_hematocrit", 5, 80, "%", "haematocrit, most abnormal"),
    W("ap_wbc", 0, 300, "10^3/uL", "white cells, most abnormal"),
    {"ap_acute_renal_failure", "acute renal failure (doubles the creatinine points)", LP_FIELD_BOOL, "", 0, 1, N, N,
     NULL, NULL, 0, NULL, NULL, 0, NULL},
    {"ap_chronic_health", "severe organ insufficiency or immunocompromise (chronic health points)", LP_FIELD_BOOL, "",
     0, 1, N, N, NULL, NULL, 0, NULL, NULL, 0, NULL},
    {"ap_admission", "admission", LP_FIELD_CHOICE, "", 0, 0, N, N, "nonoperative|emergency_postop|elective_postop",
     NULL, 0, NULL, NULL, 0, NULL},
};
#define NAPACHE (sizeof apache_fields / sizeof apache_fields[0])
#undef W
#undef N

/* ---- one form ---- */

typedef struct {
  req *q;
  resp *r;
  const lp_form *form;
  lp_record_kind kind;
  char patient[64];
  long key;
  lp_patient_view pv;
  json_t *vals;    /* the values shown: name -> text */
  lp_findings *fs; /* what the checks said (NULL: nothing checked) */
  bool editable;   /* the user may enter data here */
  bool exists;     /* a saved record */
  bool draft;      /* the values shown are a draft's */
  lp_draft d;
  char notice[400]; /* "Saved." etc. */
  char error[600];  /* a refusal that names no field */
  char reason_error[200];
  char base[160]; /* the form's address */
} fctx;

static void capitalised(resp *r, const char *s) {
  if (!s || !*s) return;
  char first[2] = {(char)(*s >= 'a' && *s <= 'z' ? *s - 'a' + 'A' : *s), 0};
  ESC(first);
  ESC(s + 1);
}

static const char *system_title(int k) {
  static const char *const t[] = {"Respiratory", "Coagulation", "Liver", "Cardiovascular", "Central nervous system",
                                  "Renal"};
  return k >= 0 && k < LP_SOFA_NCOMP ? t[k] : "?";
}

static void words(resp *r, const char *s) { /* "soft_tissue" as "soft tissue" */
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *p = buf; *p; p++)
    if (*p == '_') *p = ' ';
  ESC(buf);
}

static const char *val(fctx *c, const char *name) {
  const char *s = json_string_value(json_object_get(c->vals, name));
  return s ? s : "";
}

/* The findings of one field, each in its span. */
static int field_findings(fctx *c, const lp_field *f, lp_finding_level level, bool put) {
  resp *r = c->r;
  int n = 0;
  for (size_t i = 0; c->fs && i < c->fs->n; i++) {
    const lp_finding *x = &c->fs->items[i];
    if (x->level != level || (strcmp(x->field, f->name) && !(f->alt && !strcmp(x->field, f->alt)))) continue;
    if (level == LP_FINDING_NOTE && c->kind == LP_RECORD_AE && !strcmp(f->name, "expected")) continue; /* the banner */
    if (put) {
      PF("<span class=\"%s\" id=\"%c-%s%s\">",
         level == LP_FINDING_HARD   ? "field-error"
         : level == LP_FINDING_SOFT ? "field-warning"
                                    : "field-note",
         level == LP_FINDING_HARD   ? 'e'
         : level == LP_FINDING_SOFT ? 'w'
                                    : 'n',
         f->name, n ? "-more" : "");
      PUT(level == LP_FINDING_HARD ? "Error: " : level == LP_FINDING_SOFT ? "Please check: " : "");
      ESC(x->text);
      PUT("</span>");
    }
    n++;
  }
  return n;
}

static void field_help(resp *r, const lp_field *f) {
  bool number = f->type == LP_FIELD_INTEGER || f->type == LP_FIELD_REAL;
  if (f->help && f->type != LP_FIELD_DATE) {
    capitalised(r, f->help);
    PUT(". ");
  }
  if (number) {
    PF("%s %g to %g", f->type == LP_FIELD_INTEGER ? "A whole number," : "From", f->min, f->max);
    if (*f->unit && strcmp(f->unit, "fraction")) {
      PUT(" ");
      ESC(f->unit);
    }
    PUT(".");
    if (!isnan(f->soft_min) || !isnan(f->soft_max)) {
      PUT(" Usual:");
      if (!isnan(f->soft_min)) PF(" from %g", f->soft_min);
      if (!isnan(f->soft_max)) PF(" up to %g", f->soft_max);
      PUT(".");
    }
  } else if (f->type == LP_FIELD_DATE) {
    PUT("A date YYYY-MM-DD, or a time YYYY-MM-DDTHH:MM (UTC); not in the future.");
  }
  if (f->alt) {
    PUT(" Or in ");
    ESC(f->alt_unit);
    PUT(", chosen beside the value (1 ");
    ESC(f->unit);
    PF(" = %g ", f->alt_div);
    ESC(f->alt_unit);
    PUT("): converted, checked and kept in ");
    ESC(f->unit);
    PUT(".");
  }
  if (f->flags & LP_FIELD_REQUIRED) PUT(" Required.");
}

/* The unit choice beside a value that may be given in another unit (the definitions'
 * alternative, e.g. creatinine in umol/L). A form post names it NAME_unit; the live
 * score sends the value under the alternative's name when that unit is chosen. */
static void unit_control(fctx *c, const lp_field *f) {
  resp *r = c->r;
  char un[80];
  snprintf(un, sizeof un, "%s_unit", f->name);
  const char *v = json_string_value(json_object_get(c->vals, un));
  bool alt = v && !strcmp(v, f->alt_unit);
  PF("<select id=\"u-%s\" name=\"%s\" class=\"unit-choice\" data-alt=\"%s\" data-alt-unit=\"", f->name, un, f->alt);
  ESC(f->alt_unit);
  PUT("\" aria-label=\"unit of the ");
  ESC(f->label);
  PF("\"%s><option value=\"", c->editable ? "" : " disabled");
  ESC(f->unit);
  PF("\"%s>", alt ? "" : " selected");
  ESC(f->unit);
  PUT("</option><option value=\"");
  ESC(f->alt_unit);
  PF("\"%s>", alt ? " selected" : "");
  ESC(f->alt_unit);
  PUT("</option></select>");
}

static void field_control(fctx *c, const lp_field *f, const char *v, bool invalid) {
  resp *r = c->r;
  char attrs[300];
  snprintf(attrs, sizeof attrs, "id=\"f-%s\" name=\"%s\" aria-describedby=\"h-%s%s%s%s%s\"%s%s", f->name, f->name,
           f->name, invalid ? " e-" : "", invalid ? f->name : "", "", "", invalid ? " aria-invalid=\"true\"" : "",
           c->editable ? "" : " disabled");
  if (f->type == LP_FIELD_BOOL || f->type == LP_FIELD_CHOICE) {
    PF("<select %s><option value=\"\">not recorded</option>", attrs);
    if (f->type == LP_FIELD_BOOL) {
      PF("<option value=\"1\"%s>yes</option>", !strcmp(v, "1") ? " selected" : "");
      PF("<option value=\"0\"%s>no</option>", !strcmp(v, "0") ? " selected" : "");
    } else {
      for (const char *p = f->choices; p && *p;) {
        size_t k = strcspn(p, "|");
        char ch[96];
        snprintf(ch, sizeof ch, "%.*s", (int)(k < 95 ? k : 95), p);
        PUT("<option value=\"");
        ESC(ch);
        PF("\"%s>", !strcmp(v, ch) ? " selected" : "");
        words(r, ch);
        PUT("</option>");
        p += k + (p[k] == '|');
      }
    }
    PUT("</select>");
    return;
  }
  if ((f->type == LP_FIELD_INTEGER || f->type == LP_FIELD_REAL) && f->alt) /* the range depends on the unit */
    PF("<input %s type=\"number\" step=\"any\" inputmode=\"decimal\" value=\"", attrs);
  else if (f->type == LP_FIELD_INTEGER || f->type == LP_FIELD_REAL)
    PF("<input %s type=\"number\" step=\"%s\" min=\"%g\" max=\"%g\" inputmode=\"decimal\" value=\"", attrs,
       f->type == LP_FIELD_INTEGER ? "1" : "any", f->min, f->max);
  else if (f->type == LP_FIELD_DATE)
    PF("<input %s maxlength=\"19\" placeholder=\"YYYY-MM-DD or YYYY-MM-DDTHH:MM\" value=\"", attrs);
  else if (!strcmp(f->name, "description")) {
    PF("<textarea %s maxlength=\"2000\">", attrs);
    ESC(v);
    PUT("</textarea>");
    return;
  } else
    PF("<input %s maxlength=\"200\" value=\"", attrs);
  ESC(v);
  PUT("\">");
}

/* One field: label with its unit, help (range and usual range from the definition),
 * errors and warnings beside it, the control. */
static void field_html(fctx *c, const lp_field *f) {
  resp *r = c->r;
  int nerr = field_findings(c, f, LP_FINDING_HARD, false), nwarn = field_findings(c, f, LP_FINDING_SOFT, false);
  PF("<div class=\"field%s\" id=\"d-%s\"><label for=\"f-%s\">",
     nerr    ? " has-error"
     : nwarn ? " has-warning"
             : "",
     f->name, f->name);
  capitalised(r, f->label);
  if (*f->unit && strcmp(f->unit, "points") && !f->alt) { /* an alternative: the unit is chosen beside the value */
    PUT(" <span class=\"unit\">(");
    ESC(f->unit);
    PUT(")</span>");
  }
  PF("</label><span class=\"help\" id=\"h-%s\">", f->name);
  field_help(r, f);
  PUT("</span>");
  field_findings(c, f, LP_FINDING_HARD, true);
  field_findings(c, f, LP_FINDING_SOFT, true);
  field_findings(c, f, LP_FINDING_NOTE, true);
  if (f->alt) PUT("<span class=\"with-unit\">");
  field_control(c, f, val(c, f->name), nerr > 0);
  if (f->alt) {
    unit_control(c, f);
    PUT("</span>");
  }
  PUT("</div>");
}

static bool is_key(const lp_field *f) {
  return !strcmp(f->name, "patient") || !strcmp(f->name, "day") || !strcmp(f->name, "id");
}

/* The SOFA of the values shown, by system: the points beside each group's title and
 * a table of them with the totals. */
static void sofa_legend(fctx *c, int sys) {
  resp *r = c->r;
  lp_sofa s;
  lp_error e;
  bool ok = !srv_sofa_from(c->vals, &s, &e) || e.status == LP_ERANGE;
  PF(" <span class=\"score\">&mdash; SOFA <span data-sofa-system=\"%s\">",
     lp_sofa_component_name((lp_sofa_component)sys));
  if (ok && s.component[sys] >= 0) PF("%d", s.component[sys]);
  else
    PUT("not scored");
  PUT("</span></span>");
}

static void sofa_table(fctx *c) {
  resp *r = c->r;
  lp_sofa s;
  lp_error e;
  lp_status st = srv_sofa_from(c->vals, &s, &e);
  bool ok = !st || st == LP_ERANGE;
  PUT("<section class=\"card\" aria-labelledby=\"sofa-h\"><h2 id=\"sofa-h\">SOFA by organ system</h2>"
      "<table class=\"sofa\"><thead><tr><th>System</th><th class=\"num\">Points</th></tr></thead><tbody>");
  int t5 = 0, t6 = 0;
  bool all5 = ok, all6 = ok;
  for (int k = 0; k < LP_SOFA_NCOMP; k++) {
    const char *name = lp_sofa_component_name((lp_sofa_component)k);
    PUT("<tr><td>");
    ESC(system_title(k));
    PF("</td><td class=\"num\" data-sofa-system=\"%s\" aria-live=\"polite\">", name);
    if (ok && s.component[k] >= 0) {
      PF("%d", s.component[k]);
      t6 += s.component[k];
      if (k != LP_SOFA_CNS) t5 += s.component[k];
    } else {
      PUT("not scored");
      all6 = false;
      if (k != LP_SOFA_CNS) all5 = false;
    }
    PUT("</td></tr>");
  }
  PUT("</tbody><tfoot><tr><th>Total, five systems (the trial's daily score, without the CNS)</th>"
      "<th class=\"num\" id=\"sofa-total5\">");
  if (all5) PF("%d", t5);
  else
    PUT("incomplete");
  PUT("</th></tr><tr><th>Total, six systems</th><th class=\"num\" id=\"sofa-total6\">");
  if (all6) PF("%d", t6);
  else
    PUT("incomplete");
  PUT("</th></tr></tfoot></table><p class=\"help\" id=\"sofa-message\" aria-live=\"polite\">");
  if (st) {
    ESC(e.message);
    PUT(" (that system is not scored)");
  } else
    PUT("Scored from the values on this form when it was shown; with script on, as you type.");
  PUT("</p></section>");
}

/* APACHE II from the worksheet and the baseline's own values; false when nothing of
 * the worksheet is given. */
static bool apache_from(json_t *vals, lp_apache2 *out, lp_error *e) {
  lp_apache2_input in;
  lp_apache2_input_init(&in);
  bool any = false;
  for (size_t i = 0; i < NAPACHE; i++) any |= *json_string_value(json_object_get(vals, apache_fields[i].name)) != 0;
  if (!any) return false;
  double x;
  struct {
    const char *k;
    double *d;
  } m[] = {{"ap_temperature", &in.temperature},
           {"map", &in.map},
           {"heart_rate", &in.heart_rate},
           {"ap_resp_rate", &in.resp_rate},
           {"fio2", &in.fio2},
           {"pao2", &in.pao2},
           {"ap_paco2", &in.paco2},
           {"ap_ph", &in.ph},
           {"ap_hco3", &in.hco3},
           {"ap_sodium", &in.sodium},
           {"ap_potassium", &in.potassium},
           {"creatinine", &in.creatinine},
           {"ap_hematocrit", &in.hematocrit},
           {"ap_wbc", &in.wbc},
           {"gcs", &in.gcs},
           {"age", &in.age}};
  for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
    if (canonical_num(vals, m[i].k, &x)) *m[i].d = x;
  if (num_of(vals, "ap_acute_renal_failure", &x)) in.acute_renal_failure = x == 1;
  if (num_of(vals, "ap_chronic_health", &x)) in.chronic_health = x == 1;
  const char *adm = json_string_value(json_object_get(vals, "ap_admission"));
  in.admission = adm && !strcmp(adm, "emergency_postop")  ? LP_ADMIT_EMERGENCY_POSTOP
                 : adm && !strcmp(adm, "elective_postop") ? LP_ADMIT_ELECTIVE_POSTOP
                                                          : LP_ADMIT_NONOPERATIVE;
  if (lp_apache2_score(&in, out, e)) out->total = -1;
  return true;
}

static void apache_section(fctx *c) {
  resp *r = c->r;
  PUT("<fieldset><legend>APACHE II worksheet: the worst values of the first 24 hours</legend><p class=\"help\">"
      "With the values already on this form (age, MAP, heart rate, FiO2, PaO2, creatinine, GCS), these give the "
      "APACHE II score. The worksheet itself is not stored: the score is, in the APACHE II field (filled "
      "from the worksheet when left empty).</p><div class=\"fields\">");
  for (size_t i = 0; i < NAPACHE; i++) field_html(c, &apache_fields[i]);
  PUT("</div>");
  lp_apache2 a;
  lp_error e = {0};
  if (apache_from(c->vals, &a, &e)) {
    if (a.total < 0) {
      PUT("<p class=\"field-error\" role=\"alert\">APACHE II cannot be scored: ");
      ESC(e.message);
      PUT("</p>");
    } else {
      PUT("<table><caption>APACHE II points</caption><thead><tr><th>Variable</th><th class=\"num\">Points</th>"
          "</tr></thead><tbody>");
      for (int v = 0; v < LP_APS_N; v++) {
        PUT("<tr><td>");
        char vn[64];
        snprintf(vn, sizeof vn, "%s", lp_apache2_variable_name(v));
        if (vn[0] >= 'a' && vn[0] <= 'z') vn[0] = (char)(vn[0] - 'a' + 'A');
        words(r, vn);
        PF("%s</td><td class=\"num\">%d</td></tr>", a.missing & (1u << v) ? " (not given: 0)" : "", a.points[v]);
      }
      PF("<tr><td>Acute physiology score</td><td class=\"num\">%d</td></tr><tr><td>Age points</td><td class=\"num\">"
         "%d</td></tr><tr><td>Chronic health points</td><td class=\"num\">%d</td></tr></tbody><tfoot><tr><th>APACHE "
         "II</th><th class=\"num\" id=\"apache2-total\">%d</th></tr></tfoot></table>",
         a.aps, a.age_points, a.chronic_points, a.total);
    }
  }
  PUT("</fieldset>");
}

static void group_html(fctx *c, const group *g, bool *done) {
  resp *r = c->r;
  PUT("<fieldset><legend>");
  ESC(g->title);
  if (g->sofa >= 0) sofa_legend(c, g->sofa);
  PUT("</legend><div class=\"fields\">");
  for (size_t i = 0; i < 12 && g->fields[i]; i++) {
    const lp_field *f = lp_form_field(c->form, g->fields[i]);
    if (!f) continue;
    done[f - c->form->fields] = true;
    field_html(c, f);
  }
  PUT("</div></fieldset>");
}

static const group *groups_of(lp_record_kind k) {
  return k == LP_RECORD_DAILY ? daily_groups : k == LP_RECORD_BASELINE ? baseline_groups : NULL;
}

static void fields_html(fctx *c) {
  resp *r = c->r;
  bool done[128] = {0};
  const group *g = groups_of(c->kind);
  for (; g && g->title; g++) group_html(c, g, done);
  bool rest = false;
  for (size_t i = 0; i < c->form->nfields && i < 128; i++) {
    const lp_field *f = &c->form->fields[i];
    if (done[i] || is_key(f)) continue;
    if (!rest) PUT("<fieldset><legend>Details</legend><div class=\"fields\">");
    rest = true;
    field_html(c, f);
  }
  if (rest) PUT("</div></fieldset>");
  if (c->kind == LP_RECORD_BASELINE) apache_section(c);
}

/* Findings that name no field of the form, and the summary of the errors. */
static const lp_field *form_field_named(fctx *c, const char *field) { /* its name or its alternative's */
  bool alt, old;
  return lp_form_resolve(c->form, field, &alt, &old);
}

static bool on_form(fctx *c, const char *field) {
  const lp_field *f = form_field_named(c, field);
  return f && !is_key(f);
}

static void summary_html(fctx *c) {
  resp *r = c->r;
  size_t hard = c->fs ? c->fs->hard : 0, soft = c->fs ? c->fs->soft : 0;
  if (hard || c->error[0] || c->reason_error[0]) {
    PUT("<div class=\"error\" role=\"alert\" id=\"errors\"><p><strong>Not saved.</strong> ");
    if (hard) PF("%zu problem%s to correct:", hard, hard == 1 ? "" : "s");
    PUT("</p><ul>");
    for (size_t i = 0; c->fs && i < c->fs->n; i++) {
      const lp_finding *x = &c->fs->items[i];
      if (x->level != LP_FINDING_HARD) continue;
      PUT("<li>");
      if (on_form(c, x->field)) {
        PF("<a href=\"#f-%s\">", form_field_named(c, x->field)->name);
        capitalised(r, form_field_named(c, x->field)->label);
        PUT("</a>: ");
      } else if (x->field[0]) {
        ESC(x->field);
        PUT(": ");
      }
      ESC(x->text);
      PUT("</li>");
    }
    if (c->reason_error[0]) {
      PUT("<li><a href=\"#f-reason\">Reason for change</a>: ");
      ESC(c->reason_error);
      PUT("</li>");
    }
    if (c->error[0] && !hard) {
      PUT("<li>");
      ESC(c->error);
      PUT("</li>");
    }
    PUT("</ul></div>");
  }
  size_t notes = 0;
  for (size_t i = 0; c->fs && i < c->fs->n; i++)
    notes += c->fs->items[i].level == LP_FINDING_NOTE &&
             !(c->kind == LP_RECORD_AE && !strcmp(c->fs->items[i].field, "expected"));
  if (notes && !hard) {
    PUT("<div class=\"notice\" role=\"status\" id=\"notes\"><ul>");
    for (size_t i = 0; i < c->fs->n; i++)
      if (c->fs->items[i].level == LP_FINDING_NOTE &&
          !(c->kind == LP_RECORD_AE && !strcmp(c->fs->items[i].field, "expected"))) {
        PUT("<li>");
        if (on_form(c, c->fs->items[i].field)) {
          PF("<a href=\"#f-%s\">", form_field_named(c, c->fs->items[i].field)->name);
          capitalised(r, form_field_named(c, c->fs->items[i].field)->label);
          PUT("</a>: ");
        }
        capitalised(r, c->fs->items[i].text);
        PUT("</li>");
      }
    PUT("</ul></div>");
  }
  if (soft && !hard) {
    /* Hook for the data review: each soft finding here is where a query is raised. */
    PF("<div class=\"warning\" role=\"status\" id=\"warnings\"><p><strong>Saved with %zu warning%s.</strong> The "
       "values were accepted; please check them:</p><ul>",
       soft, soft == 1 ? "" : "s");
    for (size_t i = 0; i < c->fs->n; i++) {
      const lp_finding *x = &c->fs->items[i];
      if (x->level != LP_FINDING_SOFT) continue;
      PUT("<li>");
      if (on_form(c, x->field)) {
        PF("<a href=\"#f-%s\">", form_field_named(c, x->field)->name);
        capitalised(r, form_field_named(c, x->field)->label);
        PUT("</a>: ");
      }
      ESC(x->text);
      PUT("</li>");
    }
    PUT("</ul></div>");
  }
}

static bool ae_expedited(json_t *vals) {
  double s = 0, e = 1;
  const char *rel = json_string_value(json_object_get(vals, "relatedness"));
  return num_of(vals, "serious", &s) && num_of(vals, "expected", &e) && lp_ae_expedited(s == 1, rel, e == 1);
}

static void put_minute(resp *r, const char *iso) { PF("%.10s %.5s", iso, iso + 11); }

static void day_header(fctx *c) {
  resp *r = c->r;
  char b[24], e[24];
  if (!lp_icu_day_window(c->pv.randomized_at, (int)c->key, b, e)) return;
  PF("<div class=\"notice\"><dl class=\"day\"><dt>ICU day</dt><dd>Day %ld</dd><dt>From</dt><dd>", c->key);
  put_minute(r, b);
  PUT(" UTC</dd><dt>To</dt><dd>");
  put_minute(r, e);
  PF(" UTC</dd></dl><p>Day %ld is the %ld%s 24 hours after randomisation (", c->key, c->key,
     c->key % 10 == 1 && c->key != 11   ? "st"
     : c->key % 10 == 2 && c->key != 12 ? "nd"
     : c->key % 10 == 3 && c->key != 13 ? "rd"
                                        : "th");
  srv_page_time(r, c->pv.randomized_at);
  PUT(" UTC), not a calendar day. Record the worst values of these 24 hours.</p>");
  if (lp_parse_iso_days(e) > (double)time(NULL) / 86400.0) {
    PUT("<p id=\"not-over\"><strong>This day is not over yet:</strong> it can be submitted from ");
    put_minute(r, e);
    PUT(" UTC (a draft can be saved now).</p>");
  }
  PUT("</div>");
}

/* The values of a saved record or a draft as text, one per field. */
static json_t *text_values(const char *json) {
  json_t *in = json ? json_loads(json, 0, NULL) : NULL, *out = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(in, k, v) {
    char buf[64];
    if (json_is_string(v)) json_object_set(out, k, v);
    else if (json_is_integer(v)) {
      snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
      json_object_set_new(out, k, json_string(buf));
    } else if (json_is_real(v)) {
      snprintf(buf, sizeof buf, "%.10g", json_real_value(v));
      json_object_set_new(out, k, json_string(buf));
    }
  }
  json_decref(in);
  return out;
}

static void ensure_all(fctx *c) { /* every field present as text, "" when empty */
  for (size_t i = 0; i < c->form->nfields; i++)
    if (!json_is_string(json_object_get(c->vals, c->form->fields[i].name)))
      json_object_set_new(c->vals, c->form->fields[i].name, json_string(""));
  for (size_t i = 0; i < NAPACHE; i++)
    if (!json_is_string(json_object_get(c->vals, apache_fields[i].name)))
      json_object_set_new(c->vals, apache_fields[i].name, json_string(""));
  if (!json_is_string(json_object_get(c->vals, "reason"))) json_object_set_new(c->vals, "reason", json_string(""));
}

/* The unit chosen for a field (NAME_unit of the post); "" for the field's own. */
static const char *unit_of(fctx *c, const lp_field *f) {
  char un[80];
  snprintf(un, sizeof un, "%s_unit", f->name);
  const char *u = json_string_value(json_object_get(c->vals, un));
  return u ? u : "";
}

static void title_of(fctx *c, char *buf, size_t n) {
  if (c->kind == LP_RECORD_DAILY) snprintf(buf, n, "Daily ICU record, day %ld", c->key);
  else if (c->kind == LP_RECORD_AE && c->key)
    snprintf(buf, n, "Adverse event %ld", c->key);
  else if (c->kind == LP_RECORD_AE)
    snprintf(buf, n, "New adverse event");
  else if (c->kind == LP_RECORD_INFUSION && c->key)
    snprintf(buf, n, "Infusion event %ld", c->key);
  else
    snprintf(buf, n, "%s", c->form->label);
}

static void infusion_panel(fctx *c);

static void form_page(fctx *c) {
  req *q = c->q;
  resp *r = c->r;
  char title[96];
  title_of(c, title, sizeof title);
  ensure_all(c);
  srv_page_begin(q, r, title);
  PUT("<p>Patient <a href=\"/patients/");
  ESC(c->patient);
  PUT("\"><strong>");
  ESC(c->patient);
  PUT("</strong></a>, site ");
  ESC(c->pv.site);
  PUT(". Randomised ");
  srv_page_time(r, c->pv.randomized_at);
  PUT(" UTC.</p>");
  if (c->notice[0]) {
    PUT("<p class=\"notice\" role=\"status\" id=\"notice\">");
    ESC(c->notice);
    PUT("</p>");
  }
  summary_html(c);
  if (c->kind == LP_RECORD_DAILY) day_header(c);
  if (c->kind == LP_RECORD_AE && ae_expedited(c->vals))
    PUT("<p class=\"error susar\" role=\"alert\" id=\"susar\">Serious, unexpected and related to the study drug: a "
        "suspected unexpected serious adverse reaction. Report it to the sponsor at once (expedited reporting).</p>");
  if (c->kind == LP_RECORD_INFUSION && !c->key) infusion_panel(c);
  if (c->draft) {
    PUT("<p class=\"warning\" role=\"status\" id=\"draft-notice\">This is a draft, saved ");
    srv_page_time(r, c->d.saved_at);
    PUT(" UTC by ");
    ESC(c->d.saved_by);
    PUT(". It is not part of the patient's data until you submit the form.</p>");
  }
  if (!c->editable)
    PUT("<p class=\"notice\">Read-only: only an investigator of the patient's site enters or changes data.</p>");
  if (c->exists && !(c->kind == LP_RECORD_INFUSION && !c->key))
    srv_query_raise_link(q, r, c->patient, c->pv.site, c->form->name, c->kind == LP_RECORD_DAILY ? (int)c->key : 0,
                         c->kind == LP_RECORD_DAILY ? 0 : c->key, false);
  PF("<form class=\"card\" method=\"post\" action=\"%s\" novalidate", c->base);
  if (c->kind == LP_RECORD_DAILY || c->kind == LP_RECORD_BASELINE) {
    PUT(" data-sofa=\"");
    for (size_t i = 0; i < NSOFA; i++) PF("%s%s", i ? " " : "", sofa_inputs[i]);
    PUT("\"");
  }
  PUT(">");
  srv_page_csrf(q, r);
  fields_html(c);
  if (c->exists && c->editable) {
    PF("<div class=\"field%s\"><label for=\"f-reason\">Reason for change</label><span class=\"help\" "
       "id=\"h-reason\">This form was submitted before: a change needs a reason, kept in the audit trail with the "
       "old and the new values.</span>",
       c->reason_error[0] ? " has-error" : "");
    if (c->reason_error[0]) {
      PUT("<span class=\"field-error\" id=\"e-reason\">Error: ");
      ESC(c->reason_error);
      PUT("</span>");
    }
    PF("<textarea id=\"f-reason\" name=\"reason\" required maxlength=\"500\" aria-describedby=\"h-reason%s\">",
       c->reason_error[0] ? " e-reason" : "");
    ESC(val(c, "reason"));
    PUT("</textarea></div>");
  }
  if (c->editable) {
    PF("<button type=\"submit\" name=\"action\" value=\"submit\">%s</button>",
       c->exists ? "Save the change" : "Submit the form");
    PUT("<button type=\"submit\" name=\"action\" value=\"draft\" class=\"secondary\">Save as draft</button>");
    if (c->draft)
      PUT("<button type=\"submit\" name=\"action\" value=\"discard\" class=\"secondary\">Discard the draft</button>");
  }
  PUT("</form>");
  if (c->kind == LP_RECORD_DAILY || c->kind == LP_RECORD_BASELINE) sofa_table(c);
  PUT("<p><a href=\"/patients/");
  ESC(c->patient);
  PUT("\">Back to the patient's forms</a></p><script src=\"/forms.js\"></script>");
  srv_page_end(r);
}

/* ---- reading the form's address and the values ---- */

static bool parse_rest(fctx *c, const char *rest) {
  char kind[32] = "";
  const char *slash = strchr(rest, '/');
  if (!slash || (size_t)(slash - rest) >= sizeof c->patient) return false;
  snprintf(c->patient, sizeof c->patient, "%.*s", (int)(slash - rest), rest);
  if (strncmp(slash, "/forms/", 7)) return false;
  const char *k = slash + 7, *s2 = strchr(k, '/');
  size_t kl = s2 ? (size_t)(s2 - k) : strlen(k);
  if (kl >= sizeof kind) return false;
  snprintf(kind, sizeof kind, "%.*s", (int)kl, k);
  if (lp_record_kind_parse(kind, &c->kind, NULL)) return false;
  c->form = lp_form_get((lp_form_id)c->kind);
  c->key = 0;
  if (s2) {
    char *end;
    c->key = strtol(s2 + 1, &end, 10);
    if (*end || end == s2 + 1 || c->key < 1) return false;
  }
  if (c->kind == LP_RECORD_DAILY && (c->key < 1 || c->key > 28)) return false;
  if ((c->kind == LP_RECORD_BASELINE || c->kind == LP_RECORD_OUTCOME) && c->key) return false;
  if (c->key) snprintf(c->base, sizeof c->base, "/patients/%s/forms/%s/%ld", c->patient, kind, c->key);
  else
    snprintf(c->base, sizeof c->base, "/patients/%s/forms/%s", c->patient, kind);
  return srv_code_ok(c->patient);
}

/* The posted values, as text, of every field of the form and the worksheet. */
static json_t *posted(req *q, const lp_form *form) {
  json_t *o = json_object();
  char *b = malloc(4096);
  for (size_t i = 0; b && i < form->nfields; i++) {
    const lp_field *f = &form->fields[i];
    if (!is_key(f) && srv_form(q, f->name, b, 4096)) json_object_set_new(o, f->name, json_string(b));
    char un[80];
    snprintf(un, sizeof un, "%s_unit", f->name);
    if (f->alt && srv_form(q, un, b, 4096) && !strcmp(b, f->alt_unit)) json_object_set_new(o, un, json_string(b));
  }
  for (size_t i = 0; b && form->id == LP_FORM_BASELINE && i < NAPACHE; i++)
    if (srv_form(q, apache_fields[i].name, b, 4096)) json_object_set_new(o, apache_fields[i].name, json_string(b));
  if (b && srv_form(q, "reason", b, 4096)) json_object_set_new(o, "reason", json_string(b));
  free(b);
  return o;
}

static void load_saved(fctx *c, char **saved) {
  lp_error e;
  *saved = NULL;
  if (c->kind == LP_RECORD_INFUSION && !c->key) return; /* the log: a new event */
  if (!lp_record_get(c->q->t, c->kind, c->patient, c->key, saved, &e) && *saved) c->exists = true;
}

/* The record to submit: the fields given, and a field emptied that had a value. */
static json_t *record_of(fctx *c, json_t *saved) {
  json_t *o = json_object();
  json_object_set_new(o, "patient", json_string(c->patient));
  if (c->kind == LP_RECORD_DAILY) json_object_set_new(o, "day", json_sprintf("%ld", c->key));
  if (c->kind == LP_RECORD_AE && c->key) json_object_set_new(o, "id", json_sprintf("%ld", c->key));
  if (c->kind == LP_RECORD_INFUSION && c->key) { /* an event is found by its hour */
    json_t *h = json_object_get(saved, "hour");
    if (h && !*val(c, "hour")) json_object_set(c->vals, "hour", h);
  }
  for (size_t i = 0; i < c->form->nfields; i++) {
    const lp_field *f = &c->form->fields[i];
    if (is_key(f)) continue;
    const char *v = val(c, f->name);
    if (*v && f->alt && !strcmp(unit_of(c, f), f->alt_unit)) /* converted and checked by the library */
      json_object_set_new(o, f->alt, json_string(v));
    else if (*v)
      json_object_set_new(o, f->name, json_string(v));
    else if (json_object_get(saved, f->name) && !(f->flags & LP_FIELD_KEY))
      json_object_set_new(o, f->name, json_string(""));
  }
  return o;
}

/* Baseline: APACHE II and SOFA filled from the form when left empty. */
static void derive_scores(fctx *c, json_t *rec) {
  if (c->kind != LP_RECORD_BASELINE) return;
  lp_apache2 a;
  lp_error e;
  char buf[16];
  if (!*val(c, "apache2") && apache_from(c->vals, &a, &e) && a.total >= 0) {
    snprintf(buf, sizeof buf, "%d", a.total);
    json_object_set_new(rec, "apache2", json_string(buf));
    json_object_set_new(c->vals, "apache2", json_string(buf));
  }
  lp_sofa s;
  if (!*val(c, "sofa") && !srv_sofa_from(c->vals, &s, &e) && s.total >= 0) {
    snprintf(buf, sizeof buf, "%d", s.total);
    json_object_set_new(rec, "sofa", json_string(buf));
    json_object_set_new(c->vals, "sofa", json_string(buf));
  }
}

/* Hook of the data review: a soft finding of a saved record is where a query is
 * raised on its field. Nothing yet beyond showing them. */
void srv_forms_soft_findings(req *q, const lp_findings *fs);
void srv_forms_soft_findings(req *q, const lp_findings *fs) {
  (void)q;
  (void)fs;
}

static void do_submit(fctx *c, json_t *saved) {
  req *q = c->q;
  const char *reason = val(c, "reason");
  if (c->exists && !*reason) {
    snprintf(c->reason_error, sizeof c->reason_error, "this form was submitted before: give a reason for the change");
    c->r->code = 422;
    return;
  }
  json_t *rec = record_of(c, saved);
  derive_scores(c, rec);
  char *js = json_dumps(rec, JSON_COMPACT);
  json_decref(rec);
  size_t rows;
  lp_error e = {0};
  lp_status s = lp_record_form_checked(q->t, c->kind, js, "form", q->who.user, c->exists ? reason : NULL, false, &rows,
                                       c->fs, &e);
  free(js);
  if (s) {
    c->r->code = s == LP_EDATA ? 422 : srv_http_status(s);
    if (!c->fs->hard) snprintf(c->error, sizeof c->error, "%s", e.message);
    return;
  }
  srv_forms_soft_findings(q, c->fs);
  lp_draft_discard(q->t, c->patient, c->kind, c->key, NULL);
  snprintf(c->notice, sizeof c->notice, "%s %s.", c->exists ? "Change saved:" : "Submitted:",
           c->fs->soft ? "the values were accepted, with warnings below" : "the values passed every check");
  c->r->code = c->exists ? 200 : 201;
  /* show the record as saved: a new adverse event as the event it now is, the
   * infusion log ready for the next event */
  if (c->kind == LP_RECORD_AE && !c->key) {
    char *list = NULL;
    json_t *all = !lp_record_list(q->t, LP_RECORD_AE, c->patient, &list, &e) && list ? json_loads(list, 0, NULL) : NULL;
    free(list);
    json_t *last = json_array_get(all, json_array_size(all) ? json_array_size(all) - 1 : 0);
    c->key = (long)json_integer_value(json_object_get(last, "id"));
    json_decref(all);
    snprintf(c->base, sizeof c->base, "/patients/%s/forms/ae/%ld", c->patient, c->key);
  }
  if (c->kind == LP_RECORD_INFUSION && !c->key) {
    json_decref(c->vals);
    c->vals = json_object();
    c->exists = false;
    return;
  }
  char *now = NULL;
  if (!lp_record_get(q->t, c->kind, c->patient, c->key, &now, &e) && now) {
    json_t *fresh = text_values(now);
    const char *k;
    json_t *v;
    json_object_foreach(c->vals, k, v) if (!strncmp(k, "ap_", 3)) json_object_set(fresh, k, v);
    json_decref(c->vals);
    c->vals = fresh;
    c->exists = true;
  }
  free(now);
}

static void do_post(fctx *c, json_t *saved) {
  req *q = c->q;
  char action[16] = "";
  srv_form(q, "action", action, sizeof action);
  json_decref(c->vals);
  c->vals = posted(q, c->form);
  lp_error e;
  if (!strcmp(action, "draft")) {
    char *js = json_dumps(c->vals, JSON_COMPACT);
    lp_status s = lp_draft_save(q->t, c->patient, c->kind, c->key, js, q->who.user, &e);
    free(js);
    if (s) {
      c->r->code = srv_http_status(s);
      snprintf(c->error, sizeof c->error, "%s", e.message);
      return;
    }
    bool found;
    lp_draft_clear(&c->d);
    c->draft = !lp_draft_get(q->t, c->patient, c->kind, c->key, &c->d, &found, &e) && found;
    snprintf(c->notice, sizeof c->notice,
             "Draft saved. It is kept for this patient and form until you submit "
             "the form; it is not part of the patient's data until then.");
    return;
  }
  if (!strcmp(action, "discard")) {
    lp_draft_discard(q->t, c->patient, c->kind, c->key, NULL);
    c->r->code = 303;
    snprintf(c->r->location, sizeof c->r->location, "%s", c->base);
    return;
  }
  do_submit(c, saved);
  if (c->r->code < 300 && c->draft) { /* submitted: the draft is gone */
    lp_draft_clear(&c->d);
    c->draft = false;
  }
}

void srv_form_page(req *q, resp *r, const char *rest, bool post) {
  fctx c = {.q = q, .r = r};
  if (!parse_rest(&c, rest))
    return srv_code_ok(c.patient) ? srv_page_message(q, r, 404, "Not found", "there is no such form")
                                  : srv_page_message(q, r, 400, "Patient", "that is not a patient code");
  lp_error e;
  lp_status s = lp_patient_get(q->t, c.patient, &c.pv, &e);
  if (s) return srv_page_message(q, r, srv_http_status(s), "Patient", e.message);
  if (!srv_page_allowed(q, r, post ? LP_DO_RECORD : LP_DO_VIEW_PATIENT, c.pv.site, c.patient)) return;
  if (!c.pv.randomised) return srv_page_message(q, r, 409, "Forms", "this patient has not been randomised");
  c.editable = !lp_access_check(q->who.role, q->who.site, LP_DO_RECORD, c.pv.site, NULL);
  lp_findings fs = {0};
  c.fs = &fs;
  char *saved_text = NULL;
  load_saved(&c, &saved_text);
  if (c.kind == LP_RECORD_INFUSION && c.key && !c.exists)
    return srv_page_message(q, r, 404, "Infusion event", "this patient has no such infusion event");
  if (c.kind == LP_RECORD_AE && c.key && !c.exists)
    return srv_page_message(q, r, 404, "Adverse event", "this patient has no such adverse event");
  json_t *saved = saved_text ? json_loads(saved_text, 0, NULL) : NULL;
  bool found = false;
  c.draft = !lp_draft_get(q->t, c.patient, c.kind, c.key, &c.d, &found, &e) && found;
  c.vals = text_values(c.draft ? c.d.data : saved_text);
  if (post) do_post(&c, saved);
  if (r->code != 303) form_page(&c);
  lp_findings_clear(&fs);
  lp_draft_clear(&c.d);
  json_decref(c.vals);
  json_decref(saved);
  free(saved_text);
}

/* ---- the infusion log: events so far, the protocol's next step, the pump rate ---- */

static lp_infusion_state state_after(const char *event, double dose) {
  if (!strcmp(event, "increase")) return LP_INF_FULL;
  if (!strcmp(event, "decrease")) return dose <= 0.05 ? LP_INF_LOW : LP_INF_REDUCED;
  if (!strcmp(event, "stop")) return LP_INF_STOPPED;
  if (!strcmp(event, "end")) return LP_INF_COMPLETED;
  return LP_INF_START;
}

static double query_num(req *q, const char *name, double dflt) {
  const char *s = srv_query(q, name);
  double x;
  return s && *s && lp_parse_number(s, &x) ? x : dflt;
}

static void events_table(resp *r, const char *patient, json_t *events) {
  if (!json_array_size(events)) {
    PUT("<p>No infusion event recorded yet.</p>");
    return;
  }
  PUT("<div class=\"scroll\"><table id=\"events\"><thead><tr><th class=\"num\">Hour</th><th>Event</th><th "
      "class=\"num\">"
      "Dose (ug/kg/min)</th><th>Reason</th><th></th></tr></thead><tbody>");
  size_t i;
  json_t *ev;
  json_array_foreach(events, i, ev) {
    PF("<tr><td class=\"num\">%g</td><td>", json_number_value(json_object_get(ev, "hour")));
    ESC(json_string_value(json_object_get(ev, "event")));
    PF("</td><td class=\"num\">%g</td><td>", json_number_value(json_object_get(ev, "dose")));
    ESC(json_string_value(json_object_get(ev, "reason")));
    PUT("</td><td><a href=\"/patients/");
    ESC(patient);
    PF("/forms/infusion/%lld\">Open</a></td></tr>", (long long)json_integer_value(json_object_get(ev, "id")));
  }
  PUT("</tbody></table></div>");
}

static void suggestion(fctx *c, json_t *last, double weight, double conc) {
  req *q = c->q;
  resp *r = c->r;
  double hours = query_num(q, "obs_hours", NAN), map = query_num(q, "obs_map", NAN), hr = query_num(q, "obs_hr", NAN);
  double base_hr = query_num(q, "obs_base_hr", NAN);
  lp_infusion_step st = {0};
  lp_error e = {0};
  lp_status s = LP_OK;
  const char *event = "start", *reason = "protocol";
  if (!last) {
    st.dose = 0.1;
    st.text = "start at 0.1 ug/kg/min (no bolus)";
    hours = 0;
  } else {
    const char *ev = json_string_value(json_object_get(last, "event"));
    double dose = json_number_value(json_object_get(last, "dose"));
    lp_infusion_state cur = state_after(ev ? ev : "start", dose);
    if (cur == LP_INF_COMPLETED || cur == LP_INF_STOPPED) {
      PF("<div class=\"notice\" role=\"status\" id=\"suggestion\"><p>The infusion has %s: there is no next step.</p>"
         "</div>",
         cur == LP_INF_COMPLETED ? "ended after its 24 hours" : "been stopped");
      return;
    }
    if (isnan(hours)) return;
    lp_infusion_observation obs = {
        .hours = hours, .hypotension = -1, .map = map, .heart_rate = hr, .baseline_heart_rate = base_hr};
    if ((s = lp_infusion_next(cur, &obs, &st, &e))) {
      PUT("<p class=\"field-error\" role=\"alert\">");
      ESC(e.message);
      PUT("</p>");
      return;
    }
    event = st.dose > dose                 ? "increase"
            : st.state == LP_INF_COMPLETED ? "end"
            : st.state == LP_INF_STOPPED   ? "stop"
            : st.dose < dose               ? "decrease"
                                           : NULL;
    reason = st.reason == LP_INF_REASON_HYPOTENSION   ? "hypotension"
             : st.reason == LP_INF_REASON_TACHYCARDIA ? "tachycardia"
                                                      : "protocol";
    if (st.state == LP_INF_COMPLETED) hours = 24;
  }
  PUT("<div class=\"notice\" role=\"status\" id=\"suggestion\"><p><strong>Next step: ");
  ESC(st.text ? st.text : "");
  PF("</strong> (%g ug/kg/min", st.dose);
  double rate;
  if (st.dose > 0 && !isnan(weight) && !lp_infusion_rate(st.dose, weight, conc, &rate, &e))
    PF(": pump rate <strong id=\"pump-rate\">%.1f mL/h</strong> for %g kg at %g ug/mL", rate, weight, conc);
  PUT(").</p>");
  if (event && c->editable) {
    PF("<p>The form below is filled with this step (hour %g, %s); check it before you submit.</p>", hours, event);
    char b[32];
    snprintf(b, sizeof b, "%g", hours);
    json_object_set_new(c->vals, "hour", json_string(b));
    json_object_set_new(c->vals, "event", json_string(event));
    snprintf(b, sizeof b, "%g", st.dose);
    json_object_set_new(c->vals, "dose", json_string(b));
    json_object_set_new(c->vals, "reason", json_string(reason));
  } else if (!event) {
    PUT("<p>No change of dose: nothing to record now.</p>");
  }
  PUT("</div>");
}

static void obs_input(resp *r, const char *name, const char *label, const char *help, double v) {
  PF("<div><label for=\"%s\">%s</label><span class=\"help\" id=\"h-%s\">%s</span><input id=\"%s\" name=\"%s\" "
     "type=\"number\" step=\"any\" inputmode=\"decimal\" aria-describedby=\"h-%s\"",
     name, label, name, help, name, name, name);
  if (!isnan(v)) PF(" value=\"%g\"", v);
  PUT("></div>");
}

static void infusion_panel(fctx *c) {
  req *q = c->q;
  resp *r = c->r;
  char *list = NULL, *base = NULL;
  lp_error e;
  if (lp_record_list(q->t, LP_RECORD_INFUSION, c->patient, &list, &e)) {
    PUT("<p class=\"error\">");
    ESC(e.message);
    PUT("</p>");
    return;
  }
  json_t *events = json_loads(list, 0, NULL);
  free(list);
  lp_record_get(q->t, LP_RECORD_BASELINE, c->patient, 0, &base, &e);
  json_t *bj = base ? json_loads(base, 0, NULL) : NULL;
  free(base);
  double weight = query_num(q, "weight", NAN), conc = query_num(q, "concentration", 25);
  if (isnan(weight) && json_is_number(json_object_get(bj, "weight_kg")))
    weight = json_number_value(json_object_get(bj, "weight_kg"));
  double base_hr =
      json_is_number(json_object_get(bj, "heart_rate")) ? json_number_value(json_object_get(bj, "heart_rate")) : NAN;
  PUT("<section class=\"card\" aria-labelledby=\"log-h\"><h2 id=\"log-h\">Events so far</h2>");
  events_table(r, c->patient, events);
  size_t n = json_array_size(events);
  json_t *last = n ? json_array_get(events, n - 1) : NULL;
  PUT("<h2>The protocol's next step</h2><form method=\"get\" action=\"");
  ESC(c->base);
  PUT("\"><p class=\"help\">From the last event and what you observe now. The pump rate is the dose x weight x 60 / "
      "concentration (the usual dilution: 12.5 mg in 500 mL, 25 ug/mL; placebo runs at the same rates).</p>"
      "<div class=\"fields\">");
  if (last) {
    obs_input(r, "obs_hours", "Hours since the start", "Time of the observation, hours.",
              query_num(q, "obs_hours", NAN));
    obs_input(r, "obs_map", "MAP now (mmHg)", "Hypotension: below 65 mmHg.", query_num(q, "obs_map", NAN));
    obs_input(r, "obs_hr", "Heart rate now (/min)", "Severe tachycardia: above 130/min.", query_num(q, "obs_hr", NAN));
    obs_input(r, "obs_base_hr", "Baseline heart rate (/min)", "From the baseline form.",
              query_num(q, "obs_base_hr", base_hr));
  }
  obs_input(r, "weight", "Weight (kg)", "From the baseline form.", weight);
  obs_input(r, "concentration", "Concentration (ug/mL)", "25 ug/mL for 12.5 mg in 500 mL.", conc);
  PUT("</div><button type=\"submit\">Suggest the next step</button></form>");
  if (!last || srv_query(q, "obs_hours")) suggestion(c, last, weight, conc);
  PUT("</section><h2>Record an event</h2>");
  json_decref(events);
  json_decref(bj);
}

/* ---- the patient's forms ---- */

void srv_forms_list(req *q, resp *r, const char *patient) {
  lp_form_entry *fe = NULL;
  size_t n = 0;
  lp_error e;
  if (lp_patient_forms(q->t, patient, &fe, &n, &e)) {
    PUT("<p class=\"error\">");
    ESC(e.message);
    PUT("</p>");
    return;
  }
  PUT("<h2>Forms</h2><div class=\"scroll\"><table id=\"forms\"><thead><tr><th>Form</th><th>When</th><th>State</th>"
      "<th></th></tr></thead><tbody>");
  for (size_t i = 0; i < n; i++) {
    const lp_form_entry *x = &fe[i];
    const lp_form *f = lp_form_get((lp_form_id)x->kind);
    PF("<tr id=\"form-%s%s%ld\"><td>", f->name, x->key ? "-" : "", x->key);
    if (x->kind == LP_RECORD_DAILY) PF("Daily ICU record, day %ld", x->key);
    else if (x->kind == LP_RECORD_AE)
      x->key ? PF("Adverse event %ld", x->key) : PUT("New adverse event");
    else
      ESC(f->label);
    PUT("</td><td>");
    if (x->kind == LP_RECORD_DAILY) {
      put_minute(r, x->start);
      PUT(" to ");
      put_minute(r, x->end);
      PUT(" UTC");
      if (!x->due) PUT(" (not over yet)");
    }
    static const char *const cls[] = {"empty", "draft", "complete", "queried", "verified", "signed"};
    PF("</td><td class=\"state-%s\">%s%s</td><td>", cls[x->state], lp_form_state_name(x->state),
       x->draft && x->state >= LP_FORM_STATE_COMPLETE ? " (a change in draft)" : "");
    PUT("<a href=\"/patients/");
    ESC(patient);
    PF("/forms/%s", f->name);
    if (x->key) PF("/%ld", x->key);
    PF("\">%s</a></td></tr>", x->state == LP_FORM_STATE_EMPTY ? "Enter" : "Open");
  }
  PUT("</tbody></table></div><p class=\"help\">Day d is the d-th 24 hours after randomisation, not a calendar day; "
      "a day's record can be submitted once its 24 hours are over.</p>");
  free(fe);
}
