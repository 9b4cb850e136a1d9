/*
 * config.c - config.json -> struct ds_config; see config.h.
 *
 * Defaults are those of transformers' DeepseekV3Config / DeepseekV2Config
 * (transformers 5.x, checked against the installed copy), chosen by
 * model_type.  The remote-code-only fields take the remote code's defaults:
 * topk_method "noaux_tc" / "greedy", scoring_func "sigmoid" / "softmax",
 * moe_layer_freq 1, num_nextn_predict_layers 1 (V3, HF's num_mtp_layers) / 0.
 *
 * A JSON null means "the default" except where HF gives null a meaning:
 * q_lora_rank null = no q LoRA (0), n_group/topk_group null = 1,
 * num_key_value_heads null = num_attention_heads, n_routed_experts null = no
 * MoE, bos/eos null = none.  Everything is validated after parsing, so a
 * config that passes can be used to size tensors without further checks:
 * every product of dimensions that names a tensor fits comfortably in int64.
 *
 * Not handled: rope types other than yarn/default, quantisation other than
 * fp8 e4m3, activations other than silu, moe_layer_freq other than 1 (HF
 * ignores the field while the remote code honours it: refusing is the only
 * answer that cannot silently disagree with one of them).
 */
#include "config.h"
#include "fileio.h"
#include "json.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

/* largest single dimension accepted: far beyond any real model, small
 * enough that products of three of them stay below 2^62 */
#define DIM_MAX ((long)1 << 20)
#define VOCAB_MAX ((long)1 << 24)
/* JSON numbers are doubles: integers beyond 2^53 are not exact */

struct parse {
	const cJSON *root;
	const char *name;
	struct ds_error *err;
};

static int bad(struct parse *p, const char *field, const char *fmt, const char *detail)
{
	char what[256];
	snprintf(what, sizeof(what), fmt, detail);
	return ds_error_set(p->err, EX_CONFIG, "%s: '%s' %s", p->name, field, what);
}

static const cJSON *field(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* An integer field: absent -> *out unchanged (the default).  null ->
 * null_value when allow_null, else an error.  Returns 0 or EX_CONFIG. */
static int get_long_in(struct parse *p, const cJSON *obj, const char *key, long *out,
		       int allow_null, long null_value)
{
	const cJSON *it = field(obj, key);
	double v;

	if (!it)
		return 0;
	if (cJSON_IsNull(it)) {
		if (!allow_null)
			return bad(p, key, "is null%s", "");
		*out = null_value;
		return 0;
	}
	if (!cJSON_IsNumber(it))
		return bad(p, key, "must be an integer%s", "");
	v = it->valuedouble;
	if (!isfinite(v) || v != floor(v))
		return bad(p, key, "must be an integer%s", "");
	if (fabs(v) > DS_JSON_INT_MAX)
		return bad(p, key, "is out of range%s", "");
	*out = (long)v;
	return 0;
}

static int get_long(struct parse *p, const char *key, long *out)
{
	return get_long_in(p, p->root, key, out, 0, 0);
}

static int get_long_null(struct parse *p, const char *key, long *out, long null_value)
{
	return get_long_in(p, p->root, key, out, 1, null_value);
}

static int get_double_in(struct parse *p, const cJSON *obj, const char *key, double *out)
{
	const cJSON *it = field(obj, key);

	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return bad(p, key, "must be a number%s", "");
	*out = it->valuedouble;
	return 0;
}

static int get_bool(struct parse *p, const char *key, int *out)
{
	const cJSON *it = field(p->root, key);

	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsBool(it))
		return bad(p, key, "must be true or false%s", "");
	*out = cJSON_IsTrue(it) ? 1 : 0;
	return 0;
}

/* A string field into buf; absent or null leaves buf alone.  The value
 * must fit. */
