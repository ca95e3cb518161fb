/* The load client of the serve benchmarks (bench/serve_load.py, bench/serve_forms.py):
 * one thread per client, each on its own keep-alive connection, timing every request
 * with clock_gettime. A client in C so that the clients do not take the server's cores
 * (34 Python threads kept one of two cores busy and made the measurement client-bound).
 *   bench_http --port P --jobs FILE --mode load [--phased]
 *   bench_http --port P --jobs FILE --mode forms [--days 28] [--think-ms 0]
 * FILE has one line per client: "TOKEN SITE P1,P2,..." (a bearer token of the site's
 * investigator, logged in beforehand: logins are not part of the load). Mode load
 * screens, records the consent of and randomises each patient, one patient after the
 * other, or with --phased screens and records consent for all of them first and,
 * after every client has done so, randomises them all, so that the randomisations are
 * timed on their own. Mode forms submits the daily forms 1..days of each patient.
 * Prints one JSON object: per kind of request the count, p50, p99 and max latency in
 * ms; the wall time of each phase; the errors (unexpected statuses). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum kind { K_SCREEN, K_CONSENT, K_RANDOMISE, K_FORM, K_N };
static const char *const kind_name[K_N] = {"screening", "consent", "randomisation", "form"};

typedef struct {
  double *v;
  size_t n, cap;
} samples;

typedef struct {
  int fd;
  char buf[1 << 16];
  size_t have;
} conn;

typedef struct client {
  int port;
  char token[160], site[40];
  char **patients;
  size_t npatients;
  samples lat[K_N];
  long errors;
  char first_error[600];
  const char *body; /* of the last response */
} client;

static struct {
  int port, days;
  double think_ms;
  bool phased, forms;
  pthread_barrier_t go, mid;
} G = {.days = 28};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_sample(samples *s, double x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 1024;
    double *p = realloc(s->v, s->cap * sizeof *p);
    if (!p) abort();
    s->v = p;
  }
  s->v[s->n++] = x;
}

static int conn_open(conn *c) {
  c->have = 0;
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)G.port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  return 0;
}

