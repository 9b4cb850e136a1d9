/*
 * mla.h - Multi-head Latent Attention on the CPU, and its latent KV cache.
 *
 * The cache keeps, per sequence id, per cached layer, per position, one f32
 * row [c | kpe]: the kv_a_layernorm'd latent (kv_lora_rank values) and the
 * rotated rope key (qk_rope_head_dim values) - nothing per head.
 *
 * Attention runs in the absorbed form for every row, prefill and decode
 * alike (docs/deepseek-v3-model.md section 3.4): the query is pulled into
 * latent space per head (qa = W_UK[h]^T q_nope[h]), scores are
 * sigma * (qa . c_s + q_pe . kpe_s) over the cached positions s <= t,
 * softmax in f32, ol = sum_s p_s c_s, o[h] = W_UV[h] ol, out = W_o o.
 * Cost per (query, key) pair is H * (2 rkv + dr) multiply-adds, about 3.4x
 * the naive form for V3's shapes, in exchange for one code path and a cache
 * of 576 floats per token per layer; a prefill path that expands K/V
 * per head for long chunks is left for later (research-cpu-perf.md 4.7).
 * Each row's result depends only on its own query and the cache rows it
 * reads, so a prompt in one frame and the same tokens one at a time give
 * the same bits.
 *
 * Ownership: struct ds_kv owns every sequence's rows (ds_kv_release).
 * struct ds_mla_buf holds scratch sized by ds_mla_buf_reserve.
 */
#ifndef DS_MLA_H
#define DS_MLA_H

#include <stdint.h>

#include "error.h"
#include "exec.h"
#include "model.h"
#include "rope.h"

struct ds_kv_seq {
	uint64_t seq;
	long len;		/* positions committed */
	long cap;		/* rows allocated in each layer */
	float **rows;		/* [nlayers] -> [cap][width] */
};

struct ds_kv {
	long nlayers;		/* layers cached by this process */
	long width;		/* kv_lora_rank + qk_rope_head_dim */
	long max_len;		/* max_position_embeddings */
	long nseq, capseq;
	struct ds_kv_seq **seqs;
};

void ds_kv_init(struct ds_kv *kv, long nlayers, long width, long max_len);
/* NULL when the sequence has no cache. */
struct ds_kv_seq *ds_kv_find(const struct ds_kv *kv, uint64_t seq);
/* The cache of seq, created empty when absent; NULL when out of memory. */
struct ds_kv_seq *ds_kv_get(struct ds_kv *kv, uint64_t seq);
/* Make room for len positions.  EX_DATAERR beyond max_len, EX_OSERR. */
int ds_kv_reserve(struct ds_kv *kv, struct ds_kv_seq *s, long len, struct ds_error *err);
/* Forget seq (CONTROL END / RESET); nothing happens when it has no cache. */
void ds_kv_drop(struct ds_kv *kv, uint64_t seq);
/* Keep only the first len positions of seq (nothing happens when it has
 * no cache or len is not shorter); the rows beyond are overwritten by the
 * next frame. */
void ds_kv_truncate(struct ds_kv *kv, uint64_t seq, long len);
void ds_kv_release(struct ds_kv *kv);

/* The rows of one step, in order: row r is at position pos[r] of the
 * sequence whose cache is seq[r] (rows of one sequence are consecutive and
 * ascending, and their cache has room for them). */
struct ds_mla_rows {
	long n;
	const long *pos;
	struct ds_kv_seq *const *seq;
	const float *rope;	/* [n][dr]: ds_rope_table() of each row */
};

struct ds_mla_buf {
	long rows;		/* capacity in rows */
	float *qa;		/* [rows][rq] */
	float *q;		/* [rows][H dq] */
	float *kv;		/* [rows][rkv + dr] */
	float *qf;		/* [rows][H][rkv + dr]: absorbed query | rotated q_pe */
	float *ol;		/* [rows][H][rkv] */
	float *o;		/* [rows][H dv] */
	struct ds_matmul_job *uv;	/* [H] */
	long score_cap;		/* floats in each scores[t] */
	float **scores;		/* [nthreads] */
	int nthreads;
};

int ds_mla_buf_reserve(struct ds_mla_buf *b, const struct ds_model *m, int nthreads, long rows,
		       long max_keys, struct ds_error *err);
void ds_mla_buf_release(struct ds_mla_buf *b);

/*
 * One layer's attention for a step: a is the input_layernorm output
 * [n][D]; out receives W_o o [n][D].  Writes the rows' [c | kpe] into
 * layer `cache_layer` of their caches at their positions (the caller
 * commits the lengths after the last layer).
 */
void ds_mla_forward(struct ds_exec *x, const struct ds_model *m, const struct ds_layer *l,
		    long cache_layer, const struct ds_rope *rope, const struct ds_mla_rows *rows,
		    const float *a, float *out, struct ds_mla_buf *b);

#endif
