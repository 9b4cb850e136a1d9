// moe.cu - the routed experts: the decode pair (gate+up with SwiGLU, then
// down with the weighted sum in ascending expert order, both reading the
// choices from the device) and the prefill gather/combine around grouped
// products (ops.cuh).  No atomics: every sum has one fixed order.
#include "dev.cuh"
#include "ops.cuh"

#define MOE_WARPS 8

/* block (j-tile, slot): a warp per output j of the slot's expert */
static __global__ void k_moe_gate_up(struct dsc_mat gate, struct dsc_mat up, const int32_t *ids, long K,
				     const float *x, long ldx, float *act, long ldact)
{
	const int lane = threadIdx.x & 31;
	const long j = (long)blockIdx.x * MOE_WARPS + (threadIdx.x >> 5), s = blockIdx.y;

	if (j >= gate.rows)
		return;
	const long e = ids[s];
	const float *xr = x + (size_t)(s / K) * (size_t)ldx;
	float g = dsc_warp_dot(dsc_expert(gate, e), j, xr, lane);
	float u = dsc_warp_dot(dsc_expert(up, e), j, xr, lane);

	if (lane == 0)
		act[(size_t)s * (size_t)ldact + (size_t)j] = dsc_silu_mul1(g, u);
}

int dsc_moe_gate_up(struct dsc_ctx *c, const struct dsc_mlp *ex, const int32_t *ids, long K, const float *x,
		    long ldx, long n, float *act, long ldact, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_moe_gate_up, dim3((unsigned)((ex->gate.rows + MOE_WARPS - 1) / MOE_WARPS), (unsigned)(n * K)),
		   dim3(32 * MOE_WARPS), 0, c->st, false, ex->gate, ex->up, ids, K, x, ldx, act, ldact);
	return 0;
}

/* block (d-tile, row): a warp per output d, the K experts in order */
static __global__ void k_moe_down(struct dsc_mat down, const int32_t *ids, const float *w, long K, const float *act,
				  long ldact, const float *shared, float *h, long ldh)
{
	const int lane = threadIdx.x & 31;
	const long d = (long)blockIdx.x * MOE_WARPS + (threadIdx.x >> 5), r = blockIdx.y;
	float o = 0;

	if (d >= down.rows)
		return;
	for (long k = 0; k < K; k++) {
		long s = r * K + k;

		o += dsc_warp_dot(dsc_expert(down, ids[s]), d, act + (size_t)s * (size_t)ldact, lane) * w[s];
	}
	if (lane == 0) {
		float *hr = h + (size_t)r * (size_t)ldh + (size_t)d;

		if (shared)
			o += shared[(size_t)r * (size_t)ldh + (size_t)d];
		*hr = *hr + o;
	}
}

int dsc_moe_down(struct dsc_ctx *c, const struct dsc_mlp *ex, const int32_t *ids, const float *w, long K,
		 const float *act, long ldact, const float *shared, float *h, long ldh, long n, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_moe_down, dim3((unsigned)((ex->down.rows + MOE_WARPS - 1) / MOE_WARPS), (unsigned)n),
		   dim3(32 * MOE_WARPS), 0, c->st, false, ex->down, ids, w, K, act, ldact, shared, h, ldh);
	return 0;
}

static __global__ void k_moe_gather(const int32_t *slot, long K, const float *x, long ldx, float *xg, long D)
{
	const long i = blockIdx.x;
	const float *src = x + (size_t)(i / K) * (size_t)ldx;
	float *dst = xg + (size_t)slot[i] * (size_t)ldx;

	for (long k = threadIdx.x; k < D; k += blockDim.x)
		dst[k] = src[k];
}

int dsc_moe_gather(struct dsc_ctx *c, const int32_t *slot, long K, const float *x, long ldx, long n, float *xg,
		   long D, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_moe_gather, dim3((unsigned)(n * K)), dim3(DSC_ROW_THREADS), 0, c->st, false, slot, K, x, ldx,
		   xg, D);
	return 0;
}

static __global__ void k_moe_combine(const int32_t *slot, const float *w, long K, const float *yg, long ldy,
				     const float *shared, float *h, long ldh, long D)
{
	const long r = blockIdx.x;

	for (long d = threadIdx.x; d < D; d += blockDim.x) {
		float o = 0;

		for (long k = 0; k < K; k++)
			o += yg[(size_t)slot[r * K + k] * (size_t)ldy + (size_t)d] * w[r * K + k];
		if (shared)
			o += shared[(size_t)r * (size_t)ldh + (size_t)d];
		h[(size_t)r * (size_t)ldh + (size_t)d] = h[(size_t)r * (size_t)ldh + (size_t)d] + o;
	}
}

int dsc_moe_combine(struct dsc_ctx *c, const int32_t *slot, const float *w, long K, const float *yg, long ldy,
		    const float *shared, float *h, long ldh, long n, long D, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_moe_combine, dim3((unsigned)n), dim3(DSC_ROW_THREADS), 0, c->st, false, slot, w, K, yg, ldy,
		   shared, h, ldh, D);
	return 0;
}
