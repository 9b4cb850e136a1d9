/*
 * tok-load.c - reading tokenizer.json into struct ds_tokenizer.
 *
 * The file is 8 MB of JSON, most of it the vocabulary object and the merges
 * array.  A general JSON parser (cJSON) spends ~170 ms building a node per
 * entry, so this file scans the text itself: it walks the top level, parses
 * "vocab" and "merges" straight into the tokenizer's tables, and hands only
 * the small members (added_tokens, pre_tokenizer, ...) to cJSON.  The
 * JSON cursor itself is in tok-json.c.  Every
 * piece the rest of the code does not implement is refused here with
 * EX_CONFIG, naming the piece.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "tok-impl.h"
#include "utf8.h"
#include "fileio.h"

/* Parse a small member with cJSON (the caller deletes the result). */
static cJSON *jparse_span(const char *s, const char *e)
{
	return cJSON_ParseWithLength(s, (size_t)(e - s));
}

/* ---- building the tokenizer ---- */

/* byte-level alphabet: code point -> byte, -1 outside it */
static int16_t cp2byte[324];
static uint32_t byte2cp[256];

static void bytelevel_tables(void)
{
	int n = 0;

	for (int i = 0; i < 324; i++)
		cp2byte[i] = -1;
	for (int b = 0; b < 256; b++) {
		int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
		byte2cp[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
		cp2byte[byte2cp[b]] = (int16_t)b;
	}
}

/* Char-form token text -> bytes; returns the length or -1 when a character
 * lies outside the byte-level alphabet. */
static long chars_to_bytes(const uint8_t *s, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		int inc;
		size_t l;
		uint32_t cp;

		if (s[i] > ' ' && s[i] < 0x7F) {	/* printable ASCII maps to itself */
			out[o++] = s[i++];
			continue;
		}
		l = ds_utf8_seq(s + i, n - i, &inc);
		if (!l)
			return -1;
		cp = ds_utf8_decode(s + i, l);
		if (cp >= 324 || cp2byte[cp] < 0)
			return -1;
		out[o++] = (uint8_t)cp2byte[cp];
		i += l;
	}
	return (long)o;
}

struct arena {
	uint8_t *p;
	size_t len, cap;
};

static uint32_t arena_put(struct arena *a, const void *s, size_t n)
{
	uint32_t at = (uint32_t)a->len;

	if (a->len + n > a->cap) {
		a->cap = (a->len + n) * 2 + 4096;
		a->p = ds_xrealloc(a->p, a->cap);
	}
	memcpy(a->p + a->len, s, n);
	a->len += n;
	return at;
}

struct entry {
	int32_t id;
	uint32_t off, len;
	uint8_t flags;
};

struct loader {
	struct jcur c;
	struct arena text;
	struct entry *e;
	size_t ne, cape;
	int32_t max_id;
	int32_t delta;		/* merged id - rank of the last merge */
	uint8_t *tmp;		/* scratch, as large as the longest string */
	size_t tmpcap;
	uint8_t *pair;		/* a merge's two parts as bytes, as large as both */
	size_t paircap;
};

/* Scratch of at least n bytes (*buf grows, its old content is dropped). */
static uint8_t *grow(uint8_t **buf, size_t *cap, size_t n)
{
	if (n > *cap) {
		*cap = n * 2 + 256;
		free(*buf);
		*buf = ds_xmalloc(*cap);
	}
	return *buf;
}

static uint8_t *tmpbuf(struct loader *L, size_t n)
{
	return grow(&L->tmp, &L->tmpcap, n);
}

/* The largest id a tokenizer may use, 2^24 (real vocabularies stop near 2^18):
 * the tables are laid out per id, so one id of 10^9 would cost gigabytes and
 * a loop over every hole before the file could be refused. */
#define TOK_MAX_ID (1 << 24)

