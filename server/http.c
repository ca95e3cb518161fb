/* The HTTP side of leopards serve: the libmicrohttpd daemon with a fixed pool of
 * worker threads, one trial handle per worker, request size limits and timeouts, the
 * session from a cookie or a bearer token, the security headers on every response, and
 * a clean stop on SIGTERM or SIGINT. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "server.h"

struct srv {
  const srv_options *o;
  struct MHD_Daemon *d;
  lp_trial_key *key;
  lp_audit_key *akey; /* shared by the workers' handles */
  bool akey_tried;
  lp_account_policy policy;
  int nhandles;
  lp_trial **handles;
  bool *busy;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint8_t login_secret[32]; /* keys the login form's anti-forgery tokens */
  /* the checkpoint thread: its own handle; `stopping` under mu wakes it */
  pthread_t cp_thread;
  pthread_cond_t cp_cv;
  bool cp_running, stopping;
  lp_trial *cp_handle;
  long cp_last; /* the last entry checkpointed (or present at start) */
  /* group commit: the writer thread, its handle and its queue (under wmu) */
  pthread_t w_thread;
  pthread_mutex_t wmu;
  pthread_cond_t wcv, wdone;
  bool w_running, w_stopping;
  lp_trial *w_handle;
  struct wjob *w_head, *w_tail;
};

/* One request's write waiting for the writer thread. */
typedef struct wjob {
  srv_write_fn fn;
  void *arg;
  lp_error *err;
  lp_status status;
  bool done;
  struct wjob *next;
} wjob;

/* At most this many requests' writes in one commit (the rest wait for the next). */
#define SRV_BATCH_MAX 64

typedef struct conn_ctx {
  char *body;
  size_t n, cap;
  bool too_big;
} conn_ctx;

/* ---- helpers ---- */

const char *srv_query(req *q, const char *name) {
  return MHD_lookup_connection_value(q->c, MHD_GET_ARGUMENT_KIND, name);
}

const char *srv_header(req *q, const char *name) { return MHD_lookup_connection_value(q->c, MHD_HEADER_KIND, name); }

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decode percent-escapes and '+' of [s, s+len) into buf (NUL bytes are dropped). */
static void url_decode(const char *s, size_t len, char *buf, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < len && k + 1 < n; i++) {
    char c = s[i];
    if (c == '+') c = ' ';
    else if (c == '%' && i + 2 < len + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    }
    if (c) buf[k++] = c;
  }
  buf[k] = '\0';
}

bool srv_form(req *q, const char *name, char *buf, size_t n) {
  if (n) buf[0] = '\0';
  if (!q->body) return false;
  size_t nl = strlen(name);
  const char *p = q->body, *end = q->body + q->nbody;
  while (p < end) {
    const char *amp = memchr(p, '&', (size_t)(end - p));
    const char *stop = amp ? amp : end;
    const char *eq = memchr(p, '=', (size_t)(stop - p));
    if (eq && (size_t)(eq - p) == nl && !memcmp(p, name, nl)) {
      url_decode(eq + 1, (size_t)(stop - eq - 1), buf, n);
      return true;
    }
    p = stop + 1;
  }
  return false;
}

void srv_html_escape(lp_strbuf *b, const char *s) {
  if (s) lp_strbuf_puts_markup(b, s);
}

bool srv_code_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n < 1 || n > 32) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
          c == '.'))
      return false;
  }
  return true;
}

int srv_http_status(lp_status s) {
  switch (s) {
    case LP_OK:
      return 200;
    case LP_EINVAL:
    case LP_EPARSE:
    case LP_ERANGE:
    case LP_EDATA:
      return 400;
    case LP_EDENIED:
      return 403;
    case LP_ENOTFOUND:
      return 404;
    case LP_ESTATE:
      return 409;
    default:
      return 500;
  }
}

int srv_http_status_of(const lp_error *e) {
  if (e->status == LP_ESTATE && !strcmp(e->field, "site")) return 422;
  return srv_http_status(e->status);
}

void srv_session_cookie(req *q, resp *r, const char *token, bool clear) {
  snprintf(r->cookie, sizeof r->cookie, "lp_session=%s; Path=/; HttpOnly; SameSite=Strict%s%s", clear ? "" : token,
           q->tls ? "; Secure" : "", clear ? "; Max-Age=0" : "");
}

