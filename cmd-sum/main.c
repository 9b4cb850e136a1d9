/*
 * ds-sum - BLAKE2b-256 digests: of files (exactly b2sum -l 256's lines), of
 * each frame of a frame stream, of each tensor of a checkpoint and of the
 * whole model; and -c to verify any of those manifests.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "sum.h"

static struct sum_opts opt;

static const struct ds_option options[] = {
	DS_OPT_FLAG_("tensors", 't', &opt.tensors,
		     "arguments are checkpoints (a directory or one .safetensors file): one line per tensor"),
	DS_OPT_FLAG_("check", 'c', &opt.check, "arguments are manifests to verify"),
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "with -c: the checkpoint for tensor and model lines"),
	DS_OPT_FLAG_("raw", 0, &opt.raw, "digest standard input as bytes even when it is a frame stream"),
	DS_OPT_FLAG_("frames", 0, &opt.frames, "read every input as a frame stream: one line per frame"),
	DS_OPT_INT_("threads", 'j', &opt.threads, "N", "threads hashing tensors (default: every CPU)", 1, 4096),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-sum",
	"[--raw | --frames] [FILE...]\n--tensors MODEL...\n-c [-m MODEL] MANIFEST...",
	"Print BLAKE2b-256 digests: of files, exactly as 'b2sum -l 256' does; of each\n"
	"frame when standard input is a frame stream; of each tensor of a checkpoint and\n"
	"of the whole model with --tensors.  -c verifies a manifest of such lines.\n"
	"FILE defaults to standard input ('-').",
	options,
};

int main(int argc, char **argv)
{
	static char dash[] = "-";
	static char *stdin_only[] = { dash, NULL };
	int n = ds_cli_parse(&tool, argc, &argv);

	if (opt.tensors + opt.check > 1)
		ds_usage_error("--tensors and -c do not go together");
	if (opt.raw && opt.frames)
		ds_usage_error("--raw and --frames do not go together");
	if (opt.model && !opt.check)
		ds_usage_error("-m only goes with -c");
	if (opt.tensors && n == 0)
		ds_usage_error("--tensors needs a model directory or file");
	if (n == 0) {
		argv = stdin_only;
		n = 1;
	}
	if (opt.tensors)
		return sum_tensors(&opt, argv, n);
	if (opt.check)
		return sum_check(&opt, argv, n);
	return sum_files(&opt, argv, n);
}
