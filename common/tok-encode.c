/*
 * tok-encode.c - text -> ids: added tokens first, then the pre-tokenizer
 * steps, then BPE on each pre-token; and the chunked stream encoder.
 *
 * The pipeline is a recursion over the steps, so no list of pieces is ever
 * built: each Split step matches its regex on one piece (as its own PCRE2
 * subject, so look-arounds see the piece's ends exactly as the reference's
 * per-piece matching does) and hands every resulting piece to the next step;
 * the last step (ByteLevel) hands it to BPE.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "tok-impl.h"
#include "utf8.h"

/* ---- added-token trie ---- */

static int32_t trie_node(struct tok_trie *tr)
{
	if (tr->len == tr->cap) {
		tr->cap = tr->cap ? tr->cap * 2 : 256;
		tr->n = ds_xrealloc(tr->n, tr->cap * sizeof(*tr->n));
	}
	tr->n[tr->len].child = tr->n[tr->len].sibling = tr->n[tr->len].id = -1;
	tr->n[tr->len].byte = 0;
	return (int32_t)tr->len++;
}

/* The child of node `at` for byte b, -1 for none. */
static int32_t trie_child(const struct tok_trie *tr, int32_t at, uint8_t b)
{
	int32_t c = tr->n[at].child;

	while (c >= 0 && tr->n[c].byte != b)
		c = tr->n[c].sibling;
	return c;
}

void tok_trie_add(struct tok_trie *tr, const uint8_t *s, size_t n, int32_t id)
{
	int32_t at;

	if (!tr->len)
		trie_node(tr);
	at = 0;
	tr->first[s[0] >> 3] |= (uint8_t)(1u << (s[0] & 7));
	for (size_t i = 0; i < n; i++) {
		int32_t c = trie_child(tr, at, s[i]);

		if (c < 0) {
			c = trie_node(tr);
			tr->n[c].byte = s[i];
			tr->n[c].sibling = tr->n[at].child;
			tr->n[at].child = c;
		}
		at = c;
	}
	if (tr->n[at].id < 0)	/* the first of two equal contents wins */
		tr->n[at].id = id;
}

void tok_trie_free(struct tok_trie *tr)
{
	free(tr->n);
	memset(tr, 0, sizeof(*tr));
}

/* Length of the longest token starting at s, 0 for none; *id gets it. */
static size_t trie_longest(const struct tok_trie *tr, const uint8_t *s, size_t n, int32_t *id)
{
	size_t best = 0;
	int32_t at = 0;

	for (size_t i = 0; i < n; i++) {
		int32_t c = trie_child(tr, at, s[i]);

		if (c < 0)
			break;
		at = c;
		if (tr->n[at].id >= 0) {
			best = i + 1;
			*id = tr->n[at].id;
		}
	}
	return best;
}

/* ---- the pipeline ---- */

struct run {
	struct ds_tokenizer *t;
	struct ds_ids *ids;
	const uint8_t *base;
	size_t limit;		/* stop before a piece that ends after this */
	size_t done;		/* end of the last piece encoded */
	int stopped;
	int rc;
	struct ds_error *err;
	const size_t (*lit)[2];	/* ranges where added tokens are not matched */
	size_t nlit;
};

/* How many bytes an added token starting at offset p may span: 0 inside
 * a literal range, else up to the next one (n at most). */
