/*
 * kernels-avx2.c - AVX2 + FMA + F16C matrix kernels.  Only called after
 * kernels.c has checked the CPU.
 *
 * Weights become exact f32 values in registers, 32 per step as 4 x 8: F32
 * loaded, BF16 shifted, F16 through vcvtph2ps, FP8 through vcvtph2ps too:
 * the e4m3 byte with its sign at bit 15 and its other seven bits at 13..7
 * is the f16 of its value times 2^-8 (the exponent biases are 7 and 15;
 * e4m3 subnormals land on f16 subnormals, which vcvtph2ps converts
 * exactly), NaN bytes are made f16 NaNs, and the 2^8 rides on the block
 * scale: (v 2^-8)(2^8 s) rounds the same exact product v s once, so the
 * weight has the bits of tensor.h's table value times the scale
 * (kernels.h) at a fraction of a table gather's cost.
 *
 * Two ways through a product, with the same arithmetic for every output:
 *  - rows (fewer than DS_MATMUL_PANEL_MIN activation rows: decode, short
 *    verify passes): tiles of up to 4 weight rows x 3 activation rows
 *    convert the weights as they stream in, once per tile;
 *  - panels (more rows, or no scratch): PANEL_ROWS weight rows x KBLOCK
 *    columns are converted once into an f32 panel in the scratch and used
 *    by up to XTILE activation rows, in register tiles of 4 x 3 (12
 *    accumulators), the accumulators kept in the scratch between blocks.
 * In both, the accumulator of an output has 8 lanes; lane l adds w[k] *
 * x[k] for k = l, l+8, ... in ascending k, one fused multiply-add each,
 * then 0 * 0 for the lanes of the columns up to the next multiple of 32
 * (both ways pad to 32, so even a sum of negative zeros ends the same),
 * and the lanes are summed in one fixed order (hsum).  So an output's bits
 * depend only on its weight row and activation row.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels-impl.h"

#define AI static inline __attribute__((always_inline))

/* a row tile steps 32 columns at a time and takes its FP8 block scales at
 * the first step of each block */
_Static_assert(DS_FP8_BLOCK % 32 == 0, "FP8 blocks are whole 32-column steps");

#define PANEL_ROWS 16	/* weight rows converted together (multiple of 4) */
#define KBLOCK 256	/* columns per panel block (multiple of 128: one FP8 scale each 128) */
#define XTILE 96	/* activation rows per panel pass (multiple of 3) */
#define PANEL_FLOATS ((size_t)PANEL_ROWS * KBLOCK)
#define ACC_FLOATS ((size_t)PANEL_ROWS * XTILE * 8)
#define XPAD_FLOATS ((size_t)XTILE * KBLOCK)

/* 16 e4m3 bytes as floats times 2^-8, exactly (see the top) - NaN bytes
 * too when `exact`; without it they become finite values, which only
 * bytes that are not NaN may take (see nan_seen). */
AI void fp8x16(const uint8_t *p, __m256 *lo, __m256 *hi, int exact)
{
	/* sign-extended and shifted by 7: the sign at bits 15 and 14, the rest at 13..7 */
	__m256i t = _mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)p)), 7);
	__m256i h = _mm256_and_si256(t, _mm256_set1_epi16((short)0xBFFF));

	if (exact) {
		__m256i nan = _mm256_cmpeq_epi16(_mm256_and_si256(t, _mm256_set1_epi16(0x3F80)), _mm256_set1_epi16(0x3F80));

		h = _mm256_or_si256(h, _mm256_and_si256(nan, _mm256_set1_epi16(0x7C00)));
	}
	*lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
	*hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
}

/*
 * The NaN fix is a sixth of an FP8 tile's work, and NaN bytes (0x7f,
 * 0xff) do not occur in real checkpoints, so the FP8 tiles and panel rows
 * convert without it while keeping, per 32 (16) bytes, the byte-wise
 * maximum of byte | 0x80 - which is 0xff exactly for a NaN byte - and do
 * their work again the exact way if one came by.  Either way every output
 * gets the exact way's bits.
 */
AI __m256i nan_watch32(__m256i seen, const uint8_t *p)
{
	return _mm256_max_epu8(seen, _mm256_or_si256(_mm256_loadu_si256((const __m256i *)p), _mm256_set1_epi8((char)0x80)));
}

AI __m128i nan_watch16(__m128i seen, const uint8_t *p)
{
	return _mm_max_epu8(seen, _mm_or_si128(_mm_loadu_si128((const __m128i *)p), _mm_set1_epi8((char)0x80)));
}

