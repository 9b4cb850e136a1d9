# A speculative-decoding ring of the tools (ds-stream(5)): the settled
# tokens equal those of the plain ring, bit for bit, for several prompts
# at once (batched), greedy and sampled with every sampler setting, several
# seeds, 1..3 drafts; and its text through ds-tokenize -d equals the plain
# ring's.  On random weights drafts are rarely right, except where both
# distributions are nearly flat (high temperature), which is where the
# acceptance paths get exercised; the trained demo model (data/demo-model,
# or DS_DEMO_MODEL) accepts most drafts, so there the same comparison runs
# through the acceptance paths on most passes.  The counts are printed as
# evidence.
. "$DS_TESTS/lib.sh"

M="$T/m"
ds mkmodel -q -p tiny-v3 -o "$M" --seed 9 --vocab 64
printf '%s\n' '5 6 7 8' '9 10' '11 12 13 14 15 16 17 18 19' '3' >"$T/prompts"
N=24 NSEQ=4

# the ring's stages are run as themselves, not through lib.sh's ds(): a
# function's subshell would keep ds-sample's stdout open after ds-sample
# closes it to wind the ring down
plain() {	# OUT SAMPLING...
	out=$1; shift
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	ds-cat --from-ids "$T/prompts" | cat - "$T/fifo" | ds-embed -m "$M" --pass-tokens |
		ds-forward -m "$M" --head --no-digest | ds-sample -n $N "$@" | tee "$T/fifo" >"$out"
}
spec() {	# OUT K SAMPLING...
	out=$1 k=$2; shift 2
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	ds-cat --from-ids "$T/prompts" | cat - "$T/fifo" | ds-embed -m "$M" --pass-tokens |
		ds-forward -m "$M" --head --emit-hidden --last-positions $((k + 1)) --no-digest |
		ds-sample --verify -n $N "$@" | ds-forward -m "$M" --mtp --draft "$k" "$@" | tee "$T/fifo" >"$out"
}

# Every setting of the file $2 (lines "name options..."), 1..3 drafts: each
# of the NSEQ sequences of $T/prompts settles plain decoding's N tokens.
# Adds to total (tokens settled) and passes (main-model passes).
total=0 passes=0
rings() {	# LABEL SETTINGS
	while read -r name opts; do
		plain "$T/plain" $opts
		for k in 1 2 3; do
			spec "$T/spec" $k $opts
			same=1 s=0
			while [ $s -lt $NSEQ ]; do
				ds cat -f ids --seq $s "$T/plain" | tr '\n' ' ' >"$T/a"
				ds cat -f settled --seq $s "$T/spec" | tr '\n' ' ' >"$T/b"
				[ "$(wc -w <"$T/a")" -eq $N ] && cmp -s "$T/a" "$T/b" || same=0
				s=$((s + 1))
			done
			check_eq "$1, $name, $k drafts: $NSEQ sequences settle plain decoding's $N tokens each" "$same" 1
			total=$((total + NSEQ * N))
			passes=$((passes + $(ds cat -f header "$T/spec" | grep -c TOKENS)))
		done
	done <"$2"
}

cat >"$T/settings" <<'EOF'
greedy
greedy-penalties --repeat-penalty=1.5 --presence-penalty=0.3 --frequency-penalty=0.2
T0.8-seed1 --temperature=0.8 --seed=1
T1-topk-seed2 --temperature=1 --top-k=8 --seed=2
T1.2-topp-seed3 --temperature=1.2 --top-p=0.9 --seed=3
T1.5-minp-seed4 --temperature=1.5 --min-p=0.05 --seed=4
T2-penalties-lastn-seed5 --temperature=2 --repeat-penalty=1.3 --frequency-penalty=0.5 --penalty-last-n=4 --seed=5
T8-all-seed6 --temperature=8 --top-k=40 --top-p=0.99 --min-p=0.001 --presence-penalty=0.1 --seed=6
T8-seed7 --temperature=8 --seed=7
EOF
rings "random tiny-v3" "$T/settings"
echo "# measured $total tokens settled in $passes main-model passes over 27 speculative rings ($(awk "BEGIN { printf \"%.3f\", $total / $passes }") tokens per pass)"
check "some drafts were accepted (more tokens than passes)" test "$total" -gt "$passes"

DEMO=${DS_DEMO_MODEL:-$DS_TESTS/../data/demo-model}
if [ -f "$DEMO/config.json" ]; then
	M=$DEMO N=32 NSEQ=8 total=0 passes=0
	for p in 'And it came to pass' 'In the beginning God created' 'And the LORD said unto Moses,' \
		'Blessed is the man that walketh not' 'Now these are the names of the children of Israel,' \
		'And he said,' 'For God so loved the world,' 'The'; do
		printf '{"text":"%s"}\n' "$p"
	done | ds tokenize -m "$M" --jsonl | tr '[],' '   ' >"$T/prompts"
	check_eq "demo model: 8 prompts tokenized" "$(grep -c '[0-9]' "$T/prompts")" 8
	cat >"$T/settings" <<'EOF'
greedy
greedy-penalties --repeat-penalty=1.3 --frequency-penalty=0.2
T0.7-seed1 --temperature=0.7 --seed=1
T1-topk-topp-seed2 --temperature=1 --top-k=20 --top-p=0.9 --seed=2
T1.3-minp-penalties-seed3 --temperature=1.3 --min-p=0.02 --presence-penalty=0.2 --penalty-last-n=8 --seed=3
EOF
	rings "demo model" "$T/settings"
	echo "# measured on the demo model: $total tokens settled in $passes main-model passes over 15 speculative rings ($(awk "BEGIN { printf \"%.3f\", $total / $passes }") tokens per pass)"
	# its MTP module was trained with it: most drafts are right
	check "demo model: more than 1.3 tokens settled per main-model pass" \
		awk "BEGIN { exit !($total > 1.3 * $passes) }"
else
	skip "speculative rings on the trained demo model" "no $DEMO"
fi

# text: a model with DeepSeek-V3's tokenizer, ds-tokenize -d after each ring
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
if [ -f "$TOK" ]; then
	M="$T/demo"
	ds mkmodel -q -c "$DS_TESTS/../data/random-v3/config.json" -o "$M" --seed 7 -t "$TOK"
	printf 'The quick brown fox' | ds tokenize -m "$M" >"$T/ptok"
	for opts in "" "--temperature=6 --seed=3"; do
		rm -f "$T/fifo" && mkfifo "$T/fifo"
		cat "$T/ptok" - <"$T/fifo" | ds-embed -m "$M" --pass-tokens | ds-forward -m "$M" --head --no-digest |
			ds-sample -n 16 $opts | tee "$T/fifo" | ds-tokenize -m "$M" -d >"$T/plain.txt"
		rm -f "$T/fifo" && mkfifo "$T/fifo"
		cat "$T/ptok" - <"$T/fifo" | ds-embed -m "$M" --pass-tokens |
			ds-forward -m "$M" --head --emit-hidden --last-positions 3 --no-digest |
			ds-sample --verify -n 16 $opts | ds-forward -m "$M" --mtp --draft 2 $opts | tee "$T/fifo" |
			ds-tokenize -m "$M" -d >"$T/spec.txt"
		check "the plain ring wrote text (${opts:-greedy})" test -s "$T/plain.txt"
		check_files "ds-tokenize -d shows the same text after the speculative ring (${opts:-greedy})" \
			"$T/plain.txt" "$T/spec.txt"
	done
else
	skip "text through a speculative ring" "no share/deepseek-v3/tokenizer.json"
fi
