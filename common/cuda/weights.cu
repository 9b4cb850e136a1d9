// weights.cu - the model's weights on the device (weights.cuh).
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "weights.cuh"

size_t dsc_dtype_size(int dtype)
{
	switch (dtype) {
	case DS_F32:
		return 4;
	case DS_F16:
	case DS_BF16:
		return 2;
	case DS_F8_E4M3:
		return 1;
	default:
		return 0;
	}
}

/* One pass over the wanted parts: counting (ring NULL) or uploading. */
struct placer {
	struct dsc_arena *a;
	struct dsc_ring *ring;
	struct ds_error *err;
	size_t max_mat;
	struct seen {
		const void *host;
		struct dsc_mat dev;
	} *seen;
	int nseen, capseen;
};

static int place_rows(struct placer *p, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
		      size_t row_bytes, size_t rows)
{
	if (!p->ring || !rows)
		return 0;
	return dsc_ring_put(p->ring, dst, dst_pitch, src, src_pitch, row_bytes, rows, p->err);
}

static long padded_ld(long cols, size_t esz)
{
	return (long)(dsc_align((size_t)cols * esz, 64) / esz);
}

static int remember(struct placer *p, const void *host, const struct dsc_mat *dev)
{
	if (p->nseen == p->capseen) {
		int cap = p->capseen ? 2 * p->capseen : 16;
		struct placer::seen *s = (struct placer::seen *)realloc(p->seen, (size_t)cap * sizeof(*s));

		if (!s)
			return ds_error_set(p->err, EX_OSERR, "out of memory");
		p->seen = s;
		p->capseen = cap;
	}
	p->seen[p->nseen].host = host;
	p->seen[p->nseen++].dev = *dev;
	return 0;
}

/* A matrix in its dtype; an absent view (optional parts) stays empty. */
static int place_mat(struct placer *p, const struct ds_mat *h, struct dsc_mat *d)
{
	size_t esz = dsc_dtype_size(h->dtype), bytes;
	void *dst;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!ds_mat_valid(h))
		return 0;
	for (int i = 0; i < p->nseen; i++)
		if (p->seen[i].host == h->data) {
			*d = p->seen[i].dev;
			return 0;
		}
	if (!esz)
		return ds_error_set(p->err, EX_DATAERR, "%s: dtype %s is not supported on the GPU",
				    h->name ? h->name : "weight", ds_dtype_name(h->dtype));
	d->dtype = h->dtype;
	d->rows = h->rows;
	d->cols = h->cols;
	d->ld = padded_ld(h->cols, esz);
	bytes = (size_t)d->rows * (size_t)d->ld * esz;
	dst = dsc_arena_take(p->a, bytes);
	d->data = dst;
	if ((rc = place_rows(p, dst, (size_t)d->ld * esz, h->data, (size_t)h->ld * esz, (size_t)h->cols * esz,
			     (size_t)h->rows)))
		return rc;
	if (h->dtype == DS_F8_E4M3) {
		size_t sbr = (size_t)((h->rows + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK), sb = (size_t)h->scale_ld * 4;
		void *sd = dsc_arena_take(p->a, sbr * sb);

		d->scale = (const float *)sd;
		d->scale_ld = h->scale_ld;
		if ((rc = place_rows(p, sd, sb, h->scale, sb, sb, sbr)))
			return rc;
	}
	if (h->dtype != DS_BF16 && (size_t)d->rows * (size_t)d->ld > p->max_mat)
		p->max_mat = (size_t)d->rows * (size_t)d->ld;
	return remember(p, h->data, d);
}

/* A matrix converted to f32 (the router: its products decide experts). */
static int place_f32(struct placer *p, const struct ds_mat *h, struct dsc_mat *d)
{
	float *tmp;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!ds_mat_valid(h))
		return 0;
	d->dtype = DS_F32;
	d->rows = h->rows;
	d->cols = h->cols;
	d->ld = padded_ld(h->cols, 4);
	d->data = dsc_arena_take(p->a, (size_t)d->rows * (size_t)d->ld * 4);
	if (!p->ring)
		return 0;
	tmp = (float *)malloc((size_t)h->cols * sizeof(float));
	if (!tmp)
		return ds_error_set(p->err, EX_OSERR, "out of memory");
	for (long n = 0; n < h->rows; n++) {
		for (long k = 0; k < h->cols; k++)
			tmp[k] = ds_mat_get(h, n, k);
		if ((rc = place_rows(p, (char *)d->data + (size_t)n * (size_t)d->ld * 4, (size_t)d->ld * 4, tmp,
				     (size_t)h->cols * 4, (size_t)h->cols * 4, 1))) {
			free(tmp);
			return rc;
		}
	}
	free(tmp);
	return 0;
}

