/*
 * route.c - expert selection (sigmoid/noaux_tc and softmax/greedy routers)
 * and per-layer load statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "route.h"
#include "route-select.h"

int ds_router_init(struct ds_router *r, const struct ds_config *c, struct ds_error *err)
{
	long E = c->n_routed_experts, K = c->num_experts_per_tok, G = c->n_group, TG = c->topk_group;

	memset(r, 0, sizeof(*r));
	if (E <= 0 || E > 65536)
		return ds_error_set(err, EX_CONFIG, "n_routed_experts %ld: must be in 1..65536", E);
	if (K <= 0 || K > E)
		return ds_error_set(err, EX_CONFIG, "num_experts_per_tok %ld: must be in 1..n_routed_experts (%ld)", K, E);
	if (G <= 0)
		G = 1;
	if (TG <= 0)
		TG = G;
	if (E % G)
		return ds_error_set(err, EX_CONFIG, "n_group %ld does not divide n_routed_experts %ld", G, E);
	if (TG > G)
		return ds_error_set(err, EX_CONFIG, "topk_group %ld is larger than n_group %ld", TG, G);
	if (c->scoring_func == DS_SCORING_SIGMOID) {
		if (c->topk_method != DS_TOPK_NOAUX_TC)
			return ds_error_set(err, EX_CONFIG,
					    "scoring_func sigmoid with a topk_method other than noaux_tc is not supported");
		if (E / G < 2)
			return ds_error_set(err, EX_CONFIG,
					    "noaux_tc needs at least 2 experts per group (n_group %ld, %ld experts)", G, E);
		if (!strcmp(c->model_type, "deepseek_v2"))
			return ds_error_set(err, EX_CONFIG,
					    "model_type deepseek_v2 with sigmoid routing: transformers always uses softmax there");
	} else {
		if (c->topk_method == DS_TOPK_NOAUX_TC)
			return ds_error_set(err, EX_CONFIG, "scoring_func softmax with topk_method noaux_tc is not supported");
		if (c->norm_topk_prob)
			return ds_error_set(err, EX_CONFIG,
					    "norm_topk_prob with softmax routing is not supported (the references disagree)");
		if (!strcmp(c->model_type, "deepseek_v3"))
			return ds_error_set(err, EX_CONFIG,
					    "model_type deepseek_v3 with softmax routing: transformers always uses sigmoid noaux_tc there");
	}
	if (c->topk_method == DS_TOPK_GREEDY)
		TG = G;
	if (K > TG * (E / G))
		return ds_error_set(err, EX_CONFIG, "num_experts_per_tok %ld exceeds the %ld experts of %ld kept groups",
				    K, TG * (E / G), TG);
	r->n_experts = (int)E;
	r->top_k = (int)K;
	r->n_group = (int)G;
	r->topk_group = (int)TG;
	r->scoring = c->scoring_func;
	r->method = c->topk_method;
	r->norm_topk_prob = c->norm_topk_prob;
	r->scaling = (float)c->routed_scaling_factor;
	return 0;
}

long ds_router_scratch(const struct ds_router *r)
{
	return 3L * r->n_experts + 2L * r->n_group;
}

void ds_router_select(const struct ds_router *r, const float *logits, const float *bias, int32_t *ids,
		      float *weights, float *scratch)
{
	ds_route_select_inline(r, logits, bias, ids, weights, scratch);
}

int ds_route_stats_init(struct ds_route_stats *s, const struct ds_router *r, int layer)
{
	memset(s, 0, sizeof(*s));
	s->layer = layer;
	s->n_experts = r->n_experts;
	s->n_group = r->n_group;
	s->top_k = r->top_k;
	s->count = calloc((size_t)r->n_experts, sizeof(*s->count));
	s->weight = calloc((size_t)r->n_experts, sizeof(*s->weight));
	if (!s->count || !s->weight) {
		ds_route_stats_release(s);
		return EX_OSERR;
	}
	return 0;
}

void ds_route_stats_add(struct ds_route_stats *s, const int32_t *ids, const float *weights, long ntok)
{
	for (long t = 0; t < ntok; t++)
		for (int k = 0; k < s->top_k; k++) {
			int32_t e = ids[t * s->top_k + k];

			if (e >= 0 && e < s->n_experts) {
				s->count[e]++;
				s->weight[e] += weights[t * s->top_k + k];
			}
		}
	s->tokens += ntok;
}

static long group_count(const struct ds_route_stats *s, int g)
{
	int per = s->n_experts / s->n_group;
	long n = 0;

	for (int i = 0; i < per; i++)
		n += s->count[g * per + i];
	return n;
}

static int print_json(const struct ds_route_stats *s, FILE *fp)
{
	cJSON *o = cJSON_CreateObject(), *ex = cJSON_CreateArray(), *gr = cJSON_CreateArray();
	char *text;
	int rc = 0;

	cJSON_AddNumberToObject(o, "layer", s->layer);
	cJSON_AddNumberToObject(o, "tokens", (double)s->tokens);
	cJSON_AddNumberToObject(o, "top_k", s->top_k);
	cJSON_AddNumberToObject(o, "n_experts", s->n_experts);
	cJSON_AddNumberToObject(o, "n_group", s->n_group);
	for (int e = 0; e < s->n_experts; e++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "id", e);
		cJSON_AddNumberToObject(x, "count", (double)s->count[e]);
		cJSON_AddNumberToObject(x, "weight_sum", s->weight[e]);
		cJSON_AddItemToArray(ex, x);
	}
	for (int g = 0; g < s->n_group; g++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddNumberToObject(x, "id", g);
		cJSON_AddNumberToObject(x, "count", (double)group_count(s, g));
		cJSON_AddItemToArray(gr, x);
	}
	cJSON_AddItemToObject(o, "experts", ex);
	cJSON_AddItemToObject(o, "groups", gr);
	text = cJSON_PrintUnformatted(o);
	if (!text || fprintf(fp, "%s\n", text) < 0)
		rc = EX_IOERR;
	free(text);
	cJSON_Delete(o);
	return rc;
}

int ds_route_stats_print(const struct ds_route_stats *s, FILE *fp, int json)
{
	long picks = s->tokens * s->top_k;

	if (json)
		return print_json(s, fp);
	fprintf(fp, "layer %d tokens %ld top_k %d experts %d groups %d\n", s->layer, s->tokens, s->top_k,
		s->n_experts, s->n_group);
	for (int e = 0; e < s->n_experts; e++)
		fprintf(fp, "expert %d count %ld share %.6f weight_sum %.9g\n", e, s->count[e],
			picks ? (double)s->count[e] / (double)picks : 0.0, s->weight[e]);
	for (int g = 0; g < s->n_group; g++) {
		long n = group_count(s, g);

		fprintf(fp, "group %d count %ld share %.6f\n", g, n, picks ? (double)n / (double)picks : 0.0);
	}
	return ferror(fp) ? EX_IOERR : 0;
}

void ds_route_stats_release(struct ds_route_stats *s)
{
	free(s->count);
	free(s->weight);
	s->count = NULL;
	s->weight = NULL;
}
