/* prng-avx2.c - ds_prng_fill_normal's inner loop, eight draws at a time;
 * the same integer and float steps as the scalar loop in prng.c, so the
 * same bits.  Compiled with -mavx2; called only after a CPU check. */
#include <immintrin.h>

#include "prng.h"

static inline __m256i fmix8(__m256i h)
{
	h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
	h = _mm256_mullo_epi32(h, _mm256_set1_epi32((int)0x85ebca6bu));
	h = _mm256_xor_si256(h, _mm256_srli_epi32(h, 13));
	h = _mm256_mullo_epi32(h, _mm256_set1_epi32((int)0xc2b2ae35u));
	return _mm256_xor_si256(h, _mm256_srli_epi32(h, 16));
}

void ds_prng_fill_normal_avx2(float *out, uint32_t b0, uint32_t b1, uint32_t lo, size_t n, float mean, float sd)
{
	const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), low16 = _mm256_set1_epi32(0xffff);
	const __m256i vb0 = _mm256_set1_epi32((int)b0), vb1 = _mm256_set1_epi32((int)b1);
	const __m256i golden = _mm256_set1_epi32((int)0x27d4eb2fu);
	const __m256 centre = _mm256_set1_ps(131070.0f), scale = _mm256_set1_ps(1.0f / 37837.2276f);
	const __m256 vsd = _mm256_set1_ps(sd), vmean = _mm256_set1_ps(mean);
	size_t j = 0;

	for (; j + 8 <= n; j += 8) {
		__m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)(lo + (uint32_t)j)), step);
		__m256i h1 = fmix8(_mm256_add_epi32(idx, vb0));
		__m256i h2 = fmix8(_mm256_mullo_epi32(_mm256_xor_si256(idx, vb1), golden));
		__m256i s = _mm256_add_epi32(_mm256_add_epi32(_mm256_and_si256(h1, low16), _mm256_srli_epi32(h1, 16)),
					     _mm256_add_epi32(_mm256_and_si256(h2, low16), _mm256_srli_epi32(h2, 16)));
		__m256 v = _mm256_sub_ps(_mm256_cvtepi32_ps(s), centre);
		v = _mm256_mul_ps(v, scale);
		v = _mm256_mul_ps(v, vsd);
		_mm256_storeu_ps(out + j, _mm256_add_ps(v, vmean));
	}
	for (; j < n; j++)
		out[j] = ds_prng_normal_at(b0, b1, lo + (uint32_t)j, mean, sd);
}
