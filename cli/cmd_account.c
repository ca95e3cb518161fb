/* leopards user passwd | deactivate | list | token, and leopards site add | close | list:
 * web accounts, personal API tokens and sites from the command line (the
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

static const cli_opt passwd_opts[] = {{"db", "FILE", "trial database"},
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
  if (lp_user_get(t, user, &by, &err) || lp_access_check(by.role, by.site, LP_DO_MANAGE_USERS, NULL, &err)) {
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
    const char *state = !u[i].active         ? "deactivated"
                        : u[i].locked        ? "locked"
                        : !u[i].has_password ? "no password"
                        : u[i].must_change   ? "one-time password"
                                             : "active";
    if (arr)
      json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:s, s:s?}", "name", u[i].name, "role",
                                           lp_role_name(u[i].role), "site", u[i].site[0] ? u[i].site : NULL, "state",
                                           state, "full_name", u[i].full_name[0] ? u[i].full_name : NULL));
    else
      printf("%-20s %-13s %-6s %-18s %s\n", u[i].name, lp_role_name(u[i].role), u[i].site[0] ? u[i].site : "-", state,
             u[i].full_name[0] ? u[i].full_name : "(no full name)");
  }
  free(u);
  return arr ? cli_print_json(arr) : CLI_OK;
}

/* ---- personal API tokens: the user's own, on the server's machine ---- */

static const cli_opt token_add_opts[] = {{"db", "FILE", "trial database"},
                                         {"user", "NAME", "the user the token acts as (themself)"},
                                         {"label", "TEXT", "what the token is for (\"nightly export\")"},
                                         {"days", "N", "how long it lasts (default 365)"},
                                         {"json", NULL, "print JSON"},
                                         {0}};

static int run_token_add(const cli_args *a) {
  const char *user, *label;
  long days = 365;
  int rc;
  if ((rc = cli_require(a, "user", &user)) || (rc = cli_require(a, "label", &label)) ||
      (rc = cli_long(a, "days", 1, 3660, &days)))
    return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  char tok[LP_API_TOKEN_LEN + 1];
  long id = 0;
  lp_status s = lp_api_token_create(t, user, label, (int)days, tok, &id, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    rc = cli_print_json(json_pack("{s:I, s:s, s:s}", "id", (json_int_t)id, "label", label, "token", tok));
  else
    printf("API token %ld for %s (%s), shown this once; send it as 'Authorization: Bearer TOKEN':\n%s\n", id, user,
           label, tok);
  sodium_memzero(tok, sizeof tok);
  return rc;
}

static const cli_opt token_list_opts[] = {{"db", "FILE", "trial database"},
                                          {"user", "NAME", "whose tokens (a trial manager may name --of)"},
                                          {"of", "NAME", "another user's tokens (trial manager)"},
                                          {"json", NULL, "print JSON"},
                                          {0}};

static int run_token_list(const cli_args *a) {
  const char *user, *of = cli_str(a, "of");
  int rc;
  if ((rc = cli_require(a, "user", &user))) return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_user_info by;
  lp_api_token_info *x = NULL;
  size_t n = 0;
  lp_status s = lp_user_get(t, user, &by, &err);
  if (!s && of && strcmp(of, user)) s = lp_access_check(by.role, by.site, LP_DO_MANAGE_USERS, NULL, &err);
  if (!s) s = lp_api_token_list(t, of ? of : user, &x, &n, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  json_t *arr = cli_has(a, "json") ? json_array() : NULL;
  for (size_t i = 0; i < n; i++) {
    const char *state = x[i].revoked ? "revoked" : x[i].expired ? "expired" : "active";
    if (arr)
      json_array_append_new(arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)x[i].id, "user",
                                           x[i].user, "label", x[i].label, "created_at", x[i].created_at, "expires_at",
                                           x[i].expires_at, "last_used", x[i].last_used, "state", state));
    else
      printf("%-4ld %-30s created %.10s, expires %.10s, last used %.16s: %s\n", x[i].id, x[i].label, x[i].created_at,
             x[i].expires_at, x[i].last_used, state);
  }
  free(x);
  return arr ? cli_print_json(arr) : CLI_OK;
}

