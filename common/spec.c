/*
 * spec.c - speculative decoding with the MTP module (see spec.h): the
 * drafter, the ring's drafting stage and the one-process engine.  What a
 * token is, is always decided by sample.c; this file only arranges which
 * rows are computed and when caches are cut back.
 */
#include "spec.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "clock.h"

#define SEQ(s) ((unsigned long long)(s))

int ds_spec_tokens_check(const struct ds_frame *f, struct ds_error *err)
{
	const int32_t *ids;
	long T, k = (long)ds_frame_drafts(f);
	int rc;

	if ((rc = ds_fwdio_tokens(f, &ids, &T, err)))
		return rc;
	if (k > DS_SPEC_MAX_DRAFTS || (k && k >= T))
		return ds_error_set(err, EX_DATAERR,
				    "TOKENS frame of seq %llu: %ld drafts in %ld tokens (at most %d, and fewer than the tokens)",
				    SEQ(f->seq), k, T, DS_SPEC_MAX_DRAFTS);
	return 0;
}

/* ---- the adaptive policy ---- */

#define ADAPT_WEIGHT 0.25	/* of a new pass in the moving averages */

const char *const ds_spec_policies[] = { "fixed", "adaptive", NULL };

void ds_spec_adapt_init(struct ds_spec_adapt *a, long kmax)
{
	memset(a, 0, sizeof(*a));
	if (kmax < 0 || kmax > DS_SPEC_MAX_DRAFTS)
		ds_bug("adaptive drafting up to %ld drafts", kmax);
	a->kmax = kmax;
	a->period = DS_SPEC_PROBE;
	a->next_probe = DS_SPEC_PROBE - 1;
}

/* whether some count has not been played DS_SPEC_WARM times yet */
static int warming(const struct ds_spec_adapt *a)
{
	for (long k = 0; k <= a->kmax; k++)
		if (a->seen[k] < DS_SPEC_WARM)
			return 1;
	return 0;
}

/* the count with the fewest seconds per token:
 * secs[k] / toks[k] < secs[best] / toks[best] */
static long cheapest(const struct ds_spec_adapt *a)
{
	long best = 0;

	for (long k = 1; k <= a->kmax; k++)
		if (a->secs[k] * a->toks[best] < a->secs[best] * a->toks[k])
			best = k;
	return best;
}

long ds_spec_adapt_choose(const struct ds_spec_adapt *a)
{
	long best, lo, hi;

	for (long k = a->kmax; k >= 0; k--)
		if (a->seen[k] < DS_SPEC_WARM)
			return k;
	best = cheapest(a);
	if (a->passes < a->next_probe)
		return best;
	lo = best - 1;
	hi = best + 1;
	if (lo < 0)
		return hi <= a->kmax ? hi : best;
	if (hi > a->kmax)
		return lo;
	return a->when[lo] <= a->when[hi] ? lo : hi;
}

void ds_spec_adapt_observe(struct ds_spec_adapt *a, long k, double seconds, long settled)
{
	int warm = warming(a);
	long before = warm ? -1 : cheapest(a), after;
	double w;

	if (k < 0 || k > a->kmax)
		ds_bug("a pass with %ld drafts under a policy of at most %ld", k, a->kmax);
	w = a->seen[k] ? ADAPT_WEIGHT : 1;
	a->secs[k] += w * (seconds - a->secs[k]);
	a->toks[k] += w * ((double)settled - a->toks[k]);
	a->seen[k]++;
	a->when[k] = ++a->passes;
	if (warm)
		return;
	after = cheapest(a);
	if (after != before) {	/* a change: look around again soon */
		a->period = DS_SPEC_PROBE;
		if (a->next_probe > a->passes + DS_SPEC_PROBE - 1)
			a->next_probe = a->passes + DS_SPEC_PROBE - 1;
	} else if (k != before) {	/* a probe that changed nothing */
		a->period = a->period * 2 < DS_SPEC_PROBE_MAX ? a->period * 2 : DS_SPEC_PROBE_MAX;
		a->next_probe = a->passes + a->period - 1;
	}
}

