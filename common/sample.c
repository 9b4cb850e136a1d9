/*
 * sample.c - the sampler of sample.h: penalties, temperature, top-k, top-p,
 * min-p and the seeded draw, in the order sample.h specifies, plus the
 * per-sequence histories and the output frames.
 *
 * Ranking never sorts the whole vocabulary: top-k and the log-probability
 * report use a bounded heap (O(V log k)); top-p without top-k keeps the
 * tokens of the highest binary exponents that carry the goal's mass (two
 * light passes over V), finds among them by quickselect on probability
 * mass a set of best tokens whose mass exceeds the goal by a margin far
 * above any rounding difference, then sorts only that set and applies the
 * exact rule of sample.h to it.  The rank order is total (w descending, id ascending),
 * so the result is the same as a full sort would give.
 */
#include "sample.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "rng.h"
#include "score.h"
#include "tensor.h"

struct seq_state {
	uint64_t seq;
	struct ds_history hist;
};

struct cand {			/* a token and its weight, for top-p */
	double w;
	int32_t id;
};

struct ds_sampler {
	struct ds_sample_params p;
	struct cand *cand;
	size_t cap;			/* vocabulary size the scratch holds */
	double *z, *w;
	int32_t *rank, *count, *ids;
	uint8_t *keep;
	float *row;			/* a bf16/f16 row converted to f32 */
	int32_t *top_ids;
	double *top_lp;
	struct seq_state *seqs;
	size_t nseq, seqcap;
};

void ds_sample_params_default(struct ds_sample_params *p)
{
	memset(p, 0, sizeof(*p));
	p->top_p = 1.0;
	p->repeat_penalty = 1.0;
	p->penalty_last_n = -1;
	p->logprobs = -1;
}

int ds_sample_parse_seed(const char *arg, void *target)
{
	char *end;
	unsigned long long v;

	if (!arg || !*arg || *arg == '-' || *arg == '+')
		return -1;
	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || *end)
		return -1;
	*(uint64_t *)target = v;
	return 0;
}

/* "--name=v" with the fewest digits that read back as v */
static void double_arg(char *out, const char *name, double v)
{
	snprintf(out, 64, "--%s=%.15g", name, v);
	if (strtod(strchr(out, '=') + 1, NULL) != v)
		snprintf(out, 64, "--%s=%.17g", name, v);
}

int ds_sample_params_args(const struct ds_sample_params *p, char args[DS_SAMPLE_NARGS][64])
{
	struct ds_sample_params d;
	int n = 0;

	ds_sample_params_default(&d);
	if (p->temperature != d.temperature)
		double_arg(args[n++], "temperature", p->temperature);
	if (p->top_k != d.top_k)
		snprintf(args[n++], 64, "--top-k=%ld", p->top_k);
	if (p->top_p != d.top_p)
		double_arg(args[n++], "top-p", p->top_p);
	if (p->min_p != d.min_p)
		double_arg(args[n++], "min-p", p->min_p);
	if (p->repeat_penalty != d.repeat_penalty)
		double_arg(args[n++], "repeat-penalty", p->repeat_penalty);
	if (p->presence_penalty != d.presence_penalty)
		double_arg(args[n++], "presence-penalty", p->presence_penalty);
	if (p->frequency_penalty != d.frequency_penalty)
		double_arg(args[n++], "frequency-penalty", p->frequency_penalty);
	if (p->penalty_last_n != d.penalty_last_n)
		snprintf(args[n++], 64, "--penalty-last-n=%ld", p->penalty_last_n);
	if (p->seed != d.seed)
		snprintf(args[n++], 64, "--seed=%llu", (unsigned long long)p->seed);
	return n;
}

/* ---- histories ---- */

void ds_history_init(struct ds_history *h)
{
	memset(h, 0, sizeof(*h));
}

void ds_history_release(struct ds_history *h)
{
	free(h->tokens);
	ds_history_init(h);
}

int ds_history_put(struct ds_history *h, uint64_t pos, const int32_t *tok, size_t n,
		   struct ds_error *err)
{
	if (pos > DS_SAMPLE_MAX_POS || n > DS_SAMPLE_MAX_POS - pos)
		return ds_error_set(err, EX_DATAERR, "position %llu is out of range",
				    (unsigned long long)pos);
	if (pos < h->base || pos > h->base + h->len) {	/* before or past what we know */
		h->base = pos;
		h->len = 0;
	}
	h->len = (size_t)(pos - h->base);
	if (h->len + n > h->cap) {
		h->cap = h->len + n > 2 * h->cap ? h->len + n : 2 * h->cap;
		h->tokens = ds_xrealloc(h->tokens, h->cap * sizeof(*h->tokens));
	}
	if (n)
		memcpy(h->tokens + h->len, tok, n * sizeof(*tok));
	h->len += n;
	return 0;
}

