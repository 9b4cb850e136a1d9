// test-cuda-conformance-blas.cu - the cuBLAS semantics dspipe relies on,
// checked against a double-precision column-major reference written from
// the cuBLAS documentation: transposes and leading dimensions, the types
// of cublasGemmEx, strided and pointer-array batches, beta = 0 not reading
// C, scalars read at the call in host pointer mode, the handle's stream and
// graph capture, and the documented argument checks.  On a GPU a failure
// here means the emulator's model of cuBLAS is wrong.
#include "cuda/dsk.cuh"
#include "cudatest.h"

#include <cublas_v2.h>

#include <algorithm>
#include <vector>

// a host matrix in one of the GEMM types, its values as floats (after rounding)
struct hmat {
	cudaDataType t;
	std::vector<float> v;		// the values the device sees
	std::vector<unsigned char> raw;	// their bytes in type t
};

static size_t tsize(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

static hmat make(cudaDataType t, size_t n, float scale)
{
	hmat m{t, std::vector<float>(n), std::vector<unsigned char>(n * tsize(t))};
	for (size_t i = 0; i < n; i++) {
		float x = ct_frand() * scale;
		if (t == CUDA_R_16BF) {
			__nv_bfloat16 b = __float2bfloat16(x);
			memcpy(&m.raw[i * 2], &b, 2);
			x = __bfloat162float(b);
		} else if (t == CUDA_R_16F) {
			__half h = __float2half(x);
			memcpy(&m.raw[i * 2], &h, 2);
			x = __half2float(h);
		} else
			memcpy(&m.raw[i * 4], &x, 4);
		m.v[i] = x;
	}
	return m;
}

static void *upload(const hmat &m)
{
	void *d;
	CT_CK(cudaMalloc(&d, m.raw.size()));
	CT_CK(cudaMemcpy(d, m.raw.data(), m.raw.size(), cudaMemcpyHostToDevice));
	return d;
}

static std::vector<float> download(const void *d, cudaDataType t, size_t n)
{
	std::vector<unsigned char> raw(n * tsize(t));
	CT_CK(cudaMemcpy(raw.data(), d, raw.size(), cudaMemcpyDeviceToHost));
	std::vector<float> v(n);
	for (size_t i = 0; i < n; i++) {
		if (t == CUDA_R_16BF) {
			__nv_bfloat16 b;
			memcpy(&b, &raw[i * 2], 2);
			v[i] = __bfloat162float(b);
		} else if (t == CUDA_R_16F) {
			__half h;
			memcpy(&h, &raw[i * 2], 2);
			v[i] = __half2float(h);
		} else
			memcpy(&v[i], &raw[i * 4], 4);
	}
	return v;
}

// the documented product, column-major, in double: C = alpha op(A) op(B) + beta C
static std::vector<float> ref_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *A, int lda,
				   const float *B, int ldb, float beta, const float *C, int ldc)
{
	std::vector<float> out(C, C + (size_t)ldc * n);
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++) {
			double s = 0;
			for (int p = 0; p < k; p++) {
				double a = ta ? A[p + (size_t)i * lda] : A[i + (size_t)p * lda];
				double b = tb ? B[j + (size_t)p * ldb] : B[p + (size_t)j * ldb];
				s += a * b;
			}
			out[i + (size_t)j * ldc] = (float)(alpha * s + (beta != 0 ? beta * C[i + (size_t)j * ldc] : 0.0));
		}
	return out;
}

static cublasHandle_t H;

