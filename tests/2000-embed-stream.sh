# ds-embed as a stream stage: shape and header of its HIDDEN frames, the
# embedding rows themselves, --pass-tokens, what passes through, bad input.
. "$DS_TESTS/lib.sh"

FX="$FIXTURES/models/v3-fp8"
HELP="$DS_BUILD/tests/test-forward-fixtures"
[ -f "$FX/config.json" ] || { skip "ds-embed on the v3-fp8 fixture" "fixture missing"; exit 0; }
# ctl SEQ AUX: a CONTROL frame (no digest), SEQ and AUX below 256
ctl() {
	printf 'DSPF\001\000\005\005\000\000\001\000'
	printf "\\$(printf %o "$2")\\000\\000\\000"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
	printf "\\$(printf %o "$1")\\000\\000\\000\\000\\000\\000\\000"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
}

echo '5 0 255' | ds cat --from-ids --seq 3 --pos 7 >"$T/tok.ds"
ds embed -m "$FX" "$T/tok.ds" >"$T/h.ds"
check_eq "one HIDDEN f32 [T, D] per TOKENS frame, seq/pos/flags kept, aux 0" \
	"$(ds cat -f header "$T/h.ds")" "frame 0: HIDDEN f32 [3, 288] seq 3 pos 7 final digest"

# row 2 of the frame is row 255 of model.embed_tokens (bf16 in the fixture):
# embedding the same id alone gives the same row
echo 255 | ds cat --from-ids | ds embed -m "$FX" | ds cat --max-cols 0 | tail -n 1 >"$T/one.txt"
ds cat "$T/h.ds" | tail -n 1 >"$T/last.txt"
check_files "a row does not depend on its neighbours" "$T/one.txt" "$T/last.txt"
check "rows are not all zero" sh -c "grep -q '[1-9]' '$T/last.txt'"

ds embed -m "$FX" --pass-tokens "$T/tok.ds" | ds cat -f header >"$T/pass.txt"
cat >"$T/want.txt" <<'X'
frame 0: TOKENS i32 [3] seq 3 pos 7 final digest
frame 1: HIDDEN f32 [3, 288] seq 3 pos 7 final digest
X
check_files "--pass-tokens writes the TOKENS frame first" "$T/pass.txt" "$T/want.txt"

{ printf '1 2\n' | ds cat --from-text LOGITS; ctl 4 1; cat "$T/tok.ds"; printf '3 4\n' | ds cat --from-text HIDDEN; } >"$T/mixed.ds"
ds embed -m "$FX" "$T/mixed.ds" | ds cat -f header >"$T/mixed.txt"
cat >"$T/want.txt" <<'X'
frame 0: LOGITS f32 [1, 2] seq 0 pos 0 final digest
frame 1: CONTROL END seq 4
frame 2: HIDDEN f32 [3, 288] seq 3 pos 7 final digest
frame 3: HIDDEN f32 [1, 2] seq 0 pos 0 final digest
X
check_files "other kinds pass through unchanged and in order" "$T/mixed.txt" "$T/want.txt"

echo '0 256' | ds cat --from-ids >"$T/big.ds"
expect_fail 65 "an id >= vocab_size is refused (65)" ds embed -m "$FX" "$T/big.ds"
expect_fail 66 "a missing model directory is 66" ds embed -m "$T/nowhere" "$T/tok.ds"
expect_fail 64 "no -m is a usage error" ds embed "$T/tok.ds"
mkdir "$T/badcfg"
sed 's/"hidden_size": 288/"hidden_size": -288/' "$FX/config.json" >"$T/badcfg/config.json"
expect_fail 78 "an impossible config.json is 78" ds embed -m "$T/badcfg" "$T/tok.ds"
head -c 70 "$T/tok.ds" >"$T/trunc.ds"
expect_fail 65 "a truncated frame is 65" ds embed -m "$FX" "$T/trunc.ds"
