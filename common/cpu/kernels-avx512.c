/*
 * kernels-avx512.c - AVX-512 (F, BW, VL, DQ, VBMI) matrix kernels.  Only
 * called after kernels.c has checked the CPU.
 *
 * Weights are converted in registers, 64 elements per step: F32 loaded,
 * BF16 shifted into f32, F16 through vcvtph2ps, FP8 through a byte-permute
 * lookup (vpermt2b) that yields the exact bf16 pattern of each byte, then
 * widened.  A tile of up to 8 weight rows x 4 activation rows keeps one
 * 16-lane accumulator per output; lane l sums k = l, l+16, ... in order and
 * the lanes are reduced by the same fixed sequence in every tile shape.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels-impl.h"

#define AI static inline __attribute__((always_inline))
#define ESZ(dt) ((dt) == DS_F32 ? 4 : (dt) == DS_F8_E4M3 ? 1 : 2)

struct lut {
	__m512i h0, h1, l0, l1, sign, i0, i1;
};

static struct lut lut_load(void)
{
	struct lut L;
	uint8_t il0[64], il1[64];

	for (int j = 0; j < 32; j++) {
		il0[2 * j] = (uint8_t)j;
		il0[2 * j + 1] = (uint8_t)(j | 64);
		il1[2 * j] = (uint8_t)(j + 32);
		il1[2 * j + 1] = (uint8_t)((j + 32) | 64);
	}
	L.h0 = _mm512_loadu_si512(ds_fp8_bf16_hi);
	L.h1 = _mm512_loadu_si512(ds_fp8_bf16_hi + 64);
	L.l0 = _mm512_loadu_si512(ds_fp8_bf16_lo);
	L.l1 = _mm512_loadu_si512(ds_fp8_bf16_lo + 64);
	L.sign = _mm512_set1_epi8((char)0x80);
	L.i0 = _mm512_loadu_si512(il0);
	L.i1 = _mm512_loadu_si512(il1);
	return L;
}

AI __m512 bf16x16(__m256i h)
{
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Weights k .. k+63 of one row as 4 x 16 floats; lanes outside mask m
 * (when masked) read as 0. */
AI void load64(int dt, const void *row, long k, __mmask64 m, int masked, const struct lut *L,
	       __m512 o[4])
{
	if (dt == DS_F32) {
		const float *p = (const float *)row + k;

#pragma GCC unroll 4
		for (int c = 0; c < 4; c++)
			o[c] = masked ? _mm512_maskz_loadu_ps((__mmask16)(m >> (16 * c)), p + 16 * c)
				      : _mm512_loadu_ps(p + 16 * c);
	} else if (dt == DS_BF16 || dt == DS_F16) {
		const uint16_t *p = (const uint16_t *)row + k;

#pragma GCC unroll 4
		for (int c = 0; c < 4; c++) {
			__m256i h = masked ? _mm256_maskz_loadu_epi16((__mmask16)(m >> (16 * c)), p + 16 * c)
					   : _mm256_loadu_si256((const __m256i *)(p + 16 * c));

			o[c] = dt == DS_BF16 ? bf16x16(h) : _mm512_cvtph_ps(h);
		}
	} else {
		const uint8_t *p = (const uint8_t *)row + k;
		__m512i v = masked ? _mm512_maskz_loadu_epi8(m, p) : _mm512_loadu_si512(p);
		__m512i hi = _mm512_permutex2var_epi8(L->h0, v, L->h1);
		__m512i lo = _mm512_permutex2var_epi8(L->l0, v, L->l1);
		__m512i w0, w1;

		hi = _mm512_ternarylogic_epi32(hi, v, L->sign, 0xF8);	/* hi | (v & sign) */
		w0 = _mm512_permutex2var_epi8(lo, L->i0, hi);		/* bf16 of bytes 0..31 */
		w1 = _mm512_permutex2var_epi8(lo, L->i1, hi);		/* bytes 32..63 */
		o[0] = bf16x16(_mm512_castsi512_si256(w0));
		o[1] = bf16x16(_mm512_extracti64x4_epi64(w0, 1));
		o[2] = bf16x16(_mm512_castsi512_si256(w1));
		o[3] = bf16x16(_mm512_extracti64x4_epi64(w1, 1));
	}
}

