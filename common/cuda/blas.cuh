/*
 * blas.cuh - the four cuBLAS calls the engine makes, reached through a
 * table that dsc_blas_load() fills on first use.
 *
 * With nvcc the table comes from dlopen("libcublas.so.<major>") when the
 * default mode opens, so the tools do not link cuBLAS: libcublasLt alone
 * maps about 540 MB, which every tool (ds-embed, ds-forward -d cpu under a
 * memory limit, ...) would otherwise pay at start.  In the emulator the
 * table points at the emulated functions.  A missing or incomplete library
 * is EX_UNAVAILABLE (69) naming it; exact mode never loads it.
 */
#ifndef DSC_BLAS_CUH
#define DSC_BLAS_CUH

#include "dsc.cuh"

struct dsc_blas_api {
	cublasStatus_t (*create)(cublasHandle_t *h);
	cublasStatus_t (*destroy)(cublasHandle_t h);
	cublasStatus_t (*set_stream)(cublasHandle_t h, cudaStream_t s);
	cublasStatus_t (*gemm_strided_batched)(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
					       int n, int k, const void *alpha, const void *A, cudaDataType at,
					       int lda, long long sa, const void *B, cudaDataType bt, int ldb,
					       long long sb, const void *beta, void *C, cudaDataType ct, int ldc,
					       long long sc, int batch, cublasComputeType_t comp,
					       cublasGemmAlgo_t algo);
};

/* The table (filled by a successful dsc_blas_load). */
extern struct dsc_blas_api dsc_blas;
/* Fill dsc_blas once; 0 or EX_UNAVAILABLE. */
int dsc_blas_load(struct ds_error *err);

#endif
