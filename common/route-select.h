/*
 * route-select.h - the one implementation of route.h's expert selection,
 * as inline code that both the C library (route.c's ds_router_select) and
 * the CUDA router kernel (common/cuda/route.cu, one thread per token)
 * compile, so the GPU chooses experts by exactly the same rules, ties and
 * NaN handling included, instead of a second copy of them.
 *
 * Only route.c and common/cuda/ include this; everyone else calls
 * ds_router_select().  Arguments and scratch as there (route.h).
 */
#ifndef DS_ROUTE_SELECT_H
#define DS_ROUTE_SELECT_H

#include <math.h>
#include <stdint.h>

#include "route.h"

#ifdef __CUDACC__
#define DS_HOST_DEVICE __host__ __device__
#else
#define DS_HOST_DEVICE
#endif

/* index of the largest of v[0..n) (first one on ties); -inf entries only
 * win when everything is -inf */
static inline DS_HOST_DEVICE int ds_route_argmax(const float *v, int n)
{
	int best = 0;

	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

static inline DS_HOST_DEVICE void ds_route_sort_ascending(int32_t *ids, float *w, int k)
{
	for (int i = 1; i < k; i++)
		for (int j = i; j > 0 && ids[j - 1] > ids[j]; j--) {
			int32_t ti = ids[j];
			float tw = w[j];

			ids[j] = ids[j - 1];
			w[j] = w[j - 1];
			ids[j - 1] = ti;
			w[j - 1] = tw;
		}
}

static inline DS_HOST_DEVICE void ds_route_select_inline(const struct ds_router *r, const float *logits,
							 const float *bias, int32_t *ids, float *weights,
							 float *scratch)
{
	int E = r->n_experts, K = r->top_k, G = r->n_group, per = E / G;
	float *s = scratch, *c = scratch + E, *gs = scratch + 2 * E, *keep = gs + G, *taken = keep + G;
	float fill = r->scoring == DS_SCORING_SIGMOID ? -INFINITY : 0.0f;

	if (r->scoring == DS_SCORING_SIGMOID) {
		for (int e = 0; e < E; e++) {
			s[e] = 1.0f / (1.0f + expf(-logits[e]));
			c[e] = bias ? s[e] + bias[e] : s[e];
		}
	} else {
		float mx = logits[ds_route_argmax(logits, E)], sum = 0;

		for (int e = 0; e < E; e++) {
			s[e] = expf(logits[e] - mx);
			sum += s[e];
		}
		for (int e = 0; e < E; e++) {
			s[e] = s[e] / sum;
			c[e] = s[e];
		}
	}
	if (r->topk_group < G) {
		for (int g = 0; g < G; g++) {
			const float *v = c + g * per;

			if (r->scoring == DS_SCORING_SIGMOID) {
				int a = ds_route_argmax(v, per), b = a == 0 ? 1 : 0;

				for (int i = 0; i < per; i++)
					if (i != a && v[i] > v[b])
						b = i;
				gs[g] = v[a] + v[b];
			} else {
				gs[g] = v[ds_route_argmax(v, per)];
			}
		}
		/* keep the topk_group best groups */
		for (int g = 0; g < G; g++)
			keep[g] = 0;
		for (int t = 0; t < r->topk_group; t++) {
			int best = -1;

			for (int g = 0; g < G; g++)
				if (!keep[g] && (best < 0 || gs[g] > gs[best]))
					best = g;
			keep[best] = 1;
		}
		for (int g = 0; g < G; g++)
			if (!keep[g])
				for (int i = 0; i < per; i++)
					c[g * per + i] = fill;
	}
	for (int e = 0; e < E; e++)
		taken[e] = 0;
	for (int k = 0; k < K; k++) {
		int best = -1;

		/* NaN scores never win, but a full set is always chosen */
		for (int e = 0; e < E; e++)
			if (!taken[e] && (best < 0 || c[e] > c[best]))
				best = e;
		taken[best] = 1;
		ids[k] = best;
		weights[k] = s[best];
	}
	if (r->scoring == DS_SCORING_SIGMOID && r->norm_topk_prob) {
		float sum = 0;

		for (int k = 0; k < K; k++)
			sum += weights[k];
		sum += 1e-20f;
		for (int k = 0; k < K; k++)
			weights[k] /= sum;
	}
	for (int k = 0; k < K; k++)
		weights[k] *= r->scaling;
	ds_route_sort_ascending(ids, weights, K);
}

#endif
