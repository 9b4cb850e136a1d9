#!/bin/sh
# bench/speculative.sh - speculative decoding's figures for closing notes:
# ds-bench --speculative K (K = 1, 2, 3; one process, alternating runs with
# and without drafts; every id drafted, and the first 1024 only; a fixed K
# each pass, and --draft-policy adaptive's 0..K as it pays) on the
# trained demo model (greedy and T = 0.8), on
# random weights of its shape and of V2-Lite's width (what speculating
# costs when nothing is accepted), and ds-run's ring plain and with
# --speculative mtp --draft 1..3 on the demo model (ds-run's adaptive
# default, and --draft-policy fixed; alternating, medians of 5).  JSON
# lines go to build/bench/results.jsonl (appended) and stdout.
# Check /proc/loadavg first: other work on the machine moves these numbers.
#   DS_SPEC_DEMO=DIR   the trained model (default data/demo-model)
#   DS_BENCH_MID=0     skip the V2-Lite-width model (about 4 GB)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/bin"
out="$top/build/bench"
mkdir -p "$out"
res="$out/results.jsonl"
demo=${DS_SPEC_DEMO:-$top/data/demo-model}
echo "bench: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [ -f "$demo/config.json" ]; then
	printf 'And it came to pass, when the men of the city saw' | "$bin/ds-tokenize" -m "$demo" -f text >"$out/spec-prompt.ids"
	# every id drafted, and only the first 1024 (--draft-vocab)
	for t in 0 0.8; do
		for k in 1 2 3; do
			for v in 0 1024; do
				for p in fixed adaptive; do
					"$bin/ds-bench" -q -m "$demo" -p 128 -n 128 -r 5 --speculative $k --temperature $t --seed 1 \
						--draft-vocab $v --draft-policy $p --prompt-ids "$out/spec-prompt.ids" \
						--label "demo-model speculative k=$k T=$t draft-vocab=$v $p" | tee -a "$res"
				done
			done
		done
	done
	# the ring: ds-run plain and with 1..3 drafts (adaptive, ds-run's
	# default, and fixed), alternating, 5 rounds; medians of ds-run's own
	# generation speed
	rings="plain 1 2 3 1f 2f 3f"	# K drafts adaptive, Kf fixed
	ring_args() {
		case $1 in
		plain) ;;
		*f) echo "--speculative mtp --draft ${1%f} --draft-policy fixed" ;;
		*) echo "--speculative mtp --draft $1" ;;
		esac
	}
	for i in 1 2 3 4 5; do
		for spec in $rings; do
			printf '%s ' "$spec"
			"$bin/ds-run" -m "$demo" -n 200 --ignore-eos $(ring_args "$spec") "And it came to pass" 2>&1 >/dev/null |
				sed -n 's/.*generated [0-9]* tokens in [0-9.]* s (\([0-9.]*\) tok\/s).*/\1/p'
		done
	done >"$out/spec-ring.txt"
	for spec in $rings; do
		median=$(awk -v s="$spec" '$1 == s { print $2 }' "$out/spec-ring.txt" | sort -n | sed -n 3p)
		case $spec in
		plain) what=plain ;;
		*f) what=$(ring_args "$spec") ;;
		*) what="$(ring_args "$spec") (adaptive)" ;;
		esac
		printf '{"tool":"ds-run","label":"demo ring, %s, 200 tokens","decode_tok_s":{"median":%s},"reps":5}\n' \
			"$what" "$median"
	done | tee -a "$res"
	# the same shape with random weights: what speculating costs when
	# (nearly) nothing is accepted
	r="$out/demo-shape-random"
	[ -f "$r/config.json" ] || "$bin/ds-mkmodel" -q -c "$demo/config.json" -o "$r" --seed 1
	for k in 1 2 3; do
		for p in fixed adaptive; do
			"$bin/ds-bench" -q -m "$r" -p 128 -n 128 -r 5 --speculative $k --seed 1 --draft-policy $p \
				--prompt-ids "$out/spec-prompt.ids" --label "demo shape, random weights, k=$k $p" | tee -a "$res"
		done
	done
else
	echo "bench: no trained model at $demo (DS_SPEC_DEMO)" >&2
fi

if [ "${DS_BENCH_MID:-1}" != 0 ]; then
	m="$out/v2-lite-2l-mtp"
	[ -f "$m/config.json" ] || "$bin/ds-mkmodel" -q -p v2-lite --layers 2 --mtp 1 -o "$m" --seed 1
	for k in 1 2 3; do
		for p in fixed adaptive; do
			"$bin/ds-bench" -q -m "$m" -p 32 -n 64 -r 3 --speculative $k --draft-policy $p \
				--label "v2-lite-width 2 layers + MTP, random, k=$k $p" | tee -a "$res"
		done
	done
fi
