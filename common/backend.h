/*
 * backend.h - the seam between the tools and the compute: an opaque
 * backend that maps a model's weights and runs a slice of decoder layers,
 * the head, the MTP module, or one layer's router on batches of rows.
 *
 * A batch is a list of chunks; chunk i holds n consecutive rows of sequence
 * seq at positions pos .. pos+n-1, and the rows of all chunks lie one after
 * another in the caller's arrays (hidden [rows][D], logits [rows][V], ...).
 * Several sequences may share one batch (one chunk each): the linear layers
 * run on all rows together, attention per sequence.
 *
 * The backend keeps the KV cache per sequence id for the layers it runs.
 * A chunk must continue its sequence: pos == the number of positions
 * already cached (0 for a new sequence), and pos + n <= the model's
 * max_position_embeddings, or the smaller max_ctx of the options;
 * ds_backend_check() says so without changing anything, and every call that
 * uses the cache checks it first (EX_DATAERR, state unchanged).
 * ds_backend_end_seq() frees a sequence's cache.
 *
 * Devices: "cpu" (common/cpu, the reference); "cuda" (common/cuda, built
 * when nvcc is found; EX_UNAVAILABLE (69) without it or without a GPU).
 * Results of the CPU backend do not depend on the thread count or on how
 * rows are grouped into batches.
 *
 * Ownership: the backend borrows the model (which must outlive it) and owns
 * its caches and buffers; ds_backend_free() releases them.
 */
#ifndef DS_BACKEND_H
#define DS_BACKEND_H

#include <stdint.h>

#include "error.h"
#include "model.h"

struct ds_fwd_chunk {
	uint64_t seq;
	long pos;		/* position of the first row */
	long n;			/* rows */
};

struct ds_fwd_batch {
	int nchunks;
	const struct ds_fwd_chunk *chunks;
};

/* Called during ds_backend_layers() (CPU backend) with the rows of one
 * internal step: `row0` is the index of its first row in the batch. */
struct ds_fwd_hooks {
	void *ctx;
	/* residual stream after layer `layer` */
	void (*layer_out)(void *ctx, long layer, long row0, long n, const float *h);
	/* input of layer `layer`'s MoE (post_attention_layernorm output) */
	void (*moe_in)(void *ctx, long layer, long row0, long n, const float *b);
	/* chosen experts (ascending) and weights, K per row */
	void (*routes)(void *ctx, long layer, long row0, long n, const int32_t *ids, const float *w);
};

struct ds_backend_opts {
	const char *device;	/* "cpu" (default when NULL) or "cuda" */
	int threads;		/* 0: every CPU */
	long first, last;	/* decoder layers run by ds_backend_layers */
	int mtp;		/* keep a cache for the MTP module */
	long max_rows;		/* rows per internal step; 0: 128 */
	/* positions a sequence may fill (a cap of the KV cache, llama.cpp's
	 * -c; ds-forward --ctx-size): 0 = max_position_embeddings, else at
	 * most that.  Every call that extends a cache refuses to go beyond
	 * it (ds_backend_max_pos); a backend that sizes its caches up front
	 * reads it too. */
	long max_ctx;
};

struct ds_backend;

/* EX_USAGE when o->max_ctx is negative or beyond max_position_embeddings. */
int ds_backend_open(struct ds_backend **out, const struct ds_model *m, const struct ds_backend_opts *o,
		    struct ds_error *err);
/* Positions a sequence may fill: o->max_ctx, or max_position_embeddings
 * when that is 0.  (The rule ds_batch_check's max_pos gets.) */
long ds_backend_max_pos(const struct ds_model *m, const struct ds_backend_opts *o);
void ds_backend_free(struct ds_backend *b);
const char *ds_backend_name(const struct ds_backend *b);
void ds_backend_set_hooks(struct ds_backend *b, const struct ds_fwd_hooks *h);

/* Total rows of a batch. */
long ds_batch_rows(const struct ds_fwd_batch *batch);

/* Whether the batch may run (positions continue each sequence's cache of
 * the main layers, or of the MTP module when mtp). */
int ds_backend_check(struct ds_backend *b, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err);
/* Run layers [first, last) over hidden in place, extending the caches. */
int ds_backend_layers(struct ds_backend *b, const struct ds_fwd_batch *batch, float *hidden,
		      struct ds_error *err);
/* logits[r] = lm_head . RMSNorm(hidden[r]; model.norm) for n rows. */
int ds_backend_head(struct ds_backend *b, const float *hidden, long n, float *logits, struct ds_error *err);
/* MTP logits from the main model's last residual (before model.norm) and
 * the next token of every row; extends the MTP cache. */
int ds_backend_mtp(struct ds_backend *b, const struct ds_fwd_batch *batch, const float *hidden,
		   const int32_t *next_tokens, float *logits, struct ds_error *err);
/* The two halves of ds_backend_mtp, for drafting several tokens with the
 * one MTP module (speculative decoding, spec.h): the MTP decoder layer
 * alone, writing each row's output residual (before shared_head.norm) to
 * out [rows][D] and extending the MTP cache as ds_backend_mtp does; and its
 * head, logits[r] = shared_head.head . RMSNorm(h[r]; shared_head.norm),
 * rows [V] - of which only ids below `vocab` are computed when 0 < vocab
 * < V (the others are -inf, so no draw picks them: a cheaper drafter).
 * ds_backend_mtp's logits equal mtp_head(mtp_layer(...)) bit for bit.  A
 * residual from mtp_layer given back as `hidden` (with the token drafted
 * from it as the next token) drafts one position further.  A backend
 * without them answers EX_UNAVAILABLE. */
int ds_backend_mtp_layer(struct ds_backend *b, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, float *out, struct ds_error *err);
int ds_backend_mtp_head(struct ds_backend *b, const float *h, long n, long vocab, float *logits,
			struct ds_error *err);
/* Extend the MTP cache over rows as ds_backend_mtp_layer does (the same
 * cache bits), without their outputs: for the rows before the one a draft
 * starts from, whose outputs nobody reads (most of the layer's work is
 * skipped: only its input, eh_proj, and the kv_a half of the attention
 * run).  EX_UNAVAILABLE where the backend cannot draft. */
int ds_backend_mtp_cache(struct ds_backend *b, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, struct ds_error *err);
/* Experts and weights (K per row) of decoder layer `layer` (in [first,
 * last), MoE).  hidden is the MoE input, or with from_input the residual
 * entering the layer (its attention then runs and extends the cache). */
int ds_backend_route(struct ds_backend *b, const struct ds_fwd_batch *batch, long layer, const float *hidden,
		     int from_input, int32_t *ids, float *weights, struct ds_error *err);
/* Forget a sequence (CONTROL END / RESET). */
void ds_backend_end_seq(struct ds_backend *b, uint64_t seq);
/* Roll a sequence back: keep only its first len cached positions, in the
 * main layers and the MTP module (nothing happens where fewer are cached).
 * The next chunk of seq then starts at pos = len. */
void ds_backend_truncate_seq(struct ds_backend *b, uint64_t seq, long len);

/* The rule every backend applies before a batch touches its cache: chunk
 * rows and positions are non-negative, no sequence appears twice, each
 * chunk starts where its sequence's cache ends (len_of(ctx, seq), 0 for a
 * new one), and pos + n <= max_pos.  EX_DATAERR naming the sequence. */
int ds_batch_check(const struct ds_fwd_batch *batch, long max_pos, long (*len_of)(void *ctx, uint64_t seq),
		   void *ctx, struct ds_error *err);

#endif
