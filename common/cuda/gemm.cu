// gemm.cu - the large products of prefill through cuBLAS (BF16 inputs, f32
// accumulation and output; FP8/F16 weights dequantised to a BF16 scratch;
// F32 weights in f32 without TF32) and the choice between them and the f32
// kernels of gemv.cu (ops.cuh).
#include <sysexits.h>

#include "dev.cuh"
#include "ops.cuh"

/* out[r][k] = bf16(W[n0 + r][k]) for r < rows, k < cols (pitch w.ld) */
template <int DT>
static __global__ void k_dequant(struct dsc_mat w, long n0, long rows, __nv_bfloat16 *out)
{
	size_t total = (size_t)rows * (size_t)w.cols;

	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		long r = (long)(i / (size_t)w.cols), k = (long)(i % (size_t)w.cols);

		out[(size_t)r * (size_t)w.ld + (size_t)k] = __float2bfloat16(dsc_weight<DT>(w, n0 + r, k));
	}
}

/* out[b][r][k] = bf16(x[b][r][k]) */
static __global__ void k_to_bf16(const float *x, long ldx, long bx, long cols, __nv_bfloat16 *out, long ldo, long bo)
{
	const float *xr = x + (size_t)blockIdx.z * (size_t)bx + (size_t)blockIdx.y * (size_t)ldx;
	__nv_bfloat16 *o = out + (size_t)blockIdx.z * (size_t)bo + (size_t)blockIdx.y * (size_t)ldo;

	for (long k = (long)blockIdx.x * blockDim.x + threadIdx.x; k < cols; k += (long)gridDim.x * blockDim.x)
		o[k] = __float2bfloat16(xr[k]);
}

static unsigned grid_for(size_t n)
{
	size_t b = (n + 255) / 256;

	return (unsigned)(b < 1 ? 1 : b > 4096 ? 4096 : b);
}

/* rows n0 .. n0+rows-1 of w as BF16: the matrix itself, or the scratch */
static int weights_bf16(struct dsc_ctx *c, const struct dsc_mat *w, long n0, long rows, const __nv_bfloat16 **out,
			struct ds_error *err)
{
	size_t need = (size_t)rows * (size_t)w->ld;
	dim3 g(grid_for((size_t)rows * (size_t)w->cols)), b(256);

	if (w->dtype == DS_BF16) {
		*out = (const __nv_bfloat16 *)w->data + (size_t)n0 * (size_t)w->ld;
		return 0;
	}
	if (need > c->wb_elems)
		return ds_error_set(err, EX_SOFTWARE, "cuda: the weight scratch holds %zu elements, a product needs %zu",
				    c->wb_elems, need);
	if (w->dtype == DS_F16)
		DSC_LAUNCH(err, k_dequant<DS_F16>, g, b, 0, c->st, false, *w, n0, rows, c->wb);
	else
		DSC_LAUNCH(err, k_dequant<DS_F8_E4M3>, g, b, 0, c->st, false, *w, n0, rows, c->wb);
	*out = c->wb;
	return 0;
}

/* nb batches of [nx][cols] activations as BF16 in the scratch, pitch *ld */
static int acts_bf16(struct dsc_ctx *c, const float *x, long ldx, long bx, long nx, long cols, long nb, long *ld,
		     struct ds_error *err)
{
	long l = (long)dsc_align((size_t)cols, 8);

	if ((size_t)nb * (size_t)nx * (size_t)l > c->xb_elems)
		return ds_error_set(err, EX_SOFTWARE, "cuda: the activation scratch holds %zu elements, a product needs %zu",
				    c->xb_elems, (size_t)nb * (size_t)nx * (size_t)l);
	DSC_LAUNCH(err, k_to_bf16, dim3(grid_for((size_t)cols) > 16 ? 16 : grid_for((size_t)cols), (unsigned)nx, (unsigned)nb),
		   dim3(256), 0, c->st, false, x, ldx, bx, cols, c->xb, l, (long)nx * l);
	*ld = l;
	return 0;
}

