/*
 * stream.c - reading and writing frames; the format is man/ds-stream.5.
 *
 * The reader never trusts a length: the payload size is recomputed from the
 * shape and must equal the header's byte count, and the buffer grows only as
 * bytes actually arrive, so a hostile header cannot make us allocate memory
 * the stream does not back.
 */
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static const char *const kind_names[DS_KIND_COUNT] = {
	[DS_KIND_TOKENS] = "TOKENS",
	[DS_KIND_HIDDEN] = "HIDDEN",
	[DS_KIND_LOGITS] = "LOGITS",
	[DS_KIND_ROUTES] = "ROUTES",
	[DS_KIND_CONTROL] = "CONTROL",
	[DS_KIND_LOGPROBS] = "LOGPROBS",
};

const char *ds_kind_name(enum ds_kind kind)
{
	return (kind > 0 && kind < DS_KIND_COUNT) ? kind_names[kind] : NULL;
}

enum ds_kind ds_kind_parse(const char *s)
{
	for (int i = 1; i < DS_KIND_COUNT; i++)
		if (!strcasecmp(s, kind_names[i]))
			return (enum ds_kind)i;
	return 0;
}

const char *ds_control_name(uint32_t aux)
{
	switch (aux) {
	case DS_CONTROL_END: return "END";
	case DS_CONTROL_RESET: return "RESET";
	case DS_CONTROL_TRUNCATE: return "TRUNCATE";
	default: return "UNKNOWN";
	}
}

void ds_frame_init(struct ds_frame *f)
{
	memset(f, 0, sizeof(*f));
}

void ds_frame_release(struct ds_frame *f)
{
	free(f->data);
	ds_frame_init(f);
}

static int reserve(struct ds_frame *f, size_t n)
{
	void *p;

	if (n <= f->cap)
		return 0;
	p = realloc(f->data, n);
	if (!p)
		return -1;
	f->data = p;
	f->cap = n;
	return 0;
}

static int payload_size(enum ds_dtype dtype, int ndim, const uint32_t *dims, uint64_t *out)
{
	uint64_t n = 1, sz = ds_dtype_size(dtype);

	if (!sz || ndim < 0 || ndim > DS_FRAME_MAX_DIMS)
		return -1;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] && n > DS_FRAME_MAX_PAYLOAD / dims[i])
			return -1;
		n *= dims[i];
	}
	if (n > DS_FRAME_MAX_PAYLOAD / sz)
		return -1;
	*out = n * sz;
	return 0;
}

int ds_frame_setup(struct ds_frame *f, enum ds_kind kind, enum ds_dtype dtype,
		   int ndim, const uint32_t *dims)
{
	uint64_t nbytes;

	if (payload_size(dtype, ndim, dims, &nbytes) || reserve(f, (size_t)nbytes))
		return -1;
	return ds_frame_set_shape(f, kind, dtype, ndim, dims);
}

int ds_frame_set_shape(struct ds_frame *f, enum ds_kind kind, enum ds_dtype dtype,
		       int ndim, const uint32_t *dims)
{
	uint64_t nbytes;

	if (payload_size(dtype, ndim, dims, &nbytes))
		return -1;
	f->kind = kind;
	f->dtype = dtype;
	f->ndim = ndim;
	memset(f->shape, 0, sizeof(f->shape));
	for (int i = 0; i < ndim; i++)
		f->shape[i] = dims[i];
	f->nbytes = (size_t)nbytes;
	return 0;
}

uint64_t ds_frame_numel(const struct ds_frame *f)
{
	uint64_t n = 1;
	for (int i = 0; i < f->ndim; i++)
		n *= f->shape[i];
	return n;
}

uint64_t ds_frame_rows(const struct ds_frame *f)
{
	return f->ndim ? f->shape[0] : 1;
}

uint64_t ds_frame_cols(const struct ds_frame *f)
{
	uint64_t n = 1;
	for (int i = 1; i < f->ndim; i++)
		n *= f->shape[i];
	return n;
}

void ds_frame_control(struct ds_frame *f, enum ds_control what, uint64_t seq)
{
	uint32_t zero = 0;

	ds_frame_setup(f, DS_KIND_CONTROL, DS_I32, 1, &zero);
	f->aux = what;
	f->seq = seq;
	f->pos = 0;
	f->flags = 0;
}

