/*
 * fp8.c - e4m3 block quantisation; see fp8.h.
 *
 * The encoder works on the bits: for |v| >= 2^-6 (normal e4m3) adding
 * 0x7ffff plus the lowest kept bit rounds the f32 mantissa to 3 bits, nearest
 * even, carrying into the exponent when it must, and (bits >> 20) - 960
 * rebiases the exponent from 127 to 7.  Below 2^-6 the codes are multiples
 * of 2^-9, found by adding 2^23 to v * 512 (exact, then rounded to an
 * integer by the addition).  Codes past 0x7e (448) saturate.  Non-finite
 * input takes the scalar path in tensor.c.
 */
#include "fp8.h"

#include <math.h>
#include <string.h>

#include "tensor.h"

static inline uint8_t encode1(float v)
{
	uint32_t u = ds_f32_bits(v), sign = (u >> 24) & 0x80, a = u & 0x7fffffffu, code;

	if (a < 0x3c800000u) {			/* below 2^-6 */
		float t = ds_bits_f32(a) * 512.0f;
		t = t + 8388608.0f;
		code = ds_f32_bits(t) - 0x4b000000u;
	} else {
		a += 0x7ffffu + ((a >> 20) & 1);
		code = (a >> 20) - 960;
		if (code > 0x7e)
			code = 0x7e;
	}
	return (uint8_t)(sign | code);
}

void ds_fp8_encode(const float *x, size_t n, float mult, uint8_t *q)
{
	for (size_t i = 0; i < n; i++) {
		float v = x[i] * mult;
		q[i] = isfinite(v) ? encode1(v) : ds_f32_to_fp8_e4m3(v);
	}
}

static float block_scale(float amax, int ue8m0)
{
	float s;
	int e;

	if (!(amax > 0) || !isfinite(amax))
		return 1.0f;
	s = amax / 448.0f;
	if (ue8m0) {
		float m = frexpf(s, &e);	/* s = m * 2^e, m in [0.5, 1) */
		s = ldexpf(1.0f, m == 0.5f ? e - 1 : e);
	}
	return s;
}

void ds_fp8_quantize(const float *x, size_t rows, size_t cols, size_t br, size_t bc, int ue8m0,
		     uint8_t *q, float *scale_inv)
{
	size_t nbc = (cols + bc - 1) / bc;

	for (size_t r0 = 0; r0 < rows; r0 += br) {
		size_t r1 = r0 + br < rows ? r0 + br : rows;
		float *srow = scale_inv + (r0 / br) * nbc;

		for (size_t j = 0; j < nbc; j++)
			srow[j] = 0;
		/* amax per block column, finite values only */
		for (size_t r = r0; r < r1; r++) {
			const float *xr = x + r * cols;
			for (size_t j = 0; j < nbc; j++) {
				size_t c1 = (j + 1) * bc < cols ? (j + 1) * bc : cols;
				float m = srow[j];
				for (size_t c = j * bc; c < c1; c++) {
					float a = fabsf(xr[c]);
					m = a > m && a <= 3.4028235e38f ? a : m;
				}
				srow[j] = m;
			}
		}
		for (size_t j = 0; j < nbc; j++)
			srow[j] = block_scale(srow[j], ue8m0);
		for (size_t r = r0; r < r1; r++)
			for (size_t j = 0; j < nbc; j++) {
				size_t c0 = j * bc, c1 = c0 + bc < cols ? c0 + bc : cols;
				ds_fp8_encode(x + r * cols + c0, c1 - c0, 1.0f / srow[j], q + r * cols + c0);
			}
	}
}

void ds_fp8_dequantize(const uint8_t *q, const float *scale_inv, size_t rows, size_t cols,
		       size_t br, size_t bc, float *out)
{
	size_t nbc = (cols + bc - 1) / bc;

	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < cols; c++)
			out[r * cols + c] = ds_fp8_e4m3_to_f32(q[r * cols + c]) * scale_inv[(r / br) * nbc + c / bc];
}
