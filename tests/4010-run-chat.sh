# ds-run -i: a reply cut inside a UTF-8 character or a user line that is
# not UTF-8 does not end the session; the history is the tokens the model
# saw; a stop string rolls the sequence back so that the next turn is what
# the tools give on exactly those tokens; a full context is said and the
# session goes on.
. "$DS_TESTS/lib.sh"
M="$T/model"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
ds mkmodel -q -p tiny-v3 --vocab 129280 --mtp 0 --layers 1 -o "$M" --seed 7 -t "$TOK"
run() { timeout 120 ds-run "$@"; }
prompt_counts() { sed -n 's/.*prompt \([0-9]*\) tokens.*/\1/p' "$1" | tr '\n' ' '; }
is_utf8() { iconv -f UTF-8 -t UTF-8 "$1" >/dev/null 2>&1; }
ntok() { wc -w | tr -d ' '; }
n_turn2=$(printf '<｜User｜>second<｜Assistant｜>' | ds tokenize -m "$M" --no-bos -f text | ntok)

# 1. a reply that -n cuts inside a character; the next turn goes on and
#    sends only its own tokens (the reply is never encoded again)
rc=0
printf 'Hello there\nsecond\n' | run -m "$M" -i -n 13 >"$T/cut.out" 2>"$T/cut.err" || rc=$?
check_eq "a session goes on after a reply cut by -n (exit status)" "$rc" 0
check_eq "two replies" "$(grep -c 'stop: length' "$T/cut.err")" 2
sed -n 1p "$T/cut.out" >"$T/cut.1"
if command -v iconv >/dev/null 2>&1 && ! is_utf8 "$T/cut.1"; then
	echo "ok - the first reply ends inside a UTF-8 character (as the case needs)"
else
	skip "the first reply ends inside a UTF-8 character" "this model's reply at -n 13 does not (or no iconv)"
fi
check_eq "turn 2 sends the unfed id, EOS and the new turn only" "$(prompt_counts "$T/cut.err")" "5 $((n_turn2 + 2)) "

# 2. a user line that is not UTF-8 is reported, and the session goes on
rc=0
printf 'Hello there\n\377\376 bad\nsecond\n' | run -m "$M" -i -n 4 >"$T/bad.out" 2>"$T/bad.err" || rc=$?
check_eq "a line that is not UTF-8 does not end the session" "$rc" 0
check "it is reported with its line number" grep -q 'ds-run: warning: line 2 is not valid UTF-8' "$T/bad.err"
check_eq "the other two lines are answered" "$(grep -c 'stop: length' "$T/bad.err")" 2

# 3. a stop string that cuts a character in two: the text shown ends inside
#    it, the session goes on from the tokens kept
od -An -tu1 -v "$T/cut.1" | tr -s ' ' '\n' | awk 'NF && lead { print; exit } NF && $1 >= 192 { lead = 1 }' >"$T/byte"
stop=$(printf "\\$(printf %o "$(cat "$T/byte")")")
rc=0
printf 'Hello there\nsecond\n' | run -m "$M" -i -n 13 --stop "$stop" >"$T/scut.out" 2>"$T/scut.err" || rc=$?
check_eq "a session goes on after a stop inside a character" "$rc" 0
check "the first reply stops at the stop string" grep -q 'stop: stop$' "$T/scut.err"
check_eq "turn 2 sends EOS and the new turn (nothing unfed after a stop)" "$(prompt_counts "$T/scut.err" | cut -d' ' -f2)" $((n_turn2 + 1))

# 4. a stop string over tokens 3 and 4 of the greedy reply: two tokens are
#    kept, the ring is rolled back to them, and turn 2 equals the tools run
#    step by step (no cache) on turn 1's prompt, those two ids, EOS, turn 2
run -q -m "$M" --chat -n 2 "Hello there" >"$T/t2"
run -q -m "$M" --chat -n 4 "Hello there" >"$T/t4"
tail -c +$(($(wc -c <"$T/t2") + 1)) "$T/t4" >"$T/s34"
s34=$(cat "$T/s34")
if [ -z "$s34" ] || grep -qF -- "$s34" "$T/t2" || [ "$(wc -l <"$T/s34")" -gt 0 ]; then
	skip "a stop rolls back to the kept tokens" "tokens 3-4 of this model's reply make no usable stop string"
else
	printf '{"prompt":"Hello there"}\n' >"$T/hello.jsonl"
	run -q -m "$M" --chat -n 2 --batch "$T/hello.jsonl" | sed 's/.*"token_ids":\[\([0-9,]*\)\].*/\1/' | tr ',' ' ' >"$T/kept"
	eos=$(sed -n 's/.*"eos_token_id":[^0-9]*\([0-9]*\).*/\1/p' "$M/config.json")
	for i in 1 2 3; do
		printf 'Hello there\nsecond\n' | run -m "$M" -i -n 4 --stop "$s34" >"$T/roll.$i" 2>"$T/roll.err"
	done
	check "turn 1 keeps 2 tokens" grep -q 'generated 2 tokens.*stop: stop$' "$T/roll.err"
	check "three runs of the session agree" sh -c "cmp '$T/roll.1' '$T/roll.2' && cmp '$T/roll.1' '$T/roll.3'"
	printf '[{"role":"user","content":"Hello there"}]' | ds tokenize -m "$M" --chat --generation-prompt -f text >"$T/p1"
	printf '<｜User｜>second<｜Assistant｜>' | ds tokenize -m "$M" --no-bos -f text >"$T/p2"
	printf '%s %s %s %s\n' "$(cat "$T/p1")" "$(cat "$T/kept")" "$eos" "$(cat "$T/p2")" >"$T/ids"
	n0=$(ntok <"$T/ids")
	for i in 1 2 3 4; do
		next=$(ds cat -i <"$T/ids" | ds embed -m "$M" | ds forward -m "$M" --head | ds sample | ds cat -f ids)
		printf '%s %s\n' "$(cat "$T/ids")" "$next" >"$T/ids.new" && mv "$T/ids.new" "$T/ids"
	done
	{ cat "$T/t2"; echo; cut -d' ' -f$((n0 + 1))- <"$T/ids" | ds tokenize -m "$M" -d -f text; echo; } >"$T/want"
	check_files "turn 2 after a stop = the tools on the kept tokens" "$T/roll.1" "$T/want"
fi

# 5. the context fills: the reply is shown up to there and the chat says so;
#    a message that cannot fit any more is not sent, and the session ends well
run -q -m "$M" --chat -n 5 "Hello there" >"$T/five"
rc=0
printf 'Hello there\nsecond\n' | run -m "$M" -i -n 50 --ignore-eos --ctx-size 9 >"$T/full.out" 2>"$T/full.err" || rc=$?
check_eq "a full context does not end the session badly" "$rc" 0
check "the reply stops at the context" grep -q 'generated 5 tokens.*stop: context$' "$T/full.err"
check "the chat says the context is full" grep -q 'ds-run: warning: the context is full' "$T/full.err"
check "the next message is not sent" grep -q 'needs .* more; it was not sent' "$T/full.err"
head -c "$(wc -c <"$T/five")" "$T/full.out" >"$T/full.1"
check_files "the reply is the text up to the context" "$T/full.1" "$T/five"
