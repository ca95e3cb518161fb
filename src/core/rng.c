/* Seeding of the xoshiro256++ streams and the few non-inline draws. */
#include <leopards/rng.h>

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void lp_rng_seed(lp_rng *r, uint64_t seed, uint64_t stream) {
  /* Mix the stream number through its own splitmix step before combining, so
   * that neighbouring (seed, stream) pairs give unrelated states. */
  uint64_t a = stream;
  uint64_t x = seed ^ splitmix64(&a);
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1; /* the all-zero state is absorbing */
}

double lp_rng_normal(lp_rng *r) {
  for (;;) {
    double u = 2.0 * lp_rng_uniform(r) - 1.0, v = 2.0 * lp_rng_uniform(r) - 1.0;
    double s = u * u + v * v;
    if (s > 0.0 && s < 1.0) return u * sqrt(-2.0 * log(s) / s);
  }
}

void lp_rng_shuffle_int(lp_rng *r, int *a, uint32_t n) {
  lp_rng32 s = {r, 0, 0}; /* two draws per 64-bit output */
  for (uint32_t i = n; i > 1; i--) {
    uint32_t j = lp_rng32_below(&s, i);
    int t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}
