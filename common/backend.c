/*
 * backend.c - choosing a backend by device name and forwarding calls to its
 * operation table.
 */
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "backend-impl.h"
#include "device.h"

int ds_backend_open(struct ds_backend **out, const struct ds_model *m, const struct ds_backend_opts *o,
		    struct ds_error *err)
{
	const char *dev = o->device ? o->device : "cpu";
	struct ds_backend *b;
	int rc;

	*out = NULL;
	if (o->max_ctx < 0 || o->max_ctx > m->cfg.max_position_embeddings)
		return ds_error_set(err, EX_USAGE, "a context of %ld positions is outside 1..%ld (max_position_embeddings)",
				    o->max_ctx, m->cfg.max_position_embeddings);
	if (!strcmp(dev, "cuda")) {
		/* say first what is missing on this machine or build */
		if ((rc = ds_device_check(DS_DEVICE_CUDA, err)))
			return ds_error_prefix(err, "device 'cuda'");
#ifdef DS_HAVE_CUDA
		b = calloc(1, sizeof(*b));
		if (!b)
			return ds_error_set(err, EX_OSERR, "out of memory");
		if ((rc = ds_backend_cuda_open(b, m, o, err))) {
			free(b);
			return ds_error_prefix(err, "device 'cuda'");
		}
		b->max_pos = ds_backend_max_pos(m, o);
		*out = b;
		return 0;
#else
		return ds_error_set(err, EX_UNAVAILABLE, "device 'cuda': this build has no CUDA backend");
#endif
	}
	if (strcmp(dev, "cpu"))
		return ds_error_set(err, EX_USAGE, "unknown device '%s' (cpu or cuda)", dev);
	b = calloc(1, sizeof(*b));
	if (!b)
		return ds_error_set(err, EX_OSERR, "out of memory");
	if ((rc = ds_backend_cpu_open(b, m, o, err))) {
		free(b);
		return rc;
	}
	b->max_pos = ds_backend_max_pos(m, o);
	*out = b;
	return 0;
}

int ds_backend_check_slice(const struct ds_model *m, const struct ds_backend_opts *o, struct ds_error *err)
{
	if (o->first < 0 || o->last > m->L || o->first > o->last)
		return ds_error_set(err, EX_USAGE, "layer range %ld:%ld is outside the model's 0:%ld", o->first, o->last,
				    m->L);
	for (long i = o->first; i < o->last; i++)
		if (!m->layers || !m->layers[i].loaded)
			return ds_error_set(err, EX_SOFTWARE, "layer %ld was not mapped", i);
	if (o->mtp && (m->nlayers <= m->L || !m->layers[m->L].loaded || !m->final_norm))
		return ds_error_set(err, EX_SOFTWARE, "the MTP module was not mapped");
	return 0;
}

long ds_backend_max_pos(const struct ds_model *m, const struct ds_backend_opts *o)
{
	return o->max_ctx > 0 ? o->max_ctx : m->cfg.max_position_embeddings;
}

/* The context cap, checked here for every backend before a batch reaches
 * its cache (the backend's own check covers max_position_embeddings). */
static int check_ctx(const struct ds_backend *b, const struct ds_fwd_batch *batch, struct ds_error *err)
{
	for (int i = 0; i < batch->nchunks; i++) {
		const struct ds_fwd_chunk *c = &batch->chunks[i];

		if (c->pos >= 0 && c->n > 0 && c->pos + c->n > b->max_pos)
			return ds_error_set(err, EX_DATAERR,
					    "sequence %llu: positions %ld..%ld go beyond the context of %ld positions",
					    (unsigned long long)c->seq, c->pos, c->pos + c->n - 1, b->max_pos);
	}
	return 0;
}

void ds_backend_free(struct ds_backend *b)
{
	if (!b)
		return;
	b->ops->free(b->impl);
	free(b);
}

const char *ds_backend_name(const struct ds_backend *b)
{
	return b->ops->name;
}

void ds_backend_set_hooks(struct ds_backend *b, const struct ds_fwd_hooks *h)
{
	b->ops->set_hooks(b->impl, h);
}

long ds_batch_rows(const struct ds_fwd_batch *batch)
{
	long n = 0;

	for (int i = 0; i < batch->nchunks; i++)
		n += batch->chunks[i].n;
	return n;
}

