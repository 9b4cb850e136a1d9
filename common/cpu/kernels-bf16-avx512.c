/*
 * kernels-bf16-avx512.c - the "avx512bf16" kernel set: the AVX-512 kernels,
 * except that BF16 weights are multiplied with vdpbf16ps.  Only called
 * after kernels.c has checked the CPU for AVX512-BF16.
 *
 * vdpbf16ps wants bf16 activations too; rounding them would cost ~1e-3 of
 * accuracy, so each activation is split into x = hi + lo, two bf16 values
 * (hi = bf16(x), lo = bf16(x - hi)), and every weight pair is multiplied by
 * both: the split keeps 16 significant bits (relative error below 2^-16,
 * ~1.5e-5 per element, far less in sums), and the weights need no
 * conversion at all.  The instruction treats denormal inputs as zero.
 * Lane l of an accumulator sums the pairs k = 2l, 2l+1 (mod 32) in
 * ascending k, hi before lo, whatever the tile shape.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels-impl.h"

#define AI static inline __attribute__((always_inline))

/* The activations as bf16 hi/lo rows of Kp = K rounded up to 32 values
 * each (zero padded): row r at out + r * 2 * Kp, hi then lo. */
static void split(const float *x, long ldx, long nx, long K, long Kp, uint16_t *out)
{
	for (long r = 0; r < nx; r++) {
		const float *xr = x + r * ldx;
		uint16_t *hi = out + r * 2 * Kp, *lo = hi + Kp;
		long k = 0;

		for (; k + 16 <= K; k += 16) {
			__m512 v = _mm512_loadu_ps(xr + k);
			__m256bh h = _mm512_cvtneps_pbh(v);
			__m512 hv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)h), 16));
			__m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(v, hv));

			_mm256_storeu_si256((__m256i *)(hi + k), (__m256i)h);
			_mm256_storeu_si256((__m256i *)(lo + k), (__m256i)l);
		}
		for (; k < K; k++) {
			uint16_t h = ds_f32_to_bf16(xr[k]);

			hi[k] = h;
			lo[k] = ds_f32_to_bf16(xr[k] - ds_bf16_to_f32(h));
		}
		for (; k < Kp; k++)
			hi[k] = lo[k] = 0;
	}
}

AI void tile(int NR, int NX, const uint16_t *w, long ld, const uint16_t *xs, long Kp, long K, float *y, long ldy)
{
	__m512 acc[8][4];

#pragma GCC unroll 8
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
		for (int j = 0; j < NX; j++)
			acc[i][j] = _mm512_setzero_ps();
	for (long k = 0; k < Kp; k += 32) {
		__mmask32 m = K - k >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << (K - k)) - 1);

#pragma GCC unroll 8
		for (int i = 0; i < NR; i++) {
			__m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, w + i * ld + k);

#pragma GCC unroll 4
			for (int j = 0; j < NX; j++) {
				const uint16_t *xh = xs + j * 2 * Kp + k;

				acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv, (__m512bh)_mm512_loadu_si512(xh));
				acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv, (__m512bh)_mm512_loadu_si512(xh + Kp));
			}
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
		for (int j = 0; j < NX; j++)
			y[j * ldy + i] = _mm512_reduce_add_ps(acc[i][j]);
}

static void matmul_bf16dot(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			   float *y, long ldy, float *scratch)
{
	long K = w->cols, Kp = (K + 31) / 32 * 32, ld = w->ld;
	const uint16_t *base = w->data;
	uint16_t *xs = (uint16_t *)scratch;

	for (long r0 = 0; r0 < nx; r0 += DS_MATMUL_XCHUNK) {
		long r1 = nx - r0 < DS_MATMUL_XCHUNK ? nx : r0 + DS_MATMUL_XCHUNK;
		long n = n0;

		split(x + r0 * ldx, ldx, r1 - r0, K, Kp, xs);
		if (r1 - r0 == 1) {
			for (; n + 8 <= n1; n += 8)
				tile(8, 1, base + n * ld, ld, xs, Kp, K, y + r0 * ldy + (n - n0), ldy);
			for (; n < n1; n++)
				tile(1, 1, base + n * ld, ld, xs, Kp, K, y + r0 * ldy + (n - n0), ldy);
			continue;
		}
		for (; n < n1; n += 4) {
			long r = r0;

			if (n + 4 <= n1) {
				for (; r + 4 <= r1; r += 4)
					tile(4, 4, base + n * ld, ld, xs + (r - r0) * 2 * Kp, Kp, K, y + r * ldy + (n - n0), ldy);
				for (; r < r1; r++)
					tile(4, 1, base + n * ld, ld, xs + (r - r0) * 2 * Kp, Kp, K, y + r * ldy + (n - n0), ldy);
				continue;
			}
			for (long m = n; m < n1; m++)
				for (r = r0; r < r1; r++)
					tile(1, 1, base + m * ld, ld, xs + (r - r0) * 2 * Kp, Kp, K, y + r * ldy + (m - n0), ldy);
		}
	}
}

static void matmul_avx512bf16(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			      float *y, long ldy, float *scratch)
{
	if (w->dtype == DS_BF16)
		matmul_bf16dot(w, n0, n1, x, ldx, nx, y, ldy, scratch);
	else
		ds_kernels_avx512.matmul(w, n0, n1, x, ldx, nx, y, ldy, scratch);
}

static void matmul_t_avx512bf16(const struct ds_mat *w, long i0, long ni, const float *x, long ldx, long nx,
				float *y, long ldy)
{
	ds_kernels_avx512.matmul_t(w, i0, ni, x, ldx, nx, y, ldy);
}

const struct ds_kernels ds_kernels_avx512bf16 = { "avx512bf16", matmul_avx512bf16, matmul_t_avx512bf16 };
