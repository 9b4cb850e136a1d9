/*
 * test-mkmodel.c - the generator's pieces and a full round trip:
 *   - fast conversions (AVX2 and scalar) equal tensor.h's scalar ones;
 *   - the PRNG's SIMD fill equals its scalar definition, and its normal
 *     draws have mean 0 and sd 1;
 *   - FP8 block quantisation: scales are amax/448 per (partial) block and
 *     dequantised values are within e4m3's rounding of the source;
 *   - the tensor plan has exactly V3's / V2-Lite's names, dtypes, shapes;
 *   - a sharded FP8 tiny-v3 checkpoint written, loaded and compared tensor
 *     by tensor with what the generator meant (regenerated, and checked
 *     against the f32 source); the index names every tensor once; the
 *     model digest does not depend on thread count or shard size;
 *   - the safetensors writer's layout (element size, then name) and its
 *     refusal of a name declared twice, even with another dtype.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "ckdigest.h"
#include "fastcvt.h"
#include "fp8.h"
#include "mkmodel.h"
#include "prng.h"
#include "safetensors.h"
#include "stwriter.h"
#include "testhelp.h"

static void test_conversions(void)
{
	enum { N = 1 << 16 };
	static float x[N];
	static uint8_t q1[N], q2[N], q3[N];
	static uint16_t b1[N], b2[N], b3[N];
	int bad_fp8 = 0, bad_bf16 = 0, n = 0;

	/* every e4m3 value, the midpoints between neighbours and one ulp
	 * either side of them, both signs */
	for (int c = 0; c < 127 && n + 8 < N; c++) {
		float v = ds_fp8_e4m3_to_f32((uint8_t)c), w = ds_fp8_e4m3_to_f32((uint8_t)(c + 1));
		float mid = c < 126 ? (v + w) / 2 : 464.0f;
		x[n++] = v;
		x[n++] = -v;
		x[n++] = mid;
		x[n++] = -mid;
		x[n++] = nextafterf(mid, 0);
		x[n++] = nextafterf(mid, 1e9f);
	}
	x[n++] = INFINITY;
	x[n++] = -INFINITY;
	x[n++] = NAN;
	x[n++] = 1e30f;
	x[n++] = 1e-30f;
	x[n++] = -0.0f;
	x[n++] = 3.4e38f;
	x[n++] = 1.17e-38f;
	for (uint64_t k = 0; n < N; k++) {	/* random magnitudes from 2^-20 to 2^10 */
		float u = ds_prng_uniform(7, k), e = ds_prng_uniform(8, k);
		x[n++] = (u - 0.5f) * ldexpf(1.0f, (int)(e * 30) - 20);
	}
	ds_cvt_fp8(q1, x, N, 1.0f);
	ds_cvt_fp8_scalar(q2, x, N, 1.0f);
	ds_cvt_bf16(b1, x, N);
	ds_cvt_bf16_scalar(b2, x, N);
	for (int i = 0; i < N; i++) {
		q3[i] = ds_f32_to_fp8_e4m3(x[i]);
		b3[i] = ds_f32_to_bf16(x[i]);
		if (q1[i] != q3[i] || q2[i] != q3[i]) {
			if (bad_fp8++ < 5)
				printf("#   fp8 of %a: simd %02x scalar %02x reference %02x\n", x[i], q1[i], q2[i], q3[i]);
		}
		if (b1[i] != b3[i] || b2[i] != b3[i]) {
			if (bad_bf16++ < 5)
				printf("#   bf16 of %a: simd %04x scalar %04x reference %04x\n", x[i], b1[i], b2[i], b3[i]);
		}
	}
	check("fast e4m3 encoding equals ds_f32_to_fp8_e4m3 (ties, saturation, subnormals, NaN)", bad_fp8 == 0);
	check("fast bf16 encoding equals ds_f32_to_bf16", bad_bf16 == 0);
	ds_cvt_fp8(q1, x, N, 37.5f);
	ds_cvt_fp8_scalar(q2, x, N, 37.5f);
	check("fp8 with a multiplier: SIMD equals scalar", !memcmp(q1, q2, N));
	check("absmax ignores non-finite values",
	      ds_cvt_absmax(x, N) == ds_cvt_absmax_scalar(x, N) && ds_cvt_absmax(x, N) == 3.4e38f);
	check("absmax of a tail shorter than a vector", ds_cvt_absmax(x + 1, 5) == ds_cvt_absmax_scalar(x + 1, 5));
}

