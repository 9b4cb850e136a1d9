#!/bin/sh
# tests/cuda/resource-table.sh FILE.res... - the per-kernel resource table of
# the nvcc build, from the ptxas reports that `nvcc --resource-usage` left
# next to each object (the Makefile's .cu rules write them).  One row per
# kernel and architecture: registers, barriers, static shared memory (bytes),
# stack frame, spill stores and loads (bytes).  A test (5190) checks that
# the table is there and that no kernel spills or uses a stack.
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
