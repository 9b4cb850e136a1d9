/*
 * test-rope.c - YaRN and plain frequencies against docs/deepseek-v3-model.md
 * Appendix A and against the f32 bit patterns transformers 5.24 produced for
 * the same configs (printed once by hand, written below); softmax scales
 * for V3, V2-Lite and Moonlight; the amplitude when mscale differs from
 * mscale_all_dim; the adjacent-pair rotation.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "rope.h"
#include "tensor.h"
#include "testhelp.h"

/* Appendix A, inv_freq_i (V3 / V2-Lite YaRN, theta 10000, dim 64, f 40) */
static const double appendix_a[32] = {
	1.0000000e+00, 7.4989421e-01, 5.6234133e-01, 4.2169650e-01, 3.1622777e-01, 2.3713737e-01,
	1.7782794e-01, 1.3335214e-01, 1.0000000e-01, 7.4989421e-02, 5.6234133e-02, 3.9006927e-02,
	2.6879360e-02, 1.8378146e-02, 1.2447956e-02, 8.3345090e-03, 5.5000000e-03, 3.5619975e-03,
	2.2493653e-03, 1.3705136e-03, 7.9056942e-04, 4.1499040e-04, 1.7782794e-04, 3.3338036e-05,
	2.5000000e-05, 1.8747355e-05, 1.4058533e-05, 1.0542413e-05, 7.9056942e-06, 5.9284343e-06,
	4.4456985e-06, 3.3338036e-06,
};

/* transformers 5.24: ROPE_INIT_FUNCTIONS["yarn"] on the V3 rope_scaling */
static const uint32_t torch_yarn_v3[32] = {
	0x3f800000, 0x3f3ff911, 0x3f0ff59a, 0x3ed7e89b, 0x3ea1e89b, 0x3e72d423, 0x3e361887, 0x3e088d77,
	0x3dcccccd, 0x3d99940d, 0x3d6655c2, 0x3d1fc5ba, 0x3cdc321b, 0x3c968dc3, 0x3c4bf283, 0x3c088d77,
	0x3bb43959, 0x3b697066, 0x3b136a16, 0x3ab3a2cd, 0x3a4f3e37, 0x39d99312, 0x393a7753, 0x380bd471,
	0x37d1b717, 0x379d43a3, 0x376bdcf0, 0x3730df51, 0x3704a2b3, 0x36c6ecdd, 0x36952c42, 0x365fba4f,
};

/* transformers 5.24: DeepseekV3RotaryEmbedding.inv_freq, no scaling, theta 50000 */
static const uint32_t torch_plain_50000[32] = {
	0x3f800000, 0x3f368e73, 0x3f022edb, 0x3eb9ab7f, 0x3e84673d, 0x3e3cd623, 0x3e06a951, 0x3dc00e9b,
	0x3d88f541, 0x3d435523, 0x3d0b4b37, 0x3cc6a9f7, 0x3c8dab61, 0x3c4a0d56, 0x3c1015e9, 0x3bcd7f82,
	0x3b928aff, 0x3b5100b8, 0x3b150acf, 0x3ad4913c, 0x3a979588, 0x3a58314f, 0x3a1a2b5b, 0x39dbe137,
	0x399ccc77, 0x395fa138, 0x391f790d, 0x38e37198, 0x38a23151, 0x386752a0, 0x3824f575, 0x37eb4496,
};

static void base_config(struct ds_config *c)
{
	memset(c, 0, sizeof(*c));
	c->qk_nope_head_dim = 128;
	c->qk_rope_head_dim = 64;
	c->rope_theta = 10000;
	c->max_position_embeddings = 163840;
}

static void yarn(struct ds_config *c, double mscale, double mscale_all_dim)
{
	c->rope_scaling.yarn = 1;
	c->rope_scaling.factor = 40;
	c->rope_scaling.original_max_position_embeddings = 4096;
	c->rope_scaling.beta_fast = 32;
	c->rope_scaling.beta_slow = 1;
	c->rope_scaling.mscale = mscale;
	c->rope_scaling.mscale_all_dim = mscale_all_dim;
}