static void test_prng(void)
{
	enum { N = 100003 };
	static float a[N], b[N];
	double s = 0, s2 = 0, mx = 0;
	uint64_t key = ds_prng_key(42, "model.layers.0.mlp.gate_proj.weight");
	uint64_t near = ((uint64_t)1 << 32) - 50000;	/* the run crosses 2^32 */
	int same = 1;

	ds_prng_fill_normal(a, key, near, N, 0.5f, 0.25f);
	ds_prng_fill_normal_scalar(b, key, near, N, 0.5f, 0.25f);
	check("SIMD normal fill equals the scalar one across a 2^32 index boundary", !memcmp(a, b, sizeof(a)));
	for (int i = 0; i < N; i += 997) {
		float v = ds_prng_normal(key, near + (uint64_t)i);
		v = v * 0.25f;
		same &= a[i] == v + 0.5f;
	}
	check("bulk fill equals single draws", same);
	ds_prng_fill_normal(a, key, 0, N, 0, 1);
	for (int i = 0; i < N; i++) {
		s += a[i];
		s2 += (double)a[i] * a[i];
		mx = fabs(a[i]) > mx ? fabs(a[i]) : mx;
	}
	s /= N;
	s2 = sqrt(s2 / N - s * s);
	printf("# measured normal draws: mean %.4f sd %.4f max |x| %.3f\n", s, s2, mx);
	check("normal draws: mean ~0, sd ~1, bounded by 3.47",
	      fabs(s) < 0.01 && fabs(s2 - 1) < 0.01 && mx < 3.47);
	check("keys differ by seed and by name",
	      ds_prng_key(1, "a") != ds_prng_key(2, "a") && ds_prng_key(1, "a") != ds_prng_key(1, "b"));
	check("uniform draws in [0, 1)", ds_prng_uniform(key, 5) >= 0 && ds_prng_uniform(key, 5) < 1);
	ds_prng_fill_uniform(a, key, near, N, -0.5f, 0.25f);
	same = 1;
	for (int i = 0; i < N; i++) {
		float v = ds_prng_uniform(key, near + (uint64_t)i);
		v = v * 0.75f;
		same &= a[i] == v + -0.5f;
	}
	check("uniform fill equals single draws across a 2^32 index boundary", same);
}

static void test_fp8_blocks(void)
{
	enum { R = 200, C = 300 };
	static float x[R * C], y[R * C];
	static uint8_t q[R * C];
	float s[2 * 3], s8[2 * 3];
	double worst = 0;
	int scales_ok = 1, pow2 = 1;

	ds_prng_fill_normal(x, 99, 0, R * C, 0, 0.02f);
	x[5] = 0.5f;		/* block (0,0) has a large value */
	x[150 * C + 290] = -1.0f;	/* so does the partial corner block (1,2) */
	ds_fp8_quantize(x, R, C, 128, 128, 0, q, s);
	ds_fp8_dequantize(q, s, R, C, 128, 128, y);
	for (int br = 0; br < 2; br++)
		for (int bc = 0; bc < 3; bc++) {
			float m = 0;
			for (int r = br * 128; r < R && r < (br + 1) * 128; r++)
				for (int c = bc * 128; c < C && c < (bc + 1) * 128; c++)
					m = fabsf(x[r * C + c]) > m ? fabsf(x[r * C + c]) : m;
			scales_ok &= s[br * 3 + bc] == m / 448.0f;
		}
	check("scale_inv = amax / 448 per block, partial edge blocks included", scales_ok);
	check("the block maxima hit +-448 exactly", q[5] == 0x7e && q[150 * C + 290] == 0xfe);
	for (int i = 0; i < R * C; i++) {
		int b = (i / C / 128) * 3 + (i % C) / 128;
		/* e4m3: 3 mantissa bits -> relative error <= 2^-4; subnormals
		 * have absolute steps of 2^-9 * scale */
		double tol = fmax(fabs(x[i]) / 16, s[b] / 1024) * 1.0001;
		double e = fabs(y[i] - x[i]);
		if (e > tol * 1.0)
			worst = fmax(worst, e / tol);
	}
	check("dequantised values within e4m3 rounding of the source", worst == 0);
	ds_fp8_quantize(x, R, C, 128, 128, 1, q, s8);
	for (int i = 0; i < 6; i++) {
		int e;
		pow2 &= frexpf(s8[i], &e) == 0.5f && s8[i] >= s[i] && s8[i] < 2 * s[i];
	}
	check("ue8m0 scales are the next power of two", pow2);
	memset(x, 0, sizeof(x));
	ds_fp8_quantize(x, R, C, 128, 128, 0, q, s);
	check("an all-zero block gets scale 1 and zero codes", s[0] == 1.0f && q[0] == 0 && q[R * C - 1] == 0);
}

