/*
 * kernels-avx512.c - AVX-512 (F, BW, VL, DQ, VBMI) matrix kernels.  Only
 * called after kernels.c has checked the CPU.
 *
 * Weights become exact f32 values in registers, 64 per step: F32 loaded,
 * BF16 shifted, F16 through vcvtph2ps, FP8 through two byte-permute
 * lookups (vpermt2b: high and low byte of the bf16 pattern, every e4m3
 * value being a bf16) and four byte placements straight into f32 lanes,
 * then times the block scale (kernels.h).
 *
 * Two ways through a product, with the same arithmetic for every output:
 *  - rows (few activation rows: decode): tiles of up to 8 weight rows x 4
 *    activation rows convert the weights in registers as they stream in,
 *    with software prefetch for a single activation row;
 *  - panels (DS_MATMUL_PANEL_MIN activation rows or more: prefill, MoE
 *    experts with several tokens): PANEL_ROWS weight rows x KBLOCK columns
 *    are converted once into a per-thread f32 panel and reused by every
 *    activation row of a chunk of up to XTILE, in register tiles of 4
 *    weight rows x 6 activation rows (24 accumulators); the accumulators of
 *    a tile are kept in the scratch between column blocks.
 * In both, the accumulator of an output has 16 lanes; lane l adds
 * w[k] * x[k] for k = l, l+16, ... in ascending k, one fused multiply-add
 * each (lanes past the last column add 0 * 0), and the lanes are summed by
 * _mm512_reduce_add_ps.  So an output's bits depend only on its weight
 * row and activation row, never on the way, the tile or the row range.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels-impl.h"

#define AI static inline __attribute__((always_inline))
#define ESZ(dt) ((dt) == DS_F32 ? 4 : (dt) == DS_F8_E4M3 ? 1 : 2)

#define PANEL_ROWS 32	/* weight rows converted together (multiple of 4) */
#define KBLOCK 256	/* columns per panel block (multiple of 128: one FP8 scale each 128) */
#define XTILE 96	/* activation rows per panel pass (multiple of 6) */

struct lut {
	__m512i h0, h1, l0, l1, sign, put[4];
};

static struct lut lut_load(void)
{
	struct lut L;
	uint8_t put[4][64];

	/* f32 lane j of output c: bytes [0, 0, lo, hi] of element 16c + j
	 * (lo is table a of vpermt2b, hi table b) */
	for (int c = 0; c < 4; c++)
		for (int j = 0; j < 16; j++) {
			put[c][4 * j] = put[c][4 * j + 1] = 0;
			put[c][4 * j + 2] = (uint8_t)(16 * c + j);
			put[c][4 * j + 3] = (uint8_t)(64 + 16 * c + j);
		}
	L.h0 = _mm512_loadu_si512(ds_fp8_bf16_hi);
	L.h1 = _mm512_loadu_si512(ds_fp8_bf16_hi + 64);
	L.l0 = _mm512_loadu_si512(ds_fp8_bf16_lo);
	L.l1 = _mm512_loadu_si512(ds_fp8_bf16_lo + 64);
	L.sign = _mm512_set1_epi8((char)0x80);
	for (int c = 0; c < 4; c++)
		L.put[c] = _mm512_loadu_si512(put[c]);
	return L;
}

AI __m512 bf16x16(__m256i h)
{
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Weights k .. k+63 of one row as 4 x 16 exact floats (FP8: unscaled);
 * lanes outside mask m (when masked) read as 0. */
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

		hi = _mm512_ternarylogic_epi32(hi, v, L->sign, 0xF8);	/* hi | (v & sign) */
#pragma GCC unroll 4
		for (int c = 0; c < 4; c++)	/* bytes 0, 1 of each lane zero */
			o[c] = _mm512_castsi512_ps(
				_mm512_maskz_permutex2var_epi8(0xCCCCCCCCCCCCCCCCull, lo, L->put[c], hi));
	}
}

static inline __mmask64 mask64(long n)
{
	return n >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
}

