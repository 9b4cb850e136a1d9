/*
 * cmd-bench/report.c - ds-bench's records in llama-bench's shapes: a
 * markdown table (its columns: model, size, params, backend, threads,
 * test, t/s as mean +- sd; then GFLOP/s of prefill and decode as a share of
 * the memory-bandwidth roofline), CSV with a header, a JSON array, or JSON
 * lines.  Every record carries llama-bench's field names where they apply
 * (build_commit, cpu_info, model_size, n_threads, n_prompt, n_gen, n_depth,
 * test_time, avg_ts, samples_ts ...) and dspipe's own after them.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench-tool.h"
#include "cli.h"
#include "bench.h"

void bench_test_name(const struct bench_test *t, char *out, size_t len)
{
	int k = snprintf(out, len, "%s%ld", t->mode->name, t->mode == &bench_pp ? t->n_prompt : t->n_gen);

	if (t->depth && k > 0 && (size_t)k < len)
		k += snprintf(out + k, len - (size_t)k, " @ d%ld", t->depth);
	if (t->batch > 1 && k > 0 && (size_t)k < len)
		snprintf(out + k, len - (size_t)k, " x%ld", t->batch);
}

static double round_to(double v, double unit)
{
	return round(v / unit) * unit;
}

/* the derived figures of a result */
struct figures {
	double *ts, avg_ts, sd_ts, median_ts, avg_ns, sd_ns;
	double bytes_per_token, roofline_ts, roofline_pct, gflop_s;
};

static void figures(const struct bench_info *info, const struct bench_result *r, struct figures *f)
{
	const struct bench_test *t = r->t;
	double tokens = t->mode->tokens(t), *ns = ds_xmalloc((size_t)r->reps * sizeof(*ns));

	memset(f, 0, sizeof(*f));
	f->ts = ds_xmalloc((size_t)r->reps * sizeof(*f->ts));
	for (long i = 0; i < r->reps; i++) {
		f->ts[i] = r->seconds[i] > 0 ? tokens / r->seconds[i] : 0;
		ns[i] = r->seconds[i] * 1e9;
	}
	f->avg_ts = ds_bench_mean(f->ts, (size_t)r->reps);
	f->sd_ts = ds_bench_sd(f->ts, (size_t)r->reps);
	f->median_ts = ds_bench_median(f->ts, (size_t)r->reps);
	f->avg_ns = ds_bench_mean(ns, (size_t)r->reps);
	f->sd_ns = ds_bench_sd(ns, (size_t)r->reps);
	free(ns);
	if (t->mode == &bench_tg) {
		/* a step reads the weights once for the whole batch, and each
		 * sequence's cache: on average depth + n_gen / 2 positions */
		double kv = info->cache_bytes_per_pos * ((double)t->depth + (double)t->n_gen / 2);

		f->bytes_per_token = (info->decode_bytes + (double)t->batch * kv) / (double)t->batch;
		if (info->bandwidth_gb_s > 0) {
			f->roofline_ts = info->bandwidth_gb_s * 1e9 / f->bytes_per_token;
			f->roofline_pct = 100 * f->median_ts / f->roofline_ts;
		}
	} else if (f->avg_ns > 0) {
		double flops = (double)t->batch * ds_bench_flops(r->m, t->depth, t->n_prompt, 1);

		f->gflop_s = flops / ds_bench_median(r->seconds, (size_t)r->reps) / 1e9;
	}
}