void ds_history_truncate(struct ds_history *h, uint64_t pos)
{
	if (pos <= h->base)
		h->len = 0;
	else if (pos - h->base < h->len)
		h->len = (size_t)(pos - h->base);
}

int32_t ds_history_at(const struct ds_history *h, uint64_t pos)
{
	if (pos < h->base || pos - h->base >= h->len)
		return -1;
	return h->tokens[pos - h->base];
}

/* ---- the sampler ---- */

struct ds_sampler *ds_sampler_new(const struct ds_sample_params *p)
{
	struct ds_sampler *s = ds_xcalloc(1, sizeof(*s));

	s->p = *p;
	if (s->p.logprobs > 0) {
		s->top_ids = ds_xcalloc((size_t)s->p.logprobs, sizeof(*s->top_ids));
		s->top_lp = ds_xcalloc((size_t)s->p.logprobs, sizeof(*s->top_lp));
	}
	return s;
}

void ds_sampler_free(struct ds_sampler *s)
{
	if (!s)
		return;
	free(s->cand);
	free(s->z);
	free(s->w);
	free(s->rank);
	free(s->count);
	free(s->ids);
	free(s->keep);
	free(s->row);
	free(s->top_ids);
	free(s->top_lp);
	for (size_t i = 0; i < s->nseq; i++)
		ds_history_release(&s->seqs[i].hist);
	free(s->seqs);
	free(s);
}

static void reserve_vocab(struct ds_sampler *s, size_t V)
{
	if (V <= s->cap)
		return;
	free(s->count);
	s->cand = ds_xrealloc(s->cand, 2 * V * sizeof(*s->cand));	/* 2nd half: sort scratch */
	s->z = ds_xrealloc(s->z, V * sizeof(*s->z));
	s->w = ds_xrealloc(s->w, V * sizeof(*s->w));
	s->rank = ds_xrealloc(s->rank, V * sizeof(*s->rank));
	s->ids = ds_xrealloc(s->ids, V * sizeof(*s->ids));
	s->keep = ds_xrealloc(s->keep, V);
	s->row = ds_xrealloc(s->row, V * sizeof(*s->row));
	s->count = ds_xcalloc(V, sizeof(*s->count));	/* kept all-zero between uses */
	s->cap = V;
}

static struct seq_state *find_seq(struct ds_sampler *s, uint64_t seq, int create)
{
	for (size_t i = 0; i < s->nseq; i++)
		if (s->seqs[i].seq == seq)
			return &s->seqs[i];
	if (!create)
		return NULL;
	if (s->nseq == s->seqcap) {
		s->seqcap = s->seqcap ? 2 * s->seqcap : 8;
		s->seqs = ds_xrealloc(s->seqs, s->seqcap * sizeof(*s->seqs));
	}
	s->seqs[s->nseq].seq = seq;
	ds_history_init(&s->seqs[s->nseq].hist);
	return &s->seqs[s->nseq++];
}

void ds_sampler_forget(struct ds_sampler *s, uint64_t seq)
{
	struct seq_state *st = find_seq(s, seq, 0);

	if (!st)
		return;
	ds_history_release(&st->hist);
	*st = s->seqs[--s->nseq];
}

void ds_sampler_truncate(struct ds_sampler *s, uint64_t seq, uint64_t len)
{
	struct seq_state *st = find_seq(s, seq, 0);

	if (st)
		ds_history_truncate(&st->hist, len);
}

int ds_sampler_observe(struct ds_sampler *s, const struct ds_frame *f, struct ds_error *err)
{
	if (f->dtype != DS_I32 || f->ndim != 1)
		return ds_error_set(err, EX_DATAERR, "TOKENS frame is not i32 [T]");
	return ds_history_put(&find_seq(s, f->seq, 1)->hist, f->pos, f->data,
			      (size_t)f->shape[0], err);
}

/* ---- ranking ---- */

/* Rank order: larger key first, then smaller id. */
static int better(const double *key, int32_t a, int32_t b)
{
	return key[a] > key[b] || (key[a] == key[b] && a < b);
}

