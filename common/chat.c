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
	size_t (*lit)[2];	/* byte ranges written by put_lit */
	size_t nlit, litcap;
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

/* Text that comes from the messages, not from the template: its range is
 * recorded (joined to the previous one when they touch). */
static void put_lit(struct out *o, const char *s)
{
	size_t at = o->len;

	put(o, s);
	if (o->len == at)
		return;
	if (o->nlit && o->lit[o->nlit - 1][1] == at) {
		o->lit[o->nlit - 1][1] = o->len;
		return;
	}
	if (o->nlit == o->litcap) {
		o->litcap = o->litcap ? 2 * o->litcap : 16;
		o->lit = ds_xrealloc(o->lit, o->litcap * sizeof(*o->lit));
	}
	o->lit[o->nlit][0] = at;
	o->lit[o->nlit][1] = o->len;
	o->nlit++;
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
	put_lit(&c->o, type);
	put(&c->o, "<｜tool▁sep｜>");
	put_lit(&c->o, name);
	put(&c->o, "\n```json\n");
	put_lit(&c->o, args);
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
				put_lit(&c->o, content);
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
		put_lit(&c->o, content);
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
			put_lit(&c->o, content);
			f->is_tool = 0;
		} else {
			put(&c->o, "<｜Assistant｜>");
			put_lit(&c->o, which == DS_CHAT_R1 ? after_think(content) : content);
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
		put_lit(&c->o, content);
		put(&c->o, "<｜tool▁output▁end｜>");
	}
	return 0;
}

static int known_role(const char *r)
{
	return !strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant") || !strcmp(r, "tool");
}

static int render(struct ctx *c, const cJSON *msgs, enum ds_chat_template which, int gen, const char *bos,
		  int strict)
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
		if (strict && !known_role(role_of(m)))
			return ds_error_set(c->err, EX_DATAERR,
					    cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "role"))
						    ? "message %d: unknown role '%.64s' (system, user, assistant or tool)"
						    : "message %d: no role%.0s (system, user, assistant or tool)",
					    c->index, role_of(m));
		if (!strcmp(role_of(m), "system")) {
			if (need_str(c, m, "content", &content))
				return c->err->code;
			if (!first_sp)
				put(&c->o, "\n\n");
			put_lit(&c->o, content);
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

int ds_chat_render_text(enum ds_chat_template which, const char *json, size_t len, const struct ds_chat_opts *o,
			struct ds_chat_text *out, struct ds_error *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	const cJSON *msgs = root;
	struct ctx c = { { NULL, 0, 0, NULL, 0, 0 }, err, 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!root)
		return ds_error_set(err, EX_DATAERR, "messages: not valid JSON");
	while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
		end++;
	if (end < json + len) {
		cJSON_Delete(root);
		return ds_error_set(err, EX_DATAERR, "messages: text after the JSON value (byte %zu)", (size_t)(end - json));
	}
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
	rc = render(&c, msgs, which, o->add_generation_prompt, o->bos, o->strict_roles);
	cJSON_Delete(root);
	if (rc) {
		free(c.o.p);
		free(c.o.lit);
		return rc;
	}
	out->text = c.o.p;
	out->len = c.o.len;
	out->literal = c.o.lit;
	out->nliteral = c.o.nlit;
	return 0;
}

void ds_chat_text_release(struct ds_chat_text *t)
{
	free(t->text);
	free(t->literal);
	memset(t, 0, sizeof(*t));
}

int ds_chat_render(enum ds_chat_template which, const char *json, size_t len, int gen,
		   const char *bos, char **out, size_t *outlen, struct ds_error *err)
{
	struct ds_chat_opts o = { gen, bos, 0 };
	struct ds_chat_text t;
	int rc = ds_chat_render_text(which, json, len, &o, &t, err);

	if (rc)
		return rc;
	free(t.literal);
	*out = t.text;
	*outlen = t.len;
	return 0;
}