static cJSON *record(const struct bench_info *info, const struct bench_result *r, const struct figures *f)
{
	const struct bench_test *t = r->t;
	cJSON *o = cJSON_CreateObject(), *sns = cJSON_CreateArray(), *sts = cJSON_CreateArray();
	char name[64];

	bench_test_name(t, name, sizeof(name));
	for (long i = 0; i < r->reps; i++) {
		cJSON_AddItemToArray(sns, cJSON_CreateNumber(round(r->seconds[i] * 1e9)));
		cJSON_AddItemToArray(sts, cJSON_CreateNumber(round_to(f->ts[i], 1e-3)));
	}
	cJSON_AddStringToObject(o, "build_commit", info->commit);
	cJSON_AddStringToObject(o, "cpu_info", info->cpu);
	cJSON_AddStringToObject(o, "backends", info->backend);
	cJSON_AddStringToObject(o, "model_filename", info->model_path);
	cJSON_AddStringToObject(o, "model_type", info->model_desc);
	cJSON_AddNumberToObject(o, "model_size", round(info->size_bytes));
	cJSON_AddNumberToObject(o, "model_n_params", round(info->params));
	cJSON_AddNumberToObject(o, "n_threads", (double)t->threads);
	cJSON_AddNumberToObject(o, "n_prompt", (double)(t->mode == &bench_pp ? t->n_prompt : 0));
	cJSON_AddNumberToObject(o, "n_gen", (double)(t->mode == &bench_tg ? t->n_gen : 0));
	cJSON_AddNumberToObject(o, "n_depth", (double)t->depth);
	cJSON_AddNumberToObject(o, "n_seq", (double)t->batch);
	cJSON_AddBoolToObject(o, "use_mmap", 1);
	cJSON_AddStringToObject(o, "test_time", r->time);
	cJSON_AddNumberToObject(o, "avg_ns", round(f->avg_ns));
	cJSON_AddNumberToObject(o, "stddev_ns", round(f->sd_ns));
	cJSON_AddNumberToObject(o, "avg_ts", round_to(f->avg_ts, 1e-3));
	cJSON_AddNumberToObject(o, "stddev_ts", round_to(f->sd_ts, 1e-3));
	cJSON_AddItemToObject(o, "samples_ns", sns);
	cJSON_AddItemToObject(o, "samples_ts", sts);
	/* dspipe's own */
	cJSON_AddStringToObject(o, "tool", "ds-bench");
	cJSON_AddStringToObject(o, "version", ds_version_string());
	cJSON_AddStringToObject(o, "test", name);
	cJSON_AddStringToObject(o, "device", info->device);
	cJSON_AddStringToObject(o, "kernels", info->kernels);
	if (info->label)
		cJSON_AddStringToObject(o, "label", info->label);
	cJSON_AddNumberToObject(o, "reps", (double)r->reps);
	cJSON_AddNumberToObject(o, "median_ts", round_to(f->median_ts, 1e-3));
	cJSON_AddNumberToObject(o, "load_s", round_to(info->load_s, 1e-3));
	cJSON_AddNumberToObject(o, "page_in_s", round_to(info->page_in_s, 1e-3));
	cJSON_AddStringToObject(o, "prefetch", info->prefetch);
	cJSON_AddNumberToObject(o, "mla_decompress_min", (double)info->mla_decompress_min);
	cJSON_AddNumberToObject(o, "bandwidth_gb_s", round_to(info->bandwidth_gb_s, 1e-2));
	if (t->mode == &bench_tg) {
		cJSON_AddNumberToObject(o, "bytes_per_token", round(f->bytes_per_token));
		cJSON_AddNumberToObject(o, "effective_gb_s", round_to(f->bytes_per_token * f->median_ts / 1e9, 1e-2));
		cJSON_AddNumberToObject(o, "roofline_ts", round_to(f->roofline_ts, 1e-3));
		cJSON_AddNumberToObject(o, "roofline_pct", round_to(f->roofline_pct, 0.1));
	} else {
		cJSON_AddNumberToObject(o, "gflop_s", round_to(f->gflop_s, 0.1));
	}
	cJSON_AddNumberToObject(o, "peak_rss_mib", round(ds_bench_peak_rss_mib()));
	return o;
}

