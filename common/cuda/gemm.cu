// gemm.cu - the large products of prefill through cuBLAS and the choice
// between them and the f32 kernels of gemv.cu (ops.cuh).  cuBLAS gets BF16
// inputs with f32 accumulation and output; each f32 activation is split
// into two BF16 terms, hi + lo, and so are FP8 (block scale applied) and
// F16 weights, so both keep about 16 significant bits: 2 BF16 products for
// BF16 weights (used in place), 3 for the others (dequantised into a
// scratch).  F32 weights go in f32 without TF32.  One BF16 product alone
// put the fixtures' logits 1.5e-2..5.7e-2 from the CPU's and changed expert
// sets at routing margins up to 7e-3.
#include <sysexits.h>

#include "blas.cuh"
#include "dev.cuh"
#include "ops.cuh"

/* W[n0 + r][k] (block scale applied) as BF16 hi = bf16(w) at out and
 * lo = bf16(w - hi) at out + half, for r < rows, k < cols (pitch w.ld) */
template <int DT>
static __global__ void k_dequant(struct dsc_mat w, long n0, long rows, __nv_bfloat16 *out, size_t half)
{
	size_t total = (size_t)rows * (size_t)w.cols;

	for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) {
		long r = (long)(i / (size_t)w.cols), k = (long)(i % (size_t)w.cols);
		float v = dsc_weight<DT>(w, n0 + r, k);
		__nv_bfloat16 hi = __float2bfloat16(v);
		size_t at = (size_t)r * (size_t)w.ld + (size_t)k;

		out[at] = hi;
		out[half + at] = __float2bfloat16(v - __bfloat162float(hi));
	}
}

/* x[b][r][k] as two BF16 terms: hi = bf16(x), lo = bf16(x - hi) (lo at
 * `half` elements after hi), so that W hi + W lo carries 16 bits of each
 * activation instead of 8 */
static __global__ void k_to_bf16x2(const float *x, long ldx, long bx, long cols, __nv_bfloat16 *out, long ldo, long bo,
				   size_t half)
{
	const float *xr = x + (size_t)blockIdx.z * (size_t)bx + (size_t)blockIdx.y * (size_t)ldx;
	__nv_bfloat16 *o = out + (size_t)blockIdx.z * (size_t)bo + (size_t)blockIdx.y * (size_t)ldo;

	for (long k = (long)blockIdx.x * blockDim.x + threadIdx.x; k < cols; k += (long)gridDim.x * blockDim.x) {
		__nv_bfloat16 hi = __float2bfloat16(xr[k]);

		o[k] = hi;
		o[half + (size_t)k] = __float2bfloat16(xr[k] - __bfloat162float(hi));
	}
}

static unsigned grid_for(size_t n)
{
	size_t b = (n + 255) / 256;

	return (unsigned)(b < 1 ? 1 : b > 4096 ? 4096 : b);
}

/* Rows n0 .. n0+rows-1 of w as BF16 terms: the matrix itself (BF16: one
 * term, exact), or hi and lo in the scratch (FP8 with its scale, F16: the
 * lo term keeps the bits BF16 drops).  *nterm: 1 or 2; term t at
 * out + t * *half. */
static int weights_bf16(struct dsc_ctx *c, const struct dsc_mat *w, long n0, long rows, const __nv_bfloat16 **out,
			int *nterm, size_t *half, struct ds_error *err)
{
	size_t need = (size_t)rows * (size_t)w->ld;
	dim3 g(grid_for((size_t)rows * (size_t)w->cols)), b(256);

	if (w->dtype == DS_BF16) {
		*out = (const __nv_bfloat16 *)w->data + (size_t)n0 * (size_t)w->ld;
		*nterm = 1;
		*half = 0;
		return 0;
	}
	if (2 * need > c->wb_elems)
		return ds_error_set(err, EX_SOFTWARE, "cuda: the weight scratch holds %zu elements, a product needs %zu",
				    c->wb_elems, 2 * need);
	if (w->dtype == DS_F16)
		DSC_LAUNCH(err, k_dequant<DS_F16>, g, b, 0, c->st, false, *w, n0, rows, c->wb, need);
	else
		DSC_LAUNCH(err, k_dequant<DS_F8_E4M3>, g, b, 0, c->st, false, *w, n0, rows, c->wb, need);
	*out = c->wb;
	*nterm = 2;
	*half = need;
	return 0;
}

/* the BF16 terms multiplied: W hi x hi, W hi x lo, and W lo x hi when W
 * has a lo term (W lo x lo is below f32's rounding of the sum) */
static const int term_w[3] = { 0, 0, 1 }, term_x[3] = { 0, 1, 0 };

/* nb batches of [nx][cols] activations as BF16 hi and lo terms in the
 * scratch, pitch *ld; the lo terms start *half elements after the hi */
