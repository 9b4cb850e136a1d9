/*
 * test-tokenizer-unicode.c - the PCRE2 translation of tokenizer.json's
 * Split regexes matches the reference's character classes on every code
 * point (onig-classes.txt, generated from Hugging Face tokenizers), and
 * tokenizer.json pieces we do not implement are refused, not guessed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "testhelp.h"
#include "tok-impl.h"
#include "utf8.h"

/* One class: the reference's ranges vs the translated pattern, per code point. */
static void check_class(const char *name, const char *ranges)
{
	static uint8_t in[0x110000];
	struct tok_step st = { 0 };
	struct ds_error err = { 0 };
	char pat[16];
	unsigned a, b;
	int off, bad = 0, n = 0;
	const char *p = ranges;

	memset(in, 0, sizeof(in));
	while (sscanf(p, " %x-%x%n", &a, &b, &off) == 2) {
		for (unsigned c = a; c <= b && c < 0x110000; c++)
			in[c] = 1;
		p += off;
	}
	snprintf(pat, sizeof(pat), "%s+", name);
	if (tok_regex_compile(&st, pat, strlen(pat), 0, &err)) {
		checkf(0, "%s compiles (%s)", name, err.msg);
		return;
	}
	for (uint32_t c = 0; c < 0x110000; c++) {
		uint8_t u[4];
		size_t l;
		int m;

		if (c >= 0xD800 && c < 0xE000)
			continue;
		l = ds_utf8_encode(c, u);
		m = pcre2_match(st.re, u, l, 0, PCRE2_ANCHORED, st.md, NULL) > 0;
		if (m != in[c] && ++bad <= 3)
			printf("# %s: U+%04X reference %d, ours %d\n", name, c, in[c], m);
		n++;
	}
	tok_step_free(&st);
	checkf(bad == 0, "%s matches the reference's class on all %d code points", name, n);
}

static int load_json(const char *json, struct ds_error *err)
{
	char path[] = "/tmp/ds-tok-test-XXXXXX";
	int fd = mkstemp(path);
	struct ds_tokenizer *t = NULL;
	int rc;

	if (fd < 0 || write(fd, json, strlen(json)) != (ssize_t)strlen(json))
		return -1;
	close(fd);
	rc = ds_tokenizer_load(&t, path, err);
	unlink(path);
	ds_tokenizer_free(t);
	return rc;
}

/* A tiny byte-level tokenizer.json with a given pre_tokenizer / extra members. */
static void check_refused(const char *what, const char *pre, const char *extra)
{
	static char json[1 << 16];
	struct ds_error err = { 0 };
	size_t o = 0;
	int rc;

	o += (size_t)snprintf(json + o, sizeof(json) - o, "{\"added_tokens\":[],\"normalizer\":null,\"pre_tokenizer\":%s,"
			      "\"decoder\":{\"type\":\"ByteLevel\"},%s\"model\":{\"type\":\"BPE\",\"dropout\":null,"
			      "\"unk_token\":null,\"byte_fallback\":false,\"vocab\":{", pre, extra);
	for (int b = 0; b < 256; b++) {
		/* the byte-level alphabet: printable bytes stand for themselves */
		int pr = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
		static int next = 256;
		uint32_t cp = pr ? (uint32_t)b : (uint32_t)next++;
		uint8_t u[4];
		size_t l = ds_utf8_encode(cp, u);
		if (b == 255)
			next = 256;
		o += (size_t)snprintf(json + o, sizeof(json) - o, "%s\"", b ? "," : "");
		if (cp == '"' || cp == '\\')
			json[o++] = '\\';
		memcpy(json + o, u, l);
		o += l;
		o += (size_t)snprintf(json + o, sizeof(json) - o, "\":%d", b);
	}
	snprintf(json + o, sizeof(json) - o, "},\"merges\":[]}}");
	rc = load_json(json, &err);
	if (!strcmp(what, "a minimal tokenizer.json loads"))
		checkf(rc == 0, "%s (%s)", what, err.msg);
	else
		checkf(rc == EX_CONFIG && err.msg[0], "refused: %s (%s)", what, err.msg);
}

int main(void)
{
	FILE *fp = fopen(tests_path("reference/tokenizer/onig-classes.txt"), "r");
	char *line = NULL;
	size_t cap = 0;
	int classes = 0;
	const char *bl = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}";
	char pre[512];

	check("fixture onig-classes.txt is there", fp != NULL);
	while (fp && getline(&line, &cap, fp) > 0) {
		char name[16];
		int off;
		if (line[0] == '#' || sscanf(line, "%15s%n", name, &off) != 1)
			continue;
		check_class(name, line + off);
		classes++;
	}
	free(line);
	if (fp)
		fclose(fp);
	check("six classes compared", classes == 6);

	check_refused("a minimal tokenizer.json loads", bl, "");
	snprintf(pre, sizeof(pre), "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\w+\"},\"behavior\":\"Isolated\",\"invert\":false},%s]}", bl);
	check_refused("\\w (Unicode tables not compared)", pre, "");
	snprintf(pre, sizeof(pre), "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"\\\\p{Han}\"},\"behavior\":\"Isolated\",\"invert\":false},%s]}", bl);
	check_refused("\\p{Han}", pre, "");
	snprintf(pre, sizeof(pre), "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"MergedWithPrevious\",\"invert\":false},%s]}", bl);
	check_refused("Split behavior MergedWithPrevious", pre, "");
	snprintf(pre, sizeof(pre), "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a*\"},\"behavior\":\"Isolated\",\"invert\":false},%s]}", bl);
	check_refused("a regex that matches the empty string", pre, "");
	snprintf(pre, sizeof(pre), "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(?i)a\"},\"behavior\":\"Isolated\",\"invert\":false},%s]}", bl);
	check_refused("an inline option", pre, "");
	check_refused("a pre_tokenizer without ByteLevel", "{\"type\":\"Whitespace\"}", "");
	check_refused("ByteLevel with use_regex", "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}", "");
	check_refused("a normalizer", bl, "\"normalizer\":{\"type\":\"NFC\"},");
	check_refused("a WordPiece decoder", bl, "\"decoder\":{\"type\":\"WordPiece\"},");
	{
		char v[32];
		pcre2_config(PCRE2_CONFIG_UNICODE_VERSION, v);
		checkf(!strcmp(v, tok_unicode_pcre2_version), "PCRE2 Unicode %s == %s (else regenerate tok-unicode.c)", v,
		       tok_unicode_pcre2_version);
	}
	return test_done();
}
