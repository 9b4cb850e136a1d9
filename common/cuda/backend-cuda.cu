// backend-cuda.cu - the CUDA backend: backend.h's operations on the engine
// of engine.cuh.  Opening checks the memory first, then uploads the weights
// and sets up caches, buffers and the cuBLAS handle; every operation walks
// its batch in steps of at most R rows, running each step from a CUDA graph
// when it is a decode step and eagerly otherwise.
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "blas.cuh"
#include "engine.cuh"

extern "C" {
#include "backend-impl.h"
}

/* ---- buffers ---- */

static long pad16(long n)
{
	return (long)dsc_align((size_t)(n > 0 ? n : 1), 16);
}

static long lmax(long a, long b)
{
	return a > b ? a : b;
}

static float *take_f(struct dsc_arena *a, size_t n)
{
	return (float *)dsc_arena_take(a, n * sizeof(float));
}

/* the device buffers of engine.cuh, counted or placed */
static void place_buffers(struct dsc_engine *e, struct dsc_arena *a)
{
	const struct ds_model *m = e->m;
	size_t R = (size_t)e->R, K = (size_t)(m->K > 0 ? m->K : 1), H = (size_t)m->H, W = (size_t)(m->rkv + m->dr);

	e->ldD = pad16(m->D);
	e->ldq = pad16(m->H * m->dq);
	e->ldkv = pad16((long)W);
	e->ldrq = pad16(m->rq);
	e->ldo = pad16(m->H * m->dv);
	e->ldwide = pad16(lmax(m->I, m->n_shared * m->Im));
	e->ldIm = pad16(m->Im);
	e->ldcat = pad16(2 * m->D);
	e->ldV = pad16(m->V);
	e->ldE = pad16(m->E);
	e->h = take_f(a, R * (size_t)e->ldD);
	e->a = take_f(a, R * (size_t)e->ldD);
	e->tmp = take_f(a, R * (size_t)e->ldD);
	e->hin = take_f(a, R * (size_t)e->ldD);
	e->yd = take_f(a, R * (size_t)e->ldD);
	e->qa = take_f(a, R * (size_t)e->ldrq);
	e->q = take_f(a, R * (size_t)e->ldq);
	e->kvr = take_f(a, R * (size_t)e->ldkv);
	e->qf = take_f(a, R * H * W);
	e->ol = take_f(a, R * H * (size_t)m->rkv);
	e->o = take_f(a, R * (size_t)e->ldo);
	e->gd = take_f(a, R * (size_t)e->ldwide);
	e->ud = take_f(a, R * (size_t)e->ldwide);
	e->cat = take_f(a, R * (size_t)e->ldcat);
	e->logits = take_f(a, R * (size_t)e->ldV);
	if (m->E > 0) {
		e->rl = take_f(a, R * (size_t)e->ldE);
		e->wts = take_f(a, R * K);
		e->rsc = take_f(a, R * (size_t)ds_router_scratch(&e->router));
		e->ids = (int32_t *)dsc_arena_take(a, R * K * sizeof(int32_t));
		e->gslot = (int32_t *)dsc_arena_take(a, R * K * sizeof(int32_t));
		e->act = take_f(a, (size_t)DSC_DECODE_ROWS * K * (size_t)e->ldIm);
		e->xg = take_f(a, R * K * (size_t)e->ldD);
		e->yg = take_f(a, R * K * (size_t)e->ldD);
		e->g = take_f(a, R * K * (size_t)e->ldIm);
		e->u = take_f(a, R * K * (size_t)e->ldIm);
	}
	e->state_dev = dsc_arena_take(a, e->state_bytes);
	if (!e->exact) {
		long cols = lmax(lmax(lmax(2 * m->D, m->rq), lmax(m->H * m->dv, m->I)), lmax(m->n_shared * m->Im, m->Im));
		size_t x = R * lmax(lmax((long)dsc_align((size_t)cols, 8), m->H * (long)dsc_align((size_t)m->rkv, 8)),
				    m->H * (long)dsc_align((size_t)m->dn, 8));

		e->ctx.xb_elems = 2 * x;	/* hi and lo terms */
		e->ctx.xb = (__nv_bfloat16 *)dsc_arena_take(a, 2 * x * sizeof(__nv_bfloat16));
		e->ctx.wb_elems = 2 * e->w.max_mat_elems;	/* hi and lo terms */
		e->ctx.wb = (__nv_bfloat16 *)dsc_arena_take(a, e->ctx.wb_elems * sizeof(__nv_bfloat16));
	}
}

