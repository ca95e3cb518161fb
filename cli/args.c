/* Option parsing, help text, typed option getters and the error/JSON output helpers. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <leopards/table.h>

static const cli_opt *find_opt(const cli_cmd *cmd, const char *name) {
  for (const cli_opt *o = cmd->opts; o && o->name; o++)
    if (!strcmp(o->name, name)) return o;
  return NULL;
}

void cli_help(const cli_cmd *cmd, FILE *f) {
  fprintf(f, "usage: leopards %s [options]\n\n%s\n\noptions:\n", cmd->path, cmd->summary);
  for (const cli_opt *o = cmd->opts; o && o->name; o++) {
    char left[64];
    if (!strcmp(o->name, "_")) /* a positional word */
      snprintf(left, sizeof left, "%s", o->value);
    else
      snprintf(left, sizeof left, "--%s%s%s", o->name, o->value ? " " : "", o->value ? o->value : "");
    fprintf(f, "  %-26s %s\n", left, o->help);
  }
  fprintf(f, "  %-26s %s\n", "--help", "show this help");
  if (cmd->usage) fprintf(f, "\n%s\n", cmd->usage);
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a) {
  memset(a, 0, sizeof *a);
  a->cmd = cmd;
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      cli_help(cmd, stdout);
      return -1;
    }
    if ((strncmp(s, "--", 2) || !s[2]) && find_opt(cmd, "_") && !cli_has(a, "_") && a->n < CLI_MAX_ARGS) {
      /* a command may take one positional word, declared as option "_" */
      a->name[a->n] = "_";
      a->val[a->n] = s;
      a->n++;
      continue;
    }
    if (strncmp(s, "--", 2) || !s[2]) {
      fprintf(stderr, "leopards %s: unexpected argument '%s' (options start with --)\n", cmd->path, s);
      fprintf(stderr, "see 'leopards %s --help'\n", cmd->path);
      return CLI_EUSAGE;
    }
    char name[64];
    const char *eq = strchr(s + 2, '=');
    size_t len = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
    if (len >= sizeof name) len = sizeof name - 1;
    memcpy(name, s + 2, len);
    name[len] = '\0';
    const cli_opt *o = find_opt(cmd, name);
    if (!o) {
      fprintf(stderr, "leopards %s: unknown option --%s\n", cmd->path, name);
      fprintf(stderr, "see 'leopards %s --help'\n", cmd->path);
      return CLI_EUSAGE;
    }
    const char *val = NULL;
    if (o->value) {
      if (eq) {
        val = eq + 1;
      } else if (i + 1 < argc) {
        val = argv[++i];
      } else {
        fprintf(stderr, "leopards %s: option --%s needs a value (%s)\n", cmd->path, name, o->value);
        return CLI_EUSAGE;
      }
    } else if (eq) {
      fprintf(stderr, "leopards %s: option --%s takes no value\n", cmd->path, name);
      return CLI_EUSAGE;
    }
    for (size_t k = 0; k < a->n; k++) {
      if (!strcmp(a->name[k], o->name)) {
        fprintf(stderr, "leopards %s: option --%s given twice\n", cmd->path, name);
        return CLI_EUSAGE;
      }
    }
    if (a->n == CLI_MAX_ARGS) {
      fprintf(stderr, "leopards %s: too many options\n", cmd->path);
      return CLI_EUSAGE;
    }
    a->name[a->n] = o->name;
    a->val[a->n] = val ? val : "";
    a->n++;
  }
  return CLI_OK;
}

bool cli_has(const cli_args *a, const char *name) {
  for (size_t k = 0; k < a->n; k++)
    if (!strcmp(a->name[k], name)) return true;
  return false;
}

const char *cli_str(const cli_args *a, const char *name) {
  for (size_t k = 0; k < a->n; k++)
    if (!strcmp(a->name[k], name)) return a->val[k];
  return NULL;
}

int cli_usage_error(const cli_args *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "leopards %s: ", a->cmd->path);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nsee 'leopards %s --help'\n", a->cmd->path);
  va_end(ap);
  return CLI_EUSAGE;
}

int cli_require(const cli_args *a, const char *name, const char **out) {
  const char *v = cli_str(a, name);
  if (!v) return cli_usage_error(a, "option --%s is required", name);
  if (!*v) return cli_usage_error(a, "option --%s is empty", name);
  *out = v;
  return CLI_OK;
}

int cli_double(const cli_args *a, const char *name, double *out) {
  const char *v = cli_str(a, name);
  if (!v) return CLI_OK;
  if (!lp_parse_number(v, out)) return cli_usage_error(a, "--%s: '%s' is not a number", name, v);
  return CLI_OK;
}

int cli_long(const cli_args *a, const char *name, long min, long max, long *out) {
  const char *v = cli_str(a, name);
  if (!v) return CLI_OK;
  char *e;
  errno = 0;
  long x = strtol(v, &e, 10);
  if (!*v || *e || errno) return cli_usage_error(a, "--%s: '%s' is not a whole number", name, v);
  if (x < min || x > max) return cli_usage_error(a, "--%s: %ld is outside %ld to %ld", name, x, min, max);
  *out = x;
  return CLI_OK;
}

int cli_u64(const cli_args *a, const char *name, unsigned long long *out) {
  const char *v = cli_str(a, name);
  if (!v) return CLI_OK;
  char *e;
  errno = 0;
  unsigned long long x = strtoull(v, &e, 10);
  if (!*v || *e || errno || *v == '-')
    return cli_usage_error(a, "--%s: '%s' is not a non-negative whole number", name, v);
  *out = x;
  return CLI_OK;
}

