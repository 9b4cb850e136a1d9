/* npy.c - .npy export; see npy.h and numpy's format.rst. */
#include "npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "tensor.h"

static const char *descr(enum ds_dtype dt, int *widen)
{
	*widen = 0;
	switch (dt) {
	case DS_F32: return "'<f4'";
	case DS_F16: return "'<f2'";
	case DS_F64: return "'<f8'";
	case DS_I32: return "'<i4'";
	case DS_I64: return "'<i8'";
	case DS_I16: return "'<i2'";
	case DS_I8: return "'|i1'";
	case DS_U8: return "'|u1'";
	case DS_BOOL: return "'|b1'";
	case DS_IDVAL: return "[('id', '<i4'), ('value', '<f4')]";
	case DS_BF16: case DS_F8_E4M3: *widen = 1; return "'<f4'";
	default: return NULL;
	}
}

int ds_npy_write(FILE *fp, const char *name, const struct ds_frame *f, struct ds_error *err)
{
	char dict[256], shape[128];
	int widen, n = 0, hlen;
	const char *d = descr(f->dtype, &widen);
	uint8_t pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0 };

	if (!d)
		return ds_error_set(err, EX_DATAERR, "dtype %s has no numpy equivalent", ds_dtype_name(f->dtype));
	n = snprintf(shape, sizeof(shape), "(");
	for (int i = 0; i < f->ndim; i++)
		n += snprintf(shape + n, sizeof(shape) - n, "%" PRIu32 ",%s", f->shape[i], i + 1 < f->ndim ? " " : "");
	snprintf(shape + n, sizeof(shape) - n, ")");
	hlen = snprintf(dict, sizeof(dict), "{'descr': %s, 'fortran_order': False, 'shape': %s, }", d, shape);
	/* pad so that 10 + header length is a multiple of 64, ending in '\n' */
	int total = (10 + hlen + 1 + 63) / 64 * 64;
	int pad = total - 10 - hlen - 1;
	pre[8] = (uint8_t)((total - 10) & 0xff);
	pre[9] = (uint8_t)((total - 10) >> 8);
	if (fwrite(pre, 1, 10, fp) != 10 || fwrite(dict, 1, (size_t)hlen, fp) != (size_t)hlen ||
	    fprintf(fp, "%*s\n", pad, "") < 0)
		goto ioerr;
	if (widen) {
		uint64_t numel = ds_frame_numel(f);
		float buf[1024];
		size_t esz = ds_dtype_size(f->dtype);
		for (uint64_t i = 0; i < numel; i += 1024) {
			size_t k = numel - i < 1024 ? (size_t)(numel - i) : 1024;
			ds_to_f32(buf, (const uint8_t *)f->data + i * esz, f->dtype, k);
			if (fwrite(buf, 4, k, fp) != k)
				goto ioerr;
		}
	} else if (f->nbytes && fwrite(f->data, 1, f->nbytes, fp) != f->nbytes) {
		goto ioerr;
	}
	if (fflush(fp))
		goto ioerr;
	return 0;
ioerr:
	return ds_error_set(err, EX_IOERR, "%s: write error: %s", name, strerror(errno));
}
