# The two attention forms of ds-forward (ds-forward(1)): decompressed for
# every chunk (DS_MLA_DECOMPRESS_MIN=1) and absorbed for every chunk (=0)
# agree with the transformers fixtures; a long prompt cut into frames that
# all take the decompressed form gives the bits of one frame; --prefetch
# and --mlock change no byte of the output.
. "$DS_TESTS/lib.sh"

HELP="$DS_BUILD/tests/test-forward-fixtures"
nfx=0
for FX in "$FIXTURES"/models/*; do
	[ -f "$FX/expected.safetensors" ] || continue
	name=$(basename "$FX")
	nfx=$((nfx + 1))
	"$HELP" ids "$FX" | ds cat --from-ids | ds embed -m "$FX" >"$T/$name.h0"
	for form in 1:decompressed 0:absorbed; do
		DS_MLA_DECOMPRESS_MIN=${form%%:*} ds forward -m "$FX" --head --all-positions "$T/$name.h0" >"$T/$name.${form#*:}"
		"$HELP" logits "$FX" "$T/$name.${form#*:}" " (MLA ${form#*:})" | sed "s/^\(not \)*ok - /&$name, MLA ${form#*:}: /"
	done
done
[ "$nfx" -gt 0 ] || skip "both MLA forms against the fixtures" "no fixtures"

FX="$FIXTURES/models/yarn-long"
if [ -f "$FX/expected.safetensors" ]; then
	# 320 tokens as frames of 40 rows, every one decompressed from 40 rows
	"$HELP" ids "$FX" | tr ' ' '\n' | grep . >"$T/col"
	: >"$T/frames"
	for p in 0 40 80 120 160 200 240 280; do
		sed -n "$((p + 1)),$((p + 40))p" "$T/col" | tr '\n' ' ' | ds cat --from-ids --pos "$p" >>"$T/frames"
	done
	ds embed -m "$FX" "$T/frames" >"$T/frames.h"
	DS_MLA_DECOMPRESS_MIN=40 ds forward -m "$FX" --head --all-positions "$T/frames.h" | ds cat | grep -v '^frame' >"$T/eight"
	DS_MLA_DECOMPRESS_MIN=40 ds forward -m "$FX" --head --all-positions "$T/yarn-long.h0" | ds cat | grep -v '^frame' >"$T/one"
	check_files "decompressed: eight 40-row frames give the bits of one 320-row frame" "$T/eight" "$T/one"
	DS_MLA_DECOMPRESS_MIN=40 ds forward -m "$FX" --head --all-positions --rows 7 "$T/yarn-long.h0" | ds cat | grep -v '^frame' >"$T/steps"
	check_files "decompressed: 7-row internal steps give the bits of one step" "$T/steps" "$T/one"
else
	skip "frames of a decompressed prompt" "fixture yarn-long missing"
fi

FX="$FIXTURES/models/v3-fp8"
"$HELP" ids "$FX" | ds cat --from-ids | ds embed -m "$FX" >"$T/v3.h0"
ds forward -m "$FX" --head "$T/v3.h0" >"$T/plain"
ds forward -m "$FX" --head --prefetch "$T/v3.h0" >"$T/pre" 2>"$T/pre.err"
check_files "--prefetch: the same bytes" "$T/plain" "$T/pre"
check_eq "--prefetch: nothing on stderr when it is not a terminal" "$(cat "$T/pre.err")" ""
if ds forward -m "$FX" --head --mlock "$T/v3.h0" >"$T/lock" 2>"$T/lock.err"; then
	check_files "--mlock: the same bytes" "$T/plain" "$T/lock"
else
	rc=$?
	check_eq "--mlock refused (ulimit -l): exit 71 with a message" "$rc $(grep -c 'cannot lock' "$T/lock.err")" "71 1"
fi
