/* Durable randomisations per second with 1 and with 16 concurrent processes, beside a
 * bare SQLite loop that commits one row per transaction with the same settings (WAL,
 * synchronous=FULL, BEGIN IMMEDIATE): the fsync limit of this disk, measured in the
 * same run. Prints the ratio to that limit (goal: at least 0.8).
 *   bench_trial [--n 2000] [--procs 1,16] [--dir DIR] */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <leopards/trial.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The same waiting policy as the trial store: short sleeps while another writer commits. */
static int busy_wait(void *ctx, int count) {
  (void)ctx;
  long us = count < 6 ? 50L << count : 2000;
  if (count > 40000) return 0;
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
  return 1;
}

static void rm_db(const char *path) {
  char side[1100];
  unlink(path);
  snprintf(side, sizeof side, "%s-wal", path);
  unlink(side);
  snprintf(side, sizeof side, "%s-shm", path);
  unlink(side);
}

static int bare_worker(const char *path, int n) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) return 1;
  sqlite3_busy_handler(db, busy_wait, NULL);
  sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "INSERT INTO t(x, at) VALUES(?, ?)", -1, &st, NULL) != SQLITE_OK) return 1;
  for (int i = 0; i < n; i++) {
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return 1;
    sqlite3_bind_int(st, 1, i);
    sqlite3_bind_text(st, 2, "2026-01-01T00:00:00.000Z", -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) return 1;
    sqlite3_reset(st);
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) return 1;
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return 0;
}

static int rand_worker(const char *path, int w, int procs, int n, int sites) {
  lp_trial *t;
  lp_error err;
  char ak[1100];
  lp_audit_key_default_path(path, ak, sizeof ak);
  if (lp_trial_open(path, &t, &err) || lp_trial_open_audit_key(t, ak, &err)) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  for (int i = w; i < n; i += procs) {
    char p[16], s[8], u[16];
    snprintf(p, sizeof p, "P%05d", i);
    snprintf(s, sizeof s, "S%02d", i % sites + 1);
    snprintf(u, sizeof u, "inv%s", s);
    lp_allocation a;
    if (lp_trial_randomize(t, s, p, u, &a, &err)) {
      fprintf(stderr, "%s\n", err.message);
      return 1;
    }
  }
  lp_trial_close(t);
  return 0;
}

/* Run `procs` processes; returns the wall time until all are done, or -1. */
static double run(int procs, int (*fn)(int w, void *ctx), void *ctx) {
  pid_t pid[256];
  double t0 = now_s();
  for (int w = 0; w < procs; w++) {
    pid[w] = fork();
    if (pid[w] < 0) return -1;
    if (pid[w] == 0) _exit(fn(w, ctx));
  }
  int bad = 0;
  for (int w = 0; w < procs; w++) {
    int st;
    waitpid(pid[w], &st, 0);
    bad |= !WIFEXITED(st) || WEXITSTATUS(st);
  }
  return bad ? -1 : now_s() - t0;
}

typedef struct {
  const char *path;
  int n, procs, sites;
} job;

static int bare_fn(int w, void *ctx) {
  job *j = ctx;
  return bare_worker(j->path, j->n / j->procs + (w < j->n % j->procs));
}
static int rand_fn(int w, void *ctx) {
  job *j = ctx;
  return rand_worker(j->path, w, j->procs, j->n, j->sites);
}

static double bench_bare(const char *dir, int n, int procs) {
  char path[1024];
  snprintf(path, sizeof path, "%s/bare.db", dir);
  rm_db(path);
  sqlite3 *db;
  sqlite3_open(path, &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(id INTEGER PRIMARY KEY, x INTEGER, at TEXT)", NULL, NULL,
               NULL);
  sqlite3_close(db);
  job j = {path, n, procs, 0};
  double s = run(procs, bare_fn, &j);
  rm_db(path);
  return s > 0 ? n / s : -1;
}

