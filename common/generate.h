/*
 * generate.h - generation through a ring of tool processes.
 *
 * The ring is a struct ds_chain (ds-embed --pass-tokens | ds-forward --head
 * | ds-sample) whose output comes back to the driver: every TOKENS frame the
 * driver sends makes exactly one sampled TOKENS frame come back.  The driver
 * judges each sampled token as it arrives - end of sequence, a stop string
 * in the text so far, the token limit, the context limit, a closed output -
 * before it feeds it back, so nothing is computed past a stop.
 *
 * Text: a token's text is its bytes in tokenizer.json (what ds-tokenize -d
 * writes), so a reply's text is the concatenation of its tokens' bytes,
 * invalid or unfinished UTF-8 included.  The token-by-token split is what
 * lets a stop be turned back into tokens; that is why the driver reads the
 * tokenizer itself rather than decoding through a ds-tokenize -d process.
 *
 * Stops and rollback (one mechanism, ds_gen_text plus one CONTROL TRUNCATE):
 * text is shown as soon as it can no longer be the start of a stop string.
 * When a stop string appears, the text before it is shown and nothing after;
 * the sequence keeps the tokens whose text lies wholly before the stop
 * string, and the ring is rolled back to them (ds-forward's caches,
 * ds-sample's history), so a next turn continues from exactly those tokens
 * whatever the timing.  A token that straddles the start of the stop string
 * has its leading bytes shown but is not kept.
 *
 * Ownership: a struct ds_gen_seq owns its ids and text (ds_gen_seq_release);
 * it borrows its prompt and the params' strings and tokenizer.
 */
#ifndef DS_GENERATE_H
#define DS_GENERATE_H

#include <stddef.h>
#include <stdint.h>

#include "chain.h"
#include "error.h"
#include "tokenizer.h"

/*
 * A reply's text, token by token, with stop-string matching.  Pure (no I/O):
 * the driver adds each token's bytes and shows what comes back.
 * Invariant: text[0..shown) has been handed out, and no stop string can
 * start before shown.
 */
struct ds_gen_text {
	const char *const *stops;
	int nstops;
	char *text;		/* the bytes of every token added (NUL after them) */
	size_t len, cap;
	size_t *ends;		/* ends[i]: offset in text just after token i */
	size_t ntok, tcap;
	size_t shown;
	long stop_at;		/* offset of the stop string found, -1 while none */
	size_t kept;		/* once found: tokens that end at or before stop_at */
};
void ds_gen_text_init(struct ds_gen_text *t, const char *const *stops, int nstops);
/* Add the bytes of the next token (n may be 0).  Returns how many bytes may
 * now be shown, *show pointing at them (inside t->text), and advances
 * t->shown.  When a stop string completes, t->stop_at and t->kept are set,
 * what is returned ends where the stop string starts, and later calls
 * return 0. */
size_t ds_gen_text_add(struct ds_gen_text *t, const void *bytes, size_t n, const char **show);
/* At the end of the reply (no stop string found): everything still held. */
size_t ds_gen_text_flush(struct ds_gen_text *t, const char **show);
void ds_gen_text_release(struct ds_gen_text *t);

/* Write n bytes of text; nonzero stops that sequence (DS_GEN_OUTPUT_CLOSED). */
typedef int (*ds_put_fn)(const char *p, size_t n, void *ctx);

struct ds_gen_params {
	long max_tokens;		/* >= 1, or < 0: no limit */
	long ctx;			/* positions a sequence may fill (>= 1): the KV cache's size */
	const char *const *stops;
	int nstops;
	const long *eos;		/* end-of-sequence ids of the model */
	int neos;
	int ignore_eos;
	const struct ds_tokenizer *tok;	/* the bytes of each id */
	int end_done;			/* send CONTROL END for a sequence once it is done */
};

enum ds_gen_stop { DS_GEN_EOS, DS_GEN_LENGTH, DS_GEN_STOP_STRING, DS_GEN_CONTEXT, DS_GEN_OUTPUT_CLOSED };
/* "eos", "length", "stop", "context", "closed" */
extern const char *const ds_gen_stop_names[];

/*
 * One sequence to generate.  The caller sets the first block (zero the rest);
 * ds_generate fills the second.  Sequence i of the array is ring sequence i.
 */
struct ds_gen_seq {
	uint64_t pos;			/* positions already in the ring's cache */
	const int32_t *prompt;		/* ids sent first, at pos (nprompt >= 1) */
	size_t nprompt;
	ds_put_fn put;			/* shown text as it comes (NULL: kept only) */
	void *ctx;

	enum ds_gen_stop stop;
	struct ds_ids ids;		/* generated ids kept, EOS excluded */
	long generated;			/* ids kept, EOS included (the statistics) */
	int32_t unfed;			/* a kept id not in the cache (EOS, or the last id at a limit), or -1 */
	uint64_t next_pos;		/* positions now in the cache */
	double t_prompt, t_generate;	/* seconds: prompt sent to first id; first id to last */
	struct ds_gen_text text;	/* text.text[0..text.shown) is what was shown */
	int state;			/* private: 0 waiting, 1 running, 2 done */
	double t0, t1;			/* private */
};
void ds_gen_seq_release(struct ds_gen_seq *s);

/* Wait until every stage has loaded its model: a RESET for seq goes round
 * the ring and comes back.  Returns 0, or an error when the ring broke. */
int ds_ring_ready(struct ds_chain *ring, uint64_t seq, struct ds_error *err);

/*
 * Generate every sequence of seqs[0..nseq), at most DS_GEN_MAX_RUNNING at a
 * time (so that sampled tokens waiting for the driver can never fill a pipe
 * of the ring), each until its stop.  A prompt that does not fit in gp->ctx
 * is not sent: that sequence stops at once with DS_GEN_CONTEXT.  Returns 0,
 * or an error code when the ring broke (the sequences' results so far stay).
 */
#define DS_GEN_MAX_RUNNING 64
int ds_generate(struct ds_chain *ring, const struct ds_gen_params *gp, struct ds_gen_seq *seqs, int nseq,
		struct ds_error *err);

#endif
