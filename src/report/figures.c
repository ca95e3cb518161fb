/* The figures of the report: Kaplan-Meier curves with numbers at risk, forest
 * plot, line chart with interval bars, CONSORT flow diagram. Sizes are in points. */
#include <leopards/figure.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/canvas.h"

#define FONT 9.0
#define SMALL 8.0

/* ------------------------------------------------------------ Kaplan-Meier */

lp_status lp_figure_km(const lp_km_figure *f, const lp_fig_target *to, lp_error *err) {
  if (!f->nseries || !(f->xmax > 0) || !(f->ymin < 1) || !(f->xstep > 0))
    return lp_error_set(err, LP_EINVAL, "Kaplan-Meier figure: no series or bad axis limits");
  /* The left margin holds the y labels and, below, the arm names of the at-risk table. */
  const double W = 500, left = 92, right = 24, top = f->title ? 34 : 16, ph = 250;
  const double risk_row = 14, risk_top = top + ph + 46;
  const double H = risk_top + 16 + risk_row * (double)f->nseries + (f->nrisk ? 10 : -16);
  const double pw = W - left - right;
  lp__canvas c;
  lp_status st = lp__canvas_open(&c, to, W, H, f->title, err);
  if (st) return st;
  lp__canvas *cv = &c;
#define KX(x) (left + (x) / f->xmax * pw)
#define KY(y) (top + (1 - ((y)-f->ymin) / (1 - f->ymin)) * ph)
  lp__text_class(cv, "title");
  if (f->title) lp__text(cv, left, 20, f->title, 11, LP__LEFT, true);
  lp__text_class(cv, "tick");
  /* Axes and ticks. */
  lp__rgb(cv, 0, 0, 0);
  lp__line(cv, left, top, left, top + ph, 0.8);
  lp__line(cv, left, top + ph, left + pw, top + ph, 0.8);
  char lab[32];
  for (double x = 0; x <= f->xmax + 1e-9; x += f->xstep) {
    lp__line(cv, KX(x), top + ph, KX(x), top + ph + 4, 0.8);
    lp__tick_label(lab, sizeof lab, x);
    lp__text(cv, KX(x), top + ph + 14, lab, FONT, LP__CENTRE, false);
  }
  double ystep = (1 - f->ymin) > 0.5 ? 0.2 : 0.1;
  for (double y = 1; y >= f->ymin - 1e-9; y -= ystep) {
    lp__line(cv, left - 4, KY(y), left, KY(y), 0.8);
    snprintf(lab, sizeof lab, "%.1f", y);
    lp__text(cv, left - 7, KY(y) + 3, lab, FONT, LP__RIGHT, false);
  }
  lp__text_class(cv, "xlabel");
  if (f->xlabel) lp__text(cv, left + pw / 2, top + ph + 30, f->xlabel, FONT, LP__CENTRE, false);
  lp__text_class(cv, "ylabel");
  if (f->ylabel) lp__text_up(cv, 18, top + ph / 2, f->ylabel, FONT);
  /* Curves: steps, then censoring ticks. */
  lp__clip_begin(cv, left, top - 2, pw + 2, ph + 4);
  for (size_t s = 0; s < f->nseries; s++) {
    const lp_fig_series *se = &f->series[s];
    lp__colour(cv, s);
    lp__dash(cv, s % 2 ? 5 : 0, 2.5);
    double yprev = 1;
    lp__move(cv, KX(0), KY(1));
    for (size_t i = 0; i < se->n; i++) {
      double x = fmin(se->x[i], f->xmax);
      lp__lineto(cv, KX(x), KY(yprev));
      lp__lineto(cv, KX(x), KY(se->y[i]));
      yprev = se->y[i];
    }
    lp__lineto(cv, KX(f->xmax), KY(yprev));
    lp__stroke(cv, 1.6);
    lp__dash(cv, 0, 0);
    for (size_t k = 0; k < se->nmarks; k++) {
      double x = se->mark_x[k], y = 1;
      if (x > f->xmax) continue;
      for (size_t i = 0; i < se->n && se->x[i] <= x; i++) y = se->y[i];
      lp__line(cv, KX(x), KY(y) - 3.5, KX(x), KY(y) + 3.5, 1.0);
    }
  }
  lp__clip_end(cv);
  /* Legend and annotation inside the plot, where the curves are not: bottom right
   * when every curve ends high (survival), top right when one ends low (weaning). */
  double lowest_end = 1;
  for (size_t s = 0; s < f->nseries; s++)
    if (f->series[s].n) lowest_end = fmin(lowest_end, f->series[s].y[f->series[s].n - 1]);
  bool at_top = lowest_end < f->ymin + 0.5 * (1 - f->ymin);
  double ly = at_top ? top + 16 : top + ph - 12 - 14 * (double)(f->nseries - 1) - (f->annotation ? 16 : 0);
  for (size_t s = 0; s < f->nseries; s++) {
    lp__colour(cv, s);
    lp__dash(cv, s % 2 ? 5 : 0, 2.5);
    lp__line(cv, left + pw - 150, ly + 14 * (double)s - 3, left + pw - 126, ly + 14 * (double)s - 3, 1.6);
    lp__dash(cv, 0, 0);
    lp__rgb(cv, 0, 0, 0);
    lp__text_class(cv, "legend");
    lp__text(cv, left + pw - 120, ly + 14 * (double)s, f->series[s].label, FONT, LP__LEFT, false);
  }
  if (f->annotation) {
    double ay = at_top ? ly + 14 * (double)f->nseries + 6 : top + ph - 10;
    lp__text_class(cv, "annotation");
    lp__text(cv, left + pw - 4, ay, f->annotation, SMALL, LP__RIGHT, false);
  }
  /* Numbers at risk. */
  if (f->nrisk) {
    lp__rgb(cv, 0, 0, 0);
    lp__text_class(cv, "risk-heading");
    lp__text(cv, 6, risk_top, "No. at risk", FONT, LP__LEFT, true);
    for (size_t s = 0; s < f->nseries; s++) {
      double y = risk_top + 14 + risk_row * (double)s;
      lp__colour(cv, s);
      lp__text_class(cv, "risk-arm");
      lp__text(cv, 6, y, f->series[s].label, SMALL, LP__LEFT, false);
      lp__text_class(cv, "risk");
      for (size_t k = 0; k < f->nrisk; k++) {
        if (f->risk_times[k] > f->xmax + 1e-9) continue;
        snprintf(lab, sizeof lab, "%ld", f->at_risk[s * f->nrisk + k]);
        lp__text(cv, KX(f->risk_times[k]), y, lab, SMALL, LP__CENTRE, false);
      }
    }
  }
#undef KX
#undef KY
  return lp__canvas_close(&c, to, err);
}

