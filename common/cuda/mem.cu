// mem.cu - arenas, the pinned staging ring, the memory check (mem.cuh).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "mem.cuh"

extern "C" {
#include "cli.h"
#include "clock.h"
}

int dsc_cuda_fail(struct ds_error *err, cudaError_t e, const char *call, const char *file, int line)
{
	int code = e == cudaErrorMemoryAllocation ? EX_OSERR : EX_SOFTWARE;

	cudaGetLastError();	// a sticky launch error must not fail the next call too
	return ds_error_set(err, code, "cuda: %s (%s:%d): %s", call, file, line, cudaGetErrorString(e));
}

int dsc_blas_fail(struct ds_error *err, cublasStatus_t s, const char *call, const char *file, int line)
{
	int code = s == CUBLAS_STATUS_ALLOC_FAILED ? EX_OSERR : EX_SOFTWARE;

	return ds_error_set(err, code, "cublas: %s (%s:%d): status %d", call, file, line, (int)s);
}

void *dsc_arena_take(struct dsc_arena *a, size_t bytes)
{
	size_t at = a->used;

	a->used = dsc_align(a->used + bytes, 256);
	return a->base ? a->base + at : NULL;
}

int dsc_arena_alloc(struct dsc_arena *a, struct ds_error *err)
{
	void *p = NULL;

	a->size = a->used > 256 ? a->used : 256;
	DSC_CK(err, cudaMalloc(&p, a->size));
	a->base = (char *)p;
	a->used = 0;
	return 0;
}

void dsc_arena_free(struct dsc_arena *a)
{
	if (a->base)
		cudaFree(a->base);
	memset(a, 0, sizeof(*a));
}

int dsc_ring_init(struct dsc_ring *r, cudaStream_t st, size_t total, struct ds_error *err)
{
	memset(r, 0, sizeof(*r));
	r->st = st;
	r->total = total;
	r->cap = total < ((size_t)64 << 20) ? dsc_align(total ? total : 1, 4096) : (size_t)64 << 20;
	for (int i = 0; i < DSC_RING_BUFS; i++) {
		void *p = NULL;

		DSC_CK(err, cudaHostAlloc(&p, r->cap, cudaHostAllocDefault));
		r->buf[i] = (char *)p;
		DSC_CK(err, cudaEventCreateWithFlags(&r->ev[i], cudaEventDisableTiming));
	}
	return 0;
}

static void show_progress(struct dsc_ring *r, int last)
{
	double now;

	if (!ds_progress_wanted() || !r->total)
		return;
	now = ds_seconds();
	if (!last && now - r->last_shown < 0.1)
		return;
	r->last_shown = now;
	fprintf(stderr, "\r%s: uploaded %.0f/%.0f MiB of weights to the GPU%s", ds_progname,
		(double)r->done / 1048576.0, (double)r->total / 1048576.0, last ? "\n" : "");
}

/* Queue the current buffer's copies' completion event and move on to the
 * next buffer, waiting until its previous copies are done. */
static int next_buffer(struct dsc_ring *r, struct ds_error *err)
{
	DSC_CK(err, cudaEventRecord(r->ev[r->cur], r->st));
	r->used[r->cur] = 1;
	r->cur = (r->cur + 1) % DSC_RING_BUFS;
	r->fill = 0;
	if (r->used[r->cur]) {
		DSC_CK(err, cudaEventSynchronize(r->ev[r->cur]));
		r->used[r->cur] = 0;
	}
	return 0;
}

int dsc_ring_put(struct dsc_ring *r, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
		 size_t row_bytes, size_t rows, struct ds_error *err)
{
	const char *s = (const char *)src;
	char *d = (char *)dst;
	int rc;

	if (dst_pitch > r->cap)
		return ds_error_set(err, EX_SOFTWARE, "a weight row of %zu bytes does not fit the %zu-byte staging buffer",
				    dst_pitch, r->cap);
	while (rows > 0) {
		size_t fit = (r->cap - r->fill) / dst_pitch, take = fit < rows ? fit : rows;
		char *stage = r->buf[r->cur] + r->fill;

		if (take == 0) {
			if ((rc = next_buffer(r, err)))
				return rc;
			continue;
		}
		for (size_t i = 0; i < take; i++) {
			memcpy(stage + i * dst_pitch, s + i * src_pitch, row_bytes);
			memset(stage + i * dst_pitch + row_bytes, 0, dst_pitch - row_bytes);
		}
		DSC_CK(err, cudaMemcpyAsync(d, stage, take * dst_pitch, cudaMemcpyHostToDevice, r->st));
		r->fill = dsc_align(r->fill + take * dst_pitch, 256);
		r->done += take * dst_pitch;
		s += take * src_pitch;
		d += take * dst_pitch;
		rows -= take;
		show_progress(r, 0);
	}
	return 0;
}

int dsc_ring_finish(struct dsc_ring *r, struct ds_error *err)
{
	DSC_CK(err, cudaStreamSynchronize(r->st));
	for (int i = 0; i < DSC_RING_BUFS; i++)
		r->used[i] = 0;
	show_progress(r, 1);
	return 0;
}

void dsc_ring_release(struct dsc_ring *r)
{
	if (r->st)
		cudaStreamSynchronize(r->st);
	for (int i = 0; i < DSC_RING_BUFS; i++) {
		if (r->buf[i])
			cudaFreeHost(r->buf[i]);
		if (r->ev[i])
			cudaEventDestroy(r->ev[i]);
	}
	memset(r, 0, sizeof(*r));
}

void dsc_format_bytes(char *out, size_t len, size_t bytes)
{
	double b = (double)bytes;

	if (b >= 1024.0 * 1048576.0)
		snprintf(out, len, "%.1f GiB", b / (1024.0 * 1048576.0));
	else if (b >= 1048576.0)
		snprintf(out, len, "%.1f MiB", b / 1048576.0);
	else
		snprintf(out, len, "%.1f KiB", b / 1024.0);
}

int dsc_mem_check(size_t weights, size_t buffers, size_t *free_bytes, struct ds_error *err)
{
	size_t fr = 0, total = 0;
	char w[32], b[32], f[32];

	DSC_CK(err, cudaMemGetInfo(&fr, &total));
	*free_bytes = fr;
	if (weights + buffers <= fr)
		return 0;
	dsc_format_bytes(w, sizeof(w), weights);
	dsc_format_bytes(b, sizeof(b), buffers);
	dsc_format_bytes(f, sizeof(f), fr);
	return ds_error_set(err, EX_OSERR, "out of GPU memory: this model needs %s of weights and %s of buffers; the GPU has %s free",
			    w, b, f);
}

int dsc_env_bytes(const char *name, size_t *out, struct ds_error *err)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	*out = 0;
	if (!s || !*s)
		return 0;
	v = strtoull(s, &end, 10);
	if (end == s)
		return ds_error_set(err, EX_USAGE, "%s='%s': not a byte count (digits with K, M or G)", name, s);
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end || v == 0)
		return ds_error_set(err, EX_USAGE, "%s='%s': not a positive byte count (digits with K, M or G)", name, s);
	*out = (size_t)v;
	return 0;
}
