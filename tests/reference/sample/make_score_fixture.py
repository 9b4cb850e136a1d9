#!/usr/bin/env python3
"""Reference values for ds-score (tests/3110-score-reference.sh).

Writes, next to this script, small text fixtures that `ds-cat --from-ids` /
`ds-cat --from-text LOGITS` turn into frames, and expected.txt with the
values ds-score must report, computed here independently with numpy in
float64 from the float32 logits:

  tokens.txt      two sequences (seq 0: 8 tokens, seq 1: 6 tokens), one per line
  logits.txt      one paragraph per sequence: the f32 [T, V] logits, V = 13
  base.txt        the same shape: "base" logits (logits minus small noise) for --kl
  expected.txt    "key value" lines (see the keys below)

Requests (loglikelihood): request r is sequence r with its first CTX[r]
tokens as context and the rest as continuation.  Sequence 1's continuation
is made greedy on purpose (each token the argmax of the row before it).

Run: /tmp/refvenv/bin/python tests/reference/sample/make_score_fixture.py
"""
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
V = 13
LENGTHS = [8, 6]
CTX = [5, 3]
rng = np.random.default_rng(20261128)


def log_softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    return x - (m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)))


seqs = []
for s, T in enumerate(LENGTHS):
    logits = (rng.standard_normal((T, V)) * 2.5).astype(np.float32)
    logits[:, V - 1] = -np.inf               # a masked token, never a target
    logits[1, 3] = logits[1, 5] = 9.0        # an exact tie: argmax is the lower id
    toks = rng.integers(0, V - 1, size=T).astype(np.int64)
    toks[2] = 5 if s == 0 else 3             # the tie's loser (not greedy) / winner (greedy)
    if s == 1:                               # a greedy continuation
        for i in range(CTX[s], T):
            toks[i] = int(np.argmax(logits[i - 1]))
    base = (logits - np.abs(rng.standard_normal((T, V))) * 0.3).astype(np.float32)
    base[:, V - 1] = -np.inf
    seqs.append((toks, logits, base))

def fmt_rows(a):
    return "\n".join(" ".join("%.9g" % v for v in row) for row in a) + "\n"

with open(os.path.join(HERE, "tokens.txt"), "w") as f:
    for toks, _, _ in seqs:
        f.write(" ".join(str(int(t)) for t in toks) + "\n")
with open(os.path.join(HERE, "logits.txt"), "w") as f:
    f.write("\n".join(fmt_rows(l) for _, l, _ in seqs))
with open(os.path.join(HERE, "base.txt"), "w") as f:
    f.write("\n".join(fmt_rows(b) for _, _, b in seqs))
for s, (toks, logits, _) in enumerate(seqs):
    c = CTX[s]
    with open(os.path.join(HERE, "req%d.ctx" % s), "w") as f:
        f.write(" ".join(str(int(t)) for t in toks[:c]) + "\n")
    with open(os.path.join(HERE, "req%d.cont" % s), "w") as f:
        f.write(" ".join(str(int(t)) for t in toks[c:]) + "\n")
    with open(os.path.join(HERE, "req%d.logits-ctx" % s), "w") as f:
        f.write(fmt_rows(logits[:c]))
    with open(os.path.join(HERE, "req%d.logits-cont" % s), "w") as f:
        f.write(fmt_rows(logits[c:]))

out = []
tot, cnt = 0.0, 0
all_dp, all_kl, agree = [], [], 0
lp_base_tot, lp_run_tot = 0.0, 0.0
for s, (toks, logits, base) in enumerate(seqs):
    x = logits.astype(np.float64)
    b = base.astype(np.float64)
    lp = log_softmax(x)
    lpb = log_softmax(b)
    T = len(toks)
    per = np.array([lp[i, toks[i + 1]] for i in range(T - 1)])
    greedy = [int(np.argmax(x[i])) == int(toks[i + 1]) for i in range(T - 1)]
    out.append("seq%d.count %d" % (s, T - 1))
    out.append("seq%d.total %.17g" % (s, per.sum()))
    out.append("seq%d.mean_nll %.17g" % (s, -per.mean()))
    out.append("seq%d.perplexity %.17g" % (s, np.exp(-per.mean())))
    out.append("seq%d.greedy_matches %d" % (s, sum(greedy)))
    for i, v in enumerate(per):
        out.append("seq%d.logprobs.%d %.17g" % (s, i, v))
    tot += per.sum()
    cnt += T - 1
    c = CTX[s]
    ll = sum(lp[i - 1, toks[i]] for i in range(c, T))
    out.append("req%d.loglikelihood %.17g" % (s, ll))
    out.append("req%d.is_greedy %s" % (s, "true" if all(greedy[c - 1:]) else "false"))
    out.append("req%d.count %d" % (s, T - c))
    # KL(base || run) per position, every row (the last row has no target but still counts)
    p = np.exp(lpb)
    with np.errstate(invalid="ignore"):     # -inf - -inf where p == 0
        kl = np.sum(np.where(p > 0, p * (lpb - lp), 0.0), axis=1)
    all_kl.extend(kl.tolist())
    agree += int(np.sum(np.argmax(b, axis=1) == np.argmax(x, axis=1)))
    perb = np.array([lpb[i, toks[i + 1]] for i in range(T - 1)])
    all_dp.extend((np.exp(per) - np.exp(perb)).tolist())
    lp_base_tot += perb.sum()
    lp_run_tot += per.sum()

out.append("total.sequences 2")
out.append("total.count %d" % cnt)
out.append("total.total %.17g" % tot)
out.append("total.mean_nll %.17g" % (-tot / cnt))
out.append("total.perplexity %.17g" % np.exp(-tot / cnt))


def stats(name, a, rms=False):
    a = np.array(a)
    out.append("%s.mean %.17g" % (name, a.mean()))
    out.append("%s.stderr %.17g" % (name, a.std(ddof=1) / np.sqrt(len(a))))
    if rms:
        out.append("%s.rms %.17g" % (name, np.sqrt(np.mean(a * a))))
    for key, q in [("min", 0), ("p1", 1), ("p5", 5), ("p10", 10), ("median", 50), ("p90", 90),
                   ("p95", 95), ("p99", 99), ("p99_9", 99.9), ("max", 100)]:
        out.append("%s.%s %.17g" % (name, key, np.percentile(a, q)))


out.append("kl.positions %d" % len(all_kl))
out.append("kl.top1_agreement_pct %.17g" % (100.0 * agree / len(all_kl)))
stats("kl.kld", all_kl)
out.append("kl.tokens %d" % cnt)
out.append("kl.ppl_base %.17g" % np.exp(-lp_base_tot / cnt))
out.append("kl.ppl %.17g" % np.exp(-lp_run_tot / cnt))
out.append("kl.ln_ppl_ratio %.17g" % ((lp_base_tot - lp_run_tot) / cnt))
stats("kl.delta_p", all_dp, rms=True)

with open(os.path.join(HERE, "expected.txt"), "w") as f:
    f.write("# generated by make_score_fixture.py (numpy %s); do not edit\n" % np.__version__)
    f.write("\n".join(out) + "\n")
