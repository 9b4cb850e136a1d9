/*
 * fastcvt.h - bulk f32 -> bf16 / e4m3 conversions and block maxima for
 * the weight generator and the FP8 quantiser, with AVX2 paths chosen at run
 * time.  Every result is bit-identical to the scalar conversions of
 * tensor.h (round to nearest even; e4m3 saturating at +-448, NaN -> 0x7f;
 * bf16 NaN stays a quiet NaN).  No allocation.
 */
#ifndef DS_FASTCVT_H
#define DS_FASTCVT_H

#include <stddef.h>
#include <stdint.h>

/* dst[i] = bf16(src[i]) */
void ds_cvt_bf16(uint16_t *dst, const float *src, size_t n);
/* dst[i] = e4m3(src[i] * mult), the product rounded to f32 first */
void ds_cvt_fp8(uint8_t *dst, const float *src, size_t n, float mult);
/* max |src[i]| over the finite values (0 when none) */
float ds_cvt_absmax(const float *src, size_t n);

/* scalar versions, for tests */
void ds_cvt_bf16_scalar(uint16_t *dst, const float *src, size_t n);
void ds_cvt_fp8_scalar(uint8_t *dst, const float *src, size_t n, float mult);
float ds_cvt_absmax_scalar(const float *src, size_t n);
/* AVX2 bodies (fastcvt-avx2.c): call only when the CPU has AVX2 */
void ds_cvt_bf16_avx2(uint16_t *dst, const float *src, size_t n);
void ds_cvt_fp8_avx2(uint8_t *dst, const float *src, size_t n, float mult);
float ds_cvt_absmax_avx2(const float *src, size_t n);

#endif
