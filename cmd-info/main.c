/*
 * ds-info - what a model directory holds: architecture, parameters (total
 * and per token), dtypes, layers, experts, context, KV cache and memory,
 * tokenizer, and how the checkpoint matches config.json (tensors it needs
 * that are missing, tensors nothing reads; with --check, NaN FP8 bytes).
 * The counting is common/modelinfo.c; the printing is report.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "chat.h"
#include "cli.h"
#include "info.h"
#include "tokenizer.h"

struct info_opts {
	int json, check;
};

static struct info_opts opt;

static const struct ds_option options[] = {
	DS_OPT_FLAG_("json", 0, &opt.json, "print one JSON object instead of text"),
	DS_OPT_FLAG_("check", 0, &opt.check, "also read every weight: count NaN FP8 bytes and non-finite scales"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-info",
	"[--json] [--check] DIR",
	"Describe the model in DIR (config.json, its checkpoint, its tokenizer):\n"
	"architecture, parameters in total and per token, dtypes, layers, experts,\n"
	"context, KV cache bytes per token, memory needed, and the tensors the\n"
	"checkpoint lacks or holds beyond what config.json needs.",
	options,
};

static char *path_in(const char *dir, const char *name)
{
	char *p = ds_xmalloc(strlen(dir) + strlen(name) + 2);

	sprintf(p, "%s/%s", dir, name);
	return p;
}

/* config.json, its counts, and the checkpoint when there is one */
static void load_model(struct info *in)
{
	struct ds_error err = { 0 };
	struct ds_config c;
	char *p = path_in(in->dir, "config.json");
	char *st = path_in(in->dir, "model.safetensors"), *ix = path_in(in->dir, "model.safetensors.index.json");
	int rc;

	if ((rc = ds_config_load(&c, p, &err)))
		ds_die_error(&err);
	if ((rc = ds_modelinfo_init(&in->mi, &c, &err)))
		ds_die(rc, "%s: %s", p, err.msg);
	in->have_ck = !access(st, F_OK) || !access(ix, F_OK);
	if (in->have_ck && ds_checkpoint_open_block(&in->ck, in->dir, in->mi.plan.brows, in->mi.plan.bcols, &err))
		ds_die_error(&err);
	if (in->have_ck && ds_ckcheck_run(&in->chk, &in->mi, &in->ck, &err))
		ds_die_error(&err);
	if (in->have_ck && opt.check) {
		ds_ckscan_run(&in->scan, &in->ck);
		in->scanned = 1;
	}
	free(p);
	free(st);
	free(ix);
}

static void load_tokenizer(struct info *in)
{
	struct ds_error err = { 0 };
	struct ds_tokenizer *tok;
	struct ds_tok_config tc;
	char *p = path_in(in->dir, "tokenizer.json"), *pc = path_in(in->dir, "tokenizer_config.json");

	in->tok_ids = -1;
	if (!access(p, F_OK)) {
		if (ds_tokenizer_load(&tok, p, &err))
			ds_die_error(&err);
		in->tok_ids = ds_tokenizer_n_ids(tok);
		ds_tokenizer_free(tok);
	}
	if (!access(pc, F_OK)) {
		if (ds_tok_config_load(&tc, pc, &err))
			ds_die_error(&err);
		if (tc.chat_template)
			in->chat_template = ds_chat_name(ds_chat_identify(tc.chat_template));
		ds_tok_config_release(&tc);
	}
	free(p);
	free(pc);
}

/* Problems on stderr: what stops the model loading is exit 65, tensors
 * nothing reads only a warning. */
static int verdict(const struct info *in)
{
	int bad = ds_ckcheck_report(&in->chk, in->dir, ds_warn);

	if (in->scanned && (in->scan.fp8_nan || in->scan.scale_nonfinite)) {
		ds_warn("%s: %llu NaN FP8 bytes and %llu non-finite scales (first in '%s')", in->dir,
			(unsigned long long)in->scan.fp8_nan, (unsigned long long)in->scan.scale_nonfinite,
			in->scan.first);
		bad = 1;
	}
	return bad ? EX_DATAERR : 0;
}

int main(int argc, char **argv)
{
	struct info in;
	int n = ds_cli_parse(&tool, argc, &argv), rc;

	if (n != 1)
		ds_usage_error(n ? "one DIR only" : "a model directory is required");
	memset(&in, 0, sizeof(in));
	in.dir = argv[0];
	load_model(&in);
	load_tokenizer(&in);
	if (opt.json)
		info_print_json(&in);
	else
		info_print_text(&in);
	if (fflush(stdout) || ferror(stdout))
		ds_die(EX_IOERR, "write error: %m");
	rc = verdict(&in);
	ds_ckcheck_release(&in.chk);
	if (in.have_ck)
		ds_checkpoint_release(&in.ck);
	ds_modelinfo_release(&in.mi);
	return rc;
}
