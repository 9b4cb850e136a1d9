// test-cuda-conformance-graph.cu - the stream-capture and graph rules the
// backend's decode graphs rely on, and the legacy stream's ordering, as the CUDA Programming Guide ("CUDA
// Graphs", "Prohibited and Unhandled Operations") and the runtime API
// reference state them, checked without reference to the emulator's code:
//
//  - nothing captured runs at capture time; it runs at each cudaGraphLaunch
//  - kernel arguments are fixed when captured; device memory is read when
//    the graph runs; a captured host-to-device copy reads its (pinned)
//    source when the graph runs
//  - replay gives the same bits as the same work done eagerly
//  - in Global mode synchronising or querying the capturing stream,
//    cudaMalloc, and work on the legacy stream while a blocking stream is
//    capturing are refused, invalidate the capture, and EndCapture then
//    returns cudaErrorStreamCaptureInvalidated with no graph; legacy-stream
//    work while only a non-blocking stream captures is allowed
//  - Relaxed mode allows cudaMalloc
//  - a second stream joins by waiting on an event recorded in the capture
//    and must be joined back, or EndCapture returns ...Unjoined
//  - EndCapture on a stream that is not capturing is cudaErrorIllegalState
//  - a synchronous cudaMemcpy waits for blocking streams, not non-blocking
//
// On a GPU a failure here means the emulator's model of graphs is wrong.
#include "cuda/dsk.cuh"
#include "cudatest.h"

#include <vector>

enum { N = 256 };

// out[pos * N + i] = in[i] * scale + pos, with pos a kernel argument
__global__ void k_arg_pos(const float *in, float *out, int pos, float scale)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < N)
		out[(size_t)pos * N + i] = in[i] * scale + (float)pos;
}

// the same with pos read from device memory when the kernel runs
__global__ void k_dev_pos(const float *in, float *out, const int *pos, float scale)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	int p = *pos;
	if (i < N)
		out[(size_t)p * N + i] = in[i] * scale + (float)p;
}

// a block-wide sum, so that replay-vs-eager compares a reduction's bits
__global__ void k_sum(const float *in, float *out)
{
	DS_SMEM(float, part, 128);
	int t = threadIdx.x;
	float s = 0;
	for (int i = t; i < N; i += blockDim.x)
		s += in[i] * in[i] * 0.37f;
	part[t] = s;
	__syncthreads();
	for (int w = 64; w > 0; w >>= 1) {
		if (t < w)
			part[t] += part[t + w];
		__syncthreads();
	}
	if (t == 0)
		out[0] = part[0];
}

__global__ void k_add(float *x, float v)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < N)
		x[i] += v;
}

static std::vector<float> download(const float *d, size_t n)
{
	std::vector<float> v(n);
	CT_CK(cudaMemcpy(v.data(), d, n * 4, cudaMemcpyDeviceToHost));
	return v;
}

static int count_wrong(const std::vector<float> &got, const std::vector<float> &want)
{
	int bad = 0;
	for (size_t i = 0; i < got.size(); i++)
		bad += !(got[i] == want[i]);
	return bad;
}