int main(void)
{
	struct ds_config c;
	struct ds_rope r;
	struct ds_error err = { 0 };
	double worst = 0;
	int same_bits = 0;

	base_config(&c);
	yarn(&c, 1.0, 1.0);
	check("V3 rope init", ds_rope_init(&r, &c, &err) == 0);
	checkf(r.low == 10 && r.high == 23, "YaRN correction range low 10 high 23 (got %d %d)", r.low, r.high);
	for (int i = 0; i < 32; i++) {
		double e = fabs(r.inv_freq[i] - appendix_a[i]) / appendix_a[i];

		worst = e > worst ? e : worst;
		same_bits += ds_f32_bits(r.inv_freq[i]) == torch_yarn_v3[i];
	}
	printf("# measured YaRN inv_freq max rel err vs Appendix A %.3g; %d/32 bit-identical to torch\n", worst,
	       same_bits);
	checkf(worst < 1e-6, "YaRN inv_freq within 1e-6 of Appendix A (%.3g)", worst);
	checkf(same_bits >= 30, "YaRN inv_freq f32 bits match transformers (%d/32)", same_bits);
	checkf(r.amplitude == 1.0f, "V3 amplitude A = 1 (%g)", r.amplitude);
	checkf(fabs(r.softmax_scale - 0.13523378) < 1e-7, "V3 softmax scale 0.13523378 (%.8f)", r.softmax_scale);
	{
		float cs[64], x[64], y[64];
		double n0 = 0, n1 = 0;

		ds_rope_table(&r, 0, cs);
		for (int i = 0; i < 64; i++)
			x[i] = y[i] = (float)(i + 1) / 7.0f;
		ds_rope_rotate(&r, cs, y);
		check("position 0 rotation is the identity", !memcmp(x, y, sizeof(x)));
		ds_rope_table(&r, 1000, cs);
		ds_rope_rotate(&r, cs, y);
		for (int i = 0; i < 64; i++) {
			n0 += (double)x[i] * x[i];
			n1 += (double)y[i] * y[i];
		}
		checkf(fabs(n0 - n1) / n0 < 1e-6, "rotation keeps the norm (%.3g)", fabs(n0 - n1) / n0);
		/* pair 0 at position 1000 turned by 1000 rad: adjacent pair, not half-split */
		double c0 = cos((double)(float)(1000.0f * r.inv_freq[0])), s0 = sin((double)(float)(1000.0f * r.inv_freq[0]));
		double want0 = x[0] * c0 - x[1] * s0, want1 = x[1] * c0 + x[0] * s0;
		checkf(fabs(y[0] - want0) < 1e-5 && fabs(y[1] - want1) < 1e-5,
		       "pair (x0, x1) rotates together (%g %g vs %g %g)", y[0], y[1], want0, want1);
		/* the last pair (lowest frequency) at position 100000: the f32 angle */
		ds_rope_table(&r, 100000, cs);
		float phi = 100000.0f * r.inv_freq[31];
		checkf(cs[31] == (float)cos((double)phi) && cs[63] == (float)sin((double)phi),
		       "angle is (float)pos * inv_freq in f32 (%.9g)", phi);
	}
	ds_rope_release(&r);

	base_config(&c);
	yarn(&c, 0.707, 0.707);
	check("V2-Lite rope init", ds_rope_init(&r, &c, &err) == 0);
	checkf(fabs(r.softmax_scale - 0.11472139) < 1e-7, "V2-Lite softmax scale 0.11472139 (%.8f)", r.softmax_scale);
	checkf(r.amplitude == 1.0f, "V2-Lite amplitude A = 1 (%g)", r.amplitude);
	ds_rope_release(&r);

	base_config(&c);
	yarn(&c, 1.0, 0.5);
	check("mscale != mscale_all_dim init", ds_rope_init(&r, &c, &err) == 0);
	{
		double want = (0.1 * log(40) + 1) / (0.05 * log(40) + 1);

		checkf(fabs(r.amplitude - want) < 1e-6, "amplitude A = m(f, mscale) / m(f, mscale_all_dim) (%g vs %g)",
		       r.amplitude, want);
	}
	ds_rope_release(&r);

	base_config(&c);
	c.rope_theta = 50000;
	check("Moonlight rope init", ds_rope_init(&r, &c, &err) == 0);
	checkf(fabs(r.softmax_scale - 0.07216878) < 1e-7, "no rope_scaling: softmax scale 192^-1/2 (%.8f)",
	       r.softmax_scale);
	same_bits = 0;
	for (int i = 0; i < 32; i++)
		same_bits += ds_f32_bits(r.inv_freq[i]) == torch_plain_50000[i];
	checkf(same_bits >= 30, "plain inv_freq f32 bits match transformers (%d/32)", same_bits);
	ds_rope_release(&r);

	base_config(&c);
	c.qk_rope_head_dim = 63;
	check("odd rope dim is refused with 78", ds_rope_init(&r, &c, &err) == 78);
	ds_rope_release(&r);
	return test_done();
}
