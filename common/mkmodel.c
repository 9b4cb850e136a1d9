/*
 * mkmodel.c - planning, generating and writing random-weight checkpoints;
 * see mkmodel.h.  The presets' config texts live in mkpresets.c.
 *
 * Generation is split into jobs of about 8 MiB of output (whole 128-row
 * block rows for FP8 weights), taken from a shared counter by a pool of
 * threads; each job computes its values, converts or quantises them and
 * pwrite()s the bytes (and FP8 scale rows) straight to their place in the
 * pre-sized shard files.  Nothing is kept in memory beyond one job per
 * thread.
 */
#include "mkmodel.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fastcvt.h"
#include "fp8.h"
#include "prng.h"
#include "stwriter.h"

#define JOB_BYTES ((uint64_t)8 << 20)
#define PIECE 65536	/* floats converted at a time for non-FP8 tensors */

/* ---- the plan ---- */

int64_t ds_mk_rows(const struct ds_mk_tensor *t)
{
	return t->ndim == 2 ? t->shape[0] : 1;
}

int64_t ds_mk_cols(const struct ds_mk_tensor *t)
{
	return t->ndim == 2 ? t->shape[1] : t->shape[0];
}

static int add(struct ds_mk_plan *p, struct ds_error *err, enum ds_dtype dt, int ndim, int64_t s0,
	       int64_t s1, enum ds_mk_init init, const char *fmt, ...) __attribute__((format(printf, 8, 9)));

static int add(struct ds_mk_plan *p, struct ds_error *err, enum ds_dtype dt, int ndim, int64_t s0,
	       int64_t s1, enum ds_mk_init init, const char *fmt, ...)
{
	struct ds_mk_tensor *t;
	va_list ap;
	int n;

	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 256;
		void *np = realloc(p->t, (size_t)cap * sizeof(*p->t));
		if (!np)
			return ds_error_set(err, EX_OSERR, "out of memory"), -1;
		p->t = np;
		p->cap = cap;
	}
	t = &p->t[p->n];
	memset(t, 0, sizeof(*t));
	va_start(ap, fmt);
	n = vsnprintf(t->name, sizeof(t->name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(t->name))
		return ds_error_set(err, EX_SOFTWARE, "tensor name too long"), -1;
	t->dtype = dt;
	t->ndim = ndim;
	t->shape[0] = s0;
	t->shape[1] = s1;
	t->init = init;
	t->scale = t->weight = -1;
	t->nbytes = (uint64_t)s0 * (uint64_t)(ndim == 2 ? s1 : 1) * ds_dtype_size(dt);
	p->total_bytes += t->nbytes;
	return p->n++;
}

struct dtypes {
	enum ds_dtype other;	/* of every tensor not stored as FP8 */
	int fp8;		/* Linear weights as FP8 where V3 has them so */
};

/* A Linear weight [out, in], with its scales when stored as FP8. */
static int linear(struct ds_mk_plan *p, const struct dtypes *d, int fp8_ok, int64_t out, int64_t in,
		  const char *prefix, const char *name, struct ds_error *err)
{
	int fp8 = d->fp8 && fp8_ok;
	int w = add(p, err, fp8 ? DS_F8_E4M3 : d->other, 2, out, in, DS_MK_LINEAR, "%s%s", prefix, name), s;

	if (w < 0 || !fp8)
		return w < 0 ? -1 : 0;
	s = add(p, err, DS_F32, 2, (out + p->brows - 1) / p->brows, (in + p->bcols - 1) / p->bcols, DS_MK_SCALE,
		"%s%s_scale_inv", prefix, name);
	if (s < 0)
		return -1;
	p->t[w].scale = s;
	p->t[s].weight = w;
	return 0;
}

static int mlp(struct ds_mk_plan *p, const struct dtypes *d, const char *prefix, int64_t inter, int64_t hidden,
	       struct ds_error *err)
{
	if (linear(p, d, 1, inter, hidden, prefix, "gate_proj.weight", err) ||
	    linear(p, d, 1, inter, hidden, prefix, "up_proj.weight", err) ||
	    linear(p, d, 1, hidden, inter, prefix, "down_proj.weight", err))
		return -1;
	return 0;
}

static int layer(struct ds_mk_plan *p, const struct ds_config *c, const struct dtypes *d, long i,
		 struct ds_error *err)
{
	int64_t D = c->hidden_size, H = c->num_attention_heads, dq = ds_config_qk_head_dim(c);
	char pre[96], sub[160];
	int mtp = i >= c->num_hidden_layers;

