/*
 * test-config.c - config.json parsing: the three real configs in
 * tests/fixtures/configs, HF's defaults for absent fields, the spellings HF
 * accepts, and one refusal (EX_CONFIG naming the field) per impossible value.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "testhelp.h"

static const char *fixture(const char *name)
{
	static char buf[4096];
	const char *dir = getenv("DS_TESTS");
	snprintf(buf, sizeof(buf), "%s/fixtures/configs/%s", dir ? dir : "tests", name);
	return buf;
}

static int parse(struct ds_config *c, const char *json, struct ds_error *err)
{
	memset(err, 0, sizeof(*err));
	return ds_config_parse(c, json, strlen(json), "t.json", err);
}

static void test_v3(void)
{
	struct ds_config c;
	struct ds_error err = { 0 };
	int rc = ds_config_load(&c, fixture("deepseek-v3.json"), &err);

	check("DeepSeek-V3 config.json loads", rc == 0);
	if (rc) {
		printf("# %s\n", err.msg);
		return;
	}
	check("v3 model_type/architecture", !strcmp(c.model_type, "deepseek_v3") &&
	      !strcmp(c.architecture, "DeepseekV3ForCausalLM"));
	check("v3 sizes", c.vocab_size == 129280 && c.hidden_size == 7168 && c.intermediate_size == 18432 &&
	      c.moe_intermediate_size == 2048 && c.num_hidden_layers == 61 && c.first_k_dense_replace == 3);
	check("v3 attention", c.num_attention_heads == 128 && c.num_key_value_heads == 128 &&
	      c.q_lora_rank == 1536 && c.kv_lora_rank == 512 && c.qk_nope_head_dim == 128 &&
	      c.qk_rope_head_dim == 64 && c.v_head_dim == 128 && ds_config_qk_head_dim(&c) == 192);
	check("v3 moe", c.n_routed_experts == 256 && c.n_shared_experts == 1 && c.num_experts_per_tok == 8 &&
	      c.n_group == 8 && c.topk_group == 4 && c.topk_method == DS_TOPK_NOAUX_TC &&
	      c.scoring_func == DS_SCORING_SIGMOID && c.norm_topk_prob == 1 && c.routed_scaling_factor == 2.5);
	check("v3 rope yarn", c.rope_scaling.yarn && c.rope_scaling.factor == 40 &&
	      c.rope_scaling.original_max_position_embeddings == 4096 && c.rope_scaling.beta_fast == 32 &&
	      c.rope_scaling.beta_slow == 1 && c.rope_scaling.mscale == 1.0 &&
	      c.rope_scaling.mscale_all_dim == 1.0 && c.rope_theta == 10000 &&
	      c.max_position_embeddings == 163840);
	check("v3 fp8", c.fp8 && c.fp8_block_rows == 128 && c.fp8_block_cols == 128 && !c.scale_ue8m0);
	check("v3 misc", c.num_nextn_predict_layers == 1 && c.rms_norm_eps == 1e-6 && c.bos_token_id == 0 &&
	      c.n_eos == 1 && c.eos_token_ids[0] == 1 && ds_config_is_eos(&c, 1) && !ds_config_is_eos(&c, 0) &&
	      !strcmp(c.torch_dtype, "bfloat16"));
	check("v3 layer kinds", !ds_config_layer_is_moe(&c, 0) && !ds_config_layer_is_moe(&c, 2) &&
	      ds_config_layer_is_moe(&c, 3) && ds_config_layer_is_moe(&c, 60) && ds_config_layer_is_moe(&c, 61));
}

static void test_v2_lite_moonlight(void)
{
	struct ds_config c;
	struct ds_error err = { 0 };
	int rc = ds_config_load(&c, fixture("v2-lite.json"), &err);

	check("V2-Lite config loads", rc == 0);
	if (rc)
		printf("# %s\n", err.msg);
	check("v2-lite: q_lora_rank null means 0", !rc && c.q_lora_rank == 0);
	check("v2-lite: softmax greedy, no renormalisation", !rc && c.scoring_func == DS_SCORING_SOFTMAX &&
	      c.topk_method == DS_TOPK_GREEDY && !c.norm_topk_prob && c.routed_scaling_factor == 1.0);
	check("v2-lite: mscale 0.707, no fp8, no mtp", !rc && fabs(c.rope_scaling.mscale_all_dim - 0.707) < 1e-12 &&
	      !c.fp8 && c.num_nextn_predict_layers == 0);
	check("v2-lite: sizes", !rc && c.vocab_size == 102400 && c.hidden_size == 2048 && c.num_hidden_layers == 27 &&
	      c.bos_token_id == 100000 && c.eos_token_ids[0] == 100001 && c.moe_intermediate_size == 1408);

	rc = ds_config_load(&c, fixture("moonlight.json"), &err);
	check("Moonlight config loads", rc == 0);
	if (rc)
		printf("# %s\n", err.msg);
	check("moonlight: no rope scaling, theta 50000", !rc && !c.rope_scaling.yarn && c.rope_theta == 50000);
	check("moonlight: sigmoid noaux_tc, eps 1e-5", !rc && c.scoring_func == DS_SCORING_SIGMOID &&
	      c.topk_method == DS_TOPK_NOAUX_TC && c.rms_norm_eps == 1e-5 && c.n_group == 1 &&
	      fabs(c.routed_scaling_factor - 2.446) < 1e-12);
}

static void test_defaults(void)
{
	struct ds_config c;
	struct ds_error err;

	check("minimal v3 config parses", parse(&c, "{\"model_type\": \"deepseek_v3\"}", &err) == 0);
	check("v3 defaults are DeepseekV3Config's",
	      c.vocab_size == 129280 && c.hidden_size == 7168 && c.num_hidden_layers == 61 &&
	      c.q_lora_rank == 1536 && c.n_routed_experts == 256 && c.num_experts_per_tok == 8 &&
	      c.n_group == 8 && c.topk_group == 4 && c.first_k_dense_replace == 3 && c.norm_topk_prob &&
	      c.max_position_embeddings == 4096 && c.rope_theta == 10000 && !c.rope_scaling.yarn &&
	      c.bos_token_id == 0 && c.eos_token_ids[0] == 1 && c.num_nextn_predict_layers == 1 &&
	      c.topk_method == DS_TOPK_NOAUX_TC && c.scoring_func == DS_SCORING_SIGMOID && !c.fp8);
	check("v2 config without num_experts_per_tok is refused",
	      parse(&c, "{\"model_type\": \"deepseek_v2\"}", &err) == EX_CONFIG &&
	      strstr(err.msg, "num_experts_per_tok"));
	check("minimal v2 config parses",
	      parse(&c, "{\"model_type\": \"deepseek_v2\", \"num_experts_per_tok\": 6}", &err) == 0);
	check("v2 defaults are DeepseekV2Config's",
	      c.vocab_size == 102400 && c.hidden_size == 4096 && c.intermediate_size == 11008 &&
	      c.moe_intermediate_size == 1407 && c.num_hidden_layers == 32 && c.num_attention_heads == 32 &&
	      c.num_key_value_heads == 32 && c.n_shared_experts == 2 && c.n_routed_experts == 64 &&
	      c.n_group == 1 && c.topk_group == 1 && c.first_k_dense_replace == 0 && !c.norm_topk_prob &&
	      c.max_position_embeddings == 2048 && c.bos_token_id == 1 && c.eos_token_ids[0] == 2 &&
	      c.topk_method == DS_TOPK_GREEDY && c.scoring_func == DS_SCORING_SOFTMAX &&
	      c.num_nextn_predict_layers == 0 && c.q_lora_rank == 1536);
	check("model_type inferred from architectures",
	      parse(&c, "{\"architectures\": [\"DeepseekV2ForCausalLM\"], \"num_experts_per_tok\": 2}", &err) == 0 &&
	      !strcmp(c.model_type, "deepseek_v2"));
	check("null num_key_value_heads = heads",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"num_attention_heads\": 16, \"num_key_value_heads\": null}",
		    &err) == 0 && c.num_key_value_heads == 16);
	check("null n_group/topk_group = 1",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"n_group\": null, \"topk_group\": null}", &err) == 0 &&
	      c.n_group == 1 && c.topk_group == 1);
	check("null n_routed_experts = dense model",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"n_routed_experts\": null}", &err) == 0 &&
	      c.n_routed_experts == 0 && !ds_config_layer_is_moe(&c, 10));
}

static void test_spellings(void)
{
	struct ds_config c;
	struct ds_error err;

	check("eos_token_id as a list",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"eos_token_id\": [1, 7, 9]}", &err) == 0 &&
	      c.n_eos == 3 && ds_config_is_eos(&c, 7) && ds_config_is_eos(&c, 9) && !ds_config_is_eos(&c, 2));
	check("eos_token_id null = none",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"eos_token_id\": null}", &err) == 0 && c.n_eos == 0);
	check("rope_scaling.rope_type",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"max_position_embeddings\": 8192, "
		    "\"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 2}}", &err) == 0 &&
	      c.rope_scaling.yarn && c.rope_scaling.factor == 2 && c.rope_scaling.beta_fast == 32 &&
	      c.rope_scaling.beta_slow == 1 && c.rope_scaling.mscale == 0 &&
	      c.rope_scaling.original_max_position_embeddings == 8192);
	check("rope_parameters (transformers 5) with rope_theta",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"rope_parameters\": {\"rope_type\": \"yarn\", "
		    "\"factor\": 40, \"rope_theta\": 50000, \"original_max_position_embeddings\": 4096}}", &err) == 0 &&
	      c.rope_scaling.yarn && c.rope_theta == 50000 && c.rope_scaling.original_max_position_embeddings == 4096);
	check("rope_parameters default type = plain rope",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"rope_parameters\": {\"rope_type\": \"default\", "
		    "\"rope_theta\": 20000}}", &err) == 0 && !c.rope_scaling.yarn && c.rope_theta == 20000);
	check("num_mtp_layers (transformers 5 name)",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"num_mtp_layers\": 0}", &err) == 0 &&
	      c.num_nextn_predict_layers == 0);
	check("ue8m0 scales and block size",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"quantization_config\": {\"quant_method\": \"fp8\", "
		    "\"fmt\": \"e4m3\", \"scale_fmt\": \"ue8m0\", \"weight_block_size\": [64, 32]}}", &err) == 0 &&
	      c.fp8 && c.scale_ue8m0 && c.fp8_block_rows == 64 && c.fp8_block_cols == 32);
	check("transformers 5 'dtype' field",
	      parse(&c, "{\"model_type\": \"deepseek_v3\", \"dtype\": \"float32\"}", &err) == 0 &&
	      !strcmp(c.torch_dtype, "float32"));
}

static void test_refusals(void)
{
	static const struct { const char *json, *field; } bad[] = {
		{ "", "JSON" },
		{ "[1, 2]", "object" },
		{ "{\"model_type\": \"llama\"}", "model_type" },
		{ "{}", "model_type" },
		{ "{\"model_type\": 3}", "model_type" },
		{ "{\"model_type\": \"deepseek_v3\", \"hidden_size\": 0}", "hidden_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"hidden_size\": -7168}", "hidden_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"hidden_size\": \"7168\"}", "hidden_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"hidden_size\": 71.5}", "hidden_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"hidden_size\": 1e300}", "hidden_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"vocab_size\": 0}", "vocab_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"num_hidden_layers\": null}", "num_hidden_layers" },
		{ "{\"model_type\": \"deepseek_v3\", \"num_experts_per_tok\": 300}", "num_experts_per_tok" },
		{ "{\"model_type\": \"deepseek_v3\", \"n_group\": 7}", "n_routed_experts" },
		{ "{\"model_type\": \"deepseek_v3\", \"topk_group\": 9}", "topk_group" },
		{ "{\"model_type\": \"deepseek_v3\", \"n_group\": 256, \"topk_group\": 8}", "n_group" },
		{ "{\"model_type\": \"deepseek_v3\", \"n_group\": 64, \"topk_group\": 1}", "num_experts_per_tok" },
		{ "{\"model_type\": \"deepseek_v3\", \"scoring_func\": \"relu\"}", "scoring_func" },
		{ "{\"model_type\": \"deepseek_v3\", \"scoring_func\": \"softmax\"}", "topk_method" },
		{ "{\"model_type\": \"deepseek_v3\", \"topk_method\": \"best\"}", "topk_method" },
		{ "{\"model_type\": \"deepseek_v3\", \"hidden_act\": \"gelu\"}", "hidden_act" },
		{ "{\"model_type\": \"deepseek_v3\", \"num_attention_heads\": 65536, \"qk_nope_head_dim\": 65536}",
		  "num_attention_heads" },
		{ "{\"model_type\": \"deepseek_v3\", \"qk_rope_head_dim\": 63}", "qk_rope_head_dim" },
		{ "{\"model_type\": \"deepseek_v3\", \"norm_topk_prob\": 1}", "norm_topk_prob" },
		{ "{\"model_type\": \"deepseek_v3\", \"rms_norm_eps\": 0}", "rms_norm_eps" },
		{ "{\"model_type\": \"deepseek_v3\", \"rms_norm_eps\": \"1e-6\"}", "rms_norm_eps" },
		{ "{\"model_type\": \"deepseek_v3\", \"rope_theta\": -1}", "rope_theta" },
		{ "{\"model_type\": \"deepseek_v3\", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}}",
		  "rope_scaling" },
		{ "{\"model_type\": \"deepseek_v3\", \"rope_scaling\": {\"type\": \"yarn\"}}", "factor" },
		{ "{\"model_type\": \"deepseek_v3\", \"rope_scaling\": [1]}", "rope_scaling" },
		{ "{\"model_type\": \"deepseek_v3\", \"eos_token_id\": \"</s>\"}", "eos_token_id" },
		{ "{\"model_type\": \"deepseek_v3\", \"eos_token_id\": [1, 2.5]}", "eos_token_id" },
		{ "{\"model_type\": \"deepseek_v3\", \"eos_token_id\": 129280}", "eos_token_id" },
		{ "{\"model_type\": \"deepseek_v3\", \"bos_token_id\": -5}", "bos_token_id" },
		{ "{\"model_type\": \"deepseek_v3\", \"moe_layer_freq\": 2}", "moe_layer_freq" },
		{ "{\"model_type\": \"deepseek_v3\", \"tie_word_embeddings\": true}", "tie_word_embeddings" },
		{ "{\"model_type\": \"deepseek_v3\", \"rope_interleave\": false}", "rope_interleave" },
		{ "{\"model_type\": \"deepseek_v3\", \"mlp_bias\": true}", "mlp_bias" },
		{ "{\"model_type\": \"deepseek_v3\", \"quantization_config\": {\"quant_method\": \"gptq\"}}",
		  "quant_method" },
		{ "{\"model_type\": \"deepseek_v3\", \"quantization_config\": {\"quant_method\": \"fp8\", "
		  "\"weight_block_size\": [128]}}", "weight_block_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"quantization_config\": {\"quant_method\": \"fp8\", "
		  "\"fmt\": \"e5m2\"}}", "fmt" },
		{ "{\"model_type\": \"deepseek_v3\", \"n_routed_experts\": 8, \"n_group\": 1, \"topk_group\": 1, "
		  "\"moe_intermediate_size\": 0}", "moe_intermediate_size" },
		{ "{\"model_type\": \"deepseek_v3\", \"torch_dtype\": \"a-very-long-dtype-name\"}", "torch_dtype" },
		{ "{\"model_type\": \"deepseek_v3\"} trailing", "JSON" },
	};
	struct ds_config c;
	struct ds_error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(&c, bad[i].json, &err);
		checkf(rc == EX_CONFIG && strstr(err.msg, bad[i].field) && strstr(err.msg, "t.json"),
		       "refused with 78 naming '%s': %.70s", bad[i].field, bad[i].json);
		if (rc != EX_CONFIG || !strstr(err.msg, bad[i].field))
			printf("#   rc %d: %s\n", rc, err.msg);
	}
	{
		const char nul[] = "{\"model_type\": \"deepseek_v3\"}\0junk";
		memset(&err, 0, sizeof(err));
		check("a NUL byte in the text is refused",
		      ds_config_parse(&c, nul, sizeof(nul) - 1, "t.json", &err) == EX_CONFIG);
	}
	check("a missing file is EX_NOINPUT",
	      ds_config_load(&c, "/nonexistent/config.json", &err) == EX_NOINPUT && strstr(err.msg, "/nonexistent"));
	{
		char *text = NULL;
		size_t len = 0;
		FILE *fp = fopen(fixture("v2-lite.json"), "rb");
		long size = fp && !fseek(fp, 0, SEEK_END) ? ftell(fp) : -1;

		if (fp)
			fclose(fp);
		check("ds_config_read: the whole text, NUL-terminated",
		      ds_config_read(fixture("v2-lite.json"), &text, &len, &err) == 0 && size > 0 &&
		      len == (size_t)size && text[len] == 0 && strlen(text) == len && text[0] == '{');
		free(text);
		check("ds_config_read: a path through a file is EX_NOINPUT, nothing allocated",
		      ds_config_read("/dev/null/config.json", &text, NULL, &err) == EX_NOINPUT && !text);
	}
}

int main(void)
{
	test_v3();
	test_v2_lite_moonlight();
	test_defaults();
	test_spellings();
	test_refusals();
	return test_done();
}
