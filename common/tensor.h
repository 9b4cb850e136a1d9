/*
 * tensor.h - element types and the scalar conversions between them.
 *
 * One dtype enumeration serves the safetensors loader and the frame stream.
 * The numeric values are part of the stream format (man/ds-stream.5): never
 * renumber, only append.  Conversions are exact where the target can hold
 * the value and round to nearest even otherwise.
 */
#ifndef DS_TENSOR_H
#define DS_TENSOR_H

#include <stddef.h>
#include <stdint.h>

enum ds_dtype {
	DS_DT_INVALID = 0,
	DS_F32 = 1,
	DS_F16 = 2,
	DS_BF16 = 3,
	DS_F8_E4M3 = 4,	/* float8_e4m3fn: bias 7, no infinities, 0x7f/0xff NaN */
	DS_I32 = 5,
	DS_I64 = 6,
	DS_IDVAL = 7,	/* stream only: { int32 id; float32 value }, e.g. expert + weight */
	DS_F64 = 8,
	DS_I8 = 9,
	DS_U8 = 10,
	DS_I16 = 11,
	DS_BOOL = 12,
	DS_DT_COUNT
};

#define DS_MAX_DIMS 8

/* Bytes per element; 0 for DS_DT_INVALID or out of range. */
size_t ds_dtype_size(enum ds_dtype dt);
/* The safetensors spelling ("F32", "BF16", "F8_E4M3", ...); "IDVAL" for
 * DS_IDVAL; "?" for an invalid value. */
const char *ds_dtype_name(enum ds_dtype dt);
/* Lower-case short name for people ("f32", "bf16", "fp8", "i32", ...). */
const char *ds_dtype_short(enum ds_dtype dt);
/* Parse either spelling; DS_DT_INVALID when unknown. */
enum ds_dtype ds_dtype_parse(const char *s);
/* Whether the type is a float type that ds_to_f32() converts. */
int ds_dtype_is_float(enum ds_dtype dt);

static inline float ds_bits_f32(uint32_t u)
{
	union { uint32_t u; float f; } v = { .u = u };
	return v.f;
}

static inline uint32_t ds_f32_bits(float f)
{
	union { float f; uint32_t u; } v = { .f = f };
	return v.u;
}

static inline float ds_bf16_to_f32(uint16_t h)
{
	return ds_bits_f32((uint32_t)h << 16);
}

/* Round to nearest even; NaN stays NaN (quiet). */
uint16_t ds_f32_to_bf16(float f);
float ds_f16_to_f32(uint16_t h);
uint16_t ds_f32_to_f16(float f);
/* Table-driven: every e4m3fn byte decodes exactly. */
extern float ds_fp8_e4m3_table[256];
static inline float ds_fp8_e4m3_to_f32(uint8_t b)
{
	return ds_fp8_e4m3_table[b];
}
/* Round to nearest even, saturating to +-448 (values beyond it, and
 * infinities, clamp); NaN maps to 0x7f. */
uint8_t ds_f32_to_fp8_e4m3(float f);

/* Convert n elements of src (a float type or an integer type) to f32.
 * Returns 0, or -1 when dt is not convertible. */
int ds_to_f32(float *dst, const void *src, enum ds_dtype dt, size_t n);
/* Convert n f32 values into dt (F32, F16, BF16, F8_E4M3).  Returns -1 for
 * other types. */
int ds_from_f32(void *dst, const float *src, enum ds_dtype dt, size_t n);

/* Product of dims with overflow checking: returns 0 and sets *out, or -1 on
 * a negative dim or overflow past INT64_MAX. */
int ds_shape_numel(const int64_t *dims, int ndim, int64_t *out);

#endif
