#!/usr/bin/env python3
"""Sanity check of the committed model fixtures (tests/fixtures/models/*).

For every fixture directory:
 1. read the checkpoint from disk with dsref's own safetensors parser (header
    parsed by hand, bytes decoded with numpy, e4m3 decoded from the format
    definition, FP8 dequantised with weight_scale_inv), check the stored
    dtypes and scale shapes, load the tensors into a fresh transformers model
    (published per-expert names mapped to the fused in-memory layout by us),
    rerun the reference and compare with expected.safetensors (also read with
    our own parser): must be bit-identical;
 2. load the same directory with transformers' own AutoModelForCausalLM.from_pretrained
    (which maps the published per-expert layout itself).  FP8 directories are
    first tried as they are; when that fails (transformers dequantises FP8 on
    CPU only when the 128x128 grid divides the weight exactly, and needs
    accelerate) a float32 copy with the dequantised values and the same tensor
    names is loaded instead;
 3. for MTP fixtures, load transformers' generic MtpModel from that directory
    and run its layer on the same (hidden, masked embedding) inputs, comparing
    with mtp.logits.
Exit status 0 when every comparison passes, 1 otherwise.

usage: check_models.py [DIR ...]   (default: every fixture in tests/fixtures/models)
"""

import json
import os
import shutil
import sys
import tempfile
import traceback

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsref  # noqa: E402
import models  # noqa: E402


def compare(tag, got, want, keys=None):
    """Print one line per comparison; returns True when all keys are bit-identical."""
    ok = True
    keys = keys or sorted(want)
    worst = (0.0, None)
    for k in keys:
        if k not in got:
            print(f"  {tag}: missing {k}")
            ok = False
            continue
        a = torch.as_tensor(np.asarray(got[k])) if not torch.is_tensor(got[k]) else got[k]
        b = torch.as_tensor(np.asarray(want[k])) if not torch.is_tensor(want[k]) else want[k]
        if a.shape != b.shape or a.dtype != b.dtype:
            print(f"  {tag}: {k}: shape/dtype {tuple(a.shape)} {a.dtype} vs {tuple(b.shape)} {b.dtype}")
            ok = False
            continue
        if not torch.equal(a, b):
            ok = False
            d = float((a.double() - b.double()).abs().max())
            worst = max(worst, (d, k))
    extra = set(got) - set(want) if keys is None else set()
    if extra:
        print(f"  {tag}: unexpected tensors {sorted(extra)}")
        ok = False
    print(f"  {tag}: {'bit-identical' if ok else 'DIFFERS (max |diff| %.3g in %s)' % worst} "
          f"({len(keys)} tensors)")
    return ok


def check_layout(cfg, dtypes):
    """Dtype and scale-shape rules of the published layout."""
    problems = []
    fp8 = bool(cfg.get("quantization_config"))
    for k, dt in dtypes.items():
        if k.endswith("e_score_correction_bias") and dt != "F32":
            problems.append(f"{k} is {dt}, not F32")
        if k.endswith("_scale_inv") and dt != "F32":
            problems.append(f"{k} is {dt}")
        if dt == "F8_E4M3" and k + "_scale_inv" not in dtypes:
            problems.append(f"{k} has no scale")
        if fp8 and (".mlp.gate.weight" in k or "eh_proj" in k or "norm" in k or "embed" in k
                    or "head" in k) and dt == "F8_E4M3":
            problems.append(f"{k} must not be FP8")
    if any(".mlp.experts.gate_up_proj" in k for k in dtypes):
        problems.append("fused expert tensors present")
    return problems


def run_named(model, cfg, ids, mtp=None):
    exp, _, final = dsref.run_reference(model, cfg, ids, mtp)
    return exp, final