static int get_string_in(struct parse *p, const cJSON *obj, const char *key, char *buf, size_t cap)
{
	const cJSON *it = field(obj, key);

	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsString(it))
		return bad(p, key, "must be a string%s", "");
	if (strlen(it->valuestring) >= cap)
		return bad(p, key, "is too long ('%.40s...')", it->valuestring);
	snprintf(buf, cap, "%s", it->valuestring);
	return 0;
}

static void set_defaults(struct ds_config *c, int v2)
{
	memset(c, 0, sizeof(*c));
	if (v2) {
		snprintf(c->model_type, sizeof(c->model_type), "deepseek_v2");
		c->vocab_size = 102400;
		c->hidden_size = 4096;
		c->intermediate_size = 11008;
		c->moe_intermediate_size = 1407;
		c->num_hidden_layers = 32;
		c->num_attention_heads = 32;
		c->num_key_value_heads = -1;	/* = heads */
		c->n_shared_experts = 2;
		c->n_routed_experts = 64;
		c->routed_scaling_factor = 1.0;
		c->n_group = 1;
		c->topk_group = 1;
		c->num_experts_per_tok = -1;	/* None in HF: required with MoE */
		c->first_k_dense_replace = 0;
		c->norm_topk_prob = 0;
		c->max_position_embeddings = 2048;
		c->bos_token_id = 1;
		c->eos_token_ids[0] = 2;
		c->num_nextn_predict_layers = 0;
		c->topk_method = DS_TOPK_GREEDY;
		c->scoring_func = DS_SCORING_SOFTMAX;
	} else {
		snprintf(c->model_type, sizeof(c->model_type), "deepseek_v3");
		c->vocab_size = 129280;
		c->hidden_size = 7168;
		c->intermediate_size = 18432;
		c->moe_intermediate_size = 2048;
		c->num_hidden_layers = 61;
		c->num_attention_heads = 128;
		c->num_key_value_heads = 128;
		c->n_shared_experts = 1;
		c->n_routed_experts = 256;
		c->routed_scaling_factor = 2.5;
		c->n_group = 8;
		c->topk_group = 4;
		c->num_experts_per_tok = 8;
		c->first_k_dense_replace = 3;
		c->norm_topk_prob = 1;
		c->max_position_embeddings = 4096;
		c->bos_token_id = 0;
		c->eos_token_ids[0] = 1;
		c->num_nextn_predict_layers = 1;
		c->topk_method = DS_TOPK_NOAUX_TC;
		c->scoring_func = DS_SCORING_SIGMOID;
	}
	c->n_eos = 1;
	c->kv_lora_rank = 512;
	c->q_lora_rank = 1536;
	c->qk_nope_head_dim = 128;
	c->qk_rope_head_dim = 64;
	c->v_head_dim = 128;
	c->moe_layer_freq = 1;
	c->rms_norm_eps = 1e-6;
	c->rope_theta = 10000.0;
	c->fp8_block_rows = 128;
	c->fp8_block_cols = 128;
	c->rope_interleave = 1;
}

static int parse_model_type(struct parse *p, int *v2)
{
	const cJSON *mt = field(p->root, "model_type");
	const cJSON *arch = field(p->root, "architectures");
	const char *a = NULL;

	if (arch && !cJSON_IsNull(arch)) {
		const cJSON *first = cJSON_IsArray(arch) ? cJSON_GetArrayItem(arch, 0) : NULL;
		if (!first || !cJSON_IsString(first))
			return bad(p, "architectures", "must be a list of strings%s", "");
		a = first->valuestring;
	}
	if (mt && !cJSON_IsNull(mt)) {
		if (!cJSON_IsString(mt))
			return bad(p, "model_type", "must be a string%s", "");
		if (!strcmp(mt->valuestring, "deepseek_v3"))
			*v2 = 0;
		else if (!strcmp(mt->valuestring, "deepseek_v2"))
			*v2 = 1;
		else
			return bad(p, "model_type", "'%.60s' is not deepseek_v3 or deepseek_v2", mt->valuestring);
	} else if (a && !strcmp(a, "DeepseekV3ForCausalLM")) {
		*v2 = 0;
	} else if (a && !strcmp(a, "DeepseekV2ForCausalLM")) {
		*v2 = 1;
	} else {
		return ds_error_set(p->err, EX_CONFIG,
				    "%s: 'model_type' is missing and 'architectures' does not name a DeepSeek model",
				    p->name);
	}
	return 0;
}

