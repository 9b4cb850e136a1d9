// layer.cu - one step of the forward pass on the device: decoder layers
// (MLA + dense MLP or MoE), the head, the MTP module, and one layer's
// routing, queued from the ops of ops.cuh (engine.cuh).  The order of the
// arithmetic follows common/cpu/forward.c; the differences are the
// summation order inside products and, outside exact mode, the BF16 cache
// and BF16 inputs of the cuBLAS products of prefill.
#include <string.h>
#include <sysexits.h>

#include "engine.cuh"

/* ---- hooks: results copied out of an eager step ---- */

static int hook_rows(struct dsc_engine *e, const float *dev, long n, struct ds_error *err)
{
	long D = e->m->D;

	DSC_CK(err, cudaMemcpyAsync(e->pin_hook, dev, (size_t)n * (size_t)e->ldD * sizeof(float), cudaMemcpyDeviceToHost,
				    e->ctx.st));
	DSC_CK(err, cudaStreamSynchronize(e->ctx.st));
	for (long r = 0; r < n; r++)
		memcpy(e->hook_rows + r * D, e->pin_hook + r * e->ldD, (size_t)D * sizeof(float));
	return 0;
}

/* e->ids / e->wts of n rows into the pinned twins */
static int fetch_routes(struct dsc_engine *e, long n, struct ds_error *err)
{
	size_t nk = (size_t)n * (size_t)e->m->K;

	DSC_CK(err, cudaMemcpyAsync(e->pin_ids, e->ids, nk * sizeof(int32_t), cudaMemcpyDeviceToHost, e->ctx.st));
	DSC_CK(err, cudaMemcpyAsync(e->pin_w, e->wts, nk * sizeof(float), cudaMemcpyDeviceToHost, e->ctx.st));
	DSC_CK(err, cudaStreamSynchronize(e->ctx.st));
	return 0;
}

/* ---- attention ---- */

static struct dsc_cache cache_of(const struct dsc_engine *e, const struct dsc_kv *kv, long layer)
{
	struct dsc_cache c = { kv->d_tables, kv->maxp, kv->width, layer, kv->nlayers, kv->esz == 4 };

	return c;
}

/* h += attention(input_layernorm(h)); a = post_attention_layernorm(h) */
static int attention_half(struct dsc_engine *e, const struct dsc_layer *l, const struct dsc_cache *cache, long n,
			  struct ds_error *err)
{
	const struct ds_model *m = e->m;
	struct dsc_ctx *c = &e->ctx;
	long D = m->D, H = m->H, W = m->rkv + m->dr;
	struct dsc_mla_dims d = { H, m->dq, m->dn, m->dr, m->dv, m->rkv, m->latent_eps, e->rope.softmax_scale };
	struct dsc_lin lin;
	int rc;

	if ((rc = dsc_rmsnorm(c, e->h, e->ldD, e->a, e->ldD, l->attn_norm, D, n, m->eps, err)))
		return rc;
	if (m->rq > 0) {
		lin = dsc_lin_all(&l->q_a, e->a, e->ldD, n, e->qa, e->ldrq, 0);
		if ((rc = dsc_linear(c, &lin, err)) ||
		    (rc = dsc_rmsnorm(c, e->qa, e->ldrq, e->qa, e->ldrq, l->q_a_norm, m->rq, n, m->latent_eps, err)))
			return rc;
		lin = dsc_lin_all(&l->q_b, e->qa, e->ldrq, n, e->q, e->ldq, 0);
	} else {
		lin = dsc_lin_all(&l->q, e->a, e->ldD, n, e->q, e->ldq, 0);
	}
	if ((rc = dsc_linear(c, &lin, err)))
		return rc;
	lin = dsc_lin_all(&l->kv_a, e->a, e->ldD, n, e->kvr, e->ldkv, 0);
	if ((rc = dsc_linear(c, &lin, err)) ||
	    (rc = dsc_mla_cache_rows(c, &e->rows, n, cache, &d, e->kvr, e->ldkv, l->kv_a_norm, e->q, e->ldq, e->qf, err)))
		return rc;
	/* qa[h] = W_UK[h]^T q_nope[h] into qf[r][h][0..rkv) */
	if ((rc = dsc_linear_t(c, &l->kv_b, 0, m->dn, e->q, e->ldq, n, e->qf, H * W, H, m->dq, m->dn + m->dv, W, err)) ||
	    (rc = dsc_mla_attend(c, &e->rows, n, cache, &d, e->qf, e->ol, err)))
		return rc;
	/* o[h] = W_UV[h] ol[h], then h += W_o o */
	lin = (struct dsc_lin){ &l->kv_b, m->dn, m->dv, e->ol, H * m->rkv, n, e->o, e->ldo, 0, H, m->rkv, m->dn + m->dv,
				m->dv };
	if ((rc = dsc_linear(c, &lin, err)))
		return rc;
	lin = dsc_lin_all(&l->o, e->o, e->ldo, n, e->h, e->ldD, 1);
	if ((rc = dsc_linear(c, &lin, err)))
		return rc;
	return dsc_rmsnorm(c, e->h, e->ldD, e->a, e->ldD, l->ffn_norm, D, n, m->eps, err);
}