/* ------------------------------------------------------------ forest plot */

lp_status lp_figure_forest(const lp_forest_figure *f, const lp_fig_target *to, lp_error *err) {
  if (!f->nrows || !(f->xmax > f->xmin) || (f->log_scale && !(f->xmin > 0)))
    return lp_error_set(err, LP_EINVAL, "forest plot: no rows or bad axis limits");
  bool has_n = false, has_p = false;
  for (size_t i = 0; i < f->nrows; i++) {
    has_n = has_n || f->rows[i].n_text;
    has_p = has_p || f->rows[i].p_text;
  }
  /* Columns: label | n | left text | plot | right text | P. */
  const double row = 17, label_w = 190, n_w = has_n ? 44 : 0, left_w = 110, plot_w = 200, right_w = 118;
  const double p_w = has_p ? 76 : 0;
  const double top = (f->title ? 30 : 10) + 16, W = label_w + n_w + left_w + plot_w + right_w + p_w + 20;
  const double H = top + row * (double)f->nrows + 58;
  lp__canvas c;
  lp_status st = lp__canvas_open(&c, to, W, H, f->title, err);
  if (st) return st;
  lp__canvas *cv = &c;
  const double x_n = 10 + label_w + n_w - 8, x_left = 10 + label_w + n_w + left_w - 8;
  const double x0 = 10 + label_w + n_w + left_w, x_right = x0 + plot_w + 10, x_p = x0 + plot_w + right_w + p_w;
  double a = f->log_scale ? log(f->xmin) : f->xmin, b = f->log_scale ? log(f->xmax) : f->xmax;
#define FX(v) (x0 + ((f->log_scale ? log(v) : (v)) - a) / (b - a) * plot_w)
  lp__text_class(cv, "title");
  if (f->title) lp__text(cv, 10, 20, f->title, 11, LP__LEFT, true);
  lp__text_class(cv, "heading");
  if (has_n) lp__text(cv, x_n, top - 6, f->n_heading ? f->n_heading : "No.", SMALL, LP__RIGHT, true);
  if (f->left_heading) lp__text(cv, x_left, top - 6, f->left_heading, SMALL, LP__RIGHT, true);
  if (f->right_heading) lp__text(cv, x_right, top - 6, f->right_heading, SMALL, LP__LEFT, true);
  if (has_p && f->p_heading) lp__text(cv, x_p, top - 6, f->p_heading, SMALL, LP__RIGHT, true);
  double bottom = top + row * (double)f->nrows;
  /* Reference line. */
  if (f->null_value >= f->xmin && f->null_value <= f->xmax) {
    lp__rgb(cv, 0.5, 0.5, 0.5);
    lp__dash(cv, 3, 2);
    lp__line(cv, FX(f->null_value), top, FX(f->null_value), bottom, 0.8);
    lp__dash(cv, 0, 0);
  }
  for (size_t i = 0; i < f->nrows; i++) {
    const lp_forest_row *r = &f->rows[i];
    double y = top + row * ((double)i + 0.5);
    lp__rgb(cv, 0, 0, 0);
    lp__text_class(cv, r->heading ? "row-heading" : "row-label");
    lp__text(cv, r->heading ? 10 : 18, y + 3, r->label, FONT, LP__LEFT, r->heading);
    lp__text_class(cv, "row-n");
    if (r->n_text) lp__text(cv, x_n, y + 3, r->n_text, SMALL, LP__RIGHT, false);
    lp__text_class(cv, "row-left");
    if (r->left_text) lp__text(cv, x_left, y + 3, r->left_text, SMALL, LP__RIGHT, false);
    lp__text_class(cv, "row-right");
    if (r->right_text) lp__text(cv, x_right, y + 3, r->right_text, SMALL, LP__LEFT, false);
    lp__text_class(cv, "row-p");
    if (r->p_text) lp__text(cv, x_p, y + 3, r->p_text, SMALL, LP__RIGHT, false);
    if (r->heading || !isfinite(r->estimate)) continue;
    double lo = fmax(r->lo, f->xmin), hi = fmin(r->hi, f->xmax);
    lp__colour(cv, 0);
    if (isfinite(lo) && isfinite(hi)) {
      lp__line(cv, FX(lo), y, FX(hi), y, 1.2);
      /* Arrow heads where the interval runs off the axis. */
      if (r->lo < f->xmin) {
        lp__move(cv, FX(lo), y);
        lp__lineto(cv, FX(lo) + 5, y - 3);
        lp__lineto(cv, FX(lo) + 5, y + 3);
        lp__fill(cv);
      }
      if (r->hi > f->xmax) {
        lp__move(cv, FX(hi), y);
        lp__lineto(cv, FX(hi) - 5, y - 3);
        lp__lineto(cv, FX(hi) - 5, y + 3);
        lp__fill(cv);
      }
    }
    if (r->estimate >= f->xmin && r->estimate <= f->xmax) {
      lp__rect(cv, FX(r->estimate) - 3.5, y - 3.5, 7, 7);
      lp__fill(cv);
    }
  }
  /* Axis. */
  lp__rgb(cv, 0, 0, 0);
  lp__line(cv, x0, bottom + 4, x0 + plot_w, bottom + 4, 0.8);
  char lab[32];
  lp__text_class(cv, "tick");
  for (int k = 0; k <= 4; k++) {
    double v = f->log_scale ? exp(a + (b - a) * k / 4) : f->xmin + (f->xmax - f->xmin) * k / 4;
    lp__line(cv, FX(v), bottom + 4, FX(v), bottom + 8, 0.8);
    if (f->log_scale) snprintf(lab, sizeof lab, "%.2g", v);
    else
      lp__tick_label(lab, sizeof lab, round(v * 1000) / 1000);
    lp__text(cv, FX(v), bottom + 18, lab, SMALL, LP__CENTRE, false);
  }
  lp__text_class(cv, "xlabel");
  if (f->xlabel) lp__text(cv, x0 + plot_w / 2, bottom + 32, f->xlabel, FONT, LP__CENTRE, false);
  lp__text_class(cv, "favours");
  if (f->favours_left) lp__text(cv, FX(f->null_value) - 4, bottom + 46, f->favours_left, SMALL, LP__RIGHT, false);
  if (f->favours_right) lp__text(cv, FX(f->null_value) + 4, bottom + 46, f->favours_right, SMALL, LP__LEFT, false);
#undef FX
  return lp__canvas_close(&c, to, err);
}

