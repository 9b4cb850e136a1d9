/*
 * test-tokenizer-load.c - tokenizer.json as other writers write it:
 * DeepSeek-V3's file with every non-ASCII character as a \uXXXX escape (what
 * Python's json.dump writes by default, ensure_ascii=True) loads into the
 * same tokenizer; a merge of two long tokens loads (no fixed buffer); and
 * the messages for an id or a text defined twice name both.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "testhelp.h"
#include "tokenizer.h"
#include "utf8.h"

static char dir[256];

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) || (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) ||
	    !(p = malloc((size_t)n + 1)) || fread(p, 1, (size_t)n, fp) != (size_t)n) {
		free(p);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	p[n] = 0;
	*len = (size_t)n;
	return p;
}

static const char *put(const char *name, const char *text, size_t n)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	if (!fp || fwrite(text, 1, n, fp) != n || fclose(fp)) {
		printf("not ok - cannot write %s\n", path);
		exit(1);
	}
	return path;
}

/* JSON text with every non-ASCII character written as \uXXXX (a surrogate
 * pair above U+FFFF), as Python's json.dumps(ensure_ascii=True) writes it.
 * Non-ASCII bytes only occur inside strings, so this needs no parser. */
static char *ascii_json(const char *s, size_t n, size_t *outlen)
{
	char *out = malloc(6 * n + 1), *w = out;
	size_t i = 0;

	while (i < n) {
		int inc;
		size_t l;
		uint32_t cp;

		if ((unsigned char)s[i] < 0x80) {
			*w++ = s[i++];
			continue;
		}
		l = ds_utf8_seq((const uint8_t *)s + i, n - i, &inc);
		if (!l) {	/* not UTF-8: leave the byte (the loader refuses it) */
			*w++ = s[i++];
			continue;
		}
		cp = ds_utf8_decode((const uint8_t *)s + i, l);
		if (cp >= 0x10000)
			w += sprintf(w, "\\u%04x\\u%04x", 0xD800 + ((cp - 0x10000) >> 10), 0xDC00 + ((cp - 0x10000) & 0x3FF));
		else
			w += sprintf(w, "\\u%04x", cp);
		i += l;
	}
	*w = 0;
	*outlen = (size_t)(w - out);
	return out;
}

static int same_tokenizer(struct ds_tokenizer *a, struct ds_tokenizer *b, int *encoded)
{
	int n = ds_tokenizer_n_ids(a), bad = n != ds_tokenizer_n_ids(b);
	struct ds_error err = { 0 };

	*encoded = 0;
	for (int32_t id = 0; id < n && !bad; id++) {
		size_t la = 0, lb = 0;
		const uint8_t *pa = ds_tokenizer_bytes(a, id, &la), *pb = ds_tokenizer_bytes(b, id, &lb);
		struct ds_ids ia = { 0 }, ib = { 0 };

		if (!pa != !pb || la != lb || (pa && memcmp(pa, pb, la)) ||
		    ds_tokenizer_is_special(a, id) != ds_tokenizer_is_special(b, id))
			bad = 1;
		if (!pa || bad || ds_utf8_check(pa, la) != la)
			continue;
		/* the token's text encoded by both: the merges agree */
		ds_tokenizer_encode(a, (const char *)pa, la, &ia, &err);
		ds_tokenizer_encode(b, (const char *)pa, la, &ib, &err);
		bad |= ia.n != ib.n || memcmp(ia.v, ib.v, ia.n * sizeof(*ia.v));
		(*encoded)++;
		ds_ids_release(&ia);
		ds_ids_release(&ib);
	}
	return !bad;
}

static void test_ensure_ascii(void)
{
	const char *src = tests_path("../share/deepseek-v3/tokenizer.json");
	struct ds_tokenizer *plain = NULL, *escaped = NULL;
	struct ds_error err = { 0 };
	size_t n = 0, m = 0;
	char *text = slurp(src, &n), *esc;
	int rc, encoded = 0;

	if (!text) {
		printf("skip - DeepSeek-V3's tokenizer re-escaped (%s absent: run make)\n", src);
		return;
	}
	esc = ascii_json(text, n, &m);
	free(text);
	check("the re-escaped tokenizer.json is pure ASCII", strspn(esc, "\x01\x02\x03\x04\x05\x06\x07\x08\t\n\r !\"#$%&'()*+,-./"
		"0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") == m);
	rc = ds_tokenizer_load(&plain, src, &err);
	check("DeepSeek-V3's tokenizer.json loads", rc == 0);
	rc = rc ? rc : ds_tokenizer_load(&escaped, put("ascii.json", esc, m), &err);
	checkf(rc == 0, "... and so does its ensure_ascii form, %zu bytes (%s)", m, rc ? err.msg : "ok");
	if (!rc) {
		int same = same_tokenizer(plain, escaped, &encoded);
		checkf(same && encoded > 100000,
		       "... into the same tokenizer: every id's text and flags, and the ids of %d texts", encoded);
	}
	ds_tokenizer_free(plain);
	ds_tokenizer_free(escaped);
	free(esc);
}

/* ---- small tokenizers written here ---- */

