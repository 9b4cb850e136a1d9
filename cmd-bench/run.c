/*
 * cmd-bench/run.c - the modes of ds-bench (bench.h): prefill ("pp") and
 * decode ("tg") of deterministic token ids, after a context of `depth`
 * positions that is filled once per test and rolled back to before every
 * repetition (ds_backend_truncate_seq), as llama-bench's -d does.
 */
#include <stdlib.h>

#include "bench-tool.h"
#include "cli.h"
#include "clock.h"

void bench_ids(long seed, long V, long s, long pos, long n, int32_t *out)
{
	for (long i = 0; i < n; i++)
		out[i] = (int32_t)(((unsigned long)(pos + i) * 2654435761u + (unsigned long)s * 97u +
				    (unsigned long)seed * 40503u) % (unsigned long)V);
}

struct ctx {
	uint64_t base;		/* the test's sequences: base .. base + batch - 1 */
};

/* one chunk of n rows at pos for each of the test's sequences: embed,
 * layers, and the head of each chunk's last row when head */
static void step(struct bench_run *r, const struct bench_test *t, uint64_t base, long pos, long n, int head)
{
	struct ds_error err = { 0 };
	long B = t->batch, D = r->m->D;
	struct ds_fwd_batch batch = { (int)B, r->chunks };

	for (long s = 0; s < B; s++) {
		r->chunks[s] = (struct ds_fwd_chunk){ base + (uint64_t)s, pos, n };
		bench_ids(r->seed, r->m->V, s, pos, n, r->ids + s * n);
	}
	if (ds_embed_rows(&r->m->embed, r->ids, B * n, r->hidden, &err) || ds_backend_layers(r->b, &batch, r->hidden, &err))
		ds_die_error(&err);
	if (!head)
		return;
	for (long s = 0; s < B; s++)	/* the last row of each chunk, packed */
		if (n > 1)
			for (long d = 0; d < D; d++)
				r->hidden[s * D + d] = r->hidden[((s + 1) * n - 1) * D + d];
	if (ds_backend_head(r->b, r->hidden, B, r->logits, &err))
		ds_die_error(&err);
}

/* the depth, in chunks of at most 512 rows (not timed) */
static void prepare(struct bench_run *r, const struct bench_test *t, void **state)
{
	struct ctx *c = ds_xcalloc(1, sizeof(*c));

	c->base = r->next_seq;
	r->next_seq += (uint64_t)t->batch;
	for (long pos = 0; pos < t->depth; pos += 512)
		step(r, t, c->base, pos, t->depth - pos < 512 ? t->depth - pos : 512, 0);
	*state = c;
}

static void done(struct bench_run *r, const struct bench_test *t, void *state)
{
	struct ctx *c = state;

	for (long s = 0; s < t->batch; s++)
		ds_backend_end_seq(r->b, c->base + (uint64_t)s);
	free(c);
}

static void rewind_depth(struct bench_run *r, const struct bench_test *t, const struct ctx *c)
{
	for (long s = 0; s < t->batch; s++)
		ds_backend_truncate_seq(r->b, c->base + (uint64_t)s, t->depth);
}

/* the prompt as one chunk per sequence, and the head of its last row */
static double pp_rep(struct bench_run *r, const struct bench_test *t, void *state)
{
	struct ctx *c = state;
	double t0;

	rewind_depth(r, t, c);
	t0 = ds_seconds();
	step(r, t, c->base, t->depth, t->n_prompt, 1);
	return ds_seconds() - t0;
}

/* n_gen steps of one row per sequence, each through the head */
static double tg_rep(struct bench_run *r, const struct bench_test *t, void *state)
{
	struct ctx *c = state;
	double t0;

	rewind_depth(r, t, c);
	t0 = ds_seconds();
	for (long i = 0; i < t->n_gen; i++)
		step(r, t, c->base, t->depth + i, 1, 1);
	return ds_seconds() - t0;
}

static double pp_tokens(const struct bench_test *t)
{
	return (double)(t->n_prompt * t->batch);
}

static double tg_tokens(const struct bench_test *t)
{
	return (double)(t->n_gen * t->batch);
}

const struct bench_mode bench_pp = { "pp", prepare, pp_rep, done, pp_tokens };
const struct bench_mode bench_tg = { "tg", prepare, tg_rep, done, tg_tokens };
