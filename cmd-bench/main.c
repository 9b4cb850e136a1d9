/*
 * ds-bench - how fast the forward pass runs on this machine, the way
 * llama-bench measures it: a grid of tests (prefill "pp" of -p tokens and
 * decode "tg" of -n tokens, after -d positions of context, on -t threads)
 * in one process, each run once to warm up and then -r times, reported as
 * a markdown table, CSV, JSON or JSON lines with the raw samples.  Loading
 * counts paging the weights in; the machine's memory bandwidth is measured
 * once so that decode can be shown against its roofline.  The timed work
 * is in run.c (one function per mode), the records in report.c, the
 * arithmetic in common/bench.c.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "backend.h"
#include "bench-tool.h"
#include "bench.h"
#include "cli.h"
#include "clock.h"
#include "cpu/kernels.h"
#include "cpu/mla.h"
#include "device.h"
#include "fileio.h"
#include "model.h"
#include "spec.h"
#include "speculative.h"
#include "textio.h"
#include "threadpool.h"
#include "toolio.h"

#define MAX_LIST 32

struct list {
	long v[MAX_LIST];
	int n;
};

struct bench_opts {
	const char *model, *device, *label, *records;
	struct list prompt, gen, depth, threads, batch;
	long reps, seed, bw_mib;
	int format, prefetch, mlock, no_warmup;
	long speculative;		/* K drafts; 0 = off */
	long draft_vocab;		/* --draft-vocab: drafts from ids below it; 0: all */
	int draft_policy;		/* --draft-policy: index into ds_spec_policies; -1 not given */
	double temperature;
	const char *prompt_ids;
};

static struct bench_opts opt = { .prompt = { { 512 }, 1 }, .gen = { { 128 }, 1 }, .depth = { { 0 }, 1 },
				 .batch = { { 1 }, 1 }, .reps = 5, .seed = 1, .bw_mib = 1024, .draft_policy = -1 };
static const char *const formats[] = { "md", "csv", "json", "jsonl", NULL };
static const char *const devices[] = { "cpu", "cuda", NULL };
static int device;

/* "512,1024": a comma list of integers >= 0 (>= 1 for threads and batch) */
static int parse_list(const char *arg, struct list *l, long min)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	l->n = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long v;

		if (l->n == MAX_LIST || ds_parse_long(tok, &v) || v < min || v > 10000000)
			return -1;
		l->v[l->n++] = v;
	}
	return l->n ? 0 : -1;
}

static int list0(const char *a, void *l) { return parse_list(a, l, 0); }
static int list1(const char *a, void *l) { return parse_list(a, l, 1); }

