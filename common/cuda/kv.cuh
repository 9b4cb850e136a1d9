/*
 * kv.cuh - the paged latent KV cache on the device.
 *
 * Per position and cached layer one row [c | kpe] (kv_lora_rank +
 * qk_rope_head_dim values, mla.h's content) in BF16, or f32 in exact mode.
 * A page holds DSC_PAGE positions of every layer of the cache, each
 * (page, layer) block contiguous: row (pos, layer) of a sequence is at
 *   table[slot][pos / DSC_PAGE] + ((layer * DSC_PAGE) + pos % DSC_PAGE) * width
 * elements.  Each sequence holds a slot (DSC_MAX_SEQS of them) whose table
 * of page pointers lives in device memory at a fixed address, so kernels
 * (and captured graphs) find the rows from the slot and position in the
 * step state alone; the host changes a table entry only when it gives a
 * page to a slot.
 *
 * Pages come from a pool that grows in segments of device memory up to a
 * limit (DS_CUDA_KV_MEM bytes, else 90% of the memory free after the
 * weights and buffers), and return to it when a sequence ends (CONTROL
 * END/RESET) or is truncated.  dsc_kv_room() says whether a batch fits
 * before anything changes: "KV cache full" is EX_DATAERR, like every
 * other refusal of a batch.
 *
 * The MTP module has its own one-layer cache.  struct dsc_kv owns its
 * tables, segments and host bookkeeping (dsc_kv_release).
 */
#ifndef DSC_KV_CUH
#define DSC_KV_CUH

#include "dsc.cuh"

extern "C" {
#include "backend.h"
}

struct dsc_kv_slot {
	int used;
	uint64_t seq;
	long len;		/* positions committed */
	long npages;		/* pages held: entries 0..npages-1 of its table */
};

struct dsc_kv {
	long nlayers, width;	/* width: kv_lora_rank + qk_rope_head_dim */
	size_t esz;		/* 2 (bf16) or 4 (f32) */
	long max_len;		/* max_position_embeddings */
	long maxp;		/* table entries per slot */
	size_t page_bytes;
	char **d_tables;	/* device [DSC_MAX_SEQS][maxp] */
	char **h_tables;	/* host mirror */
	struct dsc_kv_slot slots[DSC_MAX_SEQS];
	char **free_pages;	/* pool */
	long nfree;
	char **segs;
	long nsegs;
	long allocated, max_pages;	/* pages */
};

/* Tables for nlayers layers (none allocated when nlayers is 0) and a pool
 * of at most mem_limit bytes of pages (at least one page). */
int dsc_kv_init(struct dsc_kv *kv, long nlayers, long width, size_t esz, long max_len, size_t mem_limit,
		struct ds_error *err);
void dsc_kv_release(struct dsc_kv *kv);
/* Bytes of the tables and of one page, for the memory check. */
size_t dsc_kv_table_bytes(long max_len);
size_t dsc_kv_page_bytes(long nlayers, long width, size_t esz);

/* Positions cached for seq (0 when it has none). */
long dsc_kv_len(const struct dsc_kv *kv, uint64_t seq);
/* ds_batch_check(), then whether the batch's new positions find slots and
 * pages (EX_DATAERR "KV cache full" otherwise).  Changes nothing. */
int dsc_kv_room(struct dsc_kv *kv, const struct ds_fwd_batch *batch, struct ds_error *err);
/* dsc_kv_room(), then give every chunk's sequence a slot and the pages
 * for pos + n positions, queueing the table updates on st; slots[i]
 * receives chunk i's slot. */
int dsc_kv_prepare(struct dsc_kv *kv, const struct ds_fwd_batch *batch, cudaStream_t st, int *slots,
		   struct ds_error *err);
/* After a step: slot's sequence holds len positions. */
void dsc_kv_commit(struct dsc_kv *kv, int slot, long len);
/* Forget seq (its pages return to the pool). */
void dsc_kv_drop(struct dsc_kv *kv, uint64_t seq);
/* Keep the first len positions of seq (pages beyond return to the pool). */
void dsc_kv_truncate(struct dsc_kv *kv, uint64_t seq, long len);

#endif