static void add_entry(struct loader *L, int32_t id, const void *s, size_t n, uint8_t flags)
{
	if (L->ne == L->cape) {
		L->cape = L->cape ? L->cape * 2 : 1 << 17;
		L->e = ds_xrealloc(L->e, L->cape * sizeof(*L->e));
	}
	L->e[L->ne].id = id;
	L->e[L->ne].off = arena_put(&L->text, s, n);
	L->e[L->ne].len = (uint32_t)n;
	L->e[L->ne].flags = flags;
	L->ne++;
	if (id > L->max_id)
		L->max_id = id;
}

static int parse_vocab(struct loader *L)
{
	struct jcur *c = &L->c;
	int more;

	if (tok_jexpect(c, '{'))
		return c->err->code;
	tok_jws(c);
	if (c->p < c->end && *c->p == '}') {
		c->p++;
		return 0;
	}
	do {
		const char *s;
		size_t n;
		int esc;
		long len, blen;
		char *endp;
		long long id;
		uint8_t *buf;

		if (tok_jstr(c, &s, &n, &esc) || tok_jexpect(c, ':'))
			return c->err->code;
		buf = tmpbuf(L, 2 * n + 8);
		len = esc ? tok_junescape(s, n, buf) : (long)n;
		if (len < 0)
			return tok_jfail(c, "bad escape in a vocab key");
		if (!esc)
			memcpy(buf, s, n);
		tok_jws(c);
		id = 0;
		for (endp = (char *)c->p; endp < c->end && *endp >= '0' && *endp <= '9' && id < TOK_MAX_ID; endp++)
			id = id * 10 + (*endp - '0');
		if (endp == c->p || id >= TOK_MAX_ID || (endp < c->end && strchr(".eE-+", *endp)))
			return tok_jfail(c, "a vocab id must be an integer in [0, 2^24)");
		c->p = endp;
		blen = chars_to_bytes(buf, (size_t)len, buf + n + 4);
		if (blen >= 0)
			add_entry(L, (int32_t)id, buf + n + 4, (size_t)blen, TOKF_DEFINED);
		else
			add_entry(L, (int32_t)id, buf, (size_t)len, TOKF_DEFINED | TOKF_RAW);
	} while ((more = tok_jnext(c, '}')) > 0);
	return more ? c->err->code : 0;
}

/* Char-form piece -> vocab id via the bytes table; -1 when absent. */
static int32_t lookup_chars(struct ds_tokenizer *t, struct loader *L, const char *s, size_t n,
			    int esc, uint8_t *out, long *outlen)
{
	uint8_t *u = tmpbuf(L, n + 8);
	long len = esc ? tok_junescape(s, n, u) : (long)n;

	if (len < 0)
		return -1;
	*outlen = chars_to_bytes(esc ? u : (const uint8_t *)s, (size_t)len, out);
	if (*outlen < 0)
		return -1;
	return tok_vocab_find(t, out, (size_t)*outlen);
}

static int merge_fail(struct loader *L, size_t rank, const char *why)
{
	return ds_error_set(L->c.err, EX_CONFIG, "%s: merge %zu: %s", L->c.path, rank, why);
}

/* A merge's parts a and b as they stand in the file (escaped when ea, eb).
 * No length limit: unescaping and the byte-level mapping only shorten text
 * (a \uXXXX escape is 6 characters for at most 3 bytes, a character at
 * least one byte for one byte), so na + nb bytes hold both parts. */
