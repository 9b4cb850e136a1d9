/*
 * fwdio.c - frames in and out of the forward pass (see fwdio.h).
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "fwdio.h"
#include "model.h"

#define SEQ(f) ((unsigned long long)(f)->seq)

/* the header checks of a TOKENS frame */
static int tokens_shape(const struct ds_frame *f, struct ds_error *err)
{
	if (f->kind != DS_KIND_TOKENS || f->dtype != DS_I32 || f->ndim != 1)
		return ds_error_set(err, EX_DATAERR, "TOKENS frame of seq %llu must be i32 with one dimension (is %s, %d dims)",
				    SEQ(f), ds_dtype_short(f->dtype), f->ndim);
	return 0;
}

/* the header checks of a HIDDEN frame of width D */
static int hidden_shape(const struct ds_frame *f, long D, struct ds_error *err)
{
	if (f->kind != DS_KIND_HIDDEN || f->ndim != 2)
		return ds_error_set(err, EX_DATAERR, "HIDDEN frame of seq %llu must have 2 dimensions [T, D] (has %d)",
				    SEQ(f), f->ndim);
	if ((long)f->shape[1] != D)
		return ds_error_set(err, EX_DATAERR, "HIDDEN frame of seq %llu has hidden size %u, the model's is %ld", SEQ(f),
				    f->shape[1], D);
	if (f->dtype != DS_F32 && f->dtype != DS_BF16 && f->dtype != DS_F16)
		return ds_error_set(err, EX_DATAERR, "HIDDEN frame of seq %llu has dtype %s (f32, bf16 or f16 expected)",
				    SEQ(f), ds_dtype_short(f->dtype));
	return 0;
}

int ds_fwdio_tokens(const struct ds_frame *f, const int32_t **ids, long *n, struct ds_error *err)
{
	int rc = tokens_shape(f, err);

	if (rc)
		return rc;
	*ids = f->data;
	*n = (long)f->shape[0];
	return 0;
}

int ds_fwdio_admit(void *limits, const struct ds_frame *f, struct ds_error *err)
{
	const struct ds_fwdio_limits *l = limits;
	uint64_t rows = f->ndim ? f->shape[0] : 1;
	int rc;

	if (f->kind >= 32 || !(l->kinds & (1u << f->kind)))
		return 0;
	if ((rc = f->kind == DS_KIND_TOKENS ? tokens_shape(f, err) : f->kind == DS_KIND_HIDDEN ? hidden_shape(f, l->D, err) : 0))
		return rc;
	if (f->pos > (uint64_t)l->max_pos || rows > (uint64_t)l->max_pos - f->pos)
		return ds_error_set(err, EX_DATAERR,
				    "%s frame of seq %llu: positions %llu..%llu go beyond the model's context (max_position_embeddings %ld)",
				    ds_kind_name(f->kind), SEQ(f), (unsigned long long)f->pos,
				    (unsigned long long)(f->pos + rows - 1), l->max_pos);
	return 0;
}

/* rows per block of ds_fwdio_embed: about 4 MiB of f32 */
#define EMBED_BLOCK_FLOATS ((size_t)1 << 20)

int ds_fwdio_embed(struct ds_writer *w, const struct ds_mat *embed, const struct ds_frame *f, float **scratch,
		   size_t *cap, struct ds_error *err)
{
	struct ds_frame out;
	const int32_t *ids;
	uint32_t dims[2];
	long n, D = embed->cols, block;
	int rc;

	if ((rc = ds_fwdio_tokens(f, &ids, &n, err)) || (rc = ds_embed_check(embed, ids, n, err)))
		return rc;
	block = (long)(EMBED_BLOCK_FLOATS / (size_t)D);
	if (block < 1)
		block = 1;
	if (block > n)
		block = n;
	if ((size_t)(block * D) > *cap) {
		float *p = realloc(*scratch, (size_t)(block * D) * sizeof(float));
		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory for %ld embedding rows", block);
		*scratch = p;
		*cap = (size_t)(block * D);
	}
	ds_frame_init(&out);
	dims[0] = (uint32_t)n;
	dims[1] = (uint32_t)D;
	if (ds_frame_set_shape(&out, DS_KIND_HIDDEN, DS_F32, 2, dims))
		return ds_error_set(err, EX_DATAERR, "TOKENS frame of seq %llu: too many rows for one HIDDEN frame", SEQ(f));
	out.seq = f->seq;
	out.pos = f->pos;
	out.aux = 0;
	out.flags = f->flags;
	if ((rc = ds_write_frame_begin(w, &out, err)))
		return rc;
	for (long r0 = 0; r0 < n; r0 += block) {
		long nr = n - r0 < block ? n - r0 : block;
		if ((rc = ds_embed_rows(embed, ids + r0, nr, *scratch, err)) ||
		    (rc = ds_write_frame_part(w, *scratch, (size_t)(nr * D) * sizeof(float), err)))
			return rc;
	}
	return ds_write_frame_end(w, err);
}

