/*
 * ckdigest.c - tensor and model digests; see ckdigest.h.  Tensors are
 * hashed in parallel (threadpool.h), one whole tensor per item, straight
 * from the mapping (reading a cold checkpoint is the cost; the hash itself
 * runs at about 1 GB/s per core).
 */
#include "ckdigest.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "threadpool.h"

struct job {
	const struct ds_checkpoint *ck;
	uint8_t (*digests)[DS_DIGEST_SIZE];
};

static void hash_one(void *ctx, long i, int thread)
{
	const struct job *j = ctx;
	const struct ds_tensor_info *t = j->ck->sorted[i];

	(void)thread;
	ds_hash_buffer(t->data, t->nbytes, j->digests[i]);
}

void ds_ckdigest_tensors(const struct ds_checkpoint *ck, int nthreads, uint8_t (*digests)[DS_DIGEST_SIZE])
{
	struct job j = { ck, digests };
	struct ds_pool *pool;

	if (nthreads <= 0)
		nthreads = ds_cpu_count();
	if ((size_t)nthreads > ck->ntensors)
		nthreads = ck->ntensors ? (int)ck->ntensors : 1;
	pool = ds_pool_new(nthreads);	/* NULL (no thread to be had): ds_pool_run works alone */
	ds_pool_run(pool, (long)ck->ntensors, hash_one, &j);
	ds_pool_free(pool);
}

static void fold(struct ds_hash *h, const char *name, enum ds_dtype dtype, int ndim,
		      const int64_t *shape, const uint8_t digest[DS_DIGEST_SIZE])
{
	char dims[DS_MAX_DIMS * 21 + 1];
	size_t n = 0;

	dims[0] = 0;
	for (int d = 0; d < ndim && d < DS_MAX_DIMS; d++)
		n += (size_t)snprintf(dims + n, sizeof(dims) - n, "%s%" PRId64, d ? "x" : "", shape[d]);
	ds_hash_update(h, name, strlen(name) + 1);
	ds_hash_update(h, ds_dtype_name(dtype), strlen(ds_dtype_name(dtype)) + 1);
	ds_hash_update(h, dims, n + 1);
	ds_hash_update(h, digest, DS_DIGEST_SIZE);
}

void ds_ckdigest_model(const struct ds_checkpoint *ck, const uint8_t (*digests)[DS_DIGEST_SIZE],
		       uint8_t out[DS_DIGEST_SIZE])
{
	struct ds_hash h;

	ds_hash_init(&h);
	for (size_t i = 0; i < ck->ntensors; i++) {
		const struct ds_tensor_info *t = ck->sorted[i];
		fold(&h, t->name, t->dtype, t->ndim, t->shape, digests[i]);
	}
	ds_hash_final(&h, out);
}
