"""evaluate - the last two stages of train.py.

eval:  transformers (float32, eager, on exactly the stored FP8/BF16 values)
       on the held-out books: loss, perplexity, MTP accuracy, expert load;
       greedy continuations; the suite's fixtures.
check: dspipe's tools against those figures (the script's last step).

Fixtures written (into --fixtures, committed):
  heldout.jsonl  {"text", "ids"}: the held-out windows and transformers'
                 token ids (no BOS; ds-tokenize adds it by
                 tokenizer_config.json's rule)
  greedy.jsonl   {"name", "prompt", "chat", "prompt_ids", "ids", "text",
                 "min_margin"}: greedy continuations by transformers, ids
                 after the prompt (BOS and chat template included in
                 prompt_ids), stopping after EOS or max new tokens
  expected.json  held-out perplexity and MTP accuracy (the figures the
                 note reports)
"""

import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import torch

import kjv
import model as dm
import train as tr


# ---------------------------------------------------------------------------
# transformers side


@torch.no_grad()
def forward_all(m, mtp, ids):
    """Main logits [T, V], MTP logits [T-1, V] (row i predicts ids[i+2]) and
    the routers' expert choices for one sequence of ids (BOS included)."""
    x = torch.tensor([ids])
    h = m.model(input_ids=x, use_cache=False).last_hidden_state
    return m.lm_head(h)[0], mtp(m, h, x, mask_pos0=True)[0]


def heldout_metrics(m, mtp, held, bos):
    """Over every held-out window (BOS + ids): the summed log-probability of
    each token after BOS (what ds-score reports), and the MTP's top-1
    accuracy on token i+2 (rows 1.., row 0 having no embedding) and its
    agreement with the main model's own greedy choice there."""
    tot, n, greedy = 0.0, 0, 0
    mtp_hit = mtp_agree = mtp_n = 0
    for _, ids in held:
        seq = [bos] + ids
        lg, ml = forward_all(m, mtp, seq)
        lp = torch.log_softmax(lg.double(), dim=-1)
        tgt = torch.tensor(seq[1:])
        tot += float(lp[:-1].gather(1, tgt[:, None]).sum())
        n += len(seq) - 1
        greedy += int((lg[:-1].argmax(-1) == tgt).sum())
        # MTP row i (i >= 1) drafts token i+2; the main model's choice for
        # that position is the argmax of its row i+1
        d = ml[1:-1].argmax(-1)
        mtp_hit += int((d == torch.tensor(seq[3:])).sum())
        mtp_agree += int((d == lg[2:-1].argmax(-1)).sum())
        mtp_n += len(seq) - 3
    return {"tokens": n, "total_logprob": tot, "mean_nll": -tot / n, "perplexity": math.exp(-tot / n),
            "greedy_matches": greedy, "mtp_rows": mtp_n, "mtp_top1_accuracy": mtp_hit / mtp_n,
            "mtp_agrees_with_main_greedy": mtp_agree / mtp_n}


@torch.no_grad()
def expert_load(m, mtp, held, bos):
    """Tokens per expert for every MoE layer (and the MTP layer) over the
    held-out windows."""
    g = dm.gates(m, mtp)
    counts = {i: torch.zeros(gt.num_experts, dtype=torch.float64) for i, gt in g.items()}
    hooks = tr.route_hooks(g, counts)
    for _, ids in held:
        forward_all(m, mtp, [bos] + ids)
    for h in hooks:
        h.remove()
    return {str(i): [int(v) for v in c] for i, c in counts.items()}


def render_prompt(tk, prompt, chat):
    """The prompt's text as ds-run sends it: BOS + prompt, or the chat
    template's rendering of one user message with the generation prompt."""
    if chat:
        return kjv.render_chat([], tk["bos"], tk["eos"]) + f"<｜User｜>{prompt}<｜Assistant｜>"
    return tk["bos"] + prompt


