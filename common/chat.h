/*
 * chat.h - DeepSeek chat templates rendered in C: a JSON array of messages
 * -> the exact text the model's own chat_template (Jinja) produces.
 *
 * Two templates are built in, each the transcription of one real template:
 *   DS_CHAT_V3  DeepSeek-V3's tokenizer_config.json chat_template
 *   DS_CHAT_R1  DeepSeek-R1's (generation prompt "<｜Assistant｜><think>\n";
 *               an earlier assistant turn keeps only the text after its
 *               last "</think>"; tool calls keyed on 'tool_calls' in message)
 * Their quirks are reproduced, not fixed: the "first tool call" and "first
 * tool output" flags are never reset between messages, unknown roles are
 * ignored (unless strict_roles refuses them), a missing tool_calls list
 * renders nothing.  Text after the JSON value is refused (EX_DATAERR).  Where Jinja would
 * raise (a string + null or + a number, iterating null) rendering fails with
 * EX_DATAERR and a message naming the message index.  A template is
 * recognised by the BLAKE2b-256 digest of its text; anything else is
 * unknown (no general Jinja engine here).
 *
 * Ownership: ds_chat_render returns a malloc'd, NUL-terminated string that
 * the caller frees.
 */
#ifndef DS_CHAT_H
#define DS_CHAT_H

#include <stddef.h>

#include "error.h"

enum ds_chat_template {
	DS_CHAT_UNKNOWN = -1,
	DS_CHAT_V3 = 0,
	DS_CHAT_R1 = 1,
};

/* Which built-in template the chat_template text is; DS_CHAT_UNKNOWN if none. */
enum ds_chat_template ds_chat_identify(const char *template_text);
const char *ds_chat_name(enum ds_chat_template which);

/*
 * Render messages_json (a JSON array of {"role", "content", "tool_calls"}
 * objects, or an object whose "messages" member is one) as the template
 * would with add_generation_prompt set as given and bos_token = bos (NULL
 * renders as nothing, as an undefined Jinja variable does).
 * Returns 0 with *out set (length in *outlen), or EX_DATAERR with err set.
 */
int ds_chat_render(enum ds_chat_template which, const char *messages_json, size_t len,
		   int add_generation_prompt, const char *bos, char **out, size_t *outlen,
		   struct ds_error *err);

/*
 * The same, with options, and saying which bytes of the text came from the
 * messages (contents, tool call names and arguments) rather than from the
 * template: literal[i] = [begin, end) byte ranges, ascending, apart.  A
 * front end that must not let a user write a role marker encodes those
 * ranges with ds_tokenizer_encode_literal().  The struct owns both arrays
 * (ds_chat_text_release frees them).
 */
struct ds_chat_opts {
	int add_generation_prompt;
	const char *bos;	/* NULL: none */
	int strict_roles;	/* refuse roles other than system, user, assistant, tool */
};
struct ds_chat_text {
	char *text;		/* NUL-terminated */
	size_t len;
	size_t (*literal)[2];
	size_t nliteral;
};
int ds_chat_render_text(enum ds_chat_template which, const char *messages_json, size_t len,
			const struct ds_chat_opts *o, struct ds_chat_text *out, struct ds_error *err);
void ds_chat_text_release(struct ds_chat_text *t);

#endif