int ds_fwdio_hidden(const struct ds_frame *f, long D, float **buf, size_t *cap, long at, struct ds_error *err)
{
	size_t need;
	long T;
	int rc;

	if ((rc = hidden_shape(f, D, err)))
		return rc;
	T = (long)f->shape[0];
	if (T == 0)
		return 0;
	need = (size_t)(at + T) * (size_t)D;
	if (need > *cap) {
		size_t c = need > 2 * *cap ? need : 2 * *cap;
		float *p = realloc(*buf, c * sizeof(float));

		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory for %ld hidden rows", at + T);
		*buf = p;
		*cap = c;
	}
	if (ds_to_f32(*buf + (size_t)at * (size_t)D, f->data, f->dtype, (size_t)T * (size_t)D))
		return ds_error_set(err, EX_DATAERR, "HIDDEN frame: cannot convert %s", ds_dtype_short(f->dtype));
	return 0;
}

static int put(struct ds_frame *out, enum ds_kind kind, enum ds_dtype dt, long rows, long cols, uint64_t seq,
	       uint64_t pos, uint32_t aux, uint16_t flags)
{
	uint32_t dims[2] = { (uint32_t)rows, (uint32_t)cols };

	if (rows < 0 || cols < 0 || ds_frame_setup(out, kind, dt, 2, dims))
		return EX_DATAERR;
	out->seq = seq;
	out->pos = pos;
	out->aux = aux;
	out->flags = flags;
	return 0;
}

/* an f32 [rows, cols] frame of `kind` holding data */
static int put_f32(struct ds_frame *out, enum ds_kind kind, const float *data, long rows, long cols, uint64_t seq,
		   uint64_t pos, uint32_t aux, uint16_t flags)
{
	if (put(out, kind, DS_F32, rows, cols, seq, pos, aux, flags))
		return EX_DATAERR;
	if (rows > 0 && cols > 0)
		memcpy(out->data, data, (size_t)rows * (size_t)cols * sizeof(float));
	return 0;
}

int ds_fwdio_put_hidden(struct ds_frame *out, const float *h, long T, long D, uint64_t seq, uint64_t pos,
			uint32_t aux, uint16_t flags)
{
	return put_f32(out, DS_KIND_HIDDEN, h, T, D, seq, pos, aux, flags);
}

int ds_fwdio_put_logits(struct ds_frame *out, const float *l, long rows, long V, uint64_t seq, uint64_t pos,
			uint32_t aux, uint16_t flags)
{
	return put_f32(out, DS_KIND_LOGITS, l, rows, V, seq, pos, aux, flags);
}

int ds_fwdio_put_routes(struct ds_frame *out, const int32_t *ids, const float *w, long T, long K, uint64_t seq,
			uint64_t pos, uint32_t aux, uint16_t flags)
{
	uint8_t *p;

	if (put(out, DS_KIND_ROUTES, DS_IDVAL, T, K, seq, pos, aux, flags))
		return EX_DATAERR;
	p = out->data;
	for (long i = 0; i < T * K; i++) {
		memcpy(p + 8 * i, &ids[i], 4);
		memcpy(p + 8 * i + 4, &w[i], 4);
	}
	return 0;
}

/* ---- batches of HIDDEN frames ---- */

void ds_hidden_batch_init(struct ds_hidden_batch *b, long D, long max_rows)
{
	memset(b, 0, sizeof(*b));
	b->D = D;
	b->max_rows = max_rows;
}

