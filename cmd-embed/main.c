/*
 * ds-embed - TOKENS -> HIDDEN: each token id becomes its row of
 * model.embed_tokens, as f32, with aux 0 (no decoder layer applied yet).
 * Everything but TOKENS passes through in order.  A TOKENS frame whose
 * positions leave the model's context is refused from its header; a long
 * one is written out in blocks of rows (fwdio.h), so memory does not grow
 * with it.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "toolio.h"
#include "fwdio.h"
#include "model.h"
#include "stream.h"

struct embed_opts {
	const char *model;
	int pass_tokens;
	int no_digest;
};

static struct embed_opts opt;

static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json (required)"),
	DS_OPT_FLAG_("pass-tokens", 0, &opt.pass_tokens, "write each TOKENS frame on before its HIDDEN frame"),
	DS_OPT_FLAG_("no-digest", 0, &opt.no_digest, "write frames without digests"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-embed",
	"-m DIR [--pass-tokens] [FILE]",
	"Read TOKENS frames and write, for each, a HIDDEN frame f32 [T, hidden_size]\n"
	"holding the embedding rows of its ids (same seq, pos and flags, aux 0).\n"
	"Other frames pass through in order.  FILE defaults to standard input.",
	options,
};

int main(int argc, char **argv)
{
	struct ds_model_want want = { 0, 0, DS_PART_EMBED, NULL, NULL };
	struct ds_error err = { 0 };
	struct ds_fwdio_limits lim = { 1u << DS_KIND_TOKENS, 0, 0 };
	struct ds_model m;
	struct ds_frame f;
	struct ds_reader r;
	struct ds_writer w;
	const char *name;
	float *rows = NULL;
	size_t cap = 0;
	FILE *in;
	int rc;

	argc = ds_cli_parse(&tool, argc, &argv);
	if (!opt.model)
		ds_usage_error("-m DIR (the model) is required");
	in = ds_tool_input(argc, argv, &name);
	ds_refuse_binary_tty();
	if ((rc = ds_model_open(&m, opt.model, &want, &err)))
		ds_die(rc, "%s: %s", opt.model, err.msg);
	ds_reader_init(&r, in, name);
	lim.D = m.D;
	lim.max_pos = m.cfg.max_position_embeddings;
	r.admit = ds_fwdio_admit;
	r.admit_ctx = &lim;
	ds_writer_init(&w, stdout, "stdout");
	w.digest = !opt.no_digest;
	ds_frame_init(&f);
	while ((rc = ds_read_frame(&r, &f, &err)) == 1) {
		const int32_t *ids;
		long n;

		if (f.kind != DS_KIND_TOKENS) {
			ds_tool_write(&w, &f);
			continue;
		}
		if (ds_fwdio_tokens(&f, &ids, &n, &err))
			ds_tool_die_frame(&r, &err);
		if (ds_embed_check(&m.embed, ids, n, &err))
			ds_die(err.code, "%s: frame %" PRIu64 ": seq %" PRIu64 ": %s", name, r.index - 1, f.seq, err.msg);
		if (opt.pass_tokens)
			ds_tool_write(&w, &f);
		if (ds_fwdio_embed(&w, &m.embed, &f, &rows, &cap, &err))
			ds_die_error(&err);
	}
	if (rc != 0)
		ds_die_error(&err);
	free(rows);
	ds_frame_release(&f);
	ds_model_release(&m);
	ds_tool_finish(in);
	return 0;
}