def check_template(tk, out_dir):
    """render_prompt's chat rendering equals what the V3 chat template in
    tokenizer_config.json renders (through jinja2, as transformers does)."""
    import jinja2
    with open(os.path.join(out_dir, "tokenizer_config.json"), encoding="utf-8") as f:
        tpl = json.load(f)["chat_template"]
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    for q in ("Give me a verse about light.", "What does John 3:16 say?"):
        want = env.from_string(tpl).render(messages=[{"role": "user", "content": q}],
                                           add_generation_prompt=True, bos_token=tk["bos"])
        if want != render_prompt(tk, q, True):
            raise SystemExit(f"eval: the chat rendering differs from the template's: {want!r}")
    turns = [("a?", "b."), ("c?", "d.")]
    msgs = [x for q, a in turns for x in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]
    if env.from_string(tpl).render(messages=msgs, add_generation_prompt=False, bos_token=tk["bos"]) != \
            kjv.render_chat(turns, tk["bos"], tk["eos"]):
        raise SystemExit("eval: the training conversations differ from the template's rendering")


@torch.no_grad()
def greedy(m, prompt_ids, n, eos):
    """Greedy continuation, recomputing the whole sequence each step (no
    cache); returns (ids, smallest (top1 - top2) / max|logit| seen)."""
    ids = list(prompt_ids)
    out, margin = [], float("inf")
    for _ in range(n):
        lg = m(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1]
        t2 = lg.topk(2).values
        margin = min(margin, float((t2[0] - t2[1]) / lg.abs().max()))
        nxt = int(lg.argmax())
        out.append(nxt)
        ids.append(nxt)
        if nxt == eos:
            break
    return out, margin


def stage_eval(a, c, tk, data, trained, corpus):
    hf, bos, eos = tk["hf"], 0, c["eos_token_id"]
    check_template(tk, a.out)
    cfg, m, mtp = dm.load_published(a.out)
    held = data["held"]
    res = {"published": heldout_metrics(m, mtp, held, bos)}
    dm.write_config(c, os.path.join(a.work, "hf-config"))
    fm, fmtp = dm.eager(c, os.path.join(a.work, "hf-config"), trained["published"])
    res["float32_before_fp8"] = heldout_metrics(fm, fmtp, held, bos)
    res["expert_load"] = expert_load(m, mtp, held, bos)
    runs = []
    for name, prompt, chat, n in tr.PROMPTS + tr.MORE_PROMPTS:
        pids = hf.encode(render_prompt(tk, prompt, chat), add_special_tokens=False).ids
        ids, margin = greedy(m, pids, n, eos)
        runs.append({"name": name, "prompt": prompt, "chat": chat, "max_tokens": n, "prompt_ids": pids,
                     "ids": ids, "text": hf.decode(ids, skip_special_tokens=False), "min_margin": margin})
        tr.log(f"eval: greedy {name}: {runs[-1]['text']!r} (margin {margin:.3g})")
    st = trained["state"]
    res.update({
        "train_seconds": round(st["seconds"], 1), "train_steps": st["step"],
        "tokens_seen": trained["tokens_seen"],
        "train_loadavg_median": float(np.median(st.get("loadavg", [0]))),
        "final_train_loss_mean_last_20": float(np.mean([r["loss"] for r in st["log"][-20:]])),
        "final_mtp_loss_mean_last_20": float(np.mean([r["mtp_loss"] for r in st["log"][-20:]])),
        "corpus_sha256": corpus["sha256"], "held_out_books": list(kjv.HELD_OUT),
        "held_out_windows": len(held), "seed": tr.SEED,
        "params": sum(v.numel() for v in trained["published"].values()),
        "checkpoint_bytes": sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out)),
    })
    os.makedirs(a.fixtures, exist_ok=True)
    with open(os.path.join(a.fixtures, "heldout.jsonl"), "w", encoding="utf-8") as f:
        for text, ids in held:
            f.write(json.dumps({"text": text, "ids": ids}, ensure_ascii=False) + "\n")
    with open(os.path.join(a.fixtures, "greedy.jsonl"), "w", encoding="utf-8") as f:
        for r in runs[:len(tr.PROMPTS)]:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    res["greedy"] = runs
    tr.save_json(os.path.join(a.work, "eval.json"), res)
    p = res["published"]
    tr.save_json(os.path.join(a.fixtures, "expected.json"), {
        "perplexity": p["perplexity"], "mean_nll": p["mean_nll"], "tokens": p["tokens"],
        "mtp_top1_accuracy": p["mtp_top1_accuracy"],
        "mtp_agrees_with_main_greedy": p["mtp_agrees_with_main_greedy"],
        "reference": "transformers %s DeepseekV3ForCausalLM, float32, eager, on the stored FP8/BF16 values "
                     "of data/demo-model; held-out books %s" % (__import__("transformers").__version__,
                                                                 ", ".join(kjv.HELD_OUT)),
        "generator": "train/train.py"})
    p = res["published"]
    tr.log(f"eval: held-out {p['tokens']} tokens: loss {p['mean_nll']:.4f} nats, perplexity "
           f"{p['perplexity']:.3f} (before FP8: {res['float32_before_fp8']['perplexity']:.3f}); "
           f"MTP top-1 {p['mtp_top1_accuracy']:.3f}, agrees with main greedy {p['mtp_agrees_with_main_greedy']:.3f}")
    return res


