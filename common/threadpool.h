/*
 * threadpool.h - a persistent pool of worker threads for data-parallel loops.
 *
 * Created once per tool (ds_pool_new), reused for every product of the
 * forward pass, freed at exit.  ds_pool_run(p, n, fn, ctx) calls fn(ctx, i,
 * thread) once for every item i in [0, n) and returns when all are done;
 * the calling thread works too (thread index 0, workers 1..size-1).  Items
 * are claimed in any order by any thread, so results stay deterministic as
 * long as every item writes its own outputs with a fixed computation - the
 * callers split work by output rows (128-row blocks) for that reason.
 *
 * Workers spin briefly after a job and then sleep on a condition variable.
 * The caller waits for the items, never for a worker that has not started
 * (on a busy machine it may do the whole job itself).  One ds_pool_run at a
 * time per pool (not reentrant); any number of items (more than 2^20 run
 * as several jobs).
 */
#ifndef DS_THREADPOOL_H
#define DS_THREADPOOL_H

struct ds_pool;

typedef void ds_pool_fn(void *ctx, long item, int thread);

/* A pool of nthreads threads in all (the caller counts as one; nthreads <= 1
 * gives a pool that runs everything inline).  Returns NULL when a thread
 * cannot be created. */
struct ds_pool *ds_pool_new(int nthreads);
void ds_pool_free(struct ds_pool *p);
int ds_pool_size(const struct ds_pool *p);
void ds_pool_run(struct ds_pool *p, long nitems, ds_pool_fn *fn, void *ctx);

/* The number of CPUs this process may run on (at least 1). */
int ds_cpu_count(void);

#endif