AI int nan_seen(__m256i seen)
{
	return _mm256_movemask_epi8(_mm256_cmpeq_epi8(seen, _mm256_set1_epi8((char)0xFF))) != 0;
}

AI int nan_seen16(__m128i seen)
{
	return _mm_movemask_epi8(_mm_cmpeq_epi8(seen, _mm_set1_epi8((char)0xFF))) != 0;
}

/* Weights k..k+15 of a row as floats (FP8: unscaled, times 2^-8; NaN
 * bytes exact only when `exact`). */
AI void load16x(int dt, const void *row, long k, __m256 *lo, __m256 *hi, int exact)
{
	if (dt == DS_F32) {
		const float *p = (const float *)row + k;

		*lo = _mm256_loadu_ps(p);
		*hi = _mm256_loadu_ps(p + 8);
	} else if (dt == DS_BF16 || dt == DS_F16) {
		const uint16_t *p = (const uint16_t *)row + k;
		__m128i a = _mm_loadu_si128((const __m128i *)p), b = _mm_loadu_si128((const __m128i *)(p + 8));

		if (dt == DS_BF16) {
			*lo = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(a), 16));
			*hi = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16));
		} else {
			*lo = _mm256_cvtph_ps(a);
			*hi = _mm256_cvtph_ps(b);
		}
	} else {
		fp8x16((const uint8_t *)row + k, lo, hi, exact);
	}
}

AI void load16(int dt, const void *row, long k, __m256 *lo, __m256 *hi)
{
	load16x(dt, row, k, lo, hi, 1);
}

/* What FP8 weights loaded by load16 are multiplied by: the block scale of
 * row n, column k, times 2^8 (exact). */
AI float fp8_scale256(const struct ds_mat *m, long n, long k)
{
	return m->scale[(n / DS_FP8_BLOCK) * m->scale_ld + k / DS_FP8_BLOCK] * 256.0f;
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

/* ---- rows: weights converted in registers as they stream in ---- */

/* Returns 1, writing nothing, when `fast` met a NaN byte (FP8). */
AI int tile(int dt, int NR, int NX, int fast, const struct ds_mat *m, long n, const uint8_t *w, size_t wstride,
	    const float *x, long ldx, long K, float *y, long ldy)
{
	__m256 acc[4][3], scv[4];
	__m256i seen = _mm256_setzero_si256();
	long k = 0;

	fast = fast && dt == DS_F8_E4M3;
#pragma GCC unroll 4
	for (int i = 0; i < NR; i++) {
		scv[i] = _mm256_setzero_ps();
#pragma GCC unroll 3
		for (int j = 0; j < NX; j++)
			acc[i][j] = _mm256_setzero_ps();
	}
	for (; k + 32 <= K; k += 32) {
		/* FP8: ask for the next tile's rows, a line each every other
		 * step (see rows()) */
		if (dt == DS_F8_E4M3 && !(k & 32))
#pragma GCC unroll 4
			for (int i = 0; i < NR; i++)
				_mm_prefetch((const char *)w + (size_t)(NR + i) * wstride + k, _MM_HINT_T0);
		if (fast)
#pragma GCC unroll 4
			for (int i = 0; i < NR; i++)
				seen = nan_watch32(seen, w + i * wstride + k);
		/* FP8: the rows' block scales, once per block of columns (the
		 * index arithmetic per step cost more than the multiply) */
		if (dt == DS_F8_E4M3 && !(k % DS_FP8_BLOCK))
#pragma GCC unroll 4
			for (int i = 0; i < NR; i++)
				scv[i] = _mm256_set1_ps(fp8_scale256(m, n + i, k));
#pragma GCC unroll 2
		for (int h = 0; h < 32; h += 16) {
#pragma GCC unroll 4
			for (int i = 0; i < NR; i++) {
				__m256 w0, w1;

				load16x(dt, w + i * wstride, k + h, &w0, &w1, !fast);
				if (dt == DS_F8_E4M3) {
					w0 = _mm256_mul_ps(w0, scv[i]);
					w1 = _mm256_mul_ps(w1, scv[i]);
				}
#pragma GCC unroll 3
				for (int j = 0; j < NX; j++) {
					acc[i][j] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + j * ldx + k + h), acc[i][j]);
					acc[i][j] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + j * ldx + k + h + 8), acc[i][j]);
				}
			}
		}
	}
	if (fast && nan_seen(seen))
		return 1;
	if (k < K) {
		float wt[32], xt[3][32];

#pragma GCC unroll 3
		for (int j = 0; j < NX; j++) {
			memset(xt[j], 0, sizeof(xt[j]));
			memcpy(xt[j], x + j * ldx + k, (size_t)(K - k) * sizeof(float));
		}
		for (int i = 0; i < NR; i++) {
			tail_weights(dt, m, n + i, w + i * wstride, k, K - k, wt);
#pragma GCC unroll 3
			for (int j = 0; j < NX; j++)
#pragma GCC unroll 4
				for (int c = 0; c < 4; c++)
					acc[i][j] = _mm256_fmadd_ps(_mm256_loadu_ps(wt + 8 * c), _mm256_loadu_ps(xt[j] + 8 * c),
								    acc[i][j]);
		}
	}