static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json (required)"),
	DS_OPT_CALL_("n-prompt", 'p', &opt.prompt, "N,...", "prefill tests of N tokens (default 512; 0: none)", list0, 1),
	DS_OPT_CALL_("n-gen", 'n', &opt.gen, "N,...", "decode tests of N tokens (default 128; 0: none)", list0, 1),
	DS_OPT_CALL_("n-depth", 'd', &opt.depth, "N,...", "positions of context before each test (default 0)", list0, 1),
	DS_OPT_CALL_("threads", 't', &opt.threads, "N,...", "threads (default: every CPU)", list1, 1),
	DS_OPT_CALL_("batch", 'b', &opt.batch, "B,...", "sequences run side by side, each its own tokens (default 1)", list1, 1),
	DS_OPT_INT_("repetitions", 'r', &opt.reps, "N", "measured runs of each test after one warm-up (default 5)", 1, 1000),
	DS_OPT_CHOICE_("output", 'o', &opt.format, "FMT", "md (default), csv, json or jsonl", formats),
	DS_OPT_CHOICE_("device", 0, &device, "DEV", "cpu (default) or cuda", devices),
	DS_OPT_FLAG_("prefetch", 0, &opt.prefetch, "page the weights in with madvise(MADV_WILLNEED) + populate (default: touch each page)"),
	DS_OPT_FLAG_("mlock", 0, &opt.mlock, "also lock the weights in memory (needs ulimit -l)"),
	DS_OPT_INT_("bandwidth-mib", 0, &opt.bw_mib, "N", "MiB the bandwidth measurement reads (default 1024; 0: skip)", 0, 1 << 20),
	DS_OPT_FLAG_("no-warmup", 0, &opt.no_warmup, "no warm-up run before each test"),
	DS_OPT_INT_("seed", 's', &opt.seed, "N", "seed of the token ids (default 1)", 0, 2147483647),
	DS_OPT_STRING_("label", 0, &opt.label, "TEXT", "a label stored in every record"),
	DS_OPT_STRING_("records", 0, &opt.records, "FILE", "also append every record to FILE as a JSON line"),
	DS_OPT_INT_("speculative", 0, &opt.speculative, "K", "instead: decode -n tokens with K MTP drafts per step and without (acceptance, tokens per pass, tok/s) as one JSON line", 0, DS_SPEC_MAX_DRAFTS),
	DS_OPT_INT_("draft-vocab", 0, &opt.draft_vocab, "N", "--speculative: draft only ids below N (default: all)", 0, 1 << 30),
	DS_OPT_CHOICE_("draft-policy", 0, &opt.draft_policy, "P", "--speculative: fixed (default: K drafts every pass) or adaptive (0..K, as many as measure to pay)", ds_spec_policies),
	DS_OPT_DOUBLE_("temperature", 0, &opt.temperature, "T", "--speculative: sampling temperature, seeded by --seed (default 0 = greedy)", 0, 1e6),
	DS_OPT_STRING_("prompt-ids", 0, &opt.prompt_ids, "FILE", "--speculative: the prompt as ids (ds-tokenize -f text) instead of -p random ones"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-bench",
	"-m DIR [-p N,...] [-n N,...] [-d N,...] [-t N,...] [-b B,...] [-r N] [-o FMT] [OPTION...]",
	"Measure prefill (pp) and decode (tg) speed of a model in one process, as\n"
	"llama-bench does: every combination of the lists is a test, run once to warm up\n"
	"and then -r times.  Writes the results to stdout as a markdown table (t/s as mean\n"
	"and standard deviation, prefill GFLOP/s, decode against the memory-bandwidth\n"
	"roofline), CSV, JSON or JSON lines with the raw samples.",
	options,
};

static void describe(const struct ds_model *m, struct bench_info *in, char *desc, size_t len)
{
	const char *v = ds_version_string(), *a = strchr(v, '('), *b = a ? strchr(a, ')') : NULL;
	const struct ds_mat *w = &m->layers[0].kv_a;

	snprintf(in->commit, sizeof(in->commit), "%.*s", a && b ? (int)(b - a - 1) : 7, a && b ? a + 1 : "unknown");
	ds_device_describe(device ? DS_DEVICE_CUDA : DS_DEVICE_CPU, in->cpu, sizeof(in->cpu));
	in->size_bytes = ds_bench_weight_bytes(m);
	in->params = ds_bench_params(m);
	in->decode_bytes = ds_bench_decode_bytes(m);
	in->cache_bytes_per_pos = ds_bench_cache_bytes_per_pos(m);
	in->mla_decompress_min = ds_mla_decompress_min(0);
	snprintf(desc, len, in->params >= 1e9 ? "%s %.1fB %s" : "%s %.0fM %s", m->cfg.model_type,
		 in->params / (in->params >= 1e9 ? 1e9 : 1e6),
		 w->dtype == DS_F8_E4M3 ? "FP8" : w->dtype == DS_BF16 ? "BF16" : w->dtype == DS_F16 ? "F16" : "F32");
	in->model_desc = desc;
	in->model_path = opt.model;
	in->device = devices[device];
	in->label = opt.label;
	in->kernels = device ? "cuda" : ds_kernels()->name;
	in->prefetch = opt.mlock ? "mlock" : opt.prefetch ? "willneed" : "touch";
}

static long list_max(const struct list *l)
{
	long m = 0;

	for (int i = 0; i < l->n; i++)
		m = l->v[i] > m ? l->v[i] : m;
	return m;
}

static struct bench_out outs[2];
static int nouts;

