/*
 * tok-bpe.c - the byte-level BPE model: vocabulary and merge tables, the
 * merge loop for one pre-token, and a cache of pre-token -> ids.
 *
 * Merge order is the reference's: repeatedly apply the adjacent pair with
 * the lowest merge rank, the leftmost one among equals.  Short pre-tokens
 * keep the rank of every adjacent pair in an array and scan it (cheap below
 * ~100 symbols); long ones use a min-heap of (rank, position) whose stale
 * entries are skipped, O(n log n).  Both pick the same pair every step.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "prng.h"
#include "tok-impl.h"

#define NO_RANK UINT32_MAX
#define HEAP_FROM 96		/* symbols at which the heap beats the scan */
#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_KEY 256	/* longer pre-tokens are not cached */

/* Table hashes end in prng.h's 64-bit finaliser (a bijection that spreads
 * every input bit); only the tables' layout depends on it, never an id. */
uint64_t tok_hash(const uint8_t *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	while (n >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
		s += 8;
		n -= 8;
	}
	if (n) {
		uint64_t w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	}
	return ds_prng_mix(h);
}

/* ---- vocabulary: token bytes -> id ---- */

int32_t tok_vocab_find(const struct ds_tokenizer *t, const uint8_t *s, size_t n)
{
	uint64_t h = tok_hash(s, n);
	uint32_t fp = (uint32_t)(h >> 32);
	size_t i = (size_t)h & t->vmask;

	/* each slot holds (id + 1, 32 bits of the hash): most probes are
	 * settled without touching the token bytes */
	for (;; i = (i + 1) & t->vmask) {
		uint64_t v = t->vtab[i];
		int32_t id;

		if (!v)
			return -1;
		if ((uint32_t)(v >> 32) != fp)
			continue;
		id = (int32_t)(uint32_t)v - 1;
		if (t->off[id + 1] - t->off[id] == n && !memcmp(t->bytes + t->off[id], s, n))
			return id;
	}
}

int tok_vocab_build(struct ds_tokenizer *t, int32_t dup[2])
{
	size_t size = 1024;

	while (size < 2 * (size_t)t->n_ids)
		size <<= 1;
	t->vtab = ds_xcalloc(size, sizeof(*t->vtab));
	t->vmask = size - 1;
	for (int32_t id = 0; id < t->n_ids; id++) {
		const uint8_t *s = t->bytes + t->off[id];
		size_t n = t->off[id + 1] - t->off[id], i;
		uint64_t h;

		if ((t->flags[id] & (TOKF_DEFINED | TOKF_ADDED | TOKF_RAW)) != TOKF_DEFINED)
			continue;
		h = tok_hash(s, n);
		for (i = (size_t)h & t->vmask; t->vtab[i]; i = (i + 1) & t->vmask) {
			int32_t o = (int32_t)(uint32_t)t->vtab[i] - 1;
			if ((uint32_t)(t->vtab[i] >> 32) == (uint32_t)(h >> 32) &&
			    t->off[o + 1] - t->off[o] == n && !memcmp(t->bytes + t->off[o], s, n)) {
				dup[0] = o;	/* two ids with the same bytes */
				dup[1] = id;
				return -1;
			}
		}
		t->vtab[i] = (h >> 32) << 32 | ((uint32_t)id + 1);
	}
	return 0;
}

/* ---- merges: (left, right) -> (rank, merged id) ---- */

