/*
 * tok-impl.h - the inside of struct ds_tokenizer, shared by the tok-*.c
 * files only (tools use tokenizer.h).
 *
 * Layout: ids 0..n_ids-1; off[id]..off[id+1] is the token's bytes in
 * `bytes` (empty and flag-less for an id nobody defines).  Merges live in an
 * open-addressing table keyed by (left id, right id).  The vocabulary table
 * maps token bytes to ids.  Pre-tokenizer steps run in order, each on the
 * pieces the previous one produced.
 */
#ifndef DS_TOK_IMPL_H
#define DS_TOK_IMPL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer.h"

/* TOKF_RAW: a vocabulary entry whose text lies outside the byte-level
 * alphabet (BPE can never produce it; its bytes are its UTF-8 text). */
enum { TOKF_DEFINED = 1, TOKF_ADDED = 2, TOKF_SPECIAL = 4, TOKF_NORMALIZED = 8, TOKF_RAW = 16 };

struct tok_merge {
	uint64_t key;		/* 1 << 63 | left << 32 | right; 0 = empty slot */
	uint32_t rank;
	int32_t id;
};

/* A byte trie of added tokens for leftmost-longest matching. */
struct tok_trie_node {
	int32_t child;		/* first child, -1 none */
	int32_t sibling;	/* next sibling, -1 none */
	int32_t id;		/* token ending here, -1 none */
	uint8_t byte;
};
struct tok_trie {
	struct tok_trie_node *n;
	size_t len, cap;
	uint8_t first[32];	/* bitmap of bytes that start a token */
};

enum tok_step_kind { STEP_SPLIT, STEP_BYTELEVEL };
enum tok_behavior { SPLIT_ISOLATED, SPLIT_REMOVED };

struct tok_step {
	enum tok_step_kind kind;
	enum tok_behavior behavior;
	int jit;		/* compiled by the JIT: use pcre2_jit_match */
	pcre2_code *re;
	pcre2_match_data *md;
};

#define TOK_MAX_STEPS 16

struct tok_cache_slot {
	uint64_t hash;
	uint32_t key_off, key_len;	/* key bytes in cache arena */
	uint32_t ids_off, n_ids;	/* ids in cache id arena */
};

struct ds_tokenizer {
	int32_t n_ids;
	uint32_t *off;
	uint8_t *bytes;
	uint8_t *flags;
	int32_t byte_id[256];

	uint64_t *vtab;		/* hash >> 32 << 32 | (id + 1) per slot, 0 = empty */
	size_t vmask;

	struct tok_merge *mtab;
	size_t mmask;
	size_t n_merges;
	int ignore_merges;

	struct tok_trie trie[2];	/* [0] non-normalized, [1] normalized */
	size_t max_added;

	struct tok_step step[TOK_MAX_STEPS];
	int nsteps;

	/* BPE scratch and the pre-token cache */
	struct tok_cache_slot *cache;
	size_t cmask, cused;
	uint8_t *ckeys;
	size_t ckeys_len, ckeys_cap;
	int32_t *cids;
	size_t cids_len, cids_cap;
	void *scratch;
	size_t scratch_cap;
};

/* tok-json.c: a cursor over JSON text (errors: EX_CONFIG naming path) */
struct jcur {
	const char *p, *end;
	const char *base;
	struct ds_error *err;
	const char *path;
};
int tok_jfail(struct jcur *c, const char *what);
void tok_jws(struct jcur *c);
int tok_jexpect(struct jcur *c, char ch);
int tok_jnext(struct jcur *c, char close);
int tok_jstr(struct jcur *c, const char **s, size_t *n, int *esc);
long tok_junescape(const char *s, size_t n, uint8_t *out);
int tok_jskip(struct jcur *c, int depth);


/* tok-bpe.c */
uint64_t tok_hash(const uint8_t *s, size_t n);
int32_t tok_vocab_find(const struct ds_tokenizer *t, const uint8_t *s, size_t n);
/* -1 with dup[] the first two ids found with the same bytes */
int tok_vocab_build(struct ds_tokenizer *t, int32_t dup[2]);
int tok_merge_add(struct ds_tokenizer *t, int32_t a, int32_t b, int32_t id, uint32_t rank);
void tok_merge_alloc(struct ds_tokenizer *t, size_t n);
void tok_bpe_word(struct ds_tokenizer *t, const uint8_t *s, size_t n, struct ds_ids *ids);
void tok_bpe_free(struct ds_tokenizer *t);

/* tok-regex.c */
int tok_regex_compile(struct tok_step *st, const char *pattern, size_t len, int literal,
		      struct ds_error *err);
int tok_step_digits(struct tok_step *st, int individual, struct ds_error *err);
void tok_step_free(struct tok_step *st);

/* tok-unicode.c: code points the reference's Unicode tables put in a class
 * that PCRE2's (Unicode 14.0.0) do not; ranges as pairs, inclusive. */
struct tok_uclass {
	char name;		/* 'L', 'M', 'N', 'P', 'S' */
	const uint32_t (*ranges)[2];
	size_t n;
};
extern const struct tok_uclass tok_uclass_extra[5];
extern const char tok_unicode_pcre2_version[];

/* tok-encode.c */
void tok_trie_add(struct tok_trie *tr, const uint8_t *s, size_t n, int32_t id);
void tok_trie_free(struct tok_trie *tr);

#endif
