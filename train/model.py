"""model - the demo model's architecture, its training-time MTP module, and
the conversion to and from the published checkpoint layout.

The architecture is transformers' own DeepseekV3ForCausalLM with the config
below (DeepSeek-V3's structure at a tiny width: MLA with q-LoRA, V3's YaRN
rope settings, one dense layer then MoE layers with sigmoid noaux_tc routing
over 4 groups keeping 2, one shared expert, one MTP layer).  The MTP module
is tests/reference/dsref.py's, sharing the main model's embedding and head.

Published layout (what data/demo-model/ holds): DeepSeek-V3's tensor names,
one tensor per routed expert, the MTP layer as model.layers.<L>; FP8 e4m3
with float32 weight_scale_inv per 128x128 block for every projection inside
a decoder layer; BF16 embedding, head, norms, router weight and MTP
enorm/hnorm/eh_proj/shared_head.norm; F32 e_score_correction_bias.  The MTP
layer's copies of the embedding and head (model.layers.<L>.embed_tokens,
shared_head.head), which V3's checkpoint repeats, are left out: they would
double the size, and dspipe (like vLLM) then uses the main model's.
"""

import copy
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))
import dsref  # noqa: E402
import models as refmodels  # noqa: E402

CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
    "bos_token_id": 0, "eos_token_id": 1, "ep_size": 1, "first_k_dense_replace": 1,
    "hidden_act": "silu", "hidden_size": 256, "initializer_range": 0.02, "intermediate_size": 512,
    "kv_lora_rank": 128, "max_position_embeddings": 163840, "model_type": "deepseek_v3",
    "moe_intermediate_size": 64, "moe_layer_freq": 1, "n_group": 4, "n_routed_experts": 16,
    "n_shared_experts": 1, "norm_topk_prob": True, "num_attention_heads": 4,
    "num_experts_per_tok": 4, "num_hidden_layers": 3, "num_key_value_heads": 4,
    "num_nextn_predict_layers": 1, "q_lora_rank": 128, "qk_nope_head_dim": 32, "qk_rope_head_dim": 16,
    "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                            "weight_block_size": [128, 128]},
    "rms_norm_eps": 1e-06,
    "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                     "original_max_position_embeddings": 4096, "type": "yarn"},
    "rope_theta": 10000, "routed_scaling_factor": 2.5, "scoring_func": "sigmoid",
    "tie_word_embeddings": False, "topk_group": 2, "topk_method": "noaux_tc", "torch_dtype": "bfloat16",
    "transformers_version": None, "use_cache": True, "v_head_dim": 32, "vocab_size": None,
}


def config(vocab):
    import transformers
    c = dict(CONFIG, vocab_size=vocab, transformers_version=transformers.__version__)
    return c


def write_config(c, d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=2)
        f.write("\n")


def build(c, d, attn="sdpa", experts="grouped_mm", seed=0):
    """A fresh float32 DeepseekV3ForCausalLM and MTP module for config c
    (written to d/config.json and read back as transformers does), with
    transformers' own initialisation under `seed`."""
    from transformers import AutoModelForCausalLM
    write_config(c, d)
    hc = dsref.hf_config(d)
    torch.manual_seed(seed)
    m = AutoModelForCausalLM.from_config(hc, attn_implementation=attn, experts_implementation=experts,
                                         dtype=torch.float32)
    mtp = dsref.MTP(m, c["num_hidden_layers"])
    # a decoder layer built outside the model misses transformers' init
    # (its experts are torch.empty): initialise it the model's way
    for mod in mtp.modules():
        m._init_weights(mod)
    share_embed_head(m, mtp)
    return m, mtp


def share_embed_head(m, mtp):
    """The MTP module uses the main model's embedding and head (DeepSeek-V3
    trains them shared)."""
    mtp.embed = m.model.embed_tokens
    mtp.head = m.lm_head


def gates(m, mtp):
    """{layer id: router} for every MoE layer, the MTP layer included."""
    L = m.config.num_hidden_layers
    g = {i: m.model.layers[i].mlp.gate for i in range(m.config.first_k_dense_replace, L)}
    g[L] = mtp.block.mlp.gate
    return g


