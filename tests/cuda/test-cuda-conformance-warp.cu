// test-cuda-conformance-warp.cu - what the emulator takes warp collectives,
// block barriers, atomics and shared memory to mean, checked against
// expectations written from the CUDA Programming Guide's wording (not from
// the emulator's code), so that a run on a GPU says where its model is wrong.
//
// Each kernel writes what every lane got; the host compares with its own
// reading of the documented semantics.  Values from lanes outside a mask are
// undefined and never compared.
#include "cuda/dsk.cuh"
#include "cudatest.h"

#include <algorithm>
#include <vector>

enum { NT = 64 };	// two warps

// one shuffle configuration per launch: out[lane] = shuffled value of 1000 + lane
__global__ void k_shfl(int kind, int arg, int width, unsigned mask, int *out)
{
	int lane = threadIdx.x % 32, v = 1000 + (int)threadIdx.x;
	if (!(mask >> lane & 1))
		return;
	int r = 0;
	switch (kind) {
	case 0: r = __shfl_sync(mask, v, arg * lane + 5, width); break;
	case 1: r = __shfl_up_sync(mask, v, (unsigned)arg, width); break;
	case 2: r = __shfl_down_sync(mask, v, (unsigned)arg, width); break;
	case 3: r = __shfl_xor_sync(mask, v, arg, width); break;
	}
	out[threadIdx.x] = r;
}

// the lane a shuffle reads, from the guide's description of each intrinsic
static int expected_src(int kind, int lane, int arg, int w)
{
	int group = lane / w, in = lane % w;
	switch (kind) {
	case 0: return group * w + ((arg * lane + 5) % w);	// srcLane taken modulo width
	case 1: return in >= arg ? lane - arg : lane;		// below the group start: own value
	case 2: return in + arg < w ? lane + arg : lane;	// past the group end: own value
	case 3: {
		int j = lane ^ arg;					// a later group: own value
		return j / w > group ? lane : j;
	}
	}
	return -1;
}

__global__ void k_shfl_types(double *d, __nv_bfloat16 *h, long long *q)
{
	int lane = threadIdx.x;
	d[lane] = __shfl_down_sync(0xffffffffu, 0.5 + lane, 1);
	h[lane] = __shfl_xor_sync(0xffffffffu, __float2bfloat16(0.25f * lane), 3);
	q[lane] = __shfl_sync(0xffffffffu, (long long)lane << 40, 31 - lane);
}

// votes and reductions with a partial mask: lanes outside it return at once
__global__ void k_vote(unsigned mask, unsigned *out)
{
	int lane = threadIdx.x % 32;
	if (!(mask >> lane & 1))
		return;
	unsigned *o = out + threadIdx.x * 12;
	int pred = (lane % 3) == 0;
	o[0] = __ballot_sync(mask, pred);
	o[1] = (unsigned)__any_sync(mask, pred);
	o[2] = (unsigned)__all_sync(mask, pred);
	o[3] = (unsigned)__all_sync(mask, 1);
	o[4] = __reduce_add_sync(mask, (unsigned)lane * 7u);
	o[5] = __reduce_min_sync(mask, 100u - (unsigned)lane);
	o[6] = __reduce_max_sync(mask, (unsigned)(lane ^ 5));
	o[7] = (unsigned)__reduce_min_sync(mask, lane - 16);		// signed
	o[8] = __reduce_and_sync(mask, 0xf0u | (unsigned)lane);
	o[9] = __reduce_or_sync(mask, 1u << (lane % 8));
	o[10] = __reduce_xor_sync(mask, (unsigned)lane);
	o[11] = __match_any_sync(mask, lane / 5);
	__syncwarp(mask);
}

__global__ void k_barrier_ops(int *out)
{
	int t = threadIdx.x;
	int c = __syncthreads_count(t % 5 == 0);
	int a = __syncthreads_and(t < 1000);
	int a0 = __syncthreads_and(t != 17);
	int o = __syncthreads_or(t == 63);
	int o0 = __syncthreads_or(0);
	if (t == 0) {
		out[0] = c;
		out[1] = a;
		out[2] = a0;
		out[3] = o;
		out[4] = o0;
	}
}

__global__ void k_atomics(int *ci, float *cf, unsigned *cu, int *cm)
{
	int t = blockIdx.x * blockDim.x + threadIdx.x;
	atomicAdd(ci, 1);
	atomicAdd(cf, 0.5f);
	atomicInc(cu, 9u);		// wraps to 0 after 9
	atomicMax(cm, (t * 37) % 101);
	atomicCAS(cm + 1, 0, t + 1);	// only the first one wins
}

