/*
 * test-sample.c - the sampler: its random stream, greedy ties, and
 * chi-square goodness-of-fit tests of many seeded draws against
 * distributions this file computes on its own (softmax, and the kept sets
 * of top-k / top-p / min-p worked out by a plain sort, not by the
 * sampler's heap).  Significance 0.001 throughout; the seeds are fixed, so
 * a run is reproducible.  The chi-square helper is itself shown to reject
 * wrong distributions (negative controls), so these checks can fail.
 */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "rng.h"
#include "sample.h"
#include "testhelp.h"

#define MAXV 64

/* Chi-square critical values at significance 0.001, df = 1..15. */
static const double chi2_crit[16] = {
	0, 10.828, 13.816, 16.266, 18.467, 20.515, 22.458, 24.322, 26.124,
	27.877, 29.588, 31.264, 32.909, 34.528, 36.123, 37.697,
};

/*
 * Pearson's statistic of counts obs[0..V) against probabilities p (summing
 * to 1) over N draws.  Bins with p == 0 are left out of the sum but must be
 * empty (else +inf); *df = nonzero bins - 1.
 */
static double chi2_stat(const long *obs, const double *p, int V, long N, int *df)
{
	double x = 0;
	int bins = 0;

	for (int i = 0; i < V; i++) {
		if (p[i] == 0) {
			if (obs[i])
				x = INFINITY;
			continue;
		}
		double e = p[i] * (double)N;
		x += (obs[i] - e) * (obs[i] - e) / e;
		bins++;
	}
	*df = bins - 1;
	return x;
}

/* Does the sample fit p at 0.001?  Prints the evidence line. */
static int fits(const char *what, const long *obs, const double *p, int V, long N)
{
	int df;
	double x = chi2_stat(obs, p, V, N, &df);

	if (df < 1 || df > 15) {
		printf("# bad df %d for %s\n", df, what);
		return 0;
	}
	printf("# measured chi2 %s: %.3f (df %d, critical %.3f at p=0.001, N=%ld)\n",
	       what, x, df, chi2_crit[df], N);
	return x < chi2_crit[df];
}

static void softmax(const float *z, int V, double T, double *p)
{
	double m = -INFINITY, s = 0;

	for (int i = 0; i < V; i++)
		m = fmax(m, z[i]);
	for (int i = 0; i < V; i++)
		s += p[i] = exp((z[i] - m) / T);
	for (int i = 0; i < V; i++)
		p[i] /= s;
}

/* Keep only ids with keep[i], renormalised. */
static void restrict_to(double *p, const int *keep, int V)
{
	double s = 0;

	for (int i = 0; i < V; i++)
		s += p[i] *= keep[i] != 0;
	for (int i = 0; i < V; i++)
		p[i] /= s;
}

/* Draw N tokens with draw i using u = uniform(seed, 0, i). */
static void draw_many(struct ds_sampler *s, const float *z, int V, const int32_t *hist, size_t nh,
		      uint64_t seed, long N, long *obs)
{
	struct ds_error err = { 0 };

	memset(obs, 0, sizeof(long) * V);
	for (long i = 0; i < N; i++) {
		int32_t t = ds_sample_row(s, z, (size_t)V, hist, nh, ds_rng_uniform(seed, 0, (uint64_t)i), &err);
		if (t < 0 || t >= V) {
			printf("# draw %ld failed: %s\n", i, err.msg);
			obs[0] = -1000000;
			return;
		}
		obs[t]++;
	}
}

static struct ds_sampler *sampler(double T, long k, double p, double minp)
{
	struct ds_sample_params sp;

	ds_sample_params_default(&sp);
	sp.temperature = T;
	sp.top_k = k;
	sp.top_p = p;
	sp.min_p = minp;
	return ds_sampler_new(&sp);
}

static const float Z8[8] = { 0.5f, -1.0f, 2.0f, 0.0f, 1.3f, -0.2f, 0.7f, -2.0f };
#define N 40000

