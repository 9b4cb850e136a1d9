/*
 * prng.h - counter-based pseudo-random numbers for generated weights.
 *
 * A value is a pure function of (key, index): no state, so any thread can
 * produce any element of any tensor in any order and the bytes come out the
 * same on every machine, with or without SIMD.  The key mixes the seed with
 * a name (a tensor's).  Draw i hashes the low 32 bits of i twice with the
 * murmur3 finaliser (a bijection), under two 32-bit bases derived from the
 * key and the high 32 bits of i; only 32-bit integer arithmetic is used, so
 * AVX2 computes the identical numbers eight at a time.
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

static inline uint32_t ds_prng_fmix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* The key for (seed, name): FNV-1a of the name, mixed with the seed. */
uint64_t ds_prng_key(uint64_t seed, const char *name);

/* The two 32-bit bases for indices whose high 32 bits are `hi`. */
static inline void ds_prng_bases(uint64_t key, uint32_t hi, uint32_t *b0, uint32_t *b1)
{
	uint64_t m = ds_prng_mix(key ^ ((uint64_t)hi * 0x9e3779b97f4a7c15ull));
	*b0 = (uint32_t)m;
	*b1 = (uint32_t)(m >> 32);
}

/* The two hashes of draw lo under bases b0, b1. */
static inline void ds_prng_hash2(uint32_t b0, uint32_t b1, uint32_t lo, uint32_t *h1, uint32_t *h2)
{
	*h1 = ds_prng_fmix32(lo + b0);
	*h2 = ds_prng_fmix32((lo ^ b1) * 0x27d4eb2fu);
}

/* Approximately standard normal from the two hashes: the sum of four 16-bit
 * uniforms (Irwin-Hall), centred and scaled to unit variance, bounded by
 * +-3.46.  Exact float steps only. */
static inline float ds_prng_normal_of(uint32_t h1, uint32_t h2)
{
	uint32_t s = (h1 & 0xffff) + (h1 >> 16) + (h2 & 0xffff) + (h2 >> 16);
	float c = (float)s - 131070.0f;		/* exact: |c| < 2^18 */
	return c * (1.0f / 37837.2276f);	/* sd of the sum: sqrt(4 (2^32 - 1) / 12) */
}

/* Uniform in [0, 1) with 24 bits from the first hash. */
static inline float ds_prng_uniform_of(uint32_t h1)
{
	return (float)(h1 >> 8) * (1.0f / 16777216.0f);
}

/* mean + sd * normal of draw lo, the product and the sum rounded apart (the
 * scalar step of the bulk fill, also its SIMD version's tail) */
static inline float ds_prng_normal_at(uint32_t b0, uint32_t b1, uint32_t lo, float mean, float sd)
{
	uint32_t h1, h2;
	float v;

	ds_prng_hash2(b0, b1, lo, &h1, &h2);
	v = ds_prng_normal_of(h1, h2);
	v = v * sd;
	return v + mean;
}

/* Single draws (reference definitions of the bulk fills below). */
float ds_prng_normal(uint64_t key, uint64_t i);
float ds_prng_uniform(uint64_t key, uint64_t i);

/* out[k] = mean + sd * normal(key, start + k), k < n: the product and the
 * sum are rounded separately (never fused) */
void ds_prng_fill_normal(float *out, uint64_t key, uint64_t start, size_t n, float mean, float sd);
/* out[k] = lo + (hi - lo) * uniform(key, start + k) */
void ds_prng_fill_uniform(float *out, uint64_t key, uint64_t start, size_t n, float lo, float hi);

/* The same fills without SIMD (tests compare the two). */
void ds_prng_fill_normal_scalar(float *out, uint64_t key, uint64_t start, size_t n, float mean, float sd);
/* AVX2 versions (prng-avx2.c): n elements whose indices share their high
 * 32 bits; call only when the CPU has AVX2. */
void ds_prng_fill_normal_avx2(float *out, uint32_t b0, uint32_t b1, uint32_t lo, size_t n, float mean, float sd);

#endif