#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 3
		for (int j = 0; j < NX; j++)
			y[j * ldy + i] = hsum(acc[i][j]);
	return 0;
}

/* one tile of NR (4 or 1) weight rows and nx (1..3) activation rows: the
 * fast way, and the exact one where that met a NaN byte */
AI void tile_nx(int dt, int NR, int NX, const struct ds_mat *m, long n, const uint8_t *w, size_t wstride,
		const float *x, long ldx, long K, float *y, long ldy)
{
	if (tile(dt, NR, NX, 1, m, n, w, wstride, x, ldx, K, y, ldy))
		tile(dt, NR, NX, 0, m, n, w, wstride, x, ldx, K, y, ldy);
}

AI void tile_any(int dt, int NR, long nx, const struct ds_mat *m, long n, const uint8_t *w, size_t wstride,
		 const float *x, long ldx, long K, float *y, long ldy)
{
	if (nx == 3)
		tile_nx(dt, NR, 3, m, n, w, wstride, x, ldx, K, y, ldy);
	else if (nx == 2)
		tile_nx(dt, NR, 2, m, n, w, wstride, x, ldx, K, y, ldy);
	else
		tile_nx(dt, NR, 1, m, n, w, wstride, x, ldx, K, y, ldy);
}

/*
 * Rows [n0, n1) tile by tile.  An FP8 tile streams four rows of only
 * cols bytes each (2 KB at V2-Lite's width): short streams, which the
 * hardware prefetcher has barely learnt before they end, so a tile asks
 * for the next tile's rows while it runs (measured on Zen 3, 2 threads,
 * 96 FP8 1408 x 2048 matrices from DRAM: 10.1 -> 14 G weights/s; BF16,
 * with rows twice as long, gained nothing and does not ask).  A request
 * past the matrix is harmless: prefetches never fault.
 */
AI void rows(int dt, const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
	     float *y, long ldy)
{
	size_t ws = (size_t)w->ld * ds_dtype_size(w->dtype);
	const uint8_t *base = (const uint8_t *)w->data;
	long K = w->cols;

	for (long r0 = 0; r0 < nx; r0 += 3) {	/* the activation rows of one tile */
		long nr = nx - r0 < 3 ? nx - r0 : 3;
		const float *xr = x + r0 * ldx;
		float *yr = y + r0 * ldy;
		long n = n0;

		for (; n + 4 <= n1; n += 4)
			tile_any(dt, 4, nr, w, n, base + (size_t)n * ws, ws, xr, ldx, K, yr + (n - n0), ldy);
		for (; n < n1; n++)
			tile_any(dt, 1, nr, w, n, base + (size_t)n * ws, ws, xr, ldx, K, yr + (n - n0), ldy);
	}
}

/* ---- panels: weights converted once per block, reused by many rows ---- */

/* Ask for the weight bytes of rows p0..p0+pn-1, columns k0..k0+KBLOCK-1
 * (clipped to the row): a panel reads 16 short runs, which the hardware
 * prefetcher does not follow well, so each fill requests the next. */
AI void panel_prefetch(const struct ds_mat *w, long p0, long pn, long k0)
{
	size_t es = ds_dtype_size(w->dtype), ws = (size_t)w->ld * es;
	long kn = w->cols - k0 < KBLOCK ? w->cols - k0 : KBLOCK;

	for (long i = 0; i < pn; i++) {
		const char *row = (const char *)w->data + (size_t)(p0 + i) * ws + (size_t)k0 * es;

		for (size_t b = 0; b < (size_t)kn * es; b += 64)
			_mm_prefetch(row + b, _MM_HINT_T0);
	}
}

/* Columns k0.. of row n (at `row`) as f32 kernel weights into o, 16 at a
 * time as far as they go; returns the columns done, or -1 when not
 * `exact` and a NaN byte came by (see nan_watch32). */
