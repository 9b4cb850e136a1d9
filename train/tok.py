"""tok - the demo model's tokenizer: a byte-level BPE trained with Hugging
Face `tokenizers` on the training part of the corpus, with DeepSeek-V3's own
normalizer, pre-tokenizer, post-processor and decoder (copied verbatim from
data/deepseek-v3/tokenizer.json.gz) and DeepSeek-V3's special tokens except
the 800 placeholders, and V3's tokenizer_config.json (BOS rule, chat
template) unchanged.

Ids: 0 BOS, 1 EOS, 2 pad (as in V3), 3..17 the FIM, chat-role, EOT and tool
tokens (V3 has them at 128800..128814), then the 256 byte tokens and the
merges, VOCAB ids in all.  Each added token keeps V3's flags (special,
normalized, lstrip, rstrip, single_word).
"""

import gzip
import json
import os

VOCAB = 3072

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
V3_TOKENIZER = os.path.join(REPO, "data", "deepseek-v3", "tokenizer.json.gz")
V3_CONFIG = os.path.join(REPO, "data", "deepseek-v3", "tokenizer_config.json")


def v3_tokenizer():
    with gzip.open(V3_TOKENIZER, "rt", encoding="utf-8") as f:
        return json.load(f)


def special_tokens(v3):
    """V3's added tokens without the placeholders, in id order."""
    return [a for a in sorted(v3["added_tokens"], key=lambda a: a["id"]) if "place▁holder" not in a["content"]]


def train(texts, out_dir):
    """Train the BPE on `texts` (an iterable of strings) and write
    tokenizer.json and tokenizer_config.json into out_dir."""
    from tokenizers import Tokenizer, trainers, pre_tokenizers

    v3 = v3_tokenizer()
    specials = special_tokens(v3)
    skeleton = {k: v3[k] for k in ("version", "truncation", "padding", "normalizer", "pre_tokenizer",
                                   "post_processor", "decoder")}
    skeleton["added_tokens"] = []
    skeleton["model"] = dict(v3["model"], vocab={}, merges=[])
    tok = Tokenizer.from_str(json.dumps(skeleton))
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=[a["content"] for a in specials],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    j = json.loads(tok.to_str())
    # V3's flags on the added tokens, our ids
    ids = {a["content"]: a["id"] for a in j["added_tokens"]}
    j["added_tokens"] = [dict(a, id=ids[a["content"]]) for a in specials]
    for k in ("normalizer", "pre_tokenizer", "post_processor", "decoder"):
        if j[k] != v3[k]:
            raise SystemExit(f"tok: the trained tokenizer's {k} differs from DeepSeek-V3's")
    if len(j["model"]["vocab"]) != VOCAB or sorted(j["model"]["vocab"].values()) != list(range(VOCAB)):
        raise SystemExit("tok: the vocabulary is not ids 0..VOCAB-1")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    with open(V3_CONFIG, "rb") as f:
        cfg = f.read()
    with open(os.path.join(out_dir, "tokenizer_config.json"), "wb") as f:
        f.write(cfg)
    return j


def load(out_dir):
    from tokenizers import Tokenizer
    return Tokenizer.from_file(os.path.join(out_dir, "tokenizer.json"))


def special(j, content):
    return next(a["id"] for a in j["added_tokens"] if a["content"] == content)
