/*
 * modelinfo.c - parameter and byte counts of a config, and a checkpoint
 * checked against it; see modelinfo.h.
 */
#include "modelinfo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define SCALE_SUFFIX "_scale_inv"

static uint64_t numel(const struct ds_mk_tensor *t)
{
	return (uint64_t)ds_mk_rows(t) * (uint64_t)ds_mk_cols(t);
}

/* The decoder layer a name belongs to, -1 for none. */
static long layer_of(const char *name)
{
	long l = -1;

	if (sscanf(name, "model.layers.%ld.", &l) != 1)
		return -1;
	return l;
}

int ds_modelinfo_init(struct ds_modelinfo *mi, const struct ds_config *c, struct ds_error *err)
{
	enum ds_dtype dt = c->fp8 ? DS_F8_E4M3 : !strcmp(c->torch_dtype, "float32") ? DS_F32
					     : !strcmp(c->torch_dtype, "float16") ? DS_F16 : DS_BF16;
	uint64_t experts = 0;
	int rc;

	double layers = (double)(c->num_hidden_layers + c->num_nextn_predict_layers);

	memset(mi, 0, sizeof(*mi));
	mi->cfg = *c;
	/* a plan holds every tensor's name: refuse one no real model comes
	 * near (DeepSeek-V3 has 92k tensors) before it takes the memory */
	if (layers * (6.0 * (double)c->n_routed_experts + 40) > 1e7)
		return ds_error_set(err, EX_CONFIG, "config implies about %.0f tensors; more than ds-info counts",
				    layers * (6.0 * (double)c->n_routed_experts + 40));
	if ((rc = ds_mk_plan_build(&mi->plan, c, dt, err)))
		return rc;
	for (long i = 0; i < c->num_hidden_layers; i++) {
		if (ds_config_layer_is_moe(c, i))
			mi->n_moe++;
		else
			mi->n_dense++;
	}
	for (int i = 0; i < mi->plan.n; i++) {
		const struct ds_mk_tensor *t = &mi->plan.t[i];
		uint64_t n = numel(t);

		mi->planned_bytes += t->nbytes;
		if (t->init == DS_MK_SCALE)
			continue;
		mi->params_total += n;
		if (layer_of(t->name) >= c->num_hidden_layers) {
			mi->params_mtp += n;
			continue;
		}
		if (strstr(t->name, ".mlp.experts."))
			experts += n;
		if (!strcmp(t->name, "model.embed_tokens.weight") || !strcmp(t->name, "lm_head.weight"))
			mi->params_embed += n;
	}
	mi->params_main = mi->params_total - mi->params_mtp;
	mi->params_active = mi->params_main - experts;
	if (c->n_routed_experts > 0)
		mi->params_active += experts / (uint64_t)c->n_routed_experts * (uint64_t)c->num_experts_per_tok;
	mi->params_active_body = mi->params_active - mi->params_embed;
	mi->kv_bytes_token = (uint64_t)(c->kv_lora_rank + c->qk_rope_head_dim) * (uint64_t)c->num_hidden_layers * 4;
	return 0;
}

void ds_modelinfo_release(struct ds_modelinfo *mi)
{
	ds_mk_plan_release(&mi->plan);
	memset(mi, 0, sizeof(*mi));
}

/* ---- a checkpoint against the plan ---- */

static int cmp_tensor_name(const void *a, const void *b)
{
	return strcmp((*(const struct ds_mk_tensor *const *)a)->name, (*(const struct ds_mk_tensor *const *)b)->name);
}

static int cmp_key(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct ds_mk_tensor *const *)elem)->name);
}

static const struct ds_mk_tensor *plan_find(const struct ds_mk_tensor *const *sorted, size_t n, const char *name)
{
	const struct ds_mk_tensor *const *hit = n ? bsearch(name, sorted, n, sizeof(*sorted), cmp_key) : NULL;

	return hit ? *hit : NULL;
}

/* What model.c reads only when present: the MTP module's own embedding
 * and head (it falls back to the main ones). */
static int optional(const struct ds_modelinfo *mi, const char *name)
{
	const char *dot;

	if (layer_of(name) < mi->cfg.num_hidden_layers)
		return 0;
	dot = strchr(name + strlen("model.layers."), '.');
	return dot && (!strcmp(dot, ".embed_tokens.weight") || !strcmp(dot, ".shared_head.head.weight"));
}

