/*
 * tok-regex.c - Split patterns from tokenizer.json, compiled for PCRE2 so
 * that they split exactly as the reference (Oniguruma, Ruby syntax) does.
 *
 * The translation is deliberately narrow.  It rewrites what differs and
 * refuses what it cannot vouch for:
 *   \p{L} \p{M} \p{N} \p{P} \p{S}   + the code points of tok-unicode.c
 *   \P{X} (outside a class)         the complement of the above
 *   \s  \S                          without / with U+180E
 *   \v                              vertical tab (Oniguruma), not PCRE2's class
 *   \uHHHH                          \x{HHHH}
 *   ^ $                             line anchors (PCRE2_MULTILINE), as in Ruby
 * and refuses \d \w \b \h \R \X, other Unicode properties, back-references,
 * POSIX and nested classes, and inline options, whose meaning differs
 * between the engines or whose Unicode tables we have not compared.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli.h"
#include "tok-impl.h"

struct sbuf {
	char *p;
	size_t len, cap;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = ds_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

static const struct tok_uclass *uclass(char name)
{
	for (int i = 0; i < 5; i++)
		if (tok_uclass_extra[i].name == name)
			return &tok_uclass_extra[i];
	return NULL;
}

static void put_extras(struct sbuf *b, const struct tok_uclass *u)
{
	char tmp[48];

	for (size_t i = 0; i < u->n; i++) {
		if (u->ranges[i][0] == u->ranges[i][1])
			snprintf(tmp, sizeof(tmp), "\\x{%x}", u->ranges[i][0]);
		else
			snprintf(tmp, sizeof(tmp), "\\x{%x}-\\x{%x}", u->ranges[i][0], u->ranges[i][1]);
		puts_(b, tmp);
	}
}

static int refuse(struct ds_error *err, const char *pat, size_t at, const char *what)
{
	return ds_error_set(err, EX_CONFIG, "pre_tokenizer regex: %s at offset %zu of '%s' is not supported",
			    what, at, pat);
}

/* Translate an Oniguruma pattern into PCRE2 syntax; see the file comment. */
static int translate(const char *pat, size_t n, struct sbuf *out, struct ds_error *err)
{
	int in_class = 0;	/* inside [...] */

	for (size_t i = 0; i < n; i++) {
		char c = pat[i];

		if (c == '[') {
			if (in_class)
				return refuse(err, pat, i, "a nested class or POSIX class");
			in_class = 1;
			put(out, "[", 1);
			if (i + 1 < n && pat[i + 1] == '^') {
				put(out, "^", 1);
				i++;
			}
			/* a ']' first in a class is a literal in both engines */
			if (i + 1 < n && pat[i + 1] == ']') {
				put(out, "\\]", 2);
				i++;
			}
			continue;
		}
		if (c == ']' && in_class) {
			in_class = 0;
			put(out, "]", 1);
			continue;
		}
		if (c == '&' && in_class && i + 1 < n && pat[i + 1] == '&')
			return refuse(err, pat, i, "class intersection '&&'");
		if (c == '(' && !in_class && i + 1 < n && pat[i + 1] == '?') {
			char k = i + 2 < n ? pat[i + 2] : 0;
			if (!(k == ':' || k == '=' || k == '!' || k == '>' || k == '<'))
				return refuse(err, pat, i, "an inline option group");
			if (k == '<' && i + 3 < n && pat[i + 3] != '=' && pat[i + 3] != '!')
				return refuse(err, pat, i, "a named group");
		}
		if (c != '\\') {
			put(out, &c, 1);
			continue;
		}
		if (++i >= n)
			return refuse(err, pat, i - 1, "a trailing backslash");
		c = pat[i];
		switch (c) {
		case 'p':
		case 'P': {
			char name[16];
			size_t k = 0;
			const struct tok_uclass *u;

			if (i + 1 < n && pat[i + 1] == '{') {
				size_t j = i + 2;
				while (j < n && pat[j] != '}' && k + 1 < sizeof(name))
					name[k++] = pat[j++];
				if (j >= n || pat[j] != '}')
					return refuse(err, pat, i - 1, "an unterminated \\p{...}");
				i = j;
			} else if (i + 1 < n) {
				name[k++] = pat[++i];
			}
			name[k] = 0;
			u = k == 1 ? uclass(name[0]) : NULL;
			if (!u)
				return refuse(err, pat, i, "a Unicode property other than L, M, N, P, S");
			if (in_class && c == 'P')
				return refuse(err, pat, i, "\\P{...} inside a class");
			if (!in_class)
				puts_(out, c == 'P' ? "[^" : "[");
			put(out, "\\p{", 3);
			put(out, name, 1);
			put(out, "}", 1);
			put_extras(out, u);
			if (!in_class)
				put(out, "]", 1);
			break;
		}
		case 's':
			if (in_class)
				return refuse(err, pat, i, "\\s inside a class");
			puts_(out, "[^\\S\\x{180e}]");
			break;
		case 'S':
			puts_(out, in_class ? "\\S\\x{180e}" : "[\\S\\x{180e}]");
			break;
		case 'v':
			puts_(out, "\\x{0b}");
			break;
		case 'u': {
			char tmp[16];
			if (i + 4 >= n)
				return refuse(err, pat, i, "a short \\u escape");
			snprintf(tmp, sizeof(tmp), "\\x{%.4s}", pat + i + 1);
			puts_(out, tmp);
			i += 4;
			break;
		}
		case 'n': case 'r': case 't': case 'f': case 'a': case 'e':
		case 'x': case 'A': case 'z': case 'Z':
			put(out, "\\", 1);
			put(out, &c, 1);
			break;
		default:
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
				return refuse(err, pat, i - 1, "this escape");
			put(out, "\\", 1);	/* an escaped literal */
			put(out, &c, 1);
		}
	}
	if (in_class)
		return refuse(err, pat, n, "an unterminated class");
	return 0;
}

