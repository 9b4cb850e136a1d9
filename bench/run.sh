#!/bin/sh
# bench/run.sh - the figures for closing notes (`make bench`): ds-bench on a
# tiny and a mid-size generated model, the ring's speed through ds-run, and
# the tokenizer against Hugging Face tokenizers when a Python with it is
# given as DS_PYTHON.  JSON lines go to build/bench/results.jsonl (appended)
# and to stdout.  Models are generated under build/bench/ (a few GB) and kept.
#   DS_BENCH_MID=0   skip the mid-size model
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/bin"
out="$top/build/bench"
mkdir -p "$out"
res="$out/results.jsonl"
tok="$top/share/deepseek-v3/tokenizer.json"

model() {	# name, ds-mkmodel arguments...
	name=$1; shift
	[ -f "$out/$name/config.json" ] || "$bin/ds-mkmodel" -q -o "$out/$name" "$@"
}

model tiny-v3 -p tiny-v3 --seed 1
"$bin/ds-bench" -m "$out/tiny-v3" -p 128 -n 64 -r 5 --label tiny-v3 | tee -a "$res"
"$bin/ds-bench" -m "$out/tiny-v3" -p 16 -n 64 -r 5 -b 8 --label tiny-v3-batch8 | tee -a "$res"
if [ "${DS_BENCH_MID:-1}" != 0 ]; then
	model v2-lite-4l -p v2-lite --layers 4 --seed 1
	"$bin/ds-bench" -m "$out/v2-lite-4l" -p 64 -n 16 -r 3 --label v2-lite-4-layers-bf16 | tee -a "$res"
fi

# the ring: ds-run on the random-weight 129k-vocabulary model (stderr carries the speeds)
model random-v3 -c "$top/data/random-v3/config.json" --seed 1 -t "$tok"
for i in 1 2 3 4 5; do
	"$bin/ds-run" -m "$out/random-v3" -n 100 --ignore-eos "The quick brown fox" 2>&1 >/dev/null |
		sed -n 's/.*generated 100 tokens in \([0-9.]*\) s (\([0-9.]*\) tok\/s).*/\2/p'
done | sort -n | sed -n 3p | {
	read -r median
	printf '{"tool":"ds-run","label":"demo ring, 100 tokens","decode_tok_s":{"median":%s},"reps":5}\n' "$median"
} | tee -a "$res"

if [ -n "${DS_PYTHON:-}" ] && "$DS_PYTHON" -c 'import tokenizers' 2>/dev/null; then
	"$DS_PYTHON" "$top/bench/tokenize-bench.py" "$bin" | tee -a "$res"
else
	echo "bench: tokenizer comparison skipped (set DS_PYTHON to a Python with HF tokenizers)" >&2
fi
