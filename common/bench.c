/* bench.c - see bench.h. */
#include "bench.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "clock.h"
#include "tensor.h"
#include "threadpool.h"

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

double ds_bench_mean(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : 0;
}

double ds_bench_sd(const double *v, size_t n)
{
	double m = ds_bench_mean(v, n), s = 0;

	if (n < 2)
		return 0;
	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (double)(n - 1));
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

struct sizes {
	double bytes, params;
};

static void add_size(void *ctx, const struct ds_mat *w)
{
	struct sizes *s = ctx;

	s->bytes += mat_bytes(w);
	s->params += (double)w->rows * (double)w->cols;
}

double ds_bench_weight_bytes(const struct ds_model *m)
{
	struct sizes s = { 0, 0 };

	ds_model_each_mat(m, 1, add_size, &s);
	return s.bytes;
}

double ds_bench_params(const struct ds_model *m)
{
	struct sizes s = { 0, 0 };

	ds_model_each_mat(m, 1, add_size, &s);
	return s.params;
}

double ds_bench_flops(const struct ds_model *m, long depth, long n, long heads)
{
	double D = (double)m->D, H = (double)m->H, dq = (double)m->dq, dv = (double)m->dv;
	double attn = (m->rq > 0 ? (double)m->rq * D + H * dq * (double)m->rq : H * dq * D) +
		      (double)(m->rkv + m->dr) * D + H * (double)(m->dn + m->dv) * (double)m->rkv + D * H * dv;
	double macs = 0, pairs = (double)n * (double)depth + (double)n * (double)(n + 1) / 2;

	for (long i = 0; i < m->L; i++) {
		macs += attn;
		if (ds_model_layer_is_moe(m, i))
			macs += (double)m->E * D + 3.0 * D * (double)m->Im * (double)(m->K + m->n_shared);
		else
			macs += 3.0 * D * (double)m->I;
	}
	return 2.0 * macs * (double)n + 2.0 * H * (dq + dv) * pairs * (double)m->L +
	       2.0 * (double)heads * (double)m->V * D;
}

/* ---- bandwidth ---- */

#define BW_ITEMS 256

struct bw_ctx {
	uint64_t *buf;
	size_t words;		/* per item */
	uint64_t sums[BW_ITEMS];
	int fill;
};

typedef uint64_t v2u64 __attribute__((vector_size(16)));

static void bw_item(void *arg, long item, int thread)
{
	struct bw_ctx *c = arg;
	uint64_t *p = c->buf + (size_t)item * c->words;
	v2u64 a = { 0 }, b = { 0 }, d = { 0 }, e = { 0 };

	if (c->fill) {
		for (size_t i = 0; i < c->words; i++)
			p[i] = (uint64_t)i * 0x9E3779B97F4A7C15ull;
		return;
	}
	for (size_t i = 0; i + 8 <= c->words; i += 8) {	/* one 64-byte line per step */
		v2u64 x, y, z, w;

		memcpy(&x, p + i, sizeof(x));
		memcpy(&y, p + i + 2, sizeof(y));
		memcpy(&z, p + i + 4, sizeof(z));
		memcpy(&w, p + i + 6, sizeof(w));
		a += x;
		b += y;
		d += z;
		e += w;
	}
	a += b + d + e;
	c->sums[item] = a[0] ^ a[1];
}

double ds_bench_bandwidth(struct ds_pool *pool, size_t bytes, int reps)
{
	struct bw_ctx c;
	double best = 0;

	memset(&c, 0, sizeof(c));
	c.words = bytes / BW_ITEMS / sizeof(uint64_t) / 8 * 8;
	if (!c.words || !(c.buf = malloc(c.words * BW_ITEMS * sizeof(uint64_t))))
		return 0;
	c.fill = 1;
	ds_pool_run(pool, BW_ITEMS, bw_item, &c);	/* resident, on the threads that read */
	c.fill = 0;
	for (int r = 0; r < reps; r++) {
		double t = ds_seconds();

		ds_pool_run(pool, BW_ITEMS, bw_item, &c);
		t = ds_seconds() - t;
		if (t > 0 && (double)(c.words * BW_ITEMS * sizeof(uint64_t)) / t > best)
			best = (double)(c.words * BW_ITEMS * sizeof(uint64_t)) / t;
	}
	free(c.buf);
	return best / 1e9;
}

double ds_bench_peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (double)ru.ru_maxrss / 1024.0;	/* Linux: KiB */
}
