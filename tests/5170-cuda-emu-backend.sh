# The CUDA backend's default mode (W8A16, BF16 cache) against the CPU in
# the emulator, through backend.h (tests/unit/test-cuda-backend.c): per
# fixture the logits error (bar 2e-2 of max |logit|), expert sets wherever
# the routing margin exceeds 1e-3, argmax wherever the top-2 gap exceeds the
# bar; on v3-fp8 graph replay == eager bits, batched decode == alone, prompt
# + one-token frames near the whole frame; then 64 greedy tokens on a
# generated tiny-v3 model equal to the CPU's.  The forward schedule only
# (5160 shows the reverse schedule gives the same bytes).
. "$DS_TESTS/lib.sh"

DS_EMU_SCHEDULES=${DS_EMU_SCHEDULES:-forward}
emu_each test-cuda-backend fixtures
if [ -x "$DS_EMU_BUILD/tests/test-cuda-backend" ]; then
	ds mkmodel -q -p tiny-v3 -o "$T/tiny" --seed 3
	emu_each test-cuda-backend greedy "$T/tiny" 64
fi
