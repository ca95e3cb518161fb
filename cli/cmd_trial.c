/* leopards trial commands: init, users, the sealed list, screening, randomisation,
 * unblinding and lock. Data entry, audit, export and import are in cmd_trial_data.c;
 * this file holds the command table for both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leopards/table.h>
#include <leopards/queries.h>
#include <leopards/trial.h>
#include <sodium.h>

#include "cli.h"
#include "cmd_trial.h"

int cli_trial_open(const cli_args *a, lp_trial **t) {
  const char *db;
  int rc = cli_require(a, "db", &db);
  if (rc) return rc;
  lp_error err;
  if (lp_trial_open(db, t, &err)) {
    rc = cli_fail(a, &err);
    if (strstr(err.message, "must be upgraded"))
      fprintf(stderr, "hint: leopards trial upgrade --db %s --user MANAGER\n", db);
    return rc;
  }
  char def[4200];
  const char *ak = cli_str(a, "audit-key");
  if (!ak) {
    lp_audit_key_default_path(db, def, sizeof def);
    if (access(def, F_OK) == 0) ak = def;
  }
  if (ak && lp_trial_open_audit_key(*t, ak, &err)) {
    lp_trial_close(*t);
    *t = NULL;
    return cli_fail(a, &err);
  }
  return CLI_OK;
}

int cli_trial_open_readonly(const cli_args *a, lp_trial **t) {
  const char *db;
  int rc = cli_require(a, "db", &db);
  if (rc) return rc;
  lp_error err;
  if (lp_trial_open_readonly(db, t, &err)) {
    rc = cli_fail(a, &err);
    if (strstr(err.message, "must be upgraded"))
      fprintf(stderr, "hint: leopards trial upgrade --db %s --user MANAGER\n", db);
    return rc;
  }
  return CLI_OK;
}

int cli_trial_key(const cli_args *a, lp_trial *t, lp_trial_key **k) {
  const char *kp;
  int rc = cli_require(a, "key", &kp);
  if (rc) return rc;
  lp_error err;
  if (lp_key_load(t, kp, k, &err)) return cli_fail(a, &err);
  return CLI_OK;
}

/* ---- trial init ---- */

static const cli_opt init_opts[] = {
    {"db", "FILE", "new trial database (must not exist)"},
    {"sites", "FILE.csv|N", "sites: a CSV with columns code[,name], or a number (S01, S02, ...)"},
    {"protocol", "NAME", "leopards (arms levosimendan/placebo, default) or generic (A/B)"},
    {"user", "NAME", "first trial manager (default: your login name)"},
    {"audit-key", "FILE", "new audit key file (mode 0600, must not exist; default DB.audit-key beside the database)"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_init(const cli_args *a) {
  const char *db, *sites_opt;
  int rc;
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "sites", &sites_opt))) return rc;
  lp_error err;
  char akdef[4200];
  const char *ak = cli_str(a, "audit-key");
  if (!ak) {
    lp_audit_key_default_path(db, akdef, sizeof akdef);
    ak = akdef;
  }
  if (access(db, F_OK) != 0 && access(ak, F_OK) == 0)
    return cli_usage_error(a, "%s already exists: an audit key is never overwritten (choose another --audit-key)", ak);
  lp_site_def *defs = NULL;
  size_t n = 0;
  lp_table *tab = NULL;
  char(*codes)[8] = NULL;
  char *end;
  long num = strtol(sites_opt, &end, 10);
  if (*sites_opt && !*end) {
    if (num < 1 || num > 999) return cli_usage_error(a, "--sites: give 1 to 999 sites");
    n = (size_t)num;
    defs = calloc(n, sizeof *defs);
    codes = calloc(n, sizeof *codes);
    if (!defs || !codes) {
      free(defs);
      free(codes);
      return cli_usage_error(a, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
      snprintf(codes[i], sizeof codes[i], n < 100 ? "S%02zu" : "S%03zu", i + 1);
      defs[i].code = defs[i].name = codes[i];
    }
  } else {
    size_t cc, cn;
    lp_error_clear(&err);
    if (lp_table_read_csv(sites_opt, &tab, &err) || lp_table_column(tab, "code", &cc, &err)) {
      lp_table_free(tab);
      return cli_fail(a, &err);
    }
    bool has_name = lp_table_column(tab, "name", &cn, NULL) == LP_OK;
    n = lp_table_nrows(tab);
    if (n == 0) {
      lp_error_at(&err, LP_EDATA, sites_opt, 0, NULL,
                  "no sites: a trial needs at least one site, one row per site under the header "
                  "code,name");
      lp_table_free(tab);
      return cli_fail(a, &err);
    }
    defs = calloc(n, sizeof *defs);
    /* Each site's row is checked here, where its file and line are known. */
    for (size_t i = 0; defs && i < n; i++) {
      defs[i].code = lp_table_cell(tab, i, cc);
      defs[i].name = has_name ? lp_table_cell(tab, i, cn) : NULL;
      const char *c = defs[i].code;
      long line = lp_table_line(tab, i);
      if (!c) lp_error_at(&err, LP_EDATA, sites_opt, line, "code", "a site code is required");
      else if (strlen(c) > 32 || strchr(c, ',') || strchr(c, ' '))
        lp_error_at(&err, LP_EDATA, sites_opt, line, "code",
                    "site code '%s': a site code needs 1 to 32 characters without spaces or commas", c);
      for (size_t j = 0; c && j < i && err.status == LP_OK; j++)
        if (!strcmp(defs[j].code, c))
          lp_error_at(&err, LP_EDATA, sites_opt, line, "code", "site code '%s' is given twice (first on line %ld)", c,
                      lp_table_line(tab, j));
      if (err.status != LP_OK) {
        free(defs);
        lp_table_free(tab);
        return cli_fail(a, &err);
      }
    }
  }
  const char *user = cli_str(a, "user");
  if (!user) user = getenv("USER");
  if (!user || !*user) user = "manager";
  lp_trial *t;
  lp_status s = lp_trial_create(db, cli_str(a, "protocol"), defs, n, user, &t, &err);
  free(defs);
  free(codes);
  lp_table_free(tab);
  if (s) return cli_fail(a, &err);
  if (lp_audit_key_install(t, ak, user, &err)) {
    /* nothing half-made: a trial without its audit key is removed again */
    lp_trial_close(t);
    lp_trial_remove_files(db);
    return cli_fail(a, &err);
  }
  if (cli_has(a, "json")) {
    lp_trial_close(t);
    return cli_print_json(json_pack("{s:s, s:I, s:s, s:i, s:s}", "db", db, "sites", (json_int_t)n, "manager", user,
                                    "schema_version", LP_TRIAL_SCHEMA_VERSION, "audit_key", ak));
  }
  printf(
      "created %s: %zu sites, arms %s/%s, trial manager %s (schema version %d)\n"
      "audit key: %s (every change to the trial needs it; a real trial keeps it on the server, "
      "apart from the database and its backups)\n",
      db, n, lp_trial_arm_label(t, 0), lp_trial_arm_label(t, 1), user, LP_TRIAL_SCHEMA_VERSION, ak);
  lp_trial_close(t);
  return CLI_OK;
}

