# ds-run: the generation ring against the tools run by hand, stops, batch,
# interactive turns, loglikelihood requests, and failure handling (more in
# 4010 chat, 4020 limits and options, 4030 output and the shell pipeline).
. "$DS_TESTS/lib.sh"
M="$T/model"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
ds mkmodel -q -c "$DS_TESTS/../data/random-v3/config.json" -o "$M" --seed 7 -t "$TOK"
run() { timeout 120 ds-run "$@"; }

# 1. the ring's greedy text equals decoding what the stages give when driven
#    one step at a time with the whole sequence each time (no KV cache reuse)
run -q -m "$M" -n 8 "The quick brown fox" >"$T/ring.txt"
printf '%s' "The quick brown fox" | ds tokenize -m "$M" -f text >"$T/ids"
for i in 1 2 3 4 5 6 7 8; do
	next=$(ds cat -i <"$T/ids" | ds embed -m "$M" | ds forward -m "$M" --head | ds sample | ds cat -f ids)
	printf '%s %s\n' "$(cat "$T/ids")" "$next" >"$T/ids.new" && mv "$T/ids.new" "$T/ids"
done
n0=$(printf '%s' "The quick brown fox" | ds tokenize -m "$M" -f text | wc -w)
cut -d' ' -f$((n0 + 1))- <"$T/ids" | ds tokenize -m "$M" -d -f text >"$T/steps.txt"
check_files "ring text = step-by-step pipeline without cache" "$T/ring.txt" "$T/steps.txt"

printf 'The quick brown fox' | run -q -m "$M" -n 8 >"$T/stdin.txt"
check_files "the prompt may come on stdin" "$T/stdin.txt" "$T/ring.txt"
run -m "$M" -n 2 --chat --system "Be brief." "Hi there" 2>"$T/chat1.err" >/dev/null
nchat=$(printf '[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there"}]' |
	ds tokenize -m "$M" --chat --generation-prompt -f text | wc -w)
check "--chat sends the rendered conversation ($nchat tokens)" grep -q "prompt $nchat tokens" "$T/chat1.err"

# 2. --print-pipeline prints shell commands that produce the same text
run -m "$M" -n 8 --print-pipeline "The quick brown fox" >"$T/pipeline.sh"
timeout 120 sh "$T/pipeline.sh" >"$T/shell.txt" 2>"$T/shell.err"
check_files "--print-pipeline's FIFO ring gives the same text" "$T/shell.txt" "$T/ring.txt"
check_eq "the shell ring winds down without errors" "$(cat "$T/shell.err")" ""

