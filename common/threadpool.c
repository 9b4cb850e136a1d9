/*
 * threadpool.c - persistent workers, a generation counter to start a job,
 * an atomic item counter to share it out, a countdown to finish it.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "threadpool.h"

#define SPIN 20000

struct ds_pool {
	int n;
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t cv_start, cv_done;
	atomic_ulong gen;
	atomic_long next;
	atomic_int active;
	atomic_int stop;
	long nitems;
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

static void work(struct ds_pool *p, int id)
{
	long i;

	while ((i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed)) < p->nitems)
		p->fn(p->ctx, i, id);
}

static void *worker(void *arg)
{
	struct worker_arg *a = arg;
	struct ds_pool *p = a->p;
	int id = a->id;
	unsigned long seen = 0;

	free(a);
	for (;;) {
		int spins = 0;

		while (atomic_load_explicit(&p->gen, memory_order_acquire) == seen &&
		       !atomic_load(&p->stop) && spins < SPIN) {
			cpu_relax();
			spins++;
		}
		if (atomic_load_explicit(&p->gen, memory_order_acquire) == seen && !atomic_load(&p->stop)) {
			pthread_mutex_lock(&p->mu);
			while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
				pthread_cond_wait(&p->cv_start, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		if (atomic_load(&p->stop))
			break;
		seen = atomic_load_explicit(&p->gen, memory_order_acquire);
		work(p, id);
		if (atomic_fetch_sub_explicit(&p->active, 1, memory_order_acq_rel) == 1) {
			pthread_mutex_lock(&p->mu);
			pthread_cond_signal(&p->cv_done);
			pthread_mutex_unlock(&p->mu);
		}
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
	atomic_init(&p->next, 0);
	atomic_init(&p->active, 0);
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

void ds_pool_run(struct ds_pool *p, long nitems, ds_pool_fn *fn, void *ctx)
{
	int spins = 0;

	if (nitems <= 0)
		return;
	if (!p || p->n == 1 || nitems == 1) {
		for (long i = 0; i < nitems; i++)
			fn(ctx, i, 0);
		return;
	}
	p->fn = fn;
	p->ctx = ctx;
	p->nitems = nitems;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	atomic_store_explicit(&p->active, p->n - 1, memory_order_relaxed);
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
	pthread_cond_broadcast(&p->cv_start);
	pthread_mutex_unlock(&p->mu);
	work(p, 0);
	while (atomic_load_explicit(&p->active, memory_order_acquire) > 0 && spins < SPIN) {
		cpu_relax();
		spins++;
	}
	if (atomic_load_explicit(&p->active, memory_order_acquire) > 0) {
		pthread_mutex_lock(&p->mu);
		while (atomic_load(&p->active) > 0)
			pthread_cond_wait(&p->cv_done, &p->mu);
		pthread_mutex_unlock(&p->mu);
	}
}