void srv_login_csrf(req *q, const char *cookie, char hex[LP_TOKEN_HEX + 1]) {
  hex[0] = '\0';
  if (!cookie || strlen(cookie) != LP_TOKEN_HEX) return;
  uint8_t h[32];
  crypto_generichash(h, sizeof h, (const uint8_t *)cookie, LP_TOKEN_HEX, q->s->login_secret, sizeof q->s->login_secret);
  sodium_bin2hex(hex, LP_TOKEN_HEX + 1, h, sizeof h);
}

/* ---- the handle pool ---- */

static lp_trial *acquire(srv *s) {
  pthread_mutex_lock(&s->mu);
  for (;;) {
    for (int i = 0; i < s->nhandles; i++)
      if (!s->busy[i]) {
        s->busy[i] = true;
        pthread_mutex_unlock(&s->mu);
        return s->handles[i];
      }
    pthread_cond_wait(&s->cv, &s->mu);
  }
}

static void release(srv *s, lp_trial *t) {
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < s->nhandles; i++)
    if (s->handles[i] == t) s->busy[i] = false;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* ---- group commit ---- */

static int srv_attach_audit_key(srv *s, lp_trial *t);

/* Fail every job of [a, end) that had succeeded: their batch was not committed. */
static void batch_lost(wjob *a, wjob *end, const lp_error *why) {
  for (wjob *j = a; j != end; j = j->next)
    if (j->status == LP_OK) {
      *j->err = *why;
      j->status = why->status ? why->status : LP_EDB;
    }
}

/* Run the jobs from `a` (a list) in as few batches as it takes: a batch that an error
 * undid as a whole is reported to its jobs, and the jobs after it get a new one. */
static void run_batches(srv *s, wjob *a) {
  lp_trial *t = s->w_handle;
  while (a) {
    lp_error be;
    lp_error_clear(&be);
    if (lp_trial_batch_begin(t, &be)) {
      for (wjob *j = a; j; j = j->next) *j->err = be, j->status = be.status;
      return;
    }
    wjob *j = a, *broken_at = NULL;
    for (; j; j = j->next) {
      lp_error_clear(j->err);
      j->status = j->fn(t, j->arg, j->err);
      if (!lp_trial_batch_intact(t)) {
        broken_at = j;
        break;
      }
    }
    if (broken_at) {
      lp_trial_batch_rollback(t);
      lp_error_set(&be, LP_EDB, "%s: a write of the same commit failed and undid it (this one was not kept)", s->o->db);
      batch_lost(a, broken_at->next, &be);
      a = broken_at->next;
      continue;
    }
    if (lp_trial_batch_commit(t, &be)) batch_lost(a, NULL, &be);
    return;
  }
}

static void *writer_loop(void *arg) {
  srv *s = arg;
  pthread_mutex_lock(&s->wmu);
  for (;;) {
    while (!s->w_head && !s->w_stopping) pthread_cond_wait(&s->wcv, &s->wmu);
    if (!s->w_head) break;
    wjob *a = s->w_head, *last = a;
    for (int n = 1; n < SRV_BATCH_MAX && last->next; n++) last = last->next;
    s->w_head = last->next;
    if (!s->w_head) s->w_tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&s->wmu);
    run_batches(s, a);
    pthread_mutex_lock(&s->wmu);
    for (wjob *j = a; j;) {
      wjob *next = j->next; /* j lives on its requester's stack: read next first */
      j->done = true;
      j = next;
    }
    pthread_cond_broadcast(&s->wdone);
  }
  pthread_mutex_unlock(&s->wmu);
  return NULL;
}

lp_status srv_write(req *q, srv_write_fn fn, void *arg, lp_error *err) {
  srv *s = q->s;
  if (!s->w_running) return fn(q->t, arg, err);
  wjob j = {.fn = fn, .arg = arg, .err = err};
  pthread_mutex_lock(&s->wmu);
  if (s->w_tail) s->w_tail->next = &j;
  else
    s->w_head = &j;
  s->w_tail = &j;
  pthread_cond_signal(&s->wcv);
  while (!j.done) pthread_cond_wait(&s->wdone, &s->wmu);
  pthread_mutex_unlock(&s->wmu);
  return j.status;
}

static int start_writer(srv *s) {
  lp_error err;
  if (s->o->no_group_commit) return 0;
  if (lp_trial_open(s->o->db, &s->w_handle, &err)) {
    fprintf(stderr, "leopards serve: %s\n", err.message);
    return 1;
  }
  if (srv_attach_audit_key(s, s->w_handle)) return 1;
  if (s->key) lp_trial_use_key(s->w_handle, s->key);
  if (pthread_create(&s->w_thread, NULL, writer_loop, s)) {
    fprintf(stderr, "leopards serve: cannot start the writer thread\n");
    return 1;
  }
  s->w_running = true;
  return 0;
}