static double bench_randomize(const char *dir, int n, int procs) {
  enum { SITES = 10 };
  char path[1024], kp[1024];
  snprintf(path, sizeof path, "%s/bench.db", dir);
  snprintf(kp, sizeof kp, "%s/bench.key", dir);
  rm_db(path);
  unlink(kp);
  lp_site_def sites[SITES];
  char codes[SITES][8];
  for (int i = 0; i < SITES; i++) {
    snprintf(codes[i], sizeof codes[i], "S%02d", i + 1);
    sites[i].code = sites[i].name = codes[i];
  }
  lp_trial *t;
  lp_trial_key *k;
  lp_error err;
  char ak[1100];
  job j = {path, n, procs, SITES};
  lp_audit_key *akey = NULL;
  lp_audit_check chk = {0};
  double secs;
  lp_audit_key_default_path(path, ak, sizeof ak);
  unlink(ak);
  /* keyed like a real trial: every randomisation's entry carries a MAC */
  if (lp_trial_create(path, "leopards", sites, SITES, "mgr", &t, &err) || lp_audit_key_install(t, ak, "mgr", &err) ||
      lp_user_add(t, "mgr", "stat", LP_ROLE_STATISTICIAN, NULL, &err))
    goto fail;
  for (int i = 0; i < SITES; i++) {
    char u[16];
    snprintf(u, sizeof u, "inv%s", codes[i]);
    if (lp_user_add(t, "mgr", u, LP_ROLE_INVESTIGATOR, codes[i], &err)) goto fail;
  }
  lp_list_options o;
  lp_list_options_default(&o);
  o.per_site = n / SITES + 10;
  lp_list_summary sum;
  if (lp_key_create(t, kp, &k, &err) || lp_list_generate(t, k, &o, "stat", &sum, &err)) goto fail;
  lp_key_free(k);
  /* screening is set-up, not timed: one transaction per site */
  static const char elig[] =
      "\"age\":64,\"infection\":1,\"temperature\":38.6,\"heart_rate\":112,\"resp_rate\":24,\"wbc\":15.2,"
      "\"vasopressor_hours\":6,\"hours_since_criteria\":10,\"esrf_dialysis\":0,\"torsades_history\":0,"
      "\"child_pugh_c\":0,\"ventricular_obstruction\":0,\"treatment_limitation\":0,\"weight\":80,\"pregnant\":0,"
      "\"levosimendan_30d\":0,\"levosimendan_hypersensitivity\":0,\"other_trial\":0";
  for (int s = 0; s < SITES; s++) {
    size_t cap = (size_t)(n / SITES + 1) * (sizeof elig + 64) + 16, len = 0;
    char *json = malloc(cap), u[16];
    len += (size_t)snprintf(json, cap, "[");
    for (int i = s; i < n; i += SITES)
      len += (size_t)snprintf(json + len, cap - len, "%s{\"site\":\"%s\",\"patient\":\"P%05d\",%s}", i == s ? "" : ",",
                              codes[s], i, elig);
    snprintf(json + len, cap - len, "]");
    snprintf(u, sizeof u, "inv%s", codes[s]);
    size_t count, eligible;
    lp_status st = lp_trial_screen_many(t, json, "bench", u, &count, &eligible, &err);
    free(json);
    if (st) goto fail;
    /* and consent, which randomisation needs (set-up too) */
    for (int i = s; i < n; i += SITES) {
      char c[300];
      snprintf(c, sizeof c,
               "{\"patient\":\"P%05d\",\"consent_by\":\"patient\",\"consented_at\":\"2020-01-01T00:00\","
               "\"taken_by\":\"bench\",\"form_version\":\"1\"}",
               i);
      lp_consent_result cr;
      if (lp_consent_record(t, c, "bench", u, &cr, &err)) goto fail;
    }
  }
  lp_trial_close(t);
  secs = run(procs, rand_fn, &j);
  /* check the result before reporting it */
  if (lp_trial_open(path, &t, &err)) return -1;
  lp_audit_report rep;
  if (lp_audit_key_load(t, ak, &akey, &err) == LP_OK) chk.key = akey;
  if (!chk.key || lp_audit_verify_with(t, &chk, &rep, &err) || rep.nproblems || !rep.key_checked) {
    fprintf(stderr, "bench: audit does not verify under its key\n");
    secs = -1;
  }
  lp_audit_key_free(akey);
  lp_trial_close(t);
  rm_db(path);
  unlink(kp);
  unlink(ak);
  return secs > 0 ? n / secs : -1;
fail:
  fprintf(stderr, "bench: %s\n", err.message);
  return -1;
}

int main(int argc, char **argv) {
  int n = 2000;
  const char *dir = NULL, *procs_opt = "1,16";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--n")) n = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--dir"))
      dir = argv[i + 1];
    else if (!strcmp(argv[i], "--procs"))
      procs_opt = argv[i + 1];
    else {
      fprintf(stderr, "usage: bench_trial [--n N] [--procs 1,16] [--dir DIR]\n");
      return 2;
    }
  }
  char tmpl[] = "/tmp/leopards-bench-XXXXXX";
  if (!dir && !(dir = mkdtemp(tmpl))) return 1;
  printf("durable randomisations vs the fsync limit (WAL, synchronous=FULL), %d commits each, in %s\n", n, dir);
  printf("%6s %16s %18s %8s\n", "procs", "bare commits/s", "randomisations/s", "ratio");
  char list[64];
  snprintf(list, sizeof list, "%s", procs_opt);
  int status = 0;
  for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int procs = atoi(tok);
    if (procs < 1 || procs > 256) return 2;
    double bare = bench_bare(dir, n, procs), rnd = bench_randomize(dir, n, procs);
    double bare2 = bench_bare(dir, n, procs); /* again after, to see the disk's drift */
    double limit = (bare + bare2) / 2;
    printf("%6d %16.0f %18.0f %8.2f\n", procs, limit, rnd, rnd / limit);
    if (rnd < 0 || bare < 0) status = 1;
  }
  if (!strncmp(dir, "/tmp/leopards-bench-", 20)) rmdir(dir);
  return status;
}
