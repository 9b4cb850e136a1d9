/* generate.c - the generation loop around a ring of tools; see generate.h. */
#include "generate.h"

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "clock.h"

const char *const ds_gen_stop_names[] = { "eos", "length", "stop", "context", "closed" };

/* ---- text and stop strings ---- */

void ds_gen_text_init(struct ds_gen_text *t, const char *const *stops, int nstops)
{
	memset(t, 0, sizeof(*t));
	t->stops = stops;
	t->nstops = nstops;
	t->stop_at = -1;
}

void ds_gen_text_release(struct ds_gen_text *t)
{
	free(t->text);
	free(t->ends);
	memset(t, 0, sizeof(*t));
	t->stop_at = -1;
}

/* Length of the longest suffix of text[from..len) that is a proper prefix
 * of a stop string: the bytes that must wait for the next token. */
static size_t held_back(const struct ds_gen_text *t, size_t from)
{
	size_t best = 0, avail = t->len - from;

	for (int i = 0; i < t->nstops; i++) {
		size_t sl = strlen(t->stops[i]);
		for (size_t k = sl - 1 < avail ? sl - 1 : avail; k > best; k--)
			if (!memcmp(t->text + t->len - k, t->stops[i], k)) {
				best = k;
				break;
			}
	}
	return best;
}

/* Offset of the earliest stop string in text[from..len), or -1. */
static long find_stop(const struct ds_gen_text *t, size_t from)
{
	long first = -1;

	for (int i = 0; i < t->nstops; i++) {
		const char *hit = *t->stops[i] ? memmem(t->text + from, t->len - from, t->stops[i],
							 strlen(t->stops[i])) : NULL;
		if (hit && (first < 0 || hit - t->text < first))
			first = (long)(hit - t->text);
	}
	return first;
}

size_t ds_gen_text_add(struct ds_gen_text *t, const void *bytes, size_t n, const char **show)
{
	size_t from = t->shown, upto;

	*show = t->text ? t->text + from : "";
	if (t->stop_at >= 0)
		return 0;
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->text = ds_xrealloc(t->text, t->cap);
	}
	if (t->ntok == t->tcap) {
		t->tcap = t->tcap ? 2 * t->tcap : 64;
		t->ends = ds_xrealloc(t->ends, t->tcap * sizeof(*t->ends));
	}
	if (n)
		memcpy(t->text + t->len, bytes, n);
	t->len += n;
	t->text[t->len] = 0;
	t->ends[t->ntok++] = t->len;
	*show = t->text + from;
	/* the held bytes could not start a stop string, so no match starts
	 * before from (see the invariant in generate.h) */
	if ((t->stop_at = find_stop(t, from)) >= 0) {
		t->kept = 0;
		while (t->kept < t->ntok && t->ends[t->kept] <= (size_t)t->stop_at)
			t->kept++;
		upto = (size_t)t->stop_at;
	} else {
		upto = t->len - held_back(t, from);
	}
	t->shown = upto;
	return upto - from;
}

size_t ds_gen_text_flush(struct ds_gen_text *t, const char **show)
{
	size_t from = t->shown;

	*show = t->text ? t->text + from : "";
	if (t->stop_at >= 0)
		return 0;
	t->shown = t->len;
	return t->len - from;
}

void ds_gen_seq_release(struct ds_gen_seq *s)
{
	ds_ids_release(&s->ids);
	ds_gen_text_release(&s->text);
}

/* ---- the ring ---- */

/* The one place tokens go into the ring: ids at positions pos.. of seq. */
static int feed(struct ds_chain *ring, struct ds_frame *f, uint64_t seq, uint64_t pos, const int32_t *ids,
		size_t n, struct ds_error *err)
{
	uint32_t dim = (uint32_t)n;

	if (n > UINT32_MAX || ds_frame_setup(f, DS_KIND_TOKENS, DS_I32, 1, &dim))
		return ds_error_set(err, EX_DATAERR, "sequence %llu: %zu tokens are too many for one frame",
				    (unsigned long long)seq, n);
	memcpy(f->data, ids, n * sizeof(*ids));
	f->seq = seq;
	f->pos = pos;
	f->flags = DS_FLAG_FINAL;
	f->aux = 0;
	return ds_chain_send(ring, f, err);
}

/* Read the next frame from the ring; an unexpected end is an error. */
static int recv_frame(struct ds_chain *ring, struct ds_frame *f, struct ds_error *err)
{
	int rc = ds_chain_recv(ring, f, err);

	if (rc == 0)
		return ds_error_set(err, EX_SOFTWARE, "the ring ended unexpectedly");
	return rc == 1 ? 0 : rc;
}

int ds_ring_ready(struct ds_chain *ring, uint64_t seq, struct ds_error *err)
{
	struct ds_frame f;
	int rc;

	ds_frame_init(&f);
	ds_frame_control(&f, DS_CONTROL_RESET, seq);
	rc = ds_chain_send(ring, &f, err);
	while (!rc && !(rc = recv_frame(ring, &f, err)))
		if (f.kind == DS_KIND_CONTROL && f.seq == seq)
			break;
	ds_frame_release(&f);
	return rc;
}

static int is_eos(const struct ds_gen_params *gp, int32_t id)
{
	for (int i = 0; i < gp->neos; i++)
		if (gp->eos[i] == id)
			return !gp->ignore_eos;
	return 0;
}

