# The CUDA conformance programs (tests/cuda/test-cuda-conformance-*.cu) in
# the emulator, in forward, reverse and one seeded random schedule (about
# 10 ms each): the emulator's reading of warp collectives, barriers,
# atomics, shared memory, the runtime, graphs, cuBLAS and cuBLASLt.  The
# same programs, built by nvcc, run on a GPU in make cuda-test.
. "$DS_TESTS/lib.sh"

DS_EMU_SCHEDULES=${DS_EMU_SCHEDULES:-forward reverse random:7}
for p in "$DS_TESTS"/cuda/test-cuda-conformance*.cu; do
	emu_each "$(basename "$p" .cu)"
done
