# ds-run's limits and options: the context (--ctx-size, max_position_embeddings)
# stops one sequence with its text, in single and batch mode, and the others
# finish; ds-forward --ctx-size; stops act while generating in batches; the
# batch JSON is valid UTF-8 and carries the ids; options that made no sense
# are refused before a model loads.
. "$DS_TESTS/lib.sh"
M="$T/model"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
ds mkmodel -q -p tiny-v3 --vocab 129280 --mtp 0 --layers 1 -o "$M" --seed 7 -t "$TOK"
run() { timeout 120 ds-run "$@"; }
field() { sed "s/.*\"$1\":\([^,}]*\).*/\1/"; }
ids() { sed 's/.*"token_ids":\[\([0-9,]*\)\].*/\1/' | tr ',' ' '; }
P="The quick brown fox"
np=$(printf '%s' "$P" | ds tokenize -m "$M" -f text | wc -w | tr -d ' ')

# 1. one prompt at the context: its text up to there, stop "context", exit 0
run -q -m "$M" -n 4 "$P" >"$T/four"
rc=0
run -m "$M" -n 50 --ignore-eos --ctx-size $((np + 3)) "$P" >"$T/ctx.out" 2>"$T/ctx.err" || rc=$?
check_eq "at --ctx-size the run ends well" "$rc" 0
check "it stops with reason context after ctx - prompt + 1 tokens" grep -q 'generated 4 tokens.*stop: context$' "$T/ctx.err"
check_files "the text up to the context is written" "$T/ctx.out" "$T/four"
mkdir "$T/short"
ln -s "$M"/*.safetensors "$M/tokenizer.json" "$M/tokenizer_config.json" "$T/short/"
sed "s/\"max_position_embeddings\":[^,]*,/\"max_position_embeddings\": $((np + 3)),/" "$M/config.json" >"$T/short/config.json"
rc=0
run -m "$T/short" -n 50 --ignore-eos "$P" >"$T/short.out" 2>"$T/short.err" || rc=$?
check_eq "at max_position_embeddings the same (exit status)" "$rc" 0
check_files "at max_position_embeddings the text up to there is written" "$T/short.out" "$T/four"
expect_fail 65 "a prompt longer than the context is refused" run -m "$M" --ctx-size $((np - 1)) "$P"
expect_fail 64 "--ctx-size beyond max_position_embeddings is refused" run -m "$T/short" --ctx-size $((np + 4)) "$P"

# 2. a batch where one sequence reaches the context and one does not fit:
#    they stop with "context", the others finish with all their tokens
run -q -m "$M" -n 3 "$P" >"$T/three"
run -q -m "$M" -n 5 "Hello" >"$T/hello5"
printf '{"prompt":"Hello"}\n{"prompt":"%s"}\n{"prompt":"%s %s"}\n{"prompt":"Hello"}\n' "$P" "$P" "$P" >"$T/b.jsonl"
rc=0
run -q -m "$M" -n 5 --ignore-eos --ctx-size $((np + 2)) --batch "$T/b.jsonl" >"$T/b.out" || rc=$?
check_eq "a batch with sequences at the context ends well" "$rc" 0
check_eq "their stop reasons" "$(field stop <"$T/b.out" | tr '\n' ' ')" '"length" "context" "context" "length" '
check_eq "their token counts" "$(field tokens <"$T/b.out" | tr '\n' ' ')" '5 3 0 5 '
want=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1], encoding="utf-8").read(), ensure_ascii=False))' "$T/three" 2>/dev/null || echo SKIP)
case "$(sed -n 2p "$T/b.out")" in *"\"text\":$want,"*) echo "ok - the sequence at the context has its text" ;;
	*) [ "$want" = SKIP ] && skip "the sequence at the context has its text" "no python3" || echo "not ok - the sequence at the context has its text" ;; esac
want=$(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1], encoding="utf-8").read(), ensure_ascii=False))' "$T/hello5" 2>/dev/null || echo SKIP)
case "$(sed -n 4p "$T/b.out")" in *"\"text\":$want,"*) echo "ok - the others finish as alone" ;;
	*) [ "$want" = SKIP ] && skip "the others finish as alone" "no python3" || echo "not ok - the others finish as alone" ;; esac

# 3. ds-run passes --ctx-size to ds-forward (whose cap 2030 tests)
run -m "$M" --ctx-size 64 --print-pipeline "$P" >"$T/ctxpp"
check "ds-forward gets --ctx-size" grep -q 'ds-forward .*--ctx-size=64' "$T/ctxpp"

# 4. stops act while a batch generates: the tokens after a stop are not
#    generated, and the counts and ids are of what was kept
printf '{"prompt":"%s"}\n' "$P" >"$T/one.jsonl"
run -q -m "$M" -n 2 "$P" >"$T/two"
tail -c +$(($(wc -c <"$T/two") + 1)) "$T/four" >"$T/s34"
run -q -m "$M" -n 2 --batch "$T/one.jsonl" | ids >"$T/ids2"
run -q -m "$M" -n 30 --ignore-eos --stop "$(cat "$T/s34")" --batch "$T/one.jsonl" >"$T/bstop.out"
check_eq "a stop in a batch: the tokens kept" "$(field tokens <"$T/bstop.out")" 2
check_eq "a stop in a batch: the ids kept" "$(ids <"$T/bstop.out")" "$(cat "$T/ids2")"
check "a stop in a batch: the reason" grep -q '"stop":"stop"' "$T/bstop.out"
run -m "$M" -n 30 --ignore-eos --stop "$(cat "$T/s34")" "$P" >"$T/sstop.out" 2>"$T/sstop.err"
check "one prompt: the statistics count what was kept" grep -q 'generated 2 tokens.*stop: stop$' "$T/sstop.err"
check_files "one prompt: the text before the stop" "$T/sstop.out" "$T/two"
#    a stop at the first token: the ring samples that token and no other
#    (a ds-sample next to a copy of ds-run keeps what it writes)
mkdir "$T/bin"
cp "$DS_BIN/ds-run" "$T/bin/"
for t in tokenize embed forward; do ln -s "$DS_BIN/ds-$t" "$T/bin/"; done
printf '#!/bin/sh\n"%s" "$@" | tee -a "%s"\n' "$DS_BIN/ds-sample" "$T/sampled" >"$T/bin/ds-sample"
chmod +x "$T/bin/ds-sample"
run -q -m "$M" -n 1 "$P" >"$T/first1"
stop1=$(cat "$T/first1")
sampled() { ds cat -f header "$T/sampled" | grep -c ' TOKENS '; }
if [ -z "$stop1" ]; then
	skip "a stop at the first token samples no more" "the first token's text is only newlines"
else
	for mode in single batch; do
		: >"$T/sampled"
		if [ $mode = single ]; then set -- "$P"; else set -- --batch "$T/one.jsonl"; fi
		timeout 120 "$T/bin/ds-run" -q -m "$M" -n 30 --ignore-eos --stop "$stop1" "$@" >"$T/first.$mode"
		check_eq "$mode: a stop at the first token: one token sampled, none after it" "$(sampled)" 1
	done
	check_eq "a stop at the first token: nothing shown" "$(wc -c <"$T/first.single" | tr -d ' ')" 0
	check_eq "a stop at the first token: no token kept in a batch" "$(field tokens <"$T/first.batch")" 0
fi

# 5. the batch JSON is valid UTF-8 when a text ends inside a character, and
#    its token_ids give the exact bytes
od -An -tu1 -v "$T/four" | tr -s ' ' '\n' | awk 'NF && lead { print; exit } NF && $1 >= 192 { lead = 1 }' >"$T/byte"
stop=$(printf "\\$(printf %o "$(cat "$T/byte")")")
run -q -m "$M" -n 8 --stop "$stop" "$P" >"$T/cut"
run -q -m "$M" -n 8 --stop "$stop" --batch "$T/one.jsonl" >"$T/cut.json"
if command -v iconv >/dev/null 2>&1; then
	check "the text shown ends inside a character (as the case needs)" sh -c "! iconv -f UTF-8 -t UTF-8 '$T/cut' >/dev/null 2>&1"
	check "the JSON line is valid UTF-8" sh -c "iconv -f UTF-8 -t UTF-8 '$T/cut.json' >/dev/null"
else
	skip "the JSON line is valid UTF-8" "no iconv"
fi
check "the unfinished character is written as U+FFFD" grep -q "$(printf '\357\277\275')\"" "$T/cut.json"
ids <"$T/cut.json" | ds tokenize -m "$M" -d -f text >"$T/cut.ids"
check_eq "token_ids are the tokens kept" "$(ids <"$T/cut.json" | wc -w | tr -d ' ')" "$(field tokens <"$T/cut.json")"
head -c "$(wc -c <"$T/cut.ids")" "$T/cut" >"$T/cut.head"
check_files "the text shown starts with the kept tokens' text" "$T/cut.head" "$T/cut.ids"

# 6. options that meant nothing, or something else, are refused before any model loads
expect_fail 64 "-n 0 is refused" run -m "$M" -n 0 "$P"
expect_fail 64 "--system without --chat is refused" run -m "$M" --system "Be brief." "$P"
expect_fail 64 "--template without --chat is refused" run -m "$M" --template r1 "$P"
expect_fail 65 "an empty prompt is refused" run -m "$M" ""
expect_fail 65 "an empty prompt on stdin is refused" sh -c "timeout 60 ds-run -m '$M' </dev/null"
printf '{"prompt":""}\n' >"$T/empty.jsonl"
expect_fail 65 "an empty prompt in a batch is refused" run -m "$M" --batch "$T/empty.jsonl"
expect_fail 64 "a bad temperature is ds-run's usage error, before the model" run -m "$T/nope" -t -1 "x"
check "ds-run says it, not ds-sample" sh -c "grep -q '^ds-run: ' '$T/.xf.err' && ! grep -q 'ds-sample' '$T/.xf.err'"
expect_fail 64 "a bad top-p is ds-run's usage error" run -m "$T/nope" --top-p 2 "x"
expect_fail 64 "a bad seed is ds-run's usage error" run -m "$T/nope" --seed -3 "x"
run -m "$M" -t 0.7 -k 40 -s 3 --print-pipeline "$P" >"$T/pp"
check "sampling options reach ds-sample as given" grep -q 'ds-sample --temperature=0.7 --top-k=40 --seed=3 ' "$T/pp"
run -q -m "$M" -n 1 -t 0.9 -s 5 "$P" >"$T/t09"
printf '%s' "$P" | ds tokenize -m "$M" | ds embed -m "$M" | ds forward -m "$M" --head | ds sample -t 0.9 -s 5 |
	ds tokenize -m "$M" -d >"$T/first"
check_files "a sampled token is ds-sample's for the same options" "$T/t09" "$T/first"
printf '{"context":"%s %s","continuation":" jumps"}\n' "$P" "$P" >"$T/ll.jsonl"
expect_fail 65 "a loglikelihood request beyond the context is refused" run -m "$M" --ctx-size 6 --loglikelihood "$T/ll.jsonl"

# 7. a batch larger than the ring's pipes hold: at most DS_GEN_MAX_RUNNING
#    sequences are in the ring at a time, so the sampled tokens waiting for
#    ds-run never fill a pipe while it is still writing prompts (a small
#    vocabulary makes each step cheap; "a" and BOS are ids below 512)
ds mkmodel -q -p tiny-v3 --mtp 0 --layers 1 -o "$T/small" --seed 7 -t "$TOK"
i=0
while [ $i -lt 1500 ]; do echo '{"prompt":"a"}'; i=$((i + 1)); done >"$T/many.jsonl"
rc=0
timeout 120 ds-run -q -m "$T/small" -n 1 --batch "$T/many.jsonl" >"$T/many.out" || rc=$?
check_eq "1500 prompts in one batch do not deadlock" "$rc:$(wc -l <"$T/many.out" | tr -d ' ')" 0:1500