static int parse_eos(struct parse *p, struct ds_config *c)
{
	const cJSON *it = field(p->root, "eos_token_id"), *e;

	if (!it)
		return 0;
	if (cJSON_IsNull(it)) {
		c->n_eos = 0;
		return 0;
	}
	if (cJSON_IsNumber(it))
		return get_long(p, "eos_token_id", &c->eos_token_ids[0]);
	if (!cJSON_IsArray(it))
		return bad(p, "eos_token_id", "must be an integer or a list of integers%s", "");
	c->n_eos = 0;
	cJSON_ArrayForEach(e, it) {
		double v = cJSON_IsNumber(e) ? e->valuedouble : 0.5;
		if (v != floor(v) || fabs(v) > DS_JSON_INT_MAX)
			return bad(p, "eos_token_id", "must be an integer or a list of integers%s", "");
		if (c->n_eos == DS_MAX_EOS)
			return bad(p, "eos_token_id", "has more than " "8" " ids%s", "");
		c->eos_token_ids[c->n_eos++] = (long)v;
	}
	return 0;
}

static int parse_enum(struct parse *p, const char *key, const char *const *names, int *out)
{
	char buf[64] = "";
	int rc = get_string_in(p, p->root, key, buf, sizeof(buf));

	if (rc || !buf[0])
		return rc;
	for (int i = 0; names[i]; i++)
		if (!strcmp(buf, names[i])) {
			*out = i;
			return 0;
		}
	return bad(p, key, "'%s' is not supported", buf);
}

/* rope_scaling (HF 4.x) or rope_parameters (HF 5.x, also carries
 * rope_theta); "type" and "rope_type" are synonyms. */
static int parse_rope(struct parse *p, struct ds_config *c)
{
	const cJSON *rs = field(p->root, "rope_scaling");
	const char *key = "rope_scaling";
	struct ds_rope_scaling *r = &c->rope_scaling;
	char type[32] = "";
	int rc;

	if (!rs || cJSON_IsNull(rs)) {
		rs = field(p->root, "rope_parameters");
		key = "rope_parameters";
		if (!rs || cJSON_IsNull(rs))
			return 0;
	}
	if (!cJSON_IsObject(rs))
		return bad(p, key, "must be an object%s", "");
	if (!strcmp(key, "rope_parameters") && (rc = get_double_in(p, rs, "rope_theta", &c->rope_theta)))
		return rc;
	if ((rc = get_string_in(p, rs, "rope_type", type, sizeof(type))))
		return rc;
	if (!type[0] && (rc = get_string_in(p, rs, "type", type, sizeof(type))))
		return rc;
	if (!type[0] || !strcmp(type, "default"))
		return 0;
	if (strcmp(type, "yarn"))
		return bad(p, key, "type '%s' is not supported (only yarn)", type);
	r->yarn = 1;
	r->factor = 0;
	r->original_max_position_embeddings = c->max_position_embeddings;
	r->beta_fast = 32;
	r->beta_slow = 1;
	r->mscale = 0;
	r->mscale_all_dim = 0;
	if ((rc = get_double_in(p, rs, "factor", &r->factor)) ||
	    (rc = get_long_in(p, rs, "original_max_position_embeddings",
			      &r->original_max_position_embeddings, 1, c->max_position_embeddings)) ||
	    (rc = get_double_in(p, rs, "beta_fast", &r->beta_fast)) ||
	    (rc = get_double_in(p, rs, "beta_slow", &r->beta_slow)) ||
	    (rc = get_double_in(p, rs, "mscale", &r->mscale)) ||
	    (rc = get_double_in(p, rs, "mscale_all_dim", &r->mscale_all_dim)))
		return rc;
	if (!(r->factor >= 1.0))
		return bad(p, "rope_scaling.factor", "must be present and >= 1 for yarn%s", "");
	if (r->original_max_position_embeddings <= 0)
		return bad(p, "rope_scaling.original_max_position_embeddings", "must be positive%s", "");
	if (!(r->beta_fast > 0) || !(r->beta_slow > 0) || r->beta_slow > r->beta_fast)
		return bad(p, "rope_scaling.beta_fast", "and beta_slow must satisfy 0 < beta_slow <= beta_fast%s", "");
	if (r->mscale < 0 || r->mscale_all_dim < 0)
		return bad(p, "rope_scaling.mscale", "and mscale_all_dim must not be negative%s", "");
	return 0;
}

