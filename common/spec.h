/*
 * spec.h - speculative decoding with the MTP module: the drafter (the MTP
 * module proposes the next k tokens), the drafting stage of a ring
 * (ds-forward --mtp --draft K), and a one-process engine for ds-bench.
 * Checking drafts is the sampler's job (ds_sampler_verify, sample.h), so
 * that it is the very code plain decoding draws with.
 *
 * The scheme.  A sequence is settled up to the token x at position q: x
 * is known but has not been through the main model yet.  The drafter
 * proposes d_1..d_k for positions q+1..q+k; the main model runs [x, d_1..
 * d_k] at q..q+k in one pass; the verifier draws q+1, q+2, ... from those
 * rows exactly as plain decoding would (same rows bit for bit, since the
 * CPU backend's rows do not depend on how they are batched; same history;
 * same random number, draw p of the stream for position p) and stops at
 * the first draw that differs from its draft.  With a drafts accepted,
 * a + 1 tokens are settled and the last of them, x' at q' = q + a + 1, is
 * the next x.  The main model's cache drops positions >= q' (their input
 * was a rejected draft), the MTP module runs the rows whose next token is
 * now settled, and the drafter drafts again from the last of them.
 *
 * Drafting.  MTP row i takes (H_i, t_{i+1}) and predicts t_{i+2}, so row
 * q'-1, whose next token is x', drafts d_1 for q'+1.  For k > 1 the one
 * module is applied to its own output (as vLLM reuses it for k > 1): row q'
 * takes (the MTP layer's output residual at q'-1, d_1) and predicts q'+2,
 * and so on; those k-1 MTP cache entries are dropped again once drafted.
 * Of the settled rows only the last one's output drafts, so the rows
 * before it only extend the MTP cache (ds_backend_mtp_cache: eh_proj and
 * kv_a, not the attention or the MoE) - the module then costs one full row
 * per pass however many drafts were accepted.
 * Each draft is drawn by a sampler with the verifier's settings at its own
 * position - the random number the verifier will use there - so where the
 * MTP module's distribution is close to the main model's the two draws
 * land on the same token (greedy: the MTP argmax).  Drafts affect only how
 * many tokens a pass settles, never which.
 *
 * In a ring (ds-run --speculative mtp, --print-pipeline shows it) the
 * frames say all of this (ds-stream(5)): the drafter writes TOKENS [x,
 * d_1..d_k] at q with aux = k (draft tokens) and the ROLLBACK flag (the
 * sequence continues at q: every stage first drops what it holds at or
 * beyond q), ds-forward --head --last-positions k+1 --emit-hidden runs it,
 * ds-sample --verify writes the settled TOKENS, and the drafter runs the
 * MTP rows and drafts again.
 *
 * Ownership: a drafter borrows the backend and the model and owns its
 * sampler and scratch; a stage owns its drafter's state, its MTP join and
 * its output frame; an engine owns everything but the backend and model.
 */
#ifndef DS_SPEC_H
#define DS_SPEC_H

#include <stdint.h>

#include "backend.h"
#include "error.h"
#include "fwdio.h"
#include "model.h"
#include "sample.h"
#include "stream.h"

#define DS_SPEC_MAX_DRAFTS 16

/* A TOKENS frame as speculation needs it: i32 [T], and when it has drafts
 * (aux) at most DS_SPEC_MAX_DRAFTS of them and fewer than T.  0 or
 * EX_DATAERR naming the sequence. */
int ds_spec_tokens_check(const struct ds_frame *f, struct ds_error *err);

/*
 * How many drafts a step makes, when that is left to measurement (the
 * adaptive policy).  Whether a draft pays depends on the model (how much
 * of a pass the MTP row, the head and a second verify row are), the
 * machine and the text (how often drafts are accepted), so it is measured:
 * for each count k = 0..K the policy keeps moving averages of the seconds a
 * pass with k drafts took, drafting included, and of the tokens it settled,
 * and plays the count with the fewest seconds per token.  Now and then it
 * plays a neighbour of that count instead (the one measured longer ago), so
 * that a change - text that gets predictable, a machine that gets busy - is
 * seen; a count that turns out better for it takes over.  The first probe
 * comes DS_SPEC_PROBE passes in; each probe that changes nothing doubles the
 * passes to the next, up to DS_SPEC_PROBE_MAX, and a change of the cheapest
 * count brings them back to DS_SPEC_PROBE: where drafts are never accepted,
 * probing costs a few losing passes in DS_SPEC_PROBE_MAX, not one in
 * DS_SPEC_PROBE (on a random V2-Lite-width model, estimated from the passes
 * per draft count, 1 probe in 16 was most of what adaptive drafting cost).  Each count is first played
 * DS_SPEC_WARM times, from K down.
 * A step with no drafts still runs the MTP module's cache rows, so drafting
 * can start again at any position.  Only the speed depends on the choice,
 * never the tokens.
 */
