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

#include <leopards/outdir.h>

#include "report/fsutil.h"

/* ---- text output ---- */

/* HTML text; with `numeric`, a hyphen before a digit becomes a minus sign. */
static void sb_html(lp_strbuf *b, const char *s, bool numeric) {
  for (const char *p = s; *p; p++) {
    switch (*p) {
      case '<':
        lp_strbuf_puts(b, "&lt;");
        break;
      case '>':
        lp_strbuf_puts(b, "&gt;");
        break;
      case '&':
        lp_strbuf_puts(b, "&amp;");
        break;
      case '"':
        lp_strbuf_puts(b, "&quot;");
        break;
      case '-':
        if (numeric && (p[1] >= '0' && p[1] <= '9')) lp_strbuf_puts(b, "&minus;");
        else
          lp_strbuf_puts(b, "-");
        break;
      default:
        lp_strbuf_put(b, p, 1);
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

/* `anchor` is the table's id in the HTML: unique in the page, never a figure's. */
static const struct {
  const char *id, *anchor, *title, *first_col;
  bool effect;
} tables[] = {
    {"table1", "table1", "Table 1. Baseline Characteristics", "Characteristic", false},
    {"table2", "table2", "Table 2. Acute Illness and Physiological Variables at Baseline", "Variable", false},
    {"table3", "table3", "Table 3. Clinical Outcomes", "Outcome", true},
    {"figure2", "time_to_event", "Time-to-Event Outcomes (Cox Regression)", "Outcome", true},
};
#define NTABLES (sizeof tables / sizeof tables[0])

/* ---- footnotes ---- */

/* A table's footnotes, NEJM style: * for the table as a whole, then †, ‡, §, ¶, ‖,
 * **, ††, ... in the order the rows first use them, each text once. */
enum { MAXNOTES = 48, NOTELEN = 400 };
typedef struct {
  size_t n;
  char text[MAXNOTES][NOTELEN];
} notes;

static void marker(size_t k, char *buf, size_t n) {
  static const char *const sym[6] = {"*", "†", "‡", "§", "¶", "‖"};
  size_t i = k + 1; /* 0 is the table's own "*" */
  buf[0] = '\0';
  for (size_t rep = 0; rep <= i / 6 && strlen(buf) + 4 < n; rep++) strcat(buf, sym[i % 6]);
}

/* A marker in Markdown: asterisks escaped. */
static void md_marker(lp_strbuf *b, const char *mk) {
  for (const char *q = mk; *q; q++) {
    if (*q == '*') lp_strbuf_puts(b, "\\*");
    else
      lp_strbuf_put(b, q, 1);
  }
}

static size_t note_add(notes *ns, const char *text) {
  for (size_t i = 0; i < ns->n; i++)
    if (!strcmp(ns->text[i], text)) return i;
  if (ns->n == MAXNOTES) return MAXNOTES - 1;
  snprintf(ns->text[ns->n], NOTELEN, "%s", text);
  return ns->n++;
}

/* Sentence case and a full stop. */
static void sentence(char *dst, size_t n, const char *s) {
  snprintf(dst, n, "%s", s);
  if (dst[0] >= 'a' && dst[0] <= 'z') dst[0] = (char)(dst[0] - 'a' + 'A');
  size_t len = strlen(dst);
  if (len && dst[len - 1] != '.' && len + 1 < n) dst[len] = '.', dst[len + 1] = '\0';
}

/* The notes of one row, registered in `ns`; their indexes go to idx (at most 4). */
static size_t row_notes(const lp_report_input *in, size_t k, const lp_result *x, notes *ns, size_t idx[4]) {
  size_t m = 0;
  char t[NOTELEN];
  if (tables[k].effect && x->method[0] && !x->not_estimable[0]) {
    sentence(t, sizeof t, x->method);
    idx[m++] = note_add(ns, t);
  }
  if (x->note[0]) {
    sentence(t, sizeof t, x->note);
    idx[m++] = note_add(ns, t);
  }
  /* Baseline summaries of a measured value: how many patients had one. */
  if (!tables[k].effect && !x->note[0] && (!strncmp(x->method, "median", 6) || !strncmp(x->method, "mean", 4)) &&
      (x->arm_n[0] < in->results->arm_n[0] || x->arm_n[1] < in->results->arm_n[1])) {
    snprintf(t, sizeof t, "Recorded in %ld of %ld patients in the %s group and %ld of %ld in the %s group.",
             x->arm_n[0], in->results->arm_n[0], in->results->arms[0], x->arm_n[1], in->results->arm_n[1],
             in->results->arms[1]);
    idx[m++] = note_add(ns, t);
  }
  if (x->not_estimable[0]) {
    snprintf(t, sizeof t, "Not estimable: %s.", x->not_estimable);
    idx[m++] = note_add(ns, t);
  }
  return m;
}

/* The note on a table as a whole (its "*"), or NULL. */
static const char *table_note(size_t k) {
  if (!strcmp(tables[k].id, "table3"))
    return "Plus-minus values are means ±SD. Absolute differences between percent values are percentage points. "
           "The interval and test of each row are given in the footnote its marker points to. ICU denotes intensive "
           "care unit.";
  if (!strcmp(tables[k].id, "figure2")) return "Hazard ratios are for the first group as compared with the second.";
  return NULL;
}

static const char *effect_heading(const lp_results *r, size_t k) {
  if (strcmp(tables[k].id, "figure2")) return "Absolute Difference";
  bool adjusted = true, any = false;
  for (size_t i = 0; i < r->n; i++)
    if (!strcmp(r->rows[i].table, tables[k].id))
      any = true, adjusted = adjusted && strstr(r->rows[i].method, "adjusted");
  return any && adjusted ? "Adjusted Hazard Ratio" : "Hazard Ratio";
}

static void table_html(lp_strbuf *b, const lp_report_input *in, size_t k) {
  const lp_results *r = in->results;
  const char *tnote = table_note(k);
  notes *ns = calloc(1, sizeof *ns);
  if (!ns) {
    b->nomem = true;
    return;
  }
  lp_strbuf_printf(b, "<h2 id=\"%s\">", tables[k].anchor);
  sb_html(b, tables[k].title, false);
  if (tnote) lp_strbuf_puts(b, "<sup>*</sup>");
  lp_strbuf_printf(b, "</h2>\n<table>\n<thead><tr><th>%s</th>", tables[k].first_col);
  for (int a = 0; a < 2; a++) {
    lp_strbuf_puts(b, "<th><span class=\"nowrap\">");
    sb_html(b, in->arm_labels[a], false);
    lp_strbuf_printf(b, "</span><br><span class=\"nowrap\">(N = %ld)</span></th>", r->arm_n[a]);
  }
  if (tables[k].effect)
    lp_strbuf_printf(b,
                     "<th><span class=\"nowrap\">%s</span> <span class=\"nowrap\">(95%% CI)</span></th>"
                     "<th class=\"nowrap\">P Value</th>",
                     effect_heading(r, k));
  lp_strbuf_puts(b, "</tr></thead>\n<tbody>\n");
  const char *section = "", *subsection = "";
  int ncol = tables[k].effect ? 5 : 3;
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, tables[k].id)) continue;
    if (strcmp(x->section, section) && x->section[0]) {
      lp_strbuf_printf(b, "<tr class=\"section\"><td colspan=\"%d\">", ncol);
      sb_html(b, x->section, false);
      lp_strbuf_puts(b, "</td></tr>\n");
      subsection = "";
    }
    section = x->section;
    if (strcmp(x->subsection, subsection) && x->subsection[0]) {
      lp_strbuf_printf(b, "<tr class=\"subsection\"><td colspan=\"%d\"%s>", ncol,
                       x->section[0] ? " class=\"indent\"" : "");
      sb_html(b, x->subsection, false);
      lp_strbuf_puts(b, "</td></tr>\n");
    }
    subsection = x->subsection;
    int depth = (x->section[0] ? 1 : 0) + (x->subsection[0] ? 1 : 0);
    lp_strbuf_printf(b, "<tr data-row=\"%s\"><td%s>", x->id,
                     depth == 2 ? " class=\"indent2\""
                     : depth    ? " class=\"indent\""
                                : "");
    sb_html(b, x->label, false);
    size_t idx[4], m = row_notes(in, k, x, ns, idx);
    if (m) {
      lp_strbuf_puts(b, "<sup>");
      for (size_t j = 0; j < m; j++) {
        char mk[16];
        marker(idx[j], mk, sizeof mk);
        lp_strbuf_printf(b, "%s%s", j ? "," : "", mk);
      }
      lp_strbuf_puts(b, "</sup>");
    }
    lp_strbuf_puts(b, "</td>");
    for (int a = 0; a < 2; a++) {
      lp_strbuf_puts(b, "<td class=\"num\">");
      sb_html(b, x->arm_text[a][0] ? x->arm_text[a] : "—", true);
      lp_strbuf_puts(b, "</td>");
    }
    if (tables[k].effect) {
      lp_strbuf_puts(b, "<td class=\"num\">");
      sb_html(b, x->effect_text[0] && !x->not_estimable[0] ? x->effect_text : "—", true);
      lp_strbuf_puts(b, "</td><td class=\"num\">");
      sb_html(b, x->p_text[0] && !x->not_estimable[0] ? x->p_text : "—", false);
      lp_strbuf_puts(b, "</td>");
    }
    lp_strbuf_puts(b, "</tr>\n");
  }
  lp_strbuf_puts(b, "</tbody>\n</table>\n");
  if (tnote || ns->n) {
    lp_strbuf_puts(b, "<div class=\"notes\">\n");
    if (tnote) {
      lp_strbuf_puts(b, "<p><sup>*</sup>&nbsp;");
      sb_html(b, tnote, false);
      lp_strbuf_puts(b, "</p>\n");
    }
    for (size_t j = 0; j < ns->n; j++) {
      char mk[16];
      marker(j, mk, sizeof mk);
      lp_strbuf_printf(b, "<p><sup>%s</sup>&nbsp;", mk);
      sb_html(b, ns->text[j], false);
      lp_strbuf_puts(b, "</p>\n");
    }
    lp_strbuf_puts(b, "</div>\n");
  }
  free(ns);
}

