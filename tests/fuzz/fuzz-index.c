/*
 * fuzz-index.c - libFuzzer target: any bytes as model.safetensors.index.json
 * (ds_st_index_parse).  A refusal must be EX_DATAERR (EX_OSERR) with a
 * message; an accepted index must name only relative shard paths without
 * "..", and its distinct files must be sorted, unique and each some
 * entry's shard.  Built by `make fuzz`, run by tests/0130-fuzz.sh.
 */
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_error err = { 0 };
	struct ds_st_index ix;
	int rc = ds_st_index_parse(&ix, (const char *)data, size, "fuzz", &err);

	if (rc) {
		if ((rc != EX_DATAERR && rc != EX_OSERR) || !err.msg[0])
			__builtin_trap();
		return 0;
	}
	if (!ix.n || !ix.nfiles || ix.nfiles > ix.n)
		__builtin_trap();
	for (size_t i = 0; i < ix.n; i++) {
		const char *c = ix.shards[i];
		if (*c == '/' || !*c)
			__builtin_trap();
		while (*c) {	/* no component is ".." */
			size_t k = strcspn(c, "/");
			if (k == 2 && c[0] == '.' && c[1] == '.')
				__builtin_trap();
			c += k;
			c += strspn(c, "/");
		}
	}
	for (size_t i = 1; i < ix.nfiles; i++)
		if (strcmp(ix.files[i - 1], ix.files[i]) >= 0)
			__builtin_trap();
	ds_st_index_release(&ix);
	return 0;
}
