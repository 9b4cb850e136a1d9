#!/bin/sh
# bench/run.sh - the figures of the README's benchmark section (`make bench`):
# ds-bench (llama-bench's tests: pp512 and tg128, 2 threads, 5 repetitions)
# on the models the section names, generated here with the real DeepSeek-V3
# tokenizer, then the ring's speed through ds-run and the tokenizer against
# Hugging Face tokenizers when a Python with it is given as DS_PYTHON, and
# speculative decoding (bench/speculative.sh).
# Tables go to build/bench/results.md (with the machine named under each),
# records to build/bench/results.jsonl (appended); both also to stdout.
# Models are generated under build/bench/ (about 16 GB) and kept.
#   DS_BENCH_MID=0   only the tiny model (seconds, a few MB)
#   DS_BENCH_ARGS    extra ds-bench options, e.g. "-r 3 -t 1,2"
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/bin"
out="$top/build/bench"
mkdir -p "$out"
res="$out/results.jsonl"
md="$out/results.md"
tok="$top/share/deepseek-v3/tokenizer.json"
: >"$md"

model() {	# name, ds-mkmodel arguments...
	name=$1; shift
	[ -f "$out/$name/config.json" ] || "$bin/ds-mkmodel" -q -o "$out/$name" -t "$tok" --seed 1 "$@"
}

bench() {	# model name, title, ds-bench arguments...
	name=$1 title=$2; shift 2
	printf '\n### %s\n\n' "$title" | tee -a "$md"
	"$bin/ds-bench" -m "$out/$name" --label "$title" --records "$res" "$@" ${DS_BENCH_ARGS:-} | tee -a "$md"
}

model tiny-v3 -p tiny-v3
bench tiny-v3 "tiny-v3 (FP8, test shapes)" -p 128 -n 64 -r 5
if [ "${DS_BENCH_MID:-1}" != 0 ]; then
	# V2-Lite's shape with 4 layers and a q LoRA of 1536 (as the peers
	# recognise V2-Lite by its layer count), V3's vocabulary; BF16 and FP8
	"$bin/ds-mkmodel" -p v2-lite --layers 4 --vocab 129280 --print-config |
		sed 's/"q_lora_rank":[^,]*,/"q_lora_rank": 1536,/; s/"bos_token_id":[^,]*,/"bos_token_id": 0,/; s/"eos_token_id":[^,]*,/"eos_token_id": 1,/' \
		>"$out/v2l4.json"
	model v2l4-bf16 -c "$out/v2l4.json"
	model v2l4-fp8 -c "$out/v2l4.json" --dtype fp8
	# V3's widths with 64 of its 256 experts and 2 layers (1 dense), FP8
	"$bin/ds-mkmodel" -p v3-width --print-config | sed 's/"n_routed_experts":[^,]*,/"n_routed_experts": 64,/' >"$out/v3w64.json"
	model v3w64-fp8 -c "$out/v3w64.json"
	for m in v2l4-bf16:"V2-Lite shape, 4 layers, BF16" v2l4-fp8:"V2-Lite shape, 4 layers, FP8" \
		v3w64-fp8:"V3 width, 64 experts, 2 layers, FP8"; do
		bench "${m%%:*}" "${m#*:}" -p 512 -n 128 -r 5 -t 2
	done
fi
# the ring: ds-run on the random-weight 129k-vocabulary model (stderr carries the speeds)
model random-v3 -c "$top/data/random-v3/config.json"
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

# speculative decoding with the MTP module (its own script: the trained demo
# model, random weights of two shapes, ds-run's ring)
sh "$top/bench/speculative.sh"
