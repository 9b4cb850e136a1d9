# ds-bench writes one JSON record with medians and raw samples (the figures
# themselves are measured by `make bench`, not judged by tests).
. "$DS_TESTS/lib.sh"
ds mkmodel -q -p tiny-v3 -o "$T/m" --seed 3
ds bench -q -m "$T/m" -p 8 -n 4 -r 3 -b 2 --label test >"$T/rec"
check_eq "one line" "$(wc -l <"$T/rec" | tr -d ' ')" 1
for k in '"tool":"ds-bench"' '"version":"dspipe ' '"hardware":' '"kernels":' '"prompt":8' '"gen":4' '"batch":2' \
	'"reps":3' '"label":"test"' '"prefill_tok_s":{"median":' '"decode_tok_s":{"median":' '"peak_rss_mib":'; do
	check "record has $k" grep -q "$k" "$T/rec"
done
check_eq "three samples per figure" "$(grep -o '"samples":\[[^]]*\]' "$T/rec" | sed 's/[^,]//g' | tr '\n' ' ')" ",, ,, "
# the weight bytes a decode step reads lie between the head alone and the whole checkpoint
bytes=$(sed 's/.*"decode_weight_bytes_per_token":\([0-9]*\).*/\1/' "$T/rec")
size=$(wc -c <"$T/m/model.safetensors" | tr -d ' ')
vocab=$(sed -n 's/.*"vocab_size":[^0-9]*\([0-9]*\).*/\1/p' "$T/m/config.json")
hidden=$(sed -n 's/.*"hidden_size":[^0-9]*\([0-9]*\).*/\1/p' "$T/m/config.json")
check "decode bytes exceed lm_head's $((vocab * hidden * 2))" test "$bytes" -gt $((vocab * hidden * 2))
check "decode bytes below the checkpoint's $size" test "$bytes" -lt "$size"
expect_fail 64 "no model" ds bench
expect_fail 66 "missing model" ds bench -m "$T/none"
expect_fail 64 "bad -p" ds bench -m "$T/m" -p 0

# --speculative: decoding with and without MTP drafts, the same tokens
ds bench -q -m "$T/m" -p 8 -n 12 -r 2 --speculative 2 --temperature 4 >"$T/spec"
for k in '"speculative":{"drafts":2' '"plain_tok_s":{"median":' '"spec_tok_s":{"median":' '"tokens_per_pass":' \
	'"acceptance":[' '"tokens_identical":true'; do
	check "--speculative record has $k" grep -qF "$k" "$T/spec"
done
check_eq "one acceptance rate per draft position" \
	"$(sed 's/.*"acceptance":\[\([^]]*\)\].*/\1/' "$T/spec" | tr ',' '\n' | wc -l | tr -d ' ')" 2
ds mkmodel -q -p tiny-v2-lite -o "$T/nomtp" --seed 1
expect_fail 78 "--speculative on a model without an MTP module" ds bench -m "$T/nomtp" -p 4 -n 2 -r 1 --speculative 1
