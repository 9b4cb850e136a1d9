#!/bin/sh
# bench/cuda-test.sh [--emu] - the CUDA backend's checks on a GPU machine,
# end to end, in at most 8 minutes (make cuda-test runs it):
#   1. the device (nvidia-smi -L) and the build (make -j all, nvcc with
#      warnings, spills and local memory refused; the per-kernel table);
#   2. every test named cuda (DS_ONLY=cuda): the conformance programs of
#      tests/cuda on the GPU, ds-forward -d cuda in exact mode against every
#      fixture with the decode path, slices, ds-route and MTP (5160), the
#      default mode against the CPU, graph replay == eager bits, batched ==
#      alone and 64 greedy tokens (5170), the static checks (5190).
# --emu rehearses the same run on the emulated tree (build/emu), which is
# what CI can do without a GPU.  The log goes to $OUT/cuda-test.log when
# OUT is set (the device runner's result folder), else build/cuda-test.log;
# the exit status is the test run's.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
log=${OUT:-$root/build}/cuda-test.log
mkdir -p "$(dirname "$log")"
jobs=$(nproc 2>/dev/null || echo 2)
if [ "${1:-}" = --emu ]; then
	tree=$root/build/emu bin=$root/build/emu/bin real=0
else
	tree=$root/build bin=$root/bin real=1
fi
start=$(date +%s)
{
	echo "# cuda-test: $(date -u) mode $([ "$real" = 1 ] && echo gpu || echo emulator)"
	if [ "$real" = 1 ]; then
		nvidia-smi -L || echo "# nvidia-smi failed"
	fi
} >"$log" 2>&1
if ! make -j"$jobs" all >>"$log" 2>&1; then
	echo "cuda-test: the build failed (see $log)" >&2
	tail -n 30 "$log" >&2
	exit 1
fi
[ -f build/cuda-resources.txt ] && cat build/cuda-resources.txt >>"$log"
set +e
timeout 420 env DS_BIN="$root/bin" DS_BUILD="$root/build" DS_EMU_BUILD="$tree" DS_CUDA_BIN="$bin" \
	DS_CUDA_REAL="$real" DS_ONLY=cuda sh tests/run.sh >>"$log" 2>&1
rc=$?
set -e
echo "# cuda-test: $(( $(date +%s) - start )) s, status $rc" >>"$log"
grep -E '^(ok|FAIL|    # measured|    not ok|[0-9]+ passed)|^# cuda-test' "$log"
exit "$rc"