	snprintf(pre, sizeof(pre), "model.layers.%ld.", i);
	if (mtp) {
		if (add(p, err, d->other, 2, c->vocab_size, D, DS_MK_EMBED, "%sembed_tokens.weight", pre) < 0 ||
		    add(p, err, d->other, 1, D, 0, DS_MK_NORM, "%senorm.weight", pre) < 0 ||
		    add(p, err, d->other, 1, D, 0, DS_MK_NORM, "%shnorm.weight", pre) < 0 ||
		    linear(p, d, 0, D, 2 * D, pre, "eh_proj.weight", err) ||
		    add(p, err, d->other, 1, D, 0, DS_MK_NORM, "%sshared_head.norm.weight", pre) < 0 ||
		    add(p, err, d->other, 2, c->vocab_size, D, DS_MK_LINEAR, "%sshared_head.head.weight", pre) < 0)
			return -1;
	}
	snprintf(sub, sizeof(sub), "%sself_attn.", pre);
	if (c->q_lora_rank > 0) {
		if (linear(p, d, 1, c->q_lora_rank, D, sub, "q_a_proj.weight", err) ||
		    add(p, err, d->other, 1, c->q_lora_rank, 0, DS_MK_NORM, "%sq_a_layernorm.weight", sub) < 0 ||
		    linear(p, d, 1, H * dq, c->q_lora_rank, sub, "q_b_proj.weight", err))
			return -1;
	} else if (linear(p, d, 1, H * dq, D, sub, "q_proj.weight", err)) {
		return -1;
	}
	if (linear(p, d, 1, c->kv_lora_rank + c->qk_rope_head_dim, D, sub, "kv_a_proj_with_mqa.weight", err) ||
	    add(p, err, d->other, 1, c->kv_lora_rank, 0, DS_MK_NORM, "%skv_a_layernorm.weight", sub) < 0 ||
	    linear(p, d, 1, H * (c->qk_nope_head_dim + c->v_head_dim), c->kv_lora_rank, sub, "kv_b_proj.weight", err) ||
	    linear(p, d, 1, D, H * c->v_head_dim, sub, "o_proj.weight", err))
		return -1;
	if (ds_config_layer_is_moe(c, i)) {
		snprintf(sub, sizeof(sub), "%smlp.", pre);
		if (linear(p, d, 0, c->n_routed_experts, D, sub, "gate.weight", err))
			return -1;
		if (c->topk_method == DS_TOPK_NOAUX_TC &&
		    add(p, err, DS_F32, 1, c->n_routed_experts, 0, DS_MK_BIAS, "%sgate.e_score_correction_bias", sub) < 0)
			return -1;
		for (long e = 0; e < c->n_routed_experts; e++) {
			snprintf(sub, sizeof(sub), "%smlp.experts.%ld.", pre, e);
			if (mlp(p, d, sub, c->moe_intermediate_size, D, err))
				return -1;
		}
		if (c->n_shared_experts > 0) {
			snprintf(sub, sizeof(sub), "%smlp.shared_experts.", pre);
			if (mlp(p, d, sub, c->n_shared_experts * c->moe_intermediate_size, D, err))
				return -1;
		}
	} else {
		snprintf(sub, sizeof(sub), "%smlp.", pre);
		if (mlp(p, d, sub, c->intermediate_size, D, err))
			return -1;
	}
	if (add(p, err, d->other, 1, D, 0, DS_MK_NORM, "%sinput_layernorm.weight", pre) < 0 ||
	    add(p, err, d->other, 1, D, 0, DS_MK_NORM, "%spost_attention_layernorm.weight", pre) < 0)
		return -1;
	return 0;
}

int ds_mk_plan_build(struct ds_mk_plan *p, const struct ds_config *c, enum ds_dtype dt, struct ds_error *err)
{
	struct dtypes d = { dt == DS_F8_E4M3 ? DS_BF16 : dt, dt == DS_F8_E4M3 };
	long nl = c->num_hidden_layers + c->num_nextn_predict_layers;

	memset(p, 0, sizeof(*p));
	if (dt != DS_F8_E4M3 && dt != DS_BF16 && dt != DS_F16 && dt != DS_F32)
		return ds_error_set(err, EX_USAGE, "cannot store weights as %s", ds_dtype_name(dt));
	p->brows = c->fp8_block_rows > 0 ? c->fp8_block_rows : 128;
	p->bcols = c->fp8_block_cols > 0 ? c->fp8_block_cols : 128;
	/* the loader and the forward pass read 128x128 blocks only (every
	 * published checkpoint): do not write what no tool can read */
	if (dt == DS_F8_E4M3 && (p->brows != 128 || p->bcols != 128))
		return ds_error_set(err, EX_CONFIG, "FP8 weight_block_size [%ld, %ld]: dspipe reads [128, 128] only",
				    p->brows, p->bcols);
	p->ue8m0 = c->scale_ue8m0;
	p->nshards = 1;
	if (add(p, err, d.other, 2, c->vocab_size, c->hidden_size, DS_MK_EMBED, "model.embed_tokens.weight") < 0)
		goto fail;
	for (long i = 0; i < nl; i++)
		if (layer(p, c, &d, i, err))
			goto fail;
	if (add(p, err, d.other, 1, c->hidden_size, 0, DS_MK_NORM, "model.norm.weight") < 0 ||
	    add(p, err, d.other, 2, c->vocab_size, c->hidden_size, DS_MK_LINEAR, "lm_head.weight") < 0)
		goto fail;
	return 0;
fail:
	ds_mk_plan_release(p);
	return err ? err->code : EX_SOFTWARE;
}

