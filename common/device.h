/*
 * device.h - choosing where the arithmetic runs: `--device cpu|cuda`.
 *
 * The CPU backend is always present.  CUDA is present when the build found
 * nvcc and the machine has a usable GPU; asking for it otherwise is
 * EX_UNAVAILABLE (69) with a message saying which of the two is missing.
 */
#ifndef DS_DEVICE_H
#define DS_DEVICE_H

#include "error.h"

enum ds_device_kind { DS_DEVICE_CPU, DS_DEVICE_CUDA };

/* The choices for a DS_OPT_CHOICE option, in enum order. */
extern const char *const ds_device_names[];

/* 0 when the device can be used; otherwise EX_UNAVAILABLE with err filled. */
int ds_device_check(enum ds_device_kind kind, struct ds_error *err);
/* One line describing the device (for ds-bench records). */
void ds_device_describe(enum ds_device_kind kind, char *out, size_t len);

#endif