/* ------------------------------------------------------------ line chart */

lp_status lp_figure_lines(const lp_line_figure *f, const lp_fig_target *to, lp_error *err) {
  if (!f->nseries || !(f->xmax > f->xmin) || !(f->xstep > 0))
    return lp_error_set(err, LP_EINVAL, "line chart: no series or bad axis limits");
  double ymin = f->ymin, ymax = f->ymax;
  if (isnan(ymin) || isnan(ymax)) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t s = 0; s < f->nseries; s++)
      for (size_t i = 0; i < f->series[s].n; i++) {
        const lp_fig_series *se = &f->series[s];
        double l = se->lo ? se->lo[i] : se->y[i], h = se->hi ? se->hi[i] : se->y[i];
        if (isfinite(l)) lo = fmin(lo, l);
        if (isfinite(h)) hi = fmax(hi, h);
      }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (isnan(ymin)) ymin = floor(lo);
    if (isnan(ymax)) ymax = ceil(hi);
    if (ymax <= ymin) ymax = ymin + 1;
  }
  const double W = 480, left = 56, right = 20, top = f->title ? 34 : 16, ph = 230, H = top + ph + 44;
  const double pw = W - left - right;
  lp__canvas c;
  lp_status st = lp__canvas_open(&c, to, W, H, f->title, err);
  if (st) return st;
  lp__canvas *cv = &c;