static struct ds_config load_preset(const char *name)
{
	struct ds_mkmodel_opts o = { .preset = name, .layers = -1, .vocab = -1, .mtp = -1 };
	struct ds_config c;
	struct ds_error err = { 0 };
	enum ds_dtype dt;
	char *json;

	if (ds_mkmodel_config(&o, &json, &c, &dt, &err)) {
		printf("not ok - preset %s: %s\n", name, err.msg);
		exit(1);
	}
	free(json);
	return c;
}

static const struct ds_mk_tensor *find(const struct ds_mk_plan *p, const char *name)
{
	int i = ds_mk_plan_find(p, name);
	return i < 0 ? NULL : &p->t[i];
}

static void test_plan(void)
{
	struct ds_config c = load_preset("tiny-v3");
	struct ds_mk_plan p;
	struct ds_error err = { 0 };
	const struct ds_mk_tensor *t;
	int nfp8 = 0, nscale = 0, bad = 0;

	check("tiny-v3 plan builds", ds_mk_plan_build(&p, &c, DS_F8_E4M3, &err) == 0);
	/* 3 globals; per layer 9 attention + norm tensors and 5 scales; dense
	 * MLP 3 + 3 scales; per MoE layer gate, bias, 17 MLPs of 3 + 3
	 * scales; MTP extras 6 */
	check("tiny-v3: tensor count", p.n == 3 + 3 * 14 + 6 + 2 * (2 + 17 * 6) + 6);
	t = find(&p, "model.layers.0.self_attn.q_a_proj.weight");
	check("q_a_proj is FP8 [192, 320] with [2, 3] scales", t && t->dtype == DS_F8_E4M3 && t->shape[0] == 192 &&
	      t->shape[1] == 320 && t->scale >= 0 && p.t[t->scale].shape[0] == 2 && p.t[t->scale].shape[1] == 3 &&
	      !strcmp(p.t[t->scale].name, "model.layers.0.self_attn.q_a_proj.weight_scale_inv"));
	t = find(&p, "model.layers.0.self_attn.kv_a_proj_with_mqa.weight");
	check("kv_a_proj_with_mqa is [kv_lora + rope, D]", t && t->shape[0] == 176 && t->shape[1] == 320);
	t = find(&p, "model.layers.0.self_attn.kv_b_proj.weight");
	check("kv_b_proj is [H (dn + dv), kv_lora]", t && t->shape[0] == 4 * 64 && t->shape[1] == 160);
	t = find(&p, "model.layers.0.self_attn.o_proj.weight");
	check("o_proj is [D, H dv]", t && t->shape[0] == 320 && t->shape[1] == 128);
	check("layer 0 is dense", find(&p, "model.layers.0.mlp.gate_proj.weight") &&
	      !find(&p, "model.layers.0.mlp.gate.weight"));
	t = find(&p, "model.layers.1.mlp.gate.weight");
	check("router weight is bf16 [E, D], never FP8", t && t->dtype == DS_BF16 && t->shape[0] == 16 && t->scale < 0);
	t = find(&p, "model.layers.1.mlp.gate.e_score_correction_bias");
	check("e_score_correction_bias is F32 [E]", t && t->dtype == DS_F32 && t->ndim == 1 && t->shape[0] == 16);
	check("experts 0..15 and the shared expert exist",
	      find(&p, "model.layers.1.mlp.experts.15.down_proj.weight_scale_inv") &&
	      !find(&p, "model.layers.1.mlp.experts.16.up_proj.weight") &&
	      find(&p, "model.layers.1.mlp.shared_experts.up_proj.weight"));
	t = find(&p, "model.layers.2.eh_proj.weight");
	check("MTP layer 2: eh_proj bf16 [D, 2D], embed and head copies",
	      t && t->dtype == DS_BF16 && t->shape[1] == 640 && find(&p, "model.layers.2.embed_tokens.weight") &&
	      find(&p, "model.layers.2.shared_head.head.weight") && find(&p, "model.layers.2.enorm.weight") &&
	      find(&p, "model.layers.2.hnorm.weight") && find(&p, "model.layers.2.shared_head.norm.weight") &&
	      find(&p, "model.layers.2.mlp.experts.0.gate_proj.weight"));
	check("no q_proj with a q LoRA", !find(&p, "model.layers.0.self_attn.q_proj.weight"));
	for (int i = 0; i < p.n; i++) {
		const struct ds_mk_tensor *x = &p.t[i];
		int linear = (strstr(x->name, "_proj.weight") || strstr(x->name, "_proj_with_mqa.weight")) &&
			     !strstr(x->name, "_scale_inv") && !strstr(x->name, "eh_proj");
		nfp8 += x->dtype == DS_F8_E4M3;
		nscale += x->weight >= 0;
		if ((x->dtype == DS_F8_E4M3) != linear)
			bad++;
		if (x->dtype != DS_F8_E4M3 && x->weight < 0 && x->dtype != DS_BF16 &&
		    !strstr(x->name, "e_score_correction_bias"))
			bad++;
	}
	check("FP8 on exactly the Linear projections, one scale each, the rest bf16", !bad && nfp8 == nscale);
	ds_mk_plan_release(&p);

	c = load_preset("tiny-v2-lite");
	check("tiny-v2-lite plan builds", ds_mk_plan_build(&p, &c, DS_BF16, &err) == 0);
	check("v2-lite: q_proj [H dq, D], no LoRA, no bias, no scales, no MTP",
	      find(&p, "model.layers.0.self_attn.q_proj.weight") && !find(&p, "model.layers.0.self_attn.q_a_proj.weight") &&
	      find(&p, "model.layers.0.self_attn.q_proj.weight")->shape[0] == 4 * 48 &&
	      !find(&p, "model.layers.1.mlp.gate.e_score_correction_bias") && !find(&p, "model.layers.2.eh_proj.weight") &&
	      find(&p, "model.layers.1.mlp.shared_experts.up_proj.weight")->shape[0] == 2 * 160);
	ds_mk_plan_release(&p);

	c = load_preset("v3-width");
	check("v3-width plan builds", ds_mk_plan_build(&p, &c, DS_F8_E4M3, &err) == 0);
	t = find(&p, "model.layers.1.self_attn.kv_a_proj_with_mqa.weight");
	check("v3-width: real V3 shapes and scale shapes ([576, 7168] -> [5, 56]; q_b [24576, 1536] -> [192, 12])",
	      t && t->shape[0] == 576 && p.t[t->scale].shape[0] == 5 && p.t[t->scale].shape[1] == 56 &&
	      p.t[find(&p, "model.layers.1.self_attn.q_b_proj.weight")->scale].shape[0] == 192 &&
	      find(&p, "model.layers.1.mlp.experts.255.down_proj.weight")->shape[1] == 2048 &&
	      find(&p, "lm_head.weight")->shape[0] == 129280);
	printf("# measured v3-width plan: %d tensors, %.3f GB\n", p.n, (double)p.total_bytes / 1e9);
	ds_mk_plan_shard(&p, (uint64_t)5 << 30);
	check("v3-width in 5 GiB shards: 3 shards, weight and scales together", p.nshards == 3 &&
	      p.t[find(&p, "lm_head.weight") - p.t].shard == 2);
	ds_mk_plan_release(&p);
}

