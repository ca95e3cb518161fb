/* Report writer: tables in the paper's layout as HTML, Markdown and CSV, figures
 * as files and inline SVG, and report.json with every number shown. The folder is
 * built beside the target and moved into place at the end. */
#include <leopards/report.h>
#include <leopards/strbuf.h>

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/fsutil.h"

/* ---- text output ---- */

/* HTML text; with `numeric`, a hyphen before a digit becomes a minus sign. */
static void sb_html(lp_strbuf *b, const char *s, bool numeric) {
  for (const char *p = s; *p; p++) {
    switch (*p) {
    case '<': lp_strbuf_puts(b, "&lt;"); break;
    case '>': lp_strbuf_puts(b, "&gt;"); break;
    case '&': lp_strbuf_puts(b, "&amp;"); break;
    case '"': lp_strbuf_puts(b, "&quot;"); break;
    case '-':
      if (numeric && (p[1] >= '0' && p[1] <= '9')) lp_strbuf_puts(b, "&minus;");
      else lp_strbuf_puts(b, "-");
      break;
    default: lp_strbuf_put(b, p, 1);
    }
  }
}

/* CSV field, quoted when needed. */
static void sb_csv(lp_strbuf *b, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    lp_strbuf_put(b, s, strlen(s));
    return;
  }
  lp_strbuf_puts(b, "\"");
  for (const char *p = s; *p; p++) {
    if (*p == '"') lp_strbuf_puts(b, "\"");
    lp_strbuf_put(b, p, 1);
  }
  lp_strbuf_puts(b, "\"");
}

/* Markdown cell: pipes escaped. */
static void sb_md(lp_strbuf *b, const char *s) {
  for (const char *p = s; *p; p++) {
    if (*p == '|') lp_strbuf_puts(b, "\\");
    lp_strbuf_put(b, p, 1);
  }
}

/* ---- tables ---- */

static const struct {
  const char *id, *title, *first_col;
  bool effect;
} tables[] = {
    {"table1", "Table 1. Baseline Characteristics", "Characteristic", false},
    {"table2", "Table 2. Acute Illness and Physiological Variables at Baseline", "Variable", false},
    {"table3", "Table 3. Clinical Outcomes", "Outcome", true},
    {"figure2", "Time-to-Event Outcomes (Cox Regression)", "Outcome", true},
};
#define NTABLES (sizeof tables / sizeof tables[0])

static void table_html(lp_strbuf *b, const lp_report_input *in, size_t k) {
  const lp_results *r = in->results;
  lp_strbuf_printf(b, "<h2 id=\"%s\">", tables[k].id);
  sb_html(b, tables[k].title, false);
  lp_strbuf_printf(b, "</h2>\n<table>\n<thead><tr><th>%s</th>", tables[k].first_col);
  for (int a = 0; a < 2; a++) {
    lp_strbuf_puts(b, "<th>");
    sb_html(b, in->arm_labels[a], false);
    lp_strbuf_printf(b, "<br>(N = %ld)</th>", r->arm_n[a]);
  }
  if (tables[k].effect) lp_strbuf_printf(b, "<th>%s (95%% CI)</th><th>P Value</th>",
                                  !strcmp(tables[k].id, "figure2") ? "Hazard Ratio" : "Absolute Difference");
  lp_strbuf_puts(b, "</tr></thead>\n<tbody>\n");
  const char *section = "";
  int ncol = tables[k].effect ? 5 : 3;
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, tables[k].id)) continue;
    if (strcmp(x->section, section) && x->section[0]) {
      lp_strbuf_printf(b, "<tr class=\"section\"><td colspan=\"%d\">", ncol);
      sb_html(b, x->section, false);
      lp_strbuf_puts(b, "</td></tr>\n");
    }
    section = x->section;
    lp_strbuf_printf(b, "<tr><td%s>", x->section[0] ? " class=\"indent\"" : "");
    sb_html(b, x->label, false);
    lp_strbuf_puts(b, "</td>");
    for (int a = 0; a < 2; a++) {
      lp_strbuf_puts(b, "<td class=\"num\">");
      sb_html(b, x->arm_text[a], true);
      lp_strbuf_puts(b, "</td>");
    }
    if (tables[k].effect) {
      lp_strbuf_puts(b, "<td class=\"num\">");
      sb_html(b, x->effect_text, true);
      lp_strbuf_puts(b, "</td><td class=\"num\">");
      sb_html(b, x->p_text[0] ? x->p_text : "—", false);
      lp_strbuf_puts(b, "</td>");
    }
    lp_strbuf_puts(b, "</tr>\n");
  }
  lp_strbuf_puts(b, "</tbody>\n</table>\n");
  /* Footnotes: the distinct methods used in this table. */
  lp_strbuf_puts(b, "<ul class=\"notes\">\n");
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, tables[k].id) || !x->method[0]) continue;
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = !strcmp(r->rows[j].table, x->table) && !strcmp(r->rows[j].method, x->method);
    if (seen) continue;
    lp_strbuf_puts(b, "<li>");
    sb_html(b, x->method, false);
    lp_strbuf_puts(b, "</li>\n");
  }
  lp_strbuf_puts(b, "</ul>\n");
}

