/*
 * fuzz-config.c - libFuzzer target: any bytes as config.json
 * (ds_config_parse).  A refusal must be EX_CONFIG with a message; an
 * accepted config must hold the invariants the rest of dspipe relies on:
 * positive dimensions within the parser's limits, top-k within the
 * experts, eos ids counted.  Built by `make fuzz`, run by
 * tests/0130-fuzz.sh.
 */
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_error err = { 0 };
	struct ds_config c;
	int rc = ds_config_parse(&c, (const char *)data, size, "fuzz", &err);

	if (rc) {
		if (rc != EX_CONFIG || !err.msg[0])
			__builtin_trap();
		return 0;
	}
	if (c.hidden_size <= 0 || c.num_hidden_layers <= 0 || c.vocab_size <= 0 || c.num_attention_heads <= 0 ||
	    c.n_eos < 0 || c.n_eos > DS_MAX_EOS || c.max_position_embeddings <= 0 ||
	    (c.n_routed_experts > 0 && (c.num_experts_per_tok <= 0 || c.num_experts_per_tok > c.n_routed_experts)))
		__builtin_trap();
	for (long i = 0; i < c.num_hidden_layers; i++)
		(void)ds_config_layer_is_moe(&c, i);
	return 0;
}
