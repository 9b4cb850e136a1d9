/*
 * ds-mkmodel - write a random-weight checkpoint in the Hugging Face layout
 * of the DeepSeek-V3 family, from a config.json or a built-in preset.  The
 * work (tensor plan, values, FP8 quantisation, sharding) is common/mkmodel.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "mkmodel.h"

static const char *const dtypes[] = { "bf16", "fp8", "f16", "f32", NULL };
static const enum ds_dtype dtype_of[] = { DS_BF16, DS_F8_E4M3, DS_F16, DS_F32 };

struct mk_opts {
	const char *config, *preset, *outdir, *tokenizer;
	int dtype;
	long seed, layers, vocab, mtp, threads;
	uint64_t shard_size;
	int print_config;
};

static struct mk_opts opt = { .dtype = -1, .layers = -1, .vocab = -1, .mtp = -1,
			      .shard_size = (uint64_t)5 << 30 };

static int parse_shard_size(const char *arg, void *data)
{
	return ds_mk_parse_size(arg, data);
}

static int parse_preset(const char *arg, void *data)
{
	*(const char **)data = arg;
	return ds_mk_preset_json(arg) ? 0 : -1;
}

static const struct ds_option options[] = {
	DS_OPT_STRING_("config", 'c', &opt.config, "FILE", "a config.json to build the model from"),
	DS_OPT_CALL_("preset", 'p', &opt.preset, "NAME",
		     "tiny-v3, tiny-v2-lite, v3-width, v2-lite or moonlight", parse_preset, 1),
	DS_OPT_STRING_("output", 'o', &opt.outdir, "DIR", "directory to write (created when missing)"),
	DS_OPT_CHOICE_("dtype", 0, &opt.dtype, "TYPE",
		       "bf16, fp8, f16 or f32 (default: fp8 when the config is quantised, else bf16)", dtypes),
	DS_OPT_INT_("seed", 's', &opt.seed, "N", "random seed (default 0)", 0, 9.2e18),
	DS_OPT_CALL_("shard-size", 0, &opt.shard_size, "SIZE",
		     "largest shard, bytes with k/M/G/T suffix (powers of 1024; default 5G)", parse_shard_size, 1),
	DS_OPT_INT_("layers", 0, &opt.layers, "N", "override num_hidden_layers", 1, 4096),
	DS_OPT_INT_("vocab", 0, &opt.vocab, "N", "override vocab_size", 1, 16777216),
	DS_OPT_INT_("mtp", 0, &opt.mtp, "N", "override num_nextn_predict_layers (MTP modules)", 0, 64),
	DS_OPT_STRING_("tokenizer", 't', &opt.tokenizer, "FILE",
		       "copy this tokenizer.json (and the tokenizer_config.json beside it) into DIR"),
	DS_OPT_INT_("threads", 'j', &opt.threads, "N", "generator threads (default: every CPU)", 1, 4096),
	DS_OPT_FLAG_("print-config", 0, &opt.print_config, "print the resulting config.json on stdout and stop"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-mkmodel",
	"(-c FILE | -p PRESET) -o DIR [--dtype TYPE] [--seed N] [--shard-size SIZE]\n"
	"(-c FILE | -p PRESET) --print-config",
	"Write a checkpoint with random weights in exactly the Hugging Face layout of\n"
	"DeepSeek-V3 / V2 models (config.json, safetensors shards, index), deterministic\n"
	"from --seed.",
	options,
};

static void show_progress(uint64_t done, uint64_t total, int last, void *arg)
{
	(void)arg;
	fprintf(stderr, "\r%s: %.2f / %.2f GB%s", ds_progname, (double)done / 1e9, (double)total / 1e9,
		last ? "\n" : "");
}

int main(int argc, char **argv)
{
	struct ds_error err = { 0 };
	struct ds_mkmodel_result res;
	struct ds_mkmodel_opts o = { 0 };
	int npos = ds_cli_parse(&tool, argc, &argv);

	if (npos)
		ds_usage_error("unexpected argument '%s'", argv[0]);
	if (!opt.config == !opt.preset)
		ds_usage_error("give exactly one of -c FILE and -p PRESET");
	if (!opt.outdir && !opt.print_config)
		ds_usage_error("-o DIR is required");
	o.config = opt.config;
	o.preset = opt.preset;
	o.outdir = opt.outdir;
	o.dtype = opt.dtype >= 0 ? dtype_of[opt.dtype] : DS_DT_INVALID;
	o.seed = (uint64_t)opt.seed;
	o.shard_size = opt.shard_size;
	o.layers = opt.layers;
	o.vocab = opt.vocab;
	o.mtp = opt.mtp;
	o.tokenizer = opt.tokenizer;
	o.threads = (int)opt.threads;
	o.progress = ds_progress_wanted() ? show_progress : NULL;

	if (opt.print_config) {
		struct ds_config c;
		enum ds_dtype dt;
		char *json;
		if (ds_mkmodel_config(&o, &json, &c, &dt, &err))
			ds_die_error(&err);
		puts(json);
		free(json);
		return fflush(stdout) ? EX_IOERR : 0;
	}
	if (ds_mkmodel_write(&o, &res, &err))
		ds_die_error(&err);
	ds_info("wrote %d tensors, %.3f GB in %d shard%s to '%s' in %.2f s", res.ntensors,
		(double)res.total_bytes / 1e9, res.nshards, res.nshards == 1 ? "" : "s", opt.outdir, res.seconds);
	return 0;
}