static char tmp[256];

static int write_model(const char *sub, int threads, uint64_t shard, enum ds_dtype dt)
{
	struct ds_mkmodel_opts o = { .preset = "tiny-v3", .dtype = dt, .seed = 1234, .shard_size = shard,
				     .layers = -1, .vocab = -1, .mtp = -1, .threads = threads };
	struct ds_mkmodel_result res;
	struct ds_error err = { 0 };
	char dir[512];
	int rc;

	snprintf(dir, sizeof(dir), "%s/%s", tmp, sub);
	o.outdir = dir;
	rc = ds_mkmodel_write(&o, &res, &err);
	if (rc)
		printf("# %s\n", err.msg);
	return rc;
}

static int model_digest(const char *sub, uint8_t out[DS_DIGEST_SIZE])
{
	struct ds_checkpoint ck;
	struct ds_error err = { 0 };
	uint8_t (*d)[DS_DIGEST_SIZE];
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/%s", tmp, sub);
	if (ds_checkpoint_open(&ck, dir, &err))
		return -1;
	d = calloc(ck.ntensors, sizeof(*d));
	ds_ckdigest_tensors(&ck, 2, d);
	ds_ckdigest_model(&ck, (const uint8_t (*)[DS_DIGEST_SIZE])d, out);
	free(d);
	ds_checkpoint_release(&ck);
	return 0;
}

