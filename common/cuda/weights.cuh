/*
 * weights.cuh - the model's weights in device memory: one upload from the
 * mmap'd checkpoint (model.h's views) into one arena, dtypes kept.
 *
 * What is uploaded: the decoder layers [first, last), the MTP module when
 * asked, the final norm and lm_head when they are mapped.  Matrices keep
 * their checkpoint dtype (FP8 e4m3 with its f32 weight_scale_inv as
 * stored, BF16, F16, F32) with rows padded to 64 bytes (dsc.cuh); the
 * routed experts of a layer are packed one after another (gate, up and down
 * each [E] x [rows][ld]); the router matrix is converted to f32 so routing
 * decisions come from f32 products; norm vectors and the correction bias
 * are f32 (model.h converted them).  A host matrix that two roles share
 * (the MTP module's embedding or head when they are the main ones) is
 * uploaded once.
 *
 * struct dsc_weights owns the arena (dsc_weights_free).
 */
#ifndef DSC_WEIGHTS_CUH
#define DSC_WEIGHTS_CUH

#include "dsc.cuh"
#include "mem.cuh"

extern "C" {
#include "model.h"
}

struct dsc_layer {
	int present;
	int moe, has_shared;
	long index;
	const float *attn_norm, *ffn_norm;
	struct dsc_mat q_a, q_b, q, kv_a, kv_b, o;
	const float *q_a_norm, *kv_a_norm;
	struct dsc_mlp dense;
	struct dsc_mat gate;	/* router, f32 */
	const float *gate_bias;	/* NULL without noaux_tc */
	struct dsc_mlp experts;	/* packed: dsc_expert(experts.gate, e) */
	struct dsc_mlp shared;
	/* MTP module */
	const float *enorm, *hnorm, *head_norm;
	struct dsc_mat eh_proj, embed, head;
};

struct dsc_weights {
	struct dsc_arena arena;
	long nlayers;
	struct dsc_layer *layers;	/* [nlayers], indexed like model.h's */
	const float *final_norm;	/* NULL when not mapped */
	struct dsc_mat lm_head;		/* data NULL when not mapped */
	size_t bytes;			/* the arena's size */
	size_t max_mat_elems;		/* the largest non-BF16 matrix, rows * ld */
};

/* Count what the wanted parts need (bytes), without touching the GPU. */
int dsc_weights_plan(struct dsc_weights *w, const struct ds_model *m, long first, long last, int mtp,
		     struct ds_error *err);
/* Allocate the counted arena and upload through a staging ring on st.
 * EX_DATAERR for experts of mixed dtypes. */
int dsc_weights_upload(struct dsc_weights *w, const struct ds_model *m, long first, long last, int mtp,
		       cudaStream_t st, struct ds_error *err);
void dsc_weights_free(struct dsc_weights *w);

/* Bytes of one element of a dtype the engine stores (0 otherwise). */
size_t dsc_dtype_size(int dtype);

#endif
