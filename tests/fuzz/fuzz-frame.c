/*
 * fuzz-frame.c - libFuzzer target: any bytes as a frame header
 * (ds_header_decode) and as a whole stream (ds_read_frame on an fmemopen'd
 * buffer).  Either must accept or refuse with a code and a message; it may
 * never crash, leak, read out of bounds or allocate what the input does
 * not back.  Built by `make fuzz`, run by tests/0130-fuzz.sh.
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_error err = { 0 };
	struct ds_frame f;
	struct ds_reader r;
	FILE *fp;
	int rc;

	ds_frame_init(&f);
	if (size >= DS_FRAME_HEADER_SIZE) {
		rc = ds_header_decode(&f, data, &err);
		if (rc != 0 && (rc != EX_DATAERR || !err.msg[0]))
			__builtin_trap();
		if (rc == 0) {	/* a decoded header encodes back to itself */
			uint8_t again[DS_FRAME_HEADER_SIZE];
			ds_header_encode(&f, again);
			if (memcmp(again, data, DS_FRAME_HEADER_SIZE))
				__builtin_trap();
		}
	}
	if (!size)
		return 0;
	fp = fmemopen((void *)data, size, "rb");
	if (!fp)
		return 0;
	ds_reader_init(&r, fp, "fuzz");
	while ((rc = ds_read_frame(&r, &f, &err)) == 1)
		if (ds_frame_numel(&f) * ds_dtype_size(f.dtype) != f.nbytes)
			__builtin_trap();
	if (rc != 0 && !err.msg[0])
		__builtin_trap();
	fclose(fp);
	ds_frame_release(&f);
	return 0;
}
