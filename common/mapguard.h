/*
 * mapguard.h - a SIGBUS while reading a mapped checkpoint becomes an
 * error naming the file and the byte, never a crash.
 *
 * Reading a page of a file mapping raises SIGBUS when the page lies beyond
 * the end of the file (it was truncated after it was mapped, say by a
 * download or a ds-mkmodel run over it) or cannot be read (an I/O error, a
 * hole of a sparse file on a full tmpfs).  A load instruction has no error
 * code to return, so safetensors.c registers every mapping here, and the
 * process-wide SIGBUS handler installed by the first registration looks
 * the faulting address up: inside a registered mapping it writes
 *
 *   ds-NAME: PATH: cannot read byte OFFSET of the mapped file (SIZE bytes
 *   when opened): it was truncated or could not be read
 *
 * to standard error and ends the process with EX_IOERR (74).  This is the
 * one place library code exits: nothing can resume the interrupted read.
 * A SIGBUS at an address no mapping claims goes to the handler that was
 * installed before (a sanitizer's), or gets the default action: a crash,
 * as it should for a bug.
 *
 * The registry is async-signal-safe to read (slots in chunks that are never
 * freed, each slot's base published atomically); registration takes a
 * mutex.  It owns a copy of each path until ds_mapguard_remove.
 */
#ifndef DS_MAPGUARD_H
#define DS_MAPGUARD_H

#include <stddef.h>

#include "error.h"

/* Guard [base, base + size), a mapping of path.  Returns 0, or EX_OSERR
 * (out of memory, or the handler cannot be installed) with err set. */
int ds_mapguard_add(const void *base, size_t size, const char *path, struct ds_error *err);
/* Stop guarding the mapping at base (before it is unmapped); no-op when
 * it is not registered. */
void ds_mapguard_remove(const void *base);

#endif