static void table_md(lp_strbuf *b, const lp_report_input *in, size_t k) {
  const lp_results *r = in->results;
  lp_strbuf_printf(b, "## %s\n\n| %s | %s (N = %ld) | %s (N = %ld) |", tables[k].title, tables[k].first_col,
            in->arm_labels[0], r->arm_n[0], in->arm_labels[1], r->arm_n[1]);
  if (tables[k].effect) lp_strbuf_printf(b, " %s (95%% CI) | P Value |",
                                  !strcmp(tables[k].id, "figure2") ? "Hazard Ratio" : "Absolute Difference");
  lp_strbuf_printf(b, "\n|---|---:|---:|%s\n", tables[k].effect ? "---:|---:|" : "");
  const char *section = "";
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, tables[k].id)) continue;
    if (strcmp(x->section, section) && x->section[0]) {
      lp_strbuf_puts(b, "| **");
      sb_md(b, x->section);
      lp_strbuf_printf(b, "** | | |%s\n", tables[k].effect ? " | |" : "");
    }
    section = x->section;
    lp_strbuf_printf(b, "| %s", x->section[0] ? "&emsp;" : "");
    sb_md(b, x->label);
    lp_strbuf_printf(b, " | %s | %s |", x->arm_text[0], x->arm_text[1]);
    if (tables[k].effect) lp_strbuf_printf(b, " %s | %s |", x->effect_text, x->p_text[0] ? x->p_text : "—");
    lp_strbuf_puts(b, "\n");
  }
  lp_strbuf_puts(b, "\n");
}

static void table_csv(lp_strbuf *b, const lp_results *r, const char *table) {
  lp_strbuf_printf(b, "id,section,label,%s,%s,estimate,lower,upper,p,effect_text,p_text,method\n", r->arms[0], r->arms[1]);
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, table)) continue;
    sb_csv(b, x->id), lp_strbuf_puts(b, ",");
    sb_csv(b, x->section), lp_strbuf_puts(b, ",");
    sb_csv(b, x->label), lp_strbuf_puts(b, ",");
    sb_csv(b, x->arm_text[0]), lp_strbuf_puts(b, ",");
    sb_csv(b, x->arm_text[1]), lp_strbuf_puts(b, ",");
    double v[4] = {x->estimate, x->ci[0], x->ci[1], x->p};
    for (int k = 0; k < 4; k++) {
      if (isfinite(v[k])) lp_strbuf_printf(b, "%.10g", v[k]);
      lp_strbuf_puts(b, ",");
    }
    sb_csv(b, x->effect_text), lp_strbuf_puts(b, ",");
    sb_csv(b, x->p_text), lp_strbuf_puts(b, ",");
    sb_csv(b, x->method), lp_strbuf_puts(b, "\n");
  }
}

