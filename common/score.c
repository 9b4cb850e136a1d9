/*
 * score.c - log-likelihoods, perplexity, request scoring and KL statistics;
 * see score.h.  Rows wait in a per-sequence list only while their target
 * token is unknown: in the usual stream (each TOKENS frame before its
 * LOGITS frame) that is one row per frame, the last, which the next
 * frame's first token resolves.
 */
#include "score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "sample.h"
#include "tensor.h"
#include "utf8.h"

/* log(sum exp x_i) given m, the largest x_i. */
static double logsumexp_from(const float *x, size_t n, double m)
{
	double sum = 0;

	if (m == -INFINITY)
		return -INFINITY;
	for (size_t i = 0; i < n; i++)
		sum += exp(x[i] - m);
	return m + log(sum);
}

double ds_logsumexp(const float *x, size_t n)
{
	double m = -INFINITY;

	for (size_t i = 0; i < n; i++)
		if (x[i] > m)
			m = x[i];
	return logsumexp_from(x, n, m);
}

int32_t ds_argmax(const float *x, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best] || isnan(x[best]))
			best = i;
	return (int32_t)best;
}

/* KL(P || Q) given lb and lx, the logsumexp of base and x. */
static double kl_from(const float *base, const float *x, size_t n, double lb, double lx)
{
	double kl = 0;

	for (size_t i = 0; i < n; i++) {
		double lp = base[i] - lb, p = exp(lp);

		if (p > 0)
			kl += p * (lp - (x[i] - lx));
	}
	return kl;
}

double ds_kl_divergence(const float *base, const float *x, size_t n)
{
	return kl_from(base, x, n, ds_logsumexp(base, n), ds_logsumexp(x, n));
}

/* What scoring needs of a row (checked: no NaN) besides the token's logit;
 * the KL statistics use it too, so it is worked out once per row. */
struct row_sum {
	double lse;		/* ds_logsumexp(row) */
	int32_t best;		/* ds_argmax(row) */
};

static struct row_sum summarise(const float *row, size_t V)
{
	struct row_sum r;

	r.best = ds_argmax(row, V);
	r.lse = logsumexp_from(row, V, row[r.best]);	/* the largest: no NaN here */
	return r;
}

/* ---- the scorer ---- */

struct pending {
	uint64_t pos;		/* the row's own position; it predicts pos + 1 */
	size_t V;
	float *row;
};

struct seq_score {
	uint64_t seq;
	struct ds_history hist;
	struct ds_score_seq out;	/* tok grows here */
	size_t cap;
	struct pending *wait;
	size_t nwait, waitcap;
};

struct ds_scorer {
	struct seq_score *seqs;
	size_t nseq, cap;
	uint64_t order;
	float *row;		/* a bf16/f16 row converted */
	size_t rowcap;
};

void ds_score_seq_release(struct ds_score_seq *s)
{
	free(s->tok);
	memset(s, 0, sizeof(*s));
}

struct ds_scorer *ds_scorer_new(void)
{
	return ds_xcalloc(1, sizeof(struct ds_scorer));
}

static void seq_release(struct seq_score *st)
{
	ds_history_release(&st->hist);
	ds_score_seq_release(&st->out);
	for (size_t i = 0; i < st->nwait; i++)
		free(st->wait[i].row);
	free(st->wait);
}

void ds_scorer_free(struct ds_scorer *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nseq; i++)
		seq_release(&sc->seqs[i]);
	free(sc->seqs);
	free(sc->row);
	free(sc);
}

static struct seq_score *find_seq(struct ds_scorer *sc, uint64_t seq)
{
	struct seq_score *st;

	for (size_t i = 0; i < sc->nseq; i++)
		if (sc->seqs[i].seq == seq)
			return &sc->seqs[i];
	if (sc->nseq == sc->cap) {
		sc->cap = sc->cap ? 2 * sc->cap : 8;
		sc->seqs = ds_xrealloc(sc->seqs, sc->cap * sizeof(*sc->seqs));
	}
	st = &sc->seqs[sc->nseq++];
	memset(st, 0, sizeof(*st));
	st->seq = seq;
	st->out.seq = seq;
	ds_history_init(&st->hist);
	return st;
}

/* Score row (V logits at position pos, summarised in sum) against token. */
static int score_row(struct ds_scorer *sc, struct seq_score *st, uint64_t pos, const float *row,
		     size_t V, struct row_sum sum, int32_t token, struct ds_error *err)
{
	struct ds_score_token *t;

	if (token < 0 || (size_t)token >= V)
		return ds_error_set(err, EX_DATAERR, "token %d at position %llu is outside the vocabulary of %zu",
				    token, (unsigned long long)pos + 1, V);
	if (st->out.n == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 64;
		st->out.tok = ds_xrealloc(st->out.tok, st->cap * sizeof(*st->out.tok));
	}
	t = &st->out.tok[st->out.n++];
	t->pos = pos + 1;
	t->token = token;
	t->logprob = row[token] - sum.lse;
	t->greedy = sum.best == token;
	t->order = sc->order++;
	return 0;
}