// a block-wide reversal through static shared memory, and a sum through dynamic
__global__ void k_smem(const int *in, int *out, int n)
{
	DS_SMEM(int, buf, 256);
	DS_DYN_SMEM(int, dyn);
	int t = threadIdx.x, base = blockIdx.x * n;
	buf[t] = in[base + t];
	dyn[t] = in[base + t] * 2;
	__syncthreads();
	out[base + t] = buf[n - 1 - t] + dyn[(t + 1) % n];
}

__global__ void k_big_dyn(int *out, int n)
{
	DS_DYN_SMEM(int, dyn);
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		dyn[i] = i;
	__syncthreads();
	int s = 0;
	for (int i = threadIdx.x; i < n; i += blockDim.x)
		s += dyn[n - 1 - i];
	atomicAdd(out, s);
}

static void test_shuffles(int *d_out)
{
	struct cfg { int kind, arg, width; unsigned mask; const char *what; } cfgs[] = {
		{0, 0, 32, 0xffffffffu, "__shfl_sync broadcast of lane 5"},
		{0, 3, 32, 0xffffffffu, "__shfl_sync srcLane 3*lane+5 (modulo 32)"},
		{0, 3, 16, 0xffffffffu, "__shfl_sync srcLane 3*lane+5, width 16"},
		{0, 1, 8, 0xffffffffu, "__shfl_sync srcLane lane+5, width 8"},
		{0, 1, 1, 0xffffffffu, "__shfl_sync width 1 (own value)"},
		{1, 1, 32, 0xffffffffu, "__shfl_up_sync delta 1"},
		{1, 3, 8, 0xffffffffu, "__shfl_up_sync delta 3, width 8"},
		{2, 1, 32, 0xffffffffu, "__shfl_down_sync delta 1"},
		{2, 5, 16, 0xffffffffu, "__shfl_down_sync delta 5, width 16"},
		{2, 16, 32, 0xffffffffu, "__shfl_down_sync delta 16"},
		{3, 1, 32, 0xffffffffu, "__shfl_xor_sync laneMask 1"},
		{3, 16, 32, 0xffffffffu, "__shfl_xor_sync laneMask 16"},
		{3, 8, 8, 0xffffffffu, "__shfl_xor_sync laneMask 8, width 8 (earlier groups read, later not)"},
		{3, 20, 16, 0xffffffffu, "__shfl_xor_sync laneMask 20, width 16"},
		{3, 2, 4, 0x0000ffffu, "__shfl_xor_sync laneMask 2, width 4, mask 0x0000ffff"},
		{2, 1, 8, 0x00ff00ffu, "__shfl_down_sync delta 1, width 8, mask 0x00ff00ff"},
		{0, 1, 4, 0xf0f0f0f0u, "__shfl_sync srcLane lane+5, width 4, mask 0xf0f0f0f0"},
	};
	std::vector<int> got(NT);
	for (const cfg &c : cfgs) {
		CT_CK(cudaMemset(d_out, 0, NT * sizeof(int)));
		CT_CK(dsk_launch(k_shfl, dim3(1), dim3(NT), 0, 0, false, c.kind, c.arg, c.width, c.mask, d_out));
		CT_CK(cudaMemcpy(got.data(), d_out, NT * sizeof(int), cudaMemcpyDeviceToHost));
		int bad = 0, compared = 0;
		for (int t = 0; t < NT; t++) {
			int lane = t % 32;
			if (!(c.mask >> lane & 1))
				continue;
			int src = expected_src(c.kind, lane, c.arg, c.width);
			if (!(c.mask >> src & 1))	// an inactive source: undefined
				continue;
			compared++;
			int want = 1000 + (t - lane) + src;
			if (got[t] != want) {
				if (!bad)
					printf("#   lane %d: got %d, want %d (lane %d)\n", t, got[t], want, src);
				bad++;
			}
		}
		ct_checkf(bad == 0 && compared > 0, "%s (%d lanes compared)", c.what, compared);
	}
}

