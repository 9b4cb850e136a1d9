/*
 * run.h - ds-run's options and its four jobs (one prompt, an interactive
 * chat, a batch of prompts, loglikelihood requests), shared by main.c and
 * jobs.c.  The machinery lives in common/ (chain, generate, tokproc).
 */
#ifndef DS_RUN_H
#define DS_RUN_H

#include "chain.h"
#include "config.h"
#include "generate.h"

#define RUN_MAX_STOPS 16
#define RUN_MAX_PASS 64

struct run_opts {
	const char *model;
	long max_tokens;
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
	const char *sample_args[RUN_MAX_PASS];	/* passed to ds-sample as given */
	int nsample_args;
	char *prompt;			/* joined arguments, or NULL: read stdin */
	struct ds_config config;
	struct ds_gen_params gen;
};

/* The generation ring: ds-embed --pass-tokens | ds-forward --head | ds-sample. */
void run_build_ring(const struct run_opts *o, struct ds_chain *ring);
/* Start it and wait until every stage is loaded; dies on failure. */
void run_start_ring(const struct run_opts *o, struct ds_chain *ring, double *load_seconds);
/* Finish it; returns the exit code (a stage's failure is reported). */
int run_finish_ring(struct ds_chain *ring);

int run_single(struct run_opts *o);
int run_interactive(struct run_opts *o);
int run_batch(struct run_opts *o);
int run_loglikelihood(struct run_opts *o);
/* Print the shell commands equivalent to this run. */
int run_print_pipeline(const struct run_opts *o);

#endif
