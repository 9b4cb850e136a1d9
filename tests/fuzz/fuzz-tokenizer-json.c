/*
 * fuzz-tokenizer-json.c - libFuzzer target: any bytes as tokenizer.json
 * (ds_tokenizer_load_text).  A refusal must be EX_CONFIG with a message; a
 * tokenizer that loads must encode and decode a text without crashing,
 * and its ids must be ids it defines.  Built by `make fuzz`, run by
 * tests/0130-fuzz.sh.
 */
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int drop(const void *p, size_t n, void *ctx)
{
	(void)p;
	(void)n;
	(void)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char text[] = "Hello, world! 123 \xe4\xb8\xad <x>";
	struct ds_error err = { 0 };
	struct ds_tokenizer *tok = NULL;
	struct ds_ids ids = { 0 };
	struct ds_tok_decoder d;
	int rc = ds_tokenizer_load_text(&tok, (const char *)data, size, "fuzz", &err);

	if (rc) {
		if (rc != EX_CONFIG || !err.msg[0])
			__builtin_trap();
		return 0;
	}
	if (ds_tokenizer_encode(tok, text, sizeof(text) - 1, &ids, &err) == 0)
		for (size_t i = 0; i < ids.n; i++)
			if (ids.v[i] < 0 || ids.v[i] >= ds_tokenizer_n_ids(tok))
				__builtin_trap();
	ds_tok_decoder_init(&d, tok, 0);
	ds_tok_decoder_put(&d, ids.v, ids.n, drop, NULL);
	ds_tok_decoder_finish(&d, drop, NULL);
	ds_ids_release(&ids);
	ds_tokenizer_free(tok);
	return 0;
}
