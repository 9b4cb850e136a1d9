/*
 * chain.h - a linear pipeline of dspipe tools run as child processes, fed
 * with frames by the driver and, optionally, read back by it.
 *
 * ds-run builds its generation ring from one chain (ds-embed | ds-forward |
 * ds-sample) whose output it reads and feeds back, and its scoring job from
 * another (ds-embed | ds-forward | ds-score) whose output goes straight to
 * stdout.  Stages inherit stderr, so a failing stage speaks for itself.
 *
 * Owns: the stage processes, the pipe to the first stage (in) and the pipe
 * from the last (out).  ds_chain_finish() closes both, waits for every
 * stage and says which one failed.
 */
#ifndef DS_CHAIN_H
#define DS_CHAIN_H

#include <stdio.h>

#include "error.h"
#include "proc.h"
#include "stream.h"

#define DS_CHAIN_MAX 8

struct ds_chain {
	int n;
	struct ds_proc stage[DS_CHAIN_MAX];
	FILE *in;		/* frames to the first stage */
	FILE *out;		/* frames from the last stage, NULL when it writes to our stdout */
	struct ds_writer w;
	struct ds_reader r;
};

void ds_chain_init(struct ds_chain *c);
/* Add a stage running tool "ds-NAME"; returns it for ds_proc_arg() calls. */
struct ds_proc *ds_chain_add(struct ds_chain *c, const char *tool);
/* Start every stage.  With read_output the last stage's stdout comes back
 * to us (c->out), else it is our stdout.  Returns 0 or EX_OSERR. */
int ds_chain_start(struct ds_chain *c, int read_output, struct ds_error *err);
/* Send one frame (flushed).  EX_IOERR when the first stage is gone. */
int ds_chain_send(struct ds_chain *c, const struct ds_frame *f, struct ds_error *err);
/* Read one frame from the last stage: 1, 0 at end of stream, or an error. */
int ds_chain_recv(struct ds_chain *c, struct ds_frame *f, struct ds_error *err);
/* Close our end of the input (the stages then finish in turn). */
void ds_chain_close_input(struct ds_chain *c);
/*
 * Close our input, read the output to its end (discarding it), wait for
 * every stage, and return 0 when all succeeded,
 * else the exit code of the first stage (in pipeline order) that failed,
 * with err saying which and how.  A stage killed by SIGPIPE after a later
 * one failed is not blamed.
 */
int ds_chain_finish(struct ds_chain *c, struct ds_error *err);
/* The chain as shell commands joined by " | " (no newline). */
void ds_chain_format(const struct ds_chain *c, char *out, size_t len);
void ds_chain_release(struct ds_chain *c);

#endif