int ds_scorer_tokens(struct ds_scorer *sc, const struct ds_frame *f, struct ds_error *err)
{
	struct seq_score *st;
	int rc;

	if (f->dtype != DS_I32 || f->ndim != 1)
		return ds_error_set(err, EX_DATAERR, "TOKENS frame is not i32 [T]");
	st = find_seq(sc, f->seq);
	if ((rc = ds_history_put(&st->hist, f->pos, f->data, f->shape[0], err)))
		return rc;
	st->out.has_cont = 1;
	st->out.cont_pos = f->pos;
	st->out.cont_len = f->shape[0];
	for (size_t i = 0; i < st->nwait;) {
		struct pending *w = &st->wait[i];
		int32_t tok = ds_history_at(&st->hist, w->pos + 1);

		if (tok < 0) {
			i++;
			continue;
		}
		if ((rc = score_row(sc, st, w->pos, w->row, w->V, summarise(w->row, w->V), tok, err)))
			return rc;
		free(w->row);
		memmove(w, w + 1, (st->nwait - i - 1) * sizeof(*w));	/* keep arrival order */
		st->nwait--;
	}
	return 0;
}

static int check_row(const float *row, size_t V, uint64_t pos, struct ds_error *err)
{
	for (size_t i = 0; i < V; i++)
		if (isnan(row[i]) || row[i] == INFINITY)
			return ds_error_set(err, EX_DATAERR, "logit of token %zu at position %llu is %g",
					    i, (unsigned long long)pos, (double)row[i]);
	return 0;
}

/* A LOGITS frame the scorer takes: float [T, V], V > 0, positions in range. */
static int check_frame(const struct ds_frame *f, struct ds_error *err)
{
	uint64_t rows = ds_frame_rows(f), V = ds_frame_cols(f);

	if (f->ndim != 2 || V == 0 || V > INT32_MAX || !ds_dtype_is_float(f->dtype))
		return ds_error_set(err, EX_DATAERR, "LOGITS frame is not a float [T, V] with V > 0");
	if (f->pos > DS_SAMPLE_MAX_POS - rows)
		return ds_error_set(err, EX_DATAERR, "position %llu is out of range",
				    (unsigned long long)f->pos);
	return 0;
}

/* ds_scorer_logits, also giving each row's summary in sums[] (unless NULL). */
static int scorer_logits(struct ds_scorer *sc, const struct ds_frame *f, struct row_sum *sums,
			 struct ds_error *err)
{
	uint64_t rows = ds_frame_rows(f), V = ds_frame_cols(f);
	struct seq_score *st;
	int rc;

	if ((rc = check_frame(f, err)))
		return rc;
	if (f->dtype != DS_F32 && V > sc->rowcap) {
		sc->row = ds_xrealloc(sc->row, V * sizeof(*sc->row));
		sc->rowcap = V;
	}
	st = find_seq(sc, f->seq);
	for (uint64_t r = 0; r < rows; r++) {
		const float *row = (const float *)f->data + r * V;
		uint64_t pos = f->pos + r;
		int32_t tok = ds_history_at(&st->hist, pos + 1);

		if (f->dtype != DS_F32) {
			ds_to_f32(sc->row, (const uint8_t *)f->data + r * V * ds_dtype_size(f->dtype),
				  f->dtype, V);
			row = sc->row;
		}
		if ((rc = check_row(row, V, pos, err)))
			return rc;
		if (sums)
			sums[r] = summarise(row, V);
		if (tok >= 0) {
			if ((rc = score_row(sc, st, pos, row, V, sums ? sums[r] : summarise(row, V), tok, err)))
				return rc;
			continue;
		}
		if (st->nwait == st->waitcap) {
			st->waitcap = st->waitcap ? 2 * st->waitcap : 4;
			st->wait = ds_xrealloc(st->wait, st->waitcap * sizeof(*st->wait));
		}
		st->wait[st->nwait].pos = pos;
		st->wait[st->nwait].V = V;
		st->wait[st->nwait].row = ds_xmalloc(V * sizeof(float));
		memcpy(st->wait[st->nwait++].row, row, V * sizeof(float));
	}
	return 0;
}

