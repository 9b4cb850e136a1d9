/*
 * fastcvt.c - the run-time choice of the AVX2 conversions, and scalar loops
 * over tensor.h's conversions for the rest; see fastcvt.h.
 */
#include "fastcvt.h"

#include "cpufeat.h"
#include "tensor.h"

void ds_cvt_fp8_scalar(uint8_t *dst, const float *src, size_t n, float mult)
{
	for (size_t i = 0; i < n; i++) {
		float v = src[i] * mult;
		dst[i] = ds_f32_to_fp8_e4m3(v);
	}
}

void ds_cvt_bf16_scalar(uint16_t *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = ds_f32_to_bf16(src[i]);
}

float ds_cvt_absmax_scalar(const float *src, size_t n)
{
	uint32_t m = 0;

	/* for finite floats the order of |x| is the order of their bits */
	for (size_t i = 0; i < n; i++) {
		uint32_t a = ds_f32_bits(src[i]) & 0x7fffffffu;
		if (a < 0x7f800000u && a > m)
			m = a;
	}
	return ds_bits_f32(m);
}

void ds_cvt_fp8(uint8_t *dst, const float *src, size_t n, float mult)
{
	if (ds_cpu_has_avx2())
		ds_cvt_fp8_avx2(dst, src, n, mult);
	else
		ds_cvt_fp8_scalar(dst, src, n, mult);
}

void ds_cvt_bf16(uint16_t *dst, const float *src, size_t n)
{
	if (ds_cpu_has_avx2())
		ds_cvt_bf16_avx2(dst, src, n);
	else
		ds_cvt_bf16_scalar(dst, src, n);
}

float ds_cvt_absmax(const float *src, size_t n)
{
	return ds_cpu_has_avx2() ? ds_cvt_absmax_avx2(src, n) : ds_cvt_absmax_scalar(src, n);
}
