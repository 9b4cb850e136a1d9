/*
 * test-score.c - score.h on hand-computed cases: log-sum-exp and argmax
 * edge cases, KL divergence in closed form, the scorer's pairing of rows
 * with tokens in either arrival order, request boundaries and the errors.
 * And the model fixtures' transformers logits (tests/fixtures/models/NAME):
 * perplexity and KL against their bf16 rounding, compared with numpy's
 * values in tests/reference/sample/model-scores.txt.
 * (The synthetic values against numpy are tests/3110-score-reference.sh.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "safetensors.h"
#include "score.h"
#include "tensor.h"
#include "testhelp.h"

static void tokens_frame(struct ds_frame *f, const int32_t *ids, uint32_t n, uint64_t seq, uint64_t pos)
{
	ds_frame_setup(f, DS_KIND_TOKENS, DS_I32, 1, &n);
	memcpy(f->data, ids, n * sizeof(*ids));
	f->seq = seq;
	f->pos = pos;
}

static void logits_frame(struct ds_frame *f, const float *z, uint32_t rows, uint32_t V, uint64_t seq,
			 uint64_t pos)
{
	uint32_t dims[2] = { rows, V };
	ds_frame_setup(f, DS_KIND_LOGITS, DS_F32, 2, dims);
	memcpy(f->data, z, (size_t)rows * V * sizeof(float));
	f->seq = seq;
	f->pos = pos;
}

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-12 * fmax(1, fabs(b));
}

static void test_rows(void)
{
	const float a[3] = { 0, 0, -INFINITY }, ninf[2] = { -INFINITY, -INFINITY };
	const float tie[4] = { 1, 5, 5, 2 }, nan1[3] = { NAN, 1, 0 };
	const float p[2] = { 0, 0 }, q[2] = { 0, (float)log(3.0) }, qz[2] = { -INFINITY, 0 };
	const float pz[3] = { 0, -INFINITY, 0 }, qq[3] = { 1, -INFINITY, 0 };

	check("logsumexp(0, 0, -inf) = ln 2", near(ds_logsumexp(a, 3), log(2.0)));
	check("logsumexp of all -inf is -inf", ds_logsumexp(ninf, 2) == -INFINITY);
	check("argmax takes the lowest id among ties", ds_argmax(tie, 4) == 1);
	check("argmax passes over NaN", ds_argmax(nan1, 3) == 1);
	check("KL of a distribution with itself is 0", ds_kl_divergence(tie, tie, 4) == 0);
	check("KL((.5,.5) || (.25,.75)) in closed form",
	      fabs(ds_kl_divergence(p, q, 2) - (0.5 * log(2.0) + 0.5 * log(2.0 / 3))) < 1e-7);
	check("KL is +inf where Q is 0 and P is not", isinf(ds_kl_divergence(p, qz, 2)));
	check("terms where P is 0 do not count",
	      fabs(ds_kl_divergence(pz, qq, 3) - (log(0.5) - 0.5 * log(exp(1) / (exp(1) + 1)) -
						 0.5 * log(1 / (exp(1) + 1)))) < 1e-7);
}

/* Three tokens 1 1 1 over V = 2; rows 0 and 1 score tokens 1 and 2:
 * row (0, 1) greedy for 1, row (2, 0) not. */
static const int32_t TOK[3] = { 1, 1, 1 };
static const float LOG[6] = { 0, 1, 2, 0, 0, 0 };

static void test_scorer(int logits_first)
{
	struct ds_error err = { 0 };
	struct ds_scorer *sc = ds_scorer_new();
	struct ds_score_seq s;
	struct ds_frame t, l;
	double lp1 = 1 - log(1 + exp(1)), lp2 = 0 - log(exp(2) + 1);
	char desc[128];
	int rc;

	ds_frame_init(&t);
	ds_frame_init(&l);
	tokens_frame(&t, TOK, 3, 4, 0);
	logits_frame(&l, LOG, 3, 2, 4, 0);
	if (logits_first)
		rc = ds_scorer_logits(sc, &l, &err) || ds_scorer_tokens(sc, &t, &err);
	else
		rc = ds_scorer_tokens(sc, &t, &err) || ds_scorer_logits(sc, &l, &err);
	snprintf(desc, sizeof(desc), "%s first: frames accepted", logits_first ? "LOGITS" : "TOKENS");
	check(desc, rc == 0);
	snprintf(desc, sizeof(desc), "%s first: two tokens scored in position order", logits_first ? "LOGITS" : "TOKENS");
	check(desc, ds_scorer_finish(sc, 4, &s) == 1 && s.n == 2 && s.tok[0].pos == 1 && s.tok[1].pos == 2);
	snprintf(desc, sizeof(desc), "%s first: log-probabilities and greedy flags", logits_first ? "LOGITS" : "TOKENS");
	check(desc, near(s.tok[0].logprob, lp1) && near(s.tok[1].logprob, lp2) && s.tok[0].greedy && !s.tok[1].greedy);
	ds_score_seq_release(&s);
	check("a finished sequence is gone", ds_scorer_finish(sc, 4, &s) == 0);
	ds_scorer_free(sc);
	ds_frame_release(&t);
	ds_frame_release(&l);
}

