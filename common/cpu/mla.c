/*
 * mla.c - the latent KV cache and absorbed-form MLA (see mla.h).
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "mla.h"

#define HEADS_PER_ITEM 8	/* absorbed form: heads of one row per work item */
#define WIDE_ROWS 16		/* decompressed form: rows of one head per work item */
#define WIDE_BYTES (64L << 20)	/* decompressed keys and values of one group of heads */

/* ---- cache ---- */

void ds_kv_init(struct ds_kv *kv, long nlayers, long width, long max_len)
{
	memset(kv, 0, sizeof(*kv));
	kv->nlayers = nlayers;
	kv->width = width;
	kv->max_len = max_len;
}

struct ds_kv_seq *ds_kv_find(const struct ds_kv *kv, uint64_t seq)
{
	for (long i = 0; i < kv->nseq; i++)
		if (kv->seqs[i]->seq == seq)
			return kv->seqs[i];
	return NULL;
}

struct ds_kv_seq *ds_kv_get(struct ds_kv *kv, uint64_t seq)
{
	struct ds_kv_seq *s = ds_kv_find(kv, seq);

	if (s)
		return s;
	if (kv->nseq == kv->capseq) {
		long cap = kv->capseq ? 2 * kv->capseq : 8;
		struct ds_kv_seq **p = realloc(kv->seqs, (size_t)cap * sizeof(*p));

		if (!p)
			return NULL;
		kv->seqs = p;
		kv->capseq = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->rows = kv->nlayers ? calloc((size_t)kv->nlayers, sizeof(*s->rows)) : NULL;
	if (kv->nlayers && !s->rows) {
		free(s);
		return NULL;
	}
	s->seq = seq;
	kv->seqs[kv->nseq++] = s;
	return s;
}

int ds_kv_reserve(struct ds_kv *kv, struct ds_kv_seq *s, long len, struct ds_error *err)
{
	long cap;

	if (len <= s->cap)
		return 0;
	if (len > kv->max_len)
		return ds_error_set(err, EX_DATAERR, "sequence %llu: position %ld is beyond max_position_embeddings %ld",
				    (unsigned long long)s->seq, len - 1, kv->max_len);
	cap = s->cap ? 2 * s->cap : 64;
	cap = cap < len ? len : cap;
	cap = cap > kv->max_len ? kv->max_len : cap;
	for (long l = 0; l < kv->nlayers; l++) {
		float *p = realloc(s->rows[l], (size_t)cap * (size_t)kv->width * sizeof(float));

		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory for the KV cache (%ld positions)", cap);
		s->rows[l] = p;
	}
	s->cap = cap;
	return 0;
}

static void seq_free(struct ds_kv *kv, struct ds_kv_seq *s)
{
	for (long l = 0; l < kv->nlayers; l++)
		free(s->rows[l]);
	free(s->rows);
	free(s);
}

void ds_kv_drop(struct ds_kv *kv, uint64_t seq)
{
	for (long i = 0; i < kv->nseq; i++)
		if (kv->seqs[i]->seq == seq) {
			seq_free(kv, kv->seqs[i]);
			kv->seqs[i] = kv->seqs[--kv->nseq];
			return;
		}
}

void ds_kv_truncate(struct ds_kv *kv, uint64_t seq, long len)
{
	struct ds_kv_seq *s = ds_kv_find(kv, seq);

	if (s && len >= 0 && len < s->len)
		s->len = len;
}

void ds_kv_release(struct ds_kv *kv)
{
	for (long i = 0; i < kv->nseq; i++)
		seq_free(kv, kv->seqs[i]);
	free(kv->seqs);
	memset(kv, 0, sizeof(*kv));
}

/* ---- buffers ---- */

static int grow(float **p, size_t n, struct ds_error *err)
{
	float *q = realloc(*p, (n ? n : 1) * sizeof(float));

	if (!q)
		return ds_error_set(err, EX_OSERR, "out of memory");
	*p = q;
	return 0;
}

int ds_mla_buf_reserve(struct ds_mla_buf *b, const struct ds_model *m, int nthreads, long rows,
		       long max_keys, int wide, struct ds_error *err)
{
	size_t R = (size_t)rows, W = (size_t)(m->rkv + m->dr), H = (size_t)m->H;
	long per_item = HEADS_PER_ITEM > WIDE_ROWS ? HEADS_PER_ITEM : WIDE_ROWS;
	int rc;

	if (rows > b->rows) {
		if ((rc = grow(&b->qa, R * (size_t)(m->rq > 0 ? m->rq : 1), err)) ||
		    (rc = grow(&b->q, R * H * (size_t)m->dq, err)) || (rc = grow(&b->kv, R * W, err)) ||
		    (rc = grow(&b->qf, R * H * W, err)) || (rc = grow(&b->ol, R * H * (size_t)m->rkv, err)) ||
		    (rc = grow(&b->o, R * H * (size_t)m->dv, err)))
			return rc;
		b->rows = rows;
	}
	if (!b->uv) {
		b->uv = calloc(2 * (size_t)m->H, sizeof(*b->uv));
		if (!b->uv)
			return ds_error_set(err, EX_OSERR, "out of memory");
	}
	if (!b->scores) {
		b->scores = calloc((size_t)nthreads, sizeof(*b->scores));
		if (!b->scores)
			return ds_error_set(err, EX_OSERR, "out of memory");
		b->nthreads = nthreads;
	}
	if (max_keys * per_item > b->score_cap) {
		long cap = max_keys * per_item * 2;

		for (int t = 0; t < b->nthreads; t++)
			if ((rc = grow(&b->scores[t], (size_t)cap, err)))
				return rc;
		b->score_cap = cap;
	}
	if (wide && max_keys > b->wide_keys) {
		/* heads per group: their keys and values within WIDE_BYTES */
		long keys = max_keys + max_keys / 2, per = keys * (m->dq + 2 * m->dv) * (long)sizeof(float);
		long G = WIDE_BYTES / per;

		G = G < 1 ? 1 : G > m->H ? m->H : G;
		if ((rc = grow(&b->dk, (size_t)(G * keys * m->dq), err)) ||
		    (rc = grow(&b->dvs, (size_t)(G * keys * m->dv), err)) ||
		    (rc = grow(&b->dvt, (size_t)(G * keys * m->dv), err)))
			return rc;
		b->wide_keys = keys;
		b->wide_heads = G;
	}
	return 0;
}

void ds_mla_buf_release(struct ds_mla_buf *b)
{
	free(b->qa);
	free(b->q);
	free(b->kv);
	free(b->qf);
	free(b->ol);
	free(b->o);
	free(b->uv);
	free(b->dk);
	free(b->dvs);
	free(b->dvt);
	for (int t = 0; b->scores && t < b->nthreads; t++)
		free(b->scores[t]);
	free(b->scores);
	memset(b, 0, sizeof(*b));
}

/* ---- attention ---- */

long ds_mla_decompress_min(long want)
{
	const char *e = getenv("DS_MLA_DECOMPRESS_MIN");
	char *end;
	long x;

	if (want)
		return want < 0 ? LONG_MAX : want;
	if (!e || !*e)
		return DS_MLA_DECOMPRESS_DEFAULT;
	x = strtol(e, &end, 10);
	return *end || x < 0 ? DS_MLA_DECOMPRESS_DEFAULT : x ? x : LONG_MAX;
}

struct attn_ctx {
	struct ds_exec *x;
	const struct ds_model *m;
	const struct ds_layer *l;
	const struct ds_mla_rows *rows;
	struct ds_mla_buf *b;
	long cache_layer;
	float sigma;
	long nhb;		/* head blocks per row */
	long r0;		/* first row of the run */
	/* decompressed form: the group's heads h0 .. h0+ng-1, S keys */
	long h0, ng, S, ntb;
	const float *cache;
};

/* q_nope of every row of the run, one head: qf[r][h][0..rkv) = W_UK[h]^T q_nope[r][h] */
static void absorb_item(void *arg, long h, int thread)
{
	struct attn_ctx *c = arg;
	const struct ds_model *m = c->m;
	long W = m->rkv + m->dr, r0 = c->r0;

	c->x->k->matmul_t(&c->l->kv_b, h * (m->dn + m->dv), m->dn, c->b->q + r0 * m->H * m->dq + h * m->dq,
			  m->H * m->dq, c->rows->n, c->b->qf + r0 * m->H * W + h * W, m->H * W);
}

/* scores p[0..n) (scaled by sigma) to probabilities; p[n..n1) = 0 */
static void softmax(float *p, long n, long n1, float sigma)
{
	float mx = -INFINITY, sum = 0;

	for (long s = 0; s < n; s++) {
		p[s] = p[s] * sigma;
		mx = p[s] > mx ? p[s] : mx;
	}
	for (long s = 0; s < n; s++) {
		p[s] = expf(p[s] - mx);
		sum += p[s];
	}
	for (long s = 0; s < n; s++)
		p[s] = p[s] / sum;
	for (long s = n; s < n1; s++)
		p[s] = 0;
}

/* one row, a block of heads: scores over the cache, softmax, ol */
static void attend_item(void *arg, long item, int thread)
{
	struct attn_ctx *c = arg;
	const struct ds_model *m = c->m;
	long r = c->r0 + item / c->nhb, h0 = (item % c->nhb) * HEADS_PER_ITEM;
	long nh = m->H - h0 < HEADS_PER_ITEM ? m->H - h0 : HEADS_PER_ITEM;
	long W = m->rkv + m->dr, S = c->rows->pos[r] + 1;
	const float *cache = c->rows->seq[r]->rows[c->cache_layer];
	struct ds_mat keys = { DS_F32, S, W, W, cache, NULL, 0, "kv-cache" };
	struct ds_mat vals = { DS_F32, S, m->rkv, W, cache, NULL, 0, "kv-cache" };
	float *sc = c->b->scores[thread];

	c->x->k->matmul(&keys, 0, S, c->b->qf + (r * m->H + h0) * W, W, nh, sc, S, c->x->scratch[thread]);
	for (long j = 0; j < nh; j++)
		softmax(sc + j * S, S, S, c->sigma);
	c->x->k->matmul_t(&vals, 0, S, sc, S, nh, c->b->ol + (r * m->H + h0) * m->rkv, m->rkv);
}

/* the absorbed form for rows [r0, r1) */
static void absorbed(struct attn_ctx *c, long r0, long r1)
{
	const struct ds_model *m = c->m;
	const struct ds_mla_rows *rows = c->rows;
	struct ds_mla_buf *b = c->b;
	long H = m->H, dn = m->dn, dv = m->dv, rkv = m->rkv, W = rkv + m->dr, n = r1 - r0;
	struct ds_mla_rows run = *rows;
	double keys = 0;

	run.n = n;	/* absorb_item reads rows->n rows from c->r0 */
	c->rows = &run;
	c->r0 = r0;
	for (long r = r0; r < r1; r++)
		keys += (double)(rows->pos[r] + 1);
	ds_exec_run(c->x, H, absorb_item, c, (double)n * (double)H * (double)dn * (double)rkv);
	ds_exec_run(c->x, n * c->nhb, attend_item, c, keys * (double)H * (double)(W + rkv));
	c->rows = rows;
	/* o[h] = W_UV[h] ol[h] */
	for (long h = 0; h < H; h++)
		b->uv[h] = (struct ds_matmul_job){ &c->l->kv_b, b->ol + r0 * H * rkv + h * rkv, H * rkv, n,
						   b->o + r0 * H * dv + h * dv, H * dv, h * (dn + dv) + dn,
						   h * (dn + dv) + dn + dv };
	ds_exec_matmul_many(c->x, b->uv, H);
}

/* one head of the group: K_h = [k_nope | kpe] rows, V_h transposed */
static void unpack_item(void *arg, long g, int thread)
{
	struct attn_ctx *c = arg;
	const struct ds_model *m = c->m;
	struct ds_mla_buf *b = c->b;
	long S = c->S, dq = m->dq, dn = m->dn, dv = m->dv, W = m->rkv + m->dr;
	float *kh = b->dk + g * S * dq, *vt = b->dvt + g * dv * S;
	const float *vs = b->dvs + g * S * dv;

	for (long s = 0; s < S; s++)
		memcpy(kh + s * dq + dn, c->cache + s * W + m->rkv, (size_t)m->dr * sizeof(float));
	for (long s0 = 0; s0 < S; s0 += 16)	/* transpose in 16 x dv strips */
		for (long j = 0; j < dv; j++)
			for (long s = s0; s < S && s < s0 + 16; s++)
				vt[j * S + s] = vs[s * dv + j];
}

/* one head of the group and a block of the run's rows: scores, softmax, o */
static void wide_item(void *arg, long item, int thread)
{
	struct attn_ctx *c = arg;
	const struct ds_model *m = c->m;
	const struct ds_mla_rows *rows = c->rows;
	struct ds_mla_buf *b = c->b;
	long g = item / c->ntb, tb = item % c->ntb, H = m->H, dq = m->dq, dv = m->dv, h = c->h0 + g;
	long i0 = c->r0 + tb * WIDE_ROWS, ni = c->r0 + c->rows->n - i0 < WIDE_ROWS ? c->r0 + c->rows->n - i0 : WIDE_ROWS;
	long S1 = rows->pos[i0 + ni - 1] + 1;	/* keys the block's last row sees */
	struct ds_mat keys = { DS_F32, S1, dq, dq, b->dk + g * c->S * dq, NULL, 0, "keys" };
	struct ds_mat vals = { DS_F32, dv, S1, c->S, b->dvt + g * dv * c->S, NULL, 0, "values" };
	float *sc = b->scores[thread];

	c->x->k->matmul(&keys, 0, S1, b->q + i0 * H * dq + h * dq, H * dq, ni, sc, S1, c->x->scratch[thread]);
	for (long i = 0; i < ni; i++)
		softmax(sc + i * S1, rows->pos[i0 + i] + 1, S1, c->sigma);
	c->x->k->matmul(&vals, 0, dv, sc, S1, ni, b->o + i0 * H * dv + h * dv, H * dv, c->x->scratch[thread]);
}

/*
 * The decompressed form for rows [r0, r1), one sequence at consecutive
 * positions: per group of heads, K_nope and V of every cached position
 * through kv_b (one product over the cache), then per head standard
 * attention with 192-wide keys and 128-wide values.
 */
static void decompressed(struct attn_ctx *c, long r0, long r1)
{
	const struct ds_model *m = c->m;
	const struct ds_mla_rows *rows = c->rows;
	struct ds_mla_buf *b = c->b;
	long H = m->H, dq = m->dq, dn = m->dn, dv = m->dv, rkv = m->rkv, W = rkv + m->dr;
	long S = rows->pos[r1 - 1] + 1, n = r1 - r0;
	struct ds_mat cache = { DS_F32, S, rkv, W, rows->seq[r0]->rows[c->cache_layer], NULL, 0, "kv-cache" };
	struct ds_mla_rows run = *rows;
	long G = b->wide_heads;

	run.n = n;
	c->rows = &run;
	c->r0 = r0;
	c->S = S;
	c->cache = cache.data;
	c->ntb = (n + WIDE_ROWS - 1) / WIDE_ROWS;
	for (long h0 = 0; h0 < H; h0 += G) {
		long ng = H - h0 < G ? H - h0 : G;

		for (long g = 0; g < ng; g++) {
			long row = (h0 + g) * (dn + dv);

			b->uv[2 * g] = (struct ds_matmul_job){ &c->l->kv_b, cache.data, W, S, b->dk + g * S * dq, dq, row,
							       row + dn };
			b->uv[2 * g + 1] = (struct ds_matmul_job){ &c->l->kv_b, cache.data, W, S, b->dvs + g * S * dv, dv,
								   row + dn, row + dn + dv };
		}
		ds_exec_matmul_many(c->x, b->uv, 2 * ng);
		c->h0 = h0;
		c->ng = ng;
		ds_exec_run(c->x, ng, unpack_item, c, (double)ng * (double)S * (double)(dv + m->dr) * 64);
		ds_exec_run(c->x, ng * c->ntb, wide_item, c, (double)ng * (double)n * (double)S * (double)(dq + dv));
	}
	c->rows = rows;
}

/* The rows' [c | kpe] from kv_a's output kv [n][rkv + dr], into their
 * caches at their positions. */
static void write_cache_rows(const struct ds_model *m, const struct ds_layer *l, long cache_layer,
			     const struct ds_rope *rope, const struct ds_mla_rows *rows, const float *kv)
{
	long rkv = m->rkv, dr = m->dr, W = rkv + dr;

	for (long r = 0; r < rows->n; r++) {
		float *dst = rows->seq[r]->rows[cache_layer] + rows->pos[r] * W;

		ds_rmsnorm(dst, kv + r * W, l->kv_a_norm, rkv, m->latent_eps);
		memcpy(dst + rkv, kv + r * W + rkv, (size_t)dr * sizeof(float));
		ds_rope_rotate(rope, rows->rope + r * dr, dst + rkv);
	}
}

void ds_mla_cache_rows(struct ds_exec *x, const struct ds_model *m, const struct ds_layer *l, long cache_layer,
		       const struct ds_rope *rope, const struct ds_mla_rows *rows, const float *a, struct ds_mla_buf *b)
{
	ds_exec_matmul(x, &l->kv_a, a, m->D, rows->n, b->kv, m->rkv + m->dr);
	write_cache_rows(m, l, cache_layer, rope, rows, b->kv);
}

void ds_mla_forward(struct ds_exec *x, const struct ds_model *m, const struct ds_layer *l,
		    long cache_layer, const struct ds_rope *rope, const struct ds_mla_rows *rows,
		    const float *a, float *out, struct ds_mla_buf *b)
{
	long n = rows->n, D = m->D, H = m->H, dq = m->dq, dn = m->dn, dr = m->dr, dv = m->dv;
	long rkv = m->rkv, W = rkv + dr, wide = b->wide_min;
	struct attn_ctx c = { x, m, l, rows, b, cache_layer, rope->softmax_scale, (H + HEADS_PER_ITEM - 1) / HEADS_PER_ITEM,
			      0, 0, 0, 0, 0, NULL };
	struct ds_matmul_job jobs[2];

	/* projections: q (through the q LoRA when present) and [c | kpe] */
	if (m->rq > 0) {
		jobs[0] = (struct ds_matmul_job){ &l->q_a, a, D, n, b->qa, m->rq, 0, 0 };
		jobs[1] = (struct ds_matmul_job){ &l->kv_a, a, D, n, b->kv, W, 0, 0 };
		ds_exec_matmul_many(x, jobs, 2);
		for (long r = 0; r < n; r++)
			ds_rmsnorm(b->qa + r * m->rq, b->qa + r * m->rq, l->q_a_norm, m->rq, m->latent_eps);
		ds_exec_matmul(x, &l->q_b, b->qa, m->rq, n, b->q, H * dq);
	} else {
		jobs[0] = (struct ds_matmul_job){ &l->q, a, D, n, b->q, H * dq, 0, 0 };
		jobs[1] = (struct ds_matmul_job){ &l->kv_a, a, D, n, b->kv, W, 0, 0 };
		ds_exec_matmul_many(x, jobs, 2);
	}
	/* the cache rows, and the rotated q_pe of every head */
	write_cache_rows(m, l, cache_layer, rope, rows, b->kv);
	for (long r = 0; r < n; r++) {
		const float *cs = rows->rope + r * dr;

		for (long h = 0; h < H; h++) {
			float *qpe = b->q + r * H * dq + h * dq + dn;

			ds_rope_rotate(rope, cs, qpe);
			memcpy(b->qf + (r * H + h) * W + rkv, qpe, (size_t)dr * sizeof(float));
		}
	}
	/* runs of rows of one form: a chunk of `wide` rows or more (its own
	 * length, whatever else is in the step) is decompressed */
	for (long r0 = 0; r0 < n;) {
		int dec = rows->chunk_n && rows->chunk_n[r0] >= wide && b->wide_heads > 0;
		long r1 = r0 + 1;

		while (r1 < n && (rows->chunk_n && rows->chunk_n[r1] >= wide && b->wide_heads > 0) == dec &&
		       (!dec || (rows->seq[r1] == rows->seq[r0] && rows->pos[r1] == rows->pos[r1 - 1] + 1)))
			r1++;
		if (dec)
			decompressed(&c, r0, r1);
		else
			absorbed(&c, r0, r1);
		r0 = r1;
	}
	ds_exec_matmul(x, &l->o, b->o, H * dv, n, out, D);
}
