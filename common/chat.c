/*
 * chat.c - the V3 and R1 chat templates as C; see chat.h.
 *
 * The renderer walks the messages the way the Jinja template does: first
 * the system messages (joined by a blank line), then BOS, then every
 * message in order with the template's namespace flags.  "missing" (a key
 * absent: Jinja's Undefined) and "null" (None) are kept apart because the
 * templates treat them differently.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "chat.h"
#include "checksum.h"
#include "cli.h"

static const char *const digests[] = {
	/* DeepSeek-V3 tokenizer_config.json chat_template */
	"e077e18f0170fe1c256626669383045b98293886821a5e14faca6e1f6a225053",
	/* DeepSeek-R1 tokenizer_config.json chat_template */
	"151c7ae55fd813baf3dc5f6c688a3e15f2aacfbbc4a5cc1118702e7cb4e9348b",
};

enum ds_chat_template ds_chat_identify(const char *text)
{
	uint8_t d[DS_DIGEST_SIZE];
	char hex[DS_DIGEST_HEX];

	if (!text)
		return DS_CHAT_UNKNOWN;
	ds_hash_buffer(text, strlen(text), d);
	ds_digest_hex(d, hex);
	for (int i = 0; i < 2; i++)
		if (!strcmp(hex, digests[i]))
			return (enum ds_chat_template)i;
	return DS_CHAT_UNKNOWN;
}

const char *ds_chat_name(enum ds_chat_template which)
{
	return which == DS_CHAT_V3 ? "v3" : which == DS_CHAT_R1 ? "r1" : "unknown";
}

struct out {
	char *p;
	size_t len, cap;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2 + 256;
		o->p = ds_xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n + 1);
	o->len += n;
}

struct ctx {
	struct out o;
	struct ds_error *err;
	int index;		/* message being rendered, for errors */
};

/* A member that the template concatenates to a string: it must be one. */
static int need_str(struct ctx *c, const cJSON *obj, const char *key, const char **s)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v)) {
		*s = v->valuestring;
		return 0;
	}
	return ds_error_set(c->err, EX_DATAERR, "message %d: '%s' is %s; the template needs a string",
			    c->index, key, !v ? "missing" : cJSON_IsNull(v) ? "null" : "not a string");
}

static const char *role_of(const cJSON *m)
{
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");
	return cJSON_IsString(r) ? r->valuestring : "";
}

/* Jinja's "x is none": true only for a present null. */
static int is_none(const cJSON *m, const char *key)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(m, key));
}

/* One tool call: type, separator, name, then the arguments in a json fence. */
static int put_call(struct ctx *c, const cJSON *tool)
{
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(tool, "function");
	const char *type, *name, *args;

	if (need_str(c, tool, "type", &type))
		return c->err->code;
	if (!cJSON_IsObject(fn))
		return ds_error_set(c->err, EX_DATAERR, "message %d: a tool call without a 'function' object", c->index);
	if (need_str(c, fn, "name", &name) || need_str(c, fn, "arguments", &args))
		return c->err->code;
	put(&c->o, type);
	put(&c->o, "<｜tool▁sep｜>");
	put(&c->o, name);
	put(&c->o, "\n```json\n");
	put(&c->o, args);
	put(&c->o, "\n```<｜tool▁call▁end｜>");
	return 0;
}

struct flags {
	int is_first, is_tool, is_output_first;
};

/* An assistant message's tool calls.  The templates differ in three
 * places: V3 renders nothing when tool_calls is missing (R1 comes here only
 * when it is present); R1 writes the message's content, unless null, before
 * the first call; V3 closes the list after every call but the first (a
 * quirk kept), R1 once after the last. */
