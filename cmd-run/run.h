/*
 * run.h - ds-run's options and its jobs (one prompt, an interactive chat, a
 * batch of prompts, loglikelihood requests, the pipeline as shell commands),
 * shared by the files of cmd-run/:
 *   main.c      options, their checks, which job runs
 *   ring.c      the ring's processes, tokenizing, reading input, writing output
 *   jobs.c      one prompt, a chat, a batch
 *   score.c     loglikelihood requests
 *   pipeline.c  --print-pipeline
 * The machinery lives in common/ (chain, generate, tokproc, sample).
 */
#ifndef DS_RUN_H
#define DS_RUN_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "chain.h"
#include "config.h"
#include "generate.h"
#include "sample.h"

#define RUN_MAX_STOPS 16

struct run_opts {
	const char *model;
	long max_tokens;		/* >= 1, or -1: no limit */
	long ctx_size;			/* 0: max_position_embeddings */
	const char *stops[RUN_MAX_STOPS + 1];
	int nstops;
	int chat;
	const char *system;
	const char *template_name;
	int interactive;
	int ignore_eos;
	const char *batch;
	const char *loglikelihood;
	int print_pipeline;
	const char *device;
	long threads;
	struct ds_sample_params sample;	/* validated here, passed to ds-sample */
	long drafts;			/* --speculative mtp: MTP drafts per pass (--draft), else 0 */
	long draft_vocab;		/* --draft-vocab: drafts from ids below it; 0: all */
	int draft_adaptive;		/* --draft-policy adaptive (the default) */
	char *prompt;			/* joined arguments, or NULL: read stdin */
	struct ds_config config;
	long ctx;			/* positions a sequence may fill */
	struct ds_gen_params gen;
	struct ds_tokenizer *tok;	/* loaded with the ring (token bytes) */
};

/* ---- ring.c ---- */

/* The generation ring: ds-embed --pass-tokens | ds-forward --head | ds-sample;
 * speculating, ds-embed --pass-tokens | ds-forward --head --emit-hidden
 * --last-positions K+1 | ds-sample --verify | ds-forward --mtp --draft K. */
void run_build_ring(const struct run_opts *o, struct ds_chain *ring);
/* Its ds-sample stage (where -n and --eos go in --print-pipeline). */
struct ds_proc *run_sampler_stage(const struct run_opts *o, struct ds_chain *ring);
/* The scoring chain: ds-embed | ds-forward --all-positions | ds-score --requests. */
void run_build_scorer(const struct run_opts *o, struct ds_chain *c);
/* Start the ring, load the tokenizer meanwhile (o->tok, o->gen.tok) and wait
 * until every stage is loaded; dies on failure. */
void run_start_ring(struct run_opts *o, struct ds_chain *ring, double *load_seconds);
/* Finish it; returns the exit code (a stage's failure is reported). */
int run_finish_ring(struct ds_chain *ring);
/* A broken ring: collect the stages' fate, die with the failing one's code. */
void run_die_ring(struct ds_chain *ring, const struct ds_error *why) __attribute__((noreturn));

/* Tokenize one prompt: plain text (BOS as tokenizer_config.json says) or,
 * with --chat or messages, through the chat template.  Dies on failure. */
void run_encode_prompt(const struct run_opts *o, const char *text, cJSON *messages, int32_t **ids, size_t *n);
/* Many plain texts in one ds-tokenize --jsonl run: ids[i] (malloc'd), n[i]. */
void run_encode_many(const struct run_opts *o, char *const *texts, size_t count, int32_t **ids, size_t *n);
/* Text through ds-tokenize without BOS, appended to (ids, n, cap). */
void run_encode_more(const struct run_opts *o, const char *text, int32_t **ids, size_t *n, size_t *cap);
/* The chat messages to start from: the --system message, if any. */
cJSON *run_new_messages(const struct run_opts *o);
void run_add_message(cJSON *messages, const char *role, const char *content);
/* The conversation rendered by the chat template (malloc'd). */
char *run_render(const struct run_opts *o, cJSON *messages, int gen_prompt);
/* The ds-tokenize arguments for the chat template, NULL-terminated. */
void run_chat_args(const struct run_opts *o, const char **args, int render, int gen_prompt);

/* The prompt from standard input, whole (malloc'd).  On a terminal it says
 * so on stderr, and one Ctrl-D ends it, also after text on a line. */
char *run_read_prompt(void);
/* Non-empty lines of a file (the newline and a CR cut off). */
struct run_lines {
	char **v;
	size_t n;
};
void run_read_lines(const char *path, struct run_lines *l);
void run_free_lines(struct run_lines *l);
cJSON *run_parse_request(const char *path, size_t i, const char *line);

/*
 * Standard output.  A reader that went away (EPIPE) ends the output quietly
 * (the job stops and exits 0); any other failure (a full disk, EIO) is kept
 * in err and reported with exit 74 by run_out_end.
 */
struct run_out {
	int closed;		/* no more output: the reader went, or a write failed */
	int err;		/* errno of a failed write other than EPIPE, or 0 */
};
extern struct run_out run_out;
/* Write and flush; 0, or -1 once the output is closed. */
int run_write(const void *p, size_t n);
/* ds_put_fn for generate.h */
int run_put(const char *p, size_t n, void *unused);
/* Flush; exit 74 with a message when a write failed, else return. */
void run_out_end(void);

/* "ds-run: load ...; prompt ...; generated ...; stop: ..." unless quiet
 * (no load when load < 0: a chat turn). */
void run_report(double load, const struct ds_gen_seq *s);

/* ---- the jobs ---- */
int run_single(struct run_opts *o);
int run_interactive(struct run_opts *o);
int run_batch(struct run_opts *o);
int run_loglikelihood(struct run_opts *o);
int run_print_pipeline(const struct run_opts *o);

#endif
