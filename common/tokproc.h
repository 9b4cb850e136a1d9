/*
 * tokproc.h - tokenizing and chat rendering through ds-tokenize processes,
 * for drivers such as ds-run that wire the tools together.
 *
 * One-shot calls write their input to a temporary file, run
 * `ds-tokenize -m MODEL ARGS... FILE`, collect its whole output and check
 * its exit status (a failure returns its code, and its own message is
 * already on stderr).  (Decoding needs no process: a token's text is its
 * bytes, which generate.h reads from the tokenizer itself.)
 */
#ifndef DS_TOKPROC_H
#define DS_TOKPROC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Run ds-tokenize with args (NULL-terminated) on input; *out gets its
 * stdout (malloc'd, NUL-terminated, caller frees).  Returns 0 or the
 * tool's exit code with err filled. */
int ds_tokproc_run(const char *model, const char *const *args, const char *input, size_t len,
		   char **out, size_t *outlen, struct ds_error *err);

/* Encode text (args as above, e.g. {"--no-bos", NULL}); appends the ids of
 * every TOKENS frame to (*ids, *n, *cap), a malloc'd array the caller frees. */
int ds_tokproc_encode(const char *model, const char *const *args, const char *text, size_t len,
		      int32_t **ids, size_t *n, size_t *cap, struct ds_error *err);

#endif
