/*
 * rope.h - rotary position embedding of DeepSeek's MLA: frequencies (plain
 * or YaRN), the cos/sin amplitude, the attention softmax scale, and the
 * rotation of adjacent pairs on the raw checkpoint layout.
 *
 * Follows Hugging Face transformers (docs/deepseek-v3-model.md sections 3.4,
 * 3.5, 4), computed in f32 the way it does: inv_freq from f32 powers; the
 * angle phi_i = (float)pos * inv_freq_i rounded to f32; cos and sin of that
 * f32 angle times the amplitude A; pair i is (x[2i], x[2i+1]) rotated as
 *   x'[2i] = x[2i] c - x[2i+1] s,   x'[2i+1] = x[2i+1] c + x[2i] s.
 * With rope_scaling present YaRN is always applied (never depending on the
 * sequence length), and the softmax scale is dq^-1/2 * m^2 with
 * m = 0.1 * mscale_all_dim * ln(factor) + 1 when mscale_all_dim is non-zero.
 *
 * struct ds_rope owns its frequency table (ds_rope_release frees it).
 */
#ifndef DS_ROPE_H
#define DS_ROPE_H

#include "config.h"
#include "error.h"

struct ds_rope {
	int dim;		/* qk_rope_head_dim (even) */
	int yarn;		/* YaRN frequencies in use */
	float *inv_freq;	/* [dim / 2] */
	float amplitude;	/* A, multiplies cos and sin (1 without YaRN) */
	float softmax_scale;	/* sigma, multiplies q.k before the softmax */
	int low, high;		/* YaRN correction range (for tests and messages) */
};

/* Build the tables for a config.  Returns 0, or EX_CONFIG (78) when the
 * rope fields are impossible (odd or zero dim, theta <= 0, YaRN factor or
 * original length <= 0). */
int ds_rope_init(struct ds_rope *r, const struct ds_config *c, struct ds_error *err);
void ds_rope_release(struct ds_rope *r);

/* cos (cs[0 .. dim/2)) and sin (cs[dim/2 .. dim)) for position pos, times A. */
void ds_rope_table(const struct ds_rope *r, long pos, float *cs);
/* Rotate the dim values of x in place with a table from ds_rope_table(). */
void ds_rope_rotate(const struct ds_rope *r, const float *cs, float *x);


#endif
