/* The figures' drawing surface: cairo for PDF and PNG, our own SVG writer for SVG
 * (real <text>, no element ids), both written atomically; text helpers. */
#include "report/canvas.h"

#include <cairo-pdf.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* PNGs are drawn at twice the point size, for sharp text on screens. */
#define PNG_SCALE 2.0
#define FONT_FAMILY "DejaVu Sans"

lp_status lp_fig_format_from_path(const char *path, lp_fig_format *out, lp_error *err) {
  const char *dot = strrchr(path, '.');
  if (dot && !strcmp(dot, ".svg")) *out = LP_FIG_SVG;
  else if (dot && !strcmp(dot, ".pdf"))
    *out = LP_FIG_PDF;
  else if (dot && !strcmp(dot, ".png"))
    *out = LP_FIG_PNG;
  else
    return lp_error_set(err, LP_EINVAL, "%s: the figure format comes from the extension: .svg, .pdf or .png", path);
  return LP_OK;
}

/* XML text: the five special characters escaped. */
static void xml_text(lp_strbuf *b, const char *s) { lp_strbuf_puts_markup(b, s); }

static lp_status open_failed(lp__canvas *c, const char *what, lp_error *err) {
  lp_status st = lp_error_set(err, LP_EIO, "%s: cannot create the figure: %s", what,
                              c->surface ? cairo_status_to_string(cairo_surface_status(c->surface)) : "no surface");
  if (c->surface) cairo_surface_destroy(c->surface);
  if (c->tmp[0]) unlink(c->tmp);
  memset(c, 0, sizeof *c);
  return st;
}

lp_status lp__canvas_scratch(lp__canvas *c, lp_error *err) {
  memset(c, 0, sizeof *c);
  c->measure_only = true;
  c->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 4, 4);
  if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) return open_failed(c, "(scratch)", err);
  c->cr = cairo_create(c->surface);
  return LP_OK;
}

lp_status lp__canvas_open(lp__canvas *c, const lp_fig_target *to, double w, double h, const char *title,
                          lp_error *err) {
  memset(c, 0, sizeof *c);
  c->format = to->format;
  if (!to->path && (to->format != LP_FIG_SVG || !to->svg))
    return lp_error_set(err, LP_EINVAL, "a figure without a file must be SVG text");
  if (to->path) snprintf(c->tmp, sizeof c->tmp, "%s.tmp%ld", to->path, (long)getpid());
  switch (to->format) {
    case LP_FIG_SVG:
      /* Text is measured with cairo (the same font metrics as the PNG and PDF). */
      c->svg = true;
      c->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 4, 4);
      break;
    case LP_FIG_PDF:
      c->surface = cairo_pdf_surface_create(c->tmp, w, h);
      break;
    case LP_FIG_PNG:
      c->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)ceil(w * PNG_SCALE), (int)ceil(h * PNG_SCALE));
      break;
    default:
      return lp_error_set(err, LP_EINVAL, "unknown figure format");
  }
  if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS)
    return open_failed(c, to->path ? to->path : "(memory)", err);
  c->cr = cairo_create(c->surface);
  if (c->svg) {
    lp_strbuf_puts(&c->out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    lp_strbuf_printf(&c->out,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%gpt\" height=\"%gpt\" viewBox=\"0 0 %g %g\" "
                     "role=\"img\" font-family=\"" FONT_FAMILY ", Verdana, sans-serif\">\n",
                     w, h, w, h);
    if (title) {
      lp_strbuf_puts(&c->out, "<title>");
      xml_text(&c->out, title);
      lp_strbuf_puts(&c->out, "</title>\n");
    }
    lp_strbuf_printf(&c->out, "<rect x=\"0\" y=\"0\" width=\"%g\" height=\"%g\" fill=\"#ffffff\"/>\n", w, h);
  } else {
    if (to->format == LP_FIG_PNG) cairo_scale(c->cr, PNG_SCALE, PNG_SCALE);
    if (title && to->format == LP_FIG_PDF) cairo_pdf_surface_set_metadata(c->surface, CAIRO_PDF_METADATA_TITLE, title);
    /* White page, black ink. */
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_BUTT);
  }
  return LP_OK;
}

static lp_status close_svg(lp__canvas *c, const lp_fig_target *to, lp_error *err) {
  while (c->clips > 0) lp__clip_end(c);
  lp_strbuf_puts(&c->out, "</svg>\n");
  if (c->out.nomem || c->path.nomem || c->nomem) return lp_error_set(err, LP_ENOMEM, "out of memory drawing a figure");
  if (!to->path) {
    *to->svg = c->out.p;
    c->out.p = NULL;
    return LP_OK;
  }
  FILE *f = fopen(c->tmp, "wb");
  if (!f) return lp_error_set(err, LP_EIO, "%s: %s", c->tmp, strerror(errno));
  bool ok = fwrite(c->out.p, 1, c->out.len, f) == c->out.len;
  ok = (fclose(f) == 0) && ok;
  if (!ok) return lp_error_set(err, LP_EIO, "%s: cannot write the figure", to->path);
  if (rename(c->tmp, to->path) != 0) return lp_error_set(err, LP_EIO, "%s: %s", to->path, strerror(errno));
  return LP_OK;
}

