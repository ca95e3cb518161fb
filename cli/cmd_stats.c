/* leopards stats ...: the statistics engine on any CSV (describe, compare,
 * proportions, lm, interaction, power). Survival commands live in cmd_survival.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/stats.h>
#include <leopards/table.h>

#include "cli.h"

/* ---- shared loading: a numeric outcome split by a two-level group ---- */

typedef struct {
  lp_table *t;
  double *x, *y; /* outcome in the first and second level */
  size_t nx, ny;
  char *levels[2];
  size_t used, dropped;
  size_t left_out; /* rows of other levels than the two named with --levels */
} two_groups;

static void two_groups_clear(two_groups *g) {
  lp_table_free(g->t);
  free(g->x);
  free(g->y);
  free(g->levels[0]);
  free(g->levels[1]);
  memset(g, 0, sizeof *g);
}

/* Read --data, take --outcome as numbers and --group as a factor of exactly two
 * levels (sorted, or as --levels orders them: the rows of any other level are then
 * left out and counted, as subsetting in R would). Errors name file, line, column. */
static lp_status load_two_groups(const char *path, const char *outcome, const char *group, const char *levels_opt,
                                 bool binary, two_groups *g, lp_error *err) {
  memset(g, 0, sizeof *g);
  lp_status st;
  size_t *rows = NULL, n = 0, cy, cg;
  double *v = NULL;
  lp_factor f = {0};
  char **lv = NULL;
  size_t nlv = 0;
  const char *cols[2] = {outcome, group};
  if ((st = lp_table_read_csv(path, &g->t, err))) return st;
  if ((st = lp_table_column(g->t, outcome, &cy, err)) || (st = lp_table_column(g->t, group, &cg, err))) goto fail;
  if ((st = lp_table_complete_rows(g->t, cols, 2, &rows, &n, &g->dropped, err))) goto fail;
  g->used = n;
  if (n == 0) {
    st = lp_error_at(err, LP_EDATA, path, 0, NULL, "no row has both '%s' and '%s'", outcome, group);
    goto fail;
  }
  if (lp_calloc(n, sizeof *v, &v)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  if (binary) {
    int *b = malloc(n * sizeof *b);
    if (!b) {
      st = lp_error_set(err, LP_ENOMEM, "out of memory");
      goto fail;
    }
    st = lp_table_binary(g->t, cy, rows, n, b, err);
    for (size_t i = 0; !st && i < n; i++) v[i] = b[i];
    free(b);
    if (st) goto fail;
  } else if ((st = lp_table_numeric(g->t, cy, rows, n, v, err))) {
    goto fail;
  }
  if ((st = lp_factor_init(&f, g->t, cg, rows, n, err))) goto fail;
  if (levels_opt) {
    if ((st = lp_split_list(levels_opt, &lv, &nlv, err))) goto fail;
    if (nlv != 2) {
      st = lp_error_set(err, LP_EINVAL, "--levels needs exactly two levels, got %zu", nlv);
      goto fail;
    }
    if ((st = lp_factor_reorder(&f, (const char *const *)lv, nlv, err))) {
      lp_error_prefix(err, "%s: column '%s'", path, group);
      goto fail;
    }
    if (f.nlevels > 2) {
      /* Keep the rows of the two named levels (codes 0 and 1 after the reorder). */
      size_t k = 0;
      for (size_t i = 0; i < n; i++)
        if (f.codes[i] < 2) {
          v[k] = v[i];
          f.codes[k] = f.codes[i];
          k++;
        }
      g->left_out = n - k;
      n = k;
      g->used = n;
    }
  } else if (f.nlevels != 2) {
    st = lp_error_at(err, LP_EDATA, path, 0, group, "has %zu levels where two are needed%s%s%s%s", f.nlevels,
                     f.nlevels ? " (" : "", f.nlevels ? f.levels[0] : "", f.nlevels > 2 ? ", ..." : "",
                     f.nlevels ? ")" : "");
    goto fail;
  }
  if (lp_calloc(n, sizeof *g->x, &g->x) || lp_calloc(n, sizeof *g->y, &g->y)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (f.codes[i] == 0) g->x[g->nx++] = v[i];
    else
      g->y[g->ny++] = v[i];
  }
  g->levels[0] = strdup(f.levels[0]);
  g->levels[1] = strdup(f.levels[1]);
  if (!g->levels[0] || !g->levels[1]) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  free(rows);
  free(v);
  free(lv);
  lp_factor_clear(&f);
  return LP_OK;
fail:
  free(rows);
  free(v);
  free(lv);
  lp_factor_clear(&f);
  two_groups_clear(g);
  return st;
}

static json_t *describe_json(const char *level, const lp_describe *d) {
  return json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "level", level, "n", (json_int_t)d->n, "mean",
                   cli_num(d->mean), "sd", cli_num(d->sd), "median", cli_num(d->median), "q1", cli_num(d->q1), "q3",
                   cli_num(d->q3));
}

static void print_describe_row(const char *level, const lp_describe *d) {
  char b[6][32];
  printf("  %-14s %6zu %10s %10s %10s %10s %10s\n", level, d->n, cli_fmt(b[0], 32, d->mean, 6),
         cli_fmt(b[1], 32, d->sd, 6), cli_fmt(b[2], 32, d->median, 6), cli_fmt(b[3], 32, d->q1, 6),
         cli_fmt(b[4], 32, d->q3, 6));
}

/* ---- stats compare ---- */

