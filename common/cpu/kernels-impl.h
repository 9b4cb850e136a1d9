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

/* The FP8 weight as every kernel uses it: byte value times block scale,
 * one f32 rounding (kernels.h). */
static inline float ds_fp8_weight(const struct ds_mat *w, long n, long k)
{
	return ds_fp8_e4m3_table[((const uint8_t *)w->data)[(size_t)n * (size_t)w->ld + (size_t)k]] *
	       w->scale[(n / DS_FP8_BLOCK) * w->scale_ld + k / DS_FP8_BLOCK];
}

#if defined(__x86_64__)
/* Floats of scratch the AVX-512 and AVX2 panels use (a weight panel, its
 * accumulators; AVX2: and a padded activation block). */
size_t ds_kernels_avx512_scratch(void);
size_t ds_kernels_avx2_scratch(void);
#endif

#endif
