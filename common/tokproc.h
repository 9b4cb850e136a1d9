/*
 * tokproc.h - tokenizing and detokenizing through ds-tokenize processes,
 * for drivers such as ds-run that wire the tools together rather than link
 * the tokenizer.
 *
 * One-shot calls write their input to a temporary file, run
 * `ds-tokenize -m MODEL ARGS... FILE`, collect its whole output and check
 * its exit status (a failure returns its code, and its own message is
 * already on stderr).  A decoder session keeps one `ds-tokenize -d` running
 * and hands back text as it appears.
 */
#ifndef DS_TOKPROC_H
#define DS_TOKPROC_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "proc.h"
#include "stream.h"

/* Run ds-tokenize with args (NULL-terminated) on input; *out gets its
 * stdout (malloc'd, NUL-terminated, caller frees).  Returns 0 or the
 * tool's exit code with err filled. */
int ds_tokproc_run(const char *model, const char *const *args, const char *input, size_t len,
		   char **out, size_t *outlen, struct ds_error *err);

/* Encode text (args as above, e.g. {"--no-bos", NULL}); appends the ids of
 * every TOKENS frame to (*ids, *n, *cap), a malloc'd array the caller frees. */
int ds_tokproc_encode(const char *model, const char *const *args, const char *text, size_t len,
		      int32_t **ids, size_t *n, size_t *cap, struct ds_error *err);

/* A running `ds-tokenize -m MODEL -d` fed TOKENS frames one by one. */
struct ds_decoder_proc {
	struct ds_proc p;
	FILE *in;
	int out_fd;		/* text comes back here (non-blocking) */
	struct ds_writer w;
	struct ds_frame f;
	int running;
};

int ds_decoder_start(struct ds_decoder_proc *d, const char *model, struct ds_error *err);
/* Send one id (seq, pos for the frame). */
int ds_decoder_put(struct ds_decoder_proc *d, int32_t id, uint64_t seq, uint64_t pos, struct ds_error *err);
/* Read whatever text is ready, waiting at most wait_ms (0: do not wait).
 * Returns bytes read, 0 when none is ready, -1 at end of output. */
long ds_decoder_read(struct ds_decoder_proc *d, char *buf, size_t cap, int wait_ms);
/* Close its input and return 0 once it exited cleanly (read the rest of
 * its text with ds_decoder_read until -1 first, or it may block). */
void ds_decoder_close_input(struct ds_decoder_proc *d);
int ds_decoder_finish(struct ds_decoder_proc *d, struct ds_error *err);

#endif
