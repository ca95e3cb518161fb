/* Once-only library set-up and the thread budget. The set-up switches GSL's default
 * error handler (which aborts the process) off, so that every GSL failure comes back
 * as a status the library turns into an lp_error. It runs when the library is loaded
 * (from status.c, which every program using the library links) and again, harmlessly,
 * from lp_init. */
#include <leopards/core.h>

#include <gsl/gsl_errno.h>
#include <pthread.h>
#include <stdatomic.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int default_threads = 0; /* 0: every core */

static void init_once(void) { gsl_set_error_handler_off(); }

void lp_init(void) { pthread_once(&once, init_once); }

void lp_set_thread_budget(int threads) { atomic_store(&default_threads, threads > 0 ? threads : 0); }

int lp_thread_budget(int requested) {
  if (requested > 0) return requested;
  int d = atomic_load(&default_threads);
  if (d > 0) return d;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}
