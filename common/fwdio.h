/*
 * fwdio.h - frames in and out of the forward pass: checking TOKENS and
 * HIDDEN frames against a model, building HIDDEN / LOGITS / ROUTES frames,
 * gathering consecutive HIDDEN frames of different sequences into one
 * batch, and pairing the main model's last hidden states with the next
 * tokens for the MTP module.
 *
 * Errors are EX_DATAERR (65) with a message that names the frame's kind,
 * sequence and position but not the stream (the tool adds "stdin: frame
 * N: ").  Every struct here owns its buffers; *_release frees them.
 */
#ifndef DS_FWDIO_H
#define DS_FWDIO_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "mat.h"
#include "error.h"
#include "stream.h"

/* A TOKENS frame: i32, one dimension.  *ids points into the frame. */
int ds_fwdio_tokens(const struct ds_frame *f, const int32_t **ids, long *n, struct ds_error *err);

/*
 * What a stage can refuse from a frame's header alone, before its payload
 * is read (a ds_reader admit hook; ctx is a struct ds_fwdio_limits): for
 * the kinds in `kinds` (1 << DS_KIND_TOKENS, 1 << DS_KIND_HIDDEN), the
 * dtype and dimensions (HIDDEN's width D), and positions pos .. pos+T-1
 * inside the model's context (max_position_embeddings).  So an 8 MB TOKENS
 * frame of 2M positions is refused as it is, not after ds-embed has
 * allocated gigabytes for its rows.  Other kinds pass.
 */
struct ds_fwdio_limits {
	unsigned kinds;
	long D;			/* HIDDEN width */
	long max_pos;		/* positions must stay below this */
};
int ds_fwdio_admit(void *limits, const struct ds_frame *f, struct ds_error *err);

/*
 * Write the HIDDEN frame of a TOKENS frame f (f32 [T, D] of embed's rows,
 * same seq, pos and flags, aux 0) in blocks of rows, so memory stays at one
 * block (*scratch, *cap floats, grown as needed) however long the frame
 * is.  Every id is checked before the header goes out (EX_DATAERR naming
 * the row); write errors are EX_IOERR.
 */
int ds_fwdio_embed(struct ds_writer *w, const struct ds_mat *embed, const struct ds_frame *f, float **scratch,
		   size_t *cap, struct ds_error *err);
/* A HIDDEN frame [T, D] in f32 or bf16 (f16 too), appended as f32 rows to
 * the growing buffer (*buf, *cap floats) at offset `at` rows. */
int ds_fwdio_hidden(const struct ds_frame *f, long D, float **buf, size_t *cap, long at, struct ds_error *err);

/* out = HIDDEN f32 [T, D] of seq/pos with aux and flags. */
int ds_fwdio_put_hidden(struct ds_frame *out, const float *h, long T, long D, uint64_t seq, uint64_t pos,
			uint32_t aux, uint16_t flags);
/* out = LOGITS f32 [rows, V]. */
int ds_fwdio_put_logits(struct ds_frame *out, const float *l, long rows, long V, uint64_t seq, uint64_t pos,
			uint32_t aux, uint16_t flags);
/* out = ROUTES idval [T, K] (expert id, weight). */
int ds_fwdio_put_routes(struct ds_frame *out, const int32_t *ids, const float *w, long T, long K, uint64_t seq,
			uint64_t pos, uint32_t aux, uint16_t flags);

/*
 * Consecutive HIDDEN frames gathered into one batch.  A frame joins when
 * its sequence is not in the batch yet and the rows fit; the caller runs
 * the batch (chunks + rows) and then writes one result per frame, in the
 * order they came.  Frames that only pass through (TOKENS from ds-embed
 * --pass-tokens, unknown kinds) may be held in between: they are written
 * at their place among the results, so holding them keeps the stream's
 * order while letting the HIDDEN frames around them run as one batch.
 */
struct ds_hidden_batch {
	long D, max_rows;
	int n, cap;
	struct ds_fwd_chunk *chunks;
	uint16_t *flags;
	float *rows;		/* [total][D] */
	size_t rows_cap;
	long total;
	struct ds_frame *held;	/* copies, written before result held_at[i] */
	int *held_at;
	int nheld, heldcap;
};