/* ---- JSON ---- */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *results_json(const lp_report_input *in) {
  const lp_results *r = in->results;
  json_t *root = json_object(), *tabs = json_object();
  json_object_set_new(root, "title", json_string(in->title ? in->title : ""));
  json_object_set_new(root, "arms", json_pack("[s,s]", r->arms[0], r->arms[1]));
  json_object_set_new(root, "n", json_pack("[I,I]", (json_int_t)r->arm_n[0], (json_int_t)r->arm_n[1]));
  json_object_set_new(root, "seed", json_integer((json_int_t)r->seed));
  json_object_set_new(root, "bootstrap", json_integer((json_int_t)r->bootstrap));
  json_object_set_new(root, "permutations", json_integer((json_int_t)r->permutations));
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    json_t *t = json_object_get(tabs, x->table);
    if (!t) {
      t = json_object();
      json_object_set_new(tabs, x->table, t);
    }
    json_t *arms = json_array();
    for (int a = 0; a < 2; a++)
      json_array_append_new(arms, json_pack("{s:s, s:I, s:[o,o,o]}", "text", x->arm_text[a], "n",
                                            (json_int_t)x->arm_n[a], "stat", num(x->arm_stat[a][0]),
                                            num(x->arm_stat[a][1]), num(x->arm_stat[a][2])));
    json_object_set_new(t, x->id,
                        json_pack("{s:s, s:s, s:s, s:o, s:o, s:[o,o], s:o, s:s, s:s, s:s, s:I, s:o}", "section",
                                  x->section, "label", x->label, "kind", lp_analysis_kind_name(x->kind),
                                  "arms", arms, "estimate", num(x->estimate), "ci", num(x->ci[0]),
                                  num(x->ci[1]), "p", num(x->p), "effect_text", x->effect_text, "p_text",
                                  x->p_text, "method", x->method, "n_used", (json_int_t)x->n_used, "published",
                                  num(x->published)));
  }
  json_object_set_new(root, "tables", tabs);
  json_t *subs = json_object();
  for (size_t s = 0; s < r->nsubgroups; s++) {
    const lp_result_subgroup *g = &r->subgroups[s];
    json_t *levels = json_array();
    for (size_t l = 0; l < g->nlevels; l++)
      json_array_append_new(levels, json_pack("{s:s, s:[s,s], s:o, s:[o,o]}", "level", g->levels[l], "arms",
                                              g->arm_text[l][0], g->arm_text[l][1], "estimate",
                                              num(g->estimate[l]), "ci", num(g->lo[l]), num(g->hi[l])));
    json_object_set_new(subs, g->id, json_pack("{s:s, s:o, s:o}", "label", g->label, "levels", levels,
                                               "p_interaction", num(g->p_interaction)));
  }
  json_object_set_new(root, "subgroups", subs);
  json_t *curves = json_object();
  for (size_t c = 0; c < r->ncurves; c++) {
    const lp_result_curve *k = &r->curves[c];
    json_t *t = json_array(), *s = json_array(), *cz = json_array();
    for (size_t i = 0; i < k->n; i++) {
      json_array_append_new(t, json_real(k->time[i]));
      json_array_append_new(s, json_real(k->surv[i]));
    }
    for (size_t i = 0; i < k->ncensor; i++) json_array_append_new(cz, json_real(k->censor[i]));
    json_t *per = json_object_get(curves, k->id);
    if (!per) {
      per = json_object();
      json_object_set_new(curves, k->id, per);
    }
    json_object_set_new(per, k->arm,
                        json_pack("{s:o, s:o, s:o, s:[I,I,I,I,I]}", "time", t, "surv", s, "censored", cz,
                                  "at_risk_days_0_7_14_21_28", (json_int_t)k->at_risk[0], (json_int_t)k->at_risk[1],
                                  (json_int_t)k->at_risk[2], (json_int_t)k->at_risk[3], (json_int_t)k->at_risk[4]));
  }
  json_object_set_new(root, "curves", curves);
  if (in->consort) {
    const lp_consort_figure *f = in->consort;
    json_t *reasons = json_array();
    for (size_t i = 0; i < f->nreasons; i++)
      json_array_append_new(reasons, json_pack("{s:s, s:I}", "reason", f->reasons[i].text, "count",
                                               (json_int_t)f->reasons[i].count));
    json_t *arms = json_array();
    for (int a = 0; a < 2; a++)
      json_array_append_new(arms, json_pack("{s:s, s:I, s:I, s:I}", "arm", f->arm[a].name, "assigned",
                                            (json_int_t)f->arm[a].assigned, "received", (json_int_t)f->arm[a].received,
                                            "analysed", (json_int_t)f->arm[a].analysed));
    json_object_set_new(root, "consort",
                        json_pack("{s:I, s:I, s:o, s:I, s:o}", "assessed", (json_int_t)f->assessed, "excluded",
                                  (json_int_t)f->excluded, "reasons", reasons, "randomised",
                                  (json_int_t)f->randomised, "arms", arms));
  }
  return root;
}