void ds_frame_truncate(struct ds_frame *f, uint64_t seq, uint64_t len)
{
	ds_frame_control(f, DS_CONTROL_TRUNCATE, seq);
	f->pos = len;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

void ds_header_encode(const struct ds_frame *f, uint8_t out[DS_FRAME_HEADER_SIZE])
{
	memset(out, 0, DS_FRAME_HEADER_SIZE);
	memcpy(out, DS_FRAME_MAGIC, 4);
	put16(out + 4, DS_FRAME_VERSION);
	out[6] = (uint8_t)f->kind;
	out[7] = (uint8_t)f->dtype;
	put16(out + 8, f->flags);
	out[10] = (uint8_t)f->ndim;
	put32(out + 12, f->aux);
	for (int i = 0; i < DS_FRAME_MAX_DIMS; i++)
		put32(out + 16 + 4 * i, i < f->ndim ? f->shape[i] : 0);
	put64(out + 32, f->seq);
	put64(out + 40, f->pos);
	put64(out + 48, f->nbytes);
}

int ds_header_decode(struct ds_frame *f, const uint8_t in[DS_FRAME_HEADER_SIZE],
		     struct ds_error *err)
{
	uint32_t dims[DS_FRAME_MAX_DIMS];
	uint64_t nbytes, claimed;
	int ndim = in[10];

	if (memcmp(in, DS_FRAME_MAGIC, 4))
		return ds_error_set(err, EX_DATAERR, "bad magic %02x %02x %02x %02x (not a dspipe frame stream)",
				    in[0], in[1], in[2], in[3]);
	if (get16(in + 4) != DS_FRAME_VERSION)
		return ds_error_set(err, EX_DATAERR, "unsupported frame version %u (this build reads %d)",
				    get16(in + 4), DS_FRAME_VERSION);
	if (in[6] == 0)
		return ds_error_set(err, EX_DATAERR, "frame kind 0 is invalid");
	if (!ds_dtype_size((enum ds_dtype)in[7]))
		return ds_error_set(err, EX_DATAERR, "unknown dtype %u", in[7]);
	if (ndim > DS_FRAME_MAX_DIMS)
		return ds_error_set(err, EX_DATAERR, "ndim %d exceeds %d", ndim, DS_FRAME_MAX_DIMS);
	if (in[11] || get64(in + 56))
		return ds_error_set(err, EX_DATAERR, "reserved header bytes are not zero");
	for (int i = 0; i < DS_FRAME_MAX_DIMS; i++) {
		dims[i] = get32(in + 16 + 4 * i);
		if (i >= ndim && dims[i])
			return ds_error_set(err, EX_DATAERR, "dimension %d is %" PRIu32 " beyond ndim %d",
					    i, dims[i], ndim);
	}
	if (payload_size((enum ds_dtype)in[7], ndim, dims, &nbytes))
		return ds_error_set(err, EX_DATAERR, "shape too large");
	claimed = get64(in + 48);
	if (claimed != nbytes)
		return ds_error_set(err, EX_DATAERR, "payload size %" PRIu64 " does not match shape (%" PRIu64 " bytes)",
				    claimed, nbytes);
	f->kind = (enum ds_kind)in[6];
	f->dtype = (enum ds_dtype)in[7];
	f->flags = get16(in + 8);
	f->ndim = ndim;
	f->aux = get32(in + 12);
	memcpy(f->shape, dims, sizeof(dims));
	f->seq = get64(in + 32);
	f->pos = get64(in + 40);
	f->nbytes = (size_t)nbytes;
	return 0;
}

void ds_reader_init(struct ds_reader *r, FILE *fp, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
	r->name = name;
	r->verify = 1;
}

void ds_writer_init(struct ds_writer *w, FILE *fp, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->fp = fp;
	w->name = name;
	w->digest = 1;
	w->flush = 1;
}

void ds_frame_digest(const uint8_t header[DS_FRAME_HEADER_SIZE], const void *payload,
		     size_t nbytes, uint8_t out[DS_FRAME_DIGEST_SIZE])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, DS_FRAME_DIGEST_SIZE);
	crypto_generichash_update(&st, header, DS_FRAME_HEADER_SIZE);
	if (nbytes)
		crypto_generichash_update(&st, payload, nbytes);
	crypto_generichash_final(&st, out, DS_FRAME_DIGEST_SIZE);
}

