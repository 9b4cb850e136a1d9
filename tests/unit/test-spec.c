/*
 * test-spec.c - speculative decoding's pieces: ds_sampler_verify draws
 * exactly the tokens plain draws give, whatever the drafts and sampler
 * settings; a ring reader holds drafts until they are settled; the MTP
 * module split in two (layer, head) gives ds_backend_mtp's logits bit for
 * bit; and the one-process engine decodes the same tokens with 0..3 drafts
 * as a plain decoding loop, on the v3-fp8 fixture.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model.h"
#include "sample.h"
#include "spec.h"
#include "testhelp.h"

#define NV 40
#define ROWS 24

static uint64_t lcg = 12345;

static double unit(void)
{
	lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(lcg >> 11) * 0x1p-53;
}

struct setting {
	const char *name;
	double t;
	long top_k;
	double top_p, min_p, rep, pres, freq;
	long last_n;
};

static const struct setting settings[] = {
	{ "greedy", 0, 0, 1, 0, 1, 0, 0, -1 },
	{ "T=0.8", 0.8, 0, 1, 0, 1, 0, 0, -1 },
	{ "T=1.5 top-k 5", 1.5, 5, 1, 0, 1, 0, 0, -1 },
	{ "T=1 top-p 0.9", 1, 0, 0.9, 0, 1, 0, 0, -1 },
	{ "T=1.2 min-p 0.05", 1.2, 0, 1, 0.05, 1, 0, 0, -1 },
	{ "T=0.9 penalties", 0.9, 0, 1, 0, 1.3, 0.4, 0.2, 6 },
	{ "T=3 all filters", 3, 12, 0.95, 0.01, 1.1, 0.1, 0.1, -1 },
	{ "greedy penalties", 0, 0, 1, 0, 1.8, 0.5, 0.5, -1 },
};

static void params_of(const struct setting *st, uint64_t seed, struct ds_sample_params *p)
{
	ds_sample_params_default(p);
	p->temperature = st->t;
	p->top_k = st->top_k;
	p->top_p = st->top_p;
	p->min_p = st->min_p;
	p->repeat_penalty = st->rep;
	p->presence_penalty = st->pres;
	p->frequency_penalty = st->freq;
	p->penalty_last_n = st->last_n;
	p->seed = seed;
}

/* Rows of logits: row i is the one plain decoding draws position q0+i
 * from.  (Here they are fixed data; in a model they would depend on the
 * tokens before, which is why only accepted drafts' rows may be used.) */
static float logits[ROWS + 1][NV];

static void verify_like_plain(const struct setting *st, uint64_t seed, long k, int *same, int *accept_ok,
			      long *accepted)
{
	struct ds_sample_params p;
	struct ds_error err = { 0 };
	struct ds_sample_result res;
	struct ds_sampler *plain, *spec;
	struct ds_frame f;
	const int32_t prompt[5] = { 3, 9, 3, 17, 3 };
	const uint64_t q0 = 5, seq = 11;
	int32_t want[ROWS], got[ROWS + DS_SPEC_MAX_DRAFTS], out[DS_SPEC_MAX_DRAFTS + 1];
	long have = 0;

	params_of(st, seed, &p);
	plain = ds_sampler_new(&p);
	spec = ds_sampler_new(&p);
	ds_sampler_record(plain, seq, 0, prompt, 5, &err);
	ds_sampler_record(spec, seq, 0, prompt, 5, &err);
	for (long i = 0; i < ROWS; i++) {
		ds_sampler_draw(plain, seq, q0 + (uint64_t)i, logits[i], NV, &res, &err);
		want[i] = res.token;
	}
	ds_frame_init(&f);
	*same = *accept_ok = 1;
	while (have < ROWS - k) {
		uint32_t dims[2] = { (uint32_t)(k + 1), NV };
		int32_t drafts[DS_SPEC_MAX_DRAFTS];
		long n, good = 0;

		/* drafts: the right tokens, with a wrong one now and then */
		for (long j = 0; j < k; j++)
			drafts[j] = unit() < 0.3 ? (int32_t)((want[have + j] + 1) % NV) : want[have + j];
		while (good < k && drafts[good] == want[have + good])
			good++;
		ds_frame_setup(&f, DS_KIND_LOGITS, DS_F32, 2, dims);
		memcpy(f.data, logits[have], (size_t)(k + 1) * NV * sizeof(float));
		f.seq = seq;
		f.pos = q0 + (uint64_t)have - 1;
		/* the main model's input: the drafts are in the history too */
		ds_sampler_record(spec, seq, q0 + (uint64_t)have, drafts, (size_t)k, &err);
		if (ds_sampler_verify(spec, &f, drafts, k, out, &n, &err)) {
			*same = 0;
			break;
		}
		if (n != good + 1)
			*accept_ok = 0;
		memcpy(got + have, out, (size_t)n * sizeof(*out));
		*accepted += n - 1;
		have += n;
	}
	for (long i = 0; i < have && i < ROWS; i++)
		*same &= got[i] == want[i];
	ds_frame_release(&f);
	ds_sampler_free(plain);
	ds_sampler_free(spec);
}