/* ---- trial upgrade ---- */

static const cli_opt upgrade_opts[] = {
    {"db", "FILE", "trial database of an older schema version"},
    {"audit-key", "FILE", "where to create the trial's audit key if it has none (default DB.audit-key)"},
    {"user", "NAME", "trial manager or statistician (recorded in the audit trail)"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_upgrade(const cli_args *a) {
  const char *db, *user;
  int rc, from;
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "user", &user))) return rc;
  lp_error err;
  if (lp_trial_upgrade(db, user, &from, &err)) return cli_fail(a, &err);
  /* A trial from before the keyed audit trail gains its audit key now (in its own
   * audited transaction, after the upgrade's); run again, the upgrade only does this. */
  lp_trial *t;
  if (lp_trial_open(db, &t, &err)) return cli_fail(a, &err);
  char def[4200];
  const char *ak = cli_str(a, "audit-key");
  if (!ak) {
    lp_audit_key_default_path(db, def, sizeof def);
    ak = def;
  }
  bool keyed = false;
  if (!lp_trial_audit_keyed(t)) {
    if (lp_audit_key_install(t, ak, user, &err)) {
      lp_trial_close(t);
      fprintf(stderr,
              "leopards trial upgrade: the schema is upgraded, but the audit key was not made; run the "
              "upgrade again once this is fixed\n");
      return cli_fail(a, &err);
    }
    keyed = true;
  }
  lp_trial_close(t);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:i, s:i, s:b, s:o}", "db", db, "from", from, "to", LP_TRIAL_SCHEMA_VERSION,
                                    "upgraded", from != LP_TRIAL_SCHEMA_VERSION, "audit_key",
                                    keyed ? json_string(ak) : json_null()));
  if (from == LP_TRIAL_SCHEMA_VERSION && !keyed)
    printf("%s is at schema version %d already, with its audit key: nothing to do\n", db, from);
  else if (from != LP_TRIAL_SCHEMA_VERSION)
    printf("upgraded %s from schema version %d to %d by %s (a copy of the old file is %s.schema-v%d.bak)\n", db, from,
           LP_TRIAL_SCHEMA_VERSION, user, db, from);
  if (keyed)
    printf(
        "audit key created: %s (mode 0600; from now on every write needs it: keep it on the server, apart "
        "from the database and its backups)\n",
        ak);
  return CLI_OK;
}

/* ---- user add ---- */

static const cli_opt user_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"name", "NAME", "user to register"},
    {"role", "ROLE", "investigator, manager, statistician or monitor"},
    {"site", "S", "site of an investigator"},
    {"user", "NAME", "trial manager registering the user"},
    {"pi", NULL, "the investigator is the site's principal investigator (signs its casebooks)"},
    {"full-name", "TEXT", "full name, as printed in electronic signatures (\"Dr Jane Smith\")"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_user_add(const cli_args *a) {
  const char *name, *user;
  int rc, role = -1;
  static const char *const roles[] = {"investigator", "manager", "statistician", "monitor", NULL};
  if ((rc = cli_require(a, "name", &name)) || (rc = cli_require(a, "user", &user)) ||
      (rc = cli_choice(a, "role", roles, &role)))
    return rc;
  if (role < 0) return cli_usage_error(a, "option --role is required");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  bool pi = cli_has(a, "pi");
  if (pi && role != LP_ROLE_INVESTIGATOR) {
    lp_trial_close(t);
    return cli_usage_error(a, "--pi marks an investigator (--role investigator) as the site's principal investigator");
  }
  const char *full = cli_str(a, "full-name");
  if (lp_user_add(t, user, name, (lp_role)role, cli_str(a, "site"), &err) ||
      (full && lp_user_set_full_name(t, user, name, full, &err)) || (pi && lp_site_pi_set(t, user, name, &err))) {
    lp_trial_close(t);
    return cli_fail(a, &err);
  }
  lp_trial_close(t);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:s?, s:b, s:s?}", "name", name, "role", roles[role], "site",
                                    cli_str(a, "site"), "pi", pi, "full_name", full));
  printf("registered %s as %s%s%s%s\n", name, roles[role], cli_str(a, "site") ? " at site " : "",
         cli_str(a, "site") ? cli_str(a, "site") : "", pi ? ", its principal investigator" : "");
  return CLI_OK;
}

