/*
 * route.h - MoE expert selection from gate logits, and routing statistics.
 *
 * One implementation serves ds-forward and ds-route.  It follows Hugging
 * Face transformers (docs/deepseek-v3-model.md section 5), in f32:
 *  - sigmoid + noaux_tc (V3, Moonlight): s = sigmoid(z); the choice score
 *    c = s + e_score_correction_bias (f32) is used for selection only; group
 *    score = the two largest c of the group summed; the topk_group best
 *    groups are kept and every expert of a dropped group gets -inf; the K
 *    largest c are chosen; weights are s of the chosen experts, divided by
 *    their sum + 1e-20 when norm_topk_prob, times routed_scaling_factor;
 *  - softmax + greedy / group_limited_greedy (V2): s = softmax(z); group
 *    score = the largest s of the group, dropped experts get 0; the K largest
 *    s are chosen; weights are s times routed_scaling_factor (transformers'
 *    deepseek_v2 ignores norm_topk_prob, so a config asking for it is refused).
 * Exact ties are broken by the lower index (groups and experts alike).
 * Chosen experts are returned in ascending id order with their weights
 * aligned - the order in which the forward pass adds expert outputs.
 *
 * Nothing here allocates except ds_route_stats_init (freed by
 * ds_route_stats_release).
 */
#ifndef DS_ROUTE_H
#define DS_ROUTE_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "error.h"

struct ds_router {
	int n_experts;		/* E */
	int top_k;		/* K */
	int n_group, topk_group;
	enum ds_scoring scoring;
	enum ds_topk_method method;
	int norm_topk_prob;
	float scaling;		/* routed_scaling_factor, as f32 */
};

/* Check the routing fields of a config and fill r.  Returns 0, or EX_CONFIG
 * (78) naming the field for a config the code does not support (no routed
 * experts, groups that do not divide E, K larger than the kept groups hold,
 * groups of one expert with noaux_tc, a scoring/method pair transformers
 * would not run as written). */
int ds_router_init(struct ds_router *r, const struct ds_config *c, struct ds_error *err);

/* Floats of scratch ds_router_select needs. */
long ds_router_scratch(const struct ds_router *r);

/* Choose K experts for one token from its E gate logits.  bias (E floats)
 * may be NULL (treated as zeros).  ids/weights receive K entries, ids
 * ascending. */
void ds_router_select(const struct ds_router *r, const float *logits, const float *bias, int32_t *ids,
		      float *weights, float *scratch);

/* Load statistics of one layer: how often each expert and each group was
 * chosen, and the sum of the routing weights each expert received. */
struct ds_route_stats {
	int layer;
	int n_experts, n_group, top_k;
	long tokens;
	long *count;		/* [E] */
	double *weight;		/* [E] */
};

int ds_route_stats_init(struct ds_route_stats *s, const struct ds_router *r, int layer);
void ds_route_stats_add(struct ds_route_stats *s, const int32_t *ids, const float *weights, long ntok);
/* Text: a summary line, one line per expert, one per group.  JSON: one
 * object (cJSON).  Return 0 or EX_IOERR. */
int ds_route_stats_print(const struct ds_route_stats *s, FILE *fp, int json);
void ds_route_stats_release(struct ds_route_stats *s);

#endif