/* The block scale of row n for columns k .. k+63 (k a multiple of 64). */
AI __m512 scale_of(const struct ds_mat *w, long n, long k)
{
	return _mm512_set1_ps(w->scale[(n / DS_FP8_BLOCK) * w->scale_ld + k / DS_FP8_BLOCK]);
}

/* ---- rows: weights converted as they stream in ---- */

/*
 * NR weight rows from row n (esz bytes per element, wstride bytes apart)
 * times NX activation rows: y[j*ldy + i] = row n+i . x row j.
 */
AI void tile(int dt, int NR, int NX, const struct ds_mat *w, long n, const uint8_t *wp, size_t wstride,
	     const float *x, long ldx, long K, float *y, long ldy, const struct lut *L)
{
	__m512 acc[8][4];
	long k = 0;

#pragma GCC unroll 8
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
		for (int j = 0; j < NX; j++)
			acc[i][j] = _mm512_setzero_ps();
	for (; k < K; k += 64) {
		int masked = K - k < 64;
		__mmask64 m = mask64(K - k);
		int nc = masked ? (int)((K - k + 15) / 16) : 4;

#pragma GCC unroll 8
		for (int i = 0; i < NR; i++) {
			__m512 wv[4];

			if (NX == 1) {	/* decode streams the weights: fetch ~512 B ahead */
				const char *pf = (const char *)(wp + i * wstride) + (size_t)k * ESZ(dt) + 512;

				for (int b = 0; b < 64 * ESZ(dt); b += 64)
					_mm_prefetch(pf + b, _MM_HINT_T0);
			}
			load64(dt, wp + i * wstride, k, m, masked, L, wv);
			if (dt == DS_F8_E4M3) {
				__m512 s = scale_of(w, n + i, k);

#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					wv[c] = _mm512_mul_ps(wv[c], s);
			}
#pragma GCC unroll 4
			for (int j = 0; j < NX; j++)
#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					if (c < nc) {
						const float *xp = x + j * ldx + k + 16 * c;
						__m512 xv = masked ? _mm512_maskz_loadu_ps((__mmask16)(m >> (16 * c)), xp)
								   : _mm512_loadu_ps(xp);

						acc[i][j] = _mm512_fmadd_ps(wv[c], xv, acc[i][j]);
					}
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
	size_t ws = (size_t)w->ld * ESZ(dt);
	const uint8_t *base = (const uint8_t *)w->data;
	long K = w->cols;

#define TILE(NR, NX, n, r) tile(dt, NR, NX, w, n, base + (size_t)(n) * ws, ws, x + (r) * ldx, ldx, K, \
				y + (r) * ldy + ((n) - n0), ldy, L)
	if (nx == 1) {
		long n = n0;

		for (; n + 8 <= n1; n += 8)
			TILE(8, 1, n, 0);
		for (; n + 4 <= n1; n += 4)
			TILE(4, 1, n, 0);
		for (; n < n1; n++)
			TILE(1, 1, n, 0);
		return;
	}
	for (long n = n0; n < n1; n += 4) {
		long r = 0;

		if (n + 4 <= n1) {
			for (; r + 4 <= nx; r += 4)
				TILE(4, 4, n, r);
			for (; r + 2 <= nx; r += 2)
				TILE(4, 2, n, r);
			for (; r < nx; r++)
				TILE(4, 1, n, r);
			continue;
		}
		for (long m = n; m < n1; m++) {
			for (r = 0; r + 4 <= nx; r += 4)
				TILE(1, 4, m, r);
			for (; r < nx; r++)
				TILE(1, 1, m, r);
		}
	}
#undef TILE
}

/* ---- panels: weights converted once per chunk of activation rows ---- */

/* Rows n .. n+nr-1, columns k0 .. k0+kn-1 as exact (scaled) f32 into
 * p[i*KBLOCK + c]; columns past kn are left alone (never read). */