static void csv_value(FILE *out, const cJSON *v)
{
	char *s;

	if (cJSON_IsString(v)) {
		fputc('"', out);
		for (const char *p = v->valuestring; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fputc('"', out);
		return;
	}
	s = cJSON_PrintUnformatted(v);
	if (cJSON_IsArray(v))
		fprintf(out, "\"%s\"", s ? s : "");
	else
		fputs(s ? s : "", out);
	free(s);
}

static void md_row(FILE *out, const struct bench_info *info, const struct bench_result *r, const struct figures *f)
{
	char name[64], size[32], params[32], ts[48], extra[48] = "", roof[48] = "";

	bench_test_name(r->t, name, sizeof(name));
	if (info->size_bytes >= (1 << 30))
		snprintf(size, sizeof(size), "%.2f GiB", info->size_bytes / (1 << 30));
	else
		snprintf(size, sizeof(size), "%.2f MiB", info->size_bytes / (1 << 20));
	snprintf(params, sizeof(params), info->params >= 1e9 ? "%.2f B" : "%.2f M", info->params / (info->params >= 1e9 ? 1e9 : 1e6));
	snprintf(ts, sizeof(ts), "%.2f ± %.2f", f->avg_ts, f->sd_ts);
	if (r->t->mode == &bench_pp)
		snprintf(extra, sizeof(extra), "%.1f", f->gflop_s);
	else if (f->roofline_ts > 0)
		snprintf(roof, sizeof(roof), "%.0f %% of %.2f", f->roofline_pct, f->roofline_ts);
	fprintf(out, "| %-30s | %10s | %10s | %-10s | %7ld | %16s | %20s | %8s | %16s |\n", info->model_desc, size, params,
		info->backend, r->t->threads, name, ts, extra, roof);
}

void bench_report_begin(struct bench_out *ob, const struct bench_info *info)
{
	FILE *out = ob->fp;
	enum bench_format f = ob->format;

	(void)info;
	if (f == BENCH_MD) {
		fprintf(out, "| %-30s | %10s | %10s | %-10s | %7s | %16s | %20s | %8s | %16s |\n", "model", "size", "params",
			"backend", "threads", "test", "t/s", "GFLOP/s", "roofline t/s");
		fprintf(out, "| %.30s | %.9s: | %.9s: | %.10s | %.6s: | %.15s: | %.19s: | %.7s: | %.15s: |\n",
			"------------------------------", "----------", "----------", "----------", "-------",
			"----------------", "--------------------", "--------", "----------------");
	} else if (f == BENCH_JSON) {
		fputs("[\n", out);
	}
	fflush(out);
}

void bench_report(struct bench_out *ob, const struct bench_info *info, const struct bench_result *r)
{
	FILE *out = ob->fp;
	enum bench_format f = ob->format;
	long nth = ob->written;
	struct figures fg;
	cJSON *o, *it;
	char *s;

	figures(info, r, &fg);
	if (f == BENCH_MD) {
		md_row(out, info, r, &fg);
	} else {
		o = record(info, r, &fg);
		if (f == BENCH_CSV) {
			if (!nth) {
				cJSON_ArrayForEach(it, o) fprintf(out, "%s%s", it == o->child ? "" : ",", it->string);
				fputc('\n', out);
			}
			cJSON_ArrayForEach(it, o) {
				if (it != o->child)
					fputc(',', out);
				csv_value(out, it);
			}
			fputc('\n', out);
		} else {
			s = f == BENCH_JSON ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
			if (!s)
				ds_die(71, "out of memory");
			fprintf(out, "%s%s\n", f == BENCH_JSON && nth ? ",\n" : "", s);
			free(s);
		}
		cJSON_Delete(o);
	}
	ob->written++;
	free(fg.ts);
	fflush(out);
}

void bench_report_end(struct bench_out *ob, const struct bench_info *info)
{
	FILE *out = ob->fp;
	enum bench_format f = ob->format;

	if (f == BENCH_JSON)
		fputs("]\n", out);
	else if (f == BENCH_MD)
		fprintf(out, "\nbuild: %s; cpu: %s; kernels: %s; memory read bandwidth %.2f GB/s; load %.2f s (paging in %.2f s, %s)\n",
			info->commit, info->cpu, info->kernels, info->bandwidth_gb_s, info->load_s, info->page_in_s,
			info->prefetch);
	fflush(out);
}