/* the index: every plan tensor named once, with the shard the loader used */
static void check_index(const struct ds_checkpoint *ck, const struct ds_mk_plan *p, const char *dir)
{
	char path[600], *text;
	FILE *fp;
	long n;
	cJSON *root, *wm, *e;
	int count = 0, bad = 0;

	snprintf(path, sizeof(path), "%s/model.safetensors.index.json", dir);
	fp = fopen(path, "rb");
	check("the index exists", fp != NULL);
	if (!fp)
		return;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	text = calloc(1, (size_t)n + 1);
	if (fread(text, 1, (size_t)n, fp) != (size_t)n)
		bad++;
	fclose(fp);
	root = cJSON_Parse(text);
	wm = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
	cJSON_ArrayForEach(e, wm) {
		const struct ds_tensor_info *t = ds_checkpoint_find(ck, e->string);
		count++;
		if (!t || ds_mk_plan_find(p, e->string) < 0 || !strstr(ck->files[t->file].path, e->valuestring))
			bad++;
	}
	check("the index names every tensor exactly once, in the shard that holds it", count == p->n && !bad);
	check("index metadata total_size = sum of payloads",
	      cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "metadata"),
								    "total_size")) == (double)p->total_bytes);
	cJSON_Delete(root);
	free(text);
}

