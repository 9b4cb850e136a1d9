/*
 * fuzz-bpe.c - libFuzzer target: any bytes, made valid UTF-8 as --lossy
 * does, encoded with DeepSeek-V3's tokenizer ($DS_FUZZ_TOKENIZER, default
 * share/deepseek-v3/tokenizer.json).  Properties: decoding the ids gives
 * the text back (byte-level BPE loses nothing); the chunked stream encoder
 * with tiny chunks gives the same ids as the whole text; with the whole
 * text one literal range, no added token appears and decoding still
 * gives the text back.  Built by `make fuzz`, run by tests/0130-fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ds_tokenizer *tok;

struct sink {
	uint8_t *p;
	size_t n, cap;
};

static int keep(const void *p, size_t n, void *ctx)
{
	struct sink *s = ctx;

	if (s->n + n > s->cap) {
		s->cap = 2 * (s->n + n) + 64;
		s->p = realloc(s->p, s->cap);
	}
	memcpy(s->p + s->n, p, n);
	s->n += n;
	return 0;
}

static void decodes_to(const struct ds_ids *ids, const uint8_t *text, size_t n)
{
	struct ds_tok_decoder d;
	struct sink s = { 0 };

	ds_tok_decoder_init(&d, tok, 0);
	ds_tok_decoder_put(&d, ids->v, ids->n, keep, &s);
	ds_tok_decoder_finish(&d, keep, &s);
	if (s.n != n || (n && memcmp(s.p, text, n)))
		__builtin_trap();
	free(s.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_error err = { 0 };
	struct ds_ids whole = { 0 }, parts = { 0 }, lit = { 0 };
	struct ds_tok_stream st;
	uint8_t *text;
	size_t n, span[1][2];

	if (!tok) {
		const char *path = getenv("DS_FUZZ_TOKENIZER");
		if (ds_tokenizer_load(&tok, path ? path : "share/deepseek-v3/tokenizer.json", &err)) {
			fprintf(stderr, "fuzz-bpe: %s\n", err.msg);
			abort();
		}
	}
	if (size > 4096)
		return 0;
	text = malloc(3 * size + 1);
	n = ds_utf8_repair(data, size, text);
	if (ds_tokenizer_encode(tok, (const char *)text, n, &whole, &err))
		__builtin_trap();
	decodes_to(&whole, text, n);

	ds_tok_stream_init(&st, tok, 0);
	st.chunk = 64;
	if (ds_tok_stream_feed(&st, text, n, &parts, &err) || ds_tok_stream_finish(&st, &parts, &err))
		__builtin_trap();
	ds_tok_stream_release(&st);
	if (parts.n != whole.n || (whole.n && memcmp(parts.v, whole.v, whole.n * sizeof(*whole.v))))
		__builtin_trap();

	span[0][0] = 0;
	span[0][1] = n;
	if (ds_tokenizer_encode_literal(tok, (const char *)text, n, (const size_t (*)[2])span, n ? 1 : 0, &lit, &err))
		__builtin_trap();
	for (size_t i = 0; i < lit.n; i++) {
		size_t l;
		const uint8_t *b = ds_tokenizer_bytes(tok, lit.v[i], &l);
		if (b && l > 1 && ds_tokenizer_added_id(tok, (const char *)b, l) == lit.v[i])
			__builtin_trap();	/* an added token inside the literal range */
	}
	decodes_to(&lit, text, n);
	ds_ids_release(&whole);
	ds_ids_release(&parts);
	ds_ids_release(&lit);
	free(text);
	return 0;
}
