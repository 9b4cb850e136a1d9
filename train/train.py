#!/usr/bin/env python3
"""Train dspipe's embedded demo model: a DeepSeek-V3-architecture model of a
few million parameters on the King James Bible, published as an FP8
checkpoint in data/demo-model/ (see train/README.md).

Stages, each cached in the work directory so that a later stage can be
redone without the earlier ones (--force STAGE redoes one):
  corpus     the text from Debian's bible-kjv-text (installed when missing)
  tokenizer  byte-level BPE with DeepSeek-V3's pre-tokenizer and special tokens
  data       training windows for every step, held-out windows
  train      the model and its MTP module (resumable: a checkpoint every
             few steps; rerunning continues where it stopped)
  export     FP8 checkpoint + tokenizer into --out
  eval       transformers on the published checkpoint: held-out loss and
             perplexity, MTP accuracy, expert load, greedy continuations;
             writes the suite's fixtures (tests/fixtures/demo-model/)
  check      dspipe's tools (bin/) on the published checkpoint against
             transformers: logits and MTP logits within 1e-4 of max |logit|,
             ds-score's perplexity within 1e-4 relative, ds-tokenize's ids;
             writes the ds-sum --tensors manifest

usage: train.py [--work DIR] [--out DIR] [--fixtures DIR] [--until STAGE] [--force STAGE]
                [--steps N] [--threads N]
"""

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import kjv  # noqa: E402
import model as dm  # noqa: E402
import tok  # noqa: E402

SEED = 11
T = 256                 # tokens per training window
BATCH = 16              # windows per step
STEPS = 600             # optimiser steps (about two passes over the text)
CHAT_FRACTION = 0.15    # share of the windows that are chat conversations
LR, LR_MIN, WARMUP = 2.5e-3, 2.5e-4, 40
WEIGHT_DECAY = 0.1
MTP_WEIGHT = 0.3        # lambda of DeepSeek-V3's MTP loss (its first 10T tokens)
BIAS_RATE = 1e-2        # gamma of the auxiliary-loss-free balancing (V3: 0.001, too slow for 600 steps)
CKPT_EVERY = 20
STAGES = ["corpus", "tokenizer", "data", "train", "export", "eval", "check"]

PROMPTS = [  # the pinned greedy runs: (name, prompt, chat, max new tokens)
    ("beginning", "In the beginning", False, 32),
    ("chat-light", "Give me a verse about light.", True, 64),
]
MORE_PROMPTS = [
    ("shepherd", "The LORD is my shepherd", False, 32),
    ("charity", "Though I speak with the tongues of men", False, 32),
    ("chat-love", "What does the Bible say about love?", True, 64),
    ("chat-ref", "What does John 3:16 say?", True, 64),
]


def log(*a):
    print("train:", *a, file=sys.stderr, flush=True)


def save_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------
# corpus and tokenizer


def stage_corpus(a):
    verses, digest = kjv.load(os.path.join(a.work, "kjv.txt"))
    train, held = kjv.split(verses)
    log(f"corpus: {len(verses)} verses, sha256 {digest}; {len(train)} for training, "
        f"{len(held)} held out ({', '.join(kjv.HELD_OUT)})")
    return {"verses": verses, "train": train, "held": held, "sha256": digest}


def tokenizer_texts(train):
    """What the BPE is trained on: every training chapter as lines (so the
    merges see the newlines), and user messages of the kind the chat
    windows have."""
    chapters = {}
    for v in train:
        chapters.setdefault((v["book"], v["chapter"]), []).append(v["text"])
    for vs in chapters.values():
        yield "\n".join(vs) + "\n"
    rng = random.Random(SEED)
    for _ in range(4000):
        yield kjv.chat_turn(train[rng.randrange(len(train))], rng)[0]


def stage_tokenizer(a, corpus):
    d = os.path.join(a.work, "tokenizer")
    if not os.path.exists(os.path.join(d, "tokenizer.json")) or "tokenizer" in a.force:
        tok.train(tokenizer_texts(corpus["train"]), d)
        log(f"tokenizer: {tok.VOCAB} ids written to {d}")
    with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    return {"dir": d, "json": j, "hf": tok.load(d), "bos": j["added_tokens"][0]["content"],
            "eos": j["added_tokens"][1]["content"]}


# ---------------------------------------------------------------------------
# data


