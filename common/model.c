/*
 * model.c - config + checkpoint -> per-layer weight views (see model.h).
 *
 * Tensor names are the Hugging Face ones (docs/deepseek-v3-model.md section
 * 2).  Nothing here computes; it checks names, shapes and dtypes and hands
 * out views.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "model.h"
#include "rope.h"
#include "route.h"

int ds_model_layer_is_moe(const struct ds_model *m, long i)
{
	return ds_config_layer_is_moe(&m->cfg, i);
}

static int init_dims(struct ds_model *m, struct ds_error *err)
{
	const struct ds_config *c = &m->cfg;
	struct ds_rope rope;
	int rc;

	m->D = c->hidden_size;
	m->H = c->num_attention_heads;
	m->dn = c->qk_nope_head_dim;
	m->dr = c->qk_rope_head_dim;
	m->dv = c->v_head_dim;
	m->dq = m->dn + m->dr;
	m->rq = c->q_lora_rank;
	m->rkv = c->kv_lora_rank;
	m->I = c->intermediate_size;
	m->Im = c->moe_intermediate_size;
	m->E = c->n_routed_experts;
	m->K = c->num_experts_per_tok;
	m->V = c->vocab_size;
	m->L = c->num_hidden_layers;
	m->n_shared = c->n_shared_experts;
	m->eps = (float)c->rms_norm_eps;
	m->latent_eps = 1e-6f;
	m->nlayers = m->L + (c->num_nextn_predict_layers > 0 ? 1 : 0);
	if (m->D <= 0 || m->H <= 0 || m->dn <= 0 || m->dv <= 0 || m->rkv <= 0 || m->V <= 0 || m->L <= 0)
		return ds_error_set(err, EX_CONFIG, "config: a model dimension is missing or not positive");
	if (c->fp8 && (c->fp8_block_rows != DS_FP8_BLOCK || c->fp8_block_cols != DS_FP8_BLOCK))
		return ds_error_set(err, EX_CONFIG, "quantization_config.weight_block_size [%ld, %ld] is not supported (only [128, 128])",
				    c->fp8_block_rows, c->fp8_block_cols);
	if (c->moe_layer_freq != 1)
		return ds_error_set(err, EX_CONFIG, "moe_layer_freq %ld is not supported (only 1)", c->moe_layer_freq);
	if (c->attention_bias)
		return ds_error_set(err, EX_CONFIG, "attention_bias is not supported");
	if (m->E > 0) {
		struct ds_router r;

		if ((rc = ds_router_init(&r, c, err)))
			return rc;
	}
	if ((rc = ds_rope_init(&rope, c, err))) {
		ds_rope_release(&rope);
		return rc;
	}
	ds_rope_release(&rope);
	return 0;
}

static char *config_path(const char *path)
{
	struct stat st;
	const char *slash;
	char *out;
	size_t n;

	if (!stat(path, &st) && !S_ISDIR(st.st_mode)) {
		slash = strrchr(path, '/');
		n = slash ? (size_t)(slash - path) : 1;
		out = malloc(n + sizeof("/config.json"));
		if (!out)
			return NULL;
		memcpy(out, slash ? path : ".", n);
		strcpy(out + n, "/config.json");
		return out;
	}
	n = strlen(path);
	out = malloc(n + sizeof("/config.json"));
	if (out)
		sprintf(out, "%s/config.json", path);
	return out;
}

int ds_model_load_config(struct ds_model *m, const char *path, struct ds_error *err)
{
	char *cp = config_path(path);
	int rc;

	memset(m, 0, sizeof(*m));
	if (!cp)
		return ds_error_set(err, EX_OSERR, "out of memory");
	rc = ds_config_load(&m->cfg, cp, err);
	free(cp);
	if (rc)
		return rc;
	return init_dims(m, err);
}

/* ---- tensor lookup ---- */

static int is_matrix_dtype(enum ds_dtype dt)
{
	return dt == DS_F32 || dt == DS_F16 || dt == DS_BF16 || dt == DS_F8_E4M3;
}

static const struct ds_tensor_info *find(struct ds_model *m, const char *name)
{
	return ds_checkpoint_find(&m->ck, name);
}

/* Map a matrix [rows, cols]; optional: returns 1 (and leaves out empty)
 * when absent. */
static int get_mat(struct ds_model *m, const char *name, long rows, long cols, int optional,
		   struct ds_mat *out, struct ds_error *err)
{
	const struct ds_tensor_info *t = find(m, name);

