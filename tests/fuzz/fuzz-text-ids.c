/*
 * fuzz-text-ids.c - libFuzzer target: any bytes as ds-cat's text input,
 * read both ways: --from-ids (ds_ids_parse_line per line) and --from-text
 * (ds_rows_read over the whole input).  A refusal must be EX_DATAERR with
 * a message; parsed ids must lie in [0, INT32_MAX] and rows must all have
 * the reported width.  Built by `make fuzz`, run by tests/0130-fuzz.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "textio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *save = NULL;
	int32_t *ids = NULL;
	float *vals = NULL;
	size_t icap = 0, vcap = 0;
	long cols = 0, lineno = 0, rows;
	FILE *fp;

	memcpy(text, data, size);
	text[size] = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct ds_error err = { 0 };
		long n = ds_ids_parse_line(line, &ids, &icap, &err);
		if (n < 0 && (err.code != EX_DATAERR || !err.msg[0]))
			__builtin_trap();
		for (long i = 0; i < n; i++)
			if (ids[i] < 0)
				__builtin_trap();
	}
	free(text);
	fp = size ? fmemopen((void *)data, size, "r") : NULL;
	while (fp) {
		struct ds_error err = { 0 };
		rows = ds_rows_read(fp, &vals, &vcap, &cols, &lineno, &err);
		if (rows < 0) {
			if (err.code != EX_DATAERR || !err.msg[0])
				__builtin_trap();
			break;
		}
		if (rows == 0)
			break;
		if (cols <= 0 || (size_t)(rows * cols) > vcap)
			__builtin_trap();
	}
	if (fp)
		fclose(fp);
	free(ids);
	free(vals);
	return 0;
}