// what the two decode-style graphs write over four replays
static void test_args_and_device_state(void)
{
	const int steps = 4;
	float *in, *out;
	int *dpos, *hpos;
	std::vector<float> hin(N);
	for (int i = 0; i < N; i++)
		hin[i] = 0.25f * (float)i - 7;
	CT_CK(cudaMalloc(&in, N * 4));
	CT_CK(cudaMalloc(&out, steps * N * 4));
	CT_CK(cudaMalloc(&dpos, 4));
	CT_CK(cudaMallocHost(&hpos, 4));
	CT_CK(cudaMemcpy(in, hin.data(), N * 4, cudaMemcpyHostToDevice));
	cudaStream_t s;
	CT_CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	std::vector<float> zero(steps * N, 0), want(steps * N);
	for (int p = 0; p < steps; p++)
		for (int i = 0; i < N; i++)
			want[(size_t)p * N + i] = hin[i] * 2 + (float)p;

	// pos as a kernel argument: baked in at capture, every replay writes row 0
	CT_CK(cudaMemcpy(out, zero.data(), zero.size() * 4, cudaMemcpyHostToDevice));
	cudaGraph_t g;
	cudaGraphExec_t x;
	int pos = 0;
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	CT_CK(dsk_launch(k_arg_pos, dim3(N / 64), dim3(64), 0, s, false, in, out, pos, 2.0f));
	CT_CK(cudaStreamEndCapture(s, &g));
	CT_CK(cudaGraphInstantiate(&x, g, 0));
	CT_CK(cudaStreamSynchronize(s));
	std::vector<float> got = download(out, zero.size());
	ct_checkf(count_wrong(got, zero) == 0, "a captured kernel has not run after EndCapture and a sync (%d changed)",
		  count_wrong(got, zero));
	for (pos = 0; pos < steps; pos++)
		CT_CK(cudaGraphLaunch(x, s));
	CT_CK(cudaStreamSynchronize(s));
	got = download(out, zero.size());
	std::vector<float> row0 = zero;
	for (int i = 0; i < N; i++)
		row0[i] = want[i];
	ct_checkf(count_wrong(got, row0) == 0, "a kernel argument is fixed at capture: four replays all wrote row 0 (%d wrong)",
		  count_wrong(got, row0));
	CT_CK(cudaGraphExecDestroy(x));
	CT_CK(cudaGraphDestroy(g));

	// pos in device memory, written by a captured copy from pinned memory:
	// each replay reads the host value of that moment
	CT_CK(cudaMemcpy(out, zero.data(), zero.size() * 4, cudaMemcpyHostToDevice));
	*hpos = 99;
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	CT_CK(cudaMemcpyAsync(dpos, hpos, 4, cudaMemcpyHostToDevice, s));
	CT_CK(dsk_launch(k_dev_pos, dim3(N / 64), dim3(64), 0, s, false, in, out, dpos, 2.0f));
	CT_CK(cudaStreamEndCapture(s, &g));
	CT_CK(cudaGraphInstantiate(&x, g, 0));
	for (int p = 0; p < steps; p++) {
		*hpos = p;
		CT_CK(cudaGraphLaunch(x, s));
		CT_CK(cudaStreamSynchronize(s));	// the host value must not change under a running copy
	}
	got = download(out, zero.size());
	ct_checkf(count_wrong(got, want) == 0,
		  "state in device memory, set by a captured pinned copy, is read at each replay (%d wrong)",
		  count_wrong(got, want));
	CT_CK(cudaGraphExecDestroy(x));
	CT_CK(cudaGraphDestroy(g));
	CT_CK(cudaStreamDestroy(s));
	CT_CK(cudaFree(in));
	CT_CK(cudaFree(out));
	CT_CK(cudaFree(dpos));
	CT_CK(cudaFreeHost(hpos));
}

// the same reduction eagerly and as a graph: identical bits
static void test_replay_equals_eager(void)
{
	float *in, *out;
	std::vector<float> hin(N);
	for (int i = 0; i < N; i++)
		hin[i] = 1.0f / (float)(i + 3) - 0.1f;
	CT_CK(cudaMalloc(&in, N * 4));
	CT_CK(cudaMalloc(&out, 2 * 4));
	CT_CK(cudaMemcpy(in, hin.data(), N * 4, cudaMemcpyHostToDevice));
	cudaStream_t s;
	CT_CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CT_CK(dsk_launch(k_sum, dim3(1), dim3(128), 0, s, false, in, out));
	cudaGraph_t g;
	cudaGraphExec_t x;
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	CT_CK(dsk_launch(k_sum, dim3(1), dim3(128), 0, s, false, in, out + 1));
	CT_CK(cudaStreamEndCapture(s, &g));
	CT_CK(cudaGraphInstantiate(&x, g, 0));
	CT_CK(cudaGraphLaunch(x, s));
	CT_CK(cudaStreamSynchronize(s));
	std::vector<float> got = download(out, 2);
	ct_checkf(memcmp(&got[0], &got[1], 4) == 0 && got[0] == got[0],
		  "graph replay gives the eager result's bits (%.9g, %.9g)", got[0], got[1]);
	CT_CK(cudaGraphExecDestroy(x));
	CT_CK(cudaGraphDestroy(g));
	CT_CK(cudaStreamDestroy(s));
	CT_CK(cudaFree(in));
	CT_CK(cudaFree(out));
}

