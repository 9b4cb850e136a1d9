// blas.cc - the emulator's cuBLAS subset, and the GEMM core lt.cc shares.
//
// Modelled: cublasCreate/Destroy, Set/GetStream, SetWorkspace, Set/GetMathMode,
// Set/GetPointerMode, GetVersion/GetProperty, status names and strings;
// cublasGemmEx, cublasGemmStridedBatchedEx and cublasGemmBatchedEx with
// A/B in BF16, F16, F32 (or 8I into F32) and C in the same type or F32,
// CUBLAS_COMPUTE_32F (and _PEDANTIC, _FAST_TF32/_16BF/_16F), scale type F32;
// cublasSgemm and cublasSgemmStridedBatched.  The semantics are cuBLAS's:
// column-major, C = alpha op(A) op(B) + beta C, C not read when beta is 0,
// scalars read at the call in host pointer mode and when the product runs in
// device pointer mode, the product queued on the handle's stream (so it
// is captured into graphs like a kernel), and the documented argument checks
// (CUBLAS_STATUS_INVALID_VALUE for negative sizes, a bad transpose, lda <
// max(1, rows of A as stored), null scalars; NOT_SUPPORTED for a type
// combination cuBLAS does not offer).  Operands that are not device memory
// (a host pointer, or a matrix running past its allocation) abort with a
// message: on a GPU that is an illegal address.
//
// Numerics: inputs convert exactly to f32 (rounded to TF32/BF16/F16 first
// when the compute type or math mode allows it), products accumulate in f32
// in eight interleaved partial sums, the result rounds once to C's type
// (RN).  The GPU's tensor-core order differs; tests use tolerances.
#include "rt-impl.h"

#include <cublas_v2.h>

#include "blas-impl.h"

struct cublasContext {
	cudaStream_t stream = nullptr;
	void *ws = nullptr;
	size_t ws_size = 0;
	cublasMath_t math = CUBLAS_DEFAULT_MATH;
	cublasPointerMode_t pm = CUBLAS_POINTER_MODE_HOST;
};

namespace emu {

size_t type_size(cudaDataType t)
{
	switch (t) {
	case CUDA_R_32F: return 4;
	case CUDA_R_16F: case CUDA_R_16BF: return 2;
	case CUDA_R_8I: case CUDA_R_8U: case CUDA_R_8F_E4M3: case CUDA_R_8F_E5M2: return 1;
	case CUDA_R_64F: return 8;
	case CUDA_R_32I: return 4;
	default: return 0;
	}
}

float round_input(float x, int r)
{
	switch (r) {
	case ROUND_TF32: {	// 10 mantissa bits, nearest-even
		uint32_t u;
		memcpy(&u, &x, 4);
		if ((u & 0x7f800000u) != 0x7f800000u)
			u = (u + 0xfffu + ((u >> 13) & 1)) & ~0x1fffu;
		memcpy(&x, &u, 4);
		return x;
	}
	case ROUND_BF16: return __bfloat162float(__float2bfloat16(x));
	case ROUND_F16: return __half2float(__float2half(x));
	}
	return x;
}

float load_elem(cudaDataType t, const void *p, size_t i)
{
	switch (t) {
	case CUDA_R_32F: return static_cast<const float *>(p)[i];
	case CUDA_R_16F: return __half2float(static_cast<const __half *>(p)[i]);
	case CUDA_R_16BF: return __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]);
	case CUDA_R_8I: return static_cast<const int8_t *>(p)[i];
	case CUDA_R_8F_E4M3: return (float)static_cast<const __nv_fp8_e4m3 *>(p)[i];
	case CUDA_R_8F_E5M2: return (float)static_cast<const __nv_fp8_e5m2 *>(p)[i];
	default: fail("load of an unsupported data type %d", (int)t);
	}
}

void store_elem(cudaDataType t, void *p, size_t i, float v)
{
	switch (t) {
	case CUDA_R_32F: static_cast<float *>(p)[i] = v; break;
	case CUDA_R_16F: static_cast<__half *>(p)[i] = __float2half(v); break;
	case CUDA_R_16BF: static_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16(v); break;
	default: fail("store of an unsupported data type %d", (int)t);
	}
}

