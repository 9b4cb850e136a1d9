/*
 * fuzz-chat.c - libFuzzer target: any bytes as chat messages JSON, rendered
 * with both built-in templates, strict and not (ds_chat_render_text).  A
 * refusal must be EX_DATAERR with a message; a rendering must be as long
 * as it says, NUL-terminated, and its literal ranges ascending, apart and
 * inside the text.  Built by `make fuzz`, run by tests/0130-fuzz.sh.
 */
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include "chat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int k = 0; k < 4; k++) {
		struct ds_chat_opts o = { k & 1, "<bos>", k >> 1 };
		struct ds_error err = { 0 };
		struct ds_chat_text t;
		int rc = ds_chat_render_text(k & 1 ? DS_CHAT_R1 : DS_CHAT_V3, (const char *)data, size, &o, &t, &err);
		size_t end = 0;

		if (rc) {
			if (rc != EX_DATAERR || !err.msg[0])
				__builtin_trap();
			continue;
		}
		if (!t.text || t.text[t.len] || strncmp(t.text, "<bos>", 5))
			__builtin_trap();
		for (size_t i = 0; i < t.nliteral; i++) {
			if (t.literal[i][0] < end || t.literal[i][0] >= t.literal[i][1] || t.literal[i][1] > t.len ||
			    (i && t.literal[i][0] == end))
				__builtin_trap();
			end = t.literal[i][1];
		}
		ds_chat_text_release(&t);
	}
	return 0;
}
