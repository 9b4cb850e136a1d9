/*
 * ckdigest.c - tensor and model digests; see ckdigest.h.  Tensors are
 * hashed in parallel, one whole tensor per task, straight from the mapping
 * (reading a cold checkpoint is the cost; the hash itself runs at about
 * 1 GB/s per core).
 */
#include "ckdigest.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

struct job {
	const struct ds_checkpoint *ck;
	uint8_t (*digests)[DS_DIGEST_SIZE];
	atomic_size_t next;
};

static void *worker(void *arg)
{
	struct job *j = arg;

	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		const struct ds_tensor_info *t;

		if (i >= j->ck->ntensors)
			break;
		t = j->ck->sorted[i];
		ds_hash_buffer(t->data, t->nbytes, j->digests[i]);
	}
	return NULL;
}

int ds_ckdigest_tensors(const struct ds_checkpoint *ck, int nthreads, uint8_t (*digests)[DS_DIGEST_SIZE],
			struct ds_error *err)
{
	struct job j = { ck, digests, 0 };
	pthread_t *th;
	int started = 0;

	if (nthreads <= 0)
		nthreads = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nthreads < 1)
		nthreads = 1;
	if ((size_t)nthreads > ck->ntensors)
		nthreads = ck->ntensors ? (int)ck->ntensors : 1;
	th = calloc((size_t)nthreads, sizeof(*th));
	if (!th)
		return ds_error_set(err, EX_OSERR, "out of memory");
	for (; started < nthreads - 1; started++)
		if (pthread_create(&th[started], NULL, worker, &j))
			break;
	worker(&j);	/* this thread works too, and finishes whatever is left */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	return 0;
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
