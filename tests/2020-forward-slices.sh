# Slicing: ds-forward --layers 0:k | ds-forward --layers k: --head gives the
# bytes of one process, for every cut; the aux guard refuses a wrongly wired
# slice; several sequences interleaved in one stream equal each run alone.
. "$DS_TESTS/lib.sh"

FX="$FIXTURES/models/v3-fp8"
HELP="$DS_BUILD/tests/test-forward-fixtures"
[ -f "$FX/expected.safetensors" ] || { skip "slices of the v3-fp8 fixture" "fixture missing"; exit 0; }
"$HELP" ids "$FX" | ds cat --from-ids | ds embed -m "$FX" >"$T/h0"
ds forward -m "$FX" --head --all-positions "$T/h0" >"$T/one"
for k in 0 1 2 3; do
	ds forward -m "$FX" --layers 0:$k "$T/h0" | ds forward -m "$FX" --layers $k: --head --all-positions >"$T/two"
	check_files "--layers 0:$k | --layers $k: --head equals one process" "$T/one" "$T/two"
done
ds forward -m "$FX" --layers 0:1 "$T/h0" | ds forward -m "$FX" --layers 1:2 | ds forward -m "$FX" --layers 2:3 --head --all-positions >"$T/three"
check_files "three processes equal one" "$T/one" "$T/three"
check_eq "a slice writes HIDDEN with aux = its end" "$(ds forward -m "$FX" --layers 0:2 "$T/h0" | ds cat -f header)" \
	"frame 0: HIDDEN f32 [40, 288] seq 0 pos 0 aux 2 final digest"
expect_fail 65 "a HIDDEN frame whose aux is not the slice's first layer is refused" ds forward -m "$FX" --layers 1: "$T/h0"
ds forward -m "$FX" --layers 1: --ignore-aux "$T/h0" >"$T/ign"
check "--ignore-aux accepts it" test -s "$T/ign"

# three sequences interleaved frame by frame vs each alone
"$HELP" ids "$FX" | tr ' ' '\n' | head -n 12 >"$T/col"
for s in 0 1 2; do
	p=0
	while read -r id; do
		echo "$(((id + 7 * s) % 256))" | ds cat --from-ids --seq "$s" --pos "$p" >"$T/s$s.$p"
		p=$((p + 1))
	done <"$T/col"
done
: >"$T/mix"
for p in 0 1 2 3 4 5 6 7 8 9 10 11; do cat "$T/s0.$p" "$T/s1.$p" "$T/s2.$p" >>"$T/mix"; done
ds embed -m "$FX" "$T/mix" >"$T/mix.h"
ds forward -m "$FX" --head "$T/mix.h" >"$T/mix.out"
check_eq "36 LOGITS frames for 36 interleaved frames" "$(ds cat -f header "$T/mix.out" | grep -c LOGITS)" 36
for s in 0 1 2; do
	cat "$T/s$s."[0-9] "$T/s$s."1[01] >"$T/alone.$s.tok"
	ds embed -m "$FX" "$T/alone.$s.tok" >"$T/alone.$s.h"
	ds forward -m "$FX" --head --no-batch "$T/alone.$s.h" >"$T/alone.$s"
done
ds cat "$T/mix.out" | grep -v '^frame' >"$T/mix.txt"
for p in 0 1 2 3 4 5 6 7 8 9 10 11; do
	for s in 0 1 2; do
		ds cat "$T/alone.$s" | grep -v '^frame' | sed -n "$((p + 1))p"
	done
done >"$T/alone.txt"
check_files "interleaved sequences (batched together when waiting) equal each alone" "$T/mix.txt" "$T/alone.txt"

# with TOKENS passed on between the HIDDEN frames (ds-embed --pass-tokens,
# as in ds-run's ring), the frames keep their order and the LOGITS their
# bits, whether or not the waiting HIDDEN frames run as one batch
ds embed -m "$FX" --pass-tokens "$T/mix" >"$T/mixp.h"
ds forward -m "$FX" --head "$T/mixp.h" >"$T/mixp.out"
ds forward -m "$FX" --head --no-batch "$T/mixp.h" >"$T/mixp.alone"
check_files "TOKENS between batched HIDDEN frames: same stream as frame by frame" "$T/mixp.out" "$T/mixp.alone"
check_eq "TOKENS then LOGITS, frame after frame" "$(ds cat -f header "$T/mixp.out" | awk '{print $3}' | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')" "1 "
ds cat "$T/mixp.out" | grep -v '^frame' | awk 'NR % 2 == 0' >"$T/mixp.txt"
check_files "... and the LOGITS equal the batch without TOKENS" "$T/mixp.txt" "$T/mix.txt"
