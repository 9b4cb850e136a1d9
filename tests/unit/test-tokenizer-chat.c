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

int main(void)
{
	struct ds_tokenizer *tok;
	struct ds_error err = { 0 };
	FILE *fp = fopen(tests_path("reference/tokenizer/chat-cases.jsonl"), "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0, text_bad = 0, ids_bad = 0, err_bad = 0, errors = 0;

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
			ds_ids_release(&got);
		}
		free(out);
		free(m);
		cJSON_Delete(j);
	}
	free(line);
	if (fp)
		fclose(fp);
	checkf(n > 40 && text_bad == 0, "chat: %d renderings match jinja2's text", n - errors - text_bad);
	checkf(n > 40 && ids_bad == 0, "chat: their ids match the reference tokenizer's");
	checkf(errors > 0 && err_bad == 0, "chat: all %d renderings where Jinja raises fail with 65", errors);
	ds_tokenizer_free(tok);
	return test_done();
}
