/*
 * ops.cuh - the operations the CUDA forward pass is made of, each a host
 * function that queues kernels (or cuBLAS calls) on the context's stream
 * over device buffers.  Nothing here synchronises or allocates, so every
 * op may be captured into a CUDA graph, except where it says it uses
 * cuBLAS (never inside a decode graph: those have at most
 * DSC_DECODE_ROWS rows and take the kernels).
 *
 * Numerics (cuda-design.md 3.6): activations f32 in and out; weights read
 * in their dtype and converted exactly; sums in f32 (RMSNorm statistics in
 * double, as ds_rmsnorm).  Products with more than DSC_DECODE_ROWS rows go
 * to cuBLAS with BF16 inputs (FP8 and F16 weights dequantised to a BF16
 * scratch first; F32 weights as f32 without TF32) unless the context is
 * exact, where every product is the f32 kernel.  Which kernels implement
 * what: norm.cu (RMSNorm, SwiGLU, conversions, embedding rows), gemv.cu
 * (the f32-activation products), gemm.cu (the cuBLAS path and the choice),
 * mla.cu (cache rows, rope, attention), route.cu, moe.cu.
 */
#ifndef DSC_OPS_CUH
#define DSC_OPS_CUH

#include "dsc.cuh"
#include "kv.cuh"

extern "C" {
#include "route.h"
}

struct dsc_ctx {
	cudaStream_t st;
	cublasHandle_t blas;	/* NULL in exact mode */
	int exact;
	__nv_bfloat16 *xb;	/* activation scratch for cuBLAS */
	size_t xb_elems;
	__nv_bfloat16 *wb;	/* dequantised weight scratch for cuBLAS */
	size_t wb_elems;
};

/*
 * A product with rows of a weight matrix, nb times over strided operands:
 *   y[b][r][j] = (acc ? y[b][r][j] : 0) + sum_k x[b][r][k] W[n0 + b bw + j][k]
 * for j < nout, r < nx, k < cols, with x[b] = x + b bx, y[b] = y + b by.
 */
struct dsc_lin {
	const struct dsc_mat *w;
	long n0, nout;
	const float *x;
	long ldx, nx;
	float *y;
	long ldy;
	int acc;
	long nb, bx, bw, by;
};

/* A whole matrix: y[r] (+)= W x[r]. */
static inline struct dsc_lin dsc_lin_all(const struct dsc_mat *w, const float *x, long ldx, long nx, float *y,
					 long ldy, int acc)
{
	struct dsc_lin l = { w, 0, w->rows, x, ldx, nx, y, ldy, acc, 1, 0, 0, 0 };

	return l;
}

/* Kernel or cuBLAS by row count and mode (see above). */
int dsc_linear(struct dsc_ctx *c, const struct dsc_lin *l, struct ds_error *err);
/* The f32 kernel whatever the row count. */
int dsc_gemv(struct dsc_ctx *c, const struct dsc_lin *l, struct ds_error *err);
/* The transposed product over a band of ni rows starting at row i0, nb
 * times (row band b at i0 + b bw):
 *   y[b][r][j] = sum_{i < ni} x[b][r][i] W[i0 + b bw + i][j]  for j < cols,
 * accumulated in ascending i (the absorption of W_UK into the query). */
int dsc_linear_t(struct dsc_ctx *c, const struct dsc_mat *w, long i0, long ni, const float *x, long ldx, long nx,
		 float *y, long ldy, long nb, long bx, long bw, long by, struct ds_error *err);
/* The f32 kernel for dsc_linear_t whatever the row count. */
int dsc_gemv_t(struct dsc_ctx *c, const struct dsc_mat *w, long i0, long ni, const float *x, long ldx, long nx,
	       float *y, long ldy, long nb, long bx, long bw, long by, struct ds_error *err);

/* out[r] = w * x[r] / sqrt(mean(x[r]^2) + eps), d values, n rows. */
int dsc_rmsnorm(struct dsc_ctx *c, const float *x, long ldx, float *out, long ldo, const float *w, long d, long n,
		float eps, struct ds_error *err);
