// lt.cc - the emulator's cuBLASLt subset: the FP8 block-scaled GEMM of
// cuda-design.md §1.3, plus plain BF16/F16/F32 matmuls through the same core.
//
// Modelled: handles; matmul descriptors (compute and scale type, pointer
// mode, TRANSA/TRANSB, EPILOGUE, A/B scale pointers and modes, FAST_ACCUM);
// matrix layouts (type, column order, rows, cols, ld, batch count and
// stride); preferences (workspace limit); cublasLtMatmulAlgoGetHeuristic,
// which returns one algorithm when the documented constraints hold and
// none (CUBLAS_STATUS_NOT_SUPPORTED) otherwise; cublasLtMatmul on the given
// stream, D = alpha op(A) op(B) + beta C with C and D separate.
//
// FP8 (A and B e4m3 or e5m2, not both e5m2), as the cuBLAS docs state for
// sm_90: compute 32F, scale type 32F, TRANSA = T and TRANSB = N only, D in
// BF16/F16/F32, the default epilogue, ld and pointers 16-byte aligned, K a
// multiple of 16.  Scale modes, in pairs (A, B): SCALAR_32F x SCALAR_32F
// (one f32 each, a null pointer meaning 1), and with M and N multiples of 4
// and no batch: VEC128 x VEC128, VEC128 x BLK128x128, BLK128x128 x VEC128.
// VEC128 scales are one f32 per row and 128-block of K, row-fastest:
// A's at [kb * M + m], B's at [kb * N + n].  BLK128x128 scales are one per
// 128 x 128 tile, K-fastest with the column stride rounded up to 4:
// A's at [mb * L4 + kb], B's at [nb * L4 + kb], L4 = 4 * ceil(ceil(K/128)/4).
// Each 128-block of K is summed in f32, then scaled by both factors and
// added (as block-scaled hardware promotes its accumulators).
//
// The layout of the VEC128 scales is the one open question of §1.3 (one
// public project says [n * L + kb]); tests/cuda/test-cuda-conformance-lt.cu
// runs both against this model, so a GPU settles it.
#include "rt-impl.h"

#include <cublasLt.h>
#include <cublas_api.h>

#include "blas-impl.h"

struct cublasLtContext {
	int magic = 0x4c74;
};

