# ds-embed | ds-forward --head --all-positions against every transformers
# fixture (tests/fixtures/models/*/expected.safetensors): logits within
# 1e-4 of max |logit| with the same argmax at every position; the same with
# one thread; the sequence fed as a prompt frame and one-token frames; the
# expert sets of every MoE layer through --emit-routes.
. "$DS_TESTS/lib.sh"

HELP="$DS_BUILD/tests/test-forward-fixtures"
nfx=0
for FX in "$FIXTURES"/models/*; do
	[ -f "$FX/expected.safetensors" ] || continue
	name=$(basename "$FX")
	nfx=$((nfx + 1))
	"$HELP" ids "$FX" >"$T/$name.ids"
	ds cat --from-ids "$T/$name.ids" >"$T/$name.tok"
	ds embed -m "$FX" "$T/$name.tok" >"$T/$name.h0"
	ds forward -m "$FX" --head --all-positions --emit-routes "$T/$name.h0" >"$T/$name.out"
	"$HELP" logits "$FX" "$T/$name.out" | sed "s/^\(not \)*ok - /&$name: /"
	"$HELP" routes "$FX" "$T/$name.out" | sed "s/^\(not \)*ok - /&$name: /"
	ds forward -m "$FX" -t 1 --head --all-positions --emit-routes "$T/$name.h0" >"$T/$name.t1"
	check_files "$name: one thread gives the same bytes" "$T/$name.out" "$T/$name.t1"

	# a 5-token prompt, then one frame per token at its position
	token_steps "$T/$name.ids" 5 >"$T/$name.steps"
	ds embed -m "$FX" "$T/$name.steps" | ds forward -m "$FX" --head >"$T/$name.dec"
	check_eq "$name: one LOGITS frame per input frame" "$(ds cat -f header "$T/$name.dec" | wc -l)" \
		"$(ds cat -f header "$T/$name.steps" | wc -l)"
	"$HELP" logits "$FX" "$T/$name.dec" " (prompt + one-token frames)" | sed "s/^\(not \)*ok - /&$name (prompt + one-token frames): /"
done
[ "$nfx" -gt 0 ] || skip "forward against the fixtures" "no fixtures with expected.safetensors"

# the portable and AVX2 kernels (DS_CPU) agree with the reference too
for FX in "$FIXTURES"/models/v3-fp8 "$FIXTURES"/models/moonlight-f16; do
	[ -f "$FX/expected.safetensors" ] || continue
	name=$(basename "$FX")
	for isa in generic avx2; do
		DS_CPU=$isa ds forward -m "$FX" --head --all-positions "$T/$name.h0" >"$T/$name.$isa"
		"$HELP" logits "$FX" "$T/$name.$isa" " (DS_CPU=$isa)" | sed "s/^\(not \)*ok - /&$name, DS_CPU=$isa: /"
	done
done
FX="$FIXTURES/models/v2-lite-bf16"
if [ -f "$FX/expected.safetensors" ] && grep -q avx512_bf16 /proc/cpuinfo 2>/dev/null; then
	DS_CPU=avx512bf16 ds forward -m "$FX" --head --all-positions "$T/v2-lite-bf16.h0" >"$T/v2.bf16dot"
	"$HELP" logits "$FX" "$T/v2.bf16dot" " (DS_CPU=avx512bf16)" | sed "s/^\(not \)*ok - /&v2-lite-bf16, DS_CPU=avx512bf16: /"
else
	skip "vdpbf16ps kernels against the BF16 fixture" "no AVX512-BF16 or no fixture"
fi
