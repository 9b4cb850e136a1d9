/* textio.c - text views of frames and ids; see textio.h. */
#include "textio.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "tensor.h"

void ds_frame_describe(FILE *fp, uint64_t index, const struct ds_frame *f)
{
	const char *kind = ds_kind_name(f->kind);

	fprintf(fp, "frame %" PRIu64 ": ", index);
	if (kind)
		fputs(kind, fp);
	else
		fprintf(fp, "KIND%d", (int)f->kind);
	if (f->kind == DS_KIND_CONTROL) {
		fprintf(fp, " %s seq %" PRIu64, ds_control_name(f->aux), f->seq);
		if (f->aux == DS_CONTROL_TRUNCATE)
			fprintf(fp, " pos %" PRIu64, f->pos);
		return;
	}
	fprintf(fp, " %s [", ds_dtype_short(f->dtype));
	for (int i = 0; i < f->ndim; i++)
		fprintf(fp, "%s%" PRIu32, i ? ", " : "", f->shape[i]);
	fprintf(fp, "] seq %" PRIu64 " pos %" PRIu64, f->seq, f->pos);
	if (f->aux)
		fprintf(fp, " aux %" PRIu32, f->aux);
	if (f->flags & DS_FLAG_FINAL)
		fputs(" final", fp);
	if (f->flags & DS_FLAG_DIGEST)
		fputs(" digest", fp);
}

static void print_value(FILE *fp, const struct ds_frame *f, uint64_t i)
{
	const uint8_t *p = (const uint8_t *)f->data + i * ds_dtype_size(f->dtype);
	float v;

	switch (f->dtype) {
	case DS_I32: { int32_t x; memcpy(&x, p, 4); fprintf(fp, "%" PRId32, x); return; }
	case DS_I64: { int64_t x; memcpy(&x, p, 8); fprintf(fp, "%" PRId64, x); return; }
	case DS_I16: { int16_t x; memcpy(&x, p, 2); fprintf(fp, "%d", x); return; }
	case DS_I8: fprintf(fp, "%d", (int8_t)p[0]); return;
	case DS_U8: case DS_BOOL: fprintf(fp, "%u", p[0]); return;
	case DS_F64: { double x; memcpy(&x, p, 8); fprintf(fp, "%.17g", x); return; }
	case DS_IDVAL: {
		int32_t id; float w;
		memcpy(&id, p, 4);
		memcpy(&w, p + 4, 4);
		fprintf(fp, "%" PRId32 ":%.9g", id, w);
		return;
	}
	default:
		ds_to_f32(&v, p, f->dtype, 1);
		fprintf(fp, "%.9g", v);
	}
}

void ds_frame_print_text(FILE *fp, uint64_t index, const struct ds_frame *f, long max_cols)
{
	uint64_t rows = ds_frame_rows(f), cols = ds_frame_cols(f);

	ds_frame_describe(fp, index, f);
	fputc('\n', fp);
	if (f->kind == DS_KIND_CONTROL || ds_frame_numel(f) == 0)
		return;
	if (f->ndim == 1) {	/* a vector prints on one line */
		cols = rows;
		rows = 1;
	}
	for (uint64_t r = 0; r < rows; r++) {
		uint64_t shown = (max_cols > 0 && cols > (uint64_t)max_cols) ? (uint64_t)max_cols : cols;
		for (uint64_t c = 0; c < shown; c++) {
			if (c)
				fputc(' ', fp);
			print_value(fp, f, r * cols + c);
		}
		if (shown < cols)
			fprintf(fp, " ... (%" PRIu64 " more)", cols - shown);
		fputc('\n', fp);
	}
}

long ds_ids_parse_line(const char *line, int32_t **ids, size_t *cap, struct ds_error *err)
{
	const char *p = line;
	long n = 0;

	for (;;) {
		char *end;
		long long v;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			return n;
		if (!isdigit((unsigned char)*p))
			return ds_error_set(err, EX_DATAERR, "column %ld: expected a token id, found '%.10s'",
					    (long)(p - line) + 1, p), -1;
		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno || v > INT32_MAX)
			return ds_error_set(err, EX_DATAERR, "column %ld: token id '%.20s' is out of range",
					    (long)(p - line) + 1, p), -1;
		if (*end && !strchr(" \t,\r\n", *end))
			return ds_error_set(err, EX_DATAERR, "column %ld: junk after a token id: '%.10s'",
					    (long)(end - line) + 1, end), -1;
		if ((size_t)n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			*ids = ds_xrealloc(*ids, *cap * sizeof(**ids));
		}
		(*ids)[n++] = (int32_t)v;
		p = end;
	}
}

long ds_floats_parse_line(const char *line, float **vals, size_t *cap, struct ds_error *err)
{
	const char *p = line;
	long n = 0;

	for (;;) {
		char *end;
		float v;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			return n;
		errno = 0;
		v = strtof(p, &end);
		if (end == p || (*end && !strchr(" \t,\r\n", *end)))
			return ds_error_set(err, EX_DATAERR, "column %ld: expected a number, found '%.*s'",
					    (long)(p - line) + 1, (int)strcspn(p, " \t,\r\n") % 21, p), -1;
		if (errno == ERANGE && isinf(v))
			return ds_error_set(err, EX_DATAERR, "column %ld: '%.20s' is out of the f32 range",
					    (long)(p - line) + 1, p), -1;
		if ((size_t)n == *cap) {
			*cap = *cap ? 2 * *cap : 64;
			*vals = ds_xrealloc(*vals, *cap * sizeof(**vals));
		}
		(*vals)[n++] = v;
		p = end;
	}
}

long ds_rows_read(FILE *in, float **vals, size_t *cap, long *cols, long *lineno,
		  struct ds_error *err)
{
	char *line = NULL;
	float *row = NULL;
	size_t linecap = 0, rowcap = 0, n = 0;
	long rows = 0, got;

	while (getline(&line, &linecap, in) > 0) {
		++*lineno;
		got = ds_floats_parse_line(line, &row, &rowcap, err);
		if (got < 0 || (got && rows && got != *cols) || got > UINT32_MAX) {
			if (got >= 0)
				ds_error_set(err, EX_DATAERR, "%ld values in a row, the rows above have %ld",
					     got, *cols);
			rows = -1;
			break;
		}
		if (!got) {
			if (rows)
				break;
			continue;
		}
		if (n + (size_t)got > *cap) {
			*cap = 2 * (n + (size_t)got);
			*vals = ds_xrealloc(*vals, *cap * sizeof(**vals));
		}
		memcpy(*vals + n, row, (size_t)got * sizeof(*row));
		n += (size_t)got;
		*cols = got;
		if (++rows == UINT32_MAX) {
			ds_error_set(err, EX_DATAERR, "too many rows in one frame");
			rows = -1;
			break;
		}
	}
	free(line);
	free(row);
	return rows;
}

void ds_ids_print(FILE *fp, const int32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(fp, i ? " %" PRId32 : "%" PRId32, ids[i]);
	fputc('\n', fp);
}