static void test_roundtrip(void)
{
	struct ds_config c;
	struct ds_mk_plan p;
	struct ds_checkpoint ck;
	struct ds_error err = { 0 };
	char dir[512];
	int bytes_bad = 0, deq_bad = 0, src_bad = 0, aligned = 1, rc;
	uint8_t d1[DS_DIGEST_SIZE], d2[DS_DIGEST_SIZE], d3[DS_DIGEST_SIZE];

	snprintf(tmp, sizeof(tmp), "%s/dstest-mk-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		check("mkdtemp", 0);
		return;
	}
	check("tiny-v3 FP8 written in 1 MiB shards", write_model("a", 3, 1 << 20, DS_F8_E4M3) == 0);
	snprintf(dir, sizeof(dir), "%s/a", tmp);
	c = load_preset("tiny-v3");
	ds_mk_plan_build(&p, &c, DS_F8_E4M3, &err);
	ds_mk_plan_shard(&p, 1 << 20);
	rc = ds_checkpoint_open(&ck, dir, &err);
	check("the checkpoint opens (index, shards, FP8 companions)", rc == 0);
	if (rc) {
		printf("# %s\n", err.msg);
		ds_mk_plan_release(&p);
		return;
	}
	printf("# measured tiny-v3: %d tensors, %.2f MB, %d shards\n", p.n, (double)p.total_bytes / 1e6, ck.nfiles);
	check("several shards, as many as planned", ck.nfiles == p.nshards && p.nshards > 3);
	check("as many tensors as planned", ck.ntensors == (size_t)p.n);
	check_index(&ck, &p, dir);
	for (int i = 0; i < p.n; i++) {
		const struct ds_mk_tensor *t = &p.t[i];
		const struct ds_tensor_info *l = ds_checkpoint_find(&ck, t->name);
		int64_t rows = ds_mk_rows(t), cols = ds_mk_cols(t);
		size_t numel = (size_t)(rows * cols);
		float *src, *scratch;
		uint8_t *want;
		float *scales = NULL;

		if (!l || l->dtype != t->dtype || l->nbytes != t->nbytes) {
			bytes_bad++;
			continue;
		}
		aligned &= ds_st_aligned(l);
		if (t->weight >= 0)
			continue;	/* checked with its weight */
		src = malloc(numel * sizeof(float));
		scratch = malloc((size_t)(p.brows * cols + 65536) * sizeof(float));
		want = malloc(t->nbytes);
		ds_mk_values(t, 1234, 0, numel, src);
		if (t->scale >= 0) {
			const struct ds_tensor_info *ls = ds_checkpoint_find(&ck, p.t[t->scale].name);
			float *deq = malloc(numel * sizeof(float));
			scales = malloc(p.t[t->scale].nbytes);
			ds_mk_generate(&p, t, 1234, 0, rows, scratch, want, scales);
			if (memcmp(want, l->data, t->nbytes) || !ls || memcmp(scales, ls->data, ls->nbytes))
				bytes_bad++;
			/* dequantise what was loaded, compare with the f32 source */
			ds_fp8_dequantize(l->data, ls->data, (size_t)rows, (size_t)cols, 128, 128, deq);
			for (size_t k = 0; k < numel; k++) {
				float s = ((const float *)ls->data)[(k / (size_t)cols / 128) * (size_t)p.t[t->scale].shape[1] +
								    (k % (size_t)cols) / 128];
				if (fabsf(deq[k] - src[k]) > fmaxf(fabsf(src[k]) / 16, s / 1024) * 1.0001f)
					deq_bad++;
			}
			free(deq);
		} else {
			ds_mk_generate(&p, t, 1234, 0, rows, scratch, want, NULL);
			if (memcmp(want, l->data, t->nbytes))
				bytes_bad++;
			/* independent path: tensor.h's conversion of the source */
			for (size_t k = 0; k < numel; k++) {
				if (t->dtype == DS_BF16 && ((const uint16_t *)l->data)[k] != ds_f32_to_bf16(src[k]))
					src_bad++;
				if (t->dtype == DS_F32 && memcmp((const float *)l->data + k, src + k, 4))
					src_bad++;
			}
		}
		free(src);
		free(scratch);
		free(want);
		free(scales);
	}
	check("every tensor and scale holds exactly the generator's bytes", bytes_bad == 0);
	check("FP8 weights dequantise to their f32 source within e4m3 rounding", deq_bad == 0);
	check("bf16 / f32 tensors are the conversion of their source", src_bad == 0);
	check("every payload is aligned for its dtype", aligned);
	ds_checkpoint_release(&ck);
	ds_mk_plan_release(&p);

	check("the same model with 1 thread in one file", write_model("b", 1, (uint64_t)1 << 30, DS_F8_E4M3) == 0);
	snprintf(dir, sizeof(dir), "%s/b/model.safetensors", tmp);
	check("one shard is written as model.safetensors", access(dir, F_OK) == 0);
	check("model digests computed", model_digest("a", d1) == 0 && model_digest("b", d2) == 0);
	check("model digest independent of threads and sharding", !memcmp(d1, d2, sizeof(d1)));
	check("rewriting a directory replaces the old checkpoint",
	      write_model("a", 2, (uint64_t)1 << 30, DS_BF16) == 0 && model_digest("a", d3) == 0 &&
	      memcmp(d1, d3, sizeof(d1)));
	snprintf(dir, sizeof(dir), "%s/a/model.safetensors.index.json", tmp);
	check("the stale index is gone", access(dir, F_OK) != 0);
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd))
			printf("# could not remove %s\n", tmp);
	}
}

static void test_sizes(void)
{
	uint64_t v;

	check("size 5G", ds_mk_parse_size("5G", &v) == 0 && v == (uint64_t)5 << 30);
	check("size 512MB", ds_mk_parse_size("512MB", &v) == 0 && v == (uint64_t)512 << 20);
	check("size 123", ds_mk_parse_size("123", &v) == 0 && v == 123);
	check("bad sizes refused", ds_mk_parse_size("", &v) && ds_mk_parse_size("-1", &v) &&
	      ds_mk_parse_size("5X", &v) && ds_mk_parse_size("0", &v) && ds_mk_parse_size("99999999999T", &v) &&
	      ds_mk_parse_size("5 G", &v));
}