void op_rows(const operand &a, int rows, int k, int r0, int nr, float *out, int round)
{
	for (int i = 0; i < nr; i++)
		for (int p = 0; p < k; p++) {
			size_t at = a.trans ? (size_t)p + (size_t)(r0 + i) * (size_t)a.ld
					    : (size_t)(r0 + i) + (size_t)p * (size_t)a.ld;
			out[(size_t)i * k + p] = round_input(load_elem(a.t, a.p, at), round);
		}
	(void)rows;
}

float dot(const float *a, const float *b, int k)
{
	float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
	int p = 0;
	for (; p + 8 <= k; p += 8)
		for (int q = 0; q < 8; q++)
			s[q] += a[p + q] * b[p + q];
	float t = 0;
	for (; p < k; p++)
		t += a[p] * b[p];
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

void gemm_run(int m, int n, int k, float alpha, const operand &A, const operand &B, float beta,
	      const void *C, cudaDataType ct, long long ldc, void *D, cudaDataType dt, long long ldd, int round)
{
	if (m <= 0 || n <= 0)
		return;
	// op(B) column j as a row of k values: op(B) is op(B^T)^T, so read B
	// with the other transpose
	operand bt = B;
	bt.trans = !B.trans;
	std::vector<float> bf((size_t)n * (size_t)(k > 0 ? k : 1)), af;
	if (k > 0 && alpha != 0)
		op_rows(bt, n, k, 0, n, bf.data(), round);
	const int tile = 64;
	af.resize((size_t)tile * (size_t)(k > 0 ? k : 1));
	for (int i0 = 0; i0 < m; i0 += tile) {
		int nr = m - i0 < tile ? m - i0 : tile;
		bool prod = k > 0 && alpha != 0;
		if (prod)
			op_rows(A, m, k, i0, nr, af.data(), round);
		for (int j = 0; j < n; j++)
			for (int i = 0; i < nr; i++) {
				float acc = prod ? dot(&af[(size_t)i * k], &bf[(size_t)j * k], k) : 0.0f;
				float v = alpha * acc;
				if (beta != 0)
					v += beta * load_elem(ct, C, (size_t)(i0 + i) + (size_t)j * (size_t)ldc);
				store_elem(dt, D, (size_t)(i0 + i) + (size_t)j * (size_t)ldd, v);
			}
	}
}

// abort unless [p, p + extent elements) is device memory
void need_device(const char *what, const char *name, const void *p, size_t elems, cudaDataType t)
{
	if (!elems)
		return;
	if (!p)
		fail("%s: %s is a null pointer", what, name);
	size_t bytes = elems * type_size(t);
	int k = mem_classify(p, bytes);
	if (k != MEM_DEVICE)
		fail("%s: %s (%p, %zu bytes) is %s: an illegal address on a GPU", what, name, p, bytes,
		     k < 0 ? "a device allocation overrun" : "not device memory");
}

size_t extent(int rows, int cols, long long ld)
{
	return rows > 0 && cols > 0 ? (size_t)(rows - 1) + (size_t)(cols - 1) * (size_t)ld + 1 : 0;
}

} // namespace emu

using namespace emu;

