/*
 * ds-forward - HIDDEN -> HIDDEN through a slice of decoder layers, or with
 * --head -> LOGITS; with --mtp the MTP module: HIDDEN (last residual) +
 * TOKENS -> LOGITS (aux 1).  Keeps the KV cache per sequence across frames;
 * CONTROL END/RESET free it.  The work is in common/cpu/forward.c (through the
 * backend seam) and the frame handling in common/fwdio.c.
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
#include "spec.h"
#include "stream.h"

struct forward_opts {
	const char *model;
	long first, last;	/* -1: not given */
	int head, all_positions, emit_hidden, emit_routes, mtp;
	long last_positions, draft;	/* draft: -1 = off */
	long draft_vocab;		/* drafts from ids below it; 0: all */
	int draft_policy;		/* index into ds_spec_policies; -1: not given (fixed) */
	struct ds_sample_params draw;	/* how drafts are drawn */
	int device;
	long threads, rows, ctx_size;
	int ignore_aux, no_batch, no_digest;
	int prefetch, mlock;
};

static struct forward_opts opt = { .first = -1, .last = -1, .rows = 128, .last_positions = 1, .draft = -1, .draft_policy = -1 };
static const char *const devices[] = { "cpu", "cuda", NULL };

/* "A:B", "A:" or ":B" */
static int parse_layers(const char *arg, void *target)
{
	struct forward_opts *o = target;
	const char *colon = strchr(arg, ':');
	char a[32] = "", *end;

	if (!colon || colon - arg >= (long)sizeof(a))
		return -1;
	memcpy(a, arg, (size_t)(colon - arg));
	o->first = *a ? strtol(a, &end, 10) : 0;
	if (*a && (*end || o->first < 0))
		return -1;
	o->last = colon[1] ? strtol(colon + 1, &end, 10) : -1;
	if (colon[1] && (*end || o->last < 0))
		return -1;
	return 0;
}

