/*
 * bench.h - the arithmetic of ds-bench: medians of timing samples, the
 * weight bytes one decode token reads (for an effective bandwidth), and the
 * KV cache size, so that speed figures can be put next to the memory
 * bandwidth they imply.
 */
#ifndef DS_BENCH_H
#define DS_BENCH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "model.h"

/* Median of n samples (sorts a copy); 0 for n == 0. */
double ds_bench_median(const double *v, size_t n);

/* {"median": M, "samples": [...]} of the rates work / seconds[i] (two
 * decimals); *median gets the median unrounded.  The caller owns the
 * object. */
cJSON *ds_bench_rates(const double *seconds, long n, double work, double *median);

/* Bytes of weights (and FP8 scales) one token's decode step reads: every
 * attention and dense weight of the main layers, the router, the shared
 * expert and K routed experts (the average a token touches) of every MoE
 * layer, the final norm and lm_head.  The embedding row is not counted. */
double ds_bench_decode_bytes(const struct ds_model *m);

/* Bytes of latent KV cache per cached position over all main layers, as
 * the CPU backend stores it (f32 latent + rope key). */
double ds_bench_cache_bytes_per_pos(const struct ds_model *m);

/* Peak resident set of this process, MiB. */
double ds_bench_peak_rss_mib(void);

#endif
