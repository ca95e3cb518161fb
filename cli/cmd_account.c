/* leopards user passwd | deactivate | list: web accounts from the command line (the
 * trial manager's tool on the server's machine). A password is read from standard
 * input, never from an argument, so that it appears in no process list or history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <leopards/account.h>
#include <sodium.h>

#include "cli.h"
#include "cmd_trial.h"

/* One line from stdin without its newline; on a terminal asked twice with echo off. */
static int read_password(char *buf, size_t n) {
  bool tty = isatty(STDIN_FILENO);
  struct termios old, quiet;
  for (int round = 0; round < (tty ? 2 : 1); round++) {
    char *dst = round ? buf + n / 2 : buf;
    size_t cap = tty ? n / 2 : n;
    if (tty) {
      fprintf(stderr, round ? "again: " : "one-time password (at least %d characters): ", LP_PASSWORD_MIN);
      tcgetattr(STDIN_FILENO, &old);
      quiet = old;
      quiet.c_lflag &= ~(tcflag_t)ECHO;
      tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    char *got = fgets(dst, (int)cap, stdin);
    if (tty) {
      tcsetattr(STDIN_FILENO, TCSANOW, &old);
      fputc('\n', stderr);
    }
    if (!got) return -1;
    dst[strcspn(dst, "\r\n")] = '\0';
  }
  if (tty && strcmp(buf, buf + n / 2)) {
    fprintf(stderr, "leopards user passwd: the two entries differ\n");
    return -1;
  }
  return 0;
}

static const cli_opt passwd_opts[] = {
    {"db", "FILE", "trial database"},
    {"name", "NAME", "user whose one-time password is set"},
    {"user", "NAME", "trial manager setting it"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_passwd(const cli_args *a) {
  const char *name, *user;
  int rc;
  if ((rc = cli_require(a, "name", &name)) || (rc = cli_require(a, "user", &user))) return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_user_info by;
  if (lp_user_get(t, user, &by, &err) ||
      lp_access_check(by.role, by.site, LP_DO_MANAGE_USERS, NULL, &err)) {
    lp_trial_close(t);
    return cli_fail(a, &err);
  }
  char pw[2 * (LP_PASSWORD_MAX + 2)];
  if (read_password(pw, sizeof pw)) {
    lp_trial_close(t);
    return cli_usage_error(a, "no password on standard input");
  }
  lp_status s = lp_user_set_password(t, user, name, pw, &err);
  sodium_memzero(pw, sizeof pw);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:b}", "name", name, "one_time", 1));
  printf("one-time password set for %s: they choose their own at first login\n", name);
  return CLI_OK;
}

static const cli_opt deact_opts[] = {
    {"db", "FILE", "trial database"},
    {"name", "NAME", "user to deactivate (never deleted: the trail stays attributable)"},
    {"reason", "TEXT", "why"},
    {"user", "NAME", "trial manager"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_deactivate(const cli_args *a) {
  const char *name, *user, *reason;
  int rc;
  if ((rc = cli_require(a, "name", &name)) || (rc = cli_require(a, "user", &user)) ||
      (rc = cli_require(a, "reason", &reason)))
    return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_status s = lp_user_deactivate(t, user, name, reason, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:b}", "name", name, "active", 0));
  printf("deactivated %s\n", name);
  return CLI_OK;
}

static const cli_opt list_opts[] = {{"db", "FILE", "trial database"}, {"json", NULL, "print JSON"}, {0}};

static int run_list(const cli_args *a) {
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_user_info *u;
  size_t n;
  lp_status s = lp_user_list(t, &u, &n, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  json_t *arr = cli_has(a, "json") ? json_array() : NULL;
  for (size_t i = 0; i < n; i++) {
    const char *state = !u[i].active ? "deactivated" : u[i].locked ? "locked" : !u[i].has_password ? "no password"
                        : u[i].must_change ? "one-time password" : "active";
    if (arr)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:s}", "name", u[i].name, "role", lp_role_name(u[i].role),
                                           "site", u[i].site[0] ? u[i].site : NULL, "state", state));
    else
      printf("%-20s %-13s %-6s %s\n", u[i].name, lp_role_name(u[i].role), u[i].site[0] ? u[i].site : "-", state);
  }
  free(u);
  return arr ? cli_print_json(arr) : CLI_OK;
}

const cli_cmd cli_account_cmds[] = {
    {"user passwd", "set a user's one-time password (read from standard input; trial manager)", passwd_opts,
     "The password is read from standard input (asked twice, without echo, on a terminal),\n"
     "never from an argument. It is one-time: the user chooses their own at first login.\n"
     "At least 12 characters, not containing the user name, not a common password.\n"
     "example:\n  printf '%s\\n' \"$PW\" | leopards user passwd --db trial.db --name inv1 --user alice",
     run_passwd},
    {"user deactivate", "deactivate a user (never deleted); their sessions end", deact_opts, NULL, run_deactivate},
    {"user list", "users with role, site and account state (never a password or hash)", list_opts, NULL, run_list},
};
const size_t cli_account_ncmds = sizeof cli_account_cmds / sizeof cli_account_cmds[0];
