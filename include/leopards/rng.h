/* leopards random numbers: xoshiro256++ streams keyed by (seed, stream number).
 * Resampling derives one stream per replicate from the seed and the replicate
 * number, so results never depend on how replicates are spread over threads.
 * Not for secrets: sealed lists use libsodium (see trial/).
 * Ownership: an lp_rng is caller storage. Threads: re-entrant; one lp_rng per thread. */
#ifndef LEOPARDS_RNG_H
#define LEOPARDS_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lp_rng {
  uint64_t s[4];
} lp_rng;

/* Key a generator by a seed and a stream number (splitmix64 expansion of both). */
void lp_rng_seed(lp_rng *r, uint64_t seed, uint64_t stream);

static inline uint64_t lp__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* Next 64 random bits. */
static inline uint64_t lp_rng_next(lp_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = lp__rotl(s[0] + s[3], 23) + s[0];
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = lp__rotl(s[3], 45);
  return result;
}

/* Uniform integer in [0, n), n >= 1, without modulo bias (Lemire's method). */
static inline uint32_t lp_rng_below(lp_rng *r, uint32_t n) {
  uint64_t m = (uint64_t)(uint32_t)(lp_rng_next(r) >> 32) * n;
  uint32_t lo = (uint32_t)m;
  if (lo < n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    while (lo < threshold) {
      m = (uint64_t)(uint32_t)(lp_rng_next(r) >> 32) * n;
      lo = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

/* Two 32-bit halves from each 64-bit output: the cheapest way to draw many small
 * uniform integers (bootstrap indices). Initialise with {rng, 0, 0}. */
typedef struct lp_rng32 {
  lp_rng *rng;
  uint64_t buf;
  int have;
} lp_rng32;

static inline uint32_t lp_rng32_next(lp_rng32 *s) {
  if (s->have) {
    s->have = 0;
    return (uint32_t)s->buf;
  }
  s->buf = lp_rng_next(s->rng);
  s->have = 1;
  return (uint32_t)(s->buf >> 32);
}

/* Uniform integer in [0, n), n >= 1, from 32-bit draws (Lemire's method). */
static inline uint32_t lp_rng32_below(lp_rng32 *s, uint32_t n) {
  uint64_t m = (uint64_t)lp_rng32_next(s) * n;
  uint32_t lo = (uint32_t)m;
  if (lo < n) {
    uint32_t threshold = (uint32_t)(-n) % n;
    while (lo < threshold) {
      m = (uint64_t)lp_rng32_next(s) * n;
      lo = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double lp_rng_uniform(lp_rng *r) { return (double)(lp_rng_next(r) >> 11) * 0x1.0p-53; }

/* Standard normal deviate (polar method on two uniforms, no cached spare). */
double lp_rng_normal(lp_rng *r);

/* Shuffle an int array in place (Fisher-Yates). */
void lp_rng_shuffle_int(lp_rng *r, int *a, uint32_t n);

#ifdef __cplusplus
}
#endif
#endif
