# ds-tokenize on the command line: frames and text, BOS rules, bad and empty
# input, lossy repair, streaming encode == whole, streaming decode, round trips.
. "$DS_TESTS/lib.sh"
SHARE="$DS_TESTS/../share/deepseek-v3"
TOK="$SHARE/tokenizer.json"
M="-m $SHARE"

printf 'Hello, world!' >"$T/hello"
check_eq "-f text, BOS from tokenizer_config.json" "$(ds tokenize $M -f text "$T/hello")" "0 19923 14 2058 3"
check_eq "-t reads no config: no BOS" "$(ds tokenize -t "$TOK" -f text <"$T/hello")" "19923 14 2058 3"
check_eq "--no-bos" "$(ds tokenize $M --no-bos -f text <"$T/hello")" "19923 14 2058 3"
check "frames out: one final TOKENS frame seq 0 pos 0" sh -c "ds-tokenize $M <'$T/hello' | ds-cat -f header | grep -q '^frame 0: TOKENS i32 \[5\] seq 0 pos 0 final'"
check_eq "frames -> ds-cat ids" "$(ds tokenize $M <"$T/hello" | ds cat -f ids)" "0 19923 14 2058 3"
check_eq "round trip: frames" "$(ds tokenize $M <"$T/hello" | ds tokenize $M -d)" "<｜begin▁of▁sentence｜>Hello, world!"
check_eq "round trip: --skip-special drops BOS" "$(ds tokenize $M <"$T/hello" | ds tokenize $M -d --skip-special)" "Hello, world!"
check_eq "round trip: -f text" "$(ds tokenize $M --no-bos -f text <"$T/hello" | ds tokenize $M -d -f text)" "Hello, world!"
check_eq "<｜User｜> is not special: --skip-special keeps it" \
	"$(printf '128803 0 1' | ds tokenize $M -d -f text --skip-special)" "<｜User｜>"

# empty input: no ids, only BOS when asked
: >"$T/empty"
check_eq "empty input, -t: an empty line" "$(ds tokenize -t "$TOK" -f text <"$T/empty" | od -An -c | tr -d ' ')" '\n'
check_eq "empty input, -m: BOS only" "$(ds tokenize $M -f text <"$T/empty")" "0"
check "empty input: one empty final frame" sh -c "ds-tokenize -t '$TOK' <'$T/empty' | ds-cat -f header | grep -q 'TOKENS i32 \[0\] seq 0 pos 0 final'"

# invalid UTF-8: exit 65 naming the offset, or --lossy
printf 'ab\303(x' >"$T/bad"
expect_fail 65 "invalid UTF-8 fails with 65" ds tokenize -t "$TOK" -f text "$T/bad"
check "the message names byte offset 2" sh -c "ds-tokenize -t '$TOK' -f text '$T/bad' 2>&1 | grep -q 'offset 2'"
check_eq "--lossy: U+FFFD as errors=replace" "$(ds tokenize -t "$TOK" -f text --lossy <"$T/bad")" \
	"$(printf 'ab\357\277\275(x' | ds tokenize -t "$TOK" -f text)"
printf 'ab\342\202' >"$T/trunc"
expect_fail 65 "a character cut at the end fails" ds tokenize -t "$TOK" -f text "$T/trunc"

