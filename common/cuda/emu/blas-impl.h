/*
 * blas-impl.h - the GEMM core of the emulated cuBLAS (blas.cc), shared with
 * the emulated cuBLASLt (lt.cc).  Column-major throughout, as cuBLAS.
 */
#ifndef DS_CUDA_EMU_BLAS_IMPL_H
#define DS_CUDA_EMU_BLAS_IMPL_H

#include "emu-impl.h"

#include <algorithm>
#include <vector>

namespace emu {

/* a matrix as stored: element (r, c) of the stored matrix at r + c * ld;
 * trans: the operation reads its transpose */
struct operand {
	const void *p;
	cudaDataType t;
	long long ld;
	bool trans;
};

enum { ROUND_NONE = 0, ROUND_TF32, ROUND_BF16, ROUND_F16 };

size_t type_size(cudaDataType t);
float load_elem(cudaDataType t, const void *p, size_t i);
void store_elem(cudaDataType t, void *p, size_t i, float v);
float round_input(float x, int round);
/* rows r0..r0+nr-1 of op(a) (rows x k) into out, nr x k row-major */
void op_rows(const operand &a, int rows, int k, int r0, int nr, float *out, int round);
/* sum of a[p] * b[p], in f32, eight interleaved partial sums */
float dot(const float *a, const float *b, int k);
/* D = alpha op(A) op(B) + beta C (C read only when beta != 0; C and D may
 * be the same matrix) */
void gemm_run(int m, int n, int k, float alpha, const operand &A, const operand &B, float beta,
	      const void *C, cudaDataType ct, long long ldc, void *D, cudaDataType dt, long long ldd, int round);
/* abort unless elems elements of type t at p are device memory */
void need_device(const char *what, const char *name, const void *p, size_t elems, cudaDataType t);
/* elements a rows x cols column-major matrix with leading dimension ld spans */
size_t extent(int rows, int cols, long long ld);

} // namespace emu

#endif