AI void panel_fill(int dt, const struct ds_mat *w, long n, long nr, long k0, long kn, float *p,
		   const struct lut *L)
{
	size_t ws = (size_t)w->ld * ESZ(dt);

	for (long i = 0; i < nr; i++) {
		const uint8_t *row = (const uint8_t *)w->data + (size_t)(n + i) * ws;

		for (long c = 0; c < kn; c += 64) {
			int masked = kn - c < 64;
			__mmask64 m = mask64(kn - c);
			__m512 wv[4];

			load64(dt, row, k0 + c, m, masked, L, wv);
			if (dt == DS_F8_E4M3) {
				__m512 s = scale_of(w, n + i, k0 + c);

#pragma GCC unroll 4
				for (int q = 0; q < 4; q++)
					wv[q] = _mm512_mul_ps(wv[q], s);
			}
#pragma GCC unroll 4
			for (int q = 0; q < 4; q++)
				_mm512_storeu_ps(p + i * KBLOCK + c + 16 * q, wv[q]);
		}
	}
}

/*
 * NR panel rows (ldp floats apart) times NX activation rows over kn
 * columns (x already offset to the block).  acc holds NR*NX 16-lane
 * partial sums [i][j]: zero when first, else loaded; when last, the
 * reduced sums go to y[j*ldy + i], else the partial sums back to acc.
 */
AI void ptile(int NR, int NX, const float *p, long ldp, const float *x, long ldx, long kn, float *acc, int first,
	      int last, float *y, long ldy)
{
	__m512 a[4][6];
	long k = 0;

#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 6
		for (int j = 0; j < NX; j++)
			a[i][j] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + (i * NX + j) * 16);
	for (; k + 16 <= kn; k += 16) {
		__m512 wv[4];

#pragma GCC unroll 4
		for (int i = 0; i < NR; i++)
			wv[i] = _mm512_loadu_ps(p + i * ldp + k);
#pragma GCC unroll 6
		for (int j = 0; j < NX; j++) {
			__m512 xv = _mm512_loadu_ps(x + j * ldx + k);

#pragma GCC unroll 4
			for (int i = 0; i < NR; i++)
				a[i][j] = _mm512_fmadd_ps(wv[i], xv, a[i][j]);
		}
	}
	if (k < kn) {
		__mmask16 m = (__mmask16)((1u << (kn - k)) - 1);
		__m512 wv[4];

#pragma GCC unroll 4
		for (int i = 0; i < NR; i++)
			wv[i] = _mm512_maskz_loadu_ps(m, p + i * ldp + k);
#pragma GCC unroll 6
		for (int j = 0; j < NX; j++) {
			__m512 xv = _mm512_maskz_loadu_ps(m, x + j * ldx + k);

#pragma GCC unroll 4
			for (int i = 0; i < NR; i++)
				a[i][j] = _mm512_fmadd_ps(wv[i], xv, a[i][j]);
		}
	}
#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 6
		for (int j = 0; j < NX; j++) {
			if (last)
				y[j * ldy + i] = _mm512_reduce_add_ps(a[i][j]);
			else
				_mm512_storeu_ps(acc + (i * NX + j) * 16, a[i][j]);
		}
}

/* one tile of NR (4 or 1) rows and nxt (1..6) activation rows */
AI void ptile_any(int NR, int nxt, const float *p, long ldp, const float *x, long ldx, long kn, float *acc,
		  int first, int last, float *y, long ldy)
{
	switch (nxt) {
	case 6: ptile(NR, 6, p, ldp, x, ldx, kn, acc, first, last, y, ldy); break;
	case 5: ptile(NR, 5, p, ldp, x, ldx, kn, acc, first, last, y, ldy); break;
	case 4: ptile(NR, 4, p, ldp, x, ldx, kn, acc, first, last, y, ldy); break;
	case 3: ptile(NR, 3, p, ldp, x, ldx, kn, acc, first, last, y, ldy); break;
	case 2: ptile(NR, 2, p, ldp, x, ldx, kn, acc, first, last, y, ldy); break;
	default: ptile(NR, 1, p, ldp, x, ldx, kn, acc, first, last, y, ldy); break;
	}
}

