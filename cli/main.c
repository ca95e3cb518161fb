/* leopards: the command-line front end. Finds the command named by the leading
 * words of argv, parses its options and runs it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
  const cli_cmd *cmds;
  const size_t *n;
} cmd_group;

/* Each front-end file exports one table of commands; list them here. */
static const cmd_group groups[] = {
    {cli_pipeline_cmds, &cli_pipeline_ncmds}, {cli_stats_cmds, &cli_stats_ncmds},
    {cli_survival_cmds, &cli_survival_ncmds}, {cli_clinical_cmds, &cli_clinical_ncmds},
    {cli_trial_cmds, &cli_trial_ncmds},       {cli_consent_cmds, &cli_consent_ncmds},
    {cli_account_cmds, &cli_account_ncmds},   {cli_queries_cmds, &cli_queries_ncmds},
    {cli_serve_cmds, &cli_serve_ncmds},
};
static const size_t ngroups = sizeof groups / sizeof groups[0];

static void print_overview(FILE *f) {
  fprintf(f,
          "leopards %s: run and analyse a two-arm randomised ICU trial the way LeoPARDS did.\n\n"
          "usage: leopards COMMAND [options]     (leopards COMMAND --help for its options)\n\n"
          "commands:\n",
          LP_VERSION);
  for (size_t g = 0; g < ngroups; g++)
    for (size_t i = 0; i < *groups[g].n; i++)
      fprintf(f, "  %-22s %s\n", groups[g].cmds[i].path, groups[g].cmds[i].summary);
}

/* Does the command path ("stats compare") equal argv[0..k)? Returns k or 0. */
static int match_path(const char *path, int argc, char **argv) {
  int k = 0;
  const char *p = path;
  while (*p) {
    const char *sp = strchr(p, ' ');
    size_t len = sp ? (size_t)(sp - p) : strlen(p);
    if (k >= argc || strlen(argv[k]) != len || strncmp(argv[k], p, len)) return 0;
    k++;
    p += len;
    if (*p == ' ') p++;
  }
  return k;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_overview(stderr);
    return CLI_EUSAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    print_overview(stdout);
    return CLI_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    printf("leopards %s\n", LP_VERSION);
    return CLI_OK;
  }
  const cli_cmd *best = NULL;
  int best_k = 0;
  for (size_t g = 0; g < ngroups; g++) {
    for (size_t i = 0; i < *groups[g].n; i++) {
      int k = match_path(groups[g].cmds[i].path, argc - 1, argv + 1);
      if (k > best_k) {
        best_k = k;
        best = &groups[g].cmds[i];
      }
    }
  }
  if (!best) {
    /* A group word alone ("leopards stats") lists the commands under it. */
    /* "leopards stats --help" asks for that list too. */
    bool help = argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h") || !strcmp(argv[2], "help"));
    FILE *out = argc == 2 || help ? stdout : stderr;
    int listed = 0;
    size_t wl = strlen(argv[1]);
    for (size_t g = 0; g < ngroups; g++)
      for (size_t i = 0; i < *groups[g].n; i++) {
        const char *path = groups[g].cmds[i].path;
        if (!strncmp(path, argv[1], wl) && path[wl] == ' ') {
          if (!listed++) fprintf(out, "leopards %s commands:\n", argv[1]);
          fprintf(out, "  %-22s %s\n", path, groups[g].cmds[i].summary);
        }
      }
    if (listed && out == stdout) {
      fprintf(out, "\n'leopards %s COMMAND --help' lists a command's options.\n", argv[1]);
      return CLI_OK;
    }
    if (listed) {
      fprintf(stderr, "leopards: unknown command '%s %s' (the commands of '%s' are listed above)\n", argv[1], argv[2],
              argv[1]);
      return CLI_EUSAGE;
    }
    fprintf(stderr, "leopards: unknown command '%s' (see 'leopards --help')\n", argv[1]);
    return CLI_EUSAGE;
  }
  cli_args a;
  int rc = cli_parse(best, argc - 1 - best_k, argv + 1 + best_k, &a);
  if (rc == -1) return CLI_OK;
  if (rc) return rc;
  return best->run(&a);
}