namespace {

bool bad_op(int o)
{
	return o != CUBLAS_OP_N && o != CUBLAS_OP_T && o != CUBLAS_OP_C;
}

// a transpose argument as the int the caller passed: a value outside the
// enum (cuBLAS answers INVALID_VALUE) must not be loaded as the enum type
int op_arg(const cublasOperation_t *o)
{
	int v = 0;
	memcpy(&v, o, sizeof *o < sizeof v ? sizeof *o : sizeof v);
	return v;
}

bool known_type(cudaDataType t)
{
	return t == CUDA_R_32F || t == CUDA_R_16F || t == CUDA_R_16BF || t == CUDA_R_8I;
}

// the rounding of inputs a compute type (and the handle's math mode) allows,
// or -1 when the combination is not one cuBLAS offers with F32 scalars
int gemm_round(cublasComputeType_t ct, cudaDataType at, cudaDataType bt, cudaDataType c, cublasMath_t math)
{
	if (at != bt)
		return -1;
	switch (ct) {
	case CUBLAS_COMPUTE_32F:
	case CUBLAS_COMPUTE_32F_PEDANTIC:
		if (at == CUDA_R_32F && c == CUDA_R_32F)
			return ct == CUBLAS_COMPUTE_32F && (math & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH ? ROUND_TF32 : ROUND_NONE;
		if ((at == CUDA_R_16BF || at == CUDA_R_16F) && (c == at || c == CUDA_R_32F))
			return ROUND_NONE;
		if (at == CUDA_R_8I && c == CUDA_R_32F)
			return ROUND_NONE;
		return -1;
	case CUBLAS_COMPUTE_32F_FAST_TF32:
		return at == CUDA_R_32F && c == CUDA_R_32F ? ROUND_TF32 : -1;
	case CUBLAS_COMPUTE_32F_FAST_16BF:
		return at == CUDA_R_32F && c == CUDA_R_32F ? ROUND_BF16 : -1;
	case CUBLAS_COMPUTE_32F_FAST_16F:
		return at == CUDA_R_32F && c == CUDA_R_32F ? ROUND_F16 : -1;
	default:
		return -1;
	}
}

struct gemm_args {
	int ta, tb;
	int m, n, k;
	const void *alpha, *beta;
	cudaDataType at, bt, ct;
	int lda, ldb, ldc;
	cublasComputeType_t comp;
};

// the documented checks, in cuBLAS's order; the rounding mode on success
cublasStatus_t gemm_check(cublasHandle_t h, const gemm_args &g, int *round)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (g.m < 0 || g.n < 0 || g.k < 0 || bad_op(g.ta) || bad_op(g.tb))
		return CUBLAS_STATUS_INVALID_VALUE;
	int arows = g.ta == CUBLAS_OP_N ? g.m : g.k, brows = g.tb == CUBLAS_OP_N ? g.k : g.n;
	if (g.lda < std::max(1, arows) || g.ldb < std::max(1, brows) || g.ldc < std::max(1, g.m))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!g.alpha || !g.beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!known_type(g.at) || !known_type(g.bt) || !known_type(g.ct))
		return CUBLAS_STATUS_INVALID_VALUE;
	*round = gemm_round(g.comp, g.at, g.bt, g.ct, h->math);
	return *round < 0 ? CUBLAS_STATUS_NOT_SUPPORTED : CUBLAS_STATUS_SUCCESS;
}

// read a scalar now (host mode) or at execution (device mode)
struct scalar {
	float v;
	const float *dev;
	float get() const { return dev ? *dev : v; }
};

scalar take_scalar(cublasHandle_t h, const void *p, const char *what)
{
	if (h->pm == CUBLAS_POINTER_MODE_DEVICE) {
		need_device(what, "a device-mode scalar", p, 1, CUDA_R_32F);
		return {0, static_cast<const float *>(p)};
	}
	return {*static_cast<const float *>(p), nullptr};
}

