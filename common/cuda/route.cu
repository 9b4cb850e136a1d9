// route.cu - expert selection on the device: one thread per token running
// route-select.h, the code route.c runs on the CPU (ops.cuh).
#include "dev.cuh"
#include "ops.cuh"
#include "route-select.h"

static __global__ void k_route_select(struct ds_router r, const float *logits, long ldl, const float *bias, long n,
				      int32_t *ids, float *w, float *scratch, long scratch_ld)
{
	long row = (long)blockIdx.x * blockDim.x + threadIdx.x;

	if (row >= n)
		return;
	ds_route_select_inline(&r, logits + (size_t)row * (size_t)ldl, bias, ids + (size_t)row * (size_t)r.top_k,
			       w + (size_t)row * (size_t)r.top_k, scratch + (size_t)row * (size_t)scratch_ld);
}

int dsc_route_select(struct dsc_ctx *c, const struct ds_router *r, const float *logits, long ldl, const float *bias,
		     long n, int32_t *ids, float *w, float *scratch, struct ds_error *err)
{
	if (n <= 0)
		return 0;
	DSC_LAUNCH(err, k_route_select, dim3((unsigned)((n + 31) / 32)), dim3(32), 0, c->st, false, *r, logits, ldl, bias,
		   n, ids, w, scratch, ds_router_scratch(r));
	return 0;
}
