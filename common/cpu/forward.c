/*
 * forward.c - the CPU forward pass (see forward.h): steps of rows through
 * decoder layers, the dense and MoE feed-forward, the head, the MTP module
 * and one layer's routing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "backend-impl.h"
#include "exec.h"
#include "forward.h"
#include "mla.h"
#include "rope.h"
#include "route.h"

#define DEFAULT_ROWS 128

struct ds_forward {
	const struct ds_model *m;
	struct ds_exec x;
	struct ds_rope rope;
	struct ds_router router;
	long first, last;
	struct ds_kv kv, kv_mtp;
	long max_rows;
	struct ds_fwd_hooks hooks;
	/* the rows of one step */
	long *pos, *chunk_n;
	struct ds_kv_seq **seqv;
	float *cs;		/* [R][dr] */
	struct ds_kv_seq **chunk_seq;
	int chunk_cap;
	/* activations [R][D] (cat: [R][2D]) */
	float *a, *attn, *ffn, *hm, *cat;
	struct ds_mla_buf mb;
	/* feed-forward */
	float *logits, *wts, *rsc;
	int32_t *ids;
	long *cnt, *off, *cur, *slot;
	float *xg, *g, *u, *yg;	/* routed rows: [R K][D], [R K][Im] x2, [R K][D] */
	float *gd, *ud;		/* dense / shared: [R][max(I, ns Im)] */
	float *yd;		/* shared output [R][D] */
	struct ds_matmul_job *jobs;
};

/* ---- setup ---- */

static int alloc_f(float **p, size_t n, struct ds_error *err)
{
	*p = malloc((n ? n : 1) * sizeof(float));
	return *p ? 0 : ds_error_set(err, EX_OSERR, "out of memory");
}

static int alloc_l(long **p, size_t n, struct ds_error *err)
{
	*p = malloc((n ? n : 1) * sizeof(long));
	return *p ? 0 : ds_error_set(err, EX_OSERR, "out of memory");
}

static long lmax(long a, long b)
{
	return a > b ? a : b;
}

static int alloc_buffers(struct ds_forward *f, struct ds_error *err)
{
	const struct ds_model *m = f->m;
	size_t R = (size_t)f->max_rows, D = (size_t)m->D, RK = R * (size_t)(m->K > 0 ? m->K : 1);
	size_t wide = (size_t)lmax(m->I, m->n_shared * m->Im);
	long maxcols = lmax(lmax(lmax(m->D, m->rq), lmax(m->rkv, m->H * m->dv)), lmax(lmax(m->I, m->Im * lmax(m->n_shared, 1)), 2 * m->D));
	int rc;

	if ((rc = alloc_l(&f->pos, R, err)) || (rc = alloc_l(&f->chunk_n, R, err)) ||
	    (rc = alloc_f(&f->cs, R * (size_t)m->dr, err)) ||
	    (rc = alloc_f(&f->a, R * D, err)) || (rc = alloc_f(&f->attn, R * D, err)) ||
	    (rc = alloc_f(&f->ffn, R * D, err)) || (rc = alloc_f(&f->hm, R * D, err)) ||
	    (rc = alloc_f(&f->cat, R * 2 * D, err)) || (rc = alloc_f(&f->gd, R * wide, err)) ||
	    (rc = alloc_f(&f->ud, R * wide, err)) || (rc = alloc_f(&f->yd, R * D, err)))
		return rc;
	f->seqv = calloc(R, sizeof(*f->seqv));
	if (!f->seqv)
		return ds_error_set(err, EX_OSERR, "out of memory");
	if (m->E > 0) {
		size_t E = (size_t)m->E, Im = (size_t)m->Im;

		if ((rc = alloc_f(&f->logits, R * E, err)) || (rc = alloc_f(&f->wts, RK, err)) ||
		    (rc = alloc_f(&f->rsc, (size_t)ds_router_scratch(&f->router), err)) ||
		    (rc = alloc_l(&f->cnt, E + 1, err)) || (rc = alloc_l(&f->off, E + 1, err)) ||
		    (rc = alloc_l(&f->cur, E + 1, err)) || (rc = alloc_l(&f->slot, RK, err)) ||
		    (rc = alloc_f(&f->xg, RK * D, err)) || (rc = alloc_f(&f->g, RK * Im, err)) ||
		    (rc = alloc_f(&f->u, RK * Im, err)) || (rc = alloc_f(&f->yg, RK * D, err)))
			return rc;
		f->ids = malloc(RK * sizeof(*f->ids));
		if (!f->ids)
			return ds_error_set(err, EX_OSERR, "out of memory");
	}
	f->jobs = calloc((size_t)(2 * (m->E + 1) + 2), sizeof(*f->jobs));
	if (!f->jobs)
		return ds_error_set(err, EX_OSERR, "out of memory");
	/* at least ds_matmul_scratch() of the widest matrix, whatever its dtype */
	if ((rc = ds_exec_reserve(&f->x, ds_matmul_scratch_cols(maxcols), err)))
		return rc;
	return ds_mla_buf_reserve(&f->mb, m, f->x.nthreads, f->max_rows, 1, 0, err);
}

