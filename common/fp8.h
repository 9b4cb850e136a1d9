/*
 * fp8.h - FP8 (e4m3fn) block quantisation of weight matrices, as in
 * DeepSeek-V3's checkpoints (../shared/docs/deepseek-v3-model.md 2.3).
 *
 * A row-major f32 matrix [rows, cols] becomes e4m3 codes [rows, cols] and a
 * row-major f32 `scale_inv` [ceil(rows/br), ceil(cols/bc)] such that
 * W[i][j] ~= e4m3(q[i][j]) * scale_inv[i/br][j/bc].  Each block's scale is
 * amax/448 over the block (edge blocks cover only the rows and columns that
 * exist, which is what zero padding to the full block gives); with ue8m0 it
 * is rounded up to a power of two (V3.1's scale_fmt).  A block of zeros gets
 * scale 1.  Codes round to nearest even and saturate at +-448; NaN becomes
 * 0x7f and infinities saturate, and such a block's scale comes from its
 * finite values only.
 *
 * No allocation; the caller owns every buffer.
 */
#ifndef DS_FP8_H
#define DS_FP8_H

#include <stddef.h>
#include <stdint.h>

/* Quantise x [rows, cols] into q [rows, cols] and scale_inv
 * [ceil(rows/br), ceil(cols/bc)].  br, bc >= 1. */
void ds_fp8_quantize(const float *x, size_t rows, size_t cols, size_t br, size_t bc, int ue8m0,
		     uint8_t *q, float *scale_inv);

/* The inverse: out [rows, cols] = e4m3(q) * scale_inv of the block. */
void ds_fp8_dequantize(const uint8_t *q, const float *scale_inv, size_t rows, size_t cols,
		       size_t br, size_t bc, float *out);

#endif