#define LX(x) (left + ((x)-f->xmin) / (f->xmax - f->xmin) * pw)
#define LY(y) (top + (1 - ((y)-ymin) / (ymax - ymin)) * ph)
  lp__text_class(cv, "title");
  if (f->title) lp__text(cv, left, 20, f->title, 11, LP__LEFT, true);
  lp__text_class(cv, "tick");
  lp__line(cv, left, top, left, top + ph, 0.8);
  lp__line(cv, left, top + ph, left + pw, top + ph, 0.8);
  char lab[32];
  for (double x = ceil(f->xmin / f->xstep - 1e-9) * f->xstep; x <= f->xmax + 1e-9; x += f->xstep) {
    lp__line(cv, LX(x), top + ph, LX(x), top + ph + 4, 0.8);
    lp__tick_label(lab, sizeof lab, x);
    lp__text(cv, LX(x), top + ph + 14, lab, FONT, LP__CENTRE, false);
  }
  double span = ymax - ymin, ystep = span <= 2 ? 0.5 : span <= 5 ? 1 : span <= 10 ? 2 : span <= 25 ? 5 : 10;
  for (double y = ceil(ymin / ystep) * ystep; y <= ymax + 1e-9; y += ystep) {
    lp__line(cv, left - 4, LY(y), left, LY(y), 0.8);
    lp__tick_label(lab, sizeof lab, y);
    lp__text(cv, left - 7, LY(y) + 3, lab, FONT, LP__RIGHT, false);
  }
  lp__text_class(cv, "xlabel");
  if (f->xlabel) lp__text(cv, left + pw / 2, top + ph + 30, f->xlabel, FONT, LP__CENTRE, false);
  lp__text_class(cv, "ylabel");
  if (f->ylabel) lp__text_up(cv, 16, top + ph / 2, f->ylabel, FONT);
  lp__text_class(cv, "legend");
  /* Series dodged sideways by a fraction of the x step so that bars do not overlap. */
  for (size_t s = 0; s < f->nseries; s++) {
    const lp_fig_series *se = &f->series[s];
    double dodge = ((double)s - ((double)f->nseries - 1) / 2) * f->xstep * 0.12;
    lp__colour(cv, s);
    bool started = false;
    for (size_t i = 0; i < se->n; i++) {
      if (!isfinite(se->y[i])) {
        started = false;
        continue;
      }
      double x = LX(se->x[i] + dodge), y = LY(se->y[i]);
      if (started) lp__lineto(cv, x, y);
      else
        lp__move(cv, x, y);
      started = true;
    }
    lp__stroke(cv, 1.4);
    for (size_t i = 0; i < se->n; i++) {
      if (!isfinite(se->y[i])) continue;
      double x = LX(se->x[i] + dodge);
      if (se->lo && se->hi && isfinite(se->lo[i]) && isfinite(se->hi[i]))
        lp__line(cv, x, LY(se->lo[i]), x, LY(se->hi[i]), 0.9);
      if (s % 2) lp__rect(cv, x - 2.5, LY(se->y[i]) - 2.5, 5, 5);
      else
        lp__circle(cv, x, LY(se->y[i]), 2.7);
      lp__fill(cv);
    }
    /* Legend, top right. */
    double ly = top + 12 + 14 * (double)s;
    lp__line(cv, left + pw - 150, ly - 3, left + pw - 126, ly - 3, 1.4);
    lp__rgb(cv, 0, 0, 0);
    lp__text(cv, left + pw - 120, ly, se->label, FONT, LP__LEFT, false);
  }