int ds_hidden_batch_fits(const struct ds_hidden_batch *b, const struct ds_frame *f)
{
	if (b->n == 0)
		return 1;
	if (b->total + (long)f->shape[0] > b->max_rows)
		return 0;
	for (int i = 0; i < b->n; i++)
		if (b->chunks[i].seq == f->seq)
			return 0;
	return 1;
}

int ds_hidden_batch_add(struct ds_hidden_batch *b, const struct ds_frame *f, struct ds_error *err)
{
	int rc;

	if (b->n == b->cap) {
		int cap = b->cap ? 2 * b->cap : 8;
		struct ds_fwd_chunk *c = realloc(b->chunks, (size_t)cap * sizeof(*c));
		uint16_t *fl = c ? realloc(b->flags, (size_t)cap * sizeof(*fl)) : NULL;

		if (c)
			b->chunks = c;
		if (!c || !fl)
			return ds_error_set(err, EX_OSERR, "out of memory");
		b->flags = fl;
		b->cap = cap;
	}
	if ((rc = ds_fwdio_hidden(f, b->D, &b->rows, &b->rows_cap, b->total, err)))
		return rc;
	if (f->pos > (uint64_t)1 << 62)
		return ds_error_set(err, EX_DATAERR, "HIDDEN frame of seq %llu: position %llu is absurd", SEQ(f),
				    (unsigned long long)f->pos);
	b->chunks[b->n] = (struct ds_fwd_chunk){ f->seq, (long)f->pos, (long)f->shape[0] };
	b->flags[b->n] = f->flags;
	b->n++;
	b->total += (long)f->shape[0];
	return 0;
}

int ds_hidden_batch_hold(struct ds_hidden_batch *b, const struct ds_frame *f, struct ds_error *err)
{
	struct ds_frame *h;

	if (b->nheld == b->heldcap) {
		int cap = b->heldcap ? 2 * b->heldcap : 8;
		struct ds_frame *nf = realloc(b->held, (size_t)cap * sizeof(*nf));
		int *na = nf ? realloc(b->held_at, (size_t)cap * sizeof(*na)) : NULL;
		if (nf)
			b->held = nf;
		if (!nf || !na)
			return ds_error_set(err, EX_OSERR, "out of memory");
		b->held_at = na;
		for (int i = b->heldcap; i < cap; i++)
			ds_frame_init(&b->held[i]);
		b->heldcap = cap;
	}
	h = &b->held[b->nheld];
	if (ds_frame_setup(h, f->kind, f->dtype, f->ndim, f->shape))
		return ds_error_set(err, EX_OSERR, "out of memory");
	if (f->nbytes)
		memcpy(h->data, f->data, f->nbytes);
	h->flags = f->flags;
	h->aux = f->aux;
	h->seq = f->seq;
	h->pos = f->pos;
	b->held_at[b->nheld++] = b->n;
	return 0;
}

void ds_hidden_batch_clear(struct ds_hidden_batch *b)
{
	b->n = 0;
	b->total = 0;
	b->nheld = 0;	/* the copies' buffers are kept for reuse */
}

void ds_hidden_batch_release(struct ds_hidden_batch *b)
{
	for (int i = 0; i < b->heldcap; i++)
		ds_frame_release(&b->held[i]);
	free(b->held);
	free(b->held_at);
	free(b->chunks);
	free(b->flags);
	free(b->rows);
	memset(b, 0, sizeof(*b));
}

/* ---- MTP pairing ---- */

void ds_mtp_join_init(struct ds_mtp_join *j, long D)
{
	memset(j, 0, sizeof(*j));
	j->D = D;
}

static struct ds_mtp_seq *join_find(struct ds_mtp_join *j, uint64_t seq)
{
	for (long i = 0; i < j->nseq; i++)
		if (j->seqs[i]->seq == seq)
			return j->seqs[i];
	return NULL;
}

static struct ds_mtp_seq *join_get(struct ds_mtp_join *j, uint64_t seq)
{
	struct ds_mtp_seq *s = join_find(j, seq);