def heldout_windows(held, tk):
    """Each held-out book as windows of whole verses, at most T tokens with
    BOS: [(text without BOS, ids without BOS)]."""
    out = []
    for book in kjv.HELD_OUT:
        vs = [v for v in held if v["name"] == book]
        i = 0
        while i < len(vs):
            n = 1
            while i + n < len(vs) and 1 + len(tk["hf"].encode(kjv.prose_text(vs, i, n + 1),
                                                               add_special_tokens=False).ids) <= T:
                n += 1
            text = kjv.prose_text(vs, i, n)
            ids = tk["hf"].encode(text, add_special_tokens=False).ids
            if 1 + len(ids) > T:
                raise SystemExit(f"data: a held-out verse of {book} is longer than {T} tokens")
            out.append((text, ids))
            i += n
    return out


def stage_data(a, corpus, tk):
    path = os.path.join(a.work, "data.pt")
    if os.path.exists(path) and "data" not in a.force:
        data = torch.load(path, weights_only=False)
        if data["windows"].shape[0] == a.steps:
            return data
    hf = tk["hf"]
    train = corpus["train"]
    lens = [len(e.ids) + 1 for e in hf.encode_batch([v["text"] for v in train], add_special_tokens=False)]
    est = {id(v): n for v, n in zip(train, lens)}
    rng = random.Random(SEED)
    need = a.steps * BATCH
    windows, epochs, chat = [], 0, 0
    while len(windows) < need:
        docs = kjv.epoch_documents(train, lambda v: est[id(v)], T, CHAT_FRACTION, rng, tk["bos"], tk["eos"])
        for d, e in zip(docs, hf.encode_batch(docs, add_special_tokens=False)):
            if len(e.ids) >= T:
                windows.append(e.ids[:T])
                chat += d.startswith(tk["bos"] + "<｜User｜>")
        epochs += 1
    windows = torch.tensor(windows[:need], dtype=torch.int32).view(a.steps, BATCH, T)
    held = heldout_windows(corpus["held"], tk)
    data = {"windows": windows, "epochs_built": epochs, "chat_windows": chat,
            "prose_tokens_per_epoch": sum(lens), "held": held}
    torch.save(data, path)
    log(f"data: {a.steps} steps x {BATCH} x {T} tokens from {epochs} shuffled passes "
        f"({sum(lens)} prose tokens a pass, {CHAT_FRACTION:.0%} chat windows); "
        f"{len(held)} held-out windows, {sum(len(i) for _, i in held)} tokens")
    return data


# ---------------------------------------------------------------------------
# training


def lr_at(step, steps):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    t = (step - WARMUP) / max(1, steps - WARMUP)
    return LR_MIN + 0.5 * (LR - LR_MIN) * (1 + math.cos(math.pi * t))


def losses(m, mtp, x):
    """Main next-token loss and DeepSeek-V3's MTP loss (depth 1: row i, from
    the main model's final hidden state at i and the embedding of token i+1,
    predicts token i+2) for a batch x [B, T]."""
    h = m.model(input_ids=x, use_cache=False).last_hidden_state   # after model.norm
    logits = m.lm_head(h).float()
    main = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
    ml = mtp(m, h, x, mask_pos0=True).float()              # [B, T-1, V]; row i predicts x[i+2]
    mt = torch.nn.functional.cross_entropy(ml[:, :-1].reshape(-1, ml.shape[-1]), x[:, 2:].reshape(-1))
    return main, mt


def route_hooks(g, counts):
    """Count, per router, how many tokens each expert receives."""
    hs = []
    for i, gate in g.items():
        def hook(mod, args, out, i=i):
            counts[i] += torch.bincount(out[2].flatten(), minlength=mod.num_experts).to(torch.float64)
        hs.append(gate.register_forward_hook(hook))
    return hs