void ds_hidden_batch_init(struct ds_hidden_batch *b, long D, long max_rows);
/* Whether frame f (already checked) may join. */
int ds_hidden_batch_fits(const struct ds_hidden_batch *b, const struct ds_frame *f);
int ds_hidden_batch_add(struct ds_hidden_batch *b, const struct ds_frame *f, struct ds_error *err);
/* Hold a pass-through frame (copied) until the batch's results are written. */
int ds_hidden_batch_hold(struct ds_hidden_batch *b, const struct ds_frame *f, struct ds_error *err);
void ds_hidden_batch_clear(struct ds_hidden_batch *b);
void ds_hidden_batch_release(struct ds_hidden_batch *b);

/*
 * Pairing for the MTP module: per sequence, the tokens seen so far (TOKENS
 * frames in position order from 0) and the hidden rows not yet used (HIDDEN
 * frames continuing each other).  Row i can run once token i+1 is known;
 * ds_mtp_join_ready() hands out the rows that can, as one chunk per
 * sequence.
 */
struct ds_mtp_seq {
	uint64_t seq;
	int32_t *tok;		/* tokens 0 .. ntok-1 */
	long ntok, tokcap;
	float *h;		/* rows h0 .. h1-1 */
	long h0, h1, hcap;
	uint16_t flags;		/* of the last HIDDEN frame */
};

struct ds_mtp_join {
	long D;
	long nseq, capseq;
	struct ds_mtp_seq **seqs;
};

void ds_mtp_join_init(struct ds_mtp_join *j, long D);
int ds_mtp_join_tokens(struct ds_mtp_join *j, const struct ds_frame *f, struct ds_error *err);
int ds_mtp_join_hidden(struct ds_mtp_join *j, const struct ds_frame *f, struct ds_error *err);
/* The rows of seq that can run now: *n rows from position *pos, their
 * hidden rows and next tokens (pointers into j, valid until the next
 * call).  Returns 0 when none. */
long ds_mtp_join_ready(struct ds_mtp_join *j, uint64_t seq, long *pos, const float **h, const int32_t **next,
		       uint16_t *flags);
/* Mark those rows done (drops them from the buffer). */
void ds_mtp_join_consume(struct ds_mtp_join *j, uint64_t seq, long n);
void ds_mtp_join_drop(struct ds_mtp_join *j, uint64_t seq);
/* CONTROL TRUNCATE: keep seq's tokens and waiting hidden rows below
 * position len only (the MTP cache is the backend's to truncate). */
void ds_mtp_join_truncate(struct ds_mtp_join *j, uint64_t seq, long len);
void ds_mtp_join_release(struct ds_mtp_join *j);

/* Whether more input can be read from fp without blocking (buffered in
 * stdio, or waiting in the pipe). */
int ds_input_ready(FILE *fp);

/*
 * What ds-forward does with a batch of HIDDEN frames or the MTP rows of a
 * sequence: run the backend, then write for every frame, in order, its
 * ROUTES frames (one per MoE layer of the slice, aux = layer; with
 * emit_routes), its HIDDEN result (aux = the next layer to run; unless
 * head without emit_hidden) and its LOGITS (with head: the last row, or
 * every row with all_positions).
 */
struct ds_fwd_stage_opts {
	long first, last;	/* the slice */
	int head, all_positions, emit_hidden, emit_routes;
};

struct ds_fwd_stage {
	struct ds_backend *b;
	const struct ds_model *m;
	struct ds_fwd_stage_opts o;
	long nmoe;		/* MoE layers in the slice */
	int32_t *ids;		/* [nmoe][rows][K] */
	float *w;
	long route_rows;
	float *logits, *last;	/* [rows][V], [frames][D] */
	size_t logits_cap, last_cap;
	struct ds_frame out;
};

void ds_fwd_stage_init(struct ds_fwd_stage *st, struct ds_backend *b, const struct ds_model *m,
		       const struct ds_fwd_stage_opts *o);
int ds_fwd_stage_run(struct ds_fwd_stage *st, struct ds_hidden_batch *batch, struct ds_writer *w,
		     struct ds_error *err);
/* Run every ready MTP row of seq and write LOGITS (aux 1). */
int ds_fwd_stage_mtp(struct ds_fwd_stage *st, struct ds_mtp_join *j, uint64_t seq, struct ds_writer *w,
		     struct ds_error *err);
void ds_fwd_stage_release(struct ds_fwd_stage *st);

#endif