/* warm-up, then the repetitions of one test */
static void run_test(struct bench_run *r, struct bench_test *t, const struct bench_info *info)
{
	struct bench_result res = { t, r->m, ds_xcalloc((size_t)opt.reps, sizeof(double)), opt.reps, "" };
	time_t now = time(NULL);
	void *state;

	strftime(res.time, sizeof(res.time), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	t->mode->prepare(r, t, &state);
	if (!opt.no_warmup)
		t->mode->rep(r, t, state);
	for (long i = 0; i < opt.reps; i++)
		res.seconds[i] = t->mode->rep(r, t, state);
	t->mode->done(r, t, state);
	for (int i = 0; i < nouts; i++)
		bench_report(&outs[i], info, &res);
	free(res.seconds);
}

/* --speculative K: one JSON line of decoding with and without K MTP drafts
 * per step (cmd-bench/speculative.c), in place of the test grid; the prompt
 * is the first -p list entry's random ids or --prompt-ids, -n the first -n. */
static int speculative(struct ds_model *m)
{
	struct ds_backend_opts bo = { devices[device], (int)opt.threads.v[0], 0, m->L, 1, 0, 0 };
	struct bench_spec_opts so = { opt.speculative, opt.draft_vocab, opt.draft_policy == 1, opt.temperature,
				      (uint64_t)opt.seed, opt.gen.v[0] + 1, opt.reps, NULL, opt.prompt.v[0] };
	struct ds_error err = { 0 };
	struct ds_backend *b;
	int32_t *ids = NULL;
	double plain, spec;
	cJSON *rec = cJSON_CreateObject();
	char *line;

	if (opt.prompt_ids) {
		char *text;
		size_t len, cap = 0;
		long n;

		if (ds_read_file(opt.prompt_ids, 1 << 26, EX_DATAERR, &text, &len, &err))
			ds_die_error(&err);
		if ((n = ds_ids_parse_line(text, &ids, &cap, &err)) < 1)
			ds_die(EX_DATAERR, "%s: %s", opt.prompt_ids, n < 0 ? err.msg : "no ids");
		free(text);
		for (long i = 0; i < n; i++)
			if (ids[i] < 0 || ids[i] >= m->V)
				ds_die(EX_DATAERR, "%s: id %d is outside the vocabulary", opt.prompt_ids, (int)ids[i]);
		so.n = n;
	} else {
		if (so.n < 1)
			ds_usage_error("--speculative needs a prompt: -p N with N >= 1, or --prompt-ids");
		ids = ds_xmalloc((size_t)so.n * sizeof(*ids));
		bench_ids(opt.seed, m->V, 0, 0, so.n, ids);
	}
	so.prompt = ids;
	bo.max_rows = so.n;
	if (ds_backend_open(&b, m, &bo, &err))
		ds_die_error(&err);
	cJSON_AddStringToObject(rec, "tool", "ds-bench");
	cJSON_AddStringToObject(rec, "model", opt.model);
	cJSON_AddStringToObject(rec, "backend", ds_backend_name(b));
	cJSON_AddNumberToObject(rec, "threads", (double)opt.threads.v[0]);
	if (opt.label)
		cJSON_AddStringToObject(rec, "label", opt.label);
	cJSON_AddNumberToObject(rec, "n_prompt", (double)so.n);
	cJSON_AddNumberToObject(rec, "n_gen", (double)opt.gen.v[0]);
	cJSON_AddItemToObject(rec, "speculative", bench_speculative(b, m, &so, &plain, &spec));
	line = cJSON_PrintUnformatted(rec);
	printf("%s\n", line);
	if (!ds_quiet)
		fprintf(stderr, "ds-bench: speculative, %s%ld drafts: %.2f tok/s, without: %.2f tok/s (x%.3f)\n",
			so.adaptive ? "adaptive, up to " : "", opt.speculative, spec, plain, plain > 0 ? spec / plain : 0);
	free(line);
	cJSON_Delete(rec);
	free(ids);
	ds_backend_free(b);
	return 0;
}

int main(int argc, char **argv)
{
	struct ds_model_want want = { 0 };
	struct ds_error err = { 0 };
	struct ds_model m;
	struct bench_info info = { 0 };
	struct bench_run r = { 0 };
	char desc[128];
	long rows;
	double t0;

	if (ds_cli_parse(&tool, argc, &argv))
		ds_usage_error("no arguments besides options");
	if (!opt.model)
		ds_usage_error("-m DIR (the model) is required");
	if ((opt.draft_vocab || opt.draft_policy >= 0) && !opt.speculative)
		ds_usage_error("--draft-vocab and --draft-policy go with --speculative K");
	if (!opt.threads.n) {
		opt.threads.v[0] = ds_cpu_count();
		opt.threads.n = 1;
	}
	/* loading: the config, the mapping, and paging the weights in */
	t0 = ds_seconds();
	if (ds_model_load_config(&m, opt.model, &err))
		ds_die(err.code, "%s: %s", opt.model, err.msg);
	want.last = m.L;
	want.parts = DS_PART_EMBED | DS_PART_HEAD | (opt.speculative ? DS_PART_MTP : 0);
	if (ds_model_map(&m, opt.model, &want, &err))
		ds_die(err.code, "%s: %s", opt.model, err.msg);
	info.page_in_s = ds_tool_prefetch(&m, (opt.prefetch || opt.mlock ? DS_PREFETCH_WILLNEED : DS_PREFETCH_TOUCH) |
						      (opt.mlock ? DS_PREFETCH_MLOCK : 0));
	info.load_s = ds_seconds() - t0;
	if (opt.speculative) {
		speculative(&m);
		ds_model_release(&m);
		ds_tool_finish(NULL);
		return 0;
	}
	describe(&m, &info, desc, sizeof(desc));
	if (opt.bw_mib) {
		struct ds_pool *p = ds_pool_new((int)list_max(&opt.threads));

		info.bandwidth_gb_s = p ? ds_bench_bandwidth(p, (size_t)opt.bw_mib << 20, 5) : 0;
		ds_pool_free(p);
	}
	rows = (list_max(&opt.prompt) > 512 ? list_max(&opt.prompt) : 512) * list_max(&opt.batch);
	r.m = &m;
	r.seed = opt.seed;
	r.hidden = ds_xmalloc((size_t)rows * (size_t)m.D * sizeof(float));
	r.logits = ds_xmalloc((size_t)list_max(&opt.batch) * (size_t)m.V * sizeof(float));
	r.ids = ds_xmalloc((size_t)rows * sizeof(int32_t));
	r.chunks = ds_xcalloc((size_t)list_max(&opt.batch), sizeof(*r.chunks));
	outs[nouts++] = (struct bench_out){ stdout, (enum bench_format)opt.format, 0 };
	if (opt.records) {
		if (!(outs[nouts].fp = fopen(opt.records, "a")))
			ds_die(EX_IOERR, "cannot open '%s': %m", opt.records);
		outs[nouts++].format = BENCH_JSONL;
	}
	for (int i = 0; i < nouts; i++)
		bench_report_begin(&outs[i], &info);
	for (int ti = 0; ti < opt.threads.n; ti++) {
		struct ds_backend_opts bo = { devices[device], (int)opt.threads.v[ti], 0, m.L, 0, rows, 0 };

		if (ds_backend_open(&r.b, &m, &bo, &err))
			ds_die_error(&err);
		info.backend = device ? "CUDA" : "CPU";
		for (int bi = 0; bi < opt.batch.n; bi++)
			for (int di = 0; di < opt.depth.n; di++) {
				for (int pi = 0; pi < opt.prompt.n; pi++) {
					struct bench_test t = { &bench_pp, opt.prompt.v[pi], 0, opt.depth.v[di], opt.threads.v[ti],
								opt.batch.v[bi] };

					if (t.n_prompt)
						run_test(&r, &t, &info);
				}
				for (int ni = 0; ni < opt.gen.n; ni++) {
					struct bench_test t = { &bench_tg, 0, opt.gen.v[ni], opt.depth.v[di], opt.threads.v[ti],
								opt.batch.v[bi] };

					if (t.n_gen)
						run_test(&r, &t, &info);
				}
			}
		ds_backend_free(r.b);
		r.b = NULL;
	}
	for (int i = 0; i < nouts; i++)
		bench_report_end(&outs[i], &info);
	if (opt.records && fclose(outs[1].fp))
		ds_die(EX_IOERR, "%s: write error: %m", opt.records);
	free(r.hidden);
	free(r.logits);
	free(r.ids);
	free(r.chunks);
	ds_model_release(&m);
	ds_tool_finish(NULL);
	return 0;
}
