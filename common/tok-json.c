/*
 * tok-json.c - a small JSON cursor: the fast path tok-load.c uses for the
 * 8 MB tokenizer.json, and string members with NUL characters (JSON
 * \u0000), which cJSON's C strings cannot carry, for --jsonl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "tok-impl.h"
#include "utf8.h"

/* ---- a minimal JSON cursor over the file text ---- */

int tok_jfail(struct jcur *c, const char *what)
{
	return ds_error_set(c->err, EX_CONFIG, "%s: malformed JSON at byte %zu: %s",
			    c->path, (size_t)(c->p - c->base), what);
}

void tok_jws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
		c->p++;
}

int tok_jexpect(struct jcur *c, char ch)
{
	tok_jws(c);
	if (c->p >= c->end || *c->p != ch) {
		char msg[32];
		snprintf(msg, sizeof(msg), "expected '%c'", ch);
		return tok_jfail(c, msg);
	}
	c->p++;
	return 0;
}

/* After a member or element: 1 when a ',' follows (consumed: another one
 * comes), 0 when `close` does (consumed), -1 with the error set otherwise. */
int tok_jnext(struct jcur *c, char close)
{
	tok_jws(c);
	if (c->p < c->end && *c->p == ',') {
		c->p++;
		return 1;
	}
	return tok_jexpect(c, close) ? -1 : 0;
}

/* A string: *s and *n span the raw text between the quotes; *esc says whether
 * it holds escapes (then it needs junescape). */
int tok_jstr(struct jcur *c, const char **s, size_t *n, int *esc)
{
	const char *q;

	tok_jws(c);
	if (c->p >= c->end || *c->p != '"')
		return tok_jfail(c, "expected a string");
	q = ++c->p;
	*esc = 0;
	/* fast path: the closing quote with no backslash before it */
	{
		const char *e = memchr(q, '"', (size_t)(c->end - q));
		if (e && !memchr(q, '\\', (size_t)(e - q))) {
			c->p = e;
			goto closed;
		}
	}
	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\') {
			*esc = 1;
			c->p++;
		}
		c->p++;
	}
	if (c->p >= c->end)
		return tok_jfail(c, "unterminated string");
closed:
	*s = q;
	*n = (size_t)(c->p - q);
	c->p++;
	return 0;
}

static int hexval(const char *s, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = s[i];
		*v <<= 4;
		if (ch >= '0' && ch <= '9') *v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f') *v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F') *v |= (unsigned)(ch - 'A' + 10);
		else return -1;
	}
	return 0;
}

/* Unescape s[0..n) into out (n bytes suffice); returns the length or -1. */
long tok_junescape(const char *s, size_t n, uint8_t *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned cp, lo;

		if (s[i] != '\\') {
			out[o++] = (uint8_t)s[i++];
			continue;
		}
		if (++i >= n)
			return -1;
		switch (s[i++]) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (i + 4 > n || hexval(s + i, &cp))
				return -1;
			i += 4;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' || hexval(s + i + 2, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				i += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				return -1;
			}
			o += ds_utf8_encode(cp, out + o);
			break;
		default:
			return -1;
		}
	}
	return (long)o;
}

int tok_jskip(struct jcur *c, int depth)
{
	const char *s;
	size_t n;
	int esc, more;

	if (depth > 64)
		return tok_jfail(c, "nesting too deep");
	tok_jws(c);
	if (c->p >= c->end)
		return tok_jfail(c, "unexpected end");
	switch (*c->p) {
	case '"':
		return tok_jstr(c, &s, &n, &esc);
	case '{':
	case '[': {
		char close = *c->p == '{' ? '}' : ']';
		int obj = *c->p == '{';
		c->p++;
		tok_jws(c);
		if (c->p < c->end && *c->p == close) {
			c->p++;
			return 0;
		}
		do {
			if (obj && (tok_jstr(c, &s, &n, &esc) || tok_jexpect(c, ':')))
				return c->err->code;
			if (tok_jskip(c, depth + 1))
				return c->err->code;
		} while ((more = tok_jnext(c, close)) > 0);
		return more ? c->err->code : 0;
	}
	default:
		while (c->p < c->end && (strchr("+-.eE", *c->p) || (*c->p >= '0' && *c->p <= '9') ||
					 (*c->p >= 'a' && *c->p <= 'z')))
			c->p++;
		return 0;
	}
}

int ds_tok_json_member(const char *text, size_t len, const char *key, char **out, size_t *outlen,
		       struct ds_error *err)
{
	struct jcur c = { text, text + len, text, err, "JSON" };
	struct ds_error tmp = { 0 };

	if (!err)
		c.err = &tmp;
	if (tok_jexpect(&c, '{'))
		return ds_error_set(err, EX_DATAERR, "not a JSON object");
	tok_jws(&c);
	if (c.p < c.end && *c.p == '}')
		return ds_error_set(err, EX_DATAERR, "no string member \"%s\"", key);
	for (;;) {
		const char *k, *v;
		size_t kn, vn;
		int esc, vesc;
		long n;

		if (tok_jstr(&c, &k, &kn, &esc) || tok_jexpect(&c, ':'))
			return ds_error_set(err, EX_DATAERR, "not a JSON object");
		tok_jws(&c);
		if (!esc && kn == strlen(key) && !memcmp(k, key, kn) && c.p < c.end && *c.p == '"') {
			if (tok_jstr(&c, &v, &vn, &vesc))
				return ds_error_set(err, EX_DATAERR, "bad string");
			*out = ds_xmalloc(vn + 1);
			n = vesc ? tok_junescape(v, vn, (uint8_t *)*out) : (long)vn;
			if (n < 0) {
				free(*out);
				*out = NULL;
				return ds_error_set(err, EX_DATAERR, "bad escape in \"%s\"", key);
			}
			if (!vesc)
				memcpy(*out, v, vn);
			(*out)[n] = 0;
			*outlen = (size_t)n;
			return 0;
		}
		if (tok_jskip(&c, 0))
			return ds_error_set(err, EX_DATAERR, "not valid JSON");
		if (tok_jnext(&c, '}') <= 0)
			return ds_error_set(err, EX_DATAERR, "no string member \"%s\"", key);
	}
}
