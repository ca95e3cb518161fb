/* The interim reports' document writer (report module, not public): headings,
 * paragraphs and tables written at once as HTML, Markdown, a CSV file per table and
 * report.json, and figures as SVG, PDF and PNG files and inline SVG, into one folder. */
#ifndef LEOPARDS_INTERIM_DOC_H
#define LEOPARDS_INTERIM_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include <leopards/core.h>
#include <leopards/figure.h>
#include <leopards/strbuf.h>

/* A table: cells row by row, ncols per row. */
typedef struct lp__grid {
  size_t ncols, ncells, cap;
  char (*cell)[160];
} lp__grid;
void lp__grid_init(lp__grid *g, size_t ncols);
void lp__grid_add(lp__grid *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lp__grid_clear(lp__grid *g);

typedef struct lp__doc {
  const char *dir;       /* the folder written into */
  const char *banner;    /* first line of every file ("CONFIDENTIAL: closed report"), or NULL */
  const char *generated; /* the generation time, on its own line in each text file */
  lp_strbuf html, md;
  json_t *json; /* report.json: {"title", "generated", "tables": {...}, ...} */
  json_t *tables;
  bool nomem;
} lp__doc;

/* Start a document titled `title` with `subtitle` (may be NULL). */
lp_status lp__doc_begin(lp__doc *d, const char *dir, const char *title, const char *subtitle, const char *banner,
                        const char *generated, lp_error *err);
void lp__doc_heading(lp__doc *d, const char *id, const char *text);
void lp__doc_para(lp__doc *d, const char *text);
/* A table with its column headings (the grid's first row), written also as ID.csv and
 * under "tables"."ID" in report.json (an array of objects keyed by the headings). */
lp_status lp__doc_table(lp__doc *d, const char *id, const lp__grid *g, const char *note, lp_error *err);
typedef lp_status (*lp__figure_fn)(const void *fig, const lp_fig_target *to, lp_error *err);
lp_status lp__doc_figure(lp__doc *d, const char *name, lp__figure_fn fn, const void *fig, const char *caption,
                         lp_error *err);
/* Write report.html, report.md and report.json and free the document. */
lp_status lp__doc_end(lp__doc *d, lp_error *err);
void lp__doc_free(lp__doc *d);

/* Shared by the two interim reports (interim.c). */
#include <leopards/derive.h>
#include <leopards/report.h>
/* The generation time: o->generated_at, or now (UTC, to the second). */
void lp__interim_generated(const lp_interim_options *o, char *buf, size_t n);
/* A new temporary folder for an export, and its removal (its files, then itself). */
lp_status lp__interim_temp_dir(char *buf, size_t n, lp_error *err);
void lp__interim_remove_temp(const char *dir);
/* Derive the data set from the export `exp` and run the plan, by the derived arms, or
 * with `pooled` on every patient as one group (the results' first arm). */
lp_status lp__interim_analyse(const char *exp, const lp_interim_options *o, bool pooled, lp_derived *dv,
                              lp_results *res, lp_error *err);

#endif