/* GPT-2's byte-level alphabet: byte -> the code point standing for it */
static uint32_t byte_cp(int b)
{
	int n = 0;

	if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
		return (uint32_t)b;
	for (int i = 0; i < b; i++)
		n += !((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || i >= 0xAE);
	return (uint32_t)(256 + n);
}

struct buf {
	char *p;
	size_t n, cap;
};

static void add(struct buf *b, const char *s)
{
	size_t k = strlen(s);

	if (b->n + k + 1 > b->cap) {
		b->cap = (b->n + k + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, k + 1);
	b->n += k;
}

/* A byte-level BPE tokenizer: the 256 bytes (ids 0..255), then "a" x 2^k
 * for k = 1..kmax (ids 255 + k, merged from two halves), then extra vocab
 * entries and added tokens as given (JSON fragments, "" for none). */
static char *small_tokenizer(int kmax, const char *extra_vocab, const char *added, size_t *len)
{
	struct buf b = { 0 };
	char tmp[64], *run = malloc(((size_t)1 << kmax) + 1);

	add(&b, "{\"version\":\"1.0\",\"added_tokens\":[");
	add(&b, added);
	add(&b, "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
		"\"trim_offsets\":false,\"use_regex\":false},\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\"},"
		"\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{");
	for (int c = 0; c < 256; c++) {
		uint8_t u[4];
		size_t l = ds_utf8_encode(byte_cp(c), u);
		char *q = tmp;
		*q++ = '"';
		if (c == '"' || c == '\\')
			*q++ = '\\';
		memcpy(q, u, l);
		q += l;
		sprintf(q, "\":%d,", c);
		add(&b, tmp);
	}
	for (int k = 1; k <= kmax; k++) {
		memset(run, 'a', (size_t)1 << k);
		run[(size_t)1 << k] = 0;
		add(&b, "\"");
		add(&b, run);
		sprintf(tmp, "\":%d%s", 255 + k, k < kmax || *extra_vocab ? "," : "");
		add(&b, tmp);
	}
	add(&b, extra_vocab);
	add(&b, "},\"merges\":[");
	for (int k = 1; k <= kmax; k++) {
		memset(run, 'a', (size_t)1 << (k - 1));
		run[(size_t)1 << (k - 1)] = 0;
		add(&b, "\"");
		add(&b, run);
		add(&b, " ");
		add(&b, run);
		add(&b, k < kmax ? "\"," : "\"");
	}
	add(&b, "]}}");
	free(run);
	*len = b.n;
	return b.p;
}

static void test_long_merge(void)
{
	struct ds_tokenizer *t = NULL;
	struct ds_error err = { 0 };
	struct ds_ids ids = { 0 };
	size_t n;
	char *json = small_tokenizer(11, "", "", &n), *text = malloc(2049);
	int rc = ds_tokenizer_load(&t, put("long.json", json, n), &err);

	checkf(rc == 0, "a merge of two 1024-byte tokens loads (%s)", rc ? err.msg : "ok");
	if (!rc) {
		memset(text, 'a', 2048);
		ds_tokenizer_encode(t, text, 2048, &ids, &err);
		check("... and 2048 a's encode to its one token", ids.n == 1 && ids.v[0] == 255 + 11);
	}
	ds_ids_release(&ids);
	ds_tokenizer_free(t);
	free(text);
	free(json);
}

static void expect_message(const char *what, const char *extra_vocab, const char *added, const char *want)
{
	struct ds_tokenizer *t = NULL;
	struct ds_error err = { 0 };
	size_t n;
	char *json = small_tokenizer(2, extra_vocab, added, &n);
	const char *path = put("dup.json", json, n);
	int rc = ds_tokenizer_load(&t, path, &err);

	checkf(rc == EX_CONFIG && strstr(err.msg, want) && strstr(err.msg, "dup.json"), "%s (%s)", what, err.msg);
	ds_tokenizer_free(t);
	free(json);
}

static void test_duplicates(void)
{
	expect_message("an added token on a vocabulary id names the id and both texts", "",
		       "{\"id\":256,\"content\":\"<x>\",\"special\":true}",
		       "id 256 is defined twice with different text: 'aa' (vocab) and '<x>' (added_tokens)");
	expect_message("an id twice in the vocabulary names it and both texts", "\"bb\":257", "",
		       "id 257 is defined twice with different text: 'aaaa' (vocab) and 'bb' (vocab)");
	expect_message("two ids with the same text name both ids and the text", "\"aa\":258", "",
		       "ids 256 and 258 have the same text 'aa'");
	expect_message("an id twice in added_tokens names it and both contents", "",
		       "{\"id\":300,\"content\":\"<x>\"},{\"id\":300,\"content\":\"<y>\"}",
		       "id 300 is defined twice with different text: '<x>' (added_tokens) and '<y>' (added_tokens)");
}

/* A merge whose first part is outside the byte-level alphabet: refused,
 * and the second part is not written before the buffer (found by
 * fuzz-tokenizer-json; ASan in `make asan` sees the write). */
static void test_merge_outside_alphabet(void)
{
	struct ds_tokenizer *t = NULL;
	struct ds_error err = { 0 };
	size_t n;
	char *json = small_tokenizer(2, "", "", &n), *at = strstr(json, "\"merges\":[");
	struct buf b = { 0 };
	int rc;

	*at = 0;
	add(&b, json);
	add(&b, "\"merges\":[\"\u4e2d a\",");
	add(&b, at + strlen("\"merges\":["));
	rc = ds_tokenizer_load(&t, put("alpha.json", b.p, b.n), &err);
	checkf(rc == EX_CONFIG && strstr(err.msg, "merge 0: a part is not in the vocabulary"),
	       "a merge part outside the byte-level alphabet is refused (%s)", err.msg);
	ds_tokenizer_free(t);
	free(b.p);
	free(json);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "%s/dstest-tokload-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		check("mkdtemp", 0);
		return test_done();
	}
	test_ensure_ascii();
	test_long_merge();
	test_duplicates();
	test_merge_outside_alphabet();
	unlink(put("alpha.json", "", 0));
	unlink(put("ascii.json", "", 0));
	unlink(put("long.json", "", 0));
	unlink(put("dup.json", "", 0));
	rmdir(dir);
	return test_done();
}