# long input streams chunk by chunk: ids equal whatever the chunk size
sed 's/^{"text": "\(.*\)", "ids".*/\1/' "$DS_TESTS/reference/tokenizer/edge-cases.jsonl" >"$T/edge.txt"
for i in 1 2 3 4 5 6 7 8; do cat "$T/edge.txt"; done >"$T/big.txt"
ds tokenize -t "$TOK" -f text <"$T/big.txt" >"$T/big.1m"
ds tokenize -t "$TOK" -f text --chunk 64 <"$T/big.txt" >"$T/big.64"
ds tokenize -t "$TOK" -f text --chunk 5000 <"$T/big.txt" >"$T/big.5k"
check_files "chunk 64 == chunk 1 MiB ($(wc -c <"$T/big.txt") bytes)" "$T/big.64" "$T/big.1m"
check_files "chunk 5000 == chunk 1 MiB" "$T/big.5k" "$T/big.1m"
ds tokenize -t "$TOK" --chunk 4096 <"$T/big.txt" >"$T/big.frames"
check "chunked frames continue pos and end with one final frame" sh -c \
	"ds-cat -f header '$T/big.frames' | awk '{p=\$9; if (NR>1 && p!=want) exit 1; n=\$5; gsub(/[^0-9]/,\"\",n); want=p+n; last=\$0} END {exit !(last ~ /final/)}'"
ds cat -f ids "$T/big.frames" | tr '\n' ' ' | sed 's/ $//' >"$T/big.fids"
tr -d '\n' <"$T/big.1m" >"$T/big.tids"
check_files "chunked frames hold the same ids" "$T/big.fids" "$T/big.tids"
ds tokenize -t "$TOK" <"$T/big.txt" | ds tokenize -t "$TOK" -d >"$T/big.back"
check_files "decode(encode(x)) == x on $(wc -c <"$T/big.txt") bytes" "$T/big.back" "$T/big.txt"

# streaming decode: a character split over byte tokens comes out whole
# (中 = E4 B8 AD; the byte tokens 163 119 258 hold those bytes, 3 is '!')
check_eq "byte tokens of 中 decode to 中" "$(printf '163\n119\n258\n' | ds tokenize -t "$TOK" -d -f text)" "中"
mkfifo "$T/fifo"
( printf '163\n119\n'; sleep 1; printf '258\n' ) >"$T/fifo" &
ds tokenize -t "$TOK" -d -f text <"$T/fifo" >"$T/partial" &
sleep 0.5
check_eq "nothing is written while the character is incomplete" "$(wc -c <"$T/partial" | tr -d ' ')" "0"
wait
check_eq "it is written once complete" "$(cat "$T/partial")" "中"
check_eq "bytes that never complete are written as they are" "$(printf '163 3\n' | ds tokenize -t "$TOK" -d -f text | od -An -tx1 | tr -d ' ')" "e421"
check "ids the tokenizer lacks are skipped with a warning" sh -c "printf '19923 129000\n' | ds-tokenize -t '$TOK' -d -f text 2>&1 >/dev/null | grep -q 'not define'"

# usage and configuration errors
expect_fail 64 "-d with --jsonl is a usage error" ds tokenize -t "$TOK" -d --jsonl
expect_fail 64 "--render without --chat" ds tokenize -t "$TOK" --render
expect_fail 66 "a missing tokenizer.json" ds tokenize -t "$T/nope.json" -f text </dev/null
mkdir -p "$T/cfgdir/tokenizer_config.json"
ln -s "$TOK" "$T/cfgdir/tokenizer.json"
expect_fail 66 "a tokenizer_config.json that is a directory is refused, not a crash" ds tokenize -m "$T/cfgdir" -f text </dev/null
printf '{"model":{"type":"Unigram","vocab":[]}}' >"$T/uni.json"
expect_fail 78 "an unsupported tokenizer.json (Unigram)" ds tokenize -t "$T/uni.json" -f text </dev/null

# a full disk is a write error (74), for short output and for output that
# fills stdio's buffer many times over
if [ -w /dev/full ]; then
	expect_fail 74 "text ids to a full disk" sh -c "echo hi | ds-tokenize -m '$DS_TESTS/../share/deepseek-v3' -f text >/dev/full"
	expect_fail 74 "many text ids to a full disk" sh -c "head -c 300000 /dev/zero | tr '\\\\0' a | fold -w 7 | ds-tokenize -m '$DS_TESTS/../share/deepseek-v3' -f text >/dev/full"
else
	skip "text ids to a full disk" "no /dev/full"
fi