int cli_double_list(const cli_args *a, const char *name, double **out, size_t *n) {
  *out = NULL;
  *n = 0;
  const char *v = cli_str(a, name);
  if (!v) return CLI_OK;
  char **items;
  size_t k;
  lp_error err;
  if (lp_split_list(v, &items, &k, &err)) return cli_usage_error(a, "--%s: %s", name, err.message);
  double *x = malloc(k * sizeof *x);
  if (!x) {
    free(items);
    return cli_usage_error(a, "out of memory");
  }
  for (size_t i = 0; i < k; i++) {
    if (!lp_parse_number(items[i], &x[i])) {
      int rc = cli_usage_error(a, "--%s: '%s' is not a number", name, items[i]);
      free(items);
      free(x);
      return rc;
    }
  }
  free(items);
  *out = x;
  *n = k;
  return CLI_OK;
}

int cli_choice(const cli_args *a, const char *name, const char *const *choices, int *out) {
  const char *v = cli_str(a, name);
  if (!v) return CLI_OK;
  for (int i = 0; choices[i]; i++) {
    if (!strcmp(v, choices[i])) {
      *out = i;
      return CLI_OK;
    }
  }
  char list[256];
  size_t k = 0;
  list[0] = '\0';
  for (int i = 0; choices[i] && k + 4 < sizeof list; i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", choices[i]);
  return cli_usage_error(a, "--%s: '%s' is not one of: %s", name, v, list);
}

/* The command line's own hints for library messages, which speak of things (the key,
 * a reason, a field) and not of options. */
static void cli_hint(const cli_args *a, const lp_error *err) {
  static const struct {
    const char *says, *hint;
  } hints[] = {
      {"no such trial database", "create it with 'leopards trial init'"},
      {"the statistician must generate or extend the list", "leopards list generate --key KEY --user STATISTICIAN"},
      {"the statistician must extend it", "leopards list generate --key KEY --user STATISTICIAN"},
      {"cannot change during the trial", "see 'leopards list report'"},
      {"has no screening record", "leopards screen --site SITE --patient PATIENT ..."},
      {"consent record: a correction needs a reason", "give the changed fields with --reason TEXT to correct it"},
  };
  for (size_t i = 0; i < sizeof hints / sizeof hints[0]; i++)
    if (strstr(err->message, hints[i].says)) {
      fprintf(stderr, "hint: %s\n", hints[i].hint);
      return;
    }
  if (!a || !err->field[0]) return;
  for (const cli_opt *o = a->cmd->opts; o && o->name; o++)
    if (!strcmp(o->name, err->field) && strcmp(o->name, "_")) {
      fprintf(stderr, "hint: give --%s\n", o->name);
      return;
    }
  if (strstr(err->message, "unknown") && strstr(err->message, "field"))
    fprintf(stderr, "hint: 'leopards %s --help' lists the fields\n", a->cmd->path);
}

int cli_fail(const cli_args *a, const lp_error *err) {
  const char *msg = err->message[0] ? err->message : lp_strerror(err->status);
  fprintf(stderr, "leopards %s: %s\n", a ? a->cmd->path : "", msg);
  cli_hint(a, err);
  if (a && cli_has(a, "json")) {
    json_t *e = json_pack("{s:s, s:s}", "status", lp_status_name(err->status), "message", msg);
    if (e && err->file[0]) json_object_set_new(e, "file", json_string(err->file));
    if (e && err->line > 0) json_object_set_new(e, "line", json_integer(err->line));
    if (e && err->column > 0) json_object_set_new(e, "column", json_integer(err->column));
    if (e && err->field[0]) json_object_set_new(e, "field", json_string(err->field));
    json_t *root = json_pack("{s:o}", "error", e);
    if (root) {
      json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      fputc('\n', stdout);
      json_decref(root);
    }
  }
  return err->status == LP_EINVAL ? CLI_EUSAGE : CLI_EDATA;
}

json_t *cli_num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

int cli_print_json(json_t *root) {
  if (!root) {
    fprintf(stderr, "leopards: out of memory building JSON\n");
    return CLI_EDATA;
  }
  int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
  fputc('\n', stdout);
  json_decref(root);
  return rc ? CLI_EDATA : CLI_OK;
}

const char *cli_fmt(char *buf, size_t n, double x, int digits) {
  if (isinf(x)) /* as R prints an overflowing SD or an interval's open end */
    snprintf(buf, n, "%s", x > 0 ? "Inf" : "-Inf");
  else if (!isfinite(x))
    snprintf(buf, n, "NA");
  else
    snprintf(buf, n, "%.*g", digits, x);
  return buf;
}

const char *cli_fmt_p(char *buf, size_t n, double p) {
  if (!isfinite(p)) snprintf(buf, n, "NA");
  else if (p < 2.220446e-16)
    snprintf(buf, n, "< 2.2e-16");
  else
    snprintf(buf, n, "%.4g", p);
  return buf;
}

void cli_wrap(FILE *f, const char *first, const char *indent, const char *text) {
  const size_t width = 79;
  size_t col = strlen(first);
  fputs(first, f);
  bool line_start = true;
  const char *p = text;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    size_t w = strcspn(p, " ");
    if (!line_start && col + 1 + w > width) {
      fprintf(f, "\n%s", indent);
      col = strlen(indent);
      line_start = true;
    }
    if (!line_start) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, w, f);
    col += w;
    p += w;
    line_start = false;
  }
  fputc('\n', f);
}