/* ---- the drafter ---- */

void ds_spec_drafter_init(struct ds_spec_drafter *d, struct ds_backend *b, const struct ds_model *m,
			  const struct ds_sample_params *p, long k)
{
	struct ds_sample_params dp = *p;

	memset(d, 0, sizeof(*d));
	if (k < 0 || k > DS_SPEC_MAX_DRAFTS)
		ds_bug("%ld drafts per step", k);
	dp.logprobs = -1;	/* drafts report nothing */
	d->b = b;
	d->m = m;
	d->k = k;
	d->vocab = m->V;
	d->s = ds_sampler_new(&dp);
	d->logits = ds_xmalloc((size_t)m->V * sizeof(float));
}

long ds_spec_draft_vocab(const struct ds_model *m, long vocab)
{
	return vocab > 0 && vocab < m->V ? vocab : m->V;
}

void ds_spec_set_draft_vocab(struct ds_spec_drafter *d, long vocab)
{
	d->vocab = ds_spec_draft_vocab(d->m, vocab);
}

void ds_spec_set_adaptive(struct ds_spec_drafter *d, int on)
{
	d->adaptive = on && d->k > 0;
	ds_spec_adapt_init(&d->adapt, d->k);
}

void ds_spec_drafter_observe(struct ds_spec_drafter *d, double seconds, long settled)
{
	if (d->adaptive)
		ds_spec_adapt_observe(&d->adapt, d->made, seconds + d->draft_s, settled);
}

void ds_spec_drafter_release(struct ds_spec_drafter *d)
{
	ds_sampler_free(d->s);
	free(d->out);
	free(d->logits);
	memset(d, 0, sizeof(*d));
}

int ds_spec_drafter_settle(struct ds_spec_drafter *d, uint64_t seq, uint64_t pos, const int32_t *ids, long n,
			   struct ds_error *err)
{
	return ds_sampler_record(d->s, seq, pos, ids, (size_t)n, err);
}

void ds_spec_drafter_forget(struct ds_spec_drafter *d, uint64_t seq)
{
	ds_sampler_forget(d->s, seq);
}

int ds_spec_draft(struct ds_spec_drafter *d, uint64_t seq, long pos, long n, const float *h, const int32_t *next,
		  int32_t *drafts, struct ds_error *err)
{
	long D = d->m->D, end = pos + n;
	struct ds_fwd_chunk c = { seq, pos, n };
	struct ds_fwd_batch fb = { 1, &c };
	struct ds_sample_result res;
	float *last, *spare;
	long k = d->adaptive ? ds_spec_adapt_choose(&d->adapt) : d->k;
	double t0 = ds_seconds();
	int rc = 0;

	d->made = 0;
	d->draft_s = 0;
	if (d->k == 0)
		return 0;
	if (n < 1)
		return ds_error_set(err, EX_SOFTWARE, "nothing to draft from");
	if (2 * (size_t)D > d->out_cap) {
		d->out_cap = 2 * (size_t)D;
		d->out = ds_xrealloc(d->out, d->out_cap * sizeof(float));
	}
	if (k == 0) {	/* no drafts this step: every row only extends the MTP cache */
		rc = ds_backend_mtp_cache(d->b, &fb, h, next, err);
		d->draft_s = ds_seconds() - t0;
		return rc;
	}
	/* rows before the last only extend the MTP cache: the last one drafts */
	if (n > 1) {
		c.n = n - 1;
		if ((rc = ds_backend_mtp_cache(d->b, &fb, h, next, err)))
			return rc;
		c = (struct ds_fwd_chunk){ seq, pos + n - 1, 1 };
	}
	if ((rc = ds_backend_mtp_layer(d->b, &fb, h + (n - 1) * D, next + n - 1, d->out, err)))
		return rc;
	last = d->out;
	spare = d->out + D;
	for (long j = 0; j < k; j++) {
		if ((rc = ds_backend_mtp_head(d->b, last, 1, d->vocab, d->logits, err)) ||
		    (rc = ds_sampler_draw(d->s, seq, (uint64_t)(end + 1 + j), d->logits, (size_t)d->vocab, &res, err)))
			break;
		drafts[j] = res.token;
		d->made = j + 1;
		if (j + 1 == k)
			break;
		/* the module on its own output: row end+j drafts end+j+2 */
		c = (struct ds_fwd_chunk){ seq, end + j, 1 };
		if ((rc = ds_backend_mtp_layer(d->b, &fb, last, &drafts[j], spare, err)))
			break;
		float *t = last;
		last = spare;
		spare = t;
	}
	if (k > 1)	/* drop the entries the drafts made */
		ds_backend_truncate_seq(d->b, seq, end);
	d->draft_s = ds_seconds() - t0;
	return rc;
}