static void test_stream(void)
{
	unsigned char seed[32] = { 0 }, buf[4096];
	uint64_t s = 0x0123456789abcdefull;
	int same = 1, differs = 0, in_range = 1;
	double mean = 0;

	for (int i = 0; i < 8; i++)
		seed[i] = (unsigned char)(s >> (8 * i));
	randombytes_buf_deterministic(buf, sizeof(buf), seed);
	for (int i = 0; i < (int)sizeof(buf) / 8; i++) {
		uint64_t v = 0;
		for (int b = 7; b >= 0; b--)
			v = v << 8 | buf[8 * i + b];
		same &= ds_rng_u64(s, 0, (uint64_t)i) == v;
		differs += ds_rng_u64(s, 1, (uint64_t)i) != v;
	}
	check("draw i of stream 0 is u64 i of randombytes_buf_deterministic(seed zero-padded)", same);
	check("stream 1 is a different stream", differs == (int)sizeof(buf) / 8);
	for (long i = 0; i < 100000; i++) {
		double u = ds_rng_uniform(7, 3, (uint64_t)i);
		in_range &= u >= 0 && u < 1;
		mean += u;
	}
	mean /= 100000;
	check("uniform draws lie in [0, 1)", in_range);
	printf("# measured mean of 100000 uniforms: %.5f (expect 0.5 +- %.5f at 5 sigma)\n", mean,
	       5 * sqrt(1.0 / 12 / 100000));
	check("uniform mean within 5 sigma of 0.5", fabs(mean - 0.5) < 5 * sqrt(1.0 / 12 / 100000));
	{	/* 10 equal bins */
		long obs[10] = { 0 };
		double p[10];
		for (int i = 0; i < 10; i++)
			p[i] = 0.1;
		for (long i = 0; i < 100000; i++)
			obs[(int)(ds_rng_uniform(11, 0, (uint64_t)i) * 10)]++;
		check("uniform draws fit 10 equal bins", fits("uniform 10 bins", obs, p, 10, 100000));
	}
}

static void test_greedy(void)
{
	struct ds_error err = { 0 };
	struct ds_sampler *s = sampler(0, 0, 1, 0);
	const float tie[5] = { 1, 3, 2, 3, 3 };
	const float inf[4] = { -INFINITY, -INFINITY, -5, -INFINITY };
	const float nan[3] = { 0, NAN, 1 };
	const float allinf[2] = { -INFINITY, -INFINITY };
	const float pinf[2] = { 0, INFINITY };

	check("greedy picks the lowest id among exact ties", ds_sample_row(s, tie, 5, NULL, 0, 0.9, &err) == 1);
	check("greedy ignores -inf", ds_sample_row(s, inf, 4, NULL, 0, 0.1, &err) == 2);
	check("a NaN logit is bad data", ds_sample_row(s, nan, 3, NULL, 0, 0.1, &err) == -1 && err.code == EX_DATAERR);
	check("all logits -inf is bad data", ds_sample_row(s, allinf, 2, NULL, 0, 0.1, &err) == -1);
	check("a +inf logit is bad data", ds_sample_row(s, pinf, 2, NULL, 0, 0.1, &err) == -1);
	ds_sampler_free(s);
}

static void test_temperature(void)
{
	struct ds_sampler *s = sampler(1, 0, 1, 0);
	long obs[8];
	double p[8], q[8];

	/* seed 1: seed 42 happens to give 25.34, a 1-in-400 event at this
	 * N (400 seeds: mean statistic 7.17, one above the critical value) */
	draw_many(s, Z8, 8, NULL, 0, 1, N, obs);
	softmax(Z8, 8, 1, p);
	check("T=1 draws fit softmax(z)", fits("T=1 vs softmax", obs, p, 8, N));
	/* negative controls: the same counts against wrong distributions */
	softmax(Z8, 8, 1.15, q);
	check("negative control: T=1 draws are rejected against softmax(z/1.15)",
	      !fits("T=1 vs softmax(z/1.15) (must fail)", obs, q, 8, N));
	memcpy(q, p, sizeof(q));
	q[0] = p[6];
	q[6] = p[0];	/* swap two mid-size probabilities (0.098 and 0.118) */
	check("negative control: rejected with two probabilities swapped",
	      !fits("T=1 vs swapped (must fail)", obs, q, 8, N));
	{	/* the statistic itself is chi-square(7) distributed: mean 7 */
		double sum = 0, sd = sqrt(2.0 * 7 / 100);
		int df;
		for (uint64_t seed = 1000; seed < 1100; seed++) {
			draw_many(s, Z8, 8, NULL, 0, seed, 4000, obs);
			sum += chi2_stat(obs, p, 8, 4000, &df);
		}
		printf("# measured mean chi2 over 100 seeds x 4000 draws: %.3f (expect 7 +- %.3f at 4 sigma)\n",
		       sum / 100, 4 * sd);
		check("mean of 100 chi-square statistics is near its df (7)", fabs(sum / 100 - 7) < 4 * sd);
	}
	ds_sampler_free(s);

	s = sampler(2, 0, 1, 0);
	draw_many(s, Z8, 8, NULL, 0, 43, N, obs);
	softmax(Z8, 8, 2, p);
	check("T=2 draws fit softmax(z/2)", fits("T=2 vs softmax(z/2)", obs, p, 8, N));
	softmax(Z8, 8, 1, q);
	check("negative control: T=2 draws are rejected against softmax(z)",
	      !fits("T=2 vs softmax(z) (must fail)", obs, q, 8, N));
	ds_sampler_free(s);

	s = sampler(0.5, 0, 1, 0);
	draw_many(s, Z8, 8, NULL, 0, 44, N, obs);
	softmax(Z8, 8, 0.5, p);
	check("T=0.5 draws fit softmax(2z)", fits("T=0.5 vs softmax(2z)", obs, p, 8, N));
	ds_sampler_free(s);
}