/* After the daemon has stopped (no request waits any more): the queue is empty. */
static void stop_writer(srv *s) {
  if (s->w_running) {
    pthread_mutex_lock(&s->wmu);
    s->w_stopping = true;
    pthread_cond_broadcast(&s->wcv);
    pthread_mutex_unlock(&s->wmu);
    pthread_join(s->w_thread, NULL);
    s->w_running = false;
  }
  lp_trial_close(s->w_handle);
  s->w_handle = NULL;
}

/* ---- requests ---- */

static void add_security_headers(struct MHD_Response *mr, const resp *r) {
  MHD_add_response_header(
      mr, "Content-Security-Policy",
      "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; "
      "form-action 'self'; "
      "frame-ancestors 'none'; base-uri 'none'");
  MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(mr, "X-Frame-Options", "DENY");
  MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(mr, "Cache-Control", r->cacheable ? "max-age=3600" : "no-store");
  if (r->ctype) MHD_add_response_header(mr, "Content-Type", r->ctype);
  if (r->cookie[0]) MHD_add_response_header(mr, "Set-Cookie", r->cookie);
  if (r->location[0]) MHD_add_response_header(mr, "Location", r->location);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, resp *r) {
  size_t n = r->body.len;
  char *p = r->body.p;
  if (!p) {
    p = strdup("");
    n = 0;
  }
  struct MHD_Response *mr = MHD_create_response_from_buffer(n, p, MHD_RESPMEM_MUST_FREE);
  if (!mr) {
    free(p);
    return MHD_NO;
  }
  add_security_headers(mr, r);
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->code, mr);
  MHD_destroy_response(mr);
  return ret;
}

static void json_error(resp *r, int code, const char *status, const char *msg) {
  r->code = code;
  r->ctype = "application/json";
  lp_strbuf_printf(&r->body, "{\"error\":{\"status\":\"%s\",\"message\":\"%s\"}}\n", status, msg);
}

static void authenticate(req *q) {
  const char *auth = srv_header(q, MHD_HTTP_HEADER_AUTHORIZATION);
  const char *tok = NULL;
  if (auth && !strncasecmp(auth, "Bearer ", 7)) {
    tok = auth + 7;
    q->bearer = true;
  } else {
    tok = MHD_lookup_connection_value(q->c, MHD_COOKIE_KIND, "lp_session");
  }
  lp_error err;
  if (q->bearer && tok && !strncmp(tok, "lpt_", 4)) { /* a personal API token */
    if (lp_api_token_check(q->t, tok, &q->who, &err) == LP_OK) {
      q->authed = true;
      snprintf(q->token, sizeof q->token, "%s", tok);
    }
    return;
  }
  if (!tok || strlen(tok) != LP_TOKEN_HEX) return;
  if (lp_session_check(q->t, &q->policy, tok, &q->who, &err) == LP_OK) {
    q->authed = true;
    snprintf(q->token, sizeof q->token, "%s", tok);
  }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  srv *s = cls;
  conn_ctx *cc = *con_cls;
  if (!cc) {
    if (!(cc = calloc(1, sizeof *cc))) return MHD_NO;
    *con_cls = cc;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->o->max_body) cc->too_big = true;
    return MHD_YES;
  }
  if (*upload_size) {
    if (!cc->too_big && cc->n + *upload_size <= s->o->max_body) {
      if (cc->n + *upload_size + 1 > cc->cap) {
        size_t cap = cc->n + *upload_size + 1;
        char *p = realloc(cc->body, cap);
        if (!p) return MHD_NO;
        cc->body = p;
        cc->cap = cap;
      }
      memcpy(cc->body + cc->n, upload, *upload_size);
      cc->n += *upload_size;
      cc->body[cc->n] = '\0';
    } else {
      cc->too_big = true;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  resp r = {.code = 200, .ctype = "text/html; charset=utf-8"};
  if (cc->too_big) {
    json_error(&r, 413, "too-large", "the request body is too large");
    return send_resp(c, &r);
  }
  req q = {.s = s,
           .c = c,
           .method = method,
           .path = url,
           .body = cc->body,
           .nbody = cc->n,
           .key = s->key,
           .policy = s->policy,
           .tls = s->o->tls_cert != NULL};
  q.t = acquire(s);
  authenticate(&q);
  if (!strncmp(url, "/api/v1/", 8) || !strcmp(url, "/api/v1")) srv_api(&q, &r);
  else
    srv_page(&q, &r);
  release(s, q.t);
  sodium_memzero(q.token, sizeof q.token);
  return send_resp(c, &r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  conn_ctx *cc = *con_cls;
  if (!cc) return;
  if (cc->body) sodium_memzero(cc->body, cc->cap);
  free(cc->body);
  free(cc);
  *con_cls = NULL;
}

/* ---- start and stop ---- */

static int parse_listen(const char *l, struct sockaddr_in *sa) {
  char host[64];
  const char *colon = strrchr(l, ':');
  if (!colon || (size_t)(colon - l) >= sizeof host) return -1;
  memcpy(host, l, (size_t)(colon - l));
  host[colon - l] = '\0';
  long port = strtol(colon + 1, NULL, 10);
  if (port < 0 || port > 65535) return -1;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
  return 0;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  lp_strbuf b = {0};
  char buf[4096];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, f)) > 0) lp_strbuf_put(&b, buf, k);
  fclose(f);
  return b.p;
}