/* Read exactly n bytes; returns the count read (short only at EOF/error). */
static size_t read_full(FILE *fp, void *buf, size_t n)
{
	return n ? fread(buf, 1, n, fp) : 0;
}

int ds_read_frame(struct ds_reader *r, struct ds_frame *f, struct ds_error *err)
{
	uint8_t *h = r->raw_header;
	size_t got, want, done;
	uint64_t idx = r->index;

	got = read_full(r->fp, h, DS_FRAME_HEADER_SIZE);
	if (got == 0) {
		if (ferror(r->fp))
			return ds_error_set(err, EX_IOERR, "%s: read error before frame %" PRIu64 ": %s",
					    r->name, idx, strerror(errno));
		return 0;
	}
	if (got < DS_FRAME_HEADER_SIZE && (got < 4 || !memcmp(h, DS_FRAME_MAGIC, 4)))
		return ds_error_set(err, EX_DATAERR, "%s: frame %" PRIu64 ": truncated header (%zu of %d bytes)",
				    r->name, idx, got, DS_FRAME_HEADER_SIZE);
	r->offset += got;
	if (got < DS_FRAME_HEADER_SIZE)	/* short, and not even the magic matches */
		memset(h + got, 0, DS_FRAME_HEADER_SIZE - got);
	if (ds_header_decode(f, h, err))
		return ds_error_prefix(err, "%s: frame %" PRIu64 " at byte %" PRIu64, r->name, idx,
				       r->offset - got);
	if (r->admit) {
		int rc = r->admit(r->admit_ctx, f, err);
		if (rc) {
			err->code = rc;
			return ds_error_prefix(err, "%s: frame %" PRIu64, r->name, idx);
		}
	}
	/* grow as data arrives: at most 64 MiB beyond what was actually read */
	want = f->nbytes;
	done = 0;
	while (done < want) {
		size_t chunk = want - done;
		if (chunk > ((size_t)64 << 20))
			chunk = (size_t)64 << 20;
		if (reserve(f, done + chunk))
			return ds_error_set(err, EX_OSERR, "%s: frame %" PRIu64 ": out of memory for %zu bytes",
					    r->name, idx, want);
		got = read_full(r->fp, (uint8_t *)f->data + done, chunk);
		done += got;
		r->offset += got;
		if (got < chunk) {
			if (ferror(r->fp))
				return ds_error_set(err, EX_IOERR, "%s: frame %" PRIu64 ": read error: %s",
						    r->name, idx, strerror(errno));
			return ds_error_set(err, EX_DATAERR, "%s: frame %" PRIu64 ": truncated payload (%zu of %zu bytes)",
					    r->name, idx, done, want);
		}
	}
	if (f->flags & DS_FLAG_DIGEST) {
		got = read_full(r->fp, f->digest, DS_FRAME_DIGEST_SIZE);
		r->offset += got;
		if (got < DS_FRAME_DIGEST_SIZE)
			return ds_error_set(err, EX_DATAERR, "%s: frame %" PRIu64 ": truncated digest",
					    r->name, idx);
		if (r->verify) {
			uint8_t d[DS_FRAME_DIGEST_SIZE];
			ds_frame_digest(h, f->data, f->nbytes, d);
			if (sodium_memcmp(d, f->digest, sizeof(d)))
				return ds_error_set(err, EX_DATAERR, "%s: frame %" PRIu64 ": digest mismatch (corrupted stream)",
						    r->name, idx);
		}
	}
	r->index++;
	return 1;
}

