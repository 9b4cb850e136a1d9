// emu-selftest.cu - deliberately wrong kernels, for the emulator only (built
// into build/emu/tests, never by nvcc: on a GPU most of them hang or are
// undefined).  tests/5155-cuda-emu-selftest.sh runs each case and checks
// that the emulator catches it: loud failures (a message on stderr, then an
// abort) for divergent barriers and collectives, results that change with
// the schedule for a missing __syncthreads, the 0xFF poison for memory read
// before it was written, and launch errors returned as CUDA returns them.
//
//   emu-selftest CASE      prints "result ..." lines on stdout
#include "cuda/dsk.cuh"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

enum { NT = 64 };

// half the block waits at one __syncthreads, half at another
__global__ void k_div_sync(int *out)
{
	if (threadIdx.x < NT / 2)
		__syncthreads();
	else
		__syncthreads();
	out[threadIdx.x] = 1;
}

// the first warp returns early, the rest wait at a barrier
__global__ void k_exit_sync(int *out)
{
	if (threadIdx.x < 32)
		return;
	__syncthreads();
	out[threadIdx.x] = 1;
}

// a full-warp shuffle while lane 0 has exited
__global__ void k_exited_lane(int *out)
{
	if (threadIdx.x == 0)
		return;
	out[threadIdx.x] = __shfl_sync(0xffffffffu, (int)threadIdx.x, 0);
}

// lanes of one warp at two different collectives
__global__ void k_div_collective(int *out)
{
	int v = threadIdx.x;
	if (threadIdx.x % 2)
		v = __shfl_xor_sync(0xffffffffu, v, 1);
	else
		v = __ballot_sync(0xffffffffu, v > 3);
	out[threadIdx.x] = v;
}

// a mask that does not name the calling lane
__global__ void k_bad_mask(int *out)
{
	out[threadIdx.x] = __shfl_sync(0x0000fffeu, (int)threadIdx.x, 1);
}

// out[t] = buf[t + 1] after every thread wrote buf[t]: right only with the barrier
__global__ void k_neighbour(float *out, int with_barrier)
{
	DS_SMEM(float, buf, NT);
	int t = threadIdx.x;
	buf[t] = (float)(t + 1);
	if (with_barrier)
		__syncthreads();
	out[t] = buf[(t + 1) % NT];
}

// reads a shared array nobody wrote
__global__ void k_unwritten_smem(float *out)
{
	DS_SMEM(float, buf, NT);
	out[threadIdx.x] = buf[threadIdx.x];
}

__global__ void k_copy(const float *in, float *out)
{
	out[threadIdx.x] = in[threadIdx.x];
}

static int *di;
static float *df, *dg;

static int finish(int rc)
{
	cudaFree(di);
	cudaFree(df);
	cudaFree(dg);
	return rc;
}

static void die(const char *what, cudaError_t e)
{
	printf("result %s: %s\n", what, cudaGetErrorName(e));
	exit(finish(e ? 1 : 0));
}

#define RUN(k, ...) do { \
	cudaError_t e_ = dsk_launch(k, dim3(1), dim3(NT), 0, 0, false, __VA_ARGS__); \
	if (e_) die("launch", e_); \
	die("sync", cudaDeviceSynchronize()); \
} while (0)

static float sum_of(const float *d, int n, int *nan)
{
	std::vector<float> h(n);
	cudaMemcpy(h.data(), d, n * sizeof(float), cudaMemcpyDeviceToHost);
	float s = 0;
	*nan = 0;
	for (int i = 0; i < n; i++) {
		if (h[i] != h[i])
			(*nan)++;
		else
			s += h[i] * (float)(i + 1);
	}
	return s;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: emu-selftest CASE\n");
		return 64;
	}
	const char *c = argv[1];
	cudaMalloc(&di, NT * sizeof(int));
	cudaMalloc(&df, NT * sizeof(float));
	cudaMalloc(&dg, NT * sizeof(float));
	if (!strcmp(c, "div-sync"))
		RUN(k_div_sync, di);
	if (!strcmp(c, "exit-sync"))
		RUN(k_exit_sync, di);
	if (!strcmp(c, "exited-lane"))
		RUN(k_exited_lane, di);
	if (!strcmp(c, "div-collective"))
		RUN(k_div_collective, di);
	if (!strcmp(c, "bad-mask"))
		RUN(k_bad_mask, di);
	if (!strcmp(c, "race") || !strcmp(c, "no-race")) {
		cudaError_t e = dsk_launch(k_neighbour, dim3(1), dim3(NT), 0, 0, false, df, (int)!strcmp(c, "no-race"));
		if (e)
			die("launch", e);
		int nan;
		float s = sum_of(df, NT, &nan);
		printf("result %s: checksum %.1f, %d NaN\n", c, s, nan);
		return finish(0);
	}
	if (!strcmp(c, "unwritten-smem")) {
		if (cudaError_t e = dsk_launch(k_unwritten_smem, dim3(1), dim3(NT), 0, 0, false, df))
			die("launch", e);
		int nan;
		sum_of(df, NT, &nan);
		printf("result unwritten-smem: %d of %d NaN\n", nan, NT);
		return finish(0);
	}
	if (!strcmp(c, "unwritten-global")) {	// cudaMalloc'd, never written
		if (cudaError_t e = dsk_launch(k_copy, dim3(1), dim3(NT), 0, 0, false, (const float *)dg, df))
			die("launch", e);
		int nan;
		sum_of(df, NT, &nan);
		printf("result unwritten-global: %d of %d NaN\n", nan, NT);
		return finish(0);
	}
	if (!strcmp(c, "big-block"))
		die("launch", dsk_launch(k_copy, dim3(1), dim3(1025), 0, 0, false, (const float *)dg, df));
	if (!strcmp(c, "empty-grid"))
		die("launch", dsk_launch(k_copy, dim3(0), dim3(NT), 0, 0, false, (const float *)dg, df));
	fprintf(stderr, "emu-selftest: unknown case %s\n", c);
	return finish(64);
}
