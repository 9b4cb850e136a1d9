# ds-run --speculative mtp: the same text, ids and stops as plain ds-run,
# in every mode (one prompt, --batch, -i, --print-pipeline | sh), greedy
# and sampled, 1..3 drafts (adaptive, the default, and fixed), with drafts cut at the end of the context, with
# -n cutting a pass's settled tokens and stop strings inside them; and the
# options' errors.  On the trained demo model (data/demo-model, or
# DS_DEMO_MODEL) most drafts are accepted, so the accepting paths run.
. "$DS_TESTS/lib.sh"
M=${DS_DEMO_MODEL:-$DS_TESTS/../data/demo-model}
if [ ! -f "$M/config.json" ]; then
	skip "ds-run --speculative mtp" "no trained demo model at $M"
	exit 0
fi
run() { timeout 120 ds-run -m "$M" "$@"; }
P='And it came to pass'

# 1. one prompt: the text and the reported statistics' token count agree
same() {	# DESC ARGS...: plain and speculative (1..3 drafts) write the same text
	what=$1; shift
	run "$@" >"$T/plain" 2>"$T/plain.err"
	sed -n 's/.*generated \([0-9]*\) tokens.*stop: \(.*\)/\1 \2/p' "$T/plain.err" >"$T/plain.stat"
	ok=1
	for k in 1 2 3 "1 --draft-policy fixed" "3 --draft-policy fixed"; do
		run --speculative mtp --draft $k "$@" >"$T/spec" 2>"$T/spec.err" || ok=0
		sed -n 's/.*generated \([0-9]*\) tokens.*stop: \(.*\)/\1 \2/p' "$T/spec.err" >"$T/spec.stat"
		cmp -s "$T/plain" "$T/spec" && cmp -s "$T/plain.stat" "$T/spec.stat" || ok=0
	done
	check "the plain run wrote text ($what)" test -s "$T/plain"
	check_eq "1..3 drafts, adaptive and fixed: the same text, token count and stop ($what)" "$ok" 1
}
same "greedy, 60 tokens" -n 60 --ignore-eos "$P"
same "T 0.8" -n 60 --ignore-eos -t 0.8 -s 5 "$P"
same "T 1.2, top-k, top-p, penalties" -n 60 --ignore-eos -t 1.2 -k 30 -p 0.95 --repeat-penalty 1.2 --presence-penalty 0.3 -s 9 "$P"
same "-n 1" -n 1 "$P"
same "-n 2" -n 2 "$P"
same "-n 7 (inside a pass)" -n 7 --ignore-eos "$P"
same "a stop string" -n 80 --stop 'Israel' "$P"
same "a stop string, sampled" -n 80 --stop 'the' -t 0.9 -s 2 "$P"
same "until EOS or the context, sampled" -n -1 --ctx-size 64 -t 1 -s 3 "$P"
np=$(printf '%s' "$P" | ds tokenize -m "$M" -f text | wc -w)
same "the context ends 2 positions after the prompt (drafts cut)" -n -1 --ignore-eos --ctx-size $((np + 2)) "$P"
same "the context ends 9 positions after the prompt" -n -1 --ignore-eos --ctx-size $((np + 9)) "$P"
check "--speculative reported the context stop" grep -q 'stop: context' "$T/spec.err"

# 2. --batch: every sequence's JSON (text, ids, stop) as without
for p in 'And it came to pass' 'In the beginning' 'And the LORD said unto Moses,' 'Blessed' \
	'Now these are the names' 'For God so loved the world,'; do
	printf '{"prompt":"%s"}\n' "$p"
done >"$T/b.jsonl"
for opts in "-n 40 --ignore-eos" "-n 30 -t 0.9 -s 4 --stop LORD"; do
	run -q $opts --batch "$T/b.jsonl" >"$T/b.plain"
	run -q $opts --speculative mtp --draft 2 --batch "$T/b.jsonl" >"$T/b.spec"
	check_eq "--batch ($opts): 6 results" "$(grep -c . "$T/b.plain")" 6
	check_files "--batch ($opts): the same results with --speculative mtp" "$T/b.plain" "$T/b.spec"
done