lp_status lp__canvas_close(lp__canvas *c, const lp_fig_target *to, lp_error *err) {
  lp_status st = LP_OK;
  cairo_status_t cs = cairo_status(c->cr);
  cairo_destroy(c->cr);
  if (c->measure_only || !to) {
    cairo_surface_destroy(c->surface);
  } else if (c->svg) {
    cairo_surface_destroy(c->surface);
    st = close_svg(c, to, err);
  } else {
    if (cs == CAIRO_STATUS_SUCCESS && to->path && to->format == LP_FIG_PNG)
      cs = cairo_surface_write_to_png(c->surface, c->tmp);
    cairo_surface_finish(c->surface);
    if (cs == CAIRO_STATUS_SUCCESS) cs = cairo_surface_status(c->surface);
    cairo_surface_destroy(c->surface);
    if (cs != CAIRO_STATUS_SUCCESS)
      st = lp_error_set(err, LP_EIO, "%s: cannot write the figure: %s", to->path ? to->path : "(memory)",
                        cairo_status_to_string(cs));
    else if (rename(c->tmp, to->path) != 0)
      st = lp_error_set(err, LP_EIO, "%s: %s", to->path, strerror(errno));
  }
  if (st && c->tmp[0]) unlink(c->tmp);
  lp_strbuf_clear(&c->out);
  lp_strbuf_clear(&c->path);
  memset(c, 0, sizeof *c);
  return st;
}

/* ---- ink ---- */

void lp__rgb(lp__canvas *c, double r, double g, double b) { c->rgb[0] = r, c->rgb[1] = g, c->rgb[2] = b; }

void lp__colour(lp__canvas *c, size_t series) {
  /* Dark blue, dark red, green, purple: distinguishable in grey and by most
   * colour-blind readers; line styles differ too where it matters. */
  static const double rgb[][3] = {{0.12, 0.31, 0.47}, {0.70, 0.16, 0.15}, {0.25, 0.52, 0.24}, {0.45, 0.33, 0.55}};
  const double *k = rgb[series % 4];
  lp__rgb(c, k[0], k[1], k[2]);
}

void lp__dash(lp__canvas *c, double on, double off) { c->dash[0] = on, c->dash[1] = off; }

static void svg_colour(lp__canvas *c, const char *attr) {
  int k[3];
  for (int i = 0; i < 3; i++) k[i] = (int)lround(fmin(fmax(c->rgb[i], 0), 1) * 255);
  lp_strbuf_printf(&c->out, " %s=\"#%02x%02x%02x\"", attr, k[0], k[1], k[2]);
}

/* ---- paths ---- */

void lp__move(lp__canvas *c, double x, double y) {
  if (c->measure_only) return;
  if (c->svg) lp_strbuf_printf(&c->path, "M%.2f %.2f", x, y);
  else
    cairo_move_to(c->cr, x, y);
}

void lp__lineto(lp__canvas *c, double x, double y) {
  if (c->measure_only) return;
  if (c->svg) lp_strbuf_printf(&c->path, "L%.2f %.2f", x, y);
  else
    cairo_line_to(c->cr, x, y);
}

void lp__rect(lp__canvas *c, double x, double y, double w, double h) {
  if (c->measure_only) return;
  if (c->svg) lp_strbuf_printf(&c->path, "M%.2f %.2fh%.2fv%.2fh%.2fZ", x, y, w, h, -w);
  else
    cairo_rectangle(c->cr, x, y, w, h);
}

void lp__circle(lp__canvas *c, double x, double y, double r) {
  if (c->measure_only) return;
  if (c->svg)
    lp_strbuf_printf(&c->path, "M%.2f %.2fa%.2f %.2f 0 1 0 %.2f 0a%.2f %.2f 0 1 0 %.2f 0Z", x - r, y, r, r, 2 * r, r, r,
                     -2 * r);
  else {
    cairo_new_sub_path(c->cr);
    cairo_arc(c->cr, x, y, r, 0, 2 * M_PI);
  }
}

void lp__stroke(lp__canvas *c, double width) {
  if (c->measure_only) return;
  if (c->svg) {
    if (c->path.len) {
      lp_strbuf_printf(&c->out, "<path d=\"%s\" fill=\"none\"", c->path.p);
      svg_colour(c, "stroke");
      lp_strbuf_printf(&c->out, " stroke-width=\"%g\"", width);
      if (c->dash[0] > 0) lp_strbuf_printf(&c->out, " stroke-dasharray=\"%g %g\"", c->dash[0], c->dash[1]);
      lp_strbuf_puts(&c->out, "/>\n");
    }
    c->path.len = 0;
    return;
  }
  cairo_set_source_rgb(c->cr, c->rgb[0], c->rgb[1], c->rgb[2]);
  cairo_set_line_width(c->cr, width);
  if (c->dash[0] > 0) cairo_set_dash(c->cr, c->dash, 2, 0);
  else
    cairo_set_dash(c->cr, NULL, 0, 0);
  cairo_stroke(c->cr);
}