static int parse_quant(struct parse *p, struct ds_config *c)
{
	const cJSON *q = field(p->root, "quantization_config"), *bs;
	char method[32] = "", fmt[16] = "", sfmt[16] = "";
	int rc;

	if (!q || cJSON_IsNull(q))
		return 0;
	if (!cJSON_IsObject(q))
		return bad(p, "quantization_config", "must be an object%s", "");
	if ((rc = get_string_in(p, q, "quant_method", method, sizeof(method))) ||
	    (rc = get_string_in(p, q, "fmt", fmt, sizeof(fmt))) ||
	    (rc = get_string_in(p, q, "scale_fmt", sfmt, sizeof(sfmt))))
		return rc;
	if (strcmp(method, "fp8"))
		return bad(p, "quantization_config.quant_method", "'%s' is not supported (only fp8)", method);
	if (fmt[0] && strcmp(fmt, "e4m3"))
		return bad(p, "quantization_config.fmt", "'%s' is not supported (only e4m3)", fmt);
	if (sfmt[0] && strcmp(sfmt, "ue8m0"))
		return bad(p, "quantization_config.scale_fmt", "'%s' is not supported", sfmt);
	c->fp8 = 1;
	c->scale_ue8m0 = sfmt[0] != 0;
	bs = field(q, "weight_block_size");
	if (bs && !cJSON_IsNull(bs)) {
		const cJSON *e;
		long v[2];
		int n = 0;

		if (!cJSON_IsArray(bs) || cJSON_GetArraySize(bs) != 2)
			return bad(p, "quantization_config.weight_block_size", "must be a list of two integers%s", "");
		cJSON_ArrayForEach(e, bs) {
			if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) ||
			    e->valuedouble < 1 || e->valuedouble > 65536)
				return bad(p, "quantization_config.weight_block_size",
					   "must hold two integers in 1..65536%s", "");
			v[n++] = (long)e->valuedouble;
		}
		c->fp8_block_rows = v[0];
		c->fp8_block_cols = v[1];
	}
	return 0;
}

