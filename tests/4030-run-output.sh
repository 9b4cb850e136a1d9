# ds-run and its surroundings: a failed write is exit 74 and a reader that
# went away is exit 0, in every mode; --print-pipeline's script runs from
# anywhere, passes the ring's status on and cleans up when killed; a missing
# sibling tool is named; a stage dying mid-generation fails the ring; on a
# terminal one Ctrl-D ends the prompt.
. "$DS_TESTS/lib.sh"
M="$T/model"
TOK="$DS_TESTS/../share/deepseek-v3/tokenizer.json"
ds mkmodel -q -p tiny-v3 --vocab 129280 --mtp 0 --layers 1 -o "$M" --seed 7 -t "$TOK"
P="The quick brown fox"
printf '{"prompt":"%s"}\n{"prompt":"Hello"}\n' "$P" >"$T/b.jsonl"
printf '{"context":"%s","continuation":" jumps"}\n' "$P" >"$T/ll.jsonl"

# 1. a full disk is an error in every mode; a closed reader is not
args() {
	case $1 in
	single) echo "-n 50 --ignore-eos '$P'" ;;
	chat) echo "-i -n 5" ;;
	batch) echo "-n 5 --batch '$T/b.jsonl'" ;;
	loglikelihood) echo "--loglikelihood '$T/ll.jsonl'" ;;
	pipeline) echo "--print-pipeline '$P'" ;;
	esac
}
for mode in single chat batch loglikelihood pipeline; do
	expect_fail 74 "$mode: a full disk is exit 74" sh -c "echo Hello | timeout 120 ds-run -m '$M' $(args $mode) >/dev/full"
	check "$mode: it says why" grep -q '^ds-run: write error: No space left on device' "$T/.xf.err"
done
for mode in single chat batch loglikelihood; do
	# the reader has gone before the first write (the model loads first)
	{ echo Hello | sh -c "timeout 120 ds-run -m '$M' $(args $mode)" 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | true
	check_eq "$mode: a reader that went away is exit 0" "$(cat "$T/pipe.rc")" 0
	check_eq "$mode: and no error" "$(grep -v '^ds-run: \(load\|prompt\|model loaded\|[0-9]* requests\)' "$T/pipe.err")" ""
done

# 2. --print-pipeline's script: from another directory, with the tools not on
#    PATH and the model given relative to where ds-run ran
(cd "$T" && timeout 120 ds-run -q -m model -n 8 "$P") >"$T/ring.txt"
(cd "$T" && ds-run -m model -n 8 --print-pipeline "$P") >"$T/p.sh"
(cd / && timeout 120 env PATH=/usr/bin:/bin sh "$T/p.sh") >"$T/shell.txt" 2>"$T/shell.err"
check_files "the script runs anywhere and gives the ring's text" "$T/shell.txt" "$T/ring.txt"
mkdir "$T/noweights"
cp "$M/config.json" "$M/tokenizer.json" "$M/tokenizer_config.json" "$T/noweights/"
ds-run -m "$T/noweights" -n 8 --print-pipeline "$P" >"$T/fail.sh"
rc=0
timeout 120 sh "$T/fail.sh" >/dev/null 2>"$T/fail.err" || rc=$?
check_eq "the script exits with the status of the stage that could not start" "$rc" 66
mkdir "$T/tmp"
ds-run -m "$M" -n -1 --ignore-eos --print-pipeline "$P" >"$T/long.sh"
if command -v setsid >/dev/null 2>&1; then
	TMPDIR="$T/tmp" setsid sh "$T/long.sh" >/dev/null 2>&1 &
	pid=$!
	i=0
	while [ -z "$(ls "$T/tmp")" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	sleep 0.5
	had=$(ls "$T/tmp" | wc -l | tr -d ' ')
	kill -TERM -"$pid" || true
	wait "$pid" 2>/dev/null || true
	sleep 0.2
	check_eq "the script made its FIFO directory" "$had" 1
	check_eq "killed, it leaves no FIFO behind" "$(ls "$T/tmp" | wc -l | tr -d ' ')" 0
else
	skip "killed, the script leaves no FIFO behind" "no setsid"
fi

# 3. a sibling tool that is missing is named, never taken from PATH (which
#    holds one here)
mkdir "$T/bin"
cp "$DS_BIN/ds-run" "$T/bin/"
for t in tokenize embed forward; do ln -s "$DS_BIN/ds-$t" "$T/bin/"; done
expect_fail 127 "a missing ds-sample next to ds-run" timeout 60 "$T/bin/ds-run" -m "$M" -n 2 "$P"
check "the message names it and where it was looked for" grep -q "^ds-run: cannot run ds-sample: no executable '$T/bin/ds-sample'" "$T/.xf.err"

# 4. a stage that dies mid-generation fails the ring with its error, at once
ln -s "$DS_BIN/ds-sample" "$T/bin/"
rm "$T/bin/ds-forward"
# (dd bs=1 passes each byte at once; head -c would hold them in a buffer)
printf '#!/bin/sh\ndd bs=1 count=20000 status=none | "%s" "$@"\n' "$DS_BIN/ds-forward" >"$T/bin/ds-forward"
chmod +x "$T/bin/ds-forward"
expect_fail 65 "a stage failing mid-generation fails the ring" sh -c "timeout 120 '$T/bin/ds-run' -m '$M' -n 50 --ignore-eos '$P' >'$T/mid.out'"
check "the failing stage is named" grep -q 'stage 2 of the ring failed: ds-forward exited with status 65' "$T/.xf.err"
check "the text before the failure was written" test -s "$T/mid.out"

# 5. on a terminal: one Ctrl-D ends the prompt, and ds-run says where it reads
if command -v python3 >/dev/null 2>&1; then
	cat >"$T/pty.py" <<'EOF'
import os, subprocess, sys
master, slave = os.openpty()
with open(sys.argv[2], "wb") as out, open(sys.argv[3], "wb") as err:
    p = subprocess.Popen([sys.argv[1], "-m", sys.argv[4], "-n", "3"], stdin=slave, stdout=out, stderr=err)
    os.close(slave)
    os.write(master, b"Hello\x04")
    try:
        print(p.wait(timeout=60))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        print("timeout")
EOF
	check_eq "one Ctrl-D after text on a line ends the prompt" \
		"$(python3 "$T/pty.py" "$DS_BIN/ds-run" "$T/tty.out" "$T/tty.err" "$M")" 0
	check "it says the prompt is read from standard input" grep -q '^ds-run: reading the prompt from standard input' "$T/tty.err"
	check "the prompt was Hello" grep -q 'prompt 2 tokens' "$T/tty.err"
else
	skip "one Ctrl-D ends the prompt on a terminal" "no python3 for a pty"
fi
