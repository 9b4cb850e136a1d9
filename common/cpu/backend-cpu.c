/*
 * backend-cpu.c - the CPU backend: backend.h's operations on forward.h's
 * engine (the reference every other backend is checked against).
 */
#include "backend-impl.h"
#include "forward.h"

static int cpu_check(void *impl, const struct ds_fwd_batch *batch, int mtp, struct ds_error *err)
{
	return ds_forward_check(impl, batch, mtp, err);
}

static int cpu_layers(void *impl, const struct ds_fwd_batch *batch, float *hidden, struct ds_error *err)
{
	return ds_forward_layers(impl, batch, hidden, err);
}

static int cpu_head(void *impl, const float *hidden, long n, float *logits, struct ds_error *err)
{
	return ds_forward_head(impl, hidden, n, logits, err);
}

static int cpu_mtp(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
		   float *logits, struct ds_error *err)
{
	return ds_forward_mtp(impl, batch, hidden, next, logits, err);
}

static int cpu_mtp_layer(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
			 float *out, struct ds_error *err)
{
	return ds_forward_mtp_layer(impl, batch, hidden, next, out, err);
}

static int cpu_mtp_cache(void *impl, const struct ds_fwd_batch *batch, const float *hidden, const int32_t *next,
			 struct ds_error *err)
{
	return ds_forward_mtp_cache(impl, batch, hidden, next, err);
}

static int cpu_mtp_head(void *impl, const float *h, long n, long vocab, float *logits, struct ds_error *err)
{
	return ds_forward_mtp_head(impl, h, n, vocab, logits, err);
}

static int cpu_route(void *impl, const struct ds_fwd_batch *batch, long layer, const float *hidden, int from_input,
		     int32_t *ids, float *weights, struct ds_error *err)
{
	return ds_forward_route(impl, batch, layer, hidden, from_input, ids, weights, err);
}

static void cpu_end_seq(void *impl, uint64_t seq)
{
	ds_forward_end_seq(impl, seq);
}

static void cpu_truncate_seq(void *impl, uint64_t seq, long len)
{
	ds_forward_truncate_seq(impl, seq, len);
}

static void cpu_set_hooks(void *impl, const struct ds_fwd_hooks *h)
{
	ds_forward_set_hooks(impl, h);
}

static void cpu_free(void *impl)
{
	ds_forward_free(impl);
}

static const struct ds_backend_ops cpu_ops = {
	"cpu", cpu_check, cpu_layers, cpu_head, cpu_mtp, cpu_route, cpu_end_seq, cpu_truncate_seq, cpu_set_hooks, cpu_free,
	cpu_mtp_layer, cpu_mtp_head, cpu_mtp_cache,
};

int ds_backend_cpu_open(struct ds_backend *b, const struct ds_model *m, const struct ds_backend_opts *o,
			struct ds_error *err)
{
	struct ds_forward *f;
	int rc = ds_forward_new(&f, m, o, err);

	if (rc)
		return rc;
	b->ops = &cpu_ops;
	b->impl = f;
	return 0;
}