static size_t added_room(const struct run *r, size_t p, size_t n)
{
	size_t lo = 0, hi = r->nlit;

	while (lo < hi) {	/* the first range ending after p */
		size_t mid = (lo + hi) / 2;
		if (r->lit[mid][1] <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->nlit)
		return n;
	if (r->lit[lo][0] <= p)
		return 0;
	return r->lit[lo][0] - p < n ? r->lit[lo][0] - p : n;
}

static int reached(struct run *r, const uint8_t *s, size_t n)
{
	size_t end = (size_t)(s - r->base) + n;

	if (end > r->limit) {
		r->stopped = 1;
		return 1;
	}
	r->done = end;
	return 0;
}

static void pretok(struct run *r, int k, const uint8_t *s, size_t n)
{
	const struct tok_step *st = &r->t->step[k];
	size_t pos = 0, prev = 0;

	if (r->stopped || !n)
		return;
	if (st->kind == STEP_BYTELEVEL) {
		if (!reached(r, s, n))
			tok_bpe_word(r->t, s, n, r->ids);
		return;
	}
	while (pos < n) {
		PCRE2_SIZE *ov;
		int rc = st->jit ? pcre2_jit_match(st->re, s, n, pos, 0, st->md, NULL)
				 : pcre2_match(st->re, s, n, pos, PCRE2_NO_UTF_CHECK, st->md, NULL);

		if (rc == PCRE2_ERROR_NOMATCH)
			break;
		if (rc < 0) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(rc, msg, sizeof(msg));
			r->rc = ds_error_set(r->err, EX_SOFTWARE, "regex match failed: %s", (const char *)msg);
			r->stopped = 1;
			return;
		}
		ov = pcre2_get_ovector_pointer(st->md);
		if (ov[0] > prev)
			pretok(r, k + 1, s + prev, ov[0] - prev);
		if (st->behavior == SPLIT_ISOLATED)
			pretok(r, k + 1, s + ov[0], ov[1] - ov[0]);
		if (r->stopped)
			return;
		prev = pos = ov[1];	/* patterns never match empty (checked at load) */
	}
	if (prev < n)
		pretok(r, k + 1, s + prev, n - prev);
}

/* Split on added tokens: phase 0 the non-normalized ones, phase 1 the
 * normalized ones in what is left, then the pre-tokenizer. */
static void split_added(struct run *r, int phase, const uint8_t *s, size_t n)
{
	const struct tok_trie *tr;
	size_t i = 0, prev = 0;

	if (r->stopped || !n)
		return;
	if (phase == 2) {
		pretok(r, 0, s, n);
		return;
	}
	tr = &r->t->trie[phase];
	if (!tr->len) {
		split_added(r, phase + 1, s, n);
		return;
	}
	while (i < n) {
		int32_t id = -1;
		size_t len, room;

		if (!(tr->first[s[i] >> 3] & (1u << (s[i] & 7)))) {
			i++;
			continue;
		}
		room = r->nlit ? added_room(r, (size_t)(s + i - r->base), n - i) : n - i;
		len = room ? trie_longest(tr, s + i, room, &id) : 0;
		if (!len) {
			i++;
			continue;
		}
		if (i > prev)
			split_added(r, phase + 1, s + prev, i - prev);
		if (r->stopped || reached(r, s + i, len))
			return;
		ds_ids_push(r->ids, id);
		i += len;
		prev = i;
	}
	if (prev < n)
		split_added(r, phase + 1, s + prev, n - prev);
}

int ds_tokenizer_encode_prefix(struct ds_tokenizer *tok, const char *text, size_t len,
			       size_t limit, size_t *done, struct ds_ids *ids,
			       struct ds_error *err)
{
	struct run r = { tok, ids, (const uint8_t *)text, limit, 0, 0, 0, err, NULL, 0 };

	split_added(&r, 0, (const uint8_t *)text, len);
	*done = r.done;
	return r.rc;
}

int ds_tokenizer_encode_literal(struct ds_tokenizer *tok, const char *text, size_t len,
				const size_t (*literal)[2], size_t nliteral, struct ds_ids *ids,
				struct ds_error *err)
{
	struct run r = { tok, ids, (const uint8_t *)text, (size_t)-1, 0, 0, 0, err, literal, nliteral };

	split_added(&r, 0, (const uint8_t *)text, len);
	return r.rc;
}

int ds_tokenizer_encode(struct ds_tokenizer *tok, const char *text, size_t len,
			struct ds_ids *ids, struct ds_error *err)
{
	size_t done;

	return ds_tokenizer_encode_prefix(tok, text, len, (size_t)-1, &done, ids, err);
}

int32_t ds_tokenizer_n_ids(const struct ds_tokenizer *tok)
{
	return tok->n_ids;
}

const uint8_t *ds_tokenizer_bytes(const struct ds_tokenizer *tok, int32_t id, size_t *len)
{
	if (id < 0 || id >= tok->n_ids || !(tok->flags[id] & TOKF_DEFINED))
		return NULL;
	*len = tok->off[id + 1] - tok->off[id];
	return tok->bytes + tok->off[id];
}

int ds_tokenizer_is_special(const struct ds_tokenizer *tok, int32_t id)
{
	return id >= 0 && id < tok->n_ids && (tok->flags[id] & TOKF_SPECIAL);
}

