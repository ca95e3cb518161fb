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
  double *x, *y;      /* outcome in the first and second level */
  size_t nx, ny;
  char *levels[2];
  size_t used, dropped;
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
 * levels (sorted, or as --levels orders them). Errors name file, line, column. */
static lp_status load_two_groups(const char *path, const char *outcome, const char *group,
                                 const char *levels_opt, bool binary, two_groups *g,
                                 lp_error *err) {
  memset(g, 0, sizeof *g);
  lp_status st;
  size_t *rows = NULL, n = 0, cy, cg;
  double *v = NULL;
  lp_factor f = {0};
  char **lv = NULL;
  size_t nlv = 0;
  if ((st = lp_table_read_csv(path, &g->t, err))) return st;
  if ((st = lp_table_column(g->t, outcome, &cy, err)) || (st = lp_table_column(g->t, group, &cg, err)))
    goto fail;
  const char *cols[2] = {outcome, group};
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
    if (f.nlevels != 2) {
      st = lp_error_at(err, LP_EDATA, path, 0, group,
                       "has %zu levels; only rows of the two named levels can be compared, "
                       "filter the others out first",
                       f.nlevels);
      goto fail;
    }
  } else if (f.nlevels != 2) {
    st = lp_error_at(err, LP_EDATA, path, 0, group, "has %zu levels where two are needed%s%s%s%s",
                     f.nlevels, f.nlevels ? " (" : "", f.nlevels ? f.levels[0] : "",
                     f.nlevels > 2 ? ", ..." : "", f.nlevels ? ")" : "");
    goto fail;
  }
  if (lp_calloc(n, sizeof *g->x, &g->x) || lp_calloc(n, sizeof *g->y, &g->y)) {
    st = lp_error_set(err, LP_ENOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    if (f.codes[i] == 0) g->x[g->nx++] = v[i];
    else g->y[g->ny++] = v[i];
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
  return json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "level", level, "n", (json_int_t)d->n,
                   "mean", cli_num(d->mean), "sd", cli_num(d->sd), "median", cli_num(d->median), "q1",
                   cli_num(d->q1), "q3", cli_num(d->q3));
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
    {"levels", "A,B", "order of the two levels (difference is A minus B); default sorted"},
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
  if ((rc = cli_choice(a, "summary", summaries, &summary)) ||
      (rc = cli_long(a, "boot", 2, 100000000, &boot)) || (rc = cli_u64(a, "seed", &seed)) ||
      (rc = cli_long(a, "threads", 1, 1024, &threads)) || (rc = cli_double(a, "level", &o.level)))
    return rc;
  if (!(o.level > 0 && o.level < 1)) return cli_usage_error(a, "--level must be between 0 and 1");
  o.summary = (lp_summary)summary;
  o.replicates = (size_t)boot;
  o.seed = seed;
  o.threads = (int)threads;

  lp_error err;
  two_groups g;
  if (load_two_groups(data, outcome, group, cli_str(a, "levels"), false, &g, &err))
    return cli_fail(a, &err);
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
        describe_json(g.levels[1], &d[1]), "summary", summaries[summary], "estimate",
        cli_num(br.estimate), "ci", cli_num(br.ci[0]), cli_num(br.ci[1]), "level", o.level,
        "bootstrap", "replicates", (json_int_t)o.replicates, "finite", (json_int_t)br.finite,
        "seed", (json_int_t)o.seed, "test", "name", "mann-whitney", "W", cli_num(mw.W), "p",
        cli_num(mw.p), "n_used", (json_int_t)g.used, "n_dropped", (json_int_t)g.dropped);
    two_groups_clear(&g);
    return cli_print_json(root);
  }
  char b[4][32];
  printf("%s by %s (%s minus %s): %zu rows used, %zu dropped for missing values\n\n", outcome,
         group, g.levels[0], g.levels[1], g.used, g.dropped);
  printf("  %-14s %6s %10s %10s %10s %10s %10s\n", "level", "n", "mean", "sd", "median", "q1", "q3");
  print_describe_row(g.levels[0], &d[0]);
  print_describe_row(g.levels[1], &d[1]);
  printf("\ndifference in %ss: %s, %g%% CI %s to %s (bootstrap percentile, %zu resamples "
         "within groups, seed %llu)\n",
         summaries[summary], cli_fmt(b[0], 32, br.estimate, 6), 100 * o.level,
         cli_fmt(b[1], 32, br.ci[0], 6), cli_fmt(b[2], 32, br.ci[1], 6), o.replicates, seed);
  printf("Mann-Whitney (continuity corrected): W = %s, p = %s\n", cli_fmt(b[0], 32, mw.W, 10),
         cli_fmt_p(b[3], 32, mw.p));
  two_groups_clear(&g);
  return CLI_OK;
}

const cli_cmd cli_stats_cmds[] = {
    {"stats compare", "two groups: difference in means or medians, bootstrap CI, Mann-Whitney P",
     compare_opts,
     "example:\n  leopards stats compare --data trial.csv --outcome sofa_mean --group arm \\\n"
     "      --levels levosimendan,placebo --boot 100000 --seed 1",
     run_compare},
};
const size_t cli_stats_ncmds = sizeof cli_stats_cmds / sizeof cli_stats_cmds[0];