int ds_scorer_logits(struct ds_scorer *sc, const struct ds_frame *f, struct ds_error *err)
{
	return scorer_logits(sc, f, NULL, err);
}

static int cmp_token(const void *a, const void *b)
{
	const struct ds_score_token *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return (x->order > y->order) - (x->order < y->order);
}

static void finish_at(struct ds_scorer *sc, size_t i, struct ds_score_seq *out)
{
	struct seq_score *st = &sc->seqs[i];

	*out = st->out;
	if (out->n)
		qsort(out->tok, out->n, sizeof(*out->tok), cmp_token);
	st->out.tok = NULL;
	seq_release(st);
	sc->seqs[i] = sc->seqs[--sc->nseq];
}

int ds_scorer_finish(struct ds_scorer *sc, uint64_t seq, struct ds_score_seq *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sc->nseq; i++)
		if (sc->seqs[i].seq == seq) {
			finish_at(sc, i, out);
			return 1;
		}
	return 0;
}

int ds_scorer_finish_next(struct ds_scorer *sc, struct ds_score_seq *out)
{
	size_t best = 0;

	memset(out, 0, sizeof(*out));
	if (!sc->nseq)
		return 0;
	for (size_t i = 1; i < sc->nseq; i++)
		if (sc->seqs[i].seq < sc->seqs[best].seq)
			best = i;
	finish_at(sc, best, out);
	return 1;
}

/* ---- JSON ---- */

static double sum_logprobs(const struct ds_score_seq *s, size_t *greedy)
{
	double total = 0;

	*greedy = 0;
	for (size_t i = 0; i < s->n; i++) {
		total += s->tok[i].logprob;
		*greedy += (size_t)s->tok[i].greedy;
	}
	return total;
}

static void add_perplexity(cJSON *o, size_t count, double total)
{
	double nll = count ? -total / (double)count : NAN;

	cJSON_AddNumberToObject(o, "count", (double)count);
	cJSON_AddNumberToObject(o, "total", total);
	cJSON_AddNumberToObject(o, "mean_nll", nll);	/* NaN prints as null */
	cJSON_AddNumberToObject(o, "perplexity", exp(nll));
}

cJSON *ds_score_seq_json(const struct ds_score_seq *s, int per_token)
{
	cJSON *o = cJSON_CreateObject();
	size_t greedy;
	double total = sum_logprobs(s, &greedy);

	cJSON_AddNumberToObject(o, "seq", (double)s->seq);
	add_perplexity(o, s->n, total);
	cJSON_AddNumberToObject(o, "greedy_matches", (double)greedy);
	if (per_token) {
		cJSON *pos = cJSON_AddArrayToObject(o, "positions");
		cJSON *tok = cJSON_AddArrayToObject(o, "tokens");
		cJSON *lp = cJSON_AddArrayToObject(o, "logprobs");

		for (size_t i = 0; i < s->n; i++) {
			cJSON_AddItemToArray(pos, cJSON_CreateNumber((double)s->tok[i].pos));
			cJSON_AddItemToArray(tok, cJSON_CreateNumber(s->tok[i].token));
			cJSON_AddItemToArray(lp, cJSON_CreateNumber(s->tok[i].logprob));
		}
	}
	return o;
}

cJSON *ds_score_request_json(const struct ds_score_seq *s, struct ds_error *err)
{
	uint64_t next = s->cont_pos, end = s->cont_pos + s->cont_len;
	double ll = 0;
	int greedy = 1;
	cJSON *o;

	if (!s->has_cont)
		return ds_error_set(err, EX_DATAERR, "request %llu has no TOKENS frame",
				    (unsigned long long)s->seq), NULL;
	if (s->cont_pos == 0)
		return ds_error_set(err, EX_DATAERR, "request %llu has no context before its continuation",
				    (unsigned long long)s->seq), NULL;
	for (size_t i = 0; i < s->n; i++) {
		const struct ds_score_token *t = &s->tok[i];

		if (t->pos < s->cont_pos || t->pos >= end)
			continue;
		if (t->pos != next)
			break;	/* a gap, or a position scored twice */
		ll += t->logprob;
		greedy &= t->greedy;
		next++;
	}
	if (next != end)
		return ds_error_set(err, EX_DATAERR, "request %llu: the continuation token at position %llu has no logits",
				    (unsigned long long)s->seq, (unsigned long long)next), NULL;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "seq", (double)s->seq);
	cJSON_AddNumberToObject(o, "loglikelihood", ll);
	cJSON_AddBoolToObject(o, "is_greedy", greedy);
	cJSON_AddNumberToObject(o, "count", (double)s->cont_len);
	return o;
}

