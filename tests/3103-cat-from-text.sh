# ds-cat --from-text (added for the sampler's tests): rows of numbers ->
# f32 LOGITS / HIDDEN frames, paragraph per frame, and back through the
# text view exactly; --pos; bad rows.
. "$DS_TESTS/lib.sh"

printf '0.5 2 -1\n1e-3 3.40282347e+38 -inf\n\n\n7,8,9\n' >"$T/rows.txt"
ds cat --from-text LOGITS --seq 4 --pos 9 "$T/rows.txt" >"$T/f.ds"
ds cat -f header "$T/f.ds" >"$T/hdr"
printf 'frame 0: LOGITS f32 [2, 3] seq 4 pos 9 final digest\nframe 1: LOGITS f32 [1, 3] seq 5 pos 9 final digest\n' >"$T/want"
check_files "one frame per paragraph, seq counting up, at --pos" "$T/hdr" "$T/want"
ds cat "$T/f.ds" | grep -v '^frame' >"$T/vals"
printf '0.5 2 -1\n0.00100000005 3.40282347e+38 -inf\n7 8 9\n' >"$T/want"
check_files "values read back through the text view" "$T/vals" "$T/want"
ds cat --from-text LOGITS "$T/vals" | ds cat | grep -v '^frame' >"$T/vals2"
printf '0.5 2 -1\n0.00100000005 3.40282347e+38 -inf\n7 8 9\n' >"$T/want"
check_files "text view -> frames -> text view is lossless" "$T/vals2" "$T/want"
check_eq "HIDDEN frames too" "$(echo '1 2' | ds cat --from-text hidden | ds cat -f header)" \
	"frame 0: HIDDEN f32 [1, 2] seq 0 pos 0 final digest"
check_eq "--pos applies to --from-ids" "$(echo '1 2' | ds cat --from-ids --pos 3 | ds cat -f header)" \
	"frame 0: TOKENS i32 [2] seq 0 pos 3 final digest"
expect_fail 65 "rows of different lengths" sh -c "printf '1 2\n3\n' | ds-cat --from-text LOGITS"
expect_fail 65 "a word that is not a number" sh -c "printf '1 two\n' | ds-cat --from-text LOGITS"
expect_fail 65 "a number beyond f32" sh -c "printf '1e39\n' | ds-cat --from-text LOGITS"
expect_fail 64 "only LOGITS or HIDDEN" sh -c "printf '1\n' | ds-cat --from-text TOKENS"
expect_fail 64 "--from-text and --from-ids do not mix" sh -c "printf '1\n' | ds-cat --from-text LOGITS --from-ids"