void ds_mk_plan_shard(struct ds_mk_plan *p, uint64_t shard_size)
{
	uint64_t cur = 0;
	int shard = 0;

	for (int i = 0; i < p->n; i++) {
		struct ds_mk_tensor *t = &p->t[i];
		uint64_t unit = t->nbytes + (t->scale >= 0 ? p->t[t->scale].nbytes : 0);

		if (t->weight >= 0)
			continue;	/* placed with its weight */
		if (cur > 0 && cur + unit > shard_size) {
			shard++;
			cur = 0;
		}
		t->shard = shard;
		if (t->scale >= 0)
			p->t[t->scale].shard = shard;
		cur += unit;
	}
	p->nshards = shard + 1;
}

int ds_mk_plan_find(const struct ds_mk_plan *p, const char *name)
{
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->t[i].name, name))
			return i;
	return -1;
}

void ds_mk_plan_release(struct ds_mk_plan *p)
{
	free(p->t);
	memset(p, 0, sizeof(*p));
}

/* ---- values ---- */

void ds_mk_values(const struct ds_mk_tensor *t, uint64_t seed, uint64_t start, size_t n, float *out)
{
	uint64_t key = ds_prng_key(seed, t->name);

	switch (t->init) {
	case DS_MK_LINEAR:
		ds_prng_fill_normal(out, key, start, n, 0.0f, 1.0f / sqrtf((float)ds_mk_cols(t)));
		break;
	case DS_MK_EMBED:
		ds_prng_fill_normal(out, key, start, n, 0.0f, 1.0f);
		break;
	case DS_MK_NORM:
		ds_prng_fill_normal(out, key, start, n, 1.0f, 0.05f);
		break;
	case DS_MK_BIAS:
		ds_prng_fill_uniform(out, key, start, n, 0.0f, 0.05f);
		break;
	case DS_MK_SCALE:
		memset(out, 0, n * sizeof(*out));
		break;
	}
}

void ds_mk_generate(const struct ds_mk_plan *p, const struct ds_mk_tensor *t, uint64_t seed,
		    int64_t r0, int64_t nr, float *scratch, void *out, float *scales)
{
	int64_t cols = ds_mk_cols(t);

	if (t->dtype == DS_F8_E4M3) {
		int64_t nbc = (cols + p->bcols - 1) / p->bcols;
		for (int64_t b = r0; b < r0 + nr; b += p->brows) {
			int64_t nb = r0 + nr - b < p->brows ? r0 + nr - b : p->brows;
			ds_mk_values(t, seed, (uint64_t)(b * cols), (size_t)(nb * cols), scratch);
			ds_fp8_quantize(scratch, (size_t)nb, (size_t)cols, (size_t)p->brows, (size_t)p->bcols, p->ue8m0,
					(uint8_t *)out + (b - r0) * cols, scales + ((b - r0) / p->brows) * nbc);
		}
	} else {
		size_t esize = ds_dtype_size(t->dtype);
		uint64_t total = (uint64_t)nr * (uint64_t)cols, base = (uint64_t)r0 * (uint64_t)cols;
		for (uint64_t off = 0; off < total; off += PIECE) {
			size_t k = total - off < PIECE ? (size_t)(total - off) : PIECE;
			ds_mk_values(t, seed, base + off, k, scratch);
			if (t->dtype == DS_BF16)
				ds_cvt_bf16((uint16_t *)out + off, scratch, k);
			else
				ds_from_f32((uint8_t *)out + off * esize, scratch, t->dtype, k);
		}
	}
}

/* ---- the config ---- */

