/*
 * report.c - ds-info's two outputs: aligned text for people, and one JSON
 * object (every count exact, every list in full) for scripts.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "info.h"

#define SHOWN 10	/* names of a warning list the text shows */

/* bytes in powers of 1000, as disks are sold and `df -H` counts */
static const char *size(uint64_t b, char *buf, size_t cap)
{
	static const char *const unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static const char *count(uint64_t n, char *buf, size_t cap)
{
	if (n >= 1000000000)
		snprintf(buf, cap, "%.2f B", (double)n / 1e9);
	else if (n >= 1000000)
		snprintf(buf, cap, "%.2f M", (double)n / 1e6);
	else
		snprintf(buf, cap, "%llu", (unsigned long long)n);
	return buf;
}

static uint64_t full_context_kv(const struct info *in)
{
	return in->mi.kv_bytes_token * (uint64_t)in->mi.cfg.max_position_embeddings;
}

static uint64_t weight_bytes(const struct info *in)
{
	return in->have_ck ? in->chk.total_bytes : in->mi.planned_bytes;
}

static void list(const char *title, char **names, long n)
{
	if (!n)
		return;
	printf("%-15s %ld\n", title, n);
	for (long i = 0; i < n && i < SHOWN; i++)
		printf("%-15s   %s\n", "", names[i]);
	if (n > SHOWN)
		printf("%-15s   ... and %ld more (--json lists all)\n", "", n - SHOWN);
}

void info_print_text(const struct info *in)
{
	const struct ds_config *c = &in->mi.cfg;
	char a[32], b[32], d[32];

	printf("%-15s %s\n", "model", in->dir);
	printf("%-15s %s (%s)\n", "architecture", c->architecture[0] ? c->architecture : "?", c->model_type);
	printf("%-15s %ld: %ld dense, %ld MoE, and %ld MTP module%s\n", "layers", c->num_hidden_layers, in->mi.n_dense,
	       in->mi.n_moe, c->num_nextn_predict_layers, c->num_nextn_predict_layers == 1 ? "" : "s");
	printf("%-15s hidden %ld, %ld heads, q_lora_rank %ld, kv_lora_rank %ld, head dims %ld + %ld rope (v %ld)\n",
	       "attention", c->hidden_size, c->num_attention_heads, c->q_lora_rank, c->kv_lora_rank, c->qk_nope_head_dim,
	       c->qk_rope_head_dim, c->v_head_dim);
	if (c->n_routed_experts > 0)
		printf("%-15s %ld routed (%ld per token) + %ld shared, width %ld; %ld groups (%ld per token), %s, %s\n",
		       "experts", c->n_routed_experts, c->num_experts_per_tok, c->n_shared_experts, c->moe_intermediate_size,
		       c->n_group, c->topk_group, c->scoring_func == DS_SCORING_SIGMOID ? "sigmoid" : "softmax",
		       c->topk_method == DS_TOPK_NOAUX_TC ? "noaux_tc" : c->topk_method == DS_TOPK_GREEDY ? "greedy"
											   : "group_limited_greedy");
	printf("%-15s %ld (dense MLP width)\n", "intermediate", c->intermediate_size);
	printf("%-15s %ld\n", "vocabulary", c->vocab_size);
	if (c->rope_scaling.yarn)
		printf("%-15s %ld positions (YaRN x%g from %ld)\n", "context", c->max_position_embeddings,
		       c->rope_scaling.factor, c->rope_scaling.original_max_position_embeddings);
	else
		printf("%-15s %ld positions\n", "context", c->max_position_embeddings);
	printf("%-15s %s total, %s without MTP; %s active per token (%s without embedding and head)\n", "parameters",
	       count(in->mi.params_total, a, sizeof(a)), count(in->mi.params_main, b, sizeof(b)),
	       count(in->mi.params_active, d, sizeof(d)), count(in->mi.params_active_body, (char[32]){ 0 }, 32));
	if (in->have_ck) {
		printf("%-15s %s in %zu tensors, %d file%s:", "weights", size(in->chk.total_bytes, a, sizeof(a)),
		       in->ck.ntensors, in->ck.nfiles, in->ck.nfiles == 1 ? "" : "s");
		for (int t = 1; t < DS_DT_COUNT; t++)
			if (in->chk.count[t])
				printf(" %s %llu (%s)", ds_dtype_name((enum ds_dtype)t), (unsigned long long)in->chk.count[t],
				       size(in->chk.bytes[t], a, sizeof(a)));
		printf("\n");
	} else {
		printf("%-15s none here (config.json alone: %s as %s)\n", "weights", size(in->mi.planned_bytes, a, sizeof(a)),
		       c->fp8 ? "FP8 + BF16" : c->torch_dtype[0] ? c->torch_dtype : "bfloat16");
	}
	printf("%-15s %llu bytes per token (f32 latent + rope key, %ld layers); %s at full context\n", "KV cache",
	       (unsigned long long)in->mi.kv_bytes_token, c->num_hidden_layers, size(full_context_kv(in), a, sizeof(a)));
	printf("%-15s %s: the weights and one sequence at full context\n", "memory needed",
	       size(weight_bytes(in) + full_context_kv(in), a, sizeof(a)));
	if (in->tok_ids >= 0)
		printf("%-15s tokenizer.json, %ld ids; chat template %s\n", "tokenizer", in->tok_ids,
		       in->chat_template ? in->chat_template : "none");
	else
		printf("%-15s none\n", "tokenizer");
	if (in->have_ck && !in->chk.nmissing && !in->chk.nunused && !in->chk.nshape && !in->chk.ndtype)
		printf("%-15s every tensor config.json needs is there, and nothing else\n", "tensors");
	list("missing", in->chk.missing, in->chk.nmissing);
	list("unused", in->chk.unused, in->chk.nunused);
	list("wrong shape", in->chk.shape, in->chk.nshape);
	list("unreadable", in->chk.dtype, in->chk.ndtype);
	if (in->scanned)
		printf("%-15s %llu NaN FP8 bytes, %llu non-finite FP8 scales\n", "check",
		       (unsigned long long)in->scan.fp8_nan, (unsigned long long)in->scan.scale_nonfinite);
}

static cJSON *names(char **l, long n)
{
	cJSON *a = cJSON_CreateArray();

	for (long i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l[i]));
	return a;
}