/* ---- the ring's drafting stage ---- */

void ds_spec_stage_init(struct ds_spec_stage *st, struct ds_backend *b, const struct ds_model *m,
			const struct ds_sample_params *p, long k)
{
	memset(st, 0, sizeof(*st));
	ds_spec_drafter_init(&st->d, b, m, p, k);
	ds_mtp_join_init(&st->j, m->D);
	ds_frame_init(&st->out);
}

void ds_spec_stage_release(struct ds_spec_stage *st)
{
	ds_spec_drafter_release(&st->d);
	ds_mtp_join_release(&st->j);
	ds_frame_release(&st->out);
	free(st->sent);
}

/* The record of seq's drafts on their way (NULL: none). */
static struct ds_spec_sent *sent_find(struct ds_spec_stage *st, uint64_t seq)
{
	for (long i = 0; i < st->nsent; i++)
		if (st->sent[i].seq == seq)
			return &st->sent[i];
	return NULL;
}

static void sent_drop(struct ds_spec_stage *st, uint64_t seq)
{
	struct ds_spec_sent *s = sent_find(st, seq);

	if (s)
		*s = st->sent[--st->nsent];
}

/* Adaptive: seq's drafts come back settled as `settled` new tokens; the
 * pass took from the start of drafting until now. */
static void sent_back(struct ds_spec_stage *st, uint64_t seq, long settled)
{
	struct ds_spec_sent *s = sent_find(st, seq);

	if (!s)
		return;
	if (st->d.adaptive)
		ds_spec_adapt_observe(&st->d.adapt, s->made, ds_seconds() - s->t0, settled);
	sent_drop(st, seq);
}

static void sent_record(struct ds_spec_stage *st, uint64_t seq, double t0)
{
	struct ds_spec_sent *s;

	if (!st->d.adaptive)
		return;
	if (!(s = sent_find(st, seq))) {
		if (st->nsent == st->capsent) {
			st->capsent = st->capsent ? 2 * st->capsent : 8;
			st->sent = ds_xrealloc(st->sent, (size_t)st->capsent * sizeof(*st->sent));
		}
		s = &st->sent[st->nsent++];
	}
	*s = (struct ds_spec_sent){ seq, st->d.made, t0 };
}

static void roll_back(struct ds_spec_stage *st, uint64_t seq, uint64_t pos)
{
	long len = pos > (uint64_t)1 << 62 ? (long)1 << 62 : (long)pos;

	ds_mtp_join_truncate(&st->j, seq, len);
	ds_backend_truncate_seq(st->d.b, seq, len);
	ds_sampler_truncate(st->d.s, seq, (uint64_t)len);
	sent_drop(st, seq);
}

/* A settled TOKENS frame ending at q: run the MTP rows up to q-1, draft,
 * write [x_q, drafts] at q. */
