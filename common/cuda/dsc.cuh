/*
 * dsc.cuh - the vocabulary every file of the CUDA engine shares: the device
 * view of a weight matrix, how CUDA and cuBLAS failures become ds_error
 * codes, and the engine's fixed limits.
 *
 * The engine (common/cuda/ (.cu files)) sits behind backend.h like the CPU one; C
 * code never includes this.  The same sources build with nvcc for a GPU and
 * with g++ through the emulator (dsk.cuh is the seam between the two).
 *
 * Errors: a failed runtime call is EX_OSERR (71) when it is out of memory
 * and EX_SOFTWARE (70) otherwise, with the call, its file:line and CUDA's
 * own words in the message.  Functions return 0 or that code.
 */
#ifndef DSC_CUH
#define DSC_CUH

#include <stddef.h>
#include <stdint.h>

#include "dsk.cuh"
#include <cublas_v2.h>

extern "C" {
#include "error.h"
#include "tensor.h"
}

/* rows of one step that take the decode path (GEMV kernels, routing on
 * the device, CUDA graphs when every chunk is one row) */
#define DSC_DECODE_ROWS 8
/* positions per KV page */
#define DSC_PAGE 64
/* sequences with a KV cache at the same time */
#define DSC_MAX_SEQS 256
/* the absorbed attention keeps one latent accumulator per thread slot */
#define DSC_MAX_RKV 512
/* threads of the row kernels (norms, attention) */
#define DSC_ROW_THREADS 128

/*
 * A weight matrix in device memory, in its checkpoint dtype: row n at
 * data + n * ld elements, ld * element size a multiple of 64 bytes, the
 * padding zero.  FP8: scale [ceil(rows/128)][scale_ld] f32, W[n][k] =
 * fp8(Q[n][k]) * scale[n/128][k/128], as mat.h.  Packed experts: expert e
 * starts e * estride bytes (estride_scale floats of scale) after expert 0.
 */
struct dsc_mat {
	int dtype;		/* enum ds_dtype: DS_F32, DS_F16, DS_BF16, DS_F8_E4M3 */
	long rows, cols, ld;
	const void *data;
	const float *scale;
	long scale_ld;
	size_t estride, estride_scale;	/* packed experts only */
};

/* A SwiGLU MLP: down(silu(gate x) * up x). */
struct dsc_mlp {
	struct dsc_mat gate, up, down;
};

/* Expert e of a packed expert matrix. */
static inline __host__ __device__ struct dsc_mat dsc_expert(struct dsc_mat w, long e)
{
	w.data = (const char *)w.data + (size_t)e * w.estride;
	if (w.scale)
		w.scale += (size_t)e * w.estride_scale;
	return w;
}

static inline size_t dsc_align(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

int dsc_cuda_fail(struct ds_error *err, cudaError_t e, const char *call, const char *file, int line);
int dsc_blas_fail(struct ds_error *err, cublasStatus_t s, const char *call, const char *file, int line);

/* Return from the calling function with the error filled when a runtime or
 * cuBLAS call fails. */
#define DSC_CK(err, call)                                                                    \
	do {                                                                                 \
		cudaError_t dsc_e_ = (call);                                                 \
		if (dsc_e_ != cudaSuccess)                                                   \
			return dsc_cuda_fail((err), dsc_e_, #call, __FILE__, __LINE__);      \
	} while (0)
#define DSC_BLAS(err, call)                                                                  \
	do {                                                                                 \
		cublasStatus_t dsc_s_ = (call);                                              \
		if (dsc_s_ != CUBLAS_STATUS_SUCCESS)                                         \
			return dsc_blas_fail((err), dsc_s_, #call, __FILE__, __LINE__);      \
	} while (0)
/* A kernel launch through dsk_launch(): its error is the launch's. */
#define DSC_LAUNCH(err, ...) DSC_CK(err, dsk_launch(__VA_ARGS__))

#endif