// one product per batch entry; pointer arrays (ptrs) are read when it runs
cublasStatus_t gemm_queue(cublasHandle_t h, const char *what, const gemm_args &g, const void *A, const void *B,
			  void *C, long long sa, long long sb, long long sc, int batch, bool ptrs)
{
	int round = 0;
	cublasStatus_t st = gemm_check(h, g, &round);
	if (st)
		return st;
	if (batch < 0)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (g.m == 0 || g.n == 0 || batch == 0)
		return CUBLAS_STATUS_SUCCESS;
	bool na = g.ta == CUBLAS_OP_N, nb = g.tb == CUBLAS_OP_N;
	size_t ea = extent(na ? g.m : g.k, na ? g.k : g.m, g.lda);
	size_t eb = extent(nb ? g.k : g.n, nb ? g.n : g.k, g.ldb);
	size_t ec = extent(g.m, g.n, g.ldc);
	if (ptrs) {
		need_device(what, "Aarray", A, (size_t)batch, CUDA_R_64F);
		need_device(what, "Barray", B, (size_t)batch, CUDA_R_64F);
		need_device(what, "Carray", C, (size_t)batch, CUDA_R_64F);
	} else {
		need_device(what, "A", A, ea ? ea + (size_t)sa * (size_t)(batch - 1) : 0, g.at);
		need_device(what, "B", B, eb ? eb + (size_t)sb * (size_t)(batch - 1) : 0, g.bt);
		need_device(what, "C", C, ec + (size_t)sc * (size_t)(batch - 1), g.ct);
	}
	scalar alpha = take_scalar(h, g.alpha, what), beta = take_scalar(h, g.beta, what);
	gemm_args a = g;
	cudaError_t e = enqueue(h->stream, what, [=]() {
		float al = alpha.get(), be = beta.get();
		for (int b = 0; b < batch; b++) {
			const void *pa, *pb;
			void *pc;
			if (ptrs) {
				pa = static_cast<const void *const *>(A)[b];
				pb = static_cast<const void *const *>(B)[b];
				pc = static_cast<void *const *>(C)[b];
				need_device(what, "A", pa, ea, a.at);
				need_device(what, "B", pb, eb, a.bt);
				need_device(what, "C", pc, ec, a.ct);
			} else {
				pa = static_cast<const char *>(A) + (size_t)sa * b * type_size(a.at);
				pb = static_cast<const char *>(B) + (size_t)sb * b * type_size(a.bt);
				pc = static_cast<char *>(C) + (size_t)sc * b * type_size(a.ct);
			}
			operand oa{pa, a.at, a.lda, !na}, ob{pb, a.bt, a.ldb, !nb};
			gemm_run(a.m, a.n, a.k, al, oa, ob, be, pc, a.ct, a.ldc, pc, a.ct, a.ldc, round);
		}
	});
	return e ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}

} // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t *h)
{
	if (!h)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!have_device())
		return CUBLAS_STATUS_NOT_INITIALIZED;
	*h = new cublasContext;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t h)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	delete h;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t h, cudaStream_t s)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	h->stream = s;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t h, cudaStream_t *s)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!s)
		return CUBLAS_STATUS_INVALID_VALUE;
	*s = h->stream;
	return CUBLAS_STATUS_SUCCESS;
}

// the workspace must be device memory aligned to 256 bytes (the emulator needs none)
cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t h, void *ws, size_t n)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (n && (!ws || ((uintptr_t)ws & 255) || mem_classify(ws, n) != MEM_DEVICE))
		return CUBLAS_STATUS_INVALID_VALUE;
	h->ws = ws;
	h->ws_size = n;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t m)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	h->math = m;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t h, cublasMath_t *m)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!m)
		return CUBLAS_STATUS_INVALID_VALUE;
	*m = h->math;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t h, cublasPointerMode_t m)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (m != CUBLAS_POINTER_MODE_HOST && m != CUBLAS_POINTER_MODE_DEVICE)
		return CUBLAS_STATUS_INVALID_VALUE;
	h->pm = m;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t h, cublasPointerMode_t *m)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!m)
		return CUBLAS_STATUS_INVALID_VALUE;
	*m = h->pm;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t h, int *v)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!v)
		return CUBLAS_STATUS_INVALID_VALUE;
	*v = CUBLAS_VERSION;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType t, int *v)
{
	if (!v)
		return CUBLAS_STATUS_INVALID_VALUE;
	*v = t == MAJOR_VERSION ? CUBLAS_VER_MAJOR : t == MINOR_VERSION ? CUBLAS_VER_MINOR : CUBLAS_VER_PATCH;
	return CUBLAS_STATUS_SUCCESS;
}

