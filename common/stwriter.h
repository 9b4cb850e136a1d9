/*
 * stwriter.h - writing safetensors files whose payloads arrive later, in
 * any order, from any thread.
 *
 * Declare every tensor (ds_stw_add), then ds_stw_create() lays the data out
 * and writes the header; payload bytes then go in with ds_stw_pwrite()
 * (pwrite(2): safe from several threads at once) and ds_stw_close()
 * finishes.
 *
 * The file is written under a temporary name, PATH.partial, and renamed to
 * PATH only by a successful ds_stw_close(), so a process killed or failing
 * half-way never leaves a file under PATH that looks complete (what a kill
 * leaves is the .partial file, which no loader opens).  ds_stw_release()
 * of a writer not closed successfully removes its .partial file.  Nothing
 * is fsync'd: the guarantee is against a dying process, not a dying
 * machine.  The data section is ordered by element size,
 * largest first, then by name, as HF's writer does: with the header padded
 * to a multiple of 8 every payload is aligned for its dtype.  The header
 * lists __metadata__ first, then the tensors in data order.
 *
 * The writer owns copies of the names; ds_stw_release() frees everything
 * (and closes the file if still open).  Errors: EX_CANTCREAT (73) when the
 * file cannot be created, EX_IOERR on a failed write, EX_DATAERR for a bad
 * declaration (unknown dtype or bad shape from ds_stw_add; a name declared
 * twice from ds_stw_create, before the file is touched).
 */
#ifndef DS_STWRITER_H
#define DS_STWRITER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tensor.h"

struct ds_stw_tensor {
	char *name;
	enum ds_dtype dtype;
	int ndim;
	int64_t shape[DS_MAX_DIMS];
	uint64_t nbytes;
	uint64_t offset;	/* of the payload from the start of the file, after create */
};

struct ds_stwriter {
	char *path;		/* the final name */
	char *tmp;		/* PATH.partial while it is being written, else NULL */
	int fd;			/* -1 when closed */
	int ntensors, cap;
	struct ds_stw_tensor *t;	/* in declaration order; ids are indexes */
	int nmeta;
	char **meta;		/* key, value, key, value ... */
	uint64_t data_start;	/* 8 + padded header length */
	uint64_t size;		/* of the whole file */
};

void ds_stw_init(struct ds_stwriter *w);
/* Declare a tensor; returns its id (>= 0) or -1 with err set.  Names are
 * checked for uniqueness once, by ds_stw_create. */
int ds_stw_add(struct ds_stwriter *w, const char *name, enum ds_dtype dtype, int ndim,
	       const int64_t *shape, struct ds_error *err);
/* A __metadata__ string pair. */
int ds_stw_meta(struct ds_stwriter *w, const char *key, const char *value, struct ds_error *err);
/* Lay out, create `path`.partial (truncating), write the header. */
int ds_stw_create(struct ds_stwriter *w, const char *path, struct ds_error *err);
/* Write n payload bytes of tensor id at byte `at` within its payload. */
int ds_stw_pwrite(const struct ds_stwriter *w, int id, uint64_t at, const void *buf, size_t n,
		  struct ds_error *err);
/* Size the file, close it and rename it to its final name; returns 0 or
 * EX_IOERR (the .partial file is then removed). */
int ds_stw_close(struct ds_stwriter *w, struct ds_error *err);
/* Free everything; a file not closed successfully is removed. */
void ds_stw_release(struct ds_stwriter *w);
/* The suffix of the temporary names, for whoever cleans up after a kill. */
#define DS_STW_PARTIAL ".partial"

#endif
