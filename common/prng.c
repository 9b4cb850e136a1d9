/* prng.c - keys, single draws and bulk fills for prng.h.  Products and sums
 * are separate statements: the Makefile's -std=c11 keeps GCC from fusing
 * them (-ffp-contract=off in ISO mode), and clang only fuses within one
 * expression, so values are identical whatever the build. */
#include "prng.h"

#include "cpufeat.h"

uint64_t ds_prng_key(uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return ds_prng_mix(h ^ ds_prng_mix(seed + 0x632be59bd9b4e019ull));
}

float ds_prng_normal(uint64_t key, uint64_t i)
{
	uint32_t b0, b1, h1, h2;

	ds_prng_bases(key, (uint32_t)(i >> 32), &b0, &b1);
	ds_prng_hash2(b0, b1, (uint32_t)i, &h1, &h2);
	return ds_prng_normal_of(h1, h2);
}

float ds_prng_uniform(uint64_t key, uint64_t i)
{
	uint32_t b0, b1, h1, h2;

	ds_prng_bases(key, (uint32_t)(i >> 32), &b0, &b1);
	ds_prng_hash2(b0, b1, (uint32_t)i, &h1, &h2);
	return ds_prng_uniform_of(h1);
}

enum fill { NORMAL, NORMAL_AVX2, UNIFORM };

/* out[k] from draw start + k, k < n: normal (a = mean, b = sd) or uniform
 * (a = lo, b = hi - lo), in runs of indices that share their high 32 bits
 * and so one pair of bases */
static void fill(float *out, uint64_t key, uint64_t start, size_t n, float a, float b, enum fill how)
{
	while (n) {
		uint64_t room = ((start >> 32) + 1) << 32;	/* next boundary (0 on wrap) */
		size_t k = room && room - start < n ? (size_t)(room - start) : n;
		uint32_t b0, b1, h1, h2, lo = (uint32_t)start;

		ds_prng_bases(key, (uint32_t)(start >> 32), &b0, &b1);
		if (how == NORMAL_AVX2) {
			ds_prng_fill_normal_avx2(out, b0, b1, lo, k, a, b);
		} else if (how == NORMAL) {
			for (size_t j = 0; j < k; j++)
				out[j] = ds_prng_normal_at(b0, b1, lo + (uint32_t)j, a, b);
		} else {
			for (size_t j = 0; j < k; j++) {
				float v;
				ds_prng_hash2(b0, b1, lo + (uint32_t)j, &h1, &h2);
				v = ds_prng_uniform_of(h1);
				v = v * b;
				out[j] = v + a;
			}
		}
		out += k;
		start += k;
		n -= k;
	}
}

void ds_prng_fill_normal(float *out, uint64_t key, uint64_t start, size_t n, float mean, float sd)
{
	fill(out, key, start, n, mean, sd, ds_cpu_has_avx2() ? NORMAL_AVX2 : NORMAL);
}

void ds_prng_fill_normal_scalar(float *out, uint64_t key, uint64_t start, size_t n, float mean, float sd)
{
	fill(out, key, start, n, mean, sd, NORMAL);
}

void ds_prng_fill_uniform(float *out, uint64_t key, uint64_t start, size_t n, float lo, float hi)
{
	fill(out, key, start, n, lo, hi - lo, UNIFORM);
}
