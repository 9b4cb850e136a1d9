/* fastcvt-avx2.c - the AVX2 bodies of fastcvt.h, eight floats at a time,
 * the same bit steps as fastcvt.c; a group of eight holding a non-finite
 * value (or tails) falls back to the scalar code.  Compiled with -mavx2. */
#include <immintrin.h>

#include "fastcvt.h"

void ds_cvt_fp8_avx2(uint8_t *dst, const float *src, size_t n, float mult)
{
	const __m256 vm = _mm256_set1_ps(mult), k512 = _mm256_set1_ps(512.0f), k2p23 = _mm256_set1_ps(8388608.0f);
	const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
	const __m256i sub_lim = _mm256_set1_epi32(0x3c800000), one = _mm256_set1_epi32(1);
	const __m256i round = _mm256_set1_epi32(0x7ffff), bias = _mm256_set1_epi32(960);
	const __m256i maxc = _mm256_set1_epi32(0x7e), magic = _mm256_set1_epi32(0x4b000000);
	/* low byte of each 32-bit lane to the front of its 128-bit half */
	const __m256i pick = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
					      0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_mul_ps(_mm256_loadu_ps(src + i), vm);
		__m256i u = _mm256_castps_si256(v), a = _mm256_and_si256(u, absm);
		__m256i sign, sub, nor, code, is_sub;
		__m256 t;

		if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(a, _mm256_sub_epi32(inf, one)))) {
			ds_cvt_fp8_scalar(dst + i, src + i, 8, mult);
			continue;
		}
		sign = _mm256_and_si256(_mm256_srli_epi32(u, 24), _mm256_set1_epi32(0x80));
		t = _mm256_mul_ps(_mm256_castsi256_ps(a), k512);
		t = _mm256_add_ps(t, k2p23);
		sub = _mm256_sub_epi32(_mm256_castps_si256(t), magic);
		nor = _mm256_add_epi32(a, _mm256_add_epi32(round, _mm256_and_si256(_mm256_srli_epi32(a, 20), one)));
		nor = _mm256_min_epi32(_mm256_sub_epi32(_mm256_srli_epi32(nor, 20), bias), maxc);
		is_sub = _mm256_cmpgt_epi32(sub_lim, a);
		code = _mm256_or_si256(_mm256_blendv_epi8(nor, sub, is_sub), sign);
		code = _mm256_shuffle_epi8(code, pick);
		{
			uint32_t lo = (uint32_t)_mm256_extract_epi32(code, 0), hi = (uint32_t)_mm256_extract_epi32(code, 4);
			uint64_t both = (uint64_t)lo | (uint64_t)hi << 32;
			__builtin_memcpy(dst + i, &both, 8);
		}
	}
	if (i < n)
		ds_cvt_fp8_scalar(dst + i, src + i, n - i, mult);
}

void ds_cvt_bf16_avx2(uint16_t *dst, const float *src, size_t n)
{
	const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
	const __m256i round = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i u = _mm256_loadu_si256((const __m256i *)(src + i));
		__m256i r;
		__m128i packed;

		if (_mm256_movemask_epi8(_mm256_cmpgt_epi32(_mm256_and_si256(u, absm), inf))) {
			ds_cvt_bf16_scalar(dst + i, src + i, 8);	/* NaN */
			continue;
		}
		r = _mm256_add_epi32(u, _mm256_add_epi32(round, _mm256_and_si256(_mm256_srli_epi32(u, 16), one)));
		r = _mm256_srli_epi32(r, 16);
		packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
		_mm_storeu_si128((__m128i *)(dst + i), packed);
	}
	if (i < n)
		ds_cvt_bf16_scalar(dst + i, src + i, n - i);
}

float ds_cvt_absmax_avx2(const float *src, size_t n)
{
	const __m256i absm = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
	__m256i m = _mm256_setzero_si256();
	uint32_t lanes[8], best;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256i a = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(src + i)), absm);
		/* non-finite lanes count as 0 */
		a = _mm256_andnot_si256(_mm256_cmpgt_epi32(a, _mm256_sub_epi32(inf, _mm256_set1_epi32(1))), a);
		m = _mm256_max_epi32(m, a);
	}
	_mm256_storeu_si256((__m256i *)lanes, m);
	best = 0;
	for (int k = 0; k < 8; k++)
		best = lanes[k] > best ? lanes[k] : best;
	if (i < n) {
		float t = ds_cvt_absmax_scalar(src + i, n - i);
		uint32_t tb;
		__builtin_memcpy(&tb, &t, 4);
		best = tb > best ? tb : best;
	}
	{
		float r;
		__builtin_memcpy(&r, &best, 4);
		return r;
	}
}