	if (s)
		return s;
	if (j->nseq == j->capseq) {
		long cap = j->capseq ? 2 * j->capseq : 8;
		struct ds_mtp_seq **p = realloc(j->seqs, (size_t)cap * sizeof(*p));

		if (!p)
			return NULL;
		j->seqs = p;
		j->capseq = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->seq = seq;
	j->seqs[j->nseq++] = s;
	return s;
}

int ds_mtp_join_tokens(struct ds_mtp_join *j, const struct ds_frame *f, struct ds_error *err)
{
	struct ds_mtp_seq *s;
	const int32_t *ids = NULL;
	long n = 0;
	int rc;

	if ((rc = ds_fwdio_tokens(f, &ids, &n, err)))
		return rc;
	if (!(s = join_get(j, f->seq)))
		return ds_error_set(err, EX_OSERR, "out of memory");
	if (f->pos != (uint64_t)s->ntok)
		return ds_error_set(err, EX_DATAERR, "TOKENS frame of seq %llu starts at position %llu, expected %ld",
				    SEQ(f), (unsigned long long)f->pos, s->ntok);
	if (s->ntok + n > s->tokcap) {
		long cap = s->ntok + n > 2 * s->tokcap ? s->ntok + n : 2 * s->tokcap;
		int32_t *p = realloc(s->tok, (size_t)(cap ? cap : 1) * sizeof(*p));

		if (!p)
			return ds_error_set(err, EX_OSERR, "out of memory");
		s->tok = p;
		s->tokcap = cap;
	}
	if (n > 0)
		memcpy(s->tok + s->ntok, ids, (size_t)n * sizeof(*ids));
	s->ntok += n;
	return 0;
}

int ds_mtp_join_hidden(struct ds_mtp_join *j, const struct ds_frame *f, struct ds_error *err)
{
	struct ds_mtp_seq *s;
	size_t cap;
	long T = (long)f->shape[0];
	int rc;

	if (!(s = join_get(j, f->seq)))
		return ds_error_set(err, EX_OSERR, "out of memory");
	if (f->pos != (uint64_t)s->h1)
		return ds_error_set(err, EX_DATAERR, "HIDDEN frame of seq %llu starts at position %llu, expected %ld", SEQ(f),
				    (unsigned long long)f->pos, s->h1);
	cap = (size_t)s->hcap;
	if ((rc = ds_fwdio_hidden(f, j->D, &s->h, &cap, s->h1 - s->h0, err)))
		return rc;
	s->hcap = (long)cap;
	s->h1 += T;
	s->flags = f->flags;
	return 0;
}

long ds_mtp_join_ready(struct ds_mtp_join *j, uint64_t seq, long *pos, const float **h, const int32_t **next,
		       uint16_t *flags)
{
	struct ds_mtp_seq *s = join_find(j, seq);
	long end;

	if (!s)
		return 0;
	end = s->h1 < s->ntok - 1 ? s->h1 : s->ntok - 1;	/* row i needs token i+1 */
	if (end <= s->h0)
		return 0;
	*pos = s->h0;
	*h = s->h;
	*next = s->tok + s->h0 + 1;
	*flags = s->flags;
	return end - s->h0;
}

void ds_mtp_join_consume(struct ds_mtp_join *j, uint64_t seq, long n)
{
	struct ds_mtp_seq *s = join_find(j, seq);

	if (!s || n <= 0)
		return;
	if (s->h1 - s->h0 > n)
		memmove(s->h, s->h + n * j->D, (size_t)((s->h1 - s->h0 - n) * j->D) * sizeof(float));
	s->h0 += n;
}

void ds_mtp_join_drop(struct ds_mtp_join *j, uint64_t seq)
{
	for (long i = 0; i < j->nseq; i++)
		if (j->seqs[i]->seq == seq) {
			free(j->seqs[i]->tok);
			free(j->seqs[i]->h);
			free(j->seqs[i]);
			j->seqs[i] = j->seqs[--j->nseq];
			return;
		}
}

void ds_mtp_join_truncate(struct ds_mtp_join *j, uint64_t seq, long len)
{
	struct ds_mtp_seq *s = join_find(j, seq);

	if (!s || len < 0)
		return;
	if (s->ntok > len)
		s->ntok = len;
	if (s->h0 >= len)	/* every waiting row is beyond: none is left */
		s->h0 = s->h1 = len;
	else if (s->h1 > len)
		s->h1 = len;
}

void ds_mtp_join_release(struct ds_mtp_join *j)
{
	while (j->nseq)
		ds_mtp_join_drop(j, j->seqs[0]->seq);
	free(j->seqs);
	memset(j, 0, sizeof(*j));
}

int ds_input_ready(FILE *fp)
{
	struct pollfd p = { fileno(fp), POLLIN, 0 };

#ifdef __GLIBC__
	if (fp->_IO_read_ptr < fp->_IO_read_end)
		return 1;
#endif
	return poll(&p, 1, 0) > 0;
}

/* ---- the ds-forward stage ---- */

static void stage_routes(void *ctx, long layer, long row0, long n, const int32_t *ids, const float *w)
{
	struct ds_fwd_stage *st = ctx;
	long k = st->m->K, slot = 0;

	for (long li = st->o.first; li < layer; li++)
		slot += ds_model_layer_is_moe(st->m, li);
	memcpy(st->ids + (slot * st->route_rows + row0) * k, ids, (size_t)(n * k) * sizeof(*ids));
	memcpy(st->w + (slot * st->route_rows + row0) * k, w, (size_t)(n * k) * sizeof(*w));
}

void ds_fwd_stage_init(struct ds_fwd_stage *st, struct ds_backend *b, const struct ds_model *m,
		       const struct ds_fwd_stage_opts *o)
{
	memset(st, 0, sizeof(*st));
	st->b = b;
	st->m = m;
	st->o = *o;
	for (long li = o->first; li < o->last; li++)
		st->nmoe += ds_model_layer_is_moe(m, li);
	ds_frame_init(&st->out);
	if (o->emit_routes && st->nmoe) {
		struct ds_fwd_hooks h = { st, NULL, NULL, stage_routes };

		ds_backend_set_hooks(b, &h);
	}
}

static int grow_f(float **p, size_t *cap, size_t n, struct ds_error *err)
{
	float *q;

	if (n <= *cap)
		return 0;
	q = realloc(*p, n * sizeof(float));
	if (!q)
		return ds_error_set(err, EX_OSERR, "out of memory");
	*p = q;
	*cap = n;
	return 0;
}

static int write_out(struct ds_fwd_stage *st, struct ds_writer *w, struct ds_error *err)
{
	return ds_write_frame(w, &st->out, err);
}

/* The held frames that came before result `at` (every remaining one when
 * at == the number of results). */
static int write_held(const struct ds_hidden_batch *b, int at, struct ds_writer *w, struct ds_error *err)
{
	int rc;

	for (int i = 0; i < b->nheld; i++)
		if (b->held_at[i] == at && (rc = ds_write_frame(w, &b->held[i], err)))
			return rc;
	return 0;
}

int ds_fwd_stage_run(struct ds_fwd_stage *st, struct ds_hidden_batch *batch, struct ds_writer *w,
		     struct ds_error *err)
{
	const struct ds_model *m = st->m;
	struct ds_fwd_batch fb = { batch->n, batch->chunks };
	long D = m->D, V = m->V, K = m->K, row0 = 0, nlog = 0;
	int rc;