static int settled(struct ds_spec_stage *st, const struct ds_frame *f, struct ds_writer *w, struct ds_error *err)
{
	const float *h;
	const int32_t *next, *ids;
	uint16_t fl;
	long T, pos, n, q;
	uint32_t dim;
	double t0;
	int rc;

	if (ds_frame_drafts(f))
		return ds_error_set(err, EX_DATAERR,
				    "TOKENS frame of seq %llu carries %u drafts nobody verified (ds-sample --verify goes before the drafter)",
				    SEQ(f->seq), f->aux);
	if ((rc = ds_fwdio_tokens(f, &ids, &T, err)) || (rc = ds_mtp_join_tokens(&st->j, f, err)) ||
	    (rc = ds_spec_drafter_settle(&st->d, f->seq, f->pos, ids, T, err)))
		return rc;
	if (T == 0)
		return 0;
	/* the answer to [x, drafts]: x again, then the tokens the pass settled */
	sent_back(st, f->seq, T - 1);
	q = (long)f->pos + T - 1;
	n = ds_mtp_join_ready(&st->j, f->seq, &pos, &h, &next, &fl);
	if (n == 0 || pos + n != q)
		return ds_error_set(err, EX_DATAERR,
				    "TOKENS of seq %llu end at position %ld but the hidden states of positions before it have not come (HIDDEN first)",
				    SEQ(f->seq), q);
	t0 = ds_seconds();
	if ((rc = ds_spec_draft(&st->d, f->seq, pos, n, h, next, st->buf + 1, err)))
		return rc;
	sent_record(st, f->seq, t0);
	ds_mtp_join_consume(&st->j, f->seq, n);
	st->buf[0] = ids[T - 1];
	dim = (uint32_t)(1 + st->d.made);
	if (ds_frame_setup(&st->out, DS_KIND_TOKENS, DS_I32, 1, &dim))
		ds_bug("cannot size a TOKENS frame");
	memcpy(st->out.data, st->buf, dim * sizeof(int32_t));
	st->out.seq = f->seq;
	st->out.pos = (uint64_t)q;
	st->out.aux = (uint32_t)st->d.made;
	st->out.flags = DS_FLAG_ROLLBACK;
	return ds_write_frame(w, &st->out, err);
}

int ds_spec_stage_frame(struct ds_spec_stage *st, const struct ds_frame *f, struct ds_writer *w,
			struct ds_error *err)
{
	int rc;