static int place_vec(struct placer *p, const float *h, long n, const float **d)
{
	void *dst;

	*d = NULL;
	if (!h)
		return 0;
	dst = dsc_arena_take(p->a, (size_t)n * 4);
	*d = (const float *)dst;
	return place_rows(p, dst, (size_t)n * 4, h, (size_t)n * 4, (size_t)n * 4, 1);
}

/* One of gate/up/down of every routed expert, packed: [E][rows][ld]. */
static int place_experts(struct placer *p, const struct ds_mlp *ex, long E, size_t which, struct dsc_mat *d)
{
	const struct ds_mat *h0 = (const struct ds_mat *)((const char *)&ex[0] + which);
	size_t esz = dsc_dtype_size(h0->dtype), sbr = (size_t)((h0->rows + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK);
	char *data, *sc = NULL;
	int rc;

	memset(d, 0, sizeof(*d));
	if (!esz)
		return ds_error_set(p->err, EX_DATAERR, "%s: dtype %s is not supported on the GPU",
				    h0->name ? h0->name : "expert", ds_dtype_name(h0->dtype));
	d->dtype = h0->dtype;
	d->rows = h0->rows;
	d->cols = h0->cols;
	d->ld = padded_ld(h0->cols, esz);
	d->estride = dsc_align((size_t)d->rows * (size_t)d->ld * esz, 256);
	data = (char *)dsc_arena_take(p->a, d->estride * (size_t)E);
	d->data = data;
	if (h0->dtype == DS_F8_E4M3) {
		d->scale_ld = h0->scale_ld;
		d->estride_scale = sbr * (size_t)h0->scale_ld;
		sc = (char *)dsc_arena_take(p->a, d->estride_scale * 4 * (size_t)E);
		d->scale = (const float *)sc;
	}
	for (long e = 0; e < E; e++) {
		const struct ds_mat *h = (const struct ds_mat *)((const char *)&ex[e] + which);

		if (!ds_mat_valid(h) || h->dtype != h0->dtype || h->rows != h0->rows || h->cols != h0->cols)
			return ds_error_set(p->err, EX_DATAERR,
					    "%s: the routed experts of a layer must share one dtype and shape on the GPU",
					    h->name ? h->name : "expert");
		if ((rc = place_rows(p, data ? data + (size_t)e * d->estride : NULL, (size_t)d->ld * esz, h->data,
				     (size_t)h->ld * esz, (size_t)h->cols * esz, (size_t)h->rows)))
			return rc;
		if (sc && (rc = place_rows(p, sc + (size_t)e * d->estride_scale * 4, (size_t)h->scale_ld * 4, h->scale,
					   (size_t)h->scale_ld * 4, (size_t)h->scale_ld * 4, sbr)))
			return rc;
	}
	if (h0->dtype != DS_BF16 && (size_t)d->rows * (size_t)d->ld > p->max_mat)
		p->max_mat = (size_t)d->rows * (size_t)d->ld;
	return 0;
}

static int place_mlp(struct placer *p, const struct ds_mlp *h, struct dsc_mlp *d)
{
	int rc;

	if ((rc = place_mat(p, &h->gate, &d->gate)) || (rc = place_mat(p, &h->up, &d->up)) ||
	    (rc = place_mat(p, &h->down, &d->down)))
		return rc;
	return 0;
}

static int place_layer(struct placer *p, const struct ds_model *m, const struct ds_layer *h, struct dsc_layer *d,
		       int mtp)
{
	long D = m->D;
	int rc;

	memset(d, 0, sizeof(*d));
	d->present = 1;
	d->moe = h->moe;
	d->has_shared = h->has_shared;
	d->index = h->index;
	if ((rc = place_vec(p, h->attn_norm, D, &d->attn_norm)) || (rc = place_vec(p, h->ffn_norm, D, &d->ffn_norm)))
		return rc;
	if (m->rq > 0) {
		if ((rc = place_mat(p, &h->q_a, &d->q_a)) || (rc = place_vec(p, h->q_a_norm, m->rq, &d->q_a_norm)) ||
		    (rc = place_mat(p, &h->q_b, &d->q_b)))
			return rc;
	} else if ((rc = place_mat(p, &h->q, &d->q))) {
		return rc;
	}
	if ((rc = place_mat(p, &h->kv_a, &d->kv_a)) || (rc = place_vec(p, h->kv_a_norm, m->rkv, &d->kv_a_norm)) ||
	    (rc = place_mat(p, &h->kv_b, &d->kv_b)) || (rc = place_mat(p, &h->o, &d->o)))
		return rc;
	if (h->moe) {
		if ((rc = place_f32(p, &h->gate, &d->gate)) || (rc = place_vec(p, h->gate_bias, m->E, &d->gate_bias)) ||
		    (rc = place_experts(p, h->experts, m->E, offsetof(struct ds_mlp, gate), &d->experts.gate)) ||
		    (rc = place_experts(p, h->experts, m->E, offsetof(struct ds_mlp, up), &d->experts.up)) ||
		    (rc = place_experts(p, h->experts, m->E, offsetof(struct ds_mlp, down), &d->experts.down)))
			return rc;
		if (h->has_shared && (rc = place_mlp(p, &h->shared, &d->shared)))
			return rc;
	} else if ((rc = place_mlp(p, &h->dense, &d->dense))) {
		return rc;
	}
	if (mtp) {
		if ((rc = place_vec(p, h->enorm, D, &d->enorm)) || (rc = place_vec(p, h->hnorm, D, &d->hnorm)) ||
		    (rc = place_vec(p, h->head_norm, D, &d->head_norm)) || (rc = place_mat(p, &h->eh_proj, &d->eh_proj)) ||
		    (rc = place_mat(p, &h->embed, &d->embed)) || (rc = place_mat(p, &h->head, &d->head)))
			return rc;
	}
	return 0;
}

static int place_all(struct placer *p, struct dsc_weights *w, const struct ds_model *m, long first, long last,
		     int mtp)
{
	int rc;

	for (long i = first; i < last; i++)
		if ((rc = place_layer(p, m, &m->layers[i], &w->layers[i], 0)))
			return rc;
	if (mtp && (rc = place_layer(p, m, &m->layers[m->L], &w->layers[m->L], 1)))
		return rc;
	if ((rc = place_vec(p, m->final_norm, m->D, &w->final_norm)) || (rc = place_mat(p, &m->lm_head, &w->lm_head)))
		return rc;
	return 0;
}

static int run_pass(struct dsc_weights *w, const struct ds_model *m, long first, long last, int mtp,
		    struct dsc_ring *ring, struct ds_error *err)
{
	struct placer p = { &w->arena, ring, err, 0, NULL, 0, 0 };
	int rc;

	if (!w->layers) {
		w->nlayers = m->nlayers;
		w->layers = (struct dsc_layer *)calloc((size_t)(m->nlayers > 0 ? m->nlayers : 1), sizeof(*w->layers));
		if (!w->layers)
			return ds_error_set(err, EX_OSERR, "out of memory");
	}
	rc = place_all(&p, w, m, first, last, mtp);
	w->max_mat_elems = p.max_mat;
	free(p.seen);
	return rc;
}

int dsc_weights_plan(struct dsc_weights *w, const struct ds_model *m, long first, long last, int mtp,
		     struct ds_error *err)
{
	int rc;

	memset(w, 0, sizeof(*w));
	if ((rc = run_pass(w, m, first, last, mtp, NULL, err)))
		return rc;
	w->bytes = w->arena.used;
	return 0;
}

int dsc_weights_upload(struct dsc_weights *w, const struct ds_model *m, long first, long last, int mtp,
		       cudaStream_t st, struct ds_error *err)
{
	struct dsc_ring ring;
	int rc;

	if ((rc = dsc_arena_alloc(&w->arena, err)))
		return rc;
	if ((rc = dsc_ring_init(&ring, st, w->bytes, err)) || (rc = run_pass(w, m, first, last, mtp, &ring, err)) ||
	    (rc = dsc_ring_finish(&ring, err))) {
		dsc_ring_release(&ring);
		return rc;
	}
	dsc_ring_release(&ring);
	return 0;
}

void dsc_weights_free(struct dsc_weights *w)
{
	dsc_arena_free(&w->arena);
	free(w->layers);
	memset(w, 0, sizeof(*w));
}
