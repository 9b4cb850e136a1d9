/*
 * mat.c - checking a weight view and reading single elements (mat.h).
 */
#include "mat.h"

int ds_mat_valid(const struct ds_mat *w)
{
	if (!w || !w->data || w->rows < 0 || w->cols < 0 || w->ld < w->cols)
		return 0;
	switch (w->dtype) {
	case DS_F32:
	case DS_F16:
	case DS_BF16:
		return 1;
	case DS_F8_E4M3:
		return w->scale && w->scale_ld == (w->cols + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK;
	default:
		return 0;
	}
}

float ds_mat_get(const struct ds_mat *w, long n, long k)
{
	size_t i = (size_t)n * (size_t)w->ld + (size_t)k;

	switch (w->dtype) {
	case DS_F32:
		return ((const float *)w->data)[i];
	case DS_F16:
		return ds_f16_to_f32(((const uint16_t *)w->data)[i]);
	case DS_BF16:
		return ds_bf16_to_f32(((const uint16_t *)w->data)[i]);
	case DS_F8_E4M3:
		return ds_fp8_e4m3_table[((const uint8_t *)w->data)[i]] *
		       w->scale[(n / DS_FP8_BLOCK) * w->scale_ld + k / DS_FP8_BLOCK];
	default:
		return 0;
	}
}