static const cli_opt compare_opts[] = {
    {"data", "FILE.csv", "input table (header row, comma separated)"},
    {"outcome", "COLUMN", "numeric outcome"},
    {"group", "COLUMN", "grouping column with two levels"},
    {"levels", "A,B", "the two levels to compare, in order (A minus B); rows of other levels are left out"},
    {"summary", "mean|median", "summary compared (default mean)"},
    {"boot", "R", "bootstrap resamples (default 100000)"},
    {"seed", "S", "random seed (default 20160927)"},
    {"threads", "N", "threads for the bootstrap (default all cores; results do not depend on it)"},
    {"level", "L", "confidence level (default 0.95)"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_compare(const cli_args *a) {
  const char *data, *outcome, *group;
  int rc;
  if ((rc = cli_require(a, "data", &data)) || (rc = cli_require(a, "outcome", &outcome)) ||
      (rc = cli_require(a, "group", &group)))
    return rc;
  lp_boot_options o;
  lp_boot_options_default(&o);
  static const char *const summaries[] = {"mean", "median", NULL};
  int summary = 0;
  long boot = (long)o.replicates, threads = 0;
  unsigned long long seed = o.seed;
  if ((rc = cli_choice(a, "summary", summaries, &summary)) || (rc = cli_long(a, "boot", 2, 100000000, &boot)) ||
      (rc = cli_u64(a, "seed", &seed)) || (rc = cli_long(a, "threads", 1, 1024, &threads)) ||
      (rc = cli_double(a, "level", &o.level)))
    return rc;
  if (!(o.level > 0 && o.level < 1)) return cli_usage_error(a, "--level must be between 0 and 1");
  o.summary = (lp_summary)summary;
  o.replicates = (size_t)boot;
  o.seed = seed;
  o.threads = (int)threads;

  lp_error err;
  two_groups g;
  if (load_two_groups(data, outcome, group, cli_str(a, "levels"), false, &g, &err)) return cli_fail(a, &err);
  lp_describe d[2];
  double *work = malloc(2 * (g.nx + g.ny) * sizeof *work);
  if (!work) {
    two_groups_clear(&g);
    lp_error_set(&err, LP_ENOMEM, "out of memory");
    return cli_fail(a, &err);
  }
  lp_describe_compute(g.x, g.nx, work, &d[0]);
  lp_describe_compute(g.y, g.ny, work, &d[1]);
  lp_mannwhitney mw;
  lp_boot_result br;
  lp_status st = lp_mannwhitney_test(g.x, g.nx, g.y, g.ny, true, work, &mw, &err);
  if (!st) st = lp_boot_diff(g.x, g.nx, g.y, g.ny, &o, NULL, &br, &err);
  free(work);
  if (st) {
    two_groups_clear(&g);
    return cli_fail(a, &err);
  }
  if (cli_has(a, "json")) {
    json_t *root = json_pack(
        "{s:[s,s], s:[o,o], s:s, s:o, s:[o,o], s:f, s:{s:I, s:I, s:I}, s:{s:s, s:o, s:o}, s:I, "
        "s:I}",
        "levels", g.levels[0], g.levels[1], "groups", describe_json(g.levels[0], &d[0]),
        describe_json(g.levels[1], &d[1]), "summary", summaries[summary], "estimate", cli_num(br.estimate), "ci",
        cli_num(br.ci[0]), cli_num(br.ci[1]), "level", o.level, "bootstrap", "replicates", (json_int_t)o.replicates,
        "finite", (json_int_t)br.finite, "seed", (json_int_t)o.seed, "test", "name", "mann-whitney", "W", cli_num(mw.W),
        "p", cli_num(mw.p), "n_used", (json_int_t)g.used, "n_dropped", (json_int_t)g.dropped);
    if (root) {
      json_object_set_new(root, "n_left_out", json_integer((json_int_t)g.left_out));
      json_object_set_new(json_object_get(root, "test"), "undefined", json_boolean(isnan(mw.p)));
    }
    two_groups_clear(&g);
    return cli_print_json(root);
  }
  char b[4][32];
  printf("%s by %s (%s minus %s): %zu rows used, %zu dropped for missing values\n", outcome, group, g.levels[0],
         g.levels[1], g.used, g.dropped);
  if (g.left_out) printf("(%zu row%s of other levels of %s left out)\n", g.left_out, g.left_out == 1 ? "" : "s", group);
  printf("\n");
  printf("  %-14s %6s %10s %10s %10s %10s %10s\n", "level", "n", "mean", "sd", "median", "q1", "q3");
  print_describe_row(g.levels[0], &d[0]);
  print_describe_row(g.levels[1], &d[1]);
  printf(
      "\ndifference in %ss: %s, %g%% CI %s to %s (bootstrap percentile, %zu resamples "
      "within groups, seed %llu)\n",
      summaries[summary], cli_fmt(b[0], 32, br.estimate, 6), 100 * o.level, cli_fmt(b[1], 32, br.ci[0], 6),
      cli_fmt(b[2], 32, br.ci[1], 6), o.replicates, seed);
  if (isnan(mw.p))
    printf(
        "Mann-Whitney (continuity corrected): W = %s, p = NaN: every value is tied, so the test "
        "is undefined\n",
        cli_fmt(b[0], 32, mw.W, 10));
  else
    printf("Mann-Whitney (continuity corrected): W = %s, p = %s\n", cli_fmt(b[0], 32, mw.W, 10),
           cli_fmt_p(b[3], 32, mw.p));
  two_groups_clear(&g);
  return CLI_OK;
}

/* ---- stats proportions ---- */

static const cli_opt prop_opts[] = {
    {"events", "E1,E2", "events in the two groups (with --totals)"},
    {"totals", "N1,N2", "group sizes"},
    {"data", "FILE.csv", "or: a table with a 0/1 outcome and a group column"},
    {"outcome", "COLUMN", "0/1 outcome (with --data)"},
    {"group", "COLUMN", "two-level group (with --data)"},
    {"levels", "A,B", "the two levels, in order (A minus B); rows of other levels are left out"},
    {"ci", "wald|wald-cc|newcombe", "interval for the difference (default wald)"},
    {"no-correct", NULL, "chi-square without Yates' continuity correction"},
    {"level", "L", "confidence level (default 0.95)"},
    {"json", NULL, "print JSON"},
    {0}};

static int parse_counts(const cli_args *a, const char *name, long v[2]) {
  double *x;
  size_t n;
  int rc = cli_double_list(a, name, &x, &n);
  if (rc) return rc;
  if (n != 2) {
    free(x);
    return cli_usage_error(a, "--%s needs two counts, e.g. 89,79", name);
  }
  for (int i = 0; i < 2; i++) {
    if (x[i] < 0 || x[i] != floor(x[i]) || x[i] > 1e9) {
      double bad = x[i];
      free(x);
      return cli_usage_error(a, "--%s: %g is not a count", name, bad);
    }
    v[i] = (long)x[i];
  }
  free(x);
  return CLI_OK;
}

static int run_proportions(const cli_args *a) {
  static const char *const methods[] = {"wald", "wald-cc", "newcombe", NULL};
  int method = 0, rc;
  double level = 0.95;
  if ((rc = cli_choice(a, "ci", methods, &method)) || (rc = cli_double(a, "level", &level))) return rc;
  long e[2], n[2];
  char *lev[2] = {NULL, NULL};
  lp_error err;
  two_groups g = {0};
  if (cli_has(a, "data")) {
    if (cli_has(a, "events") || cli_has(a, "totals"))
      return cli_usage_error(a, "give either --data or --events/--totals, not both");
    const char *outcome, *group;
    if ((rc = cli_require(a, "outcome", &outcome)) || (rc = cli_require(a, "group", &group))) return rc;
    if (load_two_groups(cli_str(a, "data"), outcome, group, cli_str(a, "levels"), true, &g, &err))
      return cli_fail(a, &err);
    n[0] = (long)g.nx;
    n[1] = (long)g.ny;
    e[0] = e[1] = 0;
    for (size_t i = 0; i < g.nx; i++) e[0] += g.x[i] > 0;
    for (size_t i = 0; i < g.ny; i++) e[1] += g.y[i] > 0;
    lev[0] = g.levels[0];
    lev[1] = g.levels[1];
  } else {
    if (!cli_has(a, "events") || !cli_has(a, "totals"))
      return cli_usage_error(a, "give --events E1,E2 and --totals N1,N2 (or --data with --outcome and --group)");
    if ((rc = parse_counts(a, "events", e)) || (rc = parse_counts(a, "totals", n))) return rc;
    if (cli_has(a, "levels")) return cli_usage_error(a, "--levels goes with --data");
  }
  lp_prop2 r;
  bool yates = !cli_has(a, "no-correct");
  if (lp_prop2_compute(e[0], n[0], e[1], n[1], (lp_prop_ci)method, level, yates, &r, &err)) {
    two_groups_clear(&g);
    return cli_fail(a, &err);
  }
  const char *test_name = yates ? "chi-square (Yates)" : "chi-square";
  if (cli_has(a, "json")) {
    json_t *groups = json_array();
    for (int i = 0; i < 2; i++) {
      json_t *o = json_pack("{s:I, s:I, s:o}", "events", (json_int_t)e[i], "n", (json_int_t)n[i], "proportion",
                            cli_num(i ? r.p2 : r.p1));
      if (lev[i]) json_object_set_new(o, "level", json_string(lev[i]));
      json_array_append_new(groups, o);
    }
    json_t *root = json_pack("{s:o, s:o, s:[o,o], s:s, s:f, s:{s:s, s:o, s:i, s:o}, s:{s:o}}", "groups", groups,
                             "estimate", cli_num(r.estimate), "ci", cli_num(r.ci[0]), cli_num(r.ci[1]), "ci_method",
                             methods[method], "level", level, "test", "name", test_name, "statistic", cli_num(r.chisq),
                             "df", 1, "p", cli_num(r.chisq_p), "fisher", "p", cli_num(r.fisher_p));
    if (g.t) {
      json_object_set_new(root, "n_used", json_integer((json_int_t)g.used));
      json_object_set_new(root, "n_dropped", json_integer((json_int_t)g.dropped));
      json_object_set_new(root, "n_left_out", json_integer((json_int_t)g.left_out));
    }
    two_groups_clear(&g);
    return cli_print_json(root);
  }
  char b[6][32];
  if (g.t)
    printf("%s by %s: %zu rows used, %zu dropped for missing values\n", cli_str(a, "outcome"), cli_str(a, "group"),
           g.used, g.dropped);
  if (g.t && g.left_out)
    printf("(%zu row%s of other levels of %s left out)\n", g.left_out, g.left_out == 1 ? "" : "s", cli_str(a, "group"));
  if (g.t) printf("\n");
  for (int i = 0; i < 2; i++)
    printf("  %-14s %ld/%ld (%.1f%%)\n", lev[i] ? lev[i] : (i ? "group 2" : "group 1"), e[i], n[i],
           100.0 * (i ? r.p2 : r.p1));
  printf("\ndifference: %s percentage points, %g%% CI %s to %s (%s)\n", cli_fmt(b[0], 32, 100 * r.estimate, 6),
         100 * level, cli_fmt(b[1], 32, 100 * r.ci[0], 6), cli_fmt(b[2], 32, 100 * r.ci[1], 6), methods[method]);
  printf("%s: X-squared = %s, df = 1, p = %s\n", test_name, cli_fmt(b[3], 32, r.chisq, 7),
         cli_fmt_p(b[4], 32, r.chisq_p));
  printf("Fisher's exact test: p = %s\n", cli_fmt_p(b[5], 32, r.fisher_p));
  two_groups_clear(&g);
  return CLI_OK;
}

/* ---- stats power ---- */

static const cli_opt power_opts[] = {{"delta", "D", "difference in means to detect"},
                                     {"sd", "SD", "standard deviation (with --delta)"},
                                     {"p1", "P", "or: proportion in group 1"},
                                     {"p2", "P", "proportion in group 2"},
                                     {"alpha", "A", "two-sided significance level (default 0.05)"},
                                     {"power", "P", "power wanted: solve for n per group"},
                                     {"n", "N", "n per group: compute the power"},
                                     {"json", NULL, "print JSON"},
                                     {0}};

static int run_power(const cli_args *a) {
  double delta = NAN, sd = NAN, p1 = NAN, p2 = NAN, alpha = 0.05, power = 0, n = 0;
  int rc;
  if ((rc = cli_double(a, "delta", &delta)) || (rc = cli_double(a, "sd", &sd)) || (rc = cli_double(a, "p1", &p1)) ||
      (rc = cli_double(a, "p2", &p2)) || (rc = cli_double(a, "alpha", &alpha)) ||
      (rc = cli_double(a, "power", &power)) || (rc = cli_double(a, "n", &n)))
    return rc;
  bool means = cli_has(a, "delta") || cli_has(a, "sd");
  bool props = cli_has(a, "p1") || cli_has(a, "p2");
  if (means == props) return cli_usage_error(a, "give --delta and --sd (means) or --p1 and --p2 (proportions)");
  if (means && !(cli_has(a, "delta") && cli_has(a, "sd"))) return cli_usage_error(a, "--delta needs --sd");
  if (props && !(cli_has(a, "p1") && cli_has(a, "p2"))) return cli_usage_error(a, "--p1 needs --p2");
  if (cli_has(a, "power") == cli_has(a, "n")) return cli_usage_error(a, "give exactly one of --power and --n");
  if (cli_has(a, "n") && !(n > 1)) return cli_usage_error(a, "--n must be greater than 1");
  lp_power_result r;
  lp_error err;
  lp_status st =
      means ? lp_power_t(n, delta, sd, alpha, power, &r, &err) : lp_power_prop(n, p1, p2, alpha, power, &r, &err);
  if (st) return cli_fail(a, &err);
  if (cli_has(a, "json")) {
    json_t *root = json_pack("{s:s, s:o, s:f, s:o, s:o, s:f, s:f, s:b}", "method",
                             means ? "two-sample t test" : "two proportions", "n", cli_num(r.n), "n_per_group_rounded",
                             r.n_rounded, "power", cli_num(r.power), "power_at_rounded", cli_num(r.power_rounded),
                             "alpha", alpha, "n_total_rounded", 2 * r.n_rounded, "n_below_minimum", r.n < r.n_min);
    if (means) {
      json_object_set_new(root, "delta", json_real(delta));
      json_object_set_new(root, "sd", json_real(sd));
    } else {
      json_object_set_new(root, "p1", json_real(p1));
      json_object_set_new(root, "p2", json_real(p2));
    }
    return cli_print_json(root);
  }
  char b[3][32];
  if (means)
    printf(
        "two-sample t test power calculation (two-sided, as R's power.t.test)\n\n"
        "  delta = %g, sd = %g, alpha = %g\n",
        delta, sd, alpha);
  else
    printf(
        "two-sample comparison of proportions (two-sided, as R's power.prop.test)\n\n"
        "  p1 = %g, p2 = %g, alpha = %g\n",
        p1, p2, alpha);
  printf("  n = %s per group, power = %s\n", cli_fmt(b[0], 32, r.n, 7), cli_fmt(b[1], 32, r.power, 5));
  if (!cli_has(a, "n")) {
    if (r.n < r.n_min)
      printf("\nthe exact n (%s) is below %.0f: %s needs at least %.0f per group\n", b[0], r.n_min,
             means ? "a t test" : "the comparison", r.n_min);
    /* The power reached by whole patients: 10 digits, so that a power that
     * rounds to 1 is not printed as if it were the target. */
    printf(
        "\nrecruit %.0f per group, %.0f in all (before allowing for withdrawals);\n"
        "the power at %.0f per group is %s\n",
        r.n_rounded, 2 * r.n_rounded, r.n_rounded, cli_fmt(b[2], 32, r.power_rounded, 10));
  }
  return CLI_OK;
}

/* ---- stats lm ---- */

static const cli_opt lm_opts[] = {{"data", "FILE.csv", "input table"},
                                  {"y", "COLUMN", "numeric outcome"},
                                  {"covariates", "A,B,...", "covariates (a text column is a factor)"},
                                  {"factor", "C,...", "numeric columns to treat as factors"},
                                  {"boot", "R", "bootstrap percentile CI for one coefficient with R resamples"},
                                  {"term", "NAME", "the coefficient to bootstrap, as named in the output (e.g. armB)"},
                                  {"boot-strata", "COLUMN", "resample rows within the levels of this column"},
                                  {"seed", "S", "random seed for the bootstrap (default 20160927)"},
                                  {"threads", "N", "threads for the bootstrap (results do not depend on it)"},
                                  {"level", "L", "confidence level (default 0.95)"},
                                  {"json", NULL, "print JSON"},
                                  {0}};

typedef struct {
  char **cov, **fac;
  size_t ncov, nfac;
  lp_table *t;
  size_t *rows, n, dropped;
  lp_model_matrix d;
  double *y;
} model_data;

static void model_data_clear(model_data *m) {
  free(m->cov);
  free(m->fac);
  lp_table_free(m->t);
  free(m->rows);
  lp_model_matrix_clear(&m->d);
  free(m->y);
  memset(m, 0, sizeof *m);
}

/* Load the table, drop rows missing y, any covariate or `extra`, build the design. */
static lp_status load_model(const char *path, const char *ycol, const char *covs, const char *facs, const char *extra,
                            model_data *m, lp_error *err) {
  memset(m, 0, sizeof *m);
  lp_status st;
  const char *cols[66];
  size_t nc = 0;
  if ((st = lp_split_list(covs, &m->cov, &m->ncov, err))) return st;
  if (facs && (st = lp_split_list(facs, &m->fac, &m->nfac, err))) goto fail;
  for (size_t k = 0; k < m->nfac; k++) {
    bool found = false;
    for (size_t j = 0; j < m->ncov; j++) found = found || !strcmp(m->fac[k], m->cov[j]);
    if (!found) {
      st = lp_error_set(err, LP_EINVAL, "--factor %s: not among the covariates", m->fac[k]);
      goto fail;
    }
  }
  if ((st = lp_table_read_csv(path, &m->t, err))) goto fail;
  if (m->ncov > 62) {
    st = lp_error_set(err, LP_EINVAL, "too many covariates");
    goto fail;
  }
  cols[nc++] = ycol;
  for (size_t j = 0; j < m->ncov; j++) cols[nc++] = m->cov[j];
  if (extra) cols[nc++] = extra;
  if ((st = lp_table_complete_rows(m->t, cols, nc, &m->rows, &m->n, &m->dropped, err))) goto fail;
  size_t cy;
  if ((st = lp_table_column(m->t, ycol, &cy, err))) goto fail;
  if (lp_calloc(m->n, sizeof *m->y, &m->y)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  if ((st = lp_table_numeric(m->t, cy, m->rows, m->n, m->y, err))) goto fail;
  if ((st = lp_model_matrix_init(&m->d, m->t, (const char *const *)m->cov, m->ncov, (const char *const *)m->fac,
                                 m->nfac, m->rows, m->n, err)))
    goto fail;
  return LP_OK;
fail:
  model_data_clear(m);
  return st;
}

static int run_lm(const cli_args *a) {
  const char *data, *ycol, *covs;
  int rc;
  if ((rc = cli_require(a, "data", &data)) || (rc = cli_require(a, "y", &ycol)) ||
      (rc = cli_require(a, "covariates", &covs)))
    return rc;
  lp_boot_options o;
  lp_boot_options_default(&o);
  long boot = 0, threads = 0;
  unsigned long long seed = o.seed;
  if ((rc = cli_long(a, "boot", 2, 100000000, &boot)) || (rc = cli_u64(a, "seed", &seed)) ||
      (rc = cli_long(a, "threads", 1, 1024, &threads)) || (rc = cli_double(a, "level", &o.level)))
    return rc;
  if (!(o.level > 0 && o.level < 1)) return cli_usage_error(a, "--level must be between 0 and 1");
  const char *term = cli_str(a, "term"), *bstrata = cli_str(a, "boot-strata");
  if (boot && !term) return cli_usage_error(a, "--boot needs --term (the coefficient to bootstrap)");
  if (!boot && (term || bstrata)) return cli_usage_error(a, "--term and --boot-strata go with --boot");
  o.replicates = (size_t)boot;
  o.seed = seed;
  o.threads = (int)threads;
  lp_error err;
  model_data m;
  if (load_model(data, ycol, covs, cli_str(a, "factor"), bstrata, &m, &err)) return cli_fail(a, &err);
  lp_lm_fit fit;
  if (lp_lm_fit_compute(m.d.x, m.n, m.d.p, m.y, true, 1e-7, &fit, &err)) {
    model_data_clear(&m);
    return cli_fail(a, &err);
  }
  lp_boot_result br = {0};
  if (boot) {
    size_t target = m.d.p;
    for (size_t j = 0; j < m.d.p; j++)
      if (!strcmp(m.d.names[j], term)) target = j;
    lp_status st = LP_OK;
    int *strata = NULL;
    lp_factor sf = {0};
    if (target == m.d.p) {
      st = lp_error_set(&err, LP_EINVAL, "--term %s: no such coefficient (see the names lm prints)", term);
    } else if (fit.aliased[target + 1]) {
      st = lp_error_set(&err, LP_EDATA, "--term %s: the coefficient is aliased", term);
    } else if (bstrata) {
      size_t cs;
      st = lp_table_column(m.t, bstrata, &cs, &err);
      if (!st) st = lp_factor_init(&sf, m.t, cs, m.rows, m.n, &err);
      strata = sf.codes;
    }
    if (!st) st = lp_lm_boot_matrix(&m.d, m.y, target, strata, &o, &br, &err);
    lp_factor_clear(&sf);
    if (st) {
      lp_lm_fit_clear(&fit);
      model_data_clear(&m);
      return cli_fail(a, &err);
    }
  }
  if (cli_has(a, "json")) {
    json_t *terms = json_array();
    for (size_t j = 0; j < fit.p; j++) {
      json_array_append_new(terms, json_pack("{s:s, s:o, s:o, s:o, s:o}", "name", j ? m.d.names[j - 1] : "(Intercept)",
                                             "coef", cli_num(fit.coef[j]), "se", cli_num(fit.se[j]), "t",
                                             cli_num(fit.t[j]), "p", cli_num(fit.pval[j])));
    }
    json_t *root = json_pack("{s:I, s:I, s:o, s:o, s:f, s:o, s:o}", "n", (json_int_t)m.n, "n_dropped",
                             (json_int_t)m.dropped, "terms", terms, "sigma", cli_num(fit.sigma), "df", fit.df_resid,
                             "r_squared", cli_num(fit.r_squared), "adj_r_squared", cli_num(fit.adj_r_squared));
    if (boot)
      json_object_set_new(root, "bootstrap",
                          json_pack("{s:s, s:o, s:[o,o], s:f, s:I, s:I, s:I, s:s?}", "term", term, "estimate",
                                    cli_num(br.estimate), "ci", cli_num(br.ci[0]), cli_num(br.ci[1]), "level", o.level,
                                    "replicates", (json_int_t)o.replicates, "finite", (json_int_t)br.finite, "seed",
                                    (json_int_t)o.seed, "strata", bstrata));
    lp_lm_fit_clear(&fit);
    model_data_clear(&m);
    return cli_print_json(root);
  }
  char b[5][32];
  printf("linear model of %s: %zu rows used, %zu dropped for missing values\n\n", ycol, m.n, m.dropped);
  printf("  %-24s %12s %12s %10s %12s\n", "term", "estimate", "std.error", "t", "p");
  for (size_t j = 0; j < fit.p; j++)
    printf("  %-24s %12s %12s %10s %12s\n", j ? m.d.names[j - 1] : "(Intercept)", cli_fmt(b[0], 32, fit.coef[j], 6),
           cli_fmt(b[1], 32, fit.se[j], 6), cli_fmt(b[2], 32, fit.t[j], 4), cli_fmt_p(b[3], 32, fit.pval[j]));
  printf("\nresidual standard error %s on %.0f degrees of freedom; R-squared %s\n", cli_fmt(b[0], 32, fit.sigma, 6),
         fit.df_resid, cli_fmt(b[1], 32, fit.r_squared, 4));
  if (boot)
    printf("%s: %s, %g%% bootstrap percentile CI %s to %s (%zu resamples%s%s, seed %llu)\n", term,
           cli_fmt(b[0], 32, br.estimate, 6), 100 * o.level, cli_fmt(b[1], 32, br.ci[0], 6),
           cli_fmt(b[2], 32, br.ci[1], 6), o.replicates, bstrata ? " within " : "", bstrata ? bstrata : "", seed);
  lp_lm_fit_clear(&fit);
  model_data_clear(&m);
  return CLI_OK;
}

/* ---- stats interaction ---- */

static const cli_opt inter_opts[] = {{"data", "FILE.csv", "input table"},
                                     {"outcome", "COLUMN", "numeric (or 0/1) outcome"},
                                     {"group", "COLUMN", "treatment arm, two levels"},
                                     {"subgroup", "COLUMN", "subgroup variable (two or more levels)"},
                                     {"levels", "A,B", "order of the arms (effect is A minus B)"},
                                     {"permutations", "B", "number of permutations (default 10000)"},
                                     {"seed", "S", "random seed (default 20160927)"},
                                     {"threads", "N", "threads (results do not depend on it)"},
                                     {"level", "L", "confidence level of the subgroup intervals (default 0.95)"},
                                     {"json", NULL, "print JSON"},
                                     {0}};

static int run_interaction(const cli_args *a) {
  const char *data, *outcome, *group, *subgroup;
  int rc;
  if ((rc = cli_require(a, "data", &data)) || (rc = cli_require(a, "outcome", &outcome)) ||
      (rc = cli_require(a, "group", &group)) || (rc = cli_require(a, "subgroup", &subgroup)))
    return rc;
  long perms = 10000, threads = 0;
  unsigned long long seed = 20160927;
  double level = 0.95;
  if ((rc = cli_long(a, "permutations", 1, 100000000, &perms)) || (rc = cli_u64(a, "seed", &seed)) ||
      (rc = cli_long(a, "threads", 1, 1024, &threads)) || (rc = cli_double(a, "level", &level)))
    return rc;
  lp_error err;
  lp_table *t = NULL;
  size_t *rows = NULL, n = 0, dropped = 0, cy, cg, cs;
  double *y = NULL;
  lp_factor arm = {0}, sub = {0};
  lp_interaction_result r = {0};
  char **lv = NULL;
  size_t nlv = 0;
  const char *cols[3] = {outcome, group, subgroup};
  lp_status st = lp_table_read_csv(data, &t, &err);
  if (!st) st = lp_table_column(t, outcome, &cy, &err);
  if (!st) st = lp_table_column(t, group, &cg, &err);
  if (!st) st = lp_table_column(t, subgroup, &cs, &err);
  if (!st) st = lp_table_complete_rows(t, cols, 3, &rows, &n, &dropped, &err);
  if (!st && lp_calloc(n ? n : 1, sizeof *y, &y)) st = lp_error_set(&err, LP_ENOMEM, "out of memory");
  if (!st) st = lp_table_numeric(t, cy, rows, n, y, &err);
  if (!st) st = lp_factor_init(&arm, t, cg, rows, n, &err);
  if (!st && cli_has(a, "levels")) {
    st = lp_split_list(cli_str(a, "levels"), &lv, &nlv, &err);
    if (!st) st = lp_factor_reorder(&arm, (const char *const *)lv, nlv, &err);
  }
  if (!st && arm.nlevels != 2)
    st = lp_error_at(&err, LP_EDATA, data, 0, group, "has %zu levels where two are needed", arm.nlevels);
  if (!st) st = lp_factor_init(&sub, t, cs, rows, n, &err);
  if (!st)
    st = lp_interaction_test(y, arm.codes, sub.codes, n, sub.nlevels, (size_t)perms, seed, (int)threads, level, &r,
                             &err);
  char few[320] = "";
  if (!st && (double)r.permutations < LP_INTERACTION_MIN_DEFINED * (double)r.requested)
    snprintf(few, sizeof few,
             "only %zu of the %zu permutations (%.1f%%) gave a statistic (the others left a "
             "subgroup-by-arm cell with fewer than 2 patients or no spread): the P rests on "
             "those few",
             r.permutations, r.requested, 100.0 * (double)r.permutations / (double)r.requested);
  int out = CLI_OK;
  if (st) {
    out = cli_fail(a, &err);
  } else if (cli_has(a, "json")) {
    json_t *subs = json_array();
    for (size_t s = 0; s < r.nsub; s++)
      json_array_append_new(
          subs, json_pack("{s:s, s:[I,I], s:o, s:o, s:[o,o]}", "level", sub.levels[s], "n", (json_int_t)r.sub[s].n[0],
                          (json_int_t)r.sub[s].n[1], "estimate", cli_num(r.sub[s].estimate), "se", cli_num(r.sub[s].se),
                          "ci", cli_num(r.sub[s].ci[0]), cli_num(r.sub[s].ci[1])));
    json_t *root =
        json_pack("{s:[s,s], s:o, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:I}", "levels", arm.levels[0], arm.levels[1],
                  "subgroups", subs, "statistic_name", "cochran-q", "statistic", cli_num(r.statistic), "p",
                  cli_num(r.p), "permutations", (json_int_t)r.permutations, "permutations_run", (json_int_t)r.requested,
                  "seed", (json_int_t)seed, "n_used", (json_int_t)n, "n_dropped", (json_int_t)dropped);
    if (root) json_object_set_new(root, "warnings", few[0] ? json_pack("[s]", few) : json_array());
    out = cli_print_json(root);
  } else {
    char b[4][32];
    printf("effect of %s (%s minus %s) on %s within levels of %s: %zu rows used, %zu dropped\n\n", group, arm.levels[0],
           arm.levels[1], outcome, subgroup, n, dropped);
    printf("  %-16s %6s %6s %12s %12s %12s\n", "subgroup", "n", "n", "estimate", "lower", "upper");
    for (size_t s = 0; s < r.nsub; s++)
      printf("  %-16s %6zu %6zu %12s %12s %12s\n", sub.levels[s], r.sub[s].n[0], r.sub[s].n[1],
             cli_fmt(b[0], 32, r.sub[s].estimate, 5), cli_fmt(b[1], 32, r.sub[s].ci[0], 5),
             cli_fmt(b[2], 32, r.sub[s].ci[1], 5));
    printf(
        "\nheterogeneity: Cochran's Q = %s, permutation p = %s (%zu permutations of arm and "
        "subgroup, seed %llu)\n",
        cli_fmt(b[0], 32, r.statistic, 5), cli_fmt(b[1], 32, r.p, 4), r.permutations, seed);
    if (few[0]) {
      printf("\n");
      cli_wrap(stdout, "warning: ", "  ", few);
    }
  }
  lp_interaction_result_clear(&r);
  lp_factor_clear(&arm);
  lp_factor_clear(&sub);
  free(lv);
  free(y);
  free(rows);
  lp_table_free(t);
  return out;
}

/* ---- stats describe ---- */

static const cli_opt describe_opts[] = {{"data", "FILE.csv", "input table"},
                                        {"columns", "A,B,...", "columns to describe (default all)"},
                                        {"by", "COLUMN", "describe within the levels of this column"},
                                        {"json", NULL, "print JSON"},
                                        {0}};

/* One column within one group: numbers get n, missing, mean, SD, quartiles; text
 * gets counts and percentages of each value (of the non-missing). */
static lp_status describe_one(const lp_table *t, size_t col, const size_t *rows, size_t n, json_t *out, bool text_out,
                              lp_error *err) {
  size_t nonmissing = 0;
  size_t *keep = malloc((n ? n : 1) * sizeof *keep);
  double *v = malloc((n ? n : 1) * sizeof *v), *work = malloc((n ? n : 1) * sizeof *work);
  lp_status st = LP_OK;
  if (!keep || !v || !work) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto done;
  }
  for (size_t i = 0; i < n; i++)
    if (lp_table_cell(t, rows[i], col)) keep[nonmissing++] = rows[i];
  json_object_set_new(out, "n", json_integer((json_int_t)nonmissing));
  json_object_set_new(out, "missing", json_integer((json_int_t)(n - nonmissing)));
  if (lp_table_is_numeric(t, col)) {
    if ((st = lp_table_numeric(t, col, keep, nonmissing, v, err))) goto done;
    lp_describe d;
    lp_describe_compute(v, nonmissing, work, &d);
    json_object_set_new(out, "mean", cli_num(d.mean));
    json_object_set_new(out, "sd", cli_num(d.sd));
    json_object_set_new(out, "median", cli_num(d.median));
    json_object_set_new(out, "q1", cli_num(d.q1));
    json_object_set_new(out, "q3", cli_num(d.q3));
    json_object_set_new(out, "min", cli_num(d.min));
    json_object_set_new(out, "max", cli_num(d.max));
    if (text_out) {
      char b[7][32];
      printf("    n %zu, missing %zu: mean %s (SD %s); median %s (IQR %s to %s); range %s to %s\n", nonmissing,
             n - nonmissing, cli_fmt(b[0], 32, d.mean, 5), cli_fmt(b[1], 32, d.sd, 5), cli_fmt(b[2], 32, d.median, 5),
             cli_fmt(b[3], 32, d.q1, 5), cli_fmt(b[4], 32, d.q3, 5), cli_fmt(b[5], 32, d.min, 5),
             cli_fmt(b[6], 32, d.max, 5));
    }
  } else {
    lp_factor f;
    if ((st = lp_factor_init(&f, t, col, keep, nonmissing, err))) goto done;
    json_t *counts = json_array();
    if (text_out) printf("    n %zu, missing %zu:", nonmissing, n - nonmissing);
    for (size_t l = 0; l < f.nlevels; l++) {
      size_t c = 0;
      for (size_t i = 0; i < f.n; i++) c += f.codes[i] == (int)l;
      double pct = 100.0 * (double)c / (double)nonmissing;
      json_array_append_new(counts,
                            json_pack("{s:s, s:I, s:f}", "value", f.levels[l], "count", (json_int_t)c, "percent", pct));
      if (text_out) printf("%s %s %zu (%.1f%%)", l ? "," : "", f.levels[l], c, pct);
    }
    if (text_out) printf("\n");
    json_object_set_new(out, "counts", counts);
    lp_factor_clear(&f);
  }
done:
  free(keep);
  free(v);
  free(work);
  return st;
}

static int run_describe(const cli_args *a) {
  const char *data;
  int rc;
  if ((rc = cli_require(a, "data", &data))) return rc;
  lp_error err;
  lp_table *t;
  if (lp_table_read_csv(data, &t, &err)) return cli_fail(a, &err);
  size_t nc = lp_table_ncols(t), nr = lp_table_nrows(t);
  char **cols = NULL;
  size_t ncols = 0, *cidx = NULL, *all = NULL, cby = 0;
  lp_factor by = {0};
  const char *bycol = cli_str(a, "by");
  lp_status st = LP_OK;
  bool text = !cli_has(a, "json");
  json_t *root = json_pack("{s:s, s:I, s:[]}", "data", data, "rows", (json_int_t)nr, "columns");
  if (cli_has(a, "columns")) st = lp_split_list(cli_str(a, "columns"), &cols, &ncols, &err);
  else
    ncols = nc;
  if (!st && (lp_calloc(ncols, sizeof *cidx, &cidx) || lp_calloc(nr, sizeof *all, &all)))
    st = lp_error_set(&err, LP_ENOMEM, "out of memory");
  for (size_t j = 0; !st && j < ncols; j++) {
    if (cols) st = lp_table_column(t, cols[j], &cidx[j], &err);
    else
      cidx[j] = j;
  }
  size_t *byrows = NULL, nby = 0;
  if (!st && bycol) {
    const char *bc[1] = {bycol};
    size_t dropped;
    st = lp_table_column(t, bycol, &cby, &err);
    if (!st) st = lp_table_complete_rows(t, bc, 1, &byrows, &nby, &dropped, &err);
    if (!st) st = lp_factor_init(&by, t, cby, byrows, nby, &err);
  }
  for (size_t i = 0; i < nr; i++) all[i] = i;
  size_t *sel = malloc((nr ? nr : 1) * sizeof *sel);
  if (!st && !sel) st = lp_error_set(&err, LP_ENOMEM, "out of memory");
  /* A numeric column with a cell that is not a finite number (NaN, Inf) is refused
   * before anything is printed. */
  double *check = NULL;
  if (!st && lp_calloc(nr ? nr : 1, sizeof *check, &check)) st = lp_error_set(&err, LP_ENOMEM, "out of memory");
  for (size_t j = 0; !st && j < ncols; j++)
    if (!(bycol && cidx[j] == cby) && lp_table_is_numeric(t, cidx[j]))
      st = lp_table_numeric(t, cidx[j], NULL, nr, check, &err);
  free(check);
  if (!st && text) printf("%s: %zu rows\n", data, nr);
  for (size_t j = 0; !st && j < ncols; j++) {
    if (bycol && cidx[j] == cby) continue;
    const char *name = lp_table_colname(t, cidx[j]);
    json_t *cj = json_pack("{s:s, s:s, s:[]}", "name", name, "type",
                           lp_table_is_numeric(t, cidx[j]) ? "numeric" : "text", "groups");
    json_array_append_new(json_object_get(root, "columns"), cj);
    if (text) printf("\n%s\n", name);
    size_t ng = bycol ? by.nlevels : 1;
    for (size_t g = 0; !st && g < ng; g++) {
      size_t m = 0;
      if (bycol) {
        for (size_t i = 0; i < nby; i++)
          if (by.codes[i] == (int)g) sel[m++] = byrows[i];
      } else {
        memcpy(sel, all, nr * sizeof *sel);
        m = nr;
      }
      json_t *gj = json_object();
      if (bycol) json_object_set_new(gj, "level", json_string(by.levels[g]));
      if (text && bycol) printf("  %s = %s\n", bycol, by.levels[g]);
      st = describe_one(t, cidx[j], sel, m, gj, text, &err);
      json_array_append_new(json_object_get(cj, "groups"), gj);
    }
  }
  free(sel);
  free(byrows);
  lp_factor_clear(&by);
  free(cols);
  free(cidx);
  free(all);
  lp_table_free(t);
  if (st) {
    json_decref(root);
    return cli_fail(a, &err);
  }
  if (!text) return cli_print_json(root);
  json_decref(root);
  return CLI_OK;
}

const cli_cmd cli_stats_cmds[] = {
    {"stats describe", "n, mean, SD, median and quartiles of numbers; counts and percentages of text", describe_opts,
     "example:\n  leopards stats describe --data trial.csv --columns age,sex --by arm", run_describe},
    {"stats compare", "two groups: difference in means or medians, bootstrap CI, Mann-Whitney P", compare_opts,
     "example:\n  leopards stats compare --data trial.csv --outcome sofa_mean --group arm \\\n"
     "      --levels levosimendan,placebo --boot 100000 --seed 1",
     run_compare},
    {"stats proportions", "two proportions: difference with Wald / Wald-cc / Newcombe CI, chi-square, Fisher",
     prop_opts,
     "examples:\n  leopards stats proportions --events 89,79 --totals 258,256 --ci wald\n"
     "  leopards stats proportions --data trial.csv --outcome died28 --group arm --ci newcombe",
     run_proportions},
    {"stats power", "sample size or power for two means (t test) or two proportions", power_opts,
     "examples:\n  leopards stats power --delta 0.5 --sd 1.5 --power 0.9\n"
     "  leopards stats power --p1 0.35 --p2 0.25 --n 250",
     run_power},
    {"stats lm", "linear regression (as R's lm), with a bootstrap CI for one coefficient", lm_opts,
     "example:\n  leopards stats lm --data trial.csv --y sofa_mean --covariates arm,icu,age,apache2 \\\n"
     "      --boot 100000 --term armplacebo --boot-strata arm",
     run_lm},
    {"stats interaction", "treatment-by-subgroup heterogeneity: permutation test of arm and subgroup", inter_opts,
     "example:\n  leopards stats interaction --data trial.csv --outcome sofa_mean --group arm \\\n"
     "      --subgroup lactate_gt2 --permutations 10000 --seed 1",
     run_interaction},
};
const size_t cli_stats_ncmds = sizeof cli_stats_cmds / sizeof cli_stats_cmds[0];
