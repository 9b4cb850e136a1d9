/*
 * stream.h - the frame stream every dspipe tool reads and writes.
 *
 * The byte format is specified in man/ds-stream.5; this header is its C face.
 * A frame is a 64-byte little-endian header, a payload of
 * numel(shape) x dtype-size bytes, and, when the DIGEST flag is set, a
 * 32-byte BLAKE2b-256 digest of header and payload.  Frames follow each other
 * with nothing in between.
 *
 * Ownership: struct ds_frame owns its payload buffer and reuses it from frame
 * to frame (ds_frame_release frees it).  Readers and writers borrow a FILE.
 */
#ifndef DS_STREAM_H
#define DS_STREAM_H

#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "tensor.h"

#define DS_FRAME_MAGIC "DSPF"
#define DS_FRAME_VERSION 1
#define DS_FRAME_HEADER_SIZE 64
#define DS_FRAME_DIGEST_SIZE 32
#define DS_FRAME_MAX_DIMS 4
/* A payload larger than this is refused as corrupt (16 GiB). */
#define DS_FRAME_MAX_PAYLOAD ((uint64_t)1 << 34)

enum ds_kind {
	DS_KIND_TOKENS = 1,	/* i32 [T]: token ids, positions pos..pos+T-1 */
	DS_KIND_HIDDEN = 2,	/* f32|bf16 [T, D]: hidden states; aux = layer index reached */
	DS_KIND_LOGITS = 3,	/* f32 [T, V]; aux = 0 main head, k = MTP module k */
	DS_KIND_ROUTES = 4,	/* idval [T, K]: expert id + weight; aux = layer */
	DS_KIND_CONTROL = 5,	/* no payload; aux = enum ds_control */
	DS_KIND_LOGPROBS = 6,	/* idval [T, 1+N]: chosen token, then the top N */
	DS_KIND_COUNT
};

enum ds_control {
	DS_CONTROL_END = 1,	/* sequence `seq` is finished: free its state */
	DS_CONTROL_RESET = 2,	/* forget sequence `seq`; it restarts at pos 0 */
	DS_CONTROL_TRUNCATE = 3,	/* `seq` keeps positions 0..pos-1 only (a rollback) */
};

enum ds_frame_flag {
	DS_FLAG_DIGEST = 1u << 0,	/* a 32-byte digest follows the payload */
	DS_FLAG_FINAL = 1u << 1,	/* last frame of a prompt / request */
};

struct ds_frame {
	enum ds_kind kind;
	enum ds_dtype dtype;
	uint16_t flags;
	int ndim;			/* 0..4 */
	uint32_t aux;
	uint32_t shape[DS_FRAME_MAX_DIMS];
	uint64_t seq;			/* sequence id */
	uint64_t pos;			/* position of the first row */
	void *data;			/* payload, nbytes long; owned */
	size_t nbytes;
	size_t cap;
	uint8_t digest[DS_FRAME_DIGEST_SIZE];	/* valid after a read with DIGEST */
};

void ds_frame_init(struct ds_frame *f);
void ds_frame_release(struct ds_frame *f);
/* Set kind, dtype and shape (ndim values from dims), size the payload and
 * make room for it.  Other fields are left alone.  Returns 0, or -1 when the
 * shape is invalid or too large. */
int ds_frame_setup(struct ds_frame *f, enum ds_kind kind, enum ds_dtype dtype,
		   int ndim, const uint32_t *dims);
/* The same without making room: for a frame whose payload is written in
 * parts (ds_write_frame_begin). */
int ds_frame_set_shape(struct ds_frame *f, enum ds_kind kind, enum ds_dtype dtype,
		       int ndim, const uint32_t *dims);
/* numel(shape), 1 for ndim 0; rows = shape[0] (1 for ndim 0), cols =
 * numel / rows. */