static void test_writer(void)
{
	static const struct { const char *name; enum ds_dtype dt; } decl[] = {
		{ "b", DS_F32 }, { "a", DS_BF16 }, { "a2", DS_F32 }, { "c", DS_U8 }, { "z", DS_F64 },
	};
	static const char *const want[] = { "z", "a2", "b", "a", "c" };
	char dir[256], path[300];
	struct ds_stwriter w;
	struct ds_st_file f;
	struct ds_error err = { 0 };
	int64_t shape[1] = { 3 };
	int ok = 1, rc;

	snprintf(dir, sizeof(dir), "%s/dstest-stw-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		check("mkdtemp", 0);
		return;
	}
	snprintf(path, sizeof(path), "%s/w.safetensors", dir);
	ds_stw_init(&w);
	for (int i = 0; i < 5; i++)
		ok &= ds_stw_add(&w, decl[i].name, decl[i].dt, 1, shape, &err) == i;
	ok &= ds_stw_create(&w, path, &err) == 0 && ds_stw_close(&w, &err) == 0;
	ds_stw_release(&w);
	check("writer: five tensors declared and written", ok);
	rc = ds_st_open(&f, path, &err);
	check("writer: the file opens", rc == 0);
	if (!rc) {
		for (int i = 0; i < 5 && i < f.ntensors; i++)
			ok &= !strcmp(f.tensors[i].name, want[i]) && ds_st_aligned(&f.tensors[i]) &&
			      (i == 0 || f.tensors[i].offset == f.tensors[i - 1].offset + f.tensors[i - 1].nbytes);
		check("writer: data ordered by element size, then name, each aligned", ok && f.ntensors == 5);
		ds_st_release(&f);
	}
	unlink(path);

	ds_stw_init(&w);
	ok = ds_stw_add(&w, "x", DS_F32, 1, shape, &err) == 0 && ds_stw_add(&w, "y", DS_F32, 1, shape, &err) == 1 &&
	     ds_stw_add(&w, "x", DS_BF16, 1, shape, &err) == 2;
	rc = ds_stw_create(&w, path, &err);
	check("writer: a name declared twice (other dtype) is refused before the file is made",
	      ok && rc == EX_DATAERR && strstr(err.msg, "'x' declared twice") && access(path, F_OK) != 0);
	ds_stw_release(&w);

	/* a file is only under its name once closed; released unclosed, it is gone */
	{
		char tmp[320];
		float v[3] = { 1, 2, 3 };
		snprintf(tmp, sizeof(tmp), "%s%s", path, DS_STW_PARTIAL);
		ds_stw_init(&w);
		ok = ds_stw_add(&w, "x", DS_F32, 1, shape, &err) == 0 && ds_stw_create(&w, path, &err) == 0 &&
		     ds_stw_pwrite(&w, 0, 0, v, sizeof(v), &err) == 0;
		check("writer: while written the file is PATH.partial, nothing is under PATH",
		      ok && access(tmp, F_OK) == 0 && access(path, F_OK) != 0);
		ds_stw_release(&w);
		check("writer: released without a close, the .partial file is removed",
		      access(tmp, F_OK) != 0 && access(path, F_OK) != 0);
		ds_stw_init(&w);
		ok = ds_stw_add(&w, "x", DS_F32, 1, shape, &err) == 0 && ds_stw_create(&w, path, &err) == 0 &&
		     ds_stw_close(&w, &err) == 0;
		ds_stw_release(&w);
		check("writer: closed, it is renamed to PATH (sized, the unwritten payload zeros)",
		      ok && access(tmp, F_OK) != 0 && ds_st_open(&f, path, &err) == 0 && f.ntensors == 1 &&
		      !memcmp(f.tensors[0].data, "\0\0\0\0\0\0\0\0\0\0\0\0", 12));
		if (f.map)
			ds_st_release(&f);
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	test_conversions();
	test_prng();
	test_fp8_blocks();
	test_plan();
	test_sizes();
	test_writer();
	test_roundtrip();
	return test_done();
}
