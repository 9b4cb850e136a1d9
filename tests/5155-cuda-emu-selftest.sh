# The emulator catches what it claims to (common/cuda/emu/emu.h, "WHAT IT
# MODELS"): deliberately wrong kernels (tests/cuda/emu-selftest.cu) in the
# forward and reverse schedules must fail loudly with the right message,
# a missing __syncthreads must change the result with the schedule, memory
# read before anyone wrote it must read as NaN, bad launches must return
# cudaErrorInvalidConfiguration.  Then the source rules kernel code keeps
# so that the emulator's reading is the GPU's (no __shared__, <<< >>>,
# __CUDA_ARCH__ or inline asm outside dsk.cuh).
. "$DS_TESTS/lib.sh"

root=$(cd "$DS_TESTS/.." && pwd)
prog="$DS_EMU_BUILD/tests/emu-selftest"
if [ ! -x "$prog" ]; then
	skip "cuda-emu: emulator self-test" "not built: no CUDA headers (make emu)"
else
	# CASE PATTERN: the emulator refuses the kernel with a message matching PATTERN
	refuses() {
		for s in ${DS_EMU_SCHEDULES:-forward reverse}; do
			set +e
			EMU_SCHEDULE=$s "$prog" "$1" >"$T/out" 2>"$T/err"
			rc=$?
			set -e
			if [ "$rc" -ne 0 ] && grep -q "^cuda-emu: error: .*$2" "$T/err" && ! grep -q '^result sync: cudaSuccess' "$T/out"; then
				echo "ok - cuda-emu [$s]: $1 is refused ($2)"
			else
				echo "not ok - cuda-emu [$s]: $1 is not refused as it should be (exit $rc)"
				sed 's/^/#   /' "$T/err" "$T/out" | head -n 5
			fi
		done
	}
	refuses div-sync "threads wait at different barriers"
	refuses exit-sync "exited before it"
	refuses exited-lane "exited"
	refuses div-collective "wait at different collectives"
	refuses bad-mask "does not name it"

	# results: CASE SCHEDULE -> the result line
	result() { EMU_SCHEDULE=$2 "$prog" "$1" 2>/dev/null | sed -n 's/^result [^:]*: //p'; }
	rf=$(result race forward) rr=$(result race reverse)
	if [ -n "$rf" ] && [ "$rf" != "$rr" ]; then
		echo "ok - cuda-emu: a missing __syncthreads changes the result with the schedule"
	else
		echo "not ok - cuda-emu: a missing __syncthreads gives the same result in both schedules"
	fi
	echo "# measured without the barrier: forward $rf, reverse $rr"
	nf=$(result no-race forward) nr=$(result no-race reverse)
	check_eq "cuda-emu: with the barrier both schedules agree" "$nf" "$nr"
	case "$nf" in *", 0 NaN") echo "ok - cuda-emu: with the barrier nothing reads the poison" ;;
	*) echo "not ok - cuda-emu: with the barrier: $nf" ;; esac
	check_eq "cuda-emu: DS_SMEM is poisoned for each block" "$(result unwritten-smem forward)" "64 of 64 NaN"
	check_eq "cuda-emu: cudaMalloc'd memory is poisoned" "$(result unwritten-global reverse)" "64 of 64 NaN"
	check_eq "cuda-emu: a 1025-thread block is refused" "$(result big-block forward)" cudaErrorInvalidConfiguration
	check_eq "cuda-emu: an empty grid is refused" "$(result empty-grid forward)" cudaErrorInvalidConfiguration
fi

# the source rules of emu.h, over the CUDA engine's sources
bad=$(cd "$root" && grep -nE '__shared__|<<<|__CUDA_ARCH__|(^|[^a-z_])asm[[:space:]]*(volatile)?[[:space:]]*\(' \
	common/cuda/*.cu common/cuda/*.cuh 2>/dev/null | grep -v '^common/cuda/dsk.cuh:' | head -n 3 || true)
check_eq "cuda-emu: no __shared__, <<< >>>, __CUDA_ARCH__ or inline asm in common/cuda outside dsk.cuh" "${bad:-none}" none
