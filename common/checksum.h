/*
 * checksum.h - BLAKE2b-256 digests (libsodium crypto_generichash), the one
 * checksum dspipe uses: for files (as `b2sum -l 256`), tensor payloads and
 * frames.
 */
#ifndef DS_CHECKSUM_H
#define DS_CHECKSUM_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"

#define DS_DIGEST_SIZE 32
#define DS_DIGEST_HEX (2 * DS_DIGEST_SIZE + 1)

struct ds_hash {
	crypto_generichash_state st;
};

void ds_hash_init(struct ds_hash *h);
void ds_hash_update(struct ds_hash *h, const void *data, size_t n);
void ds_hash_final(struct ds_hash *h, uint8_t out[DS_DIGEST_SIZE]);
/* One-shot digest of a buffer. */
void ds_hash_buffer(const void *data, size_t n, uint8_t out[DS_DIGEST_SIZE]);

/* Digest everything readable from fp.  Returns 0 or EX_IOERR. */
int ds_hash_stream(FILE *fp, const char *name, uint8_t out[DS_DIGEST_SIZE], struct ds_error *err);

/* Lower-case hex; out holds DS_DIGEST_HEX bytes. */
void ds_digest_hex(const uint8_t d[DS_DIGEST_SIZE], char out[DS_DIGEST_HEX]);
/* Parse 64 hex digits; returns 0, or -1 on anything else. */
int ds_digest_parse(const char *hex, uint8_t out[DS_DIGEST_SIZE]);

#endif