	if (ds_frame_rolls_back(f))
		roll_back(st, f->seq, f->pos);
	switch (f->kind) {
	case DS_KIND_HIDDEN:
		return (rc = ds_mtp_join_hidden(&st->j, f, err)) ? rc : 1;
	case DS_KIND_TOKENS:
		return (rc = settled(st, f, w, err)) ? rc : 1;
	case DS_KIND_CONTROL:
		if (ds_frame_ends_seq(f)) {
			ds_mtp_join_drop(&st->j, f->seq);
			ds_backend_end_seq(st->d.b, f->seq);
			ds_spec_drafter_forget(&st->d, f->seq);
			sent_drop(st, f->seq);
		} else if (ds_frame_truncates_seq(f)) {
			roll_back(st, f->seq, f->pos);
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- the verifying side ---- */

void ds_spec_verifier_init(struct ds_spec_verifier *v, struct ds_sampler *s)
{
	memset(v, 0, sizeof(*v));
	v->s = s;
	ds_frame_init(&v->out);
}

void ds_spec_verifier_release(struct ds_spec_verifier *v)
{
	for (long i = 0; i < v->capp; i++)
		free(v->p[i].tok);
	free(v->p);
	ds_frame_release(&v->out);
	memset(v, 0, sizeof(*v));
}

/* The pending frame of seq (its n is 0 when none). */
static struct ds_spec_pending *pending(struct ds_spec_verifier *v, uint64_t seq, int create)
{
	for (long i = 0; i < v->np; i++)
		if (v->p[i].seq == seq)
			return &v->p[i];
	if (!create)
		return NULL;
	if (v->np == v->capp) {
		long cap = v->capp ? 2 * v->capp : 8;

		v->p = ds_xrealloc(v->p, (size_t)cap * sizeof(*v->p));
		memset(v->p + v->capp, 0, (size_t)(cap - v->capp) * sizeof(*v->p));
		v->capp = cap;
	}
	v->p[v->np].seq = seq;
	v->p[v->np].n = 0;
	return &v->p[v->np++];
}

int ds_spec_verifier_tokens(struct ds_spec_verifier *v, const struct ds_frame *f, struct ds_error *err)
{
	const int32_t *ids = f->data;
	long T = (long)f->shape[0], k = (long)ds_frame_drafts(f);
	struct ds_spec_pending *p;
	int rc;

	if ((rc = ds_spec_tokens_check(f, err)) || (rc = ds_sampler_observe(v->s, f, err)))
		return rc;
	p = pending(v, f->seq, 1);
	if (T > p->cap) {
		p->cap = T;
		p->tok = ds_xrealloc(p->tok, (size_t)T * sizeof(*p->tok));
	}
	memcpy(p->tok, ids, (size_t)T * sizeof(*ids));
	p->pos = f->pos;
	p->n = T;
	p->drafts = k;
	return 0;
}

int ds_spec_verifier_logits(struct ds_spec_verifier *v, const struct ds_frame *f, const int32_t **drawn,
			    long *n, struct ds_error *err)
{
	struct ds_spec_pending *p = pending(v, f->seq, 1);
	uint64_t end = f->pos + ds_frame_rows(f);	/* the position after the last row */
	long k = p->n ? p->drafts : 0;
	int rc;

	if (p->n && end != p->pos + (uint64_t)p->n)
		return ds_error_set(err, EX_DATAERR,
				    "LOGITS of seq %llu end at position %llu but the TOKENS frame before them ends at %llu",
				    SEQ(f->seq), (unsigned long long)end - 1, (unsigned long long)(p->pos + (uint64_t)p->n - 1));
	if ((rc = ds_sampler_verify(v->s, f, p->n ? p->tok + p->n - k : NULL, k, v->drawn, n, err)))
		return rc;
	if (!p->n) {	/* nothing recorded: the drawn token alone */
		p->pos = end;
		p->drafts = 0;
	}
	*drawn = v->drawn;
	return 0;
}

const struct ds_frame *ds_spec_verifier_settled(struct ds_spec_verifier *v, uint64_t seq, long keep)
{
	struct ds_spec_pending *p = pending(v, seq, 1);
	long base = p->n - p->drafts;	/* the input's settled tokens */
	uint32_t dim = (uint32_t)(base + keep);

	if (ds_frame_setup(&v->out, DS_KIND_TOKENS, DS_I32, 1, &dim))
		ds_bug("cannot size a TOKENS frame");
	memcpy(v->out.data, p->tok, (size_t)base * sizeof(int32_t));
	memcpy((int32_t *)v->out.data + base, v->drawn, (size_t)keep * sizeof(int32_t));
	v->out.seq = seq;
	v->out.pos = p->pos;
	v->out.aux = 0;
	v->out.flags = 0;
	p->n = 0;	/* answered */
	return &v->out;
}

void ds_spec_verifier_forget(struct ds_spec_verifier *v, uint64_t seq)
{
	struct ds_spec_pending *p = pending(v, seq, 0), t;

	if (!p)
		return;
	/* swap with the last entry; its buffer stays behind for reuse */
	t = *p;
	*p = v->p[--v->np];
	v->p[v->np] = t;
}

void ds_spec_verifier_truncate(struct ds_spec_verifier *v, uint64_t seq, uint64_t len)
{
	struct ds_spec_pending *p = pending(v, seq, 0);

	if (p && p->n && p->pos + (uint64_t)p->n > len)
		p->n = 0;	/* the frame waiting for its LOGITS is rolled back */
}

/* ---- reading the ring's input ---- */

void ds_spec_held_init(struct ds_spec_held *h)
{
	memset(h, 0, sizeof(*h));
}

void ds_spec_held_release(struct ds_spec_held *h)
{
	free(h->s);
	free(h->out);
	memset(h, 0, sizeof(*h));
}

static struct ds_spec_held_seq *held_find(struct ds_spec_held *h, uint64_t seq)
{
	for (long i = 0; i < h->ns; i++)
		if (h->s[i].seq == seq)
			return &h->s[i];
	return NULL;
}

long ds_spec_held_frame(struct ds_spec_held *h, const struct ds_frame *f, const int32_t **ids,
			struct ds_error *err)
{
	struct ds_spec_held_seq *s = held_find(h, f->seq);
	long T = (long)f->shape[0], k = (long)ds_frame_drafts(f), n = 0, confirmed = 0;

	if (ds_spec_tokens_check(f, err))
		return -1;
	if (s && f->pos > s->pos)
		confirmed = f->pos - s->pos < (uint64_t)s->n ? (long)(f->pos - s->pos) : s->n;
	if ((size_t)(confirmed + T) > h->outcap) {
		h->outcap = (size_t)(confirmed + T) * 2;
		h->out = ds_xrealloc(h->out, h->outcap * sizeof(int32_t));
	}
	if (confirmed)
		memcpy(h->out, s->tok, (size_t)confirmed * sizeof(int32_t));
	n = confirmed;
	memcpy(h->out + n, f->data, (size_t)(T - k) * sizeof(int32_t));
	n += T - k;
	if (k && !s) {
		if (h->ns == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 8;
			h->s = ds_xrealloc(h->s, (size_t)h->cap * sizeof(*h->s));
		}
		s = &h->s[h->ns++];
		s->seq = f->seq;
	}
	if (s) {
		s->pos = f->pos + (uint64_t)(T - k);
		s->n = k;
		memcpy(s->tok, (const int32_t *)f->data + T - k, (size_t)k * sizeof(int32_t));
	}
	*ids = h->out;
	return n;
}

void ds_spec_held_truncate(struct ds_spec_held *h, uint64_t seq, uint64_t len)
{
	struct ds_spec_held_seq *s = held_find(h, seq);

	if (!s)
		return;
	if (len <= s->pos)
		*s = h->s[--h->ns];
	else if (len - s->pos < (uint64_t)s->n)
		s->n = (long)(len - s->pos);
}

/* ---- the one-process engine ---- */

void ds_spec_engine_init(struct ds_spec_engine *e, struct ds_backend *b, const struct ds_model *m,
			 const struct ds_sample_params *p, long k)
{
	struct ds_sample_params vp = *p;

	memset(e, 0, sizeof(*e));
	vp.logprobs = -1;
	e->b = b;
	e->m = m;
	e->verify = ds_sampler_new(&vp);
	ds_spec_drafter_init(&e->d, b, m, p, k);
	ds_frame_init(&e->lf);
}

void ds_spec_engine_release(struct ds_spec_engine *e)
{
	ds_sampler_free(e->verify);
	ds_spec_drafter_release(&e->d);
	ds_frame_release(&e->lf);
	free(e->hidden);
	memset(e, 0, sizeof(*e));
}

static float *engine_rows(struct ds_spec_engine *e, long n)
{
	if ((size_t)n * (size_t)e->m->D > e->hidden_cap) {
		e->hidden_cap = (size_t)n * (size_t)e->m->D;
		e->hidden = ds_xrealloc(e->hidden, e->hidden_cap * sizeof(float));
	}
	return e->hidden;
}

/* Main layers over ids[0..n) at pos; the head over the last `rows` rows
 * into e->lf (LOGITS [rows, V] at pos + n - rows). */
static int engine_pass(struct ds_spec_engine *e, const int32_t *ids, long pos, long n, long rows,
		       struct ds_error *err)
{
	struct ds_fwd_chunk c = { e->seq, pos, n };
	struct ds_fwd_batch fb = { 1, &c };
	uint32_t dims[2] = { (uint32_t)rows, (uint32_t)e->m->V };
	float *h = engine_rows(e, n);
	int rc;

	if (ds_frame_setup(&e->lf, DS_KIND_LOGITS, DS_F32, 2, dims))
		return ds_error_set(err, EX_SOFTWARE, "cannot size a LOGITS frame of %ld rows", rows);
	if ((rc = ds_embed_rows(&e->m->embed, ids, n, h, err)) || (rc = ds_backend_layers(e->b, &fb, h, err)) ||
	    (rc = ds_backend_head(e->b, h + (n - rows) * e->m->D, rows, e->lf.data, err)))
		return rc;
	e->lf.seq = e->seq;
	e->lf.pos = (uint64_t)(pos + n - rows);
	return 0;
}

/* After tokens tok[0..c) were settled at q+1..q+c by a pass over rows at
 * q..q+c-1 (hidden in e->hidden from row `first`): run the MTP rows, draft. */
static int engine_settle(struct ds_spec_engine *e, long q, const int32_t *tok, long c, long first,
			 struct ds_error *err)
{
	int rc;

	if ((rc = ds_spec_drafter_settle(&e->d, e->seq, (uint64_t)q + 1, tok, c, err)) ||
	    (rc = ds_spec_draft(&e->d, e->seq, q, c, e->hidden + first * e->m->D, tok, e->row + 1, err)))
		return rc;
	e->q = q + c;
	e->x = tok[c - 1];
	e->row[0] = e->x;
	e->ndraft = e->d.made;
	return 0;
}

int ds_spec_engine_start(struct ds_spec_engine *e, uint64_t seq, const int32_t *prompt, long n,
			 struct ds_error *err)
{
	int32_t *tok;
	long got;
	int rc;

	if (n < 1)
		return ds_error_set(err, EX_DATAERR, "an empty prompt");
	e->seq = seq;
	memset(&e->st, 0, sizeof(e->st));
	if ((rc = ds_sampler_record(e->verify, seq, 0, prompt, (size_t)n, err)) ||
	    (rc = ds_spec_drafter_settle(&e->d, seq, 0, prompt, n, err)) ||
	    (rc = engine_pass(e, prompt, 0, n, 1, err)) ||
	    (rc = ds_sampler_verify(e->verify, &e->lf, NULL, 0, &e->x, &got, err)))
		return rc;
	/* MTP rows 0..n-1 take the tokens 1..n: the prompt's, then x */
	tok = ds_xmalloc((size_t)n * sizeof(*tok));
	memcpy(tok, prompt + 1, (size_t)(n - 1) * sizeof(*tok));
	tok[n - 1] = e->x;
	rc = ds_spec_drafter_settle(&e->d, seq, (uint64_t)n, &e->x, 1, err);
	if (!rc)
		rc = ds_spec_draft(&e->d, seq, 0, n, e->hidden, tok, e->row + 1, err);
	free(tok);
	e->q = n;
	e->row[0] = e->x;
	e->ndraft = e->d.made;
	return rc;
}

int ds_spec_engine_step(struct ds_spec_engine *e, int32_t *out, long *n, struct ds_error *err)
{
	long k = e->ndraft, q = e->q;
	double t0 = ds_seconds();
	int rc;

	*n = 0;
	if ((rc = engine_pass(e, e->row, q, k + 1, k + 1, err)) ||
	    (rc = ds_sampler_verify(e->verify, &e->lf, e->row + 1, k, out, n, err)))
		return rc;
	ds_spec_drafter_observe(&e->d, ds_seconds() - t0, *n);
	e->st.steps++;
	e->st.settled += *n;
	e->st.played[k]++;
	for (long j = 0; j < k; j++) {
		e->st.drafted[j]++;
		e->st.accepted[j] += j < *n - 1;
	}
	if (*n < k + 1)	/* rows past the last accepted draft had a wrong input */
		ds_backend_truncate_seq(e->b, e->seq, q + *n);
	return engine_settle(e, q, out, *n, 0, err);
}

void ds_spec_engine_end(struct ds_spec_engine *e)
{
	ds_backend_end_seq(e->b, e->seq);
	ds_sampler_forget(e->verify, e->seq);
	ds_spec_drafter_forget(&e->d, e->seq);
}
