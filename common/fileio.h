/*
 * fileio.h - reading a whole small file (config.json, an index,
 * tokenizer.json) into memory, with the checks every caller needs.
 */
#ifndef DS_FILEIO_H
#define DS_FILEIO_H

#include <stddef.h>

#include "error.h"

/*
 * Read the regular file at path, at most max bytes, into a malloc'd buffer
 * with a NUL after the last byte (the caller frees *buf); *len (when not
 * NULL) gets the length.  Errors, with *buf NULL: EX_NOINPUT when it cannot
 * be opened because it (or a directory on its path) is missing, or when it
 * is not a regular file; bad_code when it is larger than max; EX_IOERR for
 * other open and read errors.  Messages name the path.
 */
int ds_read_file(const char *path, size_t max, int bad_code, char **buf, size_t *len, struct ds_error *err);

#endif
