# The static checks of the nvcc build, which need the toolkit but no GPU:
# the per-kernel resource table (build/cuda-resources.txt, from ptxas and,
# when there is one, cuobjdump) names every __global__ kernel of common/cuda
# and tests/cuda/test-*.cu (the nvcc-built ones), none spills or has a stack
# frame or local memory, no object's SASS has LDL/STL; and the build's own
# flags turn a warning and a planted local-memory array into build errors.
. "$DS_TESTS/lib.sh"

root=$(cd "$DS_TESTS/.." && pwd)
table="$DS_BUILD/cuda-resources.txt"
if [ ! -f "$table" ]; then
	skip "cuda static checks" "no nvcc build (no nvcc, or CUDA=0)"
	exit 0
fi

# every kernel defined in the CUDA sources has a row
missing=""
kernels=0
for k in $(cat "$root"/common/cuda/*.cu "$root"/tests/cuda/test-*.cu 2>/dev/null |
	   sed -n 's/.*__global__[^(]*[[:space:]*]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p' | sort -u); do
	kernels=$((kernels + 1))
	grep -qE "[[:space:]]$k[(<]" "$table" || missing="$missing $k"
done
check_eq "the resource table has a row for each of the $kernels kernels" "${missing:-none}" none

# ptxas's columns: stack, spill stores, spill loads are 0
bad=$(awk '/^# cuobjdump/ { exit } !/^#/ && ($6 != 0 || $7 != 0 || $8 != 0) { print $9 }' "$table" | head -n 3)
check_eq "no kernel has a stack frame or spills (ptxas)" "${bad:-none}" none

if grep -q '^# cuobjdump -res-usage' "$table"; then
	bad=$(sed -n '/^# cuobjdump -res-usage/,/^# sass/p' "$table" |
	      awk '!/^#/ && ($4 != 0 || $6 != 0) { print $7 }' | head -n 3)
	check_eq "no kernel has STACK or LOCAL (cuobjdump -res-usage)" "${bad:-none}" none
	bad=$(grep '^# sass ' "$table" | grep -v ': 0 local-memory' || true)
	check_eq "no object's SASS has LDL/STL" "${bad:-none}" none
else
	skip "cuobjdump views of the objects" "no cuobjdump (PyPI nvidia-cuda-cuobjdump, or triton in DS_PYTHON's venv)"
fi

# the build's flags refuse a warning and local memory
flags=$(make -s -C "$root" --no-print-directory nvcc-flags)
cat >"$T/warn.cu" <<'EOF'
__global__ void k_warn(float *o) { int unused; o[threadIdx.x] = 1.0f; }
EOF
cat >"$T/local.cu" <<'EOF'
__global__ void k_local(const int *idx, float *o)
{
	float a[256];
	for (int i = 0; i < 256; i++)
		a[i] = o[i * blockDim.x + threadIdx.x];
	o[threadIdx.x] = a[idx[threadIdx.x] & 255];
}
EOF
for p in warn local; do
	set +e
	# shellcheck disable=SC2086
	$flags -c "$T/$p.cu" -o "$T/$p.o" >"$T/$p.log" 2>&1
	rc=$?
	set -e
	if [ "$rc" -ne 0 ]; then
		echo "ok - the nvcc flags refuse a planted $p kernel (exit $rc)"
		sed -n '1,2s/^/#   /p' "$T/$p.log"
	else
		echo "not ok - the nvcc flags let a planted $p kernel build"
	fi
done

# the same local-memory kernel built without the refusal shows up in the lint
cuobjdump=$(sed -n 's/^# cuobjdump-path: //p' "$table")
if [ -n "$cuobjdump" ] && [ -x "$cuobjdump" ]; then
	# shellcheck disable=SC2086
	$(echo "$flags" | sed 's/-Xptxas [^ ]*//; s/-Werror all-warnings//') -c "$T/local.cu" -o "$T/local.o" 2>/dev/null
	n=$("$cuobjdump" -sass "$T/local.o" | grep -cE '[[:space:]](LDL|STL)(\.[A-Z0-9.]+)?[[:space:]]' || true)
	if [ "$n" -gt 0 ]; then
		echo "ok - the SASS lint sees the planted kernel's local memory ($n LDL/STL)"
	else
		echo "not ok - the SASS lint finds no LDL/STL in a kernel with a dynamically indexed local array"
	fi
fi