def check_dir(d):
    from transformers import AutoModelForCausalLM
    name = os.path.basename(os.path.normpath(d))
    print(f"{name}:")
    want, wdt, meta = dsref.st_read(os.path.join(d, "expected.safetensors"))
    cfg, sd, dtypes = dsref.read_checkpoint(d)
    L = cfg["num_hidden_layers"]
    n_mtp = cfg.get("num_nextn_predict_layers", 0) or 0
    ok = True

    probs = check_layout(cfg, dtypes)
    for p in probs:
        print(f"  layout: {p}")
    ok &= not probs

    # 1. own reader -> fresh model
    config = dsref.hf_config(d)
    model = dsref.build_model(config)
    main_sd, mtp_sd = dsref.split_published(sd, L)
    dsref.load_main(model, cfg, main_sd)
    notes = {}
    patched = models.check_rope_and_scale(model, cfg, notes)
    mtp = None
    if n_mtp:
        mtp = dsref.MTP(model, L).eval()
        mtp.load_published(mtp_sd[L])
    ids = torch.from_numpy(want["input_ids"])
    got, final = run_named(model, cfg, ids, mtp)
    ok &= compare("own reader", {k: v.numpy() for k, v in got.items()}, want)

    # 2. transformers' own loader
    fp_dir, tmp = d, None
    try:
        if cfg.get("quantization_config"):
            partial = sum(1 for k, dt in dtypes.items() if dt == "F8_E4M3"
                          and any(n % dsref.FP8_BLOCK for n in sd[k].shape))
            print(f"  {partial} FP8 weights have partial 128x128 edge blocks (transformers' CPU "
                  f"dequantisation needs the scale grid to divide the shape)")
            try:
                m2 = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                                          experts_implementation="eager")
                print("  from_pretrained on the FP8 directory: loaded (comparing it)")
            except Exception as e:  # noqa: BLE001 - record why, then use the dequantised copy
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                print(f"  from_pretrained on the FP8 directory: refused: {type(e).__name__}: {msg[:160]}")
                m2 = None
            if m2 is not None:
                m2.eval()
                models.check_rope_and_scale(m2, cfg, {}) if patched else None
                g2, _ = run_named(m2, cfg, ids)
                r = compare("from_pretrained(FP8 dir)", {k: v.numpy() for k, v in g2.items()}, want,
                            [k for k in want if not k.startswith("mtp.")])
                if not r:
                    print("  (informational: transformers' own FP8 path differs; not a failure)")
            tmp = tempfile.mkdtemp(prefix=f"check-{name}-")
            c2 = dict(cfg)
            c2.pop("quantization_config")
            c2["torch_dtype"] = "float32"
            with open(os.path.join(tmp, "config.json"), "w") as f:
                json.dump(c2, f)
            from safetensors.torch import save_file
            save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(tmp, "model.safetensors"),
                      metadata={"format": "pt"})
            fp_dir = tmp
            print("  from_pretrained: using a float32 copy of the dequantised weights, same tensor names")
        m3, info = AutoModelForCausalLM.from_pretrained(fp_dir, dtype=torch.float32, attn_implementation="eager",
                                                        experts_implementation="eager", output_loading_info=True)
        m3.eval()
        bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "mismatched_keys", "error_msgs")}
        unexpected = [k for k in info.get("unexpected_keys", []) if not k.startswith(f"model.layers.{L}.")]
        if bad or unexpected:
            print(f"  from_pretrained loading info: {bad} unexpected={unexpected}")
            ok = False
        if patched:
            models.check_rope_and_scale(m3, cfg, {})
        g3, final3 = run_named(m3, cfg, ids)
        ok &= compare("from_pretrained", {k: v.numpy() for k, v in g3.items()}, want,
                      [k for k in want if not k.startswith("mtp.")])

        # 3. transformers' generic MTP module on the same inputs
        if n_mtp:
            from transformers.modeling_layers import MtpModel
            # transformers finds MTP tensors through the main class's
            # _keys_to_ignore_on_load_unexpected, which names layer 61 (V3's
            # count) literally; point this instance at the fixture's layer L.
            m3._keys_to_ignore_on_load_unexpected = [rf"model\.layers\.{L}\..*"]
            mm = MtpModel.from_pretrained(m3).eval()
            with torch.no_grad():
                x = ids.unsqueeze(0).long()
                e = mm.embed_tokens(x[:, 1:]).clone()
                e[:, 0] = 0
                pos = torch.arange(x.shape[1] - 1).unsqueeze(0)
                y = mm.forward_layer(0, final3[:, :-1], pos, None, inputs_embeds=e)
                lg = mm._project_to_logits(y)[0]
            ok &= compare("transformers MtpModel (pos-0 embedding masked, positions 0..T-2)",
                          {"mtp.logits": lg.numpy()}, want, ["mtp.logits"])
            with torch.no_grad():
                y = mm.forward_layer(0, final3[:, :-1], pos + 1, None, inputs_embeds=e)
                lg1 = mm._project_to_logits(y)[0]
            print(f"  (MtpModel at positions 1..T-1 instead: max rel diff "
                  f"{dsref.rel_diff(lg1, torch.from_numpy(want['mtp.logits'])):.3g}; RoPE is relative)")
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        ok = False
    finally:
        if tmp:
            shutil.rmtree(tmp)
    print(f"  {'PASS' if ok else 'FAIL'}")
    return ok


def main():
    import transformers
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    torch.set_num_threads(1)
    dirs = sys.argv[1:] or sorted(
        os.path.join(models.DEFAULT_OUT, n) for n in os.listdir(models.DEFAULT_OUT)
        if os.path.isdir(os.path.join(models.DEFAULT_OUT, n)))
    results = [check_dir(d) for d in dirs]
    print(f"{sum(results)} of {len(results)} fixtures pass")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