/* the step state's layout over a base (device or pinned) */
static void state_layout(struct dsc_engine *e, char *base, struct dsc_rows *r)
{
	size_t R = (size_t)e->R;

	r->pos = (const int32_t *)base;
	r->slot = (const int32_t *)(base + R * 4);
	r->token = (const int32_t *)(base + R * 8);
	r->cs = (const float *)(base + R * 12);
	r->dr = e->m->dr;
	e->state_bytes = R * 12 + R * (size_t)e->m->dr * 4;
}

static int host_alloc(void **p, size_t bytes, struct ds_error *err)
{
	DSC_CK(err, cudaHostAlloc(p, bytes ? bytes : 1, cudaHostAllocDefault));
	memset(*p, 0, bytes);
	return 0;
}

static int alloc_host(struct dsc_engine *e, struct ds_error *err)
{
	const struct ds_model *m = e->m;
	size_t R = (size_t)e->R, K = (size_t)(m->K > 0 ? m->K : 1), E = (size_t)(m->E > 0 ? m->E : 0);
	int rc;

	if ((rc = host_alloc(&e->state_pin, e->state_bytes, err)) ||
	    (rc = host_alloc((void **)&e->pin_h, R * (size_t)e->ldD * 4, err)) ||
	    (rc = host_alloc((void **)&e->pin_hook, R * (size_t)e->ldD * 4, err)) ||
	    (rc = host_alloc((void **)&e->pin_logits, R * (size_t)e->ldV * 4, err)) ||
	    (rc = host_alloc((void **)&e->pin_w, R * K * 4, err)) ||
	    (rc = host_alloc((void **)&e->pin_ids, R * K * 4, err)) ||
	    (rc = host_alloc((void **)&e->h_gslot, R * K * 4, err)))
		return rc;
	state_layout(e, (char *)e->state_pin, &e->hrows);
	e->hook_rows = (float *)calloc(R * (size_t)m->D, sizeof(float));
	e->cnt = (long *)calloc(E + 1, sizeof(long));
	e->off = (long *)calloc(E + 1, sizeof(long));
	e->cur = (long *)calloc(E + 1, sizeof(long));
	e->row_chunk = (long *)calloc(R, sizeof(long));
	if (!e->hook_rows || !e->cnt || !e->off || !e->cur || !e->row_chunk)
		return ds_error_set(err, EX_OSERR, "out of memory");
	return 0;
}

static void engine_free(struct dsc_engine *e)
{
	if (!e)
		return;
	if (e->ctx.st)
		cudaStreamSynchronize(e->ctx.st);
	for (int op = 0; op < DSC_NOPS; op++)
		for (int n = 0; n <= DSC_DECODE_ROWS; n++)
			if (e->graph[op][n])
				cudaGraphExecDestroy(e->graph[op][n]);
	dsc_kv_release(&e->kv);
	dsc_kv_release(&e->kv_mtp);
	dsc_arena_free(&e->buf);
	dsc_weights_free(&e->w);
	void *pins[] = { e->state_pin, e->pin_h, e->pin_hook, e->pin_logits, e->pin_w, e->pin_ids, e->h_gslot };
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++)
		if (pins[i])
			cudaFreeHost(pins[i]);
	if (e->ctx.blas)
		dsc_blas.destroy(e->ctx.blas);
	if (e->ctx.st)
		cudaStreamDestroy(e->ctx.st);
	ds_rope_release(&e->rope);
	free(e->hook_rows);
	free(e->cnt);
	free(e->off);
	free(e->cur);
	free(e->row_chunk);
	free(e->chunk_slot);
	free(e);
}

/* ---- opening ---- */

static int env_flag(const char *name, int dflt)
{
	const char *s = getenv(name);

	if (!s || !*s)
		return dflt;
	return strcmp(s, "0") != 0;
}

static int check_model(const struct ds_model *m, const struct ds_backend_opts *o, struct ds_error *err)
{
	int rc = ds_backend_check_slice(m, o, err);

	if (rc)
		return rc;
	if (m->rkv > DSC_MAX_RKV)
		return ds_error_set(err, EX_CONFIG, "kv_lora_rank %ld: the CUDA backend supports at most %d", m->rkv,
				    DSC_MAX_RKV);
	return 0;
}

