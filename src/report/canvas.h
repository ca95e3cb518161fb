/* Drawing surface shared by the figure files of the report module, with two
 * backends behind one set of primitives: cairo for PDF and PNG, and an SVG writer
 * of our own for SVG (files and inline HTML), whose text is real <text> (selectable,
 * searchable, read by screen readers) and which uses no element ids at all, so any
 * number of figures can share one HTML document. Files are written to a temporary
 * name and renamed, so a failed figure never leaves a half-written file. */
#ifndef LEOPARDS_CANVAS_H
#define LEOPARDS_CANVAS_H

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>

#include <leopards/figure.h>
#include <leopards/strbuf.h>

typedef struct lp__canvas {
  bool svg;                 /* the SVG writer; else cairo draws */
  bool measure_only;        /* a scratch canvas: measures text, writes nothing */
  cairo_surface_t *surface; /* cairo output, or the scratch surface that measures text */
  cairo_t *cr;
  lp_fig_format format;
  char tmp[4096]; /* temporary file, renamed to the target on success */
  lp_strbuf out;  /* SVG text */
  lp_strbuf path; /* SVG: the path being built ("d") */
  double rgb[3];
  double dash[2];  /* on, off; on == 0: solid */
  const char *cls; /* SVG: class of the text drawn next (title, axis, risk, ...) */
  int clips;       /* SVG: open clip regions */
  bool nomem;
} lp__canvas;

lp_status lp__canvas_open(lp__canvas *c, const lp_fig_target *to, double width, double height, const char *title,
                          lp_error *err);
/* A canvas that only measures text (for layouts computed before drawing). */
lp_status lp__canvas_scratch(lp__canvas *c, lp_error *err);
/* Finish and write; on failure nothing is left at the target. A scratch canvas is
 * just released (pass to NULL). */
lp_status lp__canvas_close(lp__canvas *c, const lp_fig_target *to, lp_error *err);

enum { LP__LEFT = 0, LP__CENTRE = 1, LP__RIGHT = 2 };

/* Ink. */
void lp__rgb(lp__canvas *c, double r, double g, double b);
void lp__colour(lp__canvas *c, size_t series);
void lp__dash(lp__canvas *c, double on, double off); /* on == 0: solid */
/* Paths: build, then stroke or fill (either ends the path). */
void lp__move(lp__canvas *c, double x, double y);
void lp__lineto(lp__canvas *c, double x, double y);
void lp__rect(lp__canvas *c, double x, double y, double w, double h);
void lp__circle(lp__canvas *c, double x, double y, double r);
void lp__stroke(lp__canvas *c, double width);
void lp__fill(lp__canvas *c);
void lp__line(lp__canvas *c, double x0, double y0, double x1, double y1, double width);
/* Everything drawn until lp__clip_end is cut to the rectangle. */
void lp__clip_begin(lp__canvas *c, double x, double y, double w, double h);
void lp__clip_end(lp__canvas *c);

/* The class given to the text drawn next (SVG only; NULL: none), so that a reader or
 * a test can tell a title from a number at risk. */
void lp__text_class(lp__canvas *c, const char *cls);
/* Text with its baseline at y; returns its width. */
double lp__text(lp__canvas *c, double x, double y, const char *s, double size, int align, bool bold);
/* Text turned a quarter left (reading upwards), centred on x, y. */
void lp__text_up(lp__canvas *c, double x, double y, const char *s, double size);
double lp__text_width(lp__canvas *c, const char *s, double size, bool bold);
/* "%g"-like tick label without trailing noise. */
void lp__tick_label(char *buf, size_t n, double v);

#endif
