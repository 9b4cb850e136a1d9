/*
 * mla.h - Multi-head Latent Attention on the CPU, and its latent KV cache.
 *
 * The cache keeps, per sequence id, per cached layer, per position, one f32
 * row [c | kpe]: the kv_a_layernorm'd latent (kv_lora_rank values) and the
 * rotated rope key (qk_rope_head_dim values) - nothing per head.
 *
 * Attention has two forms (docs/deepseek-v3-model.md section 3.4):
 *  - absorbed, for every row of a chunk shorter than
 *    ds_mla_decompress_min() rows (decode, MTP verification, short
 *    prompts): the query is pulled into latent space per head (qa =
 *    W_UK[h]^T q_nope[h]), scores are sigma * (qa . c_s + q_pe . kpe_s)
 *    over the cached positions s <= t, softmax in f32, ol = sum_s p_s c_s,
 *    o[h] = W_UV[h] ol.  H * (2 rkv + dr) multiply-adds per (query, key)
 *    pair, about 3.4x the plain form for V3's shapes, but no work per
 *    cached position;
 *  - decompressed, for the rows of a chunk of at least that many rows
 *    (prefill): k_nope_s[h] and v_s[h] = W_kvb[h] c_s for every cached
 *    position of the chunk's sequence (one product over the cache per
 *    group of heads), then standard attention with dq-wide keys and
 *    dv-wide values: H * (dq + dv) per pair plus H * (dn + dv) * rkv per
 *    cached position.
 * Both are f32 throughout and agree within rounding (about 1e-6), not in
 * bits.  Which one a row takes depends only on the length of the chunk it
 * came in (never on the other chunks of a step or on how a long chunk is
 * cut into steps), and within a form each row's result depends only on its
 * own query and the cache rows it reads: the same tokens one at a time, or
 * in chunks below the threshold, give the same bits, and so do a long
 * chunk in one step or several.  DS_MLA_DECOMPRESS_DEFAULT is the measured
 * crossover; the environment variable DS_MLA_DECOMPRESS_MIN=N, read when
 * a forward pass is set up, overrides it (0: always absorbed).
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
	const long *chunk_n;	/* [n]: rows of the chunk each row came in (NULL: short) */
};

struct ds_mla_buf {
	long rows;		/* capacity in rows */
	float *qa;		/* [rows][rq] */
	float *q;		/* [rows][H dq] */
	float *kv;		/* [rows][rkv + dr] */
	float *qf;		/* [rows][H][rkv + dr]: absorbed query | rotated q_pe */
	float *ol;		/* [rows][H][rkv] */
	float *o;		/* [rows][H dv] */
	struct ds_matmul_job *uv;	/* [2 H] */
	long wide_min;		/* ds_mla_decompress_min(), set by the owner */
	/* decompressed form, for wide_heads heads at a time and up to
	 * wide_keys cached positions (0 until a long chunk comes) */
	long wide_heads, wide_keys;
	float *dk;		/* [wide_heads][keys][dq]: k_nope | kpe */
	float *dvs;		/* [wide_heads][keys][dv] */
	float *dvt;		/* [wide_heads][dv][keys] */
	long score_cap;		/* floats in each scores[t] */
	float **scores;		/* [nthreads] */
	int nthreads;
};

/* Room for steps of `rows` rows and chunks reaching max_keys cached
 * positions; `wide`: a chunk will take the decompressed form. */
int ds_mla_buf_reserve(struct ds_mla_buf *b, const struct ds_model *m, int nthreads, long rows,
		       long max_keys, int wide, struct ds_error *err);
/* The chunk length from which rows take the decompressed form: want > 0
 * as it is, want < 0 never (LONG_MAX), 0 the environment's
 * DS_MLA_DECOMPRESS_MIN (0 there: never) or DS_MLA_DECOMPRESS_DEFAULT. */
long ds_mla_decompress_min(long want);
/* Measured (ds-bench, 2 threads, alternating DS_MLA_DECOMPRESS_MIN=0 / 1,
 * medians of 3-4 rounds, V2-Lite attention: 16 heads, kv_lora_rank 512,
 * dense layers with a 256-wide MLP so attention dominates; machine loaded):
 * decompressed / absorbed pp t/s 0.84 at 64 rows (one round), 1.06 at 96,
 * 1.16 at 128, 1.32 at 192, 1.10 at 256 from depth 0; 0.55, 1.19, 1.63,
 * 1.68, 1.69 after 512 positions.  The crossover lies between 64 and 96;
 * 128 keeps a margin (ik_llama.cpp measured 128 on V2-Lite too). */
#define DS_MLA_DECOMPRESS_DEFAULT 128
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
/*
 * Only the cache half of ds_mla_forward: the rows' [c | kpe], with the
 * same bits, for rows whose attention output nobody reads (the MTP
 * module's rows before the one that drafts).  Nothing attends.
 */
void ds_mla_cache_rows(struct ds_exec *x, const struct ds_model *m, const struct ds_layer *l, long cache_layer,
		       const struct ds_rope *rope, const struct ds_mla_rows *rows, const float *a, struct ds_mla_buf *b);

#endif