static void test_verify(void)
{
	long accepted = 0;

	for (long i = 0; i <= ROWS; i++)
		for (int v = 0; v < NV; v++)
			logits[i][v] = (float)(4 * unit() - 2);
	for (size_t s = 0; s < sizeof(settings) / sizeof(settings[0]); s++) {
		int same = 1, acc = 1;

		for (long k = 0; k <= 4; k++)
			for (uint64_t seed = 0; seed < 6; seed++) {
				int a, b;

				verify_like_plain(&settings[s], seed * 7919, k, &a, &b, &accepted);
				same &= a;
				acc &= b;
			}
		checkf(same, "verify draws what plain draws give, %s, 0..4 drafts, 6 seeds", settings[s].name);
		checkf(acc, "verify accepts exactly the leading right drafts, %s", settings[s].name);
	}
	printf("# measured %ld drafts accepted over the settings\n", accepted);
	check("some drafts were accepted", accepted > 100);
}

static void test_verify_errors(void)
{
	struct ds_sample_params p;
	struct ds_error err = { 0 };
	struct ds_sampler *s;
	struct ds_frame f;
	uint32_t dims[2] = { 2, NV };
	int32_t drafts[2] = { 1, 2 }, out[3];
	long n = 7;

	ds_sample_params_default(&p);
	s = ds_sampler_new(&p);
	ds_frame_init(&f);
	ds_frame_setup(&f, DS_KIND_LOGITS, DS_F32, 2, dims);
	memset(f.data, 0, f.nbytes);
	check("2 drafts need 3 rows", ds_sampler_verify(s, &f, drafts, 2, out, &n, &err) == EX_DATAERR && n == 0);
	((float *)f.data)[3] = NAN;
	check("a NaN row is bad data", ds_sampler_verify(s, &f, drafts, 1, out, &n, &err) == EX_DATAERR);
	ds_frame_release(&f);
	ds_sampler_free(s);
}

/* ---- the ring reader ---- */

static void tokens(struct ds_frame *f, uint64_t seq, uint64_t pos, const int32_t *ids, uint32_t n, uint32_t drafts)
{
	ds_frame_setup(f, DS_KIND_TOKENS, DS_I32, 1, &n);
	memcpy(f->data, ids, n * sizeof(*ids));
	f->seq = seq;
	f->pos = pos;
	f->aux = drafts;
	f->flags = DS_FLAG_ROLLBACK;
}

static int ids_are(const int32_t *got, long n, const int32_t *want, long m)
{
	return n == m && (!n || !memcmp(got, want, (size_t)n * sizeof(*got)));
}

static void test_held(void)
{
	struct ds_error err = { 0 };
	struct ds_spec_held h;
	struct ds_frame f;
	const int32_t *ids;
	long n;

	ds_spec_held_init(&h);
	ds_frame_init(&f);
	tokens(&f, 0, 4, (int32_t[]){ 10, 11, 12 }, 3, 2);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("a frame's drafts are held, its first token is settled", ids_are(ids, n, (int32_t[]){ 10 }, 1));
	tokens(&f, 1, 0, (int32_t[]){ 50, 51 }, 2, 1);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("another sequence is held apart", ids_are(ids, n, (int32_t[]){ 50 }, 1));
	tokens(&f, 0, 7, (int32_t[]){ 13, 14, 15 }, 3, 2);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("a frame past both drafts settles them", ids_are(ids, n, (int32_t[]){ 11, 12, 13 }, 3));
	tokens(&f, 0, 9, (int32_t[]){ 20, 21, 22 }, 3, 2);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("a frame at the second draft settles the first only", ids_are(ids, n, (int32_t[]){ 14, 20 }, 2));
	tokens(&f, 0, 10, (int32_t[]){ 30, 31, 32 }, 3, 2);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("a frame at the first draft settles none of them", ids_are(ids, n, (int32_t[]){ 30 }, 1));
	ds_spec_held_truncate(&h, 0, 12);
	tokens(&f, 0, 13, (int32_t[]){ 40 }, 1, 0);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("TRUNCATE keeps the drafts below its pos", ids_are(ids, n, (int32_t[]){ 31, 40 }, 2));
	tokens(&f, 1, 1, (int32_t[]){ 60, 61 }, 2, 0);
	n = ds_spec_held_frame(&h, &f, &ids, &err);
	check("a frame without drafts is settled as it is", ids_are(ids, n, (int32_t[]){ 60, 61 }, 2));
	tokens(&f, 1, 3, (int32_t[]){ 70, 71 }, 2, 2);
	check("as many drafts as tokens are refused", ds_spec_held_frame(&h, &f, &ids, &err) == -1 && err.code == EX_DATAERR);
	ds_frame_release(&f);
	ds_spec_held_release(&h);
}

