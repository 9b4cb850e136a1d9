/*
 * test-tokenizer.c - the tokenizer against the reference's ids: the shared
 * cases.jsonl (skipped when ../shared is absent), our HF-generated edge
 * cases and lossy repairs, chunked encoding == whole encoding, decode
 * round trips, and the streaming decoder's UTF-8 hold-back.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "testhelp.h"
#include "tokenizer.h"
#include "utf8.h"

static int same_ids(const struct ds_ids *a, const cJSON *want)
{
	if ((size_t)cJSON_GetArraySize(want) != a->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (cJSON_GetArrayItem(want, (int)i)->valueint != a->v[i])
			return 0;
	return 1;
}

/* Accumulates every text of a fixture, for the chunking and round-trip checks. */
static char *all_text;
static size_t all_len, all_cap;

static void keep_text(const char *s)
{
	size_t n = strlen(s);
	if (all_len + n + 1 > all_cap) {
		all_cap = (all_len + n + 1) * 2;
		all_text = realloc(all_text, all_cap);
	}
	memcpy(all_text + all_len, s, n + 1);
	all_len += n;
}

static void check_cases(struct ds_tokenizer *tok, const char *file, const char *what, int keep)
{
	FILE *fp = fopen(file, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0, bad = 0, rt_bad = 0;

	if (!fp) {
		printf("skip - %s (%s absent)\n", what, file);
		return;
	}
	while (getline(&line, &cap, fp) > 0) {
		cJSON *j = cJSON_Parse(line);
		char *text = NULL;
		struct ds_ids ids = { 0 };
		struct ds_error err = { 0 };
		size_t len = 0;

		/* not cJSON's valuestring: texts may hold U+0000 */
		if (ds_tok_json_member(line, strlen(line), "text", &text, &len, &err))
			printf("# %s\n", err.msg);

		n++;
		ds_tokenizer_encode(tok, text, len, &ids, &err);
		if (!same_ids(&ids, cJSON_GetObjectItem(j, "ids")) && ++bad <= 5)
			printf("# %s mismatch: %s\n", what, line);
		/* decode(encode(x)) == x */
		{
			size_t total = 0, l;
			char *back = malloc(len + 16);
			for (size_t i = 0; i < ids.n; i++) {
				const uint8_t *b = ds_tokenizer_bytes(tok, ids.v[i], &l);
				if (b && total + l <= len + 8) {
					memcpy(back + total, b, l);
					total += l;
				}
			}
			if (total != len || memcmp(back, text, len))
				rt_bad++;
			free(back);
		}
		if (keep)
			keep_text(text);
		free(text);
		ds_ids_release(&ids);
		cJSON_Delete(j);
	}
	free(line);
	fclose(fp);
	checkf(n > 0 && bad == 0, "%s: %d of %d cases give the reference's ids", what, n - bad, n);
	checkf(n > 0 && rt_bad == 0, "%s: decode(encode(text)) == text for all %d", what, n);
	printf("# measured %s: %d/%d identical\n", what, n - bad, n);
}

static void check_lossy(struct ds_tokenizer *tok)
{
	FILE *fp = fopen(tests_path("reference/tokenizer/lossy.jsonl"), "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0, bad = 0, stream_bad = 0;

	while (fp && getline(&line, &cap, fp) > 0) {
		cJSON *j = cJSON_Parse(line);
		const char *hex = cJSON_GetObjectItem(j, "hex")->valuestring;
		size_t nb = strlen(hex) / 2;
		uint8_t *raw = malloc(nb + 1), *fix = malloc(3 * nb + 1);
		struct ds_ids ids = { 0 }, sids = { 0 };
		struct ds_error err = { 0 };
		struct ds_tok_stream s;

		for (size_t i = 0; i < nb; i++) {
			unsigned v;
			sscanf(hex + 2 * i, "%2x", &v);
			raw[i] = (uint8_t)v;
		}
		size_t fl = ds_utf8_repair(raw, nb, fix);
		ds_tokenizer_encode(tok, (const char *)fix, fl, &ids, &err);
		if (!same_ids(&ids, cJSON_GetObjectItem(j, "ids")))
			bad++;
		/* the stream encoder, fed one byte at a time, repairs the same way */
		ds_tok_stream_init(&s, tok, 1);
		for (size_t i = 0; i < nb; i++)
			ds_tok_stream_feed(&s, raw + i, 1, &sids, &err);
		ds_tok_stream_finish(&s, &sids, &err);
		ds_tok_stream_release(&s);
		if (!same_ids(&sids, cJSON_GetObjectItem(j, "ids")))
			stream_bad++;
		n++;
		free(raw);
		free(fix);
		ds_ids_release(&ids);
		ds_ids_release(&sids);
		cJSON_Delete(j);
	}
	free(line);
	if (fp)
		fclose(fp);
	checkf(n > 0 && bad == 0, "lossy: %d of %d invalid byte strings repaired like errors=\"replace\"", n - bad, n);
	checkf(n > 0 && stream_bad == 0, "lossy: the stream encoder fed byte by byte agrees (%d bad)", stream_bad);
}

static void check_utf8(void)
{
	int inc;
	check("utf8: ASCII is valid", ds_utf8_check((const uint8_t *)"abc", 3) == 3);
	check("utf8: offset of a bad byte", ds_utf8_check((const uint8_t *)"ab\xff", 3) == 2);
	check("utf8: overlong C0 80 is invalid", ds_utf8_check((const uint8_t *)"\xc0\x80", 2) == 0);
	check("utf8: surrogate ED A0 80 is invalid", ds_utf8_check((const uint8_t *)"x\xed\xa0\x80", 4) == 1);
	check("utf8: above U+10FFFF is invalid", ds_utf8_check((const uint8_t *)"\xf4\x90\x80\x80", 4) == 0);
	check("utf8: a truncated end is invalid", ds_utf8_check((const uint8_t *)"a\xe4\xb8", 3) == 1);
	check("utf8: truncated prefix held back", ds_utf8_complete_prefix((const uint8_t *)"a\xe4\xb8", 3) == 1);
	check("utf8: an invalid tail is not held", ds_utf8_complete_prefix((const uint8_t *)"a\xe0\x80", 3) == 3);
	check("utf8: a complete tail is not held", ds_utf8_complete_prefix((const uint8_t *)"\xe4\xb8\xad", 3) == 3);
	check("utf8: incomplete flag", ds_utf8_seq((const uint8_t *)"\xf0\x90", 2, &inc) == 0 && inc == 1);
}

/* A document of random runs of the pieces whose splits depend on what
 * follows: whitespace runs before newlines, digit runs, letters, CJK,
 * punctuation, added tokens. */
static char *random_doc(size_t want, size_t *len)
{
	static const char *const pieces[] = {
		" ", "  ", "\t", "\n", "\r\n", "\n\n", "   \n", "1", "23", "4567", "a", "Word", "é", "中文",
		"カナ", "ひら", "한", ".", "...", "(", "'s", "!?", "😀", "\u00a0", "\u3000", "<｜User｜>", "<|EOT|>", "<｜",
		"\xcc\x81", "１２", "٣", "=",
	};
	char *doc = malloc(want + 64);
	uint32_t seed = 4242;
	size_t n = 0;

	while (n < want) {
		const char *p;
		size_t reps;
		seed = seed * 1103515245 + 12345;
		p = pieces[(seed >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
		reps = 1 + ((seed >> 20) % 7 == 0 ? (seed >> 4) % 300 : 0);	/* sometimes long runs */
		for (size_t r = 0; r < reps && n + strlen(p) < want; r++) {
			memcpy(doc + n, p, strlen(p));
			n += strlen(p);
		}
		if (n + 8 >= want)
			break;
	}
	*len = n;
	return doc;
}

static void check_stream(struct ds_tokenizer *tok, const char *doc, size_t len, const char *what)
{
	struct ds_ids whole = { 0 };
	struct ds_error err = { 0 };
	static const size_t chunks[] = { 64, 100, 333, 4096, 1 << 20 };

	ds_tokenizer_encode(tok, doc, len, &whole, &err);
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct ds_tok_stream s;
		struct ds_ids got = { 0 };
		uint32_t seed = 12345;
		size_t at = 0;
		int same;

		ds_tok_stream_init(&s, tok, 0);
		s.chunk = chunks[c];
		while (at < len) {	/* feeds of random sizes, 1..700 bytes */
			size_t n;
			seed = seed * 1103515245 + 12345;
			n = 1 + (seed >> 8) % 700;
			if (n > len - at)
				n = len - at;
			ds_tok_stream_feed(&s, doc + at, n, &got, &err);
			at += n;
		}
		ds_tok_stream_finish(&s, &got, &err);
		ds_tok_stream_release(&s);
		same = got.n == whole.n && !memcmp(got.v, whole.v, got.n * sizeof(int32_t));
		checkf(same, "stream encoder, %s, chunk %zu: %zu ids equal encoding %zu bytes whole", what, chunks[c], got.n, len);
		ds_ids_release(&got);
	}
	ds_ids_release(&whole);
}

/* Chunked encoding of a long document must equal encoding it whole. */
static void check_chunks(struct ds_tokenizer *tok)
{
	size_t reps = 4, len = all_len * reps, rlen;
	char *doc = malloc(len + 1), *rnd;

	for (size_t r = 0; r < reps; r++)
		memcpy(doc + r * all_len, all_text, all_len);
	check_stream(tok, doc, len, "edge cases x4");
	free(doc);
	rnd = random_doc(300000, &rlen);
	check_stream(tok, rnd, rlen, "random runs");
	free(rnd);
}

static int collect(const void *p, size_t n, void *ctx)
{
	struct ds_ids *out = ctx;	/* bytes kept as int32 per byte: simple */
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		ds_ids_push(out, b[i]);
	ds_ids_push(out, -1);	/* a write boundary */
	return 0;
}

/* Decoding any ids gives the concatenation of their bytes, and no write
 * ends inside a character that later tokens complete. */
static void check_decoder(struct ds_tokenizer *tok)
{
	uint32_t seed = 777;
	int bad = 0, split = 0, n_ids = ds_tokenizer_n_ids(tok);

	for (int round = 0; round < 300; round++) {
		int32_t ids[40];
		size_t n = 1 + round % 40, l;
		struct ds_tok_decoder d;
		struct ds_ids out = { 0 };
		uint8_t want[40 * 64];
		size_t wl = 0, got = 0;

		for (size_t i = 0; i < n; i++) {
			seed = seed * 1664525 + 1013904223;
			/* bias towards single-byte tokens (split characters) */
			ids[i] = (seed >> 9) % 3 ? (int32_t)((seed >> 12) % 256 + 0) : (int32_t)((seed >> 8) % (uint32_t)n_ids);
			const uint8_t *b = ds_tokenizer_bytes(tok, ids[i], &l);
			if (!b)
				continue;
			memcpy(want + wl, b, l);
			wl += l;
		}
		ds_tok_decoder_init(&d, tok, 0);
		for (size_t i = 0; i < n; i++)
			ds_tok_decoder_put(&d, ids + i, 1, collect, &out);
		ds_tok_decoder_finish(&d, collect, &out);
		{
			/* byte offsets where a write ended */
			uint8_t cut[40 * 64 + 1] = { 0 };
			for (size_t i = 0; i < out.n; i++) {
				if (out.v[i] < 0) {
					cut[got] = 1;
					continue;
				}
				if (got >= wl || want[got] != (uint8_t)out.v[i])
					bad++;
				got++;
			}
			/* no write may end strictly inside a valid character of the stream */
			for (size_t p = 0; p < wl;) {
				int inc;
				size_t L = ds_utf8_seq(want + p, wl - p, &inc);
				if (!L)
					L = 1;
				for (size_t q = p + 1; q < p + L; q++)
					split += cut[q];
				p += L;
			}
		}
		if (got != wl)
			bad++;
		ds_ids_release(&out);
	}
	check("decoder: output is exactly the concatenation of the tokens' bytes", bad == 0);
	check("decoder: no write ends inside an unfinished character", split == 0);
}

/* Every vocabulary id: its bytes, encoded and decoded, come back. */
static void check_vocab(struct ds_tokenizer *tok)
{
	int n_ids = ds_tokenizer_n_ids(tok), valid = 0, bad = 0, single = 0;
	struct ds_error err = { 0 };

	for (int32_t id = 0; id < n_ids; id++) {
		size_t l, total = 0;
		const uint8_t *b = ds_tokenizer_bytes(tok, id, &l);
		struct ds_ids ids = { 0 };

		if (!b || ds_utf8_check(b, l) != l)
			continue;
		valid++;
		ds_tokenizer_encode(tok, (const char *)b, l, &ids, &err);
		for (size_t i = 0; i < ids.n; i++) {
			size_t k;
			const uint8_t *p = ds_tokenizer_bytes(tok, ids.v[i], &k);
			if (total + k > l || memcmp(b + total, p, k))
				bad++;
			total += k;
		}
		if (total != l)
			bad++;
		single += ids.n == 1 && ids.v[0] == id;
		ds_ids_release(&ids);
	}
	checkf(valid > 100000 && bad == 0, "every vocab id: decode(encode(bytes)) == bytes (%d ids)", valid);
	printf("# measured vocab round trip: %d of %d valid-UTF-8 tokens encode back to themselves alone\n", single, valid);
}

int main(void)
{
	struct ds_tokenizer *tok;
	struct ds_error err = { 0 };
	double t0 = ds_seconds();
	int rc = ds_tokenizer_load(&tok, tests_path("../share/deepseek-v3/tokenizer.json"), &err);

	check("load share/deepseek-v3/tokenizer.json", rc == 0);
	if (rc) {
		printf("# %s\n", err.msg);
		return test_done();
	}
	printf("# measured load %.1f ms\n", (ds_seconds() - t0) * 1e3);
	check("ids: 128000 vocab + added up to 128814", ds_tokenizer_n_ids(tok) == 128815);
	check("BOS is an added special token", ds_tokenizer_added_id(tok, "<｜begin▁of▁sentence｜>", strlen("<｜begin▁of▁sentence｜>")) == 0 &&
	      ds_tokenizer_is_special(tok, 0));
	check("<｜User｜> is added but not special", ds_tokenizer_added_id(tok, "<｜User｜>", strlen("<｜User｜>")) == 128803 &&
	      !ds_tokenizer_is_special(tok, 128803));
	check_utf8();
	check_cases(tok, tests_path("../../shared/tokenizer/cases.jsonl"), "shared cases.jsonl", 0);
	check_cases(tok, tests_path("reference/tokenizer/edge-cases.jsonl"), "edge-cases.jsonl", 1);
	check_lossy(tok);
	check_chunks(tok);
	check_decoder(tok);
	check_vocab(tok);
	free(all_text);
	ds_tokenizer_free(tok);
	return test_done();
}