static void test_requests(void)
{
	struct ds_error err = { 0 };
	struct ds_scorer *sc = ds_scorer_new();
	struct ds_score_seq s;
	struct ds_frame f;
	cJSON *o;
	const int32_t ctx[2] = { 1, 0 }, cont[1] = { 1 };
	double lp2 = 0 - log(exp(2) + 1);
	uint16_t bf[6];

	ds_frame_init(&f);
	/* context at 0..1, its logits (row 1 waits), continuation at 2, bf16 logits */
	tokens_frame(&f, ctx, 2, 9, 0);
	ds_scorer_tokens(sc, &f, &err);
	for (int i = 0; i < 6; i++)
		bf[i] = ds_f32_to_bf16(LOG[i]);
	logits_frame(&f, LOG, 2, 2, 9, 0);
	f.dtype = DS_BF16;
	f.nbytes = sizeof(bf);
	memcpy(f.data, bf, sizeof(bf));
	check("bf16 LOGITS are accepted", ds_scorer_logits(sc, &f, &err) == 0);
	tokens_frame(&f, cont, 1, 9, 2);
	ds_scorer_tokens(sc, &f, &err);
	ds_scorer_finish(sc, 9, &s);
	o = ds_score_request_json(&s, &err);
	check("request: loglikelihood of the continuation only",
	      o && near(cJSON_GetObjectItem(o, "loglikelihood")->valuedouble, lp2));
	check("request: not greedy (row 1 prefers token 0)", o && cJSON_IsFalse(cJSON_GetObjectItem(o, "is_greedy")));
	cJSON_Delete(o);
	ds_score_seq_release(&s);

	tokens_frame(&f, ctx, 2, 10, 0);
	ds_scorer_tokens(sc, &f, &err);
	ds_scorer_finish(sc, 10, &s);
	check("a request with no context is refused", !ds_score_request_json(&s, &err) && err.code == EX_DATAERR);
	ds_score_seq_release(&s);
	tokens_frame(&f, ctx, 2, 11, 0);
	ds_scorer_tokens(sc, &f, &err);
	tokens_frame(&f, cont, 1, 11, 2);
	ds_scorer_tokens(sc, &f, &err);
	ds_scorer_finish(sc, 11, &s);
	check("a request whose continuation has no logits is refused", !ds_score_request_json(&s, &err));
	ds_score_seq_release(&s);

	{
		const int32_t big[2] = { 0, 7 };
		tokens_frame(&f, big, 2, 12, 0);
		ds_scorer_tokens(sc, &f, &err);
		logits_frame(&f, LOG, 1, 2, 12, 0);
		check("a token outside the row's vocabulary is bad data", ds_scorer_logits(sc, &f, &err) == EX_DATAERR);
	}
	ds_scorer_free(sc);
	ds_frame_release(&f);
}