/* ---- the MTP module and the engine on a fixture ---- */

static int open_model(const char *dir, struct ds_model *m, struct ds_backend **b)
{
	struct ds_model_want want = { 0, 0, DS_PART_EMBED | DS_PART_HEAD | DS_PART_MTP, NULL, NULL };
	struct ds_backend_opts o = { .device = "cpu", .mtp = 1 };
	struct ds_error err = { 0 };

	if (ds_model_load_config(m, dir, &err))
		return -1;
	want.last = o.last = m->L;
	if (ds_model_map(m, dir, &want, &err) || ds_backend_open(b, m, &o, &err)) {
		printf("not ok - %s: %s\n", dir, err.msg);
		return -1;
	}
	return 0;
}

static void test_mtp_split(struct ds_model *m, struct ds_backend *b)
{
	struct ds_error err = { 0 };
	long T = 9, D = m->D;
	float *h = malloc((size_t)(T * D) * sizeof(float)), *out = malloc((size_t)(T * D) * sizeof(float));
	float *l1 = malloc((size_t)(T * m->V) * sizeof(float)), *l2 = malloc((size_t)(T * m->V) * sizeof(float));
	int32_t next[9];
	struct ds_fwd_chunk c1 = { 1, 0, T }, c2 = { 2, 0, T };
	struct ds_fwd_batch b1 = { 1, &c1 }, b2 = { 1, &c2 };

	for (long i = 0; i < T * D; i++)
		h[i] = (float)(unit() - 0.5);
	for (long i = 0; i < T; i++)
		next[i] = (int32_t)(unit() * (double)m->V);
	check("ds_backend_mtp runs", !ds_backend_mtp(b, &b1, h, next, l1, &err));
	check("the MTP layer alone runs", !ds_backend_mtp_layer(b, &b2, h, next, out, &err));
	check("its head runs", !ds_backend_mtp_head(b, out, T, 0, l2, &err));
	check("layer then head equal ds_backend_mtp bit for bit",
	      !memcmp(l1, l2, (size_t)(T * m->V) * sizeof(float)));
	/* the head over the first 100 ids: their logits, -inf beyond */
	{
		int same = 1, inf = 1;

		check("the head over 100 ids runs", !ds_backend_mtp_head(b, out, T, 100, l1, &err));
		for (long r = 0; r < T; r++)
			for (long v = 0; v < m->V; v++) {
				float a = l1[r * m->V + v], e = l2[r * m->V + v];

				if (v < 100)
					same &= memcmp(&a, &e, sizeof(a)) == 0;
				else
					inf &= isinf(a) && a < 0;
			}
		check("its first 100 logits are the whole head's, bit for bit", same);
		check("and the others -inf", inf);
	}
	/* the drafter's way: the cache alone over rows 0..T-2, the layer over
	 * the last row; then one more row after each - same bits as the layer
	 * over every row (so the cache rows are the same too) */
	{
		struct ds_fwd_chunk c3 = { 3, 0, T - 1 };
		struct ds_fwd_batch b3 = { 1, &c3 };
		float *o3 = malloc(2 * (size_t)D * sizeof(float));
		int32_t more = next[0];

		check("the MTP cache alone runs", !ds_backend_mtp_cache(b, &b3, h, next, &err));
		c3 = (struct ds_fwd_chunk){ 3, T - 1, 1 };
		check("then the layer over the last row", !ds_backend_mtp_layer(b, &b3, h + (T - 1) * D, next + T - 1, o3, &err));
		check("its output is the last row of the layer over every row, bit for bit",
		      !memcmp(o3, out + (T - 1) * D, (size_t)D * sizeof(float)));
		c2 = (struct ds_fwd_chunk){ 2, T, 1 };
		c3 = (struct ds_fwd_chunk){ 3, T, 1 };
		check("a row after each runs", !ds_backend_mtp_layer(b, &b2, out + (T - 1) * D, &more, out, &err) &&
						 !ds_backend_mtp_layer(b, &b3, o3, &more, o3 + D, &err));
		check("and attends over equal caches: the same bits", !memcmp(out, o3 + D, (size_t)D * sizeof(float)));
		ds_backend_end_seq(b, 3);
		free(o3);
	}
	ds_backend_end_seq(b, 1);
	ds_backend_end_seq(b, 2);
	free(h);
	free(out);
	free(l1);
	free(l2);
}