static int open_engine(struct dsc_engine *e, const struct ds_backend_opts *o, struct ds_error *err)
{
	const struct ds_model *m = e->m;
	size_t kv_min, kv_limit, free_bytes, blas_ws = 0, left;
	long W = m->rkv + m->dr, nl = o->last - o->first;
	size_t esz;
	int rc;

	e->exact = env_flag("DS_CUDA_EXACT", 0);
	e->graphs = env_flag("DS_CUDA_GRAPHS", 1);
	esz = e->exact ? 4 : 2;
	if ((rc = ds_rope_init(&e->rope, &m->cfg, err)) ||
	    (m->E > 0 && (rc = ds_router_init(&e->router, &m->cfg, err))) ||
	    (rc = dsc_env_bytes("DS_CUDA_KV_MEM", &kv_limit, err)) ||
	    (rc = dsc_weights_plan(&e->w, m, o->first, o->last, o->mtp, err)))
		return rc;
	/* count everything before allocating anything */
	state_layout(e, NULL, &e->rows);
	place_buffers(e, &e->buf);
	kv_min = dsc_kv_table_bytes(ds_backend_max_pos(m, o)) * (size_t)(1 + (o->mtp != 0)) +
		 dsc_kv_page_bytes(nl, W, esz) + (o->mtp ? dsc_kv_page_bytes(1, W, esz) : 0);
	if (!e->exact)
		blas_ws = (size_t)32 << 20;	/* cuBLAS's own workspace, roughly */
	if ((rc = dsc_mem_check(e->w.bytes, e->buf.used + kv_min + blas_ws, &free_bytes, err)))
		return rc;
	left = free_bytes - e->w.bytes - e->buf.used - blas_ws;
	if (!kv_limit)
		kv_limit = left / 10 * 9;
	/* the pool splits between the main and the MTP cache by layers */
	DSC_CK(err, cudaStreamCreateWithFlags(&e->ctx.st, cudaStreamNonBlocking));
	if ((rc = dsc_weights_upload(&e->w, m, o->first, o->last, o->mtp, e->ctx.st, err)) ||
	    (rc = dsc_arena_alloc(&e->buf, err)))
		return rc;
	place_buffers(e, &e->buf);
	state_layout(e, (char *)e->state_dev, &e->rows);
	DSC_CK(err, cudaMemsetAsync(e->buf.base, 0, e->buf.size, e->ctx.st));
	if ((rc = alloc_host(e, err)) ||
	    (rc = dsc_kv_init(&e->kv, nl, W, esz, ds_backend_max_pos(m, o),
			      kv_limit / (size_t)(nl + (o->mtp != 0) + (nl + o->mtp == 0)) * (size_t)nl, err)) ||
	    (rc = dsc_kv_init(&e->kv_mtp, o->mtp ? 1 : 0, W, esz, ds_backend_max_pos(m, o),
			      kv_limit / (size_t)(nl + 1), err)))
		return rc;
	if (!e->exact) {
		if ((rc = dsc_blas_load(err)))
			return rc;
		DSC_BLAS(err, dsc_blas.create(&e->ctx.blas));
		DSC_BLAS(err, dsc_blas.set_stream(e->ctx.blas, e->ctx.st));
	}
	e->ctx.exact = e->exact;
	DSC_CK(err, cudaStreamSynchronize(e->ctx.st));
	return 0;
}

/* ---- steps ---- */

struct cursor {
	int ci;
	long off, row0;
};

/* The next step's rows into the pinned state (positions, slots, rope
 * tables, tokens from `tokens` when given); returns the row count, 0 at the
 * end.  *decode: every chunk of the step has one row. */
static long next_step(struct dsc_engine *e, const struct ds_fwd_batch *b, struct cursor *cu,
		      const int32_t *tokens, int *decode)
{
	struct dsc_rows *s = &e->hrows;
	long n = 0;

	*decode = 1;
	while (cu->ci < b->nchunks && n < e->R) {
		const struct ds_fwd_chunk *c = &b->chunks[cu->ci];
		long take = c->n - cu->off < e->R - n ? c->n - cu->off : e->R - n;

		if (c->n != 1)
			*decode = 0;
		for (long t = 0; t < take; t++) {
			long r = n + t, pos = c->pos + cu->off + t;

			((int32_t *)s->pos)[r] = (int32_t)pos;
			((int32_t *)s->slot)[r] = e->chunk_slot[cu->ci];
			((int32_t *)s->token)[r] = tokens ? tokens[cu->row0 + r] : 0;
			ds_rope_table(&e->rope, pos, (float *)s->cs + r * s->dr);
			e->row_chunk[r] = cu->ci;
		}
		n += take;
		cu->off += take;
		if (cu->off == c->n) {
			cu->ci++;
			cu->off = 0;
		}
	}
	return n;
}

