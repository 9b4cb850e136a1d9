/*
 * mkmodel.h - random-weight checkpoints in exactly the Hugging Face layout
 * of the DeepSeek-V3 family, for tests and benchmarks (ds-mkmodel).
 *
 * A plan lists every tensor a config implies (names, shapes, stored dtypes,
 * FP8 "_scale_inv" companions, the MTP layers), in the order HF's
 * state_dict has them, and assigns them to shards.  Values are a pure
 * function of (seed, tensor name, element index) (prng.h), so the bytes do
 * not depend on the machine, the thread count or the shard size.
 *
 * Value recipes (f32 "source" values; stored values are their conversion):
 *   Linear weights [out, in]       normal, sd 1/sqrt(in)
 *   embed_tokens (main and MTP)    normal, sd 1
 *   RMSNorm weights                normal, mean 1, sd 0.05
 *   e_score_correction_bias (F32)  uniform in [0, 0.05)
 * The approximate normal is bounded (prng.h), so FP8 blocks are well scaled.
 *
 * Ownership: a plan owns its tensor array (ds_mk_plan_release frees it).
 */
#ifndef DS_MKMODEL_H
#define DS_MKMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"
#include "tensor.h"

enum ds_mk_init { DS_MK_LINEAR, DS_MK_EMBED, DS_MK_NORM, DS_MK_BIAS, DS_MK_SCALE };

struct ds_mk_tensor {
	char name[112];
	enum ds_dtype dtype;	/* as stored */
	int ndim;		/* 1 or 2 */
	int64_t shape[2];
	enum ds_mk_init init;
	int scale;		/* FP8 weight: index of its _scale_inv; else -1 */
	int weight;		/* _scale_inv: index of its weight; else -1 */
	int shard;		/* 0-based, after ds_mk_plan_shard */
	uint64_t nbytes;
};

struct ds_mk_plan {
	int n, cap;
	struct ds_mk_tensor *t;
	long brows, bcols;	/* FP8 block size */
	int ue8m0;
	int nshards;
	uint64_t total_bytes;	/* sum of payloads (the index's total_size) */
};

/* The tensors of config c with weights stored as dt (DS_F8_E4M3: the
 * Linear weights V3 stores as FP8, the rest bf16; DS_BF16, DS_F16, DS_F32:
 * everything in that type).  e_score_correction_bias is always F32. */
int ds_mk_plan_build(struct ds_mk_plan *p, const struct ds_config *c, enum ds_dtype dt,
		     struct ds_error *err);
/* Assign shards: tensors in plan order, an FP8 weight and its scales kept
 * together, a new shard whenever the next one would pass shard_size bytes. */
void ds_mk_plan_shard(struct ds_mk_plan *p, uint64_t shard_size);
/* Index of a tensor by name, or -1. */
int ds_mk_plan_find(const struct ds_mk_plan *p, const char *name);
void ds_mk_plan_release(struct ds_mk_plan *p);
/* rows, cols of a tensor seen as 2-D (a 1-D tensor is one row) */
int64_t ds_mk_rows(const struct ds_mk_tensor *t);
int64_t ds_mk_cols(const struct ds_mk_tensor *t);

/* The f32 source values of elements [start, start + n) of tensor t (for an
 * FP8 weight: before quantisation).  Not defined for scale tensors. */
void ds_mk_values(const struct ds_mk_tensor *t, uint64_t seed, uint64_t start, size_t n, float *out);

/* The stored bytes of rows [r0, r0 + nr) of tensor t into out, and for an
 * FP8 weight (r0 and nr multiples of brows, or nr reaching the end) its
 * scale rows into scales.  scratch holds min(nr, brows) * cols floats (or
 * 65536 for non-FP8 tensors). */
void ds_mk_generate(const struct ds_mk_plan *p, const struct ds_mk_tensor *t, uint64_t seed,
		    int64_t r0, int64_t nr, float *scratch, void *out, float *scales);

/* Presets: a NULL-terminated list of names and their config.json text. */
extern const char *const ds_mk_preset_names[];
const char *ds_mk_preset_json(const char *name);

struct ds_mkmodel_opts {
	const char *preset;	/* or */
	const char *config;	/* a config.json path */
	const char *outdir;
	enum ds_dtype dtype;	/* DS_DT_INVALID: fp8 if the config is quantised, else bf16 */
	uint64_t seed;
	uint64_t shard_size;
	long layers, vocab, mtp;	/* overrides; -1 keeps the config's */
	const char *tokenizer;	/* tokenizer.json to copy, or NULL */
	int threads;		/* <= 0: every online CPU */
	/* called from the calling thread about 5 times a second while the
	 * weights are generated, and once more with last = 1; may be NULL */
	void (*progress)(uint64_t done, uint64_t total, int last, void *arg);
	void *progress_arg;
};

struct ds_mkmodel_result {
	int ntensors, nshards;
	uint64_t total_bytes;
	double seconds;
};

/* The config.json text the options produce (preset or file, with the
 * overrides applied), malloc'd; EX_CONFIG / EX_NOINPUT on error. */
int ds_mkmodel_config(const struct ds_mkmodel_opts *o, char **json, struct ds_config *c,
		      enum ds_dtype *dtype, struct ds_error *err);
/* Write the whole checkpoint into o->outdir (created when missing; an
 * existing checkpoint's files there are removed first, config.json before
 * the rest).  Every file is written as NAME.partial and renamed when
 * complete, config.json last, so the directory holds a checkpoint that
 * loads only once all of it is there; on failure what this call wrote is
 * removed again.  A killed process leaves .partial files and no
 * config.json; the next call into the directory removes them. */
int ds_mkmodel_write(const struct ds_mkmodel_opts *o, struct ds_mkmodel_result *res,
		     struct ds_error *err);

/* "5G", "512M", "100k", "123": bytes in powers of 1024; -1 on junk. */
int ds_mk_parse_size(const char *s, uint64_t *out);

#endif
