/*
 * test-tokenizer-chat.c - the built-in V3 and R1 chat renderers against
 * the real templates rendered by jinja2 (reference/tokenizer/chat-cases.jsonl):
 * the same text, the same ids, and an error wherever Jinja raised.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "chat.h"
#include "testhelp.h"
#include "tokenizer.h"

static void check_identify(void)
{
	struct ds_tok_config cfg;
	struct ds_error err = { 0 };

	check("V3 tokenizer_config.json loads", ds_tok_config_load(&cfg, tests_path("../share/deepseek-v3/tokenizer_config.json"), &err) == 0);
	check("V3 says add_bos_token", cfg.add_bos == 1);
	check("V3 template recognised as v3", ds_chat_identify(cfg.chat_template) == DS_CHAT_V3);
	ds_tok_config_release(&cfg);
	check("R1 fixture config loads", ds_tok_config_load(&cfg, tests_path("fixtures/tokenizer/r1/tokenizer_config.json"), &err) == 0);
	check("R1 template recognised as r1", ds_chat_identify(cfg.chat_template) == DS_CHAT_R1);
	ds_tok_config_release(&cfg);
	check("a changed template is not recognised", ds_chat_identify("{{ messages }}") == DS_CHAT_UNKNOWN);
}

/* Added tokens inside (or reaching into) a literal range are plain text;
 * outside they are tokens as ever. */
static void check_literal(struct ds_tokenizer *tok)
{
	static const char text[] = "<｜User｜>a<｜User｜>b<｜User｜>";
	size_t u = strlen("<｜User｜>"), span[1][2] = { { u, u + 1 + u } };	/* "a<｜User｜>" */
	size_t cut[1][2] = { { u + 1 + 2, u + 1 + 3 } };	/* a byte inside the second marker */
	struct ds_error err = { 0 };
	struct ds_ids a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
	int32_t user = ds_tokenizer_added_id(tok, "<｜User｜>", u);
	size_t nuser = 0;

	ds_tokenizer_encode(tok, text, sizeof(text) - 1, &a, &err);
	ds_tokenizer_encode_literal(tok, text, sizeof(text) - 1, NULL, 0, &b, &err);
	check("literal: no ranges is ds_tokenizer_encode", a.n == b.n && !memcmp(a.v, b.v, a.n * sizeof(*a.v)));
	ds_tokenizer_encode_literal(tok, text, sizeof(text) - 1, (const size_t (*)[2])span, 1, &c, &err);
	for (size_t i = 0; i < c.n; i++)
		nuser += c.v[i] == user;
	check("literal: the marker inside the range is text, the two outside stay tokens",
	      a.n == 5 && nuser == 2 && c.v[0] == user && c.v[c.n - 1] == user);
	ds_tokenizer_encode_literal(tok, text, sizeof(text) - 1, (const size_t (*)[2])cut, 1, &d, &err);
	nuser = 0;
	for (size_t i = 0; i < d.n; i++)
		nuser += d.v[i] == user;
	check("literal: a marker a range reaches into is not a token either", nuser == 2);
	ds_ids_release(&a);
	ds_ids_release(&b);
	ds_ids_release(&c);
	ds_ids_release(&d);
}

int main(void)
{
	struct ds_tokenizer *tok;
	struct ds_error err = { 0 };
	FILE *fp = fopen(tests_path("reference/tokenizer/chat-cases.jsonl"), "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0, text_bad = 0, ids_bad = 0, err_bad = 0, errors = 0, lit_n = 0, lit_bad = 0;

	check_identify();
	if (ds_tokenizer_load(&tok, tests_path("../share/deepseek-v3/tokenizer.json"), &err)) {
		check("load tokenizer", 0);
		return test_done();
	}
	check("chat-cases.jsonl is there", fp != NULL);
	while (fp && getline(&line, &cap, fp) > 0) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *msgs = cJSON_GetObjectItem(j, "messages");
		const cJSON *want = cJSON_GetObjectItem(j, "text");
		const cJSON *ids = cJSON_GetObjectItem(j, "ids");
		const char *name = cJSON_GetObjectItem(j, "name")->valuestring;
		enum ds_chat_template t = strcmp(cJSON_GetObjectItem(j, "template")->valuestring, "r1") ? DS_CHAT_V3 : DS_CHAT_R1;
		int gen = cJSON_IsTrue(cJSON_GetObjectItem(j, "generation_prompt"));
		char *m = cJSON_PrintUnformatted(msgs), *out = NULL;
		size_t outlen = 0;
		int rc = ds_chat_render(t, m, strlen(m), gen, "<｜begin▁of▁sentence｜>", &out, &outlen, &err);

		n++;
		if (cJSON_GetObjectItem(j, "error")) {
			errors++;
			if (rc != EX_DATAERR) {
				err_bad++;
				printf("# %s/%s: Jinja raised, we rendered\n", name, ds_chat_name(t));
			}
		} else if (rc || strlen(want->valuestring) != outlen || memcmp(out, want->valuestring, outlen)) {
			text_bad++;
			printf("# %s/%s gen=%d: text differs (%s)\n#   got:  %s\n#   want: %s\n", name, ds_chat_name(t), gen,
			       rc ? err.msg : "", out ? out : "", want->valuestring);
		} else {
			struct ds_ids got = { 0 };
			int same;
			ds_tokenizer_encode(tok, out, outlen, &got, &err);
			same = (size_t)cJSON_GetArraySize(ids) == got.n;
			for (size_t i = 0; same && i < got.n; i++)
				same = cJSON_GetArrayItem(ids, (int)i)->valueint == got.v[i];
			ids_bad += !same;
			{	/* the message text's ranges, encoded literally */
				struct ds_chat_opts o = { gen, "<｜begin▁of▁sentence｜>", 0 };
				struct ds_chat_text ct;
				struct ds_ids lit = { 0 };
				int angle = 0;
				if (ds_chat_render_text(t, m, strlen(m), &o, &ct, &err) == 0) {
					for (size_t k = 0; k < ct.nliteral; k++)
						angle |= memchr(ct.text + ct.literal[k][0], '<', ct.literal[k][1] - ct.literal[k][0]) != NULL;
					ds_tokenizer_encode_literal(tok, ct.text, ct.len, (const size_t (*)[2])ct.literal,
								    ct.nliteral, &lit, &err);
					if (!angle) {
						lit_n++;
						lit_bad += lit.n != got.n || memcmp(lit.v, got.v, got.n * sizeof(*got.v));
					}
					ds_ids_release(&lit);
					ds_chat_text_release(&ct);
				} else {
					lit_bad++;
				}
			}
			ds_ids_release(&got);
		}
		free(out);
		free(m);
		cJSON_Delete(j);
	}
	free(line);
	if (fp)
		fclose(fp);
	checkf(n > 40 && lit_bad == 0 && lit_n > 20,
	       "chat: %d renderings whose message text holds no '<': the literal encoding gives the same ids", lit_n);
	checkf(n > 40 && text_bad == 0, "chat: %d renderings match jinja2's text", n - errors - text_bad);
	checkf(n > 40 && ids_bad == 0, "chat: their ids match the reference tokenizer's");
	checkf(errors > 0 && err_bad == 0, "chat: all %d renderings where Jinja raises fail with 65", errors);
	check_literal(tok);
	ds_tokenizer_free(tok);
	return test_done();
}
