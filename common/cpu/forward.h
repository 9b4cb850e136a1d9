/*
 * forward.h - the CPU forward pass of the DeepSeek-V3 family: embedding,
 * decoder layers (MLA + dense MLP or MoE), final norm and head, the MTP
 * module, and one layer's routing - the engine behind the CPU backend.
 *
 * Math and numerics follow transformers in f32 (docs/deepseek-v3-model.md
 * sections 3-7): pre-norm blocks with two residuals; RMSNorm eps from
 * rms_norm_eps except the q/kv latent norms (1e-6); MLA in the absorbed
 * form against the latent cache (mla.h); MoE with route.h's selection,
 * expert outputs times their weights added in ascending expert order, then
 * the shared expert; SwiGLU as silu(gate) * up.  Activations and sums are
 * f32 everywhere; weights stay in their checkpoint dtype.
 *
 * Rows are processed in internal steps of at most max_rows; every row's
 * result is independent of the step and batch it was in and of the thread
 * count (kernels.h, mla.h), so slicing a run into processes or frames does
 * not change a bit.
 *
 * Ownership: struct ds_forward borrows the model and owns the pool, caches
 * and buffers (ds_forward_free).
 */
#ifndef DS_FORWARD_H
#define DS_FORWARD_H

#include <stdint.h>

#include "backend.h"
#include "error.h"
#include "model.h"

struct ds_forward;

int ds_forward_new(struct ds_forward **out, const struct ds_model *m, const struct ds_backend_opts *o,
		   struct ds_error *err);
void ds_forward_free(struct ds_forward *f);
void ds_forward_set_hooks(struct ds_forward *f, const struct ds_fwd_hooks *h);

int ds_forward_check(struct ds_forward *f, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err);
int ds_forward_layers(struct ds_forward *f, const struct ds_fwd_batch *batch, float *hidden,
		      struct ds_error *err);
int ds_forward_head(struct ds_forward *f, const float *hidden, long n, float *logits, struct ds_error *err);
int ds_forward_mtp(struct ds_forward *f, const struct ds_fwd_batch *batch, const float *hidden,
		   const int32_t *next_tokens, float *logits, struct ds_error *err);
int ds_forward_mtp_layer(struct ds_forward *f, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, float *out, struct ds_error *err);
int ds_forward_mtp_cache(struct ds_forward *f, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, struct ds_error *err);
int ds_forward_mtp_head(struct ds_forward *f, const float *h, long n, long vocab, float *logits,
			struct ds_error *err);
int ds_forward_route(struct ds_forward *f, const struct ds_fwd_batch *batch, long layer, const float *hidden,
		     int from_input, int32_t *ids, float *weights, struct ds_error *err);
void ds_forward_end_seq(struct ds_forward *f, uint64_t seq);
void ds_forward_truncate_seq(struct ds_forward *f, uint64_t seq, long len);

#endif