	if (batch->n == 0) {
		rc = write_held(batch, 0, w, err);
		ds_hidden_batch_clear(batch);
		return rc;
	}
	if (st->o.emit_routes && st->nmoe && batch->total > st->route_rows) {
		free(st->ids);
		free(st->w);
		st->route_rows = batch->total;
		st->ids = malloc((size_t)(st->nmoe * st->route_rows * K) * sizeof(*st->ids));
		st->w = malloc((size_t)(st->nmoe * st->route_rows * K) * sizeof(*st->w));
		if (!st->ids || !st->w)
			return ds_error_set(err, EX_OSERR, "out of memory");
	}
	if ((rc = ds_backend_layers(st->b, &fb, batch->rows, err)))
		return rc;
	if (st->o.head) {
		/* the rows that need logits, gathered */
		for (int i = 0; i < batch->n; i++)
			nlog += st->o.all_positions ? batch->chunks[i].n : (batch->chunks[i].n > 0);
		if ((rc = grow_f(&st->last, &st->last_cap, (size_t)(nlog * D), err)) ||
		    (rc = grow_f(&st->logits, &st->logits_cap, (size_t)nlog * (size_t)V, err)))
			return rc;
		for (int i = 0, at = 0; i < batch->n; row0 += batch->chunks[i].n, i++) {
			long n = batch->chunks[i].n, from = st->o.all_positions ? 0 : n - 1;

			if (n == 0)
				continue;
			memcpy(st->last + at * D, batch->rows + (row0 + from) * D, (size_t)((n - from) * D) * sizeof(float));
			at += (int)(n - from);
		}
		if ((rc = ds_backend_head(st->b, st->last, nlog, st->logits, err)))
			return rc;
	}
	row0 = 0;
	for (int i = 0, at = 0; i < batch->n; row0 += batch->chunks[i].n, i++) {
		const struct ds_fwd_chunk *c = &batch->chunks[i];
		uint16_t fl = batch->flags[i];

		if ((rc = write_held(batch, i, w, err)))
			return rc;

		for (long li = st->o.first, slot = 0; st->o.emit_routes && li < st->o.last; li++) {
			if (!ds_model_layer_is_moe(m, li))
				continue;
			if (ds_fwdio_put_routes(&st->out, st->ids + (slot * st->route_rows + row0) * K,
						st->w + (slot * st->route_rows + row0) * K, c->n, K, c->seq, (uint64_t)c->pos,
						(uint32_t)li, fl) ||
			    (rc = write_out(st, w, err)))
				return rc ? rc : ds_error_set(err, EX_DATAERR, "ROUTES frame too large");
			slot++;
		}
		if (!st->o.head || st->o.emit_hidden) {
			if (ds_fwdio_put_hidden(&st->out, batch->rows + row0 * D, c->n, D, c->seq, (uint64_t)c->pos,
						(uint32_t)st->o.last, fl) ||
			    (rc = write_out(st, w, err)))
				return rc ? rc : ds_error_set(err, EX_DATAERR, "HIDDEN frame too large");
		}
		if (st->o.head) {
			long rows = st->o.all_positions ? c->n : (c->n > 0);
			uint64_t pos = (uint64_t)(st->o.all_positions || c->n == 0 ? c->pos : c->pos + c->n - 1);

			if (ds_fwdio_put_logits(&st->out, st->logits + (size_t)at * (size_t)V, rows, V, c->seq, pos, 0, fl) ||
			    (rc = write_out(st, w, err)))
				return rc ? rc : ds_error_set(err, EX_DATAERR, "LOGITS frame too large");
			at += (int)rows;
		}
	}
	if ((rc = write_held(batch, batch->n, w, err)))
		return rc;
	ds_hidden_batch_clear(batch);
	return 0;
}

int ds_fwd_stage_mtp(struct ds_fwd_stage *st, struct ds_mtp_join *j, uint64_t seq, struct ds_writer *w,
		     struct ds_error *err)
{
	const struct ds_model *m = st->m;
	const float *h;
	const int32_t *next;
	uint16_t fl;
	long pos, n = ds_mtp_join_ready(j, seq, &pos, &h, &next, &fl), V = m->V, rows;
	struct ds_fwd_chunk c = { seq, pos, n };
	struct ds_fwd_batch fb = { 1, &c };
	int rc;

	if (n == 0)
		return 0;
	if ((rc = grow_f(&st->logits, &st->logits_cap, (size_t)n * (size_t)V, err)) ||
	    (rc = ds_backend_mtp(st->b, &fb, h, next, st->logits, err)))
		return rc;
	rows = st->o.all_positions ? n : 1;
	if (ds_fwdio_put_logits(&st->out, st->logits + (size_t)(n - rows) * (size_t)V, rows, V, seq,
				(uint64_t)(pos + n - rows), 1, fl))
		return ds_error_set(err, EX_DATAERR, "LOGITS frame too large");
	if ((rc = write_out(st, w, err)))
		return rc;
	ds_mtp_join_consume(j, seq, n);
	return 0;
}

void ds_fwd_stage_release(struct ds_fwd_stage *st)
{
	free(st->ids);
	free(st->w);
	free(st->logits);
	free(st->last);
	ds_frame_release(&st->out);
}