// one cublasGemmEx against the reference
static void gemm_case(bool ta, bool tb, cudaDataType in, cudaDataType out, cublasComputeType_t comp, int m, int n,
		      int k, double tol_rel, const char *what)
{
	int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 2, ldc = m + 1;
	hmat A = make(in, (size_t)lda * (ta ? m : k), 1), B = make(in, (size_t)ldb * (tb ? k : n), 1);
	hmat C = make(out, (size_t)ldc * n, 1);
	void *dA = upload(A), *dB = upload(B), *dC = upload(C);
	float alpha = 0.75f, beta = 0.5f;
	CT_BLAS(cublasGemmEx(H, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, dA, in, lda,
			dB, in, ldb, &beta, dC, out, ldc, comp, CUBLAS_GEMM_DEFAULT));
	std::vector<float> got = download(dC, out, C.v.size());
	std::vector<float> want = ref_gemm(ta, tb, m, n, k, alpha, A.v.data(), lda, B.v.data(), ldb, beta, C.v.data(), ldc);
	for (int j = 0; j < n; j++)	// the padding rows of C stay as they were
		want[(size_t)m + (size_t)j * ldc] = C.v[(size_t)m + (size_t)j * ldc];
	char d[200];
	snprintf(d, sizeof d, "cublasGemmEx %s%s %s m=%d n=%d k=%d, lda/ldb/ldc padded", ta ? "T" : "N", tb ? "T" : "N",
		 what, m, n, k);
	ct_close_rel(d, got.data(), want.data(), got.size(), tol_rel);
	CT_CK(cudaFree(dA));
	CT_CK(cudaFree(dB));
	CT_CK(cudaFree(dC));
}