#define GEN 40

/* Plain decoding: one row per pass, the sampler's next draw. */
static void plain_decode(struct ds_model *m, struct ds_backend *b, const struct ds_sample_params *p,
			 const int32_t *prompt, long n, int32_t *out)
{
	struct ds_error err = { 0 };
	struct ds_sampler *s = ds_sampler_new(p);
	struct ds_sample_result res;
	struct ds_frame f;
	float *h = malloc((size_t)(n * m->D) * sizeof(float));
	uint32_t dims[2] = { 1, (uint32_t)m->V };
	int32_t x;

	ds_frame_init(&f);
	ds_frame_setup(&f, DS_KIND_LOGITS, DS_F32, 2, dims);
	f.seq = 9;	/* the engine's: a sequence's draws depend on its id */
	ds_sampler_record(s, 9, 0, prompt, (size_t)n, &err);
	for (long pos = 0, len = n, i = 0; i < GEN; i++) {
		struct ds_fwd_chunk c = { 9, pos, len };
		struct ds_fwd_batch fb = { 1, &c };

		ds_embed_rows(&m->embed, i ? &x : prompt, len, h, &err);
		ds_backend_layers(b, &fb, h, &err);
		ds_backend_head(b, h + (len - 1) * m->D, 1, f.data, &err);
		f.pos = (uint64_t)(pos + len - 1);
		ds_sampler_next(s, &f, &res, &err);
		x = out[i] = res.token;
		pos += len;
		len = 1;
	}
	ds_backend_end_seq(b, 9);
	ds_frame_release(&f);
	ds_sampler_free(s);
	free(h);
}

static void test_engine(struct ds_model *m, struct ds_backend *b)
{
	static const double temps[] = { 0, 0.8, 4 };
	const int32_t prompt[6] = { 1, 17, 99, 4, 200, 31 };

	for (size_t t = 0; t < sizeof(temps) / sizeof(temps[0]); t++) {
		struct ds_sample_params p;
		int32_t want[GEN];

		ds_sample_params_default(&p);
		p.temperature = temps[t];
		p.repeat_penalty = 1.2;
		p.seed = 3;
		plain_decode(m, b, &p, prompt, 6, want);
		for (long k = 0; k <= 3 + 3; k++) {	/* 4..6: adaptive, up to k - 3 drafts */
			int adaptive = k > 3;
			struct ds_spec_engine e;
			struct ds_error err = { 0 };
			int32_t got[GEN + DS_SPEC_MAX_DRAFTS + 1];
			long have = 1, n, acc = 0, steps, played = 0;
			int rc;

			ds_spec_engine_init(&e, b, m, &p, adaptive ? k - 3 : k);
			ds_spec_set_adaptive(&e.d, adaptive);
			rc = ds_spec_engine_start(&e, 9, prompt, 6, &err);
			got[0] = e.x;
			while (!rc && have < GEN) {
				rc = ds_spec_engine_step(&e, got + have, &n, &err);
				have += n;
			}
			for (long j = 0; j < e.d.k; j++)
				acc += e.st.accepted[j];
			steps = e.st.steps;
			for (long j = 0; j <= e.d.k; j++)
				played += e.st.played[j];
			ds_spec_engine_end(&e);
			ds_spec_engine_release(&e);
			checkf(!rc && !memcmp(got, want, sizeof(want)), "engine with %s%ld drafts decodes as plain decoding, T=%g",
			       adaptive ? "adaptively 0.." : "", adaptive ? k - 3 : k, temps[t]);
			checkf(played == steps, "its passes counted by drafts, %ld drafts%s", k, adaptive ? " (adaptive)" : "");
			if (k)
				printf("# measured T=%g, %s%ld drafts: %ld accepted in %ld passes\n", temps[t],
				       adaptive ? "adaptively 0.." : "", adaptive ? k - 3 : k, acc, steps);
		}
	}
}

/* The adaptive policy on made-up passes: each count first tried
 * DS_SPEC_WARM times from K down, then the cheapest per token played,
 * with a neighbour every DS_SPEC_PROBE-th pass, and a change of costs
 * followed. */