/* ---- user edit ---- */

static const cli_opt user_edit_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"name", "NAME", "user to change"},
    {"full-name", "TEXT", "full name, as printed in electronic signatures ('' clears it)"},
    {"pi", NULL, "mark the investigator as the site's principal investigator (signs its casebooks)"},
    {"user", "NAME", "trial manager"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_user_edit(const cli_args *a) {
  const char *name, *user, *full = cli_str(a, "full-name");
  int rc;
  if ((rc = cli_require(a, "name", &name)) || (rc = cli_require(a, "user", &user))) return rc;
  bool pi = cli_has(a, "pi");
  if (!full && !pi) return cli_usage_error(a, "say what changes: --full-name TEXT or --pi");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_user_info u;
  lp_status s = LP_OK;
  if (full) s = lp_user_set_full_name(t, user, name, full, &err);
  if (!s && pi) s = lp_site_pi_set(t, user, name, &err);
  if (!s) s = lp_user_get(t, name, &u, &err);
  bool is_pi = !s && lp_user_is_pi(t, name);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(
        json_pack("{s:s, s:s?, s:b}", "name", u.name, "full_name", u.full_name[0] ? u.full_name : NULL, "pi", is_pi));
  printf("%s: full name %s%s%s%s\n", u.name, u.full_name[0] ? "'" : "", u.full_name[0] ? u.full_name : "none",
         u.full_name[0] ? "'" : "", is_pi ? "; the site's principal investigator" : "");
  return CLI_OK;
}

/* ---- list generate / report ---- */

static const cli_opt gen_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"key", "FILE", "key file: created (mode 0600) on the first run, read on later runs"},
    {"block-sizes", "4,6", "allowed block sizes, even (first run only; default 4,6)"},
    {"initial-per-site", "N", "unused slots each site keeps (default 40; later runs top up to it)"},
    {"site", "S", "only this site"},
    {"user", "NAME", "the statistician"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_generate(const cli_args *a) {
  const char *kp, *user;
  int rc;
  if ((rc = cli_require(a, "key", &kp)) || (rc = cli_require(a, "user", &user))) return rc;
  lp_list_options o;
  lp_list_options_default(&o);
  o.site = cli_str(a, "site");
  long per = 0;
  if ((rc = cli_long(a, "initial-per-site", 1, 100000, &per))) return rc;
  o.per_site = per;
  double *bs = NULL;
  size_t nbs = 0;
  if ((rc = cli_double_list(a, "block-sizes", &bs, &nbs))) return rc;
  if (nbs > LP_LIST_MAX_SIZES) {
    free(bs);
    return cli_usage_error(a, "--block-sizes: at most %d sizes", LP_LIST_MAX_SIZES);
  }
  for (size_t i = 0; i < nbs; i++) {
    if (bs[i] != (int)bs[i]) {
      free(bs);
      return cli_usage_error(a, "--block-sizes: sizes are whole numbers");
    }
    o.block_sizes[i] = (int)bs[i];
  }
  o.nsizes = nbs;
  free(bs);
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  bool created = false;
  lp_list_summary sum;
  lp_status s = lp_list_generate_keyfile(t, kp, &o, user, &sum, &created, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:I, s:I}", "key", kp, "key_created", created, "sites",
                                    (json_int_t)sum.sites, "slots_added", (json_int_t)sum.slots_added, "slots_total",
                                    (json_int_t)sum.slots_total, "slots_checked", (json_int_t)sum.slots_checked));
  printf("%s%s; %ld sites: %ld slots added, %ld in all; %ld existing slots re-derived from the secret and equal\n",
         created ? "new key written to " : "key ", kp, sum.sites, sum.slots_added, sum.slots_total, sum.slots_checked);
  if (created) printf("keep %s apart from the database (mode 0600): whoever holds it can see every allocation\n", kp);
  return CLI_OK;
}

static const cli_opt report_opts[] = {{"db", "FILE", "trial database"},
                                      CLI_AUDIT_KEY_OPT,
                                      {"key", "FILE", "key file"},
                                      {"json", NULL, "print JSON"},
                                      {0}};

