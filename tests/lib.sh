# tests/lib.sh - sourced by every tests/NNNN-*.sh.
#
# check DESC CMD...        ok when CMD exits 0
# check_eq DESC A B        ok when the strings are equal (shows both if not)
# check_files DESC F1 F2   ok when the files are byte-identical
# expect_fail CODE DESC CMD...
#                          ok when CMD exits exactly CODE (a sysexits code),
#                          was not killed by a signal, wrote nothing to stdout
#                          and said something on stderr starting "ds-"
# skip DESC WHY            counts as skipped, never as passed
# $T                       a fresh temporary directory, removed at exit
# ds NAME ARGS...          runs $DS_BIN/ds-NAME
set -eu
: "${DS_BIN:?DS_BIN must be set (run through tests/run.sh or make test)}"
: "${DS_TESTS:=$(cd "$(dirname "$0")" && pwd)}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dstest.XXXXXX")
trap 'rm -rf "$T"' EXIT
PATH="$DS_BIN:$PATH"
export PATH
SHARED="$DS_TESTS/../../shared"
FIXTURES="$DS_TESTS/fixtures"

ds() { n=$1; shift; "$DS_BIN/ds-$n" "$@"; }

check() {
	desc=$1; shift
	if "$@" >"$T/.check.out" 2>"$T/.check.err"; then
		echo "ok - $desc"
	else
		rc=$?
		echo "not ok - $desc (exit $rc: $*)"
		sed 's/^/#   /' "$T/.check.err" | head -n 20
	fi
}

check_eq() {
	if [ "$2" = "$3" ]; then
		echo "ok - $1"
	else
		echo "not ok - $1"
		printf '#   got:      %s\n#   expected: %s\n' "$2" "$3" | head -n 20
	fi
}

check_files() {
	if cmp -s "$2" "$3"; then
		echo "ok - $1"
	else
		echo "not ok - $1 ($2 and $3 differ)"
		cmp "$2" "$3" 2>&1 | sed 's/^/#   /' | head -n 5
	fi
}

expect_fail() {
	code=$1 desc=$2; shift 2
	set +e
	"$@" >"$T/.xf.out" 2>"$T/.xf.err"
	rc=$?
	set -e
	if [ "$rc" -ne "$code" ]; then
		echo "not ok - $desc (exit $rc, want $code: $*)"
		sed 's/^/#   /' "$T/.xf.err" | head -n 10
	elif [ -s "$T/.xf.out" ]; then
		echo "not ok - $desc (wrote to stdout on failure)"
	elif ! grep -q '^ds-[a-z-]*: ' "$T/.xf.err"; then
		echo "not ok - $desc (no 'ds-NAME: message' on stderr)"
		sed 's/^/#   /' "$T/.xf.err" | head -n 5
	else
		echo "ok - $desc"
	fi
}

skip() { echo "skip - $1 ($2)"; }

# token_steps FILE N: the whitespace-separated ids of FILE as TOKENS
# frames on stdout: the first N (N > 0) in one frame at position 0, then
# one frame per id at its own position (decode steps)
token_steps() {
	tr ' ' '\n' <"$1" | grep . >"$T/.steps.col"
	[ "$2" -gt 0 ] && { head -n "$2" "$T/.steps.col" | tr '\n' ' '; echo; } | ds cat --from-ids
	p=$2
	tail -n +$(($2 + 1)) "$T/.steps.col" | while read -r id; do
		echo "$id" | ds cat --from-ids --pos "$p"
		p=$((p + 1))
	done
}

have_python_ref() {	# python with the reference packages (tests/reference/requirements.txt)
	[ -n "${DS_PYTHON:-}" ] && "$DS_PYTHON" -c "import $1" 2>/dev/null
}

# The emulated CUDA tree (make emu; common/cuda/emu): $DS_EMU_BUILD, by
# default $DS_BUILD/emu.  emu_each PROGRAM ARGS... runs its
# tests/cuda program once per schedule in $DS_EMU_SCHEDULES ("forward
# reverse" unless set), every result and evidence line naming the schedule
# ("ok - cuda-emu [reverse]: ..."); a program that dies without reporting a
# failure is one.  Without the emulated tree it is one skip.
: "${DS_EMU_BUILD:=$DS_BUILD/emu}"
emu_each() {
	emu_prog="$DS_EMU_BUILD/tests/$1"; shift
	if [ ! -x "$emu_prog" ]; then
		skip "cuda-emu: $(basename "$emu_prog")" "not built: no CUDA headers (make emu)"
		return 0
	fi
	for emu_s in ${DS_EMU_SCHEDULES:-forward reverse}; do
		set +e
		EMU_SCHEDULE=$emu_s "$emu_prog" "$@" >"$T/.emu.out" 2>"$T/.emu.err"
		emu_rc=$?
		set -e
		sed -e "s/^\(ok\|not ok\|skip\) - cuda-emu: /\1 - cuda-emu [$emu_s]: /" \
		    -e "s/^# measured /# measured [$emu_s] /" "$T/.emu.out"
		if [ "$emu_rc" -ne 0 ] && ! grep -q '^not ok' "$T/.emu.out"; then
			echo "not ok - cuda-emu [$emu_s]: $(basename "$emu_prog") exited with status $emu_rc"
			sed 's/^/#   /' "$T/.emu.err" | tail -n 20
		fi
	done
}
