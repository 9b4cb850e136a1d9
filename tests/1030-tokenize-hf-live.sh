# Live cross-check against Hugging Face tokenizers on fresh random text, when
# DS_PYTHON names a Python with `tokenizers` (skipped otherwise; the committed
# fixtures are the suite's truth).
. "$DS_TESTS/lib.sh"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
if ! have_python_ref tokenizers; then
	skip "live comparison with HF tokenizers" "set DS_PYTHON to a python with tokenizers"
	exit 0
fi
"$DS_PYTHON" - "$TOK" "$T/cases.jsonl" <<'PY'
import json, random, sys, time
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
seed = int(time.time())
rng = random.Random(seed)
print('# seed', seed)
pool = list('aZé中カ한1 \n\t.,!?\'"-_()<>|') + ['\r\n', '<｜User｜>', '<|EOT|>', '\u3000', '\u0085', '\u0301', '😀', '👍🏽', '\u200d', '１', '٣']
with open(sys.argv[2], 'w', encoding='utf-8') as f:
    for _ in range(2000):
        t = ''.join(rng.choice(pool) if rng.random() < .7 else chr(rng.choice([rng.randint(0x20, 0x2fff), rng.randint(0x3000, 0xd7ff), rng.randint(0xe000, 0x10ffff)])) for _ in range(rng.randint(1, 60)))
        f.write(json.dumps({'text': t, 'ids': tok.encode(t, add_special_tokens=False).ids}, ensure_ascii=False) + '\n')
PY
sed 's/.*"ids": *\(\[[^]]*\]\)}$/\1/; s/ //g' "$T/cases.jsonl" >"$T/want"
ds tokenize -t "$TOK" --jsonl <"$T/cases.jsonl" >"$T/got"
bad=$(paste "$T/got" "$T/want" | awk -F'\t' '$1 != $2' | wc -l)
echo "# measured live HF comparison: $((2000 - bad))/2000 identical"
check_eq "2000 random texts: same ids as HF tokenizers" "$bad" "0"

# the same tokenizer.json as Python writes it by default (json.dump with
# ensure_ascii=True: every non-ASCII character a \uXXXX escape): same ids
"$DS_PYTHON" -c 'import json, sys
json.dump(json.load(open(sys.argv[1], encoding="utf-8")), open(sys.argv[2], "w"))' "$TOK" "$T/ascii.json"
check "the ensure_ascii dump is ASCII only" sh -c "! LC_ALL=C grep -q '[^ -~]' '$T/ascii.json'"
ds tokenize -t "$T/ascii.json" --jsonl <"$T/cases.jsonl" >"$T/got-ascii"
check_files "2000 random texts: the ensure_ascii tokenizer.json gives the same ids" "$T/got-ascii" "$T/want"