static int acts_bf16(struct dsc_ctx *c, const float *x, long ldx, long bx, long nx, long cols, long nb, long *ld,
		     size_t *half, struct ds_error *err)
{
	long l = (long)dsc_align((size_t)cols, 8);
	size_t n = (size_t)nb * (size_t)nx * (size_t)l;

	if (2 * n > c->xb_elems)
		return ds_error_set(err, EX_SOFTWARE, "cuda: the activation scratch holds %zu elements, a product needs %zu",
				    c->xb_elems, 2 * n);
	DSC_LAUNCH(err, k_to_bf16x2, dim3(grid_for((size_t)cols) > 16 ? 16 : grid_for((size_t)cols), (unsigned)nx, (unsigned)nb),
		   dim3(256), 0, c->st, false, x, ldx, bx, cols, c->xb, l, (long)nx * l, n);
	*ld = l;
	*half = n;
	return 0;
}

int dsc_linear(struct dsc_ctx *c, const struct dsc_lin *l, struct ds_error *err)
{
	const struct dsc_mat *w = l->w;
	const float alpha = 1.0f, beta = l->acc ? 1.0f : 0.0f, one = 1.0f;
	const __nv_bfloat16 *a;
	size_t half, whalf;
	long ldxb;
	int nw;
	int rc;

	if (c->exact || !c->blas || l->nx <= DSC_DECODE_ROWS)
		return dsc_gemv(c, l, err);
	if (l->nout <= 0 || l->nb <= 0)
		return 0;
	if (w->dtype == DS_F32) {
		const float *af = (const float *)w->data + (size_t)l->n0 * (size_t)w->ld;

		DSC_BLAS(err, dsc_blas.gemm_strided_batched(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)l->nout, (int)l->nx,
							 (int)w->cols, &alpha, af, CUDA_R_32F, (int)w->ld,
							 (long long)l->bw * w->ld, l->x, CUDA_R_32F, (int)l->ldx,
							 (long long)l->bx, &beta, l->y, CUDA_R_32F, (int)l->ldy,
							 (long long)l->by, (int)l->nb, CUBLAS_COMPUTE_32F_PEDANTIC,
							 CUBLAS_GEMM_DEFAULT));
		return 0;
	}
	if ((rc = weights_bf16(c, w, l->n0, (l->nb - 1) * l->bw + l->nout, &a, &nw, &whalf, err)) ||
	    (rc = acts_bf16(c, l->x, l->ldx, l->bx, l->nx, w->cols, l->nb, &ldxb, &half, err)))
		return rc;
	for (int t = 0; t < (nw == 2 ? 3 : 2); t++)
		DSC_BLAS(err, dsc_blas.gemm_strided_batched(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, (int)l->nout, (int)l->nx,
							 (int)w->cols, &alpha, a + term_w[t] * whalf, CUDA_R_16BF, (int)w->ld,
							 (long long)l->bw * w->ld, c->xb + term_x[t] * half, CUDA_R_16BF,
							 (int)ldxb, (long long)l->nx * ldxb, t ? &one : &beta, l->y,
							 CUDA_R_32F, (int)l->ldy, (long long)l->by, (int)l->nb,
							 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	return 0;
}

int dsc_linear_t(struct dsc_ctx *c, const struct dsc_mat *w, long i0, long ni, const float *x, long ldx, long nx,
		 float *y, long ldy, long nb, long bx, long bw, long by, struct ds_error *err)
{
	const float alpha = 1.0f, beta = 0.0f, one = 1.0f;
	const __nv_bfloat16 *a;
	size_t half, whalf;
	long ldxb;
	int nw;
	int rc;

	if (c->exact || !c->blas || nx <= DSC_DECODE_ROWS)
		return dsc_gemv_t(c, w, i0, ni, x, ldx, nx, y, ldy, nb, bx, bw, by, err);
	if (nb <= 0)
		return 0;
	/* column-major: C (cols x nx) = A (cols x ni, the row band) B (ni x nx) */
	if (w->dtype == DS_F32) {
		const float *af = (const float *)w->data + (size_t)i0 * (size_t)w->ld;

		DSC_BLAS(err, dsc_blas.gemm_strided_batched(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)w->cols, (int)nx, (int)ni,
							 &alpha, af, CUDA_R_32F, (int)w->ld, (long long)bw * w->ld, x,
							 CUDA_R_32F, (int)ldx, (long long)bx, &beta, y, CUDA_R_32F,
							 (int)ldy, (long long)by, (int)nb, CUBLAS_COMPUTE_32F_PEDANTIC,
							 CUBLAS_GEMM_DEFAULT));
		return 0;
	}
	if ((rc = weights_bf16(c, w, i0, (nb - 1) * bw + ni, &a, &nw, &whalf, err)) ||
	    (rc = acts_bf16(c, x, ldx, bx, nx, ni, nb, &ldxb, &half, err)))
		return rc;
	for (int t = 0; t < (nw == 2 ? 3 : 2); t++)
		DSC_BLAS(err, dsc_blas.gemm_strided_batched(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, (int)w->cols, (int)nx,
							 (int)ni, &alpha, a + term_w[t] * whalf, CUDA_R_16BF, (int)w->ld,
							 (long long)bw * w->ld, c->xb + term_x[t] * half, CUDA_R_16BF, (int)ldxb, (long long)nx * ldxb,
							 t ? &one : &beta, y, CUDA_R_32F, (int)ldy, (long long)by, (int)nb,
							 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	return 0;
}
