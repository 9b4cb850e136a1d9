# ds-sample as a stream stage: where the token goes (seq, pos), what passes
# through, penalties from TOKENS frames and from its own tokens, RESET,
# logprobs as frames and as JSON, determinism, token-by-token flushing,
# and bad input.
. "$DS_TESTS/lib.sh"

logits() { ds cat --from-text LOGITS "$@"; }
ids() { ds cat -f ids "$@"; }
# ctl SEQ AUX: a CONTROL frame (no digest), SEQ and AUX below 256
ctl() {
	printf 'DSPF\001\000\005\005\000\000\001\000'
	printf "\\$(printf %o "$2")\\000\\000\\000"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
	printf "\\$(printf %o "$1")\\000\\000\\000\\000\\000\\000\\000"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
}

printf '1 3 3 2\n' | logits >"$T/tie.ds"
check_eq "greedy takes the lowest id among exact ties" "$(ds sample "$T/tie.ds" | ids)" 1

printf '0 1 0 0\n5 0 0 0\n' | logits --seq 5 --pos 7 | ds sample >"$T/out.ds"
check_eq "the token comes from the last row, at pos + rows of the same seq" \
	"$(ds cat -f header "$T/out.ds")" "frame 0: TOKENS i32 [1] seq 5 pos 9 digest"
check_eq "... and is that row's argmax" "$(ids "$T/out.ds")" 0

# what passes through
{ echo '7 8' | ds cat --from-ids; printf '0 0 1\n' | logits; printf '1 2\n' | ds cat --from-text HIDDEN; ctl 0 1; } >"$T/mixed.ds"
ds sample "$T/mixed.ds" | ds cat -f header >"$T/mixed.txt"
cat >"$T/want.txt" <<'X'
frame 0: TOKENS i32 [1] seq 0 pos 1 digest
frame 1: HIDDEN f32 [1, 2] seq 0 pos 0 final digest
frame 2: CONTROL END seq 0
X
check_files "TOKENS are consumed, LOGITS replaced, HIDDEN and CONTROL passed on in order" "$T/mixed.txt" "$T/want.txt"
ds sample --echo "$T/mixed.ds" | ds cat -f header | head -n 1 >"$T/echo.txt"
check_eq "--echo passes the TOKENS on" "$(cat "$T/echo.txt")" "frame 0: TOKENS i32 [2] seq 0 pos 0 final digest"

# penalties: the prompt's token 0 is penalised (2 / 1.1 < 1.9)
echo 0 | ds cat --from-ids >"$T/prompt.ds"
printf '2 1.9 -3\n' | logits >"$T/l.ds"
check_eq "no history: greedy takes 0" "$(ds sample --repeat-penalty 1.1 "$T/l.ds" | ids)" 0
check_eq "a prompt TOKENS frame is penalised" "$(cat "$T/prompt.ds" "$T/l.ds" | ds sample --repeat-penalty 1.1 | ids)" 1
check_eq "presence penalty too" "$(cat "$T/prompt.ds" "$T/l.ds" | ds sample --presence-penalty 0.2 | ids)" 1
check_eq "--penalty-last-n 0 turns penalties off" "$(cat "$T/prompt.ds" "$T/l.ds" | ds sample --repeat-penalty 1.1 --penalty-last-n 0 | ids)" 0
{ cat "$T/prompt.ds"; ctl 0 2; cat "$T/l.ds"; } >"$T/reset.ds"
check_eq "a RESET forgets the prompt" "$(ds sample --repeat-penalty 1.1 "$T/reset.ds" | ids | tr '\n' ' ')" "0 "
{ cat "$T/prompt.ds"; ctl 1 1; cat "$T/l.ds"; } >"$T/other.ds"
check_eq "an END of another sequence does not" "$(ds sample --repeat-penalty 1.1 "$T/other.ds" | ids | tr '\n' ' ')" "1 "
# its own tokens count: ring-style frames at pos 0 then 1
{ printf '1 0.8 0.1 -1\n' | logits; printf '1 0.8 0.1 -1\n' | logits --seq 0 --pos 1; } >"$T/ring.ds"
check_eq "the sampler's own tokens are penalised (0, then 1)" "$(ds sample --repeat-penalty 2 "$T/ring.ds" | ids | tr '\n' ' ')" "0 1 "

# logprobs: log_softmax(1 2 3 3) = x - 3 - ln(2 + e^-1 + e^-2): -2.918 -1.918 -0.918 -0.918
ds sample --logprobs 2 "$T/tie.ds" >"$T/lp.ds"
ds cat "$T/lp.ds" >"$T/lp.txt"
check_eq "a LOGPROBS frame idval [1, 3] follows the TOKENS frame" "$(sed -n 3p "$T/lp.txt")" \
	"frame 1: LOGPROBS idval [1, 3] seq 0 pos 1 digest"
