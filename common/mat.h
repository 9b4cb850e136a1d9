/*
 * mat.h - a borrowed view of one weight matrix in its checkpoint dtype (F32,
 * F16, BF16, or FP8-e4m3 with its 128x128 weight_scale_inv blocks): what
 * model.h hands every backend.  The CPU kernels (cpu/kernels.h) and the CUDA
 * upload (cuda/) both read matrices through it.
 *
 * FP8 blocks: W[n][k] = fp8(Q[n][k]) * S[n/128][k/128].
 *
 * Nothing here allocates; the data belongs to the checkpoint mapping.
 */
#ifndef DS_MAT_H
#define DS_MAT_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

#define DS_FP8_BLOCK 128	/* rows and columns of one weight_scale_inv block */

/* A borrowed view of a matrix [rows, cols], row i at data + i*ld elements. */
struct ds_mat {
	enum ds_dtype dtype;	/* DS_F32, DS_F16, DS_BF16 or DS_F8_E4M3 */
	long rows, cols;
	long ld;		/* elements from one row to the next (>= cols) */
	const void *data;
	const float *scale;	/* DS_F8_E4M3 only: [ceil(rows/128), scale_ld] */
	long scale_ld;		/* ceil(cols/128) */
	const char *name;	/* for messages; may be NULL */
};

/* Whether a matrix view is well formed (known dtype, scales present for
 * FP8, ld >= cols). */
int ds_mat_valid(const struct ds_mat *w);

/* One weight element as f32, block scale applied (slow; tests, embedding
 * rows and odd corners only). */
float ds_mat_get(const struct ds_mat *w, long n, long k);

#endif
