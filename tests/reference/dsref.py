"""dsref - helpers shared by the model-fixture generator (models.py) and its
sanity check (check_models.py).

What lives here:
  * the FP8 e4m3 block quantisation used to write V3-style checkpoints and a
    decoder written from the format definition (not from torch) used to read
    them back;
  * a small safetensors reader that parses the file header itself and decodes
    the raw bytes with numpy (F32/F16/BF16/F8_E4M3/I32/I64);
  * the mapping between the Hugging Face *published* tensor layout (one tensor
    per routed expert) and the fused layout transformers 5.x keeps in memory
    (experts.gate_up_proj [E, 2*Im, D] = per expert cat(gate, up), experts.down_proj
    [E, D, Im]);
  * the reference forward with hooks that records what
    notes/fixtures-contract.md lists, the MTP module of
    shared/docs/deepseek-v3-model.md section 6.2, and routing-margin analysis.

Only for generating fixtures; the C test suite never runs Python.
"""

import json
import math
import os
import struct

import numpy as np
import torch
from torch import nn

FP8_BLOCK = 128
FP8_MAX = 448.0

# ---------------------------------------------------------------------------
# FP8 e4m3fn


def e4m3_table():
    """float32 value of every e4m3fn byte, from the format definition:
    sign bit, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is
    subnormal (m/8 * 2^-6); exponent 15 with mantissa 7 is NaN; no infinities."""
    t = np.zeros(256, dtype=np.float32)
    for b in range(256):
        s = -1.0 if b & 0x80 else 1.0
        e = (b >> 3) & 0xF
        m = b & 0x7
        if e == 15 and m == 7:
            t[b] = np.nan
        elif e == 0:
            t[b] = s * (m / 8.0) * 2.0 ** -6
        else:
            t[b] = s * (1.0 + m / 8.0) * 2.0 ** (e - 7)
    return t


E4M3 = e4m3_table()


def fp8_quantize(w):
    """Block-quantise a float32 [M, N] weight like the V3 checkpoints: per
    128x128 block scale_inv = amax / 448 (float32), q = e4m3(w / scale_inv).
    Returns (q as torch.float8_e4m3fn, scale_inv float32 [ceil(M/128), ceil(N/128)])."""
    m, n = w.shape
    bm, bn = -(-m // FP8_BLOCK), -(-n // FP8_BLOCK)
    s = torch.empty(bm, bn, dtype=torch.float32)
    q = torch.empty(m, n, dtype=torch.float8_e4m3fn)
    for i in range(bm):
        for j in range(bn):
            blk = w[i * FP8_BLOCK:(i + 1) * FP8_BLOCK, j * FP8_BLOCK:(j + 1) * FP8_BLOCK]
            amax = float(blk.abs().max())
            sc = torch.tensor(amax / FP8_MAX if amax > 0 else 1.0, dtype=torch.float32)
            s[i, j] = sc
            q[i * FP8_BLOCK:(i + 1) * FP8_BLOCK, j * FP8_BLOCK:(j + 1) * FP8_BLOCK] = \
                (blk / sc).clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
    return q, s


def fp8_dequantize(qvals, s):
    """W[i][j] = qvals[i][j] * s[i // 128][j // 128], one float32 multiply
    (shared/docs/deepseek-v3-model.md section 2.3).  qvals: float32 (numpy or torch)."""
    qv = torch.as_tensor(qvals, dtype=torch.float32)
    s = torch.as_tensor(s, dtype=torch.float32)
    m, n = qv.shape
    full = s.repeat_interleave(FP8_BLOCK, 0).repeat_interleave(FP8_BLOCK, 1)[:m, :n]
    return qv * full


def fp8_stats(q):
    """Counts of byte classes in an e4m3 tensor (to show subnormals are exercised)."""
    b = q.view(torch.uint8).flatten().numpy()
    e = (b >> 3) & 0xF
    m = b & 7
    return {"subnormal": int(((e == 0) & (m != 0)).sum()),
            "zero": int(((e == 0) & (m == 0)).sum()),
            "nan": int(((e == 15) & (m == 7)).sum()),
            "total": int(b.size)}


# ---------------------------------------------------------------------------
# safetensors, read with our own header parser

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F8_E4M3": np.uint8,
             "I32": np.int32, "I64": np.int64}


