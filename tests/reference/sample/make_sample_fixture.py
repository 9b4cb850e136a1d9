#!/usr/bin/env python3
"""Expected ds-sample tokens from an independent implementation of the
sampling specification in man/ds-sample.1 (tests/3102-sample-reference.sh).

Everything is re-implemented here from the written spec, not from the C
code: ChaCha20 (RFC 8439, checked against its test vector) as libsodium's
randombytes_buf_deterministic stream, key = seed (u64 LE) + seq (u64 LE) +
16 zero bytes, nonce "LibsodiumDRG"; draw index = position of the drawn
token; u = (u64 >> 11) * 2^-53; penalties, temperature, top-k, top-p, min-p
and the cumulative draw in ascending id order, all in double with Python's
math.exp (the C library's exp, as ds-sample uses).

Writes next to this script:
  sample-prompts.txt   64 prompts of 5 ids (sequence s = line s, position 0)
  sample-logits.txt    64 paragraphs, one [2, V] LOGITS frame each (V = 32),
                       to be placed at position 4 (rows predict 5 and 6:
                       ds-sample draws position 6 from the last row)
  sample-expected.txt  "OPTIONS|id id ..." per setting (64 ids, seq order)

Run: /tmp/refvenv/bin/python tests/reference/sample/make_sample_fixture.py
"""
import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
V, NSEQ, PROMPT, POS = 32, 64, 5, 4
DRAW_POS = POS + 2          # logits at 4 with 2 rows -> token at position 6


def rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))


def chacha20_block(key, counter, nonce):
    c = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    s = c + list(struct.unpack("<8I", key)) + [counter] + list(struct.unpack("<3I", nonce))
    x = list(s)

    def qr(a, b, c_, d):
        x[a] = (x[a] + x[b]) & 0xffffffff; x[d] = rotl(x[d] ^ x[a], 16)
        x[c_] = (x[c_] + x[d]) & 0xffffffff; x[b] = rotl(x[b] ^ x[c_], 12)
        x[a] = (x[a] + x[b]) & 0xffffffff; x[d] = rotl(x[d] ^ x[a], 8)
        x[c_] = (x[c_] + x[d]) & 0xffffffff; x[b] = rotl(x[b] ^ x[c_], 7)
    for _ in range(10):
        qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
        qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
    return struct.pack("<16I", *[(x[i] + s[i]) & 0xffffffff for i in range(16)])


# RFC 8439 section 2.3.2 test vector
_b = chacha20_block(bytes(range(32)), 1, bytes.fromhex("000000090000004a00000000"))
assert _b.hex().startswith("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"), _b.hex()


def uniform(seed, seq, index):
    key = struct.pack("<QQ", seed, seq) + bytes(16)
    block = chacha20_block(key, index // 8, b"LibsodiumDRG")
    u = struct.unpack_from("<Q", block, 8 * (index % 8))[0]
    return (u >> 11) * 2.0 ** -53


def sample(z, hist, o, seed, seq):
    z = list(z)
    window = hist if o["last_n"] < 0 else hist[len(hist) - o["last_n"]:] if o["last_n"] > 0 else []
    counts = {}
    for t in window:
        if 0 <= t < len(z):
            counts[t] = counts.get(t, 0) + 1
    for t, c in counts.items():
        z[t] = z[t] / o["rep"] if z[t] > 0 else z[t] * o["rep"]
        z[t] -= c * o["freq"] + o["pres"]
    if o["T"] == 0:
        return max(range(len(z)), key=lambda i: (z[i], -i))
    zmax = max(z)
    w = [math.exp((zi - zmax) / o["T"]) for zi in z]
    rank = sorted((i for i in range(len(w)) if w[i] > 0), key=lambda i: (-w[i], i))
    if o["k"] > 0:
        rank = rank[:o["k"]]
    if o["p"] < 1:
        S = 0.0
        for i in sorted(rank):
            S += w[i]
        cum, n = 0.0, len(rank)
        for j, i in enumerate(rank):
            cum += w[i]
            if cum >= o["p"] * S:
                n = j + 1
                break
        rank = rank[:n]
    if o["minp"] > 0:
        while len(rank) > 1 and w[rank[-1]] < o["minp"]:
            rank.pop()
    keep = set(rank)
    w = [w[i] if i in keep else 0.0 for i in range(len(w))]
    W = 0.0
    for x in w:
        W += x
    target = uniform(seed, seq, DRAW_POS) * W
    acc, last = 0.0, None
    for i, x in enumerate(w):
        if x == 0:
            continue
        acc += x
        last = i
        if acc > target:
            return i
    return last


SETTINGS = [
    ("", dict()),
    ("--repeat-penalty 1.5", dict(rep=1.5)),
    ("-t 1", dict(T=1)),
    ("-t 1 --seed 18446744073709551615", dict(T=1, seed=2**64 - 1)),
    ("-t 0.8 -k 5 --seed 42", dict(T=0.8, k=5, seed=42)),
    ("-t 1.3 -p 0.9 --seed 7", dict(T=1.3, p=0.9, seed=7)),
    ("-t 1 --min-p 0.1 --seed 9", dict(T=1, minp=0.1, seed=9)),
    ("-t 1 --repeat-penalty 1.3 --presence-penalty 0.5 --frequency-penalty 0.25 --seed 3",
     dict(T=1, rep=1.3, pres=0.5, freq=0.25, seed=3)),
    ("-t 1 -k 6 -p 0.8 --min-p 0.05 --repeat-penalty 1.2 --penalty-last-n 3 --seed 11",
     dict(T=1, k=6, p=0.8, minp=0.05, rep=1.2, last_n=3, seed=11)),
]

gen = random.Random(20261128)
prompts = [[gen.randrange(V) for _ in range(PROMPT)] for _ in range(NSEQ)]
# f32 logits: round through struct so the text holds exact float32 values
logits = [[[struct.unpack("<f", struct.pack("<f", gen.gauss(0, 2)))[0] for _ in range(V)]
           for _ in range(2)] for _ in range(NSEQ)]
for s in range(NSEQ):          # make the prompt tokens likely, so penalties matter
    for t in prompts[s][:2]:
        logits[s][1][t] = struct.unpack("<f", struct.pack("<f", logits[s][1][t] + 3))[0]

with open(os.path.join(HERE, "sample-prompts.txt"), "w") as f:
    for p in prompts:
        f.write(" ".join(map(str, p)) + "\n")
with open(os.path.join(HERE, "sample-logits.txt"), "w") as f:
    f.write("\n".join("\n".join(" ".join("%.9g" % v for v in row) for row in fr) + "\n" for fr in logits))
with open(os.path.join(HERE, "sample-expected.txt"), "w") as f:
    for opts, o in SETTINGS:
        full = dict(T=0.0, k=0, p=1.0, minp=0.0, rep=1.0, pres=0.0, freq=0.0, last_n=-1, seed=0)
        full.update(o)
        # history before position 6: the prompt (0..4); position 5 is unknown
        ids = [sample(logits[s][1], prompts[s], full, full["seed"], s) for s in range(NSEQ)]
        f.write("%s|%s\n" % (opts, " ".join(map(str, ids))))