AI long fill_row(int dt, const struct ds_mat *w, long n, const uint8_t *row, long k0, long kn, float *o, int exact)
{
	__m128i seen = _mm_setzero_si128();
	long k = 0;

	for (; k + 16 <= kn; k += 16) {
		__m256 a, b;

		if (!exact)
			seen = nan_watch16(seen, row + k0 + k);
		load16x(dt, row, k0 + k, &a, &b, exact);
		if (dt == DS_F8_E4M3) {
			__m256 sc = _mm256_set1_ps(fp8_scale256(w, n, k0 + k));

			a = _mm256_mul_ps(a, sc);
			b = _mm256_mul_ps(b, sc);
		}
		_mm256_storeu_ps(o + k, a);
		_mm256_storeu_ps(o + k + 8, b);
	}
	return !exact && nan_seen16(seen) ? -1 : k;
}

/* Rows p0..p0+pn-1, columns k0..k0+kn-1 of w as f32 kernel weights into
 * panel (KBLOCK floats a row), zero up to column kpad; then the prefetch
 * of the block after it (the next columns, or the next rows' first). */
AI void panel_fill(int dt, const struct ds_mat *w, long p0, long pn, long n1, long k0, long kn, long kpad,
		   float *panel)
{
	size_t ws = (size_t)w->ld * ds_dtype_size(w->dtype);

	if (k0 + kn < w->cols)
		panel_prefetch(w, p0, pn, k0 + kn);
	else if (p0 + pn < n1)
		panel_prefetch(w, p0 + pn, n1 - p0 - pn < PANEL_ROWS ? n1 - p0 - pn : PANEL_ROWS, 0);
	for (long i = 0; i < pn; i++) {
		const uint8_t *row = (const uint8_t *)w->data + (size_t)(p0 + i) * ws;
		float *o = panel + i * KBLOCK;
		long k = dt == DS_F8_E4M3 ? fill_row(dt, w, p0 + i, row, k0, kn, o, 0) : -1;

		if (k < 0)	/* not FP8, or a NaN byte met: the exact way */
			k = fill_row(dt, w, p0 + i, row, k0, kn, o, 1);
		for (; k < kn; k++)
			o[k] = dt == DS_F8_E4M3 ? ds_fp8_weight(w, p0 + i, k0 + k) : ds_weight_f32(dt, row, k0 + k);
		for (; k < kpad; k++)
			o[k] = 0;
	}
}

/* NR (4 or 1) panel rows x NX (1..3) activation rows over kn (a multiple
 * of 8) columns; the accumulators start at zero (first) or from acc, and
 * end as outputs (last) or back in acc. */
AI void ptile(int NR, int NX, const float *p, const float *x, long ldx, long kn, float *acc, int first, int last,
	      float *y, long ldy)
{
	__m256 a[4][3];

#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 3
		for (int j = 0; j < NX; j++)
			a[i][j] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + (i * NX + j) * 8);
	for (long k = 0; k < kn; k += 8) {
		__m256 xv[3];

#pragma GCC unroll 3
		for (int j = 0; j < NX; j++)
			xv[j] = _mm256_loadu_ps(x + j * ldx + k);
#pragma GCC unroll 4
		for (int i = 0; i < NR; i++) {
			__m256 wv = _mm256_loadu_ps(p + i * KBLOCK + k);

#pragma GCC unroll 3
			for (int j = 0; j < NX; j++)
				a[i][j] = _mm256_fmadd_ps(wv, xv[j], a[i][j]);
		}
	}
#pragma GCC unroll 4
	for (int i = 0; i < NR; i++)
#pragma GCC unroll 3
		for (int j = 0; j < NX; j++) {
			if (last)
				y[j * ldy + i] = hsum(a[i][j]);
			else
				_mm256_storeu_ps(acc + (i * NX + j) * 8, a[i][j]);
		}
}

AI void ptile_any(int NR, int nxt, const float *p, const float *x, long ldx, long kn, float *acc, int first,
		  int last, float *y, long ldy)
{
	if (nxt == 3)
		ptile(NR, 3, p, x, ldx, kn, acc, first, last, y, ldy);
	else if (nxt == 2)
		ptile(NR, 2, p, x, ldx, kn, acc, first, last, y, ldy);
	else
		ptile(NR, 1, p, x, ldx, kn, acc, first, last, y, ldy);
}

/*
 * Rows [n0, n1) x activation rows [0, nx) through panels.  The scratch
 * holds the panel, the accumulators and a zero-padded copy of the
 * activations' last column block when K is not a multiple of 32.
 */