static void rows_in(struct dsc_engine *e, const float *src, long n)
{
	for (long r = 0; r < n; r++)
		memcpy(e->pin_h + r * e->ldD, src + r * e->m->D, (size_t)e->m->D * sizeof(float));
}

static void rows_out(const float *pin, long ld, long n, long cols, float *dst)
{
	for (long r = 0; r < n; r++)
		memcpy(dst + r * cols, pin + r * ld, (size_t)cols * sizeof(float));
}

static int has_hooks(const struct dsc_engine *e)
{
	return e->hooks.layer_out || e->hooks.moe_in || e->hooks.routes;
}

/* One operation's step as a graph would hold it: state and rows in, the
 * work, the result out. */
static int enqueue(struct dsc_engine *e, int op, long n, long row0, int hooks, struct ds_error *err)
{
	cudaStream_t st = e->ctx.st;
	int rc;

	if (op != DSC_OP_HEAD)
		DSC_CK(err, cudaMemcpyAsync(e->state_dev, e->state_pin, e->state_bytes, cudaMemcpyHostToDevice, st));
	DSC_CK(err, cudaMemcpyAsync(op == DSC_OP_MTP ? e->hin : e->h, e->pin_h, (size_t)n * (size_t)e->ldD * sizeof(float),
				    cudaMemcpyHostToDevice, st));
	switch (op) {
	case DSC_OP_LAYERS:
		rc = dsc_layers_step(e, n, row0, hooks, err);
		break;
	case DSC_OP_HEAD:
		rc = dsc_head_step(e, n, err);
		break;
	default:
		rc = dsc_mtp_step(e, n, row0, hooks, err);
		break;
	}
	if (rc)
		return rc;
	if (op == DSC_OP_LAYERS)
		DSC_CK(err, cudaMemcpyAsync(e->pin_h, e->h, (size_t)n * (size_t)e->ldD * sizeof(float), cudaMemcpyDeviceToHost,
					    st));
	else
		DSC_CK(err, cudaMemcpyAsync(e->pin_logits, e->logits, (size_t)n * (size_t)e->ldV * sizeof(float),
					    cudaMemcpyDeviceToHost, st));
	return 0;
}

static int capture(struct dsc_engine *e, int op, long n, struct ds_error *err)
{
	cudaGraph_t g = NULL;
	cudaError_t ce;
	int rc;

	DSC_CK(err, cudaStreamBeginCapture(e->ctx.st, cudaStreamCaptureModeThreadLocal));
	rc = enqueue(e, op, n, 0, 0, err);
	ce = cudaStreamEndCapture(e->ctx.st, &g);
	if (!rc && ce != cudaSuccess)
		rc = dsc_cuda_fail(err, ce, "cudaStreamEndCapture", __FILE__, __LINE__);
	if (!rc && (ce = cudaGraphInstantiate(&e->graph[op][n], g, 0)) != cudaSuccess)
		rc = dsc_cuda_fail(err, ce, "cudaGraphInstantiate", __FILE__, __LINE__);
	if (g)
		cudaGraphDestroy(g);
	return rc;
}

/* Run one step: from its graph when it is a decode step (the first time
 * eagerly, to warm up, then captured), otherwise eagerly. */
static int run(struct dsc_engine *e, int op, long n, long row0, int decode, struct ds_error *err)
{
	int hooks = op != DSC_OP_HEAD && has_hooks(e), rc;

	if (decode && e->graphs && !hooks && n <= DSC_DECODE_ROWS && (e->graph[op][n] || e->warm[op][n])) {
		if (!e->graph[op][n] && (rc = capture(e, op, n, err)))
			return rc;
		DSC_CK(err, cudaGraphLaunch(e->graph[op][n], e->ctx.st));
	} else {
		if (decode && n <= DSC_DECODE_ROWS)
			e->warm[op][n] = 1;
		if ((rc = enqueue(e, op, n, row0, hooks, err)))
			return rc;
	}
	DSC_CK(err, cudaStreamSynchronize(e->ctx.st));
	return 0;
}

