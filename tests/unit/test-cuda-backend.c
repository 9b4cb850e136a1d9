/*
 * test-cuda-backend.c - the CUDA backend against the CPU backend, through
 * backend.h only (so the same program checks the emulated tree in CI and a
 * GPU in make cuda-test; without a device it is one skip).
 *
 *   test-cuda-backend [fixtures]       every fixture under tests/fixtures/models
 *   test-cuda-backend greedy DIR N     N greedy tokens on the model in DIR
 *
 * Default mode (W8A16: weights in their dtype, BF16 products above
 * DSC_DECODE_ROWS rows, BF16 latent cache), per fixture, the whole
 * sequence as one frame: the worst row's max |dlogit| / max |logit| against
 * the CPU (bar 2e-2; rows whose experts changed at a routing margin under
 * 1e-3 reported apart), the same argmax wherever the CPU's top-2 gap exceeds
 * the bar (rows without a routing change), the same expert sets wherever the routing margin (from the CPU's
 * MoE input and the f32 router) exceeds 1e-3.  On v3-fp8's first 20
 * positions, the decode path:
 * replayed CUDA graphs give the bits of eager steps, two sequences batched
 * give the bits of each alone, and a prompt + one-token frames stays within
 * the bar of the whole frame (in exact mode: within 1e-5).  Greedy: the CPU
 * and the default mode produce the same N tokens.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "backend.h"
#include "mat.h"
#include "safetensors.h"
#include "fixturehelp.h"
#include "testhelp.h"

#define BAR 2e-2
#define ROUTE_MARGIN 1e-3

struct cap {
	const struct ds_model *m;
	float **moe_in;		/* [L] -> [T][D] */
	int32_t **ids;		/* [L] -> [T][K] */
};

static void cap_moe(void *ctx, long layer, long row0, long n, const float *b)
{
	struct cap *c = ctx;

	if (layer < c->m->L && c->moe_in)
		memcpy(c->moe_in[layer] + row0 * c->m->D, b, (size_t)(n * c->m->D) * sizeof(float));
}

static void cap_routes(void *ctx, long layer, long row0, long n, const int32_t *ids, const float *w)
{
	struct cap *c = ctx;

	(void)w;
	if (layer < c->m->L)
		memcpy(c->ids[layer] + row0 * c->m->K, ids, (size_t)(n * c->m->K) * sizeof(int32_t));
}

static void cap_alloc(struct cap *c, const struct ds_model *m, long T, int moe)
{
	c->m = m;
	c->moe_in = moe ? calloc((size_t)m->L, sizeof(float *)) : NULL;
	c->ids = calloc((size_t)m->L, sizeof(int32_t *));
	for (long i = 0; i < m->L; i++) {
		if (moe)
			c->moe_in[i] = calloc((size_t)(T * m->D), sizeof(float));
		c->ids[i] = calloc((size_t)(T * (m->K > 0 ? m->K : 1)), sizeof(int32_t));
	}
}

static void cap_free(struct cap *c)
{
	for (long i = 0; i < c->m->L; i++) {
		if (c->moe_in)
			free(c->moe_in[i]);
		free(c->ids[i]);
	}
	free(c->moe_in);
	free(c->ids);
}

/* A backend on "cpu" or "cuda"; the CUDA mode comes from the environment
 * at open (DS_CUDA_EXACT, DS_CUDA_GRAPHS). */
static struct ds_backend *open_dev(const struct ds_model *m, const char *dev, int exact, int graphs)
{
	struct ds_backend_opts o = { .device = dev, .last = m->L };
	struct ds_backend *b = NULL;
	struct ds_error err = { 0 };

	setenv("DS_CUDA_EXACT", exact ? "1" : "0", 1);
	setenv("DS_CUDA_GRAPHS", graphs ? "1" : "0", 1);
	if (ds_backend_open(&b, m, &o, &err)) {
		printf("not ok - cuda-emu: open %s: %s\n", dev, err.msg);
		return NULL;
	}
	return b;
}

/* The sequence as one frame (seq 0): logits [T][V], captures when c. */
static int run_whole(struct ds_backend *b, const struct ds_model *m, const int32_t *ids, long T, float *logits,
		     struct cap *c)
{
	struct ds_fwd_hooks hk = { c, NULL, c && c->moe_in ? cap_moe : NULL, cap_routes };
	struct ds_fwd_chunk ch = { 0, 0, T };
	struct ds_fwd_batch batch = { 1, &ch };
	struct ds_error err = { 0 };
	float *h = malloc((size_t)(T * m->D) * sizeof(float));
	int rc;

