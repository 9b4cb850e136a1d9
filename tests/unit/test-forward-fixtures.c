/*
 * test-forward-fixtures.c - the CPU forward pass against the transformers
 * reference fixtures (tests/fixtures/models/<name>/expected.safetensors,
 * written by tests/reference/): per-layer residual streams, MoE inputs,
 * expert sets and weights at every layer and position, logits at every
 * position (max |dlogit| <= 1e-4 max |logit|, same argmax), MTP logits;
 * then the same through a prompt + one-token frames and through two
 * sequences in one batch, which must give the same bits.
 *
 * With arguments it is a helper for the shell tests:
 *   test-forward-fixtures ids DIR          print input_ids as one text line
 *   test-forward-fixtures logits DIR FILE [LABEL]  compare LOGITS frames in FILE
 *        (rows by position, main or MTP by aux) with the fixture's logits
 *   test-forward-fixtures routes DIR FILE  compare ROUTES frames in FILE
 *        (layer = aux, rows by position) with experts.L / expert_weights.L
 *   test-forward-fixtures moe-input DIR L  print moe_input.L as text rows
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "backend.h"
#include "cpu/forward.h"
#include "cpu/mla.h"
#include "safetensors.h"
#include "stream.h"
#include "fixturehelp.h"
#include "testhelp.h"

#define TOL 1e-4

static const char *fixtures_dir(void)
{
	const char *t = getenv("DS_TESTS");
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/fixtures/models", t ? t : "tests");
	return buf;
}

static long argmax(const float *v, long n)
{
	long b = 0;

	for (long i = 1; i < n; i++)
		if (v[i] > v[b])
			b = i;
	return b;
}

/* logits comparison over T rows: the worst row's max |dlogit| / max |logit|,
 * and argmax agreement */
static int cmp_logits(const char *what, const float *got, const float *ref, long T, long V, double *err_out)
{
	double e = 0;
	long same = 0;

	for (long t = 0; t < T; t++) {
		double et = fixture_rel_err(got + t * V, ref + t * V, V);

		e = et > e ? et : e;
		same += argmax(got + t * V, V) == argmax(ref + t * V, V);
	}
	printf("# measured %s: max|dlogit|/max|logit| %.3g (worst position), argmax equal at %ld/%ld positions\n",
	       what, e, same, T);
	*err_out = e;
	return e <= TOL && same == T;
}

struct capture {
	const struct ds_model *m;
	long T;
	float **hidden;		/* [L] -> [T][D] */
	float **moe_in;
	int32_t **ids;
	float **w;
};

static void cap_layer(void *ctx, long layer, long row0, long n, const float *h)
{
	struct capture *c = ctx;

	if (layer < c->m->L)
		memcpy(c->hidden[layer] + row0 * c->m->D, h, (size_t)(n * c->m->D) * sizeof(float));
}

static void cap_moe(void *ctx, long layer, long row0, long n, const float *b)
{
	struct capture *c = ctx;

	if (layer < c->m->L)
		memcpy(c->moe_in[layer] + row0 * c->m->D, b, (size_t)(n * c->m->D) * sizeof(float));
}

static void cap_routes(void *ctx, long layer, long row0, long n, const int32_t *ids, const float *w)
{
	struct capture *c = ctx;

	if (layer < c->m->L) {
		memcpy(c->ids[layer] + row0 * c->m->K, ids, (size_t)(n * c->m->K) * sizeof(int32_t));
		memcpy(c->w[layer] + row0 * c->m->K, w, (size_t)(n * c->m->K) * sizeof(float));
	}
}