#undef LX
#undef LY
  return lp__canvas_close(&c, to, err);
}

/* ------------------------------------------------------------ CONSORT */

/* A box of text lines (the first may be bold) at x, y (top left), width w. Returns
 * the height. Long lines wrap at spaces. */
static double box(lp__canvas *cv, double x, double y, double w, const char *const *lines, size_t n, bool draw) {
  const double pad = 5, lh = 11;
  double yy = y + pad + 8;
  for (size_t i = 0; i < n; i++) {
    const char *s = lines[i];
    double level = 0; /* one indent level per leading space */
    while (*s == ' ') s++, level += 1;
    double indent = 9 * level;
    double avail = w - 2 * pad - indent;
    char buf[256];
    while (*s) {
      /* Longest prefix that fits, broken at a space. */
      size_t len = strlen(s), cut = len;
      snprintf(buf, sizeof buf, "%s", s);
      while (lp__text_width(cv, buf, SMALL, false) > avail) {
        size_t k = strlen(buf);
        while (k > 0 && buf[k - 1] != ' ') k--;
        if (k <= 1) break;
        buf[k - 1] = '\0';
        cut = k;
      }
      if (cut > len) cut = len;
      if (draw) lp__text(cv, x + pad + indent, yy, buf, SMALL, LP__LEFT, false);
      yy += lh;
      s += strlen(buf);
      while (*s == ' ') s++;
      indent += 9; /* continuation lines hang */
      avail = w - 2 * pad - indent;
    }
  }
  double h = yy - y - 8 + pad - 2;
  if (draw) {
    lp__rect(cv, x, y, w, h);
    lp__stroke(cv, 0.8);
  }
  return h;
}