static inline uint64_t merge_key(int32_t a, int32_t b)
{
	return 1ull << 63 | (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

void tok_merge_alloc(struct ds_tokenizer *t, size_t n)
{
	size_t size = 1024;

	while (size < 2 * n)
		size <<= 1;
	free(t->mtab);
	t->mtab = ds_xcalloc(size, sizeof(*t->mtab));
	t->mmask = size - 1;
}

int tok_merge_add(struct ds_tokenizer *t, int32_t a, int32_t b, int32_t id, uint32_t rank)
{
	uint64_t k = merge_key(a, b);
	size_t i = (size_t)ds_prng_mix(k) & t->mmask;

	for (;; i = (i + 1) & t->mmask) {
		if (t->mtab[i].key == k)
			return 0;	/* a repeated pair keeps its first (lowest) rank */
		if (!t->mtab[i].key)
			break;
	}
	t->mtab[i].key = k;
	t->mtab[i].rank = rank;
	t->mtab[i].id = id;
	return 0;
}

static inline const struct tok_merge *merge_find(const struct ds_tokenizer *t, int32_t a, int32_t b)
{
	uint64_t k = merge_key(a, b);
	size_t i = (size_t)ds_prng_mix(k) & t->mmask;

	for (;; i = (i + 1) & t->mmask) {
		if (t->mtab[i].key == k)
			return &t->mtab[i];
		if (!t->mtab[i].key)
			return NULL;
	}
}

/* ---- the merge loop ---- */

struct sym {
	int32_t id;
	int32_t prev, next;	/* -1 at the ends */
	uint32_t rank;		/* rank of (this, next), NO_RANK when none */
	int32_t merged;		/* the id (this, next) merges into */
};

static void *scratch(struct ds_tokenizer *t, size_t n)
{
	if (n > t->scratch_cap) {
		free(t->scratch);
		t->scratch_cap = n * 2;
		t->scratch = ds_xmalloc(t->scratch_cap);
	}
	return t->scratch;
}

static inline void set_rank(const struct ds_tokenizer *t, struct sym *y, int32_t i)
{
	const struct tok_merge *m;

	if (y[i].next < 0 || !(m = merge_find(t, y[i].id, y[y[i].next].id))) {
		y[i].rank = NO_RANK;
		return;
	}
	y[i].rank = m->rank;
	y[i].merged = m->id;
}

/* merge symbol i with its right neighbour */
static inline void merge_at(struct sym *y, int32_t i)
{
	int32_t j = y[i].next;

	y[i].id = y[i].merged;
	y[i].next = y[j].next;
	if (y[j].next >= 0)
		y[y[j].next].prev = i;
	y[j].id = -1;
}

static void merge_scan(const struct ds_tokenizer *t, struct sym *y)
{
	for (;;) {
		uint32_t best = NO_RANK;
		int32_t at = -1;

		for (int32_t i = 0; i >= 0; i = y[i].next)
			if (y[i].rank < best) {
				best = y[i].rank;
				at = i;
			}
		if (at < 0)
			return;
		merge_at(y, at);
		set_rank(t, y, at);
		if (y[at].prev >= 0)
			set_rank(t, y, y[at].prev);
	}
}

static void heap_push(uint64_t *h, size_t *n, uint64_t v)
{
	size_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2] > v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
	uint64_t top = h[0], v = h[--*n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= v)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = v;
	return top;
}

static void merge_heap(const struct ds_tokenizer *t, struct sym *y, size_t n, uint64_t *h)
{
	size_t hn = 0;

	for (size_t i = 0; i < n; i++)
		if (y[i].rank != NO_RANK)
			heap_push(h, &hn, (uint64_t)y[i].rank << 32 | i);
	while (hn) {
		uint64_t top = heap_pop(h, &hn);
		int32_t i = (int32_t)(uint32_t)top;
		uint32_t rank = (uint32_t)(top >> 32);

		/* stale: symbol gone, or its pair changed (ranks are unique per pair) */
		if (y[i].id < 0 || y[i].rank != rank)
			continue;
		merge_at(y, i);
		set_rank(t, y, i);
		if (y[i].rank != NO_RANK)
			heap_push(h, &hn, (uint64_t)y[i].rank << 32 | (uint32_t)i);
		if (y[i].prev >= 0) {
			int32_t p = y[i].prev;
			set_rank(t, y, p);
			if (y[p].rank != NO_RANK)
				heap_push(h, &hn, (uint64_t)y[p].rank << 32 | (uint32_t)p);
		}
	}
}

/* ---- cache ---- */

static void cache_clear(struct ds_tokenizer *t)
{
	if (!t->cache) {
		t->cache = ds_xmalloc(CACHE_SLOTS * sizeof(*t->cache));
		t->cmask = CACHE_SLOTS - 1;
	}
	memset(t->cache, 0, CACHE_SLOTS * sizeof(*t->cache));
	t->cused = 0;
	t->ckeys_len = 0;
	t->cids_len = 0;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	*cap = need * 2 + 4096;
	return ds_xrealloc(p, *cap * elem);
}

static void cache_put(struct ds_tokenizer *t, size_t slot, uint64_t h, const uint8_t *s, size_t n,
		      const int32_t *ids, size_t k)
{
	struct tok_cache_slot *c = &t->cache[slot];

	t->ckeys = grow(t->ckeys, &t->ckeys_cap, t->ckeys_len + n, 1);
	t->cids = grow(t->cids, &t->cids_cap, t->cids_len + k, sizeof(int32_t));
	c->hash = h | 1;	/* never 0: 0 marks an empty slot */
	c->key_off = (uint32_t)t->ckeys_len;
	c->key_len = (uint32_t)n;
	c->ids_off = (uint32_t)t->cids_len;
	c->n_ids = (uint32_t)k;
	memcpy(t->ckeys + t->ckeys_len, s, n);
	memcpy(t->cids + t->cids_len, ids, k * sizeof(int32_t));
	t->ckeys_len += n;
	t->cids_len += k;
	t->cused++;
}

void tok_bpe_word(struct ds_tokenizer *t, const uint8_t *s, size_t n, struct ds_ids *ids)
{
	struct sym *y;
	size_t slot = 0, first = ids->n;
	uint64_t h = 0;
	int cacheable = n <= CACHE_MAX_KEY;

	if (n == 1) {
		ds_ids_push(ids, t->byte_id[s[0]]);
		return;
	}
	if (t->ignore_merges) {
		int32_t id = tok_vocab_find(t, s, n);
		if (id >= 0) {
			ds_ids_push(ids, id);
			return;
		}
	}
	if (cacheable) {
		if (!t->cache || t->cused > CACHE_SLOTS / 2)
			cache_clear(t);
		h = tok_hash(s, n) | 1;
		for (slot = (size_t)h & t->cmask;; slot = (slot + 1) & t->cmask) {
			const struct tok_cache_slot *c = &t->cache[slot];
			if (!c->hash)
				break;
			if (c->hash == h && c->key_len == n && !memcmp(t->ckeys + c->key_off, s, n)) {
				for (uint32_t k = 0; k < c->n_ids; k++)
					ds_ids_push(ids, t->cids[c->ids_off + k]);
				return;
			}
		}
	}
	/* symbols, then (8-aligned) room for a heap of up to 3n entries:
	 * n at the start and at most two pushes per merge */
	size_t ysz = (n * sizeof(*y) + 7) & ~(size_t)7;
	y = scratch(t, ysz + 3 * n * sizeof(uint64_t));
	for (size_t i = 0; i < n; i++) {
		y[i].id = t->byte_id[s[i]];
		y[i].prev = (int32_t)i - 1;
		y[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
	}
	for (size_t i = 0; i < n; i++)
		set_rank(t, y, (int32_t)i);
	if (n < HEAP_FROM)
		merge_scan(t, y);
	else
		merge_heap(t, y, n, (uint64_t *)((char *)y + ysz));
	for (int32_t i = 0; i >= 0; i = y[i].next)
		ds_ids_push(ids, y[i].id);
	if (cacheable)
		cache_put(t, slot, h, s, n, ids->v + first, ids->n - first);
}

void tok_bpe_free(struct ds_tokenizer *t)
{
	free(t->vtab);
	free(t->mtab);
	free(t->cache);
	free(t->ckeys);
	free(t->cids);
	free(t->scratch);
}

void ds_ids_push(struct ds_ids *ids, int32_t id)
{
	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 256;
		ids->v = ds_xrealloc(ids->v, ids->cap * sizeof(*ids->v));
	}
	ids->v[ids->n++] = id;
}

void ds_ids_release(struct ds_ids *ids)
{
	free(ids->v);
	ids->v = NULL;
	ids->n = ids->cap = 0;
}