static void table_md(lp_strbuf *b, const lp_report_input *in, size_t k) {
  const lp_results *r = in->results;
  const char *tnote = table_note(k);
  notes *ns = calloc(1, sizeof *ns);
  if (!ns) {
    b->nomem = true;
    return;
  }
  lp_strbuf_printf(b, "## %s%s\n\n| %s | %s (N = %ld) | %s (N = %ld) |", tables[k].title, tnote ? "\\*" : "",
                   tables[k].first_col, in->arm_labels[0], r->arm_n[0], in->arm_labels[1], r->arm_n[1]);
  if (tables[k].effect) lp_strbuf_printf(b, " %s (95%% CI) | P Value |", effect_heading(r, k));
  lp_strbuf_printf(b, "\n|---|---:|---:|%s\n", tables[k].effect ? "---:|---:|" : "");
  const char *section = "", *subsection = "";
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *x = &r->rows[i];
    if (strcmp(x->table, tables[k].id)) continue;
    if (strcmp(x->section, section) && x->section[0]) {
      lp_strbuf_puts(b, "| **");
      sb_md(b, x->section);
      lp_strbuf_printf(b, "** | | |%s\n", tables[k].effect ? " | |" : "");
      subsection = "";
    }
    section = x->section;
    if (strcmp(x->subsection, subsection) && x->subsection[0]) {
      lp_strbuf_printf(b, "| %s", x->section[0] ? "&emsp;" : "");
      sb_md(b, x->subsection);
      lp_strbuf_printf(b, " | | |%s\n", tables[k].effect ? " | |" : "");
    }
    subsection = x->subsection;
    int depth = (x->section[0] ? 1 : 0) + (x->subsection[0] ? 1 : 0);
    lp_strbuf_printf(b, "| %s", depth == 2 ? "&emsp;&emsp;" : depth ? "&emsp;" : "");
    sb_md(b, x->label);
    size_t idx[4], m = row_notes(in, k, x, ns, idx);
    for (size_t j = 0; j < m; j++) {
      char mk[16];
      marker(idx[j], mk, sizeof mk);
      if (j) lp_strbuf_puts(b, ",");
      md_marker(b, mk);
    }
    lp_strbuf_printf(b, " | %s | %s |", x->arm_text[0][0] ? x->arm_text[0] : "—",
                     x->arm_text[1][0] ? x->arm_text[1] : "—");
    if (tables[k].effect)
      lp_strbuf_printf(b, " %s | %s |", x->effect_text[0] && !x->not_estimable[0] ? x->effect_text : "—",
                       x->p_text[0] && !x->not_estimable[0] ? x->p_text : "—");
    lp_strbuf_puts(b, "\n");
  }
  lp_strbuf_puts(b, "\n");
  if (tnote) lp_strbuf_printf(b, "\\* %s\n\n", tnote);
  for (size_t j = 0; j < ns->n; j++) {
    char mk[16];
    marker(j, mk, sizeof mk);
    md_marker(b, mk);
    lp_strbuf_printf(b, " %s\n\n", ns->text[j]);
  }
  free(ns);
}