check_eq "chosen token, then the top 2, lowest id first on ties" "$(sed -n 4p "$T/lp.txt")" \
	"1:-0.917575777 1:-0.917575777 2:-0.917575777"
ds sample -t 1 --seed 3 --logprobs 1 --logprobs-file "$T/lp.jsonl" "$T/tie.ds" >"$T/lpf.ds"
check_eq "--logprobs-file: no LOGPROBS frame" "$(ds cat -f header "$T/lpf.ds" | wc -l | tr -d ' ')" 1
check "--logprobs-file: one JSON line naming the token and its top" \
	grep -q '^{"seq":0,"pos":1,"token":[0-9]*,"logprob":-[0-9.]*,"top":\[{"id":1,"logprob":-0.9175757' "$T/lp.jsonl"

# determinism: same seed, same tokens; another seed, other tokens
awk 'BEGIN { for (i = 0; i < 300; i++) printf "0.1 0.3 -0.2 0.5 0 0.25 -0.1 0.4\n\n" }' | logits >"$T/many.ds"
ds sample -t 1 --seed 7 "$T/many.ds" | ids >"$T/a.ids"
ds sample -t 1 --seed 7 --no-digest "$T/many.ds" | ids >"$T/b.ids"
ds sample -t 1 --seed 8 "$T/many.ds" | ids >"$T/c.ids"
check_files "the same --seed gives the same 300 tokens" "$T/a.ids" "$T/b.ids"
ndiff=$(paste "$T/a.ids" "$T/c.ids" | awk '$1 != $2' | wc -l | tr -d ' ')
echo "# measured seeds 7 vs 8: $ndiff of 300 tokens differ"
check "another --seed gives other tokens" test "$ndiff" -gt 100
check_eq "the default seed is 0" "$(ds sample -t 1 "$T/many.ds" | ids | md5sum)" "$(ds sample -t 1 --seed 0 "$T/many.ds" | ids | md5sum)"

# token by token: each TOKENS frame is out before the next LOGITS frame is in
mkfifo "$T/fifo"
ds sample <"$T/fifo" >"$T/ring-out.ds" &
pid=$!
exec 3>"$T/fifo"
printf '0 1\n' | logits >&3
waited=0
while [ "$(wc -c <"$T/ring-out.ds")" -lt 100 ] && [ $waited -lt 100 ]; do
	sleep 0.05
	waited=$((waited + 1))
done
check_eq "the first TOKENS frame is written while the input is still open" "$(wc -c <"$T/ring-out.ds" | tr -d ' ')" 100
printf '1 0\n' | logits >&3
exec 3>&-
wait $pid
check_eq "then the second" "$(ids "$T/ring-out.ds" | tr '\n' ' ')" "1 0 "

# bad input and usage
printf '0 nan 1\n' | logits >"$T/nan.ds"
expect_fail 65 "a NaN logit is bad data" ds sample "$T/nan.ds"
printf '0 inf 1\n' | logits >"$T/inf.ds"
expect_fail 65 "a +inf logit is bad data" ds sample "$T/inf.ds"
printf -- '-inf -inf\n' | logits >"$T/ninf.ds"
expect_fail 65 "all logits -inf is bad data" ds sample -t 1 "$T/ninf.ds"
echo garbage >"$T/garbage"
expect_fail 65 "garbage input is refused" ds sample "$T/garbage"
head -c 80 "$T/many.ds" >"$T/trunc.ds"
expect_fail 65 "a truncated frame is refused" ds sample "$T/trunc.ds"
expect_fail 66 "a missing input file" ds sample "$T/no-such-file"
expect_fail 64 "top-p above 1 is a usage error" ds sample -p 1.5 "$T/l.ds"
expect_fail 64 "a negative temperature is a usage error" ds sample -t -1 "$T/l.ds"
expect_fail 64 "a negative seed is a usage error" ds sample --seed -1 "$T/l.ds"
expect_fail 64 "a seed beyond 2^64-1 is a usage error" ds sample --seed 18446744073709551616 "$T/l.ds"
expect_fail 73 "an uncreatable --logprobs-file" ds sample --logprobs-file "$T/no/dir/x.jsonl" "$T/l.ds"

# LOGITS of an MTP module (aux 1) are not the next token: passed through
printf '0 1\n' | logits --no-digest >"$T/mtp.ds"
printf '\001' | dd of="$T/mtp.ds" bs=1 seek=12 conv=notrunc 2>/dev/null
check_eq "the crafted frame is LOGITS aux 1" "$(ds cat -f header "$T/mtp.ds")" "frame 0: LOGITS f32 [1, 2] seq 0 pos 0 aux 1 final"
ds sample --no-digest "$T/mtp.ds" >"$T/mtp-out.ds"
check_files "MTP LOGITS (aux > 0) pass through unchanged" "$T/mtp.ds" "$T/mtp-out.ds"
