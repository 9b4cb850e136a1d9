# The MTP module: ds-embed --pass-tokens | ds-forward --head --emit-hidden |
# ds-forward --mtp against the fixture's mtp.logits (rows 0..T-2), the main
# LOGITS passing through untouched; the same when the tokens arrive one
# frame at a time; --mtp on a model without an MTP module is refused.
. "$DS_TESTS/lib.sh"

FX="$FIXTURES/models/v3-fp8"
HELP="$DS_BUILD/tests/test-forward-fixtures"
[ -f "$FX/expected.safetensors" ] || { skip "MTP on the v3-fp8 fixture" "fixture missing"; exit 0; }
"$HELP" ids "$FX" | ds cat --from-ids >"$T/tok"
ds embed -m "$FX" --pass-tokens "$T/tok" >"$T/h0"
ds forward -m "$FX" --head --all-positions --emit-hidden "$T/h0" >"$T/main"
check_eq "--emit-hidden writes TOKENS (passed), HIDDEN aux L, then LOGITS" "$(ds cat -f header "$T/main")" \
"frame 0: TOKENS i32 [40] seq 0 pos 0 final digest
frame 1: HIDDEN f32 [40, 288] seq 0 pos 0 aux 3 final digest
frame 2: LOGITS f32 [40, 256] seq 0 pos 0 final digest"
ds forward -m "$FX" --mtp --all-positions "$T/main" >"$T/mtp"
check_eq "--mtp consumes TOKENS and HIDDEN, writes LOGITS aux 1 for rows 0..T-2, passes the main LOGITS" \
	"$(ds cat -f header "$T/mtp")" \
"frame 0: LOGITS f32 [39, 256] seq 0 pos 0 aux 1 final digest
frame 1: LOGITS f32 [40, 256] seq 0 pos 0 final digest"
"$HELP" logits "$FX" "$T/mtp"

# tokens one frame at a time, the hidden states in one frame: every new
# token makes one more row ready (default: only its last row is written)
"$HELP" ids "$FX" >"$T/ids"
ds forward -m "$FX" --mtp "$T/main" >"$T/mtp.last"
check_eq "without --all-positions only the last ready row" "$(ds cat -f header "$T/mtp.last" | head -n 1)" \
	"frame 0: LOGITS f32 [1, 256] seq 0 pos 38 aux 1 final digest"
token_steps "$T/ids" 0 >"$T/tok1"
ds embed -m "$FX" "$T/tok" >"$T/h.only"
ds forward -m "$FX" "$T/h.only" >"$T/hid"
cat "$T/hid" "$T/tok1" | ds forward -m "$FX" --mtp >"$T/mtp.steps"
check_eq "one MTP LOGITS frame per token after the first" "$(ds cat -f header "$T/mtp.steps" | grep -c 'aux 1')" 39
"$HELP" logits "$FX" "$T/mtp.steps" | sed 's/^\(not \)*ok - /&one token at a time: /'
V2="$FIXTURES/models/v2-lite-bf16"
[ -f "$V2/config.json" ] && expect_fail 78 "--mtp on a model without an MTP module is 78" ds forward -m "$V2" --mtp "$T/hid"