static void table_csv(lp_strbuf *b, const lp_results *r, const char *table) {
  lp_strbuf_printf(b, "id,section,label,%s,%s,estimate,lower,upper,p,effect_text,p_text,method\n", r->arms[0],
                   r->arms[1]);
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
      json_array_append_new(
          arms, json_pack("{s:s, s:I, s:[o,o,o]}", "text", x->arm_text[a], "n", (json_int_t)x->arm_n[a], "stat",
                          num(x->arm_stat[a][0]), num(x->arm_stat[a][1]), num(x->arm_stat[a][2])));
    json_object_set_new(
        t, x->id,
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:[o,o], s:o, s:s, s:s, s:s, s:I, s:o}", "section", x->section, "label",
                  x->label, "kind", lp_analysis_kind_name(x->kind), "arms", arms, "estimate", num(x->estimate), "ci",
                  num(x->ci[0]), num(x->ci[1]), "p", num(x->p), "effect_text", x->effect_text, "p_text", x->p_text,
                  "method", x->method, "n_used", (json_int_t)x->n_used, "published", num(x->published)));
    json_t *row = json_object_get(t, x->id);
    if (x->subsection[0]) json_object_set_new(row, "subsection", json_string(x->subsection));
    if (x->note[0]) json_object_set_new(row, "note", json_string(x->note));
    if (x->not_estimable[0]) json_object_set_new(row, "not_estimable", json_string(x->not_estimable));
  }
  json_object_set_new(root, "tables", tabs);
  json_t *subs = json_object();
  for (size_t s = 0; s < r->nsubgroups; s++) {
    const lp_result_subgroup *g = &r->subgroups[s];
    json_t *levels = json_array();
    for (size_t l = 0; l < g->nlevels; l++)
      json_array_append_new(
          levels, json_pack("{s:s, s:[s,s], s:o, s:[o,o], s:I, s:[I,I], s:[o,o]}", "level", g->levels[l], "arms",
                            g->arm_text[l][0], g->arm_text[l][1], "estimate", num(g->estimate[l]), "ci", num(g->lo[l]),
                            num(g->hi[l]), "n", (json_int_t)g->n[l], "arm_n", (json_int_t)g->arm_n[l][0],
                            (json_int_t)g->arm_n[l][1], "arm_mean", num(g->arm_mean[l][0]), num(g->arm_mean[l][1])));
    char pt[16];
    lp_format_p(g->p_interaction, pt, sizeof pt);
    json_object_set_new(subs, g->id,
                        json_pack("{s:s, s:s, s:b, s:o, s:o, s:s}", "label", g->label, "outcome", g->section, "binary",
                                  g->binary, "levels", levels, "p_interaction", num(g->p_interaction), "p_text", pt));
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
      json_array_append_new(
          reasons, json_pack("{s:s, s:I}", "reason", f->reasons[i].text, "count", (json_int_t)f->reasons[i].count));
    json_t *arms = json_array();
    for (int a = 0; a < 2; a++) {
      json_t *arm = json_pack("{s:s, s:I, s:I, s:I}", "arm", f->arm[a].name, "assigned", (json_int_t)f->arm[a].assigned,
                              "received", (json_int_t)f->arm[a].received, "analysed", (json_int_t)f->arm[a].analysed);
      /* why not received, and the open-label crossovers, where there are any */
      if (f->arm[a].nnot) {
        json_t *why = json_array();
        for (size_t i = 0; i < f->arm[a].nnot; i++)
          json_array_append_new(why, json_pack("{s:s, s:I}", "reason", f->arm[a].not_received[i].text, "count",
                                               (json_int_t)f->arm[a].not_received[i].count));
        json_object_set_new(arm, "not_received", why);
      }
      if (f->arm[a].open_label > 0) json_object_set_new(arm, "open_label", json_integer(f->arm[a].open_label));
      json_array_append_new(arms, arm);
    }
    json_object_set_new(
        root, "consort",
        json_pack("{s:I, s:I, s:o, s:I, s:o}", "assessed", (json_int_t)f->assessed, "excluded", (json_int_t)f->excluded,
                  "reasons", reasons, "randomised", (json_int_t)f->randomised, "arms", arms));
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
    lp_km_figure f = {title,   "Days since randomization", ylabel, 28, 7, 0, 2, s, 5, days,
                      at_risk, note[0] ? note : NULL};
    st = put_figure(dir, name, fig_km, &f, html, title, err);
  }
  free(inv[0]);
  free(inv[1]);
  return st;
}

