/*
 * kernels.c - the portable C kernels and the runtime choice between them and
 * the vectorised ones (kernels-avx2.c, kernels-avx512.c).
 *
 * The generic kernels follow the same recipe as the vectorised ones (FP8:
 * the table-decoded byte times its block scale is the weight) with 8
 * partial sums per dot product, so they agree with them to rounding.  They are the reference the tests hold the others
 * to, and the path on CPUs without AVX2.
 */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "kernels-impl.h"

uint8_t ds_fp8_bf16_hi[128], ds_fp8_bf16_lo[128];

static void fp8_bf16_tables(void)
{
	static int done;

	if (done)
		return;
	for (int b = 0; b < 128; b++) {
		uint32_t bits = ds_f32_bits(ds_fp8_e4m3_to_f32((uint8_t)b));

		ds_fp8_bf16_hi[b] = (uint8_t)(bits >> 24);
		ds_fp8_bf16_lo[b] = (uint8_t)(bits >> 16);
	}
	done = 1;
}

size_t ds_matmul_scratch_cols(long cols)
{
	size_t bf16 = (size_t)DS_MATMUL_XCHUNK * (size_t)(cols + 32);	/* avx512bf16: split activations */
	size_t need = bf16;

#if defined(__x86_64__)
	if (ds_kernels_avx512_scratch() > need)
		need = ds_kernels_avx512_scratch();
	if (ds_kernels_avx2_scratch() > need)
		need = ds_kernels_avx2_scratch();
#endif
	return need;
}

size_t ds_matmul_scratch(const struct ds_mat *w)
{
	return ds_matmul_scratch_cols(w->cols);
}

/* weight n, k as the kernels use it (FP8: times the block scale) */
static float weight(const struct ds_mat *w, const void *row, long n, long k)
{
	return w->dtype == DS_F8_E4M3 ? ds_fp8_weight(w, n, k) : ds_weight_f32(w->dtype, row, k);
}

static float dot_generic(const struct ds_mat *w, long n, const void *row, const float *x, long K)
{
	float acc[8] = { 0 };
	long k = 0;

	for (; k + 8 <= K; k += 8)
		for (int l = 0; l < 8; l++)
			acc[l] += weight(w, row, n, k + l) * x[k + l];
	for (; k < K; k++)
		acc[k & 7] += weight(w, row, n, k) * x[k];
	return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static const void *row_ptr(const struct ds_mat *w, long n)
{
	return (const uint8_t *)w->data + (size_t)n * (size_t)w->ld * ds_dtype_size(w->dtype);
}

static void matmul_generic(const struct ds_mat *w, long n0, long n1, const float *x, long ldx,
			   long nx, float *y, long ldy, float *scratch)
{
	for (long n = n0; n < n1; n++) {
		const void *row = row_ptr(w, n);

		for (long r = 0; r < nx; r++)
			y[r * ldy + (n - n0)] = dot_generic(w, n, row, x + r * ldx, w->cols);
	}
}

static void matmul_t_generic(const struct ds_mat *w, long i0, long ni, const float *x, long ldx,
			     long nx, float *y, long ldy)
{
	long J = w->cols;

	for (long r = 0; r < nx; r++) {
		float *yr = y + r * ldy;

		memset(yr, 0, (size_t)J * sizeof(*yr));
		for (long i = 0; i < ni; i++) {
			long n = i0 + i;
			const void *row = row_ptr(w, n);
			float c = x[r * ldx + i];

			if (w->dtype == DS_F8_E4M3) {
				const float *s = w->scale + (n / DS_FP8_BLOCK) * w->scale_ld;

				for (long kb = 0; kb * DS_FP8_BLOCK < J; kb++) {
					long j1 = (kb + 1) * DS_FP8_BLOCK < J ? (kb + 1) * DS_FP8_BLOCK : J;
					float coef = c * s[kb];

					for (long j = kb * DS_FP8_BLOCK; j < j1; j++)
						yr[j] += coef * ds_weight_f32(DS_F8_E4M3, row, j);
				}
			} else {
				for (long j = 0; j < J; j++)
					yr[j] += c * ds_weight_f32(w->dtype, row, j);
			}
		}
	}
}

const struct ds_kernels ds_kernels_generic = { "generic", matmul_generic, matmul_t_generic };

/* ---- runtime selection ---- */

static const struct ds_kernels *current;

#if defined(__x86_64__)
#include <cpuid.h>

/* Features that not every compiler's __builtin_cpu_supports() knows (clang
 * 14 lacks f16c and avx512bf16), read from CPUID directly. */
static int has_f16c(void)
{
	unsigned a, b, c, d;
	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
}

static int has_avx512bf16(void)
{
	unsigned a, b, c, d;
	return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}
#endif

const struct ds_kernels *ds_kernels_named(const char *name)
{
	fp8_bf16_tables();
	if (!strcmp(name, "generic"))
		return &ds_kernels_generic;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (!strcmp(name, "avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
	    has_f16c())
		return &ds_kernels_avx2;
	if (!strcmp(name, "avx512bf16") && ds_kernels_named("avx512") && has_avx512bf16())
		return &ds_kernels_avx512bf16;
	if (!strcmp(name, "avx512") && __builtin_cpu_supports("avx512f") &&
	    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vbmi") &&
	    __builtin_cpu_supports("fma") && has_f16c())
		return &ds_kernels_avx512;
#endif
	return NULL;
}

const struct ds_kernels *ds_kernels(void)
{
	static const char *const order[] = { "avx512", "avx2", "generic" };
	const char *want;

	if (current)
		return current;
	want = getenv("DS_CPU");
	if (want && *want)
		current = ds_kernels_named(want);
	for (size_t i = 0; !current && i < sizeof(order) / sizeof(order[0]); i++)
		current = ds_kernels_named(order[i]);
	return current;
}