int tok_regex_compile(struct tok_step *st, const char *pattern, size_t len, int literal,
		      struct ds_error *err)
{
	struct sbuf b = { 0 };
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE;
	int ecode;
	PCRE2_SIZE eoff;

	if (!cc)
		ds_die(EX_OSERR, "out of memory");
	pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	if (literal) {
		put(&b, pattern, len);
		opts |= PCRE2_LITERAL;
		opts &= ~(uint32_t)PCRE2_UCP;
	} else if (translate(pattern, len, &b, err)) {
		free(b.p);
		pcre2_compile_context_free(cc);
		return err->code;
	}
	st->re = pcre2_compile((PCRE2_SPTR)b.p, b.len, opts, &ecode, &eoff, cc);
	pcre2_compile_context_free(cc);
	if (!st->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ecode, msg, sizeof(msg));
		ds_error_set(err, EX_CONFIG, "pre_tokenizer regex '%s': %s at offset %zu", pattern,
			     (const char *)msg, (size_t)eoff);
		free(b.p);
		return EX_CONFIG;
	}
	free(b.p);
	{
		uint32_t minlen = 1;
		pcre2_pattern_info(st->re, PCRE2_INFO_MINLENGTH, &minlen);
		if (minlen == 0) {
			pcre2_code_free(st->re);
			st->re = NULL;
			return ds_error_set(err, EX_CONFIG, "pre_tokenizer regex '%s' can match the empty string (not supported)", pattern);
		}
	}
	/* JIT is an optimisation: without it PCRE2's interpreter gives the same matches */
	st->jit = pcre2_jit_compile(st->re, PCRE2_JIT_COMPLETE) == 0;
	st->md = pcre2_match_data_create_from_pattern(st->re, NULL);
	if (!st->md)
		ds_die(EX_OSERR, "out of memory");
	st->kind = STEP_SPLIT;
	return 0;
}

int tok_step_digits(struct tok_step *st, int individual, struct ds_error *err)
{
	/* Rust's char::is_numeric is the general category N, like \p{N} */
	const char *pat = individual ? "\\p{N}" : "\\p{N}+";

	st->behavior = SPLIT_ISOLATED;
	return tok_regex_compile(st, pat, strlen(pat), 0, err);
}

void tok_step_free(struct tok_step *st)
{
	if (st->md)
		pcre2_match_data_free(st->md);
	if (st->re)
		pcre2_code_free(st->re);
	st->md = NULL;
	st->re = NULL;
}
