# The CUDA backend's kernels in the emulator (build/emu), exact mode
# (DS_CUDA_EXACT=1: f32 cache and products): ds-forward -d cuda --head
# against every transformers fixture within 1e-4 of max |logit| with the same
# argmax and expert sets, like the CPU backend (2010); then on v3-fp8 the
# prompt + one-token frames (the decode path, CUDA graphs), the reverse
# schedule (same bytes), layer slices (same bytes as the whole), ds-route -d
# cuda on the MoE input and from the layer input, the MTP module, and the
# refusals: 69 without a device, 71 when the model does not fit (before
# allocating), 65 when the KV cache is full.  Default-mode figures and the
# bit-identity checks are test-cuda-backend (5170).
. "$DS_TESTS/lib.sh"

# DS_CUDA_BIN: the tools to check (bench/cuda-test.sh points it at the
# GPU build, with DS_CUDA_REAL=1); the emulated tree's by default
EB=${DS_CUDA_BIN:-$DS_EMU_BUILD/bin}
REAL=${DS_CUDA_REAL:-0}
HELP="$DS_BUILD/tests/test-forward-fixtures"
if [ ! -x "$EB/ds-forward" ]; then
	skip "cuda-emu: ds-forward -d cuda in the emulator" "not built: no CUDA headers (make emu)"
	exit 0
fi
cu() { cu_t=$1; shift; DS_CUDA_EXACT=1 EMU_SCHEDULE=${EMU_SCHEDULE:-forward} "$EB/ds-$cu_t" -d cuda "$@"; }
tag() { sed "s/^\(not \)*ok - /&cuda-emu: $1: /"; }

nfx=0
for FX in "$FIXTURES"/models/*; do
	[ -f "$FX/expected.safetensors" ] || continue
	name=$(basename "$FX")
	nfx=$((nfx + 1))
	"$HELP" ids "$FX" | ds cat --from-ids >"$T/$name.tok"
	ds embed -m "$FX" "$T/$name.tok" >"$T/$name.h0"
	cu forward -m "$FX" --head --all-positions --emit-routes "$T/$name.h0" >"$T/$name.out"
	"$HELP" logits "$FX" "$T/$name.out" | tag "$name"
	"$HELP" routes "$FX" "$T/$name.out" | tag "$name"
done
[ "$nfx" -gt 0 ] || { skip "cuda-emu: forward against the fixtures" "no fixtures"; exit 0; }

FX="$FIXTURES/models/v3-fp8"
fxn=v3-fp8
[ -f "$FX/expected.safetensors" ] || { skip "cuda-emu: the v3-fp8 checks" "fixture missing"; exit 0; }

# a 5-token prompt, then one frame per token: decode steps, replayed graphs
"$HELP" ids "$FX" >"$T/ids"
token_steps "$T/ids" 5 >"$T/steps"
ds embed -m "$FX" "$T/steps" >"$T/steps.h"
cu forward -m "$FX" --head "$T/steps.h" >"$T/dec"
check_eq "cuda-emu: one LOGITS frame per input frame" "$(ds cat -f header "$T/dec" | wc -l)" \
	"$(ds cat -f header "$T/steps" | wc -l)"
"$HELP" logits "$FX" "$T/dec" " (prompt + one-token frames)" | tag "$fxn (prompt + one-token frames)"

EMU_SCHEDULE=reverse cu forward -m "$FX" --head --all-positions --emit-routes "$T/$fxn.h0" >"$T/rev"
check_files "cuda-emu: the reverse schedule gives the same bytes" "$T/$fxn.out" "$T/rev"

cu forward -m "$FX" --layers 0:1 "$T/$fxn.h0" | cu forward -m "$FX" --layers 1: --head --all-positions \
	--emit-routes >"$T/sliced"
check_files "cuda-emu: --layers 0:1 | --layers 1: --head gives the same bytes as the whole" "$T/$fxn.out" "$T/sliced"

"$HELP" moe-input "$FX" 1 >"$T/moe.txt"
ds cat --from-text HIDDEN "$T/moe.txt" >"$T/moe"
cu route -m "$FX" --layer 1 "$T/moe" >"$T/r1"
"$HELP" routes "$FX" "$T/r1" | tag "ds-route layer 1 (MoE input)"
cu forward -m "$FX" --layers 0:1 "$T/$fxn.h0" >"$T/h1"
cu route -m "$FX" --layer 1 --from-layer-input "$T/h1" >"$T/r2"
"$HELP" routes "$FX" "$T/r2" | tag "ds-route layer 1 (--from-layer-input)"

ds embed -m "$FX" --pass-tokens "$T/$fxn.tok" >"$T/h0t"
cu forward -m "$FX" --head --all-positions --emit-hidden "$T/h0t" >"$T/main"
cu forward -m "$FX" --mtp --all-positions "$T/main" >"$T/mtp"
"$HELP" logits "$FX" "$T/mtp" " (MTP)" | tag "$fxn --mtp"

# no device: the emulator's switch, and on a GPU no visible device
expect_fail 69 "cuda-emu: no device is 69" env EMU_DEVICES=0 CUDA_VISIBLE_DEVICES= "$EB/ds-forward" -d cuda -m "$FX" \
	"$T/$fxn.h0"
if [ "$REAL" = 1 ]; then
	skip "cuda-emu: a model that does not fit is 71" "needs the emulator's EMU_DEVICE_MEM"
else
	expect_fail 71 "cuda-emu: a model that does not fit is 71, before allocating" \
		env EMU_DEVICE_MEM=1M "$EB/ds-forward" -d cuda -m "$FX" "$T/$fxn.h0"
	check "cuda-emu: the 71 message says what is needed and what is free" \
		grep -q 'needs .* of weights and .* of buffers; the GPU has .* free' "$T/.xf.err"
fi
expect_fail 65 "cuda-emu: --ctx-size 20 refuses a 40-row frame with 65" "$EB/ds-forward" -d cuda --ctx-size 20 -m "$FX" \
	"$T/$fxn.h0"
YX="$FIXTURES/models/yarn-long"
if [ -f "$YX/expected.safetensors" ]; then
	expect_fail 65 "cuda-emu: a full KV cache is 65" env DS_CUDA_KV_MEM=1 "$EB/ds-forward" -d cuda -m "$YX" \
		"$T/yarn-long.h0"
	check "cuda-emu: the 65 message says KV cache full" grep -q 'KV cache full' "$T/.xf.err"
fi
