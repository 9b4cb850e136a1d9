/*
 * speculative.c - ds-bench --speculative K: the same decoding with and without
 * MTP drafts through spec.h's one-process engine, timed in alternating
 * repetitions so that both medians come from the same stretch of machine
 * time.  Acceptance is counted per draft position over every measured
 * repetition.
 */
#include "speculative.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "clock.h"
#include "spec.h"

/* Decode o->gen tokens (at least) as sequence seq with k drafts; returns
 * the decode seconds (the prompt's prefill excluded) and the tokens in
 * out[0..*n). */
static double decode(struct ds_backend *b, const struct ds_model *m, const struct bench_spec_opts *o, long k,
		     uint64_t seq, int32_t *out, long *n, struct ds_spec_stats *st)
{
	struct ds_sample_params p;
	struct ds_spec_engine e;
	struct ds_error err = { 0 };
	double t0, t;
	long got;

	ds_sample_params_default(&p);
	p.temperature = o->temperature;
	p.seed = o->seed;
	ds_spec_engine_init(&e, b, m, &p, k);
	ds_spec_set_draft_vocab(&e.d, o->draft_vocab);
	ds_spec_set_adaptive(&e.d, o->adaptive);
	if (ds_spec_engine_start(&e, seq, o->prompt, o->n, &err))
		ds_die_error(&err);
	out[0] = e.x;
	*n = 1;
	t0 = ds_seconds();
	while (*n < o->gen) {
		if (ds_spec_engine_step(&e, out + *n, &got, &err))
			ds_die_error(&err);
		*n += got;
	}
	t = ds_seconds() - t0;
	*st = e.st;
	ds_spec_engine_end(&e);
	ds_spec_engine_release(&e);
	return t;
}

cJSON *bench_speculative(struct ds_backend *b, const struct ds_model *m, const struct bench_spec_opts *o,
			 double *plain, double *spec)
{
	long k = o->drafts, cap = o->gen + DS_SPEC_MAX_DRAFTS + 1, n0, n1;
	int32_t *t0 = ds_xmalloc((size_t)cap * sizeof(int32_t)), *t1 = ds_xmalloc((size_t)cap * sizeof(int32_t));
	double *s0 = ds_xcalloc((size_t)o->reps, sizeof(double)), *s1 = ds_xcalloc((size_t)o->reps, sizeof(double));
	struct ds_spec_stats st, sum = { 0 };
	cJSON *r = cJSON_CreateObject(), *acc = cJSON_CreateArray(), *played = cJSON_CreateArray();
	int same = 1;

	decode(b, m, o, 0, 1000, t0, &n0, &st);	/* warm-up: pages in, caches sized */
	decode(b, m, o, k, 1001, t1, &n1, &st);
	for (long i = 0; i < o->reps; i++) {
		/* every repetition the same sequence id: the same random draws */
		s0[i] = decode(b, m, o, 0, 1, t0, &n0, &st);
		s1[i] = decode(b, m, o, k, 1, t1, &n1, &st);
		same &= !memcmp(t0, t1, (size_t)o->gen * sizeof(int32_t));
		s0[i] = s0[i] * (double)(o->gen - 1) / (double)(n0 - 1);	/* per gen-1 decoded tokens */
		s1[i] = s1[i] * (double)(o->gen - 1) / (double)(n1 - 1);
		sum.steps += st.steps;
		sum.settled += st.settled;
		for (long j = 0; j < k; j++) {
			sum.drafted[j] += st.drafted[j];
			sum.accepted[j] += st.accepted[j];
		}
		for (long j = 0; j <= k; j++)
			sum.played[j] += st.played[j];
	}
	cJSON_AddNumberToObject(r, "drafts", (double)k);
	cJSON_AddStringToObject(r, "draft_policy", ds_spec_policies[o->adaptive]);
	cJSON_AddNumberToObject(r, "draft_vocab", (double)ds_spec_draft_vocab(m, o->draft_vocab));
	cJSON_AddNumberToObject(r, "temperature", o->temperature);
	cJSON_AddItemToObject(r, "plain_tok_s", ds_bench_rates(s0, o->reps, (double)(o->gen - 1), plain));
	cJSON_AddItemToObject(r, "spec_tok_s", ds_bench_rates(s1, o->reps, (double)(o->gen - 1), spec));
	cJSON_AddNumberToObject(r, "speedup", *plain > 0 ? round(*spec / *plain * 1000) / 1000 : 0);
	cJSON_AddNumberToObject(r, "tokens_per_pass",
				sum.steps ? round((double)sum.settled / (double)sum.steps * 1000) / 1000 : 0);
	for (long j = 0; j < k; j++)
		cJSON_AddItemToArray(acc, cJSON_CreateNumber(
			sum.drafted[j] ? round((double)sum.accepted[j] / (double)sum.drafted[j] * 1000) / 1000 : 0));
	cJSON_AddItemToObject(r, "acceptance", acc);
	for (long j = 0; j <= k; j++)	/* passes with j drafts */
		cJSON_AddItemToArray(played, cJSON_CreateNumber((double)sum.played[j]));
	cJSON_AddItemToObject(r, "passes_by_drafts", played);
	cJSON_AddNumberToObject(r, "passes", (double)sum.steps);
	cJSON_AddNumberToObject(r, "settled", (double)sum.settled);
	cJSON_AddBoolToObject(r, "tokens_identical", same);
	free(t0);
	free(t1);
	free(s0);
	free(s1);
	return r;
}