static void test_kl(void)
{
	struct ds_error err = { 0 };
	struct ds_kl *kl = ds_kl_new();
	struct ds_frame b, x;
	const float run[6] = { 0, 1, 2, 0, 0, 1 };
	cJSON *o;

	ds_frame_init(&b);
	ds_frame_init(&x);
	logits_frame(&b, LOG, 3, 2, 0, 0);
	logits_frame(&x, run, 3, 2, 0, 1);
	check("frames at other positions do not line up", ds_kl_logits(kl, &b, &x, &err) == EX_DATAERR);
	x.pos = 0;
	check("matching frames are compared", ds_kl_logits(kl, &b, &x, &err) == 0);
	o = ds_kl_json(kl);
	check("3 positions, 2 of 3 agree on the top token (row 2: 0 by the tie vs 1)",
	      cJSON_GetObjectItem(o, "positions")->valuedouble == 3 &&
	      near(cJSON_GetObjectItem(o, "top1_agreement_pct")->valuedouble, 200.0 / 3));
	check("KL median is 0 (two identical rows)",
	      cJSON_GetObjectItem(cJSON_GetObjectItem(o, "kld"), "median")->valuedouble == 0);
	check("no tokens: perplexity is NaN (printed null)", isnan(cJSON_GetObjectItem(o, "ppl")->valuedouble));
	cJSON_Delete(o);
	ds_kl_free(kl);
	ds_frame_release(&b);
	ds_frame_release(&x);
}

static void test_request_parse(void)
{
	struct ds_error err = { 0 };
	char *c, *x;
	int rc;

	rc = ds_score_request_parse("{\"context\": \"Question: 2+2? Answer:\", \"continuation\": \" 4\"}", &c, &x, &err);
	check("a request line parses", rc == 0 && !strcmp(c, "Question: 2+2? Answer:") && !strcmp(x, " 4"));
	free(c);
	free(x);
	rc = ds_score_request_parse("{\"continuation\":\"b\",\"context\":\"a \\t\\u00a0\\u3000\",\"x\":1}", &c, &x, &err);
	check("trailing whitespace (ASCII, NBSP, ideographic space) moves to the continuation",
	      rc == 0 && !strcmp(c, "a") && !strcmp(x, " \t\xc2\xa0\xe3\x80\x80" "b"));
	free(c);
	free(x);
	rc = ds_score_request_parse("{\"context\":\"caf\\u00e9\",\"continuation\":\"\"}", &c, &x, &err);
	check("a non-space last character stays", rc == 0 && !strcmp(c, "caf\xc3\xa9") && !strcmp(x, ""));
	free(c);
	free(x);
	rc = ds_score_request_parse("{\"context\":\"a\xc0\xa0 \",\"continuation\":\"b\"}", &c, &x, &err);
	check("an overlong (invalid) UTF-8 space is not whitespace",
	      rc == 0 && !strcmp(c, "a\xc0\xa0") && !strcmp(x, " b"));
	free(c);
	free(x);
	check("a line without continuation is bad data",
	      ds_score_request_parse("{\"context\":\"a\"}", &c, &x, &err) == EX_DATAERR && !c && !x);
	check("a line that is not JSON is bad data", ds_score_request_parse("context: a", &c, &x, &err) == EX_DATAERR);
	check("a non-string continuation is bad data",
	      ds_score_request_parse("{\"context\":\"a\",\"continuation\":3}", &c, &x, &err) == EX_DATAERR);
}

/* "NAME.key value" from model-scores.txt; NAN when absent */
static double ref_value(const char *file, const char *name, const char *key)
{
	char line[256], want[160];
	double v = NAN;
	FILE *fp = fopen(file, "r");

	if (!fp)
		return NAN;
	snprintf(want, sizeof(want), "%s.%s ", name, key);
	while (fgets(line, sizeof(line), fp))
		if (!strncmp(line, want, strlen(want)))
			v = strtod(line + strlen(want), NULL);
	fclose(fp);
	return v;
}

static int close_to(double got, double want)
{
	return !isnan(want) && fabs(got - want) <= 1e-9 * fmax(1, fabs(want));
}