int ds_mk_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if ((*end == 'B' || *end == 'b') && shift)
		end++;
	if (*end || v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void set_num(cJSON *root, const char *key, double v)
{
	cJSON *it = cJSON_CreateNumber(v);
	if (cJSON_HasObjectItem(root, key))
		cJSON_ReplaceItemInObjectCaseSensitive(root, key, it);
	else
		cJSON_AddItemToObject(root, key, it);
}

/* The fields transformers' configs declare as floats (rope_scaling's among
 * them), which its strict validation - and so both llama.cpp converters -
 * refuses as integers: an integral value is written as "1.0", not "1". */
static void floats_as_floats(cJSON *obj, int rope)
{
	static const char *const top[] = { "rms_norm_eps", "routed_scaling_factor", "rope_theta", "aux_loss_alpha",
					   "initializer_range", "attention_dropout", NULL };
	static const char *const rs[] = { "factor", "mscale", "mscale_all_dim", "beta_fast", "beta_slow",
					  "attention_factor", NULL };
	cJSON *e, *next;

	for (e = obj->child; e; e = next) {
		char buf[64];
		int hit = 0;

		next = e->next;	/* e may be replaced (and freed) below */

		if (!rope && cJSON_IsObject(e) && e->string && !strcmp(e->string, "rope_scaling"))
			floats_as_floats(e, 1);
		for (const char *const *k = rope ? rs : top; *k && e->string; k++)
			hit |= !strcmp(e->string, *k);
		if (!hit || !cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || fabs(e->valuedouble) > 1e15)
			continue;
		snprintf(buf, sizeof(buf), "%.1f", e->valuedouble);
		cJSON_ReplaceItemInObjectCaseSensitive(obj, e->string, cJSON_CreateRaw(buf));
	}
}

static void set_str(cJSON *root, const char *key, const char *v)
{
	cJSON *it = cJSON_CreateString(v);
	if (cJSON_HasObjectItem(root, key))
		cJSON_ReplaceItemInObjectCaseSensitive(root, key, it);
	else
		cJSON_AddItemToObject(root, key, it);
}

/* --vocab N: special ids that no longer fit become 0 (bos), 1, 2... (eos) */
static void refit_special_ids(cJSON *root, long vocab)
{
	cJSON *bos = cJSON_GetObjectItemCaseSensitive(root, "bos_token_id");
	cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id");

	if (cJSON_IsNumber(bos) && bos->valuedouble >= (double)vocab)
		set_num(root, "bos_token_id", 0);
	if (cJSON_IsNumber(eos) && eos->valuedouble >= (double)vocab) {
		set_num(root, "eos_token_id", vocab > 1 ? 1 : 0);
	} else if (cJSON_IsArray(eos)) {
		cJSON *e;
		int k = 1;
		cJSON_ArrayForEach(e, eos) {
			if (cJSON_IsNumber(e) && e->valuedouble >= (double)vocab)
				cJSON_SetNumberValue(e, k < vocab ? k : vocab - 1);
			k++;
		}
	}
}

int ds_mkmodel_config(const struct ds_mkmodel_opts *o, char **json, struct ds_config *c,
		      enum ds_dtype *dtype, struct ds_error *err)
{
	const char *name = o->config ? o->config : o->preset;
	char *text = NULL, *printed;
	cJSON *root;
	int rc;

	*json = NULL;
	if (o->config) {
		if ((rc = ds_config_read(o->config, &text, NULL, err)))
			return rc;
	} else {
		const char *pj = o->preset ? ds_mk_preset_json(o->preset) : NULL;
		if (!pj)
			return ds_error_set(err, EX_USAGE, "unknown preset '%s'", o->preset ? o->preset : "");
		text = strdup(pj);
		if (!text)
			return ds_error_set(err, EX_OSERR, "out of memory");
	}
	/* validate the original first, so messages name the user's file */
	rc = ds_config_parse(c, text, strlen(text), name, err);
	root = rc ? NULL : cJSON_Parse(text);
	free(text);
	if (rc)
		return rc;
	if (!root)
		return ds_error_set(err, EX_OSERR, "out of memory");
	*dtype = o->dtype != DS_DT_INVALID ? o->dtype : c->fp8 ? DS_F8_E4M3 : DS_BF16;
	if (o->layers >= 0)
		set_num(root, "num_hidden_layers", (double)o->layers);
	if (o->mtp >= 0)
		set_num(root, "num_nextn_predict_layers", (double)o->mtp);
	if (o->vocab >= 0) {
		set_num(root, "vocab_size", (double)o->vocab);
		refit_special_ids(root, o->vocab);
	}
	if (*dtype == DS_F8_E4M3 && !c->fp8) {
		cJSON *q = cJSON_CreateObject(), *bs = cJSON_CreateArray();
		cJSON_AddStringToObject(q, "activation_scheme", "dynamic");
		cJSON_AddStringToObject(q, "fmt", "e4m3");
		cJSON_AddStringToObject(q, "quant_method", "fp8");
		cJSON_AddItemToArray(bs, cJSON_CreateNumber(128));
		cJSON_AddItemToArray(bs, cJSON_CreateNumber(128));
		cJSON_AddItemToObject(q, "weight_block_size", bs);
		cJSON_DeleteItemFromObjectCaseSensitive(root, "quantization_config");
		cJSON_AddItemToObject(root, "quantization_config", q);
	} else if (*dtype != DS_F8_E4M3) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, "quantization_config");
	}
	{
		const char *td = *dtype == DS_F16 ? "float16" : *dtype == DS_F32 ? "float32" : "bfloat16";
		set_str(root, "torch_dtype", td);
		if (cJSON_HasObjectItem(root, "dtype"))
			set_str(root, "dtype", td);
	}
	floats_as_floats(root, 0);
	printed = cJSON_Print(root);
	cJSON_Delete(root);
	if (!printed)
		return ds_error_set(err, EX_OSERR, "out of memory");
	rc = ds_config_parse(c, printed, strlen(printed), name, err);
	if (rc) {
		ds_error_prefix(err, "after the overrides");
		free(printed);
		return rc;
	}
	*json = printed;
	return 0;
}

