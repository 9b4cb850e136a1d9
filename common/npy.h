/*
 * npy.h - writing one frame as a NumPy .npy file (format version 1.0).
 *
 * Float types numpy lacks (bf16, fp8) are widened to float32; IDVAL becomes
 * the structured dtype [('id', '<i4'), ('value', '<f4')].
 */
#ifndef DS_NPY_H
#define DS_NPY_H

#include <stdio.h>

#include "error.h"
#include "stream.h"

/* Returns 0, or EX_IOERR / EX_DATAERR with err filled. */
int ds_npy_write(FILE *fp, const char *name, const struct ds_frame *f, struct ds_error *err);

#endif
