/*
 * model.h - one DeepSeek-V3-family model as the forward pass sees it: the
 * config, the mmap'd checkpoint, and per-layer views of every weight in its
 * checkpoint dtype (F32, F16, BF16, FP8-e4m3 with its weight_scale_inv).
 *
 * Owns: struct ds_model (config, checkpoint mapping, layer table) and the
 * f32 copies of the 1-D vectors (norm weights, e_score_correction_bias),
 * which are converted once because they are tiny and read per token.  Every
 * matrix is a borrowed view into the mapping - never converted, never
 * copied.  ds_model_release() frees everything.
 *
 * Only the parts asked for are mapped and checked (struct ds_model_want):
 * a process running layers 8..15 does not need the embedding or the head.
 * Every mapped tensor is checked for presence, shape against the config,
 * and a supported dtype; a failure is EX_DATAERR (65) naming the tensor.
 * Layer ranges outside the model are EX_USAGE (64); configs the forward
 * pass cannot run as transformers does are EX_CONFIG (78).
 *
 * Layers: 0 .. num_hidden_layers-1 are the decoder; MoE iff
 * n_routed_experts > 0 and index >= first_k_dense_replace (transformers'
 * rule; config.c refuses moe_layer_freq != 1).  The first MTP module, when
 * the config has num_nextn_predict_layers > 0, is layer num_hidden_layers
 * (a full MoE decoder layer plus enorm, hnorm, eh_proj, its own head norm,
 * and the stored copies of the embedding and head, which are used when
 * present - vLLM's reading - and otherwise the main ones).
 */
#ifndef DS_MODEL_H
#define DS_MODEL_H

#include "config.h"
#include "error.h"
#include "mat.h"
#include "safetensors.h"

/* SwiGLU MLP: down( silu(gate x) * up x ) */
struct ds_mlp {
	struct ds_mat gate, up, down;
};

struct ds_layer {
	long index;
	int loaded;		/* views below are valid */
	int moe;		/* MoE feed-forward, else dense */
	float *attn_norm;	/* input_layernorm [D] */
	float *ffn_norm;	/* post_attention_layernorm [D] */
	struct ds_mat q_a;	/* [rq, D] when q_lora_rank > 0 */
	float *q_a_norm;	/* [rq] */
	struct ds_mat q_b;	/* [H dq, rq] */
	struct ds_mat q;	/* [H dq, D] when q_lora_rank == 0 */
	struct ds_mat kv_a;	/* [rkv + dr, D] */
	float *kv_a_norm;	/* [rkv] */
	struct ds_mat kv_b;	/* [H (dn + dv), rkv] */
	struct ds_mat o;	/* [D, H dv] */
	struct ds_mlp dense;	/* dense layers: [I, D] x2, [D, I] */
	struct ds_mat gate;	/* MoE router [E, D] */
	float *gate_bias;	/* e_score_correction_bias [E], NULL without noaux_tc */
	struct ds_mlp *experts;	/* [E] */
	int has_shared;
	struct ds_mlp shared;	/* [ns Im, D] x2, [D, ns Im] */
	/* MTP modules only */
	float *enorm, *hnorm, *head_norm;	/* [D] */
	struct ds_mat eh_proj;	/* [D, 2D]: columns 0..D-1 take enorm(e) */
	struct ds_mat embed;	/* [V, D] */
	struct ds_mat head;	/* [V, D] */
};

struct ds_model {
	struct ds_config cfg;
	struct ds_checkpoint ck;
	int have_ck;
	/* dimensions, from the config */
	long D, H, dn, dr, dv, dq, rq, rkv, I, Im, E, K, V, L, n_shared;
	float eps;		/* rms_norm_eps: decoder, final and MTP norms */
	float latent_eps;	/* q_a_layernorm / kv_a_layernorm: 1e-6 (transformers) */
	struct ds_mat embed;	/* model.embed_tokens [V, D] */
	struct ds_mat lm_head;	/* [V, D] */
	float *final_norm;	/* model.norm [D] */
	long nlayers;		/* L + (MTP ? 1 : 0) */
	struct ds_layer *layers;	/* [nlayers] */
};

enum {
	DS_PART_EMBED = 1,	/* model.embed_tokens */
	DS_PART_HEAD = 2,	/* model.norm + lm_head */
	DS_PART_MTP = 4,	/* the first MTP module (+ model.norm) */
};

struct ds_model_want {
	long first, last;	/* main decoder layers [first, last); first == last: none */
	int parts;		/* DS_PART_* */
	/* called after each layer is mapped (may be NULL) */
	void (*progress)(void *ctx, long done, long total);
	void *progress_ctx;
};

/* Read path/config.json (path a checkpoint directory, or a .safetensors
 * file whose directory holds config.json) and check that the forward pass
 * supports it; the dimensions of m are filled, nothing is mapped. */
int ds_model_load_config(struct ds_model *m, const char *path, struct ds_error *err);
/* ds_model_load_config, then ds_model_map. */
int ds_model_open(struct ds_model *m, const char *path, const struct ds_model_want *want,
		  struct ds_error *err);
/* Map the checkpoint at path and the wanted parts into m, whose config
 * ds_model_load_config() has read from the same path (a tool that checks
 * its options against the config first does not read it twice). */
int ds_model_map(struct ds_model *m, const char *path, const struct ds_model_want *want,
		 struct ds_error *err);
void ds_model_release(struct ds_model *m);

/* Whether main layer i is MoE. */
int ds_model_layer_is_moe(const struct ds_model *m, long i);

/* Every mapped weight matrix of m, in memory order of no importance: the
 * layers' (MTP module included), the head and, when with_embed, the
 * embedding (which a token reads one row of). */
void ds_model_each_mat(const struct ds_model *m, int with_embed, void (*fn)(void *ctx, const struct ds_mat *w),
		       void *ctx);

/*
 * Page the mapped weights (and FP8 scales; not the embedding) into memory
 * now, so that the first tokens do not pay for page faults:
 *  DS_PREFETCH_TOUCH    read them in, page by page (what a first pass does);
 *  DS_PREFETCH_WILLNEED madvise(MADV_WILLNEED) first - the kernel reads
 *                       ahead on its own - then populate the page tables
 *                       (MADV_POPULATE_READ where the kernel has it, else
 *                       touching);
 *  DS_PREFETCH_MLOCK    also mlock() them: resident until exit (needs
 *                       RLIMIT_MEMLOCK; failure is EX_OSERR with errno's
 *                       words, nothing else changes).
 * progress (may be NULL) gets bytes done and total after each 64 MiB.
 * The mapping stays read-only and shared with the page cache; nothing is
 * copied.  Returns 0 or an error code.
 */
enum { DS_PREFETCH_TOUCH = 1, DS_PREFETCH_WILLNEED = 2, DS_PREFETCH_MLOCK = 4 };
int ds_model_prefetch(const struct ds_model *m, int how, void (*progress)(void *ctx, double done, double total),
		      void *ctx, struct ds_error *err);

/* EX_DATAERR naming the first row whose id is outside [0, vocab_size). */
int ds_embed_check(const struct ds_mat *embed, const int32_t *ids, long n, struct ds_error *err);
/* Embedding rows: out[r] = embed[ids[r]] as f32.  EX_DATAERR naming the
 * row when an id is outside [0, vocab_size). */
int ds_embed_rows(const struct ds_mat *embed, const int32_t *ids, long n, float *out, struct ds_error *err);

#endif