/* ---- files ---- */

/*
 * Every file goes in under NAME.partial and is renamed when complete;
 * config.json comes last, so a directory without it is visibly incomplete
 * and no tool loads it.  The files renamed so far are listed in `struct
 * written`, and a failure removes them and the partial file, so a failed
 * run leaves no checkpoint behind (a killed one leaves .partial files,
 * which the next run into the directory removes).
 */
struct written {
	char **paths;
	int n;
};

static int written_add(struct written *wr, const char *path, struct ds_error *err)
{
	char **p = realloc(wr->paths, (size_t)(wr->n + 1) * sizeof(*p));

	if (!p)
		return ds_error_set(err, EX_OSERR, "out of memory");
	wr->paths = p;
	if (!(p[wr->n] = strdup(path)))
		return ds_error_set(err, EX_OSERR, "out of memory");
	wr->n++;
	return 0;
}

/* Remove what was written (failed) or only forget it (done). */
static void written_release(struct written *wr, int remove)
{
	for (int i = wr->n - 1; i >= 0; i--) {
		if (remove)
			unlink(wr->paths[i]);
		free(wr->paths[i]);
	}
	free(wr->paths);
	memset(wr, 0, sizeof(*wr));
}

/* Open dir/name.partial for writing; *final and *tmp get the two paths. */
static FILE *open_partial(const char *dir, const char *name, char *final, char *tmp, size_t cap,
			  struct ds_error *err)
{
	FILE *fp;

	if (snprintf(final, cap, "%s/%s", dir, name) >= (int)cap ||
	    snprintf(tmp, cap, "%s%s", final, DS_STW_PARTIAL) >= (int)cap) {
		ds_error_set(err, EX_CANTCREAT, "output path too long");
		return NULL;
	}
	fp = fopen(tmp, "wb");
	if (!fp)
		ds_error_set(err, EX_CANTCREAT, "cannot create '%s': %s", tmp, strerror(errno));
	return fp;
}

/* Close fp (bad: a write already failed) and rename tmp to final, or
 * remove tmp. */
static int commit_partial(FILE *fp, int bad, const char *tmp, const char *final, struct written *wr,
			  struct ds_error *err)
{
	int rc = 0;

	if (fclose(fp) || bad)	/* closed once, whatever happened before */
		rc = ds_error_set(err, EX_IOERR, "%s: write error", tmp);
	else if (rename(tmp, final))
		rc = ds_error_set(err, EX_IOERR, "cannot rename '%s' to '%s': %s", tmp, final, strerror(errno));
	if (rc)
		unlink(tmp);
	else
		rc = written_add(wr, final, err);
	return rc;
}

static int write_text(const char *dir, const char *name, const char *text, struct written *wr,
		      struct ds_error *err)
{
	char path[4096], tmp[4096];
	size_t n = strlen(text);
	FILE *fp = open_partial(dir, name, path, tmp, sizeof(path), err);

	if (!fp)
		return err->code;
	return commit_partial(fp, fwrite(text, 1, n, fp) != n || fputc('\n', fp) == EOF, tmp, path, wr, err);
}

static int copy_file(const char *from, const char *dir, const char *name, struct written *wr,
		     struct ds_error *err)
{
	char path[4096], tmp[4096], buf[65536];
	FILE *in, *out;
	size_t n;
	int rc, bad;

	in = fopen(from, "rb");
	if (!in)
		return ds_error_set(err, EX_NOINPUT, "cannot open '%s': %s", from, strerror(errno));
	out = open_partial(dir, name, path, tmp, sizeof(path), err);
	if (!out) {
		fclose(in);
		return err->code;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			break;
	if (ferror(in)) {
		fclose(out);
		unlink(tmp);
		fclose(in);
		return ds_error_set(err, EX_IOERR, "%s: read error", from);
	}
	bad = ferror(out);	/* asked before fclose frees the stream */
	rc = commit_partial(out, bad, tmp, path, wr, err);
	fclose(in);
	return rc;
}

static int make_dir(const char *dir, struct ds_error *err)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return ds_error_set(err, EX_CANTCREAT, "output path too long");
	for (char *s = path + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(path, 0755) && errno != EEXIST)
				return ds_error_set(err, EX_CANTCREAT, "cannot create '%s': %s", path, strerror(errno));
			*s = '/';
		}
	if (mkdir(path, 0755) && errno != EEXIST)
		return ds_error_set(err, EX_CANTCREAT, "cannot create '%s': %s", path, strerror(errno));
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return ds_error_set(err, EX_CANTCREAT, "'%s' is not a directory", path);
	return 0;
}

