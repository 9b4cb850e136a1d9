/*
 * fuzz-safetensors.c - libFuzzer target: any bytes as a safetensors file
 * (ds_st_parse).  A refusal must carry EX_DATAERR and a message; an
 * acceptance must describe tensors that lie inside the buffer and tile the
 * data section.  Built by `make fuzz`, run by tests/0130-fuzz.sh.
 */
#include <string.h>
#include <sysexits.h>

#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_error err = { 0 };
	struct ds_st_file f;
	uint64_t total = 0;
	int rc = ds_st_parse(&f, data, size, "fuzz", &err);

	if (rc) {
		if (rc != EX_DATAERR && rc != EX_OSERR)
			__builtin_trap();
		if (!err.msg[0])
			__builtin_trap();
		return 0;
	}
	for (int i = 0; i < f.ntensors; i++) {
		const struct ds_tensor_info *t = &f.tensors[i];
		const uint8_t *p = t->data;
		if (p < data || t->offset + t->nbytes > size || p + t->nbytes > data + size)
			__builtin_trap();
		if (t->nbytes) {	/* touch both ends: ASan checks the bounds */
			volatile uint8_t a = p[0], b = p[t->nbytes - 1];
			(void)a;
			(void)b;
		}
		total += t->nbytes;
		(void)strlen(t->name);
	}
	for (int i = 0; i < f.nmeta; i++)
		(void)(strlen(f.meta_keys[i]) + strlen(f.meta_values[i]));
	if (f.ntensors && total > size)
		__builtin_trap();
	ds_st_release(&f);
	return 0;
}
