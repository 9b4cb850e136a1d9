/*
 * ds-route - HIDDEN -> ROUTES for one MoE layer: the experts chosen for
 * every row and their weights, by the routing code the forward pass uses
 * (common/route.c through the backend), and per-expert / per-group load
 * statistics.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "toolio.h"
#include "fwdio.h"
#include "model.h"
#include "route.h"
#include "stream.h"

struct route_opts {
	const char *model;
	long layer;
	int from_input, stats, json;
	const char *stats_file;
	int device;
	long threads;
	int ignore_aux, no_digest;
};

static struct route_opts opt = { .layer = -1 };
static const char *const devices[] = { "cpu", "cuda", NULL };

static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json (required)"),
	DS_OPT_INT_("layer", 'l', &opt.layer, "L", "the MoE layer whose router to apply (required)", 0, 1e9),
	DS_OPT_FLAG_("from-layer-input", 0, &opt.from_input, "HIDDEN is the residual entering layer L (aux L): run its attention first"),
	DS_OPT_FLAG_("stats", 's', &opt.stats, "write load statistics to stdout at the end instead of frames"),
	DS_OPT_STRING_("stats-file", 0, &opt.stats_file, "FILE", "write load statistics to FILE; frames still go to stdout"),
	DS_OPT_FLAG_("json", 0, &opt.json, "statistics as one JSON object (default: text lines)"),
	DS_OPT_CHOICE_("device", 'd', &opt.device, "DEV", "cpu (default) or cuda", devices),
	DS_OPT_INT_("threads", 't', &opt.threads, "N", "threads (default: every CPU)", 0, 4096),
	DS_OPT_FLAG_("ignore-aux", 0, &opt.ignore_aux, "with --from-layer-input: accept any aux"),
	DS_OPT_FLAG_("no-digest", 0, &opt.no_digest, "write frames without digests"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-route",
	"-m DIR --layer L [--from-layer-input] [--stats | --stats-file FILE] [--json] [FILE]",
	"Read HIDDEN frames holding the input of layer L's MoE block (the\n"
	"post_attention_layernorm output), or with --from-layer-input the residual\n"
	"stream entering layer L, and write for each a ROUTES frame idval [T, K]: the\n"
	"experts chosen per row in ascending order with their weights (aux L).\n"
	"Other frames pass through.  FILE defaults to standard input.",
	options,
};

static void open_model(struct ds_model *m, struct ds_backend **b)
{
	struct ds_model_want want = { 0, 0, 0, NULL, NULL };
	struct ds_backend_opts bo = { devices[opt.device], (int)opt.threads, 0, 0, 0, 0, 0 };
	struct ds_error err = { 0 };
	int rc;

	if ((rc = ds_model_load_config(m, opt.model, &err)))
		ds_die(rc, "%s: %s", opt.model, err.msg);
	if (opt.layer >= m->L)
		ds_usage_error("--layer %ld: the model has layers 0..%ld", opt.layer, m->L - 1);
	if (!ds_model_layer_is_moe(m, opt.layer))
		ds_usage_error("--layer %ld is a dense layer (MoE layers are %ld..%ld)", opt.layer,
			       m->cfg.first_k_dense_replace, m->L - 1);
	want.first = bo.first = opt.layer;
	want.last = bo.last = opt.layer + 1;
	if ((rc = ds_model_map(m, opt.model, &want, &err)))
		ds_die(rc, "%s: %s", opt.model, err.msg);
	if ((rc = ds_backend_open(b, m, &bo, &err)))
		ds_die(rc, "%s", err.msg);
}

static void print_stats(const struct ds_route_stats *st)
{
	FILE *fp = opt.stats_file ? fopen(opt.stats_file, "w") : stdout;

	if (!fp)
		ds_die(EX_CANTCREAT, "cannot create '%s': %m", opt.stats_file);
	if (ds_route_stats_print(st, fp, opt.json) || (fp != stdout && fclose(fp)))
		ds_die(EX_IOERR, "%s: write error: %m", opt.stats_file ? opt.stats_file : "stdout");
}

int main(int argc, char **argv)
{
	struct ds_error err = { 0 };
	struct ds_route_stats st;
	struct ds_router router;
	struct ds_backend *b;
	struct ds_model m;
	struct ds_frame f, out;
	struct ds_reader r;
	struct ds_writer w;
	const char *name;
	float *rows = NULL, *wts = NULL;
	int32_t *ids = NULL;
	size_t cap = 0;
	long idcap = 0;
	FILE *in;
	int rc;

	argc = ds_cli_parse(&tool, argc, &argv);
	if (!opt.model || opt.layer < 0)
		ds_usage_error("-m DIR and --layer L are required");
	if (opt.stats && opt.stats_file)
		ds_usage_error("--stats writes to stdout, --stats-file to a file: choose one");
	if (opt.json && !opt.stats && !opt.stats_file)
		ds_usage_error("--json formats the statistics (--stats or --stats-file)");
	in = ds_tool_input(argc, argv, &name);
	if (!opt.stats)
		ds_refuse_binary_tty();
	open_model(&m, &b);
	if (ds_router_init(&router, &m.cfg, &err))
		ds_die_error(&err);
	if (ds_route_stats_init(&st, &router, (int)opt.layer))
		ds_die(EX_OSERR, "out of memory");
	ds_reader_init(&r, in, name);
	ds_writer_init(&w, stdout, "stdout");
	w.digest = !opt.no_digest;
	ds_frame_init(&f);
	ds_frame_init(&out);
	while ((rc = ds_read_frame(&r, &f, &err)) == 1) {
		struct ds_fwd_chunk c = { f.seq, (long)f.pos, (long)f.shape[0] };
		struct ds_fwd_batch one = { 1, &c };

		if (ds_frame_ends_seq(&f))
			ds_backend_end_seq(b, f.seq);
		else if (ds_frame_truncates_seq(&f))
			ds_backend_truncate_seq(b, f.seq, f.pos > (uint64_t)LONG_MAX ? LONG_MAX : (long)f.pos);
		if (f.kind != DS_KIND_HIDDEN) {
			if (!opt.stats)	/* --stats: statistics instead of frames */
				ds_tool_write(&w, &f);
			continue;
		}
		if (opt.from_input && !opt.ignore_aux && f.aux != (uint32_t)opt.layer)
			ds_die(EX_DATAERR, "%s: frame %" PRIu64 ": HIDDEN has aux %" PRIu32 " but --from-layer-input wants the input of layer %ld",
			       name, r.index - 1, f.aux, opt.layer);
		if (ds_fwdio_hidden(&f, m.D, &rows, &cap, 0, &err) ||
		    (opt.from_input && ds_backend_check(b, &one, 0, &err)))
			ds_tool_die_frame(&r, &err);
		if (c.n * m.K >= idcap) {
			idcap = c.n * m.K + 1;
			ids = ds_xrealloc(ids, (size_t)idcap * sizeof(*ids));
			wts = ds_xrealloc(wts, (size_t)idcap * sizeof(*wts));
		}
		if (ds_backend_route(b, &one, opt.layer, rows, opt.from_input, ids, wts, &err))
			ds_tool_die_frame(&r, &err);
		ds_route_stats_add(&st, ids, wts, c.n);
		if (ds_fwdio_put_routes(&out, ids, wts, c.n, m.K, f.seq, f.pos, (uint32_t)opt.layer, f.flags))
			ds_die(EX_DATAERR, "%s: frame %" PRIu64 ": too many rows", name, r.index - 1);
		if (!opt.stats)
			ds_tool_write(&w, &out);
	}
	if (rc != 0)
		ds_die_error(&err);
	if (opt.stats || opt.stats_file)
		print_stats(&st);
	ds_route_stats_release(&st);
	free(rows);
	free(ids);
	free(wts);
	ds_frame_release(&f);
	ds_frame_release(&out);
	ds_backend_free(b);
	ds_model_release(&m);
	ds_tool_finish(in);
	return 0;
}
