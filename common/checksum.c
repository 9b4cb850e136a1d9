/* checksum.c - BLAKE2b-256 helpers over libsodium; see checksum.h. */
#include "checksum.h"

#include <errno.h>
#include <string.h>
#include <sysexits.h>

void ds_hash_init(struct ds_hash *h)
{
	crypto_generichash_init(&h->st, NULL, 0, DS_DIGEST_SIZE);
}

void ds_hash_update(struct ds_hash *h, const void *data, size_t n)
{
	/* libsodium takes an unsigned long long length; feed large buffers in
	 * pieces so no size_t/ull corner can bite on any platform */
	const uint8_t *p = data;
	while (n) {
		size_t k = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
		crypto_generichash_update(&h->st, p, k);
		p += k;
		n -= k;
	}
}

void ds_hash_final(struct ds_hash *h, uint8_t out[DS_DIGEST_SIZE])
{
	crypto_generichash_final(&h->st, out, DS_DIGEST_SIZE);
}

void ds_hash_buffer(const void *data, size_t n, uint8_t out[DS_DIGEST_SIZE])
{
	struct ds_hash h;
	ds_hash_init(&h);
	ds_hash_update(&h, data, n);
	ds_hash_final(&h, out);
}

int ds_hash_stream(FILE *fp, const char *name, uint8_t out[DS_DIGEST_SIZE], struct ds_error *err)
{
	static uint8_t buf[1 << 16];
	struct ds_hash h;
	size_t n;

	ds_hash_init(&h);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		ds_hash_update(&h, buf, n);
	if (ferror(fp))
		return ds_error_set(err, EX_IOERR, "%s: read error: %s", name, strerror(errno));
	ds_hash_final(&h, out);
	return 0;
}

void ds_digest_hex(const uint8_t d[DS_DIGEST_SIZE], char out[DS_DIGEST_HEX])
{
	sodium_bin2hex(out, DS_DIGEST_HEX, d, DS_DIGEST_SIZE);
}

int ds_digest_parse(const char *hex, uint8_t out[DS_DIGEST_SIZE])
{
	size_t len;

	if (strlen(hex) != 2 * DS_DIGEST_SIZE)
		return -1;
	for (const char *p = hex; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return -1;
	if (sodium_hex2bin(out, DS_DIGEST_SIZE, hex, 2 * DS_DIGEST_SIZE, NULL, &len, NULL) || len != DS_DIGEST_SIZE)
		return -1;
	return 0;
}
