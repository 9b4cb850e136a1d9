/*
 * dev.cuh - device-side helpers shared by the kernels: reading one weight
 * element in its dtype, the lane-partial dot product of a weight row with
 * f32 activations (FP8 block scales applied per 128 columns), and warp and
 * block reductions.  Kernel files only; nothing here is host code.
 *
 * Rules every kernel of the engine follows (so the emulator can check
 * them and the GPU needs no fences): no waiting on other blocks, no float
 * atomics (sums in a fixed order), every __syncthreads reached by all
 * threads of the block, warp collectives with the full mask by all lanes,
 * offsets in size_t.
 */
#ifndef DSC_DEV_CUH
#define DSC_DEV_CUH

#include "dsc.cuh"

template <int DT>
static __device__ __forceinline__ float dsc_elem(const void *p, size_t i)
{
	if (DT == DS_F32)
		return ((const float *)p)[i];
	if (DT == DS_BF16)
		return __bfloat162float(((const __nv_bfloat16 *)p)[i]);
	if (DT == DS_F16)
		return __half2float(((const __half *)p)[i]);
	__nv_fp8_e4m3 v;

	v.__x = ((const __nv_fp8_storage_t *)p)[i];
	return (float)v;
}

/* One weight element W[n][k] as f32, block scale applied (slow path:
 * gathers and transposed products). */
template <int DT>
static __device__ __forceinline__ float dsc_weight(const struct dsc_mat &w, long n, long k)
{
	float v = dsc_elem<DT>(w.data, (size_t)n * (size_t)w.ld + (size_t)k);

	if (DT == DS_F8_E4M3)
		v *= w.scale[(size_t)(n / 128) * (size_t)w.scale_ld + (size_t)(k / 128)];
	return v;
}

/* This lane's part of W[n] . x: columns lane, lane + 32, ..., summed per
 * 128-column block and scaled per block. */
template <int DT>
static __device__ __forceinline__ float dsc_row_dot_part(const struct dsc_mat &w, long n, const float *x, int lane)
{
	const size_t row = (size_t)n * (size_t)w.ld;
	float s = 0;

	for (long k0 = 0; k0 < w.cols; k0 += 128) {
		long k1 = k0 + 128 < w.cols ? k0 + 128 : w.cols;
		float p = 0;

		for (long k = k0 + lane; k < k1; k += 32)
			p += dsc_elem<DT>(w.data, row + (size_t)k) * x[k];
		if (DT == DS_F8_E4M3)
			p *= w.scale[(size_t)(n / 128) * (size_t)w.scale_ld + (size_t)(k0 / 128)];
		s += p;
	}
	return s;
}

/* The reduction of a warp (every lane gets it) and of a block, written
 * once for each operation: Op::f combines two values, Op::id<T>() is its
 * identity (what lanes past the last warp contribute). */
struct dsc_op_sum {
	template <class T> static __device__ __forceinline__ T f(T a, T b) { return a + b; }
	template <class T> static __device__ __forceinline__ T id() { return T(0); }
};

struct dsc_op_max {
	static __device__ __forceinline__ float f(float a, float b) { return fmaxf(a, b); }
	template <class T> static __device__ __forceinline__ T id() { return T(-INFINITY); }
};

template <class Op, class T> static __device__ __forceinline__ T dsc_warp_reduce(T v)
{
	for (int o = 16; o > 0; o >>= 1)
		v = Op::f(v, __shfl_xor_sync(0xffffffffu, v, o));
	return v;
}

static __device__ __forceinline__ float dsc_warp_sum(float v)
{
	return dsc_warp_reduce<dsc_op_sum>(v);
}

/* W[n] . x for the whole warp (every lane gets the sum); dtype chosen at
 * run time. */
static __device__ __forceinline__ float dsc_warp_dot(const struct dsc_mat &w, long n, const float *x, int lane)
{
	float p;

	switch (w.dtype) {
	case DS_F32:
		p = dsc_row_dot_part<DS_F32>(w, n, x, lane);
		break;
	case DS_F16:
		p = dsc_row_dot_part<DS_F16>(w, n, x, lane);
		break;
	case DS_BF16:
		p = dsc_row_dot_part<DS_BF16>(w, n, x, lane);
		break;
	default:
		p = dsc_row_dot_part<DS_F8_E4M3>(w, n, x, lane);
		break;
	}
	return dsc_warp_sum(p);
}

/* Sum (or max) over a block of blockDim.x threads (a multiple of 32, at
 * most 1024); red holds 32 values.  Every thread must call it; all get the
 * result. */
template <class Op, class T> static __device__ __forceinline__ T dsc_block_reduce(T v, T *red)
{
	int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;

	v = dsc_warp_reduce<Op>(v);
	if (lane == 0)
		red[warp] = v;
	__syncthreads();
	v = lane < nw ? red[lane] : Op::template id<T>();
	v = dsc_warp_reduce<Op>(v);
	__syncthreads();
	return v;
}

static __device__ __forceinline__ float dsc_block_sum(float v, float *red)
{
	return dsc_block_reduce<dsc_op_sum>(v, red);
}

static __device__ __forceinline__ float dsc_block_max(float v, float *red)
{
	return dsc_block_reduce<dsc_op_max>(v, red);
}

static __device__ __forceinline__ double dsc_block_sum_d(double v, double *red)
{
	return dsc_block_reduce<dsc_op_sum>(v, red);
}

static __device__ __forceinline__ float dsc_silu_mul1(float g, float u)
{
	return g / (1.0f + expf(-g)) * u;
}

#endif