static int parse_fields(struct parse *p, struct ds_config *c)
{
	static const char *const topk_names[] = { "noaux_tc", "greedy", "group_limited_greedy", NULL };
	static const char *const scoring_names[] = { "sigmoid", "softmax", NULL };
	static const char *const act_names[] = { "silu", NULL };
	int topk = (int)c->topk_method, scoring = (int)c->scoring_func, act = 0, rc;
	const cJSON *arch = field(p->root, "architectures");

	if (arch && cJSON_IsArray(arch) && cJSON_GetArraySize(arch) > 0)
		snprintf(c->architecture, sizeof(c->architecture), "%.63s",
			 cJSON_GetArrayItem(arch, 0)->valuestring);
	/* max_position_embeddings first: yarn's original length defaults to it */
	if ((rc = get_long(p, "max_position_embeddings", &c->max_position_embeddings)) ||
	    (rc = get_long(p, "vocab_size", &c->vocab_size)) ||
	    (rc = get_long(p, "hidden_size", &c->hidden_size)) ||
	    (rc = get_long(p, "intermediate_size", &c->intermediate_size)) ||
	    (rc = get_long(p, "moe_intermediate_size", &c->moe_intermediate_size)) ||
	    (rc = get_long(p, "num_hidden_layers", &c->num_hidden_layers)) ||
	    (rc = get_long_null(p, "first_k_dense_replace", &c->first_k_dense_replace, 0)) ||
	    (rc = get_long_null(p, "moe_layer_freq", &c->moe_layer_freq, 1)) ||
	    (rc = get_long(p, "num_attention_heads", &c->num_attention_heads)) ||
	    (rc = get_long_null(p, "num_key_value_heads", &c->num_key_value_heads, -1)) ||
	    (rc = get_long_null(p, "q_lora_rank", &c->q_lora_rank, 0)) ||
	    (rc = get_long(p, "kv_lora_rank", &c->kv_lora_rank)) ||
	    (rc = get_long(p, "qk_nope_head_dim", &c->qk_nope_head_dim)) ||
	    (rc = get_long(p, "qk_rope_head_dim", &c->qk_rope_head_dim)) ||
	    (rc = get_long_null(p, "v_head_dim", &c->v_head_dim, 128)) ||
	    (rc = get_long_null(p, "n_routed_experts", &c->n_routed_experts, 0)) ||
	    (rc = get_long_null(p, "n_shared_experts", &c->n_shared_experts, 0)) ||
	    (rc = get_long_null(p, "num_experts_per_tok", &c->num_experts_per_tok, -1)) ||
	    (rc = get_long_null(p, "n_group", &c->n_group, 1)) ||
	    (rc = get_long_null(p, "topk_group", &c->topk_group, 1)) ||
	    (rc = get_long_null(p, "num_nextn_predict_layers", &c->num_nextn_predict_layers, 0)) ||
	    (rc = get_long_null(p, "bos_token_id", &c->bos_token_id, -1)) ||
	    (rc = parse_eos(p, c)) ||
	    (rc = parse_enum(p, "topk_method", topk_names, &topk)) ||
	    (rc = parse_enum(p, "scoring_func", scoring_names, &scoring)) ||
	    (rc = parse_enum(p, "hidden_act", act_names, &act)) ||
	    (rc = get_bool(p, "norm_topk_prob", &c->norm_topk_prob)) ||
	    (rc = get_double_in(p, p->root, "routed_scaling_factor", &c->routed_scaling_factor)) ||
	    (rc = get_double_in(p, p->root, "rms_norm_eps", &c->rms_norm_eps)) ||
	    (rc = get_double_in(p, p->root, "rope_theta", &c->rope_theta)) ||
	    (rc = get_bool(p, "tie_word_embeddings", &c->tie_word_embeddings)) ||
	    (rc = get_bool(p, "attention_bias", &c->attention_bias)) ||
	    (rc = get_bool(p, "rope_interleave", &c->rope_interleave)) ||
	    (rc = get_bool(p, "mlp_bias", &c->mlp_bias)) ||
	    (rc = parse_rope(p, c)) ||
	    (rc = parse_quant(p, c)) ||
	    (rc = get_string_in(p, p->root, "dtype", c->torch_dtype, sizeof(c->torch_dtype))) ||
	    (rc = get_string_in(p, p->root, "torch_dtype", c->torch_dtype, sizeof(c->torch_dtype))))
		return rc;
	/* HF 5.x's name for num_nextn_predict_layers, when only it is given */
	if (!field(p->root, "num_nextn_predict_layers") &&
	    (rc = get_long_null(p, "num_mtp_layers", &c->num_nextn_predict_layers, 0)))
		return rc;
	c->topk_method = (enum ds_topk_method)topk;
	c->scoring_func = (enum ds_scoring)scoring;
	if (c->num_key_value_heads == -1)
		c->num_key_value_heads = c->num_attention_heads;
	return 0;
}

static int range(struct parse *p, const char *key, long v, long lo, long hi)
{
	char detail[96];

	if (v >= lo && v <= hi)
		return 0;
	snprintf(detail, sizeof(detail), "is %ld, must be in %ld..%ld", v, lo, hi);
	return bad(p, key, "%s", detail);
}