static const struct ds_option options[] = {
	DS_OPT_STRING_("model", 'm', &opt.model, "DIR", "checkpoint directory with config.json (required)"),
	DS_OPT_CALL_("layers", 'l', &opt, "A:B", "run decoder layers A..B-1 (default: all; A: or :B leave one end open)", parse_layers, 1),
	DS_OPT_FLAG_("head", 0, &opt.head, "apply the final norm and lm_head: write LOGITS"),
	DS_OPT_FLAG_("all-positions", 'a', &opt.all_positions, "LOGITS for every row of a frame (default: the last)"),
	DS_OPT_INT_("last-positions", 0, &opt.last_positions, "N", "with --head: LOGITS for the last N rows of a frame (default 1)", 1, 1 << 20),
	DS_OPT_FLAG_("emit-hidden", 0, &opt.emit_hidden, "with --head: write the HIDDEN result too, before the LOGITS"),
	DS_OPT_FLAG_("emit-routes", 0, &opt.emit_routes, "write a ROUTES frame per MoE layer before each result"),
	DS_OPT_FLAG_("mtp", 0, &opt.mtp, "run the MTP module on HIDDEN (aux = num_hidden_layers) + next TOKENS"),
	DS_OPT_INT_("draft", 0, &opt.draft, "K", "with --mtp: after each settled TOKENS frame draft K tokens and write TOKENS [last, drafts] (speculative decoding)", 0, DS_SPEC_MAX_DRAFTS),
	DS_OPT_CHOICE_("draft-policy", 0, &opt.draft_policy, "P", "with --draft: fixed (default: K drafts each time) or adaptive (0..K, as many as measure to pay)", ds_spec_policies),
	DS_OPT_INT_("draft-vocab", 0, &opt.draft_vocab, "N", "with --draft: draft only ids below N (the MTP head computes N rows, not the vocabulary; default: all)", 0, 1 << 30),
	DS_SAMPLE_OPTIONS_LETTERS(opt.draw, 0, 0, 0, 0),
	DS_OPT_CHOICE_("device", 'd', &opt.device, "DEV", "cpu (default) or cuda", devices),
	DS_OPT_INT_("threads", 't', &opt.threads, "N", "threads (default: every CPU)", 0, 4096),
	DS_OPT_INT_("rows", 0, &opt.rows, "N", "rows per step and per batch of frames (default 128)", 1, 1 << 20),
	DS_OPT_INT_("ctx-size", 0, &opt.ctx_size, "N", "a sequence may fill N positions of the KV cache (default: max_position_embeddings)", 1, 1e12),
	DS_OPT_FLAG_("ignore-aux", 0, &opt.ignore_aux, "accept HIDDEN frames whose aux is not the slice's first layer"),
	DS_OPT_FLAG_("no-batch", 0, &opt.no_batch, "run every HIDDEN frame alone (no batching of waiting frames)"),
	DS_OPT_FLAG_("no-digest", 0, &opt.no_digest, "write frames without digests"),
	DS_OPT_FLAG_("prefetch", 0, &opt.prefetch, "page the slice's weights in before the first frame (progress on a terminal)"),
	DS_OPT_FLAG_("mlock", 0, &opt.mlock, "page them in and lock them in memory (needs ulimit -l)"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-forward",
	"-m DIR [--layers A:B] [--head [--all-positions] [--emit-hidden]] [OPTION...] [FILE]\n"
	"-m DIR --mtp [--all-positions] [OPTION...] [FILE]\n"
	"-m DIR --mtp --draft K [--temperature T] [SAMPLING OPTION...] [OPTION...] [FILE]",
	"Read HIDDEN frames and run them through decoder layers A..B-1 of the model (a\n"
	"frame's aux must be A; the result has aux B), keeping each sequence's KV cache\n"
	"across frames: a frame must continue its sequence (pos = positions seen).  With\n"
	"--head write LOGITS instead.  With --mtp pair HIDDEN frames holding the main\n"
	"model's last residual with the TOKENS of the sequence and write the MTP module's\n"
	"LOGITS (aux 1); with --draft K instead draw K draft tokens from them, as ds-sample\n"
	"would with the sampling options given (one MTP pass per draft), and write TOKENS\n"
	"[last settled token, drafts] with aux K and the ROLLBACK flag after each settled\n"
	"TOKENS frame (speculative decoding; see ds-run --speculative).  CONTROL END/RESET\n"
	"free a sequence, TRUNCATE and frames flagged ROLLBACK roll it back to their pos;\n"
	"CONTROL and other frames pass on, in order.  FILE defaults to standard input.",
	options,
};

static void check_options(const struct ds_model *m)
{
	if ((opt.all_positions && !opt.head && !opt.mtp) || (opt.emit_hidden && !opt.head))
		ds_usage_error("--all-positions and --emit-hidden go with --head (or --mtp)");
	if (opt.last_positions != 1 && (!opt.head || opt.all_positions))
		ds_usage_error("--last-positions goes with --head (and not --all-positions)");
	if (opt.draft >= 0 && (!opt.mtp || opt.all_positions))
		ds_usage_error("--draft goes with --mtp (and not --all-positions)");
	if ((opt.draft_vocab || opt.draft_policy >= 0) && opt.draft < 0)
		ds_usage_error("--draft-vocab and --draft-policy go with --draft");
	if (opt.mtp && (opt.head || opt.emit_routes || opt.first >= 0 || opt.last >= 0))
		ds_usage_error("--mtp runs the MTP module alone: no --layers, --head or --emit-routes");
	if (opt.first < 0)
		opt.first = 0;
	if (opt.last < 0)
		opt.last = m->L;
	if (opt.first > opt.last || opt.last > m->L)
		ds_usage_error("--layers %ld:%ld is outside the model's 0:%ld", opt.first, opt.last, m->L);
	if (opt.ctx_size > m->cfg.max_position_embeddings)
		ds_usage_error("--ctx-size %ld is beyond the model's max_position_embeddings %ld", opt.ctx_size,
			       m->cfg.max_position_embeddings);
}

static void progress(void *ctx, long done, long total)
{
	(void)ctx;
	if (ds_progress_wanted())
		fprintf(stderr, "\rds-forward: mapped %ld/%ld layers%s", done, total, done == total ? "\n" : "");
}

static void open_model(struct ds_model *m, struct ds_backend **b)
{
	struct ds_model_want want = { 0, 0, 0, progress, NULL };
	struct ds_backend_opts bo = { devices[opt.device], (int)opt.threads, 0, 0, opt.mtp, opt.rows, opt.ctx_size };
	struct ds_error err = { 0 };
	int rc;

	if ((rc = ds_model_load_config(m, opt.model, &err)))
		ds_die(rc, "%s: %s", opt.model, err.msg);
	check_options(m);
	want.first = bo.first = opt.mtp ? 0 : opt.first;
	want.last = bo.last = opt.mtp ? 0 : opt.last;
	want.parts = opt.mtp ? DS_PART_MTP : opt.head ? DS_PART_HEAD : 0;
	if ((rc = ds_model_map(m, opt.model, &want, &err)))
		ds_die(rc, "%s: %s", opt.model, err.msg);
	if (opt.prefetch || opt.mlock)
		ds_tool_prefetch(m, DS_PREFETCH_WILLNEED | (opt.mlock ? DS_PREFETCH_MLOCK : 0));
	if ((rc = ds_backend_open(b, m, &bo, &err)))
		ds_die(rc, "%s", err.msg);
}

/* CONTROL TRUNCATE, or a frame flagged ROLLBACK: seq continues at pos. */
static void roll_back(struct ds_backend *b, struct ds_mtp_join *join, uint64_t seq, uint64_t pos)
{
	long len = pos > (uint64_t)LONG_MAX ? LONG_MAX : (long)pos;

	ds_backend_truncate_seq(b, seq, len);
	ds_mtp_join_truncate(join, seq, len);
}

int main(int argc, char **argv)
{
	struct ds_fwd_stage_opts so;
	struct ds_error err = { 0 };
	struct ds_hidden_batch batch;
	struct ds_spec_stage spec;
	struct ds_fwd_stage st;
	struct ds_fwdio_limits lim;
	struct ds_mtp_join join;
	struct ds_backend *b;
	struct ds_model m;
	struct ds_frame f;
	struct ds_reader r;
	struct ds_writer w;
	const char *name;
	FILE *in;
	int rc;

	ds_sample_params_default(&opt.draw);
	argc = ds_cli_parse(&tool, argc, &argv);
	if (!opt.model)
		ds_usage_error("-m DIR (the model) is required");
	in = ds_tool_input(argc, argv, &name);
	ds_refuse_binary_tty();
	open_model(&m, &b);
	so = (struct ds_fwd_stage_opts){ opt.first, opt.last, opt.head, opt.all_positions, opt.emit_hidden, opt.emit_routes,
					 opt.last_positions };
	ds_fwd_stage_init(&st, b, &m, &so);
	ds_hidden_batch_init(&batch, m.D, opt.rows);
	ds_mtp_join_init(&join, m.D);
	if (opt.draft >= 0) {
		ds_spec_stage_init(&spec, b, &m, &opt.draw, opt.draft);
		ds_spec_set_draft_vocab(&spec.d, opt.draft_vocab);
		ds_spec_set_adaptive(&spec.d, opt.draft_policy == 1);
	}
	ds_reader_init(&r, in, name);
	/* frames it consumes are checked from their header, before their payload is read */
	lim = (struct ds_fwdio_limits){ 1u << DS_KIND_HIDDEN | (opt.mtp ? 1u << DS_KIND_TOKENS : 0), m.D,
					m.cfg.max_position_embeddings };
	r.admit = ds_fwdio_admit;
	r.admit_ctx = &lim;
	ds_writer_init(&w, stdout, "stdout");
	w.digest = !opt.no_digest;
	ds_frame_init(&f);
	while ((rc = ds_read_frame(&r, &f, &err)) == 1) {
		uint32_t want_aux = opt.mtp ? (uint32_t)m.L : (uint32_t)opt.first;
		struct ds_fwd_chunk c = { f.seq, (long)f.pos, (long)f.shape[0] };
		struct ds_fwd_batch one = { 1, &c };

		if (f.kind == DS_KIND_HIDDEN && !opt.ignore_aux && f.aux != want_aux)
			ds_die(EX_DATAERR, "%s: frame %" PRIu64 ": HIDDEN has aux %" PRIu32 " (layers applied) but this stage starts at layer %" PRIu32 " (see --layers, --ignore-aux)",
			       name, r.index - 1, f.aux, want_aux);
		if (opt.draft >= 0) {	/* the drafting stage of a speculative ring */
			if ((rc = ds_spec_stage_frame(&spec, &f, &w, &err)) < 0 || rc > 1)
				ds_tool_die_frame(&r, &err);
			if (!rc)
				ds_tool_write(&w, &f);
			continue;
		}
		if (f.kind == DS_KIND_HIDDEN && !opt.mtp) {
			if (!ds_hidden_batch_fits(&batch, &f) && ds_fwd_stage_run(&st, &batch, &w, &err))
				ds_die_error(&err);
			if (ds_frame_rolls_back(&f))	/* its sequence is not in the batch */
				roll_back(b, &join, f.seq, f.pos);
			if (ds_hidden_batch_add(&batch, &f, &err) || ds_backend_check(b, &one, 0, &err))
				ds_tool_die_frame(&r, &err);
			if (!opt.no_batch && ds_input_ready(in))
				continue;
			if (ds_fwd_stage_run(&st, &batch, &w, &err))
				ds_die_error(&err);
			continue;
		}
		/* a pass-through frame between HIDDEN frames that are waiting:
		 * hold it in its place so that they still run as one batch */
		if (!opt.mtp && !opt.no_batch && batch.n && f.kind != DS_KIND_CONTROL && ds_input_ready(in)) {
			if (ds_hidden_batch_hold(&batch, &f, &err))
				ds_die_error(&err);
			continue;
		}
		if (ds_fwd_stage_run(&st, &batch, &w, &err))
			ds_die_error(&err);
		if (opt.mtp && (f.kind == DS_KIND_HIDDEN || f.kind == DS_KIND_TOKENS)) {
			if (ds_frame_rolls_back(&f))
				roll_back(b, &join, f.seq, f.pos);
			if ((f.kind == DS_KIND_HIDDEN ? ds_mtp_join_hidden(&join, &f, &err) : ds_mtp_join_tokens(&join, &f, &err)) ||
			    ds_fwd_stage_mtp(&st, &join, f.seq, &w, &err))
				ds_tool_die_frame(&r, &err);
			continue;
		}
		if (ds_frame_ends_seq(&f)) {
			ds_backend_end_seq(b, f.seq);
			ds_mtp_join_drop(&join, f.seq);
		} else if (ds_frame_truncates_seq(&f)) {
			roll_back(b, &join, f.seq, f.pos);
		}
		ds_tool_write(&w, &f);
	}
	if (rc != 0)
		ds_die_error(&err);
	if (ds_fwd_stage_run(&st, &batch, &w, &err))
		ds_die_error(&err);
	if (opt.draft >= 0)
		ds_spec_stage_release(&spec);
	ds_fwd_stage_release(&st);
	ds_hidden_batch_release(&batch);
	ds_mtp_join_release(&join);
	ds_frame_release(&f);
	ds_backend_free(b);
	ds_model_release(&m);
	ds_tool_finish(in);
	return 0;
}