int ds_backend_check(struct ds_backend *b, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err)
{
	if (check_ctx(b, batch, err))
		return err->code;
	return b->ops->check(b->impl, batch, mtp, err);
}

int ds_backend_layers(struct ds_backend *b, const struct ds_fwd_batch *batch, float *hidden,
		      struct ds_error *err)
{
	if (check_ctx(b, batch, err))
		return err->code;
	return b->ops->layers(b->impl, batch, hidden, err);
}

int ds_backend_head(struct ds_backend *b, const float *hidden, long n, float *logits, struct ds_error *err)
{
	return b->ops->head(b->impl, hidden, n, logits, err);
}

int ds_backend_mtp(struct ds_backend *b, const struct ds_fwd_batch *batch, const float *hidden,
		   const int32_t *next_tokens, float *logits, struct ds_error *err)
{
	if (check_ctx(b, batch, err))
		return err->code;
	return b->ops->mtp(b->impl, batch, hidden, next_tokens, logits, err);
}

int ds_backend_mtp_layer(struct ds_backend *b, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, float *out, struct ds_error *err)
{
	if (!b->ops->mtp_layer)
		return ds_error_set(err, EX_UNAVAILABLE, "the %s backend cannot run the MTP layer alone", b->ops->name);
	return b->ops->mtp_layer(b->impl, batch, hidden, next_tokens, out, err);
}

int ds_backend_mtp_cache(struct ds_backend *b, const struct ds_fwd_batch *batch, const float *hidden,
			 const int32_t *next_tokens, struct ds_error *err)
{
	if (!b->ops->mtp_cache)
		return ds_error_set(err, EX_UNAVAILABLE, "the %s backend cannot extend the MTP cache alone", b->ops->name);
	return b->ops->mtp_cache(b->impl, batch, hidden, next_tokens, err);
}

int ds_backend_mtp_head(struct ds_backend *b, const float *h, long n, long vocab, float *logits,
			struct ds_error *err)
{
	if (!b->ops->mtp_head)
		return ds_error_set(err, EX_UNAVAILABLE, "the %s backend cannot run the MTP head alone", b->ops->name);
	return b->ops->mtp_head(b->impl, h, n, vocab, logits, err);
}

int ds_backend_route(struct ds_backend *b, const struct ds_fwd_batch *batch, long layer, const float *hidden,
		     int from_input, int32_t *ids, float *weights, struct ds_error *err)
{
	if (check_ctx(b, batch, err))
		return err->code;
	return b->ops->route(b->impl, batch, layer, hidden, from_input, ids, weights, err);
}

void ds_backend_end_seq(struct ds_backend *b, uint64_t seq)
{
	b->ops->end_seq(b->impl, seq);
}

void ds_backend_truncate_seq(struct ds_backend *b, uint64_t seq, long len)
{
	b->ops->truncate_seq(b->impl, seq, len);
}

int ds_batch_check(const struct ds_fwd_batch *batch, long max_pos, long (*len_of)(void *ctx, uint64_t seq),
		   void *ctx, struct ds_error *err)
{
	for (int i = 0; i < batch->nchunks; i++) {
		const struct ds_fwd_chunk *c = &batch->chunks[i];
		long len;

		if (c->n < 0 || c->pos < 0)
			return ds_error_set(err, EX_DATAERR, "sequence %llu: negative position or row count",
					    (unsigned long long)c->seq);
		for (int j = 0; j < i; j++)
			if (batch->chunks[j].seq == c->seq)
				return ds_error_set(err, EX_DATAERR, "sequence %llu appears twice in one batch",
						    (unsigned long long)c->seq);
		len = len_of(ctx, c->seq);
		if (c->pos != len)
			return ds_error_set(err, EX_DATAERR,
					    "sequence %llu: frame starts at position %ld but %ld position%s cached (expected pos %ld)",
					    (unsigned long long)c->seq, c->pos, len, len == 1 ? " is" : "s are", len);
		if (c->pos + c->n > max_pos)
			return ds_error_set(err, EX_DATAERR,
					    "sequence %llu: positions %ld..%ld go beyond max_position_embeddings %ld",
					    (unsigned long long)c->seq, c->pos, c->pos + c->n - 1, max_pos);
	}
	return 0;
}
