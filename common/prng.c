/* prng.c - keys and bulk fills for prng.h.  Products and sums are kept in
 * separate statements so that no compiler may fuse them into an FMA: the
 * values must be identical whatever the build. */
#include "prng.h"

uint64_t ds_prng_key(uint64_t seed, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return ds_prng_mix(h ^ ds_prng_mix(seed + 0x632be59bd9b4e019ull));
}

void ds_prng_fill_normal(float *out, uint64_t key, uint64_t start, size_t n, float mean, float sd)
{
	for (size_t k = 0; k < n; k++) {
		float v = ds_prng_normal(key, start + k);
		v = v * sd;
		out[k] = v + mean;
	}
}

void ds_prng_fill_uniform(float *out, uint64_t key, uint64_t start, size_t n, float lo, float hi)
{
	float w = hi - lo;

	for (size_t k = 0; k < n; k++) {
		float v = ds_prng_uniform(key, start + k);
		v = v * w;
		out[k] = v + lo;
	}
}
