/* The interim reports' document writer: one call per heading, paragraph, table or
 * figure writes it into the HTML page, the Markdown text, report.json and (tables)
 * a CSV file, so that every format holds the same content in the same order. */
#include "report/interim_doc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/fsutil.h"

void lp__grid_init(lp__grid *g, size_t ncols) { memset(g, 0, sizeof *g), g->ncols = ncols; }

void lp__grid_add(lp__grid *g, const char *fmt, ...) {
  if (g->ncells == g->cap) {
    size_t cap = g->cap ? 2 * g->cap : 64;
    void *p = realloc(g->cell, cap * sizeof *g->cell);
    if (!p) return; /* the cell is dropped; lp__doc_table refuses a ragged grid */
    g->cell = p;
    g->cap = cap;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g->cell[g->ncells++], sizeof g->cell[0], fmt, ap);
  va_end(ap);
}

void lp__grid_clear(lp__grid *g) {
  free(g->cell);
  memset(g, 0, sizeof *g);
}

static void sb_html(lp_strbuf *b, const char *s) { lp_strbuf_puts_markup(b, s); }

static void sb_md(lp_strbuf *b, const char *s) {
  for (const char *p = s; *p; p++) {
    if (*p == '|' || *p == '*' || *p == '_') lp_strbuf_puts(b, "\\");
    lp_strbuf_put(b, p, 1);
  }
}

static void sb_csv(lp_strbuf *b, const char *s) {
  if (!strpbrk(s, ",\"\n\r")) {
    lp_strbuf_puts(b, s);
    return;
  }
  lp_strbuf_puts(b, "\"");
  for (const char *p = s; *p; p++) {
    if (*p == '"') lp_strbuf_puts(b, "\"");
    lp_strbuf_put(b, p, 1);
  }
  lp_strbuf_puts(b, "\"");
}

static const char *css =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:960px;margin:2em auto;color:#111;"
    "line-height:1.35;padding:0 1em}h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em}"
    "table{border-collapse:collapse;width:100%;font-size:.86em;margin:.8em 0}th{text-align:left;"
    "border-bottom:2px solid #333;padding:4px 6px;vertical-align:bottom}td{padding:3px 6px;"
    "border-bottom:1px solid #ddd;vertical-align:top}td:not(:first-child){white-space:nowrap;text-align:right}"
    "th:not(:first-child){text-align:right}.notes{font-size:.8em;color:#444}.meta{color:#555;font-size:.9em}"
    "figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:.85em;color:#333}"
    ".banner{font-weight:bold;color:#a00000;border:2px solid #a00000;padding:.4em .8em;letter-spacing:.04em}";