void lp__fill(lp__canvas *c) {
  if (c->measure_only) return;
  if (c->svg) {
    if (c->path.len) {
      lp_strbuf_printf(&c->out, "<path d=\"%s\"", c->path.p);
      svg_colour(c, "fill");
      lp_strbuf_puts(&c->out, "/>\n");
    }
    c->path.len = 0;
    return;
  }
  cairo_set_source_rgb(c->cr, c->rgb[0], c->rgb[1], c->rgb[2]);
  cairo_fill(c->cr);
}

void lp__line(lp__canvas *c, double x0, double y0, double x1, double y1, double width) {
  lp__move(c, x0, y0);
  lp__lineto(c, x1, y1);
  lp__stroke(c, width);
}

void lp__clip_begin(lp__canvas *c, double x, double y, double w, double h) {
  if (c->measure_only) return;
  if (c->svg) {
    /* A nested viewport clips without needing a clipPath id. */
    lp_strbuf_printf(&c->out,
                     "<svg x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" viewBox=\"%.2f %.2f %.2f %.2f\" "
                     "overflow=\"hidden\">\n",
                     x, y, w, h, x, y, w, h);
    c->clips++;
    return;
  }
  cairo_save(c->cr);
  cairo_rectangle(c->cr, x, y, w, h);
  cairo_clip(c->cr);
}

void lp__clip_end(lp__canvas *c) {
  if (c->measure_only) return;
  if (c->svg) {
    if (c->clips > 0) lp_strbuf_puts(&c->out, "</svg>\n"), c->clips--;
    return;
  }
  cairo_restore(c->cr);
}

/* ---- text ---- */

static void set_font(cairo_t *cr, double size, bool bold) {
  cairo_select_font_face(cr, FONT_FAMILY, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

void lp__text_class(lp__canvas *c, const char *cls) { c->cls = cls; }

double lp__text_width(lp__canvas *c, const char *s, double size, bool bold) {
  cairo_text_extents_t e;
  set_font(c->cr, size, bold);
  cairo_text_extents(c->cr, s, &e);
  return e.x_advance;
}

static void svg_text_open(lp__canvas *c, double size, bool bold, const char *anchor) {
  lp_strbuf_printf(&c->out, " font-size=\"%g\"", size);
  if (bold) lp_strbuf_puts(&c->out, " font-weight=\"bold\"");
  if (anchor) lp_strbuf_printf(&c->out, " text-anchor=\"%s\"", anchor);
  svg_colour(c, "fill");
  if (c->cls) lp_strbuf_printf(&c->out, " class=\"%s\"", c->cls);
  lp_strbuf_puts(&c->out, ">");
}

double lp__text(lp__canvas *c, double x, double y, const char *s, double size, int align, bool bold) {
  double w = lp__text_width(c, s, size, bold);
  if (c->measure_only) return w;
  if (c->svg) {
    /* The browser aligns with its own font metrics; the anchor keeps right-aligned
     * columns right-aligned whatever font it has. */
    lp_strbuf_printf(&c->out, "<text x=\"%.2f\" y=\"%.2f\"", x, y);
    svg_text_open(c, size, bold, align == LP__CENTRE ? "middle" : align == LP__RIGHT ? "end" : NULL);
    xml_text(&c->out, s);
    lp_strbuf_puts(&c->out, "</text>\n");
    return w;
  }
  double x0 = align == LP__CENTRE ? x - w / 2 : align == LP__RIGHT ? x - w : x;
  cairo_set_source_rgb(c->cr, c->rgb[0], c->rgb[1], c->rgb[2]);
  cairo_move_to(c->cr, x0, y);
  cairo_show_text(c->cr, s);
  cairo_new_path(c->cr);
  return w;
}

void lp__text_up(lp__canvas *c, double x, double y, const char *s, double size) {
  if (c->measure_only) return;
  if (c->svg) {
    lp_strbuf_printf(&c->out, "<text transform=\"translate(%.2f %.2f) rotate(-90)\" x=\"0\" y=\"0\"", x, y);
    svg_text_open(c, size, false, "middle");
    xml_text(&c->out, s);
    lp_strbuf_puts(&c->out, "</text>\n");
    return;
  }
  cairo_save(c->cr);
  cairo_translate(c->cr, x, y);
  cairo_rotate(c->cr, -M_PI / 2);
  lp__text(c, 0, 0, s, size, LP__CENTRE, false);
  cairo_restore(c->cr);
}

void lp__tick_label(char *buf, size_t n, double v) {
  if (fabs(v) < 1e-12) v = 0;
  snprintf(buf, n, "%.6g", v);
}
