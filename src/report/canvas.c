/* One cairo surface for every output format, written atomically; text helpers. */
#include "report/canvas.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PNGs are drawn at twice the point size, for sharp text on screens. */
#define PNG_SCALE 2.0

lp_status lp_fig_format_from_path(const char *path, lp_fig_format *out, lp_error *err) {
  const char *dot = strrchr(path, '.');
  if (dot && !strcmp(dot, ".svg")) *out = LP_FIG_SVG;
  else if (dot && !strcmp(dot, ".pdf")) *out = LP_FIG_PDF;
  else if (dot && !strcmp(dot, ".png")) *out = LP_FIG_PNG;
  else return lp_error_set(err, LP_EINVAL, "%s: the figure format comes from the extension: .svg, .pdf or .png", path);
  return LP_OK;
}

static cairo_status_t mem_write(void *closure, const unsigned char *data, unsigned int length) {
  lp__canvas *c = closure;
  if (c->len + length + 1 > c->cap) {
    size_t cap = c->cap ? c->cap : 65536;
    while (c->len + length + 1 > cap) cap *= 2;
    char *p = realloc(c->buf, cap);
    if (!p) {
      c->nomem = true;
      return CAIRO_STATUS_NO_MEMORY;
    }
    c->buf = p;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, data, length);
  c->len += length;
  c->buf[c->len] = '\0';
  return CAIRO_STATUS_SUCCESS;
}

lp_status lp__canvas_open(lp__canvas *c, const lp_fig_target *to, double w, double h, lp_error *err) {
  memset(c, 0, sizeof *c);
  c->format = to->format;
  if (!to->path) {
    if (to->format != LP_FIG_SVG || !to->svg)
      return lp_error_set(err, LP_EINVAL, "a figure without a file must be SVG text");
    c->surface = cairo_svg_surface_create_for_stream(mem_write, c, w, h);
  } else {
    snprintf(c->tmp, sizeof c->tmp, "%s.tmp%ld", to->path, (long)getpid());
    switch (to->format) {
    case LP_FIG_SVG: c->surface = cairo_svg_surface_create(c->tmp, w, h); break;
    case LP_FIG_PDF: c->surface = cairo_pdf_surface_create(c->tmp, w, h); break;
    case LP_FIG_PNG:
      c->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)ceil(w * PNG_SCALE),
                                              (int)ceil(h * PNG_SCALE));
      break;
    default: return lp_error_set(err, LP_EINVAL, "unknown figure format");
    }
  }
  if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) {
    lp_status st = lp_error_set(err, LP_EIO, "%s: cannot create the figure: %s",
                                to->path ? to->path : "(memory)",
                                cairo_status_to_string(cairo_surface_status(c->surface)));
    cairo_surface_destroy(c->surface);
    if (c->tmp[0]) unlink(c->tmp);
    free(c->buf);
    memset(c, 0, sizeof *c);
    return st;
  }
  c->cr = cairo_create(c->surface);
  if (to->format == LP_FIG_PNG) cairo_scale(c->cr, PNG_SCALE, PNG_SCALE);
  /* White page, black ink. */
  cairo_set_source_rgb(c->cr, 1, 1, 1);
  cairo_paint(c->cr);
  cairo_set_source_rgb(c->cr, 0, 0, 0);
  cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_BUTT);
  return LP_OK;
}

lp_status lp__canvas_close(lp__canvas *c, const lp_fig_target *to, lp_error *err) {
  lp_status st = LP_OK;
  cairo_status_t cs = cairo_status(c->cr);
  cairo_destroy(c->cr);
  if (cs == CAIRO_STATUS_SUCCESS && to->path && to->format == LP_FIG_PNG)
    cs = cairo_surface_write_to_png(c->surface, c->tmp);
  cairo_surface_finish(c->surface);
  if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(c->surface);
  cairo_surface_destroy(c->surface);
  if (cs != CAIRO_STATUS_SUCCESS || c->nomem) {
    st = lp_error_set(err, c->nomem ? LP_ENOMEM : LP_EIO, "%s: cannot write the figure: %s",
                      to->path ? to->path : "(memory)",
                      c->nomem ? "out of memory" : cairo_status_to_string(cs));
  } else if (to->path) {
    if (rename(c->tmp, to->path) != 0)
      st = lp_error_set(err, LP_EIO, "%s: %s", to->path, strerror(errno));
  } else {
    *to->svg = c->buf;
    c->buf = NULL;
  }
  if (st && c->tmp[0]) unlink(c->tmp);
  free(c->buf);
  memset(c, 0, sizeof *c);
  return st;
}

static void set_font(cairo_t *cr, double size, bool bold) {
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double lp__text_width(cairo_t *cr, const char *s, double size, bool bold) {
  cairo_text_extents_t e;
  set_font(cr, size, bold);
  cairo_text_extents(cr, s, &e);
  return e.x_advance;
}

double lp__text(cairo_t *cr, double x, double y, const char *s, double size, int align, bool bold) {
  double w = lp__text_width(cr, s, size, bold);
  double x0 = align == LP__CENTRE ? x - w / 2 : align == LP__RIGHT ? x - w : x;
  cairo_move_to(cr, x0, y);
  cairo_show_text(cr, s);
  cairo_new_path(cr);
  return w;
}

void lp__line(cairo_t *cr, double x0, double y0, double x1, double y1, double width) {
  cairo_set_line_width(cr, width);
  cairo_move_to(cr, x0, y0);
  cairo_line_to(cr, x1, y1);
  cairo_stroke(cr);
}

void lp__colour(cairo_t *cr, size_t series) {
  /* Dark blue, dark red, green, purple: distinguishable in grey and by most
   * colour-blind readers; line styles differ too where it matters. */
  static const double rgb[][3] = {{0.12, 0.31, 0.47}, {0.70, 0.16, 0.15}, {0.25, 0.52, 0.24}, {0.45, 0.33, 0.55}};
  const double *c = rgb[series % 4];
  cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

void lp__tick_label(char *buf, size_t n, double v) {
  if (fabs(v) < 1e-12) v = 0;
  snprintf(buf, n, "%.6g", v);
}
