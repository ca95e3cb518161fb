/* leopards serve --demo: a fresh simulated trial in progress and one user per role. */
#include <stdio.h>

#include "../server/server.h"
#include "cli.h"

int cli_serve_demo(const cli_args *a, srv_options *o) {
  return cli_usage_error(a, "--demo is not available yet");
}