# 3. -i: the caches (main and MTP) keep exactly the kept tokens between
#    turns, also after a stop string cut a pass
for opts in "-n 12" "-n 20 --stop the -t 0.7 -s 1"; do
	printf 'Who is the king?\nAnd then?\nWhat did he say?\n' | run -q -i $opts >"$T/i.plain"
	printf 'Who is the king?\nAnd then?\nWhat did he say?\n' | run -q -i $opts --speculative mtp --draft 3 >"$T/i.spec"
	check "-i ($opts): replies written" test -s "$T/i.plain"
	check_files "-i ($opts): the same three replies with --speculative mtp" "$T/i.plain" "$T/i.spec"
done

# 4. --print-pipeline: the speculative ring as shell commands, which write
#    the same text
run -n 30 --ignore-eos --speculative mtp --draft 2 --print-pipeline "$P" >"$T/p.sh"
check "the printed ring verifies and drafts" grep -q 'ds-sample.*--verify.*|' "$T/p.sh"
check "the printed ring drafts with the MTP module" grep -q 'ds-forward.*--mtp --draft=2' "$T/p.sh"
check "ds-sample --verify gets -n" grep -q 'ds-sample.*--verify.*--max-tokens=30' "$T/p.sh"
sh "$T/p.sh" >"$T/p.out" 2>"$T/p.err"
run -n 30 --ignore-eos "$P" >"$T/p.ref" 2>/dev/null
check_files "the printed speculative ring writes ds-run's text" "$T/p.ref" "$T/p.out"

# 4b. --draft-vocab: drafts from the first ids only - the same text, greedy
#     and sampled, with a vocabulary that leaves out most tokens too
for v in 1024 100; do
	for opts in "-n 60 --ignore-eos" "-n 60 --ignore-eos -t 0.9 -k 40 -s 6"; do
		run $opts "$P" >"$T/v.plain" 2>/dev/null
		run $opts --speculative mtp --draft 2 --draft-vocab $v "$P" >"$T/v.spec" 2>/dev/null
		check "plain text written ($opts)" test -s "$T/v.plain"
		check_files "--draft-vocab $v ($opts): the same text" "$T/v.plain" "$T/v.spec"
	done
done
run -n 8 --speculative mtp --draft-vocab 1024 --print-pipeline "$P" >"$T/v.sh"
check "the printed ring passes --draft-vocab to the drafter" grep -q 'ds-forward.*--mtp --draft=1 --draft-policy=adaptive --draft-vocab=1024' "$T/v.sh"
run -n 8 --speculative mtp --draft-policy fixed --print-pipeline "$P" >"$T/f.sh"
check "--draft-policy fixed: the drafter's default, not passed" sh -c "grep -q 'ds-forward.*--mtp --draft=1' '$T/f.sh' && ! grep -q 'draft-policy' '$T/f.sh'"

# 5. the options
expect_fail 64 "--draft without --speculative" run --draft 2 "$P"
expect_fail 64 "--draft-vocab without --speculative" run --draft-vocab 10 "$P"
expect_fail 64 "ds-forward --draft-vocab without --draft" ds-forward -m "$M" --mtp --draft-vocab 10 </dev/null
expect_fail 64 "ds-bench --draft-vocab without --speculative" ds-bench -m "$M" --draft-vocab 10
expect_fail 64 "--draft-policy without --speculative" run --draft-policy fixed "$P"
expect_fail 64 "--draft-policy takes fixed or adaptive" run --speculative mtp --draft-policy greedy "$P"
expect_fail 64 "ds-forward --draft-policy without --draft" ds-forward -m "$M" --mtp --draft-policy adaptive </dev/null
expect_fail 64 "ds-bench --draft-policy without --speculative" ds-bench -m "$M" --draft-policy adaptive
expect_fail 64 "--speculative with --loglikelihood" run --speculative mtp --loglikelihood /dev/null
expect_fail 64 "--speculative takes only mtp" run --speculative ngram "$P"
expect_fail 64 "--draft 17 is too many" run --speculative mtp --draft 17 "$P"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
ds mkmodel -q -p tiny-v3 --vocab 129280 --mtp 0 --layers 1 -o "$T/nomtp" --seed 7 -t "$TOK"
expect_fail 65 "a model without an MTP module" ds-run -m "$T/nomtp" --speculative mtp "$P"