/* g[r][i] = silu(g[r][i]) * u[r][i] for i < d. */
int dsc_silu_mul(struct dsc_ctx *c, float *g, const float *u, long ld, long d, long n, struct ds_error *err);
/* y[r][i] += x[r][i] for i < d. */
int dsc_add(struct dsc_ctx *c, float *y, const float *x, long ld, long d, long n, struct ds_error *err);

/* The per-row state of one step on the device (cuda-design.md 3.4): rows
 * 0..n-1 are at position pos[r] of the sequence cached in slot[r]
 * (-1: none), with token[r] (MTP: the next token) and cs[r] =
 * ds_rope_table(pos[r]) (dr floats), computed on the host. */
struct dsc_rows {
	const int32_t *pos, *slot, *token;
	const float *cs;
	long dr;
};

/* The MTP input: cat[r] = [enorm(embed[token[r]], zero at position 0) |
 * hnorm(norm(h[r]))], D values each. */
int dsc_mtp_input(struct dsc_ctx *c, const struct dsc_rows *rows, long n, const struct dsc_mat *embed,
		  const float *h, long ldh, const float *norm, const float *hnorm, const float *enorm, long D,
		  float eps, float *tmp, float *cat, long ldcat, struct ds_error *err);

/* The latent cache's view for the kernels. */
struct dsc_cache {
	char *const *tables;	/* dsc_kv.d_tables */
	long maxp, width, layer, nlayers;
	int f32;		/* rows in f32, else bf16 */
};

struct dsc_mla_dims {
	long H, dq, dn, dr, dv, rkv;
	float latent_eps, sigma;
};

/* Per row: cache row (pos, layer) = [kv_a_norm(kv[r][0..rkv)) |
 * rope(kv[r][rkv..))] and qf[r][h][rkv..rkv+dr) = rope(q[r][h][dn..dq)). */
int dsc_mla_cache_rows(struct dsc_ctx *c, const struct dsc_rows *rows, long n, const struct dsc_cache *cache,
		       const struct dsc_mla_dims *d, const float *kv, long ldkv, const float *kv_norm, const float *q,
		       long ldq, float *qf, struct ds_error *err);
/* ol[r][h] = sum_s softmax_s(sigma (qf[r][h] . row_s)) c_s over s <= pos[r]
 * (qf [n][H][rkv+dr], ol [n][H][rkv]). */
int dsc_mla_attend(struct dsc_ctx *c, const struct dsc_rows *rows, long n, const struct dsc_cache *cache,
		   const struct dsc_mla_dims *d, const float *qf, float *ol, struct ds_error *err);

/* ids/weights [n][K] from logits [n][E] by route.h's rules (one thread a
 * row; scratch [n][ds_router_scratch]). */
int dsc_route_select(struct dsc_ctx *c, const struct ds_router *r, const float *logits, long ldl, const float *bias,
		     long n, int32_t *ids, float *w, float *scratch, struct ds_error *err);

/* Decode MoE, experts read from ids on the device:
 * act[r K + k] = silu(gate_e x[r]) * up_e x[r], e = ids[r K + k]. */
int dsc_moe_gate_up(struct dsc_ctx *c, const struct dsc_mlp *ex, const int32_t *ids, long K, const float *x,
		    long ldx, long n, float *act, long ldact, struct ds_error *err);
/* h[r] += sum_k w[r K + k] down_e act[r K + k] (ascending k) + shared[r]
 * (shared may be NULL). */
int dsc_moe_down(struct dsc_ctx *c, const struct dsc_mlp *ex, const int32_t *ids, const float *w, long K,
		 const float *act, long ldact, const float *shared, float *h, long ldh, long n, struct ds_error *err);
/* Prefill MoE: xg[slot[i]] = x[i / K] for i < n K (rows grouped by
 * expert); then h[r] += sum_k w[r K + k] yg[slot[r K + k]] + shared[r]. */
int dsc_moe_gather(struct dsc_ctx *c, const int32_t *slot, long K, const float *x, long ldx, long n, float *xg,
		   long D, struct ds_error *err);
int dsc_moe_combine(struct dsc_ctx *c, const int32_t *slot, const float *w, long K, const float *yg, long ldy,
		    const float *shared, float *h, long ldh, long n, long D, struct ds_error *err);

#endif