int ds_forward_new(struct ds_forward **out, const struct ds_model *m, const struct ds_backend_opts *o,
		   struct ds_error *err)
{
	struct ds_forward *f;
	int rc;

	*out = NULL;
	if ((rc = ds_backend_check_slice(m, o, err)))
		return rc;
	if (!(f = calloc(1, sizeof(*f))))
		return ds_error_set(err, EX_OSERR, "out of memory");
	f->m = m;
	f->first = o->first;
	f->last = o->last;
	f->max_rows = o->max_rows > 0 ? o->max_rows : DEFAULT_ROWS;
	f->mb.wide_min = ds_mla_decompress_min(0);
	ds_kv_init(&f->kv, o->last - o->first, m->rkv + m->dr, m->cfg.max_position_embeddings);
	ds_kv_init(&f->kv_mtp, o->mtp ? 1 : 0, m->rkv + m->dr, m->cfg.max_position_embeddings);
	/* ds_forward_free takes a half-built f (every part released or empty) */
	if ((rc = ds_exec_init(&f->x, o->threads, err)) || (rc = ds_rope_init(&f->rope, &m->cfg, err)) ||
	    (m->E > 0 && (rc = ds_router_init(&f->router, &m->cfg, err))) || (rc = alloc_buffers(f, err))) {
		ds_forward_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

void ds_forward_free(struct ds_forward *f)
{
	if (!f)
		return;
	ds_exec_release(&f->x);
	ds_rope_release(&f->rope);
	ds_kv_release(&f->kv);
	ds_kv_release(&f->kv_mtp);
	ds_mla_buf_release(&f->mb);
	free(f->pos);
	free(f->chunk_n);
	free(f->seqv);
	free(f->cs);
	free(f->chunk_seq);
	free(f->a);
	free(f->attn);
	free(f->ffn);
	free(f->hm);
	free(f->cat);
	free(f->logits);
	free(f->wts);
	free(f->rsc);
	free(f->ids);
	free(f->cnt);
	free(f->off);
	free(f->cur);
	free(f->slot);
	free(f->xg);
	free(f->g);
	free(f->u);
	free(f->yg);
	free(f->gd);
	free(f->ud);
	free(f->yd);
	free(f->jobs);
	free(f);
}

void ds_forward_set_hooks(struct ds_forward *f, const struct ds_fwd_hooks *h)
{
	if (h)
		f->hooks = *h;
	else
		memset(&f->hooks, 0, sizeof(f->hooks));
}

/* ---- batches and caches ---- */

static long kv_len_of(void *ctx, uint64_t seq)
{
	const struct ds_kv_seq *s = ds_kv_find(ctx, seq);

	return s ? s->len : 0;
}

static int check_kv(const struct ds_forward *f, struct ds_kv *kv, const struct ds_fwd_batch *batch,
		    struct ds_error *err)
{
	return ds_batch_check(batch, f->m->cfg.max_position_embeddings, kv_len_of, kv, err);
}

int ds_forward_check(struct ds_forward *f, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err)
{
	return check_kv(f, mtp ? &f->kv_mtp : &f->kv, batch, err);
}

/* check, then create and size every chunk's cache; the largest key count
 * sizes the attention scratch */
static int prepare(struct ds_forward *f, struct ds_kv *kv, const struct ds_fwd_batch *batch, struct ds_error *err)
{
	long max_keys = 1;
	int rc, wide = 0;

	if ((rc = check_kv(f, kv, batch, err)))
		return rc;
	if (batch->nchunks > f->chunk_cap) {
		struct ds_kv_seq **p = realloc(f->chunk_seq, (size_t)batch->nchunks * sizeof(*p));

		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory");
		f->chunk_seq = p;
		f->chunk_cap = batch->nchunks;
	}
	for (int i = 0; i < batch->nchunks; i++) {
		const struct ds_fwd_chunk *c = &batch->chunks[i];
		struct ds_kv_seq *s = ds_kv_get(kv, c->seq);

		if (!s)
			return ds_error_set(err, EX_OSERR, "out of memory");
		if ((rc = ds_kv_reserve(kv, s, c->pos + c->n, err)))
			return rc;
		f->chunk_seq[i] = s;
		max_keys = lmax(max_keys, c->pos + c->n);
		wide |= c->n >= f->mb.wide_min;
	}
	return ds_mla_buf_reserve(&f->mb, f->m, f->x.nthreads, f->max_rows, max_keys, wide, err);
}

typedef void step_fn(struct ds_forward *f, const struct ds_mla_rows *rows, long row0, void *ctx);

/* Walk the batch in steps of at most max_rows rows, committing the cache
 * lengths after each step. */
static void for_steps(struct ds_forward *f, const struct ds_fwd_batch *batch, step_fn *fn, void *ctx)
{
	long dr = f->m->dr, row0 = 0, off = 0;
	int ci = 0;

	while (ci < batch->nchunks) {
		long n = 0;
		struct ds_mla_rows rows;

		while (ci < batch->nchunks && n < f->max_rows) {
			const struct ds_fwd_chunk *c = &batch->chunks[ci];
			long take = c->n - off < f->max_rows - n ? c->n - off : f->max_rows - n;

			for (long t = 0; t < take; t++) {
				f->pos[n + t] = c->pos + off + t;
				f->chunk_n[n + t] = c->n;
				f->seqv[n + t] = f->chunk_seq[ci];
				ds_rope_table(&f->rope, f->pos[n + t], f->cs + (n + t) * dr);
			}
			n += take;
			off += take;
			if (off == c->n) {
				ci++;
				off = 0;
			}
		}
		if (n == 0)
			continue;
		rows = (struct ds_mla_rows){ n, f->pos, f->seqv, f->cs, f->chunk_n };
		fn(f, &rows, row0, ctx);
		for (long r = 0; r < n; r++)
			f->seqv[r]->len = f->pos[r] + 1;
		row0 += n;
	}
}

/* ---- feed-forward ---- */

static void route_rows(struct ds_forward *f, const struct ds_layer *l, const float *b, long n, int32_t *ids,
		       float *w)
{
	const struct ds_model *m = f->m;

	ds_exec_matmul(&f->x, &l->gate, b, m->D, n, f->logits, m->E);
	for (long r = 0; r < n; r++)
		ds_router_select(&f->router, f->logits + r * m->E, l->gate_bias, ids + r * m->K, w + r * m->K, f->rsc);
}

static void dense(struct ds_forward *f, const struct ds_layer *l, const float *b, long n, float *out)
{
	const struct ds_model *m = f->m;
	long D = m->D, I = m->I;

	f->jobs[0] = (struct ds_matmul_job){ &l->dense.gate, b, D, n, f->gd, I, 0, 0 };
	f->jobs[1] = (struct ds_matmul_job){ &l->dense.up, b, D, n, f->ud, I, 0, 0 };
	ds_exec_matmul_many(&f->x, f->jobs, 2);
	ds_silu_mul(f->gd, f->ud, n * I);
	ds_exec_matmul(&f->x, &l->dense.down, f->gd, I, n, out, D);
}

static void moe(struct ds_forward *f, const struct ds_layer *l, const float *b, long n, long row0, float *out)
{
	const struct ds_model *m = f->m;
	long D = m->D, E = m->E, K = m->K, Im = m->Im, W = m->n_shared * Im, nj = 0;

	route_rows(f, l, b, n, f->ids, f->wts);
	if (f->hooks.routes)
		f->hooks.routes(f->hooks.ctx, l->index, row0, n, f->ids, f->wts);
	/* group the (row, choice) pairs by expert */
	memset(f->cnt, 0, (size_t)(E + 1) * sizeof(long));
	for (long i = 0; i < n * K; i++)
		f->cnt[f->ids[i]]++;
	f->off[0] = 0;
	for (long e = 0; e < E; e++) {
		f->off[e + 1] = f->off[e] + f->cnt[e];
		f->cur[e] = 0;
	}
	for (long r = 0; r < n; r++)
		for (long k = 0; k < K; k++) {
			long e = f->ids[r * K + k], s = f->off[e] + f->cur[e]++;

			f->slot[r * K + k] = s;
			memcpy(f->xg + s * D, b + r * D, (size_t)D * sizeof(float));
		}
	for (long e = 0; e < E; e++) {
		if (!f->cnt[e])
			continue;
		f->jobs[nj++] = (struct ds_matmul_job){ &l->experts[e].gate, f->xg + f->off[e] * D, D, f->cnt[e],
							f->g + f->off[e] * Im, Im, 0, 0 };
		f->jobs[nj++] = (struct ds_matmul_job){ &l->experts[e].up, f->xg + f->off[e] * D, D, f->cnt[e],
							f->u + f->off[e] * Im, Im, 0, 0 };
	}
	if (l->has_shared) {
		f->jobs[nj++] = (struct ds_matmul_job){ &l->shared.gate, b, D, n, f->gd, W, 0, 0 };
		f->jobs[nj++] = (struct ds_matmul_job){ &l->shared.up, b, D, n, f->ud, W, 0, 0 };
	}
	ds_exec_matmul_many(&f->x, f->jobs, nj);
	ds_silu_mul(f->g, f->u, n * K * Im);
	if (l->has_shared)
		ds_silu_mul(f->gd, f->ud, n * W);
	nj = 0;
	for (long e = 0; e < E; e++)
		if (f->cnt[e])
			f->jobs[nj++] = (struct ds_matmul_job){ &l->experts[e].down, f->g + f->off[e] * Im, Im, f->cnt[e],
								f->yg + f->off[e] * D, D, 0, 0 };
	if (l->has_shared)
		f->jobs[nj++] = (struct ds_matmul_job){ &l->shared.down, f->gd, W, n, f->yd, D, 0, 0 };
	ds_exec_matmul_many(&f->x, f->jobs, nj);
	/* sum: routed experts in ascending id (the order ids come in), each
	 * output times its weight, then the shared expert */
	for (long r = 0; r < n; r++) {
		float *o = out + r * D;

		memset(o, 0, (size_t)D * sizeof(float));
		for (long k = 0; k < K; k++) {
			const float *y = f->yg + f->slot[r * K + k] * D;
			float w = f->wts[r * K + k];

			for (long d = 0; d < D; d++)
				o[d] += y[d] * w;
		}
		if (l->has_shared)
			for (long d = 0; d < D; d++)
				o[d] += f->yd[r * D + d];
	}
}

/* The attention half of a decoder layer over the rows of a step: h [n][D]
 * += attention(input_layernorm(h)) in place, then f->a =
 * post_attention_layernorm(h), the feed-forward's input. */
static void attention_half(struct ds_forward *f, const struct ds_layer *l, long cache_layer,
			   const struct ds_mla_rows *rows, float *h)
{
	const struct ds_model *m = f->m;
	long n = rows->n, D = m->D;

	for (long r = 0; r < n; r++)
		ds_rmsnorm(f->a + r * D, h + r * D, l->attn_norm, D, m->eps);
	ds_mla_forward(&f->x, m, l, cache_layer, &f->rope, rows, f->a, f->attn, &f->mb);
	for (long i = 0; i < n * D; i++)
		h[i] = h[i] + f->attn[i];
	for (long r = 0; r < n; r++)
		ds_rmsnorm(f->a + r * D, h + r * D, l->ffn_norm, D, m->eps);
}

/* One decoder layer over the rows of a step; h [n][D] in place. */
static void layer_step(struct ds_forward *f, const struct ds_layer *l, long cache_layer,
		       const struct ds_mla_rows *rows, float *h, long row0)
{
	long n = rows->n, D = f->m->D;

	attention_half(f, l, cache_layer, rows, h);
	if (l->moe) {
		if (f->hooks.moe_in)
			f->hooks.moe_in(f->hooks.ctx, l->index, row0, n, f->a);
		moe(f, l, f->a, n, row0, f->ffn);
	} else {
		dense(f, l, f->a, n, f->ffn);
	}
	for (long i = 0; i < n * D; i++)
		h[i] = h[i] + f->ffn[i];
	if (f->hooks.layer_out)
		f->hooks.layer_out(f->hooks.ctx, l->index, row0, n, h);
}

/* ---- entry points ---- */

struct layers_ctx {
	float *hidden;
};

static void layers_step(struct ds_forward *f, const struct ds_mla_rows *rows, long row0, void *arg)
{
	struct layers_ctx *c = arg;
	float *h = c->hidden + row0 * f->m->D;

	for (long li = f->first; li < f->last; li++)
		layer_step(f, &f->m->layers[li], li - f->first, rows, h, row0);
}

int ds_forward_layers(struct ds_forward *f, const struct ds_fwd_batch *batch, float *hidden,
		      struct ds_error *err)
{
	struct layers_ctx c = { hidden };
	int rc;

	if ((rc = prepare(f, &f->kv, batch, err)))
		return rc;
	for_steps(f, batch, layers_step, &c);
	return 0;
}

int ds_forward_head(struct ds_forward *f, const float *hidden, long n, float *logits, struct ds_error *err)
{
	const struct ds_model *m = f->m;
	long D = m->D;

	if (!m->final_norm || !ds_mat_valid(&m->lm_head))
		return ds_error_set(err, EX_SOFTWARE, "the head was not mapped");
	for (long r0 = 0; r0 < n; r0 += f->max_rows) {
		long cnt = n - r0 < f->max_rows ? n - r0 : f->max_rows;

		for (long r = 0; r < cnt; r++)
			ds_rmsnorm(f->a + r * D, hidden + (r0 + r) * D, m->final_norm, D, m->eps);
		ds_exec_matmul(&f->x, &m->lm_head, f->a, D, cnt, logits + r0 * m->V, m->V);
	}
	return 0;
}

struct mtp_ctx {
	const float *hidden;
	const int32_t *next;
	float *out;		/* the layer's output residual [rows][D], or NULL */
	float *logits;		/* [rows][V], or NULL */
};

/* logits [n][V] of the first vocab ids (0 < vocab < V; -inf beyond) or
 * of all */
static void mtp_head_rows(struct ds_forward *f, const float *h, long n, long vocab, float *logits)
{
	const struct ds_model *m = f->m;
	const struct ds_layer *l = &m->layers[m->L];
	struct ds_mat head = l->head;
	long D = m->D;

	if (vocab > 0 && vocab < m->V)
		head.rows = vocab;	/* the first rows of the same matrix (and of its FP8 scales) */
	for (long r = 0; r < n; r++)
		ds_rmsnorm(f->a + r * D, h + r * D, l->head_norm, D, m->eps);
	ds_exec_matmul(&f->x, &head, f->a, D, n, logits, m->V);
	for (long r = 0; r < n; r++)
		for (long v = head.rows; v < m->V; v++)
			logits[r * m->V + v] = -HUGE_VALF;
}

/* The MTP layer's input for the rows of a step, into f->hm:
 * eh_proj [enorm(Emb(next)) | hnorm(model.norm(H))]. */
static void mtp_input(struct ds_forward *f, const struct ds_mla_rows *rows, long row0, const struct mtp_ctx *c)
{
	const struct ds_model *m = f->m;
	const struct ds_layer *l = &m->layers[m->L];
	long n = rows->n, D = m->D;
	struct ds_error err;

	for (long r = 0; r < n; r++) {
		float *cat = f->cat + r * 2 * D, *t = f->a + r * D;

		/* hidden half: hnorm(model.norm(H)) */
		ds_rmsnorm(t, c->hidden + (row0 + r) * D, m->final_norm, D, m->eps);
		ds_rmsnorm(cat + D, t, l->hnorm, D, m->eps);
		/* embedding half: enorm(Emb(next)), zero at position 0 */
		if (rows->pos[r] == 0)
			memset(t, 0, (size_t)D * sizeof(float));
		else
			ds_embed_rows(&l->embed, c->next + row0 + r, 1, t, &err);	/* ids checked before */
		ds_rmsnorm(cat, t, l->enorm, D, m->eps);
	}
	ds_exec_matmul(&f->x, &l->eh_proj, f->cat, 2 * D, n, f->hm, D);
}

static void mtp_step(struct ds_forward *f, const struct ds_mla_rows *rows, long row0, void *arg)
{
	struct mtp_ctx *c = arg;
	const struct ds_model *m = f->m;
	const struct ds_layer *l = &m->layers[m->L];
	long n = rows->n, D = m->D;

	mtp_input(f, rows, row0, c);
	layer_step(f, l, 0, rows, f->hm, row0);
	if (c->out)
		memcpy(c->out + row0 * D, f->hm, (size_t)(n * D) * sizeof(float));
	if (c->logits)
		mtp_head_rows(f, f->hm, n, 0, c->logits + row0 * m->V);
}

/* Rows that only extend the MTP cache: the layer's input, its attention
 * norm and the cache half of the attention (ds_mla_cache_rows). */
static void mtp_cache_step(struct ds_forward *f, const struct ds_mla_rows *rows, long row0, void *arg)
{
	const struct ds_model *m = f->m;
	const struct ds_layer *l = &m->layers[m->L];
	long n = rows->n, D = m->D;

	mtp_input(f, rows, row0, arg);
	for (long r = 0; r < n; r++)
		ds_rmsnorm(f->a + r * D, f->hm + r * D, l->attn_norm, D, m->eps);
	ds_mla_cache_rows(&f->x, m, l, 0, &f->rope, rows, f->a, &f->mb);
}

static int run_mtp(struct ds_forward *f, const struct ds_fwd_batch *batch, step_fn *step, struct mtp_ctx *c,
		   struct ds_error *err)
{
	const struct ds_model *m = f->m;
	long n = ds_batch_rows(batch);
	int rc;

	if (f->kv_mtp.nlayers != 1)
		return ds_error_set(err, EX_SOFTWARE, "the MTP module was not set up");
	for (long r = 0; r < n; r++)
		if (c->next[r] < 0 || c->next[r] >= m->V)
			return ds_error_set(err, EX_DATAERR, "next token %ld: id %d is outside the vocabulary (0..%ld)", r,
					    (int)c->next[r], m->V - 1);
	if ((rc = prepare(f, &f->kv_mtp, batch, err)))
		return rc;
	for_steps(f, batch, step, c);
	return 0;
}

int ds_forward_mtp(struct ds_forward *f, const struct ds_fwd_batch *batch, const float *hidden,
		   const int32_t *next_tokens, float *logits, struct ds_error *err)
{
	struct mtp_ctx c = { hidden, next_tokens, NULL, logits };

	return run_mtp(f, batch, mtp_step, &c, err);
}

int ds_forward_mtp_layer(struct ds_forward *f, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, float *out, struct ds_error *err)
{
	struct mtp_ctx c = { hidden, next_tokens, out, NULL };

	return run_mtp(f, batch, mtp_step, &c, err);
}

int ds_forward_mtp_cache(struct ds_forward *f, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, struct ds_error *err)
{
	struct mtp_ctx c = { hidden, next_tokens, NULL, NULL };

	return run_mtp(f, batch, mtp_cache_step, &c, err);
}

int ds_forward_mtp_head(struct ds_forward *f, const float *h, long n, long vocab, float *logits,
			struct ds_error *err)
{
	if (f->kv_mtp.nlayers != 1)
		return ds_error_set(err, EX_SOFTWARE, "the MTP module was not set up");
	for (long r0 = 0; r0 < n; r0 += f->max_rows) {
		long cnt = n - r0 < f->max_rows ? n - r0 : f->max_rows;

		mtp_head_rows(f, h + r0 * f->m->D, cnt, vocab, logits + r0 * f->m->V);
	}
	return 0;
}

struct route_ctx {
	const struct ds_layer *l;
	const float *hidden;
	int from_input;
	int32_t *ids;
	float *w;
};

static void route_step(struct ds_forward *f, const struct ds_mla_rows *rows, long row0, void *arg)
{
	struct route_ctx *c = arg;
	const struct ds_model *m = f->m;
	const struct ds_layer *l = c->l;
	long n = rows->n, D = m->D;
	const float *b = c->hidden + row0 * D;

	if (c->from_input) {
		memcpy(f->hm, b, (size_t)(n * D) * sizeof(float));
		attention_half(f, l, l->index - f->first, rows, f->hm);
		b = f->a;
	}
	route_rows(f, l, b, n, c->ids + row0 * m->K, c->w + row0 * m->K);
}

int ds_forward_route(struct ds_forward *f, const struct ds_fwd_batch *batch, long layer, const float *hidden,
		     int from_input, int32_t *ids, float *weights, struct ds_error *err)
{
	const struct ds_model *m = f->m;
	struct route_ctx c = { NULL, hidden, from_input, ids, weights };
	int rc;

	if (layer < f->first || layer >= f->last)
		return ds_error_set(err, EX_SOFTWARE, "layer %ld is not among the layers set up", layer);
	c.l = &m->layers[layer];
	if (!c.l->moe)
		return ds_error_set(err, EX_USAGE, "layer %ld is a dense layer (no router)", layer);
	if (from_input) {
		if ((rc = prepare(f, &f->kv, batch, err)))
			return rc;
		for_steps(f, batch, route_step, &c);
		return 0;
	}
	/* no cache involved: just the rows, in steps */
	for (long r0 = 0, n = ds_batch_rows(batch); r0 < n; r0 += f->max_rows) {
		long cnt = n - r0 < f->max_rows ? n - r0 : f->max_rows;

		route_rows(f, c.l, hidden + r0 * m->D, cnt, ids + r0 * m->K, weights + r0 * m->K);
	}
	return 0;
}

void ds_forward_end_seq(struct ds_forward *f, uint64_t seq)
{
	ds_kv_drop(&f->kv, seq);
	ds_kv_drop(&f->kv_mtp, seq);
}

void ds_forward_truncate_seq(struct ds_forward *f, uint64_t seq, long len)
{
	ds_kv_truncate(&f->kv, seq, len);
	ds_kv_truncate(&f->kv_mtp, seq, len);
}
