/*
 * bench.h - the arithmetic of ds-bench: statistics of timing samples, what a
 * model reads and computes per token (weight and KV bytes for the decode
 * roofline, FLOPs for prefill), the machine's memory bandwidth, and the
 * model's size and parameter count for the report.
 *
 * Byte counts are of weights in their stored dtype (FP8 scales included):
 * what a decode step has to stream from memory.  FLOP counts are 2 per
 * multiply-add of the linear layers a row goes through plus attention in
 * the plain form (2 H (dq + dv) per query-key pair), whatever form the
 * engine runs, so that they compare across engines.
 */
#ifndef DS_BENCH_H
#define DS_BENCH_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "model.h"

/* Median, mean and sample standard deviation of n values (0 for n == 0;
 * sd 0 for n < 2). */
double ds_bench_median(const double *v, size_t n);
double ds_bench_mean(const double *v, size_t n);
double ds_bench_sd(const double *v, size_t n);

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
 * the CPU backend stores it (f32 latent + rope key); attention at depth d
 * reads d times this per token. */
double ds_bench_cache_bytes_per_pos(const struct ds_model *m);

/* Bytes and elements of every mapped weight (embedding included): the
 * model's size and parameter count (of the layers mapped). */
double ds_bench_weight_bytes(const struct ds_model *m);
double ds_bench_params(const struct ds_model *m);

/* FLOPs of n rows of one sequence at positions depth .. depth+n-1 through
 * every main layer (see above), plus the head of `heads` rows. */
double ds_bench_flops(const struct ds_model *m, long depth, long n, long heads);

/*
 * Memory read bandwidth in GB/s (1e9 bytes): the best of `reps` passes of
 * every thread of the pool summing its share of a `bytes` buffer (written
 * first, so that it is resident), STREAM's way of counting bytes.  Choose
 * bytes well above the last-level cache.  0 when the buffer cannot be had.
 */
struct ds_pool;
double ds_bench_bandwidth(struct ds_pool *pool, size_t bytes, int reps);

/* Peak resident set of this process, MiB. */
double ds_bench_peak_rss_mib(void);

#endif