namespace {

using namespace emu;

struct lt_desc {
	uint32_t magic;
	int32_t compute, scale_type, pm, ta, tb;
	uint32_t epilogue;
	const void *sa, *sb;
	int32_t mode_a, mode_b;
	int8_t fast;
};
struct lt_layout {
	uint32_t magic;
	uint32_t type;
	int32_t order;
	uint64_t rows, cols;
	int64_t ld;
	int32_t batch;
	int64_t stride;
};
struct lt_pref {
	uint32_t magic;
	uint64_t max_ws;
};
static_assert(sizeof(lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "descriptor fits CUDA's opaque type");
static_assert(sizeof(lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout fits CUDA's opaque type");
static_assert(sizeof(lt_pref) <= sizeof(cublasLtMatmulPreferenceOpaque_t), "preference fits CUDA's opaque type");

const uint32_t DESC = 0x65647344, LAYOUT = 0x7479614c, PREF = 0x66657250, ALGO = 0x6f676c41;

lt_desc *D(cublasLtMatmulDesc_t d)
{
	lt_desc *p = d ? reinterpret_cast<lt_desc *>(d->data) : nullptr;
	return p && p->magic == DESC ? p : nullptr;
}
lt_layout *L(cublasLtMatrixLayout_t l)
{
	lt_layout *p = l ? reinterpret_cast<lt_layout *>(l->data) : nullptr;
	return p && p->magic == LAYOUT ? p : nullptr;
}
lt_pref *P(cublasLtMatmulPreference_t p)
{
	lt_pref *q = p ? reinterpret_cast<lt_pref *>(p->data) : nullptr;
	return q && q->magic == PREF ? q : nullptr;
}

// copy an attribute value of exactly its documented size
template <class T> cublasStatus_t put(T &field, const void *buf, size_t n)
{
	if (!buf || n != sizeof(T))
		return CUBLAS_STATUS_INVALID_VALUE;
	memcpy(&field, buf, sizeof(T));
	return CUBLAS_STATUS_SUCCESS;
}
template <class T> cublasStatus_t get(const T &field, void *buf, size_t n, size_t *written)
{
	if (written)
		*written = sizeof(T);
	if (!buf && n == 0)	// a size query
		return written ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;
	if (!buf || n < sizeof(T))
		return CUBLAS_STATUS_INVALID_VALUE;
	memcpy(buf, &field, sizeof(T));
	return CUBLAS_STATUS_SUCCESS;
}

bool is_fp8(uint32_t t) { return t == CUDA_R_8F_E4M3 || t == CUDA_R_8F_E5M2; }
bool is_block(int32_t m) { return m == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F || m == CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F; }

// the product a descriptor and four layouts describe
struct problem {
	const lt_desc *d;
	const lt_layout *a, *b, *c, *dd;
	int m, n, k;
	bool fp8;
};

// why the combination is not supported (nullptr: it is)
const char *unsupported(const problem &p)
{
	const lt_desc &d = *p.d;
	if (d.compute != CUBLAS_COMPUTE_32F && d.compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
	    d.compute != CUBLAS_COMPUTE_32F_FAST_TF32)
		return "compute type other than 32F";
	if (d.scale_type != CUDA_R_32F)
		return "scale type other than 32F";
	if (d.epilogue != CUBLASLT_EPILOGUE_DEFAULT)
		return "an epilogue";
	for (const lt_layout *l : {p.a, p.b, p.c, p.dd})
		if (l->order != CUBLASLT_ORDER_COL)
			return "a layout order other than column-major";
	if (p.c->type != p.dd->type || p.c->rows != p.dd->rows || p.c->cols != p.dd->cols)
		return "C and D of different types or shapes";
	if (p.a->batch != p.b->batch || p.a->batch != p.dd->batch || p.c->batch != p.dd->batch)
		return "different batch counts";
	if (!p.fp8) {
		if (is_fp8(p.a->type) || is_fp8(p.b->type))
			return "FP8 with a non-FP8 operand";
		if (d.mode_a || d.mode_b || d.sa || d.sb)
			return "scales on a non-FP8 matmul";
		if (p.a->type != p.b->type || !(p.a->type == CUDA_R_32F || p.a->type == CUDA_R_16F || p.a->type == CUDA_R_16BF))
			return "A and B types";
		if (!(p.dd->type == CUDA_R_32F || p.dd->type == p.a->type))
			return "D type";
		return nullptr;
	}
	if (p.a->type == CUDA_R_8F_E5M2 && p.b->type == CUDA_R_8F_E5M2)
		return "e5m2 x e5m2";
	if (!(p.dd->type == CUDA_R_16BF || p.dd->type == CUDA_R_16F || p.dd->type == CUDA_R_32F))
		return "an FP8 D";
	if (d.compute != CUBLAS_COMPUTE_32F)
		return "FP8 with a compute type other than CUBLAS_COMPUTE_32F";
	if (d.ta != CUBLAS_OP_T || d.tb != CUBLAS_OP_N)
		return "FP8 other than TN";
	if (p.k % 16)
		return "K not a multiple of 16";
	if (p.a->ld % 16 || p.b->ld % 16 || (p.dd->ld * (int64_t)type_size((cudaDataType)p.dd->type)) % 16 ||
	    (p.c->ld * (int64_t)type_size((cudaDataType)p.c->type)) % 16)
		return "a leading dimension that is not 16-byte aligned";
	int32_t ma = d.mode_a, mb = d.mode_b;
	bool scalar = ma == CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F && mb == CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
	bool blocks = (ma == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F && is_block(mb)) ||
		      (ma == CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F && mb == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F);
	if (!scalar && !blocks)
		return "this pair of scale modes";
	if (blocks && (p.m % 4 || p.n % 4))
		return "block scaling with M or N not a multiple of 4";
	if (blocks && p.dd->batch != 1)
		return "block scaling with a batch";
	if (blocks && d.fast)
		return "fast accumulation with block scaling";
	return nullptr;
}

// the shapes from the layouts; false when they do not fit together
bool shape(const lt_desc *d, const lt_layout *a, const lt_layout *b, const lt_layout *c, const lt_layout *dd,
	   problem *p)
{
	bool ta = d->ta != CUBLAS_OP_N, tb = d->tb != CUBLAS_OP_N;
	uint64_t am = ta ? a->cols : a->rows, ak = ta ? a->rows : a->cols;
	uint64_t bk = tb ? b->cols : b->rows, bn = tb ? b->rows : b->cols;
	if (ak != bk || am != dd->rows || bn != dd->cols || am > INT32_MAX || bn > INT32_MAX || ak > INT32_MAX)
		return false;
	for (const lt_layout *l : {a, b, c, dd})
		if (l->ld < (int64_t)std::max<uint64_t>(1, l->rows) || l->batch < 1)
			return false;
	*p = {d, a, b, c, dd, (int)am, (int)bn, (int)ak, is_fp8(a->type) || is_fp8(b->type)};
	return true;
}

float read_scalar(const lt_desc *d, const void *p)
{
	return *static_cast<const float *>(p);
}

// one FP8 product: the f32 128-block sums of op(A) op(B), scaled and added
void fp8_run(const problem &p, float alpha, float beta, const void *A, const void *B, const void *C, void *Dp,
	     const float *sa, const float *sb)
{
	const lt_desc &d = *p.d;
	int m = p.m, n = p.n, k = p.k, nkb = (k + 127) / 128, l4 = (nkb + 3) / 4 * 4;
	bool scalar = d.mode_a == CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F;
	float s0 = scalar ? (sa ? *sa : 1.0f) * (sb ? *sb : 1.0f) : 1.0f;
	operand oa{A, (cudaDataType)p.a->type, p.a->ld, true}, obt{B, (cudaDataType)p.b->type, p.b->ld, true};
	std::vector<float> af((size_t)m * k), bf((size_t)n * k);
	op_rows(oa, m, k, 0, m, af.data(), ROUND_NONE);
	op_rows(obt, n, k, 0, n, bf.data(), ROUND_NONE);
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++) {
			float acc = 0;
			for (int kb = 0; kb < nkb; kb++) {
				int k0 = kb * 128, len = k - k0 < 128 ? k - k0 : 128;
				float part = dot(&af[(size_t)i * k + k0], &bf[(size_t)j * k + k0], len);
				if (scalar) {
					acc += part;
					continue;
				}
				float fa = d.mode_a == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F ? sa[(size_t)kb * m + i]
										      : sa[(size_t)(i / 128) * l4 + kb];
				float fb = d.mode_b == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F ? sb[(size_t)kb * n + j]
										      : sb[(size_t)(j / 128) * l4 + kb];
				acc += part * fa * fb;
			}
			float v = alpha * (acc * s0);
			if (beta != 0)
				v += beta * load_elem((cudaDataType)p.c->type, C, (size_t)i + (size_t)j * p.c->ld);
			store_elem((cudaDataType)p.dd->type, Dp, (size_t)i + (size_t)j * p.dd->ld, v);
		}
}

// elements of the scale tensor a mode needs for rows x K
size_t scale_count(int32_t mode, int rows, int k)
{
	int nkb = (k + 127) / 128, l4 = (nkb + 3) / 4 * 4;
	if (mode == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F)
		return (size_t)nkb * rows;
	if (mode == CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F)
		return (size_t)l4 * ((rows + 127) / 128);
	return 1;
}

bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

} // namespace

extern "C" {

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h)
{
	if (!h)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!have_device())
		return CUBLAS_STATUS_NOT_INITIALIZED;
	*h = new cublasLtContext;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t h)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	delete h;
	return CUBLAS_STATUS_SUCCESS;
}

