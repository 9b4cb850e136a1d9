/*
 * ds-bench - how fast the forward pass runs on this machine: prefill and
 * decode tokens per second of a model, warm-up plus N repetitions, reported
 * as medians with the raw samples in one JSON line (commit, hardware,
 * model, settings), the way `make bench` collects figures.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "bench.h"
#include "cli.h"
#include "clock.h"
#include "device.h"
#include "cpu/forward.h"
#include "cpu/kernels.h"
#include "fileio.h"
#include "model.h"
#include "spec.h"
#include "speculative.h"
#include "textio.h"

struct bench_opts {
	const char *model;
	long prompt, gen, reps, threads, batch;
	const char *device;
	const char *label;
	long seed;
	long speculative;		/* K drafts; 0 = off */
	double temperature;
	const char *prompt_ids;
};

static struct bench_opts opt = { .prompt = 128, .gen = 32, .reps = 3, .batch = 1, .seed = 1 };

static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json (required)"),
	DS_OPT_INT_("prompt", 'p', &opt.prompt, "N", "prompt tokens per prefill (default 128)", 1, 1e7),
	DS_OPT_INT_("gen", 'n', &opt.gen, "N", "decode steps after the prompt (default 32)", 0, 1e7),
	DS_OPT_INT_("reps", 'r', &opt.reps, "N", "measured repetitions after one warm-up (default 3)", 1, 1000),
	DS_OPT_INT_("batch", 'b', &opt.batch, "B", "sequences decoded together, one token each per step (default 1)", 1, 4096),
	DS_OPT_INT_("threads", 't', &opt.threads, "N", "threads (default: every CPU)", 1, 4096),
	DS_OPT_STRING_("device", 'd', &opt.device, "DEV", "cpu (default) or cuda"),
	DS_OPT_INT_("seed", 's', &opt.seed, "N", "seed of the prompt's random ids (default 1)", 0, 2147483647),
	DS_OPT_STRING_("label", 0, &opt.label, "TEXT", "a label stored in the record"),
	DS_OPT_INT_("speculative", 0, &opt.speculative, "K", "also decode with K MTP drafts per step and without: acceptance, tokens per pass, tok/s (default 0 = off)", 0, DS_SPEC_MAX_DRAFTS),
	DS_OPT_DOUBLE_("temperature", 0, &opt.temperature, "T", "--speculative: sampling temperature, seeded by --seed (default 0 = greedy)", 0, 1e6),
	DS_OPT_STRING_("prompt-ids", 0, &opt.prompt_ids, "FILE", "--speculative: the prompt as ids (ds-tokenize -f text) instead of random ones"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-bench",
	"-m DIR [-p N] [-n N] [-r N] [-b B] [-t N] [-d DEV] [--label TEXT]\n"
	"-m DIR --speculative K [--temperature T] [--prompt-ids FILE] [OPTION...]",
	"Measure prefill and decode speed of a model in one process (no pipes): one\n"
	"warm-up, then N repetitions of a B x prompt prefill and gen decode steps.\n"
	"Writes one JSON line to stdout (medians and raw samples); a summary to stderr.\n"
	"With --speculative K the record also holds decoding with and without K drafts of\n"
	"the MTP module per step (one sequence, n tokens, alternating repetitions).",
	options,
};

struct run {
	struct ds_model m;
	struct ds_backend *b;
	float *hidden, *logits;
	int32_t *ids;
	struct ds_fwd_chunk *chunks;
};

/* The deterministic prompt ids of --seed. */
static void prompt_ids(int32_t *ids, long n, long V)
{
	for (long i = 0; i < n; i++)
		ids[i] = (int32_t)((unsigned long)(i * 2654435761u + (unsigned long)opt.seed * 40503u) % (unsigned long)V);
}