	memset(out, 0, sizeof(*out));
	if (!t) {
		if (optional)
			return 1;
		return ds_error_set(err, EX_DATAERR, "tensor '%s' is missing from the checkpoint", name);
	}
	if (t->ndim != 2 || t->shape[0] != rows || t->shape[1] != cols)
		return ds_error_set(err, EX_DATAERR, "tensor '%s' has shape [%lld, %lld]%s, expected [%ld, %ld]", name,
				    (long long)t->shape[0], t->ndim > 1 ? (long long)t->shape[1] : 0LL,
				    t->ndim != 2 ? " (not 2-D)" : "", rows, cols);
	if (!is_matrix_dtype(t->dtype))
		return ds_error_set(err, EX_DATAERR, "tensor '%s': dtype %s is not supported for weights", name,
				    ds_dtype_name(t->dtype));
	out->dtype = t->dtype;
	out->rows = rows;
	out->cols = cols;
	out->ld = cols;
	out->data = t->data;
	out->name = t->name;
	if (t->dtype == DS_F8_E4M3) {
		char sname[512];
		const struct ds_tensor_info *s;
		long sr = (rows + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK, sc = (cols + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK;

		snprintf(sname, sizeof(sname), "%s_scale_inv", name);
		s = find(m, sname);
		if (!s || s->dtype != DS_F32 || s->ndim != 2 || s->shape[0] != sr || s->shape[1] != sc)
			return ds_error_set(err, EX_DATAERR, "tensor '%s': FP8 without an F32 [%ld, %ld] '%s'", name, sr, sc,
					    sname);
		out->scale = s->data;
		out->scale_ld = sc;
	}
	return 0;
}

/* A 1-D vector [n] as an owned f32 copy; optional as in get_mat. */
static int get_vec(struct ds_model *m, const char *name, long n, int optional, float **out,
		   struct ds_error *err)
{
	const struct ds_tensor_info *t = find(m, name);

	*out = NULL;
	if (!t) {
		if (optional)
			return 1;
		return ds_error_set(err, EX_DATAERR, "tensor '%s' is missing from the checkpoint", name);
	}
	if (t->ndim != 1 || t->shape[0] != n)
		return ds_error_set(err, EX_DATAERR, "tensor '%s' has %d dims / %lld values, expected a vector of %ld",
				    name, t->ndim, t->ndim ? (long long)t->shape[0] : 1LL, n);
	if (!ds_dtype_is_float(t->dtype) || t->dtype == DS_F8_E4M3)
		return ds_error_set(err, EX_DATAERR, "tensor '%s': dtype %s is not supported for a vector", name,
				    ds_dtype_name(t->dtype));
	*out = malloc((size_t)n * sizeof(float));
	if (!*out)
		return ds_error_set(err, EX_OSERR, "out of memory");
	if (ds_to_f32(*out, t->data, t->dtype, (size_t)n))
		return ds_error_set(err, EX_DATAERR, "tensor '%s': cannot convert %s", name, ds_dtype_name(t->dtype));
	return 0;
}

#define NAME(buf, ...) (snprintf((buf), sizeof(buf), __VA_ARGS__), (buf))

static int get_mlp(struct ds_model *m, const char *prefix, long width, struct ds_mlp *mlp, struct ds_error *err)
{
	char n[512];
	int rc;

	if ((rc = get_mat(m, NAME(n, "%sgate_proj.weight", prefix), width, m->D, 0, &mlp->gate, err)) ||
	    (rc = get_mat(m, NAME(n, "%sup_proj.weight", prefix), width, m->D, 0, &mlp->up, err)) ||
	    (rc = get_mat(m, NAME(n, "%sdown_proj.weight", prefix), m->D, width, 0, &mlp->down, err)))
		return rc;
	return 0;
}

static int load_layer(struct ds_model *m, long i, int mtp, struct ds_error *err)
{
	struct ds_layer *l = &m->layers[i];
	char p[64], n[512];
	int rc;

	l->index = i;
	l->moe = ds_model_layer_is_moe(m, i);
	snprintf(p, sizeof(p), "model.layers.%ld.", i);
	if ((rc = get_vec(m, NAME(n, "%sinput_layernorm.weight", p), m->D, 0, &l->attn_norm, err)) ||
	    (rc = get_vec(m, NAME(n, "%spost_attention_layernorm.weight", p), m->D, 0, &l->ffn_norm, err)))
		return rc;
	if (m->rq > 0) {
		if ((rc = get_mat(m, NAME(n, "%sself_attn.q_a_proj.weight", p), m->rq, m->D, 0, &l->q_a, err)) ||
		    (rc = get_vec(m, NAME(n, "%sself_attn.q_a_layernorm.weight", p), m->rq, 0, &l->q_a_norm, err)) ||
		    (rc = get_mat(m, NAME(n, "%sself_attn.q_b_proj.weight", p), m->H * m->dq, m->rq, 0, &l->q_b, err)))
			return rc;
	} else if ((rc = get_mat(m, NAME(n, "%sself_attn.q_proj.weight", p), m->H * m->dq, m->D, 0, &l->q, err))) {
		return rc;
	}
	if ((rc = get_mat(m, NAME(n, "%sself_attn.kv_a_proj_with_mqa.weight", p), m->rkv + m->dr, m->D, 0, &l->kv_a, err)) ||
	    (rc = get_vec(m, NAME(n, "%sself_attn.kv_a_layernorm.weight", p), m->rkv, 0, &l->kv_a_norm, err)) ||
	    (rc = get_mat(m, NAME(n, "%sself_attn.kv_b_proj.weight", p), m->H * (m->dn + m->dv), m->rkv, 0, &l->kv_b, err)) ||
	    (rc = get_mat(m, NAME(n, "%sself_attn.o_proj.weight", p), m->D, m->H * m->dv, 0, &l->o, err)))
		return rc;
	if (!l->moe) {
		if ((rc = get_mlp(m, NAME(n, "%smlp.", p), m->I, &l->dense, err)))
			return rc;
	} else {
		char ep[96];

		if ((rc = get_mat(m, NAME(n, "%smlp.gate.weight", p), m->E, m->D, 0, &l->gate, err)))
			return rc;
		if (m->cfg.topk_method == DS_TOPK_NOAUX_TC &&
		    (rc = get_vec(m, NAME(n, "%smlp.gate.e_score_correction_bias", p), m->E, 0, &l->gate_bias, err)))
			return rc;
		l->experts = calloc((size_t)m->E, sizeof(*l->experts));
		if (!l->experts)
			return ds_error_set(err, EX_OSERR, "out of memory");
		for (long e = 0; e < m->E; e++)
			if ((rc = get_mlp(m, NAME(ep, "%smlp.experts.%ld.", p, e), m->Im, &l->experts[e], err)))
				return rc;
		if (m->n_shared > 0) {
			l->has_shared = 1;
			if ((rc = get_mlp(m, NAME(n, "%smlp.shared_experts.", p), m->n_shared * m->Im, &l->shared, err)))
				return rc;
		}
	}
	if (mtp) {
		if ((rc = get_vec(m, NAME(n, "%senorm.weight", p), m->D, 0, &l->enorm, err)) ||
		    (rc = get_vec(m, NAME(n, "%shnorm.weight", p), m->D, 0, &l->hnorm, err)) ||
		    (rc = get_vec(m, NAME(n, "%sshared_head.norm.weight", p), m->D, 0, &l->head_norm, err)) ||
		    (rc = get_mat(m, NAME(n, "%seh_proj.weight", p), m->D, 2 * m->D, 0, &l->eh_proj, err)))
			return rc;
		rc = get_mat(m, NAME(n, "%sembed_tokens.weight", p), m->V, m->D, 1, &l->embed, err);
		if (rc > 1)
			return rc;
		if (rc == 1)
			l->embed = m->embed;
		rc = get_mat(m, NAME(n, "%sshared_head.head.weight", p), m->V, m->D, 1, &l->head, err);
		if (rc > 1)
			return rc;
		if (rc == 1)
			l->head = m->lm_head;
		if (!ds_mat_valid(&l->embed) || !ds_mat_valid(&l->head))
			return ds_error_set(err, EX_DATAERR, "MTP layer %ld: no embedding or head to use", i);
	}
	l->loaded = 1;
	return 0;
}

int ds_model_open(struct ds_model *m, const char *path, const struct ds_model_want *want,
		  struct ds_error *err)
{
	int rc = ds_model_load_config(m, path, err);

	return rc ? rc : ds_model_map(m, path, want, err);
}

int ds_model_map(struct ds_model *m, const char *path, const struct ds_model_want *want,
		 struct ds_error *err)
{
	long total, done = 0;
	int rc;

	if (want->first < 0 || want->last > m->L || want->first > want->last)
		return ds_error_set(err, EX_USAGE, "layer range %ld:%ld is outside the model's 0:%ld", want->first,
				    want->last, m->L);
	if ((want->parts & DS_PART_MTP) && m->nlayers == m->L)
		return ds_error_set(err, EX_CONFIG, "the model has no MTP module (num_nextn_predict_layers is 0)");
	if ((rc = ds_checkpoint_open(&m->ck, path, err)))
		return rc;
	m->have_ck = 1;
	m->layers = calloc((size_t)m->nlayers, sizeof(*m->layers));
	if (!m->layers)
		return ds_error_set(err, EX_OSERR, "out of memory");
	if (want->parts & (DS_PART_EMBED | DS_PART_MTP))
		if ((rc = get_mat(m, "model.embed_tokens.weight", m->V, m->D, want->parts & DS_PART_MTP ? 1 : 0,
				  &m->embed, err)) > 1)
			return rc;
	if (want->parts & (DS_PART_HEAD | DS_PART_MTP)) {
		if ((rc = get_vec(m, "model.norm.weight", m->D, 0, &m->final_norm, err)))
			return rc;
		if ((rc = get_mat(m, "lm_head.weight", m->V, m->D, want->parts & DS_PART_MTP ? 1 : 0, &m->lm_head,
				  err)) > 1)
			return rc;
		if ((want->parts & DS_PART_HEAD) && !ds_mat_valid(&m->lm_head))
			return ds_error_set(err, EX_DATAERR, "tensor 'lm_head.weight' is missing from the checkpoint");
	}
	total = want->last - want->first + ((want->parts & DS_PART_MTP) ? 1 : 0);
	for (long i = want->first; i < want->last; i++) {
		if ((rc = load_layer(m, i, 0, err)))
			return rc;
		if (want->progress)
			want->progress(want->progress_ctx, ++done, total);
	}
	if (want->parts & DS_PART_MTP) {
		if ((rc = load_layer(m, m->L, 1, err)))
			return rc;
		if (want->progress)
			want->progress(want->progress_ctx, ++done, total);
	}
	return 0;
}

void ds_model_release(struct ds_model *m)
{
	for (long i = 0; m->layers && i < m->nlayers; i++) {
		struct ds_layer *l = &m->layers[i];

		free(l->attn_norm);
		free(l->ffn_norm);
		free(l->q_a_norm);
		free(l->kv_a_norm);
		free(l->gate_bias);
		free(l->experts);
		free(l->enorm);
		free(l->hnorm);
		free(l->head_norm);
	}
	free(m->layers);
	free(m->final_norm);
	if (m->have_ck)
		ds_checkpoint_release(&m->ck);
	memset(m, 0, sizeof(*m));
}

static void each_mlp(const struct ds_mlp *p, void (*fn)(void *, const struct ds_mat *), void *ctx)
{
	fn(ctx, &p->gate);
	fn(ctx, &p->up);
	fn(ctx, &p->down);
}

void ds_model_each_mat(const struct ds_model *m, int with_embed, void (*fn)(void *ctx, const struct ds_mat *w),
		       void *ctx)
{
	if (with_embed && m->embed.data)
		fn(ctx, &m->embed);
	if (m->lm_head.data)
		fn(ctx, &m->lm_head);
	for (long i = 0; m->layers && i < m->nlayers; i++) {
		const struct ds_layer *l = &m->layers[i];
		const struct ds_mat *mats[] = { &l->q_a, &l->q_b, &l->q, &l->kv_a, &l->kv_b, &l->o, &l->gate, &l->eh_proj,
						&l->head, with_embed ? &l->embed : NULL };

		if (!l->loaded)
			continue;
		for (size_t j = 0; j < sizeof(mats) / sizeof(mats[0]); j++)
			if (mats[j] && mats[j]->data)
				fn(ctx, mats[j]);
		if (!l->moe)
			each_mlp(&l->dense, fn, ctx);
		if (l->has_shared)
			each_mlp(&l->shared, fn, ctx);
		for (long e = 0; l->experts && e < m->E; e++)
			each_mlp(&l->experts[e], fn, ctx);
	}
}

/* page ranges of the mapped weights */
struct ranges {
	uintptr_t *lo, *hi;
	size_t n, cap;
	int oom;
};

static void add_range(struct ranges *r, const void *p, size_t bytes)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!p || !bytes || r->oom)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		uintptr_t *lo = realloc(r->lo, cap * sizeof(*lo)), *hi;