static int prepare(struct dsc_engine *e, struct dsc_kv *kv, const struct ds_fwd_batch *batch, struct ds_error *err)
{
	if (batch->nchunks > e->chunk_cap) {
		int *p = (int *)realloc(e->chunk_slot, (size_t)batch->nchunks * sizeof(int));

		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory");
		e->chunk_slot = p;
		e->chunk_cap = batch->nchunks;
	}
	return dsc_kv_prepare(kv, batch, e->ctx.st, e->chunk_slot, err);
}

static void commit(struct dsc_engine *e, struct dsc_kv *kv, long n)
{
	for (long r = 0; r < n; r++)
		dsc_kv_commit(kv, e->hrows.slot[r], e->hrows.pos[r] + 1);
}

/* ---- backend.h's operations ---- */

static int cuda_check(void *impl, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;

	return dsc_kv_room(mtp ? &e->kv_mtp : &e->kv, batch, err);
}

static int cuda_layers(void *impl, const struct ds_fwd_batch *batch, float *hidden, struct ds_error *err)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;
	struct cursor cu = { 0, 0, 0 };
	long D = e->m->D, n;
	int decode, rc;

	if ((rc = prepare(e, &e->kv, batch, err)))
		return rc;
	while ((n = next_step(e, batch, &cu, NULL, &decode)) > 0) {
		rows_in(e, hidden + cu.row0 * D, n);
		if ((rc = run(e, DSC_OP_LAYERS, n, cu.row0, decode, err)))
			return rc;
		rows_out(e->pin_h, e->ldD, n, D, hidden + cu.row0 * D);
		commit(e, &e->kv, n);
		cu.row0 += n;
	}
	return 0;
}

static int cuda_head(void *impl, const float *hidden, long n, float *logits, struct ds_error *err)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;
	const struct ds_model *m = e->m;
	int rc;

	if (!e->w.final_norm || !e->w.lm_head.data)
		return ds_error_set(err, EX_SOFTWARE, "the head was not mapped");
	for (long r0 = 0; r0 < n; r0 += e->R) {
		long cnt = n - r0 < e->R ? n - r0 : e->R;

		rows_in(e, hidden + r0 * m->D, cnt);
		if ((rc = run(e, DSC_OP_HEAD, cnt, r0, 1, err)))
			return rc;
		rows_out(e->pin_logits, e->ldV, cnt, m->V, logits + r0 * m->V);
	}
	return 0;
}

static int cuda_mtp(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
		    float *logits, struct ds_error *err)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;
	const struct ds_model *m = e->m;
	struct cursor cu = { 0, 0, 0 };
	long total = ds_batch_rows(batch), n;
	int decode, rc;

	if (e->kv_mtp.nlayers != 1)
		return ds_error_set(err, EX_SOFTWARE, "the MTP module was not set up");
	for (long r = 0; r < total; r++)
		if (next[r] < 0 || next[r] >= m->V)
			return ds_error_set(err, EX_DATAERR, "next token %ld: id %d is outside the vocabulary (0..%ld)", r,
					    (int)next[r], m->V - 1);
	if ((rc = prepare(e, &e->kv_mtp, batch, err)))
		return rc;
	while ((n = next_step(e, batch, &cu, next, &decode)) > 0) {
		rows_in(e, hidden + cu.row0 * m->D, n);
		if ((rc = run(e, DSC_OP_MTP, n, cu.row0, decode, err)))
			return rc;
		rows_out(e->pin_logits, e->ldV, n, m->V, logits + cu.row0 * m->V);
		commit(e, &e->kv_mtp, n);
		cu.row0 += n;
	}
	return 0;
}

/* one routing step, eager: rows in (into e->h, or e->a when they are
 * the MoE input already), attention when from_input, router, choices out */