/* "P = 0.41", "P < 0.001", "P > 0.99" from a P value; "" when there is none. */
static void p_phrase(char *buf, size_t n, double p) {
  char t[16];
  lp_format_p(p, t, sizeof t);
  if (!t[0]) snprintf(buf, n, "%s", "");
  else if (t[0] == '<' || t[0] == '>')
    snprintf(buf, n, "P %c %s", t[0], t + 1);
  else
    snprintf(buf, n, "P = %s", t);
}

/* A number without a sign when it rounds to zero ("0.00", never "-0.00"). */
static void fixed(char *buf, size_t n, int digits, double v) {
  snprintf(buf, n, "%.*f", digits, v);
  if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)) memmove(buf, buf + 1, strlen(buf));
}

/* "0.61 (-0.07 to 1.29)" with digits decimals, or "—" when not estimable. */
static void effect_phrase(char *buf, size_t n, int digits, double est, double lo, double hi) {
  if (!isfinite(est) || !isfinite(lo) || !isfinite(hi)) {
    snprintf(buf, n, "—");
    return;
  }
  char e[32], l[32], h[32];
  fixed(e, sizeof e, digits, est);
  fixed(l, sizeof l, digits, lo);
  fixed(h, sizeof h, digits, hi);
  snprintf(buf, n, "%s (%s to %s)", e, l, h);
}