static void show(struct ds_gen_seq *s, const char *p, size_t n)
{
	if (n && s->put && s->stop != DS_GEN_OUTPUT_CLOSED && s->put(p, n, s->ctx))
		s->stop = DS_GEN_OUTPUT_CLOSED;
}

/* The one rollback: seq keeps its first len positions in every stage. */
static int roll_back(struct ds_chain *ring, struct ds_frame *f, uint64_t seq, uint64_t len, struct ds_error *err)
{
	ds_frame_truncate(f, seq, len);
	return ds_chain_send(ring, f, err);
}

/* A sequence is done: show what was held back (unless a stop string cut
 * it), and free its state in the ring when asked. */
static int finish(struct ds_chain *ring, struct ds_frame *f, const struct ds_gen_params *gp, struct ds_gen_seq *s,
		  uint64_t seq, enum ds_gen_stop why, struct ds_error *err)
{
	const char *p;
	size_t n;

	if (s->stop != DS_GEN_OUTPUT_CLOSED) {
		s->stop = why;
		n = ds_gen_text_flush(&s->text, &p);
		show(s, p, n);
	}
	s->state = 2;
	if (!gp->end_done)
		return 0;
	ds_frame_control(f, DS_CONTROL_END, seq);
	return ds_chain_send(ring, f, err);
}

/* Send a sequence's prompt, or stop it at once when it does not fit. */
static int start(struct ds_chain *ring, struct ds_frame *f, const struct ds_gen_params *gp, struct ds_gen_seq *s,
		 uint64_t seq, struct ds_error *err)
{
	s->unfed = -1;
	s->next_pos = s->pos;
	ds_gen_text_init(&s->text, gp->stops, gp->nstops);
	if (!s->nprompt || s->pos + s->nprompt > (uint64_t)gp->ctx) {
		s->stop = DS_GEN_CONTEXT;
		s->state = 2;
		return 0;
	}
	s->state = 1;
	s->t0 = ds_seconds();
	s->next_pos = s->pos + s->nprompt;
	return feed(ring, f, seq, s->pos, s->prompt, s->nprompt, err);
}

/*
 * The one place a sampled id is judged: keep it or not, show its text, and
 * either feed it back or end the sequence (with a rollback after a stop
 * string).  Generated ids 0..ids.n-2 are in the cache, the new one is not.
 */
static int judge(struct ds_chain *ring, struct ds_frame *f, const struct ds_gen_params *gp, struct ds_gen_seq *s,
		 uint64_t seq, int32_t id, struct ds_error *err)
{
	uint64_t base = s->pos + s->nprompt;	/* position of generated id 0 */
	const uint8_t *bytes;
	const char *p;
	size_t len = 0, n;
	double now = ds_seconds();

	if (!s->t1)
		s->t1 = now;
	s->t_prompt = s->t1 - s->t0;
	s->t_generate = now - s->t1;
	s->generated++;
	if (is_eos(gp, id)) {
		s->unfed = id;
		return finish(ring, f, gp, s, seq, DS_GEN_EOS, err);
	}
	ds_ids_push(&s->ids, id);
	bytes = ds_tokenizer_bytes(gp->tok, id, &len);
	n = ds_gen_text_add(&s->text, bytes ? bytes : (const uint8_t *)"", bytes ? len : 0, &p);
	show(s, p, n);
	if (s->text.stop_at >= 0) {
		size_t keep = s->text.kept, fed = s->ids.n - 1;
		int rc;

		s->ids.n = keep;
		s->generated = (long)keep;
		s->next_pos = base + keep;
		if (keep < fed && (rc = roll_back(ring, f, seq, s->next_pos, err)))
			return rc;
		return finish(ring, f, gp, s, seq, DS_GEN_STOP_STRING, err);
	}
	s->unfed = id;
	if (s->stop == DS_GEN_OUTPUT_CLOSED)
		return finish(ring, f, gp, s, seq, DS_GEN_OUTPUT_CLOSED, err);
	if (gp->max_tokens >= 0 && s->generated >= gp->max_tokens)
		return finish(ring, f, gp, s, seq, DS_GEN_LENGTH, err);
	if (s->next_pos >= (uint64_t)gp->ctx)
		return finish(ring, f, gp, s, seq, DS_GEN_CONTEXT, err);
	s->unfed = -1;
	s->next_pos++;
	return feed(ring, f, seq, s->next_pos - 1, &id, 1, err);
}

int ds_generate(struct ds_chain *ring, const struct ds_gen_params *gp, struct ds_gen_seq *seqs, int nseq,
		struct ds_error *err)
{
	struct ds_frame f;
	int next = 0, running = 0, rc = 0;

	ds_frame_init(&f);
	for (;;) {
		while (!rc && next < nseq && running < DS_GEN_MAX_RUNNING) {
			rc = start(ring, &f, gp, &seqs[next], (uint64_t)next, err);
			running += seqs[next++].state == 1;
		}
		if (rc || !running)
			break;
		if ((rc = recv_frame(ring, &f, err)))
			break;
		/* CONTROL frames coming round and LOGPROBS are not ours to act on */
		if (f.kind != DS_KIND_TOKENS || f.seq >= (uint64_t)nseq || ds_frame_numel(&f) != 1 ||
		    seqs[f.seq].state != 1)
			continue;
		struct ds_gen_seq *s = &seqs[f.seq];

		rc = judge(ring, &f, gp, s, f.seq, *(int32_t *)f.data, err);
		running -= s->state == 2;
	}
	ds_frame_release(&f);
	return rc;
}