static int push(char ***list, long *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int push(char ***list, long *n, const char *fmt, ...)
{
	char **p = realloc(*list, (size_t)(*n + 1) * sizeof(*p));
	va_list ap;
	int len;

	if (!p)
		return -1;
	*list = p;
	va_start(ap, fmt);
	len = vasprintf(&p[*n], fmt, ap);
	va_end(ap);
	if (len < 0)
		return -1;
	(*n)++;
	return 0;
}

static void shape_text(char *out, size_t cap, int ndim, const int64_t *shape)
{
	size_t k = (size_t)snprintf(out, cap, "[");

	for (int d = 0; d < ndim && k < cap; d++)
		k += (size_t)snprintf(out + k, cap - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (k < cap)
		snprintf(out + k, cap - k, "]");
}

static int readable(const struct ds_tensor_info *t)
{
	if (t->ndim == 2)
		return t->dtype == DS_F32 || t->dtype == DS_F16 || t->dtype == DS_BF16 || t->dtype == DS_F8_E4M3;
	return t->dtype == DS_F32 || t->dtype == DS_F16 || t->dtype == DS_BF16;
}

int ds_ckcheck_run(struct ds_ckcheck *r, const struct ds_modelinfo *mi, const struct ds_checkpoint *ck,
		   struct ds_error *err)
{
	const struct ds_mk_plan *p = &mi->plan;
	const struct ds_mk_tensor **sorted = malloc(((size_t)p->n + 1) * sizeof(*sorted));
	size_t ns = 0, sl = strlen(SCALE_SUFFIX);
	int oom = !sorted;

	memset(r, 0, sizeof(*r));
	for (int i = 0; !oom && i < p->n; i++)
		if (p->t[i].init != DS_MK_SCALE)
			sorted[ns++] = &p->t[i];
	if (!oom)
		qsort(sorted, ns, sizeof(*sorted), cmp_tensor_name);
	for (size_t i = 0; !oom && i < ns; i++) {
		const struct ds_mk_tensor *t = sorted[i];
		const struct ds_tensor_info *c = ds_checkpoint_find(ck, t->name);
		char want[96], got[96];

		if (!c) {
			if (!optional(mi, t->name))
				oom |= push(&r->missing, &r->nmissing, "%s", t->name);
			continue;
		}
		if (c->ndim != t->ndim || c->shape[0] != t->shape[0] || (t->ndim == 2 && c->shape[1] != t->shape[1])) {
			shape_text(want, sizeof(want), t->ndim, t->shape);
			shape_text(got, sizeof(got), c->ndim, c->shape);
			oom |= push(&r->shape, &r->nshape, "%s %s, config.json implies %s", t->name, got, want);
		} else if (!readable(c)) {
			oom |= push(&r->dtype, &r->ndtype, "%s %s", t->name, ds_dtype_name(c->dtype));
		}
	}
	for (size_t i = 0; !oom && i < ck->ntensors; i++) {
		const struct ds_tensor_info *c = ck->sorted[i];
		size_t n = strlen(c->name);
		int used = plan_find(sorted, ns, c->name) != NULL;

		r->count[c->dtype]++;
		r->bytes[c->dtype] += c->nbytes;
		r->total_bytes += c->nbytes;
		if (!used && n > sl && !strcmp(c->name + n - sl, SCALE_SUFFIX)) {
			char *w = strndup(c->name, n - sl);
			const struct ds_tensor_info *wt = w ? ds_checkpoint_find(ck, w) : NULL;
			oom |= !w;
			used = wt && wt->dtype == DS_F8_E4M3 && plan_find(sorted, ns, w);
			free(w);
		}
		if (!used && !oom)
			oom |= push(&r->unused, &r->nunused, "%s", c->name);
	}
	free(sorted);
	if (oom) {
		ds_ckcheck_release(r);
		return ds_error_set(err, EX_OSERR, "out of memory");
	}
	return 0;
}

static void free_list(char **l, long n)
{
	for (long i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

void ds_ckcheck_release(struct ds_ckcheck *r)
{
	free_list(r->missing, r->nmissing);
	free_list(r->unused, r->nunused);
	free_list(r->shape, r->nshape);
	free_list(r->dtype, r->ndtype);
	memset(r, 0, sizeof(*r));
}

int ds_ckcheck_report(const struct ds_ckcheck *r, const char *where, void (*say)(const char *fmt, ...))
{
	if (r->nunused)
		say("%s: %ld checkpoint tensor%s not read by config.json's model (first: '%s')", where, r->nunused,
		    r->nunused == 1 ? " is" : "s are", r->unused[0]);
	if (r->nmissing)
		say("%s: %ld tensor%s config.json needs %s missing (first: '%s')", where, r->nmissing,
		    r->nmissing == 1 ? "" : "s", r->nmissing == 1 ? "is" : "are", r->missing[0]);
	if (r->nshape)
		say("%s: %ld tensor%s the wrong shape (first: %s)", where, r->nshape, r->nshape == 1 ? " has" : "s have",
		    r->shape[0]);
	if (r->ndtype)
		say("%s: %ld tensor%s a dtype the forward pass cannot read (first: %s)", where, r->ndtype,
		    r->ndtype == 1 ? " has" : "s have", r->dtype[0]);
	return r->nmissing || r->nshape || r->ndtype;
}

void ds_ckscan_run(struct ds_ckscan *s, const struct ds_checkpoint *ck)
{
	size_t sl = strlen(SCALE_SUFFIX);

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < ck->ntensors; i++) {
		const struct ds_tensor_info *t = ck->sorted[i];
		const uint8_t *b = t->data;
		size_t n = strlen(t->name);
		uint64_t bad = 0;

		if (t->dtype == DS_F8_E4M3) {
			for (size_t k = 0; k < t->nbytes; k++)
				bad += (b[k] & 0x7F) == 0x7F;
			s->fp8_nan += bad;
		} else if (t->dtype == DS_F32 && n > sl && !strcmp(t->name + n - sl, SCALE_SUFFIX)) {
			for (size_t k = 0; k + 4 <= t->nbytes; k += 4) {
				float v;
				memcpy(&v, b + k, 4);
				bad += !isfinite(v);
			}
			s->scale_nonfinite += bad;
		}
		if (bad && !s->first)
			s->first = t->name;
	}
}