/* The names a checkpoint of ours consists of (tokenizer files aside). */
static int ours(const char *name)
{
	return !strcmp(name, "config.json") || !strcmp(name, "model.safetensors") ||
	       !strcmp(name, "model.safetensors.index.json") || !fnmatch("model-*-of-*.safetensors", name, 0);
}

/* Remove a previous checkpoint's files, so no stale shard or single file
 * can shadow the new one, and the .partial files a killed run left.
 * config.json goes first: from then on the directory is visibly not a
 * checkpoint until the new config.json is renamed into place. */
static int remove_old(const char *dir, struct ds_error *err)
{
	DIR *d;
	struct dirent *e;
	char path[4096];
	size_t np = strlen(DS_STW_PARTIAL);

	snprintf(path, sizeof(path), "%s/config.json", dir);
	if (unlink(path) && errno != ENOENT)
		return ds_error_set(err, EX_CANTCREAT, "cannot remove the old '%s': %s", path, strerror(errno));
	if (!(d = opendir(dir)))
		return ds_error_set(err, EX_CANTCREAT, "cannot read '%s': %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char base[256];
		int partial = n > np && !strcmp(e->d_name + n - np, DS_STW_PARTIAL) && n - np < sizeof(base);

		if (partial)
			snprintf(base, sizeof(base), "%.*s", (int)(n - np), e->d_name);
		if (ours(e->d_name) ||
		    (partial && (ours(base) || !strcmp(base, "tokenizer.json") || !strcmp(base, "tokenizer_config.json")))) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	}
	closedir(d);
	return 0;
}

static void shard_name(const struct ds_mk_plan *p, int s, char *out, size_t cap)
{
	if (p->nshards == 1)
		snprintf(out, cap, "model.safetensors");
	else
		snprintf(out, cap, "model-%05d-of-%05d.safetensors", s + 1, p->nshards);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp((*(const struct ds_mk_tensor *const *)a)->name, (*(const struct ds_mk_tensor *const *)b)->name);
}

static int write_index(const struct ds_mk_plan *p, const char *dir, struct written *wr, struct ds_error *err)
{
	cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject(), *wm = cJSON_CreateObject();
	const struct ds_mk_tensor **sorted = malloc((size_t)p->n * sizeof(*sorted));
	char name[64], *text = NULL;
	int rc, oom = !root || !meta || !wm || !sorted;

	if (!oom) {
		cJSON_AddItemToObject(meta, "total_size", cJSON_CreateNumber((double)p->total_bytes));
		cJSON_AddItemToObject(root, "metadata", meta);
		cJSON_AddItemToObject(root, "weight_map", wm);
		meta = NULL;	/* owned by root now, as is wm */
		for (int i = 0; i < p->n; i++)
			sorted[i] = &p->t[i];
		qsort(sorted, (size_t)p->n, sizeof(*sorted), cmp_name);	/* HF writes the names sorted */
		for (int i = 0; i < p->n && !oom; i++) {
			shard_name(p, sorted[i]->shard, name, sizeof(name));
			oom = !cJSON_AddStringToObject(wm, sorted[i]->name, name);
		}
		text = oom ? NULL : cJSON_Print(root);
		oom = !text;
	} else {
		cJSON_Delete(wm);	/* not in root */
	}
	rc = oom ? ds_error_set(err, EX_OSERR, "out of memory")
		 : write_text(dir, "model.safetensors.index.json", text, wr, err);
	free(text);
	free(sorted);
	cJSON_Delete(meta);
	cJSON_Delete(root);
	return rc;
}

/* ---- generation ---- */

struct job {
	int tensor;
	int64_t r0, nr;
	int shard;
	uint64_t at;	/* file offset of the job's first byte */
};

/* Jobs in file order, shard by shard: the disk then sees each file written
 * front to back by the pool (measured about 30% faster than plan order on a
 * virtual disk). */
static int cmp_job(const void *a, const void *b)
{
	const struct job *x = a, *y = b;

	if (x->shard != y->shard)
		return x->shard - y->shard;
	return x->at < y->at ? -1 : x->at > y->at;
}

struct gen {
	const struct ds_mk_plan *p;
	uint64_t seed;
	struct ds_stwriter *w;		/* one per shard */
	int *id;			/* plan index -> id in its shard's writer */
	struct job *jobs;
	size_t njobs;
	size_t out_cap, scratch_cap, scales_cap;	/* per thread, in bytes / floats */
	atomic_size_t next;
	atomic_uint_fast64_t done;
	atomic_int failed, running;
	pthread_mutex_t lock;
	struct ds_error err;
};

static void fail(struct gen *g, const struct ds_error *e)
{
	pthread_mutex_lock(&g->lock);
	if (!atomic_load(&g->failed))
		g->err = *e;
	atomic_store(&g->failed, 1);
	pthread_mutex_unlock(&g->lock);
}