// an unsafe call: refused (rc), the capture reads Invalidated, EndCapture
// returns cudaErrorStreamCaptureInvalidated and no graph
static void refused_case(const char *what, cudaStream_t s, cudaError_t (*call)(cudaStream_t), cudaError_t want_rc)
{
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	cudaError_t rc = call(s);
	cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
	cudaError_t qs = cudaStreamIsCapturing(s, &st);
	cudaGraph_t g = (cudaGraph_t)&g;
	cudaError_t end = cudaStreamEndCapture(s, &g);
	(void)cudaGetLastError();
	ct_checkf(rc == want_rc && qs == cudaSuccess && st == cudaStreamCaptureStatusInvalidated &&
		  end == cudaErrorStreamCaptureInvalidated && g == nullptr,
		  "%s during a Global capture: %s (want %s), then status %s, EndCapture %s, graph %s", what,
		  cudaGetErrorName(rc), cudaGetErrorName(want_rc),
		  st == cudaStreamCaptureStatusInvalidated ? "invalidated" : st == cudaStreamCaptureStatusActive ?
		  "active" : "none", cudaGetErrorName(end), g ? "returned" : "null");
}

static void *g_leak;
static cudaError_t do_sync(cudaStream_t s) { return cudaStreamSynchronize(s); }
static cudaError_t do_query(cudaStream_t s) { return cudaStreamQuery(s); }
static cudaError_t do_malloc(cudaStream_t s)
{
	(void)s;
	g_leak = nullptr;
	return cudaMalloc(&g_leak, 1024);
}
static float *g_buf;
static cudaError_t do_legacy(cudaStream_t s)
{
	(void)s;
	return dsk_launch(k_add, dim3(N / 64), dim3(64), 0, (cudaStream_t)0, false, g_buf, 1.0f);
}

static void test_prohibited(void)
{
	cudaStream_t nb, blocking;
	CT_CK(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking));
	CT_CK(cudaStreamCreate(&blocking));
	CT_CK(cudaMalloc(&g_buf, N * 4));
	CT_CK(cudaMemset(g_buf, 0, N * 4));
	refused_case("cudaStreamSynchronize on the capturing stream", nb, do_sync, cudaErrorStreamCaptureUnsupported);
	refused_case("cudaStreamQuery on the capturing stream", nb, do_query, cudaErrorStreamCaptureUnsupported);
	refused_case("cudaMalloc", nb, do_malloc, cudaErrorStreamCaptureUnsupported);
	if (g_leak)
		CT_CK(cudaFree(g_leak));
	refused_case("a launch on the legacy stream while a blocking stream captures", blocking, do_legacy,
		     cudaErrorStreamCaptureImplicit);
	CT_CK(cudaDeviceSynchronize());
	std::vector<float> got = download(g_buf, N), zero(N, 0);
	ct_checkf(count_wrong(got, zero) == 0, "the refused legacy-stream launch did not run (%d changed)",
		  count_wrong(got, zero));

	// a non-blocking stream's capture makes no legacy stream dependency:
	// legacy-stream work goes ahead and the capture stays valid
	CT_CK(cudaStreamBeginCapture(nb, cudaStreamCaptureModeGlobal));
	cudaError_t l = do_legacy(nb);
	cudaGraph_t g = nullptr;
	cudaError_t le = cudaStreamEndCapture(nb, &g);
	CT_CK(cudaDeviceSynchronize());
	got = download(g_buf, N);
	ct_checkf(l == cudaSuccess && le == cudaSuccess && g != nullptr && got[0] == 1 && got[N - 1] == 1,
		  "a legacy-stream launch while only a non-blocking stream captures: %s, ran (%g), EndCapture %s",
		  cudaGetErrorName(l), got[0], cudaGetErrorName(le));
	if (g)
		CT_CK(cudaGraphDestroy(g));

	// Relaxed mode allows cudaMalloc; the capture still ends with a graph
	void *p = nullptr;
	CT_CK(cudaStreamBeginCapture(nb, cudaStreamCaptureModeRelaxed));
	cudaError_t m = cudaMalloc(&p, 1024);
	CT_CK(dsk_launch(k_add, dim3(N / 64), dim3(64), 0, nb, false, g_buf, 1.0f));
	g = nullptr;
	cudaError_t end = cudaStreamEndCapture(nb, &g);
	ct_checkf(m == cudaSuccess && end == cudaSuccess && g != nullptr,
		  "cudaMalloc during a Relaxed capture: %s, EndCapture %s", cudaGetErrorName(m), cudaGetErrorName(end));
	if (p)
		CT_CK(cudaFree(p));
	if (g)
		CT_CK(cudaGraphDestroy(g));

	// EndCapture without a capture
	g = nullptr;
	cudaError_t e = cudaStreamEndCapture(nb, &g);
	(void)cudaGetLastError();
	ct_checkf(e == cudaErrorIllegalState, "cudaStreamEndCapture on a stream that is not capturing: %s",
		  cudaGetErrorName(e));
	cudaStreamCaptureStatus st;
	CT_CK(cudaStreamIsCapturing(nb, &st));
	ct_check("cudaStreamIsCapturing after the capture ended: none", st == cudaStreamCaptureStatusNone);
	CT_CK(cudaStreamDestroy(nb));
	CT_CK(cudaStreamDestroy(blocking));
	CT_CK(cudaFree(g_buf));
}