static int add_merge(struct ds_tokenizer *t, struct loader *L, size_t rank,
		     const char *a, size_t na, int ea, const char *b, size_t nb, int eb)
{
	uint8_t *buf = grow(&L->pair, &L->paircap, na + nb + 8);
	long la, lb;
	int32_t ia, ib, ic;

	/* the second part goes after the first's bytes, which exist only
	 * when the first was found (la is unset or -1 otherwise) */
	ia = lookup_chars(t, L, a, na, ea, buf, &la);
	ib = ia < 0 ? -1 : lookup_chars(t, L, b, nb, eb, buf + la, &lb);
	if (ia < 0 || ib < 0)
		return merge_fail(L, rank, "a part is not in the vocabulary");
	/* vocabularies list merge results in rank order (DeepSeek's: id = rank +
	 * 259), so try the id the previous merge predicts before hashing */
	ic = (int32_t)rank + L->delta;
	if (ic < 0 || ic >= t->n_ids || (t->flags[ic] & (TOKF_ADDED | TOKF_RAW)) ||
	    t->off[ic + 1] - t->off[ic] != (uint32_t)(la + lb) || memcmp(t->bytes + t->off[ic], buf, (size_t)(la + lb)))
		ic = tok_vocab_find(t, buf, (size_t)(la + lb));
	L->delta = ic - (int32_t)rank;
	if (ic < 0)
		return merge_fail(L, rank, "the merged token is not in the vocabulary");
	tok_merge_add(t, ia, ib, ic, (uint32_t)rank);
	return 0;
}

static int parse_merges(struct ds_tokenizer *t, struct loader *L, const char *start, const char *end)
{
	struct jcur *c = &L->c;
	size_t rank = 0, guess = 0;
	int more;

	for (const char *q = start; q < end; q++)
		guess += *q == ',';
	tok_merge_alloc(t, guess + 1);
	c->p = start;
	c->end = end;
	if (tok_jexpect(c, '['))
		return c->err->code;
	tok_jws(c);
	if (c->p < c->end && *c->p == ']')
		return 0;
	do {
		const char *a, *b;
		size_t na, nb;
		int ea, eb;

		tok_jws(c);
		if (c->p < c->end && *c->p == '[') {
			c->p++;
			if (tok_jstr(c, &a, &na, &ea) || tok_jexpect(c, ',') || tok_jstr(c, &b, &nb, &eb) ||
			    tok_jexpect(c, ']'))
				return c->err->code;
		} else {
			const char *sp;
			if (tok_jstr(c, &a, &na, &ea))
				return c->err->code;
			sp = memchr(a, ' ', na);
			if (!sp || memchr(sp + 1, ' ', na - (size_t)(sp + 1 - a)))
				return merge_fail(L, rank, "not two parts separated by one space");
			b = sp + 1;
			nb = na - (size_t)(b - a);
			na = (size_t)(sp - a);
			eb = ea;
		}
		if (add_merge(t, L, rank++, a, na, ea, b, nb, eb))
			return c->err->code;
	} while ((more = tok_jnext(c, ']')) > 0);
	t->n_merges = rank;
	return more ? c->err->code : 0;
}

/* An object key as text (unescaped: a writer may escape any character);
 * a key longer than buf is cut, which only a message can show, since no
 * key this loader knows is that long. */
static const char *key_text(const char *k, size_t kn, int esc, char *buf, size_t cap)
{
	long n;

	if (kn >= cap)
		kn = cap - 1;
	n = esc ? tok_junescape(k, kn, (uint8_t *)buf) : -1;
	if (n < 0) {
		memcpy(buf, k, kn);
		n = (long)kn;
	}
	buf[n] = 0;
	return buf;
}

static int cfg_fail(struct loader *L, const char *fmt, const char *what)
{
	ds_error_set(L->c.err, EX_CONFIG, fmt, what);
	return ds_error_prefix(L->c.err, "%s", L->c.path);
}

static int is_null_or(const cJSON *j, const char *member, int want_false_or_empty)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, member);

	if (!m || cJSON_IsNull(m))
		return 1;
	if (want_false_or_empty && cJSON_IsFalse(m))
		return 1;
	if (want_false_or_empty && cJSON_IsString(m) && !m->valuestring[0])
		return 1;
	return 0;
}