static int route_rows(struct dsc_engine *e, long layer, const float *hidden, long n, int from_input, int32_t *ids,
		      float *w, struct ds_error *err)
{
	size_t nk = (size_t)n * (size_t)e->m->K;
	int rc;

	rows_in(e, hidden, n);
	if (from_input)
		DSC_CK(err, cudaMemcpyAsync(e->state_dev, e->state_pin, e->state_bytes, cudaMemcpyHostToDevice, e->ctx.st));
	DSC_CK(err, cudaMemcpyAsync(from_input ? e->h : e->a, e->pin_h, (size_t)n * (size_t)e->ldD * sizeof(float),
				    cudaMemcpyHostToDevice, e->ctx.st));
	if ((rc = dsc_route_step(e, layer, n, from_input, err)))
		return rc;
	DSC_CK(err, cudaMemcpyAsync(e->pin_ids, e->ids, nk * sizeof(int32_t), cudaMemcpyDeviceToHost, e->ctx.st));
	DSC_CK(err, cudaMemcpyAsync(e->pin_w, e->wts, nk * sizeof(float), cudaMemcpyDeviceToHost, e->ctx.st));
	DSC_CK(err, cudaStreamSynchronize(e->ctx.st));
	memcpy(ids, e->pin_ids, nk * sizeof(int32_t));
	memcpy(w, e->pin_w, nk * sizeof(float));
	return 0;
}

static int cuda_route(void *impl, const struct ds_fwd_batch *batch, long layer, const float *hidden, int from_input,
		      int32_t *ids, float *weights, struct ds_error *err)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;
	const struct ds_model *m = e->m;
	struct cursor cu = { 0, 0, 0 };
	long n;
	int decode, rc;

	if (layer < e->first || layer >= e->last)
		return ds_error_set(err, EX_SOFTWARE, "layer %ld is not among the layers set up", layer);
	if (!e->w.layers[layer].moe)
		return ds_error_set(err, EX_USAGE, "layer %ld is a dense layer (no router)", layer);
	if (!from_input) {
		for (long r0 = 0, total = ds_batch_rows(batch); r0 < total; r0 += e->R) {
			long cnt = total - r0 < e->R ? total - r0 : e->R;

			if ((rc = route_rows(e, layer, hidden + r0 * m->D, cnt, 0, ids + r0 * m->K, weights + r0 * m->K, err)))
				return rc;
		}
		return 0;
	}
	if ((rc = prepare(e, &e->kv, batch, err)))
		return rc;
	while ((n = next_step(e, batch, &cu, NULL, &decode)) > 0) {
		if ((rc = route_rows(e, layer, hidden + cu.row0 * m->D, n, 1, ids + cu.row0 * m->K, weights + cu.row0 * m->K,
				     err)))
			return rc;
		commit(e, &e->kv, n);
		cu.row0 += n;
	}
	return 0;
}

static void cuda_end_seq(void *impl, uint64_t seq)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;

	dsc_kv_drop(&e->kv, seq);
	dsc_kv_drop(&e->kv_mtp, seq);
}

static void cuda_truncate_seq(void *impl, uint64_t seq, long len)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;

	dsc_kv_truncate(&e->kv, seq, len);
	dsc_kv_truncate(&e->kv_mtp, seq, len);
}

static void cuda_set_hooks(void *impl, const struct ds_fwd_hooks *h)
{
	struct dsc_engine *e = (struct dsc_engine *)impl;

	if (h)
		e->hooks = *h;
	else
		memset(&e->hooks, 0, sizeof(e->hooks));
}

static void cuda_free(void *impl)
{
	engine_free((struct dsc_engine *)impl);
}

static const struct ds_backend_ops cuda_ops = {
	"cuda", cuda_check, cuda_layers, cuda_head, cuda_mtp, cuda_route, cuda_end_seq, cuda_truncate_seq,
	cuda_set_hooks, cuda_free,
	NULL, NULL, NULL,	/* mtp_layer, mtp_head, mtp_cache (speculative drafting): not on CUDA yet, answered 69 */
};

extern "C" int ds_backend_cuda_open(struct ds_backend *b, const struct ds_model *m, const struct ds_backend_opts *o,
				    struct ds_error *err)
{
	struct dsc_engine *e;
	int rc;

	if ((rc = check_model(m, o, err)))
		return rc;
	e = (struct dsc_engine *)calloc(1, sizeof(*e));
	if (!e)
		return ds_error_set(err, EX_OSERR, "out of memory");
	e->m = m;
	e->first = o->first;
	e->last = o->last;
	e->mtp = o->mtp;
	e->R = o->max_rows > 0 ? o->max_rows : 128;
	if ((rc = open_engine(e, o, err))) {
		engine_free(e);
		return rc;
	}
	b->ops = &cuda_ops;
	b->impl = e;
	return 0;
}
