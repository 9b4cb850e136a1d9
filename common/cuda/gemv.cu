// gemv.cu - products of weight rows with f32 activations on CUDA cores: the
// decode path and exact mode (ops.cuh).  A warp computes one output for up
// to NX activation rows; weights are read once per NX rows.
#include "dev.cuh"
#include "ops.cuh"

#define GEMV_WARPS 8

template <int DT, int NX>
static __global__ void k_gemv(struct dsc_mat w, long n0, long nout, const float *x, long ldx, long nx, float *y,
			      long ldy, int acc, long bx, long bw, long by)
{
	const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
	const long j = (long)blockIdx.x * GEMV_WARPS + warp, r0 = (long)blockIdx.y * NX, b = blockIdx.z;
	const long nr = nx - r0 < NX ? nx - r0 : NX;
	float s[NX];

	if (j >= nout)
		return;	/* the whole warp: no collective below is left waiting */
	const long n = n0 + b * bw + j;
	const size_t row = (size_t)n * (size_t)w.ld;
	const float *xb = x + (size_t)b * (size_t)bx + (size_t)r0 * (size_t)ldx;
	float *yb = y + (size_t)b * (size_t)by + (size_t)r0 * (size_t)ldy;

#pragma unroll
	for (int r = 0; r < NX; r++)
		s[r] = 0;
	for (long k0 = 0; k0 < w.cols; k0 += 128) {
		long k1 = k0 + 128 < w.cols ? k0 + 128 : w.cols;
		float p[NX], sc = 1.0f;

#pragma unroll
		for (int r = 0; r < NX; r++)
			p[r] = 0;
		for (long k = k0 + lane; k < k1; k += 32) {
			float wv = dsc_elem<DT>(w.data, row + (size_t)k);

#pragma unroll
			for (int r = 0; r < NX; r++)
				if (r < nr)
					p[r] += wv * xb[(size_t)r * (size_t)ldx + (size_t)k];
		}
		if (DT == DS_F8_E4M3)
			sc = w.scale[(size_t)(n / 128) * (size_t)w.scale_ld + (size_t)(k0 / 128)];
#pragma unroll
		for (int r = 0; r < NX; r++)
			s[r] += p[r] * sc;
	}
#pragma unroll
	for (int r = 0; r < NX; r++) {
		float v = dsc_warp_sum(s[r]);

		if (lane == 0 && r < nr) {
			float *o = yb + (size_t)r * (size_t)ldy + (size_t)j;

			*o = acc ? *o + v : v;
		}
	}
}

template <int DT>
static int launch_gemv(struct dsc_ctx *c, const struct dsc_lin *l, struct ds_error *err)
{
	int nx = l->nx <= 1 ? 1 : l->nx <= 2 ? 2 : l->nx <= 4 ? 4 : 8;
	dim3 g((unsigned)((l->nout + GEMV_WARPS - 1) / GEMV_WARPS), (unsigned)((l->nx + nx - 1) / nx), (unsigned)l->nb);
	dim3 b(32 * GEMV_WARPS);

	switch (nx) {
	case 1:
		DSC_LAUNCH(err, k_gemv<DT, 1>, g, b, 0, c->st, false, *l->w, l->n0, l->nout, l->x, l->ldx, l->nx, l->y,
			   l->ldy, l->acc, l->bx, l->bw, l->by);
		break;
	case 2:
		DSC_LAUNCH(err, k_gemv<DT, 2>, g, b, 0, c->st, false, *l->w, l->n0, l->nout, l->x, l->ldx, l->nx, l->y,
			   l->ldy, l->acc, l->bx, l->bw, l->by);
		break;
	case 4:
		DSC_LAUNCH(err, k_gemv<DT, 4>, g, b, 0, c->st, false, *l->w, l->n0, l->nout, l->x, l->ldx, l->nx, l->y,
			   l->ldy, l->acc, l->bx, l->bw, l->by);
		break;
	default:
		DSC_LAUNCH(err, k_gemv<DT, 8>, g, b, 0, c->st, false, *l->w, l->n0, l->nout, l->x, l->ldx, l->nx, l->y,
			   l->ldy, l->acc, l->bx, l->bw, l->by);
		break;
	}
	return 0;
}

int dsc_gemv(struct dsc_ctx *c, const struct dsc_lin *l, struct ds_error *err)
{
	if (l->nx <= 0 || l->nout <= 0 || l->nb <= 0)
		return 0;
	switch (l->w->dtype) {
	case DS_F32:
		return launch_gemv<DS_F32>(c, l, err);
	case DS_F16:
		return launch_gemv<DS_F16>(c, l, err);
	case DS_BF16:
		return launch_gemv<DS_BF16>(c, l, err);
	default:
		return launch_gemv<DS_F8_E4M3>(c, l, err);
	}
}

/* y[b][r][j] = sum_i x[b][r][i] W[i0 + b bw + i][j]: a thread per column j,
 * a block row per activation row */
template <int DT>
static __global__ void k_gemv_t(struct dsc_mat w, long i0, long ni, const float *x, long ldx, float *y, long ldy,
				long bx, long bw, long by)
{
	const long j = (long)blockIdx.x * blockDim.x + threadIdx.x, r = blockIdx.y, b = blockIdx.z;
	const float *xr = x + (size_t)b * (size_t)bx + (size_t)r * (size_t)ldx;
	float s = 0;

	if (j >= w.cols)
		return;
	for (long i = 0; i < ni; i++)
		s += xr[i] * dsc_weight<DT>(w, i0 + b * bw + i, j);
	y[(size_t)b * (size_t)by + (size_t)r * (size_t)ldy + (size_t)j] = s;
}

int dsc_gemv_t(struct dsc_ctx *c, const struct dsc_mat *w, long i0, long ni, const float *x, long ldx, long nx,
	       float *y, long ldy, long nb, long bx, long bw, long by, struct ds_error *err)
{
	dim3 g((unsigned)((w->cols + 127) / 128), (unsigned)nx, (unsigned)nb), b(128);

	if (nx <= 0 || nb <= 0)
		return 0;
	switch (w->dtype) {
	case DS_F32:
		DSC_LAUNCH(err, k_gemv_t<DS_F32>, g, b, 0, c->st, false, *w, i0, ni, x, ldx, y, ldy, bx, bw, by);
		break;
	case DS_F16:
		DSC_LAUNCH(err, k_gemv_t<DS_F16>, g, b, 0, c->st, false, *w, i0, ni, x, ldx, y, ldy, bx, bw, by);
		break;
	case DS_BF16:
		DSC_LAUNCH(err, k_gemv_t<DS_BF16>, g, b, 0, c->st, false, *w, i0, ni, x, ldx, y, ldy, bx, bw, by);
		break;
	default:
		DSC_LAUNCH(err, k_gemv_t<DS_F8_E4M3>, g, b, 0, c->st, false, *w, i0, ni, x, ldx, y, ldy, bx, bw, by);
		break;
	}
	return 0;
}