static int check_model_member(struct ds_tokenizer *t, struct loader *L, const char *key, cJSON *v)
{
	if (!strcmp(key, "type")) {
		if (!cJSON_IsString(v) || strcmp(v->valuestring, "BPE"))
			return cfg_fail(L, "model type %s is not supported (only BPE)",
					cJSON_IsString(v) ? v->valuestring : "?");
	} else if (!strcmp(key, "dropout") || !strcmp(key, "unk_token")) {
		if (!cJSON_IsNull(v))
			return cfg_fail(L, "model.%s is set; ds-tokenize implements BPE without it", key);
	} else if (!strcmp(key, "continuing_subword_prefix") || !strcmp(key, "end_of_word_suffix")) {
		if (!cJSON_IsNull(v) && !(cJSON_IsString(v) && !v->valuestring[0]))
			return cfg_fail(L, "model.%s is set; ds-tokenize implements BPE without it", key);
	} else if (!strcmp(key, "byte_fallback")) {
		if (!cJSON_IsFalse(v))
			return cfg_fail(L, "model.%s is true; not supported", key);
	} else if (!strcmp(key, "ignore_merges")) {
		t->ignore_merges = cJSON_IsTrue(v);
	} else if (strcmp(key, "fuse_unk")) {
		return cfg_fail(L, "unknown model member '%s'", key);
	}
	return 0;
}

static int parse_model(struct ds_tokenizer *t, struct loader *L, const char **ms, const char **me)
{
	struct jcur *c = &L->c;
	int more;

	if (tok_jexpect(c, '{'))
		return c->err->code;
	do {
		const char *k, *vs;
		size_t kn;
		int esc;
		char key[64];

		if (tok_jstr(c, &k, &kn, &esc) || tok_jexpect(c, ':'))
			return c->err->code;
		key_text(k, kn, esc, key, sizeof(key));
		tok_jws(c);
		vs = c->p;
		if (!strcmp(key, "vocab")) {
			if (parse_vocab(L))
				return c->err->code;
		} else if (!strcmp(key, "merges")) {
			if (tok_jskip(c, 0))
				return c->err->code;
			*ms = vs;
			*me = c->p;
		} else {
			cJSON *v;
			int rc;
			if (tok_jskip(c, 0))
				return c->err->code;
			v = jparse_span(vs, c->p);
			if (!v)
				return tok_jfail(c, "bad model member");
			rc = check_model_member(t, L, key, v);
			cJSON_Delete(v);
			if (rc)
				return rc;
		}
	} while ((more = tok_jnext(c, '}')) > 0);
	return more ? c->err->code : 0;
}

static int add_step_split(struct ds_tokenizer *t, struct loader *L, const cJSON *j)
{
	const cJSON *pat = cJSON_GetObjectItemCaseSensitive(j, "pattern");
	const cJSON *beh = cJSON_GetObjectItemCaseSensitive(j, "behavior");
	const cJSON *inv = cJSON_GetObjectItemCaseSensitive(j, "invert");
	const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
	const cJSON *lit = cJSON_GetObjectItemCaseSensitive(pat, "String");
	struct tok_step *st = &t->step[t->nsteps];

	if (inv && !cJSON_IsFalse(inv))
		return cfg_fail(L, "Split with %s is not supported", "invert true");
	if (!cJSON_IsString(beh))
		return cfg_fail(L, "Split without %s", "a behavior");
	if (!strcmp(beh->valuestring, "Isolated"))
		st->behavior = SPLIT_ISOLATED;
	else if (!strcmp(beh->valuestring, "Removed"))
		st->behavior = SPLIT_REMOVED;
	else
		return cfg_fail(L, "Split behavior %s is not supported (Isolated, Removed)", beh->valuestring);
	if (!cJSON_IsString(re) && !cJSON_IsString(lit))
		return cfg_fail(L, "Split without %s", "a Regex or String pattern");
	if (cJSON_IsString(re) ? tok_regex_compile(st, re->valuestring, strlen(re->valuestring), 0, L->c.err)
			       : tok_regex_compile(st, lit->valuestring, strlen(lit->valuestring), 1, L->c.err))
		return ds_error_prefix(L->c.err, "%s", L->c.path);
	t->nsteps++;
	return 0;
}