lp_status lp__doc_begin(lp__doc *d, const char *dir, const char *title, const char *subtitle, const char *banner,
                        const char *generated, lp_error *err) {
  memset(d, 0, sizeof *d);
  d->dir = dir;
  d->banner = banner;
  d->generated = generated;
  d->json = json_object();
  d->tables = json_object();
  if (!d->json || !d->tables) {
    lp__doc_free(d);
    return lp_error_set(err, LP_ENOMEM, "out of memory starting a report");
  }
  if (banner) json_object_set_new(d->json, "confidential", json_string(banner));
  json_object_set_new(d->json, "title", json_string(title));
  json_object_set_new(d->json, "generated", json_string(generated));
  if (subtitle) json_object_set_new(d->json, "subtitle", json_string(subtitle));
  json_object_set_new(d->json, "tables", d->tables);
  lp_strbuf_puts(&d->html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
  sb_html(&d->html, title);
  lp_strbuf_printf(&d->html, "</title><style>%s</style></head><body>\n", css);
  if (banner) {
    lp_strbuf_puts(&d->html, "<p class=\"banner\">");
    sb_html(&d->html, banner);
    lp_strbuf_puts(&d->html, "</p>\n");
    lp_strbuf_printf(&d->md, "**%s**\n\n", banner);
  }
  lp_strbuf_puts(&d->html, "<h1>");
  sb_html(&d->html, title);
  lp_strbuf_puts(&d->html, "</h1>\n");
  lp_strbuf_puts(&d->md, "# ");
  sb_md(&d->md, title);
  lp_strbuf_puts(&d->md, "\n\n");
  if (subtitle) lp__doc_para(d, subtitle);
  /* The generation time on a line of its own in every text file (the one line that
   * differs between two reports from the same snapshot and seed). */
  lp_strbuf_printf(&d->html, "<p class=\"meta\">\nGenerated: %s\n</p>\n", generated);
  lp_strbuf_printf(&d->md, "Generated: %s\n\n", generated);
  return LP_OK;
}

void lp__doc_heading(lp__doc *d, const char *id, const char *text) {
  lp_strbuf_printf(&d->html, "<h2 id=\"%s\">", id);
  sb_html(&d->html, text);
  lp_strbuf_puts(&d->html, "</h2>\n");
  lp_strbuf_puts(&d->md, "## ");
  sb_md(&d->md, text);
  lp_strbuf_puts(&d->md, "\n\n");
}

void lp__doc_para(lp__doc *d, const char *text) {
  lp_strbuf_puts(&d->html, "<p>");
  sb_html(&d->html, text);
  lp_strbuf_puts(&d->html, "</p>\n");
  sb_md(&d->md, text);
  lp_strbuf_puts(&d->md, "\n\n");
}

lp_status lp__doc_table(lp__doc *d, const char *id, const lp__grid *g, const char *note, lp_error *err) {
  size_t nc = g->ncols;
  if (!nc || g->ncells % nc || g->ncells < nc) return lp_error_set(err, LP_ENOMEM, "out of memory building %s", id);
  size_t nr = g->ncells / nc;
  lp_strbuf csv = {0};
  if (d->banner) lp_strbuf_printf(&csv, "# %s\n", d->banner);
  json_t *rows = json_array();
  lp_strbuf_printf(&d->html, "<table id=\"table-%s\">\n<thead><tr>", id);
  for (size_t r = 0; r < nr; r++) {
    const char(*row)[160] = g->cell + r * nc;
    if (r == 1) lp_strbuf_puts(&d->html, "</tr></thead>\n<tbody>\n");
    if (r > 0) lp_strbuf_puts(&d->html, "<tr>");
    json_t *o = r ? json_object() : NULL;
    lp_strbuf_puts(&d->md, "|");
    for (size_t c = 0; c < nc; c++) {
      lp_strbuf_puts(&d->html, r ? "<td>" : "<th>");
      sb_html(&d->html, row[c]);
      lp_strbuf_puts(&d->html, r ? "</td>" : "</th>");
      lp_strbuf_puts(&d->md, " ");
      sb_md(&d->md, row[c]);
      lp_strbuf_puts(&d->md, " |");
      if (c) lp_strbuf_puts(&csv, ",");
      sb_csv(&csv, row[c]);
      if (o) json_object_set_new(o, g->cell[c], json_string(row[c]));
    }
    if (o) json_array_append_new(rows, o);
    lp_strbuf_puts(&d->html, r ? "</tr>\n" : "");
    lp_strbuf_puts(&d->md, "\n");
    lp_strbuf_puts(&csv, "\n");
    if (r == 0) {
      lp_strbuf_puts(&d->md, "|");
      for (size_t c = 0; c < nc; c++) lp_strbuf_puts(&d->md, c ? "---:|" : "---|");
      lp_strbuf_puts(&d->md, "\n");
    }
  }
  if (nr == 1) lp_strbuf_puts(&d->html, "</tr></thead>\n<tbody>\n");
  lp_strbuf_puts(&d->html, "</tbody></table>\n");
  lp_strbuf_puts(&d->md, "\n");
  json_t *t = json_pack("{s:o}", "rows", rows);
  if (note) {
    lp_strbuf_puts(&d->html, "<div class=\"notes\"><p>");
    sb_html(&d->html, note);
    lp_strbuf_puts(&d->html, "</p></div>\n");
    sb_md(&d->md, note);
    lp_strbuf_puts(&d->md, "\n\n");
    json_object_set_new(t, "note", json_string(note));
  }
  json_object_set_new(d->tables, id, t);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.csv", d->dir, id);
  lp_status st = csv.nomem ? lp_error_set(err, LP_ENOMEM, "out of memory writing %s", path)
                           : lp__write_file(path, csv.p ? csv.p : "", csv.len, err);
  free(csv.p);
  return st;
}

lp_status lp__doc_figure(lp__doc *d, const char *name, lp__figure_fn fn, const void *fig, const char *caption,
                         lp_error *err) {
  static const char *const ext[3] = {"svg", "pdf", "png"};
  for (int k = 0; k < 3; k++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.%s", d->dir, name, ext[k]);
    lp_fig_target to = {(lp_fig_format)k, path, NULL};
    lp_status st = fn(fig, &to, err);
    if (st) return st;
  }
  char *svg = NULL;
  lp_fig_target mem = {LP_FIG_SVG, NULL, &svg};
  lp_status st = fn(fig, &mem, err);
  if (st) return st;
  const char *start = strstr(svg, "<svg");
  lp_strbuf_printf(&d->html, "<figure id=\"%s\">\n%s\n<figcaption>", name, start ? start : svg);
  sb_html(&d->html, caption);
  lp_strbuf_puts(&d->html, "</figcaption>\n</figure>\n");
  free(svg);
  lp_strbuf_printf(&d->md, "![%s](%s.svg)\n\n", caption, name);
  json_t *figs = json_object_get(d->json, "figures");
  if (!figs) json_object_set_new(d->json, "figures", figs = json_array());
  json_array_append_new(figs, json_pack("{s:s, s:s}", "name", name, "caption", caption));
  return LP_OK;
}

void lp__doc_free(lp__doc *d) {
  free(d->html.p);
  free(d->md.p);
  json_decref(d->json);
  memset(d, 0, sizeof *d);
}

lp_status lp__doc_end(lp__doc *d, lp_error *err) {
  lp_strbuf_puts(&d->html, "</body></html>\n");
  char path[4200];
  lp_status st = LP_OK;
  if (d->html.nomem || d->md.nomem) st = lp_error_set(err, LP_ENOMEM, "out of memory writing the report");
  if (!st) {
    snprintf(path, sizeof path, "%s/report.html", d->dir);
    st = lp__write_file(path, d->html.p, d->html.len, err);
  }
  if (!st) {
    snprintf(path, sizeof path, "%s/report.md", d->dir);
    st = lp__write_file(path, d->md.p, d->md.len, err);
  }
  if (!st) {
    /* One key per line (JSON_INDENT), so the generation time is a line of its own. */
    char *text = json_dumps(d->json, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (!text) st = lp_error_set(err, LP_ENOMEM, "out of memory building report.json");
    else {
      snprintf(path, sizeof path, "%s/report.json", d->dir);
      st = lp__write_file(path, text, strlen(text), err);
      free(text);
    }
  }
  lp__doc_free(d);
  return st;
}