static void test_shuffle_types(void)
{
	double *dd;
	__nv_bfloat16 *dh;
	long long *dq;
	CT_CK(cudaMalloc(&dd, 32 * sizeof(double)));
	CT_CK(cudaMalloc(&dh, 32 * sizeof(__nv_bfloat16)));
	CT_CK(cudaMalloc(&dq, 32 * sizeof(long long)));
	CT_CK(dsk_launch(k_shfl_types, dim3(1), dim3(32), 0, 0, false, dd, dh, dq));
	double d[32];
	__nv_bfloat16 h[32];
	long long q[32];
	CT_CK(cudaMemcpy(d, dd, sizeof d, cudaMemcpyDeviceToHost));
	CT_CK(cudaMemcpy(h, dh, sizeof h, cudaMemcpyDeviceToHost));
	CT_CK(cudaMemcpy(q, dq, sizeof q, cudaMemcpyDeviceToHost));
	int bad = 0;
	for (int l = 0; l < 32; l++) {
		bad += d[l] != 0.5 + (l < 31 ? l + 1 : l);
		bad += __bfloat162float(h[l]) != 0.25f * (l ^ 3);
		bad += q[l] != (long long)(31 - l) << 40;
	}
	ct_checkf(bad == 0, "shuffles of double, __nv_bfloat16 and long long (%d wrong)", bad);
	CT_CK(cudaFree(dd));
	CT_CK(cudaFree(dh));
	CT_CK(cudaFree(dq));
}

static void test_votes(void)
{
	unsigned masks[] = {0xffffffffu, 0x0000ffffu, 0x80000001u, 0x00f0f0f0u};
	unsigned *d;
	CT_CK(cudaMalloc(&d, NT * 12 * sizeof(unsigned)));
	for (unsigned mask : masks) {
		std::vector<unsigned> got(NT * 12);
		CT_CK(dsk_launch(k_vote, dim3(1), dim3(NT), 0, 0, false, mask, d));
		CT_CK(cudaMemcpy(got.data(), d, got.size() * sizeof(unsigned), cudaMemcpyDeviceToHost));
		unsigned ballot = 0, add = 0, umin = ~0u, umax = 0, band = ~0u, bor = 0, bx = 0;
		int imin = 1 << 30;
		for (int l = 0; l < 32; l++)
			if (mask >> l & 1) {
				ballot |= (unsigned)((l % 3) == 0) << l;
				add += (unsigned)l * 7u;
				umin = std::min(umin, 100u - (unsigned)l);
				umax = std::max(umax, (unsigned)(l ^ 5));
				imin = std::min(imin, l - 16);
				band &= 0xf0u | (unsigned)l;
				bor |= 1u << (l % 8);
				bx ^= (unsigned)l;
			}
		int bad = 0;
		for (int t = 0; t < NT; t++) {
			int l = t % 32;
			if (!(mask >> l & 1))
				continue;
			unsigned match = 0;
			for (int k = 0; k < 32; k++)
				if ((mask >> k & 1) && k / 5 == l / 5)
					match |= 1u << k;
			unsigned want[12] = {ballot, ballot != 0, ballot == mask, 1, add, umin, umax, (unsigned)imin,
					     band, bor, bx, match};
			for (int i = 0; i < 12; i++)
				if (got[t * 12 + i] != want[i]) {
					if (!bad)
						printf("#   lane %d item %d: got 0x%x want 0x%x\n", t, i, got[t * 12 + i], want[i]);
					bad++;
				}
		}
		ct_checkf(bad == 0, "ballot/any/all/reduce/match_any with mask 0x%08x", mask);
	}
	CT_CK(cudaFree(d));
}

static void test_barrier_ops(void)
{
	int *d, got[5];
	CT_CK(cudaMalloc(&d, sizeof got));
	CT_CK(dsk_launch(k_barrier_ops, dim3(1), dim3(NT), 0, 0, false, d));
	CT_CK(cudaMemcpy(got, d, sizeof got, cudaMemcpyDeviceToHost));
	ct_checkf(got[0] == 13 && got[1] == 1 && got[2] == 0 && got[3] == 1 && got[4] == 0,
		  "__syncthreads_count/_and/_or (%d %d %d %d %d)", got[0], got[1], got[2], got[3], got[4]);
	CT_CK(cudaFree(d));
}

