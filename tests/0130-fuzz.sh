# libFuzzer runs of every parser that reads outside input: frames, the
# safetensors header, the shard index, config.json, tokenizer.json, BPE
# encoding (round trip, chunked == whole, literal ranges), chat messages,
# and ds-cat's text ids and rows.  DS_FUZZ_SECONDS each (default 8), two at
# a time, seeded from tests/fuzz/corpus/ (copied: libFuzzer adds to its
# corpus) and, for frames and safetensors, from inputs made here.  The
# targets are tests/fuzz/*.c (also built by `make fuzz`); here the library
# sources they need are compiled once, so the test does not wait for a
# full sanitizer build.  Skipped without clang.  A crash's reproducer is
# kept in $DS_OUT.
. "$DS_TESTS/lib.sh"

secs=${DS_FUZZ_SECONDS:-8}
targets="frame safetensors index config tokenizer-json bpe chat text-ids"
if ! command -v clang >/dev/null 2>&1; then
	for t in $targets; do skip "fuzz $t" "clang not installed"; done
	exit 0
fi
top="$DS_TESTS/.."
srcs="stream tensor checksum error safetensors fileio json cli mapguard utf8 config chat textio
	tok-bpe tok-config tok-decode tok-encode tok-json tok-load tok-regex tok-unicode"
flags="-D_GNU_SOURCE -I$top/common -O1 -g"
mkdir "$T/obj"
for s in $srcs; do echo "$s"; done | (cd "$top" && xargs -P 2 -I{} \
	clang $flags -fsanitize=fuzzer-no-link,address,undefined -c "common/{}.c" -o "$T/obj/{}.o") >"$T/cc.log" 2>&1
if grep -q 'error:' "$T/cc.log"; then
	echo "not ok - the library builds for fuzzing"
	sed 's/^/#   /' "$T/cc.log" | head -n 20
	exit 0
fi
ar rcs "$T/libfuzz.a" "$T"/obj/*.o
for t in $targets; do
	if ! clang $flags -fsanitize=fuzzer,address,undefined -o "$T/fuzz-$t" "$top/tests/fuzz/fuzz-$t.c" \
		"$T/libfuzz.a" -lcjson -lsodium -lpcre2-8 -lm >"$T/cc-$t.log" 2>&1; then
		if grep -q 'fuzzer' "$T/cc-$t.log" && ! grep -q 'error:' "$T/cc-$t.log"; then
			skip "fuzz $t" "clang has no libFuzzer"
		else
			echo "not ok - fuzz-$t builds"
			sed 's/^/#   /' "$T/cc-$t.log" | head -n 20
		fi
		continue
	fi
	echo "ok - fuzz-$t builds"
	mkdir "$T/$t"
	[ -d "$top/tests/fuzz/corpus/$t" ] && cp "$top/tests/fuzz/corpus/$t"/* "$T/$t/"
done

# seeds made here: frames of several kinds, a valid and a few broken safetensors files
printf '1 2 3\n\n4\n' | ds-cat --from-ids >"$T/frame/tokens"
printf '0.5 1\n2 3\n' | ds-cat --from-text LOGITS >"$T/frame/logits"
head -c 70 "$T/frame/tokens" >"$T/frame/truncated"
le8() { v=$1 i=0; while [ $i -lt 8 ]; do printf "\\$(printf '%03o' $((v & 255)))"; v=$((v >> 8)) i=$((i + 1)); done; }
mkst() { { le8 "${#2}"; printf '%s' "$2"; head -c "$3" /dev/zero; } >"$T/safetensors/$1"; }
mkst good '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1,3],"data_offsets":[8,14]}}' 14
mkst fp8 '{"w":{"dtype":"F8_E4M3","shape":[2,3],"data_offsets":[4,10]},"w_scale_inv":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}' 10
mkst hole '{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
mkst empty '{}' 0
mkst escapes '{"a\u00e9\ud83d\ude00\n":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4

# run_one TARGET: one bounded run, its verdict and its rate
run_one() {
	t=$1 rc=0
	(cd "$top" && DS_FUZZ_TOKENIZER="$top/share/deepseek-v3/tokenizer.json" "$T/fuzz-$t" \
		-max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$T/$t-" "$T/$t") >"$T/run-$t.log" 2>&1 || rc=$?
	echo $rc >"$T/rc-$t"
}
built=""
for t in $targets; do
	if [ -x "$T/fuzz-$t" ]; then built="$built $t"; fi
done
set -- $built
while [ $# -gt 0 ]; do
	run_one "$1" &
	if [ $# -gt 1 ]; then run_one "$2" & shift; fi
	shift
	wait || true
done
for t in $built; do
	rc=$(cat "$T/rc-$t")
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/run-$t.log")
	echo "# measured fuzz-$t: ${runs:-?} inputs in ${secs} s, exit $rc"
	if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 100 ]; then
		echo "ok - fuzz-$t: no crash, leak or sanitizer report"
	else
		echo "not ok - fuzz-$t (exit $rc)"
		grep -E 'ERROR|SUMMARY|==[0-9]+==|#[0-9]+ ' "$T/run-$t.log" | head -n 30 | sed 's/^/#   /'
		for f in "$T/$t"-crash-* "$T/$t"-leak-* "$T/$t"-timeout-* "$T/$t"-oom-*; do	# keep them: $T goes at exit
			[ -f "$f" ] && cp "$f" "$DS_OUT/" && echo "#   reproducer: $DS_OUT/$(basename "$f")"
		done
	fi
done