static int validate(struct parse *p, struct ds_config *c)
{
	int moe = c->n_routed_experts > 0, rc;
	long dq = c->qk_nope_head_dim + c->qk_rope_head_dim;

	if ((rc = range(p, "vocab_size", c->vocab_size, 1, VOCAB_MAX)) ||
	    (rc = range(p, "hidden_size", c->hidden_size, 1, DIM_MAX)) ||
	    (rc = range(p, "intermediate_size", c->intermediate_size, 1, DIM_MAX)) ||
	    (rc = range(p, "num_hidden_layers", c->num_hidden_layers, 1, 4096)) ||
	    (rc = range(p, "first_k_dense_replace", c->first_k_dense_replace, 0, 4096)) ||
	    (rc = range(p, "num_attention_heads", c->num_attention_heads, 1, 65536)) ||
	    (rc = range(p, "num_key_value_heads", c->num_key_value_heads, 1, 65536)) ||
	    (rc = range(p, "q_lora_rank", c->q_lora_rank, 0, DIM_MAX)) ||
	    (rc = range(p, "kv_lora_rank", c->kv_lora_rank, 1, DIM_MAX)) ||
	    (rc = range(p, "qk_nope_head_dim", c->qk_nope_head_dim, 1, 65536)) ||
	    (rc = range(p, "qk_rope_head_dim", c->qk_rope_head_dim, 2, 65536)) ||
	    (rc = range(p, "v_head_dim", c->v_head_dim, 1, 65536)) ||
	    (rc = range(p, "n_routed_experts", c->n_routed_experts, 0, 65536)) ||
	    (rc = range(p, "n_shared_experts", c->n_shared_experts, 0, 1024)) ||
	    (rc = range(p, "num_nextn_predict_layers", c->num_nextn_predict_layers, 0, 64)) ||
	    (rc = range(p, "max_position_embeddings", c->max_position_embeddings, 1, (long)1 << 40)) ||
	    (rc = range(p, "moe_layer_freq", c->moe_layer_freq, 1, 1)))
		return rc;
	if (c->qk_rope_head_dim % 2)
		return bad(p, "qk_rope_head_dim", "must be even (rotary pairs)%s", "");
	/* the head products: q rows H*dq, kv_b rows H*(dn+dv), o_proj cols H*dv */
	if ((long long)c->num_attention_heads * (dq > c->qk_nope_head_dim + c->v_head_dim ?
						 dq : c->qk_nope_head_dim + c->v_head_dim) > DIM_MAX * 4)
		return bad(p, "num_attention_heads", "times the head dimensions is too large%s", "");
	if (moe || c->n_shared_experts > 0)
		if ((rc = range(p, "moe_intermediate_size", c->moe_intermediate_size, 1, DIM_MAX)) ||
		    (rc = range(p, "moe_intermediate_size", c->moe_intermediate_size * c->n_shared_experts,
				0, DIM_MAX)))
			return rc;
	if (moe) {
		if (c->num_experts_per_tok < 0)
			return bad(p, "num_experts_per_tok", "is missing (required with n_routed_experts)%s", "");
		if ((rc = range(p, "num_experts_per_tok", c->num_experts_per_tok, 1, c->n_routed_experts)) ||
		    (rc = range(p, "n_group", c->n_group, 1, c->n_routed_experts)) ||
		    (rc = range(p, "topk_group", c->topk_group, 1, c->n_group)))
			return rc;
		if (c->n_routed_experts % c->n_group)
			return bad(p, "n_routed_experts", "must be a multiple of n_group%s", "");
		if (c->num_experts_per_tok > c->topk_group * (c->n_routed_experts / c->n_group))
			return bad(p, "num_experts_per_tok", "exceeds the experts in topk_group groups%s", "");
		if (c->topk_method == DS_TOPK_NOAUX_TC && c->n_group > 1 &&
		    c->n_routed_experts / c->n_group < 2)
			return bad(p, "n_group", "leaves fewer than 2 experts per group (noaux_tc sums the top 2)%s", "");
		if (c->topk_method == DS_TOPK_NOAUX_TC && c->scoring_func != DS_SCORING_SIGMOID)
			return bad(p, "topk_method", "noaux_tc needs scoring_func sigmoid%s", "");
		if (!(c->routed_scaling_factor > 0))
			return bad(p, "routed_scaling_factor", "must be positive%s", "");
	}
	if (!(c->rms_norm_eps > 0 && c->rms_norm_eps < 1))
		return bad(p, "rms_norm_eps", "must be in (0, 1)%s", "");
	if (!(c->rope_theta > 1))
		return bad(p, "rope_theta", "must be greater than 1%s", "");
	if (c->bos_token_id < -1 || c->bos_token_id >= c->vocab_size)
		return bad(p, "bos_token_id", "is outside the vocabulary%s", "");
	for (int i = 0; i < c->n_eos; i++)
		if (c->eos_token_ids[i] < 0 || c->eos_token_ids[i] >= c->vocab_size)
			return bad(p, "eos_token_id", "is outside the vocabulary%s", "");
	if (c->tie_word_embeddings)
		return bad(p, "tie_word_embeddings", "true is not supported (DeepSeek models never tie)%s", "");
	if (c->attention_bias)
		return bad(p, "attention_bias", "true is not supported (no DeepSeek model has biases)%s", "");
	if (c->mlp_bias)
		return bad(p, "mlp_bias", "true is not supported (no DeepSeek model has biases)%s", "");
	/* transformers reads the field only for deepseek_v3; false would mean
	 * rope rows pre-permuted to half-split order */
	if (!c->rope_interleave && !strcmp(c->model_type, "deepseek_v3"))
		return bad(p, "rope_interleave", "false is not supported (it means pre-permuted rope rows)%s", "");
	return 0;
}

