/* tensor.c - dtype table and scalar conversions; see tensor.h. */
#include "tensor.h"

#include <math.h>
#include <string.h>

static const struct {
	const char *name, *shortname;
	size_t size;
	int is_float;
} dtypes[DS_DT_COUNT] = {
	[DS_F32] = { "F32", "f32", 4, 1 },
	[DS_F16] = { "F16", "f16", 2, 1 },
	[DS_BF16] = { "BF16", "bf16", 2, 1 },
	[DS_F8_E4M3] = { "F8_E4M3", "fp8", 1, 1 },
	[DS_I32] = { "I32", "i32", 4, 0 },
	[DS_I64] = { "I64", "i64", 8, 0 },
	[DS_IDVAL] = { "IDVAL", "idval", 8, 0 },
	[DS_F64] = { "F64", "f64", 8, 1 },
	[DS_I8] = { "I8", "i8", 1, 0 },
	[DS_U8] = { "U8", "u8", 1, 0 },
	[DS_I16] = { "I16", "i16", 2, 0 },
	[DS_BOOL] = { "BOOL", "bool", 1, 0 },
};

size_t ds_dtype_size(enum ds_dtype dt)
{
	return (dt > 0 && dt < DS_DT_COUNT) ? dtypes[dt].size : 0;
}

const char *ds_dtype_name(enum ds_dtype dt)
{
	return (dt > 0 && dt < DS_DT_COUNT) ? dtypes[dt].name : "?";
}

const char *ds_dtype_short(enum ds_dtype dt)
{
	return (dt > 0 && dt < DS_DT_COUNT) ? dtypes[dt].shortname : "?";
}

int ds_dtype_is_float(enum ds_dtype dt)
{
	return dt > 0 && dt < DS_DT_COUNT && dtypes[dt].is_float;
}

enum ds_dtype ds_dtype_parse(const char *s)
{
	for (int i = 1; i < DS_DT_COUNT; i++)
		if (!strcmp(s, dtypes[i].name) || !strcmp(s, dtypes[i].shortname))
			return (enum ds_dtype)i;
	return DS_DT_INVALID;
}

uint16_t ds_f32_to_bf16(float f)
{
	uint32_t u = ds_f32_bits(f);

	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);	/* quiet NaN */
	u += 0x7fffu + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

float ds_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;

	if (exp == 0x1f)
		return ds_bits_f32(sign | 0x7f800000u | (man << 13));
	if (exp == 0) {
		float v = ldexpf((float)man, -24);
		return sign ? -v : v;
	}
	return ds_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t ds_f32_to_f16(float f)
{
	uint32_t u = ds_f32_bits(f);
	uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
	float a = fabsf(f);

	if (isnan(f))
		return sign | 0x7e00;
	if (a >= 65520.0f)	/* rounds to infinity */
		return sign | 0x7c00;
	if (a < ldexpf(1.0f, -14)) {
		/* subnormal: units of 2^-24, rint gives round-half-even */
		return sign | (uint16_t)rintf(a * 16777216.0f);
	}
	u &= 0x7fffffffu;
	u += 0xfffu + ((u >> 13) & 1);
	return sign | (uint16_t)(((u >> 23) - 112) << 10 | ((u >> 13) & 0x3ff));
}

float ds_fp8_e4m3_table[256];

__attribute__((constructor)) static void fp8_table_init(void)
{
	for (int b = 0; b < 256; b++) {
		int s = b >> 7, e = (b >> 3) & 15, m = b & 7;
		float v;

		if (e == 15 && m == 7)
			v = NAN;
		else if (e == 0)
			v = ldexpf((float)m / 8.0f, -6);
		else
			v = ldexpf(1.0f + (float)m / 8.0f, e - 7);
		ds_fp8_e4m3_table[b] = s ? -v : v;
	}
}

/*
 * On the bits: for |v| >= 2^-6 (normal e4m3) adding 0x7ffff plus the lowest
 * kept bit rounds the f32 mantissa to 3 bits, nearest even, carrying into
 * the exponent when it must, and (bits >> 20) - 960 rebiases the exponent
 * from 127 to 7; codes past 0x7e (448) saturate.  Below 2^-6 the codes are
 * multiples of 2^-9, found by adding 2^23 to |v| * 512 (exact, then
 * rounded to an integer, nearest even, by the addition).  No libm, so the
 * weight generator can call it per element.
 */
uint8_t ds_f32_to_fp8_e4m3(float f)
{
	uint32_t u = ds_f32_bits(f), sign = (u >> 24) & 0x80, a = u & 0x7fffffffu, code;

	if (a > 0x7f800000u)
		return 0x7f;
	if (a == 0x7f800000u)
		return (uint8_t)(sign | 0x7e);
	if (a < 0x3c800000u) {
		float t = ds_bits_f32(a) * 512.0f;	/* exact */

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

int ds_to_f32(float *dst, const void *src, enum ds_dtype dt, size_t n)
{
	size_t i;

	switch (dt) {
	case DS_F32:
		memcpy(dst, src, n * 4);
		return 0;
	case DS_BF16:
		for (i = 0; i < n; i++)
			dst[i] = ds_bf16_to_f32(((const uint16_t *)src)[i]);
		return 0;
	case DS_F16:
		for (i = 0; i < n; i++)
			dst[i] = ds_f16_to_f32(((const uint16_t *)src)[i]);
		return 0;
	case DS_F8_E4M3:
		for (i = 0; i < n; i++)
			dst[i] = ds_fp8_e4m3_table[((const uint8_t *)src)[i]];
		return 0;
	case DS_F64:
		for (i = 0; i < n; i++)
			dst[i] = (float)((const double *)src)[i];
		return 0;
	case DS_I32:
		for (i = 0; i < n; i++)
			dst[i] = (float)((const int32_t *)src)[i];
		return 0;
	case DS_I64:
		for (i = 0; i < n; i++)
			dst[i] = (float)((const int64_t *)src)[i];
		return 0;
	case DS_I16:
		for (i = 0; i < n; i++)
			dst[i] = (float)((const int16_t *)src)[i];
		return 0;
	case DS_I8:
		for (i = 0; i < n; i++)
			dst[i] = (float)((const int8_t *)src)[i];
		return 0;
	case DS_U8:
	case DS_BOOL:
		for (i = 0; i < n; i++)
			dst[i] = (float)((const uint8_t *)src)[i];
		return 0;
	default:
		return -1;
	}
}

int ds_from_f32(void *dst, const float *src, enum ds_dtype dt, size_t n)
{
	size_t i;

	switch (dt) {
	case DS_F32:
		memcpy(dst, src, n * 4);
		return 0;
	case DS_BF16:
		for (i = 0; i < n; i++)
			((uint16_t *)dst)[i] = ds_f32_to_bf16(src[i]);
		return 0;
	case DS_F16:
		for (i = 0; i < n; i++)
			((uint16_t *)dst)[i] = ds_f32_to_f16(src[i]);
		return 0;
	case DS_F8_E4M3:
		for (i = 0; i < n; i++)
			((uint8_t *)dst)[i] = ds_f32_to_fp8_e4m3(src[i]);
		return 0;
	default:
		return -1;
	}
}

int ds_shape_numel(const int64_t *dims, int ndim, int64_t *out)
{
	int64_t n = 1;

	for (int i = 0; i < ndim; i++) {
		if (dims[i] < 0)
			return -1;
		if (dims[i] && n > INT64_MAX / dims[i])
			return -1;
		n *= dims[i];
	}
	*out = n;
	return 0;
}