#define BLAS_STATUS(X) \
	X(CUBLAS_STATUS_SUCCESS, "the operation completed successfully") \
	X(CUBLAS_STATUS_NOT_INITIALIZED, "the library was not initialized") \
	X(CUBLAS_STATUS_ALLOC_FAILED, "the resource allocation failed") \
	X(CUBLAS_STATUS_INVALID_VALUE, "an invalid numeric value was used as an argument") \
	X(CUBLAS_STATUS_ARCH_MISMATCH, "an absent device architectural feature is required") \
	X(CUBLAS_STATUS_MAPPING_ERROR, "an access to GPU memory space failed") \
	X(CUBLAS_STATUS_EXECUTION_FAILED, "the GPU program failed to execute") \
	X(CUBLAS_STATUS_INTERNAL_ERROR, "an internal operation failed") \
	X(CUBLAS_STATUS_NOT_SUPPORTED, "the functionality requested is not supported") \
	X(CUBLAS_STATUS_LICENSE_ERROR, "error detected trying to check the license")

const char *cublasGetStatusName(cublasStatus_t s)
{
#define S(c, t) case c: return #c;
	switch (s) { BLAS_STATUS(S) default: return "CUBLAS_STATUS_UNKNOWN"; }
#undef S
}

const char *cublasGetStatusString(cublasStatus_t s)
{
#define S(c, t) case c: return t;
	switch (s) { BLAS_STATUS(S) default: return "unknown error"; }
#undef S
}

cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
			    const void *alpha, const void *A, cudaDataType at, int lda, const void *B,
			    cudaDataType bt, int ldb, const void *beta, void *C, cudaDataType ct, int ldc,
			    cublasComputeType_t comp, cublasGemmAlgo_t algo)
{
	(void)algo;
	gemm_args g{op_arg(&ta), op_arg(&tb), m, n, k, alpha, beta, at, bt, ct, lda, ldb, ldc, comp};
	return gemm_queue(h, "cublasGemmEx", g, A, B, C, 0, 0, 0, 1, false);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
					  int n, int k, const void *alpha, const void *A, cudaDataType at, int lda,
					  long long sa, const void *B, cudaDataType bt, int ldb, long long sb,
					  const void *beta, void *C, cudaDataType ct, int ldc, long long sc,
					  int batch, cublasComputeType_t comp, cublasGemmAlgo_t algo)
{
	(void)algo;
	gemm_args g{op_arg(&ta), op_arg(&tb), m, n, k, alpha, beta, at, bt, ct, lda, ldb, ldc, comp};
	return gemm_queue(h, "cublasGemmStridedBatchedEx", g, A, B, C, sa, sb, sc, batch, false);
}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
				   int k, const void *alpha, const void *const A[], cudaDataType at, int lda,
				   const void *const B[], cudaDataType bt, int ldb, const void *beta, void *const C[],
				   cudaDataType ct, int ldc, int batch, cublasComputeType_t comp, cublasGemmAlgo_t algo)
{
	(void)algo;
	gemm_args g{op_arg(&ta), op_arg(&tb), m, n, k, alpha, beta, at, bt, ct, lda, ldb, ldc, comp};
	return gemm_queue(h, "cublasGemmBatchedEx", g, A, B, const_cast<void **>(C), 0, 0, 0, batch, true);
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
			      const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta,
			      float *C, int ldc)
{
	gemm_args g{op_arg(&ta), op_arg(&tb), m, n, k, alpha, beta, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, lda, ldb, ldc,
		    CUBLAS_COMPUTE_32F};
	return gemm_queue(h, "cublasSgemm", g, A, B, C, 0, 0, 0, 1, false);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
					 int n, int k, const float *alpha, const float *A, int lda, long long sa,
					 const float *B, int ldb, long long sb, const float *beta, float *C, int ldc,
					 long long sc, int batch)
{
	gemm_args g{op_arg(&ta), op_arg(&tb), m, n, k, alpha, beta, CUDA_R_32F, CUDA_R_32F, CUDA_R_32F, lda, ldb, ldc,
		    CUBLAS_COMPUTE_32F};
	return gemm_queue(h, "cublasSgemmStridedBatched", g, A, B, C, sa, sb, sc, batch, false);
}

} // extern "C"
