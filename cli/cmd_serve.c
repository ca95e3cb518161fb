/* leopards serve: parse the options and run the web service (server/). With --demo,
 * first build a fresh trial in progress and one user of each role to log in with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../server/server.h"
#include "cli.h"

int cli_serve_demo(const cli_args *a, srv_options *o);

static const cli_opt serve_opts[] = {
    {"db", "FILE", "trial database"},
    {"key", "FILE", "list key: enables emergency unblinding and list extension by the server"},
    {"audit-key", "FILE", "audit key of a keyed trial (default DB.audit-key beside the database when present)"},
    {"listen", "IP:PORT", "address to listen on (default 127.0.0.1:8080; port 0 picks a free one)"},
    {"tls-cert", "FILE", "TLS certificate (PEM); with --tls-key"},
    {"tls-key", "FILE", "TLS private key (PEM)"},
    {"workers", "N", "trial handles: requests in the library at once (default 16; a thread serves each connection)"},
    {"checkpoint-file", "FILE", "append an audit checkpoint here whenever new entries were written (each minute)"},
    {"checkpoint-every", "SECONDS", "how often to look for new entries (default 60)"},
    {"no-group-commit", NULL,
     "commit each write request on its own (default: the writes of requests made meanwhile share one durable "
     "commit)"},
    {"demo", NULL, "create a fresh demo trial in progress in leopards-serve-demo/ and serve it"},
    {"dir", "DIR", "folder of the demo (default leopards-serve-demo)"},
    {0}};

static int run_serve(const cli_args *a) {
  srv_options o = {
      .listen = "127.0.0.1:8080", .workers = 16, .max_body = 64 * 1024, .max_header = 16 * 1024, .timeout_s = 30};
  long w = 16;
  int rc;
  if ((rc = cli_long(a, "workers", 1, 64, &w))) return rc;
  o.workers = (int)w;
  long every = 60;
  if ((rc = cli_long(a, "checkpoint-every", 1, 86400, &every))) return rc;
  o.checkpoint_every_s = (unsigned)every;
  o.checkpoint_file = cli_str(a, "checkpoint-file");
  o.no_group_commit = cli_has(a, "no-group-commit");
  if (cli_str(a, "listen")) o.listen = cli_str(a, "listen");
  o.key = cli_str(a, "key");
  o.audit_key = cli_str(a, "audit-key");
  o.tls_cert = cli_str(a, "tls-cert");
  o.tls_key = cli_str(a, "tls-key");
  if (!o.tls_cert != !o.tls_key) return cli_usage_error(a, "--tls-cert and --tls-key go together");
  if (cli_has(a, "demo")) {
    if ((rc = cli_serve_demo(a, &o))) return rc;
  } else if ((rc = cli_require(a, "db", &o.db))) {
    return rc;
  }
  rc = srv_run(&o);
  free((char *)o.banner);
  return rc ? CLI_EDATA : CLI_OK;
}

const cli_cmd cli_serve_cmds[] = {
    {"serve", "the web service for the sites: screening, randomisation, unblinding, audit (HTML and JSON)", serve_opts,
     "Pages at /, the JSON API under /api/v1 (docs/api.md). Users log in with a password set by\n"
     "'leopards user passwd'. Stop with SIGTERM or Ctrl-C: requests in flight finish first.\n"
     "example:\n  leopards serve --db trial.db --key trial.key --listen 127.0.0.1:8080\n"
     "  leopards serve --demo",
     run_serve},
};
const size_t cli_serve_ncmds = sizeof cli_serve_cmds / sizeof cli_serve_cmds[0];
