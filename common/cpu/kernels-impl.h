/*
 * kernels-impl.h - what the kernel files (kernels.c, kernels-avx2.c,
 * kernels-avx512.c) share and nobody else needs.
 */
#ifndef DS_KERNELS_IMPL_H
#define DS_KERNELS_IMPL_H

#include "kernels.h"

/* High and low byte of the bf16 pattern of every non-negative e4m3 byte
 * (every e4m3 value is exactly a bf16); filled before any kernel set is
 * handed out. */
extern uint8_t ds_fp8_bf16_hi[128], ds_fp8_bf16_lo[128];

/* Weight element k of a row of dtype dt as f32, exact (FP8: the unscaled
 * byte, through tensor.h's table). */
static inline float ds_weight_f32(int dt, const void *row, long k)
{
	switch (dt) {
	case DS_F32:
		return ((const float *)row)[k];
	case DS_F16:
		return ds_f16_to_f32(((const uint16_t *)row)[k]);
	case DS_BF16:
		return ds_bf16_to_f32(((const uint16_t *)row)[k]);
	default:
		return ds_fp8_e4m3_table[((const uint8_t *)row)[k]];
	}
}

/* A kernel set's product of FP8 weight rows n0 <= n < n1 (within one
 * 128-row block) with nx <= DS_MATMUL_XCHUNK activation rows already
 * scaled for that block: y[r*ldy + (n - n0)] = x[r] . fp8(Q[n]).  ctx is
 * the kernel set's own (may be NULL). */
typedef void ds_fp8_rows_fn(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx,
			    float *y, long ldy, const void *ctx);

/* The FP8 product every kernel set shares: for each 128-row block nb of
 * [n0, n1) and each chunk of up to DS_MATMUL_XCHUNK activation rows, the
 * activations pre-scaled into scratch (xs[r*cols + k] = x[r*ldx + k] *
 * S[nb][k/128]), then `rows` on them. */
void ds_fp8_matmul(const struct ds_mat *w, long n0, long n1, const float *x, long ldx, long nx, float *y,
		   long ldy, float *scratch, ds_fp8_rows_fn *rows, const void *ctx);

#endif
