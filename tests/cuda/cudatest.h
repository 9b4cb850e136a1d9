/*
 * cudatest.h - the harness of the CUDA test programs (tests/cuda/test-*.cu).
 *
 * Each program builds twice: with nvcc for a real GPU (build/tests/) and with
 * g++ and the emulator (build/emu/tests/).  Every line it prints names which
 * one ran, "cuda-emu" or "cuda-gpu", so an emulated pass is never read as a
 * GPU pass; without a device it prints one skip line and exits 0.
 *
 *   ct_need_device()             skip the whole program without a device
 *   ct_check(desc, cond)         ok / not ok
 *   ct_close(desc, got, want, n, tol)   max |got-want| <= tol, prints "# measured"
 *   ct_skip(desc, why)
 *   CT_CK(call)                  a CUDA runtime call that must succeed
 *   CT_BLAS(call)                a cuBLAS/cuBLASLt call that must succeed
 *   ct_frand()                   xorshift in [-1, 1), state ct_rng (seedable)
 *   ct_max_abs(v, n)             max |v[i]|
 *   ct_close_rel(desc, got, want, n, rel)   ct_close, tol = rel * max |want|
 *   return ct_done();            from main: 1 when anything failed or nothing ran
 *
 * Messages and results go to stdout in tests/run.sh's format.
 */
#ifndef DS_CUDATEST_H
#define DS_CUDATEST_H

#include <cuda_runtime.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef DS_EMU
#define CT_WHERE "cuda-emu"
#else
#define CT_WHERE "cuda-gpu"
#endif

static int ct_pass, ct_fail, ct_skipped;

static inline void ct_need_device(void)
{
	int n = 0;
	cudaError_t e = cudaGetDeviceCount(&n);
	if (e != cudaSuccess || n < 1) {
		printf("skip - " CT_WHERE ": every check (no CUDA device: %s)\n",
		       e != cudaSuccess ? cudaGetErrorString(e) : "none found");
		exit(0);
	}
	cudaDeviceProp p;
	if (cudaGetDeviceProperties(&p, 0) == cudaSuccess)
		printf("# device: %s (sm_%d%d)\n", p.name, p.major, p.minor);
}

static inline void ct_check(const char *desc, bool ok)
{
	printf("%s - " CT_WHERE ": %s\n", ok ? "ok" : "not ok", desc);
	if (ok)
		ct_pass++;
	else
		ct_fail++;
}

__attribute__((format(printf, 2, 3)))
static inline void ct_checkf(bool ok, const char *fmt, ...)
{
	char d[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof d, fmt, ap);
	va_end(ap);
	ct_check(d, ok);
}

static inline void ct_skip(const char *desc, const char *why)
{
	printf("skip - " CT_WHERE ": %s (%s)\n", desc, why);
	ct_skipped++;
}

/* max abs error of got against want over n values, within tol (NaN fails) */
static inline double ct_close(const char *desc, const float *got, const float *want, size_t n, double tol)
{
	double err = 0;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)got[i] - (double)want[i]);
		if (d != d)	/* NaN: the worst, and the first one is shown */
			d = INFINITY;
		if (d > err) {
			err = d;
			at = i;
		}
	}
	bool ok = err <= tol;
	printf("# measured %s: max abs err %.3g (tol %.3g)\n", desc, err, tol);
	if (!ok && n)
		printf("#   at %zu: got %.9g want %.9g\n", at, got[at], want[at]);
	ct_check(desc, ok);
	return err;
}

#define CT_CK(call) do { \
	cudaError_t ct_e_ = (call); \
	if (ct_e_ != cudaSuccess) { \
		printf("not ok - " CT_WHERE ": %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(ct_e_)); \
		exit(1); \
	} \
} while (0)

#define CT_BLAS(call) do { \
	cublasStatus_t ct_s_ = (call); \
	if (ct_s_ != CUBLAS_STATUS_SUCCESS) { \
		printf("not ok - " CT_WHERE ": %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cublasGetStatusName(ct_s_)); \
		exit(1); \
	} \
} while (0)

static unsigned long long ct_rng = 88172645463325252ull;
static inline float ct_frand(void)	/* in [-1, 1) */
{
	ct_rng ^= ct_rng << 13;
	ct_rng ^= ct_rng >> 7;
	ct_rng ^= ct_rng << 17;
	return (float)((ct_rng >> 40) * (1.0 / (1ull << 23)) - 1.0);
}

static inline double ct_max_abs(const float *v, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (fabs((double)v[i]) > m)
			m = fabs((double)v[i]);
	return m;
}

/* ct_close with the tolerance rel times max |want| */
static inline double ct_close_rel(const char *desc, const float *got, const float *want, size_t n, double rel)
{
	return ct_close(desc, got, want, n, rel * ct_max_abs(want, n));
}

static inline int ct_done(void)
{
	if (ct_pass + ct_fail == 0 && ct_skipped == 0) {
		printf("not ok - " CT_WHERE ": no checks ran\n");
		return 1;
	}
	printf("# %d passed, %d failed, %d skipped\n", ct_pass, ct_fail, ct_skipped);
	return ct_fail ? 1 : 0;
}

#endif
