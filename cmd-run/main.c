/*
 * ds-run - text in, text out: wires ds-tokenize, ds-embed, ds-forward and
 * ds-sample into a generation ring of ordinary processes and streams the
 * decoded text as it is produced.  Also: an interactive chat that keeps the
 * KV cache between turns, batches of prompts, and lm-evaluation-harness
 * loglikelihood requests, all through one model load.  Every option is
 * checked here, before a model loads.
 */
#include <stdlib.h>
#include <string.h>

#include <sysexits.h>

#include "cli.h"
#include "run.h"
#include "spec.h"

static struct run_opts opt = { .max_tokens = 256 };

static int add_stop(const char *arg, void *unused)
{
	if (!*arg || opt.nstops == RUN_MAX_STOPS)
		return -1;
	opt.stops[opt.nstops++] = arg;
	return 0;
}

static const char *const templates[] = { "v3", "r1", NULL };
static int template_choice = -1;
static const char *const speculators[] = { "mtp", NULL };
static int speculative = -1;
static long drafts;
static int policy = -1;

static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json and tokenizer.json (required)"),
	DS_OPT_INT_("max-tokens", 'n', &opt.max_tokens, "N", "generate at most N tokens (default 256; -1 = until EOS or the context is full)", -1, 1e12),
	DS_OPT_INT_("ctx-size", 0, &opt.ctx_size, "N", "a sequence may fill N positions, prompt included (default: max_position_embeddings)", 1, 1e12),
	DS_OPT_CALL_("stop", 0, NULL, "STRING", "stop when the text contains STRING (not shown); may be repeated", add_stop, 1),
	DS_OPT_FLAG_("ignore-eos", 0, &opt.ignore_eos, "do not stop at the end-of-sequence token"),
	DS_OPT_FLAG_("chat", 'c', &opt.chat, "apply the model's chat template to the prompt (a user message)"),
	DS_OPT_STRING_("system", 0, &opt.system, "TEXT", "with --chat or -i: a system message before the first turn"),
	DS_OPT_CHOICE_("template", 0, &template_choice, "NAME", "with --chat or -i: force the built-in v3 or r1 template", templates),
	DS_OPT_FLAG_("interactive", 'i', &opt.interactive, "interactive multi-turn chat on stdin; the KV cache is kept between turns"),
	DS_OPT_STRING_("batch", 0, &opt.batch, "FILE", "JSON lines {\"prompt\": ...} (or \"messages\"): generate for all, batched"),
	DS_OPT_STRING_("loglikelihood", 0, &opt.loglikelihood, "FILE", "JSON lines {\"context\", \"continuation\"}: summed log-likelihood and is_greedy per line"),
	DS_OPT_FLAG_("print-pipeline", 0, &opt.print_pipeline, "print the equivalent shell commands and exit"),
	DS_OPT_STRING_("device", 'd', &opt.device, "DEV", "ds-forward's device: cpu (default) or cuda"),
	DS_OPT_INT_("threads", 'j', &opt.threads, "N", "ds-forward's threads (default: every CPU)", 1, 4096),
	DS_OPT_CHOICE_("speculative", 0, &speculative, "mtp", "speculative decoding: the model's MTP module drafts, one main-model pass checks; the same tokens (default off)", speculators),
	DS_OPT_INT_("draft", 0, &drafts, "K", "with --speculative: tokens drafted per pass (default 1)", 1, DS_SPEC_MAX_DRAFTS),
	DS_OPT_CHOICE_("draft-policy", 0, &policy, "P", "with --speculative: adaptive (default: 0..K drafts a pass, as many as measure to pay) or fixed (always K)", ds_spec_policies),
	DS_OPT_INT_("draft-vocab", 0, &opt.draft_vocab, "N", "with --speculative: draft only ids below N (a cheaper drafter; default: all)", 0, 1 << 30),
	DS_SAMPLE_OPTIONS(opt.sample),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-run",
	"-m DIR [OPTION...] [PROMPT...]\n-m DIR -i [--system TEXT] [OPTION...]\n"
	"-m DIR --batch FILE [OPTION...]\n-m DIR --loglikelihood FILE",
	"Generate text from a prompt (the arguments, or standard input) through a ring of\n"
	"dspipe tools: ds-tokenize | ds-embed | ds-forward --head | ds-sample, the sampled\n"
	"tokens fed back to ds-embed, the text written as it comes.  Sampling options go\n"
	"to ds-sample (see ds-sample(1)).  Prompt and generation speed go to stderr at the\n"
	"end (not with --quiet).",
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

/* What the options mean together; every mistake is a usage error (64). */
static void check_options(int argc)
{
	int modes = !!opt.interactive + !!opt.batch + !!opt.loglikelihood;

	if (!opt.model)
		ds_usage_error("a model directory is required (-m DIR)");
	if (modes > 1)
		ds_usage_error("-i, --batch and --loglikelihood exclude each other");
	if (modes && argc)
		ds_usage_error("a prompt on the command line goes with neither -i, --batch nor --loglikelihood");
	if (!opt.max_tokens)
		ds_usage_error("-n 0 would generate nothing (-1 means no limit)");
	if ((opt.system || template_choice >= 0) && !opt.chat && !opt.interactive)
		ds_usage_error("--system and --template go with --chat or -i");
	if (template_choice >= 0)
		opt.template_name = templates[template_choice];
	if (opt.interactive)
		opt.chat = 1;
	if ((drafts || opt.draft_vocab || policy >= 0) && speculative < 0)
		ds_usage_error("--draft, --draft-policy and --draft-vocab go with --speculative mtp");
	if (speculative >= 0 && opt.loglikelihood)
		ds_usage_error("--speculative speeds up generation; --loglikelihood generates nothing");
	if (speculative >= 0) {
		opt.drafts = drafts ? drafts : 1;
		opt.draft_adaptive = policy != 0;
	}
}

/* The context: --ctx-size, at most what the model was made for. */
static void set_context(void)
{
	long max = opt.config.max_position_embeddings;

	if (opt.ctx_size > max)
		ds_usage_error("--ctx-size %ld is beyond the model's max_position_embeddings %ld", opt.ctx_size, max);
	opt.ctx = opt.ctx_size ? opt.ctx_size : max;
	opt.gen = (struct ds_gen_params){
		.max_tokens = opt.max_tokens, .ctx = opt.ctx,
		.stops = opt.stops, .nstops = opt.nstops,
		.eos = opt.config.eos_token_ids, .neos = opt.config.n_eos, .ignore_eos = opt.ignore_eos,
		.drafts = opt.drafts,
	};
}

int main(int argc, char **argv)
{
	struct ds_error err = { 0 };
	char path[4096];
	int rc;

	ds_sample_params_default(&opt.sample);
	argc = ds_cli_parse(&tool, argc, &argv);
	check_options(argc);
	if (argc)
		opt.prompt = join_args(argc, argv);
	snprintf(path, sizeof(path), "%s/config.json", opt.model);
	if (ds_config_load(&opt.config, path, &err))
		ds_die_error(&err);
	if (opt.drafts && opt.config.num_nextn_predict_layers < 1)
		ds_die(EX_DATAERR, "%s: --speculative mtp needs an MTP module (num_nextn_predict_layers is 0)", opt.model);
	set_context();
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
	ds_tokenizer_free(opt.tok);
	free(opt.prompt);
	return rc;
}