/* ---- figures ---- */

typedef lp_status (*figure_fn)(const void *fig, const lp_fig_target *to, lp_error *err);
static lp_status fig_km(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_km(f, t, e); }
static lp_status fig_forest(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_forest(f, t, e); }
static lp_status fig_lines(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_lines(f, t, e); }
static lp_status fig_consort(const void *f, const lp_fig_target *t, lp_error *e) { return lp_figure_consort(f, t, e); }

/* Render a figure as NAME.svg/.pdf/.png in dir, and inline into the HTML. */
static lp_status put_figure(const char *dir, const char *name, figure_fn fn, const void *fig, lp_strbuf *html,
                            const char *caption, lp_error *err) {
  static const char *const ext[3] = {"svg", "pdf", "png"};
  for (int k = 0; k < 3; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[k]);
    lp_fig_target to = {(lp_fig_format)k, path, NULL};
    lp_status st = fn(fig, &to, err);
    if (st) return st;
  }
  char *svg = NULL;
  lp_fig_target mem = {LP_FIG_SVG, NULL, &svg};
  lp_status st = fn(fig, &mem, err);
  if (st) return st;
  /* Drop the XML declaration for inline use. */
  const char *start = strstr(svg, "<svg");
  lp_strbuf_printf(html, "<figure id=\"%s\">\n%s\n<figcaption>", name, start ? start : svg);
  sb_html(html, caption, false);
  lp_strbuf_puts(html, "</figcaption>\n</figure>\n");
  free(svg);
  return LP_OK;
}

/* Kaplan-Meier figure from the curves of the plan row with role `role` (none: no figure). */
static lp_status km_figure(const lp_report_input *in, const char *dir, lp_plan_role role, const char *name,
                           const char *title, const char *ylabel, bool falling, lp_strbuf *html, lp_error *err) {
  const lp_results *r = in->results;
  const lp_result *row = lp_results_find_role(r, role);
  if (!row) return LP_OK;
  const char *id = row->id;
  lp_fig_series s[2];
  long at_risk[10];
  size_t ns = 0;
  /* Weaning curves are shown as 1 - S (the proportion weaned), rising. */
  double *inv[2] = {NULL, NULL};
  for (size_t c = 0; c < r->ncurves && ns < 2; c++) {
    const lp_result_curve *k = &r->curves[c];
    if (strcmp(k->id, id)) continue;
    int a = strcmp(k->arm, r->arms[0]) ? 1 : 0;
    const double *y = k->surv;
    if (!falling) {
      inv[ns] = malloc((k->n ? k->n : 1) * sizeof(double));
      if (!inv[ns]) return lp_error_set(err, LP_ENOMEM, "out of memory");
      for (size_t i = 0; i < k->n; i++) inv[ns][i] = 1 - k->surv[i];
      y = inv[ns];
    }
    s[a] = (lp_fig_series){in->arm_labels[a], k->n, k->time, y, NULL, NULL, k->ncensor, k->censor};
    for (int t = 0; t < 5; t++) at_risk[a * 5 + t] = k->at_risk[t];
    ns++;
  }
  lp_status st = LP_OK;
  if (ns == 2) {
    char note[160] = "";
    if (isfinite(row->estimate))
      snprintf(note, sizeof note, "Adjusted hazard ratio %.2f (95%% CI %.2f to %.2f); P = %s", row->estimate,
               row->ci[0], row->ci[1], row->p_text);
    static const double days[5] = {0, 7, 14, 21, 28};
    lp_km_figure f = {title, "Days since randomization", ylabel, 28, 7, 0, 2, s, 5, days, at_risk,
                      note[0] ? note : NULL};
    st = put_figure(dir, name, fig_km, &f, html, title, err);
  }
  free(inv[0]);
  free(inv[1]);
  return st;
}