	if (c)
		ds_backend_set_hooks(b, &hk);
	rc = ds_embed_rows(&m->embed, ids, T, h, &err) || ds_backend_layers(b, &batch, h, &err) ||
	     ds_backend_head(b, h, T, logits, &err);
	ds_backend_set_hooks(b, NULL);
	ds_backend_end_seq(b, 0);
	if (rc)
		printf("# %s\n", err.msg);
	free(h);
	return rc;
}

/* A prompt of P rows, then one-token steps; nseq copies of the sequence
 * (seq 10, 11, ...) side by side in every batch.  logits [nseq][T][V]:
 * every row of the prompt and each step's row. */
static int run_steps(struct ds_backend *b, const struct ds_model *m, const int32_t *ids, long T, long P, int nseq,
		     float *logits)
{
	struct ds_fwd_chunk ch[4];
	struct ds_error err = { 0 };
	long D = m->D, V = m->V;
	float *h = malloc((size_t)(nseq * P * D) * sizeof(float));
	float *lg = malloc((size_t)(nseq * P * V) * sizeof(float));
	int rc = 0;

	for (long p = 0; p < T && !rc;) {
		long n = p == 0 ? P : 1;
		struct ds_fwd_batch batch = { nseq, ch };

		for (int s = 0; s < nseq; s++) {
			ch[s].seq = 10 + (uint64_t)s;
			ch[s].pos = p;
			ch[s].n = n;
			rc = rc || ds_embed_rows(&m->embed, ids + p, n, h + s * n * D, &err);
		}
		rc = rc || ds_backend_layers(b, &batch, h, &err) || ds_backend_head(b, h, nseq * n, lg, &err);
		for (int s = 0; s < nseq && !rc; s++)
			memcpy(logits + ((size_t)s * T + p) * V, lg + s * n * V, (size_t)(n * V) * sizeof(float));
		p += n;
	}
	for (int s = 0; s < nseq; s++)
		ds_backend_end_seq(b, 10 + (uint64_t)s);
	if (rc)
		printf("# %s\n", err.msg);
	free(h);
	free(lg);
	return rc;
}

/* argmax, and the gap to the second largest relative to max |v| */
static long top1(const float *v, long n, double *gap)
{
	long b = 0, s = -1;
	double mx = 1e-30;

	for (long i = 0; i < n; i++) {
		mx = fabs(v[i]) > mx ? fabs(v[i]) : mx;
		if (v[i] > v[b])
			b = i;
	}
	for (long i = 0; i < n; i++)
		if (i != b && (s < 0 || v[i] > v[s]))
			s = i;
	if (gap)
		*gap = s < 0 ? INFINITY : ((double)v[b] - v[s]) / mx;
	return b;
}