/*
 * rows [n0, n1) x activation rows [0, nx) through panels.  F32 weights are
 * read in place (no panel); the others are converted into scratch (the
 * panel, then the accumulators: PANEL_FLOATS + ACC_FLOATS).
 */
#define PANEL_FLOATS ((size_t)PANEL_ROWS * KBLOCK)
#define ACC_FLOATS ((size_t)PANEL_ROWS * XTILE * 16)
AI void panels(int dt, const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx, float *y,
	       long ldy, float *scratch, const struct lut *L)
{
	long K = w->cols;
	float *panel = scratch, *accs = scratch + PANEL_FLOATS;

	for (long t0 = 0; t0 < nx; t0 += XTILE) {
		long tn = nx - t0 < XTILE ? nx - t0 : XTILE;

		for (long p0 = n0; p0 < n1; p0 += PANEL_ROWS) {
			long pn = n1 - p0 < PANEL_ROWS ? n1 - p0 : PANEL_ROWS;

			for (long k0 = 0; k0 < K; k0 += KBLOCK) {
				long kn = K - k0 < KBLOCK ? K - k0 : KBLOCK;
				int first = k0 == 0, last = k0 + kn == K;
				const float *p;
				long ldp;

				if (dt == DS_F32) {
					p = (const float *)w->data + (size_t)p0 * (size_t)w->ld + k0;
					ldp = w->ld;
				} else {
					panel_fill(dt, w, p0, pn, k0, kn, panel, L);
					p = panel;
					ldp = KBLOCK;
				}
				for (long tt = 0; tt < tn; tt += 6) {
					long nxt = tn - tt < 6 ? tn - tt : 6;
					const float *xt = x + (t0 + tt) * ldx + k0;
					float *yt = y + (t0 + tt) * ldy + (p0 - n0);
					float *at = accs + tt * PANEL_ROWS * 16;
					long i = 0;

					for (; i + 4 <= pn; i += 4)
						ptile_any(4, (int)nxt, p + i * ldp, ldp, xt, ldx, kn, at + i * nxt * 16, first, last,
							  yt + i, ldy);
					for (; i < pn; i++)
						ptile_any(1, (int)nxt, p + i * ldp, ldp, xt, ldx, kn, at + i * nxt * 16, first, last,
							  yt + i, ldy);
				}
			}
		}
	}
}

size_t ds_kernels_avx512_scratch(void)
{
	return PANEL_FLOATS + ACC_FLOATS;
}

/* Panels only pay for their conversion with several activation rows, and
 * need the scratch (F32 weights need it too, for the accumulators of long
 * rows). */
AI int use_panels(const struct ds_mat *w, long nx, const float *scratch)
{
	return nx >= DS_MATMUL_PANEL_MIN && scratch;
}

static void matmul_avx512(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			  float *y, long ldy, float *scratch)
{
	struct lut L;
	int pan = use_panels(w, nx, scratch);

	switch (w->dtype) {
	case DS_F32:
		if (pan)
			panels(DS_F32, w, n0, n1, x, ldx, nx, y, ldy, scratch, NULL);
		else
			rows(DS_F32, w, n0, n1, x, ldx, nx, y, ldy, NULL);
		break;
	case DS_BF16:
		if (pan)
			panels(DS_BF16, w, n0, n1, x, ldx, nx, y, ldy, scratch, NULL);
		else
			rows(DS_BF16, w, n0, n1, x, ldx, nx, y, ldy, NULL);
		break;
	case DS_F16:
		if (pan)
			panels(DS_F16, w, n0, n1, x, ldx, nx, y, ldy, scratch, NULL);
		else
			rows(DS_F16, w, n0, n1, x, ldx, nx, y, ldy, NULL);
		break;
	case DS_F8_E4M3:
		L = lut_load();
		if (pan)
			panels(DS_F8_E4M3, w, n0, n1, x, ldx, nx, y, ldy, scratch, &L);
		else
			rows(DS_F8_E4M3, w, n0, n1, x, ldx, nx, y, ldy, &L);
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
