/*
 * ds-run - text in, text out: wires ds-tokenize, ds-embed, ds-forward and
 * ds-sample into a generation ring of ordinary processes and streams the
 * decoded text as it is produced.  Also: an interactive chat that keeps the
 * KV cache between turns, batches of prompts, and lm-evaluation-harness
 * loglikelihood requests, all through one model load.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"
#include "run.h"

static struct run_opts opt = { .max_tokens = 256 };

/* Sampling options go to ds-sample as given (it validates them again). */
static int pass_sample(const char *arg, void *name)
{
	double v;

	if (arg && ds_parse_double(arg, &v) && strcmp(name, "seed"))
		return -1;
	if (opt.nsample_args + 2 > RUN_MAX_PASS)
		return -1;
	opt.sample_args[opt.nsample_args++] = name;
	opt.sample_args[opt.nsample_args++] = arg;
	return 0;
}

static int add_stop(const char *arg, void *unused)
{
	if (!*arg || opt.nstops == RUN_MAX_STOPS)
		return -1;
	opt.stops[opt.nstops++] = arg;
	return 0;
}

static const char *const templates[] = { "v3", "r1", NULL };
static int template_choice = -1;

#define PASS(l, s, v, h) DS_OPT_CALL_(l, s, (void *)(l), v, h, pass_sample, 1)
static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json and tokenizer.json (required)"),
	DS_OPT_INT_("max-tokens", 'n', &opt.max_tokens, "N", "generate at most N tokens (default 256; -1 = until EOS)", -1, 1e12),
	DS_OPT_CALL_("stop", 0, NULL, "STRING", "stop when the text contains STRING (not shown); may be repeated", add_stop, 1),
	DS_OPT_FLAG_("ignore-eos", 0, &opt.ignore_eos, "do not stop at the end-of-sequence token"),
	DS_OPT_FLAG_("chat", 'c', &opt.chat, "apply the model's chat template to the prompt (a user message)"),
	DS_OPT_STRING_("system", 0, &opt.system, "TEXT", "chat: a system message before the first turn"),
	DS_OPT_CHOICE_("template", 0, &template_choice, "NAME", "chat: force the built-in v3 or r1 template", templates),
	DS_OPT_FLAG_("interactive", 'i', &opt.interactive, "interactive multi-turn chat on stdin; the KV cache is kept between turns"),
	DS_OPT_STRING_("batch", 0, &opt.batch, "FILE", "JSON lines {\"prompt\": ...} (or \"messages\" with --chat): generate for all, batched"),
	DS_OPT_STRING_("loglikelihood", 0, &opt.loglikelihood, "FILE", "JSON lines {\"context\", \"continuation\"}: summed log-likelihood and is_greedy per line"),
	DS_OPT_FLAG_("print-pipeline", 0, &opt.print_pipeline, "print the equivalent shell commands and exit"),
	DS_OPT_STRING_("device", 'd', &opt.device, "DEV", "ds-forward's device: cpu (default) or cuda"),
	DS_OPT_INT_("threads", 'j', &opt.threads, "N", "ds-forward's threads (default: every CPU)", 1, 4096),
	PASS("temperature", 't', "T", "sampling temperature; 0 = greedy (default 0)"),
	PASS("top-k", 'k', "K", "keep the K most likely tokens"),
	PASS("top-p", 'p', "P", "keep the most likely tokens up to mass P"),
	PASS("min-p", 0, "P", "keep tokens with p >= P * p(best)"),
	PASS("repeat-penalty", 0, "R", "repetition penalty (see ds-sample)"),
	PASS("presence-penalty", 0, "X", "presence penalty (see ds-sample)"),
	PASS("frequency-penalty", 0, "X", "frequency penalty (see ds-sample)"),
	PASS("penalty-last-n", 0, "N", "penalties look at the last N tokens"),
	PASS("seed", 's', "N", "seed of the sampler's random stream (default 0)"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-run",
	"-m DIR [OPTION...] [PROMPT...]\n-m DIR -i [--system TEXT] [OPTION...]\n"
	"-m DIR --batch FILE [OPTION...]\n-m DIR --loglikelihood FILE",
	"Generate text from a prompt (the arguments, or standard input) through a ring of\n"
	"dspipe tools: ds-tokenize | ds-embed | ds-forward --head | ds-sample, the sampled\n"
	"tokens fed back to ds-embed, the text decoded by ds-tokenize -d as it comes.\n"
	"Prompt and generation speed go to stderr at the end (not with --quiet).",
	options,
};

static char *join_args(int argc, char **argv)
{
	size_t n = 1;
	char *s;

	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	s = ds_xmalloc(n);
	s[0] = 0;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int main(int argc, char **argv)
{
	struct ds_error err = { 0 };
	char path[4096];
	int modes, rc;

	argc = ds_cli_parse(&tool, argc, &argv);
	if (!opt.model)
		ds_usage_error("a model directory is required (-m DIR)");
	if (template_choice >= 0)
		opt.template_name = templates[template_choice];
	modes = !!opt.interactive + !!opt.batch + !!opt.loglikelihood;
	if (modes > 1)
		ds_usage_error("-i, --batch and --loglikelihood exclude each other");
	if (modes && argc)
		ds_usage_error("a prompt on the command line goes with neither -i, --batch nor --loglikelihood");
	if (opt.interactive)
		opt.chat = 1;
	if (argc)
		opt.prompt = join_args(argc, argv);
	snprintf(path, sizeof(path), "%s/config.json", opt.model);
	if (ds_config_load(&opt.config, path, &err))
		ds_die_error(&err);
	opt.gen.max_tokens = opt.max_tokens;
	opt.gen.stops = opt.stops;
	opt.gen.nstops = opt.nstops;
	opt.gen.eos = opt.config.eos_token_ids;
	opt.gen.neos = opt.config.n_eos;
	opt.gen.ignore_eos = opt.ignore_eos;
	if (opt.print_pipeline)
		rc = run_print_pipeline(&opt);
	else if (opt.interactive)
		rc = run_interactive(&opt);
	else if (opt.batch)
		rc = run_batch(&opt);
	else if (opt.loglikelihood)
		rc = run_loglikelihood(&opt);
	else
		rc = run_single(&opt);
	free(opt.prompt);
	return rc;
}
