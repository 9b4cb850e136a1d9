/*
 * ds-sample - LOGITS -> TOKENS: for each LOGITS frame draw the next token of
 * its sequence from the last row and write it at once as a TOKENS frame [1],
 * so the tool can close a generation ring.  The sampling itself (order of
 * operations, the seeded generator) lives in common/sample.h.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "toolio.h"
#include "sample.h"
#include "stream.h"

#define MAX_EOS 8

struct sample_opts {
	struct ds_sample_params p;
	const char *logprobs_file;
	int echo;
	int no_digest;
	long max_tokens;		/* 0: no limit */
	long eos[MAX_EOS];
	int neos;
};

static struct sample_opts opt;

static int add_eos(const char *arg, void *unused)
{
	long v;

	if (ds_parse_long(arg, &v) || v < 0 || v > 2147483647 || opt.neos == MAX_EOS)
		return -1;
	opt.eos[opt.neos++] = v;
	return 0;
}

static const struct ds_option options[] = {
	DS_SAMPLE_OPTIONS(opt.p),
	DS_OPT_INT_("logprobs", 0, &opt.p.logprobs, "N", "after each TOKENS frame, a LOGPROBS frame: the chosen token and the top N", 0, 1000000),
	DS_OPT_STRING_("logprobs-file", 0, &opt.logprobs_file, "FILE", "write the log-probabilities as JSON lines to FILE instead of frames"),
	DS_OPT_FLAG_("echo", 0, &opt.echo, "pass incoming TOKENS frames on (default: consume them)"),
	DS_OPT_INT_("max-tokens", 'n', &opt.max_tokens, "N", "a sequence ends after N sampled tokens (default 0 = never)", 0, 1e15),
	DS_OPT_CALL_("eos", 0, NULL, "ID", "a sequence ends when it samples ID (may be repeated)", add_eos, 1),
	DS_OPT_FLAG_("no-digest", 0, &opt.no_digest, "write frames without digests"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-sample",
	"[-t T] [-k K] [-p P] [--min-p P] [--seed N] [--logprobs N] [OPTION...] [FILE]",
	"Read LOGITS frames and write, for each, the next token of its sequence as a TOKENS\n"
	"frame [1] at the position after the frame's last row.  TOKENS frames that pass\n"
	"are remembered for the penalties (and dropped unless --echo); CONTROL END/RESET\n"
	"forget a sequence, TRUNCATE cuts its history at pos; other frames, and the LOGITS of MTP modules (aux > 0), pass\n"
	"through.  With -n or --eos, once every sequence seen has ended, close the output\n"
	"and read the input to its end (so a shell ring built with a FIFO winds down).\n"
	"FILE defaults to standard input.",
	options,
};

/* Sequences that ended by -n / --eos, and how many tokens each has had. */
struct seq_count {
	uint64_t seq;
	long count;
	int ended;
};
static struct seq_count *counts;
static size_t ncounts;

/* Count a sampled token; returns 1 when every sequence seen has ended. */
static int count_token(const struct ds_sample_result *res)
{
	size_t i;
	int all = 1;

	for (i = 0; i < ncounts && counts[i].seq != res->seq; i++)
		;
	if (i == ncounts) {
		counts = realloc(counts, (ncounts + 1) * sizeof(*counts));
		if (!counts)
			ds_die(EX_OSERR, "out of memory");
		counts[ncounts++] = (struct seq_count){ res->seq, 0, 0 };
	}
	counts[i].count++;
	if (opt.max_tokens && counts[i].count >= opt.max_tokens)
		counts[i].ended = 1;
	for (int e = 0; e < opt.neos; e++)
		if (res->token == opt.eos[e])
			counts[i].ended = 1;
	for (i = 0; i < ncounts; i++)
		all &= counts[i].ended;
	return all;
}

/* The chosen token, then its log-probabilities as a frame or a JSON line. */
static void emit(struct ds_writer *w, FILE *json, const struct ds_sample_result *res, struct ds_frame *out)
{
	if (ds_sample_tokens_frame(out, res))
		ds_bug("cannot size a TOKENS frame");
	ds_tool_write(w, out);
	if (opt.p.logprobs < 0)
		return;
	if (json) {
		char *line = ds_sample_logprobs_json(res);
		if (fprintf(json, "%s\n", line) < 0 || fflush(json))
			ds_die(EX_IOERR, "%s: write error: %m", opt.logprobs_file);
		free(line);
		return;
	}
	if (ds_sample_logprobs_frame(out, res))
		ds_die(EX_DATAERR, "too many log-probabilities for one frame");
	ds_tool_write(w, out);
}

int main(int argc, char **argv)
{
	struct ds_error err = { 0 };
	struct ds_sample_result res;
	struct ds_sampler *s;
	struct ds_frame f, out;
	struct ds_reader r;
	struct ds_writer w;
	const char *name;
	FILE *in, *json = NULL;
	int rc, ended = 0;

	ds_sample_params_default(&opt.p);
	argc = ds_cli_parse(&tool, argc, &argv);
	in = ds_tool_input(argc, argv, &name);
	if (opt.logprobs_file && opt.p.logprobs < 0)
		opt.p.logprobs = 0;
	if (opt.logprobs_file && !(json = fopen(opt.logprobs_file, "w")))
		ds_die(EX_CANTCREAT, "cannot create '%s': %m", opt.logprobs_file);
	ds_refuse_binary_tty();
	ds_reader_init(&r, in, name);
	ds_writer_init(&w, stdout, "stdout");
	w.digest = !opt.no_digest;
	s = ds_sampler_new(&opt.p);
	ds_frame_init(&f);
	ds_frame_init(&out);
	while (!ended && (rc = ds_read_frame(&r, &f, &err)) == 1) {
		switch (f.kind) {
		case DS_KIND_LOGITS:
			if (f.aux) {	/* an MTP module's logits: not the next token */
				ds_tool_write(&w, &f);
				break;
			}
			if (ds_sampler_next(s, &f, &res, &err))
				ds_tool_die_frame(&r, &err);
			emit(&w, json, &res, &out);
			ended = (opt.max_tokens || opt.neos) && count_token(&res);
			break;
		case DS_KIND_TOKENS:
			if (ds_sampler_observe(s, &f, &err))
				ds_tool_die_frame(&r, &err);
			if (opt.echo)
				ds_tool_write(&w, &f);
			break;
		case DS_KIND_CONTROL:
			if (ds_frame_ends_seq(&f))
				ds_sampler_forget(s, f.seq);
			else if (ds_frame_truncates_seq(&f))
				ds_sampler_truncate(s, f.seq, f.pos);
			ds_tool_write(&w, &f);
			break;
		default:
			ds_tool_write(&w, &f);
		}
	}
	if (ended) {	/* -n / --eos: let the ring see our end, then drain it */
		if (fclose(stdout))
			ds_die(EX_IOERR, "write error: %m");
		while ((rc = ds_read_frame(&r, &f, &err)) == 1)
			;
	}
	if (rc != 0)
		ds_die_error(&err);
	ds_frame_release(&f);
	ds_frame_release(&out);
	ds_sampler_free(s);
	free(counts);
	if (json && fclose(json))
		ds_die(EX_IOERR, "%s: write error: %m", opt.logprobs_file);
	if (!ended)	/* else stdout is closed already */
		ds_tool_finish(in);
	return 0;
}