static void conn_close(conn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  c->have = 0;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* The value of header `name` in the head [h, end), or NULL. */
static const char *header(const char *h, const char *end, const char *name) {
  size_t nl = strlen(name);
  const char *p = h;
  while (p < end) {
    if ((size_t)(end - p) > nl + 1 && !strncasecmp(p, name, nl) && p[nl] == ':') return p + nl + 1;
    const char *nl_at = memchr(p, '\n', (size_t)(end - p));
    if (!nl_at) break;
    p = nl_at + 1;
  }
  return NULL;
}

/* One request on the connection; the response's status and body (NUL-terminated, in
 * c->buf) are returned. -1 when the connection failed (closed by the server, reset). */
static int exchange(conn *c, const char *req, size_t nreq, int *status, const char **body) {
  if (c->fd < 0 && conn_open(c)) return -1;
  if (send_all(c->fd, req, nreq)) return -1;
  c->have = 0;
  char *eoh = NULL;
  while (!eoh) {
    if (c->have + 1 >= sizeof c->buf) return -1;
    ssize_t k = recv(c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c->have += (size_t)k;
    c->buf[c->have] = '\0';
    eoh = strstr(c->buf, "\r\n\r\n");
  }
  if (sscanf(c->buf, "HTTP/1.%*d %d", status) != 1) return -1;
  const char *cl = header(c->buf, eoh, "Content-Length");
  size_t len = cl ? strtoul(cl, NULL, 10) : 0, start = (size_t)(eoh + 4 - c->buf);
  if (start + len + 1 > sizeof c->buf) return -1;
  while (c->have < start + len) {
    ssize_t k = recv(c->fd, c->buf + c->have, sizeof c->buf - 1 - c->have, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c->have += (size_t)k;
  }
  c->buf[start + len] = '\0';
  const char *conn_hdr = header(c->buf, eoh, "Connection");
  bool closing = conn_hdr && strstr(conn_hdr, "close");
  *body = c->buf + start;
  if (closing) {
    /* the body stays readable in c->buf; the next request opens a new connection */
    close(c->fd);
    c->fd = -1;
  }
  return 0;
}

static void note_error(client *cl, const char *what, int status, const char *body) {
  if (!cl->errors++)
    snprintf(cl->first_error, sizeof cl->first_error, "%s: status %d: %.400s", what, status, body ? body : "");
}

/* POST `body` to `path`, timed; a connection the server closed while idle is reopened
 * once. Returns the status (0 when no answer came). */
static int post(client *cl, conn *c, enum kind k, const char *path, const char *body, bool *retried) {
  static __thread char req[8192];
  int n = snprintf(req, sizeof req,
                   "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                   "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n%s",
                   path, cl->token, strlen(body), body);
  if (n < 0 || (size_t)n >= sizeof req) abort();
  int status = 0;
  const char *rb = NULL;
  *retried = false;
  double t0 = now_s();
  for (int attempt = 0; attempt < 2; attempt++) {
    if (exchange(c, req, (size_t)n, &status, &rb) == 0) break;
    conn_close(c);
    status = 0;
    *retried = true;
  }
  add_sample(&cl->lat[k], now_s() - t0);
  cl->body = rb;
  if (!status) note_error(cl, path, 0, "no answer (connection failed twice)");
  return status;
}

static const char ELIGIBLE[] =
    "\"age\":61,\"infection\":1,\"temperature\":38.6,\"heart_rate\":112,\"resp_rate\":26,\"paco2_kpa\":4.1,"
    "\"ventilated\":1,\"wbc\":15.2,\"vasopressor_hours\":6,\"hours_since_criteria\":10,\"esrf_dialysis\":0,"
    "\"torsades_history\":0,\"child_pugh_c\":0,\"ventricular_obstruction\":0,\"treatment_limitation\":0,"
    "\"weight\":82,\"pregnant\":0,\"levosimendan_30d\":0,\"levosimendan_hypersensitivity\":0,\"other_trial\":0";

static bool screen_and_consent(client *cl, conn *c, const char *p) {
  char body[2048];
  bool retried;
  snprintf(body, sizeof body, "{\"site\":\"%s\",\"patient\":\"%s\",%s}", cl->site, p, ELIGIBLE);
  int st = post(cl, c, K_SCREEN, "/api/v1/screenings", body, &retried);
  if (st != 201) {
    if (st) note_error(cl, "screening", st, cl->body);
    return false;
  }
  snprintf(body, sizeof body,
           "{\"patient\":\"%s\",\"consent_by\":\"patient\",\"consented_at\":\"2020-01-01T00:00\","
           "\"taken_by\":\"bench\",\"form_version\":\"1\"}",
           p);
  st = post(cl, c, K_CONSENT, "/api/v1/consents", body, &retried);
  if (st != 201 && !(st == 409 && retried)) { /* 409: recorded already by the retried request */
    if (st) note_error(cl, "consent", st, cl->body);
    return false;
  }
  return true;
}

static void randomise(client *cl, conn *c, const char *p) {
  char body[256];
  bool retried;
  snprintf(body, sizeof body, "{\"site\":\"%s\",\"patient\":\"%s\"}", cl->site, p);
  int st = post(cl, c, K_RANDOMISE, "/api/v1/randomisations", body, &retried);
  if (st != 201 && !(st == 200 && retried)) /* 200: the first allocation, after a retry */
    if (st) note_error(cl, "randomisation", st, cl->body);
}

static void forms(client *cl, conn *c) {
  for (size_t i = 0; i < cl->npatients; i++)
    for (int d = 1; d <= G.days; d++) {
      char path[256], body[512];
      bool retried;
      snprintf(path, sizeof path, "/api/v1/patients/%s/records/daily/%d", cl->patients[i], d);
      snprintf(body, sizeof body,
               "{\"record\":{\"in_icu\":1,\"pao2\":82,\"fio2\":0.45,\"resp_support\":1,\"platelets\":140,"
               "\"bilirubin\":1.1,\"map\":%d,\"norepinephrine\":0.12,\"gcs\":14,\"creatinine\":1.6,"
               "\"urine_ml\":1400,\"mech_vent\":1,\"rrt\":0}}",
               60 + d % 15);
      int st = post(cl, c, K_FORM, path, body, &retried);
      if (st != 201 && st) note_error(cl, path, st, cl->body);
      if (G.think_ms > 0) {
        struct timespec ts = {(time_t)(G.think_ms / 1000), (long)(G.think_ms * 1e6) % 1000000000L};
        nanosleep(&ts, NULL);
      }
    }
}

static void *run_client(void *arg) {
  client *cl = arg;
  conn *c = calloc(1, sizeof *c);
  if (!c) abort();
  c->fd = -1;
  conn_open(c); /* connected before the start, as a browser would be */
  pthread_barrier_wait(&G.go);
  if (G.forms) {
    forms(cl, c);
  } else if (G.phased) {
    bool *ok = calloc(cl->npatients + 1, sizeof *ok);
    for (size_t i = 0; i < cl->npatients; i++) ok[i] = screen_and_consent(cl, c, cl->patients[i]);
    pthread_barrier_wait(&G.mid);
    for (size_t i = 0; i < cl->npatients; i++)
      if (ok[i]) randomise(cl, c, cl->patients[i]);
    free(ok);
  } else {
    for (size_t i = 0; i < cl->npatients; i++)
      if (screen_and_consent(cl, c, cl->patients[i])) randomise(cl, c, cl->patients[i]);
  }
  conn_close(c);
  free(c);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double pct(const samples *s, double q) {
  if (!s->n) return 0;
  size_t i = (size_t)(q * (double)s->n);
  return s->v[i < s->n ? i : s->n - 1];
}

static void json_string_out(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  }
  putchar('"');
}

static int read_jobs(const char *path, client **out, size_t *n) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t cap = 0;
  char *line = NULL;
  size_t ll = 0;
  *out = NULL;
  *n = 0;
  while (getline(&line, &ll, f) > 0) {
    if (*n == cap) {
      cap = cap ? 2 * cap : 64;
      client *p = realloc(*out, cap * sizeof *p);
      if (!p) abort();
      *out = p;
    }
    client *cl = &(*out)[*n];
    memset(cl, 0, sizeof *cl);
    char *save = NULL, *tok = strtok_r(line, " \t\n", &save), *site = strtok_r(NULL, " \t\n", &save),
         *pats = strtok_r(NULL, " \t\n", &save);
    if (!tok || !site) continue;
    snprintf(cl->token, sizeof cl->token, "%s", tok);
    snprintf(cl->site, sizeof cl->site, "%s", site);
    for (char *s2 = NULL, *p = pats ? strtok_r(pats, ",", &s2) : NULL; p; p = strtok_r(NULL, ",", &s2)) {
      char **np = realloc(cl->patients, (cl->npatients + 1) * sizeof *np);
      if (!np) abort();
      cl->patients = np;
      cl->patients[cl->npatients++] = strdup(p);
    }
    (*n)++;
  }
  free(line);
  fclose(f);
  return 0;
}

int main(int argc, char **argv) {
  const char *jobs = NULL, *mode = "load";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--phased")) G.phased = true;
    else if (i + 1 < argc && !strcmp(argv[i], "--port"))
      G.port = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--jobs"))
      jobs = argv[++i];
    else if (i + 1 < argc && !strcmp(argv[i], "--mode"))
      mode = argv[++i];
    else if (i + 1 < argc && !strcmp(argv[i], "--days"))
      G.days = atoi(argv[++i]);
    else if (i + 1 < argc && !strcmp(argv[i], "--think-ms"))
      G.think_ms = atof(argv[++i]);
    else {
      fprintf(stderr,
              "usage: bench_http --port P --jobs FILE [--mode load|forms] [--phased] [--days D] "
              "[--think-ms MS]\n");
      return 2;
    }
  }
  G.forms = !strcmp(mode, "forms");
  client *cls;
  size_t n;
  if (!jobs || G.port <= 0 || read_jobs(jobs, &cls, &n) || !n) {
    fprintf(stderr, "bench_http: give --port and a --jobs file with one line per client\n");
    return 2;
  }
  pthread_barrier_init(&G.go, NULL, (unsigned)n + 1);
  pthread_barrier_init(&G.mid, NULL, (unsigned)n + 1);
  pthread_t *th = calloc(n, sizeof *th);
  for (size_t i = 0; i < n; i++) {
    cls[i].port = G.port;
    pthread_create(&th[i], NULL, run_client, &cls[i]);
  }
  pthread_barrier_wait(&G.go);
  double t0 = now_s(), t1 = t0;
  if (G.phased && !G.forms) {
    pthread_barrier_wait(&G.mid);
    t1 = now_s();
  }
  for (size_t i = 0; i < n; i++) pthread_join(th[i], NULL);
  double t2 = now_s();
  samples all[K_N] = {{0}};
  long errors = 0;
  const char *first = NULL;
  for (size_t i = 0; i < n; i++) {
    for (int k = 0; k < K_N; k++)
      for (size_t j = 0; j < cls[i].lat[k].n; j++) add_sample(&all[k], cls[i].lat[k].v[j]);
    errors += cls[i].errors;
    if (cls[i].errors && !first) first = cls[i].first_error;
  }
  printf("{\"clients\":%zu,\"mode\":\"%s\",\"phased\":%s,\"wall_s\":%.4f,", n, G.forms ? "forms" : "load",
         G.phased ? "true" : "false", t2 - t0);
  if (G.phased && !G.forms) printf("\"phase1_s\":%.4f,\"phase2_s\":%.4f,", t1 - t0, t2 - t1);
  printf("\"kinds\":{");
  bool comma = false;
  for (int k = 0; k < K_N; k++) {
    if (!all[k].n) continue;
    qsort(all[k].v, all[k].n, sizeof(double), cmp_double);
    printf("%s\"%s\":{\"n\":%zu,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}", comma ? "," : "", kind_name[k],
           all[k].n, 1000 * pct(&all[k], 0.5), 1000 * pct(&all[k], 0.99), 1000 * all[k].v[all[k].n - 1]);
    comma = true;
  }
  printf("},\"errors\":%ld,\"first_error\":", errors);
  json_string_out(first ? first : "");
  printf("}\n");
  return 0;
}