#define DS_SPEC_PROBE 16
#define DS_SPEC_PROBE_MAX 256
#define DS_SPEC_WARM 2

struct ds_spec_adapt {
	long kmax;
	double secs[DS_SPEC_MAX_DRAFTS + 1];	/* moving averages per count: seconds a pass */
	double toks[DS_SPEC_MAX_DRAFTS + 1];	/* ... tokens it settled */
	long seen[DS_SPEC_MAX_DRAFTS + 1];	/* passes measured */
	long when[DS_SPEC_MAX_DRAFTS + 1];	/* number of the last one */
	long passes;
	long period;				/* passes from one probe to the next */
	long next_probe;			/* probe once `passes` reaches this */
};

/* The names of the policies, for the tools' --draft-policy: "fixed"
 * (index 0: always K drafts) and "adaptive" (index 1). */
extern const char *const ds_spec_policies[];

void ds_spec_adapt_init(struct ds_spec_adapt *a, long kmax);
/* The count the next pass drafts. */
long ds_spec_adapt_choose(const struct ds_spec_adapt *a);
/* A pass with k drafts took `seconds` and settled `settled` tokens. */
void ds_spec_adapt_observe(struct ds_spec_adapt *a, long k, double seconds, long settled);

struct ds_spec_drafter {
	struct ds_backend *b;		/* opened with the MTP module */
	const struct ds_model *m;
	struct ds_sampler *s;		/* the drafts' draws (history: settled tokens + drafts) */
	long k;				/* drafts per step (adaptive: at most), 0..DS_SPEC_MAX_DRAFTS */
	long vocab;			/* drafts only from ids below it (V: all) */
	int adaptive;			/* the count chosen by `adapt` (0: always k) */
	struct ds_spec_adapt adapt;
	long made;			/* drafts the last ds_spec_draft made */
	double draft_s;			/* ... and the seconds it took */
	float *out, *logits;		/* MTP residuals [2][D], one row of logits [V] */
	size_t out_cap;
};

void ds_spec_drafter_init(struct ds_spec_drafter *d, struct ds_backend *b, const struct ds_model *m,
			  const struct ds_sample_params *p, long k);
void ds_spec_drafter_release(struct ds_spec_drafter *d);
/*
 * Draw drafts only from the ids below vocab (0 or >= V: from all): the MTP
 * head then computes vocab rows instead of V and the draw looks at those
 * logits alone (the others are -inf: the same token).
 * ds_spec_draft_vocab is the count a request comes to (V for all).  BPE vocabularies number
 * their tokens in merge order, roughly most frequent first, so the first
 * ids carry most of the text; a draft outside them is simply never made.
 * Drafts affect only the speed, never the tokens.
 */
long ds_spec_draft_vocab(const struct ds_model *m, long vocab);
void ds_spec_set_draft_vocab(struct ds_spec_drafter *d, long vocab);
/* Let the adaptive policy choose 0..k drafts a step (on) or always draft
 * k (off, the default). */
void ds_spec_set_adaptive(struct ds_spec_drafter *d, int on);
/* The pass that checked the last ds_spec_draft's drafts took `seconds`
 * (without the drafting, which the drafter timed) and settled `settled`
 * tokens: what the adaptive policy learns from (no-op when not adaptive). */
void ds_spec_drafter_observe(struct ds_spec_drafter *d, double seconds, long settled);
/* Settled tokens ids[0..n) at positions pos.. of seq, for the drafts'
 * penalties (the history is cut at pos first).  0 or EX_DATAERR. */
int ds_spec_drafter_settle(struct ds_spec_drafter *d, uint64_t seq, uint64_t pos, const int32_t *ids, long n,
			   struct ds_error *err);