/* ---- feed-forward ---- */

/* out (+)= down(silu(gate a) * up a) for a dense MLP or the shared experts */
static int mlp(struct dsc_engine *e, const struct dsc_mlp *w, long n, float *out, int acc, struct ds_error *err)
{
	struct dsc_ctx *c = &e->ctx;
	struct dsc_lin lin = dsc_lin_all(&w->gate, e->a, e->ldD, n, e->gd, e->ldwide, 0);
	int rc;

	if ((rc = dsc_linear(c, &lin, err)))
		return rc;
	lin = dsc_lin_all(&w->up, e->a, e->ldD, n, e->ud, e->ldwide, 0);
	if ((rc = dsc_linear(c, &lin, err)) || (rc = dsc_silu_mul(c, e->gd, e->ud, e->ldwide, w->gate.rows, n, err)))
		return rc;
	lin = dsc_lin_all(&w->down, e->gd, e->ldwide, n, out, e->ldD, acc);
	return dsc_linear(c, &lin, err);
}

/* router logits (f32 weights and inputs) and the choice, into e->ids/wts */
static int route(struct dsc_engine *e, const struct dsc_layer *l, long n, struct ds_error *err)
{
	struct dsc_lin lin = dsc_lin_all(&l->gate, e->a, e->ldD, n, e->rl, e->ldE, 0);
	int rc;

	if ((rc = dsc_linear(&e->ctx, &lin, err)))
		return rc;
	return dsc_route_select(&e->ctx, &e->router, e->rl, e->ldE, l->gate_bias, n, e->ids, e->wts, e->rsc, err);
}

/* Prefill: group the (row, choice) pairs by expert on the host (forward.c's
 * order), then one product per expert with rows. */
static int experts_grouped(struct dsc_engine *e, const struct dsc_layer *l, long n, struct ds_error *err)
{
	const struct ds_model *m = e->m;
	struct dsc_ctx *c = &e->ctx;
	long E = m->E, K = m->K, D = m->D, Im = m->Im;
	int rc;

	if ((rc = fetch_routes(e, n, err)))
		return rc;
	memset(e->cnt, 0, (size_t)(E + 1) * sizeof(long));
	for (long i = 0; i < n * K; i++)
		e->cnt[e->pin_ids[i]]++;
	e->off[0] = 0;
	for (long x = 0; x < E; x++) {
		e->off[x + 1] = e->off[x] + e->cnt[x];
		e->cur[x] = 0;
	}
	for (long i = 0; i < n * K; i++) {
		long x = e->pin_ids[i];

		e->h_gslot[i] = (int32_t)(e->off[x] + e->cur[x]++);
	}
	DSC_CK(err, cudaMemcpyAsync(e->gslot, e->h_gslot, (size_t)(n * K) * sizeof(int32_t), cudaMemcpyHostToDevice,
				    c->st));
	if ((rc = dsc_moe_gather(c, e->gslot, K, e->a, e->ldD, n, e->xg, D, err)))
		return rc;
	for (long x = 0; x < E; x++) {
		struct dsc_mat gw = dsc_expert(l->experts.gate, x), uw = dsc_expert(l->experts.up, x);
		struct dsc_lin lg = dsc_lin_all(&gw, e->xg + e->off[x] * e->ldD, e->ldD, e->cnt[x],
						e->g + e->off[x] * e->ldIm, e->ldIm, 0);
		struct dsc_lin lu = dsc_lin_all(&uw, e->xg + e->off[x] * e->ldD, e->ldD, e->cnt[x],
						e->u + e->off[x] * e->ldIm, e->ldIm, 0);

		if (e->cnt[x] && ((rc = dsc_linear(c, &lg, err)) || (rc = dsc_linear(c, &lu, err))))
			return rc;
	}
	if ((rc = dsc_silu_mul(c, e->g, e->u, e->ldIm, Im, n * K, err)))
		return rc;
	for (long x = 0; x < E; x++) {
		struct dsc_mat dw = dsc_expert(l->experts.down, x);
		struct dsc_lin ld = dsc_lin_all(&dw, e->g + e->off[x] * e->ldIm, e->ldIm, e->cnt[x],
						e->yg + e->off[x] * e->ldD, e->ldD, 0);

		if (e->cnt[x] && (rc = dsc_linear(c, &ld, err)))
			return rc;
	}
	return 0;
}

