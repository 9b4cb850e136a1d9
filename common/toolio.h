/*
 * toolio.h - the steps every filter tool's main() takes, with the error
 * path built in (these die through cli.h instead of returning codes, so
 * they are for tools, never for library code).
 */
#ifndef DS_TOOLIO_H
#define DS_TOOLIO_H

#include <stdio.h>

#include "model.h"
#include "stream.h"

/* Open path for reading ("-" is stdin); *name gets a name for messages.
 * Dies with 66 when it cannot be opened. */
FILE *ds_tool_open(const char *path, const char **name);
/* The one optional FILE argument of a filter: stdin when argc is 0; dies
 * with 64 for more than one. */
FILE *ds_tool_input(int argc, char **argv, const char **name);
/* Write a frame or die with the writer's error (74). */
void ds_tool_write(struct ds_writer *w, const struct ds_frame *f);
/* Die with err, naming the stream and the frame just read from r:
 * "ds-NAME: STREAM: frame N: message". */
void ds_tool_die_frame(const struct ds_reader *r, const struct ds_error *err) __attribute__((noreturn));
/* ds_model_prefetch(m, how) with a progress line on a terminal (not with
 * -q); dies with its error.  Returns the seconds it took. */
double ds_tool_prefetch(const struct ds_model *m, int how);
/* The end of a filter: close its input (unless stdin) and flush stdout,
 * dying with 74 when the output could not be written. */
void ds_tool_finish(FILE *in);

#endif
