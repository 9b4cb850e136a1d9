/*
 * modelinfo.h - what a DeepSeek-V3-family model is, in numbers: parameter
 * counts (total, per token), the tensors its config.json implies, the
 * bytes of its weights and of its KV cache, and how a checkpoint compares
 * with its config (ds-info; ds-sum --tensors; ds-bench's counts later).
 *
 * The tensors a config implies come from mkmodel.h's plan, the one list
 * of names and shapes in dspipe (what ds-mkmodel writes is what model.c
 * reads), so these counts and that generator cannot drift apart.
 *
 * Counting rules:
 *   params_total   every tensor of the plan but the FP8 _scale_inv ones,
 *                  MTP modules included (DeepSeek-V3: 684.5 B)
 *   params_main    the same without the MTP modules (V3: 671.0 B)
 *   params_active  per token in the main model: everything but the routed
 *                  experts, plus num_experts_per_tok of n_routed_experts of
 *                  them per MoE layer, embedding and head included (V3:
 *                  37.6 B); params_active_body leaves embedding and head out
 *   kv_bytes_token the MLA cache per position in all main layers: the
 *                  latent and the rope key, (kv_lora_rank +
 *                  qk_rope_head_dim) x num_hidden_layers values, as f32 as
 *                  dspipe's CPU cache keeps them (x 4 bytes)
 *
 * Ownership: struct ds_modelinfo owns the plan (ds_modelinfo_release);
 * struct ds_ckcheck owns its name lists (ds_ckcheck_release).
 */
#ifndef DS_MODELINFO_H
#define DS_MODELINFO_H

#include <stdint.h>

#include "config.h"
#include "error.h"
#include "mkmodel.h"
#include "safetensors.h"

struct ds_modelinfo {
	struct ds_config cfg;
	struct ds_mk_plan plan;		/* the tensors the config implies */
	long n_dense, n_moe;		/* main decoder layers of each kind */
	uint64_t params_total, params_main, params_mtp;
	uint64_t params_active, params_active_body, params_embed;
	uint64_t planned_bytes;		/* the plan's payloads in the config's dtypes */
	uint64_t kv_bytes_token;
};

/* Count everything for config c (copied in).  Returns 0, or the plan's
 * error (EX_CONFIG for a config mkmodel.h cannot plan). */
int ds_modelinfo_init(struct ds_modelinfo *mi, const struct ds_config *c, struct ds_error *err);
void ds_modelinfo_release(struct ds_modelinfo *mi);

/* A checkpoint against its config. */
struct ds_ckcheck {
	long nmissing, nunused, nshape, ndtype;
	char **missing;		/* names config.json needs that the checkpoint lacks */
	char **unused;		/* checkpoint tensors nothing of config.json reads */
	char **shape;		/* present with another shape: "NAME [a, b], config [c, d]" */
	char **dtype;		/* present in a dtype the forward pass cannot read */
	/* the checkpoint's tensors and bytes per dtype (index enum ds_dtype) */
	uint64_t count[DS_DT_COUNT], bytes[DS_DT_COUNT];
	uint64_t total_bytes;
};

/*
 * Compare: a tensor of the plan is needed (the MTP module's own copies of
 * the embedding and head are optional, as model.c reads them); an FP8
 * weight's "_scale_inv" is used when its weight is there in FP8.  Returns 0
 * (the lists may be empty) or EX_OSERR.
 */
int ds_ckcheck_run(struct ds_ckcheck *r, const struct ds_modelinfo *mi, const struct ds_checkpoint *ck,
		   struct ds_error *err);
void ds_ckcheck_release(struct ds_ckcheck *r);
/* Say what r found, one line per kind naming the first tensor, through
 * say (a tool passes cli.h's ds_warn; library code never prints).  Returns
 * 1 when something keeps the model from loading (missing, wrong shape,
 * unreadable dtype), 0 otherwise (tensors nothing reads only warn). */
int ds_ckcheck_report(const struct ds_ckcheck *r, const char *where, void (*say)(const char *fmt, ...));

/* Reading every byte (--check): the F8_E4M3 bytes that are NaN (0x7f,
 * 0xff: e4m3fn has no infinities) and the non-finite F32 values of the
 * FP8 scales, over all tensors; the first tensor holding either is named
 * in *first (NULL when none; it points into ck). */
struct ds_ckscan {
	uint64_t fp8_nan, scale_nonfinite;
	const char *first;
};
void ds_ckscan_run(struct ds_ckscan *s, const struct ds_checkpoint *ck);

#endif
