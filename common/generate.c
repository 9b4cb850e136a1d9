/* generate.c - the generation loop around a ring of tools; see generate.h. */
#include "generate.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "clock.h"
#include "tokproc.h"

const char *const ds_gen_stop_names[] = { "eos", "length", "stop", "closed" };

void ds_stop_init(struct ds_stop_filter *f, const char *const *stops, int n)
{
	memset(f, 0, sizeof(*f));
	f->stops = stops;
	f->n = n;
}

void ds_stop_release(struct ds_stop_filter *f)
{
	free(f->held);
	memset(f, 0, sizeof(*f));
}

/* Length of the longest suffix of held that is a proper prefix of a stop. */
static size_t partial_suffix(const struct ds_stop_filter *f)
{
	size_t best = 0;

	for (int i = 0; i < f->n; i++) {
		size_t sl = strlen(f->stops[i]);
		for (size_t k = sl - 1 < f->nheld ? sl - 1 : f->nheld; k > best; k--)
			if (!memcmp(f->held + f->nheld - k, f->stops[i], k)) {
				best = k;
				break;
			}
	}
	return best;
}

long ds_stop_find(const char *text, size_t len, const char *const *stops, int n, int *which)
{
	long first = -1;

	for (int i = 0; i < n; i++) {
		const char *hit = *stops[i] ? memmem(text, len, stops[i], strlen(stops[i])) : NULL;
		if (hit && (first < 0 || hit - text < first)) {
			first = (long)(hit - text);
			if (which)
				*which = i;
		}
	}
	return first;
}

int ds_stop_feed(struct ds_stop_filter *f, const char *p, size_t n, ds_put_fn put, void *ctx)
{
	size_t keep;
	long first;
	int which = -1, rc;

	if (f->found || !n)
		return 0;
	if (f->nheld + n > f->cap) {
		f->cap = (f->nheld + n) * 2;
		f->held = ds_xrealloc(f->held, f->cap);
	}
	memcpy(f->held + f->nheld, p, n);
	f->nheld += n;
	first = ds_stop_find(f->held, f->nheld, f->stops, f->n, &which);
	if (first >= 0) {
		f->found = which + 1;
		rc = first ? put(f->held, (size_t)first, ctx) : 0;
		f->nheld = 0;
		return rc;
	}
	keep = partial_suffix(f);
	rc = f->nheld > keep ? put(f->held, f->nheld - keep, ctx) : 0;
	memmove(f->held, f->held + f->nheld - keep, keep);
	f->nheld = keep;
	return rc;
}

int ds_stop_flush(struct ds_stop_filter *f, ds_put_fn put, void *ctx)
{
	int rc = 0;

	if (!f->found && f->nheld)
		rc = put(f->held, f->nheld, ctx);
	f->nheld = 0;
	return rc;
}

