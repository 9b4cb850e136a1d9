/*
 * test-generate.c - generate.h's reply text: what may be shown token by
 * token while stop strings could still begin, where a stop string cuts the
 * text, and which tokens are kept (those wholly before it), with stops
 * inside one token, across tokens, at the start, among several, never
 * completed, and after tokens without bytes.
 */
#include <string.h>

#include "generate.h"
#include "testhelp.h"

/* Feed tokens (NULL-terminated); the shown text goes to out. */
static void feed(struct ds_gen_text *t, const char *const *tokens, char *out, size_t *shown_after)
{
	size_t o = 0;

	out[0] = 0;
	for (size_t i = 0; tokens[i]; i++) {
		const char *p;
		size_t n = ds_gen_text_add(t, tokens[i], strlen(tokens[i]), &p);

		memcpy(out + o, p, n);
		o += n;
		out[o] = 0;
		if (shown_after)
			shown_after[i] = o;
	}
}

static void flush(struct ds_gen_text *t, char *out)
{
	const char *p;
	size_t o = strlen(out), n = ds_gen_text_flush(t, &p);

	memcpy(out + o, p, n);
	out[o + n] = 0;
}

int main(void)
{
	struct ds_gen_text t;
	char out[256];
	size_t after[8];

	{
		static const char *const tok[] = { "Hel", "lo", " World", NULL };
		ds_gen_text_init(&t, NULL, 0);
		feed(&t, tok, out, after);
		check("no stop strings: every token's text is shown at once",
		      !strcmp(out, "Hello World") && after[0] == 3 && after[1] == 5 && t.stop_at < 0);
		flush(&t, out);
		check("no stop strings: nothing is left to flush", !strcmp(out, "Hello World"));
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "o W" };
		static const char *const tok[] = { "Hel", "lo W", "orld", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, after);
		check("a stop inside a token: the text before it is shown",
		      !strcmp(out, "Hell") && t.stop_at == 4);
		check("the token that holds the stop's start is not kept", t.kept == 1);
		check("tokens after the stop show nothing", after[2] == 4 && t.ntok == 2);
		flush(&t, out);
		check("nothing is flushed after a stop", !strcmp(out, "Hell"));
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "ab" };
		static const char *const tok[] = { "xa", "bz", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, after);
		check("a possible stop start is held back", after[0] == 1);
		check("a stop across two tokens: the text before it, and neither token kept",
		      !strcmp(out, "x") && t.stop_at == 1 && t.kept == 0);
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "abc" };
		static const char *const tok[] = { "xab", "d", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, after);
		check("a held start that goes another way is shown with the next token",
		      after[0] == 1 && !strcmp(out, "xabd") && t.stop_at < 0);
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "abc" };
		static const char *const tok[] = { "xab", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, NULL);
		flush(&t, out);
		check("at the end the held bytes are shown", !strcmp(out, "xab") && t.shown == 3);
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "World", "lo" };
		static const char *const tok[] = { "Hello", " World", NULL };
		ds_gen_text_init(&t, stops, 2);
		feed(&t, tok, out, NULL);
		check("of several stops the earliest cuts", !strcmp(out, "Hel") && t.stop_at == 3 && t.kept == 0);
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "\n\n" };
		static const char *const tok[] = { "A", ".", "\n\n", "B", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, NULL);
		check("a stop that is a whole token keeps the tokens before it",
		      !strcmp(out, "A.") && t.kept == 2);
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "Hi" };
		static const char *const tok[] = { "Hi", " there", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, NULL);
		check("a stop at the first token: nothing shown, nothing kept",
		      !strcmp(out, "") && t.stop_at == 0 && t.kept == 0);
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "b" };
		static const char *const tok[] = { "", "ab", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, NULL);
		check("a token without bytes before the stop is kept", t.kept == 1 && !strcmp(out, "a"));
		ds_gen_text_release(&t);
	}
	{
		static const char *const stops[] = { "\xe4\xbd\xa0" };	/* U+4F60 */
		static const char *const tok[] = { "\xe4", "\xbd", "\xff", NULL };
		ds_gen_text_init(&t, stops, 1);
		feed(&t, tok, out, after);
		check("bytes are matched as bytes: a split character is held, then shown as it is",
		      after[0] == 0 && after[1] == 0 && !strcmp(out, "\xe4\xbd\xff") && t.len == 3);
		ds_gen_text_release(&t);
	}
	return test_done();
}