// dspipe's y = x W^T with Hugging Face's row-major W[out][in] and x[tok][in]
static void test_linear_mapping(void)
{
	int out = 48, in = 80, tok = 6;
	hmat W = make(CUDA_R_16BF, (size_t)out * in, 0.1f), X = make(CUDA_R_16BF, (size_t)tok * in, 1);
	void *dW = upload(W), *dX = upload(X);
	float *dY;
	CT_CK(cudaMalloc(&dY, (size_t)tok * out * 4));
	float one = 1, zero = 0;
	CT_BLAS(cublasGemmEx(H, CUBLAS_OP_T, CUBLAS_OP_N, out, tok, in, &one, dW, CUDA_R_16BF, in, dX, CUDA_R_16BF, in, &zero,
			dY, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	std::vector<float> got = download(dY, CUDA_R_32F, (size_t)tok * out), want((size_t)tok * out);
	for (int t = 0; t < tok; t++)
		for (int o = 0; o < out; o++) {
			double s = 0;
			for (int i = 0; i < in; i++)
				s += (double)W.v[(size_t)o * in + i] * X.v[(size_t)t * in + i];
			want[(size_t)t * out + o] = (float)s;
		}
	ct_close_rel("y[tok][out] = x W^T as (T, N, m=out, n=tok, k=in, lda=in, ldb=in, ldc=out)",
		     got.data(), want.data(), got.size(), 1e-5);

	// W read as column-major (NN, lda=out) is another matrix: a visibly different y
	CT_BLAS(cublasGemmEx(H, CUBLAS_OP_N, CUBLAS_OP_N, out, tok, in, &one, dW, CUDA_R_16BF, out, dX, CUDA_R_16BF, in,
			&zero, dY, CUDA_R_32F, out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	std::vector<float> nn = download(dY, CUDA_R_32F, (size_t)tok * out);
	double diff = 0;
	for (size_t i = 0; i < nn.size(); i++)
		diff = std::max(diff, (double)fabsf(nn[i] - want[i]));
	printf("# measured NN reading of row-major W: max abs diff %.3g from x W^T\n", diff);
	ct_check("the NN reading of a row-major W is not x W^T", diff > 0.05 * ct_max_abs(want.data(), want.size()));

	cublasStatus_t s = cublasGemmEx(H, CUBLAS_OP_T, CUBLAS_OP_N, out, tok, in, &one, dW, CUDA_R_16BF, out, dX,
					CUDA_R_16BF, in, &zero, dY, CUDA_R_32F, out, CUBLAS_COMPUTE_32F,
					CUBLAS_GEMM_DEFAULT);
	ct_checkf(s == CUBLAS_STATUS_INVALID_VALUE, "TN with lda=out < k=in is %s", cublasGetStatusName(s));
	CT_CK(cudaFree(dW));
	CT_CK(cudaFree(dX));
	CT_CK(cudaFree(dY));
}

static void test_argument_checks(void)
{
	float one = 1, *d;
	CT_CK(cudaMalloc(&d, 4096));
	auto call = [&](cublasHandle_t h, int ta, int m, int n, int k, int lda, int ldb, int ldc, const float *al,
			cudaDataType at, cudaDataType bt, cudaDataType ct) {
		return cublasGemmEx(h, (cublasOperation_t)ta, CUBLAS_OP_N, m, n, k, al, d, at, lda, d, bt, ldb, &one, d,
				    ct, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
	};
	struct { cublasStatus_t want; cublasStatus_t got; const char *what; } c[] = {
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_N, -1, 4, 4, 4, 4, 4, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "m < 0"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_N, 4, 4, -2, 4, 4, 4, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "k < 0"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, 7, 4, 4, 4, 4, 4, 4, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "transa 7"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_N, 8, 4, 4, 7, 4, 8, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "N with lda < m"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_T, 8, 4, 6, 5, 6, 8, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "T with lda < k"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_N, 4, 4, 8, 4, 7, 4, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "ldb < k"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_N, 8, 4, 4, 8, 4, 7, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "ldc < m"},
		{CUBLAS_STATUS_INVALID_VALUE, call(H, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4, nullptr, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "alpha NULL"},
		{CUBLAS_STATUS_NOT_INITIALIZED, call(nullptr, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "no handle"},
		{CUBLAS_STATUS_NOT_SUPPORTED, call(H, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4, &one, CUDA_R_32F, CUDA_R_16BF, CUDA_R_32F), "A F32 with B BF16"},
		{CUBLAS_STATUS_NOT_SUPPORTED, call(H, CUBLAS_OP_N, 4, 4, 4, 4, 4, 4, &one, CUDA_R_16BF, CUDA_R_16BF, CUDA_R_16F), "BF16 into F16"},
		{CUBLAS_STATUS_SUCCESS, call(H, CUBLAS_OP_N, 0, 4, 4, 1, 4, 1, &one, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F), "m = 0, lda = 1"},
	};
	for (auto &x : c)
		ct_checkf(x.got == x.want, "cublasGemmEx with %s: %s (want %s)", x.what, cublasGetStatusName(x.got),
			  cublasGetStatusName(x.want));
	CT_CK(cudaDeviceSynchronize());
	CT_CK(cudaFree(d));
}

// beta = 0: C is not read (NaN there stays out); k = 0: C = beta C
static void test_beta_zero_and_k_zero(void)
{
	int m = 16, n = 3, k = 8;
	hmat A = make(CUDA_R_32F, (size_t)m * k, 1), B = make(CUDA_R_32F, (size_t)k * n, 1);
	void *dA = upload(A), *dB = upload(B);
	float *dC;
	CT_CK(cudaMalloc(&dC, (size_t)m * n * 4));
	CT_CK(cudaMemset(dC, 0xff, (size_t)m * n * 4));	// NaN
	float one = 1, zero = 0, half = 0.5f;
	CT_BLAS(cublasGemmEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, dA, CUDA_R_32F, m, dB, CUDA_R_32F, k, &zero, dC,
			CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	std::vector<float> got = download(dC, CUDA_R_32F, (size_t)m * n), c0((size_t)m * n, 0);
	std::vector<float> want = ref_gemm(false, false, m, n, k, 1, A.v.data(), m, B.v.data(), k, 0, c0.data(), m);
	ct_close_rel("beta = 0 does not read C (C was NaN)", got.data(), want.data(), got.size(), 1e-5);
	CT_BLAS(cublasGemmEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &one, dA, CUDA_R_32F, m, dB, CUDA_R_32F, 1, &half, dC,
			CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	std::vector<float> k0 = download(dC, CUDA_R_32F, (size_t)m * n);
	for (float &x : want)
		x *= 0.5f;
	ct_close_rel("k = 0 gives C = beta C", k0.data(), want.data(), k0.size(), 1e-6);
	CT_CK(cudaFree(dA));
	CT_CK(cudaFree(dB));
	CT_CK(cudaFree(dC));
}

static void test_batches(void)
{
	int m = 20, n = 4, k = 12, batch = 3;
	long long sa = (long long)m * k + 7, sc = (long long)m * n + 5;
	hmat A = make(CUDA_R_16BF, (size_t)sa * batch, 1), B = make(CUDA_R_16BF, (size_t)k * n, 1);
	hmat C = make(CUDA_R_32F, (size_t)sc * batch, 1);
	void *dA = upload(A), *dB = upload(B), *dC = upload(C);
	float one = 1, beta = 0.25f;
	// B's stride 0: every batch entry multiplies the same B
	CT_BLAS(cublasGemmStridedBatchedEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, dA, CUDA_R_16BF, m, sa, dB,
				      CUDA_R_16BF, k, 0, &beta, dC, CUDA_R_32F, m, sc, batch, CUBLAS_COMPUTE_32F,
				      CUBLAS_GEMM_DEFAULT));
	std::vector<float> got = download(dC, CUDA_R_32F, C.v.size()), want = C.v;
	for (int b = 0; b < batch; b++) {
		std::vector<float> r = ref_gemm(false, false, m, n, k, 1, &A.v[(size_t)b * sa], m, B.v.data(), k, beta,
						&C.v[(size_t)b * sc], m);
		std::copy(r.begin(), r.begin() + (size_t)m * n, want.begin() + (size_t)b * sc);
	}
	ct_close_rel("cublasGemmStridedBatchedEx, padded strides, strideB = 0",
		     got.data(), want.data(), got.size(), 1e-5);

	// the same through pointer arrays, in reverse order
	const void *pa[3], *pb[3];
	void *pc[3];
	for (int b = 0; b < batch; b++) {
		pa[b] = (const char *)dA + (size_t)(batch - 1 - b) * sa * 2;
		pb[b] = dB;
		pc[b] = (char *)dC + (size_t)(batch - 1 - b) * sc * 4;
	}
	void **dp;
	CT_CK(cudaMalloc(&dp, sizeof pa + sizeof pb + sizeof pc));
	CT_CK(cudaMemcpy(dp, pa, sizeof pa, cudaMemcpyHostToDevice));
	CT_CK(cudaMemcpy(dp + 3, pb, sizeof pb, cudaMemcpyHostToDevice));
	CT_CK(cudaMemcpy(dp + 6, pc, sizeof pc, cudaMemcpyHostToDevice));
	CT_CK(cudaMemcpy(dC, C.raw.data(), C.raw.size(), cudaMemcpyHostToDevice));
	CT_BLAS(cublasGemmBatchedEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, (const void *const *)dp, CUDA_R_16BF, m,
			       (const void *const *)(dp + 3), CUDA_R_16BF, k, &beta, (void *const *)(dp + 6), CUDA_R_32F,
			       m, batch, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	got = download(dC, CUDA_R_32F, C.v.size());
	ct_close_rel("cublasGemmBatchedEx through device pointer arrays", got.data(), want.data(), got.size(), 1e-5);
	CT_CK(cudaFree(dp));
	CT_CK(cudaFree(dA));
	CT_CK(cudaFree(dB));
	CT_CK(cudaFree(dC));
}

// host scalars are read at the call, the product runs on the handle's
// stream, and a captured GEMM reads its operands when the graph is replayed
static void test_scalars_streams_graphs(void)
{
	int m = 8, n = 2, k = 4;
	hmat A = make(CUDA_R_32F, (size_t)m * k, 1), B = make(CUDA_R_32F, (size_t)k * n, 1);
	void *dA = upload(A), *dB = upload(B);
	float *dC;
	CT_CK(cudaMalloc(&dC, (size_t)m * n * 4));
	cudaStream_t s;
	CT_CK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
	CT_BLAS(cublasSetStream(H, s));
	float alpha = 1, zero = 0;
	CT_BLAS(cublasGemmEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, dA, CUDA_R_32F, m, dB, CUDA_R_32F, k, &zero, dC,
			CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	alpha = 100;	// after the call: must not matter
	CT_CK(cudaStreamSynchronize(s));
	std::vector<float> got = download(dC, CUDA_R_32F, (size_t)m * n), c0((size_t)m * n, 0);
	std::vector<float> want = ref_gemm(false, false, m, n, k, 1, A.v.data(), m, B.v.data(), k, 0, c0.data(), m);
	ct_close_rel("host-mode alpha is read at the call; the product ran on the handle's stream", got.data(),
		     want.data(), got.size(), 1e-5);

	float *dalpha;
	CT_CK(cudaMalloc(&dalpha, 4));
	float two = 2;
	CT_CK(cudaMemcpyAsync(dalpha, &two, 4, cudaMemcpyHostToDevice, s));
	CT_CK(cudaStreamSynchronize(s));
	float *dzero;
	CT_CK(cudaMalloc(&dzero, 4));
	CT_CK(cudaMemsetAsync(dzero, 0, 4, s));
	CT_BLAS(cublasSetPointerMode(H, CUBLAS_POINTER_MODE_DEVICE));
	cudaGraph_t g;
	cudaGraphExec_t x;
	CT_CK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
	CT_BLAS(cublasGemmEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, dalpha, dA, CUDA_R_32F, m, dB, CUDA_R_32F, k, dzero, dC,
			CUDA_R_32F, m, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
	CT_CK(cudaStreamEndCapture(s, &g));
	CT_CK(cudaGraphInstantiate(&x, g, 0));
	CT_BLAS(cublasSetPointerMode(H, CUBLAS_POINTER_MODE_HOST));
	// new B and a new device alpha, then replay: the graph reads both now
	hmat B2 = make(CUDA_R_32F, (size_t)k * n, 1);
	CT_CK(cudaMemcpy(dB, B2.raw.data(), B2.raw.size(), cudaMemcpyHostToDevice));
	float three = 3;
	CT_CK(cudaMemcpy(dalpha, &three, 4, cudaMemcpyHostToDevice));
	CT_CK(cudaGraphLaunch(x, s));
	CT_CK(cudaStreamSynchronize(s));
	got = download(dC, CUDA_R_32F, (size_t)m * n);
	want = ref_gemm(false, false, m, n, k, 3, A.v.data(), m, B2.v.data(), k, 0, c0.data(), m);
	ct_close_rel("a captured GEMM reads B and its device-mode alpha at replay",
		     got.data(), want.data(), got.size(), 1e-5);
	CT_CK(cudaGraphExecDestroy(x));
	CT_CK(cudaGraphDestroy(g));
	CT_BLAS(cublasSetStream(H, 0));
	CT_CK(cudaStreamDestroy(s));
	CT_CK(cudaFree(dalpha));
	CT_CK(cudaFree(dzero));
	CT_CK(cudaFree(dA));
	CT_CK(cudaFree(dB));
	CT_CK(cudaFree(dC));
}

// F32 inputs: exact products by default, TF32 rounding when asked for
static void test_f32_precision(void)
{
	int m = 32, n = 8, k = 256;
	hmat A = make(CUDA_R_32F, (size_t)m * k, 1), B = make(CUDA_R_32F, (size_t)k * n, 1);
	void *dA = upload(A), *dB = upload(B);
	float *dC;
	CT_CK(cudaMalloc(&dC, (size_t)m * n * 4));
	float one = 1, zero = 0;
	std::vector<float> c0((size_t)m * n, 0);
	std::vector<float> want = ref_gemm(false, false, m, n, k, 1, A.v.data(), m, B.v.data(), k, 0, c0.data(), m);
	double errs[3];
	cublasComputeType_t comps[3] = {CUBLAS_COMPUTE_32F_PEDANTIC, CUBLAS_COMPUTE_32F, CUBLAS_COMPUTE_32F_FAST_TF32};
	for (int i = 0; i < 3; i++) {
		CT_BLAS(cublasGemmEx(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, dA, CUDA_R_32F, m, dB, CUDA_R_32F, k, &zero,
				dC, CUDA_R_32F, m, comps[i], CUBLAS_GEMM_DEFAULT));
		std::vector<float> got = download(dC, CUDA_R_32F, (size_t)m * n);
		errs[i] = 0;
		for (size_t j = 0; j < got.size(); j++)
			errs[i] = std::max(errs[i], (double)fabsf(got[j] - want[j]));
		errs[i] /= ct_max_abs(want.data(), want.size());
	}
	printf("# measured F32 GEMM k=256 rel err: pedantic %.3g, default %.3g, fast TF32 %.3g\n", errs[0], errs[1], errs[2]);
	ct_check("CUBLAS_COMPUTE_32F(_PEDANTIC) on F32 is full f32 (rel err < 1e-5)", errs[0] < 1e-5 && errs[1] < 1e-5);
	ct_check("CUBLAS_COMPUTE_32F_FAST_TF32 rounds inputs to TF32 (1e-5 < rel err < 5e-3)", errs[2] > 1e-5 && errs[2] < 5e-3);

	// cublasSgemm is the F32 GemmEx
	CT_BLAS(cublasSgemm(H, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, (const float *)dA, m, (const float *)dB, k, &zero, dC, m));
	std::vector<float> got = download(dC, CUDA_R_32F, (size_t)m * n);
	ct_close_rel("cublasSgemm", got.data(), want.data(), got.size(), 1e-5);
	CT_CK(cudaFree(dA));
	CT_CK(cudaFree(dB));
	CT_CK(cudaFree(dC));
}

static void test_handle(void)
{
	void *ws;
	CT_CK(cudaMalloc(&ws, 1 << 20));
	cublasStatus_t a = cublasSetWorkspace(H, ws, 1 << 20);
	cublasStatus_t b = cublasSetWorkspace(H, (char *)ws + 16, 4096);
	ct_checkf(a == CUBLAS_STATUS_SUCCESS && b == CUBLAS_STATUS_INVALID_VALUE,
		  "cublasSetWorkspace: 256-byte aligned device memory %s, 16 bytes off %s", cublasGetStatusName(a),
		  cublasGetStatusName(b));
	cublasMath_t mm;
	CT_BLAS(cublasSetMathMode(H, CUBLAS_PEDANTIC_MATH));
	CT_BLAS(cublasGetMathMode(H, &mm));
	ct_check("cublasSetMathMode / cublasGetMathMode", mm == CUBLAS_PEDANTIC_MATH);
	CT_BLAS(cublasSetMathMode(H, CUBLAS_DEFAULT_MATH));
	int v = 0;
	CT_BLAS(cublasGetVersion(H, &v));
	printf("# cublas version %d\n", v);
	ct_check("cublasGetVersion", v >= 13000);
	CT_BLAS(cublasSetWorkspace(H, nullptr, 0));
	CT_CK(cudaFree(ws));
}

int main(void)
{
	ct_need_device();
	CT_BLAS(cublasCreate(&H));
	for (int ta = 0; ta < 2; ta++)
		for (int tb = 0; tb < 2; tb++) {
			gemm_case(ta, tb, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_PEDANTIC, 37, 5, 70, 1e-5, "F32 pedantic");
			gemm_case(ta, tb, CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, 33, 7, 64, 1e-5, "BF16 in, F32 out");
		}
	gemm_case(true, false, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, 40, 3, 96, 1e-2, "BF16 in, BF16 out");
	gemm_case(false, true, CUDA_R_16F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 24, 9, 50, 1e-5, "F16 in, F32 out");
	gemm_case(true, true, CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, 24, 9, 50, 2e-3, "F16 in, F16 out");
	test_linear_mapping();
	test_argument_checks();
	test_beta_zero_and_k_zero();
	test_batches();
	test_scalars_streams_graphs();
	test_f32_precision();
	test_handle();
	CT_BLAS(cublasDestroy(H));
	return ct_done();
}