		if (lo)
			r->lo = lo;
		hi = lo ? realloc(r->hi, cap * sizeof(*hi)) : NULL;
		if (!hi) {
			r->oom = 1;
			return;
		}
		r->hi = hi;
		r->cap = cap;
	}
	r->lo[r->n] = (uintptr_t)p & ~(uintptr_t)(page - 1);
	r->hi[r->n] = ((uintptr_t)p + bytes + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
	r->n++;
}

static void add_mat(void *ctx, const struct ds_mat *w)
{
	struct ranges *r = ctx;

	add_range(r, w->data, ((size_t)(w->rows - 1) * (size_t)w->ld + (size_t)w->cols) * ds_dtype_size(w->dtype));
	if (w->scale)
		add_range(r, w->scale, (size_t)((w->rows + DS_FP8_BLOCK - 1) / DS_FP8_BLOCK) * (size_t)w->scale_ld * sizeof(float));
}

static int cmp_uptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return (x > y) - (x < y);
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22	/* Linux 5.14 */
#endif

int ds_model_prefetch(const struct ds_model *m, int how, void (*progress)(void *ctx, double done, double total),
		      void *ctx, struct ds_error *err)
{
	struct ranges r = { 0 };
	double total = 0, done = 0;
	size_t n = 0, step = (size_t)64 << 20;
	long page = sysconf(_SC_PAGESIZE);
	int rc = 0, populate = 1;

	ds_model_each_mat(m, 0, add_mat, &r);
	if (r.oom) {
		free(r.lo);
		free(r.hi);
		return ds_error_set(err, EX_OSERR, "out of memory");
	}
	/* sort both ends, then merge overlapping and adjacent page ranges
	 * (tensors share pages at their ends) */
	qsort(r.lo, r.n, sizeof(*r.lo), cmp_uptr);
	qsort(r.hi, r.n, sizeof(*r.hi), cmp_uptr);
	for (size_t i = 0; i < r.n; i++) {
		if (n && r.lo[i] <= r.hi[n - 1]) {
			r.hi[n - 1] = r.hi[i] > r.hi[n - 1] ? r.hi[i] : r.hi[n - 1];
			continue;
		}
		r.lo[n] = r.lo[i];
		r.hi[n] = r.hi[i];
		n++;
	}
	for (size_t i = 0; i < n; i++)
		total += (double)(r.hi[i] - r.lo[i]);
	for (size_t i = 0; i < n && !rc; i++) {
		for (uintptr_t a = r.lo[i]; a < r.hi[i] && !rc; a += step) {
			size_t len = r.hi[i] - a < step ? r.hi[i] - a : step;

			if (how & (DS_PREFETCH_WILLNEED | DS_PREFETCH_MLOCK))
				(void)madvise((void *)a, len, MADV_WILLNEED);
			if ((how & DS_PREFETCH_WILLNEED) && populate && madvise((void *)a, len, MADV_POPULATE_READ))
				populate = 0;	/* an older kernel: touch instead */
			if (!(how & DS_PREFETCH_WILLNEED) || !populate) {
				volatile const uint8_t *p = (const uint8_t *)a;
				uint8_t sink = 0;

				for (size_t o = 0; o < len; o += (size_t)page)
					sink ^= p[o];
				(void)sink;
			}
			if ((how & DS_PREFETCH_MLOCK) && mlock((void *)a, len))
				rc = ds_error_set(err, EX_OSERR, "cannot lock the weights in memory: %s (see ulimit -l)",
						  strerror(errno));
			done += (double)len;
			if (progress && !rc)
				progress(ctx, done, total);
		}
	}
	free(r.lo);
	free(r.hi);
	return rc;
}