int dsc_linear(struct dsc_ctx *c, const struct dsc_lin *l, struct ds_error *err)
{
	const struct dsc_mat *w = l->w;
	const float alpha = 1.0f, beta = l->acc ? 1.0f : 0.0f;
	const __nv_bfloat16 *a;
	long ldxb;
	int rc;

	if (c->exact || !c->blas || l->nx <= DSC_DECODE_ROWS)
		return dsc_gemv(c, l, err);
	if (l->nout <= 0 || l->nb <= 0)
		return 0;
	if (w->dtype == DS_F32) {
		const float *af = (const float *)w->data + (size_t)l->n0 * (size_t)w->ld;

		DSC_BLAS(err, cublasGemmStridedBatchedEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)l->nout, (int)l->nx,
							 (int)w->cols, &alpha, af, CUDA_R_32F, (int)w->ld,
							 (long long)l->bw * w->ld, l->x, CUDA_R_32F, (int)l->ldx,
							 (long long)l->bx, &beta, l->y, CUDA_R_32F, (int)l->ldy,
							 (long long)l->by, (int)l->nb, CUBLAS_COMPUTE_32F_PEDANTIC,
							 CUBLAS_GEMM_DEFAULT));
		return 0;
	}
	if ((rc = weights_bf16(c, w, l->n0, (l->nb - 1) * l->bw + l->nout, &a, err)) ||
	    (rc = acts_bf16(c, l->x, l->ldx, l->bx, l->nx, w->cols, l->nb, &ldxb, err)))
		return rc;
	DSC_BLAS(err, cublasGemmStridedBatchedEx(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)l->nout, (int)l->nx,
						 (int)w->cols, &alpha, a, CUDA_R_16BF, (int)w->ld,
						 (long long)l->bw * w->ld, c->xb, CUDA_R_16BF, (int)ldxb,
						 (long long)l->nx * ldxb, &beta, l->y, CUDA_R_32F, (int)l->ldy,
						 (long long)l->by, (int)l->nb, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	return 0;
}

int dsc_linear_t(struct dsc_ctx *c, const struct dsc_mat *w, long i0, long ni, const float *x, long ldx, long nx,
		 float *y, long ldy, long nb, long bx, long bw, long by, struct ds_error *err)
{
	const float alpha = 1.0f, beta = 0.0f;
	const __nv_bfloat16 *a;
	long ldxb;
	int rc;

	if (c->exact || !c->blas || nx <= DSC_DECODE_ROWS)
		return dsc_gemv_t(c, w, i0, ni, x, ldx, nx, y, ldy, nb, bx, bw, by, err);
	if (nb <= 0)
		return 0;
	/* column-major: C (cols x nx) = A (cols x ni, the row band) B (ni x nx) */
	if (w->dtype == DS_F32) {
		const float *af = (const float *)w->data + (size_t)i0 * (size_t)w->ld;

		DSC_BLAS(err, cublasGemmStridedBatchedEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)w->cols, (int)nx, (int)ni,
							 &alpha, af, CUDA_R_32F, (int)w->ld, (long long)bw * w->ld, x,
							 CUDA_R_32F, (int)ldx, (long long)bx, &beta, y, CUDA_R_32F,
							 (int)ldy, (long long)by, (int)nb, CUBLAS_COMPUTE_32F_PEDANTIC,
							 CUBLAS_GEMM_DEFAULT));
		return 0;
	}
	if ((rc = weights_bf16(c, w, i0, (nb - 1) * bw + ni, &a, err)) ||
	    (rc = acts_bf16(c, x, ldx, bx, nx, ni, nb, &ldxb, err)))
		return rc;
	DSC_BLAS(err, cublasGemmStridedBatchedEx(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)w->cols, (int)nx, (int)ni,
						 &alpha, a, CUDA_R_16BF, (int)w->ld, (long long)bw * w->ld, c->xb,
						 CUDA_R_16BF, (int)ldxb, (long long)nx * ldxb, &beta, y, CUDA_R_32F,
						 (int)ldy, (long long)by, (int)nb, CUBLAS_COMPUTE_32F,
						 CUBLAS_GEMM_DEFAULT));
	return 0;
}