static int cmp_desc(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* How far the choice is from changing: the gap between the last kept and
 * the first dropped group score, and between the K-th and the (K+1)-th
 * choice score among the kept groups' experts (route.h's rules, in
 * double; only the gaps, the choice itself is ds_router_select's). */
static double route_margin(const struct ds_model *m, const struct ds_layer *ly, const float *x)
{
	const struct ds_config *c = &m->cfg;
	long E = m->E, K = m->K, G = c->n_group > 0 ? c->n_group : 1, kg = c->topk_group > 0 ? c->topk_group : G;
	int sig = c->scoring_func == DS_SCORING_SIGMOID, grouped = c->topk_method != DS_TOPK_GREEDY && kg < G;
	double z[1024], s[1024], gs[64], sorted[1024], mx = -INFINITY, sum = 0, margin = INFINITY;
	int keep[64] = { 0 };
	long per = E / G, nk = 0;

	if (E > 1024 || G > 64)
		return INFINITY;
	for (long e = 0; e < E; e++) {
		double d = 0;

		for (long k = 0; k < m->D; k++)
			d += (double)ds_mat_get(&ly->gate, e, k) * x[k];
		z[e] = d;
		mx = d > mx ? d : mx;
	}
	for (long e = 0; e < E; e++) {
		s[e] = sig ? 1 / (1 + exp(-z[e])) : exp(z[e] - mx);
		sum += s[e];
	}
	for (long e = 0; e < E; e++) {
		if (!sig)
			s[e] /= sum;
		else if (ly->gate_bias)
			s[e] += ly->gate_bias[e];
	}
	for (long g = 0; g < G; g++) {
		double a = -INFINITY, b2 = -INFINITY;

		for (long e = g * per; e < (g + 1) * per; e++) {
			if (s[e] > a) {
				b2 = a;
				a = s[e];
			} else if (s[e] > b2) {
				b2 = s[e];
			}
		}
		gs[g] = sig ? a + b2 : a;
		keep[g] = !grouped;
	}
	if (grouped) {
		double gsort[64];

		memcpy(gsort, gs, (size_t)G * sizeof(double));
		qsort(gsort, (size_t)G, sizeof(double), cmp_desc);
		margin = gsort[kg - 1] - gsort[kg];
		for (long g = 0, taken = 0; g < G; g++)
			if (gs[g] >= gsort[kg - 1] && taken < kg) {
				keep[g] = 1;
				taken++;
			}
	}
	for (long e = 0; e < E; e++)
		if (keep[e / per])
			sorted[nk++] = s[e];
	qsort(sorted, (size_t)nk, sizeof(double), cmp_desc);
	if (nk > K && sorted[K - 1] - sorted[K] < margin)
		margin = sorted[K - 1] - sorted[K];
	return margin;
}

/* Default mode against the CPU on one fixture's input_ids. */
static void default_mode(const char *name, const struct ds_model *m, const int32_t *ids, long T)
{
	struct ds_backend *cpu = open_dev(m, "cpu", 0, 1), *cu = open_dev(m, "cuda", 0, 1);
	long V = m->V, K = m->K, rows_flip = 0, sets = 0, sets_same = 0, sets_bad = 0, am = 0, am_same = 0;
	double worst = 0, worst_clean = 0, min_bad = INFINITY;
	float *lc = malloc((size_t)(T * V) * sizeof(float)), *lg = malloc((size_t)(T * V) * sizeof(float));
	struct cap cc, cg;
	int rc;

	cap_alloc(&cc, m, T, 1);
	cap_alloc(&cg, m, T, 0);
	rc = !cpu || !cu || run_whole(cpu, m, ids, T, lc, &cc) || run_whole(cu, m, ids, T, lg, &cg);
	checkf(!rc, "cuda-emu: %s: default mode runs next to the CPU", name);
	for (long t = 0; !rc && t < T; t++) {
		int flipped = 0;
		double e = fixture_rel_err(lg + t * V, lc + t * V, V), gap;

		for (long i = 0; i < m->L; i++) {
			int same;
			double mg;

			if (!ds_model_layer_is_moe(m, i))
				continue;
			same = !memcmp(cc.ids[i] + t * K, cg.ids[i] + t * K, (size_t)K * sizeof(int32_t));
			mg = route_margin(m, &m->layers[i], cc.moe_in[i] + t * m->D);
			sets++;
			sets_same += same;
			if (!same) {
				flipped = 1;
				if (mg > ROUTE_MARGIN)
					sets_bad++;
				min_bad = mg < min_bad ? mg : min_bad;
			}
		}
		rows_flip += flipped;
		worst = e > worst ? e : worst;
		if (!flipped)
			worst_clean = e > worst_clean ? e : worst_clean;
		if (!flipped && top1(lc + t * V, V, &gap) >= 0 && gap > 2 * BAR) {
			am++;
			am_same += top1(lg + t * V, V, NULL) == top1(lc + t * V, V, NULL);
		}
	}
	printf("# measured cuda-emu %s default mode vs CPU: max|dlogit|/max|logit| %.3g over %ld rows, %.3g over the %ld rows "
	       "without a routing change; expert sets equal %ld/%ld, changed at routing margins <= %.3g (%ld above %g); "
	       "argmax equal %ld/%ld of those rows where the CPU's top-2 gap > %g\n",
	       name, worst, T, worst_clean, T - rows_flip, sets_same, sets, min_bad == INFINITY ? 0 : min_bad, sets_bad,
	       ROUTE_MARGIN, am_same, am, 2 * BAR);
	checkf(!rc && worst_clean <= BAR, "cuda-emu: %s: default-mode logits within %g of the CPU's (%.3g)", name, BAR,
	       worst_clean);
	checkf(!rc && sets_bad == 0, "cuda-emu: %s: same expert sets wherever the routing margin exceeds %g", name,
	       ROUTE_MARGIN);
	checkf(!rc && am_same == am, "cuda-emu: %s: same argmax wherever the top-2 gap exceeds %g", name, 2 * BAR);
	cap_free(&cc);
	cap_free(&cg);
	free(lc);
	free(lg);
	ds_backend_free(cpu);
	ds_backend_free(cu);
}

/* The decode path on one fixture: graphs against eager steps, batched
 * sequences against one alone, steps against the whole frame. */
static void decode_path(const char *name, const struct ds_model *m, const int32_t *ids, long T)
{
	long V = m->V, P = 5;
	size_t one = (size_t)(T * V);
	float *whole = malloc(one * sizeof(float)), *a = malloc(3 * one * sizeof(float)),
	      *b = malloc(3 * one * sizeof(float));
	struct ds_backend *g = open_dev(m, "cuda", 0, 1), *eg = open_dev(m, "cuda", 0, 0), *ex = open_dev(m, "cuda", 1, 1);
	int rc = !g || !eg || !ex;
	double e;

	rc = rc || run_steps(g, m, ids, T, P, 1, a) || run_steps(eg, m, ids, T, P, 1, b);
	checkf(!rc && !memcmp(a + P * V, b + P * V, (one - (size_t)(P * V)) * sizeof(float)),
	       "cuda-emu: %s: decode steps replayed from CUDA graphs give the bits of eager steps", name);
	/* a second run through the same graphs: the replay reads the new state */
	rc = rc || run_steps(g, m, ids, T, P, 1, b);
	checkf(!rc && !memcmp(a, b, one * sizeof(float)), "cuda-emu: %s: a second sequence through the same graphs, same bits",
	       name);
	/* 3 sequences of a 2-row prompt: every step has at most DSC_DECODE_ROWS
	 * rows, so all of it takes the kernels a sequence alone takes */
	rc = rc || run_steps(g, m, ids, T, 2, 1, a + 2 * one) || run_steps(g, m, ids, T, 2, 3, b);
	checkf(!rc && !memcmp(a + 2 * one, b, one * sizeof(float)) && !memcmp(a + 2 * one, b + one, one * sizeof(float)) &&
		       !memcmp(a + 2 * one, b + 2 * one, one * sizeof(float)),
	       "cuda-emu: %s: three sequences in every decode batch give the bits of one alone", name);
	rc = rc || run_whole(g, m, ids, T, whole, NULL);
	e = rc ? INFINITY : fixture_rel_err(a, whole, (long)one);
	printf("# measured cuda-emu %s default mode: prompt + one-token frames vs the whole frame %.3g\n", name, e);
	checkf(e <= BAR, "cuda-emu: %s: default mode, prompt + one-token frames within %g of the whole frame", name, BAR);
	rc = rc || run_steps(ex, m, ids, T, P, 1, a) || run_whole(ex, m, ids, T, whole, NULL);
	e = rc ? INFINITY : fixture_rel_err(a, whole, (long)one);
	printf("# measured cuda-emu %s exact mode: prompt + one-token frames vs the whole frame %.3g (%s bits)\n", name, e,
	       !rc && !memcmp(a, whole, one * sizeof(float)) ? "same" : "different");
	checkf(e <= 1e-5, "cuda-emu: %s: exact mode, prompt + one-token frames within 1e-5 of the whole frame", name);
	ds_backend_free(g);
	ds_backend_free(eg);
	ds_backend_free(ex);
	free(whole);
	free(a);
	free(b);
}

static int open_model(const char *dir, struct ds_model *m)
{
	struct ds_error err = { 0 };
	struct ds_model_want want = { 0, 0, DS_PART_EMBED | DS_PART_HEAD, NULL, NULL };

	if (ds_model_load_config(m, dir, &err)) {
		printf("not ok - cuda-emu: %s: %s\n", dir, err.msg);
		return -1;
	}
	want.last = m->L;
	if (ds_model_map(m, dir, &want, &err)) {
		printf("not ok - cuda-emu: %s: %s\n", dir, err.msg);
		return -1;
	}
	return 0;
}

/* whether this build and machine have a CUDA device (prints the skip) */
static int have_device(const char *dir)
{
	struct ds_model m;
	struct ds_backend_opts o = { .device = "cuda" };
	struct ds_backend *b = NULL;
	struct ds_error err = { 0 };
	int rc;

	if (open_model(dir, &m))
		return 0;
	rc = ds_backend_open(&b, &m, &o, &err);
	ds_backend_free(b);
	ds_model_release(&m);
	if (rc == EX_UNAVAILABLE) {
		printf("skip - cuda-emu: the CUDA backend (%s)\n", err.msg);
		return 0;
	}
	return 1;
}

static void fixture(const char *name, const char *dir)
{
	char path[4200];
	struct ds_model m;
	struct ds_st_file ex;
	struct ds_error err = { 0 };
	const struct ds_tensor_info *ti;

	snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
	if (ds_st_open(&ex, path, &err)) {
		printf("skip - cuda-emu: %s (%s)\n", name, err.msg);
		return;
	}
	if (open_model(dir, &m)) {
		ds_st_release(&ex);
		return;
	}
	ti = fixture_tensor(&ex, "input_ids");
	if (!ti || ti->dtype != DS_I32) {
		printf("not ok - cuda-emu: %s: no input_ids\n", name);
	} else {
		default_mode(name, &m, ti->data, ti->shape[0]);
		if (!strcmp(name, "v3-fp8"))
			decode_path(name, &m, ti->data, ti->shape[0] < 20 ? ti->shape[0] : 20);
	}
	ds_model_release(&m);
	ds_st_release(&ex);
}

/* n greedy tokens after a 4-token prompt */
static int greedy(struct ds_backend *b, const struct ds_model *m, long n, int32_t *out)
{
	int32_t tok[4] = { 1, 2, 3, 4 };
	struct ds_error err = { 0 };
	float *h = malloc((size_t)(4 * m->D) * sizeof(float)), *lg = malloc((size_t)(4 * m->V) * sizeof(float));
	long pos = 0, cnt = 4;
	int rc = 0;

	for (long i = 0; i < n && !rc; i++) {
		struct ds_fwd_chunk ch = { 3, pos, cnt };
		struct ds_fwd_batch batch = { 1, &ch };

		rc = ds_embed_rows(&m->embed, tok, cnt, h, &err) || ds_backend_layers(b, &batch, h, &err) ||
		     ds_backend_head(b, h + (cnt - 1) * m->D, 1, lg, &err);
		out[i] = (int32_t)top1(lg, m->V, NULL);
		pos += cnt;
		cnt = 1;
		tok[0] = out[i];
	}
	if (rc)
		printf("# %s\n", err.msg);
	free(h);
	free(lg);
	return rc;
}

static int greedy_test(const char *dir, long n)
{
	struct ds_model m;
	struct ds_backend *cpu, *cu;
	int32_t a[1024], b[1024];
	long same = 0;
	int rc;

	if (n < 1 || n > 1024 || !have_device(dir) || open_model(dir, &m))
		return n < 1 || n > 1024;
	cpu = open_dev(&m, "cpu", 0, 1);
	cu = open_dev(&m, "cuda", 0, 1);
	rc = !cpu || !cu || greedy(cpu, &m, n, a) || greedy(cu, &m, n, b);
	while (!rc && same < n && a[same] == b[same])
		same++;
	printf("# measured cuda-emu greedy on %s: %ld of %ld tokens equal before the first difference\n", dir, same, n);
	checkf(!rc && same == n, "cuda-emu: default mode generates the CPU's %ld greedy tokens", n);
	ds_backend_free(cpu);
	ds_backend_free(cu);
	ds_model_release(&m);
	return test_done();
}

int main(int argc, char **argv)
{
	char base[4096], dir[4200];
	const char *t = getenv("DS_TESTS");
	DIR *d;
	struct dirent *de;

	if (argc == 4 && !strcmp(argv[1], "greedy"))
		return greedy_test(argv[2], atol(argv[3]));
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "fixtures"))) {
		fprintf(stderr, "usage: test-cuda-backend fixtures | greedy DIR N\n");
		return EX_USAGE;
	}
	snprintf(base, sizeof(base), "%s/fixtures/models", t ? t : "tests");
	snprintf(dir, sizeof(dir), "%s/v3-fp8", base);
	if (!have_device(dir))
		return 0;
	if (!(d = opendir(base))) {
		printf("skip - cuda-emu: no fixtures in %s\n", base);
		return 0;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(dir, sizeof(dir), "%s/%s", base, de->d_name);
			fixture(de->d_name, dir);
		}
	closedir(d);
	return test_done();
}
