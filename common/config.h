/*
 * config.h - a Hugging Face config.json of the DeepSeek-V3 family as one
 * struct: every field DeepSeek-V3/R1, V2, V2-Lite and Moonlight use
 * (../shared/docs/deepseek-v3-model.md section 1), with HF's defaults where a
 * field is absent and an error (EX_CONFIG, 78) where a value is impossible.
 *
 * The struct owns nothing on the heap; it can be copied freely.
 */
#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <stddef.h>

#include "error.h"

enum ds_scoring { DS_SCORING_SIGMOID, DS_SCORING_SOFTMAX };
enum ds_topk_method { DS_TOPK_NOAUX_TC, DS_TOPK_GREEDY, DS_TOPK_GROUP_LIMITED_GREEDY };

#define DS_MAX_EOS 8

struct ds_rope_scaling {
	int yarn;			/* rope_scaling present with type/rope_type "yarn" */
	double factor;
	long original_max_position_embeddings;
	double beta_fast, beta_slow;
	double mscale, mscale_all_dim;	/* 0 when absent */
};

struct ds_config {
	char model_type[32];		/* "deepseek_v3", "deepseek_v2" */
	char architecture[64];		/* architectures[0] */
	long vocab_size;
	long hidden_size;
	long intermediate_size;
	long moe_intermediate_size;
	long num_hidden_layers;
	long first_k_dense_replace;
	long moe_layer_freq;
	long num_attention_heads;
	long num_key_value_heads;
	long q_lora_rank;		/* 0 when null: a single q_proj */
	long kv_lora_rank;
	long qk_nope_head_dim;
	long qk_rope_head_dim;
	long v_head_dim;
	long n_routed_experts;		/* 0: no MoE layers at all */
	long n_shared_experts;
	long num_experts_per_tok;
	long n_group;
	long topk_group;
	long num_nextn_predict_layers;
	long max_position_embeddings;
	enum ds_topk_method topk_method;
	enum ds_scoring scoring_func;
	int norm_topk_prob;
	double routed_scaling_factor;
	double rms_norm_eps;
	double rope_theta;
	struct ds_rope_scaling rope_scaling;
	int tie_word_embeddings;
	int attention_bias;
	int rope_interleave;		/* true (default): rope rows in the checkpoint's own pair order */
	int mlp_bias;
	long bos_token_id;		/* -1 when absent */
	long eos_token_ids[DS_MAX_EOS];	/* eos_token_id, a number or a list */
	int n_eos;
	/* quantization_config */
	int fp8;			/* quant_method "fp8" */
	long fp8_block_rows, fp8_block_cols;	/* weight_block_size, [128, 128] */
	int scale_ue8m0;		/* scale_fmt "ue8m0" (V3.1) */
	char torch_dtype[16];
};

/* Parse config.json text.  `name` is used in messages.  Returns 0, or
 * EX_CONFIG with err naming the field and what is wrong. */
int ds_config_parse(struct ds_config *c, const char *json, size_t len, const char *name,
		    struct ds_error *err);
/* Read and parse a file; EX_NOINPUT when it cannot be opened. */
int ds_config_load(struct ds_config *c, const char *path, struct ds_error *err);
/* Its reading half: the file's text, NUL-terminated and malloc'd (the
 * caller frees it), its length without the NUL into *len unless NULL;
 * EX_NOINPUT, EX_IOERR, or EX_CONFIG beyond 64 MiB. */
int ds_config_read(const char *path, char **text, size_t *len, struct ds_error *err);

/* Whether decoder layer i (0-based; MTP layers are >= num_hidden_layers)
 * has a MoE feed-forward rather than a dense MLP. */
int ds_config_layer_is_moe(const struct ds_config *c, long layer);
/* dq = qk_nope_head_dim + qk_rope_head_dim */
long ds_config_qk_head_dim(const struct ds_config *c);
/* Whether id is one of the eos ids. */
int ds_config_is_eos(const struct ds_config *c, long id);

#endif
