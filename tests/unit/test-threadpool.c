/*
 * test-threadpool.c - every item of every job runs exactly once, on any
 * number of threads, for jobs small and large (more than 2^20 items are
 * split), many jobs in a row (5000 per thread count) (workers that wake late must claim nothing).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "testhelp.h"
#include "threadpool.h"

struct ctx {
	atomic_int *count;
	int bad_thread;
	int nthreads;
};

static void item(void *arg, long i, int thread)
{
	struct ctx *c = arg;

	if (thread < 0 || thread >= c->nthreads)
		c->bad_thread = 1;
	atomic_fetch_add_explicit(&c->count[i], 1, memory_order_relaxed);
}

int main(void)
{
	static atomic_int count[(1 << 20) + 5000];
	uint64_t rng = 12345;

	for (int nt = 1; nt <= 4; nt++) {
		struct ds_pool *p = ds_pool_new(nt);
		struct ctx c = { count, 0, nt };
		long wrong = 0;

		checkf(p != NULL && ds_pool_size(p) == nt, "pool of %d threads", nt);
		for (int job = 0; job < 5000; job++) {
			long n;

			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			n = (long)(rng % 300);
			memset(count, 0, (size_t)n * sizeof(count[0]));
			ds_pool_run(p, n, item, &c);
			for (long i = 0; i < n; i++)
				wrong += atomic_load(&count[i]) != 1;
		}
		checkf(wrong == 0 && !c.bad_thread, "%d threads: 5000 jobs, every item once (%ld wrong)", nt, wrong);
		{
			long n = (1L << 20) + 4000;

			memset(count, 0, sizeof(count));
			ds_pool_run(p, n, item, &c);
			wrong = 0;
			for (long i = 0; i < n; i++)
				wrong += atomic_load(&count[i]) != 1;
			checkf(wrong == 0, "%d threads: a job of 2^20 + 4000 items, every item once (%ld wrong)", nt, wrong);
		}
		ds_pool_free(p);
	}
	check("at least one CPU", ds_cpu_count() >= 1);
	return test_done();
}