# ---------------------------------------------------------------------------
# dspipe side

KIND_LOGITS, KIND_TOKENS = 3, 1


def read_frames(raw):
    """Frames of a ds-stream(5) byte string: [(kind, aux, seq, pos, array)]
    for f32 and i32 payloads (others are skipped)."""
    out, off = [], 0
    while off < len(raw):
        magic, ver, kind, dtype, flags, ndim, _, aux = struct.unpack_from("<4sHBBHBBI", raw, off)
        shape = struct.unpack_from("<4I", raw, off + 16)[:ndim]
        seq, pos, nbytes = struct.unpack_from("<QQQ", raw, off + 32)
        if magic != b"DSPF" or ver != 1:
            raise SystemExit("check: not a frame stream")
        body = raw[off + 64:off + 64 + nbytes]
        off += 64 + nbytes + (32 if flags & 1 else 0)
        dt = {1: np.float32, 5: np.int32}.get(dtype)
        if dt is not None:
            out.append((kind, aux, seq, pos, np.frombuffer(body, dtype=dt).reshape(shape)))
    return out


def tool(a, name, *args, stdin=None):
    r = subprocess.run([os.path.join(a.bin, "ds-" + name), *args], input=stdin, capture_output=True)
    if r.returncode:
        raise SystemExit(f"check: ds-{name} {' '.join(args)}: exit {r.returncode}: {r.stderr.decode()[-400:]}")
    return r.stdout


def stage_check(a, tk, data):
    """dspipe's tools on the published checkpoint against transformers
    (the figures the eval stage wrote); writes the ds-sum --tensors
    manifest."""
    with open(os.path.join(a.work, "eval.json")) as f:
        ev = json.load(f)
    out = check_tools(a, data["held"], ev["published"])
    man = tool(a, "sum", "--tensors", a.out).decode()
    man = man.replace(a.out.rstrip("/"), os.path.basename(a.out.rstrip("/")))
    with open(os.path.join(a.out, "tensors.b2sum") + ".tmp", "w") as f:
        f.write(man)
    os.replace(os.path.join(a.out, "tensors.b2sum") + ".tmp", os.path.join(a.out, "tensors.b2sum"))
    tr.save_json(os.path.join(a.work, "check.json"), out)
    return out


