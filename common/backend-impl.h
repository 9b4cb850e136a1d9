/*
 * backend-impl.h - what a backend implements behind backend.h: one table of
 * operations and an open function.  Only backend.c and the backends
 * (common/cpu/backend-cpu.c, later common/cuda/) include this.
 */
#ifndef DS_BACKEND_IMPL_H
#define DS_BACKEND_IMPL_H

#include "backend.h"

struct ds_backend_ops {
	const char *name;
	int (*check)(void *impl, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err);
	int (*layers)(void *impl, const struct ds_fwd_batch *batch, float *hidden, struct ds_error *err);
	int (*head)(void *impl, const float *hidden, long n, float *logits, struct ds_error *err);
	int (*mtp)(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
		   float *logits, struct ds_error *err);
	int (*route)(void *impl, const struct ds_fwd_batch *batch, long layer, const float *hidden, int from_input,
		     int32_t *ids, float *weights, struct ds_error *err);
	void (*end_seq)(void *impl, uint64_t seq);
	void (*truncate_seq)(void *impl, uint64_t seq, long len);
	void (*set_hooks)(void *impl, const struct ds_fwd_hooks *h);
	void (*free)(void *impl);
	/* optional (NULL: the backend cannot draft; backend.c answers 69) */
	int (*mtp_layer)(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
			 float *out, struct ds_error *err);
	int (*mtp_head)(void *impl, const float *h, long n, long vocab, float *logits, struct ds_error *err);
	int (*mtp_cache)(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
			 struct ds_error *err);
};

struct ds_backend {
	const struct ds_backend_ops *ops;
	void *impl;
	long max_pos;		/* ds_backend_max_pos of the options: backend.c checks it */
};

/* What every backend checks at open: layers [first, last) inside the model
 * and mapped (EX_USAGE, EX_SOFTWARE), the MTP module mapped when asked. */
int ds_backend_check_slice(const struct ds_model *m, const struct ds_backend_opts *o, struct ds_error *err);

/* The CPU backend (common/cpu/backend-cpu.c). */
int ds_backend_cpu_open(struct ds_backend *b, const struct ds_model *m, const struct ds_backend_opts *o,
			struct ds_error *err);
/* The CUDA backend (common/cuda/backend-cuda.cu; builds with DS_HAVE_CUDA). */
int ds_backend_cuda_open(struct ds_backend *b, const struct ds_model *m, const struct ds_backend_opts *o,
			 struct ds_error *err);

#endif