static long play(struct ds_spec_adapt *a, const double *secs, const long *toks, long passes, long *counts)
{
	long k = 0;

	for (long i = 0; i <= a->kmax; i++)
		counts[i] = 0;
	for (long i = 0; i < passes; i++) {
		k = ds_spec_adapt_choose(a);
		counts[k]++;
		ds_spec_adapt_observe(a, k, secs[k], toks[k]);
	}
	return k;
}

static void test_adapt(void)
{
	struct ds_spec_adapt a;
	/* s/token: 1, 0.6, 0.75, 0.9 (k = 1 pays best) */
	double secs[4] = { 1.0, 1.2, 2.25, 3.6 };
	long toks[4] = { 1, 2, 3, 4 }, counts[4], order[2 * 4], ok = 1, last;

	ds_spec_adapt_init(&a, 3);
	for (long i = 0; i < 2 * 4; i++) {
		order[i] = ds_spec_adapt_choose(&a);
		ds_spec_adapt_observe(&a, order[i], secs[order[i]], toks[order[i]]);
	}
	for (long i = 0; i < 2 * 4; i++)
		ok &= order[i] == 3 - i / DS_SPEC_WARM;
	checkf(DS_SPEC_WARM == 2 && ok, "warm-up plays 3, 3, 2, 2, 1, 1, 0, 0");
	/* probes at passes PROBE, 3 PROBE, 7 PROBE (each that changes nothing
	 * doubles the wait), neighbours in turn: 2 (measured longer ago), 0, 2 */
	play(&a, secs, toks, 10 * DS_SPEC_PROBE, counts);
	checkf(DS_SPEC_PROBE_MAX >= 8 * DS_SPEC_PROBE && counts[1] == 10 * DS_SPEC_PROBE - 3 && counts[0] == 1 &&
		       counts[2] == 2 && counts[3] == 0,
	       "then the cheapest count (1) and its neighbours in turn, %d, %d, then %d passes apart: %ld %ld %ld %ld",
	       2 * DS_SPEC_PROBE, 4 * DS_SPEC_PROBE, 8 * DS_SPEC_PROBE, counts[0], counts[1], counts[2], counts[3]);
	/* drafts stop being accepted: k = 0 is best now */
	toks[1] = 1;
	toks[2] = 1;
	toks[3] = 1;
	play(&a, secs, toks, 4 * DS_SPEC_PROBE, counts);
	checkf(counts[0] >= 4 * DS_SPEC_PROBE - 16,
	       "when drafts stop paying the policy moves to none (%ld of %d passes)", counts[0], 4 * DS_SPEC_PROBE);
	play(&a, secs, toks, 4 * DS_SPEC_PROBE_MAX, counts);
	checkf(counts[0] + counts[1] == 4 * DS_SPEC_PROBE_MAX && counts[1] >= 4 && counts[1] <= 9,
	       "and stays there, trying 1 ever more rarely, at least once in %d passes (%ld, %ld of %d)",
	       DS_SPEC_PROBE_MAX, counts[0], counts[1], 4 * DS_SPEC_PROBE_MAX);
	/* and they pay again: k = 0 probes 1, which takes over, then 2 is found */
	toks[1] = 2;
	toks[2] = 3;
	secs[2] = 1.5;	/* 0.5 s/token */
	play(&a, secs, toks, DS_SPEC_PROBE_MAX + 4 * DS_SPEC_PROBE, counts);
	last = play(&a, secs, toks, 4 * DS_SPEC_PROBE, counts);
	checkf(last == 2 && counts[2] >= 4 * DS_SPEC_PROBE - 2,
	       "when they pay again it climbs back, to the new cheapest count (%ld %ld %ld %ld of %d passes)", counts[0],
	       counts[1], counts[2], counts[3], 4 * DS_SPEC_PROBE);
	ds_spec_adapt_init(&a, 0);
	checkf(ds_spec_adapt_choose(&a) == 0, "a policy of at most 0 drafts chooses 0");
}

int main(void)
{
	struct ds_model m;
	struct ds_backend *b = NULL;

	test_verify();
	test_verify_errors();
	test_held();
	test_adapt();
	if (open_model(tests_path("fixtures/models/v3-fp8"), &m, &b) == 0) {
		test_mtp_split(&m, b);
		test_engine(&m, b);
		ds_backend_free(b);
		ds_model_release(&m);
	} else {
		printf("skip - MTP and engine checks (no v3-fp8 fixture)\n");
	}
	return test_done();
}