# ---------------------------------------------------------------------------
# published layout


def published_float(m, mtp):
    """{published name: float32 tensor} of the trained model (no copies of
    the embedding and head under the MTP layer)."""
    c = m.config
    L = c.num_hidden_layers
    out = {}
    sd = {k: v.detach().float().clone() for k, v in m.state_dict().items()}
    for k, v in sd.items():
        out[k] = v
    blk = {f"model.layers.{L}.{k}": v.detach().float().clone() for k, v in mtp.block.state_dict().items()}
    out.update(blk)
    p = f"model.layers.{L}."
    out[p + "enorm.weight"] = mtp.enorm.weight.detach().float().clone()
    out[p + "hnorm.weight"] = mtp.hnorm.weight.detach().float().clone()
    out[p + "eh_proj.weight"] = mtp.eh_proj.weight.detach().float().clone()
    out[p + "shared_head.norm.weight"] = mtp.shared_head_norm.weight.detach().float().clone()
    Im = c.moe_intermediate_size
    for k in [k for k in out if k.endswith("mlp.experts.gate_up_proj")]:
        pre = k[:-len("gate_up_proj")]
        gu, dn = out.pop(k), out.pop(pre + "down_proj")
        for e in range(gu.shape[0]):
            out[f"{pre}{e}.gate_proj.weight"] = gu[e, :Im].clone()
            out[f"{pre}{e}.up_proj.weight"] = gu[e, Im:].clone()
            out[f"{pre}{e}.down_proj.weight"] = dn[e].clone()
    return out


def tensor_order(c):
    """(name, kind) in published order, as the reference fixtures write them,
    without the MTP layer's embedding/head copies."""
    return [(n, k) for n, _, k in refmodels.all_tensors(c) if k not in ("copy_embed", "copy_head")]


def quantise(c, fl):
    """Published float32 tensors -> (stored tensors in their checkpoint
    dtypes, the float32 values they stand for)."""
    stored, eff = {}, {}
    order = tensor_order(c)
    if set(n for n, _ in order) != set(fl):
        raise SystemExit("model: tensor names differ from the published list: %s" %
                         sorted(set(n for n, _ in order) ^ set(fl))[:6])
    for name, kind in order:
        w = fl[name]
        if kind == "bias":
            stored[name] = eff[name] = w.float()
        elif refmodels.is_fp8_tensor(name, kind):
            q, s = dsref.fp8_quantize(w)
            stored[name], stored[name + "_scale_inv"] = q, s
            eff[name] = dsref.fp8_dequantize(q.float(), s)
        else:
            stored[name] = w.to(torch.bfloat16)
            eff[name] = stored[name].float()
    return stored, eff


def write_published(d, c, stored):
    order = []
    for n, _ in tensor_order(c):
        order.append(n)
        if n + "_scale_inv" in stored:
            order.append(n + "_scale_inv")
    write_config(c, d)
    dsref.st_write(os.path.join(d, "model.safetensors"), {n: stored[n] for n in order}, {"format": "pt"})


def eager(cfg, d, values):
    """A float32 eager transformers model and MTP module (the reference
    settings of tests/reference) holding `values` ({published name: float32
    tensor}); d holds cfg as config.json."""
    L = cfg["num_hidden_layers"]
    m = dsref.build_model(dsref.hf_config(d))
    main_sd, mtp_sd = dsref.split_published(values, L)
    dsref.load_main(m, cfg, main_sd)
    mtp = dsref.MTP(m, L).eval()
    t = dict(mtp_sd[L])
    t["embed_tokens.weight"] = main_sd["model.embed_tokens.weight"]
    t["shared_head.head.weight"] = main_sd["lm_head.weight"]
    mtp.load_published(t)
    share_embed_head(m, mtp)
    return m, mtp


def load_published(d):
    """The reference for a published checkpoint directory: exactly the values
    stored in d (FP8 dequantised, BF16 upcast) in eager(); returns (config
    dict, model, MTP module)."""
    cfg, values, _ = dsref.read_checkpoint(d)
    m, mtp = eager(cfg, d, values)
    return cfg, m, mtp
