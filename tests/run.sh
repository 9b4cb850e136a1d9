#!/bin/sh
# tests/run.sh - run every test and print one summary line.
#
# A test is a C unit test binary ($DS_BUILD/tests/test-*) or a shell script
# tests/NNNN-tool-what.sh; logs go to $DS_BUILD/test-logs.  Each prints lines "ok - ...", "not ok - ..." and
# "skip - ..."; a test that exits non-zero without reporting a failure counts
# one failure more, so a crash can never pass.  DS_ONLY=pattern runs only the
# tests whose name contains the pattern.  Last line: "N passed, N failed, N skipped".
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${DS_BIN:=$here/../bin}"
: "${DS_BUILD:=$here/../build}"
export DS_BIN DS_BUILD
export DS_TESTS="$here"
# logs per build, so a normal and a sanitizer run can go on side by side
out="$DS_BUILD/test-logs"
mkdir -p "$out"
export DS_OUT="$out"
pass=0 fail=0 skip=0
failed_tests=""

run_one() {	# name, command...
	name=$1; shift
	log="$out/$name.log"
	start=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^skip ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
		f=1
		echo "not ok - $name reported no checks" >>"$log"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		failed_tests="$failed_tests $name"
		echo "FAIL $name ($p passed, $f failed, $s skipped, $((end - start))s)"
		grep -E '^(not ok|#)' "$log" | head -n 40 | sed 's/^/    /'
		tail -n 5 "$log" | sed 's/^/    | /'
	else
		echo "ok   $name ($p passed, $s skipped, $((end - start))s)"
	fi
	# evidence lines (measured errors etc.) are shown even on success
	grep '^# measured' "$log" | sed 's/^/    /'
}

for t in "$DS_BUILD"/tests/test-*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	case "$n" in *"${DS_ONLY:-}"*) ;; *) continue ;; esac
	run_one "$n" "$t"
done
for t in "$here"/[0-9][0-9][0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	n=$(basename "$t" .sh)
	case "$n" in *"${DS_ONLY:-}"*) ;; *) continue ;; esac
	run_one "$n" sh "$t"
done
[ -n "$failed_tests" ] && echo "failed:$failed_tests"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
