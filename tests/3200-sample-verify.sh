# ds-sample --verify, the verifier of speculative decoding, on made-up
# logits: a TOKENS frame's drafts (aux) are drawn in turn and kept up to
# the first miss; the settled frame restates the frame's settled tokens;
# -n cuts it; what it draws equals what plain ds-sample draws step by step;
# misuse is refused.
. "$DS_TESTS/lib.sh"

settled() {	# TOKENS-LINE DRAFTS LOGITS-ROWS... : the settled ids --verify writes
	ids=$1 k=$2; shift 2
	{ echo "$ids" | ds cat --from-ids --drafts "$k"; printf '%s\n' "$@" | ds cat --from-text LOGITS; } |
		ds sample --verify | ds cat -f ids
}
check_eq "a miss at the second draft: the first is kept, the second redrawn" \
	"$(settled '5 1 0' 2 '0 3 1' '0 1 2' '4 0 0')" "5 1 2"
check_eq "every draft right: all kept, and the token after the last" \
	"$(settled '5 1 2' 2 '0 3 1' '0 1 2' '4 0 0')" "5 1 2 0"
check_eq "a miss at the first draft" "$(settled '5 0 2' 2 '0 3 1' '0 1 2' '4 0 0')" "5 1"
check_eq "no drafts: the frame and the drawn token" "$(settled '7 8' 0 '1 0 0' '0 0 9')" "7 8 2"
check_eq "only the last 1 + drafts rows are used" "$(settled '7 8 1' 1 '9 0 0' '0 3 1' '0 0 9')" "7 8 1 2"
{ echo '5 1 2' | ds cat --from-ids --drafts 2; printf '0 3 1\n0 1 2\n4 0 0\n' | ds cat --from-text LOGITS; } |
	ds sample --verify | ds cat -f header >"$T/h"
check_eq "one TOKENS frame at the input frame's pos, no drafts" "$(cat "$T/h")" "frame 0: TOKENS i32 [4] seq 0 pos 0 digest"
{ echo '5 1 2' | ds cat --from-ids --drafts 2; printf '0 3 1\n0 1 2\n4 0 0\n' | ds cat --from-text LOGITS; } |
	ds sample --verify -n 2 | ds cat -f ids >"$T/n2"
check_eq "-n 2 cuts the settled tokens after the second new one" "$(cat "$T/n2")" "5 1 2"
{ echo '5 1 2' | ds cat --from-ids --drafts 2; printf '0 3 1\n0 1 2\n4 0 0\n' | ds cat --from-text LOGITS; } |
	ds sample --verify --eos 1 | ds cat -f ids >"$T/eos"
check_eq "--eos 1 cuts after the 1" "$(cat "$T/eos")" "5 1"

# sampled, with penalties: the verifier's draws are plain ds-sample's, one
# position at a time (the drafts here are plain's own tokens, one spoiled)
S="-t 1.3 -k 3 --repeat-penalty 1.5 --seed 11"
printf '%s\n' '0.1 0.5 0.3 0.2 0.9 0.4' '0.8 0.1 0.3 0.7 0.2 0.6' '0.3 0.3 0.9 0.1 0.5 0.2' '0.2 0.9 0.4 0.6 0.1 0.3' >"$T/rows"
ids="4"
for r in 1 2 3 4; do
	next=$({ echo "$ids" | ds cat --from-ids; sed -n "${r}p" "$T/rows" | ds cat --from-text LOGITS --pos $((r - 1)); } |
		ds sample $S | ds cat -f ids)
	ids="$ids $next"
done
plain=$(echo "$ids" | cut -d' ' -f2-)
d1=$(echo "$plain" | cut -d' ' -f1) d2=$(echo "$plain" | cut -d' ' -f2) d3=$(echo "$plain" | cut -d' ' -f3)
got=$({ echo "4 $d1 $d2 $d3" | ds cat --from-ids --drafts 3; ds cat --from-text LOGITS <"$T/rows"; } |
	ds sample --verify $S | ds cat -f ids)
check_eq "sampled: three right drafts settle plain's four tokens" "$got" "4 $plain"
bad=$(( (d2 + 1) % 6 ))
got=$({ echo "4 $d1 $bad $d3" | ds cat --from-ids --drafts 3; ds cat --from-text LOGITS <"$T/rows"; } |
	ds sample --verify $S | ds cat -f ids)
check_eq "sampled: a wrong second draft is replaced by plain's token" "$got" "4 $d1 $d2"

echo '5 1 0' | ds cat --from-ids --drafts 2 >"$T/drafts"
printf '0 3 1\n' | ds cat --from-text LOGITS --pos 2 >"$T/one"
expect_fail 65 "TOKENS with drafts without --verify" ds sample "$T/drafts"
cat "$T/drafts" "$T/one" >"$T/short"
expect_fail 65 "--verify: one row cannot check two drafts" ds sample --verify "$T/short"
printf '0 3 1\n0 1 2\n4 0 0\n' | ds cat --from-text LOGITS --pos 1 >"$T/late"
cat "$T/drafts" "$T/late" >"$T/misplaced"
expect_fail 65 "--verify: LOGITS that do not end at the frame's last position" ds sample --verify "$T/misplaced"
expect_fail 64 "--verify with --logprobs" ds sample --verify --logprobs 2 "$T/drafts"
expect_fail 65 "ds-cat --drafts: a frame cannot be all drafts" sh -c "echo '5 1' | '$DS_BIN/ds-cat' --from-ids --drafts 2"