static int add_step(struct ds_tokenizer *t, struct loader *L, const cJSON *j)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");

	if (!cJSON_IsString(type))
		return cfg_fail(L, "a pre_tokenizer without %s", "a type");
	if (t->nsteps >= TOK_MAX_STEPS - 1)
		return cfg_fail(L, "%s", "too many pre_tokenizer steps");
	if (t->nsteps && t->step[t->nsteps - 1].kind == STEP_BYTELEVEL)
		return cfg_fail(L, "pre_tokenizer %s after ByteLevel is not supported", type->valuestring);
	if (!strcmp(type->valuestring, "Split"))
		return add_step_split(t, L, j);
	if (!strcmp(type->valuestring, "Digits")) {
		const cJSON *ind = cJSON_GetObjectItemCaseSensitive(j, "individual_digits");
		if (tok_step_digits(&t->step[t->nsteps], cJSON_IsTrue(ind), L->c.err))
			return ds_error_prefix(L->c.err, "%s", L->c.path);
		t->nsteps++;
		return 0;
	}
	if (!strcmp(type->valuestring, "ByteLevel")) {
		if (!is_null_or(j, "add_prefix_space", 1))
			return cfg_fail(L, "ByteLevel with %s is not supported", "add_prefix_space true");
		if (!is_null_or(j, "use_regex", 1))
			return cfg_fail(L, "ByteLevel with %s is not supported", "use_regex true");
		t->step[t->nsteps++].kind = STEP_BYTELEVEL;
		return 0;
	}
	return cfg_fail(L, "pre_tokenizer type %s is not supported", type->valuestring);
}

static int parse_pre_tokenizer(struct ds_tokenizer *t, struct loader *L, const cJSON *j)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
	const cJSON *it;

	if (!j || cJSON_IsNull(j))
		return cfg_fail(L, "%s", "no pre_tokenizer (ByteLevel is required)");
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "Sequence")) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "pretokenizers"))
			if (add_step(t, L, it))
				return L->c.err->code;
	} else if (add_step(t, L, j)) {
		return L->c.err->code;
	}
	if (!t->nsteps || t->step[t->nsteps - 1].kind != STEP_BYTELEVEL)
		return cfg_fail(L, "%s", "the pre_tokenizer must end with ByteLevel");
	return 0;
}

static int parse_added(struct loader *L, const cJSON *j)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, j) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		uint8_t fl = TOKF_DEFINED | TOKF_ADDED;

		if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble >= TOK_MAX_ID ||
		    !cJSON_IsString(content) || !content->valuestring[0])
			return cfg_fail(L, "%s", "an added token needs an id and a content");
		if (!is_null_or(it, "lstrip", 1) || !is_null_or(it, "rstrip", 1) ||
		    !is_null_or(it, "single_word", 1))
			return cfg_fail(L, "added token '%s' uses lstrip/rstrip/single_word (not supported)",
					content->valuestring);
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "special")))
			fl |= TOKF_SPECIAL;
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "normalized")))
			fl |= TOKF_NORMALIZED;
		add_entry(L, (int32_t)id->valuedouble, content->valuestring, strlen(content->valuestring), fl);
	}
	return 0;
}

/* Token text for a message: valid UTF-8 as it is, other bytes as \xHH
 * (control characters too, by error.c), cut to about 60 bytes. */
static const char *shown(const uint8_t *s, size_t n, char *out, size_t cap)
{
	size_t o = 0, i = 0;

	while (i < n && o + 8 < cap) {
		int inc;
		size_t l = ds_utf8_seq(s + i, n - i, &inc);

		if (o > 60) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (l && s[i] != '\'' && s[i] != '\\') {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		} else {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i++]);
		}
	}
	out[o] = 0;
	return out;
}

static const char *source(const struct entry *e)
{
	return e->flags & TOKF_ADDED ? "added_tokens" : "vocab";
}

