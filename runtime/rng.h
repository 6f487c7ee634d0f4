/* Portable, bit-exact random numbers: splitmix64 in counter form
 * (bench/WORKLOADS.md 0.1), so value i of stream `seed` can be computed on its own:
 * seeded noise is reproducible and streams block by block without state. */
#ifndef WF_RNG_H
#define WF_RNG_H

#include <stdint.h>

static inline uint64_t wf_splitmix64(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Hashes for identities (node ids): mixing a value or a string into h. */
static inline uint64_t wf_hash_u64(uint64_t h, uint64_t v)
{
    return wf_splitmix64(h ^ 0x243F6A8885A308D3ull, v);
}

static inline uint64_t wf_hash_str(uint64_t h, const char *s)
{
    uint64_t x = 0xCBF29CE484222325ull; /* FNV-1a, then mixed */
    for (; *s; s++)
        x = (x ^ (unsigned char)*s) * 0x100000001B3ull;
    return wf_hash_u64(h, x);
}

/* Uniform in [-1, 1), exact in float32: (z >> 40) * 2^-23 - 1. */
static inline float wf_uniform(uint64_t seed, uint64_t i)
{
    return (float)((double)(wf_splitmix64(seed, i) >> 40) * (1.0 / 8388608.0) - 1.0);
}

#endif
