/*
 * tok-decode.c - ids -> bytes, streaming: a character whose UTF-8 bytes are
 * split across tokens is written once its last byte arrives.  Bytes that
 * can never become valid UTF-8 are written as they are, so the output is
 * always exactly the concatenation of the tokens' bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tok-impl.h"
#include "utf8.h"

void ds_tok_decoder_init(struct ds_tok_decoder *d, const struct ds_tokenizer *tok, int skip_special)
{
	memset(d, 0, sizeof(*d));
	d->tok = tok;
	d->skip_special = skip_special;
}

int ds_tok_decoder_put(struct ds_tok_decoder *d, const int32_t *ids, size_t n,
		       int (*put)(const void *, size_t, void *), void *ctx)
{
	size_t total = d->nhold, len, ready;
	uint8_t *buf;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		if (ds_tokenizer_bytes(d->tok, ids[i], &len))
			total += len;
	buf = ds_xmalloc(total + 1);
	memcpy(buf, d->hold, d->nhold);
	total = d->nhold;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b = ds_tokenizer_bytes(d->tok, ids[i], &len);
		if (!b) {
			d->unknown++;
			continue;
		}
		if (d->skip_special && ds_tokenizer_is_special(d->tok, ids[i]))
			continue;
		memcpy(buf + total, b, len);
		total += len;
	}
	ready = ds_utf8_complete_prefix(buf, total);
	d->nhold = total - ready;
	memcpy(d->hold, buf + ready, d->nhold);
	if (ready)
		rc = put(buf, ready, ctx);
	free(buf);
	return rc;
}

int ds_tok_decoder_finish(struct ds_tok_decoder *d, int (*put)(const void *, size_t, void *), void *ctx)
{
	size_t n = d->nhold;

	d->nhold = 0;
	return n ? put(d->hold, n, ctx) : 0;
}