/* Lay the entries out per id; later entries (added tokens) win. */
static int build_tables(struct ds_tokenizer *t, struct loader *L)
{
	char a[128], b[128];
	int32_t dup[2];
	size_t total = 0;
	uint32_t *which;

	t->n_ids = L->max_id + 1;
	which = ds_xcalloc((size_t)t->n_ids, sizeof(*which));
	t->off = ds_xcalloc((size_t)t->n_ids + 1, sizeof(*t->off));
	t->flags = ds_xcalloc((size_t)t->n_ids, 1);
	for (size_t i = 0; i < L->ne; i++) {
		const struct entry *e = &L->e[i], *old = which[e->id] ? &L->e[which[e->id] - 1] : NULL;
		/* an added token may take over a vocabulary id only when the
		 * vocabulary's text for it could never come out of BPE */
		if (old && (!(e->flags & TOKF_ADDED) || (old->flags & (TOKF_ADDED | TOKF_RAW)) != TOKF_RAW) &&
		    (old->len != e->len || memcmp(L->text.p + old->off, L->text.p + e->off, e->len))) {
			free(which);
			ds_error_set(L->c.err, EX_CONFIG, "%s: id %d is defined twice with different text: '%s' (%s) and '%s' (%s)",
				     L->c.path, (int)e->id, shown(L->text.p + old->off, old->len, a, sizeof(a)), source(old),
				     shown(L->text.p + e->off, e->len, b, sizeof(b)), source(e));
			return L->c.err->code;
		}
		which[e->id] = (uint32_t)i + 1;
	}
	for (int32_t id = 0; id < t->n_ids; id++)
		total += which[id] ? L->e[which[id] - 1].len : 0;
	t->bytes = ds_xmalloc(total + 1);
	total = 0;
	for (int32_t id = 0; id < t->n_ids; id++) {
		t->off[id] = (uint32_t)total;
		if (which[id]) {
			const struct entry *e = &L->e[which[id] - 1];
			memcpy(t->bytes + total, L->text.p + e->off, e->len);
			total += e->len;
			t->flags[id] = e->flags;
		}
	}
	t->off[t->n_ids] = (uint32_t)total;
	free(which);
	if (tok_vocab_build(t, dup))
		return ds_error_set(L->c.err, EX_CONFIG, "%s: ids %d and %d have the same text '%s'", L->c.path,
				    (int)dup[0], (int)dup[1],
				    shown(t->bytes + t->off[dup[1]], t->off[dup[1] + 1] - t->off[dup[1]], a, sizeof(a)));
	return 0;
}

static int load_members(struct ds_tokenizer *t, struct loader *L, const char *const span[][2])
{
	/* span: 0 added_tokens, 1 normalizer, 2 pre_tokenizer, 3 decoder */
	cJSON *added = span[0][0] ? jparse_span(span[0][0], span[0][1]) : NULL;
	cJSON *norm = span[1][0] ? jparse_span(span[1][0], span[1][1]) : NULL;
	cJSON *pre = span[2][0] ? jparse_span(span[2][0], span[2][1]) : NULL;
	cJSON *dec = span[3][0] ? jparse_span(span[3][0], span[3][1]) : NULL;
	const cJSON *nt = cJSON_GetObjectItemCaseSensitive(norm, "type");
	const cJSON *dt = cJSON_GetObjectItemCaseSensitive(dec, "type");
	int rc = 0;

	if (norm && !cJSON_IsNull(norm) &&
	    !(cJSON_IsString(nt) && !strcmp(nt->valuestring, "Sequence") &&
	      cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(norm, "normalizers")) == 0))
		rc = cfg_fail(L, "normalizer %s is not supported (none is)", cJSON_IsString(nt) ? nt->valuestring : "?");
	else if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "ByteLevel"))
		rc = cfg_fail(L, "decoder %s is not supported (ByteLevel is)", cJSON_IsString(dt) ? dt->valuestring : "missing");
	else if (added && !cJSON_IsArray(added))
		rc = cfg_fail(L, "%s", "added_tokens is not an array");
	else if ((rc = parse_added(L, added)) == 0)
		rc = parse_pre_tokenizer(t, L, pre);
	cJSON_Delete(added);
	cJSON_Delete(norm);
	cJSON_Delete(pre);
	cJSON_Delete(dec);
	return rc;
}

