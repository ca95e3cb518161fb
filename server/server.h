/* leopards serve: the web front end (HTML pages and the JSON API under /api/v1) on
 * libmicrohttpd. Like the command line it uses only the public library API; every
 * role and site rule is the library's (lp_access_check), asked on every request. */
#ifndef LEOPARDS_SERVER_H
#define LEOPARDS_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <leopards/account.h>
#include <leopards/strbuf.h>
#include <leopards/trial.h>

#include <jansson.h>

typedef struct srv_options {
  const char *db;
  const char *key;       /* list key (NULL: no unblinding, no list extension) */
  const char *audit_key; /* reserved for the keyed audit chain (see srv_attach_audit_key) */
  const char *listen;    /* "127.0.0.1:8080" */
  const char *tls_cert, *tls_key;
  int workers;
  size_t max_body;             /* bytes (default 64 KiB) */
  size_t max_header;           /* bytes of a connection's request head (default 16 KiB) */
  unsigned timeout_s;          /* idle connection timeout (default 30 s) */
  const char *banner;          /* printed once the server listens (the demo's instructions) */
  const char *checkpoint_file; /* audit checkpoints appended while serving (NULL: none) */
  unsigned checkpoint_every_s; /* how often to look for new entries (default 60 s) */
  bool no_group_commit;        /* every write request commits on its own (for comparison) */
} srv_options;

/* Run until SIGTERM or SIGINT: in-flight requests finish, then the store closes.
 * Returns 0, or 1 with a message on stderr. */
int srv_run(const srv_options *o);

/* ---- shared by the pages and the API ---- */

typedef struct srv srv;

/* One request, as the handlers see it. */
typedef struct req {
  srv *s;
  struct MHD_Connection *c;
  const char *method, *path;
  char *body;
  size_t nbody;
  bool too_big;
  lp_trial *t;
  const lp_trial_key *key;
  lp_account_policy policy;
  bool authed, bearer;
  lp_identity who;
  char token[LP_API_TOKEN_LEN + 1];
  bool tls;
} req;

typedef struct resp {
  int code;
  const char *ctype;
  lp_strbuf body;
  char cookie[256];   /* Set-Cookie value, "" for none */
  char location[512]; /* redirect target, "" for none */
  bool cacheable;     /* the stylesheet; everything else is no-store */
} resp;

/* A write of the JSON API: fn(t, arg, err) runs on the server's writer handle in a
 * group commit (lp_trial_batch_begin) with the writes of other requests made
 * meanwhile, and srv_write returns once the commit is durable (or has failed: then
 * nothing of it is kept and `err` says why). Without group commit it runs on the
 * request's own handle. fn must only call the library on `t` (its savepoint is its
 * transaction), not answer the client: the answer is written after srv_write. */
typedef lp_status (*srv_write_fn)(lp_trial *t, void *arg, lp_error *err);
lp_status srv_write(req *q, srv_write_fn fn, void *arg, lp_error *err);

/* Pages (pages.c) and API (api.c): fill `r` for the request. */
void srv_page(req *q, resp *r);
void srv_api(req *q, resp *r);
/* A JSON answer (j is consumed; NULL gives {}), and the error shape
 * {"error": {"status", "message", "field"}} of every refusal. */
void srv_json(resp *r, int code, json_t *j);
void srv_json_fail(resp *r, int code, lp_status st, const char *msg, const char *field);
/* Data entry, queries, verification, signatures and the lock (api_queries.c): handles
 * the route `p` (after /api/v1) and returns true, or returns false for another route. */
bool srv_api_queries(req *q, resp *r, const char *p, bool get, bool post);

/* Pages of data queries, source data verification, signatures and the lock
 * (pages_queries.c): handles the route `p` and returns true, or false for another;
 * srv_queries_box adds the open queries of the user's site to the home page. */
bool srv_pages_queries(req *q, resp *r, const char *p, bool get, bool post);
void srv_queries_box(req *q, resp *r);
void srv_patient_queries(req *q, resp *r, const char *patient); /* a patient's queries, every state */
/* A link to the page raising a query by hand on one form of a patient (day of a daily
 * form, row id of an adverse or infusion event), for a user who may raise one there (a button, or in a table a plain
 * link). */
void srv_query_raise_link(req *q, resp *r, const char *patient, const char *site, const char *form, int day,
                          long record, bool in_table);
/* The frame of every page, shared with pages_queries.c (pages.c). */
void srv_page_begin(req *q, resp *r, const char *title);
void srv_page_end(resp *r);
void srv_page_csrf_field(req *q, resp *r);
void srv_page_time(resp *r, const char *iso);
void srv_page_message(req *q, resp *r, int code, const char *title, const char *msg);
void srv_page_redirect(resp *r, const char *to);

/* helpers (http.c) */
const char *srv_query(req *q, const char *name);
/* A field of a form body (application/x-www-form-urlencoded), decoded into buf; false
 * when absent. */
bool srv_form(req *q, const char *name, char *buf, size_t n);
const char *srv_header(req *q, const char *name);
void srv_html_escape(lp_strbuf *b, const char *s);
/* A patient or site code as the server accepts it: 1 to 32 of A-Z a-z 0-9 _ - . */
bool srv_code_ok(const char *s);
/* HTTP status for a library status. */
int srv_http_status(lp_status s);
/* The same for an error: a site closed to recruitment (LP_ESTATE about the field
 * "site") is a trial rule's refusal, 422. */
int srv_http_status_of(const lp_error *e);
void srv_session_cookie(req *q, resp *r, const char *token, bool clear);
/* The login form's anti-forgery token (before any session): a keyed hash, under a
 * secret drawn when the server starts, of the random value in the browser's
 * `lp_login` cookie; `hex` receives LP_TOKEN_HEX digits, "" without that cookie. */
void srv_login_csrf(req *q, const char *cookie, char hex[LP_TOKEN_HEX + 1]);

/* Pages of pages_admin.c (API tokens, sites, the list) and what they share with
 * pages.c (defined there). */
void srvp_begin(req *q, resp *r, const char *title);
void srvp_end(resp *r);
void srvp_csrf_field(req *q, resp *r);
void srvp_redirect(resp *r, const char *to);
void srvp_message(req *q, resp *r, int code, const char *title, const char *msg);
bool srvp_allowed(req *q, resp *r, lp_action what, const char *site, const char *patient);
/* true when the request was routed to one of them */
bool srv_admin_page(req *q, resp *r, bool post);

/* pages.c, for the form pages */
void srv_page_begin(req *q, resp *r, const char *title);
void srv_page_end(resp *r);
void srv_page_message(req *q, resp *r, int code, const char *title, const char *msg);
bool srv_page_allowed(req *q, resp *r, lp_action what, const char *site, const char *patient);
void srv_page_csrf(req *q, resp *r);
void srv_page_time(resp *r, const char *iso);

/* The case report forms (pages_forms.c): /patients/P/forms/KIND[/KEY], the list of a
 * patient's forms on the patient page, their stylesheet and script. */
void srv_form_page(req *q, resp *r, const char *rest, bool post);
void srv_forms_list(req *q, resp *r, const char *patient);
void srv_forms_css(resp *r);
void srv_forms_js(resp *r);
/* The JSON API of the forms (api_records.c): /api/v1/patients/P/records/KIND[/KEY],
 * /api/v1/patients/P/forms, /api/v1/scores/sofa. `rest` follows "/api/v1". */
bool srv_api_records(req *q, resp *r, const char *rest);

#endif
