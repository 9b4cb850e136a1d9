/*
 * rng.c - counter-based draws from the ChaCha20 stream of
 * randombytes_buf_deterministic(); see rng.h.  One ChaCha20 block (64 bytes,
 * eight draws) is computed per call and the wanted eight bytes kept: a few
 * hundred nanoseconds, nothing next to a forward pass.
 */
#include "rng.h"

#include <sodium.h>
#include <string.h>

#include "cli.h"

/* randombytes_buf_deterministic()'s nonce (libsodium randombytes.c). */
static const unsigned char drg_nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {
	'L', 'i', 'b', 's', 'o', 'd', 'i', 'u', 'm', 'D', 'R', 'G'
};

static void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

uint64_t ds_rng_u64(uint64_t seed, uint64_t stream, uint64_t index)
{
	unsigned char key[crypto_stream_chacha20_ietf_KEYBYTES] = { 0 };
	unsigned char zero[64] = { 0 }, block[64];
	const unsigned char *p;
	uint64_t v = 0;

	if (index >= DS_RNG_INDEX_LIMIT)
		ds_bug("random draw index %llu beyond the stream", (unsigned long long)index);
	put_le64(key, seed);
	put_le64(key + 8, stream);
	crypto_stream_chacha20_ietf_xor_ic(block, zero, sizeof(block), drg_nonce,
					   (uint32_t)(index / 8), key);
	p = block + 8 * (index % 8);
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

double ds_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
	return (double)(ds_rng_u64(seed, stream, index) >> 11) * 0x1p-53;
}