/* h += sum_k w_k expert_k(a) (ascending expert id) + shared(a) */
static int moe(struct dsc_engine *e, const struct dsc_layer *l, long n, long row0, int hooks, struct ds_error *err)
{
	const struct ds_model *m = e->m;
	struct dsc_ctx *c = &e->ctx;
	long K = m->K;
	const float *shared = l->has_shared ? e->yd : NULL;
	int rc;

	if ((rc = route(e, l, n, err)))
		return rc;
	if (hooks && e->hooks.routes) {
		if ((rc = fetch_routes(e, n, err)))
			return rc;
		e->hooks.routes(e->hooks.ctx, l->index, row0, n, e->pin_ids, e->pin_w);
	}
	if (l->has_shared && (rc = mlp(e, &l->shared, n, e->yd, 0, err)))
		return rc;
	if (n <= DSC_DECODE_ROWS) {
		if ((rc = dsc_moe_gate_up(c, &l->experts, e->ids, K, e->a, e->ldD, n, e->act, e->ldIm, err)))
			return rc;
		return dsc_moe_down(c, &l->experts, e->ids, e->wts, K, e->act, e->ldIm, shared, e->h, e->ldD, n, err);
	}
	if ((rc = experts_grouped(e, l, n, err)))
		return rc;
	return dsc_moe_combine(c, e->gslot, e->wts, K, e->yg, e->ldD, shared, e->h, e->ldD, n, m->D, err);
}

/* one decoder layer over e->h */
static int layer(struct dsc_engine *e, const struct dsc_layer *l, const struct dsc_cache *cache, long n, long row0,
		 int hooks, struct ds_error *err)
{
	int rc;

	if ((rc = attention_half(e, l, cache, n, err)))
		return rc;
	if (l->moe) {
		if (hooks && e->hooks.moe_in) {
			if ((rc = hook_rows(e, e->a, n, err)))
				return rc;
			e->hooks.moe_in(e->hooks.ctx, l->index, row0, n, e->hook_rows);
		}
		rc = moe(e, l, n, row0, hooks, err);
	} else {
		rc = mlp(e, &l->dense, n, e->h, 1, err);
	}
	if (rc)
		return rc;
	if (hooks && e->hooks.layer_out) {
		if ((rc = hook_rows(e, e->h, n, err)))
			return rc;
		e->hooks.layer_out(e->hooks.ctx, l->index, row0, n, e->hook_rows);
	}
	return 0;
}

/* ---- operations ---- */

int dsc_layers_step(struct dsc_engine *e, long n, long row0, int hooks, struct ds_error *err)
{
	for (long li = e->first; li < e->last; li++) {
		struct dsc_cache cache = cache_of(e, &e->kv, li - e->first);
		int rc = layer(e, &e->w.layers[li], &cache, n, row0, hooks, err);

		if (rc)
			return rc;
	}
	return 0;
}

int dsc_head_step(struct dsc_engine *e, long n, struct ds_error *err)
{
	const struct ds_model *m = e->m;
	struct dsc_lin lin = dsc_lin_all(&e->w.lm_head, e->a, e->ldD, n, e->logits, e->ldV, 0);
	int rc;

	if ((rc = dsc_rmsnorm(&e->ctx, e->h, e->ldD, e->a, e->ldD, e->w.final_norm, m->D, n, m->eps, err)))
		return rc;
	return dsc_linear(&e->ctx, &lin, err);
}

int dsc_mtp_step(struct dsc_engine *e, long n, long row0, int hooks, struct ds_error *err)
{
	const struct ds_model *m = e->m;
	const struct dsc_layer *l = &e->w.layers[m->L];
	struct dsc_cache cache = cache_of(e, &e->kv_mtp, 0);
	struct dsc_lin lin = dsc_lin_all(&l->eh_proj, e->cat, e->ldcat, n, e->h, e->ldD, 0);
	int rc;

	if ((rc = dsc_mtp_input(&e->ctx, &e->rows, n, &l->embed, e->hin, e->ldD, e->w.final_norm, l->hnorm, l->enorm,
				m->D, m->eps, e->tmp, e->cat, e->ldcat, err)) ||
	    (rc = dsc_linear(&e->ctx, &lin, err)) || (rc = layer(e, l, &cache, n, row0, hooks, err)) ||
	    (rc = dsc_rmsnorm(&e->ctx, e->h, e->ldD, e->a, e->ldD, l->head_norm, m->D, n, m->eps, err)))
		return rc;
	lin = dsc_lin_all(&l->head, e->a, e->ldD, n, e->logits, e->ldV, 0);
	return dsc_linear(&e->ctx, &lin, err);
}

int dsc_route_step(struct dsc_engine *e, long layer_index, long n, int from_input, struct ds_error *err)
{
	const struct dsc_layer *l = &e->w.layers[layer_index];
	int rc;

	if (from_input) {
		struct dsc_cache cache = cache_of(e, &e->kv, layer_index - e->first);

		if ((rc = attention_half(e, l, &cache, n, err)))
			return rc;
	}
	return route(e, l, n, err);
}