static lp_status forest_figure(const lp_report_input *in, const char *dir, lp_strbuf *html, lp_error *err) {
  const lp_results *r = in->results;
  if (!r->nsubgroups) return LP_OK;
  lp_forest_row rows[80];
  char texts[80][2][64];
  size_t n = 0;
  double lo = 0, hi = 0;
  const lp_result *all = lp_results_find_role(r, LP_PLAN_ROLE_PRIMARY);
  if (all) {
    snprintf(texts[n][0], sizeof texts[n][0], "%.2f vs %.2f", all->arm_stat[0][0], all->arm_stat[1][0]);
    rows[n] = (lp_forest_row){"All patients (mean daily SOFA)", false, all->estimate, all->ci[0], all->ci[1],
                              texts[n][0], NULL};
    lo = fmin(lo, all->ci[0]), hi = fmax(hi, all->ci[1]);
    n++;
  }
  for (size_t g = 0; g < r->nsubgroups && n < 70; g++) {
    const lp_result_subgroup *sg = &r->subgroups[g];
    /* The figure shows the subgroups of the first outcome (the primary); the others
     * are in the table and subgroups.csv. */
    if (strcmp(sg->section, r->subgroups[0].section)) continue;
    snprintf(texts[n][1], sizeof texts[n][1], "P = %.2f", sg->p_interaction);
    rows[n] = (lp_forest_row){sg->label, true, NAN, NAN, NAN, NULL, texts[n][1]};
    n++;
    for (size_t l = 0; l < sg->nlevels && n < 78; l++) {
      snprintf(texts[n][0], sizeof texts[n][0], "%s vs %s", sg->arm_text[l][0], sg->arm_text[l][1]);
      rows[n] = (lp_forest_row){sg->levels[l], false, sg->estimate[l], sg->lo[l], sg->hi[l], texts[n][0], NULL};
      if (isfinite(sg->lo[l])) lo = fmin(lo, sg->lo[l]);
      if (isfinite(sg->hi[l])) hi = fmax(hi, sg->hi[l]);
      n++;
    }
  }
  double span = fmax(fabs(lo), fabs(hi));
  span = ceil(span > 0 ? span : 1);
  char l0[64], l1[64];
  snprintf(l0, sizeof l0, "%s better", in->arm_labels[0]);
  snprintf(l1, sizeof l1, "%s better", in->arm_labels[1]);
  lp_forest_figure f = {"Mean daily SOFA score in prespecified subgroups",
                        "Difference in mean daily SOFA score (95% CI)", "Mean score", "Heterogeneity", 0, -span,
                        span, false, l0, l1, n, rows};
  return put_figure(dir, "figure_subgroups", fig_forest, &f, html,
                    "Subgroup analyses: difference in mean daily SOFA score, with the permutation test of heterogeneity.",
                    err);
}

/* ---- the whole report ---- */

static lp_status write_text(const char *dir, const char *name, const lp_strbuf *b, lp_error *err) {
  if (b->nomem) return lp_error_set(err, LP_ENOMEM, "out of memory writing %s", name);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return lp__write_file(path, b->p ? b->p : "", b->len, err);
}

static const char *css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:960px;margin:2em auto;color:#111;"
    "line-height:1.35;padding:0 1em}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2.2em}"
    "table{border-collapse:collapse;width:100%;font-size:.86em}th{text-align:left;border-bottom:2px solid #333;"
    "padding:4px 6px;vertical-align:bottom}td{padding:3px 6px;border-bottom:1px solid #ddd;vertical-align:top}"
    "td.num{white-space:nowrap;text-align:right}th:not(:first-child){text-align:right}"
    "tr.section td{font-weight:bold;background:#f3f3f3}td.indent{padding-left:1.6em}"
    "ul.notes{font-size:.8em;color:#444}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}"
    "figcaption{font-size:.85em;color:#333}.meta{color:#555;font-size:.9em}nav a{margin-right:1em}";

