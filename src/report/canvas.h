/* Drawing surface shared by the figure files of the report module: one cairo
 * context whatever the output (SVG, PDF, PNG, SVG in memory), and the few text and
 * line primitives the figures use. Files are written to a temporary name and
 * renamed, so a failed figure never leaves a half-written file. */
#ifndef LEOPARDS_CANVAS_H
#define LEOPARDS_CANVAS_H

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>

#include <leopards/figure.h>

typedef struct lp__canvas {
  cairo_surface_t *surface;
  cairo_t *cr;
  lp_fig_format format;
  char tmp[4096];  /* temporary file, renamed to the target on success */
  char *buf;       /* in-memory SVG */
  size_t len, cap;
  bool nomem;
} lp__canvas;

lp_status lp__canvas_open(lp__canvas *c, const lp_fig_target *to, double width, double height,
                          lp_error *err);
/* Finish and write; on failure nothing is left at the target. */
lp_status lp__canvas_close(lp__canvas *c, const lp_fig_target *to, lp_error *err);

enum { LP__LEFT = 0, LP__CENTRE = 1, LP__RIGHT = 2 };
/* Text with its baseline at y; returns its width. */
double lp__text(cairo_t *cr, double x, double y, const char *s, double size, int align, bool bold);
double lp__text_width(cairo_t *cr, const char *s, double size, bool bold);
void lp__line(cairo_t *cr, double x0, double y0, double x1, double y1, double width);
void lp__colour(cairo_t *cr, size_t series);
/* "%g"-like tick label without trailing noise. */
void lp__tick_label(char *buf, size_t n, double v);

#endif
