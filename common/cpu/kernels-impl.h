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

/* xs[r*cols + k] = x[r*ldx + k] * S[nb][k/128] for r < nx: the activations
 * pre-scaled for the FP8 row block nb. */
void ds_fp8_prescale(const struct ds_mat *w, long nb, const float *x, long ldx, long nx, float *xs);

#endif