static int send_tokens(struct ds_chain *ring, struct ds_frame *f, uint64_t seq, uint64_t pos,
		       const int32_t *ids, size_t n, struct ds_error *err)
{
	uint32_t dim = (uint32_t)n;

	if (ds_frame_setup(f, DS_KIND_TOKENS, DS_I32, 1, &dim))
		return ds_error_set(err, EX_DATAERR, "prompt of %zu tokens is too long", n);
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

struct shown {
	ds_put_fn put;
	void *ctx;
	int keep;
	char *text;
	size_t len, cap;
	int closed;
};

static int show(const char *p, size_t n, void *vs)
{
	struct shown *s = vs;

	if (s->keep) {
		if (s->len + n + 1 > s->cap) {
			s->cap = (s->len + n + 1) * 2;
			s->text = ds_xrealloc(s->text, s->cap);
		}
		memcpy(s->text + s->len, p, n);
		s->len += n;
		s->text[s->len] = 0;
	}
	if (!s->closed && s->put(p, n, s->ctx))
		s->closed = 1;
	return 0;
}

/* Pass decoded text to the filter; wait_ms as ds_decoder_read. Returns -1
 * at the decoder's end of output. */
static int pump_text(struct ds_decoder_proc *dec, struct ds_stop_filter *stop, struct shown *s, int wait_ms)
{
	char buf[4096];
	long k;

	while ((k = ds_decoder_read(dec, buf, sizeof(buf), wait_ms)) > 0) {
		ds_stop_feed(stop, buf, (size_t)k, show, s);
		wait_ms = 0;
	}
	return k < 0 ? -1 : 0;
}

int ds_generate(struct ds_chain *ring, const char *model, uint64_t seq, uint64_t pos,
		const int32_t *ids, size_t n, const struct ds_gen_params *gp,
		ds_put_fn put, void *ctx, int keep_text, struct ds_gen_result *res,
		struct ds_error *err)
{
	struct ds_decoder_proc dec;
	struct ds_stop_filter stop;
	struct shown s = { put, ctx, keep_text, NULL, 0, 0, 0 };
	struct ds_frame f;
	int outstanding = 0, done = 0, rc;
	double t0, t1 = 0;

	memset(res, 0, sizeof(*res));
	res->unfed = -1;
	res->prompt_tokens = (long)n;
	if ((rc = ds_decoder_start(&dec, model, err)))
		return rc;
	ds_stop_init(&stop, gp->stops, gp->nstops);
	ds_frame_init(&f);
	t0 = ds_seconds();
	if ((rc = send_tokens(ring, &f, seq, pos, ids, n, err)))
		goto out;
	pos += n;
	outstanding = 1;
	while (outstanding) {
		struct pollfd pfd[2] = { { fileno(ring->out), POLLIN, 0 }, { dec.out_fd, POLLIN, 0 } };

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			rc = ds_error_set(err, EX_OSERR, "poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[1].revents)
			pump_text(&dec, &stop, &s, 0);
		if (!done && (stop.found || s.closed)) {
			done = 1;
			res->stop = stop.found ? DS_GEN_STOP_STRING : DS_GEN_OUTPUT_CLOSED;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		if ((rc = recv_frame(ring, &f, err)))
			goto out;
		if (f.kind != DS_KIND_TOKENS || f.seq != seq || ds_frame_numel(&f) != 1)
			continue;	/* CONTROL and LOGPROBS frames are not ours to act on */
		outstanding--;
		int32_t id = *(int32_t *)f.data;
		if (!t1)
			t1 = ds_seconds();
		if (done) {	/* computed in flight after a stop: discarded */
			continue;
		}
		res->generated++;
		res->t_generate = ds_seconds() - t1;
		if (is_eos(gp, id)) {
			res->stop = DS_GEN_EOS;
			res->unfed = id;
			done = 1;
			continue;
		}
		if ((rc = ds_decoder_put(&dec, id, seq, pos, err)))
			goto out;
		if (gp->max_tokens >= 0 && res->generated >= gp->max_tokens) {
			res->stop = DS_GEN_LENGTH;
			res->unfed = id;
			done = 1;
			continue;
		}
		if ((rc = send_tokens(ring, &f, seq, pos, &id, 1, err)))
			goto out;
		pos++;
		outstanding++;
	}
	/* the rest of the text: close the decoder's input and read to its end */
	ds_decoder_close_input(&dec);
	while (pump_text(&dec, &stop, &s, 1000) == 0)
		;
	if (stop.found)	/* found in the last text: the token stops it */
		res->stop = DS_GEN_STOP_STRING;
	ds_stop_flush(&stop, show, &s);
	if (s.closed)
		res->stop = DS_GEN_OUTPUT_CLOSED;
out:
	res->t_prompt = (t1 ? t1 : ds_seconds()) - t0;
	res->next_pos = pos;
	{
		struct ds_error derr = { 0 };
		int drc = ds_decoder_finish(&dec, &derr);
		if (!rc && drc) {
			*err = derr;
			rc = drc;
		}
	}
	ds_stop_release(&stop);
	ds_frame_release(&f);
	res->text = s.text;
	res->text_len = s.len;
	return rc;
}

int ds_generate_batch(struct ds_chain *ring, int nseq, int32_t *const *prompts, const size_t *n,
		      const struct ds_gen_params *gp, int32_t **out_ids, size_t *out_n,
		      enum ds_gen_stop *stops, struct ds_error *err)
{
	struct ds_frame f;
	uint64_t *pos = ds_xcalloc((size_t)nseq, sizeof(*pos));
	size_t *cap = ds_xcalloc((size_t)nseq, sizeof(*cap));
	int running = nseq, rc = 0;

	ds_frame_init(&f);
	for (int i = 0; i < nseq && !rc; i++) {
		out_ids[i] = NULL;
		out_n[i] = 0;
		rc = send_tokens(ring, &f, (uint64_t)i, 0, prompts[i], n[i], err);
		pos[i] = n[i];
	}
	while (!rc && running) {
		int32_t id;
		uint64_t s;

		if ((rc = recv_frame(ring, &f, err)))
			break;
		if (f.kind != DS_KIND_TOKENS || f.seq >= (uint64_t)nseq || ds_frame_numel(&f) != 1)
			continue;
		s = f.seq;
		id = *(int32_t *)f.data;
		if (is_eos(gp, id)) {
			stops[s] = DS_GEN_EOS;
		} else {
			if (out_n[s] == cap[s]) {
				cap[s] = cap[s] ? cap[s] * 2 : 64;
				out_ids[s] = ds_xrealloc(out_ids[s], cap[s] * sizeof(int32_t));
			}
			out_ids[s][out_n[s]++] = id;
			if (gp->max_tokens < 0 || (long)out_n[s] < gp->max_tokens) {
				rc = send_tokens(ring, &f, s, pos[s]++, &id, 1, err);
				continue;
			}
			stops[s] = DS_GEN_LENGTH;
		}
		/* this sequence is finished: free its state in every stage */
		running--;
		ds_frame_control(&f, DS_CONTROL_END, s);
		rc = ds_chain_send(ring, &f, err);
	}
	ds_frame_release(&f);
	free(pos);
	free(cap);
	return rc;
}