def st_read(path):
    """Read a .safetensors file without the safetensors library.
    Returns (tensors, dtypes, metadata): tensors maps name -> numpy array with
    floats decoded to float32 (BF16 by shifting the 16 bits up, F8_E4M3
    through E4M3), integers as stored; dtypes maps name -> the stored dtype
    string.  Checks that the data regions tile the data section exactly."""
    with open(path, "rb") as f:
        raw = f.read()
    (hlen,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + hlen].decode("utf-8"))
    base = 8 + hlen
    meta = header.pop("__metadata__", {})
    spans = []
    tensors, dtypes = {}, {}
    for name, info in header.items():
        dt, shape, (a, b) = info["dtype"], info["shape"], info["data_offsets"]
        if dt not in ST_DTYPES:
            raise ValueError(f"{path}: {name}: unsupported dtype {dt}")
        arr = np.frombuffer(raw, dtype=ST_DTYPES[dt], count=(b - a) // np.dtype(ST_DTYPES[dt]).itemsize,
                            offset=base + a)
        if arr.size != int(np.prod(shape)):
            raise ValueError(f"{path}: {name}: size mismatch")
        arr = arr.reshape(shape)
        if dt == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        elif dt == "F8_E4M3":
            arr = E4M3[arr]
        elif dt == "F16":
            arr = arr.astype(np.float32)
        else:
            arr = arr.copy()
        tensors[name] = arr
        dtypes[name] = dt
        spans.append((a, b))
    spans.sort()
    pos = 0
    for a, b in spans:
        if a != pos:
            raise ValueError(f"{path}: data regions do not tile the data section")
        pos = b
    if base + pos != len(raw):
        raise ValueError(f"{path}: trailing bytes after the last tensor")
    return tensors, dtypes, meta


TORCH_ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
            torch.float8_e4m3fn: "F8_E4M3", torch.int32: "I32", torch.int64: "I64"}


