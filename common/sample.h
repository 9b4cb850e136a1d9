/*
 * sample.h - LOGITS -> TOKENS: greedy and seeded sampling with temperature,
 * top-k, top-p, min-p and repetition / presence / frequency penalties.
 *
 * What it owns: the sampling parameters, the exact order of operations
 * (below; man/ds-sample.1 repeats it), a per-sequence token history for the
 * penalties, and the TOKENS / LOGPROBS frames and JSON lines ds-sample
 * writes.  The random numbers come from rng.h.
 *
 * Order of operations for one row of V logits (all arithmetic in double,
 * every sum in ascending token id order unless said otherwise):
 *   1. z_i = logit_i.  NaN or +inf anywhere is bad data; -inf means "never".
 *   2. Penalties over the window (the last penalty_last_n tokens of the
 *      sequence before the position being drawn; each distinct id t with
 *      count c_t in it, ids outside [0, V) ignored):
 *        repetition: z_t = z_t / r when z_t > 0, z_t * r otherwise;
 *        then      : z_t -= c_t * frequency + presence.
 *   3. temperature == 0: the token is the largest z_i, lowest id on ties
 *      (no random draw).  Otherwise w_i = exp((z_i - max z) / temperature)
 *      (so the best token has w = 1 exactly; exp from the C library).
 *   4. Rank order = w descending, then id ascending (a total order).
 *      top-k (k > 0): keep the first k tokens in rank order.
 *      top-p (p < 1): S = mass of what top-k kept; keep the shortest rank
 *        order prefix whose running sum (in rank order) reaches p * S.
 *      min-p (m > 0): keep only tokens with w_i >= m (that is
 *        p_i >= m * p_max).  Tokens with w_i == 0 are never kept.
 *   5. Draw u = ds_rng_uniform(seed, seq, position) in [0, 1); with W the
 *      sum of kept w, the token is the first kept id (ascending) at which
 *      the running sum exceeds u * W (the last kept id if rounding leaves
 *      none).  This is the renormalised kept distribution.
 * Reported log-probabilities are always the model's own: log_softmax of the
 * raw logits (step 1), not of the penalised or filtered distribution.
 *
 * Ownership: struct ds_sampler owns its scratch buffers and histories;
 * a struct ds_sample_result borrows the sampler's top-N arrays until the
 * next call.  Not thread-safe; one sampler per thread.
 */
#ifndef DS_SAMPLE_H
#define DS_SAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "stream.h"

/* The largest position a history may reach (bounds memory on bad input). */
#define DS_SAMPLE_MAX_POS ((uint64_t)1 << 34)

struct ds_sample_params {
	double temperature;		/* 0 = greedy */
	long top_k;			/* 0 = off */
	double top_p;			/* 1 = off */
	double min_p;			/* 0 = off */
	double repeat_penalty;		/* 1 = off; > 0 */
	double presence_penalty;	/* 0 = off */
	double frequency_penalty;	/* 0 = off */
	long penalty_last_n;		/* -1 = whole history, 0 = no penalties */
	uint64_t seed;
	long logprobs;			/* top N to report; -1 = none */
};

/* temperature 0 (greedy), no filters, no penalties, seed 0, no logprobs. */
void ds_sample_params_default(struct ds_sample_params *p);

/*
 * The sampling parameters (temperature .. seed, not logprobs) as rows of a
 * cli.h option table, for p, a struct ds_sample_params: ds-sample's own
 * options, and ds-run's, so that a driver refuses a bad value itself before
 * it starts anything.  The user includes cli.h.
 */
#define DS_SAMPLE_OPTIONS(p) \
	DS_OPT_DOUBLE_("temperature", 't', &(p).temperature, "T", "divide the logits by T before softmax; 0 = greedy (default 0)", 0, 1e6), \
	DS_OPT_INT_("top-k", 'k', &(p).top_k, "K", "keep only the K most likely tokens (default 0 = off)", 0, 2147483647), \
	DS_OPT_DOUBLE_("top-p", 'p', &(p).top_p, "P", "keep the most likely tokens up to mass P (default 1 = off)", 0, 1), \
	DS_OPT_DOUBLE_("min-p", 0, &(p).min_p, "P", "keep tokens with p >= P * p(best) (default 0 = off)", 0, 1), \
	DS_OPT_DOUBLE_("repeat-penalty", 0, &(p).repeat_penalty, "R", "divide positive / multiply negative logits of seen tokens by R (default 1 = off)", 1e-6, 1e6), \
	DS_OPT_DOUBLE_("presence-penalty", 0, &(p).presence_penalty, "X", "subtract X from the logit of every seen token (default 0)", -1e6, 1e6), \
	DS_OPT_DOUBLE_("frequency-penalty", 0, &(p).frequency_penalty, "X", "subtract X times its count from a seen token's logit (default 0)", -1e6, 1e6), \
	DS_OPT_INT_("penalty-last-n", 0, &(p).penalty_last_n, "N", "penalties look at the last N tokens (default -1 = the whole sequence)", -1, 2147483647), \
	DS_OPT_CALL_("seed", 's', &(p).seed, "N", "seed of the random stream, 0..2^64-1 (default 0)", ds_sample_parse_seed, 1)
