// norm.cu - RMSNorm, SwiGLU, residual adds and the MTP input rows (ops.cuh).
#include "dev.cuh"
#include "ops.cuh"

/* one block per row; statistics in double as ds_rmsnorm, rounded once */
static __global__ void k_rmsnorm(const float *x, long ldx, float *out, long ldo, const float *w, long d, float eps)
{
	DS_SMEM(double, red, 32);
	const float *xr = x + (size_t)blockIdx.x * (size_t)ldx;
	float *o = out + (size_t)blockIdx.x * (size_t)ldo;
	double ss = 0;
	float var, r;

	for (long i = threadIdx.x; i < d; i += blockDim.x)
		ss += (double)xr[i] * (double)xr[i];
	ss = dsc_block_sum_d(ss, red);
	var = (float)(ss / (double)d);
	r = 1.0f / sqrtf(var + eps);
	for (long i = threadIdx.x; i < d; i += blockDim.x)
		o[i] = w[i] * (xr[i] * r);
}

int dsc_rmsnorm(struct dsc_ctx *c, const float *x, long ldx, float *out, long ldo, const float *w, long d, long n,
		float eps, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_rmsnorm, dim3((unsigned)n), dim3(DSC_ROW_THREADS), 0, c->st, false, x, ldx, out, ldo, w, d,
		   eps);
	return 0;
}

static __global__ void k_silu_mul(float *g, const float *u, long ld, long d)
{
	size_t r = blockIdx.y;

	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < d; i += (long)gridDim.x * blockDim.x)
		g[r * (size_t)ld + (size_t)i] = dsc_silu_mul1(g[r * (size_t)ld + (size_t)i], u[r * (size_t)ld + (size_t)i]);
}

static unsigned col_blocks(long d)
{
	long b = (d + 255) / 256;

	return (unsigned)(b < 1 ? 1 : b > 64 ? 64 : b);
}

int dsc_silu_mul(struct dsc_ctx *c, float *g, const float *u, long ld, long d, long n, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_silu_mul, dim3(col_blocks(d), (unsigned)n), dim3(256), 0, c->st, false, g, u, ld, d);
	return 0;
}

static __global__ void k_add(float *y, const float *x, long ld, long d)
{
	size_t r = blockIdx.y;

	for (long i = (long)blockIdx.x * blockDim.x + threadIdx.x; i < d; i += (long)gridDim.x * blockDim.x)
		y[r * (size_t)ld + (size_t)i] = y[r * (size_t)ld + (size_t)i] + x[r * (size_t)ld + (size_t)i];
}

int dsc_add(struct dsc_ctx *c, float *y, const float *x, long ld, long d, long n, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_add, dim3(col_blocks(d), (unsigned)n), dim3(256), 0, c->st, false, y, x, ld, d);
	return 0;
}

/* out[r] = embed[token[r]] as f32, zero at position 0 (the MTP rule) */
template <int DT>
static __global__ void k_embed_rows(struct dsc_mat e, struct dsc_rows rows, float *out, long ldo)
{
	long r = blockIdx.x, tok = rows.token[r];
	float *o = out + (size_t)r * (size_t)ldo;

	for (long i = threadIdx.x; i < e.cols; i += blockDim.x)
		o[i] = rows.pos[r] == 0 ? 0.0f : dsc_weight<DT>(e, tok, i);
}

int dsc_mtp_input(struct dsc_ctx *c, const struct dsc_rows *rows, long n, const struct dsc_mat *embed,
		  const float *h, long ldh, const float *norm, const float *hnorm, const float *enorm, long D,
		  float eps, float *tmp, float *cat, long ldcat, struct ds_error *err)
{
	dim3 g((unsigned)n), b(DSC_ROW_THREADS);
	int rc;

	if (n <= 0)
		return 0;
	/* hidden half: hnorm(model.norm(H)) */
	if ((rc = dsc_rmsnorm(c, h, ldh, tmp, ldh, norm, D, n, eps, err)) ||
	    (rc = dsc_rmsnorm(c, tmp, ldh, cat + D, ldcat, hnorm, D, n, eps, err)))
		return rc;
	/* embedding half: enorm(Emb(next)), zero at position 0 */
	switch (embed->dtype) {
	case DS_F32:
		DSC_LAUNCH(err, k_embed_rows<DS_F32>, g, b, 0, c->st, false, *embed, *rows, tmp, ldh);
		break;
	case DS_F16:
		DSC_LAUNCH(err, k_embed_rows<DS_F16>, g, b, 0, c->st, false, *embed, *rows, tmp, ldh);
		break;
	case DS_BF16:
		DSC_LAUNCH(err, k_embed_rows<DS_BF16>, g, b, 0, c->st, false, *embed, *rows, tmp, ldh);
		break;
	default:
		DSC_LAUNCH(err, k_embed_rows<DS_F8_E4M3>, g, b, 0, c->st, false, *embed, *rows, tmp, ldh);
		break;
	}
	return dsc_rmsnorm(c, tmp, ldh, cat, ldcat, enorm, D, n, eps, err);
}