static void arrow(lp__canvas *cv, double x0, double y0, double x1, double y1) {
  lp__line(cv, x0, y0, x1, y1, 0.8);
  double a = atan2(y1 - y0, x1 - x0);
  lp__move(cv, x1, y1);
  lp__lineto(cv, x1 - 6 * cos(a - 0.4), y1 - 6 * sin(a - 0.4));
  lp__lineto(cv, x1 - 6 * cos(a + 0.4), y1 - 6 * sin(a + 0.4));
  lp__fill(cv);
}

/* An item line: its count and text, indented one level more than `level` for each
 * leading space of the text. */
static const char *item_line(char *buf, size_t n, int level, const lp_consort_item *it) {
  const char *s = it->text;
  while (*s == ' ') s++, level++;
  snprintf(buf, n, "%*s%ld %s", level, "", it->count, s);
  return buf;
}

typedef struct {
  char t[64][200];
  const char *lines[64];
  size_t n;
} box_text;

static void add_line(box_text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_line(box_text *b, const char *fmt, ...) {
  if (b->n >= 64) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->t[b->n], sizeof b->t[b->n], fmt, ap);
  va_end(ap);
  b->lines[b->n] = b->t[b->n];
  b->n++;
}

/* The three boxes of an arm: allocation, follow-up, analysis. `other` is the other
 * arm's name (for patients who also received its drug open-label). */
static void arm_boxes(const lp_consort_arm *arm, const char *other, box_text bx[3]) {
  for (int k = 0; k < 3; k++) bx[k].n = 0;
  long not = 0;
  for (size_t i = 0; i < arm->nnot; i++) not += arm->not_received[i].count;
  add_line(&bx[0], "%ld Were assigned to receive %s", arm->assigned, arm->name);
  if (arm->open_label > 0) {
    add_line(&bx[0], " %ld Received %s only", arm->received - arm->open_label, arm->name);
    add_line(&bx[0], " %ld Received %s and open-label %s", arm->open_label, arm->name, other);
  } else
    add_line(&bx[0], " %ld Received %s", arm->received, arm->name);
  add_line(&bx[0], " %ld Did not receive %s", not, arm->name);
  for (size_t i = 0; i < arm->nnot; i++) {
    char buf[200];
    add_line(&bx[0], "%s", item_line(buf, sizeof buf, 2, &arm->not_received[i]));
  }
  add_line(&bx[1], "%ld Withdrew consent", arm->withdrawn > 0 ? arm->withdrawn : 0);
  add_line(&bx[1], "%ld Were lost to follow-up", arm->lost > 0 ? arm->lost : 0);
  add_line(&bx[2], "%ld Were included in the primary analysis", arm->analysed);
  for (size_t i = 0; i < arm->nexcluded; i++) {
    char buf[200];
    add_line(&bx[2], "%s", item_line(buf, sizeof buf, 1, &arm->excluded[i]));
  }
  add_line(&bx[2], "%ld Were included in the as-treated analysis", arm->as_treated > 0 ? arm->as_treated : 0);
}

