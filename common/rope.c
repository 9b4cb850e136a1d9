/*
 * rope.c - frequencies, amplitude and softmax scale of MLA's rotary
 * embedding, as transformers computes them (f32 tensors, python-double
 * scalars rounded to f32 where they meet a tensor).
 */
#include <math.h>
#include <stdlib.h>
#include <sysexits.h>

#include "rope.h"

/* yarn_get_mscale(s, k) = 1 when s <= 1, else 0.1 k ln s + 1. */
static double yarn_mscale(double scale, double k)
{
	if (scale <= 1)
		return 1.0;
	return 0.1 * k * log(scale) + 1.0;
}

/* dim * ln(L0 / (2 pi r)) / (2 ln theta) */
static double correction_dim(double rotations, int dim, double theta, double l0)
{
	return dim * log(l0 / (rotations * 2 * M_PI)) / (2 * log(theta));
}

int ds_rope_init(struct ds_rope *r, const struct ds_config *c, struct ds_error *err)
{
	int dim = (int)c->qk_rope_head_dim, half = dim / 2;
	double theta = c->rope_theta, dq = (double)(c->qk_nope_head_dim + c->qk_rope_head_dim);
	const struct ds_rope_scaling *y = &c->rope_scaling;
	double sigma = 1.0 / sqrt(dq);

	r->inv_freq = NULL;
	if (dim <= 0 || dim % 2 || dim > 4096)
		return ds_error_set(err, EX_CONFIG, "qk_rope_head_dim %ld: must be even and in 2..4096",
				    c->qk_rope_head_dim);
	if (!(theta > 0) || !isfinite(theta))
		return ds_error_set(err, EX_CONFIG, "rope_theta %g: must be positive", theta);
	if (!(dq > 0))
		return ds_error_set(err, EX_CONFIG, "qk head dim %g: must be positive", dq);
	r->dim = dim;
	r->yarn = y->yarn;
	r->amplitude = 1.0f;
	r->low = r->high = 0;
	r->inv_freq = malloc((size_t)half * sizeof(float));
	if (!r->inv_freq)
		return ds_error_set(err, EX_OSERR, "out of memory");
	for (int i = 0; i < half; i++) {
		float e = (float)(2 * i) / (float)dim;

		r->inv_freq[i] = 1.0f / (float)pow(theta, (double)e);
	}
	if (y->yarn) {
		double factor = y->factor;
		double l0 = (double)y->original_max_position_embeddings;
		double bf = y->beta_fast > 0 ? y->beta_fast : 32, bs = y->beta_slow > 0 ? y->beta_slow : 1;
		double lo, hi, span;

		if (!(l0 > 0))
			return ds_error_set(err, EX_CONFIG, "rope_scaling: original_max_position_embeddings must be positive");
		if (!(factor > 0))	/* transformers' fallback for a missing factor */
			factor = (double)c->max_position_embeddings / l0;
		if (!(factor > 0) || !isfinite(factor))
			return ds_error_set(err, EX_CONFIG, "rope_scaling: factor %g must be positive", factor);
		lo = floor(correction_dim(bf, dim, theta, l0));
		hi = ceil(correction_dim(bs, dim, theta, l0));
		lo = lo < 0 ? 0 : lo;
		hi = hi > dim - 1 ? dim - 1 : hi;
		r->low = (int)lo;
		r->high = (int)hi;
		span = hi - lo;
		if (lo == hi)
			span = (hi + 0.001) - lo;
		for (int i = 0; i < half; i++) {
			float e = (float)(2 * i) / (float)dim;
			float base = (float)pow(theta, (double)e);
			float extra = 1.0f / base;
			float inter = 1.0f / ((float)factor * base);
			float ramp = ((float)i - (float)lo) / (float)span;
			float ef;

			ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
			ef = 1.0f - ramp;
			r->inv_freq[i] = inter * (1.0f - ef) + extra * ef;
		}
		if (y->mscale != 0 && y->mscale_all_dim != 0)
			r->amplitude = (float)(yarn_mscale(factor, y->mscale) /
					       yarn_mscale(factor, y->mscale_all_dim));
		else
			r->amplitude = (float)yarn_mscale(factor, 1.0);
		if (y->mscale_all_dim != 0) {
			double m = yarn_mscale(y->factor > 0 ? y->factor : factor, y->mscale_all_dim);

			sigma = sigma * m * m;
		}
	}
	r->softmax_scale = (float)sigma;
	return 0;
}

void ds_rope_release(struct ds_rope *r)
{
	free(r->inv_freq);
	r->inv_freq = NULL;
}

void ds_rope_table(const struct ds_rope *r, long pos, float *cs)
{
	int half = r->dim / 2;
	float t = (float)pos;

	for (int i = 0; i < half; i++) {
		float phi = t * r->inv_freq[i];

		cs[i] = (float)cos((double)phi) * r->amplitude;
		cs[half + i] = (float)sin((double)phi) * r->amplitude;
	}
}

void ds_rope_rotate(const struct ds_rope *r, const float *cs, float *x)
{
	int half = r->dim / 2;

	for (int i = 0; i < half; i++) {
		float c = cs[i], s = cs[half + i], a = x[2 * i], b = x[2 * i + 1];

		x[2 * i] = a * c - b * s;
		x[2 * i + 1] = b * c + a * s;
	}
}
