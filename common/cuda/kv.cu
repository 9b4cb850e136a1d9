// kv.cu - the paged latent KV cache (kv.cuh).
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "kv.cuh"
#include "mem.cuh"

/* pages per segment: 64 MiB worth, at least 16 */
#define SEG_BYTES ((size_t)64 << 20)

size_t dsc_kv_table_bytes(long max_len)
{
	long maxp = (max_len + DSC_PAGE - 1) / DSC_PAGE;

	return (size_t)DSC_MAX_SEQS * (size_t)maxp * sizeof(char *);
}

size_t dsc_kv_page_bytes(long nlayers, long width, size_t esz)
{
	return dsc_align((size_t)DSC_PAGE * (size_t)nlayers * (size_t)width * esz, 256);
}

int dsc_kv_init(struct dsc_kv *kv, long nlayers, long width, size_t esz, long max_len, size_t mem_limit,
		struct ds_error *err)
{
	size_t tb;
	void *p = NULL;

	memset(kv, 0, sizeof(*kv));
	kv->nlayers = nlayers;
	kv->width = width;
	kv->esz = esz;
	kv->max_len = max_len;
	if (nlayers <= 0)
		return 0;
	kv->maxp = (max_len + DSC_PAGE - 1) / DSC_PAGE;
	kv->page_bytes = dsc_kv_page_bytes(nlayers, width, esz);
	kv->max_pages = (long)(mem_limit / kv->page_bytes);
	if (kv->max_pages < 1)
		kv->max_pages = 1;
	tb = dsc_kv_table_bytes(max_len);
	kv->h_tables = (char **)calloc(tb / sizeof(char *), sizeof(char *));
	kv->free_pages = (char **)malloc((size_t)kv->max_pages * sizeof(char *));
	kv->segs = (char **)malloc((size_t)kv->max_pages * sizeof(char *));
	if (!kv->h_tables || !kv->free_pages || !kv->segs)
		return ds_error_set(err, EX_OSERR, "out of memory");
	DSC_CK(err, cudaMalloc(&p, tb));
	kv->d_tables = (char **)p;
	DSC_CK(err, cudaMemset(p, 0, tb));
	return 0;
}

void dsc_kv_release(struct dsc_kv *kv)
{
	for (long i = 0; i < kv->nsegs; i++)
		cudaFree(kv->segs[i]);
	if (kv->d_tables)
		cudaFree(kv->d_tables);
	free(kv->h_tables);
	free(kv->free_pages);
	free(kv->segs);
	memset(kv, 0, sizeof(*kv));
}

static struct dsc_kv_slot *find(const struct dsc_kv *kv, uint64_t seq)
{
	for (int i = 0; i < DSC_MAX_SEQS; i++)
		if (kv->slots[i].used && kv->slots[i].seq == seq)
			return (struct dsc_kv_slot *)&kv->slots[i];
	return NULL;
}

long dsc_kv_len(const struct dsc_kv *kv, uint64_t seq)
{
	const struct dsc_kv_slot *s = find(kv, seq);

	return s ? s->len : 0;
}

static long len_of(void *ctx, uint64_t seq)
{
	return dsc_kv_len((const struct dsc_kv *)ctx, seq);
}

static long pages_for(long len)
{
	return (len + DSC_PAGE - 1) / DSC_PAGE;
}

int dsc_kv_room(struct dsc_kv *kv, const struct ds_fwd_batch *batch, struct ds_error *err)
{
	long need = 0, new_seqs = 0, free_slots = 0;
	int rc;

	if ((rc = ds_batch_check(batch, kv->max_len, len_of, kv, err)))
		return rc;
	if (kv->nlayers <= 0)
		return 0;
	for (int i = 0; i < DSC_MAX_SEQS; i++)
		free_slots += !kv->slots[i].used;
	for (int i = 0; i < batch->nchunks; i++) {
		const struct ds_fwd_chunk *c = &batch->chunks[i];
		const struct dsc_kv_slot *s = find(kv, c->seq);
		long held = s ? s->npages : 0, want = pages_for(c->pos + c->n);

		new_seqs += !s && c->n > 0;
		need += want > held ? want - held : 0;
	}
	if (new_seqs > free_slots)
		return ds_error_set(err, EX_DATAERR, "KV cache full: %ld new sequences but only %ld of %d slots are free",
				    new_seqs, free_slots, DSC_MAX_SEQS);
	if (need > kv->nfree + (kv->max_pages - kv->allocated)) {
		char lim[32];

		dsc_format_bytes(lim, sizeof(lim), (size_t)kv->max_pages * kv->page_bytes);
		return ds_error_set(err, EX_DATAERR,
				    "KV cache full: the batch needs %ld more pages of %d positions, %ld of the %ld pages (%s) are free (raise DS_CUDA_KV_MEM or end sequences)",
				    need, DSC_PAGE, kv->nfree + (kv->max_pages - kv->allocated), kv->max_pages, lim);
	}
	return 0;
}