def st_write(path, tensors, metadata=None):
    """Write a .safetensors file laid out like the safetensors library does
    (tensors by decreasing element size, then name, header padded to 8 bytes,
    so every payload is aligned for its dtype) but with the metadata keys
    sorted, so that regenerating gives identical bytes (the library orders
    __metadata__ through a hash map)."""
    header, blobs, pos = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(metadata[k]) for k in sorted(metadata)}
    for name in sorted(tensors, key=lambda n: (-tensors[n].element_size(), n)):
        t = tensors[name].detach().contiguous().cpu()
        assert pos % t.element_size() == 0
        b = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": TORCH_ST[t.dtype], "shape": list(t.shape), "data_offsets": [pos, pos + len(b)]}
        blobs.append(b)
        pos += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_checkpoint(d):
    """Read a checkpoint directory in the published layout: config.json and
    either model.safetensors or model.safetensors.index.json + the shards it
    names.  FP8 tensors are dequantised with their *_scale_inv companions.
    Returns (config dict, {name: float32 torch tensor} without the scale
    tensors, {name: stored dtype string})."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        with open(idx) as f:
            wm = json.load(f)["weight_map"]
        files = sorted(set(wm.values()))
    else:
        wm, files = None, ["model.safetensors"]
    raw, dtypes = {}, {}
    for fn in files:
        t, dt, _ = st_read(os.path.join(d, fn))
        for k in t:
            if wm is not None and wm.get(k) != fn:
                raise ValueError(f"{fn}: tensor {k} not mapped to this shard by the index")
        raw.update(t)
        dtypes.update(dt)
    if wm is not None and set(wm) != set(raw):
        raise ValueError("index weight_map and shard contents differ")
    out = {}
    for k, v in raw.items():
        if k.endswith("_scale_inv"):
            continue
        if dtypes[k] == "F8_E4M3":
            out[k] = fp8_dequantize(v, raw[k + "_scale_inv"])
        else:
            out[k] = torch.from_numpy(np.ascontiguousarray(v))
    return cfg, out, dtypes


# ---------------------------------------------------------------------------
# published layout <-> transformers 5.x in-memory layout


def split_published(sd, n_layers):
    """Split published tensors into (main-model tensors, {mtp layer id: {suffix: tensor}})."""
    main, mtp = {}, {}
    for k, v in sd.items():
        parts = k.split(".")
        if k.startswith("model.layers.") and int(parts[2]) >= n_layers:
            mtp.setdefault(int(parts[2]), {})[".".join(parts[3:])] = v
        else:
            main[k] = v
    return main, mtp


def fuse_experts(sd, prefix_re_layers):
    """Published per-expert tensors -> transformers 5.x fused parameters.
    sd: {name: tensor}; names like '<p>mlp.experts.<e>.<gate|up|down>_proj.weight'.
    prefix_re_layers: iterable of the '<p>' prefixes that have experts."""
    sd = dict(sd)
    for p in prefix_re_layers:
        e = 0
        gates, ups, downs = [], [], []
        while f"{p}mlp.experts.{e}.gate_proj.weight" in sd:
            gates.append(sd.pop(f"{p}mlp.experts.{e}.gate_proj.weight"))
            ups.append(sd.pop(f"{p}mlp.experts.{e}.up_proj.weight"))
            downs.append(sd.pop(f"{p}mlp.experts.{e}.down_proj.weight"))
            e += 1
        if e == 0:
            raise ValueError(f"no experts under {p}")
        sd[f"{p}mlp.experts.gate_up_proj"] = torch.stack([torch.cat([g, u], 0) for g, u in zip(gates, ups)])
        sd[f"{p}mlp.experts.down_proj"] = torch.stack(downs)
    return sd


def moe_layers(cfg):
    """MoE layer ids of the main model (HF rule: i >= first_k_dense_replace)."""
    if not cfg.get("n_routed_experts"):
        return []
    return [i for i in range(cfg["num_hidden_layers"]) if i >= cfg.get("first_k_dense_replace", 0)]


def hf_config(d):
    """The transformers config object for a fixture directory (its config.json
    interpreted by the installed transformers), without quantization_config
    since the reference runs on dequantised float32 weights."""
    from transformers import AutoConfig
    c = AutoConfig.from_pretrained(d)
    if hasattr(c, "quantization_config"):
        delattr(c, "quantization_config")
    return c


def build_model(config):
    from transformers import AutoModelForCausalLM
    torch.manual_seed(0)  # init values are all overwritten; keeps runs identical anyway
    m = AutoModelForCausalLM.from_config(config, attn_implementation="eager",
                                         experts_implementation="eager", dtype=torch.float32)
    return m.eval()


def load_main(model, cfg, main_sd):
    """Load published main-model tensors (float32) into a fresh HF model, strictly."""
    sd = fuse_experts(main_sd, [f"model.layers.{i}." for i in moe_layers(cfg)])
    model.load_state_dict(sd, strict=True)


# ---------------------------------------------------------------------------
# MTP (shared/docs/deepseek-v3-model.md section 6.2)


class MTP(nn.Module):
    """One MTP module: enorm/hnorm/eh_proj + a full decoder layer (transformers'
    own DeepseekV3DecoderLayer, layer id = num_hidden_layers, hence MoE) +
    shared_head.norm, with the embedding and head taken from the stored copies
    (model.layers.L.embed_tokens / shared_head.head; the fixtures store exact
    copies of the main model's, as the released checkpoints do)."""

    def __init__(self, model, layer_id):
        super().__init__()
        mod = __import__(type(model).__module__, fromlist=["x"])
        cfg = model.config
        d = cfg.hidden_size
        Norm = mod.DeepseekV3RMSNorm
        self.enorm = Norm(d, eps=cfg.rms_norm_eps)
        self.hnorm = Norm(d, eps=cfg.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * d, d, bias=False)
        self.block = mod.DeepseekV3DecoderLayer(cfg, layer_id)
        self.shared_head_norm = Norm(d, eps=cfg.rms_norm_eps)
        self.embed = nn.Embedding(cfg.vocab_size, d)
        self.head = nn.Linear(d, cfg.vocab_size, bias=False)
        self.layer_id = layer_id

    def load_published(self, t):
        """t: {suffix after 'model.layers.L.': float32 tensor}."""
        t = dict(t)
        sd = {"enorm.weight": t.pop("enorm.weight"), "hnorm.weight": t.pop("hnorm.weight"),
              "eh_proj.weight": t.pop("eh_proj.weight"),
              "embed.weight": t.pop("embed_tokens.weight"),
              "shared_head_norm.weight": t.pop("shared_head.norm.weight"),
              "head.weight": t.pop("shared_head.head.weight")}
        blk = fuse_experts(t, [""])
        sd.update({"block." + k: v for k, v in blk.items()})
        self.load_state_dict(sd, strict=True)

    def forward(self, model, h_final, ids, mask_pos0=True):
        """h_final: [1, T, D] main-model hidden after model.norm; ids: [1, T].
        Row i of the result uses (h_final[i], ids[i+1]) at RoPE position i;
        with mask_pos0 the embedding of row 0 is zeroed (VLLM convention)."""
        from transformers.masking_utils import create_causal_mask
        e = self.embed(ids[:, 1:])
        if mask_pos0:
            e = e.clone()
            e[:, 0] = 0
        x = self.eh_proj(torch.cat([self.enorm(e), self.hnorm(h_final[:, :-1])], dim=-1))
        pos = torch.arange(x.shape[1]).unsqueeze(0)
        pe = model.model.rotary_emb(x, pos)
        mask = create_causal_mask(config=model.config, inputs_embeds=x, attention_mask=None,
                                  cache=None, position_ids=pos, allow_is_causal_skip=False)
        assert mask is not None
        y = self.block(x, attention_mask=mask, position_ids=pos, position_embeddings=pe)
        return self.head(self.shared_head_norm(y))


# ---------------------------------------------------------------------------
# reference run


def run_reference(model, cfg, ids, mtp=None, mask_pos0=True):
    """Forward input ids [T] through model (and mtp); returns
    (expected tensors per the fixture contract, router records)."""
    n = cfg["num_hidden_layers"]
    rec, hooks = {}, []
    layers = model.model.layers
    for i in range(n):
        hooks.append(layers[i].register_forward_hook(
            lambda m, a, o, i=i: rec.__setitem__(f"hidden.{i}", (o[0] if isinstance(o, tuple) else o)[0].detach().clone())))
    for i in moe_layers(cfg):
        hooks.append(layers[i].mlp.register_forward_pre_hook(
            lambda m, a, i=i: rec.__setitem__(f"moe_input.{i}", a[0][0].detach().clone())))
        hooks.append(layers[i].mlp.gate.register_forward_hook(
            lambda m, a, o, i=i: rec.__setitem__(f"router.{i}", tuple(x.detach().clone() for x in o))))
    hooks.append(model.model.norm.register_forward_hook(
        lambda m, a, o: rec.__setitem__("final", o.detach().clone())))
    if mtp is not None:
        hooks.append(mtp.block.mlp.gate.register_forward_hook(
            lambda m, a, o: rec.__setitem__(f"router.{mtp.layer_id}", tuple(x.detach().clone() for x in o))))
    with torch.no_grad():
        out = model(input_ids=ids.unsqueeze(0).long(), use_cache=False)
        exp = {"input_ids": ids.to(torch.int32), "logits": out.logits[0].detach().clone()}
        if mtp is not None:
            exp["mtp.logits"] = mtp(model, rec["final"], ids.unsqueeze(0).long(), mask_pos0)[0].clone()
    for h in hooks:
        h.remove()
    routers = {}
    for k, v in rec.items():
        if k.startswith("router."):
            routers[int(k.split(".")[1])] = v
        elif k != "final":
            exp[k] = v
    for i, (logits, w, idx) in routers.items():
        if i >= n:
            continue
        order = torch.argsort(idx, dim=-1)
        exp[f"experts.{i}"] = torch.gather(idx, 1, order).to(torch.int32)
        exp[f"expert_weights.{i}"] = torch.gather(w, 1, order).float()
    return exp, routers, rec["final"]


def analyse_routing(cfg, router_logits, hf_idx, bias):
    """Recompute the selection from HF's own fp32 router logits (doc section
    5.2/5.3), check it matches HF's, and measure near-tie margins.
    Returns dict: expert_margin, group_margin (inf when no group choice),
    group_limit_changes (positions where group limiting changes the set),
    bias_bf16_changes (positions whose set would change with a bf16 bias),
    bias_ignored_changes."""
    E, K = cfg["n_routed_experts"], cfg["num_experts_per_tok"]
    z = router_logits.float()
    softmax = cfg.get("scoring_func", "sigmoid") == "softmax" or cfg["model_type"] == "deepseek_v2"
    inf = float("inf")

    def select(c, ng, tg):
        gm = inf
        if ng > 1 and tg < ng:
            G = c.view(-1, ng, E // ng).topk(2, dim=-1)[0].sum(-1) if not softmax else \
                c.view(-1, ng, E // ng).max(-1).values
            Gs = G.sort(dim=-1, descending=True).values
            gm = float((Gs[:, tg - 1] - Gs[:, tg]).min())
            keep = G.topk(tg, dim=-1)[1]
            gmask = torch.zeros_like(G, dtype=torch.bool).scatter_(1, keep, True)
            emask = gmask.unsqueeze(-1).expand(-1, ng, E // ng).reshape(-1, E)
            c = c.masked_fill(~emask, -inf)
        cs = c.sort(dim=-1, descending=True).values
        diff = cs[:, K - 1] - cs[:, K]
        diff = torch.where(torch.isinf(cs[:, K]), torch.full_like(diff, inf), diff)
        sets = [frozenset(r) for r in c.topk(K, dim=-1)[1].tolist()]
        return sets, float(diff.min()), gm

    if softmax:
        s = z.softmax(dim=-1)
        c = s
        ng = cfg.get("n_group") or 1
        tg = cfg.get("topk_group") or 1
        if cfg.get("topk_method", "greedy") == "greedy":
            ng = tg = 1
        sets, em, gm = select(c, ng, tg)
        res = {"expert_margin": em, "group_margin": gm}
    else:
        s = z.sigmoid()
        c = s + bias
        ng, tg = cfg["n_group"], cfg["topk_group"]
        sets, em, gm = select(c, ng, tg)
        plain, _, _ = select(c, 1, 1)
        bf, _, _ = select(s + bias.to(torch.bfloat16).float(), ng, tg)
        nob, _, _ = select(s.clone(), ng, tg)
        res = {"expert_margin": em, "group_margin": gm,
               "group_limit_changes": sum(a != b for a, b in zip(sets, plain)),
               "bias_bf16_changes": sum(a != b for a, b in zip(sets, bf)),
               "bias_ignored_changes": sum(a != b for a, b in zip(sets, nob))}
    hf = [frozenset(r) for r in hf_idx.tolist()]
    if hf != sets:
        raise AssertionError("independent routing differs from transformers' selection")
    return res


def argmax_margin(logits):
    """Smallest (top1 - top2) / max|logits| over positions."""
    t = logits.topk(2, dim=-1).values
    return float(((t[:, 0] - t[:, 1]) / logits.abs().max()).min())


def rel_diff(a, b):
    return float((a - b).abs().max() / b.abs().max())