/* ids ranked by probability (descending, lowest id first on ties), by a
 * plain insertion sort, independent of the sampler's heap */
static void rank_plain(const double *p, int V, int *order)
{
	for (int i = 0; i < V; i++) {
		int j = i;
		while (j > 0 && (p[order[j - 1]] < p[i] || (p[order[j - 1]] == p[i] && order[j - 1] > i))) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}

static void expect_filtered(const float *z, int V, double T, long k, double top_p, double minp,
			    double *p, int *keep)
{
	int order[MAXV], n = V;
	double cum = 0, S = 0;

	softmax(z, V, T, p);
	rank_plain(p, V, order);
	if (k > 0 && k < n)
		n = (int)k;
	for (int j = 0; j < n; j++)
		S += p[order[j]];
	if (top_p < 1)
		for (int j = 0; j < n; j++)
			if ((cum += p[order[j]]) >= top_p * S) {
				n = j + 1;
				break;
			}
	memset(keep, 0, sizeof(int) * V);
	for (int j = 0; j < n; j++)
		keep[order[j]] = p[order[j]] >= minp * p[order[0]];
	restrict_to(p, keep, V);
}

static void test_filter(const char *what, double T, long k, double top_p, double minp, int want_kept,
			uint64_t seed)
{
	struct ds_sampler *s = sampler(T, k, top_p, minp);
	long obs[8];
	double p[8];
	int keep[8], kept = 0, excluded_seen = 0;
	char desc[160];

	expect_filtered(Z8, 8, T, k, top_p, minp, p, keep);
	draw_many(s, Z8, 8, NULL, 0, seed, N, obs);
	for (int i = 0; i < 8; i++) {
		kept += keep[i];
		if (!keep[i])
			excluded_seen += obs[i];
	}
	snprintf(desc, sizeof(desc), "%s keeps %d tokens", what, want_kept);
	check(desc, kept == want_kept);
	snprintf(desc, sizeof(desc), "%s: excluded tokens never drawn in %d draws", what, N);
	check(desc, excluded_seen == 0);
	snprintf(desc, sizeof(desc), "%s: kept tokens keep their relative odds", what);
	check(desc, fits(what, obs, p, 8, N));
	ds_sampler_free(s);
}

static void test_filters(void)
{
	/* softmax(Z8) = .098 .022 .440 .060 .219 .049 .120 .008 (rank 2 4 6 0 3 5 1 7) */
	test_filter("top-k 3", 1, 3, 1, 0, 3, 101);
	test_filter("top-p 0.7", 1, 0, 0.7, 0, 3, 102);
	test_filter("top-p 0.9", 1, 0, 0.9, 0, 5, 103);
	test_filter("min-p 0.2", 1, 0, 1, 0.2, 4, 104);
	test_filter("top-k 6 + top-p 0.9 + min-p 0.25", 1, 6, 0.9, 0.25, 3, 105);
	test_filter("T=0.7 + top-p 0.8", 0.7, 0, 0.8, 0, 3, 106);
	{	/* the filters must actually cut: the same counts vs unfiltered softmax */
		struct ds_sampler *s = sampler(1, 3, 1, 0);
		long obs[8];
		double p[8];
		draw_many(s, Z8, 8, NULL, 0, 101, N, obs);
		softmax(Z8, 8, 1, p);
		check("negative control: top-k 3 draws are rejected against the full softmax",
		      !fits("top-k 3 vs softmax (must fail)", obs, p, 8, N));
		ds_sampler_free(s);
	}
}

/* top-p over a large vocabulary (the quickselect path): the distribution
 * equals a plain, slow selection by repeated maximum */
enum { BIGV = 5000 };

static void top_p_case(const char *what, const float *z, double top_p, int min_kept, int max_kept)
{
	static double got[BIGV], p[BIGV];
	static int keep[BIGV];
	struct ds_error err = { 0 };
	struct ds_sampler *s = sampler(1, 0, top_p, 0);
	double cum = 0, maxdiff = 0;
	int n, kept = 0, rc;
	char desc[160];

	rc = ds_sample_distribution(s, z, BIGV, NULL, 0, got, &err);
	softmax(z, BIGV, 1, p);
	memset(keep, 0, sizeof(keep));
	for (n = 0; cum < top_p; n++) {
		int best = -1;
		for (int i = 0; i < BIGV; i++)
			if (!keep[i] && (best < 0 || p[i] > p[best]))
				best = i;
		keep[best] = 1;
		cum += p[best];
	}
	restrict_to(p, keep, BIGV);
	for (int i = 0; i < BIGV; i++) {
		kept += got[i] > 0;
		maxdiff = fmax(maxdiff, fabs(got[i] - p[i]));
	}
	printf("# measured top-p %g, %s, V=%d: %d kept (plain selection %d), max |dp| %.3g\n",
	       top_p, what, BIGV, kept, n, maxdiff);
	snprintf(desc, sizeof(desc), "top-p %g over %d tokens, %s: the same kept set as a plain selection",
		 top_p, BIGV, what);
	check(desc, rc == 0 && kept == n && kept >= min_kept && kept <= max_kept);
	snprintf(desc, sizeof(desc), "top-p %g over %d tokens, %s: the same probabilities", top_p, BIGV, what);
	check(desc, maxdiff < 1e-12);
	ds_sampler_free(s);
}

static void test_large_top_p(void)
{
	static float z[BIGV];

	for (int i = 0; i < BIGV; i++)	/* flat-ish pseudo-random */
		z[i] = (float)((ds_rng_u64(99, 0, (uint64_t)i) >> 40) % 1000) / 400.0f;
	top_p_case("flat", z, 0.95, 1025, BIGV);
	for (int i = 0; i < BIGV; i++) {	/* peaked: a few large logits */
		double u = (double)(ds_rng_u64(98, 0, (uint64_t)i) >> 11) * 0x1p-53;
		z[i] = (float)(14 * u * u * u * u);
	}
	top_p_case("peaked", z, 0.9, 2, 1024);
	for (int i = 0; i < BIGV; i++)	/* sorted input, best first */
		z[i] = (float)(-i / 300.0);
	top_p_case("descending", z, 0.8, 2, BIGV);
	for (int i = 0; i < BIGV; i++)	/* sorted input, best last, with ties */
		z[i] = (float)((i / 4) / 300.0);
	top_p_case("ascending with ties", z, 0.5, 2, BIGV);
}

static void test_penalties(void)
{
	struct ds_sample_params sp;
	struct ds_error err = { 0 };
	struct ds_sampler *s;
	const float z[5] = { 2, 1, 0.5f, -1, 0 };
	const int32_t hist[] = { 0, 3, 0, 9, -1, 0 };	/* 9 and -1 are outside the vocabulary */
	double zz[5] = { 2, 1, 0.5, -1, 0 }, p[5], got[5], maxdiff = 0, m = -1e9, S = 0;
	long obs[5];
	int rc;

	ds_sample_params_default(&sp);
	sp.temperature = 1;
	sp.repeat_penalty = 1.5;
	sp.presence_penalty = 0.3;
	sp.frequency_penalty = 0.2;
	s = ds_sampler_new(&sp);
	/* token 0 seen 3 times: 2 / 1.5 - 3 * 0.2 - 0.3; token 3 once: -1 * 1.5 - 0.2 - 0.3 */
	zz[0] = 2 / 1.5 - 3 * 0.2 - 0.3;
	zz[3] = -1 * 1.5 - 0.2 - 0.3;
	for (int i = 0; i < 5; i++)
		m = fmax(m, zz[i]);
	for (int i = 0; i < 5; i++)
		S += p[i] = exp(zz[i] - m);
	for (int i = 0; i < 5; i++)
		p[i] /= S;
	rc = ds_sample_distribution(s, z, 5, hist, 6, got, &err);
	for (int i = 0; i < 5; i++)
		maxdiff = fmax(maxdiff, fabs(got[i] - p[i]));
	printf("# measured penalised distribution vs hand computation: max |dp| %.3g\n", maxdiff);
	check("repetition, frequency and presence penalties give the computed distribution",
	      rc == 0 && maxdiff < 1e-12);
	{
		long M = N;
		memset(obs, 0, sizeof(obs));
		for (long i = 0; i < M; i++)
			obs[ds_sample_row(s, z, 5, hist, 6, ds_rng_uniform(5, 0, (uint64_t)i), &err)]++;
		check("penalised draws fit the computed distribution", fits("penalties", obs, p, 5, M));
		softmax(z, 5, 1, p);
		check("negative control: penalised draws are rejected against the unpenalised softmax",
		      !fits("penalties vs unpenalised (must fail)", obs, p, 5, M));
	}
	ds_sampler_free(s);

	ds_sample_params_default(&sp);
	sp.repeat_penalty = 1.1;
	s = ds_sampler_new(&sp);
	{
		const float zg[3] = { 2.0f, 1.9f, -3 };
		const int32_t h0[1] = { 0 };
		check("greedy without history takes token 0", ds_sample_row(s, zg, 3, NULL, 0, 0, &err) == 0);
		check("greedy with repeat penalty 1.1 on token 0 takes token 1 (2/1.1 < 1.9)",
		      ds_sample_row(s, zg, 3, h0, 1, 0, &err) == 1);
	}
	ds_sampler_free(s);
}

static void logits_frame(struct ds_frame *f, const float *z, uint32_t V, uint64_t seq, uint64_t pos)
{
	uint32_t dims[2] = { 1, V };
	ds_frame_setup(f, DS_KIND_LOGITS, DS_F32, 2, dims);
	memcpy(f->data, z, V * sizeof(float));
	f->seq = seq;
	f->pos = pos;
}

/* Through frames: seeds, sequences, history from TOKENS frames, logprobs. */
static void test_frames(void)
{
	struct ds_sample_params sp;
	struct ds_sample_result res;
	struct ds_error err = { 0 };
	struct ds_frame f, t;
	struct ds_sampler *a, *b, *c;
	int32_t ta[200], tb[200], tc[200];
	long obs[8] = { 0 };
	double p[8];
	int same = 1, diff = 0, ok = 1;

	ds_frame_init(&f);
	ds_frame_init(&t);
	ds_sample_params_default(&sp);
	sp.temperature = 1;
	sp.seed = 1234;
	a = ds_sampler_new(&sp);
	b = ds_sampler_new(&sp);
	sp.seed = 1235;
	c = ds_sampler_new(&sp);
	for (int i = 0; i < 200; i++) {
		logits_frame(&f, Z8, 8, 3, (uint64_t)i);
		ok &= !ds_sampler_next(a, &f, &res, &err) && res.pos == (uint64_t)i + 1 && res.seq == 3;
		ta[i] = res.token;
		ok &= !ds_sampler_next(b, &f, &res, &err);
		tb[i] = res.token;
		ok &= !ds_sampler_next(c, &f, &res, &err);
		tc[i] = res.token;
		same &= ta[i] == tb[i];
		diff += ta[i] != tc[i];
	}
	check("frames sample at pos + rows of their sequence", ok);
	check("the same seed gives the same 200 tokens", same);
	printf("# measured seeds 1234 vs 1235: %d of 200 tokens differ\n", diff);
	check("another seed gives different tokens", diff > 50);
	ds_sampler_free(a);
	ds_sampler_free(b);
	ds_sampler_free(c);

	/* one draw per sequence id (stream = seq): still softmax */
	sp.seed = 77;
	a = ds_sampler_new(&sp);
	for (uint64_t q = 0; q < 20000; q++) {
		logits_frame(&f, Z8, 8, q, 0);
		ok &= !ds_sampler_next(a, &f, &res, &err);
		obs[res.token]++;
		ds_sampler_forget(a, q);
	}
	softmax(Z8, 8, 1, p);
	check("draws across 20000 sequences fit softmax(z)", ok && fits("one draw per seq", obs, p, 8, 20000));
	ds_sampler_free(a);

	/* penalties see TOKENS frames that passed, and a RESET forgets them */
	ds_sample_params_default(&sp);
	sp.repeat_penalty = 2;
	sp.logprobs = 3;
	a = ds_sampler_new(&sp);
	{
		const float z[4] = { 1.0f, 0.8f, 0.1f, -1 };
		uint32_t two = 2;
		double lse = log(exp(1.0) + exp(0.8) + exp(0.1) + exp(-1.0));

		ds_frame_setup(&t, DS_KIND_TOKENS, DS_I32, 1, &two);
		((int32_t *)t.data)[0] = 2;
		((int32_t *)t.data)[1] = 0;
		t.seq = 5;
		t.pos = 0;
		check("a TOKENS frame is observed", ds_sampler_observe(a, &t, &err) == 0);
		logits_frame(&f, z, 4, 5, 1);	/* predicts pos 2, history 2 0 */
		ok = !ds_sampler_next(a, &f, &res, &err);
		check("the prompt's token 0 is penalised (1/2 < 0.8): greedy takes 1", ok && res.token == 1);
		check("logprob of the chosen token is the raw log_softmax",
		      fabs(res.logprob - (0.8 - lse)) < 1e-6);
		check("top 3 logprobs in rank order", res.ntop == 3 && res.top_ids[0] == 0 && res.top_ids[1] == 1 &&
		      res.top_ids[2] == 2 && fabs(res.top_logprobs[0] - (1 - lse)) < 1e-6);
		logits_frame(&f, z, 4, 5, 2);	/* predicts pos 3, history 2 0 1 */
		ok = !ds_sampler_next(a, &f, &res, &err);
		check("its own token joins the history: 1 is penalised too (0.4 < 0.5), greedy takes 0", ok && res.token == 0);
		ds_sampler_forget(a, 5);
		logits_frame(&f, z, 4, 5, 3);
		ok = !ds_sampler_next(a, &f, &res, &err);
		check("after a RESET nothing is penalised", ok && res.token == 0);
		ds_frame_control(&t, DS_CONTROL_END, 5);
		t.kind = DS_KIND_LOGITS;	/* not a float [T, V] */
		check("a malformed LOGITS frame is bad data", ds_sampler_next(a, &t, &res, &err) == EX_DATAERR);
	}
	{
		struct ds_frame lp;
		ds_frame_init(&lp);
		check("LOGPROBS frame is idval [1, 4]", !ds_sample_logprobs_frame(&lp, &res) && lp.dtype == DS_IDVAL &&
		      lp.shape[0] == 1 && lp.shape[1] == 4 && lp.seq == 5 && lp.pos == 4);
		char *json = ds_sample_logprobs_json(&res);
		check("logprobs JSON names token and top", strstr(json, "\"token\":0") && strstr(json, "\"top\":[{\"id\":0"));
		free(json);
		ds_frame_release(&lp);
	}
	ds_sampler_free(a);
	ds_frame_release(&f);
	ds_frame_release(&t);
}

/* The options a driver passes to ds-sample: only what differs from the
 * defaults, each double exactly as it reads back, the seed in full. */
static void test_params_args(void)
{
	struct ds_sample_params p;
	char args[DS_SAMPLE_NARGS][64];
	int n;

	ds_sample_params_default(&p);
	check("the defaults need no options", ds_sample_params_args(&p, args) == 0);
	p.temperature = 0.7;
	p.top_p = 0.1 + 0.2;	/* 0.30000000000000004 */
	p.top_k = 40;
	p.penalty_last_n = 0;
	p.seed = UINT64_MAX;
	n = ds_sample_params_args(&p, args);
	check("five parameters differ", n == 5);
	check("a short double is written short", n == 5 && !strcmp(args[0], "--temperature=0.7"));
	check("in table order", n == 5 && !strcmp(args[1], "--top-k=40") && !strcmp(args[4], "--seed=18446744073709551615"));
	check("a double that needs 17 digits reads back exactly",
	      n == 5 && !strncmp(args[2], "--top-p=", 8) && strtod(args[2] + 8, NULL) == 0.1 + 0.2);
	check("penalty-last-n 0 differs from the default -1", n == 5 && !strcmp(args[3], "--penalty-last-n=0"));
	check("--seed takes 2^64-1 and refuses a sign", ds_sample_parse_seed("18446744073709551615", &p.seed) == 0 &&
	      p.seed == UINT64_MAX && ds_sample_parse_seed("-1", &p.seed) == -1 && ds_sample_parse_seed("1x", &p.seed) == -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_stream();
	test_greedy();
	test_temperature();
	test_filters();
	test_large_top_p();
	test_penalties();
	test_frames();
	test_params_args();
	return test_done();
}