/* Put a new segment's pages into the pool. */
static int grow(struct dsc_kv *kv, long want, struct ds_error *err)
{
	long per = (long)(SEG_BYTES / kv->page_bytes), n;
	void *p = NULL;

	per = per < 16 ? 16 : per;
	n = want > per ? want : per;
	if (n > kv->max_pages - kv->allocated)
		n = kv->max_pages - kv->allocated;
	DSC_CK(err, cudaMalloc(&p, (size_t)n * kv->page_bytes));
	kv->segs[kv->nsegs++] = (char *)p;
	for (long i = 0; i < n; i++)
		kv->free_pages[kv->nfree++] = (char *)p + (size_t)i * kv->page_bytes;
	kv->allocated += n;
	return 0;
}

int dsc_kv_prepare(struct dsc_kv *kv, const struct ds_fwd_batch *batch, cudaStream_t st, int *slots,
		   struct ds_error *err)
{
	int rc;

	if ((rc = dsc_kv_room(kv, batch, err)))
		return rc;
	for (int i = 0; i < batch->nchunks; i++) {
		const struct ds_fwd_chunk *c = &batch->chunks[i];
		struct dsc_kv_slot *s = find(kv, c->seq);
		long want = pages_for(c->pos + c->n), at;
		char **row;

		slots[i] = -1;
		if (kv->nlayers <= 0 || c->n == 0)
			continue;
		if (!s) {
			for (int j = 0; j < DSC_MAX_SEQS && !s; j++)
				if (!kv->slots[j].used)
					s = &kv->slots[j];
			if (!s)	/* dsc_kv_room counted the free slots */
				return ds_error_set(err, EX_SOFTWARE, "KV cache: no free slot");
			memset(s, 0, sizeof(*s));
			s->used = 1;
			s->seq = c->seq;
		}
		slots[i] = (int)(s - kv->slots);
		if (want <= s->npages)
			continue;
		if (want - s->npages > kv->nfree && (rc = grow(kv, want - s->npages - kv->nfree, err)))
			return rc;
		row = kv->h_tables + (size_t)slots[i] * (size_t)kv->maxp;
		at = s->npages;
		while (s->npages < want)
			row[s->npages++] = kv->free_pages[--kv->nfree];
		DSC_CK(err, cudaMemcpyAsync(kv->d_tables + (size_t)slots[i] * (size_t)kv->maxp + at, row + at,
					    (size_t)(want - at) * sizeof(char *), cudaMemcpyHostToDevice, st));
	}
	return 0;
}

void dsc_kv_commit(struct dsc_kv *kv, int slot, long len)
{
	if (slot >= 0 && slot < DSC_MAX_SEQS)
		kv->slots[slot].len = len;
}

/* Return the pages of s beyond the first keep. */
static void give_back(struct dsc_kv *kv, struct dsc_kv_slot *s, long keep)
{
	char **row = kv->h_tables + (size_t)(s - kv->slots) * (size_t)kv->maxp;

	while (s->npages > keep) {
		kv->free_pages[kv->nfree++] = row[--s->npages];
		row[s->npages] = NULL;
	}
}

void dsc_kv_drop(struct dsc_kv *kv, uint64_t seq)
{
	struct dsc_kv_slot *s = find(kv, seq);

	if (!s)
		return;
	give_back(kv, s, 0);
	memset(s, 0, sizeof(*s));
}

void dsc_kv_truncate(struct dsc_kv *kv, uint64_t seq, long len)
{
	struct dsc_kv_slot *s = find(kv, seq);

	if (!s || len < 0 || len >= s->len)
		return;
	s->len = len;
	give_back(kv, s, pages_for(len));
}
