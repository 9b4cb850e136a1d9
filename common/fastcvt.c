/*
 * fastcvt.c - scalar conversions and the run-time choice of the AVX2 ones;
 * see fastcvt.h.
 *
 * The e4m3 encoder works on the bits: for |v| >= 2^-6 (normal e4m3) adding
 * 0x7ffff plus the lowest kept bit rounds the f32 mantissa to 3 bits,
 * nearest even, carrying into the exponent when it must, and (bits >> 20)
 * - 960 rebiases the exponent from 127 to 7.  Below 2^-6 the codes are
 * multiples of 2^-9, found by adding 2^23 to v * 512 (exact, then rounded
 * to an integer by the addition).  Codes past 0x7e (448) saturate.
 * Non-finite values take tensor.c's scalar routine.
 */
#include "fastcvt.h"

#include <math.h>

#include "cpufeat.h"
#include "tensor.h"

static inline uint8_t fp8_one(float v)
{
	uint32_t u = ds_f32_bits(v), sign = (u >> 24) & 0x80, a = u & 0x7fffffffu, code;

	if (a >= 0x7f800000u)
		return ds_f32_to_fp8_e4m3(v);
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

void ds_cvt_fp8_scalar(uint8_t *dst, const float *src, size_t n, float mult)
{
	for (size_t i = 0; i < n; i++) {
		float v = src[i] * mult;
		dst[i] = fp8_one(v);
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
