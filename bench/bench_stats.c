/* Timings of the statistics engine on a CSV with columns y and arm (bench/run makes
 * it): stratified bootstrap of a mean difference (1 thread and all threads), the
 * bare cost of drawing the same random indices, Mann-Whitney. Prints
 * "name seconds" lines for bench/run to set beside R's. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <leopards/rng.h>
#include <leopards/stats.h>
#include <leopards/survival.h>
#include <leopards/table.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best of `reps` runs: the least disturbed by the rest of the machine. */
#define TIME_BEST(reps, out, body)              \
  do {                                          \
    out = INFINITY;                             \
    for (int rep_ = 0; rep_ < (reps); rep_++) { \
      double t0_ = now();                       \
      body;                                     \
      double dt_ = now() - t0_;                 \
      if (dt_ < out) out = dt_;                 \
    }                                           \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_stats DATA.csv [replicates]\n");
    return 2;
  }
  size_t R = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 100000;
  lp_table *t;
  lp_error err;
  if (lp_table_read_csv(argv[1], &t, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  size_t n = lp_table_nrows(t), cy, ca;
  if (lp_table_column(t, "y", &cy, &err) || lp_table_column(t, "arm", &ca, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  double *y = malloc(n * sizeof *y), *x0 = malloc(n * sizeof *x0), *x1 = malloc(n * sizeof *x1);
  int *arm = malloc(n * sizeof *arm);
  if (lp_table_numeric(t, cy, NULL, n, y, &err) || lp_table_binary(t, ca, NULL, n, arm, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  size_t n0 = 0, n1 = 0;
  for (size_t i = 0; i < n; i++) {
    if (arm[i]) x1[n1++] = y[i];
    else
      x0[n0++] = y[i];
  }
  lp_boot_options o;
  lp_boot_options_default(&o);
  o.replicates = R;
  lp_boot_result br = {0};
  double t_boot1, t_bootn, t_draw, t_mw;
  o.threads = 1;
  TIME_BEST(3, t_boot1, lp_boot_diff(x1, n1, x0, n0, &o, NULL, &br, &err));
  o.threads = 0;
  TIME_BEST(3, t_bootn, lp_boot_diff(x1, n1, x0, n0, &o, NULL, &br, &err));
  /* The floor: draw the same R x n indices with the same generator, one thread,
   * and only sum them (so the loop is not optimised away). */
  volatile uint64_t sink = 0;
  TIME_BEST(3, t_draw, {
    uint64_t s = 0;
    for (size_t r = 0; r < R; r++) {
      lp_rng base;
      lp_rng_seed(&base, 1, r);
      lp_rng32 rng;
      rng.rng = &base;
      rng.buf = 0;
      rng.have = 0;
      for (size_t i = 0; i < n1; i++) s += lp_rng32_below(&rng, (uint32_t)n1);
      for (size_t i = 0; i < n0; i++) s += lp_rng32_below(&rng, (uint32_t)n0);
    }
    sink += s;
  });
  double *work = malloc(2 * n * sizeof *work);
  lp_mannwhitney mw;
  TIME_BEST(20, t_mw, lp_mannwhitney_test(x1, n1, x0, n0, true, work, &mw, &err));
  /* Cox with robust variance clustered by site: time, dead, arm, age, apache2, site. */
  size_t ct, cd, cage, cap, cs;
  double t_cox = NAN;
  lp_cox_fit cf = {0};
  if (!lp_table_column(t, "time", &ct, NULL) && !lp_table_column(t, "dead", &cd, NULL) &&
      !lp_table_column(t, "age", &cage, NULL) && !lp_table_column(t, "apache2", &cap, NULL) &&
      !lp_table_column(t, "site", &cs, NULL)) {
    double *tm = malloc(n * sizeof *tm), *X = malloc(3 * n * sizeof *X), *col = malloc(n * sizeof *col);
    int *ev = malloc(n * sizeof *ev), *site = malloc(n * sizeof *site);
    lp_table_numeric(t, ct, NULL, n, tm, &err);
    lp_table_binary(t, cd, NULL, n, ev, &err);
    for (size_t i = 0; i < n; i++) X[3 * i] = arm[i];
    lp_table_numeric(t, cage, NULL, n, col, &err);
    for (size_t i = 0; i < n; i++) X[3 * i + 1] = col[i];
    lp_table_numeric(t, cap, NULL, n, col, &err);
    for (size_t i = 0; i < n; i++) X[3 * i + 2] = col[i];
    lp_table_numeric(t, cs, NULL, n, col, &err);
    for (size_t i = 0; i < n; i++) site[i] = (int)col[i];
    lp_cox_options co;
    lp_cox_options_default(&co);
    TIME_BEST(20, t_cox, {
      lp_cox_fit_clear(&cf);
      lp_cox_fit_compute(tm, ev, X, n, 3, NULL, site, &co, &cf, &err);
    });
    free(tm), free(X), free(col), free(ev), free(site);
  }
  printf("bootstrap_1thread %.6f\n", t_boot1);
  printf("bootstrap_%dthreads %.6f\n", omp_get_max_threads(), t_bootn);
  printf("draw_indices_1thread %.6f\n", t_draw);
  printf("mannwhitney %.6f\n", t_mw);
  printf("cox_cluster %.6f\n", t_cox);
  printf("# estimate %.6f CI %.6f %.6f; W %.1f p %.6g; Cox HR %.6f robust se %.6f\n", br.estimate, br.ci[0], br.ci[1],
         mw.W, mw.p, cf.hr ? cf.hr[0] : NAN, cf.robust_se ? cf.robust_se[0] : NAN);
  lp_cox_fit_clear(&cf);
  free(work);
  free(y);
  free(x0);
  free(x1);
  free(arm);
  lp_table_free(t);
  return 0;
}