int ds_write_frame(struct ds_writer *w, const struct ds_frame *f, struct ds_error *err)
{
	uint8_t h[DS_FRAME_HEADER_SIZE];
	struct ds_frame copy = *f;

	copy.flags = (uint16_t)((f->flags & ~DS_FLAG_DIGEST) | (w->digest ? DS_FLAG_DIGEST : 0));
	ds_header_encode(&copy, h);
	if (fwrite(h, 1, sizeof(h), w->fp) != sizeof(h) ||
	    (f->nbytes && fwrite(f->data, 1, f->nbytes, w->fp) != f->nbytes))
		goto ioerr;
	if (w->digest) {
		uint8_t d[DS_FRAME_DIGEST_SIZE];
		ds_frame_digest(h, f->data, f->nbytes, d);
		if (fwrite(d, 1, sizeof(d), w->fp) != sizeof(d))
			goto ioerr;
	}
	if (w->flush && fflush(w->fp))
		goto ioerr;
	w->index++;
	return 0;
ioerr:
	return ds_error_set(err, EX_IOERR, "%s: cannot write frame %" PRIu64 ": %s",
			    w->name, w->index, strerror(errno));
}

_Static_assert(sizeof(crypto_generichash_state) <= sizeof(((struct ds_writer *)0)->part_state),
	       "ds_writer.part_state is too small for crypto_generichash_state");

/* The digest state lives in the writer as bytes (libsodium aligns its
 * struct to 64, which a malloc'd writer would not be): each step works on
 * an aligned copy. */
static void part_hash(struct ds_writer *w, const void *data, size_t n, int init, uint8_t *final)
{
	crypto_generichash_state st;

	if (init) {
		crypto_generichash_init(&st, NULL, 0, DS_FRAME_DIGEST_SIZE);
	} else {
		memcpy(&st, w->part_state, sizeof(st));
	}
	if (n)
		crypto_generichash_update(&st, data, n);
	if (final)
		crypto_generichash_final(&st, final, DS_FRAME_DIGEST_SIZE);
	else
		memcpy(w->part_state, &st, sizeof(st));
}

static int part_ioerr(struct ds_writer *w, struct ds_error *err)
{
	w->in_part = 0;
	return ds_error_set(err, EX_IOERR, "%s: cannot write frame %" PRIu64 ": %s", w->name, w->index,
			    strerror(errno));
}

int ds_write_frame_begin(struct ds_writer *w, const struct ds_frame *f, struct ds_error *err)
{
	struct ds_frame copy = *f;

	if (w->in_part)
		return ds_error_set(err, EX_SOFTWARE, "%s: frame %" PRIu64 " begun inside another", w->name, w->index);
	copy.flags = (uint16_t)((f->flags & ~DS_FLAG_DIGEST) | (w->digest ? DS_FLAG_DIGEST : 0));
	ds_header_encode(&copy, w->part_header);
	if (w->digest)
		part_hash(w, w->part_header, DS_FRAME_HEADER_SIZE, 1, NULL);
	w->in_part = 1;
	w->part_left = f->nbytes;
	if (fwrite(w->part_header, 1, DS_FRAME_HEADER_SIZE, w->fp) != DS_FRAME_HEADER_SIZE)
		return part_ioerr(w, err);
	return 0;
}

int ds_write_frame_part(struct ds_writer *w, const void *data, size_t n, struct ds_error *err)
{
	if (!w->in_part || n > w->part_left)
		return ds_error_set(err, EX_SOFTWARE, "%s: frame %" PRIu64 ": a payload part outside its frame",
				    w->name, w->index);
	if (!n)
		return 0;
	if (w->digest)
		part_hash(w, data, n, 0, NULL);
	w->part_left -= n;
	if (fwrite(data, 1, n, w->fp) != n)
		return part_ioerr(w, err);
	return 0;
}

int ds_write_frame_end(struct ds_writer *w, struct ds_error *err)
{
	if (!w->in_part || w->part_left)
		return ds_error_set(err, EX_SOFTWARE, "%s: frame %" PRIu64 " ended %" PRIu64 " bytes short", w->name,
				    w->index, w->part_left);
	w->in_part = 0;
	if (w->digest) {
		uint8_t d[DS_FRAME_DIGEST_SIZE];
		part_hash(w, NULL, 0, 0, d);
		if (fwrite(d, 1, sizeof(d), w->fp) != sizeof(d))
			return part_ioerr(w, err);
	}
	if (w->flush && fflush(w->fp))
		return part_ioerr(w, err);
	w->index++;
	return 0;
}
