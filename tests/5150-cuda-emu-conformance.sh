# The CUDA conformance programs (tests/cuda/test-cuda-conformance-*.cu) in
# the emulator, forward and reverse schedules: the emulator's reading of
# warp collectives, barriers, atomics, shared memory, the runtime, graphs,
# cuBLAS and cuBLASLt.  The same programs run on a GPU in make cuda-test.
. "$DS_TESTS/lib.sh"

for p in "$DS_TESTS"/cuda/test-cuda-conformance*.cu; do
	emu_each "$(basename "$p" .cu)"
done