static const lp_result_subgroup *find_subgroup(const lp_results *r, const char *id) {
  for (size_t g = 0; g < r->nsubgroups; g++)
    if (!strcmp(r->subgroups[g].id, id)) return &r->subgroups[g];
  return NULL;
}

/* How a subgroup outcome is shown: binary outcomes as percentages and differences
 * in percentage points (Table 3's units), others as means and their difference. */
typedef struct {
  double scale;
  int digits;
  const char *arm_heading, *xlabel, *unit;
} sg_units;

static sg_units units_of(const lp_result_subgroup *sg) {
  if (sg->binary)
    return (sg_units){100, 1, "Deaths (%)", "Difference in percentage points (95% CI)", "percentage points"};
  return (sg_units){1, 2, "Mean", "Difference in means (95% CI)", "difference in means"};
}

/* The plan row of the whole population for a subgroup outcome (its first row in
 * Table 3 of the same outcome), for the forest plot's first line. */
static const lp_result *overall_row(const lp_results *r, const lp_result_subgroup *sg) {
  /* The first row comparing the arms on the same outcome column (found by what the
   * rows analyse, never by their ids). */
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *row = &r->rows[i];
    if (!strcmp(row->outcome, sg->outcome) &&
        (row->kind == LP_AN_MEAN || row->kind == LP_AN_MEDIAN || row->kind == LP_AN_BINARY || row->kind == LP_AN_COUNT))
      return row;
  }
  return NULL;
}

/* One forest plot per outcome of the subgroup rows: `section` names it. */
static lp_status forest_figure(const lp_report_input *in, const char *dir, const char *section, const char *name,
                               lp_strbuf *html, lp_error *err) {
  const lp_results *r = in->results;
  enum { MAXROWS = 80 };
  lp_forest_row rows[MAXROWS];
  char texts[MAXROWS][4][64];
  size_t n = 0;
  double lo = 0, hi = 0;
  const lp_result_subgroup *first = NULL;
  for (size_t g = 0; g < r->nsubgroups && !first; g++)
    if (!strcmp(r->subgroups[g].section, section)) first = &r->subgroups[g];
  if (!first) return LP_OK;
  sg_units u = units_of(first);
  const lp_result *all = overall_row(r, first);
  if (all) {
    double m0 = first->binary ? all->arm_stat[0][2] : all->arm_stat[0][0];
    double m1 = first->binary ? all->arm_stat[1][2] : all->arm_stat[1][0];
    snprintf(texts[n][0], 64, "%.*f vs %.*f", u.digits, m0, u.digits, m1);
    effect_phrase(texts[n][1], 64, u.digits, all->estimate * u.scale, all->ci[0] * u.scale, all->ci[1] * u.scale);
    snprintf(texts[n][2], 64, "%ld", all->n_used);
    rows[n] = (lp_forest_row){"All patients",
                              false,
                              all->estimate * u.scale,
                              all->ci[0] * u.scale,
                              all->ci[1] * u.scale,
                              texts[n][0],
                              texts[n][1],
                              texts[n][2],
                              NULL};
    if (isfinite(all->ci[0])) lo = fmin(lo, all->ci[0] * u.scale), hi = fmax(hi, all->ci[1] * u.scale);
    n++;
  }
  for (size_t g = 0; g < r->nsubgroups && n < MAXROWS - 9; g++) {
    const lp_result_subgroup *sg = &r->subgroups[g];
    if (strcmp(sg->section, section)) continue;
    p_phrase(texts[n][3], 64, sg->p_interaction);
    rows[n] = (lp_forest_row){sg->label, true, NAN, NAN, NAN, NULL, NULL, NULL, texts[n][3]};
    n++;
    for (size_t l = 0; l < sg->nlevels; l++) {
      snprintf(texts[n][0], 64, "%.*f vs %.*f", u.digits, sg->arm_mean[l][0] * u.scale, u.digits,
               sg->arm_mean[l][1] * u.scale);
      effect_phrase(texts[n][1], 64, u.digits, sg->estimate[l] * u.scale, sg->lo[l] * u.scale, sg->hi[l] * u.scale);
      snprintf(texts[n][2], 64, "%ld", sg->n[l]);
      rows[n] = (lp_forest_row){sg->levels[l],
                                false,
                                sg->estimate[l] * u.scale,
                                sg->lo[l] * u.scale,
                                sg->hi[l] * u.scale,
                                texts[n][0],
                                texts[n][1],
                                texts[n][2],
                                NULL};
      if (isfinite(sg->lo[l])) lo = fmin(lo, sg->lo[l] * u.scale);
      if (isfinite(sg->hi[l])) hi = fmax(hi, sg->hi[l] * u.scale);
      n++;
    }
  }
  /* A symmetric axis on a round number, so that 0 sits in the middle. */
  double span = fmax(fabs(lo), fabs(hi)), step = span > 20 ? 10 : span > 5 ? 5 : 1;
  span = ceil((span > 0 ? span : 1) / step) * step;
  char l0[64], l1[64], title[200], caption[400];
  snprintf(l0, sizeof l0, "%s better", in->arm_labels[0]);
  snprintf(l1, sizeof l1, "%s better", in->arm_labels[1]);
  snprintf(title, sizeof title, "%s in prespecified subgroups", section);
  snprintf(caption, sizeof caption,
           "Subgroup analyses, %s: %s (%s minus %s) with 95%% confidence intervals; No. is the number of "
           "patients in the subgroup; P for heterogeneity by permutation.",
           section, u.unit, in->arm_labels[0], in->arm_labels[1]);
  lp_forest_figure f = {title, u.xlabel, u.arm_heading, "Difference (95% CI)", 0, -span, span, false, l0, l1,
                        n,     rows,     "No.",         "Heterogeneity"};
  return put_figure(dir, name, fig_forest, &f, html, caption, err);
}