int ds_config_parse(struct ds_config *c, const char *json, size_t len, const char *name,
		    struct ds_error *err)
{
	struct parse p = { NULL, name ? name : "config.json", err };
	cJSON *root;
	int v2 = 0, rc;

	if (memchr(json, 0, len))
		return ds_error_set(err, EX_CONFIG, "%s: not JSON (contains a NUL byte)", p.name);
	root = ds_json_parse_all(json, len);
	if (!root)
		return ds_error_set(err, EX_CONFIG, "%s: not valid JSON", p.name);
	p.root = root;
	if (!cJSON_IsObject(root)) {
		rc = ds_error_set(err, EX_CONFIG, "%s: not a JSON object", p.name);
		goto out;
	}
	if ((rc = parse_model_type(&p, &v2)))
		goto out;
	set_defaults(c, v2);
	if ((rc = parse_fields(&p, c)) || (rc = validate(&p, c)))
		goto out;
out:
	cJSON_Delete(root);
	return rc;
}

int ds_config_read(const char *path, char **text, size_t *len, struct ds_error *err)
{
	return ds_read_file(path, (size_t)64 << 20, EX_CONFIG, text, len, err);
}

int ds_config_load(struct ds_config *c, const char *path, struct ds_error *err)
{
	char *text;
	size_t len;
	int rc = ds_config_read(path, &text, &len, err);

	if (rc)
		return rc;
	rc = ds_config_parse(c, text, len, path, err);
	free(text);
	return rc;
}

int ds_config_layer_is_moe(const struct ds_config *c, long layer)
{
	return c->n_routed_experts > 0 && layer >= c->first_k_dense_replace &&
	       layer % c->moe_layer_freq == 0;
}

long ds_config_qk_head_dim(const struct ds_config *c)
{
	return c->qk_nope_head_dim + c->qk_rope_head_dim;
}

int ds_config_is_eos(const struct ds_config *c, long id)
{
	for (int i = 0; i < c->n_eos; i++)
		if (c->eos_token_ids[i] == id)
			return 1;
	return 0;
}
