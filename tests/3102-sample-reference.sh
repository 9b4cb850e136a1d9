# ds-sample against an independent implementation of its written
# specification (tests/reference/sample/make_sample_fixture.py: ChaCha20 from
# RFC 8439, the penalties, filters and draw re-coded in Python).  The
# committed sample-expected.txt holds its tokens for 64 sequences under nine
# settings; the same seed must give exactly these tokens on any machine.
. "$DS_TESTS/lib.sh"
REF="$DS_TESTS/reference/sample"

# prompts at positions 0..4, then [2, V] logits at position 4: the token
# drawn is at position 6, its history the prompt
ds cat --from-ids "$REF/sample-prompts.txt" >"$T/in.ds"
ds cat --from-text LOGITS --pos 4 "$REF/sample-logits.txt" >>"$T/in.ds"
count=0
while IFS='|' read -r opts want; do
	count=$((count + 1))
	# shellcheck disable=SC2086
	ds sample $opts <"$T/in.ds" >"$T/out.ds"
	got=$(ds cat -f ids "$T/out.ds" | tr '\n' ' ' | sed 's/ $//')
	check_eq "ds-sample ${opts:-(greedy)}: 64 tokens as specified" "$got" "$want"
done <"$REF/sample-expected.txt"
check_eq "nine settings checked" "$count" 9