// fork/join through events: both branches run at replay; an unjoined fork fails
static void test_fork_join(void)
{
	float *a, *b;
	CT_CK(cudaMalloc(&a, N * 4));
	CT_CK(cudaMalloc(&b, N * 4));
	CT_CK(cudaMemset(a, 0, N * 4));
	CT_CK(cudaMemset(b, 0, N * 4));
	CT_CK(cudaDeviceSynchronize());	// cudaMemset is asynchronous; s does not wait for the legacy stream
	cudaStream_t s, t;
	cudaEvent_t fork, join;
	CT_CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CT_CK(cudaStreamCreateWithFlags(&t, cudaStreamNonBlocking));
	CT_CK(cudaEventCreateWithFlags(&fork, cudaEventDisableTiming));
	CT_CK(cudaEventCreateWithFlags(&join, cudaEventDisableTiming));

	cudaGraph_t g;
	cudaGraphExec_t x;
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	CT_CK(dsk_launch(k_add, dim3(N / 64), dim3(64), 0, s, false, a, 1.0f));
	CT_CK(cudaEventRecord(fork, s));
	CT_CK(cudaStreamWaitEvent(t, fork, 0));
	cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
	CT_CK(cudaStreamIsCapturing(t, &st));
	ct_check("a stream waiting on an event recorded in a capture joins the capture",
		 st == cudaStreamCaptureStatusActive);
	CT_CK(dsk_launch(k_add, dim3(N / 64), dim3(64), 0, t, false, b, 10.0f));
	CT_CK(dsk_launch(k_add, dim3(N / 64), dim3(64), 0, s, false, a, 2.0f));
	CT_CK(cudaEventRecord(join, t));
	CT_CK(cudaStreamWaitEvent(s, join, 0));
	CT_CK(cudaStreamEndCapture(s, &g));
	CT_CK(cudaStreamIsCapturing(t, &st));
	ct_check("the forked stream leaves the capture at EndCapture", st == cudaStreamCaptureStatusNone);
	CT_CK(cudaGraphInstantiate(&x, g, 0));
	CT_CK(cudaGraphLaunch(x, s));
	CT_CK(cudaGraphLaunch(x, s));
	CT_CK(cudaStreamSynchronize(s));
	std::vector<float> ga = download(a, N), gb = download(b, N);
	ct_checkf(count_wrong(ga, std::vector<float>(N, 6)) == 0 && count_wrong(gb, std::vector<float>(N, 20)) == 0,
		  "two replays of a forked and joined graph ran both branches twice (a %g, b %g)", ga[0], gb[0]);
	CT_CK(cudaGraphExecDestroy(x));
	CT_CK(cudaGraphDestroy(g));

	// a fork that is never joined back
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal));
	CT_CK(cudaEventRecord(fork, s));
	CT_CK(cudaStreamWaitEvent(t, fork, 0));
	CT_CK(dsk_launch(k_add, dim3(N / 64), dim3(64), 0, t, false, b, 1.0f));
	g = nullptr;
	cudaError_t e = cudaStreamEndCapture(s, &g);
	(void)cudaGetLastError();
	ct_checkf(e == cudaErrorStreamCaptureUnjoined && g == nullptr,
		  "EndCapture with a forked stream not joined back: %s", cudaGetErrorName(e));
	CT_CK(cudaEventDestroy(fork));
	CT_CK(cudaEventDestroy(join));
	CT_CK(cudaStreamDestroy(s));
	CT_CK(cudaStreamDestroy(t));
	CT_CK(cudaFree(a));
	CT_CK(cudaFree(b));
}