int32_t ds_tokenizer_added_id(const struct ds_tokenizer *tok, const char *s, size_t len)
{
	for (int p = 0; p < 2; p++) {
		int32_t id = -1;
		if (tok->trie[p].len && len && trie_longest(&tok->trie[p], (const uint8_t *)s, len, &id) == len)
			return id;
	}
	return -1;
}

size_t ds_tokenizer_max_added_len(const struct ds_tokenizer *tok)
{
	return tok->max_added;
}

/* ---- the stream encoder ---- */

#define STREAM_CHUNK (1u << 20)

void ds_tok_stream_init(struct ds_tok_stream *s, struct ds_tokenizer *tok, int lossy)
{
	memset(s, 0, sizeof(*s));
	s->tok = tok;
	s->lossy = lossy;
	s->chunk = STREAM_CHUNK;
}

void ds_tok_stream_release(struct ds_tok_stream *s)
{
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
}

static void reserve(struct ds_tok_stream *s, size_t need)
{
	if (need <= s->cap)
		return;
	s->cap = need * 2 + 4096;
	s->buf = ds_xrealloc(s->buf, s->cap);
}

/* Check (or repair) buf[from..to); on success the region is valid UTF-8
 * and *to is its new end. */
static int check_region(struct ds_tok_stream *s, size_t from, size_t *to, struct ds_error *err)
{
	size_t bad = from + ds_utf8_check(s->buf + from, *to - from);
	size_t n, tail;
	uint8_t *fix;

	if (bad == *to)
		return 0;
	if (!s->lossy)
		return ds_error_set(err, EX_DATAERR, "invalid UTF-8 at byte offset %llu (use --lossy to replace it)",
				    (unsigned long long)(s->in_off + bad));
	n = *to - bad;
	tail = s->len - *to;
	fix = ds_xmalloc(3 * n + 1);
	n = ds_utf8_repair(s->buf + bad, n, fix);
	reserve(s, bad + n + tail);
	memmove(s->buf + bad + n, s->buf + *to, tail);
	memcpy(s->buf + bad, fix, n);
	free(fix);
	s->len = bad + n + tail;
	*to = bad + n;
	return 0;
}

static size_t margin(const struct ds_tok_stream *s)
{
	return 256 + 2 * s->tok->max_added;
}

/* Encode what can no longer change; keep the rest. */
static int cut(struct ds_tok_stream *s, size_t valid, struct ds_ids *ids, struct ds_error *err)
{
	size_t done = 0;
	int rc;

	if (valid < s->chunk + margin(s) || valid < s->retry_at)
		return 0;
	rc = ds_tokenizer_encode_prefix(s->tok, (const char *)s->buf, valid, valid - margin(s), &done, ids, err);
	if (rc)
		return rc;
	if (!done) {
		/* one pre-token longer than a chunk: wait for twice the text */
		s->retry_at = 2 * valid;
		return 0;
	}
	memmove(s->buf, s->buf + done, s->len - done);
	s->len -= done;
	s->in_off += done;
	s->retry_at = 0;
	return 0;
}

int ds_tok_stream_feed(struct ds_tok_stream *s, const void *data, size_t n,
		       struct ds_ids *ids, struct ds_error *err)
{
	const uint8_t *p = data;

	while (n) {
		size_t take = n < s->chunk ? n : s->chunk, start, valid;
		int rc;

		/* the bytes held back last time were validated as a prefix only */
		start = s->len - s->npend;
		reserve(s, s->len + take);
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		n -= take;
		valid = start + ds_utf8_complete_prefix(s->buf + start, s->len - start);
		if ((rc = check_region(s, start, &valid, err)))
			return rc;
		s->npend = s->len - valid;
		if ((rc = cut(s, valid, ids, err)))
			return rc;
	}
	return 0;
}

int ds_tok_stream_finish(struct ds_tok_stream *s, struct ds_ids *ids, struct ds_error *err)
{
	size_t valid = s->len;
	int rc = check_region(s, s->len - s->npend, &valid, err);

	if (rc)
		return rc;
	s->npend = 0;
	rc = ds_tokenizer_encode(s->tok, (const char *)s->buf, s->len, ids, err);
	s->in_off += s->len;
	s->len = 0;
	return rc;
}
