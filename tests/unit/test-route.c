/*
 * test-route.c - the routers on hand-made cases whose answers are worked
 * out here: bias for selection only, dropped groups at -inf (a case where a
 * 0.0 fill would choose differently), group scores as top-2 sums, ties to
 * the lower index, V2 softmax greedy and group-limited; config refusals;
 * statistics.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "route.h"
#include "testhelp.h"

static void v3_config(struct ds_config *c, int E, int G, int TG, int K)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->model_type, "deepseek_v3");
	c->n_routed_experts = E;
	c->n_group = G;
	c->topk_group = TG;
	c->num_experts_per_tok = K;
	c->scoring_func = DS_SCORING_SIGMOID;
	c->topk_method = DS_TOPK_NOAUX_TC;
	c->norm_topk_prob = 1;
	c->routed_scaling_factor = 2.5;
}

static double sig(double z)
{
	return 1.0 / (1.0 + exp(-z));
}

int main(void)
{
	struct ds_config c;
	struct ds_router r;
	struct ds_error err = { 0 };
	float scratch[64];
	int32_t ids[8];
	float w[8];

	/* 1: V3 router, 8 experts in 4 groups of 2, keep 2 groups, choose 3 */
	v3_config(&c, 8, 4, 2, 3);
	check("V3 router init", ds_router_init(&r, &c, &err) == 0);
	{
		float z[8] = { 0.1f, 0.2f, 0.3f, -0.2f, 0.25f, 0.05f, 0.4f, 0.35f };
		float b[8] = { -1, -1, 1, -0.9f, 1, -0.95f, -0.6f, -0.6f };
		/* c = s + b: g0 ~ -0.4,-0.45 (sum -0.85); g1 1.57,-0.45 (1.12);
		 * g2 1.56,-0.54 (1.03); g3 -0.0,-0.01 (sum ~ -0.1) -> keep g1, g2.
		 * Chosen: 2, 4, then 3 (c -0.45) over 5 (c -0.44? no: see below).
		 * A 0.0 fill would pick 6 or 7 (c 0.0) instead of a negative one. */
		double s3 = sig(-0.2), s5 = sig(0.05);
		int third = (s3 - 0.9) > (s5 - 0.95) ? 3 : 5;
		double sum = sig(0.3) + sig(0.25) + (third == 3 ? s3 : s5);

		ds_router_select(&r, z, b, ids, w, scratch);
		checkf(ids[0] == 2 && ids[1] == (third == 3 ? 3 : 4) && ids[2] == (third == 3 ? 4 : 5),
		       "dropped groups are -inf: experts {2, 4, %d} (got %d %d %d)", third, ids[0], ids[1], ids[2]);
		checkf(fabs(w[0] - sig(0.3) / sum * 2.5) < 1e-6, "weights from unbiased sigmoid, normalised, x2.5 (%g)",
		       w[0]);
		double wsum = w[0] + w[1] + w[2];
		checkf(fabs(wsum - 2.5) < 1e-6, "weights sum to routed_scaling_factor (%g)", wsum);
	}
	/* 2: bias decides selection, not the weights */
	v3_config(&c, 4, 1, 1, 1);
	c.norm_topk_prob = 0;
	c.routed_scaling_factor = 1.0;
	ds_router_init(&r, &c, &err);
	{
		float z[4] = { 3.0f, -3.0f, 0.0f, 0.0f }, b[4] = { 0, 2.0f, 0, 0 };

		ds_router_select(&r, z, b, ids, w, scratch);
		checkf(ids[0] == 1, "bias makes expert 1 the choice (got %d)", ids[0]);
		checkf(fabs(w[0] - sig(-3.0)) < 1e-7, "its weight is sigmoid(z) without bias (%g)", w[0]);
	}
	/* 3: group score is the sum of the top two, not the max */
	v3_config(&c, 6, 2, 1, 1);
	ds_router_init(&r, &c, &err);
	{
		/* g0: 0.9, 0.1, 0.1 (max 0.9, top2 1.0); g1: 0.6, 0.6, 0.0 (max 0.6, top2 1.2) */
		float z[6], b[6] = { 0.9f, 0.1f, 0.1f, 0.6f, 0.6f, 0 };

		for (int i = 0; i < 6; i++)
			z[i] = -30.0f;	/* s ~ 0: c = bias */
		ds_router_select(&r, z, b, ids, w, scratch);
		checkf(ids[0] == 3, "group with the larger top-2 sum wins (expert 3, got %d)", ids[0]);
	}
	/* 4: exact ties go to the lower index */
	v3_config(&c, 8, 1, 1, 3);
	ds_router_init(&r, &c, &err);
	{
		float z[8] = { 0 };

		ds_router_select(&r, z, NULL, ids, w, scratch);
		checkf(ids[0] == 0 && ids[1] == 1 && ids[2] == 2, "ties: experts 0 1 2 (got %d %d %d)", ids[0], ids[1],
		       ids[2]);
	}
	/* 5: V2 softmax greedy, no renormalisation */
	memset(&c, 0, sizeof(c));
	strcpy(c.model_type, "deepseek_v2");
	c.n_routed_experts = 4;
	c.n_group = 1;
	c.topk_group = 1;
	c.num_experts_per_tok = 2;
	c.scoring_func = DS_SCORING_SOFTMAX;
	c.topk_method = DS_TOPK_GREEDY;
	c.routed_scaling_factor = 1.5;
	check("V2 greedy router init", ds_router_init(&r, &c, &err) == 0);
	{
		float z[4] = { 1, 3, 2, 0 };
		double den = exp(1) + exp(3) + exp(2) + exp(0);

		ds_router_select(&r, z, NULL, ids, w, scratch);
		checkf(ids[0] == 1 && ids[1] == 2, "softmax greedy picks 1 and 2 (got %d %d)", ids[0], ids[1]);
		checkf(fabs(w[0] - exp(3) / den * 1.5) < 1e-6 && fabs(w[1] - exp(2) / den * 1.5) < 1e-6,
		       "softmax weights x scaling, not renormalised (%g %g)", w[0], w[1]);
	}
	/* 6: V2 group_limited_greedy: group score = max */
	c.n_routed_experts = 8;
	c.n_group = 4;
	c.topk_group = 1;
	c.topk_method = DS_TOPK_GROUP_LIMITED_GREEDY;
	check("V2 group-limited router init", ds_router_init(&r, &c, &err) == 0);
	{
		float z[8] = { 5.0f, 4.9f, 4.95f, 0, 0, 0, 0, 0 };

		ds_router_select(&r, z, NULL, ids, w, scratch);
		checkf(ids[0] == 0 && ids[1] == 1, "one kept group: experts 0 1, not 0 2 (got %d %d)", ids[0], ids[1]);
	}
	/* refusals */
	v3_config(&c, 8, 3, 1, 2);
	check("n_group not dividing E is refused (78)", ds_router_init(&r, &c, &err) == 78);
	v3_config(&c, 8, 4, 1, 3);
	check("K beyond the kept groups is refused (78)", ds_router_init(&r, &c, &err) == 78);
	v3_config(&c, 8, 8, 2, 2);
	check("noaux_tc with 1-expert groups is refused (78)", ds_router_init(&r, &c, &err) == 78);
	v3_config(&c, 8, 1, 1, 2);
	c.scoring_func = DS_SCORING_SOFTMAX;
	c.topk_method = DS_TOPK_GREEDY;
	check("deepseek_v3 with softmax is refused (78)", ds_router_init(&r, &c, &err) == 78);
	strcpy(c.model_type, "deepseek_v2");
	c.norm_topk_prob = 1;
	check("softmax with norm_topk_prob is refused (78)", ds_router_init(&r, &c, &err) == 78);
	c.n_routed_experts = 0;
	check("no routed experts is refused (78)", ds_router_init(&r, &c, &err) == 78);

	/* statistics */
	v3_config(&c, 8, 4, 2, 2);
	ds_router_init(&r, &c, &err);
	{
		struct ds_route_stats st;
		int32_t picks[6] = { 0, 1, 0, 5, 6, 7 };
		float wts[6] = { 1, 1, 0.5f, 0.5f, 2, 2 };
		char *buf = NULL;
		size_t len = 0;
		FILE *fp = open_memstream(&buf, &len);
		cJSON *o;

		ds_route_stats_init(&st, &r, 3);
		ds_route_stats_add(&st, picks, wts, 3);
		checkf(st.tokens == 3 && st.count[0] == 2 && st.count[5] == 1 && st.weight[0] == 1.5,
		       "stats count tokens and picks (%ld %ld)", st.tokens, st.count[0]);
		ds_route_stats_print(&st, fp, 1);
		fclose(fp);
		o = cJSON_Parse(buf);
		check("stats JSON parses", o != NULL);
		cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "groups"), 3);
		checkf(g && cJSON_GetObjectItem(g, "count")->valuedouble == 2, "group 3 got 2 picks");
		cJSON_Delete(o);
		free(buf);
		ds_route_stats_release(&st);
	}
	return test_done();
}