void ds_spec_drafter_forget(struct ds_spec_drafter *d, uint64_t seq);

/*
 * Run the MTP module over n >= 1 rows of seq at positions pos..pos+n-1
 * (h: the main model's last residuals [n][D]; next: the tokens at
 * pos+1..pos+n) and draft d->made tokens for pos+n+1.. into drafts[]: d->k,
 * or as many as the adaptive policy chooses (0: the rows only extend the
 * MTP cache).  The MTP cache then holds exactly pos+n positions of seq.
 * Returns 0 or the backend's or sampler's error.
 */
int ds_spec_draft(struct ds_spec_drafter *d, uint64_t seq, long pos, long n, const float *h, const int32_t *next,
		  int32_t *drafts, struct ds_error *err);

/*
 * The drafting stage of a ring (ds-forward --mtp --draft K).  Frames in:
 * HIDDEN (aux = num_hidden_layers; the main model's last residuals), the
 * settled TOKENS of ds-sample --verify, CONTROL.  Per settled TOKENS
 * frame ending at q, once the rows up to q-1 have run, it writes TOKENS
 * [x_q, d_1..d_k] at q with aux k (adaptive: the k chosen, 0..K; the pass
 * is timed from the start of drafting to the settled frame that answers
 * it) and ROLLBACK.  Frames flagged ROLLBACK
 * and CONTROL TRUNCATE/END/RESET act on the join, the MTP cache and the
 * drafts' history.
 */
struct ds_spec_sent {			/* a sequence's drafts on their way round */
	uint64_t seq;
	long made;			/* drafts */
	double t0;			/* when drafting them began */
};

struct ds_spec_stage {
	struct ds_spec_drafter d;
	struct ds_mtp_join j;
	struct ds_frame out;
	int32_t buf[DS_SPEC_MAX_DRAFTS + 1];
	struct ds_spec_sent *sent;	/* adaptive: the round trip of each sequence's last drafts */
	long nsent, capsent;
};

void ds_spec_stage_init(struct ds_spec_stage *st, struct ds_backend *b, const struct ds_model *m,
			const struct ds_sample_params *p, long k);
void ds_spec_stage_release(struct ds_spec_stage *st);
/* Act on frame f.  Returns 1 when the stage consumed it (writing through w
 * what it drafted), 0 when f is to be passed on (CONTROL frames, after
 * acting on them; kinds the stage does not use), or an error code with err
 * filled (EX_DATAERR for frames out of order, unverified drafts, ...). */
int ds_spec_stage_frame(struct ds_spec_stage *st, const struct ds_frame *f, struct ds_writer *w,
			struct ds_error *err);

/*
 * The verifying side of a ring (ds-sample --verify), around a sampler the
 * caller owns: TOKENS frames (the main model's input: settled tokens, then
 * aux drafts) are recorded in the sampler's history and kept until the
 * LOGITS that answer them (aux 0; at least 1 + drafts rows, the last one
 * at the frame's last position) come; those are verified
 * (ds_sampler_verify) and the settled TOKENS frame is the input frame's
 * settled tokens, the accepted drafts and the token drawn after them, at
 * the input frame's pos - everything the drafter needs from that pass.
 * LOGITS with no TOKENS frame before them settle only the drawn token.
 */
struct ds_spec_pending {
	uint64_t seq, pos;
	int32_t *tok;			/* the input frame's tokens */
	long n, cap, drafts;
};

struct ds_spec_verifier {
	struct ds_sampler *s;		/* borrowed */
	struct ds_spec_pending *p;
	long np, capp;
	int32_t drawn[DS_SPEC_MAX_DRAFTS + 1];
	struct ds_frame out;
};

void ds_spec_verifier_init(struct ds_spec_verifier *v, struct ds_sampler *s);
void ds_spec_verifier_release(struct ds_spec_verifier *v);
/* A TOKENS frame on its way to the main model (at most
 * DS_SPEC_MAX_DRAFTS drafts, fewer than its tokens).  0 or EX_DATAERR. */
int ds_spec_verifier_tokens(struct ds_spec_verifier *v, const struct ds_frame *f, struct ds_error *err);
/* LOGITS (aux 0) for a recorded frame: *drawn and *n get the drawn tokens
 * (accepted drafts, then one more), borrowed until the next call.
 * EX_DATAERR when rows and positions do not match the frame. */