/* The subgroup table: each outcome, each subgroup with its heterogeneity P, each
 * level with its n, the arms and the difference, in the same units as the figure. */
static void subgroup_table_html(lp_strbuf *b, const lp_report_input *in) {
  const lp_results *r = in->results;
  lp_strbuf_puts(b,
                 "<table class=\"subgroups\">\n<thead><tr><th>Subgroup</th><th class=\"nowrap\">No. of patients</th>");
  for (int a = 0; a < 2; a++) {
    lp_strbuf_puts(b, "<th>");
    sb_html(b, in->arm_labels[a], false);
    lp_strbuf_puts(b, "</th>");
  }
  lp_strbuf_puts(b,
                 "<th><span class=\"nowrap\">Difference</span> <span class=\"nowrap\">(95% CI)</span></th>"
                 "<th><span class=\"nowrap\">P for</span> heterogeneity</th></tr></thead>\n<tbody>\n");
  const char *section = NULL;
  notes *ns = calloc(1, sizeof *ns);
  if (!ns) {
    b->nomem = true;
    return;
  }
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *row = &r->rows[i];
    if (strcmp(row->table, "subgroups")) continue;
    const lp_result_subgroup *sg = find_subgroup(r, row->id);
    if (!section || strcmp(section, row->section)) {
      lp_strbuf_puts(b, "<tr class=\"section\"><td colspan=\"6\">");
      sb_html(b, row->section, false);
      if (sg)
        lp_strbuf_printf(b, " (%s%s)", sg->binary ? "deaths, % of patients; difference in " : "means; ",
                         units_of(sg).unit);
      lp_strbuf_puts(b, "</td></tr>\n");
      section = row->section;
    }
    if (!sg) {
      /* Not estimable: the subgroup with "—" and the reason. */
      char t[NOTELEN], mk[16];
      snprintf(t, sizeof t, "Not estimable: %s.", row->not_estimable[0] ? row->not_estimable : "no result");
      marker(note_add(ns, t), mk, sizeof mk);
      lp_strbuf_puts(b, "<tr class=\"subgroup\"><td>");
      sb_html(b, row->label, false);
      lp_strbuf_printf(b,
                       "<sup>%s</sup></td><td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td>"
                       "<td class=\"num\">—</td><td class=\"num\">—</td></tr>\n",
                       mk);
      continue;
    }
    sg_units u = units_of(sg);
    char p[32];
    p_phrase(p, sizeof p, sg->p_interaction);
    lp_strbuf_puts(b, "<tr class=\"subgroup\"><td>");
    sb_html(b, sg->label, false);
    lp_strbuf_puts(b, "</td><td></td><td></td><td></td><td></td><td class=\"num\">");
    sb_html(b, p[0] ? p + 4 : "—", true);
    lp_strbuf_puts(b, "</td></tr>\n");
    for (size_t l = 0; l < sg->nlevels; l++) {
      char e[96];
      effect_phrase(e, sizeof e, u.digits, sg->estimate[l] * u.scale, sg->lo[l] * u.scale, sg->hi[l] * u.scale);
      lp_strbuf_puts(b, "<tr><td class=\"indent\">");
      sb_html(b, sg->levels[l], false);
      lp_strbuf_printf(b, "</td><td class=\"num\">%ld</td>", sg->n[l]);
      for (int a = 0; a < 2; a++) {
        char t[48];
        if (sg->binary)
          snprintf(t, sizeof t, "%ld/%ld (%.1f)", lround(sg->arm_mean[l][a] * (double)sg->arm_n[l][a]), sg->arm_n[l][a],
                   100 * sg->arm_mean[l][a]);
        else if (sg->arm_n[l][a])
          snprintf(t, sizeof t, "%.2f", sg->arm_mean[l][a]);
        else
          snprintf(t, sizeof t, "—");
        lp_strbuf_puts(b, "<td class=\"num\">");
        sb_html(b, t, true);
        lp_strbuf_puts(b, "</td>");
      }
      lp_strbuf_puts(b, "<td class=\"num\">");
      sb_html(b, e, true);
      lp_strbuf_puts(b, "</td><td></td></tr>\n");
    }
  }
  lp_strbuf_puts(b, "</tbody>\n</table>\n");
  if (ns->n) {
    lp_strbuf_puts(b, "<div class=\"notes\">\n");
    for (size_t j = 0; j < ns->n; j++) {
      char mk[16];
      marker(j, mk, sizeof mk);
      lp_strbuf_printf(b, "<p><sup>%s</sup>&nbsp;", mk);
      sb_html(b, ns->text[j], false);
      lp_strbuf_puts(b, "</p>\n");
    }
    lp_strbuf_puts(b, "</div>\n");
  }
  free(ns);
}

