/*
 * mem.cuh - device memory of the CUDA engine: arenas carved out of one
 * cudaMalloc each, the pinned staging ring that uploads the weights, and
 * the memory check that runs before anything is allocated.
 *
 * An arena is used twice with the same sequence of takes: first without a
 * base (it only counts, so the whole need is known before any allocation),
 * then with one.  Every take is 256-byte aligned.  dsc_arena_free releases
 * the base.
 *
 * The ring copies host data into page-locked buffers (zero-padding rows to
 * their device pitch) and queues cudaMemcpyAsync from there; a buffer is
 * refilled only after its last copy's event has completed, so the mapping
 * is read once and never pinned itself.  Progress goes to stderr when
 * ds_progress_wanted().
 */
#ifndef DSC_MEM_CUH
#define DSC_MEM_CUH

#include "dsc.cuh"

struct dsc_arena {
	char *base;		/* NULL while counting */
	size_t size, used;
};

/* The next `bytes` of the arena (NULL while counting). */
void *dsc_arena_take(struct dsc_arena *a, size_t bytes);
/* cudaMalloc the counted size (at least 256 bytes) and restart the takes. */
int dsc_arena_alloc(struct dsc_arena *a, struct ds_error *err);
void dsc_arena_free(struct dsc_arena *a);

#define DSC_RING_BUFS 3

struct dsc_ring {
	cudaStream_t st;
	size_t cap;		/* bytes per buffer */
	char *buf[DSC_RING_BUFS];
	cudaEvent_t ev[DSC_RING_BUFS];
	int used[DSC_RING_BUFS];	/* an event is pending on the buffer */
	int cur;
	size_t fill;
	size_t done, total;	/* bytes, for progress */
	double last_shown;
};

/* Buffers of min(64 MiB, total) bytes for an upload of `total` bytes. */
int dsc_ring_init(struct dsc_ring *r, cudaStream_t st, size_t total, struct ds_error *err);
/* Copy `rows` rows of row_bytes each from host src (pitch src_pitch) to
 * device dst (pitch dst_pitch >= row_bytes, the gap zero-filled). */
int dsc_ring_put(struct dsc_ring *r, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
		 size_t row_bytes, size_t rows, struct ds_error *err);
/* Wait for every queued copy. */
int dsc_ring_finish(struct dsc_ring *r, struct ds_error *err);
void dsc_ring_release(struct dsc_ring *r);

/* "12.0 GiB", "340.5 MiB", "86.0 KiB" */
void dsc_format_bytes(char *out, size_t len, size_t bytes);

/* EX_OSERR "out of GPU memory: this model needs ... of weights and ... of
 * buffers; the GPU has ... free" when weights + buffers exceed what
 * cudaMemGetInfo reports free; *free_bytes receives that figure. */
int dsc_mem_check(size_t weights, size_t buffers, size_t *free_bytes, struct ds_error *err);

/* A byte count from the environment (digits with an optional K, M or G
 * suffix); 0 when unset.  EX_USAGE naming the variable when malformed. */
int dsc_env_bytes(const char *name, size_t *out, struct ds_error *err);

#endif
