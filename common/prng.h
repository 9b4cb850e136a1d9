/*
 * prng.h - counter-based pseudo-random numbers for generated weights.
 *
 * A value is a pure function of (key, index): no state, so any thread can
 * produce any element of any tensor in any order and the bytes come out the
 * same on every machine.  The key mixes the seed with a name (a tensor's);
 * draw i is the splitmix64 finaliser of key + (i + 1) * golden-ratio.
 *
 * This is not the stream behind ds-sample (rng.h, ChaCha20, slower and
 * cryptographically strong); it only has to be fast and well spread.
 */
#ifndef DS_PRNG_H
#define DS_PRNG_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t ds_prng_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The key for (seed, name): FNV-1a of the name, mixed with the seed. */
uint64_t ds_prng_key(uint64_t seed, const char *name);

static inline uint64_t ds_prng_u64(uint64_t key, uint64_t i)
{
	return ds_prng_mix(key + (i + 1) * 0x9e3779b97f4a7c15ull);
}

/* Uniform in [0, 1), 24 random bits (exact in float). */
static inline float ds_prng_uniform(uint64_t key, uint64_t i)
{
	return (float)(ds_prng_u64(key, i) >> 40) * (1.0f / 16777216.0f);
}

/* Approximately standard normal: the sum of four 16-bit uniforms (Irwin-
 * Hall), centred and scaled to unit variance; bounded by +-3.46.  Every
 * step is one exactly rounded float operation, so the result does not
 * depend on the compiler fusing operations. */
static inline float ds_prng_normal(uint64_t key, uint64_t i)
{
	uint64_t h = ds_prng_u64(key, i);
	uint32_t s = (uint32_t)(h & 0xffff) + (uint32_t)((h >> 16) & 0xffff) +
		     (uint32_t)((h >> 32) & 0xffff) + (uint32_t)(h >> 48);
	float c = (float)s - 131070.0f;		/* exact: |c| < 2^18 */
	return c * (1.0f / 37837.2276f);	/* sd of the sum: sqrt(4 (2^32 - 1) / 12) */
}

/* out[k] = mean + sd * normal(key, start + k), k < n */
void ds_prng_fill_normal(float *out, uint64_t key, uint64_t start, size_t n, float mean, float sd);
/* out[k] = lo + (hi - lo) * uniform(key, start + k) */
void ds_prng_fill_uniform(float *out, uint64_t key, uint64_t start, size_t n, float lo, float hi);

#endif
