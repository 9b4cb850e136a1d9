/*
 * safetensors.h - Hugging Face checkpoints, mmap'd and zero-copy.
 *
 * A checkpoint directory holds config.json and either model.safetensors or
 * model.safetensors.index.json naming its shards (shard names are read from
 * the index, never guessed).  Every tensor is a view into a read-only
 * mapping; nothing is converted or copied.
 *
 * Validation is complete before any view is handed out: the header must be
 * a JSON object within the file, valid UTF-8 and JSON as strictly as the
 * reference loader (the Rust safetensors crate) reads it - no raw control
 * characters in strings, no lone surrogate escapes, no 01 or 1.0 where an
 * integer goes, no field twice in an entry - and hold no U+0000 (which the
 * reference keeps but a C string cannot); every entry has a known dtype, a shape of
 * non-negative integers whose byte size matches its offsets, offsets inside
 * the data section, sorted without overlap or holes; names are unique;
 * __metadata__ holds only strings.  An index must name shards inside the
 * directory that exist and hold the tensors it says.  An F8_E4M3 weight must
 * have a "<name>_scale_inv" F32 companion of shape
 * [ceil(rows/128), ceil(cols/128)] (block size from config when known).
 *
 * Index rules: a directory holding model.safetensors is a single-file
 * checkpoint (HF looks for it first).  Otherwise weight_map is the whole
 * truth: shard names must be relative paths without ".." (symbolic links
 * are followed: the HF cache links shards to ../../blobs/), a missing shard
 * is EX_NOINPUT, a mapped tensor absent from its shard EX_DATAERR, and a
 * tensor present in a shard but not mapped to it is ignored (invisible).
 * ck->ntensors counts the visible tensors; ck->sorted holds them by name.
 * Failures return EX_DATAERR (65; EX_NOINPUT 66 for a missing file) with a
 * message naming the file and the problem.  A mapped file that later stops
 * backing its mapping (truncated, unreadable) is caught by mapguard.h: the
 * read that faults ends the process with 74 and a message naming the file
 * and byte.
 */
#ifndef DS_SAFETENSORS_H
#define DS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

/* Headers larger than this are refused as hostile (100 MiB, as HF does). */
#define DS_ST_MAX_HEADER ((uint64_t)100 << 20)

struct ds_tensor_info {
	const char *name;		/* owned by the file */
	enum ds_dtype dtype;
	int ndim;
	int64_t shape[DS_MAX_DIMS];
	const void *data;		/* into the mapping */
	size_t nbytes;
	uint64_t offset;		/* of the payload, from the start of the file */
	int file;			/* index into the checkpoint's files */
};

struct ds_st_file {
	char *path;
	const uint8_t *map;		/* whole file, read-only */
	size_t size;
	int mapped;			/* 1 when map is an mmap to munmap */
	int ntensors;
	struct ds_tensor_info *tensors;	/* in header order */
	const struct ds_tensor_info **sorted;	/* the same by name (unique) */
	int nmeta;
	char **meta_keys, **meta_values;	/* __metadata__, strings only */
	char *strings;			/* backing store for names */
};

/* Map a file and parse its header.  On error nothing is left allocated. */
int ds_st_open(struct ds_st_file *f, const char *path, struct ds_error *err);
/* Parse a safetensors image already in memory (the fuzz target uses this);
 * buf must outlive f; f->mapped is 0. */
int ds_st_parse(struct ds_st_file *f, const uint8_t *buf, size_t size, const char *name,
		struct ds_error *err);
void ds_st_release(struct ds_st_file *f);
/* Whether t->data is aligned for its dtype.  The format does not promise
 * it (HF's writer, and ds-mkmodel's, order tensors so that it holds); read
 * through memcpy or check this before casting. */
int ds_st_aligned(const struct ds_tensor_info *t);

/* model.safetensors.index.json's weight_map, validated (every value a
 * string naming a path inside the directory, at least one entry) but no
 * file opened: names[i] lives in shards[i], in the file's order; files[]
 * are the distinct shards, sorted (pointers into shards[]).  Owns all of
 * it (ds_st_index_release). */
struct ds_st_index {
	size_t n, nfiles;
	char **names, **shards, **files;
};
int ds_st_index_parse(struct ds_st_index *ix, const char *text, size_t len, const char *name,
		      struct ds_error *err);
void ds_st_index_release(struct ds_st_index *ix);

struct ds_checkpoint {
	char *dir;
	int nfiles;
	struct ds_st_file *files;
	size_t ntensors;
	const struct ds_tensor_info **sorted;	/* by name, for lookup */
};

/* Open a checkpoint directory (or a single .safetensors file).  Checks the
 * FP8 scale companions.  Returns 0 or an error code. */
int ds_checkpoint_open(struct ds_checkpoint *ck, const char *path, struct ds_error *err);
/* The same with the FP8 block size of the config (quantization_config.
 * weight_block_size); ds_checkpoint_open uses 128x128. */
int ds_checkpoint_open_block(struct ds_checkpoint *ck, const char *path, long block_rows,
			     long block_cols, struct ds_error *err);
/* NULL when absent. */
const struct ds_tensor_info *ds_checkpoint_find(const struct ds_checkpoint *ck, const char *name);
/* Its index in ck->sorted, or -1 when absent. */
long ds_checkpoint_index(const struct ds_checkpoint *ck, const char *name);
void ds_checkpoint_release(struct ds_checkpoint *ck);

#endif