static int run_report(const cli_args *a) {
  lp_trial *t;
  lp_trial_key *k;
  int rc;
  if ((rc = cli_trial_open_readonly(a, &t))) return rc;
  if ((rc = cli_trial_key(a, t, &k))) {
    lp_trial_close(t);
    return rc;
  }
  lp_error err;
  lp_list_report r;
  lp_status s = lp_list_report_make(t, k, &r, &err);
  lp_key_free(k);
  if (s) {
    lp_trial_close(t);
    return cli_fail(a, &err);
  }
  double per = r.used ? r.expected_correct / (double)r.used : 0;
  if (cli_has(a, "json")) {
    json_t *sizes = json_array(), *sites = json_array();
    for (size_t i = 0; i < r.nsizes; i++) json_array_append_new(sizes, json_integer(r.block_sizes[i]));
    for (size_t i = 0; i < r.nsites; i++) {
      lp_list_site_report *x = &r.sites[i];
      json_t *blocks = json_object();
      for (size_t z = 0; z < r.nsizes; z++) {
        char key[16];
        snprintf(key, sizeof key, "%d", r.block_sizes[z]);
        json_object_set_new(blocks, key, json_integer(x->blocks_started[z]));
      }
      json_array_append_new(
          sites, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "site", x->site, "slots", (json_int_t)x->slots,
                           "used", (json_int_t)x->used, "arm_a", (json_int_t)x->used_arm[0], "arm_b",
                           (json_int_t)x->used_arm[1], "max_imbalance", (json_int_t)x->max_imbalance,
                           "expected_correct_guesses", cli_num(x->expected_correct), "blocks_by_size", blocks));
    }
    json_t *root =
        json_pack("{s:o, s:b, s:I, s:I, s:I, s:{s:s, s:o, s:o, s:f, s:o}, s:o}", "block_sizes", sizes,
                  "reproduces_from_secret", r.reproduces, "allocated", (json_int_t)r.used, "arm_a",
                  (json_int_t)r.used_arm[0], "arm_b", (json_int_t)r.used_arm[1], "predictability", "strategy",
                  "convergence (guess the arm behind in the site; coin toss on ties)", "expected_correct_guesses",
                  cli_num(r.expected_correct), "per_allocation", cli_num(r.used ? per : NAN), "coin", 0.5,
                  "design_per_allocation", cli_num(r.design_rate), "sites", sites);
    lp_list_report_clear(&r);
    lp_trial_close(t);
    return cli_print_json(root);
  }
  printf("randomisation list (A = %s, B = %s): block sizes ", lp_trial_arm_label(t, 0), lp_trial_arm_label(t, 1));
  for (size_t i = 0; i < r.nsizes; i++) printf("%s%d", i ? "," : "", r.block_sizes[i]);
  printf(" (for the statistician only); %s from the secret\n",
         r.reproduces ? "every slot reproduces" : "SLOTS DO NOT REPRODUCE");
  printf("allocated %ld: %s %ld, %s %ld\n", r.used, lp_trial_arm_label(t, 0), r.used_arm[0], lp_trial_arm_label(t, 1),
         r.used_arm[1]);
  printf("predictability (convergence strategy: guess the arm behind in the site, coin on ties):\n");
  printf(
      "  expected correct guesses %.1f of %ld (%.3f per allocation; a coin gets 0.500; the design "
      "gives %.3f in the long run)\n\n",
      r.expected_correct, r.used, per, r.design_rate);
  printf("  %-10s %6s %6s %6s %6s %9s %10s\n", "site", "slots", "used", "A", "B", "max |A-B|", "guesses");
  for (size_t i = 0; i < r.nsites; i++) {
    lp_list_site_report *x = &r.sites[i];
    printf("  %-10s %6ld %6ld %6ld %6ld %9ld %10.1f\n", x->site, x->slots, x->used, x->used_arm[0], x->used_arm[1],
           x->max_imbalance, x->expected_correct);
  }
  lp_list_report_clear(&r);
  lp_trial_close(t);
  return CLI_OK;
}

/* ---- screen ---- */

static const cli_opt screen_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"site", "S", "screening site (default for CSV rows without a site column)"},
    {"patient", "P", "patient code (leave out for a patient not enrolled)"},
    {"json-in", "JSON", "eligibility inputs: one object, or an array of objects with site/patient"},
    {"data", "FILE.csv", "eligibility inputs, one screened patient per row"},
    {"user", "NAME", "investigator at the site"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_screen(const cli_args *a) {
  const char *user, *jin = cli_str(a, "json-in"), *data = cli_str(a, "data");
  int rc;
  if ((rc = cli_require(a, "user", &user))) return rc;
  if (!!jin == !!data) return cli_usage_error(a, "give exactly one of --json-in and --data");
  const char *site = cli_str(a, "site"), *patient = cli_str(a, "patient");
  bool single = jin && jin[strspn(jin, " \t\n")] == '{';
  if (single && !site) return cli_usage_error(a, "option --site is required");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_status s;
  if (single) {
    lp_screen_result r;
    s = lp_trial_screen(t, site, patient, jin, user, &r, &err);
    lp_trial_close(t);
    if (s) return cli_fail(a, &err);
    if (r.notes[0]) fprintf(stderr, "leopards: note: %s\n", r.notes);
    const char *why = r.reason_not_enrolled[0] ? r.reason_not_enrolled : NULL;
    if (cli_has(a, "json"))
      return cli_print_json(json_pack("{s:I, s:s, s:s?, s:b, s:s, s:s?}", "screening_id", (json_int_t)r.id, "site",
                                      site, "patient", patient, "eligible", r.eligible, "failed", r.failed,
                                      "reason_not_enrolled", why));
    printf("screening %ld at site %s%s%s: %s%s%s\n", r.id, site, patient ? ", patient " : "", patient ? patient : "",
           r.eligible ? "eligible" : "not eligible: ", r.eligible && why ? ", not enrolled: " : "",
           r.eligible ? (why ? why : "") : r.failed);
    return CLI_OK;
  }
  size_t count, eligible;
  if (patient) {
    lp_trial_close(t);
    return cli_usage_error(a, "--patient goes with a single --json-in object; in a batch each row has its patient");
  }
  if (jin) s = lp_trial_screen_many(t, jin, "--json-in", user, &count, &eligible, &err);
  else
    s = lp_trial_screen_csv(t, data, site, user, &count, &eligible, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:I, s:I}", "screened", (json_int_t)count, "eligible", (json_int_t)eligible));
  printf("screened %zu patients: %zu eligible\n", count, eligible);
  return CLI_OK;
}

/* ---- randomize ---- */

static const cli_opt rand_opts[] = {{"db", "FILE", "trial database"},
                                    CLI_AUDIT_KEY_OPT,
                                    {"site", "S", "site"},
                                    {"patient", "P", "patient code (screened eligible at the site)"},
                                    {"user", "NAME", "investigator at the site"},
                                    {"key", "FILE", "randomisation service only: lets the list extend itself"},
                                    {"json", NULL, "print JSON"},
                                    {0}};

static int run_randomize(const cli_args *a) {
  const char *site, *patient, *user;
  int rc;
  if ((rc = cli_require(a, "site", &site)) || (rc = cli_require(a, "patient", &patient)) ||
      (rc = cli_require(a, "user", &user)))
    return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_trial_key *k = NULL;
  if (cli_has(a, "key") && (rc = cli_trial_key(a, t, &k))) {
    lp_trial_close(t);
    return rc;
  }
  lp_trial_use_key(t, k);
  lp_error err;
  lp_allocation r;
  lp_status s = lp_trial_randomize(t, site, patient, user, &r, &err);
  lp_key_free(k);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (!r.existing && r.slots_left < 10 && !k)
    fprintf(stderr,
            "leopards randomize: warning: site %s has %ld unused slots left; ask the statistician to "
            "extend the list\n",
            r.site, r.slots_left);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:s, s:b}", "patient", r.patient, "site", r.site, "sequence",
                                    (json_int_t)r.sequence, "pack", (json_int_t)r.pack, "randomized_at",
                                    r.randomized_at, "existing", r.existing));
  if (r.existing)
    printf("patient %s was already randomised at site %s on %s by %s: pack %ld (no new allocation)\n", r.patient,
           r.site, r.randomized_at, r.user, r.pack);
  else
    printf("patient %s randomised at site %s: give pack %ld (site sequence %ld, %s)\n", r.patient, r.site, r.pack,
           r.sequence, r.randomized_at);
  return CLI_OK;
}

