/*
 * fp8.c - e4m3 block quantisation; see fp8.h.  The per-element work (block
 * maxima and encoding) is fastcvt's, vectorised where the CPU allows.
 */
#include "fp8.h"

#include <math.h>
#include <string.h>

#include "fastcvt.h"
#include "tensor.h"

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
		for (size_t r = r0; r < r1; r++)
			for (size_t j = 0; j < nbc; j++) {
				size_t c0 = j * bc, c1 = c0 + bc < cols ? c0 + bc : cols;
				float m = ds_cvt_absmax(x + r * cols + c0, c1 - c0);
				srow[j] = m > srow[j] ? m : srow[j];
			}
		for (size_t j = 0; j < nbc; j++)
			srow[j] = block_scale(srow[j], ue8m0);
		for (size_t r = r0; r < r1; r++)
			for (size_t j = 0; j < nbc; j++) {
				size_t c0 = j * bc, c1 = c0 + bc < cols ? c0 + bc : cols;
				ds_cvt_fp8(q + r * cols + c0, x + r * cols + c0, c1 - c0, 1.0f / srow[j]);
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
