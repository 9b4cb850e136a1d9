/*
 * cuda.h - the C face of the CUDA backend (the .cu files in common/cuda).
 *
 * Only compiled and linked when the Makefile finds nvcc (DS_HAVE_CUDA=1);
 * C code must call these only under #ifdef DS_HAVE_CUDA and never include
 * CUDA headers, so a CPU-only build needs no CUDA toolkit.
 */
#ifndef DS_CUDA_H
#define DS_CUDA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Number of usable CUDA devices (>= 0), or -1 with why filled when the
 * runtime or driver fails (no driver, no device node, ...). */
int ds_cuda_device_count(char *why, size_t whylen);
/* Name and memory of device i into name; returns 0 or -1. */
int ds_cuda_device_describe(int i, char *name, size_t namelen, size_t *total_bytes);

#ifdef __cplusplus
}
#endif

#endif
