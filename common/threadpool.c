/*
 * threadpool.c - persistent workers sharing each job through one atomic
 * claim word.
 *
 * The word packs the job's generation (24 bits), its item count (20 bits)
 * and the next free item (20 bits).  A thread claims an item with a
 * compare-and-swap that only succeeds while the word still belongs to the
 * job it woke up for, so a worker that wakes late, after its job is over,
 * claims nothing, and nobody waits for it: the caller only waits until
 * every item is done.  A job's fields (fn, ctx, base) are read after a
 * successful claim, while the job is still running, so they cannot be
 * those of the next job.  Jobs of more than 2^20 - 1 items run as several.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "threadpool.h"

#define SPIN 20000
#define MAX_ITEMS ((1L << 20) - 1)
#define GEN_MASK 0xFFFFFFull

struct ds_pool {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t cv_start, cv_done;
	atomic_ulong gen;		/* job generation, bumped to start a job */
	_Atomic uint64_t claim;		/* gen:24 | nitems:20 | next:20 */
	atomic_long done;		/* items finished in the current job */
	atomic_int stop;
	long base;			/* item offset of this part of a large job */
	ds_pool_fn *fn;
	void *ctx;
};

struct worker_arg {
	struct ds_pool *p;
	int id;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Claim and run items of job generation g until none is left. */
static void work(struct ds_pool *p, unsigned long g, int id)
{
	for (;;) {
		uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
		long idx = (long)(v & 0xFFFFF), n = (long)((v >> 20) & 0xFFFFF);

		if ((v >> 40) != (g & GEN_MASK) || idx >= n)
			return;
		if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel,
							   memory_order_acquire))
			continue;
		p->fn(p->ctx, p->base + idx, id);
		if (atomic_fetch_add_explicit(&p->done, 1, memory_order_acq_rel) == n - 1) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->cv_done);
			pthread_mutex_unlock(&p->mu);
		}
	}
}

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	struct ds_pool *p = a->p;
	int id = a->id;
	unsigned long seen = 0;

	free(a);
	for (;;) {
		unsigned long g;
		int spins = 0;

		while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen && !atomic_load(&p->stop) &&
		       spins < SPIN) {
			cpu_relax();
			spins++;
		}
		if (g == seen && !atomic_load(&p->stop)) {
			pthread_mutex_lock(&p->mu);
			while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv_start, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->stop))
			break;
		seen = g;
		work(p, g, id);
	}
	return NULL;
}

int ds_cpu_count(void)
{
#ifdef CPU_COUNT
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
#endif
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

struct ds_pool *ds_pool_new(int nthreads)
{
	struct ds_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->n = nthreads < 1 ? 1 : nthreads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_start, NULL);
	pthread_cond_init(&p->cv_done, NULL);
	atomic_init(&p->gen, 0);
	atomic_init(&p->claim, 0);
	atomic_init(&p->done, 0);
	atomic_init(&p->stop, 0);
	if (p->n > 1) {
		p->th = calloc((size_t)p->n, sizeof(*p->th));
		if (!p->th) {
			p->n = 1;
			ds_pool_free(p);
			return NULL;
		}
		for (int i = 1; i < p->n; i++) {
			struct worker_arg *a = malloc(sizeof(*a));

			if (!a || (a->p = p, a->id = i, pthread_create(&p->th[i], NULL, worker, a))) {
				free(a);
				p->n = i;	/* stop the ones started */
				ds_pool_free(p);
				return NULL;
			}
		}
	}
	return p;
}

void ds_pool_free(struct ds_pool *p)
{
	if (!p)
		return;
	if (p->n > 1) {
		pthread_mutex_lock(&p->mu);
		atomic_store(&p->stop, 1);
		pthread_cond_broadcast(&p->cv_start);
		pthread_mutex_unlock(&p->mu);
		for (int i = 1; i < p->n; i++)
			pthread_join(p->th[i], NULL);
	}
	free(p->th);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv_start);
	pthread_cond_destroy(&p->cv_done);
	free(p);
}

int ds_pool_size(const struct ds_pool *p)
{
	return p ? p->n : 1;
}

static void run_part(struct ds_pool *p, long base, long n)
{
	unsigned long g = atomic_load_explicit(&p->gen, memory_order_relaxed) + 1;
	int spins = 0;

	/* the previous job's word is exhausted (next == nitems), so nobody can
	 * claim from it while the fields change */
	p->base = base;
	atomic_store_explicit(&p->done, 0, memory_order_relaxed);
	atomic_store_explicit(&p->claim, ((uint64_t)(g & GEN_MASK) << 40) | ((uint64_t)n << 20), memory_order_release);
	pthread_mutex_lock(&p->mu);
	atomic_store_explicit(&p->gen, g, memory_order_release);
	pthread_cond_broadcast(&p->cv_start);
	pthread_mutex_unlock(&p->mu);
	work(p, g, 0);
	while (atomic_load_explicit(&p->done, memory_order_acquire) < n && spins < SPIN) {
		cpu_relax();
		spins++;
	}
	if (atomic_load_explicit(&p->done, memory_order_acquire) < n) {
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->done) < n)
			pthread_cond_wait(&p->cv_done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}

void ds_pool_run(struct ds_pool *p, long nitems, ds_pool_fn *fn, void *ctx)
{
	if (nitems <= 0)
		return;
	if (!p || p->n == 1 || nitems == 1) {
		for (long i = 0; i < nitems; i++)
			fn(ctx, i, 0);
		return;
	}
	p->fn = fn;
	p->ctx = ctx;
	for (long base = 0; base < nitems; base += MAX_ITEMS)
		run_part(p, base, nitems - base < MAX_ITEMS ? nitems - base : MAX_ITEMS);
}