/* Restore the heap below i: every parent is worse than its children, so
 * h[0] is the worst entry kept. */
static void sift(int32_t *h, size_t n, size_t i, const double *key)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		int32_t t;

		if (l < n && better(key, h[m], h[l]))
			m = l;
		if (r < n && better(key, h[m], h[r]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* The best m ids with key > floor, best first, in out[]; returns how many. */
static size_t rank_top(const double *key, size_t V, double floor, size_t m, int32_t *out)
{
	size_t n = 0;

	if (m == 0)
		return 0;
	for (size_t i = 0; i < V; i++) {
		if (!(key[i] > floor))
			continue;
		if (n < m) {
			out[n++] = (int32_t)i;
			if (n == m)
				for (size_t j = n / 2; j-- > 0;)
					sift(out, n, j, key);
		} else if (better(key, (int32_t)i, out[0])) {
			out[0] = (int32_t)i;
			sift(out, n, 0, key);
		}
	}
	if (n < m)
		for (size_t j = n / 2; j-- > 0;)
			sift(out, n, j, key);
	for (size_t end = n; end-- > 1;) {	/* heap sort: worst to the back */
		int32_t t = out[0];
		out[0] = out[end];
		out[end] = t;
		sift(out, end, 0, key);
	}
	return n;
}

static int cmp_id(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

/* Sum of w over ids[0..n) in ascending id order (ids is reordered). */
static double mass_of(const double *w, int32_t *ids, size_t n)
{
	double sum = 0;

	if (n)
		qsort(ids, n, sizeof(*ids), cmp_id);
	for (size_t i = 0; i < n; i++)
		sum += w[ids[i]];
	return sum;
}

/* ---- steps 1 to 4 ---- */

static int load_row(double *z, const float *logits, size_t V, struct ds_error *err)
{
	int finite = 0;

	for (size_t i = 0; i < V; i++) {
		if (isnan(logits[i]) || logits[i] == INFINITY)
			return ds_error_set(err, EX_DATAERR, "logit of token %zu is %g", i, (double)logits[i]);
		finite |= logits[i] != -INFINITY;
		z[i] = logits[i];
	}
	if (!finite)
		return ds_error_set(err, EX_DATAERR, "every logit is -inf");
	return 0;
}

static void apply_penalties(struct ds_sampler *s, double *z, size_t V, const int32_t *hist, size_t n)
{
	const struct ds_sample_params *p = &s->p;

	if (p->repeat_penalty == 1.0 && p->presence_penalty == 0 && p->frequency_penalty == 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (hist[i] >= 0 && (size_t)hist[i] < V)
			s->count[hist[i]]++;
	for (size_t i = 0; i < n; i++) {
		int32_t t = hist[i];
		double c;

		if (t < 0 || (size_t)t >= V || !s->count[t])
			continue;
		c = s->count[t];
		s->count[t] = 0;	/* each distinct id once; leaves count all-zero */
		z[t] = z[t] > 0 ? z[t] / p->repeat_penalty : z[t] * p->repeat_penalty;
		z[t] -= c * p->frequency_penalty + p->presence_penalty;
	}
}

static int32_t argmax(const double *z, size_t V)
{
	size_t best = 0;

	for (size_t i = 1; i < V; i++)
		if (z[i] > z[best])
			best = i;
	return (int32_t)best;
}

static int cand_better(const struct cand *a, const struct cand *b)
{
	return a->w > b->w || (a->w == b->w && a->id < b->id);
}

/* Sort c[0, n) into rank order: insertion-sorted runs, then merges
 * through tmp (room for n entries). */
static void cand_sort(struct cand *c, struct cand *tmp, size_t n)
{
	enum { RUN = 16 };
	struct cand *a = c, *b = tmp, *t;

	for (size_t lo = 0; lo < n; lo += RUN)
		for (size_t i = lo + 1; i < n && i < lo + RUN; i++) {
			struct cand x = c[i];
			size_t j = i;

			for (; j > lo && cand_better(&x, &c[j - 1]); j--)
				c[j] = c[j - 1];
			c[j] = x;
		}
	for (size_t w = RUN; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, o = lo;

			while (i < mid && j < hi)
				b[o++] = cand_better(&a[j], &a[i]) ? a[j++] : a[i++];
			while (i < mid)
				b[o++] = a[i++];
			while (j < hi)
				b[o++] = a[j++];
		}
		t = a;
		a = b;
		b = t;
	}
	if (a != c)
		memcpy(c, a, n * sizeof(*c));
}

static void cand_swap(struct cand *c, size_t i, size_t j)
{
	struct cand t = c[i];
	c[i] = c[j];
	c[j] = t;
}

/* Partition c[lo, hi) around a median-of-three pivot: better entries
 * before it, worse after; returns the pivot's index. */
static size_t partition(struct cand *c, size_t lo, size_t hi)
{
	size_t mid = lo + (hi - lo) / 2, last = hi - 1, store = lo;

	if (cand_better(&c[mid], &c[lo]))
		cand_swap(c, mid, lo);
	if (cand_better(&c[last], &c[lo]))
		cand_swap(c, last, lo);
	if (cand_better(&c[last], &c[mid]))
		cand_swap(c, last, mid);
	cand_swap(c, mid, last);	/* the median is the pivot */
	for (size_t i = lo; i < last; i++)
		if (cand_better(&c[i], &c[last]))
			cand_swap(c, i, store++);
	cand_swap(c, store, last);
	return store;
}

/* Reorder c[0, n) so that c[0, k) are the k best entries (in no order)
 * for the smallest k whose mass (summed in any order) reaches need;
 * returns k (n when none does). */
static size_t prefix_reaching(struct cand *c, size_t n, double need)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {	/* c[0, lo) are in; the answer lies in (lo, hi] */
		size_t p = partition(c, lo, hi);
		double m = 0;

		for (size_t i = lo; i < p; i++)
			m += c[i].w;
		if (m >= need) {
			hi = p;
			continue;
		}
		m += c[p].w;
		if (m >= need)
			return p + 1;
		need -= m;
		lo = p + 1;
	}
	return lo;
}

/* The binary exponent field of w >= 0, 0..EXPONENTS-1 (monotonic in w). */
#define EXPONENTS 2048

static unsigned exponent_of(double w)
{
	uint64_t bits;

	memcpy(&bits, &w, sizeof(bits));
	return (unsigned)(bits >> 52);
}

/* top-p: cut the candidates (the top-k list in s->rank when listed, else
 * every token with w > 0) to the shortest rank prefix reaching
 * top_p * S, per sample.h.  Returns the prefix length; s->rank holds it. */
static size_t top_p_cut(struct ds_sampler *s, size_t V, size_t n, int listed)
{
	const double *w = s->w;
	struct cand *c = s->cand;
	double S = 0, goal, cum = 0, mass[EXPONENTS], m = 0;
	unsigned b = EXPONENTS;
	size_t k;

	if (listed) {
		memcpy(s->ids, s->rank, n * sizeof(*s->ids));
		S = mass_of(w, s->ids, n);
		goal = s->p.top_p * S;
		for (size_t j = 0; j < n; j++)
			if ((cum += w[s->rank[j]]) >= goal)
				return j + 1;
		return n;	/* rounding kept the goal out of reach: keep all */
	}
	n = 0;
	memset(mass, 0, sizeof(mass));
	for (size_t i = 0; i < V; i++) {
		S += w[i];
		if (w[i] > 0)
			mass[exponent_of(w[i])] += w[i];
	}
	goal = s->p.top_p * S;
	/* The candidates: the tokens of the highest binary exponents, down to
	 * the one where their mass passes the goal with room to spare (every
	 * token with w > 0 when it never does).  A token better than a
	 * candidate is one, so the answer, a rank prefix, lies among them. */
	while (b > 0 && m < goal + 2e-9 * S)
		m += mass[--b];
	for (size_t i = 0; i < V; i++)
		if (w[i] > 0 && exponent_of(w[i]) >= b)
			c[n++] = (struct cand){ w[i], (int32_t)i };
	/* a superset: summation order changes a mass by < V * 2^-52 * S */
	k = prefix_reaching(c, n, goal + 1e-9 * S);
	cand_sort(c, c + V, k);
	for (size_t j = 0; j < k; j++)
		s->rank[j] = c[j].id;
	for (size_t j = 0; j < k; j++)
		if ((cum += c[j].w) >= goal)
			return j + 1;
	return k;	/* k == n here: keep all */
}

/* Step 4 on s->w: zero every token that is not kept. */
static void filter(struct ds_sampler *s, size_t V)
{
	const struct ds_sample_params *p = &s->p;
	double *w = s->w;
	size_t n = 0;
	int listed = 0;

	if (p->top_k > 0) {
		n = rank_top(w, V, 0, (size_t)p->top_k, s->rank);
		listed = 1;
	}
	if (p->top_p < 1) {
		n = top_p_cut(s, V, n, listed);
		listed = 1;
	}
	if (listed) {
		if (p->min_p > 0)	/* the list is in rank order: cut its tail */
			while (n > 1 && w[s->rank[n - 1]] < p->min_p)
				n--;
		memset(s->keep, 0, V);
		for (size_t j = 0; j < n; j++)
			s->keep[s->rank[j]] = 1;
		for (size_t i = 0; i < V; i++)
			if (!s->keep[i])
				w[i] = 0;
	} else if (p->min_p > 0) {
		for (size_t i = 0; i < V; i++)
			if (w[i] < p->min_p)
				w[i] = 0;
	}
}

/* Steps 1-4: s->w holds the kept weights, or *greedy the token. */
static int weigh(struct ds_sampler *s, const float *logits, size_t V, const int32_t *hist,
		 size_t nhist, int32_t *greedy, struct ds_error *err)
{
	int32_t best;
	double zmax;
	int rc;

	reserve_vocab(s, V);
	if ((rc = load_row(s->z, logits, V, err)))
		return rc;
	apply_penalties(s, s->z, V, hist, nhist);
	best = argmax(s->z, V);
	*greedy = s->p.temperature == 0 ? best : -1;
	if (*greedy >= 0)
		return 0;
	zmax = s->z[best];
	for (size_t i = 0; i < V; i++)
		s->w[i] = exp((s->z[i] - zmax) / s->p.temperature);
	filter(s, V);
	return 0;
}

int ds_sample_distribution(struct ds_sampler *s, const float *logits, size_t V,
			   const int32_t *hist, size_t nhist, double *probs, struct ds_error *err)
{
	int32_t greedy;
	double W = 0;
	int rc;

	if ((rc = weigh(s, logits, V, hist, nhist, &greedy, err)))
		return rc;
	if (greedy >= 0) {
		for (size_t i = 0; i < V; i++)
			probs[i] = (size_t)greedy == i;
		return 0;
	}
	for (size_t i = 0; i < V; i++)
		W += s->w[i];
	for (size_t i = 0; i < V; i++)
		probs[i] = s->w[i] / W;
	return 0;
}

/* Step 5 over s->w. */
static int32_t draw(const double *w, size_t V, double u)
{
	double W = 0, target, acc = 0;
	size_t last = 0;

	for (size_t i = 0; i < V; i++)
		W += w[i];
	target = u * W;
	for (size_t i = 0; i < V; i++) {
		if (w[i] == 0)
			continue;
		acc += w[i];
		last = i;
		if (acc > target)
			return (int32_t)i;
	}
	return (int32_t)last;
}

int32_t ds_sample_row(struct ds_sampler *s, const float *logits, size_t V,
		      const int32_t *hist, size_t nhist, double u, struct ds_error *err)
{
	int32_t greedy;

	if (weigh(s, logits, V, hist, nhist, &greedy, err))
		return -1;
	return greedy >= 0 ? greedy : draw(s->w, V, u);
}

/* ---- frames ---- */

/* log_softmax(row) for token, and the top N into the sampler's arrays:
 * the log-probabilities ds-score reports (score.h). */
static double raw_logprobs(struct ds_sampler *s, const float *row, size_t V, int32_t token, long *ntop)
{
	double lse = ds_logsumexp(row, V);

	*ntop = 0;
	if (s->p.logprobs > 0) {
		for (size_t i = 0; i < V; i++)
			s->z[i] = row[i];
		*ntop = (long)rank_top(s->z, V, -INFINITY, (size_t)s->p.logprobs, s->top_ids);
		for (long j = 0; j < *ntop; j++)
			s->top_lp[j] = row[s->top_ids[j]] - lse;
	}
	return row[token] - lse;
}

int ds_sampler_next(struct ds_sampler *s, const struct ds_frame *f,
		    struct ds_sample_result *res, struct ds_error *err)
{
	uint64_t rows = ds_frame_rows(f), V = ds_frame_cols(f), q;
	const struct ds_history *h;
	struct seq_state *st;
	const int32_t *hist = NULL;
	const float *row;
	size_t nhist = 0;
	double u = 0;
	int32_t tok;

	if (f->ndim != 2 || rows == 0 || V == 0 || V > INT32_MAX || !ds_dtype_is_float(f->dtype))
		return ds_error_set(err, EX_DATAERR, "LOGITS frame is not a float [T, V] with T, V > 0");
	if (f->pos > DS_SAMPLE_MAX_POS - rows)
		return ds_error_set(err, EX_DATAERR, "position %llu is out of range",
				    (unsigned long long)f->pos);
	q = f->pos + rows;
	if (s->p.temperature > 0 && q >= DS_RNG_INDEX_LIMIT)
		return ds_error_set(err, EX_DATAERR, "position %llu is beyond the random stream",
				    (unsigned long long)q);
	reserve_vocab(s, (size_t)V);
	row = (const float *)f->data + (rows - 1) * V;
	if (f->dtype != DS_F32) {
		ds_to_f32(s->row, (const uint8_t *)f->data + (rows - 1) * V * ds_dtype_size(f->dtype),
			  f->dtype, (size_t)V);
		row = s->row;
	}
	st = find_seq(s, f->seq, 1);
	h = &st->hist;
	if (q > h->base && s->p.penalty_last_n != 0) {
		nhist = q - h->base < h->len ? (size_t)(q - h->base) : h->len;
		hist = h->tokens;
		if (s->p.penalty_last_n > 0 && nhist > (size_t)s->p.penalty_last_n) {
			hist += nhist - (size_t)s->p.penalty_last_n;
			nhist = (size_t)s->p.penalty_last_n;
		}
	}
	if (s->p.temperature > 0)
		u = ds_rng_uniform(s->p.seed, f->seq, q);
	tok = ds_sample_row(s, row, (size_t)V, hist, nhist, u, err);
	if (tok < 0) {
		if (!st->hist.len)
			ds_sampler_forget(s, f->seq);
		return err ? err->code : EX_DATAERR;
	}
	res->seq = f->seq;
	res->pos = q;
	res->token = tok;
	res->ntop = 0;
	res->logprob = s->p.logprobs >= 0 ? raw_logprobs(s, row, (size_t)V, tok, &res->ntop) : 0;
	res->top_ids = s->top_ids;
	res->top_logprobs = s->top_lp;
	return ds_history_put(&st->hist, q, &tok, 1, err);
}

int ds_sample_tokens_frame(struct ds_frame *f, const struct ds_sample_result *res)
{
	uint32_t one = 1;

	if (ds_frame_setup(f, DS_KIND_TOKENS, DS_I32, 1, &one))
		return -1;
	memcpy(f->data, &res->token, sizeof(res->token));
	f->seq = res->seq;
	f->pos = res->pos;
	f->aux = 0;
	f->flags = 0;
	return 0;
}

static void put_idval(uint8_t *p, int32_t id, double v)
{
	float fv = (float)v;

	memcpy(p, &id, 4);
	memcpy(p + 4, &fv, 4);
}

int ds_sample_logprobs_frame(struct ds_frame *f, const struct ds_sample_result *res)
{
	uint32_t dims[2] = { 1, (uint32_t)(1 + res->ntop) };
	uint8_t *p;

	if (ds_frame_setup(f, DS_KIND_LOGPROBS, DS_IDVAL, 2, dims))
		return -1;
	p = f->data;
	put_idval(p, res->token, res->logprob);
	for (long j = 0; j < res->ntop; j++)
		put_idval(p + 8 * (j + 1), res->top_ids[j], res->top_logprobs[j]);
	f->seq = res->seq;
	f->pos = res->pos;
	f->aux = 0;
	f->flags = 0;
	return 0;
}

char *ds_sample_logprobs_json(const struct ds_sample_result *res)
{
	cJSON *o = cJSON_CreateObject(), *top = cJSON_CreateArray();
	char *text;

	cJSON_AddNumberToObject(o, "seq", (double)res->seq);
	cJSON_AddNumberToObject(o, "pos", (double)res->pos);
	cJSON_AddNumberToObject(o, "token", res->token);
	cJSON_AddNumberToObject(o, "logprob", res->logprob);
	for (long j = 0; j < res->ntop; j++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddNumberToObject(e, "id", res->top_ids[j]);
		cJSON_AddNumberToObject(e, "logprob", res->top_logprobs[j]);
		cJSON_AddItemToArray(top, e);
	}
	cJSON_AddItemToObject(o, "top", top);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!text)
		ds_die(EX_OSERR, "out of memory");
	return text;
}
