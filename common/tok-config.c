/*
 * tok-config.c - the few fields of tokenizer_config.json that encoding
 * needs (add_bos_token, bos/eos tokens, chat_template), and where the
 * tokenizer files are found when the user names none.
 */
#include <cjson/cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli.h"
#include "tok-impl.h"
#include "fileio.h"

static char *token_text(const cJSON *j)
{
	if (cJSON_IsObject(j))
		j = cJSON_GetObjectItemCaseSensitive(j, "content");
	return cJSON_IsString(j) ? ds_xstrdup(j->valuestring) : NULL;
}

int ds_tok_config_load(struct ds_tok_config *cfg, const char *path, struct ds_error *err)
{
	char *text;
	size_t n;
	cJSON *j;
	const cJSON *v;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->add_bos = -1;
	if ((rc = ds_read_file(path, SIZE_MAX, EX_CONFIG, &text, &n, err)))
		return rc;
	j = cJSON_ParseWithLength(text, n);
	free(text);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return ds_error_set(err, EX_CONFIG, "%s: not a JSON object", path);
	}
	v = cJSON_GetObjectItemCaseSensitive(j, "add_bos_token");
	if (cJSON_IsBool(v))
		cfg->add_bos = cJSON_IsTrue(v);
	cfg->bos_token = token_text(cJSON_GetObjectItemCaseSensitive(j, "bos_token"));
	cfg->eos_token = token_text(cJSON_GetObjectItemCaseSensitive(j, "eos_token"));
	v = cJSON_GetObjectItemCaseSensitive(j, "chat_template");
	if (cJSON_IsString(v))
		cfg->chat_template = ds_xstrdup(v->valuestring);
	cJSON_Delete(j);
	return 0;
}

void ds_tok_config_release(struct ds_tok_config *cfg)
{
	free(cfg->bos_token);
	free(cfg->eos_token);
	free(cfg->chat_template);
	memset(cfg, 0, sizeof(*cfg));
}

int ds_tok_default_dir(char *out, size_t outsz)
{
	static const char *const rel[] = { "../share/dspipe/deepseek-v3", "../share/deepseek-v3" };
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -1;
	*slash = 0;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		char probe[PATH_MAX + 64];
		snprintf(probe, sizeof(probe), "%s/%s/tokenizer.json", exe, rel[i]);
		if (access(probe, R_OK) == 0 && (size_t)snprintf(out, outsz, "%s/%s", exe, rel[i]) < outsz)
			return 0;
	}
	return -1;
}