static void test_model(const char *dir, const char *name)
{
	char path[512], ref[512];
	struct ds_error err = { 0 };
	struct ds_st_file st;
	const struct ds_tensor_info *ids = NULL, *lg = NULL;
	struct ds_frame t, l, q;
	struct ds_score_total tot = { 0 };
	struct ds_scorer *sc;
	struct ds_score_seq s;
	struct ds_kl *kl;
	cJSON *o, *k;
	size_t greedy = 0;
	int ok;

	snprintf(path, sizeof(path), "%s/fixtures/models/%s/expected.safetensors", dir, name);
	snprintf(ref, sizeof(ref), "%s/reference/sample/model-scores.txt", dir);
	if (ds_st_open(&st, path, &err)) {
		printf("skip - model fixture %s (%s)\n", name, err.msg);
		return;
	}
	for (int i = 0; i < st.ntensors; i++) {
		if (!strcmp(st.tensors[i].name, "input_ids"))
			ids = &st.tensors[i];
		if (!strcmp(st.tensors[i].name, "logits"))
			lg = &st.tensors[i];
	}
	ok = ids && lg && ids->dtype == DS_I32 && lg->dtype == DS_F32 && ids->ndim == 1 && lg->ndim == 2 &&
	     ids->shape[0] == lg->shape[0];
	checkf(ok, "%s: expected.safetensors holds input_ids I32 [T] and logits F32 [T, V]", name);
	if (!ok) {
		ds_st_release(&st);
		return;
	}
	ds_frame_init(&t);
	ds_frame_init(&l);
	ds_frame_init(&q);
	{
		uint32_t T = (uint32_t)ids->shape[0], dims[2] = { T, (uint32_t)lg->shape[1] };
		ds_frame_setup(&t, DS_KIND_TOKENS, DS_I32, 1, &T);
		memcpy(t.data, ids->data, t.nbytes);
		ds_frame_setup(&l, DS_KIND_LOGITS, DS_F32, 2, dims);
		memcpy(l.data, lg->data, l.nbytes);
		ds_frame_setup(&q, DS_KIND_LOGITS, DS_F32, 2, dims);
		for (size_t i = 0; i < l.nbytes / 4; i++)	/* a "quantised run": bf16 logits */
			((float *)q.data)[i] = ds_bf16_to_f32(ds_f32_to_bf16(((float *)l.data)[i]));
	}
	sc = ds_scorer_new();
	ok = !ds_scorer_tokens(sc, &t, &err) && !ds_scorer_logits(sc, &l, &err) && ds_scorer_finish(sc, 0, &s);
	ds_score_total_add(&tot, &s);
	for (size_t i = 0; i < s.n; i++)
		greedy += (size_t)s.tok[i].greedy;
	printf("# measured %s: %zu tokens, total %.12g (numpy %.12g), perplexity %.9g\n", name, tot.count,
	       tot.total, ref_value(ref, name, "total"), exp(-tot.total / (double)tot.count));
	checkf(ok && tot.count == (size_t)ref_value(ref, name, "count") && close_to(tot.total, ref_value(ref, name, "total")) &&
	       close_to(exp(-tot.total / (double)tot.count), ref_value(ref, name, "perplexity")) &&
	       greedy == (size_t)ref_value(ref, name, "greedy_matches"),
	       "%s: log-likelihood, perplexity and greedy matches of the transformers logits match numpy", name);
	ds_score_seq_release(&s);
	ds_scorer_free(sc);

	kl = ds_kl_new();
	t.seq = l.seq = q.seq = 0;
	ok = !ds_kl_tokens(kl, &t, &err) && !ds_kl_logits(kl, &l, &q, &err);
	o = ds_kl_json(kl);
	k = cJSON_GetObjectItem(o, "kld");
	printf("# measured %s vs its bf16 rounding: KL mean %.6g max %.6g, top-1 %.4g%%\n", name,
	       cJSON_GetObjectItem(k, "mean")->valuedouble, cJSON_GetObjectItem(k, "max")->valuedouble,
	       cJSON_GetObjectItem(o, "top1_agreement_pct")->valuedouble);
	checkf(ok && close_to(cJSON_GetObjectItem(k, "mean")->valuedouble, ref_value(ref, name, "kl_bf16_mean")) &&
	       close_to(cJSON_GetObjectItem(k, "max")->valuedouble, ref_value(ref, name, "kl_bf16_max")) &&
	       close_to(cJSON_GetObjectItem(o, "top1_agreement_pct")->valuedouble, ref_value(ref, name, "kl_bf16_top1_pct")),
	       "%s: KL and top-1 agreement against bf16-rounded logits match numpy", name);
	cJSON_Delete(o);
	ds_kl_free(kl);
	ds_frame_release(&t);
	ds_frame_release(&l);
	ds_frame_release(&q);
	ds_st_release(&st);
}

int main(void)
{
	const char *dir = getenv("DS_TESTS") ? getenv("DS_TESTS") : "tests";
	static const char *const models[] = { "v3-fp8", "v2-lite-bf16", "moonlight-f16", "yarn-long" };

	test_rows();
	test_scorer(0);
	test_scorer(1);
	test_requests();
	test_kl();
	test_request_parse();
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		test_model(dir, models[i]);
	return test_done();
}
