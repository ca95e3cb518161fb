/* leopards serve --demo: a fresh simulated trial in progress (34 ICUs, part-way through
 * recruitment, unlocked, its calendar ending today) and one user of each role with a
 * printed one-time password, served on localhost. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leopards/account.h>
#include <leopards/queries.h>
#include <leopards/sim.h>
#include <leopards/strbuf.h>
#include <leopards/trial.h>
#include <sodium.h>

#include "../server/server.h"
#include "cli.h"

int cli_serve_demo(const cli_args *a, srv_options *o);

#define MARKER ".leopards-serve-demo"

/* A one-time password of four groups of four letters and digits (about 80 bits). */
static void make_password(const char *user, char *buf, size_t n) {
  static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  do {
    size_t k = 0;
    for (int g = 0; g < 4; g++) {
      if (g && k + 1 < n) buf[k++] = '-';
      for (int i = 0; i < 4 && k + 1 < n; i++) buf[k++] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    }
    buf[k] = '\0';
  } while (lp_password_acceptable(user, buf, NULL));
}

static int prepare_dir(const cli_args *a, const char *dir, char *db, char *key, size_t n) {
  char marker[1200];
  snprintf(db, n, "%s/trial.db", dir);
  snprintf(key, n, "%s/trial.key", dir);
  char ak[1300];
  snprintf(ak, sizeof ak, "%s/trial.db.audit-key", dir);
  snprintf(marker, sizeof marker, "%s/%s", dir, MARKER);
  struct stat sb;
  if (stat(dir, &sb) == 0) {
    if (stat(marker, &sb) != 0)
      return cli_usage_error(a, "%s exists and was not made by 'leopards serve --demo': give another --dir", dir);
    lp_trial_remove_files(db); /* an earlier demo: made afresh */
    unlink(key);
    unlink(ak);
  } else if (mkdir(dir, 0700) != 0) {
    fprintf(stderr, "leopards serve: cannot create %s: %s\n", dir, strerror(errno));
    return CLI_EDATA;
  }
  FILE *f = fopen(marker, "w");
  if (!f) {
    fprintf(stderr, "leopards serve: cannot write in %s: %s\n", dir, strerror(errno));
    return CLI_EDATA;
  }
  fputs("made by leopards serve --demo; the folder is replaced by the next demo\n", f);
  fclose(f);
  return CLI_OK;
}

int cli_serve_demo(const cli_args *a, srv_options *o) {
  static char db[1100], key[1100];
  const char *dir = cli_str(a, "dir") ? cli_str(a, "dir") : "leopards-serve-demo";
  int rc;
  if (sodium_init() < 0) return CLI_EDATA;
  if ((rc = prepare_dir(a, dir, db, key, sizeof db))) return rc;
  lp_sim_options so;
  lp_sim_options_default(&so);
  so.seed = ((uint64_t)randombytes_random() << 32) | randombytes_random();
  so.stop_after = 200;
  lp_sim_summary sum;
  lp_error err;
  printf("leopards serve --demo: simulating a trial in progress at 34 ICUs ...\n");
  fflush(stdout);
  if (lp_sim_run(db, key, &so, &sum, &err)) return cli_fail(a, &err);
  lp_trial *t;
  if (lp_trial_open(db, &t, &err)) return cli_fail(a, &err);
  static char akey[4200];
  lp_audit_key_default_path(db, akey, sizeof akey);
  if (access(akey, F_OK) == 0 && lp_trial_open_audit_key(t, akey, &err)) {
    lp_trial_close(t);
    return cli_fail(a, &err);
  }
  static const struct {
    const char *name, *role;
  } users[] = {{"manager", "trial manager"},
               {"inv-ICU01", "investigator at ICU01, its principal investigator"},
               {"inv-ICU02", "investigator at ICU02"},
               {"statistician", "statistician"},
               {"monitor", "monitor (read-only, all sites)"}};
  lp_strbuf b = {0};
  lp_strbuf_printf(&b,
                   "\nA simulated LeoPARDS trial in progress: %ld screened, %ld randomised at 34 ICUs, unlocked,\n"
                   "its calendar ending today (%s, with its key: the demo can unblind).\n\n"
                   "Open the address above in a browser and log in as one of these (each password is\n"
                   "one-time: you choose your own at first login):\n\n",
                   sum.screened, sum.randomised, db);
  lp_status s = lp_user_add(t, "manager", "monitor", LP_ROLE_MONITOR, NULL, &err);
  if (!s) s = lp_site_pi_set(t, "manager", "inv-ICU01", &err);
  /* the printed names that signatures show (fictitious people) */
  static const char *const names[][2] = {
      {"manager", "Maria Lindqvist"}, {"inv-ICU01", "Dr Eleanor Hart"}, {"statistician", "Dr Samuel Okafor"}};
  for (size_t i = 0; !s && i < sizeof names / sizeof names[0]; i++)
    s = lp_user_set_full_name(t, "manager", names[i][0], names[i][1], &err);
  for (size_t i = 0; !s && i < sizeof users / sizeof users[0]; i++) {
    char pw[32];
    make_password(users[i].name, pw, sizeof pw);
    s = lp_user_set_password(t, "manager", users[i].name, pw, &err);
    lp_strbuf_printf(&b, "  %-13s %s   (%s)\n", users[i].name, pw, users[i].role);
    sodium_memzero(pw, sizeof pw);
  }
  lp_trial_close(t);
  if (s) {
    free(b.p);
    return cli_fail(a, &err);
  }
  lp_strbuf_puts(&b, "\nStop with Ctrl-C.\n");
  o->db = db;
  o->key = key;
  o->banner = b.p;
  return CLI_OK;
}