static inline __mmask64 mask64(long n)
{
	return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/*
 * NR weight rows (starting at w, esz bytes per element, ld elements apart)
 * times NX activation rows: y[j*ldy + i] = row i . x row j.
 */
AI void tile(int dt, int NR, int NX, const uint8_t *w, size_t wstride, const float *x, long ldx,
	     long K, float *y, long ldy, const struct lut *L)
{
	__m512 acc[8][4];
	long k = 0;

#pragma GCC unroll 8
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
		for (int j = 0; j < NX; j++)
			acc[i][j] = _mm512_setzero_ps();
	for (; k + 64 <= K; k += 64) {
#pragma GCC unroll 8
		for (int i = 0; i < NR; i++) {
			__m512 wv[4];

			if (NX == 1) {	/* decode streams the weights: fetch ~512 B ahead */
				const char *pf = (const char *)(w + i * wstride) + (size_t)k * ESZ(dt) + 512;

				for (int b = 0; b < 64 * ESZ(dt); b += 64)
					_mm_prefetch(pf + b, _MM_HINT_T0);
			}
			load64(dt, w + i * wstride, k, 0, 0, L, wv);
#pragma GCC unroll 4
			for (int j = 0; j < NX; j++)
#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					acc[i][j] = _mm512_fmadd_ps(wv[c], _mm512_loadu_ps(x + j * ldx + k + 16 * c),
								    acc[i][j]);
		}
	}
	if (k < K) {
		__mmask64 m = mask64(K - k);
		int nc = (int)((K - k + 15) / 16);

#pragma GCC unroll 8
		for (int i = 0; i < NR; i++) {
			__m512 wv[4];

			load64(dt, w + i * wstride, k, m, 1, L, wv);
#pragma GCC unroll 4
			for (int j = 0; j < NX; j++)
				for (int c = 0; c < nc; c++)
					acc[i][j] = _mm512_fmadd_ps(
						wv[c], _mm512_maskz_loadu_ps((__mmask16)(m >> (16 * c)), x + j * ldx + k + 16 * c),
						acc[i][j]);
		}
	}
#pragma GCC unroll 8
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
		for (int j = 0; j < NX; j++)
			y[j * ldy + i] = _mm512_reduce_add_ps(acc[i][j]);
}

/* rows [n0, n1) x activation rows [0, nx): y[r*ldy + (n - n0)] */
AI void rows(int dt, const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
	     float *y, long ldy, const struct lut *L)
{
	size_t esz = ds_dtype_size(w->dtype), ws = (size_t)w->ld * esz;
	const uint8_t *base = (const uint8_t *)w->data;
	long K = w->cols;

	for (long r0 = 0; r0 < nx; r0 += DS_MATMUL_XCHUNK) {
		long r1 = nx - r0 < DS_MATMUL_XCHUNK ? nx : r0 + DS_MATMUL_XCHUNK;
		long n = n0;

		if (r1 - r0 == 1) {
			for (; n + 8 <= n1; n += 8)
				tile(dt, 8, 1, base + (size_t)n * ws, ws, x + r0 * ldx, ldx, K, y + r0 * ldy + (n - n0), ldy, L);
			for (; n + 4 <= n1; n += 4)
				tile(dt, 4, 1, base + (size_t)n * ws, ws, x + r0 * ldx, ldx, K, y + r0 * ldy + (n - n0), ldy, L);
			for (; n < n1; n++)
				tile(dt, 1, 1, base + (size_t)n * ws, ws, x + r0 * ldx, ldx, K, y + r0 * ldy + (n - n0), ldy, L);
			continue;
		}
		for (; n < n1; n += 4) {
			const uint8_t *wr = base + (size_t)n * ws;
			long r = r0;

			if (n + 4 <= n1) {
				for (; r + 4 <= r1; r += 4)
					tile(dt, 4, 4, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (n - n0), ldy, L);
				for (; r < r1; r++)
					tile(dt, 4, 1, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (n - n0), ldy, L);
				continue;
			}
			for (long m = n; m < n1; m++) {
				wr = base + (size_t)m * ws;
				for (r = r0; r + 4 <= r1; r += 4)
					tile(dt, 1, 4, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (m - n0), ldy, L);
				for (; r < r1; r++)
					tile(dt, 1, 1, wr, ws, x + r * ldx, ldx, K, y + r * ldy + (m - n0), ldy, L);
			}
		}
	}
}