uint64_t ds_frame_numel(const struct ds_frame *f);
uint64_t ds_frame_rows(const struct ds_frame *f);
uint64_t ds_frame_cols(const struct ds_frame *f);
/* A control frame for seq (pos 0). */
void ds_frame_control(struct ds_frame *f, enum ds_control what, uint64_t seq);
/* CONTROL TRUNCATE: seq keeps its first len positions. */
void ds_frame_truncate(struct ds_frame *f, uint64_t seq, uint64_t len);
/* Whether f is a CONTROL TRUNCATE (its pos is the length kept). */
static inline int ds_frame_truncates_seq(const struct ds_frame *f)
{
	return f->kind == DS_KIND_CONTROL && f->aux == DS_CONTROL_TRUNCATE;
}
/* Whether f is a CONTROL END or RESET: its sequence's state is to go. */
static inline int ds_frame_ends_seq(const struct ds_frame *f)
{
	return f->kind == DS_KIND_CONTROL && (f->aux == DS_CONTROL_END || f->aux == DS_CONTROL_RESET);
}

/* "TOKENS", "HIDDEN", ...; NULL for an unknown kind. */
const char *ds_kind_name(enum ds_kind kind);
enum ds_kind ds_kind_parse(const char *s);
const char *ds_control_name(uint32_t aux);

/* Encode / decode the 64-byte header.  Decoding validates everything that
 * can be checked without the payload and fills err (code 65) when it is
 * broken; `where` names the stream for messages. */
void ds_header_encode(const struct ds_frame *f, uint8_t out[DS_FRAME_HEADER_SIZE]);
int ds_header_decode(struct ds_frame *f, const uint8_t in[DS_FRAME_HEADER_SIZE],
		     struct ds_error *err);

struct ds_reader {
	FILE *fp;
	const char *name;	/* for messages: "stdin", a path */
	uint64_t index;		/* frames read so far; the next one is #index */
	uint64_t offset;	/* bytes consumed */
	int verify;		/* check digests (default 1) */
	uint8_t raw_header[DS_FRAME_HEADER_SIZE];	/* as read, for ds-sum */
	/* when set, called with each decoded header (f's payload not read
	 * yet) before anything is allocated for the payload: nonzero refuses
	 * the frame with that code and err's message.  A tool checks here
	 * what it can from the header alone (positions against the model's
	 * context), so a small frame cannot make it allocate what its
	 * header promises. */
	int (*admit)(void *ctx, const struct ds_frame *f, struct ds_error *err);
	void *admit_ctx;
};

struct ds_writer {
	FILE *fp;
	const char *name;
	uint64_t index;
	int digest;		/* add a digest to every frame (default 1) */
	int flush;		/* fflush after every frame (default 1) */
	/* a frame being written in parts (ds_write_frame_begin) */
	uint64_t part_left;
	int in_part;
	uint8_t part_state[384];	/* crypto_generichash_state, opaque here */
	uint8_t part_header[DS_FRAME_HEADER_SIZE];
};

void ds_reader_init(struct ds_reader *r, FILE *fp, const char *name);
void ds_writer_init(struct ds_writer *w, FILE *fp, const char *name);

/*
 * Read the next frame into f.  Returns 1 for a frame, 0 at a clean end of
 * stream (EOF exactly between frames), or an error code with err filled:
 * EX_DATAERR for a malformed, truncated or digest-failing frame (the message
 * names the frame number and stream), EX_IOERR for a read error.
 */
int ds_read_frame(struct ds_reader *r, struct ds_frame *f, struct ds_error *err);

/* Write f (header, payload, digest when w->digest) and flush.  Returns 0 or
 * EX_IOERR.  The DIGEST flag of f is ignored; the writer sets it. */
int ds_write_frame(struct ds_writer *w, const struct ds_frame *f, struct ds_error *err);

/* The same frame in parts, so a large payload never has to be in memory
 * at once: begin writes the header of f (its shape and nbytes; f->data is
 * not read), part appends payload bytes, end writes the digest and
 * flushes.  The parts must add up to f->nbytes exactly (EX_SOFTWARE
 * otherwise); I/O errors are EX_IOERR.  No other frame may be written in
 * between. */
int ds_write_frame_begin(struct ds_writer *w, const struct ds_frame *f, struct ds_error *err);
int ds_write_frame_part(struct ds_writer *w, const void *data, size_t n, struct ds_error *err);
int ds_write_frame_end(struct ds_writer *w, struct ds_error *err);

/* The digest of header (with `flags` as given) and payload. */
void ds_frame_digest(const uint8_t header[DS_FRAME_HEADER_SIZE], const void *payload,
		     size_t nbytes, uint8_t out[DS_FRAME_DIGEST_SIZE]);

#endif
