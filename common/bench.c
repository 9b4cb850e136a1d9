/* bench.c - see bench.h. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "tensor.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

cJSON *ds_bench_rates(const double *seconds, long n, double work, double *median)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
	double *rate = ds_xmalloc((size_t)(n > 0 ? n : 1) * sizeof(*rate));

	for (long i = 0; i < n; i++) {
		rate[i] = seconds[i] > 0 ? work / seconds[i] : 0;
		cJSON_AddItemToArray(a, cJSON_CreateNumber(round(rate[i] * 100) / 100));
	}
	*median = ds_bench_median(rate, (size_t)n);
	cJSON_AddNumberToObject(o, "median", round(*median * 100) / 100);
	cJSON_AddItemToObject(o, "samples", a);
	free(rate);
	return o;
}

double ds_bench_median(const double *v, size_t n)
{
	double *c, m;

	if (!n)
		return 0;
	c = ds_xmalloc(n * sizeof(*c));
	memcpy(c, v, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
	free(c);
	return m;
}

static double mat_bytes(const struct ds_mat *w)
{
	double b;

	if (!w->data)
		return 0;
	b = (double)w->rows * (double)w->cols * (double)ds_dtype_size(w->dtype);
	if (w->scale)
		b += (double)((w->rows + 127) / 128) * (double)w->scale_ld * 4.0;
	return b;
}

static double mlp_bytes(const struct ds_mlp *p)
{
	return mat_bytes(&p->gate) + mat_bytes(&p->up) + mat_bytes(&p->down);
}

double ds_bench_decode_bytes(const struct ds_model *m)
{
	double total = mat_bytes(&m->lm_head) + 4.0 * (double)m->D;

	for (long i = 0; i < m->L; i++) {
		const struct ds_layer *l = &m->layers[i];
		double experts = 0;

		if (!l->loaded)
			continue;
		total += mat_bytes(&l->q_a) + mat_bytes(&l->q_b) + mat_bytes(&l->q) + mat_bytes(&l->kv_a) +
			 mat_bytes(&l->kv_b) + mat_bytes(&l->o);
		if (!l->moe) {
			total += mlp_bytes(&l->dense);
			continue;
		}
		for (long e = 0; e < m->E; e++)
			experts += mlp_bytes(&l->experts[e]);
		total += mat_bytes(&l->gate) + (l->has_shared ? mlp_bytes(&l->shared) : 0) +
			 (m->E ? experts * (double)m->K / (double)m->E : 0);
	}
	return total;
}

double ds_bench_cache_bytes_per_pos(const struct ds_model *m)
{
	return (double)m->L * (double)(m->rkv + m->dr) * 4.0;
}

double ds_bench_peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_maxrss / 1024.0;	/* Linux: KiB */
}