/* --speculative: its figures, from speculative.c, into the record. */
static void speculative(struct run *r, cJSON *rec)
{
	struct bench_spec_opts so = { opt.speculative, opt.temperature, (uint64_t)opt.seed, opt.gen + 1, opt.reps,
				      NULL, opt.prompt };
	struct ds_error err = { 0 };
	int32_t *ids = NULL;
	double plain, spec;

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
			if (ids[i] < 0 || ids[i] >= r->m.V)
				ds_die(EX_DATAERR, "%s: id %d is outside the vocabulary", opt.prompt_ids, (int)ids[i]);
		so.n = n;
	} else {
		ids = ds_xmalloc((size_t)opt.prompt * sizeof(*ids));
		prompt_ids(ids, opt.prompt, r->m.V);
	}
	so.prompt = ids;
	cJSON_AddItemToObject(rec, "speculative", bench_speculative(r->b, &r->m, &so, &plain, &spec));
	if (!ds_quiet)
		fprintf(stderr, "ds-bench: speculative, %ld drafts: %.2f tok/s, without: %.2f tok/s (x%.3f)\n",
			opt.speculative, spec, plain, plain > 0 ? spec / plain : 0);
	free(ids);
}

/* One repetition with sequence ids base..base+B-1; returns seconds. */
static void one_rep(struct run *r, uint64_t base, double *t_prefill, double *t_decode)
{
	struct ds_error err = { 0 };
	long B = opt.batch, P = opt.prompt, D = r->m.D, V = r->m.V;
	struct ds_fwd_batch batch = { (int)B, r->chunks };
	double t0 = ds_seconds();

	for (long s = 0; s < B; s++)
		r->chunks[s] = (struct ds_fwd_chunk){ base + (uint64_t)s, 0, P };
	prompt_ids(r->ids, B * P, V);
	if (ds_embed_rows(&r->m.embed, r->ids, B * P, r->hidden, &err) ||
	    ds_backend_layers(r->b, &batch, r->hidden, &err))
		ds_die_error(&err);
	for (long s = 0; s < B; s++)	/* the head of each sequence's last row */
		if (ds_backend_head(r->b, r->hidden + ((s + 1) * P - 1) * D, 1, r->logits + s * V, &err))
			ds_die_error(&err);
	*t_prefill = ds_seconds() - t0;
	t0 = ds_seconds();
	for (long step = 0; step < opt.gen; step++) {
		for (long s = 0; s < B; s++) {
			const float *l = r->logits + s * V;
			long best = 0;
			for (long v = 1; v < V; v++)
				if (l[v] > l[best])
					best = v;
			r->ids[s] = (int32_t)best;
			r->chunks[s] = (struct ds_fwd_chunk){ base + (uint64_t)s, P + step, 1 };
		}
		if (ds_embed_rows(&r->m.embed, r->ids, B, r->hidden, &err) ||
		    ds_backend_layers(r->b, &batch, r->hidden, &err) ||
		    ds_backend_head(r->b, r->hidden, B, r->logits, &err))
			ds_die_error(&err);
	}
	*t_decode = ds_seconds() - t0;
	for (long s = 0; s < B; s++)
		ds_backend_end_seq(r->b, base + (uint64_t)s);
}