static void test_atomics(void)
{
	int *ci, *cm;
	float *cf;
	unsigned *cu;
	CT_CK(cudaMalloc(&ci, sizeof(int)));
	CT_CK(cudaMalloc(&cf, sizeof(float)));
	CT_CK(cudaMalloc(&cu, sizeof(unsigned)));
	CT_CK(cudaMalloc(&cm, 2 * sizeof(int)));
	CT_CK(cudaMemset(ci, 0, sizeof(int)));
	CT_CK(cudaMemset(cf, 0, sizeof(float)));
	CT_CK(cudaMemset(cu, 0, sizeof(unsigned)));
	CT_CK(cudaMemset(cm, 0, 2 * sizeof(int)));
	int blocks = 7, threads = 96, n = blocks * threads;
	CT_CK(dsk_launch(k_atomics, dim3(blocks), dim3(threads), 0, 0, false, ci, cf, cu, cm));
	int i, m[2];
	float f;
	unsigned u;
	CT_CK(cudaMemcpy(&i, ci, sizeof i, cudaMemcpyDeviceToHost));
	CT_CK(cudaMemcpy(&f, cf, sizeof f, cudaMemcpyDeviceToHost));
	CT_CK(cudaMemcpy(&u, cu, sizeof u, cudaMemcpyDeviceToHost));
	CT_CK(cudaMemcpy(m, cm, sizeof m, cudaMemcpyDeviceToHost));
	ct_checkf(i == n && f == 0.5f * n && u == (unsigned)(n % 10) && m[0] == 100 && m[1] >= 1 && m[1] <= n,
		  "atomicAdd int/float, atomicInc wrap, atomicMax, atomicCAS (%d %g %u %d %d)", i, f, u, m[0], m[1]);
	CT_CK(cudaFree(ci));
	CT_CK(cudaFree(cf));
	CT_CK(cudaFree(cu));
	CT_CK(cudaFree(cm));
}

static void test_smem(void)
{
	int n = 256, blocks = 3;
	std::vector<int> in(n * blocks), got(n * blocks);
	for (int i = 0; i < n * blocks; i++)
		in[i] = i * 3 + 1;
	int *din, *dout;
	CT_CK(cudaMalloc(&din, in.size() * sizeof(int)));
	CT_CK(cudaMalloc(&dout, in.size() * sizeof(int)));
	CT_CK(cudaMemcpy(din, in.data(), in.size() * sizeof(int), cudaMemcpyHostToDevice));
	CT_CK(dsk_launch(k_smem, dim3(blocks), dim3(n), n * sizeof(int), 0, false, din, dout, n));
	CT_CK(cudaMemcpy(got.data(), dout, got.size() * sizeof(int), cudaMemcpyDeviceToHost));
	int bad = 0;
	for (int b = 0; b < blocks; b++)
		for (int t = 0; t < n; t++)
			bad += got[b * n + t] != in[b * n + n - 1 - t] + 2 * in[b * n + (t + 1) % n];
	ct_checkf(bad == 0, "DS_SMEM and DS_DYN_SMEM are per block (%d wrong)", bad);

	// 100 KiB of dynamic shared memory: refused without the attribute, fine with it
	int big = 100 * 1024 / (int)sizeof(int), *dsum, sum;
	CT_CK(cudaMalloc(&dsum, sizeof(int)));
	CT_CK(cudaMemset(dsum, 0, sizeof(int)));
	cudaError_t e = dsk_launch(k_big_dyn, dim3(1), dim3(256), big * sizeof(int), 0, false, dsum, big);
	ct_checkf(e == cudaErrorInvalidValue, "100 KiB dynamic shared memory without cudaFuncSetAttribute: %s",
		  cudaGetErrorName(e));
	cudaGetLastError();
	CT_CK(cudaFuncSetAttribute(k_big_dyn, cudaFuncAttributeMaxDynamicSharedMemorySize, big * (int)sizeof(int)));
	e = dsk_launch(k_big_dyn, dim3(1), dim3(256), big * sizeof(int), 0, false, dsum, big);
	CT_CK(cudaMemcpy(&sum, dsum, sizeof sum, cudaMemcpyDeviceToHost));
	ct_checkf(e == cudaSuccess && sum == big * (big - 1) / 2, "100 KiB dynamic shared memory with the attribute (%s)",
		  cudaGetErrorName(e));
	e = cudaFuncSetAttribute(k_big_dyn, cudaFuncAttributeMaxDynamicSharedMemorySize, 300 * 1024);
	ct_checkf(e == cudaErrorInvalidValue, "cudaFuncSetAttribute refuses 300 KiB: %s", cudaGetErrorName(e));
	cudaGetLastError();
	CT_CK(cudaFree(dsum));
	CT_CK(cudaFree(din));
	CT_CK(cudaFree(dout));
}

int main(void)
{
	ct_need_device();
	int *d_out;
	CT_CK(cudaMalloc(&d_out, NT * sizeof(int)));
	test_shuffles(d_out);
	test_shuffle_types();
	test_votes();
	test_barrier_ops();
	test_atomics();
	test_smem();
	CT_CK(cudaFree(d_out));
	return ct_done();
}