/* ---- unblind ---- */

static const cli_opt unblind_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"key", "FILE", "key file"},
    {"patient", "P", "the one patient to unblind"},
    {"reason", "TEXT", "clinical reason (recorded in the audit trail)"},
    {"requested-by", "NAME", "the registered user who asked (usually the patient's site investigator)"},
    {"user", "NAME", "the key holder doing it: statistician, or trial manager with the key"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_unblind(const cli_args *a) {
  const char *patient, *reason, *user, *asker;
  int rc;
  if ((rc = cli_require(a, "patient", &patient)) || (rc = cli_require(a, "reason", &reason)) ||
      (rc = cli_require(a, "requested-by", &asker)) || (rc = cli_require(a, "user", &user)))
    return rc;
  lp_trial *t;
  lp_trial_key *k;
  if ((rc = cli_trial_open(a, &t))) return rc;
  if ((rc = cli_trial_key(a, t, &k))) {
    lp_trial_close(t);
    return rc;
  }
  lp_error err;
  lp_unblinding u;
  lp_status s = lp_trial_unblind_for(t, k, patient, reason, user, asker, &u, &err);
  lp_key_free(k);
  char label[64];
  snprintf(label, sizeof label, "%s", s ? "" : lp_trial_arm_label(t, u.arm));
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "patient", u.patient, "site", u.site, "arm",
                                    u.arm ? "B" : "A", "arm_label", label, "unblinded_by", u.user, "unblinded_at", u.at,
                                    "unblinding_id", (json_int_t)u.id));
  printf("patient %s (site %s) received: %s (arm %s)\nunblinding %ld recorded at %s by %s\n", u.patient, u.site, label,
         u.arm ? "B" : "A", u.id, u.at, u.user);
  return CLI_OK;
}

static const cli_opt unblind_list_opts[] = {
    {"db", "FILE", "trial database"}, CLI_AUDIT_KEY_OPT, {"json", NULL, "print JSON"}, {0}};

static int run_unblind_list(const cli_args *a) {
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open_readonly(a, &t))) return rc;
  lp_error err;
  lp_unblinding *u;
  size_t n;
  lp_status s = lp_trial_unblindings(t, &u, &n, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(
          arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)u[i].id, "patient", u[i].patient, "site",
                         u[i].site, "user", u[i].user, "at", u[i].at, "reason", u[i].reason));
    free(u);
    return cli_print_json(arr);
  }
  printf("%zu emergency unblinding%s\n", n, n == 1 ? "" : "s");
  for (size_t i = 0; i < n; i++)
    printf("  %ld  %s  patient %s (site %s)  by %s: %s\n", u[i].id, u[i].at, u[i].patient, u[i].site, u[i].user,
           u[i].reason);
  free(u);
  return CLI_OK;
}

/* ---- status: recruitment and data completeness ---- */

static const cli_opt status_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"site", "S", "one site only"},
    {"as-of", "YYYY-MM-DD", "recruitment to the end of this day and follow-up due by then (default today)"},
    {"items", "N", "outstanding items to list (default 30; --json lists all)"},
    {"json", NULL, "print JSON"},
    {0}};