static void *worker(void *arg)
{
	struct gen *g = arg;
	const struct ds_mk_plan *p = g->p;
	uint8_t *out = malloc(g->out_cap);
	float *scratch = malloc(g->scratch_cap * sizeof(float));
	float *scales = malloc((g->scales_cap + 1) * sizeof(float));
	struct ds_error e = { 0 };

	if (!out || !scratch || !scales) {
		ds_error_set(&e, EX_OSERR, "out of memory for a generator thread");
		fail(g, &e);
	}
	while (!atomic_load(&g->failed)) {
		size_t j = atomic_fetch_add(&g->next, 1);
		const struct job *jb;
		const struct ds_mk_tensor *t;
		uint64_t rowbytes, bytes;

		if (j >= g->njobs)
			break;
		jb = &g->jobs[j];
		t = &p->t[jb->tensor];
		rowbytes = (uint64_t)ds_mk_cols(t) * ds_dtype_size(t->dtype);
		bytes = rowbytes * (uint64_t)jb->nr;
		ds_mk_generate(p, t, g->seed, jb->r0, jb->nr, scratch, out, scales);
		if (ds_stw_pwrite(&g->w[t->shard], g->id[jb->tensor], rowbytes * (uint64_t)jb->r0, out, bytes, &e)) {
			fail(g, &e);
			break;
		}
		if (t->scale >= 0) {
			const struct ds_mk_tensor *s = &p->t[t->scale];
			uint64_t nbc = (uint64_t)s->shape[1], b0 = (uint64_t)(jb->r0 / p->brows);
			uint64_t nb = (uint64_t)((jb->nr + p->brows - 1) / p->brows);
			if (ds_stw_pwrite(&g->w[s->shard], g->id[t->scale], b0 * nbc * 4, scales, nb * nbc * 4, &e)) {
				fail(g, &e);
				break;
			}
			bytes += nb * nbc * 4;
		}
		atomic_fetch_add(&g->done, bytes);
	}
	free(out);
	free(scratch);
	free(scales);
	atomic_fetch_sub(&g->running, 1);
	return NULL;
}

static int plan_jobs(struct gen *g, struct ds_error *err)
{
	const struct ds_mk_plan *p = g->p;
	size_t cap = 0;

	for (int pass = 0; pass < 2; pass++) {
		g->njobs = 0;
		for (int i = 0; i < p->n; i++) {
			const struct ds_mk_tensor *t = &p->t[i];
			int64_t rows = ds_mk_rows(t), cols = ds_mk_cols(t);
			uint64_t rowbytes = (uint64_t)cols * ds_dtype_size(t->dtype);
			int64_t per;

			if (t->init == DS_MK_SCALE || !rows || !cols)
				continue;
			per = rowbytes ? (int64_t)(JOB_BYTES / rowbytes) : rows;
			if (per < 1)
				per = 1;
			if (t->dtype == DS_F8_E4M3)
				per = per < p->brows ? p->brows : per / p->brows * p->brows;
			for (int64_t r0 = 0; r0 < rows; r0 += per) {
				int64_t nr = rows - r0 < per ? rows - r0 : per;
				if (pass) {
					struct job *jb = &g->jobs[g->njobs];
					size_t sc = t->dtype == DS_F8_E4M3 ? (size_t)(p->brows * cols) : PIECE;
					jb->tensor = i;
					jb->r0 = r0;
					jb->nr = nr;
					jb->shard = t->shard;
					jb->at = g->w[t->shard].t[g->id[i]].offset + (uint64_t)r0 * rowbytes;
					if ((uint64_t)nr * rowbytes > g->out_cap)
						g->out_cap = (size_t)((uint64_t)nr * rowbytes);
					if (sc > g->scratch_cap)
						g->scratch_cap = sc;
					if (t->scale >= 0) {
						size_t ns = (size_t)p->t[t->scale].shape[1] *
							    (size_t)((nr + p->brows - 1) / p->brows);
						if (ns > g->scales_cap)
							g->scales_cap = ns;
					}
				}
				g->njobs++;
			}
		}
		if (pass)
			qsort(g->jobs, g->njobs, sizeof(*g->jobs), cmp_job);
		if (!pass) {
			cap = g->njobs;
			g->jobs = malloc((cap + 1) * sizeof(*g->jobs));
			if (!g->jobs)
				return ds_error_set(err, EX_OSERR, "out of memory");
		}
	}
	return 0;
}