static void fp8_rows(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx, float *y,
		     long ldy, const void *ctx)
{
	rows(DS_F8_E4M3, w, n0, n1, x, ldx, nx, y, ldy, ctx);
}

/* Only FP8 weights read the lookup tables (L may be NULL for the others). */
static void matmul_avx512(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			  float *y, long ldy, float *scratch)
{
	struct lut L;

	switch (w->dtype) {
	case DS_F32:
		rows(DS_F32, w, n0, n1, x, ldx, nx, y, ldy, NULL);
		break;
	case DS_BF16:
		rows(DS_BF16, w, n0, n1, x, ldx, nx, y, ldy, NULL);
		break;
	case DS_F16:
		rows(DS_F16, w, n0, n1, x, ldx, nx, y, ldy, NULL);
		break;
	case DS_F8_E4M3:
		L = lut_load();
		ds_fp8_matmul(w, n0, n1, x, ldx, nx, y, ldy, scratch, fp8_rows, &L);
		break;
	default:
		break;
	}
}

/* y[j] += coef * W[row][j] over the row, 64 columns per step (FP8: one
 * coefficient per 128-column block). */
AI void axpy_row(int dt, const void *row, long J, float c, const float *s, float *y, const struct lut *L)
{
	for (long j = 0; j < J; j += 64) {
		__mmask64 m = mask64(J - j);
		int masked = J - j < 64, nc = masked ? (int)((J - j + 15) / 16) : 4;
		__m512 wv[4];
		__m512 cv = _mm512_set1_ps(dt == DS_F8_E4M3 ? c * s[j / DS_FP8_BLOCK] : c);

		load64(dt, row, j, m, masked, L, wv);
		for (int q = 0; q < nc; q++) {
			float *p = y + j + 16 * q;
			__mmask16 mq = (__mmask16)(m >> (16 * q));
			__m512 yv = _mm512_maskz_loadu_ps(mq, p);

			_mm512_mask_storeu_ps(p, mq, _mm512_fmadd_ps(cv, wv[q], yv));
		}
	}
}

static void matmul_t_avx512(const struct ds_mat *w, long i0, long ni, const float *x, long ldx, long nx,
			    float *y, long ldy)
{
	struct lut L;
	size_t ws = (size_t)w->ld * ds_dtype_size(w->dtype);
	long J = w->cols;

	if (w->dtype == DS_F8_E4M3)
		L = lut_load();

	for (long r = 0; r < nx; r++) {
		float *yr = y + r * ldy;

		memset(yr, 0, (size_t)J * sizeof(*yr));
		for (long i = 0; i < ni; i++) {
			long n = i0 + i;
			const void *row = (const uint8_t *)w->data + (size_t)n * ws;
			float c = x[r * ldx + i];

			switch (w->dtype) {
			case DS_F32:
				axpy_row(DS_F32, row, J, c, NULL, yr, &L);
				break;
			case DS_BF16:
				axpy_row(DS_BF16, row, J, c, NULL, yr, &L);
				break;
			case DS_F16:
				axpy_row(DS_F16, row, J, c, NULL, yr, &L);
				break;
			case DS_F8_E4M3:
				axpy_row(DS_F8_E4M3, row, J, c, w->scale + (n / DS_FP8_BLOCK) * w->scale_ld, yr, &L);
				break;
			default:
				break;
			}
		}
	}
}

const struct ds_kernels ds_kernels_avx512 = { "avx512", matmul_avx512, matmul_t_avx512 };
