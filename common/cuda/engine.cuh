/*
 * engine.cuh - the CUDA engine behind backend.h: its state (weights, caches,
 * step state, device buffers, graphs) and the pieces of a forward step that
 * layer.cu queues and backend-cuda.cu drives.
 *
 * A step is at most R rows (backend opts max_rows).  Its inputs go from
 * the host into pinned buffers, then by one copy each into device memory
 * (the hidden rows, and the step state dsc_rows: positions, cache slots,
 * tokens, rope tables); its outputs come back the same way.  Every kernel
 * of a step reads the per-row state from device memory, so a decode step
 * (every chunk one row, at most DSC_DECODE_ROWS rows, no hooks) is queued
 * once into a CUDA graph per (operation, rows) and replayed: replay and the
 * eager run are the same kernels on the same buffers, the same bits.
 * Steps with more rows (prefill) run eagerly and use cuBLAS; the routed
 * experts of such a step need their counts on the host (one sync per MoE
 * layer).
 *
 * Modes (environment, read at open): DS_CUDA_EXACT=1 keeps the cache in
 * f32 and computes every product with the f32 kernels (the logic test: the
 * CPU's 1e-4 bar against transformers); DS_CUDA_GRAPHS=0 runs decode steps
 * eagerly; DS_CUDA_KV_MEM caps the KV cache pool.
 *
 * Ownership: struct dsc_engine borrows the model and owns everything else
 * (dsc_engine_free in backend-cuda.cu).
 */
#ifndef DSC_ENGINE_CUH
#define DSC_ENGINE_CUH

#include "dsc.cuh"
#include "kv.cuh"
#include "mem.cuh"
#include "ops.cuh"
#include "weights.cuh"

extern "C" {
#include "backend.h"
#include "model.h"
#include "rope.h"
#include "route.h"
}

enum { DSC_OP_LAYERS, DSC_OP_HEAD, DSC_OP_MTP, DSC_NOPS };

struct dsc_engine {
	const struct ds_model *m;
	long first, last;
	int mtp, exact, graphs;
	long R;			/* rows per step */
	struct dsc_weights w;
	struct ds_rope rope;
	struct ds_router router;
	struct dsc_ctx ctx;
	struct dsc_kv kv, kv_mtp;
	struct ds_fwd_hooks hooks;

	/* step state: device copy and pinned twin, same layout */
	struct dsc_rows rows, hrows;	/* hrows points into the pinned twin */
	void *state_dev, *state_pin;
	size_t state_bytes;

	/* device buffers, [R][ld] unless said */
	struct dsc_arena buf;
	long ldD, ldq, ldkv, ldrq, ldo, ldwide, ldIm, ldcat, ldV, ldE;
	float *h, *a, *tmp, *hin, *yd;	/* ldD */
	float *qa, *q, *kvr, *qf, *ol, *o;	/* qf [R][H][rkv+dr], ol [R][H][rkv] */
	float *rl, *wts, *rsc;		/* router logits [R][ldE], weights [R][K], scratch */
	int32_t *ids, *gslot;		/* [R][K] */
	float *act;			/* decode experts [DSC_DECODE_ROWS K][ldIm] */
	float *xg, *yg, *g, *u;		/* prefill experts [R K][ldD], [R K][ldIm] */
	float *gd, *ud;			/* dense / shared [R][ldwide] */
	float *cat;			/* MTP [R][ldcat] */
	float *logits;			/* [R][ldV] */

	/* pinned host buffers */
	float *pin_h, *pin_logits, *pin_w, *pin_hook;
	int32_t *pin_ids;
	/* host */
	float *hook_rows;		/* [R][D], rows repacked for hooks */
	int32_t *h_gslot;
	long *cnt, *off, *cur;		/* [E + 1] */
	int *chunk_slot;
	int chunk_cap;
	long *row_chunk;		/* [R] chunk of each step row */

	cudaGraphExec_t graph[DSC_NOPS][DSC_DECODE_ROWS + 1];
	int warm[DSC_NOPS][DSC_DECODE_ROWS + 1];	/* eager runs before a capture */
};

/* layer.cu: queue one operation for the n rows whose state and hidden
 * rows (e->h, or e->hin for MTP) are already on the device.  `row0` is
 * the step's first row in the batch (for the hooks); with hooks set the
 * layers stop after the hooked results to copy them out (eager only). */
int dsc_layers_step(struct dsc_engine *e, long n, long row0, int hooks, struct ds_error *err);
int dsc_head_step(struct dsc_engine *e, long n, struct ds_error *err);
int dsc_mtp_step(struct dsc_engine *e, long n, long row0, int hooks, struct ds_error *err);
/* Layer `layer`'s attention half (cache extended) and its router on e->a:
 * ids/weights into e->ids/e->wts. */
int dsc_route_step(struct dsc_engine *e, long layer, long n, int from_input, struct ds_error *err);

#endif