size_t cublasLtGetVersion(void)
{
	return CUBLAS_VERSION;	// cuBLASLt ships with cuBLAS and shares its version
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *out, cublasComputeType_t comp, cudaDataType_t st)
{
	if (!out)
		return CUBLAS_STATUS_INVALID_VALUE;
	cublasLtMatmulDesc_t d = new cublasLtMatmulDescOpaque_t();
	lt_desc *p = reinterpret_cast<lt_desc *>(d->data);
	*p = lt_desc{DESC, comp, st, CUBLASLT_POINTER_MODE_HOST, CUBLAS_OP_N, CUBLAS_OP_N, CUBLASLT_EPILOGUE_DEFAULT,
		     nullptr, nullptr, 0, 0, 0};
	*out = d;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d)
{
	if (!D(d))
		return CUBLAS_STATUS_INVALID_VALUE;
	delete d;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t a,
					      const void *buf, size_t n)
{
	lt_desc *d = D(desc);
	if (!d)
		return CUBLAS_STATUS_INVALID_VALUE;
	switch (a) {
	case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE: return put(d->compute, buf, n);
	case CUBLASLT_MATMUL_DESC_SCALE_TYPE: return put(d->scale_type, buf, n);
	case CUBLASLT_MATMUL_DESC_POINTER_MODE: return put(d->pm, buf, n);
	case CUBLASLT_MATMUL_DESC_TRANSA: return put(d->ta, buf, n);
	case CUBLASLT_MATMUL_DESC_TRANSB: return put(d->tb, buf, n);
	case CUBLASLT_MATMUL_DESC_EPILOGUE: return put(d->epilogue, buf, n);
	case CUBLASLT_MATMUL_DESC_A_SCALE_POINTER: return put(d->sa, buf, n);
	case CUBLASLT_MATMUL_DESC_B_SCALE_POINTER: return put(d->sb, buf, n);
	case CUBLASLT_MATMUL_DESC_A_SCALE_MODE: return put(d->mode_a, buf, n);
	case CUBLASLT_MATMUL_DESC_B_SCALE_MODE: return put(d->mode_b, buf, n);
	case CUBLASLT_MATMUL_DESC_FAST_ACCUM: return put(d->fast, buf, n);
	default:
		note("cublasLtMatmulDescSetAttribute: attribute %d is not emulated", (int)a);
		return CUBLAS_STATUS_NOT_SUPPORTED;
	}
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t a,
					      void *buf, size_t n, size_t *written)
{
	lt_desc *d = D(desc);
	if (!d)
		return CUBLAS_STATUS_INVALID_VALUE;
	switch (a) {
	case CUBLASLT_MATMUL_DESC_COMPUTE_TYPE: return get(d->compute, buf, n, written);
	case CUBLASLT_MATMUL_DESC_SCALE_TYPE: return get(d->scale_type, buf, n, written);
	case CUBLASLT_MATMUL_DESC_POINTER_MODE: return get(d->pm, buf, n, written);
	case CUBLASLT_MATMUL_DESC_TRANSA: return get(d->ta, buf, n, written);
	case CUBLASLT_MATMUL_DESC_TRANSB: return get(d->tb, buf, n, written);
	case CUBLASLT_MATMUL_DESC_EPILOGUE: return get(d->epilogue, buf, n, written);
	case CUBLASLT_MATMUL_DESC_A_SCALE_POINTER: return get(d->sa, buf, n, written);
	case CUBLASLT_MATMUL_DESC_B_SCALE_POINTER: return get(d->sb, buf, n, written);
	case CUBLASLT_MATMUL_DESC_A_SCALE_MODE: return get(d->mode_a, buf, n, written);
	case CUBLASLT_MATMUL_DESC_B_SCALE_MODE: return get(d->mode_b, buf, n, written);
	case CUBLASLT_MATMUL_DESC_FAST_ACCUM: return get(d->fast, buf, n, written);
	default: return CUBLAS_STATUS_NOT_SUPPORTED;
	}
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *out, cudaDataType t, uint64_t rows, uint64_t cols,
					  int64_t ld)
{
	if (!out)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!type_size(t))
		return CUBLAS_STATUS_INVALID_VALUE;
	cublasLtMatrixLayout_t l = new cublasLtMatrixLayoutOpaque_t();
	*reinterpret_cast<lt_layout *>(l->data) = lt_layout{LAYOUT, (uint32_t)t, CUBLASLT_ORDER_COL, rows, cols, ld, 1, 0};
	*out = l;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l)
{
	if (!L(l))
		return CUBLAS_STATUS_INVALID_VALUE;
	delete l;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t lay, cublasLtMatrixLayoutAttribute_t a,
						const void *buf, size_t n)
{
	lt_layout *l = L(lay);
	if (!l)
		return CUBLAS_STATUS_INVALID_VALUE;
	switch (a) {
	case CUBLASLT_MATRIX_LAYOUT_TYPE: return put(l->type, buf, n);
	case CUBLASLT_MATRIX_LAYOUT_ORDER: return put(l->order, buf, n);
	case CUBLASLT_MATRIX_LAYOUT_ROWS: return put(l->rows, buf, n);
	case CUBLASLT_MATRIX_LAYOUT_COLS: return put(l->cols, buf, n);
	case CUBLASLT_MATRIX_LAYOUT_LD: return put(l->ld, buf, n);
	case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return put(l->batch, buf, n);
	case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return put(l->stride, buf, n);
	default:
		note("cublasLtMatrixLayoutSetAttribute: attribute %d is not emulated", (int)a);
		return CUBLAS_STATUS_NOT_SUPPORTED;
	}
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t lay, cublasLtMatrixLayoutAttribute_t a,
						void *buf, size_t n, size_t *written)
{
	lt_layout *l = L(lay);
	if (!l)
		return CUBLAS_STATUS_INVALID_VALUE;
	switch (a) {
	case CUBLASLT_MATRIX_LAYOUT_TYPE: return get(l->type, buf, n, written);
	case CUBLASLT_MATRIX_LAYOUT_ORDER: return get(l->order, buf, n, written);
	case CUBLASLT_MATRIX_LAYOUT_ROWS: return get(l->rows, buf, n, written);
	case CUBLASLT_MATRIX_LAYOUT_COLS: return get(l->cols, buf, n, written);
	case CUBLASLT_MATRIX_LAYOUT_LD: return get(l->ld, buf, n, written);
	case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return get(l->batch, buf, n, written);
	case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return get(l->stride, buf, n, written);
	default: return CUBLAS_STATUS_NOT_SUPPORTED;
	}
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *out)
{
	if (!out)
		return CUBLAS_STATUS_INVALID_VALUE;
	cublasLtMatmulPreference_t p = new cublasLtMatmulPreferenceOpaque_t();
	*reinterpret_cast<lt_pref *>(p->data) = lt_pref{PREF, 0};
	*out = p;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p)
{
	if (!P(p))
		return CUBLAS_STATUS_INVALID_VALUE;
	delete p;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
						    cublasLtMatmulPreferenceAttributes_t a, const void *buf, size_t n)
{
	lt_pref *p = P(pref);
	if (!p)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (a == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES)
		return put(p->max_ws, buf, n);
	return buf ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_INVALID_VALUE;	// search hints: nothing to search
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t desc,
					      cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
					      cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
					      cublasLtMatmulPreference_t pref, int requested,
					      cublasLtMatmulHeuristicResult_t results[], int *returned)
{
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!D(desc) || !L(a) || !L(b) || !L(c) || !L(dd) || !P(pref) || requested <= 0 || !results || !returned)
		return CUBLAS_STATUS_INVALID_VALUE;
	*returned = 0;
	problem p;
	if (!shape(D(desc), L(a), L(b), L(c), L(dd), &p))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (unsupported(p))
		return CUBLAS_STATUS_NOT_SUPPORTED;
	memset(&results[0], 0, sizeof results[0]);
	results[0].algo.data[0] = ALGO;
	results[0].workspaceSize = 0;
	results[0].state = CUBLAS_STATUS_SUCCESS;
	results[0].wavesCount = 1.0f;
	*returned = 1;
	return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t desc, const void *alpha, const void *A,
			      cublasLtMatrixLayout_t la, const void *B, cublasLtMatrixLayout_t lb, const void *beta,
			      const void *C, cublasLtMatrixLayout_t lc, void *Dp, cublasLtMatrixLayout_t ld,
			      const cublasLtMatmulAlgo_t *algo, void *ws, size_t wsn, cudaStream_t s)
{
	(void)ws;
	(void)wsn;
	if (!h)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	const lt_desc *d = D(desc);
	if (!d || !L(la) || !L(lb) || !L(lc) || !L(ld) || !alpha || !beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (algo && algo->data[0] != ALGO)
		return CUBLAS_STATUS_INVALID_VALUE;
	problem p;
	if (!shape(d, L(la), L(lb), L(lc), L(ld), &p))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (const char *why = unsupported(p)) {
		note("cublasLtMatmul: %s is not supported", why);
		return CUBLAS_STATUS_NOT_SUPPORTED;
	}
	if (p.m == 0 || p.n == 0)
		return CUBLAS_STATUS_SUCCESS;
	bool blocks = p.fp8 && is_block(d->mode_a);
	if (p.fp8 && (!aligned16(A) || !aligned16(B) || !aligned16(C) || !aligned16(Dp) ||
		      (d->sa && !aligned16(d->sa)) || (d->sb && !aligned16(d->sb))))
		return CUBLAS_STATUS_NOT_SUPPORTED;
	if (blocks && (!d->sa || !d->sb))
		return CUBLAS_STATUS_INVALID_VALUE;
	const char *what = "cublasLtMatmul";
	int batch = p.dd->batch;
	auto ext = [&](const lt_layout *l) {
		size_t e = extent((int)l->rows, (int)l->cols, l->ld);
		return e ? e + (size_t)l->stride * (size_t)(batch - 1) : 0;
	};
	need_device(what, "A", A, p.k ? ext(p.a) : 0, (cudaDataType)p.a->type);
	need_device(what, "B", B, p.k ? ext(p.b) : 0, (cudaDataType)p.b->type);
	need_device(what, "D", Dp, ext(p.dd), (cudaDataType)p.dd->type);
	if (p.fp8) {
		need_device(what, "the A scales", d->sa, d->sa ? scale_count(d->mode_a, p.m, p.k) : 0, CUDA_R_32F);
		need_device(what, "the B scales", d->sb, d->sb ? scale_count(d->mode_b, p.n, p.k) : 0, CUDA_R_32F);
	}
	bool dev = d->pm == CUBLASLT_POINTER_MODE_DEVICE;
	if (dev) {
		need_device(what, "alpha", alpha, 1, CUDA_R_32F);
		need_device(what, "beta", beta, 1, CUDA_R_32F);
	}
	float al = dev ? 0 : read_scalar(d, alpha), be = dev ? 0 : read_scalar(d, beta);
	bool beta_read = dev || be != 0;
	if (beta_read)
		need_device(what, "C", C, ext(p.c), (cudaDataType)p.c->type);
	lt_desc dc = *d;
	lt_layout a = *p.a, b = *p.b, c = *p.c, dl = *p.dd;
	int round = d->compute == CUBLAS_COMPUTE_32F_FAST_TF32 ? ROUND_TF32 : ROUND_NONE;
	cudaError_t e = enqueue(s, what, [=]() {
		problem q = {&dc, &a, &b, &c, &dl, p.m, p.n, p.k, p.fp8};
		float x = dev ? *static_cast<const float *>(alpha) : al, y = dev ? *static_cast<const float *>(beta) : be;
		for (int i = 0; i < batch; i++) {
			const char *pa = static_cast<const char *>(A) + (size_t)a.stride * i * type_size((cudaDataType)a.type);
			const char *pb = static_cast<const char *>(B) + (size_t)b.stride * i * type_size((cudaDataType)b.type);
			const char *pc = static_cast<const char *>(C) + (size_t)c.stride * i * type_size((cudaDataType)c.type);
			char *pd = static_cast<char *>(Dp) + (size_t)dl.stride * i * type_size((cudaDataType)dl.type);
			if (q.fp8)
				fp8_run(q, x, y, pa, pb, pc, pd, static_cast<const float *>(dc.sa),
					static_cast<const float *>(dc.sb));
			else
				gemm_run(q.m, q.n, q.k, x, operand{pa, (cudaDataType)a.type, a.ld, dc.ta != CUBLAS_OP_N},
					 operand{pb, (cudaDataType)b.type, b.ld, dc.tb != CUBLAS_OP_N}, y, pc,
					 (cudaDataType)c.type, c.ld, pd, (cudaDataType)dl.type, dl.ld, round);
		}
	});
	return e ? CUBLAS_STATUS_EXECUTION_FAILED : CUBLAS_STATUS_SUCCESS;
}

} // extern "C"
