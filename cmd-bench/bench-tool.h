/*
 * cmd-bench/bench-tool.h - what the parts of ds-bench share: one test of the
 * grid, the run state, the modes that time a test, and the report.
 *
 * A mode is a name ("pp", "tg") and a function that runs one repetition of
 * a test on an open backend and says how many seconds its timed part took;
 * main.c builds the grid of tests from the options, runs a warm-up and the
 * repetitions of each through its mode, and hands the samples to the
 * report (report.c).  A new mode is one more entry in bench_modes[] (run.c)
 * and, when it needs options, one more in main.c's table.
 */
#ifndef DS_CMD_BENCH_H
#define DS_CMD_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "backend.h"
#include "model.h"

/* One test of the grid. */
struct bench_test {
	const struct bench_mode *mode;
	long n_prompt;		/* pp: rows per sequence in the timed prefill */
	long n_gen;		/* tg: decode steps */
	long depth;		/* cached positions before the timed part */
	long threads;
	long batch;		/* sequences run side by side */
};

/* What a repetition runs on. */
struct bench_run {
	struct ds_model *m;
	struct ds_backend *b;
	long seed;
	float *hidden, *logits;	/* room for max rows x D, batch x V */
	int32_t *ids;
	struct ds_fwd_chunk *chunks;
	uint64_t next_seq;	/* sequence ids are never reused */
};

struct bench_mode {
	const char *name;	/* the test name's prefix: "pp", "tg" */
	/* Prepare the test (e.g. fill the depth once); rep runs one timed
	 * repetition and returns its seconds; done frees what prepare made.
	 * Errors die (ds_die_error). */
	void (*prepare)(struct bench_run *r, const struct bench_test *t, void **state);
	double (*rep)(struct bench_run *r, const struct bench_test *t, void *state);
	void (*done)(struct bench_run *r, const struct bench_test *t, void *state);
	/* tokens one repetition processes (for t/s) */
	double (*tokens)(const struct bench_test *t);
};

extern const struct bench_mode bench_pp, bench_tg;

/* The deterministic token ids of every test: positions [pos, pos + n) of
 * sequence s under seed, in [0, V). */
void bench_ids(long seed, long V, long s, long pos, long n, int32_t *out);

/* What every record of a run shares. */
struct bench_info {
	const char *model_path, *model_desc, *backend, *kernels, *device, *label;
	char cpu[256], commit[64];
	double size_bytes, params, load_s, page_in_s, bandwidth_gb_s;
	double decode_bytes, cache_bytes_per_pos;
	long mla_decompress_min;
	const char *prefetch;
};

/* One finished test. */
struct bench_result {
	const struct bench_test *t;
	const struct ds_model *m;
	double *seconds;	/* [reps] */
	long reps;
	char time[40];		/* RFC 3339, UTC, when the test started */
};

enum bench_format { BENCH_MD, BENCH_CSV, BENCH_JSON, BENCH_JSONL };

/* One output of the report. */
struct bench_out {
	FILE *fp;
	enum bench_format format;
	long written;		/* records so far */
};

/* The report: begin before the first test, one call per result as it
 * comes, end after the last (json needs it to close the array). */
void bench_report_begin(struct bench_out *o, const struct bench_info *info);
void bench_report(struct bench_out *o, const struct bench_info *info, const struct bench_result *r);
void bench_report_end(struct bench_out *o, const struct bench_info *info);

/* "pp512", "tg128 @ d4096", "pp512 x4" */
void bench_test_name(const struct bench_test *t, char *out, size_t len);

#endif
