/*
 * kernels-avx2.c - AVX2 + FMA + F16C matrix kernels.  Only called after
 * kernels.c has checked the CPU.
 *
 * 32 weights per step as 4 x 8 floats: F32 loaded, BF16 shifted, F16
 * through vcvtph2ps, FP8 through a gather from the 256-entry table of
 * tensor.h, times the block scale.  Tails shorter than 32 go through a
 * zero-padded copy, so lane l of every accumulator sums k = l, l+8, ... in
 * order whatever the tile shape.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels-impl.h"

#define AI static inline __attribute__((always_inline))

AI void load32(int dt, const void *row, long k, __m256 o[4])
{
	if (dt == DS_F32) {
		const float *p = (const float *)row + k;

#pragma GCC unroll 4
		for (int c = 0; c < 4; c++)
			o[c] = _mm256_loadu_ps(p + 8 * c);
	} else if (dt == DS_BF16 || dt == DS_F16) {
		const uint16_t *p = (const uint16_t *)row + k;

#pragma GCC unroll 4
		for (int c = 0; c < 4; c++) {
			__m128i h = _mm_loadu_si128((const __m128i *)(p + 8 * c));

			o[c] = dt == DS_BF16 ? _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))
					     : _mm256_cvtph_ps(h);
		}
	} else {
		const uint8_t *p = (const uint8_t *)row + k;

#pragma GCC unroll 4
		for (int c = 0; c < 4; c++) {
			__m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(p + 8 * c)));

			o[c] = _mm256_i32gather_ps(ds_fp8_e4m3_table, idx, 4);
		}
	}
}

/* The last n < 32 weights of row r as the kernels use them (FP8:
 * scaled; unscaled when w is NULL), zero-padded. */
static void tail_weights(int dt, const struct ds_mat *w, long r, const void *row, long k, long n, float *out)
{
	memset(out, 0, 32 * sizeof(*out));
	for (long i = 0; i < n; i++)
		out[i] = dt == DS_F8_E4M3 && w ? ds_fp8_weight(w, r, k + i) : ds_weight_f32(dt, row, k + i);
}

AI float hsum(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

AI void tile(int dt, int NR, int NX, const struct ds_mat *m, long n, const uint8_t *w, size_t wstride,
	     const float *x, long ldx, long K, float *y, long ldy)
{
	__m256 acc[4][2];
	long k = 0;

#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 2
		for (int j = 0; j < NX; j++)
			acc[i][j] = _mm256_setzero_ps();
	for (; k + 32 <= K; k += 32) {
#pragma GCC unroll 4
		for (int i = 0; i < NR; i++) {
			__m256 wv[4];

			load32(dt, w + i * wstride, k, wv);
			if (dt == DS_F8_E4M3) {
				__m256 sc = _mm256_set1_ps(m->scale[((n + i) / DS_FP8_BLOCK) * m->scale_ld + k / DS_FP8_BLOCK]);

#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					wv[c] = _mm256_mul_ps(wv[c], sc);
			}
#pragma GCC unroll 2
			for (int j = 0; j < NX; j++)
#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					acc[i][j] = _mm256_fmadd_ps(wv[c], _mm256_loadu_ps(x + j * ldx + k + 8 * c), acc[i][j]);
		}
	}
	if (k < K) {
		float wt[32], xt[2][32];

#pragma GCC unroll 2
		for (int j = 0; j < NX; j++) {
			memset(xt[j], 0, sizeof(xt[j]));
			memcpy(xt[j], x + j * ldx + k, (size_t)(K - k) * sizeof(float));
		}
		for (int i = 0; i < NR; i++) {
			tail_weights(dt, m, n + i, w + i * wstride, k, K - k, wt);
#pragma GCC unroll 2
			for (int j = 0; j < NX; j++)
#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					acc[i][j] = _mm256_fmadd_ps(_mm256_loadu_ps(wt + 8 * c), _mm256_loadu_ps(xt[j] + 8 * c),
								    acc[i][j]);
		}
	}
#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 2
		for (int j = 0; j < NX; j++)
			y[j * ldy + i] = hsum(acc[i][j]);
}

