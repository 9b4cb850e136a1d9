/*
 * generate.h - generation through a ring of tool processes.
 *
 * The ring is a struct ds_chain (ds-embed --pass-tokens | ds-forward --head
 * | ds-sample) whose output comes back to the driver: every TOKENS frame the
 * driver sends makes exactly one sampled TOKENS frame come back, which the
 * driver feeds in again until a stop.  Text is decoded by a ds-tokenize -d
 * process and passed through a stop-string filter before it is shown.
 *
 * Stops: an EOS id (unless ignore_eos), max_tokens generated, or a stop
 * string in the decoded text (the text before it is shown, the rest is not;
 * at most one token already in flight is computed and discarded).
 */
#ifndef DS_GENERATE_H
#define DS_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "error.h"

/* A stop-string filter: holds back text that may be the start of a stop
 * string, so that nothing after a stop is ever shown. */
struct ds_stop_filter {
	const char *const *stops;
	int n;
	char *held;
	size_t nheld, cap;
	int found;		/* index + 1 of the stop string found, 0 while none */
};
typedef int (*ds_put_fn)(const char *p, size_t n, void *ctx);
void ds_stop_init(struct ds_stop_filter *f, const char *const *stops, int n);
/* Offset of the earliest stop string in text[0..len), -1 when none; *which
 * (when not NULL) gets its index. */
long ds_stop_find(const char *text, size_t len, const char *const *stops, int n, int *which);
/* Feed text; writes what is safe through put.  Returns put's error, else 0;
 * f->found says whether a stop string completed (text after it dropped). */
int ds_stop_feed(struct ds_stop_filter *f, const char *p, size_t n, ds_put_fn put, void *ctx);
/* At the end of the text: write what is still held (unless found). */
int ds_stop_flush(struct ds_stop_filter *f, ds_put_fn put, void *ctx);
void ds_stop_release(struct ds_stop_filter *f);

struct ds_gen_params {
	long max_tokens;		/* < 0: no limit */
	const char *const *stops;
	int nstops;
	const long *eos;		/* eos ids of the model */
	int neos;
	int ignore_eos;
};

enum ds_gen_stop { DS_GEN_EOS, DS_GEN_LENGTH, DS_GEN_STOP_STRING, DS_GEN_OUTPUT_CLOSED };
extern const char *const ds_gen_stop_names[];

struct ds_gen_result {
	enum ds_gen_stop stop;
	long prompt_tokens, generated;
	double t_prompt, t_generate;	/* seconds: prompt to first token; first to last */
	uint64_t next_pos;		/* positions now in the ring's cache for seq */
	int32_t unfed;			/* a generated id not in the cache (EOS or the last one), or -1 */
	char *text;			/* the text shown (malloc'd), when keep_text */
	size_t text_len;
};

/* Wait until every stage has loaded its model: a RESET for seq goes round
 * the ring and comes back.  Returns 0, or an error when the ring broke. */
int ds_ring_ready(struct ds_chain *ring, uint64_t seq, struct ds_error *err);

/*
 * Send ids (positions pos..) of sequence seq and generate, writing the shown
 * text through put(ctx) as it is decoded; put returning nonzero (e.g. stdout
 * closed) stops the generation with DS_GEN_OUTPUT_CLOSED.  With keep_text the
 * shown text is also returned in res->text.  Returns 0 or an error code (the
 * ring or the decoder broke).
 */
int ds_generate(struct ds_chain *ring, const char *model, uint64_t seq, uint64_t pos,
		const int32_t *ids, size_t n, const struct ds_gen_params *gp,
		ds_put_fn put, void *ctx, int keep_text, struct ds_gen_result *res,
		struct ds_error *err);

/* Many sequences at once (batched by the ring's ds-forward).  Sequence i is
 * prompts[i] (n[i] ids) as seq i; its generated ids land in out_ids[i]
 * (malloc'd, out_n[i] of them, EOS excluded) and its reason in stops[i].
 * Stop strings are not applied here (the caller decodes and cuts). */
int ds_generate_batch(struct ds_chain *ring, int nseq, int32_t *const *prompts, const size_t *n,
		      const struct ds_gen_params *gp, int32_t **out_ids, size_t *out_n,
		      enum ds_gen_stop *stops, struct ds_error *err);

#endif