static int tool_calls(struct ctx *c, struct flags *f, const cJSON *m, enum ds_chat_template which)
{
	const cJSON *calls = cJSON_GetObjectItemCaseSensitive(m, "tool_calls"), *tool;
	const char *content;

	f->is_tool = 0;
	if (!calls && which == DS_CHAT_V3)
		return 0;	/* iterating Undefined renders nothing */
	if (!cJSON_IsArray(calls))
		return ds_error_set(c->err, EX_DATAERR, "message %d: 'tool_calls' is not a list", c->index);
	cJSON_ArrayForEach(tool, calls) {
		int first = !f->is_first;

		if (first) {
			put(&c->o, "<｜Assistant｜>");
			if (which == DS_CHAT_R1 && !is_none(m, "content")) {
				if (need_str(c, m, "content", &content))
					return c->err->code;
				put(&c->o, content);
			}
			put(&c->o, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>");
			f->is_first = 1;
		} else {
			put(&c->o, "\n<｜tool▁call▁begin｜>");
		}
		if (put_call(c, tool))
			return c->err->code;
		if (which == DS_CHAT_V3 && !first)
			put(&c->o, "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>");
	}
	if (which == DS_CHAT_R1)
		put(&c->o, "<｜tool▁calls▁end｜><｜end▁of▁sentence｜>");
	return 0;
}

/* The text after the last "</think>", or all of it. */
static const char *after_think(const char *s)
{
	const char *p, *last = NULL;

	for (p = strstr(s, "</think>"); p; p = strstr(p + 1, "</think>"))
		last = p;
	return last ? last + strlen("</think>") : s;
}

static int message(struct ctx *c, struct flags *f, const cJSON *m, enum ds_chat_template which)
{
	const char *role = role_of(m), *content;

	if (!strcmp(role, "user")) {
		f->is_tool = 0;
		if (need_str(c, m, "content", &content))
			return c->err->code;
		put(&c->o, "<｜User｜>");
		put(&c->o, content);
	}
	if (!strcmp(role, "assistant")) {
		int calls = which == DS_CHAT_V3 ? is_none(m, "content")
						: cJSON_GetObjectItemCaseSensitive(m, "tool_calls") != NULL;
		if (calls)
			return tool_calls(c, f, m, which);
		if (need_str(c, m, "content", &content))
			return c->err->code;
		if (f->is_tool) {
			put(&c->o, "<｜tool▁outputs▁end｜>");
			put(&c->o, content);
			f->is_tool = 0;
		} else {
			put(&c->o, "<｜Assistant｜>");
			put(&c->o, which == DS_CHAT_R1 ? after_think(content) : content);
		}
		put(&c->o, "<｜end▁of▁sentence｜>");
	}
	if (!strcmp(role, "tool")) {
		f->is_tool = 1;
		if (need_str(c, m, "content", &content))
			return c->err->code;
		if (f->is_output_first) {
			put(&c->o, "<｜tool▁outputs▁begin｜>");
			f->is_output_first = 0;
		} else if (which == DS_CHAT_V3) {
			put(&c->o, "\n");
		}
		put(&c->o, "<｜tool▁output▁begin｜>");
		put(&c->o, content);
		put(&c->o, "<｜tool▁output▁end｜>");
	}
	return 0;
}

static int render(struct ctx *c, const cJSON *msgs, enum ds_chat_template which, int gen, const char *bos)
{
	struct flags f = { 0, 0, 1 };
	const cJSON *m;
	int first_sp = 1;

	if (bos)
		put(&c->o, bos);
	c->index = 0;
	cJSON_ArrayForEach(m, msgs) {
		const char *content;
		if (!cJSON_IsObject(m))
			return ds_error_set(c->err, EX_DATAERR, "message %d is not an object", c->index);
		if (!strcmp(role_of(m), "system")) {
			if (need_str(c, m, "content", &content))
				return c->err->code;
			if (!first_sp)
				put(&c->o, "\n\n");
			put(&c->o, content);
			first_sp = 0;
		}
		c->index++;
	}
	c->index = 0;
	cJSON_ArrayForEach(m, msgs) {
		if (message(c, &f, m, which))
			return c->err->code;
		c->index++;
	}
	if (f.is_tool)
		put(&c->o, "<｜tool▁outputs▁end｜>");
	if (gen && !f.is_tool)
		put(&c->o, which == DS_CHAT_R1 ? "<｜Assistant｜><think>\n" : "<｜Assistant｜>");
	return 0;
}

int ds_chat_render(enum ds_chat_template which, const char *json, size_t len, int gen,
		   const char *bos, char **out, size_t *outlen, struct ds_error *err)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *msgs = root;
	struct ctx c = { { NULL, 0, 0 }, err, 0 };
	int rc;

	if (!root)
		return ds_error_set(err, EX_DATAERR, "messages: not valid JSON");
	if (cJSON_IsObject(root))
		msgs = cJSON_GetObjectItemCaseSensitive(root, "messages");
	if (!cJSON_IsArray(msgs)) {
		cJSON_Delete(root);
		return ds_error_set(err, EX_DATAERR, "messages: expected a JSON array of messages");
	}
	if (which != DS_CHAT_V3 && which != DS_CHAT_R1) {
		cJSON_Delete(root);
		return ds_error_set(err, EX_CONFIG, "no built-in renderer for this chat template");
	}
	put(&c.o, "");
	rc = render(&c, msgs, which, gen, bos);
	cJSON_Delete(root);
	if (rc) {
		free(c.o.p);
		return rc;
	}
	*out = c.o.p;
	*outlen = c.o.len;
	return 0;
}
