/*
 * ckdigest.h - BLAKE2b-256 digests of a checkpoint's tensors (ds-sum
 * --tensors): one per tensor payload, and one for the whole model that
 * depends only on names, dtypes, shapes and payloads, never on how the
 * tensors are spread over shards or on header metadata.
 *
 * Model digest: BLAKE2b-256 over, for every tensor in strcmp order of its
 * name: the name, a NUL, the dtype's safetensors spelling, a NUL, the shape
 * as decimal dimensions joined by 'x' (empty for a scalar), a NUL, and the
 * 32 bytes of its payload digest.
 */
#ifndef DS_CKDIGEST_H
#define DS_CKDIGEST_H

#include <stdint.h>

#include "checksum.h"
#include "safetensors.h"

/* digests[i] for ck->sorted[i], computed by nthreads threads (<= 0: one
 * per CPU; fewer when no more can be started). */
void ds_ckdigest_tensors(const struct ds_checkpoint *ck, int nthreads, uint8_t (*digests)[DS_DIGEST_SIZE]);
/* The model digest from the per-tensor digests (ordered as ck->sorted). */
void ds_ckdigest_model(const struct ds_checkpoint *ck, const uint8_t (*digests)[DS_DIGEST_SIZE],
		       uint8_t out[DS_DIGEST_SIZE]);

#endif