/* Length of s without its trailing Unicode whitespace (str.isspace). */
static size_t trim_end(const char *s, size_t n)
{
	static const uint32_t ws[] = {
		0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
		0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009,
		0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
	};
	const uint8_t *u = (const uint8_t *)s;

	while (n) {
		size_t start = n - 1, k;
		uint32_t cp;
		int inc;

		while (start > 0 && n - start < 4 && (u[start] & 0xc0) == 0x80)
			start--;
		if (ds_utf8_seq(u + start, n - start, &inc) != n - start)
			return n;	/* not one valid character: stop */
		cp = ds_utf8_decode(u + start, n - start);
		for (k = 0; k < sizeof(ws) / sizeof(ws[0]) && ws[k] != cp; k++)
			;
		if (k == sizeof(ws) / sizeof(ws[0]))
			return n;
		n = start;
	}
	return 0;
}

int ds_score_request_parse(const char *line, char **context, char **continuation,
			   struct ds_error *err)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "context");
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, "continuation");
	size_t nc, keep, nx;

	*context = *continuation = NULL;
	if (!cJSON_IsObject(o) || !cJSON_IsString(c) || !cJSON_IsString(x)) {
		cJSON_Delete(o);
		return ds_error_set(err, EX_DATAERR, "a request must be a JSON object with string "
				    "\"context\" and \"continuation\"");
	}
	nc = strlen(c->valuestring);
	nx = strlen(x->valuestring);
	keep = trim_end(c->valuestring, nc);
	*context = ds_xmalloc(keep + 1);
	memcpy(*context, c->valuestring, keep);
	(*context)[keep] = 0;
	*continuation = ds_xmalloc(nc - keep + nx + 1);
	memcpy(*continuation, c->valuestring + keep, nc - keep);
	memcpy(*continuation + nc - keep, x->valuestring, nx + 1);
	cJSON_Delete(o);
	return 0;
}

void ds_score_total_add(struct ds_score_total *t, const struct ds_score_seq *s)
{
	size_t greedy;

	t->sequences++;
	t->count += s->n;
	t->total += sum_logprobs(s, &greedy);
}

cJSON *ds_score_total_json(const struct ds_score_total *t)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "sequences", (double)t->sequences);
	add_perplexity(o, t->count, t->total);
	return o;
}

/* ---- KL divergence ---- */

struct values {
	double *v;
	size_t n, cap;
};

struct ds_kl {
	struct ds_scorer *base, *run;
	struct row_sum *sb, *sx;	/* the rows of the frame pair in hand */
	size_t scap;
	struct values kld, dp;
	size_t agree;
	size_t ntok;
	double lp_base, lp_run;
};

static void push(struct values *a, double x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 256;
		a->v = ds_xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = x;
}

struct ds_kl *ds_kl_new(void)
{
	struct ds_kl *kl = ds_xcalloc(1, sizeof(*kl));

	kl->base = ds_scorer_new();
	kl->run = ds_scorer_new();
	return kl;
}

void ds_kl_free(struct ds_kl *kl)
{
	if (!kl)
		return;
	ds_scorer_free(kl->base);
	ds_scorer_free(kl->run);
	free(kl->sb);
	free(kl->sx);
	free(kl->kld.v);
	free(kl->dp.v);
	free(kl);
}

int ds_kl_tokens(struct ds_kl *kl, const struct ds_frame *f, struct ds_error *err)
{
	int rc = ds_scorer_tokens(kl->base, f, err);

	return rc ? rc : ds_scorer_tokens(kl->run, f, err);
}

int ds_kl_logits(struct ds_kl *kl, const struct ds_frame *base, const struct ds_frame *f,
		 struct ds_error *err)
{
	uint64_t rows = ds_frame_rows(f), V = ds_frame_cols(f);
	int rc;

	if (base->seq != f->seq || base->pos != f->pos || base->ndim != f->ndim ||
	    memcmp(base->shape, f->shape, sizeof(f->shape)) || base->dtype != DS_F32 || f->dtype != DS_F32)
		return ds_error_set(err, EX_DATAERR, "base frame (seq %llu pos %llu [%u, %u] %s) does not line up "
				    "with the run's (seq %llu pos %llu [%u, %u] %s)",
				    (unsigned long long)base->seq, (unsigned long long)base->pos,
				    base->shape[0], base->shape[1], ds_dtype_short(base->dtype),
				    (unsigned long long)f->seq, (unsigned long long)f->pos,
				    f->shape[0], f->shape[1], ds_dtype_short(f->dtype));
	if ((rc = check_frame(f, err)))	/* before sizing by its rows */
		return rc;
	if (rows > kl->scap) {
		kl->sb = ds_xrealloc(kl->sb, rows * sizeof(*kl->sb));
		kl->sx = ds_xrealloc(kl->sx, rows * sizeof(*kl->sx));
		kl->scap = rows;
	}
	/* the scorers validate shape and values, and summarise each row */
	if ((rc = scorer_logits(kl->base, base, kl->sb, err)) || (rc = scorer_logits(kl->run, f, kl->sx, err)))
		return rc;
	for (uint64_t r = 0; r < rows; r++) {
		const float *b = (const float *)base->data + r * V, *x = (const float *)f->data + r * V;

		push(&kl->kld, kl_from(b, x, V, kl->sb[r].lse, kl->sx[r].lse));
		kl->agree += kl->sb[r].best == kl->sx[r].best;
	}
	return 0;
}