static json_t *progress_site_json(const lp_progress_site *s) {
  return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "site", s->code,
                   "screened", (json_int_t)s->screened, "eligible", (json_int_t)s->eligible, "randomised",
                   (json_int_t)s->randomised, "slots_left", (json_int_t)s->slots_left, "withdrawn",
                   (json_int_t)s->withdrawn, "baseline", (json_int_t)s->baseline, "infusion", (json_int_t)s->infusion,
                   "outcome", (json_int_t)s->outcome, "days_expected", (json_int_t)s->days_expected, "days_recorded",
                   (json_int_t)s->days_recorded, "items", (json_int_t)s->items, "infusion_due",
                   (json_int_t)s->infusion_due, "outcome_due", (json_int_t)s->outcome_due, "first", s->first, "last",
                   s->last);
}

static json_t *progress_json(const lp_progress_site *s) {
  json_t *o = progress_site_json(s);
  json_object_set_new(o, "consent_by_representative", json_integer(s->consent_by_representative));
  json_object_set_new(o, "retrospective_due", json_integer(s->retrospective_due));
  json_object_set_new(o, "retrospective_refused", json_integer(s->retrospective_refused));
  return o;
}

static void progress_site_row(const lp_progress_site *s) {
  long followed = s->randomised - s->withdrawn;
  char days[32];
  if (s->days_expected > 0)
    snprintf(days, sizeof days, "%ld/%ld (%.0f%%)", s->days_recorded, s->days_expected,
             100.0 * (double)s->days_recorded / (double)s->days_expected);
  else
    snprintf(days, sizeof days, "-");
  printf("  %-8s %8ld %8ld %10ld %6ld %9ld/%-4ld %7ld/%-4ld %7ld/%-4ld %-18s %5ld\n", s->code, s->screened, s->eligible,
         s->randomised, s->slots_left, s->baseline, followed, s->infusion, s->infusion_due, s->outcome, s->outcome_due,
         days, s->items);
}

static int run_status(const cli_args *a) {
  long show = 30;
  int rc;
  if ((rc = cli_long(a, "items", 0, 1000000, &show))) return rc;
  lp_trial *t;
  if ((rc = cli_trial_open_readonly(a, &t))) return rc;
  lp_error err;
  lp_progress p;
  lp_status s = lp_trial_progress(t, cli_str(a, "site"), cli_str(a, "as-of"), &p, &err);
  lp_sdv_report sdv = {0};
  if (!s && (s = lp_sdv_report_make(t, cli_str(a, "site"), NULL, &sdv, &err))) lp_progress_clear(&p);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  long qopen = 0, qanswered = 0;
  for (size_t i = 0; i < sdv.npatients; i++) {
    qopen += sdv.patients[i].queries_open;
    qanswered += sdv.patients[i].queries_answered;
  }
  lp_sdv_site tot = sdv.total;
  lp_sdv_report_clear(&sdv);
  if (cli_has(a, "json")) {
    json_t *sites = json_array(), *months = json_array(), *items = json_array();
    for (size_t i = 0; i < p.nsites; i++) json_array_append_new(sites, progress_json(&p.sites[i]));
    for (size_t i = 0; i < p.nmonths; i++)
      json_array_append_new(months, json_pack("{s:s, s:I}", "month", p.months[i].month, "randomised",
                                              (json_int_t)p.months[i].randomised));
    for (size_t i = 0; i < p.nitems; i++)
      json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "patient", p.items[i].patient, "site", p.items[i].site,
                                             "what", p.items[i].what));
    json_t *root = json_pack("{s:s, s:o, s:o, s:o, s:o}", "as_of", p.as_of, "total", progress_json(&p.total), "sites",
                             sites, "months", months, "items", items);
    json_object_set_new(root, "data_quality",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "queries_open", (json_int_t)qopen, "queries_answered",
                                  (json_int_t)qanswered, "forms", (json_int_t)tot.forms, "forms_verified",
                                  (json_int_t)tot.verified, "casebooks_signed", (json_int_t)tot.signed_valid));
    lp_progress_clear(&p);
    return cli_print_json(root);
  }
  const lp_progress_site *all = &p.total;
  printf("%s as of %s: %ld screened, %ld eligible, %ld randomised", cli_str(a, "db"), p.as_of, all->screened,
         all->eligible, all->randomised);
  if (all->randomised) printf(" (%s to %s)", all->first, all->last);
  printf(", %ld withdrew consent\n", all->withdrawn);
  printf(
      "consent: %ld randomised on a legal representative's consent, %ld owing retrospective consent, %ld refused "
      "it\n\n",
      all->consent_by_representative, all->retrospective_due, all->retrospective_refused);
  printf("  %-8s %8s %8s %10s %6s %14s %12s %12s %-18s %5s\n", "site", "screened", "eligible", "randomised", "slots",
         "baseline", "infusion", "outcome", "daily records", "items");
  printf("  %-8s %8s %8s %10s %6s %14s %12s %12s %s\n", "", "", "", "", "left", "recorded/due", "rec./due", "rec./due",
         "recorded/owed");
  for (size_t i = 0; i < p.nsites; i++) progress_site_row(&p.sites[i]);
  if (p.nsites > 1) progress_site_row(all);
  if (p.nmonths) {
    printf("\nrandomised by month:");
    for (size_t i = 0; i < p.nmonths; i++)
      printf("%s%s %ld", i % 6 ? ",  " : "\n  ", p.months[i].month, p.months[i].randomised);
    printf("\n");
  }
  printf("\n%zu outstanding item%s", p.nitems, p.nitems == 1 ? "" : "s");
  if (p.nitems == 0) printf("\n");
  else {
    printf(" (retrospective consent; baseline, infusion and daily records; outcomes due at 28 days):\n");
    for (size_t i = 0; i < p.nitems && i < (size_t)show; i++)
      printf("  %s (site %s): %s\n", p.items[i].patient, p.items[i].site, p.items[i].what);
    if (p.nitems > (size_t)show) printf("  ... and %zu more (--items N, or --json for all)\n", p.nitems - (size_t)show);
  }
  printf(
      "\ndata queries: %ld open, %ld answered (not closed); source data verification: %ld of %ld forms; "
      "casebooks signed: %ld of %ld (leopards query list, leopards sdv)\n",
      qopen, qanswered, tot.verified, tot.forms, tot.signed_valid, tot.patients);
  lp_progress_clear(&p);
  return CLI_OK;
}