AI void rows(int dt, const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
	     float *y, long ldy)
{
	size_t ws = (size_t)w->ld * ds_dtype_size(w->dtype);
	const uint8_t *base = (const uint8_t *)w->data;
	long K = w->cols;

	for (long r0 = 0; r0 < nx; r0 += 16) {	/* activation rows kept warm together */
		long r1 = nx - r0 < 16 ? nx : r0 + 16;
		long n = n0;

		for (; n + 4 <= n1; n += 4) {
			const uint8_t *wr = base + (size_t)n * ws;
			long r = r0;

			for (; r + 2 <= r1; r += 2)
				tile(dt, 4, 2, w, n, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (n - n0), ldy);
			for (; r < r1; r++)
				tile(dt, 4, 1, w, n, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (n - n0), ldy);
		}
		for (; n < n1; n++) {
			const uint8_t *wr = base + (size_t)n * ws;
			long r = r0;

			for (; r + 2 <= r1; r += 2)
				tile(dt, 1, 2, w, n, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (n - n0), ldy);
			for (; r < r1; r++)
				tile(dt, 1, 1, w, n, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (n - n0), ldy);
		}
	}
}

static void matmul_avx2(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			float *y, long ldy, float *scratch)
{
	switch (w->dtype) {
	case DS_F32:
		rows(DS_F32, w, n0, n1, x, ldx, nx, y, ldy);
		break;
	case DS_BF16:
		rows(DS_BF16, w, n0, n1, x, ldx, nx, y, ldy);
		break;
	case DS_F16:
		rows(DS_F16, w, n0, n1, x, ldx, nx, y, ldy);
		break;
	case DS_F8_E4M3:
		rows(DS_F8_E4M3, w, n0, n1, x, ldx, nx, y, ldy);
		break;
	default:
		break;
	}
}

AI void axpy_row(int dt, const void *row, long J, float c, const float *s, float *y)
{
	long j = 0;

	for (; j + 32 <= J; j += 32) {
		__m256 wv[4];
		__m256 cv = _mm256_set1_ps(dt == DS_F8_E4M3 ? c * s[j / DS_FP8_BLOCK] : c);

		load32(dt, row, j, wv);
#pragma GCC unroll 4
		for (int q = 0; q < 4; q++)
			_mm256_storeu_ps(y + j + 8 * q, _mm256_fmadd_ps(cv, wv[q], _mm256_loadu_ps(y + j + 8 * q)));
	}
	if (j < J) {
		float wt[32], yt[32] = { 0 };
		__m256 cv = _mm256_set1_ps(dt == DS_F8_E4M3 ? c * s[j / DS_FP8_BLOCK] : c);

		tail_weights(dt, NULL, 0, row, j, J - j, wt);
		memcpy(yt, y + j, (size_t)(J - j) * sizeof(float));
		for (int q = 0; q < 4; q++)
			_mm256_storeu_ps(yt + 8 * q, _mm256_fmadd_ps(cv, _mm256_loadu_ps(wt + 8 * q), _mm256_loadu_ps(yt + 8 * q)));
		memcpy(y + j, yt, (size_t)(J - j) * sizeof(float));
	}
}

static void matmul_t_avx2(const struct ds_mat *w, long i0, long ni, const float *x, long ldx, long nx,
			  float *y, long ldy)
{
	size_t ws = (size_t)w->ld * ds_dtype_size(w->dtype);
	long J = w->cols;

	for (long r = 0; r < nx; r++) {
		float *yr = y + r * ldy;

		memset(yr, 0, (size_t)J * sizeof(*yr));
		for (long i = 0; i < ni; i++) {
			long n = i0 + i;
			const void *row = (const uint8_t *)w->data + (size_t)n * ws;
			float c = x[r * ldx + i];

			switch (w->dtype) {
			case DS_F32:
				axpy_row(DS_F32, row, J, c, NULL, yr);
				break;
			case DS_BF16:
				axpy_row(DS_BF16, row, J, c, NULL, yr);
				break;
			case DS_F16:
				axpy_row(DS_F16, row, J, c, NULL, yr);
				break;
			case DS_F8_E4M3:
				axpy_row(DS_F8_E4M3, row, J, c, w->scale + (n / DS_FP8_BLOCK) * w->scale_ld, yr);
				break;
			default:
				break;
			}
		}
	}
}

const struct ds_kernels ds_kernels_avx2 = { "avx2", matmul_avx2, matmul_t_avx2 };
