#!/usr/bin/env python3
"""Check the committed demo model (data/demo-model) and its committed
fixtures (tests/fixtures/demo-model) against transformers and Hugging Face
tokenizers, with nothing from the training run: the eval and check stages
of train.py, redone from what the repository holds.

  * HF tokenizers gives heldout.jsonl's ids on its text, and the V3 chat
    template (through jinja2, as transformers renders it) gives the chat
    prompt ids of greedy.jsonl;
  * transformers (float32, eager, on the stored FP8/BF16 values) gives
    expected.json's held-out perplexity and greedy.jsonl's greedy ids;
  * dspipe's tools give transformers' logits and MTP logits within 1e-4 of
    max |logit|, its perplexity through ds-score within 1e-4 relative, and
    ds-tokenize its ids; ds-sum -c accepts tensors.b2sum;
  * the expert load per MoE layer from transformers' router and from
    ds-route --stats.

Exit status 0 when every check holds; the figures go to stdout as one JSON
object (--more adds the extra greedy prompts and sampled continuations).

usage: verify.py [--out DIR] [--fixtures DIR] [--bin DIR] [--more] [--threads N]
"""

import argparse
import json
import os
import subprocess
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import evaluate as ev  # noqa: E402
import model as dm  # noqa: E402
import tok  # noqa: E402
import train as tr  # noqa: E402


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(x) for x in f if x.strip()]


def fail(msg):
    raise SystemExit(f"verify: {msg}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "data", "demo-model"))
    ap.add_argument("--fixtures", default=os.path.join(REPO, "tests", "fixtures", "demo-model"))
    ap.add_argument("--bin", default=os.path.join(REPO, "bin"))
    ap.add_argument("--more", action="store_true", help="also the extra prompts and sampled runs")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    report = {}

    # the tokenizer and the chat template
    hf = tok.load(a.out)
    with open(os.path.join(a.out, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    tk = {"hf": hf, "bos": j["added_tokens"][0]["content"], "eos": j["added_tokens"][1]["content"]}
    held = [(r["text"], r["ids"]) for r in read_jsonl(os.path.join(a.fixtures, "heldout.jsonl"))]
    same = sum(hf.encode(t, add_special_tokens=False).ids == ids for t, ids in held)
    report["hf_tokenizer_windows_identical"] = f"{same}/{len(held)}"
    if same != len(held):
        fail(f"HF tokenizers agrees with heldout.jsonl on {same} of {len(held)} windows")
    ev.check_template(tk, a.out)

    # transformers on the published checkpoint
    cfg, m, mtp = dm.load_published(a.out)
    with open(os.path.join(a.fixtures, "expected.json")) as f:
        want = json.load(f)
    got = ev.heldout_metrics(m, mtp, held, 0)
    report["transformers"] = {k: got[k] for k in ("tokens", "mean_nll", "perplexity", "greedy_matches",
                                                  "mtp_top1_accuracy", "mtp_agrees_with_main_greedy")}
    rel = abs(got["perplexity"] - want["perplexity"]) / want["perplexity"]
    report["transformers_vs_expected_rel"] = rel
    if got["tokens"] != want["tokens"] or rel > 1e-6:
        fail(f"transformers' held-out perplexity {got['perplexity']} over {got['tokens']} tokens, "
             f"expected.json {want['perplexity']} over {want['tokens']}")
    load = ev.expert_load(m, mtp, held, 0)
    report["transformers_expert_load"] = load

    runs = read_jsonl(os.path.join(a.fixtures, "greedy.jsonl"))
    for r in runs:
        pids = hf.encode(ev.render_prompt(tk, r["prompt"], r["chat"]), add_special_tokens=False).ids
        if pids != r["prompt_ids"]:
            fail(f"{r['name']}: the prompt's ids are not greedy.jsonl's")
        ids, margin = ev.greedy(m, pids, r["max_tokens"], cfg["eos_token_id"])
        if ids != r["ids"]:
            fail(f"{r['name']}: transformers' greedy ids differ from greedy.jsonl's")
    report["greedy_pinned_identical"] = len(runs)

    # dspipe against transformers
    report["tools"] = ev.check_tools(a, held, got)
    # ds-route --stats counts the main model's MoE layers over the same
    # tokens (BOS included) as the router hooks do
    diff = {}
    for L, st in report["tools"]["ds_route_stats"].items():
        diff[L] = sum(abs(e["count"] - load[L][e["id"]]) for e in st["experts"])
        if st["tokens"] * st["top_k"] != sum(load[L]) or diff[L] > sum(load[L]) // 1000:
            fail(f"layer {L}: ds-route --stats and transformers' router differ by {diff[L]} assignments")
    report["ds_route_vs_transformers_count_differences"] = diff
    report["ds_sum_check"] = subprocess.run(
        [os.path.join(a.bin, "ds-sum"), "-c", "-m", a.out, os.path.join(a.out, "tensors.b2sum")],
        capture_output=True).returncode == 0
    if not report["ds_sum_check"]:
        fail("ds-sum -c rejects tensors.b2sum")

    if a.more:
        more = []
        for name, prompt, chat, n in tr.PROMPTS + tr.MORE_PROMPTS:
            pids = hf.encode(ev.render_prompt(tk, prompt, chat), add_special_tokens=False).ids
            ids, margin = ev.greedy(m, pids, n, cfg["eos_token_id"])
            more.append({"name": name, "greedy_transformers": hf.decode(ids, skip_special_tokens=True),
                         "min_margin": margin})
            for seed in (1, 2):
                args = [os.path.join(a.bin, "ds-run"), "-q", "-m", a.out, "-n", str(n), "-t", "0.8",
                        "-p", "0.95", "-s", str(seed)] + (["--chat"] if chat else []) + [prompt]
                out = subprocess.run(args, capture_output=True, check=True).stdout.decode()
                more[-1][f"sampled_t0.8_p0.95_seed{seed}"] = out
        report["continuations"] = more
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