int ds_embed_check(const struct ds_mat *embed, const int32_t *ids, long n, struct ds_error *err)
{
	for (long r = 0; r < n; r++)
		if (ids[r] < 0 || ids[r] >= embed->rows)
			return ds_error_set(err, EX_DATAERR, "token %ld: id %d is outside the vocabulary (0..%ld)", r,
					    (int)ids[r], embed->rows - 1);
	return 0;
}

int ds_embed_rows(const struct ds_mat *embed, const int32_t *ids, long n, float *out, struct ds_error *err)
{
	size_t esz = ds_dtype_size(embed->dtype);
	int rc = ds_embed_check(embed, ids, n, err);

	if (rc)
		return rc;
	for (long r = 0; r < n; r++) {
		const uint8_t *row = (const uint8_t *)embed->data + (size_t)ids[r] * (size_t)embed->ld * esz;

		if (embed->dtype == DS_F8_E4M3) {
			for (long k = 0; k < embed->cols; k++)
				out[r * embed->cols + k] = ds_mat_get(embed, ids[r], k);
		} else if (ds_to_f32(out + r * embed->cols, row, embed->dtype, (size_t)embed->cols)) {
			return ds_error_set(err, EX_DATAERR, "embedding dtype %s is not supported",
					    ds_dtype_name(embed->dtype));
		}
	}
	return 0;
}