int ds_spec_verifier_logits(struct ds_spec_verifier *v, const struct ds_frame *f, const int32_t **drawn,
			    long *n, struct ds_error *err);
/* The settled TOKENS frame of that pass, keeping the first `keep` drawn
 * tokens (a caller that ends the sequence early keeps fewer); borrowed. */
const struct ds_frame *ds_spec_verifier_settled(struct ds_spec_verifier *v, uint64_t seq, long keep);
/* CONTROL END/RESET and TRUNCATE (the sampler's history is the caller's). */
void ds_spec_verifier_forget(struct ds_spec_verifier *v, uint64_t seq);
void ds_spec_verifier_truncate(struct ds_spec_verifier *v, uint64_t seq, uint64_t len);

/*
 * Reading the ring's input stream as text (ds-tokenize -d after the ring,
 * ds-run's driver): a TOKENS frame's aux drafts are held back until a
 * later frame of the same sequence says what became of them - those below
 * its pos were accepted, those at or beyond it were not - so the tokens
 * handed out are exactly the settled ones, in order.  Frames without
 * drafts pass straight through; at the end, drafts still held are dropped.
 */
struct ds_spec_held_seq {
	uint64_t seq, pos;		/* drafts held at pos.. */
	int32_t tok[DS_SPEC_MAX_DRAFTS];
	long n;
};

struct ds_spec_held {
	struct ds_spec_held_seq *s;
	long ns, cap;
	int32_t *out;
	size_t outcap;
};

void ds_spec_held_init(struct ds_spec_held *h);
void ds_spec_held_release(struct ds_spec_held *h);
/* The settled tokens a TOKENS frame brings: held drafts it confirms, then
 * its own tokens before its drafts.  *ids is borrowed until the next
 * call; returns their count, or -1 with err (EX_DATAERR) for a frame that
 * ds_spec_tokens_check refuses (nothing changes then). */
long ds_spec_held_frame(struct ds_spec_held *h, const struct ds_frame *f, const int32_t **ids,
			struct ds_error *err);
/* Drop what is held for seq (CONTROL END/RESET; TRUNCATE to len). */
void ds_spec_held_truncate(struct ds_spec_held *h, uint64_t seq, uint64_t len);

/*
 * The whole loop in one process over one backend that runs every main
 * layer, the head and the MTP module (ds-bench --speculative): prefill,
 * then steps of draft / verify pass / settle.  Statistics are counted
 * from ds_spec_engine_start on.
 */
struct ds_spec_stats {
	long steps;			/* main-model passes after the prompt */
	long settled;			/* tokens settled by them */
	long drafted[DS_SPEC_MAX_DRAFTS];	/* steps that offered draft j */
	long accepted[DS_SPEC_MAX_DRAFTS];	/* ... and accepted it */
	long played[DS_SPEC_MAX_DRAFTS + 1];	/* steps with k drafts */
};

struct ds_spec_engine {
	struct ds_backend *b;
	const struct ds_model *m;
	struct ds_sampler *verify;
	struct ds_spec_drafter d;
	uint64_t seq;
	long q;				/* position of the settled, unfed token x */
	int32_t x;
	int32_t row[DS_SPEC_MAX_DRAFTS + 1];	/* [x, drafts] */
	long ndraft;
	float *hidden, *logits;		/* [rows][D], [k+1][V] */
	size_t hidden_cap;
	struct ds_frame lf;		/* the verify pass's logits as a frame */
	struct ds_spec_stats st;
};

void ds_spec_engine_init(struct ds_spec_engine *e, struct ds_backend *b, const struct ds_model *m,
			 const struct ds_sample_params *p, long k);
void ds_spec_engine_release(struct ds_spec_engine *e);
/* Prefill prompt[0..n) as sequence seq, settle the first token and draft. */
int ds_spec_engine_start(struct ds_spec_engine *e, uint64_t seq, const int32_t *prompt, long n,
			 struct ds_error *err);
/* One main-model pass over [x, drafts]: settles 1..k+1 tokens, appended to
 * out (room for k+1); *n gets their count. */
int ds_spec_engine_step(struct ds_spec_engine *e, int32_t *out, long *n, struct ds_error *err);
/* Free the sequence's caches. */
void ds_spec_engine_end(struct ds_spec_engine *e);

#endif