static const cli_opt token_revoke_opts[] = {{"db", "FILE", "trial database"},
                                            {"id", "N", "the token's number (see 'leopards user token list')"},
                                            {"user", "NAME", "its holder, or a trial manager"},
                                            {"json", NULL, "print JSON"},
                                            {0}};

static int run_token_revoke(const cli_args *a) {
  const char *user;
  long id = 0;
  int rc;
  if ((rc = cli_require(a, "user", &user)) || (rc = cli_long(a, "id", 1, 1L << 40, &id))) return rc;
  if (!id) return cli_usage_error(a, "give the token's number with --id");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_status s = lp_api_token_revoke(t, user, id, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:I, s:b}", "id", (json_int_t)id, "revoked", 1));
  printf("API token %ld revoked\n", id);
  return CLI_OK;
}

/* ---- sites during the trial (trial manager) ---- */

static const cli_opt site_add_opts[] = {{"db", "FILE", "trial database"},
                                        {"code", "CODE", "the new site's code (\"ICU35\")"},
                                        {"name", "TEXT", "its name (default: the code)"},
                                        {"user", "NAME", "trial manager"},
                                        {"json", NULL, "print JSON"},
                                        {0}};

static int run_site_add(const cli_args *a) {
  const char *user, *code;
  int rc;
  if ((rc = cli_require(a, "code", &code)) || (rc = cli_require(a, "user", &user))) return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_status s = lp_site_add(t, user, code, cli_str(a, "name"), &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:b}", "site", code, "open", 1));
  printf(
      "site %s added; it gets its randomisation list when the statistician extends the list\n"
      "  (leopards list generate --db DB --key KEY --user STATISTICIAN), or at its first randomisation\n"
      "  through a server that holds the key\n",
      code);
  return CLI_OK;
}

static const cli_opt site_close_opts[] = {
    {"db", "FILE", "trial database"}, {"site", "CODE", "the site closed to recruitment"},
    {"reason", "TEXT", "why"},        {"user", "NAME", "trial manager"},
    {"json", NULL, "print JSON"},     {0}};

static int run_site_close(const cli_args *a) {
  const char *user, *site, *reason;
  int rc;
  if ((rc = cli_require(a, "site", &site)) || (rc = cli_require(a, "reason", &reason)) ||
      (rc = cli_require(a, "user", &user)))
    return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_status s = lp_site_close(t, user, site, reason, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:b}", "site", site, "open", 0));
  printf("site %s closed to recruitment: no new patient is screened or randomised there\n", site);
  return CLI_OK;
}

static int run_site_list(const cli_args *a) {
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_site_info *x;
  size_t n;
  lp_status s = lp_site_list(t, &x, &n, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  json_t *arr = cli_has(a, "json") ? json_array() : NULL;
  for (size_t i = 0; i < n; i++) {
    if (arr)
      json_array_append_new(
          arr, json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:I, s:I}", "code", x[i].code, "name", x[i].name, "open",
                         !x[i].closed, "closed_at", x[i].closed ? x[i].closed_at : NULL, "closed_reason",
                         x[i].closed ? x[i].closed_reason : NULL, "slots", (json_int_t)x[i].slots, "randomised",
                         (json_int_t)x[i].randomised));
    else
      printf("%-8s %-30s %4ld randomised, %4ld list slots  %s%s%s\n", x[i].code, x[i].name, x[i].randomised, x[i].slots,
             x[i].closed ? "closed: " : "open", x[i].closed ? x[i].closed_reason : "", "");
  }
  free(x);
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
    {"user token add", "create a personal API token for automation (shown once; stored only as a hash)", token_add_opts,
     "example:\n  leopards user token add --db trial.db --user inv1 --label \"ward export\" --days 90", run_token_add},
    {"user token list", "API tokens (number, label, dates, state; never the token)", token_list_opts, NULL,
     run_token_list},
    {"user token revoke", "revoke an API token (its holder, or a trial manager)", token_revoke_opts, NULL,
     run_token_revoke},
    {"site add", "add a site during the trial (trial manager)", site_add_opts, NULL, run_site_add},
    {"site close", "close a site to recruitment (trial manager); its patients' data go on", site_close_opts, NULL,
     run_site_close},
    {"site list", "sites, open or closed, with their randomisations and list slots", list_opts, NULL, run_site_list},
};
const size_t cli_account_ncmds = sizeof cli_account_cmds / sizeof cli_account_cmds[0];