/* ---- lock ---- */

static const cli_opt lock_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"user", "NAME", "trial manager or statistician (a user with a password signs: password on standard input)"},
    {"override-reason", "TEXT", "lock although queries are not closed, for this reason (recorded)"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_lock(const cli_args *a) {
  const char *user;
  int rc;
  if ((rc = cli_require(a, "user", &user))) return rc;
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_user_info ui;
  char pw[LP_PASSWORD_MAX + 2] = "";
  if (!lp_user_get(t, user, &ui, NULL) && ui.has_password) {
    char prompt[300];
    snprintf(prompt, sizeof prompt, "signing the lock: \"%s\"\npassword of %s: ", LP_LOCK_MEANING, user);
    if (cli_read_secret(prompt, pw, sizeof pw)) {
      lp_trial_close(t);
      return cli_usage_error(a, "the lock is signed: give the password of %s on standard input", user);
    }
  }
  lp_lock_options o = {.user = user, .override_reason = cli_str(a, "override-reason"), .password = pw};
  lp_signature sig;
  bool signed_ = false;
  lp_status s = lp_trial_lock_with(t, &o, &sig, &signed_, &err);
  sodium_memzero(pw, sizeof pw);
  lp_trial_close(t);
  if (s) {
    int code = cli_fail(a, &err);
    if (s == LP_ESTATE && strstr(err.message, "override reason"))
      fprintf(stderr, "leopards: to lock anyway, give --override-reason TEXT (it is recorded)\n");
    return code;
  }
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:b, s:s, s:b, s:s?}", "locked", 1, "by", user, "signed", signed_, "signature",
                                    signed_ ? sig.state : NULL));
  if (signed_) printf("lock %s\n", sig.state);
  printf(
      "database locked by %s: no data can change; the statistician can now export the allocations "
      "with the key\n",
      user);
  return CLI_OK;
}

/* ---- the command table ---- */

static char screen_usage[6144], record_usage[LP_RECORD_COUNT][6144];