/* The same in Markdown, and subgroups.csv. */
static void subgroup_table_md(lp_strbuf *md, lp_strbuf *csv, const lp_report_input *in) {
  const lp_results *r = in->results;
  lp_strbuf_printf(csv, "id,outcome,subgroup,level,n,%s_n,%s_n,%s,%s,estimate,lower,upper,unit,p_interaction\n",
                   r->arms[0], r->arms[1], r->arms[0], r->arms[1]);
  lp_strbuf_printf(md,
                   "## Subgroups\n\n| Subgroup | No. | %s | %s | Difference (95%% CI) | P for heterogeneity |\n"
                   "|---|---:|---:|---:|---:|---:|\n",
                   in->arm_labels[0], in->arm_labels[1]);
  const char *section = NULL;
  for (size_t i = 0; i < r->n; i++) {
    const lp_result *row = &r->rows[i];
    if (strcmp(row->table, "subgroups")) continue;
    const lp_result_subgroup *sg = find_subgroup(r, row->id);
    if (!section || strcmp(section, row->section)) {
      lp_strbuf_puts(md, "| **");
      sb_md(md, row->section);
      lp_strbuf_printf(md, "**%s%s%s | | | | | |\n", sg ? " (" : "", sg ? units_of(sg).unit : "", sg ? ")" : "");
      section = row->section;
    }
    if (!sg) {
      lp_strbuf_puts(md, "| ");
      sb_md(md, row->label);
      lp_strbuf_puts(md, " (not estimable: ");
      sb_md(md, row->not_estimable[0] ? row->not_estimable : "no result");
      lp_strbuf_puts(md, ") | — | — | — | — | — |\n");
      continue;
    }
    sg_units u = units_of(sg);
    char p[32];
    p_phrase(p, sizeof p, sg->p_interaction);
    lp_strbuf_puts(md, "| ");
    sb_md(md, sg->label);
    lp_strbuf_printf(md, " | | | | | %s |\n", p[0] ? p + 4 : "—");
    for (size_t l = 0; l < sg->nlevels; l++) {
      char e[96], m0[32], m1[32];
      effect_phrase(e, sizeof e, u.digits, sg->estimate[l] * u.scale, sg->lo[l] * u.scale, sg->hi[l] * u.scale);
      snprintf(m0, sizeof m0, "%.*f", u.digits, sg->arm_mean[l][0] * u.scale);
      snprintf(m1, sizeof m1, "%.*f", u.digits, sg->arm_mean[l][1] * u.scale);
      lp_strbuf_puts(md, "| &emsp;");
      sb_md(md, sg->levels[l]);
      lp_strbuf_printf(md, " | %ld | %s | %s | %s | |\n", sg->n[l], m0, m1, e);
      sb_csv(csv, sg->id), lp_strbuf_puts(csv, ",");
      sb_csv(csv, sg->section), lp_strbuf_puts(csv, ",");
      sb_csv(csv, sg->label), lp_strbuf_puts(csv, ",");
      sb_csv(csv, sg->levels[l]);
      lp_strbuf_printf(csv, ",%ld,%ld,%ld,%.10g,%.10g,%.10g,%.10g,%.10g,%s,%.10g\n", sg->n[l], sg->arm_n[l][0],
                       sg->arm_n[l][1], sg->arm_mean[l][0] * u.scale, sg->arm_mean[l][1] * u.scale,
                       sg->estimate[l] * u.scale, sg->lo[l] * u.scale, sg->hi[l] * u.scale,
                       sg->binary ? "percentage points" : "difference", sg->p_interaction);
    }
  }
  lp_strbuf_puts(md, "\n");
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
    ".notes{font-size:.8em;color:#444}.notes p{margin:.2em 0}.nowrap{white-space:nowrap}td.indent2{padding-left:3em}"
    "tr.subsection td{font-style:normal}figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}"
    "figcaption{font-size:.85em;color:#333}.meta{color:#555;font-size:.9em}nav a{margin-right:1em}";

lp_status lp_report_write(const lp_report_input *in, const char *dir, lp_error *err) {
  if (!in->results || !in->arm_labels[0] || !in->arm_labels[1])
    return lp_error_set(err, LP_EINVAL, "a report needs results and the two arm labels");
  lp_outdir *od;
  lp_status st = lp_outdir_begin(dir, "report", &od, err);
  if (st) return st;
  st = lp_report_write_into(in, lp_outdir_path(od), err);
  if (st) {
    lp_outdir_abort(od);
    return st;
  }
  return lp_outdir_commit(od, err);
}

lp_status lp_report_write_into(const lp_report_input *in, const char *work, lp_error *err) {
  if (!in->results || !in->arm_labels[0] || !in->arm_labels[1])
    return lp_error_set(err, LP_EINVAL, "a report needs results and the two arm labels");
  lp_status st = LP_OK;
  lp_strbuf html = {0}, md = {0}, csv = {0};
  const lp_results *r = in->results;
  const lp_result *survival = lp_results_find_role(r, LP_PLAN_ROLE_SURVIVAL_FIGURE),
                  *weaning = lp_results_find_role(r, LP_PLAN_ROLE_WEANING_FIGURE);
  bool any_subgroup = false;
  json_t *j = NULL;
  char *text = NULL;
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
  lp_strbuf_printf(&html,
                   "<p class=\"meta\">Bootstrap: %zu resamples within arms; permutation tests: %zu permutations; "
                   "seed %llu. Every number below is also in report.json.</p>\n",
                   r->bootstrap, r->permutations, (unsigned long long)r->seed);
  lp_strbuf_puts(&html,
                 "<nav><a href=\"#figure1\">Figure 1</a><a href=\"#table1\">Table 1</a><a href=\"#table2\">Table 2</a>"
                 "<a href=\"#table3\">Table 3</a><a href=\"#figure2\">Figure 2</a><a href=\"#subgroups\">Subgroups</a>"
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
  for (size_t c = 0; c < r->ncurves; c++) {
    /* Link each Kaplan-Meier figure once (its first curve). */
    if (survival && !strcmp(r->curves[c].arm, r->arms[0]) && !strcmp(r->curves[c].id, survival->id))
      lp_strbuf_puts(&md, "![Figure 2](figure2.svg)\n\n");
    if (weaning && !strcmp(r->curves[c].arm, r->arms[0]) && !strcmp(r->curves[c].id, weaning->id))
      lp_strbuf_puts(&md, "![Weaning](figure_weaning.svg)\n\n");
  }
  for (size_t i = 0; i < r->n && !any_subgroup; i++) any_subgroup = !strcmp(r->rows[i].table, "subgroups");
  if (any_subgroup) {
    lp_strbuf_puts(&html, "<h2 id=\"subgroups\">Subgroup Analyses</h2>\n");
    /* One forest plot per outcome, in the plan's order. */
    size_t nfig = 0;
    bool death_fig = false;
    for (size_t g = 0; g < r->nsubgroups; g++) {
      bool seen = false;
      for (size_t h = 0; h < g && !seen; h++) seen = !strcmp(r->subgroups[h].section, r->subgroups[g].section);
      if (seen) continue;
      char name[64];
      if (nfig == 0) snprintf(name, sizeof name, "figure_subgroups");
      else if (r->subgroups[g].binary && !death_fig)
        snprintf(name, sizeof name, "figure_subgroups_death");
      else
        snprintf(name, sizeof name, "figure_subgroups_%zu", nfig + 1);
      death_fig = death_fig || (nfig > 0 && r->subgroups[g].binary);
      if ((st = forest_figure(in, work, r->subgroups[g].section, name, &html, err))) goto done;
      lp_strbuf_printf(&md, "![%s](%s.svg)\n\n", r->subgroups[g].section, name);
      nfig++;
    }
    subgroup_table_html(&html, in);
    csv.len = 0;
    subgroup_table_md(&md, &csv, in);
    if ((st = write_text(work, "subgroups.csv", &csv, err))) goto done;
  }
  if (in->daily_sofa) {
    if ((st = put_figure(
             work, "figure_sofa", fig_lines, in->daily_sofa, &html,
             "Daily total SOFA score (five systems) by arm: mean and 95% CI among patients in the ICU that day.", err)))
      goto done;
    lp_strbuf_puts(&md, "![Daily SOFA](figure_sofa.svg)\n\n");
  }
  lp_strbuf_puts(&html, "</body></html>\n");
  if ((st = write_text(work, "report.html", &html, err)) || (st = write_text(work, "report.md", &md, err))) goto done;
  j = results_json(in);
  text = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12)) : NULL;
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