// the legacy stream's implicit ordering, which a synchronous cudaMemcpy
// relies on: it waits for blocking streams, never for non-blocking ones
__global__ void k_fill(float *x, float v)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < N)
		x[i] = v + (float)i;
}

static void test_legacy_ordering(void)
{
	float *a;
	CT_CK(cudaMalloc(&a, N * 4));
	cudaStream_t blocking, nb;
	CT_CK(cudaStreamCreate(&blocking));
	CT_CK(cudaStreamCreateWithFlags(&nb, cudaStreamNonBlocking));
	std::vector<float> want(N);
	for (int i = 0; i < N; i++)
		want[i] = 3 + (float)i;

	// a blocking stream's kernel, then cudaMemcpy with no sync in between
	CT_CK(dsk_launch(k_fill, dim3(N / 64), dim3(64), 0, blocking, false, a, 3.0f));
	std::vector<float> got(N);
	CT_CK(cudaMemcpy(got.data(), a, N * 4, cudaMemcpyDeviceToHost));
	ct_checkf(count_wrong(got, want) == 0,
		  "cudaMemcpy waits for a blocking stream's earlier kernel (%d wrong)", count_wrong(got, want));

	// cudaMemset on the legacy stream, then a blocking stream's kernel adds to it
	CT_CK(cudaMemset(a, 0, N * 4));
	CT_CK(dsk_launch(k_add, dim3(N / 64), dim3(64), 0, blocking, false, a, 5.0f));
	CT_CK(cudaStreamSynchronize(blocking));
	got = download(a, N);
	ct_checkf(count_wrong(got, std::vector<float>(N, 5)) == 0,
		  "a blocking stream's kernel runs after an earlier cudaMemset on the legacy stream (a[0] %g)", got[0]);

#ifdef DS_EMU
	// a non-blocking stream's kernel is not waited for: without a sync the
	// host reads what was there before (the emulator runs it late; on a GPU
	// this is a race, so only the emulator checks it)
	float *b;
	CT_CK(cudaMalloc(&b, N * 4));
	CT_CK(dsk_launch(k_fill, dim3(N / 64), dim3(64), 0, nb, false, b, 3.0f));
	CT_CK(cudaMemcpy(got.data(), b, N * 4, cudaMemcpyDeviceToHost));
	int nan = 0;
	for (float v : got)
		nan += v != v;
	ct_checkf(nan == N, "cudaMemcpy does not wait for a non-blocking stream: an unsynchronised read sees the poison "
		  "(%d of %d NaN)", nan, N);
	CT_CK(cudaStreamSynchronize(nb));
	CT_CK(cudaMemcpy(got.data(), b, N * 4, cudaMemcpyDeviceToHost));
	ct_checkf(count_wrong(got, want) == 0, "after cudaStreamSynchronize the same read is right (%d wrong)",
		  count_wrong(got, want));
	CT_CK(cudaFree(b));
#else
	ct_skip("cudaMemcpy does not wait for a non-blocking stream", "a race on a GPU: checked in the emulator only");
#endif
	CT_CK(cudaStreamDestroy(blocking));
	CT_CK(cudaStreamDestroy(nb));
	CT_CK(cudaFree(a));
}

int main(void)
{
	ct_need_device();
	test_args_and_device_state();
	test_replay_equals_eager();
	test_prohibited();
	test_fork_join();
	test_legacy_ordering();
	return ct_done();
}