/* --seed's value: a decimal (or 0x) integer 0..2^64-1 into *(uint64_t *)target;
 * 0, or -1 on junk (a DS_OPT_CALL_ callback). */
int ds_sample_parse_seed(const char *arg, void *target);
/* The options that give ds-sample the parameters of p: "--NAME=VALUE" for
 * each one (but logprobs) that differs from the default, doubles written so
 * that they read back exactly, into args[0..DS_SAMPLE_NARGS); returns the
 * count. */
#define DS_SAMPLE_NARGS 9
int ds_sample_params_args(const struct ds_sample_params *p, char args[DS_SAMPLE_NARGS][64]);

/*
 * A token history by position: tokens[i] is the token at position
 * base + i.  Writing at a position beyond the end (a gap) or before base
 * drops what was known, since the tokens in between are unknown; writing
 * inside the history truncates it there (a sequence that rewinds).
 */
struct ds_history {
	uint64_t base;
	int32_t *tokens;
	size_t len, cap;
};

void ds_history_init(struct ds_history *h);
void ds_history_release(struct ds_history *h);
/* Record n tokens at positions pos..pos+n-1.  Returns 0, or EX_DATAERR when
 * pos + n exceeds DS_SAMPLE_MAX_POS. */
int ds_history_put(struct ds_history *h, uint64_t pos, const int32_t *tok, size_t n,
		   struct ds_error *err);
/* The token at pos, or -1 when unknown. */
int32_t ds_history_at(const struct ds_history *h, uint64_t pos);
/* Forget every token at or beyond pos. */
void ds_history_truncate(struct ds_history *h, uint64_t pos);

struct ds_sample_result {
	uint64_t seq;
	uint64_t pos;			/* position of the drawn token */
	int32_t token;
	double logprob;			/* log_softmax(raw logits)[token] */
	long ntop;			/* entries in top_ids / top_logprobs */
	const int32_t *top_ids;		/* rank order; borrowed from the sampler */
	const double *top_logprobs;
};

struct ds_sampler;

/* A sampler with a copy of p.  Never NULL (allocation failure exits). */
struct ds_sampler *ds_sampler_new(const struct ds_sample_params *p);
void ds_sampler_free(struct ds_sampler *s);

/* A TOKENS frame (i32 [T]) that passed by: record it in its sequence's
 * history.  Returns 0 or EX_DATAERR (bad dtype / shape / position). */
int ds_sampler_observe(struct ds_sampler *s, const struct ds_frame *tokens, struct ds_error *err);
/* Forget sequence seq (CONTROL END or RESET). */
void ds_sampler_forget(struct ds_sampler *s, uint64_t seq);
/* CONTROL TRUNCATE: seq's history keeps positions below len only. */
void ds_sampler_truncate(struct ds_sampler *s, uint64_t seq, uint64_t len);

/*
 * Draw the token that follows a LOGITS frame (f32, bf16 or f16 [T, V]):
 * from its last row, at position pos + T of its sequence, using that
 * sequence's history for the penalties, then append the token to the
 * history.  Returns 0 with res filled, or EX_DATAERR (bad shape, NaN or
 * +inf logit, all logits -inf, position out of range) with s unchanged.
 */
int ds_sampler_next(struct ds_sampler *s, const struct ds_frame *logits,
		    struct ds_sample_result *res, struct ds_error *err);

/*
 * The row-level steps 1-4 above for tests and other drivers: fill probs[V]
 * with the distribution step 5 draws from (renormalised; one-hot for
 * greedy), given the history window hist[0..nhist) (already cut to
 * penalty_last_n by the caller).  Returns 0 or EX_DATAERR.
 */
int ds_sample_distribution(struct ds_sampler *s, const float *logits, size_t V,
			   const int32_t *hist, size_t nhist, double *probs, struct ds_error *err);
/* Steps 1-5 for one row with the uniform draw u given; returns the token,
 * or -1 with err filled (EX_DATAERR). */
int32_t ds_sample_row(struct ds_sampler *s, const float *logits, size_t V,
		      const int32_t *hist, size_t nhist, double u, struct ds_error *err);

/* Frames for a result: TOKENS i32 [1], and LOGPROBS idval [1, 1 + ntop]
 * (chosen id and logprob, then the top N in rank order); seq and pos from
 * res, no flags.  Return 0, or -1 when the frame cannot be sized. */
int ds_sample_tokens_frame(struct ds_frame *f, const struct ds_sample_result *res);
int ds_sample_logprobs_frame(struct ds_frame *f, const struct ds_sample_result *res);
/* One JSON line (no newline), caller frees with free():
 * {"seq":S,"pos":P,"token":ID,"logprob":X,"top":[{"id":ID,"logprob":X},...]} */
char *ds_sample_logprobs_json(const struct ds_sample_result *res);

#endif
