/* Shared parts of the leopards command-line tool: option parsing, output, errors.
 * The tool uses the public API in include/leopards only. */
#ifndef LEOPARDS_CLI_H
#define LEOPARDS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <leopards/core.h>

/* Exit codes. */
enum { CLI_OK = 0, CLI_EDATA = 1, CLI_EUSAGE = 2 };

/* One option a command accepts. `value` names the argument (NULL for a flag). An
 * option named "_" declares one positional word (its value via cli_str(a, "_")). */
typedef struct cli_opt {
  const char *name; /* without the leading dashes */
  const char *value;
  const char *help;
} cli_opt;

/* A command: its path ("stats compare"), a one-line summary, its options, a longer
 * description for --help, and the function that runs it. */
typedef struct cli_args cli_args;
typedef struct cli_cmd {
  const char *path;
  const char *summary;
  const cli_opt *opts;
  const char *usage; /* extra text after the option list (may be NULL) */
  int (*run)(const cli_args *a);
} cli_cmd;

#define CLI_MAX_ARGS 64
struct cli_args {
  const cli_cmd *cmd;
  size_t n;
  const char *name[CLI_MAX_ARGS];
  const char *val[CLI_MAX_ARGS];
};

/* Parse argv against the command's options. Errors print a message and the
 * command's usage line to stderr and return CLI_EUSAGE. --help prints help and
 * returns -1 (the caller exits 0). */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a);
void cli_help(const cli_cmd *cmd, FILE *f);

bool cli_has(const cli_args *a, const char *name);
const char *cli_str(const cli_args *a, const char *name); /* NULL if absent */
/* Typed getters: absent -> keep *out (the default) and return 0; malformed -> message, CLI_EUSAGE. */
int cli_double(const cli_args *a, const char *name, double *out);
int cli_long(const cli_args *a, const char *name, long min, long max, long *out);
int cli_u64(const cli_args *a, const char *name, unsigned long long *out);
/* Required string option: message and CLI_EUSAGE when absent. */
int cli_require(const cli_args *a, const char *name, const char **out);
/* A comma-separated list of numbers. *out is malloc'ed. */
int cli_double_list(const cli_args *a, const char *name, double **out, size_t *n);
/* An option that must be one of the words in `choices` (NULL-terminated); returns index. */
int cli_choice(const cli_args *a, const char *name, const char *const *choices, int *out);

/* Report a library error: "leopards: MESSAGE" on stderr; with --json also an error
 * object on stdout. Returns the exit code to use. */
int cli_fail(const cli_args *a, const lp_error *err);
/* A usage error with printf-style text (stderr), returns CLI_EUSAGE. */
int cli_usage_error(const cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* JSON output: numbers with 15 significant digits; non-finite numbers become null. */
json_t *cli_num(double x);
int cli_print_json(json_t *root); /* prints, frees root, returns CLI_OK or CLI_EDATA */

/* Text output: a number with `digits` significant digits ("Inf" or "-Inf" when
 * infinite, as R prints them; "NA" when NaN). */
const char *cli_fmt(char *buf, size_t n, double x, int digits);
/* P value the way R prints it with format.pval(digits = 4): "< 2.2e-16" below eps. */
const char *cli_fmt_p(char *buf, size_t n, double p);
/* Print `first` then `text` to f, wrapped at spaces to lines of at most 79
 * columns, continuation lines starting with `indent`; ends with a newline. */
void cli_wrap(FILE *f, const char *first, const char *indent, const char *text);

/* The commands, grouped by file. */
extern const cli_cmd cli_pipeline_cmds[];
extern const size_t cli_pipeline_ncmds;
extern const cli_cmd cli_survival_cmds[];
extern const size_t cli_survival_ncmds;
extern const cli_cmd cli_clinical_cmds[];
extern const size_t cli_clinical_ncmds;
extern const cli_cmd cli_stats_cmds[];
extern const size_t cli_stats_ncmds;
extern const cli_cmd cli_trial_cmds[];
extern const size_t cli_trial_ncmds;
extern const cli_cmd cli_consent_cmds[];
extern const size_t cli_consent_ncmds;
extern const cli_cmd cli_account_cmds[];
extern const size_t cli_account_ncmds;
extern const cli_cmd cli_queries_cmds[];
extern const size_t cli_queries_ncmds;
/* One line from standard input without its newline (a password); on a terminal the
 * prompt is shown and echo is off. -1 at end of input. */
int cli_read_secret(const char *prompt, char *buf, size_t n);
extern const cli_cmd cli_serve_cmds[];
extern const size_t cli_serve_ncmds;

#endif
