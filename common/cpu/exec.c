/*
 * exec.c - parallel products over the thread pool, and the small vector
 * steps of the forward pass.
 */
#include <math.h>
#include <stdlib.h>
#include <sysexits.h>

#include "exec.h"

/* activation rows per work item when there are many */
#define XSPLIT 32

int ds_exec_init(struct ds_exec *x, int nthreads, struct ds_error *err)
{
	x->nthreads = nthreads > 0 ? nthreads : ds_cpu_count();
	x->k = ds_kernels();
	x->scratch = calloc((size_t)x->nthreads, sizeof(*x->scratch));
	x->scratch_len = 0;
	x->ibuf = NULL;
	x->icap = 0;
	x->pool = ds_pool_new(x->nthreads);
	if (!x->scratch || !x->pool) {
		ds_exec_release(x);
		return ds_error_set(err, EX_OSERR, "cannot start %d threads", nthreads);
	}
	return 0;
}

int ds_exec_reserve(struct ds_exec *x, size_t n, struct ds_error *err)
{
	if (n <= x->scratch_len)
		return 0;
	for (int t = 0; t < x->nthreads; t++) {
		float *p = realloc(x->scratch[t], n * sizeof(float));

		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory");
		x->scratch[t] = p;
	}
	x->scratch_len = n;
	return 0;
}

void ds_exec_release(struct ds_exec *x)
{
	if (x->scratch)
		for (int t = 0; t < x->nthreads; t++)
			free(x->scratch[t]);
	free(x->scratch);
	ds_pool_free(x->pool);
	free(x->ibuf);
	x->ibuf = NULL;
	x->icap = 0;
	x->scratch = NULL;
	x->pool = NULL;
}

struct many_ctx {
	struct ds_exec *x;
	const struct ds_matmul_job *jobs;
	long njobs;
	long *first;		/* [njobs + 1]: first item of each job */
	long *chunks;		/* [njobs]: activation chunks per job */
};

static long job_chunks(const struct ds_matmul_job *j)
{
	return j->nx <= XSPLIT ? 1 : (j->nx + XSPLIT - 1) / XSPLIT;
}

static void many_item(void *arg, long item, int thread)
{
	struct many_ctx *c = arg;
	long lo = 0, hi = c->njobs - 1;

	while (lo < hi) {	/* the last job whose first item <= item */
		long mid = (lo + hi + 1) / 2;

		if (c->first[mid] <= item)
			lo = mid;
		else
			hi = mid - 1;
	}
	const struct ds_matmul_job *j = &c->jobs[lo];
	long local = item - c->first[lo], nch = c->chunks[lo];
	long block = local / nch, chunk = local % nch;
	long j0 = j->n0, j1 = j->n1 ? j->n1 : j->w->rows;
	long b = j0 / DS_FP8_BLOCK + block;	/* absolute 128-row block */
	long n0 = b * DS_FP8_BLOCK > j0 ? b * DS_FP8_BLOCK : j0;
	long n1 = (b + 1) * DS_FP8_BLOCK < j1 ? (b + 1) * DS_FP8_BLOCK : j1;
	long r0 = nch == 1 ? 0 : chunk * XSPLIT, r1 = nch == 1 ? j->nx : (r0 + XSPLIT < j->nx ? r0 + XSPLIT : j->nx);

	c->x->k->matmul(j->w, n0, n1, j->x + r0 * j->ldx, j->ldx, r1 - r0, j->y + r0 * j->ldy + (n0 - j0), j->ldy,
			c->x->scratch[thread]);
}

void ds_exec_matmul_many(struct ds_exec *x, const struct ds_matmul_job *jobs, long njobs)
{
	struct many_ctx c = { x, jobs, njobs, NULL, NULL };
	size_t need = (size_t)(2 * njobs + 1);
	long local[9], *idx = local;	/* up to 4 jobs index on the stack */
	double macs = 0;

	if (njobs <= 0)
		return;
	if (need > sizeof(local) / sizeof(local[0])) {
		if (need > x->icap) {
			long *p = realloc(x->ibuf, need * sizeof(long));

			if (!p) {	/* no room for the index: one job at a time */
				for (long i = 0; i < njobs; i++)
					ds_exec_matmul_many(x, jobs + i, 1);
				return;
			}
			x->ibuf = p;
			x->icap = need;
		}
		idx = x->ibuf;
	}
	c.first = idx;
	c.chunks = idx + njobs + 1;
	c.first[0] = 0;
	for (long i = 0; i < njobs; i++) {
		long j0 = jobs[i].n0, j1 = jobs[i].n1 ? jobs[i].n1 : jobs[i].w->rows;
		long blocks = j1 > j0 ? (j1 - 1) / DS_FP8_BLOCK - j0 / DS_FP8_BLOCK + 1 : 0;

		c.chunks[i] = job_chunks(&jobs[i]);
		c.first[i + 1] = c.first[i] + (jobs[i].nx > 0 ? blocks * c.chunks[i] : 0);
		macs += (double)(j1 - j0) * (double)jobs[i].w->cols * (double)jobs[i].nx;
	}
	ds_exec_run(x, c.first[njobs], many_item, &c, macs);
}

void ds_exec_run(struct ds_exec *x, long nitems, ds_pool_fn *fn, void *ctx, double macs)
{
	if (macs < (double)DS_EXEC_MIN_PARALLEL_MACS) {
		for (long i = 0; i < nitems; i++)
			fn(ctx, i, 0);
		return;
	}
	ds_pool_run(x->pool, nitems, fn, ctx);
}

void ds_exec_matmul(struct ds_exec *x, const struct ds_mat *w, const float *in, long ldin, long nrows,
		    float *out, long ldout)
{
	struct ds_matmul_job j = { w, in, ldin, nrows, out, ldout, 0, 0 };

	ds_exec_matmul_many(x, &j, 1);
}

void ds_rmsnorm(float *out, const float *x, const float *w, long n, float eps)
{
	double ss = 0;
	float var, r;

	for (long i = 0; i < n; i++)
		ss += (double)x[i] * (double)x[i];
	var = (float)(ss / (double)n);
	r = 1.0f / sqrtf(var + eps);
	for (long i = 0; i < n; i++)
		out[i] = w[i] * (x[i] * r);
}

void ds_silu_mul(float *g, const float *u, long n)
{
	for (long i = 0; i < n; i++)
		g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