static int load_text(struct ds_tokenizer *t, struct loader *L)
{
	static const char *const names[] = { "added_tokens", "normalizer", "pre_tokenizer", "decoder" };
	const char *span[4][2] = { { 0 } };
	const char *ms = NULL, *me = NULL;
	struct jcur *c = &L->c;
	int have_model = 0, more;

	if (tok_jexpect(c, '{'))
		return c->err->code;
	do {
		const char *k, *vs;
		size_t kn;
		int esc;
		char key[64];

		if (tok_jstr(c, &k, &kn, &esc) || tok_jexpect(c, ':'))
			return c->err->code;
		key_text(k, kn, esc, key, sizeof(key));
		tok_jws(c);
		vs = c->p;
		if (!strcmp(key, "model")) {
			if (parse_model(t, L, &ms, &me))
				return c->err->code;
			have_model = 1;
		} else {
			if (tok_jskip(c, 0))
				return c->err->code;
			for (int i = 0; i < 4; i++)
				if (!strcmp(key, names[i])) {
					span[i][0] = vs;
					span[i][1] = c->p;
				}
		}
	} while ((more = tok_jnext(c, '}')) > 0);
	if (more)
		return c->err->code;
	if (!have_model || !ms)
		return cfg_fail(L, "%s", "no model with merges");
	if (load_members(t, L, span) || build_tables(t, L))
		return c->err->code;
	return parse_merges(t, L, ms, me);
}

static int finish(struct ds_tokenizer *t, struct ds_error *err, const char *path)
{
	for (int b = 0; b < 256; b++) {
		uint8_t ch = (uint8_t)b;
		t->byte_id[b] = tok_vocab_find(t, &ch, 1);
		if (t->byte_id[b] < 0)
			return ds_error_set(err, EX_CONFIG, "%s: byte 0x%02x has no token; not a byte-level vocabulary", path, b);
	}
	for (int32_t id = 0; id < t->n_ids; id++) {
		if (!(t->flags[id] & TOKF_ADDED))
			continue;
		tok_trie_add(&t->trie[t->flags[id] & TOKF_NORMALIZED ? 1 : 0], t->bytes + t->off[id],
			     t->off[id + 1] - t->off[id], id);
		if (t->off[id + 1] - t->off[id] > t->max_added)
			t->max_added = t->off[id + 1] - t->off[id];
	}
	return 0;
}

int ds_tokenizer_load_text(struct ds_tokenizer **out, const char *text, size_t len, const char *name,
			   struct ds_error *err)
{
	struct ds_tokenizer *t = ds_xcalloc(1, sizeof(*t));
	struct loader L = { .c = { .err = err, .path = name }, .max_id = -1 };
	int rc;
	static int tables_ready;

	if (!tables_ready) {
		bytelevel_tables();
		tables_ready = 1;
	}
	L.c.p = L.c.base = text;
	L.c.end = text + len;
	rc = load_text(t, &L);
	if (!rc)
		rc = finish(t, err, name);
	free(L.text.p);
	free(L.e);
	free(L.tmp);
	free(L.pair);
	if (rc) {
		ds_tokenizer_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int ds_tokenizer_load(struct ds_tokenizer **out, const char *path, struct ds_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if ((rc = ds_read_file(path, SIZE_MAX, EX_CONFIG, &text, &len, err)))
		return rc;
	rc = ds_tokenizer_load_text(out, text, len, path, err);
	free(text);
	return rc;
}

void ds_tokenizer_free(struct ds_tokenizer *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->nsteps; i++)
		tok_step_free(&t->step[i]);
	tok_trie_free(&t->trie[0]);
	tok_trie_free(&t->trie[1]);
	tok_bpe_free(t);
	free(t->off);
	free(t->bytes);
	free(t->flags);
	free(t);
}
