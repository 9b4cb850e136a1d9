/*
 * error.h - how library code reports failure to the tool that called it.
 *
 * Library functions never print and never exit.  They fill a struct ds_error
 * with a sysexits(3) code and one message line (git style: lower case, no
 * full stop, the subject quoted, the file and frame or byte offset named) and
 * return that code.  Only a tool decides to die, through ds_die() in cli.h.
 * Control characters in a message (a name quoted from a hostile file) are
 * written as \xHH, so a message stays one line and is safe on a terminal.
 */
#ifndef DS_ERROR_H
#define DS_ERROR_H

#include <stddef.h>

struct ds_error {
	int code;		/* a sysexits.h code; 0 means no error */
	char msg[512];
};

/* Fill err (when not NULL) and return code, so callers can write
 * `return ds_error_set(err, EX_DATAERR, "...")`.  A later call overwrites. */
int ds_error_set(struct ds_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message with "CONTEXT: " (for example a file name);
 * returns err->code. */
int ds_error_prefix(struct ds_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
