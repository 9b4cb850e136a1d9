/*
 * score.h - how likely TOKENS are under LOGITS, for evaluation jobs:
 * per-token log-likelihood, total and perplexity; lm-evaluation-harness
 * `loglikelihood` requests (summed log-likelihood of a continuation and
 * whether it is the greedy one); and KL divergence / top-1 agreement of a
 * run's logits against saved base logits (as llama-perplexity
 * --kl-divergence reports them).
 *
 * Conventions: LOGITS row r of a frame at pos p predicts the token at
 * p + r + 1 (stream.h); a row is scored when that token is known, from a
 * TOKENS frame of the same sequence that came before or comes later (the
 * row waits, copied, until then; rows whose token never comes, such as
 * the last row of a sequence, are dropped at the end).  All arithmetic is
 * in double with sums in ascending token id order; log and exp are the C
 * library's.  log p(t) = logit_t - logsumexp(row).  "Greedy" means the
 * token is the row's largest logit, lowest id on ties.
 *
 * A request (ds-score --requests) is a sequence whose LAST TOKENS frame is
 * the continuation and whose earlier frames are the context.
 *
 * Ownership: struct ds_scorer and struct ds_kl own their state; a finished
 * struct ds_score_seq belongs to the caller (ds_score_seq_release).  The
 * cJSON objects returned are the caller's (cJSON_Delete).
 */
#ifndef DS_SCORE_H
#define DS_SCORE_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "stream.h"

/* ---- one row ---- */

/* log(sum exp x_i); -inf when every x_i is -inf. */
double ds_logsumexp(const float *x, size_t n);
/* Index of the largest x_i, the lowest on ties (NaN never wins). */
int32_t ds_argmax(const float *x, size_t n);
/* KL(P || Q) with P = softmax(base), Q = softmax(x): sum over p_i > 0 of
 * p_i * (log p_i - log q_i); +inf when some q_i = 0 < p_i. */
double ds_kl_divergence(const float *base, const float *x, size_t n);

/* ---- sequences ---- */

struct ds_score_token {
	uint64_t pos;		/* position of the scored token */
	int32_t token;
	int greedy;		/* token is the argmax of its row */
	double logprob;
	uint64_t order;		/* arrival, to keep sorting stable */
};

struct ds_score_seq {
	uint64_t seq;
	struct ds_score_token *tok;	/* sorted by pos */
	size_t n;
	int has_cont;			/* a TOKENS frame was seen */
	uint64_t cont_pos, cont_len;	/* the last TOKENS frame */
};

void ds_score_seq_release(struct ds_score_seq *s);

struct ds_scorer;

struct ds_scorer *ds_scorer_new(void);
void ds_scorer_free(struct ds_scorer *sc);
/* A TOKENS frame (i32 [T]): record it, score rows waiting for it.
 * Returns 0 or EX_DATAERR (bad frame, a token outside a row's vocabulary). */
int ds_scorer_tokens(struct ds_scorer *sc, const struct ds_frame *f, struct ds_error *err);
/* A LOGITS frame (f32/bf16/f16 [T, V]).  Returns 0 or EX_DATAERR (bad
 * shape, NaN or +inf logit, a token outside the vocabulary). */
int ds_scorer_logits(struct ds_scorer *sc, const struct ds_frame *f, struct ds_error *err);
/* End sequence seq: move its scored tokens into *out and forget it.
 * Returns 1, or 0 when the scorer had nothing for seq (*out zeroed). */
int ds_scorer_finish(struct ds_scorer *sc, uint64_t seq, struct ds_score_seq *out);
/* Finish the sequence with the lowest id; 0 when none is left. */
int ds_scorer_finish_next(struct ds_scorer *sc, struct ds_score_seq *out);

/* ---- JSON ---- */

/* {"seq","count","total","mean_nll","perplexity","greedy_matches"} and,
 * when per_token, "positions", "tokens", "logprobs" arrays. */
cJSON *ds_score_seq_json(const struct ds_score_seq *s, int per_token);
/* {"seq","loglikelihood","is_greedy","count"} over the continuation.
 * NULL with err (EX_DATAERR) when the sequence had no TOKENS frame or a
 * continuation token was never scored (its row missing). */
cJSON *ds_score_request_json(const struct ds_score_seq *s, struct ds_error *err);

/*
 * One lm-evaluation-harness `loglikelihood` request line,
 * {"context": "...", "continuation": "..."} (other keys ignored), for the
 * driver that tokenises requests into the frames --requests reads.  As
 * lm-evaluation-harness's Hugging Face backend does before tokenising, the
 * context's trailing whitespace (Python's str.isspace set, UTF-8) moves to
 * the front of the continuation.  The driver then tokenises context +
 * continuation as one text and takes as continuation the tokens after the
 * context's own tokenisation (that backend's rule, too); an empty context
 * is replaced by the model's prefix token (BOS).  Returns 0 with *context
 * and *continuation malloc'd (the caller frees them), or EX_DATAERR (not a
 * JSON object, a key missing or not a string).
 */
int ds_score_request_parse(const char *line, char **context, char **continuation,
			   struct ds_error *err);

/* Totals over many sequences. */
struct ds_score_total {
	size_t sequences, count;
	double total;
};
void ds_score_total_add(struct ds_score_total *t, const struct ds_score_seq *s);
/* {"sequences","count","total","mean_nll","perplexity"} */
cJSON *ds_score_total_json(const struct ds_score_total *t);

/* ---- KL divergence against base logits ---- */

struct ds_kl;

struct ds_kl *ds_kl_new(void);
void ds_kl_free(struct ds_kl *kl);
/* TOKENS of the run (optional): with them, perplexities and the change
 * in the probability of the actual next token (delta p) are reported. */
int ds_kl_tokens(struct ds_kl *kl, const struct ds_frame *f, struct ds_error *err);
/* A LOGITS frame of the run and the matching base frame: same sequence,
 * position and shape, else EX_DATAERR and nothing recorded. */
int ds_kl_logits(struct ds_kl *kl, const struct ds_frame *base, const struct ds_frame *f,
		 struct ds_error *err);
/* Sequence seq ended (CONTROL END / RESET). */
void ds_kl_finish(struct ds_kl *kl, uint64_t seq);
/*
 * Finish every sequence and report: {"positions", "kld": {stats},
 * "top1_agreement_pct", "tokens", "ppl_base", "ppl", "ln_ppl_ratio",
 * "delta_p": {stats}} where stats are mean, stderr (of the mean), min, p1,
 * p5, p10, median, p90, p95, p99, p99_9, max; percentiles interpolate
 * linearly between order statistics (numpy's default); delta_p also has
 * rms.  Token-based fields are null without tokens.
 */
cJSON *ds_kl_json(struct ds_kl *kl);

#endif