static int open_fixture(const char *dir, struct ds_model *m, struct ds_st_file *ex, int parts)
{
	char path[4200];
	struct ds_error err = { 0 };
	struct ds_model_want want = { 0, 0, parts, NULL, NULL };

	if (ds_model_load_config(m, dir, &err)) {
		printf("not ok - %s: config: %s\n", dir, err.msg);
		return -1;
	}
	want.last = m->L;
	if (m->nlayers > m->L)
		want.parts |= DS_PART_MTP;
	if (ds_model_map(m, dir, &want, &err)) {
		printf("not ok - %s: %s\n", dir, err.msg);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
	if (ds_st_open(ex, path, &err)) {
		printf("not ok - %s: %s\n", path, err.msg);
		ds_model_release(m);
		return -1;
	}
	return 0;
}

/*
 * Run the fixture's ids as a prompt of T/2 rows then one-row frames, two
 * sequences side by side in every batch, on 1 thread in 5-row steps, with
 * MLA decompressed from `wide` rows (DS_MLA_DECOMPRESS_MIN; 0 the default),
 * and compare each frame's last logits with ref (one frame of T rows, run
 * by default).  wide < 0 (absorbed everywhere, as ref is for these short
 * fixtures' every row but the long ones'): ref is recomputed the same way
 * and every frame must match in bits; otherwise the prompt frame must
 * match in bits when both it and ref's chunk take the same form, and every
 * frame within tol.  Returns 0 when the run failed.
 */
static int steps_match(const char *name, struct ds_model *m, const struct ds_tensor_info *ti, long T, long wide,
		       const float *ref, double tol)
{
	struct ds_backend_opts o1 = { "cpu", 1, 0, m->L, 0, 5, 0 };
	struct ds_backend *b = NULL;
	struct ds_error err = { 0 };
	long D = m->D, V = m->V, P = T / 2, thr;
	float *h2 = malloc((size_t)(2 * T * D) * sizeof(float)), *l2 = malloc((size_t)(2 * V) * sizeof(float));
	float *own = NULL;
	int same_prompt, exact, bad = 0, ok = 1;
	double worst = 0;
	char env[32];

	if (wide) {
		snprintf(env, sizeof(env), "%ld", wide < 0 ? 0 : wide);
		setenv("DS_MLA_DECOMPRESS_MIN", env, 1);
	} else {
		unsetenv("DS_MLA_DECOMPRESS_MIN");
	}
	thr = ds_mla_decompress_min(0);
	same_prompt = (P >= thr) == (T >= thr);
	exact = wide < 0 || (same_prompt && (1 >= thr) == (T >= thr));
	if (wide < 0) {	/* ref, absorbed */
		struct ds_fwd_chunk ch = { 9, 0, T };
		struct ds_fwd_batch batch = { 1, &ch };

		own = malloc((size_t)(T * V) * sizeof(float));
		h2 = realloc(h2, (size_t)(2 * T * D) * sizeof(float));
		ok = !ds_backend_open(&b, m, &o1, &err) && !ds_embed_rows(&m->embed, ti->data, T, h2, &err) &&
		     !ds_backend_layers(b, &batch, h2, &err) && !ds_backend_head(b, h2, T, own, &err);
		ds_backend_free(b);
		b = NULL;
		ref = own;
	}
	ok = ok && !ds_backend_open(&b, m, &o1, &err);
	for (long p = 0; p < T && ok;) {
		long n = p == 0 ? P : 1;
		struct ds_fwd_chunk ch[2] = { { 1, p, n }, { 2, p, n } };
		struct ds_fwd_batch batch = { 2, ch };
		const float *want = ref + (p + n - 1) * V;

		ds_embed_rows(&m->embed, (const int32_t *)ti->data + p, n, h2, &err);
		ds_embed_rows(&m->embed, (const int32_t *)ti->data + p, n, h2 + n * D, &err);
		ok = ds_backend_layers(b, &batch, h2, &err) == 0;
		memcpy(h2 + D, h2 + (n - 1) * D, (size_t)D * sizeof(float));
		memcpy(h2, h2 + (2 * n - 1) * D, (size_t)D * sizeof(float));
		ok = ok && ds_backend_head(b, h2, 2, l2, &err) == 0;
		if ((exact || (p == 0 && same_prompt)) && (memcmp(l2, want, (size_t)V * sizeof(float)) ||
					  memcmp(l2 + V, want, (size_t)V * sizeof(float))))
			bad++;
		{
			double mx = 0, dm = 0;

			for (long v = 0; v < V; v++) {
				double d = fabs((double)l2[v] - want[v]);

				mx = fabs(want[v]) > mx ? fabs(want[v]) : mx;
				dm = d > dm ? d : dm;
			}
			worst = dm / mx > worst ? dm / mx : worst;
		}
		p += n;
	}
	checkf(ok, "%s: prompt + one-token frames run, MLA decompressed from %ld rows (%s)", name, wide, ok ? "" : err.msg);
	if (exact)
		checkf(bad == 0, "%s: prompt + one-token frames, two sequences batched, 1 thread, 5-row steps, MLA %s: same bits as one frame (%d differ)",
		       name, wide < 0 ? "absorbed" : "by default", bad);
	else {
		printf("# measured %s: prompt (decompressed) + one-token frames (absorbed) vs one frame: max|dlogit|/max|logit| %.3g\n",
		       name, worst);
		checkf(bad == 0, "%s: the prompt frame, batched and in 5-row steps, gives the bits of one frame (same form)", name);
		checkf(worst <= tol, "%s: later frames within %g of one frame (%.3g)", name, tol, worst);
	}
	ds_backend_free(b);
	unsetenv("DS_MLA_DECOMPRESS_MIN");
	free(h2);
	free(l2);
	free(own);
	return ok;
}

static void test_fixture(const char *name, const char *dir)
{
	struct ds_model m;
	struct ds_st_file ex;
	struct ds_error err = { 0 };
	struct ds_backend *b = NULL;
	struct ds_backend_opts o = { "cpu", 0, 0, 0, 0, 0, 0 };
	const struct ds_tensor_info *ti, *tl;
	struct capture cap = { 0 };
	char key[64];
	long T, D, V, L;
	float *h = NULL, *logits = NULL, *h2 = NULL, *logits2 = NULL;
	double e, worst_h = 0, worst_moe = 0, worst_w = 0;
	long routes_total = 0, routes_same = 0;

	if (open_fixture(dir, &m, &ex, DS_PART_EMBED | DS_PART_HEAD))
		return;
	ti = fixture_tensor(&ex, "input_ids");
	tl = fixture_tensor(&ex, "logits");
	if (!ti || !tl || ti->dtype != DS_I32 || tl->dtype != DS_F32) {
		printf("not ok - %s: expected.safetensors lacks input_ids/logits\n", name);
		goto out;
	}
	T = ti->shape[0];
	D = m.D;
	V = m.V;
	L = m.L;
	o.last = L;
	o.mtp = m.nlayers > L;
	if (ds_backend_open(&b, &m, &o, &err)) {
		printf("not ok - %s: %s\n", name, err.msg);
		goto out;
	}
	cap.m = &m;
	cap.T = T;
	cap.hidden = calloc((size_t)L, sizeof(float *));
	cap.moe_in = calloc((size_t)L, sizeof(float *));
	cap.ids = calloc((size_t)L, sizeof(int32_t *));
	cap.w = calloc((size_t)L, sizeof(float *));
	for (long i = 0; i < L; i++) {
		cap.hidden[i] = calloc((size_t)(T * D), sizeof(float));
		cap.moe_in[i] = calloc((size_t)(T * D), sizeof(float));
		cap.ids[i] = calloc((size_t)(T * (m.K > 0 ? m.K : 1)), sizeof(int32_t));
		cap.w[i] = calloc((size_t)(T * (m.K > 0 ? m.K : 1)), sizeof(float));
	}
	{
		struct ds_fwd_hooks hk = { &cap, cap_layer, cap_moe, cap_routes };
		struct ds_fwd_chunk ch = { 7, 0, T };
		struct ds_fwd_batch batch = { 1, &ch };

		h = malloc((size_t)(T * D) * sizeof(float));
		logits = malloc((size_t)(T * V) * sizeof(float));
		check("embed", ds_embed_rows(&m.embed, ti->data, T, h, &err) == 0);
		ds_backend_set_hooks(b, &hk);
		checkf(ds_backend_layers(b, &batch, h, &err) == 0, "%s: forward over %ld positions", name, T);
		ds_backend_set_hooks(b, NULL);
		check("head", ds_backend_head(b, h, T, logits, &err) == 0);
	}
	for (long i = 0; i < L; i++) {
		const struct ds_tensor_info *t;

		snprintf(key, sizeof(key), "hidden.%ld", i);
		if ((t = fixture_tensor(&ex, key))) {
			e = fixture_rel_err(cap.hidden[i], t->data, T * D);
			worst_h = e > worst_h ? e : worst_h;
		}
		snprintf(key, sizeof(key), "moe_input.%ld", i);
		if ((t = fixture_tensor(&ex, key))) {
			e = fixture_rel_err(cap.moe_in[i], t->data, T * D);
			worst_moe = e > worst_moe ? e : worst_moe;
		}
		snprintf(key, sizeof(key), "experts.%ld", i);
		if ((t = fixture_tensor(&ex, key))) {
			const int32_t *ref = t->data;
			const struct ds_tensor_info *tw;

			for (long r = 0; r < T; r++) {
				routes_total++;
				routes_same += !memcmp(cap.ids[i] + r * m.K, ref + r * m.K, (size_t)m.K * sizeof(int32_t));
			}
			snprintf(key, sizeof(key), "expert_weights.%ld", i);
			if ((tw = fixture_tensor(&ex, key))) {
				e = fixture_rel_err(cap.w[i], tw->data, T * m.K);
				worst_w = e > worst_w ? e : worst_w;
			}
		}
	}
	printf("# measured %s: per-layer residual max rel err %.3g, MoE input %.3g, routing weights %.3g\n", name,
	       worst_h, worst_moe, worst_w);
	printf("# measured %s: expert sets equal at %ld/%ld (layer, position) pairs\n", name, routes_same,
	       routes_total);
	checkf(worst_h <= TOL, "%s: residual after every layer within %g (%.3g)", name, TOL, worst_h);
	checkf(worst_moe <= TOL, "%s: MoE inputs within %g (%.3g)", name, TOL, worst_moe);
	checkf(routes_same == routes_total, "%s: same expert sets at every layer and position", name);
	checkf(worst_w <= TOL, "%s: routing weights within %g (%.3g)", name, TOL, worst_w);
	checkf(cmp_logits(name, logits, tl->data, T, V, &e), "%s: logits within %g and same argmax", name, TOL);

	/* MTP: rows 0..T-2 from the final residual and input_ids[1..] */
	if (o.mtp && (tl = fixture_tensor(&ex, "mtp.logits"))) {
		float *ml = malloc((size_t)((T - 1) * V) * sizeof(float));
		struct ds_fwd_chunk ch = { 7, 0, T - 1 };
		struct ds_fwd_batch batch = { 1, &ch };

		checkf(ds_backend_mtp(b, &batch, cap.hidden[L - 1], (const int32_t *)ti->data + 1, ml, &err) == 0,
		       "%s: MTP forward", name);
		checkf(cmp_logits("MTP", ml, tl->data, T - 1, V, &e), "%s: MTP logits within %g and same argmax", name, TOL);
		free(ml);
	}
	ds_backend_free(b);
	b = NULL;

	/* the same sequence as a prompt + one-token frames, next to a second
	 * sequence in the same batches, on 1 thread, in 5-row steps: with MLA
	 * absorbed everywhere, the same bits as one frame; by default (the
	 * chunk of T rows and a prompt of T/2 >= the threshold run
	 * decompressed, the one-token frames absorbed) the prompt's rows still
	 * give the bits of the same rows in one frame, since both are
	 * decompressed, and later rows agree within the tolerance */
	free(h);
	h = NULL;
	if (!steps_match(name, &m, ti, T, -1, logits, TOL) || !steps_match(name, &m, ti, T, 0, logits, TOL))
		goto out;
	{
		struct ds_backend_opts o1 = { "cpu", 1, 0, L, 0, 5, 0 };
		struct ds_fwd_chunk ch = { 1, T - 3, 1 };
		struct ds_fwd_batch batch = { 1, &ch };

		h2 = malloc((size_t)(2 * T * D) * sizeof(float));
		if (ds_backend_open(&b, &m, &o1, &err)) {
			printf("not ok - %s: %s\n", name, err.msg);
			goto out;
		}
		check("a frame that does not continue its sequence is refused with 65",
		      ds_backend_layers(b, &batch, h2, &err) == EX_DATAERR);
	}
out:
	free(h);
	free(logits);
	free(h2);
	free(logits2);
	for (long i = 0; cap.hidden && i < m.L; i++) {
		free(cap.hidden[i]);
		free(cap.moe_in[i]);
		free(cap.ids[i]);
		free(cap.w[i]);
	}
	free(cap.hidden);
	free(cap.moe_in);
	free(cap.ids);
	free(cap.w);
	ds_backend_free(b);
	ds_st_release(&ex);
	ds_model_release(&m);
}

/* ---- F32 weights: the same model with every 16-bit matrix widened ---- */

struct widen {
	void *bufs[4096];
	int n;
};

static void widen_mat(struct widen *wd, struct ds_mat *m)
{
	float *p;

	if (!m->data || (m->dtype != DS_BF16 && m->dtype != DS_F16) || wd->n == 4096)
		return;
	p = malloc((size_t)(m->rows * m->cols) * sizeof(float));
	for (long r = 0; r < m->rows; r++)
		for (long c = 0; c < m->cols; c++)
			p[r * m->cols + c] = ds_mat_get(m, r, c);
	m->dtype = DS_F32;
	m->data = p;
	m->ld = m->cols;
	wd->bufs[wd->n++] = p;
}

static void widen_mlp(struct widen *wd, struct ds_mlp *mlp)
{
	widen_mat(wd, &mlp->gate);
	widen_mat(wd, &mlp->up);
	widen_mat(wd, &mlp->down);
}

/* logits at every position of the fixture's input, one process-like run */
static int run_logits(const struct ds_model *m, const int32_t *ids, long T, float *logits)
{
	struct ds_backend_opts o = { "cpu", 0, 0, m->L, 0, 0, 0 };
	struct ds_fwd_chunk ch = { 0, 0, T };
	struct ds_fwd_batch batch = { 1, &ch };
	struct ds_backend *b;
	struct ds_error err = { 0 };
	float *h = malloc((size_t)(T * m->D) * sizeof(float));
	int rc = ds_backend_open(&b, m, &o, &err) || ds_embed_rows(&m->embed, ids, T, h, &err) ||
		 ds_backend_layers(b, &batch, h, &err) || ds_backend_head(b, h, T, logits, &err);

	ds_backend_free(b);
	free(h);
	return rc;
}

static void test_f32_weights(const char *name, const char *dir)
{
	struct ds_model m;
	struct ds_st_file ex;
	struct widen wd = { { 0 }, 0 };
	const struct ds_tensor_info *ti;
	float *a, *b;
	long T;

	if (open_fixture(dir, &m, &ex, DS_PART_EMBED | DS_PART_HEAD))
		return;
	ti = fixture_tensor(&ex, "input_ids");
	T = ti->shape[0];
	a = malloc((size_t)(T * m.V) * sizeof(float));
	b = malloc((size_t)(T * m.V) * sizeof(float));
	check("16-bit weights run", run_logits(&m, ti->data, T, a) == 0);
	widen_mat(&wd, &m.embed);
	widen_mat(&wd, &m.lm_head);
	for (long i = 0; i < m.L; i++) {
		struct ds_layer *l = &m.layers[i];

		widen_mat(&wd, &l->q_a);
		widen_mat(&wd, &l->q_b);
		widen_mat(&wd, &l->q);
		widen_mat(&wd, &l->kv_a);
		widen_mat(&wd, &l->kv_b);
		widen_mat(&wd, &l->o);
		widen_mlp(&wd, &l->dense);
		widen_mat(&wd, &l->gate);
		for (long e = 0; l->experts && e < m.E; e++)
			widen_mlp(&wd, &l->experts[e]);
		widen_mlp(&wd, &l->shared);
	}
	check("the same weights as F32 run", run_logits(&m, ti->data, T, b) == 0);
	checkf(wd.n > 10 && !memcmp(a, b, (size_t)(T * m.V) * sizeof(float)),
	       "%s: F32 copies of its %d 16-bit matrices give the same bits", name, wd.n);
	for (int i = 0; i < wd.n; i++)
		free(wd.bufs[i]);
	free(a);
	free(b);
	ds_st_release(&ex);
	ds_model_release(&m);
}

/* ---- helpers for the shell tests ---- */

static int print_ids(const char *dir)
{
	char path[4200];
	struct ds_st_file ex;
	struct ds_error err = { 0 };
	const struct ds_tensor_info *t;

	snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
	if (ds_st_open(&ex, path, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return err.code;
	}
	t = fixture_tensor(&ex, "input_ids");
	for (int64_t i = 0; t && i < t->shape[0]; i++)
		printf(i ? " %d" : "%d", ((const int32_t *)t->data)[i]);
	printf("\n");
	ds_st_release(&ex);
	return t ? 0 : EX_DATAERR;
}

/* LOGITS frames of FILE against the fixture: every row goes to its
 * position; aux 0 against "logits", aux 1 against "mtp.logits". */
static int compare_logits(const char *dir, const char *file, const char *label)
{
	char path[4200];
	struct ds_st_file ex;
	struct ds_error err = { 0 };
	struct ds_reader rd;
	struct ds_frame f;
	FILE *fp = fopen(file, "rb");
	double worst[2] = { 0, 0 };
	long rows[2] = { 0, 0 }, same[2] = { 0, 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
	if (!fp || ds_st_open(&ex, path, &err)) {
		printf("not ok - cannot open %s or %s\n", file, path);
		return 1;
	}
	ds_frame_init(&f);
	ds_reader_init(&rd, fp, file);
	while ((rc = ds_read_frame(&rd, &f, &err)) == 1) {
		int mtp;
		const struct ds_tensor_info *t;

		if (f.kind != DS_KIND_LOGITS)
			continue;
		mtp = f.aux == 1;
		t = fixture_tensor(&ex, mtp ? "mtp.logits" : "logits");
		if (!t || f.dtype != DS_F32 || f.ndim != 2 || f.shape[1] != t->shape[1] ||
		    f.pos + f.shape[0] > (uint64_t)t->shape[0]) {
			printf("not ok - frame %llu does not fit the fixture's %s\n", (unsigned long long)rd.index - 1,
			       mtp ? "mtp.logits" : "logits");
			return 1;
		}
		for (uint32_t r = 0; r < f.shape[0]; r++) {
			long V = f.shape[1];
			const float *g = (const float *)f.data + r * V, *x = (const float *)t->data + (f.pos + r) * V;
			double e = fixture_rel_err(g, x, V);

			worst[mtp] = e > worst[mtp] ? e : worst[mtp];
			same[mtp] += argmax(g, V) == argmax(x, V);
			rows[mtp]++;
		}
	}
	for (int k = 0; k < 2; k++)
		if (rows[k]) {
			printf("# measured %s%s: %s logits over %ld rows: max|dlogit|/max|logit| %.3g, argmax equal %ld/%ld\n",
			       strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, label, k ? "MTP" : "main", rows[k], worst[k],
			       same[k], rows[k]);
			checkf(worst[k] <= TOL && same[k] == rows[k], "%s logits of %s within %g, same argmax",
			       k ? "MTP" : "main", dir, TOL);
		}
	check("the stream held LOGITS frames", rows[0] + rows[1] > 0 && rc == 0);
	ds_frame_release(&f);
	ds_st_release(&ex);
	fclose(fp);
	return test_done();
}

static int print_moe_input(const char *dir, const char *layer)
{
	char path[4200], key[64];
	struct ds_st_file ex;
	struct ds_error err = { 0 };
	const struct ds_tensor_info *t;

	snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
	snprintf(key, sizeof(key), "moe_input.%s", layer);
	if (ds_st_open(&ex, path, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return err.code;
	}
	t = fixture_tensor(&ex, key);
	for (int64_t r = 0; t && r < t->shape[0]; r++)
		for (int64_t c = 0; c < t->shape[1]; c++)
			printf(c + 1 < t->shape[1] ? "%.9g " : "%.9g\n", ((const float *)t->data)[r * t->shape[1] + c]);
	ds_st_release(&ex);
	return t ? 0 : EX_DATAERR;
}

static int compare_routes(const char *dir, const char *file)
{
	char path[4200], key[64];
	struct ds_st_file ex;
	struct ds_error err = { 0 };
	struct ds_reader rd;
	struct ds_frame f;
	FILE *fp = fopen(file, "rb");
	long rows = 0, same = 0;
	double worst = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
	if (!fp || ds_st_open(&ex, path, &err)) {
		printf("not ok - cannot open %s or %s\n", file, path);
		return 1;
	}
	ds_frame_init(&f);
	ds_reader_init(&rd, fp, file);
	while ((rc = ds_read_frame(&rd, &f, &err)) == 1) {
		const struct ds_tensor_info *te, *tw;

		if (f.kind != DS_KIND_ROUTES)
			continue;
		snprintf(key, sizeof(key), "experts.%u", f.aux);
		te = fixture_tensor(&ex, key);
		snprintf(key, sizeof(key), "expert_weights.%u", f.aux);
		tw = fixture_tensor(&ex, key);
		if (!te || !tw || f.dtype != DS_IDVAL || f.ndim != 2 || f.shape[1] != te->shape[1] ||
		    f.pos + f.shape[0] > (uint64_t)te->shape[0]) {
			printf("not ok - ROUTES frame %llu does not fit the fixture's %s\n",
			       (unsigned long long)rd.index - 1, key);
			return 1;
		}
		for (uint32_t r = 0; r < f.shape[0]; r++) {
			long K = f.shape[1], p = (long)f.pos + r, ok = 1;

			for (long k = 0; k < K; k++) {
				int32_t id;
				float w;

				memcpy(&id, (const uint8_t *)f.data + 8 * (r * K + k), 4);
				memcpy(&w, (const uint8_t *)f.data + 8 * (r * K + k) + 4, 4);
				ok &= id == ((const int32_t *)te->data)[p * K + k];
				double e = fabs(w - ((const float *)tw->data)[p * K + k]);
				worst = e > worst ? e : worst;
			}
			same += ok;
			rows++;
		}
	}
	printf("# measured %s: ROUTES rows %ld, expert sets equal %ld/%ld, max |dweight| %.3g\n",
	       strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, rows, same, rows, worst);
	checkf(rows > 0 && same == rows, "expert sets of %s equal at every row", dir);
	checkf(worst <= TOL, "routing weights of %s within %g", dir, TOL);
	check("the ROUTES stream read cleanly", rc == 0);
	ds_frame_release(&f);
	ds_st_release(&ex);
	fclose(fp);
	return test_done();
}

int main(int argc, char **argv)
{
	DIR *d;
	struct dirent *de;
	char *names[64];
	int n = 0;

	if (argc == 3 && !strcmp(argv[1], "ids"))
		return print_ids(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "logits"))
		return compare_logits(argv[2], argv[3], argc == 5 ? argv[4] : "");
	if (argc == 4 && !strcmp(argv[1], "routes"))
		return compare_routes(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "moe-input"))
		return print_moe_input(argv[2], argv[3]);
	d = opendir(fixtures_dir());
	if (!d) {
		printf("skip - no fixtures in %s\n", fixtures_dir());
		return 0;
	}
	while ((de = readdir(d)) && n < 64)
		if (de->d_name[0] != '.')
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++) {
		char dir[4096], path[4200];
		FILE *fp;

		snprintf(dir, sizeof(dir), "%s/%s", fixtures_dir(), names[i]);
		snprintf(path, sizeof(path), "%s/expected.safetensors", dir);
		if ((fp = fopen(path, "rb"))) {
			fclose(fp);
			test_fixture(names[i], dir);
			if (!strcmp(names[i], "v2-lite-bf16") || !strcmp(names[i], "moonlight-f16"))
				test_f32_weights(names[i], dir);
		} else {
			printf("skip - fixture %s has no expected.safetensors yet\n", names[i]);
		}
		free(names[i]);
	}
	return test_done();
}