def check_tools(a, held, ref):
    """dspipe's tools (a.bin) on the published checkpoint a.out against
    transformers on the held-out windows [(text, ids)]: ds-tokenize's ids,
    main and MTP logits within 1e-4 of max |logit|, ds-score's perplexity
    within 1e-4 relative of ref["perplexity"] over ref["tokens"], and the
    expert load ds-route --stats reports per MoE layer."""
    M = a.out
    out = {}
    # the tokenizer: ds-tokenize's ids equal HF's on every held-out window
    jl = "".join(json.dumps({"text": t}) + "\n" for t, _ in held).encode()
    got = [json.loads(x) for x in tool(a, "tokenize", "-m", M, "--jsonl", stdin=jl).decode().splitlines()]
    want = [[0] + ids for _, ids in held]
    out["tokenizer_windows_identical"] = sum(g == w for g, w in zip(got, want))
    if got != want:
        raise SystemExit("check: ds-tokenize's ids differ from HF tokenizers' on the held-out text")
    # logits and MTP logits, every held-out window
    ids_text = "".join(" ".join(map(str, w)) + "\n" for w in want).encode()
    frames = tool(a, "cat", "--from-ids", stdin=ids_text)
    h0 = tool(a, "embed", "-m", M, "--pass-tokens", stdin=frames)
    main = tool(a, "forward", "-m", M, "--head", "--all-positions", "--emit-hidden", stdin=h0)
    both = tool(a, "forward", "-m", M, "--mtp", "--all-positions", stdin=main)
    fr = read_frames(both)
    cfg, m, mtp = dm.load_published(M)
    worst = {"main": 0.0, "mtp": 0.0}
    argmax_diff = {"main": 0, "mtp": 0}
    for s, w in enumerate(want):
        lg, ml = forward_all(m, mtp, w)
        for key, theirs, aux in (("main", lg, 0), ("mtp", ml, 1)):
            mine = [x for k, ax, sq, _, x in fr if k == KIND_LOGITS and ax == aux and sq == s]
            if len(mine) != 1 or mine[0].shape != tuple(theirs.shape):
                raise SystemExit(f"check: sequence {s}: {key} LOGITS frames missing or misshapen")
            theirs = theirs.numpy()
            worst[key] = max(worst[key], float(np.abs(mine[0] - theirs).max() / np.abs(theirs).max()))
            argmax_diff[key] += int((mine[0].argmax(-1) != theirs.argmax(-1)).sum())
    out["logits_max_rel"] = worst["main"]
    out["mtp_logits_max_rel"] = worst["mtp"]
    out["argmax_differences"] = argmax_diff
    if max(worst.values()) > 1e-4:
        raise SystemExit(f"check: dspipe's logits differ from transformers' by {worst} of max |logit|")
    # perplexity through ds-score
    lg_only = tool(a, "forward", "-m", M, "--head", "--all-positions", stdin=h0)
    lines = [json.loads(x) for x in tool(a, "score", "-b", stdin=lg_only).decode().splitlines()]
    s = lines[-1]
    out["ds_score"] = s
    out["perplexity_rel_diff"] = abs(s["perplexity"] - ref["perplexity"]) / ref["perplexity"]
    if s["count"] != ref["tokens"] or out["perplexity_rel_diff"] > 1e-4:
        raise SystemExit(f"check: ds-score perplexity {s['perplexity']} over {s['count']} tokens, "
                         f"transformers {ref['perplexity']} over {ref['tokens']}")
    # expert load through ds-route --stats (the main model's MoE layers)
    stats = {}
    for L in range(cfg["first_k_dense_replace"], cfg["num_hidden_layers"]):
        hid = tool(a, "forward", "-m", M, "--layers", f"0:{L}", stdin=tool(a, "embed", "-m", M, stdin=frames))
        stats[str(L)] = json.loads(tool(a, "route", "-m", M, "--layer", str(L), "--from-layer-input",
                                        "--stats", "--json", stdin=hid).decode())
    out["ds_route_stats"] = stats
    tr.log(f"check: logits within {worst['main']:.2e} (MTP {worst['mtp']:.2e}) of max |logit|, "
           f"argmax differences {argmax_diff}; ds-score perplexity {s['perplexity']:.6f} vs "
           f"transformers {ref['perplexity']:.6f} (rel {out['perplexity_rel_diff']:.2e}); "
           f"tokenizer {out['tokenizer_windows_identical']}/{len(held)} windows identical")
    return out