def stage_train(a, c, data):
    ck = os.path.join(a.work, "ckpt.pt")
    done = os.path.join(a.work, "trained.pt")
    if os.path.exists(done) and "train" not in a.force:
        return torch.load(done, weights_only=False)
    if "train" in a.force:
        for p in (ck, done):
            if os.path.exists(p):
                os.remove(p)
    m, mtp = dm.build(c, os.path.join(a.work, "hf-config"), seed=SEED)
    m.train()
    mtp.train()
    params, seen = [], set()
    for p in list(m.parameters()) + list(mtp.parameters()):
        if id(p) not in seen:
            seen.add(id(p))
            params.append(p)
    decay = [p for p in params if p.dim() >= 2]
    keep = [p for p in params if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": keep, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95), eps=1e-8)
    g = dm.gates(m, mtp)
    state = {"step": 0, "seconds": 0.0, "log": []}
    if os.path.exists(ck):
        s = torch.load(ck, weights_only=False)
        m.load_state_dict(s["model"])
        mtp.load_state_dict(s["mtp"])
        opt.load_state_dict(s["opt"])
        state = s["state"]
        log(f"train: resuming at step {state['step']}")
    counts = {i: torch.zeros(gt.num_experts, dtype=torch.float64) for i, gt in g.items()}
    hooks = route_hooks(g, counts)
    windows = data["windows"]
    steps = windows.shape[0]
    ntok = windows.shape[1] * windows.shape[2]
    while state["step"] < steps:
        step = state["step"]
        t0 = time.time()
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step, steps)
        for v in counts.values():
            v.zero_()
        x = windows[step].long()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            main, mt = losses(m, mtp, x)
        loss = main + MTP_WEIGHT * mt
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        # auxiliary-loss-free balancing (V3 report section 2.1.2): after
        # each step, lower the bias of every expert that got more than the
        # mean load and raise the others', by gamma
        imbalance = {}
        with torch.no_grad():
            for i, gt in g.items():
                cnt = counts[i]
                gt.e_score_correction_bias += BIAS_RATE * torch.sign(cnt.mean() - cnt).float()
                imbalance[i] = float(cnt.max() / cnt.mean())
        dt = time.time() - t0
        state["seconds"] += dt
        state.setdefault("loadavg", []).append(os.getloadavg()[0])
        state["step"] = step + 1
        rec = {"step": step + 1, "loss": round(float(main), 4), "mtp_loss": round(float(mt), 4),
               "lr": lr_at(step, steps), "grad_norm": round(float(gn), 3), "seconds": round(dt, 2),
               "max_load_over_mean": {str(k): round(v, 2) for k, v in imbalance.items()}}
        state["log"].append(rec)
        if step % 5 == 0 or step + 1 == steps:
            log(f"step {step + 1}/{steps} loss {float(main):.3f} mtp {float(mt):.3f} "
                f"lr {rec['lr']:.2e} {ntok / dt:.0f} tok/s, max load/mean "
                + " ".join(f"{v:.2f}" for v in imbalance.values()))
        if state["step"] % CKPT_EVERY == 0 or state["step"] == steps:
            torch.save({"model": m.state_dict(), "mtp": mtp.state_dict(), "opt": opt.state_dict(),
                        "state": state}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
    for h in hooks:
        h.remove()
    out = {"published": dm.published_float(m, mtp), "state": state,
           "tokens_seen": steps * ntok}
    torch.save(out, done)
    with open(os.path.join(a.work, "train-log.jsonl"), "w") as f:
        for r in state["log"]:
            f.write(json.dumps(r) + "\n")
    log(f"train: {steps} steps, {steps * ntok} tokens in {state['seconds']:.0f} s")
    return out


# ---------------------------------------------------------------------------
# export


def stage_export(a, c, tk, trained):
    stored, _ = dm.quantise(c, trained["published"])
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    dm.write_published(a.out, c, stored)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tk["dir"], f), os.path.join(a.out, f))
    size = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    log(f"export: {a.out}: {size} bytes")
    if size > 8_000_000:
        raise SystemExit(f"export: {a.out} is {size} bytes, over the 8 MB the issue allows")
    return size


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default=os.path.join(REPO, "build", "train"))
    ap.add_argument("--out", default=os.path.join(REPO, "data", "demo-model"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "tests", "fixtures", "demo-model"))
    ap.add_argument("--bin", default=os.path.join(REPO, "bin"))
    ap.add_argument("--until", default="check", choices=STAGES)
    ap.add_argument("--force", action="append", default=[], choices=STAGES)
    ap.add_argument("--steps", type=int, default=STEPS)
    # one thread: on this shared 2-core machine, with other jobs running,
    # two torch threads were 2-5x slower per step than one (OpenMP threads
    # spin waiting for a descheduled partner); see train/README.md
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    os.makedirs(a.work, exist_ok=True)
    last = STAGES.index(a.until)
    corpus = stage_corpus(a)
    tk = stage_tokenizer(a, corpus) if last >= 1 else None
    data = stage_data(a, corpus, tk) if last >= 2 else None
    c = dm.config(tok.VOCAB)
    trained = stage_train(a, c, data) if last >= 3 else None
    if last >= 4:
        stage_export(a, c, tk, trained)
    if last >= 5:
        import evaluate  # the eval and check stages
        evaluate.stage_eval(a, c, tk, data, trained, corpus)
    if last >= 6:
        evaluate.stage_check(a, tk, data)
