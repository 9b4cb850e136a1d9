/*
 * ds-score - how likely were the tokens: reads TOKENS and LOGITS (every
 * position, `ds-forward --head --all-positions`) and writes JSON lines:
 * per-sequence log-likelihoods and perplexity, lm-evaluation-harness
 * `loglikelihood` answers (--requests), or KL divergence against saved base
 * logits (--kl).  The arithmetic is common/score.h.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "score.h"
#include "stream.h"
#include "toolio.h"

struct score_opts {
	int requests;
	const char *kl;
	int brief;
};

static struct score_opts opt;

static const struct ds_option options[] = {
	DS_OPT_FLAG_("requests", 'r', &opt.requests, "loglikelihood requests: per sequence, the last TOKENS frame is the continuation"),
	DS_OPT_STRING_("kl", 0, &opt.kl, "BASE", "compare the LOGITS with those of the frame file BASE: KL divergence, top-1 agreement"),
	DS_OPT_FLAG_("brief", 'b', &opt.brief, "leave the per-token arrays out of the per-sequence lines"),
	DS_OPT_END_MARK
};

static const struct ds_tool tool = {
	"ds-score",
	"[-b] [FILE]\n--requests [FILE]\n--kl BASE [FILE]",
	"Score TOKENS under LOGITS of every position and write JSON lines to standard output:\n"
	"one per sequence (log-likelihood of each token from the second on, total, mean\n"
	"NLL, perplexity) and a last line of totals; with --requests one line per request\n"
	"(\"loglikelihood\", \"is_greedy\"); with --kl one object comparing with BASE.\n"
	"A sequence is reported at its CONTROL END/RESET or at the end of input.",
	options,
};

static void print_json(cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	if (!text)
		ds_die(EX_OSERR, "out of memory");
	if (printf("%s\n", text) < 0 || fflush(stdout))
		ds_die(EX_IOERR, "write error: %m");
	free(text);
	cJSON_Delete(o);
}

/* Report one finished sequence (score or request mode). */
static void report(struct ds_score_seq *s, struct ds_score_total *total)
{
	struct ds_error err = { 0 };
	cJSON *o;

	if (opt.requests) {
		if (!(o = ds_score_request_json(s, &err)))
			ds_die_error(&err);
	} else {
		o = ds_score_seq_json(s, !opt.brief);
		ds_score_total_add(total, s);
	}
	print_json(o);
	ds_score_seq_release(s);
}

/* The next LOGITS frame of the base stream; 0 at its end. */
static int next_base(struct ds_reader *r, struct ds_frame *f)
{
	struct ds_error err = { 0 };
	int rc;

	while ((rc = ds_read_frame(r, f, &err)) == 1)
		if (f->kind == DS_KIND_LOGITS && f->aux == 0)
			return 1;
	if (rc)
		ds_die_error(&err);
	return 0;
}

int main(int argc, char **argv)
{
	struct ds_error err = { 0 };
	struct ds_score_total total = { 0 };
	struct ds_score_seq done;
	struct ds_scorer *sc = NULL;
	struct ds_kl *kl = NULL;
	struct ds_reader r, rb;
	struct ds_frame f, bf;
	const char *name, *bname = NULL;
	FILE *in, *base = NULL;
	int rc = 0;

	argc = ds_cli_parse(&tool, argc, &argv);
	if (opt.kl && (opt.requests || opt.brief))
		ds_usage_error("--kl does not mix with --requests or --brief");
	in = ds_tool_input(argc, argv, &name);
	if (opt.kl && !strcmp(opt.kl, "-"))
		ds_usage_error("BASE must be a file; the run's frames come on standard input");
	if (opt.kl) {
		base = ds_tool_open(opt.kl, &bname);
		ds_reader_init(&rb, base, bname);
		kl = ds_kl_new();
	} else {
		sc = ds_scorer_new();
	}
	ds_reader_init(&r, in, name);
	ds_frame_init(&f);
	ds_frame_init(&bf);
	while (rc == 0 && (rc = ds_read_frame(&r, &f, &err)) == 1) {
		rc = 0;
		if (f.kind == DS_KIND_TOKENS) {
			rc = kl ? ds_kl_tokens(kl, &f, &err) : ds_scorer_tokens(sc, &f, &err);
		} else if (f.kind == DS_KIND_LOGITS && f.aux) {
			/* an MTP module's logits predict a token further on: not scored */
		} else if (f.kind == DS_KIND_LOGITS && kl) {
			if (!next_base(&rb, &bf))
				ds_die(EX_DATAERR, "%s: frame %" PRIu64 ": '%s' has no LOGITS frame left to compare with",
				       name, r.index - 1, bname);
			rc = ds_kl_logits(kl, &bf, &f, &err);
		} else if (f.kind == DS_KIND_LOGITS) {
			rc = ds_scorer_logits(sc, &f, &err);
		} else if (ds_frame_ends_seq(&f)) {
			if (kl)
				ds_kl_finish(kl, f.seq);
			else if (ds_scorer_finish(sc, f.seq, &done))
				report(&done, &total);
		}
		if (rc)
			ds_tool_die_frame(&r, &err);
	}
	if (rc != 0)
		ds_die_error(&err);
	if (kl) {
		if (next_base(&rb, &bf))
			ds_die(EX_DATAERR, "'%s' has more LOGITS frames than %s", bname, name);
		print_json(ds_kl_json(kl));
	} else {
		while (ds_scorer_finish_next(sc, &done))
			report(&done, &total);
		if (!opt.requests)
			print_json(ds_score_total_json(&total));
	}
	ds_frame_release(&f);
	ds_frame_release(&bf);
	ds_scorer_free(sc);
	ds_kl_free(kl);
	if (base)
		fclose(base);
	ds_tool_finish(in);
	return 0;
}