/* The audit key (keyed audit chain): loaded once (from --audit-key, or DB.audit-key
 * beside the database when it is there) and given to every worker handle, so that every
 * entry the server writes carries its MAC. A keyed trial refuses writes without it. */
static int srv_attach_audit_key(srv *s, lp_trial *t) {
  lp_error err;
  if (!s->akey && !s->akey_tried) {
    s->akey_tried = true;
    char def[4200];
    const char *path = s->o->audit_key;
    if (!path) {
      lp_audit_key_default_path(s->o->db, def, sizeof def);
      if (access(def, F_OK) == 0) path = def;
    }
    if (path && lp_audit_key_load(t, path, &s->akey, &err)) {
      fprintf(stderr, "leopards serve: %s\n", err.message);
      return 1;
    }
  }
  if (s->akey) lp_trial_use_audit_key(t, s->akey);
  return 0;
}

/* ---- audit checkpoints while serving ---- */

/* Append a checkpoint when entries were written since the last one. */
static void checkpoint_now(srv *s) {
  lp_error err;
  long head = 0;
  if (lp_audit_last_entry(s->cp_handle, &head, &err)) {
    fprintf(stderr, "leopards serve: checkpoint: %s\n", err.message);
    return;
  }
  if (head <= s->cp_last) return;
  lp_audit_checkpoint c;
  if (lp_audit_checkpoint_take(s->cp_handle, &c, &err) || lp_audit_checkpoint_append(&c, s->o->checkpoint_file, &err)) {
    fprintf(stderr, "leopards serve: checkpoint: %s\n", err.message);
    return;
  }
  s->cp_last = c.entry;
}

static void *checkpoint_loop(void *arg) {
  srv *s = arg;
  unsigned every = s->o->checkpoint_every_s ? s->o->checkpoint_every_s : 60;
  pthread_mutex_lock(&s->mu);
  while (!s->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += every;
    while (!s->stopping && pthread_cond_timedwait(&s->cp_cv, &s->mu, &until) == 0) {
    }
    if (s->stopping) break;
    pthread_mutex_unlock(&s->mu);
    checkpoint_now(s);
    pthread_mutex_lock(&s->mu);
  }
  pthread_mutex_unlock(&s->mu);
  checkpoint_now(s); /* what the last requests wrote */
  return NULL;
}

static int start_checkpoints(srv *s) {
  lp_error err;
  if (!s->o->checkpoint_file) return 0;
  if (lp_trial_open(s->o->db, &s->cp_handle, &err) || srv_attach_audit_key(s, s->cp_handle) ||
      lp_audit_last_entry(s->cp_handle, &s->cp_last, &err)) {
    fprintf(stderr, "leopards serve: checkpoint: %s\n", err.message);
    return 1;
  }
  if (pthread_create(&s->cp_thread, NULL, checkpoint_loop, s)) {
    fprintf(stderr, "leopards serve: cannot start the checkpoint thread\n");
    return 1;
  }
  s->cp_running = true;
  return 0;
}

static void stop_checkpoints(srv *s) {
  if (s->cp_running) {
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_broadcast(&s->cp_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->cp_thread, NULL);
    s->cp_running = false;
  }
  lp_trial_close(s->cp_handle);
  s->cp_handle = NULL;
}