lp_status lp_report_write(const lp_report_input *in, const char *dir, lp_error *err) {
  if (!in->results || !in->arm_labels[0] || !in->arm_labels[1])
    return lp_error_set(err, LP_EINVAL, "a report needs results and the two arm labels");
  char work[4096];
  lp_status st = lp__make_staging_dir(dir, work, sizeof work, err);
  if (st) return st;
  st = lp_report_write_into(in, work, err);
  if (!st) st = lp__replace_dir(work, dir, err);
  if (st) lp__remove_tree(work);
  return st;
}

lp_status lp_report_write_into(const lp_report_input *in, const char *work, lp_error *err) {
  if (!in->results || !in->arm_labels[0] || !in->arm_labels[1])
    return lp_error_set(err, LP_EINVAL, "a report needs results and the two arm labels");
  lp_status st = LP_OK;
  lp_strbuf html = {0}, md = {0}, csv = {0};
  const lp_results *r = in->results;
  lp_strbuf_printf(&html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
  sb_html(&html, in->title ? in->title : "Trial report", false);
  lp_strbuf_printf(&html, "</title><style>%s</style></head><body>\n<h1>", css);
  sb_html(&html, in->title ? in->title : "Trial report", false);
  lp_strbuf_puts(&html, "</h1>\n");
  if (in->subtitle) {
    lp_strbuf_puts(&html, "<p class=\"meta\">");
    sb_html(&html, in->subtitle, false);
    lp_strbuf_puts(&html, "</p>\n");
  }
  lp_strbuf_printf(&html, "<p class=\"meta\">Bootstrap: %zu resamples within arms; permutation tests: %zu permutations; "
                   "seed %llu. Every number below is also in report.json.</p>\n",
            r->bootstrap, r->permutations, (unsigned long long)r->seed);
  lp_strbuf_puts(&html, "<nav><a href=\"#figure1\">Figure 1</a><a href=\"#table1\">Table 1</a><a href=\"#table2\">Table 2</a>"
                "<a href=\"#table3\">Table 3</a><a href=\"#figure2\">Figure 2</a><a href=\"#figure_subgroups\">Subgroups</a>"
                "<a href=\"#figure_sofa\">Daily SOFA</a></nav>\n");
  lp_strbuf_printf(&md, "# %s\n\n%s%s", in->title ? in->title : "Trial report", in->subtitle ? in->subtitle : "",
            in->subtitle ? "\n\n" : "");
  if (in->consort) {
    lp_strbuf_puts(&html, "<h2>Figure 1. Recruitment and Randomization of the Patients</h2>\n");
    if ((st = put_figure(work, "figure1", fig_consort, in->consort, &html,
                         "Patients could meet more than one exclusion criterion.", err)))
      goto done;
    lp_strbuf_puts(&md, "![Figure 1](figure1.svg)\n\n");
  }
  for (size_t k = 0; k < NTABLES; k++) {
    bool any = false;
    for (size_t i = 0; i < r->n && !any; i++) any = !strcmp(r->rows[i].table, tables[k].id);
    if (!any) continue;
    table_html(&html, in, k);
    table_md(&md, in, k);
    csv.len = 0;
    table_csv(&csv, r, tables[k].id);
    char name[64];
    snprintf(name, sizeof name, "%s.csv", tables[k].id);
    if ((st = write_text(work, name, &csv, err))) goto done;
  }
  if ((st = km_figure(in, work, LP_PLAN_ROLE_SURVIVAL_FIGURE, "figure2", "Probability of Survival to Day 28",
                      "Probability of survival", true, &html, err)))
    goto done;
  if ((st = km_figure(in, work, LP_PLAN_ROLE_WEANING_FIGURE, "figure_weaning",
                      "Remaining on Mechanical Ventilation (Ventilated at Baseline)",
                      "Probability of remaining ventilated", true, &html, err)))
    goto done;
  const lp_result *survival = lp_results_find_role(r, LP_PLAN_ROLE_SURVIVAL_FIGURE),
                  *weaning = lp_results_find_role(r, LP_PLAN_ROLE_WEANING_FIGURE);
  for (size_t c = 0; c < r->ncurves; c++) {
    /* Link each Kaplan-Meier figure once (its first curve). */
    if (survival && !strcmp(r->curves[c].arm, r->arms[0]) && !strcmp(r->curves[c].id, survival->id))
      lp_strbuf_puts(&md, "![Figure 2](figure2.svg)\n\n");
    if (weaning && !strcmp(r->curves[c].arm, r->arms[0]) && !strcmp(r->curves[c].id, weaning->id))
      lp_strbuf_puts(&md, "![Weaning](figure_weaning.svg)\n\n");
  }
  if ((st = forest_figure(in, work, &html, err))) goto done;
  if (r->nsubgroups) {
    csv.len = 0;
    lp_strbuf_printf(&csv, "id,subgroup,level,%s,%s,estimate,lower,upper,p_interaction\n", r->arms[0], r->arms[1]);
    lp_strbuf_puts(&md, "## Subgroups\n\n| Outcome | Subgroup | Level | Difference (95% CI) | P for heterogeneity |\n|---|---|---|---:|---:|\n");
    for (size_t g = 0; g < r->nsubgroups; g++) {
      const lp_result_subgroup *sg = &r->subgroups[g];
      for (size_t l = 0; l < sg->nlevels; l++) {
        sb_csv(&csv, sg->id), lp_strbuf_puts(&csv, ",");
        sb_csv(&csv, sg->label), lp_strbuf_puts(&csv, ",");
        sb_csv(&csv, sg->levels[l]);
        lp_strbuf_printf(&csv, ",%s,%s,%.10g,%.10g,%.10g,%.10g\n", sg->arm_text[l][0], sg->arm_text[l][1], sg->estimate[l],
                  sg->lo[l], sg->hi[l], sg->p_interaction);
        lp_strbuf_printf(&md, "| %s | %s | %s | %.2f (%.2f to %.2f) | |\n", l ? "" : sg->section, l ? "" : sg->label,
                  sg->levels[l], sg->estimate[l], sg->lo[l], sg->hi[l]);
      }
      lp_strbuf_printf(&md, "| | | heterogeneity | | %.2f |\n", sg->p_interaction);
    }
    lp_strbuf_puts(&md, "\n![Subgroups](figure_subgroups.svg)\n\n");
    if ((st = write_text(work, "subgroups.csv", &csv, err))) goto done;
  }
  if (in->daily_sofa) {
    if ((st = put_figure(work, "figure_sofa", fig_lines, in->daily_sofa, &html,
                         "Daily total SOFA score (five systems) by arm: mean and 95% CI among patients in the ICU that day.",
                         err)))
      goto done;
    lp_strbuf_puts(&md, "![Daily SOFA](figure_sofa.svg)\n\n");
  }
  lp_strbuf_puts(&html, "</body></html>\n");
  if ((st = write_text(work, "report.html", &html, err)) || (st = write_text(work, "report.md", &md, err))) goto done;
  json_t *j = results_json(in);
  char *text = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
  json_decref(j);
  if (!text) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory building report.json");
    goto done;
  }
  char path[4200];
  snprintf(path, sizeof path, "%s/report.json", work);
  st = lp__write_file(path, text, strlen(text), err);
  free(text);
  if (!st && in->analysis_csv) {
    snprintf(path, sizeof path, "%s/analysis.csv", work);
    st = lp__write_file(path, in->analysis_csv, in->analysis_csv_len, err);
  }
  if (!st && in->tte_csv) {
    snprintf(path, sizeof path, "%s/time_to_event.csv", work);
    st = lp__write_file(path, in->tte_csv, in->tte_csv_len, err);
  }
done:
  free(html.p);
  free(md.p);
  free(csv.p);
  return st;
}
