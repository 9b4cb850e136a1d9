/*
 * rng.h - the deterministic random stream behind `ds-sample --seed`.
 *
 * A draw is a pure function of (seed, stream, index): no state is kept, so
 * the same triple gives the same number on every machine, in every thread,
 * whatever else was drawn before.  The bytes are libsodium's
 * randombytes_buf_deterministic() stream (ChaCha20, IETF variant, nonce
 * "LibsodiumDRG") under the 32-byte key
 *
 *     key[0..7]   = seed,   little-endian
 *     key[8..15]  = stream, little-endian
 *     key[16..31] = 0
 *
 * so for stream 0 the key is simply the seed zero-padded to 32 bytes.  Draw
 * number `index` is the little-endian u64 at byte offset 8 * index of that
 * stream; ds_rng_uniform() keeps its top 53 bits: (u64 >> 11) * 2^-53, a
 * double in [0, 1).  ChaCha20's 32-bit block counter bounds index below
 * DS_RNG_INDEX_LIMIT (2^35).
 *
 * ds-sample uses stream = sequence id and index = position of the token
 * being drawn (man/ds-sample.1).
 */
#ifndef DS_RNG_H
#define DS_RNG_H

#include <stdint.h>

#define DS_RNG_INDEX_LIMIT ((uint64_t)1 << 35)

/* Draw `index` of (seed, stream) as a u64; index must be below
 * DS_RNG_INDEX_LIMIT (a larger one is a caller bug: ds_bug). */
uint64_t ds_rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
/* The same draw as a double in [0, 1) with 53 random bits. */
double ds_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);

#endif