static void teardown(srv *s) {
  stop_writer(s);
  stop_checkpoints(s);
  for (int i = 0; i < s->nhandles; i++) lp_trial_close(s->handles[i]);
  free(s->handles);
  free(s->busy);
  lp_key_free(s->key);
  lp_audit_key_free(s->akey);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  pthread_cond_destroy(&s->cp_cv);
  pthread_mutex_destroy(&s->wmu);
  pthread_cond_destroy(&s->wcv);
  pthread_cond_destroy(&s->wdone);
}

static int open_handles(srv *s) {
  lp_error err;
  s->handles = calloc((size_t)s->nhandles, sizeof *s->handles);
  s->busy = calloc((size_t)s->nhandles, sizeof *s->busy);
  if (!s->handles || !s->busy) return 1;
  for (int i = 0; i < s->nhandles; i++) {
    if (lp_trial_open(s->o->db, &s->handles[i], &err)) {
      fprintf(stderr, "leopards serve: %s\n", err.message);
      return 1;
    }
    if (i == 0 && s->o->key && lp_key_load(s->handles[0], s->o->key, &s->key, &err)) {
      fprintf(stderr, "leopards serve: %s\n", err.message);
      return 1;
    }
    if (s->key) lp_trial_use_key(s->handles[i], s->key);
    if (srv_attach_audit_key(s, s->handles[i])) return 1;
  }
  return 0;
}

int srv_run(const srv_options *o) {
  srv s = {.o = o, .nhandles = o->workers > 0 ? o->workers : 16};
  lp_account_policy_default(&s.policy);
  if (sodium_init() < 0) {
    fprintf(stderr, "leopards serve: libsodium failed to start\n");
    return 1;
  }
  randombytes_buf(s.login_secret, sizeof s.login_secret);
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  pthread_cond_init(&s.cp_cv, NULL);
  pthread_mutex_init(&s.wmu, NULL);
  pthread_cond_init(&s.wcv, NULL);
  pthread_cond_init(&s.wdone, NULL);
  struct sockaddr_in sa;
  if (parse_listen(o->listen, &sa)) {
    fprintf(stderr, "leopards serve: cannot use the address '%s' (expected IPV4:PORT)\n", o->listen);
    teardown(&s);
    return 1;
  }
  if (open_handles(&s)) {
    teardown(&s);
    return 1;
  }
  /* the checkpoint thread is started after the signal mask below, so it inherits it */
  /* the workers inherit a mask without the stop signals: only this thread waits for them */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);
  if (start_checkpoints(&s) || start_writer(&s)) {
    teardown(&s);
    return 1;
  }
  /* A thread per connection: a request that takes long (a login's argon2 check, a
   * write waiting for its commit) holds up its own connection only, not the others a
   * pool thread would also serve. The trial handles (--workers) bound how many
   * requests are in the library at once. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
  char *cert = NULL, *keypem = NULL;
  if (o->tls_cert) {
    cert = slurp(o->tls_cert);
    keypem = slurp(o->tls_key);
    if (!cert || !keypem || MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      fprintf(stderr, "leopards serve: cannot use the TLS certificate and key given\n");
      free(cert);
      free(keypem);
      teardown(&s);
      return 1;
    }
    flags |= MHD_USE_TLS;
  }
  s.d = MHD_start_daemon(flags, 0, NULL, NULL, handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->max_header,
                         MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 128u,
                         MHD_OPTION_NOTIFY_COMPLETED, completed, &s, cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
                         cert, MHD_OPTION_HTTPS_MEM_KEY, keypem, MHD_OPTION_END);
  if (!s.d) {
    fprintf(stderr, "leopards serve: cannot listen on %s: %s\n", o->listen, strerror(errno));
    free(cert);
    free(keypem);
    teardown(&s);
    return 1;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s.d, MHD_DAEMON_INFO_BIND_PORT);
  char host[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
  printf("leopards serve: listening on %s://%s:%u/ with %d workers%s (%s)\n", cert ? "https" : "http", host,
         di ? di->port : ntohs(sa.sin_port), s.nhandles, s.w_running ? " and group commit" : "", o->db);
  if (o->banner) fputs(o->banner, stdout);
  fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  printf("leopards serve: %s received, finishing requests in flight\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  fflush(stdout);
  MHD_stop_daemon(s.d); /* joins the workers: requests in flight complete first */
  teardown(&s);
  free(cert);
  free(keypem);
  printf("leopards serve: stopped, the store closed cleanly\n");
  return 0;
}
