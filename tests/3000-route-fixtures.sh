# ds-route against the fixtures' expert sets: on the MoE input of a layer
# (default), on the residual entering it (--from-layer-input, after
# ds-forward --layers 0:L), and the load statistics (text and JSON).
. "$DS_TESTS/lib.sh"

HELP="$DS_BUILD/tests/test-forward-fixtures"
nfx=0
for FX in "$FIXTURES"/models/*; do
	[ -f "$FX/expected.safetensors" ] || continue
	name=$(basename "$FX")
	nfx=$((nfx + 1))
	L=$(sed -n 's/.*"first_k_dense_replace": *\([0-9]*\).*/\1/p' "$FX/config.json")
	"$HELP" moe-input "$FX" "$L" >"$T/$name.txt"
	ds cat --from-text HIDDEN "$T/$name.txt" >"$T/$name.moe"
	ds route -m "$FX" --layer "$L" "$T/$name.moe" >"$T/$name.r"
	"$HELP" routes "$FX" "$T/$name.r" | sed "s/^\(not \)*ok - /&$name layer $L (MoE input): /"
	"$HELP" ids "$FX" | ds cat --from-ids >"$T/$name.tok"
	ds embed -m "$FX" "$T/$name.tok" >"$T/$name.h0"
	ds forward -m "$FX" --layers 0:"$L" "$T/$name.h0" >"$T/$name.hL"
	ds route -m "$FX" --layer "$L" --from-layer-input "$T/$name.hL" >"$T/$name.r2"
	"$HELP" routes "$FX" "$T/$name.r2" | sed "s/^\(not \)*ok - /&$name layer $L (--from-layer-input): /"
done
[ "$nfx" -gt 0 ] || { skip "ds-route against the fixtures" "no fixtures"; exit 0; }

FX="$FIXTURES/models/v3-fp8"
ds route -m "$FX" --layer 1 --stats "$T/v3-fp8.moe" >"$T/stats.txt"
check_eq "--stats: a summary line" "$(head -n 1 "$T/stats.txt")" "layer 1 tokens 40 top_k 3 experts 12 groups 4"
check_eq "--stats: one line per expert and per group" "$(grep -c '^expert ' "$T/stats.txt") $(grep -c '^group ' "$T/stats.txt")" "12 4"
check_eq "--stats: expert counts add up to tokens x top_k" \
	"$(awk '/^expert /{s += $4} END {print s}' "$T/stats.txt")" 120
check_eq "--stats: group counts add up too" "$(awk '/^group /{s += $4} END {print s}' "$T/stats.txt")" 120
ds route -m "$FX" --layer 1 "$T/v3-fp8.moe" | ds cat | grep -v '^frame' | tr ' ' '\n' | cut -d: -f1 | grep . | sort -n | uniq -c |
	awk '{print "expert " $2 " count " $1}' >"$T/fromframes"
grep '^expert ' "$T/stats.txt" | awk '$4 > 0 {print $1, $2, $3, $4}' >"$T/fromstats"
check_files "--stats counts agree with the ROUTES frames" "$T/fromframes" "$T/fromstats"
ds route -m "$FX" --layer 1 --stats --json "$T/v3-fp8.moe" >"$T/stats.json"
check "--stats --json is one JSON line with experts and groups" \
	sh -c "test \$(wc -l <'$T/stats.json') -eq 1 && grep -q '\"experts\":\\[{\"id\":0,' '$T/stats.json' && grep -q '\"groups\":' '$T/stats.json'"
ds route -m "$FX" --layer 1 --stats-file "$T/sf.txt" "$T/v3-fp8.moe" >"$T/sf.frames"
check_files "--stats-file writes the same statistics" "$T/sf.txt" "$T/stats.txt"
check_eq "... while the frames go to stdout" "$(ds cat -f header "$T/sf.frames")" "frame 0: ROUTES idval [40, 3] seq 0 pos 0 aux 1 final digest"
expect_fail 64 "--json without statistics is 64" ds route -m "$FX" --layer 1 --json "$T/v3-fp8.moe"
