/*
 * exec.h - running the CPU kernels on the thread pool: the persistent pool,
 * the chosen kernel set, per-thread scratch, and the parallel products the
 * forward pass is made of.  Also the small f32 vector steps (RMSNorm, SiLU).
 *
 * Work is split by output rows in 128-row blocks (the FP8 scale blocks),
 * and, for many activation rows, in chunks of activation rows; every output
 * element is computed by one kernel call in a fixed order, so results are
 * the same bits for any thread count (kernels.h).
 *
 * struct ds_exec owns the pool and the scratch (ds_exec_release frees them).
 */
#ifndef DS_EXEC_H
#define DS_EXEC_H

#include <stddef.h>

#include "error.h"
#include "kernels.h"
#include "threadpool.h"

struct ds_exec {
	struct ds_pool *pool;
	const struct ds_kernels *k;
	int nthreads;
	float **scratch;	/* [nthreads], scratch_len floats each */
	size_t scratch_len;
	long *ibuf;		/* work-item index of ds_exec_matmul_many */
	size_t icap;
};

/* nthreads <= 0: every CPU this process may use. */
int ds_exec_init(struct ds_exec *x, int nthreads, struct ds_error *err);
/* Make every thread's scratch at least n floats (call between runs). */
int ds_exec_reserve(struct ds_exec *x, size_t n, struct ds_error *err);
void ds_exec_release(struct ds_exec *x);

/* One product y[r][n - n0] = x[r] . W[n] for n0 <= n < n1, r < nx
 * (n1 == 0: every row of w). */
struct ds_matmul_job {
	const struct ds_mat *w;
	const float *x;
	long ldx, nx;
	float *y;
	long ldy;
	long n0, n1;
};

/* Below this many multiply-adds a parallel run costs more in waking
 * threads than it saves: the calling thread does it alone. */
#define DS_EXEC_MIN_PARALLEL_MACS (1L << 18)

/* ds_pool_run, or inline in the caller when `macs` (the work, roughly)
 * is below DS_EXEC_MIN_PARALLEL_MACS.  Results are the same either way. */
void ds_exec_run(struct ds_exec *x, long nitems, ds_pool_fn *fn, void *ctx, double macs);

/* Run all jobs at once on the pool (scratch must hold
 * ds_matmul_scratch() of every weight: FP8, and BF16 for avx512bf16). */
void ds_exec_matmul_many(struct ds_exec *x, const struct ds_matmul_job *jobs, long njobs);
void ds_exec_matmul(struct ds_exec *x, const struct ds_mat *w, const float *in, long ldin, long nrows,
		    float *out, long ldout);

/* out = w * (x / sqrt(mean(x^2) + eps)), n values; in place is fine.  The
 * statistics are summed in double and rounded once. */
void ds_rmsnorm(float *out, const float *x, const float *w, long n, float eps);
/* g[i] = silu(g[i]) * u[i] */
void ds_silu_mul(float *g, const float *u, long n);

#endif