/* Draw (or, with draw false, measure) the whole diagram; returns its height. */
static double consort_draw(lp__canvas *cv, const lp_consort_figure *f, bool draw) {
  const double W = 520, colw = 220, gap = 24, x_left = (W - 2 * colw - gap) / 2;
  const double x_right = x_left + colw + gap, mid = W / 2, spine = mid - 70, bw = 220;
  box_text *bt = calloc(1, sizeof *bt);
  box_text *arm_bt = calloc(6, sizeof *arm_bt);
  if (!bt || !arm_bt) {
    free(bt);
    free(arm_bt);
    return 100;
  }
  double y = 12;
  lp__text_class(cv, "assessed");
  bt->n = 0;
  add_line(bt, "%ld Patients were assessed for eligibility", f->assessed);
  double h = box(cv, spine - bw / 2, y, bw, bt->lines, bt->n, draw);
  double y_assessed = y + h;
  /* Exclusions, to the right, each reason with its count; sub-reasons indented. */
  lp__text_class(cv, "excluded");
  bt->n = 0;
  add_line(bt, "%ld Were excluded", f->excluded);
  for (size_t i = 0; i < f->nreasons; i++) {
    char buf[200];
    add_line(bt, "%s", item_line(buf, sizeof buf, 1, &f->reasons[i]));
  }
  double ex_y = y_assessed + 14, ex_x = spine + 24;
  double ex_h = box(cv, ex_x, ex_y, W - ex_x - 8, bt->lines, bt->n, draw);
  if (draw) {
    lp__line(cv, spine, y_assessed, spine, ex_y + ex_h + 24, 0.8);
    arrow(cv, spine, ex_y + 10, ex_x, ex_y + 10);
  }
  y = ex_y + ex_h + 24;
  lp__text_class(cv, "randomised");
  bt->n = 0;
  add_line(bt, "%ld Underwent randomization", f->randomised);
  h = box(cv, spine - bw / 2, y, bw, bt->lines, bt->n, draw);
  double y_rand = y + h;
  y = y_rand + 30;
  if (draw) {
    lp__line(cv, spine, y_rand, spine, y_rand + 15, 0.8);
    lp__line(cv, x_left + colw / 2, y_rand + 15, x_right + colw / 2, y_rand + 15, 0.8);
    arrow(cv, x_left + colw / 2, y_rand + 15, x_left + colw / 2, y);
    arrow(cv, x_right + colw / 2, y_rand + 15, x_right + colw / 2, y);
  }
  /* Three rows of boxes (allocation, follow-up, analysis), each row as tall as its
   * taller box so that the arms line up. */
  static const char *const cls[3] = {"allocation", "follow-up", "analysis"};
  for (int a = 0; a < 2; a++) arm_boxes(&f->arm[a], f->arm[1 - a].name, &arm_bt[3 * a]);
  for (int k = 0; k < 3; k++) {
    double hk[2];
    for (int a = 0; a < 2; a++) {
      box_text *b = &arm_bt[3 * a + k];
      hk[a] = box(cv, a ? x_right : x_left, y, colw, b->lines, b->n, false);
    }
    lp__text_class(cv, cls[k]);
    for (int a = 0; a < 2 && draw; a++) {
      box_text *b = &arm_bt[3 * a + k];
      double x = a ? x_right : x_left;
      box(cv, x, y, colw, b->lines, b->n, true);
      if (k < 2) arrow(cv, x + colw / 2, y + hk[a], x + colw / 2, y + fmax(hk[0], hk[1]) + 20);
    }
    y += fmax(hk[0], hk[1]) + 20;
  }
  lp__text_class(cv, NULL);
  free(bt);
  free(arm_bt);
  return y - 8;
}

lp_status lp_figure_consort(const lp_consort_figure *f, const lp_fig_target *to, lp_error *err) {
  if (f->assessed < 0 || f->randomised < 0) return lp_error_set(err, LP_EINVAL, "CONSORT figure: negative counts");
  /* Measure on a scratch surface, then draw at the right height. */
  lp__canvas c;
  lp_status st = lp__canvas_scratch(&c, err);
  if (st) return st;
  double H = consort_draw(&c, f, false);
  lp__canvas_close(&c, NULL, err);
  if ((st = lp__canvas_open(&c, to, 520, H, "Recruitment and randomization of the patients", err))) return st;
  consort_draw(&c, f, true);
  return lp__canvas_close(&c, to, err);
}