int main(int argc, char **argv)
{
	struct ds_backend_opts bo = { 0 };
	struct ds_model_want want = { 0 };
	struct ds_error err = { 0 };
	struct run r = { 0 };
	char hw[256], date[32];
	double t_load, *tp, *td, dec_bytes, med_prefill, med_decode, steps;
	time_t t = time(NULL);
	cJSON *rec;
	char *line;

	if (ds_cli_parse(&tool, argc, &argv))
		ds_usage_error("no arguments besides options");
	if (!opt.model)
		ds_usage_error("-m DIR (the model) is required");
	t_load = ds_seconds();
	if (ds_model_load_config(&r.m, opt.model, &err))
		ds_die(err.code, "%s: %s", opt.model, err.msg);
	want.first = 0;
	want.last = r.m.L;
	want.parts = DS_PART_EMBED | DS_PART_HEAD | (opt.speculative ? DS_PART_MTP : 0);
	if (ds_model_map(&r.m, opt.model, &want, &err))
		ds_die(err.code, "%s: %s", opt.model, err.msg);
	bo.device = opt.device;
	bo.threads = (int)opt.threads;
	bo.first = 0;
	bo.last = r.m.L;
	bo.max_rows = opt.prompt * opt.batch;
	bo.mtp = opt.speculative > 0;
	if (ds_backend_open(&r.b, &r.m, &bo, &err))
		ds_die_error(&err);
	t_load = ds_seconds() - t_load;
	r.hidden = ds_xmalloc((size_t)(opt.batch * opt.prompt * r.m.D) * sizeof(float));
	r.logits = ds_xmalloc((size_t)(opt.batch * r.m.V) * sizeof(float));
	r.ids = ds_xmalloc((size_t)(opt.batch * opt.prompt) * sizeof(int32_t));
	r.chunks = ds_xcalloc((size_t)opt.batch, sizeof(*r.chunks));
	tp = ds_xcalloc((size_t)opt.reps, sizeof(*tp));
	td = ds_xcalloc((size_t)opt.reps, sizeof(*td));
	{
		double wp, wd;
		one_rep(&r, 0, &wp, &wd);	/* warm-up: pages mapped in, caches sized */
	}
	for (long i = 0; i < opt.reps; i++)
		one_rep(&r, (uint64_t)((i + 1) * opt.batch), &tp[i], &td[i]);

	dec_bytes = ds_bench_decode_bytes(&r.m);
	ds_device_describe(opt.device && !strcmp(opt.device, "cuda") ? DS_DEVICE_CUDA : DS_DEVICE_CPU, hw, sizeof(hw));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "tool", "ds-bench");
	cJSON_AddStringToObject(rec, "version", ds_version_string());
	cJSON_AddStringToObject(rec, "date", date);
	cJSON_AddStringToObject(rec, "hardware", hw);
	cJSON_AddStringToObject(rec, "backend", ds_backend_name(r.b));
	cJSON_AddStringToObject(rec, "kernels", ds_kernels()->name);
	cJSON_AddNumberToObject(rec, "threads", opt.threads ? (double)opt.threads : (double)sysconf(_SC_NPROCESSORS_ONLN));
	cJSON_AddStringToObject(rec, "model", opt.model);
	cJSON_AddStringToObject(rec, "model_type", r.m.cfg.model_type);
	cJSON_AddNumberToObject(rec, "hidden_size", (double)r.m.D);
	cJSON_AddNumberToObject(rec, "layers", (double)r.m.L);
	cJSON_AddNumberToObject(rec, "experts", (double)r.m.E);
	cJSON_AddNumberToObject(rec, "vocab", (double)r.m.V);
	cJSON_AddBoolToObject(rec, "fp8", r.m.cfg.fp8);
	if (opt.label)
		cJSON_AddStringToObject(rec, "label", opt.label);
	cJSON_AddNumberToObject(rec, "prompt", (double)opt.prompt);
	cJSON_AddNumberToObject(rec, "gen", (double)opt.gen);
	cJSON_AddNumberToObject(rec, "batch", (double)opt.batch);
	cJSON_AddNumberToObject(rec, "reps", (double)opt.reps);
	cJSON_AddNumberToObject(rec, "load_s", round(t_load * 1000) / 1000);
	cJSON_AddItemToObject(rec, "prefill_tok_s", ds_bench_rates(tp, opt.reps, (double)(opt.prompt * opt.batch), &med_prefill));
	cJSON_AddItemToObject(rec, "decode_tok_s", ds_bench_rates(td, opt.reps, (double)(opt.gen * opt.batch), &med_decode));
	/* a decode step reads the weights once for the whole batch */
	steps = med_decode / (double)opt.batch;
	cJSON_AddNumberToObject(rec, "decode_weight_bytes_per_token", round(dec_bytes));
	cJSON_AddNumberToObject(rec, "decode_effective_gb_s", round(dec_bytes * steps / 1e7) / 100);
	cJSON_AddNumberToObject(rec, "kv_cache_bytes_per_position", ds_bench_cache_bytes_per_pos(&r.m));
	if (opt.speculative)
		speculative(&r, rec);
	cJSON_AddNumberToObject(rec, "peak_rss_mib", round(ds_bench_peak_rss_mib()));
	line = cJSON_PrintUnformatted(rec);
	printf("%s\n", line);
	if (!ds_quiet)
		fprintf(stderr, "ds-bench: %s: prefill %.1f tok/s, decode %.2f tok/s (median of %ld; %.2f GB/s of weights)\n",
			opt.model, med_prefill, med_decode, opt.reps, dec_bytes * steps / 1e9);
	free(line);
	cJSON_Delete(rec);
	free(tp);
	free(td);
	free(r.hidden);
	free(r.logits);
	free(r.ids);
	free(r.chunks);
	ds_backend_free(r.b);
	ds_model_release(&r.m);
	if (fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
	return 0;
}