AI void panels(int dt, const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx, float *y,
	       long ldy, float *scratch)
{
	long K = w->cols, klast = (K - 1) / KBLOCK * KBLOCK, lastkn = K - klast, lastpad = (lastkn + 31) & ~31L;
	float *panel = scratch, *accs = scratch + PANEL_FLOATS, *xpad = accs + ACC_FLOATS;
	int ragged = lastpad != lastkn;

	for (long t0 = 0; t0 < nx; t0 += XTILE) {
		long tn = nx - t0 < XTILE ? nx - t0 : XTILE;

		if (ragged)
			for (long r = 0; r < tn; r++) {
				memcpy(xpad + r * KBLOCK, x + (t0 + r) * ldx + klast, (size_t)lastkn * sizeof(float));
				memset(xpad + r * KBLOCK + lastkn, 0, (size_t)(lastpad - lastkn) * sizeof(float));
			}
		for (long p0 = n0; p0 < n1; p0 += PANEL_ROWS) {
			long pn = n1 - p0 < PANEL_ROWS ? n1 - p0 : PANEL_ROWS;

			for (long k0 = 0; k0 < K; k0 += KBLOCK) {
				long kn = K - k0 < KBLOCK ? K - k0 : KBLOCK, kpad = (kn + 31) & ~31L;
				int first = k0 == 0, last = k0 + kn == K;
				const float *xb = x + t0 * ldx + k0;
				long ldb = ldx;

				if (last && ragged) {
					xb = xpad;
					ldb = KBLOCK;
				}
				panel_fill(dt, w, p0, pn, n1, k0, kn, kpad, panel);
				for (long tt = 0; tt < tn; tt += 3) {
					long nxt = tn - tt < 3 ? tn - tt : 3;
					const float *xt = xb + tt * ldb;
					float *yt = y + (t0 + tt) * ldy + (p0 - n0);
					float *at = accs + tt * PANEL_ROWS * 8;
					long i = 0;

					for (; i + 4 <= pn; i += 4)
						ptile_any(4, (int)nxt, panel + i * KBLOCK, xt, ldb, kpad, at + i * nxt * 8, first,
							  last, yt + i, ldy);
					for (; i < pn; i++)
						ptile_any(1, (int)nxt, panel + i * KBLOCK, xt, ldb, kpad, at + i * nxt * 8, first,
							  last, yt + i, ldy);
				}
			}
		}
	}
}

size_t ds_kernels_avx2_scratch(void)
{
	return PANEL_FLOATS + ACC_FLOATS + XPAD_FLOATS;
}

AI void product(int dt, const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx, float *y,
		long ldy, float *scratch)
{
	if (nx >= DS_MATMUL_PANEL_MIN && scratch)
		panels(dt, w, n0, n1, x, ldx, nx, y, ldy, scratch);
	else
		rows(dt, w, n0, n1, x, ldx, nx, y, ldy);
}

static void matmul_avx2(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			float *y, long ldy, float *scratch)
{
	switch (w->dtype) {
	case DS_F32:
		product(DS_F32, w, n0, n1, x, ldx, nx, y, ldy, scratch);
		break;
	case DS_BF16:
		product(DS_BF16, w, n0, n1, x, ldx, nx, y, ldy, scratch);
		break;
	case DS_F16:
		product(DS_F16, w, n0, n1, x, ldx, nx, y, ldy, scratch);
		break;
	case DS_F8_E4M3:
		product(DS_F8_E4M3, w, n0, n1, x, ldx, nx, y, ldy, scratch);
		break;
	default:
		break;
	}
}

/* y[0..J) += c * row (FP8: times the block scales s), 32 at a time */
AI void axpy_row(int dt, const void *row, long J, float c, const float *s, float *y)
{
	long j = 0;

	for (; j + 32 <= J; j += 32) {
		/* FP8: the coefficient rounded once, as in the tail, times 2^8 */
		__m256 cv = _mm256_set1_ps(dt == DS_F8_E4M3 ? (c * s[j / DS_FP8_BLOCK]) * 256.0f : c);

#pragma GCC unroll 2
		for (int h = 0; h < 32; h += 16) {
			__m256 w0, w1;

			load16(dt, row, j + h, &w0, &w1);
			_mm256_storeu_ps(y + j + h, _mm256_fmadd_ps(cv, w0, _mm256_loadu_ps(y + j + h)));
			_mm256_storeu_ps(y + j + h + 8, _mm256_fmadd_ps(cv, w1, _mm256_loadu_ps(y + j + h + 8)));
		}
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