static void num(cJSON *o, const char *k, double v)
{
	cJSON_AddItemToObject(o, k, cJSON_CreateNumber(v));
}

void info_print_json(const struct info *in)
{
	const struct ds_config *c = &in->mi.cfg;
	cJSON *o = cJSON_CreateObject(), *x;
	char *text;

	cJSON_AddStringToObject(o, "path", in->dir);
	cJSON_AddStringToObject(o, "architecture", c->architecture);
	cJSON_AddStringToObject(o, "model_type", c->model_type);
	cJSON_AddItemToObject(o, "layers", x = cJSON_CreateObject());
	num(x, "decoder", (double)c->num_hidden_layers);
	num(x, "dense", (double)in->mi.n_dense);
	num(x, "moe", (double)in->mi.n_moe);
	num(x, "mtp", (double)c->num_nextn_predict_layers);
	cJSON_AddItemToObject(o, "attention", x = cJSON_CreateObject());
	num(x, "hidden_size", (double)c->hidden_size);
	num(x, "heads", (double)c->num_attention_heads);
	num(x, "q_lora_rank", (double)c->q_lora_rank);
	num(x, "kv_lora_rank", (double)c->kv_lora_rank);
	num(x, "qk_nope_head_dim", (double)c->qk_nope_head_dim);
	num(x, "qk_rope_head_dim", (double)c->qk_rope_head_dim);
	num(x, "v_head_dim", (double)c->v_head_dim);
	cJSON_AddItemToObject(o, "experts", x = cJSON_CreateObject());
	num(x, "routed", (double)c->n_routed_experts);
	num(x, "per_token", (double)c->num_experts_per_tok);
	num(x, "shared", (double)c->n_shared_experts);
	num(x, "width", (double)c->moe_intermediate_size);
	num(x, "groups", (double)c->n_group);
	num(x, "groups_per_token", (double)c->topk_group);
	num(o, "intermediate_size", (double)c->intermediate_size);
	num(o, "vocab_size", (double)c->vocab_size);
	num(o, "context", (double)c->max_position_embeddings);
	cJSON_AddItemToObject(o, "parameters", x = cJSON_CreateObject());
	num(x, "total", (double)in->mi.params_total);
	num(x, "main", (double)in->mi.params_main);
	num(x, "mtp", (double)in->mi.params_mtp);
	num(x, "active", (double)in->mi.params_active);
	num(x, "active_without_embedding", (double)in->mi.params_active_body);
	cJSON_AddItemToObject(o, "weights", x = cJSON_CreateObject());
	num(x, "bytes", (double)weight_bytes(in));
	cJSON_AddBoolToObject(x, "checkpoint", in->have_ck);
	if (in->have_ck) {
		cJSON *dts = cJSON_CreateObject();
		num(x, "tensors", (double)in->ck.ntensors);
		num(x, "files", in->ck.nfiles);
		for (int t = 1; t < DS_DT_COUNT; t++)
			if (in->chk.count[t]) {
				cJSON *d = cJSON_CreateObject();
				num(d, "tensors", (double)in->chk.count[t]);
				num(d, "bytes", (double)in->chk.bytes[t]);
				cJSON_AddItemToObject(dts, ds_dtype_name((enum ds_dtype)t), d);
			}
		cJSON_AddItemToObject(x, "dtypes", dts);
	}
	cJSON_AddItemToObject(o, "kv_cache", x = cJSON_CreateObject());
	num(x, "bytes_per_token", (double)in->mi.kv_bytes_token);
	cJSON_AddStringToObject(x, "dtype", "f32");
	num(x, "bytes_full_context", (double)full_context_kv(in));
	num(o, "memory_bytes", (double)(weight_bytes(in) + full_context_kv(in)));
	if (in->tok_ids >= 0) {
		cJSON_AddItemToObject(o, "tokenizer", x = cJSON_CreateObject());
		num(x, "ids", (double)in->tok_ids);
		if (in->chat_template)
			cJSON_AddStringToObject(x, "chat_template", in->chat_template);
		else
			cJSON_AddNullToObject(x, "chat_template");
	} else {
		cJSON_AddNullToObject(o, "tokenizer");
	}
	cJSON_AddItemToObject(o, "tensors", x = cJSON_CreateObject());
	cJSON_AddItemToObject(x, "missing", names(in->chk.missing, in->chk.nmissing));
	cJSON_AddItemToObject(x, "unused", names(in->chk.unused, in->chk.nunused));
	cJSON_AddItemToObject(x, "wrong_shape", names(in->chk.shape, in->chk.nshape));
	cJSON_AddItemToObject(x, "unreadable_dtype", names(in->chk.dtype, in->chk.ndtype));
	if (in->scanned) {
		cJSON_AddItemToObject(o, "check", x = cJSON_CreateObject());
		num(x, "fp8_nan_bytes", (double)in->scan.fp8_nan);
		num(x, "scale_nonfinite", (double)in->scan.scale_nonfinite);
	}
	text = cJSON_Print(o);
	if (!text)
		ds_die(EX_OSERR, "out of memory");
	puts(text);
	free(text);
	cJSON_Delete(o);
}