# 3. -n, --stop, EOS
printf '{"prompt":"The quick brown fox"}\n' >"$T/one.jsonl"
check_eq "-n 5 generates 5 tokens" "$(run -q -m "$M" -n 5 --batch "$T/one.jsonl" | sed 's/.*"tokens":\([0-9]*\).*/\1/')" 5
text=$(cat "$T/ring.txt")
stop=$(printf '%s' "$text" | cut -c4-6)
want=$(printf '%s' "$text" | awk -v s="$stop" '{ i = index($0, s); print substr($0, 1, i - 1) }')
run -m "$M" -n 8 --stop "$stop" "The quick brown fox" >"$T/stop.txt" 2>"$T/stop.err"
check_eq "--stop cuts the text before the stop string" "$(cat "$T/stop.txt")" "$want"
check "--stop is reported as the reason" grep -q 'stop: stop$' "$T/stop.err"
run -q -m "$M" -n 8 --stop "$stop" --batch "$T/one.jsonl" >"$T/bstop.out"
check "--batch applies --stop" grep -q '"stop":"stop"' "$T/bstop.out"
first=$(cut -d' ' -f$((n0 + 1)) <"$T/ids")
mkdir "$T/eosmodel"
ln -s "$M"/*.safetensors "$M/tokenizer.json" "$M/tokenizer_config.json" "$T/eosmodel/"
sed "s/\"eos_token_id\":[^,]*,/\"eos_token_id\": $first,/" "$M/config.json" >"$T/eosmodel/config.json"
run -m "$T/eosmodel" -n 8 "The quick brown fox" >"$T/eos.txt" 2>"$T/eos.err"
check_eq "an EOS as the first token: no text" "$(wc -c <"$T/eos.txt" | tr -d ' ')" 0
check "EOS is reported as the reason" grep -q 'generated 1 tokens.*stop: eos$' "$T/eos.err"
run -q -m "$T/eosmodel" -n 8 --ignore-eos "The quick brown fox" >"$T/ign.txt"
check_files "--ignore-eos runs on" "$T/ign.txt" "$T/ring.txt"

# 4. a batch equals its prompts run one at a time (same greedy tokens)
printf '{"prompt":"The quick brown fox"}\n{"prompt":"Hello"}\n{"prompt":"1 2 3 4"}\n' >"$T/b.jsonl"
run -q -m "$M" -n 8 --batch "$T/b.jsonl" >"$T/batch.out"
ok=1
for i in 0 1 2; do
	p=$(sed -n "$((i + 1))p" "$T/b.jsonl" | sed 's/.*"prompt":"\(.*\)"}/\1/')
	single=$(run -q -m "$M" -n 8 "$p")
	got=$(sed -n "$((i + 1))p" "$T/batch.out")
	want=$(printf '%s' "$single" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read(), ensure_ascii=False))' 2>/dev/null || echo SKIP)
	case "$got" in *"\"text\":$want,"*) ;; *) ok=0; echo "# batch line $i: $got / single: $single" ;; esac
done
[ "$ok" = 1 ] && echo "ok - batch results equal single runs" || echo "not ok - batch results equal single runs"

# 5. interactive: the second turn sends only its own tokens
printf 'Hi there\nAnd now?\n' | run -m "$M" -i -n 4 >"$T/chat.out" 2>"$T/chat.err"
p1=$(sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' "$T/chat.err" | sed -n 1p)
p2=$(sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' "$T/chat.err" | sed -n 2p)
printf '[{"role":"user","content":"Hi there"}]' | ds tokenize -m "$M" --chat --generation-prompt -f text | wc -w >"$T/n1"
check_eq "turn 1 sends the whole rendered prompt" "$p1" "$(cat "$T/n1")"
# turn 2: the last reply token (not yet in the cache), EOS, then <User>And now?<Assistant>
n2=$(printf '<｜User｜>And now?<｜Assistant｜>' | ds tokenize -m "$M" --no-bos -f text | wc -w)
check_eq "turn 2 sends only the new turn (cache kept)" "$p2" $((n2 + 2))
check_eq "two replies, one per line" "$(wc -l <"$T/chat.out" | tr -d ' ')" 2

# 6. loglikelihood: the greedy continuation is greedy, and values match
#    ds-score on the same frames
cont=$(cut -d' ' -f$((n0 + 1))-$((n0 + 2)) <"$T/ids" | ds tokenize -m "$M" -d -f text)
printf '{"context":"The quick brown fox","continuation":"%s"}\n{"context":"","continuation":"Hello world"}\n' "$cont" >"$T/ll.jsonl"
run -q -m "$M" --loglikelihood "$T/ll.jsonl" >"$T/ll.out"
check "the model's own continuation is greedy" grep -q '"seq":0,.*"is_greedy":true' "$T/ll.out"
check_eq "one answer per request, in order" "$(cut -c1-8 "$T/ll.out" | tr '\n' ' ')" '{"seq":0 {"seq":1 '

# 7. the reader goes away: every stage ends, quietly
run -m "$M" -n 200 --ignore-eos "The quick brown fox" 2>"$T/head.err" | head -c 10 >/dev/null
sleep 0.3
check_eq "no stage left running after | head" "$(pgrep -f "$M" | wc -l | tr -d ' ')" 0
check_eq "no error after | head" "$(grep -v '^ds-run: load' "$T/head.err")" ""

# 8. failures at start (a stage dying mid-generation: 4030; the context: 4020)
expect_fail 64 "a bad sampling option is refused at start" run -m "$M" -t -1 "x"
expect_fail 64 "prompt and --batch exclude each other" run -m "$M" --batch "$T/b.jsonl" "x"
expect_fail 66 "missing model" run -m "$T/nope" "x"
expect_fail 65 "a bad batch line" sh -c "echo 'not json' >'$T/bad.jsonl'; timeout 60 ds-run -m '$M' --batch '$T/bad.jsonl'"