const cli_cmd cli_trial_cmds[] = {
    {"trial init", "create a trial database (schema, sites, first trial manager)", init_opts,
     "example:\n  leopards trial init --db trial.db --sites 34 --user alice", run_init},
    {"trial upgrade", "bring an older trial file to this version's schema (audited; keeps a copy first)", upgrade_opts,
     "Nothing else changes a file's schema: reading commands refuse an older file untouched,\n"
     "and writing ones ask for this upgrade first.",
     run_upgrade},
    {"user edit", "record a user's full name (printed in signatures) or mark a site's principal investigator",
     user_edit_opts,
     "example:\n  leopards user edit --db trial.db --name pi1 --full-name 'Dr Jane Smith' --user mgr\n"
     "Without a full name a signature shows the account name and says that no full name was recorded.",
     run_user_edit},
    {"user add", "register a user: investigator (of a site), manager, statistician or monitor", user_opts, NULL,
     run_user_add},
    {"list generate", "generate or extend the sealed randomisation list (statistician, with the key)", gen_opts,
     "Each site gets 1:1 permuted blocks (sizes drawn uniformly from --block-sizes) from a\n"
     "ChaCha20 stream keyed by the secret in the key file; arms are stored sealed. Run it\n"
     "again at any time to top every site up to --initial-per-site unused slots.",
     run_generate},
    {"list report", "balance and predictability of the list (statistician, with the key)", report_opts, NULL,
     run_report},
    {"screen", "record a screened patient: eligibility inputs, criteria met or failed", screen_opts, screen_usage,
     run_screen},
    {"randomize", "randomise an eligible patient: take the site's next slot, print the pack number", rand_opts,
     "Prints the pack number, never the arm. A patient is randomised once: a second request\n"
     "prints the first allocation. JSON: {patient, site, sequence, pack, randomized_at, existing}.",
     run_randomize},
    {"unblind", "emergency unblinding of one patient by the key holder, on an investigator's request", unblind_opts,
     "Investigators never hold the key: the statistician (or a trial manager with the key) unblinds,\n"
     "naming who asked (--requested-by) and why; both are recorded before the arm is shown.\n"
     "A site investigator unblinds their own patient through the web server instead.",
     run_unblind},
    {"unblind list", "list the emergency unblindings (never the arms)", unblind_list_opts, NULL, run_unblind_list},
    {"status", "recruitment and data completeness by site, and what is missing or due (no arms)", status_opts,
     "example:\n  leopards status --db trial.db --as-of 2015-06-30", run_status},
    {"record", "record clinical data: leopards record --db trial.db KIND ... (KIND as below)", cli_record_any_opts,
     NULL, cli_run_record},
    {"record baseline", "record baseline data (Tables 1 and 2, APACHE II, SOFA)", cli_record_opts,
     record_usage[LP_RECORD_BASELINE], cli_run_record},
    {"record daily", "record daily ICU data (SOFA inputs, vasoactive doses, ventilation, RRT)", cli_record_opts,
     record_usage[LP_RECORD_DAILY], cli_run_record},
    {"record infusion", "record study-drug infusion events", cli_record_opts, record_usage[LP_RECORD_INFUSION],
     cli_run_record},
    {"record outcome", "record outcomes (discharges, death, weaning, consent withdrawal)", cli_record_opts,
     record_usage[LP_RECORD_OUTCOME], cli_run_record},
    {"record ae", "record adverse events", cli_record_opts, record_usage[LP_RECORD_AE], cli_run_record},
    {"record delete", "delete one clinical record, with a reason (kept in the audit trail)", cli_delete_opts, NULL,
     cli_run_delete},
    {"audit verify", "check the schema, the audit chain (and its MACs) and every trial row against it", cli_verify_opts,
     "Exit 0 when intact, 1 naming the first edited, deleted, inserted or reordered entry,\n"
     "every row changed outside leopards and every table, column, index, view or trigger\n"
     "that differs from the schema leopards creates. With the audit key (--audit-key, or\n"
     "DB.audit-key when it exists) the MACs prove that nobody without the key rewrote the\n"
     "trail; without it only the unkeyed chain is checked, which whoever can write the file\n"
     "can rebuild. --checkpoint checks every head recorded by 'audit checkpoint --append'\n"
     "(truncation, rollback to an older copy); --anchor checks one head given inline.",
     cli_run_verify},
    {"audit checkpoint",
     "print the head of the audit chain as one line (entry, hash, UTC time), or append it to a file",
     cli_checkpoint_opts,
     "Keep the checkpoint file apart from the database (another machine, write-once storage): 'audit verify\n"
     "--checkpoint FILE' then proves that the trail still extends every line of it.",
     cli_run_checkpoint},
    {"audit log", "print the audit trail (optionally one patient's entries)", cli_log_opts, NULL, cli_run_log},
    {"lock", "lock the database: no data can change afterwards", lock_opts, NULL, run_lock},
    {"export", "export the trial as CSV (arms only with the key, only after lock) or CDISC ODM", cli_export_opts,
     "Writes DIR/<table>.csv for every table, DIR/data_dictionary.csv and DIR/manifest.csv;\n"
     "with --key after lock also DIR/allocations.csv (mode 0600).\n"
     "--format odm --out FILE.xml writes one new CDISC ODM 1.3.2 file (an existing file is\n"
     "refused): a Snapshot of the metadata, users and sites, and every randomised patient's\n"
     "forms; with --transactional every change of the audit trail as an AuditRecord\n"
     "(user, site, time, reason). Blinded: no arm, list position or pack.\n"
     "examples:\n  leopards export --db trial.db --out export/\n"
     "  leopards export --db trial.db --key trial.key --user statistician --out arms/   (after lock; audited)\n"
     "  leopards export --db trial.db --format odm --out trial-odm.xml\n"
     "  leopards export --db trial.db --format odm --transactional --out trial-audit.xml",
     cli_run_export},
    {"import", "build a fresh database from an export (verified by its audit trail)", cli_import_opts, NULL,
     cli_run_import},
    {"backup", "a consistent copy of the trial while it is in use (never over an existing file)", cli_backup_opts,
     "The copy is the trial as of one commit (SQLite's online backup), written under a temporary\n"
     "name and moved into place, then its audit trail is verified (exit 1 if it is not intact).\n"
     "Key files are never in a backup: keep them elsewhere (see docs/trial.md).",
     cli_run_backup},
    {"restore", "put a backup back, after checking its audit trail", cli_restore_opts,
     "A backup whose audit trail does not verify is refused. An existing trial file is replaced\n"
     "only with --replace, after keeping a copy of it; the restored trial is verified again.",
     cli_run_restore},
};
const size_t cli_trial_ncmds = sizeof cli_trial_cmds / sizeof cli_trial_cmds[0];

/* Help texts that list fields are filled in before the first use. */
__attribute__((constructor)) static void fill_usage(void) {
  char fields[3500];
  lp_screen_fields_help(fields, sizeof fields);
  snprintf(screen_usage, sizeof screen_usage,
           "eligibility fields (JSON keys or CSV columns; a missing input leaves its criterion\n"
           "unmet, so a patient is eligible only when every criterion was assessed and met):\n%s\n"
           "Every exclusion must be answered, 0 (no) or 1 (yes): one left out is not assumed\n"
           "to be 0, and the patient is then not eligible (NAME:missing).\n\n"
           "Criteria not met are printed by the name of their field (child_pugh_c, or\n"
           "child_pugh_c:missing when not given), except the one over several fields:\n"
           "  sirs      fewer than 2 of the 4 SIRS criteria: temperature, heart_rate,\n"
           "            respiratory (resp_rate, paco2_kpa or ventilated), wbc\n"
           "An eligible patient with a reason_not_enrolled is printed as\n"
           "'eligible, not enrolled: REASON'.\n\n"
           "example:\n  leopards screen --db trial.db --site S01 --patient P001 --user bob \\\n"
           "      --json-in '{\"age\":64,\"infection\":1,...}'",
           fields);
  for (int k = 0; k < LP_RECORD_COUNT; k++) {
    char f[5000];
    lp_record_fields_help((lp_record_kind)k, f, sizeof f);
    snprintf(record_usage[k], sizeof record_usage[k],
             "fields (JSON keys or CSV columns; unknown names are refused):\n%s\n"
             "All rows are checked and written in one transaction, or none. A row for a record that\n"
             "exists changes it and needs --reason.",
             f);
  }
}
