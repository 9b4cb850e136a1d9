# libFuzzer runs of the frame decoder and the safetensors parser, about 20 s
# each (DS_FUZZ_SECONDS), seeded with valid and broken inputs.  The targets
# are tests/fuzz/*.c (also built by `make fuzz`); here they are compiled
# from just the sources they need, so the test does not wait for a full
# sanitizer build.  Skipped without clang.
. "$DS_TESTS/lib.sh"

secs=${DS_FUZZ_SECONDS:-20}
if ! command -v clang >/dev/null 2>&1; then
	skip "fuzz frames" "clang not installed"
	skip "fuzz safetensors" "clang not installed"
	exit 0
fi
top="$DS_TESTS/.."
srcs="common/stream.c common/tensor.c common/checksum.c common/error.c common/safetensors.c common/fileio.c common/json.c common/cli.c"
for t in frame safetensors; do
	if ! (cd "$top" && clang -D_GNU_SOURCE -Icommon -O1 -g -fsanitize=fuzzer,address,undefined \
		-o "$T/fuzz-$t" "tests/fuzz/fuzz-$t.c" $srcs -lcjson -lsodium -lm) >"$T/cc-$t.log" 2>&1; then
		if grep -q 'fuzzer' "$T/cc-$t.log" && ! grep -q 'error:' "$T/cc-$t.log"; then
			skip "fuzz $t" "clang has no libFuzzer"
		else
			echo "not ok - fuzz-$t builds"
			sed 's/^/#   /' "$T/cc-$t.log" | head -n 20
		fi
		continue
	fi
	echo "ok - fuzz-$t builds"
done

# seeds: frames of several kinds, a valid and a few broken safetensors files
mkdir "$T/frame" "$T/safetensors"
printf '1 2 3\n\n4\n' | ds-cat --from-ids >"$T/frame/tokens"
printf '0.5 1\n2 3\n' | ds-cat --from-text LOGITS >"$T/frame/logits"
head -c 70 "$T/frame/tokens" >"$T/frame/truncated"
le8() { v=$1 i=0; while [ $i -lt 8 ]; do printf "\\$(printf '%03o' $((v & 255)))"; v=$((v >> 8)) i=$((i + 1)); done; }
mkst() { { le8 "${#2}"; printf '%s' "$2"; head -c "$3" /dev/zero; } >"$T/safetensors/$1"; }
mkst good '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1,3],"data_offsets":[8,14]}}' 14
mkst fp8 '{"w":{"dtype":"F8_E4M3","shape":[2,3],"data_offsets":[4,10]},"w_scale_inv":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}' 10
mkst hole '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
mkst empty '{}' 0

for t in frame safetensors; do
	[ -x "$T/fuzz-$t" ] || continue
	"$T/fuzz-$t" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$T/" "$T/$t" >"$T/run-$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/run-$t.log")
	echo "# measured fuzz-$t: ${runs:-?} inputs in ${secs} s, exit $rc"
	if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 1000 ]; then
		echo "ok - fuzz-$t: no crash, leak or sanitizer report"
	else
		echo "not ok - fuzz-$t (exit $rc)"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ ' "$T/run-$t.log" | head -n 30 | sed 's/^/#   /'
		for f in "$T"/crash-* "$T"/leak-* "$T"/timeout-*; do	# keep them: $T goes at exit
			[ -f "$f" ] && cp "$f" "$DS_OUT/" && echo "#   reproducer: $DS_OUT/$(basename "$f")"
		done
	fi
done
