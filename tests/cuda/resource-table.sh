#!/bin/sh
# tests/cuda/resource-table.sh FILE.res... - the per-kernel resource table of
# the nvcc build, from the ptxas reports that `nvcc --resource-usage` left
# next to each object (the Makefile's .cu rules write them).  One row per
# kernel and architecture: registers, barriers, static shared memory (bytes),
# stack frame, spill stores and loads (bytes).  With $CUOBJDUMP, a second
# section reads the objects back (see below).  tests/5190-cuda-static.sh
# checks that every kernel has a row and none spills or uses local memory.
set -eu
demangle() { if command -v c++filt >/dev/null 2>&1; then c++filt; else cat; fi; }
printf '# %-40s %-6s %5s %4s %6s %6s %6s %6s  %s\n' source arch regs bar smem stack spill_st spill_ld kernel
for f in "$@"; do
	src=${f%.res}
	src=${src%.o}
	awk -v src="$(basename "$src")" '
	function flush() {
		if (name != "")
			printf "  %-40s %-6s %5d %4d %6d %6d %6d %6d  %s\n", src, arch, regs, bar, smem, stack, sst, sld, name
		name = ""
	}
	/Compiling entry function/ {
		flush()
		name = $0; sub(/.*entry function \047/, "", name); sub(/\047.*/, "", name)
		arch = $0; sub(/.* for \047/, "", arch); sub(/\047.*/, "", arch)
		regs = bar = smem = stack = sst = sld = 0
	}
	/bytes stack frame/ {
		for (i = 1; i <= NF; i++) {
			if ($(i+1) == "bytes" && $(i+2) == "stack") stack = $i
			if ($(i+2) == "spill" && $(i+3) ~ /^stores/) sst = $i
			if ($(i+2) == "spill" && $(i+3) ~ /^loads/) sld = $i
		}
	}
	/Used [0-9]+ registers/ {
		for (i = 1; i <= NF; i++) {
			if ($(i+1) ~ /^registers/) regs = $i
			if ($(i+1) ~ /^barriers/) bar = $i
			if ($(i+1) == "bytes" && $(i+2) ~ /^smem/) smem = $i
		}
		flush()
	}
	END { flush() }' "$f"
done | demangle

# The same objects read back by cuobjdump when there is one ($CUOBJDUMP):
# its per-function REG/STACK/SHARED/LOCAL (SHARED includes the 1 KiB the
# sm_90 runtime reserves per block), and the count of local-memory
# instructions (LDL/STL) in each object's SASS, which must be 0.
[ -n "${CUOBJDUMP:-}" ] && [ -x "$CUOBJDUMP" ] || { echo "# cuobjdump: not found (no SASS view)"; exit 0; }
printf '# cuobjdump-path: %s\n' "$CUOBJDUMP"
printf '# cuobjdump -res-usage\n# %-40s %-6s %5s %6s %6s %6s  %s\n' source arch REG STACK SHARED LOCAL kernel
for f in "$@"; do
	o=${f%.res}
	case "$o" in *.o) ;; *) o=$o.o ;; esac
	[ -f "$o" ] || continue
	src=${o%.o}
	"$CUOBJDUMP" -res-usage "$o" | awk -v src="$(basename "${src%.cu}")" '
	/^arch = / { arch = $3 }
	/^ Function / { name = $2; sub(/:$/, "", name) }
	/^  REG:/ && name != "" {
		for (i = 1; i <= NF; i++) { split($i, kv, ":"); v[kv[1]] = kv[2] }
		printf "  %-40s %-6s %5d %6d %6d %6d  %s\n", src, arch, v["REG"], v["STACK"], v["SHARED"], v["LOCAL"], name
		name = ""
	}'
done | demangle
for f in "$@"; do
	o=${f%.res}
	case "$o" in *.o) ;; *) o=$o.o ;; esac
	[ -f "$o" ] || continue
	n=$("$CUOBJDUMP" -sass "$o" | grep -cE '[[:space:]](LDL|STL)(\.[A-Z0-9.]+)?[[:space:]]' || true)
	printf '# sass %s: %d local-memory instructions (LDL/STL)\n' "$(basename "$o")" "$n"
done
