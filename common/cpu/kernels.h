/*
 * kernels.h - the CPU compute primitives of the forward pass: products of
 * f32 activations with weight matrices kept in their checkpoint dtype (F32,
 * F16, BF16, FP8-e4m3 with 128x128 block scales), converted in registers.
 *
 * Owns: the kernel table and its runtime selection (generic C,
 * AVX2+FMA+F16C, AVX-512 with VBMI; and "avx512bf16", BF16 weights through
 * vdpbf16ps on hi/lo-split activations - selectable, not the default: half
 * the speed of the f32 path on the CPU it was measured on).  The weight view
 * struct ds_mat is mat.h's.  Leaves out: threads (threadpool.h splits rows
 * between calls) and everything model-specific.
 *
 * Invariants every implementation keeps, so that results never depend on
 * how work is split:
 *  - each output element is computed by one sequence of operations that
 *    depends only on (weight row, activation row, ISA), never on the row
 *    range, the number of activation rows or the tiling.  One row through
 *    ds_matmul() gives the same bits as that row among many;
 *  - FP8 blocks: W[n][k] = fp8(Q[n][k]) * S[n/128][k/128].  Every kernel
 *    uses the f32 product of the exact byte value and the block scale,
 *    rounded once, as the weight (so a weight panel converted for many
 *    activation rows holds the same values a single row sees);
 *  - FP8 bytes become floats that equal tensor.h's 256-entry table: through
 *    it, through a VBMI byte-permute lookup of the exact bf16 pattern, or
 *    (AVX2) as the f16 of the value times 2^-8 with the 2^8 folded into the
 *    scale, NaN bytes made NaN - every way checked byte for byte against
 *    the table by the tests; never by putting fp8 bits into an f32
 *    exponent, which gets subnormals and NaN wrong.
 * Different ISAs agree within rounding (about 1e-6 relative), not in bits.
 *
 * Nothing here allocates; callers own every buffer.
 */
#ifndef DS_KERNELS_H
#define DS_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "mat.h"

#define DS_MATMUL_XCHUNK 16	/* activation rows split together (avx512bf16) */
/* From this many activation rows on, the AVX-512 and AVX2 kernels convert
 * weights once into an f32 panel per chunk of rows (same bits as row by
 * row). */
#define DS_MATMUL_PANEL_MIN 4

/*
 * y[r*ldy + (n - n0)] = sum_k x[r*ldx + k] * W[n][k]   for n0 <= n < n1,
 * r < nx.  `scratch` holds ds_matmul_scratch(w) floats, or is NULL (see
 * there).  x rows hold at least w->cols floats.
 */
typedef void ds_matmul_fn(const struct ds_mat *w, long n0, long n1, const float *x, long ldx,
			  long nx, float *y, long ldy, float *scratch);
/*
 * The transposed product over a band of rows:
 * y[r*ldy + j] = sum_{i < ni} x[r*ldx + i] * W[i0 + i][j]   for j < w->cols,
 * accumulated in ascending i.  Used to absorb W_UK into the query.
 */
typedef void ds_matmul_t_fn(const struct ds_mat *w, long i0, long ni, const float *x, long ldx,
			    long nx, float *y, long ldy);

struct ds_kernels {
	const char *name;	/* "generic", "avx2", "avx512" */
	ds_matmul_fn *matmul;
	ds_matmul_t_fn *matmul_t;
};

/* The kernels in use: chosen once from the CPU's features (avx512, else
 * avx2, else generic), or from the environment variable
 * DS_CPU=generic|avx2|avx512|avx512bf16 when the CPU supports that choice
 * (an unsupported or unknown value is ignored). */
const struct ds_kernels *ds_kernels(void);
/* A specific set ("generic", "avx2", "avx512", "avx512bf16"), or NULL when
 * this CPU cannot run it. */
const struct ds_kernels *ds_kernels_named(const char *name);

/* Floats of scratch one ds_matmul call on w needs (any kernel set).  A
 * NULL scratch is fine too, with the same bits (the AVX-512 kernels then
 * take the slower row-by-row way), except for BF16 weights under
 * "avx512bf16", which must have it.  ds_matmul_scratch_cols: the same for
 * any matrix of that many columns. */
size_t ds_matmul_scratch(const struct ds_mat *w);
size_t ds_matmul_scratch_cols(long cols);
/* The implementations, for the dispatcher and the tests. */
extern const struct ds_kernels ds_kernels_generic;
#if defined(__x86_64__)
extern const struct ds_kernels ds_kernels_avx2;
extern const struct ds_kernels ds_kernels_avx512;
extern const struct ds_kernels ds_kernels_avx512bf16;
#endif

#endif