static int generate_all(struct gen *g, int nthreads, const struct ds_mkmodel_opts *o, struct ds_error *err)
{
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	int started = 0;

	if (!th)
		return ds_error_set(err, EX_OSERR, "out of memory");
	atomic_store(&g->running, nthreads);
	for (; started < nthreads; started++)
		if (pthread_create(&th[started], NULL, worker, g)) {
			struct ds_error e;
			ds_error_set(&e, EX_OSERR, "cannot start a thread");
			atomic_fetch_sub(&g->running, nthreads - started);
			fail(g, &e);
			break;
		}
	if (o->progress) {
		while (atomic_load(&g->running) > 0) {
			struct timespec ts = { 0, 200000000 };
			nanosleep(&ts, NULL);
			o->progress(atomic_load(&g->done), g->p->total_bytes, 0, o->progress_arg);
		}
		o->progress(atomic_load(&g->done), g->p->total_bytes, 1, o->progress_arg);
	}
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (atomic_load(&g->failed)) {
		*err = g->err;
		return g->err.code ? g->err.code : EX_SOFTWARE;
	}
	return 0;
}

static int open_shards(struct gen *g, const char *dir, struct ds_error *err)
{
	const struct ds_mk_plan *p = g->p;
	char name[64], path[4096];

	for (int i = 0; i < p->n; i++) {
		g->id[i] = ds_stw_add(&g->w[p->t[i].shard], p->t[i].name, p->t[i].dtype, p->t[i].ndim,
				      p->t[i].shape, err);
		if (g->id[i] < 0)
			return err->code;
	}
	for (int s = 0; s < p->nshards; s++) {
		int rc;
		shard_name(p, s, name, sizeof(name));
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if ((rc = ds_stw_meta(&g->w[s], "format", "pt", err)) || (rc = ds_stw_create(&g->w[s], path, err)))
			return rc;
	}
	return 0;
}

int ds_mkmodel_write(const struct ds_mkmodel_opts *o, struct ds_mkmodel_result *res, struct ds_error *err)
{
	struct ds_config c;
	struct ds_mk_plan p = { 0 };
	struct written wr = { 0 };
	struct gen g;
	enum ds_dtype dt;
	char *json = NULL;
	double t0 = ds_seconds();
	long nthreads = o->threads > 0 ? o->threads : sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	memset(&g, 0, sizeof(g));
	memset(res, 0, sizeof(*res));
	pthread_mutex_init(&g.lock, NULL);
	if ((rc = ds_mkmodel_config(o, &json, &c, &dt, err)) || (rc = ds_mk_plan_build(&p, &c, dt, err)))
		goto out;
	ds_mk_plan_shard(&p, o->shard_size ? o->shard_size : (uint64_t)5 << 30);
	if ((rc = make_dir(o->outdir, err)) || (rc = remove_old(o->outdir, err)))
		goto out;
	g.p = &p;
	g.seed = o->seed;
	g.w = calloc((size_t)p.nshards, sizeof(*g.w));
	g.id = calloc((size_t)p.n, sizeof(*g.id));
	if (!g.w || !g.id) {
		rc = ds_error_set(err, EX_OSERR, "out of memory");
		goto out;
	}
	for (int s = 0; s < p.nshards; s++)
		ds_stw_init(&g.w[s]);
	if ((rc = open_shards(&g, o->outdir, err)) || (rc = plan_jobs(&g, err)))
		goto out;
	if (nthreads < 1)
		nthreads = 1;
	if ((size_t)nthreads > g.njobs)
		nthreads = g.njobs ? (long)g.njobs : 1;
	if ((rc = generate_all(&g, (int)nthreads, o, err)))
		goto out;
	for (int s = 0; s < p.nshards; s++)
		if ((rc = ds_stw_close(&g.w[s], err)) || (rc = written_add(&wr, g.w[s].path, err)))
			goto out;
	if (p.nshards > 1 && (rc = write_index(&p, o->outdir, &wr, err)))
		goto out;
	if (o->tokenizer) {
		char cfg[4096];
		const char *slash = strrchr(o->tokenizer, '/');
		if ((rc = copy_file(o->tokenizer, o->outdir, "tokenizer.json", &wr, err)))
			goto out;
		snprintf(cfg, sizeof(cfg), "%.*stokenizer_config.json",
			 slash ? (int)(slash - o->tokenizer + 1) : 0, o->tokenizer);
		if (!access(cfg, R_OK) && (rc = copy_file(cfg, o->outdir, "tokenizer_config.json", &wr, err)))
			goto out;
	}
	if ((rc = write_text(o->outdir, "config.json", json, &wr, err)))	/* last: now it loads */
		goto out;
	res->ntensors = p.n;
	res->nshards = p.nshards;
	res->total_bytes = p.total_bytes;
	res->seconds = ds_seconds() - t0;
out:
	if (g.w)
		for (int s = 0; s < p.nshards; s++)
			ds_stw_release(&g.w[s]);	/* removes .partial files */
	written_release(&wr, rc != 0);
	free(g.w);
	free(g.id);
	free(g.jobs);
	pthread_mutex_destroy(&g.lock);
	ds_mk_plan_release(&p);
	free(json);
	return rc;
}