static void finish_pair(struct ds_kl *kl, struct ds_score_seq *b, struct ds_score_seq *x)
{
	if (b->n != x->n)
		ds_bug("base and run scorers disagree (%zu vs %zu tokens)", b->n, x->n);
	for (size_t i = 0; i < b->n; i++) {
		push(&kl->dp, exp(x->tok[i].logprob) - exp(b->tok[i].logprob));
		kl->lp_base += b->tok[i].logprob;
		kl->lp_run += x->tok[i].logprob;
	}
	kl->ntok += b->n;
	ds_score_seq_release(b);
	ds_score_seq_release(x);
}

void ds_kl_finish(struct ds_kl *kl, uint64_t seq)
{
	struct ds_score_seq b, x;

	ds_scorer_finish(kl->base, seq, &b);
	ds_scorer_finish(kl->run, seq, &x);
	finish_pair(kl, &b, &x);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Linear interpolation between order statistics of sorted v (numpy's default). */
static double percentile(const double *v, size_t n, double q)
{
	double h = q / 100 * (double)(n - 1);
	size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;

	return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

static cJSON *stats_json(struct values *a, int rms)
{
	static const struct { const char *name; double q; } qs[] = {
		{ "min", 0 }, { "p1", 1 }, { "p5", 5 }, { "p10", 10 }, { "median", 50 },
		{ "p90", 90 }, { "p95", 95 }, { "p99", 99 }, { "p99_9", 99.9 }, { "max", 100 },
	};
	double sum = 0, sq = 0, mean, var = 0;
	cJSON *o;

	if (!a->n)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	for (size_t i = 0; i < a->n; i++) {
		sum += a->v[i];
		sq += a->v[i] * a->v[i];
	}
	mean = sum / (double)a->n;
	for (size_t i = 0; i < a->n; i++)
		var += (a->v[i] - mean) * (a->v[i] - mean);
	cJSON_AddNumberToObject(o, "mean", mean);
	cJSON_AddNumberToObject(o, "stderr", a->n > 1 ? sqrt(var / (double)(a->n - 1) / (double)a->n) : NAN);
	if (rms)
		cJSON_AddNumberToObject(o, "rms", sqrt(sq / (double)a->n));
	qsort(a->v, a->n, sizeof(*a->v), cmp_double);	/* a->n > 0 here */
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
		cJSON_AddNumberToObject(o, qs[i].name, percentile(a->v, a->n, qs[i].q));
	return o;
}

cJSON *ds_kl_json(struct ds_kl *kl)
{
	struct ds_score_seq b, x;
	cJSON *o = cJSON_CreateObject();
	double n;

	while (ds_scorer_finish_next(kl->base, &b)) {
		if (!ds_scorer_finish(kl->run, b.seq, &x))
			ds_bug("run scorer lost sequence %llu", (unsigned long long)b.seq);
		finish_pair(kl, &b, &x);
	}
	n = (double)kl->ntok;
	cJSON_AddNumberToObject(o, "positions", (double)kl->kld.n);
	cJSON_AddNumberToObject(o, "top1_agreement_pct",
				kl->kld.n ? 100.0 * (double)kl->agree / (double)kl->kld.n : NAN);
	cJSON_AddItemToObject(o, "kld", stats_json(&kl->kld, 0));
	cJSON_AddNumberToObject(o, "tokens", n);
	cJSON_AddNumberToObject(o, "ppl_base", kl->ntok ? exp(-kl->lp_base / n) : NAN);
	cJSON_AddNumberToObject(o, "ppl", kl->ntok ? exp(-kl->lp_run / n) : NAN);
	cJSON_AddNumberToObject(o, "ln_ppl_ratio", kl->ntok ? (kl->lp_base - kl->lp_run) / n : NAN);
	cJSON_AddItemToObject(o, "delta_p", stats_json(&kl->dp, 1));
	return o;
}
